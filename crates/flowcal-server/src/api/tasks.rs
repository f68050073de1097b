//! Tasks: the caller's list, claim, complete.

use super::extract::Auth;
use super::types::{CompleteTask, ErrorBody, InstanceJson, TaskJson, TaskList};
use crate::app::App;
use crate::error::{AppError, AppResult};
use axum::extract::{Path, Query, State};
use axum::Json;
use flowcal_domain::TaskId;
use flowcal_store::TaskState;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// open, done, cancelled or all (the default).
    state: Option<String>,
}

/// The caller's tasks: assigned to them, or claimable through their roles.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListQuery),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody)))]
pub async fn list(State(app): State<Arc<App>>, Auth(p): Auth, Query(q): Query<ListQuery>) -> AppResult<Json<TaskList>> {
    let state =
        match q.state.as_deref() {
            None | Some("all") => None,
            Some(s) => Some(TaskState::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!("state must be open, done, cancelled or all (got '{s}')"))
            })?),
        };
    let tasks = app.workflow.tasks(&p, state).await?;
    Ok(Json(TaskList { tasks: tasks.iter().map(TaskJson::from).collect() }))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskJson), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<TaskJson>> {
    Ok(Json(TaskJson::from(&app.workflow.task(&p, TaskId(id)).await?)))
}

/// Take a task offered to one of the caller's roles.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/claim", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskJson), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn claim(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<TaskJson>> {
    Ok(Json(TaskJson::from(&app.workflow.claim(&p, TaskId(id)).await?)))
}

/// Complete a task with data; the instance moves on.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks", params(("id" = i64, Path)),
    request_body(content = Option<CompleteTask>, description = "may be left out when there is no data to give"),
    responses((status = 200, body = InstanceJson), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "no longer open"), (status = 422, body = ErrorBody)))]
pub async fn complete(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<InstanceJson>> {
    // The body may be left out when there is no data to give.
    let body: CompleteTask = if body.iter().all(u8::is_ascii_whitespace) {
        CompleteTask::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => AppError::Unprocessable(e.to_string()),
            _ => AppError::BadRequest(format!("the body is not valid JSON: {e}")),
        })?
    };
    Ok(Json(InstanceJson::new(&app.workflow.complete(&p, TaskId(id), &body.data).await?)))
}
