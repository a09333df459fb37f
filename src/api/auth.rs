//! Placeholder until accounts land: every request is anonymous.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::accounts::Actor;

pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in first",
        ))
    }
}
