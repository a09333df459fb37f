//! `POST /api/v1/proposals/validate`: a proposal checked against the guidelines, with the
//! offending geometry as GeoJSON for the map.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::JsonBytes;
use super::lookup::json_response;
use crate::rules::{Proposal, SplitError, parse, split_by_groups, split_by_line, validate};
use crate::snapshot::Snapshot;

/// `POST /api/v1/proposals/validate`. Parsing the JSON, the caps on parts, vertices and
/// crossings, the ring checks and validation all run in the CPU pool.
pub async fn validate_proposal(
    State(state): State<AppState>,
    body: JsonBytes<Value>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let limits = *state.limits();
    state
        .admission()
        .cpu
        .run_json(body, move |body| {
            limits.check_proposal(&body)?;
            let snapshot = published.snapshot();
            let proposal = parse_proposal(&body, snapshot)?;
            let report = validate(&proposal, &snapshot.registry, &snapshot.guidelines);
            Ok(json_response(&report.to_json()))
        })
        .await
}

/// A proposal FeatureCollection read against `snapshot`: malformed is a 400, invalid a 422.
pub(super) fn parse_proposal(body: &Value, snapshot: &Snapshot) -> Result<Proposal, ApiError> {
    parse(body, &snapshot.registry, &snapshot.guidelines.plausible).map_err(|e| {
        if e.malformed {
            ApiError::bad_request(e.to_string()).with_code("proposal.malformed", Default::default())
        } else {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-proposal",
                e.to_string(),
            )
            .with_code("proposal.invalid", Default::default())
        }
    })
}

/// `{community, line}` (positions or a GeoJSON LineString) or `{community, groups}`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    community: String,
    #[serde(default)]
    #[schemars(schema_with = "super::schemas::split_line")]
    line: Option<Value>,
    #[serde(default)]
    groups: Option<Vec<Vec<String>>>,
}

pub(super) fn line_positions(line: &Value) -> Option<Vec<[f64; 2]>> {
    let positions = match line.get("coordinates") {
        Some(c) if line.get("type").and_then(Value::as_str) == Some("LineString") => c,
        Some(_) => return None,
        None => line,
    };
    positions
        .as_array()?
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([x, y]) | Some([x, y, _]) => Some([x.as_f64()?, y.as_f64()?]),
            _ => None,
        })
        .collect()
}

/// `POST /api/v1/proposals/split`: a split proposal drawn from a line or from groups of grids.
pub async fn split(
    State(state): State<AppState>,
    body: JsonBytes<SplitRequest>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let limits = *state.limits();
    state
        .admission()
        .cpu
        .run_json(body, move |request| {
            let registry = &published.snapshot().registry;
            let community = request.community;
            let result = match (request.line, request.groups) {
                (Some(line), None) => {
                    let positions = line_positions(&line).ok_or_else(|| {
                        ApiError::bad_request(
                            "`line`: expected [[lon, lat], …] or a GeoJSON LineString",
                        )
                    })?;
                    limits.check_line(&positions)?;
                    split_by_line(registry, &community, &positions)
                }
                (None, Some(groups)) => split_by_groups(registry, &community, &groups),
                _ => {
                    return Err(
                        ApiError::bad_request("give exactly one of `line` and `groups`")
                            .with_code("split.line_or_groups", Default::default()),
                    );
                }
            };
            result
                .map(|proposal| json_response(&proposal))
                .map_err(split_error)
        })
        .await
}

/// The answer for a split that cannot be made.
pub(super) fn split_error(e: SplitError) -> ApiError {
    match e {
        SplitError::UnknownCommunity(_) => {
            ApiError::said(StatusCode::NOT_FOUND, "not-found", e.message())
        }
        _ => ApiError::said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-split",
            e.message(),
        ),
    }
}
