//! OGC API – Features, the selection parameters of the GeoJSON endpoints, TileJSON rules and
//! the tile parameters, through the in-process router (GDAL's view is in `tests/protocols.rs`).

mod common;

use std::sync::Arc;

use geo::{Intersects, Rect};
use serde_json::Value;
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::store::{Store, registry};

const EPSG4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";

#[tokio::test]
async fn unknown_parameters_are_400_naming_them() {
    let app = common::app(&common::mini_dir());
    for uri in [
        "/api/v1/grids?bbox=113,22,113.1,22.1&colour=red",
        "/api/v1/towns/442000901?limit=3",
        "/ogc/collections/grids/items?colour=red",
        "/ogc/collections?limit=2",
        "/tiles/towns.json?colour=red",
        "/tiles/towns/9/417/223.mvt?colour=red",
    ] {
        let (reply, _) = common::call_with_headers(&app, "GET", uri, &[], None).await;
        reply.assert_problem(
            400,
            if uri.contains("colour") {
                "colour"
            } else {
                "limit"
            },
        );
    }
    let (reply, _) = common::call_with_headers(
        &app,
        "GET",
        "/tiles/towns/9/417/223.mvt?crs=gcj02",
        &[],
        None,
    )
    .await;
    reply.assert_problem(400, "crs");
    let (reply, _) =
        common::call_with_headers(&app, "GET", "/api/v1/grids?bbox=113,22,113.1", &[], None).await;
    reply.assert_problem(400, "bbox");
    let (reply, _) =
        common::call_with_headers(&app, "GET", "/api/v1/grids?limit=0", &[], None).await;
    reply.assert_problem(400, "limit");
}

/// Pages of `limit` followed by their `next` links give exactly the features meeting the box
/// (geo's `Intersects` on the sample city), in order, each once.
#[tokio::test]
async fn bbox_and_paging_on_the_geojson_endpoint() {
    let app = common::app(&common::sample_dir());
    let r = &common::sample().registry;
    let rect = Rect::new((113.35, 22.50), (113.40, 22.55));
    let expected: Vec<&str> = r
        .grids
        .iter()
        .filter(|g| g.area.intersects(&rect))
        .map(|g| g.code.as_str())
        .collect();
    let mut got = Vec::new();
    let mut uri = "/api/v1/grids?bbox=113.35,22.50,113.40,22.55&limit=100".to_owned();
    loop {
        let page = common::get(&app, &uri).await.json();
        assert_eq!(page["numberMatched"], expected.len());
        for f in page["features"].as_array().expect("features") {
            got.push(f["id"].as_str().expect("id").to_owned());
        }
        let Some(next) = page["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
        else {
            break;
        };
        let href = next["href"].as_str().expect("href");
        uri = href[href.find("/api/").expect("path")..].to_owned();
    }
    assert_eq!(got, expected);
    // Filters: grids of a town.
    let page = common::get(&app, "/api/v1/grids?town=442000001&limit=5")
        .await
        .json();
    let town = r.town_by_code("442000001").expect("town");
    let in_town = r
        .grids
        .iter()
        .filter(|g| r.communities[g.community].town == town)
        .count();
    assert_eq!(page["numberMatched"], in_town);
    assert_eq!(page["numberReturned"], 5);
}

#[tokio::test]
async fn ogc_items_name_their_crs_and_use_the_authority_axis_order() {
    let app = common::app(&common::sample_dir());
    let code = &common::sample().registry.grids[0].code;
    let (reply, headers) = common::call_with_headers(
        &app,
        "GET",
        &format!("/ogc/collections/grids/items/{code}?crs={EPSG4490}"),
        &[],
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(headers["content-crs"], format!("<{EPSG4490}>"));
    let lat_first = reply.json();
    let (reply, headers) = common::call_with_headers(
        &app,
        "GET",
        &format!("/ogc/collections/grids/items/{code}"),
        &[],
        None,
    )
    .await;
    assert!(
        headers["content-crs"]
            .to_str()
            .expect("ascii")
            .contains("CRS84")
    );
    let lon_first = reply.json();
    let a = &lat_first["geometry"]["coordinates"][0][0];
    let b = &lon_first["geometry"]["coordinates"][0][0];
    assert_eq!((a[0].clone(), a[1].clone()), (b[1].clone(), b[0].clone()));
    // A bbox in EPSG:4490 is latitude first too: the same grids as in CRS84.
    let crs84 = common::get(
        &app,
        "/ogc/collections/grids/items?bbox=113.35,22.5,113.4,22.55&limit=1000",
    )
    .await
    .json();
    let swapped = common::get(
        &app,
        &format!(
            "/ogc/collections/grids/items?bbox=22.5,113.35,22.55,113.4&bbox-crs={EPSG4490}&limit=1000"
        ),
    )
    .await
    .json();
    assert_eq!(crs84["numberMatched"], swapped["numberMatched"]);
    assert!(crs84["numberMatched"].as_u64().expect("n") > 100);
    common::get(&app, "/ogc/collections/grids/items?crs=EPSG:4326")
        .await
        .assert_problem(400, "crs");
}

#[tokio::test]
async fn ogc_html_views_and_landing_links() {
    let app = common::app(&common::mini_dir());
    let landing = common::get(&app, "/ogc").await.json();
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rels:?}");
    }
    let conformance = common::get(&app, "/ogc/conformance").await.json();
    assert!(
        conformance["conformsTo"]
            .to_string()
            .contains("ogcapi-features-2")
    );
    let (reply, _) = common::call_with_headers(
        &app,
        "GET",
        "/ogc/collections/communities/items",
        &[("accept", "text/html,application/xhtml+xml")],
        None,
    )
    .await;
    assert!(
        reply.content_type.starts_with("text/html"),
        "{}",
        reply.content_type
    );
    assert!(reply.text().contains("<table"));
    let page = common::get(&app, "/ogc/collections/towns?f=html").await;
    assert!(page.content_type.starts_with("text/html"));
    common::get(&app, "/ogc/collections/nope")
        .await
        .assert_problem(404, "collection");
    // The findings collection: ids are places in the report, each readable alone.
    let findings = common::get(&app, "/ogc/collections/findings/items?limit=1")
        .await
        .json();
    if findings["numberMatched"].as_u64().unwrap_or(0) > 0 {
        let one = common::get(&app, "/ogc/collections/findings/items/1").await;
        assert_eq!(one.status, 200);
    }
}

#[tokio::test]
async fn tilejson_follows_tilejson_3_and_pbf_is_mvt() {
    let app = common::app(&common::mini_dir());
    let catalog = common::get(&app, "/tiles/catalog").await.json();
    for layer in catalog["layers"].as_array().expect("layers") {
        let id = layer["id"].as_str().expect("id");
        let tj = common::get(&app, &format!("/tiles/{id}.json")).await.json();
        let zoom = tj["center"][2].as_u64().expect("center zoom");
        let (min, max) = (
            tj["minzoom"].as_u64().expect("min"),
            tj["maxzoom"].as_u64().expect("max"),
        );
        assert!(
            min <= zoom && zoom <= max,
            "{id}: center zoom {zoom} outside {min}–{max}"
        );
        assert!(tj["attribution"].as_str().is_some_and(|a| !a.is_empty()));
        let version = tj["version"].as_str().expect("version");
        assert_eq!(
            version
                .split('.')
                .filter(|p| p.parse::<u32>().is_ok())
                .count(),
            3
        );
    }
    // The composite URLs work as given.
    let composite = catalog["composite"]["tilejson"]
        .as_str()
        .expect("composite");
    let path = &composite[composite.find("/tiles/").expect("path")..];
    assert_eq!(common::get(&app, path).await.status, 200);
    let mvt = common::get(&app, "/tiles/towns/9/416/223.mvt").await;
    let pbf = common::get(&app, "/tiles/towns/9/416/223.pbf").await;
    assert_eq!((mvt.status, &mvt.body), (pbf.status, &pbf.body));
    // The web map's cache-busting generation after an approval is accepted.
    let busted = common::get(&app, "/tiles/towns/9/416/223.mvt?v=2").await;
    assert_ne!(busted.status, 400, "{}", busted.text());
    common::get(&app, "/tiles/towns/9/416/223.png")
        .await
        .assert_problem(404, ".pbf");
}

/// After an approval, `datetime` of the day before gives the old city (the parent community
/// and its count), and without it the new one.
#[tokio::test]
async fn datetime_answers_as_of_that_day() {
    const PARENT: &str = "442000001002";
    let dir = tempfile::tempdir().expect("tempdir");
    let data = common::copy_boundaries(&common::sample_dir(), dir.path());
    let store = Arc::new(Store::open(&dir.path().join("shequ.db")).expect("store"));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data).expect("seed");
    let street = common::user_token(&store, "street", Role::Street, &["442000001"]);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
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
    common::carry_to_approval(&app, &street, &reviewer, proposal).await;

    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .date()
        .to_string();
    let before = common::sample().registry.communities.len();
    let then = common::get(
        &app,
        &format!("/ogc/collections/communities/items?datetime={yesterday}&limit=10000"),
    )
    .await
    .json();
    let now = common::get(&app, "/ogc/collections/communities/items?limit=10000")
        .await
        .json();
    assert_eq!(then["numberMatched"], before);
    assert_eq!(now["numberMatched"], before + 1, "one community became two");
    let has = |page: &Value| {
        page["features"]
            .as_array()
            .expect("features")
            .iter()
            .any(|f| f["id"] == PARENT)
    };
    assert!(has(&then) && !has(&now));
    let item = format!("/ogc/collections/communities/items/{PARENT}");
    assert_eq!(
        common::get(&app, &format!("{item}?datetime={yesterday}T08:00:00Z"))
            .await
            .status,
        200
    );
    common::get(&app, &item).await.assert_problem(404, PARENT);
    common::get(
        &app,
        "/ogc/collections/communities/items?datetime=2020-01-01/2021-01-01",
    )
    .await
    .assert_problem(400, "interval");
}
