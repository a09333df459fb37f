//! FlatGeobuf (v3): the layer as a `MultiPolygon` file, its columns and its CRS (EPSG code) in
//! the header, built with the `flatgeobuf` crate's schema types (the format's reference Rust
//! implementation) and the `flatbuffers` builder it uses.
//!
//! Not through the crate's `FgbWriter`: it gives every feature a geometry, and a feature
//! without an area (a community with no defined territory, a finding without geometry) must
//! have none — GDAL refuses the empty multipolygon `FgbWriter` writes for it. No spatial index
//! is written (optional in the format): a layer of a city is read whole.

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use flatgeobuf::{
    Column as FgbColumn, ColumnArgs, ColumnType, Crs, CrsArgs, Feature, FeatureArgs, Geometry,
    GeometryArgs, GeometryType, Header, HeaderArgs, VERSION,
};
use geo::{MultiPolygon, Polygon};

use super::{Cell, ExportError, Format, Kind, Table};

/// `table` as a FlatGeobuf file.
pub fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::write(Format::Fgb, e);
    let code = i32::try_from(table.epsg).map_err(|e| fail(&e))?;
    let mut out = vec![b'f', b'g', b'b', VERSION, b'f', b'g', b'b', 0];

    let mut fbb = FlatBufferBuilder::new();
    let columns: Vec<_> = table
        .columns
        .iter()
        .map(|c| {
            let name = fbb.create_string(&c.name);
            let type_ = match c.kind {
                Kind::Integer => ColumnType::Long,
                Kind::Real => ColumnType::Double,
                Kind::Text => ColumnType::String,
            };
            FgbColumn::create(
                &mut fbb,
                &ColumnArgs {
                    name: Some(name),
                    type_,
                    nullable: true,
                    ..Default::default()
                },
            )
        })
        .collect();
    let columns = fbb.create_vector(&columns);
    let org = fbb.create_string("EPSG");
    let crs = Crs::create(
        &mut fbb,
        &CrsArgs {
            org: Some(org),
            code,
            ..Default::default()
        },
    );
    let name = fbb.create_string(&table.name);
    let extent = table.extent();
    let envelope = extent.map(|r| fbb.create_vector(&[r.min().x, r.min().y, r.max().x, r.max().y]));
    let header = Header::create(
        &mut fbb,
        &HeaderArgs {
            name: Some(name),
            envelope,
            geometry_type: GeometryType::MultiPolygon,
            columns: Some(columns),
            features_count: table.rows.len() as u64,
            index_node_size: 0,
            crs: Some(crs),
            ..Default::default()
        },
    );
    fbb.finish_size_prefixed(header, None);
    out.extend_from_slice(fbb.finished_data());

    for row in &table.rows {
        fbb.reset();
        let geometry = row
            .geometry
            .as_ref()
            .map(|area| multi_polygon(&mut fbb, area));
        let properties = fbb.create_vector(&properties(&row.cells).map_err(|e| fail(&e))?);
        let feature = Feature::create(
            &mut fbb,
            &FeatureArgs {
                geometry,
                properties: Some(properties),
                columns: None,
            },
        );
        fbb.finish_size_prefixed(feature, None);
        out.extend_from_slice(fbb.finished_data());
    }
    Ok(out)
}

/// A multipolygon: one `Polygon` part per polygon, its rings' ends in points.
fn multi_polygon<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    area: &MultiPolygon<f64>,
) -> WIPOffset<Geometry<'a>> {
    let parts: Vec<_> = area.iter().map(|p| polygon(fbb, p)).collect();
    let parts = fbb.create_vector(&parts);
    Geometry::create(
        fbb,
        &GeometryArgs {
            type_: GeometryType::MultiPolygon,
            parts: Some(parts),
            ..Default::default()
        },
    )
}

fn polygon<'a>(fbb: &mut FlatBufferBuilder<'a>, polygon: &Polygon<f64>) -> WIPOffset<Geometry<'a>> {
    let mut xy = Vec::new();
    let mut ends = Vec::new();
    for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
        for c in ring.coords() {
            xy.extend([c.x, c.y]);
        }
        ends.push(u32::try_from(xy.len() / 2).unwrap_or(u32::MAX));
    }
    let xy = fbb.create_vector(&xy);
    let ends = fbb.create_vector(&ends);
    Geometry::create(
        fbb,
        &GeometryArgs {
            type_: GeometryType::Polygon,
            xy: Some(xy),
            ends: Some(ends),
            ..Default::default()
        },
    )
}

/// The property bytes of a feature: per non-null cell its column index (u16) and value
/// (i64, f64, or a u32 length and UTF-8 bytes), little-endian.
fn properties(cells: &[Cell]) -> Result<Vec<u8>, std::num::TryFromIntError> {
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if *cell == Cell::Null {
            continue;
        }
        out.extend(u16::try_from(i)?.to_le_bytes());
        match cell {
            Cell::Null => {}
            Cell::Integer(v) => out.extend(v.to_le_bytes()),
            Cell::Real(v) => out.extend(v.to_le_bytes()),
            Cell::Text(t) => {
                out.extend(u32::try_from(t.len())?.to_le_bytes());
                out.extend(t.as_bytes());
            }
        }
    }
    Ok(out)
}
