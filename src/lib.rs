//! shequ (社区): a city's towns/streets, communities and grids as a validated registry with a
//! spatial index, served as lookups and (later) tiles, proposal checks and audits.
//!
//! Data flows one way: files → [`registry`] (validated, immutable snapshot) → [`index`] →
//! lookups → [`output`] (answers as printed) → [`api`] (HTTP) and the CLI. Domain modules know
//! nothing of HTTP.

pub mod accounts;
pub mod address;
pub mod api;
pub mod audit;
pub mod crs;
pub mod formats;
pub mod geometry;
pub mod index;
pub mod message;
pub mod output;
pub mod registry;
pub mod rules;
pub mod snapshot;
pub mod store;
pub mod text;
pub mod tiles;
pub mod workflow;

pub use snapshot::Snapshot;
