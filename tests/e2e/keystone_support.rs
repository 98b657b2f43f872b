//! A real Keystone per test: the template that `scripts/keystone/setup`
//! prepares once (virtualenv from PyPI, SQLite database, fernet keys,
//! users), copied and served by gunicorn on a port of the test's own, so
//! a test may stop, restart or reconfigure its Keystone freely.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Scratch, free_port};

struct Prepared {
    venv: PathBuf,
    template: PathBuf,
}

fn prepared() -> &'static Prepared {
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/keystone/setup");
        let out = Command::new(&script).stderr(Stdio::inherit()).output().expect("run scripts/keystone/setup");
        assert!(out.status.success(), "scripts/keystone/setup failed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let value =
            |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(PathBuf::from).expect("setup output");
        Prepared { venv: value("VENV="), template: value("TEMPLATE=") }
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read template") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub struct Keystone {
    dir: Scratch,
    pub port: u16,
    expiration: u32,
    child: Option<Child>,
    users: Value,
}

impl Keystone {
    /// A Keystone whose tokens live `expiration` seconds.
    pub fn start(expiration: u32) -> Keystone {
        let prepared = prepared();
        let dir = Scratch::new("keystone");
        copy_dir(&prepared.template, &dir.0);
        let users: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.0.join("users.json")).expect("users.json")).unwrap();
        let mut keystone = Keystone { dir, port: free_port(), expiration, child: None, users };
        keystone.resume();
        keystone
    }

    /// Start serving again (on the same port, with the same data).
    pub fn resume(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/keystone/fixture.py");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.0.join("keystone.log"))
            .expect("keystone log");
        let child = Command::new(prepared().venv.join("bin/python"))
            .arg(script)
            .args(["serve", &prepared().venv.display().to_string(), &self.dir.0.display().to_string()])
            .args([self.port.to_string(), self.expiration.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keystone");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if ureq::get(&format!("{}/v3", self.url())).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("keystone did not answer within 90 s: {}", self.log_text());
    }

    /// Stop serving: SIGTERM, so that gunicorn takes its worker down too
    /// (a killed master leaves a worker answering for a while).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("keystone.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn id(&self, kind: &str, name: &str) -> String {
        self.users[kind][name].as_str().expect("known name").to_string()
    }

    /// `[api]` and `[keystone_authtoken]` for a server that validates
    /// with this Keystone as the `placement` service user.
    pub fn config(&self, extra_authtoken: &str) -> String {
        format!(
            "[api]\nauth_strategy = keystone\n[keystone_authtoken]\nwww_authenticate_uri = {url}/v3\n\
             auth_type = password\nauth_url = {url}\nusername = placement\npassword = placement\n\
             user_domain_name = Default\nproject_name = service\nproject_domain_name = Default\n\
             http_request_max_retries = 1\n{extra_authtoken}\n",
            url = self.url()
        )
    }

    fn issue(&self, auth: Value) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let response = agent
            .post(&format!("{}/v3/auth/tokens", self.url()))
            .header("content-type", "application/json")
            .send(auth.to_string())
            .expect("keystone");
        assert_eq!(response.status().as_u16(), 201, "token refused for {auth}");
        response.headers().get("x-subject-token").and_then(|v| v.to_str().ok()).expect("token").to_string()
    }

    fn identity(user: &str) -> Value {
        json!({"methods": ["password"],
               "password": {"user": {"name": user, "domain": {"id": "default"}, "password": user}}})
    }

    /// A token of `user` (password: the user name) scoped to `project`.
    pub fn token(&self, user: &str, project: &str) -> String {
        self.issue(json!({"auth": {"identity": Self::identity(user),
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}))
    }

    pub fn system_token(&self, user: &str) -> String {
        self.issue(json!({"auth": {"identity": Self::identity(user), "scope": {"system": {"all": true}}}}))
    }

    pub fn unscoped_token(&self, user: &str) -> String {
        self.issue(json!({"auth": {"identity": Self::identity(user)}}))
    }

    /// Revoke `token` as the admin would.
    pub fn revoke(&self, token: &str) {
        let admin = self.token("admin", "admin");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let response = agent
            .delete(&format!("{}/v3/auth/tokens", self.url()))
            .header("x-auth-token", &admin)
            .header("x-subject-token", token)
            .call()
            .expect("keystone");
        assert_eq!(response.status().as_u16(), 204);
    }

    /// Add `service` of `kind` with a public endpoint at `url` to the
    /// catalog, as a deployment registers Placement.
    pub fn register(&self, kind: &str, url: &str) {
        let admin = self.token("admin", "admin");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response = agent
            .post(&format!("{}/v3/services", self.url()))
            .header("x-auth-token", &admin)
            .header("content-type", "application/json")
            .send(json!({"service": {"type": kind, "name": kind}}).to_string())
            .expect("keystone");
        let service: Value = serde_json::from_str(&response.body_mut().read_to_string().expect("body")).unwrap();
        for interface in ["public", "internal"] {
            let response = agent
                .post(&format!("{}/v3/endpoints", self.url()))
                .header("x-auth-token", &admin)
                .header("content-type", "application/json")
                .send(
                    json!({"endpoint": {"service_id": service["service"]["id"], "interface": interface,
                                        "url": url, "region_id": "RegionOne"}})
                    .to_string(),
                )
                .expect("keystone");
            assert_eq!(response.status().as_u16(), 201);
        }
    }

    pub fn venv(&self) -> &Path {
        &prepared().venv
    }

    /// The same Keystone also served over HTTPS, with a certificate for
    /// 127.0.0.1 from a CA of the test's own (its catalog then names the
    /// https endpoint).
    pub fn tls_endpoint(&self) -> TlsEndpoint {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/keystone/fixture.py");
        let certs = self.dir.0.join("certs");
        let made = Command::new(prepared().venv.join("bin/python")).arg(&script).arg("certs").arg(&certs).status();
        assert!(made.expect("run fixture.py certs").success());
        let port = free_port();
        let log = std::fs::File::create(self.dir.0.join("keystone-tls.log")).expect("log");
        let child = Command::new(prepared().venv.join("bin/python"))
            .arg(&script)
            .args(["serve", &prepared().venv.display().to_string(), &self.dir.0.display().to_string()])
            .args([port.to_string(), self.expiration.to_string()])
            .env("KEYSTONE_TLS_DIR", &certs)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keystone over TLS");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "keystone over TLS did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        TlsEndpoint { child, url: format!("https://127.0.0.1:{port}"), ca: certs.join("ca.pem") }
    }
}

pub struct TlsEndpoint {
    child: Child,
    pub url: String,
    pub ca: PathBuf,
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Keystone {
    fn drop(&mut self) {
        self.stop();
    }
}
