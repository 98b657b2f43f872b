//! The reshaper: move inventory and allocations between providers of a
//! tree in one transaction, every provider generation checked.

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_model::inventory::Inventory;
use placement_model::provider::ResourceProvider;

use crate::allocations::{self, ConsumerWrite};
use crate::conn::DbConnection;
use crate::consumers::OwnerIds;
use crate::error::StorageResult;
use crate::{inventories, providers};

/// The complete new inventory of one provider, and the generation the
/// client last saw.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderInventories {
    /// The provider's uuid.
    pub provider_uuid: String,
    /// The provider's generation as the client last saw it.
    pub generation: i64,
    /// Every inventory the provider is to have.
    pub inventories: Vec<Inventory>,
}

/// Replace the named providers' inventories and the named consumers'
/// allocations, all or nothing. Inventory first grows to the union of old
/// and new (so allocations can move onto it), then allocations are
/// replaced, then inventory shrinks to exactly what was asked.
pub fn reshape(
    conn: &mut DbConnection,
    ids: &OwnerIds,
    wanted: &[ProviderInventories],
    writes: &[ConsumerWrite],
) -> StorageResult<()> {
    let mut targets: Vec<(ResourceProvider, &ProviderInventories)> = Vec::new();
    for entry in wanted {
        let rp = providers::get(conn, &entry.provider_uuid)?;
        if i64::from(rp.generation) != entry.generation {
            return Err(DomainError::ProviderGenerationConflict {
                provider: entry.provider_uuid.clone(),
                actual: rp.generation,
                given: entry.generation,
            }
            .into());
        }
        targets.push((rp, entry));
    }
    let mut plan = allocations::plan(conn, ids, writes)?;
    for (rp, entry) in &mut targets {
        if entry.inventories.is_empty() {
            continue;
        }
        let mut union: BTreeMap<String, Inventory> = inventories::of_provider(conn, rp.id)?
            .into_iter()
            .map(|s| (s.inventory.resource_class.clone(), s.inventory))
            .collect();
        for i in &entry.inventories {
            union.insert(i.resource_class.clone(), i.clone());
        }
        let union: Vec<Inventory> = union.into_values().collect();
        rp.generation = inventories::replace(conn, rp, &union)?;
        plan.set_generation(rp.id, rp.generation);
    }
    let bumped = allocations::apply(conn, plan)?;
    for (rp, entry) in &mut targets {
        if let Some(g) = bumped.get(&rp.id) {
            rp.generation = *g;
        }
        rp.generation = inventories::replace(conn, rp, &entry.inventories)?;
    }
    Ok(())
}
