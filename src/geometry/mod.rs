//! Planar geometry helpers shared by the registry, the index and (later) rules and audit.
//!
//! Coordinates are WGS84 longitude/latitude in degrees (CGCS2000 is treated as equal). The helpers
//! here are exact-enough planar predicates: lookups and validity only need consistent, deterministic
//! answers, not metric measures (geodesic areas come from `geo`).

pub mod dissolve;
pub mod geojson;
pub mod measure;
pub mod point_in_polygon;
pub mod validity;

pub use point_in_polygon::Rings;

use geo::{Rect, coord};

/// The smallest rectangle holding all of `rects`; `None` when there are none.
pub fn union_bounds(rects: impl IntoIterator<Item = Rect<f64>>) -> Option<Rect<f64>> {
    rects.into_iter().reduce(|a, b| {
        Rect::new(
            coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}
pub use validity::{RingProblem, check_polygon_rings};
