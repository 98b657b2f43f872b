//! Random requests against a running server (seeded, so a failure can be
//! replayed with PLACEMENT_FUZZ_SEED): every path, method and
//! microversion, random query strings and bodies. No answer may be a 5xx. Then the hostile requests of the
//! other tests all at once: the server's memory stays bounded and
//! ordinary requests are still answered.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Backend, Rng, Server};

const PROVIDERS: [&str; 2] = ["f0220000-0000-4000-8000-000000000001", "f0220000-0000-4000-8000-000000000002"];

const WORDS: &[&str] = &[
    "VCPU",
    "VCPU:1",
    "DISK_GB:10",
    "MEMORY_MB:-1",
    ":",
    ",",
    "!",
    "in:",
    "!in:",
    "CUSTOM_A",
    "HW_CPU_X86_AVX2",
    "0",
    "-1",
    "1",
    "9223372036854775807",
    "99999999999999999999",
    "1.5",
    "true",
    "isolate",
    "none",
    PROVIDERS[0],
    PROVIDERS[1],
    "%00",
    "%0A",
    "%FF",
    "%E2%98%83",
    "+",
    "%2C",
    "&",
    "=",
    "",
    "startswith:",
    "CUSTOM_",
    "a]",
    "[]",
    "null",
];

const KEYS: &[&str] = &[
    "resources",
    "resources1",
    "resources_X",
    "required",
    "required1",
    "member_of",
    "member_of1",
    "in_tree",
    "in_tree1",
    "limit",
    "group_policy",
    "root_required",
    "same_subtree",
    "name",
    "uuid",
    "associated",
    "project_id",
    "user_id",
    "consumer_type",
    "junk",
];

fn path(rng: &mut Rng) -> String {
    let rp = if rng.below(4) == 0 { rng.pick(WORDS).to_string() } else { rng.pick(&PROVIDERS).to_string() };
    let name = rng.pick(&["CUSTOM_A", "VCPU", "custom_a", "CUSTOM_%22x", "%0A", "CUSTOM_☃"]).to_string();
    match rng.below(17) {
        0 => "/".into(),
        1 => "/resource_providers".into(),
        2 => format!("/resource_providers/{rp}"),
        3 => format!("/resource_providers/{rp}/inventories"),
        4 => format!("/resource_providers/{rp}/inventories/{name}"),
        5 => format!("/resource_providers/{rp}/traits"),
        6 => format!("/resource_providers/{rp}/aggregates"),
        7 => format!("/resource_providers/{rp}/usages"),
        8 => format!("/resource_providers/{rp}/allocations"),
        9 => format!("/allocations/{rp}"),
        10 => "/allocations".into(),
        11 => "/allocation_candidates".into(),
        12 => "/usages".into(),
        13 => format!("/traits/{name}"),
        14 => "/traits".into(),
        15 => format!("/resource_classes/{name}"),
        _ => "/reshaper".into(),
    }
}

fn query(rng: &mut Rng) -> String {
    let n = rng.below(6);
    let pairs: Vec<String> = (0..n)
        .map(|_| {
            let value: String = (0..rng.below(4)).map(|_| *rng.pick(WORDS)).collect();
            format!("{}={}", rng.pick(KEYS), value.replace(' ', "%20"))
        })
        .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

fn leaf(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(10) as i64 - 2),
        3 => json!(rng.pick(&[i64::MAX, i64::MIN, 2_147_483_648, 0])),
        4 => json!(1.5),
        5 => json!("\u{0}"),
        6 => json!("x".repeat(rng.below(300))),
        _ => json!(rng.pick(WORDS)),
    }
}

fn document(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 || rng.below(3) == 0 {
        return leaf(rng);
    }
    let keys = [
        "name",
        "uuid",
        "parent_provider_uuid",
        "allocations",
        "resources",
        "VCPU",
        "DISK_GB",
        "CUSTOM_A",
        "inventories",
        "total",
        "reserved",
        "max_unit",
        "allocation_ratio",
        "traits",
        "aggregates",
        "resource_provider_generation",
        "consumer_generation",
        "project_id",
        "user_id",
        "consumer_type",
        "mappings",
        PROVIDERS[0],
        PROVIDERS[1],
    ];
    if rng.below(4) == 0 {
        return Value::Array((0..rng.below(4)).map(|_| document(rng, depth - 1)).collect());
    }
    let map: serde_json::Map<String, Value> =
        (0..rng.below(5)).map(|_| (rng.pick(&keys).to_string(), document(rng, depth - 1))).collect();
    Value::Object(map)
}

/// A body that is close to valid for the path, then mangled a little.
fn body(rng: &mut Rng, path: &str) -> Vec<u8> {
    let base = if path.ends_with("/inventories") {
        json!({"resource_provider_generation": rng.below(3), "inventories": {"VCPU": {"total": 8}}})
    } else if path.starts_with("/allocations") {
        json!({"allocations": {PROVIDERS[0]: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
               "consumer_generation": null})
    } else if path == "/resource_providers" {
        json!({"name": format!("fuzz-{}", rng.raw()), "parent_provider_uuid": PROVIDERS[0]})
    } else {
        json!({"traits": ["CUSTOM_A"], "aggregates": [PROVIDERS[1]], "resource_provider_generation": 0})
    };
    match rng.below(5) {
        0 => document(rng, 5).to_string().into_bytes(),
        1 => {
            let mut v = base;
            if let Some(map) = v.as_object_mut() {
                let keys: Vec<String> = map.keys().cloned().collect();
                let k = rng.pick(&keys).clone();
                map.insert(k, document(rng, 3));
            }
            v.to_string().into_bytes()
        }
        2 => {
            let mut text = base.to_string().into_bytes();
            let cut = rng.below(text.len());
            text.truncate(cut);
            text
        }
        3 => (0..rng.below(64)).map(|_| rng.raw() as u8).collect(),
        _ => base.to_string().into_bytes(),
    }
}

fn random_requests(s: &Server) {
    for (i, uuid) in PROVIDERS.iter().enumerate() {
        s.req("POST", "/resource_providers")
            .json(json!({"name": format!("fuzz-{i}"), "uuid": uuid}))
            .send()
            .expect(201);
    }
    s.req("PUT", "/traits/CUSTOM_A").version("1.6").send();
    // A new seed each run, printed with any failure; PLACEMENT_FUZZ_SEED
    // replays one.
    let seed = std::env::var("PLACEMENT_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(&s, 16).ok())
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0 | 1);
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut sent = 0;
    let mut by_class = [0u32; 6];
    while Instant::now() < deadline {
        let method = *rng.pick(&["GET", "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
        let path = path(&mut rng);
        let url = format!("{path}{}", query(&mut rng));
        let version = rng.pick(&["1.0", "1.10", "1.14", "1.20", "1.28", "1.36", "1.39", "latest", "2.0", "1.x"]);
        let mut req = s.req(method, &url).header("openstack-api-version", &format!("placement {version}"));
        if matches!(method, "PUT" | "POST" | "PATCH") {
            req = req.raw(body(&mut rng, &path));
            let content_type = rng.pick(&["application/json", "application/json", "text/plain", "APPLICATION/JSON"]);
            req = req.header("content-type", content_type);
        }
        let Ok(r) = req.try_send() else {
            panic!("no answer to {method} {url} (seed {seed:x}, request {sent})");
        };
        assert!(r.status < 500, "{method} {url} answered {} (seed {seed:x}, request {sent}): {}", r.status, r.text);
        by_class[usize::from(r.status / 100)] += 1;
        sent += 1;
    }
    eprintln!("FUZZ: {sent} random requests, answers by class (1xx..5xx): {:?}", &by_class[1..]);
    assert!(sent > 100, "{sent} requests");
    s.req("GET", "/resource_providers").send().expect(200);
}

on_every_backend!(random_requests);

/// The server's resident memory, from /proc.
fn rss_mib(s: &Server) -> f64 {
    s.status_figure("VmRSS:").unwrap_or(0) as f64 / 1024.0
}

/// The memory a server may hold while hostile requests arrive at once.
const RSS_LIMIT_MIB: f64 = 200.0;

#[test]
fn hostile_requests_at_once_keep_memory_bounded() {
    let s = Server::start(Backend::Sqlite, "[placement]\nallocation_candidates_time_limit = 3\n");
    let idle = rss_mib(&s);
    let bomb = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b' '; 60 * 1024 * 1024]).unwrap();
        e.finish().unwrap()
    };
    let big_invalid = {
        let consumers: serde_json::Map<String, Value> = (0..40_000)
            .map(|i| (format!("{i:08x}-0000-4000-8000-000000000000"), json!({"allocations": {"x": 1}})))
            .collect();
        Value::Object(consumers)
    };
    let many_params = (0..1000).map(|i| format!("required=CUSTOM_T{i}")).collect::<Vec<_>>().join("&");
    let stop = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let (ordinary, slowest) = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_mib(&s) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut attackers = Vec::new();
        for i in 0..48 {
            let (s, bomb, big_invalid, many_params) = (&s, &bomb, &big_invalid, &many_params);
            attackers.push(scope.spawn(move || {
                let r = match i % 4 {
                    // Unauthenticated and authenticated gzip bombs.
                    0 => s.req("POST", "/resource_providers").without("x-auth-token"),
                    1 => s.req("POST", "/resource_providers"),
                    2 => {
                        return s.req("POST", "/allocations").version("1.28").json(big_invalid.clone()).try_send();
                    }
                    _ => {
                        let url = format!("/allocation_candidates?resources=VCPU:1&{many_params}");
                        return s.req("GET", &url).version("1.39").try_send();
                    }
                };
                r.header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .raw(bomb.clone())
                    .try_send()
            }));
        }
        // Meanwhile, an ordinary client.
        let mut slowest = Duration::ZERO;
        let mut ok = 0;
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let started = Instant::now();
            if s.req("GET", "/resource_providers").send().status == 200 {
                ok += 1;
            }
            slowest = slowest.max(started.elapsed());
        }
        for a in attackers {
            let r = a.join().unwrap().expect("an answer");
            assert!(
                matches!(r.status, 400 | 401 | 413 | 503),
                "{}: {}",
                r.status,
                r.text.chars().take(200).collect::<String>()
            );
        }
        stop.store(true, Ordering::Relaxed);
        (ok, slowest)
    });
    let peak = peak.load(Ordering::Relaxed) as f64;
    eprintln!(
        "HOSTILE LOAD: resident memory {idle:.0} MiB idle, {peak:.0} MiB at most under 48 hostile requests; \
         {ordinary} ordinary requests answered meanwhile, slowest {slowest:?}"
    );
    assert!(peak < RSS_LIMIT_MIB, "resident memory reached {peak} MiB");
    assert!(ordinary >= 10, "ordinary requests starved: {ordinary}");
    s.req("GET", "/resource_providers").send().expect(200);
}
