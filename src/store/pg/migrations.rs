//! The PostgreSQL schema's migrations, applied in order at connection. `shequ_schema.version`
//! records how many have been applied; each runs in its own transaction under a
//! transaction-scoped advisory lock, so replicas starting together on a new database apply
//! each migration once (the others wait, then find nothing left to do).

use postgres::Client;

use super::PgError;

/// Every migration, oldest first. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_schema", include_str!("migrations/0001_schema.sql")),
    (
        "0002_staged_features",
        include_str!("migrations/0002_staged_features.sql"),
    ),
    (
        "0003_client_geometry",
        include_str!("migrations/0003_client_geometry.sql"),
    ),
];

/// The advisory lock key migrations hold (`'shequ:mi'` as a number; any fixed key would do).
const MIGRATION_LOCK: i64 = 0x7368_6571_753a_6d69;

pub(super) fn apply(client: &mut Client) -> Result<(), PgError> {
    let known = MIGRATIONS.len() as i64;
    loop {
        let start = |source| PgError::Migration {
            name: "(start)",
            source,
        };
        let mut tx = client.transaction().map_err(start)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(start)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS shequ_schema (version BIGINT NOT NULL)")
            .map_err(start)?;
        let applied: i64 = tx
            .query_opt("SELECT version FROM shequ_schema", &[])
            .map_err(start)?
            .map(|r| r.get(0))
            .unwrap_or(0);
        if applied > known {
            return Err(PgError::TooNew {
                found: applied,
                known,
            });
        }
        let Some((name, sql)) = usize::try_from(applied)
            .ok()
            .and_then(|n| MIGRATIONS.get(n))
        else {
            tx.commit().map_err(start)?;
            return Ok(());
        };
        let fail = |source| PgError::Migration { name, source };
        tx.batch_execute(sql).map_err(fail)?;
        tx.execute("DELETE FROM shequ_schema", &[]).map_err(fail)?;
        tx.execute(
            "INSERT INTO shequ_schema (version) VALUES ($1)",
            &[&(applied + 1)],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
}
