//! `placement-manage [--config-file FILE] db sync|version`: manage the
//! database schema, as upstream's command of the same name.

use placement_server::{cli, init_logging, load_config, open_database};
use placement_storage::migrate;

const USAGE: &str = "usage: placement-manage [--config-file FILE]... db {sync,version}";

fn main() {
    let cli = cli::parse(std::env::args().skip(1)).unwrap_or_else(|e| fail(&format!("{e}\n{USAGE}")));
    if cli.help {
        println!("{USAGE}");
        return;
    }
    let config = load_config(&cli).unwrap_or_else(|e| fail(&e));
    init_logging(&config);
    let command: Vec<&str> = cli.args.iter().map(String::as_str).collect();
    let db = open_database(&config).unwrap_or_else(|e| fail(&e));
    match command.as_slice() {
        ["db", "sync"] => {
            db.with_connection(|c| migrate::upgrade(c).map(|_| ())).unwrap_or_else(|e| fail(&e.to_string()));
            db.prepare(false).unwrap_or_else(|e| fail(&e.to_string()));
        }
        ["db", "version"] => {
            let rev = db.with_connection(migrate::current_revision).unwrap_or_else(|e| fail(&e.to_string()));
            println!("{}", rev.unwrap_or_else(|| "None".to_string()));
        }
        _ => fail(USAGE),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("placement-manage: {message}");
    std::process::exit(1)
}
