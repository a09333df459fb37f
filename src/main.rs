//! The `shequ` command line: a thin shell over the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use shequ::Snapshot;
use shequ::accounts::{NewUser, Role, credentials};
use shequ::api::{self, ApiConfig, AppState, ReadAccess, ServerLimits};
use shequ::crs::Crs;
use shequ::output::{PointPlace, address_answer};
use shequ::registry::{CommunityKind, Registry};
use shequ::store::accounts::{self as store_accounts, AccountError};
use shequ::store::registry as registry_store;
use shequ::store::{self, Store};
use shequ::tiles::StyleOptions;

mod suggest_cli;

#[derive(Parser)]
#[command(
    name = "shequ",
    version,
    about = "Community boundary service (社区): registry, lookups and checks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where a command reads the city from: boundary files, or a version in the database.
#[derive(clap::Args, Clone)]
struct Source {
    /// Boundary directory to read (ignored with --db).
    #[arg(long, default_value = "boundaries")]
    data: PathBuf,
    /// Read the registry from this database instead of files (the newest version, or the one
    /// in force on --as-of).
    #[arg(long)]
    db: Option<PathBuf>,
    /// With --db: the registry as it was on this day (YYYY-MM-DD).
    #[arg(long, requires = "db")]
    as_of: Option<String>,
}

/// Caps on the work of one request and the admission of heavy requests (README, "Limits").
#[derive(clap::Args)]
struct LimitArgs {
    /// Most ring positions in one proposal (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().proposal_vertices)]
    max_proposal_vertices: usize,
    /// Most parts (features) in one proposal (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().proposal_parts)]
    max_proposal_parts: usize,
    /// Most positions in a split line (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().line_points)]
    max_line_points: usize,
    /// Most matches one address request may ask for, queries × limit (413 beyond).
    #[arg(long, default_value_t = api::Limits::default().address_matches)]
    max_address_matches: usize,
    /// CPU-heavy requests run at once (validation, splits, batches); default: one per core.
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().permits)]
    heavy_jobs: usize,
    /// CPU-heavy requests that may wait for a free slot (503 beyond).
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().queue)]
    heavy_queue: usize,
    /// Longest wait for a slot, in milliseconds (503 after).
    #[arg(long, default_value_t = api::PoolConfig::cpu_default().deadline.as_millis() as u64)]
    heavy_wait_ms: u64,
    /// Password hashes (logins, new users) computed at once, 19 MiB each (429 beyond the queue).
    #[arg(long, default_value_t = api::PoolConfig::hash_default().permits)]
    login_hashes: usize,
}

impl LimitArgs {
    fn config(self) -> ApiConfig {
        let hash = api::PoolConfig::hash_default();
        ApiConfig {
            limits: api::Limits {
                proposal_vertices: self.max_proposal_vertices,
                proposal_parts: self.max_proposal_parts,
                line_points: self.max_line_points,
                address_matches: self.max_address_matches,
            },
            cpu_pool: api::PoolConfig {
                permits: self.heavy_jobs.max(1),
                queue: self.heavy_queue,
                deadline: std::time::Duration::from_millis(self.heavy_wait_ms),
            },
            hash_pool: api::PoolConfig {
                permits: self.login_hashes.max(1),
                ..hash
            },
            ..ApiConfig::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and the web map from the database (seeded from the boundary directory
    /// on first start).
    ///
    /// The first start creates the database and loads --data into it as registry version 1;
    /// from then on the database is the source of truth and --data is not read. A new database
    /// has no accounts: create the first admin with --init-admin NAME (or `shequ user add NAME
    /// --role admin`).
    Serve {
        /// Boundary directory (towns.geojson, communities.geojson, grids.geojson, guidelines,
        /// addresses) that seeds an empty database; afterwards the database is the source of truth.
        #[arg(long, default_value = "boundaries")]
        data: PathBuf,
        /// The database (SQLite; created if missing).
        #[arg(long, default_value = shequ::store::DEFAULT_PATH)]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = ApiConfig::default().body_limit)]
        body_limit: usize,
        /// Rendered vector tiles kept in memory (0 disables the tile cache).
        #[arg(long, default_value_t = ApiConfig::default().tile_cache)]
        tile_cache: usize,
        /// Raster basemap URL template ({z}/{x}/{y}) added under the layers of /style.json.
        #[arg(long)]
        basemap: Option<String>,
        /// Glyph URL template ({fontstack}/{range}.pbf) that /style.json labels use.
        #[arg(long)]
        glyphs: Option<String>,
        /// Who may read the registry, lookups, tiles, style and audit: `open` (anyone) or
        /// `token` (a valid API token or session; `/`, `/web/…`, `/health` and login stay open).
        #[arg(long, default_value = "open")]
        read_access: ReadAccess,
        #[command(flatten)]
        limits: LimitArgs,
        /// The URL clients reach this server at (e.g. https://map.example.org), written into
        /// TileJSON, the tile catalog and /style.json. Default: http://<the bound address>,
        /// with 0.0.0.0 written as 127.0.0.1. The request's Host header is never used.
        #[arg(long)]
        public_url: Option<String>,
        /// Open connections at most; further clients wait until one closes.
        #[arg(long, default_value_t = ServerLimits::default().max_connections)]
        max_connections: usize,
        /// Seconds for a request's headers to arrive, and for an idle keep-alive connection to
        /// send its next request, before the connection is closed.
        #[arg(long, default_value_t = ServerLimits::default().header_read_timeout.as_secs_f64())]
        header_timeout: f64,
        /// Seconds a request may take, body included, before it is answered 503.
        #[arg(long, default_value_t = ApiConfig::default().request_timeout.as_secs_f64())]
        request_timeout: f64,
        /// Create this admin account if the database has no active admin, and print its
        /// generated password once (stdout); with an admin already there, nothing is created.
        #[arg(long, value_name = "NAME")]
        init_admin: Option<String>,
    },
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
    Lookup {
        /// Longitude (or easting in a projected CRS).
        #[arg(allow_negative_numbers = true, required_unless_present = "address")]
        lon: Option<f64>,
        /// Latitude (or northing in a projected CRS).
        #[arg(allow_negative_numbers = true, required_unless_present = "address")]
        lat: Option<f64>,
        /// Look up a free-text address in the register instead of a point.
        #[arg(long, conflicts_with_all = ["lon", "lat"])]
        address: Option<String>,
        /// Most address matches to print.
        #[arg(long, default_value_t = 5)]
        limit: usize,
        /// CRS of the point: wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:<code> (projected).
        #[arg(long, default_value = "wgs84")]
        crs: String,
        #[command(flatten)]
        source: Source,
    },
    /// Validate a proposal (GeoJSON FeatureCollection with a `proposal` member) against the
    /// guidelines: exit code 0 pass (warnings allowed), 1 fail, 2 unreadable or invalid input.
    Validate {
        /// The proposal file (GeoJSON, as `boundaries/examples/proposals/*.geojson`).
        file: PathBuf,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        source: Source,
    },
    /// Suggest splits of an oversized community (ReCom over its grids; candidates validated):
    /// exit code 0 when a plan inside the household band was found, 1 when not, 2 bad input.
    Suggest {
        /// Community code (omit with --all).
        code: Option<String>,
        /// Number of parts, or auto (the fewest that can meet the band).
        #[arg(long, default_value = "auto")]
        parts: String,
        /// Candidates to return.
        #[arg(long, default_value_t = shequ::rules::suggest::DEFAULT_COUNT)]
        count: usize,
        /// Random seed (same seed, same answer).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
        /// Every community above its household band, one plan each, with a summary table.
        #[arg(long, conflicts_with = "code")]
        all: bool,
        /// With --all: only this town.
        #[arg(long, requires = "all")]
        town: Option<String>,
        #[command(flatten)]
        source: Source,
    },
    /// Audit coverage and guideline compliance: a report grouped by town; exit code 1 when any
    /// finding fails (fail or exception severity).
    Audit {
        /// Boundary directory to audit (ignored with --db).
        #[arg(default_value = "boundaries")]
        dir: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Audit the registry in this database instead of DIR.
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: the registry as it was on this day (YYYY-MM-DD).
        #[arg(long, requires = "db")]
        as_of: Option<String>,
    },
    /// Convert a GeoJSON layer from another CRS (e.g. EPSG:4547, gcj02) into a WGS84 boundary
    /// file `OUT/<layer>.geojson`; checks OUT with the loader once it holds all three layers.
    Import {
        /// GeoJSON FeatureCollection to import.
        file: PathBuf,
        /// CRS of FILE: wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>.
        #[arg(long)]
        crs: String,
        /// Which layer FILE holds.
        #[arg(long, value_parser = ["towns", "communities", "grids"])]
        layer: String,
        /// Directory to write the converted layer into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the registry from the database as boundary files (one directory that loads again).
    Export {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        /// The database to read.
        #[arg(long, default_value = shequ::store::DEFAULT_PATH)]
        db: PathBuf,
        /// Registry version to write (default: the newest).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Load a boundary directory and print a summary, or every problem found (exit code 1).
    CheckData {
        /// Boundary directory to check.
        #[arg(default_value = "boundaries")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
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
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// Set a user's password (from stdin with --password-stdin, else generated and printed
    /// once); the user's sessions end.
    Password {
        /// The user whose password is set.
        name: String,
        /// Read the password from standard input (one line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// List users: name, role, towns, status, creation time.
    List {
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// Disable a user: its sessions and tokens stop working at once.
    Disable {
        /// The user to disable.
        name: String,
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; the token is printed once (alone on stdout) and only its
    /// hash is kept.
    Create {
        /// The user the token acts as (its role decides what the token may do).
        #[arg(long)]
        user: String,
        /// Which system will use the token (shown when listing, so revoking is informed).
        #[arg(long)]
        label: String,
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// List tokens: id, user, label, created, revoked.
    List {
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Recompute the hash chain: exit 0 and the number of entries when intact, exit 1 naming
    /// the first broken entry.
    Verify {
        /// The database (the one `serve` uses).
        #[arg(long, default_value = store::DEFAULT_PATH)]
        db: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            data,
            db,
            addr,
            body_limit,
            tile_cache,
            basemap,
            glyphs,
            read_access,
            public_url,
            max_connections,
            header_timeout,
            request_timeout,
            limits: limit_args,
            init_admin,
        } => (|| {
            let seconds = |flag: &str, value: f64| {
                Duration::try_from_secs_f64(value)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("--{flag} {value}: give a positive number of seconds"))
            };
            if max_connections == 0 {
                return Err("--max-connections 0: at least one connection is needed".to_owned());
            }
            let limits = ServerLimits {
                max_connections,
                header_read_timeout: seconds("header-timeout", header_timeout)?,
            };
            let public_url = public_url
                .as_deref()
                .map(api::parse_public_url)
                .transpose()?;
            serve(
                &data,
                &db,
                addr,
                public_url,
                limits,
                init_admin.as_deref(),
                ApiConfig {
                    body_limit,
                    tile_cache,
                    style: StyleOptions { basemap, glyphs },
                    read_access,
                    request_timeout: seconds("request-timeout", request_timeout)?,
                    ..limit_args.config()
                },
            )
        })(),
        Command::User { command } => return exit(user_command(command)),
        Command::Token { command } => return exit(token_command(command)),
        Command::Log {
            command: LogCommand::Verify { db },
        } => return exit(log_verify(&db)),
        Command::Lookup {
            address: Some(address),
            limit,
            source,
            ..
        } => lookup_address(&source, &address, limit),
        Command::Lookup {
            lon: Some(lon),
            lat: Some(lat),
            crs,
            source,
            ..
        } => lookup(&source, [lon, lat], &crs),
        Command::Lookup { .. } => Err("give LON LAT or --address".into()),
        Command::CheckData { dir } => check_data(&dir),
        Command::Export { dir, db, version } => export(&dir, &db, version),
        Command::Audit {
            dir,
            json,
            db,
            as_of,
        } => audit(
            &Source {
                data: dir,
                db,
                as_of,
            },
            json,
        ),
        Command::Validate { file, json, source } => return validate(&file, json, &source),
        Command::Suggest {
            code,
            parts,
            count,
            seed,
            json,
            all,
            town,
            source,
        } => {
            let args = suggest_cli::Args {
                code,
                parts,
                count: if all && count == shequ::rules::suggest::DEFAULT_COUNT {
                    1
                } else {
                    count
                },
                seed,
                json,
                all,
                town,
            };
            return match load_source(&source) {
                Ok(snapshot) => suggest_cli::run(&snapshot, &args),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Import {
            file,
            crs,
            layer,
            out,
        } => import(&file, &crs, &layer, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) if message.is_empty() => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(dir: &Path) -> Result<Snapshot, String> {
    Snapshot::load(dir).map_err(|e| format!("cannot load {}: {e}", dir.display()))
}

fn serve(
    data: &Path,
    db: &Path,
    addr: SocketAddr,
    public_url: Option<String>,
    limits: ServerLimits,
    init_admin: Option<&str>,
    mut config: ApiConfig,
) -> Result<(), String> {
    // Before the database is touched: a second server on it stops here, changing nothing.
    let _one_server = store::ServerLock::acquire(db)?;
    // Request logs go through a background writer thread, so a slow terminal or disk never
    // stalls request handling; the guard flushes what is buffered when `serve` returns.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let started = Instant::now();
    let store = Arc::new(Store::open(db).map_err(|e| e.to_string())?);
    let (snapshot, version, seeded) = registry_store::open_or_seed(&store, data)?;
    tracing::info!(
        "{} registry version {} in {:.0} ms: {}",
        if seeded {
            format!("seeded {} from {} as", db.display(), data.display())
        } else {
            format!("loaded from {}", db.display())
        },
        version.id,
        started.elapsed().as_secs_f64() * 1e3,
        summary(&snapshot.registry)
    );
    first_admin(&store, db, init_admin)?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        config.public_url = public_url.unwrap_or_else(|| api::default_public_url(bound));
        let state = AppState::with_store(snapshot, version.id, store, &config);
        let shutdown = api::shutdown_signal();
        tracing::info!("public URL (TileJSON, style): {}", config.public_url);
        tracing::info!("serving on http://{bound}");
        let app = api::router(state, &config);
        api::serve_with(listener, app, limits, shutdown)
            .await
            .map_err(|e| format!("server failed: {e}"))
    })
}

/// A way in for a new database: with `name`, creates that admin when no active admin exists
/// and prints its password once; without, says how to create one, since nobody can sign in or
/// manage accounts until an admin exists.
fn first_admin(store: &Store, db: &Path, name: Option<&str>) -> Result<(), String> {
    let users = store
        .read(store_accounts::users)
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let admins: Vec<&str> = users
        .iter()
        .filter(|u| u.role == Role::Admin && !u.disabled)
        .map(|u| u.name.as_str())
        .collect();
    match (name, admins.is_empty()) {
        (None, false) => {}
        (None, true) => tracing::warn!(
            "no active admin account in {db}, so nobody can manage accounts: create one with \
             `cargo run --release -- user add NAME --role admin --db {db}` (prints its \
             password), or restart with `serve --init-admin NAME`",
            db = db.display()
        ),
        (Some(name), false) => tracing::info!(
            "--init-admin {name}: {} already has an admin ({}), nothing created",
            db.display(),
            admins.join(", ")
        ),
        (Some(name), true) => {
            let user = NewUser::new(name, Role::Admin, &[])
                .map_err(|e| format!("--init-admin {name}: {e}"))?;
            let (password, hash, _) = new_password(false).map_err(|e| e.message)?;
            store
                .write(|tx| store_accounts::add_user(tx, CLI_ACTOR, &user, Some(&hash)))
                .map_err(|e| format!("--init-admin {name}: {e}"))?;
            // Not through the log: the password goes alone to stdout, once.
            eprintln!("admin {name} created; its password is shown only this once:");
            println!("{password}");
        }
    }
    Ok(())
}

fn export(dir: &Path, db: &Path, version: Option<i64>) -> Result<(), String> {
    if !db.exists() {
        return Err(format!("no database at {}", db.display()));
    }
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let written = store.read(|c| {
        let version = match version {
            Some(v) => registry_store::version(c, v)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no registry version {v} in {}", db.display()))?,
            None => registry_store::latest(c)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{} holds no registry yet", db.display()))?,
        };
        let files = registry_store::export(c, version.id, dir)?;
        Ok::<_, String>((version.id, files))
    })?;
    println!(
        "registry version {} written to {}:",
        written.0,
        dir.display()
    );
    for file in written.1 {
        println!("  {file}");
    }
    Ok(())
}

/// The city a command reads: files, or a version from the database.
fn load_source(source: &Source) -> Result<Snapshot, String> {
    let Some(db) = &source.db else {
        return load(&source.data);
    };
    if !db.exists() {
        return Err(format!("no database at {}", db.display()));
    }
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let day = match &source.as_of {
        Some(day) => Some(
            time::Date::parse(day, store::DATE_FORMAT)
                .map_err(|_| format!("--as-of {day:?}: expected a date YYYY-MM-DD"))?,
        ),
        None => None,
    };
    registry_store::snapshot_as_of(&store, day)
        .map(|(_, snapshot)| snapshot)
        .map_err(|e| format!("{}: {e}", db.display()))
}

fn lookup(source: &Source, point: [f64; 2], crs: &str) -> Result<(), String> {
    let crs: Crs = crs.parse().map_err(|e| format!("--crs: {e}"))?;
    let point = crs.to_wgs84(point).map_err(|e| e.to_string())?;
    let snapshot = load_source(source)?;
    let place = PointPlace::new(&snapshot.registry, point, snapshot.lookup(point));
    let json = serde_json::to_string_pretty(&place).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

fn lookup_address(source: &Source, address: &str, limit: usize) -> Result<(), String> {
    let snapshot = load_source(source)?;
    let answer = address_answer(&snapshot, address, limit);
    let json = serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?;
    println!("{json}");
    if answer.matches.is_empty() {
        return Err(answer.detail.unwrap_or_default());
    }
    Ok(())
}

/// Files at least this large report progress (on a terminal only).
const PROGRESS_BYTES: u64 = 8 << 20;

fn import(file: &Path, crs: &str, layer: &str, out: &Path) -> Result<(), String> {
    let crs: Crs = crs.parse().map_err(|e| format!("--crs: {e}"))?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut collection: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    let show = std::io::stderr().is_terminal() && text.len() as u64 >= PROGRESS_BYTES;
    shequ::crs::reproject::reproject_collection(&crs, &mut collection, |done, total| {
        if show && (done % 1000 == 0 || done == total) {
            eprint!("\rimporting {}: {done}/{total} features", file.display());
            if done == total {
                eprintln!();
            }
        }
    })
    .map_err(|e| format!("{}: {e}", file.display()))?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // One feature per line, like the shipped files.
    let features = collection["features"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut body = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    let lines: Vec<String> = features.iter().map(ToString::to_string).collect();
    body.push_str(&lines.join(",\n"));
    body.push_str("\n]}\n");
    let target = out.join(format!("{layer}.geojson"));
    std::fs::write(&target, body).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    println!(
        "{}: {} features from {crs} written to {}",
        file.display(),
        features.len(),
        target.display()
    );
    if shequ::registry::FILES.iter().all(|f| out.join(f).exists()) {
        check_data(out)
    } else {
        println!(
            "(the loader checks {} once it holds all three layers)",
            out.display()
        );
        Ok(())
    }
}

fn check_data(dir: &Path) -> Result<(), String> {
    let snapshot = load(dir)?;
    println!("{}: ok — {}", dir.display(), summary(&snapshot.registry));
    Ok(())
}

/// Validates a proposal file; exit code 0 pass or warn, 1 fail, 2 input that cannot be read.
fn validate(file: &Path, json: bool, source: &Source) -> ExitCode {
    let unreadable = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return unreadable(format!("cannot read {}: {e}", file.display())),
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return unreadable(format!("{}: not valid JSON: {e}", file.display())),
    };
    let snapshot = match load_source(source) {
        Ok(s) => s,
        Err(e) => return unreadable(e),
    };
    let proposal = match shequ::rules::parse(&value, &snapshot.registry) {
        Ok(p) => p,
        Err(e) => return unreadable(format!("{}: {e}", file.display())),
    };
    let report = shequ::rules::validate(&proposal, &snapshot.registry, &snapshot.guidelines);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => return unreadable(e.to_string()),
        }
    } else {
        print!("{}", report_text(&report));
    }
    if report.verdict == shequ::rules::Verdict::Fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A validation report as tables: each part's rules, the proposal's checks, before and after.
fn report_text(r: &shequ::rules::Report) -> String {
    use std::fmt::Write;
    let verdict = |v: shequ::rules::Verdict| match v {
        shequ::rules::Verdict::Pass => "PASS",
        shequ::rules::Verdict::Warn => "WARN",
        shequ::rules::Verdict::Fail => "FAIL",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({:?} of {}): {}",
        r.title,
        r.kind,
        r.parents.join(", "),
        verdict(r.verdict)
    );
    for part in &r.parts {
        let m = &part.measures;
        let _ = writeln!(
            out,
            "\n{} [{}] {}: {:.0} m², {:.0} households, {:.0} residents, {} workers",
            part.name,
            part.kind,
            verdict(part.verdict),
            m.area_m2,
            m.households,
            m.population,
            m.workers
        );
        for c in &part.checks {
            let _ = writeln!(
                out,
                "  {:<5} {:<34} {}",
                verdict(c.verdict),
                c.rule,
                c.message
            );
        }
        for g in &part.cut_grids {
            let _ = writeln!(
                out,
                "        cut grid {} {}: {:.1}% inside{}",
                g.code,
                g.name,
                100.0 * g.share_inside,
                if g.snapping_error {
                    " (snapping error)"
                } else {
                    ""
                }
            );
        }
    }
    let _ = writeln!(out, "\nproposal");
    for c in &r.checks {
        let _ = writeln!(
            out,
            "  {:<5} {:<34} {}",
            verdict(c.verdict),
            c.rule,
            c.message
        );
    }
    let first = r
        .parts
        .iter()
        .map(|p| unicode_width::UnicodeWidthStr::width(p.name.as_str()))
        .fold(8, usize::max);
    let row = |name: &str, t: &shequ::rules::Totals| {
        format!(
            "  {} {:>10.0} {:>10.0} {:>8} {:>10} {:>10.0} {:>10.0}\n",
            pad(name, first),
            t.households,
            t.population,
            t.workers,
            t.households_per_worker
                .map_or("-".to_owned(), |h| format!("{h:.0}")),
            t.service_households,
            t.office_area_m2
        )
    };
    let _ = writeln!(
        out,
        "\n  {} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10}",
        pad("", first),
        "households",
        "residents",
        "workers",
        "hh/worker",
        "service",
        "office m²"
    );
    out += &row("before", &r.before_after.before);
    out += &row("after", &r.before_after.after);
    for (part, t) in r.parts.iter().zip(&r.before_after.parts) {
        out += &row(&part.name, t);
    }
    out
}

/// `text` padded with spaces to `width` terminal columns: `{:<8}` counts characters, but a
/// Chinese character takes two columns, so names like 环城社区 would push the table askew.
fn pad(text: &str, width: usize) -> String {
    let columns = unicode_width::UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

/// Runs the audit; `Err("")` (exit code 1, nothing more to say) when a finding fails.
fn audit(source: &Source, json: bool) -> Result<(), String> {
    let snapshot = load_source(source)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(snapshot.registry.communities.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("auditing {bar:40} {pos}/{len} communities")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let report = shequ::audit::audit(&snapshot.registry, &snapshot.guidelines, &|done, _| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", audit_text(&snapshot.registry, &report));
    }
    if report.has_failures() {
        Err(String::new())
    } else {
        Ok(())
    }
}

/// The audit as a readable report grouped by town.
fn audit_text(r: &Registry, report: &shequ::audit::AuditReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{} findings ({} failing): {}",
        s.findings,
        s.failing,
        s.by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "unassigned land {:.1} m², overlap between communities {:.1} m²",
        s.unassigned_m2, s.overlap_m2
    );
    let mut town: Option<&str> = None;
    for f in &report.findings {
        if town != f.town_code.as_deref() {
            town = f.town_code.as_deref();
            let name = town
                .and_then(|c| r.town_by_code(c))
                .map_or("", |t| r.towns[t].name.as_str());
            let _ = writeln!(out, "\n== {} {name}", town.unwrap_or("(no town)"));
        }
        let _ = writeln!(
            out,
            "[{}] {}: {}",
            f.severity.as_str(),
            f.kind.as_str(),
            f.message
        );
        let _ = writeln!(out, "    → {}", f.suggestion);
    }
    out + &audit_reading(report)
}

/// The closing lines of the audit: the failing findings split by what they mean, so that a
/// reader (say, of the shipped city, which fails its own audit) can tell data to fix from
/// communities that miss the guidelines.
fn audit_reading(report: &shequ::audit::AuditReport) -> String {
    use shequ::audit::FindingKind;
    let failing: Vec<_> = report.findings.iter().filter(|f| f.is_failing()).collect();
    if failing.is_empty() {
        return String::new();
    }
    let count =
        |keep: &dyn Fn(FindingKind) -> bool| failing.iter().filter(|f| keep(f.kind)).count();
    let defects = count(&FindingKind::is_data_defect);
    let mut text = format!(
        "\nHow to read this: {} failing findings.\n\
         \x20 {defects} data defects (overlaps, gaps, slivers, parts outside a town or community, \
         grids not tiling): fix the boundary data.\n\
         \x20 {} communities without territory: the city has yet to draw them.\n\
         \x20 {} guideline findings: communities that miss the establishment guidelines (too many \
         households, too few workers or too little office space; `exception` = outside the size \
         range without a written justification): candidates for a split, more staff or space.\n",
        failing.len(),
        count(&|k| k == FindingKind::NoTerritory),
        count(&|k| k == FindingKind::Guideline),
    );
    if defects == 0 {
        text += "The boundary data itself is consistent; what fails is the city's communities \
                 (as in the shipped sample city, which models the real city's shortfalls).\n";
    }
    text
}

fn summary(r: &Registry) -> String {
    let kinds: Vec<String> = CommunityKind::ALL
        .iter()
        .map(|&k| {
            let n = r.communities.iter().filter(|c| c.kind == k).count();
            format!("{n} {}", k.as_str())
        })
        .collect();
    let without = r
        .communities
        .iter()
        .filter(|c| c.territory.is_none())
        .count();
    let total = r.total_counts();
    format!(
        "{} towns, {} communities ({}; {} without territory), {} grids, {} households, {} residents",
        r.towns.len(),
        r.communities.len(),
        kinds.join(", "),
        without,
        r.grids.len(),
        total.households,
        total.population
    )
}

/// How an accounts or log command failed: bad input (exit 2) or a failure (exit 1), and what.
struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    fn input(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<AccountError> for CliError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(_)
            | AccountError::Password(_)
            | AccountError::Label(_)
            | AccountError::Duplicate(_)
            | AccountError::UnknownUser(_)
            | AccountError::Disabled(_)
            | AccountError::UnknownToken(_)
            | AccountError::BadCredentials => CliError::input(e.to_string()),
            AccountError::Secret(_) | AccountError::Sqlite(_) | AccountError::Damaged(_) => {
                CliError::failure(e.to_string())
            }
        }
    }
}

fn exit(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Opens the database at `path`; only `create` may make a new one (so a mistyped `--db` is
/// reported rather than answered from an empty database).
fn open_db(path: &Path, create: bool) -> Result<Store, CliError> {
    if !create && !path.exists() {
        return Err(CliError::input(format!(
            "no database at {} (give --db, or create one with `shequ user add`)",
            path.display()
        )));
    }
    Store::open(path).map_err(|e| CliError::failure(e.to_string()))
}

/// The audit log's actor for everything done from the command line.
const CLI_ACTOR: &str = "cli";

fn user_command(command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            name,
            role,
            towns,
            password_stdin,
            db,
        } => {
            let user =
                NewUser::new(&name, role, &towns).map_err(|e| CliError::input(e.to_string()))?;
            let (password, hash, generated) = new_password(password_stdin)?;
            let store = open_db(&db, true)?;
            let added =
                store.write(|tx| store_accounts::add_user(tx, CLI_ACTOR, &user, Some(&hash)))?;
            let summary = format!(
                "user {} added ({}{})",
                added.name,
                added.role.as_str(),
                if added.towns.is_empty() {
                    String::new()
                } else {
                    format!(", towns {}", added.towns.join(","))
                }
            );
            if generated {
                // The password alone on stdout, so a script can capture it.
                eprintln!("{summary}; its generated password is shown only this once:");
                println!("{password}");
            } else {
                println!("{summary}");
            }
            Ok(())
        }
        UserCommand::Password {
            name,
            password_stdin,
            db,
        } => {
            let store = open_db(&db, false)?;
            if store
                .read(|c| store_accounts::find_user(c, &name))?
                .is_none()
            {
                return Err(AccountError::UnknownUser(name).into());
            }
            let (password, hash, generated) = new_password(password_stdin)?;
            store.write(|tx| store_accounts::set_password(tx, CLI_ACTOR, &name, &hash))?;
            let summary = format!("password of {name} set; its sessions are ended");
            if generated {
                eprintln!("{summary}; the generated password is shown only this once:");
                println!("{password}");
            } else {
                println!("{summary}");
            }
            Ok(())
        }
        UserCommand::List { db } => {
            let store = open_db(&db, false)?;
            let users = store.read(store_accounts::users)?;
            println!(
                "{:<24} {:<9} {:<9} {:<21} towns",
                "name", "role", "status", "created"
            );
            for u in users {
                println!(
                    "{:<24} {:<9} {:<9} {:<21} {}",
                    u.name,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at,
                    u.towns.join(",")
                );
            }
            Ok(())
        }
        UserCommand::Disable { name, db } => {
            let store = open_db(&db, false)?;
            let was_disabled = store
                .read(|c| store_accounts::find_user(c, &name))?
                .is_some_and(|u| u.disabled);
            store.write(|tx| store_accounts::disable_user(tx, CLI_ACTOR, &name))?;
            if was_disabled {
                println!("user {name} was already disabled");
            } else {
                println!("user {name} disabled; its sessions and tokens are revoked");
            }
            Ok(())
        }
    }
}

/// A new password (one line from stdin, or generated) and its argon2id hash; `true` when
/// generated, so the caller prints it once.
fn new_password(from_stdin: bool) -> Result<(String, String, bool), CliError> {
    let (password, generated) = if from_stdin {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::input(format!("cannot read the password from stdin: {e}")))?;
        let line = text.strip_suffix('\n').unwrap_or(&text);
        let line = line.strip_suffix('\r').unwrap_or(line).to_owned();
        credentials::check_new_password(&line)
            .map_err(|e| CliError::input(format!("password from stdin: {e}")))?;
        (line, false)
    } else {
        let p = credentials::generate_password().map_err(|e| CliError::failure(e.to_string()))?;
        (p, true)
    };
    let hash =
        credentials::hash_password(&password).map_err(|e| CliError::failure(e.to_string()))?;
    Ok((password, hash, generated))
}

fn token_command(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { user, label, db } => {
            let store = open_db(&db, false)?;
            let token =
                store.write(|tx| store_accounts::create_token(tx, CLI_ACTOR, &user, &label))?;
            eprintln!(
                "token {} created for {} ({}); it is shown only this once:",
                token.id, token.user, token.label
            );
            println!("{}", token.token);
            Ok(())
        }
        TokenCommand::List { db } => {
            let store = open_db(&db, false)?;
            println!(
                "{:>5} {:<24} {:<21} {:<21} label",
                "id", "user", "created", "revoked"
            );
            for t in store.read(store_accounts::tokens)? {
                println!(
                    "{:>5} {:<24} {:<21} {:<21} {}",
                    t.id,
                    t.user,
                    t.created_at,
                    t.revoked_at.as_deref().unwrap_or("-"),
                    t.label
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id, db } => {
            let store = open_db(&db, false)?;
            let info = store.write(|tx| store_accounts::revoke_token(tx, CLI_ACTOR, id))?;
            println!(
                "token {} of {} ({}) revoked at {}",
                info.id,
                info.user,
                info.label,
                info.revoked_at.as_deref().unwrap_or("?")
            );
            Ok(())
        }
    }
}

fn log_verify(db: &Path) -> Result<(), CliError> {
    let store = open_db(db, false)?;
    let (outcome, (seq, hash)) = store
        .read(|c| Ok::<_, rusqlite::Error>((store::log::verify(c)?, store::log::head(c)?)))
        .map_err(|e| CliError::failure(format!("{}: {e}", db.display())))?;
    match outcome {
        Ok(n) => {
            println!(
                "{}: audit log intact, {n} entries (head {seq} {hash})",
                db.display()
            );
            Ok(())
        }
        Err(broken) => Err(CliError::failure(format!(
            "{}: audit log broken: {broken}",
            db.display()
        ))),
    }
}
