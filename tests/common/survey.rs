//! Survey data as a GIS clerk's GDAL writes it (the independent party of the import tests):
//! a boundary directory as GBK Shapefiles in EPSG:4547 with Chinese field names, and the
//! mapping file that reads them back. Shared by tests/formats_gdal.rs and tests/resurvey.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::Failed;
use serde_json::Value;

/// The layers of the boundary directory `from` as GeoJSON with the office as two WGS84 columns
/// (`office_x`, `office_y`), which GDAL's SQL can project (a GeoJSON array cannot).
pub fn flat_layers(from: &Path, dir: &Path) -> Result<(), Failed> {
    for layer in ["towns", "communities", "grids"] {
        let text = std::fs::read_to_string(from.join(format!("{layer}.geojson")))?;
        let mut v: Value = serde_json::from_str(&text)?;
        for f in v["features"].as_array_mut().ok_or("features")? {
            let props = f["properties"].as_object_mut().ok_or("properties")?;
            if let Some(office) = props.remove("office") {
                props.insert(
                    "office_x".into(),
                    office.get(0).cloned().unwrap_or(Value::Null),
                );
                props.insert(
                    "office_y".into(),
                    office.get(1).cloned().unwrap_or(Value::Null),
                );
            }
        }
        std::fs::write(dir.join(format!("{layer}.geojson")), v.to_string())?;
    }
    Ok(())
}

/// Runs ogr2ogr with `args`, failing with its stderr.
pub fn ogr2ogr(args: &[&str]) -> Result<(), Failed> {
    let o = Command::new("ogr2ogr").args(args).output()?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("ogr2ogr {args:?}: {}", super::text(&o.stderr)).into())
    }
}

/// The SQL that renames (per `names`: shequ field → source field) and projects the office.
pub fn select(layer: &str, names: &[(&str, &str)]) -> String {
    let mut columns: Vec<String> = names
        .iter()
        .filter(|(shequ, _)| !matches!(*shequ, "office_lon" | "office_lat"))
        .map(|(shequ, source)| format!("\"{shequ}\" AS \"{source}\""))
        .collect();
    for (shequ, source) in names {
        let f = match *shequ {
            "office_lon" => "ST_X",
            "office_lat" => "ST_Y",
            _ => continue,
        };
        columns.push(format!(
            "{f}(ST_Transform(MakePoint(office_x, office_y, 4326), 4547)) AS \"{source}\""
        ));
    }
    columns.push("geometry".into());
    format!("SELECT {} FROM \"{layer}\"", columns.join(", "))
}

pub const TOWN_NAMES: [(&str, &str); 2] = [("code", "镇街代码"), ("name", "镇街名称")];
pub const COMMUNITY_NAMES: [(&str, &str); 12] = [
    ("code", "社区代码"),
    ("name", "社区名称"),
    ("town_code", "镇街代码"),
    ("kind", "类型"),
    ("workers", "工作人员"),
    ("office_area_m2", "办公面积"),
    ("households", "户数"),
    ("population", "人口"),
    ("service_households", "服务户数"),
    ("office_lon", "办公X"),
    ("office_lat", "办公Y"),
    ("grids", "网格数"),
];
pub const GRID_NAMES: [(&str, &str); 6] = [
    ("code", "网格代码"),
    ("name", "网格名称"),
    ("community_code", "社区代码"),
    ("households", "户数"),
    ("population", "人口"),
    ("service_households", "服务户数"),
];

/// The mapping file for the Shapefiles: file stems XZJ/SQ/WG, Chinese field names.
pub fn mapping_toml() -> String {
    let mut toml =
        String::from("[layers]\nXZJ = \"towns\"\nSQ = \"communities\"\nWG = \"grids\"\n");
    for (section, names) in [
        ("towns", &TOWN_NAMES[..]),
        ("communities", &COMMUNITY_NAMES[..11]),
        ("grids", &GRID_NAMES[..]),
    ] {
        toml.push_str(&format!("[{section}]\n"));
        for (shequ, source) in names {
            toml.push_str(&format!("\"{source}\" = \"{shequ}\"\n"));
        }
    }
    toml
}

/// The city of the boundary directory `from` as GBK Shapefiles in EPSG:4547 with Chinese field
/// names (file stems XZJ/SQ/WG), in `dir/shp`.
pub fn shapefiles(from: &Path, dir: &Path) -> Result<PathBuf, Failed> {
    let flat = dir.join("flat");
    std::fs::create_dir_all(&flat)?;
    flat_layers(from, &flat)?;
    let shp = dir.join("shp");
    std::fs::create_dir_all(&shp)?;
    for (layer, stem, names) in [
        ("towns", "XZJ", &TOWN_NAMES[..]),
        ("communities", "SQ", &COMMUNITY_NAMES[..]),
        ("grids", "WG", &GRID_NAMES[..]),
    ] {
        let source = flat.join(format!("{layer}.geojson"));
        let target = shp.join(format!("{stem}.shp"));
        let sql = select(layer, names);
        ogr2ogr(&[
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=GBK",
            "-t_srs",
            "EPSG:4547",
            "-dialect",
            "sqlite",
            "-sql",
            &sql,
            &target.to_string_lossy(),
            &source.to_string_lossy(),
        ])?;
    }
    Ok(shp)
}
