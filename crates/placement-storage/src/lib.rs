//! Placement persistence over Diesel, one code path for SQLite, PostgreSQL
//! and MySQL/MariaDB. Query functions take a connection so callers compose
//! them inside one transaction; [`Database`] runs such a unit of work with
//! retries of transient failures.
#![warn(missing_docs)]

pub mod aggregates;
pub mod allocations;
pub mod candidates;

pub mod conn;
pub mod consumers;
pub mod data_migrations;

mod error;
mod freed;
mod generation;
mod health;
pub mod inventories;
mod kept;
pub mod migrate;
#[cfg(feature = "mysql")]
mod my_write;
#[cfg(feature = "postgres")]
mod pg_write;
pub mod providers;
pub mod reshaper;
pub mod resource_classes;

pub mod schema;
mod sync;
pub mod traits;
mod tree_cache;
mod tx;
mod uncached;
mod url;
pub mod usages;

pub use conn::{DbConnection, Pool, PoolOptions};
pub use error::{StorageError, StorageResult};
pub use tree_cache::TreeCache;
pub use url::{Backend, DatabaseUrl};

use chrono::NaiveDateTime;

/// Most values bound in one `IN (...)` list or one multi-row insert. SQLite
/// takes at most 32,766 bound values per statement and MySQL 65,535, and a
/// client can send more names or uuids than that (PostgreSQL binds a
/// whole array as one value); longer lists are split.
pub(crate) const MAX_BOUND: usize = 5_000;

/// The current time as the schema stores it: naive UTC.
pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// A snapshot of the connection pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open, in use or idle.
    pub open: u32,
    /// Of those, the ones idle in the pool.
    pub idle: u32,
}

/// The pool, what it knows of the database's health, how long a request
/// may wait for a connection, and the counts metrics read.
#[derive(Clone)]
pub struct Connections {
    pool: Pool,
    health: std::sync::Arc<health::Health>,
    checkout_timeout: std::time::Duration,
    retries: std::sync::Arc<Retries>,
    checkouts: std::sync::Arc<Checkouts>,
    /// Taken by each SQLite write transaction of this process: its writers
    /// queue here and are handed the database's write lock in turn, where
    /// they would otherwise sleep in SQLite's busy handler while the lock
    /// stood free.
    sqlite_writes: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Waits for a pooled connection, for metrics.
#[derive(Default)]
pub struct Checkouts {
    /// Callers waiting for a connection now.
    pub waiting: std::sync::atomic::AtomicI64,
    /// Told how long each checkout waited, once set.
    observer: std::sync::OnceLock<CheckoutObserver>,
}

/// What [`Database::observe_checkouts`] is given.
pub type CheckoutObserver = Box<dyn Fn(std::time::Duration) + Send + Sync>;

/// Transactions retried since start, for metrics.
#[derive(Debug, Default)]
pub struct Retries {
    /// After a transient database error (deadlock, serialization
    /// failure, lost connection).
    pub transient: std::sync::atomic::AtomicU64,
    /// After losing a race for a generation (allocations, reshapes).
    pub lost_race: std::sync::atomic::AtomicU64,
}

impl Connections {
    fn checkout(&self) -> StorageResult<conn::PooledConnection> {
        use std::sync::atomic::Ordering::Relaxed;
        self.checkouts.waiting.fetch_add(1, Relaxed);
        let started = std::time::Instant::now();
        let conn = conn::checkout(&self.pool, &self.health, self.checkout_timeout);
        self.checkouts.waiting.fetch_sub(1, Relaxed);
        if let Some(observe) = self.checkouts.observer.get() {
            observe(started.elapsed());
        }
        conn
    }

    /// Pass `result` on; if it says the server went away under `conn`
    /// (or the outcome of a commit is unknown), the connection is dropped
    /// from the pool and idle ones are checked before reuse.
    fn settle<T>(&self, conn: &mut conn::PoolConn, result: StorageResult<T>) -> StorageResult<T> {
        if let Err(e) = &result
            && (e.is_connection_lost() || matches!(e, StorageError::CommitUnknown(_)))
        {
            conn.broken = true;
            self.health.connection_lost(&e.to_string());
        }
        result
    }
}

/// A pool of connections and the units of work run on it.
#[derive(Clone)]
pub struct Database {
    connections: Connections,
    backend: Backend,
    trees: std::sync::Arc<tree_cache::TreeCache>,
    owners: std::sync::Arc<consumers::OwnerIds>,
}

impl Database {
    /// Connect (lazily: the pool opens connections on demand).
    pub fn open(url: &str, options: &PoolOptions) -> Result<Database, StorageError> {
        let url = DatabaseUrl::parse(url).map_err(StorageError::Schema)?;
        let backend = url.backend;
        let health = std::sync::Arc::new(health::Health::default());
        let pool = conn::build_pool(url, options, health.clone())?;
        let connections = Connections {
            pool,
            health,
            checkout_timeout: options.checkout_timeout,
            retries: Default::default(),
            checkouts: Default::default(),
            sqlite_writes: Default::default(),
        };
        let trees = std::sync::Arc::new(tree_cache::TreeCache::new(true));
        Ok(Database { connections, backend, trees, owners: Default::default() })
    }

    /// The database engine the URL named.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether candidates queries keep providers' usage and aggregates
    /// between requests (see [`TreeCache`]); on unless switched off here.
    pub fn with_usage_cache(mut self, on: bool) -> Database {
        self.trees = std::sync::Arc::new(tree_cache::TreeCache::new(on));
        self
    }

    /// Ids of projects, users and consumer types seen committed.
    pub fn owner_ids(&self) -> &consumers::OwnerIds {
        &self.owners
    }

    /// What candidates queries keep between requests (see [`TreeCache`]).
    pub fn tree_cache(&self) -> &TreeCache {
        &self.trees
    }

    /// Run read-only work in one transaction.
    pub fn read<T>(&self, work: impl FnMut(&mut DbConnection) -> StorageResult<T>) -> StorageResult<T> {
        tx::run(&self.connections, tx::Mode::Read, work)
    }

    /// Run work that writes in one transaction, retried from the start on
    /// transient failures.
    pub fn write<T>(&self, work: impl FnMut(&mut DbConnection) -> StorageResult<T>) -> StorageResult<T> {
        tx::run(&self.connections, tx::Mode::Write, work)
    }

    /// Run a write that checks generations it read itself (allocations,
    /// reshapes): a lost race (a generation bumped under us, or a row
    /// created concurrently) is retried in a new transaction up to
    /// `attempts` times, as upstream's `allocation_conflict_retry_count`.
    pub fn write_retrying_conflicts<T>(
        &self,
        attempts: u32,
        mut work: impl FnMut(&mut DbConnection) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut attempt = 1;
        loop {
            match self.write(&mut work) {
                Err(e) if e.is_lost_race() && attempt < attempts.max(1) => {
                    self.connections.retries.lost_race.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    log::debug!("retrying write after a lost race (attempt {attempt}): {e}");
                    std::thread::sleep(tx::backoff(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Transactions retried since start.
    pub fn retries(&self) -> &Retries {
        &self.connections.retries
    }

    /// Callers waiting for a pooled connection now.
    pub fn checkouts_waiting(&self) -> i64 {
        self.connections.checkouts.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Have `observer` told how long each checkout of a pooled connection
    /// waited (metrics); false if one was set already.
    pub fn observe_checkouts(&self, observer: CheckoutObserver) -> bool {
        self.connections.checkouts.observer.set(observer).is_ok()
    }

    /// The pool's open connections and how many of them are idle.
    pub fn pool_state(&self) -> PoolState {
        let state = self.connections.pool.state();
        PoolState { open: state.connections, idle: state.idle_connections }
    }

    /// One round trip on a pooled connection: whether the database answers.
    pub fn ping(&self) -> StorageResult<()> {
        use diesel::RunQueryDsl;
        self.with_connection(|conn| Ok(diesel::sql_query("SELECT 1").execute(conn).map(|_| ())?))
    }

    /// Run work on a connection outside any transaction (migrations).
    pub fn with_connection<T>(&self, work: impl FnOnce(&mut DbConnection) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.connections.checkout()?;
        let result = work(&mut conn.conn);
        self.connections.settle(&mut conn, result)
    }

    /// Migrate to head if asked, check the schema, then sync the standard
    /// traits and resource classes, as upstream does at start-up.
    pub fn prepare(&self, sync_schema: bool) -> StorageResult<()> {
        self.with_connection(|conn| {
            if sync_schema {
                migrate::upgrade(conn).map(|_| ()).or_else(|e| {
                    // Another process may have migrated concurrently.
                    migrate::require_head(conn).map_err(|_| e)
                })?;
            }
            migrate::require_head(conn)
        })?;
        self.write(|conn| sync::sync_resource_classes(conn).map(|_| ()))?;
        self.write(|conn| sync::sync_traits(conn).map(|_| ()))
    }
}
