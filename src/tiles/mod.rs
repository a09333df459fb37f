//! Mapbox Vector Tiles (spec 2.1) of the registry: towns, communities, grids, label points and
//! audit findings.
//!
//! A [`TileSource`] is built once per snapshot. It cuts every boundary into shared arcs
//! ([`topology`]) and finds once, per arc vertex, the first zoom whose simplification keeps it
//! ([`simplify`]); each tile rebuilds the polygons it shows from those arcs at its zoom, so
//! neighbours stay gap-free, then clips ([`clip`]) and encodes ([`encode`]) its features. [`cache`] keeps rendered tiles keyed by snapshot version. Nothing
//! here knows about HTTP.

pub mod cache;
pub mod clip;
pub mod encode;
mod kept;
pub mod labels;
pub mod layers;
pub mod simplify;
pub mod source;
pub mod style;
pub mod tile_id;
mod tile_index;
pub mod topology;
mod vertices;

pub use cache::{CachedTile, TileCache, TileKey};
pub use layers::{LAYERS, LayerSet, LayerSpec, Render, TileLayer};
pub use source::TileSource;
pub use style::{StyleOptions, catalog, style, tilejson};
pub use tile_id::{EXTENT, MAX_ZOOM, TileId};

/// Why a tile cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("zoom {z} is out of range 0–22")]
    ZoomOutOfRange { z: u32 },
    #[error("tile {z}/{x}/{y} does not exist: x and y must be below {n} at zoom {z}")]
    TileOutOfRange { z: u32, x: u32, y: u32, n: u32 },
    /// The list of layers comes from [`layers::LAYERS`], so the message names every layer there is.
    #[error("unknown layer {name:?}; layers are {}", layers::layer_names())]
    UnknownLayer { name: String },
    #[error("cannot encode tile: {0}")]
    Encode(String),
}
