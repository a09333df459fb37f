//! `POST /api/v1/proposals/grid-groups`: 按网格取整 — drawn split lines turned into groups of
//! whole grids by the majority rule approval uses (`rules::grid_groups_by_lines`). The page then
//! asks `/proposals/split` for the parts of those groups. `POST /api/v1/proposals/assignment`:
//! where each grid of a proposal's parents goes on approval (the editor's 编辑 of a stored
//! proposal, the CSV of the grid assignment).

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::JsonBytes;
use super::lookup::json_response;
use crate::rules::{grid_assignment, grid_groups_by_lines};

/// `{community, lines: [line, …]}`, each line positions or a GeoJSON LineString.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "GridGroupsRequest")]
pub struct Body {
    community: String,
    #[schemars(schema_with = "super::schemas::lines")]
    lines: Vec<Value>,
}

pub async fn grid_groups(
    State(state): State<AppState>,
    body: JsonBytes<Body>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let limits = *state.limits();
    state
        .admission()
        .cpu
        .run_json(body, move |request| {
            let mut lines = Vec::with_capacity(request.lines.len());
            for (i, line) in request.lines.iter().enumerate() {
                let positions = super::proposals::line_positions(line).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`lines[{i}]`: expected [[lon, lat], …] or a GeoJSON LineString"
                    ))
                })?;
                limits.check_line(&positions)?;
                lines.push(positions);
            }
            let registry = &published.snapshot().registry;
            grid_groups_by_lines(registry, &request.community, &lines)
                .map(|groups| json_response(&groups))
                .map_err(super::proposals::split_error)
        })
        .await
}

/// `POST /api/v1/proposals/assignment`: a proposal FeatureCollection → `{grids: [GridShare…]}`.
/// Where each grid of the parents goes on approval.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Assignment {
    grids: Vec<crate::rules::GridShare>,
}

pub async fn assignment(
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
            let proposal = super::proposals::parse_proposal(&body, snapshot)?;
            let grids = grid_assignment(&proposal, &snapshot.registry);
            Ok(json_response(&Assignment { grids }))
        })
        .await
}
