//! `placement-status upgrade check`: upstream's pre-upgrade checks, with
//! its table and exit codes (0 success, 1 warning, 2 failure, 255 when a
//! check could not run).

use clap::{Parser, Subcommand};
use placement_server::cli::{self, CommonArgs};
use placement_server::report::{Align, table, wrap};
use placement_server::{Config, init_logging, load_config, open_database, out, outln};
use placement_storage::Database;
use placement_storage::StorageResult;
use placement_storage::conn::DbConnection;
use placement_storage::data_migrations;

/// Checks whether the database and configuration are ready for this
/// release: missing root provider ids, incomplete consumers, a
/// JSON-formatted policy file.
#[derive(Parser)]
#[command(name = "placement-status", override_usage = "placement-status [OPTIONS] upgrade check")]
#[command(after_help = cli::ENVIRONMENT)]
struct Options {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Top>,
}

#[derive(Subcommand)]
enum Top {
    /// Upgrade readiness
    Upgrade {
        #[command(subcommand)]
        command: Upgrade,
    },
}

#[derive(Subcommand)]
enum Upgrade {
    /// Run the checks: exit 0 success, 1 warning, 2 failure
    Check,
}

const RUN_MIGRATIONS: &str = "Run the \"placement-manage db online_data_migrations\" command.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Code {
    Success = 0,
    Warning = 1,
    Failure = 2,
}

type Check = (Code, Option<String>);

/// One check: its outcome, or why it could not run.
type CheckFn = fn(&Database, &Config) -> Result<Check, String>;

fn main() {
    let cli: Options = cli::parse();
    if cli.common.version {
        outln!("{}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let Some(Top::Upgrade { command: Upgrade::Check }) = cli.command else {
        cli::missing_command::<Options>("a command is required: upgrade check")
    };
    let config = load_config(&cli.common).unwrap_or_else(|e| error(&e));
    init_logging(&config, "placement-status").unwrap_or_else(|e| error(&e));
    let db = open_database(&config).unwrap_or_else(|e| error(&e));
    let checks: [(&str, CheckFn); 3] = [
        ("Missing Root Provider IDs", missing_root_provider_ids),
        ("Incomplete Consumers", incomplete_consumers),
        ("Policy File JSON to YAML Migration", policy_file_is_yaml),
    ];
    let mut worst = Code::Success;
    let mut rows = Vec::new();
    for (name, check) in checks {
        let (code, details) = check(&db, &config).unwrap_or_else(|e| error(&e));
        worst = worst.max(code);
        let details = details.map_or("None".to_string(), |d| wrap(&d, 60, "  ").join("\n"));
        rows.push(vec![format!("Check: {name}\nResult: {code:?}\nDetails: {details}")]);
    }
    out!("{}", table(&["Upgrade Check Results"], &rows, Align::Left, true));
    std::process::exit(worst as i32)
}

fn count(db: &Database, query: fn(&mut DbConnection) -> StorageResult<i64>) -> Result<i64, String> {
    db.with_connection(query).map_err(|e| e.to_string())
}

fn missing_root_provider_ids(db: &Database, _: &Config) -> Result<Check, String> {
    Ok(match count(db, data_migrations::missing_root_provider_ids)? {
        0 => (Code::Success, None),
        _ => (
            Code::Failure,
            Some(format!(
                "There is at least one resource provider table record which misses its root provider id. \
                 {RUN_MIGRATIONS}"
            )),
        ),
    })
}

fn incomplete_consumers(db: &Database, _: &Config) -> Result<Check, String> {
    Ok(match count(db, data_migrations::incomplete_consumers)? {
        0 => (Code::Success, None),
        n => (
            Code::Warning,
            Some(format!(
                "There are {n} incomplete consumers table records for existing allocations. {RUN_MIGRATIONS}"
            )),
        ),
    })
}

/// A policy file that parses as JSON fails: JSON policy files are
/// deprecated in favour of YAML.
fn policy_file_is_yaml(_: &Database, config: &Config) -> Result<Check, String> {
    let is_json = config
        .policy_file()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|text| serde_json::from_str::<serde_json::Value>(&text).is_ok());
    Ok(if is_json {
        (
            Code::Failure,
            Some(
                "Your policy file is JSON-formatted which is deprecated. You need to switch to YAML-formatted \
                 file. Use the ``oslopolicy-convert-json-to-yaml`` tool to convert the existing JSON-formatted \
                 files to YAML in a backwards-compatible manner: \
                 https://docs.openstack.org/oslo.policy/latest/cli/oslopolicy-convert-json-to-yaml.html."
                    .to_string(),
            ),
        )
    } else {
        (Code::Success, None)
    })
}

/// A check that could not run: upstream prints `Error:` and the cause.
fn error(message: &str) -> ! {
    outln!("Error:\n{message}");
    std::process::exit(255)
}
