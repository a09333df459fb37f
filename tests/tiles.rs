//! Vector tiles, checked through a second decoder (`mvt-reader`, not the `mvt` crate that encodes)
//! against independently projected source geometry and hand-computed values.

mod common;

use common::tiles::{polygons, prop, prop_str, reassembly, render, tile_of, tile_units};
use geo::{
    Area, BoundingRect, Contains, Coord, Distance, Euclidean, Geometry, LineString, MapCoords,
    Point, Polygon, Validation,
};
use mvt_reader::feature::{Feature, Value};
use shequ::registry::Level;
use shequ::tiles::{LayerSet, TileId, TileSource};

/// Twice the signed shoelace area, computed on the raw (y-down) tile coordinates as MVT defines.
fn shoelace(ring: &LineString<f64>) -> f64 {
    ring.lines()
        .map(|l| l.start.x * l.end.y - l.end.x * l.start.y)
        .sum()
}

/// Checks every polygon of a decoded layer: valid, exterior positive, holes negative.
fn assert_well_formed(layer: &[Feature<f64>]) {
    for f in layer {
        for p in polygons(f).iter() {
            assert!(p.is_valid(), "feature {:?} has an invalid polygon", f.id);
            assert!(
                shoelace(p.exterior()) > 0.0,
                "exterior of {:?} not positive",
                f.id
            );
            for hole in p.interiors() {
                assert!(shoelace(hole) < 0.0, "hole of {:?} not negative", f.id);
            }
            assert!(
                p.exterior().0.windows(2).all(|w| w[0] != w[1]),
                "repeated point in {:?}",
                f.id
            );
        }
    }
}

#[test]
fn mini_city_tile_has_hand_computable_features() {
    let snapshot = common::load(&common::mini_dir());
    let source = TileSource::new(&snapshot.registry);
    let z = 13;
    let (x, y) = tile_of(113.01, 22.01, z);
    let tile = render(
        &snapshot,
        &source,
        "towns,communities,grids,labels",
        z,
        x,
        y,
    );
    let names: Vec<&str> = tile.keys().map(String::as_str).collect();
    assert_eq!(names, ["communities", "grids", "labels", "towns"]);

    let towns = &tile["towns"];
    assert_eq!(towns.len(), 1);
    assert_eq!(towns[0].id, Some(442_000_901));
    assert_eq!(prop_str(&towns[0], "code"), "442000901");
    // The town square, projected independently: its decoded area matches within the rounding
    // of one unit along the perimeter.
    let corners = [
        (113.0, 22.0),
        (113.02, 22.0),
        (113.02, 22.02),
        (113.0, 22.02),
    ]
    .map(|(lon, lat)| tile_units(Coord { x: lon, y: lat }, z, x, y));
    let expected = Polygon::new(LineString::from(corners.to_vec()), vec![]);
    let town_area = polygons(&towns[0]).unsigned_area();
    let perimeter = 2.0 * ((corners[1].x - corners[0].x) + (corners[0].y - corners[3].y));
    assert!(
        (town_area - expected.unsigned_area()).abs() <= perimeter,
        "{town_area} vs {}",
        expected.unsigned_area()
    );

    let communities = &tile["communities"];
    let mut codes: Vec<&str> = communities.iter().map(|f| prop_str(f, "code")).collect();
    codes.sort();
    // The third community has no territory, so no polygon.
    assert_eq!(codes, ["442000901001", "442000901002"]);
    for f in communities {
        assert_eq!(prop_str(f, "town_code"), "442000901");
        assert_eq!(
            f.id.map(|id| id.to_string()).as_deref(),
            Some(prop_str(f, "code"))
        );
    }
    let west = communities
        .iter()
        .find(|f| prop_str(f, "code") == "442000901001");
    let west = west.expect("west community");
    assert_eq!(prop_str(west, "name"), "西社区");
    assert_eq!(prop_str(west, "kind"), "community");
    assert_eq!(prop(west, "households"), Some(&Value::UInt(500)));
    assert_eq!(prop(west, "population"), Some(&Value::UInt(1400)));
    // Halves of the town: each within a unit-wide strip of half the town's area.
    for f in communities {
        let a = polygons(f).unsigned_area();
        assert!(
            (a - town_area / 2.0).abs() <= perimeter,
            "{a} vs {}",
            town_area / 2.0
        );
    }

    let grids = &tile["grids"];
    assert_eq!(grids.len(), 4);
    for g in grids {
        let code = prop_str(g, "code");
        assert_eq!(prop_str(g, "community_code"), &code[..12]);
        assert_eq!(prop_str(g, "town_code"), &code[..9]);
    }
    assert_well_formed(towns);
    assert_well_formed(communities);
    assert_well_formed(grids);
}

#[test]
fn labels_lie_inside_their_polygons() {
    let snapshot = common::sample();
    let source = TileSource::new(&snapshot.registry);
    let registry = &snapshot.registry;
    // The smallest town keeps the number of z14 tiles down.
    let town = registry
        .towns
        .iter()
        .min_by(|a, b| a.area.unsigned_area().total_cmp(&b.area.unsigned_area()))
        .expect("towns");
    let rect = town.area.bounding_rect().expect("town has bounds");
    let z = 14;
    let (x0, y0) = tile_of(rect.min().x, rect.max().y, z);
    let (x1, y1) = tile_of(rect.max().x, rect.min().y, z);
    let mut seen = 0;
    for x in x0..=x1 {
        for y in y0..=y1 {
            let tile = render(snapshot, &source, "labels", z, x, y);
            for f in tile.get("labels").into_iter().flatten() {
                let p = match &f.geometry {
                    Geometry::Point(p) => *p,
                    Geometry::MultiPoint(mp) if mp.0.len() == 1 => mp.0[0],
                    other => panic!("labels are single points, not {other:?}"),
                };
                let code = prop_str(f, "code");
                let area = match prop_str(f, "level") {
                    "town" => registry.towns[registry.town_by_code(code).expect("town")]
                        .area
                        .clone(),
                    "community" => registry.communities
                        [registry.community_by_code(code).expect("community")]
                    .territory
                    .clone()
                    .expect("labelled communities have territory"),
                    _ => registry.grids[registry.grid_by_code(code).expect("grid")]
                        .area
                        .clone(),
                };
                let local = area.map_coords(|c| tile_units(c, z, x, y));
                // Inside, or within the half unit that rounding may move a point.
                let inside = local.contains(&p)
                    || Euclidean.distance(&p, &local) <= std::f64::consts::FRAC_1_SQRT_2;
                assert!(inside, "label of {code} at {p:?} is outside");
                seen += 1;
            }
        }
    }
    assert!(seen > town.communities.len(), "only {seen} labels");
}

/// Every decoded vertex lies within one tile unit of the source boundary or on the clip edge.
#[test]
fn sample_tiles_are_valid_and_close_to_the_source() {
    let snapshot = common::sample();
    let source = TileSource::new(&snapshot.registry);
    let registry = &snapshot.registry;
    let town = &registry.towns[3];
    let rect = town.area.bounding_rect().expect("town has bounds");
    let centre = rect.center();
    for z in [8u8, 12, 15] {
        let (x, y) = tile_of(centre.x, centre.y, z);
        let tile = render(snapshot, &source, "towns,communities,grids", z, x, y);
        assert!(!tile.is_empty());
        for (layer, features) in &tile {
            assert_well_formed(features);
            for f in features {
                let code = prop_str(f, "code");
                assert_eq!(f.id.map(|i| i.to_string()).as_deref(), Some(code));
                let area = match layer.as_str() {
                    "towns" => &registry.towns[registry.town_by_code(code).expect("town")].area,
                    "communities" => registry.communities
                        [registry.community_by_code(code).expect("community")]
                    .territory
                    .as_deref()
                    .expect("territory"),
                    _ => &registry.grids[registry.grid_by_code(code).expect("grid")].area,
                };
                let local = area.map_coords(|c| tile_units(c, z, x, y));
                let rings: Vec<LineString<f64>> = local
                    .iter()
                    .flat_map(|p| {
                        std::iter::once(p.exterior().clone()).chain(p.interiors().to_vec())
                    })
                    .collect();
                for v in polygons(f).iter().flat_map(|p| p.exterior().0.clone()) {
                    let on_edge = [v.x, v.y].iter().any(|&c| c == -64.0 || c == 4160.0);
                    let d = rings
                        .iter()
                        .map(|r| Euclidean.distance(&Point(v), r))
                        .fold(f64::INFINITY, f64::min);
                    assert!(
                        on_edge || d <= 1.0,
                        "{layer} {code} z{z}: vertex {v:?} is {d} away"
                    );
                }
            }
        }
    }
}

/// The decoded communities of one town, over every tile covering it, union to the decoded town
/// outline: overlaps and gaps each below 0.5% of the town's area.
#[test]
fn communities_reassemble_into_their_town_at_z8_z11_z14() {
    let snapshot = common::sample();
    let source = TileSource::new(&snapshot.registry);
    let town = &snapshot.registry.towns[5];
    for z in [8u8, 11, 14] {
        let c = reassembly(snapshot, &source, Level::Town, &town.code, z);
        assert!(c.parent > 0.0, "z{z}: town not found");
        c.assert_within(0.5, &format!("z{z}"));
    }
}

/// Every z0–z8 tile of the sample city, all layers together, stays within 100 KB uncompressed.
#[test]
fn low_zoom_tiles_stay_small() {
    let snapshot = common::sample();
    let source = TileSource::new(&snapshot.registry);
    let registry = &snapshot.registry;
    // The city bounds come from the code under test, but only choose which tiles to look at.
    let [west, south, east, north] = shequ::tiles::style::city_bounds(registry);
    let layers = LayerSet::parse("towns,communities,grids,labels").expect("layers");
    let mut largest = 0;
    for z in 0..=8u8 {
        let (x0, y0) = tile_of(west, north, z);
        let (x1, y1) = tile_of(east, south, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let id = TileId::new(u32::from(z), x, y).expect("in range");
                let bytes = source.render(registry, id, &layers).expect("renders");
                largest = largest.max(bytes.map_or(0, |b| b.len()));
            }
        }
    }
    assert!(largest > 1000, "suspiciously small: {largest}");
    assert!(
        largest <= 100 * 1024,
        "largest z0–z8 tile is {largest} bytes"
    );
}
