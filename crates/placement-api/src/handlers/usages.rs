//! `/resource_providers/{uuid}/usages` and `/usages` (from 1.9).

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_policy::Target;
use placement_storage::usages::{self as store, ConsumerTypeFilter};
use placement_storage::{StorageError, providers};
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::schema::requests;

/// Usage of each class a provider has inventory of.
#[derive(Serialize, ToSchema)]
pub struct ProviderUsagesBody {
    pub resource_provider_generation: i32,
    pub usages: BTreeMap<String, i64>,
}

/// Usage per class for a project (before 1.38).
#[derive(Serialize, ToSchema)]
pub struct UsagesBody {
    pub usages: BTreeMap<String, i64>,
}

/// From 1.38: per consumer type, usage per class plus `consumer_count`.
#[derive(Serialize, ToSchema)]
pub struct TypedUsagesBody {
    pub usages: BTreeMap<String, BTreeMap<String, i64>>,
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/usages",
    responses((status = 200, body = ProviderUsagesBody)))]
pub fn of_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:usages")?;
    let uuid = ctx.param("uuid")?;
    let (rp, usages) = ctx
        .db()
        .read(|c| {
            let rp = providers::get(c, uuid)?;
            let usages = store::of_provider(c, rp.id)?;
            Ok((rp, usages))
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderNotFound(_)) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found: {d}"))
            }
            other => other.into(),
        })?;
    let body = ProviderUsagesBody { resource_provider_generation: rp.generation, usages };
    Ok(Reply::body(&body).modified(ctx.version, None))
}

#[utoipa::path(get, path = "/usages",
    responses((status = 200, body = UsagesBody), (status = 200, body = TypedUsagesBody)))]
pub fn totals(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    let project = ctx.query_last("project_id").map(str::to_string);
    let mut target = Target::new();
    if let Some(p) = &project {
        target.insert("project_id".into(), p.clone());
    }
    ctx.authorize_on("placement:usages", &target)?;
    let by_type = ctx.version.at_least(38);
    ctx.validate_query(requests::usages(ctx.version))?;
    let project = project.unwrap_or_default();
    let user = ctx.query_last("user_id").map(str::to_string);
    let reply = if by_type {
        let filter = match ctx.query_last("consumer_type") {
            None => ConsumerTypeFilter::Each,
            Some("all") => ConsumerTypeFilter::All,
            Some("unknown") => ConsumerTypeFilter::Unknown,
            Some(name) => ConsumerTypeFilter::Named(name.to_string()),
        };
        let rows = ctx.read(|c| store::of_project_by_type(c, &project, user.as_deref(), &filter))?;
        let mut usages: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for row in rows {
            let group = usages.entry(row.consumer_type).or_default();
            group.insert(row.resource_class, row.used);
            group.insert("consumer_count".into(), row.consumer_count);
        }
        Reply::body(&TypedUsagesBody { usages })
    } else {
        Reply::body(&UsagesBody { usages: ctx.read(|c| store::of_project(c, &project, user.as_deref()))? })
    };
    Ok(reply.modified(ctx.version, None))
}
