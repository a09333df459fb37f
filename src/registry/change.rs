//! An approved change applied to a registry in memory: the registry the new version would load
//! to, built from the current one without reading, parsing or noding the whole city again.
//!
//! Why this is the same registry a full load of the new version gives: the loader's checks are
//! per feature (fields, codes, geometry validity, plausible values) or between a feature and its
//! parent or children (codes extend the parent's, the parent exists, given counts match the
//! grids' sums, no duplicate code). Untouched features passed those checks when the current
//! registry loaded and nothing they are checked against has changed, except where a parent or
//! child was ended or created; so the new features are loaded through the loader itself (with
//! the towns they name and the grids they keep) and the links that cross between new and kept
//! features (duplicate codes, grids whose community ended) are checked here.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use geo::BoundingRect;
use serde_json::{Value, json};

use super::level::Level;
use super::load::load_features;
use super::model::{Community, Counts, Grid, Registry, Town};
use super::plausible::Plausible;
use super::problem::{LoadError, Problem};
use crate::geometry::geojson::area_to_geojson;
use crate::geometry::noding::node;

/// The features an approved change ends and adds (the store's rows, as `rules::plan` made them).
pub struct Edit<'a> {
    pub end_communities: &'a [String],
    pub end_grids: &'a [String],
    /// New community features (boundary-file format).
    pub communities: &'a [Value],
    /// New grid features (boundary-file format).
    pub grids: &'a [Value],
}

/// What an [`Edit`] touched, for whoever rebuilds only that (index, audit, tiles).
#[derive(Debug, Clone, Default)]
pub struct Touched {
    /// Codes of communities ended, created or re-noded (in either registry).
    pub communities: BTreeSet<String>,
    /// Codes of grids ended, created or re-noded (in either registry).
    pub grids: BTreeSet<String>,
    /// Codes of towns whose geometry was re-noded.
    pub towns: BTreeSet<String>,
    /// The box (lon/lat) holding every touched feature, old and new; `None` if nothing was.
    pub bounds: Option<geo::Rect<f64>>,
    /// T-junctions the local noding pass resolved.
    pub junctions: usize,
}

impl Touched {
    fn grow(&mut self, area: &geo::MultiPolygon<f64>) {
        if let Some(b) = area.bounding_rect() {
            self.bounds = Some(match self.bounds {
                Some(a) => crate::geometry::union_bounds([a, b]).unwrap_or(a),
                None => b,
            });
        }
    }
}

fn problem(file: &str, code: &str, field: &str, message: String) -> Problem {
    Problem {
        file: file.to_owned(),
        feature: None,
        code: Some(code.to_owned()),
        field: Some(field.to_owned()),
        message,
    }
}

fn town_json(t: &Town) -> Value {
    json!({"type": "Feature", "properties": {"code": t.code, "name": t.name},
           "geometry": area_to_geojson(&t.area, None)})
}

fn grid_json(r: &Registry, g: &Grid) -> Value {
    json!({"type": "Feature",
           "properties": {"code": g.code, "name": g.name,
                          "community_code": r.communities[g.community].code,
                          "households": g.counts.households, "population": g.counts.population,
                          "service_households": g.counts.service_households},
           "geometry": area_to_geojson(&g.area, None)})
}

fn code_of(f: &Value, field: &str) -> String {
    f.pointer(&format!("/properties/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A community or grid of the new registry: kept from the current one, or new.
enum Source {
    Kept(usize),
    New(usize),
}

impl Registry {
    /// The registry after `edit`, checked as the loader would check the new version, with the
    /// new features noded against their neighbourhood (`tolerance_m`, see [`Registry::node`]).
    /// Nothing of `self` changes.
    pub fn with_edit(
        &self,
        edit: &Edit,
        plausible: &Plausible,
        tolerance_m: f64,
    ) -> Result<(Registry, Touched), LoadError> {
        let ended_c: HashSet<&str> = edit.end_communities.iter().map(String::as_str).collect();
        let ended_g: HashSet<&str> = edit.end_grids.iter().map(String::as_str).collect();
        let mut problems = Vec::new();
        let missing_c = ended_c
            .iter()
            .filter(|c| self.community_by_code(c).is_none());
        let missing_g = ended_g.iter().filter(|g| self.grid_by_code(g).is_none());
        for (file, code) in missing_c
            .map(|c| ("communities.geojson", c))
            .chain(missing_g.map(|g| ("grids.geojson", g)))
        {
            problems.push(problem(
                file,
                code,
                "code",
                "ends, but does not exist".into(),
            ));
        }
        let new_codes: HashSet<String> = edit
            .communities
            .iter()
            .map(|f| code_of(f, "code"))
            .collect();
        // The new features go through the loader with the towns they name and the grids the
        // communities they (re)create keep, so that their own checks and their links are the
        // loader's.
        let town_codes: BTreeSet<String> = edit
            .communities
            .iter()
            .map(|f| code_of(f, "town_code"))
            .collect();
        let towns_json = town_codes
            .iter()
            .filter_map(|c| self.town_by_code(c))
            .map(|t| town_json(&self.towns[t]))
            .collect();
        let kept_grids: Vec<usize> = (0..self.grids.len())
            .filter(|&g| {
                let grid = &self.grids[g];
                !ended_g.contains(grid.code.as_str())
                    && new_codes.contains(&self.communities[grid.community].code)
            })
            .collect();
        let grids_json = edit
            .grids
            .iter()
            .cloned()
            .chain(kept_grids.iter().map(|&g| grid_json(self, &self.grids[g])))
            .collect();
        let mini = load_features(
            [towns_json, edit.communities.to_vec(), grids_json],
            plausible,
        );
        let mini = match mini {
            Ok(m) => m,
            Err(e) => {
                problems.extend(e.problems);
                return Err(LoadError { problems });
            }
        };
        // Links between kept and new features.
        for c in &mini.communities {
            if self
                .community_by_code(&c.code)
                .is_some_and(|o| !ended_c.contains(self.communities[o].code.as_str()))
            {
                problems.push(problem(
                    "communities.geojson",
                    &c.code,
                    "code",
                    "duplicate code".into(),
                ));
            }
        }
        // A new grid hangs under a new community (else the loader reports an unknown
        // community), whose kept grids went through the loader with it: a duplicate grid code
        // is the loader's problem already.
        let kept_codes: HashSet<&str> = kept_grids
            .iter()
            .map(|&g| self.grids[g].code.as_str())
            .collect();
        for g in &self.grids {
            let community = &self.communities[g.community].code;
            if !ended_g.contains(g.code.as_str())
                && ended_c.contains(community.as_str())
                && !new_codes.contains(community)
            {
                problems.push(problem(
                    "grids.geojson",
                    &g.code,
                    "community_code",
                    format!("unknown community {community}"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        let mut registry = self.merged(&mini, &ended_c, &ended_g, &kept_codes);
        let mut touched = Touched::default();
        for c in edit.end_communities {
            if let Some(t) = self
                .community_by_code(c)
                .and_then(|i| self.communities[i].territory.as_deref())
            {
                touched.grow(t);
            }
            touched.communities.insert(c.clone());
        }
        for g in edit.end_grids {
            if let Some(i) = self.grid_by_code(g) {
                touched.grow(&self.grids[i].area);
            }
            touched.grids.insert(g.clone());
        }
        for c in &mini.communities {
            touched.communities.insert(c.code.clone());
        }
        for g in &mini.grids {
            if !kept_codes.contains(g.code.as_str()) {
                touched.grids.insert(g.code.clone());
            }
        }
        registry.node_touched(&mut touched, tolerance_m);
        Ok((registry, touched))
    }

    /// `self` without the ended features, with `mini`'s communities and new grids, linked anew.
    fn merged(
        &self,
        mini: &Registry,
        ended_c: &HashSet<&str>,
        ended_g: &HashSet<&str>,
        kept: &HashSet<&str>,
    ) -> Registry {
        let mut communities: Vec<(&str, Source)> = self
            .communities
            .iter()
            .enumerate()
            .filter(|(_, c)| !ended_c.contains(c.code.as_str()))
            .map(|(i, c)| (c.code.as_str(), Source::Kept(i)))
            .chain(
                mini.communities
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.code.as_str(), Source::New(i))),
            )
            .collect();
        communities.sort_by(|a, b| a.0.cmp(b.0));
        let mut grids: Vec<(&str, Source)> = self
            .grids
            .iter()
            .enumerate()
            .filter(|(_, g)| !ended_g.contains(g.code.as_str()))
            .map(|(i, g)| (g.code.as_str(), Source::Kept(i)))
            .chain(
                mini.grids
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| !kept.contains(g.code.as_str()))
                    .map(|(i, g)| (g.code.as_str(), Source::New(i))),
            )
            .collect();
        grids.sort_by(|a, b| a.0.cmp(b.0));
        let community_pos: HashMap<&str, usize> = communities
            .iter()
            .enumerate()
            .map(|(i, (code, _))| (*code, i))
            .collect();
        let mut towns: Vec<Town> = self
            .towns
            .iter()
            .map(|t| Town {
                communities: Vec::new(),
                ..t.clone()
            })
            .collect();
        let mut new_communities: Vec<Community> = communities
            .iter()
            .map(|(_, from)| match *from {
                Source::Kept(i) => self.communities[i].clone(),
                Source::New(i) => {
                    let c = &mini.communities[i];
                    let town = self
                        .town_by_code(&mini.towns[c.town].code)
                        .unwrap_or(c.town);
                    Community { town, ..c.clone() }
                }
            })
            .collect();
        for (i, c) in new_communities.iter_mut().enumerate() {
            towns[c.town].communities.push(i);
            c.grids.clear();
        }
        let sums: Vec<bool> = new_communities
            .iter()
            .map(|c| c.territory.is_some())
            .collect();
        let mut totals = vec![Counts::default(); new_communities.len()];
        let new_grids: Vec<Grid> = grids
            .iter()
            .enumerate()
            .map(|(pos, (_, from))| {
                let (grid, community_code) = match *from {
                    Source::Kept(i) => (
                        &self.grids[i],
                        &self.communities[self.grids[i].community].code,
                    ),
                    Source::New(i) => (
                        &mini.grids[i],
                        &mini.communities[mini.grids[i].community].code,
                    ),
                };
                let community = community_pos
                    .get(community_code.as_str())
                    .copied()
                    .unwrap_or(0);
                new_communities[community].grids.push(pos);
                totals[community] += grid.counts;
                Grid {
                    community,
                    ..grid.clone()
                }
            })
            .collect();
        for ((c, total), has_territory) in new_communities.iter_mut().zip(totals).zip(sums) {
            if has_territory && !c.grids.is_empty() {
                c.counts = total;
            }
        }
        Registry::from_parts(towns, new_communities, new_grids)
    }

    /// Nodes the touched features (`touched`, new codes) with every feature near them, the way
    /// [`Registry::node`] nodes the whole city, and adds the neighbours that gained a vertex.
    fn node_touched(&mut self, touched: &mut Touched, tolerance_m: f64) {
        let mut own = Touched::default();
        for c in &self.communities {
            if let Some(t) = c
                .territory
                .as_deref()
                .filter(|_| touched.communities.contains(&c.code))
            {
                own.grow(t);
            }
        }
        for g in &self.grids {
            if touched.grids.contains(&g.code) {
                own.grow(&g.area);
            }
        }
        let Some(b) = own.bounds.or(touched.bounds) else {
            return;
        };
        // Degrees comfortably above the tolerance anywhere in China (1° ≥ 50 km there).
        let pad = (tolerance_m / 50_000.0).max(0.0) * 2.0;
        let near = |area: &geo::MultiPolygon<f64>| {
            area.bounding_rect().is_some_and(|a| {
                a.min().x <= b.max().x + pad
                    && b.min().x - pad <= a.max().x
                    && a.min().y <= b.max().y + pad
                    && b.min().y - pad <= a.max().y
            })
        };
        let vertices = |a: &geo::MultiPolygon<f64>| -> usize {
            a.iter()
                .map(|p| {
                    p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
                })
                .sum()
        };
        // (level, index, vertices before) of every area taking part, and a copy of it to node:
        // only the areas the noding changes replace the ones shared with the registry this was
        // made from.
        let mut who: Vec<(Level, usize, usize)> = Vec::new();
        let mut copies: Vec<geo::MultiPolygon<f64>> = Vec::new();
        let mut take = |level: Level, i: usize, area: &geo::MultiPolygon<f64>| {
            if near(area) {
                who.push((level, i, vertices(area)));
                copies.push(area.clone());
            }
        };
        for (i, t) in self.towns.iter().enumerate() {
            take(Level::Town, i, &t.area);
        }
        for (i, c) in self.communities.iter().enumerate() {
            if let Some(t) = &c.territory {
                take(Level::Community, i, t);
            }
        }
        for (i, g) in self.grids.iter().enumerate() {
            take(Level::Grid, i, &g.area);
        }
        touched.junctions = node(&mut copies.iter_mut().collect::<Vec<_>>(), tolerance_m);
        for ((level, i, before), area) in who.into_iter().zip(copies) {
            if vertices(&area) == before {
                continue;
            }
            touched.grow(&area);
            let area = Arc::new(area);
            match level {
                Level::Town => {
                    touched.towns.insert(self.towns[i].code.clone());
                    self.towns[i].area = area;
                }
                Level::Community => {
                    touched.communities.insert(self.communities[i].code.clone());
                    self.communities[i].territory = Some(area);
                }
                Level::Grid => {
                    touched.grids.insert(self.grids[i].code.clone());
                    self.grids[i].area = area;
                }
            }
        }
        if let Some(b) = own.bounds {
            touched.bounds = Some(match touched.bounds {
                Some(a) => crate::geometry::union_bounds([a, b]).unwrap_or(a),
                None => b,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::registry::test_city::{self, C1, C2, T1, community, grid, rect};

    const C4: &str = "440100001004";
    const C5: &str = "440100001005";
    const TOLERANCE_M: f64 = 0.5;

    fn base() -> Registry {
        let mut r = load_features(test_city::city(), &Plausible::default()).expect("loads");
        r.node(TOLERANCE_M);
        r
    }

    /// C2 split into C4 (its southern grid) and C5 (its northern grid).
    fn split() -> (Vec<String>, Vec<String>, Vec<Value>, Vec<Value>) {
        (
            vec![C2.to_owned()],
            vec!["440100001002001".to_owned(), "440100001002002".to_owned()],
            vec![
                community(C4, T1, rect(1.0, 0.0, 2.0, 1.0)),
                community(C5, T1, rect(1.0, 1.0, 2.0, 2.0)),
            ],
            vec![
                grid("440100001004001", C4, 30, rect(1.0, 0.0, 2.0, 1.0)),
                grid("440100001005001", C5, 20, rect(1.0, 1.0, 2.0, 2.0)),
            ],
        )
    }

    fn apply(
        ended: (&[String], &[String]),
        communities: &[Value],
        grids: &[Value],
    ) -> Result<(Registry, Touched), LoadError> {
        let edit = Edit {
            end_communities: ended.0,
            end_grids: ended.1,
            communities,
            grids,
        };
        base().with_edit(&edit, &Plausible::default(), TOLERANCE_M)
    }

    fn messages(e: LoadError) -> Vec<String> {
        e.problems
            .into_iter()
            .map(|p| format!("{} {}", p.code.unwrap_or_default(), p.message))
            .collect()
    }

    #[test]
    fn a_split_gives_the_registry_a_full_load_of_the_new_features_gives() {
        let (ec, eg, communities, grids) = split();
        let (got, touched) = apply((&ec, &eg), &communities, &grids).expect("applies");
        // Independently: the files as they would be after the change, loaded and noded whole.
        let [towns, mut all_c, mut all_g] = test_city::city();
        all_c.retain(|f| f["properties"]["code"] != C2);
        all_g.retain(|f| f["properties"]["community_code"] != C2);
        all_c.extend(communities);
        all_g.extend(grids);
        let mut want = load_features([towns, all_c, all_g], &Plausible::default()).expect("loads");
        want.node(TOLERANCE_M);
        assert_eq!(format!("{:?}", got.towns), format!("{:?}", want.towns));
        assert_eq!(
            format!("{:?}", got.communities),
            format!("{:?}", want.communities)
        );
        assert_eq!(format!("{:?}", got.grids), format!("{:?}", want.grids));
        assert_eq!(got.community_by_code(C5), want.community_by_code(C5));
        assert!(touched.communities.contains(C2) && touched.communities.contains(C4));
        assert!(touched.grids.contains("440100001005001"));
        assert!(!touched.communities.contains(C1));
    }

    #[test]
    fn ending_what_does_not_exist_is_refused() {
        let (_, eg, communities, grids) = split();
        let ec = vec![C2.to_owned(), "440100001009".to_owned()];
        let e = apply((&ec, &eg), &communities, &grids).expect_err("refused");
        assert_eq!(
            messages(e),
            ["440100001009 ends, but does not exist"],
            "one problem, the missing code"
        );
    }

    #[test]
    fn a_new_code_already_held_by_a_kept_feature_is_refused() {
        let (ec, eg, mut communities, grids) = split();
        // C1 is kept, so a new C1 duplicates it.
        communities.push(community(C1, T1, rect(0.0, 0.0, 1.0, 1.0)));
        let e = apply((&ec, &eg), &communities, &grids).expect_err("refused");
        assert_eq!(messages(e), [format!("{C1} duplicate code")]);
        // A new grid with a kept grid's code: it hangs under a new community, whose kept
        // grids the loader sees beside it.
        let (ec, mut eg, mut communities, mut grids) = split();
        communities[0] = community(C2, T1, rect(1.0, 0.0, 2.0, 1.0));
        grids[0] = grid("440100001002002", C2, 30, rect(1.0, 0.0, 2.0, 1.0));
        eg.pop();
        let e = apply((&ec, &eg), &communities, &grids).expect_err("refused");
        let got = messages(e);
        assert!(
            got.iter()
                .any(|m| m.starts_with("440100001002002 duplicate code")),
            "{got:?}"
        );
    }

    #[test]
    fn a_grid_left_without_its_community_is_refused() {
        let (ec, _, communities, grids) = split();
        // C2 ends but its northern grid does not, and no new community takes its code.
        let eg = vec!["440100001002001".to_owned()];
        let e = apply((&ec, &eg), &communities, &grids).expect_err("refused");
        assert_eq!(
            messages(e),
            [format!("440100001002002 unknown community {C2}")]
        );
    }

    #[test]
    fn a_new_feature_the_loader_refuses_is_refused_with_the_loaders_problem() {
        let (ec, eg, mut communities, grids) = split();
        communities[0]["properties"]["workers"] = serde_json::json!(-1);
        let e = apply((&ec, &eg), &communities, &grids).expect_err("refused");
        let got = e.problems;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].code.as_deref(), Some(C4));
        assert_eq!(got[0].field.as_deref(), Some("workers"));
    }
}
