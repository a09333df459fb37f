//! Spatial index: point → grid → community → town.
//!
//! One R-tree per level over cached envelopes; the exact test is the half-open point-in-polygon
//! rule of [`crate::geometry::point_in_polygon`], so a point on a shared boundary resolves to
//! exactly one polygon. The grid decides: when a point is in a grid, its community and town are
//! the grid's parents, so the three answers are always consistent. Only where no grid covers the
//! point are communities, then towns, searched directly. If overlapping data lets several polygons
//! of a level contain a point, the one with the smallest code wins.

mod shape;

use rstar::primitives::CachedEnvelope;
use rstar::{AABB, PointDistance, RTree};

use crate::registry::Registry;
use shape::Shape;

/// Where a point falls, as indices into the registry the index was built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hit {
    pub town: Option<usize>,
    pub community: Option<usize>,
    pub grid: Option<usize>,
}

/// The spatial index of one registry snapshot.
pub struct SpatialIndex {
    towns: Level,
    communities: Level,
    grids: Level,
    grid_community: Vec<usize>,
    community_town: Vec<usize>,
}

struct Level(RTree<CachedEnvelope<Shape>>);

impl Level {
    fn new<'a>(areas: impl Iterator<Item = Option<&'a geo::MultiPolygon<f64>>>) -> Self {
        let shapes = areas
            .enumerate()
            .filter_map(|(slot, area)| Shape::new(slot, area?))
            .map(CachedEnvelope::new)
            .collect();
        Level(RTree::bulk_load(shapes))
    }

    /// The smallest slot whose polygon contains `p`. Candidates come from the envelopes; the
    /// exact test is skipped for any that could not beat the best found so far.
    fn locate(&self, p: [f64; 2]) -> Option<usize> {
        let mut best: Option<usize> = None;
        for shape in self.0.locate_in_envelope_intersecting(&AABB::from_point(p)) {
            if best.is_none_or(|b| shape.slot < b) && shape.contains_point(&p) {
                best = Some(shape.slot);
            }
        }
        best
    }
}

impl SpatialIndex {
    pub fn new(registry: &Registry) -> Self {
        SpatialIndex {
            towns: Level::new(registry.towns.iter().map(|t| Some(&t.area))),
            communities: Level::new(registry.communities.iter().map(|c| c.territory.as_ref())),
            grids: Level::new(registry.grids.iter().map(|g| Some(&g.area))),
            grid_community: registry.grids.iter().map(|g| g.community).collect(),
            community_town: registry.communities.iter().map(|c| c.town).collect(),
        }
    }

    /// Resolves a WGS84 `[lon, lat]` point.
    pub fn lookup(&self, p: [f64; 2]) -> Hit {
        if let Some(grid) = self.grids.locate(p) {
            let community = self.grid_community[grid];
            return Hit {
                town: Some(self.community_town[community]),
                community: Some(community),
                grid: Some(grid),
            };
        }
        if let Some(community) = self.communities.locate(p) {
            return Hit {
                town: Some(self.community_town[community]),
                community: Some(community),
                grid: None,
            };
        }
        Hit {
            town: self.towns.locate(p),
            community: None,
            grid: None,
        }
    }
}
