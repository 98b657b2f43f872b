//! The allocation write's statements on PostgreSQL, written so that each
//! takes one round trip and stays prepared on its connection.
//!
//! Round trips, and parsing and planning statements anew, were most of
//! PostgreSQL's time per write; these are kept prepared (see `kept`).
//!
//! Each statement sees what committed before it started (READ COMMITTED,
//! PostgreSQL's default), so once one statement holds a provider's row
//! lock, the next sees every allocation its earlier holders committed.
//! Under a stricter isolation level a conflicting update fails instead,
//! with a serialization error that is retried in a new transaction.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text, Timestamp};

use crate::consumers::{Consumer, ConsumerRow};
use crate::error::StorageResult;
use crate::inventories::InventoryRecord;
use crate::kept::{Fixed, kept};
use crate::now;

/// A provider's id and its generation.
pub type IdAndGeneration = (i32, i32);

struct BumpProvider<'a> {
    uuid: &'a str,
    now: NaiveDateTime,
}

impl Fixed<Pg> for BumpProvider<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE resource_providers SET generation = generation + 1, updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE uuid = ");
        out.push_bind_param::<Text, _>(self.uuid)?;
        out.push_sql(" RETURNING id, generation");
        Ok(())
    }
}

struct LockBumpAndStamp<'a> {
    uuids: &'a [String],
    consumers: &'a [String],
    now: NaiveDateTime,
}

impl Fixed<Pg> for LockBumpAndStamp<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The ids first (an InitPlan, by index), then the rows by primary
        // key: an OR of the two conditions would scan every provider. The
        // CTE is materialized so its locks come in its id order before
        // the UPDATE changes any row.
        out.push_sql("WITH locked AS MATERIALIZED (SELECT id, uuid = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.uuids)?;
        out.push_sql(
            ") AS claimed FROM resource_providers WHERE id = ANY(ARRAY(\
             SELECT id FROM resource_providers WHERE uuid = ANY(",
        );
        out.push_bind_param::<Array<Text>, _>(self.uuids)?;
        out.push_sql(") UNION SELECT resource_provider_id FROM allocations WHERE consumer_id = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.consumers)?;
        out.push_sql(
            "))) ORDER BY id FOR UPDATE) \
             UPDATE resource_providers r SET \
             generation = CASE WHEN l.claimed THEN r.generation + 1 ELSE r.generation END, \
             updated_at = CASE WHEN l.claimed THEN ",
        );
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" ELSE GREATEST(");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(
            ", r.updated_at + INTERVAL '1 microsecond') END \
             FROM locked l WHERE r.id = l.id RETURNING l.claimed, r.uuid, r.id, r.generation",
        );
        Ok(())
    }
}

/// In one statement, lock in id order the providers named by uuid and
/// those holding the consumers' allocations now, bump the generation of
/// the named ones and stamp the others as freed (see `freed`). A write
/// that frees one provider and claims on another would otherwise lock the
/// two in its own order, and two moves in opposite directions wait on each
/// other until PostgreSQL's deadlock check (a second by default) aborts
/// one. Returns each named provider found: uuid, id, new generation.
pub fn lock_bump_and_stamp(
    pg: &mut PgConnection,
    uuids: &[String],
    consumers: &[String],
) -> StorageResult<Vec<(String, i32, i32)>> {
    let rows: Vec<(bool, String, i32, Option<i32>)> =
        kept::<(Bool, Text, Integer, Nullable<Integer>), _>(LockBumpAndStamp { uuids, consumers, now: now() })
            .load(pg)?;
    Ok(rows
        .into_iter()
        .filter(|(claimed, ..)| *claimed)
        .map(|(_, uuid, id, generation)| (uuid, id, generation.unwrap_or(0)))
        .collect())
}

struct StampFreed<'a> {
    consumers: &'a [String],
    now: NaiveDateTime,
}

impl Fixed<Pg> for StampFreed<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE resource_providers SET updated_at = GREATEST(");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        // Locked in id order first, as every other write locks them: an
        // UPDATE locks rows in whatever order its plan meets them, and two
        // deletes (or a delete and a move) freeing the same providers
        // then waited on each other until the deadlock check.
        out.push_sql(
            ", updated_at + INTERVAL '1 microsecond') WHERE id = ANY(ARRAY(\
             SELECT id FROM resource_providers WHERE id = ANY(ARRAY(\
             SELECT resource_provider_id FROM allocations WHERE consumer_id = ANY(",
        );
        out.push_bind_param::<Array<Text>, _>(self.consumers)?;
        out.push_sql("))) ORDER BY id FOR UPDATE)) RETURNING id");
        Ok(())
    }
}

/// Move `updated_at` strictly forward on every provider holding the
/// consumers' allocations (see `freed`), evaluated under each row's lock
/// against its latest committed value.
pub fn stamp_freed(pg: &mut PgConnection, consumers: &[String]) -> StorageResult<()> {
    kept::<Integer, _>(StampFreed { consumers, now: now() }).load::<i32>(pg)?;
    Ok(())
}

/// Bump a provider's generation, taking its row lock; its id and new
/// generation, or `None` when there is no such provider.
pub fn bump_provider(pg: &mut PgConnection, uuid: &str) -> StorageResult<Option<IdAndGeneration>> {
    let bumped: Option<(i32, Option<i32>)> =
        kept::<(Integer, Nullable<Integer>), _>(BumpProvider { uuid, now: now() }).get_result(pg).optional()?;
    Ok(bumped.map(|(id, generation)| (id, generation.unwrap_or(0))))
}

/// A new consumer's row.
pub struct NewConsumerRow<'a> {
    /// The consumer's uuid.
    pub uuid: &'a str,
    /// Internal id of the owning project.
    pub project_id: i32,
    /// Internal id of the owning user.
    pub user_id: i32,
    /// The generation it starts at.
    pub generation: i32,
    /// Internal id of its consumer type, if it has one.
    pub consumer_type_id: Option<i32>,
    /// Its `created_at`.
    pub now: NaiveDateTime,
}

impl Fixed<Pg> for NewConsumerRow<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO consumers (uuid, project_id, user_id, generation, consumer_type_id, created_at) VALUES (",
        );
        out.push_bind_param::<Text, _>(self.uuid)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.project_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.generation)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.consumer_type_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(") ON CONFLICT DO NOTHING RETURNING id");
        Ok(())
    }
}

struct CreateAndBump<'a> {
    consumer: NewConsumerRow<'a>,
    provider: BumpProvider<'a>,
}

impl Fixed<Pg> for CreateAndBump<'_> {
    // The consumer's insert runs first: the SELECT reads it first.
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH c AS (");
        self.consumer.walk(out.reborrow())?;
        out.push_sql("), p AS (");
        self.provider.walk(out.reborrow())?;
        out.push_sql(") SELECT (SELECT id FROM c), (SELECT id FROM p), (SELECT generation FROM p)");
        Ok(())
    }
}

/// A new consumer's first write, on one provider: insert the consumer and
/// bump (so lock) the provider in one statement. The consumer's id, or
/// `None` when one with that uuid exists; the provider's id and new
/// generation, or `None` when there is no such provider.
pub fn create_consumer_and_bump(
    pg: &mut PgConnection,
    consumer: NewConsumerRow<'_>,
    provider: &str,
) -> StorageResult<(Option<i32>, Option<IdAndGeneration>)> {
    let (consumer, provider_id, generation): (Option<i32>, Option<i32>, Option<i32>) =
        kept::<(Nullable<Integer>, Nullable<Integer>, Nullable<Integer>), _>(CreateAndBump {
            provider: BumpProvider { uuid: provider, now: consumer.now },
            consumer,
        })
        .get_result(pg)?;
    Ok((consumer, provider_id.map(|id| (id, generation.unwrap_or(0)))))
}

/// Insert a consumer; its id, or `None` when one with that uuid exists.
pub fn create_consumer(pg: &mut PgConnection, row: NewConsumerRow<'_>) -> StorageResult<Option<i32>> {
    Ok(kept::<Integer, _>(row).get_result(pg).optional()?)
}

struct BumpExpected<'a> {
    uuid: &'a str,
    expected: i32,
    now: NaiveDateTime,
}

impl Fixed<Pg> for BumpExpected<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH c AS (UPDATE consumers SET generation = generation + 1, updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE uuid = ");
        out.push_bind_param::<Text, _>(self.uuid)?;
        out.push_sql(" AND generation = ");
        out.push_bind_param::<Integer, _>(&self.expected)?;
        out.push_sql(
            " RETURNING id, uuid, project_id, user_id, generation, consumer_type_id) \
            SELECT c.id, c.uuid, c.project_id, p.external_id, c.user_id, u.external_id, c.generation, \
            c.consumer_type_id FROM c JOIN projects p ON p.id = c.project_id JOIN users u ON u.id = c.user_id",
        );
        Ok(())
    }
}

/// Bump a consumer whose generation the client gave, if it still has
/// that generation: the consumer as it is now (bumped), else `None`.
pub fn bump_expected_consumer(pg: &mut PgConnection, uuid: &str, expected: i32) -> StorageResult<Option<Consumer>> {
    let row: Option<ConsumerRow> =
        kept::<(Integer, Text, Integer, Text, Integer, Text, Integer, Nullable<Integer>), _>(BumpExpected {
            uuid,
            expected,
            now: now(),
        })
        .get_result(pg)
        .optional()?;
    Ok(row.map(Consumer::from))
}

/// Allocation rows, column by column.
#[derive(Default)]
pub struct NewAllocations {
    /// Each row's provider id.
    pub providers: Vec<i32>,
    /// Each row's resource class id.
    pub classes: Vec<i32>,
    /// Each row's consumer uuid.
    pub consumers: Vec<String>,
    /// Each row's amount.
    pub used: Vec<i32>,
}

struct ReplaceAndRead<'a> {
    consumers: &'a [String],
    rows: &'a NewAllocations,
    providers: &'a [i32],
    classes: &'a [i32],
    now: NaiveDateTime,
}

impl Fixed<Pg> for ReplaceAndRead<'_> {
    // The parts of a WITH share one snapshot: the usage summed here counts
    // the rows the DELETE removes and not those the INSERT adds, so the
    // removed rows' sum comes beside it. The new rows go in before their
    // claim is checked; a claim that does not fit fails the transaction,
    // and they go with it. Arrays rather than a VALUES list keep the text
    // the same for any number of rows.
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH removed AS (DELETE FROM allocations WHERE consumer_id = ANY(");
        out.push_bind_param::<Array<Text>, _>(self.consumers)?;
        out.push_sql(
            ") RETURNING resource_provider_id, resource_class_id, used), \
            added AS (INSERT INTO allocations \
            (resource_provider_id, resource_class_id, consumer_id, used, created_at) \
            SELECT p, c, u, n, ",
        );
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM UNNEST(");
        out.push_bind_param::<Array<Integer>, _>(&self.rows.providers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.rows.classes)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.rows.consumers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.rows.used)?;
        out.push_sql(
            ") AS t(p, c, u, n)) \
            SELECT i.resource_provider_id, i.resource_class_id, i.total, i.reserved, \
            i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, \
            COALESCE((SELECT SUM(a.used) FROM allocations a \
                WHERE a.resource_provider_id = i.resource_provider_id \
                AND a.resource_class_id = i.resource_class_id), 0)::BIGINT, \
            COALESCE((SELECT SUM(r.used) FROM removed r \
                WHERE r.resource_provider_id = i.resource_provider_id \
                AND r.resource_class_id = i.resource_class_id), 0)::BIGINT \
            FROM inventories i WHERE i.resource_provider_id = ANY(",
        );
        out.push_bind_param::<Array<Integer>, _>(self.providers)?;
        out.push_sql(") AND i.resource_class_id = ANY(");
        out.push_bind_param::<Array<Integer>, _>(self.classes)?;
        out.push_sql(")");
        Ok(())
    }
}

type InventoryWithUsage = (InventoryRecord, i64, i64);

/// In one statement: remove these consumers' allocations, insert `rows`
/// (created at `now`), and read the inventories of these providers and
/// classes, each with its usage before and after the removal (not
/// counting the rows inserted). The caller checks the claims and fails the
/// transaction if they do not fit.
pub fn replace_and_read(
    pg: &mut PgConnection,
    consumers: &[String],
    rows: &NewAllocations,
    providers: &[i32],
    classes: &[i32],
    now: NaiveDateTime,
) -> StorageResult<Vec<InventoryWithUsage>> {
    type Record = (Integer, Integer, Integer, Integer, Integer, Integer, Integer, Double);
    let rows: Vec<(InventoryRecord, i64, i64)> =
        kept::<(Record, BigInt, BigInt), _>(ReplaceAndRead { consumers, rows, providers, classes, now }).load(pg)?;
    Ok(rows.into_iter().map(|(record, before, removed)| (record, before, before - removed)).collect())
}
