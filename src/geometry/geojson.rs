//! (Multi)polygons as GeoJSON geometry values, for the tools that write proposals and fixtures.
//! (The API streams its GeoJSON with its own serialiser, converting CRS on the way.)

use geo::{LineString, MultiPolygon, Polygon};
use serde_json::{Value, json};

/// `area` as a GeoJSON geometry: a `Polygon` when it has one part, else a `MultiPolygon`;
/// coordinates rounded to `decimals` places when given.
pub fn area_to_geojson(area: &MultiPolygon<f64>, decimals: Option<i32>) -> Value {
    let round = |v: f64| match decimals {
        Some(d) => {
            let f = 10f64.powi(d);
            (v * f).round() / f
        }
        None => v,
    };
    let ring = |ls: &LineString<f64>| -> Value {
        ls.coords()
            .map(|c| json!([round(c.x), round(c.y)]))
            .collect()
    };
    let rings = |p: &Polygon<f64>| -> Value {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(ring)
            .collect()
    };
    match area.0.as_slice() {
        [one] => json!({"type": "Polygon", "coordinates": rings(one)}),
        many => {
            json!({"type": "MultiPolygon", "coordinates": many.iter().map(rings).collect::<Vec<_>>()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn one_part_is_a_polygon_and_rounding_applies() {
        let p = polygon![(x: 0.123456789, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)];
        let v = area_to_geojson(&MultiPolygon(vec![p.clone()]), Some(3));
        assert_eq!(v["type"], "Polygon");
        assert_eq!(v["coordinates"][0][0], json!([0.123, 0.0]));
        let two = area_to_geojson(&MultiPolygon(vec![p.clone(), p]), None);
        assert_eq!(two["type"], "MultiPolygon");
        assert_eq!(two["coordinates"][1][0][0], json!([0.123456789, 0.0]));
    }
}
