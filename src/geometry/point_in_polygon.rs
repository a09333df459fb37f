//! Point in polygon with a half-open boundary rule, so that a planar subdivision (communities
//! tiling a town, grids tiling a community) assigns every point to exactly one face.
//!
//! The rule: a point exactly on a boundary shared by two polygons belongs to the polygon on its
//! east side (greater longitude); on an east–west edge, to the polygon on its north side; at a
//! shared vertex, to the polygon that contains the points just north-east of it. This is the
//! classic crossing-number test with edges counted half-open in latitude and the crossing
//! computed from a canonical (south-to-north) ordering of each edge's endpoints, so that two
//! polygons sharing an edge evaluate it bit-for-bit identically and can never both claim a point.

use geo::{BoundingRect, MultiPolygon, Rect};

/// The rings of a polygon or multipolygon, prepared for fast containment tests.
///
/// Even-odd over all rings equals "inside an exterior ring and outside its holes" for valid
/// (multi)polygons, so exterior rings and holes need not be told apart. Edges are stored
/// south-to-north (the canonical order the rule needs) and bucketed into latitude bands, so a
/// test only looks at the edges of the point's band instead of the whole boundary.
#[derive(Debug, Clone)]
pub struct Rings {
    /// Non-horizontal edges as `[lo, hi]` with `lo.y < hi.y`.
    edges: Vec<[[f64; 2]; 2]>,
    /// Edge indices of band `b` are `band_edges[band_start[b]..band_start[b + 1]]`.
    band_start: Vec<u32>,
    band_edges: Vec<u32>,
    /// Band of latitude `y` is `floor((y - bounds.min.y) * band_scale)`, clamped.
    band_scale: f64,
    bounds: Rect<f64>,
    /// The original rings, for distances.
    rings: Vec<Vec<[f64; 2]>>,
}

/// About this many edges per band keeps a test to a handful of edges.
const EDGES_PER_BAND: usize = 4;
const MAX_BANDS: usize = 256;

impl Rings {
    /// Prepares `area`; returns `None` for an empty multipolygon (it has no bounds).
    pub fn new(area: &MultiPolygon<f64>) -> Option<Self> {
        let bounds = area.bounding_rect()?;
        let rings: Vec<Vec<[f64; 2]>> = area
            .iter()
            .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
            .map(|ring| ring.coords().map(|c| [c.x, c.y]).collect())
            .collect();
        let edges: Vec<[[f64; 2]; 2]> = rings
            .iter()
            .flat_map(|ring| ring.windows(2))
            .filter(|w| w[0][1] != w[1][1])
            .map(|w| {
                if w[0][1] < w[1][1] {
                    [w[0], w[1]]
                } else {
                    [w[1], w[0]]
                }
            })
            .collect();
        let bands = (edges.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let height = bounds.height();
        let band_scale = if height > 0.0 {
            bands as f64 / height
        } else {
            0.0
        };
        let mut rings_prepared = Rings {
            edges,
            band_start: Vec::new(),
            band_edges: Vec::new(),
            band_scale,
            bounds,
            rings,
        };
        // Counting sort of edges into every band their latitude range touches.
        let spans: Vec<(usize, usize)> = rings_prepared
            .edges
            .iter()
            .map(|[lo, hi]| {
                (
                    rings_prepared.band(lo[1], bands),
                    rings_prepared.band(hi[1], bands),
                )
            })
            .collect();
        let mut start = vec![0u32; bands + 1];
        for &(first, last) in &spans {
            for b in first..=last {
                start[b + 1] += 1;
            }
        }
        for b in 0..bands {
            start[b + 1] += start[b];
        }
        let mut fill = start.clone();
        let mut band_edges = vec![0u32; start[bands] as usize];
        for (edge, &(first, last)) in spans.iter().enumerate() {
            for slot in &mut fill[first..=last] {
                band_edges[*slot as usize] = edge as u32;
                *slot += 1;
            }
        }
        rings_prepared.band_start = start;
        rings_prepared.band_edges = band_edges;
        Some(rings_prepared)
    }

    /// Monotone in `y`, so an edge spanning `y` is always in `y`'s band.
    fn band(&self, y: f64, bands: usize) -> usize {
        let b = (y - self.bounds.min().y) * self.band_scale;
        if b >= 0.0 {
            (b as usize).min(bands - 1)
        } else {
            0
        }
    }

    /// The bounding rectangle, cached for the spatial index.
    pub fn bounds(&self) -> Rect<f64> {
        self.bounds
    }

    /// Whether `p` is inside under the half-open rule of this module.
    pub fn contains(&self, p: [f64; 2]) -> bool {
        let (min, max) = (self.bounds.min(), self.bounds.max());
        if p[0] < min.x || p[0] > max.x || p[1] < min.y || p[1] > max.y {
            return false;
        }
        let band = self.band(p[1], self.band_start.len() - 1);
        let range = self.band_start[band] as usize..self.band_start[band + 1] as usize;
        let mut inside = false;
        for &edge in &self.band_edges[range] {
            let [lo, hi] = self.edges[edge as usize];
            // Half-open in y: the edge spans [lo.y, hi.y); then p.x < x-intersection, written
            // without division (hi.y - lo.y > 0).
            if lo[1] <= p[1]
                && p[1] < hi[1]
                && (p[0] - lo[0]) * (hi[1] - lo[1]) < (p[1] - lo[1]) * (hi[0] - lo[0])
            {
                inside = !inside;
            }
        }
        inside
    }

    /// Squared planar distance (in degrees²) from `p` to the nearest edge; 0 when inside.
    pub fn distance_2(&self, p: [f64; 2]) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        self.rings
            .iter()
            .flat_map(|ring| ring.windows(2))
            .map(|edge| segment_distance_2(edge[0], edge[1], p))
            .fold(f64::INFINITY, f64::min)
    }
}

fn segment_distance_2(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len_2 = dx * dx + dy * dy;
    let t = if len_2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len_2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    ex * ex + ey * ey
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x0: f64, y0: f64, size: f64) -> Rings {
        let p = polygon![
            (x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size),
            (x: x0, y: y0 + size), (x: x0, y: y0),
        ];
        Rings::new(&MultiPolygon(vec![p])).expect("non-empty")
    }

    #[test]
    fn shared_vertical_edge_goes_east() {
        let (west, east) = (square(0.0, 0.0, 1.0), square(1.0, 0.0, 1.0));
        assert!(!west.contains([1.0, 0.5]));
        assert!(east.contains([1.0, 0.5]));
    }

    #[test]
    fn shared_horizontal_edge_goes_north() {
        let (south, north) = (square(0.0, 0.0, 1.0), square(0.0, 1.0, 1.0));
        assert!(!south.contains([0.5, 1.0]));
        assert!(north.contains([0.5, 1.0]));
    }

    #[test]
    fn shared_corner_goes_north_east() {
        let squares = [
            square(0.0, 0.0, 1.0),
            square(1.0, 0.0, 1.0),
            square(0.0, 1.0, 1.0),
            square(1.0, 1.0, 1.0),
        ];
        let claims: Vec<bool> = squares.iter().map(|s| s.contains([1.0, 1.0])).collect();
        assert_eq!(claims, [false, false, false, true]);
    }

    #[test]
    fn holes_are_outside() {
        let with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)]],
        );
        let rings = Rings::new(&MultiPolygon(vec![with_hole])).expect("non-empty");
        assert!(rings.contains([0.5, 0.5]));
        assert!(!rings.contains([2.0, 2.0]));
        assert!(!rings.contains([5.0, 2.0]));
    }

    #[test]
    fn distance_is_zero_inside_and_to_nearest_edge_outside() {
        let s = square(0.0, 0.0, 1.0);
        assert_eq!(s.distance_2([0.5, 0.5]), 0.0);
        assert!((s.distance_2([3.0, 0.5]) - 4.0).abs() < 1e-12);
    }
}
