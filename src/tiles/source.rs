//! Tiles of one registry snapshot: the shared-arc topology built once, which of its vertices
//! each zoom keeps found once, and the rendering of one tile, which assembles the shapes it
//! shows from their arcs at its zoom.

use std::sync::OnceLock;

use geo::{BoundingRect, Coord, MapCoords, MultiPolygon, Rect};
use rayon::prelude::*;

use super::TileError;
use super::clip::clip_and_snap;
use super::encode::{Geometry, TileFeature, Value, encode};
use super::kept::KeptVertices;
use super::labels::label_point;
use super::layers::{LAYERS, LayerSet, Render, TileLayer};
use super::tile_id::{BUFFER, EXTENT, TileId, lon_lat_to_world};
use super::tile_index::TileIndex;
use super::topology::{Carried, Topology};
use crate::audit::Finding;
use crate::registry::{Level, Registry, Touched};

/// Simplification tolerance in tile units: a quarter of a pixel on a 1024-unit display tile —
/// below what a screen shows, well above what the 4096 grid can hold.
pub const TOLERANCE_UNITS: f64 = 4.0;

/// Zooms above this reuse its simplification: at z16 the tolerance is ~2 cm, finer than any
/// source vertex spacing.
pub const MAX_SIMPLIFIED_ZOOM: u8 = 16;

/// Everything a snapshot needs to render its tiles.
pub struct TileSource {
    topology: Topology,
    /// Per level ([`Level::index`]), per registry record, its shape in the topology (`None`: no
    /// territory).
    shape_of: [Vec<Option<usize>>; 3],
    /// Which level each shape belongs to.
    level_of_shape: Vec<Level>,
    /// Per level, per registry record, its label point in world coordinates.
    labels: [Vec<Option<Coord<f64>>>; 3],
    /// Per arc vertex, the first simplified zoom that keeps it, found on first use.
    kept: OnceLock<KeptVertices>,
    /// Shapes cut into arcs again when this source was derived from an older one
    /// ([`TileSource::with_change`]); `None` for a source built whole.
    recut: Option<usize>,
    /// Per level, which records' areas, and which labels, may meet a tile.
    near: Near,
}

/// Bucket grids ([`TileIndex`]) of one registry's areas and label points, per level.
struct Near {
    areas: [TileIndex; 3],
    labels: [TileIndex; 3],
}

impl Near {
    fn new(registry: &Registry, labels: &[Vec<Option<Coord<f64>>>; 3]) -> Self {
        Near {
            areas: Level::ALL.map(|level| TileIndex::of_areas(areas(registry, level).into_iter())),
            labels: Level::ALL
                .map(|level| TileIndex::of_points(labels[level.index()].iter().copied())),
        }
    }
}

/// The areas of the records of `level`, in registry order (`None`: a community without
/// territory).
fn areas(registry: &Registry, level: Level) -> Vec<Option<&MultiPolygon<f64>>> {
    match level {
        Level::Town => registry.towns.iter().map(|t| Some(&*t.area)).collect(),
        Level::Community => registry
            .communities
            .iter()
            .map(|c| c.territory.as_deref())
            .collect(),
        Level::Grid => registry.grids.iter().map(|g| Some(&*g.area)).collect(),
    }
}

/// The code of record `index` of `level`.
fn code(registry: &Registry, level: Level, index: usize) -> Option<&str> {
    match level {
        Level::Town => registry.towns.get(index).map(|t| t.code.as_str()),
        Level::Community => registry.communities.get(index).map(|c| c.code.as_str()),
        Level::Grid => registry.grids.get(index).map(|g| g.code.as_str()),
    }
}

/// The index of the record of `level` with `code`.
fn by_code(registry: &Registry, level: Level, code: &str) -> Option<usize> {
    match level {
        Level::Town => registry.town_by_code(code),
        Level::Community => registry.community_by_code(code),
        Level::Grid => registry.grid_by_code(code),
    }
}

/// The first zoom a layer draws the areas of `level` at (`None`: no layer does).
fn areas_minzoom(level: Level) -> Option<u8> {
    LAYERS
        .iter()
        .filter(|s| s.render == Render::Areas(level))
        .map(|s| s.minzoom)
        .min()
}

/// The shapes of a registry in topology order (towns, communities, grids; registry order
/// within each), with each shape's level and each record's shape.
struct ShapeList<'r> {
    shapes: Vec<&'r MultiPolygon<f64>>,
    level_of_shape: Vec<Level>,
    shape_of: [Vec<Option<usize>>; 3],
}

impl<'r> ShapeList<'r> {
    fn new(registry: &'r Registry) -> Self {
        let mut shapes: Vec<&MultiPolygon<f64>> = Vec::new();
        let mut level_of_shape = Vec::new();
        let shape_of: [Vec<Option<usize>>; 3] = Level::ALL.map(|level| {
            areas(registry, level)
                .into_iter()
                .map(|area| {
                    area.map(|a| {
                        shapes.push(a);
                        level_of_shape.push(level);
                        shapes.len() - 1
                    })
                })
                .collect()
        });
        ShapeList {
            shapes,
            level_of_shape,
            shape_of,
        }
    }
}

/// Douglas–Peucker tolerance at simplified zoom `level`, in world units.
fn tolerance(level: u8) -> f64 {
    TOLERANCE_UNITS / (f64::from(EXTENT) * f64::from(1u32 << level))
}

/// The squared tolerance of every simplified zoom, z0 first (as `simplify_arc` squares it).
fn tolerances2() -> Vec<f64> {
    (0..=MAX_SIMPLIFIED_ZOOM)
        .map(|level| {
            let t = tolerance(level);
            t * t
        })
        .collect()
}

impl TileSource {
    /// Cuts the registry's boundaries into shared arcs and finds the label points.
    pub fn new(registry: &Registry) -> Self {
        let list = ShapeList::new(registry);
        // Label points (an interior point per shape: 30 s at ×100 on one thread) are found on
        // rayon's threads while the topology is built.
        let (topology, labels) = rayon::join(
            || Topology::build(list.shapes.iter().copied()),
            || {
                Level::ALL.map(|level| {
                    list.shape_of[level.index()]
                        .par_iter()
                        .map(|s| label_point(list.shapes[(*s)?]).map(lon_lat_to_world))
                        .collect()
                })
            },
        );
        TileSource {
            topology,
            shape_of: list.shape_of,
            level_of_shape: list.level_of_shape,
            near: Near::new(registry, &labels),
            labels,
            kept: OnceLock::new(),
            recut: None,
        }
    }

    /// The tile source of `after`, which is `before` changed (as `touched` says, when known),
    /// made from `old`, the tile source of `before`: it renders every tile byte for byte as
    /// [`TileSource::new`] of `after` would, but only the shapes the change reached are cut
    /// into arcs and simplified again ([`Topology::with_change`] says which and why); every
    /// other arc keeps the zooms that keep its vertices, every other shape its label. Every
    /// zoom is prepared, so no tile waits (issue 19: a whole build took ≈ 0.5 s and the first
    /// tile after an approval waited for it).
    ///
    /// A shape is carried over when the record of the same level and code in `before` has the
    /// very same geometry; with `touched`, a record it does not name and whose old shape lies
    /// outside its box is taken as unchanged without comparing vertices.
    pub fn with_change(
        old: &TileSource,
        before: &Registry,
        after: &Registry,
        touched: Option<&Touched>,
    ) -> TileSource {
        let list = ShapeList::new(after);
        let changed_box = touched
            .and_then(|t| t.bounds)
            .map(|b| Rect::new(lon_lat_to_world(b.min()), lon_lat_to_world(b.max())));
        let named = |level: Level, code: &str| {
            touched.is_none_or(|t| match level {
                Level::Town => t.towns.contains(code),
                Level::Community => t.communities.contains(code),
                Level::Grid => t.grids.contains(code),
            })
        };
        let before_areas = Level::ALL.map(|level| areas(before, level));
        // Per new record, the old record with the same geometry.
        let same: [Vec<Option<usize>>; 3] = Level::ALL.map(|level| {
            let li = level.index();
            list.shape_of[li]
                .iter()
                .enumerate()
                .map(|(index, shape)| {
                    let area = list.shapes[(*shape)?];
                    let code = code(after, level, index)?;
                    let o = by_code(before, level, code)?;
                    let old_shape = (*old.shape_of[li].get(o)?)?;
                    let outside = !named(level, code)
                        && changed_box.is_some_and(|b| {
                            old.topology
                                .bounds(old_shape)
                                .is_some_and(|s| !overlaps(s, [b.min(), b.max()]))
                        });
                    (outside || (*before_areas[li].get(o)?)? == area).then_some(o)
                })
                .collect()
        });
        let mut carried: Vec<Carried> = list.shapes.iter().map(|&a| Carried::New(a)).collect();
        for level in Level::ALL {
            let li = level.index();
            for (index, o) in same[li].iter().enumerate() {
                let found = o.and_then(|o| old.shape_of[li].get(o).copied().flatten());
                if let (Some(new), Some(old_shape)) = (list.shape_of[li][index], found) {
                    carried[new] = Carried::Same(old_shape, list.shapes[new]);
                }
            }
        }
        let (topology, recut) = old.topology.with_change(&carried);
        let labels = Level::ALL.map(|level| {
            let li = level.index();
            list.shape_of[li]
                .iter()
                .zip(&same[li])
                .map(|(shape, o)| match o {
                    Some(o) => old.labels[li].get(*o).copied().flatten(),
                    None => label_point(list.shapes[(*shape)?]).map(lon_lat_to_world),
                })
                .collect()
        });
        let kept = KeptVertices::carried(
            old.kept(),
            old.topology.arcs(),
            topology.arcs(),
            &tolerances2(),
        );
        TileSource {
            topology,
            shape_of: list.shape_of,
            level_of_shape: list.level_of_shape,
            near: Near::new(after, &labels),
            labels,
            kept: OnceLock::from(kept),
            recut: Some(recut.iter().filter(|&&r| r).count()),
        }
    }

    /// Shapes (towns, communities with territory, grids).
    pub fn shape_count(&self) -> usize {
        self.level_of_shape.len()
    }

    /// How many shapes were cut into arcs again when this source was derived from an older
    /// one; `None` when it was built whole (for logs and tests: a derived source that cut
    /// every shape again saved nothing).
    pub fn recut_shapes(&self) -> Option<usize> {
        self.recut
    }

    /// Number of shared arcs (for reports and tests).
    pub fn arc_count(&self) -> usize {
        self.topology.arc_count()
    }

    /// Which zooms keep each arc vertex, found on first use: every arc simplified once for all
    /// zooms ([`KeptVertices`]).
    fn kept(&self) -> &KeptVertices {
        self.kept.get_or_init(|| {
            let kept = KeptVertices::of(self.topology.arcs(), &tolerances2());
            tracing::debug!("zoom levels of arc vertices: {} bytes", kept.bytes());
            kept
        })
    }

    /// Simplifies every arc for every zoom up front (the server does when it publishes a
    /// snapshot, so that no tile request waits for it).
    pub fn prepare_all_zooms(&self) {
        self.kept();
    }

    /// Shape `shape` as zoom `z` draws it (its arcs' vertices that the zoom's simplification
    /// keeps, in world coordinates) when its bounds there meet `bounds`; `None` when no layer
    /// draws its level at `z`, nothing of it is left, or it is elsewhere. Only a shape whose
    /// whole bounds meet the tile is assembled; the check on the assembled shape's own bounds
    /// is the one the renderer always made.
    fn drawn_shape(
        &self,
        shape: usize,
        z: u8,
        bounds: [Coord<f64>; 2],
    ) -> Option<MultiPolygon<f64>> {
        let level = z.min(MAX_SIMPLIFIED_ZOOM);
        let of_level = *self.level_of_shape.get(shape)?;
        if areas_minzoom(of_level).is_none_or(|z| z > level) {
            return None;
        }
        // The simplified shape's vertices are some of the shape's own: within its bounds.
        if !overlaps(self.topology.bounds(shape)?, bounds) {
            return None;
        }
        let kept = self.kept();
        let area = self.topology.assemble_kept(shape, |a, i| {
            kept.of_arc(a).get(i).is_some_and(|&l| l <= level)
        });
        overlaps(area.bounding_rect()?, bounds).then_some(area)
    }

    /// Renders `layers` of `tile`; `None` for an empty tile. The `findings` layer is empty here:
    /// see [`TileSource::render_with_findings`].
    pub fn render(
        &self,
        registry: &Registry,
        tile: TileId,
        layers: &LayerSet,
    ) -> Result<Option<Vec<u8>>, TileError> {
        self.render_with_findings(registry, tile, layers, &[])
    }

    /// Renders `layers` of `tile`, drawing `findings` (the snapshot's audit) in the `findings`
    /// layer.
    pub fn render_with_findings(
        &self,
        registry: &Registry,
        tile: TileId,
        layers: &LayerSet,
        findings: &[Finding],
    ) -> Result<Option<Vec<u8>>, TileError> {
        self.render_by(registry, tile, layers, findings, &|shape, z, bounds| {
            self.drawn_shape(shape, z, bounds)
        })
    }

    /// Renders `layers` of `tile` with `drawn` giving a shape as a zoom draws it when it meets
    /// a world box (see [`TileSource::drawn_shape`]; tests also pass the whole-shape path).
    fn render_by(
        &self,
        registry: &Registry,
        tile: TileId,
        layers: &LayerSet,
        findings: &[Finding],
        drawn: &Drawn,
    ) -> Result<Option<Vec<u8>>, TileError> {
        let prepared: Vec<(&str, Vec<TileFeature>)> = layers
            .layers()
            .iter()
            .map(|&layer| {
                let features = self.features(registry, tile, layer, findings, drawn);
                (layer.name(), features)
            })
            .collect();
        encode(&prepared)
    }

    /// The features of one layer in one tile, made as [`LAYERS`] says.
    fn features<'r>(
        &self,
        registry: &'r Registry,
        tile: TileId,
        layer: TileLayer,
        findings: &'r [Finding],
        drawn: &Drawn,
    ) -> Vec<TileFeature<'r>> {
        if !layer.shown_at(tile.z) {
            return Vec::new();
        }
        match layer.spec().render {
            Render::Areas(level) => self.area_features(registry, tile, level, drawn),
            Render::Labels => self.label_features(registry, tile),
            Render::Findings => finding_features(tile, findings),
        }
    }

    /// The areas of `level` in one tile.
    fn area_features<'r>(
        &self,
        registry: &'r Registry,
        tile: TileId,
        level: Level,
        drawn: &Drawn,
    ) -> Vec<TileFeature<'r>> {
        let bounds = tile.world_bounds(f64::from(BUFFER));
        let mut out = Vec::new();
        let records = &self.shape_of[level.index()];
        for index in candidates(self.near.areas[level.index()].near(bounds), records.len()) {
            let Some(area) = records
                .get(index)
                .copied()
                .flatten()
                .and_then(|s| drawn(s, tile.z, bounds))
            else {
                continue;
            };
            let polygons = clip_and_snap(&area.map_coords(|c| tile.to_tile(c)));
            if polygons.is_empty() {
                continue;
            }
            out.push(TileFeature {
                id: 0,
                properties: Vec::new(),
                geometry: Geometry::Polygons(polygons),
            });
            describe(registry, level, index, out.last_mut());
        }
        out
    }

    fn label_features<'r>(&self, registry: &'r Registry, tile: TileId) -> Vec<TileFeature<'r>> {
        let e = f64::from(EXTENT);
        let mut out = Vec::new();
        let bounds = tile.world_bounds(1.0);
        let labels = Level::ALL.into_iter().flat_map(|level| {
            let points = &self.labels[level.index()];
            candidates(self.near.labels[level.index()].near(bounds), points.len())
                .filter_map(move |index| Some((level, index, (*points.get(index)?)?)))
        });
        for (level, index, world) in labels {
            if tile.z < label_minzoom(level) {
                continue;
            }
            let p = tile.to_tile(world);
            // Only the tile that owns the point carries it, so a label is never drawn twice.
            if !(0.0..e).contains(&p.x) || !(0.0..e).contains(&p.y) {
                continue;
            }
            let point = [
                (p.x.round() as i32).min(EXTENT as i32 - 1),
                (p.y.round() as i32).min(EXTENT as i32 - 1),
            ];
            out.push(TileFeature {
                id: 0,
                properties: Vec::new(),
                geometry: Geometry::Point(point),
            });
            describe(registry, level, index, out.last_mut());
            if let Some(f) = out.last_mut() {
                f.properties.truncate(2);
                f.properties.push(("level", Value::Str(level.name())));
            }
        }
        out
    }
}

/// A shape (by number) as a zoom draws it, if it meets a world box: see
/// [`TileSource::drawn_shape`].
type Drawn<'a> = dyn Fn(usize, u8, [Coord<f64>; 2]) -> Option<MultiPolygon<f64>> + 'a;

/// The records to look at for a tile: those near it, in order, or all `n` when the tile is
/// too large for the index to help.
fn candidates(near: Option<Vec<usize>>, n: usize) -> Box<dyn Iterator<Item = usize>> {
    match near {
        Some(near) => Box::new(near.into_iter()),
        None => Box::new(0..n),
    }
}

/// Whether a shape's bounds meet a tile's (buffered) world bounds.
fn overlaps(b: Rect<f64>, [min, max]: [Coord<f64>; 2]) -> bool {
    !(b.max().x < min.x || b.min().x > max.x || b.max().y < min.y || b.min().y > max.y)
}

/// Audit findings with geometry, unsimplified (they are small), clipped to the tile.
fn finding_features(tile: TileId, findings: &[Finding]) -> Vec<TileFeature<'_>> {
    let bounds = tile.world_bounds(f64::from(BUFFER));
    let mut out = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(area) = &f.geometry else { continue };
        let world = area.map_coords(lon_lat_to_world);
        let Some(b) = world.bounding_rect() else {
            continue;
        };
        if !overlaps(b, bounds) {
            continue;
        }
        let polygons = clip_and_snap(&world.map_coords(|c| tile.to_tile(c)));
        if polygons.is_empty() {
            continue;
        }
        out.push(TileFeature {
            id: i as u64 + 1,
            properties: vec![
                ("kind", Value::Str(f.kind.as_str())),
                ("severity", Value::Str(f.severity.as_str())),
                (
                    "code",
                    Value::Str(f.codes.first().map_or("", String::as_str)),
                ),
                (
                    "area_m2",
                    Value::UInt(f.area_m2.unwrap_or(0.0).round() as u64),
                ),
                ("message", Value::Str(&f.message)),
            ],
            geometry: Geometry::Polygons(polygons),
        });
    }
    out
}

/// Zoom from which labels of a level appear: a level's labels come a few zooms after its
/// polygons, when there is room to read them.
fn label_minzoom(level: Level) -> u8 {
    match level {
        Level::Town => 0,
        Level::Community => 11,
        Level::Grid => 14,
    }
}

/// Feature id: the record's numeric code, stable across snapshots and unique across levels
/// (codes of different levels have different lengths).
fn code_id(code: &str) -> u64 {
    code.parse().unwrap_or(0)
}

/// Fills in the id and properties of the registry record `index` of `level`: code and name
/// first (labels keep only those two), then parent codes, kind and counts.
fn describe<'r>(
    registry: &'r Registry,
    level: Level,
    index: usize,
    feature: Option<&mut TileFeature<'r>>,
) {
    let Some(f) = feature else { return };
    let p = &mut f.properties;
    let counts = match level {
        Level::Town => {
            let Some(t) = registry.towns.get(index) else {
                return;
            };
            f.id = code_id(&t.code);
            p.push(("code", Value::Str(&t.code)));
            p.push(("name", Value::Str(&t.name)));
            t.communities
                .iter()
                .filter_map(|&c| registry.communities.get(c))
                .map(|c| c.counts)
                .fold(Default::default(), |a, b| a + b)
        }
        Level::Community => {
            let Some(c) = registry.communities.get(index) else {
                return;
            };
            f.id = code_id(&c.code);
            p.push(("code", Value::Str(&c.code)));
            p.push(("name", Value::Str(&c.name)));
            if let Some(t) = registry.towns.get(c.town) {
                p.push(("town_code", Value::Str(&t.code)));
            }
            p.push(("kind", Value::Str(c.kind.as_str())));
            c.counts
        }
        Level::Grid => {
            let Some(g) = registry.grids.get(index) else {
                return;
            };
            f.id = code_id(&g.code);
            p.push(("code", Value::Str(&g.code)));
            p.push(("name", Value::Str(&g.name)));
            if let Some(c) = registry.communities.get(g.community) {
                if let Some(t) = registry.towns.get(c.town) {
                    p.push(("town_code", Value::Str(&t.code)));
                }
                p.push(("community_code", Value::Str(&c.code)));
            }
            g.counts
        }
    };
    p.push(("households", Value::UInt(counts.households)));
    p.push(("population", Value::UInt(counts.population)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::simplify::simplify_arc;
    use crate::tiles::style::city_bounds;

    /// Per simplified zoom, per shape, the shape as the renderer drew it before issue 20: every
    /// arc simplified apart at that zoom's tolerance, every shape of a layer shown there
    /// assembled whole from them, with its bounds (`None`: not drawn, or nothing left).
    type WholeZooms = Vec<Vec<Option<(MultiPolygon<f64>, Rect<f64>)>>>;

    fn whole_zooms(source: &TileSource) -> WholeZooms {
        (0..=MAX_SIMPLIFIED_ZOOM)
            .map(|level| {
                let arcs: Vec<Vec<Coord<f64>>> = source
                    .topology
                    .arcs()
                    .par_iter()
                    .map(|a| simplify_arc(a, tolerance(level)))
                    .collect();
                (0..source.level_of_shape.len())
                    .into_par_iter()
                    .map(|s| {
                        if areas_minzoom(source.level_of_shape[s]).is_none_or(|z| z > level) {
                            return None;
                        }
                        let area = source
                            .topology
                            .assemble(s, |a| arcs.get(a as usize).map_or(&[][..], Vec::as_slice));
                        let bounds = area.bounding_rect()?;
                        Some((area, bounds))
                    })
                    .collect()
            })
            .collect()
    }

    /// A tile as the whole-shape path made it.
    fn render_whole(
        source: &TileSource,
        registry: &Registry,
        tile: TileId,
        layers: &LayerSet,
        zooms: &WholeZooms,
    ) -> Option<Vec<u8>> {
        let drawn = |s: usize, z: u8, bounds: [Coord<f64>; 2]| {
            let (area, b) = zooms[usize::from(z.min(MAX_SIMPLIFIED_ZOOM))]
                .get(s)?
                .as_ref()?;
            overlaps(*b, bounds).then(|| area.clone())
        };
        match source.render_by(registry, tile, layers, &[], &drawn) {
            Ok(bytes) => bytes,
            Err(e) => panic!("{tile:?}: {e}"),
        }
    }

    /// Every tile of the sample city at z0–z14, and about 300 spread over each of z15–z17,
    /// rendered from the arcs' kept vertices and by the whole-shape path: the same bytes.
    #[test]
    fn tiles_from_kept_vertices_are_the_whole_shape_tiles_byte_for_byte() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries");
        let snapshot = match crate::Snapshot::load(&dir) {
            Ok(s) => s,
            Err(e) => panic!("the sample city must load: {e}"),
        };
        let registry = &snapshot.registry;
        let source = TileSource::new(registry);
        let zooms = whole_zooms(&source);
        let layers = match LayerSet::parse("towns,communities,grids,labels") {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let [w, s, e, n] = city_bounds(registry);
        let (mut compared, mut drawn) = (0, 0);
        for z in 0..=17u8 {
            let nw = TileId::containing(Coord { x: w, y: n }, z);
            let se = TileId::containing(Coord { x: e, y: s }, z);
            let all: Vec<TileId> = (nw.x..=se.x)
                .flat_map(|x| (nw.y..=se.y).map(move |y| TileId { z, x, y }))
                .collect();
            let step = if z <= 14 { 1 } else { all.len() / 300 + 1 };
            for &tile in all.iter().step_by(step) {
                let new = match source.render(registry, tile, &layers) {
                    Ok(bytes) => bytes,
                    Err(e) => panic!("{tile:?}: {e}"),
                };
                let old = render_whole(&source, registry, tile, &layers, &zooms);
                assert!(new == old, "tile {tile:?} differs");
                compared += 1;
                drawn += usize::from(new.is_some());
            }
        }
        assert!(drawn > 900, "{drawn} of {compared} tiles drawn");
        eprintln!("{drawn} of {compared} tiles drawn, all the same bytes");
    }
}
