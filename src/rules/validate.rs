//! The validation engine: a proposal's parts measured and checked against the guidelines, with
//! the offending geometry (gaps, overlaps, cut grids) and a before/after table.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use geo::{BooleanOps, BoundingRect, Centroid, MultiPolygon, Rect, unary_union};
use serde::Serialize;

use super::catalogue::{self, RuleId, Subject, Wording};
use super::guidelines::{Guidelines, Rule, Severity};
use super::proposal::{Part, Proposal, ProposalKind};
use crate::geometry::geojson::area_to_geojson;
use crate::geometry::measure::{area_m2, length_m, perimeter_m};
use crate::geometry::{pairs_with_touching_boxes, window};
use crate::registry::{Counts, Grid, Registry};

/// A verdict, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// One rule's verdict on one part (or on the whole proposal).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub rule: RuleId,
    pub verdict: Verdict,
    pub severity: Severity,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub measured: Option<f64>,
    pub message: String,
}

/// What a part measures.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Measures {
    pub area_m2: f64,
    pub perimeter_m: f64,
    pub polsby_popper: f64,
    /// Estimated from the grids the part covers: whole grids fully, cut grids by area share.
    pub households: f64,
    pub population: f64,
    pub service_households: f64,
    pub workers: u32,
    pub workers_per_10k_residents: Option<f64>,
    pub office_area_m2: f64,
    pub office_m2_per_100_households: Option<f64>,
    /// Household-weighted mean distance from grid centres to the proposed office.
    pub mean_distance_to_office_m: Option<f64>,
}

/// A grid the part's boundary cuts.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CutGrid {
    pub code: String,
    pub name: String,
    pub community_code: String,
    /// Share of the grid's area inside this part.
    pub share_inside: f64,
    /// More than 95% on one side: most likely a boundary drawn a little off a grid edge.
    pub snapping_error: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PartReport {
    pub name: String,
    pub kind: &'static str,
    pub measures: Measures,
    pub checks: Vec<Check>,
    pub cut_grids: Vec<CutGrid>,
    pub verdict: Verdict,
}

/// Offending geometry, to draw on the map.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Offence {
    pub kind: &'static str,
    /// Part names or codes involved.
    pub involves: Vec<String>,
    pub area_m2: f64,
    #[serde(skip)]
    pub geometry: MultiPolygon<f64>,
}

/// Households, people, staff and space of a set of communities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Totals {
    pub households: f64,
    pub population: f64,
    pub service_households: f64,
    /// Summed over parts or parents: wider than a part's `u32`, so a sum cannot wrap.
    pub workers: u64,
    pub households_per_worker: Option<f64>,
    pub office_area_m2: f64,
}

impl Totals {
    fn new(households: f64, population: f64, service: f64, workers: u64, office: f64) -> Self {
        Totals {
            households,
            population,
            service_households: service,
            workers,
            households_per_worker: (workers > 0).then(|| households / workers as f64),
            office_area_m2: office,
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BeforeAfter {
    pub before: Totals,
    pub after: Totals,
    /// One row per part, in order.
    pub parts: Vec<Totals>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub kind: ProposalKind,
    pub title: String,
    pub parents: Vec<String>,
    pub verdict: Verdict,
    pub parts: Vec<PartReport>,
    /// Checks of the proposal as a whole (coverage of the parents, parts overlapping).
    pub checks: Vec<Check>,
    pub before_after: BeforeAfter,
    pub offences: Vec<Offence>,
}

impl Report {
    /// The report as the API serves and the store keeps it: its fields plus `offending`, the
    /// offending geometry as a GeoJSON FeatureCollection for the map.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let features: Vec<serde_json::Value> = self
            .offences
            .iter()
            .map(|o| {
                serde_json::json!({"type": "Feature", "geometry": area_to_geojson(&o.geometry, None),
                                   "properties": o})
            })
            .collect();
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "offending".into(),
                serde_json::json!({"type": "FeatureCollection", "features": features}),
            );
        }
        value
    }
}

fn boxes_touch(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The registry's grid and community bounding boxes, and grid areas as they are first needed:
/// what every part of every proposal is filtered and measured against; optionally, the reports
/// of parts already validated.
///
/// Validation used to recompute the box of every grid and community of the city for every part
/// (the grids filter in `holdings`, the communities in `no_overlap_with_others`): a third of
/// the time of validating an 8-part split of the sample city went to `get_bounding_rect`. Built
/// once per [`validate`], or once for many proposals over one registry with [`validate_with`]:
/// the split assistant validates 20 candidate plans of one community, and since its plans are
/// recombinations of each other, their 160 parts are only about 40 different ones
/// ([`RegistryBoxes::remembering_parts`]).
#[derive(Debug)]
pub struct RegistryBoxes {
    grids: Vec<Option<Rect<f64>>>,
    communities: Vec<Option<Rect<f64>>>,
    grid_area_m2: Vec<OnceLock<f64>>,
    /// A part's report, totals and offences by everything the part's validation reads except
    /// its name ([`part_key`]); `None`: parts are not remembered.
    parts: Option<Mutex<HashMap<Vec<u8>, PartOutcome>>>,
}

/// What validating one part gives.
type PartOutcome = (PartReport, Totals, Vec<Offence>);

impl RegistryBoxes {
    pub fn new(registry: &Registry) -> Self {
        RegistryBoxes {
            grids: registry
                .grids
                .iter()
                .map(|g| g.area.bounding_rect())
                .collect(),
            communities: registry
                .communities
                .iter()
                .map(|c| c.territory.as_deref().and_then(BoundingRect::bounding_rect))
                .collect(),
            grid_area_m2: registry.grids.iter().map(|_| OnceLock::new()).collect(),
            parts: None,
        }
    }

    /// These boxes, remembering each part validated with them, so that a part seen again (same
    /// outline, kind, staffing, office, justification and parents) is not measured again. Only
    /// for proposals over one registry *and one set of guidelines*, which the key leaves out.
    pub fn remembering_parts(mut self) -> Self {
        self.parts = Some(Mutex::new(HashMap::new()));
        self
    }

    /// Grid `i`'s box (computed afresh if these boxes are not `registry`'s).
    fn grid(&self, i: usize, grid: &Grid) -> Option<Rect<f64>> {
        match self.grids.get(i) {
            Some(b) => *b,
            None => grid.area.bounding_rect(),
        }
    }

    fn community(&self, i: usize, territory: &MultiPolygon<f64>) -> Option<Rect<f64>> {
        match self.communities.get(i) {
            Some(b) => *b,
            None => territory.bounding_rect(),
        }
    }

    /// Grid `i`'s geodesic area, measured once.
    fn grid_area_m2(&self, i: usize, grid: &Grid) -> f64 {
        match self.grid_area_m2.get(i) {
            Some(cell) => *cell.get_or_init(|| area_m2(&grid.area)),
            None => area_m2(&grid.area),
        }
    }
}

fn territory_check(rule: RuleId, ok: bool, measured: Option<f64>, message: String) -> Check {
    Check {
        rule,
        verdict: if ok { Verdict::Pass } else { Verdict::Fail },
        severity: Severity::Fail,
        min: None,
        max: None,
        measured,
        message,
    }
}

/// The verdict of a rule that `passes` or not; an exception with a justification only warns.
fn verdict(passes: bool, severity: Severity, justified: bool) -> Verdict {
    match (passes, severity) {
        (true, _) => Verdict::Pass,
        (false, Severity::Warn) => Verdict::Warn,
        (false, Severity::Exception) if justified => Verdict::Warn,
        (false, _) => Verdict::Fail,
    }
}

/// The measured rule `id` on a part, as the table measures and says it (`None`: not measurable).
fn rule_check(part: &Part, id: RuleId, rule: Rule, subject: &Subject) -> Option<Check> {
    let outcome = catalogue::evaluate(id, &rule, subject, Wording::Check)?;
    let justified = rule.severity == Severity::Exception && part.justification.is_some();
    let message = if outcome.says_bounds {
        outcome.what
    } else {
        let note = if !outcome.passes && justified {
            " — exception justified"
        } else {
            ""
        };
        let bounds = catalogue::bounds(&rule, Wording::Check);
        format!("{} (guideline {bounds}){note}", outcome.what)
    };
    Some(Check {
        rule: id,
        verdict: verdict(outcome.passes, rule.severity, justified),
        severity: rule.severity,
        min: rule.min,
        max: rule.max,
        measured: Some(outcome.measured),
        message,
    })
}

/// Validates `proposal` against the registry and the guidelines.
pub fn validate(proposal: &Proposal, registry: &Registry, guidelines: &Guidelines) -> Report {
    validate_with(
        proposal,
        registry,
        guidelines,
        &RegistryBoxes::new(registry),
    )
}

/// [`validate`] with the registry's boxes built by the caller (`boxes` must be `registry`'s),
/// for many proposals over one registry.
pub fn validate_with(
    proposal: &Proposal,
    registry: &Registry,
    guidelines: &Guidelines,
    boxes: &RegistryBoxes,
) -> Report {
    let tolerance = guidelines.audit.area_m2();
    let mut offences = Vec::new();
    let (parts, totals): (Vec<PartReport>, Vec<Totals>) = proposal
        .parts
        .iter()
        .map(|part| {
            let (report, totals, found) =
                remembered_part(part, proposal, (registry, boxes), guidelines, tolerance);
            offences.extend(found);
            (report, totals)
        })
        .unzip();
    let mut checks = vec![parts_do_not_overlap(proposal, tolerance, &mut offences)];
    if proposal.kind != ProposalKind::New {
        checks.extend(parents_covered(
            proposal,
            registry,
            tolerance,
            &mut offences,
        ));
    }
    let verdict = parts
        .iter()
        .map(|p| p.verdict)
        .chain(checks.iter().map(|c| c.verdict))
        .max()
        .unwrap_or(Verdict::Pass);
    Report {
        kind: proposal.kind,
        title: proposal.title.clone(),
        parents: proposal
            .parents
            .iter()
            .map(|&c| registry.communities[c].code.clone())
            .collect(),
        verdict,
        parts,
        checks,
        before_after: before_after(proposal, registry, totals),
        offences,
    }
}

/// Parts must not overlap each other.
fn parts_do_not_overlap(proposal: &Proposal, tolerance: f64, offences: &mut Vec<Offence>) -> Check {
    let mut overlapping = 0.0;
    // Only parts whose boxes touch can overlap (pairs in the order of the parts).
    for (i, j) in pairs_with_touching_boxes(proposal.parts.iter().map(|p| &p.area)) {
        let (a, b) = (&proposal.parts[i], &proposal.parts[j]);
        let overlap = window::intersection(&a.area, &b.area);
        let area = area_m2(&overlap);
        if area > tolerance {
            overlapping += area;
            offences.push(Offence {
                kind: "overlap_between_parts",
                involves: vec![a.name.clone(), b.name.clone()],
                area_m2: area,
                geometry: overlap,
            });
        }
    }
    territory_check(
        RuleId::PartsDoNotOverlap,
        overlapping == 0.0,
        Some(overlapping),
        format!("{overlapping:.1} m² claimed by more than one part"),
    )
}

/// The parts must cover the parents and stay within them.
fn parents_covered(
    proposal: &Proposal,
    registry: &Registry,
    tolerance: f64,
    offences: &mut Vec<Offence>,
) -> [Check; 2] {
    let parents: Vec<&MultiPolygon<f64>> = proposal
        .parents
        .iter()
        .filter_map(|&c| registry.communities[c].territory.as_deref())
        .collect();
    // A registry territory is already a valid (loader-checked) union of itself.
    let parent_union = match parents[..] {
        [one] => std::borrow::Cow::Borrowed(one),
        _ => std::borrow::Cow::Owned(unary_union(parents.iter().flat_map(|p| p.0.iter()))),
    };
    let part_union = unary_union(proposal.parts.iter().flat_map(|p| p.area.0.iter()));
    let mut gap_total = 0.0;
    for polygon in parent_union.difference(&part_union) {
        let gap = MultiPolygon(vec![polygon]);
        let area = area_m2(&gap);
        if area > tolerance {
            gap_total += area;
            offences.push(Offence {
                kind: "gap",
                involves: proposal
                    .parents
                    .iter()
                    .map(|&c| registry.communities[c].code.clone())
                    .collect(),
                area_m2: area,
                geometry: gap,
            });
        }
    }
    let beyond = part_union.difference(&*parent_union);
    let beyond_area = area_m2(&beyond);
    let ok = beyond_area <= tolerance;
    let outside = if ok { 0.0 } else { beyond_area };
    if !ok {
        offences.push(Offence {
            kind: "outside_parents",
            involves: proposal.parts.iter().map(|p| p.name.clone()).collect(),
            area_m2: beyond_area,
            geometry: beyond,
        });
    }
    [
        territory_check(
            RuleId::PartsCoverParents,
            gap_total == 0.0,
            Some(gap_total),
            format!("{gap_total:.1} m² of the parents left in no part"),
        ),
        territory_check(
            RuleId::PartsWithinParents,
            ok,
            Some(outside),
            format!("{outside:.1} m² of the parts lies outside the parents"),
        ),
    ]
}

/// The parents' totals and the parts'.
fn before_after(proposal: &Proposal, registry: &Registry, parts: Vec<Totals>) -> BeforeAfter {
    let (counts, workers, office) = proposal
        .parents
        .iter()
        .map(|&c| &registry.communities[c])
        .fold(
            (Counts::default(), 0u64, 0.0),
            |(counts, workers, office), c| {
                (
                    counts + c.counts,
                    workers + u64::from(c.workers),
                    office + c.office_area_m2,
                )
            },
        );
    let before = Totals::new(
        counts.households as f64,
        counts.population as f64,
        counts.service_households as f64,
        workers,
        office,
    );
    let after = Totals::new(
        parts.iter().map(|t| t.households).sum(),
        parts.iter().map(|t| t.population).sum(),
        parts.iter().map(|t| t.service_households).sum(),
        parts.iter().map(|t| t.workers).sum::<u64>(),
        parts.iter().map(|t| t.office_area_m2).sum(),
    );
    BeforeAfter {
        before,
        after,
        parts,
    }
}

/// What a part holds, estimated from the grids it covers: whole grids fully, cut grids by
/// area share.
struct Holdings<'a> {
    households: f64,
    population: f64,
    service: f64,
    /// Household-weighted mean distance from the grid pieces' centres to the office.
    mean_distance_to_office_m: Option<f64>,
    whole: Vec<&'a Grid>,
    cut: Vec<CutGrid>,
}

fn holdings<'a>(
    part: &Part,
    (registry, boxes): (&'a Registry, &RegistryBoxes),
    tolerance: f64,
    offences: &mut Vec<Offence>,
) -> Holdings<'a> {
    let (mut households, mut population, mut service) = (0.0, 0.0, 0.0);
    let (mut weighted_distance, mut weight) = (0.0, 0.0);
    let (mut whole, mut cut) = (Vec::new(), Vec::new());
    let part_box = part.area.bounding_rect();
    let grids = registry.grids.iter().enumerate();
    let near = grids.filter_map(|(i, g)| {
        let part_box = part_box?;
        let b = boxes.grid(i, g).filter(|b| boxes_touch(b, &part_box))?;
        Some((i, g, b, part_box))
    });
    for (i, grid, grid_box, part_box) in near {
        let inside = window::intersection_near((&grid.area, grid_box), (&part.area, part_box));
        let inside_area = area_m2(&inside);
        if inside_area <= tolerance {
            continue;
        }
        let grid_area = boxes.grid_area_m2(i, grid);
        let is_whole = grid_area - inside_area <= tolerance;
        let share = if is_whole {
            1.0
        } else {
            inside_area / grid_area
        };
        households += grid.counts.households as f64 * share;
        population += grid.counts.population as f64 * share;
        service += grid.counts.service_households as f64 * share;
        if let (Some(office), Some(centre)) = (part.office, inside.centroid()) {
            let w = grid.counts.households as f64 * share;
            weighted_distance += w * length_m([centre.x(), centre.y()], [office.x(), office.y()]);
            weight += w;
        }
        if is_whole {
            whole.push(grid);
            continue;
        }
        cut.push(CutGrid {
            code: grid.code.clone(),
            name: grid.name.clone(),
            community_code: registry.communities[grid.community].code.clone(),
            share_inside: share,
            snapping_error: !(0.05..=0.95).contains(&share),
        });
        offences.push(Offence {
            kind: "cut_grid",
            involves: vec![part.name.clone(), grid.code.clone()],
            area_m2: inside_area,
            geometry: inside,
        });
    }
    Holdings {
        households,
        population,
        service,
        mean_distance_to_office_m: (weight > 0.0).then(|| weighted_distance / weight),
        whole,
        cut,
    }
}

/// Everything validating `part` reads except its name (the registry and guidelines aside),
/// as bytes: equal keys, equal outcomes up to the name.
fn part_key(part: &Part, parents: &[usize]) -> Vec<u8> {
    let mut key = Vec::new();
    let mut put = |bytes: &[u8]| {
        key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        key.extend_from_slice(bytes);
    };
    put(part.kind.as_str().as_bytes());
    put(&part.workers.to_le_bytes());
    put(&part.office_area_m2.to_bits().to_le_bytes());
    let office = part.office.map(|o| [o.x().to_bits(), o.y().to_bits()]);
    put(&office.map_or(Vec::new(), |o| {
        [o[0].to_le_bytes(), o[1].to_le_bytes()].concat()
    }));
    put(part.justification.as_deref().unwrap_or("\0none").as_bytes());
    let parents: Vec<u8> = parents.iter().flat_map(|p| p.to_le_bytes()).collect();
    put(&parents);
    for polygon in &part.area {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            let coords: Vec<u8> = ring
                .coords()
                .flat_map(|c| [c.x.to_bits(), c.y.to_bits()])
                .flat_map(u64::to_le_bytes)
                .collect();
            put(&coords);
        }
        put(b"polygon");
    }
    key
}

/// [`validate_part`], or its outcome for an equal part validated before with the same boxes
/// (renamed: the name is the only thing a part's outcome repeats of it, as the report's name and
/// as the first of every offence's `involves`).
fn remembered_part(
    part: &Part,
    proposal: &Proposal,
    (registry, boxes): (&Registry, &RegistryBoxes),
    guidelines: &Guidelines,
    tolerance: f64,
) -> PartOutcome {
    let fresh = || {
        let mut offences = Vec::new();
        let (report, totals) = validate_part(
            part,
            proposal,
            (registry, boxes),
            guidelines,
            tolerance,
            &mut offences,
        );
        (report, totals, offences)
    };
    let Some(memo) = &boxes.parts else {
        return fresh();
    };
    let key = part_key(part, &proposal.parents);
    let known = memo.lock().ok().and_then(|m| m.get(&key).cloned());
    if let Some((mut report, totals, mut offences)) = known {
        report.name.clone_from(&part.name);
        for o in &mut offences {
            if let Some(first) = o.involves.first_mut() {
                first.clone_from(&part.name);
            }
        }
        return (report, totals, offences);
    }
    let outcome = fresh();
    if let Ok(mut m) = memo.lock() {
        m.insert(key, outcome.clone());
    }
    outcome
}

fn validate_part(
    part: &Part,
    proposal: &Proposal,
    (registry, boxes): (&Registry, &RegistryBoxes),
    guidelines: &Guidelines,
    tolerance: f64,
    offences: &mut Vec<Offence>,
) -> (PartReport, Totals) {
    let area = area_m2(&part.area);
    let perimeter = perimeter_m(&part.area);
    let polsby_popper = catalogue::polsby_popper(area, perimeter);
    let held = holdings(part, (registry, boxes), tolerance, offences);
    let mut checks = territory_checks(part, proposal, (registry, boxes), tolerance, offences);
    checks.push(grids_not_cut(&held.cut));
    let subject = Subject {
        households: held.households,
        population: held.population,
        workers: part.workers,
        office_area_m2: part.office_area_m2,
        polsby_popper: Some(polsby_popper),
        grids: held.whole,
    };
    checks.extend(
        RuleId::measured()
            .filter_map(|id| rule_check(part, id, guidelines.rule(part.kind, id)?, &subject)),
    );
    let verdict = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    let measures = Measures {
        area_m2: area,
        perimeter_m: perimeter,
        polsby_popper,
        households: held.households,
        population: held.population,
        service_households: held.service,
        workers: part.workers,
        workers_per_10k_residents: (held.population > 0.0)
            .then(|| part.workers as f64 * 10_000.0 / held.population),
        office_area_m2: part.office_area_m2,
        office_m2_per_100_households: (held.households > 0.0)
            .then(|| part.office_area_m2 * 100.0 / held.households),
        mean_distance_to_office_m: held.mean_distance_to_office_m,
    };
    let totals = Totals::new(
        held.households,
        held.population,
        held.service,
        u64::from(part.workers),
        part.office_area_m2,
    );
    let report = PartReport {
        name: part.name.clone(),
        kind: part.kind.as_str(),
        measures,
        checks,
        cut_grids: held.cut,
        verdict,
    };
    (report, totals)
}

/// The territory rules of one part: one piece, in one town, no other community's land.
fn territory_checks(
    part: &Part,
    proposal: &Proposal,
    (registry, boxes): (&Registry, &RegistryBoxes),
    tolerance: f64,
    offences: &mut Vec<Offence>,
) -> Vec<Check> {
    // Pieces sharing an edge are one territory; pieces touching at a point or apart are not.
    let pieces = unary_union(part.area.0.iter()).0.len();
    let contiguous = territory_check(
        RuleId::Contiguous,
        pieces == 1,
        Some(pieces as f64),
        format!(
            "{pieces} separate piece{}",
            if pieces == 1 { "" } else { "s" }
        ),
    );
    vec![
        contiguous,
        inside_one_town(part, registry, tolerance),
        no_overlap_with_others(part, proposal, (registry, boxes), tolerance, offences),
    ]
}

/// The part's town is the one it lies in (the approval codes it there); straddling fails.
fn inside_one_town(part: &Part, registry: &Registry, tolerance: f64) -> Check {
    let towns = super::town::towns_of(&part.area, registry, tolerance);
    let in_one_town = towns.len() == 1 && (area_m2(&part.area) - towns[0].1) <= tolerance;
    let town_list: Vec<String> = towns
        .iter()
        .map(|(i, a)| {
            format!(
                "{} {} {a:.1} m²",
                registry.towns[*i].code, registry.towns[*i].name
            )
        })
        .collect();
    territory_check(
        RuleId::InsideOneTown,
        in_one_town,
        Some(towns.len() as f64),
        if town_list.is_empty() {
            "in no town".to_owned()
        } else {
            format!("in {}", town_list.join(", "))
        },
    )
}

fn no_overlap_with_others(
    part: &Part,
    proposal: &Proposal,
    (registry, boxes): (&Registry, &RegistryBoxes),
    tolerance: f64,
    offences: &mut Vec<Offence>,
) -> Check {
    let part_box = part.area.bounding_rect();
    let mut overlap_total = 0.0;
    for (c, community) in registry.communities.iter().enumerate() {
        let Some((territory, territory_box, part_box)) = community
            .territory
            .as_deref()
            .filter(|_| !proposal.parents.contains(&c))
            .and_then(|t| Some((t, boxes.community(c, t)?, part_box?)))
            .filter(|(_, b, p)| boxes_touch(b, p))
        else {
            continue;
        };
        let overlap = window::intersection_near((&part.area, part_box), (territory, territory_box));
        let overlap_area = area_m2(&overlap);
        if overlap_area > tolerance {
            overlap_total += overlap_area;
            offences.push(Offence {
                kind: "overlap_with_community",
                involves: vec![part.name.clone(), community.code.clone()],
                area_m2: overlap_area,
                geometry: overlap,
            });
        }
    }
    territory_check(
        RuleId::NoOverlapWithOtherCommunities,
        overlap_total == 0.0,
        Some(overlap_total),
        format!("{overlap_total:.1} m² overlaps communities outside the proposal"),
    )
}

fn grids_not_cut(cut_grids: &[CutGrid]) -> Check {
    let real_cuts = cut_grids.iter().filter(|g| !g.snapping_error).count();
    let snapping = cut_grids.len() - real_cuts;
    territory_check(
        RuleId::GridsNotCut,
        cut_grids.is_empty(),
        Some(cut_grids.len() as f64),
        format!(
            "{real_cuts} grid{} cut{}",
            if real_cuts == 1 { "" } else { "s" },
            if snapping > 0 {
                format!(", {snapping} more barely touched (snapping errors: snap to the grid edge)")
            } else {
                String::new()
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_justified_exception_only_warns() {
        use Severity::*;
        assert_eq!(verdict(true, Fail, false), Verdict::Pass);
        assert_eq!(verdict(false, Warn, false), Verdict::Warn);
        assert_eq!(verdict(false, Exception, true), Verdict::Warn);
        assert_eq!(verdict(false, Exception, false), Verdict::Fail);
        // A justification does not soften a `fail` rule.
        assert_eq!(verdict(false, Fail, true), Verdict::Fail);
    }

    #[test]
    fn cut_grids_say_which_are_snapping_errors() {
        let cut = |share: f64| CutGrid {
            code: "g".into(),
            name: "g".into(),
            community_code: "c".into(),
            share_inside: share,
            snapping_error: !(0.05..=0.95).contains(&share),
        };
        assert_eq!(grids_not_cut(&[]).verdict, Verdict::Pass);
        let check = grids_not_cut(&[cut(0.5), cut(0.99)]);
        assert_eq!(
            (check.rule, check.verdict),
            (RuleId::GridsNotCut, Verdict::Fail)
        );
        assert_eq!(check.measured, Some(2.0));
        assert_eq!(
            check.message,
            "1 grid cut, 1 more barely touched (snapping errors: snap to the grid edge)"
        );
    }
}
