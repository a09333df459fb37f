//! `GET /api/v1/{towns,communities,grids}[/{code}]`: the registry as GeoJSON (RFC 7946).
//!
//! `skipGeometry=true` answers a collection with `geometry: null` in every feature: the web map
//! draws boundaries from the vector tiles and needs only the attributes for its panel, search
//! and legend (the communities' attributes are about 5 % of the layer's bytes); one feature's
//! geometry is fetched when it is opened.
//!
//! Unfiltered collections are rendered once per snapshot and then served from memory, or, when
//! too large to keep or in another CRS, streamed in chunks ([`super::layer_stream`]); `bbox`,
//! `limit`/`offset`, `town` and `community` select a page of one ([`super::select`]). `?crs=`
//! gives the output CRS (default WGS84): `gcj02` returns the coordinates a GCJ-02 basemap (Amap,
//! Tencent) shows in the right place. `format=` (or an
//! `Accept` type) asks for the same collection as a GIS file ([`super::download`]).

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::download;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::extract::Current;
use super::layer_stream;
use super::lookup::parse_crs;
use super::select;
use super::{AppState, Published};
use crate::crs::Crs;
use crate::formats::export::{Format, Table};
use crate::output::geojson::{self, Out, community_feature, grid_feature, town_feature};
use crate::output::page::{self, Link};
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

/// The table of a whole layer for a download, built from the registry's features one at a
/// time ([`Table::from_features`]): the same table as from the layer's GeoJSON, without its
/// text and `Value` tree. A position outside the output CRS's area of use is the same 400 as
/// the rendering's (the first in the layer's order).
fn whole_layer_table(
    published: &Published,
    level: Level,
    out: Option<&Crs>,
    epsg: u32,
) -> Result<Table, ApiError> {
    let registry = &published.snapshot().registry;
    let mut failure = None;
    let features = (0..geojson::layer_len(registry, level)).map_while(|i| {
        geojson::feature_value(registry, level, i, out)
            .map_err(|e| failure = Some(e))
            .ok()
    });
    let table =
        Table::from_features(level.collection(), epsg, features).map_err(ApiError::internal)?;
    match failure {
        Some(e) => Err(ApiError::bad_request(format!("parameter `crs`: {e}"))),
        None => Ok(table),
    }
}

/// `body` (bytes, or a streamed layer) answered as GeoJSON.
pub(super) fn geo_json(body: impl IntoResponse) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
}

/// Says the CRS of an answer in a projected CRS as OGC API Features Part 2 does
/// (`Content-Crs: <http://www.opengis.net/def/crs/EPSG/0/4547>`), besides the body's `crs`
/// member, so a client never reads metres as degrees.
fn with_crs(mut response: Response, crs: Option<&Crs>) -> Response {
    if let Some(value) = crs
        .and_then(Crs::epsg_projected)
        .and_then(|code| download::content_crs(code.into()))
    {
        response.headers_mut().insert("content-crs", value);
    }
    response
}

/// A feature or page with the `crs` member (GeoJSON 2008, which GDAL and QGIS read) when its
/// CRS is not WGS84, as whole layers have it: the header alone is lost once the body is saved.
#[derive(Serialize)]
struct InCrs<'a, T> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    crs: Option<serde_json::Value>,
}

/// [`geojson_value`] of `body` in `out`, saying its CRS in the body and in `Content-Crs`.
fn geojson_in_crs(body: &impl Serialize, out: Option<&Crs>) -> Result<Response, ApiError> {
    geojson_value(&InCrs {
        body,
        crs: crate::output::geojson::crs_member(out),
    })
    .map(|r| with_crs(r, out))
}

/// A feature or filtered collection; an output-CRS failure is the client's (400).
pub(super) fn geojson_value(value: &impl Serialize) -> Result<Response, ApiError> {
    geojson_bytes(value).map(geo_json)
}

/// `value` serialised; an output-CRS failure is the client's (400).
pub(super) fn geojson_bytes(value: &impl Serialize) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))
}

/// The query of one feature: the output CRS (and `as_of`, read by [`Current`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCrs {
    crs: Option<String>,
    #[serde(rename = "as_of")]
    _as_of: Option<String>,
}

/// The query of a collection: output CRS, `bbox` (lon/lat WGS84), `limit`/`offset` paging,
/// the parent filters and the download `format`. Any other parameter is a 400 naming it: a client that sends `bbox` to a
/// server that ignored it would download the whole layer thinking it had a part.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionQuery {
    crs: Option<String>,
    bbox: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    town: Option<String>,
    community: Option<String>,
    format: Option<String>,
    #[serde(rename = "skipGeometry")]
    skip_geometry: Option<String>,
    #[serde(rename = "as_of")]
    _as_of: Option<String>,
}

/// `skipGeometry`: `true` or `false` (absent: `false`); anything else is a 400 naming it.
fn parse_skip_geometry(text: Option<&str>) -> Result<bool, ApiError> {
    match text {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "parameter `skipGeometry`: {other:?} is not `true` or `false`"
        ))),
    }
}

impl CollectionQuery {
    fn selects(&self) -> bool {
        self.bbox.is_some()
            || self.limit.is_some()
            || self.offset.is_some()
            || self.town.is_some()
            || self.community.is_some()
    }
}

/// The page of a layer the query selects (or every feature without geometry), as GeoJSON
/// bytes in `out`; whole layers are answered by [`collection`].
fn page_of(
    state: &AppState,
    published: &Published,
    level: Level,
    query: &CollectionQuery,
    uri: &axum::http::Uri,
    out: Option<&Crs>,
) -> Result<Bytes, ApiError> {
    let skip_geometry = parse_skip_geometry(query.skip_geometry.as_deref())?;
    let r = &published.snapshot().registry;
    let mut filter = select::parent_filter(
        r,
        Some(level),
        query.town.as_deref(),
        query.community.as_deref(),
    )?;
    filter.area = query
        .bbox
        .as_deref()
        .map(|b| select::parse_bbox("bbox", b, &Crs::Wgs84))
        .transpose()?;
    let window = select::parse_window(query.limit.as_deref(), query.offset.as_deref(), usize::MAX)?;
    let matched = crate::output::select::records(r, level, &filter);
    let features = window
        .of(&matched)
        .iter()
        .map(|&i| page::record(r, level, i, out))
        .map(|f| {
            if skip_geometry {
                f.without_geometry()
            } else {
                f
            }
        })
        .collect();
    let mut links = Vec::new();
    if window.has_next(matched.len()) {
        links.push(Link::new(
            "next",
            select::next_href(&state.tile_settings().public_url, uri, window),
            "application/geo+json",
        ));
    }
    geojson_bytes(&InCrs {
        body: &page::page(features, matched.len(), None, links),
        crs: crate::output::geojson::crs_member(out),
    })
}

/// A collection as GeoJSON, or as the file `format=`/`Accept` asks for (made in the CPU pool).
async fn collection(
    state: AppState,
    published: Arc<Published>,
    level: Level,
    query: CollectionQuery,
    uri: axum::http::Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let format = download::format(query.format.as_deref(), headers)?;
    let crs = parse_crs(query.crs.as_deref())?;
    let whole = !query.selects() && !parse_skip_geometry(query.skip_geometry.as_deref())?;
    if format == Format::GeoJson {
        let out = (!crs.is_wgs84()).then_some(&crs);
        if !whole {
            return page_of(&state, &published, level, &query, &uri, out)
                .map(|body| with_crs(geo_json(body), out));
        }
        if out.is_none() && published.keeps_collection(level) {
            return Ok(geo_json(published.collection(level)));
        }
        let body = layer_stream::whole_layer(&state, published, level, out.cloned()).await?;
        return Ok(with_crs(geo_json(body), out));
    }
    let epsg = download::epsg(format, &crs)?;
    let out = (!crs.is_wgs84()).then_some(crs);
    if whole {
        return download::answer_table(&state, format, level.collection(), epsg, move || {
            whole_layer_table(&published, level, out.as_ref(), epsg)
        })
        .await;
    }
    let job_state = state.clone();
    download::answer(&state, format, level.collection(), epsg, move || {
        page_of(&job_state, &published, level, &query, &uri, out.as_ref())
    })
    .await
}

pub async fn towns(
    State(state): State<AppState>,
    Current(published): Current,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CollectionQuery>,
) -> Result<Response, ApiError> {
    collection(state, published, Level::Town, query, uri, &headers).await
}

pub async fn communities(
    State(state): State<AppState>,
    Current(published): Current,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CollectionQuery>,
) -> Result<Response, ApiError> {
    collection(state, published, Level::Community, query, uri, &headers).await
}

pub async fn grids(
    State(state): State<AppState>,
    Current(published): Current,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CollectionQuery>,
) -> Result<Response, ApiError> {
    collection(state, published, Level::Grid, query, uri, &headers).await
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
        Level::Town => geojson_in_crs(&town_feature(r, &r.towns[i], out), out),
        Level::Community => geojson_in_crs(&community_feature(r, &r.communities[i], out), out),
        Level::Grid => geojson_in_crs(&grid_feature(r, &r.grids[i], out), out),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Snapshot;

    fn sample() -> Arc<Published> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries");
        match Snapshot::load(&dir) {
            Ok(s) => Published::new(s, None, super::super::KEPT_COLLECTION_VERTICES),
            Err(e) => panic!("the sample city must load: {e}"),
        }
    }

    fn crs(name: &str) -> Crs {
        match name.parse() {
            Ok(c) => c,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// A whole layer's download table, built feature by feature, is the table of the whole
    /// GeoJSON answer parsed (the way every download was made before), in every CRS a file
    /// states; a CRS missing the city is the rendering's 400.
    #[test]
    fn a_whole_layer_table_is_the_table_of_its_geojson() {
        let published = sample();
        let registry = &published.snapshot().registry;
        let projected = crs("EPSG:4547");
        let cgcs = crs("cgcs2000");
        for level in Level::ALL {
            for (out, epsg) in [(None, 4326), (Some(&projected), 4547), (Some(&cgcs), 4490)] {
                let Ok(text) = render(registry, level, out) else {
                    panic!("{level:?} renders");
                };
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(&text) else {
                    panic!("{level:?} parses");
                };
                let Ok(expected) = Table::from_geojson(level.collection(), epsg, &value) else {
                    panic!("{level:?} makes a table");
                };
                let Ok(table) = whole_layer_table(&published, level, out, epsg) else {
                    panic!("{level:?} makes a table from features");
                };
                assert!(!table.rows.is_empty());
                assert!(table == expected, "{level:?} EPSG:{epsg}");
            }
            let far = crs("EPSG:4549");
            let (Err(e), Err(api)) = (
                render(registry, level, Some(&far)),
                whole_layer_table(&published, level, Some(&far), 4549),
            ) else {
                panic!("{level:?} is outside EPSG:4549");
            };
            assert_eq!(api.status, axum::http::StatusCode::BAD_REQUEST);
            assert_eq!(api.detail, format!("parameter `crs`: {e}"));
        }
    }
}
