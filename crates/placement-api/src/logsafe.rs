//! Text from a request, made safe for a log line: control characters
//! (and Unicode line breaks) are escaped, so a client cannot end a line
//! and forge the next one, and very long values are cut.

use std::borrow::Cow;
use std::fmt::Write;

/// Longest request-supplied text written to one log line.
pub const MAX_LOGGED: usize = 2048;

/// `text` with `\n`, `\r`, `\t` and other control characters escaped,
/// cut to [`MAX_LOGGED`] bytes.
pub fn logsafe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if text.len() <= MAX_LOGGED && !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(MAX_LOGGED) + 16);
    for c in text.chars() {
        if out.len() >= MAX_LOGGED {
            let _ = write!(out, "...({} bytes)", text.len());
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_cannot_forge_a_log_line() {
        let forged = "/resource_providers\r\n[req-x] 127.0.0.1 \"GET /\" status: 200";
        let safe = logsafe(forged);
        assert!(!safe.contains('\n') && !safe.contains('\r'), "{safe}");
        assert!(safe.starts_with("/resource_providers\\r\\n[req-x]"), "{safe}");
        assert_eq!(logsafe("a\u{2028}b\u{0}c"), "a\\u{2028}b\\u{0}c");
    }

    #[test]
    fn ordinary_text_is_untouched_and_long_text_cut() {
        assert!(matches!(logsafe("/traits/CUSTOM_☃"), Cow::Borrowed(_)));
        let long = "a".repeat(100_000);
        let cut = logsafe(&long);
        assert!(cut.len() < MAX_LOGGED + 32 && cut.ends_with("(100000 bytes)"), "{}", cut.len());
    }
}
