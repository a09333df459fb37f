//! `GET /api/v1/address?q=&limit=` and `POST /api/v1/address`: free-text addresses resolved
//! through the address register to town, community and grid.

use axum::extract::State;
use axum::response::Response;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiQuery, Current, CurrentOnly, JsonBytes};
use super::lookup::json_bytes;
use crate::Snapshot;
use crate::output::{AddressAnswer, PlaceJson, write_address_answer};

/// Matches returned per query unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 5;
/// Most matches per query.
const MAX_LIMIT: usize = 100;
/// Most queries per batch request.
pub const MAX_BATCH_QUERIES: usize = 10_000;
/// Queries of a batch searched and written as one task: a batch larger than this is spread
/// over rayon's threads a chunk at a time (a query with a typo costs ~40 µs, 10,000 of them
/// 0.4 s on one core; issue 19), in chunks large enough that exact queries (~1 µs) do not
/// drown in task overhead.
const BATCH_CHUNK: usize = 256;

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
    let mut body = Vec::with_capacity(256 * limit);
    write_address_answer(
        &mut body,
        published.snapshot(),
        published.place_json(),
        &q,
        limit,
    )
    .map_err(unserialisable)?;
    Ok(json_bytes(body))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AddressBatch {
    queries: Vec<String>,
    limit: Option<usize>,
}

/// The answer to a batch, as [`batch_body`] writes it.
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
            let body = batch_body(
                published.snapshot(),
                published.place_json(),
                &request.queries,
                limit,
            )
            .map_err(unserialisable)?;
            Ok(json_bytes(body))
        })
        .await
}

/// Writing an answer into memory fails only if serde does: the server's fault.
fn unserialisable(e: serde_json::Error) -> ApiError {
    ApiError::internal(format!("could not serialise the response: {e}"))
}

/// The JSON of [`BatchAnswer`] for `queries`: each chunk of [`BATCH_CHUNK`] queries searched
/// and written on one of rayon's threads, the chunks' text joined in order.
fn batch_body(
    snapshot: &Snapshot,
    places: &PlaceJson,
    queries: &[String],
    limit: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    let chunk = |queries: &[String]| -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_address_answer(&mut out, snapshot, places, q, limit)?;
        }
        Ok(out)
    };
    let parts: Vec<Vec<u8>> = if queries.len() > BATCH_CHUNK {
        queries
            .par_chunks(BATCH_CHUNK)
            .map(chunk)
            .collect::<Result<_, _>>()?
    } else {
        vec![chunk(queries)?]
    };
    let mut body = Vec::with_capacity(parts.iter().map(Vec::len).sum::<usize>() + parts.len() + 16);
    body.extend_from_slice(b"{\"results\":[");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(part);
    }
    body.extend_from_slice(b"]}");
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_body_is_the_answers_in_order() {
        // As serde_json writes the whole answer, for batches of one chunk, several chunks
        // and none; the queries mix exact ones, typos and non-addresses.
        let snapshot = crate::Snapshot::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries"),
        );
        let Ok(snapshot) = snapshot else {
            panic!("the sample city loads");
        };
        let places = PlaceJson::new(&snapshot.registry);
        let entries = snapshot.addresses.entries();
        let queries: Vec<String> = (0..2 * BATCH_CHUNK + 7)
            .map(|i| {
                let a = entries.get(i * 37 % entries.len()).address;
                match i % 3 {
                    0 => a.to_owned(),
                    1 => a.replacen('路', "璐", 1),
                    _ => format!("不是地址{i}"),
                }
            })
            .collect();
        for n in [0, 3, BATCH_CHUNK, queries.len()] {
            let results = queries[..n]
                .iter()
                .map(|q| crate::output::address_answer(&snapshot, q, 3))
                .collect();
            let want = serde_json::to_vec(&BatchAnswer { results }).map_err(|e| e.to_string());
            let got = batch_body(&snapshot, &places, &queries[..n], 3).map_err(|e| e.to_string());
            assert_eq!(got, want, "{n} queries");
        }
    }
}
