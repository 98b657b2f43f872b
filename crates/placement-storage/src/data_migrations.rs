//! Upstream's online data migrations, run batch by batch by
//! `placement-manage db online_data_migrations`, and the counts
//! `placement-status upgrade check` reports. Older releases left
//! providers without a root provider id and allocations without a
//! consumer record; the schema revisions after them refuse to run until
//! these are fixed.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::conn::DbConnection;
use crate::consumers::{self, Owner};
use crate::error::{StorageError, StorageResult};
use crate::{migrate, now};

/// What one batch of a migration found and fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Batch {
    /// Records found needing the fix.
    pub found: i64,
    /// Records fixed.
    pub done: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConnection, query: &str) -> StorageResult<i64> {
    Ok(diesel::sql_query(query).get_result::<Count>(conn)?.n)
}

/// Providers whose root provider id is not set.
pub fn missing_root_provider_ids(conn: &mut DbConnection) -> StorageResult<i64> {
    count(conn, "SELECT COUNT(*) AS n FROM resource_providers WHERE root_provider_id IS NULL")
}

/// Consumers that hold allocations but have no consumer record.
pub fn incomplete_consumers(conn: &mut DbConnection) -> StorageResult<i64> {
    count(
        conn,
        "SELECT COUNT(DISTINCT allocations.consumer_id) AS n FROM allocations \
         LEFT OUTER JOIN consumers ON allocations.consumer_id = consumers.uuid \
         WHERE consumers.id IS NULL",
    )
}

/// Make up to `limit` providers without a root their own root (such
/// providers predate nested providers, so none has a parent).
pub fn set_root_provider_ids(conn: &mut DbConnection, limit: i64) -> StorageResult<Batch> {
    // The derived table lets MySQL update the table it selects from.
    let done = diesel::sql_query(format!(
        "UPDATE resource_providers SET root_provider_id = id WHERE id IN \
         (SELECT id FROM (SELECT id FROM resource_providers WHERE root_provider_id IS NULL \
         ORDER BY id LIMIT {}) AS missing)",
        limit.max(0)
    ))
    .execute(conn)? as i64;
    Ok(Batch { found: done, done })
}

/// Give up to `limit` consumers holding allocations a consumer record,
/// owned by the configured placeholder project and user.
pub fn create_incomplete_consumers(
    conn: &mut DbConnection,
    limit: i64,
    project: &str,
    user: &str,
) -> StorageResult<Batch> {
    let project_id = owner_id(conn, Owner::Project, project)?;
    let user_id = owner_id(conn, Owner::User, user)?;
    let done = diesel::sql_query(format!(
        "INSERT INTO consumers (uuid, project_id, user_id, generation, created_at) \
         SELECT allocations.consumer_id, {project_id}, {user_id}, 0, '{created}' FROM allocations \
         LEFT OUTER JOIN consumers ON allocations.consumer_id = consumers.uuid \
         WHERE consumers.id IS NULL GROUP BY allocations.consumer_id \
         ORDER BY allocations.consumer_id LIMIT {limit}",
        created = now().format("%Y-%m-%d %H:%M:%S%.6f"),
        limit = limit.max(0)
    ))
    .execute(conn)? as i64;
    Ok(Batch { found: done, done })
}

/// The id of the project or user `external_id`, created if missing (as
/// a write would: `consumers::ensure`, without the request's id cache).
fn owner_id(conn: &mut DbConnection, owner: Owner, external_id: &str) -> StorageResult<i32> {
    consumers::ensure(conn, &consumers::OwnerIds::default(), &mut consumers::Created::default(), owner, external_id)
}

/// Record `revision` (an id, or `head`) as the schema's revision without
/// running any migration, as alembic's `stamp`.
pub fn stamp(conn: &mut DbConnection, revision: &str) -> StorageResult<()> {
    use diesel::connection::SimpleConnection;
    let id = if revision == "head" { migrate::HEAD } else { revision };
    if !migrate::REVISIONS.iter().any(|r| r.id == id) {
        return Err(StorageError::Schema(format!("Can't locate revision identified by '{revision}'")));
    }
    let mut script = String::new();
    if migrate::current_revision(conn)?.is_none() {
        script.push_str(migrate::VERSION_TABLE);
    }
    script
        .push_str(&format!("DELETE FROM alembic_version;\nINSERT INTO alembic_version (version_num) VALUES ('{id}');"));
    Ok(conn.batch_execute(&script)?)
}
