//! Deadlines of steps: the rule a model gives, and the deadline it yields.
//!
//! A deadline is either a civil date (all-day, never shifted by a zone) or an
//! instant together with the IANA zone it was computed in.

use crate::duration::IsoDuration;
use crate::value::{Data, Value};
use crate::workcal::{CompiledCalendar, Roll};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// How a step's deadline is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeadlineRule {
    #[default]
    None,
    /// A duration after the step starts.
    After(IsoDuration),
    /// Taken from a date or datetime item, with an optional signed offset.
    From { item: String, offset: Option<IsoDuration> },
}

/// A computed deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deadline {
    /// All day on this date.
    Date(Date),
    /// At this instant; `zone` is the IANA zone it was set in.
    At { at: Timestamp, zone: String },
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DeadlineError {
    #[error("the deadline falls outside the supported range of dates")]
    OutOfRange,
    #[error("data item '{0}' holds neither a date nor a date-time")]
    NotADate(String),
    #[error("the work calendar has no working time in that direction")]
    NoWorkingTime,
    #[error("months and years cannot be counted in working time: write days (P20D) or weeks (P4W)")]
    NotInWorkingTime,
}

/// The work calendar a deadline counts in, and where a date deadline that
/// falls on a day off goes (`flowcal:deadlineRoll`).
#[derive(Debug, Clone, Copy)]
pub struct WorkTime<'a> {
    pub calendar: &'a CompiledCalendar,
    pub roll: Roll,
}

impl DeadlineRule {
    /// The data item this rule depends on, if any.
    pub fn item(&self) -> Option<&str> {
        match self {
            DeadlineRule::From { item, .. } => Some(item),
            _ => None,
        }
    }

    /// Computes the deadline of a step that started at `started`: in working
    /// time of `work` when the step has a work calendar, else in the model's
    /// zone ([`DeadlineRule::compute`]).
    ///
    /// Under a work calendar, as `numpy.busday_offset` counts days:
    /// - `After`: the days part (`PnD`, and `PnW` as n times the calendar's
    ///   working days per week) with [`CompiledCalendar::add_days`], then the
    ///   clock part (`PTnH`, `PTnM`; seconds round up to a minute) as working
    ///   time with [`CompiledCalendar::add_working_time`]. The deadline is in
    ///   the calendar's zone.
    /// - `From` a date item: the item's date rolled per `roll` when it is not
    ///   a working day, then moved by the offset's days in working days
    ///   ([`CompiledCalendar::offset_date`]).
    /// - `From` a date-time item: its date (in the calendar's zone) moved the
    ///   same way, keeping its wall-clock time; a clock offset counts working
    ///   time from there.
    ///
    /// Months and years have no meaning in working time
    /// ([`DeadlineError::NotInWorkingTime`]; the BPMN reader refuses them).
    pub fn compute_in(
        &self,
        started: Timestamp,
        zone: &TimeZone,
        zone_name: &str,
        data: &Data,
        work: Option<WorkTime<'_>>,
    ) -> Result<Option<Deadline>, DeadlineError> {
        let Some(work) = work else {
            return self.compute(started, zone, zone_name, data);
        };
        let cal = work.calendar;
        let cal_zone = || cal.calendar().time_zone.clone();
        match self {
            DeadlineRule::None => Ok(None),
            DeadlineRule::After(d) => {
                let (days, minutes) = working_parts(cal, d)?;
                let mut at = started;
                if days != 0 || minutes == 0 {
                    at = cal.add_days(at, days).ok_or(DeadlineError::NoWorkingTime)?;
                }
                if minutes != 0 {
                    at = cal.add_working_time(at, minutes).ok_or(DeadlineError::NoWorkingTime)?;
                }
                Ok(Some(Deadline::At { at, zone: cal_zone() }))
            }
            DeadlineRule::From { item, offset } => {
                let (days, minutes) = match offset {
                    None => (0, 0),
                    Some(o) => working_parts(cal, o)?,
                };
                match data.get(item) {
                    None => Ok(None),
                    Some(Value::Date(date)) => {
                        let date = cal.offset_date(*date, days, work.roll).ok_or(DeadlineError::NoWorkingTime)?;
                        Ok(Some(Deadline::Date(date)))
                    }
                    Some(Value::DateTime(ts, _)) => {
                        let local = ts.to_zoned(cal.zone().clone());
                        let mut at = *ts;
                        if days != 0 || minutes == 0 {
                            let date =
                                cal.offset_date(local.date(), days, work.roll).ok_or(DeadlineError::NoWorkingTime)?;
                            at = cal.instant(date, local.time()).ok_or(DeadlineError::OutOfRange)?;
                        }
                        if minutes != 0 {
                            at = cal.add_working_time(at, minutes).ok_or(DeadlineError::NoWorkingTime)?;
                        }
                        Ok(Some(Deadline::At { at, zone: cal_zone() }))
                    }
                    Some(_) => Err(DeadlineError::NotADate(item.clone())),
                }
            }
        }
    }

    /// Computes the deadline of a step that started at `started`, in the
    /// model's zone `zone` (named `zone_name`). `Ok(None)`: no deadline (no
    /// rule, or the item it is taken from has no value yet).
    pub fn compute(
        &self,
        started: Timestamp,
        zone: &TimeZone,
        zone_name: &str,
        data: &Data,
    ) -> Result<Option<Deadline>, DeadlineError> {
        match self {
            DeadlineRule::None => Ok(None),
            DeadlineRule::After(d) => {
                let at = add_in_zone(started, zone, d)?;
                Ok(Some(Deadline::At { at, zone: zone_name.to_owned() }))
            }
            DeadlineRule::From { item, offset } => match data.get(item) {
                None => Ok(None),
                Some(Value::Date(date)) => {
                    let date = match offset {
                        None => *date,
                        // Only calendar units make sense for a date; clock units
                        // are refused when the model is read.
                        Some(o) => date.checked_add(o.to_span()).map_err(|_| DeadlineError::OutOfRange)?,
                    };
                    Ok(Some(Deadline::Date(date)))
                }
                Some(Value::DateTime(ts, _)) => {
                    let at = match offset {
                        None => *ts,
                        Some(o) => add_in_zone(*ts, zone, o)?,
                    };
                    Ok(Some(Deadline::At { at, zone: zone_name.to_owned() }))
                }
                Some(_) => Err(DeadlineError::NotADate(item.clone())),
            },
        }
    }
}

/// A duration as working days and minutes of working time, both signed.
fn working_parts(cal: &CompiledCalendar, d: &IsoDuration) -> Result<(i64, i64), DeadlineError> {
    if d.years != 0 || d.months != 0 {
        return Err(DeadlineError::NotInWorkingTime);
    }
    let sign = if d.negative { -1 } else { 1 };
    let days = d
        .weeks
        .checked_mul(cal.working_days_per_week())
        .and_then(|w| w.checked_add(d.days))
        .ok_or(DeadlineError::OutOfRange)?;
    let minutes = d
        .hours
        .checked_mul(60)
        .and_then(|h| h.checked_add(d.minutes))
        .and_then(|m| m.checked_add(d.seconds.checked_add(59)? / 60))
        .ok_or(DeadlineError::OutOfRange)?;
    Ok((sign * days, sign * minutes))
}

/// Adds a duration to an instant as a person in `zone` would: days keep the
/// wall-clock time across DST changes, hours are elapsed time.
fn add_in_zone(at: Timestamp, zone: &TimeZone, d: &IsoDuration) -> Result<Timestamp, DeadlineError> {
    let zoned = at.to_zoned(zone.clone());
    zoned.checked_add(d.to_span()).map(|z| z.timestamp()).map_err(|_| DeadlineError::OutOfRange)
}

impl Deadline {
    /// The deadline as the API shows it: `{"date": …}` or `{"at": …, "zone": …}`,
    /// `at` written in the zone's offset at that instant.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Deadline::Date(d) => serde_json::json!({ "date": d.to_string() }),
            Deadline::At { at, zone } => {
                let text = TimeZone::get(zone)
                    .map(|tz| at.display_with_offset(tz.to_offset(*at)).to_string())
                    .unwrap_or_else(|_| at.to_string());
                serde_json::json!({ "at": text, "zone": zone })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn after(s: &str) -> DeadlineRule {
        DeadlineRule::After(IsoDuration::parse(s).unwrap())
    }

    fn zoned(s: &str, zone: &str) -> Timestamp {
        date_time(s).to_zoned(TimeZone::get(zone).unwrap()).unwrap().timestamp()
    }

    fn date_time(s: &str) -> jiff::civil::DateTime {
        s.parse().unwrap()
    }

    fn at_local(rule: &DeadlineRule, start: &str, zone: &str) -> String {
        let tz = TimeZone::get(zone).unwrap();
        match rule.compute(zoned(start, zone), &tz, zone, &Data::new()).unwrap().unwrap() {
            Deadline::At { at, .. } => at.to_zoned(tz).strftime("%Y-%m-%dT%H:%M%:z").to_string(),
            Deadline::Date(_) => panic!("expected a timed deadline"),
        }
    }

    #[test]
    fn one_day_keeps_wall_clock_across_both_dst_changes() {
        // Spring forward and fall back, in zones with odd rules.
        let cases = [
            ("Europe/Berlin", "2026-03-28T09:00", "2026-03-29T09:00+02:00"),
            ("Europe/Berlin", "2026-10-24T09:00", "2026-10-25T09:00+01:00"),
            ("America/New_York", "2026-03-07T17:30", "2026-03-08T17:30-04:00"),
            ("America/New_York", "2026-10-31T17:30", "2026-11-01T17:30-05:00"),
            // Chatham: +12:45 / +13:45.
            ("Pacific/Chatham", "2026-09-26T10:00", "2026-09-27T10:00+13:45"),
            ("Pacific/Chatham", "2026-04-04T10:00", "2026-04-05T10:00+12:45"),
            // Lord Howe moves by half an hour: +10:30 / +11:00.
            ("Australia/Lord_Howe", "2026-10-03T12:00", "2026-10-04T12:00+11:00"),
            ("Australia/Lord_Howe", "2026-04-04T12:00", "2026-04-05T12:00+10:30"),
        ];
        for (zone, start, want) in cases {
            assert_eq!(at_local(&after("P1D"), start, zone), want, "{zone} {start}");
        }
    }

    #[test]
    fn hours_are_elapsed_time_across_dst() {
        // 24 hours across spring-forward in Berlin lands an hour later on the clock.
        assert_eq!(at_local(&after("PT24H"), "2026-03-28T09:00", "Europe/Berlin"), "2026-03-29T10:00+02:00");
        // Lord Howe's half-hour change.
        assert_eq!(at_local(&after("PT24H"), "2026-10-03T12:00", "Australia/Lord_Howe"), "2026-10-04T12:30+11:00");
        assert_eq!(at_local(&after("PT4H"), "2026-11-01T00:30", "America/New_York"), "2026-11-01T03:30-05:00");
    }

    #[test]
    fn start_in_a_gap_or_fold_is_well_defined() {
        // The step starts right before the gap; P1D lands on a normal day.
        assert_eq!(at_local(&after("P1D"), "2026-03-29T01:30", "Europe/Berlin"), "2026-03-30T01:30+02:00");
        // P1D landing inside the spring-forward gap is moved forward past it.
        assert_eq!(at_local(&after("P1D"), "2026-03-28T02:30", "Europe/Berlin"), "2026-03-29T03:30+02:00");
    }

    #[test]
    fn all_day_deadlines_never_shift() {
        let mut data = Data::new();
        data.insert("first_day".into(), Value::Date(date(2026, 3, 29)));
        let rule = DeadlineRule::From { item: "first_day".into(), offset: Some(IsoDuration::parse("-P1D").unwrap()) };
        for zone in [
            "Europe/Berlin",
            "America/New_York",
            "Pacific/Chatham",
            "Australia/Lord_Howe",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
        ] {
            let tz = TimeZone::get(zone).unwrap();
            for start in ["2026-03-28T23:59", "2026-03-29T00:01", "2026-10-25T02:30"] {
                let got = rule.compute(zoned(start, zone), &tz, zone, &data).unwrap();
                assert_eq!(got, Some(Deadline::Date(date(2026, 3, 28))), "{zone} {start}");
            }
        }
        assert_eq!(Deadline::Date(date(2026, 3, 28)).to_json(), serde_json::json!({"date": "2026-03-28"}));
    }

    #[test]
    fn datetime_item_with_offset() {
        let mut data = Data::new();
        let (ts, off) = crate::value::parse_datetime("2026-03-30T10:00:00+02:00").unwrap();
        data.insert("handover".into(), Value::DateTime(ts, off));
        let rule = DeadlineRule::From { item: "handover".into(), offset: Some(IsoDuration::parse("-P1D").unwrap()) };
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let got = rule.compute(Timestamp::UNIX_EPOCH, &tz, "Europe/Berlin", &data).unwrap().unwrap();
        // One day before, across spring-forward: same wall-clock time, other offset.
        assert_eq!(got.to_json(), serde_json::json!({"at": "2026-03-29T10:00:00+02:00", "zone": "Europe/Berlin"}));
        let got = DeadlineRule::From { item: "handover".into(), offset: Some(IsoDuration::parse("-P2D").unwrap()) }
            .compute(Timestamp::UNIX_EPOCH, &tz, "Europe/Berlin", &data)
            .unwrap()
            .unwrap();
        assert_eq!(got.to_json(), serde_json::json!({"at": "2026-03-28T10:00:00+01:00", "zone": "Europe/Berlin"}));
    }

    #[test]
    fn missing_item_gives_no_deadline() {
        let rule = DeadlineRule::From { item: "x".into(), offset: None };
        let tz = TimeZone::UTC;
        assert_eq!(rule.compute(Timestamp::UNIX_EPOCH, &tz, "UTC", &Data::new()).unwrap(), None);
    }
}
