//! What work calendars are made of, for every layer: the API's forms and
//! views, the days of a range, and the compiled calendars the engine counts
//! deadlines in ([`CalendarCache`]). The service that changes calendars and
//! refreshes their sources is `workcal`.
//!
//! A calendar's effective holidays are its own, then those of its sources in
//! order: a date the calendar lists itself (as a holiday or as an extra
//! working day) keeps what the calendar says.

use crate::error::{AppError, AppResult};
use flowcal_domain::workcal::valid_calendar_name;
use flowcal_domain::{CompiledCalendar, Holiday, ProcessModel, WorkCalendar};
use flowcal_store::{SourceRecord, Store, StoredWorkCalendar};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The most sources a calendar may have.
pub const MAX_SOURCES: usize = 20;
/// The most days one `days` request may ask for (a little over two years).
pub const MAX_DAYS: i64 = 800;
/// Who the history names for a deadline a calendar change moved.
pub const CALENDAR_ACTOR: &str = "work-calendar";

// ---- the compiled calendars ---------------------------------------------------------------------

/// Compiled work calendars by name, each kept for its version.
#[derive(Debug)]
pub struct CalendarCache {
    store: Store,
    compiled: Mutex<HashMap<String, (i64, Arc<CompiledCalendar>)>>,
}

impl CalendarCache {
    pub fn new(store: Store) -> Self {
        CalendarCache { store, compiled: Mutex::new(HashMap::new()) }
    }

    /// The compiled calendars `model` names that exist, by name. A model
    /// without calendars costs nothing; one with calendars costs a query for
    /// the versions, and a compile when a calendar changed since.
    pub async fn for_model(&self, model: &ProcessModel) -> AppResult<BTreeMap<String, Arc<CompiledCalendar>>> {
        let names = model.work_calendars();
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let versions: HashMap<String, i64> = self.store.work_calendar_versions().await?.into_iter().collect();
        let mut out = BTreeMap::new();
        for name in names {
            let Some(&version) = versions.get(name) else { continue };
            let hit = self.lock().get(name).filter(|(v, _)| *v == version).map(|(_, c)| c.clone());
            let compiled = match hit {
                Some(c) => c,
                None => match self.load(name).await? {
                    Some(c) => c,
                    None => continue,
                },
            };
            out.insert(name.to_owned(), compiled);
        }
        Ok(out)
    }

    /// Reads a calendar from the store and compiles it, keeping the result.
    pub async fn load(&self, name: &str) -> AppResult<Option<Arc<CompiledCalendar>>> {
        Ok(self.load_versioned(name).await?.map(|(_, c)| c))
    }

    /// [`CalendarCache::load`], with the version compiled.
    pub async fn load_versioned(&self, name: &str) -> AppResult<Option<(i64, Arc<CompiledCalendar>)>> {
        let Some(stored) = self.store.work_calendar(name).await? else {
            self.lock().remove(name);
            return Ok(None);
        };
        let compiled = Arc::new(compile(&stored)?);
        self.lock().insert(name.to_owned(), (stored.version, compiled.clone()));
        Ok(Some((stored.version, compiled)))
    }

    /// The names of the calendars that exist.
    pub async fn names(&self) -> AppResult<Vec<String>> {
        Ok(self.store.work_calendar_versions().await?.into_iter().map(|(n, _)| n).collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Arc<CompiledCalendar>)>> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A stored calendar with its sources' holidays merged in.
pub fn effective(stored: &StoredWorkCalendar) -> WorkCalendar {
    let mut cal = stored.calendar.clone();
    for source in &stored.sources {
        for (date, name) in &source.holidays {
            if cal.working_days.contains_key(date) {
                continue;
            }
            cal.holidays.entry(*date).or_insert_with(|| Holiday { name: name.clone(), hours: None });
        }
    }
    cal
}

pub(crate) fn compile(stored: &StoredWorkCalendar) -> AppResult<CompiledCalendar> {
    let cal = effective(stored);
    cal.compile().map_err(|e| {
        // Checked when stored; sources may have brought it over a limit.
        AppError::Unprocessable(format!("work calendar '{}' cannot be used: {e}", cal.name))
    })
}

// ---- the API's forms ------------------------------------------------------------------------------

/// A holiday as the API writes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayJson {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The working hours of a half day, e.g. `["09:00-12:00"]`; without: a day off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<String>>,
}

/// An extra working day (a make-up Saturday).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingDayJson {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A holiday source: an iCalendar file by `url` (fetched through the
/// outbound policy, refreshed daily) or uploaded as `ics` text. `include` /
/// `exclude` patterns on SUMMARY and CATEGORIES (`*` and `?` globs; a
/// `summary:`, `category:` or `description:` prefix restricts a pattern to
/// that field) pick the events that count.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ics: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// `PUT /api/v1/admin/work-calendars/{name}` (and a calendar of the
/// configuration file, with its `name`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarPut {
    /// Only in the configuration file; the API takes the name from the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IANA zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Working weekdays, e.g. `["mon","tue","wed","thu","fri"]`.
    pub week: Vec<String>,
    /// Working hours of a working day, e.g. `["09:00-12:00","13:00-17:00"]`; without: the whole day.
    #[serde(default)]
    pub hours: Vec<String>,
    #[serde(default)]
    pub holidays: Vec<HolidayJson>,
    #[serde(default)]
    pub working_days: Vec<WorkingDayJson>,
    #[serde(default)]
    pub sources: Vec<SourcePut>,
}

/// A holiday source as shown: where it comes from, how its last fetch went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceJson {
    /// The URL it is fetched from; none for an uploaded file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub uploaded: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `ok`, `failed` (the last good copy is in use) or `pending` (never fetched).
    pub status: String,
    /// Why the last fetch failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last fetch that succeeded (200 or 304).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fetch: Option<String>,
    /// The last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<String>,
    /// Holiday days it gives (in the years read).
    pub count: i64,
}

/// A work calendar as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkCalendarJson {
    pub name: String,
    pub time_zone: String,
    pub week: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<String>,
    /// The calendar's own holidays (its sources' are in `days`).
    pub holidays: Vec<HolidayJson>,
    pub working_days: Vec<WorkingDayJson>,
    pub sources: Vec<SourceJson>,
    /// Bumped on every change.
    pub version: i64,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// A page of work calendars.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkCalendarList {
    pub work_calendars: Vec<WorkCalendarJson>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One day of a calendar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayJson {
    pub date: String,
    pub working: bool,
    /// The holiday's or the extra working day's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The working hours of a working day, when the calendar has hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<String>>,
}

/// `GET /api/v1/work-calendars/{name}/days`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DaysJson {
    pub days: Vec<DayJson>,
}

fn time_text(t: Timestamp) -> String {
    t.to_string()
}

/// A source's URL as shown: whole to administrators; to others only its
/// scheme and host, since a feed's path or query may hold a secret (a
/// private calendar's address).
pub fn shown_url(url: &str, whole: bool) -> String {
    if whole {
        return url.to_owned();
    }
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => "…".to_owned(),
    }
}

/// The JSON form of a stored calendar; `whole_urls`: the sources' URLs as
/// they are (administrators), else [`shown_url`].
pub fn calendar_json(s: &StoredWorkCalendar, whole_urls: bool) -> WorkCalendarJson {
    let c = &s.calendar;
    let periods = |p: &[flowcal_domain::Period]| p.iter().map(ToString::to_string).collect::<Vec<_>>();
    WorkCalendarJson {
        name: c.name.clone(),
        time_zone: c.time_zone.clone(),
        week: c.week.names().into_iter().map(str::to_owned).collect(),
        hours: periods(&c.hours),
        holidays: c
            .holidays
            .iter()
            .map(|(d, h)| HolidayJson {
                date: d.to_string(),
                name: Some(h.name.clone()).filter(|n| !n.is_empty()),
                hours: h.hours.as_deref().map(periods),
            })
            .collect(),
        working_days: c
            .working_days
            .iter()
            .map(|(d, n)| WorkingDayJson { date: d.to_string(), name: Some(n.clone()).filter(|n| !n.is_empty()) })
            .collect(),
        sources: s.sources.iter().map(|src| source_json(src, whole_urls)).collect(),
        version: s.version,
        updated_at: time_text(s.updated_at),
        updated_by: s.updated_by.clone(),
    }
}

fn source_json(s: &SourceRecord, whole_url: bool) -> SourceJson {
    SourceJson {
        url: s.url.as_deref().map(|u| shown_url(u, whole_url)),
        uploaded: s.url.is_none(),
        include: s.include.clone(),
        exclude: s.exclude.clone(),
        status: s.status.as_str().to_owned(),
        error: s.error.clone(),
        last_fetch: s.fetched_at.map(time_text),
        last_checked: s.checked_at.map(time_text),
        count: s.count,
    }
}

/// The days from `from` to `to` of a compiled calendar, with names.
pub fn days(cal: &CompiledCalendar, from: Date, to: Date) -> Vec<DayJson> {
    let def = cal.calendar();
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        let working = cal.is_working(d);
        let name = def
            .holidays
            .get(&d)
            .map(|h| h.name.clone())
            .or_else(|| def.working_days.get(&d).cloned())
            .filter(|n| !n.is_empty());
        let hours = cal.hours_on(d).filter(|h| !h.is_empty()).map(|h| h.iter().map(ToString::to_string).collect());
        out.push(DayJson { date: d.to_string(), working, name, hours });
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    out
}

/// Reads a `CalendarPut` into a calendar named `name`, checked.
pub fn read_put(name: &str, put: &CalendarPut) -> AppResult<WorkCalendar> {
    if !valid_calendar_name(name) {
        return Err(AppError::Unprocessable(flowcal_domain::WorkCalendarError::BadName(name.to_owned()).to_string()));
    }
    let form = serde_json::json!({
        "name": name,
        "time_zone": put.time_zone,
        "week": put.week,
        "hours": put.hours,
        "holidays": put.holidays,
        "working_days": put.working_days,
    });
    let cal: WorkCalendar = serde_json::from_value(form).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    cal.validate().map_err(|e| AppError::Unprocessable(e.to_string()))?;
    if put.sources.len() > MAX_SOURCES {
        return Err(AppError::Unprocessable(format!(
            "{} holiday sources; a calendar may have at most {MAX_SOURCES}",
            put.sources.len()
        )));
    }
    Ok(cal)
}
