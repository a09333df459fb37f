//! `GET /api/v1/{towns,communities,grids}[/{code}]`: the registry as GeoJSON (RFC 7946).
//!
//! Unfiltered collections are rendered once per snapshot and then served from memory. `?crs=`
//! gives the output CRS (default WGS84): `gcj02` returns the coordinates a GCJ-02 basemap (Amap,
//! Tencent) shows in the right place; such renderings are made per request.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Published;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::extract::Current;
use super::lookup::parse_crs;
use crate::crs::Crs;
use crate::output::geojson::{
    self, Out, collection, community_feature, grid_feature, town_feature,
};
use crate::registry::{Level, Registry};

/// Renders a full collection to bytes in the output CRS; fails only if a position is outside
/// the output CRS's area of use.
fn render(registry: &Registry, layer: Level, out: Out) -> serde_json::Result<Vec<u8>> {
    match layer {
        Level::Town => geojson::towns(registry, out),
        Level::Community => geojson::communities(registry, out),
        Level::Grid => geojson::grids(registry, out),
    }
}

/// Renders a full WGS84 collection to bytes (cached by the caller).
pub(super) fn render_all(registry: &Registry, layer: Level) -> Bytes {
    // Without conversion, serialising plain structs of strings and finite numbers cannot fail.
    Bytes::from(render(registry, layer, None).unwrap_or_default())
}

/// The output CRS of `?crs=`; `None` for the stored WGS84/CGCS2000.
fn output_crs(crs: Option<&str>) -> Result<Option<Crs>, ApiError> {
    let crs = parse_crs(crs)?;
    Ok((!crs.is_wgs84()).then_some(crs))
}

/// A whole layer: the cached WGS84 rendering, or a fresh one in another CRS.
fn whole_layer(
    published: &Published,
    layer: Level,
    crs: Option<&Crs>,
) -> Result<Response, ApiError> {
    match crs {
        None => Ok(geo_json(published.collection(layer))),
        Some(crs) => render(&published.snapshot().registry, layer, Some(crs))
            .map(|b| geo_json(Bytes::from(b)))
            .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}"))),
    }
}

fn geo_json(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], bytes).into_response()
}

/// A feature or filtered collection; an output-CRS failure is the client's (400).
pub(super) fn geojson_value(value: &impl Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))?;
    Ok(geo_json(Bytes::from(body)))
}

#[derive(Deserialize)]
pub struct OutputCrs {
    crs: Option<String>,
}

pub async fn towns(
    Current(published): Current,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    whole_layer(
        &published,
        Level::Town,
        output_crs(query.crs.as_deref())?.as_ref(),
    )
}

#[derive(Deserialize)]
pub struct CommunityFilter {
    town: Option<String>,
    crs: Option<String>,
}

pub async fn communities(
    Current(published): Current,
    ApiQuery(filter): ApiQuery<CommunityFilter>,
) -> Result<Response, ApiError> {
    let crs = output_crs(filter.crs.as_deref())?;
    let out = crs.as_ref();
    let Some(town_code) = filter.town else {
        return whole_layer(&published, Level::Community, out);
    };
    let snapshot = published.snapshot();
    let r = &snapshot.registry;
    let town = r.town_by_code(&town_code).ok_or_else(|| {
        ApiError::not_found(format!("filter `town`: no town with code {town_code:?}"))
    })?;
    let features = r.towns[town]
        .communities
        .iter()
        .map(|&c| community_feature(r, &r.communities[c], out));
    geojson_value(&collection(features))
}

#[derive(Deserialize)]
pub struct GridFilter {
    community: Option<String>,
    crs: Option<String>,
}

pub async fn grids(
    Current(published): Current,
    ApiQuery(filter): ApiQuery<GridFilter>,
) -> Result<Response, ApiError> {
    let crs = output_crs(filter.crs.as_deref())?;
    let out = crs.as_ref();
    let Some(community_code) = filter.community else {
        return whole_layer(&published, Level::Grid, out);
    };
    let snapshot = published.snapshot();
    let r = &snapshot.registry;
    let community = r.community_by_code(&community_code).ok_or_else(|| {
        ApiError::not_found(format!(
            "filter `community`: no community with code {community_code:?}"
        ))
    })?;
    let features = r.communities[community]
        .grids
        .iter()
        .map(|&g| grid_feature(r, &r.grids[g], out));
    geojson_value(&collection(features))
}

/// The record of `level` with `code` as a Feature in the output CRS of `query`, or 404 naming
/// what was not found.
fn one_feature(
    published: &Published,
    level: Level,
    code: &str,
    query: &OutputCrs,
) -> Result<Response, ApiError> {
    let crs = output_crs(query.crs.as_deref())?;
    let out = crs.as_ref();
    let r = &published.snapshot().registry;
    let i = r
        .by_code(level, code)
        .ok_or_else(|| ApiError::not_found(format!("no {} with code {code:?}", level.name())))?;
    match level {
        Level::Town => geojson_value(&town_feature(r, &r.towns[i], out)),
        Level::Community => geojson_value(&community_feature(r, &r.communities[i], out)),
        Level::Grid => geojson_value(&grid_feature(r, &r.grids[i], out)),
    }
}

pub async fn town(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    one_feature(&published, Level::Town, &code, &query)
}

pub async fn community(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    one_feature(&published, Level::Community, &code, &query)
}

pub async fn grid(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    one_feature(&published, Level::Grid, &code, &query)
}
