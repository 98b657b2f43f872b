//! Schema migrations, tracked the way upstream's alembic tracks them: one
//! row in `alembic_version` naming the current revision. A database made by
//! upstream's `placement-manage db sync` is therefore at our head already,
//! and one made by us is at upstream's head.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::conn::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::alembic_version;
use crate::url::Backend;

/// One upstream alembic revision and our SQL for it on each backend.
pub struct Revision {
    /// Alembic's revision id, as `alembic_version` holds it.
    pub id: &'static str,
    /// Alembic's description of the revision, for logs.
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
    /// A query counting rows that make this revision unsafe to pass.
    precheck: Option<(&'static str, &'static str)>,
}

macro_rules! revision {
    ($id:literal, $name:literal, $file:literal) => {
        revision!(@ $id, $name, $file, None)
    };
    ($id:literal, $name:literal, $file:literal, $check:expr) => {
        revision!(@ $id, $name, $file, Some($check))
    };
    (@ $id:literal, $name:literal, $file:literal, $precheck:expr) => {
        Revision {
            id: $id,
            name: $name,
            sqlite: include_str!(concat!("../../../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../../../migrations/postgres/", $file, ".sql")),
            mysql: include_str!(concat!("../../../migrations/mysql/", $file, ".sql")),
            precheck: $precheck,
        }
    };
}

/// Every revision, oldest first.
pub const REVISIONS: [Revision; 5] = [
    revision!("b4ed3a175331", "Initial", "b4ed3a175331_initial"),
    revision!(
        "611cd6dffd7b",
        "Block on null root_provider_id",
        "611cd6dffd7b_block_on_null_root_provider_id",
        (
            "SELECT COUNT(*) AS n FROM resource_providers WHERE root_provider_id IS NULL",
            "There is at least one resource provider table record which is missing its root \
             provider id. Run the \"placement-manage db online_data_migrations\" command."
        )
    ),
    revision!(
        "b5c396305c25",
        "Block on null consumer",
        "b5c396305c25_block_on_null_consumer",
        (
            "SELECT COUNT(*) AS n FROM allocations LEFT OUTER JOIN consumers \
             ON allocations.consumer_id = consumers.uuid WHERE consumers.id IS NULL",
            "There is at least one allocation record which is missing a consumer record. Run \
             the \"placement-manage db online_data_migrations\" command."
        )
    ),
    revision!("422ece571366", "Add consumer_types table", "422ece571366_add_consumer_types_table"),
    revision!(
        "a082b8bb98d0",
        "Drop redundant indexes for unique constraints",
        "a082b8bb98d0_drop_redundant_indexes_for_unique"
    ),
];

/// The newest revision: the last of [`REVISIONS`].
pub const HEAD: &str = "a082b8bb98d0";

/// Alembic's revision table, as it creates it.
pub(crate) const VERSION_TABLE: &str = "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
     CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));\n";

impl Revision {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
            Backend::Mysql => self.mysql,
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn has_version_table(conn: &mut DbConnection) -> StorageResult<bool> {
    let query = match conn.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
        Backend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'alembic_version'"
        }
        Backend::Mysql => {
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = 'alembic_version'"
        }
    };
    Ok(diesel::sql_query(query).load::<Name>(conn)?.iter().any(|n| n.name == "alembic_version"))
}

/// The revision the database is at, or `None` for an empty database.
pub fn current_revision(conn: &mut DbConnection) -> StorageResult<Option<String>> {
    if !has_version_table(conn)? {
        return Ok(None);
    }
    Ok(alembic_version::table.select(alembic_version::version_num).first::<String>(conn).optional()?)
}

/// Bring the schema to the head revision; returns the revisions applied.
pub fn upgrade(conn: &mut DbConnection) -> StorageResult<Vec<&'static str>> {
    let current = current_revision(conn)?;
    let start = match &current {
        None => 0,
        Some(rev) => {
            let pos = REVISIONS.iter().position(|r| r.id == rev).ok_or_else(|| {
                StorageError::Schema(format!(
                    "database is at revision {rev}, which this placement does not know; \
                     it expects {HEAD} or older"
                ))
            })?;
            pos + 1
        }
    };
    let backend = conn.backend();
    let mut applied = Vec::new();
    let mut previous = current;
    for revision in &REVISIONS[start..] {
        if let Some((query, message)) = revision.precheck {
            let bad = diesel::sql_query(query).get_result::<Count>(conn)?.n;
            if bad > 0 {
                return Err(StorageError::Schema(message.to_string()));
            }
        }
        let mut script = String::new();
        if previous.is_none() {
            script.push_str(VERSION_TABLE);
        }
        script.push_str(revision.sql(backend));
        script.push('\n');
        script.push_str(&match &previous {
            None => format!("INSERT INTO alembic_version (version_num) VALUES ('{}');", revision.id),
            Some(old) => {
                format!("UPDATE alembic_version SET version_num = '{}' WHERE version_num = '{old}';", revision.id)
            }
        });
        // MySQL commits DDL implicitly; elsewhere a revision is atomic.
        if backend == Backend::Mysql {
            conn.batch_execute(&script)?;
        } else {
            conn.batch_execute(&format!("BEGIN;\n{script}\nCOMMIT;")).inspect_err(|_| {
                let _ = conn.batch_execute("ROLLBACK");
            })?;
        }
        log::info!("applied database revision {} ({})", revision.id, revision.name);
        applied.push(revision.id);
        previous = Some(revision.id.to_string());
    }
    Ok(applied)
}

/// Fail unless the schema is at the head revision.
pub fn require_head(conn: &mut DbConnection) -> StorageResult<()> {
    match current_revision(conn)? {
        Some(rev) if rev == HEAD => Ok(()),
        Some(rev) => Err(StorageError::Schema(format!(
            "database schema is at revision {rev}, not {HEAD}; run `placement-manage db sync`"
        ))),
        None => Err(StorageError::Schema(
            "database has no placement schema; run `placement-manage db sync` or set \
             [placement_database] sync_on_startup = True"
                .to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_unique_and_end_at_head() {
        let ids: std::collections::HashSet<_> = REVISIONS.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), REVISIONS.len());
        assert_eq!(REVISIONS.last().map(|r| r.id), Some(HEAD));
    }

    #[test]
    fn every_backend_has_sql_for_every_revision() {
        for r in &REVISIONS {
            for b in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
                assert!(!r.sql(b).trim().is_empty(), "{} {b}", r.id);
            }
        }
    }
}
