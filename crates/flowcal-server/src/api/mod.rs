//! The JSON API, version 1, under `/api/v1`, and its OpenAPI document.
//!
//! Callers authenticate with a personal API token (`Authorization: Bearer`) or
//! the browser's session cookie. With the cookie, state-changing requests must
//! carry `Content-Type: application/json`, which a cross-site form cannot send.

mod accounts;
mod admin;
mod exports;
pub mod extract;
mod instances;
mod me;
mod models;
mod tasks;
pub mod types;
mod work_calendars;

use crate::app::App;
use crate::error::AppError;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use utoipa::OpenApi;

pub use tasks::{cursor_list as task_cursor_list, task_query as tasks_query};
pub use types::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "flowcal API", description = "Workflows whose deadlines land in calendars."),
    paths(
        models::upload,
        models::list,
        models::show,
        instances::start,
        instances::list,
        instances::show,
        instances::events,
        instances::cancel,
        instances::set_data,
        instances::retry,
        instances::incidents,
        tasks::list,
        tasks::show,
        tasks::claim,
        tasks::complete,
        me::show,
        me::settings,
        me::feed,
        me::new_feed,
        me::disable_feed,
        me::tokens,
        me::new_token,
        me::revoke_token,
        accounts::list,
        accounts::show,
        accounts::connect_caldav,
        accounts::connect_oauth,
        accounts::disconnect,
        accounts::calendars,
        accounts::choose_calendar,
        exports::create,
        exports::list,
        exports::show,
        exports::remove,
        exports::retry,
        exports::accept_remote,
        exports::keep_local,
        accounts::providers,
        accounts::audit,
        admin::show,
        admin::put_provider,
        admin::delete_provider,
        admin::patch_settings,
        admin::users,
        admin::patch_user,
        admin::delete_user,
        work_calendars::list,
        work_calendars::show,
        work_calendars::days,
        work_calendars::put,
        work_calendars::delete,
        work_calendars::refresh,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, FieldErrorJson, UnsupportedJson, ModelCreated, ModelInfo, ItemInfo, StepInfo, TimerInfo, StartInstance, InstanceJson, IncidentJson, TimerJson,
        TaskJson, TaskList, CompleteTask, SetData, EventJson, EventList, InstanceList, MeJson, SettingsPatch, ModelList,
        AutoSyncJson, crate::feed::FeedStatus,
        accounts::AccountList, accounts::CaldavConnect, accounts::OauthConnect, accounts::AuthorizationUrl,
        accounts::ProviderInfo, accounts::ProviderList, accounts::AuditList, accounts::CalendarJson,
        accounts::CalendarList, accounts::ChooseCalendar, exports::NewExportJson, exports::ExportJson, exports::RemoteJson,
        exports::ExportList, crate::access::AccountJson,
        crate::access::AuditJson, crate::access::Disconnected, admin::ProviderView, admin::ConnectivityView,
        crate::settings::ProviderConfig, crate::settings::ProviderKindSchema,
        crate::settings::ExportConfig, crate::settings::ExportAllow,
        crate::settings::CaldavConfig, crate::settings::SignInConfig,
        me::TokenJson, me::TokenList, me::NewToken, me::TokenCreated, admin::UserPatch, admin::AdminUserJson,
        admin::AdminUserList,
        crate::workcal::CalendarPut, crate::workcal::HolidayJson, crate::workcal::WorkingDayJson,
        crate::workcal::SourcePut, crate::workcal::SourceJson, crate::workcal::WorkCalendarJson,
        work_calendars::WorkCalendarPage, crate::workcal::DayJson, crate::workcal::DaysJson,
        work_calendars::RefreshJson
    )),
    modifiers(&SecurityAddon, &CommonErrors),
    security(("bearer" = []), ("session" = []))
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::http::SESSION_COOKIE))),
        );
    }
}

/// The answers every operation can give besides its own: a malformed path,
/// query or body (400), no or a wrong credential (401), a disabled account's
/// credential (403), the time limit (408); for changes, also a cookie without
/// a JSON Content-Type (403); and for operations with a body, one too large
/// (413), not JSON (415) or not fitting the schema (422).
/// Listed once here so the document says what the server really answers.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/api/v1/openapi.json" {
                continue;
            }
            let ops = [
                (false, &mut item.get),
                (true, &mut item.put),
                (true, &mut item.post),
                (true, &mut item.delete),
                (true, &mut item.patch),
            ];
            for (changes, op) in ops.into_iter().filter_map(|(c, op)| op.as_mut().map(|op| (c, op))) {
                let mut common = vec![
                    ("400", "the path, query or body is malformed"),
                    ("401", "no valid API token or session"),
                    ("408", "the request was not received and answered in time"),
                ];
                // A change signed in by cookie must be sent as JSON (see the module doc).
                common.push(if changes {
                    ("403", "not allowed for this caller, the account is disabled, or sent by cookie without a JSON Content-Type")
                } else {
                    ("403", "the account is disabled")
                });
                if op.request_body.is_some() {
                    common.push(("413", "the body is too large"));
                    common.push(("422", "the body does not fit the operation's schema"));
                    common.push(("415", "the body has the wrong Content-Type"));
                }
                for (status, what) in common {
                    op.responses.responses.entry(status.to_owned()).or_insert_with(|| error(what).into());
                }
            }
        }
    }
}

/// The API routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/models", post(models::upload).get(models::list))
        .route("/api/v1/models/{key}", get(models::show))
        .route("/api/v1/instances", post(instances::start).get(instances::list))
        .route("/api/v1/instances/{id}", get(instances::show))
        .route("/api/v1/instances/{id}/events", get(instances::events))
        .route("/api/v1/instances/{id}/cancel", post(instances::cancel))
        .route("/api/v1/instances/{id}/data", axum::routing::patch(instances::set_data))
        .route("/api/v1/instances/{id}/retry", post(instances::retry))
        .route("/api/v1/incidents", get(instances::incidents))
        .route("/api/v1/tasks", get(tasks::list))
        .route("/api/v1/tasks/{id}", get(tasks::show))
        .route("/api/v1/tasks/{id}/claim", post(tasks::claim))
        .route("/api/v1/tasks/{id}/complete", post(tasks::complete))
        .route("/api/v1/me", get(me::show))
        .route("/api/v1/me/settings", axum::routing::patch(me::settings))
        .route("/api/v1/me/feed", get(me::feed).post(me::new_feed).delete(me::disable_feed))
        .route("/api/v1/me/tokens", get(me::tokens).post(me::new_token))
        .route("/api/v1/me/tokens/{id}", axum::routing::delete(me::revoke_token))
        .route("/api/v1/calendar-accounts", get(accounts::list))
        .route("/api/v1/calendar-accounts/caldav", post(accounts::connect_caldav))
        .route("/api/v1/calendar-accounts/oauth/{provider}", post(accounts::connect_oauth))
        .route("/api/v1/calendar-accounts/{id}", get(accounts::show).delete(accounts::disconnect))
        .route("/api/v1/calendar-accounts/{id}/calendars", get(accounts::calendars))
        .route("/api/v1/calendar-accounts/{id}/calendar", axum::routing::put(accounts::choose_calendar))
        .route("/api/v1/exports", post(exports::create).get(exports::list))
        .route("/api/v1/exports/{id}", get(exports::show).delete(exports::remove))
        .route("/api/v1/exports/{id}/retry", post(exports::retry))
        .route("/api/v1/exports/{id}/accept-remote", post(exports::accept_remote))
        .route("/api/v1/exports/{id}/keep-local", post(exports::keep_local))
        .route("/api/v1/providers", get(accounts::providers))
        .route("/api/v1/audit", get(accounts::audit))
        .route("/api/v1/admin/connectivity", get(admin::show))
        .route("/api/v1/admin/providers/{name}", axum::routing::put(admin::put_provider).delete(admin::delete_provider))
        .route("/api/v1/admin/settings", axum::routing::patch(admin::patch_settings))
        .route("/api/v1/admin/users", get(admin::users))
        .route("/api/v1/admin/users/{login}", axum::routing::patch(admin::patch_user).delete(admin::delete_user))
        .route("/api/v1/work-calendars", get(work_calendars::list))
        .route("/api/v1/work-calendars/{name}", get(work_calendars::show))
        .route("/api/v1/work-calendars/{name}/days", get(work_calendars::days))
        .route(
            "/api/v1/admin/work-calendars/{name}",
            axum::routing::put(work_calendars::put).delete(work_calendars::delete),
        )
        .route("/api/v1/admin/work-calendars/{name}/refresh", post(work_calendars::refresh))
        .fallback(|| async { AppError::NotFound("no such API endpoint".into()) })
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
