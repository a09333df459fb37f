//! Issue 16: survey data written by GDAL (the independent party) comes back through
//! `shequ import` as the same city. GDAL writes the sample city as Shapefiles (GBK `.dbf`,
//! Chinese field names, EPSG:4547 `.prj`, the office position projected by SpatiaLite) and as
//! a GeoPackage; shequ imports each with a mapping file, and every vertex and office (within
//! 1 mm), every attribute and 1,000 random lookups agree with the original. Broken inputs —
//! unreadable, mis-encoded, CRS-less, mis-mapped — each give a clear error and write nothing.
//!
//! Without `ogr2ogr` the tests are reported as *ignored*; with `CI=true` they always run, so a
//! missing GDAL fails (`.ci/run` installs `gdal-bin`). Own harness (libtest-mimic), as in
//! `tests/topology_gdal.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use common::survey::{
    COMMUNITY_NAMES, GRID_NAMES, TOWN_NAMES, flat_layers, mapping_toml, ogr2ogr, select, shapefiles,
};
use libtest_mimic::{Failed, Trial};

/// The sample city as one GeoPackage in EPSG:4547 under shequ's own names (the office as
/// `office_lon`/`office_lat`, projected).
fn geopackage(dir: &Path) -> Result<PathBuf, Failed> {
    let flat = dir.join("flat");
    std::fs::create_dir_all(&flat)?;
    flat_layers(&common::sample_dir(), &flat)?;
    let gpkg = dir.join("city.gpkg");
    for (i, (layer, names)) in [
        ("towns", &TOWN_NAMES[..]),
        ("communities", &COMMUNITY_NAMES[..11]),
        ("grids", &GRID_NAMES[..]),
    ]
    .into_iter()
    .enumerate()
    {
        let own: Vec<(&str, &str)> = names.iter().map(|(s, _)| (*s, *s)).collect();
        let sql = select(layer, &own);
        let source = flat.join(format!("{layer}.geojson"));
        let mut args = vec![
            "-f",
            "GPKG",
            "-t_srs",
            "EPSG:4547",
            "-dialect",
            "sqlite",
            "-sql",
        ];
        args.push(&sql);
        if i > 0 {
            args.push("-append");
        }
        let (g, s) = (gpkg.to_string_lossy(), source.to_string_lossy());
        args.extend(["-nln", layer, &g, &s]);
        ogr2ogr(&args)?;
    }
    Ok(gpkg)
}

fn import(args: &[&str]) -> std::process::Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    common::shequ(&all)
}

/// Metres between two lon/lat points near the city.
fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (mx, my) = common::metres_per_degree(a[1]);
    ((a[0] - b[0]) * mx).hypot((a[1] - b[1]) * my)
}

/// The largest distance between corresponding vertices of two areas (metres), or why they
/// cannot be compared vertex by vertex.
fn farthest(
    p: &geo::MultiPolygon<f64>,
    q: &geo::MultiPolygon<f64>,
    what: &str,
) -> Result<f64, Failed> {
    let vertices = |m: &geo::MultiPolygon<f64>| -> Vec<geo::Coord<f64>> {
        m.iter()
            .flat_map(|x| std::iter::once(x.exterior()).chain(x.interiors()))
            .flat_map(|r| r.coords().copied())
            .collect()
    };
    let (ps, qs) = (vertices(p), vertices(q));
    if ps.len() != qs.len() {
        return Err(format!("{what}: {} vertices, expected {}", ps.len(), qs.len()).into());
    }
    Ok(ps
        .iter()
        .zip(&qs)
        .map(|(u, v)| metres([u.x, u.y], [v.x, v.y]))
        .fold(0.0, f64::max))
}

/// The imported directory against the sample city: attributes equal, every vertex and office
/// within 1 mm, 1,000 random lookups the same.
fn agrees_with_the_sample(out: &Path) -> Result<(), Failed> {
    let back = common::load(out);
    let (a, b) = (&back.registry, &common::sample().registry);
    if (a.towns.len(), a.communities.len(), a.grids.len())
        != (b.towns.len(), b.communities.len(), b.grids.len())
    {
        return Err("layer sizes differ".into());
    }
    let mut worst = 0.0_f64;
    for (x, y) in a.towns.iter().zip(&b.towns) {
        if (&x.code, &x.name) != (&y.code, &y.name) {
            return Err(format!("town {} {} ≠ {} {}", x.code, x.name, y.code, y.name).into());
        }
        worst = worst.max(farthest(&x.area, &y.area, &x.code)?);
    }
    for (x, y) in a.communities.iter().zip(&b.communities) {
        let same = x.code == y.code
            && x.name == y.name
            && x.kind == y.kind
            && x.workers == y.workers
            && (x.office_area_m2 - y.office_area_m2).abs() < 1e-9
            && x.counts == y.counts;
        if !same {
            return Err(format!("community {} differs from {}", x.code, y.code).into());
        }
        match (&x.office, &y.office) {
            (Some(p), Some(q)) => worst = worst.max(metres([p.x(), p.y()], [q.x(), q.y()])),
            (None, None) => {}
            _ => return Err(format!("community {}: office", x.code).into()),
        }
        match (&x.territory, &y.territory) {
            (Some(p), Some(q)) => worst = worst.max(farthest(p, q, &x.code)?),
            (None, None) => {}
            _ => return Err(format!("community {}: territory", x.code).into()),
        }
    }
    for (x, y) in a.grids.iter().zip(&b.grids) {
        if (&x.code, &x.name, x.counts) != (&y.code, &y.name, y.counts) {
            return Err(format!("grid {} differs from {}", x.code, y.code).into());
        }
        worst = worst.max(farthest(&x.area, &y.area, &x.code)?);
    }
    if worst > 1e-3 {
        return Err(format!("a vertex or office moved {worst} m").into());
    }
    let mut rng = common::Rng(16);
    for _ in 0..1000 {
        let p = [rng.uniform(113.1, 113.7), rng.uniform(22.15, 22.83)];
        let (h, k) = (back.lookup(p), common::sample().lookup(p));
        let codes = |s: &shequ::Snapshot, h: &shequ::index::Hit| {
            (
                h.town.map(|i| s.registry.towns[i].code.clone()),
                h.community.map(|i| s.registry.communities[i].code.clone()),
                h.grid.map(|i| s.registry.grids[i].code.clone()),
            )
        };
        if codes(&back, &h) != codes(common::sample(), &k) {
            return Err(format!("lookup {p:?} differs").into());
        }
    }
    Ok(())
}

fn shapefiles_in_gbk_with_chinese_fields() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let shp = shapefiles(&common::sample_dir(), dir.path())?;
    // GDAL wrote GBK (code page 936) and said so in the .cpg; the names are GBK bytes.
    let cpg = std::fs::read_to_string(shp.join("SQ.cpg"))?;
    let dbf = std::fs::read(shp.join("SQ.dbf"))?;
    let (gbk, _, _) = encoding_rs::GBK.encode("社区代码");
    if !dbf.windows(gbk.len()).any(|w| w == &gbk[..]) {
        return Err(format!("SQ.dbf holds no GBK field name (.cpg {cpg:?})").into());
    }
    let map = dir.path().join("map.toml");
    std::fs::write(&map, mapping_toml())?;
    let out = dir.path().join("out");
    let run = import(&[
        &shp.to_string_lossy(),
        "--map",
        &map.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    if !run.status.success() {
        return Err(format!("import failed: {}", common::text(&run.stderr)).into());
    }
    let said = common::text(&run.stdout);
    if !said.contains("from EPSG:4547") {
        return Err(format!("the .prj's CRS was not used: {said}").into());
    }
    agrees_with_the_sample(&out)
}

fn geopackage_in_epsg_4547() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let gpkg = geopackage(dir.path())?;
    let out = dir.path().join("out");
    let run = import(&[&gpkg.to_string_lossy(), "--out", &out.to_string_lossy()]);
    if !run.status.success() {
        return Err(format!("import failed: {}", common::text(&run.stderr)).into());
    }
    agrees_with_the_sample(&out)
}

/// Runs a failing import and checks its exit code, message and that `out` stayed absent.
fn refused(args: &[&str], out: &Path, code: i32, expect: &[&str]) -> Result<(), Failed> {
    let run = import(args);
    let stderr = common::text(&run.stderr);
    if run.status.code() != Some(code) {
        return Err(format!("exit {:?}, expected {code}: {stderr}", run.status.code()).into());
    }
    for e in expect {
        if !stderr.contains(e) {
            return Err(format!("message lacks {e:?}: {stderr}").into());
        }
    }
    if out.exists() {
        return Err(format!("{} was written", out.display()).into());
    }
    Ok(())
}

fn broken_inputs_are_refused_and_nothing_is_written() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let shp = shapefiles(&common::sample_dir(), dir.path())?;
    let map = dir.path().join("map.toml");
    std::fs::write(&map, mapping_toml())?;
    let out = dir.path().join("out");
    let (o, m) = (
        out.to_string_lossy().into_owned(),
        map.to_string_lossy().into_owned(),
    );
    let sq = shp.join("SQ.shp").to_string_lossy().into_owned();

    // Mis-mapped: without the mapping file, every required field is reported at once.
    refused(
        &[&sq, "--out", &o],
        &out,
        2,
        &["SQ.shp", "cannot tell which layer"],
    )?;
    refused(
        &[&sq, "--layer", "communities", "--out", &o],
        &out,
        1,
        &[
            "SQ.shp",
            "field `code`",
            "field `town_code`",
            "field `office_area_m2`",
            "社区代码",
        ],
    )?;
    // A mapping file naming a field shequ does not have.
    let bad_map = dir.path().join("bad.toml");
    std::fs::write(&bad_map, "[communities]\n\"户数\" = \"homes\"\n")?;
    refused(
        &[&sq, "--map", &bad_map.to_string_lossy(), "--out", &o],
        &out,
        2,
        &["bad.toml", "homes"],
    )?;
    // Mis-encoded: the .cpg claims UTF-8, the .dbf is GBK.
    std::fs::write(shp.join("SQ.cpg"), "UTF-8")?;
    refused(
        &[&sq, "--map", &m, "--out", &o],
        &out,
        2,
        &["SQ.shp", "not valid UTF-8", ".cpg"],
    )?;
    std::fs::write(shp.join("SQ.cpg"), "GBK")?;
    // CRS-less: no .prj and no --crs.
    std::fs::remove_file(shp.join("SQ.prj"))?;
    refused(
        &[&sq, "--map", &m, "--out", &o],
        &out,
        2,
        &["SQ.shp", "no CRS", "--crs"],
    )?;
    // … and a --crs that contradicts a .prj.
    refused(
        &[
            &shp.join("WG.shp").to_string_lossy(),
            "--map",
            &m,
            "--crs",
            "EPSG:4526",
            "--out",
            &o,
        ],
        &out,
        2,
        &["EPSG:4547", "EPSG:4526"],
    )?;
    // Unreadable: not a Shapefile at all.
    let junk = dir.path().join("junk.shp");
    std::fs::write(&junk, "not a shapefile")?;
    refused(
        &[
            &junk.to_string_lossy(),
            "--layer",
            "grids",
            "--crs",
            "EPSG:4547",
            "--out",
            &o,
        ],
        &out,
        2,
        &["junk.shp", "not a readable Shapefile"],
    )?;
    // A whole city whose data fails the loader: every problem, named by source, nothing written.
    let mut dbf = std::fs::read(shp.join("XZJ.dbf"))?;
    let (code, _, _) = encoding_rs::GBK.encode("442000001");
    if let Some(at) = dbf.windows(code.len()).position(|w| w == &code[..]) {
        dbf[at..at + code.len()].copy_from_slice(b"44200000X");
    }
    std::fs::write(shp.join("XZJ.dbf"), dbf)?;
    std::fs::write(shp.join("SQ.prj"), std::fs::read(shp.join("WG.prj"))?)?;
    refused(
        &[&shp.to_string_lossy(), "--map", &m, "--out", &o],
        &out,
        1,
        &[
            "XZJ.shp: feature",
            "malformed code \"44200000X\"",
            "nothing written",
        ],
    )
}

/// `ogrinfo` of a file: its summary and features as text.
fn ogrinfo(args: &[&str], file: &Path) -> Result<String, Failed> {
    let o = Command::new("ogrinfo").args(args).arg(file).output()?;
    if o.status.success() {
        Ok(common::text(&o.stdout))
    } else {
        Err(format!("ogrinfo: {}", common::text(&o.stderr)).into())
    }
}

/// GeoJSON in EPSG:4547 says so (`crs` member, `Content-Crs`), so GDAL places it right: ogrinfo
/// reports EPSG:4547, the right count and Chinese names; coordinates carry 3 decimals (mm).
fn projected_geojson_says_its_crs() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let app = common::app(&common::sample_dir());
    let (reply, headers) = runtime.block_on(common::send_with_headers(
        &app,
        common::request(
            "GET",
            "/api/v1/communities?crs=EPSG:4547",
            axum::body::Body::empty(),
        ),
    ));
    if reply.status != 200 {
        return Err(reply.text().into());
    }
    let content_crs = headers.get("content-crs").and_then(|v| v.to_str().ok());
    if content_crs != Some("<http://www.opengis.net/def/crs/EPSG/0/4547>") {
        return Err(format!("Content-Crs {content_crs:?}").into());
    }
    let v = reply.json();
    let first = &v["features"][0]["geometry"]["coordinates"][0][0][0];
    let decimals = first.to_string().split('.').nth(1).map_or(0, str::len);
    if decimals > 3 {
        return Err(format!("{first} has {decimals} decimals, expected at most 3 (mm)").into());
    }
    let file = dir.path().join("communities-4547.geojson");
    std::fs::write(&file, &reply.body)?;
    let summary = ogrinfo(&["-so", "-al"], &file)?;
    for needle in ["ID[\"EPSG\",4547]", "Feature Count: 287"] {
        if !summary.contains(needle) {
            return Err(format!("ogrinfo does not report {needle}: {summary}").into());
        }
    }
    // GDAL reads the extent in metres (eastings around 400,000), not degrees.
    if !summary.contains("Extent: (4") {
        return Err(format!("extent not in EPSG:4547 metres: {summary}").into());
    }
    let features = ogrinfo(&["-al", "-q", "-where", "code = '442000005003'"], &file)?;
    if !features.contains("城南社区") {
        return Err(format!("Chinese name lost: {features}").into());
    }
    // A filtered page and a single feature say their CRS in the body too, so a saved answer
    // still opens as EPSG:4547.
    for (uri, count) in [
        ("/api/v1/communities?crs=EPSG:4547&town=442000005", None),
        ("/api/v1/communities/442000005003?crs=EPSG:4547", Some(1)),
    ] {
        let reply = runtime.block_on(common::get(&app, uri));
        if reply.status != 200 {
            return Err(format!("{uri}: {}", reply.text()).into());
        }
        let file = dir.path().join("part-4547.geojson");
        std::fs::write(&file, &reply.body)?;
        let summary = ogrinfo(&["-so", "-al"], &file)?;
        if !summary.contains("ID[\"EPSG\",4547]") || !summary.contains("Extent: (4") {
            return Err(format!("{uri}: ogrinfo does not read EPSG:4547: {summary}").into());
        }
        if let Some(n) = count
            && !summary.contains(&format!("Feature Count: {n}"))
        {
            return Err(format!("{uri}: {summary}").into());
        }
    }
    // The 12-digit statistical code of a town names it like its 9-digit code.
    for (long, short) in [
        ("/api/v1/towns/442000001000", "/api/v1/towns/442000001"),
        (
            "/api/v1/communities?town=442000001000",
            "/api/v1/communities?town=442000001",
        ),
    ] {
        let (a, b) = runtime.block_on(async {
            (
                common::get(&app, long).await,
                common::get(&app, short).await,
            )
        });
        if a.status != 200 || a.body != b.body {
            return Err(format!("{long}: {} {}", a.status, a.text()).into());
        }
    }
    // WGS84 stays plain RFC 7946: no `crs` member, no header.
    let (plain, headers) = runtime.block_on(common::send_with_headers(
        &app,
        common::request("GET", "/api/v1/towns", axum::body::Body::empty()),
    ));
    if plain.json().get("crs").is_some() || headers.contains_key("content-crs") {
        return Err("WGS84 output names a CRS".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    common::run_gdal_trials(vec![
        Trial::test(
            "shapefiles_in_gbk_with_chinese_fields",
            shapefiles_in_gbk_with_chinese_fields,
        ),
        Trial::test("geopackage_in_epsg_4547", geopackage_in_epsg_4547),
        Trial::test(
            "projected_geojson_says_its_crs",
            projected_geojson_says_its_crs,
        ),
        Trial::test(
            "broken_inputs_are_refused_and_nothing_is_written",
            broken_inputs_are_refused_and_nothing_is_written,
        ),
    ])
}
