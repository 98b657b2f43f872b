//! Python `repr` and `pprint` renderings of JSON values, for error messages
//! that read exactly like upstream's (which come from Python's jsonschema).

use serde_json::Value;

/// Longest rendering of a client's value put in an error message: past it
/// the text ends in `...`. Upstream prints the whole value, whatever its
/// size; messages are identical for any value shorter than this.
pub const MAX_RENDERED: usize = 4096;

/// `repr()` of the Python value this JSON value loads as, cut after
/// [`MAX_RENDERED`] characters.
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    if !repr_into(value, &mut out, MAX_RENDERED) {
        out.push_str("...");
    }
    out
}

/// Append `repr(value)`; false (and stop) once `out` passes `limit`.
fn repr_into(value: &Value, out: &mut String, limit: usize) -> bool {
    if out.len() > limit {
        return false;
    }
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => float_repr(f),
            _ => n.to_string(),
        }),
        Value::String(s) => {
            let room = limit.saturating_sub(out.len()).saturating_add(1);
            if s.len() > room {
                // Only the part that can show.
                let cut = (0..=room).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                out.push_str(&str_repr(&s[..cut]));
                return false;
            }
            out.push_str(&str_repr(s));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if !repr_into(item, out, limit) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&str_repr(k));
                out.push_str(": ");
                if !repr_into(v, out, limit) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    out.len() <= limit
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{f}");
        if plain.contains('.') { plain } else { format!("{plain}.0") }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote
/// and no double quote.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `pprint.pformat(value, width=72, sort_dicts=False)`, continuation lines
/// indented by `indent` spaces as jsonschema indents them; cut after
/// [`MAX_RENDERED`] characters.
pub fn pretty(value: &Value, indent: usize) -> String {
    pretty_up_to(value, indent, MAX_RENDERED)
}

/// [`pretty`] of one of our own schemas, whole whatever its size, as
/// upstream prints it (only clients' values are cut).
pub fn pretty_schema(schema: &Value, indent: usize) -> String {
    pretty_up_to(schema, indent, usize::MAX)
}

fn pretty_up_to(value: &Value, indent: usize, limit: usize) -> String {
    let mut out = String::new();
    if !format_into(value, indent, 72, &mut out, limit) {
        out.push_str("...");
    }
    out
}

/// False (and stop) once `out` passes `limit`.
fn format_into(value: &Value, indent: usize, width: usize, out: &mut String, limit: usize) -> bool {
    if out.len() > limit {
        return false;
    }
    let column = indent + out.rsplit('\n').next().map_or(0, |l| l.len().saturating_sub(indent));
    // Whether it fits on the line: render at most that much to find out.
    let mut flat = String::new();
    let fits = repr_into(value, &mut flat, width.saturating_sub(column)) && flat.len() + column <= width;
    if fits {
        out.push_str(&flat);
        return true;
    }
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            let inner = column + 1;
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                    out.push_str(&" ".repeat(inner));
                }
                let key = format!("{}: ", str_repr(k));
                out.push_str(&key);
                if !format_into(v, inner + key.len(), width, out, limit) {
                    return false;
                }
            }
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            let inner = column + 1;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                    out.push_str(&" ".repeat(inner));
                }
                if !format_into(v, inner, width, out, limit) {
                    return false;
                }
            }
            out.push(']');
        }
        _ => {
            flat.clear();
            if !repr_into(value, &mut flat, limit) {
                out.push_str(&flat);
                return false;
            }
            out.push_str(&flat);
        }
    }
    out.len() <= limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_read_like_python() {
        assert_eq!(repr(&json!(null)), "None");
        assert_eq!(repr(&json!(true)), "True");
        assert_eq!(repr(&json!(5)), "5");
        assert_eq!(repr(&json!(1.0)), "1.0");
        assert_eq!(repr(&json!(0.5)), "0.5");
        assert_eq!(repr(&json!(1e20)), "1e+20");
        assert_eq!(repr(&json!(1.5e-7)), "1.5e-07");
        assert_eq!(repr(&json!("it's")), "\"it's\"");
        assert_eq!(repr(&json!("x")), "'x'");
    }

    #[test]
    fn containers_read_like_python() {
        assert_eq!(repr(&json!({"name": "x", "foo": [1, null]})), "{'name': 'x', 'foo': [1, None]}");
    }

    #[test]
    fn huge_values_are_cut() {
        let big = Value::Array((0..100_000).map(|i| json!({"n": i})).collect());
        let r = repr(&big);
        assert!(r.len() <= MAX_RENDERED + 64 && r.ends_with("..."), "{}", r.len());
        let p = pretty(&big, 4);
        assert!(p.len() <= MAX_RENDERED + 128 && p.ends_with("..."), "{}", p.len());
        let deep = (0..100).fold(json!("x".repeat(10_000)), |v, _| json!([v]));
        assert!(pretty(&deep, 4).len() <= MAX_RENDERED + 512);
        assert!(repr(&json!("y".repeat(1_000_000))).len() <= MAX_RENDERED + 8);
    }

    #[test]
    fn schemas_are_printed_whole() {
        let mut fields: serde_json::Map<_, _> =
            (0..200).map(|i| (format!("field_{i}"), json!({"type": "integer"}))).collect();
        fields.insert("long".into(), json!("p".repeat(100)));
        let schema = json!({"properties": fields});
        let text = pretty_schema(&schema, 4);
        assert!(text.len() > MAX_RENDERED && text.ends_with(&format!("'long': '{}'}}}}", "p".repeat(100))), "{text}");
    }

    #[test]
    fn long_dicts_wrap_one_entry_per_line() {
        let v = json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 200},
                       "uuid": {"type": "string", "format": "uuid"}}, "required": ["name"],
                       "additionalProperties": false});
        let text = pretty(&v, 4);
        assert!(text.starts_with("{'type': 'object',\n"), "{text}");
        assert!(text.contains("'additionalProperties': False}"), "{text}");
    }
}
