//! Holiday calendars: the days an iCalendar file lists as holidays, for a
//! work calendar's `sources` (a feed subscribed by URL, or an uploaded file).
//!
//! [`read_holidays`] turns the text into one [`FoundHoliday`] per date in a
//! range, keeping the events a [`HolidayFilter`] picks. It does no I/O and
//! reads no clock: fetching, refreshing and keeping the last good copy are
//! the caller's. Untrusted input is bounded: at most [`MAX_BYTES`] bytes,
//! [`MAX_EVENTS`] events, content lines of [`MAX_LINE`] bytes; one pass over
//! the lines, no recursion; recurrence rules expanded only as far as the
//! range, within [`MAX_STEPS`] steps per file, and at most [`MAX_DATES`]
//! holiday days returned; each of at most [`MAX_PATTERNS`] patterns is
//! matched in time linear in the value, without backtracking.
//!
//! # Patterns
//!
//! `include` and `exclude` hold patterns. An event is kept when `include` is
//! empty or one of its patterns matches, and none of `exclude` matches. A
//! pattern is a glob matched against a whole value, case-insensitively
//! (both in Unicode lower case):
//! `*` matches any run of characters (none too), `?` one character,
//! `[abc]`, `[a-z]` one of a set and `[!abc]` (or `[^abc]`) one character not
//! in it; `\` makes the next character literal. A pattern matches an event
//! when it matches its SUMMARY or one of its CATEGORIES values; a prefix
//! `summary:`, `category:` or `description:` matches that field only
//! (DESCRIPTION is matched only with its prefix). Values are compared as
//! read: TEXT escapes undone, whitespace trimmed and each run of it turned
//! into one space (so `Fronleichnam  (BW\, BY)` reads `Fronleichnam (BW, BY)`).
//!
//! - German national holidays plus Berlin's, from a file that names the
//!   states of regional ones in parentheses: include `summary:*[!)]` (no
//!   state list; without the prefix it would match the CATEGORIES value
//!   `Holidays` too), `*[( ]B[,)]*` (the code `B` in the list) and `*(Berlin)`.
//! - US federal holidays, from a file whose DESCRIPTION says the kind:
//!   include `description:Federal Holiday*`.
//! - Japanese national holidays without the bank holidays: exclude
//!   `*銀行休業日*` and `*バンクホリデー*` (or `description:Bank holiday*`).
//!
//! # Dates
//!
//! - An all-day event (`DTSTART;VALUE=DATE`, or a DTSTART of eight digits)
//!   covers each day from DTSTART up to, not including, DTEND; with DURATION
//!   (`P2D`, `P1W`) that many days; with neither, or a DTEND not after
//!   DTSTART, one day.
//! - A timed event (DTSTART with a time) is refused when the filter keeps it:
//!   its date depends on a time zone the feed and the work calendar may not
//!   share, and a holiday is a whole day. Exclude it, or fix the feed.
//! - RRULE with FREQ=YEARLY, MONTHLY, WEEKLY or DAILY; INTERVAL, COUNT,
//!   UNTIL (a date-time counts by its date), WKST; BYMONTH, BYMONTHDAY
//!   (negative from the month's end) and BYDAY (`TH`, `4TH`, `-1MO`: the
//!   number counts within the month, or within the year for a yearly rule
//!   without BYMONTH). Parts that are left unset take DTSTART's, as RFC 5545
//!   says. BYSETPOS, BYYEARDAY, BYWEEKNO, parts below a day and what RFC
//!   5545 forbids (BYMONTHDAY in a weekly rule, a numbered BYDAY in a weekly
//!   or daily one) are refused.
//!   DTSTART is always the first occurrence (COUNT includes it). RDATE adds
//!   dates, EXDATE removes occurrences starting on its dates; an event with
//!   RECURRENCE-ID replaces the occurrence it names (STATUS:CANCELLED
//!   removes it). A cancelled event is no holiday.
//!
//! Several events on one date give one [`FoundHoliday`] whose name joins
//! their distinct names (SUMMARY as matched: trimmed, whitespace runs made
//! one space) with `"; "`, in file order; an event without SUMMARY adds no
//! name.
//!
//! Errors name the line of the input they are about. What the filter leaves
//! out is checked only for being well-formed content lines in well-nested
//! components, so one odd event in a feed can be excluded rather than fixed.

use crate::ical::{parse_line, unescape_text};
use jiff::civil::{Date, Weekday};
use jiff::Span;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The largest file read (in bytes); the largest real holiday feeds have a
/// few hundred kilobytes.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// The longest content line, after unfolding (in bytes).
pub const MAX_LINE: usize = 16 * 1024;
/// The most VEVENTs in a file.
pub const MAX_EVENTS: usize = 10_000;
/// The most holiday days (one per event and day) in the range asked for.
pub const MAX_DATES: usize = 10_000;
/// The most candidate days all recurrence rules of a file may look at.
pub const MAX_STEPS: u64 = 2_000_000;
/// The most patterns in a filter (include and exclude together).
pub const MAX_PATTERNS: usize = 50;
/// The longest pattern (in characters).
pub const MAX_PATTERN_CHARS: usize = 200;
/// The deepest nesting of components (VCALENDAR › VEVENT › VALARM is 3).
const MAX_DEPTH: usize = 8;
/// The largest INTERVAL of a recurrence rule.
const MAX_INTERVAL: i64 = 1000;
/// The most of a value an error quotes.
const MAX_QUOTED: usize = 80;

/// Which events of a holiday calendar count (see the module documentation
/// for the pattern language).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HolidayFilter {
    /// When not empty, an event must match one of these.
    pub include: Vec<String>,
    /// An event matching one of these is left out.
    pub exclude: Vec<String>,
}

/// One holiday date, with the name (or the joined names) of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundHoliday {
    pub date: Date,
    /// The events' SUMMARY, several joined with `"; "`; empty when none has one.
    pub name: String,
}

/// Why a holiday calendar could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidayError {
    /// More than [`MAX_BYTES`]: refused before reading.
    #[error(
        "the holiday calendar has {size} bytes, more than the {max} flowcal reads: use a calendar \
         of one country, or of fewer years"
    )]
    TooLarge { size: usize, max: usize },
    /// Something at a line of the file: its syntax, a limit, or an event the
    /// filter keeps whose dates cannot be read.
    #[error("holiday calendar, line {line}: {message}")]
    Invalid { line: usize, message: String },
    /// More than [`MAX_DATES`] holiday days in the range.
    #[error(
        "the holiday calendar has more than {max} holiday days from {from} to {to}: ask for fewer \
         years, or keep fewer events with include/exclude patterns"
    )]
    TooManyDates { max: usize, from: Date, to: Date },
    /// A pattern of the filter that cannot be used.
    #[error("holiday pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
    /// `from` after `to`.
    #[error("no days from {from} to {to}: the first date must not be after the last")]
    Range { from: Date, to: Date },
}

fn invalid(line: usize, message: impl Into<String>) -> HolidayError {
    HolidayError::Invalid { line, message: message.into() }
}

/// A value from the input as an error quotes it.
fn quoted(v: &str) -> String {
    let mut q: String = v.chars().take(MAX_QUOTED).collect();
    if q.len() < v.len() {
        q.push('…');
    }
    format!("{q:?}")
}

/// The holidays `ics` lists from `from` to `to` (both included), of the
/// events `filter` keeps: sorted by date, one per date.
pub fn read_holidays(
    ics: &str,
    filter: &HolidayFilter,
    from: Date,
    to: Date,
) -> Result<Vec<FoundHoliday>, HolidayError> {
    if ics.len() > MAX_BYTES {
        return Err(HolidayError::TooLarge { size: ics.len(), max: MAX_BYTES });
    }
    if from > to {
        return Err(HolidayError::Range { from, to });
    }
    let filter = Filter::compile(filter)?;
    let events = parse(ics)?;

    // What RECURRENCE-ID events replace, whether the filter keeps them or not:
    // a replaced occurrence is gone from its series either way.
    let mut replaced: HashMap<&str, HashSet<Date>> = HashMap::new();
    for ev in &events {
        if let (Some(uid), Some(rid)) = (&ev.uid, &ev.recurrence_id) {
            match date_only(&rid.value, rid.value_type.as_deref()) {
                Ok(date) => {
                    replaced.entry(uid.as_str()).or_default().insert(date);
                }
                Err(m) if !ev.cancelled && filter.keeps(ev) => {
                    return Err(invalid(rid.line, format!("RECURRENCE-ID of {}: {m}", ev.title())));
                }
                Err(_) => {}
            }
        }
    }

    let mut budget = MAX_STEPS;
    let mut days: BTreeMap<Date, Vec<&str>> = BTreeMap::new();
    let mut seen: HashSet<(Date, &str)> = HashSet::new();
    let mut count = 0usize;
    for ev in &events {
        if ev.cancelled || !filter.keeps(ev) {
            continue;
        }
        let none = HashSet::new();
        let gone = match (&ev.uid, &ev.recurrence_id) {
            (Some(uid), None) => replaced.get(uid.as_str()).unwrap_or(&none),
            _ => &none,
        };
        let (starts, length) = occurrences(ev, gone, from, to, &mut budget)?;
        for start in starts {
            let mut day = start.max(from);
            let last = add_days(start, length - 1).unwrap_or(Date::MAX);
            while day <= last.min(to) {
                count += 1;
                if count > MAX_DATES {
                    return Err(HolidayError::TooManyDates { max: MAX_DATES, from, to });
                }
                if seen.insert((day, ev.summary.as_str())) {
                    days.entry(day).or_default().push(ev.summary.as_str());
                }
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
        }
    }
    Ok(days
        .into_iter()
        .map(|(date, names)| {
            let names: Vec<&str> = names.into_iter().filter(|n| !n.is_empty()).collect();
            FoundHoliday { date, name: names.join("; ") }
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Reading the file

/// A property value as written, with its VALUE parameter and line.
#[derive(Debug, Clone)]
struct Value {
    value: String,
    value_type: Option<String>,
    line: usize,
}

/// One VEVENT as read, before its dates are interpreted.
#[derive(Debug)]
struct Event {
    line: usize,
    uid: Option<String>,
    /// Unescaped and with whitespace normalised; empty when there is none.
    summary: String,
    description: String,
    categories: Vec<String>,
    start: Vec<Value>,
    end: Vec<Value>,
    duration: Vec<Value>,
    rrules: Vec<Value>,
    rdates: Vec<Value>,
    exdates: Vec<Value>,
    recurrence_id: Option<Value>,
    cancelled: bool,
}

impl Event {
    fn new(line: usize) -> Self {
        Event {
            line,
            uid: None,
            summary: String::new(),
            description: String::new(),
            categories: Vec::new(),
            start: Vec::new(),
            end: Vec::new(),
            duration: Vec::new(),
            rrules: Vec::new(),
            rdates: Vec::new(),
            exdates: Vec::new(),
            recurrence_id: None,
            cancelled: false,
        }
    }

    /// How errors about this event name it.
    fn title(&self) -> String {
        if self.summary.is_empty() {
            format!("the event at line {}", self.line)
        } else {
            format!("the event {} (line {})", quoted(&self.summary), self.line)
        }
    }
}

/// Physical lines, split at CRLF, LF or a bare CR.
struct Physical<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Physical<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.find(['\r', '\n']) {
            Some(i) => {
                let brk = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                self.rest = Some(&rest[i + brk..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Trims `s` and turns each run of whitespace into one space.
fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A TEXT list (CATEGORIES): split at unescaped commas, each value unescaped
/// and normalised, empty ones left out.
fn text_list(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => cur.push('\n'),
                Some(o) => cur.push(o),
                None => cur.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.iter().map(|v| normalize(v)).filter(|v| !v.is_empty()).collect()
}

/// Reads the VEVENTs of `ics`: one pass over its lines, components tracked
/// on a bounded stack.
fn parse(ics: &str) -> Result<Vec<Event>, HolidayError> {
    let ics = ics.strip_prefix('\u{feff}').unwrap_or(ics);
    let mut lines = Physical { rest: Some(ics) }.enumerate().peekable();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut events = Vec::new();
    let mut current: Option<Event> = None;
    let mut calendars = 0usize;
    let mut last = 0usize;
    while let Some((i, first)) = lines.next() {
        let line = i + 1;
        last = line;
        let mut text = first.to_owned();
        while let Some((_, more)) = lines.next_if(|(_, l)| l.starts_with([' ', '\t'])) {
            last += 1;
            text.push_str(&more[1..]);
            if text.len() > MAX_LINE {
                break;
            }
        }
        if text.len() > MAX_LINE {
            return Err(invalid(
                line,
                format!("a content line longer than {MAX_LINE} bytes: this is not a holiday calendar flowcal can read"),
            ));
        }
        if text.trim().is_empty() {
            continue;
        }
        let Some(prop) = parse_line(&text) else {
            if stack.is_empty() && calendars == 0 {
                return Err(not_icalendar(line, &text));
            }
            return Err(invalid(line, format!("not an iCalendar content line (NAME:value): {}", quoted(&text))));
        };
        match prop.name.as_str() {
            "BEGIN" => {
                let name = prop.value.trim().to_ascii_uppercase();
                if stack.is_empty() && name != "VCALENDAR" {
                    return Err(not_icalendar(line, &text));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(invalid(line, format!("components nested deeper than {MAX_DEPTH}")));
                }
                if name == "VEVENT" {
                    if stack.len() != 1 {
                        let (outer, at) = stack.last().map(|(n, l)| (n.as_str(), *l)).unwrap_or(("", 0));
                        return Err(invalid(
                            line,
                            format!("a VEVENT inside {outer} (line {at}): events belong directly in the VCALENDAR"),
                        ));
                    }
                    if events.len() >= MAX_EVENTS {
                        return Err(invalid(
                            line,
                            format!(
                                "more than {MAX_EVENTS} events: a holiday calendar has a few hundred; use a calendar \
                                 of one country, or of fewer years"
                            ),
                        ));
                    }
                    current = Some(Event::new(line));
                }
                if name == "VCALENDAR" {
                    calendars += 1;
                }
                stack.push((name, line));
            }
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                match stack.pop() {
                    Some((open, _)) if open == name => {}
                    Some((open, at)) => {
                        return Err(invalid(
                            line,
                            format!("END:{name} while {open} (line {at}) is open: the components are not nested right"),
                        ))
                    }
                    None => return Err(invalid(line, format!("END:{name} without its BEGIN:{name}"))),
                }
                if name == "VEVENT" {
                    events.extend(current.take());
                }
            }
            _ if stack.is_empty() => {
                if calendars == 0 {
                    return Err(not_icalendar(line, &text));
                }
                return Err(invalid(line, format!("{} after END:VCALENDAR", quoted(&text))));
            }
            _ => {
                if let (Some(ev), Some((top, _))) = (current.as_mut(), stack.last()) {
                    if top == "VEVENT" {
                        record(ev, &prop, line);
                    }
                }
            }
        }
    }
    if let Some((open, at)) = stack.last() {
        return Err(invalid(
            *at,
            format!("BEGIN:{open} never ends (no END:{open} up to line {last}): the file may be cut off"),
        ));
    }
    if calendars == 0 {
        return Err(invalid(1, "empty: not an iCalendar file (it must begin with BEGIN:VCALENDAR)"));
    }
    Ok(events)
}

fn not_icalendar(line: usize, text: &str) -> HolidayError {
    invalid(
        line,
        format!("not an iCalendar file: it must begin with BEGIN:VCALENDAR, and this line reads {}", quoted(text)),
    )
}

/// Keeps what the reader needs of one property of a VEVENT.
fn record(ev: &mut Event, prop: &crate::ical::Prop<'_>, line: usize) {
    let value = || Value {
        value: prop.value.trim().to_owned(),
        value_type: prop.param("VALUE").map(|v| v.trim().to_ascii_uppercase()),
        line,
    };
    match prop.name.as_str() {
        "UID" => ev.uid = Some(prop.value.trim().to_owned()),
        "SUMMARY" => ev.summary = normalize(&unescape_text(prop.value)),
        "DESCRIPTION" => ev.description = normalize(&unescape_text(prop.value)),
        "CATEGORIES" => ev.categories.extend(text_list(prop.value)),
        "STATUS" => ev.cancelled = prop.value.trim().eq_ignore_ascii_case("CANCELLED"),
        "DTSTART" => ev.start.push(value()),
        "DTEND" => ev.end.push(value()),
        "DURATION" => ev.duration.push(value()),
        "RRULE" => ev.rrules.push(value()),
        "RDATE" => ev.rdates.push(value()),
        "EXDATE" => ev.exdates.push(value()),
        "RECURRENCE-ID" => ev.recurrence_id = Some(value()),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Dates

/// A DATE value: `YYYYMMDD` (or `YYYY-MM-DD`).
fn parse_date(v: &str) -> Option<Date> {
    let v = v.trim();
    let digits: String = if v.len() == 10 && v.as_bytes().get(4) == Some(&b'-') && v.as_bytes().get(7) == Some(&b'-') {
        v.replace('-', "")
    } else {
        v.to_owned()
    };
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<i16>().ok());
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// Whether a value (with its VALUE parameter) is a date-time.
fn is_timed(value: &str, value_type: Option<&str>) -> bool {
    match value_type {
        Some("DATE") => false,
        Some("DATE-TIME") => true,
        _ => value.contains(['T', 't']),
    }
}

/// A DATE value of an all-day event's property; an error message otherwise.
fn date_value(value: &str, value_type: Option<&str>) -> Result<Date, String> {
    if is_timed(value, value_type) {
        return Err(format!(
            "{} is a time, not a date: a holiday is a whole day (e.g. DTSTART;VALUE=DATE:20260101)",
            quoted(value)
        ));
    }
    if let Some(t) = value_type.filter(|t| *t != "DATE") {
        return Err(format!("VALUE={t} is not a date (VALUE=DATE)"));
    }
    parse_date(value).ok_or_else(|| format!("{} is not a date (YYYYMMDD)", quoted(value)))
}

/// The date of a DATE or DATE-TIME value (UNTIL, RECURRENCE-ID): its first
/// eight digits.
fn date_only(value: &str, value_type: Option<&str>) -> Result<Date, String> {
    if !is_timed(value, value_type) {
        return date_value(value, value_type);
    }
    value.get(..8).and_then(parse_date).ok_or_else(|| format!("{} is not a date or date-time", quoted(value)))
}

fn add_days(d: Date, n: i64) -> Option<Date> {
    d.checked_add(Span::new().try_days(n).ok()?).ok()
}

/// Days from `a` to `b`.
fn days_between(a: Date, b: Date) -> i64 {
    a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// A DURATION of whole days (`P2D`, `P1W`, `PT24H`), as days.
fn duration_days(v: &str) -> Result<i64, String> {
    let bad = || format!("DURATION {} is not a duration of whole days (e.g. P1D, P2D, P1W)", quoted(v));
    let t = v.trim();
    let (sign, t) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let t = t.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let mut seconds = 0i64;
    let mut n = String::new();
    let mut time = false;
    for c in t.chars() {
        match c.to_ascii_uppercase() {
            d if d.is_ascii_digit() => n.push(d),
            'T' if n.is_empty() => time = true,
            unit => {
                let k: i64 = n.parse().map_err(|_| bad())?;
                n.clear();
                let size = match (unit, time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                seconds = k.checked_mul(size).and_then(|s| seconds.checked_add(s)).ok_or_else(bad)?;
            }
        }
    }
    if !n.is_empty() || seconds % 86_400 != 0 {
        return Err(bad());
    }
    Ok(sign * seconds / 86_400)
}

/// The start dates of an event's occurrences that may cover a day from
/// `from` to `to`, and how many days each covers.
fn occurrences(
    ev: &Event,
    gone: &HashSet<Date>,
    from: Date,
    to: Date,
    budget: &mut u64,
) -> Result<(Vec<Date>, i64), HolidayError> {
    let title = ev.title();
    let one = |values: &[Value], name: &str| -> Result<Option<Value>, HolidayError> {
        match values {
            [] => Ok(None),
            [v] => Ok(Some(v.clone())),
            [_, second, ..] => Err(invalid(second.line, format!("a second {name} in {title}: keep one"))),
        }
    };
    let Some(start) = one(&ev.start, "DTSTART")? else {
        return Err(invalid(
            ev.line,
            format!("{title} has no DTSTART: give it one, or leave it out with an exclude pattern"),
        ));
    };
    let what = |name: &str, m: String| {
        format!("{name} of {title}: {m}; fix it, or leave the event out with an exclude pattern")
    };
    let dtstart =
        date_value(&start.value, start.value_type.as_deref()).map_err(|m| invalid(start.line, what("DTSTART", m)))?;
    let end = one(&ev.end, "DTEND")?;
    let duration = one(&ev.duration, "DURATION")?;
    let length = match (end, duration) {
        (Some(_), Some(d)) => {
            return Err(invalid(d.line, format!("{title} has both DTEND and DURATION: keep one")));
        }
        (Some(e), None) => {
            let end = date_value(&e.value, e.value_type.as_deref()).map_err(|m| invalid(e.line, what("DTEND", m)))?;
            days_between(dtstart, end)
        }
        (None, Some(d)) => duration_days(&d.value).map_err(|m| invalid(d.line, what("DURATION", m)))?,
        (None, None) => 1,
    }
    .max(1);

    // Occurrences starting from `window` on may reach into the range.
    let window = add_days(from, 1 - length).unwrap_or(Date::MIN);
    let mut starts = vec![dtstart];
    for r in &ev.rrules {
        let rule = Rule::parse(&r.value, dtstart).map_err(|m| invalid(r.line, format!("RRULE of {title}: {m}")))?;
        rule.expand(dtstart, window, to, budget, &mut starts)
            .map_err(|m| invalid(r.line, format!("RRULE of {title}: {m}")))?;
    }
    for r in &ev.rdates {
        for v in r.value.split(',') {
            let d = date_value(v, r.value_type.as_deref()).map_err(|m| invalid(r.line, what("RDATE", m)))?;
            starts.push(d);
        }
    }
    let mut excluded: HashSet<Date> = HashSet::new();
    for x in &ev.exdates {
        for v in x.value.split(',') {
            let d = date_value(v, x.value_type.as_deref()).map_err(|m| invalid(x.line, what("EXDATE", m)))?;
            excluded.insert(d);
        }
    }
    starts.retain(|d| *d >= window && *d <= to && !excluded.contains(d) && !gone.contains(d));
    starts.sort_unstable();
    starts.dedup();
    Ok((starts, length))
}

// ---------------------------------------------------------------------------
// Recurrence rules

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// An RRULE of an all-day event.
#[derive(Debug)]
struct Rule {
    freq: Freq,
    interval: i64,
    count: Option<u64>,
    until: Option<Date>,
    months: Vec<i8>,
    month_days: Vec<i8>,
    /// (n, weekday): the n-th in its month or year (negative: from the end), 0 for every one.
    days: Vec<(i8, Weekday)>,
    /// BYDAY numbers count within the year, not the month.
    in_year: bool,
    week_start: Weekday,
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

/// A comma-separated list of integers in `range` (zero left out of it too).
fn int_list(name: &str, v: &str, range: std::ops::RangeInclusive<i8>) -> Result<Vec<i8>, String> {
    v.split(',')
        .map(|n| {
            n.trim().parse::<i8>().ok().filter(|n| *n != 0 && range.contains(n)).ok_or_else(|| {
                format!("{name}={v} holds {}, not a number from {} to {}", quoted(n), range.start(), range.end())
            })
        })
        .collect()
}

impl Rule {
    fn parse(text: &str, dtstart: Date) -> Result<Rule, String> {
        let mut freq = None;
        let mut rule = Rule {
            freq: Freq::Yearly,
            interval: 1,
            count: None,
            until: None,
            months: Vec::new(),
            month_days: Vec::new(),
            days: Vec::new(),
            in_year: false,
            week_start: Weekday::Monday,
        };
        let mut seen = HashSet::new();
        for part in text.split(';').filter(|p| !p.trim().is_empty()) {
            let (name, v) = part.split_once('=').ok_or_else(|| format!("{} is not NAME=VALUE", quoted(part)))?;
            let name = name.trim().to_ascii_uppercase();
            let v = v.trim();
            let upper = v.to_ascii_uppercase();
            if !seen.insert(name.clone()) {
                return Err(format!("{name} given twice"));
            }
            match name.as_str() {
                "FREQ" => {
                    freq = Some(match upper.as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        "HOURLY" | "MINUTELY" | "SECONDLY" => {
                            return Err(format!(
                        "FREQ={upper} repeats within a day; a holiday repeats by days (DAILY, WEEKLY, MONTHLY, YEARLY)"
                    ))
                        }
                        _ => return Err(format!("unknown FREQ {}", quoted(v))),
                    })
                }
                "INTERVAL" => {
                    rule.interval = v
                        .parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_INTERVAL).contains(n))
                        .ok_or_else(|| format!("INTERVAL={v} is not a number from 1 to {MAX_INTERVAL}"))?
                }
                "COUNT" => {
                    rule.count = Some(
                        v.parse::<u64>()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| format!("COUNT={v} is not a number from 1 on"))?,
                    )
                }
                "UNTIL" => rule.until = Some(date_only(v, None).map_err(|m| format!("UNTIL: {m}"))?),
                "BYMONTH" => rule.months = int_list("BYMONTH", v, 1..=12)?,
                "BYMONTHDAY" => rule.month_days = int_list("BYMONTHDAY", v, -31..=31)?,
                "BYDAY" => {
                    for d in upper.split(',') {
                        let d = d.trim();
                        let bad = || format!("BYDAY={v} holds {}, not a weekday such as MO, 4TH or -1MO", quoted(d));
                        let split = d.len().checked_sub(2).ok_or_else(bad)?;
                        let wd = d.get(split..).and_then(weekday).ok_or_else(bad)?;
                        let n = match d.get(..split).unwrap_or("") {
                            "" => 0,
                            n => n.parse::<i8>().ok().filter(|n| *n != 0 && (-53..=53).contains(n)).ok_or_else(bad)?,
                        };
                        rule.days.push((n, wd));
                    }
                }
                "WKST" => {
                    rule.week_start = weekday(&upper).ok_or_else(|| format!("WKST={v} is not a weekday (MO … SU)"))?
                }
                "RSCALE" if upper == "GREGORIAN" => {}
                "SKIP" if upper == "OMIT" => {}
                "BYSETPOS" | "BYYEARDAY" | "BYWEEKNO" | "RSCALE" | "SKIP" => {
                    return Err(format!(
                        "{name}={v} is not supported in holiday calendars: list the dates with RDATE, or leave \
                         the event out with an exclude pattern"
                    ))
                }
                "BYHOUR" | "BYMINUTE" | "BYSECOND" => {
                    return Err(format!("{name} picks times of day; a holiday is a whole day"))
                }
                n if n.starts_with("X-") => {}
                _ => return Err(format!("unknown part {}", quoted(&name))),
            }
        }
        rule.freq = freq.ok_or("no FREQ (e.g. FREQ=YEARLY)")?;
        if matches!(rule.freq, Freq::Weekly | Freq::Daily) && rule.days.iter().any(|(n, _)| *n != 0) {
            return Err("BYDAY with a number (such as 2MO) needs FREQ=MONTHLY or FREQ=YEARLY".into());
        }
        if rule.freq == Freq::Weekly && !rule.month_days.is_empty() {
            return Err("BYMONTHDAY does not go with FREQ=WEEKLY (RFC 5545): use FREQ=MONTHLY".into());
        }
        rule.in_year = rule.freq == Freq::Yearly && rule.months.is_empty();
        // Unset parts take DTSTART's (RFC 5545 §3.3.10).
        if rule.month_days.is_empty() && rule.days.is_empty() {
            match rule.freq {
                Freq::Yearly => {
                    if rule.months.is_empty() {
                        rule.months.push(dtstart.month());
                    }
                    rule.month_days.push(dtstart.day());
                }
                Freq::Monthly => rule.month_days.push(dtstart.day()),
                Freq::Weekly => rule.days.push((0, dtstart.weekday())),
                Freq::Daily => {}
            }
        }
        Ok(rule)
    }

    /// Whether `d` is a date of the rule within its period.
    fn matches(&self, d: Date) -> bool {
        if !self.months.is_empty() && !self.months.contains(&d.month()) {
            return false;
        }
        if !self.month_days.is_empty() {
            let len = d.days_in_month();
            if !self.month_days.iter().any(|&md| md == d.day() || md == d.day() - len - 1) {
                return false;
            }
        }
        if self.days.is_empty() {
            return true;
        }
        let (pos, len) = if self.in_year {
            (d.day_of_year(), d.days_in_year())
        } else {
            (i16::from(d.day()), i16::from(d.days_in_month()))
        };
        let forward = (pos - 1) / 7 + 1;
        let backward = (len - pos) / 7 + 1;
        self.days
            .iter()
            .any(|&(n, wd)| wd == d.weekday() && (n == 0 || i16::from(n) == forward || i16::from(n) == -backward))
    }

    /// The first day of period `k` (counted in INTERVALs from DTSTART's), and the
    /// day after it; `None` past the last date there is.
    fn period(&self, dtstart: Date, k: i64) -> Option<(Date, Date)> {
        let step = k.checked_mul(self.interval)?;
        match self.freq {
            Freq::Yearly => {
                let y = i16::try_from(i64::from(dtstart.year()).checked_add(step)?).ok()?;
                let first = Date::new(y, 1, 1).ok()?;
                Some((first, Date::new(y.checked_add(1)?, 1, 1).unwrap_or(Date::MAX)))
            }
            Freq::Monthly => {
                let index = i64::from(dtstart.year()) * 12 + i64::from(dtstart.month() - 1) + step;
                let y = i16::try_from(index.div_euclid(12)).ok()?;
                let m = i8::try_from(index.rem_euclid(12) + 1).ok()?;
                let first = Date::new(y, m, 1).ok()?;
                Some((first, first.last_of_month().tomorrow().unwrap_or(Date::MAX)))
            }
            Freq::Weekly => {
                let back = (i64::from(dtstart.weekday().to_monday_zero_offset())
                    - i64::from(self.week_start.to_monday_zero_offset()))
                .rem_euclid(7);
                let first = add_days(dtstart, step.checked_mul(7)?.checked_sub(back)?)?;
                Some((first, add_days(first, 7).unwrap_or(Date::MAX)))
            }
            Freq::Daily => {
                let first = add_days(dtstart, step)?;
                Some((first, first.tomorrow().unwrap_or(Date::MAX)))
            }
        }
    }

    /// The first period that may hold a date from `window` on (without COUNT,
    /// the periods before it cannot matter).
    fn first_period(&self, dtstart: Date, window: Date) -> i64 {
        if self.count.is_some() || window <= dtstart {
            return 0;
        }
        let units = match self.freq {
            Freq::Yearly => i64::from(window.year()) - i64::from(dtstart.year()),
            Freq::Monthly => {
                (i64::from(window.year()) - i64::from(dtstart.year())) * 12 + i64::from(window.month())
                    - i64::from(dtstart.month())
            }
            Freq::Weekly => days_between(dtstart, window) / 7 - 1,
            Freq::Daily => days_between(dtstart, window),
        };
        (units / self.interval).max(0)
    }

    /// Adds to `out` the rule's dates from `window` to `to`, after DTSTART
    /// (which the caller counts as the first occurrence), up to UNTIL and COUNT.
    fn expand(
        &self,
        dtstart: Date,
        window: Date,
        to: Date,
        budget: &mut u64,
        out: &mut Vec<Date>,
    ) -> Result<(), String> {
        let last = self.until.map_or(to, |u| u.min(to));
        let mut seen = 1u64;
        let mut k = self.first_period(dtstart, window);
        loop {
            let Some((first, after)) = self.period(dtstart, k) else { return Ok(()) };
            if first > last {
                return Ok(());
            }
            let mut day = first.max(dtstart);
            while day < after {
                if *budget == 0 {
                    return Err(format!(
                        "the recurrence rules of this file need more than {MAX_STEPS} steps to find their dates \
                         up to {to}: simplify them (a COUNT from long ago, a rule that rarely matches), or leave \
                         such events out with an exclude pattern"
                    ));
                }
                *budget -= 1;
                if day > last {
                    return Ok(());
                }
                if !self.months.is_empty() && !self.months.contains(&day.month()) {
                    // A month the rule leaves out: on to the next one.
                    match day.last_of_month().tomorrow() {
                        Ok(next) => day = next,
                        Err(_) => return Ok(()),
                    }
                    continue;
                }
                if day > dtstart && self.matches(day) {
                    seen += 1;
                    if self.count.is_some_and(|c| seen > c) {
                        return Ok(());
                    }
                    if day >= window {
                        out.push(day);
                        // Each start covers a day of the range: the caller refuses this many.
                        if out.len() > MAX_DATES {
                            return Ok(());
                        }
                    }
                }
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => return Ok(()),
                }
            }
            k += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Patterns

/// One character position of a glob.
#[derive(Debug, Clone)]
enum Tok {
    Char(char),
    One,
    Set { negated: bool, ranges: Vec<(char, char)> },
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Char(p) => *p == c,
            Tok::One => true,
            Tok::Set { negated, ranges } => ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated,
        }
    }

    /// Where what it matches may change (each range's first character and
    /// the one after its last).
    fn edges(&self) -> Vec<u32> {
        let ranges = match self {
            Tok::Char(c) => vec![(*c, *c)],
            Tok::One => Vec::new(),
            Tok::Set { ranges, .. } => ranges.clone(),
        };
        ranges.into_iter().flat_map(|(lo, hi)| [u32::from(lo), u32::from(hi) + 1]).collect()
    }
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// A glob's items before compiling: a character position, or a star.
#[derive(Debug)]
enum Item {
    Tok(Tok),
    Star,
}

/// A case-insensitive glob over a whole value, run as a bit-parallel
/// automaton: one bit per item (plus one for "matched"), and for each
/// character the items it matches looked up in a table, so matching takes
/// time linear in the value whatever the pattern, and never backtracks.
#[derive(Debug, Clone)]
struct Glob {
    /// Items; bit `len` is the accepting state.
    len: usize,
    /// 64-bit words per state set.
    words: usize,
    /// The items that are stars.
    stars: Vec<u64>,
    /// For each ASCII character, the items that match it (`words` each).
    ascii: Vec<u64>,
    /// Beyond ASCII: the first characters of spans in which every character
    /// matches the same items, ascending from U+0080 …
    spans: Vec<u32>,
    /// … and those items, `words` for each span.
    span_items: Vec<u64>,
}

impl Glob {
    fn parse(pattern: &str) -> Result<Glob, String> {
        let mut items = Vec::new();
        let mut chars = pattern.chars().peekable();
        let unclosed = || "a '[' without its ']' (write \\[ for a literal [)".to_owned();
        while let Some(c) = chars.next() {
            match c {
                // Stars in a row are one star.
                '*' if matches!(items.last(), Some(Item::Star)) => {}
                '*' => items.push(Item::Star),
                '?' => items.push(Item::Tok(Tok::One)),
                '\\' => items.extend(chars.next().unwrap_or('\\').to_lowercase().map(|c| Item::Tok(Tok::Char(c)))),
                '[' => {
                    let negated = chars.next_if(|c| matches!(c, '!' | '^')).is_some();
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = match chars.next() {
                            None => return Err(unclosed()),
                            Some(']') if !first => break,
                            Some('\\') => chars.next().unwrap_or('\\'),
                            Some(c) => c,
                        };
                        first = false;
                        let hi = if chars.next_if_eq(&'-').is_some() {
                            match chars.next() {
                                // A '-' before the ']' is itself.
                                Some(']') => {
                                    ranges.push((fold(c), fold(c)));
                                    ranges.push(('-', '-'));
                                    break;
                                }
                                Some('\\') => chars.next().unwrap_or('\\'),
                                Some(h) => h,
                                None => return Err(unclosed()),
                            }
                        } else {
                            c
                        };
                        let (lo, hi) = (fold(c), fold(hi));
                        if lo > hi {
                            return Err(format!("the range {c}-{hi} runs backwards"));
                        }
                        ranges.push((lo, hi));
                    }
                    items.push(Item::Tok(Tok::Set { negated, ranges }));
                }
                c => items.extend(c.to_lowercase().map(|c| Item::Tok(Tok::Char(c)))),
            }
        }
        let len = items.len();
        let words = len / 64 + 1;
        let mut spans: Vec<u32> = items
            .iter()
            .flat_map(|item| match item {
                Item::Tok(tok) => tok.edges(),
                Item::Star => Vec::new(),
            })
            .filter(|e| *e > 0x7f)
            // The surrogates (no characters) get a span of their own.
            .chain([0x80, 0xd800, 0xe000])
            .collect();
        spans.sort_unstable();
        spans.dedup();
        let mut glob = Glob {
            len,
            words,
            stars: vec![0; words],
            ascii: vec![0; 128 * words],
            span_items: vec![0; spans.len() * words],
            spans,
        };
        for (i, item) in items.into_iter().enumerate() {
            let bit = 1u64 << (i % 64);
            let tok = match item {
                Item::Star => {
                    glob.stars[i / 64] |= bit;
                    continue;
                }
                Item::Tok(tok) => tok,
            };
            for c in 0u8..128 {
                if tok.matches(char::from(c)) {
                    glob.ascii[usize::from(c) * words + i / 64] |= bit;
                }
            }
            // A span's first character stands for all of it.
            for (k, first) in glob.spans.iter().enumerate() {
                if char::from_u32(*first).is_some_and(|c| tok.matches(c)) {
                    glob.span_items[k * words + i / 64] |= bit;
                }
            }
        }
        Ok(glob)
    }

    /// The items that match `c`.
    fn items_matching(&self, c: char) -> &[u64] {
        let at = match u8::try_from(c).ok().filter(u8::is_ascii) {
            Some(a) => &self.ascii[usize::from(a) * self.words..],
            None => {
                let k = self.spans.partition_point(|first| *first <= u32::from(c)).saturating_sub(1);
                &self.span_items[k * self.words..]
            }
        };
        &at[..self.words]
    }

    /// Adds to `set` the item after each star in it (stars match nothing too).
    fn close(&self, set: &mut [u64]) {
        let mut carry = 0;
        for (w, s) in set.iter_mut().enumerate() {
            let from_star = *s & self.stars[w];
            *s |= (from_star << 1) | carry;
            carry = from_star >> 63;
        }
    }

    /// Whether the glob matches all of `v` (already lower-cased).
    fn matches(&self, v: &str) -> bool {
        let mut set = vec![0u64; self.words];
        set[0] = 1;
        self.close(&mut set);
        for c in v.chars() {
            // Each state whose item matches `c` moves on; a star stays.
            let hit = self.items_matching(c);
            let mut carry = 0;
            let mut any = 0;
            for ((s, h), star) in set.iter_mut().zip(hit).zip(&self.stars) {
                let moved = *s & h;
                *s = (moved << 1) | carry | (*s & star);
                carry = moved >> 63;
                any |= *s;
            }
            if any == 0 {
                return false;
            }
            self.close(&mut set);
        }
        set[self.len / 64] & (1 << (self.len % 64)) != 0
    }
}

/// Where a pattern looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SummaryOrCategory,
    Summary,
    Category,
    Description,
}

/// A compiled [`HolidayFilter`].
#[derive(Debug)]
struct Filter {
    include: Vec<(Field, Glob)>,
    exclude: Vec<(Field, Glob)>,
}

impl Filter {
    fn compile(filter: &HolidayFilter) -> Result<Filter, HolidayError> {
        let total = filter.include.len() + filter.exclude.len();
        if total > MAX_PATTERNS {
            return Err(HolidayError::Pattern {
                pattern: filter.include.iter().chain(&filter.exclude).nth(MAX_PATTERNS).cloned().unwrap_or_default(),
                message: format!("more than {MAX_PATTERNS} patterns: combine them with * and [..]"),
            });
        }
        let compile = |list: &[String]| list.iter().map(|p| compile_pattern(p)).collect::<Result<Vec<_>, _>>();
        Ok(Filter { include: compile(&filter.include)?, exclude: compile(&filter.exclude)? })
    }

    fn keeps(&self, ev: &Event) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return true;
        }
        let summary = ev.summary.to_lowercase();
        let categories: Vec<String> = ev.categories.iter().map(|c| c.to_lowercase()).collect();
        let mut description = None;
        let mut hit = |(field, glob): &(Field, Glob)| match field {
            Field::Summary => glob.matches(&summary),
            Field::Category => categories.iter().any(|c| glob.matches(c)),
            Field::SummaryOrCategory => glob.matches(&summary) || categories.iter().any(|c| glob.matches(c)),
            Field::Description => glob.matches(description.get_or_insert_with(|| ev.description.to_lowercase())),
        };
        (self.include.is_empty() || self.include.iter().any(&mut hit)) && !self.exclude.iter().any(&mut hit)
    }
}

fn compile_pattern(pattern: &str) -> Result<(Field, Glob), HolidayError> {
    let fail = |message: String| HolidayError::Pattern { pattern: pattern.to_owned(), message };
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(fail(format!("longer than {MAX_PATTERN_CHARS} characters")));
    }
    let lower = pattern.to_ascii_lowercase();
    let (field, glob) = [
        ("summary:", Field::Summary),
        ("categories:", Field::Category),
        ("category:", Field::Category),
        ("description:", Field::Description),
    ]
    .into_iter()
    .find(|(prefix, _)| lower.starts_with(prefix))
    .map_or((Field::SummaryOrCategory, pattern), |(prefix, field)| (field, &pattern[prefix.len()..]));
    if glob.trim().is_empty() {
        return Err(fail("an empty pattern: write * to match every value".into()));
    }
    Ok((field, Glob::parse(glob.trim()).map_err(fail)?))
}

#[cfg(test)]
mod tests;
