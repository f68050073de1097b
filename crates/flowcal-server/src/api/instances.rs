//! Process instances: start, look, cancel, and the administrator's incident tools.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, EventJson, EventList, InstanceJson, InstanceList, PageQuery, SetData, StartInstance};
use crate::app::App;
use crate::error::AppResult;
use crate::paging;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use flowcal_domain::InstanceId;
use flowcal_store::{InstanceRecord, Page};
use std::sync::Arc;

/// Start an instance of a model's newest version.
#[utoipa::path(post, path = "/api/v1/instances", tag = "instances", request_body = StartInstance,
    responses((status = 201, body = InstanceJson), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "invalid data")))]
pub async fn start(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<StartInstance>,
) -> AppResult<(StatusCode, Json<InstanceJson>)> {
    let v = app.workflow.start_instance(&p, &body.model, &body.title, &body.data).await?;
    Ok((StatusCode::CREATED, Json(InstanceJson::new(&v))))
}

/// An instance with its tasks (starter, participants, administrators).
#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = InstanceJson), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<InstanceJson>> {
    Ok(Json(InstanceJson::new(&app.workflow.instance(&p, InstanceId(id)).await?)))
}

/// The instance's domain events, in order (starter and administrators).
#[utoipa::path(get, path = "/api/v1/instances/{id}/events", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = EventList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn events(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<EventList>> {
    let events = app.workflow.instance_events(&p, InstanceId(id)).await?;
    Ok(Json(EventList { events: events.iter().map(EventJson::from).collect() }))
}

/// Cancel an instance and its open tasks (starter or administrator).
#[utoipa::path(post, path = "/api/v1/instances/{id}/cancel", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = InstanceJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn cancel(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<InstanceJson>> {
    Ok(Json(InstanceJson::new(&app.workflow.cancel(&p, InstanceId(id)).await?)))
}

/// Correct an instance's data (administrators); dependent deadlines are recomputed.
#[utoipa::path(patch, path = "/api/v1/instances/{id}/data", tag = "instances", params(("id" = i64, Path)),
    request_body = SetData,
    responses((status = 200, body = InstanceJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the instance is no longer running"),
              (status = 422, body = ErrorBody)))]
pub async fn set_data(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<SetData>,
) -> AppResult<Json<InstanceJson>> {
    Ok(Json(InstanceJson::new(&app.workflow.set_data(&p, InstanceId(id), &body.data).await?)))
}

/// Retry the gateways an instance is stuck at (administrators).
#[utoipa::path(post, path = "/api/v1/instances/{id}/retry", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = InstanceJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn retry(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<InstanceJson>> {
    Ok(Json(InstanceJson::new(&app.workflow.retry(&p, InstanceId(id)).await?)))
}

/// The instances the caller may see, newest first: all of them for
/// administrators; for others those they started, have or had a task in, or
/// may claim a task of (as `GET /api/v1/instances/{id}` decides). Without
/// their tasks; a page at a time, with `next_cursor` and `total`.
#[utoipa::path(get, path = "/api/v1/instances", tag = "instances", params(PageQuery),
    responses((status = 200, body = InstanceList), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<InstanceList>> {
    let limit = paging::limit(page.limit)?;
    let before = paging::decode::<i64>("instances", page.cursor.as_deref())?;
    let list = app.workflow.instances_page(&p, before.map(InstanceId), limit).await?;
    instance_list(&app, "instances", &list).await
}

/// Instances stopped by an incident (administrators), oldest first; a page at
/// a time, with `next_cursor` and `total`.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "instances", params(PageQuery),
    responses((status = 200, body = InstanceList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn incidents(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<InstanceList>> {
    let limit = paging::limit(page.limit)?;
    let after = paging::decode::<i64>("incidents", page.cursor.as_deref())?;
    let list = app.workflow.incidents_page(&p, after.map(InstanceId), limit).await?;
    instance_list(&app, "incidents", &list).await
}

/// A page of instances as the API shows it (each with its model's key and version).
async fn instance_list(app: &App, name: &str, page: &Page<InstanceRecord>) -> AppResult<Json<InstanceList>> {
    let mut out = Vec::with_capacity(page.items.len());
    for i in &page.items {
        let (m, _) = app.workflow.model(i.model_id).await?;
        out.push(InstanceJson::record(i, &m));
    }
    Ok(Json(InstanceList {
        instances: out,
        next_cursor: paging::next_cursor(name, page, |i| i.id.0),
        total: page.total.unwrap_or_default(),
    }))
}
