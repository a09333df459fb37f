//! Projected CRSs by EPSG code (e.g. EPSG:4547, CGCS2000 3-degree Gauss-Kruger CM 114E), through
//! proj4rs and the EPSG definitions of crs-definitions.
//!
//! crs-definitions carries no area of use, so the area is derived from the definition: for the
//! CGCS2000 Gauss-Kruger families (EPSG:4491–4554) the zone's own longitude span (±3° or ±1.5°
//! around the central meridian) within China's latitudes; for other transverse Mercator codes
//! ±3° around the central meridian. Every conversion is also checked by a round trip, so a
//! point where a projection diverges is refused instead of being answered wrongly.

use proj4rs::Proj;
use proj4rs::adaptors::transform_xy;

use super::CrsError;

/// A projected CRS ready to convert points.
#[derive(Debug)]
pub struct Projected {
    code: u16,
    proj: Proj,
    geographic: Proj,
    /// Area of use: lon range, lat range (degrees).
    lon: (f64, f64),
    lat: (f64, f64),
}

/// Latitudes of China, land and sea, for the CGCS2000 zones.
const CHINA_LAT: (f64, f64) = (3.0, 54.0);
/// Largest round-trip error accepted, metres (the acceptance bound is 1 mm).
const ROUND_TRIP_M: f64 = 1e-3;

impl Projected {
    pub fn from_epsg(code: u16) -> Result<Self, CrsError> {
        let unknown = |why: String| CrsError::UnknownEpsg { code, why };
        let proj = Proj::from_epsg_code(code).map_err(|e| unknown(e.to_string()))?;
        if proj.is_latlong() || proj.is_geocent() {
            return Err(unknown(
                "it is not a projected CRS (only wgs84/EPSG:4326 and cgcs2000/EPSG:4490 are accepted as geographic)".into(),
            ));
        }
        let proj4 = crs_definitions::from_code(code).map_or("", |d| d.proj4);
        // A datum with published shift parameters (Beijing 1954: `+towgs84=…`) is shifted to
        // WGS84 as GDAL/PROJ do; one without (CGCS2000, Xian 1980) is taken as WGS84 on its own
        // ellipsoid: CGCS2000 and WGS84 agree within centimetres, and Xian 1980 has no public
        // parameters (PROJ's ballpark transformation does the same).
        let geographic = if proj4.contains("+towgs84=") {
            "+proj=longlat +datum=WGS84 +no_defs".to_owned()
        } else {
            let ellps = proj4
                .split_whitespace()
                .find(|t| t.starts_with("+ellps="))
                .unwrap_or("+ellps=GRS80");
            format!("+proj=longlat {ellps} +no_defs")
        };
        let geographic = Proj::from_proj_string(&geographic).map_err(|e| unknown(e.to_string()))?;
        let lon0 = proj.longitude_of_origin().to_degrees();
        let (half, lat) = match code {
            4491..=4512 => (3.0, CHINA_LAT),
            4513..=4554 => (1.5, CHINA_LAT),
            _ if proj.projname() == "tmerc" || proj.projname() == "etmerc" => (3.0, (-84.0, 84.0)),
            _ => (180.0, (-85.0, 85.0)),
        };
        Ok(Projected {
            code,
            proj,
            geographic,
            lon: (lon0 - half, lon0 + half),
            lat,
        })
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    fn check_area(&self, [lon, lat]: [f64; 2], input: [f64; 2]) -> Result<(), CrsError> {
        let inside =
            (self.lon.0..=self.lon.1).contains(&lon) && (self.lat.0..=self.lat.1).contains(&lat);
        if inside {
            Ok(())
        } else {
            Err(self.outside(input))
        }
    }

    fn outside(&self, input: [f64; 2]) -> CrsError {
        CrsError::OutsideArea {
            crs: format!("EPSG:{}", self.code),
            point: input,
            area: format!(
                "longitude {:.1}…{:.1}, latitude {:.1}…{:.1}",
                self.lon.0, self.lon.1, self.lat.0, self.lat.1
            ),
        }
    }

    fn forward(&self, [lon, lat]: [f64; 2]) -> Option<[f64; 2]> {
        let (x, y) = transform_xy(
            &self.geographic,
            &self.proj,
            lon.to_radians(),
            lat.to_radians(),
        )
        .ok()?;
        (x.is_finite() && y.is_finite()).then_some([x, y])
    }

    fn inverse(&self, [x, y]: [f64; 2]) -> Option<[f64; 2]> {
        let (lon, lat) = transform_xy(&self.proj, &self.geographic, x, y).ok()?;
        let p = [lon.to_degrees(), lat.to_degrees()];
        (p[0].is_finite() && p[1].is_finite()).then_some(p)
    }

    /// Easting/northing → WGS84 `[lon, lat]`.
    pub fn to_wgs84(&self, xy: [f64; 2]) -> Result<[f64; 2], CrsError> {
        let p = self.inverse(xy).ok_or_else(|| self.outside(xy))?;
        self.check_area(p, xy)?;
        let back = self.forward(p).ok_or_else(|| self.outside(xy))?;
        if (back[0] - xy[0]).hypot(back[1] - xy[1]) > ROUND_TRIP_M {
            return Err(self.outside(xy));
        }
        Ok(p)
    }

    /// WGS84 `[lon, lat]` → easting/northing.
    pub fn from_wgs84(&self, p: [f64; 2]) -> Result<[f64; 2], CrsError> {
        self.check_area(p, p)?;
        self.forward(p).ok_or_else(|| self.outside(p))
    }
}
