//! Work calendars: the service administrators change them with (the API,
//! the admin pages, the configuration file at startup), and the worker that
//! refreshes their URL sources once a day. A change that moves the holidays
//! or hours of a calendar has the workflow recompute every open deadline
//! counted in it. What calendars are made of, and the compiled calendars the
//! engine counts in, are in `workcal_data`.

use crate::access::Access;
use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::principal::Principal;
use crate::workcal_data::compile;
// The forms and views, also reachable from here for the HTTP layers.
pub use crate::workcal_data::*;
use crate::workflow::Workflow;
use flowcal_calendar::holidays::{read_holidays, HolidayFilter, MAX_BYTES};
use flowcal_connect::outbound::{guarded_client, read_capped, HostPolicy};
use flowcal_domain::{Holiday, WorkCalendar};
use flowcal_store::{FetchOutcome, SourceRecord, SourceSpec, SourceStatus, Store, StoredWorkCalendar};
use jiff::civil::Date;
use jiff::SignedDuration;
use std::sync::Arc;

/// How many years before and after this one a source's holidays are read for.
const YEARS_BEFORE: i16 = 1;
const YEARS_AFTER: i16 = 4;
/// How many instances a recompute handles per page.
const RECOMPUTE_PAGE: usize = 200;
/// How many dates a reason names before it says "and N more".
const REASON_DATES: usize = 5;

/// An iCalendar file without events (to check a source's patterns before its first fetch).
const EMPTY_CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flowcal//patterns//EN\r\nEND:VCALENDAR\r\n";

/// The years a source's holidays are read for, around `today`.
fn window(today: Date) -> (Date, Date) {
    let y = today.year();
    let from = Date::new(y.saturating_sub(YEARS_BEFORE), 1, 1).unwrap_or(today);
    let to = Date::new(y.saturating_add(YEARS_AFTER), 12, 31).unwrap_or(today);
    (from, to)
}

/// Reads the holidays of an iCalendar text off the async workers, within the
/// parse budget.
async fn parse_source(ics: String, filter: HolidayFilter, today: Date) -> Result<Vec<(Date, String)>, String> {
    let (from, to) = window(today);
    let read = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || read_holidays(&ics, &filter, from, to))
        .await
        .map_err(|e| format!("reading the holiday calendar: {e}"))?;
    read.map(|found| found.into_iter().map(|h| (h.date, h.name)).collect()).map_err(|e| e.to_string())
}

// ---- the service ------------------------------------------------------------------------------------

/// Administration of work calendars and the refresh of their sources.
#[derive(Debug)]
pub struct WorkCalendars {
    store: Store,
    clock: Arc<dyn Clock>,
    access: Arc<Access>,
    workflow: Arc<Workflow>,
    cache: Arc<CalendarCache>,
    /// How long a fetched source stays fresh.
    refresh_every: SignedDuration,
}

/// What a refresh did to one calendar.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// Sources fetched (200), found unchanged (304), failed.
    pub fetched: usize,
    pub not_modified: usize,
    pub failed: usize,
    /// Instances whose deadlines were recomputed.
    pub instances: usize,
}

impl WorkCalendars {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        access: Arc<Access>,
        workflow: Arc<Workflow>,
        cache: Arc<CalendarCache>,
        refresh_every: SignedDuration,
    ) -> Self {
        WorkCalendars { store, clock, access, workflow, cache, refresh_every }
    }

    fn today(&self, cal: &WorkCalendar) -> Date {
        let zone = jiff::tz::TimeZone::get(&cal.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        self.clock.now().to_zoned(zone).date()
    }

    /// One calendar (everyone signed in may read calendars).
    pub async fn get(&self, name: &str) -> AppResult<StoredWorkCalendar> {
        self.store.work_calendar(name).await?.ok_or_else(|| AppError::NotFound(format!("work calendar '{name}'")))
    }

    /// A page of calendars by name, after `after`.
    pub async fn list(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> AppResult<(Vec<StoredWorkCalendar>, Option<String>)> {
        let limit = limit.clamp(1, 200);
        let mut page = self.store.work_calendars(after, limit + 1).await?;
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().map(|c| c.calendar.name.clone())
        });
        Ok((page, next.flatten()))
    }

    /// The days of a calendar from `from` to `to` (at most [`MAX_DAYS`]).
    pub async fn days(&self, name: &str, from: Date, to: Date) -> AppResult<Vec<DayJson>> {
        let span = from.until(to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if from > to || i64::from(span) >= MAX_DAYS {
            return Err(AppError::Unprocessable(format!(
                "ask for 1 to {MAX_DAYS} days, from a date to a later one (from={from}, to={to})"
            )));
        }
        let stored = self.get(name).await?;
        let cal = compile(&stored)?;
        Ok(days(&cal, from, to))
    }

    /// Creates or replaces a calendar (administrators). URL sources that
    /// are new are fetched at once; uploaded ones are read. Open deadlines
    /// counted in the calendar are recomputed when its days changed.
    /// Returns the calendar and whether it was created.
    pub async fn put(&self, p: &Principal, name: &str, put: CalendarPut) -> AppResult<(StoredWorkCalendar, bool)> {
        p.require_admin()?;
        self.put_as(p.login(), name, put).await
    }

    /// [`WorkCalendars::put`] on behalf of `by` (the configuration file at startup).
    pub async fn put_as(&self, by: &str, name: &str, put: CalendarPut) -> AppResult<(StoredWorkCalendar, bool)> {
        if put.name.as_deref().is_some_and(|n| n != name) {
            return Err(AppError::Unprocessable(format!(
                "the body names calendar '{}' but the path '{name}': leave name out of the body",
                put.name.as_deref().unwrap_or_default()
            )));
        }
        let cal = read_put(name, &put)?;
        let today = self.today(&cal);
        let policy = self.policy().await?;
        let mut specs = Vec::with_capacity(put.sources.len());
        for (i, s) in put.sources.into_iter().enumerate() {
            let filter = HolidayFilter { include: s.include.clone(), exclude: s.exclude.clone() };
            let at = |m: String| AppError::Unprocessable(format!("holiday source {}: {m}", i + 1));
            match (s.url, s.ics) {
                (Some(url), None) => {
                    let parsed = reqwest::Url::parse(&url).map_err(|e| at(format!("'{url}' is not a URL: {e}")))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(at(format!("'{url}' is not an http(s) URL")));
                    }
                    policy.check_url(&parsed).map_err(|e| at(e.to_string()))?;
                    // The patterns are checked on a calendar without events.
                    parse_source(EMPTY_CALENDAR.to_owned(), filter, today).await.map_err(at)?;
                    specs.push(SourceSpec {
                        url: Some(url),
                        body: None,
                        holidays: Vec::new(),
                        include: s.include,
                        exclude: s.exclude,
                    });
                }
                (None, Some(ics)) => {
                    if ics.len() > MAX_BYTES {
                        return Err(at(format!("the file has {} bytes; at most {MAX_BYTES} are read", ics.len())));
                    }
                    let holidays = parse_source(ics.clone(), filter, today).await.map_err(at)?;
                    specs.push(SourceSpec {
                        url: None,
                        body: Some(ics),
                        holidays,
                        include: s.include,
                        exclude: s.exclude,
                    });
                }
                _ => return Err(at("give either url or ics".into())),
            }
        }
        let before = self.store.work_calendar(name).await?;
        let now = self.clock.now();
        let (mut stored, created) = self.store.put_work_calendar(&cal, specs, by, now).await?;
        // New URL sources: fetch now, so the answer shows how it went.
        let pending: Vec<SourceRecord> =
            stored.sources.iter().filter(|s| s.url.is_some() && s.status == SourceStatus::Pending).cloned().collect();
        for s in &pending {
            self.fetch(s, &policy, today).await?;
        }
        if !pending.is_empty() {
            stored = self.get(name).await?;
        }
        self.after_change(before.as_ref(), &stored, &format!("work calendar {name} was changed by {by}")).await?;
        Ok((stored, created))
    }

    /// Removes a calendar (administrators): refused while a stored model names it.
    pub async fn delete(&self, p: &Principal, name: &str) -> AppResult<()> {
        p.require_admin()?;
        let users = self.store.models_naming_calendar(name).await?;
        if !users.is_empty() {
            let list: Vec<String> = users.iter().map(|m| format!("{} version {}", m.key, m.version)).collect();
            return Err(AppError::Conflict(format!(
                "work calendar '{name}' is named by the models {}: upload versions that name another calendar first",
                list.join(", ")
            )));
        }
        if !self.store.delete_work_calendar(name).await? {
            return Err(AppError::NotFound(format!("work calendar '{name}'")));
        }
        self.cache.load(name).await?;
        Ok(())
    }

    /// Fetches a calendar's URL sources now (conditionally: an unchanged file
    /// answers 304) and reads its uploaded ones again (the years read move
    /// with the date). Open deadlines follow when the days changed.
    pub async fn refresh(&self, p: &Principal, name: &str) -> AppResult<(StoredWorkCalendar, Refreshed)> {
        p.require_admin()?;
        self.refresh_calendar(name).await
    }

    async fn refresh_calendar(&self, name: &str) -> AppResult<(StoredWorkCalendar, Refreshed)> {
        let before = self.get(name).await?;
        let today = self.today(&before.calendar);
        let policy = self.policy().await?;
        let mut r = Refreshed::default();
        for s in &before.sources {
            match self.fetch(s, &policy, today).await? {
                Fetch::Fetched => r.fetched += 1,
                Fetch::NotModified => r.not_modified += 1,
                Fetch::Failed => r.failed += 1,
            }
        }
        let after = self.get(name).await?;
        r.instances = self
            .after_change(Some(&before), &after, &format!("work calendar {name}: a holiday source changed"))
            .await?;
        Ok((after, r))
    }

    async fn policy(&self) -> AppResult<HostPolicy> {
        let c = self.access.connectivity().await?;
        HostPolicy::new(&c.caldav.allowed_hosts, &c.caldav.allowed_networks)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("the outbound allow-list is invalid: {e}")))
    }

    /// Fetches one source (or reads an uploaded one again) and records the outcome.
    async fn fetch(&self, s: &SourceRecord, policy: &HostPolicy, today: Date) -> AppResult<Fetch> {
        let filter = HolidayFilter { include: s.include.clone(), exclude: s.exclude.clone() };
        let now = self.clock.now();
        let outcome = match &s.url {
            None => match &s.body {
                Some(body) => match parse_source(body.clone(), filter, today).await {
                    Ok(holidays) => {
                        FetchOutcome::Fetched { body: body.clone(), etag: None, last_modified: None, holidays }
                    }
                    Err(error) => FetchOutcome::Failed { error },
                },
                None => FetchOutcome::Failed { error: "the uploaded file is missing: upload it again".into() },
            },
            Some(url) => self.fetch_url(url, s, filter, policy, today).await,
        };
        let kind = match &outcome {
            FetchOutcome::Fetched { .. } => Fetch::Fetched,
            FetchOutcome::NotModified => Fetch::NotModified,
            FetchOutcome::Failed { error } => {
                tracing::warn!(calendar = %s.calendar, source = s.id, %error, "a holiday source could not be fetched");
                Fetch::Failed
            }
        };
        self.store.record_source_fetch(s.id, outcome, now).await?;
        Ok(kind)
    }

    async fn fetch_url(
        &self,
        url: &str,
        s: &SourceRecord,
        filter: HolidayFilter,
        policy: &HostPolicy,
        today: Date,
    ) -> FetchOutcome {
        let failed = |error: String| FetchOutcome::Failed { error };
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return failed(format!("'{url}' is not a URL: {e}")),
        };
        if let Err(e) = policy.check_url(&parsed) {
            return failed(e.to_string());
        }
        let client = match guarded_client(policy.clone()) {
            Ok(c) => c,
            Err(e) => return failed(e.to_string()),
        };
        let mut req = client.get(parsed).header(reqwest::header::ACCEPT, "text/calendar, */*;q=0.5");
        // Conditional only when a good copy is kept to fall back on.
        if s.body.is_some() {
            if let Some(etag) = &s.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &s.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return failed(describe_error(e)),
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && s.body.is_some() {
            // The file is the same; the years read may have moved.
            let body = s.body.clone().unwrap_or_default();
            return match parse_source(body.clone(), filter, today).await {
                Ok(holidays) if holidays == s.holidays => FetchOutcome::NotModified,
                Ok(holidays) => FetchOutcome::Fetched {
                    body,
                    etag: s.etag.clone(),
                    last_modified: s.last_modified.clone(),
                    holidays,
                },
                Err(error) => failed(error),
            };
        }
        if !status.is_success() {
            return failed(format!("the server answered {status}"));
        }
        let header = |name: reqwest::header::HeaderName| {
            resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let (etag, last_modified) = (header(reqwest::header::ETAG), header(reqwest::header::LAST_MODIFIED));
        let bytes = match read_capped(&mut resp, MAX_BYTES).await {
            Ok(b) => b,
            Err(e) => return failed(e.to_string()),
        };
        let Ok(body) = String::from_utf8(bytes) else {
            return failed("the file is not UTF-8 text".into());
        };
        match parse_source(body.clone(), filter, today).await {
            Ok(holidays) => FetchOutcome::Fetched { body, etag, last_modified, holidays },
            Err(error) => failed(error),
        }
    }

    /// Recomputes open deadlines when `after` counts days differently from
    /// `before` (none: a new calendar, which models may already name).
    /// Returns how many instances had a deadline moved.
    async fn after_change(
        &self,
        before: Option<&StoredWorkCalendar>,
        after: &StoredWorkCalendar,
        what: &str,
    ) -> AppResult<usize> {
        let name = after.calendar.name.clone();
        let Some((version, compiled)) = self.cache.load_versioned(&name).await? else { return Ok(0) };
        let old = before.map(effective);
        let new = compiled.calendar();
        // A recompute of an earlier change that did not finish is finished now.
        let was_current = before.is_some_and(|b| b.recomputed_version >= b.version);
        let reason = match &old {
            Some(old) if old == new && was_current => {
                self.store.mark_recomputed(&name, version).await?;
                return Ok(0);
            }
            Some(old) if old == new => format!("{what}: deadlines brought up to date"),
            Some(old) => format!("{what}: {}", describe_change(old, new)),
            None => format!("{what}: the calendar was created"),
        };
        self.recompute(&name, version, compiled, reason).await
    }

    /// Recomputes the open deadlines counted in `name` with the compiled
    /// `version`, then records it recomputed. On a task of its own: a
    /// request that times out or a client that goes away must not stop a
    /// recompute halfway (one that stops anyway, with the process, is
    /// finished by [`WorkCalendars::refresh_due`]).
    async fn recompute(
        &self,
        name: &str,
        version: i64,
        compiled: Arc<flowcal_domain::CompiledCalendar>,
        reason: String,
    ) -> AppResult<usize> {
        let (workflow, store, name) = (self.workflow.clone(), self.store.clone(), name.to_owned());
        let run = tokio::spawn(async move {
            let moved = workflow.recompute_calendar(&name, compiled, &reason, RECOMPUTE_PAGE).await?;
            store.mark_recomputed(&name, version).await?;
            Ok::<_, AppError>(moved)
        });
        run.await.map_err(|e| AppError::Internal(anyhow::anyhow!("the recompute of the deadlines stopped: {e}")))?
    }

    /// Finishes the recomputes that did not finish (a crash, a database
    /// error): each calendar whose version is ahead of its recomputed one.
    async fn finish_recomputes(&self) -> AppResult<usize> {
        let mut done = 0;
        for (name, _) in self.store.calendars_behind(100).await? {
            let Some((version, compiled)) = self.cache.load_versioned(&name).await? else { continue };
            let reason = format!("work calendar {name} changed: deadlines brought up to date");
            self.recompute(&name, version, compiled, reason).await?;
            done += 1;
        }
        Ok(done)
    }

    /// Refreshes the sources not checked for a day, calendar by calendar,
    /// after finishing any recompute that did not finish. Returns how many
    /// calendars were refreshed.
    pub async fn refresh_due(&self) -> AppResult<usize> {
        let finished = self.finish_recomputes().await?;
        if finished > 0 {
            tracing::info!(calendars = finished, "finished the recompute of work calendars' deadlines");
        }
        let now = self.clock.now();
        let stale = now.checked_sub(self.refresh_every).unwrap_or(now);
        let due = self.store.sources_due(stale, 100).await?;
        let mut names: Vec<String> = due.into_iter().map(|s| s.calendar).collect();
        names.dedup();
        let mut done = 0;
        for name in names {
            match self.refresh_calendar(&name).await {
                Ok(_) => done += 1,
                Err(e) => tracing::warn!(calendar = %name, error = %e, "refreshing a work calendar failed"),
            }
        }
        Ok(done)
    }

    /// Refreshes due sources every ten minutes until `stop` resolves.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.refresh_due().await {
                tracing::warn!(error = %e, "the work calendar refresh failed");
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Fetched,
    NotModified,
    Failed,
}

/// What a transport error says, without the URL's query (which may hold a token).
fn describe_error(e: reqwest::Error) -> String {
    if let Some(o) = flowcal_connect::outbound::find_outbound_error(&e) {
        return o.to_string();
    }
    if e.is_timeout() {
        return "the server did not answer in time".into();
    }
    if e.is_connect() {
        return "could not connect to the server".into();
    }
    format!("the request failed: {}", e.without_url())
}

/// What changed between two versions of a calendar, in a line.
fn describe_change(old: &WorkCalendar, new: &WorkCalendar) -> String {
    let mut parts = Vec::new();
    if old.time_zone != new.time_zone {
        parts.push(format!("time zone {} → {}", old.time_zone, new.time_zone));
    }
    if old.week != new.week {
        parts.push(format!("working week {} → {}", old.week, new.week));
    }
    if old.hours != new.hours {
        parts.push("working hours changed".to_owned());
    }
    // The date, with the holiday's name where it has one.
    let named = |d: &dyn std::fmt::Display, h: &Holiday| {
        if h.name.is_empty() {
            d.to_string()
        } else {
            format!("{d} {}", h.name)
        }
    };
    let mut dates = Vec::new();
    for (d, h) in &new.holidays {
        match old.holidays.get(d) {
            None => dates.push(format!("holiday {} added", named(d, h))),
            Some(o) if o != h => dates.push(format!("holiday {} changed", named(d, h))),
            _ => {}
        }
    }
    for (d, h) in &old.holidays {
        if !new.holidays.contains_key(d) {
            dates.push(format!("holiday {} removed", named(d, h)));
        }
    }
    for d in new.working_days.keys().filter(|d| !old.working_days.contains_key(*d)) {
        dates.push(format!("working day {d} added"));
    }
    for d in old.working_days.keys().filter(|d| !new.working_days.contains_key(*d)) {
        dates.push(format!("working day {d} removed"));
    }
    let more = dates.len().saturating_sub(REASON_DATES);
    dates.truncate(REASON_DATES);
    parts.extend(dates);
    if more > 0 {
        parts.push(format!("and {more} more dates"));
    }
    if parts.is_empty() {
        "no days changed".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowcal_domain::Weekmask;

    #[test]
    fn a_change_is_described_by_its_dates() {
        let week = Weekmask::parse(&["mon", "tue", "wed", "thu", "fri"]).unwrap();
        let old = WorkCalendar::new("de", "Europe/Berlin", week);
        let mut new = old.clone();
        new.holidays.insert("2026-12-24".parse().unwrap(), Holiday { name: "Heiligabend".into(), hours: None });
        assert_eq!(describe_change(&old, &new), "holiday 2026-12-24 Heiligabend added");
        assert_eq!(describe_change(&new, &old), "holiday 2026-12-24 Heiligabend removed");
        for day in 1..=9 {
            new.working_days.insert(Date::new(2027, 1, day).unwrap(), String::new());
        }
        let text = describe_change(&old, &new);
        assert!(text.ends_with("and 5 more dates"), "{text}");
    }
}
