//! Making straight Voronoi edges look like roads and rivers.
//!
//! Each edge is bent once, by recursive midpoint displacement, and that one polyline is used by
//! every polygon on either side. To guarantee that no two bent edges ever cross, an edge is kept
//! strictly inside its *kite*: the two triangles (seed a, v0, v1) and (seed b, v0, v1). Those
//! triangles, over all cells and edges, tile the plane (each convex cell is a fan around its
//! seed), so edges confined to their own kites can only meet at shared Voronoi vertices. The kite
//! is shrunk (apex halfway towards the edge) so that neighbouring edges leave a vertex in
//! clearly different directions and never graze each other, even after rounding to 1e-7°.
//! Self-crossings of a single edge are checked afterwards; if one occurs the edge is redone with
//! less amplitude, and in the last resort left straight.

use crate::outline::dist;
use crate::projection::P2;
use crate::rng::Rng;

/// Non-adjacent pieces of one bent edge stay at least this far apart (km).
const MIN_GAP_KM: f64 = 0.0005;
/// At most 2^MAX_LEVELS pieces per edge.
const MAX_LEVELS: u32 = 5;

/// How an edge bends: displacement at subdivision level `l` is
/// `(amp0 · decay^l + floor) · (length of the piece)`, with a random sign and size.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub amp0: f64,
    pub decay: f64,
    pub floor: f64,
}

/// Almost straight, like a road.
pub const ROAD: Style = Style {
    amp0: 0.04,
    decay: 0.5,
    floor: 0.01,
};
/// Gently irregular, like a field boundary or a lane.
pub const LANE: Style = Style {
    amp0: 0.22,
    decay: 0.65,
    floor: 0.04,
};
/// Meandering, like a river or creek.
pub const RIVER: Style = Style {
    amp0: 0.38,
    decay: 0.78,
    floor: 0.06,
};

/// The region an edge must stay in: triangles (v0, v1, apex) on both sides of the line v0–v1.
#[derive(Clone, Copy, Debug)]
pub struct Kite {
    v0: P2,
    v1: P2,
    /// Apex on the left of v0→v1, apex on the right.
    left: P2,
    right: P2,
}

fn cross(o: P2, a: P2, b: P2) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

impl Kite {
    /// Kite of the edge v0–v1 between the cells of seeds `sa` and `sb`, shrunk towards the edge.
    pub fn new(v0: P2, v1: P2, sa: P2, sb: P2) -> Self {
        let mid = [(v0[0] + v1[0]) / 2.0, (v0[1] + v1[1]) / 2.0];
        let shrink = |s: P2| [(s[0] + mid[0]) / 2.0, (s[1] + mid[1]) / 2.0];
        let (a, b) = (shrink(sa), shrink(sb));
        let (left, right) = if cross(v0, v1, a) > 0.0 {
            (a, b)
        } else {
            (b, a)
        };
        Kite {
            v0,
            v1,
            left,
            right,
        }
    }

    /// Position of the projection of `p` along v0→v1 (0 at v0, 1 at v1).
    fn along(&self, p: P2) -> f64 {
        let (dx, dy) = (self.v1[0] - self.v0[0], self.v1[1] - self.v0[1]);
        ((p[0] - self.v0[0]) * dx + (p[1] - self.v0[1]) * dy) / (dx * dx + dy * dy)
    }

    /// Strictly inside (points of the open segment v0–v1 count as inside).
    pub fn contains(&self, p: P2) -> bool {
        let s = cross(self.v0, self.v1, p);
        if s == 0.0 {
            let t = self.along(p);
            return t > 0.0 && t < 1.0;
        }
        let apex = if s > 0.0 { self.left } else { self.right };
        let orient = cross(self.v0, self.v1, apex).signum();
        cross(self.v0, self.v1, p) * orient > 0.0
            && cross(self.v1, apex, p) * orient > 0.0
            && cross(apex, self.v0, p) * orient > 0.0
    }

    /// Whether the segment p–q lies inside (except for an end at v0 or v1): both ends inside,
    /// and if it changes sides it crosses the line v0–v1 between v0 and v1 (each half-kite is a
    /// convex triangle).
    pub fn contains_segment(&self, p: P2, q: P2) -> bool {
        let ok = |x: P2| x == self.v0 || x == self.v1 || self.contains(x);
        if !ok(p) || !ok(q) {
            return false;
        }
        let (sp, sq) = (cross(self.v0, self.v1, p), cross(self.v0, self.v1, q));
        if sp * sq >= 0.0 {
            return true;
        }
        let u = sp / (sp - sq);
        let x = [p[0] + u * (q[0] - p[0]), p[1] + u * (q[1] - p[1])];
        let t = self.along(x);
        t > 0.0 && t < 1.0
    }
}

/// Bends the edge v0–v1 (between the cells of seeds `sa`, `sb`) into pieces of about `piece_km`.
/// Returns the interior points only, in order from v0 to v1.
pub fn wiggle(v0: P2, v1: P2, sa: P2, sb: P2, style: Style, piece_km: f64, rng: &Rng) -> Vec<P2> {
    let kite = Kite::new(v0, v1, sa, sb);
    let len = dist(v0, v1);
    let mut levels = 0;
    while levels < MAX_LEVELS && len / f64::from(1u32 << levels) > 1.5 * piece_km {
        levels += 1;
    }
    if levels == 0 {
        return Vec::new();
    }
    let mut calm = 1.0;
    for _attempt in 0..6 {
        // Every attempt replays the same random stream, only with smaller amplitude.
        let mut rng = rng.clone();
        let mut pts = vec![v0, v1];
        let mut decay = 1.0;
        for _level in 0..levels {
            let amp = (style.amp0 * decay + style.floor) * calm;
            decay *= style.decay;
            let mut next = Vec::with_capacity(2 * pts.len());
            next.push(pts[0]);
            for w in pts.windows(2) {
                let (p, q) = (w[0], w[1]);
                let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
                let l = (dx * dx + dy * dy).sqrt();
                let normal = [-dy / l, dx / l];
                let mut d = amp * l * rng.signed();
                let mid = [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0];
                let mut m = mid;
                for _ in 0..10 {
                    let cand = [mid[0] + normal[0] * d, mid[1] + normal[1] * d];
                    if kite.contains_segment(p, cand) && kite.contains_segment(cand, q) {
                        m = cand;
                        break;
                    }
                    d *= 0.5;
                }
                next.push(m);
                next.push(q);
            }
            pts = next;
        }
        if is_simple(&pts) {
            return pts[1..pts.len() - 1].to_vec();
        }
        calm *= 0.5;
    }
    Vec::new()
}

/// No two non-adjacent pieces closer than `MIN_GAP_KM`, and no piece doubling back on the previous.
fn is_simple(pts: &[P2]) -> bool {
    let n = pts.len() - 1;
    for i in 0..n {
        if dist(pts[i], pts[i + 1]) < MIN_GAP_KM {
            return false;
        }
        for j in i + 2..n {
            if seg_dist(pts[i], pts[i + 1], pts[j], pts[j + 1]) < MIN_GAP_KM {
                return false;
            }
        }
        if i + 2 <= n {
            let (a, b, c) = (pts[i], pts[i + 1], pts[i + 2]);
            let dot = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]);
            if cross(a, b, c).abs() <= 1e-12 && dot < 0.0 {
                return false;
            }
        }
    }
    true
}

fn seg_dist(a: P2, b: P2, c: P2, d: P2) -> f64 {
    let d1 = cross(a, b, c);
    let d2 = cross(a, b, d);
    let d3 = cross(c, d, a);
    let d4 = cross(c, d, b);
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return 0.0;
    }
    point_seg(c, a, b)
        .min(point_seg(d, a, b))
        .min(point_seg(a, c, d))
        .min(point_seg(b, c, d))
}

fn point_seg(p: P2, a: P2, b: P2) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    dist(p, [a[0] + t * dx, a[1] + t * dy])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full (unshrunk) kite: triangles (v0, v1, sa) and (v0, v1, sb).
    fn in_full_kite(v0: P2, v1: P2, sa: P2, sb: P2, p: P2) -> bool {
        let in_tri = |a: P2, b: P2, c: P2| {
            let o = cross(a, b, c).signum();
            cross(a, b, p) * o >= 0.0 && cross(b, c, p) * o >= 0.0 && cross(c, a, p) * o >= 0.0
        };
        in_tri(v0, v1, sa) || in_tri(v0, v1, sb)
    }

    #[test]
    fn wiggle_stays_inside_its_kite() {
        let mut rng = Rng::stream(5, 5);
        for case in 0..300 {
            // Random edge on the perpendicular bisector of two seeds, sometimes not crossing the
            // segment between them (obtuse triangles give non-convex kites).
            let sa = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            let sb = [sa[0] + rng.range(0.2, 1.0), sa[1] + rng.range(-0.5, 0.5)];
            let mid = [(sa[0] + sb[0]) / 2.0, (sa[1] + sb[1]) / 2.0];
            let dir = [-(sb[1] - sa[1]), sb[0] - sa[0]];
            let (t0, t1) = (rng.range(-1.5, 0.8), rng.range(0.0, 1.5));
            let (t0, t1) = (t0.min(t1 - 0.05), t1);
            let v0 = [mid[0] + t0 * dir[0], mid[1] + t0 * dir[1]];
            let v1 = [mid[0] + t1 * dir[0], mid[1] + t1 * dir[1]];
            let style = [ROAD, LANE, RIVER][case % 3];
            let pts = wiggle(v0, v1, sa, sb, style, 0.02, &Rng::stream(case as u64, 1));
            let kite = Kite::new(v0, v1, sa, sb);
            let mut all = vec![v0];
            all.extend(&pts);
            all.push(v1);
            assert!(is_simple(&all), "case {case}");
            for w in all.windows(2) {
                if w[0] != v0 && w[0] != v1 {
                    assert!(kite.contains(w[0]), "case {case}");
                    assert!(in_full_kite(v0, v1, sa, sb, w[0]), "case {case}");
                }
                // Interior points of every piece are inside too.
                for k in 1..10 {
                    let t = f64::from(k) / 10.0;
                    let p = [
                        w[0][0] + t * (w[1][0] - w[0][0]),
                        w[0][1] + t * (w[1][1] - w[0][1]),
                    ];
                    assert!(kite.contains(p), "case {case} piece point");
                }
            }
        }
    }

    #[test]
    fn wiggle_is_deterministic_and_short_edges_stay_straight() {
        let (v0, v1, sa, sb) = ([0.0, 0.0], [0.0, 1.0], [-0.5, 0.5], [0.5, 0.5]);
        let a = wiggle(v0, v1, sa, sb, RIVER, 0.05, &Rng::stream(1, 2));
        let b = wiggle(v0, v1, sa, sb, RIVER, 0.05, &Rng::stream(1, 2));
        assert_eq!(a, b);
        assert_eq!(a.len(), 15);
        // It really bends: the middle point is well off the straight line x = 0.
        assert!(a.iter().map(|p| p[0].abs()).fold(0.0, f64::max) > 0.02);
        assert!(wiggle(v0, [0.0, 0.05], sa, sb, RIVER, 0.05, &Rng::stream(1, 2)).is_empty());
    }
}
