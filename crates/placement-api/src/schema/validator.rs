//! A JSON Schema validator for the keywords Placement's request schemas
//! use, reporting the error Python's jsonschema would pick (`best_match`)
//! in the same words, so 400 responses read like upstream's.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use serde_json::{Map, Value};

use super::pyrepr::{pretty, pretty_schema, repr, str_repr};

/// A schema pattern, compiled once: the schemas are fixed, so the cache
/// stays small, and compiling costs more than most requests. Shared, not
/// cloned: a clone of a `Regex` starts without its search caches, and
/// building them cost more than the rest of a body's validation.
fn compiled(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = cache.get(pattern) {
        return known.clone();
    }
    let re = Regex::new(pattern).ok().map(Arc::new);
    cache.insert(pattern.to_string(), re.clone());
    re
}

/// One step of a path into an instance or a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn render(&self) -> String {
        match self {
            Step::Key(k) => format!("[{}]", str_repr(k)),
            Step::Index(i) => format!("[{i}]"),
        }
    }
}

impl PartialOrd for Step {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Step {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Step::Key(a), Step::Key(b)) => a.cmp(b),
            (Step::Index(a), Step::Index(b)) => a.cmp(b),
            (Step::Index(_), Step::Key(_)) => Ordering::Less,
            (Step::Key(_), Step::Index(_)) => Ordering::Greater,
        }
    }
}

/// A validation failure, with what `str(ValidationError)` shows. It
/// borrows the schema and the instance: a large body with many errors is
/// never copied per error.
#[derive(Clone, Debug)]
pub struct SchemaError<'a> {
    pub message: String,
    pub keyword: String,
    pub path: Vec<Step>,
    pub schema_path: Vec<Step>,
    pub schema: &'a Value,
    pub instance: &'a Value,
    context: Vec<SchemaError<'a>>,
}

impl SchemaError<'_> {
    /// The full text of Python's `str(ValidationError)`.
    pub fn describe(&self) -> String {
        let schema_at: String = self.schema_path.iter().map(Step::render).collect();
        let instance_at: String = self.path.iter().map(Step::render).collect();
        format!(
            "{}\n\nFailed validating {} in schema{}:\n    {}\n\nOn instance{}:\n    {}",
            self.message,
            str_repr(&self.keyword),
            schema_at,
            pretty_schema(self.schema, 4),
            instance_at,
            pretty(self.instance, 4)
        )
    }

    /// jsonschema's relevance key; larger is more relevant.
    fn relevance(&self) -> (isize, Vec<Step>, bool, bool) {
        let weak = matches!(self.keyword.as_str(), "anyOf" | "oneOf");
        (-(self.path.len() as isize), self.path.clone(), !weak, !matches_type(self.instance, self.schema))
    }
}

/// Which strings the `uuid` format takes. Upstream checks bodies with its
/// own checker (oslo's `is_uuid_like`: also 32 bare hex digits, braces,
/// `urn:uuid:`) and query strings with a plain jsonschema one (a UUID with
/// its dashes where the canonical form has them).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UuidFormat {
    Body,
    Query,
}

/// Validate a request body and return the error jsonschema's
/// `best_match` would report.
pub fn validate<'a>(instance: &'a Value, schema: &'a Value) -> Result<(), Box<SchemaError<'a>>> {
    validate_as(instance, schema, UuidFormat::Body)
}

/// As [`validate`], with the given `uuid` format.
pub fn validate_as<'a>(instance: &'a Value, schema: &'a Value, uuid: UuidFormat) -> Result<(), Box<SchemaError<'a>>> {
    let mut sink = Sink::Best(None);
    collect(instance, schema, &[], &[], &mut sink, uuid);
    match sink {
        Sink::Best(Some(best)) => Err(Box::new(best_in_context(best))),
        _ => Ok(()),
    }
}

/// Where errors go: every one (an anyOf's context, which best_match looks
/// into), or only the one best_match would pick among the top-level
/// errors. The latter keeps no list, however many errors a large body
/// has, and skips subtrees too deep to beat the error it holds.
enum Sink<'a> {
    All(Vec<SchemaError<'a>>),
    Best(Option<SchemaError<'a>>),
}

impl<'a> Sink<'a> {
    fn push(&mut self, e: SchemaError<'a>) {
        match self {
            Sink::All(errors) => errors.push(e),
            // max() keeps the first of equals.
            Sink::Best(best) => {
                if best.as_ref().is_none_or(|b| e.relevance() > b.relevance()) {
                    *best = Some(e);
                }
            }
        }
    }

    /// Whether an error this deep could still be the one reported: the
    /// most relevant errors are the shallowest.
    fn wants(&self, depth: usize) -> bool {
        match self {
            Sink::Best(Some(best)) => depth <= best.path.len(),
            _ => true,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Sink::All(errors) => errors.is_empty(),
            Sink::Best(best) => best.is_none(),
        }
    }
}

/// jsonschema's descent into an anyOf's context: the least relevant of
/// its errors, unless two tie.
fn best_in_context(mut best: SchemaError<'_>) -> SchemaError<'_> {
    let mut parent: Option<(Vec<Step>, Vec<Step>)> = None;
    while !best.context.is_empty() {
        let mut ctx = std::mem::take(&mut best.context);
        ctx.sort_by_key(SchemaError::relevance);
        if ctx.len() >= 2 && ctx[0].relevance() == ctx[1].relevance() {
            best.context = ctx;
            break;
        }
        parent = Some((std::mem::take(&mut best.path), std::mem::take(&mut best.schema_path)));
        best = ctx.swap_remove(0);
    }
    // An error from a context prints its paths relative to the error that
    // holds it (jsonschema's relative_path and relative_schema_path): the
    // schema path starts at the option's index, after the `anyOf`.
    if let Some((path, schema_path)) = parent {
        best.path.drain(..path.len().min(best.path.len()));
        best.schema_path.drain(..(schema_path.len() + 1).min(best.schema_path.len()));
    }
    best
}

fn type_name_matches(instance: &Value, name: &str) -> bool {
    match name {
        "string" => instance.is_string(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "number" => instance.is_number(),
        "integer" => match instance {
            Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
            _ => false,
        },
        _ => false,
    }
}

fn matches_type(instance: &Value, schema: &Value) -> bool {
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => type_name_matches(instance, t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(|t| type_name_matches(instance, t)),
        Some(_) => true,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// jsonschema's own `uuid` format: a UUID Python would parse, with its
/// dashes where the canonical form has them.
fn is_uuid_format(s: &str) -> bool {
    placement_model::query::is_uuid_like(s) && [8, 13, 18, 23].iter().all(|&i| s.as_bytes().get(i) == Some(&b'-'))
}

/// Keywords that look into the instance's members or items: their errors
/// are deeper than the instance's own.
fn descends(keyword: &str, value: &Value) -> bool {
    matches!(keyword, "properties" | "patternProperties" | "items")
        || (keyword == "additionalProperties" && value.is_object())
}

/// Validate `instance` against `schema` into `sink`: first the keywords
/// about the instance itself, then (if errors that deep can still count)
/// those about its members. Errors of one depth keep their schema order,
/// which decides between equally relevant ones.
fn collect<'a>(
    instance: &'a Value,
    schema: &'a Value,
    path: &[Step],
    schema_path: &[Step],
    sink: &mut Sink<'a>,
    uuid: UuidFormat,
) {
    let Some(keywords) = schema.as_object() else {
        return;
    };
    let err = |keyword: &str, message: String| SchemaError {
        message,
        keyword: keyword.to_string(),
        path: path.to_vec(),
        schema_path: schema_path.to_vec(),
        schema,
        instance,
        context: Vec::new(),
    };
    let child = |extra: &[Step]| -> Vec<Step> { path.iter().cloned().chain(extra.iter().cloned()).collect() };
    let schild = |extra: &[Step]| -> Vec<Step> { schema_path.iter().cloned().chain(extra.iter().cloned()).collect() };
    for (keyword, value) in keywords.iter().filter(|(k, v)| !descends(k, v)) {
        match keyword.as_str() {
            "type" if !matches_type(instance, schema) => {
                let names = match value {
                    Value::Array(ts) => ts.iter().map(repr).collect::<Vec<_>>().join(", "),
                    other => repr(other),
                };
                sink.push(err("type", format!("{} is not of type {names}", repr(instance))));
            }
            "additionalProperties" => {
                if let (Some(obj), Value::Bool(false)) = (instance.as_object(), value) {
                    let mut extras = additional_properties(obj, keywords);
                    if !extras.is_empty() {
                        extras.sort();
                        let joined = extras.iter().map(|e| str_repr(e)).collect::<Vec<_>>().join(", ");
                        let message = match keywords.get("patternProperties").and_then(Value::as_object) {
                            Some(patterns) => {
                                let verb = if extras.len() == 1 { "does" } else { "do" };
                                let mut pats: Vec<&String> = patterns.keys().collect();
                                pats.sort();
                                let pats = pats.iter().map(|p| str_repr(p)).collect::<Vec<_>>().join(", ");
                                format!("{joined} {verb} not match any of the regexes: {pats}")
                            }
                            None => {
                                let verb = if extras.len() == 1 { "was" } else { "were" };
                                format!("Additional properties are not allowed ({joined} {verb} unexpected)")
                            }
                        };
                        sink.push(err("additionalProperties", cut(message)));
                    }
                }
            }
            "required" => {
                if let (Some(obj), Some(names)) = (instance.as_object(), value.as_array()) {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(name) {
                            sink.push(err("required", format!("{} is a required property", str_repr(name))));
                        }
                    }
                }
            }
            "anyOf" => {
                if let Some(options) = value.as_array() {
                    let mut context = Sink::All(Vec::new());
                    let mut ok = false;
                    for (i, option) in options.iter().enumerate() {
                        let mut sub = Sink::All(Vec::new());
                        collect(
                            instance,
                            option,
                            path,
                            &schild(&[Step::Key("anyOf".into()), Step::Index(i)]),
                            &mut sub,
                            uuid,
                        );
                        if sub.is_empty() {
                            ok = true;
                            break;
                        }
                        if let (Sink::All(all), Sink::All(more)) = (&mut context, sub) {
                            all.extend(more);
                        }
                    }
                    if !ok {
                        let mut e =
                            err("anyOf", format!("{} is not valid under any of the given schemas", repr(instance)));
                        if let Sink::All(all) = context {
                            e.context = all;
                        }
                        sink.push(e);
                    }
                }
            }
            k => {
                if let Some(message) = check_scalar(k, instance, value, uuid) {
                    sink.push(err(k, message));
                }
            }
        }
    }
    if !sink.wants(path.len() + 1) {
        return;
    }
    for (keyword, value) in keywords.iter().filter(|(k, v)| descends(k, v)) {
        match keyword.as_str() {
            "properties" => {
                if let (Some(obj), Some(props)) = (instance.as_object(), value.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = obj.get(name) {
                            let (p, sp) = (
                                child(&[Step::Key(name.clone())]),
                                schild(&[Step::Key("properties".into()), Step::Key(name.clone())]),
                            );
                            collect(v, sub, &p, &sp, sink, uuid);
                        }
                    }
                }
            }
            "patternProperties" => {
                if let (Some(obj), Some(patterns)) = (instance.as_object(), value.as_object()) {
                    for (pattern, sub) in patterns {
                        let Some(re) = compiled(pattern) else {
                            continue;
                        };
                        let sp = schild(&[Step::Key("patternProperties".into()), Step::Key(pattern.clone())]);
                        for (k, v) in obj.iter().filter(|(k, _)| re.is_match(k)) {
                            collect(v, sub, &child(&[Step::Key(k.clone())]), &sp, sink, uuid);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = instance.as_object() {
                    let sp = schild(&[Step::Key("additionalProperties".into())]);
                    for k in additional_properties(obj, keywords) {
                        collect(&obj[k.as_str()], value, &child(&[Step::Key(k.clone())]), &sp, sink, uuid);
                    }
                }
            }
            "items" => {
                if let Some(items) = instance.as_array() {
                    let sp = schild(&[Step::Key("items".into())]);
                    for (i, item) in items.iter().enumerate() {
                        collect(item, value, &child(&[Step::Index(i)]), &sp, sink, uuid);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A message listing client-chosen names, cut to a bounded length.
fn cut(mut message: String) -> String {
    if message.len() > super::pyrepr::MAX_RENDERED {
        let end = (0..=super::pyrepr::MAX_RENDERED).rev().find(|i| message.is_char_boundary(*i)).unwrap_or(0);
        message.truncate(end);
        message.push_str("...");
    }
    message
}

/// Keywords that test one value and yield at most one message.
fn check_scalar(keyword: &str, instance: &Value, value: &Value, uuid: UuidFormat) -> Option<String> {
    let sized = |min: u64, short: &str| if min == 1 { "should be non-empty" } else { short }.to_string();
    match keyword {
        "minProperties" => {
            let (obj, min) = (instance.as_object()?, value.as_u64()?);
            ((obj.len() as u64) < min)
                .then(|| format!("{} {}", repr(instance), sized(min, "does not have enough properties")))
        }
        "minItems" => {
            let (items, min) = (instance.as_array()?, value.as_u64()?);
            ((items.len() as u64) < min).then(|| format!("{} {}", repr(instance), sized(min, "is too short")))
        }
        "uniqueItems" if value == &Value::Bool(true) => {
            let items = instance.as_array()?;
            has_duplicates(items).then(|| format!("{} has non-unique elements", repr(instance)))
        }
        "minLength" => {
            let (text, min) = (instance.as_str()?, value.as_u64()?);
            ((text.chars().count() as u64) < min).then(|| format!("{} {}", repr(instance), sized(min, "is too short")))
        }
        "maxLength" => {
            let (text, max) = (instance.as_str()?, value.as_u64()?);
            let what = if max == 0 { "is expected to be empty" } else { "is too long" };
            ((text.chars().count() as u64) > max).then(|| format!("{} {what}", repr(instance)))
        }
        "pattern" => {
            let (text, pattern) = (instance.as_str()?, value.as_str()?);
            let re = compiled(pattern)?;
            (!re.is_match(text)).then(|| format!("{} does not match {}", repr(instance), str_repr(pattern)))
        }
        "minimum" => {
            let (n, min) = (number_not_bool(instance)?, number(value)?);
            (n < min).then(|| format!("{} is less than the minimum of {}", repr(instance), repr(value)))
        }
        "maximum" => {
            let (n, max) = (number_not_bool(instance)?, number(value)?);
            (n > max).then(|| format!("{} is greater than the maximum of {}", repr(instance), repr(value)))
        }
        "enum" => {
            let options = value.as_array()?;
            (!options.contains(instance)).then(|| format!("{} is not one of {}", repr(instance), repr(value)))
        }
        "format" if value.as_str() == Some("uuid") => {
            let text = instance.as_str()?;
            let valid = match uuid {
                UuidFormat::Body => placement_model::query::is_uuid_like(text),
                UuidFormat::Query => is_uuid_format(text),
            };
            (!valid).then(|| format!("{} is not a 'uuid'", repr(instance)))
        }
        _ => None,
    }
}

/// Whether two items are equal (as `Value`s compare), in linear time: each
/// item's canonical text (object keys sorted) goes in a hash set.
fn has_duplicates(items: &[Value]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut text = String::new();
    for item in items {
        text.clear();
        canonical(item, &mut text);
        if !seen.insert(text.clone()) {
            return true;
        }
    }
    false
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k.as_str()], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn number_not_bool(v: &Value) -> Option<f64> {
    if v.is_boolean() { None } else { number(v) }
}

fn additional_properties(obj: &Map<String, Value>, keywords: &Map<String, Value>) -> Vec<String> {
    let props = keywords.get("properties").and_then(Value::as_object);
    let patterns: Vec<Arc<Regex>> = keywords
        .get("patternProperties")
        .and_then(Value::as_object)
        .map(|p| p.keys().filter_map(|k| compiled(k)).collect())
        .unwrap_or_default();
    obj.keys()
        .filter(|k| !props.is_some_and(|p| p.contains_key(*k)))
        .filter(|k| !patterns.iter().any(|re| re.is_match(k)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An error's message and full text, owned.
    struct Failure {
        message: String,
        text: String,
    }

    impl Failure {
        fn describe(&self) -> &str {
            &self.text
        }
    }

    fn check(instance: &Value, schema: &Value) -> Result<(), Failure> {
        validate(instance, schema).map_err(|e| Failure { message: e.message.clone(), text: e.describe() })
    }

    fn provider_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "uuid": {"type": "string", "format": "uuid"}
            },
            "required": ["name"],
            "additionalProperties": false
        })
    }

    #[test]
    fn type_errors_name_the_path() {
        let e = check(&json!({"name": 5}), &provider_schema()).unwrap_err();
        assert_eq!(e.message, "5 is not of type 'string'");
        let text = e.describe();
        assert!(text.contains("Failed validating 'type' in schema['properties']['name']:"), "{text}");
        assert!(text.contains("On instance['name']:\n    5"), "{text}");
    }

    #[test]
    fn shallow_errors_win_over_deep_ones() {
        let e = check(&json!({"name": 5, "foo": 1}), &provider_schema()).unwrap_err();
        assert_eq!(e.message, "Additional properties are not allowed ('foo' was unexpected)");
        let e = check(&json!({"uuid": "nope"}), &provider_schema()).unwrap_err();
        assert_eq!(e.message, "'name' is a required property");
    }

    #[test]
    fn format_pattern_and_bounds() {
        let e = check(&json!({"name": "x", "uuid": "nope"}), &provider_schema()).unwrap_err();
        assert_eq!(e.message, "'nope' is not a 'uuid'");
        for refused in ["5e08ea53c4c6448e9334ac4953de3cfa", "{5e08ea53-c4c6-448e-9334-ac4953de3cfa}"] {
            assert!(!is_uuid_format(refused), "{refused}");
        }
        assert!(is_uuid_format("5E08EA53-C4C6-448E-9334-AC4953DE3CFA"));
        let s = json!({"type": "integer", "minimum": 1, "maximum": 2147483647});
        assert_eq!(check(&json!(0), &s).unwrap_err().message, "0 is less than the minimum of 1");
        assert!(check(&json!(5.0), &s).is_ok(), "integral floats are integers");
        assert!(check(&json!(true), &s).is_err(), "booleans are not integers");
        let p = json!({"type": "string", "pattern": "^[A-Z0-9_]+$"});
        assert_eq!(check(&json!("instance"), &p).unwrap_err().message, "'instance' does not match '^[A-Z0-9_]+$'");
    }

    #[test]
    fn unique_items_in_linear_time() {
        let s = json!({"type": "array", "uniqueItems": true});
        let many: Vec<Value> = (0..30_000).map(|i| json!(format!("{i:08x}-0000-4000-8000-000000000000"))).collect();
        let started = std::time::Instant::now();
        assert!(check(&Value::Array(many.clone()), &s).is_ok());
        // Quadratic pairwise checking took seconds here; this takes ms.
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        let mut dup = many;
        dup.push(json!("00000007-0000-4000-8000-000000000000"));
        let e = check(&Value::Array(dup), &s).unwrap_err();
        assert!(e.message.ends_with("has non-unique elements"));
        assert!(e.message.len() < 5000, "the message is cut: {}", e.message.len());
        assert!(check(&json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}]), &s).is_err(), "key order does not matter");
        assert!(check(&json!([1, 1.0, true, "1"]), &s).is_ok(), "as Values compare");
    }

    #[test]
    fn errors_on_a_huge_body_stay_small() {
        let body = json!({"name": "x", "junk": "y".repeat(5_000_000)});
        let e = check(&body, &provider_schema()).unwrap_err();
        assert!(e.describe().len() < 20_000, "{}", e.describe().len());
    }

    #[test]
    fn pattern_properties_and_any_of() {
        let s = json!({"type": "object", "patternProperties": {"^[A-Z]+$": {"type": "integer"}},
                       "additionalProperties": false});
        assert_eq!(
            check(&json!({"bad": 1}), &s).unwrap_err().message,
            "'bad' does not match any of the regexes: '^[A-Z]+$'"
        );
        let e = check(&json!({"A": "x"}), &s).unwrap_err();
        assert!(e.describe().contains("schema['patternProperties']['^[A-Z]+$']"));
        let any = json!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]});
        assert!(check(&json!(null), &any).is_ok());
        assert_eq!(check(&json!(5), &any).unwrap_err().message, "5 is not valid under any of the given schemas");
        // An error picked from an anyOf's context: paths relative to it.
        let nested = json!({"type": "object", "properties": {"parent": any}});
        let body = json!({"parent": "1"});
        let text = check(&body, &nested).unwrap_err().text;
        assert!(text.starts_with("'1' is not a 'uuid'\n\nFailed validating 'format' in schema[0]:\n"), "{text}");
        assert!(text.ends_with("\n\nOn instance:\n    '1'"), "{text}");
    }
}
