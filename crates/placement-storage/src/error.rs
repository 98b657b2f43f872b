//! Storage errors: domain outcomes pass through untouched; database
//! failures are classified so callers can retry the transient ones.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use placement_model::DomainError;

/// Why a storage call failed; the `is_*` methods say what a caller should
/// make of it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A rule of the domain said no (not found, conflict, in use...).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No connection could be had from the pool.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] DieselError),
    /// The connection was lost while committing: the transaction may or
    /// may not have been applied, so it is not retried.
    #[error("connection lost during commit, outcome unknown: {0}")]
    CommitUnknown(String),
    /// A write kept losing to concurrent writers (deadlocks, failed
    /// serialization or Galera certification) through every retry: a lost
    /// race, which the client retries as it does a generation conflict.
    #[error("write conflict persisted through every retry: {0}")]
    Contended(String),
    /// The schema is not what this service can run on.
    #[error("{0}")]
    Schema(String),
}

impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        StorageError::Unavailable(e.to_string())
    }
}

impl StorageError {
    /// Deadlocks, serialization failures, busy databases and lost
    /// connections: worth one more try in a fresh transaction.
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Database(DieselError::DatabaseError(kind, info)) => {
                // A unique violation is a lost race to create a row; a fresh
                // transaction finds the row and answers as domain rules say.
                matches!(kind, DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::UniqueViolation)
                    || has_marker(info.message(), &CONFLICT_MARKERS)
                    || has_marker(info.message(), &LOCKED_MARKERS)
                    || self.is_connection_lost()
            }
            StorageError::Database(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }

    /// The server went away under this connection (restarted, killed,
    /// shutting down, network gone): the connection is unusable.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            StorageError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(kind, DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand)
                    || has_marker(info.message(), &LOST_MARKERS)
            }
            _ => false,
        }
    }

    /// Nothing the client did wrong and nothing a retry now would fix:
    /// the database is unreachable, lost mid-request, or cannot write
    /// (a full or read-only disk). Answered 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Unavailable(_) | StorageError::CommitUnknown(_) => true,
            StorageError::Database(DieselError::DatabaseError(_, info)) => {
                self.is_connection_lost()
                    || has_marker(info.message(), &CONFLICT_MARKERS)
                    || has_marker(info.message(), &LOCKED_MARKERS)
                    || has_marker(info.message(), &STORAGE_MARKERS)
                    || has_marker(info.message(), &NOT_READY_MARKERS)
            }
            _ => false,
        }
    }

    /// This transaction lost to a concurrent one and was rolled back
    /// (deadlock, serialization failure, Galera certification): unlike a
    /// lock wait that timed out, the database itself is answering well.
    pub fn is_write_conflict(&self) -> bool {
        matches!(self, StorageError::Database(DieselError::DatabaseError(kind, info))
            if matches!(kind, DatabaseErrorKind::SerializationFailure) || has_marker(info.message(), &CONFLICT_MARKERS))
    }

    /// The database cannot hold this text (PostgreSQL refuses a NUL
    /// character, in a value to store or to look for alike).
    pub fn is_unstorable_text(&self) -> bool {
        matches!(self, StorageError::Database(DieselError::DatabaseError(_, info))
            if has_marker(info.message(), &["invalid byte sequence"]))
    }

    /// The database refused us for who we are or what we asked for (a
    /// wrong password, an unknown database): waiting will not help, as
    /// oslo.db does not retry these at start-up either.
    pub fn is_refusal(&self) -> bool {
        let text = self.to_string();
        has_marker(&text, &REFUSAL_MARKERS)
    }

    /// Another writer changed what this one read: a generation moved, or
    /// a row this one meant to create appeared.
    pub fn is_lost_race(&self) -> bool {
        matches!(
            self,
            StorageError::Domain(DomainError::ProviderConcurrentUpdate | DomainError::ConsumerConcurrentUpdate)
                | StorageError::Contended(_)
        ) || self.is_unique_violation()
    }

    /// A unique constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StorageError::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
    }
}

/// A transaction rolled back for a concurrent one, including one a Galera
/// node rolled back under us (the statements after it fail as outside any
/// writing transaction, see `tx`): a fresh transaction may well succeed.
const CONFLICT_MARKERS: [&str; 3] = ["deadlock", "could not serialize", "in a read only transaction"];

/// Lock contention that outlasted its wait: worth a retry, and if it
/// persists the database is too busy to serve.
const LOCKED_MARKERS: [&str; 3] = ["database is locked", "database table is locked", "lock wait timeout"];

/// Messages of a connection whose server went away, from libpq, the
/// MariaDB/MySQL client and the servers themselves.
const LOST_MARKERS: [&str; 16] = [
    "server has gone away",
    "lost connection",
    "no connection to the server",
    "server closed the connection",
    "terminating connection",
    "connection was killed",
    "server shutdown in progress",
    "could not receive data",
    "could not send data",
    "broken pipe",
    "connection reset",
    "the database system is",
    "can't connect",
    "connection refused",
    "ssl connection has been closed",
    "eof detected",
];

/// A Galera node that is joining, donating or cut off from the primary
/// component answers, but serves nobody until it is synced again (a
/// write caught there as its peer died was refused with the second).
const NOT_READY_MARKERS: [&str; 2] = ["wsrep has not yet prepared node", "not connected to primary component"];

/// The server answered, and said no.
const REFUSAL_MARKERS: [&str; 6] = [
    "password authentication failed",
    "access denied",
    "no pg_hba.conf entry",
    "unknown database",
    "does not exist",
    crate::conn::NOT_BUILT,
];

/// SQLite cannot write its file.
const STORAGE_MARKERS: [&str; 4] =
    ["database or disk is full", "readonly database", "disk i/o error", "unable to open database file"];

fn has_marker(message: &str, markers: &[&str]) -> bool {
    let lower = message.to_ascii_lowercase();
    markers.iter().any(|m| lower.contains(m))
}

/// What a storage call returns.
pub type StorageResult<T> = Result<T, StorageError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_transient_messages_are_recognised() {
        assert!(has_marker("Deadlock found when trying to get lock; try restarting transaction", &CONFLICT_MARKERS));
        assert!(has_marker("database is locked", &LOCKED_MARKERS));
        assert!(has_marker("Cannot execute statement in a READ ONLY transaction", &CONFLICT_MARKERS));
        assert!(has_marker("MySQL server has gone away", &LOST_MARKERS));
        assert!(has_marker("WSREP has not yet prepared node for application use", &NOT_READY_MARKERS));
        let cut_off =
            "Error while appending streaming replication fragment(provider status: Not connected to Primary Component)";
        assert!(has_marker(cut_off, &NOT_READY_MARKERS));
        assert!(has_marker("no connection to the server\n", &LOST_MARKERS));
        assert!(has_marker("FATAL:  terminating connection due to administrator command", &LOST_MARKERS));
        assert!(!has_marker("UNIQUE constraint failed: traits.name", &CONFLICT_MARKERS));
        assert!(!has_marker("UNIQUE constraint failed: traits.name", &LOST_MARKERS));
    }

    fn db_error(message: &str) -> StorageError {
        StorageError::Database(DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string())))
    }

    #[test]
    fn lost_servers_are_retried_and_unavailable() {
        let lost = db_error("Lost connection to server during query");
        assert!(lost.is_connection_lost() && lost.is_transient() && lost.is_unavailable());
        let full = db_error("database or disk is full");
        assert!(full.is_unavailable() && !full.is_transient() && !full.is_connection_lost());
        let bad = db_error("syntax error");
        assert!(!bad.is_unavailable() && !bad.is_transient());
        assert!(StorageError::CommitUnknown("x".into()).is_unavailable());
        let refused = StorageError::Unavailable("FATAL:  password authentication failed for user \"x\"".into());
        assert!(refused.is_unavailable() && refused.is_refusal());
        assert!(!StorageError::Unavailable("Connection refused".into()).is_refusal());
        let not_built = StorageError::Unavailable(crate::conn::not_built(crate::Backend::Postgres));
        assert!(not_built.is_refusal(), "{not_built}");
    }

    #[test]
    fn conflicts_differ_from_locks_that_timed_out() {
        let deadlock = db_error("Deadlock found when trying to get lock; try restarting transaction");
        assert!(deadlock.is_transient() && deadlock.is_write_conflict() && !deadlock.is_lost_race());
        let serialization = StorageError::Database(DieselError::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new("could not serialize access due to concurrent update".to_string()),
        ));
        assert!(serialization.is_write_conflict());
        let locked = db_error("database is locked");
        assert!(locked.is_transient() && locked.is_unavailable() && !locked.is_write_conflict());
        let contended = StorageError::Contended("deadlock".into());
        assert!(contended.is_lost_race() && !contended.is_transient() && !contended.is_unavailable());
    }

    #[test]
    fn domain_errors_are_not_retried() {
        assert!(!StorageError::from(DomainError::ProviderConcurrentUpdate).is_transient());
    }
}
