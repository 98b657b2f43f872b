//! `placement-bench`: drive a running Placement server and report
//! throughput and latency. Works against any Placement (ours or
//! upstream's), so figures can be compared side by side.
//!
//! ```text
//! placement-bench setup  URL --providers N
//! placement-bench seed   DATABASE_URL (--providers N | --trees N | --consumers N)
//! placement-bench writes URL --clients C --seconds S [--move]
//! placement-bench query  URL --path (PATH | perf | nested) --clients C --seconds S
//! placement-bench auth-overhead URL --other URL --token TOKEN [--path PATH] [--rounds R] [--requests N]
//! ```

mod client;
mod report;
mod seed;
mod workload;

use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};

/// Drives a running Placement server (ours or upstream's) and reports
/// throughput and latency, or seeds a database for it.
#[derive(Parser)]
#[command(name = "placement-bench", version)]
struct Options {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create N providers in the perf job's layout through the API
    Setup {
        url: String,
        #[arg(long, value_name = "N", default_value_t = 1000)]
        providers: usize,
    },
    /// Write providers, nested trees or consumers straight into a database
    #[command(group(ArgGroup::new("what").required(true).args(["providers", "trees", "consumers"])))]
    Seed {
        /// SQLAlchemy-style URL (sqlite:///PATH, postgresql://..., mysql://...)
        database_url: String,
        /// Compute nodes as upstream's perf job makes them
        #[arg(long, value_name = "N")]
        providers: Option<usize>,
        /// Trees of a compute node, two NUMA nodes and eight SR-IOV PFs
        #[arg(long, value_name = "N")]
        trees: Option<usize>,
        /// Consumers holding allocations, spread over the providers
        #[arg(long, value_name = "N")]
        consumers: Option<usize>,
    },
    /// New consumers' allocations (or moves, with --move) from C clients
    Writes {
        url: String,
        #[arg(long, value_name = "C", default_value_t = 10)]
        clients: usize,
        #[arg(long, value_name = "S", default_value_t = 10)]
        seconds: u64,
        /// Move existing consumers between providers instead
        #[arg(long = "move")]
        moving: bool,
    },
    /// GET PATH (or the perf job's or the nested query) from C clients
    Query {
        url: String,
        /// A path, or `perf` or `nested` for the benchmarks' queries
        #[arg(long, value_name = "PATH")]
        path: String,
        #[arg(long, value_name = "C", default_value_t = 10)]
        clients: usize,
        #[arg(long, value_name = "S", default_value_t = 10)]
        seconds: u64,
    },
    /// The latency one server adds over another (with a token), in rounds
    AuthOverhead {
        url: String,
        #[arg(long, value_name = "URL")]
        other: String,
        #[arg(long, value_name = "TOKEN")]
        token: String,
        #[arg(long, value_name = "PATH", default_value = "/resource_classes/VCPU")]
        path: String,
        #[arg(long, value_name = "R", default_value_t = 7)]
        rounds: usize,
        #[arg(long, value_name = "N", default_value_t = 2000)]
        requests: usize,
    },
}

fn main() -> ExitCode {
    let result = match Options::parse().command {
        Command::Seed { database_url: url, providers, trees, consumers } => match (providers, trees, consumers) {
            (Some(n), _, _) => seed::seed(&url, seed::Layout::Flat, n),
            (_, Some(n), _) => seed::seed(&url, seed::Layout::Nested, n),
            (_, _, n) => seed::seed_consumers(&url, n.unwrap_or(0)),
        },
        Command::Setup { url, providers } => workload::setup(&client::Api::new(&url), providers),
        Command::Writes { url, clients, seconds, moving } => {
            workload::writes(&client::Api::new(&url), clients, seconds, moving)
        }
        Command::Query { url, path, clients, seconds } => {
            let path = match path.as_str() {
                "perf" => workload::PERF_QUERY,
                "nested" => workload::NESTED_QUERY,
                path => path,
            };
            workload::query(&client::Api::new(&url), path, clients, seconds)
        }
        Command::AuthOverhead { url, other, token, path, rounds, requests } => workload::auth_overhead(
            &client::Api::new(&url),
            &client::Api::new(&other).with_token(&token),
            &path,
            rounds,
            requests,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("placement-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
