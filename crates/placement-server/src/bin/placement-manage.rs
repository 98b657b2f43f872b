//! `placement-manage [--config-file FILE] db sync|version|stamp REV|
//! online_data_migrations [--max-count N]`: manage the database, with
//! upstream's output and exit codes.

use clap::{Parser, Subcommand};
use placement_server::cli::{self, CommonArgs};
use placement_server::report::{Align, table};
use placement_server::{Config, init_logging, load_config, open_database, out, outln};
use placement_storage::data_migrations::{self, Batch};
use placement_storage::{Database, migrate};

/// What `--help` lists: the commands are under `db`.
const COMMANDS: &str = "db commands:
  sync                                  bring the schema to the current revision
  version                               print the schema's revision (None when empty)
  stamp REVISION                        record REVISION (or head) without migrating
  online_data_migrations [--max-count N]
                                        fix rows older releases left behind, in
                                        batches of 50 until done, or N rows at most";

/// Creates, upgrades and repairs the Placement database, as upstream's
/// placement-manage.
#[derive(Parser)]
#[command(name = "placement-manage", override_usage = "placement-manage [OPTIONS] db COMMAND")]
#[command(after_help = format!("{COMMANDS}\n\n{}", cli::ENVIRONMENT))]
struct Options {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Top>,
}

#[derive(Subcommand)]
enum Top {
    /// Manage the database's schema and rows
    Db {
        #[command(subcommand)]
        command: Db,
    },
}

#[derive(Subcommand)]
enum Db {
    /// Bring the schema to the current revision
    Sync,
    /// Print the schema's revision (None when empty)
    Version,
    /// Record REVISION (or head) without migrating
    Stamp {
        #[arg(value_name = "REVISION")]
        revision: String,
    },
    /// Fix rows older releases left behind, in batches of 50 until done,
    /// or N rows at most
    #[command(name = "online_data_migrations")]
    OnlineDataMigrations {
        /// At most N rows; checked when the command runs, as upstream does
        #[arg(long = "max-count", value_name = "N")]
        max_count: Option<String>,
    },
}

/// Batch size when no `--max-count` is given, as upstream's.
const BATCH: i64 = 50;

fn main() {
    let cli: Options = cli::parse();
    if cli.common.version {
        outln!("{}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let Some(Top::Db { command }) = cli.command else { cli::missing_command::<Options>("a command is required") };
    let config = load_config(&cli.common).unwrap_or_else(|e| fail(&e));
    init_logging(&config, "placement-manage").unwrap_or_else(|e| fail(&e));
    let db = open_database(&config).unwrap_or_else(|e| fail(&e));
    let code = match command {
        Db::Sync => {
            db.with_connection(|c| migrate::upgrade(c).map(|_| ())).unwrap_or_else(|e| fail(&e.to_string()));
            db.prepare(false).unwrap_or_else(|e| fail(&e.to_string()));
            0
        }
        Db::Version => {
            let rev = db.with_connection(migrate::current_revision).unwrap_or_else(|e| fail(&e.to_string()));
            outln!("{}", rev.unwrap_or_else(|| "None".to_string()));
            0
        }
        Db::Stamp { revision } => {
            db.with_connection(|c| data_migrations::stamp(c, &revision)).unwrap_or_else(|e| fail(&e.to_string()));
            0
        }
        Db::OnlineDataMigrations { max_count } => online_data_migrations(&db, &config, max_count.as_deref()),
    };
    std::process::exit(code)
}

const MIGRATIONS: [&str; 2] = ["set_root_provider_ids", "create_incomplete_consumers"];

fn run_migration(db: &Database, config: &Config, name: &str, limit: i64) -> Result<Batch, String> {
    let placement = &config.placement;
    db.write(|c| match name {
        "set_root_provider_ids" => data_migrations::set_root_provider_ids(c, limit),
        _ => data_migrations::create_incomplete_consumers(
            c,
            limit,
            &placement.incomplete_consumer_project_id,
            &placement.incomplete_consumer_user_id,
        ),
    })
    .map_err(|e| e.to_string())
}

/// Upstream's runner: each batch runs the migrations in order, each on
/// what is left of the batch's count; without `--max-count`, batches of
/// 50 repeat until one fixes nothing. Exit 2 when a migration failed (and,
/// with a count, nothing else progressed), 1 when a counted run may have
/// left work, else 0.
fn online_data_migrations(db: &Database, config: &Config, max_count: Option<&str>) -> i32 {
    let limit = match max_count {
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                outln!("Must supply a positive value for max_count");
                return 127;
            }
        },
        None => {
            outln!("Running batches of {BATCH} until complete");
            BATCH
        }
    };
    let mut totals: Vec<(&str, Batch)> = Vec::new();
    let (ran, failed) = loop {
        let mut ran = 0;
        let mut failed = false;
        for name in MIGRATIONS {
            let batch = run_migration(db, config, name, limit - ran).unwrap_or_else(|e| {
                outln!("Error attempting to run {name}");
                log::error!("Error attempting to run {name}: {e}");
                failed = true;
                Batch::default()
            });
            if batch.found != 0 {
                outln!("{} rows matched query {name}, {} migrated", batch.found, batch.done);
            }
            match totals.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => {
                    total.found += batch.found;
                    total.done += batch.done;
                }
                None => totals.push((name, batch)),
            }
            ran += batch.done;
            if ran >= limit {
                break;
            }
        }
        if max_count.is_some() || ran == 0 {
            break (ran, failed);
        }
    };
    let rows: Vec<Vec<String>> =
        totals.iter().map(|(name, t)| vec![name.to_string(), t.found.to_string(), t.done.to_string()]).collect();
    out!("{}", table(&["Migration", "Total Found", "Completed"], &rows, Align::Centre, false));
    if failed && (max_count.is_none() || ran == 0) {
        outln!("Some migrations failed unexpectedly. Check log for details.");
        return 2;
    }
    i32::from(ran > 0)
}

fn fail(message: &str) -> ! {
    eprintln!("placement-manage: {message}");
    std::process::exit(1)
}
