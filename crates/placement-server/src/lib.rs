//! Wiring for the `placement-api`, `placement-manage` and
//! `placement-status` binaries: command line, configuration, logging,
//! database and policy set-up.

pub mod cli;
pub mod config;
pub mod healthcheck_conf;
pub mod ini;
pub mod keystone_conf;
pub mod logging;
pub mod memory;
pub mod report;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use placement_api::auth::keystone::Keystone;
use placement_api::costly::CostlyThreads;
use placement_api::{AppState, AuthStrategy, CorsSettings, Intake, Limits, PlacementSettings};
use placement_policy::{Policy, PolicyConfig};
use placement_storage::{Database, DatabaseUrl, PoolOptions};

pub use config::Config;

/// Read the configuration the command line points at.
pub fn load_config(cli: &cli::CommonArgs) -> Result<Config, String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let files = cli::config_files(cli, env.get("OS_PLACEMENT_CONFIG_DIR").map(String::as_str));
    Config::load(&files, &env).map_err(|e| e.to_string())
}

/// Install the logger the configuration asks for (see [`logging`]);
/// `program` names the default log file under `log_dir`.
pub fn init_logging(config: &Config, program: &str) -> Result<(), String> {
    logging::init(config.debug, &config.logging, program)?;
    // Options of other services (a shared file) are normal; a misspelt
    // one of ours shows here.
    if !config.ignored.is_empty() {
        log::info!("options not read by {program}: {}", config.ignored.join(", "));
    }
    Ok(())
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
    Database::open(url, &pool_options(&config.database))
        .map(|db| db.with_usage_cache(config.placement.usage_cache))
        .map_err(|e| e.to_string())
}

/// Pool settings from `[placement_database]`. With neither size option
/// set the pool holds 20 connections; otherwise oslo.db's defaults fill
/// in (5 plus an overflow of 50).
pub fn pool_options(db: &config::DatabaseOptions) -> PoolOptions {
    let max_size = match (db.max_pool_size, db.max_overflow) {
        (None, None) => 20,
        (size, overflow) => size.unwrap_or(5).saturating_add(overflow.unwrap_or(50)),
    };
    PoolOptions {
        max_size: max_size.max(1),
        checkout_timeout: Duration::from_secs(db.pool_timeout),
        reconnect_interval: Duration::from_secs(db.db_retry_interval.max(1)),
        recycle_time: (db.connection_recycle_time > 0).then(|| Duration::from_secs(db.connection_recycle_time)),
        sqlite_synchronous: db.sqlite_synchronous,
    }
}

/// Get the database ready (schema check, standard classes and traits),
/// waiting for it as oslo.db does when it cannot be reached yet:
/// `max_retries` attempts in all (-1: no limit), `retry_interval` seconds
/// apart. A database that answers and refuses (wrong password, no such
/// database) fails at once.
pub fn prepare_database(db: &Database, config: &Config) -> Result<(), String> {
    let options = &config.database;
    let mut attempt: i64 = 1;
    loop {
        match db.prepare(options.sync_on_startup) {
            Ok(()) => return Ok(()),
            Err(e)
                if e.is_unavailable()
                    && !e.is_refusal()
                    && (options.max_retries < 0 || attempt < options.max_retries) =>
            {
                let of = if options.max_retries < 0 { String::new() } else { format!(" of {}", options.max_retries) };
                log::warn!(
                    "database not reachable (attempt {attempt}{of}): {e}; retrying in {} s",
                    options.retry_interval
                );
                std::thread::sleep(Duration::from_secs(options.retry_interval));
                attempt += 1;
            }
            Err(e) => return Err(format!("database not ready: {e}")),
        }
    }
}

/// Read the policy files again (on SIGHUP, as oslo.policy notices a changed
/// file): a policy that loads replaces the one in force; one that does not
/// is logged and the old one stays.
pub async fn reload_policy(state: &AppState, config: &Config) {
    match Policy::load(&policy_config(config)).await {
        Ok(policy) => {
            state.policy.replace(policy);
            log::info!("policy reloaded");
        }
        Err(e) => log::error!("policy reload failed, keeping the policy in force: {e}"),
    }
}

/// The `[oslo_policy]` options, with the files they name found.
pub fn policy_config(config: &Config) -> PolicyConfig {
    PolicyConfig {
        policy_file: config.policy_file(),
        policy_dirs: config.policy_dirs(),
        enforce_scope: config.policy.enforce_scope,
        enforce_new_defaults: config.policy.enforce_new_defaults,
    }
}

/// Everything a request needs, from the configuration.
pub async fn build_state(config: &Config, db: Database) -> Result<Arc<AppState>, String> {
    let auth = match config.api.auth_strategy.as_str() {
        "noauth2" => AuthStrategy::NoAuth2,
        _ => {
            let settings = keystone_conf::settings(&config.keystone_authtoken).map_err(|e| e.to_string())?;
            AuthStrategy::Keystone(Arc::new(Keystone::new(settings)?))
        }
    };
    let policy = Policy::load(&policy_config(config)).await.map_err(|e| e.to_string())?;
    let cors = (!config.cors.allowed_origin.is_empty()).then(|| CorsSettings {
        allowed_origin: config.cors.allowed_origin.clone(),
        allow_credentials: config.cors.allow_credentials,
        expose_headers: config.cors.expose_headers.clone(),
        max_age: Some(config.cors.max_age),
        allow_methods: config.cors.allow_methods.clone(),
        allow_headers: config.cors.allow_headers.clone(),
    });
    if config.workarounds.optimize_for_wide_provider_trees {
        // Upstream's option turns on pruning of partial candidates that
        // exceed capacity (forgetting existing usage); our search always
        // prunes, usage included.
        log::info!(
            "[workarounds] optimize_for_wide_provider_trees: always in effect here (partial candidates over \
             capacity are never extended); the option changes nothing"
        );
    }
    if config.api.validate_responses {
        log::info!("validating every response against the OpenAPI document of its version");
    }
    let p = &config.placement;
    let pool = pool_options(&config.database);
    let limits = Limits {
        max_body: config.api.max_request_body_size,
        body_memory: config.api.max_request_body_memory,
        // Each handler holds at most one connection at a time.
        handler_slots: pool.max_size as usize,
        queue_timeout: pool.checkout_timeout,
    };
    let metrics = config.metrics_enabled.then(placement_api::metrics::Metrics::default);
    if let Some(metrics) = &metrics {
        metrics.watch(&db);
    }
    // Placement's defaults (one candidates thread per core among them),
    // then what the configuration says.
    let mut state = AppState::new(auth, db, policy);
    state.cors = cors;
    state.placement = PlacementSettings {
        incomplete_consumer_project_id: p.incomplete_consumer_project_id.clone(),
        incomplete_consumer_user_id: p.incomplete_consumer_user_id.clone(),
        randomize_allocation_candidates: p.randomize_allocation_candidates,
        max_allocation_candidates: p.max_allocation_candidates,
        allocation_candidates_generation_strategy: p.allocation_candidates_generation_strategy,
        allocation_conflict_retry_count: p.allocation_conflict_retry_count,
        candidates_search_steps: p.allocation_candidates_search_steps,
        candidates_time_limit: Duration::from_secs_f64(p.allocation_candidates_time_limit),
    };
    state.intake = Intake::new(limits);
    let threads = config.api.candidates_threads.map_or_else(CostlyThreads::per_core_and_one, CostlyThreads::new);
    memory::bound_c_library_memory();
    state.release_at_thread_exit = Some(memory::release_thread_memory);
    state.costly = threads.release_when_idle(memory::IDLE_RELEASE, memory::release_thread_memory);
    state.proxy_headers = config.enable_proxy_headers_parsing;
    state.api_docs = config.api.enable_api_docs;
    state.healthcheck = config.healthcheck.enabled.then(|| config.healthcheck.settings.clone());
    state.validate_responses = config.api.validate_responses;
    state.metrics = metrics;
    state.metrics_port = config.metrics_port.filter(|_| config.metrics_enabled);
    Ok(Arc::new(state))
}
