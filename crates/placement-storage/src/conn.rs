//! One connection type over every backend, and an r2d2 pool of it.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::url::{Backend, DatabaseUrl};

/// A connection to whichever database the configuration names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgresql(diesel::PgConnection),
    #[cfg(feature = "mysql")]
    Mysql(diesel::MysqlConnection),
}

impl DbConnection {
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

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// Opens connections for the pool, choosing the backend from the URL so a
/// wrong password or an unreachable server is reported as such.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }

    pub fn establish(&self) -> Result<DbConnection, ConnectionError> {
        let mut conn = match self.url.backend {
            Backend::Sqlite => DbConnection::Sqlite(diesel::SqliteConnection::establish(&self.url.diesel_url)?),
            #[cfg(feature = "postgres")]
            Backend::Postgres => DbConnection::Postgresql(diesel::PgConnection::establish(&self.url.diesel_url)?),
            #[cfg(feature = "mysql")]
            Backend::Mysql => DbConnection::Mysql(diesel::MysqlConnection::establish(&self.url.diesel_url)?),
            #[allow(unreachable_patterns)]
            other => {
                return Err(ConnectionError::BadConnection(format!(
                    "this build has no {other} support; rebuild with the `{}` feature",
                    if other == Backend::Postgres { "postgres" } else { "mysql" }
                )));
            }
        };
        conn.batch_execute(&session_setup(self.url.backend)).map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }
}

/// Per-session settings, matching what oslo.db sets for upstream. SQLite
/// gets a busy timeout first, then WAL so readers proceed while one writer
/// holds the lock.
fn session_setup(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL"
        ),
        Backend::Postgres => "SET TIME ZONE 'UTC'".to_string(),
        Backend::Mysql => "SET SESSION sql_mode = 'TRADITIONAL'; SET SESSION time_zone = '+00:00'".to_string(),
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1").map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
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

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Build a pool. In-memory SQLite gets a single connection, since each
/// connection would otherwise see its own empty database.
pub fn build_pool(url: DatabaseUrl, max_size: u32) -> Result<Pool, r2d2::Error> {
    let size = if url.is_sqlite_memory() { 1 } else { max_size.max(1) };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(30))
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_setup_sets_the_busy_timeout() {
        assert!(session_setup(Backend::Sqlite).contains(&SQLITE_BUSY_TIMEOUT_MS.to_string()));
    }
}
