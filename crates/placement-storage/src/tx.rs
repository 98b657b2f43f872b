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
    /// Reads only.
    Read,
    /// May write.
    Write,
}

/// Run `work` in a transaction on a pooled connection, retrying transient
/// database failures in a new transaction. A connection that lost its
/// server is marked broken (the pool replaces it) and the attempt is
/// retried on another, unless the loss came at COMMIT: then the outcome is
/// unknown and the error is returned as [`StorageError::CommitUnknown`].
/// A write still refused as a conflict after the last attempt is returned
/// as [`StorageError::Contended`].
pub fn run<T>(
    connections: &Connections,
    mode: Mode,
    mut work: impl FnMut(&mut DbConnection) -> StorageResult<T>,
) -> StorageResult<T> {
    let mut attempt = 1;
    loop {
        let result = connections.checkout().and_then(|mut conn| {
            let sqlite_write = mode == Mode::Write && conn.conn.backend() == Backend::Sqlite;
            let turn = sqlite_write.then(|| connections.sqlite_writes.lock().unwrap_or_else(|e| e.into_inner()));
            let result = in_transaction(&mut conn, mode, &mut work);
            drop(turn);
            connections.settle(&mut conn, result)
        });
        match result {
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                log::info!("retrying transaction after transient error (attempt {attempt}): {e}");
                connections.retries.transient.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            // Still losing to other writers: the database is well, the
            // race is lost, and the client may retry (409, not 503).
            Err(e) if mode == Mode::Write && e.is_write_conflict() => {
                log::warn!("write transaction lost {attempt} races in a row: {e}");
                return Err(StorageError::Contended(e.to_string()));
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

/// How a transaction starts, ends and is abandoned on one connection.
struct Statements {
    begin: &'static str,
    check: Option<&'static str>,
    after: Option<&'static str>,
    rollback: &'static str,
}

/// A Galera node rolls a write transaction back under us when a
/// conflicting write from another node arrives (a brute-force abort), and
/// the next statement does not always say so: the abort was seen swallowed
/// by a command that has no answer (closing a prepared statement), the
/// statements after it ran on their own in autocommit mode, and COMMIT
/// succeeded with nothing to commit (orphaned and lost allocations, usage
/// over capacity). So, while the transaction lasts, the session's default
/// is read-only (a write outside our transaction fails instead of
/// committing alone), and before COMMIT a check refuses, as a deadlock to
/// retry, a transaction that is no longer open. COMMIT is sent on its own:
/// sent in one batch after the check, a failed certification was seen
/// answered as success.
const GALERA_WRITE: Statements = Statements {
    begin: "SET SESSION TRANSACTION READ ONLY; START TRANSACTION READ WRITE; SELECT 1",
    check: Some(
        "IF @@in_transaction = 0 THEN \
           SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, \
           MESSAGE_TEXT = 'Deadlock: the transaction was rolled back by a conflicting write through another node'; \
         END IF",
    ),
    after: Some("SET SESSION TRANSACTION READ WRITE"),
    rollback: "ROLLBACK; SET SESSION TRANSACTION READ WRITE",
};

fn statements(conn: &PoolConn, mode: Mode) -> Statements {
    let plain = |begin| Statements { begin, check: None, after: None, rollback: "ROLLBACK" };
    match (conn.conn.backend(), mode) {
        (Backend::Sqlite, Mode::Write) => plain("BEGIN IMMEDIATE"),
        // Writes are short statements on a few rows. Left to choose,
        // PostgreSQL keeps planning those with array parameters anew on
        // every execution (a custom plan for a short array looks cheaper),
        // a tenth of its time per allocation write. (PostgreSQL 12 on.)
        (Backend::Postgres, Mode::Write) => plain("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan"),
        (Backend::Mysql, Mode::Write) if conn.galera => GALERA_WRITE,
        // A text-protocol SELECT: on a Galera node it waits for the writes
        // committed anywhere before it (wsrep_sync_wait), which the
        // prepared statements that follow were seen not to do (a DELETE
        // through one node missed an allocation made through another).
        (Backend::Mysql, Mode::Read) if conn.galera => plain("BEGIN; SELECT 1"),
        _ => plain("BEGIN"),
    }
}

/// Send one of a transaction's statements. On MySQL outside Galera, a
/// single statement goes as a prepared statement kept on the connection:
/// diesel sends text (`batch_execute`) between two commands that switch
/// multi-statements on and off, three round trips where this takes one.
/// MySQL (unlike MariaDB) cannot prepare BEGIN: then, and from then on in
/// this process, as text.
fn send(conn: &mut PoolConn, sql: &'static str) -> diesel::QueryResult<()> {
    #[cfg(feature = "mysql")]
    if let (DbConnection::Mysql(my), false) = (&mut conn.conn, conn.galera)
        && !sql.contains(';')
        && !(sql == "BEGIN" && BEGIN_AS_TEXT.load(std::sync::atomic::Ordering::Relaxed))
    {
        use diesel::RunQueryDsl;
        match crate::kept::kept::<diesel::sql_types::Integer, _>(Verb(sql)).execute(my) {
            Err(diesel::result::Error::DatabaseError(_, info))
                if sql == "BEGIN" && info.message().contains("prepared statement protocol") =>
            {
                BEGIN_AS_TEXT.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            other => return other.map(|_| ()),
        }
    }
    conn.conn.batch_execute(sql)
}

/// Set once MySQL refused to prepare BEGIN.
#[cfg(feature = "mysql")]
static BEGIN_AS_TEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A statement without parameters, kept prepared.
#[cfg(feature = "mysql")]
struct Verb(&'static str);

#[cfg(feature = "mysql")]
impl crate::kept::Fixed<diesel::mysql::Mysql> for Verb {
    fn walk<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

/// Run `work` inside BEGIN/COMMIT on `conn`, rolling back on error (and on
/// panic, so a pooled connection never keeps an open transaction); a
/// failed rollback marks the connection broken.
pub fn in_transaction<T>(
    conn: &mut PoolConn,
    mode: Mode,
    work: impl FnOnce(&mut DbConnection) -> StorageResult<T>,
) -> StorageResult<T> {
    let statements = statements(conn, mode);
    send(conn, statements.begin)?;
    let mut tx = OpenTransaction { conn, rollback: statements.rollback, finished: false };
    let value = match work(&mut tx.conn.conn) {
        Ok(value) => value,
        // On a Galera node a failure may be a swallowed brute-force
        // abort's doing (a row just inserted, then not found by the next
        // statement, run alone): then it is the conflict, to retry.
        Err(e) => {
            if let Some(check) = statements.check {
                tx.conn.conn.batch_execute(check)?;
            }
            return Err(e);
        }
    };
    if let Some(check) = statements.check {
        tx.conn.conn.batch_execute(check)?;
    }
    if let Err(e) = send(tx.conn, "COMMIT") {
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
    if let Some(after) = statements.after
        && let Err(e) = tx.conn.conn.batch_execute(after)
    {
        log::warn!("dropping the connection after a commit: {e}");
        tx.conn.broken = true;
    }
    Ok(value)
}

/// Rolls back on drop unless committed.
struct OpenTransaction<'a> {
    conn: &'a mut PoolConn,
    rollback: &'static str,
    finished: bool,
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // A Galera node reports a brute-force abort to the next statement,
        // which may be this ROLLBACK: the transaction is gone all the same,
        // so once more, to run what follows it.
        let mut result = send(self.conn, self.rollback);
        if let Err(e) = &result
            && self.conn.galera
            && e.to_string().to_ascii_lowercase().contains("deadlock")
        {
            result = send(self.conn, self.rollback);
        }
        if let Err(e) = result {
            log::warn!("rollback failed, dropping the connection: {e}");
            self.conn.broken = true;
        }
    }
}

#[cfg(test)]
#[cfg(feature = "mysql")]
mod galera_guard_tests {
    //! The guard of Galera write transactions, on the MariaDB the tests
    //! use (`PLACEMENT_TEST_MYSQL_URL`): a transaction lost under us is
    //! what a swallowed brute-force abort amounts to, so it is lost here
    //! with a ROLLBACK inside the work.
    use super::*;
    use crate::conn::ConnectionManager;
    use crate::url::DatabaseUrl;
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// A connection guarded as on a Galera node; `None` (skip) where
    /// MariaDB is unreachable, unless every backend is required.
    fn connect(database: &str) -> Option<PoolConn> {
        let base =
            std::env::var("PLACEMENT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into());
        let url = DatabaseUrl::parse(&base.replace("/mysql", &format!("/{database}"))).unwrap();
        match ConnectionManager::new(url).establish() {
            Ok(conn) => Some(PoolConn { conn, broken: false, seen_losses: 0, galera: true }),
            Err(e) if std::env::var("PLACEMENT_TEST_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1") => {
                panic!("MariaDB is required but unavailable: {e}")
            }
            Err(e) => {
                eprintln!("SKIP: MariaDB unavailable: {e}");
                None
            }
        }
    }

    fn rows(conn: &mut PoolConn) -> i64 {
        let c: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM guarded").get_result(&mut conn.conn).unwrap();
        c.n
    }

    #[test]
    fn a_write_transaction_lost_under_us_commits_nothing_and_is_retried() {
        let database = format!("placement_tx_guard_{}", std::process::id());
        let Some(mut admin) = connect("mysql") else {
            return;
        };
        admin.conn.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
        let mut conn = connect(&database).expect("MariaDB answered a moment ago");
        conn.conn.batch_execute("CREATE TABLE guarded (n INT) ENGINE=InnoDB").unwrap();

        // Intact: committed, and the session writes again afterwards.
        in_transaction(&mut conn, Mode::Write, |c| Ok(c.batch_execute("INSERT INTO guarded VALUES (1)")?)).unwrap();
        assert_eq!(rows(&mut conn), 1);
        conn.conn.batch_execute("INSERT INTO guarded VALUES (2)").unwrap();

        // Lost, then a write: it fails instead of committing on its own.
        let err = in_transaction(&mut conn, Mode::Write, |c| {
            c.batch_execute("INSERT INTO guarded VALUES (3); ROLLBACK")?;
            Ok(c.batch_execute("INSERT INTO guarded VALUES (4)")?)
        })
        .unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(rows(&mut conn), 2);

        // Lost, then only reads: COMMIT is refused as a deadlock.
        let err = in_transaction(&mut conn, Mode::Write, |c| {
            c.batch_execute("INSERT INTO guarded VALUES (5); ROLLBACK; SELECT 1")?;
            Ok(())
        })
        .unwrap_err();
        assert!(err.is_transient() && err.to_string().contains("Deadlock"), "{err}");
        assert_eq!(rows(&mut conn), 2);

        // Lost, then a read that finds nothing where the lost write put a
        // row: the conflict is returned, not the read's failure.
        let err = in_transaction(&mut conn, Mode::Write, |c| {
            c.batch_execute("INSERT INTO guarded VALUES (7); ROLLBACK")?;
            let found: Count =
                diesel::sql_query("SELECT CAST(n AS SIGNED) AS n FROM guarded WHERE n = 7").get_result(c)?;
            Ok(found.n)
        })
        .unwrap_err();
        assert!(err.is_transient() && err.to_string().contains("Deadlock"), "{err}");
        assert_eq!(rows(&mut conn), 2);
        assert!(!conn.broken);
        conn.conn.batch_execute("INSERT INTO guarded VALUES (6)").unwrap();
        assert_eq!(rows(&mut conn), 3);
        admin.conn.batch_execute(&format!("DROP DATABASE {database}")).unwrap();
    }
}
