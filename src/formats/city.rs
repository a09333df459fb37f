//! A whole city read from survey data: the layers of a source grouped by level, and — when all
//! three are there — checked by the loader as boundary files are. Shared by `shequ import`
//! (which writes the layers out) and the re-survey import (`--db`, `POST /api/v1/resurveys`,
//! which stages them), so both read, convert and check a city the same way and report the
//! same problems.
//!
//! The city is checked once, in memory: `shequ import` used to write the layers and then load
//! the written files again for its report, parsing, checking, noding and indexing the whole
//! city twice (half of 1:59.9 at ×10; BENCHMARKS.md). The written files are a faithful
//! serialisation of the checked features, so the registry checked here stands for them.

use std::path::Path;

use serde_json::Value;

use super::{FormatError, ImportError, Imported, Options};
use crate::registry::{Feature, Level, LoadError, Plausible, Registry, load_stream};

/// The layers of one source, by level (towns, communities, grids).
#[derive(Debug)]
pub struct Layers {
    pub by_level: [Option<Imported>; 3],
}

/// Why a source did not give a city: it cannot be read (bad input), or its features or the
/// city they make have problems (each listed, with the source file naming where).
#[derive(Debug, thiserror::Error)]
pub enum CityError {
    #[error("{0}")]
    Format(#[from] FormatError),
    /// Problems in the data: the text lists every one of them, one a line.
    #[error("{text}")]
    Problems { text: String, count: usize },
    /// The source lacks a layer a whole city needs.
    #[error(
        "{source_name}: holds no {missing} layer; a re-survey needs towns, communities and grids"
    )]
    Incomplete {
        source_name: String,
        missing: &'static str,
    },
}

impl From<ImportError> for CityError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Format(f) => CityError::Format(f),
            problems @ ImportError::Problems(_) => {
                let count = match &problems {
                    ImportError::Problems(p) => p.len(),
                    ImportError::Format(_) => 0,
                };
                CityError::Problems {
                    text: problems.to_string(),
                    count,
                }
            }
        }
    }
}

/// Reads `path` (see [`super::read`]) and groups its layers by level; two sources of one level
/// are refused.
pub fn read_layers(path: &Path, options: &Options) -> Result<Layers, CityError> {
    let mut by_level: [Option<Imported>; 3] = [None, None, None];
    for imported in super::read(path, options)? {
        let slot = &mut by_level[imported.level.index()];
        if let Some(earlier) = slot {
            return Err(FormatError::Unsupported(format!(
                "{} and {} both hold {}",
                earlier.origin,
                imported.origin,
                imported.level.collection()
            ))
            .into());
        }
        *slot = Some(imported);
    }
    Ok(Layers { by_level })
}

impl Layers {
    /// The layers read, in level order.
    pub fn iter(&self) -> impl Iterator<Item = &Imported> {
        self.by_level.iter().flatten()
    }

    /// The three layers (towns, communities, grids) when all are here.
    pub fn complete(&self) -> Option<[&Imported; 3]> {
        match &self.by_level {
            [Some(t), Some(c), Some(g)] => Some([t, c, g]),
            _ => None,
        }
    }

    /// When all three layers are here: the city checked by the loader (`None` when a layer is
    /// missing: nothing to check yet). The loader's problems name the source files they come
    /// from (see [`problems`]).
    pub fn check(
        &self,
        source: &Path,
        plausible: &Plausible,
    ) -> Result<Option<Registry>, CityError> {
        let Some(layers) = self.complete() else {
            return Ok(None);
        };
        check_city(layers, plausible)
            .map(Some)
            .map_err(|e| problems(source, layers, e))
    }

    /// The whole city: its three layers checked by the loader, or why not.
    pub fn city(self, source: &Path, plausible: &Plausible) -> Result<City, CityError> {
        let registry = match self.check(source, plausible)? {
            Some(r) => r,
            None => {
                let missing = Level::ALL
                    .into_iter()
                    .zip(&self.by_level)
                    .find(|(_, l)| l.is_none())
                    .map(|(l, _)| l.collection())
                    .unwrap_or("towns");
                return Err(CityError::Incomplete {
                    source_name: source.display().to_string(),
                    missing,
                });
            }
        };
        let [t, c, g] = self
            .by_level
            .map(|l| l.map(|i| i.features).unwrap_or_default());
        Ok(City {
            collections: [t, c, g],
            registry,
        })
    }
}

/// A city read from survey data and checked: its features (WGS84, shequ's fields) and the
/// registry the loader built from them.
pub struct City {
    pub collections: [Vec<Value>; 3],
    pub registry: Registry,
}

/// Reads and checks a whole city from `path`.
pub fn read_city(path: &Path, options: &Options, plausible: &Plausible) -> Result<City, CityError> {
    read_layers(path, options)?.city(path, plausible)
}

/// Checks the three layers (towns, communities, grids) of an import as the loader checks
/// boundary files, feature by feature (each feature is read into the loader's typed
/// `Feature` only while it is checked, so the layers are not held twice), and returns the registry they make. Problems name the
/// boundary file each layer would be written to ([`problems`] names the sources instead).
pub fn check_city(layers: [&Imported; 3], plausible: &Plausible) -> Result<Registry, LoadError> {
    let read = |file: &'static str, sink: &mut dyn FnMut(usize, Feature)| {
        if let Some(layer) = layers.iter().find(|l| l.level.file() == file) {
            for (index, feature) in layer.features.iter().enumerate() {
                sink(index, Feature::from_value(feature));
            }
        }
        Ok::<_, std::convert::Infallible>(Ok(()))
    };
    match load_stream(read, plausible) {
        Ok(checked) => checked,
        Err(never) => match never {},
    }
}

/// The loader's problems with the city read from `source`, each naming the source file its
/// layer came from: `SOURCE: N problems; nothing written`, then one a line.
pub fn problems(source: &Path, layers: [&Imported; 3], e: LoadError) -> CityError {
    let count = e.problems.len();
    let mut text = format!("{}: {count} problems; nothing written", source.display());
    for mut p in e.problems {
        if let Some(layer) = layers.iter().find(|l| l.level.file() == p.file) {
            p.file = layer.origin.clone();
        }
        text.push_str(&format!("\n  {p}"));
    }
    CityError::Problems { text, count }
}
