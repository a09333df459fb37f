//! `GET /api/v1/{towns,communities,grids}[/{code}]`: the registry as GeoJSON (RFC 7946).
//!
//! Unfiltered collections are rendered once per snapshot and then served from memory.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::MultiPolygon;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use super::AppState;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::lookup::json_response;
use crate::registry::{Community, Counts, Grid, Registry, Town};

/// A (multi)polygon as a GeoJSON geometry: `Polygon` when it has one part, `null` when absent.
pub(super) struct GeometryJson<'a>(pub Option<&'a MultiPolygon<f64>>);

struct Coords<'a>(&'a geo::LineString<f64>);

impl Serialize for Coords<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.coords().map(|c| [c.x, c.y]))
    }
}

struct Rings<'a>(&'a geo::Polygon<f64>);

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(1 + self.0.interiors().len()))?;
        seq.serialize_element(&Coords(self.0.exterior()))?;
        for hole in self.0.interiors() {
            seq.serialize_element(&Coords(hole))?;
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
            map.serialize_entry("coordinates", &Rings(polygon))?;
        } else {
            map.serialize_entry("type", "MultiPolygon")?;
            let parts: Vec<Rings> = area.iter().map(Rings).collect();
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
    properties: P,
) -> Feature<'a, P> {
    Feature {
        kind: "Feature",
        id: code,
        geometry: GeometryJson(area),
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
    office: Option<[f64; 2]>,
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

fn town_feature<'a>(r: &'a Registry, t: &'a Town) -> Feature<'a, TownProps<'a>> {
    let counts = t
        .communities
        .iter()
        .map(|&c| r.communities[c].counts)
        .fold(Counts::default(), |a, b| a + b);
    feature(
        &t.code,
        Some(&t.area),
        TownProps {
            code: &t.code,
            name: &t.name,
            communities: t.communities.len(),
            counts,
        },
    )
}

fn community_feature<'a>(r: &'a Registry, c: &'a Community) -> Feature<'a, CommunityProps<'a>> {
    feature(
        &c.code,
        c.territory.as_ref(),
        CommunityProps {
            code: &c.code,
            name: &c.name,
            town_code: &r.towns[c.town].code,
            kind: c.kind.as_str(),
            workers: c.workers,
            office_area_m2: c.office_area_m2,
            office: c.office.map(|p| [p.x(), p.y()]),
            grids: c.grids.len(),
            counts: c.counts,
        },
    )
}

fn grid_feature<'a>(r: &'a Registry, g: &'a Grid) -> Feature<'a, GridProps<'a>> {
    let community = &r.communities[g.community];
    feature(
        &g.code,
        Some(&g.area),
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

/// Renders a full collection to bytes (cached by the caller).
pub(super) fn render_all(registry: &Registry, layer: Layer) -> Bytes {
    let bytes = match layer {
        Layer::Towns => serde_json::to_vec(&collection(
            registry.towns.iter().map(|t| town_feature(registry, t)),
        )),
        Layer::Communities => serde_json::to_vec(&collection(
            registry
                .communities
                .iter()
                .map(|c| community_feature(registry, c)),
        )),
        Layer::Grids => serde_json::to_vec(&collection(
            registry.grids.iter().map(|g| grid_feature(registry, g)),
        )),
    };
    // Serialising plain structs of strings and finite numbers cannot fail.
    Bytes::from(bytes.unwrap_or_default())
}

/// The three feature layers of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Towns,
    Communities,
    Grids,
}

fn geojson(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], bytes).into_response()
}

pub(super) fn geojson_value(value: &impl Serialize) -> Response {
    let mut response = json_response(value);
    if response.status().is_success() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/geo+json"),
        );
    }
    response
}

pub async fn towns(State(state): State<AppState>) -> Response {
    geojson(state.collection(Layer::Towns))
}

#[derive(Deserialize)]
pub struct CommunityFilter {
    town: Option<String>,
}

pub async fn communities(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<CommunityFilter>,
) -> Result<Response, ApiError> {
    let Some(town_code) = filter.town else {
        return Ok(geojson(state.collection(Layer::Communities)));
    };
    let snapshot = state.snapshot();
    let r = &snapshot.registry;
    let town = r.town_by_code(&town_code).ok_or_else(|| {
        ApiError::not_found(format!("filter `town`: no town with code {town_code:?}"))
    })?;
    let features = r.towns[town]
        .communities
        .iter()
        .map(|&c| community_feature(r, &r.communities[c]));
    Ok(geojson_value(&collection(features)))
}

#[derive(Deserialize)]
pub struct GridFilter {
    community: Option<String>,
}

pub async fn grids(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<GridFilter>,
) -> Result<Response, ApiError> {
    let Some(community_code) = filter.community else {
        return Ok(geojson(state.collection(Layer::Grids)));
    };
    let snapshot = state.snapshot();
    let r = &snapshot.registry;
    let community = r.community_by_code(&community_code).ok_or_else(|| {
        ApiError::not_found(format!(
            "filter `community`: no community with code {community_code:?}"
        ))
    })?;
    let features = r.communities[community]
        .grids
        .iter()
        .map(|&g| grid_feature(r, &r.grids[g]));
    Ok(geojson_value(&collection(features)))
}

pub async fn town(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let r = &snapshot.registry;
    let i = r
        .town_by_code(&code)
        .ok_or_else(|| ApiError::not_found(format!("no town with code {code:?}")))?;
    Ok(geojson_value(&town_feature(r, &r.towns[i])))
}

pub async fn community(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let r = &snapshot.registry;
    let i = r
        .community_by_code(&code)
        .ok_or_else(|| ApiError::not_found(format!("no community with code {code:?}")))?;
    Ok(geojson_value(&community_feature(r, &r.communities[i])))
}

pub async fn grid(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let r = &snapshot.registry;
    let i = r
        .grid_by_code(&code)
        .ok_or_else(|| ApiError::not_found(format!("no grid with code {code:?}")))?;
    Ok(geojson_value(&grid_feature(r, &r.grids[i])))
}
