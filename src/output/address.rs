//! The address answer: register entries matching a free-text address, each with its place.

use serde::Serialize;

use super::place::Place;
use super::place_json::PlaceJson;
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
            score: rounded(m.score),
            point: m.entry.point,
            place: Place::new(&snapshot.registry, m.hit),
        })
        .collect();
    let detail = matches.is_empty().then(|| detail(snapshot, query));
    AddressAnswer { matches, detail }
}

/// A score as answers print it: rounded so exact matches print as 1 and fuzzy ones stay
/// readable.
fn rounded(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

/// Why nothing matched `query`.
fn detail(snapshot: &Snapshot, query: &str) -> String {
    if snapshot.addresses.is_empty() {
        "no address register is loaded".to_owned()
    } else {
        format!("no register entry matches {query:?}")
    }
}

/// Appends the JSON of [`address_answer`] to `out`, each match's town, community and grid
/// copied from `places` (written once per snapshot) rather than serialised again: a batch of
/// 10,000 mistyped addresses writes 14 MB, and serde's flattened, escaped places were a tenth
/// of its time (issue 19). The bytes are exactly serde's (tested below).
pub fn write_address_answer(
    out: &mut Vec<u8>,
    snapshot: &Snapshot,
    places: &PlaceJson,
    query: &str,
    limit: usize,
) -> Result<(), serde_json::Error> {
    let matches = snapshot.addresses.search(query, limit);
    out.extend_from_slice(b"{\"matches\":[");
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"code\":");
        serde_json::to_writer(&mut *out, m.entry.code)?;
        out.extend_from_slice(b",\"address\":");
        serde_json::to_writer(&mut *out, m.entry.address)?;
        out.extend_from_slice(b",\"score\":");
        serde_json::to_writer(&mut *out, &rounded(m.score))?;
        out.extend_from_slice(b",\"point\":");
        serde_json::to_writer(&mut *out, &m.entry.point)?;
        out.push(b',');
        places.write_fields(out, m.hit);
        out.push(b'}');
    }
    out.push(b']');
    if matches.is_empty() {
        out.extend_from_slice(b",\"detail\":");
        serde_json::to_writer(&mut *out, &detail(snapshot, query))?;
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact queries, mistyped ones, roads, ranges, nonsense and text that needs escaping, at
    /// several limits, against serde's JSON of the same answer.
    #[test]
    fn written_answers_are_serdes() {
        let snapshot =
            Snapshot::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries"))
                .unwrap();
        let places = PlaceJson::new(&snapshot.registry);
        let mut queries: Vec<String> = Vec::new();
        for e in snapshot.addresses.entries().iter().step_by(211) {
            queries.push(e.address.to_owned());
            let mut chars: Vec<char> = e.address.chars().collect();
            let digits = chars.iter().position(char::is_ascii_digit).unwrap_or(0);
            if digits >= 3 {
                chars[digits - 3] = '之';
            }
            let half = chars.len() / 2;
            queries.push(chars.iter().collect());
            // A road without its number: the containment path.
            queries.push(e.address.chars().take(half).collect());
        }
        queries.extend(
            [
                "翠乐路",
                "翠乐路1-20号",
                "今天天气很好",
                "\"\\\n\u{1}路",
                "",
                "  ",
            ]
            .map(String::from),
        );
        let mut matched = 0;
        for q in &queries {
            for limit in [1, 5, 20] {
                let answer = address_answer(&snapshot, q, limit);
                matched += answer.matches.len();
                let mut written = Vec::new();
                write_address_answer(&mut written, &snapshot, &places, q, limit).unwrap();
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    serde_json::to_string(&answer).unwrap(),
                    "{q:?} limit {limit}"
                );
            }
        }
        assert!(
            matched > queries.len(),
            "the queries found matches: {matched}"
        );
    }
}
