//! Structural validity of polygon rings as read from input: enough positions, closed, finite,
//! in range, and no edge crossing or touching another except at the vertex two consecutive edges
//! share. Lookups and area measures are only meaningful on valid polygons, so the loader refuses
//! anything else instead of guessing.

use geo::Coord;
use geo::kernels::{Kernel, Orientation, RobustKernel};

/// One problem found in a polygon's rings; ring 0 is the exterior, positions count from 0.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RingProblem {
    #[error("ring {ring} has {count} positions; a closed ring needs at least 4")]
    TooFewPositions { ring: usize, count: usize },
    #[error("ring {ring} is not closed: its first and last positions differ")]
    NotClosed { ring: usize },
    #[error("ring {ring} position {position} is not a finite number")]
    NonFinite { ring: usize, position: usize },
    #[error(
        "ring {ring} position {position} ({lon}, {lat}) is out of range \
         (longitude −180…180, latitude −90…90)"
    )]
    OutOfRange {
        ring: usize,
        position: usize,
        lon: f64,
        lat: f64,
    },
    #[error(
        "self-intersection: ring {ring_a} edge {edge_a} meets ring {ring_b} edge {edge_b} \
         near ({lon:.7}, {lat:.7})"
    )]
    SelfIntersection {
        ring_a: usize,
        edge_a: usize,
        ring_b: usize,
        edge_b: usize,
        lon: f64,
        lat: f64,
    },
}

/// A position as the checks read it: the loader's rings are `geo` coordinates, the tests'
/// plain `[lon, lat]` pairs.
pub trait LonLat: Copy + PartialEq {
    fn lon_lat(self) -> [f64; 2];
}

impl LonLat for [f64; 2] {
    fn lon_lat(self) -> [f64; 2] {
        self
    }
}

impl LonLat for Coord<f64> {
    fn lon_lat(self) -> [f64; 2] {
        [self.x, self.y]
    }
}

/// Checks the rings of one polygon (exterior first); returns every problem found.
///
/// Intersections are looked for only when every ring is structurally sound, and at most one is
/// reported per polygon: a broken ring usually crosses itself many times and one is enough to
/// point at.
pub fn check_polygon_rings<P: LonLat>(rings: &[Vec<P>]) -> Vec<RingProblem> {
    let mut problems = Vec::new();
    for (ring, positions) in rings.iter().enumerate() {
        for (position, [lon, lat]) in positions.iter().map(|p| p.lon_lat()).enumerate() {
            if !lon.is_finite() || !lat.is_finite() {
                problems.push(RingProblem::NonFinite { ring, position });
            } else if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                problems.push(RingProblem::OutOfRange {
                    ring,
                    position,
                    lon,
                    lat,
                });
            }
        }
        if positions.len() < 4 {
            problems.push(RingProblem::TooFewPositions {
                ring,
                count: positions.len(),
            });
        } else if positions.first() != positions.last() {
            problems.push(RingProblem::NotClosed { ring });
        }
    }
    if problems.is_empty() {
        problems.extend(first_intersection(rings));
    }
    problems
}

struct Edge {
    ring: usize,
    index: usize,
    a: Coord<f64>,
    b: Coord<f64>,
    /// The lexicographically (x, then y) smaller and larger end: the sweep meets `lo` first.
    lo: Coord<f64>,
    hi: Coord<f64>,
    /// Ids (positions in the edge list) of the previous and next edge of the same ring.
    prev: usize,
    next: usize,
}

fn lex(p: Coord<f64>, q: Coord<f64>) -> std::cmp::Ordering {
    p.x.total_cmp(&q.x).then(p.y.total_cmp(&q.y))
}

fn edges_of<P: LonLat>(rings: &[Vec<P>]) -> Vec<Edge> {
    let mut edges = Vec::new();
    for (ring, positions) in rings.iter().enumerate() {
        let first = edges.len();
        let n = positions.len() - 1;
        for (index, w) in positions.windows(2).enumerate() {
            // `+ 0.0` turns -0 into 0, so that equal points also sort together.
            let ([ax, ay], [bx, by]) = (w[0].lon_lat(), w[1].lon_lat());
            let a = Coord {
                x: ax + 0.0,
                y: ay + 0.0,
            };
            let b = Coord {
                x: bx + 0.0,
                y: by + 0.0,
            };
            let (lo, hi) = if lex(a, b).is_le() { (a, b) } else { (b, a) };
            edges.push(Edge {
                ring,
                index,
                a,
                b,
                lo,
                hi,
                prev: first + (index + n - 1) % n,
                next: first + (index + 1) % n,
            });
        }
    }
    edges
}

impl Edge {
    /// Consecutive edges of one ring share exactly one vertex, which is not a defect.
    fn adjacent(&self, other_id: usize) -> bool {
        self.prev == other_id || self.next == other_id
    }
}

/// The problem for edges `e` and `f` meeting at `at`, named in ring and edge order.
fn meeting(e: &Edge, f: &Edge, at: Coord<f64>) -> RingProblem {
    let (first, second) = if (e.ring, e.index) < (f.ring, f.index) {
        (e, f)
    } else {
        (f, e)
    };
    RingProblem::SelfIntersection {
        ring_a: first.ring,
        edge_a: first.index,
        ring_b: second.ring,
        edge_b: second.index,
        lon: at.x,
        lat: at.y,
    }
}

/// Whether two edges that are not neighbours in a ring share a point, and the problem if so.
fn touching(e: &Edge, f: &Edge) -> Option<RingProblem> {
    let (first, second) = if (e.ring, e.index) < (f.ring, f.index) {
        (e, f)
    } else {
        (f, e)
    };
    segments_touch(first.a, first.b, second.a, second.b).map(|at| meeting(e, f, at))
}

/// The first defect found among the edges of `rings`, in O(n log n) for n edges however the
/// rings are drawn (an earlier sweep by x-range alone took seconds for a sawtooth whose teeth
/// span the whole ring). Three steps, each assuming the previous found nothing:
/// 1. neighbouring edges of a ring: zero length, or folding back over each other;
/// 2. a vertex repeated anywhere (rings touching or crossing at a vertex);
/// 3. a Shamos–Hoey sweep: with every vertex distinct, edges are kept ordered along the sweep
///    line, and only edges that become neighbours in that order are tested; if any two edges
///    meet, the leftmost such meeting is between edges that were neighbours just before it.
fn first_intersection<P: LonLat>(rings: &[Vec<P>]) -> Option<RingProblem> {
    let edges = edges_of(rings);
    for (id, e) in edges.iter().enumerate() {
        let f = &edges[e.next];
        if e.next != id
            && let Some(at) = adjacent_edges_overlap(e, f)
        {
            return Some(meeting(e, f, at));
        }
    }
    // Each vertex is the start of exactly one edge.
    let mut starts: Vec<usize> = (0..edges.len()).collect();
    starts.sort_unstable_by(|&i, &j| lex(edges[i].a, edges[j].a));
    for pair in starts.windows(2) {
        let (e, f) = (&edges[pair[0]], &edges[pair[1]]);
        if e.a == f.a {
            return Some(meeting(e, f, e.a));
        }
    }
    sweep(&edges)
}

/// Where `f` lies relative to `e` along the sweep line, for edges both crossing it: the one met
/// later by the sweep is placed by which side of the other its first end is on (ties, which are
/// defects the neighbour tests report, by its other end, then by id).
fn order(edges: &[Edge], e: usize, f: usize) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if e == f {
        return Ordering::Equal;
    }
    let (older, newer, flip) = if lex(edges[e].lo, edges[f].lo).is_le() {
        (&edges[e], &edges[f], false)
    } else {
        (&edges[f], &edges[e], true)
    };
    let side = |p| match orient(older.lo, older.hi, p) {
        // `newer` lies above `older`: `older` comes first.
        Orientation::CounterClockwise => Some(Ordering::Less),
        Orientation::Clockwise => Some(Ordering::Greater),
        Orientation::Collinear => None,
    };
    let ordering = side(newer.lo)
        .or_else(|| side(newer.hi))
        .unwrap_or_else(|| e.cmp(&f));
    if flip { ordering.reverse() } else { ordering }
}

fn sweep(edges: &[Edge]) -> Option<RingProblem> {
    // Events: (edge, is_start); at one point, ends before starts, so neighbours in a ring never
    // meet in the status at their shared vertex.
    let mut events: Vec<(usize, bool)> = (0..edges.len())
        .flat_map(|id| [(id, true), (id, false)])
        .collect();
    let point = |&(id, start): &(usize, bool)| {
        if start { edges[id].lo } else { edges[id].hi }
    };
    events.sort_unstable_by(|x, y| lex(point(x), point(y)).then(x.1.cmp(&y.1)));
    let check = |i: usize, j: usize| {
        if edges[i].adjacent(j) {
            None
        } else {
            touching(&edges[i], &edges[j])
        }
    };
    // The edges crossing the sweep line, bottom to top.
    let mut status: Vec<usize> = Vec::new();
    for (id, start) in events {
        if start {
            let at = status.partition_point(|&other| order(edges, other, id).is_lt());
            status.insert(at, id);
            let neighbours = [at.checked_sub(1), Some(at + 1)];
            for n in neighbours.into_iter().flatten() {
                if let Some(&other) = status.get(n)
                    && let Some(problem) = check(other, id)
                {
                    return Some(problem);
                }
            }
        } else {
            let at = status
                .binary_search_by(|&other| order(edges, other, id))
                .ok()
                .filter(|&at| status[at] == id)
                .or_else(|| status.iter().position(|&other| other == id));
            let Some(at) = at else { continue };
            status.remove(at);
            if at > 0
                && let Some(&above) = status.get(at)
                && let Some(problem) = check(status[at - 1], above)
            {
                return Some(problem);
            }
        }
    }
    None
}

/// Two edges sharing a vertex are defective only when they fold back over each other (collinear
/// and overlapping beyond the shared vertex), or when one has zero length.
fn adjacent_edges_overlap(e: &Edge, f: &Edge) -> Option<Coord<f64>> {
    if e.a == e.b {
        return Some(e.a);
    }
    if f.a == f.b {
        return Some(f.a);
    }
    // The vertex not shared by `f` lying on `e` (or vice versa) means a fold.
    for p in [f.a, f.b] {
        if p != e.a && p != e.b && on_segment(e.a, e.b, p) {
            return Some(p);
        }
    }
    [e.a, e.b]
        .into_iter()
        .find(|&p| p != f.a && p != f.b && on_segment(f.a, f.b, p))
}

fn orient(p: Coord<f64>, q: Coord<f64>, r: Coord<f64>) -> Orientation {
    RobustKernel::orient2d(p, q, r)
}

fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    orient(a, b, p) == Orientation::Collinear
        && p.x >= a.x.min(b.x)
        && p.x <= a.x.max(b.x)
        && p.y >= a.y.min(b.y)
        && p.y <= a.y.max(b.y)
}

/// Whether closed segments ab and cd share any point; returns a point they share.
fn segments_touch(
    a: Coord<f64>,
    b: Coord<f64>,
    c: Coord<f64>,
    d: Coord<f64>,
) -> Option<Coord<f64>> {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    let proper = o1 != o2 && o3 != o4 && ![o1, o2, o3, o4].contains(&Orientation::Collinear);
    if proper {
        // Intersection point, for the message only.
        let (r, s) = (b - a, d - c);
        let t = ((c.x - a.x) * s.y - (c.y - a.y) * s.x) / (r.x * s.y - r.y * s.x);
        return Some(Coord {
            x: a.x + t * r.x,
            y: a.y + t * r.y,
        });
    }
    [(a, b, c), (a, b, d), (c, d, a), (c, d, b)]
        .into_iter()
        .find(|&(p, q, r)| on_segment(p, q, r))
        .map(|(_, _, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(f64, f64)]) -> Vec<[f64; 2]> {
        points.iter().map(|&(x, y)| [x, y]).collect()
    }

    #[test]
    fn a_square_is_valid() {
        let r = ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)]);
        assert!(check_polygon_rings(&[r]).is_empty());
    }

    #[test]
    fn a_bowtie_crosses_itself() {
        let r = ring(&[(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)]);
        let problems = check_polygon_rings(&[r]);
        assert!(
            matches!(problems.as_slice(), [RingProblem::SelfIntersection { lon, lat, .. }]
                if (*lon - 0.5).abs() < 1e-12 && (*lat - 0.5).abs() < 1e-12),
            "{problems:?}"
        );
    }

    #[test]
    fn a_ring_touching_itself_at_a_vertex_is_invalid() {
        // Figure eight through (1, 1).
        let r = ring(&[
            (0., 0.),
            (2., 0.),
            (1., 1.),
            (2., 2.),
            (0., 2.),
            (1., 1.),
            (0., 0.),
        ]);
        assert!(matches!(
            check_polygon_rings(&[r]).as_slice(),
            [RingProblem::SelfIntersection { .. }]
        ));
    }

    #[test]
    fn a_spike_folding_back_is_invalid() {
        let r = ring(&[(0., 0.), (2., 0.), (1., 0.), (1., 1.), (0., 0.)]);
        assert!(!check_polygon_rings(&[r]).is_empty());
    }

    #[test]
    fn a_hole_crossing_the_exterior_is_invalid() {
        let outer = ring(&[(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)]);
        let hole = ring(&[(1., 1.), (5., 1.), (5., 3.), (1., 3.), (1., 1.)]);
        assert!(matches!(
            check_polygon_rings(&[outer, hole]).as_slice(),
            [RingProblem::SelfIntersection {
                ring_a: 0,
                ring_b: 1,
                ..
            }]
        ));
    }

    #[test]
    fn structural_problems_are_all_reported() {
        let short = ring(&[(0., 0.), (1., 0.), (0., 0.)]);
        let open = ring(&[(0., 0.), (1., 0.), (1., 1.), (0., 1.)]);
        let far = ring(&[(0., 0.), (200., 0.), (1., 1.), (0., 0.)]);
        let nan = ring(&[(0., 0.), (f64::NAN, 0.), (1., 1.), (0., 0.)]);
        let problems = check_polygon_rings(&[short, open, far, nan]);
        assert_eq!(
            problems,
            vec![
                RingProblem::TooFewPositions { ring: 0, count: 3 },
                RingProblem::NotClosed { ring: 1 },
                RingProblem::OutOfRange {
                    ring: 2,
                    position: 1,
                    lon: 200.,
                    lat: 0.
                },
                RingProblem::NonFinite {
                    ring: 3,
                    position: 1
                },
            ]
        );
    }

    /// Every pair of edges, as the definition says: the reference for the sweep.
    fn brute_force(rings: &[Vec<[f64; 2]>]) -> bool {
        let edges = edges_of(rings);
        (0..edges.len()).any(|i| {
            (i + 1..edges.len()).any(|j| {
                let (e, f) = (&edges[i], &edges[j]);
                if e.adjacent(j) {
                    adjacent_edges_overlap(e, f).is_some()
                } else {
                    segments_touch(e.a, e.b, f.a, f.b).is_some()
                }
            })
        })
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn closed(mut points: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
        points.push(points[0]);
        points
    }

    #[test]
    fn the_sweep_agrees_with_brute_force_on_random_grid_rings() {
        // Vertices on a 5×5 lattice: many collinear edges, T-junctions, shared vertices and folds.
        let mut rng = Rng(0x5eed);
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..20_000 {
            let rings: Vec<_> = (0..1 + rng.below(2))
                .map(|_| {
                    let n = 3 + rng.below(5);
                    closed(
                        (0..n)
                            .map(|_| [rng.below(5) as f64, rng.below(5) as f64])
                            .collect(),
                    )
                })
                .collect();
            let expected = brute_force(&rings);
            assert_eq!(first_intersection(&rings).is_some(), expected, "{rings:?}");
            if expected { invalid += 1 } else { valid += 1 }
        }
        // Both outcomes were exercised.
        assert!(
            valid > 500 && invalid > 500,
            "{valid} valid, {invalid} invalid"
        );
    }

    /// A star-shaped ring: `n` vertices at increasing angles and random radii (always simple).
    fn star(rng: &mut Rng, n: usize, centre: [f64; 2], radius: f64) -> Vec<[f64; 2]> {
        closed(
            (0..n)
                .map(|i| {
                    let angle = (i as f64 + 0.9 * rng.unit()) / n as f64 * std::f64::consts::TAU;
                    let r = radius * (0.2 + 0.8 * rng.unit());
                    [centre[0] + r * angle.cos(), centre[1] + r * angle.sin()]
                })
                .collect(),
        )
    }

    #[test]
    fn the_sweep_agrees_with_brute_force_on_random_stars_and_holes() {
        let mut rng = Rng(42);
        for round in 0..300 {
            let n = 5 + rng.below(60) as usize;
            let outer = star(&mut rng, n, [113.0, 22.0], 0.01);
            // A hole that may or may not cross the exterior.
            let hole_n = 4 + rng.below(8) as usize;
            let hole = star(&mut rng, hole_n, [113.0, 22.0], 0.004);
            let mut rings = vec![outer];
            if round % 2 == 0 {
                rings.push(hole);
            }
            assert_eq!(
                first_intersection(&rings).is_some(),
                brute_force(&rings),
                "{rings:?}"
            );
        }
    }

    /// A comb whose teeth span the whole ring in x: every edge's x-range overlaps every other's,
    /// which made the earlier x-range sweep quadratic.
    fn sawtooth(teeth: usize) -> Vec<[f64; 2]> {
        let mut points = vec![[113.0, 22.0]];
        for i in 0..teeth {
            let y = 22.0 + (i as f64 + 0.5) * 1e-5;
            points.push([113.1, y]);
            points.push([113.0005, y + 0.5e-5]);
        }
        points.push([112.99, 22.0 + teeth as f64 * 1e-5]);
        closed(points)
    }

    #[test]
    fn a_sawtooth_is_valid_and_a_crossing_tooth_is_found() {
        let ring = sawtooth(500);
        assert!(!brute_force(std::slice::from_ref(&ring)));
        assert!(check_polygon_rings(std::slice::from_ref(&ring)).is_empty());
        // Pull one tooth's tip back across its neighbour.
        let mut broken = ring;
        broken[201][1] += 2e-5;
        assert!(brute_force(std::slice::from_ref(&broken)));
        assert!(matches!(
            check_polygon_rings(&[broken]).as_slice(),
            [RingProblem::SelfIntersection { .. }]
        ));
    }

    #[test]
    fn negative_zero_is_the_same_vertex_as_zero() {
        // Figure eight through (0, 1), once written as -0.
        let r = ring(&[
            (-1., 0.),
            (1., 0.),
            (0., 1.),
            (1., 2.),
            (-1., 2.),
            (-0., 1.),
            (-1., 0.),
        ]);
        assert!(matches!(
            check_polygon_rings(&[r]).as_slice(),
            [RingProblem::SelfIntersection { .. }]
        ));
    }
}
