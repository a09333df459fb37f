//! The edge: what every request goes through around the router. The access log, counting for
//! `/metrics`, CORS, compression when the client accepts it, and the time limit.
//!
//! One hand-written service rather than five tower layers (`from_fn` log, `from_fn` metrics per
//! route, tower-http CORS and compression, `from_fn` timeout): each of those boxed its future,
//! cloned what it wrapped on every request, or built a header map, and together they took more
//! instructions than routing, the lookup and its JSON (BENCHMARKS.md, issue 19). Here a request
//! costs one pass:
//! - the time limit arms its timer only when the response is not ready at the first poll, so a
//!   lookup, which answers at once, never registers one (the deadline still counts from the
//!   start of the request);
//! - compression wraps the router only for clients that send `Accept-Encoding`;
//! - CORS is the one fixed policy this server has (any origin, no cookies across origins), so
//!   its headers are constants;
//! - the metrics label is found by matching the path against the route templates
//!   ([`Templates`]) rather than by a layer inside every route.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::compression::{Compression, CompressionLayer, CompressionLevel};

use super::access_log::{AccessLog, Entry};
use super::route_table::Templates;
use super::{ApiError, AppState, LoggedUser, lookup, metrics::Metrics};

/// What the edge needs besides the service it wraps.
pub struct EdgeConfig {
    /// Templates of the routes, for the metrics label.
    pub templates: Templates,
    /// Where requests are counted (`None`: `/metrics` is off and nothing is counted).
    pub metrics: Option<Arc<Metrics>>,
    /// Longest time a request may take, body included (503 `timeout` beyond).
    pub time_limit: Duration,
    /// The access log written by hand ([`AccessLog`]); `None`: through `tracing`.
    pub access_log: Option<AccessLog>,
    /// Where `GET /api/v1/lookup` is answered before the router (`None`: through the router,
    /// e.g. when reads need a token and the router's read gate must see every request).
    pub lookup: Option<AppState>,
}

/// The service around the router (see the module documentation).
#[derive(Clone)]
pub struct Edge<S> {
    plain: S,
    compressed: Compression<S>,
    config: Arc<EdgeConfig>,
}

impl<S: Clone> Edge<S> {
    pub fn new(inner: S, config: EdgeConfig) -> Self {
        // The fastest level: a 10,000-point batch answer (1.2 MB of JSON) compressed at the
        // default level took 18–27 ms longer than sent plain; at the fastest it still shrinks
        // several times over (BENCHMARKS.md, issue 19).
        let compressed = CompressionLayer::new()
            .quality(CompressionLevel::Fastest)
            .layer(inner.clone());
        Edge {
            plain: inner,
            compressed,
            config: Arc::new(config),
        }
    }
}

/// CORS: any origin may read and write with a token (`Authorization`); the session cookie is
/// never sent across origins (no `Allow-Credentials`), so a foreign page cannot act as a user.
const ALLOWED_METHODS: &str = "GET,POST,PUT,PATCH,DELETE";
/// Names [`CSRF_HEADER`](super::CSRF_HEADER) (a test keeps the two equal: consts cannot be concatenated).
const ALLOWED_HEADERS: &str = "content-type,authorization,x-csrf-token";
const VARY: &str = "origin, access-control-request-method, access-control-request-headers";

fn cors_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.append(header::VARY, HeaderValue::from_static(VARY));
}

/// The answer to a CORS preflight (`OPTIONS`): what a cross-origin page may send.
fn preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    response
}

fn timeout(limit: Duration) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        format!(
            "the request took longer than {} s (sending the body included) and was abandoned",
            limit.as_secs_f64()
        ),
    )
    .into_response()
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future, <Compression<S> as Service<Request>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // axum's router is always ready; asked all the same, as tower's contract wants.
        match self.plain.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.compressed.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        // In-process callers may give the client as `ConnectInfo`; on a socket it comes from the
        // connection (`server::CLIENT`) and goes into the request only when a route is called.
        let given = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let connection = given
            .is_none()
            .then(|| super::server::CLIENT.try_with(|c| *c).ok())
            .flatten();
        let record = Record {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            client: given.or(connection).map(|c| c.ip()),
            user: LoggedUser::default(),
            route: self
                .config
                .metrics
                .as_ref()
                .and_then(|_| self.config.templates.find(request.uri().path())),
        };
        let inner = if request.method() == Method::OPTIONS {
            Inner::Answered {
                response: Some(preflight()),
            }
        } else if let Some(response) = self.answer_here(&request) {
            Inner::Answered {
                response: Some(response),
            }
        } else {
            request.extensions_mut().insert(record.user.clone());
            if let Some(client) = connection {
                request.extensions_mut().insert(ConnectInfo(client));
            }
            if request.headers().contains_key(header::ACCEPT_ENCODING) {
                Inner::Compressed {
                    future: Box::pin(self.compressed.call(request)),
                }
            } else {
                Inner::Plain {
                    future: Box::pin(self.plain.call(request)),
                }
            }
        };
        let limit = self.config.time_limit;
        EdgeFuture {
            inner,
            timer: None,
            deadline: started
                .checked_add(limit)
                .map(tokio::time::Instant::from_std),
            limit,
            record: Some(record),
            config: self.config.clone(),
        }
    }
}

impl<S> Edge<S> {
    /// The answer to the hottest request, a single-point lookup, given here rather than through
    /// the router (see [`lookup::answer_current`]), for plain `GET`s only: a client that accepts
    /// compression, a `HEAD` or a past version (`as_of`) goes through the router as before.
    fn answer_here(&self, request: &Request) -> Option<Response> {
        let state = self.config.lookup.as_ref()?;
        if request.method() != Method::GET
            || request.uri().path() != lookup::PATH
            || request.headers().contains_key(header::ACCEPT_ENCODING)
        {
            return None;
        }
        lookup::answer_current(state, request.uri().query())
    }
}

/// What the log line and the metrics need once the request is answered.
struct Record {
    started: Instant,
    method: Method,
    uri: Uri,
    client: Option<IpAddr>,
    user: LoggedUser,
    route: Option<&'static str>,
}

impl Record {
    /// Logs one line at INFO (client address, user or `-`, method, path, status, time) and
    /// counts the request. A single event rather than a span per request: at 40,000 requests a
    /// second, span bookkeeping cost a fifth of the throughput.
    fn finish(self, status: StatusCode, config: &EdgeConfig) {
        let elapsed = self.started.elapsed();
        if let Some(metrics) = &config.metrics {
            metrics.observe(
                self.route.unwrap_or("unmatched"),
                &self.method,
                status.as_u16(),
                elapsed,
            );
        }
        if let Some(log) = &config.access_log {
            log.write(&Entry {
                client: self.client,
                user: self.user.get(),
                method: &self.method,
                path: self.uri.path(),
                status: status.as_u16(),
                micros: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            });
            return;
        }
        tracing::info!(
            "{} {} {} {} {} {:.0} µs",
            Client(self.client),
            self.user.get().unwrap_or("-"),
            self.method,
            self.uri.path(),
            status.as_u16(),
            elapsed.as_secs_f64() * 1e6
        );
    }
}

/// A client address in the log, `-` when unknown (in-process calls).
struct Client(Option<IpAddr>);

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("-"),
        }
    }
}

pin_project! {
    /// The response of one request through the [`Edge`].
    pub struct EdgeFuture<F, C> {
        #[pin]
        inner: Inner<F, C>,
        // Armed at the first poll that finds the response not ready.
        #[pin]
        timer: Option<tokio::time::Sleep>,
        // `None`: a limit too far away to represent, i.e. none.
        deadline: Option<tokio::time::Instant>,
        limit: Duration,
        record: Option<Record>,
        config: Arc<EdgeConfig>,
    }
}

pin_project! {
    #[project = InnerProjection]
    enum Inner<F, C> {
        // Boxed: the router's futures are several hundred bytes (the request waits in them until
        // its route is called), and this future is moved by value through hyper's dispatcher on
        // every request, a lookup answered here included.
        Plain { future: Pin<Box<F>> },
        Compressed { future: Pin<Box<C>> },
        Answered { response: Option<Response> },
    }
}

impl<F, C, B> Inner<F, C>
where
    F: Future<Output = Result<Response, Infallible>>,
    C: Future<Output = Result<Response<B>, Infallible>>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    fn poll_response(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            InnerProjection::Plain { future } => future.as_mut().poll(cx).map(|r| match r {
                Ok(response) => response,
                Err(never) => match never {},
            }),
            InnerProjection::Compressed { future } => future.as_mut().poll(cx).map(|r| match r {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            }),
            InnerProjection::Answered { response } => {
                Poll::Ready(response.take().unwrap_or_default())
            }
        }
    }
}

impl<F, C, B> Future for EdgeFuture<F, C>
where
    F: Future<Output = Result<Response, Infallible>>,
    C: Future<Output = Result<Response<B>, Infallible>>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = match this.inner.poll_response(cx) {
            Poll::Ready(response) => response,
            Poll::Pending => {
                let Some(deadline) = *this.deadline else {
                    return Poll::Pending;
                };
                if this.timer.is_none() {
                    this.timer.set(Some(tokio::time::sleep_until(deadline)));
                }
                match this.timer.as_pin_mut().map(|timer| timer.poll(cx)) {
                    Some(Poll::Ready(())) => timeout(*this.limit),
                    _ => return Poll::Pending,
                }
            }
        };
        cors_headers(&mut response);
        if let Some(record) = this.record.take() {
            record.finish(response.status(), this.config);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CSRF_HEADER;

    #[test]
    fn the_allowed_headers_name_the_csrf_header() {
        assert!(ALLOWED_HEADERS.split(',').any(|h| h == CSRF_HEADER));
    }
}
