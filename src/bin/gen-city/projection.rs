//! Local metric frame and fixed-point output coordinates.
//!
//! All geometry is built in kilometres in a local equirectangular frame (x east, y north) so that
//! cells are not stretched by the 0.92 ratio between a degree of longitude and one of latitude at
//! 22.5°N. Output coordinates are degrees rounded to 7 decimals and are kept as integers
//! (units of 1e-7°) from the moment a vertex is created: every vertex is rounded exactly once, so a
//! vertex shared by two polygons is bit-identical in both, and validity checks run in exact
//! integer arithmetic on precisely the numbers that are written.
//!
//! Only `+ - * / sqrt` are used (our own cosine instead of libm's) so the output does not depend
//! on the platform's maths library.

/// Kilometres per degree of latitude (and of longitude at the equator).
pub const KM_PER_DEG: f64 = 111.32;

/// Fixed-point scale: output coordinates are integers in units of 1e-7 degree.
pub const FIXED_SCALE: f64 = 1e7;

/// A point in the local frame, kilometres.
pub type P2 = [f64; 2];

/// An output position: [lon, lat] in units of 1e-7 degree.
pub type Fixed = [i64; 2];

/// Cosine by Taylor series; accurate to ~1e-16 for |x| <= pi/2, which covers every latitude.
pub fn det_cos(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=14 {
        let k = f64::from(k);
        term *= -x2 / ((2.0 * k - 1.0) * (2.0 * k));
        sum += term;
    }
    sum
}

/// Maps the local kilometre frame around (`lon0`, `lat0`) to degrees.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub lon0: f64,
    pub lat0: f64,
    km_per_deg_lon: f64,
}

impl Frame {
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let rad = lat0 * (std::f64::consts::PI / 180.0);
        Frame {
            lon0,
            lat0,
            km_per_deg_lon: KM_PER_DEG * det_cos(rad),
        }
    }

    pub fn to_km(self, lon: f64, lat: f64) -> P2 {
        [
            (lon - self.lon0) * self.km_per_deg_lon,
            (lat - self.lat0) * KM_PER_DEG,
        ]
    }

    pub fn to_deg(self, p: P2) -> (f64, f64) {
        (
            self.lon0 + p[0] / self.km_per_deg_lon,
            self.lat0 + p[1] / KM_PER_DEG,
        )
    }

    /// Rounds a local point to the output grid (the one and only rounding of a vertex).
    pub fn to_fixed(self, p: P2) -> Fixed {
        let (lon, lat) = self.to_deg(p);
        [
            (lon * FIXED_SCALE).round() as i64,
            (lat * FIXED_SCALE).round() as i64,
        ]
    }
}

/// Formats a fixed-point coordinate with exactly 7 decimals, e.g. `113.3812345`.
pub fn fmt_fixed(v: i64, out: &mut String) {
    use std::fmt::Write;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    // Writing to a String cannot fail.
    let _ = write!(out, "{sign}{}.{:07}", a / 10_000_000, a % 10_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_matches_std() {
        for i in 0..=90 {
            let x = f64::from(i) * std::f64::consts::PI / 180.0;
            assert!((det_cos(x) - x.cos()).abs() < 1e-14, "{i}");
        }
    }

    #[test]
    fn round_trip_and_format() {
        let f = Frame::new(113.4, 22.5);
        let p = f.to_km(113.45, 22.55);
        let (lon, lat) = f.to_deg(p);
        assert!((lon - 113.45).abs() < 1e-12 && (lat - 22.55).abs() < 1e-12);
        assert_eq!(f.to_fixed(p), [1_134_500_000, 225_500_000]);
        let mut s = String::new();
        fmt_fixed(1_133_812_345, &mut s);
        s.push(',');
        fmt_fixed(-5, &mut s);
        s.push(',');
        fmt_fixed(220_000_000, &mut s);
        assert_eq!(s, "113.3812345,-0.0000005,22.0000000");
    }
}
