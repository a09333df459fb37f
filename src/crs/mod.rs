//! Coordinate reference systems accepted on input.
//!
//! Lon/lat in WGS84 and CGCS2000 are treated as equal (they differ by centimetres). GCJ-02, BD-09
//! and projected EPSG codes are not converted yet; they are refused with a clear message rather
//! than silently misread as WGS84.

use std::fmt;
use std::str::FromStr;

/// A supported input CRS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crs {
    #[default]
    Wgs84,
    Cgcs2000,
}

/// A `crs` value that names no supported system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported crs {given:?}: supported are wgs84 (default), cgcs2000, EPSG:4326, EPSG:4490")]
pub struct UnsupportedCrs {
    pub given: String,
}

impl FromStr for Crs {
    type Err = UnsupportedCrs;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "epsg:4326" => Ok(Crs::Wgs84),
            "cgcs2000" | "epsg:4490" => Ok(Crs::Cgcs2000),
            _ => Err(UnsupportedCrs {
                given: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crs::Wgs84 => "wgs84",
            Crs::Cgcs2000 => "cgcs2000",
        })
    }
}

impl Crs {
    /// Converts `[x, y]` in this CRS to WGS84 `[lon, lat]`.
    pub fn to_wgs84(self, p: [f64; 2]) -> [f64; 2] {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => p,
        }
    }
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

    #[test]
    fn names_and_codes_parse() {
        assert_eq!("WGS84".parse(), Ok(Crs::Wgs84));
        assert_eq!("EPSG:4490".parse(), Ok(Crs::Cgcs2000));
        assert!("gcj02".parse::<Crs>().is_err());
    }

    #[test]
    fn ranges_are_checked() {
        assert!(check_lon_lat([113.4, 22.5]).is_ok());
        assert_eq!(
            check_lon_lat([181.0, 0.0]),
            Err(PositionError::Longitude(181.0))
        );
        assert!(check_lon_lat([0.0, f64::NAN]).is_err());
    }
}
