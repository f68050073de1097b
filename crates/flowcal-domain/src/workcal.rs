//! Work calendars: which days, and which hours of them, are working time, and
//! deadline arithmetic in that time ("three working days", "eight working
//! hours").
//!
//! A [`WorkCalendar`] is plain data (what an administrator edits and the store
//! keeps). [`WorkCalendar::compile`] checks it and gives a [`CompiledCalendar`],
//! the form that answers questions fast: which days work, the n-th working day
//! from a date (as `numpy.busday_offset` counts), and the deadline rules of
//! `PnD`, `PTnH` and `deadlineFrom` with an offset.
//!
//! Like the rest of the domain this module does no I/O and never reads the
//! clock. Every answer is bounded: day counts pass whole weeks at once (the
//! cost grows with the holidays passed, not with the distance), working time
//! goes one working day at a time (never minute by minute), and a calendar
//! without any working day gives no deadline (`None`) rather than a search
//! that never ends.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// At most this many holidays, and this many extra working days, per calendar
/// (decades of public holidays of several regions).
pub const MAX_DATES: usize = 10_000;
/// At most this many periods of working hours on a day.
pub const MAX_PERIODS: usize = 48;
/// The longest name of a holiday or an extra working day, in characters.
pub const MAX_DAY_NAME: usize = 200;
/// The largest amount [`CompiledCalendar::add_working_time`] takes, in
/// minutes: above the most an ISO 8601 duration in a deadline rule can say
/// (100,000 hours and 100,000 minutes).
pub const MAX_WORKING_MINUTES: i64 = 7_000_000;

/// The weekday names, Monday first, as written in a calendar.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// What is wrong with a work calendar, or with a part of one being parsed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WorkCalendarError {
    #[error("'{0}' is not a weekday: write mon, tue, wed, thu, fri, sat or sun")]
    BadWeekday(String),
    #[error("the weekday '{0}' is listed twice in the working week: list each day once")]
    WeekdayTwice(String),
    #[error("'{text}' is not a period of working hours ({reason}); write for example 09:00-12:00")]
    BadPeriod { text: String, reason: &'static str },
    #[error(
        "the working hours {first} and {second} {place}overlap or are out of order: \
         list the periods from the earliest, for example 09:00-12:00, 13:00-17:00"
    )]
    PeriodsOverlap { first: String, second: String, place: String },
    #[error(
        "the holiday on {0} has an empty list of hours: give at least one period, or leave hours out for a day off"
    )]
    NoHours(Date),
    #[error("{what} has {count} periods of working hours; at most {MAX_PERIODS} are allowed")]
    TooManyPeriods { what: String, count: usize },
    #[error(
        "'{0}' is not a valid work calendar name: use 1 to 64 characters a-z, 0-9 or '-', \
         starting and ending with a letter or digit (for example de-berlin)"
    )]
    BadName(String),
    #[error("'{0}' is not a known IANA time zone (for example Europe/Berlin or America/New_York)")]
    UnknownZone(String),
    #[error("the calendar lists {count} {what}; at most {MAX_DATES} are allowed: remove past years")]
    TooManyDates { what: &'static str, count: usize },
    #[error("{date} is listed twice as {what}: list each date once")]
    DateTwice { date: Date, what: &'static str },
    #[error(
        "{0} is both a holiday and an extra working day: remove one of them \
         (a holiday with hours is a shortened working day)"
    )]
    HolidayAndWorkingDay(Date),
    #[error(
        "the name of {date} is too long or holds control characters: use at most {MAX_DAY_NAME} characters of text"
    )]
    BadDayName { date: Date },
    #[error("'{0}' is not a roll: write forward or backward")]
    BadRoll(String),
}

/// The working weekdays of a calendar, Monday first.
///
/// Written as a list of day names: `["mon","tue","wed","thu","fri"]`. The
/// default is a week without working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Weekmask([bool; 7]);

impl Weekmask {
    /// Monday to Friday.
    pub const MON_FRI: Weekmask = Weekmask([true, true, true, true, true, false, false]);

    /// A week from seven flags, Monday first.
    pub fn from_flags(flags: [bool; 7]) -> Self {
        Weekmask(flags)
    }

    /// The seven flags, Monday first.
    pub fn flags(self) -> [bool; 7] {
        self.0
    }

    /// Parses a list of day names (`mon` … `sun`, any case); a day listed twice is refused.
    pub fn parse<S: AsRef<str>>(days: &[S]) -> Result<Self, WorkCalendarError> {
        let mut flags = [false; 7];
        for day in days {
            let i = parse_weekday(day.as_ref())?;
            if flags[i] {
                return Err(WorkCalendarError::WeekdayTwice(DAY_NAMES[i].to_owned()));
            }
            flags[i] = true;
        }
        Ok(Weekmask(flags))
    }

    /// Whether `day` is a working weekday.
    pub fn contains(self, day: Weekday) -> bool {
        self.0[usize::from(day.to_monday_zero_offset().unsigned_abs())]
    }

    /// How many weekdays are working days (0 to 7).
    pub fn count(self) -> u8 {
        // At most seven flags.
        self.0.iter().filter(|w| **w).count() as u8
    }

    /// The working weekdays' names, Monday first.
    pub fn names(self) -> Vec<&'static str> {
        DAY_NAMES.iter().zip(self.0).filter(|(_, w)| *w).map(|(n, _)| *n).collect()
    }

    /// The week as numpy writes a weekmask: seven `0`/`1`, Monday first (`1111100`).
    pub fn to_bits(self) -> String {
        self.0.iter().map(|w| if *w { '1' } else { '0' }).collect()
    }
}

/// Parses one weekday name (`mon` … `sun`, any case) to its index, Monday = 0.
fn parse_weekday(text: &str) -> Result<usize, WorkCalendarError> {
    let lower = text.trim().to_ascii_lowercase();
    DAY_NAMES.iter().position(|n| *n == lower).ok_or_else(|| WorkCalendarError::BadWeekday(text.to_owned()))
}

impl TryFrom<Vec<String>> for Weekmask {
    type Error = WorkCalendarError;
    fn try_from(days: Vec<String>) -> Result<Self, Self::Error> {
        Weekmask::parse(&days)
    }
}

impl From<Weekmask> for Vec<String> {
    fn from(w: Weekmask) -> Vec<String> {
        w.names().into_iter().map(str::to_owned).collect()
    }
}

impl fmt::Display for Weekmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// A period of working hours on a day, to the minute: `09:00-12:00`.
///
/// `end` is after `start`. An end of `24:00` (midnight at the end of the day)
/// is kept as [`Time::MAX`] and written back as `24:00`; a period cannot
/// run past midnight (a night shift is two periods, `22:00-24:00` and
/// `00:00-06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    pub start: Time,
    pub end: Time,
}

impl Period {
    /// A period from two times on whole minutes (`end` may be [`Time::MAX`] for 24:00).
    pub fn new(start: Time, end: Time) -> Result<Self, WorkCalendarError> {
        let p = Period { start, end };
        p.check()?;
        Ok(p)
    }

    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Self, WorkCalendarError> {
        let err = |reason| WorkCalendarError::BadPeriod { text: text.to_owned(), reason };
        let (a, b) = text.trim().split_once('-').ok_or_else(|| err("it has no '-' between start and end"))?;
        let start =
            parse_clock(a.trim(), false).ok_or_else(|| err("the start is not a time HH:MM from 00:00 to 23:59"))?;
        let end = parse_clock(b.trim(), true).ok_or_else(|| err("the end is not a time HH:MM from 00:01 to 24:00"))?;
        if end <= start {
            return Err(err("it must end after it starts, on the same day"));
        }
        Ok(Period { start, end })
    }

    /// The period's start and end in minutes of the day (the end up to 1440).
    fn minutes(self) -> (u16, u16) {
        (minute_of_day(self.start), if self.end == Time::MAX { MINUTES_PER_DAY } else { minute_of_day(self.end) })
    }

    /// Whole minutes, start before end (a period built by hand is checked here).
    fn check(self) -> Result<(), WorkCalendarError> {
        let whole = |t: Time| t.second() == 0 && t.subsec_nanosecond() == 0;
        let reason = if !whole(self.start) || (!whole(self.end) && self.end != Time::MAX) {
            Some("its times must be whole minutes")
        } else if self.minutes().1 <= self.minutes().0 {
            Some("it must end after it starts, on the same day")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(WorkCalendarError::BadPeriod { text: self.to_string(), reason }),
            None => Ok(()),
        }
    }
}

/// `HH:MM`; with `end`, `24:00` is midnight at the end of the day ([`Time::MAX`]).
fn parse_clock(text: &str, end: bool) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if end && h == 24 && m == 0 {
        return Some(Time::MAX);
    }
    Time::new(h, m, 0, 0).ok()
}

fn minute_of_day(t: Time) -> u16 {
    // Hours 0–23 and minutes 0–59: at most 1439.
    (t.hour() as u16) * 60 + t.minute() as u16
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = self.minutes();
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

impl std::str::FromStr for Period {
    type Err = WorkCalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::parse(s)
    }
}

impl TryFrom<String> for Period {
    type Error = WorkCalendarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Period::parse(&s)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

/// Parses a list of periods (`["09:00-12:00","13:00-17:00"]`) and checks that
/// they are in order and do not overlap.
pub fn parse_hours<S: AsRef<str>>(periods: &[S]) -> Result<Vec<Period>, WorkCalendarError> {
    let hours = periods.iter().map(|p| Period::parse(p.as_ref())).collect::<Result<Vec<_>, _>>()?;
    check_hours(&hours, None)?;
    Ok(hours)
}

/// Periods valid, sorted and apart (touching is allowed: 09:00-12:00, 12:00-13:00);
/// `holiday`: the half day they belong to, for the messages.
fn check_hours(hours: &[Period], holiday: Option<Date>) -> Result<(), WorkCalendarError> {
    if hours.len() > MAX_PERIODS {
        let what = match holiday {
            Some(date) => format!("the holiday on {date}"),
            None => "the working day".to_owned(),
        };
        return Err(WorkCalendarError::TooManyPeriods { what, count: hours.len() });
    }
    for p in hours {
        p.check()?;
    }
    for w in hours.windows(2) {
        if w[1].minutes().0 < w[0].minutes().1 {
            return Err(WorkCalendarError::PeriodsOverlap {
                first: w[0].to_string(),
                second: w[1].to_string(),
                place: holiday.map(|date| format!("of the holiday on {date} ")).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// Where a date that is not a working day goes (`flowcal:deadlineRoll`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Roll {
    /// To the next working day (the default).
    #[default]
    Forward,
    /// To the working day before.
    Backward,
}

impl Roll {
    /// Parses `forward` or `backward`.
    pub fn parse(text: &str) -> Result<Self, WorkCalendarError> {
        match text.trim() {
            "forward" => Ok(Roll::Forward),
            "backward" => Ok(Roll::Backward),
            _ => Err(WorkCalendarError::BadRoll(text.to_owned())),
        }
    }

    fn dir(self) -> Dir {
        match self {
            Roll::Forward => Dir::Forward,
            Roll::Backward => Dir::Backward,
        }
    }
}

impl fmt::Display for Roll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Roll::Forward => "forward",
            Roll::Backward => "backward",
        })
    }
}

/// A holiday: a day off, or, with `hours`, a shortened working day (a half day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: String,
    /// The working hours of a half day; `None`: the day is off.
    pub hours: Option<Vec<Period>>,
}

/// A work calendar: which days and hours are working time, in one zone.
///
/// - A working day is a weekday of `week` that is not a holiday, or a date of
///   `working_days` (a make-up Saturday).
/// - `hours` are the working hours of a working day; empty: the whole day.
///   An extra working day has these hours too.
/// - A holiday without hours is a day off. A holiday with hours on a weekday
///   of `week` is a working day with those hours (a half day); on a weekday
///   outside `week` it stays off: a half day shortens a working day, it does
///   not make one. A date cannot be both a holiday and an extra working day.
///
/// Its JSON form: `{"name", "time_zone", "week": ["mon",…], "hours"?: ["09:00-12:00",…],
/// "holidays"?: [{"date","name"?,"hours"?}], "working_days"?: [{"date","name"?}]}`.
/// Reading it checks the form (and refuses a date listed twice);
/// [`WorkCalendar::validate`] checks the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarForm", into = "CalendarForm")]
pub struct WorkCalendar {
    /// A slug, e.g. `de-berlin`.
    pub name: String,
    /// An IANA time zone, e.g. `Europe/Berlin`: working hours are in it.
    pub time_zone: String,
    pub week: Weekmask,
    pub hours: Vec<Period>,
    pub holidays: BTreeMap<Date, Holiday>,
    pub working_days: BTreeMap<Date, String>,
}

/// The JSON form of a [`WorkCalendar`]: dates as lists, as the API writes them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarForm {
    name: String,
    time_zone: String,
    week: Weekmask,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hours: Vec<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    holidays: Vec<HolidayForm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    working_days: Vec<WorkingDayForm>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayForm {
    date: Date,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hours: Option<Vec<Period>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkingDayForm {
    date: Date,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
}

impl TryFrom<CalendarForm> for WorkCalendar {
    type Error = WorkCalendarError;
    fn try_from(f: CalendarForm) -> Result<Self, Self::Error> {
        let mut holidays = BTreeMap::new();
        for h in f.holidays {
            if holidays.insert(h.date, Holiday { name: h.name, hours: h.hours }).is_some() {
                return Err(WorkCalendarError::DateTwice { date: h.date, what: "a holiday" });
            }
        }
        let mut working_days = BTreeMap::new();
        for w in f.working_days {
            if working_days.insert(w.date, w.name).is_some() {
                return Err(WorkCalendarError::DateTwice { date: w.date, what: "an extra working day" });
            }
        }
        Ok(WorkCalendar { name: f.name, time_zone: f.time_zone, week: f.week, hours: f.hours, holidays, working_days })
    }
}

impl From<WorkCalendar> for CalendarForm {
    fn from(c: WorkCalendar) -> Self {
        CalendarForm {
            name: c.name,
            time_zone: c.time_zone,
            week: c.week,
            hours: c.hours,
            holidays: c
                .holidays
                .into_iter()
                .map(|(date, h)| HolidayForm { date, name: h.name, hours: h.hours })
                .collect(),
            working_days: c.working_days.into_iter().map(|(date, name)| WorkingDayForm { date, name }).collect(),
        }
    }
}

/// Checks a calendar name: 1–64 characters `a-z 0-9 -`, starting and ending
/// with a letter or digit.
pub fn valid_calendar_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= 64
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_day_name(name: &str) -> bool {
    name.chars().count() <= MAX_DAY_NAME && !name.chars().any(char::is_control)
}

impl WorkCalendar {
    /// A calendar with only a name, a zone and a week (no hours, holidays or extra days).
    pub fn new(name: &str, time_zone: &str, week: Weekmask) -> Self {
        WorkCalendar {
            name: name.to_owned(),
            time_zone: time_zone.to_owned(),
            week,
            hours: Vec::new(),
            holidays: BTreeMap::new(),
            working_days: BTreeMap::new(),
        }
    }

    /// Checks everything a calendar must be: a slug name, a known zone,
    /// periods in order and apart, at most [`MAX_DATES`] holidays and extra
    /// working days, short names, and no date both a holiday and a working day.
    /// A week without working days is valid (its deadlines are `None`).
    pub fn validate(&self) -> Result<(), WorkCalendarError> {
        self.checked_zone().map(|_| ())
    }

    /// Checks the calendar and makes it ready for arithmetic.
    pub fn compile(&self) -> Result<CompiledCalendar, WorkCalendarError> {
        let zone = self.checked_zone()?;
        let mask = self.week.flags();
        let mut exceptions: Vec<(i64, bool)> = Vec::new();
        let mut half_days: Vec<(i64, Vec<(u16, u16)>)> = Vec::new();
        // Both maps are sorted by date, so both lists are sorted by day number.
        for (date, h) in &self.holidays {
            let day = day_number(*date);
            if !mask[weekday_index(day)] {
                continue; // off anyway, with or without hours
            }
            match &h.hours {
                None => exceptions.push((day, false)),
                Some(hours) => half_days.push((day, hours.iter().map(|p| p.minutes()).collect())),
            }
        }
        for date in self.working_days.keys() {
            let day = day_number(*date);
            if !mask[weekday_index(day)] {
                exceptions.push((day, true));
            }
        }
        exceptions.sort_unstable();
        let mut prefix = [0i64; 15];
        for i in 0..14 {
            prefix[i + 1] = prefix[i] + i64::from(mask[i % 7]);
        }
        Ok(CompiledCalendar {
            calendar: self.clone(),
            zone,
            mask,
            prefix,
            per_week: i64::from(self.week.count()),
            hours: if self.hours.is_empty() {
                vec![(0, MINUTES_PER_DAY)]
            } else {
                self.hours.iter().map(|p| p.minutes()).collect()
            },
            exceptions,
            half_days,
        })
    }

    /// [`WorkCalendar::validate`], giving the parsed zone.
    fn checked_zone(&self) -> Result<TimeZone, WorkCalendarError> {
        if !valid_calendar_name(&self.name) {
            return Err(WorkCalendarError::BadName(self.name.clone()));
        }
        let zone =
            TimeZone::get(&self.time_zone).map_err(|_| WorkCalendarError::UnknownZone(self.time_zone.clone()))?;
        check_hours(&self.hours, None)?;
        for (what, count) in [("holidays", self.holidays.len()), ("extra working days", self.working_days.len())] {
            if count > MAX_DATES {
                return Err(WorkCalendarError::TooManyDates { what, count });
            }
        }
        for (date, h) in &self.holidays {
            if !valid_day_name(&h.name) {
                return Err(WorkCalendarError::BadDayName { date: *date });
            }
            if let Some(hours) = &h.hours {
                if hours.is_empty() {
                    return Err(WorkCalendarError::NoHours(*date));
                }
                check_hours(hours, Some(*date))?;
            }
            if self.working_days.contains_key(date) {
                return Err(WorkCalendarError::HolidayAndWorkingDay(*date));
            }
        }
        for (date, name) in &self.working_days {
            if !valid_day_name(name) {
                return Err(WorkCalendarError::BadDayName { date: *date });
            }
        }
        Ok(zone)
    }
}

/// A direction in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Forward,
    Backward,
}

impl Dir {
    fn step(self) -> i64 {
        match self {
            Dir::Forward => 1,
            Dir::Backward => -1,
        }
    }
}

/// A checked [`WorkCalendar`], ready for arithmetic.
///
/// Day arithmetic works on day numbers (days since 1970-01-01) with the week
/// and a sorted list of the dates that differ from it: whole weeks are counted
/// at once between those dates, so the cost grows with the number of holidays
/// passed, not with the distance.
#[derive(Debug, Clone)]
pub struct CompiledCalendar {
    calendar: WorkCalendar,
    zone: TimeZone,
    mask: [bool; 7],
    /// `prefix[i]`: working weekdays among the `i` days from Monday (over two weeks).
    prefix: [i64; 15],
    per_week: i64,
    /// The working hours of a working day in minutes of the day (the whole day without hours).
    hours: Vec<(u16, u16)>,
    /// Dates whose working status differs from the week, sorted: (day number, working).
    exceptions: Vec<(i64, bool)>,
    /// Half days (holidays with hours on working weekdays), sorted: (day number, periods).
    half_days: Vec<(i64, Vec<(u16, u16)>)>,
}

/// Day numbers of the first and last date jiff represents (-9999-01-01, 9999-12-31).
const FIRST_DAY: i64 = -4_371_587;
const LAST_DAY: i64 = 2_932_896;

/// Days since 1970-01-01 (proleptic Gregorian calendar).
fn day_number(date: Date) -> i64 {
    // Howard Hinnant's days_from_civil.
    let (y, m, d) = (i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number; `None` outside the dates jiff represents.
fn date_of(day: i64) -> Option<Date> {
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return None;
    }
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday_index(day: i64) -> usize {
    // rem_euclid(7) is 0..7.
    (day + 3).rem_euclid(7) as usize
}

impl CompiledCalendar {
    /// The calendar this was compiled from.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    /// The calendar's zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Working weekdays per week: what `PnW` multiplies `n` by.
    pub fn working_days_per_week(&self) -> i64 {
        self.per_week
    }

    /// Whether `date` is a working day: a working weekday that is not a
    /// holiday without hours, or an extra working day. A half day works.
    pub fn is_working(&self, date: Date) -> bool {
        self.is_working_day(day_number(date))
    }

    /// The working hours of `date`: `None` on a day off; the calendar's hours
    /// on a working day (an empty slice: the whole day); a half day's own hours.
    pub fn hours_on(&self, date: Date) -> Option<&[Period]> {
        if !self.is_working(date) {
            return None;
        }
        match self.calendar.holidays.get(&date).and_then(|h| h.hours.as_deref()) {
            Some(hours) => Some(hours),
            None => Some(&self.calendar.hours),
        }
    }

    /// Exactly `numpy.busday_offset(date, n, roll, weekmask, holidays)` with
    /// `roll` `'forward'` or `'backward'`: a date that is not a working day is
    /// first rolled to the next (or previous) working day, then moved `n`
    /// working days (back, when `n` is negative). Extra working days count as
    /// working days (numpy has no such thing), and so do half days (holidays
    /// with hours), which numpy would have to be given as working days.
    ///
    /// `None` when there is no such day: a calendar without working days, or
    /// past the dates jiff represents.
    pub fn busday_offset(&self, date: Date, n: i64, roll: Roll) -> Option<Date> {
        let day = day_number(date);
        let start = if self.is_working_day(day) { day } else { self.advance(day, 1, roll.dir())? };
        let end = match n {
            0 => start,
            n if n > 0 => self.advance(start, n.unsigned_abs(), Dir::Forward)?,
            n => self.advance(start, n.unsigned_abs(), Dir::Backward)?,
        };
        date_of(end)
    }

    /// The date of a `deadlineFrom` date item with `deadlineOffset` of `n` days
    /// (`-P2D`: `n = -2`), rolled per `deadlineRoll` when the item's date is
    /// not a working day: [`CompiledCalendar::busday_offset`]. Without an
    /// offset, `n = 0`: the item's date, rolled.
    pub fn offset_date(&self, date: Date, n: i64, roll: Roll) -> Option<Date> {
        self.busday_offset(date, n, roll)
    }

    /// The deadline of `PnD` (and of `PnW` with `n` × [`working_days_per_week`]
    /// days) for a step that started at `start`: on the `n`-th working day
    /// after the start's day in the calendar's zone (a start on a day off
    /// first rolls forward to the next working day, which then counts as day
    /// 0), at the start's wall-clock time; when the calendar has hours, at the
    /// close of that day's working hours (of its own hours on a half day).
    ///
    /// A wall-clock time that the day skips (a DST gap) is moved forward by the
    /// gap, and one that it repeats is taken at its first occurrence, as
    /// [`crate::DeadlineRule`] adds days. A negative `n` counts back from the
    /// rolled start day.
    ///
    /// [`working_days_per_week`]: CompiledCalendar::working_days_per_week
    pub fn add_days(&self, start: Timestamp, n: i64) -> Option<Timestamp> {
        let local = start.to_zoned(self.zone.clone());
        let date = self.busday_offset(local.date(), n, Roll::Forward)?;
        if self.calendar.hours.is_empty() {
            return self.instant(date, local.time());
        }
        let day = day_number(date);
        let close = self.periods_on(day)?.last()?.1;
        self.instant_at_minute(day, close)
    }

    /// The deadline of `PTnH` / `PTnM`: `minutes` of working time after `start`.
    ///
    /// Only time inside the working hours of working days counts (the whole
    /// day when the calendar has no hours). Working time is elapsed time: on
    /// the day a DST change happens inside working hours, those hours are an
    /// hour (Lord Howe: half an hour) shorter or longer, and a calendar
    /// without hours has 23 or 25 hours that day; so a calendar working every
    /// hour of every day gives the same deadline as plain `PTnM`.
    ///
    /// A start outside working hours begins at the next working minute; an
    /// amount that ends exactly where a period ends stays there (it does not
    /// move on to the next period's start). `0` gives the next working instant
    /// (the start itself when it is inside working hours).
    ///
    /// A negative amount counts back through working time from `start`: a
    /// start outside working hours begins at the end of the previous period,
    /// and an amount that ends exactly where a period starts stays there.
    ///
    /// `None`: more than [`MAX_WORKING_MINUTES`], no working time left in that
    /// direction, or past the dates jiff represents. The cost grows with the
    /// working days passed, never with the minutes.
    pub fn add_working_time(&self, start: Timestamp, minutes: i64) -> Option<Timestamp> {
        if minutes.unsigned_abs() > MAX_WORKING_MINUTES.unsigned_abs() {
            return None;
        }
        let mut left = SignedDuration::from_mins(minutes.abs());
        let dir = if minutes < 0 { Dir::Backward } else { Dir::Forward };
        let mut day = day_number(start.to_zoned(self.zone.clone()).date());
        if !self.is_working_day(day) {
            day = self.advance(day, 1, dir)?;
        }
        loop {
            let periods = self.periods_on(day)?;
            match dir {
                Dir::Forward => {
                    for &(s, e) in periods {
                        let end = self.instant_at_minute(day, e)?;
                        if end <= start {
                            continue;
                        }
                        let from = self.instant_at_minute(day, s)?.max(start);
                        let there = end.duration_since(from);
                        if left <= there {
                            return from.checked_add(left).ok();
                        }
                        left -= there;
                    }
                }
                Dir::Backward => {
                    for &(s, e) in periods.iter().rev() {
                        let begin = self.instant_at_minute(day, s)?;
                        if begin >= start {
                            continue;
                        }
                        let to = self.instant_at_minute(day, e)?.min(start);
                        let there = to.duration_since(begin);
                        if left <= there {
                            return to.checked_sub(left).ok();
                        }
                        left -= there;
                    }
                }
            }
            day = self.advance(day, 1, dir)?;
        }
    }

    fn is_working_day(&self, day: i64) -> bool {
        match self.exceptions.binary_search_by_key(&day, |e| e.0) {
            Ok(i) => self.exceptions[i].1,
            Err(_) => self.mask[weekday_index(day)],
        }
    }

    /// The working periods of a day in minutes; `None` on a day off.
    fn periods_on(&self, day: i64) -> Option<&[(u16, u16)]> {
        if !self.is_working_day(day) {
            return None;
        }
        match self.half_days.binary_search_by_key(&day, |h| h.0) {
            Ok(i) => Some(&self.half_days[i].1),
            Err(_) => Some(&self.hours),
        }
    }

    /// The instant of a wall-clock time on a date in the calendar's zone: a
    /// time in a gap moves forward by the gap, one in a fold is its first
    /// occurrence (jiff's "compatible" choice, as adding days does).
    pub fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        let zoned = self.zone.to_ambiguous_zoned(DateTime::from_parts(date, time)).compatible().ok()?;
        Some(zoned.timestamp())
    }

    /// The instant of a minute of a day (minute 1440: the next day's midnight).
    fn instant_at_minute(&self, day: i64, minute: u16) -> Option<Timestamp> {
        let (day, minute) = if minute >= MINUTES_PER_DAY { (day + 1, 0) } else { (day, minute) };
        // Below 1440: hour 0–23, minute 0–59.
        let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
        self.instant(date_of(day)?, time)
    }

    /// Working weekdays strictly between two day numbers, by the week alone.
    fn week_days_between(&self, a: i64, b: i64) -> i64 {
        let (lo, hi) = (a.min(b) + 1, a.max(b));
        let n = hi - lo;
        if n <= 0 {
            return 0;
        }
        let first = weekday_index(lo);
        (n / 7) * self.per_week + self.prefix[first + (n % 7) as usize] - self.prefix[first]
    }

    /// The `k`-th working day after (or before) `from`, by the week alone
    /// (`k` ≥ 1): whole weeks at once, then at most a week of single days.
    fn week_advance(&self, from: i64, k: i64, dir: Dir) -> Option<i64> {
        if self.per_week == 0 {
            return None;
        }
        let weeks = (k - 1) / self.per_week;
        let mut day = from + dir.step() * 7 * weeks;
        let mut left = k - weeks * self.per_week;
        while left > 0 {
            day += dir.step();
            if self.mask[weekday_index(day)] {
                left -= 1;
            }
        }
        Some(day)
    }

    /// The `k`-th working day after (or before) `from`, not counting `from`
    /// (`k` ≥ 1). Walks the dates that differ from the week, counting the
    /// stretches of ordinary weeks between them at once.
    fn advance(&self, from: i64, k: u64, dir: Dir) -> Option<i64> {
        // More working days than the dates jiff represents: no answer.
        if k > (LAST_DAY - FIRST_DAY).unsigned_abs() {
            return None;
        }
        let mut left = i64::try_from(k).ok()?;
        let mut cur = from;
        // The index of the next date that differs from the week, in `dir`.
        let mut next = match dir {
            Dir::Forward => self.exceptions.partition_point(|e| e.0 <= from),
            Dir::Backward => self.exceptions.partition_point(|e| e.0 < from),
        };
        loop {
            let exception = match dir {
                Dir::Forward => self.exceptions.get(next).copied(),
                Dir::Backward => next.checked_sub(1).and_then(|i| self.exceptions.get(i)).copied(),
            };
            let Some((x, working)) = exception else {
                return self.week_advance(cur, left, dir).filter(|d| (FIRST_DAY..=LAST_DAY).contains(d));
            };
            let ordinary = self.week_days_between(cur, x);
            if left <= ordinary {
                return self.week_advance(cur, left, dir);
            }
            left -= ordinary;
            if working {
                left -= 1;
                if left == 0 {
                    return Some(x);
                }
            }
            cur = x;
            next = match dir {
                Dir::Forward => next + 1,
                Dir::Backward => next - 1,
            };
        }
    }
}

#[cfg(test)]
mod tests;
