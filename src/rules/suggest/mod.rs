//! The split assistant: guideline-compliant splits of an oversized community, proposed rather
//! than drawn by trial and error.
//!
//! A community's grids form a graph (grids sharing a boundary of positive length are
//! neighbours, [`graph`]). Parts are unions of whole grids, connected in that graph. Plans are
//! found by ReCom over the graph, optimised by short bursts and finished by local boundary
//! moves ([`recom`]), scored on the graph alone ([`score`]), and the best distinct plans are
//! built into ordinary split proposals (by [`super::split_by_groups`]) and checked by the
//! ordinary validation engine, whose report each candidate carries.
//!
//! Staffing and office space are not invented: each part states what the guidelines require
//! for it (workers from residents, office space from households), marked `"staffing":
//! "required"`, and the answer says how far that is from what the parent has.

mod graph;
mod recom;
mod score;

use std::collections::BTreeMap;

use geo::Contains;
use serde::Serialize;
use serde_json::{Value, json};

pub use graph::GridGraph;
pub use recom::{Constraints, Rng, canonical, improve, recombine, repair, seed_plan};
pub use score::{Score, Weights, score};

use super::guidelines::{Guidelines, RuleId};
use super::proposal::parse;
use super::split::split_by_groups;
use super::validate::{Report, Verdict, validate};
use crate::registry::{Community, Registry};

/// The seed used when the request gives none.
pub const DEFAULT_SEED: u64 = 20_260_101;
/// Candidates returned when the request does not say.
pub const DEFAULT_COUNT: usize = 5;
/// Most candidates one request may ask for.
pub const MAX_COUNT: usize = 50;
/// Recombination steps per request, and per short burst.
const STEPS: usize = 1_500;
const BURST: usize = 10;
/// Seed-plan attempts before the band is declared out of reach.
const SEED_ATTEMPTS: usize = 20;
/// Rounds of local search repairing a plan into the band when no seed plan meets it.
const REPAIR_ROUNDS: usize = 3_000;

/// How many parts to split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// The smallest number that can meet the household band.
    Auto,
    Exactly(usize),
}

/// What the official asks for.
#[derive(Debug, Clone)]
pub struct SuggestRequest {
    pub community: String,
    pub parts: Parts,
    /// Grid code → part number (1-based): the grid stays in that part.
    pub locked: BTreeMap<String, usize>,
    pub weights: Weights,
    pub count: usize,
    pub seed: u64,
}

impl SuggestRequest {
    pub fn new(community: &str) -> Self {
        SuggestRequest {
            community: community.to_owned(),
            parts: Parts::Auto,
            locked: BTreeMap::new(),
            weights: Weights::default(),
            count: DEFAULT_COUNT,
            seed: DEFAULT_SEED,
        }
    }
}

/// Why no suggestion can be computed at all (as opposed to an infeasible band, which is an
/// answer with `feasible: false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuggestError {
    #[error("unknown community {0}")]
    UnknownCommunity(String),
    #[error("community {0} has no defined territory to split")]
    NoTerritory(String),
    #[error("community {0} has no grids to build parts from")]
    NoGrids(String),
    /// A request field is wrong: (field, message).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

/// A grid or a constraint that keeps plans out of the band, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocking {
    pub constraint: &'static str,
    pub grids: Vec<String>,
    pub reason: String,
}

/// What the guidelines require a part to have (not what it has).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Needs {
    pub workers: u32,
    pub office_area_m2: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartSummary {
    pub name: String,
    /// The parent's code, on the part that keeps the parent's office.
    pub code: Option<String>,
    pub keeps_parent: bool,
    pub grids: Vec<String>,
    pub households: u64,
    pub population: u64,
    pub needs: Needs,
    pub polsby_popper: f64,
    pub in_band: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub rank: usize,
    pub score: Score,
    /// Every households, territory, staffing and office check of the validation report passes
    /// (warnings such as compactness or grid sizes aside).
    pub passes: bool,
    pub verdict: Verdict,
    /// Checks of the report that did not pass, as `rule: message` (with the part's name).
    pub problems: Vec<String>,
    pub parts: Vec<PartSummary>,
    /// A complete split proposal, ready to store, edit and validate.
    pub proposal: Value,
    /// The ordinary validation report of `proposal`.
    pub report: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Band {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub name: &'static str,
    pub seed: u64,
    pub steps: usize,
    pub burst: usize,
    pub distinct_plans_seen: usize,
    /// Whether the chain ran with the band relaxed because no plan within it was found.
    pub relaxed: bool,
}

/// The assistant's answer for one community.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub mode: &'static str,
    pub community: String,
    pub name: String,
    pub households: u64,
    pub population: u64,
    pub grids: usize,
    pub band: Band,
    pub parts: usize,
    pub auto: bool,
    /// At least one candidate passes every size, territory, staffing and office check.
    pub feasible: bool,
    pub blocking: Vec<Blocking>,
    pub notes: Vec<String>,
    pub method: Method,
    pub candidates: Vec<Candidate>,
}

/// The households band of `c`'s kind.
fn band(guidelines: &Guidelines, c: &Community) -> (f64, f64) {
    guidelines
        .rule(c.kind, RuleId::Households)
        .map_or((0.0, f64::INFINITY), |r| {
            (r.min.unwrap_or(0.0), r.max.unwrap_or(f64::INFINITY))
        })
}

/// What a part of `households` and `population` needs under the rules for `c`'s kind.
fn needs(guidelines: &Guidelines, c: &Community, households: u64, population: u64) -> Needs {
    let min = |id| guidelines.rule(c.kind, id).and_then(|r| r.min);
    let workers = min(RuleId::WorkersPer10kResidents)
        .map_or(0.0, |m| (population as f64 * m / 10_000.0).ceil());
    let by_households = min(RuleId::OfficeM2Per100Households)
        .map_or(0.0, |m| (households as f64 * m / 100.0).ceil());
    let total = min(RuleId::OfficeM2Total).map_or(0.0, f64::ceil);
    Needs {
        workers: workers as u32,
        office_area_m2: by_households.max(total),
    }
}

/// Rules a suggested plan must pass (warnings on compactness and grid sizes aside).
const REQUIRED: [&str; 11] = [
    "households",
    "contiguous",
    "inside_one_town",
    "no_overlap_with_other_communities",
    "grids_not_cut",
    "workers_per_10k_residents",
    "office_m2_per_100_households",
    "office_m2_total",
    "parts_do_not_overlap",
    "parts_cover_parents",
    "parts_within_parents",
];

/// The checks of `report` among [`REQUIRED`] that do not pass.
pub fn required_problems(report: &Report) -> Vec<String> {
    let parts = report
        .parts
        .iter()
        .flat_map(|p| p.checks.iter().map(move |c| (Some(&p.name), c)));
    parts
        .chain(report.checks.iter().map(|c| (None, c)))
        .filter(|(_, c)| REQUIRED.contains(&c.rule.as_str()) && c.verdict != Verdict::Pass)
        .map(|(part, c)| match part {
            Some(name) => format!("{name}: {}: {}", c.rule, c.message),
            None => format!("{}: {}", c.rule, c.message),
        })
        .collect()
}

/// Parts per connected component: the fewest that can hold its households, and the most that
/// can each reach the band minimum.
fn component_bounds(h: u64, n: usize, lo: f64, hi: f64) -> (usize, usize) {
    let least = if hi.is_finite() {
        ((h as f64 / hi).ceil() as usize).max(1)
    } else {
        1
    };
    let most = if lo > 0.0 {
        ((h as f64 / lo).floor() as usize).min(n)
    } else {
        n
    };
    (least, most)
}

/// Suggests splits of `request.community`.
pub fn suggest(
    registry: &Registry,
    guidelines: &Guidelines,
    request: &SuggestRequest,
) -> Result<Suggestion, SuggestError> {
    let code = &request.community;
    let ci = registry
        .community_by_code(code)
        .ok_or_else(|| SuggestError::UnknownCommunity(code.clone()))?;
    let community = &registry.communities[ci];
    if community.territory.is_none() {
        return Err(SuggestError::NoTerritory(code.clone()));
    }
    if community.grids.is_empty() {
        return Err(SuggestError::NoGrids(code.clone()));
    }
    if let Some(problem) = request.weights.problem() {
        return Err(SuggestError::Invalid("weights", problem));
    }
    if request.count == 0 || request.count > MAX_COUNT {
        return Err(SuggestError::Invalid(
            "count",
            format!("must be between 1 and {MAX_COUNT}"),
        ));
    }
    let graph = GridGraph::new(registry, &community.grids);
    let (lo, hi) = band(guidelines, community);
    let total: u64 = graph.households.iter().sum();
    let n = graph.len();

    // What the band allows per connected piece of the community.
    let mut blocking = Vec::new();
    let codes = |nodes: &[usize]| -> Vec<String> {
        nodes
            .iter()
            .map(|&v| registry.grids[graph.grids[v]].code.clone())
            .collect()
    };
    let big: Vec<usize> = (0..n)
        .filter(|&v| graph.households[v] as f64 > hi)
        .collect();
    if !big.is_empty() {
        let list: Vec<String> = big
            .iter()
            .map(|&v| {
                format!(
                    "{} ({} households)",
                    registry.grids[graph.grids[v]].code, graph.households[v]
                )
            })
            .collect();
        blocking.push(Blocking {
            constraint: "households",
            grids: codes(&big),
            reason: format!(
                "a grid above the band maximum of {hi} households makes any part holding it too big: {}",
                list.join(", ")
            ),
        });
    }
    let components = graph.components(|_| true);
    let mut bounds = Vec::new();
    for component in &components {
        let h: u64 = component.iter().map(|&v| graph.households[v]).sum();
        let (least, most) = component_bounds(h, component.len(), lo, hi);
        if least > most && components.len() > 1 {
            blocking.push(Blocking {
                constraint: "contiguity",
                grids: codes(component),
                reason: format!(
                    "these {} grids share no boundary with the rest of the community; their {h} households cannot make parts of {lo}–{hi}",
                    component.len()
                ),
            });
        }
        bounds.push((least, most.max(1), h));
    }
    let least: usize = bounds.iter().map(|b| b.0).sum();
    let most: usize = bounds.iter().map(|b| b.1).sum();

    let (k, auto) = match request.parts {
        Parts::Auto => {
            if (total as f64) < lo {
                return Err(SuggestError::Invalid(
                    "parts",
                    format!(
                        "{code} has {total} households, below the band minimum of {lo}: it needs a merge or grids from a neighbour, not a split"
                    ),
                ));
            }
            if total as f64 <= hi && components.len() == 1 {
                return Err(SuggestError::Invalid(
                    "parts",
                    format!(
                        "{code} has {total} households, within the band {lo}–{hi}: give a number of parts to split it anyway"
                    ),
                ));
            }
            (least.max(2), true)
        }
        Parts::Exactly(k) => {
            if k < 2 {
                return Err(SuggestError::Invalid(
                    "parts",
                    "a split needs at least 2 parts".to_owned(),
                ));
            }
            if k > n {
                return Err(SuggestError::Invalid(
                    "parts",
                    format!("{k} parts, but {code} has only {n} grids"),
                ));
            }
            if k > most && blocking.is_empty() {
                return Err(SuggestError::Invalid(
                    "parts",
                    format!(
                        "{k} parts are too many: {total} households make at most {most} parts of at least {lo}"
                    ),
                ));
            }
            (k, false)
        }
    };
    if k < least {
        blocking.push(Blocking {
            constraint: "parts",
            grids: Vec::new(),
            reason: format!(
                "{k} parts of at most {hi} households cannot hold {total} households: at least {least} are needed"
            ),
        });
    }

    // Locks: grid → label, labels in order of part number.
    let mut locks = vec![None; n];
    let mut label_parts: Vec<usize> = request.locked.values().copied().collect();
    label_parts.sort_unstable();
    label_parts.dedup();
    for (grid, &part) in &request.locked {
        let node = registry
            .grid_by_code(grid)
            .and_then(|g| graph.grids.iter().position(|&o| o == g))
            .ok_or_else(|| {
                SuggestError::Invalid("locked", format!("{grid} is not a grid of {code}"))
            })?;
        if part == 0 || part > k {
            return Err(SuggestError::Invalid(
                "locked",
                format!("{grid}: part {part} is not between 1 and {k}"),
            ));
        }
        locks[node] = label_parts.iter().position(|&p| p == part);
    }

    // Parts per component: the fewest each needs, then one more at a time where the mean part
    // is largest.
    let mut per: Vec<usize> = bounds.iter().map(|b| b.0.min(b.1)).collect();
    while per.iter().sum::<usize>() < k {
        let next = (0..per.len())
            .filter(|&i| per[i] < components[i].len())
            .max_by(|&a, &b| {
                let mean = |i: usize| bounds[i].2 as f64 / per[i] as f64;
                mean(a).total_cmp(&mean(b)).then(b.cmp(&a))
            });
        match next {
            Some(i) => per[i] += 1,
            None => break,
        }
    }
    while per.iter().sum::<usize>() > k {
        match (0..per.len())
            .filter(|&i| per[i] > 1)
            .max_by_key(|&i| per[i])
        {
            Some(i) => per[i] -= 1,
            None => break,
        }
    }
    let k = per.iter().sum::<usize>();
    if k < 2 {
        return Err(SuggestError::Invalid(
            "parts",
            "a split needs at least 2 parts".to_owned(),
        ));
    }

    let mut constraints = Constraints {
        lo,
        hi,
        locks,
        labels: label_parts.len(),
    };
    let mut rng = Rng::new(request.seed);
    let strict = constraints.clone();
    let band_pair = (lo, hi);
    let score_of = |a: &[usize]| score(&graph, a, k, band_pair, &request.weights);
    let score_total = |a: &[usize]| score_of(a).total;
    let mut start = if blocking.is_empty() {
        seed_plan(
            &graph,
            &components,
            &per,
            &strict,
            &mut rng,
            SEED_ATTEMPTS,
            false,
        )
    } else {
        None
    };
    if start.is_none() {
        // Repair: a seed near balance with the band relaxed, then recombination that moves the
        // excess households around until the plan is inside the band ([`repair`]).
        constraints.lo = 0.0;
        constraints.hi = f64::INFINITY;
        if let Some(mut plan) = seed_plan(
            &graph,
            &components,
            &per,
            &constraints,
            &mut rng,
            SEED_ATTEMPTS,
            true,
        ) {
            let inside = repair(&graph, &mut plan, k, &strict, &mut rng, REPAIR_ROUNDS);
            if blocking.is_empty() && inside {
                constraints = strict.clone();
            }
            start = Some(plan);
        }
    }
    let relaxed = constraints.hi.is_infinite() && hi.is_finite();
    let method = |seen| Method {
        name: "ReCom (spanning-tree recombination) optimised by short bursts, then boundary-grid hill climbing",
        seed: request.seed,
        steps: STEPS,
        burst: BURST,
        distinct_plans_seen: seen,
        relaxed,
    };
    let mut answer = Suggestion {
        mode: "split",
        community: community.code.clone(),
        name: community.name.clone(),
        households: total,
        population: graph.population.iter().sum(),
        grids: n,
        band: Band {
            min: lo.is_finite().then_some(lo).filter(|v| *v > 0.0),
            max: hi.is_finite().then_some(hi),
            kind: community.kind.as_str(),
        },
        parts: k,
        auto,
        feasible: false,
        blocking,
        notes: Vec::new(),
        method: method(0),
        candidates: Vec::new(),
    };
    let Some(start) = start else {
        let locked: Vec<String> = request.locked.keys().cloned().collect();
        answer.blocking.push(Blocking {
            constraint: "locked",
            grids: locked,
            reason: "no contiguous plan keeps the locked grids in their parts".to_owned(),
        });
        return Ok(answer);
    };
    if relaxed && answer.blocking.is_empty() {
        answer.blocking.push(Blocking {
            constraint: "balance",
            grids: Vec::new(),
            reason: format!(
                "no contiguous plan of {k} parts within {lo}–{hi} households was found (spanning-tree seeds, then {REPAIR_ROUNDS} rounds of repair by recombination); the plans below are the closest found"
            ),
        });
    }

    let mut pool: BTreeMap<Vec<u8>, (f64, Vec<usize>)> = BTreeMap::new();
    let remember = |a: &[usize], pool: &mut BTreeMap<Vec<u8>, (f64, Vec<usize>)>| -> f64 {
        let s = score_of(a).total;
        pool.entry(canonical(a, k))
            .or_insert_with(|| (s, a.to_vec()));
        s
    };
    // Short bursts: each burst starts from the best plan seen so far.
    let mut best = start.clone();
    let mut best_score = remember(&best, &mut pool);
    let mut scratch = Vec::new();
    for _ in 0..STEPS / BURST {
        let mut plan = best.clone();
        for _ in 0..BURST {
            if recombine(
                &graph,
                &mut plan,
                &constraints,
                &mut rng,
                &mut scratch,
                false,
            ) {
                let s = remember(&plan, &mut pool);
                if s > best_score {
                    best_score = s;
                    best.clone_from(&plan);
                }
            }
        }
    }
    let seen = pool.len();
    let ranked = |pool: &BTreeMap<Vec<u8>, (f64, Vec<usize>)>| -> Vec<Vec<usize>> {
        let mut all: Vec<_> = pool.iter().collect();
        all.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.0.cmp(b.0)));
        all.into_iter().map(|(_, (_, a))| a.clone()).collect()
    };
    // Local improvement of the best plans; improved plans join the pool.
    for mut plan in ranked(&pool).into_iter().take(request.count * 2) {
        improve(&graph, &mut plan, k, &constraints, &score_total, 4 * n);
        remember(&plan, &mut pool);
    }
    answer.method = method(seen);

    for (i, plan) in ranked(&pool).into_iter().take(request.count).enumerate() {
        let plan = relabel(&plan, k, &constraints.locks, &label_parts);
        answer.candidates.push(candidate(
            registry,
            guidelines,
            community,
            &graph,
            &plan,
            k,
            i + 1,
            score_of(&plan),
        )?);
    }
    answer.feasible = answer.blocking.is_empty() && answer.candidates.iter().any(|c| c.passes);
    if answer.blocking.is_empty()
        && !answer.feasible
        && let Some(first) = answer.candidates.first()
    {
        answer.blocking.push(Blocking {
            constraint: "validation",
            grids: Vec::new(),
            reason: format!(
                "the plans within the band fail validation: {}",
                first.problems.join("; ")
            ),
        });
    }
    let (workers, office) = answer.candidates.first().map_or((0, 0.0), |c| {
        (
            c.parts.iter().map(|p| p.needs.workers).sum::<u32>(),
            c.parts.iter().map(|p| p.needs.office_area_m2).sum::<f64>(),
        )
    });
    answer.notes.push(format!(
        "staffing: required — each part's workers and office_area_m2 are what the guidelines require for it (workers from residents, office space from households), not staff or space that exists; {} has {} workers and {:.0} m², the first plan needs {workers} workers and {office:.0} m² in all",
        community.name, community.workers, community.office_area_m2
    ));
    answer.notes.push(
        "the part holding the parent's office keeps the parent's name and code; other parts have placeholder names to edit".to_owned(),
    );
    Ok(answer)
}

/// The plan with locked labels on their part numbers and the other parts in order of their
/// first grid.
fn relabel(plan: &[usize], k: usize, locks: &[Option<usize>], label_parts: &[usize]) -> Vec<usize> {
    let mut map = vec![usize::MAX; k];
    let mut used = vec![false; k];
    for (n, lock) in locks.iter().enumerate() {
        if let Some(l) = lock {
            let target = label_parts[*l] - 1;
            map[plan[n]] = target;
            used[target] = true;
        }
    }
    let mut free = (0..k).filter(|&i| !used[i]);
    for &p in plan {
        if map[p] == usize::MAX {
            map[p] = free.next().unwrap_or(0);
        }
    }
    plan.iter().map(|&p| map[p]).collect()
}

/// One plan as a candidate: a proposal built by the split helper from the grid groups, with
/// names, the parent's code and office on the part holding the office, and required staffing
/// and space; then validated.
#[allow(clippy::too_many_arguments)]
fn candidate(
    registry: &Registry,
    guidelines: &Guidelines,
    community: &Community,
    graph: &GridGraph,
    plan: &[usize],
    k: usize,
    rank: usize,
    score: Score,
) -> Result<Candidate, SuggestError> {
    let groups: Vec<Vec<String>> = (0..k)
        .map(|p| {
            (0..graph.len())
                .filter(|&v| plan[v] == p)
                .map(|v| registry.grids[graph.grids[v]].code.clone())
                .collect()
        })
        .collect();
    let mut proposal = split_by_groups(registry, &community.code, &groups)
        .map_err(|e| SuggestError::Invalid("community", e.to_string()))?;
    let sums = score::PartSums::of(graph, plan, k);
    // The part whose grids hold the parent's office keeps the parent; else the biggest part.
    let office_part = community
        .office
        .and_then(|o| (0..graph.len()).find(|&v| registry.grids[graph.grids[v]].area.contains(&o)))
        .map(|v| plan[v])
        .unwrap_or_else(|| {
            (0..k)
                .max_by_key(|&p| (sums.households[p], std::cmp::Reverse(p)))
                .unwrap_or(0)
        });
    let (lo, hi) = band(guidelines, community);
    let mut parts = Vec::new();
    let mut new_number = 0;
    let features = proposal
        .get_mut("features")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (p, mut feature) in features.into_iter().enumerate() {
        let keeps = p == office_part;
        let name = if keeps {
            community.name.clone()
        } else {
            new_number += 1;
            format!("{}（新{new_number}）", community.name)
        };
        let need = needs(
            guidelines,
            community,
            sums.households[p],
            sums.population[p],
        );
        if let Some(props) = feature.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("name".into(), json!(name));
            props.insert("workers".into(), json!(need.workers));
            props.insert("office_area_m2".into(), json!(need.office_area_m2));
            props.insert("staffing".into(), json!("required"));
            if keeps {
                props.insert("code".into(), json!(community.code));
                if let Some(o) = community.office {
                    props.insert("office".into(), json!([o.x(), o.y()]));
                }
            }
        }
        out.push(feature);
        let pp = if sums.perimeter_m[p] > 0.0 {
            4.0 * std::f64::consts::PI * sums.area_m2[p] / sums.perimeter_m[p].powi(2)
        } else {
            0.0
        };
        let h = sums.households[p];
        parts.push(PartSummary {
            name,
            code: keeps.then(|| community.code.clone()),
            keeps_parent: keeps,
            grids: groups[p].clone(),
            households: h,
            population: sums.population[p],
            needs: need,
            polsby_popper: pp,
            in_band: (h as f64) >= lo && (h as f64) <= hi,
        });
    }
    if let Some(obj) = proposal.as_object_mut() {
        obj.insert("features".into(), Value::Array(out));
    }
    let parsed = parse(&proposal, registry)
        .map_err(|e| SuggestError::Invalid("community", e.to_string()))?;
    let report = validate(&parsed, registry, guidelines);
    let problems = required_problems(&report);
    Ok(Candidate {
        rank,
        score,
        passes: problems.is_empty(),
        verdict: report.verdict,
        problems,
        parts,
        proposal,
        report: report.to_json(),
    })
}
