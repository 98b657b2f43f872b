//! What the documents say about each endpoint of the route table: its
//! name, what it answers at each version, and where its request body and
//! query schemas come from (the validator's own, in `schema::requests`).
//! A test checks that this table and the route table name the same
//! endpoints, so neither can change alone.

use placement_model::Microversion;
use serde_json::Value;

use crate::schema::requests;

/// A success answer: status, and the body's component (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Success {
    pub status: u16,
    pub body: Option<&'static str>,
}

const fn ok(status: u16, body: &'static str) -> Success {
    Success { status, body: Some(body) }
}

const fn empty(status: u16) -> Success {
    Success { status, body: None }
}

type Schema = fn(Microversion) -> &'static Value;

/// One endpoint (method, path and the lowest version of its window, which
/// tells apart the two `PUT /resource_classes/{name}`).
pub struct OperationDoc {
    pub method: &'static str,
    pub pattern: &'static str,
    pub min: u16,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub success: fn(Microversion) -> Vec<Success>,
    /// Failures particular to the operation (the common ones are added).
    pub errors: &'static [u16],
    pub body: Option<Schema>,
    pub query: Option<Schema>,
    /// Sends `Location` with its success.
    pub location: bool,
    /// Sends `Last-Modified` and `Cache-Control` from 1.15.
    pub modified: bool,
}

const fn op(method: &'static str, pattern: &'static str, min: u16, id: &'static str) -> OperationDoc {
    OperationDoc {
        method,
        pattern,
        min,
        id,
        tag: "",
        summary: "",
        success: |_| vec![empty(204)],
        errors: &[],
        body: None,
        query: None,
        location: false,
        modified: false,
    }
}

fn name_schema(_: Microversion) -> &'static Value {
    requests::resource_class_name()
}

const RC: &str = "Resource classes";
const RP: &str = "Resource providers";
const INV: &str = "Inventories";
const AGG: &str = "Aggregates";
const TRAITS: &str = "Traits";
const ALLOC: &str = "Allocations";
const USAGES: &str = "Usages";

pub static OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        tag: "Versions",
        summary: "The versions of the API this service offers",
        success: |_| vec![ok(200, "VersionDocument")],
        ..op("GET", "/", 0, "listVersions")
    },
    OperationDoc {
        tag: RC,
        summary: "List resource classes",
        success: |_| vec![ok(200, "ResourceClassList")],
        modified: true,
        ..op("GET", "/resource_classes", 2, "listResourceClasses")
    },
    OperationDoc {
        tag: RC,
        summary: "Create a custom resource class",
        success: |_| vec![empty(201)],
        errors: &[400, 409],
        body: Some(name_schema),
        location: true,
        ..op("POST", "/resource_classes", 2, "createResourceClass")
    },
    OperationDoc {
        tag: RC,
        summary: "Show a resource class",
        success: |_| vec![ok(200, "ResourceClassBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_classes/{name}", 2, "showResourceClass")
    },
    OperationDoc {
        tag: RC,
        summary: "Rename a custom resource class",
        success: |_| vec![ok(200, "ResourceClassBody")],
        errors: &[400, 404, 409],
        body: Some(name_schema),
        ..op("PUT", "/resource_classes/{name}", 2, "renameResourceClass")
    },
    OperationDoc {
        tag: RC,
        summary: "Make sure a custom resource class exists",
        success: |_| vec![empty(201), empty(204)],
        errors: &[400],
        location: true,
        ..op("PUT", "/resource_classes/{name}", 7, "ensureResourceClass")
    },
    OperationDoc {
        tag: RC,
        summary: "Delete a custom resource class",
        errors: &[400, 404, 409],
        ..op("DELETE", "/resource_classes/{name}", 2, "deleteResourceClass")
    },
    OperationDoc {
        tag: RP,
        summary: "List resource providers",
        success: |_| vec![ok(200, "ProviderList")],
        errors: &[400],
        query: Some(requests::list_providers),
        modified: true,
        ..op("GET", "/resource_providers", 0, "listResourceProviders")
    },
    OperationDoc {
        tag: RP,
        summary: "Create a resource provider",
        success: |v| if v.at_least(20) { vec![ok(200, "ProviderBody")] } else { vec![empty(201)] },
        errors: &[400, 409],
        body: Some(requests::create_provider),
        location: true,
        modified: true,
        ..op("POST", "/resource_providers", 0, "createResourceProvider")
    },
    OperationDoc {
        tag: RP,
        summary: "Show a resource provider",
        success: |_| vec![ok(200, "ProviderBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}", 0, "showResourceProvider")
    },
    OperationDoc {
        tag: RP,
        summary: "Update a resource provider's name or parent",
        success: |_| vec![ok(200, "ProviderBody")],
        errors: &[400, 404, 409],
        body: Some(requests::update_provider),
        modified: true,
        ..op("PUT", "/resource_providers/{uuid}", 0, "updateResourceProvider")
    },
    OperationDoc {
        tag: RP,
        summary: "Delete a resource provider",
        errors: &[404, 409],
        ..op("DELETE", "/resource_providers/{uuid}", 0, "deleteResourceProvider")
    },
    OperationDoc {
        tag: INV,
        summary: "List a provider's inventories",
        success: |_| vec![ok(200, "InventoriesBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/inventories", 0, "listInventories")
    },
    OperationDoc {
        tag: INV,
        summary: "Add one inventory to a provider",
        success: |_| vec![ok(201, "InventoryBody")],
        errors: &[400, 404, 409],
        body: Some(|_| requests::post_inventory()),
        location: true,
        modified: true,
        ..op("POST", "/resource_providers/{uuid}/inventories", 0, "createInventory")
    },
    OperationDoc {
        tag: INV,
        summary: "Replace all of a provider's inventories",
        success: |_| vec![ok(200, "InventoriesBody")],
        errors: &[400, 404, 409],
        body: Some(|_| requests::put_inventories()),
        modified: true,
        ..op("PUT", "/resource_providers/{uuid}/inventories", 0, "replaceInventories")
    },
    OperationDoc {
        tag: INV,
        summary: "Delete all of a provider's inventories",
        errors: &[404, 409],
        ..op("DELETE", "/resource_providers/{uuid}/inventories", 5, "deleteInventories")
    },
    OperationDoc {
        tag: INV,
        summary: "Show one inventory of a provider",
        success: |_| vec![ok(200, "InventoryBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/inventories/{resource_class}", 0, "showInventory")
    },
    OperationDoc {
        tag: INV,
        summary: "Update one inventory of a provider",
        success: |_| vec![ok(200, "InventoryBody")],
        errors: &[400, 404, 409],
        body: Some(|_| requests::put_inventory()),
        modified: true,
        ..op("PUT", "/resource_providers/{uuid}/inventories/{resource_class}", 0, "updateInventory")
    },
    OperationDoc {
        tag: INV,
        summary: "Delete one inventory of a provider",
        errors: &[404, 409],
        ..op("DELETE", "/resource_providers/{uuid}/inventories/{resource_class}", 0, "deleteInventory")
    },
    OperationDoc {
        tag: USAGES,
        summary: "A provider's usage by resource class",
        success: |_| vec![ok(200, "ProviderUsagesBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/usages", 0, "showProviderUsages")
    },
    OperationDoc {
        tag: AGG,
        summary: "List a provider's aggregates",
        success: |_| vec![ok(200, "AggregatesBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/aggregates", 1, "listProviderAggregates")
    },
    OperationDoc {
        tag: AGG,
        summary: "Replace a provider's aggregates",
        success: |_| vec![ok(200, "AggregatesBody")],
        errors: &[400, 404, 409],
        body: Some(requests::put_aggregates),
        modified: true,
        ..op("PUT", "/resource_providers/{uuid}/aggregates", 1, "replaceProviderAggregates")
    },
    OperationDoc {
        tag: ALLOC,
        summary: "The allocations against a provider",
        success: |_| vec![ok(200, "ProviderAllocationsBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/allocations", 0, "listProviderAllocations")
    },
    OperationDoc {
        tag: ALLOC,
        summary: "Replace the allocations of several consumers at once",
        errors: &[400, 409],
        body: Some(requests::post_allocations),
        ..op("POST", "/allocations", 13, "postAllocations")
    },
    OperationDoc {
        tag: ALLOC,
        summary: "A consumer's allocations",
        success: |_| vec![ok(200, "ConsumerAllocationsBody")],
        modified: true,
        ..op("GET", "/allocations/{consumer_uuid}", 0, "listConsumerAllocations")
    },
    OperationDoc {
        tag: ALLOC,
        summary: "Replace a consumer's allocations",
        errors: &[400, 409],
        body: Some(requests::put_allocations),
        ..op("PUT", "/allocations/{consumer_uuid}", 0, "putConsumerAllocations")
    },
    OperationDoc {
        tag: ALLOC,
        summary: "Delete a consumer's allocations",
        errors: &[404],
        ..op("DELETE", "/allocations/{consumer_uuid}", 0, "deleteConsumerAllocations")
    },
    OperationDoc {
        tag: "Allocation candidates",
        summary: "Where a workload could fit: allocation requests and provider summaries",
        success: |_| vec![ok(200, "CandidatesBody")],
        errors: &[400],
        query: Some(requests::candidates),
        modified: true,
        ..op("GET", "/allocation_candidates", 10, "listAllocationCandidates")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "List traits",
        success: |_| vec![ok(200, "TraitsBody")],
        errors: &[400],
        query: Some(|_| requests::list_traits()),
        modified: true,
        ..op("GET", "/traits", 6, "listTraits")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "Whether a trait exists",
        errors: &[404],
        modified: true,
        ..op("GET", "/traits/{name}", 6, "showTrait")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "Make sure a custom trait exists",
        success: |_| vec![empty(201), empty(204)],
        errors: &[400],
        location: true,
        modified: true,
        ..op("PUT", "/traits/{name}", 6, "ensureTrait")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "Delete a custom trait",
        errors: &[400, 404, 409],
        ..op("DELETE", "/traits/{name}", 6, "deleteTrait")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "List a provider's traits",
        success: |_| vec![ok(200, "TraitsBody")],
        errors: &[404],
        modified: true,
        ..op("GET", "/resource_providers/{uuid}/traits", 6, "listProviderTraits")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "Replace a provider's traits",
        success: |_| vec![ok(200, "TraitsBody")],
        errors: &[400, 404, 409],
        body: Some(|_| requests::set_provider_traits()),
        modified: true,
        ..op("PUT", "/resource_providers/{uuid}/traits", 6, "replaceProviderTraits")
    },
    OperationDoc {
        tag: TRAITS,
        summary: "Remove every trait from a provider",
        errors: &[404, 409],
        ..op("DELETE", "/resource_providers/{uuid}/traits", 6, "deleteProviderTraits")
    },
    OperationDoc {
        tag: USAGES,
        summary: "A project's (or user's) usage",
        success: |v| vec![ok(200, if v.at_least(38) { "TypedUsagesBody" } else { "UsagesBody" })],
        errors: &[400],
        query: Some(requests::usages),
        modified: true,
        ..op("GET", "/usages", 9, "showUsages")
    },
    OperationDoc {
        tag: "Reshaper",
        summary: "Move inventories and allocations between providers of a tree at once",
        errors: &[400, 409],
        body: Some(requests::reshape),
        ..op("POST", "/reshaper", 30, "reshape")
    },
];

/// The documentation of an endpoint of the route table.
pub fn find(method: &str, pattern: &str, min: u16) -> Option<&'static OperationDoc> {
    OPERATIONS.iter().find(|o| o.method == method && o.pattern == pattern && o.min == min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn the_table_names_every_endpoint_of_the_route_table_and_no_other() {
        let mut endpoints = 0;
        for route in ROUTES {
            for e in route.endpoints {
                assert!(
                    find(e.method, route.pattern, e.min).is_some(),
                    "{} {} from 1.{}",
                    e.method,
                    route.pattern,
                    e.min
                );
                endpoints += 1;
            }
        }
        assert_eq!(endpoints, OPERATIONS.len(), "an operation documents no endpoint");
        let mut ids: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), OPERATIONS.len(), "operation ids are unique");
    }
}
