//! Shared arcs: every polygon ring of the city cut into arcs at the nodes where the set of rings
//! running along a boundary changes, each arc stored once (as mapshaper and tippecanoe `-pn` do).
//!
//! Simplifying arcs instead of rings means a boundary shared by two neighbours is simplified once
//! and both use the very same vertices, so no sliver or gap can open between them at any zoom.
//! Rings in the sample data share boundaries vertex for vertex, so exact coordinate equality
//! finds the sharing.

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon};

use super::tile_id::lon_lat_to_world;

/// One arc used by a ring, forwards or backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArcRef {
    pub arc: u32,
    pub reversed: bool,
}

/// A polygon as rings of arcs, exterior first.
pub type ArcPolygon = Vec<Vec<ArcRef>>;

/// Every shape of the city as arcs in world (unit-square Mercator) coordinates.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Arc vertices, endpoints included; a closed arc starts and ends at the same vertex.
    pub arcs: Vec<Vec<Coord<f64>>>,
    /// Per input shape, its polygons.
    pub shapes: Vec<Vec<ArcPolygon>>,
}

/// Exact-equality key of a vertex.
fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

impl Topology {
    /// Projects `shapes` (lon/lat) to world coordinates and cuts their rings into shared arcs.
    pub fn build<'a>(shapes: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> Self {
        let mut builder = Builder::default();
        let shapes: Vec<Vec<Vec<Vec<u32>>>> = shapes
            .into_iter()
            .map(|mp| {
                mp.iter()
                    .map(|p| {
                        std::iter::once(p.exterior())
                            .chain(p.interiors())
                            .map(|ring| builder.ring(ring))
                            .filter(|r| r.len() >= 3)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let degree: Vec<usize> = builder.neighbours.iter().map(Vec::len).collect();
        let mut topology = Topology::default();
        let mut first_edges: HashMap<(u32, u32), ArcRef> = HashMap::new();
        for shape in &shapes {
            let polygons = shape
                .iter()
                .map(|rings| {
                    rings
                        .iter()
                        .map(|ring| {
                            split_at_nodes(ring, &degree)
                                .into_iter()
                                .map(|chain| {
                                    topology.arc_for(&chain, &mut first_edges, &builder.coords)
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            topology.shapes.push(polygons);
        }
        topology
    }

    /// The arc a chain of vertex ids runs along, adding it when first seen. A chain is known by
    /// its first edge: two different arcs cannot leave a node along the same edge, because the
    /// far vertex would then have three neighbours and be a node itself.
    fn arc_for(
        &mut self,
        chain: &[u32],
        first_edges: &mut HashMap<(u32, u32), ArcRef>,
        coords: &[Coord<f64>],
    ) -> ArcRef {
        let n = chain.len();
        if let Some(&found) = first_edges.get(&(chain[0], chain[1])) {
            return found;
        }
        let arc = self.arcs.len() as u32;
        self.arcs
            .push(chain.iter().map(|&v| coords[v as usize]).collect());
        first_edges.insert(
            (chain[0], chain[1]),
            ArcRef {
                arc,
                reversed: false,
            },
        );
        first_edges.insert(
            (chain[n - 1], chain[n - 2]),
            ArcRef {
                arc,
                reversed: true,
            },
        );
        ArcRef {
            arc,
            reversed: false,
        }
    }

    /// Rebuilds shape `shape` from (possibly simplified) arcs; rings left with fewer than three
    /// distinct vertices are dropped, and so are polygons that lose their exterior.
    pub fn assemble(&self, shape: usize, arcs: &[Vec<Coord<f64>>]) -> MultiPolygon<f64> {
        let Some(polygons) = self.shapes.get(shape) else {
            return MultiPolygon(Vec::new());
        };
        let ring = |refs: &Vec<ArcRef>| -> Option<LineString<f64>> {
            let mut out: Vec<Coord<f64>> = Vec::new();
            for r in refs {
                let arc = &arcs[r.arc as usize];
                let mut push = |c: Coord<f64>| {
                    if out.last() != Some(&c) {
                        out.push(c);
                    }
                };
                if r.reversed {
                    arc.iter().rev().for_each(|&c| push(c));
                } else {
                    arc.iter().for_each(|&c| push(c));
                }
            }
            if out.len() > 1 && out.first() == out.last() {
                out.pop();
            }
            (out.len() >= 3).then(|| LineString::from(out))
        };
        MultiPolygon(
            polygons
                .iter()
                .filter_map(|rings| {
                    let exterior = ring(rings.first()?)?;
                    let holes = rings[1..].iter().filter_map(ring).collect();
                    Some(Polygon::new(exterior, holes))
                })
                .collect(),
        )
    }
}

#[derive(Default)]
struct Builder {
    ids: HashMap<(u64, u64), u32>,
    coords: Vec<Coord<f64>>,
    /// Distinct neighbours of each vertex over all rings.
    neighbours: Vec<Vec<u32>>,
}

impl Builder {
    /// Vertex ids of an open ring (no closing repeat, no consecutive duplicates), recording
    /// each vertex's neighbours.
    fn ring(&mut self, ring: &LineString<f64>) -> Vec<u32> {
        let mut ids: Vec<u32> = Vec::with_capacity(ring.0.len());
        for &c in &ring.0 {
            let w = lon_lat_to_world(c);
            let next = self.ids.len() as u32;
            let id = *self.ids.entry(key(w)).or_insert(next);
            if id == next {
                self.coords.push(w);
                self.neighbours.push(Vec::new());
            }
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        while ids.len() > 1 && ids.first() == ids.last() {
            ids.pop();
        }
        if ids.len() < 3 {
            return ids;
        }
        for i in 0..ids.len() {
            let (a, b) = (ids[i], ids[(i + 1) % ids.len()]);
            for (u, v) in [(a, b), (b, a)] {
                let list = &mut self.neighbours[u as usize];
                if !list.contains(&v) {
                    list.push(v);
                }
            }
        }
        ids
    }
}

/// Cuts an open ring into chains that start and end at nodes (vertices with other than two
/// neighbours). A ring with no node becomes one closed chain starting at its smallest vertex id,
/// so that every ring running along it starts at the same place.
fn split_at_nodes(ring: &[u32], degree: &[usize]) -> Vec<Vec<u32>> {
    let n = ring.len();
    let start = match (0..n).find(|&i| degree[ring[i] as usize] != 2) {
        Some(i) => i,
        None => {
            let i = (0..n).min_by_key(|&i| ring[i]).unwrap_or(0);
            let mut closed: Vec<u32> = (0..=n).map(|k| ring[(i + k) % n]).collect();
            closed.shrink_to_fit();
            return vec![closed];
        }
    };
    let mut chains = Vec::new();
    let mut chain = vec![ring[start]];
    for k in 1..=n {
        let v = ring[(start + k) % n];
        chain.push(v);
        if degree[v as usize] != 2 {
            chains.push(std::mem::replace(&mut chain, vec![v]));
        }
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(vec![p])
    }

    #[test]
    fn two_squares_share_one_arc_in_opposite_directions() {
        let west = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let east = mp(polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]);
        let t = Topology::build([&west, &east]);
        // Nodes are (1,0) and (1,1): the shared edge, the west outline and the east outline.
        assert_eq!(t.arcs.len(), 3);
        let shared: Vec<ArcRef> = t
            .shapes
            .iter()
            .flat_map(|s| s[0][0].iter().copied())
            .filter(|r| t.arcs[r.arc as usize].len() == 2)
            .collect();
        assert_eq!(shared.len(), 2);
        assert_eq!(shared[0].arc, shared[1].arc);
        assert_ne!(shared[0].reversed, shared[1].reversed);
        // Reassembly gives back the input rings.
        let back = t.assemble(0, &t.arcs);
        assert_eq!(back.0[0].exterior().0.len(), 5);
    }

    #[test]
    fn identical_rings_without_nodes_share_their_arc() {
        let a = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let b = mp(polygon![(x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.), (x: 1., y: 0.)]);
        let t = Topology::build([&a, &b]);
        assert_eq!(t.arcs.len(), 1);
    }
}
