//! `GET /api/v1/lookup` and `POST /api/v1/lookup`: which town, community and grid a point is in.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{CurrentOnly, JsonBytes, published_as_of, query_params};
use super::{AppState, Published};
use crate::crs::Crs;
use crate::index::Hit;
use crate::output::Place;

/// Most points one batch request may carry.
pub const MAX_BATCH_POINTS: usize = 10_000;

/// Serialises `value` as a JSON response (for bodies that borrow from the snapshot).
pub(super) fn json_response(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(body),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("could not serialise the response: {e}"),
        )
        .into_response(),
    }
}

pub(super) fn parse_crs(crs: Option<&str>) -> Result<Crs, ApiError> {
    crs.map_or(Ok(Crs::default()), |s| {
        s.parse()
            .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))
    })
}

fn coordinate(name: &str, value: Option<&str>) -> Result<f64, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::bad_request(format!("parameter `{name}` is missing")))?;
    match value.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(ApiError::bad_request(format!(
            "parameter `{name}`: {value:?} is not a finite number"
        ))),
    }
}

/// The query parameters of `GET /api/v1/lookup` (any other is a 400).
pub const QUERY: [&str; 4] = ["lon", "lat", "crs", "as_of"];

/// The path of the single-point lookup.
pub const PATH: &str = "/api/v1/lookup";

/// `GET /api/v1/lookup?lon=&lat=[&crs=][&as_of=]`.
pub async fn lookup_one(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let [lon, lat, crs, as_of] = query_params(uri.query(), QUERY)?;
    let published = published_as_of(&state, as_of.as_deref()).await?;
    point_answer(&published, [lon, lat, crs])
}

/// `GET /api/v1/lookup` against the current snapshot, answered by the [edge](super::edge)
/// without the router; `None` when the query asks for a past version (`as_of`), which
/// [`lookup_one`] answers. The same parsing, answers and errors as [`lookup_one`]: routing,
/// extraction and the handler's boxed future were a fifth of a lookup's instructions
/// (BENCHMARKS.md, issue 19).
pub fn answer_current(state: &AppState, query: Option<&str>) -> Option<Response> {
    let answer = match query_params(query, QUERY) {
        Ok([_, _, _, Some(_)]) => return None,
        Ok([lon, lat, crs, None]) => point_answer(&state.published(), [lon, lat, crs]),
        Err(e) => Err(e),
    };
    Some(answer.unwrap_or_else(IntoResponse::into_response))
}

/// The answer for the point given by the `lon`, `lat` and `crs` parameters in `published`.
fn point_answer(
    published: &Published,
    [lon, lat, crs]: [Option<Cow<'_, str>>; 3],
) -> Result<Response, ApiError> {
    let crs = parse_crs(crs.as_deref())?;
    let input = [
        coordinate("lon", lon.as_deref())?,
        coordinate("lat", lat.as_deref())?,
    ];
    let point = crs
        .to_wgs84(input)
        .map_err(|e| ApiError::bad_request(format!("point ({}, {}): {e}", input[0], input[1])))?;
    let hit = published.snapshot().lookup(point);
    Ok(json_bytes(published.place_json().point_place(point, hit)))
}

/// A JSON answer already written. The header value is a static one: given as a `&str`, axum
/// copies it into a new allocation on every response.
pub(super) fn json_bytes(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// One entry of `points`: anything JSON, judged after parsing so errors can name its index.
#[derive(Deserialize)]
#[serde(untagged)]
enum PointInput {
    Pair([f64; 2]),
    WithAltitude([f64; 3]),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(rename = "LookupBatch")]
pub struct BatchRequest {
    crs: Option<String>,
    #[schemars(schema_with = "super::schemas::batch_points")]
    points: Vec<PointInput>,
}

/// The batch answer. Written by hand from [`crate::output::PlaceJson`] (the same bytes serde
/// would write for this type); the type stays as the answer's schema in the OpenAPI document.
#[derive(Serialize, schemars::JsonSchema)]
pub struct BatchResponse<'a> {
    results: Vec<Option<Place<'a>>>,
}

/// `POST /api/v1/lookup`: up to [`MAX_BATCH_POINTS`] points, parsed and looked up in the CPU
/// pool.
pub async fn lookup_batch(
    State(state): State<AppState>,
    CurrentOnly(published): CurrentOnly,
    body: JsonBytes<BatchRequest>,
) -> Result<Response, ApiError> {
    state
        .admission()
        .cpu
        .run_json(body, move |request| {
            if request.points.len() > MAX_BATCH_POINTS {
                return Err(ApiError::too_large(format!(
                    "{} points in one request; the limit is {MAX_BATCH_POINTS}",
                    request.points.len()
                )));
            }
            let crs = parse_crs(request.crs.as_deref())?;
            let points = request
                .points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let xy = match *p {
                        PointInput::Pair([x, y]) | PointInput::WithAltitude([x, y, _]) => [x, y],
                        PointInput::Other(_) => {
                            return Err(ApiError::bad_request(format!(
                                "points[{i}]: expected [longitude, latitude] numbers"
                            )));
                        }
                    };
                    crs.to_wgs84(xy)
                        .map_err(|e| ApiError::bad_request(format!("points[{i}]: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let snapshot = published.snapshot();
            let json = published.place_json();
            // `{"results":[…]}`, each entry `null` where nothing covers the point.
            let mut body = Vec::with_capacity(16 + points.len() * 160);
            body.extend_from_slice(b"{\"results\":[");
            for (i, p) in points.into_iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                let hit = snapshot.lookup(p);
                if hit == Hit::default() {
                    body.extend_from_slice(b"null");
                } else {
                    json.write_place(&mut body, hit);
                }
            }
            body.extend_from_slice(b"]}");
            Ok(json_bytes(body))
        })
        .await
}
