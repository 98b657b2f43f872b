//! Reads of a whole table, run without keeping their statement prepared
//! on MySQL.
//!
//! A prepared statement kept by the connection keeps the result it last
//! stored with MariaDB's client library: once every row has been fetched,
//! `mysql_stmt_free_result` leaves it in place until the statement runs
//! again. A read of every provider or inventory of a large cloud would so
//! hold tens of megabytes per pooled connection (35 MB at 100,000
//! providers). Such a read, prepared afresh and closed each time, costs a
//! round trip or two on a query that takes milliseconds or more.

use diesel::backend::Backend as DieselBackend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;

use crate::conn::DbConnection;
use crate::url::Backend;

/// `Q`, never kept prepared.
#[derive(Debug, Clone, Copy)]
pub struct Uncached<Q>(Q);

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

/// Every row `query` returns; on MySQL without keeping its statement.
pub fn load_all<'q, Q, T>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<T>>
where
    Q: LoadQuery<'q, DbConnection, T>,
    Uncached<Q>: LoadQuery<'q, DbConnection, T>,
{
    match conn.backend() {
        Backend::Mysql => Uncached(query).load(conn),
        _ => query.load(conn),
    }
}
