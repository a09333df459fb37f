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
