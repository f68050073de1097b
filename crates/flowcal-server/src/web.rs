//! Browser-facing endpoints that are not JSON API: sign in and out, health.

use crate::access::{CallbackOutcome, CallbackQuery, SIGN_IN_COOKIE};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::{cookie, same_origin, session_cookie, SESSION_COOKIE};
use crate::i18n::Lang;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The client's address: the peer, or the client a trusted proxy names
/// (`sign_in::client_address`); `None` when the server was not told the peer.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<Arc<App>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(crate::sign_in::client_address(peer, &parts.headers, &app.trusted_proxies)))
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    /// Where to go after signing in (a path of this site).
    next: Option<String>,
}

/// `POST /login` (form fields `login`, `password`): sets the session cookie and
/// goes to `/` (or `next`). A browser that asks for HTML gets the sign-in page
/// again with the reason when it fails; other clients get the JSON error.
pub async fn login(
    State(app): State<Arc<App>>,
    ClientIp(from): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let signed_in = match same_origin(&app, &headers) {
        Ok(()) => app.access.login(f.login.trim(), &f.password, from).await,
        Err(e) => Err(e),
    };
    let next = f.next.as_deref().filter(|n| crate::pages::frame::local_path(n)).unwrap_or("/");
    match signed_in.and_then(|token| session_response(&app, &token, next)) {
        Ok(r) => r,
        Err(e) if html && !matches!(e, AppError::Internal(_)) => {
            let lang = crate::pages::frame::browser_lang(&headers);
            let mut r = crate::pages::frame::login_form(&app, lang, Some(next), Some(&e.to_string()), e.status()).await;
            if let AppError::TooManyRequests { retry_after, .. } = &e {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

/// Sets the session cookie and goes to `to`.
fn session_response(app: &App, token: &str, to: &str) -> AppResult<Response> {
    let secure = if app.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = u64::from(app.config.session_hours) * 3600;
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    let mut resp = Redirect::to(to).into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?);
    Ok(resp)
}

/// `POST /logout`: ends the session. Whatever the body (a form, JSON,
/// nothing), it must carry the page's CSRF token: the form field `_csrf` or
/// the header `X-CSRF-Token`; else another site could sign the user out.
pub async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> AppResult<Response> {
    same_origin(&app, &headers)?;
    if let Some(s) = session_cookie(&headers) {
        let field = form.ok().and_then(|Form(f)| f.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v));
        let header = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if !crate::pages::frame::csrf_ok(&s, &field.or(header).unwrap_or_default()) {
            return Err(AppError::Forbidden(
                "this sign-out did not come from a flowcal page: reload the page and sign out there".into(),
            ));
        }
        app.access.logout(&s).await?;
    }
    let mut resp = Redirect::to("/").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("flowcal_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

/// `GET /healthz`: 200 when the database answers.
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.store.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "database unavailable"})))
                .into_response()
        }
    }
}

/// `GET /readyz`: 200 when this process should get traffic: the database
/// answers, its schema is the one this flowcal expects, and the process is
/// not shutting down; else 503 saying which (`/healthz` stays the liveness probe).
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let unready = |status: &str, extra: serde_json::Value| {
        let mut body = serde_json::json!({"status": status});
        if let (Some(b), serde_json::Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    };
    if app.is_shutting_down() {
        return unready("shutting down", serde_json::json!({}));
    }
    match app.store.pending_migrations().await {
        Ok(pending) if pending.is_empty() => Json(serde_json::json!({"status": "ready"})).into_response(),
        Ok(pending) => unready("schema not current", serde_json::json!({"pending_migrations": pending})),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "readiness check failed");
            unready("database unavailable", serde_json::json!({}))
        }
    }
}

/// The language of a page outside the web app's frame: the signed-in user's
/// setting (when the browser has a session), else the browser's.
async fn page_lang(app: &App, headers: &HeaderMap, session: Option<&str>) -> Lang {
    let setting = match session {
        Some(s) => app.access.principal_by_session(s).await.ok().flatten().and_then(|p| p.user.language),
        None => None,
    };
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    Lang::choose(setting.as_deref(), accept)
}

/// A small HTML page for the browser's return from a calendar service.
fn page(status: StatusCode, lang: Lang, title: &str, message: &str) -> Response {
    let esc = flowcal_xml::escape;
    let body = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><title>{t} — flowcal</title></head>\
         <body><main><h1>{t}</h1><p>{m}</p><p><a href=\"/\">{b}</a></p></main></body></html>",
        l = lang.code(),
        t = esc(title),
        m = esc(message),
        b = esc(&lang.t("frame-back-to-flowcal")),
    );
    let mut resp = (status, axum::response::Html(body)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    resp
}

/// `GET /oauth/callback`: where a calendar service (or an OpenID provider
/// used to sign in) sends the browser back.
pub async fn oauth_callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CallbackQuery>,
) -> Response {
    let session = session_cookie(&headers);
    let browser = cookie(&headers, SIGN_IN_COOKIE);
    match app.access.oauth_callback(&q, session.as_deref(), browser.as_deref()).await {
        Ok(CallbackOutcome::Connected { account, reconnected }) => {
            // "Add to calendar" was pressed before any calendar was connected:
            // the export asked for is made now, and the browser goes back to the task.
            if let (Some(then), Some(s)) = (cookie(&headers, crate::pages::frame::THEN_COOKIE), session.as_deref()) {
                if let Some(r) = finish_export(&app, &headers, s, &then, account.id).await {
                    return r;
                }
            }
            let lang = page_lang(&app, &headers, session.as_deref()).await;
            page(
                StatusCode::OK,
                lang,
                &lang.t(if reconnected { "frame-calendar-reconnected" } else { "frame-calendar-connected" }),
                &lang.t_with("frame-calendar-connected-text", &[("account", account.display.as_str().into())]),
            )
        }
        Ok(CallbackOutcome::Declined { provider }) => {
            let lang = page_lang(&app, &headers, session.as_deref()).await;
            page(
                StatusCode::OK,
                lang,
                &lang.t("frame-calendar-not-connected"),
                &lang.t_with("frame-calendar-declined", &[("provider", provider.as_str().into())]),
            )
        }
        Ok(CallbackOutcome::SignedIn { session }) => match session_response(&app, &session, "/") {
            Ok(r) => r,
            Err(e) => e.into_response(),
        },
        Err(e) => {
            let lang = page_lang(&app, &headers, session.as_deref()).await;
            page(e.status(), lang, &lang.t("frame-calendar-not-connected"), &shown(lang, &e, "OAuth callback failed"))
        }
    }
}

/// Makes the export remembered in the `then` cookie (`TASK:SOURCE`) on the
/// account just connected, and sends the browser back to the task.
async fn finish_export(app: &App, headers: &HeaderMap, session: &str, then: &str, account: i64) -> Option<Response> {
    let (task, source) = then.split_once(':')?;
    let task: i64 = task.parse().ok()?;
    let p = app.access.principal_by_session(session).await.ok()??;
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    let lang = Lang::choose(p.user.language.as_deref(), accept);
    let notice = match app.exports.export(&p, flowcal_domain::TaskId(task), source, account).await {
        Ok(_) => lang.t("frame-export-after-connect"),
        Err(e) => lang.t_with("frame-export-after-connect-failed", &[("error", e.to_string().into())]),
    };
    let mut r = crate::pages::frame::see_other_notice(&format!("/tasks/{task}"), &notice);
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("flowcal_then=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Some(r)
}

/// `GET /login/oauth/{provider}`: signs in with an OpenID provider.
pub async fn sign_in_with(State(app): State<Arc<App>>, Path(provider): Path<String>, headers: HeaderMap) -> Response {
    match app.access.sign_in_start(&provider).await {
        Ok((url, browser)) => {
            let secure = if app.config.public_url.starts_with("https://") { "; Secure" } else { "" };
            let cookie =
                format!("{SIGN_IN_COOKIE}={browser}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
            let mut resp = Redirect::to(&url).into_response();
            *resp.status_mut() = StatusCode::SEE_OTHER;
            match HeaderValue::from_str(&cookie) {
                Ok(v) => {
                    resp.headers_mut().insert(header::SET_COOKIE, v);
                    resp
                }
                Err(e) => AppError::Internal(e.into()).into_response(),
            }
        }
        Err(e) => {
            let lang = crate::pages::frame::browser_lang(&headers);
            page(e.status(), lang, &lang.t("frame-cannot-sign-in"), &shown(lang, &e, "sign-in start failed"))
        }
    }
}

/// What a page may say of an error: an internal one is logged, not shown.
fn shown(lang: Lang, e: &AppError, what: &str) -> String {
    if let AppError::Internal(inner) = e {
        tracing::error!(error = format!("{inner:#}"), "{what}");
        lang.t("frame-error-internal")
    } else {
        e.to_string()
    }
}

/// `GET /metrics`: delivery figures in Prometheus text format (counts only,
/// no user data). Closed unless `[metrics] public = true`, or opened to the
/// bearer token of `[metrics] token_file`.
pub async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !app.config.metrics.public {
        let Some(expected) = &app.metrics_token_hash else {
            return AppError::NotFound(
                "metrics are not published here: the administrator can set [metrics] public = true, \
                 or token_file, in flowcal's configuration"
                    .into(),
            )
            .into_response();
        };
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| crate::secrets::token_hash(t.trim()));
        // Hashes of equal length, compared in constant time: the answer tells nothing of the token.
        if !sent.is_some_and(|h| flowcal_connect::text::constant_time_eq(h.as_bytes(), expected.as_bytes())) {
            let mut r = AppError::Unauthorized(
                "/metrics needs 'Authorization: Bearer TOKEN' with the token of [metrics] token_file".into(),
            )
            .into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    match app.metrics().await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /feeds/{token}.ics`: a user's iCal subscription feed. A token that
/// names no feed (wrong, replaced, turned off) is a plain 404, the same for all.
pub async fn feed(State(app): State<Arc<App>>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    use crate::feed::{gzip_etag, Conditions, FeedAnswer};
    let not_found = || (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "not found").into_response();
    let Some(token) = file.strip_suffix(".ics") else { return not_found() };
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let cond = Conditions {
        if_none_match: text(header::IF_NONE_MATCH).map(str::to_owned),
        if_modified_since: text(header::IF_MODIFIED_SINCE)
            .and_then(|v| jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(v).ok()),
    };
    let gzip = text(header::ACCEPT_ENCODING).is_some_and(accepts_gzip);
    let http_date = |t: jiff::Timestamp| {
        jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&t).unwrap_or_default()
    };
    let common = |etag: &str, last_modified: jiff::Timestamp| {
        let etag = if gzip { gzip_etag(etag) } else { etag.to_owned() };
        [
            (header::ETAG, etag),
            (header::LAST_MODIFIED, http_date(last_modified)),
            // Clients keep it, but ask again (cheaply: 304) before using it.
            (header::CACHE_CONTROL, "private, no-cache".to_owned()),
            (header::VARY, "Accept-Encoding".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ]
    };
    match app.feeds.feed(token, &cond).await {
        Ok(FeedAnswer::NotFound) => not_found(),
        Ok(FeedAnswer::NotModified { etag, last_modified }) => {
            (StatusCode::NOT_MODIFIED, common(&etag, last_modified)).into_response()
        }
        Ok(FeedAnswer::Full(r)) => {
            let mut resp = (common(&r.etag, r.last_modified), ()).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"flowcal.ics\""));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            let body = if gzip {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r.gzipped()
            } else {
                r.body.clone()
            };
            *resp.body_mut() = axum::body::Body::from(body);
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Whether an `Accept-Encoding` value accepts gzip (RFC 9110 §12.5.3).
fn accepts_gzip(v: &str) -> bool {
    v.split(',').any(|part| {
        let mut it = part.split(';').map(str::trim);
        let name = it.next().unwrap_or_default();
        let q = it
            .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") || name == "*") && q > 0.0
    })
}

/// `POST /push/{kind}`: a calendar service says an account's calendar
/// changed. Google sends headers (`X-Goog-Channel-ID`, `X-Goog-Channel-Token`,
/// `X-Goog-Resource-State`); Microsoft Graph a JSON body, and first a
/// `validationToken` to echo as plain text. A notification only makes the
/// account's read due, and only with the channel's secret: a forged one
/// changes nothing (and is answered like any other, so it learns nothing).
pub async fn push(
    State(app): State<Arc<App>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(token) = query.get("validationToken") {
        // Graph's handshake: the token back, as text.
        if token.len() > 1024 || token.chars().any(char::is_control) {
            return (StatusCode::BAD_REQUEST, "validationToken is not one").into_response();
        }
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")],
            token.clone(),
        )
            .into_response();
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if headers.contains_key("x-goog-channel-id") {
        let r = app
            .calendar_sync
            .google_notification(text("x-goog-channel-id"), text("x-goog-channel-token"), text("x-goog-resource-state"))
            .await;
        return match r {
            Ok(_) => StatusCode::OK.into_response(),
            Err(e) => AppError::from(e).into_response(),
        };
    }
    if body.len() > crate::calendar_sync::MAX_NOTIFICATION_BYTES {
        return AppError::TooLarge { message: "the notifications are too large".into() }.into_response();
    }
    match app.calendar_sync.graph_notifications(body).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_found_by_their_exact_name_in_every_header() {
        let h = cookie_headers(&[
            b"flowcal_session=\xff-not-ascii",
            b"flowcal_session_old=stale; flowcal_notice=Saved%20it",
            b" flowcal_oauth=b=1 ;flowcal_session=s1; flowcal_session=s2",
        ]);
        assert_eq!(cookie(&h, "flowcal_notice").as_deref(), Some("Saved%20it"));
        assert_eq!(cookie(&h, SIGN_IN_COOKIE).as_deref(), Some("b=1"), "a value may hold `=`");
        assert_eq!(cookie(&h, "flowcal_session_old").as_deref(), Some("stale"));
        assert_eq!(session_cookie(&h).as_deref(), Some("s1"), "not a longer name, not a later copy");
        assert_eq!(cookie(&h, "flowcal"), None);
        assert_eq!(session_cookie(&cookie_headers(&[b"flowcal_notice=x"])), None);
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
