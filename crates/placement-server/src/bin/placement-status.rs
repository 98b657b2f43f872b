//! `placement-status upgrade check`: report whether the database is ready
//! for this release (exit 0 when it is, 2 when not).

use placement_server::{cli, init_logging, load_config, open_database};
use placement_storage::migrate;

const USAGE: &str = "usage: placement-status [--config-file FILE]... upgrade check";

fn main() {
    let cli = cli::parse(std::env::args().skip(1)).unwrap_or_else(|e| fail(&format!("{e}\n{USAGE}")));
    if cli.help || cli.args != ["upgrade", "check"] {
        println!("{USAGE}");
        std::process::exit(if cli.help { 0 } else { 1 });
    }
    let config = load_config(&cli).unwrap_or_else(|e| fail(&e));
    init_logging(&config);
    let db = open_database(&config).unwrap_or_else(|e| fail(&e));
    match db.with_connection(migrate::require_head) {
        Ok(()) => {
            println!("Check: Database schema\nResult: Success");
        }
        Err(e) => {
            println!("Check: Database schema\nResult: Failure\nDetails: {e}");
            std::process::exit(2);
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("placement-status: {message}");
    std::process::exit(255)
}
