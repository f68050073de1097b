//! Tasks: the caller's list, claim, complete.

use super::extract::Auth;
use super::types::{CompleteTask, ErrorBody, InstanceJson, PageQuery, TaskJson, TaskList};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::paging;
use crate::workflow::{Due, TaskQuery};
use axum::extract::{Path, Query, State};
use axum::Json;
use flowcal_domain::TaskId;
use flowcal_store::{TaskSort, TaskState};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// open, done, cancelled or all (the default).
    state: Option<String>,
    /// `deadline` (the default): earliest deadline first, tasks without one
    /// last (a date counts from the start of its day in UTC); `created`:
    /// newest first; `id`.
    sort: Option<String>,
    /// `overdue`: the deadline has passed (an instant before now, a date
    /// before today); `week`: due within the next 7 days (an instant from
    /// now up to 7 × 24 hours on, a date from today through the 6th day
    /// after). Today is the caller's, in their time zone.
    due: Option<String>,
    /// Only tasks of instances of this model (its key; any version).
    process: Option<String>,
}

/// Reads the list's sort and filters.
pub fn task_query(
    state: Option<&str>,
    sort: Option<&str>,
    due: Option<&str>,
    process: Option<&str>,
) -> AppResult<TaskQuery> {
    let state =
        match state {
            None | Some("all") => None,
            Some(s) => Some(TaskState::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!("state must be open, done, cancelled or all (got '{s}')"))
            })?),
        };
    let sort = match sort {
        None | Some("deadline") => TaskSort::Deadline,
        Some("created") => TaskSort::Created,
        Some("id") => TaskSort::Id,
        Some(s) => return Err(AppError::BadRequest(format!("sort must be deadline, created or id (got '{s}')"))),
    };
    let due = match due {
        None => None,
        Some("overdue") => Some(Due::Overdue),
        Some("week") => Some(Due::Week),
        Some(d) => return Err(AppError::BadRequest(format!("due must be overdue or week (got '{d}')"))),
    };
    let process = process.filter(|p| !p.is_empty()).map(str::to_owned);
    Ok(TaskQuery { state, due, process, assigned: None, sort })
}

/// The name a cursor of the task list carries: one per sort, so that a
/// cursor of one order is not read in another.
pub fn cursor_list(sort: TaskSort) -> &'static str {
    match sort {
        TaskSort::Deadline => "tasks:deadline",
        TaskSort::Created => "tasks:created",
        TaskSort::Id => "tasks:id",
    }
}

/// The caller's tasks: assigned to them, or claimable through their roles;
/// a page at a time (`limit`, `cursor`), with `next_cursor` and `total`
/// (counted up to 1,000 for each way in; `total_exact` says whether it is a lower bound).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListQuery, PageQuery),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(q): Query<ListQuery>,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<TaskList>> {
    let query = task_query(q.state.as_deref(), q.sort.as_deref(), q.due.as_deref(), q.process.as_deref())?;
    let limit = paging::limit(page.limit)?;
    let list = cursor_list(query.sort);
    let after = paging::decode::<(i64, i64)>(list, page.cursor.as_deref())?;
    let sort = query.sort;
    let tasks = app.workflow.tasks_page(&p, query, after, limit).await?;
    let next_cursor = paging::next_cursor(list, &tasks, |t| (sort.key(t), t.id.0));
    Ok(Json(TaskList {
        tasks: tasks.items.iter().map(TaskJson::from).collect(),
        next_cursor,
        total: tasks.total.unwrap_or_default(),
        total_exact: tasks.total_exact,
    }))
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
