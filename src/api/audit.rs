//! `GET /api/v1/audit` and `GET /api/v1/audit.geojson`: the coverage audit of the published
//! snapshot, computed once per snapshot.

use axum::response::Response;
use serde::Serialize;

use super::error::ApiError;
use super::extract::Current;
use super::features::{GeometryJson, geojson_value};
use super::lookup::json_response;
use crate::audit::Finding;

pub async fn report(Current(published): Current) -> Response {
    json_response(&*published.audit())
}

#[derive(Serialize)]
struct FindingFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: GeometryJson<'a>,
    properties: &'a Finding,
}

#[derive(Serialize)]
struct FindingCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<FindingFeature<'a>>,
}

pub async fn geojson(Current(published): Current) -> Result<Response, ApiError> {
    let report = published.audit();
    let features = report
        .findings
        .iter()
        .map(|f| FindingFeature {
            kind: "Feature",
            geometry: GeometryJson(f.geometry.as_ref(), None),
            properties: f,
        })
        .collect();
    geojson_value(&FindingCollection {
        kind: "FeatureCollection",
        features,
    })
}
