//! The command line as clap structs: every command, its arguments and their help texts. The
//! command bodies live in the sibling modules, one per command group.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use shequ::accounts::Role;
use shequ::api::{self, ApiConfig, ReadAccess, ServerLimits};
use shequ::registry::Level;

use super::error::EXIT_CODES;

/// The boundary directory commands read unless told otherwise.
pub const DEFAULT_DATA: &str = "boundaries";

#[derive(Parser)]
#[command(
    name = "shequ",
    version,
    about = "Community boundary service (社区): registry, lookups and checks",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The database a command works on (`--db`, default `data/shequ.db`).
#[derive(clap::Args, Clone)]
pub struct Db {
    /// The database (SQLite file; the one `serve` uses, which creates it when missing).
    #[arg(long, default_value = shequ::store::DEFAULT_PATH)]
    pub db: PathBuf,
}

/// A registry version in a database, instead of boundary files.
#[derive(clap::Args, Clone)]
pub struct FromDb {
    /// Read the registry from this database instead of files (the newest version, or the one
    /// in force on --as-of).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// With --db: the registry as it was on this day (YYYY-MM-DD).
    #[arg(long, requires = "db")]
    pub as_of: Option<String>,
}

/// Where a command reads the city from: boundary files, or a version in the database.
#[derive(clap::Args, Clone)]
pub struct Source {
    /// Boundary directory to read (ignored with --db).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    #[command(flatten)]
    pub from_db: FromDb,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API and the web map from the database (seeded from the boundary directory
    /// on first start).
    ///
    /// The first start creates the database and loads --data into it as registry version 1;
    /// from then on the database is the source of truth and --data is not read. A new database
    /// has no accounts: create the first admin with --init-admin NAME (or `shequ user add NAME
    /// --role admin`).
    Serve(Box<ServeArgs>),
    /// Manage user accounts: add, password, list, disable.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for other systems: create (shown once), list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Print which town, community and grid a point or an address is in (JSON, as the HTTP API
    /// answers).
    Lookup(LookupArgs),
    /// Validate a proposal (GeoJSON FeatureCollection with a `proposal` member) against the
    /// guidelines: exit code 0 pass (warnings allowed), 1 fail, 2 unreadable or invalid input.
    Validate {
        /// The proposal file (GeoJSON, as `boundaries/examples/proposals/*.geojson`).
        file: PathBuf,
        /// Print the report as JSON (the API's validation answer) instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: Source,
    },
    /// Suggest splits of an oversized community (ReCom over its grids; candidates validated):
    /// exit code 0 when a plan inside the household band was found, 1 when not, 2 bad input.
    Suggest(SuggestArgs),
    /// Audit coverage and guideline compliance: a report grouped by town; exit code 1 when any
    /// finding fails (fail or exception severity).
    Audit {
        /// Boundary directory to audit (ignored with --db).
        #[arg(default_value = DEFAULT_DATA)]
        dir: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        from_db: FromDb,
    },
    /// Convert survey data — Shapefile (.shp with .dbf/.prj/.cpg), GeoPackage, GeoJSON, or a
    /// directory of them — into WGS84 boundary files `OUT/<layer>.geojson`: CRS from the file
    /// (.prj, GeoPackage spatial reference, GeoJSON `crs`) or --crs, fields renamed by --map.
    /// With all three layers the result is checked before anything is written; otherwise OUT
    /// is checked once it holds all three.
    Import {
        /// The source: a .shp, .gpkg, .geojson file or a directory holding towns/communities/grids layers.
        file: PathBuf,
        /// CRS of sources that state none: wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>.
        #[arg(long)]
        crs: Option<String>,
        /// Which layer FILE holds, when its name does not say (a single-layer source).
        #[arg(long, value_parser = PossibleValuesParser::new(Level::ALL.map(Level::collection))
            .try_map(|s| s.parse::<Level>()))]
        layer: Option<Level>,
        /// Field mapping file (TOML): `[layers]` source layer → level, `[towns]`/`[communities]`/`[grids]` source field → shequ field.
        #[arg(long)]
        map: Option<PathBuf>,
        /// Directory to write the converted layers into (created if missing).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stage the city as a re-survey of this database's registry (SQLite file or
        /// postgres:// URL): a change of kind `resurvey` for a reviewer to approve.
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: the account (admin or reviewer) recorded as the importer (default: `cli`,
        /// acting as an admin).
        #[arg(long = "as", requires = "db")]
        user: Option<String>,
    },
    /// Write the registry from the database as boundary files (one directory that loads again).
    Export {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        #[command(flatten)]
        db: Db,
        /// Registry version to write (default: the newest).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Load a boundary directory and print a summary, or every problem found (exit code 1).
    CheckData {
        /// Boundary directory to check.
        #[arg(default_value = DEFAULT_DATA)]
        dir: PathBuf,
    },
    /// Copy an SQLite store into an empty PostgreSQL + PostGIS database with its whole history
    /// (registry versions, proposals, accounts, the audit log), then check the copy: row counts
    /// and the audit log's chain. Stop the server on the SQLite file first.
    MigrateStore {
        /// The SQLite store to copy.
        #[arg(long, default_value = shequ::store::DEFAULT_PATH)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://user@host/dbname (a Unix socket directory as
        /// ?host=/path). Its schema is created; it must hold no rows of a store yet.
        #[arg(long)]
        to: String,
    },
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Boundary directory (towns.geojson, communities.geojson, grids.geojson, guidelines,
    /// addresses) that seeds an empty database; afterwards the database is the source of truth.
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    #[command(flatten)]
    pub db: Db,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = ApiConfig::default().body_limit)]
    pub body_limit: usize,
    /// Rendered vector tiles kept in memory (0 disables the tile cache).
    #[arg(long, default_value_t = ApiConfig::default().tile_cache)]
    pub tile_cache: usize,
    /// Serve no /metrics and count nothing per request (the counting costs about 1 % of
    /// lookup throughput; see BENCHMARKS.md).
    #[arg(long)]
    pub no_metrics: bool,
    /// Raster basemap URL template ({z}/{x}/{y}) added under the layers of /style.json.
    #[arg(long)]
    pub basemap: Option<String>,
    /// 天地图 (Tianditu) key for the web map's basemap switch: tiles go through
    /// /basemap/{layer}/{z}/{x}/{y}, which adds it, so it never reaches a browser. Also read
    /// from SHEQU_TIANDITU_KEY. Without one the switch is disabled and says why.
    #[arg(long)]
    pub tianditu_key: Option<String>,
    /// Base URL the basemap proxy fetches tiles from (http only; also SHEQU_TIANDITU_URL).
    #[arg(long)]
    pub tianditu_url: Option<String>,
    /// Attribution shown with the basemap (天地图 and its 审图号).
    #[arg(long)]
    pub tianditu_attribution: Option<String>,
    /// Glyph URL template ({fontstack}/{range}.pbf) that /style.json labels use.
    #[arg(long)]
    pub glyphs: Option<String>,
    /// Who may read the registry, lookups, tiles, style and audit: `open` (anyone) or
    /// `token` (a valid API token or session; `/`, `/web/…`, `/health` and login stay open).
    #[arg(long, default_value = "open")]
    pub read_access: ReadAccess,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The URL clients reach this server at (e.g. https://map.example.org), written into
    /// TileJSON, the tile catalog and /style.json. Default: http://<the bound address>,
    /// with 0.0.0.0 written as 127.0.0.1. The request's Host header is never used.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Open connections at most; further clients wait until one closes.
    #[arg(long, default_value_t = ServerLimits::default().max_connections)]
    pub max_connections: usize,
    /// Seconds for a request's headers to arrive, and for an idle keep-alive connection to
    /// send its next request, before the connection is closed.
    #[arg(long, default_value_t = ServerLimits::default().header_read_timeout.as_secs_f64())]
    pub header_timeout: f64,
    /// Seconds a request may take, body included, before it is answered 503.
    #[arg(long, default_value_t = ApiConfig::default().request_timeout.as_secs_f64())]
    pub request_timeout: f64,
    /// Create this admin account if the database has no active admin, and print its
    /// generated password once (stdout); with an admin already there, nothing is created.
    #[arg(long, value_name = "NAME")]
    pub init_admin: Option<String>,
}

/// Caps on the work of one request and the admission of heavy requests (README, "Limits").
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Most ring positions in one proposal (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().proposal_vertices)]
    pub max_proposal_vertices: usize,
    /// Most parts (features) in one proposal (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().proposal_parts)]
    pub max_proposal_parts: usize,
    /// Most positions in a split line (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().line_points)]
    pub max_line_points: usize,
    /// Most matches one address request may ask for, queries × limit (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().address_matches)]
    pub max_address_matches: usize,
    /// Most edges one vertical or horizontal line may cross in a part's boundary or a split
    /// line (422 beyond): comb-like boundaries make the overlay take seconds to minutes.
    #[arg(long, default_value_t = api::Limits::default().line_crossings)]
    pub max_line_crossings: usize,
    /// CPU-heavy requests run at once (validation, splits, batches); default: one per core.
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().permits)]
    pub heavy_jobs: usize,
    /// CPU-heavy requests that may wait for a free slot (503 beyond).
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().queue)]
    pub heavy_queue: usize,
    /// Longest wait for a slot, in milliseconds (503 after).
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().deadline.as_millis() as u64)]
    pub heavy_wait_ms: u64,
    /// Password hashes (logins, new users) computed at once, 19 MiB each (429 beyond the queue).
    #[arg(long, default_value_t = api::PoolConfig::hash_default().permits)]
    pub login_hashes: usize,
}

#[derive(clap::Args)]
pub struct LookupArgs {
    /// Longitude (or easting in a projected CRS).
    #[arg(allow_negative_numbers = true, required_unless_present = "address")]
    pub lon: Option<f64>,
    /// Latitude (or northing in a projected CRS).
    #[arg(allow_negative_numbers = true, required_unless_present = "address")]
    pub lat: Option<f64>,
    /// Look up a free-text address in the register instead of a point.
    #[arg(long, conflicts_with_all = ["lon", "lat"])]
    pub address: Option<String>,
    /// Most address matches to print.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    /// CRS of the point: wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:<code> (projected).
    #[arg(long, default_value = "wgs84")]
    pub crs: String,
    #[command(flatten)]
    pub source: Source,
}

#[derive(clap::Args)]
pub struct SuggestArgs {
    /// Community code (omit with --all).
    pub code: Option<String>,
    /// What to propose: split, merge (merges with or grids from a neighbour of the same
    /// town), or auto (a split above the band's minimum, merges below it).
    #[arg(long, default_value = "auto", value_parser = ["auto", "split", "merge"])]
    pub kind: String,
    /// Number of parts, or auto (the fewest that can meet the band).
    #[arg(long, default_value = "auto")]
    pub parts: String,
    /// Candidates to return.
    #[arg(long, default_value_t = shequ::rules::suggest::DEFAULT_COUNT)]
    pub count: usize,
    /// Random seed (same seed, same answer).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Every community above its household band, one plan each, with a summary table.
    #[arg(long, conflicts_with = "code")]
    pub all: bool,
    /// With --all: only this town.
    #[arg(long, requires = "all")]
    pub town: Option<String>,
    #[command(flatten)]
    pub source: Source,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from stdin with --password-stdin; otherwise a strong
    /// one is generated and printed once.
    Add {
        /// The user's name (what they sign in with).
        name: String,
        /// viewer, street, reviewer or admin.
        #[arg(long)]
        role: Role,
        /// The towns (9-digit codes, comma-separated) a street user may draft for.
        #[arg(long, value_delimiter = ',')]
        towns: Vec<String>,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: Db,
    },
    /// Set a user's password (from stdin with --password-stdin, else generated and printed
    /// once); the user's sessions end.
    Password {
        /// The user whose password is set.
        name: String,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: Db,
    },
    /// List users: name, role, towns, status, creation time.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Disable a user: its sessions and tokens stop working at once.
    Disable {
        /// The user to disable.
        name: String,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is printed once (alone on stdout) and only its
    /// hash is kept.
    Create {
        /// The user the token acts as (its role decides what the token may do).
        #[arg(long)]
        user: String,
        /// Which system will use the token (shown when listing, so revoking is informed).
        #[arg(long)]
        label: String,
        #[command(flatten)]
        db: Db,
    },
    /// List tokens: id, user, label, created, revoked.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Recompute the hash chain: exit 0 and the number of entries when intact, exit 1 naming
    /// the first broken entry.
    Verify {
        #[command(flatten)]
        db: Db,
    },
}
