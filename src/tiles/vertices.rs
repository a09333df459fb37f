//! The distinct vertices of a set of rings and whether each is a node, for [`super::topology`].
//!
//! At ×100 (issue 20) the rings hold 32 million vertices, 11 million of them distinct. The first
//! version kept a SipHash map of every vertex and a `Vec` of neighbours per vertex (one heap
//! allocation each) and read the rings on one thread: ~16 s and ~1.3 GB. Here the projection
//! runs on rayon's threads, the map hashes with a few multiplications (the keys are coordinate
//! bits, not attacker-chosen: they come from the registry), and a vertex's neighbours are two
//! slots in one atomic word, filled on rayon's threads: a vertex is a node when its number of
//! distinct neighbours is not two, and that needs the count only up to three, which is the same
//! whatever order the edges come in.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use geo::{Coord, LineString, MultiPolygon, Rect};
use rayon::prelude::*;

use super::tile_id::lon_lat_to_world;

/// Exact-equality key of a vertex.
pub(super) fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

/// A fast hash of coordinate keys: a multiply-xor mix of the words (no protection against
/// chosen collisions, which registry coordinates are not).
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        // Final mix (murmur3's): the table uses both the low and the high bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h
    }
}

/// A `HashMap` hashing with [`KeyHasher`].
pub(super) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// No neighbour in a slot.
const EMPTY: u32 = u32::MAX;
/// In the second slot: a third distinct neighbour was seen.
const MANY: u32 = u32::MAX - 1;

/// The rings of one shape as vertex ids: per polygon, exterior first, rings under three vertices
/// left out.
pub(super) type ShapeRings = Vec<Vec<Vec<u32>>>;

/// Distinct vertices (world coordinates, by id) of some rings, with their node status.
pub(super) struct Vertices {
    /// World coordinates by vertex id.
    pub coords: Vec<Coord<f64>>,
    /// Per vertex, its first two distinct neighbours (low and high half; [`EMPTY`] when fewer,
    /// [`MANY`] in the high half when there are more).
    neighbours: Vec<AtomicU64>,
}

/// Shapes projected at once before their vertices get ids: bounds the memory of the world
/// coordinates in flight.
const CHUNK: usize = 8_192;

impl Vertices {
    /// Reads `areas` (lon/lat): each ring projected to world coordinates, without consecutive
    /// repeats or closing repeat, as vertex ids (numbered in order of first appearance).
    pub fn read(areas: &[&MultiPolygon<f64>]) -> (Vertices, Vec<ShapeRings>) {
        let mut ids: KeyMap<(u64, u64), u32> = KeyMap::default();
        let mut coords: Vec<Coord<f64>> = Vec::new();
        let mut shapes: Vec<ShapeRings> = Vec::with_capacity(areas.len());
        for chunk in areas.chunks(CHUNK) {
            let world: Vec<Vec<Vec<Vec<Coord<f64>>>>> =
                chunk.par_iter().map(|area| world_rings(area)).collect();
            for polygons in world {
                let shape = polygons
                    .into_iter()
                    .map(|rings| {
                        rings
                            .into_iter()
                            .map(|ring| {
                                ring.into_iter()
                                    .map(|c| {
                                        let next = coords.len() as u32;
                                        let id = *ids.entry(key(c)).or_insert(next);
                                        if id == next {
                                            coords.push(c);
                                        }
                                        id
                                    })
                                    .collect()
                            })
                            .collect()
                    })
                    .collect();
                shapes.push(shape);
            }
        }
        drop(ids);
        let vertices = Vertices {
            neighbours: (0..coords.len())
                .map(|_| AtomicU64::new(pack(EMPTY, EMPTY)))
                .collect(),
            coords,
        };
        shapes.par_iter().for_each(|shape| {
            for ring in shape.iter().flatten() {
                for i in 0..ring.len() {
                    let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                    vertices.meet(a, b);
                    vertices.meet(b, a);
                }
            }
        });
        (vertices, shapes)
    }

    /// Records `v` as a neighbour of `u`.
    fn meet(&self, u: u32, v: u32) {
        let Some(slot) = self.neighbours.get(u as usize) else {
            return;
        };
        let mut seen = slot.load(Ordering::Relaxed);
        loop {
            let (a, b) = unpack(seen);
            let next = if a == v || b == v || b == MANY {
                return;
            } else if a == EMPTY {
                pack(v, EMPTY)
            } else if b == EMPTY {
                pack(a, v)
            } else {
                pack(a, MANY)
            };
            match slot.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => seen = now,
            }
        }
    }

    /// Distinct neighbours of vertex `v` over the rings read, counted up to 3 (3: three or more).
    pub fn degree(&self, v: u32) -> usize {
        let Some(slot) = self.neighbours.get(v as usize) else {
            return 0;
        };
        match unpack(slot.load(Ordering::Relaxed)) {
            (EMPTY, _) => 0,
            (_, EMPTY) => 1,
            (_, MANY) => 3,
            _ => 2,
        }
    }

    /// Whether vertex `v` is a node: a ring's arcs end there (its neighbours are not exactly
    /// two).
    pub fn is_node(&self, v: u32) -> bool {
        self.degree(v) != 2
    }

    /// World bounds of a shape's rings.
    pub fn bounds(&self, rings: &ShapeRings) -> Option<Rect<f64>> {
        let mut points = rings.iter().flatten().flatten();
        let first = self.coords[*points.next()? as usize];
        let (min, max) = points.fold((first, first), |(min, max), &v| {
            let c = self.coords[v as usize];
            (
                Coord {
                    x: min.x.min(c.x),
                    y: min.y.min(c.y),
                },
                Coord {
                    x: max.x.max(c.x),
                    y: max.y.max(c.y),
                },
            )
        });
        Some(Rect::new(min, max))
    }
}

fn pack(a: u32, b: u32) -> u64 {
    u64::from(a) | (u64::from(b) << 32)
}

fn unpack(s: u64) -> (u32, u32) {
    (s as u32, (s >> 32) as u32)
}

/// A shape's rings in world coordinates, as [`Vertices::read`] numbers them.
fn world_rings(area: &MultiPolygon<f64>) -> Vec<Vec<Vec<Coord<f64>>>> {
    area.iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(world_ring)
                .filter(|r| r.len() >= 3)
                .collect()
        })
        .collect()
}

/// One ring in world coordinates, with no vertex repeated right after itself and no closing
/// repeat (equality of coordinate bits, as vertex ids).
fn world_ring(ring: &LineString<f64>) -> Vec<Coord<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    for &c in &ring.0 {
        let w = lon_lat_to_world(c);
        if out.last().map(|&l| key(l)) != Some(key(w)) {
            out.push(w);
        }
    }
    while out.len() > 1 && out.first().map(|&c| key(c)) == out.last().map(|&c| key(c)) {
        out.pop();
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use geo::Polygon;

    /// The first version's bookkeeping (a map of keys and a list of distinct neighbours per
    /// vertex, one ring at a time): the oracle, here and for the topology's first version.
    /// Degrees are counted up to three (a vertex is a node when its degree is not two).
    pub(in crate::tiles) fn reference(
        areas: &[&MultiPolygon<f64>],
    ) -> (Vec<Coord<f64>>, Vec<usize>, Vec<ShapeRings>) {
        let mut ids: HashMap<(u64, u64), u32> = HashMap::new();
        let mut coords = Vec::new();
        let mut neighbours: Vec<Vec<u32>> = Vec::new();
        let mut shapes = Vec::new();
        for area in areas {
            let mut shape = Vec::new();
            for p in area.iter() {
                let mut rings = Vec::new();
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    let mut r: Vec<u32> = Vec::new();
                    for &c in &ring.0 {
                        let w = lon_lat_to_world(c);
                        let next = ids.len() as u32;
                        let id = *ids.entry(key(w)).or_insert(next);
                        if id == next {
                            coords.push(w);
                            neighbours.push(Vec::new());
                        }
                        if r.last() != Some(&id) {
                            r.push(id);
                        }
                    }
                    while r.len() > 1 && r.first() == r.last() {
                        r.pop();
                    }
                    if r.len() < 3 {
                        continue;
                    }
                    for i in 0..r.len() {
                        let (a, b) = (r[i], r[(i + 1) % r.len()]);
                        for (u, v) in [(a, b), (b, a)] {
                            if !neighbours[u as usize].contains(&v) {
                                neighbours[u as usize].push(v);
                            }
                        }
                    }
                    rings.push(r);
                }
                shape.push(rings);
            }
            shapes.push(shape);
        }
        let degrees = neighbours.iter().map(|n| n.len().min(3)).collect();
        (coords, degrees, shapes)
    }

    /// A small deterministic generator (no dependency).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// Random rings over a small lattice, so vertices repeat across and within rings, with
    /// consecutive repeats, closing repeats, spikes and rings that collapse under three vertices.
    pub(in crate::tiles) fn random_areas(seed: u64) -> Vec<MultiPolygon<f64>> {
        let mut rng = Lcg(seed);
        (0..60)
            .map(|_| {
                let polygons = (0..1 + rng.next(2))
                    .map(|_| {
                        let mut rings = (0..1 + rng.next(3)).map(|_| {
                            let n = 1 + rng.next(9);
                            let mut ring: Vec<Coord<f64>> = (0..n)
                                .map(|_| Coord {
                                    x: 113.0 + rng.next(6) as f64 * 0.01,
                                    y: 23.0 + rng.next(6) as f64 * 0.01,
                                })
                                .collect();
                            if rng.next(2) == 0 && !ring.is_empty() {
                                let c = ring[ring.len() / 2];
                                ring.insert(ring.len() / 2, c);
                            }
                            LineString::from(ring)
                        });
                        let exterior = rings.next().unwrap_or_else(|| LineString::new(vec![]));
                        Polygon::new(exterior, rings.collect())
                    })
                    .collect();
                MultiPolygon(polygons)
            })
            .collect()
    }

    #[test]
    fn ids_and_degrees_are_the_first_versions_on_random_rings() {
        for seed in 0..40 {
            let areas = random_areas(seed);
            let refs: Vec<&MultiPolygon<f64>> = areas.iter().collect();
            let (coords, degrees, shapes) = reference(&refs);
            let (vertices, rings) = Vertices::read(&refs);
            // Ids are numbered differently (the first version numbered the vertices of rings
            // it then dropped): compare what they stand for.
            let by_coords =
                |rings: &[ShapeRings], coords: &[Coord<f64>], degree: &dyn Fn(u32) -> usize| {
                    rings
                        .iter()
                        .map(|shape| {
                            shape
                                .iter()
                                .map(|p| {
                                    p.iter()
                                        .map(|r| {
                                            r.iter()
                                                .map(|&v| (key(coords[v as usize]), degree(v)))
                                                .collect::<Vec<_>>()
                                        })
                                        .collect::<Vec<_>>()
                                })
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                };
            let want = by_coords(&shapes, &coords, &|v| degrees[v as usize]);
            let got = by_coords(&rings, &vertices.coords, &|v| vertices.degree(v));
            assert_eq!(got, want, "seed {seed}");
            // Every vertex has one id.
            let distinct: std::collections::HashSet<(u64, u64)> =
                vertices.coords.iter().map(|&c| key(c)).collect();
            assert_eq!(distinct.len(), vertices.coords.len(), "seed {seed}");
        }
    }

    #[test]
    fn a_vertex_met_by_three_rings_along_different_edges_is_a_node() {
        let c = |x: f64, y: f64| Coord { x, y };
        let square = |x0: f64| {
            MultiPolygon(vec![Polygon::new(
                LineString::from(vec![c(x0, 0.), c(x0 + 1., 0.), c(x0 + 1., 1.), c(x0, 1.)]),
                vec![],
            )])
        };
        let (a, b) = (square(0.), square(1.));
        let (v, rings) = Vertices::read(&[&a, &b]);
        let id = |p: Coord<f64>| {
            let w = lon_lat_to_world(p);
            v.coords
                .iter()
                .position(|&q| key(q) == key(w))
                .map(|i| i as u32)
        };
        assert_eq!(rings.len(), 2);
        assert!(id(c(1., 0.)).is_some_and(|i| v.degree(i) == 3 && v.is_node(i)));
        assert!(id(c(0., 0.)).is_some_and(|i| v.degree(i) == 2 && !v.is_node(i)));
    }
}
