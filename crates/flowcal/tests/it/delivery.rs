//! The delivery worker on its own terms: what it decides without a user's
//! request (the administrator's policy and the user's switch, read again at
//! delivery), against Radicale.

use crate::access::{calendar_text, Radicale};
use crate::support::{TestApp, TestDb};
use reqwest::Method;
use serde_json::json;

crate::on_both_backends!(peers: the_export_policy_and_the_users_switch_hold_at_delivery);

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
