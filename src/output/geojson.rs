//! The registry as GeoJSON (RFC 7946): features of towns, communities and grids, collections
//! of them and of audit findings, in WGS84 or another output CRS. Written straight from the
//! registry (no intermediate `serde_json::Value`), so a whole layer serialises quickly.

use geo::MultiPolygon;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::audit::Finding;
use crate::crs::Crs;
use crate::registry::{Community, Counts, Grid, Level, Registry, Town};

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
        Some(&*t.area),
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
        c.territory.as_deref(),
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
        Some(&*g.area),
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

/// The end of a collection's bytes, after its last feature.
pub const COLLECTION_TAIL: &[u8] = b"]}";

/// Features in a layer's whole collection.
pub fn layer_len(registry: &Registry, level: Level) -> usize {
    match level {
        Level::Town => registry.towns.len(),
        Level::Community => registry.communities.len(),
        Level::Grid => registry.grids.len(),
    }
}

/// The bytes of a whole collection in `out` before its first feature (`{"type":…,"features":[`).
///
/// Written by serialising the same [`Collection`] with no features and cutting off its
/// [`COLLECTION_TAIL`], so that a layer written a chunk at a time ([`write_features`]) is, byte
/// for byte, what [`towns`], [`communities`] and [`grids`] write at once.
pub fn collection_head(out: Out) -> Vec<u8> {
    let empty: Collection<'_, ()> = in_crs(out, collection(std::iter::empty()));
    // Plain strings and a `crs` member of strings: serialising cannot fail.
    let mut bytes = serde_json::to_vec(&empty).unwrap_or_default();
    debug_assert!(bytes.ends_with(COLLECTION_TAIL));
    bytes.truncate(bytes.len().saturating_sub(COLLECTION_TAIL.len()));
    bytes
}

/// Feature `i` of `level`, serialised into `w`.
fn write_feature(
    w: impl std::io::Write,
    registry: &Registry,
    level: Level,
    i: usize,
    out: Out,
) -> serde_json::Result<()> {
    match level {
        Level::Town => serde_json::to_writer(w, &town_feature(registry, &registry.towns[i], out)),
        Level::Community => serde_json::to_writer(
            w,
            &community_feature(registry, &registry.communities[i], out),
        ),
        Level::Grid => serde_json::to_writer(w, &grid_feature(registry, &registry.grids[i], out)),
    }
}

/// Feature `i` of `level` as a `serde_json::Value`: what parsing its serialisation gives,
/// without the text. A download's table is built from these one at a time.
pub fn feature_value(
    registry: &Registry,
    level: Level,
    i: usize,
    out: Out,
) -> serde_json::Result<serde_json::Value> {
    match level {
        Level::Town => serde_json::to_value(town_feature(registry, &registry.towns[i], out)),
        Level::Community => {
            serde_json::to_value(community_feature(registry, &registry.communities[i], out))
        }
        Level::Grid => serde_json::to_value(grid_feature(registry, &registry.grids[i], out)),
    }
}

/// Appends the features of `level` from index `from` on to `buf`, as they stand in the whole
/// collection (a comma before each but the first of the layer), until `buf` holds at least
/// `budget` bytes or the layer ends; returns the index of the next feature to write. At least
/// one feature is written when any is left, so a writer that calls it again always progresses.
/// Fails only if a position is outside the output CRS's area of use.
pub fn write_features(
    buf: &mut Vec<u8>,
    registry: &Registry,
    level: Level,
    out: Out,
    from: usize,
    budget: usize,
) -> serde_json::Result<usize> {
    let len = layer_len(registry, level);
    let mut i = from;
    while i < len {
        if i > 0 {
            buf.push(b',');
        }
        write_feature(&mut *buf, registry, level, i, out)?;
        i += 1;
        if buf.len() >= budget {
            break;
        }
    }
    Ok(i)
}

/// Whether every position of `level` converts to `out`: the error the whole rendering would
/// fail with (the first position outside the CRS's area of use, in the rendering's order),
/// found by rendering each feature into nothing. Lets a streamed collection refuse a CRS
/// before its first byte is sent rather than break off in the middle.
pub fn check_layer(registry: &Registry, level: Level, out: Out) -> serde_json::Result<()> {
    (0..layer_len(registry, level))
        .try_for_each(|i| write_feature(std::io::sink(), registry, level, i, out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Snapshot;

    fn mini() -> Snapshot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini");
        match Snapshot::load(&dir) {
            Ok(s) => s,
            Err(e) => panic!("the mini city must load: {e}"),
        }
    }

    /// The whole collection as `serde_json::to_vec` writes it at once (the reference).
    fn whole(r: &Registry, level: Level, out: Out) -> serde_json::Result<Vec<u8>> {
        match level {
            Level::Town => towns(r, out),
            Level::Community => communities(r, out),
            Level::Grid => grids(r, out),
        }
    }

    /// The collection written head, chunks of at least `budget` bytes, tail; and the chunks'
    /// sizes in features.
    fn chunked(
        r: &Registry,
        level: Level,
        out: Out,
        budget: usize,
    ) -> serde_json::Result<(Vec<u8>, Vec<usize>)> {
        let mut bytes = collection_head(out);
        let mut sizes = Vec::new();
        let mut next = 0;
        while next < layer_len(r, level) {
            let mut chunk = Vec::new();
            let after = write_features(&mut chunk, r, level, out, next, budget)?;
            sizes.push(after - next);
            next = after;
            bytes.extend_from_slice(&chunk);
        }
        bytes.extend_from_slice(COLLECTION_TAIL);
        Ok((bytes, sizes))
    }

    fn projected() -> Crs {
        match "EPSG:4547".parse() {
            Ok(c) => c,
            Err(e) => panic!("EPSG:4547: {e}"),
        }
    }

    #[test]
    fn a_layer_written_in_chunks_is_the_whole_collection_byte_for_byte() {
        let city = mini();
        let r = &city.registry;
        let crs = projected();
        // Towns: one feature; communities: 3; grids: 4 (split 1+1+1+1, 2+2 or 3+1, whole).
        for level in Level::ALL {
            for out in [None, Some(&crs)] {
                let Ok(reference) = whole(r, level, out) else {
                    panic!("{level:?} renders whole");
                };
                let mut first = Vec::new();
                if let Err(e) = write_feature(&mut first, r, level, 0, out) {
                    panic!("{level:?}'s first feature: {e}");
                }
                let one_feature = first.len();
                let mut splits = Vec::new();
                for budget in [0, 1, one_feature + 1, 2 * one_feature + 1, usize::MAX] {
                    let Ok((bytes, sizes)) = chunked(r, level, out, budget) else {
                        panic!("{level:?} renders in chunks");
                    };
                    assert_eq!(
                        String::from_utf8_lossy(&bytes),
                        String::from_utf8_lossy(&reference),
                        "{level:?} {out:?} budget {budget}"
                    );
                    assert_eq!(sizes.iter().sum::<usize>(), layer_len(r, level));
                    splits.push(sizes);
                }
                // Budgets 0 and 1: a feature a chunk; unbounded: one chunk.
                assert!(splits[0].iter().all(|&n| n == 1), "{splits:?}");
                assert_eq!(splits[4].len(), 1, "{splits:?}");
            }
        }
        // The grids do split unevenly: a chunk of more than one feature and one of fewer.
        let Ok((_, sizes)) = chunked(r, Level::Grid, None, 1000) else {
            panic!("grids render in chunks");
        };
        assert!(sizes.len() > 1 && sizes.iter().any(|&n| n > 1), "{sizes:?}");
    }

    #[test]
    fn empty_and_one_feature_layers_are_whole_collections() {
        let crs = projected();
        for keep in [0, 1] {
            let mut city = mini();
            city.registry.towns.truncate(keep);
            city.registry.communities.truncate(keep);
            city.registry.grids.truncate(keep);
            let r = &city.registry;
            // The towns' counts add their communities' and refer to them by index: render each
            // layer of the truncated registry on its own.
            for level in Level::ALL {
                if level == Level::Town && keep == 1 {
                    continue; // its community indices now point past the end
                }
                for out in [None, Some(&crs)] {
                    let (Ok(reference), Ok((bytes, sizes))) =
                        (whole(r, level, out), chunked(r, level, out, 0))
                    else {
                        panic!("{level:?} renders");
                    };
                    assert_eq!(bytes, reference, "{level:?} {keep}");
                    assert_eq!(sizes.len(), keep);
                }
            }
        }
        let empty = collection_head(None);
        assert_eq!(empty, br#"{"type":"FeatureCollection","features":["#);
    }

    #[test]
    fn the_check_fails_as_the_whole_rendering_does() {
        let city = mini();
        let r = &city.registry;
        let far: Crs = match "EPSG:4549".parse() {
            Ok(c) => c,
            Err(e) => panic!("EPSG:4549: {e}"),
        };
        let near = projected();
        for level in Level::ALL {
            assert!(check_layer(r, level, Some(&near)).is_ok());
            assert!(check_layer(r, level, None).is_ok());
            let (Err(whole_error), Err(checked)) = (
                whole(r, level, Some(&far)),
                check_layer(r, level, Some(&far)),
            ) else {
                panic!("{level:?} is outside EPSG:4549");
            };
            assert_eq!(checked.to_string(), whole_error.to_string());
            assert!(checked.to_string().contains("outside the area of use"));
        }
    }
}
