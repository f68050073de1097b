//! The frame every page shares: who is looking (the session), forms and
//! their CSRF tokens, redirects with a notice, the layout, error pages, the
//! sign-in form, and small things pages show (deadlines, urgency).

// Checks return the page to answer with as their error: a response, built
// once per request, not worth boxing.
#![allow(clippy::result_large_err)]

use crate::app::App;
use crate::error::AppError;
use crate::http::session_cookie;
use crate::i18n::Lang;
use crate::principal::{Principal, DESIGNER_ROLE};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flowcal_connect::text::{constant_time_eq, percent_decode, percent_encode_path};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The cookie that remembers what "Add to calendar" was pressed for while
/// the user connects a calendar at the provider.
pub(crate) const THEN_COOKIE: &str = "flowcal_then";

/// The cookie that carries a confirmation to the page after a form post (a
/// link cannot put words on a flowcal page).
const NOTICE_COOKIE: &str = "flowcal_notice";

/// The signed-in person looking at a page.
pub(crate) struct Viewer {
    pub p: Principal,
    /// Their session token (the page's CSRF token is derived from it).
    pub session: String,
    pub zone: TimeZone,
    /// The language of their pages: their setting, else their browser's.
    pub lang: Lang,
    /// The confirmation the last form post left for this page, if any.
    pub notice: Option<String>,
}

impl Viewer {
    pub fn csrf(&self) -> String {
        csrf_of(&self.session)
    }

    pub fn is_designer(&self) -> bool {
        self.p.is_admin() || self.p.roles.iter().any(|r| r == DESIGNER_ROLE)
    }
}

/// The CSRF token of a session: a hash of its (secret, HttpOnly) token.
fn csrf_of(session: &str) -> String {
    hex::encode(&Sha256::digest(format!("flowcal-csrf\u{0}{session}").as_bytes())[..16])
}

/// A page that needs a signed-in user: others are sent to the sign-in page.
impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let back = || {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            see_other(&format!("/login?next={}", percent_encode_path(next)))
        };
        let Some(session) = session_cookie(&parts.headers) else { return Err(back()) };
        match app.access.principal_by_session(&session).await {
            Ok(Some(p)) => {
                let zone = TimeZone::get(&p.user.time_zone).unwrap_or(TimeZone::UTC);
                let notice = crate::http::cookie(&parts.headers, NOTICE_COOKIE).map(|n| percent_decode(&n));
                let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
                let lang = Lang::choose(p.user.language.as_deref(), accept);
                Ok(Viewer { p, session, zone, lang, notice })
            }
            Ok(None) => Err(back()),
            Err(e) => Err(error_page_in(browser_lang(&parts.headers), None, &e)),
        }
    }
}

/// A submitted form: its fields in order.
pub(crate) struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A form post from one of flowcal's pages, checked before any handler runs:
/// a signed-in viewer, the browser's Origin, the page's CSRF token.
pub(crate) struct Posted {
    pub v: Viewer,
    pub f: Fields,
}

impl axum::extract::FromRequest<Arc<App>> for Posted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let v = Viewer::from_request_parts(&mut parts, app).await?;
        let headers = parts.headers.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        let f = match axum::Form::<Vec<(String, String)>>::from_request(req, app).await {
            Ok(axum::Form(f)) => Fields(f),
            Err(e) => return Err(error_page(Some(&v), &AppError::BadRequest(e.body_text()))),
        };
        check_form(app, &headers, &v, &f)?;
        Ok(Posted { v, f })
    }
}

/// Checks a form post: the browser's Origin (when it tells one) and the
/// page's CSRF token. A forged post is refused with 403.
pub(crate) fn check_form(app: &App, headers: &HeaderMap, v: &Viewer, f: &Fields) -> Result<(), Response> {
    if let Err(e) = crate::http::same_origin(app, headers) {
        return Err(error_page(Some(v), &e));
    }
    if !csrf_ok(&v.session, f.get("_csrf").unwrap_or_default()) {
        return Err(error_page(Some(v), &AppError::Forbidden(v.lang.t("frame-form-out-of-date"))));
    }
    Ok(())
}

/// Whether `sent` is the CSRF token of `session` (compared in constant time).
pub(crate) fn csrf_ok(session: &str, sent: &str) -> bool {
    constant_time_eq(sent.as_bytes(), csrf_of(session).as_bytes())
}

/// A table's head: one column header per message id, in `lang`.
pub(crate) fn column_heads(lang: Lang, ids: &[&str]) -> Markup {
    html! { thead { tr { @for id in ids { th scope="col" { (lang.t(id)) } } } } }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(v: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(v.csrf()); }
}

/// Whether `next` is a path of this site (not `//host`, nor `/\host`, which
/// browsers read as another site).
pub(crate) fn local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control)
}

/// A 303 to `to` (a path of this site).
pub(crate) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A 303 to `to` that shows `notice` on the page there.
pub(crate) fn see_other_notice(to: &str, notice: &str) -> Response {
    let mut r = see_other(to);
    let notice: String = notice.chars().take(300).collect();
    let cookie =
        format!("{NOTICE_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60", percent_encode_path(&notice));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The language the browser asks for (`Accept-Language`), else English: for
/// pages without a signed-in viewer.
pub(crate) fn browser_lang(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    Lang::choose(None, accept)
}

/// A whole page.
pub(crate) fn layout(v: Option<&Viewer>, title: &str, notice: Option<&str>, body: Markup) -> Response {
    layout_status(StatusCode::OK, v, title, notice, body)
}

pub(crate) fn layout_status(
    status: StatusCode,
    v: Option<&Viewer>,
    title: &str,
    notice: Option<&str>,
    body: Markup,
) -> Response {
    page_in(status, v.map(|v| v.lang).unwrap_or_default(), v, title, notice, body)
}

/// A whole page in `lang`, for a visitor who is not signed in.
pub(crate) fn layout_lang(status: StatusCode, lang: Lang, title: &str, body: Markup) -> Response {
    page_in(status, lang, None, title, None, body)
}

fn page_in(
    status: StatusCode,
    lang: Lang,
    v: Option<&Viewer>,
    title: &str,
    notice: Option<&str>,
    body: Markup,
) -> Response {
    let shown = v.and_then(|v| v.notice.as_deref());
    let notice = notice.or(shown);
    let page = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — flowcal" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { (lang.t("skip-to-content")) }
                header.top {
                    a.brand href="/" { "flowcal" }
                    @if let Some(v) = v {
                        nav aria-label=(lang.t("nav-main")) {
                            a href="/tasks" { (lang.t("nav-my-tasks")) }
                            a href="/calendar" { (lang.t("nav-calendar")) }
                            @if v.p.is_admin() || !v.p.roles.is_empty() { a href="/team" { (lang.t("nav-team")) } }
                            a href="/start" { (lang.t("nav-start")) }
                            @if v.is_designer() { a href="/models" { (lang.t("nav-models")) } }
                            a href="/work-calendars" { (lang.t("nav-work-calendars")) }
                            a href="/settings" { (lang.t("nav-settings")) }
                            @if v.p.is_admin() { a href="/admin" { (lang.t("nav-admin")) } }
                        }
                        form.signout method="post" action="/logout" {
                            (csrf_field(v))
                            span.who { (v.p.user.display_name) }
                            button type="submit" { (lang.t("sign-out")) }
                        }
                    }
                }
                main id="main" {
                    @if let Some(n) = notice {
                        p.notice role="status" { (lang.translate(n)) }
                    }
                    (body)
                }
            }
        }
    };
    let mut r = (status, axum::response::Html(page.into_string())).into_response();
    let h = r.headers_mut();
    if shown.is_some() {
        // Shown once.
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("flowcal_notice=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

/// A page telling what went wrong (an internal error is logged, not shown).
pub(crate) fn error_page(v: Option<&Viewer>, e: &AppError) -> Response {
    error_page_in(v.map(|v| v.lang).unwrap_or_default(), v, e)
}

/// An error page in `lang` (the viewer's, or the browser's when no one is signed in).
pub(crate) fn error_page_in(lang: Lang, v: Option<&Viewer>, e: &AppError) -> Response {
    let message = match e {
        AppError::Internal(inner) => {
            tracing::error!(error = format!("{inner:#}"), "page failed");
            lang.t("frame-error-internal")
        }
        other => other.in_lang(lang),
    };
    let title = lang.t(match e.status() {
        StatusCode::NOT_FOUND => "frame-error-not-found",
        StatusCode::FORBIDDEN => "frame-error-forbidden",
        StatusCode::CONFLICT => "frame-error-conflict",
        StatusCode::TOO_MANY_REQUESTS => "frame-error-too-many",
        s if s.is_server_error() => "frame-error-server",
        _ => "frame-error-other",
    });
    let body = html! {
        h1 { (title) }
        p.error role="alert" { (message) }
        p { a href="javascript:history.back()" { (lang.t("frame-go-back")) } " · " a href="/tasks" { (lang.t("nav-my-tasks")) } }
    };
    page_in(e.status(), lang, v, &title, None, body)
}

/// The sign-in form in `lang` (the browser's), with an error when the last attempt failed.
pub(crate) async fn login_form(
    app: &App,
    lang: Lang,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let c = app.access.connectivity().await.ok();
    let password = c.as_ref().is_none_or(|c| c.sign_in.password);
    let providers: Vec<(String, String)> = c
        .map(|c| {
            c.providers
                .into_iter()
                .filter(|(_, p)| p.sign_in)
                .map(|(n, p)| (n.clone(), p.display_name.clone().unwrap_or(n)))
                .collect()
        })
        .unwrap_or_default();
    // Only paths of this site are followed after signing in.
    let next = next.filter(|n| local_path(n)).unwrap_or("/tasks");
    let body = html! {
        h1 { (lang.t("frame-sign-in")) }
        @if let Some(e) = error { p.error role="alert" id="login-error" { (lang.translate(e)) } }
        @if password {
            form.card method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label for="login" { (lang.t("frame-login")) }
                input id="login" name="login" autocomplete="username" required autofocus
                    aria-describedby=[error.map(|_| "login-error")];
                label for="password" { (lang.t("frame-password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (lang.t("frame-sign-in")) }
            }
        }
        @for (name, display) in &providers {
            p { a.button href={ "/login/oauth/" (name) } { (lang.t_with("frame-sign-in-with", &[("provider", display.as_str().into())])) } }
        }
    };
    layout_lang(status, lang, &lang.t("frame-sign-in"), body)
}

/// The viewer's own calendar accounts (an administrator sees everyone's through the API).
pub(crate) async fn own_accounts(app: &App, v: &Viewer) -> Vec<flowcal_store::CalendarAccount> {
    let all = app.access.calendar_accounts(&v.p).await.unwrap_or_default();
    all.into_iter().filter(|a| a.user_id == v.p.user.id).collect()
}

/// The providers with a calendar API, as (name, what users see).
pub(crate) fn calendar_providers(c: Option<&crate::settings::Connectivity>) -> Vec<(String, String)> {
    let Some(c) = c else { return Vec::new() };
    c.providers
        .iter()
        .filter(|(_, p)| p.kind.calendar_api().is_some())
        .map(|(n, p)| (n.clone(), p.display_name.clone().unwrap_or_else(|| n.clone())))
        .collect()
}

/// A comma-separated form field as its non-empty items.
pub(crate) fn comma_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A deadline as the viewer reads it, in their zone and language.
pub(crate) fn show_deadline(d: &flowcal_domain::Deadline, zone: &TimeZone, lang: Lang) -> String {
    match d {
        flowcal_domain::Deadline::Date(date) => lang.date(*date),
        flowcal_domain::Deadline::At { at, .. } => lang.date_time(&at.to_zoned(zone.clone())),
    }
}

/// Overdue, due within two days, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Urgency {
    Overdue,
    Soon,
    Later,
}

pub(crate) fn urgency(d: &flowcal_domain::Deadline, now: Timestamp, zone: &TimeZone) -> Urgency {
    match d {
        flowcal_domain::Deadline::Date(date) => {
            let today = now.to_zoned(zone.clone()).date();
            if *date < today {
                Urgency::Overdue
            } else if today.tomorrow().is_ok_and(|t| *date <= t) {
                Urgency::Soon
            } else {
                Urgency::Later
            }
        }
        flowcal_domain::Deadline::At { at, .. } => {
            if *at < now {
                Urgency::Overdue
            } else if *at < now + jiff::SignedDuration::from_hours(48) {
                Urgency::Soon
            } else {
                Urgency::Later
            }
        }
    }
}

/// The mark beside a deadline: words and colour, so colour is not the only signal.
pub(crate) fn urgency_badge(u: Urgency, lang: Lang) -> Markup {
    match u {
        Urgency::Overdue => html! { span.badge.overdue { (lang.t("overdue")) } },
        Urgency::Soon => html! { span.badge.soon { (lang.t("due-soon")) } },
        Urgency::Later => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert!(local_path("/tasks/5?show=soon"));
        for other in ["//evil.example/", "/\\evil.example", "https://evil.example/", "tasks", "/a\nb", ""] {
            assert!(!local_path(other), "{other:?}");
        }
    }

    #[test]
    fn notices_survive_their_cookie() {
        for n in ["Connected alice@example.com", "Completed: <b>Q1</b>; \"x\", 50% — ✓", ""] {
            assert_eq!(percent_decode(&percent_encode_path(n)), n);
        }
        assert_eq!(percent_decode("100%"), "100%", "a stray % stays");
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let t = csrf_of("session-a");
        assert!(csrf_ok("session-a", &t));
        assert!(!csrf_ok("session-b", &t));
        assert!(!csrf_ok("session-a", ""));
        assert!(!csrf_ok("session-a", &t[..t.len() - 1]));
    }

    #[test]
    fn urgency_in_the_viewers_zone() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        // 23:30 UTC on the 27th is already the 28th in Berlin (UTC+1).
        let now: Timestamp = "2026-03-27T23:30:00Z".parse().unwrap();
        let date = |d: &str| flowcal_domain::Deadline::Date(d.parse().unwrap());
        assert_eq!(urgency(&date("2026-03-27"), now, &zone), Urgency::Overdue);
        assert_eq!(urgency(&date("2026-03-29"), now, &zone), Urgency::Soon);
        assert_eq!(urgency(&date("2026-04-02"), now, &zone), Urgency::Later);
    }
}
