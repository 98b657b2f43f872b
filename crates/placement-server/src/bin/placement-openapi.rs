//! `placement-openapi --out DIR`: write the OpenAPI document of every
//! microversion (`placement-1.N.json`) and the changelog between them
//! (`CHANGES.md`) into DIR, as `make openapi` does for `openapi/`.

use std::path::PathBuf;

use placement_server::outln;

const USAGE: &str = "usage: placement-openapi --out DIR";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        [flag] if flag == "--help" || flag == "-h" => {
            outln!("{USAGE}");
            return;
        }
        _ => fail(USAGE),
    };
    if let Err(e) = placement_api::openapi::write_all(&dir) {
        fail(&format!("cannot write to {}: {e}", dir.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("placement-openapi: {message}");
    std::process::exit(1)
}
