//! The imported city checked once, in memory.
//!
//! `shequ import` used to check the three converted layers, write them, and then load the
//! written files again for its report: the whole city parsed, checked, noded and indexed twice
//! (1:59.9 of which half was the second load at ×10; BENCHMARKS.md). The written files are a
//! faithful serialisation of the checked features (each is written as it was checked, one per
//! line), so the registry checked here is the one the files load to and stands for them.

use serde_json::Value;

use super::Imported;
use crate::registry::{LoadError, Plausible, Registry, load_stream};

/// Checks the three layers (towns, communities, grids) of an import as the loader checks
/// boundary files, feature by feature (each feature is cloned only while it is checked, so
/// the layers are not held twice), and returns the registry they make. Problems name the
/// boundary file each layer will be written to.
pub fn check_city(layers: [&Imported; 3], plausible: &Plausible) -> Result<Registry, LoadError> {
    let read = |file: &'static str, sink: &mut dyn FnMut(usize, Value)| {
        if let Some(layer) = layers.iter().find(|l| l.level.file() == file) {
            for (index, feature) in layer.features.iter().enumerate() {
                sink(index, feature.clone());
            }
        }
        Ok::<_, std::convert::Infallible>(Ok(()))
    };
    match load_stream(read, plausible) {
        Ok(checked) => checked,
        Err(never) => match never {},
    }
}
