//! Spatial index: point → grid → community → town.
//!
//! One R-tree per level over cached envelopes; the exact test is the half-open point-in-polygon
//! rule of [`crate::geometry::point_in_polygon`], so a point on a shared boundary resolves to
//! exactly one polygon. The grid decides: when a point is in a grid, its community and town are
//! the grid's parents, so the three answers are always consistent. Only where no grid covers the
//! point are communities, then towns, searched directly. If overlapping data lets several polygons
//! of a level contain a point, the one with the smallest code wins.

mod raster;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RStarInsertionStrategy, RTree, RTreeParams};

use crate::geometry::Rings;
use crate::registry::Registry;
use raster::{Cell, Raster};

/// Cells per level's lattice: 4 MiB of memory per level, ~55 m cells over the sample city.
const RASTER_CELLS: usize = 1 << 20;

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

/// Wider nodes than rstar's default (6) make the tree shallower: fewer dependent cache misses
/// per query on a city-sized index.
struct WideNodes;

impl RTreeParams for WideNodes {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// A polygon's cached envelope and its position (slot) in the registry's code-sorted list.
type Envelope = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One level (towns, communities or grids): a lattice that answers most points at once, a
/// compact tree of envelopes for the rest, and the prepared rings looked at only for the
/// envelopes that hold the point.
struct Level {
    raster: Option<Raster>,
    tree: RTree<Envelope, WideNodes>,
    /// Prepared rings by slot; `None` for a community without territory.
    shapes: Vec<Option<Rings>>,
}

impl Level {
    fn new<'a>(areas: impl Iterator<Item = Option<&'a geo::MultiPolygon<f64>>>) -> Self {
        let shapes: Vec<Option<Rings>> = areas.map(|a| a.and_then(Rings::new)).collect();
        let envelopes = shapes
            .iter()
            .enumerate()
            .filter_map(|(slot, shape)| {
                let b = shape.as_ref()?.bounds();
                let rect = Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
                Some(GeomWithData::new(rect, slot as u32))
            })
            .collect::<Vec<_>>();
        let bounds = shapes.iter().flatten().map(Rings::bounds).reduce(|a, b| {
            geo::Rect::new(
                geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        });
        Level {
            raster: bounds.map(|b| Raster::build(&shapes, b, RASTER_CELLS)),
            tree: RTree::bulk_load_with_params(envelopes),
            shapes,
        }
    }

    /// The smallest slot whose polygon contains `p`.
    fn locate(&self, p: [f64; 2]) -> Option<usize> {
        match self.raster.as_ref().map(|r| r.cell(p)) {
            Some(Cell::Inside(slot)) => Some(slot),
            Some(Cell::Empty) | None => None,
            Some(Cell::Mixed) => self.locate_exactly(p),
        }
    }

    /// The tree and point-in-polygon path, for points in cells a boundary crosses. The exact
    /// test is skipped for candidates that could not beat the best found so far.
    fn locate_exactly(&self, p: [f64; 2]) -> Option<usize> {
        let mut best: Option<usize> = None;
        for envelope in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point(p))
        {
            let slot = envelope.data as usize;
            if best.is_none_or(|b| slot < b)
                && self.shapes[slot].as_ref().is_some_and(|s| s.contains(p))
            {
                best = Some(slot);
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
