//! Which database a test's store lives in, so the store tests (tests/procedure.rs,
//! tests/accounts.rs, tests/approval_sample.rs) run unchanged on both backends: SQLite by
//! default; PostgreSQL when `SHEQU_TEST_POSTGRES` holds the URL of a server's `postgres`
//! database (tests/postgres.rs sets it to its private cluster and runs those test binaries
//! again). Each test directory gets a database of its own, recorded in the directory so that
//! a child process or a restarted server of the same test finds the same one.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use shequ::store::{Location, Store};

/// The variable naming the PostgreSQL server to run the store tests on.
pub const POSTGRES: &str = "SHEQU_TEST_POSTGRES";

/// Where the record of a test directory's database is kept.
const RECORD: &str = "test-db-location";

/// The `--db` of the test working in `dir`: an SQLite file in it, or a new PostgreSQL
/// database (created on first call, then the same for that directory).
pub fn location(dir: &Path) -> String {
    let record = dir.join(RECORD);
    if let Ok(known) = std::fs::read_to_string(&record) {
        return known;
    }
    let location = match std::env::var(POSTGRES) {
        Ok(server) => new_database(&server),
        Err(_) => dir.join("data/shequ.db").display().to_string(),
    };
    std::fs::write(&record, &location).expect("record the test database");
    location
}

/// Whether this run puts the stores on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os(POSTGRES).is_some()
}

/// Opens the store of the test working in `dir`.
pub fn open(dir: &Path) -> Store {
    let location = location(dir);
    match Store::connect(&Location::parse(Path::new(&location))) {
        Ok(store) => store,
        Err(e) => panic!("open the test store {location}: {e}"),
    }
}

/// A new empty database on the server `server` (a URL of its `postgres` database); its URL.
fn new_database(server: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    // On a thread of its own: the sync client cannot block a thread driving an async runtime,
    // and the tests calling this are async.
    let create = format!("CREATE DATABASE {name}");
    let server_url = server.to_owned();
    let created = std::thread::spawn(move || {
        postgres::Client::connect(&server_url, postgres::NoTls)
            .and_then(|mut admin| admin.batch_execute(&create))
            .map_err(|e| e.to_string())
    })
    .join()
    .expect("create-database thread");
    if let Err(e) = created {
        panic!("create database {name} on {server}: {e}");
    }
    server.replacen("/postgres?", &format!("/{name}?"), 1)
}
