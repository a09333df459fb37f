//! `gen-city`: the deterministic generator of shequ's synthetic sample city.
//!
//! Writes `towns.geojson`, `communities.geojson`, `grids.geojson` and the address register
//! `addresses.csv` for a synthetic Zhongshan:
//! the 23 real towns/streets roughly where they are, communities and grids with generated borders
//! and counts. The same seed and scale always give byte-identical files (own PRNG, no hash-map
//! iteration, no platform maths functions), so the shipped files can be checked against a fresh
//! regeneration. `--scale N` writes N independent cities side by side for benchmarks.
//!
//! This binary is deliberately independent of the `shequ` library: the data it makes is what the
//! library is tested against, so it must not share the library's code or bugs.

mod addresses;
mod arcs;
mod article;
mod census;
mod city;
mod geojson_out;
mod mesh;
mod names;
mod noise;
mod outline;
mod partition;
mod plan;
mod projection;
mod rings;
mod rng;
mod seeds;
mod tjunctions;
mod towns;
mod wiggle;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::census::Kind;
use crate::city::{City, CityParams};
use crate::geojson_out::{CollectionWriter, Props, feature};

/// Seed of the shipped sample city.
const DEFAULT_SEED: u64 = 20_220_601;
/// Six-digit prefix of Zhongshan's codes; copy k uses PREFIX + 100·k.
const PREFIX: u32 = 442_000;
/// Copies beyond this would overflow the six-digit prefix.
const MAX_SCALE: u32 = 1_000;

/// Generate the synthetic city (towns, communities, grids) as GeoJSON.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Directory to write towns.geojson, communities.geojson and grids.geojson into
    /// (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Number of independent cities to write side by side (1 = the sample city).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SCALE)))]
    scale: u32,
    /// Random seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Write instead a small city drawn like surveyed data (3 towns, 12 communities, 144
    /// grids): grid corners fall on community edges without matching vertices (T-junctions).
    #[arg(long, conflicts_with = "scale")]
    t_junctions: bool,
    /// Survey noise of the T-junction city: every point moves by up to this many millimetres.
    #[arg(long, default_value_t = 0.0, requires = "t_junctions", value_parser = jitter_mm)]
    jitter_mm: f64,
}

/// A jitter of 0 to 1,000 mm.
fn jitter_mm(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s}: expected a number of millimetres from 0 to 1000"
        )),
    }
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-city: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Copy `k` of the city: its own seed, code prefix and position. Copies sit on a square-ish
/// grid, rows going north; the east–west step grows with latitude so that copies (about 52 km
/// wide) never overlap.
fn params(seed: u64, k: u32, scale: u32) -> CityParams {
    let cols = (1..=scale).find(|c| c * c >= scale).unwrap_or(1);
    let dlat = 0.7 * f64::from(k / cols);
    let to_rad = std::f64::consts::PI / 180.0;
    let widen = projection::det_cos(city::BASE_LAT * to_rad)
        / projection::det_cos((city::BASE_LAT + dlat) * to_rad);
    CityParams {
        index: k,
        seed: if k == 0 {
            seed
        } else {
            rng::hash2(seed, u64::from(k))
        },
        prefix: PREFIX + 100 * k,
        dlon: 0.6 * widen * f64::from(k % cols),
        dlat,
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let path = |name: &str| args.out.join(name);
    let mut towns = CollectionWriter::create(&path("towns.geojson"))?;
    let mut communities = CollectionWriter::create(&path("communities.geojson"))?;
    let mut grids = CollectionWriter::create(&path("grids.geojson"))?;
    if args.t_junctions {
        let options = tjunctions::Options {
            seed: args.seed,
            jitter_mm: args.jitter_mm,
        };
        let (t, c, g) = tjunctions::write(&options, &mut towns, &mut communities, &mut grids)?;
        towns.finish()?;
        communities.finish()?;
        grids.finish()?;
        println!(
            "gen-city: T-junction city, seed {}, jitter up to {} mm -> {}: {t} towns, {c} communities, {g} grids",
            args.seed,
            args.jitter_mm,
            args.out.display()
        );
        return Ok(());
    }
    let mut register = String::from("code,address,lon,lat\n");
    let mut stats = Stats::default();
    for k in 0..args.scale {
        let p = params(args.seed, k, args.scale);
        let city = city::generate(&p).map_err(|e| format!("city {k}: {e}"))?;
        // Copies have increasing prefixes, so writing copy after copy keeps features sorted.
        write_city(&city, &mut towns, &mut communities, &mut grids)?;
        let frame = projection::Frame::new(city::BASE_LON + p.dlon, city::BASE_LAT + p.dlat);
        let entries = addresses::addresses(&city, frame, p.seed);
        for a in &entries {
            addresses::csv_row(a, &mut register);
        }
        stats.addresses += entries.len();
        stats.add(&city);
    }
    std::fs::write(path("addresses.csv"), register)
        .map_err(|e| format!("cannot write {}: {e}", path("addresses.csv").display()))?;
    towns.finish()?;
    communities.finish()?;
    grids.finish()?;
    stats.print(args, &args.out, started.elapsed().as_secs_f64());
    Ok(())
}

fn write_city(
    city: &City,
    towns: &mut CollectionWriter,
    communities: &mut CollectionWriter,
    grids: &mut CollectionWriter,
) -> Result<(), String> {
    for t in &city.towns {
        let props = Props::default().str("code", &t.code).str("name", &t.name);
        towns.feature(&feature(props, Some(&t.ring)))?;
    }
    for c in &city.communities {
        let props = Props::default()
            .str("code", &c.code)
            .str("name", &c.name)
            .str("town_code", &c.town_code)
            .str("kind", c.kind.as_str())
            .int("workers", u64::from(c.workers))
            .tenths("office_area_m2", c.office_area_tenths)
            .position("office", c.office)
            .int("households", c.counts.households)
            .int("population", c.counts.population)
            .int("service_households", c.counts.service);
        communities.feature(&feature(props, c.ring.as_deref()))?;
    }
    for g in &city.grids {
        let props = Props::default()
            .str("code", &g.code)
            .str("name", &g.name)
            .str("community_code", &g.community_code)
            .int("households", g.counts.households)
            .int("population", g.counts.population)
            .int("service_households", g.counts.service);
        grids.feature(&feature(props, Some(&g.ring)))?;
    }
    Ok(())
}

/// Figures for the summary printout.
#[derive(Default)]
struct Stats {
    towns: usize,
    kinds: [usize; 3],
    no_territory: usize,
    grids: usize,
    addresses: usize,
    town_vertices: Vec<usize>,
    community_vertices: Vec<usize>,
    grid_vertices: Vec<usize>,
    community_households: Vec<u64>,
    grid_households: Vec<u64>,
    households: u64,
    population: u64,
    workers: u64,
    chengnan_line: Option<i64>,
}

impl Stats {
    fn add(&mut self, city: &City) {
        self.towns += city.towns.len();
        self.grids += city.grids.len();
        self.town_vertices
            .extend(city.towns.iter().map(|t| t.ring.len()));
        for c in &city.communities {
            let k = match c.kind {
                Kind::Community => 0,
                Kind::VillageConverted => 1,
                Kind::Village => 2,
            };
            self.kinds[k] += 1;
            match &c.ring {
                Some(r) => self.community_vertices.push(r.len()),
                None => self.no_territory += 1,
            }
            self.community_households.push(c.counts.households);
            self.households += c.counts.households;
            self.population += c.counts.population;
            self.workers += u64::from(c.workers);
        }
        self.grid_vertices
            .extend(city.grids.iter().map(|g| g.ring.len()));
        self.grid_households
            .extend(city.grids.iter().map(|g| g.counts.households));
        if self.chengnan_line.is_none() {
            self.chengnan_line = city.chengnan_line;
        }
    }

    fn print(&self, args: &Args, out: &Path, seconds: f64) {
        let n_comm = self.kinds.iter().sum::<usize>();
        println!(
            "gen-city: seed {} scale {} -> {}",
            args.seed,
            args.scale,
            out.display()
        );
        println!("  towns/streets        {}", self.towns);
        println!(
            "  communities          {n_comm}: community {} (of which {} without territory), village_converted {}, village {}",
            self.kinds[0], self.no_territory, self.kinds[1], self.kinds[2]
        );
        println!("  grids                {}", self.grids);
        println!("  addresses            {}", self.addresses);
        println!(
            "  ring positions       towns {}",
            spread(&self.town_vertices)
        );
        println!(
            "                       communities {}",
            spread(&self.community_vertices)
        );
        println!(
            "                       grids {}",
            spread(&self.grid_vertices)
        );
        println!(
            "  households/community {}",
            spread(&self.community_households)
        );
        println!("  households/grid      {}", spread(&self.grid_households));
        println!(
            "  total households {}, population {}, workers {} (mean {:.1} per community)",
            self.households,
            self.population,
            self.workers,
            self.workers as f64 / n_comm.max(1) as f64
        );
        if let Some(line) = self.chengnan_line {
            let mut s = String::new();
            projection::fmt_fixed(line, &mut s);
            println!("  城南社区 split line  lon {s} (grids with centroid west of it: 环城 part)");
        }
        for name in [
            "towns.geojson",
            "communities.geojson",
            "grids.geojson",
            "addresses.csv",
        ] {
            let size = std::fs::metadata(out.join(name)).map_or(0, |m| m.len());
            println!("  {name:<20} {size} bytes");
        }
        println!("  time                 {seconds:.2} s");
    }
}

/// "min … / median … / max …" of a list.
fn spread<T: Copy + Ord + std::fmt::Display>(values: &[T]) -> String {
    let mut v = values.to_vec();
    v.sort_unstable();
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) => format!("min {lo} / median {} / max {hi}", v[v.len() / 2]),
        _ => "none".into(),
    }
}
