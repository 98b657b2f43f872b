//! Command-line options shared by the binaries, in oslo.config's style
//! (`--config-file`, `--config-dir`, each repeatable), parsed by clap.

use std::path::PathBuf;

use clap::Args;

/// The options every binary takes.
#[derive(Debug, Default, Clone, PartialEq, Args)]
pub struct CommonArgs {
    /// Read FILE (repeatable; later files override earlier ones). Default:
    /// $OS_PLACEMENT_CONFIG_DIR/placement.conf, else the first of
    /// ~/.placement/placement.conf, ~/placement.conf,
    /// /etc/placement/placement.conf, /etc/placement.conf
    #[arg(long = "config-file", value_name = "FILE", global = true)]
    pub config_files: Vec<PathBuf>,
    /// Also read DIR's *.conf files in name order (repeatable)
    #[arg(long = "config-dir", value_name = "DIR", global = true)]
    pub config_dirs: Vec<PathBuf>,
    /// Print the version and exit
    #[arg(long, global = true)]
    pub version: bool,
}

/// Every binary's `--help` layout: the usage line first (the man pages
/// are made from it, scripts/man-pages), then what it does, its options.
pub const HELP_TEMPLATE: &str = "usage: {usage}\n\n{about-with-newline}\n{all-args}{after-help}";

/// Width `--help` wraps at, whatever the terminal: the man pages are made
/// from it.
pub const HELP_WIDTH: usize = 90;

/// Parse the command line into `P`, laid out as every binary's is: `--help`
/// from [`HELP_TEMPLATE`] at [`HELP_WIDTH`], no `help` sub-command, and
/// `--version` left to [`CommonArgs::version`] (each binary prints its own).
pub fn parse<P: clap::Parser>() -> P {
    let matches = shared_layout(P::command()).get_matches();
    P::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// End as clap ends on a usage error (the message, the usage line, exit
/// status 2): for a command line that names no command.
pub fn missing_command<P: clap::CommandFactory>(message: &str) -> ! {
    shared_layout(P::command()).error(clap::error::ErrorKind::MissingSubcommand, message).exit()
}

fn shared_layout(command: clap::Command) -> clap::Command {
    command.help_template(HELP_TEMPLATE).term_width(HELP_WIDTH).disable_help_subcommand(true).disable_version_flag(true)
}

/// The end of every binary's `--help`.
pub const ENVIRONMENT: &str = "Any option of a configuration file can also be set from the environment as
OS_<GROUP>__<OPTION>, for example OS_PLACEMENT_DATABASE__CONNECTION.";

/// The files to read: those named, then each `--config-dir`'s `*.conf` in
/// name order. With neither, `$OS_PLACEMENT_CONFIG_DIR/placement.conf` as
/// upstream's WSGI application reads it, else the first standard location
/// that exists.
pub fn config_files(cli: &CommonArgs, env_dir: Option<&str>) -> Vec<PathBuf> {
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
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        common: CommonArgs,
        rest: Vec<String>,
    }

    fn parse(s: &str) -> Result<CommonArgs, clap::Error> {
        Probe::try_parse_from(std::iter::once("probe").chain(s.split_whitespace())).map(|p| p.common)
    }

    #[test]
    fn repeated_files_in_either_spelling() {
        let cli = parse("--config-file a.conf --config-file=b.conf --config-dir d db sync").unwrap();
        assert_eq!(cli.config_files, vec![PathBuf::from("a.conf"), PathBuf::from("b.conf")]);
        assert_eq!(cli.config_dirs, vec![PathBuf::from("d")]);
        assert!(parse("--config-file").is_err(), "a value is needed");
        assert!(parse("--bogus").is_err());
    }

    #[test]
    fn environment_directory_is_the_fallback() {
        let cli = CommonArgs::default();
        assert_eq!(config_files(&cli, Some("/x")), vec![PathBuf::from("/x/placement.conf")]);
        let named = parse("--config-file a.conf").unwrap();
        assert_eq!(config_files(&named, Some("/x")), vec![PathBuf::from("a.conf")]);
    }
}
