//! One thing wrong (or worth knowing) about the city's boundary data.

use geo::MultiPolygon;
use serde::Serialize;

use crate::rules::{RuleId, Severity};

/// What kind of problem a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Two communities claim the same land.
    CommunityOverlap,
    /// Land of a town that no community of the town covers.
    UnassignedLand,
    /// Unassigned land too small or too thin to be real: a digitising error to snap away.
    Sliver,
    /// A community with no defined territory (无明确管辖地域).
    NoTerritory,
    /// Part of a community lies outside its town.
    OutsideTown,
    /// Part of a grid lies in no community.
    GridOutsideCommunity,
    /// A grid reaches into another community.
    GridStraddling,
    /// Two grids of one community overlap.
    GridOverlap,
    /// Land of a community that none of its grids covers.
    GridGap,
    /// A community fails a measured guideline (size, staffing, office space, shape).
    Guideline,
}

impl FindingKind {
    /// Whether the finding says the boundary data is wrong (overlaps, gaps, parts outside,
    /// grids not tiling), as opposed to a fact about the city: a community without territory,
    /// or one that misses the guidelines. Readers of an audit need the two apart: the first is
    /// fixed in the data, the second by the city (a split, staff, a justified exception).
    pub fn is_data_defect(self) -> bool {
        !matches!(self, FindingKind::NoTerritory | FindingKind::Guideline)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::CommunityOverlap => "community_overlap",
            FindingKind::UnassignedLand => "unassigned_land",
            FindingKind::Sliver => "sliver",
            FindingKind::NoTerritory => "no_territory",
            FindingKind::OutsideTown => "outside_town",
            FindingKind::GridOutsideCommunity => "grid_outside_community",
            FindingKind::GridStraddling => "grid_straddling",
            FindingKind::GridOverlap => "grid_overlap",
            FindingKind::GridGap => "grid_gap",
            FindingKind::Guideline => "guideline",
        }
    }
}

/// A finding: kind, severity, the codes involved (first the one it is about), where, how big,
/// and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The town it is in, for grouping.
    pub town_code: Option<String>,
    pub codes: Vec<String>,
    /// Geodesic area of the offending geometry.
    pub area_m2: Option<f64>,
    /// For guideline findings: the rule, its bounds and the measured value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleCheck>,
    pub message: String,
    pub suggestion: String,
    #[serde(skip)]
    pub geometry: Option<MultiPolygon<f64>>,
}

/// A guideline's verdict on one community.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RuleCheck {
    pub id: RuleId,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub measured: f64,
}

impl Finding {
    /// Whether the finding should fail a data check: `fail`, and `exception` findings (existing
    /// communities carry no written justification).
    pub fn is_failing(&self) -> bool {
        matches!(self.severity, Severity::Fail | Severity::Exception)
    }
}
