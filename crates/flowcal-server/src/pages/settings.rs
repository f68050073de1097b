//! Account settings: time zone, the calendar export switch, reminders,
//! connected calendars (connect, CalDAV with an app password, disconnect),
//! auto-sync, and the iCal feed URL.

use super::frame::{csrf_field, error_page, layout_status, see_other_notice, Posted, Viewer};
use crate::access::StartedBy;
use crate::app::App;
use crate::error::AppError;
use crate::i18n::Lang;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use std::sync::Arc;

/// `GET /settings`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer) -> Response {
    page(&app, &v, None, None, None, StatusCode::OK).await
}

/// The settings page; `feed_url` when a feed URL was just made (it is shown only then).
async fn page(
    app: &App,
    v: &Viewer,
    notice: Option<&str>,
    error: Option<&str>,
    feed_url: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    page_with_token(app, v, notice, error, feed_url, None, status).await
}

/// The settings page, with an API token that was just made (shown only then).
async fn page_with_token(
    app: &App,
    v: &Viewer,
    notice: Option<&str>,
    error: Option<&str>,
    feed_url: Option<(String, String)>,
    new_token: Option<&str>,
    status: StatusCode,
) -> Response {
    let tokens = app.access.tokens_of(v.p.login()).await.unwrap_or_default();
    let accounts = super::frame::own_accounts(app, v).await;
    let now = app.now();
    let c = app.access.connectivity().await.ok();
    let allowed_by_admin = c.as_ref().is_none_or(|c| c.calendar_export.allow.allows(v.p.login()));
    let providers = super::frame::calendar_providers(c.as_ref());
    let feed = app.feeds.feed_status(&v.p).await.ok();
    // Each active account's calendars, to choose where entries go (a service
    // that does not answer soon is left out, not waited for).
    let mut calendars = std::collections::BTreeMap::new();
    for a in accounts.iter().filter(|a| a.status == flowcal_store::AccountStatus::Active) {
        let listed =
            tokio::time::timeout(std::time::Duration::from_secs(5), app.access.account_calendars(&v.p, a.id)).await;
        if let Ok(Ok(list)) = listed {
            calendars.insert(a.id, list);
        }
    }
    let u = &v.p.user;
    let l = v.lang;
    let when = |t: jiff::Timestamp| l.date_time(&t.to_zoned(v.zone.clone()));
    let zones: Vec<String> = {
        let mut z: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_owned()).collect();
        z.sort();
        z
    };
    let body = html! {
        h1 { (l.t("settings-title")) }
        @if let Some(e) = error { p.error role="alert" { (l.translate(e)) } }
        section.card id="profile" aria-labelledby="profile-h" {
            h2 id="profile-h" { (l.t("settings-you")) }
            form method="post" action="/settings/profile" {
                (csrf_field(v))
                label for="language" { (l.t("settings-language")) }
                select id="language" name="language" {
                    option value="" selected[u.language.is_none()] { (l.t("settings-language-browser")) }
                    @for l in crate::i18n::Lang::ALL {
                        option value=(l.code()) lang=(l.code()) selected[u.language.as_deref() == Some(l.code())] {
                            (l.t("language-name"))
                        }
                    }
                }
                label for="time_zone" { (l.t("settings-time-zone")) }
                select id="time_zone" name="time_zone" {
                    @for z in &zones { option value=(z) selected[*z == u.time_zone] { (z) } }
                }
                label {
                    input type="checkbox" name="calendar_export" value="on" checked[u.calendar_export];
                    " " (l.t("settings-calendar-export"))
                }
                @if !allowed_by_admin {
                    p.muted { (l.t("settings-export-not-allowed")) }
                }
                label for="reminder" { (l.t("settings-reminder")) }
                input id="reminder" name="reminder_minutes" type="number" min="0" max="40320"
                    value=(u.reminder_minutes.map(|m| m.to_string()).unwrap_or_default());
                button type="submit" { (l.t("settings-save")) }
            }
        }
        section.card id="calendars" aria-labelledby="cal-h" {
            h2 id="cal-h" { (l.t("settings-calendars")) }
            @if accounts.is_empty() { p.muted { (l.t("settings-no-calendars")) } }
            ul.accounts {
                @for a in &accounts {
                    li {
                        strong { (a.display) } " "
                        span.muted { (a.kind) @if a.kind != flowcal_store::AccountKind::Caldav { " · " (a.provider) } } " "
                        @match a.status {
                            flowcal_store::AccountStatus::Active => {
                                span.badge.ok { (l.t("settings-account-connected")) }
                                @if let Some(problem) = &a.last_error { " " span.badge.overdue { "⚠" } " " span.reason { (l.translate(problem)) } }
                                @if let Some(lapse) = crate::access::lapse_warning(a, now) { " " span.badge.soon { "⚠" } " " span.reason { (l.translate(&lapse)) } }
                            }
                            _ => { span.badge.overdue { (l.t("settings-account-reconnect")) } " " span.reason { (l.translate(a.last_error.as_deref().unwrap_or_default())) } }
                        }
                        p.health.muted {
                            (l.t_with("settings-account-health", &[
                                ("read", a.last_read_at.map(|t| ago(l, t, now)).unwrap_or_else(|| l.t("settings-not-yet")).into()),
                                ("delivered", a.last_delivered_at.map(|t| ago(l, t, now)).unwrap_or_else(|| l.t("settings-not-yet")).into()),
                            ]))
                            @if let Some(e) = &a.read_error { " · " span.reason { (l.t_with("settings-reading-failed", &[("error", l.translate(e).into())])) } }
                        }
                        @if let Some(list) = calendars.get(&a.id) {
                            form.choose method="post" action={ "/settings/accounts/" (a.id) "/calendar" } {
                                (csrf_field(v))
                                label for={ "cal-" (a.id) } { (l.t("settings-entries-go-to")) }
                                select id={ "cal-" (a.id) } name="calendar" {
                                    option value="own" selected[a.calendar.is_none() || list.iter().any(|c| c.own && Some(&c.id) == a.calendar.as_ref())] { (l.t("settings-own-calendar")) }
                                    @for c in list.iter().filter(|c| !c.own) {
                                        option value=(c.id) selected[Some(&c.id) == a.calendar.as_ref()] { (c.name) }
                                    }
                                }
                                button.secondary type="submit" { (l.t("settings-use-calendar")) }
                            }
                        }
                        form.inline method="post" action={ "/settings/accounts/" (a.id) "/disconnect" } data-confirm=(l.t("settings-disconnect-confirm")) {
                            (csrf_field(v))
                            button.secondary type="submit" aria-label=(l.t_with("settings-disconnect-account", &[("account", a.display.as_str().into())])) { (l.t("settings-disconnect")) }
                        }
                    }
                }
            }
            @if u.calendar_export && allowed_by_admin {
                div.connect {
                    @for (name, display) in &providers {
                        form.inline method="post" action={ "/settings/connect/" (name) } {
                            (csrf_field(v))
                            button type="submit" { (l.t_with("settings-connect-provider", &[("provider", display.as_str().into())])) }
                        }
                    }
                }
                (caldav_form(v))
            } @else {
                p.muted { (l.t("settings-export-off-hint")) }
            }
        }
        section.card aria-labelledby="auto-h" {
            h2 id="auto-h" { (l.t("settings-auto-sync")) }
            p.muted { (l.t("settings-auto-sync-hint")) }
            form method="post" action="/settings/auto-sync" {
                (csrf_field(v))
                label for="auto_account" { (l.t("settings-auto-sync-calendar")) }
                select id="auto_account" name="account" {
                    option value="" selected[u.auto_sync_account.is_none()] { (l.t("settings-off")) }
                    @for a in &accounts { option value=(a.id) selected[Some(a.id) == u.auto_sync_account] { (a.display) } }
                }
                label { input type="checkbox" name="keep_done" value="on" checked[u.auto_sync_keep_done]; " " (l.t_with("settings-keep-done", &[("done", l.t("entry-done").into())])) }
                button type="submit" { (l.t("settings-save")) }
            }
        }
        section.card id="feed" aria-labelledby="feed-h" {
            h2 id="feed-h" { (l.t("settings-feed")) }
            p.muted { (l.t("settings-feed-hint")) }
            @if let Some((url, webcal)) = &feed_url {
                p { strong { (l.t("settings-feed-your-url")) } " " (l.t("settings-feed-shown-once")) }
                div.copy {
                    label.visually-hidden for="feed_url" { (l.t("settings-feed-url")) }
                    input id="feed_url" readonly value=(url);
                    button type="button" data-copy="feed_url" { (l.t("settings-copy")) }
                }
                p { a href=(webcal) { (l.t("settings-feed-webcal")) } }
            }
            @match feed.as_ref().map(|f| f.enabled) {
                Some(true) => {
                    p {
                        span.badge.ok { (l.t("settings-feed-on")) }
                        @if let Some(t) = feed.as_ref().and_then(|f| f.changed_at.clone()) {
                            " · " (l.t_with("settings-feed-changed", &[("when", t.parse().map_or(t, when).into())]))
                        }
                    }
                    form.inline method="post" action="/settings/feed" {
                        (csrf_field(v))
                        button type="submit" { (l.t("settings-feed-new-url")) }
                    }
                    form.inline method="post" action="/settings/feed/off" {
                        (csrf_field(v))
                        button.secondary type="submit" { (l.t("settings-feed-turn-off")) }
                    }
                }
                _ => {
                    form method="post" action="/settings/feed" {
                        (csrf_field(v))
                        button type="submit" { (l.t("settings-feed-make")) }
                    }
                }
            }
        }
        section.card id="password" aria-labelledby="pw-h" {
            h2 id="pw-h" { (l.t("settings-password")) }
            form method="post" action="/settings/password" {
                (csrf_field(v))
                label for="current_password" { (l.t("settings-current-password")) }
                input id="current_password" name="current_password" type="password" autocomplete="current-password" required;
                label for="new_password" { (l.t("settings-new-password")) }
                input id="new_password" name="new_password" type="password" minlength="8" autocomplete="new-password" required;
                p.hint { (l.t("settings-password-hint")) }
                button type="submit" { (l.t("settings-change-password")) }
            }
        }
        section.card id="tokens" aria-labelledby="tok-h" {
            h2 id="tok-h" { (l.t("settings-tokens")) }
            @if let Some(t) = new_token {
                p { strong { (l.t("settings-token-yours")) } " " (l.t("settings-token-shown-once")) }
                div.copy {
                    label.visually-hidden for="new_token" { (l.t("settings-token-new")) }
                    input id="new_token" readonly value=(t);
                    button type="button" data-copy="new_token" { (l.t("settings-copy")) }
                }
            }
            @if tokens.is_empty() { p.muted { (l.t("settings-no-tokens")) } } @else {
                table {
                    thead {
                        tr {
                            th scope="col" { (l.t("settings-token-name")) }
                            th scope="col" { (l.t("settings-token-created")) }
                            th scope="col" { (l.t("settings-token-last-used")) }
                            th scope="col" { (l.t("settings-token-expires")) }
                            th scope="col" { span.visually-hidden { (l.t("settings-revoke")) } }
                        }
                    }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) }
                                td { (when(t.created_at)) }
                                td { (t.last_used_at.map_or_else(|| l.t("settings-never"), when)) }
                                td { (t.expires_at.map_or_else(|| l.t("settings-never"), when)) }
                                td {
                                    form.inline method="post" action={ "/settings/tokens/" (t.id) "/revoke" } data-confirm=(l.t("settings-revoke-confirm")) {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label=(l.t_with("settings-revoke-token", &[("name", t.name.as_str().into())])) { (l.t("settings-revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/settings/tokens" {
                (csrf_field(v))
                label for="token_name" { (l.t("settings-token-name-label")) }
                input id="token_name" name="name" required maxlength="100";
                label for="token_days" { (l.t("settings-token-days")) }
                input id="token_days" name="expires_days" type="number" min="1" max=(crate::access::people::MAX_TOKEN_DAYS);
                button type="submit" { (l.t("settings-token-create")) }
            }
        }
    };
    layout_status(status, Some(v), &l.t("settings-title"), notice, body)
}

/// `POST /settings/password`: the user's own password; their other sessions end.
pub(crate) async fn password(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    let current = f.get("current_password").unwrap_or_default();
    let new = f.get("new_password").unwrap_or_default();
    match app.access.change_password(&v.p, &v.session, current, new).await {
        Ok(n) => see_other_notice("/settings", &v.lang.t_with("settings-password-changed", &[("count", n.into())])),
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/tokens`: a new API token, shown once.
pub(crate) async fn new_token(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    let days = match f.text("expires_days") {
        s if s.is_empty() => None,
        s => match s.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let e = v.lang.t("settings-token-days-invalid");
                return page(&app, &v, None, Some(&e), None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
    };
    match app.access.issue_token(v.p.login(), &f.text("name"), days).await {
        Ok((_, token)) => {
            let notice = v.lang.t("settings-token-ready");
            page_with_token(&app, &v, Some(&notice), None, None, Some(&token), StatusCode::OK).await
        }
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Posted { v, .. }: Posted,
) -> Response {
    match app.access.revoke_token(v.p.login(), id).await {
        Ok(()) => see_other_notice("/settings", &v.lang.t("settings-token-revoked")),
        Err(e) => error_page(Some(&v), &e),
    }
}

fn caldav_form(v: &Viewer) -> Markup {
    let l = v.lang;
    html! {
        form.caldav id="caldav" method="post" action="/settings/caldav" {
            (csrf_field(v))
            h3 { (l.t("settings-caldav")) }
            label for="caldav_url" { (l.t("settings-caldav-url")) }
            input id="caldav_url" name="url" type="url" required placeholder="https://caldav.example.com/";
            label for="caldav_user" { (l.t("settings-caldav-user")) }
            input id="caldav_user" name="username" required autocomplete="username";
            label for="caldav_password" { (l.t("settings-caldav-password")) }
            input id="caldav_password" name="password" type="password" required autocomplete="new-password" aria-describedby="caldav_hint";
            p.hint id="caldav_hint" { (l.t("settings-caldav-hint")) }
            button type="submit" { (l.t("settings-caldav-connect")) }
        }
    }
}

/// `POST /settings/profile`.
pub(crate) async fn profile(State(app): State<Arc<App>>, headers: HeaderMap, Posted { v, f }: Posted) -> Response {
    let reminder = match f.text("reminder_minutes") {
        s if s.is_empty() => Some(None),
        s => match s.parse::<u32>() {
            Ok(m) => Some(Some(m)),
            Err(_) => {
                return page(
                    &app,
                    &v,
                    None,
                    Some(&v.lang.t("settings-reminder-invalid")),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        },
    };
    if let Some(language) = f.get("language") {
        if let Err(e) = app.access.set_language(&v.p, Some(language)).await {
            return page(&app, &v, None, Some(&e.to_string()), None, e.status()).await;
        }
    }
    let zone = f.text("time_zone");
    match app
        .access
        .update_settings(
            &v.p,
            Some(zone.as_str()).filter(|z| !z.is_empty()),
            Some(f.checked("calendar_export")),
            reminder,
        )
        .await
    {
        Ok(_) => {
            // Said in the language just chosen, as the next page will be.
            let lang = match f.get("language") {
                Some(chosen) => Lang::parse(chosen).unwrap_or_else(|| super::frame::browser_lang(&headers)),
                None => v.lang,
            };
            see_other_notice("/settings", &lang.t("settings-saved"))
        }
        Err(e @ (AppError::Unprocessable(_) | AppError::BadRequest(_))) => {
            page(&app, &v, None, Some(&e.to_string()), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(Some(&v), &e),
    }
}

/// `POST /settings/connect/{provider}`: to the provider's authorization page.
pub(crate) async fn connect(
    State(app): State<Arc<App>>,
    Path(provider): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    match app.access.connect_oauth(&v.p, StartedBy::Session(v.session.clone()), &provider, None).await {
        Ok(url) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(loc) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, loc);
            }
            r
        }
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/caldav`: checks the URL, username and app password now.
pub(crate) async fn caldav(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    match app
        .access
        .connect_caldav(&v.p, &f.text("url"), &f.text("username"), f.get("password").unwrap_or_default())
        .await
    {
        Ok((acc, _)) => see_other_notice(
            "/settings",
            &v.lang.t_with("settings-connected-notice", &[("account", acc.display.as_str().into())]),
        ),
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/accounts/{id}/disconnect`.
pub(crate) async fn disconnect(State(app): State<Arc<App>>, Path(id): Path<i64>, Posted { v, .. }: Posted) -> Response {
    match app.access.disconnect(&v.p, id).await {
        Ok(d) => see_other_notice(
            "/settings",
            &v.lang.t_with("settings-disconnected-notice", &[("details", d.message.as_str().into())]),
        ),
        Err(e) => error_page(Some(&v), &e),
    }
}

/// `POST /settings/accounts/{id}/calendar`: where the account's entries go.
pub(crate) async fn choose_calendar(
    State(app): State<Arc<App>>,
    Path(id): Path<i64>,
    Posted { v, f }: Posted,
) -> Response {
    match app.access.choose_calendar(&v.p, id, &f.text("calendar")).await {
        Ok(_) => see_other_notice("/settings", &v.lang.t("settings-calendar-chosen")),
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/auto-sync`.
pub(crate) async fn auto_sync(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    let setting = f.text("account").parse::<i64>().ok().map(|a| (a, None, f.checked("keep_done")));
    let on = setting.is_some();
    match app.exports.set_auto_sync(&v.p, setting).await {
        Ok(_) => see_other_notice(
            "/settings",
            &v.lang.t(if on { "settings-auto-sync-on-notice" } else { "settings-auto-sync-off-notice" }),
        ),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/feed`: a new feed URL, shown once.
pub(crate) async fn feed(State(app): State<Arc<App>>, Posted { v, .. }: Posted) -> Response {
    match app.feeds.new_feed(&v.p).await {
        Ok(s) => {
            let urls = s.url.zip(s.webcal_url);
            let notice = v.lang.t("settings-feed-ready");
            page(&app, &v, Some(&notice), None, urls, StatusCode::OK).await
        }
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/feed/off`.
pub(crate) async fn feed_off(State(app): State<Arc<App>>, Posted { v, .. }: Posted) -> Response {
    match app.feeds.disable_feed(&v.p).await {
        Ok(_) => see_other_notice("/settings", &v.lang.t("settings-feed-off-notice")),
        Err(e) => error_page(Some(&v), &e),
    }
}

/// How long ago `t` was, in words.
fn ago(l: Lang, t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = now.duration_since(t).as_secs().max(0);
    let (id, count) = match secs {
        0..=59 => return l.t("settings-ago-now"),
        60..=3599 => ("settings-ago-minutes", secs / 60),
        3600..=86_399 => ("settings-ago-hours", secs / 3600),
        _ => ("settings-ago-days", secs / 86_400),
    };
    l.t_with(id, &[("count", count.into())])
}
