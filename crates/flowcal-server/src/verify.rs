//! `flowcal export verify --user LOGIN [--repair]`, and the administrator's
//! *Verify calendars*: each calendar a user's entries go to compared with
//! what flowcal should have put there, and repaired on request.
//!
//! Per calendar account of the user, in the account's current calendar:
//! - **missing**: an export that wants its entry there and was delivered
//!   (`present`, `synced`) whose entry is not there. An entry the user
//!   deleted in the calendar (`removed_in_calendar`) is not missing: it is
//!   counted as respected, never made again.
//! - **extra**: an entry of flowcal's form in the calendar (CalDAV: a UID
//!   `{key}@flowcal`, whatever the resource's name; Google, Microsoft Graph:
//!   what their reading of changes lists) that no export wants there. A
//!   **duplicate** is an extra entry with the key of an export that wants
//!   its entry there: a copy of it under another name (the original is
//!   fine). An entry another user's export wants in the same calendar (a
//!   shared one) is theirs, not extra.
//! - **different**: a delivered entry whose title, description, start or
//!   end differs from what delivery would write now.
//!
//! Repairing deletes extra entries first (each by its own resource or id,
//! never the original, and only while it is as listed), since a copy can
//! stand in the way of making its original again (servers that keep UIDs
//! unique); then a missing entry's export goes out again as new (pending,
//! its content hash and remote forgotten) and a different one's is written
//! again (pending, its content hash forgotten), and they are delivered at
//! once, as `flowcal export sync` does, so that a second check finds nothing.
//!
//! Everything read is bounded: a calendar's listing by its connector, the
//! exports a page at a time, the findings kept to [`MAX_FINDINGS`].

use crate::access::calendars::{AccountSession, ConnectorFuture, Fail};
use crate::app::App;
use crate::delivery::Delivered;
use crate::entries::{deadline_entry, item_entry, EntryContext};
use crate::error::{AppError, AppResult};
use crate::principal::{involved, sees_task};
use crate::settings::Connectivity;
use flowcal_calendar::caldav::ListedEntry;
use flowcal_calendar::{AnyConnector, Connector, ConnectorError, EventSpec, Remote, RemoteEvent, When};
use flowcal_domain::export::{ExportSource, ExportState, Wanted};
use flowcal_domain::InstanceId;
use flowcal_store::{AccountStatus, CalendarAccount, ExportRecord, RemoteChange, User};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Exports compared a page at a time.
const PAGE: i64 = 200;

/// The most findings one check keeps (lists, and repairs); more are counted,
/// and the check says it is incomplete.
pub const MAX_FINDINGS: usize = 10_000;

/// The most notes one check keeps.
const MAX_NOTES: usize = 100;

/// The kind of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Delivered, and not in the calendar.
    Missing,
    /// flowcal's, in the calendar, and wanted by no export there.
    Extra,
    /// A second entry with the key of an export that wants its entry there.
    Duplicate,
    /// In the calendar, and not as flowcal would write it now.
    Different,
}

impl Kind {
    /// The word the command and the page show.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Duplicate => "duplicate",
            Kind::Different => "different",
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::Missing => 0,
            Kind::Extra => 1,
            Kind::Duplicate => 2,
            Kind::Different => 3,
        }
    }
}

/// What a repair does about a finding.
#[derive(Debug, Clone)]
enum Fix {
    /// The export goes out again: made again (missing) or written again (different).
    Export { id: i64, version: i64 },
    /// The entry is deleted from the calendar: by its resource URL (CalDAV),
    /// or its id (Google: the key; Graph: the id Graph gave).
    Delete { calendar: String, at: Remote, key: Option<String> },
}

/// One thing found in a calendar.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    pub account_id: i64,
    /// The account as its owner sees it.
    pub account: String,
    /// The source of the export the entry is for (`task:42:deadline`), when
    /// one of the user's exports names it.
    pub source: Option<String>,
    /// The entry's title (the step's and instance's), or the instance's
    /// title; empty for an entry no export of the user's names.
    pub title: String,
    /// What differs, or where the entry is.
    pub detail: String,
    fix: Fix,
    /// After a repair: done, or why not.
    pub repaired: Option<Result<(), String>>,
}

impl Finding {
    /// One line: the kind, the source, the title, the account, the details.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}\t{}\t{:?}\t{}",
            self.kind.as_str(),
            self.source.as_deref().unwrap_or("-"),
            self.title,
            self.account
        );
        if !self.detail.is_empty() {
            line.push('\t');
            line.push_str(&self.detail);
        }
        match &self.repaired {
            Some(Ok(())) => line.push_str("\trepaired"),
            Some(Err(why)) => {
                line.push_str("\tnot repaired: ");
                line.push_str(why);
            }
            None => {}
        }
        line
    }
}

/// What a check found, and what its repair did.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Entries looked at: the exports compared with their calendars, and
    /// the entries in the calendars that are not those exports' own.
    pub checked: usize,
    /// The findings, up to [`MAX_FINDINGS`].
    pub findings: Vec<Finding>,
    /// Findings by kind (all of them, also those past [`MAX_FINDINGS`]).
    counts: [usize; 4],
    /// Entries deleted in the calendar whose deletion flowcal respects.
    pub respected: usize,
    /// What could not be checked, or not completely, and why.
    pub notes: Vec<String>,
    /// A part could not be checked (an account that cannot be read now,
    /// more findings than are kept): finding nothing there means nothing.
    pub incomplete: bool,
    /// Whether the findings were repaired.
    pub repaired: bool,
}

impl Verification {
    /// How many of `kind` were found.
    pub fn count(&self, kind: Kind) -> usize {
        self.counts[kind.index()]
    }

    /// How many things were found.
    pub fn found(&self) -> usize {
        self.counts.iter().sum()
    }

    /// How many findings are left: all of them, or after a repair those it
    /// did not repair (and those past [`MAX_FINDINGS`]).
    pub fn remaining(&self) -> usize {
        if !self.repaired {
            return self.found();
        }
        let unrepaired = self.findings.iter().filter(|f| !matches!(f.repaired, Some(Ok(())))).count();
        unrepaired + self.found().saturating_sub(self.findings.len())
    }

    /// Nothing found (or everything found repaired), and everything checked.
    pub fn clean(&self) -> bool {
        self.remaining() == 0 && !self.incomplete
    }

    /// The summary: every count, in order.
    pub fn line(&self) -> String {
        format!(
            "{} entries checked: missing {}, extra {} (of which duplicates {}), different {}, deleted in the \
             calendar (respected) {}",
            self.checked,
            self.count(Kind::Missing),
            self.count(Kind::Extra) + self.count(Kind::Duplicate),
            self.count(Kind::Duplicate),
            self.count(Kind::Different),
            self.respected
        )
    }

    /// After a repair, what it did: `None` before.
    pub fn repair_line(&self) -> Option<String> {
        if !self.repaired {
            return None;
        }
        let done = |kinds: &[Kind]| {
            self.findings.iter().filter(|f| kinds.contains(&f.kind) && matches!(f.repaired, Some(Ok(())))).count()
        };
        Some(format!(
            "repaired: made again {}, deleted {} (of which duplicates {}), written again {}; not repaired {}",
            done(&[Kind::Missing]),
            done(&[Kind::Extra, Kind::Duplicate]),
            done(&[Kind::Duplicate]),
            done(&[Kind::Different]),
            self.remaining()
        ))
    }

    /// Keeps a note, up to [`MAX_NOTES`]; says once that more were left out.
    fn note(&mut self, text: String) {
        match self.notes.len() {
            n if n < MAX_NOTES => self.notes.push(text),
            n if n == MAX_NOTES => self.notes.push("more notes were left out".to_owned()),
            _ => {}
        }
    }

    fn push(&mut self, f: Finding) {
        self.counts[f.kind.index()] += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        } else if self.found() == MAX_FINDINGS + 1 {
            self.incomplete = true;
            self.note(format!(
                "more than {MAX_FINDINGS} findings: the first {MAX_FINDINGS} are listed (and repaired); check again"
            ));
        }
    }
}

/// Compares every calendar of `login`'s accounts with what flowcal should
/// have put there; with `repair`, repairs what it found (see the module's
/// description). `progress(done, total)` after each export compared.
pub async fn verify(
    app: &App,
    login: &str,
    repair: bool,
    mut progress: impl FnMut(usize, usize),
) -> AppResult<Verification> {
    let user = app.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user '{login}'")))?;
    let roles = app.store.roles(user.id).await?;
    let connectivity = app.access.connectivity().await?;
    let accounts = app.store.accounts_of(user.id).await?;
    let mut out = Verification::default();
    // The exports to compare in each account, for the progress.
    let mut compared = Vec::with_capacity(accounts.len());
    for acc in &accounts {
        let (n, respected) = app.store.verify_counts(acc.id, acc.calendar.clone().unwrap_or_default()).await?;
        compared.push(usize::try_from(n).unwrap_or(0));
        out.respected += usize::try_from(respected).unwrap_or(0);
    }
    let total = compared.iter().sum();
    let check = Check { app, user: &user, roles: &roles, connectivity: &connectivity };
    let mut done = 0;
    progress(done, total);
    for (acc, compared) in accounts.iter().zip(compared) {
        check
            .account(acc, compared, &mut out, &mut |n| {
                done += n;
                progress(done.min(total), total);
            })
            .await?;
    }
    if done < total {
        // Fewer to compare than counted (changed meanwhile).
        progress(total, total);
    }
    if repair {
        check.repair(&accounts, &mut out).await?;
    }
    Ok(out)
}

/// One check of one user's calendars.
struct Check<'a> {
    app: &'a App,
    user: &'a User,
    roles: &'a [String],
    connectivity: &'a Connectivity,
}

/// The calendar service behind an account, for what tells them apart here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Caldav,
    Google,
    Graph,
}

fn service(c: &AnyConnector) -> Service {
    match c {
        AnyConnector::Caldav(_) => Service::Caldav,
        AnyConnector::Google(_) => Service::Google,
        AnyConnector::Graph(_) => Service::Graph,
    }
}

/// An entry of flowcal's in a calendar's listing.
#[derive(Debug, Clone)]
struct Listed {
    /// Its key, when the listing tells it (CalDAV, Google).
    key: Option<String>,
    /// Where it is: the resource URL (CalDAV) or the event id.
    at: Remote,
    /// It is at the place flowcal writes its key to (CalDAV: `{key}.ics`;
    /// Google: always, the id is the key; Graph: unknown, `false`).
    at_key: bool,
}

/// How an export of the user's accounts for an entry with its key in the
/// calendar being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// It wants its entry there: the original is fine, a copy is a duplicate.
    Wanted,
    /// Its entry was deleted in the calendar, and that is respected: its key is left alone.
    Respected,
    /// Its entry is being removed by a delivery: the original is left to it.
    Leaving,
}

fn claim(e: &ExportRecord) -> Option<Claim> {
    match (e.wanted, e.state) {
        (Wanted::Present, ExportState::RemovedInCalendar) => Some(Claim::Respected),
        (Wanted::Present, _) => Some(Claim::Wanted),
        (Wanted::Absent, ExportState::Pending | ExportState::Waiting) => Some(Claim::Leaving),
        (Wanted::Absent, _) => None,
    }
}

impl Check<'_> {
    /// Checks one account's current calendar, where about `compared`
    /// exports are to be compared; `step(n)` as `n` more are compared (or
    /// passed over).
    async fn account(
        &self,
        acc: &CalendarAccount,
        compared: usize,
        out: &mut Verification,
        step: &mut impl FnMut(usize),
    ) -> AppResult<()> {
        let Some(calendar) = acc.calendar.clone() else {
            out.note(format!("{}: no calendar chosen or made yet: nothing to compare", acc.display));
            return Ok(());
        };
        if acc.status != AccountStatus::Active {
            out.note(format!("{} needs to be connected again: its calendar was not checked", acc.display));
            out.incomplete = true;
            step(compared);
            return Ok(());
        }
        let mut session = AccountSession::new(&self.app.access, acc.clone(), self.connectivity);
        let kind = match session.open().await {
            Ok(c) => service(c),
            Err(f) => {
                out.note(format!("{}: its calendar cannot be reached: {}", acc.display, describe(f)));
                out.incomplete = true;
                step(compared);
                return Ok(());
            }
        };

        // What the calendar holds of flowcal's: extra entries and duplicates.
        let cal = calendar.clone();
        match session.call(move |c| list(c, cal.clone())).await {
            Ok(listed) => self.extras(acc, &calendar, listed, out).await?,
            Err(Fail::Connector(ConnectorError::Permanent(why))) if kind != Service::Caldav => out.note(format!(
                "{}: its entries cannot be listed ({why}): extra entries were not looked for",
                acc.display
            )),
            Err(f) => {
                out.note(format!(
                    "{}: its calendar could not be listed ({}): extra entries were not looked for",
                    acc.display,
                    describe(f)
                ));
                out.incomplete = true;
            }
        }
        if kind == Service::Graph {
            out.note(format!(
                "{}: Microsoft Graph lists entries by its own ids, so a copy of an entry counts as extra, not as a \
                 duplicate",
                acc.display
            ));
        }

        // What should be there: missing and different entries.
        let mut after = 0;
        let mut seen = 0;
        loop {
            let page = self.app.store.exports_to_verify(acc.id, calendar.clone(), after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in &page {
                if let Err(why) = self.compare(&mut session, kind, acc, &calendar, e, out).await? {
                    out.note(format!(
                        "{}: reading its calendar failed ({why}): its other entries were not compared",
                        acc.display
                    ));
                    out.incomplete = true;
                    step(compared.saturating_sub(seen));
                    return Ok(());
                }
                seen += 1;
                step(1);
            }
            if page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                break;
            }
        }
        step(compared.saturating_sub(seen));
        Ok(())
    }

    /// The entries of the listing that no export wants there.
    async fn extras(
        &self,
        acc: &CalendarAccount,
        calendar: &str,
        listed: Vec<Listed>,
        out: &mut Verification,
    ) -> AppResult<()> {
        let id_of = |l: &Listed| l.key.clone().unwrap_or_else(|| l.at.id.clone());
        let ids: BTreeSet<String> = listed.iter().map(id_of).collect();
        let mine = self.app.store.exports_with_ids(Some(self.user.id), ids.into_iter().collect()).await?;
        // The user's exports by the id the listing names them with.
        let mut by_id: BTreeMap<String, Vec<ExportRecord>> = BTreeMap::new();
        for e in mine {
            if let Some(r) = e.remote_id.clone() {
                by_id.entry(r).or_default().push(e.clone());
            }
            by_id.entry(e.event_key.clone()).or_default().push(e);
        }
        let in_calendar = |e: &ExportRecord| e.calendar.as_deref().is_none_or(|c| c == calendar);
        let mut unknown: Vec<&Listed> = Vec::new();
        for l in &listed {
            let exports = by_id.get(&id_of(l)).map(Vec::as_slice).unwrap_or_default();
            let here = exports.iter().find(|e| e.account_id == acc.id && in_calendar(e));
            // Graph: the entry whose id an export holds is that export's own.
            let own = l.at_key || here.is_some_and(|e| e.remote_id.as_deref() == Some(l.at.id.as_str()));
            let kind = match here.and_then(claim) {
                Some(Claim::Wanted) if own => continue,
                Some(Claim::Respected) => {
                    out.checked += 1;
                    continue;
                }
                Some(Claim::Leaving) if own => continue,
                Some(Claim::Wanted) => Kind::Duplicate,
                Some(Claim::Leaving) => Kind::Extra,
                None => {
                    // Wanted there by another account of the user's (the same calendar).
                    let elsewhere = exports.iter().any(|e| {
                        e.account_id != acc.id
                            && e.calendar.as_deref() == Some(calendar)
                            && claim(e).is_some_and(|c| c != Claim::Leaving)
                    });
                    if elsewhere {
                        out.checked += 1;
                        continue;
                    }
                    if exports.is_empty() {
                        // Perhaps another user's, in a calendar they share: looked up below.
                        unknown.push(l);
                        continue;
                    }
                    Kind::Extra
                }
            };
            out.checked += 1;
            let named = here.or(exports.first());
            self.push_extra(acc, calendar, l, kind, named, out).await?;
        }
        if unknown.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = unknown.iter().map(|l| id_of(l)).collect();
        let others = self.app.store.exports_with_ids(None, ids).await?;
        for l in unknown {
            out.checked += 1;
            let id = id_of(l);
            let theirs = others.iter().any(|e| {
                (e.event_key == id || e.remote_id.as_deref() == Some(id.as_str()))
                    && e.calendar.as_deref() == Some(calendar)
                    && claim(e).is_some()
            });
            if !theirs {
                self.push_extra(acc, calendar, l, Kind::Extra, None, out).await?;
            }
        }
        Ok(())
    }

    async fn push_extra(
        &self,
        acc: &CalendarAccount,
        calendar: &str,
        l: &Listed,
        kind: Kind,
        named: Option<&ExportRecord>,
        out: &mut Verification,
    ) -> AppResult<()> {
        let title = match named {
            Some(e) => self.title_of(e).await?,
            None => String::new(),
        };

        let what = if kind == Kind::Duplicate { "a copy at" } else { "at" };
        out.push(Finding {
            kind,
            account_id: acc.id,
            account: acc.display.clone(),
            source: named.map(|e| e.source.to_string()),
            title,
            detail: format!("{what} {}", l.at.id),
            fix: Fix::Delete { calendar: calendar.to_owned(), at: l.at.clone(), key: l.key.clone() },
            repaired: None,
        });
        Ok(())
    }

    /// Compares one delivered export's entry with the calendar; `Err` when
    /// the calendar cannot be read now (why).
    async fn compare(
        &self,
        session: &mut AccountSession<'_>,
        kind: Service,
        acc: &CalendarAccount,
        calendar: &str,
        e: &ExportRecord,
        out: &mut Verification,
    ) -> AppResult<Result<(), String>> {
        out.checked += 1;
        let want = self.entry(e).await?;
        let (cal, key) = (calendar.to_owned(), e.event_key.clone());
        let known = e.remote_id.clone().map(|id| Remote { id, etag: e.etag.clone() });
        let have = session.call(move |c| get(c, cal.clone(), key.clone(), known.clone())).await;
        let (found, detail) = match (have, &want) {
            (Ok(Some(ev)), _) if ev.cancelled => (Kind::Missing, String::new()),
            (Ok(None), _) => (Kind::Missing, String::new()),
            (Ok(Some(ev)), Ok(want)) => {
                let differs = differences(kind, want, &ev);
                if differs.is_empty() {
                    return Ok(Ok(()));
                }
                (Kind::Different, differs.join("; "))
            }
            (Ok(Some(_)), Err(why)) => {
                out.note(format!("{}: {} was not compared: {why}", acc.display, e.source));
                return Ok(Ok(()));
            }
            // Something flowcal cannot read where its entry should be (CalDAV: another UID).
            (Err(Fail::Connector(ConnectorError::Permanent(why))), _) => (Kind::Different, why),
            (Err(f), _) => return Ok(Err(describe(f))),
        };
        let title = match &want {
            Ok(w) => w.title.clone(),
            Err(_) => self.title_of(e).await?,
        };
        out.push(Finding {
            kind: found,
            account_id: acc.id,
            account: acc.display.clone(),
            source: Some(e.source.to_string()),
            title,
            detail,
            fix: Fix::Export { id: e.id, version: e.version },
            repaired: None,
        });
        Ok(Ok(()))
    }

    /// The entry delivery would write now for `e` (as `Delivery::entry_of`
    /// builds it, with a move waiting for its owner's decision kept), or
    /// why there is none.
    async fn entry(&self, e: &ExportRecord) -> AppResult<Result<EventSpec, String>> {
        let cx = EntryContext {
            user: self.user,
            public_url: &self.app.config.public_url,
            time_zone: &self.app.config.time_zone,
            event_minutes: self.connectivity.calendar_export.event_minutes,
            now: self.app.now(),
        };
        let built = match &e.source {
            ExportSource::TaskDeadline(id) => match self.app.store.task(*id).await? {
                Some(t) if sees_task(self.user, self.roles, &t) => {
                    let (model, _) = self.app.workflow.model(t.model_id).await?;
                    deadline_entry(&t, &model.name, &cx, 0).map_err(|e| e.to_string())
                }
                _ => Err(format!("task {} is not found", id.0)),
            },
            ExportSource::InstanceItem { instance: id, key } => match self.app.store.instance(*id).await? {
                Some(instance) => {
                    let tasks = self.app.store.instance_tasks(*id).await?;
                    if involved(self.user, self.roles, &instance, &tasks) {
                        let (stored, model) = self.app.workflow.model(instance.model_id).await?;
                        item_entry(&instance, &stored.name, &model, key, &cx, 0).map_err(|e| e.to_string())
                    } else {
                        Err(format!("instance {} is not found", id.0))
                    }
                }
                None => Err(format!("instance {} is not found", id.0)),
            },
        };
        Ok(built.map(|entry| {
            let held = e.held_start.as_deref().and_then(When::from_stored).filter(|w| !w.same_start(&entry.when));
            match held {
                Some(when) => EventSpec { when, ..entry },
                None => entry,
            }
        }))
    }

    /// The title of an export's entry, or of its instance when there is no entry now.
    async fn title_of(&self, e: &ExportRecord) -> AppResult<String> {
        if let Ok(entry) = self.entry(e).await? {
            return Ok(entry.title);
        }
        Ok(match self.app.store.instance(InstanceId(e.instance_id)).await? {
            Some(i) => i.title,
            None => format!("instance {}", e.instance_id),
        })
    }

    // ---- repair ------------------------------------------------------------------------------

    /// Repairs the findings kept: extra entries deleted, then exports sent
    /// again and delivered at once; each finding says how it ended.
    async fn repair(&self, accounts: &[CalendarAccount], out: &mut Verification) -> AppResult<()> {
        out.repaired = true;
        let mut sessions: BTreeMap<i64, AccountSession<'_>> = BTreeMap::new();
        for f in out.findings.iter_mut() {
            let Fix::Delete { calendar, at, key } = &f.fix else { continue };
            let Some(acc) = accounts.iter().find(|a| a.id == f.account_id) else { continue };
            let session = sessions
                .entry(acc.id)
                .or_insert_with(|| AccountSession::new(&self.app.access, acc.clone(), self.connectivity));
            let (cal, at, key) = (calendar.clone(), at.clone(), key.clone());
            let r = session.call(move |c| delete(c, cal.clone(), at.clone(), key.clone())).await;
            f.repaired = Some(r.map_err(describe));
        }
        drop(sessions);

        let now = self.app.now();
        let mut sent = BTreeSet::new();
        for f in out.findings.iter_mut() {
            let Fix::Export { id, version } = f.fix else { continue };
            let again = match f.kind {
                Kind::Missing => self.app.store.remote_change(id, version, RemoteChange::MakeAgain, now).await?,
                _ => self.app.store.write_again(id, version, now).await?,
            };
            if again {
                sent.insert(id);
            } else {
                f.repaired = Some(Err("it changed since it was checked; check again".into()));
            }
        }
        if sent.is_empty() {
            return Ok(());
        }
        self.deliver(sent.clone()).await?;
        for f in out.findings.iter_mut() {
            let Fix::Export { id, .. } = f.fix else { continue };
            if !sent.contains(&id) {
                continue;
            }
            f.repaired = Some(match self.app.store.export(id).await? {
                Some(e) if e.state == ExportState::Synced => Ok(()),
                Some(e) => Err(format!("{}: {}", e.state, e.last_error.unwrap_or_default())),
                None => Err("the export is gone".into()),
            });
        }
        Ok(())
    }

    /// Delivers due exports (as `flowcal export sync` does: others' on the
    /// way) until none of `ids` is due: each delivered here, by another
    /// process, or put off to a later attempt; exports another worker holds
    /// are waited for up to its lease.
    async fn deliver(&self, mut open: BTreeSet<i64>) -> AppResult<()> {
        let delivery = &self.app.delivery;
        let patience = Duration::from_secs(self.app.config.delivery.lease_seconds + 5);
        let mut last_progress = std::time::Instant::now();
        while !open.is_empty() {
            let report = delivery.deliver_due_report(&delivery.worker_id).await.map_err(AppError::from)?;
            for (e, what) in &report {
                if *what != Delivered::Retried && open.remove(&e.id) {
                    last_progress = std::time::Instant::now();
                }
            }
            if !report.is_empty() {
                continue;
            }
            // Nothing was due for this process: the rest is done elsewhere,
            // put off, or held by another worker.
            let now = self.app.now();
            let mut still = BTreeSet::new();
            for id in &open {
                if let Some(e) = self.app.store.export(*id).await? {
                    if e.state == ExportState::Pending && e.not_before <= now {
                        still.insert(*id);
                    }
                }
            }
            open = still;
            if open.is_empty() || last_progress.elapsed() > patience {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }
}

/// What differs between the entry flowcal would write and the one the
/// calendar has, in words (empty: nothing).
fn differences(kind: Service, want: &EventSpec, have: &RemoteEvent) -> Vec<String> {
    let mut out = Vec::new();
    if have.title.trim() != want.title.trim() {
        out.push(format!("title {:?} where flowcal writes {:?}", have.title, want.title));
    }
    if plain(&have.description) != plain(&written_description(kind, want)) {
        out.push("description".to_owned());
    }
    if !same_moment(&have.when, &want.when) {
        out.push(format!("start {} where flowcal writes {}", have.when.stored(), want.when.stored()));
    }
    if !same_end(want, have) {
        out.push(format!("end {}", have.end));
    }
    out
}

/// The description as the service keeps it: Microsoft Graph's body holds
/// the link too.
fn written_description(kind: Service, want: &EventSpec) -> String {
    if kind == Service::Graph {
        if let Ok(body) = flowcal_calendar::graph::event_body(want) {
            if let Some(content) = body["body"]["content"].as_str() {
                return content.to_owned();
            }
        }
    }
    want.description.clone()
}

/// Text as calendars give it back: line ends as `\n`, no trailing space.
fn plain(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n").trim_end().to_owned()
}

/// Whether the entry ends where flowcal writes its end: the next day
/// (all-day), or the start plus its length, to the second (timed; an entry
/// of no length ends at its start).
fn same_end(want: &EventSpec, have: &RemoteEvent) -> bool {
    match &want.when {
        When::Date(d) => {
            let end = d.tomorrow().unwrap_or(*d);
            have.end.parse::<jiff::civil::Date>().is_ok_and(|e| e == end)
        }
        When::At { at, .. } => {
            let end = want.end().filter(|e| e.as_second() > at.as_second()).unwrap_or(*at);
            have.end.parse::<jiff::Timestamp>().is_ok_and(|e| e.as_second() == end.as_second())
        }
    }
}

/// Whether two starts are the same day, or the same second (calendars keep
/// no fractions of seconds; the zone an entry is shown in does not count).
fn same_moment(a: &When, b: &When) -> bool {
    match (a, b) {
        (When::Date(x), When::Date(y)) => x == y,
        (When::At { at: x, .. }, When::At { at: y, .. }) => x.as_second() == y.as_second(),
        _ => false,
    }
}

/// A failed call, in words.
fn describe(f: Fail) -> String {
    match f {
        Fail::Connector(e) => e.to_string(),
        Fail::Access(e) => e.to_string(),
    }
}

/// flowcal's entries in `calendar`: CalDAV by their UIDs, whatever their
/// names; Google and Graph as their reading of changes lists them.
fn list(c: &AnyConnector, calendar: String) -> ConnectorFuture<'_, Vec<Listed>> {
    Box::pin(async move {
        match c {
            AnyConnector::Caldav(dav) => Ok(dav
                .flowcal_entries(&calendar)
                .await?
                .into_iter()
                .map(|ListedEntry { key, url, etag, at_key }| Listed {
                    key: Some(key),
                    at: Remote { id: url, etag },
                    at_key,
                })
                .collect()),
            AnyConnector::Google(_) | AnyConnector::Graph(_) => {
                let google = matches!(c, AnyConnector::Google(_));
                let changes = c.changes(&calendar, None).await?;
                Ok(changes
                    .changed
                    .into_iter()
                    .map(|e| Listed {
                        key: google.then(|| e.id.clone()),
                        at: Remote { id: e.id, etag: e.etag },
                        at_key: google,
                    })
                    .collect())
            }
        }
    })
}

fn get(
    c: &AnyConnector,
    calendar: String,
    key: String,
    known: Option<Remote>,
) -> ConnectorFuture<'_, Option<RemoteEvent>> {
    Box::pin(async move { c.get_event(&calendar, &key, known.as_ref()).await })
}

/// Deletes an extra entry by where it is: never by its key at CalDAV, where
/// the key names the original.
fn delete(c: &AnyConnector, calendar: String, at: Remote, key: Option<String>) -> ConnectorFuture<'_, ()> {
    Box::pin(async move {
        match c {
            AnyConnector::Caldav(dav) => dav.delete_resource(&calendar, &at.id, at.etag.as_deref()).await,
            AnyConnector::Google(_) => c.delete_event(&calendar, key.as_deref().unwrap_or(&at.id), None).await,
            AnyConnector::Graph(_) => c.delete_event(&calendar, key.as_deref().unwrap_or_default(), Some(&at)).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowcal_calendar::{event_key, DEFAULT_DURATION_MINUTES};

    fn entry(when: When) -> EventSpec {
        EventSpec {
            key: event_key(1, "task:1:deadline"),
            title: "Check — Case 1".into(),
            description: "Process: Due\nStep: Check".into(),
            url: Some("https://flowcal.example/tasks/1".into()),
            when,
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 0,
            stamp: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn read_back(e: &EventSpec, end: &str) -> RemoteEvent {
        RemoteEvent {
            remote: Remote { id: "x".into(), etag: None },
            title: e.title.clone(),
            description: e.description.replace('\n', "\r\n"),
            when: e.when.clone(),
            end: end.into(),
            cancelled: false,
        }
    }

    #[test]
    fn an_entry_as_written_has_no_differences() {
        let day = entry(When::Date(jiff::civil::date(2026, 5, 4)));
        assert!(differences(Service::Caldav, &day, &read_back(&day, "2026-05-05")).is_empty());
        let at: jiff::Timestamp = "2026-05-04T07:00:00Z".parse().unwrap();
        let timed = entry(When::At { at, zone: "Europe/Berlin".into() });
        let mut back = read_back(&timed, "2026-05-04T07:30:00Z");
        // The zone a timed entry is shown in does not count.
        back.when = When::At { at, zone: "UTC".into() };
        assert!(differences(Service::Google, &timed, &back).is_empty());
    }

    #[test]
    fn title_description_start_and_end_are_told() {
        let day = entry(When::Date(jiff::civil::date(2026, 5, 4)));
        let mut back = read_back(&day, "2026-05-06");
        back.title = "Changed".into();
        back.description = "notes".into();
        back.when = When::Date(jiff::civil::date(2026, 5, 5));
        let said = differences(Service::Caldav, &day, &back);
        assert_eq!(
            said,
            [
                "title \"Changed\" where flowcal writes \"Check — Case 1\"",
                "description",
                "start 2026-05-05 where flowcal writes 2026-05-04",
                "end 2026-05-06"
            ]
        );
        // Graph keeps the link in the body: only there is it part of the description.
        let mut back = read_back(&day, "2026-05-05");
        assert!(differences(Service::Caldav, &day, &back).is_empty());
        assert_eq!(differences(Service::Graph, &day, &back), ["description"]);
        back.description = format!("{}\n\nhttps://flowcal.example/tasks/1\n", day.description);
        assert!(differences(Service::Graph, &day, &back).is_empty());
    }

    #[test]
    fn the_summary_counts_duplicates_among_extras() {
        let mut v = Verification { checked: 7, respected: 2, ..Verification::default() };
        let f = |kind| Finding {
            kind,
            account_id: 1,
            account: "alice".into(),
            source: None,
            title: String::new(),
            detail: String::new(),
            fix: Fix::Export { id: 1, version: 1 },
            repaired: None,
        };
        for k in [Kind::Missing, Kind::Extra, Kind::Duplicate, Kind::Different, Kind::Missing] {
            v.push(f(k));
        }
        assert_eq!(
            v.line(),
            "7 entries checked: missing 2, extra 2 (of which duplicates 1), different 1, deleted in the calendar \
             (respected) 2"
        );
        assert_eq!((v.remaining(), v.clean(), v.repair_line()), (5, false, None));
        v.repaired = true;
        for (i, f) in v.findings.iter_mut().enumerate() {
            f.repaired = Some(if i == 4 { Err("busy".into()) } else { Ok(()) });
        }
        assert_eq!(
            v.repair_line().unwrap(),
            "repaired: made again 1, deleted 2 (of which duplicates 1), written again 1; not repaired 1"
        );
        assert!(!v.clean());
    }
}
