//! API microversions: the ordered list of versions this service speaks and
//! the parsing rules of the `OpenStack-API-Version` header.

use std::fmt;

/// A `major.minor` API version. Ordering is numeric.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    /// Major version (always 1 for Placement).
    pub major: u16,
    /// Minor version: each one adds or changes behaviour.
    pub minor: u16,
}

/// Why a requested version could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// The header value is not `X.Y` (HTTP 400).
    Malformed(String),
    /// Well formed, but not one this service supports (HTTP 406).
    Unacceptable(String),
}

impl Microversion {
    /// The oldest version served: 1.0.
    pub const MIN: Microversion = Microversion::new(1, 0);
    /// The newest version served, and what `latest` means: 1.39.
    pub const MAX: Microversion = Microversion::new(1, 39);

    /// The version `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Microversion { major, minor }
    }

    /// True when this version is at least `1.minor`.
    pub fn at_least(self, minor: u16) -> bool {
        self >= Microversion::new(1, minor)
    }

    /// Every supported version, oldest first.
    pub fn all() -> impl Iterator<Item = Microversion> {
        (Self::MIN.minor..=Self::MAX.minor).map(|m| Microversion::new(1, m))
    }

    /// Resolve the version a request asks for. `None` (no header for this
    /// service) means the minimum; `latest` means the maximum.
    pub fn negotiate(requested: Option<&str>) -> Result<Microversion, VersionError> {
        let text = match requested {
            None => return Ok(Self::MIN),
            Some("latest") => return Ok(Self::MAX),
            Some(t) => t,
        };
        let parsed = parse_version_string(text)?;
        if parsed >= Self::MIN && parsed <= Self::MAX {
            Ok(parsed)
        } else {
            Err(VersionError::Unacceptable(text.to_string()))
        }
    }

    /// Find the placement version in an `OpenStack-API-Version` header value.
    /// Later entries win, as several services may be named in one header.
    pub fn from_header(value: &str) -> Option<&str> {
        value.rsplit(',').find_map(|entry| {
            let entry = entry.trim();
            let (service, version) = entry.split_once(char::is_whitespace)?;
            service.eq_ignore_ascii_case("placement").then(|| version.trim())
        })
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Parse `X.Y` the way the reference implementation does: split at the first
/// dot and read each side as a (possibly signed, space-padded) integer.
fn parse_version_string(text: &str) -> Result<Microversion, VersionError> {
    let malformed = |why: String| VersionError::Malformed(format!("invalid version string: {text}; {why}"));
    let (major, minor) = match text.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (text, None),
    };
    let major = parse_int(major).map_err(&malformed)?;
    let Some(minor) = minor else {
        return Err(malformed("Version.__new__() missing 1 required positional argument: 'minor'".to_string()));
    };
    let minor = parse_int(minor).map_err(&malformed)?;
    match (u16::try_from(major), u16::try_from(minor)) {
        (Ok(major), Ok(minor)) => Ok(Microversion::new(major, minor)),
        _ => Err(VersionError::Unacceptable(text.to_string())),
    }
}

fn parse_int(part: &str) -> Result<i64, String> {
    let trimmed = part.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = trimmed.parse::<i64>() {
            return Ok(n);
        }
        // Out of range: certainly not a version we support.
        return Ok(i64::MAX);
    }
    Err(format!("invalid literal for int() with base 10: '{part}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_header_means_minimum_and_latest_means_maximum() {
        assert_eq!(Microversion::negotiate(None), Ok(Microversion::MIN));
        assert_eq!(Microversion::negotiate(Some("latest")), Ok(Microversion::MAX));
    }

    #[test]
    fn parses_with_padding_and_leading_zeros() {
        assert_eq!(Microversion::negotiate(Some(" 1.5 ")), Ok(Microversion::new(1, 5)));
        assert_eq!(Microversion::negotiate(Some("01.05")), Ok(Microversion::new(1, 5)));
    }

    #[test]
    fn malformed_versions_are_bad_requests() {
        for bad in ["pony.horse", "1.2.3", "1", ""] {
            match Microversion::negotiate(Some(bad)) {
                Err(VersionError::Malformed(msg)) => {
                    assert!(msg.starts_with(&format!("invalid version string: {bad};")), "{msg}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_versions_are_unacceptable() {
        for bad in ["0.5", "1.40", "2.0", "-1.0"] {
            assert_eq!(Microversion::negotiate(Some(bad)), Err(VersionError::Unacceptable(bad.to_string())));
        }
    }

    #[test]
    fn header_picks_the_last_placement_entry() {
        assert_eq!(Microversion::from_header("placement 1.5"), Some("1.5"));
        assert_eq!(Microversion::from_header("compute 2.1, placement 1.7"), Some("1.7"));
        assert_eq!(Microversion::from_header("placement 1.2, placement 1.9"), Some("1.9"));
        assert_eq!(Microversion::from_header("Placement latest"), Some("latest"));
        assert_eq!(Microversion::from_header("compute 2.1"), None);
        assert_eq!(Microversion::from_header("placement"), None);
    }

    #[test]
    fn every_version_is_listed_once_in_order() {
        let all: Vec<_> = Microversion::all().collect();
        assert_eq!(all.len(), 40);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all.last(), Some(&Microversion::MAX));
    }
}
