//! Recognising a CRS from its WKT text: a Shapefile's `.prj`, a GeoPackage's
//! `gpkg_spatial_ref_sys.definition`.
//!
//! Two ways a definition names its CRS: an authority code on the outermost node
//! (`AUTHORITY["EPSG","4547"]` in WKT 1, `ID["EPSG",4547]` in WKT 2), or, in the ESRI dialect
//! that ArcGIS and GDAL write into `.prj` files, only a name. Chinese survey data carries the
//! Gauss-Krüger families of CGCS2000, Xian 1980 and Beijing 1954 under ESRI names such as
//! `CGCS2000_3_Degree_GK_CM_114E` or `Xian_1980_3_Degree_GK_Zone_38`; those are mapped to their
//! EPSG codes by the zone arithmetic of the EPSG registry. Anything else is refused rather than
//! guessed: a wrong CRS puts every boundary in the wrong place without any error.

/// The EPSG code a WKT definition names, or `None` when it names none this module knows.
pub fn epsg_of_wkt(wkt: &str) -> Option<u32> {
    let text = wkt.trim().trim_start_matches('\u{feff}');
    if let Some(code) = top_level_authority(text) {
        return Some(code);
    }
    let name = top_level_name(text)?;
    epsg_of_name(&name)
}

/// The EPSG code of an ESRI (or EPSG-style, with spaces) CRS name, e.g.
/// `CGCS2000_3_Degree_GK_CM_114E` → 4547.
pub fn epsg_of_name(name: &str) -> Option<u32> {
    let n: String = name
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' | '/' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    match n.as_str() {
        "GCS_WGS_1984" | "WGS_84" | "WGS_1984" | "WGS84" => return Some(4326),
        "GCS_CHINA_GEODETIC_COORDINATE_SYSTEM_2000"
        | "CHINA_GEODETIC_COORDINATE_SYSTEM_2000"
        | "CGCS2000"
        | "GCS_CGCS2000" => return Some(4490),
        _ => {}
    }
    // (datum prefix, 3-degree zone base, 3-degree CM base, 6-degree zone base, 6-degree CM base)
    const FAMILIES: [(&str, u32, u32, u32, u32); 3] = [
        ("CGCS2000", 4513, 4534, 4491, 4502),
        ("XIAN_1980", 2349, 2370, 2327, 2338),
        ("BEIJING_1954", 2401, 2422, 21413, 21453),
    ];
    for (datum, zone3, cm3, zone6, cm6) in FAMILIES {
        let Some(rest) = n.strip_prefix(datum).and_then(|r| r.strip_prefix('_')) else {
            continue;
        };
        // EPSG-style spellings put "Gauss_Kruger" where ESRI writes "GK".
        let rest = rest.replace("GAUSS_KRUGER", "GK");
        let (three, rest) = match rest.strip_prefix("3_DEGREE_") {
            Some(r) => (true, r.to_owned()),
            None => (false, rest),
        };
        let rest = rest.strip_prefix("GK_")?;
        if let Some(zone) = rest.strip_prefix("ZONE_") {
            // Beijing 1954's 6-degree CM codes are also written "GK_Zone_13N".
            if let Some(z) = zone.strip_suffix('N').and_then(|z| z.parse::<u32>().ok()) {
                return (!three && (13..=23).contains(&z)).then(|| cm6 + z - 13);
            }
            let z: u32 = zone.parse().ok()?;
            return if three {
                (25..=45).contains(&z).then(|| zone3 + z - 25)
            } else {
                (13..=23).contains(&z).then(|| zone6 + z - 13)
            };
        }
        let cm: u32 = rest.strip_prefix("CM_")?.strip_suffix('E')?.parse().ok()?;
        return if three {
            (75..=135)
                .contains(&cm)
                .then_some(cm)
                .filter(|cm| cm % 3 == 0)
                .map(|cm| cm3 + (cm - 75) / 3)
        } else {
            (75..=135)
                .contains(&cm)
                .then_some(cm)
                .filter(|cm| (cm - 75) % 6 == 0)
                .map(|cm| cm6 + (cm - 75) / 6)
        };
    }
    None
}

/// The nodes directly under the outermost one, as (keyword, bracketed arguments).
fn children(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(open) = text.find(['[', '(']) else {
        return out;
    };
    let body = &text[open + 1..];
    let mut depth = 0usize;
    let mut in_string = false;
    let mut start_kw = 0usize;
    let mut start_args = None;
    for (i, c) in body.char_indices() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '[' | '(' => {
                if depth == 0 {
                    start_args = Some(i + 1);
                }
                depth += 1;
            }
            ']' | ')' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0
                    && let Some(s) = start_args.take()
                {
                    let keyword = body[start_kw..s - 1].trim().trim_start_matches(',').trim();
                    out.push((keyword.to_ascii_uppercase(), body[s..i].to_owned()));
                    start_kw = i + 1;
                }
            }
            ',' if depth == 0 => start_kw = i + 1,
            _ => {}
        }
    }
    out
}

/// The code of `AUTHORITY["EPSG","n"]` / `ID["EPSG",n]` on the outermost node.
fn top_level_authority(text: &str) -> Option<u32> {
    children(text)
        .into_iter()
        .filter(|(k, _)| k == "AUTHORITY" || k == "ID")
        .find_map(|(_, args)| {
            let mut parts = args.split(',').map(|p| p.trim().trim_matches('"'));
            let authority = parts.next()?;
            let code = parts.next()?;
            authority
                .eq_ignore_ascii_case("EPSG")
                .then(|| code.parse().ok())
                .flatten()
        })
}

/// The quoted name of the outermost node (`PROJCS["name", …]`).
fn top_level_name(text: &str) -> Option<String> {
    let open = text.find(['[', '('])?;
    let rest = text[open + 1..].trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What GDAL 3.6 writes into the `.prj` of an EPSG:4547 Shapefile (ESRI dialect).
    const GDAL_4547: &str = r#"PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn esri_names_of_the_gauss_kruger_families() {
        assert_eq!(epsg_of_wkt(GDAL_4547), Some(4547));
        assert_eq!(epsg_of_name("CGCS2000_3_Degree_GK_Zone_38"), Some(4526));
        assert_eq!(epsg_of_name("CGCS2000_3_Degree_GK_CM_75E"), Some(4534));
        assert_eq!(epsg_of_name("CGCS2000_3_Degree_GK_CM_135E"), Some(4554));
        assert_eq!(epsg_of_name("CGCS2000_GK_Zone_19"), Some(4497));
        assert_eq!(epsg_of_name("CGCS2000_GK_CM_111E"), Some(4508));
        assert_eq!(
            epsg_of_name("CGCS2000 / 3-degree Gauss-Kruger CM 114E"),
            Some(4547)
        );
        assert_eq!(epsg_of_name("Xian_1980_3_Degree_GK_CM_114E"), Some(2383));
        assert_eq!(epsg_of_name("Xian_1980_3_Degree_GK_Zone_38"), Some(2362));
        assert_eq!(epsg_of_name("Xian_1980_GK_CM_111E"), Some(2344));
        assert_eq!(epsg_of_name("Beijing_1954_3_Degree_GK_CM_114E"), Some(2435));
        assert_eq!(epsg_of_name("Beijing_1954_GK_Zone_19"), Some(21419));
        assert_eq!(epsg_of_name("Beijing_1954_GK_Zone_19N"), Some(21459));
        assert_eq!(
            epsg_of_name("GCS_China_Geodetic_Coordinate_System_2000"),
            Some(4490)
        );
        // Not a zone of the family, or not a Chinese Gauss-Krüger name at all.
        assert_eq!(epsg_of_name("CGCS2000_3_Degree_GK_CM_115E"), None);
        assert_eq!(epsg_of_name("CGCS2000_3_Degree_GK_Zone_46"), None);
        assert_eq!(epsg_of_name("WGS_1984_UTM_Zone_49N"), None);
    }

    #[test]
    fn the_outermost_authority_wins_over_inner_ones() {
        let wkt = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4547"]]"#;
        assert_eq!(epsg_of_wkt(wkt), Some(4547));
        let wkt2 = r#"PROJCRS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",BASEGEOGCRS["China Geodetic Coordinate System 2000",ID["EPSG",4490]],ID["EPSG",4547]]"#;
        assert_eq!(epsg_of_wkt(wkt2), Some(4547));
    }

    #[test]
    fn unknown_or_broken_text_names_nothing() {
        assert_eq!(epsg_of_wkt(""), None);
        assert_eq!(epsg_of_wkt("not wkt"), None);
        assert_eq!(
            epsg_of_wkt(r#"PROJCS["Local grid",UNIT["Meter",1.0]]"#),
            None
        );
        assert_eq!(epsg_of_wkt(r#"PROJCS["unterminated"#), None);
    }
}
