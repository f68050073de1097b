//! Work calendars, their holiday sources, and what a calendar's change must
//! recompute.
//!
//! A calendar is kept in its JSON form (`WorkCalendar`'s serde form) with a
//! version that grows with every change that can move a deadline: an edit,
//! or a source refresh that changed the holidays read from it. Versions come
//! from one counter shared by all calendars, so a calendar deleted and made
//! again never repeats a version, and a cache keyed on (name, version) cannot
//! take the new calendar for the old.
//!
//! Every write takes the counter's row first (PostgreSQL: a row lock; SQLite
//! runs one writer at a time): calendar writes run one at a time, always in
//! the same lock order, so an edit and a refresh never deadlock.
//!
//! This module neither fetches nor reads iCalendar: the caller does, and
//! stores the text, the validators and the holidays it read.

use crate::db::{params, Conn, Row};
use crate::rows::{holidays_from_json, holidays_json, strings_from_json, strings_json, ts};
use crate::{Backend, Store, StoreError};
use flowcal_domain::{InstanceId, ModelId, WorkCalendar};
use jiff::civil::Date;
use jiff::Timestamp;

/// A holiday source as an administrator gives it: a subscription by URL, or
/// an uploaded iCalendar text. Exactly one of `url` and `body` is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceSpec {
    /// The iCalendar file to fetch (and refresh daily); `None` for an upload.
    pub url: Option<String>,
    /// The uploaded iCalendar text.
    pub body: Option<String>,
    /// Patterns on SUMMARY and CATEGORIES: only matching events are holidays
    /// (empty: all).
    pub include: Vec<String>,
    /// Patterns on SUMMARY and CATEGORIES: matching events are not holidays.
    pub exclude: Vec<String>,
    /// For an upload, the holidays the caller read from `body` with the
    /// patterns, stored with it in the same transaction. Ignored for a URL:
    /// its holidays come with a fetch ([`Store::record_source_fetch`]).
    pub holidays: Vec<(Date, String)>,
}

/// Where a source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceStatus {
    /// A URL not fetched successfully yet.
    Pending,
    /// An upload, or a URL whose last fetch succeeded (200 or 304).
    Ok,
    /// A URL whose last fetch failed; its last good copy, if any, still counts.
    Failed,
}

impl SourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Pending => "pending",
            SourceStatus::Ok => "ok",
            SourceStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(SourceStatus::Pending),
            "ok" => Some(SourceStatus::Ok),
            "failed" => Some(SourceStatus::Failed),
            _ => None,
        }
    }
}

/// A stored holiday source of a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub id: i64,
    pub calendar: String,
    /// Its place among the calendar's sources, from 0.
    pub position: i64,
    /// `None`: uploaded.
    pub url: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The last good iCalendar text: the upload, or the last fetch that succeeded.
    pub body: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The last successful fetch (200 or 304).
    pub fetched_at: Option<Timestamp>,
    /// The last attempt to fetch.
    pub checked_at: Option<Timestamp>,
    pub status: SourceStatus,
    /// Why the last fetch failed.
    pub error: Option<String>,
    /// The holidays read from `body` with the patterns, by date and name.
    pub holidays: Vec<(Date, String)>,
    /// How many holidays were read.
    pub count: i64,
}

/// A stored work calendar with its sources, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWorkCalendar {
    /// The calendar as edited (without the sources' holidays).
    pub calendar: WorkCalendar,
    /// Grows with every change of the calendar or of its sources' holidays.
    pub version: i64,
    /// The last edit and who made it (a refresh changes neither).
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
    /// The version whose open deadlines are all recomputed
    /// ([`Store::mark_recomputed`]); behind `version` while a recompute runs
    /// or after one that did not finish.
    pub recomputed_version: i64,
    pub sources: Vec<SourceRecord>,
}

/// What fetching a source gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A new copy (200), with the holidays the caller read from it.
    Fetched { body: String, etag: Option<String>, last_modified: Option<String>, holidays: Vec<(Date, String)> },
    /// The copy kept is current (304).
    NotModified,
    /// The fetch or the reading failed: the last good copy stays.
    Failed { error: String },
}

macro_rules! source_columns {
    () => {
        "id, calendar, position, url, include_patterns, exclude_patterns, body, etag, last_modified, \
         fetched_at, checked_at, status, error, holidays, count"
    };
}

fn source(r: &Row) -> Result<SourceRecord, StoreError> {
    let id = r.int("id")?;
    let status = r.text("status")?;
    Ok(SourceRecord {
        id,
        calendar: r.text("calendar")?,
        position: r.int("position")?,
        url: r.opt_text("url")?,
        include: strings_from_json(&r.text("include_patterns")?)?,
        exclude: strings_from_json(&r.text("exclude_patterns")?)?,
        body: r.opt_text("body")?,
        etag: r.opt_text("etag")?,
        last_modified: r.opt_text("last_modified")?,
        fetched_at: r.opt_int("fetched_at")?.map(ts).transpose()?,
        checked_at: r.opt_int("checked_at")?.map(ts).transpose()?,
        status: SourceStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("holiday source {id}: status '{status}'")))?,
        error: r.opt_text("error")?,
        holidays: holidays_from_json(&r.text("holidays")?)?,
        count: r.int("count")?,
    })
}

/// A calendar row without its sources.
fn calendar(r: &Row) -> Result<StoredWorkCalendar, StoreError> {
    let name = r.text("name")?;
    let calendar = serde_json::from_str(&r.text("definition")?)
        .map_err(|e| StoreError::Corrupt(format!("work calendar {name}: {e}")))?;
    Ok(StoredWorkCalendar {
        calendar,
        version: r.int("version")?,
        updated_at: ts(r.int("updated_at")?)?,
        updated_by: r.opt_text("updated_by")?,
        recomputed_version: r.int("recomputed_version")?,
        sources: Vec::new(),
    })
}

/// Reads one calendar with its sources. The calendar row is read before its
/// sources: a read torn by a change in between carries the older version, so
/// a cache that compares versions reads it again.
fn load(c: &mut dyn Conn, name: &str) -> Result<Option<StoredWorkCalendar>, StoreError> {
    let Some(mut cal) = c
        .query_opt(
            "SELECT name, definition, version, updated_at, updated_by, recomputed_version FROM work_calendars WHERE name = $1",
            params![name],
        )?
        .map(|r| calendar(&r))
        .transpose()?
    else {
        return Ok(None);
    };
    cal.sources = c
        .query(
            concat!(
                "SELECT ",
                source_columns!(),
                " FROM work_calendar_sources WHERE calendar = $1 ORDER BY position, id"
            ),
            params![name],
        )?
        .iter()
        .map(source)
        .collect::<Result<_, _>>()?;
    Ok(Some(cal))
}

/// Takes the lock every calendar write holds: the counter's row (SQLite's
/// writes run one at a time already).
fn lock(c: &mut dyn Conn) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        c.query_one("SELECT version FROM work_calendar_serial WHERE id = 1 FOR UPDATE", &[])?;
    }
    Ok(())
}

/// The next calendar version (under the lock).
fn next_version(c: &mut dyn Conn) -> Result<i64, StoreError> {
    Ok(c.query_one("UPDATE work_calendar_serial SET version = version + 1 WHERE id = 1 RETURNING version", &[])?
        .int("version")?)
}

/// A page size as a bound parameter.
fn page(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A stored source as saving compares it: id, URL, include and exclude
/// patterns (as stored).
type StoredSource = (i64, Option<String>, String, String);

fn put_in(
    c: &mut dyn Conn,
    cal: &WorkCalendar,
    definition: &str,
    sources: &[SourceSpec],
    by: &str,
    now: i64,
) -> Result<bool, StoreError> {
    lock(c)?;
    let version = next_version(c)?;
    let name = cal.name.as_str();
    let created = c.query_opt("SELECT version FROM work_calendars WHERE name = $1", params![name])?.is_none();
    if created {
        c.execute(
            "INSERT INTO work_calendars (name, definition, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)",
            params![name, definition, version, now, by],
        )?;
    } else {
        c.execute(
            "UPDATE work_calendars SET definition = $1, version = $2, updated_at = $3, updated_by = $4 WHERE name = $5",
            params![definition, version, now, by, name],
        )?;
    }
    // The rows there are, each kept at most once (taken out when kept).
    let mut existing: Vec<Option<StoredSource>> = c
        .query(
            "SELECT id, url, include_patterns, exclude_patterns FROM work_calendar_sources WHERE calendar = $1
             ORDER BY position, id",
            params![name],
        )?
        .iter()
        .map(|r| Ok(Some((r.int("id")?, r.opt_text("url")?, r.text("include_patterns")?, r.text("exclude_patterns")?))))
        .collect::<Result<_, StoreError>>()?;
    for (position, spec) in (0i64..).zip(sources) {
        let (include, exclude) = (strings_json(&spec.include), strings_json(&spec.exclude));
        match (&spec.url, &spec.body) {
            (Some(url), None) => {
                // The same subscription keeps its row: its last good copy,
                // validators and holidays, and a fetch under way still lands.
                let kept = existing.iter_mut().find(|e| {
                    e.as_ref().is_some_and(|(_, u, i, x)| u.as_ref() == Some(url) && *i == include && *x == exclude)
                });
                if let Some((id, ..)) = kept.and_then(Option::take) {
                    c.execute("UPDATE work_calendar_sources SET position = $1 WHERE id = $2", params![position, id])?;
                } else {
                    c.execute(
                        "INSERT INTO work_calendar_sources (calendar, position, url, include_patterns, exclude_patterns,
                                                            status)
                         VALUES ($1, $2, $3, $4, $5, 'pending')",
                        params![name, position, url, include, exclude],
                    )?;
                }
            }
            (None, Some(body)) => {
                let (holidays, count) = holidays_json(&spec.holidays);
                c.execute(
                    "INSERT INTO work_calendar_sources (calendar, position, include_patterns, exclude_patterns, body,
                                                        status, holidays, count)
                     VALUES ($1, $2, $3, $4, $5, 'ok', $6, $7)",
                    params![name, position, include, exclude, body, holidays, count],
                )?;
            }
            _ => {
                return Err(StoreError::Config(format!(
                    "holiday source {} of the work calendar '{name}' must have either a URL or an uploaded text",
                    position + 1
                )))
            }
        }
    }
    for (id, ..) in existing.into_iter().flatten() {
        c.execute("DELETE FROM work_calendar_sources WHERE id = $1", params![id])?;
    }
    Ok(created)
}

impl Store {
    /// Creates or replaces a work calendar and its sources in one
    /// transaction; returns it as stored and whether it was created.
    ///
    /// The version grows. The sources are replaced in the order given, but a
    /// URL source with the same URL and patterns as one stored keeps its row
    /// (its id, last good copy, validators, status and holidays), so saving a
    /// calendar without changing its sources loses nothing; a new URL source
    /// waits for its first fetch (`pending`). An upload is stored with the
    /// holidays given in its [`SourceSpec`] (`ok`). A source with both or
    /// neither of a URL and a text is refused (the caller checks its input).
    pub async fn put_work_calendar(
        &self,
        cal: &WorkCalendar,
        sources: Vec<SourceSpec>,
        by: &str,
        now: Timestamp,
    ) -> Result<(StoredWorkCalendar, bool), StoreError> {
        let definition =
            serde_json::to_string(cal).map_err(|e| StoreError::Corrupt(format!("work calendar {}: {e}", cal.name)))?;
        let (cal, by) = (cal.clone(), by.to_owned());
        self.tx(move |c| {
            let created = put_in(c, &cal, &definition, &sources, &by, now.as_millisecond())?;
            let stored =
                load(c, &cal.name)?.ok_or_else(|| StoreError::NotFound(format!("work calendar '{}'", cal.name)))?;
            Ok((stored, created))
        })
        .await
    }

    /// A work calendar with its sources.
    pub async fn work_calendar(&self, name: &str) -> Result<Option<StoredWorkCalendar>, StoreError> {
        let name = name.to_owned();
        self.read(move |c| load(c, &name)).await
    }

    /// At most `limit` work calendars with their sources, by name, after the
    /// name `after` (the last of the page before).
    pub async fn work_calendars(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredWorkCalendar>, StoreError> {
        let after = after.unwrap_or("").to_owned();
        self.read(move |c| {
            let mut cals: Vec<(String, StoredWorkCalendar)> = c
                .query(
                    "SELECT name, definition, version, updated_at, updated_by, recomputed_version FROM work_calendars WHERE name > $1
                     ORDER BY name LIMIT $2",
                    params![after, page(limit)],
                )?
                .iter()
                .map(|r| Ok((r.text("name")?, calendar(r)?)))
                .collect::<Result<_, StoreError>>()?;
            let (Some((first, _)), Some((last, _))) = (cals.first(), cals.last()) else {
                return Ok(Vec::new());
            };
            // The calendars first, then their sources: see `load`.
            let sources = c.query(
                concat!(
                    "SELECT ",
                    source_columns!(),
                    " FROM work_calendar_sources WHERE calendar >= $1 AND calendar <= $2
                     ORDER BY calendar, position, id"
                ),
                params![first, last],
            )?;
            for r in &sources {
                let s = source(r)?;
                if let Some((_, cal)) = cals.iter_mut().find(|(name, _)| *name == s.calendar) {
                    cal.sources.push(s);
                }
            }
            Ok(cals.into_iter().map(|(_, cal)| cal).collect())
        })
        .await
    }

    /// The name and version of every work calendar, by name: what a cache of
    /// compiled calendars compares to see which changed.
    pub async fn work_calendar_versions(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|c| {
            c.query("SELECT name, version FROM work_calendars ORDER BY name", &[])?
                .iter()
                .map(|r| Ok((r.text("name")?, r.int("version")?)))
                .collect()
        })
        .await
    }

    /// Records that every open deadline counted in the calendar `name` is
    /// recomputed for `version` (never moves back).
    pub async fn mark_recomputed(&self, name: &str, version: i64) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.read(move |c| {
            c.execute(
                "UPDATE work_calendars SET recomputed_version = $2 WHERE name = $1 AND recomputed_version < $2",
                params![name, version],
            )?;
            Ok(())
        })
        .await
    }

    /// The calendars whose last change's recompute did not finish (its
    /// version is ahead of the version recomputed), with that version; at
    /// most `limit`, by name.
    pub async fn calendars_behind(&self, limit: usize) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT name, version FROM work_calendars WHERE recomputed_version < version ORDER BY name LIMIT $1",
                params![page(limit)],
            )?
            .iter()
            .map(|r| Ok((r.text("name")?, r.int("version")?)))
            .collect()
        })
        .await
    }

    /// Deletes a work calendar with its sources; false if there was none.
    /// (Whether models still name it is the caller's question:
    /// [`Store::models_naming_calendar`].)
    pub async fn delete_work_calendar(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.tx(move |c| {
            lock(c)?;
            // The sources go by the foreign key's ON DELETE CASCADE.
            Ok(c.execute("DELETE FROM work_calendars WHERE name = $1", params![name])? > 0)
        })
        .await
    }

    /// Records what fetching the URL source `id` gave. Returns whether its
    /// holidays changed (then the calendar's version grows in the same
    /// transaction), or `None` when the source no longer exists (its
    /// calendar was deleted, or saved without it).
    ///
    /// A new copy replaces the body, validators and holidays; a 304 only
    /// marks the copy kept as current; a failure keeps the last good copy
    /// and its holidays and records the error. Every outcome sets `checked_at`.
    pub async fn record_source_fetch(
        &self,
        id: i64,
        outcome: FetchOutcome,
        now: Timestamp,
    ) -> Result<Option<bool>, StoreError> {
        let now = now.as_millisecond();
        self.tx(move |c| {
            lock(c)?;
            let Some(row) =
                c.query_opt("SELECT calendar, holidays FROM work_calendar_sources WHERE id = $1", params![id])?
            else {
                return Ok(None);
            };
            let changed = match outcome {
                FetchOutcome::Fetched { body, etag, last_modified, holidays } => {
                    let (text, count) = holidays_json(&holidays);
                    c.execute(
                        "UPDATE work_calendar_sources
                         SET body = $1, etag = $2, last_modified = $3, fetched_at = $4, checked_at = $4,
                             status = 'ok', error = NULL, holidays = $5, count = $6
                         WHERE id = $7",
                        params![body, etag, last_modified, now, text.clone(), count, id],
                    )?;
                    text != row.text("holidays")?
                }
                FetchOutcome::NotModified => {
                    c.execute(
                        "UPDATE work_calendar_sources SET fetched_at = $1, checked_at = $1, status = 'ok', error = NULL
                         WHERE id = $2",
                        params![now, id],
                    )?;
                    false
                }
                FetchOutcome::Failed { error } => {
                    c.execute(
                        "UPDATE work_calendar_sources SET checked_at = $1, status = 'failed', error = $2 WHERE id = $3",
                        params![now, error, id],
                    )?;
                    false
                }
            };
            if changed {
                let version = next_version(c)?;
                c.execute(
                    "UPDATE work_calendars SET version = $1 WHERE name = $2",
                    params![version, row.text("calendar")?],
                )?;
            }
            Ok(Some(changed))
        })
        .await
    }

    /// At most `limit` URL sources not checked since `before` (never checked
    /// first, then the longest ago): what the daily refresh fetches.
    pub async fn sources_due(&self, before: Timestamp, limit: usize) -> Result<Vec<SourceRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                concat!(
                    "SELECT ",
                    source_columns!(),
                    " FROM work_calendar_sources
                     WHERE url IS NOT NULL AND (checked_at IS NULL OR checked_at < $1)
                     ORDER BY checked_at NULLS FIRST, id LIMIT $2"
                ),
                params![before.as_millisecond(), page(limit)],
            )?
            .iter()
            .map(source)
            .collect()
        })
        .await
    }

    /// At most `limit` instances, with their model versions, whose deadlines
    /// a change of the work calendar `name` may move: running or stopped by
    /// an incident, of a model version naming the calendar, with an open
    /// task. In order of model version, then instance; `after` is the last
    /// pair of the previous page.
    pub async fn instances_using_calendar(
        &self,
        name: &str,
        after: Option<(InstanceId, ModelId)>,
        limit: usize,
    ) -> Result<Vec<(InstanceId, ModelId)>, StoreError> {
        let name = name.to_owned();
        let (after_instance, after_model) = after.map_or((0, 0), |(i, m)| (i.0, m.0));
        self.read(move |c| {
            // Model by model, each one's live instances from the partial
            // index in id order: every page reads only what it returns (and
            // the instances without an open task it passes over).
            let models: Vec<i64> = c
                .query(
                    "SELECT model_id FROM model_calendars WHERE calendar = $1 AND model_id >= $2 ORDER BY model_id",
                    params![&name, after_model],
                )?
                .iter()
                .map(|r| r.int("model_id"))
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for model in models {
                let left = limit.saturating_sub(out.len());
                if left == 0 {
                    break;
                }
                let from = if model == after_model { after_instance } else { 0 };
                let rows = c.query(
                    "SELECT i.id FROM instances i
                     WHERE i.model_id = $1 AND i.status IN ('running', 'incident') AND i.id > $2
                       AND EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = i.id AND t.state = 'open')
                     ORDER BY i.id LIMIT $3",
                    params![model, from, page(left)],
                )?;
                for r in rows.iter() {
                    out.push((InstanceId(r.int("id")?), ModelId(model)));
                }
            }
            Ok(out)
        })
        .await
    }
}
