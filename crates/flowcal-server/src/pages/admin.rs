//! The administrator's page: connectivity per provider, the CalDAV
//! allow-list, who may export, users, and delivery health; and a user's
//! calendars verified (and repaired) on request.

use super::frame::{csrf_field, error_page, layout, layout_status, see_other_notice, Posted, Viewer};
use crate::access::people::By;
use crate::access::AdminSettingsPatch;
use crate::app::App;
use crate::error::AppError;
use crate::settings::{AllowWord, CaldavConfig, ExportAllow, ProviderConfig};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use flowcal_calendar::provider::ProviderKind;
use flowcal_store::AccessChange;
use maud::{html, Markup};
use std::sync::Arc;

fn admins_only(v: &Viewer) -> Result<(), Response> {
    if v.p.is_admin() {
        Ok(())
    } else {
        Err(error_page(Some(v), &AppError::Forbidden("this page is for administrators".into())))
    }
}

/// Where the page's paged lists stand: the cursors of the users and of the failed entries.
#[derive(serde::Deserialize, Default)]
pub(crate) struct AdminQuery {
    users: Option<String>,
    failed: Option<String>,
}

/// Rows of each paged list on the page.
const PAGE_ROWS: usize = crate::paging::DEFAULT_LIMIT;

/// `GET /admin`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer, Query(at): Query<AdminQuery>) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    page(&app, &v, &at, None, None, StatusCode::OK).await
}

async fn page(
    app: &App,
    v: &Viewer,
    at: &AdminQuery,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let c = match app.access.connectivity().await {
        Ok(c) => c,
        Err(e) => return error_page(Some(v), &e.into()),
    };
    let after_user = match crate::paging::decode::<String>("page:users", at.users.as_deref()) {
        Ok(a) => a,
        Err(e) => return error_page(Some(v), &e),
    };
    let after_failed = match crate::paging::decode::<(i64, i64)>("page:failed", at.failed.as_deref()) {
        Ok(a) => a,
        Err(e) => return error_page(Some(v), &e),
    };
    let users = match app.store.users_page(after_user, PAGE_ROWS).await {
        Ok(u) => u,
        Err(e) => return error_page(Some(v), &e.into()),
    };
    let next_users = crate::paging::next_cursor("page:users", &users, |u| u.login.clone());
    let mut user_roles = Vec::with_capacity(users.items.len());
    for u in &users.items {
        let roles = app.store.roles(u.id).await.unwrap_or_default();
        user_roles.push((u, roles));
    }
    let failed = match app.store.failed_exports_page(after_failed, PAGE_ROWS).await {
        Ok(f) => f,
        Err(e) => return error_page(Some(v), &e.into()),
    };
    let next_failed =
        crate::paging::next_cursor("page:failed", &failed, |(e, _)| (e.updated_at.as_millisecond(), e.id));
    let failed_total = failed.total.unwrap_or_default();
    let failed = failed.items;
    let (reconnect, reconnect_total) = app.store.accounts_needing_reconnect(PAGE_ROWS).await.unwrap_or_default();
    let now = app.now();
    let lapse_before = now + jiff::SignedDuration::from_hours(24 * 7);
    let (attention, attention_total) =
        app.store.accounts_needing_attention(lapse_before, PAGE_ROWS).await.unwrap_or_default();
    let lag = app.store.read_lag(now).await.unwrap_or_default();
    let (states, oldest) = app.store.export_stats(app.now()).await.unwrap_or_default();
    let allow = &c.calendar_export.allow;
    let (allow_word, allow_list) = match allow {
        ExportAllow::Word(AllowWord::Everyone) => ("everyone", String::new()),
        ExportAllow::Word(AllowWord::NoOne) => ("no one", String::new()),
        ExportAllow::Users(list) => ("listed", list.join(", ")),
    };
    let body = html! {
        h1 { "Administration" }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        section.card id="connectivity" aria-labelledby="conn-h" {
            h2 id="conn-h" { "Connectivity" }
            p.muted { "Redirect URI to register at every provider: " code { (app.access.redirect_uri()) } }
            @for (name, p) in &c.providers { (provider_form(v, Some(name), Some(p))) }
            details {
                summary { "Add a provider" }
                (provider_form(v, None, None))
            }
        }
        section.card id="export-policy" aria-labelledby="who-h" {
            h2 id="who-h" { "Who may export to calendars" }
            form method="post" action="/admin/export" {
                (csrf_field(v))
                fieldset {
                    legend { "Calendar export is allowed for" }
                    label { input type="radio" name="allow" value="everyone" checked[allow_word == "everyone"]; " everyone" }
                    label { input type="radio" name="allow" value="no one" checked[allow_word == "no one"]; " no one" }
                    label { input type="radio" name="allow" value="listed" checked[allow_word == "listed"]; " these logins:" }
                    label.visually-hidden for="allow_list" { "Logins allowed to export" }
                    input id="allow_list" name="logins" value=(allow_list) placeholder="alice, bob";
                }
                button type="submit" { "Save" }
            }
        }
        section.card id="caldav-policy" aria-labelledby="dav-h" {
            h2 id="dav-h" { "CalDAV servers users may connect to" }
            form method="post" action="/admin/caldav" {
                (csrf_field(v))
                label for="hosts" { "Allowed hosts (one per line: host, host:port, *.domain, or * for any public https host)" }
                textarea id="hosts" name="hosts" rows="4" { (c.caldav.allowed_hosts.join("\n")) }
                label for="networks" { "Allowed private networks (CIDR, one per line)" }
                textarea id="networks" name="networks" rows="2" { (c.caldav.allowed_networks.join("\n")) }
                button type="submit" { "Save" }
            }
        }
        section.card id="users" aria-labelledby="users-h" {
            h2 id="users-h" { "Users" }
            p.count { (users.total.unwrap_or_default()) " users" }
            table {
                thead { tr { th scope="col" { "Login" } th scope="col" { "Roles" } th scope="col" { "Role" } th scope="col" { "Password" } th scope="col" { "Access" } } }
                tbody {
                    @for (u, roles) in &user_roles {
                        tr {
                            td {
                                (u.login) @if u.is_admin { " " span.badge { "admin" } }
                                @if u.state() != "active" { " " span.badge.overdue { (u.state()) } }
                            }
                            td {
                                @for r in roles {
                                    span.role { (r) }
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/roles/" (r) "/remove" } {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label={ "Remove the role " (r) " from " (u.login) } { "×" }
                                    }
                                    " "
                                }
                            }
                            @if u.deletion_requested_at.is_some() { td {} td {} } @else {
                            td {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/role" } {
                                    (csrf_field(v))
                                    label.visually-hidden for={ "role-" (u.login) } { "Role to add for " (u.login) }
                                    input id={ "role-" (u.login) } name="role" size="10" required;
                                    button type="submit" { "Add role" }
                                }
                            }
                            td {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/password" } {
                                    (csrf_field(v))
                                    label.visually-hidden for={ "pw-" (u.login) } { "New password for " (u.login) }
                                    input id={ "pw-" (u.login) } name="password" type="password" minlength="10" autocomplete="new-password" required;
                                    button type="submit" { "Reset" }
                                }
                            }
                            }
                            td { @if u.deletion_requested_at.is_none() {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/admin" } {
                                    (csrf_field(v))
                                    input type="hidden" name="admin" value=(if u.is_admin { "off" } else { "on" });
                                    button.secondary type="submit" {
                                        @if u.is_admin { "Take admin rights" } @else { "Make admin" }
                                    }
                                }
                                @if u.is_disabled() {
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/enable" } {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label={ "Enable " (u.login) } { "Enable" }
                                    }
                                } @else if u.login != v.p.login() {
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/disable" } data-confirm="Disable this user? Their sessions end at once." {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label={ "Disable " (u.login) } { "Disable" }
                                    }
                                }
                                @if u.login != v.p.login() {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/delete" } data-confirm="Delete this user? Their calendar entries are removed and their calendar access revoked." {
                                    (csrf_field(v))
                                    button.secondary type="submit" aria-label={ "Delete " (u.login) } { "Delete" }
                                }
                                }
                                form.inline method="post" action={ "/admin/users/" (u.login) "/verify" } {
                                    (csrf_field(v))
                                    button.secondary type="submit" aria-label={ "Verify calendars of " (u.login) } { "Verify calendars" }
                                }
                            } }
                        }
                    }
                }
            }
            @if at.users.is_some() || next_users.is_some() {
                nav.pager aria-label="Pages of users" {
                    @if at.users.is_some() { a rel="first" href="/admin#users" { "First page" } " " }
                    @if let Some(c) = &next_users { a rel="next" href={ "/admin?users=" (c) "#users" } { "Next page" } }
                }
            }
            form.card method="post" action="/admin/users" {
                (csrf_field(v))
                h3 { "Add a user" }
                label for="new_login" { "Login" }
                input id="new_login" name="login" required;
                label for="new_password" { "Password (at least 10 characters)" }
                input id="new_password" name="password" type="password" minlength="10" autocomplete="new-password" required;
                label for="new_roles" { "Roles (comma-separated)" }
                input id="new_roles" name="roles";
                label { input type="checkbox" name="admin" value="on"; " Administrator" }
                button type="submit" { "Add user" }
            }
        }
        section.card id="delivery" aria-labelledby="del-h" {
            h2 id="del-h" { "Delivery health" }
            table {
                caption { "Calendar entries by state" }
                thead { tr { th scope="col" { "State" } th scope="col" { "Kind" } th scope="col" { "Entries" } } }
                tbody { @for (state, kind, n) in &states { tr { td { (state) } td { (kind) } td { (n) } } } }
            }
            p { "Oldest entry waiting for delivery: " (oldest.map(|ms| format!("{:.0} s", ms as f64 / 1000.0)).unwrap_or_else(|| "none".into())) }
            h3 { "Failed entries" }
            @if failed.is_empty() { p.muted { "None." } } @else { p.count { (failed_total) " failed" } }
            ul {
                @for (e, login) in &failed {
                    li {
                        strong { (login) } " · " code { (e.source) } " · " span.reason { (e.last_error.clone().unwrap_or_default()) }
                        form.inline method="post" action={ "/admin/exports/" (e.id) "/retry" } {
                            (csrf_field(v))
                            button type="submit" { "Retry" }
                        }
                    }
                }
            }
            @if at.failed.is_some() || next_failed.is_some() {
                nav.pager aria-label="Pages of failed entries" {
                    @if at.failed.is_some() { a rel="first" href="/admin#delivery" { "First page" } " " }
                    @if let Some(c) = &next_failed { a rel="next" href={ "/admin?failed=" (c) "#delivery" } { "Next page" } }
                }
            }
            h3 { "Accounts needing reconnect" }
            @if reconnect.is_empty() { p.muted { "None." } }
            ul { @for (a, login) in &reconnect { li { strong { (login) } " · " (a.display) " · " span.reason { (a.last_error.clone().unwrap_or_default()) } } } }
            @if reconnect_total > reconnect.len() as i64 {
                p.muted { "The " (reconnect.len()) " most recent of " (reconnect_total) "; each user sees their own in their settings." }
            }
            h3 { "Reading calendars" }
            p {
                "Longest since a calendar was read: "
                @if lag.is_empty() { "no calendar to read yet" }
                @for (i, (kind, ms)) in lag.iter().enumerate() {
                    @if i > 0 { ", " }
                    (kind) " " (format!("{:.0} s", *ms as f64 / 1000.0))
                }
            }
            @if attention.is_empty() { p.muted { "No calendar fails to be read, and no access lapses within seven days." } }
            ul {
                @for (a, login) in &attention {
                    li {
                        strong { (login) } " · " (a.display) " · "
                        @if let Some(e) = &a.read_error { span.reason { "reading failed: " (e) } }
                        @if let Some(w) = crate::access::lapse_warning(a, now) { " " span.reason { (w) } }
                    }
                }
            }
            @if attention_total > attention.len() as i64 {
                p.muted { "The " (attention.len()) " most recent of " (attention_total) "." }
            }
        }
    };
    layout_status(status, Some(v), "Administration", notice, body)
}

/// A provider's settings (the client secret is write-only).
fn provider_form(v: &Viewer, name: Option<&str>, p: Option<&ProviderConfig>) -> Markup {
    let id = name.unwrap_or("new");
    let f = |s: &str| format!("{id}-{s}");
    let kind = p.map(|p| p.kind);
    let opt = |o: Option<&String>| o.cloned().unwrap_or_default();
    html! {
        form.provider method="post" action="/admin/providers" {
            (csrf_field(v))
            h3 { @match name { Some(n) => { (n) } None => { "New provider" } } }
            @match name {
                Some(n) => { input type="hidden" name="name" value=(n); }
                None => {
                    label for=(f("name")) { "Name (letters, digits, - and _)" }
                    input id=(f("name")) name="name" required pattern="[A-Za-z0-9_-]+";
                }
            }
            label for=(f("kind")) { "Kind" }
            select id=(f("kind")) name="kind" {
                @for k in ProviderKind::all() {
                    option value=(k.as_str()) selected[kind == Some(k)] { (k.label()) }
                }
            }
            label for=(f("display")) { "Display name" }
            input id=(f("display")) name="display_name" value=(p.and_then(|p| p.display_name.clone()).unwrap_or_default());
            label for=(f("client_id")) { "Client id" }
            input id=(f("client_id")) name="client_id" required value=(p.map(|p| p.client_id.clone()).unwrap_or_default());
            label for=(f("secret")) { "Client secret " span.muted { @if p.is_some() { "(set; leave empty to keep it)" } @else { "(required)" } } }
            input id=(f("secret")) name="client_secret" type="password" autocomplete="off";
            label for=(f("domains")) { "Allowed domains (Google Workspace; comma-separated)" }
            input id=(f("domains")) name="allowed_domains" value=(p.map(|p| p.allowed_domains.join(", ")).unwrap_or_default());
            label for=(f("tenant")) { "Tenant (Microsoft)" }
            input id=(f("tenant")) name="tenant" value=(opt(p.and_then(|p| p.tenant.as_ref())));
            details {
                summary { "Endpoints" }
                @for (field, label, value) in [
                    ("issuer", "Issuer", p.and_then(|p| p.issuer.clone())),
                    ("authorization_endpoint", "Authorization endpoint", p.and_then(|p| p.authorization_endpoint.clone())),
                    ("token_endpoint", "Token endpoint", p.and_then(|p| p.token_endpoint.clone())),
                    ("revocation_endpoint", "Revocation endpoint", p.and_then(|p| p.revocation_endpoint.clone())),
                    ("jwks_uri", "JWKS URI", p.and_then(|p| p.jwks_uri.clone())),
                    ("api_base_url", "Calendar API base URL", p.and_then(|p| p.api_base_url.clone())),
                ] {
                    label for=(f(field)) { (label) }
                    input id=(f(field)) name=(field) type="url" value=(value.unwrap_or_default());
                }
            }
            label { input type="checkbox" name="sign_in" value="on" checked[p.is_some_and(|p| p.sign_in)]; " Users may sign in to flowcal with it" }
            button type="submit" { "Save provider" }
        }
        @if let Some(n) = name {
            form.inline method="post" action={ "/admin/providers/" (n) "/delete" } data-confirm="Delete this provider?" {
                (csrf_field(v))
                button.secondary type="submit" aria-label={ "Delete provider " (n) } { "Delete" }
            }
        }
    }
}

/// What a form post on this page ended with.
async fn done(app: &App, v: &Viewer, r: Result<String, AppError>) -> Response {
    match r {
        Ok(notice) => see_other_notice("/admin", &notice),
        Err(AppError::Internal(e)) => error_page(Some(v), &AppError::Internal(e)),
        Err(e) => page(app, v, &AdminQuery::default(), None, Some(&e.to_string()), e.status()).await,
    }
}

/// `POST /admin/providers`.
pub(crate) async fn save_provider(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let opt = |k: &str| Some(f.text(k)).filter(|s| !s.is_empty());
    // The form offers the registry's kinds; anything else is read as any OAuth server.
    let kind = ProviderKind::named(&f.text("kind")).unwrap_or(ProviderKind::GENERIC);
    let name = f.text("name");
    // Settings this form does not show (scopes, token auth, create_users) are kept.
    let mut cfg = match app.access.connectivity().await.map(|c| c.providers.get(&name).cloned()) {
        Ok(Some(existing)) => existing,
        _ => {
            match serde_json::from_value::<ProviderConfig>(serde_json::json!({"kind": kind.as_str(), "client_id": ""}))
            {
                Ok(c) => c,
                Err(e) => return error_page(Some(&v), &AppError::Internal(e.into())),
            }
        }
    };
    cfg.kind = kind;
    cfg.display_name = opt("display_name");
    cfg.client_id = f.text("client_id");
    cfg.client_secret = opt("client_secret");
    cfg.client_secret_file = None;
    cfg.allowed_domains = super::frame::comma_list(&f.text("allowed_domains"));
    cfg.tenant = opt("tenant");
    cfg.issuer = opt("issuer");
    cfg.authorization_endpoint = opt("authorization_endpoint");
    cfg.token_endpoint = opt("token_endpoint");
    cfg.revocation_endpoint = opt("revocation_endpoint");
    cfg.jwks_uri = opt("jwks_uri");
    cfg.api_base_url = opt("api_base_url");
    cfg.sign_in = f.checked("sign_in");
    let r = app.access.put_provider(&v.p, &name, cfg).await.map(|()| format!("Saved provider {name}"));
    done(&app, &v, r).await
}

/// `POST /admin/providers/{name}/delete`.
pub(crate) async fn delete_provider(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let r = app.access.delete_provider(&v.p, &name).await.map(|()| format!("Deleted provider {name}"));
    done(&app, &v, r).await
}

/// `POST /admin/caldav`.
pub(crate) async fn caldav(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let lines = |k: &str| -> Vec<String> {
        f.text(k).lines().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    };
    let patch = AdminSettingsPatch {
        calendar_export: None,
        caldav: Some(CaldavConfig { allowed_hosts: lines("hosts"), allowed_networks: lines("networks") }),
        sign_in: None,
    };
    let r = app.access.patch_settings(&v.p, patch).await.map(|_| "Saved the CalDAV allow-list".to_owned());
    done(&app, &v, r).await
}

/// `POST /admin/export`.
pub(crate) async fn export(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let mut export = match app.access.connectivity().await {
        Ok(c) => c.calendar_export,
        Err(e) => return error_page(Some(&v), &e.into()),
    };
    export.allow = match f.text("allow").as_str() {
        "everyone" => ExportAllow::Word(AllowWord::Everyone),
        "no one" => ExportAllow::Word(AllowWord::NoOne),
        _ => ExportAllow::Users(super::frame::comma_list(&f.text("logins"))),
    };
    let patch = AdminSettingsPatch { calendar_export: Some(export), caldav: None, sign_in: None };
    let r = app.access.patch_settings(&v.p, patch).await.map(|_| "Saved who may export".to_owned());
    done(&app, &v, r).await
}

/// `POST /admin/users`.
pub(crate) async fn add_user(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let login = f.text("login");
    let roles: Vec<String> = super::frame::comma_list(&f.text("roles"));
    let password = f.get("password").unwrap_or_default().to_owned();
    let r = match check_password(&password) {
        Ok(()) => app
            .access
            .add_user(&login, f.checked("admin"), &roles, Some(&password))
            .await
            .map(|_| format!("Added {login}")),
        Err(e) => Err(e),
    };
    done(&app, &v, r).await
}

fn check_password(p: &str) -> Result<(), AppError> {
    if p.chars().count() < 10 {
        return Err(AppError::Unprocessable("a password needs at least 10 characters".into()));
    }
    Ok(())
}

/// `POST /admin/users/{login}/password`.
pub(crate) async fn reset_password(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, f }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let password = f.get("password").unwrap_or_default().to_owned();
    let r = match check_password(&password) {
        Ok(()) => app
            .access
            .reset_password(&v.p, &login, &password)
            .await
            .map(|n| format!("New password set for {login}; their sessions ended ({n} signed out)")),
        Err(e) => Err(e),
    };
    done(&app, &v, r).await
}

/// `POST /admin/users/{login}/role`.
pub(crate) async fn add_role(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, f }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let role = f.text("role");
    let r = app.access.grant_role(&v.p, &login, &role).await.map(|()| format!("{login} has the role {role}"));
    done(&app, &v, r).await
}

/// `POST /admin/exports/{id}/retry`: any user's failed export goes out again.
pub(crate) async fn retry_export(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let r = app.exports.admin_retry_export(&v.p, id).await.map(|()| "Sending it again".to_owned());
    done(&app, &v, r).await
}

/// `POST /admin/users/{login}/roles/{role}/remove`: takes one role away at once.
pub(crate) async fn remove_role(
    State(app): State<Arc<App>>,
    Path((login, role)): Path<(String, String)>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let r = async {
        let user = app.access.user_named(&login).await?;
        let roles: Vec<String> = app.store.roles(user.id).await?.into_iter().filter(|r| *r != role).collect();
        let change = AccessChange { roles: Some(roles), ..Default::default() };
        app.access.change_user(By::Admin(&v.p), &login, change).await?;
        Ok(format!("{login} no longer has the role {role}"))
    }
    .await;
    done(&app, &v, r).await
}

/// `POST /admin/users/{login}/admin`: `admin` = `on` or `off`.
pub(crate) async fn set_admin(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, f }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let on = f.text("admin") == "on";
    let said =
        if on { format!("{login} is an administrator") } else { format!("{login} is no longer an administrator") };
    change_user(&app, &v, &login, AccessChange { admin: Some(on), ..Default::default() }, said).await
}

/// Applies an administrator's change to `login` and reports `said` (or why not).
async fn change_user(app: &App, v: &Viewer, login: &str, change: AccessChange, said: String) -> Response {
    let r = app.access.change_user(By::Admin(&v.p), login, change).await.map(|_| said);
    done(app, v, r).await
}

/// `POST /admin/users/{login}/disable`.
pub(crate) async fn disable(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let said = format!("{login} is disabled: their sessions ended, their API tokens and feed stopped");
    change_user(&app, &v, &login, AccessChange { disabled: Some(true), ..Default::default() }, said).await
}

/// `POST /admin/users/{login}/enable`.
pub(crate) async fn enable(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let said = format!("{login} is enabled again");
    change_user(&app, &v, &login, AccessChange { disabled: Some(false), ..Default::default() }, said).await
}

/// `POST /admin/users/{login}/delete`: deprovisions the user (see `Access::delete_user`).
pub(crate) async fn delete_user(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let r = app.access.delete_user(By::Admin(&v.p), &login).await.map(|_| {
        format!("{login} is disabled and being deleted: their calendar entries are removed, then their access revoked")
    });
    done(&app, &v, r).await
}

/// Findings a verification's page lists (the summary counts them all).
const SHOWN_FINDINGS: usize = 500;

/// `POST /admin/users/{login}/verify`: the user's calendars compared with
/// what flowcal should have put there (see [`crate::verify`]); nothing is
/// changed.
pub(crate) async fn verify_user(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    verified(&app, &v, &login, false).await
}

/// `POST /admin/users/{login}/verify/repair`: the same, and what it finds repaired.
pub(crate) async fn repair_user(
    State(app): State<Arc<App>>,
    Path(login): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    verified(&app, &v, &login, true).await
}

/// Runs the check (with `repair`, the repair too) and shows what it found.
async fn verified(app: &App, v: &Viewer, login: &str, repair: bool) -> Response {
    if let Err(r) = admins_only(v) {
        return r;
    }
    let r = match crate::verify::verify(app, login, repair, |_, _| {}).await {
        Ok(r) => r,
        Err(e) => return error_page(Some(v), &e),
    };
    let shown = &r.findings[..r.findings.len().min(SHOWN_FINDINGS)];
    let body = html! {
        h1 { "Calendars of " (login) }
        section.card id="verification" aria-labelledby="ver-h" {
            h2 id="ver-h" { @if repair { "Verified and repaired" } @else { "Verified" } }
            p.count { (r.line()) }
            @if let Some(line) = r.repair_line() { p.count { (line) } }
            @for n in &r.notes { p.muted { (n) } }
            @if r.found() == 0 {
                p { "The calendars hold what flowcal put there." }
            } @else {
                table {
                    caption { "Findings" }
                    thead { tr {
                        th scope="col" { "Kind" } th scope="col" { "Source" } th scope="col" { "Entry" }
                        th scope="col" { "Account" } th scope="col" { "Details" }
                        @if r.repaired { th scope="col" { "Repair" } }
                    } }
                    tbody {
                        @for f in shown {
                            tr {
                                td { (f.kind.as_str()) }
                                td { @if let Some(s) = &f.source { code { (s) } } }
                                td { (f.title) }
                                td { (f.account) }
                                td { (f.detail) }
                                @if r.repaired {
                                    td { @match &f.repaired {
                                        Some(Ok(())) => { "repaired" }
                                        Some(Err(why)) => { span.reason { "not repaired: " (why) } }
                                        None => { "not repaired" }
                                    } }
                                }
                            }
                        }
                    }
                }
                @if r.findings.len() > shown.len() || r.found() > r.findings.len() {
                    p.muted { "The first " (shown.len()) " of " (r.found()) " findings." }
                }
                @if r.remaining() > 0 {
                    form method="post" action={ "/admin/users/" (login) "/verify/repair" } {
                        (csrf_field(v))
                        p.muted { "Repair deletes the extra entries and copies, makes the missing entries again and writes the different ones again; entries deleted in the calendar stay deleted." }
                        button type="submit" { "Repair" }
                    }
                }
            }
            p { a href="/admin#users" { "Back to the administration" } }
        }
    };
    layout(Some(v), &format!("Calendars of {login}"), None, body)
}
