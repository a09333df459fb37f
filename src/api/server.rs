//! Running the router on a socket: slow-client limits, a connection cap, clean shutdown.
//!
//! `axum::serve` has no header-read timeout and no connection cap, so one client that opens
//! thousands of connections, or sends half a request line and waits, holds sockets and memory
//! for ever. This loop drives hyper's HTTP/1.1 connections directly:
//! - a **connection cap**: a connection is accepted only while fewer than
//!   [`ServerLimits::max_connections`] are open; beyond that, new clients wait in the kernel's
//!   listen backlog (as with nginx's `worker_connections`), and are refused by the kernel once
//!   the backlog is full;
//! - a **header-read timeout**: a request's head (request line and headers) must arrive within
//!   [`ServerLimits::header_read_timeout`], else the connection is closed (nginx's
//!   `client_header_timeout`). Hyper starts this clock whenever it waits for a request head, so
//!   it also closes keep-alive connections left **idle** that long (nginx's
//!   `keepalive_timeout`);
//! - the whole request, body included, is bounded by the router's request timeout
//!   ([`super::ApiConfig::request_timeout`]).

use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Limits of the socket layer; the defaults follow nginx's where nginx has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open connections at most (nginx: `worker_connections 1024` by default in its shipped
    /// configuration). Each costs a socket and a few KB of buffers.
    pub max_connections: usize,
    /// Time for a request's head to arrive, and for an idle keep-alive connection to send its
    /// next request, before the connection is closed. 10 s: shorter than nginx's 60 s
    /// `client_header_timeout`, since every client of this API is a program or a browser on a
    /// working network, which sends its head at once.
    pub header_read_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

tokio::task_local! {
    /// The client address of the connection being served, for the [edge](super::edge) (the
    /// access log, and `ConnectInfo` for the routes that read it). A task-local rather than a
    /// `ConnectInfo` inserted into every request: the extension map that insert allocated and
    /// dropped was a cost of every lookup (BENCHMARKS.md, issue 19).
    pub(super) static CLIENT: SocketAddr;
}

/// What [`serve`] runs: a service answering requests, cloned for each connection.
pub trait App:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// Serves `app` (a [`Router`](axum::Router), or [`super::service`]) on `listener` with the
/// default [`ServerLimits`] until `shutdown` resolves.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: App,
{
    serve_with(listener, app, ServerLimits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves; then stops accepting,
/// lets in-flight requests finish and closes idle connections.
pub async fn serve_with<S>(
    listener: TcpListener,
    app: S,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: App,
{
    super::admission::lower_rayon_priority();
    super::admission::return_large_blocks();
    // HTTP/1.1 only: browsers and programs reach this API over plain HTTP/1.1 (HTTP/2 comes
    // from a TLS-terminating proxy in front, which speaks HTTP/1.1 to us).
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first, then accept: beyond the cap, clients wait in the listen backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address, for handlers and the request log (as `ConnectInfo` would).
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new)),
        );
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(CLIENT.scope(remote, async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {remote} ended: {e}");
            }
            drop(slot);
        }));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A future that resolves on Ctrl-C or (on Unix) SIGTERM. The handlers are installed when this
/// is called (inside the runtime), not when the future is first polled, so a signal sent right
/// after the server announces itself is never missed.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match streams {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (interrupt, terminate) => {
                    let e = interrupt.err().or(terminate.err());
                    tracing::error!(
                        "cannot listen for signals ({e:?}); falling back to Ctrl-C only"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
