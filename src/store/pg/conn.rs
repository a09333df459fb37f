//! A PostgreSQL transaction as a [`Conn`], so the store's operations (written once, in
//! [`crate::store::sql`]'s terms) run on it: placeholders rewritten, statements prepared once
//! per connection and kept, rows converted to [`Cell`]s.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};
use postgres::{Statement, Transaction};

use postgres::binary_copy::BinaryCopyInWriter;

use crate::store::sql::{
    Cell, Conn, DbError, Dialect, Kind, Param, Row, RowFill, postgres_placeholders,
};

/// Prepared statements of one connection, by their SQLite-syntax text.
pub type Statements = HashMap<String, Statement>;

/// One open transaction with the connection's statement cache. The `RefCell`s let the store's
/// functions take `&dyn Conn` (shared), as a rusqlite connection does.
pub struct PgConn<'a, 'c> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'c mut Statements>,
}

impl<'a, 'c> PgConn<'a, 'c> {
    pub fn new(tx: Transaction<'a>, statements: &'c mut Statements) -> Self {
        PgConn {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
        }
    }

    /// Commits the transaction (dropping a `PgConn` without this rolls it back).
    pub fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.into_inner().commit()?)
    }

    fn statement(&self, sql: &str) -> Result<Statement, DbError> {
        let mut cache = self.statements.borrow_mut();
        if let Some(s) = cache.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.tx.borrow_mut().prepare(&postgres_placeholders(sql))?;
        cache.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Geometry(v) => Ewkb(*v).to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <&str as ToSql>::accepts(ty) || Ewkb::accepts(ty)
    }

    // Checked per value: an integer for a text column (or the reverse) is refused by the
    // client with the column's type named, not sent as wrong bytes.
    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(v) => v.to_sql_checked(ty, out),
            Param::Text(v) => v.to_sql_checked(ty, out),
            Param::Geometry(v) => Ewkb(*v).to_sql_checked(ty, out),
        }
    }
}

/// EWKB bytes for a PostGIS `geometry` parameter or `COPY` column: its binary input
/// (`geometry_recv`) reads (E)WKB, and checks the SRID against the column's.
#[derive(Debug, Clone, Copy)]
pub struct Ewkb<'a>(pub Option<&'a [u8]>);

impl ToSql for Ewkb<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    /// PostGIS's type has no fixed OID (an extension's): it is known by its name.
    fn accepts(ty: &Type) -> bool {
        ty.name() == "geometry"
    }

    postgres::types::to_sql_checked!();
}

/// The types of `columns` as binary `COPY` needs them; `geometry`'s is asked of the database
/// (an extension's type has no fixed OID).
pub fn copy_types(
    client: &mut impl postgres::GenericClient,
    columns: &[(&str, Kind)],
) -> Result<Vec<Type>, postgres::Error> {
    let mut geometry = None;
    columns
        .iter()
        .map(|(_, kind)| {
            Ok(match kind {
                Kind::Int => Type::INT8,
                Kind::Text => Type::TEXT,
                Kind::Geometry => match &geometry {
                    Some(ty) => Clone::clone(ty),
                    None => {
                        let statement = client.prepare("SELECT NULL::geometry")?;
                        let ty = statement
                            .columns()
                            .first()
                            .map_or(Type::BYTEA, |c| c.type_().clone());
                        geometry.insert(ty).clone()
                    }
                },
            })
        })
        .collect()
}

fn cells(row: &postgres::Row) -> Result<Row, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Cell::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Cell::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Cell::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Cell::Real)
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        };
        out.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(out))
}

impl Conn for PgConn<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        Ok(self.tx.borrow_mut().execute(&statement, &params)?)
    }

    fn insert_rows(
        &self,
        table: &str,
        columns: &[(&str, Kind)],
        fill: &mut RowFill<'_>,
    ) -> Result<(), DbError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut tx = self.tx.borrow_mut();
        let types = copy_types(&mut *tx, columns)?;
        let sink = tx.copy_in(&format!(
            "COPY {table} ({}) FROM STDIN BINARY",
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        fill(&mut |params| {
            let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            Ok(writer.write(&values)?)
        })?;
        writer.finish()?;
        Ok(())
    }

    fn query_each(
        &self,
        sql: &str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        use postgres::fallible_iterator::FallibleIterator;
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let mut tx = self.tx.borrow_mut();
        // Rows as the server sends them (the portal is read to its end, row by row).
        let mut rows = tx.query_raw(&statement, params)?;
        while let Some(row) = rows.next()? {
            each(cells(&row)?)?;
        }
        Ok(())
    }
}
