//! `GET /metrics`: Prometheus text format (version 0.0.4). Requests and their latency by route
//! (the matched path template, never the raw path: `/api/v1/grids/{code}`, not one series per
//! code), method and status; the tile cache; the published snapshot; approvals, failed logins
//! and admission refusals.
//!
//! Cheap on the request path: a series is a few atomics; each worker thread keeps its own map
//! from (route, method, status) to the series, so a request takes no lock once its series has
//! been seen on that thread (the global map is locked only for a new series and at a scrape).
//! The route template comes from the [edge](super::edge), which counts every request.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use axum::http::Method;

use super::AppState;

/// Upper bounds of the latency histogram, in seconds (a lookup takes tens of µs, an approval
/// seconds).
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// One (route, method, status): a count and a latency histogram.
#[derive(Default)]
struct Series {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum of latencies in nanoseconds.
    sum_ns: AtomicU64,
}

impl Series {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

type Key = (&'static str, &'static str, u16);

/// A thread's key for a series: the metrics' id, the route template by address and length (the
/// templates are string constants, so this hashes two words rather than the text), method and
/// status. Two copies of one template text at different addresses give two keys for the same
/// series, which is harmless.
type ThreadKey = (u64, usize, usize, &'static str, u16);

/// The counters of one server (shared by every clone of its state).
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Key, Arc<Series>>>,
    /// Distinguishes servers in one process (tests run several), so a thread's cached series
    /// are never those of another server's metrics.
    id: u64,
    pub tile_hits: AtomicU64,
    pub tile_misses: AtomicU64,
    pub approvals: AtomicU64,
    pub logins_failed: AtomicU64,
    /// Versions committed by another server and published here, built from the served
    /// snapshot and the version's rows ([`super::follow`]) or read whole.
    pub followed_from_change: AtomicU64,
    pub followed_whole: AtomicU64,
}

thread_local! {
    static CACHE: RefCell<foldhash::HashMap<ThreadKey, Arc<Series>>> =
        RefCell::new(foldhash::HashMap::default());
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

impl Metrics {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Metrics {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            ..Metrics::default()
        }
    }

    /// Counts one answered request under its route template (`unmatched` for none).
    pub fn observe(&self, route: &'static str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_name(method);
        let key = (
            self.id,
            route.as_ptr() as usize,
            route.len(),
            method,
            status,
        );
        CACHE.with(|cache| {
            if let Some(s) = cache.borrow().get(&key) {
                s.observe(elapsed);
                return;
            }
            let s = self
                .series
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((route, method, status))
                .or_default()
                .clone();
            s.observe(elapsed);
            cache.borrow_mut().insert(key, s);
        })
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text exposition of every metric.
pub fn render(state: &AppState) -> String {
    let m = &state.metrics;
    let mut out = String::new();
    let series: Vec<(Key, Arc<Series>)> = m
        .series
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    out.push_str("# HELP shequ_http_requests_total HTTP requests answered, by route template, method and status.\n");
    out.push_str("# TYPE shequ_http_requests_total counter\n");
    for ((route, method, status), s) in &series {
        let _ = writeln!(
            out,
            "shequ_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
            escape(route),
            s.count.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP shequ_http_request_duration_seconds Time to answer a request, by route template, method and status.\n");
    out.push_str("# TYPE shequ_http_request_duration_seconds histogram\n");
    for ((route, method, status), s) in &series {
        let labels = format!(
            "route=\"{}\",method=\"{method}\",status=\"{status}\"",
            escape(route)
        );
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&s.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "shequ_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = s.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "shequ_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "shequ_http_request_duration_seconds_sum{{{labels}}} {}",
            s.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "shequ_http_request_duration_seconds_count{{{labels}}} {count}"
        );
    }
    let published = state.published();
    let simple: [(&str, &str, &str, String); 10] = [
        (
            "shequ_tile_cache_hits_total",
            "counter",
            "Tiles answered from the tile cache.",
            m.tile_hits.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_tile_cache_misses_total",
            "counter",
            "Tiles rendered because the cache did not hold them.",
            m.tile_misses.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_tile_cache_tiles",
            "gauge",
            "Tiles held in the tile cache (all snapshot versions).",
            state.cached_tiles().to_string(),
        ),
        (
            "shequ_snapshot_registry_version",
            "gauge",
            "The stored registry version the published snapshot shows (0: served from files).",
            published.registry_version().unwrap_or(0).to_string(),
        ),
        (
            "shequ_snapshot_published_timestamp_seconds",
            "gauge",
            "When the published snapshot was built and swapped in (Unix time).",
            published.published_at().to_string(),
        ),
        (
            "shequ_approvals_total",
            "counter",
            "Proposals approved (each publishes a new snapshot).",
            m.approvals.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_versions_followed_from_change_total",
            "counter",
            "Versions another server committed, built here from the served snapshot and the version's rows.",
            m.followed_from_change.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_versions_followed_whole_total",
            "counter",
            "Versions another server committed, read here whole from the database.",
            m.followed_whole.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_logins_failed_total",
            "counter",
            "Sign-ins refused for a wrong user name or password.",
            m.logins_failed.load(Ordering::Relaxed).to_string(),
        ),
        (
            "shequ_snapshot_grids",
            "gauge",
            "Grids in the published snapshot.",
            published.snapshot().registry.grids.len().to_string(),
        ),
    ];
    for (name, kind, help, value) in simple {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    out.push_str("# HELP shequ_admission_rejections_total Requests refused because an admission pool was full (503 heavy requests, 429 password checks).\n");
    out.push_str("# TYPE shequ_admission_rejections_total counter\n");
    let admission = state.admission();
    for (pool, n) in [
        ("cpu", admission.cpu.refused()),
        ("hash", admission.hashing.refused()),
    ] {
        let _ = writeln!(
            out,
            "shequ_admission_rejections_total{{pool=\"{pool}\"}} {n}"
        );
    }
    out
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
        .into_response()
}
