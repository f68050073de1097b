//! flowcal's application: configuration, services, and the HTTP layer (the
//! JSON API v1 and the browser's sign-in).
#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod app;
pub mod config;
pub mod demo;
pub mod error;
pub mod exports;
pub mod feed;
pub mod pages;
pub mod people;
pub mod secrets;
pub mod web;

use crate::app::{App, Clock};
use crate::config::Config;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use flowcal_store::Store;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Opens the store (migrating it), makes sure the secret key exists, and
/// builds the application.
pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<App>> {
    let keyring = flowcal_connect::seal::Keyring::load_or_create(&config.secret_key_file)?;
    let store = Store::connect(&config.database_url).await?;
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    Ok(Arc::new(App::new(config, store, clock, access::Access::new(keyring)?)))
}

/// All routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(web::healthz))
        .route("/metrics", get(web::metrics))
        .route("/login", post(web::login))
        .route("/logout", post(web::logout))
        .route("/oauth/callback", get(web::oauth_callback))
        .route("/login/oauth/{provider}", get(web::sign_in_with))
        .route("/feeds/{file}", get(web::feed))
        .merge(pages::router())
        .merge(api::router())
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // A feed's path is its secret: logged without the token.
    let path = match req.uri().path() {
        p if p.starts_with("/feeds/") => "/feeds/…".to_owned(),
        p => p.to_owned(),
    };
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

/// Gives the errors that the framework answers by itself (a malformed path
/// id, a missing form field, a wrong method) flowcal's JSON error shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        s if s >= 500 => "internal",
        _ => "error",
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = axum::Json(serde_json::json!({"error": {"code": code, "message": message}}));
    (parts, body).into_response()
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, public_url = %app.config.public_url, "flowcal is serving");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..app.config.delivery.workers {
        let mut stopped = stopped.clone();
        let app = app.clone();
        workers.push(tokio::spawn(async move {
            app.run_delivery(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }));
    }
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await?;
    let _ = stop.send(true);
    for w in workers {
        let _ = w.await;
    }
    Ok(())
}
