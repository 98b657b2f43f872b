//! The `GET /allocation_candidates` body, written straight into bytes:
//! answers run to megabytes, and writing them directly costs a fraction of
//! serde's generic path. The shape is the one `CandidatesBody` documents.
//! Each provider is looked up in the snapshot once, and each name made
//! into JSON once: an answer names each provider and class many times.

use std::collections::BTreeSet;

use placement_model::candidates::{
    Candidate, ClassId, FastMap, ProviderId, ProviderNode, Solution, TraitId, UuidText, is_json_plain,
};
use placement_model::microversion::Microversion;
use placement_storage::candidates::Prepared;

/// The body when nothing can match.
pub const EMPTY: &str = r#"{"allocation_requests":[],"provider_summaries":{}}"#;

/// The body for `solution`, at version `v`.
pub fn write(v: Microversion, prepared: &Prepared, solution: &Solution) -> Vec<u8> {
    let snap = &prepared.snapshot;
    // Every provider a candidate names is summarised.
    let nodes: FastMap<ProviderId, &ProviderNode> =
        solution.summaries.iter().filter_map(|rp| snap.providers.get(rp).map(|node| (*rp, node))).collect();
    let names = &prepared.names;
    let mut w = Writer {
        // About 250 bytes per candidate and 250 per summary in common answers.
        out: Vec::with_capacity(256 * (solution.candidates.len() + solution.summaries.len())),
        v,
        prepared,
        nodes,
        classes: names.classes.iter().map(|(id, name)| (*id, quoted(name))).collect(),
        traits: FastMap::default(),
        suffixes: prepared.request.groups.iter().map(|g| quoted(&g.suffix)).collect(),
    };
    w.out.extend_from_slice(br#"{"allocation_requests":["#);
    for (i, candidate) in solution.candidates.iter().enumerate() {
        w.comma(i);
        w.allocation_request(candidate);
    }
    w.out.extend_from_slice(br#"],"provider_summaries":{"#);
    // Before 1.27, summaries show only the requested classes.
    let requested: Option<BTreeSet<ClassId>> = (!v.at_least(27))
        .then(|| prepared.request.groups.iter().flat_map(|g| g.resources.iter().map(|r| r.0)).collect());
    let summarised: Vec<&ProviderNode> = solution.summaries.iter().filter_map(|rp| w.nodes.get(rp).copied()).collect();
    for (i, provider) in summarised.into_iter().enumerate() {
        w.comma(i);
        w.uuid(&provider.uuid);
        w.out.push(b':');
        w.summary(provider, requested.as_ref());
    }
    w.out.extend_from_slice(b"}}");
    w.out
}

/// `name` as a JSON string.
fn quoted(name: &str) -> Vec<u8> {
    if is_json_plain(name.as_bytes()) {
        [b"\"", name.as_bytes(), b"\""].concat()
    } else {
        serde_json::Value::from(name).to_string().into_bytes()
    }
}

struct Writer<'a> {
    out: Vec<u8>,
    v: Microversion,
    prepared: &'a Prepared,
    /// The summarised providers' nodes.
    nodes: FastMap<ProviderId, &'a ProviderNode>,
    /// Class names, quoted.
    classes: FastMap<ClassId, Vec<u8>>,
    /// Trait names, quoted as they are met (`None`: no name known).
    traits: FastMap<TraitId, Option<Vec<u8>>>,
    /// Each group's suffix, quoted, by index.
    suffixes: Vec<Vec<u8>>,
}

impl Writer<'_> {
    fn comma(&mut self, index: usize) {
        if index > 0 {
            self.out.push(b',');
        }
    }

    /// A JSON string; uuids never need escaping, but anything stored in
    /// the database could.
    fn uuid(&mut self, uuid: &UuidText) {
        if uuid.is_json_plain() {
            self.out.push(b'"');
            self.out.extend_from_slice(uuid.as_bytes());
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(&quoted(uuid.as_str()));
        }
    }

    /// The uuid of provider `rp`.
    fn uuid_of(&mut self, rp: ProviderId) {
        let prepared = self.prepared;
        match self.nodes.get(&rp).copied().or_else(|| prepared.snapshot.providers.get(&rp)) {
            Some(node) => self.uuid(&node.uuid),
            None => self.out.extend_from_slice(b"\"\""),
        }
    }

    fn class_key(&mut self, class: ClassId) {
        match self.classes.get(&class) {
            Some(name) => self.out.extend_from_slice(name),
            None => self.out.extend_from_slice(b"\"\""),
        }
        self.out.push(b':');
    }

    fn number(&mut self, n: i64) {
        self.out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// `{class: amount}` for one provider's claims.
    fn amounts(&mut self, claims: &[(ProviderId, ClassId, i64)]) {
        self.out.push(b'{');
        for (i, (_, class, amount)) in claims.iter().enumerate() {
            self.comma(i);
            self.class_key(*class);
            self.number(*amount);
        }
        self.out.push(b'}');
    }

    /// One candidate as `PUT /allocations` takes it: a list of allocations
    /// before 1.12, a dict by provider after, with mappings from 1.34.
    fn allocation_request(&mut self, c: &Candidate) {
        // The candidate's claims are sorted by provider, then class.
        let by_provider = c.resources.chunk_by(|a, b| a.0 == b.0);
        if !self.v.at_least(12) {
            self.out.extend_from_slice(br#"{"allocations":["#);
            for (i, claims) in by_provider.enumerate() {
                self.comma(i);
                self.out.extend_from_slice(br#"{"resource_provider":{"uuid":"#);
                self.uuid_of(claims[0].0);
                self.out.extend_from_slice(br#"},"resources":"#);
                self.amounts(claims);
                self.out.push(b'}');
            }
            self.out.extend_from_slice(b"]}");
            return;
        }
        self.out.extend_from_slice(br#"{"allocations":{"#);
        for (i, claims) in by_provider.enumerate() {
            self.comma(i);
            self.uuid_of(claims[0].0);
            self.out.extend_from_slice(br#":{"resources":"#);
            self.amounts(claims);
            self.out.push(b'}');
        }
        self.out.push(b'}');
        if self.v.at_least(34) {
            self.out.extend_from_slice(br#","mappings":{"#);
            // Sorted by group, so each group's providers are adjacent.
            for (i, served) in c.mappings.chunk_by(|a, b| a.0 == b.0).enumerate() {
                self.comma(i);
                match self.suffixes.get(usize::from(served[0].0)) {
                    Some(suffix) => self.out.extend_from_slice(suffix),
                    None => self.out.extend_from_slice(b"\"\""),
                }
                self.out.extend_from_slice(b":[");
                for (j, (_, rp)) in served.iter().enumerate() {
                    self.comma(j);
                    self.uuid_of(*rp);
                }
                self.out.push(b']');
            }
            self.out.push(b'}');
        }
        self.out.push(b'}');
    }

    /// One provider's summary: resources, traits from 1.17, parent and
    /// root from 1.29.
    fn summary(&mut self, p: &ProviderNode, only: Option<&BTreeSet<ClassId>>) {
        let snap = &self.prepared.snapshot;
        self.out.extend_from_slice(br#"{"resources":{"#);
        let inventory = snap.inventory.range((p.id, ClassId::MIN)..=(p.id, ClassId::MAX));
        let shown = inventory.filter(|((_, rc), _)| only.is_none_or(|only| only.contains(rc)));
        for (i, ((_, rc), cap)) in shown.enumerate() {
            self.comma(i);
            self.class_key(*rc);
            self.out.extend_from_slice(br#"{"capacity":"#);
            self.number(cap.capacity());
            self.out.extend_from_slice(br#","used":"#);
            self.number(cap.used);
            self.out.push(b'}');
        }
        self.out.push(b'}');
        if self.v.at_least(17) {
            self.out.extend_from_slice(br#","traits":["#);
            let names = &self.prepared.names.traits;
            let mut first = true;
            for t in snap.traits_of(p.id) {
                let Some(name) = self.traits.entry(*t).or_insert_with(|| names.get(t).map(|n| quoted(n))) else {
                    continue;
                };
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.out.extend_from_slice(name);
            }
            self.out.push(b']');
        }
        if self.v.at_least(29) {
            self.out.extend_from_slice(br#","parent_provider_uuid":"#);
            match p.parent {
                Some(parent) => self.uuid_of(parent),
                None => self.out.extend_from_slice(b"null"),
            }
            self.out.extend_from_slice(br#","root_provider_uuid":"#);
            if p.root == p.id {
                self.uuid(&p.uuid);
            } else {
                self.uuid_of(p.root);
            }
        }
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        let mut out = quoted("plain-name");
        out.push(b',');
        out.extend_from_slice(&quoted("a\"b\\c\nd"));
        let out = String::from_utf8(out).unwrap_or_default();
        assert_eq!(out, r#""plain-name","a\"b\\c\nd""#);
        let parsed: serde_json::Value = serde_json::from_str(&format!("[{out}]")).unwrap_or_default();
        assert_eq!(parsed[1], "a\"b\\c\nd");
    }

    #[test]
    fn numbers_are_plain_integers_and_uuids_are_escaped_when_needed() {
        let prepared =
            Prepared { request: Default::default(), snapshot: Default::default(), names: Default::default() };
        let mut w = Writer {
            out: Vec::new(),
            v: Microversion::new(1, 39),
            prepared: &prepared,
            nodes: FastMap::default(),
            classes: FastMap::default(),
            traits: FastMap::default(),
            suffixes: Vec::new(),
        };
        w.number(-12);
        w.number(0);
        w.number(i64::MAX);
        w.uuid(&UuidText::from("a\"b"));
        assert_eq!(String::from_utf8(w.out).unwrap_or_default(), format!("-120{}\"a\\\"b\"", i64::MAX));
    }
}
