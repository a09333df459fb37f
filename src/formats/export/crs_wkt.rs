//! A download's CRS written out: the ESRI WKT of a Shapefile's `.prj` and the OGC WKT of a
//! GeoPackage's `gpkg_spatial_ref_sys.definition`.
//!
//! ArcGIS reads a `.prj` by its ESRI name and QGIS/GDAL identify the EPSG code from it, so the
//! `.prj` of the CRSs Chinese data uses (WGS84, CGCS2000 and its 3- and 6-degree Gauss-Krüger
//! zones, EPSG:4491–4554) is written in the ESRI dialect that ArcGIS writes, the same names
//! [`crate::formats::prj`] reads back. Any other code takes the OGC WKT 1 of the EPSG registry
//! (`crs-definitions`), which every reader understands.

const DEGREE: &str = "UNIT[\"Degree\",0.0174532925199433]";
const GCS_WGS84: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],";
const GCS_CGCS2000: &str = "GEOGCS[\"GCS_China_Geodetic_Coordinate_System_2000\",DATUM[\"D_China_2000\",SPHEROID[\"CGCS2000\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],";

/// The ESRI WKT of EPSG:`code` for a `.prj`, or `None` when the registry does not know it.
pub fn esri(code: u32) -> Option<String> {
    match code {
        4326 => return Some(format!("{GCS_WGS84}{DEGREE}]")),
        4490 => return Some(format!("{GCS_CGCS2000}{DEGREE}]")),
        _ => {}
    }
    let (name, central_meridian, false_easting) = match code {
        // 6-degree zones 13–23 (zone number in the easting), then CM 75E–135E.
        4491..=4501 => {
            let zone = code - 4491 + 13;
            (
                format!("CGCS2000_GK_Zone_{zone}"),
                zone * 6 - 3,
                f64::from(zone) * 1e6 + 5e5,
            )
        }
        4502..=4512 => {
            let cm = 75 + (code - 4502) * 6;
            (format!("CGCS2000_GK_CM_{cm}E"), cm, 5e5)
        }
        // 3-degree zones 25–45, then CM 75E–135E.
        4513..=4533 => {
            let zone = code - 4513 + 25;
            (
                format!("CGCS2000_3_Degree_GK_Zone_{zone}"),
                zone * 3,
                f64::from(zone) * 1e6 + 5e5,
            )
        }
        4534..=4554 => {
            let cm = 75 + (code - 4534) * 3;
            (format!("CGCS2000_3_Degree_GK_CM_{cm}E"), cm, 5e5)
        }
        _ => return ogc(code),
    };
    Some(format!(
        "PROJCS[\"{name}\",{GCS_CGCS2000}{DEGREE}],PROJECTION[\"Gauss_Kruger\"],\
         PARAMETER[\"False_Easting\",{false_easting:.1}],PARAMETER[\"False_Northing\",0.0],\
         PARAMETER[\"Central_Meridian\",{central_meridian}.0],PARAMETER[\"Scale_Factor\",1.0],\
         PARAMETER[\"Latitude_Of_Origin\",0.0],UNIT[\"Meter\",1.0]]"
    ))
}

/// The OGC WKT 1 of EPSG:`code` with its `AUTHORITY` (GeoPackage definitions).
pub fn ogc(code: u32) -> Option<String> {
    let code = u16::try_from(code).ok()?;
    crs_definitions::from_code(code).map(|d| d.wkt.to_owned())
}

/// The CRS's name as the EPSG registry gives it (GeoPackage `srs_name`).
pub fn name(code: u32) -> String {
    ogc(code)
        .and_then(|wkt| {
            let start = wkt.find('"')? + 1;
            let end = start + wkt[start..].find('"')?;
            Some(wkt[start..end].to_owned())
        })
        .unwrap_or_else(|| format!("EPSG:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::prj::epsg_of_wkt;

    #[test]
    fn esri_names_read_back_as_their_codes() {
        for code in [
            4326, 4490, 4491, 4501, 4502, 4512, 4513, 4533, 4534, 4547, 4554, 32650,
        ] {
            let wkt = esri(code).expect("known code");
            assert_eq!(epsg_of_wkt(&wkt), Some(code), "{wkt}");
        }
        let wkt = esri(4547).expect("4547");
        assert!(
            wkt.starts_with("PROJCS[\"CGCS2000_3_Degree_GK_CM_114E\""),
            "{wkt}"
        );
        assert!(wkt.contains("\"Central_Meridian\",114.0"), "{wkt}");
        assert!(esri(4526).is_some_and(|w| w.contains("38500000.0")));
        assert_eq!(name(4547), "CGCS2000 / 3-degree Gauss-Kruger CM 114E");
    }
}
