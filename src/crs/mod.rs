//! Coordinate reference systems accepted on input and offered on output.
//!
//! - `wgs84` (EPSG:4326) and `cgcs2000` (EPSG:4490): lon/lat, treated as equal (they differ by
//!   centimetres); the registry is stored in this.
//! - `gcj02` ([`gcj02`]): Amap/Tencent; `bd09` ([`bd09`]): Baidu. Forward by the published
//!   formulas, inverse by iteration to well below a millimetre.
//! - `EPSG:<code>` of a projected CRS ([`projected`]), e.g. EPSG:4547 (CGCS2000 Gauss-Kruger),
//!   with a clear error for unknown codes and points outside the CRS's area of use.

pub mod bd09;
pub mod gcj02;
pub mod projected;
pub mod reproject;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use projected::Projected;

/// A supported CRS. Cheap to clone (a projected CRS is shared).
#[derive(Debug, Clone, Default)]
pub enum Crs {
    #[default]
    Wgs84,
    Cgcs2000,
    Gcj02,
    Bd09,
    Projected(Arc<Projected>),
    /// Another CRS with its two axes the other way round: north first, as the EPSG registry
    /// orders EPSG:4490 (latitude, longitude) and EPSG:4547 (northing, easting). OGC API
    /// Features Part 2 writes coordinates in the authority's order for these URIs; the rest of
    /// shequ speaks x (east) first and never builds this from a name.
    NorthFirst(Arc<Crs>),
}

impl PartialEq for Crs {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Crs::Projected(a), Crs::Projected(b)) => a.code() == b.code(),
            (Crs::NorthFirst(a), Crs::NorthFirst(b)) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Why a CRS name or a point in it cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrsError {
    #[error(
        "unsupported crs {given:?}: supported are wgs84 (default), cgcs2000, gcj02, bd09, EPSG:4326, EPSG:4490 and projected EPSG:<code> (e.g. EPSG:4547)"
    )]
    Unsupported { given: String },
    #[error("unknown or unusable crs EPSG:{code}: {why}")]
    UnknownEpsg { code: u16, why: String },
    #[error("point ({}, {}) is outside the area of use of {crs} ({area})", point[0], point[1])]
    OutsideArea {
        crs: String,
        point: [f64; 2],
        area: String,
    },
    #[error(transparent)]
    Position(#[from] PositionError),
}

impl FromStr for Crs {
    type Err = CrsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "wgs84" | "epsg:4326" => return Ok(Crs::Wgs84),
            "cgcs2000" | "epsg:4490" => return Ok(Crs::Cgcs2000),
            "gcj02" | "gcj-02" => return Ok(Crs::Gcj02),
            "bd09" | "bd-09" => return Ok(Crs::Bd09),
            _ => {}
        }
        let code = lower
            .strip_prefix("epsg:")
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| CrsError::Unsupported {
                given: s.to_owned(),
            })?;
        Projected::from_epsg(code).map(|p| Crs::Projected(Arc::new(p)))
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Wgs84 => f.write_str("wgs84"),
            Crs::Cgcs2000 => f.write_str("cgcs2000"),
            Crs::Gcj02 => f.write_str("gcj02"),
            Crs::Bd09 => f.write_str("bd09"),
            Crs::Projected(p) => write!(f, "EPSG:{}", p.code()),
            Crs::NorthFirst(inner) => write!(f, "{inner} (north first)"),
        }
    }
}

impl Crs {
    /// True for the CRSs the registry is stored in (no conversion at all).
    pub fn is_wgs84(&self) -> bool {
        matches!(self, Crs::Wgs84 | Crs::Cgcs2000)
    }

    /// Converts `[x, y]` in this CRS to a checked WGS84 `[lon, lat]`.
    pub fn to_wgs84(&self, p: [f64; 2]) -> Result<[f64; 2], CrsError> {
        let out = match self {
            Crs::Wgs84 | Crs::Cgcs2000 => p,
            Crs::Gcj02 => gcj02::to_wgs84(check_lon_lat(p)?),
            Crs::Bd09 => bd09::to_wgs84(check_lon_lat(p)?),
            Crs::Projected(proj) => proj.to_wgs84(p)?,
            Crs::NorthFirst(inner) => inner.to_wgs84([p[1], p[0]])?,
        };
        Ok(check_lon_lat(out)?)
    }

    /// Converts a WGS84 `[lon, lat]` to this CRS.
    pub fn from_wgs84(&self, p: [f64; 2]) -> Result<[f64; 2], CrsError> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => Ok(p),
            Crs::Gcj02 => Ok(gcj02::from_wgs84(p)),
            Crs::Bd09 => Ok(bd09::from_wgs84(p)),
            Crs::Projected(proj) => proj.from_wgs84(p),
            Crs::NorthFirst(inner) => inner.from_wgs84(p).map(|[x, y]| [y, x]),
        }
    }

    /// Whether [`Crs::from_wgs84`] converts every position (the geographic CRSs and the
    /// GCJ-02/BD-09 offsets do); a projected CRS refuses positions outside its area of use.
    pub fn converts_everywhere(&self) -> bool {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 | Crs::Gcj02 | Crs::Bd09 => true,
            Crs::Projected(_) => false,
            Crs::NorthFirst(inner) => inner.converts_everywhere(),
        }
    }

    /// The EPSG code of a projected CRS (metres); `None` for the geographic ones.
    pub fn epsg_projected(&self) -> Option<u16> {
        match self {
            Crs::Projected(p) => Some(p.code()),
            _ => None,
        }
    }

    /// The same CRS with its axes swapped (see [`Crs::NorthFirst`]).
    pub fn north_first(self) -> Crs {
        Crs::NorthFirst(Arc::new(self))
    }
}

/// Inverts a near-identity map `forward` (an offset of at most a few hundred metres that varies
/// slowly) at `target` by fixed-point iteration: each step corrects the guess by the residual.
/// Stops when the residual is below 1e-11° (about a micrometre) or after 30 steps.
pub(crate) fn invert(forward: impl Fn([f64; 2]) -> [f64; 2], target: [f64; 2]) -> [f64; 2] {
    const TOLERANCE_DEG: f64 = 1e-11;
    let mut p = target;
    for _ in 0..30 {
        let f = forward(p);
        let (dx, dy) = (target[0] - f[0], target[1] - f[1]);
        if dx.abs() < TOLERANCE_DEG && dy.abs() < TOLERANCE_DEG {
            break;
        }
        p = [p[0] + dx, p[1] + dy];
    }
    p
}

/// Why a longitude/latitude pair cannot be a position on Earth.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PositionError {
    #[error("longitude {0} is out of range −180…180")]
    Longitude(f64),
    #[error("latitude {0} is out of range −90…90")]
    Latitude(f64),
}

/// Checks that `[lon, lat]` is finite and in range.
pub fn check_lon_lat([lon, lat]: [f64; 2]) -> Result<[f64; 2], PositionError> {
    if !(-180.0..=180.0).contains(&lon) {
        return Err(PositionError::Longitude(lon));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(PositionError::Latitude(lat));
    }
    Ok([lon, lat])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ground distance in metres between two nearby lon/lat points (local flat approximation,
    /// ample for sub-metre differences).
    fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
        let k = 111_320.0;
        let dx = (a[0] - b[0]) * k * a[1].to_radians().cos();
        let dy = (a[1] - b[1]) * k;
        dx.hypot(dy)
    }

    #[test]
    fn names_and_codes_parse() {
        assert_eq!("WGS84".parse(), Ok(Crs::Wgs84));
        assert_eq!("EPSG:4490".parse(), Ok(Crs::Cgcs2000));
        assert_eq!("gcj02".parse(), Ok(Crs::Gcj02));
        assert_eq!("BD-09".parse(), Ok(Crs::Bd09));
        let p: Crs = "epsg:4547".parse().expect("EPSG:4547");
        assert_eq!(p.to_string(), "EPSG:4547");
        assert!(matches!(
            "mars".parse::<Crs>(),
            Err(CrsError::Unsupported { .. })
        ));
        assert!(matches!(
            "EPSG:1".parse::<Crs>(),
            Err(CrsError::UnknownEpsg { code: 1, .. })
        ));
        // Geographic codes other than the two accepted ones are refused, not misread.
        assert!(matches!(
            "EPSG:4214".parse::<Crs>(),
            Err(CrsError::UnknownEpsg { .. })
        ));
    }

    #[test]
    fn epsg_4547_reference_value() {
        // DESIGN §7: 113.39E 22.52N → E 437241.4714, N 2491510.0132 (±1 mm).
        let crs: Crs = "EPSG:4547".parse().expect("EPSG:4547");
        let [e, n] = crs.from_wgs84([113.39, 22.52]).expect("in area");
        assert!((e - 437241.4714).abs() < 1e-3, "E {e}");
        assert!((n - 2491510.0132).abs() < 1e-3, "N {n}");
        let back = crs.to_wgs84([437241.4714, 2491510.0132]).expect("in area");
        assert!(metres(back, [113.39, 22.52]) < 1e-3, "{back:?}");
    }

    #[test]
    fn epsg_4547_refuses_points_outside_its_zone() {
        let crs: Crs = "EPSG:4547".parse().expect("EPSG:4547");
        assert!(matches!(
            crs.from_wgs84([120.0, 30.0]),
            Err(CrsError::OutsideArea { .. })
        ));
        // An easting 900 km from the central meridian is far outside the 3-degree zone.
        assert!(matches!(
            crs.to_wgs84([1_400_000.0, 2_491_510.0]),
            Err(CrsError::OutsideArea { .. })
        ));
        // Lon/lat given by mistake is refused, not answered somewhere off Africa.
        assert!(crs.to_wgs84([113.39, 22.52]).is_err());
    }

    #[test]
    fn gcj02_reference_value() {
        // DESIGN §7: WGS84 (113.382391, 22.521113) → GCJ-02 (113.387868, 22.518417) (±1e-6°).
        let [lon, lat] = gcj02::from_wgs84([113.382391, 22.521113]);
        assert!((lon - 113.387868).abs() < 1e-6, "lon {lon}");
        assert!((lat - 22.518417).abs() < 1e-6, "lat {lat}");
    }

    #[test]
    fn round_trips_below_a_millimetre_over_the_city() {
        // A 41 × 41 lattice over the sample city's bounding box (113.1–113.7E, 22.15–22.83N).
        for i in 0..=40 {
            for j in 0..=40 {
                let p = [
                    113.1 + 0.6 * f64::from(i) / 40.0,
                    22.15 + 0.68 * f64::from(j) / 40.0,
                ];
                for crs in [Crs::Gcj02, Crs::Bd09] {
                    let q = crs.from_wgs84(p).expect("total");
                    // The offsets are real (hundreds of metres), so the test is not vacuous.
                    assert!(metres(p, q) > 100.0, "{crs} {p:?}");
                    let back = crs.to_wgs84(q).expect("in range");
                    assert!(metres(back, p) < 1e-3, "{crs} {p:?}: {back:?}");
                }
            }
        }
    }

    #[test]
    fn one_step_inverse_would_not_do() {
        // The classic one-step GCJ-02 inverse (subtract the offset at the GCJ point) is off by
        // metres here; the iterated one is not.
        let p = [113.382391, 22.521113];
        let g = gcj02::from_wgs84(p);
        let off = gcj02::from_wgs84(g);
        let one_step = [2.0 * g[0] - off[0], 2.0 * g[1] - off[1]];
        assert!(metres(one_step, p) > 0.5, "{}", metres(one_step, p));
        assert!(metres(gcj02::to_wgs84(g), p) < 1e-3);
    }

    #[test]
    fn ranges_are_checked() {
        assert!(check_lon_lat([113.4, 22.5]).is_ok());
        assert_eq!(
            check_lon_lat([181.0, 0.0]),
            Err(PositionError::Longitude(181.0))
        );
        assert!(check_lon_lat([0.0, f64::NAN]).is_err());
        assert!(Crs::Gcj02.to_wgs84([200.0, 22.0]).is_err());
    }
}
