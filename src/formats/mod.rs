//! Boundary data in the formats a bureau's GIS writes: Shapefile ([`shp`]), GeoPackage
//! ([`gpkg`]) and GeoJSON ([`geojson`]), read one feature at a time, their CRS recognised
//! ([`prj`]), their fields mapped ([`mapping`]) and each feature converted ([`convert`]) into
//! the registry's own form: a WGS84 GeoJSON feature with shequ's property names and RFC 7946
//! ring orientation, which the loader (`registry::load_features`) then checks as it checks the
//! boundary files.
//!
//! Every problem names the source file (and GeoPackage table), the feature's index in it and
//! the field; a source whose CRS nothing states is refused rather than guessed.

pub mod city;
pub mod convert;
pub mod csv;
pub mod export;
pub mod geojson;
pub mod gpkg;
pub mod mapping;
pub mod prj;
pub mod shp;

use std::path::Path;

use serde_json::Value;

use crate::crs::Crs;
use crate::registry::{Level, Problem};
pub use mapping::Mapping;

/// What a reader knows of one source layer before reading its features.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// The layer's own name: a Shapefile's file stem, a GeoPackage table, a GeoJSON file stem.
    pub name: String,
    /// Where it is, for messages: the path (and table).
    pub origin: String,
    /// The CRS definition the source carries (`.prj`, `gpkg_spatial_ref_sys.definition`).
    pub crs_definition: Option<String>,
    /// The EPSG code the source states outright (GeoPackage organisation, GeoJSON `crs`).
    pub crs_epsg: Option<u32>,
    /// The CRS the format implies when neither the source nor `--crs` says one (RFC 7946
    /// GeoJSON: WGS84).
    pub default_epsg: Option<u32>,
    /// Field names in source order.
    pub fields: Vec<String>,
    /// The text encoding used (Shapefiles), for messages.
    pub encoding: Option<&'static str>,
}

/// One source feature: its fields as given and its geometry in the source CRS.
#[derive(Debug, Clone)]
pub struct SourceFeature {
    pub properties: Vec<(String, Value)>,
    pub geometry: Option<geo::Geometry<f64>>,
}

/// Why a source cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("cannot read {origin}: {message}")]
    Open { origin: String, message: String },
    #[error("{origin}: feature {feature}{}: {message}", field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Feature {
        origin: String,
        feature: usize,
        field: Option<String>,
        message: String,
    },
    #[error(
        "{origin}: no CRS is stated (no .prj, `crs` member or spatial reference); give it with --crs, e.g. --crs EPSG:4547"
    )]
    NoCrs { origin: String },
    #[error(
        "{origin}: the CRS {definition:?} is not one shequ recognises; give it with --crs (e.g. --crs EPSG:4547) if you know it"
    )]
    UnknownCrs { origin: String, definition: String },
    #[error(
        "{origin}: the file says {stated} but --crs says {given}; leave out --crs or fix the file"
    )]
    CrsConflict {
        origin: String,
        stated: String,
        given: String,
    },
    #[error(
        "{origin}: cannot tell which layer it holds (towns, communities or grids): name the file after the layer, add it to [layers] of the --map file, or give --layer"
    )]
    UnknownLayer { origin: String },
    #[error("{0}")]
    Unsupported(String),
}

/// How to read sources.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// The CRS to assume where a source states none (`--crs`).
    pub crs: Option<Crs>,
    /// The layer a single-layer source holds when its name does not say (`--layer`).
    pub layer: Option<Level>,
    pub mapping: Mapping,
}

/// One source layer converted: WGS84 features with shequ's fields, or the problems found.
#[derive(Debug)]
pub struct Imported {
    pub level: Level,
    pub origin: String,
    pub crs: Crs,
    pub features: Vec<Value>,
}

/// Why an import produced nothing: the source could not be read, or its features have
/// problems (all of them, each naming file, feature and field).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{} problem{} in the imported data{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Problems(Vec<Problem>),
}

/// Reads `path`: a `.shp`, `.gpkg`, `.geojson`/`.json`, or a directory of such files; each
/// layer whose level is known is converted.
pub fn read(path: &Path, options: &Options) -> Result<Vec<Imported>, ImportError> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| FormatError::Open {
                origin: path.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    extension(p).as_str(),
                    "shp" | "gpkg" | "geojson" | "json" | "csv"
                )
            })
            .collect();
        entries.sort();
        let mut all = Vec::new();
        let mut problems = Vec::new();
        for entry in entries {
            let stem = entry
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            // In a directory, files that are no layer of shequ's (and not in the mapping's
            // [layers]) are left alone; a GeoPackage is looked into.
            if extension(&entry) != "gpkg" && options.mapping.level_of(&stem).is_none() {
                continue;
            }
            let one = Options {
                layer: None,
                ..options.clone()
            };
            match read(&entry, &one) {
                Ok(layers) => all.extend(layers),
                Err(ImportError::Problems(p)) => problems.extend(p),
                Err(e) => return Err(e),
            }
        }
        if !problems.is_empty() {
            return Err(ImportError::Problems(problems));
        }
        if all.is_empty() {
            return Err(FormatError::Open {
                origin: path.display().to_string(),
                message: "holds no towns, communities or grids layer (.shp, .gpkg or .geojson)"
                    .into(),
            }
            .into());
        }
        return Ok(all);
    }
    match extension(path).as_str() {
        "shp" => {
            let mut layer = shp::open(path)?;
            let level = level_of(&layer.info, options, true)?;
            let info = layer.info.clone();
            let mut run = convert::Run::new(level, &info, options)?;
            layer.for_each(&mut |f| run.feature(f));
            run.finish().map(|i| vec![i])
        }
        "gpkg" => {
            let gpkg = gpkg::open(path)?;
            let single = gpkg.layers.len() == 1;
            let mut out = Vec::new();
            let mut problems = Vec::new();
            for layer in &gpkg.layers {
                let level = match level_of(&layer.info, options, single) {
                    Ok(level) => level,
                    // Other tables of a GeoPackage are not ours to import.
                    Err(_) if !single => continue,
                    Err(e) => return Err(e.into()),
                };
                let mut run = convert::Run::new(level, &layer.info, options)?;
                gpkg.for_each(layer, &mut |f| run.feature(f))?;
                match run.finish() {
                    Ok(i) => out.push(i),
                    Err(ImportError::Problems(p)) => problems.extend(p),
                    Err(e) => return Err(e),
                }
            }
            if !problems.is_empty() {
                return Err(ImportError::Problems(problems));
            }
            if out.is_empty() {
                return Err(FormatError::UnknownLayer {
                    origin: path.display().to_string(),
                }
                .into());
            }
            Ok(out)
        }
        "csv" => {
            let mut layer = csv::open(path)?;
            let level = level_of(&layer.info, options, true)?;
            let info = layer.info.clone();
            let mut run = convert::Run::new(level, &info, options)?;
            layer.for_each(&mut |f| run.feature(f));
            run.finish().map(|i| vec![i])
        }
        "geojson" | "json" => {
            let mut layer = geojson::open(path)?;
            let level = level_of(&layer.info, options, true)?;
            let info = layer.info.clone();
            let mut run = convert::Run::new(level, &info, options)?;
            layer.for_each(&mut |f| run.feature(f));
            run.finish().map(|i| vec![i])
        }
        other => Err(FormatError::Unsupported(format!(
            "cannot read {}: unknown format {:?} (expected .shp, .gpkg, .geojson, .csv or a directory of them)",
            path.display(),
            other
        ))
        .into()),
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The level of a source layer: `--layer` (for a single layer), the mapping's `[layers]`, or
/// the layer's own name.
fn level_of(info: &LayerInfo, options: &Options, single: bool) -> Result<Level, FormatError> {
    options
        .layer
        .filter(|_| single)
        .or_else(|| options.mapping.level_of(&info.name))
        .ok_or_else(|| FormatError::UnknownLayer {
            origin: info.origin.clone(),
        })
}

/// The CRS of a source: what it states (an EPSG code, or a definition recognised by [`prj`]),
/// or `--crs` when it states none; a statement `--crs` contradicts is refused.
pub fn resolve_crs(info: &LayerInfo, given: Option<&Crs>) -> Result<Crs, FormatError> {
    let origin = info.origin.clone();
    let stated = match (info.crs_epsg, &info.crs_definition) {
        (Some(code), _) => Some(code),
        (None, Some(definition)) => match prj::epsg_of_wkt(definition) {
            Some(code) => Some(code),
            None if given.is_some() => None,
            None => {
                return Err(FormatError::UnknownCrs {
                    origin,
                    definition: definition.chars().take(120).collect(),
                });
            }
        },
        (None, None) => None,
    };
    let stated = match stated {
        Some(code) => Some(format!("EPSG:{code}").parse::<Crs>().map_err(|e| {
            FormatError::Unsupported(format!("{origin}: its CRS EPSG:{code} cannot be used: {e}"))
        })?),
        None => None,
    };
    match (stated, given) {
        (Some(s), Some(g)) if s != *g && !(s.is_wgs84() && g.is_wgs84()) => {
            Err(FormatError::CrsConflict {
                origin,
                stated: s.to_string(),
                given: g.to_string(),
            })
        }
        (Some(s), _) => Ok(s),
        (None, Some(g)) => Ok(g.clone()),
        (None, None) if info.default_epsg == Some(4326) => Ok(Crs::Wgs84),
        (None, None) => Err(FormatError::NoCrs { origin }),
    }
}
