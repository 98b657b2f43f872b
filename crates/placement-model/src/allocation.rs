//! The capacity rules an allocation write must satisfy, as a pure
//! function over what storage read: each claim respects its inventory's
//! min_unit, max_unit and step_size, and the claims together fit in
//! `(total - reserved) * allocation_ratio` on top of what others use.

use std::collections::{BTreeSet, HashMap};

use crate::DomainError;
use crate::inventory::Inventory;

/// One amount of one class on one provider, for one consumer. A `used` of
/// zero marks an allocation being removed (its provider still counts as
/// touched).
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub provider_id: i32,
    pub provider_uuid: String,
    pub class_id: i32,
    pub class: String,
    pub used: i64,
}

/// An inventory and what other consumers use of it now.
#[derive(Clone, Debug, PartialEq)]
pub struct Available {
    pub inventory: Inventory,
    pub used: i64,
}

/// Check every claim. `available` is keyed by (provider id, class id) and
/// reflects usage once the claiming consumers' old allocations are gone;
/// `before` is the usage before that, so a claim that is over capacity but
/// no worse than what was there is let through, as upstream allows.
pub fn check_claims(
    claims: &[Claim],
    available: &HashMap<(i32, i32), Available>,
    before: &HashMap<(i32, i32), i64>,
) -> Result<(), DomainError> {
    let with_inventory: BTreeSet<i32> = available.keys().map(|(rp, _)| *rp).collect();
    let mut missing: Vec<&str> = Vec::new();
    let mut listed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for c in claims {
        if !with_inventory.contains(&c.provider_id) && listed.insert(&c.provider_uuid) {
            missing.push(&c.provider_uuid);
        }
    }
    if !missing.is_empty() {
        let mut classes: Vec<(i32, &str)> = claims.iter().map(|c| (c.class_id, c.class.as_str())).collect();
        classes.sort_unstable();
        classes.dedup();
        return Err(DomainError::InvalidInventory {
            classes: classes.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", "),
            providers: missing.join(", "),
        });
    }
    let mut claimed: HashMap<(i32, i32), i64> = HashMap::new();
    for c in claims {
        let key = (c.provider_id, c.class_id);
        let total_claimed = claimed.entry(key).or_default();
        *total_claimed = total_claimed.saturating_add(c.used);
        if c.used == 0 {
            continue;
        }
        let Some(slot) = available.get(&key) else {
            return Err(DomainError::InvalidInventory { classes: c.class.clone(), providers: c.provider_uuid.clone() });
        };
        if !slot.inventory.unit_constraints_ok(c.used) {
            return Err(DomainError::AllocationConstraintsViolated {
                class: c.class.clone(),
                provider: c.provider_uuid.clone(),
            });
        }
        let inv = &slot.inventory;
        let capacity = (inv.total - inv.reserved) as f64 * inv.allocation_ratio;
        // Client amounts may be anything up to i64::MAX: saturate, so a
        // debug build refuses them as a release build does.
        let needed_all = slot.used.saturating_add(*total_claimed);
        if capacity < slot.used.saturating_add(c.used) as f64 || capacity < needed_all as f64 {
            let reduces_overage = before.get(&key).is_some_and(|prev| needed_all <= *prev);
            if !reduces_overage {
                return Err(DomainError::AllocationCapacityExceeded {
                    class: c.class.clone(),
                    provider: c.provider_uuid.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(rp: i32, used: i64) -> Claim {
        Claim { provider_id: rp, provider_uuid: format!("rp{rp}"), class_id: 0, class: "VCPU".into(), used }
    }

    fn slot(total: i64, used: i64) -> Available {
        Available { inventory: Inventory { max_unit: 4, ..Inventory::with_defaults("VCPU", total) }, used }
    }

    #[test]
    fn claims_add_up_against_capacity() {
        let available = HashMap::from([((1, 0), slot(8, 2))]);
        assert!(check_claims(&[claim(1, 3), claim(1, 3)], &available, &HashMap::new()).is_ok());
        let e = check_claims(&[claim(1, 3), claim(1, 4)], &available, &HashMap::new()).unwrap_err();
        assert!(matches!(e, DomainError::AllocationCapacityExceeded { .. }));
    }

    #[test]
    fn unit_constraints_are_checked_per_claim() {
        let available = HashMap::from([((1, 0), slot(8, 0))]);
        let e = check_claims(&[claim(1, 5)], &available, &HashMap::new()).unwrap_err();
        assert!(matches!(e, DomainError::AllocationConstraintsViolated { .. }), "{e}");
    }

    #[test]
    fn providers_without_inventory_are_invalid() {
        let e = check_claims(&[claim(2, 1)], &HashMap::new(), &HashMap::new()).unwrap_err();
        assert_eq!(e.to_string(), "Inventory for 'VCPU' on resource provider 'rp2' invalid.");
    }

    #[test]
    fn shrinking_an_existing_overage_is_allowed() {
        // Capacity 2 now; the consumer held 4 before and now asks for 3.
        let available = HashMap::from([((1, 0), slot(2, 0))]);
        let before = HashMap::from([((1, 0), 4)]);
        assert!(check_claims(&[claim(1, 3)], &available, &before).is_ok());
        assert!(check_claims(&[claim(1, 3)], &available, &HashMap::new()).is_err());
    }

    #[test]
    fn removal_markers_need_no_capacity() {
        assert!(check_claims(&[claim(1, 0)], &HashMap::from([((1, 0), slot(1, 5))]), &HashMap::new()).is_ok());
    }
}
