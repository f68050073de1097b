//! The timer worker: fires the timers that came due (boundary timers, timer
//! catch events, start timers), in every `flowcal serve` and `flowcal
//! worker` process.
//!
//! Timers live in the database; a worker claims due ones with a lease and
//! fires each in the transaction that moves its instance on, so each firing
//! happens once whichever process, and however many, run. A timer that came
//! due while flowcal was down fires at the first pass after it starts.

use crate::clock::Clock;
use crate::workflow::Workflow;
use flowcal_store::Store;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How many timers a pass claims at most.
const BATCH: i64 = 100;
/// How long a claim holds; a worker that dies leaves its timers to others after it.
const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// How often an idle worker looks for due timers.
const POLL: Duration = Duration::from_secs(1);

/// The timer worker.
#[derive(Debug)]
pub struct Timers {
    store: Store,
    clock: Arc<dyn Clock>,
    workflow: Arc<Workflow>,
    /// Woken after timers fired, since new tasks may have calendar entries to deliver.
    delivery_wake: Arc<Notify>,
    /// Every lease of this process's timer workers starts with it.
    lease_prefix: String,
    /// Set when the process stops: nothing more is claimed, and claimed
    /// timers not yet fired are handed back.
    stopping: std::sync::atomic::AtomicBool,
    /// Ends the worker's wait between two passes when the process stops.
    stop_wake: Notify,
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TimerPass {
    /// Timers that fired.
    pub fired: usize,
    /// Claimed timers that were no longer waiting (fired elsewhere, or their task ended).
    pub skipped: usize,
    /// Timers whose firing failed; they are tried again when their lease ends.
    pub failed: usize,
}

impl Timers {
    pub fn new(store: Store, clock: Arc<dyn Clock>, workflow: Arc<Workflow>, delivery_wake: Arc<Notify>) -> Self {
        Timers {
            store,
            clock,
            workflow,
            delivery_wake,
            lease_prefix: crate::secrets::new_token("t"),
            stopping: std::sync::atomic::AtomicBool::new(false),
            stop_wake: Notify::new(),
        }
    }

    /// The process is stopping: the worker fires nothing more, hands back
    /// what it claimed and did not fire, and ends.
    pub fn stop_taking_work(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        self.stop_wake.notify_waiters();
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Gives back every timer lease this process's workers still hold.
    pub async fn hand_back(&self) -> Result<u64, flowcal_store::StoreError> {
        self.store.hand_back_timers(&self.lease_prefix).await
    }

    /// Fires every timer due now, in batches, as worker `owner`.
    pub async fn fire_due(&self, owner: &str) -> Result<TimerPass, flowcal_store::StoreError> {
        let mut pass = TimerPass::default();
        while !self.stopping() {
            let now = self.clock.now();
            let until = now.checked_add(LEASE).unwrap_or(Timestamp::MAX);
            let due = self.store.claim_timers(owner, now, until, BATCH).await?;
            let claimed = due.len();
            for timer in due {
                if self.stopping() {
                    // Claimed and not fired: handed back for another process.
                    self.store.release_timer(timer.id, owner).await?;
                    continue;
                }
                match self.workflow.fire_timer(&timer).await {
                    Ok(true) => pass.fired += 1,
                    Ok(false) => {
                        pass.skipped += 1;
                        self.store.release_timer(timer.id, owner).await?;
                    }
                    Err(e) => {
                        // The lease stays: the timer is tried again once it ends,
                        // not at every pass.
                        pass.failed += 1;
                        tracing::error!(timer = %timer.id, node = %timer.node, error = %e, "a timer could not fire");
                    }
                }
            }
            if claimed < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
        if pass.fired > 0 {
            self.delivery_wake.notify_waiters();
        }
        Ok(pass)
    }

    /// Fires timers as they come due until `shutdown` completes.
    pub async fn run_timers(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let owner = format!("{}.{}", self.lease_prefix, crate::secrets::new_token("t"));
        while !self.stopping() {
            match self.fire_due(&owner).await {
                Ok(p) if p.fired + p.skipped + p.failed > 0 => {
                    tracing::info!(worker = %owner, fired = p.fired, skipped = p.skipped, failed = p.failed, "timer pass");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "timer pass failed"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.stop_wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
