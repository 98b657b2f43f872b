//! `GET /allocation_candidates` (from 1.10).

use actix_web::http::StatusCode;
use placement_model::request;

use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::schema::requests;

#[utoipa::path(get, path = "/allocation_candidates", responses((status = 200), (status = 400)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:allocation_candidates:list")?;
    ctx.validate_query(requests::candidates(ctx.version))?;
    let _request = request::parse(&ctx.query, ctx.version)
        .map_err(|e| ApiError::bad_request(e.message).with_code(e.code))?;
    // The request is valid; finding candidates is not built yet.
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "Allocation candidates are not implemented yet by this service.",
    ))
}
