//! GeoPackage reader: the feature tables of a `.gpkg` (OGC 12-128r18) through the bundled
//! SQLite, their geometry blobs decoded by `geozero` (GeoPackage binary header + WKB, including
//! the Z/M variants and the empty flag).
//!
//! This is a file-format reader, like the Shapefile one: the SQL here only reads the
//! GeoPackage's own tables (`gpkg_contents`, `gpkg_geometry_columns`,
//! `gpkg_spatial_ref_sys`), never shequ's database.

use std::path::Path;

use geozero::ToGeo;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use super::{FormatError, LayerInfo, SourceFeature};

/// One feature table of a GeoPackage.
pub struct GpkgLayer {
    pub info: LayerInfo,
    table: String,
    geometry_column: String,
}

/// An open GeoPackage and its feature tables.
pub struct Gpkg {
    connection: Connection,
    pub layers: Vec<GpkgLayer>,
}

/// Opens `path` read-only and lists its feature tables with their CRS.
pub fn open(path: &Path) -> Result<Gpkg, FormatError> {
    let origin = path.display().to_string();
    let fail = |message: String| FormatError::Open {
        origin: origin.clone(),
        message,
    };
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| fail(e.to_string()))?;
    let layers =
        list(&connection, &origin).map_err(|e| fail(format!("not a readable GeoPackage: {e}")))?;
    Ok(Gpkg { connection, layers })
}

fn list(c: &Connection, origin: &str) -> rusqlite::Result<Vec<GpkgLayer>> {
    let mut statement = c.prepare(
        "SELECT g.table_name, g.column_name, s.organization, s.organization_coordsys_id, s.definition
           FROM gpkg_geometry_columns g
           JOIN gpkg_contents t ON t.table_name = g.table_name
           LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
          WHERE t.data_type = 'features'
          ORDER BY g.table_name",
    )?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut layers = Vec::new();
    for row in rows {
        let (table, geometry_column, organization, code, definition) = row?;
        let epsg = organization
            .filter(|o| o.eq_ignore_ascii_case("EPSG"))
            .and(code)
            .and_then(|c| u32::try_from(c).ok());
        let fields = columns(c, &table)?
            .into_iter()
            .filter(|f| *f != geometry_column)
            .collect();
        layers.push(GpkgLayer {
            info: LayerInfo {
                name: table.clone(),
                origin: format!("{origin} (table {table})"),
                // "undefined" is what GeoPackage writes for a CRS it was not told.
                crs_definition: definition.filter(|d| !d.trim().eq_ignore_ascii_case("undefined")),
                crs_epsg: epsg,
                default_epsg: None,
                fields,
                encoding: None,
            },
            table,
            geometry_column,
        });
    }
    Ok(layers)
}

fn columns(c: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = c.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let names = statement.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

/// An SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Gpkg {
    /// Calls `each` with every feature of `layer` in row order.
    pub fn for_each(
        &self,
        layer: &GpkgLayer,
        each: &mut dyn FnMut(Result<SourceFeature, FormatError>),
    ) -> Result<(), FormatError> {
        let origin = &layer.info.origin;
        let fail = |message: String| FormatError::Open {
            origin: origin.clone(),
            message,
        };
        let columns: Vec<String> = layer.info.fields.clone();
        let select: Vec<String> = std::iter::once(quote(&layer.geometry_column))
            .chain(columns.iter().map(|c| quote(c)))
            .collect();
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {} FROM {}",
                select.join(", "),
                quote(&layer.table)
            ))
            .map_err(|e| fail(e.to_string()))?;
        let mut rows = statement.query([]).map_err(|e| fail(e.to_string()))?;
        let mut index = 0usize;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => return Err(fail(e.to_string())),
            };
            let feature_error = |field: &str, message: String| FormatError::Feature {
                origin: origin.clone(),
                feature: index,
                field: Some(field.to_owned()),
                message,
            };
            let geometry = match row.get_ref(0) {
                Ok(ValueRef::Null) => Ok(None),
                Ok(ValueRef::Blob(blob)) => {
                    geozero::wkb::GpkgWkb(blob).to_geo().map(Some).map_err(|e| {
                        feature_error("geometry", format!("not a GeoPackage geometry: {e}"))
                    })
                }
                Ok(_) => Err(feature_error("geometry", "not a geometry blob".into())),
                Err(e) => Err(feature_error("geometry", e.to_string())),
            };
            let mut properties = Vec::with_capacity(columns.len());
            let mut bad = None;
            for (i, name) in columns.iter().enumerate() {
                match row.get_ref(i + 1) {
                    Ok(v) => properties.push((name.clone(), json(v))),
                    Err(e) => bad = Some(feature_error(name, e.to_string())),
                }
            }
            let feature = match (geometry, bad) {
                (Err(e), _) | (_, Some(e)) => Err(e),
                (Ok(geometry), None) => Ok(SourceFeature {
                    properties,
                    geometry,
                }),
            };
            each(feature);
            index += 1;
        }
        Ok(())
    }
}

fn json(v: ValueRef) -> Value {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(x) => super::shp::number(x),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
    }
}
