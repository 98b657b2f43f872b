//! What changed from each microversion to the next, read off the
//! documents themselves: operations, query parameters, request bodies,
//! statuses and response fields. A machine-checked counterpart of
//! upstream's REST API version history.

use std::collections::BTreeSet;

use serde_json::Value;

/// The changelog of the documents, oldest first, as Markdown.
pub fn changelog(documents: &[(placement_model::Microversion, Value)]) -> String {
    let mut out = String::from(
        "# Changes between microversions\n\nGenerated from the OpenAPI documents in this folder \
         (`make openapi`); do not edit.\n",
    );
    for pair in documents.windows(2) {
        let ((_, before), (version, after)) = (&pair[0], &pair[1]);
        let lines = differences(before, after);
        out.push_str(&format!("\n## {version}\n\n"));
        if lines.is_empty() {
            out.push_str("- No change visible in the documents (a change of behaviour only).\n");
        }
        for line in lines {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out
}

type Operations = Vec<(String, Value)>;

fn operations(doc: &Value) -> Operations {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((format!("{} {path}", method.to_ascii_uppercase()), op.clone()));
        }
    }
    out
}

fn differences(before: &Value, after: &Value) -> Vec<String> {
    let (old, new) = (operations(before), operations(after));
    let mut lines = Vec::new();
    for (name, _) in &new {
        if !old.iter().any(|(n, _)| n == name) {
            lines.push(format!("added `{name}`"));
        }
    }
    for (name, _) in &old {
        if !new.iter().any(|(n, _)| n == name) {
            lines.push(format!("removed `{name}`"));
        }
    }
    for (name, op) in &new {
        let Some((_, was)) = old.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let (p0, p1) = (query_names(was), query_names(op));
        for p in p1.difference(&p0) {
            lines.push(format!("`{name}`: new query parameter `{p}`"));
        }
        for p in p0.difference(&p1) {
            lines.push(format!("`{name}`: query parameter `{p}` removed"));
        }
        for p in p1.intersection(&p0) {
            let (q0, q1) = (query(was, p), query(op, p));
            if q0["schema"] != q1["schema"] {
                lines.push(format!("`{name}`: query parameter `{p}` changed"));
            } else if q0["description"] != q1["description"] {
                let now = q1["description"].as_str().unwrap_or_default();
                lines.push(format!("`{name}`: query parameter `{p}`, now: {now}"));
            }
        }
        let body = |o: &Value| o["requestBody"]["content"]["application/json"]["schema"].clone();
        match (body(was), body(op)) {
            (Value::Null, Value::Null) => {}
            (Value::Null, _) => lines.push(format!("`{name}`: takes a request body")),
            (_, Value::Null) => lines.push(format!("`{name}`: takes no request body")),
            (b0, b1) if b0 != b1 => lines.push(format!("`{name}`: request body {}", describe_change(&b0, &b1))),
            _ => {}
        }
        let statuses = |o: &Value| -> BTreeSet<String> {
            o["responses"].as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default()
        };
        let (s0, s1) = (statuses(was), statuses(op));
        for s in s1.difference(&s0) {
            lines.push(format!("`{name}`: may answer {s}"));
        }
        for s in s0.difference(&s1) {
            lines.push(format!("`{name}`: no longer answers {s}"));
        }
    }
    let schemas = |d: &Value| d["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let (c0, c1) = (schemas(before), schemas(after));
    for (name, schema) in &c1 {
        if let Some(was) = c0.get(name)
            && was != schema
        {
            lines.push(format!("response schema `{name}`: {}", describe_change(was, schema)));
        }
    }
    if before["components"]["headers"] != after["components"]["headers"] {
        lines.push("response headers changed".into());
    }
    lines.extend(header_changes(&old, &new));
    lines
}

fn query_names(op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

fn query(op: &Value, name: &str) -> Value {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["in"] == "query" && p["name"] == name)
        .cloned()
        .unwrap_or_default()
}

/// Which top-level fields came or went, else "changed".
fn describe_change(before: &Value, after: &Value) -> String {
    let fields = |s: &Value| -> BTreeSet<String> {
        s["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
    };
    let required = |s: &Value| -> BTreeSet<String> {
        s["required"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_string)).collect()
    };
    let (f0, f1) = (fields(before), fields(after));
    let mut parts: Vec<String> = Vec::new();
    let added: Vec<String> = f1.difference(&f0).map(|f| format!("`{f}`")).collect();
    let removed: Vec<String> = f0.difference(&f1).map(|f| format!("`{f}`")).collect();
    if !added.is_empty() {
        parts.push(format!("adds {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("drops {}", removed.join(", ")));
    }
    let (r0, r1) = (required(before), required(after));
    let now_required: Vec<String> = r1.difference(&r0).map(|f| format!("`{f}`")).collect();
    if !now_required.is_empty() {
        parts.push(format!("requires {}", now_required.join(", ")));
    }
    if parts.is_empty() { "changed".to_string() } else { parts.join("; ") }
}

fn header_changes(old: &Operations, new: &Operations) -> Vec<String> {
    let headers = |ops: &Operations| -> BTreeSet<String> {
        ops.iter()
            .flat_map(|(_, op)| op["responses"].as_object().into_iter().flatten().map(|(_, r)| r))
            .flat_map(|r| r["headers"].as_object().map(|h| h.keys().cloned().collect::<Vec<_>>()).unwrap_or_default())
            .collect()
    };
    let (h0, h1) = (headers(old), headers(new));
    h1.difference(&h0).map(|h| format!("responses may carry `{h}`")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changelog_names_known_changes() {
        let text = changelog(&super::super::all());
        for expected in [
            "## 1.30\n\n- added `POST /reshaper`",
            "`PUT /allocations/{consumer_uuid}`: request body adds `consumer_generation`",
            "responses may carry `Last-Modified`",
            "`GET /allocation_candidates`: new query parameter `limit`",
            "`GET /allocation_candidates`: new query parameter `root_required`",
            "`POST /resource_providers`: may answer 200",
            "`PUT /resource_classes/{name}`: takes no request body",
            "## 1.32\n\n- `GET /resource_providers`: query parameter `member_of`, now:",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
