//! Resource provider records as the API presents them.

use chrono::NaiveDateTime;

/// A resource provider with its tree position, as read from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceProvider {
    pub id: i32,
    pub uuid: String,
    pub name: Option<String>,
    pub generation: i32,
    pub parent_provider_uuid: Option<String>,
    pub root_provider_uuid: String,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
}

impl ResourceProvider {
    /// The time the record last changed, as `last-modified` reports it.
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}
