//! Statements whose text is fixed for their shape, written by hand and
//! kept prepared on their connection by diesel's statement cache (keyed by
//! the text). Diesel never keeps an UPDATE, an ON CONFLICT, raw SQL, a
//! multi-row INSERT or an `IN` list prepared, since their text may vary
//! between calls; a prepared statement made afresh costs a round trip to
//! prepare it on top of the one to run it.

use std::marker::PhantomData;

use diesel::backend::Backend as DieselBackend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// The text and binds of one fixed statement on backend `DB`.
pub(crate) trait Fixed<DB: DieselBackend> {
    fn walk<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

/// A fixed statement returning rows of `T`, which diesel keeps prepared.
pub(crate) struct Kept<S, T> {
    statement: S,
    returns: PhantomData<T>,
}

/// `statement`, kept prepared, returning rows of `T`.
pub(crate) fn kept<T, S>(statement: S) -> Kept<S, T> {
    Kept { statement, returns: PhantomData }
}

impl<S: Fixed<DB>, T, DB: DieselBackend> QueryFragment<DB> for Kept<S, T> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.statement.walk(out)
    }
}

impl<S, T> QueryId for Kept<S, T> {
    type QueryId = ();
    // Cached by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, T: diesel::sql_types::SqlType + QueryId> Query for Kept<S, T> {
    type SqlType = T;
}

impl<S, T, Conn> RunQueryDsl<Conn> for Kept<S, T> {}
