//! Logging as oslo.log's options set it up: `[DEFAULT] debug`, `log_file`
//! and `log_dir` (else stderr), `use_json` (one JSON object per line) and
//! `log_date_format`. `RUST_LOG` overrides the levels.

use std::io::Write;
use std::path::PathBuf;

use crate::config::LoggingOptions;

/// Where log lines go: `log_dir/log_file`, `log_file`, or
/// `log_dir/<program>.log`, as oslo.log picks it; `None` for stderr.
pub fn log_path(options: &LoggingOptions, program: &str) -> Option<PathBuf> {
    match (&options.log_dir, &options.log_file) {
        (Some(dir), Some(file)) => Some(dir.join(file)),
        (None, Some(file)) => Some(file.clone()),
        (Some(dir), None) => Some(dir.join(format!("{program}.log"))),
        (None, None) => None,
    }
}

/// Install the logger. Fails when the log file cannot be opened.
pub fn init(debug: bool, options: &LoggingOptions, program: &str) -> Result<(), String> {
    let level = if debug { "debug" } else { "info" };
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("{level},actix_server=warn,actix_web=warn"));
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(&filter).format_timestamp_millis();
    if let Some(path) = log_path(options, program) {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
        builder.target(env_logger::Target::Pipe(Box::new(file)));
    }
    let date_format = options.log_date_format.clone();
    if let Some(format) = &date_format
        && chrono::format::StrftimeItems::new(format).any(|item| matches!(item, chrono::format::Item::Error))
    {
        return Err(format!("[DEFAULT] log_date_format: {format:?} is not a valid strftime format"));
    }
    if options.use_json {
        let date_format = date_format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".to_string());
        builder.format(move |out, record| {
            let now = chrono::Local::now();
            let line = serde_json::json!({
                "asctime": now.format(&date_format).to_string(),
                "created": now.timestamp_micros() as f64 / 1e6,
                "levelname": record.level().to_string(),
                "name": record.target(),
                "message": record.args().to_string(),
                "process": std::process::id(),
            });
            writeln!(out, "{line}")
        });
    } else if let Some(date_format) = date_format {
        builder.format(move |out, record| {
            let now = chrono::Local::now().format(&date_format);
            writeln!(out, "{now} {} {} {} {}", std::process::id(), record.level(), record.target(), record.args())
        });
    }
    let _ = builder.try_init();
    Ok(())
}
