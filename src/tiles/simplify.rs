//! Douglas–Peucker simplification of one arc with its endpoints fixed.
//!
//! Endpoints are nodes shared with other arcs; keeping them is what lets every ring be rebuilt
//! from simplified arcs without gaps.

use geo::Coord;

/// Simplifies `arc` so that no dropped vertex lies farther than `tolerance` from the result.
/// A closed arc (first = last) is split at its vertex farthest from the start so that it keeps
/// at least a triangle's worth of shape.
pub fn simplify_arc(arc: &[Coord<f64>], tolerance: f64) -> Vec<Coord<f64>> {
    let n = arc.len();
    if n <= 2 || tolerance <= 0.0 {
        return arc.to_vec();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    if arc[0] == arc[n - 1] {
        let far = (1..n - 1)
            .max_by(|&i, &j| dist2(arc[i], arc[0]).total_cmp(&dist2(arc[j], arc[0])))
            .unwrap_or(n / 2);
        keep[far] = true;
        mark(arc, 0, far, tolerance * tolerance, &mut keep);
        mark(arc, far, n - 1, tolerance * tolerance, &mut keep);
    } else {
        mark(arc, 0, n - 1, tolerance * tolerance, &mut keep);
    }
    arc.iter()
        .zip(keep)
        .filter_map(|(&c, k)| k.then_some(c))
        .collect()
}

/// Marks the vertices between `first` and `last` that Douglas–Peucker keeps (iteratively, so a
/// long arc cannot overflow the stack).
fn mark(arc: &[Coord<f64>], first: usize, last: usize, tol2: f64, keep: &mut [bool]) {
    let mut stack = vec![(first, last)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (mut worst, mut worst_d) = (a, -1.0);
        for (i, &c) in arc.iter().enumerate().take(b).skip(a + 1) {
            let d = segment_dist2(c, arc[a], arc[b]);
            if d > worst_d {
                (worst, worst_d) = (i, d);
            }
        }
        if worst_d > tol2 {
            keep[worst] = true;
            stack.push((a, worst));
            stack.push((worst, b));
        }
    }
}

fn dist2(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

/// Squared distance from `p` to the segment `a`–`b`.
fn segment_dist2(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    if len2 == 0.0 {
        return dist2(p, a);
    }
    let t = (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0);
    dist2(p, a + d * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn keeps_endpoints_and_far_vertices_only() {
        let arc = [c(0., 0.), c(1., 0.1), c(2., 0.), c(3., 5.), c(4., 0.)];
        let s = simplify_arc(&arc, 0.5);
        assert_eq!(s, vec![c(0., 0.), c(2., 0.), c(3., 5.), c(4., 0.)]);
        assert_eq!(simplify_arc(&arc, 10.0), vec![c(0., 0.), c(4., 0.)]);
    }

    #[test]
    fn closed_arc_keeps_a_far_vertex() {
        let ring = [c(0., 0.), c(1., 0.), c(1., 1.), c(0., 1.), c(0., 0.)];
        let s = simplify_arc(&ring, 0.1);
        assert_eq!(s, ring.to_vec());
        let coarse = simplify_arc(&ring, 100.0);
        assert_eq!(coarse, vec![c(0., 0.), c(1., 1.), c(0., 0.)]);
    }
}
