//! The one shape every download is written from: a layer as rows of a (multi)polygon and typed
//! columns, in one CRS with an EPSG code.
//!
//! A table is built from the GeoJSON answer the API gives for the same request
//! ([`Table::from_geojson`]), so a download holds exactly the features, properties and
//! coordinates (filters, `as_of`, access rules, output CRS) the GeoJSON would: the formats
//! differ only in how they write them. What GeoJSON holds that a flat table cannot is made
//! flat here, once for every format: the `office` position becomes two columns
//! (`office_lon`, `office_lat`, in the table's CRS), a list of strings (a finding's `codes`)
//! one comma-separated text, and an object (a finding's `rule`) its JSON text.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect, coord};
use serde_json::{Map, Value};

use crate::formats::mapping::{OFFICE_X, OFFICE_Y};

/// What a column holds; every value of a column is of its kind or null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Real,
    Text,
}

/// A column: its shequ name and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl Cell {
    /// The value as text (CSV, KML), empty for null.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(r) => r.to_string(),
            Cell::Text(t) => t.clone(),
        }
    }

    /// The value as a number, if it is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Integer(i) => Some(*i as f64),
            Cell::Real(r) => Some(*r),
            Cell::Null | Cell::Text(_) => None,
        }
    }
}

/// One feature: its area (`None`: a community with no defined territory, a finding with no
/// geometry) and one cell per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub geometry: Option<MultiPolygon<f64>>,
    pub cells: Vec<Cell>,
}

/// A layer ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The layer's name: `towns`, `communities`, `grids`, `findings` (file and table names).
    pub name: String,
    /// The EPSG code of the coordinates (4326, 4490 or a projected code).
    pub epsg: u32,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

/// Why a GeoJSON answer cannot be made a table (an internal fault: shequ wrote it).
#[derive(Debug, thiserror::Error)]
#[error("feature {feature}: {message}")]
pub struct TableError {
    pub feature: usize,
    pub message: String,
}

impl Table {
    /// Whether the coordinates are metres (a projected CRS) rather than degrees.
    pub fn projected(&self) -> bool {
        !matches!(self.epsg, 4326 | 4490)
    }

    /// The bounding box of every row's area; `None` when no row has one.
    pub fn extent(&self) -> Option<Rect<f64>> {
        self.rows
            .iter()
            .filter_map(|r| r.geometry.as_ref()?.bounding_rect())
            .reduce(|a, b| {
                Rect::new(
                    coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                    coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
                )
            })
    }

    /// The table of a GeoJSON FeatureCollection (a whole layer or a page of one) whose
    /// coordinates are in EPSG:`epsg`. Coordinates are rounded to what the CRS can mean:
    /// 0.001 m projected, 1e-7° geographic.
    pub fn from_geojson(name: &str, epsg: u32, collection: &Value) -> Result<Table, TableError> {
        let features = collection
            .get("features")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Self::from_features(name, epsg, features)
    }

    /// The table of GeoJSON Features given one at a time, the same [`Table::from_geojson`]
    /// makes of the collection of them: a whole layer (the ×100 grids: 708 MB of JSON, several
    /// GB as one `Value` tree) is then never held as text nor as one tree, only a feature's.
    pub fn from_features<F: std::borrow::Borrow<Value>>(
        name: &str,
        epsg: u32,
        features: impl IntoIterator<Item = F>,
    ) -> Result<Table, TableError> {
        let features = features.into_iter();
        let mut table = Table {
            name: name.to_owned(),
            epsg,
            columns: Vec::new(),
            rows: Vec::with_capacity(features.size_hint().0),
        };
        let scale = if table.projected() { 1e3 } else { 1e7 };
        let mut flat: Vec<Vec<(String, Value)>> = Vec::with_capacity(features.size_hint().0);
        for (i, f) in features.enumerate() {
            let f = f.borrow();
            let fail = |message: String| TableError {
                feature: i,
                message,
            };
            let geometry = match f.get("geometry") {
                None | Some(Value::Null) => None,
                Some(g) => Some(multi_polygon(g, scale).map_err(fail)?),
            };
            let empty = Map::new();
            let properties = f
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let pairs = flatten(properties);
            for (key, value) in &pairs {
                table.widen(key, value);
            }
            flat.push(pairs);
            table.rows.push(Row {
                geometry,
                cells: Vec::new(),
            });
        }
        for (row, pairs) in table.rows.iter_mut().zip(flat) {
            row.cells = table
                .columns
                .iter()
                .map(|c| {
                    pairs
                        .iter()
                        .find(|(k, _)| *k == c.name)
                        .map_or(Cell::Null, |(_, v)| cell(c.kind, v, scale))
                })
                .collect();
        }
        Ok(table)
    }

    /// Adds `key`'s column, or widens its kind to hold `value` (integer → real → text).
    fn widen(&mut self, key: &str, value: &Value) {
        let kind = match value {
            Value::Null => None,
            Value::Number(n) if n.is_i64() => Some(Kind::Integer),
            Value::Number(_) => Some(Kind::Real),
            _ => Some(Kind::Text),
        };
        match self.columns.iter_mut().find(|c| c.name == key) {
            Some(column) => {
                if let Some(kind) = kind {
                    column.kind = match (column.kind, kind) {
                        (a, b) if a == b => a,
                        (Kind::Text, _) | (_, Kind::Text) => Kind::Text,
                        _ => Kind::Real,
                    };
                }
            }
            None => self.columns.push(Column {
                name: key.to_owned(),
                // A column only ever null is text (every format can hold an empty text).
                kind: kind.unwrap_or(Kind::Text),
            }),
        }
    }
}

/// Properties made flat: `office` as two columns, lists of strings joined by commas, objects as
/// JSON text.
fn flatten(properties: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(properties.len() + 1);
    for (key, value) in properties {
        match (key.as_str(), value) {
            ("office", Value::Array(xy)) => {
                out.push((OFFICE_X.to_owned(), xy.first().cloned().unwrap_or_default()));
                out.push((OFFICE_Y.to_owned(), xy.get(1).cloned().unwrap_or_default()));
            }
            ("office", Value::Null) => {
                out.push((OFFICE_X.to_owned(), Value::Null));
                out.push((OFFICE_Y.to_owned(), Value::Null));
            }
            (_, Value::Array(items)) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect();
                out.push((key.clone(), Value::String(texts.join(","))));
            }
            (_, Value::Object(_)) => out.push((key.clone(), Value::String(value.to_string()))),
            _ => out.push((key.clone(), value.clone())),
        }
    }
    out
}

/// `value` as a cell of a column of `kind`; the office position is rounded like vertices.
fn cell(kind: Kind, value: &Value, scale: f64) -> Cell {
    match (kind, value) {
        (_, Value::Null) => Cell::Null,
        (Kind::Integer, Value::Number(n)) => n.as_i64().map_or(Cell::Null, Cell::Integer),
        (Kind::Real, Value::Number(n)) => n
            .as_f64()
            .map_or(Cell::Null, |x| Cell::Real((x * scale).round() / scale)),
        (_, Value::String(s)) => Cell::Text(s.clone()),
        (_, other) => Cell::Text(other.to_string()),
    }
}

/// A GeoJSON Polygon or MultiPolygon as a multipolygon, rounded by `scale`.
fn multi_polygon(geometry: &Value, scale: f64) -> Result<MultiPolygon<f64>, String> {
    let coordinates = geometry
        .get("coordinates")
        .ok_or("geometry without coordinates")?;
    match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(MultiPolygon(vec![polygon(coordinates, scale)?])),
        Some("MultiPolygon") => coordinates
            .as_array()
            .ok_or("MultiPolygon coordinates are not an array")?
            .iter()
            .map(|p| polygon(p, scale))
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon),
        other => Err(format!("geometry type {other:?} is not a (multi)polygon")),
    }
}

fn polygon(rings: &Value, scale: f64) -> Result<Polygon<f64>, String> {
    let mut rings = rings
        .as_array()
        .ok_or("polygon rings are not an array")?
        .iter()
        .map(|r| ring(r, scale));
    let exterior = rings.next().ok_or("polygon without rings")??;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn ring(positions: &Value, scale: f64) -> Result<LineString<f64>, String> {
    positions
        .as_array()
        .ok_or("ring is not an array")?
        .iter()
        .map(|p| {
            match (
                p.get(0).and_then(Value::as_f64),
                p.get(1).and_then(Value::as_f64),
            ) {
                (Some(x), Some(y)) => Ok(Coord {
                    x: (x * scale).round() / scale,
                    y: (y * scale).round() / scale,
                }),
                _ => Err(format!("position {p} is not two numbers")),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(LineString)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_splits_lists_join_and_kinds_widen() {
        let v = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates":
                [[[113.123456789, 22.5], [113.2, 22.5], [113.2, 22.6], [113.123456789, 22.5]]]},
             "properties": {"code": "1", "office": [113.15, 22.55], "n": 1, "codes": ["a", "b"]}},
            {"type": "Feature", "geometry": null,
             "properties": {"code": "2", "office": null, "n": 2.5, "rule": {"id": "x"}}}
        ]});
        let t = Table::from_geojson("communities", 4326, &v).expect("table");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        // Properties in name order (serde_json's map), the office's two columns in its place.
        assert_eq!(
            names,
            ["code", "codes", "n", "office_lon", "office_lat", "rule"]
        );
        assert_eq!(t.columns[2].kind, Kind::Real);
        assert_eq!(t.rows[0].cells[1], Cell::Text("a,b".into()));
        assert_eq!(t.rows[1].cells[3], Cell::Null);
        assert_eq!(t.rows[1].cells[5], Cell::Text("{\"id\":\"x\"}".into()));
        assert!(t.rows[1].geometry.is_none());
        let first = t.rows[0].geometry.as_ref().map(|g| g.0[0].exterior().0[0]);
        assert_eq!(first.map(|c| c.x), Some(113.1234568));
    }
}
