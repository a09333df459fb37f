//! Metric measures of lon/lat geometry: geodesic areas and lengths, widths in a local metric
//! projection, and which neighbour a region borders most.

use geo::{Distance, Euclidean, Geodesic, GeodesicArea, LineString, MultiPolygon, Point, Polygon};

use super::Rings;

/// Geodesic area in m² (WGS84 ellipsoid): each polygon's exterior less its holes.
///
/// On the ellipsoid a ring's winding decides which side is inside, and an unsigned area of a
/// clockwise exterior is the rest of the Earth. Boolean operations may return either winding
/// (and slivers whose winding is ambiguous), so each ring is measured signed, which is always the
/// smaller side, and taken as a magnitude.
pub fn area_m2(area: &MultiPolygon<f64>) -> f64 {
    let ring = |r: &LineString<f64>| {
        Polygon::new(r.clone(), Vec::new())
            .geodesic_area_signed()
            .abs()
    };
    area.iter()
        .map(|p| (ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>()).max(0.0))
        .sum()
}

/// Geodesic distance in metres.
pub fn length_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    Geodesic.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

/// Geodesic perimeter in metres (all rings).
pub fn perimeter_m(area: &MultiPolygon<f64>) -> f64 {
    area.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.lines())
        .map(|l| length_m([l.start.x, l.start.y], [l.end.x, l.end.y]))
        .sum()
}

/// Metres per degree of longitude and latitude at latitude `lat` (WGS84 radii of curvature):
/// a local equirectangular projection, accurate to well under 0.1% across a few kilometres.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 0.006_694_379_990_14;
    let phi = lat.to_radians();
    let w = (1.0 - E2 * phi.sin().powi(2)).sqrt();
    let n = A / w;
    let m = A * (1.0 - E2) / (w * w * w);
    (
        n * phi.cos() * std::f64::consts::PI / 180.0,
        m * std::f64::consts::PI / 180.0,
    )
}

/// Width of a polygon in metres: twice the radius of its largest inscribed circle (the pole of
/// inaccessibility), computed in a local metric projection.
pub fn width_m(polygon: &Polygon<f64>) -> f64 {
    let Some(first) = polygon.exterior().0.first() else {
        return 0.0;
    };
    let (kx, ky) = metres_per_degree(first.y);
    let project = |ls: &LineString<f64>| -> LineString<f64> {
        ls.coords()
            .map(|c| ((c.x - first.x) * kx, (c.y - first.y) * ky))
            .collect()
    };
    let local = Polygon::new(
        project(polygon.exterior()),
        polygon.interiors().iter().map(project).collect(),
    );
    let Ok(centre) = polylabel::polylabel(&local, &0.05) else {
        return 0.0;
    };
    let radius = std::iter::once(local.exterior())
        .chain(local.interiors())
        .map(|ring| Euclidean.distance(&centre, ring))
        .fold(f64::INFINITY, f64::min);
    if radius.is_finite() {
        2.0 * radius
    } else {
        0.0
    }
}

/// How many metres of `region`'s boundary lie on each candidate's boundary (within `eps_deg`),
/// judged edge by edge at edge midpoints. Used to suggest who should own a gap or an overlap.
pub fn border_lengths(region: &MultiPolygon<f64>, candidates: &[&Rings], eps_deg: f64) -> Vec<f64> {
    let mut lengths = vec![0.0; candidates.len()];
    for line in region
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.lines())
    {
        let (a, b) = ([line.start.x, line.start.y], [line.end.x, line.end.y]);
        let mid = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        for (i, rings) in candidates.iter().enumerate() {
            if rings.boundary_distance_2(mid) <= eps_deg * eps_deg {
                lengths[i] += length_m(a, b);
            }
        }
    }
    lengths
}

/// The candidate bordering longest, if any borders at all.
pub fn longest_border(lengths: &[f64]) -> Option<usize> {
    lengths
        .iter()
        .enumerate()
        .filter(|(_, l)| **l > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn a_thin_rectangle_is_as_wide_as_it_is_thin() {
        // 0.00005° of latitude ≈ 5.53 m, 0.01° of longitude ≈ 1 km at 22.5°N.
        let p = polygon![(x: 113.0, y: 22.5), (x: 113.01, y: 22.5), (x: 113.01, y: 22.50005), (x: 113.0, y: 22.50005)];
        let (_, ky) = metres_per_degree(22.5);
        assert!((width_m(&p) - 0.00005 * ky).abs() < 0.1, "{}", width_m(&p));
    }

    #[test]
    fn metres_per_degree_at_zhongshan() {
        // Against GeographicLib's geodesic distances over a thousandth of a degree.
        let (kx, ky) = metres_per_degree(22.5);
        let east = length_m([113.0, 22.5], [113.001, 22.5]) * 1000.0;
        let north = length_m([113.0, 22.4995], [113.0, 22.5005]) * 1000.0;
        assert!((kx - east).abs() < 0.5, "{kx} vs {east}");
        assert!((ky - north).abs() < 0.5, "{ky} vs {north}");
    }

    #[test]
    fn area_does_not_depend_on_ring_winding() {
        // 0.01° × 0.01° at 22.5°N ≈ 1,028.5 m × 1,107.0 m; clockwise must not mean "the rest of the Earth".
        let ccw = polygon![(x: 113.0, y: 22.5), (x: 113.01, y: 22.5), (x: 113.01, y: 22.51), (x: 113.0, y: 22.51)];
        let mut cw = ccw.clone();
        cw.exterior_mut(|r| r.0.reverse());
        let (a, b) = (area_m2(&ccw.into()), area_m2(&cw.into()));
        let (kx, ky) = metres_per_degree(22.505);
        assert!((a - 0.01 * kx * 0.01 * ky).abs() < 50.0, "{a}");
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}
