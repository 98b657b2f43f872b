//! Test support: start the real `placement-api` binary on a fresh database
//! of each backend and speak HTTP to it.
//!
//! PostgreSQL and MariaDB are used when reachable (override the admin URLs
//! with PLACEMENT_TEST_POSTGRES_URL and PLACEMENT_TEST_MYSQL_URL). A test on
//! an unreachable backend is skipped, unless
//! PLACEMENT_TEST_REQUIRE_ALL_BACKENDS=1, when it fails.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use placement_storage::DatabaseUrl;
use serde_json::Value;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    /// The URL of database `name` on this backend's test server.
    pub fn url_of(self, name: &str) -> Option<String> {
        let admin = self.admin_url()?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(format!("{base}/{name}"))
    }

    fn admin_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                std::env::var("PLACEMENT_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into()),
            ),
            Backend::Mysql => Some(
                std::env::var("PLACEMENT_TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into()),
            ),
        }
    }

    /// Why this backend cannot be used here, if it cannot.
    pub fn unavailable(self) -> Option<String> {
        static PG: OnceLock<Option<String>> = OnceLock::new();
        static MY: OnceLock<Option<String>> = OnceLock::new();
        let cell = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => &PG,
            Backend::Mysql => &MY,
        };
        cell.get_or_init(|| {
            let url = DatabaseUrl::parse(&self.admin_url()?).ok()?;
            placement_storage::conn::execute_once(&url, "SELECT 1").err().map(|e| e.to_string())
        })
        .clone()
    }
}

/// Run `scenario` against a fresh server on `backend`, or skip.
pub fn run(backend: Backend, scenario: impl FnOnce(&Server)) {
    if !usable(backend) {
        return;
    }
    let server = Server::start(backend, "");
    scenario(&server);
}

/// Whether `backend` can be tested here; says why not (SKIP), or fails
/// the test under PLACEMENT_TEST_REQUIRE_ALL_BACKENDS=1.
pub fn usable(backend: Backend) -> bool {
    let Some(why) = backend.unavailable() else { return true };
    if std::env::var("PLACEMENT_TEST_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1") {
        panic!("{backend:?} is required but unavailable: {why}");
    }
    eprintln!("SKIP: {backend:?} unavailable: {why}");
    // nextest hides a passing test's stderr: `make test` sums these up.
    if let Some(path) = std::env::var_os("PLACEMENT_TEST_SKIP_LOG") {
        use std::io::Write;
        let line = format!("{backend:?}\t{}\n", why.replace(['\n', '\t'], " "));
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
    false
}

/// Expand scenarios into one test per backend.
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use $crate::support::{run, Backend};
                #[test]
                fn sqlite() { run(Backend::Sqlite, super::$scenario) }
                #[test]
                fn postgresql() { run(Backend::Postgres, super::$scenario) }
                #[test]
                fn mysql() { run(Backend::Mysql, super::$scenario) }
            }
        )*
    };
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A private scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("placement-e2e-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // PLACEMENT_TEST_KEEP=1 keeps configurations and server logs for a
        // post-mortem.
        if std::env::var_os("PLACEMENT_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    pub url: String,
    admin: Option<(DatabaseUrl, String)>,
}

impl TestDatabase {
    pub fn create(backend: Backend, scratch: &Scratch) -> TestDatabase {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("placement_e2e_{}_{n}", std::process::id());
        match backend {
            Backend::Sqlite => {
                TestDatabase { url: format!("sqlite:///{}/placement.db", scratch.0.display()), admin: None }
            }
            _ => {
                let admin_text = backend.admin_url().expect("admin url");
                let admin = DatabaseUrl::parse(&admin_text).expect("admin url parses");
                placement_storage::conn::execute_once(&admin, &format!("DROP DATABASE IF EXISTS {name}"))
                    .and_then(|_| placement_storage::conn::execute_once(&admin, &format!("CREATE DATABASE {name}")))
                    .expect("create test database");
                TestDatabase { url: backend.url_of(&name).expect("server url"), admin: Some((admin, name)) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.admin {
            let _ = placement_storage::conn::execute_once(admin, &format!("DROP DATABASE IF EXISTS {name}"));
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn binary(name: &str) -> PathBuf {
    let api = PathBuf::from(env!("CARGO_BIN_EXE_placement-api"));
    api.with_file_name(name)
}

/// A running server; killed (and its database dropped) on drop.
pub struct Server {
    child: Child,
    pub base: String,
    config: PathBuf,
    log: PathBuf,
    // Held so the database and files outlive the processes using them.
    _db: Option<TestDatabase>,
    _scratch: Option<Scratch>,
}

impl Server {
    /// Start on a fresh database with noauth2 and schema sync; `extra` is
    /// appended to the configuration file.
    pub fn start(backend: Backend, extra: &str) -> Server {
        let scratch = Scratch::new("server");
        let db = TestDatabase::create(backend, &scratch);
        let config = scratch.0.join("placement.conf");
        std::fs::write(
            &config,
            format!(
                "[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = {}\nsync_on_startup = True\n{extra}",
                db.url
            ),
        )
        .expect("write config");
        Server::spawn(config, Some(db), Some(scratch))
    }

    /// Another server process on the same database. Drop it before the
    /// server it came from.
    pub fn sibling(&self) -> Server {
        Server::spawn(self.config.clone(), None, None)
    }

    /// Start (without waiting for it to answer) on a database the caller
    /// owns, with `extra` appended to the configuration.
    pub fn launch_on(url: &str, extra: &str) -> Server {
        let scratch = Scratch::new("server");
        let config = scratch.0.join("placement.conf");
        std::fs::write(
            &config,
            format!("[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = {url}\nsync_on_startup = True\n{extra}"),
        )
        .expect("write config");
        Server::launch(config, None, Some(scratch))
    }

    fn spawn(config: PathBuf, db: Option<TestDatabase>, scratch: Option<Scratch>) -> Server {
        let mut server = Server::launch(config, db, scratch);
        server.wait_ready();
        server
    }

    fn launch(config: PathBuf, db: Option<TestDatabase>, scratch: Option<Scratch>) -> Server {
        let port = free_port();
        // A file, not a pipe: nobody drains a pipe, and a full one would
        // block the server on its next log line.
        let log = config.with_file_name(format!("server-{port}.log"));
        let child = Command::new(binary("placement-api"))
            .args(["--config-file", &config.display().to_string(), "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log file"))
            .spawn()
            .expect("spawn placement-api");
        let base = format!("http://127.0.0.1:{port}");
        Server { child, base, config, log, _db: db, _scratch: scratch }
    }

    /// Another Placement (upstream's, say) already started as `child`,
    /// answering at `base` and logging to `log`, held like ours.
    pub fn adopt(child: Child, base: String, log: PathBuf, scratch: Scratch) -> Server {
        let config = scratch.0.join("placement.conf");
        Server { child, base, config, log, _db: None, _scratch: Some(scratch) }
    }

    /// The database this server was started on, when it made its own.
    pub fn database_url(&self) -> Option<&str> {
        self._db.as_ref().map(|db| db.url.as_str())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A figure of the server's /proc status (`"VmRSS:"`, `"Threads:"`),
    /// in its unit (kB for memory); `None` once the process is gone.
    pub fn status_figure(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status.lines().find_map(|l| l.strip_prefix(field))?.split_whitespace().next()?.parse().ok()
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait until the server answers `GET /` (60 s at most).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Ok(mut f) = std::fs::File::open(&self.log) {
                    let _ = f.read_to_string(&mut err);
                }
                panic!("placement-api exited with {status}: {err}");
            }
            if ureq::get(&format!("{}/", self.base)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("placement-api did not answer within 60s");
    }

    /// A request written by hand on a TCP connection, for what HTTP client
    /// libraries refuse to send (a request line over 64 KiB): the status
    /// and the body.
    pub fn raw_request(&self, head: &str) -> (u16, String) {
        use std::io::Write;
        let address = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let request = format!("{head}\r\nhost: {address}\r\nx-auth-token: admin\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string());
        (status, body)
    }

    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            server: self,
            method: method.to_string(),
            path: path.to_string(),
            headers: vec![("x-auth-token".into(), "admin".into()), ("accept".into(), "application/json".into())],
            body: None,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Req<'a> {
    server: &'a Server,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req<'_> {
    pub fn version(self, v: &str) -> Self {
        self.header("openstack-api-version", &format!("placement {v}"))
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    /// One more header of this name, beside any already set.
    pub fn also(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn without(mut self, k: &str) -> Self {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.header("content-type", "application/json")
    }

    /// A body as it is, with whatever headers the caller sets.
    pub fn raw(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    pub fn send(self) -> Resp {
        self.try_send().expect("HTTP exchange")
    }

    /// Send, returning a transport failure (refused, reset, 30 s without
    /// an answer) as an error instead of failing the test.
    pub fn try_send(self) -> Result<Resp, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let url = format!("{}{}", self.server.base, self.path);
        let mut builder = ureq::http::Request::builder().method(self.method.as_str()).uri(&url);
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder.body(self.body.unwrap_or_default()).expect("request");
        let mut response = agent.run(request).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok(Resp { status, headers, json: serde_json::from_str(&text).unwrap_or(Value::Null), text })
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub json: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `code` of the first error.
    pub fn code(&self) -> &str {
        self.json["errors"][0]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }
}

/// A tiny deterministic generator (xorshift), seeded per client or run.
pub struct Rng(pub u64);

impl Rng {
    pub fn raw(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn next(&mut self, n: u64) -> u64 {
        self.raw() % n
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.raw() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
