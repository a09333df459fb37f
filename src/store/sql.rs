//! One interface over both databases, so every store operation (accounts, proposals, the
//! registry's versions, the audit log) is written once and runs on SQLite and on PostgreSQL.
//!
//! Statements are written in SQLite's syntax with numbered placeholders (`?1`, `?2`, …); the
//! PostgreSQL connection rewrites them to `$1`, `$2`, … . Parameters and results are typed
//! ([`Param`], [`Cell`]) rather than each client's own types, so a function of the store takes
//! `&dyn Conn` and never names a client. What truly differs between the two dialects (string
//! aggregation) is asked of [`Conn::dialect`] at the one place it is used.

use std::fmt;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The aggregate that joins the text values of `column` with commas (`group_concat` in
    /// SQLite, `string_agg` in PostgreSQL).
    pub fn comma_list(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("group_concat({column})"),
            Dialect::Postgres => format!("string_agg({column}, ',')"),
        }
    }
}

/// A statement parameter. Typed even when null, because PostgreSQL checks a parameter's type
/// against the column's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    /// A PostGIS geometry as EWKB ([`crate::store::pg::ewkb`]), for PostgreSQL's `geometry`
    /// columns; SQLite has none (it would store the bytes as a blob).
    Geometry(Option<&'a [u8]>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref())
    }
}

/// A level is stored (`features.layer`) by its collection name: `towns`, `communities`, `grids`.
impl From<crate::registry::Level> for Param<'_> {
    fn from(level: crate::registry::Level) -> Self {
        Param::Text(Some(level.collection()))
    }
}

/// The parameters of a statement, each converted with [`Param::from`].
#[macro_export]
macro_rules! sql_params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::store::sql::Param::from($p)),*]
    };
}

/// One value of a result row. Booleans arrive as integers 0/1 (as SQLite stores them).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A Rust type a [`Cell`] converts to.
pub trait FromCell: Sized {
    /// What the type is called in a mismatch's message.
    const NAME: &'static str;
    fn from_cell(cell: &Cell) -> Option<Self>;
}

impl FromCell for i64 {
    const NAME: &'static str = "an integer";
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromCell for bool {
    const NAME: &'static str = "a boolean";
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl FromCell for String {
    const NAME: &'static str = "text";
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    /// Column `index` as `T`; a missing column or another type is an error naming both (the
    /// database was changed outside shequ, or a statement and its reader disagree).
    pub fn get<T: FromCell>(&self, index: usize) -> Result<T, DbError> {
        let cell = self.0.get(index).ok_or(DbError::Column {
            index,
            expected: T::NAME,
            found: "no such column".into(),
        })?;
        T::from_cell(cell).ok_or_else(|| DbError::Column {
            index,
            expected: T::NAME,
            found: format!("{cell:?}"),
        })
    }

    /// Column `index` as text, moved out of the row (a feature's text can be megabytes: no
    /// copy); an error as [`Row::get`]'s when it is not text.
    pub fn take_text(&mut self, index: usize) -> Result<String, DbError> {
        match self.0.get_mut(index) {
            Some(Cell::Text(text)) => Ok(std::mem::take(text)),
            _ => self.get(index),
        }
    }
}

/// A failure of the database underneath the store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", crate::store::pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    /// The database server cannot be reached now (stopped, restarting, network): the request
    /// may succeed later, so the API answers 503.
    #[error("the database {location} cannot be reached: {reason}")]
    Unavailable { location: String, reason: String },
    #[error("result column {index} should be {expected}, found {found}")]
    Column {
        index: usize,
        expected: &'static str,
        found: String,
    },
    #[error("the statement returned no row: {0}")]
    NoRow(String),
}

impl DbError {
    /// Whether the failure is the database being out of reach (rather than a statement or the
    /// data being wrong): a closed connection, or one that could not be opened.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable { .. } => true,
            DbError::Postgres(e) => {
                e.is_closed()
                    || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                    || e.code().is_some_and(|c| {
                        // Class 08 (connection exception) and 57P0x (the server shutting down).
                        let c = c.code();
                        c.starts_with("08") || c.starts_with("57P0")
                    })
            }
            _ => false,
        }
    }
}

/// What [`Conn::insert_rows`] is given: it calls the writer once per row, with the row's
/// parameters in column order.
pub type RowFill<'f> =
    dyn FnMut(&mut dyn FnMut(&[Param<'_>]) -> Result<(), DbError>) -> Result<(), DbError> + 'f;

pub use super::pg::copy::Kind;

/// A connection (or transaction) of either database. Functions of the store take `&dyn Conn`.
pub trait Conn {
    fn dialect(&self) -> Dialect;

    /// Runs one statement; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError>;

    /// Runs one query, handing its rows to `each` one at a time as the database returns them
    /// (so a large result, e.g. a registry version's features, is never held whole). `each`
    /// must not use this connection.
    fn query_each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError>;

    /// Inserts many rows into `columns` of `table` (each column's type given, as binary `COPY`
    /// needs it): `fill` hands each row's parameters to the writer it is given. This default
    /// runs one prepared `INSERT` per row (SQLite: no round trips); PostgreSQL streams them
    /// all through one binary `COPY` (seeding a ×100 city is half a million rows, and a round
    /// trip per row cost more than the rows themselves, issue 20).
    fn insert_rows(
        &self,
        table: &str,
        columns: &[(&str, Kind)],
        fill: &mut RowFill<'_>,
    ) -> Result<(), DbError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        fill(&mut |params| self.execute(&sql, params).map(|_| ()))
    }

    /// Runs one query; all its rows.
    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query that must return one.
    fn query_one(&self, sql: &str, params: &[Param<'_>]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::NoRow(sql.split_whitespace().collect::<Vec<_>>().join(" ")))
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        })
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match *self {
            Param::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(v)),
            Param::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Param::Geometry(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Param::Int(None) | Param::Text(None) | Param::Geometry(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

impl Conn for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        let mut stmt = self.prepare_cached(sql)?;
        let n = stmt.execute(rusqlite::params_from_iter(params))?;
        Ok(n as u64)
    }

    fn query_each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match r.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            each(Row(cells))?;
        }
        Ok(())
    }
}

/// `sql` with SQLite's numbered placeholders `?N` written as PostgreSQL's `$N` (outside quoted
/// strings; the store's statements have no `?` of their own elsewhere).
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_strings() {
        assert_eq!(
            postgres_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
    }

    #[test]
    fn cells_convert_or_say_why_not() {
        let row = Row(vec![Cell::Int(1), Cell::Null, Cell::Text("x".into())]);
        assert_eq!(row.get::<i64>(0).ok(), Some(1));
        assert!(row.get::<bool>(0).is_ok_and(|b| b));
        assert_eq!(row.get::<Option<String>>(1).ok(), Some(None));
        assert_eq!(row.get::<String>(2).ok().as_deref(), Some("x"));
        let e = row.get::<i64>(2).unwrap_err().to_string();
        assert!(e.contains("column 2 should be an integer"), "{e}");
        assert!(row.get::<String>(7).is_err());
    }
}
