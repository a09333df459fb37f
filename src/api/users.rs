//! `/api/v1/users…` and `/api/v1/tokens…`: accounts, for admins only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::auth::{Authenticated, require, store_of};
use super::error::ApiError;
use super::extract::ApiJson;
use crate::accounts::credentials;
use crate::accounts::{NewUser, Role};
use crate::store::accounts::{self, AccountError, TokenInfo, User};

const ADMINS: &str = "admins";

fn unprocessable(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", detail)
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct UserList {
    users: Vec<User>,
}

/// `GET /api/v1/users`.
pub async fn list(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<UserList>, ApiError> {
    require(actor.may_manage_users(), &actor, "listing users", ADMINS)?;
    let store = store_of(&state, "users")?;
    Ok(Json(UserList {
        users: store.read(accounts::users)?,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    name: String,
    role: String,
    #[serde(default)]
    towns: Vec<String>,
    password: String,
}

/// `POST /api/v1/users` `{name, role, towns, password}` → 201 and the user. 422 for an
/// unknown role, a bad name or town code, a town not in the registry or a weak password; 409
/// when the name is taken.
pub async fn add(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<ApiJson<AddUser>, ApiError>,
) -> Result<Response, ApiError> {
    // The role is checked before the body is looked at: a viewer learns nothing from a 400.
    require(actor.may_manage_users(), &actor, "adding users", ADMINS)?;
    let store = store_of(&state, "users")?.clone();
    let ApiJson(body) = body?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e| unprocessable(format!("field `role`: {e}")))?;
    let user =
        NewUser::new(&body.name, role, &body.towns).map_err(|e| unprocessable(format!("{e}")))?;
    let published = state.published();
    let registry = &published.snapshot().registry;
    if let Some(unknown) = user
        .towns
        .iter()
        .find(|t| registry.town_by_code(t).is_none())
    {
        return Err(unprocessable(format!(
            "field `towns`: town {unknown} is not in the registry"
        )));
    }
    credentials::check_new_password(&body.password)
        .map_err(|e| unprocessable(format!("field `password`: {e}")))?;
    let admin = actor.user;
    let added = state
        .admission()
        .hashing
        .run(move || {
            let hash = credentials::hash_password(&body.password).map_err(AccountError::from)?;
            store.write(|tx| accounts::add_user(tx, &admin, &user, Some(&hash)))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// `POST /api/v1/users/{name}/disable`: disables the user and revokes its sessions and tokens.
/// 404 unknown user; 409 for one's own account (an admin must not lock themselves out).
pub async fn disable(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<User>, ApiError> {
    require(actor.may_manage_users(), &actor, "disabling users", ADMINS)?;
    if name == actor.user {
        return Err(ApiError::conflict(format!(
            "{name} cannot disable their own account; another admin must"
        )));
    }
    let store = store_of(&state, "users")?;
    Ok(Json(store.write(|tx| {
        accounts::disable_user(tx, &actor.user, &name)
    })?))
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct TokenList {
    tokens: Vec<TokenInfo>,
}

/// `GET /api/v1/tokens`: every token (id, label, user, created, revoked), never the secrets.
pub async fn tokens(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<TokenList>, ApiError> {
    require(actor.may_manage_users(), &actor, "listing tokens", ADMINS)?;
    let store = store_of(&state, "tokens")?;
    Ok(Json(TokenList {
        tokens: store.read(accounts::tokens)?,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    user: String,
    label: String,
}

/// `POST /api/v1/tokens` `{user, label}` → 201 `{id, token, user, label, created_at}`; the
/// token is shown this once. 422 for an unknown user or a bad label, 409 for a disabled user.
pub async fn create_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<ApiJson<CreateToken>, ApiError>,
) -> Result<Response, ApiError> {
    require(actor.may_manage_users(), &actor, "creating tokens", ADMINS)?;
    let store = store_of(&state, "tokens")?;
    let ApiJson(body) = body?;
    let created = store
        .write(|tx| accounts::create_token(tx, &actor.user, &body.user, &body.label))
        .map_err(|e| match e {
            AccountError::UnknownUser(_) => unprocessable(format!("field `user`: {e}")),
            AccountError::Label(_) => unprocessable(format!("field `label`: {e}")),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /api/v1/tokens/{id}`: revokes the token (again: no change). 404 unknown id.
pub async fn revoke_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<TokenInfo>, ApiError> {
    require(actor.may_manage_users(), &actor, "revoking tokens", ADMINS)?;
    let store = store_of(&state, "tokens")?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("token id {id:?} is not a number")))?;
    Ok(Json(
        store.write(|tx| accounts::revoke_token(tx, &actor.user, id))?,
    ))
}
