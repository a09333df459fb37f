//! The registry: towns/streets, communities and grids as one validated, immutable snapshot.
//!
//! Everything downstream (index, lookups, tiles, rules, audit) reads a `Registry`; nothing mutates
//! one. A change builds a new snapshot, so readers never see half a change.

mod change;
mod code_index;
mod feature;
pub(crate) mod feature_stream;
mod level;
mod load;
mod model;
mod noded;
mod plausible;
mod problem;
#[cfg(test)]
pub(crate) mod test_city;

pub use change::{Edit, Touched};
pub use feature::{Coords, Feature, Geometry, Member};
pub use level::{Level, UnknownLevel, town_code};
pub use load::{
    FILES, LayerReader, RowReader, load_dir, load_features, load_parsed, load_rows, load_stream,
    parse_area,
};
pub use model::{Area, Community, CommunityKind, Counts, Grid, Registry, Town};
pub use noded::Noding;
pub use plausible::Plausible;
pub use problem::{LoadError, Problem};
