//! Resource provider records as the API presents them.

use chrono::NaiveDateTime;

/// A resource provider with its tree position, as read from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceProvider {
    /// Internal database id (never shown to clients).
    pub id: i32,
    /// The provider's public identifier.
    pub uuid: String,
    /// Unique human-readable name.
    pub name: Option<String>,
    /// Bumped on every change to the provider, its inventory, traits or
    /// aggregates; clients send it back to detect concurrent updates.
    pub generation: i32,
    /// The parent's uuid; `None` for a root provider.
    pub parent_provider_uuid: Option<String>,
    /// The uuid of the root of this provider's tree (its own, if a root).
    pub root_provider_uuid: String,
    /// When the provider was created.
    pub created_at: Option<NaiveDateTime>,
    /// When the provider record last changed, if ever.
    pub updated_at: Option<NaiveDateTime>,
}

impl ResourceProvider {
    /// The time the record last changed, as `last-modified` reports it.
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}
