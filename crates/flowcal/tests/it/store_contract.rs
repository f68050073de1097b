//! The store's contract, run against SQLite and PostgreSQL alike.

use crate::on_both_backends;
use crate::support::{leave_model, TestDb};
use flowcal_domain::instance::{Effect, Transition};
use flowcal_domain::{Deadline, InstanceId, ModelId, ProcessModel, TaskId, UserId, WorkCalendar};
use flowcal_engine::{Engine, InstanceStatus};
use flowcal_store::{
    FetchOutcome, NewUser, SourceSpec, SourceStatus, Store, StoreError, StoredWorkCalendar, TaskState, TokenLookup,
};
use jiff::civil::{date, Date};
use jiff::Timestamp;
use serde_json::{json, Map, Value as Json};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn store(db: &TestDb) -> Store {
    let s = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        s.migrate().await.unwrap(),
        [
            "0001_core",
            "0002_access",
            "0003_exports",
            "0004_feeds",
            "0005_web",
            "0006_credentials",
            "0007_sign_in",
            "0008_timers",
            "0009_work_calendars",
            "0010_paging",
            "0011_task_lists",
            "0012_calendar_edits",
            "0013_calendar_reads",
            "0014_language"
        ]
        .map(str::to_owned)
        .to_vec()
    );
    // Migrating again is a no-op.
    assert!(s.migrate().await.unwrap().is_empty());
    s
}

fn new_user(login: &str) -> NewUser {
    NewUser {
        login: login.into(),
        display_name: login.to_uppercase(),
        email: format!("{login}@example.com"),
        time_zone: "Europe/Berlin".into(),
        is_admin: false,
        password_hash: Some("$argon2id$fake".into()),
    }
}

fn obj(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

async fn users_roles_tokens_sessions(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let id = s.create_user(&new_user("ann"), &["managers".into()], now).await.unwrap();
    let err = s.create_user(&new_user("ann"), &["hr".into()], now).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("ann")), "{err:?}");
    let u = s.user_by_login("ann").await.unwrap().unwrap();
    assert_eq!((u.id, u.display_name.as_str(), u.is_admin, u.calendar_export), (id, "ANN", false, false));
    assert_eq!(s.user(UserId(id.0 + 100)).await.unwrap(), None);
    // The refused second creation added no role; adding one twice is no error.
    assert_eq!(s.roles(id).await.unwrap(), ["managers"]);
    s.add_role(id, "managers").await.unwrap();
    s.add_role(id, "hr").await.unwrap();
    assert_eq!(s.roles(id).await.unwrap(), ["hr", "managers"]);
    s.update_settings(id, Some("America/New_York"), None, None).await.unwrap();
    s.update_settings(id, None, Some(true), Some(Some(10))).await.unwrap();
    let u = s.user(id).await.unwrap().unwrap();
    assert_eq!((u.time_zone.as_str(), u.calendar_export, u.reminder_minutes), ("America/New_York", true, Some(10)));
    // Absent leaves the reminder alone; null clears it.
    s.update_settings(id, None, None, None).await.unwrap();
    assert_eq!(s.user(id).await.unwrap().unwrap().reminder_minutes, Some(10));
    s.update_settings(id, None, None, Some(None)).await.unwrap();
    assert_eq!(s.user(id).await.unwrap().unwrap().reminder_minutes, None);
    // The pages' language: none (the browser's choice) until set.
    assert_eq!(s.user(id).await.unwrap().unwrap().language, None);
    s.set_language(id, Some("ja")).await.unwrap();
    assert_eq!(s.user_by_login("ann").await.unwrap().unwrap().language.as_deref(), Some("ja"));
    s.set_language(id, None).await.unwrap();
    assert_eq!(s.user(id).await.unwrap().unwrap().language, None);
    s.create_api_token(id, "cli", "hash-1", now, None).await.unwrap();
    let found = |l: TokenLookup| match l {
        TokenLookup::Found(u, _) => Some(u.login),
        _ => None,
    };
    assert_eq!(found(s.user_by_token_hash("hash-1", now).await.unwrap()).as_deref(), Some("ann"));
    assert_eq!(s.user_by_token_hash("hash-2", now).await.unwrap(), TokenLookup::Unknown);
    // A token with an expiry works until then, not from then on.
    let until = t("2026-03-28T08:00:00Z");
    let expiring = s.create_api_token(id, "ci", "hash-3", now, Some(until)).await.unwrap();
    assert!(found(s.user_by_token_hash("hash-3", t("2026-03-28T07:59:59Z")).await.unwrap()).is_some());
    assert_eq!(s.user_by_token_hash("hash-3", until).await.unwrap(), TokenLookup::Expired);
    // Use is recorded, at most once a minute.
    let listed = s.api_tokens_of(id).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["cli", "ci"]);
    assert_eq!((listed[0].last_used_at, listed[1].last_used_at), (Some(now), Some(t("2026-03-28T07:59:59Z"))));
    assert_eq!(listed[1].expires_at, Some(until));
    s.user_by_token_hash("hash-1", t("2026-03-27T08:00:59Z")).await.unwrap();
    assert_eq!(s.api_tokens_of(id).await.unwrap()[0].last_used_at, Some(now));
    s.user_by_token_hash("hash-1", t("2026-03-27T08:01:00Z")).await.unwrap();
    assert_eq!(s.api_tokens_of(id).await.unwrap()[0].last_used_at, Some(t("2026-03-27T08:01:00Z")));
    // Revoking is by owner: another user's id deletes nothing.
    assert!(!s.delete_api_token(UserId(id.0 + 1000), expiring).await.unwrap());
    assert!(s.delete_api_token(id, expiring).await.unwrap());
    assert_eq!(s.user_by_token_hash("hash-3", now).await.unwrap(), TokenLookup::Unknown);
    s.create_session("sess", id, now, t("2026-03-27T20:00:00Z")).await.unwrap();
    assert!(s.user_by_session("sess", t("2026-03-27T19:59:59Z")).await.unwrap().is_some());
    assert!(s.user_by_session("sess", t("2026-03-27T20:00:00Z")).await.unwrap().is_none());
    assert_eq!(s.purge_sessions(t("2026-03-28T00:00:00Z")).await.unwrap(), 1);
    s.create_session("sess2", id, now, t("2026-03-27T20:00:00Z")).await.unwrap();
    s.delete_session("sess2").await.unwrap();
    assert!(s.user_by_session("sess2", now).await.unwrap().is_none());
    let (_, hash) = s.password_hash("ann").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
}

async fn model_versions(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let a = s.insert_model("leave", "Leave", "<xml 1/>", None, now).await.unwrap();
    let b = s.insert_model("leave", "Leave v2", "<xml 2/>", None, now).await.unwrap();
    s.insert_model("other", "Other", "<x/>", None, now).await.unwrap();
    assert_eq!((a.version, b.version), (1, 2));
    assert_eq!(s.latest_model("leave").await.unwrap().unwrap().bpmn, "<xml 2/>");
    assert_eq!(s.model(a.id).await.unwrap().unwrap().bpmn, "<xml 1/>");
    let list = s.list_models().await.unwrap();
    let shown: Vec<(&str, i64)> = list.iter().map(|m| (m.key.as_str(), m.version)).collect();
    assert_eq!(shown, [("leave", 2), ("other", 1)]);
    // Concurrent uploads of one key get distinct versions.
    let uploads = (0..4).map(|_| {
        let s = s.clone();
        async move { s.insert_model("race", "Race", "<x/>", None, now).await }
    });
    let mut versions: Vec<i64> =
        futures_join(uploads.collect()).await.into_iter().map(|r| r.unwrap().version).collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4]);
}

async fn futures_join<F>(fs: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Starts a leave instance through the engine and the store.
async fn start_leave(s: &Store, model: &ProcessModel, model_id: flowcal_domain::ModelId, days: i64) -> InstanceId {
    let now = t("2026-03-27T08:00:00Z");
    let engine = Engine::new(model, "UTC").unwrap();
    let start = engine.start("ann", &obj(json!({"first_day": "2026-04-20", "days": days})), now).unwrap();
    s.create_instance(model_id, "Easter", "ann", start, now).await.unwrap().0.id
}

async fn instance_lifecycle_and_events(db: TestDb) {
    let s = store(&db).await;
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let m = s.insert_model("leave", "Leave", leave_model(), None, t("2026-03-27T08:00:00Z")).await.unwrap();
    let id = start_leave(&s, &model, m.id, 10).await;
    let inst = s.instance(id).await.unwrap().unwrap();
    assert_eq!((inst.status, inst.starter.as_str()), (InstanceStatus::Running, "ann"));
    assert_eq!(inst.data.get("days"), Some(&json!(10)));
    let tasks = s.instance_tasks(id).await.unwrap();
    assert_eq!(tasks.len(), 1);
    let approve = &tasks[0];
    assert_eq!(
        (approve.step.as_str(), approve.role.as_deref(), approve.assignee.as_deref()),
        ("approve", Some("managers"), None)
    );
    // P3D from 09:00 Berlin (UTC+1) on the 27th: the 30th, 09:00 summer time (UTC+2).
    assert_eq!(approve.deadline.as_ref().unwrap().to_json()["at"], json!("2026-03-30T09:00:00+02:00"));
    // Visible to a managers member, not to others.
    assert_eq!(s.tasks_for_user("bo", &["managers".into()], Some(TaskState::Open)).await.unwrap().len(), 1);
    assert!(s.tasks_for_user("cy", &["hr".into()], None).await.unwrap().is_empty());
    assert!(s.tasks_for_user("cy", &[], None).await.unwrap().is_empty());

    // Two members claim at once: exactly one gets it.
    let claims = ["bo", "di"].map(|who| {
        let s = s.clone();
        let task = approve.id;
        tokio::spawn(async move {
            s.assign_task(task, who, who, t("2026-03-27T09:00:00Z"), |t| match &t.assignee {
                None => Ok(()),
                Some(a) => Err(StoreError::Conflict(format!("claimed by {a}"))),
            })
            .await
        })
    });
    let mut ok = 0;
    for c in claims {
        match c.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let claimed = s.task(approve.id).await.unwrap().unwrap();
    let who = claimed.assignee.clone().unwrap();
    assert!(s
        .tasks_for_user(if who == "bo" { "di" } else { "bo" }, &["managers".into()], None)
        .await
        .unwrap()
        .is_empty());

    let now = t("2026-03-28T10:00:00Z");
    let (approve_id, m2) = (approve.id, model.clone());
    let (rec, tasks) = s
        .change_instance(id, &who, now, move |rec, open| {
            let engine = Engine::new(&m2, "UTC").unwrap();
            let data = obj(json!({"approved": true}));
            let open: Vec<_> = open.iter().map(|t| t.open_task()).collect();
            Ok(engine.complete(&rec.state(&m2.data_items), &open, approve_id, &rec.starter, &data, now)?)
        })
        .await
        .unwrap();
    // The result is the instance as the transaction left it.
    assert_eq!(rec.status, InstanceStatus::Running);
    let steps: Vec<&str> = tasks.iter().map(|t| t.step.as_str()).collect();
    assert_eq!(steps, ["approve", "handover_prep", "book"]);
    let open = s.tasks_for_user("ann", &[], Some(TaskState::Open)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].step, "handover_prep");
    assert_eq!(open[0].deadline.as_ref().unwrap().to_json(), json!({"date": "2026-04-19"}));
    let done = s.task(approve.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.ended_by.as_deref(), done.ended_at), (TaskState::Done, Some(who.as_str()), Some(now)));

    let kinds: Vec<String> = s.events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "instance_started",
            "data_changed",
            "data_changed",
            "task_created",
            "task_reassigned",
            "data_changed",
            "task_completed",
            "task_created",
            "task_created"
        ]
    );
}

async fn concurrent_completion_has_one_winner(db: TestDb) {
    let s = store(&db).await;
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let m = s.insert_model("leave", "Leave", leave_model(), None, t("2026-03-27T08:00:00Z")).await.unwrap();
    let model = std::sync::Arc::new(model);
    for _ in 0..8 {
        let id = start_leave(&s, &model, m.id, 10).await;
        let task = s.instance_tasks(id).await.unwrap()[0].id;
        let racers = (0..2).map(|i| {
            let (s, model) = (s.clone(), model.clone());
            tokio::spawn(async move {
                let now = t("2026-03-28T10:00:00Z");
                s.change_instance(id, &format!("racer{i}"), now, move |rec, open| {
                    if !open.iter().any(|o| o.id == task) {
                        return Err(StoreError::Conflict("no longer open".into()));
                    }
                    let engine = Engine::new(&model, "UTC").unwrap();
                    let open: Vec<_> = open.iter().map(|t| t.open_task()).collect();
                    Ok(engine.complete(
                        &rec.state(&model.data_items),
                        &open,
                        task,
                        "ann",
                        &obj(json!({"approved": false})),
                        now,
                    )?)
                })
                .await
                .map(|_| ())
            })
        });
        let results: Vec<_> = futures_join(racers.collect()).await.into_iter().map(|r| r.unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))), "{results:?}");
        let tasks = s.instance_tasks(id).await.unwrap();
        // approve (done) + read_refusal, created once.
        assert_eq!(tasks.len(), 2, "{tasks:?}");
        let completed = s.events(id).await.unwrap().iter().filter(|e| e.kind == "task_completed").count();
        assert_eq!(completed, 1);
    }
}

async fn a_failed_change_leaves_nothing_behind(db: TestDb) {
    let s = store(&db).await;
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let m = s.insert_model("leave", "Leave", leave_model(), None, t("2026-03-27T08:00:00Z")).await.unwrap();
    let id = start_leave(&s, &model, m.id, 10).await;
    let before_events = s.events(id).await.unwrap().len();
    let before = s.instance(id).await.unwrap().unwrap();
    let now = t("2026-03-28T10:00:00Z");
    // The transition names a task that is not open: applying it fails midway,
    // after the data change was written; the whole transaction must roll back.
    let err = s
        .change_instance(id, "x", now, move |rec, open| {
            let engine = Engine::new(&model, "UTC").unwrap();
            let open: Vec<_> = open.iter().map(|t| t.open_task()).collect();
            let mut tr = engine.set_data(&rec.state(&model.data_items), &open, &obj(json!({"days": 3})))?;
            tr.effects.push(flowcal_engine::Effect::TaskCompleted { task: TaskId(987_654) });
            Ok(tr)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.events(id).await.unwrap().len(), before_events);
    assert_eq!(s.instance(id).await.unwrap().unwrap().data, before.data);
    let err = s.change_instance(InstanceId(424_242), "x", now, |_, _| unreachable!()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
}

on_both_backends!(
    users_roles_tokens_sessions,
    model_versions,
    instance_lifecycle_and_events,
    concurrent_completion_has_one_winner,
    a_failed_change_leaves_nothing_behind,
    concurrent_changes_fail_or_succeed_alone,
    work_calendars_round_trip_with_sources,
    saving_a_calendar_keeps_a_sources_last_good_copy,
    source_fetches_keep_the_last_good_copy,
    deleting_a_calendar_takes_its_sources,
    instances_using_a_calendar_are_paged,
    a_tasks_deadline_calendar_is_kept,
    what_the_calendar_view_and_the_teams_week_read,
);

/// Many changes at once (on SQLite they share commits): each one that fails
/// leaves nothing behind, each one that succeeds is there in full.
async fn concurrent_changes_fail_or_succeed_alone(db: TestDb) {
    let s = store(&db).await;
    let model = std::sync::Arc::new(flowcal_bpmn::parse(leave_model(), None).unwrap());
    let m = s.insert_model("leave", "Leave", leave_model(), None, t("2026-03-27T08:00:00Z")).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..24 {
        ids.push(start_leave(&s, &model, m.id, 10).await);
    }
    let changes = ids.iter().enumerate().map(|(n, &id)| {
        let (s, model) = (s.clone(), model.clone());
        async move {
            let now = t("2026-03-28T10:00:00Z");
            s.change_instance(id, "x", now, move |rec, open| {
                let engine = Engine::new(&model, "UTC").unwrap();
                let open: Vec<_> = open.iter().map(|t| t.open_task()).collect();
                let mut tr = engine.set_data(&rec.state(&model.data_items), &open, &obj(json!({"days": 20})))?;
                if n % 3 == 0 {
                    // Fails while being applied, after the data change was written.
                    tr.effects.push(flowcal_engine::Effect::TaskCompleted { task: TaskId(987_654) });
                }
                Ok(tr)
            })
            .await
        }
    });
    let results = futures_join(changes.collect()).await;
    for (n, (r, id)) in results.iter().zip(&ids).enumerate() {
        let inst = s.instance(*id).await.unwrap().unwrap();
        let changed = s.events(*id).await.unwrap().iter().filter(|e| e.kind == "data_changed").count();
        if n % 3 == 0 {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{n}: {r:?}");
            assert_eq!((inst.data["days"].clone(), changed), (json!(10), 2), "{n}");
        } else {
            assert!(r.is_ok(), "{n}: {r:?}");
            assert_eq!((inst.data["days"].clone(), changed), (json!(20), 3), "{n}");
        }
    }
}

// ---- work calendars ------------------------------------------------------------------------

fn work_calendar(name: &str) -> WorkCalendar {
    serde_json::from_value(json!({
        "name": name, "time_zone": "Europe/Berlin", "week": ["mon", "tue", "wed", "thu", "fri"],
        "hours": ["09:00-12:00", "13:00-17:00"],
        "holidays": [{"date": "2026-12-24", "name": "Heiligabend", "hours": ["09:00-12:00"]}],
        "working_days": [{"date": "2026-10-03", "name": "make-up day"}]
    }))
    .unwrap()
}

fn subscription(url: &str, include: &[&str]) -> SourceSpec {
    SourceSpec {
        url: Some(url.into()),
        include: include.iter().map(|p| (*p).to_owned()).collect(),
        ..SourceSpec::default()
    }
}

fn upload(body: &str, holidays: &[(Date, &str)]) -> SourceSpec {
    SourceSpec {
        body: Some(body.into()),
        exclude: vec!["Brückentag".into()],
        holidays: holidays.iter().map(|(d, n)| (*d, (*n).to_owned())).collect(),
        ..SourceSpec::default()
    }
}

fn fetched(body: &str, etag: &str, holidays: &[(Date, &str)]) -> FetchOutcome {
    FetchOutcome::Fetched {
        body: body.into(),
        etag: Some(etag.into()),
        last_modified: Some("Mon, 05 Jan 2026 10:00:00 GMT".into()),
        holidays: holidays.iter().map(|(d, n)| (*d, (*n).to_owned())).collect(),
    }
}

fn names(page: &[StoredWorkCalendar]) -> Vec<&str> {
    page.iter().map(|c| c.calendar.name.as_str()).collect()
}

async fn work_calendars_round_trip_with_sources(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let cal = work_calendar("de-berlin");
    let sources = vec![
        subscription("https://example.com/de.ics", &["Berlin", "bundesweit"]),
        // (An event listed twice in the file is one holiday.)
        upload(
            "BEGIN:VCALENDAR…",
            &[
                (date(2026, 12, 25), "1. Weihnachtstag"),
                (date(2026, 1, 1), "Neujahr"),
                (date(2026, 12, 25), "1. Weihnachtstag"),
            ],
        ),
    ];
    let (stored, created) = s.put_work_calendar(&cal, sources, "root", now).await.unwrap();
    assert!(created);
    assert_eq!((&stored.calendar, stored.updated_at, stored.updated_by.as_deref()), (&cal, now, Some("root")));
    let [url, up] = &stored.sources[..] else { panic!("{:?}", stored.sources) };
    assert_eq!((url.position, url.calendar.as_str()), (0, "de-berlin"));
    assert_eq!(
        (url.url.as_deref(), url.include.clone()),
        (Some("https://example.com/de.ics"), vec!["Berlin".to_owned(), "bundesweit".to_owned()])
    );
    // A subscription waits for its first fetch; an upload counts at once.
    assert_eq!((url.status, url.body.as_deref(), url.holidays.len(), url.count), (SourceStatus::Pending, None, 0, 0));
    assert_eq!((url.fetched_at, url.checked_at, url.etag.as_deref()), (None, None, None));
    assert_eq!((up.position, up.url.as_deref(), up.status), (1, None, SourceStatus::Ok));
    assert_eq!((up.body.as_deref(), up.exclude.clone()), (Some("BEGIN:VCALENDAR…"), vec!["Brückentag".to_owned()]));
    // The holidays come back by date.
    assert_eq!(
        up.holidays,
        [(date(2026, 1, 1), "Neujahr".to_owned()), (date(2026, 12, 25), "1. Weihnachtstag".to_owned())]
    );
    assert_eq!(up.count, 2);
    assert_eq!(s.work_calendar("de-berlin").await.unwrap().as_ref(), Some(&stored));
    assert_eq!(s.work_calendar("de-hamburg").await.unwrap(), None);

    // Pages by name carry each calendar's own sources.
    let at = s.put_work_calendar(&work_calendar("at-wien"), vec![], "root", now).await.unwrap().0;
    let fr = s
        .put_work_calendar(&work_calendar("fr"), vec![subscription("https://example.com/fr.ics", &[])], "ann", now)
        .await
        .unwrap()
        .0;
    let first = s.work_calendars(None, 2).await.unwrap();
    assert_eq!(names(&first), ["at-wien", "de-berlin"]);
    assert_eq!(first, [at.clone(), stored.clone()]);
    let rest = s.work_calendars(Some("de-berlin"), 2).await.unwrap();
    assert_eq!(rest, std::slice::from_ref(&fr));
    assert!(s.work_calendars(Some("fr"), 2).await.unwrap().is_empty());
    assert_eq!(names(&s.work_calendars(Some("b"), 10).await.unwrap()), ["de-berlin", "fr"]);
    // Versions grow with every change, across calendars.
    assert!(stored.version < at.version && at.version < fr.version, "{} {} {}", stored.version, at.version, fr.version);
    let versions = s.work_calendar_versions().await.unwrap();
    assert_eq!(
        versions,
        [("at-wien".to_owned(), at.version), ("de-berlin".to_owned(), stored.version), ("fr".to_owned(), fr.version)]
    );

    // Saving again is an update with a new version.
    let mut edited = cal.clone();
    edited.hours.clear();
    let later = t("2026-03-28T08:00:00Z");
    let (again, created) = s.put_work_calendar(&edited, vec![], "ann", later).await.unwrap();
    assert!(!created);
    assert!(again.version > fr.version);
    assert_eq!((&again.calendar, again.updated_at, again.updated_by.as_deref()), (&edited, later, Some("ann")));
    assert!(again.sources.is_empty());

    // A source with both a URL and a text is refused, and nothing changes.
    let both = SourceSpec { body: Some("BEGIN:VCALENDAR".into()), ..subscription("https://example.com/x.ics", &[]) };
    assert!(s.put_work_calendar(&cal, vec![both], "root", later).await.is_err());
    assert!(s.put_work_calendar(&cal, vec![SourceSpec::default()], "root", later).await.is_err());
    assert_eq!(s.work_calendar("de-berlin").await.unwrap(), Some(again));
}

async fn saving_a_calendar_keeps_a_sources_last_good_copy(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let cal = work_calendar("de-berlin");
    let (de, at) =
        (subscription("https://example.com/de.ics", &["Berlin"]), subscription("https://example.com/at.ics", &[]));
    let stored = s.put_work_calendar(&cal, vec![de.clone(), at.clone()], "root", now).await.unwrap().0;
    let de_id = stored.sources[0].id;
    let holidays = [(date(2026, 3, 8), "Frauentag")];
    assert_eq!(s.record_source_fetch(de_id, fetched("ICS de", "\"v1\"", &holidays), now).await.unwrap(), Some(true));
    let good = s.work_calendar("de-berlin").await.unwrap().unwrap().sources[0].clone();
    assert_eq!((good.id, good.status, good.body.as_deref()), (de_id, SourceStatus::Ok, Some("ICS de")));

    // Saved again with the sources in another order: the subscription keeps its row and copy.
    let later = t("2026-03-28T08:00:00Z");
    let again = s.put_work_calendar(&cal, vec![at.clone(), de.clone()], "ann", later).await.unwrap().0;
    assert_eq!(again.sources.len(), 2);
    assert_eq!(again.sources[1], flowcal_store::SourceRecord { position: 1, ..good.clone() });
    assert_eq!((again.sources[0].position, again.sources[0].url.as_deref()), (0, Some("https://example.com/at.ics")));

    // The same URL with other patterns is another source: it starts afresh, and the old row is gone.
    let narrower = subscription("https://example.com/de.ics", &["Berlin", "bundesweit"]);
    let third = s.put_work_calendar(&cal, vec![narrower], "ann", later).await.unwrap().0;
    let [fresh] = &third.sources[..] else { panic!("{:?}", third.sources) };
    assert_ne!(fresh.id, de_id);
    assert_eq!((fresh.status, fresh.body.as_deref(), fresh.holidays.len()), (SourceStatus::Pending, None, 0));
    // A fetch of the source that went lands nowhere.
    assert_eq!(s.record_source_fetch(de_id, FetchOutcome::NotModified, later).await.unwrap(), None);
    assert_eq!(s.work_calendar("de-berlin").await.unwrap().unwrap(), third);
}

async fn source_fetches_keep_the_last_good_copy(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let sources = vec![
        subscription("https://example.com/de.ics", &[]),
        upload("ICS upload", &[(date(2026, 5, 1), "Tag der Arbeit")]),
        subscription("https://example.com/be.ics", &[]),
    ];
    let stored = s.put_work_calendar(&work_calendar("de-berlin"), sources, "root", now).await.unwrap().0;
    let (id, other) = (stored.sources[0].id, stored.sources[2].id);
    let version = |s: &Store| {
        let s = s.clone();
        async move { s.work_calendar("de-berlin").await.unwrap().unwrap().version }
    };
    let source = |s: &Store| {
        let s = s.clone();
        async move { s.work_calendar("de-berlin").await.unwrap().unwrap().sources[0].clone() }
    };
    let v0 = version(&s).await;
    assert_eq!(v0, stored.version);

    // A first copy: the holidays changed, so the calendar's version grows.
    let t1 = t("2026-03-27T09:00:00Z");
    let holidays = [(date(2026, 10, 3), "Tag der Deutschen Einheit"), (date(2026, 1, 1), "Neujahr")];
    assert_eq!(s.record_source_fetch(id, fetched("ICS 1", "\"v1\"", &holidays), t1).await.unwrap(), Some(true));
    let v1 = version(&s).await;
    assert!(v1 > v0);
    let src = source(&s).await;
    assert_eq!(
        (src.status, src.body.as_deref(), src.etag.as_deref()),
        (SourceStatus::Ok, Some("ICS 1"), Some("\"v1\""))
    );
    assert_eq!(src.last_modified.as_deref(), Some("Mon, 05 Jan 2026 10:00:00 GMT"));
    assert_eq!((src.fetched_at, src.checked_at, src.count), (Some(t1), Some(t1), 2));
    assert_eq!(
        src.holidays,
        [(date(2026, 1, 1), "Neujahr".to_owned()), (date(2026, 10, 3), "Tag der Deutschen Einheit".to_owned())]
    );

    // A new copy with the same holidays (in another order) moves nothing.
    let t2 = t("2026-03-28T09:00:00Z");
    let same = [holidays[1], holidays[0]];
    assert_eq!(s.record_source_fetch(id, fetched("ICS 2", "\"v2\"", &same), t2).await.unwrap(), Some(false));
    assert_eq!(version(&s).await, v1);
    assert_eq!(source(&s).await.body.as_deref(), Some("ICS 2"));

    // 304: the copy kept is current.
    let t3 = t("2026-03-29T09:00:00Z");
    assert_eq!(s.record_source_fetch(id, FetchOutcome::NotModified, t3).await.unwrap(), Some(false));
    let src = source(&s).await;
    assert_eq!((src.status, src.fetched_at, src.checked_at), (SourceStatus::Ok, Some(t3), Some(t3)));
    assert_eq!((src.body.as_deref(), src.etag.as_deref(), src.count), (Some("ICS 2"), Some("\"v2\""), 2));

    // A failure keeps the last good copy and its holidays.
    let t4 = t("2026-03-30T09:00:00Z");
    let failed = FetchOutcome::Failed { error: "the server answered 503".into() };
    assert_eq!(s.record_source_fetch(id, failed, t4).await.unwrap(), Some(false));
    assert_eq!(version(&s).await, v1);
    let src = source(&s).await;
    assert_eq!((src.status, src.error.as_deref()), (SourceStatus::Failed, Some("the server answered 503")));
    assert_eq!((src.fetched_at, src.checked_at), (Some(t3), Some(t4)));
    assert_eq!(
        (src.body.as_deref(), src.etag.as_deref(), src.holidays.len(), src.count),
        (Some("ICS 2"), Some("\"v2\""), 2, 2)
    );

    // The next success clears the error; other holidays move the version again.
    let t5 = t("2026-03-31T09:00:00Z");
    let fewer = [(date(2026, 1, 1), "Neujahr")];
    assert_eq!(s.record_source_fetch(id, fetched("ICS 3", "\"v3\"", &fewer), t5).await.unwrap(), Some(true));
    assert!(version(&s).await > v1);
    let src = source(&s).await;
    assert_eq!((src.status, src.error, src.count), (SourceStatus::Ok, None, 1));
    assert_eq!(s.record_source_fetch(987_654, FetchOutcome::NotModified, t5).await.unwrap(), None);

    // Due for the refresh: subscriptions only, never checked first, then the longest ago.
    let due = |before: &str, limit| {
        let s = s.clone();
        let before = t(before);
        async move { s.sources_due(before, limit).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>() }
    };
    assert_eq!(due("2026-04-01T00:00:00Z", 10).await, [other, id]);
    assert_eq!(due("2026-04-01T00:00:00Z", 1).await, [other]);
    assert_eq!(due("2026-03-31T09:00:00Z", 10).await, [other]);
    s.record_source_fetch(other, FetchOutcome::Failed { error: "timeout".into() }, t4).await.unwrap();
    assert_eq!(due("2026-04-01T00:00:00Z", 10).await, [other, id]);
    assert_eq!(due("2026-03-30T09:00:00Z", 10).await, Vec::<i64>::new());
}

async fn deleting_a_calendar_takes_its_sources(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let sources = vec![subscription("https://example.com/de.ics", &[]), upload("ICS", &[(date(2026, 5, 1), "1. Mai")])];
    let gone = s.put_work_calendar(&work_calendar("de-berlin"), sources.clone(), "root", now).await.unwrap().0;
    let kept = s.put_work_calendar(&work_calendar("fr"), sources.clone(), "root", now).await.unwrap().0;
    assert!(s.delete_work_calendar("de-berlin").await.unwrap());
    assert!(!s.delete_work_calendar("de-berlin").await.unwrap());
    assert_eq!(s.work_calendar("de-berlin").await.unwrap(), None);
    for src in &gone.sources {
        assert_eq!(s.record_source_fetch(src.id, FetchOutcome::NotModified, now).await.unwrap(), None);
    }
    // Only the other calendar's subscription is left to refresh.
    let due: Vec<i64> = s.sources_due(t("2026-04-01T00:00:00Z"), 10).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(due, [kept.sources[0].id]);
    assert_eq!(s.work_calendar("fr").await.unwrap(), Some(kept.clone()));
    assert_eq!(s.work_calendar_versions().await.unwrap(), [("fr".to_owned(), kept.version)]);
    // Made again, it starts without the old sources and with a version it never had.
    let (again, created) = s.put_work_calendar(&work_calendar("de-berlin"), vec![], "root", now).await.unwrap();
    assert!(created && again.sources.is_empty());
    assert!(again.version > gone.version && again.version != kept.version);
}

/// Applies a hand-made transition to an instance: its state as stored with `status`, and `effects`.
async fn apply(s: &Store, model: &ProcessModel, id: InstanceId, status: InstanceStatus, effects: Vec<Effect>) {
    let items = model.data_items.clone();
    s.change_instance(id, "root", t("2026-03-28T10:00:00Z"), move |rec, _| {
        let mut state = rec.state(&items);
        state.status = status;
        Ok(Transition { state, effects })
    })
    .await
    .unwrap();
}

async fn instances_using_a_calendar_are_paged(db: TestDb) {
    let s = store(&db).await;
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let now = t("2026-03-27T08:00:00Z");
    let v1 = s.insert_model("leave", "Leave", leave_model(), None, now).await.unwrap().id;
    let v2 = s.insert_model("leave", "Leave", leave_model(), None, now).await.unwrap().id;
    let other = s.insert_model("other", "Other", leave_model(), None, now).await.unwrap().id;
    let names = |n: &[&str]| n.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    s.set_model_calendars(v1, &names(&["de-berlin", "fr", "de-berlin"])).await.unwrap();
    s.set_model_calendars(v2, &names(&["de-berlin"])).await.unwrap();
    s.set_model_calendars(other, &names(&["fr"])).await.unwrap();
    let naming = |name: &'static str| {
        let s = s.clone();
        async move {
            s.models_naming_calendar(name).await.unwrap().iter().map(|m| (m.key.clone(), m.version)).collect::<Vec<_>>()
        }
    };
    assert_eq!(naming("de-berlin").await, [("leave".to_owned(), 1), ("leave".to_owned(), 2)]);
    assert_eq!(naming("fr").await, [("leave".to_owned(), 1), ("other".to_owned(), 1)]);
    assert!(naming("at-wien").await.is_empty());
    // Setting them again replaces them.
    s.set_model_calendars(v2, &names(&["at-wien"])).await.unwrap();
    assert_eq!(naming("de-berlin").await, [("leave".to_owned(), 1)]);
    assert_eq!(naming("at-wien").await, [("leave".to_owned(), 2)]);
    s.set_model_calendars(v2, &names(&["de-berlin"])).await.unwrap();

    // Instances of both versions and of the other model, interleaved.
    let mut using = Vec::new();
    let mut others = Vec::new();
    for n in 0..4 {
        using.push(start_leave(&s, &model, if n % 2 == 0 { v1 } else { v2 }, 10).await);
        others.push(start_leave(&s, &model, other, 10).await);
    }
    let page = |after: Option<(InstanceId, ModelId)>, limit| {
        let s = s.clone();
        async move { s.instances_using_calendar("de-berlin", after, limit).await.unwrap() }
    };
    // Model version by model version, each one's instances by id.
    let all = [(using[0], v1), (using[2], v1), (using[1], v2), (using[3], v2)];
    assert_eq!(page(None, 10).await, all);
    assert_eq!(page(None, 3).await, all[..3]);
    // A page may end inside a model's instances or at its last one.
    assert_eq!(page(Some(all[0]), 1).await, all[1..2]);
    assert_eq!(page(Some(all[1]), 3).await, all[2..]);
    assert_eq!(page(Some(all[2]), 3).await, all[3..]);
    assert!(page(Some(all[3]), 3).await.is_empty());
    // "fr": the first version's instances, then the other model's.
    let mut fr = vec![(using[0], v1), (using[2], v1)];
    fr.extend(others.iter().map(|i| (*i, other)));
    assert_eq!(s.instances_using_calendar("fr", None, 10).await.unwrap(), fr);
    assert!(s.instances_using_calendar("at-wien", None, 10).await.unwrap().is_empty());

    // An ended instance (even one whose task was left open) and one without
    // an open task have no deadline to move; one stopped by an incident has.
    let open = |id| {
        let s = s.clone();
        async move { s.instance_tasks(id).await.unwrap().into_iter().find(|t| t.state == TaskState::Open).unwrap().id }
    };
    let cancelled = using[0];
    apply(&s, &model, cancelled, InstanceStatus::Cancelled, vec![Effect::InstanceCancelled]).await;
    let idle = using[1];
    let task = open(idle).await;
    apply(&s, &model, idle, InstanceStatus::Running, vec![Effect::TaskCancelled { task }]).await;
    let stuck = using[2];
    let incident = Effect::IncidentRaised { node: "approve".into(), message: "no assignee".into() };
    apply(&s, &model, stuck, InstanceStatus::Incident, vec![incident]).await;
    assert_eq!(s.instance(stuck).await.unwrap().unwrap().status, InstanceStatus::Incident);
    assert_eq!(page(None, 10).await, [(using[2], v1), (using[3], v2)]);
    assert_eq!(page(None, 1).await, [(using[2], v1)]);
    assert_eq!(page(Some((using[2], v1)), 1).await, [(using[3], v2)]);
}

async fn a_tasks_deadline_calendar_is_kept(db: TestDb) {
    let s = store(&db).await;
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let now = t("2026-03-27T08:00:00Z");
    let m = s.insert_model("leave", "Leave", leave_model(), None, now).await.unwrap();
    let engine = Engine::new(&model, "UTC").unwrap();
    let mut start = engine.start("ann", &obj(json!({"first_day": "2026-04-20", "days": 10})), now).unwrap();
    let mut named = 0;
    for e in &mut start.effects {
        if let Effect::TaskCreated { calendar, .. } = e {
            *calendar = Some("de-berlin".into());
            named += 1;
        }
    }
    assert_eq!(named, 1);
    let (inst, tasks) = s.create_instance(m.id, "Easter", "ann", start, now).await.unwrap();
    let task = tasks[0].id;
    assert_eq!(tasks[0].deadline_calendar.as_deref(), Some("de-berlin"));
    assert_eq!(s.task(task).await.unwrap().unwrap().deadline_calendar.as_deref(), Some("de-berlin"));
    let listed = s.tasks_for_user("bo", &["managers".into()], Some(TaskState::Open)).await.unwrap();
    assert_eq!(listed[0].deadline_calendar.as_deref(), Some("de-berlin"));
    let payload = |kind: &'static str| {
        let s = s.clone();
        async move { s.events(inst.id).await.unwrap().into_iter().rfind(|e| e.kind == kind).unwrap().payload }
    };
    assert_eq!(payload("task_created").await["calendar"], json!("de-berlin"));

    // The calendar changed: the deadline moved, and the event says why.
    let moved = Deadline::Date(date(2026, 4, 2));
    let changed = Effect::DeadlineChanged {
        task,
        deadline: Some(moved.clone()),
        calendar: Some("de-berlin".into()),
        reason: Some("work calendar de-berlin changed".into()),
    };
    apply(&s, &model, inst.id, InstanceStatus::Running, vec![changed]).await;
    let record = s.task(task).await.unwrap().unwrap();
    assert_eq!((record.deadline, record.deadline_calendar.as_deref()), (Some(moved.clone()), Some("de-berlin")));
    let p = payload("task_deadline_changed").await;
    assert_eq!(
        (p["deadline"].clone(), p["calendar"].clone(), p["reason"].clone()),
        (moved.to_json(), json!("de-berlin"), json!("work calendar de-berlin changed"))
    );

    // A deadline computed without a calendar (an item changed) clears it; the event names neither.
    let plain = Effect::DeadlineChanged { task, deadline: None, calendar: None, reason: None };
    apply(&s, &model, inst.id, InstanceStatus::Running, vec![plain]).await;
    let record = s.task(task).await.unwrap().unwrap();
    assert_eq!((record.deadline, record.deadline_calendar), (None, None));
    let p = payload("task_deadline_changed").await;
    assert_eq!(p, json!({"deadline": null}));

    // A task made without a calendar has none, and its event names none.
    let plain = start_leave(&s, &model, m.id, 3).await;
    assert_eq!(s.instance_tasks(plain).await.unwrap()[0].deadline_calendar, None);
    let created = s.events(plain).await.unwrap().into_iter().find(|e| e.kind == "task_created").unwrap().payload;
    assert!(created.get("calendar").is_none(), "{created}");
}

/// The calendar view's exports (with their instance's data) and the team's
/// week (a role's open tasks by deadline, bounded), and the roles people hold.
async fn what_the_calendar_view_and_the_teams_week_read(db: TestDb) {
    let s = store(&db).await;
    let now = t("2026-03-27T08:00:00Z");
    let model = flowcal_bpmn::parse(leave_model(), None).unwrap();
    let m = s.insert_model("leave", "Leave", leave_model(), None, now).await.unwrap();
    // Two approvals for managers (due in three days), a booking for hr (due 2026-04-20).
    let (one, two) = (start_leave(&s, &model, m.id, 10).await, start_leave(&s, &model, m.id, 10).await);
    let short = start_leave(&s, &model, m.id, 3).await;
    let far = t("2026-05-01T00:00:00Z").as_millisecond();
    let ids =
        |p: &flowcal_store::Page<flowcal_store::TaskRecord>| p.items.iter().map(|t| t.instance_id).collect::<Vec<_>>();
    let managers = s.role_tasks("managers", None, far, 10).await.unwrap();
    assert_eq!((ids(&managers), managers.more), (vec![one, two], false));
    let cut = s.role_tasks("managers", None, far, 1).await.unwrap();
    assert_eq!((ids(&cut), cut.more), (vec![one], true));
    // Only deadlines before the bound; only the process asked for; only the role asked for.
    let before_due = flowcal_store::deadline_sort_key(managers.items[0].deadline.as_ref());
    assert!(s.role_tasks("managers", None, before_due, 10).await.unwrap().items.is_empty());
    assert_eq!(ids(&s.role_tasks("managers", Some("leave"), far, 10).await.unwrap()), vec![one, two]);
    assert!(s.role_tasks("managers", Some("other"), far, 10).await.unwrap().items.is_empty());
    let hr = s.role_tasks("hr", None, far, 10).await.unwrap();
    assert_eq!(hr.items.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Book the leave"]);
    assert_eq!(ids(&hr), vec![short]);

    let bo = s.create_user(&new_user("bo"), &["managers".into(), "hr".into()], now).await.unwrap();
    s.create_user(&new_user("cy"), &["hr".into()], now).await.unwrap();
    assert_eq!(s.role_names(10).await.unwrap(), ["hr", "managers"]);
    assert_eq!(s.role_names(1).await.unwrap(), ["hr"]);

    let account = flowcal_store::NewAccount {
        user_id: bo,
        kind: flowcal_store::AccountKind::Caldav,
        provider: "caldav".into(),
        external_id: "bo".into(),
        display: "bo".into(),
        url: None,
        credentials_sealed: "unused".into(),
        access_expires_at: None,
    };
    let audit = || flowcal_store::Audit { action: "account.connected", detail: "{}".into() };
    let (acc, _) = s.upsert_account(account, now, audit(), audit()).await.unwrap();
    let task = s.instance_tasks(one).await.unwrap()[0].id;
    let export = |source: flowcal_domain::export::ExportSource, task: Option<i64>, instance: InstanceId| {
        flowcal_store::NewExport {
            user_id: bo,
            account_id: acc.id,
            event_key: flowcal_domain::export::event_key(bo.0, &source.to_string()),
            source,
            task_id: task,
            instance_id: instance.0,
        }
    };
    let item = flowcal_domain::export::ExportSource::InstanceItem { instance: two, key: "first_day".into() };
    let deadline = flowcal_domain::export::ExportSource::TaskDeadline(task);
    let first = s.request_export(export(deadline, Some(task.0), one), now).await.unwrap();
    let second = s.request_export(export(item.clone(), None, two), now).await.unwrap();
    let got = s.calendar_exports(bo, 10).await.unwrap();
    assert!(!got.more);
    assert_eq!(got.items.iter().map(|(e, _)| e.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
    assert_eq!((got.items[0].0.source.clone(), got.items[0].1["first_day"].clone()), (item, json!("2026-04-20")));
    let cut = s.calendar_exports(bo, 1).await.unwrap();
    assert_eq!((cut.items.len(), cut.more), (1, true));
    // One taken off the calendar on request is no entry; nobody else's are.
    s.request_removal(second.id, now).await.unwrap();
    let got = s.calendar_exports(bo, 10).await.unwrap();
    assert_eq!(got.items.iter().map(|(e, _)| e.id).collect::<Vec<_>>(), [first.id]);
    assert!(s.calendar_exports(UserId(bo.0 + 1000), 10).await.unwrap().items.is_empty());
}
