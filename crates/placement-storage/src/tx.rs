//! Transactions with bounded retries of transient failures. Each attempt
//! is a fresh transaction, on a connection known to work, that re-reads
//! everything it checks.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::Connections;
use crate::conn::{DbConnection, PoolConn};
use crate::error::{StorageError, StorageResult};
use crate::url::Backend;

/// How many times a transaction is attempted before its error is returned.
pub const MAX_ATTEMPTS: u32 = 10;

/// Whether a transaction writes. SQLite write transactions take the write
/// lock at BEGIN, so two writers never deadlock upgrading shared locks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
}

/// Run `work` in a transaction on a pooled connection, retrying transient
/// database failures in a new transaction. A connection that lost its
/// server is marked broken (the pool replaces it) and the attempt is
/// retried on another, unless the loss came at COMMIT: then the outcome is
/// unknown and the error is returned as [`StorageError::CommitUnknown`].
pub fn run<T>(
    connections: &Connections,
    mode: Mode,
    mut work: impl FnMut(&mut DbConnection) -> StorageResult<T>,
) -> StorageResult<T> {
    let mut attempt = 1;
    loop {
        let result = connections.checkout().and_then(|mut conn| {
            let result = in_transaction(&mut conn, mode, &mut work);
            connections.settle(&mut conn, result)
        });
        match result {
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                log::info!("retrying transaction after transient error (attempt {attempt}): {e}");
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub(crate) fn backoff(attempt: u32) -> Duration {
    // Small, growing and jittered so racing writers spread out.
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    Duration::from_millis(u64::from(attempt) * 5 + jitter)
}

/// Run `work` inside BEGIN/COMMIT on `conn`, rolling back on error (and on
/// panic, so a pooled connection never keeps an open transaction); a
/// failed rollback marks the connection broken.
pub fn in_transaction<T>(
    conn: &mut PoolConn,
    mode: Mode,
    work: impl FnOnce(&mut DbConnection) -> StorageResult<T>,
) -> StorageResult<T> {
    let begin = match (conn.conn.backend(), mode) {
        (Backend::Sqlite, Mode::Write) => "BEGIN IMMEDIATE",
        // Writes are short statements on a few rows. Left to choose,
        // PostgreSQL keeps planning those with array parameters anew on
        // every execution (a custom plan for a short array looks cheaper),
        // a tenth of its time per allocation write. (PostgreSQL 12 on.)
        (Backend::Postgres, Mode::Write) => "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
        // A text-protocol SELECT: on a Galera node it waits for the writes
        // committed anywhere before it (wsrep_sync_wait), which the
        // prepared statements that follow were seen not to do (a DELETE
        // through one node missed an allocation made through another).
        (Backend::Mysql, _) => "BEGIN; SELECT 1",
        _ => "BEGIN",
    };
    conn.conn.batch_execute(begin)?;
    let mut tx = OpenTransaction { conn, finished: false };
    let value = work(&mut tx.conn.conn)?;
    if let Err(e) = tx.conn.conn.batch_execute("COMMIT") {
        let e = StorageError::from(e);
        if e.is_connection_lost() {
            // Nothing to roll back on a lost connection.
            tx.finished = true;
            return Err(StorageError::CommitUnknown(e.to_string()));
        }
        // A refused commit applied nothing; the drop rolls back.
        log::info!("commit refused: {e}");
        return Err(e);
    }
    tx.finished = true;
    Ok(value)
}

/// Rolls back on drop unless committed.
struct OpenTransaction<'a> {
    conn: &'a mut PoolConn,
    finished: bool,
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if !self.finished
            && let Err(e) = self.conn.conn.batch_execute("ROLLBACK")
        {
            log::warn!("rollback failed, dropping the connection: {e}");
            self.conn.broken = true;
        }
    }
}
