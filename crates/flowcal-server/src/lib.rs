//! flowcal's application: configuration, services, and the HTTP layer (the
//! JSON API v1 and the browser's sign-in).
#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod app;
pub mod calendar_sync;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod entries;
pub mod error;
pub mod exports;
pub mod feed;
pub mod http;
pub mod i18n;
pub mod metrics;
pub mod models;
pub mod pages;
pub mod paging;
pub mod principal;
pub mod retention;
pub mod secrets;
pub mod settings;
pub mod sign_in;
pub mod timers;
pub mod verify;
pub mod web;
pub mod workcal;
pub mod workcal_data;
pub mod workflow;

use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use flowcal_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
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
    let metrics_token = match &config.metrics.token_file {
        Some(path) => Some(read_metrics_token(path)?),
        None => None,
    };
    let mut app = App::new(config, store, clock, keyring)?;
    app.metrics_token_hash = metrics_token.map(|t| secrets::token_hash(&t));
    Ok(Arc::new(app))
}

/// The bearer token a scraper sends for `/metrics`, read once at start.
fn read_metrics_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read the metrics token file {} ([metrics] token_file): {e}", path.display())
    })?;
    let token = text.trim();
    if token.len() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        anyhow::bail!(
            "the metrics token file {} must hold one token of at least 16 characters without spaces; \
             write a random one, e.g. with: openssl rand -hex 32 > {}",
            path.display(),
            path.display()
        );
    }
    Ok(token.to_owned())
}

/// All routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(web::healthz))
        .route("/readyz", get(web::readyz))
        .route("/metrics", get(web::metrics))
        .route("/login", post(web::login))
        .route("/logout", post(web::logout))
        .route("/oauth/callback", get(web::oauth_callback))
        .route("/login/oauth/{provider}", get(web::sign_in_with))
        .route("/feeds/{file}", get(web::feed))
        .route("/push/{kind}", post(web::push))
        .merge(pages::router())
        .merge(api::router())
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(app.clone(), time_limit))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

/// Answers 408 to a request that is not read and answered within
/// `http.request_timeout_seconds` (a body that trickles in, say).
async fn time_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let limit = app.config.http.request_timeout_seconds;
    match tokio::time::timeout(Duration::from_secs(limit), next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => error::AppError::RequestTimeout(format!(
            "the request was not received and answered within {limit} seconds; send it again"
        ))
        .into_response(),
    }
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
    let is_json = matches!(crate::http::media_type(resp.headers()).as_deref(), Some("application/json" | "text/html"));
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
    // The framework's text/plain would otherwise stay on the JSON body.
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    let body = axum::Json(serde_json::json!({"error": {"code": code, "message": message}}));
    (parts, body).into_response()
}

/// The workers of a process: delivery loops, the timer loop, the refresh
/// of holiday sources and the retention sweep, and on PostgreSQL the listener that wakes
/// them for other processes' outbox writes.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _outbox_watch: Option<flowcal_store::OutboxWatch>,
}

impl Workers {
    /// Starts `delivery` delivery loops and, with any, one timer loop and the
    /// holiday refresh (with none, nothing: another process does the work).
    pub fn start(app: &Arc<App>, delivery: u32) -> anyhow::Result<Workers> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let mut tasks = Vec::new();
        if delivery == 0 {
            return Ok(Workers { stop, tasks, _outbox_watch: None });
        }
        for _ in 0..delivery {
            tasks.push(tokio::spawn(app.delivery.clone().run_delivery(until_stopped(stopped.clone()))));
        }
        tasks.push(tokio::spawn(app.timers.clone().run_timers(until_stopped(stopped.clone()))));
        // And reads the calendars for what people changed there.
        tasks.push(tokio::spawn(app.calendar_sync.clone().run(until_stopped(stopped.clone()))));
        tasks.push(tokio::spawn(app.work_calendars.clone().run(until_stopped(stopped.clone()))));
        // And sweeps the tables that only grow.
        tasks.push(tokio::spawn(app.retention.clone().run(until_stopped(stopped))));
        Ok(Workers { stop, tasks, _outbox_watch: app.store.watch_outbox()? })
    }

    /// From now on nothing new is claimed; what is claimed and not started
    /// is handed back.
    pub fn stop_taking_work(&self, app: &App) {
        app.delivery.stop_taking_work();
        app.timers.stop_taking_work();
        let _ = self.stop.send(true);
    }

    /// Stops the workers: each finishes what it has started, until
    /// `deadline`; then the rest is stopped, and every lease this process
    /// still holds is handed back so another process takes it at once.
    pub async fn stop(self, app: &App, deadline: tokio::time::Instant) {
        self.stop_taking_work(app);
        if self.tasks.is_empty() {
            return;
        }
        let mut cut = 0;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                cut += 1;
            }
        }
        if cut > 0 {
            tracing::warn!(workers = cut, "workers still busy after the shutdown grace period were stopped");
        }
        match tokio::try_join!(app.delivery.hand_back(), app.timers.hand_back(), app.calendar_sync.hand_back()) {
            Ok((0, 0, 0)) => {}
            Ok((exports, timers, reads)) => tracing::info!(exports, timers, reads, "handed back leased work"),
            Err(e) => tracing::error!(error = %e, "cannot hand back leased work; its leases run out instead"),
        }
    }

    /// Runs until `shutdown` completes, then stops within the grace period.
    pub async fn run_until(self, app: &App, shutdown: impl Future<Output = ()>) {
        shutdown.await;
        app.begin_shutdown();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(app.config.shutdown_grace_seconds);
        self.stop(app, deadline).await;
    }
}

/// Serves on `listener` until `shutdown` completes, then lets the requests
/// in flight and the workers' leased work finish within
/// `shutdown_grace_seconds` (see [`Workers::stop`]).
///
/// Each connection must send its request headers within
/// `http.header_read_timeout_seconds` (also between requests on a kept-alive
/// connection), each request is read and answered within
/// `http.request_timeout_seconds`, and at most `http.max_connections` are
/// served at once; further clients wait in the listen queue. So a client that
/// trickles or sends nothing holds one slot for a bounded time. Requests carry
/// the peer address as [`axum::extract::ConnectInfo`].
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, public_url = %app.config.public_url, "flowcal is serving");
    // The process that delivers also fires timers and refreshes the holiday
    // sources of work calendars.
    let workers = Workers::start(&app, app.config.delivery.workers)?;
    let limits = app.config.http.clone();
    let app_ready = app.clone();
    let routes = router(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_seconds));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: not fatal; pause so a full table is not spun on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let routes = routes.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            tower::ServiceExt::oneshot(routes.clone(), req.map(axum::body::Body::new))
        });
        let conn = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    app_ready.begin_shutdown();
    // Requests in flight and leased work get the same grace period.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(app_ready.config.shutdown_grace_seconds);
    workers.stop_taking_work(&app_ready);
    if tokio::time::timeout_at(deadline, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period were dropped");
    }
    workers.stop(&app_ready, deadline).await;
    Ok(())
}
