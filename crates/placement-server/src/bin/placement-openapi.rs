//! `placement-openapi --out DIR`: write the OpenAPI document of every
//! microversion (`placement-1.N.json`) and the changelog between them
//! (`CHANGES.md`) into DIR, as `make openapi` does for `openapi/`.

use std::path::PathBuf;

use clap::Parser;
use placement_server::cli;

/// Writes the OpenAPI document of every microversion and the changelog
/// between them.
#[derive(Parser)]
#[command(name = "placement-openapi", version, help_template = cli::HELP_TEMPLATE)]
struct Options {
    /// The directory to write placement-1.N.json and CHANGES.md into
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn main() {
    let options = Options::parse();
    if let Err(e) = placement_api::openapi::write_all(&options.out) {
        eprintln!("placement-openapi: cannot write to {}: {e}", options.out.display());
        std::process::exit(1);
    }
}
