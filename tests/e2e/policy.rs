//! The policy as operators handle it: reloaded on SIGHUP (a broken file
//! keeps the policy in force), refused at start-up when a rule cannot be
//! expressed, printed and checked with `placement-policy`.

use std::process::Command;
use std::time::Duration;

use crate::support::{Backend, Server};

#[test]
fn policy_reloads_on_sighup_and_a_broken_file_keeps_the_old_one() {
    let scratch = crate::support::Scratch::new("policy-reload");
    let file = scratch.0.join("policy.yaml");
    std::fs::write(&file, "\"placement:traits:list\": \"@\"\n").unwrap();
    let server = Server::start(Backend::Sqlite, &format!("[oslo_policy]\npolicy_file = {}\n", file.display()));
    let traits =
        |server: &Server| server.req("GET", "/traits").header("x-auth-token", "someone").version("1.6").send().status;
    assert_eq!(traits(&server), 200, "the override opens the rule");
    let hangup = |server: &Server| {
        assert!(Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap().success());
    };
    let eventually = |server: &Server, want: u16| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while traits(server) != want {
            assert!(std::time::Instant::now() < deadline, "still not {want}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::fs::write(&file, "\"placement:traits:list\": \"!\"\n").unwrap();
    hangup(&server);
    eventually(&server, 403);
    // Broken (not YAML, then a check no policy line can say): the policy
    // in force stays, and the log says why.
    for broken in ["\"placement:traits:list\": [\n", "\"placement:traits:list\": \"role:a and role:b\"\n"] {
        std::fs::write(&file, broken).unwrap();
        hangup(&server);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.log_text().matches("keeping the policy in force").count()
            < 1 + usize::from(broken.contains("role:a"))
        {
            assert!(std::time::Instant::now() < deadline, "no reload failure logged: {}", server.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(traits(&server), 403);
    }
    assert!(server.log_text().contains("placement:traits:list"), "the log names the rule");
    std::fs::write(&file, "\"placement:traits:list\": \"@\"\n").unwrap();
    hangup(&server);
    eventually(&server, 200);

    // At start-up the same file is an error naming the rule.
    std::fs::write(&file, "\"placement:traits:list\": \"role:a and role:b\"\n").unwrap();
    let url = format!("sqlite:///{}", scratch.0.join("p2.db").display());
    let mut broken = Server::launch_on(&url, &format!("[oslo_policy]\npolicy_file = {}\n", file.display()));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while broken.is_running() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!broken.is_running());
    assert!(broken.log_text().contains("placement:traits:list"), "{}", broken.log_text());
}

#[test]
fn placement_policy_prints_and_checks() {
    let bin = crate::support::binary("placement-policy");
    let run = |args: &[&str]| {
        let out = Command::new(&bin).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, csv) = run(&["csv"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        csv,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/policy.csv")).unwrap()
    );
    let (code, sample) = run(&["sample"]);
    assert_eq!(code, Some(0));
    assert!(sample.contains("#\"placement:usages\": \"rule:admin_or_project_reader_or_service_api\""), "{sample}");

    let scratch = crate::support::Scratch::new("policy-cli");
    let file = scratch.0.join("policy.yaml");
    std::fs::write(&file, "admin_or_service_api: role:operator\n").unwrap();
    let conf = scratch.0.join("placement.conf");
    std::fs::write(&conf, format!("[oslo_policy]\npolicy_file = {}\n", file.display())).unwrap();
    let conf = conf.display().to_string();
    let (code, list) = run(&["--config-file", &conf, "list"]);
    assert_eq!(code, Some(0));
    assert!(list.contains("admin_or_service_api\n  check: \"role:operator\" (Override)"), "{list}");
    assert!(list.contains("  p, admin_or_service_api, operator, *, *, default"), "{list}");
    assert!(list.contains("  g, placement:traits:list, admin_or_service_api"), "{list}");
    let check = |args: &[&str]| run(&[&["--config-file", conf.as_str(), "check"], args].concat());
    assert_eq!(check(&["placement:traits:list", "roles=operator", "project=p"]).0, Some(0));
    let (code, out) = check(&["placement:traits:list", "roles=admin", "project=p"]);
    assert_eq!(
        (code, out.trim()),
        (Some(1), "placement:traits:list: denied (Policy does not allow placement:traits:list to be performed.)")
    );
    assert_eq!(check(&["placement:traits:list", "roles=operator", "system_scope=all"]).0, Some(1));
    // Defaults: a reader of their own project's usages, not another's.
    let defaults = |args: &[&str]| run(&[&["check"], args].concat()).0;
    assert_eq!(defaults(&["placement:usages", "roles=reader", "project=p1"]), Some(0));
    assert_eq!(defaults(&["placement:usages", "roles=reader", "project=p1", "target.project_id=p2"]), Some(1));
    // A broken override is an error naming the rule.
    std::fs::write(&file, "admin_api: 'not role:admin'\n").unwrap();
    let out = Command::new(&bin).args(["--config-file", &conf, "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin_api"));
}
