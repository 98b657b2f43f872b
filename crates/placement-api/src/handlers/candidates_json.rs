//! The `GET /allocation_candidates` body, written straight into a string:
//! answers run to megabytes, and writing them directly costs a fraction of
//! serde's generic path. The shape is the one `CandidatesBody` documents.

use std::collections::BTreeSet;

use placement_model::candidates::{Candidate, ClassId, ProviderId, ProviderNode, Solution};
use placement_model::microversion::Microversion;
use placement_storage::candidates::Prepared;

/// The body when nothing can match.
pub const EMPTY: &str = r#"{"allocation_requests":[],"provider_summaries":{}}"#;

/// The body for `solution`, at version `v`.
pub fn write(v: Microversion, prepared: &Prepared, solution: &Solution) -> String {
    // About 250 bytes per candidate and 250 per summary in common answers.
    let mut w = Writer { out: String::with_capacity(256 * (solution.candidates.len() + solution.summaries.len())), v };
    w.out.push_str(r#"{"allocation_requests":["#);
    for (i, candidate) in solution.candidates.iter().enumerate() {
        w.comma(i);
        w.allocation_request(prepared, candidate);
    }
    w.out.push_str(r#"],"provider_summaries":{"#);
    // Before 1.27, summaries show only the requested classes.
    let requested: Option<BTreeSet<ClassId>> = (!v.at_least(27))
        .then(|| prepared.request.groups.iter().flat_map(|g| g.resources.iter().map(|r| r.0)).collect());
    let providers = solution.summaries.iter().filter_map(|rp| prepared.snapshot.providers.get(rp));
    for (i, provider) in providers.enumerate() {
        w.comma(i);
        w.string(&provider.uuid);
        w.out.push(':');
        w.summary(prepared, provider, requested.as_ref());
    }
    w.out.push_str("}}");
    w.out
}

struct Writer {
    out: String,
    v: Microversion,
}

impl Writer {
    fn comma(&mut self, index: usize) {
        if index > 0 {
            self.out.push(',');
        }
    }

    /// A JSON string; names and uuids never need escaping, but anything
    /// stored in the database could.
    fn string(&mut self, s: &str) {
        if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            self.out.push_str(&serde_json::Value::from(s).to_string());
        } else {
            self.out.push('"');
            self.out.push_str(s);
            self.out.push('"');
        }
    }

    fn key(&mut self, s: &str) {
        self.string(s);
        self.out.push(':');
    }

    fn number(&mut self, n: i64) {
        self.out.push_str(itoa::Buffer::new().format(n));
    }

    /// `{class: amount}` for one provider's claims.
    fn amounts(&mut self, prepared: &Prepared, claims: &[(ProviderId, ClassId, i64)]) {
        self.out.push('{');
        for (i, (_, class, amount)) in claims.iter().enumerate() {
            self.comma(i);
            self.key(prepared.names.classes.get(class).map_or("", String::as_str));
            self.number(*amount);
        }
        self.out.push('}');
    }

    /// One candidate as `PUT /allocations` takes it: a list of allocations
    /// before 1.12, a dict by provider after, with mappings from 1.34.
    fn allocation_request(&mut self, prepared: &Prepared, c: &Candidate) {
        let snap = &prepared.snapshot;
        // The candidate's claims are sorted by provider, then class.
        let by_provider = c.resources.chunk_by(|a, b| a.0 == b.0);
        if !self.v.at_least(12) {
            self.out.push_str(r#"{"allocations":["#);
            for (i, claims) in by_provider.enumerate() {
                self.comma(i);
                self.out.push_str(r#"{"resource_provider":{"uuid":"#);
                self.string(snap.uuid(claims[0].0));
                self.out.push_str(r#"},"resources":"#);
                self.amounts(prepared, claims);
                self.out.push('}');
            }
            self.out.push_str("]}");
            return;
        }
        self.out.push_str(r#"{"allocations":{"#);
        for (i, claims) in by_provider.enumerate() {
            self.comma(i);
            self.key(snap.uuid(claims[0].0));
            self.out.push_str(r#"{"resources":"#);
            self.amounts(prepared, claims);
            self.out.push('}');
        }
        self.out.push('}');
        if self.v.at_least(34) {
            self.out.push_str(r#","mappings":{"#);
            // Sorted by group, so each group's providers are adjacent.
            for (i, served) in c.mappings.chunk_by(|a, b| a.0 == b.0).enumerate() {
                self.comma(i);
                let group = prepared.request.groups.get(usize::from(served[0].0));
                self.key(group.map_or("", |g| g.suffix.as_str()));
                self.out.push('[');
                for (j, (_, rp)) in served.iter().enumerate() {
                    self.comma(j);
                    self.string(snap.uuid(*rp));
                }
                self.out.push(']');
            }
            self.out.push('}');
        }
        self.out.push('}');
    }

    /// One provider's summary: resources, traits from 1.17, parent and
    /// root from 1.29.
    fn summary(&mut self, prepared: &Prepared, p: &ProviderNode, only: Option<&BTreeSet<ClassId>>) {
        let Prepared { snapshot: snap, names, .. } = prepared;
        self.out.push_str(r#"{"resources":{"#);
        let inventory = snap.inventory.range((p.id, ClassId::MIN)..=(p.id, ClassId::MAX));
        let shown = inventory.filter(|((_, rc), _)| only.is_none_or(|only| only.contains(rc)));
        for (i, ((_, rc), cap)) in shown.enumerate() {
            self.comma(i);
            self.key(names.classes.get(rc).map_or("", String::as_str));
            self.out.push_str(r#"{"capacity":"#);
            self.number(cap.capacity());
            self.out.push_str(r#","used":"#);
            self.number(cap.used);
            self.out.push('}');
        }
        self.out.push('}');
        if self.v.at_least(17) {
            self.out.push_str(r#","traits":["#);
            for (i, name) in snap.traits_of(p.id).filter_map(|t| names.traits.get(t)).enumerate() {
                self.comma(i);
                self.string(name);
            }
            self.out.push(']');
        }
        if self.v.at_least(29) {
            self.out.push_str(r#","parent_provider_uuid":"#);
            match p.parent {
                Some(parent) => self.string(snap.uuid(parent)),
                None => self.out.push_str("null"),
            }
            self.out.push_str(r#","root_provider_uuid":"#);
            self.string(snap.uuid(p.root));
        }
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        let mut w = Writer { out: String::new(), v: Microversion::new(1, 39) };
        w.string("plain-uuid");
        w.out.push(',');
        w.string("a\"b\\c\nd");
        assert_eq!(w.out, r#""plain-uuid","a\"b\\c\nd""#);
        let parsed: serde_json::Value = serde_json::from_str(&format!("[{}]", w.out)).unwrap_or_default();
        assert_eq!(parsed[1], "a\"b\\c\nd");
    }

    #[test]
    fn numbers_are_plain_integers() {
        let mut w = Writer { out: String::new(), v: Microversion::new(1, 39) };
        w.number(-12);
        w.number(0);
        w.number(i64::MAX);
        assert_eq!(w.out, format!("-120{}", i64::MAX));
    }
}
