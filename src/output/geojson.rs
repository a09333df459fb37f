//! The registry as GeoJSON (RFC 7946): features of towns, communities and grids, collections
//! of them and of audit findings, in WGS84 or another output CRS. Written straight from the
//! registry (no intermediate `serde_json::Value`), so a whole layer serialises quickly.

use geo::MultiPolygon;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::audit::Finding;
use crate::crs::Crs;
use crate::registry::{Community, Counts, Grid, Registry, Town};

/// The output CRS of a rendering; `None` is WGS84 as stored (no conversion).
pub type Out<'a> = Option<&'a Crs>;

/// Converts a stored WGS84 position to the output CRS, as a serialisation error if it cannot be,
/// rounded to what the CRS can mean: 0.001 m in a projected CRS, 1e-7° (≈ 1 cm) in a
/// geographic one, not the 13–15 decimals a conversion leaves.
fn convert<E: serde::ser::Error>(out: Out, p: [f64; 2]) -> Result<[f64; 2], E> {
    match out {
        None => Ok(p),
        Some(crs) => {
            let q = crs.from_wgs84(p).map_err(E::custom)?;
            let scale = if crs.epsg_projected().is_some() {
                1e3
            } else {
                1e7
            };
            Ok(q.map(|x| (x * scale).round() / scale))
        }
    }
}

/// The `crs` member (GeoJSON 2008, which GDAL and QGIS read) of a rendering in `out`: `None`
/// for WGS84 (RFC 7946's only CRS) and for CRSs without an EPSG code (GCJ-02, BD-09).
pub fn crs_member(out: Out) -> Option<serde_json::Value> {
    let code = out?.epsg_projected()?;
    Some(serde_json::json!({
        "type": "name",
        "properties": {"name": format!("urn:ogc:def:crs:EPSG::{code}")},
    }))
}

/// A (multi)polygon as a GeoJSON geometry: `Polygon` when it has one part, `null` when absent.
pub struct GeometryJson<'a>(pub Option<&'a MultiPolygon<f64>>, pub Out<'a>);

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
pub struct Feature<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: GeometryJson<'a>,
    properties: P,
}

#[derive(Serialize)]
pub struct Collection<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crs: Option<serde_json::Value>,
    features: Vec<Feature<'a, P>>,
}

impl<P> Feature<'_, P> {
    /// The same feature with `geometry: null`: its attributes alone, for a client that draws
    /// the geometry from vector tiles and lists, searches and labels from the attributes.
    pub fn without_geometry(self) -> Self {
        Feature {
            geometry: GeometryJson(None, self.geometry.1),
            ..self
        }
    }
}

pub fn feature<'a, P>(
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
pub struct TownProps<'a> {
    code: &'a str,
    name: &'a str,
    communities: usize,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
pub struct CommunityProps<'a> {
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
pub struct GridProps<'a> {
    code: &'a str,
    name: &'a str,
    community_code: &'a str,
    town_code: &'a str,
    #[serde(flatten)]
    counts: Counts,
}

pub fn town_feature<'a>(r: &'a Registry, t: &'a Town, out: Out<'a>) -> Feature<'a, TownProps<'a>> {
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

pub fn community_feature<'a>(
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

pub fn grid_feature<'a>(r: &'a Registry, g: &'a Grid, out: Out<'a>) -> Feature<'a, GridProps<'a>> {
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

pub fn collection<'a, P>(features: impl Iterator<Item = Feature<'a, P>>) -> Collection<'a, P> {
    Collection {
        kind: "FeatureCollection",
        crs: None,
        features: features.collect(),
    }
}

/// `collection` saying its CRS (the `crs` member) when it is not WGS84.
fn in_crs<'a, P>(out: Out, collection: Collection<'a, P>) -> Collection<'a, P> {
    Collection {
        crs: crs_member(out),
        ..collection
    }
}

/// Every town as a FeatureCollection, in the output CRS; fails only if a position is outside
/// the output CRS's area of use.
pub fn towns(registry: &Registry, out: Out) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&in_crs(
        out,
        collection(
            registry
                .towns
                .iter()
                .map(|t| town_feature(registry, t, out)),
        ),
    ))
}

/// Every community as a FeatureCollection, in the output CRS.
pub fn communities(registry: &Registry, out: Out) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&in_crs(
        out,
        collection(
            registry
                .communities
                .iter()
                .map(|c| community_feature(registry, c, out)),
        ),
    ))
}

/// Every grid as a FeatureCollection, in the output CRS.
pub fn grids(registry: &Registry, out: Out) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&in_crs(
        out,
        collection(
            registry
                .grids
                .iter()
                .map(|g| grid_feature(registry, g, out)),
        ),
    ))
}

/// An audit finding as a Feature: its geometry (or `null`) and the finding as properties.
#[derive(Serialize)]
pub struct FindingFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: GeometryJson<'a>,
    properties: &'a Finding,
}

/// Audit findings as a FeatureCollection, saying its CRS (the `crs` member) when not WGS84.
#[derive(Serialize)]
pub struct FindingCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crs: Option<serde_json::Value>,
    features: Vec<FindingFeature<'a>>,
}

/// The findings as a FeatureCollection in the output CRS.
pub fn findings<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    out: Out<'a>,
) -> FindingCollection<'a> {
    FindingCollection {
        kind: "FeatureCollection",
        crs: crs_member(out),
        features: findings
            .into_iter()
            .map(|f| FindingFeature {
                kind: "Feature",
                geometry: GeometryJson(f.geometry.as_ref(), out),
                properties: f,
            })
            .collect(),
    }
}
