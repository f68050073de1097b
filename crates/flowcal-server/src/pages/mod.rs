//! The web app: server-rendered pages (maud) for participants, process
//! designers and administrators, on top of the same application services as
//! the JSON API. Every state-changing form carries a CSRF token derived from
//! the session (and the browser's Origin is checked); every string is escaped
//! by the templates; pages work without JavaScript (app.js only adds "copy").

// Checks return the page to answer with as their error: a response, built
// once per request, not worth boxing.
#![allow(clippy::result_large_err)]

mod admin;
mod calendar;
mod designer;
mod diagram;
pub mod frame;
mod settings;
mod tasks;
mod team;
mod work_calendars;

use crate::app::App;
use crate::http::session_cookie;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use frame::{login_form, see_other};
use std::sync::Arc;

/// The one stylesheet and the little script.
const CSS: &str = include_str!("app.css");
const JS: &str = include_str!("app.js");

/// The page routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page))
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::show))
        .route("/tasks/{id}/claim", post(tasks::claim))
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/calendar", post(tasks::calendar))
        .route("/calendar", get(calendar::show))
        .route("/team", get(team::show))
        .route("/start", get(tasks::start_list))
        .route("/start/{key}", get(tasks::start_form).post(tasks::start))
        .route("/settings", get(settings::show))
        .route("/settings/profile", post(settings::profile))
        .route("/settings/connect/{provider}", post(settings::connect))
        .route("/settings/caldav", post(settings::caldav))
        .route("/settings/accounts/{id}/disconnect", post(settings::disconnect))
        .route("/settings/accounts/{id}/calendar", post(settings::choose_calendar))
        .route("/settings/auto-sync", post(settings::auto_sync))
        .route("/settings/feed", post(settings::feed))
        .route("/settings/feed/off", post(settings::feed_off))
        .route("/settings/password", post(settings::password))
        .route("/settings/tokens", post(settings::new_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/models", get(designer::list).post(designer::upload))
        .route("/models/{key}", get(designer::show))
        .route("/work-calendars", get(work_calendars::list))
        .route("/work-calendars/{name}", get(work_calendars::show))
        .route("/admin", get(admin::show))
        .route("/admin/providers", post(admin::save_provider))
        .route("/admin/providers/{name}/delete", post(admin::delete_provider))
        .route("/admin/caldav", post(admin::caldav))
        .route("/admin/export", post(admin::export))
        .route("/admin/users", post(admin::add_user))
        .route("/admin/users/{login}/password", post(admin::reset_password))
        .route("/admin/users/{login}/role", post(admin::add_role))
        .route("/admin/users/{login}/roles/{role}/remove", post(admin::remove_role))
        .route("/admin/users/{login}/admin", post(admin::set_admin))
        .route("/admin/users/{login}/disable", post(admin::disable))
        .route("/admin/users/{login}/enable", post(admin::enable))
        .route("/admin/users/{login}/delete", post(admin::delete_user))
        .route("/admin/users/{login}/verify", post(admin::verify_user))
        .route("/admin/users/{login}/verify/repair", post(admin::repair_user))
        .route("/admin/exports/{id}/retry", post(admin::retry_export))
        .route("/admin/work-calendars", post(work_calendars::save))
        .route("/admin/work-calendars/{name}/refresh", post(work_calendars::refresh))
        .route("/admin/work-calendars/{name}/delete", post(work_calendars::delete))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// `GET /`: My tasks, or the sign-in page.
async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match session_cookie(&headers) {
        Some(s) if matches!(app.access.principal_by_session(&s).await, Ok(Some(_))) => see_other("/tasks"),
        _ => see_other("/login"),
    }
}

/// The sign-in page's query: only where to go next. Errors are never taken
/// from the URL (a link could put any sentence on flowcal's page); they come
/// from the failed post itself.
#[derive(serde::Deserialize, Default)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`: the sign-in page (password, and the providers with sign-in).
async fn login_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    if let Some(s) = session_cookie(&headers) {
        if matches!(app.access.principal_by_session(&s).await, Ok(Some(_))) {
            return see_other("/tasks");
        }
    }
    login_form(&app, frame::browser_lang(&headers), q.next.as_deref(), None, StatusCode::OK).await
}
