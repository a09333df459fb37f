//! `GET /tiles/catalog`, `/tiles/{layers}.json`, `/tiles/{layers}/{z}/{x}/{y}.mvt` and
//! `/style.json`: thin handlers over [`crate::tiles`].
//!
//! Tiles are rendered off the async workers (`spawn_blocking`: a cold tile takes milliseconds)
//! and kept in the shared [`TileCache`] under the snapshot's version.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiQuery, Current};
use super::lookup::json_response;
use crate::tiles::{self, CachedTile, LayerSet, TileError, TileId, TileKey};

/// Clients may reuse a tile for five minutes, then revalidate it by ETag (cheap: 304).
const CACHE_CONTROL: &str = "public, max-age=300";

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";

impl From<TileError> for ApiError {
    fn from(e: TileError) -> Self {
        match e {
            TileError::UnknownLayer { .. } => ApiError::not_found(e.to_string()),
            TileError::ZoomOutOfRange { .. } | TileError::TileOutOfRange { .. } => {
                ApiError::bad_request(e.to_string())
            }
            TileError::Encode(_) => ApiError::internal(e),
        }
    }
}

/// The query a tile request may carry: `as_of` (read by [`Current`]), `v` (a cache-busting
/// generation the web map adds after an approval; its value does not matter) and `crs`, which
/// is refused: tiles are Web Mercator over WGS84 and shifting them to GCJ-02 is not offered,
/// so a GCJ-02 basemap client is told so rather than given tiles that sit ~500 m off. Any other
/// parameter is a 400 naming it (never silently ignored).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileQuery {
    #[serde(rename = "as_of")]
    _as_of: Option<String>,
    #[serde(rename = "v")]
    _generation: Option<String>,
    crs: Option<String>,
}

impl TileQuery {
    fn check(&self) -> Result<(), ApiError> {
        match self.crs.as_deref() {
            None => Ok(()),
            Some(c) if c.eq_ignore_ascii_case("wgs84") || c.eq_ignore_ascii_case("EPSG:4326") => {
                Ok(())
            }
            Some(c) => Err(ApiError::bad_request(format!(
                "parameter `crs`: tiles are served in Web Mercator over WGS84 only, not {c:?}; \
                 GCJ-02 (Amap, Tencent) basemaps need GeoJSON with ?crs=gcj02 from /api/v1"
            ))),
        }
    }
}

pub async fn catalog(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<NoQuery>,
) -> Response {
    let NoQuery {} = query;
    json_response(&tiles::catalog(&state.tile_settings().public_url))
}

/// A route that takes no query parameters: any is a 400 naming it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// `/tiles/{layers}.json`: TileJSON of one layer or a composite.
pub async fn tilejson(
    State(state): State<AppState>,
    Current(published): Current,
    Path(file): Path<String>,
    ApiQuery(query): ApiQuery<TileQuery>,
) -> Result<Response, ApiError> {
    query.check()?;
    let Some(spec) = file.strip_suffix(".json") else {
        return Err(ApiError::not_found(format!(
            "no such route /tiles/{file}; TileJSON is at /tiles/{{layer}}.json"
        )));
    };
    let layers = LayerSet::parse(spec)?;
    let registry = &published.snapshot().registry;
    Ok(json_response(&tiles::tilejson(
        registry,
        &state.tile_settings().public_url,
        layers.layers(),
        published.registry_version(),
    )))
}

pub async fn style(State(state): State<AppState>, Current(published): Current) -> Response {
    let registry = &published.snapshot().registry;
    json_response(&tiles::style(
        registry,
        &state.tile_settings().public_url,
        &state.tile_settings().style,
    ))
}

fn parse_coordinate(name: &str, value: &str) -> Result<u32, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "tile {name} {value:?} is not a non-negative integer"
        ))
    })
}

/// `/tiles/{layers}/{z}/{x}/{y}.mvt`, or `.pbf` (the same tile: GDAL, tippecanoe and
/// tileserver-gl name tiles `.pbf`).
pub async fn tile(
    State(state): State<AppState>,
    Current(published): Current,
    Path((spec, z, x, y)): Path<(String, String, String, String)>,
    ApiQuery(query): ApiQuery<TileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    query.check()?;
    let Some(y) = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")) else {
        return Err(ApiError::not_found(format!(
            "no such route: tiles end in .mvt or .pbf, not {y:?}"
        )));
    };
    let layers = LayerSet::parse(&spec)?;
    let id = TileId::new(
        parse_coordinate("z", &z)?,
        parse_coordinate("x", &x)?,
        parse_coordinate("y", y)?,
    )?;
    let key = TileKey {
        version: published.version(),
        layers: layers.key(),
        z: id.z,
        x: id.x,
        y: id.y,
    };
    let metrics = &state.metrics;
    let cached = match state.tile_settings().cache.get(&key) {
        Some(hit) => {
            metrics.tile_hits.fetch_add(1, Ordering::Relaxed);
            hit
        }
        None => {
            metrics.tile_misses.fetch_add(1, Ordering::Relaxed);
            let worker = published.clone();
            let rendered = tokio::task::spawn_blocking(move || {
                let registry = &worker.snapshot().registry;
                // The audit is computed once per snapshot, on the first findings tile.
                let audit = layers.needs_audit().then(|| worker.audit());
                let findings = audit.as_deref().map_or(&[][..], |a| a.findings.as_slice());
                worker
                    .tile_source()
                    .render_with_findings(registry, id, &layers, findings)
            })
            .await??;
            let tile = CachedTile::new(rendered);
            state.tile_settings().cache.insert(key, tile.clone());
            tile
        }
    };
    Ok(respond(&cached, &headers))
}

/// Whether `If-None-Match` lists `etag` (or `*`); weak comparison, as RFC 9110 asks for it.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

fn respond(tile: &CachedTile, headers: &HeaderMap) -> Response {
    let validators = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(&tile.etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
    ];
    if matches(headers, &tile.etag) {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    match &tile.body {
        None => (StatusCode::NO_CONTENT, validators).into_response(),
        Some(body) => (
            validators,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(MVT_CONTENT_TYPE),
            )],
            body.clone(),
        )
            .into_response(),
    }
}
