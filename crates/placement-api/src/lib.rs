//! The Placement HTTP API on actix-web. Every request goes through one
//! pipeline ([`dispatch`]) that reproduces upstream's middleware order, then
//! to the handler the route table names for its method and microversion.

pub mod accept;
pub mod auth;
pub mod body;
pub mod context;
pub mod cors;
pub mod costly;
pub mod dispatch;
pub mod docs;
pub mod error;
pub mod handlers;
pub mod healthcheck;
pub mod intake;
pub mod location;
pub mod logsafe;
pub mod metrics;
pub mod openapi;

pub mod routes;
pub mod schema;
pub mod state;
pub mod thread_exit;

use std::sync::Arc;

use actix_web::web;

pub use intake::{Intake, Limits};
pub use state::{AppState, AuthStrategy, CorsSettings, PlacementSettings};

/// Install the API on an actix `App`.
pub fn configure(state: Arc<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state)).default_service(web::to(dispatch::dispatch));
    }
}
