//! The OpenAPI description assembled from the handlers' annotations. The
//! per-microversion documents and Swagger UI build on this.

use utoipa::OpenApi;

use crate::handlers::{
    aggregates, allocation_candidates, allocations, inventories, reshaper, resource_classes, resource_providers, root,
    traits, usages,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Placement API", description = "OpenStack Placement, microversions 1.0 to 1.39"),
    paths(
        root::home,
        resource_providers::list,
        resource_providers::create,
        resource_providers::show,
        resource_providers::update,
        resource_providers::delete,
        resource_classes::list,
        resource_classes::create,
        resource_classes::show,
        resource_classes::rename,
        resource_classes::ensure,
        resource_classes::delete,
        traits::list,
        traits::show,
        traits::ensure,
        traits::delete,
        traits::of_provider,
        traits::replace_for_provider,
        traits::delete_for_provider,
        aggregates::list,
        aggregates::replace,
        inventories::list,
        inventories::show,
        inventories::create,
        inventories::replace,
        inventories::update,
        inventories::delete,
        inventories::delete_all,
        usages::of_provider,
        usages::totals,
        allocation_candidates::list,
        allocations::for_consumer,
        allocations::for_provider,
        allocations::put_for_consumer,
        allocations::post,
        allocations::delete_for_consumer,
        reshaper::reshape,
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn every_route_is_documented() {
        let doc = ApiDoc::openapi();
        for route in ROUTES {
            assert!(doc.paths.paths.contains_key(route.pattern), "{} is not documented", route.pattern);
        }
    }

    #[test]
    fn bodies_are_described() {
        let text = ApiDoc::openapi().to_json().unwrap();
        for schema in ["ProviderBody", "InventoriesBody", "TraitsBody", "ResourceClassList", "AggregatesBody"] {
            assert!(text.contains(schema), "{schema} missing");
        }
    }

    #[test]
    fn candidate_summaries_are_maps_of_summaries() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let summaries = &schemas["CandidatesBody"]["properties"]["provider_summaries"];
        assert_eq!(summaries["type"], "object");
        assert_eq!(summaries["additionalProperties"]["$ref"], "#/components/schemas/ProviderSummary");
        let resources = &schemas["ProviderSummary"]["properties"]["resources"];
        assert_eq!(resources["additionalProperties"]["$ref"], "#/components/schemas/ResourceUsage");
    }
}
