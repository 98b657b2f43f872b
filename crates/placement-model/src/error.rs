//! Domain errors and the `placement.*` error codes clients match on.

/// Machine-readable error codes (API microversion 1.23+). The strings never
/// change once published.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `placement.undefined_code`: nothing more specific applies.
    Default,
    /// `placement.inventory.inuse`: inventory to remove has allocations.
    InventoryInUse,
    /// `placement.concurrent_update`: a provider or consumer generation was
    /// stale; the client should re-read and retry.
    ConcurrentUpdate,
    /// `placement.duplicate_name`: a provider with that name or uuid exists.
    DuplicateName,
    /// `placement.resource_provider.inuse`: the provider to delete has
    /// allocations.
    ProviderInUse,
    /// `placement.resource_provider.cannot_delete_parent`: the provider to
    /// delete has children.
    ProviderCannotDeleteParent,
    /// `placement.resource_provider.not_found`: a provider named in a
    /// reshape does not exist.
    ResourceProviderNotFound,
    /// `placement.query.duplicate_key`: a query parameter allowed once was
    /// repeated.
    QueryDuplicateKey,
    /// `placement.query.bad_value`: a query parameter's value is invalid.
    QueryBadValue,
    /// `placement.query.missing_value`: a needed query parameter is absent.
    QueryMissingValue,
}

impl ErrorCode {
    /// Every code, in declaration order.
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

    /// The code string sent in an error body's `code` field.
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
    /// The provider with this uuid does not exist.
    #[error("No resource provider with uuid {0} found")]
    ProviderNotFound(String),
    /// The resource class with this name does not exist.
    #[error("No such resource class {0}.")]
    ResourceClassNotFound(String),
    /// These traits (comma-separated) do not exist.
    #[error("No such trait(s): {0}.")]
    TraitNotFound(String),
    /// The provider's generation changed while it was being updated.
    #[error("Another thread concurrently updated the resource provider data. Please retry your update")]
    ProviderConcurrentUpdate,
    /// Creating or renaming to a resource class name that is taken.
    #[error("Resource class {0} already exists.")]
    ResourceClassExists(String),
    /// Deleting a standard (non-`CUSTOM_`) resource class.
    #[error("Cannot delete standard resource class {0}.")]
    ResourceClassCannotDeleteStandard(String),
    /// Renaming a standard (non-`CUSTOM_`) resource class.
    #[error("Cannot update standard resource class {0}.")]
    ResourceClassCannotUpdateStandard(String),
    /// Deleting a resource class some provider has inventory of.
    #[error("Cannot delete resource class {0}. Class is in use in inventory.")]
    ResourceClassInUse(String),
    /// Deleting a standard (os-traits) trait.
    #[error("Cannot delete standard trait {0}.")]
    TraitCannotDeleteStandard(String),
    /// Deleting a trait some provider has.
    #[error("The trait {0} is in use by a resource provider.")]
    TraitInUse(String),
    /// Removing inventory of classes that still have allocations.
    #[error("Inventory for '{classes}' on resource provider '{provider}' in use.")]
    InventoryInUse {
        /// The classes in use, comma-separated.
        classes: String,
        /// The provider's uuid.
        provider: String,
    },
    /// Updating or deleting inventory of a class the provider does not have.
    #[error("No inventory of class {0} found.")]
    InventoryNotFound(String),
    /// Deleting a provider that has allocations.
    #[error("Resource provider has allocations.")]
    ProviderInUse,
    /// Deleting a provider that has child providers.
    #[error("Cannot delete resource provider that is a parent of another. Delete child providers first.")]
    CannotDeleteParent,
    /// A provider name or uuid is taken; the fields say which.
    #[error("Conflicting resource provider {}", duplicate_description(.uuid, .name))]
    DuplicateProvider {
        /// The uuid taken, if that is the conflict.
        uuid: Option<String>,
        /// The name taken, if that is the conflict.
        name: Option<String>,
    },
    /// The tree change asked for is not allowed (upstream's
    /// ObjectActionError): the text is the reason.
    #[error("Object action {action} failed because: {reason}")]
    InvalidTreeChange {
        /// The action refused (`create`, `update`, ...).
        action: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The consumer generation a client sent is not the stored one (`None`
    /// on either side: no consumer, or the client expected none).
    #[error("consumer generation conflict - expected {} but got {}", or_null(.expected), or_none(.got))]
    ConsumerGenerationConflict {
        /// The stored generation (`None`: no such consumer).
        expected: Option<i64>,
        /// The generation the client sent.
        got: Option<i64>,
    },
    /// A consumer (or its project, user or type) changed while being
    /// written.
    #[error("Another thread concurrently updated the data. Please retry your update")]
    ConsumerConcurrentUpdate,
    /// An allocation names a provider that does not exist.
    #[error("Allocation for resource provider '{0}' that does not exist.")]
    AllocationProviderNotFound(String),
    /// A client-supplied provider generation is stale.
    #[error("resource provider generation conflict for provider {provider}: actual: {actual}, given: {given}")]
    ProviderGenerationConflict {
        /// The provider's uuid.
        provider: String,
        /// The stored generation.
        actual: i32,
        /// The generation the client sent.
        given: i64,
    },

    /// An allocation is on a provider (or class) with no inventory for it.
    #[error("Inventory for '{classes}' on resource provider '{providers}' invalid.")]
    InvalidInventory {
        /// The classes claimed, comma-separated.
        classes: String,
        /// The providers without inventory, comma-separated.
        providers: String,
    },
    /// An allocation would take more than the inventory's capacity leaves.
    #[error(
        "Unable to create allocation for '{class}' on resource provider '{provider}'. The requested \
         amount would exceed the capacity."
    )]
    AllocationCapacityExceeded {
        /// The resource class.
        class: String,
        /// The provider's uuid.
        provider: String,
    },
    /// An allocation breaks the inventory's min_unit, max_unit or step_size.
    #[error(
        "Unable to create allocation for '{class}' on resource provider '{provider}'. The requested \
         amount would violate inventory constraints."
    )]
    AllocationConstraintsViolated {
        /// The resource class.
        class: String,
        /// The provider's uuid.
        provider: String,
    },
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
