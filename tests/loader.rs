//! Every check of the boundary loader, each triggered by a variant of the mini fixture city.

mod common;

use serde_json::{Value, json};
use shequ::registry::{CommunityKind, FILES, load_dir};

/// The three files of the mini city as JSON, to be broken in one place by a test.
struct Files([Value; 3]);

impl Files {
    fn mini() -> Self {
        Files(FILES.map(|f| {
            let text =
                std::fs::read_to_string(common::mini_dir().join(f)).expect("fixture readable");
            serde_json::from_str(&text).expect("fixture is JSON")
        }))
    }
    fn towns(&mut self) -> &mut Value {
        &mut self.0[0]["features"]
    }
    fn communities(&mut self) -> &mut Value {
        &mut self.0[1]["features"]
    }
    fn grids(&mut self) -> &mut Value {
        &mut self.0[2]["features"]
    }

    /// Writes the files to a temporary directory and loads it, returning the problems.
    fn problems(&self) -> Vec<String> {
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, value) in FILES.iter().zip(&self.0) {
            std::fs::write(dir.path().join(file), value.to_string()).expect("write");
        }
        match load_dir(dir.path(), &Default::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Asserts exactly one problem, equal to `expected`.
fn assert_single(files: &Files, expected: &str) {
    assert_eq!(files.problems(), vec![expected.to_owned()]);
}

#[test]
fn the_mini_city_loads_with_counts_from_its_grids() {
    let r = load_dir(&common::mini_dir(), &Default::default()).expect("mini city loads");
    assert_eq!(
        (r.towns.len(), r.communities.len(), r.grids.len()),
        (1, 3, 4)
    );
    let west = &r.communities[r.community_by_code("442000901001").expect("west")];
    assert_eq!(west.counts.households, 300 + 200);
    assert_eq!(west.counts.population, 840 + 560);
    assert_eq!(west.grids.len(), 2);
    let none = &r.communities[r.community_by_code("442000901003").expect("no territory")];
    assert!(none.territory.is_none());
    assert_eq!(none.counts.households, 1800);
    assert_eq!(r.communities[1].kind, CommunityKind::VillageConverted);
    assert_eq!(r.total_counts().households, 500 + 600 + 1800);
}

#[test]
fn missing_property() {
    let mut f = Files::mini();
    f.grids()[2]["properties"]
        .as_object_mut()
        .expect("object")
        .remove("name");
    assert_single(
        &f,
        "grids.geojson: feature 2 (code 442000901002001), field `name`: missing",
    );
}

#[test]
fn wrong_typed_property() {
    let mut f = Files::mini();
    f.grids()[0]["properties"]["households"] = json!("many");
    assert_single(
        &f,
        "grids.geojson: feature 0 (code 442000901001001), field `households`: \
         expected a non-negative integer, found a string",
    );
}

#[test]
fn negative_and_fractional_counts_are_wrong_typed() {
    let mut f = Files::mini();
    f.grids()[0]["properties"]["population"] = json!(-3);
    f.communities()[0]["properties"]["workers"] = json!(2.5);
    let problems = f.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains(
        "feature 0 (code 442000901001), field `workers`: expected a non-negative integer"
    ));
    assert!(
        problems[1].contains("grids.geojson: feature 0 (code 442000901001001), field `population`")
    );
}

#[test]
fn negative_office_area() {
    let mut f = Files::mini();
    f.communities()[1]["properties"]["office_area_m2"] = json!(-1);
    assert_single(
        &f,
        "communities.geojson: feature 1 (code 442000901002), field `office_area_m2`: \
         expected a non-negative number, found a number",
    );
}

#[test]
fn bad_office_position() {
    let mut f = Files::mini();
    f.communities()[0]["properties"]["office"] = json!([113.0, 95.0]);
    f.communities()[1]["properties"]["office"] = json!("here");
    let problems = f.problems();
    assert_eq!(
        problems,
        vec![
            "communities.geojson: feature 0 (code 442000901001), field `office`: position (113, 95) is out of range",
            "communities.geojson: feature 1 (code 442000901002), field `office`: \
             expected a [longitude, latitude] position, found a string",
        ]
    );
}

#[test]
fn unknown_kind() {
    let mut f = Files::mini();
    f.communities()[0]["properties"]["kind"] = json!("hamlet");
    assert_single(
        &f,
        "communities.geojson: feature 0 (code 442000901001), field `kind`: \
         unknown kind \"hamlet\": expected one of community, village_converted, village",
    );
}

#[test]
fn malformed_code() {
    let mut f = Files::mini();
    f.towns()[0]["properties"]["code"] = json!("44200090X");
    let problems = f.problems();
    assert_eq!(
        problems[0],
        "towns.geojson: feature 0 (code 44200090X), field `code`: malformed code \"44200090X\": expected 9 digits"
    );
}

#[test]
fn duplicate_code() {
    let mut f = Files::mini();
    f.grids()[1]["properties"]["code"] = json!("442000901001001");
    let problems = f.problems();
    assert!(
        problems.contains(
            &"grids.geojson: feature 1 (code 442000901001001), field `code`: duplicate code: feature 0 has the same code"
                .to_owned()
        ),
        "{problems:#?}"
    );
}

#[test]
fn community_code_must_start_with_its_town_code() {
    let mut f = Files::mini();
    f.communities()[2]["properties"]["code"] = json!("442000902003");
    assert_single(
        &f,
        "communities.geojson: feature 2 (code 442000902003), field `code`: does not start with its town_code 442000901",
    );
}

#[test]
fn grid_code_must_start_with_its_community_code() {
    let mut f = Files::mini();
    f.grids()[3]["properties"]["code"] = json!("442000901001009");
    f.grids()[3]["properties"]["community_code"] = json!("442000901002");
    assert_single(
        &f,
        "grids.geojson: feature 3 (code 442000901001009), field `code`: does not start with its community_code 442000901002",
    );
}

#[test]
fn unknown_parent_town() {
    let mut f = Files::mini();
    f.communities()[2]["properties"]["town_code"] = json!("442000999");
    assert_single(
        &f,
        "communities.geojson: feature 2 (code 442000901003), field `town_code`: unknown town 442000999",
    );
}

#[test]
fn unknown_parent_community() {
    let mut f = Files::mini();
    f.grids()[0]["properties"]["community_code"] = json!("442000901009");
    f.grids()[0]["properties"]["code"] = json!("442000901009001");
    let problems = f.problems();
    assert!(
        problems.contains(
            &"grids.geojson: feature 0 (code 442000901009001), field `community_code`: unknown community 442000901009"
                .to_owned()
        ),
        "{problems:#?}"
    );
}

#[test]
fn grid_of_a_community_without_territory() {
    let mut f = Files::mini();
    f.grids()[0]["properties"]["community_code"] = json!("442000901003");
    f.grids()[0]["properties"]["code"] = json!("442000901003001");
    let problems = f.problems();
    assert!(
        problems.contains(
            &"grids.geojson: feature 0 (code 442000901003001), field `community_code`: \
              community 442000901003 has no defined territory, so it cannot have grids"
                .to_owned()
        ),
        "{problems:#?}"
    );
}

#[test]
fn community_counts_must_equal_the_sum_of_grids() {
    let mut f = Files::mini();
    f.communities()[1]["properties"]["households"] = json!(601);
    assert_single(
        &f,
        "communities.geojson: feature 1 (code 442000901002), field `households`: 601 given, but its grids sum to 600",
    );
}

#[test]
fn community_without_territory_needs_counts() {
    let mut f = Files::mini();
    f.communities()[2]["properties"]
        .as_object_mut()
        .expect("object")
        .remove("population");
    assert_single(
        &f,
        "communities.geojson: feature 2 (code 442000901003), field `population`: missing",
    );
}

#[test]
fn towns_and_grids_need_geometry() {
    let mut f = Files::mini();
    f.grids()[1]["geometry"] = Value::Null;
    f.towns()[0]
        .as_object_mut()
        .expect("object")
        .remove("geometry");
    assert_eq!(
        f.problems(),
        vec![
            "towns.geojson: feature 0 (code 442000901), field `geometry`: missing",
            "grids.geojson: feature 1 (code 442000901001002), field `geometry`: is null; this feature must have a territory",
        ]
    );
}

#[test]
fn wrong_geometry_type() {
    let mut f = Files::mini();
    f.grids()[1]["geometry"] = json!({"type": "Point", "coordinates": [113.0, 22.0]});
    assert_single(
        &f,
        "grids.geojson: feature 1 (code 442000901001002), field `geometry`: \
         expected a Polygon or MultiPolygon, found type \"Point\"",
    );
}

#[test]
fn malformed_position() {
    let mut f = Files::mini();
    f.grids()[1]["geometry"]["coordinates"][0][2] = json!([113.0]);
    assert_single(
        &f,
        "grids.geojson: feature 1 (code 442000901001002), field `geometry`: \
         ring 0 position 2: expected [longitude, latitude] numbers",
    );
}

#[test]
fn unclosed_ring() {
    let mut f = Files::mini();
    f.grids()[0]["geometry"]["coordinates"][0]
        .as_array_mut()
        .expect("ring")
        .pop();
    assert_single(
        &f,
        "grids.geojson: feature 0 (code 442000901001001), field `geometry`: \
         ring 0 is not closed: its first and last positions differ",
    );
}

#[test]
fn too_short_ring() {
    let mut f = Files::mini();
    f.grids()[0]["geometry"]["coordinates"] =
        json!([[[113.0, 22.0], [113.01, 22.0], [113.0, 22.0]]]);
    assert_single(
        &f,
        "grids.geojson: feature 0 (code 442000901001001), field `geometry`: \
         ring 0 has 3 positions; a closed ring needs at least 4",
    );
}

#[test]
fn self_intersecting_ring() {
    let mut f = Files::mini();
    // Swap two corners of the south-west grid: a bow tie crossing at (113.005, 22.005).
    f.grids()[0]["geometry"]["coordinates"] = json!([[
        [113.0, 22.0],
        [113.01, 22.01],
        [113.01, 22.0],
        [113.0, 22.01],
        [113.0, 22.0]
    ]]);
    assert_single(
        &f,
        "grids.geojson: feature 0 (code 442000901001001), field `geometry`: \
         self-intersection: ring 0 edge 0 meets ring 0 edge 2 near (113.0050000, 22.0050000)",
    );
}

#[test]
fn coordinates_out_of_range() {
    let mut f = Files::mini();
    f.towns()[0]["geometry"]["coordinates"][0][3] = json!([213.02, 22.01]);
    assert_single(
        &f,
        "towns.geojson: feature 0 (code 442000901), field `geometry`: \
         ring 0 position 3 (213.02, 22.01) is out of range (longitude −180…180, latitude −90…90)",
    );
}

#[test]
fn multipolygon_parts_are_named() {
    let mut f = Files::mini();
    let good = f.grids()[0]["geometry"]["coordinates"].clone();
    f.grids()[0]["geometry"] = json!({"type": "MultiPolygon", "coordinates": [good, [[[1.0, 1.0], [2.0, 1.0], [1.0, 1.0]]]]});
    assert_single(
        &f,
        "grids.geojson: feature 0 (code 442000901001001), field `geometry`: \
         polygon 1: ring 0 has 3 positions; a closed ring needs at least 4",
    );
}

#[test]
fn numbers_beyond_f64_are_rejected_with_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in FILES {
        std::fs::copy(common::mini_dir().join(file), dir.path().join(file)).expect("copy");
    }
    let grids = std::fs::read_to_string(dir.path().join("grids.geojson")).expect("read");
    std::fs::write(
        dir.path().join("grids.geojson"),
        grids.replacen("113.0", "1e999", 1),
    )
    .expect("write");
    let problems: Vec<String> = match load_dir(dir.path(), &Default::default()) {
        Ok(_) => panic!("must not load"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("grids.geojson: not valid JSON: number out of range at line 2"),
        "{problems:?}"
    );
}

#[test]
fn unreadable_and_malformed_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("towns.geojson"),
        "{\"type\": \"FeatureCollection\"",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("communities.geojson"),
        "{\"type\": \"Feature\"}",
    )
    .expect("write");
    let problems: Vec<String> = match load_dir(dir.path(), &Default::default()) {
        Ok(_) => panic!("must not load"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("towns.geojson: not valid JSON: EOF while parsing"));
    assert_eq!(
        problems[1],
        "communities.geojson: expected a GeoJSON FeatureCollection (member `type`)"
    );
    assert!(problems[2].starts_with("grids.geojson: cannot read"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut f = Files::mini();
    f.towns()[0]["properties"]["name"] = json!("");
    f.communities()[0]["properties"]["workers"] = Value::Null;
    f.grids()[3]["properties"]["service_households"] = json!(true);
    f.grids()[2]["type"] = json!("Feture");
    assert_eq!(
        f.problems(),
        vec![
            "towns.geojson: feature 0 (code 442000901), field `name`: must not be empty",
            "communities.geojson: feature 0 (code 442000901001), field `workers`: missing",
            "grids.geojson: feature 2 (code 442000901002001), field `type`: expected a GeoJSON Feature",
            "grids.geojson: feature 3 (code 442000901002002), field `service_households`: \
             expected a non-negative integer, found a boolean",
        ]
    );
}
