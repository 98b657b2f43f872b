//! `GET /allocation_candidates` (from 1.10).

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_model::candidates::{self as cands, Exhausted, Options};
use placement_model::error::ErrorCode;
use placement_model::request::{self, CandidateRequest};
use placement_storage::StorageError;
use placement_storage::candidates::{self as store, Loaded};
use utoipa::ToSchema;

use super::candidates_json;
use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::schema::requests;

/// One class of a provider summary.
#[derive(ToSchema)]
pub struct ResourceUsage {
    pub capacity: i64,
    pub used: i64,
}

/// One provider of the candidates' trees.
#[derive(ToSchema)]
pub struct ProviderSummary {
    pub resources: BTreeMap<String, ResourceUsage>,
    /// From 1.17.
    pub traits: Option<Vec<String>>,
    /// From 1.29.
    pub parent_provider_uuid: Option<String>,
    /// From 1.29.
    pub root_provider_uuid: Option<String>,
}

/// The body's shape, for the OpenAPI document; `candidates_json` writes it.
#[derive(ToSchema)]
pub struct CandidatesBody {
    /// Bodies for `PUT /allocations/{consumer_uuid}`: a list of
    /// `{resource_provider, resources}` before 1.12, a dict by provider
    /// after; with `mappings` from 1.34.
    #[schema(value_type = Vec<Object>)]
    pub allocation_requests: Vec<serde_json::Value>,
    pub provider_summaries: BTreeMap<String, ProviderSummary>,
}

#[utoipa::path(get, path = "/allocation_candidates", responses((status = 200, body = CandidatesBody), (status = 400)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:allocation_candidates:list")?;
    ctx.validate_query(requests::candidates(ctx.version))?;
    let parsed =
        request::parse(&ctx.query, ctx.version).map_err(|e| ApiError::bad_request(e.message).with_code(e.code))?;
    let cache = ctx.db().tree_cache();
    let loaded = ctx.db().read(|c| store::load(c, &parsed, cache)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::bad_request(format!("Invalid resource class in resources parameter: {d}"))
        }
        StorageError::Domain(d @ DomainError::TraitNotFound(_)) => ApiError::bad_request(d.to_string()),
        other => other.into(),
    })?;
    let reply = match loaded {
        Loaded::NoResults => Reply::text(candidates_json::EMPTY.to_string()),
        Loaded::Ready(prepared) => {
            let started = std::time::Instant::now();
            let solution =
                cands::solve(&prepared.snapshot, &prepared.request, &options(ctx, &parsed)).map_err(too_costly)?;
            if let Some(metrics) = &ctx.state.metrics {
                metrics.observe_solve(started.elapsed().as_secs_f64(), solution.candidates.len());
            }
            Reply::bytes(candidates_json::write(ctx.version, &prepared, &solution))
        }
    };
    Ok(reply.modified(ctx.version, None))
}

/// A search that ran out of steps is refused as the request's fault (the
/// same request will always need as many); one that ran out of time may
/// succeed when the server is less busy.
fn too_costly(exhausted: Exhausted) -> ApiError {
    match exhausted {
        Exhausted::Steps(limit) => ApiError::bad_request(format!(
            "The allocation candidates request needs more than {limit} search steps \
             ([placement] allocation_candidates_search_steps). Use fewer request groups, \
             narrow them with traits, member_of or in_tree, or set group_policy and limit."
        ))
        .with_code(ErrorCode::QueryBadValue),
        Exhausted::Time(limit) => ApiError::unavailable(
            format!(
                "The allocation candidates search took longer than {:.1} seconds \
                 ([placement] allocation_candidates_time_limit); try again later or narrow the request.",
                limit.as_secs_f64()
            ),
            "allocation candidates time limit reached",
        ),
    }
}

fn options(ctx: &Ctx, parsed: &CandidateRequest) -> Options {
    let settings = &ctx.state.placement;
    Options {
        nested_aware: ctx.version.at_least(29),
        max_candidates: usize::try_from(settings.max_allocation_candidates).ok(),
        strategy: settings.allocation_candidates_generation_strategy,
        limit: parsed.wide.limit,
        shuffle_seed: settings.randomize_allocation_candidates.then(|| uuid::Uuid::new_v4().as_u64_pair().0),
        max_steps: Some(settings.candidates_search_steps),
        time_limit: Some(settings.candidates_time_limit),
    }
}
