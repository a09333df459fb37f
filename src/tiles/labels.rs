//! Label points: one point per polygon that is guaranteed to lie inside it.
//!
//! A centroid can fall outside a concave or multi-part area (a crescent, a village in two
//! pieces), which puts a label on the neighbour; geo's `InteriorPoint` (point-on-surface) cannot.

use geo::{Coord, InteriorPoint, MultiPolygon};

/// A point inside `area` (inside its largest-weighted part), or `None` for an empty area.
pub fn label_point(area: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    area.interior_point().map(|p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, polygon};

    #[test]
    fn label_of_a_crescent_is_inside_where_the_centroid_is_not() {
        use geo::Centroid;
        let c = MultiPolygon(vec![polygon![
            (x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.),
            (x: 0., y: 9.), (x: 9., y: 9.), (x: 9., y: 1.), (x: 0., y: 1.)
        ]]);
        let centroid = c.centroid().map(|p| p.0);
        assert!(centroid.is_some_and(|p| !c.contains(&p)));
        let label = label_point(&c);
        assert!(label.is_some_and(|p| c.contains(&p)), "{label:?}");
    }
}
