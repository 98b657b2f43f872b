//! Large reads, run without keeping their statement prepared on MySQL.
//!
//! A prepared statement kept by the connection keeps the result it last
//! stored with MariaDB's client library: once every row has been fetched,
//! `mysql_stmt_free_result` leaves it in place until the statement runs
//! again. A read of every provider or inventory of a large cloud would so
//! hold tens of megabytes per pooled connection (35 MB at 100,000
//! providers). Preparing afresh costs two more round trips: 0.2 ms on a
//! 3 ms query at 1000 providers, nothing to speak of on a large read.

use diesel::backend::Backend as DieselBackend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;

use crate::conn::DbConnection;
use crate::url::Backend;

/// `Q`, never kept prepared.
#[derive(Debug, Clone, Copy)]
pub struct Uncached<Q>(pub(crate) Q);

impl<Q: QueryFragment<DB>, DB: DieselBackend> QueryFragment<DB> for Uncached<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Uncached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Uncached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Uncached<Q> {}

/// Rows from which on a read is large: a smaller result kept by each of
/// a pool's connections adds up to a few megabytes at most, and a query
/// over fewer providers is fast enough for the round trips to show.
const LARGE: usize = 2_000;

/// Every row `query` returns; on MySQL, when about `expected` rows make a
/// large read, without keeping its statement.
pub fn load_all<'q, Q, T>(conn: &mut DbConnection, query: Q, expected: usize) -> QueryResult<Vec<T>>
where
    Q: LoadQuery<'q, DbConnection, T>,
    Uncached<Q>: LoadQuery<'q, DbConnection, T>,
{
    match conn.backend() {
        Backend::Mysql if expected >= LARGE => Uncached(query).load(conn),
        _ => query.load(conn),
    }
}
