//! What an approved proposal does to the registry: which communities end or are re-drawn, which
//! new ones are created (with new codes), and which grids move (with new codes under their new
//! community). Pure: the store writes the result as a new registry version.
//!
//! Grids are the unit of counts, so a part's territory is rebuilt from the grids it holds
//! (dissolved exactly, keeping the neighbours' shared boundaries vertex for vertex), not taken
//! from the drawing. A grid belongs to the part holding most of its area; validation has already
//! refused proposals that cut grids.

use std::collections::{BTreeMap, HashSet};

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon};
use serde_json::{Value, json};

use super::proposal::{Proposal, ProposalKind};
use crate::geometry::dissolve::dissolve;
use crate::geometry::geojson::area_to_geojson;
use crate::registry::{Counts, Registry};

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

/// Share of `grid` inside `part` (planar; a ratio, so degrees are fine).
fn share(grid: &MultiPolygon<f64>, part: &MultiPolygon<f64>) -> f64 {
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
    let parents: Vec<usize> = proposal.parents.clone();
    // Each grid of the parents goes to the part holding most of it.
    let mut holdings: Vec<Vec<usize>> = vec![Vec::new(); proposal.parts.len()];
    let mut kept: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &p in &parents {
        for &g in &registry.communities[p].grids {
            let grid = &registry.grids[g];
            let (best, s) = proposal
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| (i, share(&grid.area, &part.area)))
                .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
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

    let mut change = Change::default();
    let mut taken: HashSet<String> = HashSet::new();
    // Each part belongs to the town it lies in (never the town of a parent): its code and its
    // `town_code` come from there.
    let towns: Vec<usize> = proposal
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            super::town::home_town(&part.area, registry).ok_or_else(|| ApplyError::NoTown {
                part: i,
                name: part.name.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    // A part named like one of its parents keeps that parent's code (the community is
    // re-drawn); other parts are new communities with new codes.
    let mut codes = Vec::new();
    for (i, part) in proposal.parts.iter().enumerate() {
        let town = &registry.towns[towns[i]];
        let keeps = (proposal.kind != ProposalKind::New)
            .then(|| {
                parents
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
    for &p in &parents {
        let c = &registry.communities[p];
        if !kept.contains_key(&p) || codes.contains(&c.code) {
            change.end_communities.push(c.code.clone());
        }
    }

    let outline =
        |code: &str, grids: &[usize]| -> Result<(Value, Counts), ApplyError> {
            let area = dissolve(grids.iter().flat_map(|&g| registry.grids[g].area.0.iter()))
                .map_err(|e| ApplyError::Outline {
                    community: code.to_owned(),
                    message: e.to_string(),
                })?;
            let counts = grids
                .iter()
                .fold(Counts::default(), |a, &g| a + registry.grids[g].counts);
            Ok((area_to_geojson(&area, None), counts))
        };
    let mut grid_numbers_taken: HashSet<String> = HashSet::new();
    for (i, part) in proposal.parts.iter().enumerate() {
        let code = &codes[i];
        let town = &registry.towns[towns[i]];
        let mut grids = holdings[i].clone();
        grids.sort_unstable();
        let (geometry, counts) = outline(code, &grids)?;
        change.communities.push(json!({
            "type": "Feature",
            "properties": {
                "code": code, "name": part.name, "town_code": town.code,
                "kind": part.kind.as_str(), "workers": part.workers,
                "office_area_m2": part.office_area_m2,
                "office": part.office.map(|o| [o.x(), o.y()]),
                "households": counts.households, "population": counts.population,
                "service_households": counts.service_households,
            },
            "geometry": geometry,
        }));
        for &g in &grids {
            let grid = &registry.grids[g];
            let from_community = &registry.communities[grid.community];
            if &from_community.code == code {
                continue;
            }
            let new_code = next_code(code, used, &grid_numbers_taken)
                .ok_or_else(|| ApplyError::CodesExhausted { town: code.clone() })?;
            grid_numbers_taken.insert(new_code.clone());
            let number: u32 = new_code[code.len()..].parse().unwrap_or(0);
            change.end_grids.push(grid.code.clone());
            change.grids.push((
                json!({
                    "type": "Feature",
                    "properties": {
                        "code": new_code, "name": format!("{}第{number}网格", part.name),
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
                to_community: code.clone(),
                households: grid.counts.households,
            });
        }
    }
    // Parents of a `new` proposal that keep some grids are re-drawn around them.
    for (&p, grids) in &kept {
        let c = &registry.communities[p];
        if codes.contains(&c.code) {
            continue;
        }
        if grids.len() == c.grids.len() {
            continue; // untouched
        }
        change.end_communities.push(c.code.clone());
        let (geometry, counts) = outline(&c.code, grids)?;
        change.communities.push(json!({
            "type": "Feature",
            "properties": {
                "code": c.code, "name": c.name, "town_code": registry.towns[c.town].code,
                "kind": c.kind.as_str(), "workers": c.workers,
                "office_area_m2": c.office_area_m2,
                "office": c.office.map(|o| [o.x(), o.y()]),
                "households": counts.households, "population": counts.population,
                "service_households": counts.service_households,
            },
            "geometry": geometry,
        }));
    }
    change.end_communities.sort();
    change.end_communities.dedup();
    Ok(change)
}
