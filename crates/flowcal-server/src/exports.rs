//! The export button and the delivery of calendar entries.
//!
//! Pressing the button records what the calendar should show (an export row,
//! `pending`) in one transaction; workers deliver due exports through the
//! account's connector and record the outcome: in the calendar, retry later
//! (exponential backoff with jitter, `Retry-After` honoured), failed after the
//! configured attempts (kept, retryable), or waiting until the user reconnects.

use crate::access::calendars::{AccountSession, ConnectorFuture, Fail};
use crate::access::settings::Connectivity;
use crate::app::{App, Principal};
use crate::error::{AppError, AppResult};
use flowcal_calendar::{event_key, AnyConnector, Connector, ConnectorError, EventSpec, Remote};
use flowcal_domain::{InstanceId, TaskId};
use flowcal_store::{CalendarAccount, ExportOutcome, ExportRecord, NewExport};
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// Exports a worker claims at once.
const BATCH: i64 = 100;

/// Exports of one account whose leases are renewed, and whose outcomes are
/// recorded, in one transaction; also the size of a Google batch request.
const CHUNK: usize = 50;

impl App {
    /// Puts a task's deadline (`source` = `deadline`) or a date item of its
    /// instance (`item:KEY`) on one of `p`'s calendar accounts. Pressing it
    /// again updates the same export.
    pub async fn export(&self, p: &Principal, task: TaskId, source: &str, account: i64) -> AppResult<ExportRecord> {
        let t = self.task(p, task).await?;
        if !p.is_admin() && !p.can_work(&t) {
            return Err(AppError::Forbidden("only the task's assignee (or its role) may export it".into()));
        }
        let acc = self.calendar_account(p, account).await?;
        if acc.user_id != p.user.id {
            return Err(AppError::Forbidden("exports go to your own calendar accounts only".into()));
        }
        let c = self.connectivity().await?;
        self.export_allowed(&c, p)?;
        // The entry must be possible now: a deadline, or a date item.
        let source_name = match source {
            "deadline" => {
                self.deadline_entry(p, task, 0).await?;
                format!("task:{}:deadline", task.0)
            }
            s => match s.strip_prefix("item:") {
                Some(key) if !key.is_empty() => {
                    self.item_entry(p, t.instance_id, key, 0).await?;
                    format!("instance:{}:item:{key}", t.instance_id.0)
                }
                _ => {
                    return Err(AppError::Unprocessable(format!(
                        "source must be \"deadline\" or \"item:KEY\" (got '{s}')"
                    )))
                }
            },
        };
        let record = self
            .store
            .request_export(
                NewExport {
                    user_id: p.user.id,
                    account_id: acc.id,
                    event_key: event_key(p.user.id.0, &source_name),
                    source: source_name,
                    task_id: Some(task.0),
                    instance_id: t.instance_id.0,
                },
                self.now(),
            )
            .await?;
        self.delivery_wake.notify_one();
        Ok(record)
    }

    /// One of `p`'s exports.
    pub async fn export_record(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        match self.store.export(id).await? {
            Some(e) if e.user_id == p.user.id || p.is_admin() => Ok(e),
            _ => Err(AppError::NotFound(format!("export {id}"))),
        }
    }

    pub async fn exports(&self, p: &Principal) -> AppResult<Vec<ExportRecord>> {
        Ok(self.store.exports_of(p.user.id).await?)
    }

    /// Removes the entry from the calendar (delivered like any change).
    pub async fn remove_export(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        let e = self.export_record(p, id).await?;
        if e.user_id != p.user.id {
            return Err(AppError::Forbidden("only the export's owner may remove it".into()));
        }
        let e = self.store.request_removal(id, self.now()).await?.ok_or_else(|| AppError::NotFound("export".into()))?;
        self.delivery_wake.notify_one();
        Ok(e)
    }

    /// Sends a failed export again.
    pub async fn retry_export(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        let e = self.export_record(p, id).await?;
        if e.user_id != p.user.id {
            return Err(AppError::Forbidden("only the export's owner may retry it".into()));
        }
        if e.state != "failed" {
            return Err(AppError::Conflict(format!("export {id} is {}, not failed", e.state)));
        }
        let e = self.store.retry_export(id, self.now()).await?.ok_or_else(|| AppError::NotFound("export".into()))?;
        self.delivery_wake.notify_one();
        Ok(e)
    }

    /// An administrator sends anyone's failed export again.
    pub async fn admin_retry_export(&self, p: &Principal, id: i64) -> AppResult<()> {
        p.require_admin()?;
        match self.store.retry_export(id, self.now()).await? {
            Some(e) if e.state == "pending" => {
                self.delivery_wake.notify_one();
                Ok(())
            }
            Some(e) => Err(AppError::Conflict(format!("export {id} is {}, not failed", e.state))),
            None => Err(AppError::NotFound(format!("export {id}"))),
        }
    }

    /// Turns auto-sync on (`account`, an optional calendar to choose for it,
    /// keep done tasks) or off, and brings the user's calendar in line.
    pub async fn set_auto_sync(
        &self,
        p: &Principal,
        setting: Option<(i64, Option<String>, bool)>,
    ) -> AppResult<flowcal_store::User> {
        match setting {
            Some((account, calendar, keep_done)) => {
                let acc = self.calendar_account(p, account).await?;
                if acc.user_id != p.user.id {
                    return Err(AppError::Forbidden("auto-sync uses one of your own calendar accounts".into()));
                }
                let c = self.connectivity().await?;
                self.export_allowed(&c, p)?;
                if let Some(cal) = calendar {
                    self.choose_calendar(p, account, &cal).await?;
                }
                self.store.set_auto_sync(p.user.id, Some(account), keep_done, self.now()).await?;
            }
            None => self.store.set_auto_sync(p.user.id, None, false, self.now()).await?,
        }
        self.delivery_wake.notify_one();
        self.store.user(p.user.id).await?.ok_or_else(|| AppError::NotFound("user".into()))
    }

    /// Brings one user's calendar up to date (`flowcal export sync`): their
    /// auto-synced exports are brought in line with their tasks (with
    /// `account`, auto-sync is turned on for it first), then every due export
    /// is delivered here. `progress(done, total)` after each delivery. Safe to
    /// run twice: the second run finds nothing changed.
    pub async fn export_sync(
        &self,
        login: &str,
        account: Option<i64>,
        mut progress: impl FnMut(usize, usize),
    ) -> AppResult<std::collections::BTreeMap<&'static str, usize>> {
        let user =
            self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user '{login}'")))?;
        let roles = self.store.roles(user.id).await?;
        let p = Principal { user: user.clone(), roles };
        match (account, user.auto_sync_account) {
            (Some(a), _) => {
                self.set_auto_sync(&p, Some((a, None, user.auto_sync_keep_done))).await?;
            }
            (None, Some(_)) => self.store.sync_user_exports(user.id, self.now()).await?,
            (None, None) => {
                return Err(AppError::Unprocessable(format!(
                    "{login} has no auto-sync account: give --account ID (see GET /api/v1/calendar-accounts)"
                )))
            }
        }
        let now = self.now();
        let total = self
            .store
            .exports_of(user.id)
            .await?
            .iter()
            .filter(|e| e.state == "pending" && e.not_before <= now)
            .count();
        let mut summary = std::collections::BTreeMap::new();
        let mut done = 0;
        progress(0, total);
        // How long to wait for exports held by others (a dead worker's lease).
        let patience = Duration::from_secs(self.config.delivery.lease_seconds + 5);
        let mut last_progress = std::time::Instant::now();
        loop {
            let report = self.deliver_due_report(&self.worker_id).await?;
            let mine = report.iter().filter(|(e, _)| e.user_id == user.id).count();
            for (e, what) in &report {
                if e.user_id == user.id {
                    *summary.entry(what.as_str()).or_insert(0) += 1;
                    done += 1;
                    progress(done.min(total), total);
                }
            }
            if mine > 0 {
                last_progress = std::time::Instant::now();
            }
            // Done when none of this user's exports on an active account is due
            // (others' exports are delivered on the way, but not waited for).
            let now = self.now();
            let mut due = false;
            for e in self.store.exports_of(user.id).await? {
                if e.state == "pending" && e.not_before <= now {
                    let active = self
                        .store
                        .account(e.account_id)
                        .await?
                        .is_some_and(|a| a.status == flowcal_store::AccountStatus::Active);
                    if active {
                        due = true;
                        break;
                    }
                }
            }
            if !due || last_progress.elapsed() > patience {
                break;
            }
            if report.is_empty() {
                // Held by another worker (perhaps a dead one, until its lease runs out).
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(summary)
    }

    /// One worker pass: claims due exports and delivers them; returns how many.
    pub async fn deliver_due(&self) -> AppResult<usize> {
        Ok(self.deliver_due_report(&self.worker_id).await?.len())
    }

    /// One pass of the worker named `owner`, with what happened to each export.
    ///
    /// The claimed exports are delivered account by account: the account, its
    /// owner, the connectivity settings and the connector are read once, the
    /// leases are renewed and the outcomes recorded for a chunk of exports in
    /// one transaction each, and new entries for Google go out in batch
    /// requests of up to 50.
    pub async fn deliver_due_report(&self, owner: &str) -> AppResult<Vec<(ExportRecord, Delivered)>> {
        let now = self.now();
        let claimed = self.store.claim_exports(owner, now, self.lease_until(now)?, BATCH).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let connectivity = self.connectivity().await;
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

    fn lease_until(&self, now: Timestamp) -> AppResult<Timestamp> {
        let lease = SignedDuration::from_secs(i64::try_from(self.config.delivery.lease_seconds).unwrap_or(120));
        now.checked_add(lease).map_err(|e| AppError::Internal(e.into()))
    }

    /// Delivers the claimed exports of one account, chunk by chunk.
    async fn deliver_account(
        &self,
        owner: &str,
        group: Vec<ExportRecord>,
        connectivity: &AppResult<Connectivity>,
        report: &mut Vec<(ExportRecord, Delivered)>,
    ) -> AppResult<()> {
        let Some(account_id) = group.first().map(|e| e.account_id) else { return Ok(()) };
        let setup = self.setup(account_id, connectivity).await;
        let kind = match &setup {
            Ok(s) => s.acc.kind.clone(),
            Err(_) => "none".to_owned(),
        };
        let mut setup = setup.map(|s| (s, None::<AccountSession<'_>>));
        for chunk in group.chunks(CHUNK) {
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
                    let session = session.get_or_insert_with(|| AccountSession::new(self, s.acc.clone(), c));
                    self.deliver_chunk(owner, s, session, c, &mine).await?
                }
                Err(why) => mine.iter().map(|e| why.outcome(self, e)).collect(),
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
        connectivity: &'c AppResult<Connectivity>,
    ) -> Result<Setup<'c>, SetupFailure> {
        let acc = match self.store.account(account_id).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(SetupFailure::Disconnected),
            Err(err) => return Err(SetupFailure::Store(err.to_string())),
        };
        let c = match connectivity {
            Ok(c) => c,
            Err(err) => return Err(SetupFailure::App(AppError::Unavailable(err.to_string()))),
        };
        let user = match self.store.user(acc.user_id).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(SetupFailure::App(AppError::NotFound("user".into()))),
            Err(err) => return Err(SetupFailure::Store(err.to_string())),
        };
        let roles = self.store.roles(acc.user_id).await.map_err(|e| SetupFailure::Store(e.to_string()))?;
        let p = Principal { user, roles };
        // The administrator's policy and the user's switch hold at delivery too.
        let refused = self.export_allowed(c, &p).err().map(|e| e.to_string());
        Ok(Setup { acc, p, refused, calendar: None, connectivity: c })
    }

    /// Delivers the exports of one chunk (leases held); one outcome each, in order.
    async fn deliver_chunk(
        &self,
        owner: &str,
        s: &mut Setup<'_>,
        session: &mut AccountSession<'_>,
        c: &Connectivity,
        chunk: &[&ExportRecord],
    ) -> AppResult<Vec<ExportOutcome>> {
        let mut outcomes: Vec<Option<ExportOutcome>> = vec![None; chunk.len()];
        // New entries for Google, by calendar: sent in batch requests.
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
                Prepared::Batch { calendar, entry, hash } => {
                    match batches.iter_mut().find(|(cal, _)| *cal == calendar) {
                        Some((_, v)) => v.push((i, entry, hash)),
                        None => batches.push((calendar, vec![(i, entry, hash)])),
                    }
                    None
                }
            };
        }
        for (calendar, items) in batches {
            let entries: Vec<EventSpec> = items.iter().map(|(_, ev, _)| ev.clone()).collect();
            let cal = calendar.clone();
            let r = session.call(move |conn| batch_create(conn, cal.clone(), entries.clone())).await;
            for (n, (i, entry, hash)) in items.into_iter().enumerate() {
                let Some(e) = chunk.get(i) else { continue };
                let one = match &r {
                    Ok(results) => match results.get(n) {
                        Some(Ok(remote)) => Ok(remote.clone()),
                        Some(Err(err)) => Err(Fail::Connector(err.clone())),
                        None => Err(Fail::App(AppError::Internal(anyhow::anyhow!("a batch answer is missing")))),
                    },
                    Err(Fail::Connector(err)) => Err(Fail::Connector(err.clone())),
                    Err(Fail::App(err)) => Err(Fail::App(same(err))),
                };
                outcomes[i] = Some(match one {
                    Ok(remote) => ExportOutcome::Delivered {
                        calendar: calendar.clone(),
                        remote_id: remote.id,
                        etag: remote.etag,
                        content_hash: hash,
                        sequence: i64::from(entry.sequence),
                    },
                    Err(f) => self.classify(e, f),
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
        Duration::from_secs(self.config.delivery.lease_seconds / 4)
    }

    fn count(&self, kind: &str, what: Delivered) {
        let mut m = self.delivery_counts.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((what.as_str(), kind.to_owned())).or_insert(0) += 1;
    }

    /// `/metrics`: exports by state and kind, the oldest due pending export,
    /// and this process's deliveries, in Prometheus text format.
    pub async fn metrics(&self) -> AppResult<String> {
        use std::fmt::Write as _;
        let (states, oldest) = self.store.export_stats(self.now()).await?;
        let mut out = String::new();
        let _ = writeln!(out, "# HELP flowcal_exports Calendar exports by state and connector kind.");
        let _ = writeln!(out, "# TYPE flowcal_exports gauge");
        for (state, kind, n) in states {
            let _ = writeln!(out, "flowcal_exports{{state=\"{state}\",kind=\"{kind}\"}} {n}");
        }
        let _ =
            writeln!(out, "# HELP flowcal_exports_oldest_pending_seconds Age of the oldest export due for delivery.");
        let _ = writeln!(out, "# TYPE flowcal_exports_oldest_pending_seconds gauge");
        let _ = writeln!(out, "flowcal_exports_oldest_pending_seconds {}", oldest.unwrap_or(0) as f64 / 1000.0);
        let _ =
            writeln!(out, "# HELP flowcal_deliveries_total Deliveries by this process, by outcome and connector kind.");
        let _ = writeln!(out, "# TYPE flowcal_deliveries_total counter");
        let counts = self.delivery_counts.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for ((what, kind), n) in counts {
            let _ = writeln!(out, "flowcal_deliveries_total{{outcome=\"{what}\",kind=\"{kind}\"}} {n}");
        }
        Ok(out)
    }

    /// Delivers exports until `shutdown` completes: woken by new exports, and
    /// every second for retries that came due.
    pub async fn run_delivery(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Each loop is a worker of its own: leases name it.
        let owner = crate::secrets::new_token("w");
        loop {
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
                if let Err(e) = self.advance_deletions().await {
                    tracing::error!(error = format!("{e:#}"), "deleting users failed; retrying later");
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = self.delivery_wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }

    /// One export of a chunk: delivered now (a removal, an unchanged entry,
    /// an update, any entry not for Google), or its entry made ready for a
    /// batch request.
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
            (None, None, None) => match self.choose_calendar(&s.p, s.acc.id, "own").await {
                Ok(a) => {
                    let own = a.calendar.unwrap_or_default();
                    s.calendar = Some(own.clone());
                    own
                }
                Err(err) => return Prepared::Done(self.classify_app(e, err)),
            },
        };
        let known = e.remote_id.clone().map(|id| Remote { id, etag: e.etag.clone() });
        if e.wanted == "absent" {
            // Deleted by its key even when no delivery was recorded: one may
            // have reached the calendar before its process stopped.
            let (cal, key) = (calendar, e.event_key.clone());
            let r = session.call(move |c| delete(c, cal.clone(), key.clone(), known.clone())).await;
            return Prepared::Done(match r {
                Ok(()) => ExportOutcome::Removed,
                Err(f) => self.classify(e, f),
            });
        }
        if let Some(why) = &s.refused {
            return Prepared::Done(ExportOutcome::Failed { attempts: e.attempts + 1, error: why.clone() });
        }
        let entry = match self.entry_of(&s.p, e, c).await {
            Ok(ev) => ev,
            Err(err) => return Prepared::Done(self.classify_app(e, err)),
        };
        let hash = content_hash(&entry);
        if let (Some(k), true) = (&known, e.content_hash.as_deref() == Some(hash.as_str())) {
            // Nothing changed since the last delivery: no call.
            return Prepared::Done(ExportOutcome::Delivered {
                calendar,
                remote_id: k.id.clone(),
                etag: k.etag.clone(),
                content_hash: hash,
                sequence: e.sequence,
            });
        }
        let sequence = if e.content_hash.is_some() { e.sequence + 1 } else { e.sequence };
        let entry = EventSpec { sequence: u32::try_from(sequence).unwrap_or(u32::MAX), ..entry };
        let google = match session.open().await {
            Ok(conn) => matches!(conn, AnyConnector::Google(_)),
            Err(f) => return Prepared::Done(self.classify(e, f)),
        };
        if google && known.is_none() {
            return Prepared::Batch { calendar, entry, hash };
        }
        let cal = calendar.clone();
        let r = session.call(move |c| upsert(c, cal.clone(), entry.clone(), known.clone())).await;
        Prepared::Done(match r {
            Ok(remote) => ExportOutcome::Delivered {
                calendar,
                remote_id: remote.id,
                etag: remote.etag,
                content_hash: hash,
                sequence,
            },
            Err(f) => self.classify(e, f),
        })
    }

    async fn entry_of(&self, p: &Principal, e: &ExportRecord, c: &Connectivity) -> AppResult<EventSpec> {
        let mut parts = e.source.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("task"), Some(id), Some("deadline"), None) => {
                let id = id.parse().map_err(|_| AppError::Internal(anyhow::anyhow!("source {}", e.source)))?;
                let t = self.task(p, TaskId(id)).await?;
                self.deadline_entry_of(p, &t, 0, c).await
            }
            (Some("instance"), Some(id), Some("item"), Some(key)) => {
                let id = id.parse().map_err(|_| AppError::Internal(anyhow::anyhow!("source {}", e.source)))?;
                self.item_entry_in(p, InstanceId(id), key, 0, c).await
            }
            _ => Err(AppError::Internal(anyhow::anyhow!("unknown export source {}", e.source))),
        }
    }

    fn classify(&self, e: &ExportRecord, f: Fail) -> ExportOutcome {
        match f {
            Fail::Connector(ConnectorError::RetryLater { after, message }) => self.next_attempt(e, after, message),
            Fail::Connector(ConnectorError::Unauthorized(m)) => ExportOutcome::Waiting { error: m },
            Fail::Connector(err @ (ConnectorError::Gone(_) | ConnectorError::Permanent(_))) => {
                ExportOutcome::Failed { attempts: e.attempts + 1, error: err.to_string() }
            }
            Fail::App(err) => self.classify_app(e, err),
        }
    }

    fn classify_app(&self, e: &ExportRecord, err: AppError) -> ExportOutcome {
        match err {
            // The account is not active (or just became reconnect_required).
            AppError::Conflict(m) => ExportOutcome::Waiting { error: m },
            AppError::Unavailable(m) => self.next_attempt(e, None, m),
            other => ExportOutcome::Failed { attempts: e.attempts + 1, error: other.to_string() },
        }
    }

    /// The next attempt, or `failed` when the attempts are used up.
    fn next_attempt(&self, e: &ExportRecord, after: Option<Duration>, error: String) -> ExportOutcome {
        let attempts = e.attempts + 1;
        let d = &self.config.delivery;
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
    p: Principal,
    /// Why exports may not be delivered now (the administrator's policy, the
    /// user's switch), if so.
    refused: Option<String>,
    /// flowcal's own calendar, when this pass created it.
    calendar: Option<String>,
}

/// Why an account's exports cannot be delivered at all in this pass.
enum SetupFailure {
    Disconnected,
    Store(String),
    App(AppError),
}

impl SetupFailure {
    fn outcome(&self, app: &App, e: &ExportRecord) -> ExportOutcome {
        match self {
            SetupFailure::Disconnected => {
                ExportOutcome::Failed { attempts: e.attempts, error: "the calendar account was disconnected".into() }
            }
            SetupFailure::Store(m) => app.next_attempt(e, None, m.clone()),
            SetupFailure::App(err) => app.classify_app(e, same(err)),
        }
    }
}

/// A new entry waiting for its batch request: its place in the chunk, the
/// entry, its content hash.
type BatchItem = (usize, EventSpec, String);

/// One export of a chunk, after [`App::prepare`].
enum Prepared {
    Done(ExportOutcome),
    /// A new Google entry, for a batch request.
    Batch {
        calendar: String,
        entry: EventSpec,
        hash: String,
    },
}

/// Creates new entries in one or more batch requests (Google), or one by one.
/// An entry refused for the access token fails the whole call, so that it
/// is refreshed once and repeated (entries created already are found by
/// their key and kept).
fn batch_create(
    c: &AnyConnector,
    calendar: String,
    entries: Vec<EventSpec>,
) -> ConnectorFuture<'_, Vec<Result<Remote, ConnectorError>>> {
    Box::pin(async move {
        let results = match c {
            AnyConnector::Google(g) => g.batch_upsert(&calendar, &entries).await?,
            other => {
                let mut out = Vec::with_capacity(entries.len());
                for ev in &entries {
                    out.push(other.upsert_event(&calendar, ev, None).await);
                }
                out
            }
        };
        if let Some(Err(ConnectorError::Unauthorized(why))) =
            results.iter().find(|r| matches!(r, Err(ConnectorError::Unauthorized(_))))
        {
            return Err(ConnectorError::Unauthorized(why.clone()));
        }
        Ok(results)
    })
}

/// The same failure again, for every export it stops: delivery tells only
/// waiting (conflict), later (unavailable) and failed apart.
fn same(err: &AppError) -> AppError {
    match err {
        AppError::Conflict(m) => AppError::Conflict(m.clone()),
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        other => AppError::Unprocessable(other.to_string()),
    }
}

fn upsert(c: &AnyConnector, calendar: String, entry: EventSpec, known: Option<Remote>) -> ConnectorFuture<'_, Remote> {
    Box::pin(async move { c.upsert_event(&calendar, &entry, known.as_ref()).await })
}

fn delete(c: &AnyConnector, calendar: String, key: String, known: Option<Remote>) -> ConnectorFuture<'_, ()> {
    Box::pin(async move { c.delete_event(&calendar, &key, known.as_ref()).await })
}

/// What decides whether an entry changed: everything but its stamp and sequence.
pub(crate) fn content_hash(e: &EventSpec) -> String {
    let plain = EventSpec { stamp: Timestamp::UNIX_EPOCH, sequence: 0, ..e.clone() };
    hex::encode(Sha256::digest(format!("{plain:?}").as_bytes()))
}
