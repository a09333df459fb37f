//! Reprojecting GeoJSON into the registry's WGS84, for `shequ import`.
//!
//! Works on parsed JSON so that every property is kept as given; only geometry coordinates and
//! a community's `office` position are converted, and rounded to 7 decimals (≈ 1 cm), the
//! precision of the boundary files.

use serde_json::Value;

use super::{Crs, CrsError};

/// Why a feature could not be reprojected.
#[derive(Debug, thiserror::Error)]
#[error("feature {feature}, {field}: {message}")]
pub struct ReprojectError {
    pub feature: usize,
    pub field: String,
    pub message: String,
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Converts one position in place (extra ordinates such as altitude are dropped).
fn position(crs: &Crs, v: &mut Value) -> Result<(), String> {
    let xy = v
        .as_array()
        .and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]))
        .ok_or_else(|| format!("{v} is not a position [x, y]"))?;
    let p = crs.to_wgs84(xy).map_err(|e: CrsError| e.to_string())?;
    *v = Value::from(vec![round7(p[0]), round7(p[1])]);
    Ok(())
}

/// Converts every position of a nested coordinate array.
fn coordinates(crs: &Crs, v: &mut Value) -> Result<(), String> {
    let is_position = v
        .as_array()
        .is_some_and(|a| a.first().is_some_and(Value::is_number));
    if is_position {
        return position(crs, v);
    }
    match v.as_array_mut() {
        Some(items) => items.iter_mut().try_for_each(|x| coordinates(crs, x)),
        None => Err(format!("{v} is not a coordinate array")),
    }
}

/// Reprojects a FeatureCollection from `crs` to WGS84 in place; `progress` is called with the
/// number of features done so far.
pub fn reproject_collection(
    crs: &Crs,
    collection: &mut Value,
    mut progress: impl FnMut(usize, usize),
) -> Result<(), ReprojectError> {
    let fail = |feature, field: &str, message: String| ReprojectError {
        feature,
        field: field.to_owned(),
        message,
    };
    let features = collection
        .get_mut("features")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| fail(0, "features", "not a FeatureCollection".into()))?;
    let total = features.len();
    for (i, feature) in features.iter_mut().enumerate() {
        if let Some(geometry) = feature.get_mut("geometry").filter(|g| !g.is_null()) {
            let coords = geometry
                .get_mut("coordinates")
                .ok_or_else(|| fail(i, "geometry", "no coordinates".into()))?;
            coordinates(crs, coords).map_err(|m| fail(i, "geometry", m))?;
        }
        if let Some(office) = feature
            .get_mut("properties")
            .and_then(|p| p.get_mut("office"))
            .filter(|o| !o.is_null())
        {
            position(crs, office).map_err(|m| fail(i, "properties.office", m))?;
        }
        progress(i + 1, total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_polygon_and_office() {
        let crs: Crs = "EPSG:4547".parse().expect("crs");
        let mut fc = serde_json::json!({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "properties": {"code": "1", "office": [437241.4714, 2491510.0132]},
            "geometry": {"type": "Polygon", "coordinates": [[[437241.4714, 2491510.0132, 5.0]]]}
        }]});
        reproject_collection(&crs, &mut fc, |_, _| {}).expect("reprojects");
        let f = &fc["features"][0];
        assert_eq!(
            f["properties"]["office"],
            serde_json::json!([113.39, 22.52])
        );
        assert_eq!(
            f["geometry"]["coordinates"][0][0],
            serde_json::json!([113.39, 22.52])
        );
        let mut bad =
            serde_json::json!({"features": [{"geometry": {"coordinates": [[1.0, 2.0]]}}]});
        let e = reproject_collection(&crs, &mut bad, |_, _| {}).expect_err("outside");
        assert_eq!((e.feature, e.field.as_str()), (0, "geometry"));
    }
}
