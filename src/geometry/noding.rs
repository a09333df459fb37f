//! Noding: T-junctions resolved, so every level sees one topology.
//!
//! Surveyed boundaries meet at T-junctions: a grid drawn inside a community puts a corner *on*
//! the community's edge where that edge has no vertex (and survey noise puts it a few
//! millimetres off). Overlays then find hair-thin slivers between the edge and the grid edges
//! along it, shared-arc detection (tiles, dissolve) finds no shared arc, and the audit and the
//! rules see gaps that are not there. Noding inserts every vertex that lies within the
//! tolerance of another feature's edge (and not within it of that edge's ends) into that edge,
//! at the vertex's own position, so both features then carry the same vertices. Edges move by
//! at most the tolerance; nothing is removed. A bucket grid of the edges (boxes grown by the
//! tolerance; `edge_grid`) keeps it near O(n): an R-tree's bulk load was half of noding's time
//! at ×10 and grew faster than linearly (BENCHMARKS.md, issue 21).

use geo::{Coord, Line, LineString, MultiPolygon};
use rayon::prelude::*;

use super::edge_grid::{Bounds, EdgeGrid};
use super::measure::metres_per_degree;

/// One edge: which area, polygon and ring (0 the exterior, k the hole k − 1), and its start.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct EdgeId {
    area: usize,
    polygon: usize,
    ring: usize,
    start: usize,
}

/// A vertex to insert into an edge: where along it (0…1) and the point.
struct Insertion {
    edge: EdgeId,
    t: f64,
    point: Coord<f64>,
}

/// A ring of one area while the junctions are found: where it is, and how far (degrees) its
/// edges' boxes are grown so that they hold every vertex within the tolerance.
struct RingRef<'a> {
    area: usize,
    polygon: usize,
    ring: usize,
    line: &'a LineString<f64>,
    grow: [f64; 2],
}

impl RingRef<'_> {
    /// Edge `i` (from vertex `i` to `i + 1`).
    fn edge(&self, i: usize) -> Option<Line<f64>> {
        Some(Line::new(*self.line.0.get(i)?, *self.line.0.get(i + 1)?))
    }

    /// The box of `line` grown by the tolerance.
    fn edge_box(&self, line: Line<f64>) -> Bounds {
        let [gx, gy] = self.grow;
        (
            [
                line.start.x.min(line.end.x) - gx,
                line.start.y.min(line.end.y) - gy,
            ],
            [
                line.start.x.max(line.end.x) + gx,
                line.start.y.max(line.end.y) + gy,
            ],
        )
    }
}

fn rings(p: &geo::Polygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    std::iter::once(p.exterior()).chain(p.interiors())
}

/// Inserts into the edges of `areas` every vertex of another area lying within `tolerance_m`
/// metres of the edge (but farther than that from both of its ends); returns how many
/// junctions (distinct vertex–edge pairs) were resolved. Areas are left valid as far as the
/// tolerance is small against their edges: no vertex moves, edges bend by ≤ `tolerance_m`.
pub fn node(areas: &mut [&mut MultiPolygon<f64>], tolerance_m: f64) -> usize {
    if tolerance_m.is_nan() || tolerance_m <= 0.0 {
        return 0;
    }
    // Every ring once, with the tolerance in degrees at its first vertex: a ring spans a few
    // km, so the scale hardly changes along it, and the exact test below is in metres. The
    // index holds (ring, edge) pairs only; boxes are recomputed from the ring when needed.
    let mut ring_list: Vec<RingRef> = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for (p, polygon) in area.iter().enumerate() {
            for (r, ring) in rings(polygon).enumerate() {
                let Some(first) = ring.0.first() else {
                    continue;
                };
                let (kx, ky) = metres_per_degree(first.y);
                ring_list.push(RingRef {
                    area: a,
                    polygon: p,
                    ring: r,
                    line: ring,
                    grow: [1.01 * tolerance_m / kx, 1.01 * tolerance_m / ky],
                });
            }
        }
    }
    let grid = EdgeGrid::build(|| {
        ring_list.iter().enumerate().flat_map(|(k, ring)| {
            ring.line
                .lines()
                .enumerate()
                .map(move |(i, line)| ((k as u32, i as u32), ring.edge_box(line)))
        })
    });
    // The rings of area `a` are `ring_list[area_rings[a]..area_rings[a + 1]]`.
    let mut area_rings = vec![0usize; areas.len() + 1];
    for ring in &ring_list {
        area_rings[ring.area + 1] += 1;
    }
    for a in 1..area_rings.len() {
        area_rings[a] += area_rings[a - 1];
    }
    // Whether `v` (to the bit) is a vertex of area `a`: a vertex never splits the edges of an
    // area it is a vertex of (a shared vertex is in two or three areas).
    let is_vertex_of = |v: Coord<f64>, a: usize| {
        let (x, y) = (v.x.to_bits(), v.y.to_bits());
        ring_list[area_rings[a]..area_rings[a + 1]]
            .iter()
            .any(|ring| {
                let n = ring.line.0.len().saturating_sub(1);
                ring.line.0[..n]
                    .iter()
                    .any(|c| c.x.to_bits() == x && c.y.to_bits() == y)
            })
    };
    // Every vertex of every ring is asked about (queries are independent: spread over the
    // cores by rayon). A vertex shared by several rings is asked once per ring; the answers
    // are the same and collapse below. Whether the candidate edge's area has the vertex too is
    // asked only of the rare candidates that pass every other test: sorting all the vertices
    // (tens of millions at ×100, ~0.8 GB) to group each with its areas cost more (issue 20).
    let mut insertions: Vec<Insertion> = ring_list
        .par_iter()
        .flat_map_iter(|from| {
            let n = from.line.0.len().saturating_sub(1);
            let (grid, ring_list, is_vertex_of) = (&grid, &ring_list, &is_vertex_of);
            from.line.0[..n].iter().flat_map(move |&v| {
                let (kx, ky) = metres_per_degree(v.y);
                grid.candidates([v.x, v.y])
                    .iter()
                    .filter_map(move |&(k, i)| {
                        let ring = ring_list.get(k as usize)?;
                        if ring.area == from.area {
                            return None;
                        }
                        let line = ring.edge(i as usize)?;
                        // The box test an R-tree of the boxes would make, then the exact one.
                        let (lo, hi) = ring.edge_box(line);
                        let inside = lo[0] <= v.x && v.x <= hi[0] && lo[1] <= v.y && v.y <= hi[1];
                        if !inside {
                            return None;
                        }
                        let id = EdgeId {
                            area: ring.area,
                            polygon: ring.polygon,
                            ring: ring.ring,
                            start: i as usize,
                        };
                        // Local metres around the vertex.
                        let s = ((line.start.x - v.x) * kx, (line.start.y - v.y) * ky);
                        let e = ((line.end.x - v.x) * kx, (line.end.y - v.y) * ky);
                        let d = (e.0 - s.0, e.1 - s.1);
                        let len2 = d.0 * d.0 + d.1 * d.1;
                        let near =
                            |q: (f64, f64)| q.0 * q.0 + q.1 * q.1 <= tolerance_m * tolerance_m;
                        if len2 == 0.0 || near(s) || near(e) {
                            return None;
                        }
                        let t = -(s.0 * d.0 + s.1 * d.1) / len2;
                        ((0.0..=1.0).contains(&t)
                            && near((s.0 + t * d.0, s.1 + t * d.1))
                            && !is_vertex_of(v, id.area))
                        .then_some(Insertion {
                            edge: id,
                            t,
                            point: v,
                        })
                    })
            })
        })
        .collect();
    // Along each edge in order; a point given twice (e.g. -0.0 and 0.0) once.
    insertions.par_sort_by(|x, y| {
        x.edge
            .cmp(&y.edge)
            .then(x.t.total_cmp(&y.t))
            .then(x.point.x.total_cmp(&y.point.x))
            .then(x.point.y.total_cmp(&y.point.y))
    });
    insertions.dedup_by(|x, y| x.edge == y.edge && x.point == y.point);
    let junctions = insertions.len();
    // Rebuild each ring that gained vertices, edge by edge.
    let mut k = 0;
    while k < insertions.len() {
        let ring_of = |e: EdgeId| (e.area, e.polygon, e.ring);
        let key = ring_of(insertions[k].edge);
        let end = insertions[k..]
            .iter()
            .position(|x| ring_of(x.edge) != key)
            .map_or(insertions.len(), |n| k + n);
        let (a, p, r) = key;
        let polygon = &mut areas[a].0[p];
        let rebuild = |ring: &mut LineString<f64>| {
            let mut out = Vec::with_capacity(ring.0.len() + end - k);
            let mut next = k;
            for (i, &c) in ring.0.iter().enumerate() {
                out.push(c);
                while next < end && insertions[next].edge.start == i {
                    if out.last() != Some(&insertions[next].point) {
                        out.push(insertions[next].point);
                    }
                    next += 1;
                }
            }
            ring.0 = out;
        };
        if r == 0 {
            polygon.exterior_mut(rebuild);
        } else {
            polygon.interiors_mut(|holes| {
                if let Some(hole) = holes.get_mut(r - 1) {
                    rebuild(hole);
                }
            });
        }
        k = end;
    }
    junctions
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{BooleanOps, polygon};

    use crate::geometry::measure::area_m2;

    #[test]
    fn a_grid_corner_on_a_community_edge_becomes_a_vertex_of_both() {
        // The community's south edge runs 113.30 → 113.34 with no vertex between; two grids
        // meet at 113.32 on it, 1 mm north of the segment.
        let mut community: MultiPolygon<f64> =
            polygon![(x: 113.30, y: 22.40), (x: 113.34, y: 22.40), (x: 113.34, y: 22.43), (x: 113.30, y: 22.43)].into();
        let mm = 0.001 / metres_per_degree(22.4).1;
        let mid = 22.40 + mm;
        let mut west: MultiPolygon<f64> =
            polygon![(x: 113.30, y: 22.40), (x: 113.32, y: mid), (x: 113.32, y: 22.43), (x: 113.30, y: 22.43)].into();
        let mut east: MultiPolygon<f64> =
            polygon![(x: 113.32, y: mid), (x: 113.34, y: 22.40), (x: 113.34, y: 22.43), (x: 113.32, y: 22.43)].into();
        let gap_before = area_m2(&community.difference(&west.union(&east)));
        assert!(gap_before > 1.0, "{gap_before}");
        let junctions = node(&mut [&mut community, &mut west, &mut east], 0.005);
        // (113.32, mid) into the community's south edge; (113.32, 22.43) into its north edge.
        assert_eq!(junctions, 2);
        assert_eq!(community.0[0].exterior().0.len(), 7);
        assert!(
            community.0[0]
                .exterior()
                .0
                .contains(&Coord { x: 113.32, y: mid })
        );
        assert_eq!(west.0[0].exterior().0.len(), 5);
        let gap_after = area_m2(&community.difference(&west.union(&east)));
        assert!(gap_after < 1e-3, "{gap_after}");
    }

    #[test]
    fn vertices_beyond_the_tolerance_or_at_an_end_stay_out() {
        let mut a: MultiPolygon<f64> =
            polygon![(x: 0.0, y: 0.0), (x: 0.01, y: 0.0), (x: 0.01, y: 0.01), (x: 0.0, y: 0.01)]
                .into();
        // 1 cm south of a's south edge, and a vertex 1 mm from a's corner.
        let cm = 0.01 / metres_per_degree(0.0).1;
        let mut b: MultiPolygon<f64> =
            polygon![(x: 0.001, y: -cm), (x: 0.005, y: -0.01), (x: 0.01 - 1e-8, y: 0.0)].into();
        assert_eq!(node(&mut [&mut a, &mut b], 0.005), 0);
        assert_eq!(a.0[0].exterior().0.len(), 5);
    }

    /// Every (vertex, edge) pair tested directly, without the grid: the vertices of each area
    /// against every edge of every other area that does not have the vertex.
    fn brute_force_junctions(areas: &[MultiPolygon<f64>], tolerance_m: f64) -> usize {
        let vertices = |a: &MultiPolygon<f64>| -> Vec<Coord<f64>> {
            a.iter()
                .flat_map(rings)
                .flat_map(|r| r.0[..r.0.len() - 1].to_vec())
                .collect()
        };
        let mut pairs = Vec::new();
        for area in areas {
            for (b, other) in areas.iter().enumerate() {
                let theirs = vertices(other);
                for v in vertices(area) {
                    if theirs.contains(&v) {
                        continue;
                    }
                    let (kx, ky) = metres_per_degree(v.y);
                    for (p, polygon) in other.iter().enumerate() {
                        for (r, ring) in rings(polygon).enumerate() {
                            for (i, line) in ring.lines().enumerate() {
                                let s = ((line.start.x - v.x) * kx, (line.start.y - v.y) * ky);
                                let e = ((line.end.x - v.x) * kx, (line.end.y - v.y) * ky);
                                let d = (e.0 - s.0, e.1 - s.1);
                                let len2 = d.0 * d.0 + d.1 * d.1;
                                let near = |q: (f64, f64)| q.0.hypot(q.1) <= tolerance_m;
                                if len2 == 0.0 || near(s) || near(e) {
                                    continue;
                                }
                                let t = -(s.0 * d.0 + s.1 * d.1) / len2;
                                if (0.0..=1.0).contains(&t) && near((s.0 + t * d.0, s.1 + t * d.1))
                                {
                                    pairs.push((b, p, r, i, v.x.to_bits(), v.y.to_bits()));
                                }
                            }
                        }
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs.len()
    }

    #[test]
    fn junctions_are_those_a_test_of_every_pair_finds() {
        // A 6 × 6 block of cells, each split in two where the cells above and below have no
        // vertex (some splits 1 mm off the cell's edge); the vertices neighbours share (in two
        // or four areas) never split each other's edges.
        let mm = 0.001 / metres_per_degree(22.4).1;
        let mut areas: Vec<MultiPolygon<f64>> = Vec::new();
        for row in 0..6 {
            for col in 0..6 {
                let (x0, y0) = (113.0 + col as f64 * 0.01, 22.4 + row as f64 * 0.01);
                let xm = x0 + 0.003 + 0.0005 * ((row * 7 + col) % 9) as f64;
                let (x1, y1) = (x0 + 0.01, y0 + 0.01);
                let off = if (row + col) % 3 == 0 { mm } else { 0.0 };
                areas.push(
                    geo::polygon![(x: x0, y: y0), (x: xm, y: y0 + off), (x: xm, y: y1), (x: x0, y: y1)].into(),
                );
                areas.push(
                    geo::polygon![(x: xm, y: y0 + off), (x: x1, y: y0), (x: x1, y: y1), (x: xm, y: y1)].into(),
                );
            }
        }
        let expected = brute_force_junctions(&areas, 0.005);
        assert!(expected > 30, "{expected}");
        let mut noded = areas.clone();
        let mut refs: Vec<&mut MultiPolygon<f64>> = noded.iter_mut().collect();
        assert_eq!(node(&mut refs, 0.005), expected);
        // Every inserted vertex is a vertex of some other area, and no vertex was lost.
        let added: usize = noded
            .iter()
            .zip(&areas)
            .map(|(n, a)| n.0[0].exterior().0.len() - a.0[0].exterior().0.len())
            .sum();
        assert_eq!(added, expected);
    }
}
