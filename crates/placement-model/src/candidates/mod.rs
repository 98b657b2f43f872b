//! Allocation candidates: which providers could satisfy a request, solved
//! in memory over a [`Snapshot`] of the relevant provider trees.
//!
//! The rules are upstream Placement's, group by group: a suffixed group is
//! satisfied by one provider; the unsuffixed group may spread over a tree
//! and the sharing providers (MISC_SHARES_VIA_AGGREGATE) that share an
//! aggregate with it. Groups are then merged per anchor tree, honouring
//! group_policy, same_subtree and capacity. Unlike upstream, the merge never
//! walks the full cross product: it builds candidates group by group and
//! abandons a partial one as soon as it breaks a rule, and it stops at
//! `max_allocation_candidates`.

mod budget;
mod builder;
mod enumerate;
mod snapshot;
mod solve;
mod uuid_text;

pub use budget::Exhausted;
pub use builder::{SnapshotBuilder, SnapshotError};
pub use snapshot::{Capacity, FastMap, FastSet, Limits, LimitsPool, ProviderNode, Snapshot};
pub use solve::{Candidate, Options, Solution, Strategy, solve};
pub use uuid_text::{UuidText, is_json_plain};

use std::collections::BTreeSet;

/// A database id of one kind: a provider's can't be passed where a class's
/// is wanted. The integer is public: ids come from and go to the database.
macro_rules! database_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub i32);

        impl $name {
            /// The smallest id, for ranges over ids.
            pub const MIN: $name = $name(i32::MIN);
            /// The largest id, for ranges over ids.
            pub const MAX: $name = $name(i32::MAX);
        }

        impl From<i32> for $name {
            fn from(id: i32) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i32 {
            fn from(id: $name) -> i32 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

database_id!(
    /// Database id of a resource provider.
    ProviderId
);
database_id!(
    /// Database id of a resource class.
    ClassId
);
database_id!(
    /// Database id of a trait.
    TraitId
);
database_id!(
    /// Database id of an aggregate.
    AggregateId
);
/// Index of a request group (its position in the request).
pub type GroupIndex = u16;

/// One request group with every name resolved to an id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// The key suffix; empty for the unsuffixed group.
    pub suffix: String,
    /// Requested amounts in request order.
    pub resources: Vec<(ClassId, i64)>,
    /// AND of any-of sets.
    pub required: Vec<BTreeSet<TraitId>>,
    /// Traits no provider serving the group may have.
    pub forbidden: BTreeSet<TraitId>,
    /// AND of any-of sets; an empty inner set names only unknown
    /// aggregates and so matches nothing.
    pub member_of: Vec<BTreeSet<AggregateId>>,
    /// Aggregates no provider serving the group may be in.
    pub forbidden_aggregates: BTreeSet<AggregateId>,
    /// `Some(None)`: in_tree named an unknown provider.
    pub in_tree: Option<Option<ProviderId>>,
}

impl Group {
    /// True for a suffixed group, which one provider must satisfy.
    pub fn use_same_provider(&self) -> bool {
        !self.suffix.is_empty()
    }
}

/// A request with every name resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The request groups, in request order.
    pub groups: Vec<Group>,
    /// `group_policy=isolate`: suffixed groups need distinct providers.
    pub isolate: bool,
    /// root_required: traits every anchor root must have / must not have.
    pub root_required: Option<(BTreeSet<TraitId>, BTreeSet<TraitId>)>,
    /// Each `same_subtree` value: suffixes of groups whose providers must
    /// lie in one subtree, rooted at one of those providers.
    pub same_subtrees: Vec<BTreeSet<String>>,
}
