//! The PostgreSQL + PostGIS store (issue 20), reached through the synchronous `postgres` crate.
//!
//! Why `postgres` rather than `tokio-postgres`/`deadpool` or `sqlx`: every caller of the store
//! is synchronous: the API runs store work on blocking threads (`spawn_blocking`) and the
//! command line has no runtime at all, and the SQLite store is a pair of mutex-guarded
//! connections. The sync client (a maintained wrapper of `tokio-postgres`, same authors) keeps
//! that shape (a [`PgStore`] is one client behind a mutex) without an async pool or `sqlx`'s
//! compile-time database. It also gives `LISTEN/NOTIFY` and binary `COPY`, which the copy from
//! SQLite ([`copy`]) streams through.
//!
//! What exists so far: the schema with PostGIS geometry columns and its migrations, the copy of
//! an SQLite store with its history and audit log ([`copy::from_sqlite`], `shequ
//! migrate-store`), reading a version's snapshot and verifying the log. Serving from it is not
//! yet (README, *PostgreSQL*).

pub mod copy;
mod migrations;
pub mod read;
pub mod watch;

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls};

/// Failures of the PostgreSQL store.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "cannot connect to the PostgreSQL database {location}: {}",
        describe(source)
    )]
    Connect {
        location: String,
        source: postgres::Error,
    },
    #[error("PostgreSQL migration {name} failed: {}", describe(source))]
    Migration {
        name: &'static str,
        source: postgres::Error,
    },
    #[error(
        "the PostgreSQL database is at schema version {found}, newer than this program knows ({known}); upgrade shequ"
    )]
    TooNew { found: i64, known: i64 },
    #[error("PostgreSQL: {}", describe(.0))]
    Postgres(#[from] postgres::Error),
    /// The SQLite side of a copy.
    #[error("{0}")]
    Sqlite(#[from] super::StoreError),
    #[error("the PostgreSQL database already holds {0}; migrate-store only fills an empty store")]
    NotEmpty(String),
    /// The copy did not arrive whole (checked after the commit).
    #[error("the copy does not match its source: {0}")]
    Mismatch(String),
    /// Stored data that does not parse.
    #[error("the PostgreSQL database holds damaged data: {0}")]
    Damaged(String),
}

/// A client error with the server's message: `postgres::Error` displays only "db error" for
/// what the server reported, keeping the message in its source.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{}: {}{detail}", db.severity(), db.message())
        }
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

impl From<rusqlite::Error> for PgError {
    fn from(e: rusqlite::Error) -> Self {
        PgError::Sqlite(e.into())
    }
}

/// One connection to the database, behind a mutex like the SQLite store's.
pub struct PgStore {
    client: Mutex<Client>,
    location: String,
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL; for a Unix socket, `?host=/socket/dir`) and
    /// applies the migrations the database has not seen. `location` names it in messages
    /// (the URL without its password).
    pub fn connect(url: &str, location: &str) -> Result<Self, PgError> {
        let mut client = Client::connect(url, NoTls).map_err(|source| PgError::Connect {
            location: location.to_owned(),
            source,
        })?;
        migrations::apply(&mut client)?;
        Ok(PgStore {
            client: Mutex::new(client),
            location: location.to_owned(),
        })
    }

    /// The database as messages name it.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        // A panic while holding the client cannot leave a transaction open: `Transaction` rolls
        // back when dropped.
        self.client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with the client.
    pub fn with<T, E>(&self, f: impl FnOnce(&mut Client) -> Result<T, E>) -> Result<T, E> {
        f(&mut self.lock())
    }
}
