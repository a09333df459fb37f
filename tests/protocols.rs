//! The standard protocols checked with independent clients against the real `shequ serve` on
//! loopback (the shipped sample city): GDAL's OAPIF driver reads OGC API – Features
//! (`ogrinfo`, `ogr2ogr` with a bounding box, paging and EPSG:4547 through PROJ), GDAL's MVT
//! driver reads the tile set through its TileJSON; npm `@seriousme/openapi-schema-validator`
//! validates the OpenAPI document, which must list every route registered in `src/api`
//! (found by reading the source, not by asking the document); npm
//! PyPI `prometheus-client` (the official client's parser) parses `/metrics`, whose counters must move with traffic.
//!
//! Without GDAL (`ogrinfo`, `ogr2ogr` on PATH), Node with `npm ci` in `tests/e2e`, or Python
//! with `prometheus-client`, the tests
//! that need them are reported as *ignored*, never as passed; with `CI=true` they always run, so
//! a missing tool is a failure (`.ci/run` installs `gdal-bin` and
//! `prometheus-client` and runs `npm ci`). Like `tests/browser.rs`, this binary has its own harness (libtest-mimic) to say
//! so at run time.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::time::Duration;

use geo::{Intersects, Rect};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// What is missing to run the Node tests, if anything.
fn missing_node() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on PATH".to_owned());
    }
    let modules = common::root().join("tests/e2e/node_modules");
    let package = "@seriousme/openapi-schema-validator";
    if !modules.join(package).is_dir() {
        return Some(format!(
            "no {package} in {} (run `npm ci` there)",
            modules.display()
        ));
    }
    None
}

/// What is missing to run the metrics test: Python with PyPI `prometheus-client`.
fn missing_python() -> Option<String> {
    let ok = Command::new("python3")
        .args(["-c", "import prometheus_client.parser"])
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then(|| "no python3 with prometheus-client (pip install prometheus-client)".to_owned())
}

/// Runs a script of `tests/e2e` with `input` on stdin; its stdout.
fn node(script: &str, args: &[&str], input: &[u8]) -> Result<String, Failed> {
    script_output(
        "node",
        &common::root().join("tests/e2e"),
        script,
        args,
        input,
    )
}

/// Runs `program dir/script args` in `dir` with `input` on stdin; its stdout.
fn script_output(
    program: &str,
    e2e: &std::path::Path,
    script: &str,
    args: &[&str],
    input: &[u8],
) -> Result<String, Failed> {
    use std::io::Write;
    let mut child = Command::new(program)
        .arg(e2e.join(script))
        .args(args)
        .current_dir(e2e)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{program} {script} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(stdout)
}

/// The routes registered in `src/api` as (method, OpenAPI path), read from the source: every
/// `.route("…", get(…).post(…))`. Routes are registered at their full paths (nesting a router
/// costs every request a rewrite of its URI), so the path in the source is the path served.
fn source_routes() -> Result<std::collections::BTreeSet<(String, String)>, Failed> {
    let mut out = std::collections::BTreeSet::new();
    for file in ["src/api/mod.rs", "src/api/ogc/mod.rs"] {
        let text = std::fs::read_to_string(common::root().join(file)).map_err(|e| e.to_string())?;
        if text.contains(".nest(") {
            return Err(format!("{file}: a nested router; register routes at full paths").into());
        }
        let mut at = 0;
        while let Some(found) = text[at..].find(".route(") {
            let start = at + found + ".route(".len();
            // The call's arguments: up to the matching parenthesis.
            let mut depth = 1;
            let mut end = start;
            for (i, c) in text[start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            let args = &text[start..end];
            let path = args
                .split('"')
                .nth(1)
                .ok_or(format!("{file}: route without a path"))?;
            if !path.starts_with('/') {
                return Err(format!("{file}: route {path:?} is not a full path").into());
            }
            let mut methods = 0;
            for method in ["get", "post", "put", "delete", "patch"] {
                let needle = format!("{method}(");
                let mut from = 0;
                while let Some(i) = args[from..].find(&needle) {
                    let before = args[..from + i].chars().next_back();
                    if before.is_none_or(|b| !(b.is_alphanumeric() || b == '_')) {
                        out.insert((method.to_owned(), path.replace("{*", "{")));
                        methods += 1;
                    }
                    from += i + needle.len();
                }
            }
            if methods == 0 {
                return Err(format!("{file}: no method for route {path}").into());
            }
            at = end;
        }
    }
    Ok(out)
}

/// The validator's verdict on the document at `url`, which must validate against the OpenAPI
/// schema of `version` (e.g. "3.1"); returns the document.
fn valid_openapi(url: &str, version: &str) -> Result<Value, Failed> {
    let body = fetch(url)?;
    let doc: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &body).map_err(|e| e.to_string())?;
    let verdict = node("openapi-validate.mjs", &[&file.to_string_lossy()], b"")?;
    let verdict: Value = serde_json::from_str(verdict.trim()).map_err(|e| e.to_string())?;
    assert_eq!(verdict["valid"], true, "{url}: {verdict}");
    assert!(
        verdict["version"]
            .as_str()
            .is_some_and(|v| v.starts_with(version)),
        "{url}: {verdict}"
    );
    Ok(doc)
}

/// The OpenAPI document validates against the OpenAPI 3.1 schema and lists every route of the
/// router (and nothing else); the OGC API's `service-desc` is the same document as OpenAPI 3.0
/// (its conformance class "OpenAPI 3.0") and validates against the 3.0 schema.
fn openapi_validates_and_lists_every_route(url: &str) -> Result<(), Failed> {
    let doc = valid_openapi(&format!("{url}/api/v1/openapi.json"), "3.1")?;
    assert_eq!(doc["openapi"], "3.1.0");
    let landing = fetch_json(&format!("{url}/ogc?f=json"))?;
    let desc = landing["links"]
        .as_array()
        .and_then(|links| {
            links.iter().find(|l| {
                l["rel"] == "service-desc"
                    && l["type"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("version=3.0"))
            })
        })
        .and_then(|l| l["href"].as_str())
        .ok_or("no OpenAPI 3.0 service-desc on the OGC landing page")?
        .to_owned();
    let doc_30 = valid_openapi(&desc, "3.0")?;
    let operations = |doc: &Value| -> Vec<(String, String)> {
        doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(method, _)| (path.clone(), method.clone()))
            })
            .collect()
    };
    assert_eq!(operations(&doc_30), operations(&doc));
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().ok_or("paths")? {
        for method in item.as_object().ok_or("path item")?.keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let routes = source_routes()?;
    assert!(
        routes.len() > 40,
        "{} routes found in the source",
        routes.len()
    );
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    let page = String::from_utf8_lossy(&fetch(&format!("{url}/api/v1/docs"))?).into_owned();
    assert!(
        page.contains("openapi.json") && !page.contains("https://"),
        "{page}"
    );
    Ok(())
}

/// The value of sample `name{labels}` among those parsed by the independent parser.
fn sample(samples: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][k] == *v))?["value"]
        .as_f64()
}

/// `/metrics` parses as Prometheus text and its counters move with traffic: five lookups add
/// five to the lookup route's requests and to its latency histogram's count; a tile asked twice
/// is one cache miss and one hit, counted under the tile route's template; a path no route
/// serves is counted as `unmatched`.
fn metrics_parse_and_move(url: &str) -> Result<(), Failed> {
    let parse = || -> Result<Value, Failed> {
        let text = fetch(&format!("{url}/metrics"))?;
        let scripts = common::root().join("tests/scripts");
        let json = script_output("python3", &scripts, "prometheus_parse.py", &[], &text)?;
        serde_json::from_str(json.trim()).map_err(|e| e.to_string().into())
    };
    let lookup = [
        ("route", "/api/v1/lookup"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let before = parse()?;
    let requests = sample(&before, "shequ_http_requests_total", &lookup).unwrap_or(0.0);
    let observed = sample(
        &before,
        "shequ_http_request_duration_seconds_count",
        &lookup,
    )
    .unwrap_or(0.0);
    let tile = [
        ("route", "/tiles/{layers}/{z}/{x}/{y}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    let tiles = sample(&before, "shequ_http_requests_total", &tile).unwrap_or(0.0);
    let lost = sample(&before, "shequ_http_requests_total", &unmatched).unwrap_or(0.0);
    let hits = sample(&before, "shequ_tile_cache_hits_total", &[]).ok_or("no hits")?;
    let misses = sample(&before, "shequ_tile_cache_misses_total", &[]).ok_or("no misses")?;
    for i in 0..5 {
        fetch(&format!("{url}/api/v1/lookup?lon=113.3{i}&lat=22.5"))?;
    }
    for _ in 0..2 {
        fetch(&format!("{url}/tiles/towns/9/417/223.mvt"))?;
    }
    if fetch(&format!("{url}/no/such/route")).is_ok() {
        return Err("/no/such/route answered".into());
    }
    let after = parse()?;
    assert_eq!(
        sample(&after, "shequ_http_requests_total", &tile),
        Some(tiles + 2.0)
    );
    assert_eq!(
        sample(&after, "shequ_http_requests_total", &unmatched),
        Some(lost + 1.0)
    );
    assert_eq!(
        sample(&after, "shequ_http_requests_total", &lookup),
        Some(requests + 5.0)
    );
    assert_eq!(
        sample(&after, "shequ_http_request_duration_seconds_count", &lookup),
        Some(observed + 5.0)
    );
    assert_eq!(
        sample(&after, "shequ_tile_cache_misses_total", &[]),
        Some(misses + 1.0)
    );
    assert_eq!(
        sample(&after, "shequ_tile_cache_hits_total", &[]),
        Some(hits + 1.0)
    );
    assert_eq!(
        sample(&after, "shequ_snapshot_registry_version", &[]),
        Some(1.0)
    );
    for name in [
        "shequ_approvals_total",
        "shequ_logins_failed_total",
        "shequ_tile_cache_tiles",
        "shequ_snapshot_published_timestamp_seconds",
    ] {
        assert!(sample(&after, name, &[]).is_some(), "{name}");
    }
    assert!(
        sample(
            &after,
            "shequ_admission_rejections_total",
            &[("pool", "cpu")]
        )
        .is_some()
    );
    Ok(())
}

/// What is missing to run the GDAL tests, if anything.
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
    let body = fetch(url)?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}").into())
}

/// A URL's body by a plain HTTP/1.0 GET; an answer other than 200 is an error.
fn fetch(url: &str) -> Result<Vec<u8>, Failed> {
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
    Ok(reply[at + 4..].to_vec())
}

/// The tokens of the users the OpenAPI body test writes as: created with the CLI before the
/// server starts.
static TOKENS: std::sync::OnceLock<BTreeMap<&'static str, String>> = std::sync::OnceLock::new();

/// One request by plain HTTP/1.0 (no chunked answers, no client library in the way), with a
/// bearer `token` when not empty and a JSON `body` when given: (status, body).
fn send(url: &str, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let host = url.strip_prefix("http://").unwrap_or(url);
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .expect("write");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read");
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let status = String::from_utf8_lossy(&reply[..at])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, reply.get(at + 4..).unwrap_or_default().to_vec())
}

/// JSON Pointer escaping of one reference token (RFC 6901).
fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The documented request bodies and answers describe what the server really reads and
/// writes: each body below is sent to the server and judged by Ajv (JSON Schema 2020-12,
/// independent of the Rust code that generated the schemas) against the operation's
/// `requestBody` schema. A body the server refuses as malformed (400) must be invalid for the
/// schema, and one it takes (any other answer, e.g. 422 for a well-formed but invalid
/// proposal) valid; every JSON success answer must validate against the documented answer
/// schema, and every refusal against the problem+json schema of its status. A field added to a request struct, or a parser that reads more than its schema
/// says, fails here.
fn openapi_bodies_are_what_the_server_reads(url: &str) -> Result<(), Failed> {
    let doc = fetch_json(&format!("{url}/api/v1/openapi.json"))?;
    let tokens = TOKENS.get().ok_or("no tokens were created")?;
    let (street, reviewer, admin) = (&tokens["street"], &tokens["reviewer"], &tokens["admin"]);
    let proposal: Value = serde_json::from_slice(
        &std::fs::read(
            common::root().join("boundaries/examples/proposals/compliant-split.geojson"),
        )
        .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let community = "442000001002";
    let r = &common::sample().registry;
    let grids: Vec<String> = r
        .grids
        .iter()
        .filter(|g| r.communities[g.community].code == community)
        .map(|g| g.code.clone())
        .collect();
    let (west, east) = grids.split_at(grids.len() / 2);
    let line = serde_json::json!([[113.3760, 22.5200], [113.3790, 22.5350]]);
    let mut no_proposal = proposal.clone();
    no_proposal
        .as_object_mut()
        .ok_or("proposal")?
        .remove("proposal");
    let mut bad_kind = proposal.clone();
    bad_kind["proposal"]["kind"] = serde_json::json!("annex");
    // (method, path, token, body); the id of the stored proposal is filled in once known.
    let mut cases: Vec<(&str, String, &str, Value)> = vec![
        (
            "POST",
            "/api/v1/lookup".into(),
            "",
            serde_json::json!({"points": [[113.3775, 22.5280], [113.0, 22.0, 5.0]]}),
        ),
        (
            "POST",
            "/api/v1/lookup".into(),
            "",
            serde_json::json!({"crs": "gcj02", "points": []}),
        ),
        (
            "POST",
            "/api/v1/lookup".into(),
            "",
            serde_json::json!({"pts": [[113.3775, 22.5280]]}),
        ),
        (
            "POST",
            "/api/v1/lookup".into(),
            "",
            serde_json::json!({"points": "113.3775,22.5280"}),
        ),
        (
            "POST",
            "/api/v1/address".into(),
            "",
            serde_json::json!({"queries": ["石岐街道太平社区"], "limit": 3}),
        ),
        (
            "POST",
            "/api/v1/address".into(),
            "",
            serde_json::json!({"queries": "石岐街道"}),
        ),
        (
            "POST",
            "/api/v1/proposals/validate".into(),
            "",
            proposal.clone(),
        ),
        ("POST", "/api/v1/proposals/validate".into(), "", no_proposal),
        ("POST", "/api/v1/proposals/validate".into(), "", bad_kind),
        (
            "POST",
            "/api/v1/proposals/split".into(),
            "",
            serde_json::json!({"community": community, "groups": [west, east]}),
        ),
        (
            "POST",
            "/api/v1/proposals/split".into(),
            "",
            serde_json::json!({"community": community, "line": {"type": "LineString", "coordinates": line}}),
        ),
        (
            "POST",
            "/api/v1/proposals/split".into(),
            "",
            serde_json::json!({"community": 442000001002u64}),
        ),
        (
            "POST",
            "/api/v1/proposals/split".into(),
            "",
            serde_json::json!({"community": community, "cut": line}),
        ),
        (
            "POST",
            "/api/v1/proposals/grid-groups".into(),
            "",
            serde_json::json!({"community": community, "lines": [line]}),
        ),
        (
            "POST",
            "/api/v1/proposals/grid-groups".into(),
            "",
            serde_json::json!({"community": community}),
        ),
        (
            "POST",
            "/api/v1/proposals/suggest".into(),
            "",
            serde_json::json!({"community": community, "parts": 2, "count": 2}),
        ),
        (
            "POST",
            "/api/v1/proposals/suggest".into(),
            "",
            serde_json::json!({"community": community, "kind": "divide"}),
        ),
        (
            "POST",
            "/api/v1/proposals/suggest".into(),
            "",
            serde_json::json!({"community": community, "weights": {"beauty": 1.0}}),
        ),
        (
            "POST",
            "/api/v1/login".into(),
            "",
            serde_json::json!({"user": "nobody", "password": "not-the-password"}),
        ),
        (
            "POST",
            "/api/v1/login".into(),
            "",
            serde_json::json!({"user": "nobody"}),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            admin,
            serde_json::json!({"name": "viewer1", "role": "viewer", "password": "viewer-password-123"}),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            admin,
            serde_json::json!({"name": "viewer2", "role": "viewer", "password": "viewer-password-123", "admin": true}),
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            admin,
            serde_json::json!({"user": "viewer1", "label": "检查"}),
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            admin,
            serde_json::json!({"label": 7}),
        ),
        ("POST", "/api/v1/proposals".into(), street, proposal),
    ];
    let mut verdicts_of_server = Vec::new();
    let mut answers = Vec::new();
    let mut id = None;
    let mut id_of_stored = None;
    let mut i = 0;
    while i < cases.len() {
        let (method, path, token, body) = &cases[i];
        let (status, reply) = send(url, method, path, token, Some(body));
        verdicts_of_server.push(status);
        if status >= 400 || ((200..300).contains(&status) && !reply.is_empty()) {
            let answer: Value = serde_json::from_slice(&reply)
                .map_err(|e| format!("{method} {path}: {status}, not JSON: {e}"))?;
            if path == "/api/v1/proposals" {
                id = answer["id"].as_i64();
                id_of_stored = id;
            }
            answers.push((i, status, answer));
        }
        i += 1;
        if i == cases.len()
            && let Some(id) = id.take()
        {
            // The stored proposal's procedure, in the order a town would go.
            let at = |what: &str| format!("/api/v1/proposals/{id}/{what}");
            cases.extend([
                (
                    "POST",
                    at("transition"),
                    street.as_str(),
                    serde_json::json!({"to": "consultation"}),
                ),
                (
                    "POST",
                    at("comments"),
                    street.as_str(),
                    serde_json::json!({"text": "居民代表同意", "source": "议事会"}),
                ),
                (
                    "POST",
                    at("comments"),
                    street.as_str(),
                    serde_json::json!({"comment": "缺少 text"}),
                ),
                (
                    "POST",
                    at("transition"),
                    street.as_str(),
                    serde_json::json!({"to": "vote"}),
                ),
                (
                    "POST",
                    at("vote"),
                    street.as_str(),
                    serde_json::json!({"for": 300, "against": 20, "abstain": 5}),
                ),
                (
                    "POST",
                    at("vote"),
                    street.as_str(),
                    serde_json::json!({"for": -1, "against": 0, "abstain": 0}),
                ),
                (
                    "POST",
                    at("transition"),
                    street.as_str(),
                    serde_json::json!({"to": "submitted"}),
                ),
                (
                    "POST",
                    at("transition"),
                    reviewer.as_str(),
                    serde_json::json!({"to": "approved", "effective": 20270101}),
                ),
            ]);
        }
    }
    // Reads, each answer judged against its documented schema.
    let stored = id_of_stored.ok_or("no proposal was stored")?;
    let reads: Vec<(String, &str)> = [
        ("/health", ""),
        ("/api/v1/openapi.json", ""),
        ("/ogc/api", ""),
        ("/api/v1/lookup?lon=113.3775&lat=22.5280", ""),
        ("/api/v1/address?q=%E7%9F%B3%E5%B2%90", ""),
        ("/api/v1/towns/442000001", ""),
        ("/api/v1/grids?limit=2", ""),
        ("/api/v1/audit", ""),
        ("/api/v1/audit.geojson", ""),
        ("/api/v1/versions", ""),
        ("/api/v1/versions/1/diff/1", ""),
        ("/api/v1/communities/442000001002/history", ""),
        ("/api/v1/proposals", street.as_str()),
        (&format!("/api/v1/proposals/{stored}"), street.as_str()),
        ("/api/v1/me", street.as_str()),
        ("/api/v1/users", admin.as_str()),
        ("/api/v1/tokens", admin.as_str()),
        ("/api/v1/log?limit=3", reviewer.as_str()),
        ("/api/v1/log/verify", reviewer.as_str()),
        ("/tiles/catalog", ""),
        ("/tiles/communities.json", ""),
        ("/style.json", ""),
        ("/basemap", ""),
        ("/ogc?f=json", ""),
        ("/ogc/conformance?f=json", ""),
        ("/ogc/collections?f=json", ""),
        ("/ogc/collections/grids?f=json", ""),
        ("/ogc/collections/grids/items?limit=2&f=json", ""),
    ]
    .into_iter()
    .map(|(path, token)| (path.to_owned(), token))
    .collect();
    let mut read_answers = Vec::new();
    for (path, token) in &reads {
        let (status, reply) = send(url, "GET", path, token, None);
        if status != 200 {
            return Err(format!("GET {path}: {status} {}", String::from_utf8_lossy(&reply)).into());
        }
        let answer: Value =
            serde_json::from_slice(&reply).map_err(|e| format!("GET {path}: not JSON: {e}"))?;
        read_answers.push((path.clone(), answer));
    }
    let mut judged = Vec::new();
    for (method, path, _, body) in &cases {
        let pointer = format!(
            "/paths/{}/{}/requestBody/content/application~1json/schema",
            pointer_token(path_template(&doc, path)?),
            method.to_lowercase()
        );
        judged.push(serde_json::json!({"pointer": pointer, "instance": body}));
    }
    for (i, status, answer) in &answers {
        let (method, path, _, _) = &cases[*i];
        let media = if *status >= 400 {
            "application~1problem+json"
        } else {
            "application~1json"
        };
        let pointer = format!(
            "/paths/{}/{}/responses/{status}/content/{media}/schema",
            pointer_token(path_template(&doc, path)?),
            method.to_lowercase()
        );
        judged.push(serde_json::json!({"pointer": pointer, "instance": answer}));
    }
    for (path, answer) in &read_answers {
        let content = format!(
            "/paths/{}/get/responses/200/content",
            pointer_token(path_template(&doc, path)?)
        );
        let media = doc
            .pointer(&content)
            .and_then(Value::as_object)
            .and_then(|c| c.keys().find(|m| m.ends_with("json")))
            .ok_or_else(|| format!("GET {path}: no JSON answer documented"))?;
        judged.push(serde_json::json!({"pointer": format!("{content}/{}/schema", pointer_token(media)), "instance": answer}));
    }
    let input = serde_json::json!({"document": doc, "cases": judged}).to_string();
    let verdicts: Vec<Value> =
        serde_json::from_str(node("schema-validate.mjs", &[], input.as_bytes())?.trim())
            .map_err(|e| e.to_string())?;
    let mut wrong = Vec::new();
    for (k, ((method, path, _, body), status)) in cases.iter().zip(&verdicts_of_server).enumerate()
    {
        let valid = verdicts[k]["valid"] == true;
        if valid == (*status == 400) || *status == 0 || *status == 415 {
            wrong.push(format!(
                "{method} {path} {body}: the server answered {status}, the schema says {}: {}",
                if valid { "valid" } else { "invalid" },
                verdicts[k]["errors"]
            ));
        }
    }
    for ((method, path, _, _), status) in cases.iter().zip(&verdicts_of_server) {
        let documented = format!(
            "/paths/{}/{}/responses/{status}",
            pointer_token(path_template(&doc, path)?),
            method.to_lowercase()
        );
        if doc.pointer(&documented).is_none() {
            wrong.push(format!(
                "{method} {path} answered {status}, which is not documented"
            ));
        }
    }
    for (n, (i, status, _)) in answers.iter().enumerate() {
        let verdict = &verdicts[cases.len() + n];
        if verdict["valid"] != true {
            let (method, path, _, _) = &cases[*i];
            wrong.push(format!(
                "the {status} answer of {method} {path} does not match its schema: {}",
                verdict["errors"]
            ));
        }
    }
    for (n, (path, _)) in read_answers.iter().enumerate() {
        let verdict = &verdicts[cases.len() + answers.len() + n];
        if verdict["valid"] != true {
            wrong.push(format!(
                "the answer of GET {path} does not match its schema: {}",
                verdict["errors"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!(
        "{} bodies judged alike by the server and the schema ({} refused as malformed), {} answers to them and {} to reads valid",
        cases.len(),
        verdicts_of_server.iter().filter(|&&s| s == 400).count(),
        answers.len(),
        read_answers.len()
    );
    // Both kinds were seen: the test would catch a schema that takes or refuses everything.
    assert!(verdicts_of_server.iter().filter(|&&s| s == 400).count() >= 10);
    assert!(answers.len() >= 25, "{} answers", answers.len());
    Ok(())
}

/// The document's path template that `path` (a concrete path) matches.
fn path_template<'a>(doc: &'a Value, path: &str) -> Result<&'a str, Failed> {
    let path = path.split('?').next().unwrap_or(path);
    let concrete: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()
        .ok_or("paths")?
        .keys()
        .find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == concrete.len()
                && parts
                    .iter()
                    .zip(&concrete)
                    .all(|(t, c)| t == c || (t.starts_with('{') && t.ends_with('}')))
                && !(template.contains('{') && doc["paths"].get(path).is_some())
        })
        .map(String::as_str)
        .ok_or_else(|| format!("{path} is not documented").into())
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

/// Adds a street official of 石岐 (442000001), a reviewer and an admin to the database `db` with
/// the CLI, as an operator would before starting the server; their API tokens.
fn users_with_tokens(db: &std::path::Path) -> BTreeMap<&'static str, String> {
    let db = db.to_string_lossy();
    let mut tokens = BTreeMap::new();
    for (name, role) in [
        ("street", "street"),
        ("reviewer", "reviewer"),
        ("admin", "admin"),
    ] {
        let mut args = vec!["user", "add", name, "--role", role, "--db", &db];
        if role == "street" {
            args.extend(["--towns", "442000001"]);
        }
        let added = common::shequ(&args);
        assert!(
            added.status.success(),
            "user add {name}: {}",
            common::text(&added.stderr)
        );
        let token = common::shequ(&[
            "token", "create", "--user", name, "--label", "tests", "--db", &db,
        ]);
        assert!(
            token.status.success(),
            "token for {name}: {}",
            common::text(&token.stderr)
        );
        tokens.insert(name, common::text(&token.stdout).trim().to_owned());
    }
    tokens
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // One at a time: the tests share one server, and the metrics test counts the tile cache's
    // hits and misses, which GDAL's tile reads would move if they ran alongside.
    args.test_threads = Some(1);
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let gdal = missing().filter(|_| !ci);
    let npm = missing_node().filter(|_| !ci);
    let python = missing_python().filter(|_| !ci);
    for what in gdal.iter().chain(&npm).chain(&python) {
        eprintln!("protocol tests ignored: {what} (CI=true requires it)");
    }
    type Test = fn(&str) -> Result<(), Failed>;
    let tests: [(&str, Test, bool); 6] = [
        (
            "oapif_lists_the_collections",
            oapif_lists_the_collections,
            gdal.is_some(),
        ),
        (
            "ogr2ogr_downloads_grids_in_epsg4547",
            ogr2ogr_downloads_grids_in_epsg4547,
            gdal.is_some(),
        ),
        (
            "mvt_reads_the_tile_set",
            mvt_reads_the_tile_set,
            gdal.is_some(),
        ),
        (
            "openapi_validates_and_lists_every_route",
            openapi_validates_and_lists_every_route,
            npm.is_some(),
        ),
        (
            "openapi_bodies_are_what_the_server_reads",
            openapi_bodies_are_what_the_server_reads,
            npm.is_some(),
        ),
        (
            "metrics_parse_and_move",
            metrics_parse_and_move,
            python.is_some(),
        ),
    ];
    // One server for all (the sample city takes seconds to load), started only when a test runs.
    let wanted = tests.iter().any(|(name, _, ignored)| {
        !ignored && args.filter.as_deref().is_none_or(|f| name.contains(f))
    }) && !args.list;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = wanted.then(|| {
        let data = common::copy_boundaries(&common::sample_dir(), dir.path());
        let db = dir.path().join("shequ.db");
        let _ = TOKENS.set(users_with_tokens(&db));
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
        .map(|(name, test, ignored)| {
            let url = url.clone();
            Trial::test(name, move || test(&url)).with_ignored_flag(ignored)
        })
        .collect();
    let status = libtest_mimic::run(&args, trials).exit_code();
    drop(server);
    status
}
