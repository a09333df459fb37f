//! Clipping a shape to a tile (plus buffer) and snapping it to the tile's integer grid.
//!
//! The `mvt` crate only clamps points to its bounds, which folds polygons onto the tile edge;
//! real polygon clipping (geo's `BooleanOps`) cuts them instead. Rounding to integers can then
//! make a narrow part cross itself or collapse, so the rounded rings are rebuilt by i_overlay's
//! integer overlay into OGC-valid polygons: exteriors with positive area, holes negative, no
//! self-intersection, no repeated or collinear point, nothing of zero area.

use geo::{BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{ContourDirection, IntOverlayOptions};
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;

use super::tile_id::{BUFFER, EXTENT};

/// A polygon in tile units: exterior first, then holes; rings open (no closing repeat).
pub type TilePolygon = Vec<Vec<[i32; 2]>>;

/// The square, in tile units, that geometry is clipped to.
pub fn clip_square() -> Rect<f64> {
    let b = f64::from(BUFFER);
    let e = f64::from(EXTENT);
    Rect::new(Coord { x: -b, y: -b }, Coord { x: e + b, y: e + b })
}

/// Clips `shape` (in tile units, y down) to the buffered tile and snaps it to integers; returns
/// no polygon when nothing of positive area is left.
pub fn clip_and_snap(shape: &MultiPolygon<f64>) -> Vec<TilePolygon> {
    let square = clip_square();
    let Some(bounds) = shape.bounding_rect() else {
        return Vec::new();
    };
    let inside = bounds.min().x >= square.min().x
        && bounds.min().y >= square.min().y
        && bounds.max().x <= square.max().x
        && bounds.max().y <= square.max().y;
    let disjoint = bounds.max().x <= square.min().x
        || bounds.max().y <= square.min().y
        || bounds.min().x >= square.max().x
        || bounds.min().y >= square.max().y;
    if disjoint {
        return Vec::new();
    }
    let clipped;
    let shape = if inside {
        shape
    } else {
        clipped = shape.intersection(&MultiPolygon(vec![square.to_polygon()]));
        &clipped
    };
    snap(shape)
}

/// Rounds to the integer grid and rebuilds valid polygons from the rounded rings.
fn snap(shape: &MultiPolygon<f64>) -> Vec<TilePolygon> {
    let round = |c: &Coord<f64>| IntPoint::new(c.x.round() as i32, c.y.round() as i32);
    let contours: Vec<Vec<IntPoint>> = shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|ring| {
            let mut pts: Vec<IntPoint> = ring.0.iter().map(round).collect();
            pts.dedup();
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            pts
        })
        .filter(|pts| pts.len() >= 3)
        .collect();
    if contours.is_empty() {
        return Vec::new();
    }
    let options = IntOverlayOptions {
        // Counter-clockwise in the plain (x, y) sense is positive shoelace area, which is what
        // MVT asks of exteriors in its y-down tile coordinates.
        output_direction: ContourDirection::CounterClockwise,
        ogc: true,
        ..IntOverlayOptions::default()
    };
    // Parts of a multipolygon never overlap, so even-odd reads holes right whatever the input
    // ring orientation.
    contours
        .as_slice()
        .simplify(FillRule::EvenOdd, options)
        .into_iter()
        .map(|shape| {
            shape
                .into_iter()
                .map(|ring| ring.into_iter().map(|p| [p.x, p.y]).collect())
                .collect()
        })
        .collect()
}

/// Twice the signed (shoelace) area of an open ring.
pub fn ring_area2(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let [x0, y0] = ring[i];
            let [x1, y1] = ring[(i + 1) % n];
            i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn clips_to_the_buffered_square_with_positive_exterior() {
        let big = MultiPolygon(vec![polygon![
            (x: -1000., y: -1000.), (x: 1000., y: -1000.), (x: 1000., y: 1000.), (x: -1000., y: 1000.)
        ]]);
        let out = clip_and_snap(&big);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 1);
        assert_eq!(ring_area2(&out[0][0]), 2 * 1064 * 1064);
        for p in &out[0][0] {
            assert!(p.iter().all(|&v| v == -64 || v == 1000), "{p:?}");
        }
    }

    #[test]
    fn holes_are_negative_and_slivers_vanish() {
        let with_hole = MultiPolygon(vec![polygon!(
            exterior: [(x: 0., y: 0.), (x: 0., y: 100.), (x: 100., y: 100.), (x: 100., y: 0.)],
            interiors: [[(x: 10., y: 10.), (x: 20., y: 10.), (x: 20., y: 20.), (x: 10., y: 20.)]],
        )]);
        let out = clip_and_snap(&with_hole);
        assert_eq!(out[0].len(), 2);
        assert!(ring_area2(&out[0][0]) > 0);
        assert!(ring_area2(&out[0][1]) < 0);
        let sliver = MultiPolygon(vec![polygon![
            (x: 0., y: 0.), (x: 100., y: 0.2), (x: 100., y: 0.3)
        ]]);
        assert!(clip_and_snap(&sliver).is_empty());
    }
}
