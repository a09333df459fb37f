//! `skipGeometry=true` on `/api/v1/{towns,communities,grids}`: the attributes of every feature
//! without its geometry (what the web map loads at start; it draws boundaries from the tiles).
//! Checked against the full answer of the same request, feature by feature, on the mini city.

mod common;

use common::{app, get};
use serde_json::Value;

const TOWN: &str = "442000901";

/// The features of a collection answer.
fn features(v: &Value) -> Vec<Value> {
    v["features"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn every_layer_without_geometry_keeps_ids_order_and_attributes() {
    let app = app(&common::mini_dir());
    for (layer, filter) in [
        ("towns", ""),
        ("communities", ""),
        ("grids", ""),
        ("communities", "&crs=gcj02"),
        ("communities", &format!("&town={TOWN}")),
    ] {
        let full = get(&app, &format!("/api/v1/{layer}?skipGeometry=false{filter}")).await;
        let slim = get(&app, &format!("/api/v1/{layer}?skipGeometry=true{filter}")).await;
        assert_eq!(slim.status, 200, "{}", slim.text());
        assert_eq!(slim.content_type, "application/geo+json");
        let (full_json, slim_json) = (full.json(), slim.json());
        let (full_features, slim_features) = (features(&full_json), features(&slim_json));
        assert!(!full_features.is_empty(), "{layer}{filter}");
        assert_eq!(slim_features.len(), full_features.len(), "{layer}{filter}");
        assert_eq!(slim_json["numberMatched"], full_features.len());
        let mut some_geometry = false;
        for (s, f) in slim_features.iter().zip(&full_features) {
            assert_eq!(s["type"], "Feature");
            assert_eq!(
                s["id"], f["id"],
                "{layer}{filter}: same features in the same order"
            );
            assert_eq!(
                s["properties"], f["properties"],
                "{layer}{filter} {}",
                f["id"]
            );
            assert_eq!(s["geometry"], Value::Null, "{layer}{filter} {}", f["id"]);
            some_geometry |= !f["geometry"].is_null();
        }
        assert!(
            some_geometry,
            "{layer}{filter}: the full answer has geometry"
        );
        assert!(
            slim.body.len() < full.body.len(),
            "{layer}{filter}: {} bytes without geometry, {} with",
            slim.body.len(),
            full.body.len()
        );
    }
}

#[tokio::test]
async fn skip_geometry_false_is_the_whole_layer() {
    let app = app(&common::mini_dir());
    let plain = get(&app, "/api/v1/communities").await;
    let explicit = get(&app, "/api/v1/communities?skipGeometry=false").await;
    assert_eq!(explicit.status, 200);
    assert_eq!(explicit.body, plain.body);
}

#[tokio::test]
async fn skip_geometry_other_than_true_or_false_is_a_400_naming_it() {
    let app = app(&common::mini_dir());
    for value in ["1", "yes", "TRUE", ""] {
        get(&app, &format!("/api/v1/grids?skipGeometry={value}"))
            .await
            .assert_problem(400, "skipGeometry");
    }
}
