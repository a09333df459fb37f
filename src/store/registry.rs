//! The versioned registry in the store: seeding from a boundary directory, the version in force
//! on a date, the features of a version, and snapshots built from them.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

use super::StoreError;
use super::pg::ewkb;
use super::sql::{Conn, DbError, Dialect, Kind, Param, Row};
use crate::Snapshot;
use crate::address;
use crate::registry::{Feature, Level, Registry, feature_stream, load_rows};
use crate::rules::Guidelines;
use crate::sql_params;

/// Documents kept beside the features (unversioned).
pub const GUIDELINES: &str = "guidelines.toml";

/// One registry version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Version {
    pub id: i64,
    /// From when it holds (`None`: the seeded version, in force since before shequ kept it).
    pub effective: Option<String>,
    pub created_at: String,
    pub description: String,
    pub proposal_id: Option<i64>,
}

fn version_row(r: &Row) -> Result<Version, DbError> {
    Ok(Version {
        id: r.get(0)?,
        effective: r.get(1)?,
        created_at: r.get(2)?,
        description: r.get(3)?,
        proposal_id: r.get(4)?,
    })
}

const VERSION_COLUMNS: &str = "id, effective, created_at, description, proposal_id";

/// Every version, oldest first.
pub fn versions(conn: &dyn Conn) -> Result<Vec<Version>, DbError> {
    conn.query(
        &format!("SELECT {VERSION_COLUMNS} FROM versions ORDER BY id"),
        &[],
    )?
    .iter()
    .map(version_row)
    .collect()
}

pub fn version(conn: &dyn Conn, id: i64) -> Result<Option<Version>, DbError> {
    conn.query_opt(
        &format!("SELECT {VERSION_COLUMNS} FROM versions WHERE id = ?1"),
        sql_params![id],
    )?
    .map(|r| version_row(&r))
    .transpose()
}

/// The newest version (`None` before seeding).
pub fn latest(conn: &dyn Conn) -> Result<Option<Version>, DbError> {
    conn.query_opt(
        &format!("SELECT {VERSION_COLUMNS} FROM versions ORDER BY id DESC LIMIT 1"),
        &[],
    )?
    .map(|r| version_row(&r))
    .transpose()
}

/// The version in force on `date` (`YYYY-MM-DD`): the newest one effective on or before it.
/// Effective dates never decrease from one version to the next, so this is well defined.
pub fn version_on(conn: &dyn Conn, date: &str) -> Result<Option<Version>, DbError> {
    conn.query_opt(
        &format!(
            "SELECT {VERSION_COLUMNS} FROM versions
             WHERE effective IS NULL OR effective <= ?1 ORDER BY id DESC LIMIT 1"
        ),
        sql_params![date],
    )?
    .map(|r| version_row(&r))
    .transpose()
}

/// Why a read "as of" a day finds no registry.
#[derive(Debug, thiserror::Error)]
pub enum AsOfError {
    #[error("no registry version was in force on {0}")]
    NotInForce(String),
    #[error("the database holds no registry yet")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for AsOfError {
    fn from(e: DbError) -> Self {
        AsOfError::Store(e.into())
    }
}

/// The version a read sees "as of" `day`: the one in force that day, or without a day the
/// newest. Shared by the API's `?as_of=` and the CLI's `--as-of`.
pub fn version_as_of(conn: &dyn Conn, day: Option<time::Date>) -> Result<Version, AsOfError> {
    match day {
        Some(day) => {
            let day = day
                .format(super::DATE_FORMAT)
                .map_err(|e| StoreError::Damaged(format!("date {day}: {e}")))?;
            version_on(conn, &day)?.ok_or(AsOfError::NotInForce(day))
        }
        None => latest(conn)?.ok_or(AsOfError::Empty),
    }
}

/// The snapshot of `version`: its rows streamed from the store into the loader's checks
/// ([`read_checked`]) on a read of its own ([`super::Store::read_apart`]), then noded and
/// indexed without the database (slow: the server runs it in its CPU pool).
pub fn snapshot_of(store: &super::Store, version: i64) -> Result<Snapshot, StoreError> {
    store
        .read_apart(|c| read_checked(c, version))
        .map(CheckedVersion::build)
}

/// The rows an approval wrote to make its version from the one before it: the communities and
/// grids it ended (by code) and the features it added. A server serving the version before
/// applies them in memory ([`Snapshot::with_edit`], as the approving server did) instead of
/// reading and rebuilding the whole city: at ×100 that whole read took 30–40 s and a second
/// city's memory beside the one served (issue 20).
#[derive(Debug, Default)]
pub struct StoredEdit {
    pub end_communities: Vec<String>,
    pub end_grids: Vec<String>,
    pub communities: Vec<Value>,
    pub grids: Vec<Value>,
}

impl StoredEdit {
    /// The edit as [`Snapshot::with_edit`] takes it.
    pub fn edit(&self) -> crate::registry::Edit<'_> {
        crate::registry::Edit {
            end_communities: &self.end_communities,
            end_grids: &self.end_grids,
            communities: &self.communities,
            grids: &self.grids,
        }
    }
}

/// The edit that made `version` from `version - 1`, in code order, when the approval of a
/// planned change (a split, merge, …: what [`Snapshot::with_edit`] applies for the approving
/// server) made it. `None` for any other version: the seeded one, or a re-survey's, which may
/// change towns and is built from a whole read by its approving server too.
pub fn edit_of(conn: &dyn Conn, version: i64) -> Result<Option<StoredEdit>, StoreError> {
    let kind: Option<String> = conn
        .query_opt(
            "SELECT p.kind FROM versions v JOIN proposals p ON p.id = v.proposal_id
         WHERE v.id = ?1",
            sql_params![version],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    if kind.is_none_or(|k| k == super::resurvey::KIND) {
        return Ok(None);
    }
    let mut edit = StoredEdit::default();
    let mut other = false;
    let mut damaged = None;
    conn.query_each(
        "SELECT layer, code, feature, valid_from FROM features
         WHERE valid_from = ?1 OR valid_to = ?1 ORDER BY layer, code",
        sql_params![version],
        &mut |mut r| {
            let layer: String = r.get(0)?;
            let code = r.take_text(1)?;
            let added = r.get::<i64>(3)? == version;
            let (ended, features) = if layer == Level::Community.collection() {
                (&mut edit.end_communities, &mut edit.communities)
            } else if layer == Level::Grid.collection() {
                (&mut edit.end_grids, &mut edit.grids)
            } else {
                other = true;
                return Ok(());
            };
            if !added {
                ended.push(code);
                return Ok(());
            }
            features.extend(parse_feature(&layer, &code, &r.take_text(2)?, &mut damaged));
            Ok(())
        },
    )?;
    if let Some(message) = damaged {
        return Err(StoreError::Damaged(message));
    }
    Ok((!other).then_some(edit))
}

/// A stored feature's JSON; `None` when it is not JSON, the first such row then named in
/// `damaged` (the read goes on, so the row is reported once the rows are all seen).
fn parse_feature(
    layer: &dyn std::fmt::Display,
    code: &str,
    text: &str,
    damaged: &mut Option<String>,
) -> Option<Value> {
    serde_json::from_str(text)
        .map_err(|e| {
            damaged.get_or_insert_with(|| format!("{layer} feature {code} is not valid JSON: {e}"));
        })
        .ok()
}

/// The registry as it stood on `day` (without a day: the newest), with its version.
pub fn snapshot_as_of(
    store: &super::Store,
    day: Option<time::Date>,
) -> Result<(Version, Snapshot), AsOfError> {
    let version = store.read(|c| version_as_of(c, day))?;
    let snapshot = snapshot_of(store, version.id)?;
    Ok((version, snapshot))
}

/// The features of `layer` valid in `version`, in code order, as GeoJSON Features.
pub fn features_at(conn: &dyn Conn, layer: Level, version: i64) -> Result<Vec<Value>, StoreError> {
    // Row by row: each row's text is parsed and dropped before the next arrives.
    let mut out = Vec::new();
    let mut damaged = None;
    conn.query_each(
        "SELECT code, feature FROM features
         WHERE layer = ?1 AND valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2)
         ORDER BY code",
        sql_params![layer, version],
        &mut |r| {
            let code: String = r.get(0)?;
            let text: String = r.get(1)?;
            out.extend(parse_feature(&layer, &code, &text, &mut damaged));
            Ok(())
        },
    )?;
    match damaged {
        Some(message) => Err(StoreError::Damaged(message)),
        None => Ok(out),
    }
}

/// The three layers of `version`, in [`Level::ALL`] order.
pub fn collections_at(conn: &dyn Conn, version: i64) -> Result<[Vec<Value>; 3], StoreError> {
    let [towns, communities, grids] = Level::ALL.map(|level| features_at(conn, level, version));
    Ok([towns?, communities?, grids?])
}

pub fn document(conn: &dyn Conn, name: &str) -> Result<Option<String>, DbError> {
    conn.query_opt(
        "SELECT content FROM documents WHERE name = ?1",
        sql_params![name],
    )?
    // Moved out of the row: the address register is hundreds of MB at ×100.
    .map(|mut r| r.take_text(0))
    .transpose()
}

/// One stored feature row as read: its code (for messages) and its JSON text, unparsed.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub code: String,
    pub text: String,
}

impl StoredRow {
    /// The row's text parsed as `T` (the loader's [`Feature`], or a `Value`); a row that is
    /// not JSON is damaged data, named by its layer and code.
    pub fn parse<T: DeserializeOwned>(&self, layer: Level) -> Result<T, StoreError> {
        serde_json::from_str(&self.text).map_err(|e| {
            StoreError::Damaged(format!(
                "{layer} feature {} is not valid JSON: {e}",
                self.code
            ))
        })
    }
}

/// The rows of `layer` valid in `version`, in code order.
const ROWS_AT: &str = "SELECT code, feature FROM features
     WHERE layer = ?1 AND valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2)
     ORDER BY code";

/// The rows of `layer` valid in `version` ([`ROWS_AT`]), handed to `each` one at a time as
/// the database returns them, each as its code and text.
fn each_row(
    conn: &dyn Conn,
    layer: Level,
    version: i64,
    each: &mut dyn FnMut(StoredRow),
) -> Result<(), DbError> {
    conn.query_each(ROWS_AT, sql_params![layer, version], &mut |mut r| {
        each(StoredRow {
            code: r.take_text(0)?,
            text: r.take_text(1)?,
        });
        Ok(())
    })
}

/// The rows of `layer` valid in `version`, in code order, each kept as its text (for the
/// export, which writes them back as files; a snapshot streams them instead, [`read_checked`]).
pub fn rows_at(conn: &dyn Conn, layer: Level, version: i64) -> Result<Vec<StoredRow>, DbError> {
    let mut out = Vec::new();
    each_row(conn, layer, version, &mut |row| out.push(row))?;
    Ok(out)
}

/// The layer whose boundary file is `file` (one of [`crate::registry::FILES`]).
fn level_of(file: &str) -> Result<Level, StoreError> {
    Level::ALL
        .into_iter()
        .find(|level| level.file() == file)
        .ok_or_else(|| StoreError::Damaged(format!("no layer is stored as {file}")))
}

/// A version read from the store and checked as boundary files are (registry, guidelines,
/// address register): [`CheckedVersion::build`] nodes and indexes it into its snapshot, which
/// needs no database.
pub struct CheckedVersion {
    registry: Registry,
    guidelines: Guidelines,
    entries: address::Register,
}

impl CheckedVersion {
    pub fn build(self) -> Snapshot {
        Snapshot::with_addresses(self.registry, self.guidelines, self.entries)
    }
}

/// Reads `version` and checks it as it arrives: each layer's rows are streamed from the
/// database in code order into the loader's checks, which parse them on rayon's threads in
/// batches ([`load_rows`]), so no layer's text is ever held whole (issue 20: at ×100 the
/// rows' 1 GB of text, read before the parse, put the load from PostgreSQL 1.7 GB above the
/// load from files). The address register is one stored document, which PostgreSQL sends as
/// one message (its client receives a row whole) and can only cut into slices by decompressing
/// it from its start for each slice: it is read whole, parsed beside the rows, and dropped as
/// soon as it is parsed, long before the snapshot's structures are built. Damaged data is
/// reported as before: a row that is not JSON by its layer and code (the first in code order),
/// then the loader's problems, then the register's.
pub fn read_checked(conn: &dyn Conn, version: i64) -> Result<CheckedVersion, StoreError> {
    let guidelines = document(conn, GUIDELINES)?;
    let addresses = document(conn, address::FILE)?;
    let read = |file: &'static str, sink: &mut dyn FnMut(usize, StoredRow)| {
        let mut index = 0;
        each_row(conn, level_of(file)?, version, &mut |row| {
            sink(index, row);
            index += 1;
        })?;
        Ok(Ok(()))
    };
    check_version(read, guidelines.as_deref(), addresses, version)
}

/// The checks of [`read_checked`], over rows as `read` hands them over (streamed from the
/// database, or already read: [`StoredSnapshot::build`]).
fn check_version(
    read: impl FnMut(
        &'static str,
        &mut dyn FnMut(usize, StoredRow),
    ) -> Result<Result<(), String>, StoreError>,
    guidelines: Option<&str>,
    addresses: Option<String>,
    version: i64,
) -> Result<CheckedVersion, StoreError> {
    let guidelines = match guidelines {
        Some(text) => Guidelines::parse(text, GUIDELINES),
        None => Ok(Guidelines::default()),
    }
    .map_err(|e| StoreError::Damaged(format!("{GUIDELINES}: {}", e.message)))?;
    let mut entries = Ok(address::Register::default());
    let registry = rayon::in_place_scope(|scope| {
        if let Some(text) = addresses {
            let entries = &mut entries;
            scope.spawn(move |_| {
                *entries = address::parse_register(&text)
                    .map_err(|e| StoreError::Damaged(format!("{}: {e}", address::FILE)));
            });
        }
        let decode = |file: &'static str, row: StoredRow| row.parse::<Feature>(level_of(file)?);
        load_rows(read, decode, &guidelines.plausible)
    });
    let registry = registry?.map_err(|e| {
        StoreError::Damaged(format!("registry version {version} does not load: {e}"))
    })?;
    Ok(CheckedVersion {
        registry,
        guidelines,
        entries: entries?,
    })
}

/// What a snapshot of one version is built from, read in one go (for the export, and for
/// callers that read in one transaction and build later).
pub struct StoredSnapshot {
    pub version: i64,
    /// Each layer's rows ([`rows_at`]), in [`Level::ALL`] order.
    pub rows: [Vec<StoredRow>; 3],
    pub guidelines: Option<String>,
    pub addresses: Option<String>,
}

impl StoredSnapshot {
    pub fn read(conn: &dyn Conn, version: i64) -> Result<Self, StoreError> {
        let [towns, communities, grids] = Level::ALL.map(|level| rows_at(conn, level, version));
        Ok(StoredSnapshot {
            version,
            rows: [towns?, communities?, grids?],
            guidelines: document(conn, GUIDELINES)?,
            addresses: document(conn, address::FILE)?,
        })
    }

    /// Each layer's rows parsed as `T` on rayon's threads, in row order (see [`parse_layer`]).
    pub fn parsed<T: DeserializeOwned + Send>(&self) -> Result<[Vec<T>; 3], StoreError> {
        let [towns, communities, grids] = &self.rows;
        Ok([
            parse_layer(towns, Level::Town)?,
            parse_layer(communities, Level::Community)?,
            parse_layer(grids, Level::Grid)?,
        ])
    }

    /// Builds the snapshot with the same checks as loading files ([`read_checked`]'s, each
    /// row's text dropped once parsed), so a damaged database is reported rather than served.
    pub fn build(self) -> Result<Snapshot, StoreError> {
        let StoredSnapshot {
            version,
            rows,
            guidelines,
            addresses,
        } = self;
        let mut layers = rows.map(Some);
        let read = |file: &'static str, sink: &mut dyn FnMut(usize, StoredRow)| {
            let layer = Level::ALL.iter().position(|l| l.file() == file);
            let rows = layer.and_then(|l| layers[l].take()).unwrap_or_default();
            for (index, row) in rows.into_iter().enumerate() {
                sink(index, row);
            }
            Ok(Ok(()))
        };
        check_version(read, guidelines.as_deref(), addresses, version).map(CheckedVersion::build)
    }
}

/// The rows of one layer parsed as `T` on rayon's threads, in row order. On damaged rows the
/// error names the first in code order (rayon reports whichever failure it met first in time).
fn parse_layer<T: DeserializeOwned + Send>(
    rows: &[StoredRow],
    level: Level,
) -> Result<Vec<T>, StoreError> {
    rows.par_iter()
        .map(|r| r.parse(level))
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| {
            rows.iter()
                .find_map(|r| r.parse::<IgnoredAny>(level).err())
                .unwrap_or(e)
        })
}

/// Why a directory could not seed the store.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Load(#[from] crate::registry::LoadError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<DbError> for SeedError {
    fn from(e: DbError) -> Self {
        SeedError::Store(e.into())
    }
}

/// Writes the boundary files of `dir` (already checked by loading a snapshot from it) as
/// version 1, with its guidelines and address register. Refuses a store that already has a
/// registry.
pub fn seed(tx: &dyn Conn, dir: &Path, actor: &str) -> Result<Version, SeedError> {
    if latest(tx)?.is_some() {
        return Err(StoreError::Damaged("the store already holds a registry".into()).into());
    }
    let now = super::now();
    let description = format!("seeded from {}", dir.display());
    tx.execute(
        "INSERT INTO versions (id, effective, created_at, description) VALUES (1, NULL, ?1, ?2)",
        sql_params![&now, &description],
    )?;
    let mut counts = Vec::new();
    for level in Level::ALL {
        let path = dir.join(level.file());
        let read = |source| SeedError::Read {
            path: path.display().to_string(),
            source,
        };
        // Feature by feature: a ×100 city's grids file (690 MB) as one `Value` tree took
        // several times its size in memory (issue 20).
        // Rows go to the database as they are parsed, all in one `COPY` on PostgreSQL.
        // On PostgreSQL each row carries its geometry as EWKB, which PostGIS reads as is:
        // making it from the GeoJSON in the database was nearly all of seeding's time.
        let bytes = std::fs::read(&path).map_err(read)?;
        let mut parsed = Ok(());
        let mut count = 0;
        let columns = feature_columns(tx.dialect());
        tx.insert_rows("features", columns, &mut |row| {
            let mut inserted = Ok(());
            parsed = feature_stream::read_collection(&bytes, &mut |_, feature: Value| {
                if inserted.is_ok() {
                    let text = feature.to_string();
                    let geometry = geometry_column(tx.dialect(), &feature);
                    let params = feature_params(level, &feature, &text, 1, None, &geometry);
                    inserted = row(&params[..columns.len()]);
                    count += 1;
                }
            })
            .map(|_| ());
            inserted
        })?;
        parsed.map_err(|e| read(e.into()))?;
        counts.push(count);
    }
    for name in [GUIDELINES, address::FILE] {
        let path = dir.join(name);
        if path.exists() {
            let content = std::fs::read_to_string(&path).map_err(|source| SeedError::Read {
                path: path.display().to_string(),
                source,
            })?;
            tx.execute(
                "INSERT INTO documents (name, content) VALUES (?1, ?2)",
                sql_params![name, &content],
            )?;
        }
    }
    let mut detail = serde_json::json!({ "from": dir.display().to_string() });
    for (level, n) in Level::ALL.into_iter().zip(counts) {
        detail[level.collection()] = n.into();
    }
    super::log::append(tx, actor, "registry.seed", "version 1", &detail)?;
    Ok(version(tx, 1)?.unwrap_or_else(|| unreachable!("version 1 was just written")))
}

/// Writes the row of version `id`, in force from `day`, made by approving proposal `proposal`.
pub(super) fn begin_version(
    tx: &dyn Conn,
    id: i64,
    day: &str,
    description: &str,
    proposal: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO versions (id, effective, created_at, description, proposal_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        sql_params![id, day, &super::now(), description, proposal],
    )?;
    Ok(())
}

/// Ends the current rows of `codes` in `layer` at `version` (they hold up to, not including,
/// that version).
pub(super) fn end_features(
    tx: &dyn Conn,
    layer: Level,
    codes: &[String],
    version: i64,
) -> Result<(), DbError> {
    for code in codes {
        tx.execute(
            "UPDATE features SET valid_to = ?1
             WHERE layer = ?2 AND code = ?3 AND valid_to IS NULL",
            sql_params![version, layer, code],
        )?;
    }
    Ok(())
}

/// Inserts features of `layer` valid from `version` (`predecessor`: the code a moved grid had).
pub(super) fn insert_features(
    tx: &dyn Conn,
    layer: Level,
    features: &[Value],
    version: i64,
    predecessors: Option<&[Option<String>]>,
) -> Result<(), DbError> {
    // Through `insert_rows`, as seeding does: the statement is made once (one `COPY` on
    // PostgreSQL) rather than formatted and sent feature by feature.
    let columns = feature_columns(tx.dialect());
    tx.insert_rows("features", columns, &mut |row| {
        for (i, feature) in features.iter().enumerate() {
            let predecessor = predecessors.and_then(|p| p.get(i).cloned().flatten());
            let text = feature.to_string();
            let geometry = geometry_column(tx.dialect(), feature);
            let params = feature_params(
                layer,
                feature,
                &text,
                version,
                predecessor.as_deref(),
                &geometry,
            );
            row(&params[..columns.len()])?;
        }
        Ok(())
    })
}

/// The columns a feature row is written with, in [`feature_params`]'s order: on PostgreSQL
/// also its PostGIS geometry (`geom`), which SQLite's schema does not have.
fn feature_columns(dialect: Dialect) -> &'static [(&'static str, Kind)] {
    const COLUMNS: &[(&str, Kind)] = &[
        ("layer", Kind::Text),
        ("code", Kind::Text),
        ("feature", Kind::Text),
        ("valid_from", Kind::Int),
        ("predecessor", Kind::Text),
        ("geom", Kind::Geometry),
    ];
    match dialect {
        Dialect::Postgres => COLUMNS,
        Dialect::Sqlite => &COLUMNS[..COLUMNS.len() - 1],
    }
}

/// The feature's geometry as the `geom` column's EWKB on PostgreSQL (`None`: no geometry, or
/// one PostGIS makes from the GeoJSON itself, see [`ewkb`]); nothing on SQLite.
fn geometry_column(dialect: Dialect, feature: &Value) -> Option<Vec<u8>> {
    match dialect {
        Dialect::Postgres => ewkb::feature_geometry(feature),
        Dialect::Sqlite => None,
    }
}

/// A feature row's parameters for every column [`feature_columns`] may name (a statement
/// takes the first `feature_columns(dialect).len()`).
fn feature_params<'a>(
    layer: Level,
    feature: &'a Value,
    text: &'a str,
    version: i64,
    predecessor: Option<&'a str>,
    geometry: &'a Option<Vec<u8>>,
) -> [Param<'a>; 6] {
    [
        layer.into(),
        feature_code(feature).into(),
        text.into(),
        version.into(),
        predecessor.into(),
        Param::Geometry(geometry.as_deref()),
    ]
}

/// A feature's `code` property ("" when it has none: seeding takes checked files).
fn feature_code(feature: &Value) -> &str {
    feature
        .pointer("/properties/code")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// What changed between two versions.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Diff {
    pub from: i64,
    pub to: i64,
    /// Communities in `to` that `from` did not have.
    pub created: Vec<CommunityRef>,
    /// Communities of `from` that `to` no longer has.
    pub ended: Vec<CommunityRef>,
    /// Communities in both whose territory differs.
    pub redrawn: Vec<CommunityRef>,
    /// Communities in both whose attributes (name, kind, staff, office) differ but not territory.
    pub changed: Vec<CommunityRef>,
    /// Grids that moved, grouped by (from community, to community).
    pub moved: Vec<Movement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CommunityRef {
    pub code: String,
    pub name: String,
    pub households: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Movement {
    pub from: String,
    pub to: String,
    pub households: u64,
    pub grids: Vec<MovedGrid>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MovedGrid {
    pub from: String,
    pub to: String,
    pub households: u64,
}

pub(crate) fn community_ref(f: &Value) -> CommunityRef {
    let p = |k: &str| f.pointer(&format!("/properties/{k}")).cloned();
    CommunityRef {
        code: p("code")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        name: p("name")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        households: p("households").and_then(|v| v.as_u64()).unwrap_or(0),
    }
}

/// Features by code.
pub(crate) type ByCode = std::collections::BTreeMap<String, Value>;

/// Features keyed by their `code` property.
pub(crate) fn by_code(features: Vec<Value>) -> ByCode {
    features
        .into_iter()
        .map(|f| (community_ref(&f).code, f))
        .collect()
}

/// The changes from version `a` to version `b` (either order).
pub fn diff(conn: &dyn Conn, a: i64, b: i64) -> Result<Diff, StoreError> {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut d = Diff {
        from: a,
        to: b,
        ..Diff::default()
    };
    community_changes(
        &by_code(features_at(conn, Level::Community, lo)?),
        &by_code(features_at(conn, Level::Community, hi)?),
        &mut d,
    );
    d.moved = grid_moves(conn, lo, hi)?;
    if a > b {
        std::mem::swap(&mut d.created, &mut d.ended);
        for m in &mut d.moved {
            std::mem::swap(&mut m.from, &mut m.to);
            for g in &mut m.grids {
                std::mem::swap(&mut g.from, &mut g.to);
            }
        }
    }
    Ok(d)
}

/// Communities created, ended, redrawn or otherwise changed from `old` to `new`.
pub(crate) fn community_changes(old: &ByCode, new: &ByCode, d: &mut Diff) {
    for (code, f) in new {
        match old.get(code) {
            None => d.created.push(community_ref(f)),
            Some(o) if o.get("geometry") != f.get("geometry") => d.redrawn.push(community_ref(f)),
            Some(o) if o != f => d.changed.push(community_ref(f)),
            Some(_) => {}
        }
    }
    d.ended = old
        .iter()
        .filter(|(c, _)| !new.contains_key(*c))
        .map(|(_, f)| community_ref(f))
        .collect();
}

/// Grids of `hi` that were other grids in `lo`, grouped by (from community, to community):
/// each new grid's predecessors are followed back to a grid valid in `lo`.
fn grid_moves(conn: &dyn Conn, lo: i64, hi: i64) -> Result<Vec<Movement>, StoreError> {
    let old_grids = by_code(features_at(conn, Level::Grid, lo)?);
    let mut moves = Vec::new();
    for f in features_at(conn, Level::Grid, hi)? {
        let code = community_ref(&f).code;
        if old_grids.contains_key(&code) {
            continue;
        }
        let mut origin = code.clone();
        // Bounded by the number of versions between: each step goes to an older row.
        for _ in 0..=(hi - lo) {
            let p: Option<String> = conn
                .query_opt(
                    "SELECT predecessor FROM features WHERE layer = ?3 AND code = ?1
                     AND valid_from <= ?2 AND predecessor IS NOT NULL
                     ORDER BY valid_from DESC LIMIT 1",
                    sql_params![&origin, hi, Level::Grid],
                )?
                .map(|r| r.get(0))
                .transpose()?;
            let Some(p) = p else { break };
            origin = p;
            if old_grids.contains_key(&origin) {
                break;
            }
        }
        let Some(was) = old_grids.get(&origin) else {
            continue; // a grid on new land, not a move
        };
        let community = |g: &Value| {
            g.pointer("/properties/community_code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let households = community_ref(&f).households;
        moves.push((
            community(was),
            community(&f),
            MovedGrid {
                from: origin,
                to: code,
                households,
            },
        ));
    }
    Ok(group_moves(moves))
}

/// Moved grids (from community, to community, grid) grouped by the pair of communities, with
/// their households summed.
pub(crate) fn group_moves(
    moves: impl IntoIterator<Item = (String, String, MovedGrid)>,
) -> Vec<Movement> {
    let mut groups: std::collections::BTreeMap<(String, String), Movement> = Default::default();
    for (from, to, grid) in moves {
        let m = groups
            .entry((from.clone(), to.clone()))
            .or_insert_with(|| Movement {
                from,
                to,
                households: 0,
                grids: Vec::new(),
            });
        m.households += grid.households;
        m.grids.push(grid);
    }
    groups.into_values().collect()
}

/// Opens the registry a server serves: the store's newest version, or — on first start, when
/// the store is empty — the boundary files of `data`, checked and written as version 1.
pub fn open_or_seed(
    store: &super::Store,
    data: &Path,
) -> Result<(Snapshot, Version, bool), String> {
    let location = store.location();
    let newest = || -> Result<Option<(Snapshot, Version)>, String> {
        let Some(v) = store.read(latest).map_err(|e| format!("{location}: {e}"))? else {
            return Ok(None);
        };
        let snapshot = snapshot_of(store, v.id).map_err(|e| format!("{location}: {e}"))?;
        Ok(Some((snapshot, v)))
    };
    if let Some((snapshot, v)) = newest()? {
        return Ok((snapshot, v, false));
    }
    let loading = std::time::Instant::now();
    let snapshot =
        Snapshot::load(data).map_err(|e| format!("cannot load {}: {e}", data.display()))?;
    let seeding = std::time::Instant::now();
    match store.write(|tx| seed(tx, data, "system")) {
        Ok(version) => {
            tracing::info!(
                "{} written into {location} in {:.0} ms (the files loaded and checked in {:.0} ms)",
                version.description,
                seeding.elapsed().as_secs_f64() * 1e3,
                (seeding - loading).as_secs_f64() * 1e3,
            );
            Ok((snapshot, version, true))
        }
        // Several servers starting on one empty PostgreSQL database: one seeds (writes are
        // serialised), the others find its registry here.
        Err(e) => match newest()? {
            Some((snapshot, v)) => Ok((snapshot, v, false)),
            None => Err(format!("cannot seed {location}: {e}")),
        },
    }
}

/// Writes `version` of the registry as boundary files (one feature per line) into `dir`, with
/// the guidelines and address register, so the files load again (`check-data`, `serve --data`).
pub fn export(conn: &dyn Conn, version: i64, dir: &Path) -> Result<Vec<String>, String> {
    StoredSnapshot::read(conn, version)
        .map_err(|e| e.to_string())?
        .write_files(dir)
}

impl StoredSnapshot {
    /// Writes these layers, guidelines and address register as boundary files into `dir` (see
    /// [`export`]); the same bytes whichever store they were read from.
    pub fn write_files(&self, dir: &Path) -> Result<Vec<String>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        let write = |name: &str, content: &str| -> Result<String, String> {
            let path = dir.join(name);
            std::fs::write(&path, content)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(path.display().to_string())
        };
        for (level, rows) in Level::ALL.into_iter().zip(&self.rows) {
            let mut text = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
            for (i, row) in rows.iter().enumerate() {
                if i > 0 {
                    text.push_str(",\n");
                }
                // As a `Value` writes it (compact, members in order), whatever the row's spacing.
                let f: Value = row.parse(level).map_err(|e| e.to_string())?;
                text.push_str(&f.to_string());
            }
            text.push_str("\n]}\n");
            written.push(write(level.file(), &text)?);
        }
        for (name, content) in [
            (GUIDELINES, &self.guidelines),
            (address::FILE, &self.addresses),
        ] {
            if let Some(content) = content {
                written.push(write(name, content)?);
            }
        }
        Ok(written)
    }
}

/// One stored state of a feature: what it was, and from/until which version (and date).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FeatureState {
    pub valid_from: VersionRef,
    /// The version that ended this state (`None`: still current).
    pub valid_to: Option<VersionRef>,
    /// The code this grid had before it moved here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    pub feature: Value,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VersionRef {
    pub version: i64,
    /// `None` for the seeded version.
    pub effective: Option<String>,
}

/// Every state `code` of `layer` has had, oldest first (empty: never existed).
pub fn history(conn: &dyn Conn, layer: Level, code: &str) -> Result<Vec<FeatureState>, StoreError> {
    let rows = conn.query(
        "SELECT f.feature, f.valid_from, vf.effective, f.valid_to, vt.effective, f.predecessor
         FROM features f JOIN versions vf ON vf.id = f.valid_from
         LEFT JOIN versions vt ON vt.id = f.valid_to
         WHERE f.layer = ?1 AND f.code = ?2 ORDER BY f.valid_from",
        sql_params![layer, code],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let to: Option<i64> = r.get(3)?;
        let text: String = r.get(0)?;
        let valid_from = VersionRef {
            version: r.get(1)?,
            effective: r.get(2)?,
        };
        let valid_to = match to {
            Some(version) => Some(VersionRef {
                version,
                effective: r.get(4)?,
            }),
            None => None,
        };
        let predecessor: Option<String> = r.get(5)?;
        out.push(FeatureState {
            feature: serde_json::from_str(&text).map_err(|e| {
                StoreError::Damaged(format!("{layer} feature {code} is not valid JSON: {e}"))
            })?,
            valid_from,
            valid_to,
            predecessor,
        });
    }
    Ok(out)
}
