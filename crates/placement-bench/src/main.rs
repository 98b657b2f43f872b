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

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  placement-bench setup URL --providers N\n  \
         placement-bench seed DATABASE_URL (--providers N | --trees N | --consumers N)\n  \
         placement-bench writes URL --clients C --seconds S [--move]\n  \
         placement-bench query URL --path (PATH | perf | nested) --clients C --seconds S\n  \
         placement-bench auth-overhead URL --other URL --token TOKEN [--path PATH] [--rounds R] [--requests N]"
    );
    ExitCode::from(2)
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn number(args: &[String], name: &str, default: u64) -> u64 {
    flag(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(url)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let api = client::Api::new(url);
    let result = match command.as_str() {
        "seed" => match (flag(&args, "--providers"), flag(&args, "--trees"), flag(&args, "--consumers")) {
            (Some(_), None, None) => seed::seed(url, seed::Layout::Flat, number(&args, "--providers", 0) as usize),
            (None, Some(_), None) => seed::seed(url, seed::Layout::Nested, number(&args, "--trees", 0) as usize),
            (None, None, Some(_)) => seed::seed_consumers(url, number(&args, "--consumers", 0) as usize),
            _ => return usage(),
        },
        "setup" => workload::setup(&api, number(&args, "--providers", 1000) as usize),
        "writes" => workload::writes(
            &api,
            number(&args, "--clients", 10) as usize,
            number(&args, "--seconds", 10),
            args.iter().any(|a| a == "--move"),
        ),
        "query" => match flag(&args, "--path") {
            Some(path) => {
                let path = match path.as_str() {
                    "perf" => workload::PERF_QUERY,
                    "nested" => workload::NESTED_QUERY,
                    path => path,
                };
                workload::query(&api, path, number(&args, "--clients", 10) as usize, number(&args, "--seconds", 10))
            }
            None => return usage(),
        },
        "auth-overhead" => match (flag(&args, "--other"), flag(&args, "--token")) {
            (Some(other), Some(token)) => workload::auth_overhead(
                &api,
                &client::Api::new(&other).with_token(&token),
                flag(&args, "--path").as_deref().unwrap_or("/resource_classes/VCPU"),
                number(&args, "--rounds", 7) as usize,
                number(&args, "--requests", 2000) as usize,
            ),
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("placement-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
