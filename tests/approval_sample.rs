//! An approval on the shipped sample city, checked against independent computation: the
//! compliant split of 太平社区 (442000001002) into 太平（1） and 太平（2） goes through the
//! procedure and is approved; then the parent has ended, the two parts have the town's next
//! codes, every old grid moved to the part holding its interior point (geo's `Contains`, not
//! shequ's lookup), the diff's household totals are those sums, lookups agree with the diff's
//! grid mapping at random points, and the communities still tile the town (BooleanOps, ≤ 1 m²).

mod common;

use common::call_ok as call;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use geo::{BooleanOps, Contains, GeodesicArea, InteriorPoint, MultiPolygon, Point, unary_union};
use serde_json::{Value, json};
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::registry::parse_area;
use shequ::store::registry;

const PARENT: &str = "442000001002";
const TOWN: &str = "442000001";

#[tokio::test]
async fn approving_the_compliant_split_changes_exactly_what_the_parts_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Boundaries and guidelines; the address register is left out (not needed, slow in debug).
    let data = common::copy_boundaries(&common::sample_dir(), dir.path());
    let store = Arc::new(common::backend::open(dir.path()));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data).expect("seed");
    let token =
        |name: &str, role: Role, towns: &[&str]| common::user_token(&store, name, role, towns);
    let street = token("street", Role::Street, &[TOWN]);
    let reviewer = token("reviewer", Role::Reviewer, &[]);
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_store(snapshot, version.id, store.clone(), &config),
        &config,
    );

    let text = std::fs::read_to_string(
        common::sample_dir().join("examples/proposals/compliant-split.geojson"),
    )
    .expect("read");
    let proposal: Value = serde_json::from_str(&text).expect("json");
    let created = call(
        &app,
        "POST",
        "/api/v1/proposals",
        &street,
        Some(proposal.clone()),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    for (path, body) in [
        ("transition", json!({"to": "consultation"})),
        ("transition", json!({"to": "vote"})),
        ("vote", json!({"for": 300, "against": 20, "abstain": 5})),
        ("transition", json!({"to": "submitted"})),
    ] {
        call(
            &app,
            "POST",
            &format!("/api/v1/proposals/{id}/{path}"),
            &street,
            Some(body),
        )
        .await;
    }
    call(
        &app,
        "POST",
        &format!("/api/v1/proposals/{id}/transition"),
        &reviewer,
        Some(json!({"to": "approved"})),
    )
    .await;

    // Independent expectations from the files: the parts' polygons, the parent's grids, and
    // which part holds each grid's interior point.
    let old = common::sample();
    let r = &old.registry;
    let parent = &r.communities[r.community_by_code(PARENT).expect("parent")];
    let parts: Vec<MultiPolygon<f64>> = proposal["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| parse_area(&f["geometry"]).expect("part geometry"))
        .collect();
    let highest = r.towns[r.town_by_code(TOWN).expect("town")]
        .communities
        .iter()
        .map(|&c| r.communities[c].code[9..].parse::<u32>().expect("number"))
        .max()
        .expect("communities");
    let new_codes: Vec<String> = (1..=2)
        .map(|i| format!("{TOWN}{:03}", highest + i))
        .collect();
    let mut expected_households: BTreeMap<String, u64> = BTreeMap::new();
    let mut part_of_grid: HashMap<String, String> = HashMap::new();
    for &g in &parent.grids {
        let grid = &r.grids[g];
        let inside = grid.area.interior_point().expect("interior point");
        let part = parts
            .iter()
            .position(|p| p.contains(&inside))
            .expect("every grid in a part");
        *expected_households
            .entry(new_codes[part].clone())
            .or_default() += grid.counts.households;
        part_of_grid.insert(grid.code.clone(), new_codes[part].clone());
    }

    let diff = call(&app, "GET", "/api/v1/versions/1/diff/2", "", None).await;
    let codes = |key: &str| -> Vec<String> {
        diff[key]
            .as_array()
            .expect(key)
            .iter()
            .filter_map(|c| c["code"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(codes("ended"), [PARENT]);
    assert_eq!(codes("created"), new_codes);
    assert!(
        codes("redrawn").is_empty() && codes("changed").is_empty(),
        "{diff}"
    );
    let mut moved_households: BTreeMap<String, u64> = BTreeMap::new();
    let mut mapping: HashMap<String, String> = HashMap::new();
    for m in diff["moved"].as_array().expect("moved") {
        assert_eq!(m["from"], PARENT);
        let to = m["to"].as_str().expect("to").to_owned();
        let grids = m["grids"].as_array().expect("grids");
        let sum: u64 = grids
            .iter()
            .map(|g| g["households"].as_u64().expect("hh"))
            .sum();
        assert_eq!(m["households"], sum);
        *moved_households.entry(to.clone()).or_default() += sum;
        for g in grids {
            let (from, new) = (
                g["from"].as_str().expect("from"),
                g["to"].as_str().expect("to"),
            );
            assert_eq!(
                part_of_grid.get(from),
                Some(&to),
                "grid {from} went to the wrong part"
            );
            assert!(new.starts_with(&to), "{new} is not numbered under {to}");
            mapping.insert(from.to_owned(), new.to_owned());
        }
    }
    assert_eq!(
        mapping.len(),
        parent.grids.len(),
        "every grid of the parent moved once"
    );
    assert_eq!(moved_households, expected_households);
    assert_eq!(
        moved_households.values().sum::<u64>(),
        parent.counts.households
    );

    // Lookups at random points of the old parent: today's grid is the one the diff maps
    // yesterday's grid to.
    let territory = parent.territory.as_deref().expect("territory");
    let bounds = geo::BoundingRect::bounding_rect(territory).expect("bounds");
    let yesterday = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .previous_day()
        .expect("date")
        .format(shequ::store::DATE_FORMAT)
        .expect("format");
    let mut rng = common::Rng(7);
    let mut checked = 0;
    while checked < 200 {
        let (lon, lat) = (
            rng.uniform(bounds.min().x, bounds.max().x),
            rng.uniform(bounds.min().y, bounds.max().y),
        );
        if !territory.contains(&Point::new(lon, lat)) {
            continue;
        }
        let then = call(
            &app,
            "GET",
            &format!("/api/v1/lookup?lon={lon}&lat={lat}&as_of={yesterday}"),
            "",
            None,
        )
        .await;
        let now = call(
            &app,
            "GET",
            &format!("/api/v1/lookup?lon={lon}&lat={lat}"),
            "",
            None,
        )
        .await;
        let old_grid = then["grid"]["code"].as_str().expect("old grid");
        assert_eq!(then["community"]["code"], PARENT);
        assert_eq!(
            now["grid"]["code"].as_str(),
            mapping.get(old_grid).map(String::as_str),
            "at {lon},{lat}"
        );
        checked += 1;
    }

    // The communities of the town still tile it.
    let town = call(&app, "GET", &format!("/api/v1/towns/{TOWN}"), "", None).await;
    let town_area = parse_area(&town["geometry"]).expect("town");
    let communities = call(
        &app,
        "GET",
        &format!("/api/v1/communities?town={TOWN}"),
        "",
        None,
    )
    .await;
    let areas: Vec<MultiPolygon<f64>> = communities["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| !f["geometry"].is_null())
        .map(|f| parse_area(&f["geometry"]).expect("community"))
        .collect();
    let union = unary_union(areas.iter().flat_map(|a| a.0.iter()));
    let sum: f64 = areas.iter().map(|a| a.geodesic_area_unsigned()).sum();
    let gap = town_area.difference(&union).geodesic_area_unsigned();
    let overlap = sum - union.geodesic_area_unsigned();
    assert!(
        gap < 1.0 && overlap.abs() < 1.0,
        "gap {gap} m², overlap {overlap} m²"
    );
}
