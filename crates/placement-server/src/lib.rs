//! placement-server
