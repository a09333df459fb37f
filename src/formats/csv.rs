//! CSV reader: a header line, then one feature a line, the area as WKT in a column named
//! `WKT` (also `geometry`, `geom`, `the_geom`; any case) and every other column a field
//! (values are text; the converter reads numbers from them). Polygons only come as WKT: a
//! boundary cannot be a lon/lat pair; the office position is two columns like any field.
//!
//! Encoding: UTF-8 (with or without a byte-order mark) when the file is valid UTF-8, else GBK
//! (GB18030, its superset), what Excel in China saves. A CSV states no CRS, so `--crs` is
//! required (the format implies none, so [`super::resolve_crs`] refuses without it).

use std::path::Path;

use geozero::ToGeo;
use serde_json::Value;

use super::{FormatError, LayerInfo, SourceFeature};

/// Names the geometry column may have (compared without case).
const GEOMETRY_COLUMNS: [&str; 4] = ["wkt", "geometry", "geom", "the_geom"];

/// An open CSV file: its layer info and rows.
pub struct CsvLayer {
    pub info: LayerInfo,
    geometry: usize,
    rows: Vec<(usize, csv::StringRecord)>,
}

/// Reads and decodes `path`; the header must name a geometry column.
pub fn open(path: &Path) -> Result<CsvLayer, FormatError> {
    let origin = path.display().to_string();
    let fail = |message: String| FormatError::Open {
        origin: origin.clone(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let (text, encoding) = match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_owned(), "UTF-8"),
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(fail("neither UTF-8 nor GBK/GB18030 text".into()));
            }
            (t.into_owned(), "GBK")
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| fail(format!("header line: {e}")))?
        .clone();
    let geometry = header
        .iter()
        .position(|h| GEOMETRY_COLUMNS.contains(&h.trim().to_ascii_lowercase().as_str()))
        .ok_or_else(|| {
            fail(format!(
                "no geometry column: name one WKT (or geometry, geom, the_geom); the columns are {}",
                header.iter().collect::<Vec<_>>().join(", ")
            ))
        })?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // Line numbers as an editor shows them: the header is line 1.
        let record = record.map_err(|e| fail(format!("line {}: {e}", i + 2)))?;
        rows.push((i, record));
    }
    let fields = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != geometry)
        .map(|(_, h)| h.trim().to_owned())
        .collect();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(CsvLayer {
        info: LayerInfo {
            name,
            origin,
            crs_definition: None,
            crs_epsg: None,
            default_epsg: None,
            fields,
            encoding: Some(encoding),
        },
        geometry,
        rows,
    })
}

impl CsvLayer {
    /// Every row as a source feature (feature index = data line − 2), or the problem of its
    /// geometry.
    pub fn for_each(&mut self, each: &mut dyn FnMut(Result<SourceFeature, FormatError>)) {
        let header: Vec<String> = self.info.fields.clone();
        for (index, record) in std::mem::take(&mut self.rows) {
            let wkt = record.get(self.geometry).unwrap_or_default().trim();
            let geometry = if wkt.is_empty() {
                Ok(None)
            } else {
                geozero::wkt::Wkt(wkt)
                    .to_geo()
                    .map(Some)
                    .map_err(|e| FormatError::Feature {
                        origin: self.info.origin.clone(),
                        feature: index,
                        field: Some("WKT".into()),
                        message: format!("line {}: not WKT: {e}", index + 2),
                    })
            };
            let properties = record
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != self.geometry)
                .zip(&header)
                .map(|((_, v), name)| {
                    let value = match v.trim() {
                        "" => Value::Null,
                        t => Value::String(t.to_owned()),
                    };
                    (name.clone(), value)
                })
                .collect();
            each(geometry.map(|geometry| SourceFeature {
                properties,
                geometry,
            }));
        }
    }
}
