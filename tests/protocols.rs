//! The standard protocols checked with independent clients against the real `shequ serve` on
//! loopback (the shipped sample city): GDAL's OAPIF driver reads OGC API – Features
//! (`ogrinfo`, `ogr2ogr` with a bounding box, paging and EPSG:4547 through PROJ), GDAL's MVT
//! driver reads the tile set through its TileJSON.
//!
//! Without GDAL (`ogrinfo`, `ogr2ogr` on PATH) these tests are reported as *ignored*, never as
//! passed; with `CI=true` they always run, so a missing tool is a failure (`.ci/run` installs
//! `gdal-bin`). Like `tests/browser.rs`, this binary has its own harness (libtest-mimic) to say
//! so at run time.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::time::Duration;

use geo::{Intersects, Rect};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// What is missing to run the tests, if anything.
fn missing() -> Option<String> {
    for tool in ["ogrinfo", "ogr2ogr"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Some(format!("no `{tool}` on PATH (Debian package gdal-bin)"));
        }
    }
    None
}

fn run(tool: &str, args: &[&str]) -> Result<String, Failed> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{tool} {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(stdout)
}

/// `Layer name: …` → `Feature Count: n` of `ogrinfo -so` output.
fn counts(summary: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut layer = None;
    for line in summary.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = Some(name.trim().to_owned());
        } else if let (Some(n), Some(l)) = (line.strip_prefix("Feature Count: "), &layer) {
            out.insert(l.clone(), n.trim().parse().unwrap_or(u64::MAX));
        }
    }
    out
}

/// `ogrinfo OAPIF:` lists the four collections; each count is the registry's (the audit's
/// count for findings), and every collection offers the documented CRS list.
fn oapif_lists_the_collections(url: &str) -> Result<(), Failed> {
    let summary = run(
        "ogrinfo",
        &["-ro", "-al", "-so", &format!("OAPIF:{url}/ogc")],
    )?;
    let r = &common::sample().registry;
    let got = counts(&summary);
    assert_eq!(got.get("towns"), Some(&(r.towns.len() as u64)), "{summary}");
    assert_eq!(
        got.get("communities"),
        Some(&(r.communities.len() as u64)),
        "{summary}"
    );
    assert_eq!(got.get("grids"), Some(&(r.grids.len() as u64)), "{summary}");
    let audit = shequ::audit::audit(r, &common::sample().guidelines, &|_, _| {});
    assert_eq!(
        got.get("findings"),
        Some(&(audit.findings.len() as u64)),
        "{summary}"
    );
    let crs_list = [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "http://www.opengis.net/def/crs/EPSG/0/4490",
        "http://www.opengis.net/def/crs/EPSG/0/4547",
        "urn:shequ:def:crs:GCJ-02",
    ];
    // GDAL 3.6 does not print a collection's CRS list; read it as any client sees it.
    let doc: Value = fetch_json(&format!("{url}/ogc/collections"))?;
    let listed = doc["collections"].as_array().ok_or("no collections")?;
    assert_eq!(listed.len(), 4);
    for c in listed {
        let crs: Vec<&str> = c["crs"]
            .as_array()
            .ok_or("no crs")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(crs, crs_list, "{}", c["id"]);
    }
    Ok(())
}

/// A URL's JSON by a plain HTTP/1.0 GET (no client library in the way).
fn fetch_json(url: &str) -> Result<Value, Failed> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or("http URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    let head = String::from_utf8_lossy(&reply[..at]);
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {url}: {head}").into());
    }
    serde_json::from_slice(&reply[at + 4..]).map_err(|e| format!("{url}: {e}").into())
}

/// The bounding box (lon/lat) of the ogr2ogr test: a corner of 石岐/东区 with a few hundred
/// grids.
const BBOX: [f64; 4] = [113.35, 22.50, 113.40, 22.55];

/// `ogr2ogr` downloads the grids meeting a bounding box in EPSG:4547 (reprojected by GDAL's
/// PROJ) in pages of 50: the codes are those of the registry whose polygon meets the box
/// (geo's `Intersects`), and every vertex is the registry's, transformed by shequ's own
/// EPSG:4547 (proj4rs), within 1 mm. The server's own EPSG:4547 output (OGC API Part 2,
/// northing first) agrees with GDAL's too.
fn ogr2ogr_downloads_grids_in_epsg4547(url: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("grids.geojson");
    let spat: Vec<String> = BBOX.iter().map(|v| v.to_string()).collect();
    run(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            &out.to_string_lossy(),
            &format!("OAPIF:{url}/ogc"),
            "grids",
            "-spat",
            &spat[0],
            &spat[1],
            &spat[2],
            &spat[3],
            "-t_srs",
            "EPSG:4547",
            "-oo",
            "PAGE_SIZE=50",
        ],
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let got: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let features = got["features"].as_array().ok_or("no features")?;
    let r = &common::sample().registry;
    let rect = Rect::new((BBOX[0], BBOX[1]), (BBOX[2], BBOX[3]));
    let expected: Vec<&str> = r
        .grids
        .iter()
        .filter(|g| g.area.intersects(&rect))
        .map(|g| g.code.as_str())
        .collect();
    assert!(expected.len() > 100, "{} grids in the box", expected.len());
    let codes: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        codes, expected,
        "the grids meeting the box, in registry order"
    );
    let epsg4547: shequ::crs::Crs = "EPSG:4547".parse().map_err(|e| format!("{e:?}"))?;
    let mut worst: f64 = 0.0;
    for f in features {
        let code = f["properties"]["code"].as_str().unwrap_or_default();
        let g = &r.grids[r.grid_by_code(code).ok_or("code")?];
        let polygon = &g.area.0[0];
        let ring = f["geometry"]["coordinates"][0].as_array().ok_or("ring")?;
        assert_eq!(
            ring.len(),
            polygon.exterior().0.len(),
            "{code}: vertex count"
        );
        for (p, c) in ring.iter().zip(polygon.exterior().coords()) {
            let [e, n] = epsg4547.from_wgs84([c.x, c.y]).map_err(|e| e.to_string())?;
            let (ge, gn) = (
                p[0].as_f64().unwrap_or(f64::NAN),
                p[1].as_f64().unwrap_or(f64::NAN),
            );
            worst = worst.max((ge - e).abs()).max((gn - n).abs());
        }
    }
    assert!(worst < 1e-3, "worst vertex difference {worst} m");
    println!(
        "{} grids, worst vertex difference {worst:.2e} m",
        features.len()
    );

    // The server's Part 2 output, read by GDAL's GeoJSON driver as plain numbers.
    let items = format!(
        "{url}/ogc/collections/grids/items?bbox={},{},{},{}&limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/4547",
        BBOX[0], BBOX[1], BBOX[2], BBOX[3]
    );
    let served = fetch_json(&items)?;
    let served = served["features"].as_array().ok_or("features")?;
    assert_eq!(served.len(), features.len());
    let mut worst: f64 = 0.0;
    for (s, f) in served.iter().zip(features) {
        assert_eq!(s["id"], f["properties"]["code"]);
        let a = s["geometry"]["coordinates"][0].as_array().ok_or("ring")?;
        let b = f["geometry"]["coordinates"][0].as_array().ok_or("ring")?;
        for (p, q) in a.iter().zip(b) {
            // Served northing first, GDAL easting first.
            let d = (p[1].as_f64().unwrap_or(f64::NAN) - q[0].as_f64().unwrap_or(f64::NAN))
                .abs()
                .max((p[0].as_f64().unwrap_or(f64::NAN) - q[1].as_f64().unwrap_or(f64::NAN)).abs());
            worst = worst.max(d);
        }
    }
    assert!(
        worst < 1e-3,
        "served EPSG:4547 differs from PROJ by {worst} m"
    );
    Ok(())
}

/// GDAL's MVT driver opens the communities tile set at zoom 12 from the server: it reads the
/// TileJSON (`/tiles/communities.json`, tileserver-gl's convention for `…/communities/12`)
/// for the layer and its fields, and fetches `.pbf` tiles. Every feature it reads is a
/// community of the registry.
fn mvt_reads_the_tile_set(url: &str) -> Result<(), Failed> {
    let dataset = format!("MVT:{url}/tiles/communities/12");
    let summary = run("ogrinfo", &["-ro", "-al", "-so", &dataset])?;
    let got = counts(&summary);
    let n = *got
        .get("communities")
        .ok_or(format!("no layer:\n{summary}"))?;
    assert!(
        n >= common::sample().registry.communities.len() as u64,
        "{summary}"
    );
    let tilejson = fetch_json(&format!("{url}/tiles/communities.json"))?;
    for field in tilejson["vector_layers"][0]["fields"]
        .as_object()
        .ok_or("fields")?
        .keys()
    {
        assert!(
            summary.contains(&format!("\n{field}: ")),
            "field {field} missing:\n{summary}"
        );
    }
    let all = run(
        "ogrinfo",
        &["-ro", "-al", "-q", &dataset, "-fields=YES", "-geom=NO"],
    )?;
    let r = &common::sample().registry;
    let (mut features, mut coded) = (0, 0);
    for line in all.lines() {
        if line.starts_with("OGRFeature(communities)") {
            features += 1;
        } else if let Some(code) = line.trim().strip_prefix("code (String) = ") {
            assert!(r.community_by_code(code).is_some(), "{code}");
            coded += 1;
        }
    }
    // Features cut by tile edges come once per tile (GDAL does not stitch them).
    assert!(
        features
            >= r.communities
                .iter()
                .filter(|c| c.territory.is_some())
                .count()
    );
    assert_eq!(coded, features, "every feature read has a community code");
    Ok(())
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = missing().filter(|_| !ci);
    if let Some(what) = &missing {
        eprintln!("protocol tests ignored: {what} (CI=true requires it)");
    }
    let tests: [(&str, fn(&str) -> Result<(), Failed>); 3] = [
        ("oapif_lists_the_collections", oapif_lists_the_collections),
        (
            "ogr2ogr_downloads_grids_in_epsg4547",
            ogr2ogr_downloads_grids_in_epsg4547,
        ),
        ("mvt_reads_the_tile_set", mvt_reads_the_tile_set),
    ];
    // One server for all (the sample city takes seconds to load), started only when a test runs.
    let wanted = tests.iter().any(|(name, _)| {
        missing.is_none() && args.filter.as_deref().is_none_or(|f| name.contains(f))
    }) && !args.list;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = wanted.then(|| {
        let data = common::copy_boundaries(&common::sample_dir(), dir.path());
        let server = common::Server::spawn(
            common::shequ_command()
                .args(["serve", "--addr", "127.0.0.1:0", "--db"])
                .arg(dir.path().join("shequ.db"))
                .arg("--data")
                .arg(data)
                .env("RUST_LOG", "warn,shequ=info"),
        );
        let addr = server.address(Duration::from_secs(120));
        (server, format!("http://{addr}"))
    });
    let url = server.as_ref().map(|(_, u)| u.clone()).unwrap_or_default();
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let url = url.clone();
            Trial::test(name, move || test(&url)).with_ignored_flag(missing.is_some())
        })
        .collect();
    let status = libtest_mimic::run(&args, trials).exit_code();
    drop(server);
    status
}
