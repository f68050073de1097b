//! The application: the services, composed once with their dependencies.
//! Handlers and the command line reach every service through it; the
//! services themselves depend one way (see docs/ARCHITECTURE.md):
//!
//! ```text
//! feeds ─▶ exports ─▶ delivery ─▶ access
//!             │          └──────▶ models
//!             └─▶ workflow ─────▶ models
//!                    └──────────▶ calendar cache
//! calendar sync ─▶ workflow, access, models
//! timers ─▶ workflow
//! work calendars ─▶ workflow, access, calendar cache
//! ```

use crate::access::Access;
use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::Delivery;
use crate::error::AppResult;
use crate::exports::Exports;
use crate::feed::Feeds;
use crate::models::Models;
use crate::timers::Timers;
use crate::workcal::{CalendarCache, WorkCalendars};
use crate::workflow::Workflow;
use flowcal_connect::seal::Keyring;
use flowcal_store::Store;
use jiff::Timestamp;
use std::sync::Arc;

/// The application: configuration, store, clock and the services.
#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Process models, instances and tasks.
    pub workflow: Arc<Workflow>,
    /// People and sign-in, connectivity settings, calendar accounts and their tokens.
    pub access: Arc<Access>,
    /// The workers that bring calendars in line with the outbox.
    pub delivery: Arc<Delivery>,
    /// The export button, a user's exports, auto-sync.
    pub exports: Arc<Exports>,
    /// Reading what people change in their calendars, and acting on it.
    pub calendar_sync: Arc<crate::calendar_sync::CalendarSync>,
    /// iCal subscription feeds.
    pub feeds: Feeds,
    /// The worker that fires timers as they come due.
    pub timers: Arc<Timers>,
    /// Work calendars and the refresh of their holiday sources.
    pub work_calendars: Arc<WorkCalendars>,
    /// The sweep that keeps the tables that only grow bounded.
    pub retention: Arc<crate::retention::Retention>,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: Vec<flowcal_connect::outbound::IpNetwork>,
    /// The SHA-256 of the bearer token that opens `/metrics`, if one is configured.
    pub(crate) metrics_token_hash: Option<String>,
    /// Set once the process stops taking new connections: `/readyz` answers 503.
    shutting_down: std::sync::atomic::AtomicBool,
}

impl App {
    pub fn new(config: Config, store: Store, clock: Arc<dyn Clock>, keyring: Keyring) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        // Rung by every outbox write (on PostgreSQL, of any process while the
        // workers listen): it wakes the delivery workers.
        let wake = store.outbox_signal();
        let models = Arc::new(Models::new(store.clone()));
        let calendar_cache = Arc::new(CalendarCache::new(store.clone()));
        let workflow = Arc::new(Workflow::new(
            store.clone(),
            clock.clone(),
            models.clone(),
            calendar_cache.clone(),
            config.time_zone.clone(),
            config.max_model_bytes,
            config.work_calendars.allow_unknown_in_models,
        ));
        let timers = Arc::new(Timers::new(store.clone(), clock.clone(), workflow.clone(), wake.clone()));
        let access = Arc::new(Access::new(config.clone(), store.clone(), clock.clone(), keyring, wake.clone())?);
        let delivery = Arc::new(Delivery::new(
            store.clone(),
            clock.clone(),
            config.delivery.clone(),
            config.public_url.clone(),
            config.time_zone.clone(),
            access.clone(),
            models.clone(),
            wake.clone(),
        ));
        let calendar_sync = Arc::new(crate::calendar_sync::CalendarSync::new(
            store.clone(),
            clock.clone(),
            config.calendar_sync.clone(),
            access.clone(),
            workflow.clone(),
            models,
            wake.clone(),
            config.public_url.clone(),
        ));
        let exports = Arc::new(Exports::new(
            store.clone(),
            clock.clone(),
            workflow.clone(),
            access.clone(),
            delivery.clone(),
            wake,
            config.public_url.clone(),
            config.time_zone.clone(),
            config.delivery.lease_seconds,
        ));
        let feeds = Feeds::new(store.clone(), clock.clone(), config.clone(), access.clone(), exports.clone());
        let work_calendars = Arc::new(WorkCalendars::new(
            store.clone(),
            clock.clone(),
            access.clone(),
            workflow.clone(),
            calendar_cache,
            jiff::SignedDuration::from_hours(i64::from(config.work_calendars.refresh_hours)),
        ));
        let retention =
            Arc::new(crate::retention::Retention::new(store.clone(), clock.clone(), config.retention.clone()));
        Ok(App {
            // Config::check refused invalid entries.
            trusted_proxies: config.http.trusted_ranges().unwrap_or_default(),
            metrics_token_hash: None,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            config,
            store,
            clock,
            workflow,
            access,
            delivery,
            exports,
            calendar_sync,
            feeds,
            timers,
            work_calendars,
            retention,
        })
    }

    /// Creates or replaces the work calendars of the configuration file
    /// (at every start, before serving).
    pub async fn apply_configured_calendars(&self) -> anyhow::Result<()> {
        for c in &self.config.work_calendars.calendars {
            let name = c.name.clone().unwrap_or_default();
            self.work_calendars
                .put_as("configuration", &name, c.clone())
                .await
                .map_err(|e| anyhow::anyhow!("work calendar '{name}' of the configuration file: {e}"))?;
        }
        Ok(())
    }

    /// This process stops taking new work: `/readyz` says so from now on.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// `/metrics`.
    pub async fn metrics(&self) -> AppResult<String> {
        crate::metrics::render(&self.store, self.now(), &self.delivery, &self.calendar_sync, &self.retention).await
    }
}
