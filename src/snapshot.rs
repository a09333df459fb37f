//! A registry together with its spatial index: the immutable unit that the server and the CLI
//! read. A new registry version means a new `Snapshot`, swapped in whole.

use std::path::Path;

use crate::index::{Hit, SpatialIndex};
use crate::registry::{LoadError, Registry, load_dir};

pub struct Snapshot {
    pub registry: Registry,
    pub index: SpatialIndex,
}

impl Snapshot {
    pub fn new(registry: Registry) -> Self {
        let index = SpatialIndex::new(&registry);
        Snapshot { registry, index }
    }

    /// Loads and indexes a boundary directory.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        load_dir(dir).map(Self::new)
    }

    pub fn lookup(&self, lon_lat: [f64; 2]) -> Hit {
        self.index.lookup(lon_lat)
    }
}
