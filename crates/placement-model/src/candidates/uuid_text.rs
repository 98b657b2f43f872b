//! A provider's uuid as the solver keeps it: inline, not on the heap.

use std::fmt;
use std::ops::Deref;

/// Bytes kept inline: a uuid's text (upstream's column is `VARCHAR(36)`).
const INLINE: usize = 36;

/// A short text, usually a provider's 36-character uuid, held in place
/// (40 bytes, where a `String` takes 24 and a heap block of 48): a cache
/// of a large cloud holds one per provider. Anything longer, which a valid
/// database never holds, goes to the heap unchanged.
#[derive(Clone, PartialEq, Eq)]
pub struct UuidText(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// `plain`: whether the text may go between JSON quotes as it is.
    Inline {
        len: u8,
        plain: bool,
        bytes: [u8; INLINE],
    },
    Heap(Box<str>),
}

impl UuidText {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always whole UTF-8: copied from a `str` in `from`.
            Repr::Inline { len, bytes, .. } => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            Repr::Heap(text) => text,
        }
    }

    /// The text's bytes, without the UTF-8 check `as_str` makes: for
    /// comparing and for writing out, where that check is most of the cost.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    /// Whether the text goes between JSON quotes unchanged (no quote,
    /// backslash or control character): known when kept, true of uuids.
    pub fn is_json_plain(&self) -> bool {
        match &self.0 {
            Repr::Inline { plain, .. } => *plain,
            Repr::Heap(text) => is_json_plain(text.as_bytes()),
        }
    }
}

/// Whether `text` goes between JSON quotes unchanged.
pub fn is_json_plain(text: &[u8]) -> bool {
    !text.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
}

impl From<&str> for UuidText {
    fn from(text: &str) -> Self {
        if text.len() > INLINE {
            return UuidText(Repr::Heap(text.into()));
        }
        let mut bytes = [0; INLINE];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        // At most 36: fits.
        UuidText(Repr::Inline { len: text.len() as u8, plain: is_json_plain(text.as_bytes()), bytes })
    }
}

impl From<String> for UuidText {
    fn from(text: String) -> Self {
        UuidText::from(text.as_str())
    }
}

impl Deref for UuidText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for UuidText {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for UuidText {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for UuidText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for UuidText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_of_any_length_come_back_unchanged() {
        let uuid = "d2f4b1c8-5a8e-4c39-9d0e-7b6a1f2e3c4d";
        let long = "x".repeat(37) + "é";
        for text in ["", "a", "é✓", uuid, &long] {
            let kept = UuidText::from(text);
            assert_eq!(kept.as_str(), text);
            assert_eq!(kept, *text);
            assert_eq!(kept.to_string(), text);
            assert_eq!(kept.as_bytes(), text.as_bytes());
            assert!(kept.is_json_plain());
        }
        for text in ["a\"b", "back\\slash", "new\nline", &("\"".repeat(40))] {
            assert!(!UuidText::from(text).is_json_plain(), "{text:?}");
        }
        assert!(matches!(UuidText::from(uuid).0, Repr::Inline { .. }));
        assert!(matches!(UuidText::from(long.as_str()).0, Repr::Heap(_)));
    }

    #[test]
    fn takes_less_room_than_a_string_and_its_block() {
        assert!(size_of::<UuidText>() <= 40, "{}", size_of::<UuidText>());
    }
}
