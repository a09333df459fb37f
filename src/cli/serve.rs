//! `shequ serve`: the HTTP API and the web map over the database (seeded on first start).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shequ::accounts::{NewUser, Role};
use shequ::api::{self, ApiConfig, AppState, ServerLimits};
use shequ::store::accounts as store_accounts;
use shequ::store::registry as registry_store;
use shequ::store::{self, Store};
use shequ::tiles::StyleOptions;

use super::args::{LimitArgs, ServeArgs};
use super::error::CliError;
use super::render;
use super::users::{CLI_ACTOR, new_password};

/// Checks the flags, then serves until interrupted.
pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let seconds = |flag: &str, value: f64| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                CliError::input(format!(
                    "--{flag} {value}: give a positive number of seconds"
                ))
            })
    };
    if args.max_connections == 0 {
        return Err(CliError::input(
            "--max-connections 0: at least one connection is needed",
        ));
    }
    let limits = ServerLimits {
        max_connections: args.max_connections,
        header_read_timeout: seconds("header-timeout", args.header_timeout)?,
    };
    let public_url = args
        .public_url
        .as_deref()
        .map(api::parse_public_url)
        .transpose()
        .map_err(CliError::input)?;
    let basemap = basemap_config(
        args.tianditu_key,
        args.tianditu_url,
        args.tianditu_attribution,
    )?;
    let config = ApiConfig {
        basemap,
        body_limit: args.body_limit,
        tile_cache: args.tile_cache,
        style: StyleOptions {
            basemap: args.basemap,
            glyphs: args.glyphs,
        },
        read_access: args.read_access,
        metrics: !args.no_metrics,
        request_timeout: seconds("request-timeout", args.request_timeout)?,
        ..args.limits.config()
    };
    let server = Server {
        data: &args.data,
        db: &args.db.db,
        addr: args.addr,
        public_url,
        limits,
        init_admin: args.init_admin.as_deref(),
    };
    server.serve(config)
}

/// The basemap proxy's settings from the flags, else the environment (`SHEQU_TIANDITU_KEY`,
/// `SHEQU_TIANDITU_URL`).
fn basemap_config(
    key: Option<String>,
    url: Option<String>,
    attribution: Option<String>,
) -> Result<api::BasemapConfig, CliError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let key = key.or_else(|| env("SHEQU_TIANDITU_KEY"));
    if let Some(k) = &key {
        api::BasemapConfig::check_key(k)
            .map_err(|e| CliError::input(format!("--tianditu-key: {e}")))?;
    }
    let mut config = api::BasemapConfig {
        key,
        ..api::BasemapConfig::default()
    };
    if let Some(url) = url.or_else(|| env("SHEQU_TIANDITU_URL")) {
        if !url.starts_with("http://") {
            return Err(CliError::input(format!(
                "--tianditu-url {url}: give an http:// URL (shequ has no TLS client)"
            )));
        }
        config.upstream = url.trim_end_matches('/').to_owned();
    }
    if let Some(a) = attribution {
        config.attribution = a;
    }
    Ok(config)
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
                line_crossings: self.max_line_crossings,
            },
            cpu_pool: api::PoolConfig {
                permits: self.heavy_jobs.max(1),
                queue: self.heavy_queue,
                deadline: Duration::from_millis(self.heavy_wait_ms),
            },
            hash_pool: api::PoolConfig {
                permits: self.login_hashes.max(1),
                ..hash
            },
            ..ApiConfig::default()
        }
    }
}

/// What `serve` needs beyond the API configuration.
struct Server<'a> {
    data: &'a Path,
    db: &'a Path,
    addr: SocketAddr,
    public_url: Option<String>,
    limits: ServerLimits,
    init_admin: Option<&'a str>,
}

impl Server<'_> {
    fn serve(self, mut config: ApiConfig) -> Result<(), CliError> {
        let db = self.db;
        let location = store::Location::parse(db);
        // Before an SQLite database is touched: a second server on it stops here, changing
        // nothing. Servers on one PostgreSQL database share it (writes are serialised by the
        // database, and each follows the versions the others commit).
        let _one_server = match &location {
            store::Location::Sqlite(path) => {
                Some(store::ServerLock::acquire(path).map_err(CliError::input)?)
            }
            store::Location::Postgres(_) => None,
        };
        // Request logs go through a background writer thread, so a slow terminal or disk never
        // stalls request handling; the guard flushes what is buffered when `serve` returns.
        let (_flush_on_exit, access_log) = init_logging()?;
        config.access_log = access_log;
        let started = Instant::now();
        let store = Arc::new(
            Store::connect(&location).map_err(|e| CliError::from(e).context(location.display()))?,
        );
        let (snapshot, version, seeded) =
            registry_store::open_or_seed(&store, self.data).map_err(CliError::input)?;
        tracing::info!(
            "{} registry version {} in {:.0} ms: {}; {}",
            if seeded {
                format!(
                    "seeded {} from {} as",
                    store.location(),
                    self.data.display()
                )
            } else {
                format!("loaded from {}", store.location())
            },
            version.id,
            started.elapsed().as_secs_f64() * 1e3,
            render::summary(&snapshot.registry),
            render::noding(&snapshot.noding)
        );
        first_admin(&store, &store.location(), self.init_admin)?;
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| CliError::internal(format!("cannot start runtime: {e}")))?;
        let (addr, public_url, limits) = (self.addr, self.public_url, self.limits);
        runtime.block_on(async {
            let cannot_listen = |e| CliError::input(format!("cannot listen on {addr}: {e}"));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(cannot_listen)?;
            let bound = listener.local_addr().map_err(cannot_listen)?;
            config.public_url = public_url.unwrap_or_else(|| api::default_public_url(bound));
            let state = AppState::with_store(snapshot, version.id, store.clone(), &config);
            let _following = api::follow::follow(&state, store).map_err(|e| {
                CliError::internal(format!("cannot start the version watcher: {e}"))
            })?;
            // Before listening: no request should wait for the tile topology or the audit.
            let warming = Instant::now();
            state.published().warm();
            tracing::info!(
                "tile topology, audit and collections built in {:.0} ms",
                warming.elapsed().as_secs_f64() * 1e3
            );
            let shutdown = api::shutdown_signal();
            tracing::info!("public URL (TileJSON, style): {}", config.public_url);
            tracing::info!("serving on http://{bound}");
            let app = api::service(state, &config);
            api::serve_with(listener, app, limits, shutdown)
                .await
                .map_err(|e| CliError::internal(format!("server failed: {e}")))
        })
    }
}

/// Logs to stderr at `RUST_LOG` (default `info`) through a background writer
/// ([`super::log_writer`]); the guard writes what is pending when dropped. When stderr is a
/// file or a pipe and the access log is on at INFO, also returns the hand-written access log
/// ([`api::access_log`]) writing into the same writer; on a terminal the lines go through the
/// subscriber, with its colours.
fn init_logging() -> Result<
    (
        super::log_writer::FlushOnDrop,
        Option<api::access_log::AccessLog>,
    ),
    CliError,
> {
    let (writer, guard) = super::log_writer::spawn(std::io::stderr())
        .map_err(|e| CliError::internal(format!("cannot start the log writer: {e}")))?;
    let terminal = std::io::stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(writer.clone())
        .with_ansi(terminal)
        .init();
    let on = tracing::enabled!(target: "shequ::api::edge", tracing::Level::INFO);
    let access_log = (on && !terminal).then(|| {
        api::access_log::AccessLog::new(std::sync::Arc::new(move |line: &[u8]| writer.append(line)))
    });
    Ok((guard, access_log))
}

/// A way in for a new database: with `name`, creates that admin when no active admin exists
/// and prints its password once; without, says how to create one, since nobody can sign in or
/// manage accounts until an admin exists.
fn first_admin(store: &Store, db: &str, name: Option<&str>) -> Result<(), CliError> {
    let users = store
        .read(store_accounts::users)
        .map_err(|e| CliError::from(e).context(db))?;
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
            db = db
        ),
        (Some(name), false) => tracing::info!(
            "--init-admin {name}: {} already has an admin ({}), nothing created",
            db,
            admins.join(", ")
        ),
        (Some(name), true) => {
            let user = NewUser::new(name, Role::Admin, &[])
                .map_err(|e| CliError::input(format!("--init-admin {name}: {e}")))?;
            let (password, hash, _) = new_password(false)?;
            store
                .write(|tx| store_accounts::add_user(tx, CLI_ACTOR, &user, Some(&hash)))
                .map_err(|e| CliError::from(e).context(format!("--init-admin {name}")))?;
            // Not through the log: the password goes alone to stdout, once.
            eprintln!("admin {name} created; its password is shown only this once:");
            println!("{password}");
        }
    }
    Ok(())
}
