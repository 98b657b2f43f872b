//! The Placement domain, free of I/O: microversions, names, the standard
//! resource classes and traits, inventory arithmetic, provider records and
//! the parsed query filters shared by the API and storage layers.

#![warn(missing_docs)]

pub mod allocation;
pub mod candidates;
pub mod error;
pub mod inventory;
pub mod microversion;
pub mod names;
pub mod provider;
pub mod query;
pub mod request;
pub mod standard;

pub use error::DomainError;
pub use microversion::Microversion;
