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
        let (worst, worst_d) = farthest(arc, a, b);
        if worst_d > tol2 {
            keep[worst] = true;
            stack.push((a, worst));
            stack.push((worst, b));
        }
    }
}

/// The vertex strictly between `a` and `b` farthest from the segment `arc[a]`–`arc[b]` (the
/// first of equals) and its squared distance; `(a, -1.0)` when there is none (or only NaN
/// distances). Douglas–Peucker splits a span there or nowhere.
fn farthest(arc: &[Coord<f64>], a: usize, b: usize) -> (usize, f64) {
    let (mut worst, mut worst_d) = (a, -1.0);
    for (i, &c) in arc.iter().enumerate().take(b).skip(a + 1) {
        let d = segment_dist2(c, arc[a], arc[b]);
        if d > worst_d {
            (worst, worst_d) = (i, d);
        }
    }
    (worst, worst_d)
}

/// Per vertex of `arc`, the first of the tolerances `tol2` (squared, decreasing: one per
/// simplified zoom) at which [`simplify_arc`] keeps it, written to `out` (as long as `arc`);
/// `u8::MAX` when none does.
///
/// Why one pass gives every zoom: Douglas–Peucker picks the farthest vertex of a span whatever
/// the tolerance, and only the tolerance decides whether it splits there. So a vertex is kept
/// at a tolerance exactly when its own distance and those of every split above it exceed it:
/// the least of them is its threshold, and the kept sets of finer zooms contain the coarser
/// ones'. A tile then assembles a zoom's rings from the arcs' own vertices, one byte each,
/// instead of 17 zooms of simplified copies (3.5 GB at ×100, issue 20).
pub fn keep_levels(arc: &[Coord<f64>], tol2: &[f64], out: &mut [u8]) {
    let n = arc.len();
    let mut threshold = vec![f64::INFINITY; n];
    if n > 2 {
        threshold[1..n - 1].fill(f64::NEG_INFINITY);
        if arc[0] == arc[n - 1] {
            let far = (1..n - 1)
                .max_by(|&i, &j| dist2(arc[i], arc[0]).total_cmp(&dist2(arc[j], arc[0])))
                .unwrap_or(n / 2);
            threshold[far] = f64::INFINITY;
            thresholds(arc, 0, far, &mut threshold);
            thresholds(arc, far, n - 1, &mut threshold);
        } else {
            thresholds(arc, 0, n - 1, &mut threshold);
        }
    }
    for (level, &t) in out.iter_mut().zip(&threshold) {
        *level = tol2
            .iter()
            .position(|&tol2| t > tol2)
            .map_or(u8::MAX, |l| l.min(usize::from(u8::MAX - 1)) as u8);
    }
}

/// [`mark`] at every tolerance at once: each vertex a split picks gets the least distance of
/// its split and the splits above it (the spans [`mark`] would recurse into are the same).
fn thresholds(arc: &[Coord<f64>], first: usize, last: usize, threshold: &mut [f64]) {
    let mut stack = vec![(first, last, f64::INFINITY)];
    while let Some((a, b, above)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (worst, worst_d) = farthest(arc, a, b);
        // No vertex farther than -1 (NaN distances): `mark` never splits such a span.
        if worst == a {
            continue;
        }
        let t = worst_d.min(above);
        threshold[worst] = t;
        stack.push((a, worst, t));
        stack.push((worst, b, t));
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

    /// The oracle is `simplify_arc` itself, run at each tolerance: random open and closed arcs,
    /// with repeated vertices and collinear runs, at 17 tolerances spanning the arcs' scale.
    #[test]
    fn keep_levels_are_what_simplify_arc_keeps_at_each_tolerance() {
        let mut next = crate::geometry::edge_grid::uniform(11);
        let tolerances: Vec<f64> = (0..17).map(|l| 2.0 / f64::from(1u32 << l)).collect();
        let tol2: Vec<f64> = tolerances.iter().map(|t| t * t).collect();
        let mut kept_somewhere = 0;
        for case in 0..400 {
            let n = 2 + (next() * 60.0) as usize;
            let mut arc: Vec<Coord<f64>> = (0..n)
                .map(|i| {
                    // Round a third of the cases to a coarse lattice: ties and collinear runs.
                    let (x, y) = (i as f64 * 0.3 + next(), next() * 3.0);
                    if case % 3 == 0 {
                        c((x * 2.0).round() / 2.0, (y * 2.0).round() / 2.0)
                    } else {
                        c(x, y)
                    }
                })
                .collect();
            if case % 4 == 1 {
                arc.push(arc[0]);
            }
            if case % 5 == 2 && n > 3 {
                arc[2] = arc[1];
            }
            let mut levels = vec![0; arc.len()];
            keep_levels(&arc, &tol2, &mut levels);
            for (l, &t) in tolerances.iter().enumerate() {
                let by_level: Vec<Coord<f64>> = arc
                    .iter()
                    .zip(&levels)
                    .filter(|&(_, &k)| usize::from(k) <= l)
                    .map(|(&p, _)| p)
                    .collect();
                assert_eq!(by_level, simplify_arc(&arc, t), "case {case}, level {l}");
                kept_somewhere += by_level.len();
            }
        }
        assert!(kept_somewhere > 10_000, "{kept_somewhere}");
    }
}
