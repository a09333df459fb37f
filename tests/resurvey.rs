//! Issue 16, a re-survey imported into a running registry: the store holds history (the
//! compliant split of 太平社区, approved) and an open proposal (城南社区's split, a draft). A
//! re-survey moves 10 grids of one community to its neighbour in the same town and re-draws the
//! two; the new outlines are GDAL's (`ST_Union` of their grids, not shequ's dissolve) and GDAL
//! writes the city as GBK Shapefiles with Chinese field names and an EPSG:4547 `.prj`. It is
//! imported with `shequ import --db` and, a second time, uploaded to `POST /api/v1/resurveys`;
//! the first goes through the re-survey procedure over HTTP and is approved by a second
//! reviewer. Then lookups at random points of the moved grids (brute force against the modified
//! GeoJSON) answer the new community, `as_of` the day before answers the old one, the diff lists
//! exactly the 10 grids with their households and the 2 communities, only their rows are new,
//! and the log has the entries and verifies. Refusals: data failing the loader (nothing
//! written), wrong roles and the importer approving (403, coded), the second upload after the
//! approval (409, coded: import again).
//!
//! Without `ogr2ogr` the test is reported as *ignored*; with `CI=true` it always runs. It runs
//! on PostgreSQL too when tests/postgres.rs re-runs it with `SHEQU_TEST_POSTGRES`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use geo::{BoundingRect, Contains, Point};
use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::registry::parse_area;
use shequ::store::{Store, log, registry};

use common::survey;

/// The split approved first (town 442000001) and the proposal left open.
const SPLIT_TOWN: &str = "442000001";

struct Env {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    app: Router,
    /// street (both towns of the proposals), reviewer, second reviewer, admin, viewer.
    street: String,
    reviewer: String,
    reviewer2: String,
    admin: String,
    viewer: String,
}

fn example(name: &str) -> Value {
    let path = common::sample_dir().join("examples/proposals").join(name);
    let text = std::fs::read_to_string(&path).expect("read example");
    serde_json::from_str(&text).expect("example json")
}

/// The sample city in a store holding a version approved through the procedure and an open
/// draft.
async fn setup() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = common::copy_boundaries(&common::sample_dir(), dir.path());
    let store = Arc::new(common::backend::open(dir.path()));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data).expect("seed");
    let open = example("chengnan-split.geojson");
    let open_town = open["proposal"]["parents"][0].as_str().expect("parent")[..9].to_owned();
    let token =
        |name: &str, role: Role, towns: &[&str]| common::user_token(&store, name, role, towns);
    let street = token("street", Role::Street, &[SPLIT_TOWN, &open_town]);
    let reviewer = token("reviewer", Role::Reviewer, &[]);
    let reviewer2 = token("reviewer2", Role::Reviewer, &[]);
    let admin = token("admin", Role::Admin, &[]);
    let viewer = token("viewer", Role::Viewer, &[]);
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_store(snapshot, version.id, store.clone(), &config),
        &config,
    );
    common::carry_to_approval(&app, &street, &reviewer, example("compliant-split.geojson")).await;
    common::call_ok(&app, "POST", "/api/v1/proposals", &street, Some(open)).await;
    Env {
        dir,
        store,
        app,
        street,
        reviewer,
        reviewer2,
        admin,
        viewer,
    }
}

/// The vertices of a polygonal GeoJSON geometry, as exact bit patterns (the generator's
/// neighbours share vertices exactly).
fn vertices(geometry: &Value) -> BTreeSet<(u64, u64)> {
    fn walk(v: &Value, out: &mut BTreeSet<(u64, u64)>) {
        if let Some(a) = v.as_array() {
            if let [Value::Number(x), Value::Number(y), ..] = a.as_slice() {
                if let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) {
                    out.insert((x.to_bits(), y.to_bits()));
                }
                return;
            }
            for item in a {
                walk(item, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

fn prop<'a>(f: &'a Value, key: &str) -> &'a str {
    f["properties"][key].as_str().unwrap_or_default()
}

/// Whether `grids` (indices) form one piece by shared edges (two shared vertices).
fn connected(grids: &[usize], adjacent: &dyn Fn(usize, usize) -> bool) -> bool {
    let Some(&first) = grids.first() else {
        return false;
    };
    let mut seen = BTreeSet::from([first]);
    let mut queue = VecDeque::from([first]);
    while let Some(g) = queue.pop_front() {
        for &h in grids {
            if !seen.contains(&h) && adjacent(g, h) {
                seen.insert(h);
                queue.push_back(h);
            }
        }
    }
    seen.len() == grids.len()
}

/// A community `a` and a neighbour `b` of the same town (outside the towns of the proposals)
/// and 10 grids of `a` that can move to `b`, each bordering `b` (as it grows) and leaving `a`
/// in one piece: chosen from shared vertices alone.
fn choose_moves(
    communities: &[Value],
    grids: &[Value],
    avoid: &[&str],
) -> (String, String, Vec<String>) {
    let verts: Vec<BTreeSet<(u64, u64)>> = grids.iter().map(|g| vertices(&g["geometry"])).collect();
    let adjacent = |g: usize, h: usize| g != h && verts[g].intersection(&verts[h]).nth(1).is_some();
    let mut by_community: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in grids.iter().enumerate() {
        by_community
            .entry(prop(g, "community_code"))
            .or_default()
            .push(i);
    }
    for a in communities {
        let a_code = prop(a, "code");
        let town = &a_code[..9];
        let Some(a_grids) = by_community.get(a_code) else {
            continue;
        };
        if avoid.contains(&town) || a["geometry"].is_null() || a_grids.len() < 16 {
            continue;
        }
        for b in communities {
            let b_code = prop(b, "code");
            if b_code == a_code || &b_code[..9] != town || b["geometry"].is_null() {
                continue;
            }
            let Some(b_grids) = by_community.get(b_code) else {
                continue;
            };
            let mut remaining = a_grids.clone();
            let mut grown = b_grids.clone();
            let mut moved = Vec::new();
            while moved.len() < 10 {
                let pick = remaining.iter().copied().find(|&g| {
                    grown.iter().any(|&h| adjacent(g, h)) && {
                        let rest: Vec<usize> =
                            remaining.iter().copied().filter(|&r| r != g).collect();
                        connected(&rest, &adjacent)
                    }
                });
                let Some(g) = pick else { break };
                remaining.retain(|&r| r != g);
                grown.push(g);
                moved.push(g);
            }
            if moved.len() == 10 {
                let codes = moved
                    .iter()
                    .map(|&g| prop(&grids[g], "code").to_owned())
                    .collect();
                return (a_code.to_owned(), b_code.to_owned(), codes);
            }
        }
    }
    panic!("no community with 10 grids movable to a neighbour");
}

fn collection(dir: &Path, layer: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{layer}.geojson"))).expect("read layer");
    let v: Value = serde_json::from_str(&text).expect("layer json");
    v["features"].as_array().cloned().unwrap_or_default()
}

fn write_collection(dir: &Path, layer: &str, features: &[Value]) {
    let v = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(dir.join(format!("{layer}.geojson")), v.to_string()).expect("write layer");
}

/// The re-survey: the current registry with the 10 grids moved (new codes under `b`) and the
/// two communities re-drawn by GDAL and re-counted. Returns the modified boundary directory and
/// the moves (old grid code → new grid code).
struct Survey {
    modified: PathBuf,
    a: String,
    b: String,
    moves: BTreeMap<String, String>,
    /// Households of each moved grid, by new code.
    households: BTreeMap<String, u64>,
}

fn resurvey(current: &Path, work: &Path) -> Result<Survey, Failed> {
    let communities = collection(current, "communities");
    let mut grids = collection(current, "grids");
    let open_town = example("chengnan-split.geojson")["proposal"]["parents"][0]
        .as_str()
        .unwrap_or_default()[..9]
        .to_owned();
    let (a, b, chosen) = choose_moves(&communities, &grids, &[SPLIT_TOWN, &open_town]);
    let mut moves = BTreeMap::new();
    let mut households = BTreeMap::new();
    for (i, code) in chosen.iter().enumerate() {
        let g = grids
            .iter_mut()
            .find(|g| prop(g, "code") == code)
            .ok_or("chosen grid")?;
        let new = format!("{b}{:03}", 901 + i);
        g["properties"]["code"] = json!(new);
        g["properties"]["community_code"] = json!(b);
        households.insert(
            new.clone(),
            g["properties"]["households"].as_u64().unwrap_or(0),
        );
        moves.insert(code.clone(), new);
    }
    let modified = work.join("modified");
    std::fs::create_dir_all(&modified)?;
    std::fs::copy(
        current.join("towns.geojson"),
        modified.join("towns.geojson"),
    )?;
    write_collection(&modified, "grids", &grids);
    // The new outlines: GDAL's union of each community's grids.
    let unions = work.join("unions.geojson");
    let sql = format!(
        "SELECT community_code AS code, ST_Union(geometry) AS geometry FROM grids \
         WHERE community_code IN ('{a}', '{b}') GROUP BY community_code"
    );
    survey::ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-dialect",
        "sqlite",
        "-sql",
        &sql,
        &unions.to_string_lossy(),
        &modified.join("grids.geojson").to_string_lossy(),
    ])?;
    let unions: Value = serde_json::from_str(&std::fs::read_to_string(&unions)?)?;
    let mut outline = HashMap::new();
    for f in unions["features"].as_array().ok_or("unions")? {
        if f["geometry"]["type"] != "Polygon" {
            return Err(format!("{} is not one polygon after the move", prop(f, "code")).into());
        }
        outline.insert(prop(f, "code").to_owned(), f["geometry"].clone());
    }
    let mut communities = communities;
    for c in &mut communities {
        let code = prop(c, "code").to_owned();
        let Some(geometry) = outline.get(&code) else {
            continue;
        };
        c["geometry"] = geometry.clone();
        for field in ["households", "population", "service_households"] {
            let sum: u64 = grids
                .iter()
                .filter(|g| prop(g, "community_code") == code)
                .map(|g| g["properties"][field].as_u64().unwrap_or(0))
                .sum();
            c["properties"][field] = json!(sum);
        }
    }
    if outline.len() != 2 {
        return Err(format!("GDAL gave {} outlines", outline.len()).into());
    }
    write_collection(&modified, "communities", &communities);
    Ok(Survey {
        modified,
        a,
        b,
        moves,
        households,
    })
}

/// The Shapefiles and the mapping file in one zip, as a clerk would upload them.
fn zip_of(shp: &Path, map: &Path) -> Result<Vec<u8>, Failed> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(shp)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .ok_or("name")?
            .to_string_lossy()
            .into_owned();
        zip.start_file(format!("survey/{name}"), options)?;
        zip.write_all(&std::fs::read(&file)?)?;
    }
    zip.start_file("mapping.toml", options)?;
    zip.write_all(&std::fs::read(map)?)?;
    Ok(zip.finish()?.into_inner())
}

async fn upload(app: &Router, token: &str, bytes: Vec<u8>) -> common::Reply {
    let mut r = common::request("POST", "/api/v1/resurveys", Body::from(bytes));
    let bearer = format!("Bearer {token}");
    r.headers_mut()
        .insert("authorization", bearer.parse().expect("header"));
    r.headers_mut()
        .insert("content-type", "application/zip".parse().expect("header"));
    common::send(app, r).await
}

/// A problem+json reply with `status` and `code`.
fn coded(reply: &common::Reply, status: u16, code: &str) -> Result<Value, Failed> {
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    if reply.status.as_u16() != status || v["code"] != code {
        return Err(format!(
            "expected {status} {code}, got {} {}",
            reply.status,
            reply.text()
        )
        .into());
    }
    Ok(v)
}

async fn transition(app: &Router, token: &str, id: i64, to: &str) -> common::Reply {
    let uri = format!("/api/v1/proposals/{id}/transition");
    common::call(app, "POST", &uri, token, Some(json!({"to": to}))).await
}

/// What the store holds: proposals and versions (to show nothing was written).
fn counts(store: &Store) -> (i64, i64, i64) {
    store
        .read(|c| {
            let n =
                |sql: &str| -> Result<i64, shequ::store::DbError> { c.query_one(sql, &[])?.get(0) };
            Ok::<_, shequ::store::DbError>((
                n("SELECT COUNT(*) FROM proposals")?,
                n("SELECT COUNT(*) FROM versions")?,
                n("SELECT COUNT(*) FROM staged_features")?,
            ))
        })
        .expect("counts")
}

fn yesterday() -> String {
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    (today - time::Duration::days(1))
        .format(shequ::store::DATE_FORMAT)
        .expect("date")
}

fn import_db(args: &[&str]) -> std::process::Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    common::shequ(&all)
}

async fn resurvey_end_to_end() -> Result<(), Failed> {
    let env = setup().await;
    let app = &env.app;
    let work = env.dir.path().join("work");
    std::fs::create_dir_all(&work)?;
    let current = work.join("current");
    env.store
        .read(|c| Ok::<_, shequ::store::DbError>(registry::export(c, 2, &current)))?
        .map_err(|e| format!("export: {e}"))?;
    let survey = resurvey(&current, &work)?;
    let shp = survey::shapefiles(&survey.modified, &work)?;
    let map = work.join("map.toml");
    std::fs::write(&map, survey::mapping_toml())?;
    let db = common::backend::location(env.dir.path());

    // Data failing the loader: a grid of an unknown community. Every problem listed, the same
    // as `import --out` says, and nothing written.
    let broken = work.join("broken");
    std::fs::create_dir_all(&broken)?;
    for layer in ["towns", "communities"] {
        std::fs::copy(
            survey.modified.join(format!("{layer}.geojson")),
            broken.join(format!("{layer}.geojson")),
        )?;
    }
    let mut grids = collection(&survey.modified, "grids");
    grids[0]["properties"]["community_code"] = json!("442000999999");
    write_collection(&broken, "grids", &grids);
    let before = counts(&env.store);
    let refused = import_db(&[&broken.to_string_lossy(), "--db", &db]);
    let out = import_db(&[
        &broken.to_string_lossy(),
        "--out",
        &work.join("out").to_string_lossy(),
    ]);
    let (said, says) = (common::text(&refused.stderr), common::text(&out.stderr));
    if refused.status.code() != Some(1) || !said.contains("442000999999") || said != says {
        return Err(format!(
            "broken data: exit {:?}\n{said}\n--- import --out said:\n{says}",
            refused.status.code()
        )
        .into());
    }
    let broken_zip = {
        let shp_broken = survey::shapefiles(&broken, &work.join("b"))?;
        zip_of(&shp_broken, &map)?
    };
    let r = upload(app, &env.admin, broken_zip).await;
    let problem = coded(&r, 422, "resurvey.problems")?;
    if !problem["params"]["problems"].as_array().is_some_and(|p| {
        p.iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("442000999999")))
    }) {
        return Err(format!("problems not listed: {problem}").into());
    }
    if counts(&env.store) != before {
        return Err("a refused import wrote something".into());
    }

    // Wrong role: a viewer and a street official cannot upload.
    let zipped = zip_of(&shp, &map)?;
    coded(
        &upload(app, &env.viewer, zipped.clone()).await,
        403,
        "resurvey.staff_only",
    )?;
    coded(
        &upload(app, &env.street, zipped.clone()).await,
        403,
        "resurvey.staff_only",
    )?;

    // The CLI import (importer `cli`, an admin).
    let staged = import_db(&[
        &shp.to_string_lossy(),
        "--map",
        &map.to_string_lossy(),
        "--db",
        &db,
    ]);
    let printed = common::text(&staged.stdout);
    if !staged.status.success() {
        return Err(format!("import --db: {}{}", printed, common::text(&staged.stderr)).into());
    }
    let id: i64 = printed
        .split("staged as proposal ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("no proposal id in {printed}"))?;
    for needle in [
        "grids moved: 10",
        "communities re-drawn (2)",
        "audit of the surveyed city",
    ] {
        if !printed.contains(needle) {
            return Err(format!("{needle:?} missing from\n{printed}").into());
        }
    }
    // The upload of the same survey (importer: reviewer).
    let r = upload(app, &env.reviewer, zipped.clone()).await;
    if r.status != 201 {
        return Err(format!("upload: {} {}", r.status, r.text()).into());
    }
    let uploaded = r.json();
    let second = uploaded["proposal"]["id"].as_i64().ok_or("upload id")?;

    // Both say the same diff, and the proposal shows it.
    let detail = common::call_ok(
        app,
        "GET",
        &format!("/api/v1/proposals/{id}"),
        &env.viewer,
        None,
    )
    .await;
    if detail["kind"] != "resurvey" || detail["status"] != "draft" {
        return Err(format!("proposal {id}: {detail}").into());
    }
    let diff = &detail["proposal"]["diff"];
    if diff != &uploaded["diff"] {
        return Err(format!("CLI diff {diff} ≠ upload diff {}", uploaded["diff"]).into());
    }
    let listed = common::call_ok(app, "GET", "/api/v1/proposals", &env.viewer, None).await;
    if !listed["proposals"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["id"] == id && p["kind"] == "resurvey"))
    {
        return Err("the re-survey is not listed".into());
    }

    // The procedure: no consultation or vote; no edits; a street official cannot submit; the
    // importer cannot approve his own.
    coded(
        &transition(app, &env.admin, id, "consultation").await,
        409,
        "resurvey.not_allowed",
    )?;
    let vote = common::call(
        app,
        "POST",
        &format!("/api/v1/proposals/{id}/vote"),
        &env.street,
        Some(json!({"for": 1, "against": 0, "abstain": 0})),
    )
    .await;
    coded(&vote, 409, "resurvey.not_editable")?;
    coded(
        &transition(app, &env.street, id, "submitted").await,
        403,
        "resurvey.staff_only",
    )?;
    transition(app, &env.reviewer, second, "submitted")
        .await
        .pipe_ok()?;
    coded(
        &transition(app, &env.reviewer, second, "approved").await,
        403,
        "resurvey.four_eyes",
    )?;
    let r = transition(app, &env.admin, id, "submitted").await;
    if r.status != 200 {
        return Err(format!("submit: {}", r.text()).into());
    }
    coded(
        &transition(app, &env.admin, id, "approved").await,
        403,
        "resurvey.reviewer_only",
    )?;
    let r = transition(app, &env.reviewer2, id, "approved").await;
    if r.status != 200 {
        return Err(format!("approve: {}", r.text()).into());
    }
    let version = r.json()["version"].as_i64().ok_or("version")?;

    // The other upload was staged against the version before: refused, import again.
    coded(
        &transition(app, &env.reviewer2, second, "approved").await,
        409,
        "resurvey.stale",
    )?;

    check_outcome(&env, &survey, id, version).await
}

/// Status 200 as `Ok`, for a step expected to pass.
trait PipeOk {
    fn pipe_ok(self) -> Result<common::Reply, Failed>;
}

impl PipeOk for common::Reply {
    fn pipe_ok(self) -> Result<common::Reply, Failed> {
        if self.status == 200 {
            Ok(self)
        } else {
            Err(format!("{} {}", self.status, self.text()).into())
        }
    }
}

async fn check_outcome(env: &Env, survey: &Survey, id: i64, version: i64) -> Result<(), Failed> {
    let app = &env.app;
    // A replica builds an approved split's version (2) from its rows and the snapshot before
    // (`api::follow`), but reads a re-survey's whole, as its approving server built it.
    let from_rows = |v| {
        env.store
            .read(|c| registry::edit_of(c, v))
            .map(|e| e.is_some())
    };
    if (from_rows(2)?, from_rows(version)?) != (true, false) {
        return Err("the split's version is not built from its rows, or the re-survey's is".into());
    }
    // The diff: exactly the 10 grids with their households, the 2 communities re-drawn.
    let diff = common::call_ok(
        app,
        "GET",
        &format!("/api/v1/versions/{}/diff/{version}", version - 1),
        "",
        None,
    )
    .await;
    let mut moved = BTreeMap::new();
    for m in diff["moved"].as_array().ok_or("moved")? {
        if (m["from"].as_str(), m["to"].as_str()) != (Some(&survey.a[..]), Some(&survey.b[..])) {
            return Err(format!("a move {} → {}", m["from"], m["to"]).into());
        }
        let mut sum = 0;
        for g in m["grids"].as_array().ok_or("grids")? {
            let to = g["to"].as_str().unwrap_or_default().to_owned();
            if g["households"].as_u64() != survey.households.get(&to).copied() {
                return Err(format!("grid {to}: households {}", g["households"]).into());
            }
            sum += g["households"].as_u64().unwrap_or(0);
            moved.insert(g["from"].as_str().unwrap_or_default().to_owned(), to);
        }
        if m["households"].as_u64() != Some(sum) {
            return Err(format!("movement households {} ≠ {sum}", m["households"]).into());
        }
    }
    if moved != survey.moves {
        return Err(format!("moved {moved:?}, expected {:?}", survey.moves).into());
    }
    let redrawn: BTreeSet<&str> = diff["redrawn"]
        .as_array()
        .ok_or("redrawn")?
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    let expected = BTreeSet::from([survey.a.as_str(), survey.b.as_str()]);
    let empty = |k: &str| diff[k].as_array().is_some_and(Vec::is_empty);
    if redrawn != expected || !empty("created") || !empty("ended") || !empty("changed") {
        return Err(format!("diff: {diff}").into());
    }
    // Only the changed rows are new: 2 communities and 10 grids; every other row untouched.
    let new_rows: i64 = env.store.read(|c| {
        c.query_one(
            "SELECT COUNT(*) FROM features WHERE valid_from = ?1",
            shequ::sql_params![version],
        )?
        .get(0)
    })?;
    if new_rows != 12 {
        return Err(format!("{new_rows} rows written, expected 12").into());
    }

    // Lookups at random points of each moved grid (inside the modified GeoJSON's polygon, by
    // geo's Contains) answer the new grid and community; the day before, the old ones.
    let grids = collection(&survey.modified, "grids");
    let old_grids = collection(&env.dir.path().join("work/current"), "grids");
    let day_before = yesterday();
    let mut rng = common::Rng(16);
    for (old, new) in &survey.moves {
        let area = |gs: &[Value], code: &str| {
            gs.iter()
                .find(|g| prop(g, "code") == code)
                .map(|g| parse_area(&g["geometry"]).expect("area"))
        };
        let shape = area(&grids, new).ok_or("moved grid")?;
        let old_shape = area(&old_grids, old).ok_or("old grid")?;
        let bbox = shape.bounding_rect().ok_or("bbox")?;
        let mut tried = 0;
        while tried < 5 {
            let p = Point::new(
                rng.uniform(bbox.min().x, bbox.max().x),
                rng.uniform(bbox.min().y, bbox.max().y),
            );
            if !shape.contains(&p) || !old_shape.contains(&p) {
                continue;
            }
            tried += 1;
            let uri = format!("/api/v1/lookup?lon={}&lat={}", p.x(), p.y());
            let now = common::call_ok(app, "GET", &uri, "", None).await;
            if now["grid"]["code"] != new.as_str() || now["community"]["code"] != survey.b.as_str()
            {
                return Err(format!("lookup {p:?}: {now}").into());
            }
            let then =
                common::call_ok(app, "GET", &format!("{uri}&as_of={day_before}"), "", None).await;
            if then["grid"]["code"] != old.as_str()
                || then["community"]["code"] != survey.a.as_str()
            {
                return Err(format!("lookup {p:?} as of {day_before}: {then}").into());
            }
        }
    }

    // The log: the import, the moves and the version, and the chain verifies.
    let entries = env.store.read(|c| log::list(c, 0, 10_000))?;
    let subject = format!("proposal {id}");
    for action in ["proposal.create", "proposal.submitted", "proposal.approved"] {
        if !entries
            .iter()
            .any(|e| e.action == action && e.subject == subject)
        {
            return Err(format!("no {action} for {subject}").into());
        }
    }
    let logged = entries
        .iter()
        .find(|e| e.action == "registry.version" && e.detail["proposal"] == id)
        .ok_or("no registry.version entry")?;
    if logged.detail["grids_moved"] != 10 || logged.detail["audit"]["findings"].is_null() {
        return Err(format!("registry.version: {}", logged.detail).into());
    }
    match env.store.read(log::verify)? {
        Ok(n) if n as usize == entries.len() => Ok(()),
        other => Err(format!("the log does not verify: {other:?}").into()),
    }
}

/// A zip of `files` (name, content).
fn zip_files(files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, Failed> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())?;
        zip.write_all(content)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The upload's refusals on the mini city (each coded, nothing written), and a staged
/// re-survey that cannot be edited or commented on and is rejected only with a reason.
async fn uploads_that_stage_nothing() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let data = common::copy_boundaries(&common::mini_dir(), dir.path());
    let store = Arc::new(common::backend::open(dir.path()));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data)?;
    let admin = common::user_token(&store, "admin", Role::Admin, &[]);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_store(snapshot, version.id, store.clone(), &config),
        &config,
    );
    let layer = |name: &str| std::fs::read(data.join(format!("{name}.geojson")));
    // The office as two columns, as a GIS layer has it (the GeoJSON reader does not take
    // shequ's own `office` array).
    let flat_communities = || -> Result<Value, Failed> {
        let mut v: Value = serde_json::from_slice(&layer("communities")?)?;
        for f in v["features"].as_array_mut().ok_or("features")? {
            let props = f["properties"].as_object_mut().ok_or("properties")?;
            if let Some(Value::Array(office)) = props.remove("office") {
                props.insert("office_lon".into(), office[0].clone());
                props.insert("office_lat".into(), office[1].clone());
            }
        }
        Ok(v)
    };
    let city = |communities: Vec<u8>| -> Result<Vec<u8>, Failed> {
        zip_files(&[
            ("towns.geojson", layer("towns")?),
            ("communities.geojson", communities),
            ("grids.geojson", layer("grids")?),
        ])
    };
    let before = counts(&store);
    coded(
        &upload(&app, &admin, b"not a zip".to_vec()).await,
        400,
        "resurvey.bad_zip",
    )?;
    let towns_only = zip_files(&[("towns.geojson", layer("towns")?)])?;
    coded(
        &upload(&app, &admin, towns_only).await,
        422,
        "resurvey.incomplete",
    )?;
    coded(
        &upload(
            &app,
            &admin,
            city(flat_communities()?.to_string().into_bytes())?,
        )
        .await,
        422,
        "resurvey.unchanged",
    )?;
    let junk = zip_files(&[("grids.shp", b"junk".to_vec())])?;
    coded(
        &upload(&app, &admin, junk).await,
        400,
        "resurvey.unreadable",
    )?;
    let bad_map = zip_files(&[("mapping.toml", b"[[[".to_vec())])?;
    coded(
        &upload(&app, &admin, bad_map).await,
        422,
        "resurvey.bad_mapping",
    )?;
    let mut r = common::request("POST", "/api/v1/resurveys?crs=mars", Body::from(Vec::new()));
    let bearer = format!("Bearer {admin}");
    r.headers_mut().insert("authorization", bearer.parse()?);
    coded(&common::send(&app, r).await, 400, "resurvey.bad_crs")?;
    if counts(&store) != before {
        return Err("a refused upload wrote something".into());
    }

    // A renamed community: staged (a change of attributes only), then refused edits.
    let mut communities = flat_communities()?;
    communities["features"][0]["properties"]["name"] = json!("西社区（更名）");
    let r = upload(&app, &admin, city(communities.to_string().into_bytes())?).await;
    if r.status != 201 {
        return Err(format!("upload: {}", r.text()).into());
    }
    let staged = r.json();
    let id = staged["proposal"]["id"].as_i64().ok_or("id")?;
    let changed = staged["diff"]["changed"].as_array().ok_or("changed")?;
    if changed.len() != 1
        || changed[0]["name"] != "西社区（更名）"
        || staged["counts"]["communities"]["inserted"] != 1
    {
        return Err(format!("staged: {staged}").into());
    }
    let uri = format!("/api/v1/proposals/{id}");
    let edit = common::call(&app, "PUT", &uri, &admin, Some(communities.clone())).await;
    coded(&edit, 409, "resurvey.not_editable")?;
    let comment = common::call(
        &app,
        "POST",
        &format!("{uri}/comments"),
        &admin,
        Some(json!({"text": "?"})),
    )
    .await;
    coded(&comment, 409, "resurvey.not_editable")?;
    let reject = |reason: &str| json!({"to": "rejected", "reason": reason});
    let r = common::call(
        &app,
        "POST",
        &format!("{uri}/transition"),
        &reviewer,
        Some(reject(" ")),
    )
    .await;
    coded(&r, 422, "procedure.reason_required")?;
    common::call(
        &app,
        "POST",
        &format!("{uri}/transition"),
        &reviewer,
        Some(reject("wrong zone")),
    )
    .await
    .pipe_ok()?;
    let (_, versions, staged_rows) = counts(&store);
    if (versions, staged_rows) != (before.1, 0) {
        return Err(
            format!("after the rejection: {versions} versions, {staged_rows} staged rows").into(),
        );
    }
    Ok(())
}

/// A test body: an async function run on a runtime of its own.
type TrialBody = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Failed>>>>;

fn main() -> std::process::ExitCode {
    let async_trial = |name: &str, body: TrialBody| {
        Trial::test(name, move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(body())
        })
    };
    common::run_gdal_trials(vec![
        async_trial("a_resurvey_is_staged_approved_and_served", || {
            Box::pin(resurvey_end_to_end())
        }),
        async_trial("uploads_that_stage_nothing", || {
            Box::pin(uploads_that_stage_nothing())
        }),
    ])
}
