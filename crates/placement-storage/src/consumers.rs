//! Consumers, and the projects, users and consumer types they belong to.

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;
use placement_model::DomainError;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::now;
use crate::schema::{allocations, consumer_types, consumers, projects, users};

/// The consumer type name upstream reports for consumers without one.
pub const UNKNOWN_TYPE: &str = "unknown";

/// A consumer with its owners' external ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    /// Internal id.
    pub id: i32,
    /// The consumer's uuid.
    pub uuid: String,
    /// Internal id of the owning project.
    pub project_id: i32,
    /// The owning project's external id.
    pub project: String,
    /// Internal id of the owning user.
    pub user_id: i32,
    /// The owning user's external id.
    pub user: String,
    /// The consumer's generation.
    pub generation: i32,
    /// Internal id of its consumer type; `None` is reported as
    /// [`UNKNOWN_TYPE`].
    pub consumer_type_id: Option<i32>,
}

/// A consumer as read: id, uuid, project id and external id, user id and
/// external id, generation, type id.
pub(crate) type ConsumerRow = (i32, String, i32, String, i32, String, i32, Option<i32>);

impl From<ConsumerRow> for Consumer {
    fn from(row: ConsumerRow) -> Consumer {
        let (id, uuid, project_id, project, user_id, user, generation, consumer_type_id) = row;
        Consumer { id, uuid, project_id, project, user_id, user, generation, consumer_type_id }
    }
}

/// The consumer with this uuid, if any.
pub fn find(conn: &mut DbConnection, uuid: &str) -> StorageResult<Option<Consumer>> {
    let row: Option<ConsumerRow> = consumers::table
        .inner_join(projects::table.on(projects::id.eq(consumers::project_id)))
        .inner_join(users::table.on(users::id.eq(consumers::user_id)))
        .filter(consumers::uuid.eq(uuid))
        .select((
            consumers::id,
            consumers::uuid,
            projects::id,
            projects::external_id,
            users::id,
            users::external_id,
            consumers::generation,
            consumers::consumer_type_id,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(Consumer::from))
}

/// Which owner table a name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// `projects`, by external id.
    Project,
    /// `users`, by external id.
    User,
    /// `consumer_types`, by name.
    ConsumerType,
}

/// Ids of projects, users and consumer types, kept between requests: no
/// API call deletes those rows, so an id once committed stays valid.
#[derive(Debug, Default)]
pub struct OwnerIds {
    known: Mutex<HashMap<(Owner, String), i32>>,
}

/// Owner rows one transaction made: until it commits, their ids must not
/// be remembered.
#[derive(Debug, Default)]
pub struct Created(Vec<(Owner, String)>);

/// The id of a project, user or consumer type by external id or name,
/// creating the record if needed.
pub fn ensure(
    conn: &mut DbConnection,
    ids: &OwnerIds,
    created: &mut Created,
    owner: Owner,
    name: &str,
) -> StorageResult<i32> {
    let key = (owner, name.to_string());
    if let Some(id) = ids.known.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(*id);
    }
    if let Some(id) = find_owner(conn, owner, name)? {
        // Committed by someone, unless this transaction made it.
        if !created.0.contains(&key) {
            ids.known.lock().unwrap_or_else(|e| e.into_inner()).insert(key, id);
        }
        return Ok(id);
    }
    match owner {
        Owner::Project => diesel::insert_into(projects::table)
            .values((projects::external_id.eq(name), projects::created_at.eq(now())))
            .execute(conn)?,
        Owner::User => diesel::insert_into(users::table)
            .values((users::external_id.eq(name), users::created_at.eq(now())))
            .execute(conn)?,
        Owner::ConsumerType => diesel::insert_into(consumer_types::table)
            .values((consumer_types::name.eq(name), consumer_types::created_at.eq(now())))
            .execute(conn)?,
    };
    created.0.push(key);
    find_owner(conn, owner, name)?.ok_or_else(|| DomainError::ConsumerConcurrentUpdate.into())
}

fn find_owner(conn: &mut DbConnection, owner: Owner, name: &str) -> StorageResult<Option<i32>> {
    Ok(match owner {
        Owner::Project => {
            projects::table.filter(projects::external_id.eq(name)).select(projects::id).first(conn).optional()?
        }
        Owner::User => users::table.filter(users::external_id.eq(name)).select(users::id).first(conn).optional()?,
        Owner::ConsumerType => consumer_types::table
            .filter(consumer_types::name.eq(name))
            .select(consumer_types::id)
            .first(conn)
            .optional()?,
    })
}

/// A consumer type's name; consumers without one are `unknown`.
pub fn type_name(conn: &mut DbConnection, id: Option<i32>) -> StorageResult<String> {
    let Some(id) = id else {
        return Ok(UNKNOWN_TYPE.to_string());
    };
    let name: Option<String> =
        consumer_types::table.filter(consumer_types::id.eq(id)).select(consumer_types::name).first(conn).optional()?;
    Ok(name.unwrap_or_else(|| UNKNOWN_TYPE.to_string()))
}

/// What a new consumer row holds.
pub struct NewConsumer<'a> {
    /// The consumer's uuid.
    pub uuid: &'a str,
    /// The owning project's internal and external id.
    pub project: (i32, &'a str),
    /// The owning user's internal and external id.
    pub user: (i32, &'a str),
    /// Internal id of its consumer type, if it has one.
    pub consumer_type_id: Option<i32>,
    /// Upstream creates consumers at 0 and bumps them with their first
    /// allocations; a write that does both in one transaction starts at 1.
    pub generation: i32,
}

impl NewConsumer<'_> {
    /// The consumer as inserted with this id.
    pub(crate) fn made(&self, id: i32) -> Consumer {
        Consumer {
            id,
            uuid: self.uuid.to_string(),
            project_id: self.project.0,
            project: self.project.1.to_string(),
            user_id: self.user.0,
            user: self.user.1.to_string(),
            generation: self.generation,
            consumer_type_id: self.consumer_type_id,
        }
    }

    /// Its row for PostgreSQL's insert, created now.
    #[cfg(feature = "postgres")]
    pub(crate) fn row(&self) -> crate::pg_write::NewConsumerRow<'_> {
        crate::pg_write::NewConsumerRow {
            uuid: self.uuid,
            project_id: self.project.0,
            user_id: self.user.0,
            generation: self.generation,
            consumer_type_id: self.consumer_type_id,
            now: now(),
        }
    }
}

/// Create a consumer; `None` where PostgreSQL found one with that uuid
/// (elsewhere that is a unique violation, a lost race).
pub fn create(conn: &mut DbConnection, new: &NewConsumer<'_>) -> StorageResult<Option<Consumer>> {
    let id: Option<i32> = match conn {
        #[cfg(feature = "postgres")]
        DbConnection::Postgresql(pg) => crate::pg_write::create_consumer(pg, new.row())?,
        _ => {
            let values = (
                consumers::uuid.eq(new.uuid),
                consumers::project_id.eq(new.project.0),
                consumers::user_id.eq(new.user.0),
                consumers::generation.eq(new.generation),
                consumers::consumer_type_id.eq(new.consumer_type_id),
                consumers::created_at.eq(now()),
            );
            diesel::insert_into(consumers::table).values(values).execute(conn)?;
            Some(consumers::table.filter(consumers::uuid.eq(new.uuid)).select(consumers::id).first(conn)?)
        }
    };
    Ok(id.map(|id| new.made(id)))
}

/// Change a consumer's owners or type without bumping its generation.
pub fn set_owner(
    conn: &mut DbConnection,
    consumer: &Consumer,
    project_id: i32,
    user_id: i32,
    consumer_type_id: Option<i32>,
) -> StorageResult<()> {
    diesel::update(
        consumers::table.filter(consumers::id.eq(consumer.id)).filter(consumers::generation.eq(consumer.generation)),
    )
    .set((
        consumers::project_id.eq(project_id),
        consumers::user_id.eq(user_id),
        consumers::consumer_type_id.eq(consumer_type_id),
        consumers::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Bump the generation from the one read; another writer got there first
/// if it changed.
pub fn bump_generation(conn: &mut DbConnection, id: i32, expected: i32) -> StorageResult<i32> {
    match crate::generation::bump(conn, crate::generation::Generational::Consumers, id, expected)? {
        true => Ok(expected + 1),
        false => Err(DomainError::ConsumerConcurrentUpdate.into()),
    }
}

/// Delete those of these consumers that have no allocations left.
pub fn delete_if_unused(conn: &mut DbConnection, uuids: &[String]) -> StorageResult<()> {
    if uuids.is_empty() {
        return Ok(());
    }
    let mut in_use: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in uuids.chunks(crate::MAX_BOUND) {
        in_use.extend(
            allocations::table
                .filter(allocations::consumer_id.eq_any(chunk))
                .select(allocations::consumer_id)
                .distinct()
                .load::<String>(conn)?,
        );
    }
    let unused: Vec<&String> = uuids.iter().filter(|u| !in_use.contains(*u)).collect();
    for chunk in unused.chunks(crate::MAX_BOUND) {
        diesel::delete(consumers::table.filter(consumers::uuid.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;
    use crate::error::StorageError;

    fn database(tag: &str) -> (Database, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("placement-owners-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Database::open(
            &format!("sqlite:///{}/p.db", dir.display()),
            &crate::PoolOptions { max_size: 1, ..Default::default() },
        )
        .unwrap();
        db.prepare(true).unwrap();
        (db, dir)
    }

    #[test]
    fn ids_made_by_a_rolled_back_transaction_are_not_remembered() {
        let (db, dir) = database("rollback");
        let ids = OwnerIds::default();
        let result: StorageResult<()> = db.write(|c| {
            let mut created = Created::default();
            let first = ensure(c, &ids, &mut created, Owner::Project, "p1")?;
            // Found again in the same transaction: still not committed.
            assert_eq!(ensure(c, &ids, &mut created, Owner::Project, "p1")?, first);
            Err(StorageError::Schema("roll back".into()))
        });
        assert!(result.is_err());
        assert!(ids.known.lock().unwrap().is_empty());
        assert_eq!(db.read(|c| find_owner(c, Owner::Project, "p1")).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn committed_ids_are_remembered_once_found() {
        let (db, dir) = database("commit");
        let ids = OwnerIds::default();
        let made = db.write(|c| ensure(c, &ids, &mut Created::default(), Owner::User, "u1")).unwrap();
        assert!(ids.known.lock().unwrap().is_empty(), "made by this transaction");
        let found = db.write(|c| ensure(c, &ids, &mut Created::default(), Owner::User, "u1")).unwrap();
        assert_eq!(found, made);
        assert_eq!(ids.known.lock().unwrap().get(&(Owner::User, "u1".to_string())), Some(&made));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
