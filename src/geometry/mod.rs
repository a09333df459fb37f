//! Planar geometry helpers shared by the registry, the index and (later) rules and audit.
//!
//! Coordinates are WGS84 longitude/latitude in degrees (CGCS2000 is treated as equal). The helpers
//! here are exact-enough planar predicates: lookups and validity only need consistent, deterministic
//! answers, not metric measures (geodesic areas come from `geo`).

pub mod measure;
pub mod point_in_polygon;
pub mod validity;

pub use point_in_polygon::Rings;
pub use validity::{RingProblem, check_polygon_rings};
