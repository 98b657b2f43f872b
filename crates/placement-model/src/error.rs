//! Domain errors and the `placement.*` error codes clients match on.

/// Machine-readable error codes (API microversion 1.23+). The strings never
/// change once published.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Default,
    InventoryInUse,
    ConcurrentUpdate,
    DuplicateName,
    ProviderInUse,
    ProviderCannotDeleteParent,
    ResourceProviderNotFound,
    QueryDuplicateKey,
    QueryBadValue,
    QueryMissingValue,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::Default,
        ErrorCode::InventoryInUse,
        ErrorCode::ConcurrentUpdate,
        ErrorCode::DuplicateName,
        ErrorCode::ProviderInUse,
        ErrorCode::ProviderCannotDeleteParent,
        ErrorCode::ResourceProviderNotFound,
        ErrorCode::QueryDuplicateKey,
        ErrorCode::QueryBadValue,
        ErrorCode::QueryMissingValue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Default => "placement.undefined_code",
            ErrorCode::InventoryInUse => "placement.inventory.inuse",
            ErrorCode::ConcurrentUpdate => "placement.concurrent_update",
            ErrorCode::DuplicateName => "placement.duplicate_name",
            ErrorCode::ProviderInUse => "placement.resource_provider.inuse",
            ErrorCode::ProviderCannotDeleteParent => "placement.resource_provider.cannot_delete_parent",
            ErrorCode::ResourceProviderNotFound => "placement.resource_provider.not_found",
            ErrorCode::QueryDuplicateKey => "placement.query.duplicate_key",
            ErrorCode::QueryBadValue => "placement.query.bad_value",
            ErrorCode::QueryMissingValue => "placement.query.missing_value",
        }
    }
}

/// What can go wrong in a domain operation. Messages are upstream's
/// exception texts; handlers may wrap them with request context.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("No resource provider with uuid {0} found")]
    ProviderNotFound(String),
    #[error("No such resource class {0}.")]
    ResourceClassNotFound(String),
    #[error("No such trait(s): {0}.")]
    TraitNotFound(String),
    #[error("Another thread concurrently updated the resource provider data. Please retry your update")]
    ProviderConcurrentUpdate,
    #[error("Resource class {0} already exists.")]
    ResourceClassExists(String),
    #[error("Cannot delete standard resource class {0}.")]
    ResourceClassCannotDeleteStandard(String),
    #[error("Cannot update standard resource class {0}.")]
    ResourceClassCannotUpdateStandard(String),
    #[error("Cannot delete resource class {0}. Class is in use in inventory.")]
    ResourceClassInUse(String),
    #[error("Cannot delete standard trait {0}.")]
    TraitCannotDeleteStandard(String),
    #[error("The trait {0} is in use by a resource provider.")]
    TraitInUse(String),
    #[error("Inventory for '{classes}' on resource provider '{provider}' in use.")]
    InventoryInUse { classes: String, provider: String },
    #[error("No inventory of class {0} found.")]
    InventoryNotFound(String),
    #[error("Resource provider has allocations.")]
    ProviderInUse,
    #[error("Cannot delete resource provider that is a parent of another. Delete child providers first.")]
    CannotDeleteParent,
    /// A provider name or uuid is taken; the fields say which.
    #[error("Conflicting resource provider {}", duplicate_description(.uuid, .name))]
    DuplicateProvider { uuid: Option<String>, name: Option<String> },
    /// The tree change asked for is not allowed (upstream's
    /// ObjectActionError): the text is the reason.
    #[error("Object action {action} failed because: {reason}")]
    InvalidTreeChange { action: &'static str, reason: String },
    /// The consumer generation a client sent is not the stored one (`None`
    /// on either side: no consumer, or the client expected none).
    #[error("consumer generation conflict - expected {} but got {}", or_null(.expected), or_none(.got))]
    ConsumerGenerationConflict { expected: Option<i64>, got: Option<i64> },
    #[error("Another thread concurrently updated the data. Please retry your update")]
    ConsumerConcurrentUpdate,
    #[error("Allocation for resource provider '{0}' that does not exist.")]
    AllocationProviderNotFound(String),
    /// A client-supplied provider generation is stale.
    #[error("resource provider generation conflict for provider {provider}: actual: {actual}, given: {given}")]
    ProviderGenerationConflict { provider: String, actual: i32, given: i64 },

    #[error("Inventory for '{classes}' on resource provider '{providers}' invalid.")]
    InvalidInventory { classes: String, providers: String },
    #[error(
        "Unable to create allocation for '{class}' on resource provider '{provider}'. The requested \
         amount would exceed the capacity."
    )]
    AllocationCapacityExceeded { class: String, provider: String },
    #[error(
        "Unable to create allocation for '{class}' on resource provider '{provider}'. The requested \
         amount would violate inventory constraints."
    )]
    AllocationConstraintsViolated { class: String, provider: String },
}

/// How the missing consumer reads in upstream's message.
fn or_null(value: &Option<i64>) -> String {
    value.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// How a client's missing generation reads (Python's `None`).
fn or_none(value: &Option<i64>) -> String {
    value.map_or_else(|| "None".to_string(), |v| v.to_string())
}

fn duplicate_description(uuid: &Option<String>, name: &Option<String>) -> String {
    let mut parts = Vec::new();
    if let Some(uuid) = uuid {
        parts.push(format!("uuid: {uuid}"));
    }
    if let Some(name) = name {
        parts.push(format!("name: {name}"));
    }
    format!("{} already exists.", parts.join(", "))
}

impl DomainError {
    /// The error code upstream attaches when nothing more specific applies.
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::ProviderConcurrentUpdate
            | DomainError::ConsumerConcurrentUpdate
            | DomainError::ConsumerGenerationConflict { .. } => ErrorCode::ConcurrentUpdate,

            DomainError::InventoryInUse { .. } => ErrorCode::InventoryInUse,
            DomainError::ProviderInUse => ErrorCode::ProviderInUse,
            DomainError::CannotDeleteParent => ErrorCode::ProviderCannotDeleteParent,
            DomainError::DuplicateProvider { .. } => ErrorCode::DuplicateName,
            // Upstream attaches no code of its own to these (handlers may).
            DomainError::ProviderNotFound(_)
            | DomainError::ResourceClassNotFound(_)
            | DomainError::TraitNotFound(_)
            | DomainError::ResourceClassExists(_)
            | DomainError::ResourceClassCannotDeleteStandard(_)
            | DomainError::ResourceClassCannotUpdateStandard(_)
            | DomainError::ResourceClassInUse(_)
            | DomainError::TraitCannotDeleteStandard(_)
            | DomainError::TraitInUse(_)
            | DomainError::InventoryNotFound(_)
            | DomainError::InvalidTreeChange { .. }
            | DomainError::AllocationProviderNotFound(_)
            | DomainError::ProviderGenerationConflict { .. }
            | DomainError::InvalidInventory { .. }
            | DomainError::AllocationCapacityExceeded { .. }
            | DomainError::AllocationConstraintsViolated { .. } => ErrorCode::Default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let strings: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(strings.len(), ErrorCode::ALL.len());
        assert!(strings.iter().all(|s| s.starts_with("placement.")));
    }

    #[test]
    fn messages_match_upstream_wording() {
        let e = DomainError::InventoryInUse { classes: "VCPU, DISK_GB".into(), provider: "u".into() };
        assert_eq!(e.to_string(), "Inventory for 'VCPU, DISK_GB' on resource provider 'u' in use.");
        let e = DomainError::DuplicateProvider { uuid: None, name: Some("n".into()) };
        assert_eq!(e.to_string(), "Conflicting resource provider name: n already exists.");
    }
}
