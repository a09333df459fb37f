//! Caps on how much work one request may ask for. The body limit bounds bytes, but not what the
//! bytes make the server do: 2 MB of JSON holds 40,000 ring vertices or 4,000 tiny parts. These
//! caps are checked before any heavy work starts, so an oversized request costs one pass over
//! its JSON and gets a 413 naming the cap, the value sent and the serve flag that sets it.

use serde_json::Value;

use super::error::ApiError;

/// The caps (serve flags of the same names set them; the defaults are generous for real
/// boundaries: the sample city's largest town ring has ~2,000 positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Ring positions in all parts of one proposal (`--max-proposal-vertices`).
    pub proposal_vertices: usize,
    /// Parts (features) in one proposal (`--max-proposal-parts`).
    pub proposal_parts: usize,
    /// Positions of a split line (`--max-line-points`).
    pub line_points: usize,
    /// Matches one address request may ask for: queries × `limit` (`--max-address-matches`).
    pub address_matches: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proposal_vertices: 20_000,
            proposal_parts: 200,
            line_points: 1_000,
            address_matches: 100_000,
        }
    }
}

/// 413 naming the cap, what was sent and the flag.
fn over(what: &str, sent: usize, limit: usize, flag: &str) -> ApiError {
    ApiError::too_large(format!("{what} {sent}; the limit is {limit} (--{flag})"))
}

/// Positions in a GeoJSON `coordinates` value (a position is an array whose first item is a
/// number); anything else counts nothing, for the parser to report.
fn positions(coordinates: &Value) -> usize {
    match coordinates.as_array() {
        Some(items) if items.first().is_some_and(Value::is_number) => 1,
        Some(items) => items.iter().map(positions).sum(),
        None => 0,
    }
}

impl Limits {
    /// Checks a proposal (GeoJSON FeatureCollection) against the part and vertex caps.
    pub fn check_proposal(&self, proposal: &Value) -> Result<(), ApiError> {
        let Some(features) = proposal.get("features").and_then(Value::as_array) else {
            return Ok(());
        };
        if features.len() > self.proposal_parts {
            return Err(over(
                "proposal has too many parts:",
                features.len(),
                self.proposal_parts,
                "max-proposal-parts",
            ));
        }
        let vertices: usize = features
            .iter()
            .filter_map(|f| f.get("geometry")?.get("coordinates"))
            .map(positions)
            .sum();
        if vertices > self.proposal_vertices {
            return Err(over(
                "proposal has too many ring positions (vertices):",
                vertices,
                self.proposal_vertices,
                "max-proposal-vertices",
            ));
        }
        Ok(())
    }

    /// Checks a split line's length.
    pub fn check_line(&self, points: usize) -> Result<(), ApiError> {
        if points > self.line_points {
            return Err(over(
                "the split line has too many positions:",
                points,
                self.line_points,
                "max-line-points",
            ));
        }
        Ok(())
    }

    /// Checks the matches an address request may produce (queries × limit).
    pub fn check_address(&self, queries: usize, limit: usize) -> Result<(), ApiError> {
        let asked = queries.saturating_mul(limit);
        if asked > self.address_matches {
            return Err(ApiError::too_large(format!(
                "{queries} queries × limit {limit} ask for up to {asked} matches; the limit is {} \
                 (--max-address-matches): send fewer queries or a smaller `limit`",
                self.address_matches
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positions_are_counted_at_any_depth() {
        assert_eq!(positions(&json!([1.0, 2.0])), 1);
        assert_eq!(positions(&json!([[[0, 0], [1, 0], [1, 1], [0, 0]]])), 4);
        assert_eq!(
            positions(&json!([
                [[[0, 0], [1, 0], [0, 0]]],
                [[[5, 5], [6, 5], [5, 5]]]
            ])),
            6
        );
        assert_eq!(positions(&json!("nonsense")), 0);
    }

    #[test]
    fn messages_name_the_cap_and_the_value() {
        let limits = Limits {
            proposal_vertices: 3,
            ..Limits::default()
        };
        let p = json!({"features": [{"geometry": {"coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]});
        let e = limits.check_proposal(&p).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            e.detail,
            "proposal has too many ring positions (vertices): 4; the limit is 3 \
             (--max-proposal-vertices)"
        );
    }
}
