//! Every problem the API emits carries a machine `code` (and `params`) that the web page's
//! catalogue (`web/messages.js`) says in Chinese: statically, every code written in `src/`
//! has an entry; at run time, a sample of real refusals through the in-process router (bad
//! input, unknown codes, a wrong password, a forbidden transition, an invalid line, limits,
//! validation failures) answers problem+json with a catalogued code and the parameters the
//! Chinese wording needs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use axum::Router;
use serde_json::{Value, json};
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::store::{Store, registry};

/// The codes of `web/messages.js` (the keys of `MESSAGES`).
fn catalogue() -> BTreeSet<String> {
    let path = common::root().join("web/messages.js");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let start = text
        .find("export const MESSAGES")
        .expect("MESSAGES in messages.js");
    text[start..]
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let key = l.split_once(": (")?.0;
            let key = key.trim_matches('\'');
            key.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c == '-')
                .then(|| key.to_owned())
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push((path.display().to_string(), text));
        }
    }
}

/// The string literal that follows each `marker` in `text` (after whitespace).
fn literals_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = text[i + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(&rest[..rest.find('"')?])
        })
        .collect()
}

#[test]
fn every_code_written_in_the_source_is_in_the_web_catalogue() {
    let known = catalogue();
    assert!(known.len() > 50, "catalogue too small: {known:?}");
    let mut files = Vec::new();
    sources(&common::root().join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for (path, text) in &files {
        for marker in [
            "Message::new(",
            "with_code(",
            "StatusCode::",
            "no_such_move(",
        ] {
            for code in literals_after(text, marker) {
                // `StatusCode::X, "slug"`: the literal after the status and a comma.
                codes.insert((path.clone(), code.to_owned()));
            }
        }
        // Slugs given to ApiError::new after a status expression: `StatusCode::X,\n "slug"`.
        for (i, _) in text.match_indices("StatusCode::") {
            let rest = &text[i..];
            let Some(comma) = rest.find(',') else {
                continue;
            };
            let head = &rest[..comma];
            if head.contains(char::is_whitespace) || head.contains(')') {
                continue;
            }
            let after = rest[comma + 1..].trim_start();
            if let Some(lit) = after.strip_prefix('"')
                && let Some(end) = lit.find('"')
            {
                codes.insert((path.clone(), lit[..end].to_owned()));
            }
        }
    }
    let missing: Vec<_> = codes
        .iter()
        .filter(|(_, c)| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || "._-".contains(ch))
        })
        .filter(|(_, c)| !known.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a Chinese message in web/messages.js: {missing:?}"
    );
    // The ones this test's requests meet must be among those found in the source.
    for code in [
        "procedure.not_allowed",
        "split.line_does_not_cross",
        "auth.bad_credentials",
    ] {
        assert!(
            codes.iter().any(|(_, c)| c == code),
            "{code} not found in src"
        );
    }
}

/// A store-backed router over the mini city with a street official of its town (token).
fn stored(dir: &Path) -> (Router, String) {
    let data = common::copy_boundaries(&common::mini_dir(), dir);
    let store = std::sync::Arc::new(Store::open(&dir.join("shequ.db")).expect("store"));
    let (snapshot, version, _) = registry::open_or_seed(&store, &data).expect("seed");
    let street = common::user_token(&store, "street", Role::Street, &["442000901"]);
    let mut config = ApiConfig::default();
    config.limits.proposal_parts = 3;
    let state = AppState::with_store(snapshot, version.id, store, &config);
    (api::router(state, &config), street)
}

/// Asserts a problem+json answer of `status` with a catalogued `code` (equal to `code` when
/// given) and a `params` object; returns the params.
fn problem(reply: &common::Reply, status: u16, code: &str, known: &BTreeSet<String>) -> Value {
    let body = reply.json();
    assert_eq!(reply.status.as_u16(), status, "{body}");
    assert_eq!(reply.content_type, "application/problem+json", "{body}");
    let got = body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {body}"));
    assert!(
        known.contains(got),
        "code {got} not in web/messages.js: {body}"
    );
    assert_eq!(got, code, "{body}");
    assert!(body["params"].is_object(), "{body}");
    body["params"].clone()
}

#[tokio::test]
async fn refusals_through_the_router_carry_catalogued_codes_and_params() {
    let known = catalogue();
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, street) = stored(dir.path());
    let call = |method: &'static str, uri: String, token: String, body: Option<Value>| {
        let app = app.clone();
        async move { common::call(&app, method, &uri, &token, body).await }
    };

    // General kinds: a bad query, an unknown feature, an unknown route, malformed JSON.
    let r = call(
        "GET",
        "/api/v1/lookup?lon=abc&lat=1".into(),
        String::new(),
        None,
    )
    .await;
    problem(&r, 400, "bad-request", &known);
    let r = call("GET", "/api/v1/communities/999".into(), String::new(), None).await;
    problem(&r, 404, "not-found", &known);
    let r = call("GET", "/api/v1/nothing-here".into(), String::new(), None).await;
    problem(&r, 404, "not-found", &known);
    let bad = common::post_json(&app, "/api/v1/proposals/validate", "{not json").await;
    problem(&bad, 400, "bad-request", &known);

    // Sign-in with a wrong password.
    let login = json!({"user": "street", "password": "wrong-password-1"});
    let r = call("POST", "/api/v1/login".into(), String::new(), Some(login)).await;
    problem(&r, 401, "auth.bad_credentials", &known);
    // Writing without signing in.
    let r = call(
        "POST",
        "/api/v1/proposals".into(),
        String::new(),
        Some(json!({})),
    )
    .await;
    let code = r.json()["code"].as_str().unwrap_or_default().to_owned();
    problem(&r, 401, &code, &known);

    // Split lines: one that ends inside the community, one of too few points, an unknown
    // community.
    let west = "442000901001";
    let inside = json!({"community": west, "line": [[113.005, 21.99], [113.005, 22.005]]});
    let r = call(
        "POST",
        "/api/v1/proposals/split".into(),
        String::new(),
        Some(inside),
    )
    .await;
    let p = problem(&r, 422, "split.line_does_not_cross", &known);
    assert_eq!(p["why"], "end_inside");
    let short = json!({"community": west, "line": [[113.005, 21.99]]});
    let r = call(
        "POST",
        "/api/v1/proposals/split".into(),
        String::new(),
        Some(short),
    )
    .await;
    problem(&r, 422, "split.bad_line", &known);
    let unknown =
        json!({"community": "442000901999", "line": [[113.005, 21.99], [113.005, 22.03]]});
    let r = call(
        "POST",
        "/api/v1/proposals/split".into(),
        String::new(),
        Some(unknown),
    )
    .await;
    let p = problem(&r, 404, "split.unknown_community", &known);
    assert_eq!(p["community"], "442000901999");
    let lines = json!({"community": west, "lines": [[[113.005, 21.99], [113.005, 22.005]]]});
    let r = call(
        "POST",
        "/api/v1/proposals/grid-groups".into(),
        String::new(),
        Some(lines),
    )
    .await;
    let p = problem(&r, 422, "split.line_does_not_cross", &known);
    assert_eq!(p["line"], 1, "{p}");

    // Over a limit: four parts where three are allowed.
    let square = |x0: f64| {
        json!({"type": "Feature", "properties": {"name": "甲"}, "geometry": {"type": "Polygon",
            "coordinates": [[[x0, 22.0], [x0 + 0.001, 22.0], [x0 + 0.001, 22.001], [x0, 22.0]]]}})
    };
    let four = json!({"type": "FeatureCollection",
        "proposal": {"kind": "split", "title": "四部分", "parents": [west]},
        "features": [square(113.0), square(113.002), square(113.004), square(113.006)]});
    let r = call(
        "POST",
        "/api/v1/proposals/validate".into(),
        String::new(),
        Some(four),
    )
    .await;
    let p = problem(&r, 413, "limits.proposal_parts", &known);
    assert_eq!(
        (p["sent"].as_u64(), p["limit"].as_u64()),
        (Some(4), Some(3))
    );

    // The procedure: a stored proposal that skips consultation, and one submitted without a
    // vote.
    let grids = common::get(&app, &format!("/api/v1/grids?community={west}"))
        .await
        .json();
    let groups: Vec<Value> = grids["features"]
        .as_array()
        .expect("grids")
        .iter()
        .map(|g| json!([g["properties"]["code"]]))
        .collect();
    let by_groups = json!({"community": west, "groups": groups});
    let split = call(
        "POST",
        "/api/v1/proposals/split".into(),
        String::new(),
        Some(by_groups),
    )
    .await;
    assert!(split.status.is_success(), "{}", split.text());
    let mut proposal = split.json();
    proposal["proposal"]["title"] = json!("西社区拆分");
    let created = call(
        "POST",
        "/api/v1/proposals".into(),
        street.clone(),
        Some(proposal),
    )
    .await;
    assert!(created.status.is_success(), "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    let to = |state: &str| Some(json!({"to": state}));
    let uri = format!("/api/v1/proposals/{id}/transition");
    let r = call("POST", uri.clone(), street.clone(), to("approved")).await;
    let p = problem(&r, 409, "procedure.not_allowed", &known);
    assert_eq!(
        (p["state"].as_str(), p["to"].as_str()),
        (Some("draft"), Some("approved"))
    );
    assert_eq!(p["next"], json!(["consultation"]));
    let r = call("POST", uri.clone(), street.clone(), to("consultation")).await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = call("POST", uri.clone(), street.clone(), to("vote")).await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = call("POST", uri.clone(), street.clone(), to("submitted")).await;
    problem(&r, 422, "vote.none", &known);
    let vote = format!("/api/v1/proposals/{id}/vote");
    let none = json!({"for": 0, "against": 0, "abstain": 0});
    let r = call("POST", vote, street.clone(), Some(none)).await;
    problem(&r, 422, "vote.no_votes", &known);
    let comment = format!("/api/v1/proposals/{id}/comments");
    let r = call(
        "POST",
        comment,
        street.clone(),
        Some(json!({"text": "意见"})),
    )
    .await;
    let p = problem(&r, 409, "procedure.wrong_state", &known);
    assert_eq!(
        (p["state"].as_str(), p["needs"].as_str()),
        (Some("vote"), Some("consultation"))
    );
    let r = call(
        "POST",
        "/api/v1/proposals/999/transition".into(),
        street,
        to("vote"),
    )
    .await;
    problem(&r, 404, "procedure.no_proposal", &known);
}
