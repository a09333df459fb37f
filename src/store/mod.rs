//! The store: registry versions, stored proposals and their workflow, accounts, and the
//! hash-chained audit log, in SQLite (one file, WAL: the embedded default) or in PostgreSQL +
//! PostGIS (shared by several servers, [`pg`]).
//!
//! The store is the system of record; the in-memory [`Snapshot`](crate::Snapshot) the server
//! answers from is built from it. Every operation is written once against [`sql::Conn`] and
//! runs on either database. Every write runs in one transaction that excludes other writers
//! (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's advisory [write lock](pg::WRITE_LOCK)), so a
//! crash leaves either the old state or the new one, never a mixture.

pub mod accounts;
mod location;
pub mod log;
mod migrations;
pub mod pg;
pub mod proposals;
pub mod registry;
pub mod resurvey;
pub mod sql;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

pub use location::Location;
pub use sql::{Conn, DbError, Dialect};

/// Where the server keeps its database unless told otherwise (`--db`).
pub const DEFAULT_PATH: &str = "data/shequ.db";

/// Failures of the store itself (not of the request that used it).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory of {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("migration {name} failed: {source}")]
    Migration {
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error(
        "the database is at schema version {found}, newer than this program knows ({known}); upgrade shequ"
    )]
    TooNew { found: i64, known: i64 },
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Postgres(Box<pg::PgError>),
    /// Stored data that does not parse: the file was edited outside shequ or is damaged.
    #[error("the database holds damaged data: {0}")]
    Damaged(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.into())
    }
}

impl From<pg::PgError> for StoreError {
    fn from(e: pg::PgError) -> Self {
        StoreError::Postgres(Box::new(e))
    }
}

impl StoreError {
    /// Whether the database is out of reach (the request may succeed later: 503).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => e.is_unavailable(),
            StoreError::Postgres(e) => {
                matches!(**e, pg::PgError::Unavailable(_))
                    || matches!(&**e, pg::PgError::Db(d) if d.is_unavailable())
            }
            _ => false,
        }
    }
}

/// The store of a server or command: SQLite or PostgreSQL behind one interface.
pub struct Store {
    backend: Backend,
}

// One `Store` per process, behind an `Arc`: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(pg::PgStore),
}

/// Two SQLite connections, each behind a mutex: one for writes (rare: proposals, approvals,
/// logins; an approval holds it for about a second while it builds the new snapshot) and one for
/// reads (credential checks, history, lists). In WAL mode a reader sees the last committed state
/// and never waits for the writer, so signed-in requests keep flowing during an approval.
struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens the store `location` names: [`Store::open`] for a file, [`pg::PgStore::connect`]
    /// for a PostgreSQL URL.
    pub fn connect(location: &Location) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open(path),
            Location::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(pg::PgStore::connect(url, &location.display())?),
            }),
        }
    }

    /// Opens (creating if needed) the SQLite database at `path`, switches it to WAL with full
    /// syncs, and applies the migrations it has not seen.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: path.to_owned(),
                source,
            })?;
        }
        let open = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open)?;
        // Before anything that locks: another process may be creating the same database.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open)?;
        wal_mode(&conn).map_err(open)?;
        // FULL: a committed transaction survives a power cut, not only a process kill.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open)?;
        migrations::apply(&mut conn)?;
        let reader = open_reader(path).map_err(open)?;
        Ok(Store {
            backend: Backend::Sqlite(SqliteStore {
                writer: Mutex::new(conn),
                reader: Mutex::new(reader),
                path: path.to_owned(),
            }),
        })
    }

    /// The database as messages name it: the file, or the URL without its password.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(s) => s.path.display().to_string(),
            Backend::Postgres(p) => p.location().to_owned(),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The PostgreSQL store, when this is one (for its watcher).
    pub fn postgres(&self) -> Option<&pg::PgStore> {
        match &self.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    /// Runs `f` on the SQLite read connection itself, when this is an SQLite store (the copy
    /// to PostgreSQL reads it table by table).
    pub fn sqlite_read<T>(&self, f: impl FnOnce(&Connection) -> T) -> Option<T> {
        match &self.backend {
            Backend::Sqlite(s) => Some(f(&Self::lock(&s.reader))),
            Backend::Postgres(_) => None,
        }
    }

    fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (SQLite rolls
        // back an uncommitted transaction when it is dropped), so the connection is still sound.
        conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the read connection: it sees what is committed and cannot write.
    pub fn read<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(s) => f(&*Self::lock(&s.reader)),
            Backend::Postgres(p) => p.read(f),
        }
    }

    /// Runs `f` as [`Store::read`] does (one committed state however many statements), on a
    /// connection of its own opened for it and closed after. For long reads: a snapshot's
    /// rows are streamed into its checks ([`registry::read_checked`]), which keeps the read
    /// open for the whole parse (tens of seconds at ×100), and on the shared reader every
    /// credential check would wait that long. On PostgreSQL the client's receive buffer, which
    /// grows to the largest message read (the address register: hundreds of MB at ×100) and
    /// may keep that allocation while the connection lives, goes with it.
    pub fn read_apart<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let conn = open_reader(&s.path).map_err(DbError::from)?;
                // A deferred transaction: every statement reads the same committed state.
                let tx = conn.unchecked_transaction().map_err(DbError::from)?;
                let value = f(&*tx)?;
                tx.commit().map_err(DbError::from)?;
                Ok(value)
            }
            Backend::Postgres(p) => p.read_apart(f),
        }
    }

    /// Runs `f` in one transaction that excludes other writers, committed if `f` succeeds and
    /// rolled back if not.
    pub fn write<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&dyn Conn) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let mut conn = Self::lock(&s.writer);
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(DbError::from)?;
                let value = f(&*tx)?;
                tx.commit().map_err(DbError::from)?;
                Ok(value)
            }
            Backend::Postgres(p) => p.write(f),
        }
    }
}

/// The exclusive right to serve one database, held for the life of a server: a second
/// `shequ serve` on the same `--db` refuses to start, because each server keeps its own
/// in-memory snapshot and approval queue, and two of them would publish diverging registries
/// from one store. An OS file lock on `<db>.lock` (released by the OS however the process ends,
/// so a crash leaves no stale lock); the file holds the server's pid for the message. Command
/// line writers (`user add`, `token create`) do not take it: their short transactions are
/// coherent with a running server.
#[derive(Debug)]
pub struct ServerLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl ServerLock {
    /// Takes the lock of the database at `db`, or says who holds it.
    pub fn acquire(db: &Path) -> Result<ServerLock, String> {
        use std::io::{Read, Seek, Write};
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the directory of {}: {e}", path.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let pid = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                return Err(format!(
                    "another shequ server{pid} is already serving the database {}; \
                     only one server may use a database (its lock file is {}): stop that \
                     server first, or give this one another --db",
                    db.display(),
                    path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        // The pid is only for the message above; failing to write it is harmless.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(ServerLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The current time as stored (RFC 3339, UTC, seconds).
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Dates as the API and the store write them: `YYYY-MM-DD`.
pub const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A read-only connection to the SQLite database at `path` (the shared reader, and a long
/// read's own: [`Store::read_apart`]), waiting up to 10 s for a writer's lock.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let reader = Connection::open(path)?;
    reader.pragma_update(None, "query_only", "ON")?;
    reader.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(reader)
}

/// Switches `conn`'s database to WAL. Changing the journal mode of a database that another
/// process is creating at the same moment can answer `SQLITE_BUSY` at once, without waiting in
/// the busy handler (SQLite does not wait there for this lock), so it is retried for up to ten
/// seconds, like any other write waits through `busy_timeout`.
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}
