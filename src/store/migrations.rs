//! Schema migrations, kept as SQL files beside this module and applied in order at start-up.
//! `PRAGMA user_version` records how many have been applied; each runs in its own transaction.

use rusqlite::Connection;

use super::StoreError;

/// Every migration, oldest first. Never edit one that has shipped: add a new one.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_registry",
        include_str!("migrations/0001_registry.sql"),
    ),
    ("0002_log", include_str!("migrations/0002_log.sql")),
    (
        "0003_accounts",
        include_str!("migrations/0003_accounts.sql"),
    ),
    (
        "0004_proposals",
        include_str!("migrations/0004_proposals.sql"),
    ),
    (
        "0005_jurisdiction",
        include_str!("migrations/0005_jurisdiction.sql"),
    ),
];

pub(super) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if applied > known {
        return Err(StoreError::TooNew {
            found: applied,
            known,
        });
    }
    for (number, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let fail = |source| StoreError::Migration { name, source };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", number as i64 + 1)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        apply(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        assert!(matches!(
            apply(&mut conn),
            Err(StoreError::TooNew { found: 999, .. })
        ));
    }
}
