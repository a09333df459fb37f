//! `GET /api/v1/versions` and `/versions/{a}/diff/{b}`: the registry's history.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::AppState;
use super::auth::store_of;
use super::error::ApiError;
use super::lookup::json_response;
use crate::registry::Level;
use crate::store::registry::{self, Version};

#[derive(Serialize, schemars::JsonSchema)]
pub struct Versions {
    /// The version being served.
    current: Option<i64>,
    versions: Vec<Version>,
}

pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = store_of(&state, "registry versions")?;
    let versions = store.read(registry::versions)?;
    Ok(json_response(&Versions {
        current: state.published().registry_version(),
        versions,
    }))
}

fn version_number(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("version {text:?} is not a version number")))
}

pub async fn diff(
    State(state): State<AppState>,
    Path((a, b)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (a, b) = (version_number(&a)?, version_number(&b)?);
    let store = store_of(&state, "registry versions")?.clone();
    let diff = tokio::task::spawn_blocking(move || {
        store.read(|c| {
            for v in [a, b] {
                if registry::version(c, v)?.is_none() {
                    return Err(ApiError::not_found(format!("no registry version {v}")));
                }
            }
            Ok(registry::diff(c, a, b)?)
        })
    })
    .await??;
    Ok(json_response(&diff))
}

/// The states one feature has had, oldest first.
#[derive(Serialize, schemars::JsonSchema)]
pub struct History {
    code: String,
    states: Vec<registry::FeatureState>,
}

/// `GET /api/v1/{towns,communities,grids}/{code}/history`: every state the feature has had,
/// with the versions (and dates) it held from and until.
pub async fn history(
    State(state): State<AppState>,
    Path((layer, code)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let level: Level = layer
        .parse()
        .map_err(|_| ApiError::not_found(format!("no layer {layer:?}")))?;
    let store = store_of(&state, "registry versions")?.clone();
    let states = tokio::task::spawn_blocking({
        let code = code.clone();
        move || store.read(|c| registry::history(c, level, &code))
    })
    .await??;
    if states.is_empty() {
        return Err(ApiError::not_found(format!(
            "no {} {code} in any version",
            level.name()
        )));
    }
    Ok(json_response(&History { code, states }))
}
