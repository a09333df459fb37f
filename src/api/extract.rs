//! Extractors whose rejections are problem+json like every other API error.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::{AppState, Published};

/// `axum::Json` with problem+json rejections (400 malformed, 413 too large, 415 wrong type).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A JSON request body read but not yet parsed: the handler parses it inside its
/// admission-pool job ([`super::admission::Pool::run_json`]), so a request the pool refuses
/// costs reading its bytes, not parsing up to 2 MB of JSON on an async worker. The rejections
/// and the parse errors are those of [`ApiJson`] (415, 413, 400).
pub struct JsonBytes<T> {
    bytes: Bytes,
    of: PhantomData<fn() -> T>,
}

/// `Content-Type: application/json` or `application/<anything>+json`, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

impl<S: Send + Sync, T> FromRequest<S> for JsonBytes<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let slug = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too-large"
                } else {
                    "bad-request"
                };
                ApiError::new(status, slug, rejection.body_text())
            })?;
        Ok(JsonBytes {
            bytes,
            of: PhantomData,
        })
    }
}

impl<T: DeserializeOwned> JsonBytes<T> {
    /// The body parsed, or the 400 that [`ApiJson`] would have answered.
    pub fn parse(&self) -> Result<T, ApiError> {
        axum::Json::<T>::from_bytes(&self.bytes)
            .map(|json| json.0)
            .map_err(ApiError::from)
    }
}

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
        // Most requests name no date: skip parsing the query for them (a third of a lookup's
        // own cost). A percent-escape could spell the name, so any `%` still parses.
        let query = parts.uri.query().unwrap_or_default();
        let as_of = if query.contains("as_of") || query.contains('%') {
            axum::extract::Query::<AsOf>::try_from_uri(&parts.uri)
                .map_err(ApiError::from)?
                .0
                .as_of
        } else {
            None
        };
        match as_of {
            None => Ok(Current(state.published())),
            Some(text) => {
                let date = parse_date("as_of", &text)?;
                // Boxed: building a past snapshot is a large future, and inline it would make
                // every handler's future (moved and allocated per request) as large.
                Box::pin(state.published_as_of(date)).await.map(Current)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/geo+json"));
        assert!(!with("text/json"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
