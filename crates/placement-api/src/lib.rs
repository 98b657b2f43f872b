//! The Placement HTTP API on actix-web. Every request goes through one
//! pipeline ([`dispatch`]) that reproduces upstream's middleware order, then
//! to the handler the route table names for its method and microversion.

pub mod accept;
pub mod body;
pub mod context;
pub mod cors;
pub mod dispatch;
pub mod error;
pub mod handlers;
pub mod openapi;

pub mod routes;
pub mod schema;
pub mod state;

use std::sync::Arc;

use actix_web::web;

pub use state::{AppState, AuthStrategy, CorsSettings, PlacementSettings};

/// Largest request body accepted (reshaper requests can be large).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Install the API on an actix `App`.
pub fn configure(state: Arc<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .default_service(web::to(dispatch::dispatch));
    }
}
