//! `GET /api/v1/{towns,communities,grids}[/{code}]`: the registry as GeoJSON (RFC 7946).
//!
//! Unfiltered collections are rendered once per snapshot and then served from memory. `?crs=`
//! gives the output CRS (default WGS84): `gcj02` returns the coordinates a GCJ-02 basemap (Amap,
//! Tencent) shows in the right place; such renderings are made per request.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::MultiPolygon;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use super::Published;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::extract::Current;
use super::lookup::parse_crs;
use crate::crs::Crs;
use crate::registry::{Community, Counts, Grid, Level, Registry, Town};

/// The output CRS of a rendering; `None` is WGS84 as stored (no conversion).
pub(super) type Out<'a> = Option<&'a Crs>;

/// Converts a stored WGS84 position to the output CRS, as a serialisation error if it cannot be.
fn convert<E: serde::ser::Error>(out: Out, p: [f64; 2]) -> Result<[f64; 2], E> {
    match out {
        None => Ok(p),
        Some(crs) => crs.from_wgs84(p).map_err(E::custom),
    }
}

/// A (multi)polygon as a GeoJSON geometry: `Polygon` when it has one part, `null` when absent.
pub(super) struct GeometryJson<'a>(pub Option<&'a MultiPolygon<f64>>, pub Out<'a>);

struct Coords<'a>(&'a geo::LineString<f64>, Out<'a>);

impl Serialize for Coords<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.0.len()))?;
        for c in self.0.coords() {
            seq.serialize_element(&convert::<S::Error>(self.1, [c.x, c.y])?)?;
        }
        seq.end()
    }
}

/// A position (the community office) in the output CRS.
struct Position<'a>(Option<[f64; 2]>, Out<'a>);

impl Serialize for Position<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_none(),
            Some(p) => convert::<S::Error>(self.1, p)?.serialize(s),
        }
    }
}

struct Rings<'a>(&'a geo::Polygon<f64>, Out<'a>);

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(1 + self.0.interiors().len()))?;
        seq.serialize_element(&Coords(self.0.exterior(), self.1))?;
        for hole in self.0.interiors() {
            seq.serialize_element(&Coords(hole, self.1))?;
        }
        seq.end()
    }
}

impl Serialize for GeometryJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(area) = self.0 else {
            return s.serialize_none();
        };
        let mut map = s.serialize_map(Some(2))?;
        if let [polygon] = area.0.as_slice() {
            map.serialize_entry("type", "Polygon")?;
            map.serialize_entry("coordinates", &Rings(polygon, self.1))?;
        } else {
            map.serialize_entry("type", "MultiPolygon")?;
            let parts: Vec<Rings> = area.iter().map(|p| Rings(p, self.1)).collect();
            map.serialize_entry("coordinates", &parts)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Feature<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: GeometryJson<'a>,
    properties: P,
}

#[derive(Serialize)]
struct Collection<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<Feature<'a, P>>,
}

fn feature<'a, P>(
    code: &'a str,
    area: Option<&'a MultiPolygon<f64>>,
    out: Out<'a>,
    properties: P,
) -> Feature<'a, P> {
    Feature {
        kind: "Feature",
        id: code,
        geometry: GeometryJson(area, out),
        properties,
    }
}

#[derive(Serialize)]
struct TownProps<'a> {
    code: &'a str,
    name: &'a str,
    communities: usize,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct CommunityProps<'a> {
    code: &'a str,
    name: &'a str,
    town_code: &'a str,
    kind: &'static str,
    workers: u32,
    office_area_m2: f64,
    office: Position<'a>,
    grids: usize,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct GridProps<'a> {
    code: &'a str,
    name: &'a str,
    community_code: &'a str,
    town_code: &'a str,
    #[serde(flatten)]
    counts: Counts,
}

fn town_feature<'a>(r: &'a Registry, t: &'a Town, out: Out<'a>) -> Feature<'a, TownProps<'a>> {
    let counts = t
        .communities
        .iter()
        .map(|&c| r.communities[c].counts)
        .fold(Counts::default(), |a, b| a + b);
    feature(
        &t.code,
        Some(&t.area),
        out,
        TownProps {
            code: &t.code,
            name: &t.name,
            communities: t.communities.len(),
            counts,
        },
    )
}

fn community_feature<'a>(
    r: &'a Registry,
    c: &'a Community,
    out: Out<'a>,
) -> Feature<'a, CommunityProps<'a>> {
    feature(
        &c.code,
        c.territory.as_ref(),
        out,
        CommunityProps {
            code: &c.code,
            name: &c.name,
            town_code: &r.towns[c.town].code,
            kind: c.kind.as_str(),
            workers: c.workers,
            office_area_m2: c.office_area_m2,
            office: Position(c.office.map(|p| [p.x(), p.y()]), out),
            grids: c.grids.len(),
            counts: c.counts,
        },
    )
}

fn grid_feature<'a>(r: &'a Registry, g: &'a Grid, out: Out<'a>) -> Feature<'a, GridProps<'a>> {
    let community = &r.communities[g.community];
    feature(
        &g.code,
        Some(&g.area),
        out,
        GridProps {
            code: &g.code,
            name: &g.name,
            community_code: &community.code,
            town_code: &r.towns[community.town].code,
            counts: g.counts,
        },
    )
}

fn collection<'a, P>(features: impl Iterator<Item = Feature<'a, P>>) -> Collection<'a, P> {
    Collection {
        kind: "FeatureCollection",
        features: features.collect(),
    }
}

/// Renders a full collection to bytes in the output CRS; fails only if a position is outside
/// the output CRS's area of use.
fn render(registry: &Registry, layer: Level, out: Out) -> serde_json::Result<Vec<u8>> {
    match layer {
        Level::Town => serde_json::to_vec(&collection(
            registry
                .towns
                .iter()
                .map(|t| town_feature(registry, t, out)),
        )),
        Level::Community => serde_json::to_vec(&collection(
            registry
                .communities
                .iter()
                .map(|c| community_feature(registry, c, out)),
        )),
        Level::Grid => serde_json::to_vec(&collection(
            registry
                .grids
                .iter()
                .map(|g| grid_feature(registry, g, out)),
        )),
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
        None => Ok(geojson(published.collection(layer))),
        Some(crs) => render(&published.snapshot().registry, layer, Some(crs))
            .map(|b| geojson(Bytes::from(b)))
            .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}"))),
    }
}

fn geojson(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], bytes).into_response()
}

/// A feature or filtered collection; an output-CRS failure is the client's (400).
pub(super) fn geojson_value(value: &impl Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))?;
    Ok(geojson(Bytes::from(body)))
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
