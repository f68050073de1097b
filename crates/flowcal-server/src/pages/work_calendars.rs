//! Work calendars for everyone signed in: the list, and a calendar's year
//! (twelve month grids with its holidays named, extra working days and days
//! off marked) with its holiday sources and how their last fetch went.
//! Administrators create, edit, refresh and delete calendars on the same
//! pages; the service checks their rights again.

use super::frame::{comma_list, csrf_field, error_page, layout_status, see_other_notice, Fields, Posted, Viewer};
use crate::app::App;
use crate::error::AppError;
use crate::workcal::{effective, CalendarPut, HolidayJson, Refreshed, SourcePut, WorkingDayJson};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use flowcal_domain::{CompiledCalendar, Period, WorkCalendar};
use flowcal_store::{SourceRecord, SourceStatus, StoredWorkCalendar};
use jiff::civil::Date;
use jiff::Timestamp;
use maud::{html, Markup};
use std::sync::Arc;

/// The weekdays, Monday first: the form's value, the grid's heading, the full name.
const WEEKDAYS: [(&str, &str, &str); 7] = [
    ("mon", "Mo", "Monday"),
    ("tue", "Tu", "Tuesday"),
    ("wed", "We", "Wednesday"),
    ("thu", "Th", "Thursday"),
    ("fri", "Fr", "Friday"),
    ("sat", "Sa", "Saturday"),
    ("sun", "Su", "Sunday"),
];

/// How many calendars the list shows per page.
const PAGE: usize = 100;

/// The years the year view shows (so that the previous and next year exist too).
const YEARS: std::ops::RangeInclusive<i16> = 1..=9998;

/// The start of a source line that keeps an uploaded file: `uploaded #ID`.
const UPLOADED: &str = "uploaded";

fn admins_only(v: &Viewer) -> Result<(), Response> {
    if v.p.is_admin() {
        Ok(())
    } else {
        Err(error_page(Some(v), &AppError::Forbidden("only administrators change work calendars".into())))
    }
}

// ---- the form -----------------------------------------------------------------------------------

/// The edit form's fields, as stored or as typed (kept when the service refuses them).
#[derive(Debug, Clone, Default, PartialEq)]
struct CalendarForm {
    name: String,
    time_zone: String,
    /// Working weekdays, Monday first.
    week: [bool; 7],
    /// `09:00-12:00, 13:00-17:00`.
    hours: String,
    /// One per line: `YYYY-MM-DD Name` or `YYYY-MM-DD Name 09:00-12:00`.
    holidays: String,
    /// One per line: `YYYY-MM-DD Name`.
    working_days: String,
    /// One per line: `URL [include=P;P] [exclude=P;P]` or `uploaded #ID [include=…] [exclude=…]`.
    sources: String,
    /// A pasted iCalendar file: one more source, after the lines.
    ics: String,
    ics_include: String,
    ics_exclude: String,
}

impl CalendarForm {
    /// An empty calendar: Monday to Friday in `zone`.
    fn blank(zone: &str) -> Self {
        CalendarForm {
            time_zone: zone.to_owned(),
            week: [true, true, true, true, true, false, false],
            ..CalendarForm::default()
        }
    }

    /// The form of a stored calendar (its own holidays; its sources as lines).
    fn of(stored: &StoredWorkCalendar) -> Self {
        let c = &stored.calendar;
        let holidays = c
            .holidays
            .iter()
            .map(|(d, h)| {
                let mut line = vec![d.to_string()];
                if !h.name.is_empty() {
                    line.push(h.name.clone());
                }
                if let Some(hours) = &h.hours {
                    line.push(periods_text(hours));
                }
                line.join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let working_days = c
            .working_days
            .iter()
            .map(|(d, n)| if n.is_empty() { d.to_string() } else { format!("{d} {n}") })
            .collect::<Vec<_>>()
            .join("\n");
        let sources = stored
            .sources
            .iter()
            .map(|s| {
                let head = match &s.url {
                    Some(url) => url.clone(),
                    None => format!("{UPLOADED} #{}", s.id),
                };
                format!("{head}{}", patterns_text(&s.include, &s.exclude))
            })
            .collect::<Vec<_>>()
            .join("\n");
        CalendarForm {
            name: c.name.clone(),
            time_zone: c.time_zone.clone(),
            week: c.week.flags(),
            hours: periods_text(&c.hours),
            holidays,
            working_days,
            sources,
            ..CalendarForm::default()
        }
    }

    /// The form as posted.
    fn typed(f: &Fields) -> Self {
        let mut week = [false; 7];
        for (k, value) in &f.0 {
            if k == "week" {
                if let Some(i) = WEEKDAYS.iter().position(|(v, ..)| v == value) {
                    week[i] = true;
                }
            }
        }
        CalendarForm {
            name: f.text("name"),
            time_zone: f.text("time_zone"),
            week,
            hours: f.text("hours"),
            holidays: f.text("holidays"),
            working_days: f.text("working_days"),
            sources: f.text("sources"),
            ics: f.text("ics"),
            ics_include: f.text("ics_include"),
            ics_exclude: f.text("ics_exclude"),
        }
    }

    /// What the service is given. `stored`: the calendar as it is now, whose
    /// uploaded files `uploaded #ID` lines keep.
    fn to_put(&self, stored: Option<&StoredWorkCalendar>) -> Result<CalendarPut, AppError> {
        let week = WEEKDAYS.iter().zip(self.week).filter(|(_, on)| *on).map(|((v, ..), _)| (*v).to_owned()).collect();
        let mut holidays = Vec::new();
        for (n, line) in lines(&self.holidays) {
            let (date, rest) = dated(line).map_err(|e| refused("Holidays", n, &e))?;
            let (name, hours) = trailing_hours(rest);
            holidays.push(HolidayJson { date, name, hours });
        }
        let mut working_days = Vec::new();
        for (n, line) in lines(&self.working_days) {
            let (date, rest) = dated(line).map_err(|e| refused("Extra working days", n, &e))?;
            working_days.push(WorkingDayJson { date, name: Some(rest.to_owned()).filter(|s| !s.is_empty()) });
        }
        let mut sources = Vec::new();
        for (n, line) in lines(&self.sources) {
            sources.push(source_line(line, stored).map_err(|e| refused("Holiday sources", n, &e))?);
        }
        if !self.ics.is_empty() {
            sources.push(SourcePut {
                url: None,
                ics: Some(self.ics.clone()),
                include: patterns(&self.ics_include),
                exclude: patterns(&self.ics_exclude),
            });
        }
        Ok(CalendarPut {
            name: None,
            time_zone: self.time_zone.clone(),
            week,
            hours: comma_list(&self.hours),
            holidays,
            working_days,
            sources,
        })
    }
}

/// A line of a textarea that was refused, and why.
fn refused(field: &str, line: usize, why: &str) -> AppError {
    AppError::Unprocessable(format!("{field}, line {line}: {why}"))
}

/// The non-empty lines of a textarea with their numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

/// `YYYY-MM-DD rest`: the date (checked) and the rest.
fn dated(line: &str) -> Result<(String, &str), String> {
    let (date, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if date.parse::<Date>().is_err() {
        return Err(format!("'{date}' is not a date: start the line with YYYY-MM-DD"));
    }
    Ok((date.to_owned(), rest.trim()))
}

/// A holiday's name and the working hours of a half day at its end
/// (`Christmas Eve 09:00-12:00`; several periods apart by spaces or commas).
fn trailing_hours(rest: &str) -> (Option<String>, Option<Vec<String>>) {
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    // Read from the end: the last words that are all periods.
    let mut groups: Vec<Vec<String>> = Vec::new();
    while let Some(last) = words.last() {
        let periods: Vec<&str> = last.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if periods.is_empty() || !periods.iter().all(|p| Period::parse(p).is_ok()) {
            break;
        }
        groups.push(periods.into_iter().map(str::to_owned).collect());
        words.pop();
    }
    let hours: Vec<String> = groups.into_iter().rev().flatten().collect();
    let name = words.join(" ").trim_end_matches(',').trim().to_owned();
    (Some(name).filter(|n| !n.is_empty()), Some(hours).filter(|h| !h.is_empty()))
}

/// One source line: `URL [include=P;P] [exclude=P;P]`, or `uploaded #ID …`
/// to keep a file uploaded before.
fn source_line(line: &str, stored: Option<&StoredWorkCalendar>) -> Result<SourcePut, String> {
    let (head, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if head == UPLOADED {
        let rest = rest.trim_start();
        let (id, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (include, exclude) = options(rest)?;
        let id: i64 = id
            .strip_prefix('#')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("write '{UPLOADED} #NUMBER' with the number the sources table shows"))?;
        let body = stored
            .and_then(|s| s.sources.iter().find(|s| s.id == id && s.url.is_none()))
            .and_then(|s| s.body.clone())
            .ok_or_else(|| format!("this calendar has no uploaded file #{id} (any more): paste the file below"))?;
        return Ok(SourcePut { url: None, ics: Some(body), include, exclude });
    }
    let (include, exclude) = options(rest)?;
    Ok(SourcePut { url: Some(head.to_owned()), ics: None, include, exclude })
}

/// `include=P;P exclude=P` (either, both or none; a pattern may hold spaces).
fn options(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
    const KEYS: [&str; 2] = ["include=", "exclude="];
    let text = text.trim();
    // Where each option starts: at the start, or after a space.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    for (k, key) in KEYS.iter().enumerate() {
        for (at, _) in text.match_indices(key) {
            if at == 0 || text[..at].ends_with(char::is_whitespace) {
                starts.push((at, k));
            }
        }
    }
    starts.sort_unstable();
    if let Some(lead) = Some(&text[..starts.first().map_or(text.len(), |s| s.0)]).filter(|l| !l.trim().is_empty()) {
        return Err(format!("'{}' is neither include=PATTERN;PATTERN nor exclude=PATTERN", lead.trim()));
    }
    let (mut include, mut exclude) = (Vec::new(), Vec::new());
    for (i, &(at, k)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |s| s.0);
        let value = &text[at + KEYS[k].len()..end];
        let into = if k == 0 { &mut include } else { &mut exclude };
        into.extend(patterns(value));
    }
    Ok((include, exclude))
}

/// `P;P`: the patterns.
fn patterns(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// ` include=P;P exclude=P`, as a source line ends.
fn patterns_text(include: &[String], exclude: &[String]) -> String {
    let mut out = String::new();
    if !include.is_empty() {
        out.push_str(&format!(" include={}", include.join(";")));
    }
    if !exclude.is_empty() {
        out.push_str(&format!(" exclude={}", exclude.join(";")));
    }
    out
}

fn periods_text(periods: &[Period]) -> String {
    periods.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn week_text(c: &WorkCalendar) -> String {
    let flags = c.week.flags();
    let days: Vec<&str> = WEEKDAYS.iter().zip(flags).filter(|(_, on)| *on).map(|((_, _, n), _)| &n[..3]).collect();
    if days.is_empty() {
        "no working weekdays".to_owned()
    } else {
        days.join(", ")
    }
}

fn hours_text(c: &WorkCalendar) -> String {
    if c.hours.is_empty() {
        "the whole day".to_owned()
    } else {
        periods_text(&c.hours)
    }
}

/// The sources of a calendar in a few words: `none`, `2: 1 ok, 1 failed`.
fn sources_summary(sources: &[SourceRecord]) -> String {
    if sources.is_empty() {
        return "none".to_owned();
    }
    let states: Vec<String> = [SourceStatus::Ok, SourceStatus::Failed, SourceStatus::Pending]
        .into_iter()
        .filter_map(|st| {
            let n = sources.iter().filter(|s| s.status == st).count();
            (n > 0).then(|| format!("{n} {}", st.as_str()))
        })
        .collect();
    format!("{}: {}", sources.len(), states.join(", "))
}

/// The calendar form (a new calendar's, or an existing one's edit form).
fn calendar_form(v: &Viewer, form: &CalendarForm, creating: bool, error: Option<&str>) -> Markup {
    let described = error.map(|_| "calendar-error");
    html! {
        form.workcal method="post" action="/admin/work-calendars" {
            (csrf_field(v))
            @if let Some(e) = error { p.error role="alert" id="calendar-error" { (e) } }
            @if creating {
                input type="hidden" name="create" value="on";
                label for="wc-name" { "Name (a-z, 0-9 and -, e.g. de-berlin)" }
                input id="wc-name" name="name" required maxlength="64" value=(form.name) aria-describedby=[described];
            } @else {
                input type="hidden" name="name" value=(form.name);
            }
            label for="wc-zone" { "Time zone (IANA, e.g. Europe/Berlin)" }
            input id="wc-zone" name="time_zone" required value=(form.time_zone) aria-describedby=[described];
            fieldset.week {
                legend { "Working weekdays" }
                @for (i, (value, _, day)) in WEEKDAYS.iter().enumerate() {
                    label { input type="checkbox" name="week" value=(value) checked[form.week[i]]; " " (day) }
                }
            }
            label for="wc-hours" { "Working hours (e.g. 09:00-12:00, 13:00-17:00; empty: the whole day)" }
            input id="wc-hours" name="hours" value=(form.hours) aria-describedby=[described];
            label for="wc-holidays" { "Holidays (one per line: YYYY-MM-DD Name, or YYYY-MM-DD Name 09:00-12:00 for a half day)" }
            textarea id="wc-holidays" name="holidays" rows="6" aria-describedby=[described] { (form.holidays) }
            label for="wc-working" { "Extra working days (one per line: YYYY-MM-DD Name)" }
            textarea id="wc-working" name="working_days" rows="3" aria-describedby=[described] { (form.working_days) }
            label for="wc-sources" { "Holiday sources (one per line: URL include=PATTERN;PATTERN exclude=PATTERN, both optional)" }
            textarea id="wc-sources" name="sources" rows="4" aria-describedby="wc-sources-hint" { (form.sources) }
            p.hint id="wc-sources-hint" {
                "An iCalendar file by URL is fetched now and refreshed daily. Patterns pick events by SUMMARY and "
                "CATEGORIES (* and ? as wildcards; summary:, category: or description: before a pattern looks "
                "only there). " code { (UPLOADED) " #N" } " keeps the uploaded file N of the sources table. "
                "Sources count in this order: the first one that names a date gives its name."
            }
            details open[!form.ics.is_empty()] {
                summary { "Paste an iCalendar file" }
                label for="wc-ics" { "iCalendar text (BEGIN:VCALENDAR …); it becomes the last source" }
                textarea id="wc-ics" name="ics" rows="6" { (form.ics) }
                label for="wc-ics-include" { "Include (patterns, apart by ;)" }
                input id="wc-ics-include" name="ics_include" value=(form.ics_include);
                label for="wc-ics-exclude" { "Exclude (patterns, apart by ;)" }
                input id="wc-ics-exclude" name="ics_exclude" value=(form.ics_exclude);
            }
            button type="submit" { @if creating { "Create calendar" } @else { "Save calendar" } }
        }
    }
}

// ---- the list --------------------------------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    after: Option<String>,
}

/// `GET /work-calendars`: the calendars; administrators may create one.
pub(crate) async fn list(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    list_page(&app, &v, q.after.as_deref(), None, None, StatusCode::OK).await
}

async fn list_page(
    app: &App,
    v: &Viewer,
    after: Option<&str>,
    typed: Option<&CalendarForm>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (calendars, next) = match app.work_calendars.list(after, PAGE).await {
        Ok(page) => page,
        Err(e) => return error_page(Some(v), &e),
    };
    let blank = CalendarForm::blank(&app.config.time_zone);
    let body = html! {
        h1 { "Work calendars" }
        p.sub { "Deadlines of steps that name a work calendar count its working days and hours only." }
        @if calendars.is_empty() && after.is_none() {
            p.empty { "No work calendars yet." }
        } @else {
            table.calendars {
                caption.visually-hidden { "Work calendars" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Time zone" } th scope="col" { "Working week" }
                    th scope="col" { "Hours" } th scope="col" { "Holiday sources" }
                } }
                tbody {
                    @for s in &calendars {
                        @let c = &s.calendar;
                        tr {
                            td { a href={ "/work-calendars/" (c.name) } { (c.name) } }
                            td { (c.time_zone) }
                            td { (week_text(c)) }
                            td { (hours_text(c)) }
                            td {
                                (sources_summary(&s.sources))
                                @if s.sources.iter().any(|s| s.status == SourceStatus::Failed) {
                                    " " span.badge.overdue { "✗ fetch failed" }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(n) = &next {
                p { a href={ "/work-calendars?after=" (n) } { "More calendars" } }
            }
        }
        @if v.p.is_admin() {
            section.card aria-labelledby="new-h" {
                h2 id="new-h" { "New work calendar" }
                (calendar_form(v, typed.unwrap_or(&blank), true, error))
            }
        }
    };
    layout_status(status, Some(v), "Work calendars", None, body)
}

// ---- one calendar ----------------------------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
pub(crate) struct YearQuery {
    year: Option<String>,
}

/// `GET /work-calendars/{name}?year=YYYY`: the year view (this year in the
/// calendar's zone by default) and the sources; administrators edit here.
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    v: Viewer,
    Path(name): Path<String>,
    Query(q): Query<YearQuery>,
) -> Response {
    let year = match q.year.as_deref().map(|y| y.trim().parse::<i16>()) {
        None => None,
        Some(Ok(y)) if YEARS.contains(&y) => Some(y),
        Some(_) => {
            let e = format!("year must be a year from {} to {}, e.g. ?year=2026", YEARS.start(), YEARS.end());
            return error_page(Some(&v), &AppError::BadRequest(e));
        }
    };
    calendar_page(&app, &v, &name, year, None, None, StatusCode::OK).await
}

/// What a day is, for the year view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Working,
    /// A weekday the calendar's week does not work.
    Off,
    Holiday,
    /// A holiday with working hours on a working weekday.
    HalfDay,
    /// An extra working day (a make-up Saturday).
    Extra,
}

fn kind_of(cal: &CompiledCalendar, d: Date) -> Kind {
    let def = cal.calendar();
    let working = cal.is_working(d);
    match def.holidays.get(&d) {
        Some(h) if working && h.hours.is_some() => Kind::HalfDay,
        Some(_) => Kind::Holiday,
        None if def.working_days.contains_key(&d) => Kind::Extra,
        None if working => Kind::Working,
        None => Kind::Off,
    }
}

/// The class and the visible mark of a kind of day (the legend explains them).
fn look(k: Kind) -> (&'static str, &'static str) {
    match k {
        Kind::Working => ("day", ""),
        Kind::Off => ("day off", ""),
        Kind::Holiday => ("day holiday", "H"),
        Kind::HalfDay => ("day half", "½"),
        Kind::Extra => ("day extra", "W"),
    }
}

/// What a day is, in words: `Christmas Eve (half day: 09:00-12:00)`, `day off`.
fn day_words(cal: &CompiledCalendar, d: Date, k: Kind) -> String {
    let def = cal.calendar();
    let named = |name: &str, what: String| if name.is_empty() { what } else { format!("{name} ({what})") };
    let holiday = def.holidays.get(&d);
    let holiday_name = holiday.map(|h| h.name.as_str()).unwrap_or_default();
    match k {
        Kind::Working => "working day".to_owned(),
        Kind::Off => "day off".to_owned(),
        Kind::Holiday => named(holiday_name, "holiday".to_owned()),
        Kind::HalfDay => {
            let hours = holiday.and_then(|h| h.hours.as_deref()).map(periods_text).unwrap_or_default();
            named(holiday_name, format!("half day: {hours}"))
        }
        Kind::Extra => {
            named(def.working_days.get(&d).map(String::as_str).unwrap_or_default(), "extra working day".to_owned())
        }
    }
}

fn day_cell(cal: &CompiledCalendar, d: Date, today: Date) -> Markup {
    let k = kind_of(cal, d);
    let (class, mark) = look(k);
    let words = day_words(cal, d, k);
    let is_today = d == today;
    let title = format!("{} — {words}{}", d.strftime("%a %-d %b %Y"), if is_today { ", today" } else { "" });
    let class = if is_today { format!("{class} today") } else { class.to_owned() };
    html! {
        td class=(class) title=(title) aria-current=[is_today.then_some("date")] {
            (d.day())
            @if !mark.is_empty() { span.mark aria-hidden="true" { (mark) } }
            @if k != Kind::Working || is_today {
                span.visually-hidden { ": " (words) @if is_today { ", today" } }
            }
        }
    }
}

fn month_grid(cal: &CompiledCalendar, first: Date, today: Date) -> Markup {
    let lead = usize::from(first.weekday().to_monday_zero_offset().unsigned_abs());
    let mut cells: Vec<Option<Date>> = vec![None; lead];
    let mut d = first;
    while d.month() == first.month() && d.year() == first.year() {
        cells.push(Some(d));
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(None);
    }
    html! {
        table.month {
            caption { (first.strftime("%B")) }
            thead { tr { @for (_, short, day) in WEEKDAYS { th scope="col" { abbr title=(day) { (short) } } } } }
            tbody {
                @for week in cells.chunks(7) {
                    tr {
                        @for cell in week {
                            @match cell {
                                Some(d) => { (day_cell(cal, *d, today)) }
                                None => { td.pad {} }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where a holiday of the effective calendar comes from: the calendar itself
/// or its first source that names the date.
fn holiday_origin(stored: &StoredWorkCalendar, d: Date) -> String {
    if stored.calendar.holidays.contains_key(&d) {
        return "this calendar".to_owned();
    }
    stored
        .sources
        .iter()
        .position(|s| s.holidays.iter().any(|(day, _)| *day == d))
        .map(|i| format!("source {}", i + 1))
        .unwrap_or_default()
}

fn when(t: Option<Timestamp>, v: &Viewer) -> String {
    t.map(|t| t.to_zoned(v.zone.clone()).strftime("%-d %b %Y, %H:%M %Z").to_string()).unwrap_or_else(|| "never".into())
}

fn sources_table(stored: &StoredWorkCalendar, v: &Viewer) -> Markup {
    html! {
        @if stored.sources.is_empty() {
            p.muted { "No holiday sources: only the holidays this calendar lists count." }
        } @else {
            table.sources {
                caption.visually-hidden { "Holiday sources" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Source" } th scope="col" { "Patterns" } th scope="col" { "Status" }
                    th scope="col" { "Last fetch" } th scope="col" { "Last checked" } th scope="col" { "Holiday days" }
                } }
                tbody {
                    @for (i, s) in stored.sources.iter().enumerate() {
                        tr {
                            td { (i + 1) }
                            td {
                                @match &s.url {
                                    Some(url) => { code.url { (crate::workcal::shown_url(url, v.p.is_admin())) } }
                                    None => { "uploaded file " code { "#" (s.id) } }
                                }
                            }
                            td {
                                @if s.include.is_empty() && s.exclude.is_empty() { span.muted { "all events" } }
                                @if !s.include.is_empty() { "include: " code { (s.include.join("; ")) } br; }
                                @if !s.exclude.is_empty() { "exclude: " code { (s.exclude.join("; ")) } }
                            }
                            td {
                                @match s.status {
                                    SourceStatus::Ok => { span.badge.ok { "✓ ok" } }
                                    SourceStatus::Pending => { span.badge.pending { "⏳ pending" } }
                                    SourceStatus::Failed => {
                                        span.badge.overdue { "✗ failed" } " "
                                        span.reason { (s.error.clone().unwrap_or_default()) }
                                        @if s.body.is_some() {
                                            " " span.hint { "The last good copy is in use." }
                                        } @else {
                                            " " span.hint { "No good copy yet: its holidays do not count." }
                                        }
                                    }
                                }
                            }
                            td { @if s.url.is_some() { (when(s.fetched_at, v)) } @else { span.muted { "uploaded" } } }
                            td { @if s.url.is_some() { (when(s.checked_at, v)) } }
                            td { (s.count) }
                        }
                    }
                }
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        ul.legend aria-label="Legend" {
            li { span.sample.day.holiday aria-hidden="true" { "1" span.mark { "H" } } " H: holiday (a day off), its name on the day" }
            li { span.sample.day.half aria-hidden="true" { "1" span.mark { "½" } } " ½: half day (a holiday with working hours)" }
            li { span.sample.day.extra aria-hidden="true" { "1" span.mark { "W" } } " W: extra working day" }
            li { span.sample.day.off aria-hidden="true" { "1" } " striped: not a working weekday" }
            li { span.sample.day.today aria-hidden="true" { "1" } " outlined: today (in the calendar's zone)" }
        }
    }
}

/// The calendar's page: facts, the year view, its holidays and sources, and
/// (administrators) the edit form, refresh and delete.
async fn calendar_page(
    app: &App,
    v: &Viewer,
    name: &str,
    year: Option<i16>,
    typed: Option<&CalendarForm>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let stored = match app.work_calendars.get(name).await {
        Ok(s) => s,
        Err(e) => return error_page(Some(v), &e),
    };
    let c = &stored.calendar;
    let compiled = effective(&stored).compile();
    let zone = match &compiled {
        Ok(cal) => cal.zone().clone(),
        Err(_) => jiff::tz::TimeZone::get(&c.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
    };
    let today = app.now().to_zoned(zone).date();
    let year = year.unwrap_or(today.year()).clamp(*YEARS.start(), *YEARS.end());
    let months: Vec<Date> = (1..=12).filter_map(|m| Date::new(year, m, 1).ok()).collect();
    let in_year = |d: &Date| d.year() == year;
    let own = CalendarForm::of(&stored);
    let form = typed.unwrap_or(&own);
    let body = html! {
        p.crumbs { a href="/work-calendars" { "Work calendars" } }
        h1 { "Work calendar " (c.name) }
        @if let (Some(e), None) = (error, typed) { p.error role="alert" { (e) } }
        dl.facts {
            dt { "Time zone" } dd { (c.time_zone) }
            dt { "Working week" } dd { (week_text(c)) }
            dt { "Working hours" } dd { (hours_text(c)) }
            dt { "Last change" } dd {
                (when(Some(stored.updated_at), v))
                @if let Some(by) = &stored.updated_by { " by " (by) }
            }
        }
        section aria-labelledby="year-h" {
            h2 id="year-h" { (year) }
            nav.years aria-label="Years" {
                a href={ "/work-calendars/" (c.name) "?year=" (year - 1) } rel="prev" { "← " (year - 1) }
                @if year != today.year() { a href={ "/work-calendars/" (c.name) } { "This year" } }
                a href={ "/work-calendars/" (c.name) "?year=" (year + 1) } rel="next" { (year + 1) " →" }
            }
            @match &compiled {
                Ok(cal) => {
                    (legend())
                    div.year { @for first in &months { (month_grid(cal, *first, today)) } }
                    @let def = cal.calendar();
                    h3 { "Holidays in " (year) }
                    @let holidays: Vec<_> = def.holidays.iter().filter(|(d, _)| in_year(d)).collect();
                    @if holidays.is_empty() { p.muted { "None." } } @else {
                        table.holidays {
                            caption.visually-hidden { "Holidays in " (year) }
                            thead { tr { th scope="col" { "Date" } th scope="col" { "Name" } th scope="col" { "Day" } th scope="col" { "From" } } }
                            tbody {
                                @for (d, h) in &holidays {
                                    tr {
                                        td { time datetime=(d.to_string()) { (d.strftime("%a %-d %b")) } }
                                        td { (h.name) }
                                        td {
                                            @match (&h.hours, cal.is_working(**d)) {
                                                (Some(hours), true) => { "half day: " (periods_text(hours)) }
                                                _ => { "off" }
                                            }
                                        }
                                        td { (holiday_origin(&stored, **d)) }
                                    }
                                }
                            }
                        }
                    }
                    @let extra: Vec<_> = def.working_days.iter().filter(|(d, _)| in_year(d)).collect();
                    @if !extra.is_empty() {
                        h3 { "Extra working days in " (year) }
                        ul { @for (d, n) in &extra { li { time datetime=(d.to_string()) { (d.strftime("%a %-d %b")) } @if !n.is_empty() { " — " (n) } } } }
                    }
                }
                Err(e) => { p.error role="alert" { "This calendar cannot be used: " (e) } }
            }
        }
        section aria-labelledby="sources-h" {
            h2 id="sources-h" { "Holiday sources" }
            (sources_table(&stored, v))
        }
        @if v.p.is_admin() {
            section.card aria-labelledby="edit-h" {
                h2 id="edit-h" { "Edit" }
                (calendar_form(v, form, false, if typed.is_some() { error } else { None }))
            }
            section.card aria-labelledby="manage-h" {
                h2 id="manage-h" { "Sources and removal" }
                form.inline method="post" action={ "/admin/work-calendars/" (c.name) "/refresh" } {
                    (csrf_field(v))
                    button type="submit" { "Refresh sources now" }
                }
                form.inline method="post" action={ "/admin/work-calendars/" (c.name) "/delete" }
                    data-confirm="Delete this work calendar? Models that name it keep it from being deleted." {
                    (csrf_field(v))
                    button.secondary type="submit" aria-label={ "Delete work calendar " (c.name) } { "Delete" }
                }
            }
        }
    };
    layout_status(status, Some(v), &format!("Work calendar {}", c.name), None, body)
}

// ---- the administrators' posts ----------------------------------------------------------------------

/// `POST /admin/work-calendars`: creates (`create` set: refused when the name
/// is taken) or replaces the calendar `name` from the form.
pub(crate) async fn save(State(app): State<Arc<App>>, Posted { v, f }: Posted) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let form = CalendarForm::typed(&f);
    let creating = f.checked("create");
    let name = form.name.clone();
    let r = async {
        let existing = match app.work_calendars.get(&name).await {
            Ok(s) => Some(s),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        if creating && existing.is_some() {
            return Err(AppError::Conflict(format!(
                "a work calendar named '{name}' exists: change it on its page, or choose another name"
            )));
        }
        let put = form.to_put(existing.as_ref())?;
        app.work_calendars.put(&v.p, &name, put).await
    }
    .await;
    match r {
        Ok((stored, created)) => {
            let mut notice = format!("{} work calendar {name}", if created { "Created" } else { "Saved" });
            let failed: Vec<String> = stored
                .sources
                .iter()
                .enumerate()
                .filter(|(_, s)| s.status == SourceStatus::Failed)
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            if !failed.is_empty() {
                notice.push_str(&format!("; holiday source {} could not be fetched (see below)", failed.join(", ")));
            }
            see_other_notice(&format!("/work-calendars/{name}"), &notice)
        }
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => {
            let message = e.to_string();
            let on_page = !creating && app.work_calendars.get(&name).await.is_ok();
            if on_page {
                calendar_page(&app, &v, &name, None, Some(&form), Some(&message), e.status()).await
            } else {
                list_page(&app, &v, None, Some(&form), Some(&message), e.status()).await
            }
        }
    }
}

fn refreshed(name: &str, r: &Refreshed) -> String {
    let mut notice = format!(
        "Refreshed the holiday sources of {name}: {} fetched, {} unchanged, {} failed",
        r.fetched, r.not_modified, r.failed
    );
    if r.instances > 0 {
        notice.push_str(&format!("; deadlines recomputed in {} instances", r.instances));
    }
    notice
}

/// `POST /admin/work-calendars/{name}/refresh`: fetches the sources now.
pub(crate) async fn refresh(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let done = app.work_calendars.refresh(&v.p, &name).await;
    let r = done.map(|(_, r)| (format!("/work-calendars/{name}"), refreshed(&name, &r)));
    answer(&app, &v, &name, r).await
}

/// Where a post goes on: to `to` with a notice, or back to the calendar's
/// page saying what went wrong (an error page when there is no such page).
async fn answer(app: &App, v: &Viewer, name: &str, r: Result<(String, String), AppError>) -> Response {
    match r {
        Ok((to, notice)) => see_other_notice(&to, &notice),
        Err(e @ (AppError::NotFound(_) | AppError::Internal(_))) => error_page(Some(v), &e),
        Err(e) => calendar_page(app, v, name, None, None, Some(&e.to_string()), e.status()).await,
    }
}

/// `POST /admin/work-calendars/{name}/delete`: refused while a model names it.
pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Posted { v, .. }: Posted,
) -> Response {
    if let Err(r) = admins_only(&v) {
        return r;
    }
    let done = app.work_calendars.delete(&v.p, &name).await;
    let r = done.map(|()| ("/work-calendars".to_owned(), format!("Deleted work calendar {name}")));
    answer(&app, &v, &name, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holiday_line_ends_with_the_hours_of_a_half_day() {
        assert_eq!(
            trailing_hours("Christmas Eve 09:00-12:00"),
            (Some("Christmas Eve".into()), Some(vec!["09:00-12:00".into()]))
        );
        assert_eq!(
            trailing_hours("Inventory 08:00-10:00, 13:00-14:00"),
            (Some("Inventory".into()), Some(vec!["08:00-10:00".into(), "13:00-14:00".into()]))
        );
        assert_eq!(trailing_hours("Tag der Arbeit"), (Some("Tag der Arbeit".into()), None));
        assert_eq!(trailing_hours(""), (None, None));
        assert_eq!(dated("2026-13-01 Nope").unwrap_err(), "'2026-13-01' is not a date: start the line with YYYY-MM-DD");
    }

    #[test]
    fn source_lines_carry_their_patterns() {
        let s = source_line("https://example.com/de.ics include=summary:Tag der *;category:Bund exclude=*(*", None)
            .unwrap();
        assert_eq!(s.url.as_deref(), Some("https://example.com/de.ics"));
        assert_eq!(
            (s.include, s.exclude),
            (vec!["summary:Tag der *".to_owned(), "category:Bund".to_owned()], vec!["*(*".to_owned()])
        );
        let bare = source_line("https://example.com/us.ics", None).unwrap();
        assert!(bare.include.is_empty() && bare.exclude.is_empty());
        assert!(source_line("https://example.com/x.ics only=this", None).unwrap_err().contains("'only=this'"));
        assert!(source_line("uploaded #7", None).unwrap_err().contains("no uploaded file #7"));
    }

    #[test]
    fn a_stored_calendar_reads_back_from_its_form() {
        let week = flowcal_domain::Weekmask::parse(&["mon", "tue", "wed", "thu", "fri"]).unwrap();
        let mut cal = WorkCalendar::new("acme", "Europe/Berlin", week);
        cal.hours = flowcal_domain::workcal::parse_hours(&["09:00-12:00", "13:00-17:00"]).unwrap();
        cal.holidays.insert(
            "2026-12-24".parse().unwrap(),
            flowcal_domain::Holiday {
                name: "Heiligabend".into(),
                hours: Some(vec![Period::parse("09:00-12:00").unwrap()]),
            },
        );
        cal.holidays
            .insert("2026-05-01".parse().unwrap(), flowcal_domain::Holiday { name: String::new(), hours: None });
        cal.working_days.insert("2026-12-19".parse().unwrap(), "Inventur".into());
        let upload = SourceRecord {
            id: 9,
            calendar: "acme".into(),
            position: 1,
            url: None,
            include: vec![],
            exclude: vec!["summary:*(*".into()],
            body: Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into()),
            etag: None,
            last_modified: None,
            fetched_at: None,
            checked_at: None,
            status: SourceStatus::Ok,
            error: None,
            holidays: vec![],
            count: 0,
        };
        let url = SourceRecord {
            id: 4,
            position: 0,
            url: Some("https://example.com/de.ics".into()),
            body: None,
            ..upload.clone()
        };
        let stored = StoredWorkCalendar {
            calendar: cal.clone(),
            version: 1,
            updated_at: Timestamp::UNIX_EPOCH,
            updated_by: None,
            recomputed_version: 1,
            sources: vec![url, upload],
        };
        let form = CalendarForm::of(&stored);
        assert_eq!(form.holidays, "2026-05-01\n2026-12-24 Heiligabend 09:00-12:00");
        assert_eq!(form.sources, "https://example.com/de.ics exclude=summary:*(*\nuploaded #9 exclude=summary:*(*");
        let put = form.to_put(Some(&stored)).unwrap();
        assert_eq!(crate::workcal::read_put("acme", &put).unwrap(), cal);
        assert_eq!(put.sources[1].ics.as_deref(), Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"));
        assert_eq!(put.sources[0].url.as_deref(), Some("https://example.com/de.ics"));
    }
}
