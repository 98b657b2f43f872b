//! Shared state every request sees.

use placement_policy::Policy;
use placement_storage::Database;

/// `[cors]` options.
#[derive(Clone, Debug, Default)]
pub struct CorsSettings {
    pub allowed_origin: Vec<String>,
    pub allow_credentials: bool,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
}

/// `[placement]` options the API uses.
#[derive(Clone, Debug)]
pub struct PlacementSettings {
    pub incomplete_consumer_project_id: String,
    pub incomplete_consumer_user_id: String,
    pub randomize_allocation_candidates: bool,
    pub max_allocation_candidates: i64,
    pub allocation_candidates_generation_strategy: placement_model::candidates::Strategy,
    pub allocation_conflict_retry_count: u32,
    /// Search steps one candidates request may take before it is refused.
    pub candidates_search_steps: u64,
    /// Time one candidates request may search before it is refused.
    pub candidates_time_limit: std::time::Duration,
}

impl Default for PlacementSettings {
    fn default() -> Self {
        PlacementSettings {
            incomplete_consumer_project_id: "00000000-0000-0000-0000-000000000000".into(),
            incomplete_consumer_user_id: "00000000-0000-0000-0000-000000000000".into(),
            randomize_allocation_candidates: false,
            max_allocation_candidates: -1,
            allocation_candidates_generation_strategy: placement_model::candidates::Strategy::DepthFirst,
            allocation_conflict_retry_count: 10,
            candidates_search_steps: 100_000_000,
            candidates_time_limit: std::time::Duration::from_secs(10),
        }
    }
}

pub use crate::auth::AuthStrategy;

/// The policy in force, replaced whole when it is reloaded (SIGHUP).
pub struct PolicyHolder(std::sync::RwLock<std::sync::Arc<Policy>>);

impl PolicyHolder {
    pub fn new(policy: Policy) -> Self {
        PolicyHolder(std::sync::RwLock::new(std::sync::Arc::new(policy)))
    }

    pub fn current(&self) -> std::sync::Arc<Policy> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, policy: Policy) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(policy);
    }
}

pub struct AppState {
    pub auth: AuthStrategy,
    pub db: Database,
    pub policy: PolicyHolder,
    pub cors: Option<CorsSettings>,
    pub placement: PlacementSettings,
    /// Body size, body memory and handler slot limits.
    pub intake: crate::intake::Intake,
    /// Where allocation candidates are searched.
    pub costly: crate::costly::CostlyThreads,
    /// Called by each handler thread as it exits (the server's allocator
    /// hands that thread's freed memory back there).
    pub release_at_thread_exit: Option<fn()>,
    /// `[oslo_middleware] enable_proxy_headers_parsing`.
    pub proxy_headers: bool,
    /// `[api] enable_api_docs`: serve the OpenAPI documents and Swagger UI.
    pub api_docs: bool,
    /// `[healthcheck]`, unless switched off.
    pub healthcheck: Option<crate::healthcheck::HealthcheckSettings>,
    /// `[api] validate_responses`: check every response against its
    /// version's document and log what differs (for tests).
    pub validate_responses: bool,
    /// `[metrics] enabled`: count requests and serve them at
    /// [`crate::metrics::PATH`].
    pub metrics: Option<crate::metrics::Metrics>,
    /// The port metrics are served on, when not the API's; that port
    /// answers nothing else.
    pub metrics_port: Option<u16>,
}

impl AppState {
    /// A state with Placement's defaults around what a caller must choose:
    /// how requests are authenticated, the database and the policy (the
    /// `[api]`, `[placement]`, CORS, health and metrics settings are public
    /// fields to change afterwards). `placement-server` builds it from
    /// configuration files instead.
    pub fn new(auth: AuthStrategy, db: Database, policy: Policy) -> AppState {
        AppState {
            auth,
            db,
            policy: PolicyHolder::new(policy),
            cors: None,
            placement: PlacementSettings::default(),
            intake: crate::intake::Intake::new(crate::intake::Limits::default()),
            costly: crate::costly::CostlyThreads::per_core_and_one(),
            release_at_thread_exit: None,
            proxy_headers: false,
            api_docs: true,
            healthcheck: None,
            validate_responses: false,
            metrics: None,
            metrics_port: None,
        }
    }
}
