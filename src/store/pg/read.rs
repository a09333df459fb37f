//! Reads of the PostgreSQL store that the SQLite store has too, answering with the same types:
//! the newest version, what a version's snapshot is built from, and the audit log's check.

use postgres::Client;
use serde_json::Value;

use super::PgError;
use crate::registry::Level;
use crate::store::log::{self, Broken, StoredEntry};
use crate::store::registry::{GUIDELINES, StoredSnapshot, Version};

/// The newest registry version (`None` before one was stored).
pub fn latest(client: &mut Client) -> Result<Option<Version>, postgres::Error> {
    version_where(client, "ORDER BY id DESC LIMIT 1", &[])
}

/// Registry version `id`, if there is one.
pub fn version(client: &mut Client, id: i64) -> Result<Option<Version>, postgres::Error> {
    version_where(client, "WHERE id = $1", &[&id])
}

fn version_where(
    client: &mut Client,
    clause: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Option<Version>, postgres::Error> {
    Ok(client
        .query_opt(
            &format!(
                "SELECT id, effective, created_at, description, proposal_id FROM versions {clause}"
            ),
            params,
        )?
        .map(|r| Version {
            id: r.get(0),
            effective: r.get(1),
            created_at: r.get(2),
            description: r.get(3),
            proposal_id: r.get(4),
        }))
}

/// What the snapshot of `version` is built from (then [`StoredSnapshot::build`], exactly as
/// from SQLite), read in one repeatable-read transaction so the layers agree.
pub fn stored_snapshot(client: &mut Client, version: i64) -> Result<StoredSnapshot, PgError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let mut collections: [Vec<Value>; 3] = Default::default();
    for (level, features) in Level::ALL.into_iter().zip(collections.iter_mut()) {
        for r in tx.query(
            "SELECT code, feature FROM features
             WHERE layer = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)
             ORDER BY code",
            &[&level.collection(), &version],
        )? {
            let (code, text): (String, String) = (r.get(0), r.get(1));
            features.push(serde_json::from_str(&text).map_err(|e| {
                PgError::Damaged(format!("{level} feature {code} is not valid JSON: {e}"))
            })?);
        }
    }
    let mut document = |name: &str| -> Result<Option<String>, postgres::Error> {
        Ok(tx
            .query_opt("SELECT content FROM documents WHERE name = $1", &[&name])?
            .map(|r| r.get(0)))
    };
    let guidelines = document(GUIDELINES)?;
    let addresses = document(crate::address::FILE)?;
    tx.commit()?;
    Ok(StoredSnapshot {
        version,
        collections,
        guidelines,
        addresses,
    })
}

/// The last log entry's number and hash (0 and [`log::GENESIS`] for an empty log).
pub fn log_head(client: &mut Client) -> Result<(i64, String), postgres::Error> {
    Ok(client
        .query_opt("SELECT seq, hash FROM log_head WHERE id = 1", &[])?
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or((0, log::GENESIS.to_owned())))
}

/// Recomputes the audit log's chain with the same rule as the SQLite store
/// ([`log::verify_chain`]), in one read-only transaction.
pub fn verify_log(client: &mut Client) -> Result<Result<i64, Broken>, postgres::Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
    let rows = tx.query_raw(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM log ORDER BY seq",
        params,
    )?;
    let entries: Vec<Result<StoredEntry, postgres::Error>> = {
        use postgres::fallible_iterator::FallibleIterator;
        rows.map(|r| {
            Ok(StoredEntry {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                subject: r.try_get(4)?,
                detail: r.try_get(5)?,
                prev_hash: r.try_get(6)?,
                hash: r.try_get(7)?,
            })
        })
        .iterator()
        .collect()
    };
    let verdict = log::verify_chain(entries, || {
        Ok(tx
            .query_opt("SELECT seq, hash FROM log_head WHERE id = 1", &[])?
            .map(|r| (r.get(0), r.get(1)))
            .unwrap_or((0, log::GENESIS.to_owned())))
    })?;
    tx.commit()?;
    Ok(verdict)
}
