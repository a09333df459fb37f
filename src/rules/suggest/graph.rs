//! The grid graph of one community: grids as nodes, an edge wherever two grids share a boundary
//! of positive length (so that a union of grids connected in this graph is one polygon, as the
//! validation's `contiguous` rule counts it). Corner contacts are not edges.

use std::collections::HashMap;

use crate::geometry::measure::{area_m2, length_m, perimeter_m};
use crate::registry::Registry;

/// A community's grids with what the assistant scores on, and their shared-edge adjacency.
#[derive(Debug, Clone)]
pub struct GridGraph {
    /// Registry indices of the grids, in code order (node `i` is `grids[i]`).
    pub grids: Vec<usize>,
    pub households: Vec<u64>,
    pub population: Vec<u64>,
    pub area_m2: Vec<f64>,
    pub perimeter_m: Vec<f64>,
    /// Per node: `(neighbour, shared boundary in metres)`, sorted by neighbour.
    pub adjacency: Vec<Vec<(usize, f64)>>,
    /// Every edge once, `a < b`, sorted.
    pub edges: Vec<(usize, usize, f64)>,
}

/// A segment with its ends in a fixed order, compared by exact coordinates: neighbouring grids
/// of a registry that tiles its communities share their vertices exactly.
fn segment_key(a: [f64; 2], b: [f64; 2]) -> [u64; 4] {
    let (a, b) = if (a[0], a[1]) <= (b[0], b[1]) {
        (a, b)
    } else {
        (b, a)
    };
    // +0.0 for -0.0, so that equal coordinates hash alike.
    let bits = |v: f64| (v + 0.0).to_bits();
    [bits(a[0]), bits(a[1]), bits(b[0]), bits(b[1])]
}

impl GridGraph {
    /// The graph of `grids` (registry indices, in the order the nodes should take).
    pub fn new(registry: &Registry, grids: &[usize]) -> Self {
        let mut owner: HashMap<[u64; 4], usize> = HashMap::new();
        let mut shared: Vec<((usize, usize), f64)> = Vec::new();
        for (node, &g) in grids.iter().enumerate() {
            let area = &registry.grids[g].area;
            for line in area
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|ring| ring.lines())
            {
                let (a, b) = ([line.start.x, line.start.y], [line.end.x, line.end.y]);
                if a == b {
                    continue;
                }
                match owner.entry(segment_key(a, b)) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(node);
                    }
                    std::collections::hash_map::Entry::Occupied(o) if *o.get() != node => {
                        let other = *o.get();
                        shared.push(((other.min(node), other.max(node)), length_m(a, b)));
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
            }
        }
        // Summed per pair in a fixed order (the map is only looked up, never iterated).
        shared.sort_by_key(|x| x.0);
        let mut edges: Vec<(usize, usize, f64)> = Vec::new();
        for ((a, b), len) in shared {
            match edges.last_mut() {
                Some(last) if (last.0, last.1) == (a, b) => last.2 += len,
                _ => edges.push((a, b, len)),
            }
        }
        let mut adjacency = vec![Vec::new(); grids.len()];
        for &(a, b, len) in &edges {
            adjacency[a].push((b, len));
            adjacency[b].push((a, len));
        }
        for list in &mut adjacency {
            list.sort_by_key(|&(n, _)| n);
        }
        let of = |f: &dyn Fn(usize) -> f64| grids.iter().map(|&g| f(g)).collect::<Vec<f64>>();
        GridGraph {
            grids: grids.to_vec(),
            households: grids
                .iter()
                .map(|&g| registry.grids[g].counts.households)
                .collect(),
            population: grids
                .iter()
                .map(|&g| registry.grids[g].counts.population)
                .collect(),
            area_m2: of(&|g| area_m2(&registry.grids[g].area)),
            perimeter_m: of(&|g| perimeter_m(&registry.grids[g].area)),
            adjacency,
            edges,
        }
    }

    pub fn len(&self) -> usize {
        self.grids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grids.is_empty()
    }

    /// Connected components of the nodes where `keep` holds, each sorted, in order of their
    /// smallest node.
    pub fn components(&self, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
        let mut seen = vec![false; self.len()];
        let mut out = Vec::new();
        for start in 0..self.len() {
            if seen[start] || !keep(start) {
                continue;
            }
            seen[start] = true;
            let mut stack = vec![start];
            let mut component = Vec::new();
            while let Some(n) = stack.pop() {
                component.push(n);
                for &(m, _) in &self.adjacency[n] {
                    if !seen[m] && keep(m) {
                        seen[m] = true;
                        stack.push(m);
                    }
                }
            }
            component.sort_unstable();
            out.push(component);
        }
        out
    }

    /// Whether the nodes labelled `part` in `assignment` form one connected piece.
    pub fn is_connected(&self, assignment: &[usize], part: usize) -> bool {
        let components = self.components(|n| assignment[n] == part);
        components.len() == 1
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::registry::{Community, CommunityKind, Counts, Grid, Town};
    use geo::{MultiPolygon, polygon};

    /// Unit squares at (x, y) for each cell.
    pub(crate) fn squares(cells: &[(i32, i32)], households: &[u64]) -> Registry {
        let grids: Vec<Grid> = cells
            .iter()
            .zip(households)
            .enumerate()
            .map(|(i, (&(x, y), &h))| {
                // Each corner computed from its own integer, so neighbours share exact vertices.
                let at = |i: i32, j: i32| (113.0 + i as f64 * 0.001, 22.5 + j as f64 * 0.001);
                let ((x0, y0), (x1, y1)) = (at(x, y), at(x + 1, y + 1));
                Grid {
                    code: format!("442000001001{:03}", i + 1),
                    name: format!("g{i}"),
                    community: 0,
                    counts: Counts {
                        households: h,
                        population: h * 3,
                        service_households: 0,
                    },
                    area: MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0),
                        (x: x1, y: y1), (x: x0, y: y1)]])
                    .into(),
                }
            })
            .collect();
        let community = Community {
            code: "442000001001".into(),
            name: "测试社区".into(),
            town: 0,
            kind: CommunityKind::Community,
            workers: 10,
            office_area_m2: 300.0,
            office: None,
            counts: Counts::default(),
            territory: None,
            grids: (0..grids.len()).collect(),
        };
        let town = Town {
            code: "442000001".into(),
            name: "镇".into(),
            area: MultiPolygon(Vec::new()).into(),
            communities: vec![0],
        };
        Registry::from_parts(vec![town], vec![community], grids)
    }

    #[test]
    fn edges_are_shared_sides_not_corners() {
        // A 2×2 block plus a cell touching the block only at a corner.
        let r = squares(&[(0, 0), (1, 0), (0, 1), (1, 1), (2, 2)], &[1; 5]);
        let g = GridGraph::new(&r, &[0, 1, 2, 3, 4]);
        let pairs: Vec<(usize, usize)> = g.edges.iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 3), (2, 3)]);
        // A side of 0.001° of longitude at 22.5°N is about 103 m.
        assert!((g.edges[0].2 - 111.0).abs() < 10.0, "{}", g.edges[0].2);
        assert_eq!(g.components(|_| true).len(), 2);
    }
}
