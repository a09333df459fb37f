//! `GET /api/v1/audit` and `GET /api/v1/audit.geojson`: the coverage audit of the published
//! snapshot, computed once per snapshot.

use axum::response::Response;

use super::error::ApiError;
use super::extract::CurrentOnly;
use super::features::geojson_value;
use super::lookup::json_response;
use crate::output::geojson;

pub async fn report(CurrentOnly(published): CurrentOnly) -> Response {
    json_response(&*published.audit())
}

pub async fn geojson(CurrentOnly(published): CurrentOnly) -> Result<Response, ApiError> {
    let report = published.audit();
    geojson_value(&geojson::findings(&report.findings))
}
