//! Shared arcs: every polygon ring of the city cut into arcs at the nodes where the set of rings
//! running along a boundary changes, each arc stored once (as mapshaper and tippecanoe `-pn` do).
//!
//! Simplifying arcs instead of rings means a boundary shared by two neighbours is simplified once
//! and both use the very same vertices, so no sliver or gap can open between them at any zoom.
//! Rings in the sample data share boundaries vertex for vertex, so exact coordinate equality
//! finds the sharing.
//!
//! The arcs do not depend on the order the shapes come in (each arc is stored in the lesser of
//! its two readings, a ring without nodes starts at its least vertex), so a topology changed in
//! place ([`Topology::with_change`], after an approval) has the very arcs a full build of the new
//! shapes has, and renders the same tiles.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;

use super::tile_id::lon_lat_to_world;
use super::vertices::{KeyMap, ShapeRings, Vertices, key};

/// One arc used by a ring, forwards or backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArcRef {
    pub arc: u32,
    pub reversed: bool,
}

/// A polygon as rings of arcs, exterior first.
pub type ArcPolygon = Vec<Vec<ArcRef>>;

/// One input shape: its polygons as arcs.
pub type Shape = Vec<ArcPolygon>;

/// Every shape of the city as arcs in world (unit-square Mercator) coordinates. Arcs and shapes
/// are shared (`Arc`) so that a changed topology keeps what the change did not reach without
/// copying it.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Arc vertices, endpoints included, in their canonical direction (see [`canonical`]); a
    /// closed arc starts and ends at the same vertex. An empty arc is a slot a change freed.
    arcs: Vec<Arc<[Coord<f64>]>>,
    /// Whether each arc is a whole ring without nodes (its endpoint is then not a node).
    loops: Vec<bool>,
    /// Per input shape, its polygons.
    shapes: Vec<Arc<Shape>>,
    /// Per input shape, the world bounds of its rings (`None`: no ring).
    bounds: Vec<Option<Rect<f64>>>,
}

/// A shape of the topology after a change: one of the old topology's shapes with the very same
/// geometry, or a new (or redrawn) one; both with the geometry (lon/lat).
pub enum Carried<'a> {
    Same(usize, &'a MultiPolygon<f64>),
    New(&'a MultiPolygon<f64>),
}

/// The order vertices are compared in to make the choices that must not depend on build order.
fn cmp_coord(a: Coord<f64>, b: Coord<f64>) -> Ordering {
    a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y))
}

/// Bounds of some world coordinates.
fn grow(bounds: &mut Option<Rect<f64>>, c: Coord<f64>) {
    *bounds = Some(match *bounds {
        None => Rect::new(c, c),
        Some(b) => Rect::new(
            Coord {
                x: b.min().x.min(c.x),
                y: b.min().y.min(c.y),
            },
            Coord {
                x: b.max().x.max(c.x),
                y: b.max().y.max(c.y),
            },
        ),
    });
}

fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// A chain's arc, before arcs get their final numbers.
#[derive(Debug, Clone, Copy)]
enum Chain {
    /// An arc of the old topology, carried over.
    Old(ArcRef),
    /// The `n`th arc new to this topology.
    New(ArcRef),
}

impl Topology {
    /// Projects `shapes` (lon/lat) to world coordinates and cuts their rings into shared arcs.
    pub fn build<'a>(shapes: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> Self {
        let areas: Vec<&MultiPolygon<f64>> = shapes.into_iter().collect();
        let (vertices, rings) = Vertices::read(&areas);
        let coords = &vertices.coords[..];
        // Each shape cut on rayon's threads; the arcs are then numbered in shape order, as one
        // thread cutting the shapes in turn would.
        let cuts: Vec<Vec<Vec<Vec<Piece>>>> = rings
            .par_iter()
            .map(|rings| {
                cut(
                    rings,
                    |v| vertices.is_node(v),
                    coords,
                    |chain, is_loop| Piece::new(chain, coords, is_loop),
                )
            })
            .collect();
        let bounds: Vec<Option<Rect<f64>>> = rings.par_iter().map(|r| vertices.bounds(r)).collect();
        drop(rings);
        let mut new_arcs = NewArcs::default();
        let shapes: Vec<Arc<Shape>> = cuts
            .into_iter()
            .map(|polygons| {
                Arc::new(
                    polygons
                        .into_iter()
                        .map(|p| {
                            p.into_iter()
                                .map(|ring| ring.into_iter().map(|c| new_arcs.arc_for(c)).collect())
                                .collect()
                        })
                        .collect(),
                )
            })
            .collect();
        let (arcs, loops) = new_arcs.into_arcs(coords).into_iter().unzip();
        Topology {
            arcs,
            loops,
            shapes,
            bounds,
        }
    }

    /// The topology of `shapes` made from this one: what a full [`Topology::build`] of `shapes`
    /// gives, arc for arc (numbered differently), with only the shapes the change reaches cut
    /// again. Also says, per shape, whether it was cut again (its arcs may differ; the others
    /// keep theirs, numbers included).
    ///
    /// Why this is the full build: whether a vertex is a node depends only on the rings through
    /// it, so it can change only at a vertex of a ring that went or came (a "dirty" vertex).
    /// A kept shape with no dirty vertex is cut where it was. A kept shape with one (e.g. a
    /// neighbour a new boundary now meets) is cut again: at its dirty vertices every ring
    /// through them is at hand (the new shapes and the kept shapes cut again), so the degree
    /// counted here is the full one; elsewhere a vertex is a node as before, i.e. where one of
    /// the shape's old arcs ended. A chain with no dirty vertex is then one of the shape's old
    /// arcs (same nodes, same vertices) and keeps it, so the kept neighbours sharing it stay
    /// joined to it; old arcs no shape uses any more free their slots for the new arcs.
    pub fn with_change(&self, shapes: &[Carried]) -> (Topology, Vec<bool>) {
        let old_of = |s: &Carried| match *s {
            Carried::Same(o, _) if o < self.shapes.len() => Some(o),
            _ => None,
        };
        let mut carried = vec![false; self.shapes.len()];
        for o in shapes.iter().filter_map(old_of) {
            carried[o] = true;
        }
        let mut dirty: HashSet<(u64, u64)> = HashSet::new();
        let mut dirty_bounds = None;
        let mut mark = |c: Coord<f64>| {
            if dirty.insert(key(c)) {
                grow(&mut dirty_bounds, c);
            }
        };
        for (o, shape) in self.shapes.iter().enumerate() {
            if !carried[o] {
                self.vertices(shape).for_each(&mut mark);
            }
        }
        for s in shapes {
            if old_of(s).is_none() {
                for p in s.area() {
                    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                        ring.0.iter().for_each(|&c| mark(lon_lat_to_world(c)));
                    }
                }
            }
        }
        let recut: Vec<bool> = shapes
            .iter()
            .map(|s| match old_of(s) {
                None => true,
                Some(o) => {
                    self.bounds[o]
                        .zip(dirty_bounds)
                        .is_some_and(|(a, b)| meets(a, b))
                        && self
                            .vertices(&self.shapes[o])
                            .any(|c| dirty.contains(&key(c)))
                }
            })
            .collect();
        let recut_areas: Vec<&MultiPolygon<f64>> = shapes
            .iter()
            .zip(&recut)
            .filter(|&(_, &r)| r)
            .map(|(s, _)| s.area())
            .collect();
        let (builder, recut_rings) = Vertices::read(&recut_areas);
        let mut recut_rings = recut_rings.into_iter();
        let rings: Vec<Option<ShapeRings>> = recut
            .iter()
            .map(|&r| if r { recut_rings.next() } else { None })
            .collect();
        let coords = &builder.coords;
        let is_dirty = |v: u32| dirty.contains(&key(coords[v as usize]));
        let mut new_arcs = NewArcs::default();
        let mut reused: HashSet<u32> = HashSet::new();
        let mut cuts: Vec<Option<Vec<Vec<Vec<Chain>>>>> = Vec::with_capacity(shapes.len());
        for (s, rings) in shapes.iter().zip(&rings) {
            let Some(rings) = rings else {
                cuts.push(None);
                continue;
            };
            let (ends, firsts) = match old_of(s) {
                Some(o) => self.old_cuts(&self.shapes[o]),
                None => Default::default(),
            };
            let is_node = |v: u32| {
                if is_dirty(v) {
                    builder.is_node(v)
                } else {
                    ends.contains(&key(coords[v as usize]))
                }
            };
            let mut chain_of = |chain: &[u32], is_loop: bool| {
                if !chain.iter().any(|&v| is_dirty(v)) {
                    let first = (
                        key(coords[chain[0] as usize]),
                        key(coords[chain[1] as usize]),
                    );
                    if let Some(&old) = firsts.get(&first) {
                        reused.insert(old.arc);
                        return Chain::Old(old);
                    }
                }
                Chain::New(new_arcs.arc_for(Piece::new(chain, coords, is_loop)))
            };
            let shape = cut(rings, is_node, coords, &mut chain_of);
            cuts.push(Some(shape));
        }
        // Slots of the old arcs of every shape gone or cut again, unless carried over.
        let mut freed: Vec<u32> = self
            .shapes
            .iter()
            .enumerate()
            .filter(|&(o, _)| !carried[o])
            .map(|(_, shape)| shape)
            .chain(
                shapes
                    .iter()
                    .zip(&recut)
                    .filter(|&(_, &r)| r)
                    .filter_map(|(s, _)| old_of(s).map(|o| &self.shapes[o])),
            )
            .flat_map(|shape| shape.iter().flatten().flatten().map(|r| r.arc))
            .filter(|a| !reused.contains(a))
            .collect::<HashSet<u32>>()
            .into_iter()
            .collect();
        freed.sort_unstable();
        let mut arcs = self.arcs.clone();
        let mut loops = self.loops.clone();
        for &slot in &freed {
            arcs[slot as usize] = Arc::from(Vec::new());
            loops[slot as usize] = false;
        }
        let new_arcs = new_arcs.into_arcs(coords);
        let mut slots: Vec<u32> = Vec::with_capacity(new_arcs.len());
        for (n, (arc, is_loop)) in new_arcs.into_iter().enumerate() {
            match freed.get(n) {
                Some(&slot) => {
                    arcs[slot as usize] = arc;
                    loops[slot as usize] = is_loop;
                    slots.push(slot);
                }
                None => {
                    slots.push(arcs.len() as u32);
                    arcs.push(arc);
                    loops.push(is_loop);
                }
            }
        }
        let mut topology = Topology {
            arcs,
            loops,
            shapes: Vec::with_capacity(shapes.len()),
            bounds: Vec::with_capacity(shapes.len()),
        };
        for ((s, cut), rings) in shapes.iter().zip(cuts).zip(&rings) {
            match (cut, rings, old_of(s)) {
                (Some(cut), Some(rings), _) => {
                    let refs = |c: Chain| match c {
                        Chain::Old(r) => r,
                        Chain::New(r) => ArcRef {
                            arc: slots[r.arc as usize],
                            reversed: r.reversed,
                        },
                    };
                    let shape: Shape = cut
                        .into_iter()
                        .map(|p| {
                            p.into_iter()
                                .map(|ring| ring.into_iter().map(refs).collect())
                                .collect()
                        })
                        .collect();
                    topology.shapes.push(Arc::new(shape));
                    topology.bounds.push(builder.bounds(rings));
                }
                (_, _, Some(o)) => {
                    topology.shapes.push(self.shapes[o].clone());
                    topology.bounds.push(self.bounds[o]);
                }
                // Not reached: a shape without an old one is always cut.
                _ => {
                    topology.shapes.push(Arc::default());
                    topology.bounds.push(None);
                }
            }
        }
        (topology, recut)
    }

    /// Every vertex of a shape's rings (arc endpoints once per arc).
    fn vertices<'s>(&'s self, shape: &'s Shape) -> impl Iterator<Item = Coord<f64>> + 's {
        shape
            .iter()
            .flatten()
            .flatten()
            .flat_map(|r| self.arcs[r.arc as usize].iter().copied())
    }

    /// Where a shape's old arcs end (its nodes, loops' starts left out) and its old arcs by the
    /// first edge the shape's rings run along them.
    #[allow(clippy::type_complexity)]
    fn old_cuts(
        &self,
        shape: &Shape,
    ) -> (
        HashSet<(u64, u64)>,
        HashMap<((u64, u64), (u64, u64)), ArcRef>,
    ) {
        let mut ends = HashSet::new();
        let mut firsts = HashMap::new();
        for r in shape.iter().flatten().flatten() {
            let arc = &self.arcs[r.arc as usize];
            let n = arc.len();
            if n < 2 {
                continue;
            }
            if !self.loops[r.arc as usize] {
                ends.insert(key(arc[0]));
                ends.insert(key(arc[n - 1]));
            }
            let first = if r.reversed {
                (key(arc[n - 1]), key(arc[n - 2]))
            } else {
                (key(arc[0]), key(arc[1]))
            };
            firsts.insert(first, *r);
        }
        (ends, firsts)
    }

    /// The arcs' vertices, by arc number (empty: an unused slot).
    pub fn arcs(&self) -> &[Arc<[Coord<f64>]>] {
        &self.arcs
    }

    /// Number of arcs in use.
    pub fn arc_count(&self) -> usize {
        self.arcs.iter().filter(|a| !a.is_empty()).count()
    }

    /// World bounds of shape `shape`'s rings (`None`: no ring, or no such shape).
    pub fn bounds(&self, shape: usize) -> Option<Rect<f64>> {
        self.bounds.get(shape).copied().flatten()
    }

    /// The arcs shape `shape` is made of (with repeats).
    pub fn arcs_of(&self, shape: usize) -> impl Iterator<Item = u32> + '_ {
        self.shapes
            .get(shape)
            .into_iter()
            .flat_map(|s| s.iter().flatten().flatten().map(|r| r.arc))
    }

    /// Rebuilds shape `shape` from (possibly simplified) arcs, `arc` giving each arc's vertices
    /// by number; rings left with fewer than three distinct vertices are dropped, and so are
    /// polygons that lose their exterior.
    #[cfg(test)]
    pub fn assemble<'a>(
        &self,
        shape: usize,
        arc: impl Fn(u32) -> &'a [Coord<f64>],
    ) -> MultiPolygon<f64> {
        self.assemble_by(shape, |r, out| {
            let arc = arc(r.arc);
            if r.reversed {
                arc.iter().rev().for_each(|&c| push_new(out, c));
            } else {
                arc.iter().for_each(|&c| push_new(out, c));
            }
        })
    }

    /// Rebuilds shape `shape` from the vertices of its arcs that `keep(arc, i)` keeps (the
    /// vertices of one zoom's simplification), as [`Topology::assemble`] does from arcs
    /// simplified apart: a tile assembles the few shapes it shows instead of every zoom keeping
    /// a copy of every shape (issue 20).
    pub fn assemble_kept(
        &self,
        shape: usize,
        keep: impl Fn(u32, usize) -> bool,
    ) -> MultiPolygon<f64> {
        self.assemble_by(shape, |r, out| {
            let Some(arc) = self.arcs.get(r.arc as usize) else {
                return;
            };
            let kept = |&(i, _): &(usize, &Coord<f64>)| keep(r.arc, i);
            if r.reversed {
                arc.iter()
                    .enumerate()
                    .rev()
                    .filter(kept)
                    .for_each(|(_, &c)| push_new(out, c));
            } else {
                arc.iter()
                    .enumerate()
                    .filter(kept)
                    .for_each(|(_, &c)| push_new(out, c));
            }
        })
    }

    /// Shape `shape` with each ring made by `extend` appending its arcs' vertices in turn;
    /// rings left with fewer than three distinct vertices are dropped, and so are polygons that
    /// lose their exterior.
    fn assemble_by(
        &self,
        shape: usize,
        extend: impl Fn(ArcRef, &mut Vec<Coord<f64>>),
    ) -> MultiPolygon<f64> {
        let Some(polygons) = self.shapes.get(shape) else {
            return MultiPolygon(Vec::new());
        };
        let ring = |refs: &Vec<ArcRef>| -> Option<LineString<f64>> {
            let mut out: Vec<Coord<f64>> = Vec::new();
            for &r in refs {
                extend(r, &mut out);
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

/// Appends `c` unless it repeats the last vertex (where two arcs of a ring meet).
fn push_new(out: &mut Vec<Coord<f64>>, c: Coord<f64>) {
    if out.last() != Some(&c) {
        out.push(c);
    }
}

impl Carried<'_> {
    fn area(&self) -> &MultiPolygon<f64> {
        match self {
            Carried::Same(_, a) | Carried::New(a) => a,
        }
    }
}

/// A chain of vertex ids between two nodes (or around a ring without nodes), in its canonical
/// reading: the arc it runs along, before the arc has a number.
struct Piece {
    /// The chain read in the arc's canonical direction.
    ids: Vec<u32>,
    /// Whether the chain runs against it.
    reversed: bool,
    is_loop: bool,
}

impl Piece {
    /// The arc of `chain`: stored in its lesser reading (read backwards it is less than read
    /// forwards, vertex by vertex, when its first differing vertex from the end is less), so
    /// that whichever ring meets it first, and in whichever direction, the arc and its
    /// simplification (which depends on the direction at ties and in the last bits) are the
    /// same in every build.
    fn new(chain: &[u32], coords: &[Coord<f64>], is_loop: bool) -> Piece {
        let n = chain.len();
        let mut reversed = false;
        for i in 0..n / 2 {
            let (back, front) = (chain[n - 1 - i], chain[i]);
            if back == front {
                continue;
            }
            // Different ids are different coordinate bits, so never `Equal`.
            reversed = cmp_coord(coords[back as usize], coords[front as usize]) == Ordering::Less;
            break;
        }
        let mut ids = chain.to_vec();
        if reversed {
            ids.reverse();
        }
        Piece {
            ids,
            reversed,
            is_loop,
        }
    }

    /// What tells the arc from every other: its first edge in the canonical reading. Two
    /// different arcs cannot leave a node along the same edge, because the far vertex would then
    /// have three neighbours and be a node itself; a ring without nodes starts at its least
    /// vertex.
    fn first_edge(&self) -> (u32, u32) {
        (self.ids[0], self.ids.get(1).copied().unwrap_or(self.ids[0]))
    }
}

/// Arcs made while cutting, numbered from 0 in the order they are first met.
#[derive(Default)]
struct NewArcs {
    by_first_edge: KeyMap<(u32, u32), u32>,
    /// Vertex ids (canonical direction) and whether it is a ring without nodes.
    arcs: Vec<(Vec<u32>, bool)>,
}

impl NewArcs {
    /// The arc a chain runs along, numbered when first met.
    fn arc_for(&mut self, piece: Piece) -> ArcRef {
        let next = self.arcs.len() as u32;
        let arc = match self.by_first_edge.entry(piece.first_edge()) {
            Entry::Occupied(found) => *found.get(),
            Entry::Vacant(slot) => {
                slot.insert(next);
                self.arcs.push((piece.ids, piece.is_loop));
                next
            }
        };
        ArcRef {
            arc,
            reversed: piece.reversed,
        }
    }

    /// The arcs' vertices by number, with whether each is a ring without nodes.
    fn into_arcs(self, coords: &[Coord<f64>]) -> Vec<(Arc<[Coord<f64>]>, bool)> {
        self.arcs
            .into_par_iter()
            .map(|(ids, is_loop)| {
                let points: Arc<[Coord<f64>]> = ids.iter().map(|&v| coords[v as usize]).collect();
                (points, is_loop)
            })
            .collect()
    }
}

/// A shape's rings (as [`Vertices::read`] reads them) cut at the nodes, each chain turned into
/// what `arc_of` makes of it (given whether its ring has no node).
fn cut<T>(
    rings: &[Vec<Vec<u32>>],
    is_node: impl Fn(u32) -> bool + Copy,
    coords: &[Coord<f64>],
    mut arc_of: impl FnMut(&[u32], bool) -> T,
) -> Vec<Vec<Vec<T>>> {
    rings
        .iter()
        .map(|polygon| {
            polygon
                .iter()
                .map(|ring| {
                    let (chains, is_loop) = split_at_nodes(ring, is_node, coords);
                    chains.iter().map(|c| arc_of(c, is_loop)).collect()
                })
                .collect()
        })
        .collect()
}

/// Cuts an open ring into chains that start and end at nodes; also says whether the ring had
/// no node, in which case it is one closed chain starting at its least vertex (by coordinate,
/// so in every build and from every ring running along it the same).
fn split_at_nodes(
    ring: &[u32],
    is_node: impl Fn(u32) -> bool,
    coords: &[Coord<f64>],
) -> (Vec<Vec<u32>>, bool) {
    let n = ring.len();
    let start = match (0..n).find(|&i| is_node(ring[i])) {
        Some(i) => i,
        None => {
            let i = (0..n)
                .min_by(|&a, &b| cmp_coord(coords[ring[a] as usize], coords[ring[b] as usize]))
                .unwrap_or(0);
            return (vec![(0..=n).map(|k| ring[(i + k) % n]).collect()], true);
        }
    };
    let mut chains = Vec::new();
    let mut chain = vec![ring[start]];
    for k in 1..=n {
        let v = ring[(start + k) % n];
        chain.push(v);
        if is_node(v) {
            chains.push(std::mem::replace(&mut chain, vec![v]));
        }
    }
    (chains, false)
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
        assert_eq!(t.arc_count(), 3);
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
        let back = t.assemble(0, |a| &t.arcs[a as usize][..]);
        assert_eq!(back.0[0].exterior().0.len(), 5);
    }

    #[test]
    fn identical_rings_without_nodes_share_their_arc() {
        let a = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let b = mp(polygon![(x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.), (x: 1., y: 0.)]);
        let t = Topology::build([&a, &b]);
        assert_eq!(t.arc_count(), 1);
    }

    /// A ring as its arcs' coordinates and directions.
    type RingByArc = Vec<(bool, Vec<Coord<f64>>)>;

    /// Every shape's rings as coordinates, arc by arc: what renders (arc numbers left out).
    fn rings_by_arc(t: &Topology) -> Vec<Vec<Vec<RingByArc>>> {
        t.shapes
            .iter()
            .map(|s| {
                s.iter()
                    .map(|p| {
                        p.iter()
                            .map(|ring| {
                                ring.iter()
                                    .map(|r| (r.reversed, t.arcs[r.arc as usize].to_vec()))
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn arcs_do_not_depend_on_the_order_of_the_shapes() {
        let west = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let east = mp(polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]);
        let lone = mp(polygon![(x: 5., y: 5.), (x: 6., y: 5.), (x: 6., y: 6.), (x: 5., y: 6.)]);
        let a = Topology::build([&west, &east, &lone]);
        let b = Topology::build([&lone, &east, &west]);
        let mut ra = rings_by_arc(&a);
        let rb = rings_by_arc(&b);
        ra.reverse();
        assert_eq!(ra, rb);
    }

    /// A square cut in two by a new line from (0, 0.5) to (1, 0.5): both ends were plain
    /// vertices of the sides the square shares with its west and east neighbours and become
    /// nodes, so the neighbours (unchanged themselves) must be cut again there; a far square
    /// keeps its arc.
    #[test]
    fn a_changed_shape_recuts_the_neighbour_it_meets_and_matches_a_full_build() {
        let west = mp(
            polygon![(x: -1., y: 0.), (x: 0., y: 0.), (x: 0., y: 0.5), (x: 0., y: 1.), (x: -1., y: 1.)],
        );
        let square = mp(
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 0.5), (x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.5)],
        );
        let east = mp(
            polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 1., y: 0.5)],
        );
        let far = mp(polygon![(x: 5., y: 5.), (x: 6., y: 5.), (x: 6., y: 6.), (x: 5., y: 6.)]);
        let south = mp(polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 0.5), (x: 0., y: 0.5)]);
        let north = mp(polygon![(x: 0., y: 0.5), (x: 1., y: 0.5), (x: 1., y: 1.), (x: 0., y: 1.)]);
        let old = Topology::build([&west, &square, &east, &far]);
        let (new, recut) = old.with_change(&[
            Carried::Same(0, &west),
            Carried::New(&south),
            Carried::New(&north),
            Carried::Same(2, &east),
            Carried::Same(3, &far),
        ]);
        let full = Topology::build([&west, &south, &north, &east, &far]);
        assert_eq!(rings_by_arc(&new), rings_by_arc(&full));
        assert_eq!(new.arc_count(), full.arc_count());
        assert_eq!(recut, [true, true, true, true, false]);
        // The far square keeps its very arc.
        assert!(Arc::ptr_eq(&new.shapes[4], &old.shapes[3]));
        let back = new.assemble(0, |a| &new.arcs[a as usize][..]);
        assert_eq!(back.0[0].exterior().0.len(), 6);
    }

    /// The first version of [`Topology::build`] (one thread, a SipHash map of vertices, a list
    /// of neighbours per vertex, arcs found by the first edge a ring met them along): the
    /// oracle for the parallel build.
    fn first_version(areas: &[&MultiPolygon<f64>]) -> Topology {
        let (coords, degrees, shapes) = crate::tiles::vertices::tests::reference(areas);
        let backwards_is_less = |chain: &[Coord<f64>]| {
            let n = chain.len();
            for i in 0..n / 2 {
                match cmp_coord(chain[n - 1 - i], chain[i]) {
                    Ordering::Less => return true,
                    Ordering::Greater => return false,
                    Ordering::Equal => {}
                }
            }
            false
        };
        let mut first_edges: HashMap<(u32, u32), ArcRef> = HashMap::new();
        let mut arcs: Vec<(Vec<Coord<f64>>, bool)> = Vec::new();
        let mut t = Topology::default();
        for rings in &shapes {
            let shape = cut(
                rings,
                |v| degrees[v as usize] != 2,
                &coords,
                |chain, is_loop| {
                    let n = chain.len();
                    if let Some(&found) = first_edges.get(&(chain[0], chain[1])) {
                        return found;
                    }
                    let mut points: Vec<Coord<f64>> =
                        chain.iter().map(|&v| coords[v as usize]).collect();
                    let reversed = backwards_is_less(&points);
                    if reversed {
                        points.reverse();
                    }
                    let arc = arcs.len() as u32;
                    arcs.push((points, is_loop));
                    first_edges.insert((chain[0], chain[1]), ArcRef { arc, reversed });
                    first_edges.insert(
                        (chain[n - 1], chain[n - 2]),
                        ArcRef {
                            arc,
                            reversed: !reversed,
                        },
                    );
                    ArcRef { arc, reversed }
                },
            );
            t.shapes.push(Arc::new(shape));
            let mut b = None;
            for &v in rings.iter().flatten().flatten() {
                grow(&mut b, coords[v as usize]);
            }
            t.bounds.push(b);
        }
        for (arc, is_loop) in arcs {
            t.arcs.push(Arc::from(arc));
            t.loops.push(is_loop);
        }
        t
    }

    fn assert_same(a: &Topology, b: &Topology, what: &str) {
        assert_eq!(a.arcs, b.arcs, "{what}: arcs");
        assert_eq!(a.loops, b.loops, "{what}: loops");
        assert_eq!(a.shapes, b.shapes, "{what}: shapes");
        assert_eq!(a.bounds, b.bounds, "{what}: bounds");
    }

    #[test]
    fn the_parallel_build_is_the_first_versions_arc_for_arc() {
        for seed in 0..40 {
            let areas = super::super::vertices::tests::random_areas(seed);
            let refs: Vec<&MultiPolygon<f64>> = areas.iter().collect();
            assert_same(
                &Topology::build(refs.iter().copied()),
                &first_version(&refs),
                &format!("random rings, seed {seed}"),
            );
        }
        // A lattice of squares sharing their sides, some cut by diagonals, plus copies: the
        // shapes of a city (nodes where three or more meet, rings without nodes).
        let mut city = Vec::new();
        for i in 0..12 {
            for j in 0..9 {
                let (x, y) = (113.0 + f64::from(i) * 0.01, 23.0 + f64::from(j) * 0.01);
                let c = |dx: f64, dy: f64| Coord {
                    x: x + dx * 0.01,
                    y: y + dy * 0.01,
                };
                let ring = if (i + j) % 3 == 0 {
                    vec![c(0., 0.), c(0.5, 0.), c(1., 0.), c(1., 1.), c(0., 1.)]
                } else {
                    vec![
                        c(0., 0.),
                        c(1., 0.),
                        c(1., 0.5),
                        c(1., 1.),
                        c(0., 1.),
                        c(0., 0.5),
                    ]
                };
                city.push(mp(Polygon::new(LineString::from(ring), vec![])));
            }
        }
        city.push(city[5].clone());
        city.push(mp(
            polygon![(x: 120., y: 30.), (x: 120.1, y: 30.), (x: 120.1, y: 30.1), (x: 120., y: 30.1)],
        ));
        let refs: Vec<&MultiPolygon<f64>> = city.iter().collect();
        assert_same(
            &Topology::build(refs.iter().copied()),
            &first_version(&refs),
            "lattice",
        );
    }
}
