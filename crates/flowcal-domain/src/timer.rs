//! Timers of a process model: when a timer event fires.
//!
//! A timer is read from a BPMN `timerEventDefinition` (`timeDuration`,
//! `timeDate`, `timeCycle`) and flowcal's `flowcal:deadlineTimer`. Durations
//! and cycles count in the model's zone, so `P1D` keeps the wall-clock time
//! across a DST change, as deadlines do.
//!
//! When a timer fires ([`TimerSpec::first_due`], [`TimerSpec::next_due`]):
//!
//! - The **anchor** is when the timer started counting (`armed_at`), or with
//!   `from_deadline` the deadline of its task: a timed deadline's instant, and
//!   for an all-day deadline on a date D, 00:00 of D+1 in the model's zone
//!   (the day is over). A `from_deadline` timer without a deadline has no date.
//! - `AtAnchor` fires at the anchor. `After(d)` fires at anchor + d, added in
//!   the model's zone exactly as deadlines are: `P1D` keeps the wall-clock
//!   time across DST, `PT24H` is elapsed time.
//! - `At(date)` fires at that date: a civil date-time in the model's zone; an
//!   item's value (a date item is 00:00 of that day in the model's zone, a
//!   date-time item its instant) moved by the offset. A date already past is
//!   still the due date: the caller fires whatever is due, so it fires at once.
//!   An empty item (or one holding no date) gives no date.
//! - `Cycle{repeat, start, every}` fires at occurrences k = 0, 1, 2, …
//!   (k < `repeat` when given): `start` + k×`every` when a start is given,
//!   else anchor + (k+1)×`every`. Each occurrence is counted from the base in
//!   the model's zone, never step by step, so `P1M` from January 31 gives
//!   February 28, March 31, …, and 09:00 stays 09:00 across DST.
//!   [`TimerSpec::first_due`] is the first occurrence at or after the anchor
//!   (a start in the past fires no backlog); [`TimerSpec::next_due`] the first
//!   occurrence strictly after a given instant (and at or after the anchor),
//!   so occurrences missed while flowcal was down fire once, together. A
//!   cycle with `R0`, or a period that is zero or negative, has no date.
//! - When the item or deadline a waiting timer counts from changes, its date
//!   is computed again from when it was armed; a cycle that has already
//!   fired goes on from about its last firing ([`TimerSpec::moved_due`]).
//!
//! Arithmetic that leaves the supported range of dates gives no date rather
//! than an error. The occurrence searched for is found by doubling and
//! halving k (about 130 date computations at most), never by stepping, so a
//! one-second cycle asked about a century later is as cheap as tomorrow.
//! Pure functions: nothing here reads the clock.

use crate::deadline::Deadline;
use crate::duration::IsoDuration;
use crate::value::{Data, Value};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// A timer event's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpec {
    pub when: TimerWhen,
    /// Counts from the deadline of the task it is attached to rather than
    /// from when the timer starts (`flowcal:deadlineTimer="true"`, boundary
    /// timers only). Without a deadline the timer does not start.
    pub from_deadline: bool,
}

/// When a timer fires, counted from its anchor: when it starts (the task or
/// the wait begins), or with `from_deadline` the task's deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerWhen {
    /// At the anchor itself: `flowcal:deadlineTimer="true"` with no definition.
    AtAnchor,
    /// `timeDuration`: once, this long after the anchor.
    After(IsoDuration),
    /// `timeDate`: once, at this date.
    At(TimerDate),
    /// `timeCycle` `R[n]/[start/]period`: every `every`, starting at `start`
    /// (or one period after the anchor), `repeat` times (`None`: without end).
    Cycle { repeat: Option<u32>, start: Option<TimerDate>, every: IsoDuration },
}

/// A point in time a model names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerDate {
    /// An ISO 8601 date-time with `Z` or an offset.
    Instant(Timestamp),
    /// A date-time without offset (or a date, at 00:00): in the model's zone.
    Civil(DateTime),
    /// The value of a date or datetime item, moved by an optional signed
    /// offset; a date item means 00:00 of that day in the model's zone.
    Item { key: String, offset: Option<IsoDuration> },
}

/// What a timer's dates are computed from.
#[derive(Debug, Clone, Copy)]
pub struct TimerContext<'a> {
    /// When the timer started counting: its task was created, or its token
    /// began to wait (for a start timer, when the model was deployed).
    pub armed_at: Timestamp,
    /// The deadline of the task a boundary timer is attached to.
    pub deadline: Option<&'a Deadline>,
    /// The model's zone.
    pub zone: &'a TimeZone,
    /// The instance's data, for dates taken from items.
    pub data: &'a Data,
}

impl TimerSpec {
    /// The first time the timer fires; `None` when it has no date (a
    /// `from_deadline` timer without a deadline, an empty item, a cycle with
    /// `R0`, arithmetic out of range).
    pub fn first_due(&self, cx: &TimerContext<'_>) -> Option<Timestamp> {
        let anchor = self.anchor(cx)?;
        match &self.when {
            TimerWhen::AtAnchor => Some(anchor.timestamp()),
            TimerWhen::After(d) => anchor.checked_add(d.to_span()).ok().map(|z| z.timestamp()),
            TimerWhen::At(date) => resolve(date, cx).map(|z| z.timestamp()),
            TimerWhen::Cycle { .. } => self.occurrence_reaching(cx, &anchor, |t| t >= anchor.timestamp()),
        }
    }

    /// The next time a cycle fires strictly after `after`; `None` for
    /// one-shot timers and for cycles that are done.
    pub fn next_due(&self, cx: &TimerContext<'_>, after: Timestamp) -> Option<Timestamp> {
        let anchor = self.anchor(cx)?;
        self.occurrence_reaching(cx, &anchor, |t| t > after && t >= anchor.timestamp())
    }

    /// The new date of a waiting timer whose item or deadline changed, for
    /// a timer armed at `cx.armed_at` that waited until `due` and has fired
    /// before (`fired`, cycles only). A timer that has not fired counts from
    /// scratch ([`first_due`](Self::first_due)). A cycle that has fired goes
    /// on with the first occurrence of its new schedule after the occurrence
    /// before `due` (one period before it, about when it last fired): it
    /// skips no occurrence of the new schedule, and fires again for none
    /// before its last firing. `None`: no date (the caller leaves the timer
    /// as it is).
    pub fn moved_due(&self, cx: &TimerContext<'_>, due: Timestamp, fired: bool) -> Option<Timestamp> {
        match &self.when {
            TimerWhen::Cycle { every, .. } if fired => {
                let before = due.to_zoned(cx.zone.clone()).checked_sub(every.to_span()).ok()?;
                self.next_due(cx, before.timestamp())
            }
            _ => self.first_due(cx),
        }
    }

    /// Where the timer counts from, in the model's zone.
    fn anchor(&self, cx: &TimerContext<'_>) -> Option<Zoned> {
        if !self.from_deadline {
            return Some(cx.armed_at.to_zoned(cx.zone.clone()));
        }
        match cx.deadline? {
            Deadline::At { at, .. } => Some(at.to_zoned(cx.zone.clone())),
            // An all-day deadline has passed once its day is over.
            Deadline::Date(d) => d.tomorrow().ok()?.to_zoned(cx.zone.clone()).ok(),
        }
    }

    /// The first occurrence of a cycle for which `reached` holds; `None` for
    /// other timers, and when no occurrence within range and `repeat` does.
    fn occurrence_reaching(
        &self,
        cx: &TimerContext<'_>,
        anchor: &Zoned,
        reached: impl Fn(Timestamp) -> bool,
    ) -> Option<Timestamp> {
        let TimerWhen::Cycle { repeat, start, every } = &self.when else { return None };
        let every = every.to_span();
        if every.is_zero() || every.is_negative() {
            return None;
        }
        // Without a start, the first occurrence is one period after the anchor.
        let (base, shift) = match start {
            Some(date) => (resolve(date, cx)?, 0),
            None => (anchor.clone(), 1),
        };
        let occurrence = |k: i64| -> Option<Timestamp> {
            let step = every.checked_mul(k.checked_add(shift)?).ok()?;
            base.checked_add(step).ok().map(|z| z.timestamp())
        };
        let last = match repeat {
            Some(n) => i64::from(*n) - 1,
            None => i64::MAX,
        };
        first_index(last, |k| occurrence(k).is_none_or(&reached)).and_then(occurrence)
    }

    /// The data item the timer's date comes from, if any.
    pub fn item(&self) -> Option<&str> {
        let date = match &self.when {
            TimerWhen::At(d) => Some(d),
            TimerWhen::Cycle { start, .. } => start.as_ref(),
            TimerWhen::AtAnchor | TimerWhen::After(_) => None,
        };
        match date {
            Some(TimerDate::Item { key, .. }) => Some(key),
            _ => None,
        }
    }
}

/// A date a model names, in the model's zone; `None` when an item holds no date.
fn resolve(date: &TimerDate, cx: &TimerContext<'_>) -> Option<Zoned> {
    match date {
        TimerDate::Instant(ts) => Some(ts.to_zoned(cx.zone.clone())),
        TimerDate::Civil(dt) => civil_in_zone(*dt, cx.zone),
        TimerDate::Item { key, offset } => {
            let value = match cx.data.get(key)? {
                Value::Date(d) => civil_in_zone(d.to_datetime(jiff::civil::Time::midnight()), cx.zone)?,
                Value::DateTime(ts, _) => ts.to_zoned(cx.zone.clone()),
                _ => return None,
            };
            match offset {
                None => Some(value),
                Some(o) => value.checked_add(o.to_span()).ok(),
            }
        }
    }
}

/// A wall-clock time in `zone`; one that falls in a DST gap moves forward past it.
fn civil_in_zone(dt: DateTime, zone: &TimeZone) -> Option<Zoned> {
    dt.to_zoned(zone.clone()).ok()
}

/// The smallest k in `0..=last` for which `reached(k)` holds, for a `reached`
/// that once true stays true as k grows; `None` when there is none. Doubles k
/// until it is reached, then halves the gap: at most about 130 calls.
fn first_index(last: i64, reached: impl Fn(i64) -> bool) -> Option<i64> {
    if last < 0 {
        return None;
    }
    if reached(0) {
        return Some(0);
    }
    // Invariant: reached(lo) is false, reached(hi) is true.
    let mut lo = 0i64;
    let mut hi = loop {
        let probe = lo.saturating_mul(2).max(1).min(last);
        if probe == lo {
            return None;
        }
        if reached(probe) {
            break probe;
        }
        lo = probe;
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use std::cell::Cell;

    const BERLIN: &str = "Europe/Berlin";

    fn berlin() -> TimeZone {
        TimeZone::get(BERLIN).unwrap()
    }

    /// A wall-clock time in Berlin.
    fn local(s: &str) -> Timestamp {
        s.parse::<DateTime>().unwrap().to_zoned(berlin()).unwrap().timestamp()
    }

    /// An instant as Berlin's clock shows it, with the offset.
    fn show(t: Option<Timestamp>) -> String {
        t.map_or_else(|| "none".into(), |t| t.to_zoned(berlin()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
    }

    fn dur(s: &str) -> IsoDuration {
        IsoDuration::parse(s).unwrap()
    }

    fn spec(when: TimerWhen) -> TimerSpec {
        TimerSpec { when, from_deadline: false }
    }

    fn cycle(repeat: Option<u32>, start: Option<TimerDate>, every: &str) -> TimerSpec {
        spec(TimerWhen::Cycle { repeat, start, every: dur(every) })
    }

    fn civil(s: &str) -> TimerDate {
        TimerDate::Civil(s.parse().unwrap())
    }

    /// Computes with the timer armed at `armed` (Berlin time), no deadline, `data`.
    fn due(spec: &TimerSpec, armed: &str, data: &Data) -> String {
        let zone = berlin();
        show(spec.first_due(&TimerContext { armed_at: local(armed), deadline: None, zone: &zone, data }))
    }

    fn next(spec: &TimerSpec, armed: &str, after: &str) -> String {
        let zone = berlin();
        let data = Data::new();
        show(
            spec.next_due(
                &TimerContext { armed_at: local(armed), deadline: None, zone: &zone, data: &data },
                local(after),
            ),
        )
    }

    #[test]
    fn at_anchor_and_after() {
        let none = Data::new();
        assert_eq!(due(&spec(TimerWhen::AtAnchor), "2026-05-04T09:00", &none), "2026-05-04T09:00:00+02:00");
        assert_eq!(due(&spec(TimerWhen::After(dur("PT90M"))), "2026-05-04T09:00", &none), "2026-05-04T10:30:00+02:00");
        assert_eq!(due(&spec(TimerWhen::After(dur("P1M"))), "2026-01-31T09:00", &none), "2026-02-28T09:00:00+01:00");
        // One-shot timers have no next firing.
        assert_eq!(next(&spec(TimerWhen::After(dur("PT1H"))), "2026-05-04T09:00", "2026-05-04T10:00"), "none");
        assert_eq!(next(&spec(TimerWhen::AtAnchor), "2026-05-04T09:00", "2026-05-04T09:00"), "none");
    }

    #[test]
    fn after_a_day_keeps_the_wall_clock_across_both_dst_changes_and_hours_do_not() {
        let none = Data::new();
        let day = spec(TimerWhen::After(dur("P1D")));
        let hours = spec(TimerWhen::After(dur("PT24H")));
        assert_eq!(due(&day, "2026-03-28T09:00", &none), "2026-03-29T09:00:00+02:00");
        assert_eq!(due(&hours, "2026-03-28T09:00", &none), "2026-03-29T10:00:00+02:00");
        assert_eq!(due(&day, "2026-10-24T09:00", &none), "2026-10-25T09:00:00+01:00");
        assert_eq!(due(&hours, "2026-10-24T09:00", &none), "2026-10-25T08:00:00+01:00");
    }

    #[test]
    fn at_a_date_instant_civil_or_item() {
        let none = Data::new();
        let instant = spec(TimerWhen::At(TimerDate::Instant("2026-06-01T07:00:00Z".parse().unwrap())));
        assert_eq!(due(&instant, "2026-05-04T09:00", &none), "2026-06-01T09:00:00+02:00");
        // A civil date-time is in the model's zone.
        assert_eq!(
            due(&spec(TimerWhen::At(civil("2026-06-01T09:00"))), "2026-05-04T09:00", &none),
            "2026-06-01T09:00:00+02:00"
        );
        // A date already past is still the date: the caller fires it at once.
        assert_eq!(
            due(&spec(TimerWhen::At(civil("2020-01-01T00:00"))), "2026-05-04T09:00", &none),
            "2020-01-01T00:00:00+01:00"
        );

        let mut data = Data::new();
        data.insert("day".into(), Value::Date(date(2026, 3, 29)));
        let (ts, off) = crate::value::parse_datetime("2026-03-30T10:00:00+02:00").unwrap();
        data.insert("meeting".into(), Value::DateTime(ts, off));
        data.insert("note".into(), Value::Text("not a date".into()));
        let item = |key: &str, offset: Option<&str>| {
            spec(TimerWhen::At(TimerDate::Item { key: key.into(), offset: offset.map(dur) }))
        };
        // A date item is 00:00 of its day in the model's zone (before spring-forward: +01:00).
        assert_eq!(due(&item("day", None), "2026-03-01T09:00", &data), "2026-03-29T00:00:00+01:00");
        assert_eq!(due(&item("day", Some("-P1D")), "2026-03-01T09:00", &data), "2026-03-28T00:00:00+01:00");
        assert_eq!(due(&item("day", Some("PT9H")), "2026-03-01T09:00", &data), "2026-03-29T10:00:00+02:00");
        // A date-time item is its instant; a day before keeps the wall-clock time across DST.
        assert_eq!(due(&item("meeting", None), "2026-03-01T09:00", &data), "2026-03-30T10:00:00+02:00");
        assert_eq!(due(&item("meeting", Some("-P1D")), "2026-03-01T09:00", &data), "2026-03-29T10:00:00+02:00");
        assert_eq!(due(&item("meeting", Some("-P2D")), "2026-03-01T09:00", &data), "2026-03-28T10:00:00+01:00");
        // An empty item, or one holding no date: no date.
        assert_eq!(due(&item("missing", None), "2026-03-01T09:00", &data), "none");
        assert_eq!(due(&item("note", None), "2026-03-01T09:00", &data), "none");
        assert_eq!(item("meeting", None).item(), Some("meeting"));
    }

    #[test]
    fn from_a_deadline() {
        let zone = berlin();
        let data = Data::new();
        let at_deadline = TimerSpec { when: TimerWhen::AtAnchor, from_deadline: true };
        let day_before = TimerSpec { when: TimerWhen::After(dur("-P1D")), from_deadline: true };
        let cx = |deadline| TimerContext { armed_at: local("2026-03-01T09:00"), deadline, zone: &zone, data: &data };
        // No deadline: no timer.
        assert_eq!(at_deadline.first_due(&cx(None)), None);
        // A timed deadline: its instant.
        let timed = Deadline::At { at: local("2026-03-30T17:00"), zone: "UTC".into() };
        assert_eq!(show(at_deadline.first_due(&cx(Some(&timed)))), "2026-03-30T17:00:00+02:00");
        assert_eq!(show(day_before.first_due(&cx(Some(&timed)))), "2026-03-29T17:00:00+02:00");
        // An all-day deadline passes when its day is over: 00:00 of the next day, in the model's zone.
        let all_day = Deadline::Date(date(2026, 3, 28));
        assert_eq!(show(at_deadline.first_due(&cx(Some(&all_day)))), "2026-03-29T00:00:00+01:00");
        assert_eq!(show(day_before.first_due(&cx(Some(&all_day)))), "2026-03-28T00:00:00+01:00");
        // A cycle after the deadline: one period after it, then every period.
        let daily =
            TimerSpec { when: TimerWhen::Cycle { repeat: None, start: None, every: dur("P1D") }, from_deadline: true };
        assert_eq!(show(daily.first_due(&cx(Some(&all_day)))), "2026-03-30T00:00:00+02:00");
        assert_eq!(show(daily.next_due(&cx(Some(&all_day)), local("2026-03-30T00:00"))), "2026-03-31T00:00:00+02:00");
        assert_eq!(daily.next_due(&cx(None), local("2026-03-30T00:00")), None);
    }

    #[test]
    fn a_cycle_keeps_its_wall_clock_time_across_dst() {
        let daily = cycle(None, Some(civil("2026-03-27T09:00")), "P1D");
        let none = Data::new();
        assert_eq!(due(&daily, "2026-03-20T12:00", &none), "2026-03-27T09:00:00+01:00");
        assert_eq!(next(&daily, "2026-03-20T12:00", "2026-03-28T09:00"), "2026-03-29T09:00:00+02:00");
        assert_eq!(next(&daily, "2026-03-20T12:00", "2026-10-24T09:00"), "2026-10-25T09:00:00+01:00");
        // Without a start: one period after the anchor, the same wall-clock time after the change.
        let from_anchor = cycle(None, None, "P1D");
        assert_eq!(due(&from_anchor, "2026-03-28T09:00", &none), "2026-03-29T09:00:00+02:00");
        assert_eq!(next(&from_anchor, "2026-03-28T09:00", "2026-03-29T09:00"), "2026-03-30T09:00:00+02:00");
        assert_eq!(next(&from_anchor, "2026-10-23T09:00", "2026-10-24T09:00"), "2026-10-25T09:00:00+01:00");
        // Hours are elapsed time: 24 hours after 09:00 on the 28th is 10:00 on the 29th.
        let hourly = cycle(None, None, "PT24H");
        assert_eq!(due(&hourly, "2026-03-28T09:00", &none), "2026-03-29T10:00:00+02:00");
    }

    #[test]
    fn a_monthly_cycle_from_the_end_of_a_month_comes_back_to_it() {
        let monthly = cycle(None, Some(civil("2026-01-31T09:00")), "P1M");
        let none = Data::new();
        assert_eq!(due(&monthly, "2026-01-01T00:00", &none), "2026-01-31T09:00:00+01:00");
        assert_eq!(next(&monthly, "2026-01-01T00:00", "2026-01-31T09:00"), "2026-02-28T09:00:00+01:00");
        assert_eq!(next(&monthly, "2026-01-01T00:00", "2026-02-28T09:00"), "2026-03-31T09:00:00+02:00");
        assert_eq!(next(&monthly, "2026-01-01T00:00", "2026-03-31T09:00"), "2026-04-30T09:00:00+02:00");
        // Without a start, counted from the anchor the same way.
        let from_anchor = cycle(None, None, "P1M");
        assert_eq!(due(&from_anchor, "2026-01-31T09:00", &none), "2026-02-28T09:00:00+01:00");
        assert_eq!(next(&from_anchor, "2026-01-31T09:00", "2026-02-28T09:00"), "2026-03-31T09:00:00+02:00");
    }

    #[test]
    fn a_repeat_count_ends_the_cycle() {
        let three = cycle(Some(3), Some(civil("2026-05-01T09:00")), "P1D");
        let none = Data::new();
        assert_eq!(due(&three, "2026-04-01T00:00", &none), "2026-05-01T09:00:00+02:00");
        assert_eq!(next(&three, "2026-04-01T00:00", "2026-05-01T09:00"), "2026-05-02T09:00:00+02:00");
        assert_eq!(next(&three, "2026-04-01T00:00", "2026-05-02T09:00"), "2026-05-03T09:00:00+02:00");
        assert_eq!(next(&three, "2026-04-01T00:00", "2026-05-03T09:00"), "none");
        // R0 never fires; nor does a cycle whose occurrences all lie before it was armed.
        assert_eq!(due(&cycle(Some(0), None, "P1D"), "2026-04-01T00:00", &none), "none");
        assert_eq!(due(&three, "2026-06-01T00:00", &none), "none");
        // Without a start, R2 fires one and two periods after the anchor.
        let two = cycle(Some(2), None, "PT1H");
        assert_eq!(due(&two, "2026-05-01T09:00", &none), "2026-05-01T10:00:00+02:00");
        assert_eq!(next(&two, "2026-05-01T09:00", "2026-05-01T10:00"), "2026-05-01T11:00:00+02:00");
        assert_eq!(next(&two, "2026-05-01T09:00", "2026-05-01T11:00"), "none");
    }

    #[test]
    fn missed_occurrences_are_skipped() {
        let hourly = cycle(None, Some(civil("2026-05-01T09:00")), "PT1H");
        // flowcal was down from 10:00 to 14:20: the next firing is 15:00, once.
        assert_eq!(next(&hourly, "2026-05-01T00:00", "2026-05-01T14:20"), "2026-05-01T15:00:00+02:00");
        // Exactly on an occurrence: strictly after it.
        assert_eq!(next(&hourly, "2026-05-01T00:00", "2026-05-01T15:00"), "2026-05-01T16:00:00+02:00");
        // Asked before the first occurrence: the first.
        assert_eq!(next(&hourly, "2026-05-01T00:00", "2026-04-01T00:00"), "2026-05-01T09:00:00+02:00");
    }

    #[test]
    fn a_start_years_back_fires_no_backlog() {
        let daily = cycle(None, Some(civil("1990-01-01T09:00")), "P1D");
        let none = Data::new();
        assert_eq!(due(&daily, "2026-05-04T12:00", &none), "2026-05-05T09:00:00+02:00");
        assert_eq!(due(&daily, "2026-05-04T09:00", &none), "2026-05-04T09:00:00+02:00");
        assert_eq!(next(&daily, "2026-05-04T12:00", "2026-05-05T09:00"), "2026-05-06T09:00:00+02:00");
        // Nor does asking for the next one after an instant before it was armed.
        assert_eq!(next(&daily, "2026-05-04T12:00", "2026-05-01T00:00"), "2026-05-05T09:00:00+02:00");
        // An item as start, with an offset.
        let mut data = Data::new();
        data.insert("since".into(), Value::Date(date(2001, 2, 3)));
        let weekly = cycle(None, Some(TimerDate::Item { key: "since".into(), offset: Some(dur("PT8H")) }), "P1W");
        // 2001-02-03 was a Saturday; so is 2026-05-09.
        assert_eq!(due(&weekly, "2026-05-04T12:00", &data), "2026-05-09T08:00:00+02:00");
        assert_eq!(due(&weekly, "2026-05-04T12:00", &Data::new()), "none");
    }

    #[test]
    fn a_one_second_cycle_asked_a_century_later() {
        let every_second = cycle(None, Some(civil("2026-01-01T00:00")), "PT1S");
        assert_eq!(next(&every_second, "2026-01-01T00:00", "2126-01-01T00:00:00.5"), "2126-01-01T00:00:01+01:00");
        // Close to the end of supported dates: probes past it count as later, not as never.
        let monthly = cycle(None, Some(civil("1990-01-01T09:00")), "P1M");
        assert_eq!(next(&monthly, "2026-01-01T00:00", "9999-06-01T00:00"), "9999-06-01T09:00:00+02:00");
        // And one that would only fire past the end of supported dates: none.
        let far = cycle(None, Some(civil("9999-12-01T00:00")), "P1M");
        assert_eq!(next(&far, "2026-01-01T00:00", "9999-12-01T00:00"), "none");
        // A zero or negative period never fires.
        assert_eq!(due(&cycle(None, None, "PT0S"), "2026-01-01T00:00", &Data::new()), "none");
        assert_eq!(due(&cycle(None, None, "-PT1S"), "2026-01-01T00:00", &Data::new()), "none");
    }

    /// The moved date of a timer armed on March 1st that waited until
    /// `waited`, with item `from` now at `from`.
    fn moved(spec: &TimerSpec, from: &str, waited: &str, fired: bool) -> String {
        let zone = berlin();
        let mut data = Data::new();
        let (ts, off) = crate::value::parse_datetime(from).unwrap();
        data.insert("from".into(), Value::DateTime(ts, off));
        let cx = TimerContext { armed_at: local("2026-03-01T00:00"), deadline: None, zone: &zone, data: &data };
        show(spec.moved_due(&cx, local(waited), fired))
    }

    #[test]
    fn a_moved_cycle_that_has_fired_goes_on_without_repeating_itself() {
        let daily = cycle(None, Some(TimerDate::Item { key: "from".into(), offset: None }), "P1D");
        // It fired daily at 09:00 from the 20th and waits for the 28th; now it is to fire at 08:00.
        let earlier = "2026-03-20T08:00:00+01:00";
        assert_eq!(moved(&daily, earlier, "2026-03-28T09:00", true), "2026-03-28T08:00:00+01:00");
        // Not fired yet: from scratch, the first occurrence after it was armed.
        assert_eq!(moved(&daily, earlier, "2026-03-28T09:00", false), "2026-03-20T08:00:00+01:00");
        // Moved to start later: its first occurrence.
        let later = "2026-04-10T08:00:00+02:00";
        assert_eq!(moved(&daily, later, "2026-03-28T09:00", true), "2026-04-10T08:00:00+02:00");
        // A one-shot timer always counts from scratch.
        let once = spec(TimerWhen::At(TimerDate::Item { key: "from".into(), offset: None }));
        assert_eq!(moved(&once, earlier, "2026-03-28T09:00", true), "2026-03-20T08:00:00+01:00");
    }

    #[test]
    fn the_search_is_bounded() {
        // A century of seconds, found with few probes.
        let target = 3_155_760_000i64;
        let calls = Cell::new(0);
        let found = first_index(i64::MAX, |k| {
            calls.set(calls.get() + 1);
            k >= target
        });
        assert_eq!(found, Some(target));
        assert!(calls.get() <= 130, "{} probes", calls.get());
        // Never reached within the limit: none, still bounded.
        calls.set(0);
        assert_eq!(
            first_index(1_000_000_000_000, |k| {
                calls.set(calls.get() + 1);
                k > 1_000_000_000_000
            }),
            None
        );
        assert!(calls.get() <= 130, "{} probes", calls.get());
        assert_eq!(first_index(-1, |_| true), None);
        assert_eq!(first_index(0, |_| false), None);
        assert_eq!(first_index(5, |k| k >= 5), Some(5));
        assert_eq!(first_index(5, |k| k >= 3), Some(3));
    }
}
