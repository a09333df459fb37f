//! CSV: one line per feature, the geometry as WKT in the first column (`WKT`, the name GDAL
//! and QGIS take as geometry without being told) and the properties after it.
//!
//! UTF-8 with a byte-order mark: Excel as installed in China opens a CSV without one as GBK and
//! shows the Chinese names as mojibake; with it, Excel, GDAL, QGIS and Python's `utf-8-sig` all
//! read it right. A CSV cannot state its CRS: the download's file name carries it
//! (`communities-EPSG4547.csv`), and `shequ import` of a CSV needs `--crs`.

use geozero::ToWkt;

use super::{ExportError, Format, Table};

/// The byte-order mark that starts every CSV download.
pub const BOM: &str = "\u{feff}";

/// The name of the geometry column.
pub const WKT: &str = "WKT";

/// `table` as CSV.
pub fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError::write(Format::Csv, e);
    let mut out = csv::Writer::from_writer(BOM.as_bytes().to_vec());
    let header = std::iter::once(WKT).chain(table.columns.iter().map(|c| c.name.as_str()));
    out.write_record(header).map_err(|e| fail(&e))?;
    for row in &table.rows {
        let wkt = match &row.geometry {
            Some(area) => geo::Geometry::MultiPolygon(area.clone())
                .to_wkt()
                .map_err(|e| fail(&e))?,
            None => String::new(),
        };
        let cells = std::iter::once(wkt).chain(row.cells.iter().map(|c| c.text()));
        out.write_record(cells).map_err(|e| fail(&e))?;
    }
    out.into_inner().map_err(|e| fail(&e))
}
