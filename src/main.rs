//! The `shequ` command line: a thin shell over the library.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use shequ::Snapshot;
use shequ::api::{self, ApiConfig, AppState, PointPlace};
use shequ::crs::Crs;
use shequ::registry::{CommunityKind, Registry};

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

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API over a boundary directory.
    Serve {
        /// Directory with towns.geojson, communities.geojson and grids.geojson.
        #[arg(long, default_value = "boundaries")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = ApiConfig::default().body_limit)]
        body_limit: usize,
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
        #[arg(long, default_value = "boundaries")]
        data: PathBuf,
    },
    /// Load a boundary directory and print a summary, or every problem found (exit code 1).
    CheckData {
        #[arg(default_value = "boundaries")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            data,
            addr,
            body_limit,
        } => serve(&data, addr, ApiConfig { body_limit }),
        Command::Lookup {
            address: Some(address),
            limit,
            data,
            ..
        } => lookup_address(&data, &address, limit),
        Command::Lookup {
            lon: Some(lon),
            lat: Some(lat),
            crs,
            data,
            ..
        } => lookup(&data, [lon, lat], &crs),
        Command::Lookup { .. } => Err("give LON LAT or --address".into()),
        Command::CheckData { dir } => check_data(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(dir: &Path) -> Result<Snapshot, String> {
    Snapshot::load(dir).map_err(|e| format!("cannot load {}: {e}", dir.display()))
}

fn serve(data: &Path, addr: SocketAddr, config: ApiConfig) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let started = Instant::now();
    let snapshot = load(data)?;
    tracing::info!(
        "loaded {} in {:.0} ms: {}",
        data.display(),
        started.elapsed().as_secs_f64() * 1e3,
        summary(&snapshot.registry)
    );
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        tracing::info!("serving on http://{bound}");
        let app = api::router(AppState::new(snapshot), &config);
        api::serve(listener, app, api::shutdown_signal())
            .await
            .map_err(|e| format!("server failed: {e}"))
    })
}

fn lookup(data: &Path, point: [f64; 2], crs: &str) -> Result<(), String> {
    let crs: Crs = crs.parse().map_err(|e| format!("--crs: {e}"))?;
    let point = crs.to_wgs84(point).map_err(|e| e.to_string())?;
    let snapshot = load(data)?;
    let place = PointPlace::new(&snapshot.registry, point, snapshot.lookup(point));
    let json = serde_json::to_string_pretty(&place).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

fn lookup_address(data: &Path, address: &str, limit: usize) -> Result<(), String> {
    let snapshot = load(data)?;
    let answer = api::address_answer(&snapshot, address, limit);
    let json = serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?;
    println!("{json}");
    if answer.matches.is_empty() {
        return Err(answer.detail.unwrap_or_default());
    }
    Ok(())
}

fn check_data(dir: &Path) -> Result<(), String> {
    let snapshot = load(dir)?;
    println!("{}: ok — {}", dir.display(), summary(&snapshot.registry));
    Ok(())
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
