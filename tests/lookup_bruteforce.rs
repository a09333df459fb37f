//! Lookups against the sample city equal a brute-force scan over every polygon, and points placed
//! exactly on shared edges and vertices resolve to exactly one polygon.

mod common;

use geo::{BoundingRect, Contains, MultiPolygon, Point};
use shequ::geometry::Rings;
use shequ::index::Hit;

/// One level's polygons with their bounding boxes computed once, scanned in full per point.
struct Level<'a>(Vec<Option<(&'a MultiPolygon<f64>, geo::Rect<f64>)>>);

impl<'a> Level<'a> {
    fn new(areas: impl Iterator<Item = Option<&'a MultiPolygon<f64>>>) -> Self {
        Level(
            areas
                .map(|a| a.and_then(|a| Some((a, a.bounding_rect()?))))
                .collect(),
        )
    }

    /// Every polygon whose interior contains `p`, by geo's own point-in-polygon.
    fn containing(&self, p: Point<f64>, level: &str) -> Option<usize> {
        let all: Vec<usize> = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_some_and(|(a, b)| b.contains(&p) && a.contains(&p)))
            .map(|(i, _)| i)
            .collect();
        assert!(all.len() <= 1, "{level} polygons {all:?} all contain {p:?}");
        all.first().copied()
    }
}

fn expected(levels: &[Level; 3], p: Point<f64>) -> Hit {
    Hit {
        town: levels[0].containing(p, "town"),
        community: levels[1].containing(p, "community"),
        grid: levels[2].containing(p, "grid"),
    }
}

#[test]
fn random_points_match_brute_force() {
    let snapshot = common::sample();
    let r = &snapshot.registry;
    let bounds =
        shequ::geometry::union_bounds(r.towns.iter().filter_map(|t| t.area.bounding_rect()));
    let Some(bounds) = bounds else {
        panic!("no towns")
    };
    let levels = [
        Level::new(r.towns.iter().map(|t| Some(&*t.area))),
        Level::new(r.communities.iter().map(|c| c.territory.as_deref())),
        Level::new(r.grids.iter().map(|g| Some(&*g.area))),
    ];
    let mut rng = common::Rng(20261126);
    let (mut inside, mut in_grid) = (0, 0);
    for _ in 0..100_000 {
        let p = Point::new(
            rng.uniform(bounds.min().x - 0.01, bounds.max().x + 0.01),
            rng.uniform(bounds.min().y - 0.01, bounds.max().y + 0.01),
        );
        let want = expected(&levels, p);
        assert_eq!(snapshot.lookup([p.x(), p.y()]), want, "at {p:?}");
        inside += usize::from(want.town.is_some());
        in_grid += usize::from(want.grid.is_some());
    }
    // The sample must exercise both: points in the city and points outside it.
    assert!(
        inside > 30_000 && inside < 100_000,
        "{inside} of 100,000 points inside the city"
    );
    assert!(in_grid > 30_000, "{in_grid} points in grids");
}

#[test]
fn every_shared_vertex_and_edge_point_resolves_to_exactly_one_grid() {
    let snapshot = common::sample();
    let r = &snapshot.registry;
    let rings: Vec<Rings> = r.grids.iter().filter_map(|g| Rings::new(&g.area)).collect();
    assert_eq!(rings.len(), r.grids.len());
    let tree = rstar::RTree::bulk_load(
        r.grids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let b = g.area.bounding_rect()?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [b.min().x, b.min().y],
                        [b.max().x, b.max().y],
                    ),
                    i,
                ))
            })
            .collect(),
    );
    // The documented rule: a boundary point belongs to the polygon just east (and a hair north)
    // of it. geo's own point-in-polygon on the displaced point is the independent answer.
    let displaced_owner = |p: [f64; 2], sign: f64| -> Vec<usize> {
        let q = Point::new(p[0] + sign * 1e-9, p[1] + sign * 1e-12);
        tree.locate_all_at_point(&[q.x(), q.y()])
            .map(|g| g.data)
            .filter(|&g| r.grids[g].area.contains(&q))
            .collect()
    };
    let (mut vertices, mut midpoints) = (0, 0);
    for grid in r.grids.iter().step_by(5) {
        for polygon in grid.area.iter() {
            for line in polygon.exterior().lines() {
                let vertex = [line.start.x, line.start.y];
                let mid = [
                    (line.start.x + line.end.x) / 2.0,
                    (line.start.y + line.end.y) / 2.0,
                ];
                for (p, exact) in [(vertex, true), (mid, false)] {
                    let claims: Vec<usize> = tree
                        .locate_all_at_point(&p)
                        .map(|g| g.data)
                        .filter(|&g| rings[g].contains(p))
                        .collect();
                    let owner = displaced_owner(p, 1.0);
                    assert!(claims.len() <= 1, "grids {claims:?} all claim {p:?}");
                    if exact {
                        // A vertex is exactly on the boundary: the rule decides which grid.
                        assert_eq!(claims, owner, "vertex {p:?} of grid {}", grid.code);
                        vertices += 1;
                    } else {
                        // A computed midpoint may sit a rounding error off its edge; on an edge
                        // between two grids it must still land in exactly one of them.
                        if !owner.is_empty() && !displaced_owner(p, -1.0).is_empty() {
                            assert_eq!(claims.len(), 1, "midpoint {p:?} of grid {}", grid.code);
                            midpoints += 1;
                        }
                    }
                    assert_eq!(
                        snapshot.lookup(p).grid,
                        claims.first().copied(),
                        "index disagrees at {p:?}"
                    );
                }
            }
        }
    }
    assert!(
        vertices > 10_000 && midpoints > 10_000,
        "{vertices} vertices, {midpoints} midpoints checked"
    );
}
