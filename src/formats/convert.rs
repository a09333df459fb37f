//! One source layer into the registry's form: fields renamed by the [`Mapping`] and given the
//! loader's types (a `.dbf` stores counts as `48.0` and codes as numbers), positions converted
//! from the source CRS to WGS84 and rounded to 9 decimals (≈ 0.1 mm, finer than any survey),
//! Z and M dropped, and rings oriented as RFC 7946 asks (exterior counter-clockwise,
//! holes clockwise; Shapefiles store them the other way round).

use geo::orient::{Direction, Orient};
use geo::{Geometry, MapCoords, MultiPolygon, Polygon};
use serde_json::{Map, Value, json};

use super::mapping::{self, OFFICE_X, OFFICE_Y};
use super::{FormatError, ImportError, Imported, LayerInfo, Options, SourceFeature, resolve_crs};
use crate::crs::Crs;
use crate::registry::{Level, Problem};

/// The conversion of one layer, fed feature by feature.
pub struct Run<'a> {
    level: Level,
    info: &'a LayerInfo,
    crs: Crs,
    /// Source field name → shequ field, for the fields that map.
    targets: Vec<(String, &'static str)>,
    features: Vec<Value>,
    problems: Vec<Problem>,
    /// Features fed so far (the next one's index in the source).
    seen: usize,
}

impl<'a> Run<'a> {
    /// Checks the layer as a whole first: its CRS is known and every required field is mapped
    /// (reported all at once, naming the source's fields, before any feature is read).
    pub fn new(
        level: Level,
        info: &'a LayerInfo,
        options: &'a Options,
    ) -> Result<Self, ImportError> {
        let crs = resolve_crs(info, options.crs.as_ref())?;
        let unmapped = options.mapping.unmapped(level, &info.fields);
        if !unmapped.is_empty() {
            let problems = unmapped
                .iter()
                .map(|field| Problem {
                    file: info.origin.clone(),
                    feature: None,
                    code: None,
                    field: Some((*field).to_owned()),
                    message: format!(
                        "required field of {} not found in any feature: no source field maps to it (the source has {}); map one with --map",
                        level.collection(),
                        if info.fields.is_empty() { "no fields".to_owned() } else { info.fields.join(", ") }
                    ),
                })
                .collect();
            return Err(ImportError::Problems(problems));
        }
        let targets = info
            .fields
            .iter()
            .filter_map(|f| Some((f.clone(), options.mapping.target(level, f)?)))
            .collect();
        Ok(Run {
            level,
            info,
            crs,
            targets,
            features: Vec::new(),
            problems: Vec::new(),
            seen: 0,
        })
    }

    fn problem(&mut self, index: usize, code: Option<String>, field: &str, message: String) {
        self.problems.push(Problem {
            file: self.info.origin.clone(),
            feature: Some(index),
            code,
            field: Some(field.to_owned()),
            message,
        });
    }

    /// Converts one feature (or records the error reading it).
    pub fn feature(&mut self, feature: Result<SourceFeature, FormatError>) {
        let index = self.seen;
        self.seen += 1;
        let feature = match feature {
            Ok(f) => f,
            Err(FormatError::Feature {
                feature,
                field,
                message,
                ..
            }) => {
                self.problems.push(Problem {
                    file: self.info.origin.clone(),
                    feature: Some(feature),
                    code: None,
                    field,
                    message,
                });
                return;
            }
            Err(other) => {
                self.problems.push(Problem {
                    file: self.info.origin.clone(),
                    feature: Some(index),
                    code: None,
                    field: None,
                    message: other.to_string(),
                });
                return;
            }
        };
        let mut properties = Map::new();
        let mut office = [None, None];
        for (name, value) in feature.properties {
            // GeoJSON (shequ's own files among them) carries the office as one `[x, y]` member
            // rather than two columns; unless a mapping says otherwise, it is read as such.
            if name == "office" && self.level == Level::Community && self.target_of(&name).is_none()
            {
                match value {
                    Value::Array(xy) if xy.len() == 2 => {
                        office = [Some(xy[0].clone()), Some(xy[1].clone())];
                    }
                    Value::Null => {}
                    _ => self.problem(
                        index,
                        None,
                        "office",
                        "expected [x, y] in the file's CRS".to_owned(),
                    ),
                }
                continue;
            }
            let Some(target) = self.target_of(&name) else {
                continue;
            };
            match target {
                OFFICE_X => office[0] = Some(number(value)),
                OFFICE_Y => office[1] = Some(number(value)),
                _ => {
                    properties.insert(target.to_owned(), coerce(self.level, target, value));
                }
            }
        }
        let code = properties
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match office {
            [None | Some(Value::Null), None | Some(Value::Null)] => {}
            [Some(x), Some(y)] if x.is_number() && y.is_number() => {
                let p = [
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                ];
                match self.crs.to_wgs84(p) {
                    Ok([lon, lat]) => {
                        properties.insert("office".into(), json!([round9(lon), round9(lat)]));
                    }
                    Err(e) => self.problem(index, code.clone(), "office", e.to_string()),
                }
            }
            _ => self.problem(
                index,
                code.clone(),
                "office",
                format!("needs both {OFFICE_X} and {OFFICE_Y} as numbers (or neither)"),
            ),
        }
        let geometry = match feature.geometry {
            None => Value::Null,
            Some(g) => match self.area(g) {
                Ok(v) => v,
                Err(message) => {
                    self.problem(index, code, "geometry", message);
                    return;
                }
            },
        };
        self.features.push(json!({
            "type": "Feature",
            "geometry": geometry,
            "properties": properties,
        }));
    }

    fn target_of(&self, name: &str) -> Option<&'static str> {
        self.targets
            .iter()
            .find(|(source, _)| source == name)
            .map(|(_, t)| *t)
    }

    /// A polygonal geometry in WGS84, oriented and rounded, as a GeoJSON geometry object.
    fn area(&self, geometry: Geometry<f64>) -> Result<Value, String> {
        let area: MultiPolygon<f64> = match geometry {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(m) => m,
            Geometry::GeometryCollection(c) if c.0.is_empty() => return Ok(Value::Null),
            other => {
                return Err(format!(
                    "expected a Polygon or MultiPolygon, found {}",
                    kind(&other)
                ));
            }
        };
        if area.0.is_empty() {
            return Ok(Value::Null);
        }
        let converted = area.try_map_coords(|c| {
            self.crs
                .to_wgs84([c.x, c.y])
                .map(|[x, y]| geo::Coord {
                    x: round9(x),
                    y: round9(y),
                })
                .map_err(|e| format!("position ({}, {}): {e}", c.x, c.y))
        })?;
        let oriented = converted.orient(Direction::Default);
        Ok(area_json(&oriented))
    }

    /// The layer's features, or every problem found in them.
    pub fn finish(self) -> Result<Imported, ImportError> {
        if self.problems.is_empty() {
            Ok(Imported {
                level: self.level,
                origin: self.info.origin.clone(),
                crs: self.crs,
                features: self.features,
            })
        } else {
            Err(ImportError::Problems(self.problems))
        }
    }
}

fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

fn kind(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

fn rings_json(p: &Polygon<f64>) -> Value {
    let ring = |r: &geo::LineString<f64>| -> Value {
        Value::Array(r.coords().map(|c| json!([c.x, c.y])).collect())
    };
    Value::Array(
        std::iter::once(ring(p.exterior()))
            .chain(p.interiors().iter().map(ring))
            .collect(),
    )
}

/// A multipolygon as a GeoJSON `Polygon` (one part) or `MultiPolygon`.
fn area_json(area: &MultiPolygon<f64>) -> Value {
    match area.0.as_slice() {
        [one] => json!({"type": "Polygon", "coordinates": rings_json(one)}),
        parts => json!({
            "type": "MultiPolygon",
            "coordinates": parts.iter().map(rings_json).collect::<Vec<_>>(),
        }),
    }
}

/// A source value given the type the loader expects of `target`: codes and names as text
/// (a code stored as a number becomes its digits; a 12-digit statistical town code its 9-digit
/// town code), counts as integers, areas as numbers. What cannot be converted is passed on
/// as it is, for the loader to report.
/// A number given as text (CSV) as a number; anything else as it is.
fn number(value: Value) -> Value {
    match &value {
        Value::String(s) => s.trim().parse::<f64>().map_or(value, super::shp::number),
        _ => value,
    }
}

fn coerce(level: Level, target: &str, value: Value) -> Value {
    match target {
        "code" | "town_code" | "community_code" | "name" | "kind" => {
            let text = match &value {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
                _ => return value,
            };
            let town = target == "town_code" || (target == "code" && level == Level::Town);
            match crate::registry::town_code(&text) {
                Some(short) if town => Value::String(short.to_owned()),
                _ => Value::String(text),
            }
        }
        "office_area_m2" => match &value {
            Value::String(s) => s.trim().parse::<f64>().map_or(value, super::shp::number),
            _ => value,
        },
        _ if mapping::fields(Level::Grid).contains(&target) || target == "workers" => {
            match &value {
                Value::String(s) => s.trim().parse::<u64>().map_or(value, Value::from),
                Value::Number(n) => n
                    .as_f64()
                    .filter(|x| x.fract() == 0.0 && *x >= 0.0)
                    .map_or(value.clone(), super::shp::number),
                _ => value,
            }
        }
        _ => value,
    }
}
