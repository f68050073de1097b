//! Work calendars: everyone signed in reads them (deadlines count in them);
//! administrators create, replace, delete and refresh them.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, PageQuery};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::paging;
use crate::workcal::{calendar_json, CalendarPut, DaysJson, WorkCalendarJson};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Deprecated: the last name of the previous page (its `next`); use `cursor`.
    after: Option<String>,
}

/// A page of work calendars.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkCalendarPage {
    pub work_calendars: Vec<WorkCalendarJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// Deprecated (use `next_cursor`): pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The work calendars, by name, a page at a time (`limit`, `cursor`).
#[utoipa::path(get, path = "/api/v1/work-calendars", tag = "work-calendars", params(ListQuery, PageQuery),
    responses((status = 200, body = WorkCalendarPage), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(q): Query<ListQuery>,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<WorkCalendarPage>> {
    let limit = paging::limit(page.limit)?;
    let after = match paging::decode::<String>("work-calendars", page.cursor.as_deref())? {
        Some(name) => Some(name),
        None => q.after,
    };
    let (list, next) = app.work_calendars.list(after.as_deref(), limit).await?;
    let work_calendars = list.iter().map(|c| calendar_json(c, p.is_admin())).collect();
    let next_cursor = next.as_ref().map(|name| paging::encode("work-calendars", name));
    Ok(Json(WorkCalendarPage { work_calendars, next_cursor, next }))
}

/// One work calendar, with its own holidays and its sources' last fetch
/// (their URLs whole for administrators, scheme and host for others).
#[utoipa::path(get, path = "/api/v1/work-calendars/{name}", tag = "work-calendars", params(("name" = String, Path)),
    responses((status = 200, body = WorkCalendarJson), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> AppResult<Json<WorkCalendarJson>> {
    Ok(Json(calendar_json(&app.work_calendars.get(&name).await?, p.is_admin())))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DaysQuery {
    /// The first day, `YYYY-MM-DD`.
    from: String,
    /// The last day, `YYYY-MM-DD` (at most 800 days after `from`).
    to: String,
}

fn date(name: &str, text: &str) -> AppResult<Date> {
    text.parse().map_err(|_| AppError::BadRequest(format!("{name} must be a date YYYY-MM-DD (got '{text}')")))
}

/// Which days of a range are working days, with the names of holidays
/// (its own and its sources') and extra working days, and the hours.
#[utoipa::path(get, path = "/api/v1/work-calendars/{name}/days", tag = "work-calendars",
    params(("name" = String, Path), DaysQuery),
    responses((status = 200, body = DaysJson), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn days(
    State(app): State<Arc<App>>,
    Auth(_caller): Auth,
    Path(name): Path<String>,
    Query(q): Query<DaysQuery>,
) -> AppResult<Json<DaysJson>> {
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    Ok(Json(DaysJson { days: app.work_calendars.days(&name, from, to).await? }))
}

/// Create or replace a work calendar. URL sources are fetched through the
/// outbound policy (the CalDAV allow-list) before the answer; uploaded ones
/// (`ics`) are read. Open deadlines counted in it are recomputed when its days changed.
#[utoipa::path(put, path = "/api/v1/admin/work-calendars/{name}", tag = "work-calendars",
    params(("name" = String, Path)), request_body = CalendarPut,
    responses((status = 200, body = WorkCalendarJson), (status = 201, body = WorkCalendarJson),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<CalendarPut>,
) -> AppResult<(StatusCode, Json<WorkCalendarJson>)> {
    let (stored, created) = app.work_calendars.put(&p, &name, body).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(calendar_json(&stored, true))))
}

/// Remove a work calendar; refused (409) while a stored model names it.
#[utoipa::path(delete, path = "/api/v1/admin/work-calendars/{name}", tag = "work-calendars",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete(State(app): State<Arc<App>>, Auth(p): Auth, Path(name): Path<String>) -> AppResult<StatusCode> {
    app.work_calendars.delete(&p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a refresh did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RefreshJson {
    pub calendar: WorkCalendarJson,
    /// Sources fetched anew (200), found unchanged (304), failed (the last good copy stays).
    pub fetched: usize,
    pub not_modified: usize,
    pub failed: usize,
    /// Instances whose deadlines moved.
    pub instances_recomputed: usize,
}

/// Fetch a calendar's sources now (conditionally) and recompute the open
/// deadlines counted in it when its days changed.
#[utoipa::path(post, path = "/api/v1/admin/work-calendars/{name}/refresh", tag = "work-calendars",
    params(("name" = String, Path)),
    responses((status = 200, body = RefreshJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn refresh(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> AppResult<Json<RefreshJson>> {
    let (stored, r) = app.work_calendars.refresh(&p, &name).await?;
    Ok(Json(RefreshJson {
        calendar: calendar_json(&stored, true),
        fetched: r.fetched,
        not_modified: r.not_modified,
        failed: r.failed,
        instances_recomputed: r.instances,
    }))
}
