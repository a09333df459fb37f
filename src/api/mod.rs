//! The HTTP API (axum): thin handlers over a [`Snapshot`]. Routers are composed per area; every
//! error is an [`ApiError`] rendered as problem+json.

mod address;
mod error;
mod extract;
mod features;
mod health;
mod lookup;
mod server;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use address::{AddressAnswer, MAX_BATCH_QUERIES, answer as address_answer};
pub use error::ApiError;
pub use features::Layer;
pub use lookup::{MAX_BATCH_POINTS, Place, PointPlace};
pub use server::{serve, shutdown_signal};

use crate::Snapshot;

/// Server settings that affect request handling.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        // 10,000 points of ~40 bytes each, with room for pretty-printed JSON.
        ApiConfig {
            body_limit: 2 * 1024 * 1024,
        }
    }
}

/// A snapshot as published by the server, with renderings that are computed once per snapshot.
struct Published {
    snapshot: Snapshot,
    collections: [OnceLock<Bytes>; 3],
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    published: Arc<Published>,
}

impl AppState {
    pub fn new(snapshot: Snapshot) -> Self {
        AppState {
            published: Arc::new(Published {
                snapshot,
                collections: Default::default(),
            }),
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.published.snapshot
    }

    /// The full GeoJSON collection of `layer`, rendered on first use.
    fn collection(&self, layer: Layer) -> Bytes {
        let slot = &self.published.collections[layer as usize];
        slot.get_or_init(|| features::render_all(&self.published.snapshot.registry, layer))
            .clone()
    }
}

/// The complete router: API routes, problem+json fallbacks, body limit, CORS, compression and
/// request logging.
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    let api = Router::new()
        .route(
            "/lookup",
            get(lookup::lookup_one).post(lookup::lookup_batch),
        )
        .route(
            "/address",
            get(address::address_one).post(address::address_batch),
        )
        .route("/towns", get(features::towns))
        .route("/towns/{code}", get(features::town))
        .route("/communities", get(features::communities))
        .route("/communities/{code}", get(features::community))
        .route("/grids", get(features::grids))
        .route("/grids/{code}", get(features::grid));
    Router::new()
        .route("/health", get(health::health))
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not accept that method",
            )
        })
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(CompressionLayer::new())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::CONTENT_TYPE]),
        )
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}
