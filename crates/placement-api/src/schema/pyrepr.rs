//! Python `repr` and `pprint` renderings of JSON values, for error messages
//! that read exactly like upstream's (which come from Python's jsonschema).

use serde_json::Value;

/// `repr()` of the Python value this JSON value loads as.
pub fn repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => str_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", str_repr(k), repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
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
/// indented by `indent` spaces as jsonschema indents them.
pub fn pretty(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    format_into(value, indent, 72, &mut out);
    out
}

fn format_into(value: &Value, indent: usize, width: usize, out: &mut String) {
    let flat = repr(value);
    let column = indent + out.rsplit('\n').next().map_or(0, |l| l.len().saturating_sub(indent));
    if flat.len() + column <= width {
        out.push_str(&flat);
        return;
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
                format_into(v, inner + key.len(), width, out);
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
                format_into(v, inner, width, out);
            }
            out.push(']');
        }
        _ => out.push_str(&flat),
    }
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
    fn long_dicts_wrap_one_entry_per_line() {
        let v = json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 200},
                       "uuid": {"type": "string", "format": "uuid"}}, "required": ["name"],
                       "additionalProperties": false});
        let text = pretty(&v, 4);
        assert!(text.starts_with("{'type': 'object',\n"), "{text}");
        assert!(text.contains("'additionalProperties': False}"), "{text}");
    }
}
