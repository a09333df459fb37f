//! How often one straight line across a boundary meets it: a measure of how convoluted the
//! boundary is, which bounds the cost of overlaying it.
//!
//! The polygon overlay (`i_overlay`, behind geo's `BooleanOps`) takes time that grows with the
//! number of edges any sweep line meets at once: a "comb" ring of 19,000 vertices whose teeth
//! span a kilometre took 33 s to validate, a real community ring of the same size milliseconds.
//! A real boundary meets a vertical or horizontal line a handful of times (a few dozen for a
//! winding river); a comb meets it once per tooth. [`densest_axis_line`] finds the worst such
//! line in O(n log n), so a request can be refused before any overlay starts.

/// Which family of lines was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Lines of constant longitude (x).
    Vertical,
    /// Lines of constant latitude (y).
    Horizontal,
}

/// The axis-parallel line that meets the most edges, and how many it meets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisCrossing {
    pub axis: Axis,
    /// The line's coordinate (x for a vertical line, y for a horizontal one); the densest
    /// stretch starts here.
    pub at: f64,
    /// Edges the line crosses.
    pub count: usize,
}

/// The most edges of `paths` (rings or lines, as position lists) that one vertical or one
/// horizontal line crosses, with where that line is. `None` when there are no edges.
///
/// An edge counts when the line passes through its interior in that axis (half-open at the
/// ends, so a line through a shared vertex counts the two edges meeting there once, as one
/// crossing of the boundary); edges parallel to the line do not count. Non-finite coordinates
/// are skipped (the parser reports them).
pub fn densest_axis_line<'a>(
    paths: impl IntoIterator<Item = &'a [[f64; 2]]> + Clone,
) -> Option<AxisCrossing> {
    let vertical = densest(paths.clone(), 0).map(|(at, count)| AxisCrossing {
        axis: Axis::Vertical,
        at,
        count,
    });
    let horizontal = densest(paths, 1).map(|(at, count)| AxisCrossing {
        axis: Axis::Horizontal,
        at,
        count,
    });
    match (vertical, horizontal) {
        (Some(v), Some(h)) => Some(if h.count > v.count { h } else { v }),
        (v, h) => v.or(h),
    }
}

/// Sweep along `axis` (0 = x, 1 = y): each edge is the interval [lo, hi) of its coordinates;
/// the deepest overlap of intervals is the most edges one line of that family crosses.
fn densest<'a>(
    paths: impl IntoIterator<Item = &'a [[f64; 2]]>,
    axis: usize,
) -> Option<(f64, usize)> {
    // (coordinate, +1 start / -1 end); at equal coordinates ends sort first (half-open).
    let mut events: Vec<(f64, i8)> = Vec::new();
    for path in paths {
        for edge in path.windows(2) {
            let (a, b) = (edge[0][axis], edge[1][axis]);
            if !(a.is_finite() && b.is_finite()) || a == b {
                continue;
            }
            events.push((a.min(b), 1));
            events.push((a.max(b), -1));
        }
    }
    events.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
    let mut depth = 0usize;
    let mut best: Option<(f64, usize)> = None;
    for (at, step) in events {
        if step > 0 {
            depth += 1;
            if best.is_none_or(|(_, count)| depth > count) {
                best = Some((at, depth));
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn square() -> Vec<[f64; 2]> {
        vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    }

    /// A comb: `teeth` teeth from x = 0 to x = 10, stacked in y.
    fn comb(teeth: usize) -> Vec<[f64; 2]> {
        let mut ring = vec![[0.0, 0.0]];
        for i in 0..teeth {
            let y = i as f64;
            ring.push([10.0, y + 0.25]);
            ring.push([1.0, y + 0.5]);
        }
        ring.push([-1.0, teeth as f64]);
        ring.push([0.0, 0.0]);
        ring
    }

    #[test]
    fn a_square_is_crossed_twice() {
        let s = square();
        let c = densest_axis_line([s.as_slice()]).unwrap();
        assert_eq!(c.count, 2);
    }

    #[test]
    fn a_comb_is_crossed_once_per_tooth_edge() {
        let ring = comb(100);
        let c = densest_axis_line([ring.as_slice()]).unwrap();
        assert_eq!(c.axis, Axis::Vertical);
        assert_eq!(c.count, 200);
        // Turned a quarter, the same comb is dense along the other axis.
        let turned: Vec<[f64; 2]> = ring.iter().map(|p| [p[1], p[0]]).collect();
        let c = densest_axis_line([turned.as_slice()]).unwrap();
        assert_eq!(c.axis, Axis::Horizontal);
        assert_eq!(c.count, 200);
    }

    #[test]
    fn parts_add_up_and_nothing_gives_none() {
        let a = square();
        let b: Vec<[f64; 2]> = a.iter().map(|p| [p[0], p[1] + 5.0]).collect();
        assert_eq!(
            densest_axis_line([a.as_slice(), b.as_slice()])
                .unwrap()
                .count,
            4
        );
        let empty: [&[[f64; 2]]; 0] = [];
        assert_eq!(densest_axis_line(empty), None);
        let point = [[1.0, 1.0]];
        assert_eq!(densest_axis_line([point.as_slice()]), None);
    }

    /// Brute force: a vertical line strictly between two consecutive distinct vertex x's (or
    /// at a vertex x, for the half-open rule) crosses every edge whose [lo, hi) holds it.
    fn brute(path: &[[f64; 2]], axis: usize) -> usize {
        let mut xs: Vec<f64> = path.iter().map(|p| p[axis]).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs.iter()
            .map(|&x| {
                path.windows(2)
                    .filter(|e| {
                        let (a, b) = (e[0][axis], e[1][axis]);
                        a != b && a.min(b) <= x && x < a.max(b)
                    })
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    proptest! {
        #[test]
        fn agrees_with_brute_force(
            path in prop::collection::vec((0i32..20, 0i32..20), 2..40)
        ) {
            let path: Vec<[f64; 2]> = path.into_iter().map(|(x, y)| [x as f64, y as f64]).collect();
            let expected = brute(&path, 0).max(brute(&path, 1));
            let got = densest_axis_line([path.as_slice()]).map_or(0, |c| c.count);
            prop_assert_eq!(got, expected);
        }
    }
}
