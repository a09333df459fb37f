//! A registry polygon as an R-tree object.

use geo::MultiPolygon;
use rstar::{AABB, PointDistance, RTreeObject};

use crate::geometry::Rings;

/// A polygon's rings and its position (slot) in the registry's code-sorted list.
pub(super) struct Shape {
    pub slot: usize,
    rings: Rings,
}

impl Shape {
    pub fn new(slot: usize, area: &MultiPolygon<f64>) -> Option<Self> {
        Some(Shape {
            slot,
            rings: Rings::new(area)?,
        })
    }
}

impl RTreeObject for Shape {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        let b = self.rings.bounds();
        AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y])
    }
}

impl PointDistance for Shape {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        self.rings.distance_2(*point)
    }

    fn contains_point(&self, point: &[f64; 2]) -> bool {
        self.rings.contains(*point)
    }
}
