//! `/api/v1/proposals…`: stored proposals and their procedure (draft → consultation → vote →
//! submitted → approved | rejected). Thin: the store does the work; an approval's new snapshot
//! is published here.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::auth::{Authenticated, store_of};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, JsonBytes, parse_date};
use super::lookup::json_response;
use crate::store::proposals::{self, Move, ProcedureError};
use crate::workflow::{Refusal, Status, Tally};

impl From<ProcedureError> for ApiError {
    fn from(e: ProcedureError) -> Self {
        let detail = e.to_string();
        match e {
            ProcedureError::NotFound(id) => ApiError::not_found(detail)
                .with_code("procedure.no_proposal", Default::default())
                .param("id", id),
            ProcedureError::Refused(r) => {
                let (status, slug) = match &r {
                    Refusal::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                    Refusal::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                    Refusal::Unprocessable(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable")
                    }
                };
                ApiError::said(status, slug, r.message().clone())
            }
            ProcedureError::Proposal(p) if p.malformed => {
                ApiError::bad_request(detail).with_code("proposal.malformed", Default::default())
            }
            ProcedureError::Proposal(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", detail)
                    .with_code("proposal.invalid", Default::default())
            }
            ProcedureError::Unprocessable(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", detail)
            }
            ProcedureError::Store(s) => ApiError::from(s),
        }
    }
}

fn proposal_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no proposal {text:?} (ids are numbers)")))
}

/// The city's date today (China Standard Time, UTC+8): what "today" means for effective dates.
fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
}

/// Runs a store operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProcedureError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

/// `GET /api/v1/proposals`: the stored proposals, newest first.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ProposalList {
    proposals: Vec<proposals::Summary>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    town: Option<String>,
    status: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Authenticated(_): Authenticated,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "parameter `status`: {s:?} is not one of draft, consultation, vote, submitted, approved, rejected"
            ))
        })?),
    };
    let store = store_of(&state, "stored proposals")?;
    let items = store.read(|c| proposals::list(c, q.town.as_deref(), status))?;
    Ok(json_response(&ProposalList { proposals: items }))
}

pub async fn create(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    body: JsonBytes<Value>,
) -> Result<Response, ApiError> {
    let store = store_of(&state, "stored proposals")?.clone();
    let published = state.published();
    let limits = *state.limits();
    // Storing validates the proposal: the same caps and admission as `/proposals/validate`.
    let created = state
        .admission()
        .cpu
        .run_json(body, move |body| {
            limits.check_proposal(&body)?;
            Ok(store.write(|tx| proposals::create(tx, &actor, &body, published.snapshot()))?)
        })
        .await?;
    let location = format!("/api/v1/proposals/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        json_response(&created),
    )
        .into_response())
}

pub async fn show(
    State(state): State<AppState>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = proposal_id(&id)?;
    let store = store_of(&state, "stored proposals")?.clone();
    let rule = state.published().snapshot().guidelines.vote;
    let detail = blocking(move || store.read(|c| proposals::detail(c, id, &rule))).await?;
    Ok(json_response(&detail))
}

pub async fn edit(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    body: JsonBytes<Value>,
) -> Result<Response, ApiError> {
    let id = proposal_id(&id)?;
    let store = store_of(&state, "stored proposals")?.clone();
    let published = state.published();
    let limits = *state.limits();
    let edited = state
        .admission()
        .cpu
        .run_json(body, move |body| {
            limits.check_proposal(&body)?;
            Ok(store.write(|tx| proposals::edit(tx, &actor, id, &body, published.snapshot()))?)
        })
        .await?;
    Ok(json_response(&edited))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    text: String,
    /// Who said it, when recorded on a resident's behalf.
    #[serde(default)]
    source: Option<String>,
}

pub async fn comment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CommentRequest>,
) -> Result<Response, ApiError> {
    let id = proposal_id(&id)?;
    let store = store_of(&state, "stored proposals")?.clone();
    blocking(move || {
        store.write(|tx| {
            proposals::comment(tx, &actor, id, &request.text, request.source.as_deref())
        })
    })
    .await?;
    Ok(StatusCode::CREATED.into_response())
}

pub async fn vote(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(tally): ApiJson<Tally>,
) -> Result<Response, ApiError> {
    let id = proposal_id(&id)?;
    let store = store_of(&state, "stored proposals")?.clone();
    let rule = state.published().snapshot().guidelines.vote;
    let result =
        blocking(move || store.write(|tx| proposals::vote(tx, &actor, id, &tally, &rule))).await?;
    Ok(json_response(&result))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    to: String,
    #[serde(default)]
    reason: Option<String>,
    /// `YYYY-MM-DD`, approvals only.
    #[serde(default)]
    effective: Option<String>,
}

pub async fn transition(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> Result<Response, ApiError> {
    let id = proposal_id(&id)?;
    let to = Status::parse(&request.to).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`to`: {:?} is not one of draft, consultation, vote, submitted, approved, rejected",
            request.to
        ))
    })?;
    let effective = request
        .effective
        .as_deref()
        .map(|d| parse_date("effective", d))
        .transpose()?;
    let mv = Move {
        to,
        reason: request.reason,
        effective,
    };
    let store = store_of(&state, "stored proposals")?.clone();
    // One move at a time: an approval's commit and the swap of its snapshot happen in order.
    let _serial = state.move_in_flight().await;
    let published = state.published();
    let version = published.registry_version().unwrap_or(0);
    let today = today();
    let (summary, approval) = blocking(move || {
        let (summary, approval) = store.write(|tx| {
            let current = proposals::Current {
                snapshot: published.snapshot(),
                audit: &published.audit(),
                version,
            };
            proposals::transition(tx, &actor, id, &mv, current, today)
        })?;
        // The new snapshot's tiles, from the current one's, before it is published: the first
        // tile asked of it must not wait for a whole build (issue 19).
        let approval = approval.map(|a| {
            let tiles = published.tiles_after(&a.snapshot, a.touched.as_ref());
            (a, tiles)
        });
        Ok((summary, approval))
    })
    .await?;
    if let Some((approval, tiles)) = approval {
        state
            .metrics
            .approvals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            "proposal {id} approved: registry version {} published",
            approval.version.id
        );
        state.publish_prepared(
            approval.snapshot,
            Some(approval.version.id),
            approval.audit,
            tiles,
        );
    }
    Ok(json_response(&summary))
}
