//! The calendar talks back: each account's calendar is read for what people
//! changed in flowcal's entries there, and the process's policies decide
//! (`flowcal_domain::calendar_edits`): an entry deleted there is respected
//! (`removed_in_calendar`, never made again by later changes; *Add again*)
//! or made again; one moved there is proposed to its owner (*use this date*
//! / *keep*), accepted where the owner may change the date, or put back.
//!
//! Reads are claimed per account with a lease (any number of processes),
//! on an interval with jitter; a read asks only for what changed since the
//! last (the service's sync token), so an idle account costs one small
//! request. One account's read never holds up another's: they run side by
//! side up to `[calendar_sync] concurrency`, each bounded in time.

use crate::access::calendars::{AccountSession, ConnectorFuture, Fail};
use crate::access::Access;
use crate::clock::Clock;
use crate::config::CalendarSyncConfig;
use crate::error::{AppError, AppResult};
use crate::models::Models;
use crate::principal::Principal;
use crate::workflow::{may_change_dates, CalendarDate, Workflow};
use flowcal_calendar::{AnyConnector, CalendarChanges, ChangedEntry, Connector, Remote, Watch, WatchRequest, When};
use flowcal_domain::calendar_edits::{react, EditPolicy, Reaction, Seen};
use flowcal_domain::export::ExportSource;
use flowcal_domain::ModelId;
use flowcal_store::{Channel, ExportRecord, ReadClaim, ReadOutcome, RemoteChange, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Accounts one pass claims.
const BATCH: i64 = 50;

/// How long one account's read may take (every call has its own timeout too).
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The lease on a claimed read: longer than a read may take.
const LEASE: SignedDuration = SignedDuration::from_secs(300);

/// Exports of a complete listing compared at once.
const PAGE: i64 = 500;

/// What one read did, counted (for the log, `/metrics` and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Accounts read, and those whose read failed.
    pub read: u64,
    pub failed: u64,
    /// Entries found deleted, moved, or only edited (title, description).
    pub deleted: u64,
    pub moved: u64,
    pub edited: u64,
}

impl ReadSummary {
    fn add(&mut self, o: &ReadSummary) {
        self.read += o.read;
        self.failed += o.failed;
        self.deleted += o.deleted;
        self.moved += o.moved;
        self.edited += o.edited;
    }
}

/// The reading service.
#[derive(Debug)]
pub struct CalendarSync {
    store: Store,
    clock: Arc<dyn Clock>,
    config: CalendarSyncConfig,
    access: Arc<Access>,
    workflow: Arc<Workflow>,
    models: Arc<Models>,
    /// Wakes the delivery workers when a read asks for an entry to go out.
    wake: Arc<tokio::sync::Notify>,
    /// Rung to read an account at once (push notifications).
    read_now: tokio::sync::Notify,
    /// Names this process's reads (leases).
    owner: String,
    /// Where push notifications are sent to (https), if anywhere.
    push_base: Option<String>,
    /// Reads by this process, by account kind: (reads, failed).
    counts: std::sync::Mutex<BTreeMap<String, (u64, u64)>>,
}

impl CalendarSync {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: CalendarSyncConfig,
        access: Arc<Access>,
        workflow: Arc<Workflow>,
        models: Arc<Models>,
        wake: Arc<tokio::sync::Notify>,
        public_url: String,
    ) -> Self {
        let push_base = config.push_base(&public_url);
        CalendarSync {
            store,
            clock,
            config,
            access,
            workflow,
            models,
            wake,
            read_now: tokio::sync::Notify::new(),
            owner: crate::secrets::new_token("r"),
            push_base,
            counts: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Reads by this process so far, by account kind: (reads, failed).
    pub fn counts(&self) -> BTreeMap<String, (u64, u64)> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Gives back the reads this process holds (after its loop stopped).
    pub async fn hand_back(&self) -> Result<u64, StoreError> {
        self.store.hand_back_reads(&self.owner).await
    }

    /// The account's calendar is read at once (a push notification said it
    /// changed; a wake-up only triggers the read, the sync token is the truth).
    pub async fn wake_account(&self, account: i64) -> Result<(), StoreError> {
        self.store.read_soon(account, self.now()).await?;
        self.read_now.notify_one();
        Ok(())
    }

    /// Reads every account whose read is due, side by side; what they found.
    pub async fn read_due(self: &Arc<Self>) -> Result<ReadSummary, StoreError> {
        let mut total = ReadSummary::default();
        loop {
            let now = self.now();
            let claims = self.store.claim_reads(&self.owner, now, now + LEASE, BATCH).await?;
            if claims.is_empty() {
                return Ok(total);
            }
            let n = claims.len();
            let limit = usize::try_from(self.config.concurrency).unwrap_or(8).max(1);
            let mut running = tokio::task::JoinSet::new();
            let mut failure = None;
            for c in claims {
                while running.len() >= limit {
                    if let Some(r) = running.join_next().await {
                        collect(r, &mut total, &mut failure);
                    }
                }
                let me = self.clone();
                running.spawn(async move { me.read_claimed(c).await });
            }
            while let Some(r) = running.join_next().await {
                collect(r, &mut total, &mut failure);
            }
            if let Some(e) = failure {
                return Err(e);
            }
            if n < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(total);
            }
        }
    }

    /// Reads calendars until `shutdown` completes: every few seconds, the
    /// accounts whose read came due, and at once when woken.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        if self.config.interval_seconds == 0 {
            return;
        }
        tokio::pin!(shutdown);
        loop {
            match self.read_due().await {
                Ok(s) if s.read > 0 => tracing::debug!(?s, "calendar read pass"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "reading calendars failed"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.read_now.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    /// When the account is read next: one interval (±20 %) from now.
    fn next_read(&self) -> Timestamp {
        let base = self.config.interval_seconds.max(1) as f64;
        let secs = rand::thread_rng().gen_range(base * 0.8..=base * 1.2);
        let d = SignedDuration::try_from(Duration::from_secs_f64(secs)).unwrap_or(SignedDuration::from_secs(300));
        self.now().checked_add(d).unwrap_or(Timestamp::MAX)
    }

    /// One claimed account: read, decided, recorded; a failure is the
    /// account's (kept as its read error), never the pass's.
    async fn read_claimed(&self, claim: ReadClaim) -> Result<ReadSummary, StoreError> {
        let account = claim.account_id;
        let (kind, outcome, summary) = match tokio::time::timeout(READ_TIMEOUT, self.read_account(&claim)).await {
            Ok(Ok((kind, calendar, token, summary))) => (kind, ReadOutcome::Read { calendar, token }, summary),
            Ok(Err((kind, why))) => {
                tracing::info!(account, error = %why, "reading the calendar failed; trying again later");
                (kind, ReadOutcome::Failed { error: why }, ReadSummary { failed: 1, ..ReadSummary::default() })
            }
            Err(_) => (
                "none".to_owned(),
                ReadOutcome::Failed { error: format!("the read took longer than {} s", READ_TIMEOUT.as_secs()) },
                ReadSummary { failed: 1, ..ReadSummary::default() },
            ),
        };
        {
            let mut m = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let c = m.entry(kind).or_insert((0, 0));
            c.0 += 1;
            c.1 += summary.failed;
        }
        if !self.store.finish_read(account, &self.owner, outcome, self.next_read(), self.now()).await? {
            tracing::warn!(account, "the lease on a calendar read ran out before it was recorded");
        }
        Ok(ReadSummary { read: 1, ..summary })
    }

    /// Reads the account's calendar and acts on what changed: the kind, the
    /// calendar read and the token to go on from, and what was found; or
    /// why it failed.
    async fn read_account(
        &self,
        claim: &ReadClaim,
    ) -> Result<(String, String, Option<String>, ReadSummary), (String, String)> {
        let fail = |kind: &str, why: String| (kind.to_owned(), why);
        let acc = match self.store.account(claim.account_id).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(fail("none", "the calendar account was disconnected".into())),
            Err(e) => return Err(fail("none", e.to_string())),
        };
        let kind = acc.kind.to_string();
        let Some(calendar) = acc.calendar.clone() else {
            return Err(fail(&kind, "the account has no calendar yet".into()));
        };
        let connectivity = self.access.connectivity().await.map_err(|e| fail(&kind, e.to_string()))?;
        let user = match self.store.user(acc.user_id).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(fail(&kind, "the account's user is gone".into())),
            Err(e) => return Err(fail(&kind, e.to_string())),
        };
        // A token of another calendar (the user chose a new one) is not used.
        let token = claim.token.clone().filter(|_| claim.calendar.as_deref() == Some(calendar.as_str()));
        let started = self.now();
        let mut session = AccountSession::new(&self.access, acc, &connectivity);
        let (cal, tok) = (calendar.clone(), token.clone());
        let changes =
            session.call(move |c| changes(c, cal.clone(), tok.clone())).await.map_err(|f| fail(&kind, describe(f)))?;
        let mut reader = Reader { sync: self, session, calendar: calendar.clone(), user, policies: BTreeMap::new() };
        let summary =
            reader.apply(&changes, claim.account_id, started).await.map_err(|e| fail(&kind, e.to_string()))?;
        // Push, where the service offers it: started, renewed before it ends.
        self.keep_watch(&mut reader.session, claim.account_id, &kind, &calendar).await;
        if summary.deleted + summary.moved > 0 {
            self.wake.notify_waiters();
        }
        Ok((kind, calendar, changes.token, summary))
    }

    /// The process's policies for an export's entry (its model's
    /// `flowcal:calendarEdits` over the configuration).
    async fn policy_of(&self, model: ModelId) -> EditPolicy {
        let configured = self.config.policy();
        match self.models.get(model).await {
            Ok((_, m)) => m.calendar_edits.over(configured),
            Err(_) => configured,
        }
    }

    // ---- push -------------------------------------------------------------------------------

    /// Where the services send notifications (`[calendar_sync] push_url`,
    /// else `public_url` when https), else none: reads on the interval only.
    fn push_base(&self) -> Option<&str> {
        self.push_base.as_deref()
    }

    /// Starts the account's push channel, or renews it before it ends; a
    /// channel of another calendar is stopped. A failure is logged: the
    /// interval reads go on regardless.
    async fn keep_watch(&self, session: &mut AccountSession<'_>, account: i64, kind: &str, calendar: &str) {
        let Some(base) = self.push_base() else { return };
        let now = self.now();
        let existing = match self.store.channel(account).await {
            Ok(c) => c,
            Err(e) => return tracing::warn!(account, error = %e, "cannot read the push channel"),
        };
        let renew_from = |c: &Channel| c.expires_at - RENEW_MARGIN;
        if let Some(c) = &existing {
            if c.calendar == calendar && now < renew_from(c) {
                return;
            }
            if c.calendar == calendar {
                let w = watch_of(c);
                match session.call(move |conn| renew(conn, w.clone())).await {
                    Ok(Some(renewed)) => {
                        if let Err(e) = self.store.renew_channel(c.channel_id.clone(), renewed.expires_at, now).await {
                            tracing::warn!(account, error = %e, "cannot record a renewed push channel");
                        }
                        return;
                    }
                    Ok(None) => {}
                    Err(f) => {
                        tracing::info!(account, error = %describe(f), "renewing the push channel failed; starting a new one")
                    }
                }
            }
        }
        let (id, secret) = (crate::secrets::new_token("ch"), crate::secrets::new_token(""));
        let address = format!("{base}/push/{kind}");
        let lifecycle = format!("{base}/push/{kind}?lifecycle=1");
        let (cal, a, l, i, sct) = (calendar.to_owned(), address.clone(), lifecycle.clone(), id.clone(), secret.clone());
        let started = session
            .call(move |conn| {
                let (cal, a, l, i, sct) = (cal.clone(), a.clone(), l.clone(), i.clone(), sct.clone());
                Box::pin(async move {
                    let req =
                        WatchRequest { address: &a, lifecycle_address: &l, id: &i, secret: &sct, ttl: CHANNEL_TTL };
                    conn.watch(&cal, &req).await
                })
            })
            .await;
        match started {
            Ok(Some(w)) => {
                let ch = Channel {
                    account_id: account,
                    channel_id: w.id.clone(),
                    resource_id: w.resource_id.clone(),
                    calendar: calendar.to_owned(),
                    secret_hash: crate::secrets::token_hash(&secret),
                    expires_at: w.expires_at,
                };
                if let Err(e) = self.store.put_channel(ch, now).await {
                    tracing::warn!(account, error = %e, "cannot record a push channel");
                }
                tracing::info!(account, channel = %w.id, expires = %w.expires_at, "push channel started");
            }
            Ok(None) => return,
            Err(f) => {
                return tracing::info!(account, error = %describe(f), "cannot start a push channel; reading on the interval")
            }
        }
        // The channel it replaces is stopped.
        if let Some(old) = existing {
            let w = watch_of(&old);
            if let Err(f) = session.call(move |conn| unwatch(conn, w.clone())).await {
                tracing::info!(account, error = %describe(f), "cannot stop a replaced push channel; it ends by itself");
            }
        }
    }

    /// A Google notification (`X-Goog-Channel-ID`, `X-Goog-Channel-Token`,
    /// `X-Goog-Resource-State`): a channel flowcal knows, with its secret,
    /// makes the account's read due. Anything else changes nothing.
    pub async fn google_notification(&self, channel: &str, token: &str, state: &str) -> Result<bool, StoreError> {
        let Some(ch) = self.known_channel(channel, token).await? else { return Ok(false) };
        // "sync" only says the channel works.
        if state != "sync" {
            self.wake_account(ch.account_id).await?;
        }
        Ok(true)
    }

    /// Graph notifications (a `value` array of change or lifecycle
    /// notifications, each with `subscriptionId` and `clientState`), read
    /// off the async workers and bounded: those of known subscriptions with
    /// their secret make the read due; `reauthorizationRequired` renews the
    /// subscription at that read, `subscriptionRemoved` starts a new one.
    /// Returns how many were accepted.
    pub async fn graph_notifications(&self, body: bytes::Bytes) -> Result<usize, AppError> {
        let items = tokio::task::spawn_blocking(move || parse_graph_notifications(&body))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("parsing notifications: {e}")))?
            .map_err(AppError::BadRequest)?;
        // Graph sends many notifications of one subscription together: each
        // subscription is looked up once, so the answer stays quick.
        let mut items = items;
        items.sort_by(|a, b| {
            (&a.subscription, &a.client_state, &a.lifecycle).cmp(&(&b.subscription, &b.client_state, &b.lifecycle))
        });
        items.dedup();
        let mut accepted = 0;
        for n in items {
            let Some(ch) = self.known_channel(&n.subscription, &n.client_state).await? else { continue };
            match n.lifecycle.as_deref() {
                Some("subscriptionRemoved") => self.store.delete_channel(ch.channel_id.clone()).await?,
                // Renewed at the read this makes due.
                Some("reauthorizationRequired") => {
                    self.store.renew_channel(ch.channel_id.clone(), self.now(), self.now()).await?
                }
                _ => {}
            }
            self.wake_account(ch.account_id).await?;
            accepted += 1;
        }
        Ok(accepted)
    }

    /// The channel `id` when `secret` is its own.
    async fn known_channel(&self, id: &str, secret: &str) -> Result<Option<Channel>, StoreError> {
        if id.is_empty() || id.len() > 256 || secret.is_empty() || secret.len() > 256 {
            return Ok(None);
        }
        let Some(ch) = self.store.channel_by_id(id.to_owned()).await? else {
            tracing::debug!(channel = id, "a notification for no channel of flowcal's");
            return Ok(None);
        };
        if crate::secrets::token_hash(secret) != ch.secret_hash {
            tracing::warn!(channel = id, "a notification with a wrong secret was ignored");
            return Ok(None);
        }
        Ok(Some(ch))
    }

    // ---- the owner's decisions ---------------------------------------------------------------

    /// *Use this date*: the move in the calendar becomes the date item's
    /// value or the step's deadline, and the entry stays where it was moved.
    pub async fn accept_remote(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        let e = self.own_export(p, id).await?;
        let held = e.held_start.clone().ok_or_else(|| AppError::Conflict(format!("export {id} has no move to use")))?;
        self.use_move(&p.user, &e, &held).await?;
        let e =
            self.store.move_used(id, self.now()).await?.ok_or_else(|| AppError::NotFound(format!("export {id}")))?;
        self.wake.notify_waiters();
        Ok(e)
    }

    /// *Keep*: flowcal's date stays, and the entry goes back to it.
    pub async fn keep_local(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        self.own_export(p, id).await?;
        let e = self
            .store
            .keep_local(id, self.now())
            .await?
            .ok_or_else(|| AppError::Conflict(format!("export {id} has no move to keep from")))?;
        self.wake.notify_waiters();
        Ok(e)
    }

    async fn own_export(&self, p: &Principal, id: i64) -> AppResult<ExportRecord> {
        match self.store.export(id).await? {
            Some(e) if e.user_id == p.user.id => Ok(e),
            Some(_) if p.is_admin() => {
                Err(AppError::Forbidden("only the export's owner decides about its calendar".into()))
            }
            _ => Err(AppError::NotFound(format!("export {id}"))),
        }
    }

    /// Makes the moved start `held` the instance's date for `user`.
    async fn use_move(&self, user: &flowcal_store::User, e: &ExportRecord, held: &str) -> AppResult<()> {
        let start = When::from_stored(held)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("export {} holds an unreadable start", e.id)))?;
        let instance = flowcal_domain::InstanceId(e.instance_id);
        let target = match &e.source {
            ExportSource::TaskDeadline(task) => CalendarDate::Deadline(*task),
            ExportSource::InstanceItem { key, .. } => CalendarDate::Item(key),
        };
        self.workflow.use_calendar_date(user, instance, target, &start).await?;
        Ok(())
    }

    /// Whether the export's owner may change the date its entry shows.
    async fn may_change(&self, user: &flowcal_store::User, e: &ExportRecord) -> bool {
        match self.store.instance(flowcal_domain::InstanceId(e.instance_id)).await {
            Ok(Some(i)) => may_change_dates(user, &i),
            _ => false,
        }
    }
}

/// One account's read in progress.
struct Reader<'a> {
    sync: &'a CalendarSync,
    session: AccountSession<'a>,
    calendar: String,
    user: flowcal_store::User,
    /// Policies by model, read once per read.
    policies: BTreeMap<i64, EditPolicy>,
}

impl Reader<'_> {
    /// Acts on the changes read: each export whose entry was deleted or
    /// changed, and with a complete listing each one not in it.
    async fn apply(
        &mut self,
        changes: &CalendarChanges,
        account: i64,
        started: Timestamp,
    ) -> Result<ReadSummary, StoreError> {
        let mut summary = ReadSummary::default();
        let deleted: BTreeSet<&str> = changes.deleted.iter().map(String::as_str).collect();
        let changed: BTreeMap<&str, &ChangedEntry> = changes.changed.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut ids: Vec<String> = changes.deleted.clone();
        ids.extend(changes.changed.iter().map(|c| c.id.clone()));
        if !ids.is_empty() {
            for e in self.sync.store.exports_seen_as(account, ids).await? {
                let entry =
                    changed.get(e.event_key.as_str()).or_else(|| e.remote_id.as_deref().and_then(|r| changed.get(r)));
                let gone = deleted.contains(e.event_key.as_str())
                    || e.remote_id.as_deref().is_some_and(|r| deleted.contains(r));
                match (entry, gone) {
                    (Some(c), _) => self.changed(&e, c, &mut summary).await?,
                    // Read to be sure: a service may report an entry that left
                    // its window (Graph), or was deleted and made again, as removed.
                    (None, true) => self.changed(&e, &unsure(&e), &mut summary).await?,
                    (None, false) => {}
                }
            }
        }
        if changes.complete {
            // Every entry of flowcal's is listed: one not listed is gone.
            // Only exports delivered before the listing began count.
            let mut after = 0;
            loop {
                let page =
                    self.sync.store.exports_in_calendar(account, self.calendar.clone(), started, after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for e in &page {
                    let listed = changed.contains_key(e.event_key.as_str())
                        || e.remote_id.as_deref().is_some_and(|r| changed.contains_key(r));
                    if !listed {
                        self.changed(e, &unsure(e), &mut summary).await?;
                    }
                }
                if page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                    break;
                }
            }
        }
        Ok(summary)
    }

    /// An entry the read reports as made or changed.
    async fn changed(
        &mut self,
        e: &ExportRecord,
        c: &ChangedEntry,
        summary: &mut ReadSummary,
    ) -> Result<(), StoreError> {
        if c.etag.is_some() && c.etag == e.etag {
            // The version flowcal wrote (or saw last).
            return Ok(());
        }
        let (start, etag) = match &c.start {
            Some(s) => (s.clone(), c.etag.clone()),
            None => {
                let (cal, key) = (self.calendar.clone(), e.event_key.clone());
                let known = e.remote_id.clone().map(|id| Remote { id, etag: None });
                match self.session.call(move |conn| get(conn, cal.clone(), key.clone(), known.clone())).await {
                    Ok(Some(ev)) if !ev.cancelled => (ev.when, ev.remote.etag.or_else(|| c.etag.clone())),
                    Ok(_) => return self.decide(e, Seen::Gone, None, None, summary).await,
                    Err(f) => {
                        // Read again next time (the version is not noted).
                        tracing::info!(export = e.id, error = %describe(f), "cannot read a changed entry; next read");
                        return Ok(());
                    }
                }
            }
        };
        // Where the calendar should have it: the move waiting for a decision, else what flowcal wrote.
        let expected = e.held_start.as_deref().or(e.written_start.as_deref()).and_then(When::from_stored);
        let seen = match expected {
            Some(x) if !x.same_start(&start) => Seen::Moved,
            _ => Seen::InPlace,
        };
        self.decide(e, seen, Some(start), etag, summary).await
    }

    /// Applies the policy to what was seen of an export's entry.
    async fn decide(
        &mut self,
        e: &ExportRecord,
        seen: Seen,
        start: Option<When>,
        etag: Option<String>,
        summary: &mut ReadSummary,
    ) -> Result<(), StoreError> {
        let policy = self.policy(e).await?;
        let may_change = seen == Seen::Moved && self.sync.may_change(&self.user, e).await;
        let reaction = react(seen, policy, may_change);
        let stored = start.as_ref().map(When::stored).unwrap_or_default();
        let change = match reaction {
            Reaction::Note => RemoteChange::Seen { etag },
            Reaction::Forget => RemoteChange::Forget,
            Reaction::MakeAgain => RemoteChange::MakeAgain,
            Reaction::Propose | Reaction::Apply => RemoteChange::Hold { start: stored.clone(), etag },
            Reaction::PutBack => RemoteChange::PutBack { etag },
        };
        let recorded = self.sync.store.remote_change(e.id, e.version, change, self.sync.now()).await?;
        if !recorded {
            // Changed meanwhile (a delivery, the task): the next read looks again.
            return Ok(());
        }
        match seen {
            Seen::Gone => summary.deleted += 1,
            Seen::Moved => summary.moved += 1,
            Seen::InPlace => summary.edited += 1,
        }
        tracing::info!(export = e.id, ?seen, ?reaction, "a change in the calendar");
        if reaction == Reaction::Apply {
            // Used at once; should the change be refused now, the move stays proposed.
            if let Err(err) = self.sync.use_move(&self.user, e, &stored).await {
                tracing::info!(export = e.id, error = %err, "a move in the calendar could not be used; it is proposed");
                return Ok(());
            }
            self.sync.store.move_used(e.id, self.sync.now()).await?;
        }
        Ok(())
    }

    async fn policy(&mut self, e: &ExportRecord) -> Result<EditPolicy, StoreError> {
        let instance = self.sync.store.instance(flowcal_domain::InstanceId(e.instance_id)).await?;
        let Some(model) = instance.map(|i| i.model_id) else { return Ok(self.sync.config.policy()) };
        if let Some(p) = self.policies.get(&model.0) {
            return Ok(*p);
        }
        let p = self.sync.policy_of(model).await;
        self.policies.insert(model.0, p);
        Ok(p)
    }
}

/// An entry reported gone, to be read before it counts as gone.
fn unsure(e: &ExportRecord) -> ChangedEntry {
    ChangedEntry { id: e.event_key.clone(), etag: None, start: None }
}

/// Adds a finished read to the pass's summary, or keeps its store failure.
fn collect(
    r: Result<Result<ReadSummary, StoreError>, tokio::task::JoinError>,
    total: &mut ReadSummary,
    failure: &mut Option<StoreError>,
) {
    match r {
        Ok(Ok(s)) => total.add(&s),
        Ok(Err(e)) => *failure = Some(e),
        Err(e) => tracing::error!(error = %e, "a calendar read stopped"),
    }
}

/// How long a push channel is asked to last (services may give less: Graph
/// keeps subscriptions to events for at most about three days).
const CHANNEL_TTL: Duration = Duration::from_secs(3 * 24 * 3600);

/// A channel is renewed at the first read this long before it ends.
const RENEW_MARGIN: SignedDuration = SignedDuration::from_hours(12);

/// The most notifications one Graph request may carry, and its largest body.
const MAX_NOTIFICATIONS: usize = 1000;
pub const MAX_NOTIFICATION_BYTES: usize = 1 << 20;

/// One Graph notification, as far as flowcal reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GraphNotification {
    subscription: String,
    client_state: String,
    /// `reauthorizationRequired`, `subscriptionRemoved`, `missed` (lifecycle).
    lifecycle: Option<String>,
}

/// Reads a Graph notification body: `{"value": [{"subscriptionId",
/// "clientState", "lifecycleEvent"?}, …]}`; other fields are ignored.
fn parse_graph_notifications(body: &[u8]) -> Result<Vec<GraphNotification>, String> {
    #[derive(serde::Deserialize)]
    struct Body {
        value: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        #[serde(default)]
        subscription_id: String,
        #[serde(default)]
        client_state: Option<String>,
        #[serde(default)]
        lifecycle_event: Option<String>,
    }
    if body.len() > MAX_NOTIFICATION_BYTES {
        return Err(format!("notifications larger than {} KiB", MAX_NOTIFICATION_BYTES >> 10));
    }
    let b: Body = serde_json::from_slice(body).map_err(|e| format!("not a notification: {e}"))?;
    if b.value.len() > MAX_NOTIFICATIONS {
        return Err(format!("more than {MAX_NOTIFICATIONS} notifications at once"));
    }
    Ok(b.value
        .into_iter()
        .map(|i| GraphNotification {
            subscription: i.subscription_id,
            client_state: i.client_state.unwrap_or_default(),
            lifecycle: i.lifecycle_event,
        })
        .collect())
}

fn watch_of(c: &Channel) -> Watch {
    Watch { id: c.channel_id.clone(), resource_id: c.resource_id.clone(), expires_at: c.expires_at }
}

fn renew(c: &AnyConnector, w: Watch) -> ConnectorFuture<'_, Option<Watch>> {
    Box::pin(async move { c.renew_watch(&w, CHANNEL_TTL).await })
}

fn unwatch(c: &AnyConnector, w: Watch) -> ConnectorFuture<'_, ()> {
    Box::pin(async move { c.unwatch(&w).await })
}

/// A failed call, in words for the account's read error.
fn describe(f: Fail) -> String {
    match f {
        Fail::Connector(e) => e.to_string(),
        Fail::Access(e) => e.to_string(),
    }
}

fn changes(c: &AnyConnector, calendar: String, token: Option<String>) -> ConnectorFuture<'_, CalendarChanges> {
    Box::pin(async move { c.changes(&calendar, token.as_deref()).await })
}

fn get(
    c: &AnyConnector,
    calendar: String,
    key: String,
    known: Option<Remote>,
) -> ConnectorFuture<'_, Option<flowcal_calendar::RemoteEvent>> {
    Box::pin(async move { c.get_event(&calendar, &key, known.as_ref()).await })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_notifications_are_read_and_bounded() {
        let body = br#"{"value": [
            {"subscriptionId": "s1", "clientState": "secret", "changeType": "updated", "resource": "me/events/x"},
            {"subscriptionId": "s2", "clientState": "other", "lifecycleEvent": "reauthorizationRequired"},
            {"changeType": "deleted"}
        ]}"#;
        let n = parse_graph_notifications(body).unwrap();
        assert_eq!(
            n,
            vec![
                GraphNotification { subscription: "s1".into(), client_state: "secret".into(), lifecycle: None },
                GraphNotification {
                    subscription: "s2".into(),
                    client_state: "other".into(),
                    lifecycle: Some("reauthorizationRequired".into())
                },
                GraphNotification { subscription: String::new(), client_state: String::new(), lifecycle: None },
            ]
        );
        for bad in [&b"not json"[..], b"{}", b"{\"value\": 3}", b"[]"] {
            assert!(parse_graph_notifications(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let many = format!("{{\"value\": [{}]}}", vec!["{}"; MAX_NOTIFICATIONS + 1].join(","));
        assert!(parse_graph_notifications(many.as_bytes()).unwrap_err().contains("more than"));
        let huge = format!("{{\"value\": [], \"x\": \"{}\"}}", "a".repeat(MAX_NOTIFICATION_BYTES));
        assert!(parse_graph_notifications(huge.as_bytes()).unwrap_err().contains("larger than"));
    }
}
