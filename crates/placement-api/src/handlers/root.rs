//! `GET /`: the version document, no authentication needed.

use placement_model::Microversion;
use serde_json::json;

use crate::context::{Ctx, Reply};
use crate::error::ApiError;

#[utoipa::path(get, path = "/", responses((status = 200, description = "Version document")))]
pub fn home(ctx: &Ctx) -> Result<Reply, ApiError> {
    let body = json!({"versions": [{
        "id": format!("v{}", Microversion::MIN),
        "max_version": Microversion::MAX.to_string(),
        "min_version": Microversion::MIN.to_string(),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]
    }]});
    Ok(Reply::json(body).modified(ctx.version, None))
}
