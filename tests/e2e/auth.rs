//! Identity: `auth_strategy = keystone` against a real Keystone (from
//! PyPI, see `keystone_support`), and the noauth2 development strategy.
//! The auth layer does not touch the database, so these run on SQLite.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::keystone_support::Keystone;
use crate::support::{Backend, Server};

const UNAUTHORIZED: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;

fn server(keystone: &Keystone, authtoken: &str, extra: &str) -> Server {
    Server::start(Backend::Sqlite, &format!("{}{extra}", keystone.config(authtoken)))
}

/// `GET /resource_providers` with `token`: the status.
fn list(server: &Server, token: &str) -> u16 {
    server.req("GET", "/resource_providers").header("x-auth-token", token).send().status
}

#[track_caller]
fn assert_refused(response: &crate::support::Resp, keystone: &Keystone) {
    assert_eq!(response.status, 401, "{}", response.text);
    let body: Value = serde_json::from_str(&response.text).expect("JSON body");
    assert_eq!(body, serde_json::from_str::<Value>(UNAUTHORIZED).unwrap());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("www-authenticate"), Some(format!("Keystone uri=\"{}/v3\"", keystone.url()).as_str()));
}

#[test]
fn keystone_tokens_decide_who_may_do_what() {
    let keystone = Keystone::start(3600);
    let server = server(&keystone, "", "");
    let demo = keystone.id("projects", "demo");
    let admin = keystone.token("admin", "admin");
    let member = keystone.token("member", "demo");
    let reader = keystone.token("reader", "demo");
    let nova = keystone.token("nova", "service");

    // No token, an empty one, garbage, an over-long one: 401 as auth_token.
    assert_refused(&server.req("GET", "/resource_providers").without("x-auth-token").send(), &keystone);
    assert_refused(&server.req("GET", "/resource_providers").header("x-auth-token", "").send(), &keystone);
    assert_refused(&server.req("GET", "/resource_providers").header("x-auth-token", "gAAAAAgarbage").send(), &keystone);
    assert_refused(
        &server.req("GET", "/resource_providers").header("x-auth-token", &"x".repeat(20_000)).send(),
        &keystone,
    );
    // The root needs no token, as upstream's.
    server.req("GET", "/").without("x-auth-token").send().expect(200);

    // Project admin and service users manage providers (secure RBAC).
    let rp = server
        .req("POST", "/resource_providers")
        .header("x-auth-token", &admin)
        .version("1.20")
        .json(json!({"name": "cn1"}))
        .send()
        .expect(200);
    assert_eq!(rp.json["name"], "cn1");
    assert_eq!(list(&server, &nova), 200);
    assert_eq!(list(&server, &admin), 200);
    // Members and readers may not; readers (and members, who imply
    // reader) see their own project's usages only.
    assert_eq!(list(&server, &member), 403);
    assert_eq!(list(&server, &reader), 403);
    for token in [&member, &reader] {
        let own = format!("/usages?project_id={demo}");
        server.req("GET", &own).header("x-auth-token", token).version("1.9").send().expect(200);
        let other = format!("/usages?project_id={}", keystone.id("projects", "admin"));
        server.req("GET", &other).header("x-auth-token", token).version("1.9").send().expect(403);
    }
    // A system-scoped admin is refused by project-scoped rules, and an
    // unscoped token has no roles.
    assert_eq!(list(&server, &keystone.system_token("admin")), 403);
    assert_eq!(list(&server, &keystone.unscoped_token("nobody")), 403);

    // Forged identity headers beside a valid member token change nothing.
    let forged = server
        .req("GET", "/resource_providers")
        .header("x-auth-token", &member)
        .header("x-roles", "admin,service")
        .header("x-service-roles", "admin")
        .header("x-project-id", keystone.id("projects", "admin").as_str())
        .header("x-user-id", keystone.id("users", "admin").as_str())
        .header("x-identity-status", "Confirmed")
        .header("x-is-admin-project", "True")
        .header("x-tenant-id", "x")
        .send();
    assert_eq!(forged.status, 403, "{}", forged.text);
    let other = format!("/usages?project_id={}", keystone.id("projects", "admin"));
    let forged = server
        .req("GET", &other)
        .version("1.9")
        .header("x-auth-token", &reader)
        .header("x-project-id", keystone.id("projects", "admin").as_str())
        .header("x-tenant-id", keystone.id("projects", "admin").as_str())
        .send();
    assert_eq!(forged.status, 403);
    // Two user tokens are no token.
    let twice = server.req("GET", "/resource_providers").header("x-auth-token", &admin).also("x-auth-token", &admin);
    assert_refused(&twice.send(), &keystone);

    // X-Service-Token: a valid service token with the service role is
    // accepted beside the user's; decisions stay the user's.
    let both = |user: &str, service: &str| {
        server.req("GET", "/resource_providers").header("x-auth-token", user).header("x-service-token", service).send()
    };
    assert_eq!(both(&admin, &nova).status, 200);
    assert_eq!(both(&member, &nova).status, 403);
    // An invalid service token, or one without the service role, makes
    // the request unauthenticated even with a good user token.
    assert_refused(&both(&admin, "garbage"), &keystone);
    assert_refused(&both(&admin, &member), &keystone);
    // Neither token is ever logged.
    let log = server.log_text();
    for token in [&admin, &member, &reader, &nova] {
        assert!(!log.contains(token.as_str()), "a token was logged");
    }
}

#[test]
fn keystone_service_tokens_without_the_role_when_not_required() {
    let keystone = Keystone::start(3600);
    let server = server(&keystone, "service_token_roles_required = False", "");
    let admin = keystone.token("admin", "admin");
    let member = keystone.token("member", "demo");
    let status = server
        .req("GET", "/resource_providers")
        .header("x-auth-token", &admin)
        .header("x-service-token", &member)
        .send()
        .status;
    assert_eq!(status, 200);
}

#[test]
fn keystone_expired_tokens_are_refused_unless_a_service_vouches() {
    // Tokens (the service's own included) live 10 s here: long enough to
    // be used on a busy CI machine (4 s was seen to expire before its
    // first use), short enough to wait out.
    let keystone = Keystone::start(10);
    let server = server(&keystone, "", "");
    let admin = keystone.token("admin", "admin");
    assert_eq!(list(&server, &admin), 200);
    std::thread::sleep(Duration::from_secs(11));
    // Expired (and never served from the cache past its expiry).
    assert_refused(&server.req("GET", "/resource_providers").header("x-auth-token", &admin).send(), &keystone);
    // The service renewed its own token: a fresh user token works.
    assert_eq!(list(&server, &keystone.token("admin", "admin")), 200);
    // A service passing on an expired user token with its own valid
    // token (allow_expired) is accepted.
    let nova = keystone.token("nova", "service");
    let vouched =
        server.req("GET", "/resource_providers").header("x-auth-token", &admin).header("x-service-token", &nova).send();
    assert_eq!(vouched.status, 200, "{}", vouched.text);
}

#[test]
fn keystone_revoked_tokens_stop_working() {
    let keystone = Keystone::start(3600);
    // Without a cache: at once.
    let uncached = server(&keystone, "token_cache_time = -1", "");
    let token = keystone.token("admin", "admin");
    assert_eq!(list(&uncached, &token), 200);
    keystone.revoke(&token);
    assert_eq!(list(&uncached, &token), 401);
    drop(uncached);

    // With a 3 s cache: within 3 s.
    let cached = server(&keystone, "token_cache_time = 3", "");
    let token = keystone.token("admin", "admin");
    assert_eq!(list(&cached, &token), 200);
    keystone.revoke(&token);
    assert_eq!(list(&cached, &token), 200, "still remembered");
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(list(&cached, &token), 401);
}

#[test]
fn keystone_down_is_503_and_recovery_needs_no_restart() {
    let mut keystone = Keystone::start(3600);
    let server = server(&keystone, "", "");
    let known = keystone.token("admin", "admin");
    let new = keystone.token("nova", "service");
    assert_eq!(list(&server, &known), 200);
    keystone.stop();
    // A token validated before is still known; a new one cannot be
    // checked: 503, in webob's shape, with no WWW-Authenticate.
    assert_eq!(list(&server, &known), 200);
    let down = server.req("GET", "/resource_providers").header("x-auth-token", &new).send();
    assert_eq!(down.status, 503, "{}", down.text);
    assert_eq!(down.json["title"], "Service Unavailable");
    assert!(down.json["message"].as_str().unwrap().contains("The Keystone service is temporarily unavailable."));
    assert_eq!(down.header("www-authenticate"), None);
    keystone.resume();
    assert_eq!(list(&server, &new), 200);
    assert!(server.log_text().contains("cannot validate a token"));
}

#[test]
fn keystone_legacy_defaults_and_scope_off() {
    let keystone = Keystone::start(3600);
    let server = server(&keystone, "", "[oslo_policy]\nenforce_new_defaults = False\nenforce_scope = False\n");
    // Without scope enforcement the system admin is an admin; with the
    // legacy defaults members still are not.
    assert_eq!(list(&server, &keystone.system_token("admin")), 200);
    assert_eq!(list(&server, &keystone.token("member", "demo")), 403);
    let demo = keystone.id("projects", "demo");
    let usages = format!("/usages?project_id={demo}");
    let reader = keystone.token("reader", "demo");
    server.req("GET", &usages).header("x-auth-token", &reader).version("1.9").send().expect(200);
}

#[test]
fn keystone_openstack_cli_lists_providers() {
    let keystone = Keystone::start(3600);
    let server = server(&keystone, "", "");
    keystone.register("placement", &server.base);
    let admin = keystone.token("admin", "admin");
    server
        .req("POST", "/resource_providers")
        .header("x-auth-token", &admin)
        .json(json!({"name": "from-the-cli-test"}))
        .send()
        .expect(201);
    let out = Command::new(keystone.venv().join("bin/openstack"))
        .args(["--os-auth-url", &format!("{}/v3", keystone.url()), "--os-identity-api-version", "3"])
        .args(["--os-username", "admin", "--os-password", "admin", "--os-project-name", "admin"])
        .args(["--os-user-domain-id", "default", "--os-project-domain-id", "default"])
        .args(["--os-interface", "public", "--os-region-name", "RegionOne"])
        .args(["resource", "provider", "list", "-f", "json"])
        .output()
        .expect("run openstack");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let providers: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(providers[0]["name"], "from-the-cli-test");
    // A member's token is refused with the policy's 403, as the CLI shows.
    let out = Command::new(keystone.venv().join("bin/openstack"))
        .args(["--os-auth-url", &format!("{}/v3", keystone.url()), "--os-identity-api-version", "3"])
        .args(["--os-username", "member", "--os-password", "member", "--os-project-name", "demo"])
        .args(["--os-user-domain-id", "default", "--os-project-domain-id", "default"])
        .args(["--os-interface", "public", "--os-region-name", "RegionOne"])
        .args(["resource", "provider", "list"])
        .output()
        .expect("run openstack");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Policy does not allow"), "{out:?}");
}

#[test]
fn keystone_over_tls_with_cafile() {
    let mut keystone = Keystone::start(3600);
    let tls = keystone.tls_endpoint();
    let token = keystone.token("admin", "admin");
    // From here on Keystone answers only over TLS.
    keystone.stop();
    let config = |extra: &str| {
        format!(
            "[api]\nauth_strategy = keystone\n[keystone_authtoken]\nauth_type = password\nauth_url = {}\n\
             username = placement\npassword = placement\nuser_domain_name = Default\nproject_name = service\n\
             project_domain_name = Default\nhttp_request_max_retries = 0\n{extra}\n",
            tls.url
        )
    };
    let trusted = Server::start(Backend::Sqlite, &config(&format!("cafile = {}", tls.ca.display())));
    assert_eq!(list(&trusted, &token), 200);
    // The system's roots do not include the test's CA: 503, and why.
    let untrusted = Server::start(Backend::Sqlite, &config(""));
    assert_eq!(list(&untrusted, &token), 503);
    assert!(untrusted.log_text().to_lowercase().contains("certificate"), "{}", untrusted.log_text());
    let insecure = Server::start(Backend::Sqlite, &config("insecure = True"));
    assert_eq!(list(&insecure, &token), 200);
}

#[test]
fn noauth2_repeated_identity_headers_are_refused() {
    let server = Server::start(Backend::Sqlite, "");
    let twice = server.req("GET", "/resource_providers").header("x-auth-token", "admin").also("x-roles", "admin");
    let refused = twice.also("x-roles", "reader").send().expect(400);
    assert!(refused.text.contains("X-Roles") || refused.text.contains("x-roles"), "{}", refused.text);
    let twice = server.req("GET", "/resource_providers").header("x-auth-token", "admin").also("x-auth-token", "u");
    twice.send().expect(400);
    let twice = server
        .req("GET", "/resource_providers")
        .header("x-auth-token", "admin")
        .also("x-project-id", "a")
        .also("x-project-id", "b");
    twice.send().expect(400);
    // One of each is as before.
    server
        .req("GET", "/resource_providers")
        .header("x-auth-token", "admin")
        .header("x-roles", "admin")
        .send()
        .expect(200);
    server.req("GET", "/resource_providers").header("x-auth-token", "u").header("x-roles", "member").send().expect(403);
}

#[test]
fn keystone_misconfiguration_stops_start_up() {
    let scratch = crate::support::Scratch::new("misconfigured");
    let url = format!("sqlite:///{}", scratch.0.join("p.db").display());
    let conf =
        "[api]\nauth_strategy = keystone\n[keystone_authtoken]\nauth_type = token\nauth_url = http://127.0.0.1:9\n";
    let mut broken = Server::launch_on(&url, conf);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while broken.is_running() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!broken.is_running());
    assert!(broken.log_text().contains("[keystone_authtoken] auth_type"), "{}", broken.log_text());
}
