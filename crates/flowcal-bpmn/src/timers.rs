//! Timer events: `timerEventDefinition` with one of `timeDuration`,
//! `timeDate` or `timeCycle`, and flowcal's `flowcal:deadlineTimer` and
//! `flowcal:timerOffset` on the event.
//!
//! - `timeDuration`: an ISO 8601 duration, not negative (`PT2H`, `P3D`).
//! - `timeDate`: an ISO 8601 date-time with `Z` or an offset (an instant), one
//!   without offset or a plain date (in the model's zone), or the key of a
//!   date or datetime item written `key`, `${key}`, `#{key}` or `=key`
//!   (moved by `flowcal:timerOffset`, a signed duration, when given).
//! - `timeCycle`: ISO 8601 repeating intervals `R/PERIOD`, `Rn/PERIOD` and
//!   `R[n]/START/PERIOD`, START as a timeDate. Cron expressions and intervals
//!   with an end are refused.

use crate::read::{elements, flowcal_attr, text_of, Lines};
use crate::{BpmnError, Pos, BPMN_NS};
use flowcal_domain::condition::is_valid_key;
use flowcal_domain::{DataItemDef, DataType, IsoDuration, TimerDate, TimerSpec, TimerWhen};
use flowcal_xml::roxmltree::Node as XNode;

/// Which event the timer is on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerOn {
    /// The process's start event: instances start when it fires.
    Start,
    /// An intermediate catch event: the token waits.
    Catch,
    /// A boundary event on a user task.
    Boundary,
}

impl TimerOn {
    fn word(self) -> &'static str {
        match self {
            TimerOn::Start => "start event",
            TimerOn::Catch => "timer event",
            TimerOn::Boundary => "boundary timer",
        }
    }
}

const CYCLES: &str = "flowcal reads ISO 8601 repeating intervals R/PERIOD, Rn/PERIOD and R[n]/START/PERIOD, \
                      for example R3/PT10M or R/2026-04-01T09:00:00Z/P1W (START as in a timeDate)";

const DATES: &str = "write an ISO 8601 date-time with Z or an offset (2026-04-01T09:00:00+02:00), one without \
                     offset or a date (in the model's time zone: 2026-04-01T09:00:00, 2026-04-01), or the key of a \
                     date or datetime item (due, ${due}, #{due} or =due)";

/// Reads the timer `def` of the event `event` (whose id is `id`).
pub(crate) fn read_timer(
    event: XNode<'_, '_>,
    def: XNode<'_, '_>,
    id: &str,
    on: TimerOn,
    items: &[DataItemDef],
    lines: &Lines<'_>,
) -> Result<TimerSpec, BpmnError> {
    let this = format!("{} '{id}'", on.word());
    let event_at = lines.pos(event);
    let from_deadline = match flowcal_attr(event, "deadlineTimer") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(
                event_at.error(format!("{this}: flowcal:deadlineTimer=\"{other}\" is neither \"true\" nor \"false\""))
            )
        }
    };
    let offset = match flowcal_attr(event, "timerOffset") {
        None => None,
        Some(text) => {
            Some(IsoDuration::parse(text).map_err(|e| event_at.error(format!("{this}: flowcal:timerOffset {e}")))?)
        }
    };
    let parts: Vec<XNode<'_, '_>> = elements(def)
        .filter(|c| {
            c.tag_name().namespace() == Some(BPMN_NS)
                && matches!(c.tag_name().name(), "timeDuration" | "timeDate" | "timeCycle")
        })
        .collect();
    let part = match parts.as_slice() {
        [] if from_deadline => None,
        [] => {
            let deadline = if on == TimerOn::Boundary {
                ", or flowcal:deadlineTimer=\"true\" on the event to fire at the task's deadline"
            } else {
                ""
            };
            return Err(lines.pos(def).error(format!(
                "{this} has a timer without timeDuration, timeDate or timeCycle: give it one, for example \
                 <bpmn:timeDuration>PT2H</bpmn:timeDuration>{deadline}"
            )));
        }
        [one] => Some(*one),
        [first, second, ..] => {
            return Err(lines.pos(*second).error(format!(
                "{this} has both {} and {}; a timer has exactly one of timeDuration, timeDate and timeCycle",
                first.tag_name().name(),
                second.tag_name().name()
            )))
        }
    };
    let when = match part {
        None => TimerWhen::AtAnchor,
        Some(part) => {
            let at = lines.pos(part);
            let local = part.tag_name().name();
            let text = text_of(part);
            let fail = |m: String| at.error(format!("{this}: {m}"));
            if text.is_empty() {
                return Err(fail(format!("its {local} is empty; {}", example(local))));
            }
            match local {
                "timeDuration" => TimerWhen::After(duration(&text, "timeDuration").map_err(fail)?),
                "timeDate" => TimerWhen::At(date(&text, offset, items).map_err(|m| fail(format!("timeDate {m}")))?),
                _ => cycle(&text, offset, items).map_err(fail)?,
            }
        }
    };
    let spec = TimerSpec { when, from_deadline };
    check(&spec, offset.is_some(), on, &this, event_at, part.map(|p| lines.pos(p)))?;
    Ok(spec)
}

fn example(local: &str) -> String {
    match local {
        "timeDuration" => "write an ISO 8601 duration such as PT2H or P3D".to_owned(),
        "timeDate" => DATES.to_owned(),
        _ => CYCLES.to_owned(),
    }
}

/// What a timer may not be, whatever its text.
fn check(
    spec: &TimerSpec,
    has_offset: bool,
    on: TimerOn,
    this: &str,
    event_at: Pos,
    part_at: Option<Pos>,
) -> Result<(), BpmnError> {
    let part_at = part_at.unwrap_or(event_at);
    if has_offset && spec.item().is_none() {
        return Err(event_at.error(format!(
            "{this}: flowcal:timerOffset moves a date read from a data item, but this timer's date is not one: \
             remove it, or name a date or datetime item in the timeDate"
        )));
    }
    if on == TimerOn::Start && spec.item().is_some() {
        return Err(part_at.error(format!(
            "{this}: a start timer cannot read a data item: before it fires there is no instance and no data; \
             give a date or a duration"
        )));
    }
    if spec.from_deadline {
        let fixed = match &spec.when {
            TimerWhen::At(_) => Some("a timeDate is a date of its own"),
            TimerWhen::Cycle { start: Some(_), .. } => Some("a timeCycle with a START begins at that START"),
            _ => None,
        };
        if let Some(why) = fixed {
            return Err(part_at.error(format!(
                "{this} has flowcal:deadlineTimer=\"true\", which counts from the task's deadline, but {why}: use a \
                 timeDuration, a timeCycle without START, or no definition (at the deadline)"
            )));
        }
    }
    Ok(())
}

fn is_zero(d: &IsoDuration) -> bool {
    !d.has_clock_part() && d.years == 0 && d.months == 0 && d.weeks == 0 && d.days == 0
}

/// A duration that is not negative.
fn duration(text: &str, what: &str) -> Result<IsoDuration, String> {
    let d = IsoDuration::parse(text).map_err(|e| format!("{what} {e}"))?;
    if d.negative {
        return Err(format!("{what} '{text}' is negative; a timer counts forward from when it starts"));
    }
    Ok(d)
}

/// A timeDate, or the START of a timeCycle.
fn date(text: &str, offset: Option<IsoDuration>, items: &[DataItemDef]) -> Result<TimerDate, String> {
    if text.contains('[') {
        return Err(format!(
            "'{text}' has a time zone annotation, which flowcal does not read: give an offset, or no offset for the \
             model's time zone"
        ));
    }
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(TimerDate::Instant(t));
    }
    // A plain date reads as its midnight.
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return Ok(TimerDate::Civil(dt));
    }
    let key = item_key(text);
    if !is_valid_key(key) {
        return Err(format!("'{text}' is neither a date nor a data item; {DATES}"));
    }
    match items.iter().find(|i| i.key == key) {
        Some(item) if matches!(item.data_type, DataType::Date | DataType::DateTime) => {
            Ok(TimerDate::Item { key: key.to_owned(), offset })
        }
        Some(item) => Err(format!(
            "names item '{key}', which is a {} item; a timer's date comes from a date or datetime item",
            item.data_type.as_str()
        )),
        None if IsoDuration::parse(key).is_ok() => {
            Err(format!("'{text}' is a duration, not a date: use timeDuration for a timer that fires after a while"))
        }
        None => Err(format!(
            "names item '{key}', but there is no such item: declare it with <flowcal:dataItem key=\"{key}\" \
             type=\"datetime\"/> (or type=\"date\") in the process's extensionElements"
        )),
    }
}

/// `key`, `${key}`, `#{key}` or `=key` → `key`.
fn item_key(text: &str) -> &str {
    let braced = |open: &str| text.strip_prefix(open).and_then(|r| r.strip_suffix('}'));
    braced("${").or_else(|| braced("#{")).or_else(|| text.strip_prefix('=')).unwrap_or(text).trim()
}

fn cycle(text: &str, offset: Option<IsoDuration>, items: &[DataItemDef]) -> Result<TimerWhen, String> {
    let refuse = |why: &str| format!("timeCycle '{text}' is not supported: {why}; {CYCLES}");
    if text.contains(char::is_whitespace) {
        return Err(refuse("it looks like a cron expression, which flowcal does not read"));
    }
    let parts: Vec<&str> = text.split('/').collect();
    let Some(count) = parts[0].strip_prefix('R') else {
        return Err(refuse("it does not start with R or Rn"));
    };
    let repeat = if count.is_empty() {
        None
    } else {
        match count.parse::<u32>() {
            Ok(0) => return Err(refuse("R0 never fires")),
            Ok(n) => Some(n),
            Err(_) => return Err(refuse(&format!("'{}' is not R or Rn with a number n", parts[0]))),
        }
    };
    let is_period = |s: &str| s.starts_with('P') || s.starts_with("-P");
    let (start, period) = match parts.as_slice() {
        [_, period] => (None, *period),
        [_, middle, _] if is_period(middle) => {
            return Err(refuse("a cycle with an end (R/PERIOD/END) is not supported"));
        }
        [_, start, period] if is_period(period) => {
            (Some(date(start, offset, items).map_err(|m| format!("timeCycle START {m}"))?), *period)
        }
        [_, _, _] => return Err(refuse("R/START/END is not supported")),
        _ => return Err(refuse("it has too many or too few parts")),
    };
    let every = duration(period, "timeCycle PERIOD")?;
    if is_zero(&every) {
        return Err(format!("timeCycle '{text}' repeats every {every}, which would fire without end at once"));
    }
    Ok(TimerWhen::Cycle { repeat, start, every })
}
