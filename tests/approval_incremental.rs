//! An approval builds its new snapshot from the current one, rebuilding only what the change
//! touched (issue 19). Checked here against the slow, independent path: the version read back
//! whole from the store and built like boundary files (`registry::snapshot_of`). After two
//! approvals on the sample city (the compliant split of 太平社区, then a split of 城南社区 by
//! its grids, built here with geo) and one on the mini city, the published snapshot must have
//! the same features (codes, links, counts, geometry vertex for vertex), answer lookups the
//! same at random points and at every vertex and edge midpoint of the touched features, resolve
//! the address register the same, and its audit (the incremental one the approval gate made)
//! must equal a full audit of the rebuilt snapshot, compared as the API's JSON.

mod common;

use std::sync::Arc;

use geo::{BoundingRect, Centroid, unary_union};
use serde_json::{Value, json};
use shequ::Snapshot;
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::geometry::geojson::area_to_geojson;
use shequ::registry::Registry;
use shequ::store::registry;
use shequ::tiles::{LayerSet, TileId, TileSource};

/// Every feature of both registries, compared one by one (Debug shows every field, the
/// indices of parents and children and every coordinate exactly).
fn assert_same_registry(got: &Registry, want: &Registry) {
    assert_eq!(got.towns.len(), want.towns.len(), "towns");
    assert_eq!(got.communities.len(), want.communities.len(), "communities");
    assert_eq!(got.grids.len(), want.grids.len(), "grids");
    for (a, b) in got.towns.iter().zip(&want.towns) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "town {}", b.code);
    }
    for (a, b) in got.communities.iter().zip(&want.communities) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "community {}", b.code);
    }
    for (a, b) in got.grids.iter().zip(&want.grids) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "grid {}", b.code);
    }
    for c in &want.communities {
        assert_eq!(
            got.community_by_code(&c.code),
            want.community_by_code(&c.code)
        );
    }
    for g in &want.grids {
        assert_eq!(got.grid_by_code(&g.code), want.grid_by_code(&g.code));
    }
}

/// Lookups of both snapshots at `points`, as codes.
fn assert_same_lookups(got: &Snapshot, want: &Snapshot, points: &[[f64; 2]]) {
    let codes = |s: &Snapshot, p: [f64; 2]| {
        let hit = s.lookup(p);
        let r = &s.registry;
        (
            hit.town.map(|t| r.towns[t].code.clone()),
            hit.community.map(|c| r.communities[c].code.clone()),
            hit.grid.map(|g| r.grids[g].code.clone()),
        )
    };
    for &p in points {
        assert_eq!(codes(got, p), codes(want, p), "lookup at {p:?}");
    }
}

/// The box of the whole city.
fn city_bounds(r: &Registry) -> geo::Rect<f64> {
    shequ::geometry::union_bounds(r.towns.iter().filter_map(|t| t.area.bounding_rect()))
        .expect("a city")
}

/// Random points over the whole city and densely over `around`, and every vertex and edge
/// midpoint of the features whose codes start with `prefix`.
fn points(s: &Snapshot, around: geo::Rect<f64>, prefix: &str) -> Vec<[f64; 2]> {
    let mut rng = common::Rng(19);
    let mut out = Vec::new();
    let city = city_bounds(&s.registry);
    for (b, n) in [(city, 100_000), (around, 100_000)] {
        for _ in 0..n {
            out.push([
                rng.uniform(b.min().x, b.max().x),
                rng.uniform(b.min().y, b.max().y),
            ]);
        }
    }
    let areas = s
        .registry
        .communities
        .iter()
        .filter(|c| c.code.starts_with(prefix))
        .filter_map(|c| c.territory.as_deref())
        .chain(
            s.registry
                .grids
                .iter()
                .filter(|g| g.code.starts_with(prefix))
                .map(|g| &*g.area),
        );
    for area in areas {
        for polygon in area {
            for line in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for w in line.0.windows(2) {
                    out.push([w[0].x, w[0].y]);
                    out.push([(w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0]);
                }
            }
        }
    }
    out
}

fn assert_same_addresses(got: &Snapshot, want: &Snapshot) {
    assert_eq!(got.addresses.len(), want.addresses.len());
    let place = |s: &Snapshot, address: &str| {
        s.addresses.search(address, 1).first().map(|m| {
            let r = &s.registry;
            (
                m.entry.code.to_owned(),
                m.hit.community.map(|c| r.communities[c].code.clone()),
                m.hit.grid.map(|g| r.grids[g].code.clone()),
            )
        })
    };
    for e in want.addresses.entries().iter().step_by(97) {
        assert_eq!(
            place(got, e.address),
            place(want, e.address),
            "{}",
            e.address
        );
    }
}

/// Every tile of zoom `z` over `b` (lon/lat).
fn tiles_over(b: geo::Rect<f64>, z: u8) -> Vec<TileId> {
    let corner = |lon: f64, lat: f64| TileId::containing(geo::coord! {x: lon, y: lat}, z);
    let (nw, se) = (corner(b.min().x, b.max().y), corner(b.max().x, b.min().y));
    (nw.x..=se.x)
        .flat_map(|x| (nw.y..=se.y).map(move |y| (x, y)))
        .map(|(x, y)| TileId::new(u32::from(z), x, y).expect("in range"))
        .collect()
}

/// The published snapshot's tile source, derived from the previous snapshot's by the approval
/// (`TileSource::with_change`), against `TileSource::new` of the full read of the version: every
/// tile over `around` (grown by ~1 km, for the neighbours the change re-noded) at z6–z16 and
/// 60 tiles elsewhere in the city at z8–z16, every area and label layer, byte for byte (the
/// arcs do not depend on build order). Also checks that it was derived, and cut again only
/// what the change reached, and that the change showed in some of those tiles.
fn assert_same_tiles(published: &api::Published, full: &Snapshot, around: geo::Rect<f64>) {
    let derived = published.tile_source();
    let fresh = TileSource::new(&full.registry);
    let recut = derived
        .recut_shapes()
        .expect("derived from the previous tile source");
    assert!(
        recut > 0 && recut <= fresh.shape_count(),
        "{recut} of {} shapes cut again",
        fresh.shape_count()
    );
    // On the sample city (≈ 2,800 shapes) a split reaches a few dozen.
    if fresh.shape_count() > 1000 {
        assert!(recut < 200, "{recut} shapes cut again");
    }
    assert_eq!(derived.arc_count(), fresh.arc_count(), "arcs in use");
    let layers = LayerSet::parse("towns,communities,grids,labels").expect("layers");
    let grown = geo::Rect::new(
        geo::coord! {x: around.min().x - 0.01, y: around.min().y - 0.01},
        geo::coord! {x: around.max().x + 0.01, y: around.max().y + 0.01},
    );
    let city = city_bounds(&full.registry);
    let mut rng = common::Rng(7);
    let mut tiles: Vec<TileId> = (6..=16).flat_map(|z| tiles_over(grown, z)).collect();
    for i in 0..60u8 {
        let p = geo::coord! {x: rng.uniform(city.min().x, city.max().x),
        y: rng.uniform(city.min().y, city.max().y)};
        tiles.push(TileId::containing(p, 8 + i % 9));
    }
    let mut drawn = 0;
    for tile in tiles {
        let got = derived
            .render(&full.registry, tile, &layers)
            .expect("renders");
        let want = fresh
            .render(&full.registry, tile, &layers)
            .expect("renders");
        assert!(got == want, "tile {}/{}/{} differs", tile.z, tile.x, tile.y);
        drawn += usize::from(want.is_some());
    }
    assert!(drawn > 100, "only {drawn} tiles had anything");
}

/// The published snapshot against the full rebuild of the newest stored version, and their
/// audits as the API serves them.
async fn assert_matches_the_store(
    state: &AppState,
    app: &axum::Router,
    store: &shequ::store::Store,
    around: geo::Rect<f64>,
    prefix: &str,
) {
    let published = state.published();
    let version = published.registry_version().expect("a stored version");
    let full = registry::snapshot_of(store, version).expect("the version builds");
    let got = published.snapshot();
    assert_same_registry(&got.registry, &full.registry);
    assert_same_lookups(got, &full, &points(&full, around, prefix));
    assert_same_addresses(got, &full);
    assert_same_tiles(&published, &full, around);
    let full_app = api::router(AppState::new(full), &ApiConfig::default());
    let incremental = common::get(app, "/api/v1/audit").await.json();
    let audited = common::get(&full_app, "/api/v1/audit").await.json();
    assert_eq!(incremental, audited, "the incremental audit");
}

/// A split of `community` into its western and eastern grids (by centroid), drawn as the
/// union of each half's grids, staffed and justified so that every rule passes.
fn split_by_grids(r: &Registry, community: &str) -> Value {
    let c = &r.communities[r.community_by_code(community).expect("community")];
    let mut grids: Vec<usize> = c.grids.clone();
    grids.sort_by(|&a, &b| {
        let x = |g: usize| r.grids[g].area.centroid().map_or(0.0, |p| p.x());
        x(a).total_cmp(&x(b))
    });
    let (west, east) = grids.split_at(grids.len() / 2);
    let part = |name: &str, half: &[usize]| {
        let area = unary_union(half.iter().flat_map(|&g| r.grids[g].area.0.iter()));
        let households: u64 = half.iter().map(|&g| r.grids[g].counts.households).sum();
        let population: u64 = half.iter().map(|&g| r.grids[g].counts.population).sum();
        json!({"type": "Feature", "geometry": area_to_geojson(&area, None),
               "properties": {"name": name, "workers": population * 18 / 10_000 + 10,
                              "office_area_m2": households as f64 * 0.5 + 500.0,
                              "justification": "测试：按网格拆分"}})
    };
    json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": "按网格拆分", "parents": [community]},
           "features": [part("西区社区", west), part("东区社区", east)]})
}

/// The sample city's shipped compliant split of 太平社区.
fn compliant_split() -> Value {
    let text = std::fs::read_to_string(
        common::sample_dir().join("examples/proposals/compliant-split.geojson"),
    )
    .expect("read");
    serde_json::from_str(&text).expect("json")
}

fn bounds_of(r: &Registry, community: &str) -> geo::Rect<f64> {
    let c = &r.communities[r.community_by_code(community).expect("community")];
    c.territory
        .as_deref()
        .and_then(|t| t.bounding_rect())
        .expect("territory")
}

/// A store seeded from `from` (with its address register when `addresses`), a server state
/// and router over it, and a reviewer's token.
struct Env {
    _dir: tempfile::TempDir,
    store: Arc<shequ::store::Store>,
    state: AppState,
    app: axum::Router,
    reviewer: String,
}

fn env(from: &std::path::Path, addresses: bool) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = common::copy_boundaries(from, dir.path());
    if addresses {
        std::fs::copy(from.join("addresses.csv"), data.join("addresses.csv"))
            .expect("copy the register");
    }
    let store = Arc::new(common::backend::open(dir.path()));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data).expect("seed");
    let config = ApiConfig::default();
    let state = AppState::with_store(snapshot, version.id, store.clone(), &config);
    let app = api::router(state.clone(), &config);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
    Env {
        _dir: dir,
        store,
        state,
        app,
        reviewer,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn approvals_on_the_sample_city_build_what_a_full_read_of_the_version_builds() {
    let Env {
        store,
        state,
        app,
        reviewer,
        ..
    } = &env(&common::sample_dir(), true);

    // 1: the shipped compliant split of 太平社区.
    let street = common::user_token(store, "street1", Role::Street, &["442000001"]);
    let around = bounds_of(&state.published().snapshot().registry, "442000001002");
    let proposal = compliant_split();
    // As the server does in the background after start-up and after each publication.
    state.published().warm();
    common::carry_to_approval(app, &street, reviewer, proposal).await;
    assert_eq!(state.published().registry_version(), Some(2));
    assert_matches_the_store(state, app, store, around, "442000001").await;

    // 2: 城南社区 split by its grids, on top of the first approval's snapshot.
    let street = common::user_token(store, "street5", Role::Street, &["442000005"]);
    let published = state.published();
    let registry = &published.snapshot().registry;
    let (proposal, around) = (
        split_by_grids(registry, "442000005003"),
        bounds_of(registry, "442000005003"),
    );
    published.warm();
    common::carry_to_approval(app, &street, reviewer, proposal).await;
    assert_eq!(state.published().registry_version(), Some(3));
    assert_matches_the_store(state, app, store, around, "442000005").await;
}

/// A server following a version another server committed (a replica on the same database):
/// its state at the version before, and its router.
fn replica_at(store: &Arc<shequ::store::Store>, version: i64) -> (AppState, axum::Router) {
    let snapshot = registry::snapshot_of(store, version).expect("the version builds");
    let config = ApiConfig::default();
    let state = AppState::with_store(snapshot, version, store.clone(), &config);
    state.published().warm();
    let app = api::router(state.clone(), &config);
    (state, app)
}

/// `shequ_versions_followed_{from_change,whole}_total` of a server's `/metrics`.
async fn followed(app: &axum::Router) -> (u64, u64) {
    let metrics = common::get(app, "/metrics").await.text();
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    };
    (
        value("shequ_versions_followed_from_change_total "),
        value("shequ_versions_followed_whole_total "),
    )
}

/// A replica learns of a version another server approved and builds it from the snapshot it
/// serves and the version's rows (`api::follow::catch_up`, as the approving server built it)
/// instead of reading the whole city: the same city as a full read of the version (features,
/// lookups, addresses, tiles, audit), approval after approval. A replica that missed a version
/// reads the newest whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_replica_builds_each_approved_version_from_its_rows_as_a_full_read_does() {
    let Env {
        store,
        state,
        app,
        reviewer,
        ..
    } = &env(&common::sample_dir(), true);
    let (replica, replica_app) = replica_at(store, 1);
    let (lagging, lagging_app) = replica_at(store, 1);

    let street = common::user_token(store, "street1", Role::Street, &["442000001"]);
    let around = bounds_of(&state.published().snapshot().registry, "442000001002");
    let proposal = compliant_split();
    state.published().warm();
    common::carry_to_approval(app, &street, reviewer, proposal).await;
    api::follow::catch_up(&replica, store, 2);
    assert_eq!(replica.published().registry_version(), Some(2));
    assert_eq!(followed(&replica_app).await, (1, 0));
    assert_matches_the_store(&replica, &replica_app, store, around, "442000001").await;

    let street = common::user_token(store, "street5", Role::Street, &["442000005"]);
    let published = state.published();
    let registry = &published.snapshot().registry;
    let (proposal, around) = (
        split_by_grids(registry, "442000005003"),
        bounds_of(registry, "442000005003"),
    );
    common::carry_to_approval(app, &street, reviewer, proposal).await;
    // A version it serves already (the watcher reports the newest, maybe twice): nothing to do.
    api::follow::catch_up(&replica, store, 2);
    api::follow::catch_up(&replica, store, 3);
    assert_eq!(replica.published().registry_version(), Some(3));
    assert_eq!(followed(&replica_app).await, (2, 0));
    assert_matches_the_store(&replica, &replica_app, store, around, "442000005").await;

    api::follow::catch_up(&lagging, store, 3);
    assert_eq!(lagging.published().registry_version(), Some(3));
    assert_eq!(followed(&lagging_app).await, (0, 1));
}

/// A server's own approval commits its version before it publishes it, and the store's watcher
/// may report the version in between: following it then must wait for the approval in flight
/// instead of building the same version a second time (at ×100 that was 20 s of CPU and a
/// third city in memory, thrown away).
#[tokio::test(flavor = "multi_thread")]
async fn following_waits_for_the_servers_own_approval_in_flight() {
    let Env {
        store,
        app,
        reviewer,
        ..
    } = &env(&common::sample_dir(), true);
    // `server` stands for the approving server between its commit and its publication: the
    // version is in the store and its move is still in flight.
    let (server, server_app) = replica_at(store, 1);
    let street = common::user_token(store, "street1", Role::Street, &["442000001"]);
    common::carry_to_approval(app, &street, reviewer, compliant_split()).await;
    let in_flight = server.move_in_flight().await;
    let watcher = {
        let (server, store) = (server.clone(), Arc::clone(store));
        std::thread::spawn(move || api::follow::catch_up(&server, &store, 2))
    };
    // The approval publishes its version and ends its move. (Reading the version whole takes
    // longer than building it from its rows, so a catch-up that did not wait would publish
    // first and the assertions below would see it.)
    let approved = registry::snapshot_of(store, 2).expect("version 2 builds");
    assert!(server.publish_if_newer(approved, 2));
    drop(in_flight);
    watcher.join().expect("the watcher's catch-up");
    assert_eq!(server.published().registry_version(), Some(2));
    assert_eq!(
        followed(&server_app).await,
        (0, 0),
        "the version the server approved was built a second time"
    );
}

#[tokio::test]
async fn an_approval_on_the_mini_city_builds_what_a_full_read_builds() {
    let Env {
        store,
        state,
        app,
        reviewer,
        ..
    } = &env(&common::mini_dir(), false);
    let street = common::user_token(store, "street", Role::Street, &["442000901"]);
    let around = bounds_of(&state.published().snapshot().registry, "442000901001");
    let mut proposal = common::west_split(22.01);
    for part in proposal["features"].as_array_mut().expect("parts") {
        part["properties"]["justification"] = json!("试点");
    }
    state.published().warm();
    common::carry_to_approval(app, &street, reviewer, proposal).await;
    assert_eq!(state.published().registry_version(), Some(2));
    assert_matches_the_store(state, app, store, around, "442000901").await;
}

/// The sample city has no structural findings, so the incremental audit is also checked on the
/// defects fixture (an overlap, unassigned land, a sliver, a community outside its town, grid
/// gaps, overlaps and straddling, all in town 442000106): every community of that town with two
/// grids or more is split by its grids in turn (planned, not validated), and the audit of the
/// changed snapshot must equal a full audit of it.
#[test]
fn the_incremental_audit_equals_a_full_audit_next_to_every_kind_of_finding() {
    let before = common::load(&common::sample_dir().join("examples/defects"));
    let audit = shequ::audit::audit(&before.registry, &before.guidelines, &|_, _| {});
    let r = &before.registry;
    let used = r
        .communities
        .iter()
        .map(|c| c.code.clone())
        .chain(r.grids.iter().map(|g| g.code.clone()))
        .collect();
    let mut checked = 0;
    for c in r
        .communities
        .iter()
        .filter(|c| c.code.starts_with("442000106"))
    {
        if c.grids.len() < 2 || c.territory.is_none() {
            continue;
        }
        let body = split_by_grids(r, &c.code);
        let Ok(proposal) = shequ::rules::parse(&body, r, &before.guidelines.plausible) else {
            continue;
        };
        let Ok(change) = shequ::rules::plan(&proposal, r, &used) else {
            continue;
        };
        let grids: Vec<Value> = change.grids.iter().map(|(f, _)| f.clone()).collect();
        let edit = shequ::registry::Edit {
            end_communities: &change.end_communities,
            end_grids: &change.end_grids,
            communities: &change.communities,
            grids: &grids,
        };
        let (after, touched) = before.with_edit(&edit).expect("applies");
        let incremental = after.audit_after(&audit, &touched);
        let full = shequ::audit::audit(&after.registry, &after.guidelines, &|_, _| {});
        assert_eq!(
            serde_json::to_value(&incremental).expect("json"),
            serde_json::to_value(&full).expect("json"),
            "after splitting {}",
            c.code
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} splits planned");
}
