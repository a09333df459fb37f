//! Accounts through the in-process router and the `shequ` binary: login, sessions and CSRF,
//! API tokens, revocation, the role matrix of the accounts and log endpoints, read access by
//! token, and `shequ user|token|log verify`.

mod common;

use std::process::Output;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use common::Reply;
use serde_json::{Value, json};
use shequ::accounts::{NewUser, Role, credentials};
use shequ::api::{self, ApiConfig, AppState, ReadAccess};
use shequ::store::Store;
use shequ::store::accounts;

/// The mini city's only town.
const TOWN: &str = "442000901";
const PASSWORD: &str = "correct horse battery staple";

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    app: Router,
}

fn env_with(read_access: ReadAccess) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(common::backend::open(dir.path()));
    let config = ApiConfig {
        read_access,
        ..ApiConfig::default()
    };
    let snapshot = common::load(&common::mini_dir());
    let state = AppState::with_store(snapshot, 1, store.clone(), &config);
    Env {
        app: api::router(state, &config),
        _dir: dir,
        store,
    }
}

fn env() -> Env {
    env_with(ReadAccess::Open)
}

impl Env {
    /// Adds a user straight into the store (with a password when given).
    fn add(&self, name: &str, role: Role, towns: &[&str], password: Option<&str>) {
        let towns: Vec<String> = towns.iter().map(|t| t.to_string()).collect();
        let user = NewUser::new(name, role, &towns).expect("valid user");
        let hash = password.map(|p| credentials::hash_password(p).expect("hash"));
        self.store
            .write(|tx| accounts::add_user(tx, "cli", &user, hash.as_deref()))
            .expect("add user");
    }

    /// A new API token for `user`.
    fn token(&self, user: &str) -> String {
        self.store
            .write(|tx| accounts::create_token(tx, "cli", user, "tests"))
            .expect("token")
            .token
    }

    /// One user of each role with a token, named after the role: viewer, street (of TOWN),
    /// reviewer, admin. Returns the tokens in that order.
    fn everyone(&self) -> [(Role, String); 4] {
        Role::ALL.map(|role| {
            let towns: &[&str] = if role == Role::Street { &[TOWN] } else { &[] };
            self.add(role.as_str(), role, towns, None);
            (role, self.token(role.as_str()))
        })
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        auth: &[(&str, &str)],
        body: Option<Value>,
    ) -> Full {
        call(&self.app, method, uri, auth, body).await
    }

    /// Logs in and returns the cookie pair (`shequ_session=…`) and the CSRF token.
    async fn login(&self, user: &str, password: &str) -> (String, String) {
        let r = self
            .call(
                "POST",
                "/api/v1/login",
                &[],
                Some(json!({"user": user, "password": password})),
            )
            .await;
        assert_eq!(r.reply.status, 200, "{}", r.text());
        let cookie = r.set_cookie();
        let pair = cookie.split(';').next().unwrap_or_default().to_owned();
        let csrf = r.reply.json()["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (pair, csrf)
    }
}

/// A reply with its headers.
struct Full {
    reply: Reply,
    headers: HeaderMap,
}

impl Full {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.reply.body).into_owned()
    }

    fn set_cookie(&self) -> String {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// A 401 problem that tells the client how to authenticate.
    fn assert_unauthorized(&self, needle: &str) {
        self.reply.assert_problem(401, needle);
        assert_eq!(self.header("www-authenticate"), "Bearer realm=\"shequ\"");
    }
}

/// A request through the router with `headers`, its reply and response headers.
async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Full {
    let (reply, headers) = common::call_with_headers(app, method, uri, headers, body).await;
    Full { reply, headers }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------- login, sessions, CSRF

#[tokio::test]
async fn login_sets_an_http_only_cookie_and_returns_a_csrf_token() {
    let env = env();
    env.add("li", Role::Street, &[TOWN], Some(PASSWORD));
    let r = env
        .call(
            "POST",
            "/api/v1/login",
            &[],
            Some(json!({"user": "li", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    let cookie = r.set_cookie();
    assert!(cookie.starts_with("shequ_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let v = r.reply.json();
    assert_eq!(v["user"], "li");
    assert_eq!(v["role"], "street");
    assert_eq!(v["towns"], json!([TOWN]));
    let csrf = v["csrf_token"].as_str().unwrap_or_default();
    assert_eq!(csrf.len(), 64, "{v}");
    // Only a digest of the session id is stored.
    let secret = cookie
        .split(';')
        .next()
        .and_then(|p| p.strip_prefix("shequ_session="))
        .unwrap_or_default();
    let stored: String = env
        .store
        .read(|c| c.query_one("SELECT id_hash FROM sessions", &[])?.get(0))
        .expect("session row");
    assert_eq!(stored, credentials::digest(secret));
    assert_ne!(stored, secret);
    // The cookie identifies the user; /me gives the CSRF token back after a page reload.
    let pair = format!("shequ_session={secret}");
    let me = env
        .call("GET", "/api/v1/me", &[("cookie", &pair)], None)
        .await;
    assert_eq!(me.reply.status, 200, "{}", me.text());
    let me = me.reply.json();
    assert_eq!(me["user"], "li");
    assert_eq!(me["via"], "session");
    assert_eq!(me["csrf_token"], csrf);
    // The login is in the audit log.
    let log = env
        .store
        .read(|c| shequ::store::log::list(c, 0, 10))
        .expect("log");
    assert_eq!(log.last().map(|e| e.action.as_str()), Some("session.login"));
    assert_eq!(log.last().map(|e| e.actor.as_str()), Some("li"));
}

#[tokio::test]
async fn failed_logins_all_look_the_same() {
    let env = env();
    env.add("li", Role::Viewer, &[], Some(PASSWORD));
    env.add("gone", Role::Viewer, &[], Some(PASSWORD));
    env.add("robot", Role::Viewer, &[], None);
    env.store
        .write(|tx| accounts::disable_user(tx, "cli", "gone"))
        .expect("disable");
    let mut bodies = Vec::new();
    for (user, password) in [
        ("li", "wrong password here"),
        ("nobody", PASSWORD),
        ("gone", PASSWORD),
        ("robot", PASSWORD),
    ] {
        let r = env
            .call(
                "POST",
                "/api/v1/login",
                &[],
                Some(json!({"user": user, "password": password})),
            )
            .await;
        r.assert_unauthorized("wrong user name or password");
        assert!(r.set_cookie().is_empty(), "{user}: no cookie on failure");
        bodies.push(r.reply.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "identical answers");
    // Malformed login requests are 400.
    let r = env
        .call("POST", "/api/v1/login", &[], Some(json!({"user": "li"})))
        .await;
    r.reply.assert_problem(400, "password");
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token_and_bearer_writes_do_not() {
    let env = env();
    env.add("boss", Role::Admin, &[], Some(PASSWORD));
    env.add("a", Role::Viewer, &[], None);
    env.add("b", Role::Viewer, &[], None);
    let (cookie, csrf) = env.login("boss", PASSWORD).await;
    // Reads with the cookie need no CSRF token.
    let r = env
        .call("GET", "/api/v1/users", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    let r = env
        .call(
            "POST",
            "/api/v1/users/a/disable",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    r.reply.assert_problem(403, "X-CSRF-Token");
    let r = env
        .call(
            "POST",
            "/api/v1/users/a/disable",
            &[("cookie", &cookie), ("x-csrf-token", "0123")],
            None,
        )
        .await;
    r.reply.assert_problem(403, "does not match");
    // Another session's CSRF token does not fit this one.
    let (_, other_csrf) = env.login("boss", PASSWORD).await;
    let r = env
        .call(
            "POST",
            "/api/v1/users/a/disable",
            &[("cookie", &cookie), ("x-csrf-token", &other_csrf)],
            None,
        )
        .await;
    r.reply.assert_problem(403, "does not match");
    let users = env.store.read(accounts::users).expect("users");
    assert!(users.iter().all(|u| !u.disabled), "nothing changed on 403");
    let r = env
        .call(
            "POST",
            "/api/v1/users/a/disable",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        )
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    assert_eq!(r.reply.json()["disabled"], true);
    // A bearer token needs no CSRF token.
    let token = env.token("boss");
    let r = env
        .call(
            "POST",
            "/api/v1/users/b/disable",
            &[("authorization", &bearer(&token))],
            None,
        )
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    let log = env
        .store
        .read(|c| shequ::store::log::list(c, 0, 100))
        .expect("log");
    let disables: Vec<_> = log.iter().filter(|e| e.action == "user.disable").collect();
    assert_eq!(disables.len(), 2);
    assert!(disables.iter().all(|e| e.actor == "boss"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let env = env();
    env.add("li", Role::Viewer, &[], Some(PASSWORD));
    let (cookie, csrf) = env.login("li", PASSWORD).await;
    let r = env
        .call("POST", "/api/v1/logout", &[("cookie", &cookie)], None)
        .await;
    r.reply.assert_problem(403, "X-CSRF-Token");
    let r = env
        .call(
            "POST",
            "/api/v1/logout",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        )
        .await;
    assert_eq!(r.reply.status, 204, "{}", r.text());
    assert!(r.set_cookie().contains("Max-Age=0"), "{}", r.set_cookie());
    let r = env
        .call("GET", "/api/v1/me", &[("cookie", &cookie)], None)
        .await;
    r.assert_unauthorized("log in again");
    let r = env
        .call(
            "POST",
            "/api/v1/logout",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        )
        .await;
    r.assert_unauthorized("log in again");
    // A token is not a session.
    let token = env.token("li");
    let r = env
        .call(
            "POST",
            "/api/v1/logout",
            &[("authorization", &bearer(&token))],
            None,
        )
        .await;
    r.reply.assert_problem(400, "no session cookie");
}

#[tokio::test]
async fn bad_expired_revoked_and_disabled_credentials_are_401() {
    let env = env();
    env.add("li", Role::Viewer, &[], Some(PASSWORD));
    env.add("sys", Role::Viewer, &[], None);
    let me = |auth: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let headers: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
            env.call("GET", "/api/v1/me", &headers, None).await
        }
    };
    me(vec![]).await.assert_unauthorized("needs a credential");
    me(vec![("authorization", "Basic bGk6cHc=".into())])
        .await
        .assert_unauthorized("must be `Bearer <token>`");
    me(vec![("authorization", "Bearer ".into())])
        .await
        .assert_unauthorized("must be `Bearer <token>`");
    me(vec![("authorization", bearer("shequ_forged"))])
        .await
        .assert_unauthorized("unknown or revoked");
    me(vec![("cookie", "shequ_session=forged".into())])
        .await
        .assert_unauthorized("log in again");

    // A working token, then revoked.
    let t = env
        .store
        .write(|tx| accounts::create_token(tx, "cli", "sys", "work orders"))
        .expect("token");
    let r = me(vec![("authorization", bearer(&t.token))]).await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    assert_eq!(r.reply.json()["via"], "token");
    assert!(r.reply.json().get("csrf_token").is_none());
    env.store
        .write(|tx| accounts::revoke_token(tx, "cli", t.id))
        .expect("revoke");
    me(vec![("authorization", bearer(&t.token))])
        .await
        .assert_unauthorized("unknown or revoked");

    // An expired session.
    let (cookie, _) = env.login("li", PASSWORD).await;
    assert_eq!(me(vec![("cookie", cookie.clone())]).await.reply.status, 200);
    env.store
        .write(|tx| {
            tx.execute(
                "UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'",
                &[],
            )
        })
        .expect("expire");
    me(vec![("cookie", cookie)])
        .await
        .assert_unauthorized("expired");

    // Disabling a user stops its session and its token at once.
    let (cookie, _) = env.login("li", PASSWORD).await;
    let token = env.token("li");
    assert_eq!(me(vec![("cookie", cookie.clone())]).await.reply.status, 200);
    assert_eq!(
        me(vec![("authorization", bearer(&token))])
            .await
            .reply
            .status,
        200
    );
    env.store
        .write(|tx| accounts::disable_user(tx, "cli", "li"))
        .expect("disable");
    me(vec![("cookie", cookie)])
        .await
        .assert_unauthorized("disabled");
    me(vec![("authorization", bearer(&token))])
        .await
        .assert_unauthorized("disabled");
}

#[tokio::test]
async fn without_a_database_accounts_are_unavailable() {
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_config(common::load(&common::mini_dir()), &config),
        &config,
    );
    let r = call(
        &app,
        "POST",
        "/api/v1/login",
        &[],
        Some(json!({"user": "li", "password": PASSWORD})),
    )
    .await;
    r.reply.assert_problem(503, "no database");
    let r = call(&app, "GET", "/api/v1/users", &[], None).await;
    r.reply.assert_problem(503, "no database");
    let r = call(&app, "GET", "/api/v1/log", &[], None).await;
    r.reply.assert_problem(503, "no database");
    // With token reads and no database, reads say why they cannot be served.
    let config = ApiConfig {
        read_access: ReadAccess::Token,
        ..ApiConfig::default()
    };
    let app = api::router(
        AppState::with_config(common::load(&common::mini_dir()), &config),
        &config,
    );
    let r = call(&app, "GET", "/api/v1/towns", &[], None).await;
    r.reply.assert_problem(503, "no database");
}

// ---------------------------------------------------------------- role matrix

/// Expected status of each role (viewer, street, reviewer, admin) on an endpoint; anonymous
/// requests are always 401.
struct Case {
    method: &'static str,
    uri: String,
    body: Option<Value>,
    expect: [u16; 4],
}

#[tokio::test]
async fn role_matrix_of_the_accounts_and_log_endpoints() {
    let env = env();
    let tokens = env.everyone();
    let mut n = 0;
    // Each call gets fresh targets, so a successful call cannot change the next one's answer.
    let mut cases = |env: &Env| -> Vec<Case> {
        n += 1;
        env.add(&format!("target{n}"), Role::Viewer, &[], None);
        let spare = env
            .store
            .write(|tx| accounts::create_token(tx, "cli", "viewer", "spare"))
            .expect("token")
            .id;
        let admin_only = [403, 403, 403, 200];
        let reviewer_only = [403, 403, 200, 403];
        vec![
            Case {
                method: "GET",
                uri: "/api/v1/users".into(),
                body: None,
                expect: admin_only,
            },
            Case {
                method: "POST",
                uri: "/api/v1/users".into(),
                body: Some(
                    json!({"name": format!("new{n}"), "role": "viewer", "password": PASSWORD}),
                ),
                expect: [403, 403, 403, 201],
            },
            Case {
                method: "POST",
                uri: format!("/api/v1/users/target{n}/disable"),
                body: None,
                expect: admin_only,
            },
            Case {
                method: "GET",
                uri: "/api/v1/tokens".into(),
                body: None,
                expect: admin_only,
            },
            Case {
                method: "POST",
                uri: "/api/v1/tokens".into(),
                body: Some(json!({"user": format!("target{n}"), "label": "x"})),
                expect: [403, 403, 403, 201],
            },
            Case {
                method: "DELETE",
                uri: format!("/api/v1/tokens/{spare}"),
                body: None,
                expect: admin_only,
            },
            Case {
                method: "GET",
                uri: "/api/v1/log".into(),
                body: None,
                expect: reviewer_only,
            },
            Case {
                method: "GET",
                uri: "/api/v1/log/verify".into(),
                body: None,
                expect: reviewer_only,
            },
            Case {
                method: "GET",
                uri: "/api/v1/me".into(),
                body: None,
                expect: [200, 200, 200, 200],
            },
        ]
    };
    let count = cases(&env).len();
    for i in 0..count {
        let case = cases(&env).remove(i);
        let r = env
            .call(case.method, &case.uri, &[], case.body.clone())
            .await;
        r.assert_unauthorized("needs a credential");
    }
    for (r, (role, token)) in tokens.iter().enumerate() {
        for i in 0..count {
            // The POST /tokens case targets a user made by the same call: fresh cases each time.
            let case = cases(&env).remove(i);
            let got = env
                .call(
                    case.method,
                    &case.uri,
                    &[("authorization", &bearer(token))],
                    case.body.clone(),
                )
                .await;
            assert_eq!(
                got.reply.status.as_u16(),
                case.expect[r],
                "{} {} as {}: {}",
                case.method,
                case.uri,
                role.as_str(),
                got.text()
            );
            if got.reply.status == 403 {
                got.reply.assert_problem(403, role.as_str());
            }
        }
    }
    // Every successful write was logged with the admin as actor.
    let log = env
        .store
        .read(|c| shequ::store::log::list(c, 0, 1000))
        .expect("log");
    for action in ["user.add", "user.disable", "token.create", "token.revoke"] {
        assert!(
            log.iter().any(|e| e.action == action && e.actor == "admin"),
            "{action} by admin is logged"
        );
    }
    assert_eq!(
        env.store.read(shequ::store::log::verify).expect("verify"),
        Ok(log.len() as i64)
    );
}

// ---------------------------------------------------------------- users and tokens

#[tokio::test]
async fn adding_users_checks_every_field() {
    let env = env();
    env.add("admin", Role::Admin, &[], None);
    let auth = bearer(&env.token("admin"));
    let add = |body: Value| {
        let env = &env;
        let auth = auth.clone();
        async move {
            env.call(
                "POST",
                "/api/v1/users",
                &[("authorization", &auth)],
                Some(body),
            )
            .await
        }
    };
    let r =
        add(json!({"name": "li", "role": "street", "towns": [TOWN], "password": PASSWORD})).await;
    assert_eq!(r.reply.status, 201, "{}", r.text());
    let v = r.reply.json();
    assert_eq!(v["name"], "li");
    assert_eq!(v["towns"], json!([TOWN]));
    assert!(v.get("password_hash").is_none(), "{v}");
    // The new user can log in with that password.
    let (_, csrf) = env.login("li", PASSWORD).await;
    assert_eq!(csrf.len(), 64);

    let cases = [
        (
            json!({"name": "x", "role": "root", "password": PASSWORD}),
            422,
            "field `role`: unknown role \"root\"",
        ),
        (
            json!({"name": "a b", "role": "viewer", "password": PASSWORD}),
            422,
            "user name \"a b\"",
        ),
        (
            json!({"name": "cli", "role": "viewer", "password": PASSWORD}),
            422,
            "reserved",
        ),
        (
            json!({"name": "x", "role": "street", "password": PASSWORD}),
            422,
            "at least one town",
        ),
        (
            json!({"name": "x", "role": "street", "towns": ["4420009"], "password": PASSWORD}),
            422,
            "\"4420009\" is not 9 digits",
        ),
        (
            json!({"name": "x", "role": "street", "towns": ["442000999"], "password": PASSWORD}),
            422,
            "town 442000999 is not in the registry",
        ),
        (
            json!({"name": "x", "role": "viewer", "towns": [TOWN], "password": PASSWORD}),
            422,
            "role viewer has no jurisdiction",
        ),
        (
            json!({"name": "x", "role": "viewer", "password": "short"}),
            422,
            "field `password`: the password has 5 characters",
        ),
        (
            json!({"name": "li", "role": "viewer", "password": PASSWORD}),
            409,
            "a user named \"li\" already exists",
        ),
        (json!({"name": "x", "role": "viewer"}), 400, "password"),
        (
            json!({"name": "x", "role": "viewer", "password": PASSWORD, "admin": true}),
            400,
            "admin",
        ),
    ];
    for (body, status, needle) in cases {
        add(body).await.reply.assert_problem(status, needle);
    }
    let users = env.store.read(accounts::users).expect("users");
    assert_eq!(users.len(), 2, "only li was added");

    let r = env
        .call(
            "POST",
            "/api/v1/users/ghost/disable",
            &[("authorization", &auth)],
            None,
        )
        .await;
    r.reply.assert_problem(404, "no user named \"ghost\"");
    let r = env
        .call(
            "POST",
            "/api/v1/users/admin/disable",
            &[("authorization", &auth)],
            None,
        )
        .await;
    r.reply.assert_problem(409, "own account");
    let r = env
        .call("GET", "/api/v1/users", &[("authorization", &auth)], None)
        .await;
    let listed = r.reply.json();
    let names: Vec<&str> = listed["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["admin", "li"]);
}

#[tokio::test]
async fn tokens_are_shown_once_and_can_be_revoked() {
    let env = env();
    env.add("admin", Role::Admin, &[], None);
    env.add("sys", Role::Viewer, &[], None);
    env.add("old", Role::Viewer, &[], None);
    env.store
        .write(|tx| accounts::disable_user(tx, "cli", "old"))
        .expect("disable");
    let auth = bearer(&env.token("admin"));
    let h = [("authorization", auth.as_str())];
    let r = env
        .call(
            "POST",
            "/api/v1/tokens",
            &h,
            Some(json!({"user": "sys", "label": "work orders"})),
        )
        .await;
    assert_eq!(r.reply.status, 201, "{}", r.text());
    let created = r.reply.json();
    let token = created["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.starts_with("shequ_"), "{created}");
    let id = created["id"].as_i64().unwrap_or_default();
    // It works, as sys.
    let r = env
        .call(
            "GET",
            "/api/v1/me",
            &[("authorization", &bearer(&token))],
            None,
        )
        .await;
    assert_eq!(r.reply.json()["user"], "sys");
    // Listing never shows the token.
    let r = env.call("GET", "/api/v1/tokens", &h, None).await;
    assert_eq!(r.reply.status, 200);
    assert!(!r.text().contains(&token));
    assert!(r.text().contains("work orders"));

    let bad = [
        (
            json!({"user": "ghost", "label": "x"}),
            422,
            "field `user`: no user named \"ghost\"",
        ),
        (
            json!({"user": "sys", "label": "  "}),
            422,
            "field `label`: the token label is empty",
        ),
        (
            json!({"user": "old", "label": "x"}),
            409,
            "user \"old\" is disabled",
        ),
        (json!({"user": "sys"}), 400, "label"),
    ];
    for (body, status, needle) in bad {
        env.call("POST", "/api/v1/tokens", &h, Some(body))
            .await
            .reply
            .assert_problem(status, needle);
    }

    let r = env
        .call("DELETE", &format!("/api/v1/tokens/{id}"), &h, None)
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    assert!(r.reply.json()["revoked_at"].is_string());
    env.call(
        "GET",
        "/api/v1/me",
        &[("authorization", &bearer(&token))],
        None,
    )
    .await
    .assert_unauthorized("revoked");
    // Revoking again changes nothing.
    let again = env
        .call("DELETE", &format!("/api/v1/tokens/{id}"), &h, None)
        .await;
    assert_eq!(again.reply.status, 200);
    assert_eq!(
        again.reply.json()["revoked_at"],
        r.reply.json()["revoked_at"]
    );
    env.call("DELETE", "/api/v1/tokens/999", &h, None)
        .await
        .reply
        .assert_problem(404, "no token with id 999");
    env.call("DELETE", "/api/v1/tokens/abc", &h, None)
        .await
        .reply
        .assert_problem(400, "token id \"abc\" is not a number");
    let revokes = env
        .store
        .read(|c| shequ::store::log::list(c, 0, 100))
        .expect("log")
        .into_iter()
        .filter(|e| e.action == "token.revoke")
        .count();
    assert_eq!(revokes, 1, "a repeated revoke is not logged again");
}

// ---------------------------------------------------------------- the log

#[tokio::test]
async fn the_log_pages_and_verifies() {
    let env = env();
    env.add("rev", Role::Reviewer, &[], None);
    for i in 0..4 {
        env.add(&format!("u{i}"), Role::Viewer, &[], None);
    }
    let auth = bearer(&env.token("rev"));
    let h = [("authorization", auth.as_str())];
    // rev, u0..u3 added and one token: 6 entries.
    let r = env.call("GET", "/api/v1/log", &h, None).await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    let v = r.reply.json();
    let entries = v["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[0]["action"], "user.add");
    assert_eq!(entries[0]["subject"], "user:rev");
    assert_eq!(entries[5]["action"], "token.create");
    assert_eq!(v["head"]["seq"], 6);
    assert_eq!(v["head"]["hash"], entries[5]["hash"]);
    assert_eq!(entries[1]["prev_hash"], entries[0]["hash"]);
    // No secret in the log.
    assert!(!r.text().contains(auth.trim_start_matches("Bearer ")));

    let r = env
        .call("GET", "/api/v1/log?after=2&limit=3", &h, None)
        .await;
    let seqs: Vec<i64> = r.reply.json()["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["seq"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(seqs, [3, 4, 5]);
    for (query, needle) in [
        ("limit=0", "parameter `limit`: 0 is outside 1…1000"),
        ("limit=1001", "outside 1…1000"),
        ("after=-1", "parameter `after`: -1 is negative"),
        ("limit=many", "limit"),
        ("page=2", "page"),
    ] {
        env.call("GET", &format!("/api/v1/log?{query}"), &h, None)
            .await
            .reply
            .assert_problem(400, needle);
    }

    let r = env.call("GET", "/api/v1/log/verify", &h, None).await;
    assert_eq!(r.reply.status, 200);
    let v = r.reply.json();
    assert_eq!(v["intact"], true);
    assert_eq!(v["entries"], 6);
    // Tamper with entry 3 behind shequ's back.
    env.store
        .write(|tx| tx.execute("UPDATE log SET actor = 'mallory' WHERE seq = 3", &[]))
        .expect("tamper");
    let r = env.call("GET", "/api/v1/log/verify", &h, None).await;
    assert_eq!(r.reply.status, 200);
    let v = r.reply.json();
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken"]["seq"], 3);
    assert!(
        v["broken"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("entry 3 was altered")),
        "{v}"
    );
}

// ---------------------------------------------------------------- read access

#[tokio::test]
async fn token_read_access_gates_every_read_but_the_page_and_health() {
    let env = env_with(ReadAccess::Token);
    env.add("li", Role::Viewer, &[], Some(PASSWORD));
    let token = env.token("li");
    let reads = [
        "/api/v1/towns",
        &format!("/api/v1/towns/{TOWN}"),
        "/api/v1/communities",
        "/api/v1/grids",
        "/api/v1/lookup?lon=113.015&lat=22.015",
        "/api/v1/address?q=x",
        "/api/v1/audit",
        "/api/v1/audit.geojson",
        "/tiles/catalog",
        "/tiles/towns.json",
        "/style.json",
    ];
    for uri in reads {
        env.call("GET", uri, &[], None)
            .await
            .assert_unauthorized("needs a credential");
        env.call(
            "GET",
            uri,
            &[("authorization", "Bearer shequ_forged")],
            None,
        )
        .await
        .assert_unauthorized("unknown or revoked");
        let r = env
            .call("GET", uri, &[("authorization", &bearer(&token))], None)
            .await;
        assert_eq!(r.reply.status, 200, "{uri} with a token: {}", r.text());
    }
    let batch = json!({"points": [[113.015, 22.015]]});
    env.call("POST", "/api/v1/lookup", &[], Some(batch.clone()))
        .await
        .assert_unauthorized("needs a credential");
    // The web map's own pages, health and login stay open; a session then reads like a token.
    for uri in ["/", "/health", "/web/app.js"] {
        let r = env.call("GET", uri, &[], None).await;
        assert_eq!(r.reply.status, 200, "{uri} is open: {}", r.text());
    }
    let (cookie, _) = env.login("li", PASSWORD).await;
    let r = env
        .call("GET", "/api/v1/towns", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    // Reads are reads: a POST lookup with the cookie needs no CSRF token.
    let r = env
        .call(
            "POST",
            "/api/v1/lookup",
            &[("cookie", &cookie)],
            Some(batch),
        )
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());

    // The default keeps reads open.
    let open = env_with(ReadAccess::Open);
    for uri in reads {
        let r = open.call("GET", uri, &[], None).await;
        assert_eq!(
            r.reply.status,
            200,
            "{uri} is open by default: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn cors_allows_credentials_headers_even_with_token_reads() {
    let env = env_with(ReadAccess::Token);
    let r = env
        .call(
            "OPTIONS",
            "/api/v1/tokens/1",
            &[
                ("origin", "https://example.org"),
                ("access-control-request-method", "DELETE"),
                (
                    "access-control-request-headers",
                    "authorization,x-csrf-token,content-type",
                ),
            ],
            None,
        )
        .await;
    assert_eq!(r.reply.status, 200, "{}", r.text());
    let methods = r.header("access-control-allow-methods");
    for m in ["PUT", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = r.header("access-control-allow-headers").to_lowercase();
    for h in ["authorization", "x-csrf-token", "content-type"] {
        assert!(allowed.contains(h), "{allowed}");
    }
}

// ---------------------------------------------------------------- the command line

use common::{shequ_with_stdin as shequ, text};

/// Asserts exit code `code` and that stderr mentions `needle`.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(needle),
        "stderr {:?} should mention {needle:?}",
        text(&out.stderr)
    );
}

#[test]
fn cli_adds_lists_and_disables_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sub/shequ.db");
    let db = db.to_string_lossy().into_owned();
    let out = shequ(
        &[
            "user",
            "add",
            "li",
            "--role",
            "street",
            "--towns",
            "442000005,442000001",
            "--password-stdin",
            "--db",
            &db,
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("user li added (street, towns 442000001,442000005)"));
    // A generated password is printed once, alone on stdout, and works.
    let out = shequ(
        &["user", "add", "boss", "--role", "admin", "--db", &db],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated = text(&out.stdout).trim().to_owned();
    assert_eq!(generated.chars().count(), 20, "{generated:?}");
    assert!(text(&out.stderr).contains("shown only this once"));
    let store = Store::open(std::path::Path::new(&db)).expect("store");
    assert!(accounts::login(&store, "boss", &generated).is_ok());
    assert!(accounts::login(&store, "li", PASSWORD).is_ok());

    for (args, stdin, needle) in [
        (vec!["--role", "root"], None, "unknown role \"root\""),
        (
            vec!["--role", "street", "--towns", "4420"],
            None,
            "town code \"4420\" is not 9 digits",
        ),
        (vec!["--role", "street"], None, "at least one town"),
        (
            vec!["--role", "admin", "--towns", "442000005"],
            None,
            "role admin has no jurisdiction",
        ),
        (
            vec!["--role", "admin", "--password-stdin"],
            Some("short\n"),
            "password from stdin: the password has 5 characters",
        ),
    ] {
        let mut all = vec!["user", "add", "x"];
        all.extend(args);
        all.extend(["--db", &db]);
        assert_fails(&shequ(&all, stdin), 2, needle);
    }
    assert_fails(
        &shequ(
            &["user", "add", "li", "--role", "viewer", "--db", &db],
            None,
        ),
        2,
        "a user named \"li\" already exists",
    );
    assert_fails(
        &shequ(
            &["user", "add", "a b", "--role", "viewer", "--db", &db],
            None,
        ),
        2,
        "user name \"a b\"",
    );

    let out = shequ(&["user", "list", "--db", &db], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("boss") && l.contains("admin") && l.contains("active")),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("li") && l.contains("442000001,442000005")),
        "{listing}"
    );

    let out = shequ(&["user", "disable", "li", "--db", &db], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("user li disabled"));
    assert!(accounts::login(&store, "li", PASSWORD).is_err());
    let out = shequ(&["user", "disable", "li", "--db", &db], None);
    assert!(text(&out.stdout).contains("already disabled"));
    let out = shequ(&["user", "list", "--db", &db], None);
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with("li") && l.contains("disabled"))
    );
    assert_fails(
        &shequ(&["user", "disable", "ghost", "--db", &db], None),
        2,
        "no user named \"ghost\"",
    );
    // A new password: the old one stops working, the boss's session ends.
    let session = accounts::login(&store, "boss", &generated).expect("login");
    let out = shequ(
        &["user", "password", "boss", "--password-stdin", "--db", &db],
        Some("a brand new password\r\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("password of boss set"));
    assert!(accounts::login(&store, "boss", &generated).is_err());
    assert!(accounts::login(&store, "boss", "a brand new password").is_ok());
    assert!(
        store
            .read(|c| accounts::session(c, &session.secret))
            .expect("lookup")
            .is_none()
    );
    assert_fails(
        &shequ(&["user", "password", "ghost", "--db", &db], None),
        2,
        "no user named \"ghost\"",
    );
    assert_fails(
        &shequ(
            &["user", "password", "boss", "--password-stdin", "--db", &db],
            Some("tiny"),
        ),
        2,
        "at least 12",
    );
    // Log entries name the command line as actor.
    let log = store
        .read(|c| shequ::store::log::list(c, 0, 100))
        .expect("log");
    let cli: Vec<&str> = log
        .iter()
        .filter(|e| e.actor == "cli")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        cli,
        ["user.add", "user.add", "user.disable", "user.password"]
    );
    // Commands other than `user add` do not create a database at a mistyped path.
    let missing = dir.path().join("missing.db");
    let missing = missing.to_string_lossy().into_owned();
    assert_fails(
        &shequ(&["user", "list", "--db", &missing], None),
        2,
        "no database at",
    );
    assert!(!std::path::Path::new(&missing).exists());
}

#[test]
fn cli_creates_and_revokes_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db").to_string_lossy().into_owned();
    let out = shequ(
        &["user", "add", "sys", "--role", "viewer", "--db", &db],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = shequ(
        &[
            "token",
            "create",
            "--user",
            "sys",
            "--label",
            "grid work orders",
            "--db",
            &db,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert!(token.starts_with("shequ_"), "{token}");
    assert!(text(&out.stderr).contains("token 1 created for sys (grid work orders)"));
    let store = Store::open(std::path::Path::new(&db)).expect("store");
    let actor = store
        .read(|c| accounts::token_actor(c, &token))
        .expect("lookup");
    assert_eq!(actor.map(|a| a.user), Some("sys".to_owned()));

    let out = shequ(&["token", "list", "--db", &db], None);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("grid work orders"));
    assert!(!text(&out.stdout).contains(&token));

    assert_fails(
        &shequ(
            &[
                "token", "create", "--user", "ghost", "--label", "x", "--db", &db,
            ],
            None,
        ),
        2,
        "no user named \"ghost\"",
    );
    assert_fails(
        &shequ(
            &[
                "token", "create", "--user", "sys", "--label", "", "--db", &db,
            ],
            None,
        ),
        2,
        "the token label is empty",
    );
    let out = shequ(&["token", "revoke", "1", "--db", &db], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("token 1 of sys (grid work orders) revoked"));
    assert!(
        store
            .read(|c| accounts::token_actor(c, &token))
            .expect("lookup")
            .is_none()
    );
    assert_fails(
        &shequ(&["token", "revoke", "7", "--db", &db], None),
        2,
        "no token with id 7",
    );
    assert_fails(
        &shequ(&["token", "revoke", "x", "--db", &db], None),
        2,
        "invalid value 'x'",
    );
}

#[test]
fn cli_log_verify_detects_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db").to_string_lossy().into_owned();
    for name in ["a", "b", "c"] {
        let out = shequ(
            &["user", "add", name, "--role", "viewer", "--db", &db],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = shequ(&["log", "verify", "--db", &db], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("audit log intact, 3 entries"),
        "{}",
        text(&out.stdout)
    );

    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "UPDATE log SET detail = '{\"role\":\"admin\"}' WHERE seq = 2",
        [],
    )
    .expect("tamper");
    drop(conn);
    assert_fails(
        &shequ(&["log", "verify", "--db", &db], None),
        1,
        "entry 2 was altered",
    );

    let conn = rusqlite::Connection::open(&db).expect("open");
    let missing = dir.path().join("none.db").to_string_lossy().into_owned();
    drop(conn);
    assert_fails(
        &shequ(&["log", "verify", "--db", &missing], None),
        2,
        "no database at",
    );
}

#[test]
fn cli_log_verify_detects_a_deleted_last_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shequ.db").to_string_lossy().into_owned();
    for name in ["a", "b"] {
        assert!(
            shequ(
                &["user", "add", name, "--role", "viewer", "--db", &db],
                None
            )
            .status
            .success()
        );
    }
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute("DELETE FROM log WHERE seq = 2", [])
        .expect("delete");
    drop(conn);
    assert_fails(
        &shequ(&["log", "verify", "--db", &db], None),
        1,
        "the log ends at entry 1 but its head records entry 2",
    );
}

#[test]
fn serve_refuses_an_unknown_read_access_mode() {
    assert_fails(
        &shequ(&["serve", "--read-access", "maybe"], None),
        2,
        "unknown read access \"maybe\"",
    );
}
