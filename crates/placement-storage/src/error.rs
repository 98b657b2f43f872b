//! Storage errors: domain outcomes pass through untouched; database
//! failures are classified so callers can retry the transient ones.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use placement_model::DomainError;

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
                matches!(
                    kind,
                    DatabaseErrorKind::SerializationFailure
                        | DatabaseErrorKind::ClosedConnection
                        | DatabaseErrorKind::UnableToSendCommand
                        | DatabaseErrorKind::UniqueViolation
                ) || is_transient_message(info.message())
            }
            StorageError::Database(DieselError::BrokenTransactionManager) => true,
            _ => false,
        }
    }

    /// Another writer changed what this one read: a generation moved, or
    /// a row this one meant to create appeared.
    pub fn is_lost_race(&self) -> bool {
        matches!(
            self,
            StorageError::Domain(DomainError::ProviderConcurrentUpdate | DomainError::ConsumerConcurrentUpdate)
        ) || self.is_unique_violation()
    }

    /// A unique constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StorageError::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)))
    }
}

fn is_transient_message(message: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "deadlock",
        "database is locked",
        "database table is locked",
        "lock wait timeout",
        "could not serialize",
        "server has gone away",
        "lost connection",
    ];
    let lower = message.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

pub type StorageResult<T> = Result<T, StorageError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_transient_messages_are_recognised() {
        assert!(is_transient_message("Deadlock found when trying to get lock; try restarting transaction"));
        assert!(is_transient_message("database is locked"));
        assert!(is_transient_message("MySQL server has gone away"));
        assert!(!is_transient_message("UNIQUE constraint failed: traits.name"));
    }

    #[test]
    fn domain_errors_are_not_retried() {
        assert!(!StorageError::from(DomainError::ProviderConcurrentUpdate).is_transient());
    }
}
