//! Spatial index: point → grid → community → town.
//!
//! One bucket grid per level over cached envelopes (`geometry::edge_grid`: one cell read per
//! query, where an R-tree over half a million grids took several dependent cache misses per
//! level; issue 20); the exact test is the half-open point-in-polygon
//! rule of [`crate::geometry::point_in_polygon`], so a point on a shared boundary resolves to
//! exactly one polygon. The grid decides: when a point is in a grid, its community and town are
//! the grid's parents, so the three answers are always consistent. Only where no grid covers the
//! point are communities, then towns, searched directly. If overlapping data lets several polygons
//! of a level contain a point, the one with the smallest code wins.

mod change;
mod lattice;

use rayon::prelude::*;

use crate::geometry::Rings;
use crate::geometry::edge_grid::EdgeGrid;
use crate::registry::Registry;
use lattice::{EMPTY, Lattice, MIXED};

/// Most cells of the lattice: 16 MiB, ~28 m cells over the sample city.
const MAX_LATTICE_CELLS: usize = 1 << 22;
/// Cells per boundary edge: enough for most cells to be clear of boundaries, without a big
/// lattice for a small registry.
const CELLS_PER_EDGE: usize = 16;
/// Bucket cells per polygon of a level: about two candidate polygons per cell.
const BUCKETS_PER_SHAPE: f64 = 4.0;
/// Row bands the lattice is classified in, in parallel: a few per core, so that the bands'
/// unequal costs even out.
const LATTICE_BANDS: usize = 16;

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

/// One level (towns, communities or grids): a bucket grid of the polygons' envelopes, and the
/// prepared rings looked at only for the envelopes whose cell holds the point.
struct LevelTree {
    /// Slots by cell, ascending within each cell (they are added in slot order).
    buckets: EdgeGrid<u32>,
    /// The union of the envelopes (`None` without any shape).
    bounds: Option<geo::Rect<f64>>,
    /// Prepared rings by slot; `None` for a community without territory.
    shapes: Vec<Option<Rings>>,
}

impl LevelTree {
    /// Prepares the areas on rayon's threads (half a million grids at ×100).
    fn new<'a>(
        areas: impl IndexedParallelIterator<Item = Option<&'a geo::MultiPolygon<f64>>>,
    ) -> Self {
        Self::from_shapes(areas.map(|a| a.and_then(Rings::new)).collect())
    }

    /// The buckets over shapes already prepared (by slot).
    fn from_shapes(shapes: Vec<Option<Rings>>) -> Self {
        let boxes = || {
            shapes.iter().enumerate().filter_map(|(slot, shape)| {
                let b = shape.as_ref()?.bounds();
                Some((
                    slot as u32,
                    ([b.min().x, b.min().y], [b.max().x, b.max().y]),
                ))
            })
        };
        let buckets = EdgeGrid::build_with_density(boxes, BUCKETS_PER_SHAPE);
        let bounds = crate::geometry::union_bounds(shapes.iter().flatten().map(Rings::bounds));
        LevelTree {
            buckets,
            bounds,
            shapes,
        }
    }

    fn bounds(&self) -> Option<geo::Rect<f64>> {
        self.bounds
    }

    /// The bucket and point-in-polygon path, for points in cells a boundary crosses: the
    /// smallest slot whose shape holds `p` (a bucket's slots ascend, so the first that holds it).
    fn locate(&self, p: [f64; 2]) -> Option<usize> {
        self.buckets
            .candidates(p)
            .iter()
            .map(|&slot| slot as usize)
            .find(|&slot| {
                self.shapes
                    .get(slot)
                    .is_some_and(|s| s.as_ref().is_some_and(|s| s.contains(p)))
            })
    }
}

impl SpatialIndex {
    pub fn new(registry: &Registry) -> Self {
        let mut index = SpatialIndex {
            lattice: None,
            answers: Vec::new(),
            towns: LevelTree::new(registry.towns.par_iter().map(|t| Some(&*t.area))),
            communities: LevelTree::new(
                registry
                    .communities
                    .par_iter()
                    .map(|c| c.territory.as_deref()),
            ),
            grids: LevelTree::new(registry.grids.par_iter().map(|g| Some(&*g.area))),
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
        self.answers = self.all_answers();
        // Bands of whole rows on rayon's threads, each classified at every level and combined
        // at once: a band's cells are exactly the whole lattice's there
        // ([`Lattice::classify_window`]), and no level-wide array of the lattice's size is ever
        // held besides the answer.
        let whole = lattice.whole();
        let rows = whole.y.1 + 1;
        let per_band = rows.div_ceil(LATTICE_BANDS).max(1);
        let cells = (0..rows)
            .step_by(per_band)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|y0| {
                let w = lattice::Window {
                    x: whole.x,
                    y: (y0, (y0 + per_band - 1).min(whole.y.1)),
                };
                self.classify_cells(&lattice, w)
            })
            .collect::<Vec<_>>()
            .concat();
        self.lattice = Some((lattice, cells));
    }

    /// The combined entries of the cells of `w` (row by row within `w`), from each level's
    /// classification there.
    fn classify_cells(&self, lattice: &Lattice, w: lattice::Window) -> Vec<u32> {
        let [g, c, t] = [&self.grids, &self.communities, &self.towns]
            .map(|l| lattice.classify_window(&l.shapes, w));
        g.iter()
            .zip(&c)
            .zip(&t)
            .map(|((&g, &c), &t)| self.combine(g, c, t))
            .collect()
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

    /// Each community's territory prepared for point tests, by community index (`None`
    /// without territory): the audit measures borders with the same rings.
    pub fn community_rings(&self) -> &[Option<Rings>] {
        &self.communities.shapes
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
        let grids = rings(r.grids.iter().map(|g| Some(&*g.area)).collect());
        let communities = rings(
            r.communities
                .iter()
                .map(|c| c.territory.as_deref())
                .collect(),
        );
        let towns = rings(r.towns.iter().map(|t| Some(&*t.area)).collect());
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
