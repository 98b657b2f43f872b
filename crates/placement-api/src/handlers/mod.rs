//! One module per resource; one function per (method, path).

pub mod aggregates;
pub mod allocations;

pub mod allocation_candidates;
mod candidates_json;
pub mod inventories;
pub mod reshaper;
pub mod resource_classes;
pub mod resource_providers;
pub mod root;
pub mod traits;
pub mod usages;
