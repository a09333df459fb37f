//! Shapefile reader (`.shp` + `.shx` + `.dbf`, with `.prj` and `.cpg` beside it), through the
//! `shapefile` and `dbase` crates, one feature at a time.
//!
//! Text encoding of the `.dbf`: the `.cpg` when there is one (`UTF-8`, `GBK`, `GB18030`,
//! `CP936`, `936` …), otherwise each value is taken as UTF-8 when it is valid UTF-8 and as
//! GB18030 (a superset of GBK, what Chinese desktop GIS writes) when not. Text that is not
//! valid in the declared encoding is an error naming the feature and field, never silently
//! replaced by `�`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use geo::{Geometry, MultiPolygon};
use serde_json::Value;
use shapefile::Shape;
use shapefile::dbase;
use shapefile::dbase::FieldValue;

use super::{FormatError, LayerInfo, SourceFeature};

/// How `.dbf` text is decoded.
#[derive(Clone, Copy, Debug)]
pub enum TextEncoding {
    /// Declared by the `.cpg`: decoded strictly.
    Declared(&'static encoding_rs::Encoding),
    /// Nothing declared: UTF-8 when valid, GB18030 when not.
    Guess,
}

impl TextEncoding {
    /// The encoding a `.cpg` label names; `None` for a label this reader does not know.
    pub fn from_cpg(label: &str) -> Option<TextEncoding> {
        let label = label.trim().trim_start_matches('\u{feff}');
        let upper = label.to_ascii_uppercase();
        let encoding = match upper.as_str() {
            "936" | "CP936" | "MS936" | "WINDOWS-936" | "GBK" => encoding_rs::GBK,
            "54936" | "GB18030" => encoding_rs::GB18030,
            "65001" | "UTF8" => encoding_rs::UTF_8,
            _ => encoding_rs::Encoding::for_label(label.as_bytes())?,
        };
        Some(TextEncoding::Declared(encoding))
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            TextEncoding::Declared(e) => e.name(),
            TextEncoding::Guess => "UTF-8 or GB18030 (no .cpg)",
        }
    }
}

/// What `.dbf` records hold when nothing declares their encoding: UTF-8 when every record
/// byte is valid UTF-8 (GDAL's default), GB18030 otherwise (Chinese desktop GIS), unless the
/// header's language driver says GBK (code page 936).
fn guess(dbf: &[u8]) -> &'static encoding_rs::Encoding {
    const LDID_GBK: [u8; 2] = [0x4d, 0x7a];
    if dbf.get(29).is_some_and(|b| LDID_GBK.contains(b)) {
        return encoding_rs::GBK;
    }
    let start = dbf
        .get(8..10)
        .map_or(0, |h| usize::from(u16::from_le_bytes([h[0], h[1]])));
    match dbf.get(start..) {
        Some(records) if std::str::from_utf8(records).is_err() => encoding_rs::GB18030,
        _ => encoding_rs::UTF_8,
    }
}

/// An open Shapefile.
pub struct ShpLayer {
    pub info: LayerInfo,
    /// Whether a `.cpg` declared the encoding.
    declared: bool,
    reader: shapefile::Reader<BufReader<File>, BufReader<File>>,
}

/// Opens `path` (the `.shp`), its `.dbf`, `.prj` and `.cpg`.
pub fn open(path: &Path) -> Result<ShpLayer, FormatError> {
    let origin = path.display().to_string();
    let fail = |message: String| FormatError::Open {
        origin: origin.clone(),
        message,
    };
    let encoding = match std::fs::read(path.with_extension("cpg")) {
        Ok(bytes) => {
            let label = String::from_utf8_lossy(&bytes).trim().to_owned();
            TextEncoding::from_cpg(&label).ok_or_else(|| {
                fail(format!(
                    "its .cpg names the encoding {label:?}, which is not known (expected e.g. UTF-8, GBK, GB18030)"
                ))
            })?
        }
        Err(_) => TextEncoding::Guess,
    };
    let prj = std::fs::read(path.with_extension("prj"))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let shapes = shapefile::ShapeReader::from_path(path)
        .map_err(|e| fail(format!("not a readable Shapefile: {e}")))?;
    let dbf_path = path.with_extension("dbf");
    let dbf = File::open(&dbf_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", dbf_path.display())))?;
    let declared = matches!(encoding, TextEncoding::Declared(_));
    let encoding = match encoding {
        TextEncoding::Declared(e) => e,
        TextEncoding::Guess => {
            let bytes = std::fs::read(&dbf_path)
                .map_err(|e| fail(format!("cannot read {}: {e}", dbf_path.display())))?;
            guess(&bytes)
        }
    };
    let records = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(encoding))
        .build(BufReader::new(dbf))
        .map_err(|e| fail(format!("{}: {e}", dbf_path.display())))?;
    let fields: Vec<String> = records
        .fields()
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    // Decoding replaced bytes the encoding has no character for: the names are in another one.
    if let Some(bad) = fields.iter().position(|f| f.contains('\u{fffd}')) {
        let why = if declared {
            "as its .cpg declares"
        } else {
            "guessed: there is no .cpg"
        };
        return Err(fail(format!(
            "the name of field {} is not valid {} text ({why}); give the right encoding in a .cpg file beside the .shp (e.g. GBK or UTF-8)",
            bad + 1,
            encoding.name()
        )));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ShpLayer {
        info: LayerInfo {
            name,
            origin,
            crs_definition: prj,
            crs_epsg: None,
            default_epsg: None,
            fields,
            encoding: Some(encoding.name()),
        },
        declared,
        reader: shapefile::Reader::new(shapes, records),
    })
}

impl ShpLayer {
    /// Calls `each` with every feature in file order (or the error that stopped it).
    pub fn for_each(&mut self, each: &mut dyn FnMut(Result<SourceFeature, FormatError>)) {
        let origin = self.info.origin.clone();
        let encoding = self.info.encoding.unwrap_or("?");
        let why = if self.declared {
            "declared by its .cpg"
        } else {
            "no .cpg; guessed from its bytes"
        };
        for (index, item) in self.reader.iter_shapes_and_records().enumerate() {
            let feature = item
                .map_err(|e| FormatError::Feature {
                    origin: origin.clone(),
                    feature: index,
                    field: None,
                    message: e.to_string(),
                })
                .and_then(|(shape, record)| {
                    let geometry = geometry(shape).map_err(|message| FormatError::Feature {
                        origin: origin.clone(),
                        feature: index,
                        field: Some("geometry".into()),
                        message,
                    })?;
                    let mut properties = Vec::new();
                    for (name, value) in record {
                        let value = json(value);
                        // Decoding replaced bytes the encoding has no character for: the text
                        // is in another encoding than the one used.
                        if value.as_str().is_some_and(|s| s.contains('\u{fffd}')) {
                            return Err(FormatError::Feature {
                                origin: origin.clone(),
                                feature: index,
                                field: Some(name),
                                message: format!("text is not valid {encoding} ({why}); give the right encoding in a .cpg file beside the .shp (e.g. GBK or UTF-8)"),
                            });
                        }
                        properties.push((name, value));
                    }
                    Ok(SourceFeature {
                        properties,
                        geometry,
                    })
                });
            each(feature);
        }
    }
}

/// A shape as a geometry (Z and M dropped); `None` for a null shape.
fn geometry(shape: Shape) -> Result<Option<Geometry<f64>>, String> {
    let area = match shape {
        Shape::NullShape => return Ok(None),
        Shape::Polygon(p) => MultiPolygon::try_from(p),
        Shape::PolygonM(p) => MultiPolygon::try_from(p),
        Shape::PolygonZ(p) => MultiPolygon::try_from(p),
        other => {
            return Err(format!(
                "expected a polygon shape, found {}",
                other.shapetype()
            ));
        }
    };
    area.map(|a| Some(Geometry::MultiPolygon(a)))
        .map_err(|e| e.to_string())
}

/// A `.dbf` value as JSON (blank values are null).
fn json(value: FieldValue) -> Value {
    match value {
        FieldValue::Character(s) => s.map_or(Value::Null, |s| Value::String(s.trim().to_owned())),
        FieldValue::Memo(s) => Value::String(s),
        FieldValue::Numeric(x) => x.map_or(Value::Null, number),
        FieldValue::Float(x) => x.map_or(Value::Null, |x| number(f64::from(x))),
        FieldValue::Double(x) | FieldValue::Currency(x) => number(x),
        FieldValue::Integer(i) => Value::from(i),
        FieldValue::Logical(b) => b.map_or(Value::Null, Value::Bool),
        FieldValue::Date(d) => d.map_or(Value::Null, |d| {
            Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }),
        FieldValue::DateTime(t) => Value::String(format!("{t:?}")),
    }
}

/// A number as JSON: integral values as integers (a `.dbf` stores `48` as `48.0`).
pub(super) fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        // Exact: integral and within f64's integer range.
        #[allow(clippy::cast_possible_truncation)]
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}
