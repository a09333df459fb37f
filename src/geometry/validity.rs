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

/// Checks the rings of one polygon (exterior first); returns every problem found.
///
/// Intersections are looked for only when every ring is structurally sound, and at most one is
/// reported per polygon: a broken ring usually crosses itself many times and one is enough to
/// point at.
pub fn check_polygon_rings(rings: &[Vec<[f64; 2]>]) -> Vec<RingProblem> {
    let mut problems = Vec::new();
    for (ring, positions) in rings.iter().enumerate() {
        for (position, &[lon, lat]) in positions.iter().enumerate() {
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
    /// Number of edges in the ring, to recognise the closing neighbour of edge 0.
    ring_len: usize,
    a: Coord<f64>,
    b: Coord<f64>,
}

impl Edge {
    fn min_x(&self) -> f64 {
        self.a.x.min(self.b.x)
    }
    fn max_x(&self) -> f64 {
        self.a.x.max(self.b.x)
    }
    fn y_overlaps(&self, other: &Edge) -> bool {
        self.a.y.min(self.b.y) <= other.a.y.max(other.b.y)
            && other.a.y.min(other.b.y) <= self.a.y.max(self.b.y)
    }
    /// Consecutive edges of one ring share exactly one vertex, which is not a defect.
    fn adjacent(&self, other: &Edge) -> bool {
        self.ring == other.ring
            && (self.index.abs_diff(other.index) == 1
                || self.index.abs_diff(other.index) == self.ring_len - 1)
    }
}

/// Sweeps edges sorted by their west end; each edge is compared with the edges whose x-range
/// overlaps it. Near-linear for the short edges of real boundaries.
fn first_intersection(rings: &[Vec<[f64; 2]>]) -> Option<RingProblem> {
    let mut edges: Vec<Edge> = rings
        .iter()
        .enumerate()
        .flat_map(|(ring, positions)| {
            let ring_len = positions.len() - 1;
            positions
                .windows(2)
                .enumerate()
                .map(move |(index, w)| Edge {
                    ring,
                    index,
                    ring_len,
                    a: Coord {
                        x: w[0][0],
                        y: w[0][1],
                    },
                    b: Coord {
                        x: w[1][0],
                        y: w[1][1],
                    },
                })
        })
        .collect();
    edges.sort_by(|e, f| e.min_x().total_cmp(&f.min_x()));
    for (i, e) in edges.iter().enumerate() {
        for f in edges[i + 1..].iter().take_while(|f| f.min_x() <= e.max_x()) {
            if !e.y_overlaps(f) {
                continue;
            }
            let hit = if e.adjacent(f) {
                adjacent_edges_overlap(e, f)
            } else {
                segments_touch(e.a, e.b, f.a, f.b)
            };
            if let Some(at) = hit {
                let (first, second) = if (e.ring, e.index) < (f.ring, f.index) {
                    (e, f)
                } else {
                    (f, e)
                };
                return Some(RingProblem::SelfIntersection {
                    ring_a: first.ring,
                    edge_a: first.index,
                    ring_b: second.ring,
                    edge_b: second.index,
                    lon: at.x,
                    lat: at.y,
                });
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
}
