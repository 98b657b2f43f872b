//! The optimistic bump of a provider's or a consumer's generation: one
//! statement for both tables on every backend, kept prepared (see `kept`)
//! because diesel makes an UPDATE afresh on each call.

use chrono::NaiveDateTime;
use diesel::backend::Backend as DieselBackend;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Integer, Timestamp};

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::kept::{Fixed, kept};

/// A table whose rows carry a generation that writers bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Generational {
    Providers,
    Consumers,
}

struct BumpGeneration {
    table: Generational,
    id: i32,
    expected: i32,
    now: NaiveDateTime,
}

impl<DB> Fixed<DB> for BumpGeneration
where
    DB: DieselBackend + HasSqlType<Integer> + HasSqlType<Timestamp>,
    i32: ToSql<Integer, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(match self.table {
            Generational::Providers => "UPDATE resource_providers",
            Generational::Consumers => "UPDATE consumers",
        });
        out.push_sql(" SET generation = generation + 1, updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Integer, _>(&self.id)?;
        out.push_sql(" AND generation = ");
        out.push_bind_param::<Integer, _>(&self.expected)?;
        Ok(())
    }
}

/// Bump row `id` of `table` from the generation read; false if another
/// writer moved it first.
pub(crate) fn bump(conn: &mut DbConnection, table: Generational, id: i32, expected: i32) -> StorageResult<bool> {
    let bump = kept::<Integer, _>(BumpGeneration { table, id, expected, now: crate::now() });
    let changed = match conn {
        DbConnection::Sqlite(c) => bump.execute(c)?,
        #[cfg(feature = "postgres")]
        DbConnection::Postgresql(c) => bump.execute(c)?,
        // Made afresh on Galera, as diesel's statements are (see `my_write::keeps`).
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(c) if crate::my_write::keeps(&[]) => bump.execute(c)?,
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(c) => crate::uncached::Uncached(bump).execute(c)?,
    };
    Ok(changed == 1)
}
