//! A registry together with its spatial index: the immutable unit that the server and the CLI
//! read. A new registry version means a new `Snapshot`, swapped in whole.

use std::path::Path;

use crate::index::{Hit, SpatialIndex};
use crate::registry::{LoadError, Problem, Registry, load_dir};
use crate::rules::Guidelines;

pub struct Snapshot {
    pub registry: Registry,
    pub index: SpatialIndex,
    /// The guidelines the registry is checked against (from the data directory, else shipped).
    pub guidelines: Guidelines,
}

impl Snapshot {
    pub fn new(registry: Registry, guidelines: Guidelines) -> Self {
        let index = SpatialIndex::new(&registry);
        Snapshot {
            registry,
            index,
            guidelines,
        }
    }

    /// Loads and indexes a boundary directory and its `guidelines.toml`; reports the problems
    /// of both together.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let guidelines = Guidelines::load_dir(dir).map_err(|e| Problem {
            file: "guidelines.toml".to_owned(),
            feature: None,
            code: None,
            field: None,
            message: e.message,
        });
        match (load_dir(dir), guidelines) {
            (Ok(registry), Ok(guidelines)) => Ok(Self::new(registry, guidelines)),
            (Ok(_), Err(problem)) => Err(LoadError {
                problems: vec![problem],
            }),
            (Err(mut e), guidelines) => {
                e.problems.extend(guidelines.err());
                Err(e)
            }
        }
    }

    pub fn lookup(&self, lon_lat: [f64; 2]) -> Hit {
        self.index.lookup(lon_lat)
    }
}
