//! The workloads: upstream's perf-job provider layout, allocation writes
//! (new consumers, or moves of existing ones) and repeated queries.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::Api;
use crate::report::Report;

/// The aggregates and traits upstream's perf job (placeload 0.3.0) gives
/// providers, in turn: every provider gets the first of each, so the
/// perf query matches them all.
pub const AGGREGATES: [&str; 3] = [
    "14a5c8a3-5a99-4e8f-88be-00d85fcb1c17",
    "66d98e7c-3c25-485d-a0dc-1cea651884de",
    "a59dbb28-fd98-4c6e-9ec5-ae5f3d04b0aa",
];
pub const TRAITS: [&str; 3] = ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE2", "STORAGE_DISK_SSD"];

/// The perf job's query.
pub const PERF_QUERY: &str = "/allocation_candidates?resources=VCPU:1,DISK_GB:10,MEMORY_MB:256\
    &member_of=14a5c8a3-5a99-4e8f-88be-00d85fcb1c17&required=HW_CPU_X86_AVX2";

/// Four VFs on four different PFs of one nested tree, plus disk: 1680
/// candidates per tree.
pub const NESTED_QUERY: &str = "/allocation_candidates?resources=DISK_GB:10\
    &resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&resources3=SRIOV_NET_VF:1&resources4=SRIOV_NET_VF:1\
    &group_policy=isolate";

/// Provider `i`'s uuid, stable so runs can share a database.
pub fn provider_uuid(i: usize) -> String {
    format!("b3c4d5e6-0000-4000-8000-{i:012}")
}

/// Create `count` compute nodes the way the perf job's loader does: the
/// same inventory everywhere, aggregates and traits in rotating chunks.
pub fn setup(api: &Api, count: usize) -> Result<(), String> {
    let start = Instant::now();
    for i in 0..count {
        let uuid = provider_uuid(i);
        let created =
            api.call("POST", "/resource_providers", "1.39", Some(&json!({"uuid": uuid, "name": format!("cn{i}")})))?;
        if created.status == 409 {
            continue;
        }
        if created.status != 200 {
            return Err(format!("create provider: {} {}", created.status, created.body));
        }
        let inventories = json!({"resource_provider_generation": 0, "inventories": {
            "MEMORY_MB": {"total": 8192, "min_unit": 128, "max_unit": 8192},
            "DISK_GB": {"total": 8192, "min_unit": 5, "max_unit": 8192},
            "VCPU": {"total": 32, "min_unit": 1, "max_unit": 16}
        }});
        api.expect("PUT", &format!("/resource_providers/{uuid}/inventories"), Some(&inventories), 200)?;
        let chunk = i % 3 + 1;
        let body = json!({"aggregates": &AGGREGATES[..chunk], "resource_provider_generation": 1});
        api.expect("PUT", &format!("/resource_providers/{uuid}/aggregates"), Some(&body), 200)?;
        let body = json!({"traits": &TRAITS[..chunk], "resource_provider_generation": 2});
        api.expect("PUT", &format!("/resource_providers/{uuid}/traits"), Some(&body), 200)?;
    }
    println!("setup: {count} providers in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn count_providers(api: &Api) -> Result<usize, String> {
    let answer = api.expect("GET", "/resource_providers", None, 200)?;
    let v: serde_json::Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
    Ok(v["resource_providers"].as_array().map_or(0, Vec::len))
}

fn allocation(provider: &str, generation: Option<u64>) -> serde_json::Value {
    json!({
        "allocations": {provider: {"resources": {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 10}}},
        "project_id": "bench-project", "user_id": "bench-user",
        "consumer_generation": generation, "consumer_type": "INSTANCE"
    })
}

/// `clients` threads writing allocations for `seconds`: each write claims
/// for a new consumer, or with `moving` moves one consumer per client
/// between providers (a replacement that frees the old claim).
pub fn writes(api: &Api, clients: usize, seconds: u64, moving: bool) -> Result<(), String> {
    let providers = count_providers(api)?;
    if providers == 0 {
        return Err("no providers; run setup first".into());
    }
    let results = Mutex::new((Vec::new(), 0usize, 0usize));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..clients {
            let (api, results) = (api.clone(), &results);
            scope.spawn(move || {
                let mut latencies = Vec::new();
                let (mut ok, mut failed) = (0, 0);
                let consumer = uuid::Uuid::new_v4().to_string();
                let mut generation: Option<u64> = None;
                let mut n = c * 7919;
                while Instant::now() < deadline {
                    n += 1;
                    let provider = provider_uuid(n % providers);
                    let target = if moving { consumer.clone() } else { uuid::Uuid::new_v4().to_string() };
                    let expected = if moving { generation } else { None };
                    match api.call(
                        "PUT",
                        &format!("/allocations/{target}"),
                        "1.39",
                        Some(&allocation(&provider, expected)),
                    ) {
                        Ok(a) if a.status == 204 => {
                            ok += 1;
                            latencies.push(a.took);
                            if moving {
                                generation = Some(generation.map_or(1, |g| g + 1));
                            }
                        }
                        _ => failed += 1,
                    }
                }
                let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                r.0.extend(latencies);
                r.1 += ok;
                r.2 += failed;
            });
        }
    });
    let (latencies, ok, failed) = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let label = format!("{} x{clients}", if moving { "allocation moves" } else { "allocation writes" });
    Report { label, ok, failed, elapsed: start.elapsed(), latencies }.print();
    Ok(())
}

/// `clients` threads repeating one GET for `seconds`.
pub fn query(api: &Api, path: &str, clients: usize, seconds: u64) -> Result<(), String> {
    let first = api.expect("GET", path, None, 200)?;
    let answer: serde_json::Value = serde_json::from_str(&first.body).map_err(|e| e.to_string())?;
    let candidates = answer["allocation_requests"].as_array().map_or(0, Vec::len);
    println!("query answer: {candidates} candidates, {} bytes", first.body.len());
    let results = Mutex::new((Vec::new(), 0usize, 0usize));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            let (api, results) = (api.clone(), &results);
            scope.spawn(move || {
                let mut latencies = Vec::new();
                let (mut ok, mut failed) = (0, 0);
                while Instant::now() < deadline {
                    match api.call("GET", path, "1.39", None) {
                        Ok(a) if a.status == 200 => {
                            ok += 1;
                            latencies.push(a.took);
                        }
                        _ => failed += 1,
                    }
                }
                let mut r = results.lock().unwrap_or_else(|e| e.into_inner());
                r.0.extend(latencies);
                r.1 += ok;
                r.2 += failed;
            });
        }
    });
    let (latencies, ok, failed) = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Report { label: format!("query x{clients}"), ok, failed, elapsed: start.elapsed(), latencies }.print();
    Ok(())
}

/// The median latency of `requests` sequential calls to `path`.
fn sequential_median(api: &Api, path: &str, requests: usize) -> Result<Duration, String> {
    let mut took = Vec::with_capacity(requests);
    for _ in 0..requests {
        let answer = api.call("GET", path, "1.39", None)?;
        if answer.status != 200 {
            return Err(format!("GET {path}: {}: {}", answer.status, answer.body));
        }
        took.push(answer.took);
    }
    took.sort();
    Ok(took[took.len() / 2])
}

/// What the second server's authentication costs per request over the
/// first's: rounds of one client's sequential calls to each in turn (so
/// both see the same machine), the median of each round, and the median
/// of the rounds' differences.
pub fn auth_overhead(base: &Api, other: &Api, path: &str, rounds: usize, requests: usize) -> Result<(), String> {
    // Warm both (connections, caches, the token's validation).
    sequential_median(base, path, 200)?;
    sequential_median(other, path, 200)?;
    let mut differences = Vec::new();
    for round in 1..=rounds.max(1) {
        let a = sequential_median(base, path, requests)?;
        let b = sequential_median(other, path, requests)?;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!("round {round}: first {:.1} us, second {:.1} us, difference {:.1} us", us(a), us(b), us(b) - us(a));
        differences.push(us(b) - us(a));
    }
    differences.sort_by(f64::total_cmp);
    println!(
        "auth overhead: median {:.1} us per request over {} rounds of {requests} (range {:.1} to {:.1} us)",
        differences[differences.len() / 2],
        differences.len(),
        differences[0],
        differences[differences.len() - 1]
    );
    Ok(())
}
