//! One module per resource; one function per (method, path).

pub mod aggregates;
pub mod allocation_candidates;
pub mod inventories;
pub mod resource_classes;
pub mod resource_providers;
pub mod root;
pub mod traits;
pub mod usages;

use actix_web::http::StatusCode;

use crate::context::{Ctx, Reply};
use crate::error::ApiError;

/// Routes whose behaviour is not built yet answer 501, never a guess.
pub fn not_yet(_ctx: &Ctx) -> Result<Reply, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "This API is not implemented yet by this service.",
    ))
}
