//! Administration of connectivity: OAuth providers, who may export, which
//! CalDAV hosts may be reached, how people sign in. Administrators only.
//! What is set here wins over the configuration file.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, PageQuery};
use crate::access::AdminSettingsPatch;
use crate::app::App;
use crate::error::AppResult;
use crate::paging;
use crate::settings::{CaldavConfig, Connectivity, ExportConfig, ProviderConfig, SignInConfig};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A provider as shown to administrators: its settings without the secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    #[serde(flatten)]
    pub config: ProviderConfig,
    /// Whether a client secret is set (it is never shown).
    pub client_secret_set: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConnectivityView {
    pub providers: BTreeMap<String, ProviderView>,
    pub calendar_export: ExportConfig,
    pub caldav: CaldavConfig,
    pub sign_in: SignInConfig,
}

fn view(app: &App, c: Connectivity) -> ConnectivityView {
    ConnectivityView {
        providers: c
            .providers
            .into_iter()
            .map(|(name, config)| {
                let set = config.client_secret.is_some() || config.client_secret_file.is_some();
                (name, ProviderView { config, client_secret_set: set, redirect_uri: app.access.redirect_uri() })
            })
            .collect(),
        calendar_export: c.calendar_export,
        caldav: c.caldav,
        sign_in: c.sign_in,
    }
}

/// The connectivity settings in effect.
#[utoipa::path(get, path = "/api/v1/admin/connectivity", tag = "admin",
    responses((status = 200, body = ConnectivityView), (status = 403, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<ConnectivityView>> {
    p.require_admin()?;
    let c = app.access.connectivity().await?;
    Ok(Json(view(&app, c)))
}

/// Register or replace a provider. `client_secret` is write-only; leave it
/// out to keep the stored one.
#[utoipa::path(put, path = "/api/v1/admin/providers/{name}", tag = "admin", params(("name" = String, Path)),
    request_body = ProviderConfig,
    responses((status = 200, body = ConnectivityView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_provider(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(name): Path<String>,
    ApiJson(cfg): ApiJson<ProviderConfig>,
) -> AppResult<Json<ConnectivityView>> {
    app.access.put_provider(&p, &name, cfg).await?;
    Ok(Json(view(&app, app.access.connectivity().await?)))
}

/// Remove a provider registered here.
#[utoipa::path(delete, path = "/api/v1/admin/providers/{name}", tag = "admin", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_provider(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> AppResult<StatusCode> {
    app.access.delete_provider(&p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change who may export, the CalDAV allow-list, or sign-in.
#[utoipa::path(patch, path = "/api/v1/admin/settings", tag = "admin", request_body = AdminSettingsPatch,
    responses((status = 200, body = ConnectivityView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_settings(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(patch): ApiJson<AdminSettingsPatch>,
) -> AppResult<Json<ConnectivityView>> {
    let c = app.access.patch_settings(&p, patch).await?;
    Ok(Json(view(&app, c)))
}

/// An administrator's change to a user; leave out what stays.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// true disables the user at once (sessions end; tokens and feed stop); false enables them again.
    pub disabled: Option<bool>,
    pub admin: Option<bool>,
    /// The user's roles from now on (all of them; `[]` takes every role away).
    pub roles: Option<Vec<String>>,
}

/// A user as administrators see them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUserJson {
    pub login: String,
    pub admin: bool,
    pub roles: Vec<String>,
    /// `active`, `disabled`, `deleting` (their calendar entries are being removed) or `deleted`.
    pub state: String,
}

fn user_json(u: &flowcal_store::User, roles: Vec<String>) -> AdminUserJson {
    AdminUserJson { login: u.login.clone(), admin: u.is_admin, roles, state: u.state().to_owned() }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUserList {
    pub users: Vec<AdminUserJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many users all the pages hold.
    pub total: i64,
}

/// The users, by login, with their roles and state; a page at a time, with
/// `next_cursor` and `total`.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(PageQuery),
    responses((status = 200, body = AdminUserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn users(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<AdminUserList>> {
    p.require_admin()?;
    let limit = paging::limit(page.limit)?;
    let after = paging::decode::<String>("users", page.cursor.as_deref())?;
    let list = app.store.users_page(after, limit).await?;
    let mut users = Vec::with_capacity(list.items.len());
    for u in &list.items {
        users.push(user_json(u, app.store.roles(u.id).await?));
    }
    Ok(Json(AdminUserList {
        users,
        next_cursor: paging::next_cursor("users", &list, |u| u.login.clone()),
        total: list.total.unwrap_or_default(),
    }))
}

/// Disable or enable a user, give or take admin rights, set their roles; at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{login}", tag = "admin", params(("login" = String, Path)),
    request_body = UserPatch,
    responses((status = 200, body = AdminUserJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last active administrator, or a user being deleted"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(login): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> AppResult<Json<AdminUserJson>> {
    let change = flowcal_store::AccessChange { disabled: patch.disabled, admin: patch.admin, roles: patch.roles };
    let (u, roles) = app.access.change_user(crate::access::people::By::Admin(&p), &login, change).await?;
    Ok(Json(user_json(&u, roles)))
}

/// Delete a user: disabled at once; their entries are removed from their
/// calendars, then their grants revoked at the providers and their
/// credentials deleted. The login stays in history and the audit log.
#[utoipa::path(delete, path = "/api/v1/admin/users/{login}", tag = "admin", params(("login" = String, Path)),
    responses((status = 202, body = AdminUserJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last active administrator")))]
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    Path(login): Path<String>,
) -> AppResult<(StatusCode, Json<AdminUserJson>)> {
    let u = app.access.delete_user(crate::access::people::By::Admin(&p), &login).await?;
    let roles = app.store.roles(u.id).await?;
    Ok((StatusCode::ACCEPTED, Json(user_json(&u, roles))))
}
