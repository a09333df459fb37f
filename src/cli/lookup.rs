//! `shequ lookup`: where a point or an address is, printed as the API answers it.

use shequ::crs::Crs;
use shequ::output::{PointPlace, address_answer};

use super::args::{LookupArgs, Source};
use super::data::load_source;
use super::error::CliError;

pub fn run(args: &LookupArgs) -> Result<(), CliError> {
    match (&args.address, args.lon, args.lat) {
        (Some(address), _, _) => lookup_address(&args.source, address, args.limit),
        (None, Some(lon), Some(lat)) => lookup_point(&args.source, [lon, lat], &args.crs),
        _ => Err(CliError::input("give LON LAT or --address")),
    }
}

fn lookup_point(source: &Source, point: [f64; 2], crs: &str) -> Result<(), CliError> {
    let crs: Crs = crs
        .parse()
        .map_err(|e| CliError::input(format!("--crs: {e}")))?;
    let point = crs
        .to_wgs84(point)
        .map_err(|e| CliError::input(e.to_string()))?;
    let snapshot = load_source(source)?;
    let place = PointPlace::new(&snapshot.registry, point, snapshot.lookup(point));
    print_json(&place)
}

/// Prints the matches; none is a negative answer (exit 1) with the reason.
fn lookup_address(source: &Source, address: &str, limit: usize) -> Result<(), CliError> {
    let snapshot = load_source(source)?;
    let answer = address_answer(&snapshot, address, limit);
    print_json(&answer)?;
    if answer.matches.is_empty() {
        return Err(CliError::findings(answer.detail.unwrap_or_default()));
    }
    Ok(())
}

/// `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::internal)?;
    println!("{text}");
    Ok(())
}
