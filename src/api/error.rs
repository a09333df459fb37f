//! The one error type of the HTTP API, rendered as RFC 9457 problem details
//! (`application/problem+json`: `type`, `title`, `status`, `detail`, and the extension members
//! `code` and `params`).
//!
//! Every problem carries a machine `code` and its `params` (an object, often empty), from which
//! a client says the message in its own language (the web page: `web/messages.js`); `detail` is
//! the same in English. A failure of a general kind has the problem type's slug as its code
//! (`bad-request`, `not-found`, …); one that a user meets and can act on has a dotted code of
//! its own (`procedure.not_allowed`, `split.line_does_not_cross`, `auth.bad_credentials`, …),
//! usually the [`crate::message::Message`] of the domain error it renders.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

use crate::message::Message;

/// An API failure: what kind (a short slug that becomes the problem `type`), and a detail that
/// says what was wrong and where (parameter, field, index, code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {slug}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub slug: &'static str,
    pub detail: String,
    /// The machine code of the message (the slug unless a specific one is given).
    pub code: Cow<'static, str>,
    /// The message's parameters.
    pub params: Map<String, Value>,
    /// Seconds after which the request may be repeated (`Retry-After`, for 429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            slug,
            detail: detail.into(),
            code: Cow::Borrowed(slug),
            params: Map::new(),
            retry_after: None,
        }
    }

    /// A problem of kind `slug` saying `message` (its text as the detail, its code and params).
    pub fn said(status: StatusCode, slug: &'static str, message: Message) -> Self {
        ApiError::new(status, slug, message.text).with_code(message.code, message.params)
    }

    /// The same error with a specific code and parameters.
    pub fn with_code(self, code: &'static str, params: Map<String, Value>) -> Self {
        ApiError {
            code: Cow::Borrowed(code),
            params,
            ..self
        }
    }

    /// The same error with parameter `name` set to `value`.
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// The same error, telling the client to retry after `seconds` (`Retry-After`).
    pub fn retry_after(self, seconds: u64) -> Self {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// 400: the request cannot be parsed or a parameter is out of range.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 404: no such code or route.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 500: the server failed (the store, a worker thread). The detail (SQL, driver or file
    /// text) is logged under a fresh reference id and only the id goes to the client: database
    /// messages name tables, columns and paths that an attacker should not learn, and the id
    /// lets an operator find the log line a user reports.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let reference = reference_id();
        tracing::error!("internal error {reference}: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; the server log has the details under reference {reference}"),
        )
        .param("reference", reference)
    }

    /// 401: no credentials, or ones that are unknown, expired, revoked or of a disabled user.
    /// Rendered with `WWW-Authenticate: Bearer`, as RFC 9110 asks of every 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: authenticated, but the role (or a missing CSRF token) does not allow the request.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 409: the request conflicts with the stored state (a name already taken).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 503: the server runs from files and keeps no database, so nothing can be stored and no
    /// one can sign in.
    pub fn no_database(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-database",
            format!(
                "{what}: this server has no database (it serves boundary files only), so it keeps no accounts or stored data"
            ),
        )
    }

    /// 413: the request is larger than the configured or documented limit.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
    }
}

/// A reference for one internal error: 16 hex digits, random (a counter when the system has no
/// randomness), so that ids do not reveal how many errors happened.
fn reference_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => format!(
            "{:016x}",
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
    }
}

#[derive(Serialize)]
struct ProblemDetails<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    params: &'a Map<String, Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemDetails {
            kind: format!("/problems/{}", self.slug),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: &self.code,
            params: &self.params,
        };
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"shequ\""),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match &rejection {
            // A body that parses but does not match the request schema is malformed input too.
            JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
            other => other.status(),
        };
        let slug = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            _ => "bad-request",
        };
        ApiError::new(status, slug, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

impl ApiError {
    /// 503: the database cannot be reached (stopped, restarting, cut off). Reads of the registry
    /// go on from memory; what needs the database (writes, sign-in, stored data) is refused
    /// until it is back, with this cause rather than an anonymous 500.
    pub fn database_unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!("database unavailable: {detail}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "the database cannot be reached, so nothing can be stored or signed in to now \
             (the registry is still served from memory); try again shortly",
        )
        .retry_after(5)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            ApiError::database_unavailable(e)
        } else {
            ApiError::internal(e)
        }
    }
}

impl From<crate::store::DbError> for ApiError {
    fn from(e: crate::store::DbError) -> Self {
        if e.is_unavailable() {
            ApiError::database_unavailable(e)
        } else {
            ApiError::internal(format!("database: {e}"))
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("database: {e}"))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("worker: {e}"))
    }
}
