//! End-to-end tests: the real binaries, real HTTP, every database backend.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod keystone_support;
mod private_db;
mod support;

mod access_log;
mod allocations;
mod api_docs;
mod auth;
mod auth_vs_upstream;
mod candidates_cache;
mod cli;
mod concurrency;
mod error_codes;
mod faults;
mod fuzz;
mod galera;
mod healthcheck;
mod hostile;
mod http_contract;
mod inventories;
mod metrics;
mod policy;
mod providers;
mod schema;
mod shutdown;
mod stress;
mod traits_and_aggregates;
mod upstream_parity;
