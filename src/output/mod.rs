//! Answers as the API and the CLI both print them: pure serialisable views of the registry (no
//! HTTP, no SQL), one file per concept. `api/` wraps them in responses, `shequ`'s commands print
//! them.
//!
//! - [`place`]: where a point is (town, community, grid) — the lookup answer;
//! - [`place_json`]: the same answer written from pieces serialised once per snapshot;
//! - [`address`]: address register matches — the address answer;
//! - [`geojson`]: registry features, feature collections and audit findings as GeoJSON;
//! - [`select`]: which records a bounding box and parent filters keep;
//! - [`page`]: a page of such features with its counts and links.

pub mod address;
pub mod geojson;
pub mod page;
pub mod place;
pub mod place_json;
pub mod select;

pub use address::{AddressAnswer, AddressMatch, address_answer, write_address_answer};
pub use place::{Place, PointPlace};
pub use place_json::PlaceJson;
