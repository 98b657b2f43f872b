//! `/resource_providers/{uuid}/usages` and `/usages` (from 1.9).

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_policy::Target;
use placement_storage::usages::{self as store, ConsumerTypeFilter};
use placement_storage::{StorageError, providers};
use serde_json::{Map, Value, json};

use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::schema::requests;

#[utoipa::path(get, path = "/resource_providers/{uuid}/usages", responses((status = 200)))]
pub fn of_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:usages")?;
    let uuid = ctx.param("uuid");
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
    let body = json!({"resource_provider_generation": rp.generation, "usages": usages});
    Ok(Reply::json(body).modified(ctx.version, None))
}

#[utoipa::path(get, path = "/usages", responses((status = 200)))]
pub fn totals(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    let project = ctx.query_last("project_id").map(str::to_string);
    let mut target = Target::new();
    if let Some(p) = &project {
        target.insert("project_id".into(), p.clone());
    }
    ctx.authorize_on("placement:usages", &target)?;
    let by_type = ctx.version.at_least(38);
    ctx.validate_query(if by_type {
        requests::usages_1_38()
    } else {
        requests::usages_1_9()
    })?;
    let project = project.unwrap_or_default();
    let user = ctx.query_last("user_id").map(str::to_string);
    let body = if by_type {
        let filter = match ctx.query_last("consumer_type") {
            None => ConsumerTypeFilter::Each,
            Some("all") => ConsumerTypeFilter::All,
            Some("unknown") => ConsumerTypeFilter::Unknown,
            Some(name) => ConsumerTypeFilter::Named(name.to_string()),
        };
        let rows =
            ctx.read(|c| store::of_project_by_type(c, &project, user.as_deref(), &filter))?;
        let mut groups: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for row in rows {
            let group = groups.entry(row.consumer_type).or_default();
            group.insert(row.resource_class, json!(row.used));
            group.insert("consumer_count".into(), json!(row.consumer_count));
        }
        json!({"usages": groups})
    } else {
        json!({"usages": ctx.read(|c| store::of_project(c, &project, user.as_deref()))?})
    };
    Ok(Reply::json(body).modified(ctx.version, None))
}
