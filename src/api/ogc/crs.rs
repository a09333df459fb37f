//! The CRSs OGC API Features offers (Part 2, CRS by reference): their URIs, and the [`Crs`]
//! each stands for in the axis order its authority gives (EPSG:4490 latitude first, EPSG:4547
//! northing first; CRS84 and the local GCJ-02 longitude/easting first).

use crate::api::error::ApiError;
use crate::crs::Crs;

/// OGC's CRS84: WGS84 longitude, latitude (the default of `crs` and `bbox-crs`).
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// GCJ-02 (Amap, Tencent) has no EPSG code; shequ names it with this URN (longitude,
/// latitude), documented in README's OGC API section.
pub const GCJ02: &str = "urn:shequ:def:crs:GCJ-02";

/// Every URI offered, in the order collections list them.
pub const OFFERED: [&str; 5] = [
    CRS84,
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
    "http://www.opengis.net/def/crs/EPSG/0/4547",
    GCJ02,
];

/// The CRS of `uri` (one of [`OFFERED`]), or a 400 naming the parameter and what is offered.
pub fn parse(name: &str, uri: Option<&str>) -> Result<(Crs, &'static str), ApiError> {
    let Some(uri) = uri else {
        return Ok((Crs::Wgs84, CRS84));
    };
    let unsupported = || {
        ApiError::bad_request(format!(
            "parameter `{name}`: {uri:?} is not offered; use one of {}",
            OFFERED.join(", ")
        ))
    };
    let offered = OFFERED
        .iter()
        .find(|o| o.eq_ignore_ascii_case(uri.trim()))
        .ok_or_else(unsupported)?;
    let crs = match *offered {
        CRS84 => Crs::Wgs84,
        GCJ02 => Crs::Gcj02,
        epsg => {
            let code = epsg.rsplit('/').next().unwrap_or_default();
            let crs: Crs = format!("EPSG:{code}").parse().map_err(|_| unsupported())?;
            crs.north_first()
        }
    };
    Ok((crs, offered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_uri_parses_and_epsg_ones_are_north_first() {
        for uri in OFFERED {
            let (crs, back) = parse("crs", Some(uri)).expect(uri);
            assert_eq!(back, uri);
            assert_eq!(matches!(crs, Crs::NorthFirst(_)), uri.contains("/EPSG/"));
        }
        // The reference point of docs/DESIGN.md: northing first in EPSG:4547.
        let (crs, _) = parse("crs", Some(OFFERED[3])).expect("4547");
        let [n, e] = crs.from_wgs84([113.39, 22.52]).expect("in area");
        assert!((e - 437_241.471_4).abs() < 1e-3 && (n - 2_491_510.013_2).abs() < 1e-3);
        assert!(parse("crs", Some("EPSG:4326")).is_err());
    }
}
