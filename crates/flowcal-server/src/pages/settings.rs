//! Account settings: time zone, the calendar export switch, reminders,
//! connected calendars (connect, CalDAV with an app password, disconnect),
//! auto-sync, and the iCal feed URL.

use super::frame::{csrf_field, error_page, layout_status, see_other_notice, Posted, Viewer};
use crate::access::StartedBy;
use crate::app::App;
use crate::error::AppError;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
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
    let zones: Vec<String> = {
        let mut z: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_owned()).collect();
        z.sort();
        z
    };
    let body = html! {
        h1 { "Settings" }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        section.card id="profile" aria-labelledby="profile-h" {
            h2 id="profile-h" { "You" }
            form method="post" action="/settings/profile" {
                (csrf_field(v))
                label for="language" { "Language" }
                select id="language" name="language" {
                    option value="" selected[u.language.is_none()] { "As my browser asks" }
                    @for l in crate::i18n::Lang::ALL {
                        option value=(l.code()) lang=(l.code()) selected[u.language.as_deref() == Some(l.code())] {
                            (l.t("language-name"))
                        }
                    }
                }
                label for="time_zone" { "Time zone" }
                select id="time_zone" name="time_zone" {
                    @for z in &zones { option value=(z) selected[*z == u.time_zone] { (z) } }
                }
                label {
                    input type="checkbox" name="calendar_export" value="on" checked[u.calendar_export];
                    " Calendar export: let flowcal put my deadlines and dates on my calendars"
                }
                @if !allowed_by_admin {
                    p.muted { "The administrator has not enabled calendar export for your account." }
                }
                label for="reminder" { "Reminder before each calendar entry (minutes; empty for none)" }
                input id="reminder" name="reminder_minutes" type="number" min="0" max="40320"
                    value=(u.reminder_minutes.map(|m| m.to_string()).unwrap_or_default());
                button type="submit" { "Save" }
            }
        }
        section.card id="calendars" aria-labelledby="cal-h" {
            h2 id="cal-h" { "Connected calendars" }
            @if accounts.is_empty() { p.muted { "No calendar connected yet." } }
            ul.accounts {
                @for a in &accounts {
                    li {
                        strong { (a.display) } " "
                        span.muted { (a.kind) @if a.kind != flowcal_store::AccountKind::Caldav { " · " (a.provider) } } " "
                        @match a.status {
                            flowcal_store::AccountStatus::Active => {
                                span.badge.ok { "✓ connected" }
                                @if let Some(problem) = &a.last_error { " " span.badge.overdue { "⚠" } " " span.reason { (problem) } }
                                @if let Some(lapse) = crate::access::lapse_warning(a, now) { " " span.badge.soon { "⚠" } " " span.reason { (lapse) } }
                            }
                            _ => { span.badge.overdue { "⚠ reconnect needed" } " " span.reason { (a.last_error.clone().unwrap_or_default()) } }
                        }
                        p.health.muted {
                            "Last read of the calendar: " (a.last_read_at.map(|t| ago(t, now)).unwrap_or_else(|| "not yet".into()))
                            " · last entry delivered: " (a.last_delivered_at.map(|t| ago(t, now)).unwrap_or_else(|| "not yet".into()))
                            @if let Some(e) = &a.read_error { " · " span.reason { "reading failed: " (e) } }
                        }
                        @if let Some(list) = calendars.get(&a.id) {
                            form.choose method="post" action={ "/settings/accounts/" (a.id) "/calendar" } {
                                (csrf_field(v))
                                label for={ "cal-" (a.id) } { "Entries go to" }
                                select id={ "cal-" (a.id) } name="calendar" {
                                    option value="own" selected[a.calendar.is_none() || list.iter().any(|c| c.own && Some(&c.id) == a.calendar.as_ref())] { "flowcal's own calendar" }
                                    @for c in list.iter().filter(|c| !c.own) {
                                        option value=(c.id) selected[Some(&c.id) == a.calendar.as_ref()] { (c.name) }
                                    }
                                }
                                button.secondary type="submit" { "Use this calendar" }
                            }
                        }
                        form.inline method="post" action={ "/settings/accounts/" (a.id) "/disconnect" } data-confirm="Disconnect this calendar?" {
                            (csrf_field(v))
                            button.secondary type="submit" aria-label={ "Disconnect " (a.display) } { "Disconnect" }
                        }
                    }
                }
            }
            @if u.calendar_export && allowed_by_admin {
                div.connect {
                    @for (name, display) in &providers {
                        form.inline method="post" action={ "/settings/connect/" (name) } {
                            (csrf_field(v))
                            button type="submit" { "Connect " (display) }
                        }
                    }
                }
                (caldav_form(v))
            } @else {
                p.muted { "Turn calendar export on (above) to connect a calendar." }
            }
        }
        section.card aria-labelledby="auto-h" {
            h2 id="auto-h" { "Keep my deadlines in my calendar" }
            p.muted { "Every open task assigned to you that has a deadline is on the chosen calendar, and follows the workflow." }
            form method="post" action="/settings/auto-sync" {
                (csrf_field(v))
                label for="auto_account" { "Calendar" }
                select id="auto_account" name="account" {
                    option value="" selected[u.auto_sync_account.is_none()] { "Off" }
                    @for a in &accounts { option value=(a.id) selected[Some(a.id) == u.auto_sync_account] { (a.display) } }
                }
                label { input type="checkbox" name="keep_done" value="on" checked[u.auto_sync_keep_done]; " Keep completed tasks, marked “✓ done”" }
                button type="submit" { "Save" }
            }
        }
        section.card id="feed" aria-labelledby="feed-h" {
            h2 id="feed-h" { "Subscribe (iCal feed)" }
            p.muted { "For calendars flowcal cannot write to: subscribe to your own feed of open deadlines and exported dates." }
            @if let Some((url, webcal)) = &feed_url {
                p { strong { "Your feed URL" } " (shown only now; keep it secret — anyone with it can read your deadlines):" }
                div.copy {
                    label.visually-hidden for="feed_url" { "Feed URL" }
                    input id="feed_url" readonly value=(url);
                    button type="button" data-copy="feed_url" { "Copy" }
                }
                p { a href=(webcal) { "Open in my calendar app (webcal)" } }
            }
            @match feed.as_ref().map(|f| f.enabled) {
                Some(true) => {
                    p { span.badge.ok { "✓ on" } @if let Some(t) = feed.as_ref().and_then(|f| f.changed_at.clone()) { " · last change " (t) } }
                    form.inline method="post" action="/settings/feed" {
                        (csrf_field(v))
                        button type="submit" { "New URL (the old one stops working)" }
                    }
                    form.inline method="post" action="/settings/feed/off" {
                        (csrf_field(v))
                        button.secondary type="submit" { "Turn the feed off" }
                    }
                }
                _ => {
                    form method="post" action="/settings/feed" {
                        (csrf_field(v))
                        button type="submit" { "Make my feed URL" }
                    }
                }
            }
        }
        section.card id="password" aria-labelledby="pw-h" {
            h2 id="pw-h" { "Password" }
            form method="post" action="/settings/password" {
                (csrf_field(v))
                label for="current_password" { "Current password" }
                input id="current_password" name="current_password" type="password" autocomplete="current-password" required;
                label for="new_password" { "New password (at least 8 characters)" }
                input id="new_password" name="new_password" type="password" minlength="8" autocomplete="new-password" required;
                p.hint { "Changing it signs you out everywhere else (other browsers and devices); this page stays signed in." }
                button type="submit" { "Change password" }
            }
        }
        section.card id="tokens" aria-labelledby="tok-h" {
            h2 id="tok-h" { "API tokens" }
            @if let Some(t) = new_token {
                p { strong { "Your new token" } " (shown only now; it works like your password for the API):" }
                div.copy {
                    label.visually-hidden for="new_token" { "New API token" }
                    input id="new_token" readonly value=(t);
                    button type="button" data-copy="new_token" { "Copy" }
                }
            }
            @if tokens.is_empty() { p.muted { "No API tokens." } } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Revoke" } } } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) }
                                td { (t.created_at.strftime("%Y-%m-%d %H:%M UTC")) }
                                td { (t.last_used_at.map_or_else(|| "never".to_owned(), |u| u.strftime("%Y-%m-%d %H:%M UTC").to_string())) }
                                td { (t.expires_at.map_or_else(|| "never".to_owned(), |u| u.strftime("%Y-%m-%d %H:%M UTC").to_string())) }
                                td {
                                    form.inline method="post" action={ "/settings/tokens/" (t.id) "/revoke" } data-confirm="Revoke this token?" {
                                        (csrf_field(v))
                                        button.secondary type="submit" aria-label={ "Revoke token " (t.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/settings/tokens" {
                (csrf_field(v))
                label for="token_name" { "Name (what the token is for)" }
                input id="token_name" name="name" required maxlength="100";
                label for="token_days" { "Expires after (days; empty: never)" }
                input id="token_days" name="expires_days" type="number" min="1" max=(crate::access::people::MAX_TOKEN_DAYS);
                button type="submit" { "Create token" }
            }
        }
    };
    layout_status(status, Some(v), "Settings", notice, body)
}

/// `POST /settings/password`: the user's own password; their other sessions end.
pub(crate) async fn password(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    let current = f.get("current_password").unwrap_or_default();
    let new = f.get("new_password").unwrap_or_default();
    match app.access.change_password(&v.p, &v.session, current, new).await {
        Ok(n) => see_other_notice(
            "/settings",
            &format!("Password changed. You were signed out everywhere else ({n} other session(s) ended)."),
        ),
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
                let e = "The expiry must be a number of days (or empty for none).";
                return page(&app, &v, None, Some(e), None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
    };
    match app.access.issue_token(v.p.login(), &f.text("name"), days).await {
        Ok((_, token)) => {
            page_with_token(&app, &v, Some("Your API token is ready"), None, None, Some(&token), StatusCode::OK).await
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
        Ok(()) => see_other_notice("/settings", "The token was revoked; it no longer works"),
        Err(e) => error_page(Some(&v), &e),
    }
}

fn caldav_form(v: &Viewer) -> Markup {
    html! {
        form.caldav id="caldav" method="post" action="/settings/caldav" {
            (csrf_field(v))
            h3 { "CalDAV calendar (iCloud, Fastmail, Nextcloud, …)" }
            label for="caldav_url" { "Server URL" }
            input id="caldav_url" name="url" type="url" required placeholder="https://caldav.example.com/";
            label for="caldav_user" { "Username" }
            input id="caldav_user" name="username" required autocomplete="username";
            label for="caldav_password" { "App password" }
            input id="caldav_password" name="password" type="password" required autocomplete="new-password" aria-describedby="caldav_hint";
            p.hint id="caldav_hint" {
                "Use an app password made for flowcal in your provider's security settings, not your main password "
                "(iCloud: appleid.apple.com → Sign-In and Security → App-Specific Passwords). It is checked now and stored encrypted."
            }
            button type="submit" { "Connect" }
        }
    }
}

/// `POST /settings/profile`.
pub(crate) async fn profile(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    let reminder = match f.text("reminder_minutes") {
        s if s.is_empty() => Some(None),
        s => match s.parse::<u32>() {
            Ok(m) => Some(Some(m)),
            Err(_) => {
                return page(
                    &app,
                    &v,
                    None,
                    Some("The reminder must be a number of minutes."),
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
        Ok(_) => see_other_notice("/settings", "Saved"),
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
        Ok((acc, _)) => see_other_notice("/settings", &format!("Connected {}", acc.display)),
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/accounts/{id}/disconnect`.
pub(crate) async fn disconnect(State(app): State<Arc<App>>, Path(id): Path<i64>, Posted { v, .. }: Posted) -> Response {
    match app.access.disconnect(&v.p, id).await {
        Ok(d) => see_other_notice("/settings", &format!("Disconnected. {}", d.message)),
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
        Ok(_) => see_other_notice("/settings", "Calendar chosen"),
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
            if on { "Your deadlines are kept in your calendar" } else { "Auto-sync is off" },
        ),
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/feed`: a new feed URL, shown once.
pub(crate) async fn feed(State(app): State<Arc<App>>, Posted { v, .. }: Posted) -> Response {
    match app.feeds.new_feed(&v.p).await {
        Ok(s) => {
            let urls = s.url.zip(s.webcal_url);
            page(&app, &v, Some("Your feed URL is ready"), None, urls, StatusCode::OK).await
        }
        Err(e) => page(&app, &v, None, Some(&e.to_string()), None, e.status()).await,
    }
}

/// `POST /settings/feed/off`.
pub(crate) async fn feed_off(State(app): State<Arc<App>>, Posted { v, .. }: Posted) -> Response {
    match app.feeds.disable_feed(&v.p).await {
        Ok(_) => see_other_notice("/settings", "The feed is off"),
        Err(e) => error_page(Some(&v), &e),
    }
}

/// How long ago `t` was, in words.
fn ago(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = now.duration_since(t).as_secs().max(0);
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}
