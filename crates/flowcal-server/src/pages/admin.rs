//! The administrator's page: connectivity per provider, the CalDAV
//! allow-list, who may export, users, and delivery health; and a user's
//! calendars verified (and repaired) on request.

use super::frame::{column_heads, csrf_field, error_page, layout, layout_status, see_other_notice, Posted, Viewer};
use crate::access::people::By;
use crate::access::AdminSettingsPatch;
use crate::app::App;
use crate::error::AppError;
use crate::i18n::Lang;
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
        Err(error_page(Some(v), &AppError::Forbidden(v.lang.t("admin-forbidden"))))
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
    let l = v.lang;
    let body = html! {
        h1 { (l.t("admin-title")) }
        @if let Some(e) = error { p.error role="alert" { (l.translate(e)) } }
        section.card id="connectivity" aria-labelledby="conn-h" {
            h2 id="conn-h" { (l.t("admin-connectivity")) }
            p.muted { (l.t("admin-redirect-uri")) " " code { (app.access.redirect_uri()) } }
            @for (name, p) in &c.providers { (provider_form(v, Some(name), Some(p))) }
            details {
                summary { (l.t("admin-add-provider")) }
                (provider_form(v, None, None))
            }
        }
        section.card id="export-policy" aria-labelledby="who-h" {
            h2 id="who-h" { (l.t("admin-export-heading")) }
            form method="post" action="/admin/export" {
                (csrf_field(v))
                fieldset {
                    legend { (l.t("admin-export-legend")) }
                    label { input type="radio" name="allow" value="everyone" checked[allow_word == "everyone"]; " " (l.t("admin-export-everyone")) }
                    label { input type="radio" name="allow" value="no one" checked[allow_word == "no one"]; " " (l.t("admin-export-no-one")) }
                    label { input type="radio" name="allow" value="listed" checked[allow_word == "listed"]; " " (l.t("admin-export-listed")) }
                    label.visually-hidden for="allow_list" { (l.t("admin-export-logins")) }
                    input id="allow_list" name="logins" value=(allow_list) placeholder="alice, bob";
                }
                button type="submit" { (l.t("admin-save")) }
            }
        }
        section.card id="caldav-policy" aria-labelledby="dav-h" {
            h2 id="dav-h" { (l.t("admin-caldav-heading")) }
            form method="post" action="/admin/caldav" {
                (csrf_field(v))
                label for="hosts" { (l.t("admin-caldav-hosts")) }
                textarea id="hosts" name="hosts" rows="4" { (c.caldav.allowed_hosts.join("\n")) }
                label for="networks" { (l.t("admin-caldav-networks")) }
                textarea id="networks" name="networks" rows="2" { (c.caldav.allowed_networks.join("\n")) }
                button type="submit" { (l.t("admin-save")) }
            }
        }
        section.card id="users" aria-labelledby="users-h" {
            h2 id="users-h" { (l.t("admin-users")) }
            p.count { (l.t_with("admin-user-count", &[("count", users.total.unwrap_or_default().into())])) }
            table {
                (column_heads(l, &["admin-col-login", "admin-col-roles", "admin-col-role", "admin-col-password", "admin-col-access"]))
                tbody {
                    @for (u, roles) in &user_roles {
                        tr {
                            td {
                                (u.login) @if u.is_admin { " " span.badge { (l.t("admin-badge-admin")) } }
                                @if u.state() != "active" { " " span.badge.overdue { (user_state(l, u.state())) } }
                            }
                            td {
                                @for r in roles {
                                    span.role { (r) }
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/roles/" (r) "/remove" } {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label=(l.t_with("admin-remove-role", &[("role", r.as_str().into()), ("login", u.login.as_str().into())])) { "×" }
                                    }
                                    " "
                                }
                            }
                            @if u.deletion_requested_at.is_some() { td {} td {} } @else {
                            td {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/role" } {
                                    (csrf_field(v))
                                    label.visually-hidden for={ "role-" (u.login) } { (l.t_with("admin-role-to-add", &[("login", u.login.as_str().into())])) }
                                    input id={ "role-" (u.login) } name="role" size="10" required;
                                    button type="submit" { (l.t("admin-add-role")) }
                                }
                            }
                            td {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/password" } {
                                    (csrf_field(v))
                                    label.visually-hidden for={ "pw-" (u.login) } { (l.t_with("admin-new-password-for", &[("login", u.login.as_str().into())])) }
                                    input id={ "pw-" (u.login) } name="password" type="password" minlength="10" autocomplete="new-password" required;
                                    button type="submit" { (l.t("admin-reset-password")) }
                                }
                            }
                            }
                            td { @if u.deletion_requested_at.is_none() {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/admin" } {
                                    (csrf_field(v))
                                    input type="hidden" name="admin" value=(if u.is_admin { "off" } else { "on" });
                                    button.secondary type="submit" {
                                        @if u.is_admin { (l.t("admin-take-admin")) } @else { (l.t("admin-make-admin")) }
                                    }
                                }
                                @if u.is_disabled() {
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/enable" } {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label=(l.t_with("admin-enable-user", &[("login", u.login.as_str().into())])) { (l.t("admin-enable")) }
                                    }
                                } @else if u.login != v.p.login() {
                                    form.inline method="post" action={ "/admin/users/" (u.login) "/disable" } data-confirm=(l.t("admin-disable-confirm")) {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label=(l.t_with("admin-disable-user", &[("login", u.login.as_str().into())])) { (l.t("admin-disable")) }
                                    }
                                }
                                @if u.login != v.p.login() {
                                form.inline method="post" action={ "/admin/users/" (u.login) "/delete" } data-confirm=(l.t("admin-delete-confirm")) {
                                    (csrf_field(v))
                                    button.secondary type="submit" aria-label=(l.t_with("admin-delete-user", &[("login", u.login.as_str().into())])) { (l.t("admin-delete")) }
                                }
                                }
                                form.inline method="post" action={ "/admin/users/" (u.login) "/verify" } {
                                    (csrf_field(v))
                                    button.secondary type="submit" aria-label=(l.t_with("admin-verify-user", &[("login", u.login.as_str().into())])) { (l.t("admin-verify")) }
                                }
                            } }
                        }
                    }
                }
            }
            @if at.users.is_some() || next_users.is_some() {
                nav.pager aria-label=(l.t("admin-user-pages")) {
                    @if at.users.is_some() { a rel="first" href="/admin#users" { (l.t("admin-first-page")) } " " }
                    @if let Some(c) = &next_users { a rel="next" href={ "/admin?users=" (c) "#users" } { (l.t("admin-next-page")) } }
                }
            }
            form.card method="post" action="/admin/users" {
                (csrf_field(v))
                h3 { (l.t("admin-add-user-heading")) }
                label for="new_login" { (l.t("admin-col-login")) }
                input id="new_login" name="login" required;
                label for="new_password" { (l.t("admin-new-user-password")) }
                input id="new_password" name="password" type="password" minlength="10" autocomplete="new-password" required;
                label for="new_roles" { (l.t("admin-new-user-roles")) }
                input id="new_roles" name="roles";
                label { input type="checkbox" name="admin" value="on"; " " (l.t("admin-new-user-admin")) }
                button type="submit" { (l.t("admin-add-user")) }
            }
        }
        section.card id="delivery" aria-labelledby="del-h" {
            h2 id="del-h" { (l.t("admin-delivery")) }
            table {
                caption { (l.t("admin-entries-by-state")) }
                (column_heads(l, &["admin-col-state", "admin-col-kind", "admin-col-entries"]))
                tbody { @for (state, kind, n) in &states { tr { td { (state) } td { (kind) } td { (n) } } } }
            }
            p { (l.t("admin-oldest-waiting")) " " (oldest.map(|ms| seconds(l, ms)).unwrap_or_else(|| l.t("admin-oldest-none"))) }
            h3 { (l.t("admin-failed-entries")) }
            @if failed.is_empty() { p.muted { (l.t("admin-none")) } } @else { p.count { (l.t_with("admin-failed-count", &[("count", failed_total.into())])) } }
            ul {
                @for (e, login) in &failed {
                    li {
                        strong { (login) } " · " code { (e.source) } " · " span.reason { (l.translate(e.last_error.as_deref().unwrap_or_default())) }
                        form.inline method="post" action={ "/admin/exports/" (e.id) "/retry" } {
                            (csrf_field(v))
                            button type="submit" { (l.t("admin-retry")) }
                        }
                    }
                }
            }
            @if at.failed.is_some() || next_failed.is_some() {
                nav.pager aria-label=(l.t("admin-failed-pages")) {
                    @if at.failed.is_some() { a rel="first" href="/admin#delivery" { (l.t("admin-first-page")) } " " }
                    @if let Some(c) = &next_failed { a rel="next" href={ "/admin?failed=" (c) "#delivery" } { (l.t("admin-next-page")) } }
                }
            }
            h3 { (l.t("admin-reconnect")) }
            @if reconnect.is_empty() { p.muted { (l.t("admin-none")) } }
            ul { @for (a, login) in &reconnect { li { strong { (login) } " · " (a.display) " · " span.reason { (l.translate(a.last_error.as_deref().unwrap_or_default())) } } } }
            @if reconnect_total > reconnect.len() as i64 {
                p.muted { (l.t_with("admin-reconnect-more", &[("shown", reconnect.len().into()), ("total", reconnect_total.into())])) }
            }
            h3 { (l.t("admin-reading")) }
            p {
                (l.t("admin-read-lag")) " "
                @if lag.is_empty() { (l.t("admin-read-lag-none")) }
                @for (i, (kind, ms)) in lag.iter().enumerate() {
                    @if i > 0 { ", " }
                    (kind) " " (seconds(l, *ms))
                }
            }
            @if attention.is_empty() { p.muted { (l.t("admin-attention-none")) } }
            ul {
                @for (a, login) in &attention {
                    li {
                        strong { (login) } " · " (a.display) " · "
                        @if let Some(e) = &a.read_error { span.reason { (l.t_with("admin-reading-failed", &[("error", l.translate(e).into())])) } }
                        @if let Some(w) = crate::access::lapse_warning(a, now) { " " span.reason { (l.translate(&w)) } }
                    }
                }
            }
            @if attention_total > attention.len() as i64 {
                p.muted { (l.t_with("admin-attention-more", &[("shown", attention.len().into()), ("total", attention_total.into())])) }
            }
        }
    };
    layout_status(status, Some(v), &l.t("admin-title"), notice, body)
}

/// Milliseconds as whole seconds: `12 s`.
fn seconds(l: Lang, ms: i64) -> String {
    l.t_with("admin-seconds", &[("seconds", format!("{:.0}", ms as f64 / 1000.0).into())])
}

/// A user's state (`disabled`, `deleting`, `deleted`) in words.
fn user_state(l: Lang, state: &str) -> String {
    match state {
        "disabled" => l.t("admin-state-disabled"),
        "deleting" => l.t("admin-state-deleting"),
        "deleted" => l.t("admin-state-deleted"),
        other => other.to_owned(),
    }
}

/// What kind of finding a verification made, in words.
fn finding_kind(l: Lang, k: crate::verify::Kind) -> String {
    use crate::verify::Kind;
    l.t(match k {
        Kind::Missing => "admin-finding-missing",
        Kind::Extra => "admin-finding-extra",
        Kind::Duplicate => "admin-finding-duplicate",
        Kind::Different => "admin-finding-different",
    })
}

/// A provider's settings (the client secret is write-only).
fn provider_form(v: &Viewer, name: Option<&str>, p: Option<&ProviderConfig>) -> Markup {
    let id = name.unwrap_or("new");
    let f = |s: &str| format!("{id}-{s}");
    let kind = p.map(|p| p.kind);
    let opt = |o: Option<&String>| o.cloned().unwrap_or_default();
    let l = v.lang;
    html! {
        form.provider method="post" action="/admin/providers" {
            (csrf_field(v))
            h3 { @match name { Some(n) => { (n) } None => { (l.t("admin-new-provider")) } } }
            @match name {
                Some(n) => { input type="hidden" name="name" value=(n); }
                None => {
                    label for=(f("name")) { (l.t("admin-provider-name")) }
                    input id=(f("name")) name="name" required pattern="[A-Za-z0-9_-]+";
                }
            }
            label for=(f("kind")) { (l.t("admin-col-kind")) }
            select id=(f("kind")) name="kind" {
                @for k in ProviderKind::all() {
                    option value=(k.as_str()) selected[kind == Some(k)] {
                        // Google and Microsoft 365 are names; "any other server" is words.
                        @if k.as_str() == ProviderKind::GENERIC.as_str() { (l.t("admin-provider-kind-generic")) } @else { (k.label()) }
                    }
                }
            }
            label for=(f("display")) { (l.t("admin-provider-display")) }
            input id=(f("display")) name="display_name" value=(p.and_then(|p| p.display_name.clone()).unwrap_or_default());
            label for=(f("client_id")) { (l.t("admin-provider-client-id")) }
            input id=(f("client_id")) name="client_id" required value=(p.map(|p| p.client_id.clone()).unwrap_or_default());
            label for=(f("secret")) { (l.t("admin-provider-secret")) " " span.muted { @if p.is_some() { (l.t("admin-provider-secret-set")) } @else { (l.t("admin-provider-secret-required")) } } }
            input id=(f("secret")) name="client_secret" type="password" autocomplete="off";
            label for=(f("domains")) { (l.t("admin-provider-domains")) }
            input id=(f("domains")) name="allowed_domains" value=(p.map(|p| p.allowed_domains.join(", ")).unwrap_or_default());
            label for=(f("tenant")) { (l.t("admin-provider-tenant")) }
            input id=(f("tenant")) name="tenant" value=(opt(p.and_then(|p| p.tenant.as_ref())));
            details {
                summary { (l.t("admin-provider-endpoints")) }
                @for (field, label, value) in [
                    ("issuer", "admin-provider-issuer", p.and_then(|p| p.issuer.clone())),
                    ("authorization_endpoint", "admin-provider-authorization", p.and_then(|p| p.authorization_endpoint.clone())),
                    ("token_endpoint", "admin-provider-token", p.and_then(|p| p.token_endpoint.clone())),
                    ("revocation_endpoint", "admin-provider-revocation", p.and_then(|p| p.revocation_endpoint.clone())),
                    ("jwks_uri", "admin-provider-jwks", p.and_then(|p| p.jwks_uri.clone())),
                    ("api_base_url", "admin-provider-api-base", p.and_then(|p| p.api_base_url.clone())),
                ] {
                    label for=(f(field)) { (l.t(label)) }
                    input id=(f(field)) name=(field) type="url" value=(value.unwrap_or_default());
                }
            }
            label { input type="checkbox" name="sign_in" value="on" checked[p.is_some_and(|p| p.sign_in)]; " " (l.t("admin-provider-sign-in")) }
            button type="submit" { (l.t("admin-save-provider")) }
        }
        @if let Some(n) = name {
            form.inline method="post" action={ "/admin/providers/" (n) "/delete" } data-confirm=(l.t("admin-delete-provider-confirm")) {
                (csrf_field(v))
                button.secondary type="submit" aria-label=(l.t_with("admin-delete-provider", &[("name", n.into())])) { (l.t("admin-delete")) }
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
    let r = app
        .access
        .put_provider(&v.p, &name, cfg)
        .await
        .map(|()| v.lang.t_with("admin-saved-provider", &[("name", name.as_str().into())]));
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
    let r = app
        .access
        .delete_provider(&v.p, &name)
        .await
        .map(|()| v.lang.t_with("admin-deleted-provider", &[("name", name.as_str().into())]));
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
    let r = app.access.patch_settings(&v.p, patch).await.map(|_| v.lang.t("admin-saved-caldav"));
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
    let r = app.access.patch_settings(&v.p, patch).await.map(|_| v.lang.t("admin-saved-export"));
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
    let r = match check_password(v.lang, &password) {
        Ok(()) => app
            .access
            .add_user(&login, f.checked("admin"), &roles, Some(&password))
            .await
            .map(|_| v.lang.t_with("admin-added-user", &[("login", login.as_str().into())])),
        Err(e) => Err(e),
    };
    done(&app, &v, r).await
}

fn check_password(lang: Lang, p: &str) -> Result<(), AppError> {
    if p.chars().count() < 10 {
        return Err(AppError::Unprocessable(lang.t("admin-password-too-short")));
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
    let r =
        match check_password(v.lang, &password) {
            Ok(()) => app.access.reset_password(&v.p, &login, &password).await.map(|n| {
                v.lang.t_with("admin-password-reset", &[("login", login.as_str().into()), ("count", n.into())])
            }),
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
    let r = app.access.grant_role(&v.p, &login, &role).await.map(|()| {
        v.lang.t_with("admin-role-granted", &[("login", login.as_str().into()), ("role", role.as_str().into())])
    });
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
    let r = app.exports.admin_retry_export(&v.p, id).await.map(|()| v.lang.t("admin-retrying"));
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
        Ok(v.lang.t_with("admin-role-removed", &[("login", login.as_str().into()), ("role", role.as_str().into())]))
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
    let id = if on { "admin-now-admin" } else { "admin-no-longer-admin" };
    let said = v.lang.t_with(id, &[("login", login.as_str().into())]);
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
    let said = v.lang.t_with("admin-disabled-user", &[("login", login.as_str().into())]);
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
    let said = v.lang.t_with("admin-enabled-user", &[("login", login.as_str().into())]);
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
    let r = app
        .access
        .delete_user(By::Admin(&v.p), &login)
        .await
        .map(|_| v.lang.t_with("admin-deleting-user", &[("login", login.as_str().into())]));
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
    let l = v.lang;
    let title = l.t_with("admin-calendars-of", &[("login", login.into())]);
    let body = html! {
        h1 { (title) }
        section.card id="verification" aria-labelledby="ver-h" {
            h2 id="ver-h" { @if repair { (l.t("admin-verified-repaired")) } @else { (l.t("admin-verified")) } }
            p.count { (r.line()) }
            @if let Some(line) = r.repair_line() { p.count { (line) } }
            @for n in &r.notes { p.muted { (n) } }
            @if r.found() == 0 {
                p { (l.t("admin-verify-clean")) }
            } @else {
                table {
                    caption { (l.t("admin-findings")) }
                    thead { tr {
                        th scope="col" { (l.t("admin-col-kind")) } th scope="col" { (l.t("admin-col-source")) } th scope="col" { (l.t("admin-col-entry")) }
                        th scope="col" { (l.t("admin-col-account")) } th scope="col" { (l.t("admin-col-details")) }
                        @if r.repaired { th scope="col" { (l.t("admin-col-repair")) } }
                    } }
                    tbody {
                        @for f in shown {
                            tr {
                                td { (finding_kind(l, f.kind)) }
                                td { @if let Some(s) = &f.source { code { (s) } } }
                                td { (f.title) }
                                td { (f.account) }
                                td { (f.detail) }
                                @if r.repaired {
                                    td { @match &f.repaired {
                                        Some(Ok(())) => { (l.t("admin-repaired")) }
                                        Some(Err(why)) => { span.reason { (l.t_with("admin-not-repaired-why", &[("error", why.to_string().into())])) } }
                                        None => { (l.t("admin-not-repaired")) }
                                    } }
                                }
                            }
                        }
                    }
                }
                @if r.findings.len() > shown.len() || r.found() > r.findings.len() {
                    p.muted { (l.t_with("admin-findings-shown", &[("shown", shown.len().into()), ("total", r.found().into())])) }
                }
                @if r.remaining() > 0 {
                    form method="post" action={ "/admin/users/" (login) "/verify/repair" } {
                        (csrf_field(v))
                        p.muted { (l.t("admin-repair-hint")) }
                        button type="submit" { (l.t("admin-repair")) }
                    }
                }
            }
            p { a href="/admin#users" { (l.t("admin-back")) } }
        }
    };
    layout(Some(v), &title, None, body)
}
