//! Downloads: a layer ([`Table`]) written as GeoPackage ([`gpkg`]), zipped Shapefile ([`shp`]),
//! KML ([`kml`]), CSV ([`csv`]) or FlatGeobuf ([`fgb`]), each a file in memory.
//!
//! Pure: the API picks the format ([`Format`]) from `format=` or `Accept`, renders the layer as
//! GeoJSON as it would answer it, makes it a [`Table`] and calls [`write`]; nothing here knows
//! HTTP. Every format states its CRS where it can (GeoPackage `gpkg_spatial_ref_sys`,
//! Shapefile `.prj`, FlatGeobuf header; KML is WGS84 by definition; CSV cannot, so its file
//! name says it).

pub mod crs_wkt;
pub mod csv;
pub mod fgb;
pub mod gpkg;
pub mod kml;
pub mod shp;
pub mod table;

pub use table::{Cell, Column, Kind, Row, Table};

/// A format a layer can be downloaded in (GeoJSON is the API's own answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Gpkg,
    Shp,
    Kml,
    Csv,
    Fgb,
}

impl Format {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [Format; 6] = [
        Format::GeoJson,
        Format::Gpkg,
        Format::Shp,
        Format::Kml,
        Format::Csv,
        Format::Fgb,
    ];

    /// The value of `format=`.
    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Gpkg => "gpkg",
            Format::Shp => "shp",
            Format::Kml => "kml",
            Format::Csv => "csv",
            Format::Fgb => "fgb",
        }
    }

    /// The media type of the answer (`Content-Type`).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::Gpkg => "application/geopackage+sqlite3",
            Format::Shp => "application/x-shapefile",
            Format::Kml => "application/vnd.google-earth.kml+xml",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Fgb => "application/flatgeobuf",
        }
    }

    /// The file name extension of the download.
    pub fn extension(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Gpkg => "gpkg",
            Format::Shp => "zip",
            Format::Kml => "kml",
            Format::Csv => "csv",
            Format::Fgb => "fgb",
        }
    }

    /// The format of a `format=` value (case-insensitive).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The format a media type of an `Accept` header asks for (parameters ignored);
    /// `application/zip` is the zipped Shapefile, `application/json` GeoJSON.
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let essence = media_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/geo+json" | "application/json" => Some(Format::GeoJson),
            "application/zip" => Some(Format::Shp),
            other => Format::ALL
                .into_iter()
                .find(|f| f.media_type().split(';').next() == Some(other)),
        }
    }

    /// Whether the format can say only WGS84 (KML, OGC 07-147r2 §6.2).
    pub fn wgs84_only(self) -> bool {
        self == Format::Kml
    }

    /// The download's file name: the layer, its CRS unless WGS84, the extension
    /// (`communities-EPSG4547.gpkg`).
    pub fn file_name(self, layer: &str, epsg: u32) -> String {
        let crs = if epsg == 4326 {
            String::new()
        } else {
            format!("-EPSG{epsg}")
        };
        format!("{layer}{crs}.{}", self.extension())
    }
}

/// Why a download could not be written (internal: the table is shequ's own data).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("GeoJSON cannot be written from a table: the API answers it directly")]
    GeoJson,
    #[error("writing {format}: {message}")]
    Write {
        format: &'static str,
        message: String,
    },
}

impl ExportError {
    pub(crate) fn write(format: Format, message: impl std::fmt::Display) -> Self {
        ExportError::Write {
            format: format.name(),
            message: message.to_string(),
        }
    }
}

/// `table` written in `format`: the bytes of the file to download.
pub fn write(format: Format, table: &Table) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::GeoJson => Err(ExportError::GeoJson),
        Format::Gpkg => gpkg::write(table),
        Format::Shp => shp::write(table),
        Format::Kml => kml::write(table),
        Format::Csv => csv::write(table),
        Format::Fgb => fgb::write(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_media_types_pick_formats() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(Format::from_media_type(f.media_type()), Some(f));
        }
        assert_eq!(Format::from_name("SHP"), Some(Format::Shp));
        assert_eq!(Format::from_name("xlsx"), None);
        assert_eq!(
            Format::from_media_type("application/zip"),
            Some(Format::Shp)
        );
        assert_eq!(Format::from_media_type("text/csv;q=0.5"), Some(Format::Csv));
        assert_eq!(Format::from_media_type("text/html"), None);
        assert_eq!(
            Format::Shp.file_name("communities", 4547),
            "communities-EPSG4547.zip"
        );
        assert_eq!(Format::Kml.file_name("towns", 4326), "towns.kml");
    }
}
