//! The address answer: register entries matching a free-text address, each with its place.

use serde::Serialize;

use super::place::Place;
use crate::Snapshot;

/// One match as the API and the CLI print it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AddressMatch<'a> {
    pub code: &'a str,
    pub address: &'a str,
    /// 1 for an exact match (after normalisation), below 1 for a fuzzy one.
    pub score: f64,
    /// WGS84 `[lon, lat]` of the entry.
    pub point: [f64; 2],
    #[serde(flatten)]
    pub place: Place<'a>,
}

/// The answer to one query; `matches` is empty and `detail` says so when nothing matched.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AddressAnswer<'a> {
    pub matches: Vec<AddressMatch<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Searches the register of `snapshot` for `query`, at most `limit` matches.
pub fn address_answer<'a>(snapshot: &'a Snapshot, query: &str, limit: usize) -> AddressAnswer<'a> {
    let matches: Vec<AddressMatch> = snapshot
        .addresses
        .search(query, limit)
        .into_iter()
        .map(|m| AddressMatch {
            code: m.entry.code,
            address: m.entry.address,
            // Rounded so exact matches print as 1 and fuzzy ones stay readable.
            score: (m.score * 1000.0).round() / 1000.0,
            point: m.entry.point,
            place: Place::new(&snapshot.registry, m.hit),
        })
        .collect();
    let detail = matches.is_empty().then(|| {
        if snapshot.addresses.is_empty() {
            "no address register is loaded".to_owned()
        } else {
            format!("no register entry matches {query:?}")
        }
    });
    AddressAnswer { matches, detail }
}
