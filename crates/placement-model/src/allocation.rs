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
    /// Database id of the provider claimed on.
    pub provider_id: i32,
    /// The provider's uuid, for error messages.
    pub provider_uuid: String,
    /// Database id of the resource class claimed.
    pub class_id: i32,
    /// The resource class's name, for error messages.
    pub class: String,
    /// Units claimed (zero: the allocation is being removed).
    pub used: i64,
}

/// An inventory and what other consumers use of it now.
#[derive(Clone, Debug, PartialEq)]
pub struct Available {
    /// The provider's inventory of the class.
    pub inventory: Inventory,
    /// Units other consumers hold of it.
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
        // Upstream lists the classes as it iterates a Python set of their
        // ids; the same order here keeps the message the same.
        let names: HashMap<i32, &str> = claims.iter().map(|c| (c.class_id, c.class.as_str())).collect();
        let order = python_set_order(claims.iter().map(|c| c.class_id));
        return Err(DomainError::InvalidInventory {
            classes: order.iter().map(|id| names[id]).collect::<Vec<_>>().join(", "),
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

/// The order in which CPython 3 iterates `set(ids)` built from this
/// sequence of non-negative integers (each hashing to itself): slots of an
/// open-addressed table of 8, grown fourfold once three fifths full,
/// probing up to 9 neighbours, then by perturbation.
fn python_set_order(ids: impl IntoIterator<Item = i32>) -> Vec<i32> {
    const LINEAR_PROBES: usize = 9;
    fn insert(table: &mut [Option<i32>], id: i32) -> bool {
        let mask = table.len() - 1;
        let hash = id.max(0) as usize;
        let (mut i, mut perturb) = (hash & mask, hash);
        loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for slot in table.iter_mut().skip(i).take(probes + 1) {
                match slot {
                    None => {
                        *slot = Some(id);
                        return true;
                    }
                    Some(present) if *present == id => return false,
                    Some(_) => {}
                }
            }
            perturb >>= 5;
            i = (i * 5 + 1 + perturb) & mask;
        }
    }
    let mut table: Vec<Option<i32>> = vec![None; 8];
    let mut used = 0usize;
    for id in ids {
        if !insert(&mut table, id) {
            continue;
        }
        used += 1;
        if used * 5 >= (table.len() - 1) * 3 {
            let mut size = 8;
            while size <= used * 4 {
                size <<= 1;
            }
            let old = std::mem::replace(&mut table, vec![None; size]);
            for id in old.into_iter().flatten() {
                insert(&mut table, id);
            }
        }
    }
    table.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each sequence with `list(set(seq))` as CPython 3.11 printed it.
    #[test]
    fn python_set_order_is_cpythons() {
        let cases: [(&[i32], &[i32]); 4] = [
            (&[2, 9, 4, 1], &[9, 2, 4, 1]),
            (
                &[10003, 10001, 9, 2, 10002, 17, 33, 4, 1, 10000, 25],
                &[33, 2, 1, 4, 9, 10000, 10001, 10002, 10003, 17, 25],
            ),
            (&[41, 10010, 3, 10042, 8, 16, 24, 10018], &[10018, 3, 8, 41, 16, 24, 10010, 10042]),
            (
                &[
                    10006, 10003, 10005, 10029, 10018, 2, 10026, 10033, 10001, 18, 10013, 8, 10022, 10018, 10057,
                    10055, 0, 10056, 10023, 8, 10019, 10025, 10019, 10041, 10020, 10003, 10041, 10040, 10002, 7, 10012,
                    2, 10025, 10031, 2,
                ],
                &[
                    0, 2, 7, 8, 10001, 18, 10003, 10002, 10005, 10006, 10012, 10013, 10018, 10019, 10020, 10022, 10023,
                    10025, 10026, 10029, 10031, 10033, 10040, 10041, 10055, 10056, 10057,
                ],
            ),
        ];
        for (seq, want) in cases {
            assert_eq!(python_set_order(seq.iter().copied()), want, "{seq:?}");
        }
    }

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
