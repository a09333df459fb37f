//! `GET /api/v1/log` and `GET /api/v1/log/verify`: the audit log, for reviewers.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Authenticated, require, store_of};
use super::error::ApiError;
use super::extract::ApiQuery;
use crate::store::log::{self, Broken, Entry};

/// Entries per page unless `limit` says otherwise, and the most a page holds.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

const REVIEWERS: &str = "reviewers";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    after: Option<i64>,
    limit: Option<usize>,
}

/// The last entry: publishing it elsewhere anchors the chain (see `store::log`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Head {
    seq: i64,
    hash: String,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct LogPage {
    entries: Vec<Entry>,
    head: Head,
}

/// `GET /api/v1/log?after=&limit=`: entries after number `after` (default 0), oldest first, at
/// most `limit` (default 100, at most 1000), and the head. Page on with `after` = the last seq.
pub async fn entries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    query: Result<ApiQuery<LogQuery>, ApiError>,
) -> Result<Json<LogPage>, ApiError> {
    require(
        actor.may_review(),
        &actor,
        "reading the audit log",
        REVIEWERS,
    )?;
    let store = store_of(&state, "the audit log")?;
    let ApiQuery(query) = query?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(format!(
            "parameter `after`: {after} is negative; entries are numbered from 1"
        )));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "parameter `limit`: {limit} is outside 1…{MAX_LIMIT}"
        )));
    }
    let (entries, (seq, hash)) = store.read(|c| {
        let entries = log::list(c, after, limit)?;
        Ok::<_, crate::store::DbError>((entries, log::head(c)?))
    })?;
    Ok(Json(LogPage {
        entries,
        head: Head { seq, hash },
    }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Verification {
    /// Whether every entry is as written and the chain and head agree.
    intact: bool,
    /// Entries checked (when intact).
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<i64>,
    /// The first entry where the chain breaks, and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<BrokenAt>,
    head: Head,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct BrokenAt {
    seq: i64,
    detail: String,
}

/// The entry a break is reported at.
pub fn broken_seq(b: &Broken) -> i64 {
    match *b {
        Broken::Missing { seq, .. } | Broken::Altered { seq } | Broken::Unchained { seq, .. } => {
            seq
        }
        Broken::Head { last, .. } => last + 1,
    }
}

/// `GET /api/v1/log/verify`: recomputes the chain. 200 either way; `intact` says the outcome.
pub async fn verify(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<Verification>, ApiError> {
    require(
        actor.may_review(),
        &actor,
        "verifying the audit log",
        REVIEWERS,
    )?;
    let store = store_of(&state, "the audit log")?.clone();
    // Hashing every entry takes a while on a long log: off the async workers.
    let (outcome, (seq, hash)) = tokio::task::spawn_blocking(move || {
        store.read(|c| Ok::<_, crate::store::DbError>((log::verify(c)?, log::head(c)?)))
    })
    .await??;
    let head = Head { seq, hash };
    Ok(Json(match outcome {
        Ok(n) => Verification {
            intact: true,
            entries: Some(n),
            broken: None,
            head,
        },
        Err(b) => Verification {
            intact: false,
            entries: None,
            broken: Some(BrokenAt {
                seq: broken_seq(&b),
                detail: b.to_string(),
            }),
            head,
        },
    }))
}
