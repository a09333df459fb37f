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
//! Here: the schema with PostGIS geometry columns and its migrations, the connection pair the
//! [`Store`](crate::store::Store) runs every operation on ([`PgStore`], through
//! [`conn::PgConn`]), the copy of an SQLite store with its history and audit log
//! ([`copy::from_sqlite`], `shequ migrate-store`), and the [`watch`]er that tells a server of
//! versions other servers committed.

pub mod conn;
pub mod copy;
pub mod ewkb;
mod migrations;
pub mod watch;

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls};

use super::sql::{Conn, DbError, Param};

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
    #[error("the PostgreSQL database cannot be reached: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Db(#[from] DbError),
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

/// Runs `f` where the sync client may block: the client drives a runtime of its own, and tokio
/// refuses to start one on a thread that is driving an async runtime (credential checks run
/// the store on the server's async workers; tests call it from async code).
///
/// - Outside any runtime, or on a blocking thread (`spawn_blocking`, where the API runs most
///   store work): `f` runs right here.
/// - On a multi-thread runtime (the server's): [`tokio::task::block_in_place`], which hands
///   the worker's other tasks to another thread while `f` blocks this one, and runs `f`
///   directly on a blocking thread. No thread is spawned per call (it used to be: ~50-100 µs
///   and a thread creation on every signed-in request on PostgreSQL, issue 20).
/// - On a current-thread runtime (`#[tokio::test]`), where `block_in_place` is not allowed:
///   `f` runs on a scoped thread of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|scope| match scope.spawn(f).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A client and the statements prepared on it; the client is `None` after its connection
/// was lost, until the next use connects again.
struct Session {
    client: Option<Client>,
    statements: conn::Statements,
}

/// Two connections to the database, each behind a mutex like the SQLite store's: one for
/// writes, one for reads, so signed-in requests are not held up by an approval's transaction.
/// A connection that was lost (the server restarted, the network failed) is opened again at
/// its next use; while that fails, the operation fails with [`DbError::Unavailable`] and the
/// server keeps answering reads from its snapshot.
pub struct PgStore {
    writer: Mutex<Session>,
    reader: Mutex<Session>,
    url: String,
    location: String,
}

/// Closing a client blocks on the client's own runtime, which tokio refuses on a thread driving
/// an async runtime (a store dropped at the end of a server or a test): the clients are closed
/// off the runtime.
impl Drop for PgStore {
    fn drop(&mut self) {
        let clients: Vec<Client> = [&mut self.writer, &mut self.reader]
            .into_iter()
            .filter_map(|session| {
                session
                    .get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .client
                    .take()
            })
            .collect();
        off_runtime(move || drop(clients));
    }
}

/// The key of the advisory lock every write transaction takes first: writes from all servers
/// on one database run one at a time, as in SQLite (`BEGIN IMMEDIATE`). The audit log's chain
/// (each entry names the previous one) and an approval's check that it builds on the newest
/// version both need it; an approval holds it for about a second.
pub const WRITE_LOCK: i64 = 0x5348_4551_5500_0001;

impl PgStore {
    /// Connects to `url` (a `postgres://` URL; for a Unix socket, `?host=/socket/dir`) and
    /// applies the migrations the database has not seen. `location` names it in messages
    /// (the URL without its password).
    pub fn connect(url: &str, location: &str) -> Result<Self, PgError> {
        off_runtime(|| Self::connect_here(url, location))
    }

    fn connect_here(url: &str, location: &str) -> Result<Self, PgError> {
        let connect = || {
            Client::connect(url, NoTls).map_err(|source| PgError::Connect {
                location: location.to_owned(),
                source,
            })
        };
        let mut client = connect()?;
        migrations::apply(&mut client)?;
        let session = |client| {
            Mutex::new(Session {
                client: Some(client),
                statements: Default::default(),
            })
        };
        Ok(PgStore {
            writer: session(client),
            reader: session(connect()?),
            url: url.to_owned(),
            location: location.to_owned(),
        })
    }

    /// The database as messages name it.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The URL it was opened with (for a watcher's own connection).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(session: &Mutex<Session>) -> MutexGuard<'_, Session> {
        // A panic while holding the client cannot leave a transaction open: `Transaction` rolls
        // back when dropped.
        session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session's client, connected again if its connection was lost (the statements
    /// prepared on the old connection are forgotten with it).
    fn client<'s>(
        &self,
        client: &'s mut Option<Client>,
        statements: &mut conn::Statements,
    ) -> Result<&'s mut Client, postgres::Error> {
        let connected = match client.take() {
            Some(c) if !c.is_closed() => c,
            _ => {
                statements.clear();
                Client::connect(&self.url, NoTls)?
            }
        };
        Ok(client.insert(connected))
    }

    /// Runs `f` with the writer's client (for the copy from SQLite and its checks).
    pub fn with<T: Send, E: From<postgres::Error> + Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        off_runtime(|| {
            let mut guard = Self::lock(&self.writer);
            let Session { client, statements } = &mut *guard;
            f(self.client(client, statements)?)
        })
    }

    /// Runs `f` in one read-only repeatable-read transaction: it sees one committed state
    /// however many statements it runs.
    pub fn read<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        off_runtime(|| {
            let mut guard = Self::lock(&self.reader);
            self.run(&mut guard, true, f)
        })
    }

    /// Runs `f` as [`PgStore::read`] does, on a connection of its own, closed after (see
    /// [`crate::store::Store::read_apart`]).
    pub fn read_apart<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        off_runtime(|| {
            let client = Client::connect(&self.url, NoTls).map_err(|e| DbError::Unavailable {
                location: self.location.clone(),
                reason: describe(&e),
            })?;
            let mut session = Session {
                client: Some(client),
                statements: Default::default(),
            };
            let value = self.run(&mut session, true, f);
            drop(session.client.take());
            value
        })
    }

    /// Runs `f` in one transaction holding the [write lock](WRITE_LOCK), committed if `f`
    /// succeeds and rolled back if not.
    pub fn write<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        off_runtime(|| {
            let mut guard = Self::lock(&self.writer);
            self.run(&mut guard, false, f)
        })
    }

    fn run<T, E: From<DbError>>(
        &self,
        session: &mut Session,
        read_only: bool,
        f: impl FnOnce(&dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let Session { client, statements } = session;
        let client = self
            .client(client, statements)
            .map_err(|e| DbError::Unavailable {
                location: self.location.clone(),
                reason: describe(&e),
            })?;
        let tx = client
            .build_transaction()
            .isolation_level(if read_only {
                postgres::IsolationLevel::RepeatableRead
            } else {
                postgres::IsolationLevel::ReadCommitted
            })
            .read_only(read_only)
            .start()
            .map_err(|e| self.failure(e))?;
        let conn = conn::PgConn::new(tx, statements);
        if !read_only {
            conn.execute(
                "SELECT pg_advisory_xact_lock(?1)",
                &[Param::Int(Some(WRITE_LOCK))],
            )
            .map_err(|e| self.classify(e))?;
        }
        let value = f(&conn)?;
        conn.commit().map_err(|e| self.classify(e))?;
        Ok(value)
    }

    /// A client error as the store reports it: a lost connection is [`DbError::Unavailable`].
    fn failure(&self, e: postgres::Error) -> DbError {
        self.classify(DbError::Postgres(e))
    }

    fn classify(&self, e: DbError) -> DbError {
        if e.is_unavailable() && !matches!(e, DbError::Unavailable { .. }) {
            DbError::Unavailable {
                location: self.location.clone(),
                reason: e.to_string(),
            }
        } else {
            e
        }
    }
}
