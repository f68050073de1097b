//! Browser-facing endpoints that are not JSON API: sign in and out, health.

use crate::api::{session_cookie, SESSION_COOKIE};
use crate::app::App;
use crate::error::{AppError, AppResult};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
}

/// `POST /login` (form fields `login`, `password`): sets the session cookie and
/// goes to `/`.
pub async fn login(State(app): State<Arc<App>>, headers: HeaderMap, Form(f): Form<LoginForm>) -> AppResult<Response> {
    same_origin(&app, &headers)?;
    let token = app.login(f.login.trim(), &f.password).await?;
    let secure = if app.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = u64::from(app.config.session_hours) * 3600;
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    let mut resp = Redirect::to("/").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?);
    Ok(resp)
}

/// `POST /logout`: ends the session.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> AppResult<Response> {
    same_origin(&app, &headers)?;
    if let Some(s) = session_cookie(&headers) {
        app.logout(&s).await?;
    }
    let mut resp = Redirect::to("/").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("flowcal_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

/// Refuses a form post that a browser says came from another site.
fn same_origin(app: &App, headers: &HeaderMap) -> AppResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // No Origin: older browsers; they may still tell the site relation.
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
        return match site {
            "cross-site" | "same-site" => Err(AppError::Forbidden("a form from another site may not post here".into())),
            _ => Ok(()),
        };
    };
    let ours = &app.config.public_url;
    let ours_origin = ours.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let listen_origin = format!("http://{}", app.config.listen);
    if origin == ours_origin || origin == listen_origin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("a form from {origin} may not post here")))
    }
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
