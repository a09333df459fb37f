//! Moving an SQLite store to PostgreSQL with its whole history (`shequ migrate-store`): every
//! row of every table, ids kept, in one PostgreSQL transaction, so the registry's versions,
//! the proposals' records, the accounts (password digests, sessions, tokens) and the audit log
//! arrive as they were and the log's hashes still verify. Rows stream through binary `COPY`
//! one at a time: the source is never held in memory whole.

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::ToSql;
use rusqlite::Connection;

use super::{PgError, PgStore};
use crate::store::sql::{Conn, DbError};
use crate::store::{Store, log};

/// The type of a copied column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    /// A PostGIS `geometry`, written as EWKB ([`super::ewkb`]); the SQLite store has none.
    Geometry,
}

/// A table as copied: its name, its columns, and the order rows are read in.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub order: &'static str,
    /// Whether its `id` is an identity column whose sequence must move past the copied ids.
    pub identity: bool,
    /// The column holding a GeoJSON Feature whose geometry PostgreSQL keeps in `geom` (a
    /// column SQLite does not have), written by the copy as EWKB ([`super::ewkb`]).
    pub geometry_of: Option<usize>,
}

use Kind::{Int, Text};

/// Every table of the store, parents before children (foreign keys hold at each step). A test
/// checks this list against the SQLite schema, so a migration that adds a column or a table
/// cannot be forgotten here.
pub const TABLES: &[Table] = &[
    Table {
        name: "versions",
        columns: &[
            ("id", Int),
            ("effective", Text),
            ("created_at", Text),
            ("description", Text),
            ("proposal_id", Int),
        ],
        order: "id",
        identity: true,
        geometry_of: None,
    },
    Table {
        name: "features",
        columns: &[
            ("id", Int),
            ("layer", Text),
            ("code", Text),
            ("feature", Text),
            ("valid_from", Int),
            ("valid_to", Int),
            ("predecessor", Text),
        ],
        order: "id",
        identity: true,
        geometry_of: Some(3),
    },
    Table {
        name: "documents",
        columns: &[("name", Text), ("content", Text)],
        order: "name",
        identity: false,
        geometry_of: None,
    },
    Table {
        name: "log",
        columns: &[
            ("seq", Int),
            ("at", Text),
            ("actor", Text),
            ("action", Text),
            ("subject", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        order: "seq",
        identity: false,
        geometry_of: None,
    },
    Table {
        name: "log_head",
        columns: &[("id", Int), ("seq", Int), ("hash", Text)],
        order: "id",
        identity: false,
        geometry_of: None,
    },
    Table {
        name: "users",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("role", Text),
            ("towns", Text),
            ("password_hash", Text),
            ("disabled", Int),
            ("created_at", Text),
        ],
        order: "id",
        identity: true,
        geometry_of: None,
    },
    Table {
        name: "sessions",
        columns: &[
            ("id_hash", Text),
            ("user_id", Int),
            ("csrf_token", Text),
            ("created_at", Text),
            ("expires_at", Text),
            ("revoked_at", Text),
        ],
        order: "id_hash",
        identity: false,
        geometry_of: None,
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Int),
            ("token_hash", Text),
            ("label", Text),
            ("user_id", Int),
            ("created_at", Text),
            ("revoked_at", Text),
        ],
        order: "id",
        identity: true,
        geometry_of: None,
    },
    Table {
        name: "proposals",
        columns: &[
            ("id", Int),
            ("town_code", Text),
            ("title", Text),
            ("kind", Text),
            ("status", Text),
            ("body", Text),
            ("author", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("verdict", Text),
            ("version", Int),
        ],
        order: "id",
        identity: true,
        geometry_of: None,
    },
    Table {
        name: "proposal_events",
        columns: &[
            ("id", Int),
            ("proposal_id", Int),
            ("at", Text),
            ("actor", Text),
            ("kind", Text),
            ("from_status", Text),
            ("to_status", Text),
            ("text", Text),
            ("source", Text),
            ("tally", Text),
            ("report", Text),
            ("document", Text),
        ],
        order: "id",
        identity: true,
        geometry_of: None,
    },
    Table {
        name: "proposal_towns",
        columns: &[("proposal_id", Int), ("town_code", Text)],
        order: "proposal_id, town_code",
        identity: false,
        geometry_of: None,
    },
    Table {
        name: "staged_features",
        columns: &[
            ("proposal_id", Int),
            ("layer", Text),
            ("code", Text),
            ("feature", Text),
        ],
        order: "proposal_id, layer, code",
        identity: false,
        geometry_of: None,
    },
];

/// What a copy moved, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Rows per table, in [`TABLES`] order.
    pub rows: Vec<(&'static str, i64)>,
    /// Entries of the audit log (verified on PostgreSQL after the commit).
    pub log_entries: i64,
    /// The log's head hash, the same on both sides.
    pub head: String,
}

/// Copies every row of `source` into `target`, which must hold no rows yet, in one
/// transaction; then checks on the committed copy that each table has as many rows as the
/// source and that the audit log verifies to the source's head.
///
/// A server writing to `source` during the copy is not seen (the read is one SQLite read
/// transaction, a consistent snapshot); stop the server first so no later write is lost.
pub fn from_sqlite(source: &Store, target: &PgStore) -> Result<Copied, PgError> {
    let copied = target.with(|client| {
        let mut tx = client.transaction()?;
        refuse_if_not_empty(&mut tx)?;
        let rows = source
            .sqlite_read(|conn| {
                // One read transaction: every table as of the same moment.
                conn.execute_batch("BEGIN")?;
                let copied = TABLES
                    .iter()
                    .map(|table| copy_table(conn, &mut tx, table).map(|n| (table.name, n)))
                    .collect::<Result<Vec<_>, PgError>>();
                conn.execute_batch("COMMIT")?;
                copied
            })
            .ok_or_else(|| {
                PgError::Mismatch(format!("the source {} is not SQLite", source.location()))
            })??;
        for table in TABLES.iter().filter(|t| t.identity) {
            // The next id a shequ write takes follows the copied ones.
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'id'),
                                   COALESCE((SELECT MAX(id) FROM {0}), 0) + 1, false)",
                    table.name
                ),
                &[],
            )?;
        }
        tx.commit()?;
        Ok::<_, PgError>(rows)
    })?;
    let verified = |c: &dyn Conn| Ok::<_, DbError>((log::verify(c)?, log::head(c)?));
    let (source_verdict, source_head) = source.read(verified)?;
    let (target_verdict, target_head) = target.read(verified)?;
    for (name, n) in &copied {
        let found: i64 = target.read(|c| {
            c.query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])?
                .get(0)
        })?;
        if found != *n {
            return Err(PgError::Mismatch(format!(
                "{name}: {n} rows copied, {found} found"
            )));
        }
    }
    if target_head != source_head || target_verdict.as_ref().ok() != source_verdict.as_ref().ok() {
        return Err(PgError::Mismatch(format!(
            "audit log: source {source_verdict:?} head {}, copy {target_verdict:?} head {}",
            source_head.1, target_head.1
        )));
    }
    let log_entries = target_verdict
        .map_err(|broken| PgError::Mismatch(format!("the copied audit log is broken: {broken}")))?;
    Ok(Copied {
        rows: copied,
        log_entries,
        head: target_head.1,
    })
}

/// Refuses a database that holds any row of the store: a copy onto a used store would mix two
/// histories.
fn refuse_if_not_empty(tx: &mut Transaction) -> Result<(), PgError> {
    for table in TABLES {
        let any: bool = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", table.name),
                &[],
            )?
            .get(0);
        if any {
            return Err(PgError::NotEmpty(format!("rows in {}", table.name)));
        }
    }
    Ok(())
}

/// Streams one table through binary `COPY`; returns the number of rows.
fn copy_table(conn: &Connection, tx: &mut Transaction, table: &Table) -> Result<i64, PgError> {
    let mut columns = table.columns.to_vec();
    if table.geometry_of.is_some() {
        columns.push(("geom", Kind::Geometry));
    }
    let names = |columns: &[(&str, Kind)]| {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        names.join(", ")
    };
    let types = super::conn::copy_types(tx, &columns)?;
    let sink = tx.copy_in(&format!(
        "COPY {} ({}) FROM STDIN BINARY",
        table.name,
        names(&columns)
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM {} ORDER BY {}",
        names(table.columns),
        table.name,
        table.order
    ))?;
    let mut rows = stmt.query([])?;
    let mut n = 0_i64;
    while let Some(row) = rows.next()? {
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(table.columns.len());
        for (i, (_, kind)) in table.columns.iter().enumerate() {
            values.push(match kind {
                Int => Box::new(row.get::<_, Option<i64>>(i)?),
                Text => Box::new(row.get::<_, Option<String>>(i)?),
                // SQLite's tables have no geometry column (see the test below).
                Kind::Geometry => {
                    return Err(PgError::Mismatch(format!(
                        "{}: SQLite has no geometry column to copy",
                        table.name
                    )));
                }
            });
        }
        // A text that is not JSON, or a geometry left to PostGIS, goes without `geom`: the
        // database makes it from the GeoJSON (and refuses what is not JSON).
        let geometry = match table.geometry_of {
            Some(i) => row
                .get::<_, Option<String>>(i)?
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|feature| super::ewkb::feature_geometry(&feature)),
            None => None,
        };
        let geometry = super::conn::Ewkb(geometry.as_deref());
        let mut refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        if table.geometry_of.is_some() {
            refs.push(&geometry);
        }
        writer.write(&refs)?;
        n += 1;
    }
    writer.finish()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column of every table of the SQLite store is copied, with its type: a migration
    /// that adds one fails here until the PostgreSQL schema and [`TABLES`] have it too.
    #[test]
    fn the_copy_covers_the_whole_sqlite_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let schema: Vec<(String, Vec<(String, String)>)> = store
            .sqlite_read(|c| {
                let mut tables = c.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                let names: Vec<String> = tables
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                names
                    .into_iter()
                    .map(|name| {
                        let mut cols = c.prepare(&format!("PRAGMA table_info({name})"))?;
                        let cols = cols
                            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?
                            .collect::<Result<_, _>>()?;
                        Ok((name, cols))
                    })
                    .collect::<rusqlite::Result<_>>()
            })
            .unwrap()
            .unwrap();
        let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        let found: Vec<&str> = schema.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, found);
        for (name, cols) in &schema {
            let table = TABLES.iter().find(|t| t.name == name).unwrap();
            let expected: Vec<(String, String)> = table
                .columns
                .iter()
                .map(|(c, k)| {
                    let ty = match k {
                        Int => "INTEGER",
                        Text => "TEXT",
                        Kind::Geometry => "BLOB",
                    };
                    ((*c).to_owned(), ty.to_owned())
                })
                .collect();
            assert_eq!(&expected, cols, "{name}");
        }
    }
}
