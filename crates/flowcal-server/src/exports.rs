//! The export button and what users (and the CLI) do with their exports.
//!
//! Pressing the button records what the calendar should show (an export row,
//! `pending`) in one transaction; the worker in [`crate::delivery`] delivers
//! it. The authorization happens here, and a delivery's failure becomes an
//! [`AppError`] only here, at the API's boundary.

use crate::access::Access;
use crate::clock::Clock;
pub use crate::delivery::Delivered;
use crate::delivery::{Delivery, DeliveryError};
use crate::entries::{deadline_entry, item_entry, EntryContext};
use crate::error::{AppError, AppResult};
use crate::principal::Principal;
use crate::settings::Connectivity;
use crate::workflow::Workflow;
use flowcal_calendar::{event_key, EventSpec};
use flowcal_domain::export::{ExportSource, ExportState};
use flowcal_domain::{InstanceId, TaskId};
use flowcal_store::{ExportRecord, NewExport, Store, User};
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The export service: the button, a user's exports, auto-sync, and the
/// entries as a user would export them.
#[derive(Debug)]
pub struct Exports {
    store: Store,
    clock: Arc<dyn Clock>,
    workflow: Arc<Workflow>,
    access: Arc<Access>,
    delivery: Arc<Delivery>,
    /// Wakes the delivery workers when exports are requested.
    wake: Arc<tokio::sync::Notify>,
    public_url: String,
    time_zone: String,
    /// How long a worker's lease lasts (`[delivery] lease_seconds`).
    lease_seconds: u64,
}

impl Exports {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        workflow: Arc<Workflow>,
        access: Arc<Access>,
        delivery: Arc<Delivery>,
        wake: Arc<tokio::sync::Notify>,
        public_url: String,
        time_zone: String,
        lease_seconds: u64,
    ) -> Self {
        Exports { store, clock, workflow, access, delivery, wake, public_url, time_zone, lease_seconds }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Puts a task's deadline (`source` = `deadline`) or a date item of its
    /// instance (`item:KEY`) on one of `p`'s calendar accounts. Pressing it
    /// again updates the same export.
    pub async fn export(&self, p: &Principal, task: TaskId, source: &str, account: i64) -> AppResult<ExportRecord> {
        let t = self.workflow.task(p, task).await?;
        if !p.is_admin() && !p.can_work(&t) {
            return Err(AppError::Forbidden("only the task's assignee (or its role) may export it".into()));
        }
        let acc = self.access.calendar_account(p, account).await?;
        if acc.user_id != p.user.id {
            return Err(AppError::Forbidden("exports go to your own calendar accounts only".into()));
        }
        let c = self.access.connectivity().await?;
        self.access.export_allowed(&c, p)?;
        // The entry must be possible now: a deadline, or a date item.
        let source_name = match source {
            "deadline" => {
                self.deadline_entry_of(p, &t, 0, &c).await?;
                ExportSource::TaskDeadline(task)
            }
            s => match s.strip_prefix("item:") {
                Some(key) if !key.is_empty() => {
                    self.item_entry_in(p, t.instance_id, key, 0, &c).await?;
                    ExportSource::InstanceItem { instance: t.instance_id, key: key.to_owned() }
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
                    event_key: event_key(p.user.id.0, &source_name.to_string()),
                    source: source_name,
                    task_id: Some(task.0),
                    instance_id: t.instance_id.0,
                },
                self.now(),
            )
            .await?;
        self.wake.notify_one();
        Ok(record)
    }

    /// One of `p`'s exports.
    pub async fn export_record(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        match self.store.export(id).await? {
            Some(e) if e.user_id == p.user.id || p.is_admin() => Ok(e),
            _ => Err(AppError::NotFound(format!("export {id}"))),
        }
    }

    /// `p`'s exports of one instance: its tasks' deadlines and its items.
    pub async fn list_for_instance(&self, p: &Principal, instance: InstanceId) -> AppResult<Vec<ExportRecord>> {
        Ok(self.store.exports_of_instance(p.user.id, instance).await?)
    }

    /// Removes the entry from the calendar (delivered like any change).
    pub async fn remove_export(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        let e = self.export_record(p, id).await?;
        if e.user_id != p.user.id {
            return Err(AppError::Forbidden("only the export's owner may remove it".into()));
        }
        let e = self.store.request_removal(id, self.now()).await?.ok_or_else(|| AppError::NotFound("export".into()))?;
        self.wake.notify_one();
        Ok(e)
    }

    /// Sends a failed export again.
    pub async fn retry_export(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        let e = self.export_record(p, id).await?;
        if e.user_id != p.user.id {
            return Err(AppError::Forbidden("only the export's owner may retry it".into()));
        }
        // Failed: tried again. Deleted in the calendar: added again.
        if !matches!(e.state, ExportState::Failed | ExportState::RemovedInCalendar) {
            return Err(AppError::Conflict(format!("export {id} is {}, not failed or removed in calendar", e.state)));
        }
        let e = self.store.retry_export(id, self.now()).await?.ok_or_else(|| AppError::NotFound("export".into()))?;
        self.wake.notify_one();
        Ok(e)
    }

    /// An administrator sends anyone's failed export again.
    pub async fn admin_retry_export(&self, p: &Principal, id: i64) -> AppResult<()> {
        p.require_admin()?;
        match self.store.retry_export(id, self.now()).await? {
            Some(e) if e.state == ExportState::Pending => {
                self.wake.notify_one();
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
                let acc = self.access.calendar_account(p, account).await?;
                if acc.user_id != p.user.id {
                    return Err(AppError::Forbidden("auto-sync uses one of your own calendar accounts".into()));
                }
                let c = self.access.connectivity().await?;
                self.access.export_allowed(&c, p)?;
                if let Some(cal) = calendar {
                    self.access.choose_calendar(p, account, &cal).await?;
                }
                self.store.set_auto_sync(p.user.id, Some(account), keep_done, self.now()).await?;
            }
            None => self.store.set_auto_sync(p.user.id, None, false, self.now()).await?,
        }
        self.wake.notify_one();
        self.store.user(p.user.id).await?.ok_or_else(|| AppError::NotFound("user".into()))
    }

    /// Brings one user's calendar up to date (`flowcal export sync`): their
    /// auto-synced exports are brought in line with their tasks (with
    /// `account`, auto-sync is turned on for it first), then every due export
    /// is delivered here. `progress(done, total)` after each delivery. Safe to
    /// run twice: the second run finds nothing changed.
    ///
    /// The summary counts each export that was due when it began (and each
    /// other one of the user's it delivered) once, by where it ended, also
    /// when other processes deliver some of them meanwhile.
    pub async fn export_sync(
        &self,
        login: &str,
        account: Option<i64>,
        mut progress: impl FnMut(usize, usize),
    ) -> AppResult<SyncSummary> {
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
        // Each export counted, with what this run did to it last.
        let mut counted: BTreeMap<i64, Option<Delivered>> = self
            .store
            .exports_of(user.id)
            .await?
            .iter()
            .filter(|e| e.state == ExportState::Pending && e.not_before <= now)
            .map(|e| (e.id, None))
            .collect();
        let mut done = 0;
        progress(0, counted.len());
        // How long to wait for exports held by others (a dead worker's lease).
        let patience = Duration::from_secs(self.lease_seconds + 5);
        let mut last_progress = std::time::Instant::now();
        loop {
            let report = self.delivery.deliver_due_report(&self.delivery.worker_id).await.map_err(AppError::from)?;
            let mut mine = 0;
            for (e, what) in &report {
                if e.user_id == user.id {
                    mine += 1;
                    if counted.insert(e.id, Some(*what)).is_none_or(|before| before.is_none()) {
                        done += 1;
                    }
                    progress(done.min(counted.len()), counted.len());
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
                if e.state == ExportState::Pending && e.not_before <= now {
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
        // Where each one ended.
        let now = self.now();
        let at_end: BTreeMap<i64, ExportRecord> =
            self.store.exports_of(user.id).await?.into_iter().map(|e| (e.id, e)).collect();
        let mut summary = SyncSummary::default();
        // Each account read once, however many of its exports are counted.
        let mut accounts: BTreeMap<i64, bool> = BTreeMap::new();
        for (id, here) in counted {
            let end = at_end.get(&id);
            let active = match end {
                Some(e) => match accounts.get(&e.account_id) {
                    Some(active) => *active,
                    None => {
                        let active = self
                            .store
                            .account(e.account_id)
                            .await?
                            .is_some_and(|a| a.status == flowcal_store::AccountStatus::Active);
                        accounts.insert(e.account_id, active);
                        active
                    }
                },
                None => true,
            };
            summary.count(SyncSummary::ended(end.map(|e| (e.state, e.not_before > now)), here, active));
        }
        Ok(summary)
    }

    /// One worker pass: claims due exports and delivers them; returns how many.
    pub async fn deliver_due(&self) -> AppResult<usize> {
        Ok(self.delivery.deliver_due_report(&self.delivery.worker_id).await.map_err(AppError::from)?.len())
    }
    /// The calendar entry for a step's deadline, as `p` would export it.
    pub async fn deadline_entry(&self, p: &Principal, task: TaskId, sequence: u32) -> AppResult<EventSpec> {
        let t = self.workflow.task(p, task).await?;
        let c = self.access.connectivity().await?;
        self.deadline_entry_of(p, &t, sequence, &c).await
    }

    /// [`Exports::deadline_entry`] for a task read already, under the connectivity settings `c`.
    pub(crate) async fn deadline_entry_of(
        &self,
        p: &Principal,
        t: &flowcal_store::TaskRecord,
        sequence: u32,
        c: &Connectivity,
    ) -> AppResult<EventSpec> {
        let (model, _) = self.workflow.model(t.model_id).await?;
        Ok(deadline_entry(t, &model.name, &self.entry_context(&p.user, c), sequence)?)
    }

    /// What entries for `user` take from the settings.
    pub(crate) fn entry_context<'a>(&'a self, user: &'a User, c: &Connectivity) -> EntryContext<'a> {
        EntryContext {
            user,
            public_url: &self.public_url,
            time_zone: &self.time_zone,
            event_minutes: c.calendar_export.event_minutes,
            now: self.now(),
        }
    }

    /// The calendar entry for a date or datetime item of an instance.
    pub async fn item_entry(
        &self,
        p: &Principal,
        instance: InstanceId,
        key: &str,
        sequence: u32,
    ) -> AppResult<EventSpec> {
        let c = self.access.connectivity().await?;
        self.item_entry_in(p, instance, key, sequence, &c).await
    }

    /// [`Exports::item_entry`] under the connectivity settings `c`.
    pub(crate) async fn item_entry_in(
        &self,
        p: &Principal,
        instance: InstanceId,
        key: &str,
        sequence: u32,
        c: &Connectivity,
    ) -> AppResult<EventSpec> {
        let view = self.workflow.instance(p, instance).await?;
        let (_, model) = self.workflow.model(view.instance.model_id).await?;
        Ok(item_entry(&view.instance, &view.model.name, &model, key, &self.entry_context(&p.user, c), sequence)?)
    }
}

/// A delivery's failure, for the callers in the API: the CLI's `export sync`,
/// a worker pass run on request.
impl From<DeliveryError> for AppError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::RetryAfter(_, m) => AppError::Unavailable(m),
            DeliveryError::NeedsReauthorization(m) => AppError::Conflict(m),
            DeliveryError::Gone(m) => AppError::NotFound(m),
            DeliveryError::Permanent(m) => AppError::Unprocessable(m),
            DeliveryError::Store(e) => e.into(),
        }
    }
}

/// What `flowcal export sync` did: each export counted once, by where it
/// ended. The counts add up to [`SyncSummary::total`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    counts: BTreeMap<&'static str, usize>,
}

impl SyncSummary {
    /// The words of the summary, in the order it tells them; the first
    /// six are in the calendar as asked (an entry its owner deleted in the
    /// calendar stays deleted).
    pub const OUTCOMES: [&'static str; 10] = [
        "created",
        "updated",
        "unchanged",
        "removed",
        "elsewhere",
        "deleted_in_calendar",
        "failed",
        "retried",
        "waiting",
        "pending",
    ];

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_insert(0) += 1;
    }

    /// Where an export ended: its state at the end (with whether its next
    /// attempt is later), what this run did to it last, and whether its
    /// account is active.
    fn ended(end: Option<(ExportState, bool)>, here: Option<Delivered>, active: bool) -> &'static str {
        match (end, here) {
            (Some((ExportState::Synced, _)), Some(Delivered::Created)) => "created",
            (Some((ExportState::Synced, _)), Some(Delivered::Updated)) => "updated",
            (Some((ExportState::Synced, _)), Some(Delivered::Unchanged)) => "unchanged",
            (Some((ExportState::Removed, _)) | None, Some(Delivered::Removed)) => "removed",
            // In the calendar as asked, by another process.
            (Some((ExportState::Synced | ExportState::Removed, _)) | None, _) => "elsewhere",
            (Some((ExportState::RemovedInCalendar, _)), _) => "deleted_in_calendar",
            (Some((ExportState::Failed, _)), _) => "failed",
            (Some((ExportState::Waiting, _)), _) => "waiting",
            (Some((ExportState::Pending, _)), _) if !active => "waiting",
            (Some((ExportState::Pending, _)), Some(Delivered::Waiting)) => "waiting",
            (Some((ExportState::Pending, true)), _) => "retried",
            (Some((ExportState::Pending, false)), _) => "pending",
        }
    }

    /// How many ended as `what` (one of [`SyncSummary::OUTCOMES`]).
    pub fn get(&self, what: &str) -> Option<&usize> {
        self.counts.get(what)
    }

    /// How many exports it counted.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// How many are not in the calendar as asked: failed, to be retried,
    /// waiting for a reconnect, or still due when it stopped waiting.
    pub fn not_done(&self) -> usize {
        ["failed", "retried", "waiting", "pending"].iter().filter_map(|k| self.counts.get(k)).sum()
    }

    /// One line: every count, in order.
    pub fn line(&self) -> String {
        let n = |k: &str| self.counts.get(k).copied().unwrap_or(0);
        format!(
            "{} entries: created {}, updated {}, unchanged {}, removed {}, done by another flowcal process {}, \
             deleted in the calendar (respected) {}, failed {}, to retry {}, waiting for a reconnect {}, still due {}",
            self.total(),
            n("created"),
            n("updated"),
            n("unchanged"),
            n("removed"),
            n("elsewhere"),
            n("deleted_in_calendar"),
            n("failed"),
            n("retried"),
            n("waiting"),
            n("pending")
        )
    }
}
