//! Tile helpers shared by the tile tests: Web Mercator written out again (the tests do not trust
//! the code under test), a second decoder (`mvt-reader`), and the gap-free check: the decoded
//! children of a parent, over every tile covering it, union to the decoded parent outline.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use geo::{Area, BooleanOps, BoundingRect, Coord, Geometry, MultiPolygon};
use mvt_reader::Reader;
use mvt_reader::feature::{Feature, Value};
use shequ::Snapshot;
use shequ::registry::Level;
use shequ::tiles::{LayerSet, TileId, TileSource};

/// Web Mercator written out again here, so the tests do not trust the code under test.
pub fn tile_units(lon_lat: Coord<f64>, z: u8, x: u32, y: u32) -> Coord<f64> {
    let n = f64::from(1u32 << z);
    let lat = lon_lat.y.to_radians();
    let wx = (lon_lat.x + 180.0) / 360.0;
    let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    Coord {
        x: (wx * n - f64::from(x)) * 4096.0,
        y: (wy * n - f64::from(y)) * 4096.0,
    }
}

pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let c = tile_units(Coord { x: lon, y: lat }, z, 0, 0);
    ((c.x / 4096.0).floor() as u32, (c.y / 4096.0).floor() as u32)
}

pub type Decoded = BTreeMap<String, Vec<Feature<f64>>>;

pub fn decode(bytes: &[u8]) -> Decoded {
    let reader = Reader::new(bytes.to_vec()).expect("a second decoder reads the tile");
    let names = reader.get_layer_names().expect("layer names");
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, reader.get_features_as::<f64>(i).expect("features")))
        .collect()
}

pub fn render(
    snapshot: &Snapshot,
    source: &TileSource,
    layers: &str,
    z: u8,
    x: u32,
    y: u32,
) -> Decoded {
    let id = TileId::new(u32::from(z), x, y).expect("tile in range");
    let layers = LayerSet::parse(layers).expect("known layers");
    match source
        .render(&snapshot.registry, id, &layers)
        .expect("renders")
    {
        Some(bytes) => decode(&bytes),
        None => Decoded::new(),
    }
}

pub fn prop<'a>(f: &'a Feature<f64>, key: &str) -> Option<&'a Value> {
    f.properties.as_ref()?.get(key)
}

pub fn prop_str<'a>(f: &'a Feature<f64>, key: &str) -> &'a str {
    match prop(f, key) {
        Some(Value::String(s)) => s,
        other => panic!("property {key} should be a string, is {other:?}"),
    }
}

pub fn polygons(f: &Feature<f64>) -> MultiPolygon<f64> {
    match &f.geometry {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        other => panic!("expected a polygon, got {other:?}"),
    }
}

/// How the decoded children of one parent cover its decoded outline, tile units² summed over the
/// tiles (each clipped to the tile proper: buffers overlap with the neighbouring tiles).
#[derive(Debug, Default)]
pub struct Coverage {
    pub parent: f64,
    pub overlap: f64,
    pub gap: f64,
    pub outside: f64,
}

impl Coverage {
    /// Overlaps, gaps and children outside the parent each below `percent` of its area.
    pub fn assert_within(&self, percent: f64, what: &str) {
        let share = |a: f64| a / self.parent * 100.0;
        assert!(
            share(self.overlap) < percent,
            "{what}: overlaps {:.3}%",
            share(self.overlap)
        );
        assert!(
            share(self.gap) < percent,
            "{what}: gaps {:.3}%",
            share(self.gap)
        );
        assert!(
            share(self.outside) < percent,
            "{what}: outside {:.3}%",
            share(self.outside)
        );
    }
}

/// The gap-free check at zoom `z`: the children (communities of a town, grids of a community)
/// of the `level` feature `code`, decoded from every tile covering it, against its outline.
pub fn reassembly(
    snapshot: &Snapshot,
    source: &TileSource,
    level: Level,
    code: &str,
    z: u8,
) -> Coverage {
    let registry = &snapshot.registry;
    let (area, child, key) = match level {
        Level::Town => (
            &*registry.towns[registry.town_by_code(code).expect("town")].area,
            "communities",
            "town_code",
        ),
        Level::Community => (
            registry.communities[registry.community_by_code(code).expect("community")]
                .territory
                .as_deref()
                .expect("territory"),
            "grids",
            "community_code",
        ),
        Level::Grid => panic!("grids have no children"),
    };
    let layers = format!("{},{child}", level.collection());
    let rect = area.bounding_rect().expect("bounds");
    let (x0, y0) = tile_of(rect.min().x, rect.max().y, z);
    let (x1, y1) = tile_of(rect.max().x, rect.min().y, z);
    let square = MultiPolygon(vec![
        geo::Rect::new(
            Coord { x: 0.0, y: 0.0 },
            Coord {
                x: 4096.0,
                y: 4096.0,
            },
        )
        .to_polygon(),
    ]);
    let mut c = Coverage::default();
    for x in x0..=x1 {
        for y in y0..=y1 {
            let tile = render(snapshot, source, &layers, z, x, y);
            let outline = tile
                .get(level.collection())
                .into_iter()
                .flatten()
                .filter(|f| prop_str(f, "code") == code)
                .map(polygons)
                .fold(MultiPolygon(vec![]), |a, b| a.union(&b))
                .intersection(&square);
            let parts: Vec<MultiPolygon<f64>> = tile
                .get(child)
                .into_iter()
                .flatten()
                .filter(|f| prop_str(f, key) == code)
                .map(|f| polygons(f).intersection(&square))
                .collect();
            let sum: f64 = parts.iter().map(|p| p.unsigned_area()).sum();
            let union = parts.iter().fold(MultiPolygon(vec![]), |a, b| a.union(b));
            c.parent += outline.unsigned_area();
            c.overlap += sum - union.unsigned_area();
            c.gap += outline.difference(&union).unsigned_area();
            c.outside += union.difference(&outline).unsigned_area();
        }
    }
    c
}
