//! `GET /allocation_candidates` (from 1.10).

use std::collections::{BTreeMap, BTreeSet};

use placement_model::DomainError;
use placement_model::candidates::{self as cands, Options, Snapshot, Solution, Strategy};
use placement_model::request::{self, CandidateRequest};
use placement_storage::StorageError;
use placement_storage::candidates::{self as store, Loaded, Names};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::schema::requests;

#[derive(Serialize, ToSchema)]
pub struct ResourceUsage {
    pub capacity: i64,
    pub used: i64,
}

/// One provider of the candidates' trees.
#[derive(Serialize, ToSchema)]
pub struct ProviderSummary {
    pub resources: BTreeMap<String, ResourceUsage>,
    /// From 1.17.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traits: Option<Vec<String>>,
    /// From 1.29.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_provider_uuid: Option<Option<String>>,
    /// From 1.29.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_provider_uuid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CandidatesBody {
    /// Bodies for `PUT /allocations/{consumer_uuid}`: a list of
    /// `{resource_provider, resources}` before 1.12, a dict by provider
    /// after; with `mappings` from 1.34.
    #[schema(value_type = Vec<Object>)]
    pub allocation_requests: Vec<Value>,
    pub provider_summaries: BTreeMap<String, ProviderSummary>,
}

#[utoipa::path(get, path = "/allocation_candidates", responses((status = 200, body = CandidatesBody), (status = 400)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:allocation_candidates:list")?;
    ctx.validate_query(requests::candidates(ctx.version))?;
    let parsed =
        request::parse(&ctx.query, ctx.version).map_err(|e| ApiError::bad_request(e.message).with_code(e.code))?;
    let loaded = ctx.db().read(|c| store::load(c, &parsed)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::bad_request(format!("Invalid resource class in resources parameter: {d}"))
        }
        StorageError::Domain(d @ DomainError::TraitNotFound(_)) => ApiError::bad_request(d.to_string()),
        other => other.into(),
    })?;
    let body = match loaded {
        Loaded::NoResults => json!({"allocation_requests": [], "provider_summaries": {}}),
        Loaded::Ready(prepared) => {
            let solution = cands::solve(&prepared.snapshot, &prepared.request, &options(ctx, &parsed));
            let body = render(ctx, &parsed, &prepared.snapshot, &prepared.names, &solution);
            serde_json::to_value(body).unwrap_or(Value::Null)
        }
    };
    Ok(Reply::json(body).modified(ctx.version, None))
}

fn options(ctx: &Ctx, parsed: &CandidateRequest) -> Options {
    let settings = &ctx.state.placement;
    Options {
        nested_aware: ctx.version.at_least(29),
        max_candidates: usize::try_from(settings.max_allocation_candidates).ok(),
        strategy: if settings.allocation_candidates_generation_strategy == "breadth-first" {
            Strategy::BreadthFirst
        } else {
            Strategy::DepthFirst
        },
        limit: parsed.wide.limit,
        shuffle_seed: settings.randomize_allocation_candidates.then(|| uuid::Uuid::new_v4().as_u64_pair().0),
    }
}

fn render(ctx: &Ctx, parsed: &CandidateRequest, snap: &Snapshot, names: &Names, solution: &Solution) -> CandidatesBody {
    let v = ctx.version;
    let class = |id: i32| names.classes.get(&id).cloned().unwrap_or_default();
    let allocation_requests = solution
        .candidates
        .iter()
        .map(|c| {
            let mut by_provider: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
            for (rp, rc, amount) in &c.resources {
                by_provider.entry(snap.uuid(*rp)).or_default().insert(class(*rc), json!(amount));
            }
            if v.at_least(12) {
                let allocations: Map<String, Value> = by_provider
                    .into_iter()
                    .map(|(uuid, resources)| (uuid.to_string(), json!({"resources": resources})))
                    .collect();
                let mut out = json!({"allocations": allocations});
                if v.at_least(34) {
                    let mappings: Map<String, Value> = c
                        .mappings
                        .iter()
                        .map(|(suffix, rps)| {
                            (suffix.clone(), json!(rps.iter().map(|rp| snap.uuid(*rp)).collect::<Vec<_>>()))
                        })
                        .collect();
                    out["mappings"] = Value::Object(mappings);
                }
                out
            } else {
                let allocations: Vec<Value> = by_provider
                    .into_iter()
                    .map(|(uuid, resources)| json!({"resource_provider": {"uuid": uuid}, "resources": resources}))
                    .collect();
                json!({"allocations": allocations})
            }
        })
        .collect();
    let requested: BTreeSet<&String> = parsed.groups.iter().flat_map(|g| g.resources.iter().map(|r| &r.0)).collect();
    let provider_summaries = solution
        .summaries
        .iter()
        .filter_map(|rp| snap.providers.get(rp))
        .map(|p| {
            let resources = snap
                .inventory
                .range((p.id, i32::MIN)..=(p.id, i32::MAX))
                .map(|((_, rc), cap)| (class(*rc), ResourceUsage { capacity: cap.capacity(), used: cap.used }))
                .filter(|(name, _)| v.at_least(27) || requested.contains(name))
                .collect();
            let traits = v
                .at_least(17)
                .then(|| snap.traits_of(p.id).filter_map(|t| names.traits.get(t).cloned()).collect::<Vec<_>>());
            let summary = ProviderSummary {
                resources,
                traits,
                parent_provider_uuid: v.at_least(29).then(|| p.parent.map(|parent| snap.uuid(parent).to_string())),
                root_provider_uuid: v.at_least(29).then(|| snap.uuid(p.root).to_string()),
            };
            (p.uuid.clone(), summary)
        })
        .collect();
    CandidatesBody { allocation_requests, provider_summaries }
}
