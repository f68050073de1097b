//! The store's contract, run against SQLite and PostgreSQL alike.

use crate::on_both_backends;
use crate::support::{leave_model, TestDb};
use flowcal_domain::{InstanceId, ProcessModel, TaskId, UserId};
use flowcal_engine::{Engine, InstanceStatus};
use flowcal_store::{NewUser, Store, StoreError, TaskState, TokenLookup};
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
            "0008_timers"
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
