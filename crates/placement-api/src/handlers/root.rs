//! `GET /`: the version document, no authentication needed.

use placement_model::Microversion;
use serde::Serialize;
use utoipa::ToSchema;

use crate::body::Link;
use crate::context::{Ctx, Reply};
use crate::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Version {
    pub id: String,
    pub max_version: String,
    pub min_version: String,
    pub status: String,
    pub links: Vec<Link>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDocument {
    pub versions: Vec<Version>,
}

#[utoipa::path(get, path = "/", responses((status = 200, body = VersionDocument)))]
pub fn home(ctx: &Ctx) -> Result<Reply, ApiError> {
    let body = VersionDocument {
        versions: vec![Version {
            id: format!("v{}", Microversion::MIN),
            max_version: Microversion::MAX.to_string(),
            min_version: Microversion::MIN.to_string(),
            status: "CURRENT".into(),
            // Relative on purpose: "this same URL", whatever the proxy.
            links: vec![Link::new("self", String::new())],
        }],
    };
    Ok(Reply::body(&body).modified(ctx.version, None))
}
