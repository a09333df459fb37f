//! In-process cost of one `GET /api/v1/lookup` through the whole router (middleware, routing,
//! extractors, lookup, JSON), next to a bare axum router answering the same bytes: the share of
//! a request's CPU that shequ's own layers take, without the kernel and the socket (issue 19;
//! `bench/floor.sh` measures the same over loopback).
//!
//! `cargo bench --bench router`; figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::http::{Request, header};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use shequ::Snapshot;
use shequ::api::{self, ApiConfig, AppState};
use tower::ServiceExt;

const URI: &str = "/api/v1/lookup?lon=113.390000&lat=22.520000";

fn call(rt: &tokio::runtime::Runtime, app: &axum::Router) -> Bytes {
    rt.block_on(async {
        let request = Request::get(URI).body(Body::empty()).unwrap_or_default();
        match app.clone().oneshot(request).await {
            Ok(response) => response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default(),
            Err(never) => match never {},
        }
    })
}

fn router(c: &mut Criterion) {
    // `ROUTER_DIR`: another boundary directory; `tests/fixtures/mini` loads in milliseconds, so
    // callgrind's counts of the request path are not buried under loading the sample city.
    let dir = std::env::var_os("ROUTER_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("boundaries"),
        PathBuf::from,
    );
    let snapshot = match Snapshot::load(&dir) {
        Ok(s) => s,
        Err(e) => panic!("the sample city must load: {e}"),
    };
    // `ROUTER_NO_METRICS=1`: as `serve --no-metrics`, to count what `/metrics` costs a lookup.
    let config = ApiConfig {
        metrics: std::env::var_os("ROUTER_NO_METRICS").is_none(),
        ..ApiConfig::default()
    };
    let shequ = api::router(AppState::with_config(snapshot, &config), &config);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let answer = call(&rt, &shequ);
    assert!(answer.starts_with(b"{"), "shequ answered {answer:?}");
    let floor = axum::Router::new().route(
        "/api/v1/lookup",
        get(move || {
            let body = answer.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    // `ROUTER_LOOP=n` (and `ROUTER_FLOOR=1` for the bare router): n requests and no
    // measurement, for counting instructions under `valgrind --tool=callgrind` (run with two
    // values of n and divide the difference, which leaves out loading the city).
    if let Ok(n) = std::env::var("ROUTER_LOOP") {
        let app = if std::env::var_os("ROUTER_FLOOR").is_some() {
            &floor
        } else {
            &shequ
        };
        for _ in 0..n.parse::<usize>().unwrap_or(0) {
            black_box(call(&rt, app));
        }
        return;
    }
    let mut group = c.benchmark_group("GET /api/v1/lookup in-process");
    group.bench_function("bare axum, fixed answer", |b| {
        b.iter(|| black_box(call(&rt, &floor)))
    });
    group.bench_function("shequ router", |b| b.iter(|| black_box(call(&rt, &shequ))));
    group.finish();
}

criterion_group!(benches, router);
criterion_main!(benches);
