//! Caps on how much work one request may ask for. The body limit bounds bytes, but not what the
//! bytes make the server do: 2 MB of JSON holds 40,000 ring vertices or 4,000 tiny parts. These
//! caps are checked before any heavy work starts, so an oversized request costs one pass over
//! its JSON and gets a 413 naming the cap, the value sent and the serve flag that sets it.

use axum::http::StatusCode;
use serde_json::Value;

use super::error::ApiError;
use crate::geometry::crossings::{Axis, AxisCrossing, densest_axis_line};

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
    /// Edges of one part's boundary, or of a split line, that one vertical or horizontal line
    /// may cross (`--max-line-crossings`): bounds the overlay's cost on comb-like boundaries
    /// (see [`crate::geometry::crossings`]).
    pub line_crossings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proposal_vertices: 20_000,
            proposal_parts: 200,
            line_points: 1_000,
            address_matches: 100_000,
            line_crossings: 256,
        }
    }
}

/// 413 naming the cap, what was sent and the flag.
fn over(what: &str, sent: usize, limit: usize, flag: &str) -> ApiError {
    let code = match flag {
        "max-proposal-parts" => "limits.proposal_parts",
        "max-proposal-vertices" => "limits.proposal_vertices",
        "max-line-points" => "limits.line_points",
        _ => "too-large",
    };
    ApiError::too_large(format!("{what} {sent}; the limit is {limit} (--{flag})"))
        .with_code(code, Default::default())
        .param("sent", sent)
        .param("limit", limit)
}

/// 422 naming the densest line, the cap and the flag.
fn too_convoluted(what: &str, c: AxisCrossing, limit: usize) -> ApiError {
    let line = match c.axis {
        Axis::Vertical => format!("the line of longitude {:.6}", c.at),
        Axis::Horizontal => format!("the line of latitude {:.6}", c.at),
    };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "too-convoluted",
        format!(
            "{what} is too convoluted to check: {line} crosses it {} times; the limit is {limit} \
             (--max-line-crossings)",
            c.count
        ),
    )
    .with_code("limits.too_convoluted", Default::default())
    .param("crossings", c.count)
    .param("limit", limit)
}

/// The position lists (rings, lines) in a GeoJSON `coordinates` value, as numbers; positions
/// that are not two numbers are left out (the parser reports them).
fn paths(coordinates: &Value, out: &mut Vec<Vec<[f64; 2]>>) {
    let Some(items) = coordinates.as_array() else {
        return;
    };
    if items.first().is_some_and(Value::is_array)
        && items[0]
            .as_array()
            .and_then(|p| p.first())
            .is_some_and(Value::is_number)
    {
        out.push(
            items
                .iter()
                .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
                .collect(),
        );
    } else {
        for item in items {
            paths(item, out);
        }
    }
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
        for (i, feature) in features.iter().enumerate() {
            let mut rings = Vec::new();
            if let Some(coordinates) = feature.get("geometry").and_then(|g| g.get("coordinates")) {
                paths(coordinates, &mut rings);
            }
            if let Some(c) = densest_axis_line(rings.iter().map(Vec::as_slice))
                && c.count > self.line_crossings
            {
                let what = format!("the boundary of part {} (features[{i}])", i + 1);
                return Err(too_convoluted(&what, c, self.line_crossings));
            }
        }
        Ok(())
    }

    /// Checks a split line's length, and how convoluted it is.
    pub fn check_line(&self, line: &[[f64; 2]]) -> Result<(), ApiError> {
        if line.len() > self.line_points {
            return Err(over(
                "the split line has too many positions:",
                line.len(),
                self.line_points,
                "max-line-points",
            ));
        }
        match densest_axis_line([line]) {
            Some(c) if c.count > self.line_crossings => {
                Err(too_convoluted("the split line", c, self.line_crossings))
            }
            _ => Ok(()),
        }
    }

    /// Checks the matches an address request may produce (queries × limit).
    pub fn check_address(&self, queries: usize, limit: usize) -> Result<(), ApiError> {
        let asked = queries.saturating_mul(limit);
        if asked > self.address_matches {
            return Err(ApiError::too_large(format!(
                "{queries} queries × limit {limit} ask for up to {asked} matches; the limit is {} \
                 (--max-address-matches): send fewer queries or a smaller `limit`",
                self.address_matches
            ))
            .with_code("limits.address_matches", Default::default())
            .param("sent", asked)
            .param("limit", self.address_matches));
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

    #[test]
    fn combs_are_refused_naming_the_part_and_the_line() {
        let limits = Limits {
            line_crossings: 4,
            ..Limits::default()
        };
        // Square, then a comb of three teeth (six edges across x = 5) as the second part.
        let comb = json!([[
            [0, 0],
            [10, 1],
            [1, 2],
            [10, 3],
            [1, 4],
            [10, 5],
            [1, 6],
            [-1, 7],
            [0, 0]
        ]]);
        let square = json!([[[0, 0], [1, 0], [1, 1], [0, 0]]]);
        let p = json!({"features": [
            {"geometry": {"type": "Polygon", "coordinates": square}},
            {"geometry": {"type": "Polygon", "coordinates": comb}}
        ]});
        let e = limits.check_proposal(&p).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.slug, "too-convoluted");
        assert!(e.detail.contains("part 2 (features[1])"), "{}", e.detail);
        assert!(
            e.detail
                .contains("line of longitude 1.000000 crosses it 6 times"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("--max-line-crossings"), "{}", e.detail);
        // At the cap it passes.
        let relaxed = Limits {
            line_crossings: 6,
            ..limits
        };
        assert!(relaxed.check_proposal(&p).is_ok());

        let zigzag: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, (i % 2) as f64]).collect();
        let e = limits.check_line(&zigzag).unwrap_err();
        assert!(
            e.detail.starts_with("the split line is too convoluted"),
            "{}",
            e.detail
        );
        assert!(limits.check_line(&zigzag[..4]).is_ok());
    }
}
