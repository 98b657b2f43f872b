//! Configuration in upstream's `placement.conf` format and option names,
//! with `OS_<GROUP>__<OPTION>` environment overrides as oslo.config reads
//! them. Later files override earlier ones; the environment overrides all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ini;

/// `[api]`
#[derive(Clone, Debug, PartialEq)]
pub struct ApiOptions {
    /// `keystone` (default) or `noauth2`.
    pub auth_strategy: String,
    /// Largest request body, in bytes, after inflating (ours; upstream
    /// has no limit).
    pub max_request_body_size: usize,
    /// Memory the request bodies in flight may be charged together: 32
    /// bytes per body byte, for the parsed forms a body takes while it is
    /// handled.
    pub max_request_body_memory: usize,
    /// Open client connections per worker thread.
    pub max_connections: usize,
    /// HTTP worker threads (ours; upstream's WSGI server has its own
    /// processes and threads); `None`: one per core.
    pub workers: Option<usize>,
    /// Threads that answer allocation candidates requests (ours); `None`:
    /// one per core and one more.
    pub candidates_threads: Option<usize>,
    /// Serve the OpenAPI documents and Swagger UI at `/api-docs/` (ours).
    pub enable_api_docs: bool,
    /// Check every response against the OpenAPI document of its version and
    /// log what differs (ours; for tests, it costs time).
    pub validate_responses: bool,
}

/// `[placement_database]`
#[derive(Clone, Debug, PartialEq)]
pub struct DatabaseOptions {
    /// SQLAlchemy URL; required.
    pub connection: Option<String>,
    /// Migrate the schema at start-up.
    pub sync_on_startup: bool,
    /// Connections kept open (pool size).
    pub max_pool_size: Option<u32>,
    /// Extra connections allowed over `max_pool_size`.
    pub max_overflow: Option<u32>,
    /// Seconds a request waits for a free connection (SQLAlchemy's 30
    /// unless set, as upstream).
    pub pool_timeout: u64,
    /// Seconds after which a connection is closed and replaced.
    pub connection_recycle_time: u64,
    /// Attempts to reach the database at start-up; -1 for no limit.
    pub max_retries: i64,
    /// Seconds between those attempts.
    pub retry_interval: u64,
    /// Longest pause, in seconds, between attempts to reconnect while the
    /// database is unreachable during service.
    pub db_retry_interval: u64,
    /// SQL logging (`connection_debug` >= 50 logs statements at debug
    /// level, as oslo.db's verbosity) and `connection_trace`: accepted.
    pub connection_debug: i64,
    pub connection_trace: bool,
    /// SQLite commits wait for the disk (True, as upstream).
    pub sqlite_synchronous: bool,
}

/// `[oslo_policy]`
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyOptions {
    /// Rule overrides, YAML or JSON; relative paths are looked up beside
    /// the configuration files, then in the working directory.
    pub policy_file: String,
    /// Directories of further override files (oslo.policy's `policy_dirs`),
    /// looked up as the policy file is.
    pub policy_dirs: Vec<String>,
    pub enforce_scope: bool,
    pub enforce_new_defaults: bool,
}

/// `[cors]`; disabled unless `allowed_origin` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct CorsOptions {
    pub allowed_origin: Vec<String>,
    pub allow_credentials: bool,
    pub expose_headers: Vec<String>,
    pub max_age: u64,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
}

/// `[placement]`
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementOptions {
    pub incomplete_consumer_project_id: String,
    pub incomplete_consumer_user_id: String,
    pub randomize_allocation_candidates: bool,
    pub max_allocation_candidates: i64,
    pub allocation_candidates_generation_strategy: placement_model::candidates::Strategy,
    pub allocation_conflict_retry_count: u32,
    /// Search steps one candidates request may take (ours).
    pub allocation_candidates_search_steps: u64,
    /// Seconds one candidates request may search (ours).
    pub allocation_candidates_time_limit: f64,
    /// Keep providers' usage and aggregates between candidates queries
    /// (ours; off while upstream processes write to the same database:
    /// docs/usage-cache.md).
    pub usage_cache: bool,
}

/// `[workarounds]`
#[derive(Clone, Debug, PartialEq)]
pub struct WorkaroundOptions {
    pub optimize_for_wide_provider_trees: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoggingOptions {
    pub log_file: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    /// One JSON object per line.
    pub use_json: bool,
    /// strftime format of each line's time (oslo.log's default format
    /// when set; env_logger's RFC 3339 stamp when not).
    pub log_date_format: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `[DEFAULT] debug`: log at debug level.
    pub debug: bool,
    /// `[DEFAULT] graceful_shutdown_timeout` (oslo.service's): seconds
    /// in-flight requests may take to finish after SIGTERM or SIGINT.
    pub graceful_shutdown_timeout: u64,
    /// `[metrics] enabled` (ours): serve Prometheus metrics at `/metrics`.
    pub metrics_enabled: bool,
    /// `[metrics] port` and `host` (ours): serve them on a port of their
    /// own (on the API's host unless `host` is set), not the API's.
    pub metrics_port: Option<u16>,
    pub metrics_host: Option<String>,
    /// `[DEFAULT] log_file`, `log_dir`, `use_json`, `log_date_format`.
    pub logging: LoggingOptions,
    pub api: ApiOptions,
    pub database: DatabaseOptions,
    pub policy: PolicyOptions,
    pub cors: CorsOptions,
    pub placement: PlacementOptions,
    pub workarounds: WorkaroundOptions,
    /// `[oslo_middleware] enable_proxy_headers_parsing`.
    pub enable_proxy_headers_parsing: bool,
    /// `[keystone_authtoken]`, as written (read by [`crate::keystone_conf`]).
    pub keystone_authtoken: crate::keystone_conf::RawOptions,
    /// Options given that this server does not read, as `[group] option`
    /// (logged at start-up: a misspelt option would otherwise pass unseen).
    pub ignored: Vec<String>,
    /// `[healthcheck]`.
    pub healthcheck: crate::healthcheck_conf::HealthcheckOptions,
    /// Directories of the files read, for finding the policy file.
    pub config_dirs: Vec<PathBuf>,
}

fn non_empty(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for Config {
    fn default() -> Self {
        let missing_id = "00000000-0000-0000-0000-000000000000".to_string();
        Config {
            debug: false,
            graceful_shutdown_timeout: 60,
            metrics_enabled: false,
            metrics_port: None,
            metrics_host: None,
            logging: LoggingOptions::default(),
            api: ApiOptions {
                auth_strategy: "keystone".into(),
                max_request_body_size: 4 * 1024 * 1024,
                max_request_body_memory: 128 * 1024 * 1024,
                max_connections: 1024,
                workers: None,
                candidates_threads: None,
                enable_api_docs: true,
                validate_responses: false,
            },
            database: DatabaseOptions {
                connection: None,
                sync_on_startup: false,
                max_pool_size: None,
                max_overflow: None,
                pool_timeout: 30,
                connection_recycle_time: 3600,
                max_retries: 10,
                retry_interval: 10,
                db_retry_interval: 1,
                connection_debug: 0,
                connection_trace: false,
                sqlite_synchronous: true,
            },
            policy: PolicyOptions {
                policy_file: "policy.yaml".into(),
                policy_dirs: vec!["policy.d".into()],
                enforce_scope: true,
                enforce_new_defaults: true,
            },
            cors: CorsOptions {
                allowed_origin: Vec::new(),
                allow_credentials: true,
                expose_headers: strings(&[
                    "X-Auth-Token",
                    "X-Openstack-Request-Id",
                    "X-Subject-Token",
                    "X-Service-Token",
                    "OpenStack-API-Version",
                ]),
                max_age: 3600,
                allow_methods: strings(&["GET", "PUT", "POST", "DELETE", "PATCH"]),
                allow_headers: strings(&[
                    "X-Auth-Token",
                    "X-Openstack-Request-Id",
                    "X-Identity-Status",
                    "X-Roles",
                    "X-Service-Catalog",
                    "X-User-Id",
                    "X-Tenant-Id",
                    "OpenStack-API-Version",
                ]),
            },
            placement: PlacementOptions {
                incomplete_consumer_project_id: missing_id.clone(),
                incomplete_consumer_user_id: missing_id,
                randomize_allocation_candidates: false,
                max_allocation_candidates: -1,
                allocation_candidates_generation_strategy: placement_model::candidates::Strategy::DepthFirst,
                allocation_conflict_retry_count: 10,
                allocation_candidates_search_steps: 100_000_000,
                allocation_candidates_time_limit: 10.0,
                usage_cache: true,
            },
            workarounds: WorkaroundOptions { optimize_for_wide_provider_trees: false },
            enable_proxy_headers_parsing: false,
            keystone_authtoken: Default::default(),
            ignored: Vec::new(),
            healthcheck: Default::default(),
            config_dirs: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {0}: {1}")]
    Read(String, std::io::Error),
    #[error(transparent)]
    Syntax(#[from] ini::IniError),
    #[error("invalid value for option [{group}] {option}: {message}")]
    Value { group: String, option: String, message: String },
}

pub(crate) fn invalid(group: &str, option: &str, message: String) -> ConfigError {
    ConfigError::Value { group: group.to_string(), option: option.to_string(), message }
}

pub(crate) fn parse_bool(group: &str, option: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(invalid(group, option, format!("{v:?} is not a boolean"))),
    }
}

fn parse_int<T: std::str::FromStr>(group: &str, option: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| invalid(group, option, format!("{v:?} is not a valid integer")))
}

fn positive<T: PartialOrd + Default>(group: &str, option: &str, v: T) -> Result<T, ConfigError> {
    if v > T::default() { Ok(v) } else { Err(invalid(group, option, "must be greater than 0".into())) }
}

fn parse_list(v: &str) -> Vec<String> {
    v.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn choice(group: &str, option: &str, v: &str, allowed: &[&str]) -> Result<String, ConfigError> {
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(invalid(group, option, format!("{v:?} is not one of {}", allowed.join(", "))))
    }
}

impl Config {
    /// Read `files` in order, then the environment.
    pub fn load(files: &[PathBuf], env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        for path in files {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(shown.clone(), e))?;
            for (section, key, value) in ini::parse(&shown, &text)?.entries {
                config.set(&section, &key, &value)?;
            }
            if let Some(dir) = path.parent() {
                config.config_dirs.push(dir.to_path_buf());
            }
        }
        let mut overrides: Vec<(&String, &String)> = env.iter().filter(|(k, _)| k.starts_with("OS_")).collect();
        overrides.sort();
        for (key, value) in overrides {
            if let Some((group, option)) = key["OS_".len()..].split_once("__") {
                config.set(group, option, value)?;
            }
        }
        Ok(config)
    }

    /// Apply one option. Group names compare case-insensitively (so the
    /// upper-case environment form matches); unknown ones are ignored.
    pub fn set(&mut self, group: &str, option: &str, value: &str) -> Result<(), ConfigError> {
        let g = group.to_ascii_lowercase();
        let o = option.to_ascii_lowercase();
        match (g.as_str(), o.as_str()) {
            ("default", "debug") => self.debug = parse_bool(group, option, value)?,
            ("metrics", "enabled") => self.metrics_enabled = parse_bool(group, option, value)?,
            ("metrics", "port") => {
                self.metrics_port = match non_empty(value) {
                    Some(v) => Some(parse_int(group, option, v)?),
                    None => None,
                }
            }
            ("metrics", "host") => self.metrics_host = non_empty(value).map(str::to_string),
            ("default", "log_file") => self.logging.log_file = non_empty(value).map(PathBuf::from),
            ("default", "log_dir") => self.logging.log_dir = non_empty(value).map(PathBuf::from),
            ("default", "use_json") => self.logging.use_json = parse_bool(group, option, value)?,
            ("default", "log_date_format") => self.logging.log_date_format = non_empty(value).map(str::to_string),
            ("default", "graceful_shutdown_timeout") => {
                self.graceful_shutdown_timeout = parse_int(group, option, value)?
            }
            ("api", "auth_strategy") => {
                self.api.auth_strategy = choice(group, option, value, &["keystone", "noauth2"])?;
            }
            ("api", "max_request_body_size") => {
                self.api.max_request_body_size = positive(group, option, parse_int(group, option, value)?)?;
            }
            ("api", "max_request_body_memory") => {
                self.api.max_request_body_memory = positive(group, option, parse_int(group, option, value)?)?;
            }
            ("api", "workers") => {
                self.api.workers = Some(positive(group, option, parse_int(group, option, value)?)?);
            }
            ("api", "candidates_threads") => {
                self.api.candidates_threads = Some(positive(group, option, parse_int(group, option, value)?)?);
            }
            ("api", "max_connections") => {
                self.api.max_connections = positive(group, option, parse_int(group, option, value)?)?;
            }
            ("api", "enable_api_docs") => self.api.enable_api_docs = parse_bool(group, option, value)?,
            ("api", "validate_responses") => self.api.validate_responses = parse_bool(group, option, value)?,
            ("oslo_middleware", "enable_proxy_headers_parsing") => {
                self.enable_proxy_headers_parsing = parse_bool(group, option, value)?;
            }
            ("workarounds", "optimize_for_wide_provider_trees") => {
                self.workarounds.optimize_for_wide_provider_trees = parse_bool(group, option, value)?;
            }
            ("placement", "allocation_candidates_search_steps") => {
                self.placement.allocation_candidates_search_steps =
                    positive(group, option, parse_int(group, option, value)?)?;
            }
            ("placement", "allocation_candidates_time_limit") => {
                let limit: f64 =
                    value.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0).ok_or_else(|| {
                        invalid(group, option, format!("{value:?} is not a positive number of seconds"))
                    })?;
                self.placement.allocation_candidates_time_limit = limit;
            }
            ("placement_database", "connection") => self.database.connection = non_empty(value).map(str::to_string),
            ("placement_database", "sync_on_startup") => {
                self.database.sync_on_startup = parse_bool(group, option, value)?;
            }
            ("placement_database", "max_pool_size") => {
                self.database.max_pool_size = Some(parse_int(group, option, value)?);
            }
            ("placement_database", "max_overflow") => {
                self.database.max_overflow = Some(parse_int(group, option, value)?);
            }
            ("placement_database", "pool_timeout") => {
                self.database.pool_timeout = parse_int(group, option, value)?;
            }
            ("placement_database", "connection_recycle_time") => {
                self.database.connection_recycle_time = parse_int(group, option, value)?;
            }
            ("placement_database", "max_retries") => {
                self.database.max_retries = parse_int(group, option, value)?;
                if self.database.max_retries < -1 {
                    return Err(invalid(group, option, format!("{value:?} is below -1")));
                }
            }
            ("placement_database", "retry_interval") => {
                self.database.retry_interval = parse_int(group, option, value)?;
            }
            ("placement_database", "db_retry_interval") => {
                self.database.db_retry_interval = parse_int(group, option, value)?;
            }
            ("placement_database", "connection_debug") => {
                self.database.connection_debug = parse_int(group, option, value)?;
            }
            ("placement_database", "sqlite_synchronous") => {
                self.database.sqlite_synchronous = parse_bool(group, option, value)?;
            }
            ("placement_database", "connection_trace") => {
                self.database.connection_trace = parse_bool(group, option, value)?;
            }
            ("oslo_policy", "policy_file") => self.policy.policy_file = value.to_string(),
            ("oslo_policy", "policy_dirs") => self.policy.policy_dirs = parse_list(value),
            ("oslo_policy", "enforce_scope") => self.policy.enforce_scope = parse_bool(group, option, value)?,
            ("oslo_policy", "enforce_new_defaults") => {
                self.policy.enforce_new_defaults = parse_bool(group, option, value)?;
            }
            ("cors", "allowed_origin") => self.cors.allowed_origin = parse_list(value),
            ("cors", "allow_credentials") => self.cors.allow_credentials = parse_bool(group, option, value)?,
            ("cors", "expose_headers") => self.cors.expose_headers = parse_list(value),
            ("cors", "max_age") => self.cors.max_age = parse_int(group, option, value)?,
            ("cors", "allow_methods") => self.cors.allow_methods = parse_list(value),
            ("cors", "allow_headers") => self.cors.allow_headers = parse_list(value),
            ("placement", "incomplete_consumer_project_id") => {
                self.placement.incomplete_consumer_project_id = value.to_string();
            }
            ("placement", "incomplete_consumer_user_id") => {
                self.placement.incomplete_consumer_user_id = value.to_string();
            }
            ("placement", "usage_cache") => self.placement.usage_cache = parse_bool(group, option, value)?,
            ("placement", "randomize_allocation_candidates") => {
                self.placement.randomize_allocation_candidates = parse_bool(group, option, value)?;
            }
            ("placement", "max_allocation_candidates") => {
                self.placement.max_allocation_candidates = parse_int(group, option, value)?;
            }
            ("placement", "allocation_candidates_generation_strategy") => {
                use placement_model::candidates::Strategy;
                self.placement.allocation_candidates_generation_strategy =
                    match choice(group, option, value, &["depth-first", "breadth-first"])?.as_str() {
                        "breadth-first" => Strategy::BreadthFirst,
                        _ => Strategy::DepthFirst,
                    };
            }
            ("placement", "allocation_conflict_retry_count") => {
                self.placement.allocation_conflict_retry_count = parse_int(group, option, value)?;
            }
            ("healthcheck", o) if self.healthcheck.set(o, value)? => {}
            ("keystone_authtoken", o) if crate::keystone_conf::is_option(o) => {
                self.keystone_authtoken.insert(o.to_string(), value.to_string());
            }
            _ => self.ignored.push(format!("[{group}] {option}")),
        }
        Ok(())
    }

    /// The policy file to read, if it exists.
    pub fn policy_file(&self) -> Option<PathBuf> {
        self.find(&self.policy.policy_file)
    }

    /// The `policy_dirs` that exist, in order.
    pub fn policy_dirs(&self) -> Vec<PathBuf> {
        self.policy.policy_dirs.iter().filter_map(|d| self.find(d)).filter(|d| d.is_dir()).collect()
    }

    /// A path as written if absolute, else beside a configuration file,
    /// else in the working directory; `None` if it exists nowhere.
    fn find(&self, name: &str) -> Option<PathBuf> {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.exists().then(|| path.to_path_buf());
        }
        self.config_dirs.iter().map(|d| d.join(path)).chain(std::iter::once(path.to_path_buf())).find(|p| p.exists())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn options_not_read_are_listed() {
        let mut config = Config::default();
        config.set("placement", "max_allocation_candidate", "5").unwrap();
        config.set("oslo_concurrency", "lock_path", "/tmp").unwrap();
        config.set("Placement", "usage_cache", "False").unwrap();
        assert_eq!(config.ignored, ["[placement] max_allocation_candidate", "[oslo_concurrency] lock_path"]);
    }

    /// etc/placement.conf (installed by the package) names every option
    /// by a name this server reads, with the default it really has.
    #[test]
    fn sample_configuration_names_every_option_with_its_default() {
        let sample = include_str!("../../../etc/placement.conf");
        let mut config = Config::default();
        let mut group = String::new();
        let mut named = 0;
        for line in sample.lines() {
            if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                group = g.to_string();
            } else if let Some((option, value)) = line.strip_prefix('#').and_then(|l| l.split_once(" =")) {
                if option.contains(' ') {
                    continue; // prose, not an option
                }
                named += 1;
                let value = value.trim();
                if group == "keystone_authtoken" {
                    assert!(crate::keystone_conf::is_option(option), "[{group}] {option}");
                } else if !value.is_empty() {
                    config.set(&group, option, value).unwrap_or_else(|e| panic!("[{group}] {option}: {e}"));
                } else {
                    // No default to give: known, whatever the value.
                    let _ = config.set(&group, option, "");
                }
            }
        }
        assert!(config.ignored.is_empty(), "not options of ours: {:?}", config.ignored);
        assert!(named > 60, "{named} options");
        let defaults = Config::default();
        let mut applied = config.clone();
        // Empty values set what has no default to "unset", as it was.
        applied.keystone_authtoken = defaults.keystone_authtoken.clone();
        assert_eq!(applied, defaults, "a default in etc/placement.conf differs from the code's");
    }

    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("placement-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("placement.conf");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The shipped examples (etc/) load, and each names the backend its
    /// file name says.
    #[test]
    fn shipped_example_configurations_load() {
        let etc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc");
        for (file, backend) in [
            ("placement-dev.conf", placement_storage::Backend::Sqlite),
            ("placement-postgresql.conf", placement_storage::Backend::Postgres),
            ("placement-mysql.conf", placement_storage::Backend::Mysql),
        ] {
            let config = Config::load(&[etc.join(file)], &HashMap::new()).unwrap_or_else(|e| panic!("{file}: {e}"));
            let url = config.database.connection.as_deref().unwrap_or_else(|| panic!("{file}: no connection"));
            assert_eq!(placement_storage::DatabaseUrl::parse(url).map(|u| u.backend), Ok(backend), "{file}");
            assert_eq!(config.api.auth_strategy, "noauth2", "{file}");
        }
    }

    #[test]
    fn keystone_authtoken_from_files_and_environment() {
        let a = write(
            "ks",
            "[keystone_authtoken]\nauth_type = password\npassword = from-file\nmemcache_pool_maxsize = 3\nnot_an_option = 1\n",
        );
        let env = HashMap::from([("OS_KEYSTONE_AUTHTOKEN__PASSWORD".to_string(), "from-env".to_string())]);
        let c = Config::load(&[a], &env).unwrap();
        assert_eq!(c.keystone_authtoken.get("password").map(String::as_str), Some("from-env"));
        assert_eq!(c.keystone_authtoken.get("auth_type").map(String::as_str), Some("password"));
        assert!(c.keystone_authtoken.contains_key("memcache_pool_maxsize"), "kept, to be warned about");
        assert!(!c.keystone_authtoken.contains_key("not_an_option"));
    }

    #[test]
    fn files_then_environment() {
        let a = write(
            "a",
            "[placement_database]\nconnection = sqlite:////a.db\nsync_on_startup = true\n[api]\nauth_strategy = noauth2\n[unknown]\nx = y\n",
        );
        let b = write("b", "[placement]\nmax_allocation_candidates = 1000\n[DEFAULT]\ndebug = yes\n");
        let env = HashMap::from([("OS_PLACEMENT_DATABASE__CONNECTION".to_string(), "sqlite:////env.db".to_string())]);
        let c = Config::load(&[a, b], &env).unwrap();
        assert_eq!(c.database.connection.as_deref(), Some("sqlite:////env.db"));
        assert!(c.database.sync_on_startup && c.debug);
        assert_eq!(c.api.auth_strategy, "noauth2");
        assert_eq!(c.placement.max_allocation_candidates, 1000);
        assert_eq!(c.config_dirs.len(), 2);
    }

    #[test]
    fn malformed_values_name_the_option() {
        let p = write("bad", "[placement]\nmax_allocation_candidates = lots\n");
        let err = Config::load(&[p], &HashMap::new()).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid value for option [placement] max_allocation_candidates: \"lots\" is not a valid integer"
        );
        let p = write("choice", "[api]\nauth_strategy = magic\n");
        assert!(Config::load(&[p], &HashMap::new()).unwrap_err().to_string().contains("auth_strategy"));
    }

    #[test]
    fn database_and_limit_options() {
        let p = write(
            "limits",
            "[placement_database]\nmax_pool_size = 4\nmax_overflow = 2\npool_timeout = 3\nmax_retries = -1\n\
             retry_interval = 2\ndb_retry_interval = 5\nconnection_recycle_time = 60\nconnection_debug = 100\n\
             connection_trace = true\nsqlite_synchronous = false\n[api]\nmax_request_body_size = 1024\n\
             candidates_threads = 3\n\
             [placement]\nallocation_candidates_time_limit = 0.5\nusage_cache = false\n[oslo_middleware]\n\
             enable_proxy_headers_parsing = true\n[workarounds]\noptimize_for_wide_provider_trees = true\n",
        );
        let c = Config::load(&[p], &HashMap::new()).unwrap();
        let d = &c.database;
        assert_eq!((d.max_pool_size, d.max_overflow, d.pool_timeout), (Some(4), Some(2), 3));
        assert_eq!((d.max_retries, d.retry_interval, d.db_retry_interval), (-1, 2, 5));
        assert!(!d.sqlite_synchronous && d.connection_trace);
        assert_eq!(c.api.max_request_body_size, 1024);
        assert_eq!(c.api.candidates_threads, Some(3));
        assert_eq!(c.placement.allocation_candidates_time_limit, 0.5);
        assert!(!c.placement.usage_cache);
        assert!(c.enable_proxy_headers_parsing && c.workarounds.optimize_for_wide_provider_trees);
        for bad in [
            "[placement_database]\nmax_retries = -2\n",
            "[api]\nmax_request_body_size = 0\n",
            "[api]\ncandidates_threads = 0\n",
        ] {
            let p = write("bad-limit", bad);
            assert!(Config::load(&[p], &HashMap::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_upstream() {
        let c = Config::default();
        assert_eq!(c.api.auth_strategy, "keystone");
        assert_eq!(c.placement.max_allocation_candidates, -1);
        assert_eq!(
            c.placement.allocation_candidates_generation_strategy,
            placement_model::candidates::Strategy::DepthFirst
        );
        assert!(c.policy.enforce_new_defaults && c.policy.enforce_scope);
        assert!(c.cors.allowed_origin.is_empty());
        assert_eq!((c.database.max_retries, c.database.retry_interval), (10, 10));
        assert!(c.database.sqlite_synchronous);
    }
}
