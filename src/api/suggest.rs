//! `POST /api/v1/proposals/suggest`: the split assistant (candidate splits of an oversized
//! community, each a proposal with its validation report). The work runs off the async workers.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::extract::JsonBytes;
use super::lookup::json_response;
use crate::rules::suggest::{
    DEFAULT_COUNT, DEFAULT_SEED, Kind, Parts, SuggestError, SuggestRequest, Weights, suggest as run,
};

/// `{community, kind?: "auto" | "split" | "merge", parts?: k | "auto", locked?: {grid: part},
/// weights?, count?, seed?}`. `kind` defaults to `auto`: a split for a community above the
/// band's minimum, merges with and grids from its neighbours below it.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SuggestRequest")]
pub struct Body {
    community: String,
    #[serde(default)]
    #[schemars(schema_with = "super::schemas::suggest_kind")]
    kind: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "super::schemas::parts")]
    parts: Option<Value>,
    #[serde(default)]
    locked: BTreeMap<String, usize>,
    #[serde(default)]
    weights: Weights,
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
}

/// The request a body asks for, or a 400 naming the field.
fn request_of(body: Body) -> Result<SuggestRequest, ApiError> {
    let parts = match &body.parts {
        None => Parts::Auto,
        Some(Value::String(s)) if s == "auto" => Parts::Auto,
        Some(v) => match v.as_u64().and_then(|k| usize::try_from(k).ok()) {
            Some(k) => Parts::Exactly(k),
            None => {
                return Err(ApiError::bad_request(
                    "`parts`: expected a number of parts or \"auto\"",
                ));
            }
        },
    };
    let kind = match body.kind.as_deref() {
        None | Some("auto") => Kind::Auto,
        Some("split") => Kind::Split,
        Some("merge") => Kind::Merge,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`kind`: expected \"auto\", \"split\" or \"merge\"",
            ));
        }
    };
    Ok(SuggestRequest {
        community: body.community,
        kind,
        parts,
        locked: body.locked,
        weights: body.weights,
        count: body.count.unwrap_or(DEFAULT_COUNT),
        seed: body.seed.unwrap_or(DEFAULT_SEED),
    })
}

pub async fn suggest(
    State(state): State<AppState>,
    body: JsonBytes<Body>,
) -> Result<Response, ApiError> {
    let published = state.published();
    // A suggestion samples and validates many plans: seconds of CPU, so it takes a slot of the
    // admission pool like /validate (503 when the pool is full); the body is parsed there too.
    let answer = state
        .admission()
        .cpu
        .run_json(body, move |body| {
            let request = request_of(body)?;
            let snapshot = published.snapshot();
            // Written straight from the suggestion on the CPU pool (a 20-plan answer is over
            // a megabyte; no intermediate `Value`).
            Ok(run(&snapshot.registry, &snapshot.guidelines, &request).map(|s| json_response(&s)))
        })
        .await?;
    answer.map_err(|e| match e {
        SuggestError::UnknownCommunity(_) => ApiError::not_found(e.to_string()),
        SuggestError::NoTerritory(_) | SuggestError::NoGrids(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-territory",
            e.to_string(),
        ),
        SuggestError::Invalid(..) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-suggestion",
            e.to_string(),
        ),
    })
}
