//! BD-09, Baidu's coordinates: a further published distortion applied on top of GCJ-02.
//!
//! The usual GCJ-02 ← BD-09 formula is itself approximate, so BD-09 → WGS84 inverts the whole
//! WGS84 → BD-09 chain by iteration (see [`super::invert`]).

use super::{gcj02, invert};

const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;

/// GCJ-02 → BD-09 (the published formula).
pub fn from_gcj02([x, y]: [f64; 2]) -> [f64; 2] {
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * X_PI).cos();
    [z * theta.cos() + 0.0065, z * theta.sin() + 0.006]
}

/// WGS84 → BD-09.
pub fn from_wgs84(p: [f64; 2]) -> [f64; 2] {
    from_gcj02(gcj02::from_wgs84(p))
}

/// BD-09 → WGS84, to well below a millimetre.
pub fn to_wgs84(p: [f64; 2]) -> [f64; 2] {
    invert(from_wgs84, p)
}
