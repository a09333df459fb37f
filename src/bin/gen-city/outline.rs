//! The city outline: which seeds are land of the city, and the "dummy" seeds just outside it.
//!
//! A hand-drawn polygon follows Zhongshan's real silhouette (narrow northern tip at 黄圃, coast
//! along the Pearl River estuary in the east, the Xijiang in the west); it is densified and pushed
//! in and out by smooth noise so the coast is irregular. The outline only decides which seeds are
//! real: the actual city border is made of the (wiggled) Voronoi edges between real cells and the
//! dummy cells placed just outside, so it shares the look of every other border.

use crate::noise::Noise;
use crate::projection::{Frame, P2};

/// Silhouette, counter-clockwise, degrees.
const SILHOUETTE: [(f64, f64); 21] = [
    (113.430, 22.205),
    (113.500, 22.215),
    (113.530, 22.290),
    (113.560, 22.360),
    (113.620, 22.420),
    (113.640, 22.500),
    (113.600, 22.560),
    (113.610, 22.620),
    (113.550, 22.680),
    (113.460, 22.740),
    (113.370, 22.775),
    (113.300, 22.775),
    (113.240, 22.730),
    (113.190, 22.690),
    (113.155, 22.640),
    (113.150, 22.580),
    (113.180, 22.500),
    (113.210, 22.450),
    (113.270, 22.380),
    (113.300, 22.300),
    (113.350, 22.225),
];

/// The city must stay inside this box (degrees: west, south, east, north).
pub const BOX: [f64; 4] = [113.15, 22.20, 113.65, 22.78];
/// The outline keeps this far inside the box (km): border cells reach a little beyond it.
const BOX_MARGIN_KM: f64 = 1.5;
/// Densified silhouette pieces are at most this long, km.
const STEP_KM: f64 = 0.8;
/// How far noise pushes the coast in or out, km.
const COAST_AMPLITUDE_KM: f64 = 3.0;

pub struct Outline {
    /// Counter-clockwise ring, not closed, kilometres.
    pub ring: Vec<P2>,
}

impl Outline {
    pub fn build(frame: &Frame, noise: &Noise) -> Self {
        let base: Vec<P2> = SILHOUETTE
            .iter()
            .map(|&(lon, lat)| frame.to_km(lon, lat))
            .collect();
        let mut dense = Vec::new();
        for (i, &a) in base.iter().enumerate() {
            let b = base[(i + 1) % base.len()];
            let len = dist(a, b);
            let n = (len / STEP_KM).ceil().max(1.0) as usize;
            for k in 0..n {
                let t = k as f64 / n as f64;
                dense.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
            }
        }
        let count = dense.len();
        let lo = frame.to_km(BOX[0], BOX[1]);
        let hi = frame.to_km(BOX[2], BOX[3]);
        let ring = (0..count)
            .map(|i| {
                let prev = dense[(i + count - 1) % count];
                let next = dense[(i + 1) % count];
                let normal = outward_normal(prev, next);
                let push = (noise.at(dense[i]) - 0.5) * 2.0 * COAST_AMPLITUDE_KM;
                let p = [
                    dense[i][0] + normal[0] * push,
                    dense[i][1] + normal[1] * push,
                ];
                [
                    p[0].clamp(lo[0] + BOX_MARGIN_KM, hi[0] - BOX_MARGIN_KM),
                    p[1].clamp(lo[1] + BOX_MARGIN_KM, hi[1] - BOX_MARGIN_KM),
                ]
            })
            .collect();
        Outline { ring }
    }

    /// Point in polygon (crossing number).
    pub fn contains(&self, p: P2) -> bool {
        let mut inside = false;
        let n = self.ring.len();
        for i in 0..n {
            let a = self.ring[i];
            let b = self.ring[(i + 1) % n];
            if (a[1] > p[1]) != (b[1] > p[1]) {
                let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if p[0] < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Distance from `p` to the outline's boundary, km.
    pub fn distance(&self, p: P2) -> f64 {
        let n = self.ring.len();
        (0..n)
            .map(|i| point_segment(p, self.ring[i], self.ring[(i + 1) % n]))
            .fold(f64::INFINITY, f64::min)
    }

    /// Lower-left and upper-right corners of the bounding box.
    pub fn bbox(&self) -> (P2, P2) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &self.ring {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }

    /// Dummy seeds along the outside of the outline, about one local cell spacing apart and half
    /// a spacing out, so border cells stay about as large as their inland neighbours.
    pub fn dummies(&self, spacing: impl Fn(P2) -> f64) -> Vec<P2> {
        let mut out: Vec<P2> = Vec::new();
        let n = self.ring.len();
        let mut carry = 0.0;
        for i in 0..n {
            let a = self.ring[i];
            let b = self.ring[(i + 1) % n];
            let len = dist(a, b);
            let normal = outward_normal(a, b);
            let mut t = carry;
            while t < len {
                let p = [
                    a[0] + (b[0] - a[0]) * t / len,
                    a[1] + (b[1] - a[1]) * t / len,
                ];
                let s = spacing(p);
                let q = [p[0] + normal[0] * 0.5 * s, p[1] + normal[1] * 0.5 * s];
                let crowded = out.iter().rev().take(40).any(|&o| dist(o, q) < 0.6 * s);
                if !self.contains(q) && !crowded {
                    out.push(q);
                }
                t += s;
            }
            carry = t - len;
        }
        out
    }
}

pub fn dist(a: P2, b: P2) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    (dx * dx + dy * dy).sqrt()
}

fn point_segment(p: P2, a: P2, b: P2) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    dist(p, [a[0] + t * dx, a[1] + t * dy])
}

/// Unit normal pointing to the right of a→b (outwards for a counter-clockwise ring).
fn outward_normal(a: P2, b: P2) -> P2 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt();
    [dy / len, -dx / len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn towns_are_inside_and_dummies_outside() {
        let frame = Frame::new(113.4, 22.5);
        let outline = Outline::build(&frame, &Noise::new(3, 6.0));
        for t in &crate::towns::TOWNS {
            assert!(outline.contains(frame.to_km(t.lon, t.lat)), "{}", t.name);
        }
        let dummies = outline.dummies(|_| 0.7);
        assert!(dummies.len() > 100);
        assert!(dummies.iter().all(|&d| !outline.contains(d)));
    }
}
