//! `GET /api/v1/address?q=&limit=` and `POST /api/v1/address`: free-text addresses resolved
//! through the address register to town, community and grid.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiQuery, Current, CurrentOnly, JsonBytes};
use super::lookup::json_response;
use crate::output::{AddressAnswer, address_answer as answer};

/// Matches returned per query unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 5;
/// Most matches per query.
const MAX_LIMIT: usize = 100;
/// Most queries per batch request.
pub const MAX_BATCH_QUERIES: usize = 10_000;

fn check_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "parameter `limit`: {n} is outside 1…{MAX_LIMIT}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressQuery {
    q: Option<String>,
    limit: Option<usize>,
    /// Read by [`Current`].
    #[serde(rename = "as_of")]
    _as_of: Option<serde::de::IgnoredAny>,
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

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AddressBatch {
    queries: Vec<String>,
    limit: Option<usize>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct BatchAnswer<'a> {
    results: Vec<AddressAnswer<'a>>,
}

/// `POST /api/v1/address`: parsed and searched in the CPU pool, after the cap on matches asked
/// for.
pub async fn address_batch(
    State(state): State<AppState>,
    CurrentOnly(published): CurrentOnly,
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
