//! A database server of the test's own (PostgreSQL or MariaDB, from the
//! machine's packages) on a port of its own, so a test can stop, kill and
//! restart it without touching the shared servers other tests use.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Backend, Scratch, free_port};

pub struct PrivateDb {
    pub backend: Backend,
    scratch: Scratch,
    pub port: u16,
    /// The MariaDB server process (PostgreSQL's is found by its pid file).
    mariadb: Option<Child>,
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest installed PostgreSQL's programs.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    dirs.pop()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// PostgreSQL refuses to run as root: run its programs as `postgres`.
fn pg_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PrivateDb {
    /// Start a fresh server, or say why this machine cannot.
    pub fn start(backend: Backend) -> Result<PrivateDb, String> {
        let scratch = Scratch::new("privatedb");
        let port = free_port();
        let mut db = PrivateDb { backend, scratch, port, mariadb: None };
        match backend {
            Backend::Postgres => {
                let bin = pg_bin().ok_or("no PostgreSQL server programs under /usr/lib/postgresql")?;
                if is_root() {
                    run(Command::new("chown").args(["-R", "postgres"]).arg(&db.scratch.0))?;
                }
                run(pg_command(&bin.join("initdb"))
                    .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
                    .arg(db.data_dir()))?;
            }
            Backend::Mysql => {
                run(Command::new("mariadb-install-db")
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", db.data_dir().display()))
                    .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                    .args(if is_root() { vec!["--user=root"] } else { vec![] }))?;
            }
            Backend::Sqlite => return Err("SQLite has no server".into()),
        }
        db.start_again()?;
        Ok(db)
    }

    fn data_dir(&self) -> PathBuf {
        self.scratch.0.join("data")
    }

    /// A connection URL for database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("postgresql://postgres@127.0.0.1:{}/{name}", self.port),
            _ => format!("mysql+pymysql://root@127.0.0.1:{}/{name}?charset=utf8", self.port),
        }
    }

    pub fn create_database(&self, name: &str) -> Result<(), String> {
        let admin = match self.backend {
            Backend::Postgres => self.url("postgres"),
            _ => self.url("mysql"),
        };
        let admin = placement_storage::DatabaseUrl::parse(&admin)?;
        placement_storage::conn::execute_once(&admin, &format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())
    }

    /// Start the (stopped) server and wait until it takes connections.
    pub fn start_again(&mut self) -> Result<(), String> {
        match self.backend {
            Backend::Postgres => {
                let bin = pg_bin().ok_or("no PostgreSQL")?;
                let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.scratch.0.display());
                run(pg_command(&bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(self.data_dir())
                    .arg("-l")
                    .arg(self.scratch.0.join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]))?;
            }
            _ => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.scratch.0.join("server.log"))
                    .map_err(|e| e.to_string())?;
                let child = Command::new("mariadbd")
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data_dir().display()))
                    .arg(format!("--socket={}", self.scratch.0.join("mysqld.sock").display()))
                    .arg(format!("--pid-file={}", self.scratch.0.join("mysqld.pid").display()))
                    .arg(format!("--port={}", self.port))
                    .args(["--bind-address=127.0.0.1", "--skip-log-bin", "--innodb-buffer-pool-size=64M"])
                    .args(if is_root() { vec!["--user=root"] } else { vec![] })
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .map_err(|e| format!("mariadbd: {e}"))?;
                self.mariadb = Some(child);
                self.wait_accepting(Duration::from_secs(60))?;
            }
        }
        Ok(())
    }

    fn wait_accepting(&self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let admin = placement_storage::DatabaseUrl::parse(&self.url("mysql"))?;
        loop {
            match placement_storage::conn::execute_once(&admin, "SELECT 1") {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(format!("database did not start: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A clean shutdown (connections are closed by the server).
    pub fn stop(&mut self) {
        match self.backend {
            Backend::Postgres => {
                if let Some(bin) = pg_bin() {
                    let _ = run(pg_command(&bin.join("pg_ctl"))
                        .arg("-D")
                        .arg(self.data_dir())
                        .args(["-m", "fast", "-w", "-t", "60", "stop"]));
                }
            }
            _ => {
                let _ = run(Command::new("mariadb-admin").args([
                    "-h",
                    "127.0.0.1",
                    "-u",
                    "root",
                    "-P",
                    &self.port.to_string(),
                    "shutdown",
                ]));
                if let Some(mut child) = self.mariadb.take() {
                    let _ = child.wait();
                }
            }
        }
    }

    /// SIGKILL the server and every process of it, as a crash would.
    pub fn kill(&mut self) {
        match self.backend {
            Backend::Postgres => {
                let pid_file = self.data_dir().join("postmaster.pid");
                let pid = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.lines().next().map(str::to_string));
                if let Some(pid) = pid {
                    // The backends first, then the postmaster, so nothing
                    // is left holding the shared memory the restart needs.
                    let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
                    let _ = Command::new("kill").args(["-KILL", &pid]).status();
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while Command::new("kill").args(["-0", &pid]).status().is_ok_and(|s| s.success())
                        && Instant::now() < deadline
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            _ => {
                if let Some(mut child) = self.mariadb.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}

impl Drop for PrivateDb {
    fn drop(&mut self) {
        self.kill();
    }
}
