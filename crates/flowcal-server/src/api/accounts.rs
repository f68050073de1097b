//! The caller's calendar accounts: connect (OAuth 2.0 or CalDAV with an app
//! password), list, disconnect; and the providers they may connect to.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, PageQuery};
use crate::access::{AccountJson, AuditJson, Disconnected, StartedBy};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::paging;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountJson>,
}

/// A CalDAV account to connect.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaldavConnect {
    /// The server's URL (e.g. https://caldav.fastmail.com/).
    pub url: String,
    pub username: String,
    /// An app password (stored encrypted, never shown again).
    pub password: String,
}

/// Optional details for an OAuth connection.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OauthConnect {
    /// Suggests the account to the provider's sign-in page.
    pub login_hint: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorizationUrl {
    /// Send the browser here; it comes back to /oauth/callback.
    pub authorization_url: String,
}

/// A provider users may connect to.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    pub name: String,
    pub kind: String,
    pub display_name: String,
    /// It may also be used to sign in to flowcal.
    pub sign_in: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
    /// Whether CalDAV accounts may be connected (the administrator allowed some hosts).
    pub caldav: bool,
}

/// The caller's calendar accounts.
#[utoipa::path(get, path = "/api/v1/calendar-accounts", tag = "calendars",
    responses((status = 200, body = AccountList)))]
pub async fn list(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<AccountList>> {
    let accounts = app.access.calendar_accounts(&p).await?;
    Ok(Json(AccountList { accounts: accounts.iter().map(|a| AccountJson::at(a, app.now())).collect() }))
}

/// One calendar account.
#[utoipa::path(get, path = "/api/v1/calendar-accounts/{id}", tag = "calendars", params(("id" = i64, Path)),
    responses((status = 200, body = AccountJson), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Json<AccountJson>> {
    Ok(Json(AccountJson::at(&app.access.calendar_account(&p, id).await?, app.now())))
}

/// Connect a CalDAV account with a username and app password; checked at once.
#[utoipa::path(post, path = "/api/v1/calendar-accounts/caldav", tag = "calendars", request_body = CaldavConnect,
    responses((status = 201, body = AccountJson), (status = 200, body = AccountJson, description = "reconnected"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn connect_caldav(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<CaldavConnect>,
) -> AppResult<(StatusCode, Json<AccountJson>)> {
    let (acc, existed) = app.access.connect_caldav(&p, &b.url, &b.username, &b.password).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(AccountJson::from(&acc))))
}

/// Start connecting a calendar through OAuth 2.0 at a configured provider.
#[utoipa::path(post, path = "/api/v1/calendar-accounts/oauth/{provider}", tag = "calendars",
    params(("provider" = String, Path)), request_body(content = Option<OauthConnect>),
    responses((status = 200, body = AuthorizationUrl), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn connect_oauth(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(provider): Path<String>,
    body: Bytes,
) -> AppResult<Json<AuthorizationUrl>> {
    let opts: OauthConnect = if body.iter().all(u8::is_ascii_whitespace) {
        OauthConnect::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::Unprocessable(e.to_string()))?
    };
    let started = match (headers.contains_key(header::AUTHORIZATION), crate::http::session_cookie(&headers)) {
        (false, Some(s)) => StartedBy::Session(s),
        _ => StartedBy::Token,
    };
    let url = app.access.connect_oauth(&p, started, &provider, opts.login_hint.as_deref()).await?;
    Ok(Json(AuthorizationUrl { authorization_url: url }))
}

/// Disconnect: revoke at the provider, then delete the stored credentials.
/// 204 when the provider confirmed; 200 with an explanation when it could
/// not (the credentials are deleted all the same).
#[utoipa::path(delete, path = "/api/v1/calendar-accounts/{id}", tag = "calendars", params(("id" = i64, Path)),
    responses((status = 204), (status = 200, body = Disconnected), (status = 404, body = ErrorBody)))]
pub async fn disconnect(State(app): State<Arc<App>>, Auth(p): Auth, Path(id): Path<i64>) -> AppResult<Response> {
    let d = app.access.disconnect(&p, id).await?;
    if d.revoked {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok((StatusCode::OK, Json(d)).into_response())
    }
}

/// The providers the caller may connect calendars with.
#[utoipa::path(get, path = "/api/v1/providers", tag = "calendars", responses((status = 200, body = ProviderList)))]
pub async fn providers(State(app): State<Arc<App>>, Auth(_p): Auth) -> AppResult<Json<ProviderList>> {
    let c = app.access.connectivity().await?;
    let providers = c
        .providers
        .iter()
        .map(|(name, p)| ProviderInfo {
            name: name.clone(),
            kind: p.kind.as_str().to_owned(),
            display_name: p.display_name.clone().unwrap_or_else(|| name.clone()),
            sign_in: p.sign_in,
        })
        .collect();
    Ok(Json(ProviderList { providers, caldav: !c.caldav.allowed_hosts.is_empty() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Everyone's entries (administrators only); default: the caller's own.
    #[serde(default)]
    all: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The audit log of connections: connect, refresh failure, reconnect,
/// disconnect (newest first); a page at a time, with `next_cursor`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "calendars", params(AuditQuery, PageQuery),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(q): Query<AuditQuery>,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<AuditList>> {
    if q.all {
        p.require_admin()?;
    }
    let limit = paging::limit(page.limit)?;
    // A cursor of everyone's log is not read in one's own, and back.
    let list = if q.all { "audit:all" } else { "audit" };
    let before = paging::decode::<i64>(list, page.cursor.as_deref())?;
    let entries = app.store.audit_page((!q.all).then_some(p.user.id), before, limit).await?;
    Ok(Json(AuditList {
        entries: entries.items.iter().map(AuditJson::from).collect(),
        next_cursor: paging::next_cursor(list, &entries, |e| e.id),
    }))
}

/// A calendar of a connected account.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarJson {
    /// What to send to choose it.
    pub id: String,
    pub name: String,
    /// flowcal's own calendar.
    pub own: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarList {
    pub calendars: Vec<CalendarJson>,
}

/// Where an account's entries go.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChooseCalendar {
    /// `"own"` (flowcal's own calendar, created when missing) or a calendar id from the list.
    pub calendar: String,
}

/// The calendars of one of the caller's accounts, to pick from.
#[utoipa::path(get, path = "/api/v1/calendar-accounts/{id}/calendars", tag = "calendars", params(("id" = i64, Path)),
    responses((status = 200, body = CalendarList), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn calendars(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> AppResult<Json<CalendarList>> {
    let list = app.access.account_calendars(&p, id).await?;
    Ok(Json(CalendarList {
        calendars: list.into_iter().map(|c| CalendarJson { id: c.id, name: c.name, own: c.own }).collect(),
    }))
}

/// Choose the calendar the account's entries go to.
#[utoipa::path(put, path = "/api/v1/calendar-accounts/{id}/calendar", tag = "calendars", params(("id" = i64, Path)),
    request_body = ChooseCalendar,
    responses((status = 200, body = AccountJson), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn choose_calendar(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ChooseCalendar>,
) -> AppResult<Json<AccountJson>> {
    Ok(Json(AccountJson::from(&app.access.choose_calendar(&p, id, &b.calendar).await?)))
}
