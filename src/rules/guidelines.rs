//! `guidelines.toml`: rule thresholds, severities, per-kind overrides and audit tolerances.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

// `RuleId` was defined here before the rule table; `rules::suggest` still names it here.
use super::catalogue::Class;
pub(super) use super::catalogue::RuleId;
use crate::registry::{CommunityKind, Plausible};

/// The guidelines shipped with the sample city; the defaults when a data directory has none.
const SHIPPED: &str = include_str!("../../boundaries/guidelines.toml");

/// How a failed rule counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown only.
    Warn,
    /// Fails unless a written justification is given.
    Exception,
    /// Blocks submission.
    Fail,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Exception => "exception",
            Severity::Fail => "fail",
        }
    }
}

/// A measured value must lie in `[min, max]`; outside, the rule fails with `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    pub severity: Severity,
}

impl Rule {
    /// Whether `value` meets the rule.
    pub fn passes(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// A per-kind change to a rule; absent fields keep the default.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleOverride {
    min: Option<f64>,
    max: Option<f64>,
    severity: Option<Severity>,
}

/// Tolerances of the coverage audit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTolerances {
    pub overlap_tolerance_m2: f64,
    pub gap_tolerance_m2: f64,
    pub sliver_max_area_m2: f64,
    pub sliver_max_width_m: f64,
    /// A vertex this close (metres) to another feature's edge is a T-junction: noding inserts it
    /// into that edge when a snapshot is built (`Registry::node`). Files written before it get
    /// the default, 5 mm.
    #[serde(default = "default_node_tolerance_m")]
    pub node_tolerance_m: f64,
}

/// 5 mm: survey noise, well below any real gap between neighbours.
fn default_node_tolerance_m() -> f64 {
    0.005
}

impl AuditTolerances {
    /// The area (m²) below which an overlap, gap or part outside is noise to every check alike:
    /// the audit, proposal validation, jurisdiction and the approval gate.
    pub fn area_m2(&self) -> f64 {
        self.overlap_tolerance_m2.max(self.gap_tolerance_m2)
    }
}

/// Which residents' votes a proposal needs (民主表决): more than `pass_share` of the votes cast
/// (or of the eligible voters) in favour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteRule {
    pub pass_share: f64,
    pub base: VoteBase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteBase {
    /// Share of the votes cast (for + against + abstain).
    Cast,
    /// Share of everyone entitled to vote (the tally must give `eligible`).
    Eligible,
}

impl Default for VoteRule {
    /// More than half of the votes cast.
    fn default() -> Self {
        VoteRule {
            pass_share: 0.5,
            base: VoteBase::Cast,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    audit: AuditTolerances,
    #[serde(default)]
    vote: VoteRule,
    #[serde(default)]
    plausible: Plausible,
    rules: BTreeMap<RuleId, Rule>,
    #[serde(default)]
    kinds: BTreeMap<CommunityKind, BTreeMap<RuleId, RuleOverride>>,
}

/// The loaded, checked guidelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Guidelines {
    pub audit: AuditTolerances,
    pub vote: VoteRule,
    /// The largest counts and areas boundary data and proposals may give.
    pub plausible: Plausible,
    rules: BTreeMap<(CommunityKind, RuleId), Rule>,
}

/// Why a guidelines file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct GuidelinesError {
    pub file: String,
    pub message: String,
}

impl Default for Guidelines {
    fn default() -> Self {
        // The shipped file is checked by a test, so this cannot fail in a released build; fall
        // back to a permissive set rather than panic if it ever did.
        Guidelines::parse(SHIPPED, "guidelines.toml").unwrap_or_else(|_| Guidelines {
            audit: AuditTolerances {
                overlap_tolerance_m2: 1.0,
                gap_tolerance_m2: 1.0,
                sliver_max_area_m2: 0.0,
                sliver_max_width_m: 0.0,
                node_tolerance_m: default_node_tolerance_m(),
            },
            vote: VoteRule::default(),
            plausible: Plausible::default(),
            rules: BTreeMap::new(),
        })
    }
}

/// Checks the audit tolerances and the vote rule of a guidelines file.
fn check_tolerances(parsed: &File) -> Result<(), String> {
    let a = parsed.audit;
    for (name, value) in [
        ("audit.overlap_tolerance_m2", a.overlap_tolerance_m2),
        ("audit.gap_tolerance_m2", a.gap_tolerance_m2),
        ("audit.sliver_max_area_m2", a.sliver_max_area_m2),
        ("audit.sliver_max_width_m", a.sliver_max_width_m),
        ("audit.node_tolerance_m", a.node_tolerance_m),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!("{name} = {value}: must be a non-negative number"));
        }
    }
    if a.node_tolerance_m > 1.0 {
        return Err(format!(
            "audit.node_tolerance_m = {}: at most 1 m (it is survey noise; larger gaps are findings, not junctions)",
            a.node_tolerance_m
        ));
    }
    let v = parsed.vote;
    if !(0.0..1.0).contains(&v.pass_share) {
        return Err(format!(
            "vote.pass_share = {}: must be at least 0 and below 1 (a share of the votes that must be exceeded)",
            v.pass_share
        ));
    }
    parsed.plausible.check()
}

/// Rule `id` for communities of `kind`: the base rule with the kind's override, checked.
fn resolve(kind: CommunityKind, id: RuleId, base: Rule, o: RuleOverride) -> Result<Rule, String> {
    let rule = Rule {
        min: o.min.or(base.min),
        max: o.max.or(base.max),
        severity: o.severity.unwrap_or(base.severity),
    };
    let name = if o.min.is_some() || o.max.is_some() || o.severity.is_some() {
        format!("kinds.{}.{id}", kind.as_str())
    } else {
        format!("rules.{id}")
    };
    for (bound, value) in [("min", rule.min), ("max", rule.max)] {
        if value.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
            return Err(format!("{name}.{bound}: must be a non-negative number"));
        }
    }
    if let (Some(min), Some(max)) = (rule.min, rule.max)
        && min > max
    {
        return Err(format!("{name}: min {min} is above max {max}"));
    }
    if rule.min.is_none() && rule.max.is_none() {
        return Err(format!("{name}: needs a min or a max"));
    }
    Ok(rule)
}

impl Guidelines {
    /// Loads `dir/guidelines.toml`, or the shipped defaults when the directory has none.
    pub fn load_dir(dir: &Path) -> Result<Self, GuidelinesError> {
        let path = dir.join("guidelines.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(GuidelinesError {
                file: path.display().to_string(),
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses and checks a guidelines file; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, GuidelinesError> {
        let error = |message: String| GuidelinesError {
            file: file.to_owned(),
            message,
        };
        let parsed: File =
            toml::from_str(text).map_err(|e| error(e.to_string().trim().to_owned()))?;
        check_tolerances(&parsed).map_err(error)?;
        let class = |id: RuleId| id.spec().class;
        if let Some(missing) = RuleId::all().find(|&r| {
            class(r) == Class::Measured { required: true } && !parsed.rules.contains_key(&r)
        }) {
            return Err(error(format!("[rules.{missing}] is missing")));
        }
        let configured = parsed
            .rules
            .keys()
            .chain(parsed.kinds.values().flat_map(|k| k.keys()));
        if let Some(structural) = configured.copied().find(|&r| class(r) == Class::Territory) {
            return Err(error(format!(
                "{structural}: a territory rule is always checked and always fails; it has no bounds to configure"
            )));
        }
        let mut rules = BTreeMap::new();
        for kind in CommunityKind::ALL {
            for (&id, &base) in &parsed.rules {
                let o = parsed
                    .kinds
                    .get(&kind)
                    .and_then(|k| k.get(&id))
                    .copied()
                    .unwrap_or_default();
                rules.insert((kind, id), resolve(kind, id, base, o).map_err(error)?);
            }
        }
        Ok(Guidelines {
            audit: parsed.audit,
            vote: parsed.vote,
            plausible: parsed.plausible,
            rules,
        })
    }

    /// The rule `id` as it applies to communities of `kind`.
    pub fn rule(&self, kind: CommunityKind, id: RuleId) -> Option<Rule> {
        self.rules.get(&(kind, id)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_guidelines_parse_with_overrides() {
        let g = Guidelines::parse(SHIPPED, "guidelines.toml").expect("shipped file is valid");
        let households = g
            .rule(CommunityKind::Community, RuleId::Households)
            .expect("rule");
        assert_eq!(
            (households.min, households.max, households.severity),
            (Some(1000.0), Some(3000.0), Severity::Exception)
        );
        let village = g
            .rule(CommunityKind::Village, RuleId::Households)
            .expect("rule");
        assert_eq!(
            (village.max, village.severity),
            (Some(3000.0), Severity::Warn)
        );
        let converted = g
            .rule(CommunityKind::VillageConverted, RuleId::Households)
            .expect("rule");
        assert_eq!(
            (converted.max, converted.severity),
            (Some(5000.0), Severity::Exception)
        );
        assert_eq!(g, Guidelines::default());
    }

    #[test]
    fn bad_values_are_named() {
        let bad = SHIPPED.replace("max = 3000", "max = 300");
        let e = Guidelines::parse(&bad, "g.toml").expect_err("min above max");
        assert_eq!(
            e.to_string(),
            "g.toml: rules.households: min 1000 is above max 300"
        );
        let bad = SHIPPED.replace("gap_tolerance_m2 = 1.0", "gap_tolerance_m2 = -1.0");
        let e = Guidelines::parse(&bad, "g.toml").expect_err("negative");
        assert!(
            e.to_string()
                .contains("audit.gap_tolerance_m2 = -1: must be a non-negative number"),
            "{e}"
        );
        let bad = SHIPPED.replace("severity = \"warn\"", "severity = \"maybe\"");
        let e = Guidelines::parse(&bad, "g.toml").expect_err("unknown severity");
        assert!(e.to_string().contains("unknown variant `maybe`"), "{e}");
        let bad = SHIPPED.replace("[rules.polsby_popper]", "[rules.roundness]");
        let e = Guidelines::parse(&bad, "g.toml").expect_err("unknown rule");
        assert!(e.to_string().contains("roundness"), "{e}");
        let bad = format!("{SHIPPED}\n[rules.contiguous]\nmin = 1\nseverity = \"warn\"\n");
        let e = Guidelines::parse(&bad, "g.toml").expect_err("territory rule configured");
        assert!(
            e.to_string().contains("contiguous: a territory rule"),
            "{e}"
        );
    }
}
