//! Issue 12, part 3: the smaller holes, each reproduced. Login back-off and the failed-login
//! log, the request log line, slow clients (header and request timeouts, idle connections, the
//! connection cap), one server per database, checked counts and areas, names, the public URL
//! instead of `Host`, and internal errors without database text.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use shequ::accounts::{NewUser, Role, credentials};
use shequ::api::{self, ApiConfig, AppState, Clock, ServerLimits};
use shequ::store::Store;
use shequ::store::accounts;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";
const W: &str = "442000901001";

/// A clock the test moves by hand.
#[derive(Default)]
struct ManualClock(AtomicU64);

impl ManualClock {
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

struct Env {
    _dir: tempfile::TempDir,
    db: PathBuf,
    store: Arc<Store>,
    clock: Arc<ManualClock>,
    app: Router,
}

fn env_with(config: &ApiConfig) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db");
    let store = Arc::new(Store::open(&db).expect("store"));
    let clock = Arc::new(ManualClock::default());
    let snapshot = common::load(&common::mini_dir());
    let state = AppState::with_store(snapshot, 1, store.clone(), config).with_clock(clock.clone());
    Env {
        app: api::router(state, config),
        _dir: dir,
        db,
        store,
        clock,
    }
}

fn env() -> Env {
    env_with(&ApiConfig::default())
}

impl Env {
    fn add(&self, name: &str, password: &str) {
        let user = NewUser::new(name, Role::Viewer, &[]).expect("valid user");
        let hash = credentials::hash_password(password).expect("hash");
        self.store
            .write(|tx| accounts::add_user(tx, "cli", &user, Some(&hash)))
            .expect("add user");
    }

    /// A login attempt from `client` (none: no socket, as in-process).
    async fn login(
        &self,
        user: &str,
        password: &str,
        client: Option<&str>,
    ) -> (common::Reply, HeaderMap) {
        let mut request = common::request(
            "POST",
            "/api/v1/login",
            Body::from(json!({"user": user, "password": password}).to_string()),
        );
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        if let Some(ip) = client {
            let addr: SocketAddr = format!("{ip}:40000").parse().expect("address");
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        common::send_with_headers(&self.app, request).await
    }

    fn log_actions(&self) -> Vec<(String, String, Value)> {
        self.store
            .read(|c| shequ::store::log::list(c, 0, 1000))
            .expect("log")
            .into_iter()
            .map(|e| (e.action, e.subject, e.detail))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Logins

#[tokio::test]
async fn five_failed_logins_back_off_the_account_with_retry_after_doubling() {
    let env = env();
    env.add("li", PASSWORD);
    for _ in 0..5 {
        let (r, _) = env.login("li", "wrong password", None).await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    // Locked: even the right password is refused, before it is checked.
    let (r, headers) = env.login("li", PASSWORD, None).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(headers[header::RETRY_AFTER], "60");
    assert!(r.text().contains("try again in 60 s"), "{}", r.text());
    // An unknown name is answered exactly the same way (no hint which names exist).
    for _ in 0..5 {
        env.login("nobody", "wrong password", None).await;
    }
    let (unknown, unknown_headers) = env.login("nobody", PASSWORD, None).await;
    assert_eq!(unknown.status, 429);
    assert_eq!(unknown.body, r.body);
    assert_eq!(unknown_headers[header::RETRY_AFTER], "60");

    env.clock.advance(Duration::from_secs(60));
    let (r, _) = env.login("li", "wrong again", None).await;
    assert_eq!(r.status, 401, "the lock has passed: {}", r.text());
    let (r, headers) = env.login("li", PASSWORD, None).await;
    assert_eq!(r.status, 429);
    assert_eq!(headers[header::RETRY_AFTER], "120", "doubled");

    env.clock.advance(Duration::from_secs(120));
    let (r, _) = env.login("li", PASSWORD, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A success resets the account: four more failures do not lock it.
    for _ in 0..4 {
        assert_eq!(env.login("li", "wrong", None).await.0.status, 401);
    }
    assert_eq!(env.login("li", PASSWORD, None).await.0.status, 200);
}

#[tokio::test]
async fn twenty_failures_from_one_address_back_off_that_address_only() {
    let env = env();
    env.add("li", PASSWORD);
    for i in 0..20 {
        let (r, _) = env
            .login(&format!("guess{i}"), "wrong", Some("10.1.2.3"))
            .await;
        assert_eq!(r.status, 401);
    }
    let (r, headers) = env.login("li", PASSWORD, Some("10.1.2.3")).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(headers[header::RETRY_AFTER], "60");
    let (r, _) = env.login("li", PASSWORD, Some("10.9.9.9")).await;
    assert_eq!(r.status, 200, "another address is not affected");
}

#[tokio::test]
async fn failed_logins_are_in_the_audit_log_but_refused_attempts_are_not() {
    let env = env();
    env.add("li", PASSWORD);
    for _ in 0..5 {
        env.login("li", "wrong", Some("192.0.2.7")).await;
    }
    for _ in 0..50 {
        assert_eq!(
            env.login("li", "wrong", Some("192.0.2.7")).await.0.status,
            429
        );
    }
    env.login("bad\u{202e}name", "wrong", None).await;
    let failed: Vec<_> = env
        .log_actions()
        .into_iter()
        .filter(|(action, ..)| action == "session.login_failed")
        .collect();
    assert_eq!(
        failed.len(),
        6,
        "5 checked failures and the junk name: {failed:?}"
    );
    assert!(
        failed[..5]
            .iter()
            .all(|(_, subject, detail)| subject == "user:li" && detail["client"] == "192.0.2.7")
    );
    assert_eq!(failed[4].2["back_off_started"], true);
    assert_eq!(failed[5].1, "user:(not a valid user name)");
    let verified = env.store.read(shequ::store::log::verify).expect("verify");
    assert!(verified.is_ok(), "the chain holds: {verified:?}");
}

/// A writer that keeps what the log wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's log lines until the guard is dropped.
    fn install() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[tokio::test]
async fn the_request_log_names_the_user_and_the_client_address() {
    let env = env();
    let token = common::user_token(&env.store, "wang", Role::Viewer, &[]);
    let (captured, _default) = Captured::install();
    let mut request = common::request("GET", "/api/v1/me", Body::empty());
    request.headers_mut().insert(
        header::AUTHORIZATION,
        header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 5555))));
    let response = env.app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    common::get(&env.app, "/health").await;
    // A failed login names the user name tried, escaped so that it cannot forge a log line.
    env.add("li", "right password 1");
    let (reply, _) = env.login("li", "wrong password", Some("203.0.113.7")).await;
    assert_eq!(reply.status, 401);
    let (reply, _) = env
        .login(
            "li\n203.0.113.1 admin GET /api/v1/me 200",
            "x",
            Some("203.0.113.7"),
        )
        .await;
    assert_eq!(reply.status, 401);
    let text = captured.text();
    assert!(
        text.lines()
            .any(|l| l.contains("203.0.113.7 li POST /api/v1/login 401")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains(
            "203.0.113.7 li\\n203.0.113.1 admin GET /api/v1/me 200 POST /api/v1/login 401"
        )),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("203.0.113.1")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("203.0.113.9 wang GET /api/v1/me 200")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("- - GET /health 200")),
        "anonymous, no socket: {text}"
    );
}

/// Issue 19: on a socket the client address comes from the connection rather than from an
/// extension inserted into every request. The access log still names it, for a lookup the edge
/// answers itself and for a routed request, and a route that reads it (a failed login records
/// the client) still gets it.
#[tokio::test]
async fn on_a_socket_the_client_address_reaches_the_log_and_the_routes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = env();
    env.add("li", "right password 1");
    let (captured, _default) = Captured::install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve_with(
        listener,
        env.app.clone(),
        ServerLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let body = json!({"user": "li", "password": "wrong password"}).to_string();
    let requests = format!(
        "GET /api/v1/lookup?lon=113.015&lat=22.015 HTTP/1.1\r\nHost: x\r\n\r\n\
         POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(requests.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("HTTP/1.1 401"), "{answer}");
    drop(stop);
    server.await.expect("server task").expect("server");
    let text = captured.text();
    assert!(
        text.lines()
            .any(|l| l.contains("127.0.0.1 - GET /api/v1/lookup 200")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("127.0.0.1 li POST /api/v1/login 401")),
        "{text}"
    );
    let failed: Vec<_> = env
        .log_actions()
        .into_iter()
        .filter(|(action, ..)| action == "session.login_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].2["client"], "127.0.0.1", "{failed:?}");
}

// ---------------------------------------------------------------------------------------------
// Slow clients

/// A real server on loopback within `limits`, stopped when the returned sender is dropped.
async fn socket_server(
    limits: ServerLimits,
    config: ApiConfig,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = common::app_with(&common::mini_dir(), &config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve_with(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the connection (or the generous bound passes) and returns
/// what arrived and how long it took.
fn read_to_close(stream: &mut TcpStream, bound: Duration) -> (String, Duration) {
    stream.set_read_timeout(Some(bound)).expect("timeout");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection within {bound:?}: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_header_and_idle_connections_are_closed_after_the_header_timeout() {
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    };
    let (addr, _stop) = socket_server(limits, ApiConfig::default()).await;
    tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(addr).expect("connect");
        half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nUser-Ag")
            .expect("send");
        let (_, took) = read_to_close(&mut half, Duration::from_secs(20));
        assert!(took < Duration::from_secs(15), "{took:?}");

        let mut idle = TcpStream::connect(addr).expect("connect");
        let (got, _) = read_to_close(&mut idle, Duration::from_secs(20));
        assert_eq!(got, "", "an idle connection is closed without an answer");

        // A keep-alive connection idle after its first answer is closed too.
        let mut kept = TcpStream::connect(addr).expect("connect");
        kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let (got, _) = read_to_close(&mut kept, Duration::from_secs(20));
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    })
    .await
    .expect("client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_finishes_is_answered_503() {
    let config = ApiConfig {
        request_timeout: Duration::from_millis(300),
        ..ApiConfig::default()
    };
    let (addr, _stop) = socket_server(ServerLimits::default(), config).await;
    tokio::task::spawn_blocking(move || {
        let mut slow = TcpStream::connect(addr).expect("connect");
        slow.write_all(
            b"POST /api/v1/proposals/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"type\":",
        )
        .expect("send");
        let (got, _) = read_to_close(&mut slow, Duration::from_secs(20));
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(got.contains("/problems/timeout"), "{got}");
    })
    .await
    .expect("client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let limits = ServerLimits {
        max_connections: 1,
        ..ServerLimits::default()
    };
    let (addr, _stop) = socket_server(limits, ApiConfig::default()).await;
    tokio::task::spawn_blocking(move || {
        let mut first = TcpStream::connect(addr).expect("connect");
        first
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut line = String::new();
        BufReader::new(first.try_clone().expect("clone"))
            .read_line(&mut line)
            .expect("answer");
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        // The first connection is still open (keep-alive): the second waits in the backlog.
        let mut second = TcpStream::connect(addr).expect("connect (kernel backlog)");
        second
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("send");
        second
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        let waiting = second.read(&mut buf);
        assert!(
            matches!(&waiting, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "the second connection must wait while the first is open: {waiting:?}"
        );
        drop(first);
        let (got, _) = read_to_close(&mut second, Duration::from_secs(20));
        assert!(got.starts_with("HTTP/1.1 200"), "served once the first closed: {got}");
    })
    .await
    .expect("client");
}

// ---------------------------------------------------------------------------------------------
// One server per database

/// `shequ serve` on the mini city with the database `db`, once it serves.
fn serve(db: &Path) -> common::Server {
    let server = common::Server::spawn(
        common::shequ_command()
            .args(serve_args(db))
            .env("RUST_LOG", "info"),
    );
    server.address(Duration::from_secs(60));
    server
}

fn serve_args(db: &Path) -> Vec<String> {
    vec![
        "serve".into(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--data".into(),
        common::mini_dir().to_string_lossy().into_owned(),
        "--db".into(),
        db.to_string_lossy().into_owned(),
    ]
}

#[test]
fn a_second_server_on_the_same_database_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db");
    let mut first = serve(&db);

    let args = serve_args(&db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = common::shequ(&args);
    // A database another server holds is unusable input: exit 2.
    assert_eq!(second.status.code(), Some(2));
    let message = common::text(&second.stderr);
    assert!(
        message.contains("already serving the database"),
        "{message}"
    );
    assert!(message.contains(&db.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("pid {}", first.child.id())),
        "{message}"
    );

    // Short command-line writers still work while the server runs.
    let db_arg = db.to_string_lossy();
    let add = common::shequ_with_stdin(
        &[
            "user",
            "add",
            "zhao",
            "--role",
            "viewer",
            "--password-stdin",
            "--db",
            &db_arg,
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(add.status.success(), "{}", common::text(&add.stderr));

    // Once the first server stops, another may start.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status();
    let _ = first.child.wait();
    let _third = serve(&db);
}

// ---------------------------------------------------------------------------------------------
// Counts, areas and names in proposals

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]])
}

/// The mini city's west community split into its two grids, with `south` overriding the first
/// part's properties and `title` the proposal's title.
fn split(south: Value, title: &str) -> Value {
    let mut first = json!({"name": "南社区", "workers": 2, "office_area_m2": 300.0,
                          "office": [113.005, 22.005], "justification": "试点"});
    if let (Some(props), Some(changes)) = (first.as_object_mut(), south.as_object()) {
        for (k, v) in changes {
            props.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "FeatureCollection",
           "proposal": {"kind": "split", "title": title, "parents": [W]},
           "features": [
               {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(113.0, 22.0, 113.01, 22.01)},
                "properties": first},
               {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(113.0, 22.01, 113.01, 22.02)},
                "properties": {"name": "北社区", "workers": 2, "office_area_m2": 300.0,
                               "office": [113.005, 22.015], "justification": "试点"}}]})
}

async fn validate(body: &Value) -> common::Reply {
    let app = common::app(&common::mini_dir());
    common::post_json(&app, "/api/v1/proposals/validate", body.to_string()).await
}

#[tokio::test]
async fn the_plain_split_validates() {
    let r = validate(&split(json!({}), "测试")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn absurd_workers_and_office_areas_are_422_naming_the_field_and_part() {
    // Before: 4294967295 + 40 workers wrapped to 39 in the totals.
    let r = validate(&split(json!({"workers": 4_294_967_295u64}), "t")).await;
    r.assert_problem(
        422,
        "features[0].properties.workers: 4294967295 is implausibly large",
    );
    for (value, needle) in [
        (json!(1e308), "implausibly large"),
        (json!(-5.0), "negative"),
        (json!(2_000_000.0), "implausibly large"),
    ] {
        let r = validate(&split(json!({"office_area_m2": value}), "t")).await;
        r.assert_problem(422, "features[0].properties.office_area_m2");
        r.assert_problem(422, needle);
    }
    let r = validate(&split(json!({"workers": -1}), "t")).await;
    r.assert_problem(422, "features[0].properties.workers");
    let r = validate(&split(json!({"workers": 2.5}), "t")).await;
    r.assert_problem(422, "features[0].properties.workers");
}

#[tokio::test]
async fn names_with_controls_or_bidi_overrides_and_overlong_names_are_refused() {
    for (south, title, needle) in [
        (
            json!({"name": "南\u{0}社区"}),
            "t",
            "features[0].properties.name",
        ),
        (json!({"name": "admin\u{202e}txt.exe"}), "t", "U+202E"),
        (json!({"name": "x".repeat(101)}), "t", "at most 100"),
        (json!({}), "title\u{2067}", "proposal.title"),
        (json!({}), "two\nlines", "proposal.title"),
        (
            json!({"justification": "ok\u{200f}"}),
            "t",
            "features[0].properties.justification",
        ),
    ] {
        validate(&split(south, title))
            .await
            .assert_problem(422, needle);
    }
    let long = "理由\n".repeat(100);
    let r = validate(&split(json!({"justification": long}), "t")).await;
    assert_eq!(r.status, 200, "multi-line justifications are fine");
}

#[test]
fn user_names_and_token_labels_refuse_controls_and_bidi() {
    for name in ["li\u{0}", "li\u{202e}", "li\u{2066}", "li\u{200e}", "li\n"] {
        assert!(NewUser::new(name, Role::Viewer, &[]).is_err(), "{name:?}");
    }
    assert!(NewUser::new(&"x".repeat(65), Role::Viewer, &[]).is_err());
    for label in ["grid\u{202e}orders", "a\u{0}b", "\u{2068}x"] {
        assert!(
            shequ::accounts::check_token_label(label).is_err(),
            "{label:?}"
        );
    }
}

#[test]
fn registry_counts_beyond_the_plausible_maximum_are_refused_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["towns.geojson", "communities.geojson", "grids.geojson"] {
        std::fs::copy(common::mini_dir().join(name), dir.path().join(name)).expect("copy");
    }
    let path = dir.path().join("grids.geojson");
    let mut grids: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    grids["features"][0]["properties"]["households"] = json!(u64::MAX);
    std::fs::write(&path, grids.to_string()).expect("write");
    let e = shequ::Snapshot::load(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("households") && e.contains("implausibly large"),
        "{e}"
    );
}

/// The mini city in a temporary directory with the shipped guidelines, their `[plausible]`
/// maxima replaced by `plausible` (TOML lines).
fn mini_with_plausible(plausible: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["towns.geojson", "communities.geojson", "grids.geojson"] {
        std::fs::copy(common::mini_dir().join(name), dir.path().join(name)).expect("copy");
    }
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("boundaries/guidelines.toml"),
    )
    .expect("shipped guidelines");
    let start = shipped.find("[plausible]").expect("a [plausible] table");
    let end = start + shipped[start..].find("\n[").expect("a table after it");
    let text = format!(
        "{}[plausible]\n{plausible}\n{}",
        &shipped[..start],
        &shipped[end..]
    );
    std::fs::write(dir.path().join("guidelines.toml"), text).expect("write");
    dir
}

#[tokio::test]
async fn the_plausible_maxima_come_from_the_guidelines() {
    // Lowered in guidelines.toml, the maxima refuse what the defaults accept, naming the field,
    // the maximum and where it is set.
    let dir = mini_with_plausible("workers = 50\noffice_area_m2 = 400.0");
    let app = common::app(dir.path());
    let post = |body: Value| {
        let app = app.clone();
        async move { common::post_json(&app, "/api/v1/proposals/validate", body.to_string()).await }
    };
    post(split(json!({"workers": 51}), "t")).await.assert_problem(
        422,
        "features[0].properties.workers: 51 is implausibly large; at most 50 (plausible.workers \
         in guidelines.toml)",
    );
    post(split(json!({"office_area_m2": 401.0}), "t"))
        .await
        .assert_problem(422, "give 0 to 400 m²");
    assert_eq!(post(split(json!({"workers": 50}), "t")).await.status, 200);

    // Boundary data: a count above the configured maximum is a load problem.
    let dir = mini_with_plausible("count = 1");
    let e = shequ::Snapshot::load(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("households") && e.contains("implausibly large; at most 1 (plausible"),
        "{e}"
    );
    // A maximum that is no number of anything is refused with the guidelines.
    let dir = mini_with_plausible("workers = 0");
    let e = shequ::Snapshot::load(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("plausible.workers = 0: must be above 0"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Host header, internal errors

#[tokio::test]
async fn a_forged_host_header_appears_in_no_answer() {
    let app = common::app(&common::mini_dir());
    for uri in ["/tiles/communities.json", "/tiles/catalog", "/style.json"] {
        let mut request = common::request("GET", uri, Body::empty());
        request.headers_mut().insert(
            header::HOST,
            header::HeaderValue::from_static("evil.example"),
        );
        request.headers_mut().insert(
            "x-forwarded-proto",
            header::HeaderValue::from_static("https"),
        );
        let r = common::send(&app, request).await;
        assert_eq!(r.status, 200);
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("evil.example"), "{uri}: {text}");
        assert!(text.contains("http://127.0.0.1:8080/"), "{uri}: {text}");
    }
    let config = ApiConfig {
        public_url: api::parse_public_url("https://map.example.org/").expect("url"),
        ..ApiConfig::default()
    };
    let app = common::app_with(&common::mini_dir(), &config);
    let tj = common::get(&app, "/tiles/towns.json").await.json();
    assert_eq!(
        tj["tiles"][0],
        "https://map.example.org/tiles/towns/{z}/{x}/{y}.mvt"
    );
}

#[test]
fn public_urls_are_checked_and_wildcards_default_to_loopback() {
    for bad in [
        "map.example.org",
        "ftp://x",
        "https://x/path",
        "https://",
        "http://a b",
    ] {
        assert!(api::parse_public_url(bad).is_err(), "{bad}");
    }
    assert_eq!(
        api::default_public_url("0.0.0.0:9000".parse().expect("addr")),
        "http://127.0.0.1:9000"
    );
    assert_eq!(
        api::default_public_url("[::]:9000".parse().expect("addr")),
        "http://[::1]:9000"
    );
    assert_eq!(
        api::default_public_url("10.0.0.5:80".parse().expect("addr")),
        "http://10.0.0.5:80"
    );
}

#[tokio::test]
async fn internal_errors_send_a_reference_not_database_text() {
    let env = env();
    let token = common::user_token(&env.store, "wang", Role::Viewer, &[]);
    // Break the database behind the server's back.
    let conn = rusqlite::Connection::open(&env.db).expect("open");
    conn.execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE sessions; DROP TABLE tokens;")
        .expect("drop");
    let r = common::call(&env.app, "GET", "/api/v1/me", &token, None).await;
    r.assert_problem(500, "reference");
    let text = String::from_utf8_lossy(&r.body).to_lowercase();
    for leak in ["no such table", "tokens", "sqlite", "database:", "select"] {
        assert!(!text.contains(leak), "leaks {leak:?}: {text}");
    }
}
