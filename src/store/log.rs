//! The audit log: every write (proposal change, transition, approval, user change) appended
//! with actor, time, action and subject, each entry's hash covering the previous entry's hash.
//!
//! `append` takes the caller's transaction, so an entry is committed together with the change
//! it records or not at all. `verify` recomputes the chain; the head row (last number and hash)
//! catches entries deleted from the end. Someone who can rewrite the whole file can rewrite the
//! whole chain: publish or copy the head (`GET /api/v1/log` shows it) to anchor it elsewhere.

use super::sql::{Conn, DbError};
use crate::sql_params;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over a JSON array of its fields and the previous hash, so no
/// two different entries can encode to the same bytes.
fn hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev: &str,
) -> String {
    let encoded = serde_json::json!([seq, at, actor, action, subject, detail, prev]).to_string();
    hex::encode(Sha256::digest(encoded.as_bytes()))
}

/// The last entry's number and hash (0 and [`GENESIS`] for an empty log).
pub fn head(conn: &dyn Conn) -> Result<(i64, String), DbError> {
    match conn.query_opt("SELECT seq, hash FROM log_head WHERE id = 1", &[])? {
        Some(r) => Ok((r.get(0)?, r.get(1)?)),
        None => Ok((0, GENESIS.to_owned())),
    }
}

/// Appends an entry in the caller's transaction.
pub fn append(
    tx: &dyn Conn,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &Value,
) -> Result<Entry, DbError> {
    let (last, prev_hash) = head(tx)?;
    let seq = last + 1;
    let at = super::now();
    let detail_text = detail.to_string();
    let hash = hash(seq, &at, actor, action, subject, &detail_text, &prev_hash);
    tx.execute(
        "INSERT INTO log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        sql_params![
            seq,
            &at,
            actor,
            action,
            subject,
            &detail_text,
            &prev_hash,
            &hash
        ],
    )?;
    tx.execute(
        "INSERT INTO log_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        sql_params![seq, &hash],
    )?;
    Ok(Entry {
        seq,
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: detail.clone(),
        prev_hash,
        hash,
    })
}

/// Entries after `after` (by number), oldest first, at most `limit`.
pub fn list(conn: &dyn Conn, after: i64, limit: usize) -> Result<Vec<Entry>, DbError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM log
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        sql_params![after, limit],
    )?
    .into_iter()
    .map(|r| {
        let detail: String = r.get(5)?;
        Ok(Entry {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })
    .collect()
}

/// What is wrong with a log, naming the first entry where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("entry {seq} is missing (the entries jump from {previous} to {seq_found})")]
    Missing {
        seq: i64,
        previous: i64,
        seq_found: i64,
    },
    #[error("entry {seq} was altered: its contents no longer give its recorded hash")]
    Altered { seq: i64 },
    #[error("entry {seq} does not chain to entry {previous}: the previous entry was replaced")]
    Unchained { seq: i64, previous: i64 },
    #[error(
        "the log ends at entry {last} but its head records entry {head_seq}: entries were removed from the end or the head was edited"
    )]
    Head { last: i64, head_seq: i64 },
}

/// One stored entry as its columns hold it (the detail as stored text), as [`verify_chain`]
/// reads it: the SQLite and PostgreSQL stores feed it the same rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Recomputes the whole chain. `Ok(n)`: `n` entries, all intact.
pub fn verify(conn: &dyn Conn) -> Result<Result<i64, Broken>, DbError> {
    let rows = conn.query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM log ORDER BY seq",
        &[],
    )?;
    let entries = rows.into_iter().map(|r| {
        Ok(StoredEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    });
    verify_chain(entries, || head(conn))
}

/// Checks `entries` (in number order) and then the head `head` reads: the chain rule of
/// [`verify`], shared by every store so that a log copied from one to the other verifies the
/// same way.
pub fn verify_chain<E>(
    entries: impl IntoIterator<Item = Result<StoredEntry, E>>,
    head: impl FnOnce() -> Result<(i64, String), E>,
) -> Result<Result<i64, Broken>, E> {
    let (mut last, mut last_hash) = (0_i64, GENESIS.to_owned());
    for entry in entries {
        let e = entry?;
        if e.seq != last + 1 {
            return Ok(Err(Broken::Missing {
                seq: last + 1,
                previous: last,
                seq_found: e.seq,
            }));
        }
        let computed = hash(
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.detail,
            &e.prev_hash,
        );
        if computed != e.hash {
            return Ok(Err(Broken::Altered { seq: e.seq }));
        }
        if e.prev_hash != last_hash {
            return Ok(Err(Broken::Unchained {
                seq: e.seq,
                previous: last,
            }));
        }
        (last, last_hash) = (e.seq, e.hash);
    }
    let (head_seq, head_hash) = head()?;
    if head_seq != last || head_hash != last_hash {
        return Ok(Err(Broken::Head { last, head_seq }));
    }
    Ok(Ok(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use serde_json::json;

    fn log_of(n: usize) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::apply(&mut conn).unwrap();
        for i in 0..n {
            append(&conn, "alice", "test", &format!("s{i}"), &json!({ "i": i })).unwrap();
        }
        conn
    }

    #[test]
    fn an_untouched_log_verifies() {
        assert_eq!(verify(&log_of(0)).unwrap(), Ok(0));
        assert_eq!(verify(&log_of(5)).unwrap(), Ok(5));
    }

    #[test]
    fn an_edited_entry_is_found() {
        let conn = log_of(5);
        conn.execute("UPDATE log SET actor = 'mallory' WHERE seq = 3", [])
            .unwrap();
        assert_eq!(verify(&conn).unwrap(), Err(Broken::Altered { seq: 3 }));
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let conn = log_of(5);
        conn.execute("DELETE FROM log WHERE seq = 2", []).unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Err(Broken::Missing { seq: 2, .. })
        ));
        let conn = log_of(5);
        conn.execute("DELETE FROM log WHERE seq = 5", []).unwrap();
        assert_eq!(
            verify(&conn).unwrap(),
            Err(Broken::Head {
                last: 4,
                head_seq: 5
            })
        );
    }

    #[test]
    fn a_rehashed_entry_no_longer_chains() {
        let conn = log_of(5);
        // Edit entry 2 and recompute its own hash: entry 3 still names the old one.
        let e = &list(&conn, 1, 1).unwrap()[0];
        let forged = hash(
            2,
            &e.at,
            "mallory",
            &e.action,
            &e.subject,
            &e.detail.to_string(),
            &e.prev_hash,
        );
        conn.execute(
            "UPDATE log SET actor = 'mallory', hash = ?1 WHERE seq = 2",
            [&forged],
        )
        .unwrap();
        assert_eq!(
            verify(&conn).unwrap(),
            Err(Broken::Unchained {
                seq: 3,
                previous: 2
            })
        );
    }
}
