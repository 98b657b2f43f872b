//! placement-policy
