//! Command-line options shared by the binaries, in oslo.config's style.

use std::path::PathBuf;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cli {
    pub config_files: Vec<PathBuf>,
    pub config_dirs: Vec<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `--workers N`: HTTP worker threads (overrides `[api] workers`).
    pub workers: Option<usize>,
    /// `--max-count N` of `placement-manage db online_data_migrations`,
    /// as given: upstream checks it only when the command runs.
    pub max_count: Option<String>,
    /// Positional arguments (sub-commands of placement-manage).
    pub args: Vec<String>,
    pub help: bool,
    pub version: bool,
}

/// The options every binary takes, for `--help`.
pub const COMMON_OPTIONS: &str = "options:
  --config-file FILE   read FILE (repeatable; later files override earlier ones).
                       Default: $OS_PLACEMENT_CONFIG_DIR/placement.conf, else the
                       first of ~/.placement/placement.conf, ~/placement.conf,
                       /etc/placement/placement.conf, /etc/placement.conf
  --config-dir DIR     also read DIR's *.conf files in name order (repeatable)
  -h, --help           print this help and exit
  --version            print the version and exit
Any option of a configuration file can also be set from the environment as
OS_<GROUP>__<OPTION>, for example OS_PLACEMENT_DATABASE__CONNECTION.";

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
    let mut cli = Cli::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| args.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--config-file" => cli.config_files.push(PathBuf::from(value("--config-file")?)),
            "--config-dir" => cli.config_dirs.push(PathBuf::from(value("--config-dir")?)),
            "--host" | "--bind-host" => cli.host = Some(value("--host")?),
            "--port" | "--bind-port" => {
                let v = value("--port")?;
                cli.port = Some(v.parse().map_err(|_| format!("--port: {v:?} is not a port number"))?);
            }
            "--workers" => {
                let v = value("--workers")?;
                cli.workers = Some(
                    v.parse().ok().filter(|n| *n > 0).ok_or(format!("--workers: {v:?} is not a positive number"))?,
                );
            }
            "--max-count" => cli.max_count = Some(value("--max-count")?),
            "-h" | "--help" => cli.help = true,
            "--version" => cli.version = true,
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            _ => cli.args.push(arg),
        }
    }
    Ok(cli)
}

/// The files to read: those named, then each `--config-dir`'s `*.conf` in
/// name order. With neither, `$OS_PLACEMENT_CONFIG_DIR/placement.conf` as
/// upstream's WSGI application reads it, else the first standard location
/// that exists.
pub fn config_files(cli: &Cli, env_dir: Option<&str>) -> Vec<PathBuf> {
    let mut files = cli.config_files.clone();
    for dir in &cli.config_dirs {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        found.sort();
        files.extend(found);
    }
    if !files.is_empty() {
        return files;
    }
    if let Some(dir) = env_dir.map(str::trim).filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir).join("placement.conf")];
    }
    let home = std::env::var("HOME").unwrap_or_default();
    [
        format!("{home}/.placement/placement.conf"),
        format!("{home}/placement.conf"),
        "/etc/placement/placement.conf".to_string(),
        "/etc/placement.conf".to_string(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .take(1)
    .collect()
}

/// Write `text` to standard output. When the reader has gone (`placement-policy
/// list | head`), end as a Unix filter does on SIGPIPE (status 141) instead
/// of panicking as `print!` would.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `print!` through [`write_out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(&format!($($arg)*)) };
}

/// `println!` through [`write_out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::write_out(&(format!($($arg)*) + "\n")) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_and_positionals() {
        let cli = parse(args("--config-file a.conf --config-file=b.conf --host 0.0.0.0 --port 9000 db sync")).unwrap();
        assert_eq!(cli.config_files, vec![PathBuf::from("a.conf"), PathBuf::from("b.conf")]);
        assert_eq!(cli.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(cli.port, Some(9000));
        assert_eq!(cli.args, vec!["db", "sync"]);
        assert!(parse(args("--port nope")).is_err());
        assert_eq!(parse(args("--workers 3")).unwrap().workers, Some(3));
        assert!(parse(args("--workers 0")).is_err());
        assert!(parse(args("--bogus")).is_err());
    }

    #[test]
    fn environment_directory_is_the_fallback() {
        let cli = Cli::default();
        assert_eq!(config_files(&cli, Some("/x")), vec![PathBuf::from("/x/placement.conf")]);
        let named = parse(args("--config-file a.conf")).unwrap();
        assert_eq!(config_files(&named, Some("/x")), vec![PathBuf::from("a.conf")]);
    }
}
