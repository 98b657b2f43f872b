//! Racing writers: one winner per generation, every loser a clean 409.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

const RP: &str = "c0ffee00-1111-4222-8333-944455556666";

fn racing_generation_writers_get_one_winner(s: &Server) {
    s.req("POST", "/resource_providers").json(json!({"uuid": RP, "name": "race"})).send().expect(201);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                scope.spawn(move || {
                    let total = 10 + i;
                    s.req("PUT", &format!("/resource_providers/{RP}/inventories"))
                        .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": total}}}))
                        .send()
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let r = s.req("GET", &format!("/resource_providers/{RP}")).send().expect(200);
    assert_eq!(r.json["generation"], 1);
}

on_every_backend!(racing_generation_writers_get_one_winner);
