//! The PostgreSQL + PostGIS store (issue 20) against a real server: each run starts a private
//! cluster in a temporary directory, listening only on a Unix socket there (no TCP, no system
//! service), and each test works in a database of its own in it.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: the cluster then runs as the
//! unprivileged user `nobody` (through `setpriv`, which execs the server itself, so stopping it
//! stops the server), owning its temporary directory. Without PostgreSQL's binaries
//! (`initdb`, `postgres`: Debian's `postgresql-15-postgis-3`, which `.ci/run` installs; or
//! the directory in `SHEQU_PG_BIN`) the tests are reported as *ignored*; with `CI=true` they
//! always run, so a missing PostgreSQL fails. Own harness (libtest-mimic), as in
//! `tests/topology_gdal.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, AppState};
use shequ::registry::Feature;
use shequ::store::pg::PgStore;
use shequ::store::pg::watch::{Event, Watcher};
use shequ::store::{Location, Store, log, registry};

/// The directory holding `initdb` and `postgres`, if PostgreSQL is installed.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SHEQU_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").is_file().then_some(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("postgres").is_file())
        .collect();
    // The newest major version (directory names are version numbers).
    found.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    found.pop()
}

/// The uid and gid a root process runs PostgreSQL as (`nobody`).
fn unprivileged() -> Result<Option<(u32, u32)>, Failed> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = c"nobody";
    // SAFETY: a NUL-terminated name; the returned record is read at once, before any other
    // getpw* call on this thread.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("running as root and there is no user nobody to run PostgreSQL as".into());
    }
    // SAFETY: non-null, from getpwnam just above.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

/// A private PostgreSQL server on a Unix socket in a temporary directory; stopped (fast
/// shutdown) and removed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    server: Option<Child>,
    databases: AtomicUsize,
}

impl Cluster {
    fn start(bin: &Path) -> Result<Cluster, Failed> {
        let user = unprivileged()?;
        let dir = tempfile::Builder::new().prefix("shequ-pg-").tempdir()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let mut cluster = Cluster {
            dir,
            bin: bin.to_owned(),
            user,
            server: None,
            databases: AtomicUsize::new(0),
        };
        let init = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args([
                "-U",
                "shequ",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()?;
        if !init.status.success() {
            return Err(format!("initdb: {}", common::text(&init.stderr)).into());
        }
        cluster.run()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A PostgreSQL program, as the unprivileged user when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = match self.user {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.env("LC_ALL", "C").current_dir(self.dir.path());
        cmd
    }

    /// Starts the server and waits until it accepts connections.
    fn run(&mut self) -> Result<(), Failed> {
        let log = std::fs::File::create(self.dir.path().join("server.log"))?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(self.dir.path())
            // No TCP at all; no fsync (a test cluster need not survive a power cut).
            .args(["-c", "listen_addresses=", "-p", "5432", "-F"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match postgres::Client::connect(&self.url("postgres"), postgres::NoTls) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    let log = std::fs::read_to_string(self.dir.path().join("server.log"))
                        .unwrap_or_default();
                    return Err(format!("PostgreSQL did not start: {e}\n{log}").into());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Fast shutdown (SIGINT), waiting for the server to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signalling our own child process.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let _ = child.wait();
        }
    }

    /// The URL of `database` on this cluster's socket.
    fn url(&self, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port=5432&user=shequ",
            self.dir.path().display()
        )
    }

    /// A new, empty database; its URL.
    fn database(&self) -> Result<String, Failed> {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{n}");
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A SQLite store seeded with the sample city and one approved split (two registry versions,
/// a proposal with its events, users, tokens, log entries).
fn sqlite_store_with_history(dir: &Path) -> Result<PathBuf, Failed> {
    let path = dir.join("shequ.db");
    give_history(Arc::new(Store::open(&path)?), dir)?;
    Ok(path)
}

/// Seeds `store` with the sample city (copied into `dir`) and carries one split to approval
/// through the API (registry version 2).
fn give_history(store: Arc<Store>, dir: &Path) -> Result<(), Failed> {
    let data = common::copy_boundaries(&common::sample_dir(), dir);
    let (snapshot, version, _) = registry::open_or_seed(&store, &data)?;
    let street = common::user_token(&store, "street", Role::Street, &["442000001"]);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
    let text = std::fs::read_to_string(
        common::sample_dir().join("examples/proposals/compliant-split.geojson"),
    )?;
    let proposal: Value = serde_json::from_str(&text)?;
    let config = ApiConfig::default();
    let app = api::router(
        AppState::with_store(snapshot, version.id, store.clone(), &config),
        &config,
    );
    tokio::runtime::Runtime::new()?.block_on(common::carry_to_approval(
        &app, &street, &reviewer, proposal,
    ));
    Ok(())
}

/// Each layer's stored rows as (code, JSON), the code checked against the feature's own.
fn rows_as_json(stored: &registry::StoredSnapshot) -> Result<Vec<Vec<(String, Value)>>, Failed> {
    stored
        .rows
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|row| {
                    let json: Value = serde_json::from_str(&row.text)?;
                    assert_eq!(json["properties"]["code"], row.code.as_str());
                    Ok((row.code.clone(), json))
                })
                .collect()
        })
        .collect()
}

/// Replicas starting together on a new database: each connects, the schema is made once.
fn migrations_apply_once_under_concurrent_connects(cluster: &Cluster) -> Result<(), Failed> {
    let url = cluster.database()?;
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::connect(&url, "test").map(|_| ())
            })
        })
        .collect();
    for c in connects {
        c.join().map_err(|_| "connect thread panicked")??;
    }
    let store = PgStore::connect(&url, "test")?;
    let (rows, version, postgis): (i64, i64, String) = store.with(|c| {
        let r = c.query_one(
            "SELECT COUNT(*), MAX(version), postgis_lib_version() FROM shequ_schema",
            &[],
        )?;
        Ok::<_, postgres::Error>((r.get(0), r.get(1), r.get(2)))
    })?;
    // One row, at the newest migration (0001_schema, 0002_staged_features,
    // 0003_client_geometry).
    assert_eq!((rows, version), (1, 3));
    assert!(postgis.starts_with('3'), "PostGIS {postgis}");
    Ok(())
}

/// `migrate-store` moves a store with its history: every row, the same snapshot, PostGIS
/// geometries in EPSG:4326 that PostGIS finds valid, and an audit log that verifies to the
/// same head; it refuses a second copy onto the filled database, and a tampered log entry is
/// found on PostgreSQL as on SQLite.
fn migrate_store_keeps_history_geometry_and_log(cluster: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let path = sqlite_store_with_history(dir.path())?;
    let url = cluster.database()?;
    let db = path.to_str().ok_or("path")?;
    // The copy writes each feature's `geom` itself: without the database's fallback too.
    PgStore::connect(&url, "test")?.with(|c| {
        c.batch_execute("ALTER TABLE features DISABLE TRIGGER features_geom_on_insert")
    })?;

    let out = common::shequ(&["migrate-store", "--from", db, "--to", &url]);
    let stdout = common::text(&out.stdout);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(stdout.contains("versions 2,"), "{stdout}");
    assert!(stdout.contains("audit log verified"), "{stdout}");

    // The same snapshot from both stores, feature for feature.
    let sqlite = Store::open(&path)?;
    let latest = sqlite.read(registry::latest)?.ok_or("no version")?;
    assert_eq!(latest.id, 2);
    let from_sqlite = sqlite.read(|c| registry::StoredSnapshot::read(c, latest.id))?;
    let target = PgStore::connect(&url, "test")?;
    let pg_store = Store::connect(&Location::parse(Path::new(&url)))?;
    let pg_latest = pg_store
        .read(registry::latest)?
        .ok_or("no version on PostgreSQL")?;
    assert_eq!(pg_latest, latest);
    for v in [1, 2] {
        let a = sqlite.read(|c| registry::StoredSnapshot::read(c, v))?;
        let b = pg_store.read(|c| registry::StoredSnapshot::read(c, v))?;
        // Rows kept as text: compared as JSON (serde_json's own `Value`, not the loader's
        // parser), code by code, and as the loader's typed features.
        let (json_a, json_b) = (rows_as_json(&a)?, rows_as_json(&b)?);
        assert!(json_a.iter().all(|layer| !layer.is_empty()), "version {v}");
        assert_eq!(json_a, json_b, "version {v}");
        assert_eq!(
            a.parsed::<Feature>()?,
            b.parsed::<Feature>()?,
            "version {v}"
        );
        assert_eq!(a.guidelines, b.guidelines);
        assert_eq!(a.addresses, b.addresses);
    }
    let built = pg_store
        .read(|c| registry::StoredSnapshot::read(c, 2))?
        .build()?;
    assert_eq!(built.registry.communities.len(), from_sqlite.rows[1].len());

    // `export` writes the same files from either store, for the newest and an older version.
    for version in [None, Some("1")] {
        let mut written = Vec::new();
        for (name, source) in [("sqlite", db), ("pg", url.as_str())] {
            let out = dir.path().join(format!("export-{name}-{version:?}"));
            let mut args = vec!["export", out.to_str().ok_or("path")?, "--db", source];
            args.extend(version.iter().flat_map(|v| ["--version", *v]));
            let run = common::shequ(&args);
            assert!(run.status.success(), "{}", common::text(&run.stderr));
            written.push(out);
        }
        for file in [
            "towns.geojson",
            "communities.geojson",
            "grids.geojson",
            "guidelines.toml",
        ] {
            let a = std::fs::read(written[0].join(file))?;
            assert!(!a.is_empty(), "{file}");
            assert!(
                a == std::fs::read(written[1].join(file))?,
                "{file} {version:?}"
            );
        }
    }
    let missing = common::shequ(&["export", "x", "--db", &url, "--version", "9"]);
    assert_eq!(missing.status.code(), Some(2));

    // PostGIS geometry: one per current feature, EPSG:4326, valid, polygonal.
    let (current, good): (i64, i64) = target.with(|c| {
        let r = c.query_one(
            "SELECT COUNT(*),
                    COUNT(*) FILTER (WHERE ST_SRID(geom) = 4326 AND ST_IsValid(geom)
                                     AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON'))
             FROM current_features",
            &[],
        )?;
        Ok::<_, postgres::Error>((r.get(0), r.get(1)))
    })?;
    let from_sqlite = rows_as_json(&from_sqlite)?;
    let expected: usize = from_sqlite.iter().map(Vec::len).sum();
    assert_eq!(current, i64::try_from(expected)?);
    // Communities drawn as the union of their grids are stored without geometry.
    let drawn = from_sqlite
        .iter()
        .flatten()
        .filter(|(_, f)| f["geometry"].is_object())
        .count();
    assert!(drawn > 5000, "{drawn} features with geometry");
    assert_eq!(good, i64::try_from(drawn)?);
    // Each, byte for byte, what PostGIS makes of the feature's GeoJSON.
    let (rows, _, differing) =
        geometry_agreement(&mut postgres::Client::connect(&url, postgres::NoTls)?)?;
    assert_eq!(differing, 0, "of {rows} rows");

    // The log verifies to the same head on both, and by the command line.
    let head = sqlite.read(log::head)?;
    assert_eq!(pg_store.read(log::head)?, head);
    assert_eq!(pg_store.read(log::verify)?, Ok(head.0));
    let out = common::shequ(&["log", "verify", "--db", &url]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stdout).contains(&head.1));

    // New rows take ids after the copied ones.
    let (max_user, new_user): (i64, i64) = target.with(|c| {
        let max = c.query_one("SELECT MAX(id) FROM users", &[])?.get(0);
        let new = c
            .query_one(
                "INSERT INTO users (name, role, created_at) VALUES ('late', 'viewer', 'now')
                 RETURNING id",
                &[],
            )?
            .get(0);
        Ok::<_, postgres::Error>((max, new))
    })?;
    assert!(new_user > max_user);

    // A second copy onto the filled database is refused and changes nothing.
    let again = common::shequ(&["migrate-store", "--from", db, "--to", &url]);
    assert_eq!(again.status.code(), Some(2));
    assert!(common::text(&again.stderr).contains("already holds"));

    // Tampering is found on PostgreSQL too.
    target.with(|c| c.execute("UPDATE log SET actor = 'mallory' WHERE seq = 2", &[]))?;
    let out = common::shequ(&["log", "verify", "--db", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::text(&out.stderr).contains("entry 2"));
    Ok(())
}

/// What PostGIS makes of a row's GeoJSON, as the generated column of `0001_schema` made it:
/// the independent judge of the `geom` shequ writes.
const POSTGIS_GEOM: &str = "CASE WHEN jsonb_typeof((feature::jsonb) -> 'geometry') = 'object'
     THEN ST_SetSRID(ST_GeomFromGeoJSON((feature::jsonb) -> 'geometry'), 4326) END";

/// Over every row of `features`: (rows, rows with a geometry, rows whose `geom` is not
/// byte for byte, as EWKB, what PostGIS makes of its GeoJSON).
fn geometry_agreement(c: &mut postgres::Client) -> Result<(i64, i64, i64), Failed> {
    let r = c.query_one(
        &format!(
            "SELECT COUNT(*), COUNT(geom),
                    COUNT(*) FILTER (WHERE ST_AsEWKB(geom) IS DISTINCT FROM
                                           ST_AsEWKB({POSTGIS_GEOM}))
             FROM features"
        ),
        &[],
    )?;
    Ok((r.get(0), r.get(1), r.get(2)))
}

/// Seeding and approvals write each feature's `geom` themselves, as EWKB (issue 20: PostGIS
/// parsing the GeoJSON was nearly all of seeding's time): with the database's own fallback
/// switched off, every row's `geom` is still exactly what `ST_GeomFromGeoJSON` makes of its
/// GeoJSON, in EPSG:4326, for the sample city and the rows an approval wrote.
fn written_geometry_is_what_postgis_makes_of_the_geojson(cluster: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let url = cluster.database()?;
    let target = PgStore::connect(&url, "test")?;
    // Only what shequ sends: a row written without `geom` keeps none.
    target.with(|c| {
        c.batch_execute("ALTER TABLE features DISABLE TRIGGER features_geom_on_insert")
    })?;
    let store = Arc::new(Store::connect(&Location::parse(Path::new(&url)))?);
    give_history(store, dir.path())?;
    let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
    let (rows, with_geometry, differing) = geometry_agreement(&mut client)?;
    assert_eq!(differing, 0, "of {rows} rows");
    // Communities drawn as the union of their grids have no geometry: most rows have one.
    assert!(with_geometry > 5000, "{with_geometry} of {rows}");
    let r = client.query_one(
        "SELECT COUNT(*) FILTER (WHERE ST_SRID(geom) <> 4326),
                COUNT(geom) FILTER (WHERE valid_from = 2)
         FROM features",
        &[],
    )?;
    let (other_srid, approved): (i64, i64) = (r.get(0), r.get(1));
    assert_eq!(other_srid, 0);
    assert!(approved > 0, "the approval wrote no geometry");
    Ok(())
}

/// A feature row's id and its `geom` as EWKB.
type IdGeometry = (i64, Option<Vec<u8>>);

/// A database made before `0003_client_geometry` (a generated `geom`) passes through it: the
/// column keeps its values and is written by shequ from then on, and a row written or changed
/// without one still gets it from its GeoJSON, so the two never disagree.
fn a_generated_geometry_column_passes_through_its_migration(
    cluster: &Cluster,
) -> Result<(), Failed> {
    let url = cluster.database()?;
    let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
    // The schema as the previous release left it, seeded as it seeded (text only).
    c.batch_execute(include_str!("../src/store/pg/migrations/0001_schema.sql"))?;
    c.batch_execute(include_str!(
        "../src/store/pg/migrations/0002_staged_features.sql"
    ))?;
    c.batch_execute(
        "CREATE TABLE shequ_schema (version BIGINT NOT NULL);
         INSERT INTO shequ_schema VALUES (2);
         INSERT INTO versions (id, created_at, description) VALUES (1, 'then', 'seeded')",
    )?;
    let insert = c.prepare(
        "INSERT INTO features (layer, code, feature, valid_from) VALUES ($1, $2, $3, 1)",
    )?;
    for layer in ["towns", "communities", "grids"] {
        let text = std::fs::read_to_string(common::sample_dir().join(format!("{layer}.geojson")))?;
        let collection: Value = serde_json::from_str(&text)?;
        for f in collection["features"].as_array().ok_or("features")? {
            let code = f["properties"]["code"].as_str().ok_or("code")?;
            c.execute(&insert, &[&layer, &code, &f.to_string()])?;
        }
    }
    let guidelines = std::fs::read_to_string(common::sample_dir().join("guidelines.toml"))?;
    c.execute(
        "INSERT INTO documents (name, content) VALUES ('guidelines.toml', $1)",
        &[&guidelines],
    )?;
    let geometries = |c: &mut postgres::Client| -> Result<Vec<IdGeometry>, Failed> {
        Ok(
            c.query("SELECT id, ST_AsEWKB(geom) FROM features ORDER BY id", &[])?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    };
    let before = geometries(&mut c)?;
    assert!(before.iter().filter(|(_, g)| g.is_some()).count() > 5000);

    let store = Store::connect(&Location::parse(Path::new(&url)))?;
    let r = c.query_one(
        "SELECT (SELECT version FROM shequ_schema),
                (SELECT attgenerated::text FROM pg_attribute
                 WHERE attrelid = 'features'::regclass AND attname = 'geom')",
        &[],
    )?;
    let (version, generated): (i64, String) = (r.get(0), r.get(1));
    assert_eq!((version, generated.as_str()), (3, ""));
    assert_eq!(geometries(&mut c)?, before);
    // The migrated database loads as before.
    let snapshot = registry::snapshot_of(&store, 1)?;
    assert!(snapshot.registry.communities.len() > 200);

    // Written without `geom` (as by hand, or by a copy): made from the GeoJSON.
    let square = r#"{"type":"Feature","properties":{"code":"x"},"geometry":{"type":"Polygon","coordinates":[[[113,22],[113.1,22],[113.1,22.1],[113,22]]]}}"#;
    let none = r#"{"type":"Feature","properties":{"code":"y"},"geometry":null}"#;
    c.execute(&insert, &[&"grids", &"x", &square])?;
    c.execute(&insert, &[&"grids", &"y", &none])?;
    // Changed: made again, whatever `geom` the change wrote.
    c.execute(
        "UPDATE features SET feature = replace(feature, '113.1,22.1', '113.2,22.2')
         WHERE code = 'x'",
        &[],
    )?;
    c.execute(
        "UPDATE features SET geom = ST_GeomFromText('POINT(0 0)', 4326)
         WHERE code = (SELECT MIN(code) FROM features WHERE layer = 'grids')",
        &[],
    )?;
    let (rows, with_geometry, differing) = geometry_agreement(&mut c)?;
    assert_eq!(differing, 0, "of {rows} rows");
    assert_eq!(
        with_geometry,
        before.iter().filter(|(_, g)| g.is_some()).count() as i64 + 1
    );
    let moved: String = c
        .query_one("SELECT ST_AsText(geom) FROM features WHERE code = 'x'", &[])?
        .get(0);
    assert!(moved.contains("113.2 22.2"), "{moved}");
    Ok(())
}

/// Inserts a registry version row as an approval would (the rest of an approval does not matter
/// to a watcher); its id.
fn commit_version(url: &str) -> Result<i64, Failed> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)?;
    let id = c
        .query_one(
            "INSERT INTO versions (effective, created_at, description)
             VALUES ('2026-01-01', '2026-01-01T00:00:00Z', 'test') RETURNING id",
            &[],
        )?
        .get(0);
    Ok(id)
}

/// Waits (at most `within`) for the watcher to report `wanted`, skipping other events.
fn expect_event(
    events: &std::sync::mpsc::Receiver<Event>,
    wanted: &Event,
    within: Duration,
) -> Result<Duration, Failed> {
    let start = Instant::now();
    loop {
        let left = within
            .checked_sub(start.elapsed())
            .ok_or_else(|| format!("no {wanted:?} within {within:?}"))?;
        match events.recv_timeout(left) {
            Ok(e) if &e == wanted => return Ok(start.elapsed()),
            Ok(_) => {}
            Err(_) => return Err(format!("no {wanted:?} within {within:?}").into()),
        }
    }
}

/// A version committed by anyone is learnt through NOTIFY well within a second (the poll is
/// set to a minute here, so only the notification can be that quick), and the watcher starts
/// from what the caller already knows.
fn a_watcher_learns_each_committed_version_within_a_second(
    cluster: &Cluster,
) -> Result<(), Failed> {
    let url = cluster.database()?;
    drop(PgStore::connect(&url, "test")?);
    let first = commit_version(&url)?;
    let (tx, events) = std::sync::mpsc::channel();
    let _watcher = Watcher::start(url.clone(), first, Duration::from_secs(60), move |e| {
        let _ = tx.send(e);
    })?;
    for _ in 0..3 {
        let id = commit_version(&url)?;
        let took = expect_event(&events, &Event::Newest(id), Duration::from_secs(1))?;
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    assert!(
        events.try_recv().is_err(),
        "nothing but the three versions is reported"
    );
    Ok(())
}

/// With its database stopped a watcher says so once, keeps retrying, and once the database is
/// back learns the version committed meanwhile (here: right after the restart).
fn a_watcher_catches_up_after_the_database_restarts(_: &Cluster) -> Result<(), Failed> {
    let bin = bin_dir().ok_or("no PostgreSQL")?;
    let mut own = Cluster::start(&bin)?;
    let url = own.database()?;
    drop(PgStore::connect(&url, "test")?);
    let (tx, events) = std::sync::mpsc::channel();
    let _watcher = Watcher::start(url.clone(), 0, Duration::from_millis(200), move |e| {
        let _ = tx.send(e);
    })?;
    let id = commit_version(&url)?;
    expect_event(&events, &Event::Newest(id), Duration::from_secs(1))?;
    own.stop();
    match events.recv_timeout(Duration::from_secs(5))? {
        Event::Lost(_) => {}
        other => return Err(format!("expected Lost, got {other:?}").into()),
    }
    own.run()?;
    let id = commit_version(&url)?;
    expect_event(&events, &Event::Newest(id), Duration::from_secs(3))?;
    Ok(())
}

/// A `postgres://` --db is never taken for a file name: with no server behind it, commands
/// say they cannot reach it (exit 2) and create nothing (before, `serve` made an SQLite file
/// under `postgres:/`). The URL names a socket directory with no server in it.
fn a_postgres_url_is_not_taken_for_a_file() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "postgresql:///shequ?host={}&user=shequ",
        dir.path().join("no-server").display()
    );
    let data = common::sample_dir();
    let data = data.to_str().ok_or("path")?;
    for args in [
        vec![
            "serve",
            "--db",
            &url,
            "--data",
            data,
            "--addr",
            "127.0.0.1:0",
        ],
        vec!["user", "list", "--db", &url],
        vec!["token", "list", "--db", &url],
    ] {
        let out = common::shequ_command()
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = common::text(&out.stderr);
        assert!(
            stderr.contains("cannot connect to the PostgreSQL database"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path())?.count(),
            0,
            "{args:?} created files"
        );
    }
    Ok(())
}

/// A `shequ serve` on `url` over the boundary files `data`, on a free loopback port; the
/// running server and its address.
fn replica(url: &str, data: &Path) -> (common::Server, String) {
    let mut cmd = common::shequ_command();
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--db", url, "--data"])
        .arg(data)
        .stdout(Stdio::null());
    let server = common::Server::spawn(&mut cmd);
    let addr = server.address(Duration::from_secs(120));
    (server, addr)
}

/// What a lookup at the north grid of 西社区 answers: the city before the split or after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum City {
    Old,
    New,
}

/// The city a replica answers at the north point; an error for anything that is neither.
fn city_at(addr: &str, token: &str) -> Result<City, Failed> {
    use common::mini::{NEW_WEST, NORTH, WEST, lookup_uri};
    let (status, body) = common::http(addr, "GET", &lookup_uri(NORTH, None), token, "");
    if status != 200 {
        return Err(format!("lookup on {addr}: {status} {body}").into());
    }
    match (body.contains(NEW_WEST), body.contains(WEST)) {
        (true, _) => Ok(City::New),
        (false, true) => Ok(City::Old),
        (false, false) => Err(format!("lookup on {addr} is neither city: {body}").into()),
    }
}

/// Carries the split of 西社区 to `submitted` through the server at `addr`; its id.
fn submit_split(addr: &str, street: &str) -> Result<i64, Failed> {
    let (status, body) = common::http(
        addr,
        "POST",
        "/api/v1/proposals",
        street,
        &common::mini::split_west().to_string(),
    );
    if status != 201 {
        return Err(format!("create: {status} {body}").into());
    }
    let id = serde_json::from_str::<Value>(&body)?["id"]
        .as_i64()
        .ok_or("no id")?;
    for (path, body) in [
        ("transition", r#"{"to": "consultation"}"#),
        ("transition", r#"{"to": "vote"}"#),
        ("vote", r#"{"for": 300, "against": 20, "abstain": 5}"#),
        ("transition", r#"{"to": "submitted"}"#),
    ] {
        let uri = format!("/api/v1/proposals/{id}/{path}");
        let (status, answer) = common::http(addr, "POST", &uri, street, body);
        if status != 200 {
            return Err(format!("{uri} {body}: {status} {answer}").into());
        }
    }
    Ok(id)
}

/// Three replicas on one database: replica 1 seeds it, tokens made afterwards work on all three,
/// a split approved on replica 1 is answered by replicas 2 and 3 within a second, and each of
/// their answers, polled throughout, is the old city or the new one, never something else, and
/// never the old one again once the new one was seen.
fn three_replicas_follow_an_approval_within_a_second(cluster: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let url = cluster.database()?;
    let data = common::copy_boundaries(&common::mini_dir(), dir.path());
    let (_first, one) = replica(&url, &data);
    let store = Store::connect(&Location::parse(Path::new(&url)))?;
    let street = common::user_token(&store, "street", Role::Street, &[common::mini::TOWN]);
    let reviewer = common::user_token(&store, "reviewer", Role::Reviewer, &[]);
    let (_second, two) = replica(&url, &data);
    let (_third, three) = replica(&url, &data);
    let id = submit_split(&one, &street)?;
    for addr in [&one, &two, &three] {
        assert_eq!(city_at(addr, &reviewer)?, City::Old);
    }
    let approved_at: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let pollers: Vec<_> = [two.clone(), three.clone()]
        .into_iter()
        .map(|addr| {
            let (reviewer, approved_at) = (reviewer.clone(), approved_at.clone());
            std::thread::spawn(move || -> Result<Duration, String> {
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut first_new = None;
                let mut after = 0;
                while after < 20 {
                    if Instant::now() > deadline {
                        return Err(format!("{addr} never answered the new city"));
                    }
                    let city = city_at(&addr, &reviewer)
                        .map_err(|e| e.message().unwrap_or("?").to_owned())?;
                    match (city, first_new) {
                        (City::New, None) => first_new = Some(Instant::now()),
                        (City::New, Some(_)) => after += 1,
                        (City::Old, Some(_)) => {
                            return Err(format!("{addr} went back to the old city"));
                        }
                        (City::Old, None) => {}
                    }
                }
                let seen = first_new.ok_or("no new city")?;
                let approved = approved_at.get().copied().unwrap_or(seen);
                Ok(seen.saturating_duration_since(approved))
            })
        })
        .collect();
    let uri = format!("/api/v1/proposals/{id}/transition");
    let (status, body) = common::http(&one, "POST", &uri, &reviewer, r#"{"to": "approved"}"#);
    let _ = approved_at.set(Instant::now());
    assert_eq!(status, 200, "{body}");
    assert_eq!(city_at(&one, &reviewer)?, City::New);
    for poller in pollers {
        let took = poller.join().map_err(|_| "poller panicked")??;
        eprintln!("a replica answered the new city {took:?} after the approval answered");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    // Each built the new version from the one it served and the approval's rows, as the
    // approving server did, not from a whole read of the city.
    for addr in [&two, &three] {
        let (status, metrics) = common::http(addr, "GET", "/metrics", "", "");
        assert_eq!(status, 200, "{metrics}");
        let counter = |name: &str| {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        assert_eq!(
            (
                counter("shequ_versions_followed_from_change_total "),
                counter("shequ_versions_followed_whole_total ")
            ),
            (Some(1), Some(0)),
            "{addr}"
        );
    }
    // The log is one chain, whoever wrote.
    assert!(store.read(log::verify)?.is_ok());
    Ok(())
}

/// With PostgreSQL stopped a replica keeps answering lookups from memory and answers a write
/// with 503 naming the database; once PostgreSQL is back it writes again.
fn a_replica_serves_reads_while_the_database_is_down(_: &Cluster) -> Result<(), Failed> {
    let bin = bin_dir().ok_or("no PostgreSQL")?;
    let mut own = Cluster::start(&bin)?;
    let url = own.database()?;
    let dir = tempfile::tempdir()?;
    let data = common::copy_boundaries(&common::mini_dir(), dir.path());
    let (_server, addr) = replica(&url, &data);
    let store = Store::connect(&Location::parse(Path::new(&url)))?;
    let street = common::user_token(&store, "street", Role::Street, &[common::mini::TOWN]);
    drop(store);
    assert_eq!(city_at(&addr, "")?, City::Old);
    own.stop();
    for _ in 0..5 {
        assert_eq!(city_at(&addr, "")?, City::Old);
    }
    let body = common::mini::split_west().to_string();
    let (status, answer) = common::http(&addr, "POST", "/api/v1/proposals", &street, &body);
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("database-unavailable"), "{answer}");
    assert!(answer.contains("database cannot be reached"), "{answer}");
    own.run()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = common::http(&addr, "POST", "/api/v1/proposals", &street, &body);
        if status == 201 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no write after the restart: {status} {answer}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(city_at(&addr, "")?, City::Old);
    Ok(())
}

/// The test binary of `suite` (`tests/{suite}.rs`) built beside this one: the newest, when
/// several builds left one each.
fn sibling_test_binary(suite: &str) -> Result<PathBuf, Failed> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("test binary without a directory")?;
    let prefix = format!("{suite}-");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix(&prefix)
                .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort();
    found.pop().map(|(_, path)| path).ok_or_else(|| {
        format!(
            "the test binary of tests/{suite}.rs is not built: run `cargo test --release` \
             (or `cargo test --release --test {suite} --test postgres`)"
        )
        .into()
    })
}

/// The store's test-suite on PostgreSQL: the test binary of `tests/{suite}.rs` run again with
/// `SHEQU_TEST_POSTGRES` naming this cluster (tests/common/backend.rs), so every test body
/// that uses a store (accounts, sessions, tokens, proposals and their procedure, approvals,
/// versions, history, the log, the kill in the middle of an approval) runs on PostgreSQL
/// exactly as it runs on SQLite.
fn store_suite(cluster: &Cluster, suite: &str) -> Result<(), Failed> {
    let exe = sibling_test_binary(suite)?;
    let out = Command::new(&exe)
        .env(common::backend::POSTGRES, cluster.url("postgres"))
        .stdin(Stdio::null())
        .output()?;
    let stdout = common::text(&out.stdout);
    let summary = stdout
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .collect::<Vec<_>>()
        .join("\n");
    if !out.status.success() {
        return Err(format!(
            "tests/{suite}.rs on PostgreSQL failed ({}):\n{stdout}\n{}",
            exe.display(),
            common::text(&out.stderr)
        )
        .into());
    }
    if !summary.contains("test result: ok.") || summary.contains(" 0 passed") {
        return Err(format!("tests/{suite}.rs ran nothing on PostgreSQL: {summary}").into());
    }
    eprintln!("tests/{suite}.rs on PostgreSQL: {summary}");
    Ok(())
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let bin = bin_dir();
    let missing = bin.is_none() && !ci;
    if missing {
        eprintln!(
            "PostgreSQL tests ignored: no initdb/postgres under /usr/lib/postgresql/*/bin or \
             SHEQU_PG_BIN; they need postgresql-15-postgis-3 (CI=true requires it)"
        );
    }
    let wants_cluster = !missing && !args.list;
    let cluster = match (wants_cluster, &bin) {
        (true, Some(bin)) => match Cluster::start(bin) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => {
                eprintln!(
                    "cannot start the test cluster: {}",
                    e.message().unwrap_or("?")
                );
                return ExitCode::FAILURE;
            }
        },
        (true, None) => {
            eprintln!("CI=true and no PostgreSQL binaries");
            return ExitCode::FAILURE;
        }
        (false, _) => None,
    };
    let with_cluster = |name: &str, test: fn(&Cluster) -> Result<(), Failed>| {
        let cluster = cluster.clone();
        Trial::test(name, move || match &cluster {
            Some(c) => test(c),
            None => Err("no cluster".into()),
        })
        .with_ignored_flag(missing)
    };
    let trials = vec![
        with_cluster(
            "migrations_apply_once_under_concurrent_connects",
            migrations_apply_once_under_concurrent_connects,
        ),
        with_cluster(
            "migrate_store_keeps_history_geometry_and_log",
            migrate_store_keeps_history_geometry_and_log,
        ),
        with_cluster(
            "written_geometry_is_what_postgis_makes_of_the_geojson",
            written_geometry_is_what_postgis_makes_of_the_geojson,
        ),
        with_cluster(
            "a_generated_geometry_column_passes_through_its_migration",
            a_generated_geometry_column_passes_through_its_migration,
        ),
        with_cluster(
            "a_watcher_learns_each_committed_version_within_a_second",
            a_watcher_learns_each_committed_version_within_a_second,
        ),
        with_cluster(
            "a_watcher_catches_up_after_the_database_restarts",
            a_watcher_catches_up_after_the_database_restarts,
        ),
        with_cluster(
            "three_replicas_follow_an_approval_within_a_second",
            three_replicas_follow_an_approval_within_a_second,
        ),
        with_cluster(
            "a_replica_serves_reads_while_the_database_is_down",
            a_replica_serves_reads_while_the_database_is_down,
        ),
        with_cluster("store_suite::procedure", |c| store_suite(c, "procedure")),
        with_cluster("store_suite::accounts", |c| store_suite(c, "accounts")),
        with_cluster("store_suite::approval_sample", |c| {
            store_suite(c, "approval_sample")
        }),
        with_cluster("store_suite::approval_incremental", |c| {
            store_suite(c, "approval_incremental")
        }),
        with_cluster("store_suite::resurvey", |c| store_suite(c, "resurvey")),
        Trial::test(
            "a_postgres_url_is_not_taken_for_a_file",
            a_postgres_url_is_not_taken_for_a_file,
        ),
    ];
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop the cluster before exiting (process::exit would skip its Drop).
    drop(cluster);
    conclusion.exit_code()
}
