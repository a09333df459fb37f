//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod backend;
pub mod mini;
pub mod survey;
pub mod tiles;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use shequ::Snapshot;
use shequ::api::{self, ApiConfig, AppState};
use tower::ServiceExt;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hand-made mini city of `tests/fixtures/mini`.
pub fn mini_dir() -> PathBuf {
    root().join("tests/fixtures/mini")
}

/// The shipped sample city.
pub fn sample_dir() -> PathBuf {
    root().join("boundaries")
}

/// The sample city, loaded once per test binary.
pub fn sample() -> &'static Snapshot {
    static SAMPLE: OnceLock<Snapshot> = OnceLock::new();
    SAMPLE.get_or_init(|| match Snapshot::load(&sample_dir()) {
        Ok(s) => s,
        Err(e) => panic!("the sample city must load: {e}"),
    })
}

pub fn load(dir: &Path) -> Snapshot {
    match Snapshot::load(dir) {
        Ok(s) => s,
        Err(e) => panic!("{} must load: {e}", dir.display()),
    }
}

/// The real router over `dir`, with the default configuration.
pub fn app(dir: &Path) -> Router {
    app_with(dir, &ApiConfig::default())
}

pub fn app_with(dir: &Path, config: &ApiConfig) -> Router {
    api::router(AppState::with_config(load(dir), config), config)
}

/// A response as the tests look at it.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy), for failure messages.
    pub fn text(&self) -> String {
        text(&self.body)
    }

    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            ),
        }
    }

    /// Asserts a problem+json error with `status` whose detail mentions `needle`.
    pub fn assert_problem(&self, status: u16, needle: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, "application/problem+json");
        let v = self.json();
        assert_eq!(v["status"], status);
        assert!(
            v["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("/problems/")),
            "{v}"
        );
        assert!(v["title"].is_string(), "{v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(needle),
            "detail {detail:?} should mention {needle:?}"
        );
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    send_with_headers(app, request).await.0
}

/// [`send`], also returning the response headers.
pub async fn send_with_headers(
    app: &Router,
    request: Request<Body>,
) -> (Reply, axum::http::HeaderMap) {
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = response.headers().clone();
    let body = match response.into_body().collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) => panic!("cannot read body: {e}"),
    };
    let reply = Reply {
        status,
        content_type,
        body,
    };
    (reply, headers)
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, request("GET", uri, Body::empty())).await
}

pub async fn post_json(app: &Router, uri: &str, body: impl Into<Body>) -> Reply {
    let mut r = request("POST", uri, body.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    send(app, r).await
}

pub fn request(method: &str, uri: &str, body: Body) -> Request<Body> {
    match Request::builder().method(method).uri(uri).body(body) {
        Ok(r) => r,
        Err(e) => panic!("bad test request {uri}: {e}"),
    }
}

/// A command that runs the `shequ` binary under test.
pub fn shequ_command() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_shequ"))
}

/// Runs the `shequ` binary with `args` (stdin empty) and waits for it.
pub fn shequ(args: &[&str]) -> std::process::Output {
    shequ_with_stdin(args, None)
}

/// Runs the `shequ` binary with `args`, `stdin` (if any) written to its standard input.
pub fn shequ_with_stdin(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::process::Stdio;
    let mut child = shequ_command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run shequ: {e}"));
    // Dropping the pipe closes stdin, so a command reading it sees the end.
    if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
        std::io::Write::write_all(&mut pipe, text.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("shequ output")
}

/// Output bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A split of the mini city's west community (113.0–113.01°E, 22.0–22.02°N) into two squares
/// 0.01° wide: 南 from 22.0°N and 北 from `north_from`°N (22.01: along its two grids, valid;
/// less: the parts overlap and cut grids), each with 2 workers and 300 m² of office.
pub fn west_split(north_from: f64) -> Value {
    let square = |y0: f64| {
        serde_json::json!([[
            [113.0, y0],
            [113.01, y0],
            [113.01, y0 + 0.01],
            [113.0, y0 + 0.01],
            [113.0, y0]
        ]])
    };
    let part = |name: &str, y0: f64| {
        serde_json::json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(y0)},
               "properties": {"name": name, "workers": 2, "office_area_m2": 300.0}})
    };
    serde_json::json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": "t", "parents": ["442000901001"]},
           "features": [part("南", 22.0), part("北", north_from)]})
}

/// A small deterministic PRNG (splitmix64) so random tests are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Metres per degree of longitude and latitude on the WGS84 ellipsoid at `lat` — written here,
/// independently of the crate, for hand-computed expected areas.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let (a, f) = (6_378_137.0_f64, 1.0 / 298.257_223_563);
    let e2 = f * (2.0 - f);
    let phi = lat.to_radians();
    let s = 1.0 - e2 * phi.sin() * phi.sin();
    let per_rad = std::f64::consts::PI / 180.0;
    (
        a / s.sqrt() * phi.cos() * per_rad,
        a * (1.0 - e2) / s.powf(1.5) * per_rad,
    )
}

/// Runs a generator binary with `args` plus `--out TEMPDIR` and asserts that every file in
/// `files` (or, when empty, every file of `shipped`) is byte-for-byte what is shipped in
/// `shipped`: generated files are never edited by hand.
pub fn assert_regenerates(exe: &str, args: &[&str], shipped: &Path, files: &[&str]) {
    let out = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let out_arg = out.path().to_string_lossy().into_owned();
    let run = std::process::Command::new(exe)
        .args(args)
        .args(["--out", &out_arg])
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) => panic!("cannot run {exe}: {e}"),
    };
    assert!(
        run.status.success(),
        "{exe}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let names: Vec<String> = if files.is_empty() {
        std::fs::read_dir(shipped)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        files.iter().map(|f| f.to_string()).collect()
    };
    assert!(
        !names.is_empty(),
        "nothing shipped in {}",
        shipped.display()
    );
    for name in names {
        let read =
            |dir: &Path| std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            read(shipped) == read(out.path()),
            "{}/{name} differs from a fresh run of {exe}: regenerate it, never edit it",
            shipped.display()
        );
    }
}

/// Adds a token-only user to `store` (as the command line would) and returns a new API token.
pub fn user_token(
    store: &shequ::store::Store,
    name: &str,
    role: shequ::accounts::Role,
    towns: &[&str],
) -> String {
    use shequ::store::accounts;
    let towns: Vec<String> = towns.iter().map(|t| t.to_string()).collect();
    let user = match shequ::accounts::NewUser::new(name, role, &towns) {
        Ok(u) => u,
        Err(e) => panic!("test user {name}: {e}"),
    };
    let added = store.write(|tx| accounts::add_user(tx, "cli", &user, None));
    if let Err(e) = added {
        panic!("add user {name}: {e}");
    }
    match store.write(|tx| accounts::create_token(tx, "cli", name, "tests")) {
        Ok(t) => t.token,
        Err(e) => panic!("token for {name}: {e}"),
    }
}

/// A request through the router with extra `headers` and a JSON `body`; the reply and the
/// response headers.
pub async fn call_with_headers(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (Reply, axum::http::HeaderMap) {
    let mut r = request(
        method,
        uri,
        body.as_ref()
            .map_or(Body::empty(), |b| Body::from(b.to_string())),
    );
    if body.is_some() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    for (name, value) in headers {
        let name = header::HeaderName::from_bytes(name.as_bytes());
        match (name, header::HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => r.headers_mut().append(n, v),
            _ => panic!("bad test header {value:?}"),
        };
    }
    send_with_headers(app, r).await
}

/// A request through the router with a bearer `token` (none when empty) and a JSON `body`.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let bearer = format!("Bearer {token}");
    let headers: &[(&str, &str)] = if token.is_empty() {
        &[]
    } else {
        &[("authorization", &bearer)]
    };
    call_with_headers(app, method, uri, headers, body).await.0
}

/// A request through the router that must succeed; its JSON body (`null` when empty).
pub async fn call_ok(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let reply = call(app, method, uri, token, body).await;
    assert!(
        reply.status.is_success(),
        "{method} {uri}: {} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    if reply.body.is_empty() {
        Value::Null
    } else {
        reply.json()
    }
}

/// Stores `proposal` as `street`, carries it through consultation and a passing vote to
/// submission, and has `reviewer` approve it; each step must succeed. Returns its id.
pub async fn carry_to_approval(app: &Router, street: &str, reviewer: &str, proposal: Value) -> i64 {
    let created = call_ok(app, "POST", "/api/v1/proposals", street, Some(proposal)).await;
    let Some(id) = created["id"].as_i64() else {
        panic!("no id in {created}");
    };
    for (path, body) in [
        ("transition", serde_json::json!({"to": "consultation"})),
        ("transition", serde_json::json!({"to": "vote"})),
        (
            "vote",
            serde_json::json!({"for": 300, "against": 20, "abstain": 5}),
        ),
        ("transition", serde_json::json!({"to": "submitted"})),
    ] {
        let uri = format!("/api/v1/proposals/{id}/{path}");
        call_ok(app, "POST", &uri, street, Some(body)).await;
    }
    let uri = format!("/api/v1/proposals/{id}/transition");
    let approved = serde_json::json!({"to": "approved"});
    call_ok(app, "POST", &uri, reviewer, Some(approved)).await;
    id
}

/// Copies the boundary files and guidelines of `from` (those it has; not the address register,
/// which approvals do not need and which is slow to load in debug builds) into `into/boundaries`,
/// the directory a store is seeded from; returns that directory.
pub fn copy_boundaries(from: &Path, into: &Path) -> PathBuf {
    let data = into.join("boundaries");
    std::fs::create_dir_all(&data).expect("mkdir");
    for f in [
        "towns.geojson",
        "communities.geojson",
        "grids.geojson",
        "guidelines.toml",
    ] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), data.join(f)).expect("copy");
        }
    }
    data
}

/// A spawned `shequ serve`, killed when dropped (however the test ends), with its stderr lines
/// delivered through `log` by a reader thread, so a test can wait for the line announcing the
/// bound address with a bounded `recv_timeout`.
pub struct Server {
    pub child: std::process::Child,
    pub log: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Spawns `command` with stderr piped into [`Server::log`].
    pub fn spawn(command: &mut std::process::Command) -> Server {
        use std::io::BufRead;
        let mut child = command
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn shequ serve");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, log }
    }
}

impl Server {
    /// Waits (at most `timeout` per line) for the line announcing the bound address and returns
    /// that address (`host:port`); panics if the server exits or stays silent first.
    pub fn address(&self, timeout: std::time::Duration) -> String {
        std::iter::from_fn(|| self.log.recv_timeout(timeout).ok())
            .find_map(|line| {
                line.split("serving on http://")
                    .nth(1)
                    .map(|a| a.trim().to_owned())
            })
            .expect("server announces its address")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether GDAL (`ogr2ogr`) is here: `None` when it is, else what is missing (the GDAL
/// harnesses then report their tests as ignored, unless CI=true).
pub fn gdal_missing() -> Option<String> {
    match std::process::Command::new("ogr2ogr")
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => None,
        _ => Some("ogr2ogr not found".into()),
    }
}

/// Runs a GDAL harness's `trials` (libtest-mimic): reported as ignored when GDAL is missing,
/// except under CI=true, where they run (and fail) so a missing GDAL cannot pass unseen.
pub fn run_gdal_trials(trials: Vec<libtest_mimic::Trial>) -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = gdal_missing().filter(|_| !ci);
    if let Some(what) = &missing {
        eprintln!("GDAL tests ignored: {what}; they need gdal-bin (CI=true requires it)");
    }
    let trials = trials
        .into_iter()
        .map(|t| t.with_ignored_flag(missing.is_some()))
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Sends one HTTP/1.1 request to a running server (with the bearer `token`, none when empty)
/// and returns (status, body).
pub fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let authorization = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}
