//! Work calendars for everyone signed in: the list, and a calendar's year
//! (twelve month grids with its holidays named, extra working days and days
//! off marked) with its holiday sources and how their last fetch went.
//! Administrators create, edit, refresh and delete calendars on the same
//! pages; the service checks their rights again.

use super::frame::{
    column_heads, comma_list, csrf_field, error_page, layout_status, see_other_notice, Fields, Posted, Viewer,
};
use crate::app::App;
use crate::error::AppError;
use crate::i18n::Lang;
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

/// The weekdays' form values, Monday first (their names: `weekday-N` and
/// `workcal-weekday-long-N`, N from 1).
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

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
        Err(error_page(Some(v), &AppError::Forbidden(v.lang.t("workcal-forbidden"))))
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
                if let Some(i) = WEEKDAYS.iter().position(|v| v == value) {
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
    /// `l`: the language of the refusals.
    fn to_put(&self, stored: Option<&StoredWorkCalendar>, l: Lang) -> Result<CalendarPut, AppError> {
        let week = WEEKDAYS.iter().zip(self.week).filter(|(_, on)| *on).map(|(v, _)| (*v).to_owned()).collect();
        let mut holidays = Vec::new();
        for (n, line) in lines(&self.holidays) {
            let (date, rest) = dated(line, l).map_err(|e| refused(l, "workcal-field-holidays", n, &e))?;
            let (name, hours) = trailing_hours(rest);
            holidays.push(HolidayJson { date, name, hours });
        }
        let mut working_days = Vec::new();
        for (n, line) in lines(&self.working_days) {
            let (date, rest) = dated(line, l).map_err(|e| refused(l, "workcal-field-working-days", n, &e))?;
            working_days.push(WorkingDayJson { date, name: Some(rest.to_owned()).filter(|s| !s.is_empty()) });
        }
        let mut sources = Vec::new();
        for (n, line) in lines(&self.sources) {
            sources.push(source_line(line, stored, l).map_err(|e| refused(l, "workcal-field-sources", n, &e))?);
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
fn refused(l: Lang, field: &str, line: usize, why: &str) -> AppError {
    AppError::Unprocessable(l.t_with(
        "workcal-refused-line",
        &[("field", l.t(field).into()), ("line", line.into()), ("error", l.translate(why).into())],
    ))
}

/// The non-empty lines of a textarea with their numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

/// `YYYY-MM-DD rest`: the date (checked) and the rest.
fn dated(line: &str, l: Lang) -> Result<(String, &str), String> {
    let (date, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if date.parse::<Date>().is_err() {
        return Err(l.t_with("workcal-not-a-date", &[("text", date.into())]));
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
fn source_line(line: &str, stored: Option<&StoredWorkCalendar>, l: Lang) -> Result<SourcePut, String> {
    let (head, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if head == UPLOADED {
        let rest = rest.trim_start();
        let (id, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (include, exclude) = options(rest, l)?;
        let id: i64 = id
            .strip_prefix('#')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| l.t_with("workcal-uploaded-number", &[("uploaded", UPLOADED.into())]))?;
        let body = stored
            .and_then(|s| s.sources.iter().find(|s| s.id == id && s.url.is_none()))
            .and_then(|s| s.body.clone())
            .ok_or_else(|| l.t_with("workcal-no-uploaded-file", &[("id", id.into())]))?;
        return Ok(SourcePut { url: None, ics: Some(body), include, exclude });
    }
    let (include, exclude) = options(rest, l)?;
    Ok(SourcePut { url: Some(head.to_owned()), ics: None, include, exclude })
}

/// `include=P;P exclude=P` (either, both or none; a pattern may hold spaces).
fn options(text: &str, l: Lang) -> Result<(Vec<String>, Vec<String>), String> {
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
        return Err(l.t_with("workcal-not-an-option", &[("text", lead.trim().into())]));
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

fn week_text(c: &WorkCalendar, l: Lang) -> String {
    let days: Vec<String> = c
        .week
        .flags()
        .iter()
        .enumerate()
        .filter(|(_, on)| **on)
        .map(|(i, _)| l.t(&format!("weekday-{}", i + 1)))
        .collect();
    if days.is_empty() {
        l.t("workcal-no-working-weekdays")
    } else {
        days.join(&l.t("workcal-list-separator"))
    }
}

fn hours_text(c: &WorkCalendar, l: Lang) -> String {
    if c.hours.is_empty() {
        l.t("workcal-whole-day")
    } else {
        periods_text(&c.hours)
    }
}

/// The sources of a calendar in a few words: `none`, `2: 1 ok, 1 failed`.
fn sources_summary(sources: &[SourceRecord], l: Lang) -> String {
    if sources.is_empty() {
        return l.t("workcal-sources-none");
    }
    let states: Vec<String> = [SourceStatus::Ok, SourceStatus::Failed, SourceStatus::Pending]
        .into_iter()
        .filter_map(|st| {
            let n = sources.iter().filter(|s| s.status == st).count();
            (n > 0).then(|| l.t_with(status_count_id(st), &[("count", n.into())]))
        })
        .collect();
    l.t_with(
        "workcal-sources-summary",
        &[("count", sources.len().into()), ("states", states.join(&l.t("workcal-list-separator")).into())],
    )
}

/// The calendar form (a new calendar's, or an existing one's edit form).
fn calendar_form(v: &Viewer, form: &CalendarForm, creating: bool, error: Option<&str>) -> Markup {
    let described = error.map(|_| "calendar-error");
    let l = v.lang;
    html! {
        form.workcal method="post" action="/admin/work-calendars" {
            (csrf_field(v))
            @if let Some(e) = error { p.error role="alert" id="calendar-error" { (v.lang.translate(e)) } }
            @if creating {
                input type="hidden" name="create" value="on";
                label for="wc-name" { (l.t("workcal-form-name")) }
                input id="wc-name" name="name" required maxlength="64" value=(form.name) aria-describedby=[described];
            } @else {
                input type="hidden" name="name" value=(form.name);
            }
            label for="wc-zone" { (l.t("workcal-form-zone")) }
            input id="wc-zone" name="time_zone" required value=(form.time_zone) aria-describedby=[described];
            fieldset.week {
                legend { (l.t("workcal-form-week")) }
                @for (i, value) in WEEKDAYS.iter().enumerate() {
                    label { input type="checkbox" name="week" value=(value) checked[form.week[i]]; " " (l.t(&format!("workcal-weekday-long-{}", i + 1))) }
                }
            }
            label for="wc-hours" { (l.t("workcal-form-hours")) }
            input id="wc-hours" name="hours" value=(form.hours) aria-describedby=[described];
            label for="wc-holidays" { (l.t("workcal-form-holidays")) }
            textarea id="wc-holidays" name="holidays" rows="6" aria-describedby=[described] { (form.holidays) }
            label for="wc-working" { (l.t("workcal-form-working-days")) }
            textarea id="wc-working" name="working_days" rows="3" aria-describedby=[described] { (form.working_days) }
            label for="wc-sources" { (l.t("workcal-form-sources")) }
            textarea id="wc-sources" name="sources" rows="4" aria-describedby="wc-sources-hint" { (form.sources) }
            p.hint id="wc-sources-hint" {
                (l.t("workcal-form-sources-hint")) " " code { (UPLOADED) " #N" } " " (l.t("workcal-form-sources-hint-uploaded")) " "
                (l.t("workcal-form-sources-hint-order"))
            }
            details open[!form.ics.is_empty()] {
                summary { (l.t("workcal-form-paste")) }
                label for="wc-ics" { (l.t("workcal-form-ics")) }
                textarea id="wc-ics" name="ics" rows="6" { (form.ics) }
                label for="wc-ics-include" { (l.t("workcal-form-include")) }
                input id="wc-ics-include" name="ics_include" value=(form.ics_include);
                label for="wc-ics-exclude" { (l.t("workcal-form-exclude")) }
                input id="wc-ics-exclude" name="ics_exclude" value=(form.ics_exclude);
            }
            button type="submit" { @if creating { (l.t("workcal-create")) } @else { (l.t("workcal-save")) } }
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
    let l = v.lang;
    let body = html! {
        h1 { (l.t("workcal-title")) }
        p.sub { (l.t("workcal-intro")) }
        @if calendars.is_empty() && after.is_none() {
            p.empty { (l.t("workcal-empty")) }
        } @else {
            table.calendars {
                caption.visually-hidden { (l.t("workcal-title")) }
                (column_heads(l, &["workcal-col-name", "workcal-time-zone", "workcal-working-week", "workcal-col-hours", "workcal-sources"]))
                tbody {
                    @for s in &calendars {
                        @let c = &s.calendar;
                        tr {
                            td { a href={ "/work-calendars/" (c.name) } { (c.name) } }
                            td { (c.time_zone) }
                            td { (week_text(c, l)) }
                            td { (hours_text(c, l)) }
                            td {
                                (sources_summary(&s.sources, l))
                                @if s.sources.iter().any(|s| s.status == SourceStatus::Failed) {
                                    " " span.badge.overdue { "✗ " (l.t("workcal-fetch-failed")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(n) = &next {
                p { a href={ "/work-calendars?after=" (n) } { (l.t("workcal-more")) } }
            }
        }
        @if v.p.is_admin() {
            section.card aria-labelledby="new-h" {
                h2 id="new-h" { (l.t("workcal-new")) }
                (calendar_form(v, typed.unwrap_or(&blank), true, error))
            }
        }
    };
    layout_status(status, Some(v), &l.t("workcal-title"), None, body)
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
            let (from, to) = (YEARS.start().to_string(), YEARS.end().to_string());
            let e = v.lang.t_with("workcal-bad-year", &[("from", from.into()), ("to", to.into())]);
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
        Kind::Holiday => ("day holiday", "workcal-mark-holiday"),
        Kind::HalfDay => ("day half", "workcal-mark-half"),
        Kind::Extra => ("day extra", "workcal-mark-extra"),
    }
}

/// What a day is, in words: `Christmas Eve (half day: 09:00-12:00)`, `day off`.
fn day_words(cal: &CompiledCalendar, d: Date, k: Kind, l: Lang) -> String {
    let def = cal.calendar();
    let named = |name: &str, what: String| {
        if name.is_empty() {
            what
        } else {
            l.t_with("workcal-named-day", &[("name", name.into()), ("what", what.into())])
        }
    };
    let holiday = def.holidays.get(&d);
    let holiday_name = holiday.map(|h| h.name.as_str()).unwrap_or_default();
    match k {
        Kind::Working => l.t("workcal-working-day"),
        Kind::Off => l.t("workcal-day-off"),
        Kind::Holiday => named(holiday_name, l.t("workcal-holiday")),
        Kind::HalfDay => {
            let hours = holiday.and_then(|h| h.hours.as_deref()).map(periods_text).unwrap_or_default();
            named(holiday_name, l.t_with("workcal-half-day", &[("hours", hours.into())]))
        }
        Kind::Extra => {
            named(def.working_days.get(&d).map(String::as_str).unwrap_or_default(), l.t("workcal-extra-day"))
        }
    }
}

fn day_cell(cal: &CompiledCalendar, d: Date, today: Date, l: Lang) -> Markup {
    let k = kind_of(cal, d);
    let (class, mark) = look(k);
    let mark = if mark.is_empty() { String::new() } else { l.t(mark) };
    let words = day_words(cal, d, k, l);
    let is_today = d == today;
    let today_words = if is_today { l.t("workcal-today-suffix") } else { String::new() };
    let title = format!("{} — {words}{today_words}", l.date(d));
    let class = if is_today { format!("{class} today") } else { class.to_owned() };
    html! {
        td class=(class) title=(title) aria-current=[is_today.then_some("date")] {
            (d.day())
            @if !mark.is_empty() { span.mark aria-hidden="true" { (mark) } }
            @if k != Kind::Working || is_today {
                span.visually-hidden { ": " (words) (today_words) }
            }
        }
    }
}

fn month_grid(cal: &CompiledCalendar, first: Date, today: Date, l: Lang) -> Markup {
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
            caption { (l.t(&format!("workcal-month-long-{}", first.month()))) }
            thead { tr { @for i in 1..=WEEKDAYS.len() {
                th scope="col" { abbr title=(l.t(&format!("workcal-weekday-long-{i}"))) { (l.t(&format!("weekday-{i}"))) } }
            } } }
            tbody {
                @for week in cells.chunks(7) {
                    tr {
                        @for cell in week {
                            @match cell {
                                Some(d) => { (day_cell(cal, *d, today, l)) }
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
fn holiday_origin(stored: &StoredWorkCalendar, d: Date, l: Lang) -> String {
    if stored.calendar.holidays.contains_key(&d) {
        return l.t("workcal-origin-calendar");
    }
    stored
        .sources
        .iter()
        .position(|s| s.holidays.iter().any(|(day, _)| *day == d))
        .map(|i| l.t_with("workcal-origin-source", &[("number", (i + 1).into())]))
        .unwrap_or_default()
}

fn when(t: Option<Timestamp>, v: &Viewer) -> String {
    t.map(|t| v.lang.date_time(&t.to_zoned(v.zone.clone()))).unwrap_or_else(|| v.lang.t("workcal-never"))
}

/// A day of the year shown (without the year): "Fri 1 May", "Fr., 1. Mai", "5月1日(金)".
fn day_of_year(d: Date, l: Lang) -> String {
    l.t_with(
        "workcal-day-of-year",
        &[
            ("weekday", l.t(&format!("weekday-{}", d.weekday().to_monday_one_offset())).into()),
            ("day", i64::from(d.day()).into()),
            ("month", l.t(&format!("month-{}", d.month())).into()),
            ("month-number", i64::from(d.month()).into()),
        ],
    )
}

/// The message id of "N ok", "N failed", "N pending".
fn status_count_id(st: SourceStatus) -> &'static str {
    match st {
        SourceStatus::Ok => "workcal-count-ok",
        SourceStatus::Failed => "workcal-count-failed",
        SourceStatus::Pending => "workcal-count-pending",
    }
}

fn sources_table(stored: &StoredWorkCalendar, v: &Viewer) -> Markup {
    let l = v.lang;
    html! {
        @if stored.sources.is_empty() {
            p.muted { (l.t("workcal-no-sources")) }
        } @else {
            table.sources {
                caption.visually-hidden { (l.t("workcal-sources")) }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { (l.t("workcal-col-source")) } th scope="col" { (l.t("workcal-col-patterns")) } th scope="col" { (l.t("workcal-col-status")) }
                    th scope="col" { (l.t("workcal-col-fetched")) } th scope="col" { (l.t("workcal-col-checked")) } th scope="col" { (l.t("workcal-col-days")) }
                } }
                tbody {
                    @for (i, s) in stored.sources.iter().enumerate() {
                        tr {
                            td { (i + 1) }
                            td {
                                @match &s.url {
                                    Some(url) => { code.url { (crate::workcal::shown_url(url, v.p.is_admin())) } }
                                    None => { (l.t("workcal-uploaded-file")) " " code { "#" (s.id) } }
                                }
                            }
                            td {
                                @if s.include.is_empty() && s.exclude.is_empty() { span.muted { (l.t("workcal-all-events")) } }
                                @if !s.include.is_empty() { (l.t("workcal-include")) " " code { (s.include.join("; ")) } br; }
                                @if !s.exclude.is_empty() { (l.t("workcal-exclude")) " " code { (s.exclude.join("; ")) } }
                            }
                            td {
                                @match s.status {
                                    SourceStatus::Ok => { span.badge.ok { "✓ " (l.t("workcal-status-ok")) } }
                                    SourceStatus::Pending => { span.badge.pending { "⏳ " (l.t("workcal-status-pending")) } }
                                    SourceStatus::Failed => {
                                        span.badge.overdue { "✗ " (l.t("workcal-status-failed")) } " "
                                        span.reason { (s.error.clone().unwrap_or_default()) }
                                        @if s.body.is_some() {
                                            " " span.hint { (l.t("workcal-last-good-copy")) }
                                        } @else {
                                            " " span.hint { (l.t("workcal-no-good-copy")) }
                                        }
                                    }
                                }
                            }
                            td { @if s.url.is_some() { (when(s.fetched_at, v)) } @else { span.muted { (l.t("workcal-uploaded")) } } }
                            td { @if s.url.is_some() { (when(s.checked_at, v)) } }
                            td { (s.count) }
                        }
                    }
                }
            }
        }
    }
}

fn legend(l: Lang) -> Markup {
    html! {
        ul.legend aria-label=(l.t("workcal-legend")) {
            li { span.sample.day.holiday aria-hidden="true" { "1" span.mark { (l.t("workcal-mark-holiday")) } } " " (l.t("workcal-legend-holiday")) }
            li { span.sample.day.half aria-hidden="true" { "1" span.mark { (l.t("workcal-mark-half")) } } " " (l.t("workcal-legend-half")) }
            li { span.sample.day.extra aria-hidden="true" { "1" span.mark { (l.t("workcal-mark-extra")) } } " " (l.t("workcal-legend-extra")) }
            li { span.sample.day.off aria-hidden="true" { "1" } " " (l.t("workcal-legend-off")) }
            li { span.sample.day.today aria-hidden="true" { "1" } " " (l.t("workcal-legend-today")) }
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
    let l = v.lang;
    let title = l.t_with("workcal-calendar-title", &[("name", c.name.as_str().into())]);
    let body = html! {
        p.crumbs { a href="/work-calendars" { (l.t("workcal-title")) } }
        h1 { (title) }
        @if let (Some(e), None) = (error, typed) { p.error role="alert" { (l.translate(e)) } }
        dl.facts {
            dt { (l.t("workcal-time-zone")) } dd { (c.time_zone) }
            dt { (l.t("workcal-working-week")) } dd { (week_text(c, l)) }
            dt { (l.t("workcal-working-hours")) } dd { (hours_text(c, l)) }
            dt { (l.t("workcal-last-change")) } dd {
                @match &stored.updated_by {
                    Some(by) => { (l.t_with("workcal-changed-by", &[("when", when(Some(stored.updated_at), v).into()), ("login", by.as_str().into())])) }
                    None => { (when(Some(stored.updated_at), v)) }
                }
            }
        }
        section aria-labelledby="year-h" {
            h2 id="year-h" { (year) }
            nav.years aria-label=(l.t("workcal-years")) {
                a href={ "/work-calendars/" (c.name) "?year=" (year - 1) } rel="prev" { "← " (year - 1) }
                @if year != today.year() { a href={ "/work-calendars/" (c.name) } { (l.t("workcal-this-year")) } }
                a href={ "/work-calendars/" (c.name) "?year=" (year + 1) } rel="next" { (year + 1) " →" }
            }
            @match &compiled {
                Ok(cal) => {
                    (legend(l))
                    div.year { @for first in &months { (month_grid(cal, *first, today, l)) } }
                    @let def = cal.calendar();
                    @let holidays_in = l.t_with("workcal-holidays-in", &[("year", year.to_string().into())]);
                    h3 { (holidays_in) }
                    @let holidays: Vec<_> = def.holidays.iter().filter(|(d, _)| in_year(d)).collect();
                    @if holidays.is_empty() { p.muted { (l.t("workcal-none")) } } @else {
                        table.holidays {
                            caption.visually-hidden { (holidays_in) }
                            (column_heads(l, &["workcal-col-date", "workcal-col-name", "workcal-col-day", "workcal-col-from"]))
                            tbody {
                                @for (d, h) in &holidays {
                                    tr {
                                        td { time datetime=(d.to_string()) { (day_of_year(**d, l)) } }
                                        td { (h.name) }
                                        td {
                                            @match (&h.hours, cal.is_working(**d)) {
                                                (Some(hours), true) => { (l.t_with("workcal-half-day", &[("hours", periods_text(hours).into())])) }
                                                _ => { (l.t("workcal-off")) }
                                            }
                                        }
                                        td { (holiday_origin(&stored, **d, l)) }
                                    }
                                }
                            }
                        }
                    }
                    @let extra: Vec<_> = def.working_days.iter().filter(|(d, _)| in_year(d)).collect();
                    @if !extra.is_empty() {
                        h3 { (l.t_with("workcal-extra-days-in", &[("year", year.to_string().into())])) }
                        ul { @for (d, n) in &extra { li { time datetime=(d.to_string()) { (day_of_year(**d, l)) } @if !n.is_empty() { " — " (n) } } } }
                    }
                }
                Err(e) => { p.error role="alert" { (l.t_with("workcal-unusable", &[("error", l.translate(&e.to_string()).into())])) } }
            }
        }
        section aria-labelledby="sources-h" {
            h2 id="sources-h" { (l.t("workcal-sources")) }
            (sources_table(&stored, v))
        }
        @if v.p.is_admin() {
            section.card aria-labelledby="edit-h" {
                h2 id="edit-h" { (l.t("workcal-edit")) }
                (calendar_form(v, form, false, if typed.is_some() { error } else { None }))
            }
            section.card aria-labelledby="manage-h" {
                h2 id="manage-h" { (l.t("workcal-manage")) }
                form.inline method="post" action={ "/admin/work-calendars/" (c.name) "/refresh" } {
                    (csrf_field(v))
                    button type="submit" { (l.t("workcal-refresh")) }
                }
                form.inline method="post" action={ "/admin/work-calendars/" (c.name) "/delete" }
                    data-confirm=(l.t("workcal-delete-confirm")) {
                    (csrf_field(v))
                    button.secondary type="submit" aria-label=(l.t_with("workcal-delete-named", &[("name", c.name.as_str().into())])) { (l.t("workcal-delete")) }
                }
            }
        }
    };
    layout_status(status, Some(v), &title, None, body)
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
            return Err(AppError::Conflict(v.lang.t_with("workcal-name-taken", &[("name", name.as_str().into())])));
        }
        let put = form.to_put(existing.as_ref(), v.lang)?;
        app.work_calendars.put(&v.p, &name, put).await
    }
    .await;
    match r {
        Ok((stored, created)) => {
            let said = if created { "workcal-created" } else { "workcal-saved" };
            let mut notice = v.lang.t_with(said, &[("name", name.as_str().into())]);
            let failed: Vec<String> = stored
                .sources
                .iter()
                .enumerate()
                .filter(|(_, s)| s.status == SourceStatus::Failed)
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            if !failed.is_empty() {
                let sources = failed.join(&v.lang.t("workcal-list-separator"));
                let args = [("count", failed.len().into()), ("sources", sources.into())];
                notice.push_str(&v.lang.t_with("workcal-saved-fetch-failed", &args));
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

fn refreshed(name: &str, r: &Refreshed, l: Lang) -> String {
    let mut notice = l.t_with(
        "workcal-refreshed",
        &[
            ("name", name.into()),
            ("fetched", r.fetched.into()),
            ("unchanged", r.not_modified.into()),
            ("failed", r.failed.into()),
        ],
    );
    if r.instances > 0 {
        notice.push_str(&l.t_with("workcal-recomputed", &[("count", r.instances.into())]));
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
    let r = done.map(|(_, r)| (format!("/work-calendars/{name}"), refreshed(&name, &r, v.lang)));
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
    let r = done
        .map(|()| ("/work-calendars".to_owned(), v.lang.t_with("workcal-deleted", &[("name", name.as_str().into())])));
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
        assert_eq!(
            dated("2026-13-01 Nope", Lang::En).unwrap_err(),
            "'2026-13-01' is not a date: start the line with YYYY-MM-DD"
        );
    }

    #[test]
    fn source_lines_carry_their_patterns() {
        let s = source_line(
            "https://example.com/de.ics include=summary:Tag der *;category:Bund exclude=*(*",
            None,
            Lang::En,
        )
        .unwrap();
        assert_eq!(s.url.as_deref(), Some("https://example.com/de.ics"));
        assert_eq!(
            (s.include, s.exclude),
            (vec!["summary:Tag der *".to_owned(), "category:Bund".to_owned()], vec!["*(*".to_owned()])
        );
        let bare = source_line("https://example.com/us.ics", None, Lang::En).unwrap();
        assert!(bare.include.is_empty() && bare.exclude.is_empty());
        assert!(source_line("https://example.com/x.ics only=this", None, Lang::En)
            .unwrap_err()
            .contains("'only=this'"));
        assert!(source_line("uploaded #7", None, Lang::En).unwrap_err().contains("no uploaded file #7"));
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
        let put = form.to_put(Some(&stored), Lang::En).unwrap();
        assert_eq!(crate::workcal::read_put("acme", &put).unwrap(), cal);
        assert_eq!(put.sources[1].ics.as_deref(), Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"));
        assert_eq!(put.sources[0].url.as_deref(), Some("https://example.com/de.ics"));
    }
}
