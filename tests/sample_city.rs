//! The shipped sample city: what it must contain, and that it is exactly what the generator
//! writes (so nobody hand-edits generated files).

mod common;

use shequ::registry::{CommunityKind, Registry};

fn community<'a>(r: &'a Registry, town: &str, name: &str) -> &'a shequ::registry::Community {
    let t = r
        .town_by_code(town)
        .unwrap_or_else(|| panic!("town {town}"));
    r.towns[t]
        .communities
        .iter()
        .map(|&c| &r.communities[c])
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} in {town}"))
}

#[test]
fn the_23_towns_of_zhongshan() {
    let r = &common::sample().registry;
    let towns: Vec<(&str, &str)> = r
        .towns
        .iter()
        .map(|t| (t.code.as_str(), t.name.as_str()))
        .collect();
    let expected = [
        ("442000001", "石岐"),
        ("442000002", "东区"),
        ("442000003", "中山港"),
        ("442000004", "西区"),
        ("442000005", "南区"),
        ("442000006", "五桂山"),
        ("442000007", "民众"),
        ("442000008", "南朗"),
        ("442000101", "黄圃"),
        ("442000103", "东凤"),
        ("442000105", "古镇"),
        ("442000106", "沙溪"),
        ("442000107", "坦洲"),
        ("442000108", "港口"),
        ("442000109", "三角"),
        ("442000110", "横栏"),
        ("442000111", "南头"),
        ("442000112", "阜沙"),
        ("442000114", "三乡"),
        ("442000115", "板芙"),
        ("442000116", "大涌"),
        ("442000117", "神湾"),
        ("442000118", "小榄"),
    ];
    assert_eq!(towns.len(), expected.len());
    for ((code, name), (want_code, want_name)) in towns.iter().zip(expected) {
        assert_eq!(*code, want_code);
        assert!(
            name.starts_with(want_name),
            "{code} is {name}, expected {want_name}…"
        );
    }
    // Placed roughly where Zhongshan is.
    for t in &r.towns {
        for c in t.area.iter().flat_map(|p| p.exterior().coords()) {
            assert!(
                (113.1..=113.7).contains(&c.x) && (22.15..=22.83).contains(&c.y),
                "{} at {c:?}",
                t.code
            );
        }
    }
}

#[test]
fn communities_as_the_report_counts_them() {
    let r = &common::sample().registry;
    let count = |kind: CommunityKind, territory: bool| {
        r.communities
            .iter()
            .filter(|c| c.kind == kind && c.territory.is_some() == territory)
            .count()
    };
    assert_eq!(
        count(CommunityKind::Community, true),
        63,
        "standard communities"
    );
    assert_eq!(
        count(CommunityKind::Community, false),
        13,
        "communities without territory"
    );
    assert_eq!(
        count(CommunityKind::VillageConverted, true),
        61,
        "village-converted communities"
    );
    assert_eq!(count(CommunityKind::VillageConverted, false), 0);
    let villages = count(CommunityKind::Village, true);
    assert!((130..=170).contains(&villages), "{villages} villages");
    assert!(
        (4500..=5500).contains(&r.grids.len()),
        "{} grids",
        r.grids.len()
    );

    // Most communities hold 1,500–8,000 households.
    let urban: Vec<u64> = r
        .communities
        .iter()
        .filter(|c| c.kind != CommunityKind::Village)
        .map(|c| c.counts.households)
        .collect();
    let typical = urban
        .iter()
        .filter(|&&h| (1500..=8000).contains(&h))
        .count();
    assert!(
        typical * 10 >= urban.len() * 7,
        "{typical} of {} urban communities in 1,500–8,000",
        urban.len()
    );
}

#[test]
fn the_communities_the_report_names() {
    let r = &common::sample().registry;
    for name in [
        "竹苑社区",
        "花苑社区",
        "桃苑社区",
        "桥岗社区",
        "东裕社区",
        "夏洋社区",
    ] {
        community(r, "442000002", name);
    }
    let yingyang = community(r, "442000001", "迎阳社区");
    assert_eq!(yingyang.grids.len(), 8);
    assert!(
        yingyang.counts.population.abs_diff(17_700) <= 300,
        "{:?}",
        yingyang.counts
    );

    let chengnan = community(r, "442000005", "城南社区");
    assert_eq!(chengnan.code, "442000005003");
    assert!(
        chengnan.counts.households.abs_diff(23_600) <= 200,
        "{:?}",
        chengnan.counts
    );
    assert_eq!(chengnan.counts.service_households, 225);
    assert_eq!(chengnan.workers, 35);
}

#[test]
fn the_shipped_files_are_exactly_what_the_generator_writes() {
    let files: Vec<&str> = shequ::registry::FILES
        .iter()
        .copied()
        .chain([shequ::address::FILE])
        .collect();
    common::assert_regenerates(
        env!("CARGO_BIN_EXE_gen-city"),
        &[],
        &common::sample_dir(),
        &files,
    );
}

#[test]
fn the_readme_lookup_example_is_what_the_service_answers() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let example = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a JSON example in the README");
    let shown: serde_json::Value = serde_json::from_str(example).expect("README example is JSON");
    let point = [
        shown["point"][0].as_f64().expect("lon"),
        shown["point"][1].as_f64().expect("lat"),
    ];
    let snapshot = common::sample();
    let place = shequ::output::PointPlace::new(&snapshot.registry, point, snapshot.lookup(point));
    assert_eq!(serde_json::to_value(&place).expect("serialise"), shown);
}
