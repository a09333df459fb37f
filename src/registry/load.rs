//! Reading a boundary directory into a `Registry`, checking everything a lookup or a rule relies
//! on. All problems are collected and returned together; on any problem nothing is loaded.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use geo::{LineString, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value};

use super::level::Level;
use super::model::{Community, CommunityKind, Counts, Grid, Registry, Town};
use super::problem::{LoadError, Problem};
use crate::geometry::check_polygon_rings;

/// The files a boundary directory holds, in load order ([`Level::file`] of [`Level::ALL`]).
pub const FILES: [&str; 3] = [TOWNS, COMMUNITIES, GRIDS];
const TOWNS: &str = Level::Town.file();
const COMMUNITIES: &str = Level::Community.file();
const GRIDS: &str = Level::Grid.file();

const TOWN_DIGITS: usize = Level::Town.code_digits();
const COMMUNITY_DIGITS: usize = Level::Community.code_digits();
const GRID_DIGITS: usize = Level::Grid.code_digits();
/// Largest count (households, population, workers) a feature may give: more than any city has
/// people, so only typos and absurd input are refused, and sums over a city's features stay far
/// from `u64`'s range.
pub const MAX_COUNT: u64 = 100_000_000;
/// Largest area (office and service space) a feature may give, in m² (1 km²).
pub const MAX_AREA_M2: f64 = 1_000_000.0;

const COUNT_FIELDS: [&str; 3] = ["households", "population", "service_households"];

/// Loads `towns.geojson`, `communities.geojson` and `grids.geojson` from `dir`.
pub fn load_dir(dir: &Path) -> Result<Registry, LoadError> {
    let mut problems = Vec::new();
    let collections = FILES.map(|file| read_features(dir, file, &mut problems));
    load_parts(collections, problems)
}

/// Checks and assembles the features of the three layers (towns, communities, grids, each in
/// the boundary files' format) as they come from elsewhere, e.g. the store. Problems name the
/// file the features would be in.
pub fn load_features(collections: [Vec<Value>; 3]) -> Result<Registry, LoadError> {
    load_parts(collections.map(Some), Vec::new())
}

fn load_parts(
    collections: [Option<Vec<Value>>; 3],
    mut problems: Vec<Problem>,
) -> Result<Registry, LoadError> {
    let [towns, communities, grids] = collections;
    let towns = parse_features(TOWNS, towns, "code", parse_town, &mut problems);
    let communities = parse_features(
        COMMUNITIES,
        communities,
        "town_code",
        parse_community,
        &mut problems,
    );
    let grids = parse_features(GRIDS, grids, "community_code", parse_grid, &mut problems);
    let registry = assemble(towns, communities, grids, &mut problems);
    match registry {
        Some(registry) if problems.is_empty() => Ok(registry),
        _ => Err(LoadError { problems }),
    }
}

/// The records of one file that parsed cleanly, plus what is known of those that did not, so
/// that one broken feature does not make its parent or children report follow-on problems.
struct Parsed<T> {
    records: Vec<T>,
    /// Codes of every feature, parsed or not.
    codes: HashSet<String>,
    /// Parent codes named by features that did not parse.
    parents_of_broken: HashSet<String>,
}

fn parse_features<T>(
    file: &'static str,
    features: Option<Vec<Value>>,
    parent_field: &str,
    parse: impl Fn(&mut Ctx) -> Option<T>,
    problems: &mut Vec<Problem>,
) -> Option<Parsed<T>> {
    let features = features?;
    let mut parsed = Parsed {
        records: Vec::with_capacity(features.len()),
        codes: HashSet::new(),
        parents_of_broken: HashSet::new(),
    };
    for (index, feature) in features.iter().enumerate() {
        let mut ctx = Ctx::new(file, index, feature, problems);
        let record = parse(&mut ctx);
        if let Some(code) = &ctx.code {
            parsed.codes.insert(code.clone());
        }
        match record {
            Some(r) => parsed.records.push(r),
            None => {
                let parent = ctx
                    .props
                    .and_then(|p| p.get(parent_field))
                    .and_then(Value::as_str);
                parsed.parents_of_broken.extend(parent.map(str::to_owned));
            }
        }
    }
    Some(parsed)
}

struct RawTown {
    index: usize,
    code: String,
    name: String,
    area: MultiPolygon<f64>,
}

struct RawCommunity {
    index: usize,
    code: String,
    name: String,
    town_code: String,
    kind: CommunityKind,
    workers: u32,
    office_area_m2: f64,
    office: Option<Point<f64>>,
    /// `households`, `population`, `service_households` as given (each optional).
    counts: [Option<u64>; 3],
    territory: Option<MultiPolygon<f64>>,
}

struct RawGrid {
    index: usize,
    code: String,
    name: String,
    community_code: String,
    counts: Counts,
    area: MultiPolygon<f64>,
}

fn read_features(dir: &Path, file: &str, problems: &mut Vec<Problem>) -> Option<Vec<Value>> {
    let mut fail = |message: String| {
        problems.push(Problem {
            file: file.to_owned(),
            feature: None,
            code: None,
            field: None,
            message,
        });
        None
    };
    let path = dir.join(file);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
    };
    let mut root: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(format!("not valid JSON: {e}")),
    };
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return fail("expected a GeoJSON FeatureCollection (member `type`)".to_owned());
    }
    match root.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => Some(features),
        _ => fail("member `features` must be an array".to_owned()),
    }
}

/// Where a feature is, and the problem list its checks report to.
struct Ctx<'a> {
    file: &'static str,
    index: usize,
    feature: &'a Value,
    props: Option<&'a Map<String, Value>>,
    code: Option<String>,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Ctx<'a> {
    fn new(
        file: &'static str,
        index: usize,
        feature: &'a Value,
        problems: &'a mut Vec<Problem>,
    ) -> Self {
        let props = feature.get("properties").and_then(Value::as_object);
        let code = props
            .and_then(|p| p.get("code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut ctx = Ctx {
            file,
            index,
            feature,
            props,
            code,
            problems,
        };
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            ctx.problem(Some("type"), "expected a GeoJSON Feature");
        }
        if props.is_none() {
            ctx.problem(Some("properties"), "missing or not an object");
        }
        ctx
    }

    fn problem(&mut self, field: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            feature: Some(self.index),
            code: self.code.clone(),
            field: field.map(str::to_owned),
            message: message.into(),
        });
    }

    /// The property `field`, reporting it when missing (or null).
    fn required(&mut self, field: &str) -> Option<&'a Value> {
        let props = self.props?;
        match props.get(field) {
            None | Some(Value::Null) => {
                self.problem(Some(field), "missing");
                None
            }
            Some(v) => Some(v),
        }
    }

    fn wrong_type(&mut self, field: &str, expected: &str, found: &Value) {
        self.problem(
            Some(field),
            format!("expected {expected}, found {}", json_type(found)),
        );
    }

    fn string(&mut self, field: &str) -> Option<String> {
        match self.required(field)? {
            Value::String(s) if s.trim().is_empty() => {
                self.problem(Some(field), "must not be empty");
                None
            }
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(field, "a string", other);
                None
            }
        }
    }

    fn code(&mut self, field: &str, digits: usize) -> Option<String> {
        let s = self.string(field)?;
        if s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()) {
            Some(s)
        } else {
            self.problem(
                Some(field),
                format!("malformed code {s:?}: expected {digits} digits"),
            );
            None
        }
    }

    /// A non-negative integer; `None` without a problem when absent and not `required`.
    fn count(&mut self, field: &str, required: bool) -> Option<u64> {
        if !required
            && self
                .props
                .is_some_and(|p| p.get(field).is_none_or(Value::is_null))
        {
            return None;
        }
        let value = self.required(field)?;
        match value.as_u64() {
            Some(n) if n <= MAX_COUNT => Some(n),
            Some(n) => {
                self.problem(
                    Some(field),
                    format!("{n} is implausibly large; at most {MAX_COUNT}"),
                );
                None
            }
            None => {
                self.wrong_type(field, "a non-negative integer", value);
                None
            }
        }
    }

    fn non_negative(&mut self, field: &str) -> Option<f64> {
        let value = self.required(field)?;
        match value.as_f64() {
            Some(x) if (0.0..=MAX_AREA_M2).contains(&x) => Some(x),
            Some(x) if x > MAX_AREA_M2 => {
                self.problem(
                    Some(field),
                    format!("{x} is implausibly large; at most {MAX_AREA_M2}"),
                );
                None
            }
            _ => {
                self.wrong_type(field, "a non-negative number", value);
                None
            }
        }
    }

    fn kind(&mut self) -> Option<CommunityKind> {
        let s = self.string("kind")?;
        CommunityKind::parse(&s).or_else(|| {
            let expected: Vec<&str> = CommunityKind::ALL.iter().map(|k| k.as_str()).collect();
            self.problem(
                Some("kind"),
                format!(
                    "unknown kind {s:?}: expected one of {}",
                    expected.join(", ")
                ),
            );
            None
        })
    }

    /// An optional `[lon, lat]` position; `Err(())` when present but invalid.
    fn position(&mut self, field: &str) -> Result<Option<Point<f64>>, ()> {
        let Some(value) = self
            .props
            .and_then(|p| p.get(field))
            .filter(|v| !v.is_null())
        else {
            return Ok(None);
        };
        match lon_lat(value) {
            Some([lon, lat])
                if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
            {
                Ok(Some(Point::new(lon, lat)))
            }
            Some([lon, lat]) => {
                self.problem(
                    Some(field),
                    format!("position ({lon}, {lat}) is out of range"),
                );
                Err(())
            }
            None => {
                self.wrong_type(field, "a [longitude, latitude] position", value);
                Err(())
            }
        }
    }

    /// The feature's geometry as a multipolygon; `Ok(None)` for a null geometry when `nullable`.
    fn geometry(&mut self, nullable: bool) -> Result<Option<MultiPolygon<f64>>, ()> {
        const FIELD: Option<&str> = Some("geometry");
        let geometry = match self.feature.get("geometry") {
            None => {
                self.problem(FIELD, "missing");
                return Err(());
            }
            Some(Value::Null) if nullable => return Ok(None),
            Some(Value::Null) => {
                self.problem(FIELD, "is null; this feature must have a territory");
                return Err(());
            }
            Some(g) => g,
        };
        match parse_area(geometry) {
            Ok(area) => Ok(Some(area)),
            Err(messages) => {
                for m in messages {
                    self.problem(FIELD, m);
                }
                Err(())
            }
        }
    }
}

/// A GeoJSON Polygon or MultiPolygon geometry object as a checked multipolygon, or every
/// problem found in it (positions malformed, rings too short or open, out of range, crossing).
pub fn parse_area(geometry: &Value) -> Result<MultiPolygon<f64>, Vec<String>> {
    let coordinates = geometry.get("coordinates");
    let polygons: Vec<(String, &Value)> = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => coordinates
            .map(|c| vec![(String::new(), c)])
            .unwrap_or_default(),
        Some("MultiPolygon") => match coordinates.and_then(Value::as_array) {
            Some(parts) => parts
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("polygon {i}: "), p))
                .collect(),
            None => Vec::new(),
        },
        other => {
            let found = other.map_or("no type".to_owned(), |t| format!("type {t:?}"));
            return Err(vec![format!(
                "expected a Polygon or MultiPolygon, found {found}"
            )]);
        }
    };
    if polygons.is_empty() {
        return Err(vec!["`coordinates` missing or empty".to_owned()]);
    }
    let mut result = Vec::with_capacity(polygons.len());
    let mut messages = Vec::new();
    for (prefix, polygon) in polygons {
        match polygon_rings(polygon) {
            Err(message) => messages.push(format!("{prefix}{message}")),
            Ok(rings) => {
                messages.extend(
                    check_polygon_rings(&rings)
                        .iter()
                        .map(|p| format!("{prefix}{p}")),
                );
                let mut rings = rings.into_iter().map(LineString::from);
                if let Some(exterior) = rings.next() {
                    result.push(Polygon::new(exterior, rings.collect()));
                }
            }
        }
    }
    if messages.is_empty() {
        Ok(MultiPolygon(result))
    } else {
        Err(messages)
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `[lon, lat]` or `[lon, lat, alt]` (altitude ignored).
fn lon_lat(v: &Value) -> Option<[f64; 2]> {
    match v.as_array()?.as_slice() {
        [lon, lat] | [lon, lat, _] => Some([lon.as_f64()?, lat.as_f64()?]),
        _ => None,
    }
}

/// The rings of one GeoJSON polygon's `coordinates`, or a message saying where it is malformed.
fn polygon_rings(v: &Value) -> Result<Vec<Vec<[f64; 2]>>, String> {
    let rings = v
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or("expected a non-empty array of rings")?;
    rings
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            let positions = ring
                .as_array()
                .ok_or_else(|| format!("ring {r} is not an array of positions"))?;
            positions
                .iter()
                .enumerate()
                .map(|(p, pos)| {
                    lon_lat(pos).ok_or_else(|| {
                        format!("ring {r} position {p}: expected [longitude, latitude] numbers")
                    })
                })
                .collect()
        })
        .collect()
}

fn parse_town(f: &mut Ctx) -> Option<RawTown> {
    let code = f.code("code", TOWN_DIGITS);
    let name = f.string("name");
    let area = f.geometry(false);
    Some(RawTown {
        index: f.index,
        code: code?,
        name: name?,
        area: area.ok()??,
    })
}

fn parse_community(f: &mut Ctx) -> Option<RawCommunity> {
    let code = f.code("code", COMMUNITY_DIGITS);
    let name = f.string("name");
    let town_code = f.code("town_code", TOWN_DIGITS);
    let kind = f.kind();
    let workers = f.count("workers", true);
    let office_area_m2 = f.non_negative("office_area_m2");
    let office = f.position("office");
    let territory = f.geometry(true);
    let without_territory = matches!(territory, Ok(None));
    let counts = COUNT_FIELDS.map(|field| f.count(field, without_territory));
    let workers = match workers.map(u32::try_from) {
        Some(Ok(w)) => Some(w),
        Some(Err(_)) => {
            f.problem(Some("workers"), "implausibly large");
            None
        }
        None => None,
    };
    Some(RawCommunity {
        index: f.index,
        code: code?,
        name: name?,
        town_code: town_code?,
        kind: kind?,
        workers: workers?,
        office_area_m2: office_area_m2?,
        office: office.ok()?,
        counts,
        territory: territory.ok()?,
    })
}

fn parse_grid(f: &mut Ctx) -> Option<RawGrid> {
    let code = f.code("code", GRID_DIGITS);
    let name = f.string("name");
    let community_code = f.code("community_code", COMMUNITY_DIGITS);
    let [households, population, service_households] =
        COUNT_FIELDS.map(|field| f.count(field, true));
    let area = f.geometry(false);
    Some(RawGrid {
        index: f.index,
        code: code?,
        name: name?,
        community_code: community_code?,
        counts: Counts {
            households: households?,
            population: population?,
            service_households: service_households?,
        },
        area: area.ok()??,
    })
}

/// Reports a duplicate code (every occurrence after the first) and returns the first-seen map.
fn unique_codes<'a>(
    file: &str,
    records: impl Iterator<Item = (usize, &'a str)>,
    problems: &mut Vec<Problem>,
) -> HashMap<&'a str, usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, code) in records {
        if let Some(&first) = seen.get(code) {
            problems.push(Problem {
                file: file.to_owned(),
                feature: Some(index),
                code: Some(code.to_owned()),
                field: Some("code".to_owned()),
                message: format!("duplicate code: feature {first} has the same code"),
            });
        } else {
            seen.insert(code, index);
        }
    }
    seen
}

/// Cross-checks codes, parents and counts and builds the snapshot. Returns `None` when a file
/// could not be read at all (its own problem is already recorded).
fn assemble(
    towns: Option<Parsed<RawTown>>,
    communities: Option<Parsed<RawCommunity>>,
    grids: Option<Parsed<RawGrid>>,
    problems: &mut Vec<Problem>,
) -> Option<Registry> {
    let (towns, communities, grids) = (towns?, communities?, grids?);
    let (all_town_codes, all_community_codes) = (towns.codes, communities.codes);
    let incomplete = grids.parents_of_broken;
    let (mut towns, mut communities, mut grids) =
        (towns.records, communities.records, grids.records);
    towns.sort_by(|a, b| a.code.cmp(&b.code).then(a.index.cmp(&b.index)));
    communities.sort_by(|a, b| a.code.cmp(&b.code).then(a.index.cmp(&b.index)));
    grids.sort_by(|a, b| a.code.cmp(&b.code).then(a.index.cmp(&b.index)));
    let at = |file: &str, index: usize, code: &str, field: &str, message: String| Problem {
        file: file.to_owned(),
        feature: Some(index),
        code: Some(code.to_owned()),
        field: Some(field.to_owned()),
        message,
    };

    unique_codes(
        TOWNS,
        towns.iter().map(|t| (t.index, t.code.as_str())),
        problems,
    );
    unique_codes(
        COMMUNITIES,
        communities.iter().map(|c| (c.index, c.code.as_str())),
        problems,
    );
    unique_codes(
        GRIDS,
        grids.iter().map(|g| (g.index, g.code.as_str())),
        problems,
    );

    // Registry positions after sorting; duplicates resolve to their first occurrence.
    let town_pos: HashMap<&str, usize> = towns
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| (t.code.as_str(), i))
        .collect();
    let community_pos: HashMap<&str, usize> = communities
        .iter()
        .enumerate()
        .rev()
        .map(|(i, c)| (c.code.as_str(), i))
        .collect();

    let mut community_town = Vec::with_capacity(communities.len());
    for c in &communities {
        if !all_town_codes.contains(&c.town_code) {
            problems.push(at(
                COMMUNITIES,
                c.index,
                &c.code,
                "town_code",
                format!("unknown town {}", c.town_code),
            ));
        } else if !c.code.starts_with(&c.town_code) {
            problems.push(at(
                COMMUNITIES,
                c.index,
                &c.code,
                "code",
                format!("does not start with its town_code {}", c.town_code),
            ));
        }
        community_town.push(town_pos.get(c.town_code.as_str()).copied());
    }

    let mut grid_community = Vec::with_capacity(grids.len());
    let mut sums = vec![Counts::default(); communities.len()];
    let mut grid_lists = vec![Vec::new(); communities.len()];
    for (g_pos, g) in grids.iter().enumerate() {
        let parent = community_pos.get(g.community_code.as_str()).copied();
        let Some(p) = parent else {
            if !all_community_codes.contains(&g.community_code) {
                problems.push(at(
                    GRIDS,
                    g.index,
                    &g.code,
                    "community_code",
                    format!("unknown community {}", g.community_code),
                ));
            }
            grid_community.push(0);
            continue;
        };
        if !g.code.starts_with(&g.community_code) {
            problems.push(at(
                GRIDS,
                g.index,
                &g.code,
                "code",
                format!(
                    "does not start with its community_code {}",
                    g.community_code
                ),
            ));
        }
        if communities[p].territory.is_none() {
            problems.push(at(
                GRIDS,
                g.index,
                &g.code,
                "community_code",
                format!(
                    "community {} has no defined territory, so it cannot have grids",
                    g.community_code
                ),
            ));
        } else {
            sums[p] += g.counts;
            grid_lists[p].push(g_pos);
        }
        grid_community.push(p);
    }

    let mut counts = Vec::with_capacity(communities.len());
    for (p, c) in communities.iter().enumerate() {
        let has_grids = !grid_lists[p].is_empty();
        let summed = [
            sums[p].households,
            sums[p].population,
            sums[p].service_households,
        ];
        for ((field, given), sum) in COUNT_FIELDS.iter().zip(c.counts).zip(summed) {
            match given {
                Some(given) if has_grids && given != sum && !incomplete.contains(&c.code) => {
                    problems.push(at(
                        COMMUNITIES,
                        c.index,
                        &c.code,
                        field,
                        format!("{given} given, but its grids sum to {sum}"),
                    ))
                }
                None if c.territory.is_some() && !has_grids => problems.push(at(
                    COMMUNITIES,
                    c.index,
                    &c.code,
                    field,
                    "missing, and the community has no grids to sum it from".to_owned(),
                )),
                _ => {}
            }
        }
        counts.push(if has_grids {
            sums[p]
        } else {
            let [households, population, service_households] = c.counts.map(|v| v.unwrap_or(0));
            Counts {
                households,
                population,
                service_households,
            }
        });
    }

    if !problems.is_empty() {
        return None;
    }

    // Without problems every community's town parsed, so every position is known.
    let community_town: Vec<usize> = community_town.into_iter().map(|t| t.unwrap_or(0)).collect();
    let mut town_lists = vec![Vec::new(); towns.len()];
    for (p, &t) in community_town.iter().enumerate() {
        town_lists[t].push(p);
    }
    let towns = towns
        .into_iter()
        .zip(town_lists)
        .map(|(t, communities)| Town {
            code: t.code,
            name: t.name,
            area: t.area,
            communities,
        })
        .collect();
    let communities = communities
        .into_iter()
        .zip(community_town)
        .zip(counts.into_iter().zip(grid_lists))
        .map(|((c, town), (counts, grids))| Community {
            code: c.code,
            name: c.name,
            town,
            kind: c.kind,
            workers: c.workers,
            office_area_m2: c.office_area_m2,
            office: c.office,
            counts,
            territory: c.territory,
            grids,
        })
        .collect();
    let grids = grids
        .into_iter()
        .zip(grid_community)
        .map(|(g, community)| Grid {
            code: g.code,
            name: g.name,
            community,
            counts: g.counts,
            area: g.area,
        })
        .collect();
    Some(Registry::from_parts(towns, communities, grids))
}
