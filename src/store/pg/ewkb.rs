//! A feature's GeoJSON geometry as PostGIS EWKB (SRID 4326), written by shequ so that the
//! database does not parse GeoJSON (issue 20).
//!
//! `features.geom` used to be a column PostgreSQL generated from the feature's text
//! (`ST_GeomFromGeoJSON`): seeding a ×100 city spent 6 min 44 s of one backend in it, while
//! shequ had already parsed every feature it wrote. Now the row carries its geometry as EWKB,
//! which PostGIS reads as fast as it copies bytes. Only the plain cases are encoded here: 2-D
//! positions, the six GeoJSON geometry types, non-empty, rings closed with at least four
//! positions. For anything else (altitude, empty geometries, a geometry collection, an odd
//! shape) this returns `None`, the row is written without `geom`, and the database makes it
//! from the GeoJSON as before (the trigger of migration `0003_client_geometry`), so PostGIS
//! stays the judge of every case not encoded here. `tests/postgres.rs` checks the encoding
//! byte for byte against `ST_GeomFromGeoJSON` on the sample city.

use serde_json::Value;

/// The SRID of the column (`geometry(Geometry, 4326)`): WGS84 longitude, latitude.
pub const SRID: u32 = 4326;

/// EWKB's flag on the type word: an SRID follows it.
const HAS_SRID: u32 = 0x2000_0000;

/// The geometry of a GeoJSON Feature as EWKB (little-endian, SRID 4326), or `None` when it has
/// no geometry object or one left to PostGIS (see the module's documentation).
pub fn feature_geometry(feature: &Value) -> Option<Vec<u8>> {
    geometry(feature.get("geometry")?)
}

/// A GeoJSON geometry object as EWKB, or `None` (see [`feature_geometry`]).
pub fn geometry(geometry: &Value) -> Option<Vec<u8>> {
    let kind = geometry.get("type")?.as_str()?;
    let coordinates = geometry.get("coordinates")?;
    let mut out = Vec::with_capacity(64);
    write(&mut out, kind, coordinates, true)?;
    Some(out)
}

/// WKB's type codes.
fn type_code(kind: &str) -> Option<u32> {
    Some(match kind {
        "Point" => 1,
        "LineString" => 2,
        "Polygon" => 3,
        "MultiPoint" => 4,
        "MultiLineString" => 5,
        "MultiPolygon" => 6,
        _ => return None,
    })
}

/// Writes one geometry (`top`: with the SRID, as only the outermost one has it).
fn write(out: &mut Vec<u8>, kind: &str, coordinates: &Value, top: bool) -> Option<()> {
    let code = type_code(kind)?;
    out.push(1); // little-endian
    if top {
        out.extend_from_slice(&(code | HAS_SRID).to_le_bytes());
        out.extend_from_slice(&SRID.to_le_bytes());
    } else {
        out.extend_from_slice(&code.to_le_bytes());
    }
    match kind {
        "Point" => position(out, coordinates),
        "LineString" => points(out, coordinates, 2, false),
        "Polygon" => rings(out, coordinates),
        _ => {
            let parts = non_empty(coordinates)?;
            count(out, parts.len())?;
            let part = &kind["Multi".len()..];
            parts.iter().try_for_each(|p| write(out, part, p, false))
        }
    }
}

fn non_empty(value: &Value) -> Option<&Vec<Value>> {
    value.as_array().filter(|items| !items.is_empty())
}

fn count(out: &mut Vec<u8>, n: usize) -> Option<()> {
    out.extend_from_slice(&u32::try_from(n).ok()?.to_le_bytes());
    Some(())
}

/// `[x, y]`, exactly two numbers.
fn coord(value: &Value) -> Option<(f64, f64)> {
    match value.as_array()?.as_slice() {
        [x, y] => Some((x.as_f64()?, y.as_f64()?)),
        _ => None,
    }
}

fn position(out: &mut Vec<u8>, value: &Value) -> Option<()> {
    let (x, y) = coord(value)?;
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&y.to_le_bytes());
    Some(())
}

/// An array of at least `min` positions (`closed`: the last equal to the first, a ring).
fn points(out: &mut Vec<u8>, value: &Value, min: usize, closed: bool) -> Option<()> {
    let items = value.as_array().filter(|items| items.len() >= min)?;
    if closed && coord(items.first()?)? != coord(items.last()?)? {
        return None;
    }
    count(out, items.len())?;
    items.iter().try_for_each(|p| position(out, p))
}

fn rings(out: &mut Vec<u8>, value: &Value) -> Option<()> {
    let rings = non_empty(value)?;
    count(out, rings.len())?;
    rings.iter().try_for_each(|ring| points(out, ring, 4, true))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Reference encodings: `ST_AsEWKB(ST_SetSRID(ST_GeomFromGeoJSON(…), 4326))` from PostGIS
    /// 3.3 (tests/postgres.rs compares every feature of the sample city against PostGIS itself).
    #[test]
    fn encodings_match_postgis() {
        let point =
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}});
        assert_eq!(
            hex(&feature_geometry(&point).unwrap()),
            "0101000020E6100000000000000000F03F0000000000000040"
        );
        let square = json!({"type": "MultiPolygon", "coordinates":
            [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]});
        assert_eq!(
            hex(&geometry(&square).unwrap()),
            concat!(
                "0106000020E610000001000000",
                "01030000000100000004000000",
                "00000000000000000000000000000000",
                "000000000000F03F0000000000000000",
                "000000000000F03F000000000000F03F",
                "00000000000000000000000000000000"
            )
        );
    }

    /// What is not encoded is left to PostGIS, never guessed.
    #[test]
    fn unusual_geometries_are_left_to_postgis() {
        for g in [
            json!({"type": "Point", "coordinates": [1, 2, 3]}),
            json!({"type": "Point", "coordinates": []}),
            json!({"type": "Polygon", "coordinates": []}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
            json!({"type": "MultiPolygon", "coordinates": []}),
            json!({"type": "LineString", "coordinates": [[0, 0]]}),
            json!({"type": "GeometryCollection", "geometries": []}),
            json!({"type": "polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, "0"], [1, 1], [0, 0]]]}),
        ] {
            assert_eq!(geometry(&g), None, "{g}");
        }
        assert_eq!(feature_geometry(&json!({"geometry": null})), None);
        assert_eq!(feature_geometry(&json!({"type": "Feature"})), None);
    }
}
