//! Accounts in the store: users, browser sessions and API tokens.
//!
//! Session ids and tokens are random 32-byte secrets handed out once; only their SHA-256
//! digests are stored, so a copy of the database yields no credential. Every change is written
//! to the audit log in the same transaction. Disabling a user revokes its sessions and tokens
//! in that transaction, and every lookup also requires the user to be enabled, so nothing a
//! disabled user held keeps working, even for a moment.

use serde::Serialize;
use serde_json::json;

use super::sql::{Conn, DbError, Row};
use super::{Store, log};
use crate::accounts::credentials::{self, SecretError};
use crate::accounts::{Actor, InvalidUser, NewUser, Role};
use crate::sql_params;

/// How long a browser session lasts after login.
pub const SESSION_HOURS: i64 = 12;

/// What went wrong with an account operation: the caller's input (named) or the machinery.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] InvalidUser),
    #[error("{0}")]
    Password(String),
    #[error("{0}")]
    Label(String),
    #[error("a user named {0:?} already exists")]
    Duplicate(String),
    #[error("no user named {0:?}")]
    UnknownUser(String),
    #[error("user {0:?} is disabled")]
    Disabled(String),
    #[error("no token with id {0}")]
    UnknownToken(i64),
    /// Login failed. One message for an unknown user, a wrong password, a disabled user and a
    /// user without password, so the answer does not reveal which names exist.
    #[error("wrong user name or password")]
    BadCredentials,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// Stored data that does not parse: the file was edited outside shequ or is damaged.
    #[error("the database holds damaged account data: {0}")]
    Damaged(String),
}

/// A user as listed (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub towns: Vec<String>,
    pub disabled: bool,
    /// Whether the user can log in with a password (else only with API tokens).
    pub password: bool,
    pub created_at: String,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.name.clone(),
            role: self.role,
            towns: self.towns.clone(),
        }
    }
}

/// A session just opened: the secret goes into the cookie, the CSRF token to the page.
#[derive(Debug, Clone)]
pub struct Session {
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: String,
    pub actor: Actor,
}

/// A valid session as a request presents it.
#[derive(Debug, Clone)]
pub struct SessionActor {
    pub actor: Actor,
    pub csrf_token: String,
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub user: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A token just created: `token` is shown once and never stored.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NewToken {
    pub id: i64,
    pub token: String,
    pub label: String,
    pub user: String,
    pub created_at: String,
}

fn parse_role(text: &str) -> Result<Role, AccountError> {
    Role::parse(text).ok_or_else(|| AccountError::Damaged(format!("unknown role {text:?}")))
}

fn parse_towns(user: &str, text: &str) -> Result<Vec<String>, AccountError> {
    serde_json::from_str(text).map_err(|e| {
        AccountError::Damaged(format!(
            "towns of user {user:?} are not a JSON list ({e}): {text}"
        ))
    })
}

const USER_COLUMNS: &str = "name, role, towns, disabled, password_hash IS NOT NULL, created_at";
/// [`USER_COLUMNS`] of `users u` in a join.
const U_COLUMNS: &str =
    "u.name, u.role, u.towns, u.disabled, u.password_hash IS NOT NULL, u.created_at";

type UserRow = (String, String, String, bool, bool, String);

fn user_row(r: &Row) -> Result<UserRow, DbError> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_user(
    (name, role, towns, disabled, password, created_at): UserRow,
) -> Result<User, AccountError> {
    Ok(User {
        role: parse_role(&role)?,
        towns: parse_towns(&name, &towns)?,
        name,
        disabled,
        password,
        created_at,
    })
}

/// Adds a user (with the argon2id hash of its password, or none for a token-only user).
/// `actor` is who acts: a user name, or `cli`.
pub fn add_user(
    tx: &dyn Conn,
    actor: &str,
    user: &NewUser,
    password_hash: Option<&str>,
) -> Result<User, AccountError> {
    if find_user(tx, &user.name)?.is_some() {
        return Err(AccountError::Duplicate(user.name.clone()));
    }
    let towns = json!(user.towns).to_string();
    let created_at = super::now();
    tx.execute(
        "INSERT INTO users (name, role, towns, password_hash, disabled, created_at)
         VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        sql_params![
            &user.name,
            user.role.as_str(),
            &towns,
            password_hash,
            &created_at
        ],
    )?;
    log::append(
        tx,
        actor,
        "user.add",
        &format!("user:{}", user.name),
        &json!({ "role": user.role, "towns": user.towns, "password": password_hash.is_some() }),
    )?;
    Ok(User {
        name: user.name.clone(),
        role: user.role,
        towns: user.towns.clone(),
        disabled: false,
        password: password_hash.is_some(),
        created_at,
    })
}

/// The user named `name`, if any.
pub fn find_user(conn: &dyn Conn, name: &str) -> Result<Option<User>, AccountError> {
    conn.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
        sql_params![name],
    )?
    .map(|r| to_user(user_row(&r)?))
    .transpose()
}

/// Every user, by name.
pub fn users(conn: &dyn Conn) -> Result<Vec<User>, AccountError> {
    conn.query(
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"),
        &[],
    )?
    .iter()
    .map(|r| to_user(user_row(r)?))
    .collect()
}

fn user_id(conn: &dyn Conn, name: &str) -> Result<i64, AccountError> {
    match conn.query_opt("SELECT id FROM users WHERE name = ?1", sql_params![name])? {
        Some(r) => Ok(r.get(0)?),
        None => Err(AccountError::UnknownUser(name.to_owned())),
    }
}

/// Disables `name` and revokes its sessions and tokens, in one transaction. Disabling a
/// disabled user changes nothing and logs nothing.
pub fn disable_user(tx: &dyn Conn, actor: &str, name: &str) -> Result<User, AccountError> {
    let user = find_user(tx, name)?.ok_or_else(|| AccountError::UnknownUser(name.to_owned()))?;
    if user.disabled {
        return Ok(user);
    }
    let id = user_id(tx, name)?;
    let now = super::now();
    tx.execute(
        "UPDATE users SET disabled = 1 WHERE id = ?1",
        sql_params![id],
    )?;
    let sessions = tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        sql_params![id, &now],
    )?;
    let tokens = tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        sql_params![id, &now],
    )?;
    log::append(
        tx,
        actor,
        "user.disable",
        &format!("user:{name}"),
        &json!({ "sessions_revoked": sessions, "tokens_revoked": tokens }),
    )?;
    Ok(User {
        disabled: true,
        ..user
    })
}

/// Sets `name`'s password (an argon2id PHC string) and ends its sessions: whoever knew the old
/// password is logged out.
pub fn set_password(
    tx: &dyn Conn,
    actor: &str,
    name: &str,
    password_hash: &str,
) -> Result<(), AccountError> {
    let id = user_id(tx, name)?;
    tx.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        sql_params![id, password_hash],
    )?;
    let sessions = tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        sql_params![id, &super::now()],
    )?;
    log::append(
        tx,
        actor,
        "user.password",
        &format!("user:{name}"),
        &json!({ "sessions_revoked": sessions }),
    )?;
    Ok(())
}

/// Checks `name` and `password` and opens a session. Slow on purpose (argon2id): run it off
/// the async runtime. The hash is verified outside the store's lock, so a login does not hold
/// up other writes; the session is written only if the user is still enabled and still has the
/// hash that was verified.
pub fn login(store: &Store, name: &str, password: &str) -> Result<Session, AccountError> {
    let stored: Option<String> = store.read(|c| {
        c.query_opt(
            "SELECT password_hash FROM users WHERE name = ?1 AND disabled = 0",
            sql_params![name],
        )?
        .map(|r| r.get::<Option<String>>(0))
        .transpose()
        .map(Option::flatten)
    })?;
    if !credentials::verify_password(password, stored.as_deref()) {
        return Err(AccountError::BadCredentials);
    }
    let Some(verified) = stored else {
        return Err(AccountError::BadCredentials);
    };
    store.write(|tx| open_session(tx, name, &verified))
}

/// Records a failed login in the audit log: the name as sent (when it is a valid user name;
/// anything else could be megabytes of junk), the client address, and whether this failure
/// started a back-off. Logged whether or not the user exists, like the answer to the client.
/// Attempts refused by the back-off are neither checked nor logged, so a flood of attempts
/// cannot turn into a flood of log writes.
pub fn log_failed_login(
    tx: &dyn Conn,
    name: &str,
    client: Option<&str>,
    locked: bool,
) -> Result<(), AccountError> {
    let subject = if crate::accounts::check_name(name).is_ok() {
        format!("user:{name}")
    } else {
        "user:(not a valid user name)".to_owned()
    };
    log::append(
        tx,
        "system",
        "session.login_failed",
        &subject,
        &json!({ "client": client, "back_off_started": locked }),
    )?;
    Ok(())
}

fn open_session(tx: &dyn Conn, name: &str, verified: &str) -> Result<Session, AccountError> {
    let user = find_user(tx, name)?.ok_or(AccountError::BadCredentials)?;
    let row = tx.query_one(
        "SELECT id, password_hash FROM users WHERE name = ?1",
        sql_params![name],
    )?;
    let (id, hash): (i64, Option<String>) = (row.get(0)?, row.get(1)?);
    if user.disabled || hash.as_deref() != Some(verified) {
        return Err(AccountError::BadCredentials);
    }
    let now = time::OffsetDateTime::now_utc();
    let created_at = stamp(now);
    let expires_at = stamp(now + time::Duration::hours(SESSION_HOURS));
    // Expired sessions are of no further use; revoked ones are kept until they expire.
    tx.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        sql_params![&created_at],
    )?;
    let secret = credentials::new_secret()?;
    let csrf_token = credentials::new_secret()?;
    tx.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        sql_params![
            &credentials::digest(&secret),
            id,
            &csrf_token,
            &created_at,
            &expires_at
        ],
    )?;
    log::append(
        tx,
        name,
        "session.login",
        &format!("user:{name}"),
        &json!({ "expires_at": expires_at }),
    )?;
    Ok(Session {
        secret,
        csrf_token,
        expires_at,
        actor: user.actor(),
    })
}

/// A time as stored (RFC 3339, UTC, whole seconds): sorts as text in time order.
fn stamp(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The session whose cookie holds `secret`, if it is open, unexpired and its user enabled.
pub fn session(conn: &dyn Conn, secret: &str) -> Result<Option<SessionActor>, AccountError> {
    let row = conn.query_opt(
        &format!(
            "SELECT {U_COLUMNS}, s.csrf_token
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
               AND u.disabled = 0"
        ),
        sql_params![&credentials::digest(secret), &super::now()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let csrf_token: String = row.get(6)?;
    let user = to_user(user_row(&row)?)?;
    Ok(Some(SessionActor {
        actor: user.actor(),
        csrf_token,
    }))
}

/// Ends the session whose cookie holds `secret`. `false` when it was not open.
pub fn logout(tx: &dyn Conn, secret: &str) -> Result<bool, AccountError> {
    let digest = credentials::digest(secret);
    let row = tx.query_opt(
        "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = ?1 AND s.revoked_at IS NULL",
        sql_params![&digest],
    )?;
    let Some(row) = row else {
        return Ok(false);
    };
    let name: String = row.get(0)?;
    tx.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1",
        sql_params![&digest, &super::now()],
    )?;
    log::append(
        tx,
        &name,
        "session.logout",
        &format!("user:{name}"),
        &json!({}),
    )?;
    Ok(true)
}

/// Creates an API token for `user` (who must exist and be enabled). The token is returned once.
pub fn create_token(
    tx: &dyn Conn,
    actor: &str,
    user: &str,
    label: &str,
) -> Result<NewToken, AccountError> {
    crate::accounts::check_token_label(label).map_err(AccountError::Label)?;
    let found = find_user(tx, user)?.ok_or_else(|| AccountError::UnknownUser(user.to_owned()))?;
    if found.disabled {
        return Err(AccountError::Disabled(user.to_owned()));
    }
    let user_id = user_id(tx, user)?;
    let token = credentials::new_token()?;
    let created_at = super::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO tokens (token_hash, label, user_id, created_at) VALUES (?1, ?2, ?3, ?4)
             RETURNING id",
            sql_params![&credentials::digest(&token), label, user_id, &created_at],
        )?
        .get(0)?;
    log::append(
        tx,
        actor,
        "token.create",
        &format!("token:{id}"),
        &json!({ "user": user, "label": label }),
    )?;
    Ok(NewToken {
        id,
        token,
        label: label.to_owned(),
        user: user.to_owned(),
        created_at,
    })
}

const TOKEN_COLUMNS: &str = "t.id, t.label, u.name, t.created_at, t.revoked_at";

fn token_row(r: &Row) -> Result<TokenInfo, DbError> {
    Ok(TokenInfo {
        id: r.get(0)?,
        label: r.get(1)?,
        user: r.get(2)?,
        created_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

/// Every token (revoked ones too), oldest first.
pub fn tokens(conn: &dyn Conn) -> Result<Vec<TokenInfo>, AccountError> {
    Ok(conn
        .query(
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"
            ),
            &[],
        )?
        .iter()
        .map(token_row)
        .collect::<Result<_, _>>()?)
}

/// Revokes token `id`. Revoking a revoked token changes nothing and logs nothing.
pub fn revoke_token(tx: &dyn Conn, actor: &str, id: i64) -> Result<TokenInfo, AccountError> {
    let info = tx
        .query_opt(
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.id = ?1"
            ),
            sql_params![id],
        )?
        .map(|r| token_row(&r))
        .transpose()?
        .ok_or(AccountError::UnknownToken(id))?;
    if info.revoked_at.is_some() {
        return Ok(info);
    }
    let now = super::now();
    tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1",
        sql_params![id, &now],
    )?;
    log::append(
        tx,
        actor,
        "token.revoke",
        &format!("token:{id}"),
        &json!({ "user": info.user, "label": info.label }),
    )?;
    Ok(TokenInfo {
        revoked_at: Some(now),
        ..info
    })
}

/// The user a token acts for, if the token is known, not revoked and its user enabled.
pub fn token_actor(conn: &dyn Conn, token: &str) -> Result<Option<Actor>, AccountError> {
    conn.query_opt(
        &format!(
            "SELECT {U_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled = 0"
        ),
        sql_params![&credentials::digest(token)],
    )?
    .map(|row| to_user(user_row(&row)?).map(|u| u.actor()))
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    fn add(store: &Store, name: &str, role: Role, towns: &[&str], password: Option<&str>) {
        let towns: Vec<String> = towns.iter().map(|t| t.to_string()).collect();
        let user = NewUser::new(name, role, &towns).unwrap();
        let hash = password.map(|p| credentials::hash_password(p).unwrap());
        store
            .write(|tx| add_user(tx, "cli", &user, hash.as_deref()))
            .unwrap();
    }

    #[test]
    fn sessions_open_resolve_and_close() {
        let (_dir, store) = store();
        add(
            &store,
            "li",
            Role::Street,
            &["442000005"],
            Some("a long password"),
        );
        let s = login(&store, "li", "a long password").unwrap();
        let found = store.read(|c| session(c, &s.secret)).unwrap().unwrap();
        assert_eq!(found.actor.towns, vec!["442000005"]);
        assert_eq!(found.csrf_token, s.csrf_token);
        assert!(store.write(|tx| logout(tx, &s.secret)).unwrap());
        assert!(!store.write(|tx| logout(tx, &s.secret)).unwrap());
        assert!(store.read(|c| session(c, &s.secret)).unwrap().is_none());
        let actions: Vec<String> = store
            .read(|c| log::list(c, 0, 10))
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["user.add", "session.login", "session.logout"]);
    }

    #[test]
    fn login_failures_look_alike() {
        let (_dir, store) = store();
        add(&store, "li", Role::Viewer, &[], Some("a long password"));
        add(&store, "robot", Role::Viewer, &[], None);
        for (name, password) in [
            ("li", "wrong password!"),
            ("nobody", "a long password"),
            ("robot", ""),
        ] {
            let e = login(&store, name, password).unwrap_err();
            assert!(matches!(e, AccountError::BadCredentials), "{name}: {e}");
        }
        store.write(|tx| disable_user(tx, "cli", "li")).unwrap();
        assert!(matches!(
            login(&store, "li", "a long password"),
            Err(AccountError::BadCredentials)
        ));
    }

    #[test]
    fn expired_sessions_do_not_resolve() {
        let (_dir, store) = store();
        add(&store, "li", Role::Viewer, &[], Some("a long password"));
        let s = login(&store, "li", "a long password").unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'",
                    &[],
                )
            })
            .unwrap();
        assert!(store.read(|c| session(c, &s.secret)).unwrap().is_none());
    }

    #[test]
    fn disabling_revokes_everything_at_once() {
        let (_dir, store) = store();
        add(&store, "sys", Role::Viewer, &[], Some("a long password"));
        let s = login(&store, "sys", "a long password").unwrap();
        let t = store
            .write(|tx| create_token(tx, "cli", "sys", "work orders"))
            .unwrap();
        assert!(store.read(|c| token_actor(c, &t.token)).unwrap().is_some());
        // A password change ends sessions but keeps tokens.
        let hash = credentials::hash_password("another long one").unwrap();
        store
            .write(|tx| set_password(tx, "cli", "sys", &hash))
            .unwrap();
        assert!(store.read(|c| session(c, &s.secret)).unwrap().is_none());
        assert!(store.read(|c| token_actor(c, &t.token)).unwrap().is_some());
        let user = store.write(|tx| disable_user(tx, "cli", "sys")).unwrap();
        assert!(user.disabled);
        assert!(store.read(|c| token_actor(c, &t.token)).unwrap().is_none());
        let listed = store.read(tokens).unwrap();
        assert!(listed[0].revoked_at.is_some());
        let last = store.read(|c| log::list(c, 0, 100)).unwrap();
        let last = last.last().unwrap();
        assert_eq!(last.action, "user.disable");
        assert_eq!(last.detail["tokens_revoked"], 1);
        assert!(matches!(
            store.write(|tx| create_token(tx, "cli", "sys", "again")),
            Err(AccountError::Disabled(_))
        ));
        assert_eq!(store.read(log::verify).unwrap(), Ok(5));
    }

    #[test]
    fn tokens_are_stored_only_as_digests() {
        let (_dir, store) = store();
        add(&store, "sys", Role::Viewer, &[], None);
        let t = store
            .write(|tx| create_token(tx, "cli", "sys", "work orders"))
            .unwrap();
        let stored: String = store
            .read(|c| c.query_one("SELECT token_hash FROM tokens", &[])?.get(0))
            .unwrap();
        assert_ne!(stored, t.token);
        assert_eq!(stored, credentials::digest(&t.token));
        let revoked = store.write(|tx| revoke_token(tx, "cli", t.id)).unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(store.read(|c| token_actor(c, &t.token)).unwrap().is_none());
        assert!(matches!(
            store.write(|tx| revoke_token(tx, "cli", 99)),
            Err(AccountError::UnknownToken(99))
        ));
        assert!(matches!(
            store.write(|tx| create_token(tx, "cli", "ghost", "x")),
            Err(AccountError::UnknownUser(_))
        ));
        assert!(matches!(
            store.write(|tx| create_token(tx, "cli", "sys", " ")),
            Err(AccountError::Label(_))
        ));
    }

    #[test]
    fn names_are_unique() {
        let (_dir, store) = store();
        add(&store, "li", Role::Viewer, &[], None);
        let user = NewUser::new("li", Role::Admin, &[]).unwrap();
        assert!(matches!(
            store.write(|tx| add_user(tx, "cli", &user, None)),
            Err(AccountError::Duplicate(_))
        ));
        assert!(matches!(
            store.write(|tx| disable_user(tx, "cli", "ghost")),
            Err(AccountError::UnknownUser(_))
        ));
    }
}
