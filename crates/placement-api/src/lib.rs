//! placement-api
