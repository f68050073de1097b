//! The export button: put a deadline or a date item on one of the caller's
//! calendars, see how delivery goes, remove it again.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, PageQuery};
use crate::app::App;
use crate::error::AppResult;
use crate::paging;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use flowcal_domain::TaskId;
use flowcal_store::ExportRecord;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What to export.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExportJson {
    pub task: i64,
    /// `deadline`, or `item:KEY` for a date or date-time item of the task's instance.
    pub source: String,
    /// One of the caller's calendar accounts.
    pub account: i64,
}

/// An export and how its delivery goes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportJson {
    pub id: i64,
    pub task: Option<i64>,
    pub instance: i64,
    /// `task:{id}:deadline` or `instance:{id}:item:{key}`.
    pub source: String,
    pub account: i64,
    /// `pending`, `synced` (in the calendar), `removed`, `failed` (see `last_error`; retry with
    /// POST …/retry), `waiting` (for the user to reconnect the account) or `removed_in_calendar`
    /// (its owner deleted it in the calendar; never made again by later changes: add it again
    /// with POST …/retry).
    pub state: String,
    /// What the calendar shows, as last read: `{"state": "in_sync"}`, `{"state": "deleted"}`, or
    /// `{"state": "moved", "start": …}` (moved there; POST …/accept-remote uses the new date,
    /// POST …/keep-local puts the entry back). `start`: `2026-05-04` or an instant with its
    /// zone, `2026-05-04T09:00:00+02:00[Europe/Berlin]`.
    pub remote: RemoteJson,
    /// Whether the entry should be on the calendar (`present`) or not (`absent`).
    pub wanted: String,
    pub calendar: Option<String>,
    pub remote_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl From<&ExportRecord> for ExportJson {
    fn from(e: &ExportRecord) -> Self {
        ExportJson {
            id: e.id,
            task: e.task_id,
            instance: e.instance_id,
            source: e.source.to_string(),
            account: e.account_id,
            state: e.state.to_string(),
            wanted: e.wanted.to_string(),
            calendar: e.calendar.clone(),
            remote_id: e.remote_id.clone(),
            attempts: e.attempts,
            last_error: e.last_error.clone(),
            remote: RemoteJson::of(e),
        }
    }
}

/// What the calendar shows of an export's entry.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RemoteJson {
    /// `in_sync`, `deleted` or `moved`.
    pub state: &'static str,
    /// Where a moved entry starts now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

impl RemoteJson {
    fn of(e: &ExportRecord) -> RemoteJson {
        match (&e.held_start, e.state) {
            (_, flowcal_domain::export::ExportState::RemovedInCalendar) => RemoteJson { state: "deleted", start: None },
            (Some(start), _) => RemoteJson { state: "moved", start: Some(start.clone()) },
            (None, _) => RemoteJson { state: "in_sync", start: None },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportList {
    pub exports: Vec<ExportJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many exports all the pages hold.
    pub total: i64,
}

/// Export a deadline or date item; again → the same export, updated.
#[utoipa::path(post, path = "/api/v1/exports", tag = "exports", request_body = NewExportJson,
    responses((status = 202, body = ExportJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<NewExportJson>,
) -> AppResult<(StatusCode, Json<ExportJson>)> {
    let e = app.exports.export(&p, TaskId(b.task), &b.source, b.account).await?;
    Ok((StatusCode::ACCEPTED, Json(ExportJson::from(&e))))
}

/// The caller's exports, by id; a page at a time, with `next_cursor` and `total`.
#[utoipa::path(get, path = "/api/v1/exports", tag = "exports", params(PageQuery),
    responses((status = 200, body = ExportList), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<ExportList>> {
    let limit = paging::limit(page.limit)?;
    let after = paging::decode::<i64>("exports", page.cursor.as_deref())?;
    // The caller's own exports: nobody else's are listed.
    let list = app.store.exports_page(p.user.id, after, limit).await?;
    Ok(Json(ExportList {
        exports: list.items.iter().map(ExportJson::from).collect(),
        next_cursor: paging::next_cursor("exports", &list, |e| e.id),
        total: list.total.unwrap_or_default(),
    }))
}

/// One export.
#[utoipa::path(get, path = "/api/v1/exports/{id}", tag = "exports", params(("id" = i64, Path)),
    responses((status = 200, body = ExportJson), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<ExportJson>> {
    Ok(Json(ExportJson::from(&app.exports.export_record(&p, id).await?)))
}

/// Remove the entry from the calendar.
#[utoipa::path(delete, path = "/api/v1/exports/{id}", tag = "exports", params(("id" = i64, Path)),
    responses((status = 202, body = ExportJson), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ExportJson>)> {
    let e = app.exports.remove_export(&p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(ExportJson::from(&e))))
}

/// Send a failed export again, or add one deleted in the calendar again.
#[utoipa::path(post, path = "/api/v1/exports/{id}/retry", tag = "exports", params(("id" = i64, Path)),
    responses((status = 202, body = ExportJson), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ExportJson>)> {
    let e = app.exports.retry_export(&p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(ExportJson::from(&e))))
}

/// Use the date the entry was moved to in the calendar: it becomes the date item's value or the
/// step's deadline (for the instance's starter and administrators), recorded in the instance's
/// history as changed through the calendar.
#[utoipa::path(post, path = "/api/v1/exports/{id}/accept-remote", tag = "exports", params(("id" = i64, Path)),
    responses((status = 202, body = ExportJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn accept_remote(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ExportJson>)> {
    let e = app.calendar_sync.accept_remote(&p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(ExportJson::from(&e))))
}

/// Keep flowcal's date: the entry moved in the calendar goes back.
#[utoipa::path(post, path = "/api/v1/exports/{id}/keep-local", tag = "exports", params(("id" = i64, Path)),
    responses((status = 202, body = ExportJson), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn keep_local(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<ExportJson>)> {
    let e = app.calendar_sync.keep_local(&p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(ExportJson::from(&e))))
}
