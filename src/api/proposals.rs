//! `POST /api/v1/proposals/validate`: a proposal checked against the guidelines, with the
//! offending geometry as GeoJSON for the map.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::ApiJson;
use super::features::GeometryJson;
use super::lookup::json_response;
use crate::rules::{Offence, Report, parse, validate};

#[derive(Serialize)]
struct OffenceFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: GeometryJson<'a>,
    properties: &'a Offence,
}

#[derive(Serialize)]
struct Offending<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<OffenceFeature<'a>>,
}

#[derive(Serialize)]
struct ValidateResponse<'a> {
    #[serde(flatten)]
    report: &'a Report,
    offending: Offending<'a>,
}

pub async fn validate_proposal(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let proposal = parse(&body, &snapshot.registry).map_err(|e| {
        if e.malformed {
            ApiError::bad_request(e.to_string())
        } else {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-proposal",
                e.to_string(),
            )
        }
    })?;
    let report = validate(&proposal, &snapshot.registry, &snapshot.guidelines);
    let features = report
        .offences
        .iter()
        .map(|o| OffenceFeature {
            kind: "Feature",
            geometry: GeometryJson(Some(&o.geometry), None),
            properties: o,
        })
        .collect();
    Ok(json_response(&ValidateResponse {
        report: &report,
        offending: Offending {
            kind: "FeatureCollection",
            features,
        },
    }))
}
