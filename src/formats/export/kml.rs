//! KML 2.2 (OGC 07-147r2): a Document of Placemarks, each with its name, its properties as
//! `ExtendedData` of a declared `Schema`, and its area as polygons.
//!
//! KML coordinates are WGS84 longitude, latitude by definition; the API refuses another `crs`
//! for KML rather than writing metres a reader would take for degrees. Outer rings keep RFC
//! 7946's counter-clockwise orientation, which is what KML readers expect.

use std::fmt::Write as _;

use geo::{LineString, MultiPolygon};

use super::{Cell, ExportError, Format, Kind, Table};

/// `table` (in WGS84) as a KML document.
pub fn write(table: &Table) -> Result<Vec<u8>, ExportError> {
    if table.epsg != 4326 {
        return Err(ExportError::write(
            Format::Kml,
            format!("KML is WGS84 only, not EPSG:{}", table.epsg),
        ));
    }
    let name = escape(&table.name);
    let mut s = String::with_capacity(256 * (table.rows.len() + 1));
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document id=\"root_doc\">\n");
    let label = table.columns.iter().position(|c| c.name == "name");
    let _ = writeln!(s, "<Schema name=\"{name}\" id=\"{name}\">");
    // `name` is the Placemark's own <name>, which readers show as the label and read as the
    // `name` field; declared again in the schema it would be a second field of that name.
    for c in table.columns.iter().filter(|c| c.name != "name") {
        let kind = match c.kind {
            Kind::Integer => "int",
            Kind::Real => "double",
            Kind::Text => "string",
        };
        let _ = writeln!(
            s,
            "<SimpleField name=\"{}\" type=\"{kind}\"></SimpleField>",
            escape(&c.name)
        );
    }
    s.push_str("</Schema>\n");
    let _ = writeln!(s, "<Folder><name>{name}</name>");
    for row in &table.rows {
        s.push_str("<Placemark>");
        if let Some(Cell::Text(n)) = label.and_then(|i| row.cells.get(i)) {
            let _ = write!(s, "<name>{}</name>", escape(n));
        }
        let _ = write!(s, "<ExtendedData><SchemaData schemaUrl=\"#{name}\">");
        for (c, cell) in table.columns.iter().zip(&row.cells) {
            if *cell != Cell::Null && c.name != "name" {
                let _ = write!(
                    s,
                    "<SimpleData name=\"{}\">{}</SimpleData>",
                    escape(&c.name),
                    escape(&cell.text())
                );
            }
        }
        s.push_str("</SchemaData></ExtendedData>");
        if let Some(area) = &row.geometry {
            geometry(&mut s, area);
        }
        s.push_str("</Placemark>\n");
    }
    s.push_str("</Folder>\n</Document>\n</kml>\n");
    Ok(s.into_bytes())
}

fn geometry(s: &mut String, area: &MultiPolygon<f64>) {
    s.push_str("<MultiGeometry>");
    for polygon in area {
        s.push_str("<Polygon><outerBoundaryIs>");
        ring(s, polygon.exterior());
        s.push_str("</outerBoundaryIs>");
        for hole in polygon.interiors() {
            s.push_str("<innerBoundaryIs>");
            ring(s, hole);
            s.push_str("</innerBoundaryIs>");
        }
        s.push_str("</Polygon>");
    }
    s.push_str("</MultiGeometry>");
}

fn ring(s: &mut String, ring: &LineString<f64>) {
    s.push_str("<LinearRing><coordinates>");
    for (i, c) in ring.coords().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{},{}", c.x, c.y);
    }
    s.push_str("</coordinates></LinearRing>");
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(escape("A&B <\"x\">\u{1}"), "A&amp;B &lt;&quot;x&quot;&gt;");
    }
}
