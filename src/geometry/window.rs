//! Intersections computed only where they can be non-empty: near the overlap of the two
//! shapes' bounding boxes.
//!
//! The overlay (`geo`'s BooleanOps over i_overlay) costs time in proportion to all the edges of
//! both operands, wherever they lie. Validation intersects a part of a few grids with its town
//! (thousands of vertices), every neighbouring community and every nearby grid; most of those
//! edges are far from the part and cannot change the answer. Cutting each operand down to a
//! window around the overlap of the boxes first (a linear Sutherland–Hodgman pass per ring)
//! leaves the overlay only the edges that matter.
//!
//! Why the answer is the same: `a ∩ b` lies inside both boxes, so inside the window, and the
//! window is a little larger than the boxes' overlap, so nothing of `a ∩ b` touches its border.
//! Clipping a ring to a convex window gives the ring's part inside it, plus, where the ring
//! leaves and comes back, connecting edges along the window's border that are walked once each
//! way (no area). Those lie on the border, outside `a ∩ b`; the overlay cancels them.

use std::borrow::Cow;

use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect, coord};

/// `a ∩ b` with each operand first cut to a window around the overlap of `a_box` and `b_box`
/// (their bounding boxes). Empty when the boxes do not meet.
pub fn intersection_near(
    (a, a_box): (&MultiPolygon<f64>, Rect<f64>),
    (b, b_box): (&MultiPolygon<f64>, Rect<f64>),
) -> MultiPolygon<f64> {
    let Some(window) = window(a_box, b_box) else {
        return MultiPolygon(Vec::new());
    };
    let (a, b) = (clip(a, a_box, window), clip(b, b_box, window));
    if a.0.is_empty() || b.0.is_empty() {
        return MultiPolygon(Vec::new());
    }
    a.intersection(&*b)
}

/// [`intersection_near`] computing both boxes.
pub fn intersection(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(a_box), Some(b_box)) => intersection_near((a, a_box), (b, b_box)),
        _ => MultiPolygon(Vec::new()),
    }
}

/// `a − b` with `b` first cut to a window around `a`'s box: only `b`'s edges near `a` can
/// change the answer (the audit takes each community out of its whole town). The same answer
/// as the plain overlay because `a − b = a − (b ∩ W)` for any window `W` holding `a`, and the
/// connecting edges the cut leaves lie on `W`'s border, outside `a`.
pub fn difference(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let (Some(a_box), Some(b_box)) = (a.bounding_rect(), b.bounding_rect()) else {
        return a.difference(b);
    };
    let Some(window) = window(a_box, a_box) else {
        return a.difference(b);
    };
    a.difference(&*clip(b, b_box, window))
}

/// The overlap of two boxes grown on every side by 1 % of its larger side (and a little more
/// for a degenerate one), so nothing inside the overlap reaches the window's border.
fn window(a: Rect<f64>, b: Rect<f64>) -> Option<Rect<f64>> {
    let min = coord! { x: a.min().x.max(b.min().x), y: a.min().y.max(b.min().y) };
    let max = coord! { x: a.max().x.min(b.max().x), y: a.max().y.min(b.max().y) };
    if min.x > max.x || min.y > max.y {
        return None;
    }
    let span = (max.x - min.x).max(max.y - min.y);
    let scale = min
        .x
        .abs()
        .max(min.y.abs())
        .max(max.x.abs())
        .max(max.y.abs());
    let grow = span * 0.01 + scale * 1e-9 + f64::MIN_POSITIVE;
    Some(Rect::new(
        coord! { x: min.x - grow, y: min.y - grow },
        coord! { x: max.x + grow, y: max.y + grow },
    ))
}

/// `shape` cut to `window`, borrowed unchanged when its box `bounds` already lies inside.
fn clip<'a>(
    shape: &'a MultiPolygon<f64>,
    bounds: Rect<f64>,
    window: Rect<f64>,
) -> Cow<'a, MultiPolygon<f64>> {
    let inside = bounds.min().x >= window.min().x
        && bounds.min().y >= window.min().y
        && bounds.max().x <= window.max().x
        && bounds.max().y <= window.max().y;
    if inside {
        return Cow::Borrowed(shape);
    }
    let polygons = shape
        .0
        .iter()
        .filter_map(|p| {
            let exterior = clip_ring(p.exterior(), window)?;
            let holes = p
                .interiors()
                .iter()
                .filter_map(|h| clip_ring(h, window))
                .collect();
            Some(Polygon::new(exterior, holes))
        })
        .collect();
    Cow::Owned(MultiPolygon(polygons))
}

/// Whether a point is on the kept side of a window's side at the given coordinate.
type Keeps = fn(Coord<f64>, f64) -> bool;

/// One ring cut to `window` (Sutherland–Hodgman against its four sides); `None` when nothing
/// with area is left.
fn clip_ring(ring: &LineString<f64>, window: Rect<f64>) -> Option<LineString<f64>> {
    let (lo, hi) = (window.min(), window.max());
    let mut points: Vec<Coord<f64>> = ring.0.clone();
    // The closing point repeats the first; the passes treat the ring as closed anyway.
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    let sides: [(Keeps, f64, bool); 4] = [
        (|p, v| p.x >= v, lo.x, true),
        (|p, v| p.x <= v, hi.x, true),
        (|p, v| p.y >= v, lo.y, false),
        (|p, v| p.y <= v, hi.y, false),
    ];
    for (keeps, value, vertical) in sides {
        if points.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(points.len() + 4);
        let mut previous = points[points.len() - 1];
        for &point in &points {
            match (keeps(previous, value), keeps(point, value)) {
                (true, true) => out.push(point),
                (true, false) => out.push(crossing(previous, point, value, vertical)),
                (false, true) => {
                    out.push(crossing(previous, point, value, vertical));
                    out.push(point);
                }
                (false, false) => {}
            }
            previous = point;
        }
        points = out;
    }
    if points.len() < 3 {
        return None;
    }
    points.push(points[0]);
    Some(LineString(points))
}

/// Where the segment `a`–`b` crosses the line `x = value` (`vertical`) or `y = value`.
fn crossing(a: Coord<f64>, b: Coord<f64>, value: f64, vertical: bool) -> Coord<f64> {
    if vertical {
        let t = (value - a.x) / (b.x - a.x);
        coord! { x: value, y: a.y + t * (b.y - a.y) }
    } else {
        let t = (value - a.y) / (b.y - a.y);
        coord! { x: a.x + t * (b.x - a.x), y: value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, polygon};

    fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(vec![p])
    }

    /// A comb: a base with `teeth` tall teeth, so most of its edges are far from a small square
    /// near the base, and a ring leaves and re-enters any window many times.
    fn comb(teeth: usize) -> MultiPolygon<f64> {
        let width = (2 * teeth + 1) as f64;
        let mut ring = vec![
            coord! { x: 0.0, y: -1.0 },
            coord! { x: width, y: -1.0 },
            coord! { x: width, y: 0.0 },
        ];
        for i in (0..teeth).rev() {
            let x = (2 * i) as f64;
            ring.push(coord! { x: x + 2.0, y: 0.0 });
            ring.push(coord! { x: x + 2.0, y: 10.0 });
            ring.push(coord! { x: x + 1.0, y: 10.0 });
            ring.push(coord! { x: x + 1.0, y: 0.0 });
        }
        ring.push(coord! { x: 0.0, y: 0.0 });
        mp(Polygon::new(LineString(ring), vec![]))
    }

    #[test]
    fn the_same_area_as_the_whole_overlay() {
        let big = comb(20);
        let with_hole = mp(polygon![
            exterior: [(x: 2.5, y: -0.5), (x: 9.5, y: -0.5), (x: 9.5, y: 5.0), (x: 2.5, y: 5.0)],
            interiors: [[(x: 4.0, y: 0.0), (x: 5.0, y: 0.0), (x: 5.0, y: 0.5), (x: 4.0, y: 0.5)]],
        ]);
        for small in [
            with_hole,
            mp(polygon![(x: 0.5, y: 0.5), (x: 7.5, y: 0.5), (x: 7.5, y: 11.0), (x: 0.5, y: 11.0)]),
            mp(polygon![(x: -5.0, y: -5.0), (x: 50.0, y: -5.0), (x: 50.0, y: 20.0)]),
        ] {
            let expected = small.intersection(&big).unsigned_area();
            assert!(expected > 0.0);
            // The overlay snaps to an integer grid scaled to its operands' box, so a smaller
            // operand is snapped more finely: equal to 1e-8 of the area.
            let near = intersection(&small, &big).unsigned_area();
            assert!(
                (near - expected).abs() < expected * 1e-8,
                "{near} vs {expected}"
            );
            let reversed = intersection(&big, &small).unsigned_area();
            assert!(
                (reversed - expected).abs() < expected * 1e-8,
                "{reversed} vs {expected}"
            );
        }
    }

    #[test]
    fn difference_is_the_whole_overlays() {
        let big = comb(40);
        for small in [
            mp(
                polygon![(x: 0.5, y: -0.5), (x: 7.5, y: -0.5), (x: 7.5, y: 11.0), (x: 0.5, y: 11.0)],
            ),
            mp(polygon![
                exterior: [(x: 2.5, y: -2.0), (x: 9.5, y: -2.0), (x: 9.5, y: 5.0), (x: 2.5, y: 5.0)],
                interiors: [[(x: 4.0, y: 0.0), (x: 5.0, y: 0.0), (x: 5.0, y: 0.5), (x: 4.0, y: 0.5)]],
            ]),
            // Wholly inside the comb's base: nothing is left.
            mp(polygon![(x: 3.0, y: -0.8), (x: 4.0, y: -0.8), (x: 4.0, y: -0.2)]),
            // Far from it: all is left.
            mp(polygon![(x: 300.0, y: 300.0), (x: 301.0, y: 300.0), (x: 301.0, y: 301.0)]),
        ] {
            let expected = small.difference(&big).unsigned_area();
            let near = difference(&small, &big).unsigned_area();
            assert!(
                (near - expected).abs() <= expected * 1e-8 + 1e-12,
                "{near} vs {expected}"
            );
        }
        let empty = MultiPolygon::<f64>(Vec::new());
        assert_eq!(difference(&empty, &big).unsigned_area(), 0.0);
        assert_eq!(
            difference(&big, &empty).unsigned_area(),
            big.unsigned_area()
        );
    }

    #[test]
    fn far_edges_are_cut_away() {
        let big = comb(200);
        let small =
            mp(polygon![(x: 0.5, y: -0.5), (x: 3.5, y: -0.5), (x: 3.5, y: 0.5), (x: 0.5, y: 0.5)]);
        let (Some(a), Some(b)) = (small.bounding_rect(), big.bounding_rect()) else {
            panic!("boxes");
        };
        let window = window(a, b).expect("the boxes meet");
        let cut = clip(&big, b, window);
        let vertices: usize = cut.0.iter().map(|p| p.exterior().0.len()).sum();
        assert!(vertices < 20, "{vertices} vertices left of 800");
        let expected = small.intersection(&big).unsigned_area();
        assert!((intersection(&small, &big).unsigned_area() - expected).abs() < expected * 1e-8);
    }

    #[test]
    fn apart_is_empty_and_inside_is_borrowed() {
        let a = mp(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]);
        let b = mp(polygon![(x: 5.0, y: 5.0), (x: 6.0, y: 5.0), (x: 6.0, y: 6.0)]);
        assert!(intersection(&a, &b).0.is_empty());
        let bounds = a.bounding_rect().expect("box");
        let window = window(bounds, bounds).expect("window");
        assert!(matches!(clip(&a, bounds, window), Cow::Borrowed(_)));
    }
}
