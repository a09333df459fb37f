//! Spatial index: point → grid → community → town.
//!
//! One R-tree per level over cached envelopes; the exact test is the half-open point-in-polygon
//! rule of [`crate::geometry::point_in_polygon`], so a point on a shared boundary resolves to
//! exactly one polygon. The grid decides: when a point is in a grid, its community and town are
//! the grid's parents, so the three answers are always consistent. Only where no grid covers the
//! point are communities, then towns, searched directly. If overlapping data lets several polygons
//! of a level contain a point, the one with the smallest code wins.

mod change;
mod lattice;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RStarInsertionStrategy, RTree, RTreeParams};

use crate::geometry::Rings;
use crate::registry::Registry;
use lattice::{EMPTY, Lattice, MIXED};

/// Most cells of the lattice: 16 MiB, ~28 m cells over the sample city.
const MAX_LATTICE_CELLS: usize = 1 << 22;
/// Cells per boundary edge: enough for most cells to be clear of boundaries, without a big
/// lattice for a small registry.
const CELLS_PER_EDGE: usize = 16;

/// Where a point falls, as indices into the registry the index was built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hit {
    pub town: Option<usize>,
    pub community: Option<usize>,
    pub grid: Option<usize>,
}

/// The spatial index of one registry snapshot.
pub struct SpatialIndex {
    /// Cells that no boundary crosses hold an index into `answers`; the rest hold `MIXED`.
    lattice: Option<(Lattice, Vec<u32>)>,
    answers: Vec<Hit>,
    towns: LevelTree,
    communities: LevelTree,
    grids: LevelTree,
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

/// One level (towns, communities or grids): a compact tree of envelopes, and the prepared rings
/// looked at only for the envelopes that hold the point.
struct LevelTree {
    tree: RTree<Envelope, WideNodes>,
    /// Prepared rings by slot; `None` for a community without territory.
    shapes: Vec<Option<Rings>>,
}

impl LevelTree {
    fn new<'a>(areas: impl Iterator<Item = Option<&'a geo::MultiPolygon<f64>>>) -> Self {
        Self::from_shapes(areas.map(|a| a.and_then(Rings::new)).collect())
    }

    /// The tree over shapes already prepared (by slot).
    fn from_shapes(shapes: Vec<Option<Rings>>) -> Self {
        let envelopes = shapes
            .iter()
            .enumerate()
            .filter_map(|(slot, shape)| {
                let b = shape.as_ref()?.bounds();
                let rect = Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
                Some(GeomWithData::new(rect, slot as u32))
            })
            .collect();
        LevelTree {
            tree: RTree::bulk_load_with_params(envelopes),
            shapes,
        }
    }

    fn bounds(&self) -> Option<geo::Rect<f64>> {
        let b = self.tree.root().envelope();
        (self.tree.size() > 0).then(|| geo::Rect::new(b.lower(), b.upper()))
    }

    /// The tree and point-in-polygon path, for points in cells a boundary crosses. The exact
    /// test is skipped for candidates that could not beat the best found so far.
    fn locate(&self, p: [f64; 2]) -> Option<usize> {
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
        let mut index = SpatialIndex {
            lattice: None,
            answers: Vec::new(),
            towns: LevelTree::new(registry.towns.iter().map(|t| Some(&t.area))),
            communities: LevelTree::new(registry.communities.iter().map(|c| c.territory.as_ref())),
            grids: LevelTree::new(registry.grids.iter().map(|g| Some(&g.area))),
            grid_community: registry.grids.iter().map(|g| g.community).collect(),
            community_town: registry.communities.iter().map(|c| c.town).collect(),
        };
        index.build_lattice();
        index
    }

    /// Precomputes the answer of every cell no boundary crosses, following the same grid →
    /// community → town order as [`SpatialIndex::lookup`].
    fn build_lattice(&mut self) {
        let Some(lattice) = self.lattice_geometry() else {
            return;
        };
        let [grids, communities, towns] =
            [&self.grids, &self.communities, &self.towns].map(|l| lattice.classify(&l.shapes));
        self.answers = self.all_answers();
        let cells = (0..lattice.len())
            .map(|i| self.combine(grids[i], communities[i], towns[i]))
            .collect();
        self.lattice = Some((lattice, cells));
    }

    /// The lattice this index's shapes call for (`None` without shapes).
    fn lattice_geometry(&self) -> Option<Lattice> {
        let bounds = crate::geometry::union_bounds(
            [&self.grids, &self.communities, &self.towns]
                .iter()
                .filter_map(|l| l.bounds()),
        )?;
        let edges: usize = [&self.grids, &self.communities, &self.towns]
            .iter()
            .flat_map(|l| l.shapes.iter().flatten())
            .map(|s| s.edges().count())
            .sum();
        Some(Lattice::new(
            bounds,
            (edges * CELLS_PER_EDGE).clamp(1024, MAX_LATTICE_CELLS),
        ))
    }

    /// Answers: one per grid, then per community, then per town, then "nowhere".
    fn all_answers(&self) -> Vec<Hit> {
        let (n_grids, n_communities) = (self.grid_community.len(), self.community_town.len());
        (0..n_grids)
            .map(|g| self.grid_hit(g))
            .chain((0..n_communities).map(|c| self.community_hit(c)))
            .chain((0..self.towns.shapes.len()).map(|t| Hit {
                town: Some(t),
                ..Hit::default()
            }))
            .chain(std::iter::once(Hit::default()))
            .collect()
    }

    /// A cell's entry from its three levels' classifications (an index into `answers`, or
    /// `MIXED`).
    fn combine(&self, grid: u32, community: u32, town: u32) -> u32 {
        let (n_grids, n_communities) = (self.grid_community.len(), self.community_town.len());
        let nowhere = (self.answers.len() - 1) as u32;
        match (grid, community, town) {
            (MIXED, _, _) | (EMPTY, MIXED, _) | (EMPTY, EMPTY, MIXED) => MIXED,
            (EMPTY, EMPTY, EMPTY) => nowhere,
            (EMPTY, EMPTY, t) => (n_grids + n_communities) as u32 + t,
            (EMPTY, c, _) => n_grids as u32 + c,
            (g, _, _) => g,
        }
    }

    fn grid_hit(&self, grid: usize) -> Hit {
        let community = self.grid_community[grid];
        Hit {
            grid: Some(grid),
            ..self.community_hit(community)
        }
    }

    fn community_hit(&self, community: usize) -> Hit {
        Hit {
            town: Some(self.community_town[community]),
            community: Some(community),
            grid: None,
        }
    }

    /// Resolves a WGS84 `[lon, lat]` point.
    pub fn lookup(&self, p: [f64; 2]) -> Hit {
        if let Some((lattice, cells)) = &self.lattice {
            let Some(cell) = lattice.cell(p) else {
                return Hit::default();
            };
            // `MIXED` indexes past the answers: those cells fall through to the exact path.
            if let Some(hit) = self.answers.get(cells[cell] as usize) {
                return *hit;
            }
        }
        if let Some(grid) = self.grids.locate(p) {
            return self.grid_hit(grid);
        }
        if let Some(community) = self.communities.locate(p) {
            return self.community_hit(community);
        }
        Hit {
            town: self.towns.locate(p),
            community: None,
            grid: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::load_features;
    use crate::registry::test_city::{self, at};

    /// The smallest slot of `shapes` whose polygon holds `p` under the half-open rule, looked at
    /// one by one (no lattice, no tree).
    fn first_containing(shapes: &[Option<Rings>], p: [f64; 2]) -> Option<usize> {
        shapes
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.contains(p)))
    }

    fn brute_force(r: &Registry, p: [f64; 2]) -> Hit {
        let rings = |areas: Vec<Option<&geo::MultiPolygon<f64>>>| -> Vec<Option<Rings>> {
            areas.into_iter().map(|a| a.and_then(Rings::new)).collect()
        };
        let grids = rings(r.grids.iter().map(|g| Some(&g.area)).collect());
        let communities = rings(r.communities.iter().map(|c| c.territory.as_ref()).collect());
        let towns = rings(r.towns.iter().map(|t| Some(&t.area)).collect());
        if let Some(g) = first_containing(&grids, p) {
            let c = r.grids[g].community;
            return Hit {
                town: Some(r.communities[c].town),
                community: Some(c),
                grid: Some(g),
            };
        }
        if let Some(c) = first_containing(&communities, p) {
            return Hit {
                town: Some(r.communities[c].town),
                community: Some(c),
                grid: None,
            };
        }
        Hit {
            town: first_containing(&towns, p),
            ..Hit::default()
        }
    }

    #[test]
    fn lookups_match_a_brute_force_check_on_and_between_every_boundary() {
        let r = load_features(test_city::city(), &Default::default()).expect("the tiny city loads");
        let index = SpatialIndex::new(&r);
        let mut answered = [0; 4];
        // Quarter steps from outside the city to outside it: vertices, edges and interiors.
        for i in -4..=20 {
            for j in -4..=12 {
                let p = at(f64::from(i) / 4.0, f64::from(j) / 4.0);
                let hit = index.lookup(p);
                assert_eq!(hit, brute_force(&r, p), "at {p:?}");
                answered[[hit.grid, hit.community, hit.town]
                    .iter()
                    .take_while(|l| l.is_none())
                    .count()] += 1;
            }
        }
        // Every kind of answer occurs: a grid, a community without grid, a town only, nowhere.
        assert!(answered.iter().all(|&n| n > 0), "{answered:?}");
    }

    #[test]
    fn a_point_on_a_shared_edge_belongs_to_the_east_and_north_side() {
        let r = load_features(test_city::city(), &Default::default()).expect("the tiny city loads");
        let index = SpatialIndex::new(&r);
        let code = |hit: Hit| hit.grid.map(|g| r.grids[g].code.as_str());
        // x = 1 is the edge between C1's grid and C2's first grid.
        assert_eq!(code(index.lookup(at(1.0, 0.5))), Some("440100001002001"));
        // y = 1 is the edge between C2's two grids.
        assert_eq!(code(index.lookup(at(1.5, 1.0))), Some("440100001002002"));
        // x = 3 is the border between the towns.
        let town = index
            .lookup(at(3.0, 0.5))
            .town
            .map(|t| r.towns[t].code.as_str());
        assert_eq!(town, Some(test_city::T2));
    }
}
