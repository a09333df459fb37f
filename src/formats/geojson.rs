//! GeoJSON reader: a FeatureCollection in WGS84 (RFC 7946), or in another CRS named by the
//! `crs` member of the 2008 GeoJSON specification that GDAL and QGIS still write
//! (`{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4547"}}`).

use std::path::Path;

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use super::{FormatError, LayerInfo, SourceFeature};

/// A GeoJSON file, parsed.
pub struct GeoJsonLayer {
    pub info: LayerInfo,
    features: Vec<Value>,
}

/// Opens and parses `path`.
pub fn open(path: &Path) -> Result<GeoJsonLayer, FormatError> {
    let origin = path.display().to_string();
    let fail = |message: String| FormatError::Open {
        origin: origin.clone(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        fail(format!(
            "not UTF-8 text ({e}); GeoJSON is UTF-8 (RFC 8259) — a Shapefile's .dbf would be read with its encoding"
        ))
    })?;
    let mut root: Value =
        serde_json::from_str(text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(fail(
            "expected a GeoJSON FeatureCollection (member `type`)".into(),
        ));
    }
    let crs_epsg = match root.get("crs") {
        None | Some(Value::Null) => None,
        Some(crs) => Some(epsg_of_crs_member(crs).ok_or_else(|| {
            fail(format!(
                "its `crs` member {crs} names no CRS shequ knows (expected e.g. urn:ogc:def:crs:EPSG::4547)"
            ))
        })?),
    };
    let features = match root.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => features,
        _ => return Err(fail("member `features` must be an array".into())),
    };
    let mut fields: Vec<String> = Vec::new();
    for f in &features {
        if let Some(props) = f.get("properties").and_then(Value::as_object) {
            for k in props.keys() {
                if !fields.contains(k) {
                    fields.push(k.clone());
                }
            }
        }
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(GeoJsonLayer {
        info: LayerInfo {
            name,
            origin,
            crs_definition: None,
            crs_epsg,
            default_epsg: Some(4326),
            fields,
            encoding: None,
        },
        features,
    })
}

/// The EPSG code of a `crs` member: `urn:ogc:def:crs:EPSG::4547`, `EPSG:4547`,
/// `http://www.opengis.net/def/crs/EPSG/0/4547`, or OGC CRS84 (= 4326).
pub fn epsg_of_crs_member(crs: &Value) -> Option<u32> {
    let name = crs.get("properties")?.get("name")?.as_str()?.trim();
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(4326);
    }
    let code = upper
        .rsplit([':', '/'])
        .next()
        .filter(|_| upper.contains("EPSG"))?;
    code.parse().ok()
}

impl GeoJsonLayer {
    /// Calls `each` with every feature in file order.
    pub fn for_each(&mut self, each: &mut dyn FnMut(Result<SourceFeature, FormatError>)) {
        let origin = self.info.origin.clone();
        for (index, feature) in std::mem::take(&mut self.features).into_iter().enumerate() {
            let fail = |field: &str, message: String| FormatError::Feature {
                origin: origin.clone(),
                feature: index,
                field: Some(field.to_owned()),
                message,
            };
            let properties = match feature.get("properties") {
                Some(Value::Object(map)) => map.clone().into_iter().collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    each(Err(fail("properties", "expected an object".into())));
                    continue;
                }
            };
            let geometry = match feature.get("geometry") {
                None | Some(Value::Null) => Ok(None),
                Some(g) => area(g)
                    .map(|a| Some(Geometry::MultiPolygon(a)))
                    .map_err(|m| fail("geometry", m)),
            };
            each(geometry.map(|geometry| SourceFeature {
                properties,
                geometry,
            }));
        }
    }
}

/// A Polygon or MultiPolygon's coordinates (third and further ordinates dropped).
fn area(g: &Value) -> Result<MultiPolygon<f64>, String> {
    let coordinates = g.get("coordinates").ok_or("`coordinates` missing")?;
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(MultiPolygon(vec![polygon(coordinates)?])),
        Some("MultiPolygon") => coordinates
            .as_array()
            .ok_or("expected an array of polygons")?
            .iter()
            .enumerate()
            .map(|(i, p)| polygon(p).map_err(|m| format!("polygon {i}: {m}")))
            .collect::<Result<Vec<_>, _>>()
            .map(MultiPolygon),
        other => Err(format!(
            "expected a Polygon or MultiPolygon, found {}",
            other.unwrap_or("no type")
        )),
    }
}

fn polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or("expected a non-empty array of rings")?;
    let mut rings = rings.iter().enumerate().map(|(r, ring)| {
        ring.as_array()
            .ok_or_else(|| format!("ring {r} is not an array of positions"))?
            .iter()
            .enumerate()
            .map(|(p, pos)| {
                pos.as_array()
                    .and_then(|a| {
                        Some(Coord {
                            x: a.first()?.as_f64()?,
                            y: a.get(1)?.as_f64()?,
                        })
                    })
                    .ok_or_else(|| format!("ring {r} position {p}: expected [x, y] numbers"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(LineString::new)
    });
    let exterior = rings.next().ok_or("no rings")??;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}
