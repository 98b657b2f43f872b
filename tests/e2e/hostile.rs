//! Hostile input: every request a client can make costs bounded work and
//! memory, is refused with a clear Placement error (never a 500), and the
//! server keeps serving others.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Backend, Server};

const ROOT: &str = "b0570000-0000-4000-8000-000000000000";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn still_serving(s: &Server) {
    s.req("GET", "/resource_providers").send().expect(200);
}

/// Bodies past the limit (4 MiB by default), plain or inflated from a
/// small gzip, are refused with 413; a body is never read before the
/// request is authenticated.
fn bodies_are_bounded(s: &Server) {
    let big = json!({"name": "x".repeat(5 * 1024 * 1024)});
    let r = s.req("POST", "/resource_providers").version("1.39").json(big).send();
    assert_eq!(r.status, 413, "{}", r.text.chars().take(300).collect::<String>());
    assert_eq!(r.json["errors"][0]["title"], "Request Entity Too Large");
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < 128 * 1024);
    let r = s
        .req("POST", "/resource_providers")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(bomb.clone())
        .send();
    assert_eq!(r.status, 413, "{}", r.text);
    let r = s
        .req("POST", "/resource_providers")
        .without("x-auth-token")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(bomb)
        .send();
    assert_eq!(r.status, 401);
    // A small gzip body is inflated and used.
    let body = gzip(json!({"name": "zipped", "uuid": ROOT}).to_string().as_bytes());
    s.req("POST", "/resource_providers")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .raw(body)
        .send()
        .expect(201);
    still_serving(s);
}

/// A body that fails validation at the top is described in a message of
/// bounded size, not pretty-printed whole.
fn validation_errors_are_bounded(s: &Server) {
    let consumers: serde_json::Map<String, Value> =
        (0..20_000).map(|i| (format!("{i:08x}-0000-4000-8000-000000000000"), json!({"allocations": {}}))).collect();
    let mut body = Value::Object(consumers);
    body["not-a-uuid"] = json!(1);
    let size = body.to_string().len();
    let r = s.req("POST", "/allocations").version("1.39").json(body).send().expect(400);
    assert!(r.text.len() < 32 * 1024, "a {size}-byte body gave a {}-byte error", r.text.len());
    assert!(r.text.contains("JSON does not validate"), "{}", r.text.chars().take(500).collect::<String>());
}

/// 30,000 distinct aggregates in one PUT (uniqueItems is checked in linear
/// time), and a duplicate refused.
fn many_unique_aggregates(s: &Server) {
    s.req("POST", "/resource_providers").json(json!({"name": "aggs", "uuid": ROOT})).send().expect(201);
    let mut uuids: Vec<String> = (0..30_000).map(|i| format!("{i:08x}-0000-4000-8000-000000000000")).collect();
    let body = json!({"aggregates": uuids, "resource_provider_generation": 0});
    s.req("PUT", &format!("/resource_providers/{ROOT}/aggregates")).version("1.19").json(body).send().expect(200);
    uuids.push(uuids[7].clone());
    let body = json!({"aggregates": uuids, "resource_provider_generation": 1});
    let r = s.req("PUT", &format!("/resource_providers/{ROOT}/aggregates")).version("1.19").json(body).send();
    assert_eq!(r.status, 400);
    assert!(r.text.contains("has non-unique elements") && r.text.len() < 32 * 1024, "{}", r.text.len());
    // And all of them taken away again.
    let body = json!({"aggregates": [], "resource_provider_generation": 1});
    s.req("PUT", &format!("/resource_providers/{ROOT}/aggregates")).version("1.19").json(body).send().expect(200);
}

/// More query parameters than any real request has, or more request
/// groups, are refused with 400.
fn query_strings_are_bounded(s: &Server) {
    let many = (0..1001).map(|i| format!("required=CUSTOM_T{i}")).collect::<Vec<_>>().join("&");
    let r = s.req("GET", &format!("/allocation_candidates?resources=VCPU:1&{many}")).version("1.39").send();
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "placement.query.bad_value");
    let groups = (1..=257).map(|i| format!("resources{i}=VCPU:1")).collect::<Vec<_>>().join("&");
    let r = s.req("GET", &format!("/allocation_candidates?{groups}&group_policy=none")).version("1.39").send();
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("Too many request groups"), "{}", r.text);
    // At the cap, a repeated `required` costs no more than once each.
    let traits = (0..900).map(|i| format!("required=CUSTOM_T{i}")).collect::<Vec<_>>().join("&");
    let r = s.req("GET", &format!("/allocation_candidates?resources=VCPU:1&{traits}")).version("1.39").send();
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("No such trait(s)"), "{}", r.text);
}

/// More trait names than one statement may bind (SQLite takes 32,766):
/// in a body, or as many as a request line can hold (64 KiB) in a query.
fn many_trait_names(s: &Server) {
    s.req("POST", "/resource_providers").json(json!({"name": "traits", "uuid": ROOT})).send().expect(201);
    let mut names: Vec<String> = (0..40_000).map(|i| format!("CUSTOM_{i}")).collect();
    names.push("HW_CPU_X86_AVX2".into());
    let body = json!({"traits": names, "resource_provider_generation": 0});
    let r = s.req("PUT", &format!("/resource_providers/{ROOT}/traits")).version("1.6").json(body).send();
    assert_eq!(r.status, 400, "{}", r.text.chars().take(300).collect::<String>());
    assert!(r.text.contains("No such trait CUSTOM_0, CUSTOM_1"), "{}", r.text.chars().take(300).collect::<String>());
    let names = vec!["A"; 32_700].join(",");
    let (status, body) = s.raw_request(&format!(
        "GET /traits?name=in:HW_CPU_X86_AVX2,{names} HTTP/1.1\r\nopenstack-api-version: placement 1.6"
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["traits"], json!(["HW_CPU_X86_AVX2"]));
}

/// `PUT /resource_classes/{name}` validates the name itself: quotes can't
/// smuggle another name past the schema.
fn resource_class_names_cannot_be_smuggled(s: &Server) {
    let r = s.req("PUT", "/resource_classes/CUSTOM_A%22,%20%22name%22:%20%22CUSTOM_B").version("1.7").send();
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("does not match"), "{}", r.text);
    let r = s.req("GET", "/resource_classes").version("1.7").send().expect(200);
    let names: Vec<&str> =
        r.json["resource_classes"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(!names.iter().any(|n| n.starts_with("CUSTOM_")), "{names:?}");
    s.req("PUT", "/resource_classes/CUSTOM_FINE").version("1.7").send().expect(201);
}

/// `Location` comes from `Host`; proxy headers count only when the
/// operator enables them.
fn location_ignores_forwarded_headers(s: &Server) {
    let r = s
        .req("POST", "/resource_providers")
        .header("host", "placement.example:8778")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.example;proto=https")
        .json(json!({"name": "located"}))
        .send()
        .expect(201);
    let location = r.header("location").unwrap();
    assert!(location.starts_with("http://placement.example:8778/resource_providers/"), "{location}");
}

#[test]
fn location_honours_proxy_headers_when_enabled() {
    let s = Server::start(Backend::Sqlite, "[oslo_middleware]\nenable_proxy_headers_parsing = True\n");
    let r = s
        .req("POST", "/resource_providers")
        .header("x-forwarded-host", "api.example")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-prefix", "/placement")
        .json(json!({"name": "proxied"}))
        .send()
        .expect(201);
    let location = r.header("location").unwrap();
    assert!(location.starts_with("https://api.example/placement/resource_providers/"), "{location}");
    // Links carry the prefix as upstream's do (SCRIPT_NAME, which
    // oslo.middleware sets from X-Forwarded-Prefix); without the header, none.
    let uuid = location.rsplit('/').next().unwrap();
    let get = |prefix: Option<&str>| {
        let mut req = s.req("GET", &format!("/resource_providers/{uuid}")).version("1.39");
        if let Some(p) = prefix {
            req = req.header("x-forwarded-prefix", p);
        }
        req.send().expect(200).json["links"][0]["href"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(get(Some("/placement")), format!("/placement/resource_providers/{uuid}"));
    assert_eq!(get(None), format!("/resource_providers/{uuid}"));
    let r = s.req("GET", "/resource_classes/VCPU").version("1.7").header("x-forwarded-prefix", "/placement").send();
    assert_eq!(r.expect(200).json["links"][0]["href"], "/placement/resource_classes/VCPU");
}

/// Client numbers up to i64::MAX are refused the same way by debug and
/// release builds (no overflow).
fn huge_amounts_do_not_overflow(s: &Server) {
    s.req("POST", "/resource_providers").json(json!({"name": "big", "uuid": ROOT})).send().expect(201);
    s.req("PUT", &format!("/resource_providers/{ROOT}/inventories"))
        .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}))
        .send()
        .expect(200);
    let used = "a110c000-0000-4000-8000-000000000001";
    s.req("PUT", &format!("/allocations/{used}"))
        .version("1.28")
        .json(json!({"allocations": {ROOT: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
                     "consumer_generation": null}))
        .send()
        .expect(204);
    let max = i64::MAX;
    let r = s.req("GET", &format!("/allocation_candidates?resources=VCPU:{max}")).version("1.39").send().expect(200);
    assert_eq!(r.json["allocation_requests"], json!([]));
    let r = s.req("GET", &format!("/resource_providers?resources=VCPU:{max}")).version("1.39").send().expect(200);
    assert_eq!(r.json["resource_providers"], json!([]));
    let body = json!({
        "a110c000-0000-4000-8000-000000000002": {"allocations": {ROOT: {"resources": {"VCPU": 1}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null},
        "a110c000-0000-4000-8000-000000000003": {"allocations": {ROOT: {"resources": {"VCPU": max}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null},
    });
    let r = s.req("POST", "/allocations").version("1.39").json(body).send();
    assert!(matches!(r.status, 400 | 409), "{}: {}", r.status, r.text);
    let r = s.req("GET", &format!("/resource_providers/{ROOT}/usages")).send().expect(200);
    assert_eq!(r.json["usages"]["VCPU"], 1, "nothing written");
}

/// More consumers than one statement may bind at once (SQLite takes
/// 32,766 values, MySQL 65,535: 13,107 rows of five columns): written in
/// POSTs of `per_post` consumers, all read back by provider.
fn many_consumers(backend: Backend, count: usize, per_post: usize) {
    let s = &Server::start(backend, "");
    s.req("POST", "/resource_providers").json(json!({"name": "wide", "uuid": ROOT})).send().expect(201);
    s.req("PUT", &format!("/resource_providers/{ROOT}/inventories"))
        .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 100000}}}))
        .send()
        .expect(200);
    for first in (0..count).step_by(per_post) {
        let consumers: serde_json::Map<String, Value> = (first..(first + per_post).min(count))
            .map(|i| {
                let c = json!({"allocations": {ROOT: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
                               "consumer_generation": null});
                (format!("{i:08x}-0000-4000-8000-000000000000"), c)
            })
            .collect();
        let body = Value::Object(consumers);
        let size = body.to_string().len();
        let started = Instant::now();
        s.req("POST", "/allocations").version("1.28").json(body).send().expect(204);
        eprintln!("LARGE BODY {backend:?}: POST /allocations, {size} bytes, took {:?}", started.elapsed());
    }
    let r = s.req("GET", &format!("/resource_providers/{ROOT}/usages")).send().expect(200);
    assert_eq!(r.json["usages"]["VCPU"], count);
    let r = s.req("GET", &format!("/resource_providers/{ROOT}/allocations")).send().expect(200);
    assert_eq!(r.json["allocations"].as_object().unwrap().len(), count);
}

#[test]
fn many_consumers_sqlite() {
    many_consumers(Backend::Sqlite, 33_000, 16_500);
}

#[test]
fn many_consumers_postgresql() {
    crate::support::run(Backend::Postgres, |_| many_consumers(Backend::Postgres, 11_000, 11_000));
}

#[test]
fn many_consumers_mysql() {
    crate::support::run(Backend::Mysql, |_| many_consumers(Backend::Mysql, 14_000, 14_000));
}

on_every_backend!(
    bodies_are_bounded,
    validation_errors_are_bounded,
    many_unique_aggregates,
    query_strings_are_bounded,
    many_trait_names,
    resource_class_names_cannot_be_smuggled,
    location_ignores_forwarded_headers,
    huge_amounts_do_not_overflow,
);

/// One root with a big child (first, so searches try it first) and twelve
/// one-PGPU children with CUSTOM_SMALL: fourteen groups, thirteen of which
/// need the small ones.
fn wide_tree(s: &Server) -> String {
    s.req("PUT", "/traits/CUSTOM_SMALL").version("1.6").send();
    s.req("POST", "/resource_providers").json(json!({"name": "root", "uuid": ROOT})).send().expect(201);
    for i in 0..13 {
        let uuid = format!("c41d0000-0000-4000-8000-{i:012}");
        s.req("POST", "/resource_providers")
            .version("1.14")
            .json(json!({"name": format!("child-{i}"), "uuid": uuid, "parent_provider_uuid": ROOT}))
            .send()
            .expect(201);
        let total = if i == 0 { 100 } else { 1 };
        s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
            .json(json!({"resource_provider_generation": 0, "inventories": {"PGPU": {"total": total}}}))
            .send()
            .expect(200);
        if i > 0 {
            s.req("PUT", &format!("/resource_providers/{uuid}/traits"))
                .version("1.6")
                .json(json!({"traits": ["CUSTOM_SMALL"], "resource_provider_generation": 1}))
                .send()
                .expect(200);
        }
    }
    let groups: Vec<String> = std::iter::once("resources0=PGPU:1".to_string())
        .chain((1..=13).map(|i| format!("resources{i}=PGPU:1&required{i}=CUSTOM_SMALL")))
        .collect();
    format!("/allocation_candidates?{}&group_policy=none", groups.join("&"))
}

#[test]
fn candidates_stop_at_the_search_budget() {
    let s = Server::start(Backend::Sqlite, "[placement]\nallocation_candidates_search_steps = 200000\n");
    let query = wide_tree(&s);
    let started = Instant::now();
    let r = s.req("GET", &query).version("1.39").send();
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "placement.query.bad_value");
    assert!(r.text.contains("search steps"), "{}", r.text);
    eprintln!("BUDGET: refused after {:?}", started.elapsed());
    // The same with a limit the search reaches within the budget: the
    // first three without group 13 (tree has room for 12 small groups).
    let fits = query.replace("&resources13=PGPU:1&required13=CUSTOM_SMALL", "");
    let r = s.req("GET", &format!("{fits}&limit=3")).version("1.39").send().expect(200);
    assert_eq!(r.json["allocation_requests"].as_array().unwrap().len(), 3);
    still_serving(&s);
}

#[test]
fn candidates_stop_at_the_time_limit() {
    let s = Server::start(
        Backend::Sqlite,
        "[placement]\nallocation_candidates_time_limit = 0.5\nallocation_candidates_search_steps = 100000000000\n",
    );
    let query = wide_tree(&s);
    let started = Instant::now();
    let r = s.req("GET", &query).version("1.39").send();
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.text.contains("took longer than 0.5 seconds"), "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    still_serving(&s);
}

/// Searches that each run for their whole time limit, more of them than
/// `[api] candidates_threads`: they take turns on that many threads (so
/// their memory is held by that many), each is answered, and every other
/// request is served meanwhile.
#[test]
fn costly_searches_take_turns_on_their_own_threads() {
    let s = Server::start(
        Backend::Sqlite,
        "[api]\ncandidates_threads = 2\n[placement]\nallocation_candidates_time_limit = 0.3\n\
         allocation_candidates_search_steps = 100000000000\n",
    );
    let query = wide_tree(&s);
    let costly_threads = || {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", s.pid())).expect("the server's threads");
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("placement-costl"))
            .count()
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        let searches: Vec<_> = (0..6).map(|_| scope.spawn(|| s.req("GET", &query).version("1.39").send())).collect();
        std::thread::sleep(Duration::from_millis(200));
        // Served while every costly thread is busy searching.
        let r = s.req("GET", "/resource_providers").send().expect(200);
        assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(14));
        for search in searches {
            let r = search.join().expect("search");
            assert_eq!(r.status, 503, "{}", r.text);
            assert!(r.text.contains("took longer than 0.3 seconds"), "{}", r.text);
        }
    });
    // Six searches of 0.3 s on two threads: three turns, not one.
    assert!(started.elapsed() >= Duration::from_millis(850), "{:?}", started.elapsed());
    assert_eq!(costly_threads(), 2);
    still_serving(&s);
}

/// With every handler slot busy, a request waits `pool_timeout` and is
/// refused with 503; what it sent is logged escaped, so a client can't
/// forge a log line.
#[test]
fn overload_is_refused_and_logs_cannot_be_forged() {
    let s = Server::start(
        Backend::Sqlite,
        "max_pool_size = 1\nmax_overflow = 0\npool_timeout = 1\n[placement]\nallocation_candidates_time_limit = 5\n\
         allocation_candidates_search_steps = 100000000000\n",
    );
    let query = wide_tree(&s);
    std::thread::scope(|scope| {
        let busy = scope.spawn(|| s.req("GET", &query).version("1.39").send());
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let forged = "/resource_providers/x%0D%0A%5B2001-01-01T00:00:00Z%20INFO%20forged%5D%20admin%20logged%20in";
        let r = s.req("GET", forged).send();
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(r.text.contains("too busy"), "{}", r.text);
        assert!(started.elapsed() < Duration::from_secs(4), "waited {:?}", started.elapsed());
        assert_eq!(busy.join().unwrap().status, 503);
    });
    let log = s.log_text();
    assert!(log.contains("forged]"), "the request was logged: {log}");
    assert!(!log.lines().any(|l| l.starts_with("[2001-01-01T00:00:00Z")), "a forged log line: {log}");
    still_serving(&s);
}

/// A figure of the server's /proc status; the test's server lives on.
fn status_figure(s: &Server, field: &str) -> u64 {
    s.status_figure(field).unwrap_or_else(|| panic!("{field} in the server's status"))
}

/// A burst of large answers to many clients at once: once the threads it
/// started are gone, the server holds about what it held before, not
/// what each thread freed (each handler thread hands its freed memory back
/// as it exits: 16 MiB after from 6, and 83 MiB without; the margin
/// leaves room for the pool's new connections' page caches).
#[test]
fn a_burst_of_large_answers_gives_its_memory_back() {
    let s = Server::start(Backend::Sqlite, "");
    let long = "n".repeat(190);
    for i in 0..500 {
        s.req("POST", "/resource_providers").json(json!({"name": format!("{long}{i:05}")})).send().expect(201);
    }
    let (threads, before) = (status_figure(&s, "Threads:"), status_figure(&s, "RssAnon:") / 1024);
    std::thread::scope(|scope| {
        for _ in 0..100 {
            scope.spawn(|| {
                for _ in 0..3 {
                    let r = s.req("GET", "/resource_providers").send().expect(200);
                    assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(500));
                }
            });
        }
    });
    let during = status_figure(&s, "Threads:");
    // Idle handler threads end after 10 s.
    let waited = Instant::now();
    while status_figure(&s, "Threads:") > threads && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let after = status_figure(&s, "RssAnon:") / 1024;
    eprintln!(
        "private memory {before} MiB before the burst, {after} MiB after; threads {threads} -> {during} -> {threads}"
    );
    assert!(
        after < before + 24,
        "private memory {before} MiB before the burst, {after} MiB after its threads ({during} -> {threads}) ended"
    );
    still_serving(&s);
}
