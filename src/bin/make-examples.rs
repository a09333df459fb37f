//! `make-examples`: writes the sample proposals in `boundaries/examples/proposals/` from the
//! shipped sample city — a compliant split, the article's 城南 → 环城 + 城南 split, and one bad
//! proposal per failing rule — plus `expected.json` with each one's verdict and the rule that
//! must fail. Deterministic; checks every example's verdict before writing it.
//!
//! `cargo run --release --bin make-examples -- [--from boundaries] [--out boundaries/examples/proposals]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use geo::{Centroid, InteriorPoint};
use serde_json::{Value, json};
use shequ::Snapshot;
use shequ::geometry::geojson::area_to_geojson;
use shequ::registry::{CommunityKind, Registry, parse_area};
use shequ::rules::{Verdict, parse, split_by_groups, split_by_line, validate};

/// 城南社区 and the line its grids are divided by (see boundaries/README.md).
const CHENGNAN: &str = "442000005003";
const CHENGNAN_LINE_LON: f64 = 113.3963;

/// Writes the sample proposals and their expected verdicts.
#[derive(clap::Parser)]
struct Args {
    /// The sample city to derive from.
    #[arg(long, default_value = "boundaries")]
    from: PathBuf,
    /// Where to write.
    #[arg(long, default_value = "boundaries/examples/proposals")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    match make(&args.from, &args.out) {
        Ok(n) => {
            println!("wrote {n} example proposals");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Grid codes of a community, sorted west to east by centroid.
fn grids_west_to_east(r: &Registry, c: usize) -> Vec<(String, f64, u64)> {
    let mut grids: Vec<(String, f64, u64)> = r.communities[c]
        .grids
        .iter()
        .map(|&g| {
            let grid = &r.grids[g];
            let lon = grid.area.centroid().map_or(0.0, |p| p.x());
            (grid.code.clone(), lon, grid.counts.households)
        })
        .collect();
    grids.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    grids
}

fn set(p: &mut Value, part: usize, key: &str, value: Value) {
    p["features"][part]["properties"][key] = value;
}

/// Staffing and space that meet the guidelines for a part's estimated counts.
fn staff(p: &mut Value, snapshot: &Snapshot) -> Result<(), String> {
    let report = validate(
        &parse(p, &snapshot.registry, &snapshot.guidelines.plausible).map_err(|e| e.to_string())?,
        &snapshot.registry,
        &snapshot.guidelines,
    );
    for (i, part) in report.parts.iter().enumerate() {
        let m = &part.measures;
        set(
            p,
            i,
            "workers",
            json!((m.population * 20.0 / 10_000.0).ceil() as u64 + 1),
        );
        set(
            p,
            i,
            "office_area_m2",
            json!((m.households * 0.35).ceil().max(320.0)),
        );
    }
    Ok(())
}

fn verdict_of(p: &Value, s: &Snapshot) -> Result<(Verdict, Vec<String>), String> {
    let report = validate(
        &parse(p, &s.registry, &s.guidelines.plausible).map_err(|e| e.to_string())?,
        &s.registry,
        &s.guidelines,
    );
    let failing = report
        .parts
        .iter()
        .flat_map(|p| p.checks.iter())
        .chain(&report.checks)
        .filter(|c| c.verdict == Verdict::Fail)
        .map(|c| c.rule.to_string())
        .collect();
    Ok((report.verdict, failing))
}

fn make(from: &Path, out: &Path) -> Result<usize, String> {
    let s = Snapshot::load(from).map_err(|e| e.to_string())?;
    let r = &s.registry;
    let mut examples: Vec<(&str, Value, &str, Option<&str>, &str)> = Vec::new();

    // A compliant split: the first community (by code) of 4,000–6,000 households whose grids,
    // halved west to east by households, make two parts that pass once staffed.
    let mut compliant = None;
    for (c, community) in r.communities.iter().enumerate() {
        let h = community.counts.households;
        if community.kind != CommunityKind::Community
            || !(4000..=6000).contains(&h)
            || community.grids.len() < 6
        {
            continue;
        }
        let grids = grids_west_to_east(r, c);
        let mut acc = 0;
        let cut = grids.iter().position(|g| {
            acc += g.2;
            acc * 2 >= h
        });
        let Some(cut) = cut else { continue };
        let groups = vec![
            grids[..=cut]
                .iter()
                .map(|g| g.0.clone())
                .collect::<Vec<_>>(),
            grids[cut + 1..].iter().map(|g| g.0.clone()).collect(),
        ];
        let Ok(mut p) = split_by_groups(r, &community.code, &groups) else {
            continue;
        };
        staff(&mut p, &s)?;
        if verdict_of(&p, &s)?.0 != Verdict::Fail {
            compliant = Some((c, groups, p));
            break;
        }
    }
    let (c, groups, base) = compliant.ok_or("no community gives a compliant split")?;
    let community = &r.communities[c];
    examples.push((
        "compliant-split.geojson",
        base.clone(),
        "pass-or-warn",
        None,
        "a split along grid edges that meets every guideline",
    ));

    // The article's split of 城南 into 环城 (13,200 households, 29 workers) and 城南 (10,400, 25).
    let cn = r
        .community_by_code(CHENGNAN)
        .ok_or("城南 is not in the sample city")?;
    let (west, east): (Vec<_>, Vec<_>) = grids_west_to_east(r, cn)
        .into_iter()
        .partition(|g| g.1 < CHENGNAN_LINE_LON);
    let mut chengnan = split_by_groups(
        r,
        CHENGNAN,
        &[
            west.into_iter().map(|g| g.0).collect(),
            east.into_iter().map(|g| g.0).collect(),
        ],
    )
    .map_err(|e| e.to_string())?;
    chengnan["proposal"]["title"] = json!("南区城南社区拆分（环城社区、城南社区）");
    for (i, (name, workers, office)) in [("环城社区", 29, 900), ("城南社区", 25, 700)]
        .into_iter()
        .enumerate()
    {
        set(&mut chengnan, i, "name", json!(name));
        set(&mut chengnan, i, "workers", json!(workers));
        set(&mut chengnan, i, "office_area_m2", json!(office));
        set(
            &mut chengnan,
            i,
            "justification",
            json!(
                "城南社区原有约23,600户，先拆分为两个社区以降低每名工作人员服务户数；规模仍超出一般标准，待网格调整后再行拆分。"
            ),
        );
    }
    examples.push(("chengnan-split.geojson", chengnan, "fail", Some("workers_per_10k_residents"), "the article's split: sizes above 3,000 households are justified exceptions; staffing still falls short of 18 per 10,000 residents"));

    // One bad proposal per failing rule, each derived from the compliant split.
    let mut few_workers = base.clone();
    set(&mut few_workers, 0, "workers", json!(1));
    examples.push((
        "bad-too-few-workers.geojson",
        few_workers,
        "fail",
        Some("workers_per_10k_residents"),
        "one worker for a whole part",
    ));

    let mut small_office = base.clone();
    set(&mut small_office, 0, "office_area_m2", json!(100));
    examples.push((
        "bad-too-little-office-space.geojson",
        small_office,
        "fail",
        Some("office_m2_total"),
        "100 m² of office and service space",
    ));

    let mut gap = base.clone();
    let dropped = groups[0][0].clone();
    let mut fewer = groups.clone();
    fewer[0].retain(|g| *g != dropped);
    fewer[1].push(dropped.clone());
    let regrouped = split_by_groups(r, &community.code, &fewer).map_err(|e| e.to_string())?;
    // Keep part 2 as it was, so the dropped grid belongs to neither part.
    gap["features"][0]["geometry"] = regrouped["features"][0]["geometry"].clone();
    examples.push((
        "bad-leaves-a-gap.geojson",
        gap,
        "fail",
        Some("parts_cover_parents"),
        "one grid of the parent left in no part",
    ));

    let mut scattered_groups = groups.clone();
    let (first, last) = (groups[0][0].clone(), groups[1][groups[1].len() - 1].clone());
    scattered_groups[0].retain(|g| *g != first);
    scattered_groups[1].retain(|g| *g != last);
    scattered_groups[0].push(last);
    scattered_groups[1].push(first);
    let mut scattered =
        split_by_groups(r, &community.code, &scattered_groups).map_err(|e| e.to_string())?;
    staff(&mut scattered, &s)?;
    examples.push((
        "bad-non-contiguous.geojson",
        scattered,
        "fail",
        Some("contiguous"),
        "the westernmost and easternmost grids swapped between the parts",
    ));

    let territory = community.territory.as_deref().ok_or("no territory")?;
    let centre = territory.interior_point().ok_or("empty territory")?;
    let mut cut = split_by_line(
        r,
        &community.code,
        &[
            [centre.x(), centre.y() - 0.05],
            [centre.x() + 0.0003, centre.y() + 0.05],
        ],
    )
    .map_err(|e| e.to_string())?;
    staff(&mut cut, &s)?;
    examples.push((
        "bad-cuts-grids.geojson",
        cut,
        "fail",
        Some("grids_not_cut"),
        "a straight line through the middle, across grids",
    ));

    // Overlapping a neighbour: the first part drawn over a neighbouring community's grid too.
    let town = &r.towns[community.town];
    let neighbour_grid = town
        .communities
        .iter()
        .filter(|&&o| o != c)
        .flat_map(|&o| r.communities[o].grids.iter().copied())
        .min_by(|&a, &b| {
            let d = |g: usize| {
                let p = r.grids[g]
                    .area
                    .centroid()
                    .map_or([0.0, 0.0], |p| [p.x(), p.y()]);
                (p[0] - centre.x()).hypot(p[1] - centre.y())
            };
            d(a).total_cmp(&d(b))
        })
        .ok_or("no neighbouring grid")?;
    let mut overlap = base.clone();
    let part0 = parse_area(&overlap["features"][0]["geometry"]).map_err(|e| e.join("; "))?;
    let grown = geo::BooleanOps::union(&part0, &*r.grids[neighbour_grid].area);
    overlap["features"][0]["geometry"] = area_to_geojson(&grown, None);
    examples.push((
        "bad-overlaps-neighbour.geojson",
        overlap,
        "fail",
        Some("no_overlap_with_other_communities"),
        "a part drawn over a neighbouring community's grid",
    ));

    // Crossing a town boundary: a new community drawn across the border of two towns.
    let crossing = border_square(r).ok_or("no shared town border found")?;
    let new = json!({"type": "FeatureCollection",
        "proposal": {"kind": "new", "title": "跨镇街新设社区（错误示例）", "parents": []},
        "features": [{"type": "Feature", "geometry": crossing,
            "properties": {"name": "跨界社区", "workers": 20, "office_area_m2": 800, "justification": "示例"}}]});
    examples.push((
        "bad-crosses-town-boundary.geojson",
        new,
        "fail",
        Some("inside_one_town"),
        "a new community drawn across the border of two towns",
    ));

    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut expected = Vec::new();
    for (file, proposal, verdict, rule, what) in &examples {
        let (got, failing) = verdict_of(proposal, &s)?;
        let ok = match *verdict {
            "pass-or-warn" => got != Verdict::Fail,
            _ => got == Verdict::Fail && rule.is_none_or(|r| failing.iter().any(|f| f == r)),
        };
        if !ok {
            return Err(format!(
                "{file}: expected {verdict} ({rule:?}), got {got:?} failing {failing:?}"
            ));
        }
        let text = serde_json::to_string_pretty(proposal).map_err(|e| e.to_string())?;
        std::fs::write(out.join(file), text + "\n").map_err(|e| format!("{file}: {e}"))?;
        expected
            .push(json!({"file": file, "verdict": verdict, "failing_rule": rule, "what": what}));
    }
    let text = serde_json::to_string_pretty(&expected).map_err(|e| e.to_string())?;
    std::fs::write(out.join("expected.json"), text + "\n").map_err(|e| e.to_string())?;
    Ok(examples.len())
}

/// A ~200 m square centred on a vertex that two towns share.
fn border_square(r: &Registry) -> Option<Value> {
    let a = &r.towns.first()?.area;
    let key = |c: &geo::Coord<f64>| ((c.x * 1e7).round() as i64, (c.y * 1e7).round() as i64);
    for other in &r.towns[1..] {
        let theirs: std::collections::BTreeSet<(i64, i64)> = other
            .area
            .iter()
            .flat_map(|p| p.exterior().coords().map(key))
            .collect();
        let shared = a
            .iter()
            .flat_map(|p| p.exterior().coords())
            .find(|c| theirs.contains(&key(c)));
        if let Some(c) = shared {
            let d = 0.001;
            return Some(json!({"type": "Polygon", "coordinates": [[
                [c.x - d, c.y - d], [c.x + d, c.y - d], [c.x + d, c.y + d], [c.x - d, c.y + d], [c.x - d, c.y - d]]]}));
        }
    }
    None
}
