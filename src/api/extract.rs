//! Extractors whose rejections are problem+json like every other API error.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;

use super::error::ApiError;
use super::{AppState, Published};

/// `axum::Json` with problem+json rejections (400 malformed, 413 too large, 415 wrong type).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with problem+json rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The snapshot a request reads: the one published now, or with `?as_of=YYYY-MM-DD` the
/// registry as it stood on that day. Taken once per request, so a request never sees two
/// versions even if an approval swaps the snapshot meanwhile.
pub struct Current(pub Arc<Published>);

impl FromRequestParts<AppState> for Current {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        #[derive(serde::Deserialize)]
        struct AsOf {
            as_of: Option<String>,
        }
        let as_of = axum::extract::Query::<AsOf>::try_from_uri(&parts.uri)
            .map_err(ApiError::from)?
            .0
            .as_of;
        match as_of {
            None => Ok(Current(state.published())),
            Some(text) => {
                let date = parse_date("as_of", &text)?;
                state.published_as_of(date).await.map(Current)
            }
        }
    }
}

/// A calendar date `YYYY-MM-DD`, or a 400 naming the parameter.
pub fn parse_date(name: &str, text: &str) -> Result<time::Date, ApiError> {
    time::Date::parse(text, crate::store::DATE_FORMAT).map_err(|_| {
        ApiError::bad_request(format!(
            "parameter `{name}`: {text:?} is not a date of the form YYYY-MM-DD"
        ))
    })
}
