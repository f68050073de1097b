//! The JSON shapes of API v1 (documented in the OpenAPI document).

use crate::principal::Principal;
use crate::workflow::InstanceView;
use flowcal_domain::model::NodeKind;
use flowcal_domain::{Deadline, ProcessModel, TimerDate, TimerSpec, TimerWhen};
use flowcal_store::{EventRecord, InstanceRecord, StoredModel, TaskRecord};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use utoipa::ToSchema;

/// `{"error": {...}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: bad_request, unauthorized, forbidden, not_found, conflict, too_large,
    /// unsupported_media_type, invalid_model, invalid_data, unprocessable, internal.
    pub code: String,
    pub message: String,
    /// For invalid_model: where the problem is (1-based).
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// For invalid_data: the problems by item (at most 20).
    pub fields: Option<Vec<FieldErrorJson>>,
    /// For invalid_data: how many more problems were found but not listed.
    pub unlisted: Option<u64>,
    /// For invalid_model: every BPMN element in the file that flowcal does not run, in
    /// document order (empty when the model was refused for another reason).
    pub unsupported: Option<Vec<UnsupportedJson>>,
}

/// A BPMN element flowcal does not run, and where it is (1-based).
#[derive(Serialize, ToSchema)]
pub struct UnsupportedJson {
    /// e.g. `bpmn:serviceTask`.
    pub element: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorJson {
    pub key: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ModelCreated {
    pub key: String,
    pub version: i64,
    pub name: String,
}

impl From<&StoredModel> for ModelCreated {
    fn from(m: &StoredModel) -> Self {
        ModelCreated { key: m.key.clone(), version: m.version, name: m.name.clone() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelCreated>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemInfo {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StepInfo {
    pub id: String,
    pub name: String,
    /// `P3D`, `from first_day -P1D`, or null.
    pub deadline: Option<String>,
    /// The work calendar the deadline counts in (`flowcal:workCalendar`), or null: calendar days.
    pub calendar: Option<String>,
    /// The deadline in words, e.g. `3 working days, calendar de-berlin`.
    pub deadline_text: Option<String>,
}

/// A timer event of a model.
#[derive(Serialize, ToSchema)]
pub struct TimerInfo {
    /// The event's BPMN id.
    pub id: String,
    pub name: String,
    /// `start` (starts instances), `boundary` (on a step) or `catch` (the path waits).
    pub kind: String,
    /// The step a boundary timer is on.
    pub on: Option<String>,
    /// Whether a boundary timer cancels its step when it fires.
    pub interrupting: Option<bool>,
    /// When it fires, in words, e.g. `every P1D after the deadline`.
    pub when: String,
}

/// When a timer fires, in words.
pub fn describe_timer(t: &TimerSpec) -> String {
    let date = |d: &TimerDate| match d {
        TimerDate::Instant(at) => at.to_string(),
        TimerDate::Civil(at) => format!("{at} (the model's zone)"),
        TimerDate::Item { key, offset: None } => format!("item {key}"),
        TimerDate::Item { key, offset: Some(o) } => format!("item {key} {o}"),
    };
    let anchor = if t.from_deadline { "the deadline" } else { "it starts" };
    match &t.when {
        TimerWhen::AtAnchor => format!("at {anchor}"),
        TimerWhen::After(d) => format!("{d} after {anchor}"),
        TimerWhen::At(d) => format!("at {}", date(d)),
        TimerWhen::Cycle { repeat, start, every } => {
            let times = repeat.map(|n| format!(", {n} times")).unwrap_or_default();
            match start {
                Some(s) => format!("every {every} from {}{times}", date(s)),
                None => format!("every {every} after {anchor}{times}"),
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ModelInfo {
    pub key: String,
    pub version: i64,
    pub name: String,
    pub time_zone: Option<String>,
    pub data_items: Vec<ItemInfo>,
    pub steps: Vec<StepInfo>,
    /// Its timer events, in document order.
    pub timers: Vec<TimerInfo>,
}

impl ModelInfo {
    pub fn new(s: &StoredModel, m: &ProcessModel) -> Self {
        ModelInfo {
            key: s.key.clone(),
            version: s.version,
            name: s.name.clone(),
            time_zone: m.time_zone.clone(),
            data_items: m
                .data_items
                .iter()
                .map(|i| ItemInfo {
                    key: i.key.clone(),
                    label: i.label.clone(),
                    data_type: i.data_type.as_str().into(),
                    required: i.required,
                    options: i.options.clone(),
                })
                .collect(),
            steps: m
                .user_tasks()
                .map(|n| StepInfo {
                    id: n.id.clone(),
                    name: n.name.clone(),
                    deadline: match &n.kind {
                        NodeKind::UserTask { deadline, .. } => match deadline {
                            flowcal_domain::DeadlineRule::None => None,
                            flowcal_domain::DeadlineRule::After(d) => Some(d.to_string()),
                            flowcal_domain::DeadlineRule::From { item, offset } => Some(match offset {
                                Some(o) => format!("from {item} {o}"),
                                None => format!("from {item}"),
                            }),
                        },
                        _ => None,
                    },
                    calendar: match &n.kind {
                        NodeKind::UserTask { calendar, .. } => calendar.clone(),
                        _ => None,
                    },
                    deadline_text: match &n.kind {
                        NodeKind::UserTask { deadline, calendar, .. } => {
                            crate::entries::describe_rule(deadline, calendar.as_deref())
                        }
                        _ => None,
                    },
                })
                .collect(),
            timers: m
                .start()
                .zip(m.start_timer.as_ref())
                .map(|(n, t)| (n, "start", None, None, t))
                .into_iter()
                .chain(m.nodes.iter().filter_map(|n| match &n.kind {
                    NodeKind::BoundaryTimer { attached_to, cancel, timer } => {
                        Some((n, "boundary", Some(attached_to.clone()), Some(*cancel), timer))
                    }
                    NodeKind::TimerCatch { timer } => Some((n, "catch", None, None, timer)),
                    _ => None,
                }))
                .map(|(n, kind, on, interrupting, t)| TimerInfo {
                    id: n.id.clone(),
                    name: n.name.clone(),
                    kind: kind.into(),
                    on,
                    interrupting,
                    when: describe_timer(t),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInstance {
    /// The model's key; its newest version is started.
    pub model: String,
    pub title: String,
    /// Item key → value: dates `"2026-03-28"`, datetimes RFC 3339 with offset.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Json>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Json>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetData {
    #[schema(value_type = Object)]
    pub data: Map<String, Json>,
}

fn time(t: Timestamp) -> String {
    t.to_string()
}

/// A task's deadline as the API shows it, with the work calendar it was
/// computed in (`"calendar": NAME`) when one was used.
pub fn deadline_json(d: Option<&Deadline>, calendar: Option<&str>) -> Json {
    let mut json = d.map_or(Json::Null, Deadline::to_json);
    if let (Json::Object(o), Some(c)) = (&mut json, calendar) {
        o.insert("calendar".into(), Json::String(c.to_owned()));
    }
    json
}

#[derive(Serialize, ToSchema)]
pub struct TaskJson {
    pub id: i64,
    pub instance: i64,
    pub instance_title: String,
    pub step: String,
    pub name: String,
    /// The assigned user's login; null while only a role has it.
    pub assignee: Option<String>,
    /// The role whose members may claim it.
    pub role: Option<String>,
    /// open, done or cancelled.
    pub state: String,
    /// null, `{"date": "YYYY-MM-DD"}` or `{"at": RFC 3339, "zone": IANA}`; with
    /// `"calendar": NAME` when it was counted in a work calendar.
    #[schema(value_type = Object, nullable)]
    pub deadline: Json,
    pub started_at: String,
    pub ended_at: Option<String>,
}

impl From<&TaskRecord> for TaskJson {
    fn from(t: &TaskRecord) -> Self {
        TaskJson {
            id: t.id.0,
            instance: t.instance_id.0,
            instance_title: t.instance_title.clone(),
            step: t.step.clone(),
            name: t.name.clone(),
            assignee: t.assignee.clone(),
            role: t.role.clone(),
            state: t.state.as_str().into(),
            deadline: deadline_json(t.deadline.as_ref(), t.deadline_calendar.as_deref()),
            started_at: time(t.started_at),
            ended_at: t.ended_at.map(time),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many tasks all the pages hold; when `total_exact` is false, at
    /// least this many (the count stops at 1,000 for each way in: assigned
    /// to the caller, and each of their roles).
    pub total: i64,
    /// Whether `total` is the count itself rather than a lower bound.
    pub total_exact: bool,
}

/// The paging parameters every list takes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page: 1 to 200, 50 when left out; 0 or more than 200 is refused (400).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
    /// Opaque: the `next_cursor` of the previous page, passed unchanged (with
    /// the same sort and filters); a malformed one is refused (400).
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IncidentJson {
    pub node: String,
    pub message: String,
}

/// A timer the instance waits for.
#[derive(Serialize, ToSchema)]
pub struct TimerJson {
    pub id: i64,
    /// The timer event's BPMN id.
    pub node: String,
    /// The task a boundary timer is attached to.
    pub task: Option<i64>,
    /// When it fires next (RFC 3339, UTC).
    pub due: String,
    /// How often it has fired (a cycle fires more than once).
    pub fired: u32,
}

#[derive(Serialize, ToSchema)]
pub struct InstanceJson {
    pub id: i64,
    pub model: String,
    pub version: i64,
    pub title: String,
    pub starter: String,
    /// running, incident, completed or cancelled.
    pub status: String,
    #[schema(value_type = Object)]
    pub data: Map<String, Json>,
    pub incidents: Vec<IncidentJson>,
    pub tasks: Vec<TaskJson>,
    /// The timers it waits for (in lists of instances: empty).
    pub timers: Vec<TimerJson>,
    pub created_at: String,
    pub ended_at: Option<String>,
}

impl InstanceJson {
    pub fn new(v: &InstanceView) -> Self {
        let mut j = Self::record(&v.instance, &v.model);
        j.tasks = v.tasks.iter().map(TaskJson::from).collect();
        j
    }

    pub fn record(i: &InstanceRecord, m: &StoredModel) -> Self {
        InstanceJson {
            id: i.id.0,
            model: m.key.clone(),
            version: m.version,
            title: i.title.clone(),
            starter: i.starter.clone(),
            status: i.status.as_str().into(),
            data: i.data.clone(),
            incidents: i
                .stuck
                .iter()
                .map(|s| IncidentJson { node: s.node.clone(), message: s.message.clone() })
                .collect(),
            tasks: vec![],
            timers: i
                .timers
                .iter()
                .map(|t| TimerJson {
                    id: t.id.0,
                    node: t.node.clone(),
                    task: t.task.map(|t| t.0),
                    due: time(t.due),
                    fired: t.fired,
                })
                .collect(),
            created_at: time(i.created_at),
            ended_at: i.ended_at.map(time),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstanceList {
    pub instances: Vec<InstanceJson>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    /// How many instances all the pages hold.
    pub total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EventJson {
    pub id: i64,
    pub instance: i64,
    pub task: Option<i64>,
    /// instance_started, task_created, task_deadline_changed, task_reassigned, task_completed,
    /// task_cancelled, data_changed, incident_raised, incident_resolved, timer_started, timer_fired,
    /// timer_moved, timer_cancelled, milestone_reached, instance_completed, instance_cancelled.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Json,
    pub at: String,
}

impl From<&EventRecord> for EventJson {
    fn from(e: &EventRecord) -> Self {
        EventJson {
            id: e.id,
            instance: e.instance_id.0,
            task: e.task_id.map(|t| t.0),
            kind: e.kind.clone(),
            payload: e.payload.clone(),
            at: time(e.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventJson>,
}

#[derive(Serialize, ToSchema)]
pub struct MeJson {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub email: String,
    pub admin: bool,
    pub roles: Vec<String>,
    pub time_zone: String,
    /// The user's own calendar-export switch (off until they turn it on).
    pub calendar_export: bool,
    /// A reminder before each calendar entry, in minutes; null: none.
    pub reminder_minutes: Option<i64>,
    /// Auto-sync: null, or the account whose calendar keeps every open task of
    /// the user's that has a deadline.
    pub auto_sync: Option<AutoSyncJson>,
    /// The language of the user's pages (`en`, `de`, `ja`); null: the browser's choice.
    pub language: Option<String>,
}

/// Auto-sync settings.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AutoSyncJson {
    pub account: i64,
    /// When setting: `"own"` or a calendar id to choose for the account first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Keep completed tasks as "✓ done" instead of removing them.
    #[serde(default)]
    pub keep_done: bool,
}

impl From<&Principal> for MeJson {
    fn from(p: &Principal) -> Self {
        let u = &p.user;
        MeJson {
            id: u.id.0,
            login: u.login.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            admin: u.is_admin,
            roles: p.roles.clone(),
            time_zone: u.time_zone.clone(),
            calendar_export: u.calendar_export,
            reminder_minutes: u.reminder_minutes,
            auto_sync: u.auto_sync_account.map(|account| AutoSyncJson {
                account,
                calendar: None,
                keep_done: u.auto_sync_keep_done,
            }),
            language: u.language.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// IANA zone, e.g. Europe/Berlin.
    pub time_zone: Option<String>,
    pub calendar_export: Option<bool>,
    /// Minutes before each calendar entry; `null` turns reminders off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub reminder_minutes: Option<Option<u32>>,
    /// `null` turns auto-sync off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<AutoSyncJson>)]
    pub auto_sync: Option<Option<AutoSyncJson>>,
    /// The language of the pages: `en`, `de` or `ja`; `null`: the browser's choice.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub language: Option<Option<String>>,
}

/// A field that is present: `null` becomes `Some(None)`, absent stays `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowcal_domain::IsoDuration;

    #[test]
    fn timers_are_described_in_words() {
        let d = |s: &str| IsoDuration::parse(s).unwrap();
        let spec = |when, from_deadline| TimerSpec { when, from_deadline };
        let item = |offset: Option<&str>| TimerDate::Item { key: "due".into(), offset: offset.map(d) };
        for (t, words) in [
            (spec(TimerWhen::AtAnchor, true), "at the deadline"),
            (spec(TimerWhen::After(d("PT8H")), true), "PT8H after the deadline"),
            (spec(TimerWhen::After(d("P2D")), false), "P2D after it starts"),
            (spec(TimerWhen::At(item(None)), false), "at item due"),
            (spec(TimerWhen::At(item(Some("-P1D"))), false), "at item due -P1D"),
            (
                spec(TimerWhen::At(TimerDate::Instant("2026-05-01T07:00:00Z".parse().unwrap())), false),
                "at 2026-05-01T07:00:00Z",
            ),
            (
                spec(
                    TimerWhen::Cycle {
                        repeat: None,
                        start: Some(TimerDate::Civil("2026-01-05T09:00".parse().unwrap())),
                        every: d("P7D"),
                    },
                    false,
                ),
                "every P7D from 2026-01-05T09:00:00 (the model's zone)",
            ),
            (
                spec(TimerWhen::Cycle { repeat: Some(3), start: None, every: d("PT1H") }, false),
                "every PT1H after it starts, 3 times",
            ),
        ] {
            assert_eq!(describe_timer(&t), words);
        }
    }
}
