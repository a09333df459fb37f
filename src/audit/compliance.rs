//! Guideline compliance of the current communities: which are too big, understaffed, short of
//! office space or oddly shaped, and by how much — the list of split candidates. The rules, how
//! they are measured and the advice come from the rule table ([`crate::rules::catalogue`]).

use super::Context;
use super::finding::{Finding, FindingKind, RuleCheck};
use crate::geometry::measure::{area_m2, perimeter_m};
use crate::registry::{Community, Registry};
use crate::rules::RuleId;
use crate::rules::catalogue::{self, Subject, Wording};

/// What the rules measure of an existing community: its counts, staff, office, shape and grids.
fn subject<'a>(c: &Community, registry: &'a Registry) -> Subject<'a> {
    let polsby_popper = c.territory.as_deref().and_then(|t| {
        let perimeter = perimeter_m(t);
        (perimeter > 0.0).then(|| catalogue::polsby_popper(area_m2(t), perimeter))
    });
    Subject {
        households: c.counts.households as f64,
        population: c.counts.population as f64,
        workers: c.workers,
        office_area_m2: c.office_area_m2,
        polsby_popper,
        grids: c.grids.iter().map(|&g| &registry.grids[g]).collect(),
    }
}

/// The guideline findings of the communities (by index) `which` selects: each reads only the
/// community, its grids and the guidelines, so an audit after a change finds them again only
/// for the communities the change reached (measuring every community's shape was a quarter of
/// an approval's audit at ×100).
pub(super) fn check(cx: &Context, which: &dyn Fn(usize) -> bool, out: &mut Vec<Finding>) {
    let r = cx.registry;
    for c in (0..r.communities.len())
        .filter(|&c| which(c))
        .map(|c| &r.communities[c])
    {
        let subject = subject(c, r);
        for id in RuleId::measured() {
            let Some(rule) = cx.guidelines.rule(c.kind, id) else {
                continue;
            };
            let Some(outcome) =
                catalogue::evaluate(id, &rule, &subject, Wording::Finding).filter(|o| !o.passes)
            else {
                continue;
            };
            let message = if outcome.says_bounds {
                format!("{} {}: {}", c.code, c.name, outcome.what)
            } else {
                let bounds = catalogue::bounds(&rule, Wording::Finding);
                format!(
                    "{} {}: {} (guideline {id}: {bounds})",
                    c.code, c.name, outcome.what
                )
            };
            out.push(Finding {
                kind: FindingKind::Guideline,
                severity: rule.severity,
                town_code: Some(r.towns[c.town].code.clone()),
                codes: vec![c.code.clone()],
                area_m2: None,
                rule: Some(RuleCheck {
                    id,
                    min: rule.min,
                    max: rule.max,
                    measured: outcome.measured,
                }),
                message,
                suggestion: (id.spec().advice)(&subject, &rule, outcome.measured),
                geometry: None,
            });
        }
    }
}
