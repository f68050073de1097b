//! Retention: the hourly sweep that keeps the tables that only grow bounded.
//!
//! It deletes audit entries older than `retention.audit_days`, what the feed
//! remembers of entries whose task or instance finished more than
//! `retention.finished_days` ago, counters of failed sign-ins that no longer
//! count, OAuth requests that expired, and browser sessions that expired. Each statement deletes at most
//! [`BATCH`] rows, so no sweep holds a long lock; the workers (`serve` with
//! delivery workers, `flowcal worker`) run it once at start and then every hour. It never
//! deletes anything still in use: only rows past their time.

use crate::access::people::SIGN_IN_RULES;
use crate::clock::Clock;
use crate::config::RetentionConfig;
use flowcal_store::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows one statement deletes at most.
pub const BATCH: usize = 1_000;

/// How often the worker sweeps.
const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The tables the sweep deletes from, as `/metrics` names them.
pub const TABLES: [&str; 5] = ["audit_log", "feed_entries", "sign_in_failures", "oauth_states", "sessions"];

/// What one sweep deleted, per table (in [`TABLES`] order).
pub type Swept = [u64; 5];

/// The retention sweep.
#[derive(Debug)]
pub struct Retention {
    store: Store,
    clock: Arc<dyn Clock>,
    config: RetentionConfig,
    /// Rows deleted by this process since it started, per table.
    deleted: [AtomicU64; 5],
}

impl Retention {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: RetentionConfig) -> Self {
        Retention { store, clock, config, deleted: Default::default() }
    }

    /// Rows deleted by this process since it started, per table.
    pub fn deleted(&self) -> Vec<(&'static str, u64)> {
        TABLES.iter().zip(&self.deleted).map(|(t, n)| (*t, n.load(Ordering::Relaxed))).collect()
    }

    /// Deletes what is past its time, in batches; returns how many rows went from each table.
    pub async fn sweep(&self) -> Result<Swept, StoreError> {
        let now = self.clock.now();
        let mut swept = [0; 5];
        if let Some(before) = days_before(now, self.config.audit_days) {
            swept[0] = drain(|| self.store.delete_audit_before(before, BATCH)).await?;
        }
        if let Some(before) = days_before(now, self.config.finished_days) {
            let mut after = None;
            loop {
                let (n, next) = self.store.delete_finished_feed_entries(before, after, BATCH).await?;
                swept[1] += n;
                match next {
                    Some(key) => after = Some(key),
                    None => break,
                }
            }
        }
        swept[2] = drain(|| self.store.delete_stale_sign_in_failures(now, SIGN_IN_RULES, BATCH)).await?;
        swept[3] = drain(|| self.store.delete_expired_oauth_states(now, BATCH)).await?;
        swept[4] = drain(|| self.store.delete_expired_sessions(now, BATCH)).await?;
        for (counter, n) in self.deleted.iter().zip(swept) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
        Ok(swept)
    }

    /// Sweeps now and then every hour until `stop` completes.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match self.sweep().await {
                Ok(swept) if swept.iter().any(|n| *n > 0) => {
                    let counts: Vec<String> = TABLES.iter().zip(swept).map(|(t, n)| format!("{t}={n}")).collect();
                    tracing::info!(deleted = %counts.join(" "), "retention sweep");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the retention sweep failed; it runs again in an hour"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    }
}

/// `days` days before `now`; none for 0 (keep for ever).
fn days_before(now: Timestamp, days: u32) -> Option<Timestamp> {
    if days == 0 {
        return None;
    }
    now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))).ok()
}

/// Runs a batched delete until a batch deletes fewer than [`BATCH`] rows; the total.
async fn drain<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}
