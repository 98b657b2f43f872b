//! Allocation candidates without a database: a small cloud built in code,
//! asked the query string Nova would send.
//!
//! `cargo run -p placement-model --example solver`

use std::collections::BTreeMap;

use placement_model::candidates::{self as cands, Capacity, Limits, Options, ProviderId, SnapshotBuilder};
use placement_model::{Microversion, request, standard};

/// Ids as a database would give them: a standard class's id is its place
/// in the standard list; traits are numbered here.
fn class_id(name: &str) -> cands::ClassId {
    let place = standard::resource_classes().iter().position(|c| *c == name).expect("a standard class");
    cands::ClassId(place as i32)
}

const TRAITS: [&str; 2] = ["HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"];

fn trait_id(name: &str) -> cands::TraitId {
    cands::TraitId(TRAITS.iter().position(|t| *t == name).expect("a trait of this cloud") as i32 + 1)
}

fn capacity(total: i32, used: i64) -> Capacity {
    Capacity::new(
        Limits { total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: 1.0 },
        used,
    )
}

fn main() {
    // Three compute nodes: (id, uuid, VCPU used of 8, MEMORY_MB used of 16384, traits).
    let nodes = [
        (ProviderId(1), "c0000000-0000-4000-8000-000000000001", 6, 2048, vec!["HW_CPU_X86_AVX2"]),
        (ProviderId(2), "c0000000-0000-4000-8000-000000000002", 0, 0, vec!["HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"]),
        (ProviderId(3), "c0000000-0000-4000-8000-000000000003", 1, 15000, vec!["STORAGE_DISK_SSD"]),
    ];
    let mut parts = SnapshotBuilder::new();
    for (id, uuid, vcpu_used, memory_used, traits) in &nodes {
        parts.provider(*id, *uuid, None);
        parts.inventory(*id, class_id("VCPU"), capacity(8, *vcpu_used));
        parts.inventory(*id, class_id("MEMORY_MB"), capacity(16384, *memory_used));
        for t in traits {
            parts.with_trait(*id, trait_id(t));
        }
    }
    // Checked: a missing parent, a cycle or inventory of an unknown
    // provider is an error here, not a wrong answer later.
    let cloud = parts.build().expect("a consistent cloud");

    let query: Vec<(String, String)> = [("resources", "VCPU:4,MEMORY_MB:2048"), ("required", "HW_CPU_X86_AVX2")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let parsed = request::parse(&query, Microversion::new(1, 39)).expect("a valid request");

    // Names to ids, as placement-storage resolves them against the database.
    let request = cands::Request {
        groups: parsed
            .groups
            .iter()
            .map(|g| cands::Group {
                suffix: g.suffix.clone(),
                resources: g.resources.iter().map(|(class, amount)| (class_id(class), *amount)).collect(),
                required: g.traits.required.iter().map(|any| any.iter().map(|t| trait_id(t)).collect()).collect(),
                forbidden: g.traits.forbidden.iter().map(|t| trait_id(t)).collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };

    let solution = cands::solve(&cloud, &request, &Options { nested_aware: true, ..Default::default() })
        .expect("within the search budget");
    let names: BTreeMap<cands::ClassId, &str> =
        standard::resource_classes().iter().enumerate().map(|(i, n)| (cands::ClassId(i as i32), *n)).collect();
    println!("{} candidate(s) for {query:?}:", solution.candidates.len());
    for candidate in &solution.candidates {
        let amounts: Vec<String> = candidate
            .resources
            .iter()
            .map(|(provider, class, amount)| format!("{} {}:{amount}", cloud.uuid(*provider), names[class]))
            .collect();
        println!("  {}", amounts.join(", "));
    }
    // Node 1 has only 2 VCPUs left and node 3 lacks AVX2: node 2 alone fits.
    assert_eq!(solution.candidates.len(), 1);
    assert_eq!(solution.candidates[0].anchor, ProviderId(2));
}
