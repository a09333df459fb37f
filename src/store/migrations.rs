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
    (
        "0006_staged_features",
        include_str!("migrations/0006_staged_features.sql"),
    ),
];

/// Applies the migrations `conn`'s database has not seen. Each runs in an immediate
/// transaction that re-reads `user_version` once it holds the write lock, so two processes
/// opening a new database at once do not both apply a migration (the second would fail on
/// `CREATE TABLE`): the second waits for the first and then finds nothing left to do.
pub(super) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    loop {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Migration {
                name: "(start)",
                source,
            })?;
        let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if applied > known {
            return Err(StoreError::TooNew {
                found: applied,
                known,
            });
        }
        let Some((name, sql)) = usize::try_from(applied)
            .ok()
            .and_then(|n| MIGRATIONS.get(n))
        else {
            return Ok(());
        };
        let fail = |source| StoreError::Migration { name, source };
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", applied + 1)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
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

    /// Two processes starting on a new database at once: both must open it (before, the second
    /// could run `0001` again and fail with "table already exists").
    #[test]
    fn concurrent_first_opens_both_succeed() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("new.db");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let opens: Vec<_> = (0..4)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        crate::store::Store::open(&path).map(|_| ())
                    })
                })
                .collect();
            for open in opens {
                let result = open.join().unwrap();
                assert!(result.is_ok(), "{result:?}");
            }
        }
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
