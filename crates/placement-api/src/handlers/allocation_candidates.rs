//! `GET /allocation_candidates` (from 1.10).

use std::collections::BTreeSet;

use placement_model::DomainError;
use placement_model::candidates::{self as cands, Candidate, Options, Snapshot, Solution, Strategy};
use placement_model::microversion::Microversion;
use placement_model::request::{self, CandidateRequest};
use placement_storage::StorageError;
use placement_storage::candidates::{self as store, Loaded, Names, Prepared};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
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
pub struct ProviderSummary<'a> {
    #[schema(value_type = std::collections::BTreeMap<String, ResourceUsage>)]
    pub resources: SummaryResources<'a>,
    /// From 1.17.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub traits: Option<SummaryTraits<'a>>,
    /// From 1.29.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_provider_uuid: Option<Option<&'a str>>,
    /// From 1.29.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_provider_uuid: Option<&'a str>,
}

/// The body is serialised straight from the solution and the snapshot:
/// answers run to megabytes, and intermediate maps would double the cost.
#[derive(Serialize, ToSchema)]
pub struct CandidatesBody<'a> {
    /// Bodies for `PUT /allocations/{consumer_uuid}`: a list of
    /// `{resource_provider, resources}` before 1.12, a dict by provider
    /// after; with `mappings` from 1.34.
    #[schema(value_type = Vec<Object>)]
    pub allocation_requests: Vec<AllocationRequest<'a>>,
    #[schema(value_type = std::collections::BTreeMap<String, ProviderSummary>)]
    pub provider_summaries: Summaries<'a>,
}

/// Summaries by provider uuid.
pub struct Summaries<'a> {
    version: Microversion,
    prepared: Option<&'a Prepared>,
    providers: &'a [cands::ProviderId],
    /// Before 1.27, only the requested classes are shown.
    requested: Option<BTreeSet<cands::ClassId>>,
}

impl Serialize for Summaries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(prepared) = self.prepared else {
            return s.collect_map(std::iter::empty::<(&str, ())>());
        };
        let (snap, v) = (&prepared.snapshot, self.version);
        s.collect_map(self.providers.iter().filter_map(|rp| snap.providers.get(rp)).map(|p| {
            let summary = ProviderSummary {
                resources: SummaryResources { prepared, provider: p.id, only: self.requested.as_ref() },
                traits: v.at_least(17).then_some(SummaryTraits { prepared, provider: p.id }),
                parent_provider_uuid: v.at_least(29).then(|| p.parent.map(|parent| snap.uuid(parent))),
                root_provider_uuid: v.at_least(29).then(|| snap.uuid(p.root)),
            };
            (p.uuid.as_str(), summary)
        }))
    }
}

/// One provider's inventories as `{class: {capacity, used}}`.
pub struct SummaryResources<'a> {
    prepared: &'a Prepared,
    provider: cands::ProviderId,
    only: Option<&'a BTreeSet<cands::ClassId>>,
}

impl Serialize for SummaryResources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Prepared { snapshot, names, .. } = self.prepared;
        let inventory = snapshot.inventory.range((self.provider, i32::MIN)..=(self.provider, i32::MAX));
        s.collect_map(inventory.filter(|((_, rc), _)| self.only.is_none_or(|only| only.contains(rc))).map(
            |((_, rc), cap)| {
                let name = names.classes.get(rc).map_or("", String::as_str);
                (name, ResourceUsage { capacity: cap.capacity(), used: cap.used })
            },
        ))
    }
}

/// One provider's trait names.
pub struct SummaryTraits<'a> {
    prepared: &'a Prepared,
    provider: cands::ProviderId,
}

impl Serialize for SummaryTraits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Prepared { snapshot, names, .. } = self.prepared;
        s.collect_seq(snapshot.traits_of(self.provider).filter_map(|t| names.traits.get(t)))
    }
}

/// Serialises the pairs an iterator yields as a JSON object, so nested
/// answers are written without building maps.
struct MapOf<F>(F);

impl<F, I, K, V> Serialize for MapOf<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (K, V)>,
    K: Serialize,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map((self.0)())
    }
}

/// Serialises what an iterator yields as a JSON array.
struct SeqOf<F>(F);

impl<F, I> Serialize for SeqOf<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

#[derive(Serialize)]
struct Resources<T> {
    resources: T,
}

#[derive(Serialize)]
struct ProviderRef<'a> {
    uuid: &'a str,
}

#[derive(Serialize)]
struct ListedAllocation<'a, T> {
    resource_provider: ProviderRef<'a>,
    resources: T,
}

/// One candidate as `PUT /allocations` takes it: a list of allocations
/// before 1.12, a dict by provider after, with mappings from 1.34.
pub struct AllocationRequest<'a> {
    version: Microversion,
    request: &'a cands::Request,
    snap: &'a Snapshot,
    names: &'a Names,
    candidate: &'a Candidate,
}

type Claim = (cands::ProviderId, cands::ClassId, i64);

/// One provider's claims as `{class: amount}`.
struct Amounts<'a> {
    names: &'a Names,
    claims: &'a [Claim],
}

impl Serialize for Amounts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.claims.iter().map(|(_, rc, n)| (self.names.classes.get(rc).map_or("", String::as_str), *n)))
    }
}

impl Serialize for AllocationRequest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (snap, names, c) = (self.snap, self.names, self.candidate);
        // The candidate's claims are sorted by provider, then class.
        let by_provider = || c.resources.chunk_by(|a, b| a.0 == b.0).map(|claims| (snap.uuid(claims[0].0), claims));
        let amounts = |claims| Amounts { names, claims };
        let mut out = s.serialize_map(None)?;
        if !self.version.at_least(12) {
            let listed = SeqOf(|| {
                by_provider().map(|(uuid, claims)| ListedAllocation {
                    resource_provider: ProviderRef { uuid },
                    resources: amounts(claims),
                })
            });
            out.serialize_entry("allocations", &listed)?;
            return out.end();
        }
        let allocations =
            MapOf(|| by_provider().map(|(uuid, claims)| (uuid, Resources { resources: amounts(claims) })));
        out.serialize_entry("allocations", &allocations)?;
        if self.version.at_least(34) {
            // Sorted by group, so each group's providers are adjacent.
            let mappings = MapOf(|| {
                c.mappings.chunk_by(|a, b| a.0 == b.0).map(|served| {
                    let suffix = self.request.groups.get(usize::from(served[0].0)).map_or("", |g| g.suffix.as_str());
                    (suffix, SeqOf(move || served.iter().map(|(_, rp)| snap.uuid(*rp))))
                })
            });
            out.serialize_entry("mappings", &mappings)?;
        }
        out.end()
    }
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
        Loaded::NoResults => {
            let provider_summaries =
                Summaries { version: ctx.version, prepared: None, providers: &[], requested: None };
            Reply::body(&CandidatesBody { allocation_requests: Vec::new(), provider_summaries })
        }
        Loaded::Ready(prepared) => {
            let solution = cands::solve(&prepared.snapshot, &prepared.request, &options(ctx, &parsed));
            Reply::body(&render(ctx.version, &prepared, &solution))
        }
    };
    Ok(reply.modified(ctx.version, None))
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

fn render<'a>(v: Microversion, prepared: &'a Prepared, solution: &'a Solution) -> CandidatesBody<'a> {
    let Prepared { request, snapshot: snap, names } = prepared;
    let allocation_requests = solution
        .candidates
        .iter()
        .map(|candidate| AllocationRequest { version: v, request, snap, names, candidate })
        .collect();
    let requested = (!v.at_least(27))
        .then(|| request.groups.iter().flat_map(|g| g.resources.iter().map(|r| r.0)).collect::<BTreeSet<_>>());
    let provider_summaries =
        Summaries { version: v, prepared: Some(prepared), providers: &solution.summaries, requested };
    CandidatesBody { allocation_requests, provider_summaries }
}
