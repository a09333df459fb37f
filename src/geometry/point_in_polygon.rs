//! Point in polygon with a half-open boundary rule, so that a planar subdivision (communities
//! tiling a town, grids tiling a community) assigns every point to exactly one face.
//!
//! The rule: a point exactly on a boundary shared by two polygons belongs to the polygon on its
//! east side (greater longitude); on an east–west edge, to the polygon on its north side; at a
//! shared vertex, to the polygon that contains the points just north-east of it. This is the
//! classic crossing-number test with edges counted half-open in latitude and the crossing
//! computed from a canonical (south-to-north) ordering of each edge's endpoints, so that two
//! polygons sharing an edge evaluate it bit-for-bit identically and can never both claim a point.

use std::sync::Arc;

use geo::{BoundingRect, MultiPolygon, Rect};

/// The rings of a polygon or multipolygon, prepared for fast containment tests.
///
/// Even-odd over all rings equals "inside an exterior ring and outside its holes" for valid
/// (multi)polygons, so exterior rings and holes need not be told apart. Edges are bucketed into
/// latitude bands, so a test only looks at the edges of the point's band instead of the whole
/// boundary, and each is read south-to-north (the canonical order the rule needs).
///
/// The rings' positions are kept once; a band lists its edges by the index of their first
/// position (4 bytes where a copied edge took 32, and an edge is listed in every band it
/// crosses). At ×100 (half a million grids) the copied edges took 1.65 GB, more than the
/// registry's own coordinates (issue 20).
///
/// The two arrays are shared (`Arc`), so a clone costs two reference counts: the index of a
/// changed registry keeps the rings of every untouched feature (half a million at ×100)
/// without copying them, and reading an edge is as direct as from a `Box`. The lists of
/// integers are one array, so a shape is two allocations and an 80-byte header.
#[derive(Debug, Clone)]
pub struct Rings {
    bounds: Rect<f64>,
    /// Band of latitude `y` is `floor((y - bounds.min.y) * band_scale)`, clamped.
    band_scale: f64,
    /// Every ring's positions as the ring has them, closing position included, one ring after
    /// the other: edge `i` runs from `points[i]` to `points[i + 1]`.
    points: Arc<[[f64; 2]]>,
    /// Three lists one after the other:
    /// - `bands + 1` band starts: the edges of band `b` are `lists[start[b]..start[b + 1]]`
    ///   (positions in this array);
    /// - the non-horizontal edges (by index of their first position) in every band they
    ///   touch; horizontal (and zero-length) edges are in none: a half-open test never
    ///   counts them;
    /// - from `rings_at`: where each ring starts in `points`, and the end of the last one.
    lists: Arc<[u32]>,
    bands: u32,
    rings_at: u32,
}

/// About this many edges per band keeps a test to a handful of edges.
const EDGES_PER_BAND: usize = 4;
const MAX_BANDS: usize = 256;

impl Rings {
    /// Prepares `area`; returns `None` for an empty multipolygon (it has no bounds).
    pub fn new(area: &MultiPolygon<f64>) -> Option<Self> {
        let bounds = area.bounding_rect()?;
        let rings = || {
            area.iter()
                .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
        };
        let mut points: Vec<[f64; 2]> = Vec::with_capacity(rings().map(|r| r.0.len()).sum());
        let mut ring_start: Vec<u32> = Vec::with_capacity(rings().count() + 1);
        for ring in rings() {
            ring_start.push(points.len() as u32);
            points.extend(ring.0.iter().map(|c| [c.x, c.y]));
        }
        ring_start.push(points.len() as u32);
        // Each edge's first position and its southern and northern latitudes.
        let sloped = || {
            ring_start
                .windows(2)
                .flat_map(|r| r[0]..r[1].saturating_sub(1))
                .filter_map(|i| {
                    let (a, b) = (points[i as usize][1], points[i as usize + 1][1]);
                    (a != b).then_some((i, a.min(b), a.max(b)))
                })
        };
        let sloped_edges = sloped().count();
        let bands = (sloped_edges / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let height = bounds.height();
        let band_scale = if height > 0.0 {
            bands as f64 / height
        } else {
            0.0
        };
        let band_of = |y: f64| band(y, bounds.min().y, band_scale, bands);
        // Counted first, then filled: one exact array instead of a growing list per band.
        let mut counts = vec![0u32; bands + 1];
        for (_, lo, hi) in sloped() {
            for count in &mut counts[band_of(lo) + 1..=band_of(hi) + 1] {
                *count += 1;
            }
        }
        // Band starts count from the first edge's place in `lists`, after the starts.
        counts[0] = (bands + 1) as u32;
        for b in 1..=bands {
            counts[b] += counts[b - 1];
        }
        let rings_at = counts[bands];
        let mut lists = counts;
        lists.resize(rings_at as usize, 0);
        lists.extend_from_slice(&ring_start);
        let mut next: Vec<u32> = lists[..bands].to_vec();
        for (i, lo, hi) in sloped() {
            for slot in &mut next[band_of(lo)..=band_of(hi)] {
                lists[*slot as usize] = i;
                *slot += 1;
            }
        }
        Some(Rings {
            bounds,
            band_scale,
            points: points.into(),
            lists: lists.into(),
            bands: bands as u32,
            rings_at,
        })
    }

    /// Where each ring starts in `points`, and the end of the last one.
    fn ring_start(&self) -> &[u32] {
        &self.lists[self.rings_at as usize..]
    }

    /// Every boundary edge (all rings), as pairs of positions in their ring's direction, ring
    /// after ring.
    pub fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        self.ring_start().windows(2).flat_map(move |r| {
            self.points[r[0] as usize..r[1] as usize]
                .windows(2)
                .map(|w| (w[0], w[1]))
        })
    }

    /// The edges of the band of latitude `y` (in the bounds), each south-to-north: the same
    /// two positions in the same order whichever ring (of whichever shape) has the edge, so
    /// that shapes sharing it compute the same crossing bit for bit.
    fn band_edges(&self, y: f64) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let b = band(y, self.bounds.min().y, self.band_scale, self.bands as usize);
        self.lists[self.lists[b] as usize..self.lists[b + 1] as usize]
            .iter()
            .map(|&i| {
                let (a, b) = (self.points[i as usize], self.points[i as usize + 1]);
                if a[1] < b[1] { (a, b) } else { (b, a) }
            })
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
        let mut inside = false;
        for (lo, hi) in self.band_edges(p[1]) {
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
        let mut xs: Vec<f64> = self
            .band_edges(y)
            .filter(|(lo, hi)| lo[1] <= y && y < hi[1])
            .map(|(lo, hi)| lo[0] + (y - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]))
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

    /// The banded test against the crossing number over every edge of every ring (no bands),
    /// on stars with hundreds of edges (so edges span several bands), at random points and at
    /// every vertex and edge midpoint (where the half-open rule decides).
    #[test]
    fn banded_tests_agree_with_every_edge_tested() {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [3, 17, 200, 1500] {
            let mut star: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let a = i as f64 * std::f64::consts::TAU / n as f64;
                    let r = 1.0 + 2.0 * next();
                    (5.0 + r * a.cos(), 5.0 + r * a.sin())
                })
                .collect();
            // Some edges horizontal (in no band): a vertex at the previous one's latitude.
            for i in (5..n).step_by(5) {
                star[i].1 = star[i - 1].1;
            }
            let hole = polygon!(
                (x: 4.9, y: 4.9), (x: 5.1, y: 4.9), (x: 5.1, y: 5.1), (x: 4.9, y: 5.1),
            );
            let star =
                geo::Polygon::new(geo::LineString::from(star), vec![hole.exterior().clone()]);
            let area = MultiPolygon(vec![star]);
            let rings = Rings::new(&area).expect("non-empty");
            let edges: Vec<([f64; 2], [f64; 2])> = area
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|r| r.0.windows(2).map(|w| ([w[0].x, w[0].y], [w[1].x, w[1].y])))
                .collect();
            let brute = |p: [f64; 2]| {
                edges.iter().fold(false, |inside, &(a, b)| {
                    let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
                    let crosses = lo[1] <= p[1]
                        && p[1] < hi[1]
                        && (p[0] - lo[0]) * (hi[1] - lo[1]) < (p[1] - lo[1]) * (hi[0] - lo[0]);
                    inside ^ crosses
                })
            };
            let mut points: Vec<[f64; 2]> = (0..2000)
                .map(|_| [1.5 + 7.0 * next(), 1.5 + 7.0 * next()])
                .collect();
            for &(a, b) in &edges {
                points.push(a);
                points.push([(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]);
            }
            for p in points {
                assert_eq!(rings.contains(p), brute(p), "{n} edges, point {p:?}");
                let mut xs: Vec<f64> = edges
                    .iter()
                    .map(|&(a, b)| if a[1] < b[1] { (a, b) } else { (b, a) })
                    .filter(|(lo, hi)| lo[1] <= p[1] && p[1] < hi[1])
                    .map(|(lo, hi)| lo[0] + (p[1] - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1]))
                    .collect();
                xs.sort_by(f64::total_cmp);
                assert_eq!(rings.crossings(p[1]), xs, "{n} edges, latitude {}", p[1]);
            }
        }
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
