//! `POST /api/v1/resurveys`: a surveying unit's data uploaded as a zip (Shapefile sets, a
//! GeoPackage, GeoJSON or CSV layers; optionally a `mapping.toml`), staged as a re-survey of the
//! running registry for another reviewer to approve. Thin: the zip is unpacked into a temporary
//! directory and handed to [`crate::store::resurvey::import`], the same function
//! `shequ import … --db` calls.

use std::io::Read;
use std::path::Path;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::{Authenticated, store_of};
use super::error::ApiError;
use super::extract::ApiQuery;
use super::lookup::json_response;
use crate::crs::Crs;
use crate::formats::city::CityError;
use crate::formats::{Mapping, Options};
use crate::store::proposals::ProcedureError;
use crate::store::resurvey::{self, ImportError};

/// The largest upload: a city's Shapefiles zipped (the ×10 city is about 60 MB).
pub const UPLOAD_LIMIT: usize = 256 * 1024 * 1024;

/// The most an upload may unpack to, and the most files it may hold (a zip bomb is refused).
const UNPACKED_LIMIT: u64 = 2 * 1024 * 1024 * 1024;
const MAX_FILES: usize = 1_000;

/// The mapping file looked for in the zip.
const MAPPING: &str = "mapping.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// CRS of layers that state none, like `shequ import --crs`.
    crs: Option<String>,
}

/// `POST /api/v1/resurveys` (admins and reviewers): 201 with the proposal, the diff against the
/// current version and the audit summary; 422 listing every problem when the data fails the
/// loader (nothing is written).
pub async fn upload(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::workflow::resurvey::may_import(&actor)
        .map_err(|r| ApiError::from(ProcedureError::from(r)))?;
    let crs = q
        .crs
        .as_deref()
        .map(str::parse::<Crs>)
        .transpose()
        .map_err(|e| {
            ApiError::bad_request(format!("parameter `crs`: {e}"))
                .with_code("resurvey.bad_crs", Default::default())
        })?;
    let store = store_of(&state, "re-surveys")?.clone();
    let staged = state
        .admission()
        .cpu
        .run(move || {
            let dir = tempfile::tempdir()
                .map_err(|e| ApiError::internal(format!("temporary directory: {e}")))?;
            let mapping = unpack(&body, dir.path())?;
            let options = Options {
                crs,
                layer: None,
                mapping,
            };
            resurvey::import(&store, &actor, dir.path(), &options, "upload.zip")
                .map_err(|e| import_error(e, dir.path()))
        })
        .await??;
    let location = format!("/api/v1/proposals/{}", staged.proposal.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        json_response(&staged),
    )
        .into_response())
}

/// A problem the upload itself has (not a zip, unsafe or too large).
fn bad_zip(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request(detail).with_code("resurvey.bad_zip", Default::default())
}

/// Unpacks the zip `bytes` into `dir`, flat (folders inside the zip are ignored, so a zip of a
/// folder works too), and reads its `mapping.toml` if it has one.
fn unpack(bytes: &[u8], dir: &Path) -> Result<Mapping, ApiError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad_zip(format!("the body is not a zip archive: {e}")))?;
    if archive.len() > MAX_FILES {
        return Err(bad_zip(format!(
            "the zip holds {} entries; at most {MAX_FILES}",
            archive.len()
        )));
    }
    let mut unpacked = 0u64;
    let mut mapping = None;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad_zip(format!("zip entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let Some(name) = entry
            .enclosed_name()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        else {
            return Err(bad_zip(format!(
                "zip entry {:?} has an unsafe name",
                entry.name()
            )));
        };
        let target = dir.join(&name);
        if target.exists() {
            return Err(bad_zip(format!("the zip holds {name} twice")));
        }
        let mut content = Vec::new();
        let budget = UNPACKED_LIMIT - unpacked;
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|e| bad_zip(format!("zip entry {name}: {e}")))?;
        unpacked += content.len() as u64;
        if unpacked > UNPACKED_LIMIT {
            return Err(bad_zip(format!(
                "the zip unpacks to more than {} MiB",
                UNPACKED_LIMIT >> 20
            )));
        }
        if name.eq_ignore_ascii_case(MAPPING) {
            let text = String::from_utf8(content)
                .map_err(|_| bad_zip(format!("{MAPPING}: not UTF-8 text")))?;
            mapping = Some(Mapping::parse(&text).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unprocessable",
                    format!("{MAPPING}: {e}"),
                )
                .with_code("resurvey.bad_mapping", Default::default())
            })?);
            continue;
        }
        std::fs::write(&target, content)
            .map_err(|e| ApiError::internal(format!("unpack {name}: {e}")))?;
    }
    Ok(mapping.unwrap_or_default())
}

/// The answer for an import that staged nothing; messages name files as the zip does, not
/// where it was unpacked.
fn import_error(e: ImportError, dir: &Path) -> ApiError {
    let inside = format!("{}/", dir.display());
    let clean = |text: String| {
        text.replace(&inside, "")
            .replace(&dir.display().to_string(), "upload.zip")
    };
    match e {
        ImportError::City(CityError::Problems { text, count }) => {
            let text = clean(text);
            let problems: Vec<Value> = text
                .lines()
                .skip(1)
                .map(|l| Value::String(l.trim().to_owned()))
                .collect();
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", text)
                .with_code("resurvey.problems", Default::default())
                .param("count", count)
                .param("problems", problems)
        }
        ImportError::City(CityError::Incomplete { missing, .. }) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            format!("the upload holds no {missing} layer; a re-survey needs towns, communities and grids"),
        )
        .with_code("resurvey.incomplete", Default::default())
        .param("missing", missing),
        ImportError::City(CityError::Format(f)) => ApiError::bad_request(clean(f.to_string()))
            .with_code("resurvey.unreadable", Default::default()),
        ImportError::Refused(r) => ProcedureError::Refused(r).into(),
        ImportError::Store(s) => ApiError::from(s),
    }
}
