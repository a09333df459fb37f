//! The guideline rules, one table: each rule's id, whether it is structural (territory) or
//! measured, and for a measured rule how it is measured, said and advised on. Proposal validation
//! (`validate.rs`) and the audit's compliance check (`audit/compliance.rs`) both walk the
//! measured rules ([`RuleId::measured`]) through [`evaluate`]; neither measures a rule itself.
//!
//! Adding a rule: a [`RuleId`] variant, its row in [`TABLE`] (with its measure), its section in
//! `boundaries/guidelines.toml`, and a test. See ARCHITECTURE.md, "Adding a guideline rule".

use std::fmt;

use serde::{Deserialize, Serialize};

use super::guidelines::Rule;
use crate::registry::Grid;

/// Every rule a proposal or a community is checked against. Serialised as its name
/// (`"households"`, `"contiguous"`, …), which is what reports and findings carry.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    // Measured rules: thresholds and severities in `guidelines.toml`.
    Households,
    #[serde(rename = "workers_per_10k_residents")]
    WorkersPer10kResidents,
    #[serde(rename = "office_m2_per_100_households")]
    OfficeM2Per100Households,
    OfficeM2Total,
    GridHouseholds,
    PolsbyPopper,
    GridsPerCommunity,
    // Territory rules of a proposal part: structural, always `fail`.
    Contiguous,
    InsideOneTown,
    NoOverlapWithOtherCommunities,
    GridsNotCut,
    // Territory rules of a proposal as a whole.
    PartsDoNotOverlap,
    PartsCoverParents,
    PartsWithinParents,
}

/// Whether a rule is measured against configured bounds or is a structural territory rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Checked on the geometry by the validation; always `fail`; not in `guidelines.toml`.
    Territory,
    /// Measured against `[rules.<id>]`. A `required` rule must be in every guidelines file; an
    /// optional one (added after files were written) is not checked where a file leaves it out.
    Measured { required: bool },
}

/// What the measured rules look at: a proposal part (counts estimated from the grids it
/// covers) or an existing community.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub households: f64,
    pub population: f64,
    pub workers: u32,
    pub office_area_m2: f64,
    /// `None` where there is no territory to measure.
    pub polsby_popper: Option<f64>,
    /// The grids it holds whole.
    pub grids: Vec<&'a Grid>,
}

/// Who reads the text: a validation check (short) or an audit finding (about a community).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    Check,
    Finding,
}

/// How a measured rule measures.
#[derive(Clone, Copy)]
pub enum Measure {
    /// The bounds apply to one value of the subject (`None`: not measurable, e.g. a ratio to
    /// zero residents); it is said by `what`.
    Value {
        value: fn(&Subject) -> Option<f64>,
        what: fn(&Subject, f64, Wording) -> String,
    },
    /// The bounds apply to each grid the subject holds; the measured value is how many are
    /// outside them, and the rule passes when none is. `unit` names the grid's value.
    EachGrid {
        value: fn(&Grid) -> f64,
        unit: &'static str,
    },
}

/// One row of the table.
pub struct Spec {
    pub id: RuleId,
    pub name: &'static str,
    pub class: Class,
    /// `None` for territory rules.
    pub measure: Option<Measure>,
    /// What a reviewer should do about a community failing it (given the rule and the value).
    pub advice: fn(&Subject, &Rule, f64) -> String,
}

fn no_advice(_: &Subject, _: &Rule, _: f64) -> String {
    String::new()
}

const MEASURED_REQUIRED: Class = Class::Measured { required: true };

/// The rules, in [`RuleId`] order.
pub const TABLE: [Spec; 14] = [
    Spec {
        id: RuleId::Households,
        name: "households",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::Value {
            value: |s| Some(s.households),
            what: |_, v, _| format!("{v:.0} households"),
        }),
        advice: |_, rule, v| match rule.max {
            Some(max) if v > max => format!(
                "{:.0} households above the maximum: a split candidate (into about {} communities)",
                v - max,
                (v / max).ceil()
            ),
            _ => "below the minimum: consider merging with a neighbour, or record a justification"
                .to_owned(),
        },
    },
    Spec {
        id: RuleId::WorkersPer10kResidents,
        name: "workers_per_10k_residents",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::Value {
            value: |s| (s.population > 0.0).then(|| s.workers as f64 * 10_000.0 / s.population),
            what: |s, v, _| {
                format!(
                    "{} workers for {:.0} residents = {v:.1} per 10,000",
                    s.workers, s.population
                )
            },
        }),
        advice: |s, rule, _| {
            let needed = rule.min.map_or(0.0, |min| {
                (min * s.population / 10_000.0).ceil() - s.workers as f64
            });
            format!("understaffed: {needed:.0} more workers needed")
        },
    },
    Spec {
        id: RuleId::OfficeM2Per100Households,
        name: "office_m2_per_100_households",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::Value {
            value: |s| (s.households > 0.0).then(|| s.office_area_m2 * 100.0 / s.households),
            what: |s, v, wording| match wording {
                Wording::Check => format!("{v:.1} m² of office per 100 households"),
                Wording::Finding => format!(
                    "{:.0} m² of office for {:.0} households = {v:.1} m² per 100",
                    s.office_area_m2, s.households
                ),
            },
        }),
        advice: |s, rule, _| {
            office_needed(s, rule.min.map_or(0.0, |min| min * s.households / 100.0))
        },
    },
    Spec {
        id: RuleId::OfficeM2Total,
        name: "office_m2_total",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::Value {
            value: |s| Some(s.office_area_m2),
            what: |_, v, wording| match wording {
                Wording::Check => format!("{v:.0} m² of office"),
                Wording::Finding => format!("{v:.0} m² of office and service space"),
            },
        }),
        advice: |s, rule, _| office_needed(s, rule.min.unwrap_or(0.0)),
    },
    Spec {
        id: RuleId::GridHouseholds,
        name: "grid_households",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::EachGrid {
            value: |g| g.counts.households as f64,
            unit: "households",
        }),
        advice: |_, _, _| "re-draw the grids".to_owned(),
    },
    Spec {
        id: RuleId::PolsbyPopper,
        name: "polsby_popper",
        class: MEASURED_REQUIRED,
        measure: Some(Measure::Value {
            value: |s| s.polsby_popper,
            what: |_, v, wording| match wording {
                Wording::Check => format!("Polsby-Popper {v:.3}"),
                Wording::Finding => format!("Polsby-Popper compactness {v:.3}"),
            },
        }),
        advice: |_, _, _| "an elongated or ragged territory: check the boundary".to_owned(),
    },
    Spec {
        id: RuleId::GridsPerCommunity,
        name: "grids_per_community",
        class: Class::Measured { required: false },
        measure: Some(Measure::Value {
            value: |s| Some(s.grids.len() as f64),
            what: |_, v, wording| match wording {
                Wording::Check => format!("{v} whole grids"),
                Wording::Finding => format!("{v} grids"),
            },
        }),
        advice: |_, rule, v| match rule.max {
            Some(max) if v > max => format!(
                "{:.0} over the maximum of {max} grids: more than one committee can oversee, a split candidate",
                v - max
            ),
            _ => "too few grids: divide the community into grids".to_owned(),
        },
    },
    territory(RuleId::Contiguous, "contiguous"),
    territory(RuleId::InsideOneTown, "inside_one_town"),
    territory(
        RuleId::NoOverlapWithOtherCommunities,
        "no_overlap_with_other_communities",
    ),
    territory(RuleId::GridsNotCut, "grids_not_cut"),
    territory(RuleId::PartsDoNotOverlap, "parts_do_not_overlap"),
    territory(RuleId::PartsCoverParents, "parts_cover_parents"),
    territory(RuleId::PartsWithinParents, "parts_within_parents"),
];

const fn territory(id: RuleId, name: &'static str) -> Spec {
    Spec {
        id,
        name,
        class: Class::Territory,
        measure: None,
        advice: no_advice,
    }
}

fn office_needed(s: &Subject, total: f64) -> String {
    format!(
        "{:.0} m² more office and service space needed",
        (total - s.office_area_m2).max(0.0)
    )
}

impl RuleId {
    /// Every rule, in table order.
    pub fn all() -> impl Iterator<Item = RuleId> {
        TABLE.iter().map(|s| s.id)
    }

    /// The measured rules, in table order.
    pub fn measured() -> impl Iterator<Item = RuleId> {
        TABLE.iter().filter(|s| s.measure.is_some()).map(|s| s.id)
    }

    pub fn spec(self) -> &'static Spec {
        &TABLE[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Compactness of a territory: Polsby-Popper 4πA/P² (0 for a territory without perimeter).
pub fn polsby_popper(area_m2: f64, perimeter_m: f64) -> f64 {
    if perimeter_m > 0.0 {
        4.0 * std::f64::consts::PI * area_m2 / (perimeter_m * perimeter_m)
    } else {
        0.0
    }
}

/// A measured rule's verdict on a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measured: f64,
    pub passes: bool,
    /// What was measured, said for `wording`.
    pub what: String,
    /// Whether `what` already says the bounds (or the range), so a message needs no
    /// "(guideline …)".
    pub says_bounds: bool,
}

/// Measures `subject` for the measured rule `id` under `rule`; `None` when the rule is a
/// territory rule or the value cannot be measured (a ratio to nothing, no territory).
pub fn evaluate(id: RuleId, rule: &Rule, subject: &Subject, wording: Wording) -> Option<Outcome> {
    match id.spec().measure? {
        Measure::Value { value, what } => {
            let v = value(subject)?;
            Some(Outcome {
                measured: v,
                passes: rule.passes(v),
                what: what(subject, v, wording),
                says_bounds: false,
            })
        }
        Measure::EachGrid { value, unit } => {
            let off: Vec<String> = subject
                .grids
                .iter()
                .filter(|g| !rule.passes(value(g)))
                .map(|g| match wording {
                    Wording::Check => format!("{} ({})", g.code, value(g)),
                    Wording::Finding => format!("{} ({} {unit})", g.code, value(g)),
                })
                .collect();
            let n = subject.grids.len();
            let list = if off.is_empty() {
                String::new()
            } else {
                format!(": {}", off.join(", "))
            };
            let what = match wording {
                Wording::Check => {
                    format!(
                        "{} of {n} whole grids outside the {unit} range{list}",
                        off.len()
                    )
                }
                Wording::Finding => format!(
                    "{} of {n} grids outside {} {unit}{list}",
                    off.len(),
                    bounds(rule, wording)
                ),
            };
            Some(Outcome {
                measured: off.len() as f64,
                passes: off.is_empty(),
                what,
                says_bounds: true,
            })
        }
    }
}

/// The bounds of `rule`: "1000–3000", "≥ 18" in a check; "at least 18" in a finding.
pub fn bounds(rule: &Rule, wording: Wording) -> String {
    let (at_least, at_most) = match wording {
        Wording::Check => ("≥", "≤"),
        Wording::Finding => ("at least", "at most"),
    };
    match (rule.min, rule.max) {
        (Some(min), Some(max)) => format!("{min}–{max}"),
        (Some(min), None) => format!("{at_least} {min}"),
        (None, Some(max)) => format!("{at_most} {max}"),
        (None, None) => "any".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Counts;
    use crate::rules::Severity;

    #[test]
    fn the_table_is_in_rule_order_and_names_are_the_serialised_ids() {
        for (i, spec) in TABLE.iter().enumerate() {
            assert_eq!(spec.id as usize, i, "{} out of order", spec.name);
            let json = serde_json::to_value(spec.id).expect("serialise");
            assert_eq!(json, spec.name);
            assert_eq!(spec.measure.is_some(), spec.class != Class::Territory);
        }
        assert_eq!(format!("[{:<12}]", RuleId::Contiguous), "[contiguous  ]");
        assert!(RuleId::GridsNotCut == "grids_not_cut");
    }

    fn grid(code: &str, households: u64) -> Grid {
        Grid {
            code: code.into(),
            name: code.into(),
            community: 0,
            counts: Counts {
                households,
                ..Counts::default()
            },
            area: geo::MultiPolygon(vec![]).into(),
        }
    }

    #[test]
    fn measured_rules_measure_say_and_advise() {
        let grids = [grid("g1", 50), grid("g2", 300)];
        let subject = Subject {
            households: 4000.0,
            population: 10_000.0,
            workers: 12,
            office_area_m2: 600.0,
            polsby_popper: None,
            grids: grids.iter().collect(),
        };
        let band = |min, max| Rule {
            min,
            max,
            severity: Severity::Fail,
        };
        let households = band(Some(1000.0), Some(3000.0));
        let o = evaluate(RuleId::Households, &households, &subject, Wording::Check).expect("o");
        assert_eq!((o.measured, o.passes), (4000.0, false));
        assert_eq!(o.what, "4000 households");
        let advice = (RuleId::Households.spec().advice)(&subject, &households, o.measured);
        assert!(advice.contains("into about 2 communities"), "{advice}");
        let workers = band(Some(18.0), None);
        let o = evaluate(
            RuleId::WorkersPer10kResidents,
            &workers,
            &subject,
            Wording::Finding,
        );
        assert_eq!(o.map(|o| o.measured), Some(12.0));
        let advice = (RuleId::WorkersPer10kResidents.spec().advice)(&subject, &workers, 12.0);
        assert_eq!(advice, "understaffed: 6 more workers needed");
        // Not measurable: no territory.
        let pp = band(Some(0.15), None);
        assert_eq!(
            evaluate(RuleId::PolsbyPopper, &pp, &subject, Wording::Check),
            None
        );
        assert_eq!(
            evaluate(RuleId::Contiguous, &pp, &subject, Wording::Check),
            None
        );
        // Per grid: how many grids are outside.
        let sizes = band(Some(100.0), Some(500.0));
        let o = evaluate(RuleId::GridHouseholds, &sizes, &subject, Wording::Finding).expect("o");
        assert_eq!((o.measured, o.passes, o.says_bounds), (1.0, false, true));
        assert_eq!(
            o.what,
            "1 of 2 grids outside 100–500 households: g1 (50 households)"
        );
        assert_eq!(bounds(&workers, Wording::Check), "≥ 18");
        assert_eq!(bounds(&workers, Wording::Finding), "at least 18");
        assert_eq!(polsby_popper(1.0, 0.0), 0.0);
    }

    #[test]
    fn grids_per_community_counts_the_grids_held_whole() {
        let grids: Vec<Grid> = (0..31).map(|i| grid(&format!("g{i}"), 300)).collect();
        let subject = |n: usize| Subject {
            households: 300.0 * n as f64,
            population: 0.0,
            workers: 0,
            office_area_m2: 0.0,
            polsby_popper: None,
            grids: grids.iter().take(n).collect(),
        };
        let rule = Rule {
            min: None,
            max: Some(30.0),
            severity: Severity::Warn,
        };
        let id = RuleId::GridsPerCommunity;
        let at = |n| evaluate(id, &rule, &subject(n), Wording::Finding).expect("measured");
        assert_eq!((at(30).measured, at(30).passes), (30.0, true));
        let over = at(31);
        assert_eq!((over.measured, over.passes), (31.0, false));
        assert_eq!(over.what, "31 grids");
        let check = evaluate(id, &rule, &subject(2), Wording::Check).expect("measured");
        assert_eq!(check.what, "2 whole grids");
        let advice = (id.spec().advice)(&subject(31), &rule, 31.0);
        assert!(
            advice.starts_with("1 over the maximum of 30 grids"),
            "{advice}"
        );
        // Optional: a guidelines file without it still loads, and does not check it.
        assert_eq!(id.spec().class, Class::Measured { required: false });
    }
}
