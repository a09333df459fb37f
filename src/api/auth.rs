//! Who is asking: credentials (API token or session cookie) → [`Actor`], login and logout, and
//! the gate that closes reads when the server is configured with `ReadAccess::Token`.
//!
//! Two kinds of credential:
//! - `Authorization: Bearer <token>`, for other systems. A browser never adds this header by
//!   itself, so a bearer request cannot be forged by another site and needs no CSRF token.
//! - The `shequ_session` cookie, set by `POST /api/v1/login`, for the web map. Browsers send
//!   cookies by themselves, so every unsafe request (POST, PUT, PATCH, DELETE) with a cookie must
//!   also carry the session's CSRF token in `X-CSRF-Token`, which another site cannot read. The
//!   cookie is also `SameSite=Strict`; the CSRF token is the second, independent defence.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::ApiJson;
use super::{AppState, LoggedUser};
use crate::accounts::credentials::constant_time_eq;
use crate::accounts::{Actor, Role};
use crate::store::Store;
use crate::store::accounts::{self, AccountError, SESSION_HOURS};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "shequ_session";
/// The header that carries the session's CSRF token on unsafe cookie requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who may read the registry, lookups, tiles, style and audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadAccess {
    /// Anyone (the default: boundaries are public information).
    #[default]
    Open,
    /// Only requests with a valid credential (token or session); `/`, `/web/…`, `/health` and
    /// login stay open so that the web map can load and sign in.
    Token,
}

impl std::str::FromStr for ReadAccess {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(ReadAccess::Open),
            "token" => Ok(ReadAccess::Token),
            other => Err(format!("unknown read access {other:?}: open or token")),
        }
    }
}

/// An authenticated request: the [`Actor`] its credential belongs to. Rejects with 401 (no,
/// unknown, expired or revoked credential, or a disabled user), 403 (cookie without the right
/// CSRF token on an unsafe method) or 503 (no database). Handlers check the actor's role.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let store = store_of(state, "signing in")?;
        let resolved = resolve(&parts.headers, &parts.method, store, true)?;
        LoggedUser::set(&parts.extensions, &resolved.actor.user);
        Ok(Authenticated(resolved.actor))
    }
}

/// Monotonic time for the login back-off, injectable so that tests move it by hand.
pub trait Clock: Send + Sync {
    /// Time since an arbitrary fixed start.
    fn now(&self) -> Duration;
}

/// The real clock: time since the server started.
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// The client's address, when the server runs on a socket (absent in in-process tests).
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The credential a request carries.
enum Credential {
    Bearer(String),
    Session(String),
}

/// A resolved credential: who, and for a session its CSRF token.
struct Resolved {
    actor: Actor,
    csrf_token: Option<String>,
}

/// The store, or 503 saying that `what` needs a database this server does not have.
pub(super) fn store_of<'a>(state: &'a AppState, what: &str) -> Result<&'a Arc<Store>, ApiError> {
    state.store().ok_or_else(|| ApiError::no_database(what))
}

/// The bearer token (preferred: it is what other systems send on purpose) or the session cookie.
fn credential(headers: &HeaderMap) -> Result<Option<Credential>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default();
        return match text.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some(Credential::Bearer(token.trim().to_owned())))
            }
            _ => Err(ApiError::unauthorized(
                "the Authorization header must be `Bearer <token>`",
            )),
        };
    }
    Ok(session_cookie(headers).map(Credential::Session))
}

/// The value of the `shequ_session` cookie, if the request sends one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Turns the request's credential into an actor; with `check_csrf`, unsafe methods with a
/// session cookie must carry the session's CSRF token.
fn resolve(
    headers: &HeaderMap,
    method: &Method,
    store: &Store,
    check_csrf: bool,
) -> Result<Resolved, ApiError> {
    match credential(headers)? {
        None => Err(ApiError::unauthorized(
            "this request needs a credential: send `Authorization: Bearer <token>`, \
             or log in (POST /api/v1/login) for a session cookie",
        )),
        Some(Credential::Bearer(token)) => {
            match store.read(|c| accounts::token_actor(c, &token))? {
                Some(actor) => Ok(Resolved {
                    actor,
                    csrf_token: None,
                }),
                None => Err(ApiError::unauthorized(
                    "the bearer token is unknown or revoked, or its user is disabled",
                )),
            }
        }
        Some(Credential::Session(secret)) => {
            let Some(session) = store.read(|c| accounts::session(c, &secret))? else {
                return Err(ApiError::unauthorized(
                    "the session has expired or ended, or its user is disabled: log in again",
                ));
            };
            if check_csrf && !method.is_safe() {
                check_csrf_header(headers, &session.csrf_token)?;
            }
            Ok(Resolved {
                actor: session.actor,
                csrf_token: Some(session.csrf_token),
            })
        }
    }
}

fn check_csrf_header(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    match headers.get(CSRF_HEADER) {
        None => Err(ApiError::forbidden(
            "this request is authenticated by the session cookie, so it must carry the \
             session's CSRF token (from POST /api/v1/login or GET /api/v1/me) in the \
             X-CSRF-Token header",
        )
        .with_code("auth.csrf", Default::default())),
        Some(sent) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "the X-CSRF-Token header does not match this session's CSRF token",
        )
        .with_code("auth.csrf", Default::default())),
    }
}

impl From<AccountError> for ApiError {
    /// The defaults; handlers map errors whose status depends on where the input came from
    /// (an unknown user in the path is 404, in the body 422) before this.
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(_) | AccountError::Password(_) | AccountError::Label(_) => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    e.to_string(),
                )
            }
            AccountError::Duplicate(_) | AccountError::Disabled(_) => {
                ApiError::conflict(e.to_string())
            }
            AccountError::UnknownUser(_) | AccountError::UnknownToken(_) => {
                ApiError::not_found(e.to_string())
            }
            AccountError::BadCredentials => ApiError::unauthorized(e.to_string())
                .with_code("auth.bad_credentials", Default::default()),
            AccountError::Db(e) => ApiError::from(e),
            AccountError::Secret(_) | AccountError::Damaged(_) => ApiError::internal(e),
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    user: String,
    password: String,
}

/// What the web map learns about who is signed in.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Me {
    user: String,
    role: Role,
    towns: Vec<String>,
    /// `session` or `token`.
    via: &'static str,
    /// The session's CSRF token, to send in `X-CSRF-Token` (sessions only). The page cannot
    /// read the HttpOnly cookie, so after a reload it gets the CSRF token here.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// `POST /api/v1/login` `{"user","password"}`: opens a session, sets the HttpOnly cookie and
/// returns the user with the session's CSRF token. 401 with one message for every failure;
/// 429 with `Retry-After` while the back-off of [`crate::accounts::throttle`] holds for the
/// name or the client address (refused before the password is hashed, and not logged one by
/// one). Each failure that was checked is written to the audit log.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    logged: Option<axum::Extension<LoggedUser>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let store = store_of(&state, "login")?.clone();
    let client = client.map(|c| c.ip().to_string());
    // The request log names the user name tried, failed or not (escaped: it is any text).
    if let Some(axum::Extension(logged)) = &logged {
        logged.name(&body.user.escape_debug().to_string());
    }
    if let Err(wait) = state
        .logins
        .check(&body.user, client.as_deref(), state.clock.now())
    {
        return Err(too_many_logins(wait));
    }
    let user = body.user.clone();
    // argon2id takes tens of milliseconds of CPU and 19 MiB: run it in the bounded hashing
    // pool (429 with Retry-After when it is full).
    let session = match state
        .admission()
        .hashing
        .run({
            let store = store.clone();
            move || accounts::login(&store, &body.user, &body.password)
        })
        .await?
    {
        Ok(session) => {
            state.logins.success(&user);
            session
        }
        Err(AccountError::BadCredentials) => {
            state
                .metrics
                .logins_failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let recorded = state
                .logins
                .failure(&user, client.as_deref(), state.clock.now());
            store.write(|tx| {
                accounts::log_failed_login(tx, &user, client.as_deref(), recorded.locked)
            })?;
            return Err(AccountError::BadCredentials.into());
        }
        Err(e) => return Err(e.into()),
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        session.secret,
        SESSION_HOURS * 3600
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(ApiError::internal)?;
    let me = Me {
        user: session.actor.user,
        role: session.actor.role,
        towns: session.actor.towns,
        via: "session",
        csrf_token: Some(session.csrf_token),
        expires_at: Some(session.expires_at),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// 429 for a login refused by the back-off, with `Retry-After` in whole seconds (rounded up).
fn too_many_logins(wait: Duration) -> ApiError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-logins",
        format!(
            "too many failed logins for this user name or from this address; try again in {seconds} s"
        ),
    )
    .with_code("auth.too_many_logins", Default::default())
    .param("seconds", seconds)
    .retry_after(seconds)
}

/// `POST /api/v1/logout`: ends the session of the cookie (CSRF token required) and clears the
/// cookie. 204. A bearer token is not a session: revoke it with `DELETE /api/v1/tokens/{id}`.
pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = store_of(&state, "logout")?;
    let Some(secret) = session_cookie(&headers) else {
        return Err(ApiError::bad_request(
            "there is no session cookie to end (API tokens are revoked with DELETE /api/v1/tokens/{id})",
        ));
    };
    // Only the session itself may end it: the cookie must be valid and carry its CSRF token.
    let mut cookie_only = headers.clone();
    cookie_only.remove(header::AUTHORIZATION);
    resolve(&cookie_only, &method, store, true)?;
    store.write(|tx| accounts::logout(tx, &secret))?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let clear = HeaderValue::from_str(&clear).map_err(ApiError::internal)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// `GET /api/v1/me`: the signed-in user (and a session's CSRF token).
pub async fn me(
    State(state): State<AppState>,
    method: Method,
    logged: Option<axum::Extension<LoggedUser>>,
    headers: HeaderMap,
) -> Result<Json<Me>, ApiError> {
    let store = store_of(&state, "signing in")?;
    let resolved = resolve(&headers, &method, store, true)?;
    if let Some(axum::Extension(logged)) = logged {
        logged.name(&resolved.actor.user);
    }
    Ok(Json(Me {
        via: if resolved.csrf_token.is_some() {
            "session"
        } else {
            "token"
        },
        user: resolved.actor.user,
        role: resolved.actor.role,
        towns: resolved.actor.towns,
        csrf_token: resolved.csrf_token,
        expires_at: None,
    }))
}

/// Paths that stay open with [`ReadAccess::Token`]: the web map's page and files (it must load
/// to show its login form), the liveness check, and login itself.
fn always_open(path: &str) -> bool {
    path == "/" || path == "/health" || path == "/api/v1/login" || path.starts_with("/web/")
}

/// With [`ReadAccess::Token`]: every request outside [`always_open`] needs a valid credential
/// (401 otherwise). Only who is asking is checked here; handlers of writes check the role and,
/// for cookies, the CSRF token.
pub async fn read_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !always_open(request.uri().path()) {
        let store = match store_of(&state, "reads require a credential") {
            Ok(s) => s,
            Err(e) => return e.into_response(),
        };
        match resolve(request.headers(), request.method(), store, false) {
            Ok(resolved) => LoggedUser::set(request.extensions(), &resolved.actor.user),
            Err(e) => return e.into_response(),
        }
    }
    next.run(request).await
}

/// 403 unless `allowed`, saying who may do `what` and who the caller is.
pub(super) fn require(allowed: bool, actor: &Actor, what: &str, who: &str) -> Result<(), ApiError> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{what} is for {who}; {} has role {}",
            actor.user,
            actor.role.as_str()
        )))
    }
}
