//! The calendar view: the viewer's open tasks' deadlines and the dates they
//! exported, by month, week or as an agenda, in the viewer's time zone, each
//! with its urgency, its state in their calendar and a link to its task.
//! Every read is bounded: a range is at most six weeks, and each list is cut
//! at a page (the page says so).

use super::frame::{error_page, layout, urgency, urgency_badge, Urgency, Viewer};
use crate::app::App;
use crate::error::AppError;
use crate::i18n::Lang;
use axum::extract::{Query, State};
use axum::response::Response;
use flowcal_domain::export::{ExportSource, ExportState};
use flowcal_domain::{Deadline, InstanceId};
use flowcal_store::{DueWindow, TaskFilter, TaskRecord, TaskSort, TaskState, MAX_PAGE};
use fluent_bundle::FluentValue;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use maud::{html, Markup};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Entries a month's day cell shows; the rest are behind "N more".
const DAY_CELL: usize = 4;

/// Days an agenda page covers.
const AGENDA_DAYS: i64 = 14;

/// Overdue tasks the agenda lists above today's entries.
const AGENDA_OVERDUE: usize = 50;

#[derive(serde::Deserialize, Default)]
pub(crate) struct CalendarQuery {
    view: Option<String>,
    /// YYYY-MM-DD: a day of the month or week to show, or the agenda's first day.
    date: Option<String>,
}

/// The three ways to look at the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Month,
    Week,
    Agenda,
}

impl View {
    fn parse(s: Option<&str>) -> Option<View> {
        match s {
            None | Some("") | Some("month") => Some(View::Month),
            Some("week") => Some(View::Week),
            Some("agenda") => Some(View::Agenda),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Agenda => "agenda",
        }
    }
}

/// The days a view shows: from `start` up to, not including, `end`; the
/// month's own first day for a month (its grid starts on a Monday before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub start: Date,
    pub end: Date,
    /// The page before and the page after (their `date`).
    pub prev: Date,
    pub next: Date,
}

fn days(n: i64) -> Span {
    Span::new().days(n)
}

fn add(d: Date, n: i64) -> Result<Date, AppError> {
    d.checked_add(days(n)).map_err(|_| AppError::BadRequest("that date is out of range".into()))
}

/// The Monday on or before `d`.
fn monday_of(d: Date) -> Result<Date, AppError> {
    add(d, -i64::from(d.weekday().to_monday_zero_offset()))
}

/// The days `view` shows around `date`: a month's grid (whole weeks, Monday
/// first: at most six), a week from Monday, or `AGENDA_DAYS` from `date`.
pub(crate) fn range(view: View, date: Date) -> Result<Range, AppError> {
    Ok(match view {
        View::Month => {
            let first = date.first_of_month();
            let last = date.last_of_month();
            let start = monday_of(first)?;
            let end = add(monday_of(last)?, 7)?;
            let prev =
                first.checked_sub(Span::new().months(1)).map_err(|_| AppError::BadRequest("out of range".into()))?;
            let next =
                first.checked_add(Span::new().months(1)).map_err(|_| AppError::BadRequest("out of range".into()))?;
            Range { start, end, prev, next }
        }
        View::Week => {
            let start = monday_of(date)?;
            Range { start, end: add(start, 7)?, prev: add(start, -7)?, next: add(start, 7)? }
        }
        View::Agenda => Range {
            start: date,
            end: add(date, AGENDA_DAYS)?,
            prev: add(date, -AGENDA_DAYS)?,
            next: add(date, AGENDA_DAYS)?,
        },
    })
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum About {
    /// A task's deadline.
    Deadline,
    /// An exported date item, by its label.
    Item(String),
}

/// One entry of the calendar.
#[derive(Debug, Clone)]
struct Entry {
    day: Date,
    /// The time of day in the viewer's zone; none for an all-day date.
    time: Option<String>,
    /// For ordering within a day.
    at: Option<Timestamp>,
    /// The step's name.
    task_name: Option<String>,
    about: About,
    instance_title: String,
    link: Option<String>,
    urgency: Option<Urgency>,
    state: Option<ExportState>,
}

/// A deadline's day and time of day in `zone`.
fn day_of(d: &Deadline, zone: &TimeZone) -> (Date, Option<String>, Option<Timestamp>) {
    match d {
        Deadline::Date(date) => (*date, None, None),
        Deadline::At { at, .. } => {
            let z = at.to_zoned(zone.clone());
            (z.date(), Some(z.strftime("%H:%M").to_string()), Some(*at))
        }
    }
}

/// A stored date item's value as a deadline-like date: a civil date, or an instant.
fn item_date(v: &Json) -> Option<Deadline> {
    let s = v.as_str()?;
    // (A date parser would also take the date of a date-time: only a bare date is one.)
    if s.len() == 10 {
        return s.parse::<Date>().ok().map(Deadline::Date);
    }
    s.parse::<Timestamp>().ok().map(|at| Deadline::At { at, zone: String::new() })
}

/// An export state in the page's words.
fn state_words(s: ExportState, lang: Lang) -> String {
    lang.t(match s {
        ExportState::Synced => "calendar-state-synced",
        ExportState::Pending => "calendar-state-pending",
        ExportState::Failed => "calendar-state-failed",
        ExportState::Waiting => "calendar-state-waiting",
        ExportState::Removed => "calendar-state-removed",
        ExportState::RemovedInCalendar => "calendar-state-removed-in-calendar",
    })
}

/// A day's parts as the calendar's date messages take them: the weekday and
/// month by their long and short names, the day, the month's number, the year.
fn day_args(lang: Lang, d: Date) -> [(&'static str, FluentValue<'static>); 7] {
    let wd = d.weekday().to_monday_one_offset();
    [
        ("weekday", lang.t(&format!("calendar-weekday-{wd}")).into()),
        ("weekday-short", lang.t(&format!("weekday-{wd}")).into()),
        ("day", i64::from(d.day()).into()),
        ("month", lang.t(&format!("calendar-month-{}", d.month())).into()),
        ("month-short", lang.t(&format!("month-{}", d.month())).into()),
        ("month-number", i64::from(d.month()).into()),
        ("year", d.year().to_string().into()),
    ]
}

/// A day in the words of the message `id` (see `day_args`).
fn day_words(lang: Lang, id: &str, d: Date) -> String {
    lang.t_with(id, &day_args(lang, d))
}

fn state_class(s: ExportState) -> &'static str {
    match s {
        ExportState::Synced => "ok",
        ExportState::Failed | ExportState::Waiting => "overdue",
        _ => "pending",
    }
}

/// The window of deadlines a range keeps, in `zone`.
fn window(r: &Range, zone: &TimeZone) -> DueWindow {
    let ms = |d: Date| d.to_zoned(zone.clone()).map_or(0, |z| z.timestamp().as_millisecond());
    DueWindow { from_date: r.start.to_string(), to_date: r.end.to_string(), from_ms: ms(r.start), to_ms: ms(r.end) }
}

/// The entries of a range: the viewer's open tasks with a deadline in it
/// (those My tasks lists), marked with the state of their exported deadline,
/// and the date items they exported that fall in it. `true` when a list was
/// cut at its bound.
async fn entries(app: &App, v: &Viewer, w: DueWindow, now: Timestamp) -> Result<(Vec<Entry>, bool), AppError> {
    let (start, end): (Date, Date) = (
        w.from_date.parse().map_err(|_| AppError::BadRequest("bad range".into()))?,
        w.to_date.parse().map_err(|_| AppError::BadRequest("bad range".into()))?,
    );
    let filter = TaskFilter { state: Some(TaskState::Open), due: Some(w), process: None, assigned: None };
    let tasks = app.store.tasks_page(v.p.login(), &v.p.roles, filter, TaskSort::Deadline, None, MAX_PAGE).await?;
    let exports = app.store.calendar_exports(v.p.user.id, MAX_PAGE).await?;
    let mut cut = tasks.more || exports.more;
    // The state of each source, the newest export first (an entry may be on two calendars).
    let mut states: HashMap<String, ExportState> = HashMap::new();
    for (e, _) in &exports.items {
        states.entry(e.source.to_string()).or_insert(e.state);
    }
    let mut out = Vec::new();
    for t in &tasks.items {
        let state = states.get(&ExportSource::TaskDeadline(t.id).to_string()).copied();
        out.extend(deadline_entry(t, &v.zone, now, state));
    }
    // Exported dates in the range, once per source.
    let mut seen = std::collections::HashSet::new();
    let mut in_range: Vec<(InstanceId, String, Deadline, ExportState)> = Vec::new();
    for (e, data) in &exports.items {
        let ExportSource::InstanceItem { instance, key } = &e.source else { continue };
        if !seen.insert(e.source.to_string()) {
            continue;
        }
        let Some(d) = data.get(key).and_then(item_date) else { continue };
        let (day, _, _) = day_of(&d, &v.zone);
        if day >= start && day < end {
            in_range.push((*instance, key.clone(), d, e.state));
        }
    }
    // At most a page of instances is read, one each.
    if in_range.len() > MAX_PAGE {
        in_range.truncate(MAX_PAGE);
        cut = true;
    }
    let mut views = HashMap::new();
    for (instance, key, d, state) in in_range {
        if let std::collections::hash_map::Entry::Vacant(slot) = views.entry(instance) {
            // An instance the viewer is no longer involved in is left out.
            slot.insert(app.workflow.instance(&v.p, instance).await.ok());
        }
        let Some(Some(view)) = views.get(&instance) else { continue };
        let label = match app.workflow.model(view.instance.model_id).await {
            Ok((_, m)) => m.item(&key).map_or_else(|| key.clone(), |i| i.label.clone()),
            Err(_) => key.clone(),
        };
        // The instance's task open for the viewer, else the latest they may see.
        let open = view.tasks.iter().find(|t| t.state == TaskState::Open && v.p.can_work(t));
        let task = open.or_else(|| view.tasks.iter().rev().find(|t| v.p.can_see(t)));
        let (day, time, at) = day_of(&d, &v.zone);
        out.push(Entry {
            day,
            time,
            at,
            task_name: task.map(|t| t.name.clone()),
            about: About::Item(label),
            instance_title: view.instance.title.clone(),
            link: task.map(|t| format!("/tasks/{}", t.id.0)),
            urgency: None,
            state: Some(state),
        });
    }
    out.sort_by_key(|e| (e.day, e.time.is_some(), e.at));
    Ok((out, cut))
}

/// A task's deadline as an entry (none without a deadline), with the state
/// of its exported deadline.
fn deadline_entry(t: &TaskRecord, zone: &TimeZone, now: Timestamp, state: Option<ExportState>) -> Option<Entry> {
    let d = t.deadline.as_ref()?;
    let (day, time, at) = day_of(d, zone);
    Some(Entry {
        day,
        time,
        at,
        task_name: Some(t.name.clone()),
        about: About::Deadline,
        instance_title: t.instance_title.clone(),
        link: Some(format!("/tasks/{}", t.id.0)),
        urgency: Some(urgency(d, now, zone)),
        state,
    })
}

/// The viewer's open tasks due before today (for the agenda, which lists
/// today's under today).
async fn overdue(app: &App, v: &Viewer, now: Timestamp) -> Result<(Vec<Entry>, bool), AppError> {
    let today = now.to_zoned(v.zone.clone()).date();
    let start_of_today = today.to_zoned(v.zone.clone()).map_or(now, |z| z.timestamp());
    let w = DueWindow {
        from_date: String::new(),
        to_date: today.to_string(),
        from_ms: i64::MIN,
        to_ms: start_of_today.as_millisecond(),
    };
    let filter = TaskFilter { state: Some(TaskState::Open), due: Some(w), process: None, assigned: None };
    let tasks = app.store.tasks_page(v.p.login(), &v.p.roles, filter, TaskSort::Deadline, None, AGENDA_OVERDUE).await?;
    let out = tasks.items.iter().filter_map(|t| deadline_entry(t, &v.zone, now, None)).collect();
    Ok((out, tasks.more))
}

fn href(view: View, date: Date) -> String {
    format!("/calendar?view={}&date={date}", view.as_str())
}

/// `GET /calendar?view=month|week|agenda&date=YYYY-MM-DD`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<CalendarQuery>) -> Response {
    let Some(view) = View::parse(q.view.as_deref()) else {
        return error_page(Some(&v), &AppError::BadRequest(v.lang.t("calendar-bad-view")));
    };
    let now = app.now();
    let today = now.to_zoned(v.zone.clone()).date();
    let date = match q.date.as_deref().filter(|d| !d.is_empty()) {
        None => today,
        Some(d) => match d.parse::<Date>() {
            Ok(d) if (1970..=9000).contains(&d.year()) => d,
            _ => return error_page(Some(&v), &AppError::BadRequest(v.lang.t("calendar-bad-date"))),
        },
    };
    let r = match range(view, date) {
        Ok(r) => r,
        Err(_) => return error_page(Some(&v), &AppError::BadRequest(v.lang.t("calendar-out-of-range"))),
    };
    let (list, cut) = match entries(&app, &v, window(&r, &v.zone), now).await {
        Ok(e) => e,
        Err(e) => return error_page(Some(&v), &e),
    };
    let (late, late_cut) = if view == View::Agenda && r.start <= today && today < r.end {
        match overdue(&app, &v, now).await {
            Ok(o) => o,
            Err(e) => return error_page(Some(&v), &e),
        }
    } else {
        (Vec::new(), false)
    };
    let mut by_day: BTreeMap<Date, Vec<&Entry>> = BTreeMap::new();
    for e in &list {
        by_day.entry(e.day).or_default().push(e);
    }
    let lang = v.lang;
    let heading = match view {
        View::Month => day_words(lang, "calendar-month-heading", date),
        View::Week => lang.t_with("calendar-week-heading", &[("date", lang.date(r.start).into())]),
        View::Agenda => lang.t_with("calendar-agenda-heading", &[("date", lang.date(r.start).into())]),
    };
    let title = lang.t("calendar-title");
    let body = html! {
        h1 { (title) }
        p.sub { (lang.t_with("calendar-intro", &[("zone", v.zone.iana_name().unwrap_or("UTC").into())])) }
        nav.cal-views aria-label=(lang.t("calendar-views")) {
            @for other in [View::Month, View::Week, View::Agenda] {
                a href=(href(other, date)) aria-current=[(other == view).then_some("page")] {
                    (lang.t(match other {
                        View::Month => "calendar-view-month",
                        View::Week => "calendar-view-week",
                        View::Agenda => "calendar-view-agenda",
                    }))
                }
            }
        }
        h2 id="range" { (heading) }
        nav.pager.cal-pager aria-label=(lang.t("calendar-pages")) {
            a rel="prev" href=(href(view, r.prev)) { (lang.t("calendar-previous")) }
            a href=(href(view, today)) { (lang.t("calendar-today")) }
            a rel="next" href=(href(view, r.next)) {
                (lang.t(if view == View::Agenda { "calendar-later" } else { "calendar-next" }))
            }
        }
        @if cut {
            p.hint role="status" { (lang.t_with("calendar-cut", &[("count", MAX_PAGE.to_string().into())])) }
        }
        @if view == View::Month && by_day.is_empty() {
            p.empty { (lang.t("calendar-month-empty")) }
        }
        @match view {
            View::Month => (month(&r, date, today, &by_day, lang)),
            View::Week => (week(&r, today, &by_day, lang)),
            View::Agenda => (agenda(&late, late_cut, &by_day, lang)),
        }
    };
    layout(Some(&v), &title, None, body)
}

/// One entry as a list item: its link, what it is, its marks.
fn entry(e: &Entry, lang: Lang) -> Markup {
    let title = match (&e.about, &e.task_name) {
        (About::Deadline, Some(n)) => lang.t_with("calendar-entry-deadline", &[("step", n.as_str().into())]),
        (About::Item(label), _) => label.clone(),
        (About::Deadline, None) => lang.t("calendar-deadline"),
    };
    html! {
        li.entry.overdue[e.urgency == Some(Urgency::Overdue)] {
            @if let Some(t) = &e.time { time.at datetime=[e.at.map(|a| a.to_string())] { (t) } " " }
            @match &e.link {
                Some(l) => { a href=(l) { (title) } }
                None => { span { (title) } " " span.hint { (lang.t("calendar-no-open-task")) } }
            }
            " " span.ctx { (e.instance_title) }
            @if let Some(u) = e.urgency.filter(|u| *u != Urgency::Later) { " " (urgency_badge(u, lang)) }
            @if let Some(s) = e.state {
                " " span.badge.(state_class(s)) { span.visually-hidden { (lang.t("calendar-state-prefix")) " " } (state_words(s, lang)) }
            }
        }
    }
}

fn entry_list(list: &[&Entry], cap: Option<(usize, Date)>, lang: Lang) -> Markup {
    let shown = cap.map_or(list.len(), |(n, _)| n.min(list.len()));
    html! {
        ul.entries {
            @for e in &list[..shown] { (entry(e, lang)) }
            @if let Some((_, day)) = cap {
                @if list.len() > shown {
                    @let more = i64::try_from(list.len() - shown).unwrap_or(i64::MAX);
                    li.more {
                        a href=(href(View::Week, day)) {
                            (lang.t_with("calendar-more", &[("count", more.into())]))
                            span.visually-hidden { " " (day_words(lang, "calendar-more-on", day)) }
                        }
                    }
                }
            }
        }
    }
}

/// The month: a grid of whole weeks, one cell per day with its entries.
fn month(r: &Range, date: Date, today: Date, by_day: &BTreeMap<Date, Vec<&Entry>>, lang: Lang) -> Markup {
    let mut weeks: Vec<Vec<Date>> = Vec::new();
    let mut d = r.start;
    while d < r.end {
        if d.weekday() == Weekday::Monday {
            weeks.push(Vec::new());
        }
        if let Some(w) = weeks.last_mut() {
            w.push(d);
        }
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    html! {
        table.cal-month aria-labelledby="range" {
            thead { tr { @for n in 1..=7 {
                th scope="col" { abbr title=(lang.t(&format!("calendar-weekday-{n}"))) { (lang.t(&format!("weekday-{n}"))) } }
            } } }
            tbody {
                @for w in &weeks {
                    tr {
                        @for day in w {
                            @let list = by_day.get(day).map(Vec::as_slice).unwrap_or(&[]);
                            td.cal-day.other[day.month() != date.month()].today[*day == today].empty[list.is_empty()] {
                                span.date {
                                    @let before = day_words(lang, "calendar-cell-before", *day);
                                    time datetime=(day.to_string()) {
                                        span.wd aria-hidden="true" {
                                            (lang.t(&format!("weekday-{}", day.weekday().to_monday_one_offset()))) " "
                                        }
                                        @if !before.is_empty() { span.visually-hidden { (before) } }
                                        (day.day())
                                        span.visually-hidden { (day_words(lang, "calendar-cell-after", *day)) }
                                    }
                                    @if *day == today { " " span.hint { (lang.t("calendar-today-mark")) } }
                                }
                                @if !list.is_empty() { (entry_list(list, Some((DAY_CELL, *day)), lang)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The week: seven days as sections.
fn week(r: &Range, today: Date, by_day: &BTreeMap<Date, Vec<&Entry>>, lang: Lang) -> Markup {
    let days: Vec<Date> = (0..7).filter_map(|n| r.start.checked_add(Span::new().days(n)).ok()).collect();
    html! {
        div.cal-week {
            @for day in &days {
                section.cal-weekday.today[*day == today] aria-labelledby={ "d-" (day) } {
                    h3 id={ "d-" (day) } {
                        (day_words(lang, "calendar-day-heading", *day))
                        @if *day == today { " " span.hint { (lang.t("calendar-today-paren")) } }
                    }
                    @match by_day.get(day) {
                        Some(list) => (entry_list(list, None, lang)),
                        None => p.muted { (lang.t("calendar-week-empty")) },
                    }
                }
            }
        }
    }
}

/// The agenda: the overdue tasks, then every day with entries, in order.
fn agenda(late: &[Entry], late_cut: bool, by_day: &BTreeMap<Date, Vec<&Entry>>, lang: Lang) -> Markup {
    let late: Vec<&Entry> = late.iter().collect();
    html! {
        @if !late.is_empty() {
            section.cal-overdue aria-labelledby="overdue-h" {
                h3 id="overdue-h" { (lang.t("calendar-overdue")) }
                (entry_list(&late, None, lang))
                @if late_cut {
                    p.hint {
                        (lang.t_with("calendar-overdue-cut", &[("count", AGENDA_OVERDUE.to_string().into())])) " "
                        a href="/tasks?show=overdue" { (lang.t("calendar-all-overdue")) }
                    }
                }
            }
        }
        @if by_day.is_empty() {
            p.empty { (lang.t_with("calendar-agenda-empty", &[("count", AGENDA_DAYS.into())])) }
        }
        @for (day, list) in by_day {
            section.cal-agenda-day aria-labelledby={ "d-" (day) } {
                h3 id={ "d-" (day) } { (day_words(lang, "calendar-day-heading-year", *day)) }
                (entry_list(list, None, lang))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_is_whole_weeks_from_monday_at_most_six() {
        // March 2026 starts on a Sunday and ends on a Tuesday: six weeks.
        let r = range(View::Month, d("2026-03-17")).unwrap();
        assert_eq!((r.start, r.end), (d("2026-02-23"), d("2026-04-06")));
        assert_eq!((r.prev, r.next), (d("2026-02-01"), d("2026-04-01")));
        // February 2027 starts on a Monday and ends on a Sunday: four weeks.
        let r = range(View::Month, d("2027-02-10")).unwrap();
        assert_eq!((r.start, r.end), (d("2027-02-01"), d("2027-03-01")));
        for m in 1..=12 {
            let r = range(View::Month, Date::new(2026, m, 15).unwrap()).unwrap();
            let n = (r.end - r.start).get_days();
            assert!(n % 7 == 0 && n <= 42, "{m}: {n}");
        }
    }

    #[test]
    fn a_week_starts_on_monday_and_an_agenda_on_its_day() {
        let r = range(View::Week, d("2026-03-29")).unwrap();
        assert_eq!(
            (r.start, r.end, r.prev, r.next),
            (d("2026-03-23"), d("2026-03-30"), d("2026-03-16"), d("2026-03-30"))
        );
        let r = range(View::Agenda, d("2026-03-27")).unwrap();
        assert_eq!((r.start, r.end, r.next), (d("2026-03-27"), d("2026-04-10"), d("2026-04-10")));
    }

    #[test]
    fn the_window_is_the_viewers_days() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let r = range(View::Week, d("2026-03-27")).unwrap();
        let w = window(&r, &zone);
        assert_eq!((w.from_date.as_str(), w.to_date.as_str()), ("2026-03-23", "2026-03-30"));
        // Midnight in Berlin (UTC+1, then UTC+2 from the 29th).
        assert_eq!(Timestamp::from_millisecond(w.from_ms).unwrap().to_string(), "2026-03-22T23:00:00Z");
        assert_eq!(Timestamp::from_millisecond(w.to_ms).unwrap().to_string(), "2026-03-29T22:00:00Z");
    }

    #[test]
    fn item_values_read_as_dates_or_instants() {
        assert_eq!(item_date(&Json::from("2026-03-30")), Some(Deadline::Date(d("2026-03-30"))));
        let at = item_date(&Json::from("2026-03-29T01:30:00+01:00")).unwrap();
        let Deadline::At { at, .. } = at else { panic!() };
        assert_eq!(at.to_string(), "2026-03-29T00:30:00Z");
        assert_eq!(item_date(&Json::from("soon")), None);
        assert_eq!(item_date(&Json::from(3)), None);
    }
}
