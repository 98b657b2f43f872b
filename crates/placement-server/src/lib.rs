//! Wiring for the `placement-api`, `placement-manage` and
//! `placement-status` binaries: command line, configuration, logging,
//! database and policy set-up.

pub mod cli;
pub mod config;
pub mod ini;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use placement_api::{AppState, AuthStrategy, CorsSettings, PlacementSettings};
use placement_policy::{Policy, PolicyConfig};
use placement_storage::{Database, DatabaseUrl};

pub use config::Config;

/// Read the configuration the command line points at.
pub fn load_config(cli: &cli::Cli) -> Result<Config, String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let files = cli::config_files(cli, env.get("OS_PLACEMENT_CONFIG_DIR").map(String::as_str));
    Config::load(&files, &env).map_err(|e| e.to_string())
}

/// Log to stderr; `[DEFAULT] debug` raises the level, `RUST_LOG` overrides.
pub fn init_logging(config: &Config) {
    let level = if config.debug { "debug" } else { "info" };
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("{level},actix_server=warn,actix_web=warn"));
    let _ = env_logger::Builder::new().parse_filters(&filter).format_timestamp_millis().try_init();
}

/// Open the configured database. A SQLite file's directory is created if
/// missing.
pub fn open_database(config: &Config) -> Result<Database, String> {
    let url = config
        .database
        .connection
        .as_deref()
        .ok_or("[placement_database] connection is not set; the placement service needs a database")?;
    let parsed = DatabaseUrl::parse(url)?;
    let sqlite_dir = Path::new(&parsed.diesel_url).parent().filter(|d| !d.as_os_str().is_empty());
    if parsed.backend == placement_storage::Backend::Sqlite
        && !parsed.is_sqlite_memory()
        && let Some(dir) = sqlite_dir
    {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let size = match (config.database.max_pool_size, config.database.max_overflow) {
        (None, None) => 20,
        (size, overflow) => size.unwrap_or(5) + overflow.unwrap_or(0),
    };
    Database::open(url, size).map_err(|e| e.to_string())
}

/// Everything a request needs, from the configuration.
pub async fn build_state(config: &Config, db: Database) -> Result<Arc<AppState>, String> {
    let auth = match config.api.auth_strategy.as_str() {
        "noauth2" => AuthStrategy::NoAuth2,
        other => {
            return Err(format!(
                "[api] auth_strategy = {other} is not supported by this service yet; use noauth2 behind an \
                 authenticating proxy"
            ));
        }
    };
    let policy = Policy::load(&PolicyConfig {
        policy_file: config.policy_file(),
        enforce_scope: config.policy.enforce_scope,
        enforce_new_defaults: config.policy.enforce_new_defaults,
    })
    .await
    .map_err(|e| e.to_string())?;
    let cors = (!config.cors.allowed_origin.is_empty()).then(|| CorsSettings {
        allowed_origin: config.cors.allowed_origin.clone(),
        allow_credentials: config.cors.allow_credentials,
        expose_headers: config.cors.expose_headers.clone(),
        max_age: Some(config.cors.max_age),
        allow_methods: config.cors.allow_methods.clone(),
        allow_headers: config.cors.allow_headers.clone(),
    });
    let p = &config.placement;
    Ok(Arc::new(AppState {
        auth,
        db,
        policy,
        cors,
        placement: PlacementSettings {
            incomplete_consumer_project_id: p.incomplete_consumer_project_id.clone(),
            incomplete_consumer_user_id: p.incomplete_consumer_user_id.clone(),
            randomize_allocation_candidates: p.randomize_allocation_candidates,
            max_allocation_candidates: p.max_allocation_candidates,
            allocation_candidates_generation_strategy: p.allocation_candidates_generation_strategy.clone(),
            allocation_conflict_retry_count: p.allocation_conflict_retry_count,
        },
    }))
}
