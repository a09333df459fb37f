//! 按网格取整: drawn split lines turned into groups of whole grids. The lines cut the community's
//! territory into pieces; each grid goes to the piece holding the largest share of its area —
//! the rule approval uses to hand grids to parts (`apply::largest_share`, a grid goes to the part
//! holding at least half of it). Pieces that get no grid are dropped.

use geo::{BooleanOps, MultiPolygon};

use super::Proposal;
use super::apply::largest_share;
use super::split::{SplitError, left_side, territory};
use crate::geometry::measure::area_m2;
use crate::message::Message;
use crate::registry::Registry;

/// Grids grouped by the pieces the lines cut: `groups[i]` holds grid codes; `shares[i][k]` the
/// share of `groups[i][k]`'s area inside its piece (below 0.5: approval of the drawn parts
/// would refuse that grid, the grouping settles it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct GridGroups {
    pub community: String,
    pub groups: Vec<Vec<String>>,
    pub shares: Vec<Vec<f64>>,
}

/// The most lines one request may draw (2^lines pieces at most are intersected per grid).
pub const MAX_LINES: usize = 12;

/// Groups the grids of `community` by the pieces `lines` cut it into (each line crosses it:
/// both ends outside).
pub fn grid_groups_by_lines(
    registry: &Registry,
    community: &str,
    lines: &[Vec<[f64; 2]>],
) -> Result<GridGroups, SplitError> {
    let (c, whole) = territory(registry, community)?;
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(SplitError::BadGroups(
            Message::new("split.line_count", format!("give 1 to {MAX_LINES} lines"))
                .with("max", MAX_LINES),
        ));
    }
    let mut pieces: Vec<MultiPolygon<f64>> = vec![whole.clone()];
    for (i, line) in lines.iter().enumerate() {
        if line.len() < 2 || line.iter().any(|p| !p[0].is_finite() || !p[1].is_finite()) {
            return Err(SplitError::BadLine);
        }
        let left = left_side(whole, line).map_err(|e| match e {
            SplitError::LineDoesNotCross { why, .. } => SplitError::LineDoesNotCross {
                line: Some(i + 1),
                why,
            },
            other => other,
        })?;
        pieces = pieces
            .iter()
            .flat_map(|p| [p.intersection(&left), p.difference(&left)])
            .filter(|p| area_m2(p) >= 1.0)
            .collect();
    }
    let mut groups: Vec<Vec<(String, f64)>> = vec![Vec::new(); pieces.len()];
    for &g in &registry.communities[c].grids {
        let grid = &registry.grids[g];
        let (best, s) = largest_share(&grid.area, pieces.iter());
        if let Some(group) = groups.get_mut(best) {
            group.push((grid.code.clone(), s));
        }
    }
    groups.retain(|g| !g.is_empty());
    if groups.len() < 2 {
        return Err(super::split::not_crossing(
            super::split::Crossing::WholeGrids,
        ));
    }
    Ok(GridGroups {
        community: registry.communities[c].code.clone(),
        shares: groups
            .iter()
            .map(|g| g.iter().map(|(_, s)| (s * 1e4).round() / 1e4).collect())
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| g.into_iter().map(|(code, _)| code).collect())
            .collect(),
    })
}

/// Where one grid of a parent goes on approval: the part holding the largest share of its area
/// (`part` is `None` when no part holds half of it: approval refuses a split, a `new` proposal
/// leaves the grid with its parent).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct GridShare {
    pub grid: String,
    pub name: String,
    pub parent: String,
    pub households: u64,
    pub residents: u64,
    pub part: Option<usize>,
    pub share: f64,
}

/// The grid assignment approval makes for `proposal` (the same rule as `apply::plan`).
pub fn grid_assignment(proposal: &Proposal, registry: &Registry) -> Vec<GridShare> {
    let mut out = Vec::new();
    for &p in &proposal.parents {
        let parent = &registry.communities[p];
        for &g in &parent.grids {
            let grid = &registry.grids[g];
            let (best, s) = largest_share(&grid.area, proposal.parts.iter().map(|p| &p.area));
            out.push(GridShare {
                grid: grid.code.clone(),
                name: grid.name.clone(),
                parent: parent.code.clone(),
                households: grid.counts.households,
                residents: grid.counts.population,
                part: (s >= 0.5).then_some(best),
                share: (s * 1e4).round() / 1e4,
            });
        }
    }
    out
}
