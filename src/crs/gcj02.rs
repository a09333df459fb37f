//! GCJ-02 (国测局坐标, "Mars coordinates"), used by Amap and Tencent maps.
//!
//! The forward transform is the widely published formula (Krasovsky ellipsoid parameters and
//! a fixed trigonometric offset field). It has no closed-form inverse; [`to_wgs84`] inverts it
//! by iteration (see [`super::invert`]), because the usual one-step inverse is off by metres.

use super::invert;

/// Semi-major axis and squared eccentricity of the Krasovsky 1940 ellipsoid, as the formula uses.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// The box outside which the formula leaves coordinates unchanged ("outside China").
pub fn in_china([lon, lat]: [f64; 2]) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 `[lon, lat]` → GCJ-02 (identity outside China).
pub fn from_wgs84(p: [f64; 2]) -> [f64; 2] {
    use std::f64::consts::PI;
    if !in_china(p) {
        return p;
    }
    let [lon, lat] = p;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat = offset_lat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = offset_lon(x, y) * 180.0 / (A / sqrt_magic * rad_lat.cos() * PI);
    [lon + d_lon, lat + d_lat]
}

/// GCJ-02 `[lon, lat]` → WGS84, to well below a millimetre.
pub fn to_wgs84(p: [f64; 2]) -> [f64; 2] {
    invert(from_wgs84, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_outside_china() {
        assert_eq!(from_wgs84([2.35, 48.85]), [2.35, 48.85]);
        assert_eq!(to_wgs84([-74.0, 40.7]), [-74.0, 40.7]);
    }
}
