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
    bounds: Rect<f64>,
    /// Band of latitude `y` is `floor((y - bounds.min.y) * band_scale)`, clamped.
    band_scale: f64,
    /// Edges of band `b` are `band_edges[band_start[b]..band_start[b + 1]]`.
    band_start: Box<[u32]>,
    /// Non-horizontal edges as `[lo, hi]` with `lo.y < hi.y`, copied into every band they
    /// touch so that one band's edges are contiguous in memory (one or two cache misses).
    band_edges: Box<[[[f64; 2]; 2]]>,
    /// Bit `i` set: band edge `i` runs north to south in its ring (`[hi, lo]` there), so that
    /// [`Rings::edges`] gives every edge as its ring has it.
    southward: Box<[u64]>,
    /// The horizontal (and zero-length) edges, which no band holds, as their rings have them.
    /// With the bands' edges these are every edge: no copy of the rings is kept beside them
    /// (at ×100 that copy was ~0.5 GB on top of the registry's own; issue 20).
    level_edges: Box<[[[f64; 2]; 2]]>,
}

/// About this many edges per band keeps a test to a handful of edges.
const EDGES_PER_BAND: usize = 4;
const MAX_BANDS: usize = 256;

impl Rings {
    /// Prepares `area`; returns `None` for an empty multipolygon (it has no bounds).
    pub fn new(area: &MultiPolygon<f64>) -> Option<Self> {
        let bounds = area.bounding_rect()?;
        let all_edges = || {
            area.iter()
                .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
                .flat_map(|ring| ring.0.windows(2))
                .map(|w| [[w[0].x, w[0].y], [w[1].x, w[1].y]])
        };
        let mut edges: Vec<([[f64; 2]; 2], bool)> = Vec::new();
        let mut level_edges: Vec<[[f64; 2]; 2]> = Vec::new();
        for [a, b] in all_edges() {
            if a[1] == b[1] {
                level_edges.push([a, b]);
            } else if a[1] < b[1] {
                edges.push(([a, b], false));
            } else {
                edges.push(([b, a], true));
            }
        }
        let bands = (edges.len() / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let height = bounds.height();
        let band_scale = if height > 0.0 {
            bands as f64 / height
        } else {
            0.0
        };
        let band_of = |y: f64| band(y, bounds.min().y, band_scale, bands);
        // Counted first, then filled: one exact array instead of a growing list per band.
        let mut band_start = vec![0u32; bands + 1];
        for (edge, _) in &edges {
            for count in &mut band_start[band_of(edge[0][1]) + 1..=band_of(edge[1][1]) + 1] {
                *count += 1;
            }
        }
        for b in 1..=bands {
            band_start[b] += band_start[b - 1];
        }
        let total = band_start[bands] as usize;
        let mut next: Vec<u32> = band_start[..bands].to_vec();
        let mut band_edges = vec![[[0.0; 2]; 2]; total];
        let mut southward = vec![0u64; total.div_ceil(64)];
        for (edge, flipped) in &edges {
            for slot in &mut next[band_of(edge[0][1])..=band_of(edge[1][1])] {
                let i = *slot as usize;
                band_edges[i] = *edge;
                if *flipped {
                    southward[i / 64] |= 1 << (i % 64);
                }
                *slot += 1;
            }
        }
        Some(Rings {
            bounds,
            band_scale,
            band_start: band_start.into(),
            band_edges: band_edges.into(),
            southward: southward.into(),
            level_edges: level_edges.into(),
        })
    }

    /// Every boundary edge (all rings), as pairs of positions in their ring's direction; each
    /// edge once, but not in ring order.
    pub fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let bands = self.band_start.len() - 1;
        let min_y = self.bounds.min().y;
        let banded = (0..bands).flat_map(move |b| {
            let (start, end) = (self.band_start[b] as usize, self.band_start[b + 1] as usize);
            (start..end).filter_map(move |i| {
                let [lo, hi] = self.band_edges[i];
                // An edge is in every band from its southern end's to its northern end's: it
                // is given once, from its southern end's band.
                if band(lo[1], min_y, self.band_scale, bands) != b {
                    return None;
                }
                Some(if self.southward[i / 64] >> (i % 64) & 1 == 1 {
                    (hi, lo)
                } else {
                    (lo, hi)
                })
            })
        });
        banded.chain(self.level_edges.iter().map(|&[a, b]| (a, b)))
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
        let b = band(p[1], min.y, self.band_scale, self.band_start.len() - 1);
        let edges = &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize];
        let mut inside = false;
        for &[lo, hi] in edges {
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

    /// Longitudes, sorted, where the boundary crosses latitude `y` (edges counted half-open as
    /// in [`Rings::contains`]): consecutive pairs bound the inside along that parallel.
    pub fn crossings(&self, y: f64) -> Vec<f64> {
        let (min, max) = (self.bounds.min(), self.bounds.max());
        if y < min.y || y > max.y {
            return Vec::new();
        }
        let b = band(y, min.y, self.band_scale, self.band_start.len() - 1);
        let edges = &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize];
        let mut xs: Vec<f64> = edges
            .iter()
            .filter(|[lo, hi]| lo[1] <= y && y < hi[1])
            .map(|[lo, hi]| lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]))
            .collect();
        xs.sort_by(f64::total_cmp);
        xs
    }

    /// Squared planar distance (in degrees²) from `p` to the nearest edge; 0 when inside.
    pub fn distance_2(&self, p: [f64; 2]) -> f64 {
        if self.contains(p) {
            return 0.0;
        }
        self.boundary_distance_2(p)
    }

    /// Squared planar distance (in degrees²) from `p` to the nearest edge, inside or not.
    pub fn boundary_distance_2(&self, p: [f64; 2]) -> f64 {
        self.edges()
            .map(|(a, b)| segment_distance_2(a, b, p))
            .fold(f64::INFINITY, f64::min)
    }
}

/// The latitude band of `y`; monotone in `y`, so an edge spanning `y` is in `y`'s band.
fn band(y: f64, min_y: f64, scale: f64, bands: usize) -> usize {
    let b = (y - min_y) * scale;
    if b >= 0.0 {
        (b as usize).min(bands - 1)
    } else {
        0
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
    fn crossings_bound_the_inside() {
        let with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)]],
        );
        let rings = Rings::new(&MultiPolygon(vec![with_hole])).expect("non-empty");
        assert_eq!(rings.crossings(2.0), vec![0.0, 1.0, 3.0, 4.0]);
        assert_eq!(rings.crossings(0.5), vec![0.0, 4.0]);
        assert!(rings.crossings(5.0).is_empty());
    }

    #[test]
    fn distance_is_zero_inside_and_to_nearest_edge_outside() {
        let s = square(0.0, 0.0, 1.0);
        assert_eq!(s.distance_2([0.5, 0.5]), 0.0);
        assert!((s.distance_2([3.0, 0.5]) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn edges_are_every_ring_edge_once_as_the_ring_has_it() {
        // A star with many edges (many bands, edges spanning several), horizontal edges and a
        // zero-length one, plus a second polygon with a hole.
        let mut star: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / 60.0;
                let r = if i % 2 == 0 {
                    3.0
                } else {
                    1.0 + (i % 7) as f64 * 0.2
                };
                (5.0 + r * a.cos(), 5.0 + r * a.sin())
            })
            .collect();
        star.insert(10, star[9]);
        star.insert(20, (star[19].0 + 0.5, star[19].1));
        let star = geo::Polygon::new(geo::LineString::from(star), vec![]);
        let with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)]],
        );
        let area = MultiPolygon(vec![star, with_hole]);
        let rings = Rings::new(&area).expect("non-empty");
        let key = |(a, b): ([f64; 2], [f64; 2])| [a[0], a[1], b[0], b[1]].map(f64::to_bits);
        let mut expected: Vec<[u64; 4]> = area
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2).map(|w| ([w[0].x, w[0].y], [w[1].x, w[1].y])))
            .map(key)
            .collect();
        let mut found: Vec<[u64; 4]> = rings.edges().map(key).collect();
        expected.sort_unstable();
        found.sort_unstable();
        assert_eq!(found, expected);
        // Distances: the same minimum as over the rings' own edges, bit for bit.
        for p in [[9.0, 5.5], [2.0, 2.0], [-1.0, 3.3], [5.1, 4.9]] {
            let brute = area
                .iter()
                .flat_map(|q| std::iter::once(q.exterior()).chain(q.interiors()))
                .flat_map(|r| r.0.windows(2))
                .map(|w| segment_distance_2([w[0].x, w[0].y], [w[1].x, w[1].y], p))
                .fold(f64::INFINITY, f64::min);
            assert_eq!(rings.boundary_distance_2(p).to_bits(), brute.to_bits());
        }
    }
}
