//! Delivery of calendar entries: a worker claims due exports and brings each
//! account's calendar in line through its connector, recording per export
//! the outcome (in the calendar, retry later with backoff, failed, or
//! waiting until the user reconnects).
//!
//! It never goes through a caller's authorization (the export button did)
//! and never speaks HTTP: its failures are [`DeliveryError`]s, which the
//! callers in the API convert at their boundary.

use crate::access::calendars::{AccountSession, ConnectorFuture, Fail};
use crate::access::{export_refusal, Access, AccessError};
use crate::clock::Clock;
use crate::config::DeliveryConfig;
use crate::entries::{deadline_entry, item_entry, EntryContext, EntryError};
use crate::models::{ModelError, Models};
use crate::principal::{involved, sees_task};
use crate::settings::Connectivity;
use flowcal_calendar::{AnyConnector, Connector, ConnectorError, EventSpec, Remote, When};
use flowcal_domain::export::{ExportSource, Wanted};
use flowcal_store::{AccountKind, CalendarAccount, ExportOutcome, ExportRecord, Store, StoreError, User};
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Exports a worker claims at once.
const BATCH: i64 = 100;

/// Exports of one account whose leases are renewed, and whose outcomes are
/// recorded, in one transaction (Google's batch requests hold as many).
const CHUNK: usize = 50;

/// Why a delivery (or a worker pass) did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later; after this delay when the service said.
    #[error("{1}")]
    RetryAfter(Option<Duration>, String),
    /// The account's credentials are refused: the user must connect again.
    #[error("{0}")]
    NeedsReauthorization(String),
    /// The calendar no longer exists.
    #[error("{0}")]
    Gone(String),
    /// Cannot succeed as it is.
    #[error("{0}")]
    Permanent(String),
    /// flowcal's own store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConnectorError> for DeliveryError {
    /// The one place where a calendar service's answer becomes a delivery signal.
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::RetryLater { after, message } => DeliveryError::RetryAfter(after, message),
            ConnectorError::Unauthorized(m) => DeliveryError::NeedsReauthorization(m),
            err @ ConnectorError::Gone(_) => DeliveryError::Gone(err.to_string()),
            err @ ConnectorError::Permanent(_) => DeliveryError::Permanent(err.to_string()),
        }
    }
}

impl From<Fail> for DeliveryError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Connector(e) => e.into(),
            Fail::Access(e) => e.into(),
        }
    }
}

impl From<AccessError> for DeliveryError {
    /// A failure of the access layer (an account's credentials, the
    /// provider's settings): an account that is not active (or just became
    /// reconnect_required) waits, a service that cannot be reached is tried
    /// again, anything else fails.
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Reconnect(m) => DeliveryError::NeedsReauthorization(m),
            AccessError::Unavailable(m) => DeliveryError::RetryAfter(None, m),
            other => DeliveryError::Permanent(other.to_string()),
        }
    }
}

impl From<ModelError> for DeliveryError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Store(e) => AccessError::from(e).into(),
            other => DeliveryError::Permanent(other.to_string()),
        }
    }
}

impl From<EntryError> for DeliveryError {
    fn from(e: EntryError) -> Self {
        DeliveryError::Permanent(e.to_string())
    }
}

impl DeliveryError {
    /// The same failure again, for every export it stops.
    fn again(&self) -> Self {
        match self {
            DeliveryError::RetryAfter(after, m) => DeliveryError::RetryAfter(*after, m.clone()),
            DeliveryError::NeedsReauthorization(m) => DeliveryError::NeedsReauthorization(m.clone()),
            DeliveryError::Gone(m) => DeliveryError::Gone(m.clone()),
            DeliveryError::Permanent(m) => DeliveryError::Permanent(m.clone()),
            DeliveryError::Store(e) => DeliveryError::RetryAfter(None, e.to_string()),
        }
    }
}

/// The delivery service: the workers' passes and what they count.
#[derive(Debug)]
pub struct Delivery {
    store: Store,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
    /// What entries link to, and the zone of models that name none.
    public_url: String,
    time_zone: String,
    access: Arc<Access>,
    models: Arc<Models>,
    /// Wakes the workers when exports are requested.
    wake: Arc<tokio::sync::Notify>,
    /// Deliveries by this process: (outcome, connector kind) → count.
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// Names this process as the holder of exports it claims on request
    /// (`flowcal export sync`, a pass run by a test); the names of its
    /// workers start with it, so that all its leases can be handed back.
    pub(crate) worker_id: String,
    /// Set when the process stops: nothing more is claimed, and what is
    /// claimed but not started is handed back.
    stopping: std::sync::atomic::AtomicBool,
}

impl Delivery {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: DeliveryConfig,
        public_url: String,
        time_zone: String,
        access: Arc<Access>,
        models: Arc<Models>,
        wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        Delivery {
            store,
            clock,
            config,
            public_url,
            time_zone,
            access,
            models,
            wake,
            counts: Mutex::new(BTreeMap::new()),
            worker_id: crate::secrets::new_token("w"),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The process is stopping: the workers claim nothing more, hand back
    /// what they claimed and have not started, and end after their current
    /// chunk.
    pub fn stop_taking_work(&self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Gives back every lease this process's workers still hold (after they
    /// stopped, or were stopped at the end of the grace period): another
    /// process delivers those exports at once instead of after the lease.
    pub async fn hand_back(&self) -> Result<u64, flowcal_store::StoreError> {
        self.store.hand_back_exports(&self.worker_id).await
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Deliveries by this process so far: (outcome, connector kind) → count.
    pub fn counts(&self) -> BTreeMap<(&'static str, String), u64> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// One pass of the worker named `owner`, with what happened to each export.
    ///
    /// The claimed exports are delivered account by account: the account, its
    /// owner, the connectivity settings and the connector are read once, the
    /// leases are renewed and the outcomes recorded for a chunk of exports in
    /// one transaction each, and new entries go out together where the
    /// connector batches (`Connector::batch_size`: Google, up to 50 a request).
    pub async fn deliver_due_report(&self, owner: &str) -> Result<Vec<(ExportRecord, Delivered)>, DeliveryError> {
        if self.stopping() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let claimed = self.store.claim_exports(owner, now, self.lease_until(now)?, BATCH).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let connectivity = self.access.connectivity().await.map_err(DeliveryError::from);
        let mut groups: Vec<Vec<ExportRecord>> = Vec::new();
        for e in claimed {
            match groups.iter_mut().find(|g| g.first().is_some_and(|f| f.account_id == e.account_id)) {
                Some(g) => g.push(e),
                None => groups.push(vec![e]),
            }
        }
        let mut report = Vec::new();
        for group in groups {
            self.deliver_account(owner, group, &connectivity, &mut report).await?;
        }
        Ok(report)
    }

    fn lease_until(&self, now: Timestamp) -> Result<Timestamp, DeliveryError> {
        let lease = SignedDuration::from_secs(i64::try_from(self.config.lease_seconds).unwrap_or(120));
        now.checked_add(lease)
            .map_err(|e| DeliveryError::Permanent(format!("the lease ends past the last timestamp: {e}")))
    }

    /// Delivers the claimed exports of one account, chunk by chunk.
    async fn deliver_account(
        &self,
        owner: &str,
        group: Vec<ExportRecord>,
        connectivity: &Result<Connectivity, DeliveryError>,
        report: &mut Vec<(ExportRecord, Delivered)>,
    ) -> Result<(), DeliveryError> {
        let Some(account_id) = group.first().map(|e| e.account_id) else { return Ok(()) };
        let setup = self.setup(account_id, connectivity).await;
        let kind = match &setup {
            Ok(s) => s.acc.kind.to_string(),
            Err(_) => "none".to_owned(),
        };
        let mut setup = setup.map(|s| (s, None::<AccountSession<'_>>));
        for (n, chunk) in group.chunks(CHUNK).enumerate() {
            if self.stopping() {
                // Claimed and not started: handed back for another process.
                let rest: Vec<i64> = group.iter().skip(n * CHUNK).map(|e| e.id).collect();
                self.store.release_claims(owner, &rest).await?;
                break;
            }
            let now = self.now();
            let claims: Vec<(i64, i64)> = chunk.iter().map(|e| (e.id, e.version)).collect();
            let held = self.store.renew_claims(owner, &claims, now, self.lease_until(now)?).await?;
            let mine: Vec<&ExportRecord> = chunk.iter().zip(held).filter(|(_, h)| *h).map(|(e, _)| e).collect();
            if mine.is_empty() {
                continue;
            }
            let outcomes = match &mut setup {
                Ok((s, session)) => {
                    let c = s.connectivity;
                    let session = session.get_or_insert_with(|| AccountSession::new(&self.access, s.acc.clone(), c));
                    self.deliver_chunk(owner, s, session, c, &mine).await?
                }
                Err(why) => mine.iter().map(|e| self.setup_outcome(why, e)).collect(),
            };
            let mut results = Vec::with_capacity(mine.len());
            for (e, outcome) in mine.iter().zip(outcomes) {
                let what = Delivered::of(e, &outcome);
                self.count(&kind, what);
                report.push(((*e).clone(), what));
                results.push((e.id, e.version, outcome));
            }
            for (recorded, (id, _, _)) in
                self.store.finish_exports(owner, results.clone(), self.now()).await?.into_iter().zip(&results)
            {
                if !recorded {
                    tracing::warn!(export = id, "the lease ran out before the delivery was recorded");
                }
            }
        }
        Ok(())
    }

    /// What delivering to an account needs, read once for its exports.
    async fn setup<'c>(
        &self,
        account_id: i64,
        connectivity: &'c Result<Connectivity, DeliveryError>,
    ) -> Result<Setup<'c>, SetupFailure> {
        let acc = match self.store.account(account_id).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(SetupFailure::Disconnected),
            Err(err) => return Err(SetupFailure::Fails(err.into())),
        };
        let c = match connectivity {
            Ok(c) => c,
            // Settings that cannot be read now may be readable later.
            Err(err) => return Err(SetupFailure::Fails(DeliveryError::RetryAfter(None, err.to_string()))),
        };
        let user = match self.store.user(acc.user_id).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(SetupFailure::Fails(DeliveryError::Permanent("user".into()))),
            Err(err) => return Err(SetupFailure::Fails(err.into())),
        };
        let roles = self.store.roles(acc.user_id).await.map_err(|e| SetupFailure::Fails(e.into()))?;
        // The administrator's policy and the user's switch hold at delivery too.
        let refused = export_refusal(c, &user).map(str::to_owned);
        Ok(Setup { acc, user, roles, refused, calendar: None, connectivity: c })
    }

    /// Delivers the exports of one chunk (leases held); one outcome each, in order.
    async fn deliver_chunk(
        &self,
        owner: &str,
        s: &mut Setup<'_>,
        session: &mut AccountSession<'_>,
        c: &Connectivity,
        chunk: &[&ExportRecord],
    ) -> Result<Vec<ExportOutcome>, DeliveryError> {
        let mut outcomes: Vec<Option<ExportOutcome>> = vec![None; chunk.len()];
        // New entries for a connector that batches, by calendar: sent together.
        let mut batches: Vec<(String, Vec<BatchItem>)> = Vec::new();
        let mut renewed = std::time::Instant::now();
        for (i, e) in chunk.iter().enumerate() {
            // Calls can be slow: the leases of the rest of the chunk are kept.
            if renewed.elapsed() > self.lease_margin() {
                let now = self.now();
                let rest: Vec<(i64, i64)> = chunk[i..].iter().map(|e| (e.id, e.version)).collect();
                let held = self.store.renew_claims(owner, &rest, now, self.lease_until(now)?).await?;
                renewed = std::time::Instant::now();
                if held.iter().any(|h| !h) {
                    tracing::warn!(account = s.acc.id, "exports were claimed again while a slow chunk was delivered");
                }
            }
            outcomes[i] = match self.prepare(s, session, c, e).await {
                Prepared::Done(o) => Some(o),
                Prepared::Batch { calendar, entry, hash, held } => {
                    match batches.iter_mut().find(|(cal, _)| *cal == calendar) {
                        Some((_, v)) => v.push((i, entry, hash, held)),
                        None => batches.push((calendar, vec![(i, entry, hash, held)])),
                    }
                    None
                }
            };
        }
        for (calendar, items) in batches {
            let entries: Vec<EventSpec> = items.iter().map(|(_, ev, _, _)| ev.clone()).collect();
            let cal = calendar.clone();
            let r =
                session.call(move |conn| create(conn, cal.clone(), entries.clone())).await.map_err(DeliveryError::from);
            for (n, (i, entry, hash, held)) in items.into_iter().enumerate() {
                let Some(e) = chunk.get(i) else { continue };
                let one = match &r {
                    Ok(results) => match results.get(n) {
                        Some(Ok(remote)) => Ok(remote.clone()),
                        Some(Err(err)) => Err(DeliveryError::from(err.clone())),
                        None => Err(DeliveryError::Permanent("a batch answer is missing".into())),
                    },
                    Err(err) => Err(err.again()),
                };
                let sequence = i64::from(entry.sequence);
                let start = entry.when.stored();
                let one = match one {
                    Err(DeliveryError::Gone(why)) => self.deliver_elsewhere(s, session, &calendar, why, entry).await,
                    r => r.map(|remote| (calendar.clone(), remote)),
                };
                outcomes[i] = Some(match one {
                    Ok((calendar, remote)) => ExportOutcome::Delivered {
                        calendar,
                        remote_id: remote.id,
                        etag: remote.etag,
                        content_hash: hash,
                        sequence,
                        start,
                        held,
                    },
                    Err(f) => self.outcome(e, f),
                });
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| ExportOutcome::Retry {
                    attempts: 0,
                    not_before: self.now(),
                    error: "not delivered in its pass".into(),
                })
            })
            .collect())
    }

    fn lease_margin(&self) -> Duration {
        Duration::from_secs(self.config.lease_seconds / 4)
    }

    fn count(&self, kind: &str, what: Delivered) {
        let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((what.as_str(), kind.to_owned())).or_insert(0) += 1;
    }

    /// Delivers exports until `shutdown` completes: woken by new exports, and
    /// every second for retries that came due.
    pub async fn run_delivery(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Each loop is a worker of its own: leases name it (after the process).
        let owner = format!("{}.{}", self.worker_id, crate::secrets::new_token("w"));
        loop {
            if self.stopping() {
                return;
            }
            let idle = match self.deliver_due_report(&owner).await.map(|r| r.len()) {
                Ok(0) => true,
                Ok(n) => {
                    // Names the worker, so an operator (and a test) sees which one did the work.
                    tracing::info!(worker = %owner, exports = n, "delivery pass");
                    false
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "delivery pass failed");
                    true
                }
            };
            if idle {
                // Deletions move on once delivery has removed their entries.
                if let Err(e) = self.access.advance_deletions().await {
                    tracing::error!(error = format!("{e:#}"), "deleting users failed; retrying later");
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(self.config.poll_seconds)) => {}
                }
            }
        }
    }

    /// One export of a chunk: delivered now (a removal, an unchanged entry,
    /// an update, any entry for a connector that does not batch), or its
    /// entry made ready for a batch request.
    async fn prepare(
        &self,
        s: &mut Setup<'_>,
        session: &mut AccountSession<'_>,
        c: &Connectivity,
        e: &ExportRecord,
    ) -> Prepared {
        // The calendar: the export's own, the account's chosen one, or
        // flowcal's own (created now, once for the account).
        let calendar = match (&e.calendar, &s.acc.calendar, &s.calendar) {
            (Some(cal), _, _) | (None, Some(cal), _) | (None, None, Some(cal)) => cal.clone(),
            (None, None, None) => match self.own_calendar(s.acc.id).await {
                Ok(own) => {
                    s.calendar = Some(own.clone());
                    own
                }
                Err(err) => return Prepared::Done(self.outcome(e, err)),
            },
        };
        let known = e.remote_id.clone().map(|id| Remote { id, etag: e.etag.clone() });
        if e.wanted == Wanted::Absent {
            // Deleted by its key even when no delivery was recorded: one may
            // have reached the calendar before its process stopped.
            let (cal, key) = (calendar, e.event_key.clone());
            let r = session.call(move |c| delete(c, cal.clone(), key.clone(), known.clone())).await;
            return Prepared::Done(match r {
                Ok(()) => ExportOutcome::Removed,
                Err(f) => self.outcome(e, f.into()),
            });
        }
        if let Some(why) = &s.refused {
            return Prepared::Done(ExportOutcome::Failed { attempts: e.attempts + 1, error: why.clone() });
        }
        let entry = match self.entry_of(s, e, c).await {
            Ok(ev) => ev,
            Err(err) => return Prepared::Done(self.outcome(e, err)),
        };
        // A move in the calendar waiting for its owner's decision: the entry
        // keeps the calendar's start meanwhile (unless flowcal's date is that
        // start now: then nothing waits any more).
        let held = e.held_start.as_deref().and_then(When::from_stored).filter(|w| !w.same_start(&entry.when));
        let entry = match &held {
            Some(w) => EventSpec { when: w.clone(), ..entry },
            None => entry,
        };
        let held = held.map(|w| w.stored());
        let start = entry.when.stored();
        let hash = entry.content_hash();
        // A hash stored before the versioned one counts too: an upgrade re-sends nothing.
        let unchanged = e.content_hash.as_deref().is_some_and(|h| entry.unchanged_since(h));
        if let (Some(k), true) = (&known, unchanged) {
            // Nothing changed since the last delivery: no call.
            return Prepared::Done(ExportOutcome::Delivered {
                calendar,
                remote_id: k.id.clone(),
                etag: k.etag.clone(),
                content_hash: hash,
                sequence: e.sequence,
                start,
                held,
            });
        }
        let sequence = if e.content_hash.is_some() { e.sequence + 1 } else { e.sequence };
        let entry = EventSpec { sequence: u32::try_from(sequence).unwrap_or(u32::MAX), ..entry };
        let batches = match session.open().await {
            Ok(conn) => conn.batch_size() > 1,
            Err(f) => return Prepared::Done(self.outcome(e, f.into())),
        };
        if batches && known.is_none() {
            return Prepared::Batch { calendar, entry, hash, held };
        }
        let (cal, ev) = (calendar.clone(), entry.clone());
        let r = session.call(move |c| upsert(c, cal.clone(), ev.clone(), known.clone())).await;
        let r = match r.map_err(DeliveryError::from) {
            Err(DeliveryError::Gone(why)) => self.deliver_elsewhere(s, session, &calendar, why, entry).await,
            r => r.map(|remote| (calendar, remote)),
        };
        Prepared::Done(match r {
            Ok((calendar, remote)) => ExportOutcome::Delivered {
                calendar,
                remote_id: remote.id,
                etag: remote.etag,
                content_hash: hash,
                sequence,
                start,
                held,
            },
            Err(err) => self.outcome(e, err),
        })
    }

    /// After the calendar `gone` was found deleted at the service: `entry`
    /// made where the account's entries go now, with the calendar it went to.
    async fn deliver_elsewhere(
        &self,
        s: &mut Setup<'_>,
        session: &mut AccountSession<'_>,
        gone: &str,
        why: String,
        entry: EventSpec,
    ) -> Result<(String, Remote), DeliveryError> {
        let calendar = self.instead_of(s, gone, why).await?;
        let cal = calendar.clone();
        let remote = session.call(move |c| upsert(c, cal.clone(), entry.clone(), None)).await?;
        Ok((calendar, remote))
    }

    /// The calendar to use instead of `gone`, deleted at the service:
    /// - the account's calendar, when `gone` was an earlier one (entries stay
    ///   where they were made until that calendar goes);
    /// - flowcal's own calendar made again, when `gone` was it;
    /// - none, when `gone` is a calendar the user chose: the account says
    ///   so until they choose another, and the export fails with that reason.
    async fn instead_of(&self, s: &mut Setup<'_>, gone: &str, why: String) -> Result<String, DeliveryError> {
        // Read again: another pass may have made it again already.
        let acc = self
            .store
            .account(s.acc.id)
            .await?
            .ok_or_else(|| DeliveryError::Permanent(format!("calendar account {} not found", s.acc.id)))?;
        match acc.calendar.clone() {
            Some(current) if current != gone => {
                s.acc = acc;
                return Ok(current);
            }
            None => {
                s.acc = acc;
                return self.own_calendar(s.acc.id).await;
            }
            Some(_) => {}
        }
        let own = match acc.calendar_own {
            Some(own) => own,
            // Chosen before this was recorded: a CalDAV calendar tells by its name.
            None => acc.kind == AccountKind::Caldav && flowcal_calendar::caldav::is_own_calendar(gone),
        };
        if own {
            tracing::info!(
                account = acc.id,
                calendar = gone,
                "flowcal's own calendar was deleted at the service; making it again"
            );
            let acc = self.access.own_calendar(acc).await?;
            let current = acc.calendar.clone().unwrap_or_default();
            s.acc = acc;
            return Ok(current);
        }
        let problem =
            format!("the calendar you chose for {} no longer exists ({why}): choose another in Settings", acc.display);
        self.store.set_account_problem(acc.id, &problem, self.now()).await?;
        s.acc = acc;
        Err(DeliveryError::Gone(problem))
    }

    /// flowcal's own calendar in the account, created when missing.
    async fn own_calendar(&self, account: i64) -> Result<String, DeliveryError> {
        // Read again: another pass may have made it since this one began.
        let acc = self
            .store
            .account(account)
            .await?
            .ok_or_else(|| DeliveryError::Permanent(format!("calendar account {account} not found")))?;
        let acc = self.access.own_calendar(acc).await?;
        Ok(acc.calendar.unwrap_or_default())
    }

    /// The export's entry, as it should be now: read from the store and
    /// built by [`deadline_entry`] or [`item_entry`]. An entry its owner may
    /// no longer see is not sent (it fails as "not found", like the API).
    async fn entry_of(&self, s: &Setup<'_>, e: &ExportRecord, c: &Connectivity) -> Result<EventSpec, DeliveryError> {
        // As before this was a function of its own: a store failure here fails the export.
        let read = |err: StoreError| DeliveryError::from(AccessError::from(err));
        let cx = EntryContext {
            user: &s.user,
            public_url: &self.public_url,
            time_zone: &self.time_zone,
            event_minutes: c.calendar_export.event_minutes,
            now: self.now(),
        };
        match &e.source {
            ExportSource::TaskDeadline(id) => {
                let id = *id;
                let t = match self.store.task(id).await.map_err(read)? {
                    Some(t) if sees_task(&s.user, &s.roles, &t) => t,
                    _ => return Err(DeliveryError::Permanent(format!("task {id}"))),
                };
                let (model, _) = self.models.get(t.model_id).await?;
                Ok(deadline_entry(&t, &model.name, &cx, 0)?)
            }
            ExportSource::InstanceItem { instance: id, key } => {
                let id = *id;
                let not_found = || DeliveryError::Permanent(format!("instance {id}"));
                let instance = self.store.instance(id).await.map_err(read)?.ok_or_else(not_found)?;
                let tasks = self.store.instance_tasks(id).await.map_err(read)?;
                if !involved(&s.user, &s.roles, &instance, &tasks) {
                    return Err(not_found());
                }
                let (stored, model) = self.models.get(instance.model_id).await?;
                Ok(item_entry(&instance, &stored.name, &model, key, &cx, 0)?)
            }
        }
    }

    /// What a failed delivery means for the export: waiting for the user
    /// to reconnect, another attempt later, or failed.
    fn outcome(&self, e: &ExportRecord, err: DeliveryError) -> ExportOutcome {
        match err {
            DeliveryError::RetryAfter(after, m) => self.next_attempt(e, after, m),
            DeliveryError::NeedsReauthorization(m) => ExportOutcome::Waiting { error: m },
            DeliveryError::Gone(m) | DeliveryError::Permanent(m) => {
                ExportOutcome::Failed { attempts: e.attempts + 1, error: m }
            }
            DeliveryError::Store(err) => self.next_attempt(e, None, err.to_string()),
        }
    }

    fn setup_outcome(&self, why: &SetupFailure, e: &ExportRecord) -> ExportOutcome {
        match why {
            SetupFailure::Disconnected => {
                ExportOutcome::Failed { attempts: e.attempts, error: "the calendar account was disconnected".into() }
            }
            SetupFailure::Fails(err) => self.outcome(e, err.again()),
        }
    }

    /// The next attempt, or `failed` when the attempts are used up.
    fn next_attempt(&self, e: &ExportRecord, after: Option<Duration>, error: String) -> ExportOutcome {
        let attempts = e.attempts + 1;
        let d = &self.config;
        if attempts >= i64::from(d.attempts) {
            return ExportOutcome::Failed { attempts, error };
        }
        let exp = u32::try_from(attempts - 1).unwrap_or(u32::MAX).min(20);
        let max = d.max_backoff_seconds as f64;
        let base = (d.backoff_seconds.saturating_mul(1u64 << exp) as f64).min(max);
        // ±25 % jitter, so that many exports failing together do not retry
        // together; never past the longest delay (at the cap: 75 to 100 %).
        let high = (base * 1.25).min(max);
        let low = (base * 0.75).min(high);
        let mut delay = Duration::from_secs_f64(rand::thread_rng().gen_range(low..=high));
        // Retry-After is honoured up to the longest delay: a server cannot
        // park an export for longer than the administrator allows.
        if let Some(a) = after {
            delay = delay.max(a.min(Duration::from_secs(d.max_backoff_seconds)));
        }
        let not_before = self
            .now()
            .checked_add(SignedDuration::try_from(delay).unwrap_or(SignedDuration::from_secs(3600)))
            .unwrap_or(Timestamp::MAX);
        ExportOutcome::Retry { attempts, not_before, error }
    }
}

/// What one delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Delivered {
    Created,
    Updated,
    /// The content was unchanged: no call.
    Unchanged,
    Removed,
    Retried,
    Failed,
    Waiting,
}

impl Delivered {
    fn of(e: &ExportRecord, o: &ExportOutcome) -> Delivered {
        match o {
            ExportOutcome::Delivered { content_hash, .. }
                if e.content_hash.as_deref() == Some(content_hash.as_str()) =>
            {
                Delivered::Unchanged
            }
            // Unchanged under a hash stored before the versioned one: the
            // sequence moves only when the content changed.
            ExportOutcome::Delivered { sequence, .. }
                if e.remote_id.is_some() && e.content_hash.is_some() && *sequence == e.sequence =>
            {
                Delivered::Unchanged
            }
            ExportOutcome::Delivered { .. } if e.remote_id.is_some() => Delivered::Updated,
            ExportOutcome::Delivered { .. } => Delivered::Created,
            ExportOutcome::Removed => Delivered::Removed,
            ExportOutcome::Retry { .. } => Delivered::Retried,
            ExportOutcome::Failed { .. } => Delivered::Failed,
            ExportOutcome::Waiting { .. } => Delivered::Waiting,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivered::Created => "created",
            Delivered::Updated => "updated",
            Delivered::Unchanged => "unchanged",
            Delivered::Removed => "removed",
            Delivered::Retried => "retried",
            Delivered::Failed => "failed",
            Delivered::Waiting => "waiting",
        }
    }
}

/// What delivering to one account needs, read once for its exports.
struct Setup<'c> {
    acc: CalendarAccount,
    connectivity: &'c Connectivity,
    /// The account's owner, whose settings shape the entries.
    user: User,
    roles: Vec<String>,
    /// Why exports may not be delivered now (the administrator's policy, the
    /// user's switch), if so.
    refused: Option<String>,
    /// flowcal's own calendar, when this pass created it.
    calendar: Option<String>,
}

/// Why an account's exports cannot be delivered at all in this pass.
enum SetupFailure {
    Disconnected,
    Fails(DeliveryError),
}

/// A new entry waiting for its batch request: its place in the chunk, the
/// entry, its content hash, the move in the calendar it keeps.
type BatchItem = (usize, EventSpec, String, Option<String>);

/// One export of a chunk, after [`Delivery::prepare`].
enum Prepared {
    Done(ExportOutcome),
    /// A new entry for a connector that batches.
    Batch {
        calendar: String,
        entry: EventSpec,
        hash: String,
        held: Option<String>,
    },
}

/// Creates new entries: in batch requests where the connector has them.
fn create(
    c: &AnyConnector,
    calendar: String,
    entries: Vec<EventSpec>,
) -> ConnectorFuture<'_, Vec<Result<Remote, ConnectorError>>> {
    Box::pin(async move { c.create_events(&calendar, &entries).await })
}

fn upsert(c: &AnyConnector, calendar: String, entry: EventSpec, known: Option<Remote>) -> ConnectorFuture<'_, Remote> {
    Box::pin(async move { c.upsert_event(&calendar, &entry, known.as_ref()).await })
}

fn delete(c: &AnyConnector, calendar: String, key: String, known: Option<Remote>) -> ConnectorFuture<'_, ()> {
    Box::pin(async move { c.delete_event(&calendar, &key, known.as_ref()).await })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A calendar service's answer, as a delivery signal: the message kept
    /// as the export's `last_error` shows it, the delay the service asked for.
    #[test]
    fn connector_errors_become_delivery_signals() {
        let after = Some(Duration::from_secs(30));
        let d = DeliveryError::from(ConnectorError::RetryLater { after, message: "busy".into() });
        assert!(matches!(&d, DeliveryError::RetryAfter(a, m) if *a == after && m == "busy"), "{d:?}");
        let d = DeliveryError::from(ConnectorError::Unauthorized("token expired".into()));
        assert!(matches!(&d, DeliveryError::NeedsReauthorization(m) if m == "token expired"), "{d:?}");
        let d = DeliveryError::from(ConnectorError::Gone("calendar x".into()));
        assert!(matches!(&d, DeliveryError::Gone(m) if m == "gone at the calendar service: calendar x"), "{d:?}");
        let d = DeliveryError::from(ConnectorError::Permanent("bad entry".into()));
        let expected = "the calendar service refused the request: bad entry";
        assert!(matches!(&d, DeliveryError::Permanent(m) if m == expected), "{d:?}");
    }

    /// The access layer's and the models' errors: an account that is not
    /// active waits, an unavailable service is tried again, the rest fails.
    #[test]
    fn access_errors_become_delivery_signals() {
        let d = DeliveryError::from(AccessError::Reconnect("connect again".into()));
        assert!(matches!(&d, DeliveryError::NeedsReauthorization(m) if m == "connect again"), "{d:?}");
        let d = DeliveryError::from(AccessError::Unavailable("provider down".into()));
        assert!(matches!(&d, DeliveryError::RetryAfter(None, m) if m == "provider down"), "{d:?}");
        let d = DeliveryError::from(AccessError::NotFound("calendar account 3".into()));
        assert!(matches!(&d, DeliveryError::Permanent(m) if m == "calendar account 3"), "{d:?}");
        let d = DeliveryError::from(ModelError::NotFound("model 3".into()));
        assert!(matches!(&d, DeliveryError::Permanent(m) if m == "model 3"), "{d:?}");
    }

    /// A failure that stops a whole account (or a batch) is the same for each
    /// of its exports; a store failure becomes a retry with its message.
    #[test]
    fn a_failure_repeats_for_each_export() {
        let d = DeliveryError::RetryAfter(Some(Duration::from_secs(5)), "later".into()).again();
        assert!(matches!(&d, DeliveryError::RetryAfter(Some(a), m) if a.as_secs() == 5 && m == "later"), "{d:?}");
        let d = DeliveryError::Gone("gone".into()).again();
        assert!(matches!(&d, DeliveryError::Gone(m) if m == "gone"), "{d:?}");
        let d = DeliveryError::Store(StoreError::Conflict("busy".into())).again();
        assert!(
            matches!(&d, DeliveryError::RetryAfter(None, m) if m == &StoreError::Conflict("busy".into()).to_string()),
            "{d:?}"
        );
    }
}
