//! Coordinate systems end to end: a point sent in GCJ-02, BD-09 or EPSG:4547 with the matching
//! `crs` lands in the same town/community/grid as the WGS84 point, through the real router.

mod common;

use common::{Rng, app, get, post_json};
use serde_json::{Value, json};
use shequ::crs::Crs;

fn place(v: &Value) -> [Value; 3] {
    ["town", "community", "grid"].map(|k| v[k]["code"].clone())
}

#[tokio::test]
async fn converted_points_land_where_the_wgs84_point_does() {
    let app = app(&common::sample_dir());
    let mut rng = Rng(8);
    let crss: Vec<Crs> = ["gcj02", "bd09", "EPSG:4547"]
        .iter()
        .map(|s| s.parse().expect("supported"))
        .collect();
    let points: Vec<[f64; 2]> = (0..300)
        .map(|_| [rng.uniform(113.15, 113.65), rng.uniform(22.2, 22.78)])
        .collect();
    // The WGS84 answers, one by one.
    let mut wgs = Vec::new();
    for p in &points {
        let reply = get(&app, &format!("/api/v1/lookup?lon={}&lat={}", p[0], p[1])).await;
        assert_eq!(reply.status, 200);
        wgs.push(place(&reply.json()));
    }
    assert!(
        wgs.iter().filter(|w| !w[2].is_null()).count() > 150,
        "most random points should fall in a grid"
    );
    for crs in &crss {
        let converted: Vec<[f64; 2]> = points
            .iter()
            .map(|&p| crs.from_wgs84(p).expect("city is in the area of use"))
            .collect();
        // Single lookups, with the point echoed back in WGS84.
        for (i, q) in converted.iter().enumerate().take(60) {
            let uri = format!("/api/v1/lookup?lon={}&lat={}&crs={crs}", q[0], q[1]);
            let reply = get(&app, &uri).await;
            assert_eq!(reply.status, 200, "{uri}");
            let v = reply.json();
            assert_eq!(place(&v), wgs[i], "{crs} point {i}");
            let echoed = [v["point"][0].as_f64(), v["point"][1].as_f64()];
            let [Some(lon), Some(lat)] = echoed else {
                panic!("{v}")
            };
            assert!((lon - points[i][0]).abs() < 1e-8 && (lat - points[i][1]).abs() < 1e-8);
        }
        // The whole set as a batch.
        let body = json!({"crs": crs.to_string(), "points": converted}).to_string();
        let reply = post_json(&app, "/api/v1/lookup", body).await;
        assert_eq!(reply.status, 200);
        let results = reply.json()["results"].clone();
        for (i, w) in wgs.iter().enumerate() {
            assert_eq!(&place(&results[i]), w, "{crs} batch point {i}");
        }
    }
}

#[tokio::test]
async fn gcj02_input_is_not_taken_as_wgs84() {
    // Independent check against DESIGN §7: the published GCJ-02 image of WGS84
    // (113.382391, 22.521113) is echoed back as that WGS84 point.
    let app = app(&common::sample_dir());
    let reply = get(
        &app,
        "/api/v1/lookup?lon=113.387868&lat=22.518417&crs=gcj02",
    )
    .await;
    let v = reply.json();
    let [lon, lat] =
        [v["point"][0].as_f64(), v["point"][1].as_f64()].map(Option::unwrap_or_default);
    assert!(
        (lon - 113.382391).abs() < 1e-6 && (lat - 22.521113).abs() < 1e-6,
        "{v}"
    );
}

#[tokio::test]
async fn projected_reference_point() {
    let app = app(&common::sample_dir());
    let reply = get(
        &app,
        "/api/v1/lookup?lon=437241.4714&lat=2491510.0132&crs=EPSG:4547",
    )
    .await;
    let v = reply.json();
    let [lon, lat] =
        [v["point"][0].as_f64(), v["point"][1].as_f64()].map(Option::unwrap_or_default);
    assert!(
        (lon - 113.39).abs() < 1e-8 && (lat - 22.52).abs() < 1e-8,
        "{v}"
    );
    let direct = get(&app, "/api/v1/lookup?lon=113.39&lat=22.52")
        .await
        .json();
    assert_eq!(place(&v), place(&direct));
    get(&app, "/api/v1/lookup?lon=113.39&lat=22.52&crs=EPSG:4547")
        .await
        .assert_problem(400, "outside the area of use of EPSG:4547");
}

/// All `[x, y]` positions of a GeoJSON geometry's rings.
fn positions(geometry: &Value) -> Vec<[f64; 2]> {
    fn walk(v: &Value, out: &mut Vec<[f64; 2]>) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a.iter().all(Value::is_f64) => {
                out.push([
                    a[0].as_f64().unwrap_or(f64::NAN),
                    a[1].as_f64().unwrap_or(f64::NAN),
                ]);
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    walk(&geometry["coordinates"], &mut out);
    out
}

#[tokio::test]
async fn geojson_output_in_gcj02_and_projected() {
    let app = app(&common::sample_dir());
    let code = &common::sample().registry.grids[123].code;
    let wgs = get(&app, &format!("/api/v1/grids/{code}")).await.json();
    let wgs_pos = positions(&wgs["geometry"]);
    assert!(wgs_pos.len() > 4);
    // Output is rounded to 1e-7° (GCJ-02, BD-09) and 1 mm (projected): the tolerances allow for it.
    for (crs, tolerance) in [("gcj02", 1e-7), ("bd09", 1e-7), ("EPSG:4547", 1e-6)] {
        let reply = get(&app, &format!("/api/v1/grids/{code}?crs={crs}")).await;
        assert_eq!(reply.status, 200, "{crs}");
        assert_eq!(reply.content_type, "application/geo+json");
        let out = positions(&reply.json()["geometry"]);
        assert_eq!(out.len(), wgs_pos.len());
        let c: Crs = crs.parse().expect("crs");
        for (o, w) in out.iter().zip(&wgs_pos) {
            // Back through the inverse, each output position is the stored WGS84 one.
            let back = c.to_wgs84(*o).expect("in area");
            assert!((back[0] - w[0]).abs() < tolerance && (back[1] - w[1]).abs() < tolerance);
            assert!(
                (o[0] - w[0]).abs() > 1e-4,
                "{crs} output must differ from WGS84"
            );
        }
    }
    // GCJ-02 shifts Zhongshan by roughly 0.0055° east and 0.0027° south (DESIGN §7 point).
    let towns = get(&app, "/api/v1/towns?crs=gcj02").await;
    assert_eq!(towns.status, 200);
    let first = &towns.json()["features"][0];
    let plain = get(&app, "/api/v1/towns").await.json();
    let (g, w) = (
        positions(&first["geometry"])[0],
        positions(&plain["features"][0]["geometry"])[0],
    );
    assert!(
        (g[0] - w[0] - 0.0055).abs() < 0.0005 && (w[1] - g[1] - 0.0027).abs() < 0.0005,
        "{g:?} {w:?}"
    );
    let office = get(&app, "/api/v1/communities/442000001001?crs=gcj02")
        .await
        .json();
    let office_w = get(&app, "/api/v1/communities/442000001001").await.json();
    assert_ne!(
        office["properties"]["office"],
        office_w["properties"]["office"]
    );
    // A CRS whose area of use does not cover the city is refused.
    get(&app, "/api/v1/grids?crs=EPSG:4549")
        .await
        .assert_problem(400, "outside the area of use of EPSG:4549");
    get(&app, "/api/v1/communities?crs=mars")
        .await
        .assert_problem(400, "unsupported crs");
}

/// Beijing 1954 and Xian 1980 Gauss-Krüger coordinates (what Chinese survey data often
/// carries) land where GDAL puts them: Beijing 1954 with its published shift to WGS84 (the
/// `+towgs84=15.8,-154.4,-82.3` of its EPSG definition, about 50 m here), Xian 1980 without one
/// (no public parameters; PROJ's ballpark does the same). Expected values computed by GDAL 3.6:
/// `echo "E N" | gdaltransform -s_srs "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0
/// +ellps=krass +towgs84=15.8,-154.4,-82.3,0,0,0,0 +units=m +no_defs" -t_srs EPSG:4326`, and
/// `-s_srs EPSG:2383` for Xian 1980. (GDAL given `EPSG:2435` itself picks another of the EPSG
/// database's Beijing 1954 transformations, about 6 m from this one.)
#[test]
fn beijing_1954_and_xian_1980_agree_with_gdal() {
    let cases = [
        (
            "EPSG:2435",
            [500000.0, 2490000.0],
            [114.000470075337, 22.5069591271367],
        ),
        (
            "EPSG:2435",
            [437241.4714, 2491510.0132],
            [113.390466876078, 22.5194415294601],
        ),
        (
            "EPSG:2435",
            [520000.0, 2470000.0],
            [114.1945999593, 22.32623080056],
        ),
        (
            "EPSG:2383",
            [500000.0, 2490000.0],
            [114.0, 22.5075090374634],
        ),
        (
            "EPSG:2383",
            [437241.4714, 2491510.0132],
            [113.390000333566, 22.519989523148],
        ),
    ];
    for (code, xy, gdal) in cases {
        let crs: Crs = code.parse().expect("supported");
        let got = crs.to_wgs84(xy).expect("in area");
        // 1e-6° is about 0.1 m.
        assert!(
            (got[0] - gdal[0]).abs() < 1e-6 && (got[1] - gdal[1]).abs() < 1e-6,
            "{code} {xy:?}: shequ {got:?}, GDAL {gdal:?}"
        );
        let back = crs.from_wgs84(got).expect("in area");
        assert!(
            (back[0] - xy[0]).hypot(back[1] - xy[1]) < 1e-3,
            "{code}: round trip {back:?}"
        );
    }
}
