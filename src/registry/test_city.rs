//! A tiny hand-made city for unit tests (units of 0.01° from 113°E 23°N):
//!
//! ```text
//!   y=2 +-------+-------+-------+-------+
//!       |  C1   | C2 g2 |       |       |
//!   y=1 +-------+-------+  T1   |  T2   |
//!       | C1 g1 | C2 g1 | only  |       |
//!   y=0 +-------+-------+-------+-------+
//!      x=0     x=1     x=2     x=3     x=4
//! ```
//!
//! Town T1 is x 0–3, town T2 x 3–4; community C1 (x 0–1) has one grid in its southern half,
//! C2 (x 1–2) two grids; C3 has no territory; x 2–3 of T1 is in no community.

use serde_json::{Value, json};

pub const T1: &str = "440100001";
pub const T2: &str = "440100002";
pub const C1: &str = "440100001001";
pub const C2: &str = "440100001002";
pub const C3: &str = "440100001003";

/// A position of the city.
pub fn at(x: f64, y: f64) -> [f64; 2] {
    [113.0 + x * 0.01, 23.0 + y * 0.01]
}

/// A rectangle as a GeoJSON Polygon.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    let ring = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)];
    json!({"type": "Polygon", "coordinates": [ring]})
}

pub fn town(code: &str, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "name": format!("town {code}")},
           "geometry": geometry})
}

/// A community; `households` is given only for one without territory (`geometry` null).
pub fn community(code: &str, town: &str, geometry: Value) -> Value {
    let mut f = json!({"type": "Feature", "properties": {
        "code": code, "name": format!("community {code}"), "town_code": town,
        "kind": "community", "workers": 10, "office_area_m2": 300.0},
        "geometry": geometry});
    if f["geometry"].is_null() {
        for (field, n) in [
            ("households", 100),
            ("population", 250),
            ("service_households", 5),
        ] {
            f["properties"][field] = json!(n);
        }
    }
    f
}

pub fn grid(code: &str, community: &str, households: u64, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": {
        "code": code, "name": format!("grid {code}"), "community_code": community,
        "households": households, "population": 2 * households, "service_households": 1},
        "geometry": geometry})
}

/// The city's towns, communities and grids, each in code order.
pub fn city() -> [Vec<Value>; 3] {
    [
        vec![
            town(T1, rect(0.0, 0.0, 3.0, 2.0)),
            town(T2, rect(3.0, 0.0, 4.0, 2.0)),
        ],
        vec![
            community(C1, T1, rect(0.0, 0.0, 1.0, 2.0)),
            community(C2, T1, rect(1.0, 0.0, 2.0, 2.0)),
            community(C3, T1, Value::Null),
        ],
        vec![
            grid("440100001001001", C1, 40, rect(0.0, 0.0, 1.0, 1.0)),
            grid("440100001002001", C2, 30, rect(1.0, 0.0, 2.0, 1.0)),
            grid("440100001002002", C2, 20, rect(1.0, 1.0, 2.0, 2.0)),
        ],
    ]
}
