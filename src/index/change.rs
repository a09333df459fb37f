//! Updating a spatial index after a local change (an approval): prepared shapes of untouched
//! features are reused, and the lattice is re-classified only inside the box of what changed.
//!
//! Why the result equals [`SpatialIndex::new`] of the new registry: a lattice cell's answer at
//! each level depends only on the shapes whose edge boxes or scanline spans reach it, and the
//! smallest slot among them. Outside the changed box only untouched shapes reach a cell; their
//! slots are renumbered when codes are inserted or removed, but in code order, so the smallest
//! stays the smallest and the old answer maps to the new one. Inside the box the cells are
//! classified again, exactly as a full build classifies them ([`Lattice::classify_window`]).

use std::collections::BTreeSet;

use super::{LevelTree, MIXED, SpatialIndex};
use crate::geometry::Rings;
use crate::registry::{Registry, Touched};

/// Shapes of one level of the new registry: the old prepared shape where the feature is
/// untouched, a new one otherwise.
fn shapes<'a>(
    old: &LevelTree,
    features: impl Iterator<Item = (&'a str, Option<&'a geo::MultiPolygon<f64>>)>,
    old_slot: impl Fn(&str) -> Option<usize>,
    touched: &BTreeSet<String>,
) -> Vec<Option<Rings>> {
    features
        .map(
            |(code, area)| match old_slot(code).filter(|_| !touched.contains(code)) {
                Some(slot) => old.shapes[slot].clone(),
                None => area.and_then(Rings::new),
            },
        )
        .collect()
}

impl SpatialIndex {
    /// The index of `new`, which is `old` (the registry this index was built from) changed as
    /// `touched` says.
    pub fn with_change(&self, old: &Registry, new: &Registry, touched: &Touched) -> SpatialIndex {
        let towns = shapes(
            &self.towns,
            new.towns.iter().map(|t| (t.code.as_str(), Some(&*t.area))),
            |c| old.town_by_code(c),
            &touched.towns,
        );
        let communities = shapes(
            &self.communities,
            new.communities
                .iter()
                .map(|c| (c.code.as_str(), c.territory.as_deref())),
            |c| old.community_by_code(c),
            &touched.communities,
        );
        let grids = shapes(
            &self.grids,
            new.grids.iter().map(|g| (g.code.as_str(), Some(&*g.area))),
            |c| old.grid_by_code(c),
            &touched.grids,
        );
        let mut index = SpatialIndex {
            lattice: None,
            answers: Vec::new(),
            towns: LevelTree::from_shapes(towns),
            communities: LevelTree::from_shapes(communities),
            grids: LevelTree::from_shapes(grids),
            grid_community: new.grids.iter().map(|g| g.community).collect(),
            community_town: new.communities.iter().map(|c| c.town).collect(),
        };
        let lattice = index.lattice_geometry();
        let (Some((old_lattice, old_cells)), Some(lattice)) = (&self.lattice, lattice) else {
            index.build_lattice();
            return index;
        };
        if lattice != *old_lattice {
            // The city's extent or its number of edges moved the cells: nothing to carry over.
            index.build_lattice();
            return index;
        }
        index.answers = index.all_answers();
        let remap = self.remap(old, new, touched, &index);
        let mut cells: Vec<u32> = old_cells
            .iter()
            .map(|&c| remap.get(c as usize).copied().unwrap_or(MIXED))
            .collect();
        if let Some(bounds) = touched.bounds {
            let w = lattice.window(bounds);
            let mut window = index.classify_cells(&lattice, w).into_iter();
            for y in w.y.0..=w.y.1 {
                for x in w.x.0..=w.x.1 {
                    cells[lattice.at(x, y)] = window.next().unwrap_or(MIXED);
                }
            }
        }
        index.lattice = Some((lattice, cells));
        index
    }

    /// For each old answer, the new answer of the same untouched feature (`MIXED` for a touched
    /// one: its cells are all inside the changed box, which is classified again).
    fn remap(
        &self,
        old: &Registry,
        new: &Registry,
        touched: &Touched,
        index: &SpatialIndex,
    ) -> Vec<u32> {
        let (n_grids, n_communities) = (new.grids.len(), new.communities.len());
        let keep = |slot: Option<usize>, code: &str, set: &BTreeSet<String>, base: usize| {
            slot.filter(|_| !set.contains(code))
                .map_or(MIXED, |s| (base + s) as u32)
        };
        old.grids
            .iter()
            .map(|g| keep(new.grid_by_code(&g.code), &g.code, &touched.grids, 0))
            .chain(old.communities.iter().map(|c| {
                keep(
                    new.community_by_code(&c.code),
                    &c.code,
                    &touched.communities,
                    n_grids,
                )
            }))
            .chain(old.towns.iter().map(|t| {
                keep(
                    new.town_by_code(&t.code),
                    &t.code,
                    &touched.towns,
                    n_grids + n_communities,
                )
            }))
            .chain(std::iter::once((index.answers.len() - 1) as u32))
            .take(self.answers.len())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_city::{self, C2, T1, at, community, grid, rect};
    use crate::registry::{Edit, Plausible, load_features};

    #[test]
    fn the_updated_index_is_the_index_built_anew() {
        let mut old = load_features(test_city::city(), &Plausible::default()).expect("loads");
        old.node(0.5);
        let index = SpatialIndex::new(&old);
        let (c4, c5) = ("440100001004", "440100001005");
        let edit = Edit {
            end_communities: &[C2.to_owned()],
            end_grids: &["440100001002001".to_owned(), "440100001002002".to_owned()],
            communities: &[
                community(c4, T1, rect(1.0, 0.0, 2.0, 1.0)),
                community(c5, T1, rect(1.0, 1.0, 2.0, 2.0)),
            ],
            grids: &[
                grid("440100001004001", c4, 30, rect(1.0, 0.0, 2.0, 1.0)),
                grid("440100001005001", c5, 20, rect(1.0, 1.0, 2.0, 2.0)),
            ],
        };
        let (new, touched) = old
            .with_edit(&edit, &Plausible::default(), 0.5)
            .expect("applies");
        let updated = index.with_change(&old, &new, &touched);
        let built = SpatialIndex::new(&new);
        // Every cell of the lattice, and every answer, as a fresh build has them.
        let cells = |i: &SpatialIndex| i.lattice.as_ref().map(|(_, c)| c.clone());
        assert!(cells(&built).is_some());
        assert_eq!(cells(&updated), cells(&built));
        assert_eq!(updated.answers, built.answers);
        for i in -4..=20 {
            for j in -4..=12 {
                let p = at(f64::from(i) / 4.0, f64::from(j) / 4.0);
                assert_eq!(updated.lookup(p), built.lookup(p), "at {p:?}");
            }
        }
        // The old answers moved with their features' positions.
        let g = |i: &SpatialIndex, r: &Registry| {
            i.lookup(at(1.5, 1.5)).grid.map(|g| r.grids[g].code.clone())
        };
        assert_eq!(g(&updated, &new).as_deref(), Some("440100001005001"));
    }
}
