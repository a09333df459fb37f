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
    self, Feature, Out, collection, community_feature, grid_feature, town_feature,
};
use crate::registry::Registry;

/// Renders a full collection to bytes in the output CRS; fails only if a position is outside
/// the output CRS's area of use.
fn render(registry: &Registry, layer: Layer, out: Out) -> serde_json::Result<Vec<u8>> {
    match layer {
        Layer::Towns => geojson::towns(registry, out),
        Layer::Communities => geojson::communities(registry, out),
        Layer::Grids => geojson::grids(registry, out),
    }
}

/// Renders a full WGS84 collection to bytes (cached by the caller).
pub(super) fn render_all(registry: &Registry, layer: Layer) -> Bytes {
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
    layer: Layer,
    crs: Option<&Crs>,
) -> Result<Response, ApiError> {
    match crs {
        None => Ok(geo_json(published.collection(layer))),
        Some(crs) => render(&published.snapshot().registry, layer, Some(crs))
            .map(|b| geo_json(Bytes::from(b)))
            .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}"))),
    }
}

/// The three feature layers of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Towns,
    Communities,
    Grids,
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
        Layer::Towns,
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
        return whole_layer(&published, Layer::Communities, out);
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
        return whole_layer(&published, Layer::Grids, out);
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

/// A record found by code rendered as a Feature, or 404 naming what was not found.
fn one_feature<'r, P: Serialize>(
    what: &str,
    code: &str,
    index: Option<usize>,
    render: impl FnOnce(usize) -> Feature<'r, P>,
) -> Result<Response, ApiError> {
    let i = index.ok_or_else(|| ApiError::not_found(format!("no {what} with code {code:?}")))?;
    geojson_value(&render(i))
}

pub async fn town(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    let crs = output_crs(query.crs.as_deref())?;
    let r = &published.snapshot().registry;
    one_feature("town", &code, r.town_by_code(&code), |i| {
        town_feature(r, &r.towns[i], crs.as_ref())
    })
}

pub async fn community(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    let crs = output_crs(query.crs.as_deref())?;
    let r = &published.snapshot().registry;
    one_feature("community", &code, r.community_by_code(&code), |i| {
        community_feature(r, &r.communities[i], crs.as_ref())
    })
}

pub async fn grid(
    Current(published): Current,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OutputCrs>,
) -> Result<Response, ApiError> {
    let crs = output_crs(query.crs.as_deref())?;
    let r = &published.snapshot().registry;
    one_feature("grid", &code, r.grid_by_code(&code), |i| {
        grid_feature(r, &r.grids[i], crs.as_ref())
    })
}
