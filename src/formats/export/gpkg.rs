//! GeoPackage 1.3 (OGC 12-128r18): one feature table with the required `gpkg_spatial_ref_sys`
//! (the three mandatory rows and the table's CRS with its OGC WKT), `gpkg_contents` (with the
//! extent) and `gpkg_geometry_columns` (`MULTIPOLYGON`), written through the bundled SQLite into
//! a temporary file. Geometry blobs are GeoPackage binary (header with SRS id and envelope, then
//! WKB) written by `geozero`, the crate the reader decodes them with.

use geo::{BoundingRect, Geometry};
use geozero::{CoordDimensions, ToWkb};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, params_from_iter};

use super::{Cell, ExportError, Format, Kind, Table, crs_wkt};

/// `table` as a GeoPackage file.
pub fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::write(Format::Gpkg, e);
    let dir = tempfile::tempdir().map_err(|e| fail(&e))?;
    let path = dir.path().join(format!("{}.gpkg", table.name));
    {
        let mut c = Connection::open(&path).map_err(|e| fail(&e))?;
        fill(&mut c, table).map_err(|e| fail(&e))?;
    }
    std::fs::read(&path).map_err(|e| fail(&e))
}

/// `"name"` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn fill(c: &mut Connection, table: &Table) -> Result<(), Box<dyn std::error::Error>> {
    let srs = i64::from(table.epsg);
    let definition = crs_wkt::ogc(table.epsg)
        .ok_or_else(|| format!("no WKT definition for EPSG:{}", table.epsg))?;
    c.execute_batch(
        "PRAGMA application_id = 1196444487; -- 'GPKG'
         PRAGMA user_version = 10300;
         PRAGMA journal_mode = OFF;
         CREATE TABLE gpkg_spatial_ref_sys (
           srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
           organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
         CREATE TABLE gpkg_contents (
           table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
           description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
           CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (
           table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
           srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
           CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
           CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
         INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');",
    )?;
    let wgs84 = crs_wkt::ogc(4326).ok_or("no WKT definition for EPSG:4326")?;
    let insert_srs =
        "INSERT OR REPLACE INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, NULL)";
    c.execute(insert_srs, rusqlite::params!["WGS 84", 4326, wgs84])?;
    if srs != 4326 {
        c.execute(
            insert_srs,
            rusqlite::params![crs_wkt::name(table.epsg), srs, definition],
        )?;
    }

    let name = quoted(&table.name);
    let mut columns = vec![
        "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL".to_owned(),
        "geom MULTIPOLYGON".to_owned(),
    ];
    for column in &table.columns {
        let kind = match column.kind {
            Kind::Integer => "INTEGER",
            Kind::Real => "REAL",
            Kind::Text => "TEXT",
        };
        columns.push(format!("{} {kind}", quoted(&column.name)));
    }
    let tx = c.transaction()?;
    tx.execute_batch(&format!("CREATE TABLE {name} ({});", columns.join(", ")))?;
    let extent = table.extent();
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id)
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            table.name,
            extent.map(|r| r.min().x),
            extent.map(|r| r.min().y),
            extent.map(|r| r.max().x),
            extent.map(|r| r.max().y),
            srs
        ],
    )?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', 'MULTIPOLYGON', ?2, 0, 0)",
        rusqlite::params![table.name, srs],
    )?;
    {
        let placeholders = vec!["?"; table.columns.len() + 1].join(", ");
        let names: Vec<String> = table.columns.iter().map(|c| quoted(&c.name)).collect();
        let mut statement = tx.prepare(&format!(
            "INSERT INTO {name} (geom{}{}) VALUES ({placeholders})",
            if names.is_empty() { "" } else { ", " },
            names.join(", ")
        ))?;
        let srid = i32::try_from(table.epsg)?;
        for row in &table.rows {
            let mut values = Vec::with_capacity(row.cells.len() + 1);
            values.push(match &row.geometry {
                None => Sql::Null,
                Some(area) => {
                    let envelope = area
                        .bounding_rect()
                        .map(|r| vec![r.min().x, r.max().x, r.min().y, r.max().y])
                        .unwrap_or_default();
                    Sql::Blob(Geometry::MultiPolygon(area.clone()).to_gpkg_wkb(
                        CoordDimensions::xy(),
                        Some(srid),
                        envelope,
                    )?)
                }
            });
            values.extend(row.cells.iter().map(|cell| match cell {
                Cell::Null => Sql::Null,
                Cell::Integer(i) => Sql::Integer(*i),
                Cell::Real(r) => Sql::Real(*r),
                Cell::Text(t) => Sql::Text(t.clone()),
            }));
            statement.execute(params_from_iter(values))?;
        }
    }
    tx.commit()?;
    Ok(())
}
