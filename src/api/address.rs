//! `GET /api/v1/address?q=&limit=` and `POST /api/v1/address`: free-text addresses resolved
//! through the address register to town, community and grid.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::Current;
use super::extract::{ApiQuery, JsonBytes};
use super::lookup::{Place, json_response};
use crate::Snapshot;

/// Matches returned per query unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 5;
/// Most matches per query.
const MAX_LIMIT: usize = 100;
/// Most queries per batch request.
pub const MAX_BATCH_QUERIES: usize = 10_000;

/// One match as the API and the CLI print it.
#[derive(Serialize)]
pub struct AddressMatchJson<'a> {
    pub code: &'a str,
    pub address: &'a str,
    /// 1 for an exact match (after normalisation), below 1 for a fuzzy one.
    pub score: f64,
    /// WGS84 `[lon, lat]` of the entry.
    pub point: [f64; 2],
    #[serde(flatten)]
    pub place: Place<'a>,
}

/// The answer to one query; `matches` is empty and `detail` says so when nothing matched.
#[derive(Serialize)]
pub struct AddressAnswer<'a> {
    pub matches: Vec<AddressMatchJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Searches the register of `snapshot` (shared by the API and the CLI).
pub fn answer<'a>(snapshot: &'a Snapshot, query: &str, limit: usize) -> AddressAnswer<'a> {
    let matches: Vec<AddressMatchJson> = snapshot
        .addresses
        .search(query, limit)
        .into_iter()
        .map(|m| AddressMatchJson {
            code: &m.entry.code,
            address: &m.entry.address,
            // Rounded so exact matches print as 1 and fuzzy ones stay readable.
            score: (m.score * 1000.0).round() / 1000.0,
            point: m.entry.point,
            place: Place::new(&snapshot.registry, m.hit),
        })
        .collect();
    let detail = matches.is_empty().then(|| {
        if snapshot.addresses.is_empty() {
            "no address register is loaded".to_owned()
        } else {
            format!("no register entry matches {query:?}")
        }
    });
    AddressAnswer { matches, detail }
}

fn check_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "parameter `limit`: {n} is outside 1…{MAX_LIMIT}"
        ))),
    }
}

#[derive(Deserialize)]
pub struct AddressQuery {
    q: Option<String>,
    limit: Option<usize>,
}

pub async fn address_one(
    Current(published): Current,
    ApiQuery(query): ApiQuery<AddressQuery>,
) -> Result<Response, ApiError> {
    let limit = check_limit(query.limit)?;
    let q = query
        .q
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("parameter `q` is missing or empty"))?;
    Ok(json_response(&answer(published.snapshot(), &q, limit)))
}

#[derive(Deserialize)]
pub struct AddressBatch {
    queries: Vec<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct BatchAnswer<'a> {
    results: Vec<AddressAnswer<'a>>,
}

/// `POST /api/v1/address`: parsed and searched in the CPU pool, after the cap on matches asked
/// for.
pub async fn address_batch(
    State(state): State<AppState>,
    Current(published): Current,
    body: JsonBytes<AddressBatch>,
) -> Result<Response, ApiError> {
    let limits = *state.limits();
    state
        .admission()
        .cpu
        .run_json(body, move |request| {
            if request.queries.len() > MAX_BATCH_QUERIES {
                return Err(ApiError::too_large(format!(
                    "{} queries in one request; the limit is {MAX_BATCH_QUERIES}",
                    request.queries.len()
                )));
            }
            let limit = check_limit(request.limit)?;
            limits.check_address(request.queries.len(), limit)?;
            let snapshot = published.snapshot();
            let results = request
                .queries
                .iter()
                .map(|q| answer(snapshot, q, limit))
                .collect();
            Ok(json_response(&BatchAnswer { results }))
        })
        .await
}
