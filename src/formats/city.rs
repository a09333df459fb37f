//! A whole city read from survey data: the layers of a source grouped by level, and — when all
//! three are there — checked by the loader as boundary files are. Shared by `shequ import`
//! (which writes the layers out) and the re-survey import (`--db`, `POST /api/v1/resurveys`,
//! which stages them), so both read, convert and check a city the same way and report the
//! same problems.

use std::path::Path;

use serde_json::Value;

use super::{FormatError, ImportError, Imported, Options};
use crate::registry::{Level, Plausible, Registry};

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

    /// When all three layers are here: the city checked by the loader (`None` when a layer is
    /// missing: nothing to check yet). The loader's problems name the source files they come
    /// from; the message is `SOURCE: N problems; nothing written` and then one a line.
    pub fn check(
        &self,
        source: &Path,
        plausible: &Plausible,
    ) -> Result<Option<Registry>, CityError> {
        let [Some(t), Some(c), Some(g)] = &self.by_level else {
            return Ok(None);
        };
        let collections = [t, c, g].map(|l| l.features.clone());
        crate::registry::load_features(collections, plausible)
            .map(Some)
            .map_err(|e| {
                let mut text = format!(
                    "{}: {} problems; nothing written",
                    source.display(),
                    e.problems.len()
                );
                let count = e.problems.len();
                for mut p in e.problems {
                    if let Some(i) = [t, c, g]
                        .iter()
                        .zip(Level::ALL)
                        .find(|(_, l)| l.file() == p.file)
                    {
                        p.file = i.0.origin.clone();
                    }
                    text.push_str(&format!("\n  {p}"));
                }
                CityError::Problems { text, count }
            })
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
