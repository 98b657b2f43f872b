//! Validation of resource class and trait names.

use crate::standard::CUSTOM_PREFIX;

/// `^[A-Z0-9_]+$`: the shape of every resource class and trait name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `^CUSTOM_[A-Z0-9_]+$`: a user-defined resource class or trait name.
pub fn is_valid_custom_name(name: &str) -> bool {
    name.strip_prefix(CUSTOM_PREFIX).is_some_and(is_valid_name)
}

/// Whether the name has the `CUSTOM_` prefix (no check of the rest).
pub fn is_custom(name: &str) -> bool {
    name.starts_with(CUSTOM_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_case_digits_and_underscores() {
        assert!(is_valid_name("VCPU"));
        assert!(is_valid_name("CUSTOM_GPU_2"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("vcpu"));
        assert!(!is_valid_name("CUSTOM-X"));
        assert!(!is_valid_name("ÉCLAIR"));
    }

    #[test]
    fn custom_names_need_the_prefix_and_a_body() {
        assert!(is_valid_custom_name("CUSTOM_X"));
        assert!(!is_valid_custom_name("CUSTOM_"));
        assert!(!is_valid_custom_name("VCPU"));
        assert!(!is_valid_custom_name("CUSTOM_x"));
    }
}
