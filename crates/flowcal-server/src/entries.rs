//! Calendar entries: what the calendar shows for a step's deadline or a
//! date item, as a pure function of the task or instance, its model, the
//! user's settings and the export configuration. No principal, no
//! authorization check and no I/O: delivery, the feed and the export button
//! all build entries here.

use crate::i18n::Lang;
use flowcal_calendar::{entry, EntrySource, EntryWords, EventSpec, When};
use flowcal_domain::export::ExportSource;
use flowcal_domain::{DataType, Deadline, DeadlineRule, IsoDuration, ProcessModel};
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

/// A step's deadline rule in words, for people: `3 working days, calendar
/// de-berlin`, `8 working hours, calendar de-berlin`, `P3D`, `from due -P2D`
/// (with `working days` and the calendar when it counts in one). `None`
/// without a rule.
pub fn describe_rule(rule: &DeadlineRule, calendar: Option<&str>) -> Option<String> {
    describe_rule_in(rule, calendar, Lang::En)
}

/// [`describe_rule`] in `lang` (the API keeps English; pages use the viewer's).
pub fn describe_rule_in(rule: &DeadlineRule, calendar: Option<&str>, lang: Lang) -> Option<String> {
    let item = |i: &str| -> fluent_bundle::FluentValue<'static> { i.to_owned().into() };
    let Some(cal) = calendar else {
        return match rule {
            DeadlineRule::None => None,
            DeadlineRule::After(d) => Some(d.to_string()),
            DeadlineRule::From { item: i, offset: Some(o) } => {
                Some(lang.t_with("rule-from-offset", &[("item", item(i)), ("offset", o.to_string().into())]))
            }
            DeadlineRule::From { item: i, offset: None } => Some(lang.t_with("rule-from", &[("item", item(i))])),
        };
    };
    let text = match rule {
        DeadlineRule::None => return None,
        DeadlineRule::After(d) => working_words(d, lang),
        DeadlineRule::From { item: i, offset: None } => lang.t_with("rule-on", &[("item", item(i))]),
        DeadlineRule::From { item: i, offset: Some(o) } => lang.t_with(
            if o.negative { "rule-before" } else { "rule-after" },
            &[("amount", working_words(o, lang).into()), ("item", item(i))],
        ),
    };
    Some(lang.t_with("rule-in-calendar", &[("rule", text.into()), ("calendar", cal.to_owned().into())]))
}

/// `3 working days`, `2 working weeks 4 working hours`: the parts of a
/// duration that a work calendar counts (without its sign).
fn working_words(d: &IsoDuration, lang: Lang) -> String {
    let mut parts = Vec::new();
    for (n, unit) in [
        (d.weeks, "rule-working-weeks"),
        (d.days, "rule-working-days"),
        (d.hours, "rule-working-hours"),
        (d.minutes, "rule-working-minutes"),
        (d.seconds, "rule-working-seconds"),
    ] {
        if n != 0 {
            parts.push(lang.t_with(unit, &[("n", n.into())]));
        }
    }
    if parts.is_empty() {
        lang.t_with("rule-working-days", &[("n", 0.into())])
    } else {
        parts.join(" ")
    }
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
    // A completed task kept on the calendar says so, in the user's language.
    let lang = user_lang(cx.user);
    let what = if t.state == flowcal_store::TaskState::Done {
        lang.t_with("entry-done", &[("step", t.name.clone().into())])
    } else {
        t.name.clone()
    };
    let words = entry_words(lang);
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
        words: EntryWords { process: &words.0, open: &words.1 },
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
    let words = entry_words(user_lang(cx.user));
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
        words: EntryWords { process: &words.0, open: &words.1 },
    }))
}

/// The language of a user's entries: their setting (there is no browser to
/// ask when delivering), else English.
fn user_lang(u: &User) -> Lang {
    Lang::choose(u.language.as_deref(), None)
}

/// The fixed words of an entry's description in `lang`.
fn entry_words(lang: Lang) -> (String, String) {
    (lang.t("entry-process"), lang.t("entry-open"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use flowcal_calendar::event_key;
    use flowcal_domain::{InstanceId, InstanceStatus, ModelId, TaskId, TaskState, UserId};

    fn user() -> User {
        User {
            id: UserId(3),
            login: "alice".into(),
            display_name: "Alice".into(),
            email: String::new(),
            time_zone: "Europe/Berlin".into(),
            is_admin: false,
            calendar_export: true,
            reminder_minutes: Some(15),
            auto_sync_account: None,
            auto_sync_keep_done: false,
            language: None,
            disabled_at: None,
            deletion_requested_at: None,
            deleted_at: None,
        }
    }

    fn context(user: &User) -> EntryContext<'_> {
        EntryContext {
            user,
            public_url: "https://flowcal.example",
            time_zone: "America/New_York",
            event_minutes: 45,
            now: "2026-03-27T08:00:00Z".parse().unwrap(),
        }
    }

    fn task(deadline: Option<Deadline>, state: TaskState) -> TaskRecord {
        TaskRecord {
            id: TaskId(5),
            instance_id: InstanceId(9),
            instance_title: "Easter".into(),
            model_id: ModelId(1),
            step: "approve".into(),
            name: "Approve".into(),
            assignee: Some("alice".into()),
            role: None,
            state,
            started_at: "2026-03-27T08:00:00Z".parse().unwrap(),
            deadline,
            deadline_calendar: None,
            ended_at: None,
            ended_by: None,
        }
    }

    fn instance(data: serde_json::Value) -> InstanceRecord {
        InstanceRecord {
            timers: Vec::new(),
            id: InstanceId(9),
            model_id: ModelId(1),
            title: "Easter".into(),
            starter: "alice".into(),
            status: InstanceStatus::Running,
            data: data.as_object().unwrap().clone(),
            joins: Default::default(),
            stuck: Vec::new(),
            created_at: "2026-03-27T08:00:00Z".parse().unwrap(),
            ended_at: None,
        }
    }

    fn leave_model() -> ProcessModel {
        flowcal_bpmn::parse(crate::demo::MODELS[0].1, None).unwrap()
    }

    #[test]
    fn a_deadline_entry_takes_the_task_the_user_and_the_settings() {
        let u = user();
        let day = Deadline::Date("2026-04-01".parse().unwrap());
        let e = deadline_entry(&task(Some(day), TaskState::Open), "Leave request", &context(&u), 2).unwrap();
        assert_eq!(e.key, event_key(3, "task:5:deadline"));
        assert_eq!(e.title, "Approve — Easter");
        assert_eq!(e.when, When::Date("2026-04-01".parse().unwrap()));
        assert_eq!(e.url.as_deref(), Some("https://flowcal.example/tasks/5"));
        assert!(e.description.contains("Leave request"), "{}", e.description);
        assert_eq!((e.duration_minutes, e.reminder_minutes, e.sequence), (45, Some(15), 2));
        assert_eq!(e.stamp, context(&u).now);

        let at = Deadline::At { at: "2026-04-01T15:00:00Z".parse().unwrap(), zone: "Asia/Tokyo".into() };
        let done = deadline_entry(&task(Some(at.clone()), TaskState::Done), "Leave request", &context(&u), 0).unwrap();
        assert_eq!(done.title, "✓ done: Approve — Easter");
        assert_eq!(done.when, When::At { at: "2026-04-01T15:00:00Z".parse().unwrap(), zone: "Asia/Tokyo".into() });
        assert_eq!(done.description, "Process: Leave request\nOpen in flowcal: https://flowcal.example/tasks/5");
        // The words flowcal adds follow the user's language; the process's own stay as they are.
        let ja = User { language: Some("ja".into()), ..user() };
        let done = deadline_entry(&task(Some(at.clone()), TaskState::Done), "Leave request", &context(&ja), 0).unwrap();
        assert_eq!(done.title, "✓ 完了: Approve — Easter");
        assert_eq!(done.description, "プロセス: Leave request\nflowcal で開く: https://flowcal.example/tasks/5");
        let de = User { language: Some("de".into()), ..user() };
        let i = instance(serde_json::json!({"first_day": "2026-03-30"}));
        let e = item_entry(&i, "Urlaub", &leave_model(), "first_day", &context(&de), 0).unwrap();
        assert_eq!(e.title, "First day — Easter");
        assert_eq!(e.description, "Prozess: Urlaub\nIn flowcal öffnen: https://flowcal.example/instances/9");
    }

    #[test]
    fn deadline_rules_in_words_in_each_language() {
        let d = |s: &str| IsoDuration::parse(s).unwrap();
        let after = DeadlineRule::After(d("P3D"));
        let before = DeadlineRule::From { item: "first_day".into(), offset: Some(d("-P1DT2H")) };
        let on = DeadlineRule::From { item: "first_day".into(), offset: None };
        let one = DeadlineRule::After(d("P1D"));
        let cases = [
            (Lang::En, &after, Some("3 working days, calendar de-berlin")),
            (Lang::En, &one, Some("1 working day, calendar de-berlin")),
            (Lang::En, &before, Some("1 working day 2 working hours before first_day, calendar de-berlin")),
            (Lang::De, &after, Some("3 Arbeitstage, Kalender de-berlin")),
            (Lang::De, &before, Some("1 Arbeitstag 2 Arbeitsstunden vor first_day, Kalender de-berlin")),
            (Lang::De, &on, Some("am first_day, Kalender de-berlin")),
            (Lang::Ja, &after, Some("3 稼働日(カレンダー de-berlin)")),
            (Lang::Ja, &before, Some("first_day の 1 稼働日 2 稼働時間 前(カレンダー de-berlin)")),
            (Lang::Ja, &DeadlineRule::None, None),
        ];
        for (lang, rule, words) in cases {
            assert_eq!(describe_rule_in(rule, Some("de-berlin"), lang).as_deref(), words, "{lang:?} {rule:?}");
        }
        // Without a work calendar, a duration stays ISO 8601; the words around it follow the language.
        assert_eq!(describe_rule(&after, None).as_deref(), Some("P3D"));
        assert_eq!(describe_rule_in(&before, None, Lang::De).as_deref(), Some("ab first_day -P1DT2H"));
        assert_eq!(describe_rule_in(&before, None, Lang::Ja).as_deref(), Some("first_day から -P1DT2H"));
    }

    #[test]
    fn a_deadline_entry_needs_a_deadline_a_calendar_can_show() {
        let u = user();
        let none = deadline_entry(&task(None, TaskState::Open), "p", &context(&u), 0).unwrap_err();
        assert!(matches!(&none, EntryError::Unfit(m) if m.contains("no deadline")), "{none:?}");
        let far = Deadline::At { at: jiff::Timestamp::MAX, zone: "UTC".into() };
        let far = deadline_entry(&task(Some(far), TaskState::Open), "p", &context(&u), 0).unwrap_err();
        assert!(matches!(far, EntryError::Unfit(_)), "{far:?}");
    }

    #[test]
    fn an_item_entry_reads_the_item_in_the_models_zone() {
        let (u, m) = (user(), leave_model());
        let i = instance(serde_json::json!({"first_day": "2026-03-30", "handover": "2026-03-29T00:30:00Z", "days": 8}));
        let e = item_entry(&i, "Leave request", &m, "first_day", &context(&u), 0).unwrap();
        assert_eq!(e.key, event_key(3, "instance:9:item:first_day"));
        assert_eq!(e.title, "First day — Easter");
        assert_eq!(e.when, When::Date("2026-03-30".parse().unwrap()));
        assert_eq!(e.url.as_deref(), Some("https://flowcal.example/instances/9"));
        let e = item_entry(&i, "Leave request", &m, "handover", &context(&u), 0).unwrap();
        // The model names Europe/Berlin; the server's zone is only for models that name none.
        assert_eq!(e.when, When::At { at: "2026-03-29T00:30:00Z".parse().unwrap(), zone: "Europe/Berlin".into() });
        let mut unzoned = m.clone();
        unzoned.time_zone = None;
        let e = item_entry(&i, "Leave request", &unzoned, "handover", &context(&u), 0).unwrap();
        assert!(matches!(&e.when, When::At { zone, .. } if zone == "America/New_York"), "{:?}", e.when);
    }

    #[test]
    fn an_item_entry_needs_a_date_item_holding_a_date() {
        let (u, m) = (user(), leave_model());
        let i = instance(serde_json::json!({"first_day": "soon", "days": 8}));
        let cx = context(&u);
        assert!(matches!(item_entry(&i, "p", &m, "nope", &cx, 0), Err(EntryError::Missing(_))));
        assert!(matches!(item_entry(&i, "p", &m, "days", &cx, 0), Err(EntryError::Unfit(_))));
        assert!(matches!(item_entry(&i, "p", &m, "first_day", &cx, 0), Err(EntryError::Unfit(_))));
        assert!(matches!(item_entry(&i, "p", &m, "handover", &cx, 0), Err(EntryError::Unfit(_))));
    }
}
