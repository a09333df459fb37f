//! Planar geometry helpers shared by the registry, the index and (later) rules and audit.
//!
//! Coordinates are WGS84 longitude/latitude in degrees (CGCS2000 is treated as equal). The helpers
//! here are exact-enough planar predicates: lookups and validity only need consistent, deterministic
//! answers, not metric measures (geodesic areas come from `geo`).

pub mod crossings;
pub mod dissolve;
pub mod edge_grid;
pub mod geojson;
pub mod measure;
pub mod noding;
pub mod point_in_polygon;
pub mod validity;
pub mod window;

pub use point_in_polygon::Rings;

use geo::{BoundingRect, MultiPolygon, Rect, coord};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// The smallest rectangle holding all of `rects`; `None` when there are none.
pub fn union_bounds(rects: impl IntoIterator<Item = Rect<f64>>) -> Option<Rect<f64>> {
    rects.into_iter().reduce(|a, b| {
        Rect::new(
            coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}

/// Pairs `(i, j)`, `i < j`, of `areas` whose bounding boxes touch, sorted: the only pairs that
/// can share any area. An R-tree of the boxes finds them in O(n log n + pairs), where testing
/// every pair took seconds for a proposal of a few thousand small parts.
pub fn pairs_with_touching_boxes<'a>(
    areas: impl IntoIterator<Item = &'a MultiPolygon<f64>>,
) -> Vec<(usize, usize)> {
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = areas
        .into_iter()
        .enumerate()
        .filter_map(|(i, area)| {
            let b = area.bounding_rect()?;
            let corners = ([b.min().x, b.min().y], [b.max().x, b.max().y]);
            Some(GeomWithData::new(
                Rectangle::from_corners(corners.0, corners.1),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes.clone());
    let mut pairs: Vec<(usize, usize)> = boxes
        .iter()
        .flat_map(|a| {
            let envelope = AABB::from_corners(a.geom().lower(), a.geom().upper());
            tree.locate_in_envelope_intersecting(&envelope)
                .filter(|b| b.data > a.data)
                .map(|b| (a.data, b.data))
                .collect::<Vec<_>>()
        })
        .collect();
    pairs.sort_unstable();
    pairs
}

pub use validity::{RingProblem, check_polygon_rings};

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Polygon, polygon};

    fn square(x: f64, y: f64, size: f64) -> MultiPolygon<f64> {
        let p: Polygon<f64> = polygon![
            (x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size)
        ];
        MultiPolygon(vec![p])
    }

    #[test]
    fn touching_box_pairs_match_the_all_pairs_test() {
        // Squares on a jittered lattice: some overlap, some touch at an edge, most are apart.
        let areas: Vec<_> = (0..200)
            .map(|i| {
                let (x, y) = ((i % 20) as f64, (i / 20) as f64);
                square(
                    x * 0.9 + (i % 7) as f64 * 0.05,
                    y,
                    0.8 + (i % 3) as f64 * 0.1,
                )
            })
            .chain([MultiPolygon(vec![])])
            .collect();
        let touch = |a: Rect<f64>, b: Rect<f64>| {
            a.min().x <= b.max().x
                && b.min().x <= a.max().x
                && a.min().y <= b.max().y
                && b.min().y <= a.max().y
        };
        let mut expected = Vec::new();
        for i in 0..areas.len() {
            for j in i + 1..areas.len() {
                if let (Some(a), Some(b)) = (areas[i].bounding_rect(), areas[j].bounding_rect())
                    && touch(a, b)
                {
                    expected.push((i, j));
                }
            }
        }
        assert!(expected.len() > 100);
        assert_eq!(pairs_with_touching_boxes(&areas), expected);
    }
}
