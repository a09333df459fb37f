//! `GET /health`: liveness plus what is loaded, for load balancers and operators.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;

#[derive(Serialize, schemars::JsonSchema)]
pub struct Health {
    status: &'static str,
    version: &'static str,
    towns: usize,
    communities: usize,
    grids: usize,
}

pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let published = state.published();
    let registry = &published.snapshot().registry;
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        towns: registry.towns.len(),
        communities: registry.communities.len(),
        grids: registry.grids.len(),
    })
}
