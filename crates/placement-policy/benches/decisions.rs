//! What one policy decision costs, with no cache in front: Casbin matching
//! the lines of the rule asked about (and of the rules it inherits).

use criterion::{Criterion, criterion_group, criterion_main};
use placement_policy::{Credentials, Policy, PolicyConfig, Target};

fn creds(roles: &[&str], project: &str) -> Credentials {
    Credentials {
        user_id: "u1".into(),
        project_id: Some(project.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..Credentials::default()
    }
}

fn decisions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let config = PolicyConfig { enforce_scope: true, enforce_new_defaults: true, ..PolicyConfig::default() };
    let policy = runtime.block_on(Policy::load(&config)).expect("defaults load");
    let own = Target::from([("project_id".to_string(), "p1".to_string())]);
    let other = Target::from([("project_id".to_string(), "p2".to_string())]);
    let admin = creds(&["admin", "member", "reader"], "p1");
    let reader = creds(&["reader"], "p1");
    c.bench_function("decision/allow admin, inherited rule", |b| {
        b.iter(|| policy.authorize("placement:resource_providers:list", &admin, &own).is_ok())
    });
    c.bench_function("decision/allow reader, own usages (two levels)", |b| {
        b.iter(|| policy.authorize("placement:usages", &reader, &own).is_ok())
    });
    c.bench_function("decision/deny reader, other project's usages (every line)", |b| {
        b.iter(|| policy.authorize("placement:usages", &reader, &other).is_err())
    });
}

criterion_group!(benches, decisions);
criterion_main!(benches);
