//! `GET /api/v1/audit`, `GET /api/v1/audit.geojson` and `GET /api/v1/audit/findings`: the
//! coverage audit of the published snapshot, computed once per snapshot; the findings as
//! GeoJSON, or (`/findings`) in an output CRS and as a GIS file ([`super::download`]).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::download;
use super::error::ApiError;
use super::extract::{ApiQuery, Current, CurrentOnly};
use super::features::{geojson_bytes, geojson_value};
use super::lookup::{json_response, parse_crs};
use crate::formats::export::Format;
use crate::output::geojson;

pub async fn report(CurrentOnly(published): CurrentOnly) -> Response {
    json_response(&*published.audit())
}

pub async fn geojson(CurrentOnly(published): CurrentOnly) -> Result<Response, ApiError> {
    let report = published.audit();
    geojson_value(&geojson::findings(&report.findings, None))
}

/// The query of `/api/v1/audit/findings`: output CRS and download format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    crs: Option<String>,
    format: Option<String>,
    #[serde(rename = "as_of")]
    _as_of: Option<String>,
}

/// The findings as GeoJSON or a GIS file, in the CRS `crs=` asks for.
pub async fn findings(
    State(state): State<AppState>,
    Current(published): Current,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FindingsQuery>,
) -> Result<Response, ApiError> {
    let format = download::format(query.format.as_deref(), &headers)?;
    let crs = parse_crs(query.crs.as_deref())?;
    let projected = crs.epsg_projected();
    let render = move || {
        let out = (!crs.is_wgs84()).then_some(&crs);
        geojson_bytes(&geojson::findings(&published.audit().findings, out))
    };
    if format == Format::GeoJson {
        let mut response = super::features::geo_json(render()?);
        if let Some(value) = projected.and_then(|code| download::content_crs(code.into())) {
            response.headers_mut().insert("content-crs", value);
        }
        return Ok(response);
    }
    let epsg = download::epsg(format, &parse_crs(query.crs.as_deref())?)?;
    download::answer(&state, format, "findings", epsg, render).await
}
