//! The mini city of `tests/fixtures/mini` as the procedure tests use it: its codes, two points
//! whose answers tell the city before and after splitting 西社区 apart, and that split.

use serde_json::{Value, json};

pub const TOWN: &str = "442000901";
pub const WEST: &str = "442000901001";
pub const NEW_WEST: &str = "442000901004";
/// Inside the north grid of 西社区, which moves.
pub const NORTH: (f64, f64) = (113.005, 22.015);
/// Inside the south grid, which stays.
pub const SOUTH: (f64, f64) = (113.005, 22.005);

pub fn square(x0: f64, y0: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.01, y0], [x0 + 0.01, y0 + 0.01], [x0, y0 + 0.01], [x0, y0]]]})
}

/// Splits 西社区 into its two grids, staffed and housed so that every rule passes (sizes below
/// 1,000 households are justified exceptions).
pub fn split_west() -> Value {
    let part = |name: &str, geometry: Value, office: [f64; 2]| {
        json!({"type": "Feature", "geometry": geometry, "properties": {
            "name": name, "workers": 5, "office_area_m2": 400, "office": office,
            "justification": "城中村改造后人口增长，分设便于服务"}})
    };
    json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": "西社区拆分", "parents": [WEST]},
           "features": [part("西社区", square(113.0, 22.0), [113.005, 22.005]),
                        part("新西社区", square(113.0, 22.01), [113.005, 22.015])]})
}

pub fn lookup_uri((lon, lat): (f64, f64), as_of: Option<&str>) -> String {
    format!(
        "/api/v1/lookup?lon={lon}&lat={lat}{}",
        as_of.map_or(String::new(), |d| format!("&as_of={d}"))
    )
}
