//! Issue 16, downloads through the in-process router: the format by `format=` or `Accept`,
//! `Content-Disposition`, and the error paths (unknown format, KML in a projected CRS, a CRS
//! without an EPSG code, unknown parameters), each a problem+json 400 naming the parameter.
//! GDAL reads the files themselves in `tests/downloads_gdal.rs`.

mod common;

use axum::body::Body;

#[tokio::test]
async fn format_parameter_and_accept_choose_the_file() {
    let app = common::app(&common::sample_dir());
    let (reply, headers) = common::send_with_headers(
        &app,
        common::request(
            "GET",
            "/api/v1/towns?format=gpkg&crs=EPSG:4547",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type, "application/geopackage+sqlite3");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"towns-EPSG4547.gpkg\""
    );
    assert_eq!(
        headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4547>"
    );
    assert!(reply.body.starts_with(b"SQLite format 3\0"));

    let request = axum::http::Request::builder()
        .uri("/api/v1/communities?town=442000005")
        .header("accept", "application/zip")
        .body(Body::empty())
        .expect("request");
    let (reply, headers) = common::send_with_headers(&app, request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type, "application/x-shapefile");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"communities.zip\""
    );
    assert!(reply.body.starts_with(b"PK"));

    // Excel in China needs the byte-order mark to read UTF-8.
    let reply = common::get(&app, "/api/v1/grids?format=csv&limit=2").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = reply.text();
    assert!(text.starts_with("\u{feff}WKT,"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");

    // Without format or a format's media type: GeoJSON as before.
    let reply = common::get(&app, "/api/v1/towns").await;
    assert_eq!(reply.content_type, "application/geo+json");
    let reply = common::get(&app, "/api/v1/audit/findings?format=kml").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("<Placemark>"));
}

#[tokio::test]
async fn bad_downloads_are_problems_naming_the_parameter() {
    let app = common::app(&common::sample_dir());
    for (uri, needle) in [
        ("/api/v1/towns?format=xlsx", "parameter `format`"),
        ("/api/v1/audit/findings?format=dwg", "parameter `format`"),
        (
            "/api/v1/communities?format=kml&crs=EPSG:4547",
            "parameter `crs`: KML",
        ),
        (
            "/api/v1/audit/findings?format=kml&crs=EPSG:4490",
            "parameter `crs`: KML",
        ),
        ("/api/v1/grids?format=shp&crs=gcj02", "no EPSG code"),
        ("/api/v1/towns?format=gpkg&colour=red", "colour"),
        ("/api/v1/audit/findings?bbox=1,2,3,4", "bbox"),
    ] {
        common::get(&app, uri).await.assert_problem(400, needle);
    }
}

/// CSV downloads (EPSG:4547) import back with `--crs`; without it the import is refused and
/// asks for it; a GBK file reads; bad WKT names file, line and field.
#[tokio::test]
async fn csv_downloads_import_back_with_crs() {
    let app = common::app(&common::sample_dir());
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("csv");
    std::fs::create_dir_all(&csv).expect("dir");
    for layer in ["towns", "communities", "grids"] {
        let reply = common::get(&app, &format!("/api/v1/{layer}?format=csv&crs=EPSG:4547")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        std::fs::write(csv.join(format!("{layer}.csv")), &reply.body).expect("write");
    }
    let out = dir.path().join("out");
    let (c, o) = (csv.to_string_lossy(), out.to_string_lossy());
    let refused = common::shequ(&["import", &c, "--out", &o]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        common::text(&refused.stderr).contains("--crs"),
        "{}",
        common::text(&refused.stderr)
    );
    assert!(!out.join("towns.geojson").exists());

    let done = common::shequ(&["import", &c, "--crs", "EPSG:4547", "--out", &o]);
    assert!(done.status.success(), "{}", common::text(&done.stderr));
    let back = common::load(&out);
    let (a, b) = (&back.registry, &common::sample().registry);
    let names = |r: &shequ::registry::Registry| {
        r.communities
            .iter()
            .map(|c| (c.code.clone(), c.name.clone(), c.counts, c.office.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(a), names(b));
    assert_eq!(a.grids.len(), b.grids.len());

    // The towns again in GBK, as Excel in China saves them; and a row with broken WKT.
    let text = std::fs::read_to_string(csv.join("towns.csv")).expect("utf-8");
    let (gbk, _, _) = encoding_rs::GBK.encode(text.trim_start_matches('\u{feff}'));
    let one = dir.path().join("gbk");
    std::fs::create_dir_all(&one).expect("dir");
    std::fs::write(one.join("towns.csv"), &gbk).expect("write");
    let (g, o2) = (one.join("towns.csv"), dir.path().join("out2"));
    let done = common::shequ(&[
        "import",
        &g.to_string_lossy(),
        "--crs",
        "EPSG:4547",
        "--out",
        &o2.to_string_lossy(),
    ]);
    assert!(done.status.success(), "{}", common::text(&done.stderr));
    let towns = std::fs::read_to_string(o2.join("towns.geojson")).expect("towns");
    assert!(towns.contains(&b.towns[0].name), "{towns}");

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).expect("dir");
    let mut lines: Vec<&str> = text.lines().collect();
    let bad = lines[2].replacen("MULTIPOLYGON", "MULTIPOLYGAN", 1);
    lines[2] = &bad;
    std::fs::write(broken.join("towns.csv"), lines.join("\n")).expect("write");
    let b3 = broken.join("towns.csv");
    let refused = common::shequ(&[
        "import",
        &b3.to_string_lossy(),
        "--crs",
        "EPSG:4547",
        "--out",
        &dir.path().join("out3").to_string_lossy(),
    ]);
    let stderr = common::text(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("towns.csv: feature 1, field `WKT`: line 3"),
        "{stderr}"
    );
}
