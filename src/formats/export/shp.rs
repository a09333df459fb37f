//! Zipped Shapefile: `<layer>.shp`, `.shx`, `.dbf`, `.prj` and `.cpg` in one zip (deflate).
//!
//! - `.dbf` in UTF-8 (written by the `dbase` crate), said so by a `.cpg` holding `UTF-8`, so
//!   GDAL, QGIS and ArcGIS read the Chinese names without being told an encoding. Field names
//!   are at most 10 characters: long shequ names take their stable short name
//!   ([`crate::formats::mapping::SHORT_NAMES`]), which `shequ import` reads back without a
//!   mapping file. Text longer than a `.dbf` field's 254 bytes is cut at a character boundary.
//! - `.prj`: the ESRI WKT of the CRS ([`super::crs_wkt::esri`]).
//! - `.shp`/`.shx`: polygons with the Shapefile's orientation (outer rings clockwise, holes
//!   counter-clockwise, the reverse of RFC 7946). Written here rather than by the `shapefile`
//!   crate, whose writer cannot put a null shape (a community with no territory) among
//!   polygons; the layout is the ESRI white paper's (big-endian lengths, little-endian values).

use std::io::{Cursor, Write};

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, MultiPolygon};
use shapefile::dbase::{self, FieldName, FieldValue, Record, TableWriterBuilder};

use super::{Cell, ExportError, Format, Kind, Table, crs_wkt};
use crate::formats::mapping::short_name;

/// Longest `.dbf` text field, bytes.
const DBF_TEXT_MAX: usize = 254;
const SHAPE_NULL: i32 = 0;
const SHAPE_POLYGON: i32 = 5;

/// `table` as a zip of the Shapefile's files.
pub fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::write(Format::Shp, e);
    let (shp, shx) = shapes(table);
    let dbf = dbf(table).map_err(|e| fail(&e))?;
    let prj = crs_wkt::esri(table.epsg)
        .ok_or_else(|| fail(&format!("no WKT definition for EPSG:{}", table.epsg)))?;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let files: [(&str, &[u8]); 5] = [
        ("shp", &shp),
        ("shx", &shx),
        ("dbf", &dbf),
        ("prj", prj.as_bytes()),
        ("cpg", b"UTF-8"),
    ];
    for (extension, bytes) in files {
        zip.start_file(format!("{}.{extension}", table.name), options)
            .map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))?;
    }
    zip.finish().map(Cursor::into_inner).map_err(|e| fail(&e))
}

/// The `.shp` and `.shx` of the table's geometries.
fn shapes(table: &Table) -> (Vec<u8>, Vec<u8>) {
    let mut records = Vec::new();
    let mut index = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let content = match &row.geometry {
            Some(area) if !area.0.is_empty() => polygon(&area.orient(Direction::Reversed)),
            _ => SHAPE_NULL.to_le_bytes().to_vec(),
        };
        let offset_words = (100 + records.len()) / 2;
        let length_words = content.len() / 2;
        index.extend(word(offset_words));
        index.extend(word(length_words));
        records.extend(word(i + 1));
        records.extend(word(length_words));
        records.extend(content);
    }
    let extent = table
        .extent()
        .map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let mut shp = header(100 + records.len(), extent);
    shp.extend(records);
    let mut shx = header(100 + index.len(), extent);
    shx.extend(index);
    (shp, shx)
}

/// A big-endian 32-bit integer (record numbers, lengths and offsets in 16-bit words).
fn word(n: usize) -> [u8; 4] {
    i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes()
}

/// The 100-byte header of a `.shp` or `.shx` of `bytes` bytes.
fn header(bytes: usize, [min_x, min_y, max_x, max_y]: [f64; 4]) -> Vec<u8> {
    let mut h = Vec::with_capacity(100);
    h.extend(9994_i32.to_be_bytes());
    h.extend([0u8; 20]);
    h.extend(word(bytes / 2));
    h.extend(1000_i32.to_le_bytes());
    h.extend(SHAPE_POLYGON.to_le_bytes());
    for v in [min_x, min_y, max_x, max_y, 0.0, 0.0, 0.0, 0.0] {
        h.extend(f64::to_le_bytes(v));
    }
    h
}

/// The content of a polygon record: every ring of every part, in order.
fn polygon(area: &MultiPolygon<f64>) -> Vec<u8> {
    let rings: Vec<&geo::LineString<f64>> = area
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .collect();
    let points: usize = rings.iter().map(|r| r.0.len()).sum();
    let mut c = Vec::with_capacity(44 + 4 * rings.len() + 16 * points);
    c.extend(SHAPE_POLYGON.to_le_bytes());
    let r = area
        .bounding_rect()
        .map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    for v in r {
        c.extend(v.to_le_bytes());
    }
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX).to_le_bytes();
    c.extend(count(rings.len()));
    c.extend(count(points));
    let mut start = 0;
    for ring in &rings {
        c.extend(count(start));
        start += ring.0.len();
    }
    for ring in &rings {
        for p in ring.coords() {
            c.extend(p.x.to_le_bytes());
            c.extend(p.y.to_le_bytes());
        }
    }
    c
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The `.dbf`: one field per column under its short name, in UTF-8.
fn dbf(table: &Table) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let decimals = if table.projected() { 3 } else { 7 };
    let names: Vec<String> = table.columns.iter().map(|c| short_name(&c.name)).collect();
    let mut builder = TableWriterBuilder::with_encoding(dbase::encoding::Unicode);
    for (i, (column, name)) in table.columns.iter().zip(&names).enumerate() {
        let field = FieldName::try_from(name.as_str())?;
        builder = match column.kind {
            Kind::Integer => builder.add_numeric_field(field, 18, 0),
            Kind::Real => builder.add_numeric_field(field, 24, decimals),
            Kind::Text => {
                let longest = table
                    .rows
                    .iter()
                    .filter_map(|r| match r.cells.get(i) {
                        Some(Cell::Text(t)) => Some(cut(t, DBF_TEXT_MAX).len()),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(1);
                builder.add_character_field(field, u8::try_from(longest.max(1))?)
            }
        };
    }
    let mut out = Cursor::new(Vec::new());
    {
        let mut writer = builder.build_with_dest(&mut out);
        for row in &table.rows {
            let mut record = Record::default();
            for ((column, name), cell) in table.columns.iter().zip(&names).zip(&row.cells) {
                let value = match (column.kind, cell) {
                    (Kind::Text, Cell::Text(t)) => {
                        FieldValue::Character(Some(cut(t, DBF_TEXT_MAX).to_owned()))
                    }
                    (Kind::Text, _) => FieldValue::Character(None),
                    (_, cell) => FieldValue::Numeric(cell.number()),
                };
                record.insert(name.clone(), value);
            }
            writer.write_record(&record)?;
        }
        writer.finalize()?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::export::{Column, Row};

    /// The points of the first record's rings, read from the `.shp` bytes.
    fn first_ring(shp: &[u8]) -> Vec<[f64; 2]> {
        let at = |i: usize| f64::from_le_bytes(shp[i..i + 8].try_into().expect("8 bytes"));
        let int = |i: usize| i32::from_le_bytes(shp[i..i + 4].try_into().expect("4 bytes"));
        let content = 108; // header, record header
        let points = usize::try_from(int(content + 40)).expect("count");
        let start = content + 44 + 4; // one part
        (0..points)
            .map(|k| [at(start + 16 * k), at(start + 16 * k + 8)])
            .collect()
    }

    #[test]
    fn outer_rings_are_clockwise_and_a_missing_area_is_a_null_shape() {
        // RFC 7946 orientation: counter-clockwise.
        let square = geo::Polygon::new(
            geo::LineString::from(vec![
                (0.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ]),
            Vec::new(),
        );
        let table = Table {
            name: "t".into(),
            epsg: 4326,
            columns: vec![Column {
                name: "office_area_m2".into(),
                kind: Kind::Real,
            }],
            rows: vec![
                Row {
                    geometry: Some(MultiPolygon(vec![square])),
                    cells: vec![Cell::Real(1.5)],
                },
                Row {
                    geometry: None,
                    cells: vec![Cell::Null],
                },
            ],
        };
        let (shp, shx) = shapes(&table);
        let ring = first_ring(&shp);
        let twice_area: f64 = ring
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(twice_area < 0.0, "not clockwise: {ring:?}");
        // Two index entries; the second record is a null shape (type 0, 2 words).
        assert_eq!(shx.len(), 100 + 2 * 8);
        let last = &shp[shp.len() - 4..];
        assert_eq!(last, 0_i32.to_le_bytes());
        let dbf = dbf(&table).expect("dbf");
        assert!(dbf.windows(9).any(|w| w == b"office_m2"));
    }
}
