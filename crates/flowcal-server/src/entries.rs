//! Calendar entries: what the calendar shows for a step's deadline or a
//! date item, as a pure function of the task or instance, its model, the
//! user's settings and the export configuration. No principal, no
//! authorization check and no I/O: delivery, the feed and the export button
//! all build entries here.

use flowcal_calendar::{entry, EntrySource, EventSpec, When};
use flowcal_domain::export::ExportSource;
use flowcal_domain::{DataType, Deadline, ProcessModel};
use flowcal_store::{InstanceRecord, TaskRecord, User};
use jiff::Timestamp;

/// What every entry for one user takes from their settings and the
/// export configuration.
pub struct EntryContext<'a> {
    pub user: &'a User,
    pub public_url: &'a str,
    /// The server's time zone, for items of models that name none.
    pub time_zone: &'a str,
    pub event_minutes: u32,
    /// The entry's stamp.
    pub now: Timestamp,
}

/// Why no entry can be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EntryError {
    /// The source does not exist (a data item the model lacks).
    #[error("{0}")]
    Missing(String),
    /// The source holds nothing a calendar can show.
    #[error("{0}")]
    Unfit(String),
}

/// The calendar entry for a step's deadline: a function of the task, its
/// process's name, the user's settings and the export configuration only.
pub fn deadline_entry(
    t: &TaskRecord,
    process_name: &str,
    cx: &EntryContext<'_>,
    sequence: u32,
) -> Result<EventSpec, EntryError> {
    let Some(deadline) = &t.deadline else {
        return Err(EntryError::Unfit(format!("the step '{}' has no deadline", t.name)));
    };
    let link = format!("{}/tasks/{}", cx.public_url, t.id.0);
    let source = ExportSource::TaskDeadline(t.id).to_string();
    // A completed task kept on the calendar says so.
    let what = if t.state == flowcal_store::TaskState::Done { format!("✓ done: {}", t.name) } else { t.name.clone() };
    expressible(entry(&EntrySource {
        user: cx.user.id.0,
        source: &source,
        what: &what,
        instance_title: &t.instance_title,
        process_name,
        link: &link,
        when: when_of(deadline),
        duration_minutes: cx.event_minutes,
        reminder_minutes: cx.user.reminder_minutes.and_then(|m| u32::try_from(m).ok()),
        sequence,
        stamp: cx.now,
    }))
}

/// The calendar entry for a date or date-time item of an instance: a
/// function of the instance, its model, the user's settings and the export
/// configuration only.
pub fn item_entry(
    instance: &InstanceRecord,
    process_name: &str,
    model: &ProcessModel,
    key: &str,
    cx: &EntryContext<'_>,
    sequence: u32,
) -> Result<EventSpec, EntryError> {
    let item = model.item(key).ok_or_else(|| EntryError::Missing(format!("data item '{key}'")))?;
    let zone = model.time_zone.clone().unwrap_or_else(|| cx.time_zone.to_owned());
    let value = instance.data.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let when = match item.data_type {
        DataType::Date => When::Date(
            value.parse().map_err(|_| EntryError::Unfit(format!("the item '{}' holds no date", item.label)))?,
        ),
        DataType::DateTime => When::At {
            at: value
                .parse()
                .map_err(|_| EntryError::Unfit(format!("the item '{}' holds no date-time", item.label)))?,
            zone,
        },
        _ => return Err(EntryError::Unfit(format!("the item '{}' is not a date or date-time", item.label))),
    };
    let link = format!("{}/instances/{}", cx.public_url, instance.id.0);
    let source = ExportSource::InstanceItem { instance: instance.id, key: key.to_owned() }.to_string();
    expressible(entry(&EntrySource {
        user: cx.user.id.0,
        source: &source,
        what: &item.label,
        instance_title: &instance.title,
        process_name,
        link: &link,
        when,
        duration_minutes: cx.event_minutes,
        reminder_minutes: cx.user.reminder_minutes.and_then(|m| u32::try_from(m).ok()),
        sequence,
        stamp: cx.now,
    }))
}

/// The entry, if calendars can show it: a deadline computed into a year
/// outside 1 to 9999 is refused with a plain reason (the export fails and
/// says why) instead of being written as something no calendar can read.
fn expressible(e: EventSpec) -> Result<EventSpec, EntryError> {
    e.check().map_err(EntryError::Unfit)?;
    Ok(e)
}

/// A deadline as an entry's time.
pub fn when_of(d: &Deadline) -> When {
    match d {
        Deadline::Date(date) => When::Date(*date),
        Deadline::At { at, zone } => When::At { at: *at, zone: zone.clone() },
    }
}
