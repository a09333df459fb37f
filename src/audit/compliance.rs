//! Guideline compliance of the current communities: which are too big, understaffed, short of
//! office space or oddly shaped, and by how much — the list of split candidates.

use super::Context;
use super::finding::{Finding, FindingKind, RuleCheck};
use crate::geometry::measure::{area_m2, perimeter_m};
use crate::registry::Community;
use crate::rules::{Rule, RuleId};

/// A measured value with how to say it.
struct Measure {
    id: RuleId,
    value: f64,
    what: String,
}

fn measures(c: &Community) -> Vec<Measure> {
    let counts = c.counts;
    let mut m = vec![Measure {
        id: RuleId::Households,
        value: counts.households as f64,
        what: format!("{} households", counts.households),
    }];
    if counts.population > 0 {
        let per_10k = c.workers as f64 * 10_000.0 / counts.population as f64;
        m.push(Measure {
            id: RuleId::WorkersPer10kResidents,
            value: per_10k,
            what: format!(
                "{} workers for {} residents = {per_10k:.1} per 10,000",
                c.workers, counts.population
            ),
        });
    }
    if counts.households > 0 {
        let per_100 = c.office_area_m2 * 100.0 / counts.households as f64;
        m.push(Measure {
            id: RuleId::OfficeM2Per100Households,
            value: per_100,
            what: format!(
                "{:.0} m² of office for {} households = {per_100:.1} m² per 100",
                c.office_area_m2, counts.households
            ),
        });
    }
    m.push(Measure {
        id: RuleId::OfficeM2Total,
        value: c.office_area_m2,
        what: format!("{:.0} m² of office and service space", c.office_area_m2),
    });
    if let Some(territory) = &c.territory {
        let (area, perimeter) = (area_m2(territory), perimeter_m(territory));
        if perimeter > 0.0 {
            let pp = 4.0 * std::f64::consts::PI * area / (perimeter * perimeter);
            m.push(Measure {
                id: RuleId::PolsbyPopper,
                value: pp,
                what: format!("Polsby-Popper compactness {pp:.3}"),
            });
        }
    }
    m
}

fn bounds(rule: &Rule) -> String {
    match (rule.min, rule.max) {
        (Some(min), Some(max)) => format!("{min}–{max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any".to_owned(),
    }
}

/// How far off the rule the value is, said the way a reviewer would.
fn advice(c: &Community, id: RuleId, rule: &Rule, value: f64) -> String {
    let counts = c.counts;
    match id {
        RuleId::Households => match rule.max {
            Some(max) if value > max => format!(
                "{:.0} households above the maximum: a split candidate (into about {} communities)",
                value - max,
                (value / max).ceil()
            ),
            _ => "below the minimum: consider merging with a neighbour, or record a justification"
                .to_owned(),
        },
        RuleId::WorkersPer10kResidents => {
            let needed = rule.min.map_or(0.0, |min| {
                (min * counts.population as f64 / 10_000.0).ceil() - c.workers as f64
            });
            format!("understaffed: {needed:.0} more workers needed")
        }
        RuleId::OfficeM2Per100Households | RuleId::OfficeM2Total => {
            let by_households = rule
                .min
                .filter(|_| id == RuleId::OfficeM2Per100Households)
                .map_or(0.0, |min| min * counts.households as f64 / 100.0);
            let total = if id == RuleId::OfficeM2Total {
                rule.min.unwrap_or(0.0)
            } else {
                by_households
            };
            format!(
                "{:.0} m² more office and service space needed",
                (total - c.office_area_m2).max(0.0)
            )
        }
        RuleId::GridHouseholds => "re-draw the grids".to_owned(),
        RuleId::PolsbyPopper => "an elongated or ragged territory: check the boundary".to_owned(),
    }
}

pub(super) fn check(cx: &Context, out: &mut Vec<Finding>) {
    let r = cx.registry;
    for c in &r.communities {
        let town_code = Some(r.towns[c.town].code.clone());
        for m in measures(c) {
            let Some(rule) = cx.guidelines.rule(c.kind, m.id) else {
                continue;
            };
            if rule.passes(m.value) {
                continue;
            }
            out.push(Finding {
                kind: FindingKind::Guideline,
                severity: rule.severity,
                town_code: town_code.clone(),
                codes: vec![c.code.clone()],
                area_m2: None,
                rule: Some(RuleCheck {
                    id: m.id,
                    min: rule.min,
                    max: rule.max,
                    measured: m.value,
                }),
                message: format!(
                    "{} {}: {} (guideline {}: {})",
                    c.code,
                    c.name,
                    m.what,
                    m.id,
                    bounds(&rule)
                ),
                suggestion: advice(c, m.id, &rule, m.value),
                geometry: None,
            });
        }
        // Grid sizes, one finding per community listing the grids outside the range.
        let Some(rule) = cx.guidelines.rule(c.kind, RuleId::GridHouseholds) else {
            continue;
        };
        let off: Vec<String> = c
            .grids
            .iter()
            .map(|&g| &r.grids[g])
            .filter(|g| !rule.passes(g.counts.households as f64))
            .map(|g| format!("{} ({} households)", g.code, g.counts.households))
            .collect();
        if !off.is_empty() {
            out.push(Finding {
                kind: FindingKind::Guideline,
                severity: rule.severity,
                town_code,
                codes: vec![c.code.clone()],
                area_m2: None,
                rule: Some(RuleCheck {
                    id: RuleId::GridHouseholds,
                    min: rule.min,
                    max: rule.max,
                    measured: off.len() as f64,
                }),
                message: format!(
                    "{} {}: {} of {} grids outside {} households: {}",
                    c.code,
                    c.name,
                    off.len(),
                    c.grids.len(),
                    bounds(&rule),
                    off.join(", ")
                ),
                suggestion: advice(c, RuleId::GridHouseholds, &rule, off.len() as f64),
                geometry: None,
            });
        }
    }
}
