//! Reading a boundary directory into a `Registry`, checking everything a lookup or a rule relies
//! on. All problems are collected and returned together; on any problem nothing is loaded.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value};

use super::feature::{Coords, Feature, Geometry, Member};
use super::feature_stream::{self, Document};
use super::level::Level;
use super::model::{Community, CommunityKind, Counts, Grid, Registry, Town};
use super::plausible::Plausible;
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

const COUNT_FIELDS: [&str; 3] = ["households", "population", "service_households"];

/// Loads `towns.geojson`, `communities.geojson` and `grids.geojson` from `dir`, refusing
/// counts and areas beyond `plausible` (the guidelines' maxima). Each file is read feature by
/// feature into typed [`Feature`]s (`feature_stream`), the three files at once on rayon's
/// threads (a ×100 city's load was 3:54 on one core).
pub fn load_dir(dir: &Path, plausible: &Plausible) -> Result<Registry, LoadError> {
    let ((towns, communities), grids) = rayon::join(
        || {
            rayon::join(
                || file_layer(dir, TOWNS, "code", parse_town, plausible),
                || file_layer(dir, COMMUNITIES, "town_code", parse_community, plausible),
            )
        },
        || file_layer(dir, GRIDS, "community_code", parse_grid, plausible),
    );
    finish(towns, communities, grids)
}

/// The layer in `file` of `dir`, read with [`read_layer`].
fn file_layer<T: Send>(
    dir: &Path,
    file: &'static str,
    parent_field: &str,
    parse: impl Fn(&mut Ctx) -> Option<T> + Sync,
    plausible: &Plausible,
) -> Layer<T> {
    let mut read = |file: &'static str, sink: &mut dyn FnMut(usize, Feature)| {
        Ok::<_, std::convert::Infallible>(stream_file(&dir.join(file), sink))
    };
    let decode = |_: &'static str, feature: Feature| Ok(feature);
    match read_layer(&mut read, &decode, file, parent_field, parse, plausible) {
        Ok(layer) => layer,
        Err(never) => match never {},
    }
}

/// Checks and assembles the features of the three layers (towns, communities, grids, each in
/// the boundary files' format) as they come from elsewhere, e.g. tests. Problems name the
/// file the features would be in.
pub fn load_features(
    collections: [Vec<Value>; 3],
    plausible: &Plausible,
) -> Result<Registry, LoadError> {
    load_parsed(
        collections.map(|layer| layer.iter().map(Feature::from_value).collect()),
        plausible,
    )
}

/// As [`load_features`], with the features already read into [`Feature`]s (e.g. the store's
/// rows, parsed as they arrive).
pub fn load_parsed(
    collections: [Vec<Feature>; 3],
    plausible: &Plausible,
) -> Result<Registry, LoadError> {
    let mut collections = collections.map(Some);
    let read = |file: &'static str, sink: &mut dyn FnMut(usize, Feature)| {
        let layer = FILES.iter().position(|f| *f == file);
        let features = layer
            .and_then(|l| collections[l].take())
            .unwrap_or_default();
        for (index, feature) in features.into_iter().enumerate() {
            sink(index, feature);
        }
        Ok::<_, std::convert::Infallible>(Ok(()))
    };
    match load_stream(read, plausible) {
        Ok(loaded) => loaded,
        Err(never) => match never {},
    }
}

/// How [`load_stream`] reads one layer: `read(file, sink)` passes each feature of `file` (one of
/// [`FILES`]) with its position to `sink`, and returns `Ok(Err(message))` when the file as a
/// whole is unusable, or `Err` when reading failed for a reason that is not the data's (e.g.
/// the database).
pub type LayerReader<'r, E> = RowReader<'r, Feature, E>;

/// How [`load_rows`] reads one layer: as [`LayerReader`], with each feature handed over
/// undecoded (`R`, e.g. a database row's text).
pub type RowReader<'r, R, E> =
    dyn FnMut(&'static str, &mut dyn FnMut(usize, R)) -> Result<Result<(), String>, E> + 'r;

/// Checks and assembles the three layers as `read` hands them over, feature by feature, so
/// that no layer is ever held whole as `Value` trees. A file `read` calls unusable counts as
/// one problem, and its features' own problems are dropped (as when it could not be parsed at
/// all). An `Err` of `read` is returned as it is.
pub fn load_stream<E: Send>(
    read: impl FnMut(&'static str, &mut dyn FnMut(usize, Feature)) -> Result<Result<(), String>, E>,
    plausible: &Plausible,
) -> Result<Result<Registry, LoadError>, E> {
    load_rows(read, |_, feature| Ok(feature), plausible)
}

/// As [`load_stream`], with each feature handed over undecoded (`R`) and turned into a
/// [`Feature`] by `decode(file, row)` on rayon's threads, in the check tasks: the store's
/// rows arrive as text, and parsing them is most of a load's work, which the reading thread
/// alone would do on one core. The reader waits for the checks (it is never more than a few
/// batches ahead), so a layer's rows are never all held at once (issue 20: at ×100 the rows'
/// text was 1 GB held beside the parsed registry). A row `decode` refuses ends the load with
/// its error: the first in the layer's order, in the first layer that has one.
pub fn load_rows<R: Send, E: Send>(
    mut read: impl FnMut(&'static str, &mut dyn FnMut(usize, R)) -> Result<Result<(), String>, E>,
    decode: impl Fn(&'static str, R) -> Result<Feature, E> + Sync,
    plausible: &Plausible,
) -> Result<Result<Registry, LoadError>, E> {
    let read: &mut RowReader<R, E> = &mut read;
    let towns = read_layer(read, &decode, TOWNS, "code", parse_town, plausible)?;
    let communities = read_layer(
        read,
        &decode,
        COMMUNITIES,
        "town_code",
        parse_community,
        plausible,
    )?;
    let grids = read_layer(
        read,
        &decode,
        GRIDS,
        "community_code",
        parse_grid,
        plausible,
    )?;
    Ok(finish(towns, communities, grids))
}

/// The registry of the three layers read, or every problem: file-level problems first, then
/// each file's feature problems, in load order, then the cross-checks'.
fn finish(
    towns: Layer<RawTown>,
    communities: Layer<RawCommunity>,
    grids: Layer<RawGrid>,
) -> Result<Registry, LoadError> {
    let mut problems: Vec<Problem> = [
        &towns.file_problem,
        &communities.file_problem,
        &grids.file_problem,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    problems.extend(towns.problems);
    problems.extend(communities.problems);
    problems.extend(grids.problems);
    let registry = assemble(
        towns.parsed,
        communities.parsed,
        grids.parsed,
        &mut problems,
    );
    match registry {
        Some(registry) if problems.is_empty() => Ok(registry),
        _ => Err(LoadError { problems }),
    }
}

/// One layer as read: its records (`None` when the file was unusable, said by `file_problem`)
/// and its features' problems.
struct Layer<T> {
    parsed: Option<Parsed<T>>,
    file_problem: Option<Problem>,
    problems: Vec<Problem>,
}

/// Features handed to one check task ([`read_layer`]): enough to outweigh a task's cost,
/// few enough that the reader is never far ahead.
const CHECK_BATCH: usize = 256;

/// Check tasks a reader may have waiting or running, per rayon thread, before it checks the
/// next batch itself instead: a reader faster than the checks (a database's rows, decoded in
/// the tasks) would otherwise queue its whole layer in their batches.
const TASKS_PER_THREAD: usize = 4;

/// What the checks made of one batch of features, in feature order.
struct Checked<T, E> {
    records: Vec<T>,
    codes: Vec<String>,
    parents_of_broken: Vec<String>,
    problems: Vec<Problem>,
    /// The first feature of the batch `decode` refused (the batch's checks stop there).
    refused: Option<E>,
}

/// One layer read through `read` and parsed feature by feature. Reading (the JSON parse of a
/// file) stays on this thread, in document order; each batch of [`CHECK_BATCH`] features is
/// decoded (`decode`: nothing for a file's features, the JSON parse of a database row) and
/// checked (rings, properties) by a rayon task beside it, so a big file keeps both cores busy
/// instead of one (the grids of ×100 were the last file read, alone, for ~15 s; issue 20).
/// Batches are put back together in order, so records and problems are as a sequential read
/// gives them.
fn read_layer<R: Send, T: Send, E: Send>(
    read: &mut RowReader<R, E>,
    decode: &(impl Fn(&'static str, R) -> Result<Feature, E> + Sync),
    file: &'static str,
    parent_field: &str,
    parse: impl Fn(&mut Ctx) -> Option<T> + Sync,
    plausible: &Plausible,
) -> Result<Layer<T>, E> {
    let check = |batch: Vec<(usize, R)>| {
        let mut checked = Checked {
            records: Vec::with_capacity(batch.len()),
            codes: Vec::with_capacity(batch.len()),
            parents_of_broken: Vec::new(),
            problems: Vec::new(),
            refused: None,
        };
        for (index, row) in batch {
            let mut feature = match decode(file, row) {
                Ok(feature) => feature,
                Err(e) => {
                    checked.refused = Some(e);
                    break;
                }
            };
            let props = feature.properties.take();
            let mut ctx = Ctx::new(
                file,
                index,
                feature,
                &props,
                plausible,
                &mut checked.problems,
            );
            let record = parse(&mut ctx);
            if let Some(code) = ctx.code.take() {
                checked.codes.push(code);
            }
            match record {
                Some(r) => checked.records.push(r),
                None => {
                    let parent = ctx
                        .props
                        .and_then(|p| p.get(parent_field))
                        .and_then(Value::as_str);
                    checked.parents_of_broken.extend(parent.map(str::to_owned));
                }
            }
        }
        checked
    };
    let done: std::sync::Mutex<Vec<(usize, Checked<T, E>)>> = std::sync::Mutex::new(Vec::new());
    let in_flight = std::sync::atomic::AtomicUsize::new(0);
    let most_in_flight = TASKS_PER_THREAD * rayon::current_num_threads().max(1);
    let (check, done_ref, in_flight) = (&check, &done, &in_flight);
    let store = move |k: usize, checked: Checked<T, E>| {
        // A poisoned lock means a check panicked, which the scope re-raises.
        if let Ok(mut done) = done_ref.lock() {
            done.push((k, checked));
        }
    };
    let (outcome, last) = rayon::in_place_scope(|scope| {
        use std::sync::atomic::Ordering;
        let mut batch = Vec::with_capacity(CHECK_BATCH);
        let mut batches = 0;
        let mut sink = |index: usize, row: R| {
            batch.push((index, row));
            if batch.len() == CHECK_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(CHECK_BATCH));
                let k = batches;
                batches += 1;
                if in_flight.load(Ordering::Acquire) >= most_in_flight {
                    // The checks are behind: this thread helps rather than reading on.
                    store(k, check(full));
                    return;
                }
                in_flight.fetch_add(1, Ordering::AcqRel);
                scope.spawn(move |_| {
                    store(k, check(full));
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            }
        };
        let outcome = read(file, &mut sink);
        let last = (usize::MAX, check(batch));
        (outcome, last)
    });
    let mut batches = done.into_inner().unwrap_or_else(|e| e.into_inner());
    batches.sort_unstable_by_key(|&(k, _)| k);
    batches.push(last);
    let mut parsed = Parsed {
        records: Vec::new(),
        codes: HashSet::new(),
        parents_of_broken: HashSet::new(),
    };
    let mut problems = Vec::new();
    let outcome = outcome?;
    for (_, checked) in batches {
        if let Some(e) = checked.refused {
            return Err(e);
        }
        parsed.records.extend(checked.records);
        parsed.codes.extend(checked.codes);
        parsed.parents_of_broken.extend(checked.parents_of_broken);
        problems.extend(checked.problems);
    }
    Ok(match outcome {
        Ok(()) => Layer {
            parsed: Some(parsed),
            file_problem: None,
            problems,
        },
        Err(message) => Layer {
            parsed: None,
            file_problem: Some(Problem {
                file: file.to_owned(),
                feature: None,
                code: None,
                field: None,
                message,
            }),
            problems: Vec::new(),
        },
    })
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

/// Streams the features of the boundary file at `path` into `sink`; `Err` says why the file as
/// a whole is unusable (unreadable, not JSON, not a FeatureCollection, no `features` array), in
/// the loader's words.
fn stream_file(path: &Path, sink: &mut dyn FnMut(usize, Feature)) -> Result<(), String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    match feature_stream::read_collection(&bytes, sink) {
        Ok(Document::Collection) => Ok(()),
        Ok(Document::NotACollection) => {
            Err("expected a GeoJSON FeatureCollection (member `type`)".to_owned())
        }
        Ok(Document::NoFeatureArray) => Err("member `features` must be an array".to_owned()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// Where a feature is, and the problem list its checks report to.
struct Ctx<'a> {
    file: &'static str,
    index: usize,
    /// The feature's geometry, until [`Ctx::geometry`] takes it.
    geometry: Member<Geometry>,
    props: Option<&'a Map<String, Value>>,
    code: Option<String>,
    plausible: &'a Plausible,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Ctx<'a> {
    fn new(
        file: &'static str,
        index: usize,
        feature: Feature,
        props: &'a Option<Map<String, Value>>,
        plausible: &'a Plausible,
        problems: &'a mut Vec<Problem>,
    ) -> Self {
        let props = props.as_ref();
        let code = props
            .and_then(|p| p.get("code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut ctx = Ctx {
            file,
            index,
            geometry: feature.geometry,
            props,
            code,
            plausible,
            problems,
        };
        if !feature.is_feature {
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

    /// A non-negative integer up to `max`; `None` without a problem when absent and not
    /// `required`.
    fn count(&mut self, field: &str, required: bool, max: u64) -> Option<u64> {
        if !required
            && self
                .props
                .is_some_and(|p| p.get(field).is_none_or(Value::is_null))
        {
            return None;
        }
        let value = self.required(field)?;
        match value.as_u64() {
            Some(n) if n <= max => Some(n),
            Some(n) => {
                self.problem(
                    Some(field),
                    format!("{n} is implausibly large; at most {max} (plausible maxima in guidelines.toml)"),
                );
                None
            }
            None => {
                self.wrong_type(field, "a non-negative integer", value);
                None
            }
        }
    }

    /// A non-negative number up to `max`.
    fn non_negative(&mut self, field: &str, max: f64) -> Option<f64> {
        let value = self.required(field)?;
        match value.as_f64() {
            Some(x) if (0.0..=max).contains(&x) => Some(x),
            Some(x) if x > max => {
                self.problem(
                    Some(field),
                    format!("{x} is implausibly large; at most {max} (plausible maxima in guidelines.toml)"),
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
        let geometry = match std::mem::take(&mut self.geometry) {
            Member::Missing => {
                self.problem(FIELD, "missing");
                return Err(());
            }
            Member::Null if nullable => return Ok(None),
            Member::Null => {
                self.problem(FIELD, "is null; this feature must have a territory");
                return Err(());
            }
            Member::Present(g) => g,
        };
        match area_of(geometry) {
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
    area_of(Geometry::from_value(geometry))
}

/// [`parse_area`] of a geometry as the loader reads it.
fn area_of(geometry: Geometry) -> Result<MultiPolygon<f64>, Vec<String>> {
    let coordinates = geometry.coordinates;
    let polygons: Vec<(String, Coords)> = match geometry.kind.as_deref() {
        Some("Polygon") => coordinates
            .map(|c| vec![(String::new(), c)])
            .unwrap_or_default(),
        Some("MultiPolygon") => match coordinates.and_then(Coords::into_elements) {
            Some(parts) => parts
                .into_iter()
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
                let mut rings = rings.into_iter().map(LineString::new);
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
fn polygon_rings(v: Coords) -> Result<Vec<Vec<Coord<f64>>>, String> {
    let rings = v
        .into_elements()
        .filter(|r| !r.is_empty())
        .ok_or("expected a non-empty array of rings")?;
    rings
        .into_iter()
        .enumerate()
        .map(|(r, ring)| {
            ring.into_positions().map_err(|at| match at {
                None => format!("ring {r} is not an array of positions"),
                Some(p) => {
                    format!("ring {r} position {p}: expected [longitude, latitude] numbers")
                }
            })
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
    let workers = f.count("workers", true, f.plausible.workers);
    let office_area_m2 = f.non_negative("office_area_m2", f.plausible.office_area_m2);
    let office = f.position("office");
    let territory = f.geometry(true);
    let without_territory = matches!(territory, Ok(None));
    let max = f.plausible.count;
    let counts = COUNT_FIELDS.map(|field| f.count(field, without_territory, max));
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
        COUNT_FIELDS.map(|field| f.count(field, true, f.plausible.count));
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

/// What the cross-checks need of a parsed record: its code and where it was in its file.
trait Located {
    fn code(&self) -> &str;
    fn index(&self) -> usize;
}

macro_rules! located {
    ($($raw:ty),*) => {$(
        impl Located for $raw {
            fn code(&self) -> &str {
                &self.code
            }
            fn index(&self) -> usize {
                self.index
            }
        }
    )*};
}
located!(RawTown, RawCommunity, RawGrid);

/// Sorts records by code, duplicates in file order, and reports every duplicate after the
/// first.
fn sort_unique<T: Located>(file: &str, records: &mut [T], problems: &mut Vec<Problem>) {
    records.sort_by(|a, b| a.code().cmp(b.code()).then(a.index().cmp(&b.index())));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in records.iter() {
        if let Some(&first) = seen.get(r.code()) {
            problems.push(problem_at(
                file,
                r,
                "code",
                format!("duplicate code: feature {first} has the same code"),
            ));
        } else {
            seen.insert(r.code(), r.index());
        }
    }
}

/// Positions of sorted records by code; duplicates resolve to their first occurrence.
fn positions<T: Located>(records: &[T]) -> HashMap<&str, usize> {
    records
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| (r.code(), i))
        .collect()
}

/// A problem with field `field` of `record` in `file`.
fn problem_at(file: &str, record: &impl Located, field: &str, message: String) -> Problem {
    Problem {
        file: file.to_owned(),
        feature: Some(record.index()),
        code: Some(record.code().to_owned()),
        field: Some(field.to_owned()),
        message,
    }
}

/// Codes of every feature of the files, parsed or not, so that a broken feature does not make
/// its children report follow-on problems.
struct Known {
    towns: HashSet<String>,
    communities: HashSet<String>,
    /// Communities some of whose grids did not parse: their sums cannot be checked.
    incomplete: HashSet<String>,
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
    let known = Known {
        towns: towns.codes,
        communities: communities.codes,
        incomplete: grids.parents_of_broken,
    };
    let (mut towns, mut communities, mut grids) =
        (towns.records, communities.records, grids.records);
    sort_unique(TOWNS, &mut towns, problems);
    sort_unique(COMMUNITIES, &mut communities, problems);
    sort_unique(GRIDS, &mut grids, problems);
    let community_town = link_communities(&towns, &communities, &known, problems);
    let grid_links = link_grids(&communities, &grids, &known, problems);
    let counts = community_counts(&communities, &grid_links, &known, problems);
    if !problems.is_empty() {
        return None;
    }
    // Without problems every community's town parsed, so every position is known.
    let community_town: Vec<usize> = community_town.into_iter().map(|t| t.unwrap_or(0)).collect();
    Some(build(
        towns,
        communities,
        grids,
        community_town,
        grid_links,
        counts,
    ))
}

/// Each community's town (position among the sorted towns), checking that it exists and that
/// the community's code extends it.
fn link_communities(
    towns: &[RawTown],
    communities: &[RawCommunity],
    known: &Known,
    problems: &mut Vec<Problem>,
) -> Vec<Option<usize>> {
    let town_pos = positions(towns);
    let mut community_town = Vec::with_capacity(communities.len());
    for c in communities {
        if !known.towns.contains(&c.town_code) {
            problems.push(problem_at(
                COMMUNITIES,
                c,
                "town_code",
                format!("unknown town {}", c.town_code),
            ));
        } else if !c.code.starts_with(&c.town_code) {
            problems.push(problem_at(
                COMMUNITIES,
                c,
                "code",
                format!("does not start with its town_code {}", c.town_code),
            ));
        }
        community_town.push(town_pos.get(c.town_code.as_str()).copied());
    }
    community_town
}

/// How grids hang off communities: each grid's community, and per community its grids and
/// their summed counts.
struct GridLinks {
    grid_community: Vec<usize>,
    grid_lists: Vec<Vec<usize>>,
    sums: Vec<Counts>,
}

/// Links each grid to its community, checking that the community exists, has territory and
/// that the grid's code extends it.
fn link_grids(
    communities: &[RawCommunity],
    grids: &[RawGrid],
    known: &Known,
    problems: &mut Vec<Problem>,
) -> GridLinks {
    let community_pos = positions(communities);
    let mut links = GridLinks {
        grid_community: Vec::with_capacity(grids.len()),
        grid_lists: vec![Vec::new(); communities.len()],
        sums: vec![Counts::default(); communities.len()],
    };
    for (g_pos, g) in grids.iter().enumerate() {
        let Some(p) = community_pos.get(g.community_code.as_str()).copied() else {
            if !known.communities.contains(&g.community_code) {
                problems.push(problem_at(
                    GRIDS,
                    g,
                    "community_code",
                    format!("unknown community {}", g.community_code),
                ));
            }
            links.grid_community.push(0);
            continue;
        };
        if !g.code.starts_with(&g.community_code) {
            problems.push(problem_at(
                GRIDS,
                g,
                "code",
                format!(
                    "does not start with its community_code {}",
                    g.community_code
                ),
            ));
        }
        if communities[p].territory.is_none() {
            problems.push(problem_at(
                GRIDS,
                g,
                "community_code",
                format!(
                    "community {} has no defined territory, so it cannot have grids",
                    g.community_code
                ),
            ));
        } else {
            links.sums[p] += g.counts;
            links.grid_lists[p].push(g_pos);
        }
        links.grid_community.push(p);
    }
    links
}

/// Each community's counts: its grids' sums, checked against the counts it gives, or as given
/// when it has no grids.
fn community_counts(
    communities: &[RawCommunity],
    links: &GridLinks,
    known: &Known,
    problems: &mut Vec<Problem>,
) -> Vec<Counts> {
    let mut counts = Vec::with_capacity(communities.len());
    for (p, c) in communities.iter().enumerate() {
        let has_grids = !links.grid_lists[p].is_empty();
        let sum = links.sums[p];
        let summed = [sum.households, sum.population, sum.service_households];
        for ((field, given), sum) in COUNT_FIELDS.iter().zip(c.counts).zip(summed) {
            match given {
                Some(given) if has_grids && given != sum && !known.incomplete.contains(&c.code) => {
                    problems.push(problem_at(
                        COMMUNITIES,
                        c,
                        field,
                        format!("{given} given, but its grids sum to {sum}"),
                    ))
                }
                None if c.territory.is_some() && !has_grids => problems.push(problem_at(
                    COMMUNITIES,
                    c,
                    field,
                    "missing, and the community has no grids to sum it from".to_owned(),
                )),
                _ => {}
            }
        }
        counts.push(if has_grids {
            sum
        } else {
            let [households, population, service_households] = c.counts.map(|v| v.unwrap_or(0));
            Counts {
                households,
                population,
                service_households,
            }
        });
    }
    counts
}

/// The snapshot of checked, sorted and linked records.
fn build(
    towns: Vec<RawTown>,
    communities: Vec<RawCommunity>,
    grids: Vec<RawGrid>,
    community_town: Vec<usize>,
    links: GridLinks,
    counts: Vec<Counts>,
) -> Registry {
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
            area: Arc::new(t.area),
            communities,
        })
        .collect();
    let communities = communities
        .into_iter()
        .zip(community_town)
        .zip(counts.into_iter().zip(links.grid_lists))
        .map(|((c, town), (counts, grids))| Community {
            code: c.code,
            name: c.name,
            town,
            kind: c.kind,
            workers: c.workers,
            office_area_m2: c.office_area_m2,
            office: c.office,
            counts,
            territory: c.territory.map(Arc::new),
            grids,
        })
        .collect();
    let grids = grids
        .into_iter()
        .zip(links.grid_community)
        .map(|(g, community)| Grid {
            code: g.code,
            name: g.name,
            community,
            counts: g.counts,
            area: Arc::new(g.area),
        })
        .collect();
    Registry::from_parts(towns, communities, grids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_city::{self, C2, C3, T1, city, grid, rect};
    use serde_json::json;

    fn problems(collections: [Vec<Value>; 3]) -> Vec<Problem> {
        match load_features(collections, &Default::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        }
    }

    fn problem(file: &str, feature: usize, code: &str, field: &str, message: &str) -> Problem {
        Problem {
            file: file.to_owned(),
            feature: Some(feature),
            code: Some(code.to_owned()),
            field: Some(field.to_owned()),
            message: message.to_owned(),
        }
    }

    #[test]
    fn the_tiny_city_loads_with_parents_and_summed_counts() {
        let r = load_features(city(), &Default::default()).expect("the tiny city loads");
        assert_eq!(
            (r.towns.len(), r.communities.len(), r.grids.len()),
            (2, 3, 3)
        );
        let t1 = r.town_by_code(T1).expect("T1");
        assert_eq!(r.towns[t1].communities, vec![0, 1, 2]);
        let c2 = r.community_by_code(C2).expect("C2");
        assert_eq!(r.communities[c2].grids, vec![1, 2]);
        assert_eq!(r.communities[c2].counts.households, 50);
        assert_eq!(r.communities[c2].counts.population, 100);
        let c3 = &r.communities[r.community_by_code(C3).expect("C3")];
        assert!(c3.territory.is_none() && c3.grids.is_empty());
        assert_eq!(c3.counts.households, 100);
        for (i, g) in r.grids.iter().enumerate() {
            assert!(r.communities[g.community].grids.contains(&i));
        }
        assert_eq!(r.total_counts().households, 40 + 50 + 100);
    }

    #[test]
    fn a_bad_field_is_reported_with_file_feature_code_and_field_and_nothing_follows() {
        let mut c = city();
        c[2][1]["properties"]["households"] = json!("many");
        // C2's sum is now unknown: its given count must not be checked against the rest.
        c[1][1]["properties"]["households"] = json!(7);
        assert_eq!(
            problems(c),
            vec![problem(
                GRIDS,
                1,
                "440100001002001",
                "households",
                "expected a non-negative integer, found a string"
            )]
        );
    }

    #[test]
    fn duplicates_unknown_parents_and_codes_off_their_parent_are_located() {
        let mut c = city();
        c[2].push(grid("440100001002002", C2, 1, rect(1.5, 1.5, 1.6, 1.6)));
        c[2].push(grid(
            "440100009001001",
            "440100009001",
            1,
            rect(2.0, 0.0, 2.5, 0.5),
        ));
        c[1].push(test_city::community(
            "440100002001",
            T1,
            rect(2.0, 0.0, 3.0, 1.0),
        ));
        let found = problems(c);
        let mut expected = vec![
            problem(
                GRIDS,
                3,
                "440100001002002",
                "code",
                "duplicate code: feature 2 has the same code",
            ),
            problem(
                COMMUNITIES,
                3,
                "440100002001",
                "code",
                "does not start with its town_code 440100001",
            ),
            problem(
                GRIDS,
                4,
                "440100009001001",
                "community_code",
                "unknown community 440100009001",
            ),
        ];
        expected.extend(COUNT_FIELDS.map(|field| {
            let message = "missing, and the community has no grids to sum it from";
            problem(COMMUNITIES, 3, "440100002001", field, message)
        }));
        assert_eq!(found, expected, "{found:#?}");
    }

    #[test]
    fn given_counts_must_match_the_grids_and_grids_need_a_territory() {
        let mut c = city();
        c[1][1]["properties"]["households"] = json!(999);
        c[2].push(grid("440100001003001", C3, 1, rect(2.0, 0.0, 2.5, 0.5)));
        let found = problems(c);
        assert_eq!(
            found,
            vec![
                problem(
                    GRIDS,
                    3,
                    "440100001003001",
                    "community_code",
                    "community 440100001003 has no defined territory, so it cannot have grids"
                ),
                problem(
                    COMMUNITIES,
                    1,
                    C2,
                    "households",
                    "999 given, but its grids sum to 50"
                ),
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn geometry_problems_name_the_polygon_and_ring() {
        let open = json!({"type": "MultiPolygon", "coordinates": [
            [[[113.0, 23.0], [113.01, 23.0], [113.01, 23.01], [113.0, 23.0]]],
            [[[113.0, 23.0], [113.01, 23.0]]]]});
        let messages = parse_area(&open).expect_err("a two-point ring");
        assert!(!messages.is_empty());
        assert!(
            messages.iter().all(|m| m.starts_with("polygon 1: ")),
            "{messages:?}"
        );
        let point = json!({"type": "Point", "coordinates": [113.0, 23.0]});
        assert_eq!(
            parse_area(&point),
            Err(vec![
                "expected a Polygon or MultiPolygon, found type \"Point\"".to_owned()
            ])
        );
        let mut c = city();
        c[0][1]["geometry"] = Value::Null;
        assert_eq!(
            problems(c),
            vec![problem(
                TOWNS,
                1,
                "440100002",
                "geometry",
                "is null; this feature must have a territory"
            )]
        );
    }

    /// A city of one town, six communities and 3,072 grids (each community a unit square cut
    /// into 32 × 16 grids, binary fractions so that edges meet exactly).
    fn many_grids() -> [Vec<Value>; 3] {
        let town = test_city::town(T1, rect(0.0, 0.0, 6.0, 1.0));
        let mut communities = Vec::new();
        let mut grids = Vec::new();
        for k in 0..6 {
            let code = format!("{T1}{:03}", k + 1);
            let x0 = f64::from(k);
            communities.push(test_city::community(
                &code,
                T1,
                rect(x0, 0.0, x0 + 1.0, 1.0),
            ));
            for i in 0..32 {
                for j in 0..16 {
                    let (x, y) = (x0 + f64::from(i) / 32.0, f64::from(j) / 16.0);
                    let n = i * 16 + j + 1;
                    let cell = rect(x, y, x + 1.0 / 32.0, y + 1.0 / 16.0);
                    grids.push(grid(&format!("{code}{n:03}"), &code, 10, cell));
                }
            }
        }
        [vec![town], communities, grids]
    }

    /// `load_rows` over each layer's features as JSON text, decoded by the check tasks.
    fn load_texts(texts: &[Vec<String>; 3]) -> Result<Result<Registry, LoadError>, String> {
        let read = |file: &'static str, sink: &mut dyn FnMut(usize, String)| {
            let layer = FILES.iter().position(|f| *f == file).ok_or("no layer")?;
            for (index, text) in texts[layer].iter().enumerate() {
                sink(index, text.clone());
            }
            Ok(Ok(()))
        };
        let decode = |file: &'static str, text: String| {
            serde_json::from_str::<Feature>(&text).map_err(|e| format!("{file}: {e}"))
        };
        load_rows(read, decode, &Default::default())
    }

    /// Rows decoded in the check tasks, with the reader far faster than the checks (it only
    /// clones text), so that it checks batches itself once enough are waiting: the registry
    /// is the one [`load_features`] makes of the same features, record for record.
    #[test]
    fn rows_decoded_in_the_checks_load_as_the_features_do() {
        let city = many_grids();
        let texts = city
            .clone()
            .map(|layer| layer.iter().map(Value::to_string).collect::<Vec<_>>());
        // More batches than a reader may leave waiting on a machine of up to two threads.
        assert!(texts[2].len() > 2 * CHECK_BATCH * TASKS_PER_THREAD);
        let expected = load_features(city, &Default::default()).expect("the city loads");
        let loaded = load_texts(&texts)
            .expect("every row decodes")
            .expect("the city loads");
        assert_eq!(loaded.grids.len(), 3072);
        assert_eq!(
            format!("{:?}", loaded.towns),
            format!("{:?}", expected.towns)
        );
        assert_eq!(
            format!("{:?}", loaded.communities),
            format!("{:?}", expected.communities)
        );
        assert_eq!(
            format!("{:?}", loaded.grids),
            format!("{:?}", expected.grids)
        );

        // Problems come out in feature order, as a sequential read gives them.
        let mut broken = texts.clone();
        let mut city = many_grids();
        for i in [5, 700, 2900] {
            city[2][i]["properties"]["households"] = json!(-1);
            broken[2][i] = city[2][i].to_string();
        }
        let expected = load_features(city, &Default::default()).expect_err("negative counts");
        let problems = load_texts(&broken)
            .expect("every row decodes")
            .expect_err("negative counts");
        assert_eq!(problems.problems, expected.problems);
        assert_eq!(problems.problems.len(), 3);
    }

    /// A row that does not decode ends the load with its own error: the first in row order
    /// (however the tasks ran), in the first layer that has one.
    #[test]
    fn the_first_row_that_does_not_decode_is_reported() {
        let mut texts: [Vec<String>; 3] =
            many_grids().map(|layer| layer.iter().map(Value::to_string).collect());
        for i in [2999, 700, 701, 1800] {
            texts[2][i] = format!("{{not json {i}");
        }
        let first = load_texts(&texts).map(|_| ()).expect_err("damaged rows");
        let expected = serde_json::from_str::<Feature>(&texts[2][700])
            .map_err(|e| format!("{GRIDS}: {e}"))
            .expect_err("not JSON");
        assert_eq!(first, expected);
        texts[1][4] = "[".to_owned();
        let first = load_texts(&texts).map(|_| ()).expect_err("damaged rows");
        assert!(first.starts_with(COMMUNITIES), "{first}");
    }
}
