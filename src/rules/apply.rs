//! What an approved proposal does to the registry: which communities end or are re-drawn, which
//! new ones are created (with new codes), and which grids move (with new codes under their new
//! community). Pure: the store writes the result as a new registry version.
//!
//! Grids are the unit of counts, so a part's territory is rebuilt from the grids it holds
//! (dissolved exactly, keeping the neighbours' shared boundaries vertex for vertex), not taken
//! from the drawing. A grid belongs to the part holding most of its area; validation has already
//! refused proposals that cut grids.

use std::collections::{BTreeMap, HashSet};

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon, Point};
use serde_json::{Value, json};

use super::proposal::{Proposal, ProposalKind};
use crate::geometry::dissolve::dissolve;
use crate::geometry::geojson::area_to_geojson;
use crate::registry::{CommunityKind, Counts, Registry};

/// A grid that moves to another community (and therefore gets a new code).
#[derive(Debug, Clone, PartialEq)]
pub struct GridMove {
    pub from: String,
    pub to: String,
    pub from_community: String,
    pub to_community: String,
    pub households: u64,
}

/// The registry rows an approval ends and creates.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Community codes whose current rows end (the community ends, or is re-drawn below).
    pub end_communities: Vec<String>,
    /// Grid codes whose current rows end (they moved).
    pub end_grids: Vec<String>,
    /// Community features (boundary-file format) valid from the new version.
    pub communities: Vec<Value>,
    /// Grid features valid from the new version, each with the code it had before.
    pub grids: Vec<(Value, String)>,
    pub moves: Vec<GridMove>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "features[{part}] ({name}) holds no whole grid: a community needs grids to count its residents (shequ cannot yet create grids on unassigned land)"
    )]
    NoGrids { part: usize, name: String },
    #[error(
        "grid {grid} of {community} lies in no part (largest share {share:.2}): the parts must cover the parents"
    )]
    Uncovered {
        grid: String,
        community: String,
        share: f64,
    },
    #[error("town {town} has no free community number left (001–999 are all used)")]
    CodesExhausted { town: String },
    #[error("community {community}: {message}")]
    Outline { community: String, message: String },
    #[error("features[{part}] ({name}) lies in no town")]
    NoTown { part: usize, name: String },
    #[error(
        "features[{part}] ({name}) lies in town {town}, but would keep the code {code} of a community of another town; name it differently so it gets a code of its own town"
    )]
    KeepsForeignCode {
        part: usize,
        name: String,
        town: String,
        code: String,
    },
}

/// The area holding the largest share of `grid` (index, share; the first on a tie, 0 if none).
pub(super) fn largest_share<'a>(
    grid: &MultiPolygon<f64>,
    areas: impl Iterator<Item = &'a MultiPolygon<f64>>,
) -> (usize, f64) {
    areas
        .enumerate()
        .map(|(i, area)| (i, share(grid, area)))
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a })
}

/// Share of `grid` inside `part` (planar; a ratio, so degrees are fine).
pub(super) fn share(grid: &MultiPolygon<f64>, part: &MultiPolygon<f64>) -> f64 {
    let (Some(a), Some(b)) = (grid.bounding_rect(), part.bounding_rect()) else {
        return 0.0;
    };
    if a.max().x < b.min().x
        || b.max().x < a.min().x
        || a.max().y < b.min().y
        || b.max().y < a.min().y
    {
        return 0.0;
    }
    let total = grid.unsigned_area();
    if total <= 0.0 {
        return 0.0;
    }
    grid.intersection(part).unsigned_area() / total
}

/// The smallest unused 3-digit number after every number already used under `prefix`.
fn next_code(prefix: &str, used: &HashSet<String>, taken_now: &HashSet<String>) -> Option<String> {
    let width = 3;
    let highest = used
        .iter()
        .chain(taken_now)
        .filter(|c| c.len() == prefix.len() + width && c.starts_with(prefix))
        .filter_map(|c| c[prefix.len()..].parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    (highest < 999).then(|| format!("{prefix}{:03}", highest + 1))
}

/// Plans the change `proposal` makes to `registry`. `used` holds every community and grid code
/// the city has ever had (codes are never reused).
pub fn plan(
    proposal: &Proposal,
    registry: &Registry,
    used: &HashSet<String>,
) -> Result<Change, ApplyError> {
    let (holdings, kept) = assign_grids(proposal, registry)?;
    let towns = home_towns(proposal, registry)?;
    let codes = part_codes(proposal, registry, &towns, used)?;
    let mut change = Change::default();
    for &p in &proposal.parents {
        let c = &registry.communities[p];
        if !kept.contains_key(&p) || codes.contains(&c.code) {
            change.end_communities.push(c.code.clone());
        }
    }
    let mut grid_numbers_taken: HashSet<String> = HashSet::new();
    for (i, part) in proposal.parts.iter().enumerate() {
        let code = &codes[i];
        let mut grids = holdings[i].clone();
        grids.sort_unstable();
        let (geometry, counts) = outline(registry, code, &grids)?;
        let new = NewCommunity {
            code,
            name: &part.name,
            town_code: &registry.towns[towns[i]].code,
            kind: part.kind,
            workers: part.workers,
            office_area_m2: part.office_area_m2,
            office: part.office,
        };
        change.communities.push(new.feature(geometry, counts));
        for &g in &grids {
            move_grid(
                &mut change,
                registry,
                g,
                (code, &part.name),
                used,
                &mut grid_numbers_taken,
            )?;
        }
    }
    // Parents of a `new` proposal that keep some grids are re-drawn around them.
    for (&p, grids) in &kept {
        let c = &registry.communities[p];
        if codes.contains(&c.code) || grids.len() == c.grids.len() {
            continue; // given to a part, or untouched
        }
        change.end_communities.push(c.code.clone());
        let (geometry, counts) = outline(registry, &c.code, grids)?;
        let redrawn = NewCommunity {
            code: &c.code,
            name: &c.name,
            town_code: &registry.towns[c.town].code,
            kind: c.kind,
            workers: c.workers,
            office_area_m2: c.office_area_m2,
            office: c.office,
        };
        change.communities.push(redrawn.feature(geometry, counts));
    }
    change.end_communities.sort();
    change.end_communities.dedup();
    Ok(change)
}

/// Grids of the parents by the part holding most of each (index = part); for a `new`
/// proposal, the grids the parents keep (no part holds half of them).
type Assignment = (Vec<Vec<usize>>, BTreeMap<usize, Vec<usize>>);

/// Each grid of the parents goes to the part holding most of it.
fn assign_grids(proposal: &Proposal, registry: &Registry) -> Result<Assignment, ApplyError> {
    let mut holdings: Vec<Vec<usize>> = vec![Vec::new(); proposal.parts.len()];
    let mut kept: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &p in &proposal.parents {
        for &g in &registry.communities[p].grids {
            let grid = &registry.grids[g];
            let (best, s) = largest_share(&grid.area, proposal.parts.iter().map(|p| &p.area));
            if s >= 0.5 {
                holdings[best].push(g);
            } else if proposal.kind == ProposalKind::New {
                kept.entry(p).or_default().push(g);
            } else {
                return Err(ApplyError::Uncovered {
                    grid: grid.code.clone(),
                    community: registry.communities[p].code.clone(),
                    share: s,
                });
            }
        }
    }
    if let Some(part) = holdings.iter().position(Vec::is_empty) {
        return Err(ApplyError::NoGrids {
            part,
            name: proposal.parts[part].name.clone(),
        });
    }
    Ok((holdings, kept))
}

/// Each part belongs to the town it lies in (never the town of a parent): its code and its
/// `town_code` come from there.
fn home_towns(proposal: &Proposal, registry: &Registry) -> Result<Vec<usize>, ApplyError> {
    proposal
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            super::town::home_town(&part.area, registry).ok_or_else(|| ApplyError::NoTown {
                part: i,
                name: part.name.clone(),
            })
        })
        .collect()
}

/// A part named like one of its parents keeps that parent's code (the community is re-drawn);
/// other parts are new communities with new codes.
fn part_codes(
    proposal: &Proposal,
    registry: &Registry,
    towns: &[usize],
    used: &HashSet<String>,
) -> Result<Vec<String>, ApplyError> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut codes = Vec::new();
    for (i, part) in proposal.parts.iter().enumerate() {
        let town = &registry.towns[towns[i]];
        let keeps = (proposal.kind != ProposalKind::New)
            .then(|| {
                proposal
                    .parents
                    .iter()
                    .map(|&p| &registry.communities[p])
                    .find(|c| c.name == part.name && !taken.contains(&c.code))
            })
            .flatten();
        let code = match keeps {
            Some(c) if c.town != towns[i] => {
                return Err(ApplyError::KeepsForeignCode {
                    part: i,
                    name: part.name.clone(),
                    town: town.code.clone(),
                    code: c.code.clone(),
                });
            }
            Some(c) => c.code.clone(),
            None => {
                next_code(&town.code, used, &taken).ok_or_else(|| ApplyError::CodesExhausted {
                    town: town.code.clone(),
                })?
            }
        };
        taken.insert(code.clone());
        codes.push(code);
    }
    Ok(codes)
}

/// The outline of community `code` made of `grids`, and their counts.
fn outline(
    registry: &Registry,
    code: &str,
    grids: &[usize],
) -> Result<(Value, Counts), ApplyError> {
    let area =
        dissolve(grids.iter().flat_map(|&g| registry.grids[g].area.0.iter())).map_err(|e| {
            ApplyError::Outline {
                community: code.to_owned(),
                message: e.to_string(),
            }
        })?;
    let counts = grids
        .iter()
        .fold(Counts::default(), |a, &g| a + registry.grids[g].counts);
    Ok((area_to_geojson(&area, None), counts))
}

/// The properties of a community the change writes (a part, or a parent re-drawn).
struct NewCommunity<'a> {
    code: &'a str,
    name: &'a str,
    town_code: &'a str,
    kind: CommunityKind,
    workers: u32,
    office_area_m2: f64,
    office: Option<Point<f64>>,
}

impl NewCommunity<'_> {
    fn feature(&self, geometry: Value, counts: Counts) -> Value {
        json!({
            "type": "Feature",
            "properties": {
                "code": self.code, "name": self.name, "town_code": self.town_code,
                "kind": self.kind.as_str(), "workers": self.workers,
                "office_area_m2": self.office_area_m2,
                "office": self.office.map(|o| [o.x(), o.y()]),
                "households": counts.households, "population": counts.population,
                "service_households": counts.service_households,
            },
            "geometry": geometry,
        })
    }
}

/// Moves grid `g` into community `to` (code, name) under a new code, unless it is already
/// there.
fn move_grid(
    change: &mut Change,
    registry: &Registry,
    g: usize,
    to: (&str, &str),
    used: &HashSet<String>,
    taken: &mut HashSet<String>,
) -> Result<(), ApplyError> {
    let (code, name) = to;
    let grid = &registry.grids[g];
    let from_community = &registry.communities[grid.community];
    if from_community.code == code {
        return Ok(());
    }
    let new_code = next_code(code, used, taken).ok_or_else(|| ApplyError::CodesExhausted {
        town: code.to_owned(),
    })?;
    taken.insert(new_code.clone());
    let number: u32 = new_code[code.len()..].parse().unwrap_or(0);
    change.end_grids.push(grid.code.clone());
    change.grids.push((
        json!({
            "type": "Feature",
            "properties": {
                "code": new_code, "name": format!("{name}第{number}网格"),
                "community_code": code,
                "households": grid.counts.households, "population": grid.counts.population,
                "service_households": grid.counts.service_households,
            },
            "geometry": area_to_geojson(&grid.area, None),
        }),
        grid.code.clone(),
    ));
    change.moves.push(GridMove {
        from: grid.code.clone(),
        to: new_code,
        from_community: from_community.code.clone(),
        to_community: code.to_owned(),
        households: grid.counts.households,
    });
    Ok(())
}
