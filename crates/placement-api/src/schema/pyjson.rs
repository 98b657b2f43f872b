//! Why a body is not JSON, in the words of Python's `json` module, which
//! upstream quotes after "Malformed JSON: ": the same reasons at the same
//! character positions (`Expecting ',' delimiter: line 1 column 9 (char
//! 8)`), and the UTF-8 decoder's message for bytes that are not text.
//! Consulted only when serde_json has refused the body already.

/// Python's message for this body, or `None` where Python would have
/// parsed it (NaN, Infinity, lone surrogates, deeper nesting than we
/// accept): then the caller's own reason stands.
pub fn malformed_reason(body: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => return Some(utf8_reason(body, &e)),
    };
    let chars: Vec<char> = text.chars().collect();
    let fail = match document(&chars) {
        Ok(()) => return None,
        Err(Fail::Stop(pos)) => ("Expecting value", pos),
        Err(Fail::Error(msg, pos)) => (msg, pos),
        Err(Fail::TooDeep) => return None,
    };
    Some(located(&chars, fail.0, fail.1))
}

/// `'utf-8' codec can't decode byte 0xff in position 0: invalid start byte`.
fn utf8_reason(body: &[u8], e: &std::str::Utf8Error) -> String {
    let start = e.valid_up_to();
    let (end, why) = match e.error_len() {
        None => (body.len(), "unexpected end of data"),
        Some(n) if matches!(body[start], 0x80..=0xC1 | 0xF5..=0xFF) => (start + n, "invalid start byte"),
        Some(n) => (start + n, "invalid continuation byte"),
    };
    if end - start == 1 {
        format!("'utf-8' codec can't decode byte {:#04x} in position {start}: {why}", body[start])
    } else {
        format!("'utf-8' codec can't decode bytes in position {start}-{}: {why}", end - 1)
    }
}

/// `msg: line L column C (char P)`, counted in characters as Python does.
fn located(chars: &[char], msg: &str, pos: usize) -> String {
    let before = &chars[..pos.min(chars.len())];
    let line = before.iter().filter(|&&c| c == '\n').count() + 1;
    let column = match before.iter().rposition(|&c| c == '\n') {
        Some(newline) => pos - newline,
        None => pos + 1,
    };
    format!("{msg}: line {line} column {column} (char {pos})")
}

enum Fail {
    /// No value starts here (Python's StopIteration): "Expecting value".
    Stop(usize),
    Error(&'static str, usize),
    /// Nested past serde_json's limit, which refused it first.
    TooDeep,
}

type Scan = Result<usize, Fail>;

const MAX_DEPTH: usize = 128;

fn document(s: &[char]) -> Result<(), Fail> {
    if s.first() == Some(&'\u{feff}') {
        return Err(Fail::Error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let end = skip_space(s, value(s, skip_space(s, 0), 0)?);
    if end != s.len() { Err(Fail::Error("Extra data", end)) } else { Ok(()) }
}

fn skip_space(s: &[char], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], ' ' | '\t' | '\n' | '\r') {
        i += 1;
    }
    i
}

fn follows(s: &[char], at: usize, word: &str) -> bool {
    word.chars().enumerate().all(|(k, c)| s.get(at + k) == Some(&c))
}

fn value(s: &[char], i: usize, depth: usize) -> Scan {
    if depth > MAX_DEPTH {
        return Err(Fail::TooDeep);
    }
    let Some(&c) = s.get(i) else { return Err(Fail::Stop(i)) };
    let literal = match c {
        '"' => return string(s, i + 1),
        '{' => return object(s, i + 1, depth + 1),
        '[' => return array(s, i + 1, depth + 1),
        'n' => "null",
        't' => "true",
        'f' => "false",
        'N' => "NaN",
        'I' => "Infinity",
        '-' => "-Infinity",
        _ => "",
    };
    if !literal.is_empty() && follows(s, i, literal) {
        return Ok(i + literal.chars().count());
    }
    number(s, i)
}

fn number(s: &[char], start: usize) -> Scan {
    let digit = |i: usize| s.get(i).is_some_and(char::is_ascii_digit);
    let mut i = start;
    if s[i] == '-' {
        i += 1;
    }
    match s.get(i) {
        Some('1'..='9') => {
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        Some('0') => i += 1,
        _ => return Err(Fail::Stop(start)),
    }
    if s.get(i) == Some(&'.') && digit(i + 1) {
        i += 2;
        while digit(i) {
            i += 1;
        }
    }
    // An exponent needs a character after its `e`; without digits the
    // number ends before the `e`.
    if matches!(s.get(i), Some('e' | 'E')) && i + 1 < s.len() {
        let e_start = i;
        i += 1;
        if matches!(s.get(i), Some('-' | '+')) && i + 1 < s.len() {
            i += 1;
        }
        while digit(i) {
            i += 1;
        }
        if !digit(i - 1) {
            i = e_start;
        }
    }
    Ok(i)
}

/// A string whose opening quote is just before `start`.
fn string(s: &[char], start: usize) -> Scan {
    let begin = start - 1;
    let unterminated = Fail::Error("Unterminated string starting at", begin);
    let mut i = start;
    loop {
        match s.get(i) {
            None => return Err(unterminated),
            Some('"') => return Ok(i + 1),
            Some('\\') => {}
            Some(&c) if c <= '\u{1f}' => return Err(Fail::Error("Invalid control character at", i)),
            Some(_) => {
                i += 1;
                continue;
            }
        }
        // An escape: `i` is at the backslash.
        let Some(&kind) = s.get(i + 1) else { return Err(unterminated) };
        if kind != 'u' {
            if !matches!(kind, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') {
                return Err(Fail::Error("Invalid \\escape", i));
            }
            i += 2;
            continue;
        }
        let u = i + 1;
        let bad_u = Fail::Error("Invalid \\uXXXX escape", u);
        // Four digits and, after them, at least the closing quote.
        if u + 5 >= s.len() {
            return Err(bad_u);
        }
        let code = hex4(s, u + 1).ok_or(bad_u)?;
        i = u + 5;
        // A high surrogate takes a following `\uXXXX` when one fits.
        if (0xD800..0xDC00).contains(&code) && i + 6 < s.len() && s[i] == '\\' && s[i + 1] == 'u' {
            hex4(s, i + 2).ok_or(Fail::Error("Invalid \\uXXXX escape", i + 1))?;
            i += 6;
        }
    }
}

fn hex4(s: &[char], at: usize) -> Option<u32> {
    s[at..at + 4].iter().try_fold(0u32, |acc, c| c.to_digit(16).map(|d| acc * 16 + d))
}

fn object(s: &[char], start: usize, depth: usize) -> Scan {
    let mut i = skip_space(s, start);
    if s.get(i) == Some(&'}') {
        return Ok(i + 1);
    }
    loop {
        if s.get(i) != Some(&'"') {
            return Err(Fail::Error("Expecting property name enclosed in double quotes", i));
        }
        i = skip_space(s, string(s, i + 1)?);
        if s.get(i) != Some(&':') {
            return Err(Fail::Error("Expecting ':' delimiter", i));
        }
        i = skip_space(s, value(s, skip_space(s, i + 1), depth)?);
        match s.get(i) {
            Some('}') => return Ok(i + 1),
            Some(',') => i = skip_space(s, i + 1),
            _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
        }
    }
}

fn array(s: &[char], start: usize, depth: usize) -> Scan {
    let mut i = skip_space(s, start);
    if s.get(i) == Some(&']') {
        return Ok(i + 1);
    }
    loop {
        i = skip_space(s, value(s, i, depth)?);
        match s.get(i) {
            Some(']') => return Ok(i + 1),
            Some(',') => i = skip_space(s, i + 1),
            _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::malformed_reason;

    /// Each body with the message Python 3.11's `json.loads` raises for it.
    #[test]
    fn reasons_are_pythons() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "Expecting value: line 1 column 1 (char 0)"),
            (b"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            (b"{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)"),
            (b"{\"a\": 1 \"b\": 2}", "Expecting ',' delimiter: line 1 column 9 (char 8)"),
            (b"{\"a\": 1,}", "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)"),
            (b"{\"a\":}", "Expecting value: line 1 column 6 (char 5)"),
            (b"[1, 2", "Expecting ',' delimiter: line 1 column 6 (char 5)"),
            (b"[1,]", "Expecting value: line 1 column 4 (char 3)"),
            (b"{}\n x", "Extra data: line 2 column 2 (char 4)"),
            (b"{'a': 1}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            (b"\"abc", "Unterminated string starting at: line 1 column 1 (char 0)"),
            (b"\"a\tb\"", "Invalid control character at: line 1 column 3 (char 2)"),
            (b"\"a\\xb\"", "Invalid \\escape: line 1 column 3 (char 2)"),
            (b"\"\\u12x4\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            (b"\"\\u12\"", "Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            (b"-", "Expecting value: line 1 column 1 (char 0)"),
            (b"01", "Extra data: line 1 column 2 (char 1)"),
            (b"1.e5", "Extra data: line 1 column 2 (char 1)"),
            (b"tru", "Expecting value: line 1 column 1 (char 0)"),
            ("\u{feff}{}".as_bytes(), "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
            ("{\"é\": x}".as_bytes(), "Expecting value: line 1 column 7 (char 6)"),
            (b"\xff{}", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
            (b"{\"a\xe2\x28\xa1\"}", "'utf-8' codec can't decode byte 0xe2 in position 3: invalid continuation byte"),
            (b"\"\xe2\x82", "'utf-8' codec can't decode bytes in position 1-2: unexpected end of data"),
        ];
        for (body, want) in cases {
            assert_eq!(malformed_reason(body).as_deref(), Some(*want), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn what_python_parses_leaves_the_reason_to_the_caller() {
        for body in ["NaN", "[-Infinity]", "{\"a\": \"\\ud800\"}", "1e400", "{\"a\": [1.5e3, true, null]}"] {
            assert_eq!(malformed_reason(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn hostile_nesting_is_no_stack_overflow() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(malformed_reason(deep.as_bytes()), None);
    }
}
