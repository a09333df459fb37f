//! `plant-defects`: writes `boundaries/examples/defects/`, a copy of one town of the sample city
//! (沙溪镇) with one of each coverage defect planted at a known place with a known area, plus
//! `defects.json` saying what was planted where. The audit tests check that exactly these are
//! found. Deterministic: derived from the shipped sample city only.
//!
//! `cargo run --release --bin plant-defects -- [--from boundaries] [--out boundaries/examples/defects]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use geo::{BooleanOps, MultiPolygon, Polygon, polygon};
use serde_json::{Value, json};
use shequ::geometry::geojson::area_to_geojson;
use shequ::geometry::measure::metres_per_degree;
use shequ::registry::{FILES, Level, Registry, load_dir};

const TOWN: &str = "442000106";

/// Plants one of each coverage defect in a copy of one town of the sample city.
#[derive(clap::Parser)]
struct Args {
    /// The sample city to derive from.
    #[arg(long, default_value = "boundaries")]
    from: PathBuf,
    /// Where to write.
    #[arg(long, default_value = "boundaries/examples/defects")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    match plant(&args.from, &args.out) {
        Ok(n) => {
            println!("planted {n} defects");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A `w × h` metre rectangle centred on `c`, in lon/lat, counter-clockwise.
fn rectangle(c: [f64; 2], w: f64, h: f64) -> Polygon<f64> {
    let (kx, ky) = metres_per_degree(c[1]);
    let (dx, dy) = (w / 2.0 / kx, h / 2.0 / ky);
    let r = |v: f64| (v * 1e7).round() / 1e7;
    polygon![
        (x: r(c[0] - dx), y: r(c[1] - dy)), (x: r(c[0] + dx), y: r(c[1] - dy)),
        (x: r(c[0] + dx), y: r(c[1] + dy)), (x: r(c[0] - dx), y: r(c[1] + dy)),
    ]
}

/// The pole of inaccessibility of an area's first polygon: a spot far from its boundary.
fn deep_inside(area: &MultiPolygon<f64>) -> Result<[f64; 2], String> {
    let first = area.0.first().ok_or("empty polygon")?;
    let p = polylabel::polylabel(first, &1e-6).map_err(|e| e.to_string())?;
    Ok([p.x(), p.y()])
}

struct Planter<'a> {
    registry: &'a Registry,
    /// Replacement geometry by code.
    changed: std::collections::BTreeMap<String, MultiPolygon<f64>>,
    manifest: Vec<Value>,
}

impl Planter<'_> {
    fn area(&self, code: &str) -> Result<MultiPolygon<f64>, String> {
        if let Some(a) = self.changed.get(code) {
            return Ok(a.clone());
        }
        let r = self.registry;
        if let Some(c) = r.community_by_code(code) {
            return r.communities[c]
                .territory
                .as_deref()
                .cloned()
                .ok_or(format!("{code} has no territory"));
        }
        r.grid_by_code(code)
            .map(|g| MultiPolygon::clone(&r.grids[g].area))
            .ok_or(format!("unknown code {code}"))
    }

    fn cut(&mut self, code: &str, hole: &Polygon<f64>) -> Result<(), String> {
        let a = self.area(code)?.difference(hole);
        self.changed.insert(code.to_owned(), a);
        Ok(())
    }

    fn add(&mut self, code: &str, part: &Polygon<f64>) -> Result<(), String> {
        let a = self.area(code)?.union(part);
        self.changed.insert(code.to_owned(), a);
        Ok(())
    }

    /// Cuts `hole` from a community and every one of its grids.
    fn cut_community(&mut self, community: usize, hole: &Polygon<f64>) -> Result<(), String> {
        let c = &self.registry.communities[community];
        self.cut(&c.code.clone(), hole)?;
        for g in c.grids.clone() {
            self.cut(&self.registry.grids[g].code.clone(), hole)?;
        }
        Ok(())
    }

    fn note(&mut self, kind: &str, codes: &[&str], rect: Option<&Polygon<f64>>, what: &str) {
        let rectangle = rect.map(|r| {
            r.exterior()
                .coords()
                .map(|c| json!([c.x, c.y]))
                .collect::<Vec<_>>()
        });
        self.manifest
            .push(json!({"kind": kind, "codes": codes, "rectangle": rectangle, "what": what}));
    }
}

fn plant(from: &Path, out: &Path) -> Result<usize, String> {
    let guidelines = shequ::rules::Guidelines::load_dir(from).map_err(|e| e.to_string())?;
    let registry = load_dir(from, &guidelines.plausible).map_err(|e| e.to_string())?;
    let town = registry
        .town_by_code(TOWN)
        .ok_or(format!("town {TOWN} not in {}", from.display()))?;
    let members: Vec<usize> = registry.towns[town].communities.clone();
    if members.len() < 10
        || members
            .iter()
            .any(|&c| registry.communities[c].territory.is_none())
    {
        return Err(format!(
            "town {TOWN} must have at least 10 communities, all with territory"
        ));
    }
    let c = |i: usize| &registry.communities[members[i]];
    let code = |i: usize| c(i).code.clone();
    let grid = |i: usize, k: usize| registry.grids[c(i).grids[k]].code.clone();
    let town_box =
        geo::BoundingRect::bounding_rect(&*registry.towns[town].area).ok_or("empty town")?;
    let mut p = Planter {
        registry: &registry,
        changed: Default::default(),
        manifest: Vec::new(),
    };

    let r1 = rectangle(deep_inside(&p.area(&code(0))?)?, 60.0, 40.0);
    p.cut_community(members[0], &r1)?;
    p.note(
        "unassigned_land",
        &[TOWN, &code(0)],
        Some(&r1),
        "a hole cut from a community and its grids",
    );

    let r2 = rectangle(deep_inside(&p.area(&code(1))?)?, 80.0, 2.0);
    p.cut_community(members[1], &r2)?;
    p.note(
        "sliver",
        &[TOWN, &code(1)],
        Some(&r2),
        "an 80 m × 2 m slit cut from a community and its grids",
    );

    let r3 = rectangle(deep_inside(&p.area(&code(2))?)?, 1.5, 0.5);
    p.cut_community(members[2], &r3)?;
    p.note(
        "none",
        &[TOWN, &code(2)],
        Some(&r3),
        "a 0.75 m² slit: below tolerance, not reported",
    );

    let r4 = rectangle(deep_inside(&p.area(&code(9))?)?, 50.0, 30.0);
    p.add(&code(3), &r4)?;
    p.note(
        "community_overlap",
        &[&code(3), &code(9)],
        Some(&r4),
        "a stray part of one community drawn inside another",
    );
    p.note(
        "grid_gap",
        &[&code(3)],
        Some(&r4),
        "the stray part is in none of its community's grids",
    );

    let r5 = rectangle([town_box.max().x + 0.01, town_box.center().y], 40.0, 40.0);
    p.add(&code(4), &r5)?;
    p.add(&grid(4, 0), &r5)?;
    p.note(
        "outside_town",
        &[&code(4), TOWN],
        Some(&r5),
        "a community (and one of its grids) reaching outside the town",
    );

    let r6 = rectangle([town_box.max().x + 0.03, town_box.center().y], 30.0, 50.0);
    p.add(&grid(5, 0), &r6)?;
    p.note(
        "grid_outside_community",
        &[&grid(5, 0), &code(5)],
        Some(&r6),
        "a grid reaching outside its community and town",
    );

    let r7 = rectangle(deep_inside(&p.area(&code(4))?)?, 40.0, 30.0);
    p.add(&grid(6, 0), &r7)?;
    p.note(
        "grid_straddling",
        &[&grid(6, 0), &code(6), &code(4)],
        Some(&r7),
        "a grid reaching into another community",
    );

    let r8 = rectangle(deep_inside(&p.area(&grid(7, 1))?)?, 30.0, 20.0);
    p.add(&grid(7, 0), &r8)?;
    p.note(
        "grid_overlap",
        &[&grid(7, 0), &grid(7, 1)],
        Some(&r8),
        "a grid reaching into a sibling grid",
    );

    let r9 = rectangle(deep_inside(&p.area(&grid(8, 0))?)?, 30.0, 30.0);
    p.cut(&grid(8, 0), &r9)?;
    p.note(
        "grid_gap",
        &[&code(8), &grid(8, 0)],
        Some(&r9),
        "a hole in one grid only",
    );

    let no_territory = format!("{TOWN}099");
    p.note(
        "no_territory",
        &[&no_territory],
        None,
        "a community without territory",
    );

    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for file in FILES {
        let text = std::fs::read_to_string(from.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let source: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        let mut features: Vec<Value> = source["features"]
            .as_array()
            .ok_or(format!("{file}: no features"))?
            .iter()
            .filter(|f| {
                f["properties"]["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(TOWN))
            })
            .cloned()
            .collect();
        for f in &mut features {
            let fcode = f["properties"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(area) = p.changed.get(&fcode) {
                f["geometry"] = area_to_geojson(area, Some(7));
            }
        }
        if file == Level::Community.file() {
            features.push(json!({"type": "Feature", "properties": {
                "code": no_territory, "name": "无地域测试社区", "town_code": TOWN, "kind": "community",
                "workers": 12, "office_area_m2": 400, "office": null,
                "households": 2000, "population": 5600, "service_households": 30}, "geometry": null}));
        }
        let lines: Vec<String> = features.iter().map(Value::to_string).collect();
        let body = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n",
            lines.join(",\n")
        );
        std::fs::write(out.join(file), body).map_err(|e| format!("{file}: {e}"))?;
    }
    let manifest = serde_json::to_string_pretty(&p.manifest).map_err(|e| e.to_string())?;
    std::fs::write(out.join("defects.json"), manifest + "\n").map_err(|e| e.to_string())?;
    // Guidelines that every community passes, so only coverage defects are reported.
    let guidelines = "# Written by plant-defects: rules every community of the fixture passes.\n\
        [audit]\noverlap_tolerance_m2 = 1.0\ngap_tolerance_m2 = 1.0\nsliver_max_area_m2 = 200.0\nsliver_max_width_m = 5.0\n\
        [rules.households]\nmin = 0\nseverity = \"exception\"\n\
        [rules.workers_per_10k_residents]\nmin = 0\nseverity = \"fail\"\n\
        [rules.office_m2_per_100_households]\nmin = 0\nseverity = \"fail\"\n\
        [rules.office_m2_total]\nmin = 0\nseverity = \"fail\"\n\
        [rules.grid_households]\nmin = 0\nseverity = \"warn\"\n\
        [rules.polsby_popper]\nmin = 0\nseverity = \"warn\"\n";
    std::fs::write(out.join("guidelines.toml"), guidelines).map_err(|e| e.to_string())?;
    Ok(p.manifest.len())
}
