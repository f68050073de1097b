//! The delivery worker on its own terms: what it decides without a user's
//! request (the administrator's policy and the user's switch, read again at
//! delivery), against Radicale.

use crate::access::{calendar_text, Radicale};
use crate::support::{LeaveCase, TestApp, TestDb};
use flowcal_server::principal::Principal;
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(peers: the_export_policy_and_the_users_switch_hold_at_delivery);
crate::on_both_backends!(peers: entries_delivered_before_the_versioned_hash_are_not_sent_again);

/// Pressed while allowed, delivered after the user switched export off, or
/// the administrator's policy left them out: failed, with the reason the
/// export button would give, and nothing in the calendar; allowed again and
/// retried, it arrives.
async fn the_export_policy_and_the_users_switch_hold_at_delivery(db: TestDb) {
    let t = TestApp::spawn_with(db, "[delivery]\nworkers = 0\n").await;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let settings = |body: serde_json::Value| {
        let (t, alice) = (&t, alice.clone());
        async move { assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(body)).await.0, 200) }
    };
    let policy = |allow: serde_json::Value| {
        let (t, admin) = (&t, admin.clone());
        async move {
            let body = json!({"calendar_export": {"allow": allow}});
            assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
        }
    };
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
    settings(json!({"calendar_export": true})).await;
    let connect =
        json!({"url": format!("http://127.0.0.1:{port}/"), "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let account = acc["id"].as_i64().unwrap();
    let path = format!("/api/v1/calendar-accounts/{account}/calendar");
    let (s, acc) = t.call(Method::PUT, &path, &alice, Some(json!({"calendar": "own"}))).await;
    assert_eq!(s, 200, "{acc}");
    let calendar = acc["calendar"].as_str().unwrap().to_owned();
    let summaries = || {
        let calendar = calendar.clone();
        async move {
            let text = calendar_text(&calendar, "alice", "app-password-1").await;
            text.lines().filter_map(|l| l.strip_prefix("SUMMARY:")).map(str::to_owned).collect::<Vec<_>>()
        }
    };
    assert_eq!(t.upload(&admin, crate::support::leave_model()).await.0, 201);
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "Easter",
                   "data": {"first_day": "2026-03-30", "days": 8, "handover": "2026-03-29T01:30:00+01:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = tasks["tasks"][0]["id"].as_i64().unwrap();
    let (s, e) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    let delivered_now = || {
        let t = &t;
        let alice = alice.clone();
        async move {
            while t.app.exports.deliver_due().await.unwrap() > 0 {}
            t.get(&format!("/api/v1/exports/{id}"), &alice).await.1
        }
    };
    let retry = || {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (s, e) = t.post(&format!("/api/v1/exports/{id}/retry"), &alice, json!({})).await;
            assert_eq!((s, e["state"].as_str()), (202, Some("pending")), "{e}");
        }
    };

    // The user's switch, turned off after pressing.
    settings(json!({"calendar_export": false})).await;
    let e = delivered_now().await;
    assert_eq!(e["state"], "failed", "{e}");
    assert!(e["last_error"].as_str().unwrap().contains("calendar export is off in your account settings"), "{e}");
    assert_eq!(summaries().await, Vec::<String>::new(), "a refused export writes nothing");

    // The administrator's policy, changed after pressing.
    settings(json!({"calendar_export": true})).await;
    policy(json!("no one")).await;
    retry().await;
    let e = delivered_now().await;
    assert_eq!(e["state"], "failed", "{e}");
    assert!(e["last_error"].as_str().unwrap().contains("turned off for your account by the administrator"), "{e}");
    assert_eq!(summaries().await, Vec::<String>::new(), "a refused export writes nothing");

    // Allowed again: the entry arrives.
    policy(json!(["alice"])).await;
    retry().await;
    let e = delivered_now().await;
    assert_eq!(e["state"], "synced", "{e}");
    assert_eq!(summaries().await.len(), 1, "{e}");
}

/// The content hash that decides whether an entry is sent again used to be
/// taken over the entry's `Debug` text. After an upgrade, an entry whose
/// stored hash is of that kind and whose content did not change is not sent
/// again (its calendar entry keeps its ETag and SEQUENCE); it only gets the
/// versioned hash. The feed keeps its SEQUENCE the same way.
async fn entries_delivered_before_the_versioned_hash_are_not_sent_again(db: TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let t = TestApp::spawn_with(db, &format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n")).await;
    let LeaveCase { alice, account, task, .. } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/"), "app-password-1").await;
    let export = json!({"task": task, "source": "deadline", "account": account});
    let (s, e) = t.post("/api/v1/exports", &alice, export).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    t.app.exports.deliver_due().await.unwrap();
    let row = || async { t.app.store.export(id).await.unwrap().unwrap() };
    let first = row().await;
    assert_eq!(first.state.as_str(), "synced", "{first:?}");
    let v1 = first.content_hash.clone().unwrap();
    assert!(v1.starts_with("v1:"), "{v1}");

    // As the version before the versioned hash left it.
    let user = t.app.store.user_by_login("alice").await.unwrap().unwrap();
    let roles = t.app.store.roles(user.id).await.unwrap();
    let p = Principal { user, roles };
    let entry = t.app.exports.deadline_entry(&p, flowcal_domain::TaskId(task), 0).await.unwrap();
    let legacy = entry.legacy_content_hash();
    t.sql(&format!(
        "UPDATE exports SET content_hash = '{legacy}', version = version + 1, state = 'pending' WHERE id = {id}"
    ))
    .await;
    let report = t.app.delivery.deliver_due_report("upgrade").await.unwrap();
    let outcomes: Vec<&str> = report.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(outcomes, ["unchanged"]);
    let after = row().await;
    assert_eq!(after.state.as_str(), "synced");
    assert_eq!((after.etag.as_deref(), after.sequence), (first.etag.as_deref(), first.sequence), "not sent again");
    assert_eq!(after.content_hash.as_deref(), Some(v1.as_str()), "the versioned hash is stored");
    let text = calendar_text(
        &format!("{}{}.ics", first.calendar.clone().unwrap(), first.event_key),
        "alice",
        "app-password-1",
    )
    .await;
    assert!(text.contains("SEQUENCE:0"), "{text}");

    // Changed content after the upgrade is sent, with the next SEQUENCE.
    t.sql(&format!(
        "UPDATE exports SET content_hash = '{legacy}x', version = version + 1, state = 'pending' WHERE id = {id}"
    ))
    .await;
    let report = t.app.delivery.deliver_due_report("upgrade").await.unwrap();
    assert_eq!(report.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(), ["updated"]);
    assert_eq!(row().await.sequence, first.sequence + 1);

    // The feed: a mark with the old kind of hash keeps its SEQUENCE.
    let (s, feed) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201, "{feed}");
    let url = feed["url"].as_str().unwrap().to_owned();
    let first_feed = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let sequences =
        |text: &str| text.lines().filter(|l| l.starts_with("SEQUENCE:")).map(str::to_owned).collect::<Vec<_>>();
    assert!(!sequences(&first_feed).is_empty(), "{first_feed}");
    t.sql(&format!(
        "UPDATE feed_entries SET content_hash = '{legacy}' WHERE source = 'task:{task}:deadline';
         UPDATE users SET feed_version = feed_version + 1 WHERE login = 'alice'"
    ))
    .await;
    let again = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(sequences(&again), sequences(&first_feed));
}
