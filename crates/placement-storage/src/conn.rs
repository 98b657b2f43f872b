//! One connection type over every backend, and an r2d2 pool of it that
//! survives the database going away: a connection that failed is dropped,
//! an outage is noticed once and answered fast, and the pool reconnects by
//! itself when the database is back.

// diesel's `MultiConnection` derive re-exports undocumented items here
// (`MultiBackend`, `MultiRow`, ...); this module's own items are documented.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::health::Health;
use crate::url::{Backend, DatabaseUrl};

/// A connection to whichever database the configuration names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// A SQLite database, in a file or in memory.
    Sqlite(diesel::SqliteConnection),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgresql(diesel::PgConnection),
    /// A MySQL or MariaDB server, Galera cluster nodes included.
    #[cfg(feature = "mysql")]
    Mysql(diesel::MysqlConnection),
}

impl DbConnection {
    /// The database engine this connection is to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            DbConnection::Postgresql(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            DbConnection::Mysql(_) => Backend::Mysql,
        }
    }
}

/// A pooled connection and what the pool needs to know about it.
pub struct PoolConn {
    /// The connection itself.
    pub conn: DbConnection,
    /// Set when the connection failed in a way that leaves it unusable (the
    /// server went away, a rollback failed): the pool drops it on return.
    pub broken: bool,
    /// The pool's loss count when this connection was last known good; a
    /// later loss means it is pinged before its next use.
    pub(crate) seen_losses: u64,
    /// A node of a Galera cluster (`wsrep_on`): its write transactions
    /// need guarding (see `tx`).
    pub(crate) galera: bool,
}

impl PoolConn {
    /// A round trip that fails if the server has gone.
    fn ping(&mut self) -> Result<(), diesel::result::Error> {
        self.conn.batch_execute("SELECT 1")
    }
}

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// Seconds libpq waits to open a connection when the URL does not say.
#[cfg(feature = "postgres")]
const PG_CONNECT_TIMEOUT_S: u32 = 5;

/// Opens connections for the pool, choosing the backend from the URL so a
/// wrong password or an unreachable server is reported as such.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    health: std::sync::Arc<Health>,
    sqlite_synchronous: bool,
}

impl ConnectionManager {
    /// A manager for connections to `url` outside the pool (whose own
    /// [`build_pool`] makes): health of its own, SQLite commits waiting for
    /// the disk.
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url, health: Default::default(), sqlite_synchronous: true }
    }

    /// Open one connection, set up as pooled ones are.
    pub fn establish(&self) -> Result<DbConnection, ConnectionError> {
        self.open().map(|(conn, _)| conn)
    }

    /// A set-up connection, and whether it is to a Galera node.
    fn open(&self) -> Result<(DbConnection, bool), ConnectionError> {
        let mut conn = match self.url.backend {
            Backend::Sqlite => DbConnection::Sqlite(diesel::SqliteConnection::establish(&self.url.diesel_url)?),
            #[cfg(feature = "postgres")]
            Backend::Postgres => DbConnection::Postgresql(diesel::PgConnection::establish(&pg_url(&self.url))?),
            #[cfg(feature = "mysql")]
            Backend::Mysql => DbConnection::Mysql(diesel::MysqlConnection::establish(&self.url.diesel_url)?),
            #[allow(unreachable_patterns)]
            other => return Err(ConnectionError::BadConnection(not_built(other))),
        };
        conn.batch_execute(&session_setup(self.url.backend, self.sqlite_synchronous))
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        let galera = galera_session(&mut conn)?;
        Ok((conn, galera))
    }
}

/// How an error says the URL names a backend this build left out: no
/// retry can help, so the server fails at once (see `error`).
pub(crate) const NOT_BUILT: &str = "this build has no";

pub(crate) fn not_built(backend: Backend) -> String {
    let feature = if backend == Backend::Postgres { "postgres" } else { "mysql" };
    format!("{NOT_BUILT} {backend} support; rebuild with the `{feature}` feature of placement-server")
}

/// libpq waits for ever on a server that does not answer unless told.
#[cfg(feature = "postgres")]
fn pg_url(url: &DatabaseUrl) -> String {
    let text = &url.diesel_url;
    if text.contains("connect_timeout=") {
        return text.clone();
    }
    let sep = if text.contains('?') { '&' } else { '?' };
    format!("{text}{sep}connect_timeout={PG_CONNECT_TIMEOUT_S}")
}

/// Per-session settings, matching what oslo.db sets for upstream. SQLite
/// gets a busy timeout first, then WAL so readers proceed while one writer
/// holds the lock. Every commit reaches the disk (synchronous FULL) unless
/// `sqlite_synchronous` is off, as oslo.db turns it off: NORMAL would lose
/// the last commits when the disk fails or the power goes.
fn session_setup(backend: Backend, sqlite_synchronous: bool) -> String {
    match backend {
        Backend::Sqlite => format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = {}",
            if sqlite_synchronous { "FULL" } else { "OFF" }
        ),
        Backend::Postgres => "SET TIME ZONE 'UTC'".to_string(),
        Backend::Mysql => "SET SESSION sql_mode = 'TRADITIONAL'; SET SESSION time_zone = '+00:00'".to_string(),
    }
}

/// Set once a connection of this process found itself on a Galera node.
#[cfg(feature = "mysql")]
static GALERA_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process's database is a Galera cluster (as far as its
/// connections have seen).
#[cfg(feature = "mysql")]
pub(crate) fn on_galera() -> bool {
    GALERA_SEEN.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether `conn` is to a Galera node; if so, its reads (and the start
/// of every transaction) wait until the node has applied every write
/// committed anywhere in the cluster before them (`wsrep_sync_wait = 1`):
/// without it, a server on one node does not see an allocation another
/// server just wrote through another node.
#[cfg_attr(not(feature = "mysql"), allow(clippy::unnecessary_wraps))]
fn galera_session(conn: &mut DbConnection) -> Result<bool, ConnectionError> {
    #[cfg(feature = "mysql")]
    if let DbConnection::Mysql(my) = conn {
        #[derive(QueryableByName)]
        struct Wsrep {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            on: i64,
        }
        // MySQL without Galera lacks the variable.
        let on = match diesel::sql_query("SELECT @@wsrep_on AS `on`").get_result::<Wsrep>(my) {
            Ok(w) => w.on == 1,
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("Unknown system variable") =>
            {
                false
            }
            Err(e) => return Err(ConnectionError::CouldntSetupConfiguration(e)),
        };
        if on {
            my.batch_execute("SET SESSION wsrep_sync_wait = 1").map_err(ConnectionError::CouldntSetupConfiguration)?;
            GALERA_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        return Ok(on);
    }
    let _ = conn;
    Ok(false)
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PoolConn, ConnectionError> {
        match self.open() {
            Ok((conn, galera)) => {
                self.health.connected();
                Ok(PoolConn { conn, broken: false, seen_losses: self.health.losses(), galera })
            }
            Err(e) => {
                self.health.connect_failed(&e.to_string());
                Err(e)
            }
        }
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectionError> {
        conn.ping().map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        // r2d2 also calls this for a connection dropped while a panic
        // unwinds through its user; its transaction state is unknown.
        conn.broken || std::thread::panicking()
    }
}

/// Open one connection and run `sql` on it, outside any transaction (for
/// administrative statements such as creating a database).
pub fn execute_once(url: &DatabaseUrl, sql: &str) -> Result<(), crate::StorageError> {
    let mut conn =
        ConnectionManager::new(url.clone()).establish().map_err(|e| crate::StorageError::Unavailable(e.to_string()))?;
    conn.batch_execute(sql)?;
    Ok(())
}

/// An r2d2 pool of connections, made by [`build_pool`].
pub type Pool = r2d2::Pool<ConnectionManager>;
/// A connection checked out of a [`Pool`], returned to it on drop.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Pool sizing and timing, from upstream's `[placement_database]` options.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolOptions {
    /// Most connections open at once (`max_pool_size` + `max_overflow`).
    pub max_size: u32,
    /// Longest wait for a free connection (`pool_timeout`).
    pub checkout_timeout: Duration,
    /// Longest pause between reconnection attempts while the database is
    /// unreachable (`db_retry_interval`).
    pub reconnect_interval: Duration,
    /// Connections older than this are closed and replaced
    /// (`connection_recycle_time`).
    pub recycle_time: Option<Duration>,
    /// SQLite commits wait for the disk (`sqlite_synchronous`).
    pub sqlite_synchronous: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 20,
            checkout_timeout: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(1),
            recycle_time: Some(Duration::from_secs(3600)),
            sqlite_synchronous: true,
        }
    }
}

/// Build a pool. In-memory SQLite gets a single connection, since each
/// connection would otherwise see its own empty database. No connection
/// is opened here: a database that is down at start-up is the caller's
/// to wait for.
pub fn build_pool(
    url: DatabaseUrl,
    options: &PoolOptions,
    health: std::sync::Arc<Health>,
) -> Result<Pool, r2d2::Error> {
    let size = if url.is_sqlite_memory() { 1 } else { options.max_size.max(1) };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        // r2d2 retries a failed connect after doubling pauses capped at
        // half this; requests never wait on it (see `checkout`).
        .connection_timeout(options.reconnect_interval.max(Duration::from_millis(100)) * 2)
        .max_lifetime(if url.is_sqlite_memory() { None } else { options.recycle_time })
        .idle_timeout(None)
        .test_on_check_out(false)
        // Health logs an outage once; r2d2 would log every attempt.
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build(ConnectionManager { url, health, sqlite_synchronous: options.sqlite_synchronous })
}

/// How long one wait for a connection lasts before the database's health
/// is looked at again.
const CHECKOUT_SLICE: Duration = Duration::from_millis(100);

/// A connection ready for use: an idle one, or a new one, waiting at most
/// `timeout` for one to come free and failing at once while the database
/// is known to be unreachable. A connection idle since another failed
/// with a lost server is pinged first.
pub fn checkout(pool: &Pool, health: &Health, timeout: Duration) -> Result<PooledConnection, crate::StorageError> {
    let deadline = Instant::now() + timeout;
    let mut failed_pings = 0;
    loop {
        let slice = CHECKOUT_SLICE.min(deadline.saturating_duration_since(Instant::now()));
        let mut conn = match pool.get_timeout(slice) {
            Ok(conn) => conn,
            Err(e) if health.is_down() || Instant::now() >= deadline => {
                let why = health.last_error().unwrap_or_else(|| e.to_string());
                return Err(crate::StorageError::Unavailable(why));
            }
            Err(_) => continue,
        };
        let losses = health.losses();
        if conn.seen_losses < losses {
            if let Err(e) = conn.ping() {
                conn.broken = true;
                // Each failed ping drops one connection, so this ends.
                failed_pings += 1;
                if failed_pings > pool.max_size() {
                    return Err(crate::StorageError::Unavailable(e.to_string()));
                }
                continue;
            }
            conn.seen_losses = losses;
        }
        return Ok(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_setup_sets_the_busy_timeout() {
        assert!(session_setup(Backend::Sqlite, true).contains(&SQLITE_BUSY_TIMEOUT_MS.to_string()));
        assert!(session_setup(Backend::Sqlite, true).contains("synchronous = FULL"));
        assert!(session_setup(Backend::Sqlite, false).contains("synchronous = OFF"));
    }

    #[test]
    fn a_broken_or_panicking_connection_is_not_reused() {
        let manager = ConnectionManager::new(DatabaseUrl::parse("sqlite://").unwrap());
        let mut conn = r2d2::ManageConnection::connect(&manager).unwrap();
        assert!(!r2d2::ManageConnection::has_broken(&manager, &mut conn));
        conn.broken = true;
        assert!(r2d2::ManageConnection::has_broken(&manager, &mut conn));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_have_one() {
        let url = DatabaseUrl::parse("postgresql://u@h/db").unwrap();
        assert_eq!(pg_url(&url), "postgres://u@h/db?connect_timeout=5");
        let url = DatabaseUrl::parse("postgresql://u@h/db?sslmode=disable&connect_timeout=1").unwrap();
        assert_eq!(pg_url(&url), "postgres://u@h/db?sslmode=disable&connect_timeout=1");
    }
}
