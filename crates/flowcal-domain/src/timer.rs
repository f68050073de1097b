//! Timers of a process model: when a timer event fires.
//!
//! A timer is read from a BPMN `timerEventDefinition` (`timeDuration`,
//! `timeDate`, `timeCycle`) and flowcal's `flowcal:deadlineTimer`. Durations
//! and cycles count in the model's zone, so `P1D` keeps the wall-clock time
//! across a DST change, as deadlines do.

use crate::duration::IsoDuration;
use jiff::civil::DateTime;
use jiff::Timestamp;

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

impl TimerSpec {
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
