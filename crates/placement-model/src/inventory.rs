//! Inventory records and their capacity arithmetic.

use crate::Microversion;

/// Largest value an integer inventory field may hold (a signed 32-bit
/// column upstream).
pub const MAX_INT: i64 = 2_147_483_647;

/// Largest allocation ratio: the maximum of a single-precision SQL float.
pub const MAX_ALLOCATION_RATIO: f64 = 3.402_823_466_385_288_6e38;

/// One resource class's inventory on one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Inventory {
    /// Name of the resource class this inventory is of.
    pub resource_class: String,
    /// Units the provider has of this class.
    pub total: i64,
    /// Units held back from allocation (e.g. for the host itself).
    pub reserved: i64,
    /// Smallest amount one allocation may take.
    pub min_unit: i64,
    /// Largest amount one allocation may take.
    pub max_unit: i64,
    /// Allocations must be a multiple of this.
    pub step_size: i64,
    /// Overcommit factor applied to `total - reserved`.
    pub allocation_ratio: f64,
}

impl Inventory {
    /// An inventory with upstream's defaults for every optional field.
    pub fn with_defaults(resource_class: impl Into<String>, total: i64) -> Self {
        Inventory {
            resource_class: resource_class.into(),
            total,
            reserved: 0,
            min_unit: 1,
            max_unit: MAX_INT,
            step_size: 1,
            allocation_ratio: 1.0,
        }
    }

    /// `(total - reserved) * allocation_ratio`, truncated toward zero.
    pub fn capacity(&self) -> i64 {
        ((self.total - self.reserved) as f64 * self.allocation_ratio) as i64
    }

    /// Whether `amount` more can be allocated on top of `used`, respecting
    /// capacity, min_unit, max_unit and step_size.
    pub fn fits(&self, used: i64, amount: i64) -> bool {
        self.unit_constraints_ok(amount)
            && (used.saturating_add(amount) as f64) <= (self.total - self.reserved) as f64 * self.allocation_ratio
    }

    /// Whether `amount` respects min_unit, max_unit and step_size (capacity
    /// aside).
    pub fn unit_constraints_ok(&self, amount: i64) -> bool {
        self.min_unit <= amount && amount <= self.max_unit && self.step_size > 0 && amount % self.step_size == 0
    }

    /// Checks the reserved amount against the total. Before 1.26 reserved
    /// must leave some capacity; from 1.26 it may equal the total.
    pub fn check_capacity(&self, version: Microversion) -> Result<(), CapacityError> {
        CapacityError::check(self.capacity(), version)
    }
}

/// An inventory whose reserved amount leaves no usable capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityError {
    /// Before 1.26: reserved is greater than or equal to total.
    ReservedNotBelowTotal,
    /// From 1.26: reserved is greater than total.
    ReservedAboveTotal,
}

impl CapacityError {
    /// [`Inventory::check_capacity`] for a capacity computed elsewhere.
    pub fn check(capacity: i64, version: Microversion) -> Result<(), CapacityError> {
        if version.at_least(26) {
            if capacity < 0 {
                return Err(CapacityError::ReservedAboveTotal);
            }
        } else if capacity <= 0 {
            return Err(CapacityError::ReservedNotBelowTotal);
        }
        Ok(())
    }

    /// Upstream's 400 message for this inventory of `resource_class` on the
    /// provider `provider_uuid`.
    pub fn message(self, resource_class: &str, provider_uuid: &str) -> String {
        let tail = match self {
            CapacityError::ReservedNotBelowTotal => "greater than or equal to total",
            CapacityError::ReservedAboveTotal => "greater than total",
        };
        format!(
            "Invalid inventory for '{resource_class}' on resource provider \
             '{provider_uuid}'. The reserved value is {tail}."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(total: i64, reserved: i64, ratio: f64) -> Inventory {
        Inventory { reserved, allocation_ratio: ratio, ..Inventory::with_defaults("VCPU", total) }
    }

    #[test]
    fn capacity_applies_reserved_and_ratio_and_truncates() {
        assert_eq!(inv(8, 0, 16.0).capacity(), 128);
        assert_eq!(inv(10, 3, 1.5).capacity(), 10);
        assert_eq!(inv(3, 0, 0.5).capacity(), 1);
    }

    #[test]
    fn reserved_equal_to_total_is_allowed_only_from_1_26() {
        let full = inv(4, 4, 1.0);
        assert_eq!(full.check_capacity(Microversion::new(1, 25)), Err(CapacityError::ReservedNotBelowTotal));
        assert_eq!(full.check_capacity(Microversion::new(1, 26)), Ok(()));
        assert_eq!(inv(4, 5, 1.0).check_capacity(Microversion::new(1, 26)), Err(CapacityError::ReservedAboveTotal));
    }

    #[test]
    fn fits_respects_units_and_capacity() {
        let mut i = inv(10, 2, 1.0);
        i.min_unit = 2;
        i.max_unit = 6;
        i.step_size = 2;
        assert!(i.fits(0, 2));
        assert!(i.fits(2, 6));
        assert!(!i.fits(4, 6), "over capacity");
        assert!(!i.fits(0, 1), "below min_unit");
        assert!(!i.fits(0, 3), "not a step");
        assert!(!i.fits(0, 8), "above max_unit");
        i.max_unit = i64::MAX;
        i.step_size = 1;
        assert!(!i.fits(i64::MAX, i64::MAX), "no overflow: simply too much");
    }
}
