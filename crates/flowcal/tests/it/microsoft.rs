//! Microsoft 365 through the application (the README's first behaviour): a
//! provider of kind `microsoft` configured as docs/setup-microsoft.md says
//! (client id, the secret in a file, the tenant), with only its base URLs
//! moved: authorization, token and key endpoints at a real OAuth server
//! (oidc-provider) that presents Microsoft's issuer for the tenant, and
//! Graph's root at the Graph double. A user connects in a browser-like
//! client, chooses a calendar and exports; the events are read back from the
//! double. Graph then finds the access token expired in the middle of a
//! delivery; at the end the user disconnects.

use crate::access::{stored_credentials, Browser, Oidc, CLIENT_SECRET};
use crate::graph_double::{assert_reads_back, GraphDouble, Seen};
use crate::support::{leave_model, TestApp, TestDb};
use flowcal_calendar::{event_key, EventSpec, When};
use reqwest::{Method, Url};
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// The directory (tenant) id and the application (client) id, as the Entra
/// admin center shows them after registering flowcal.
const TENANT: &str = "7d3f6c1e-5b2a-4e8f-9c0d-1a2b3c4d5e6f";
const CLIENT_ID: &str = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
/// The delegated permission flowcal asks for, as Entra ID names the scope.
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/Calendars.ReadWrite";

crate::on_both_backends!(peers: microsoft_365_through_the_application);

async fn microsoft_365_through_the_application(db: TestDb) {
    // The port is known before the peer starts: the redirect URI names it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}");
    let callback = format!("{base}/oauth/callback");
    // What flowcal expects of a single-tenant app (docs/setup-microsoft.md, "Endpoints").
    let issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    let Some(peer) = Oidc::start(
        &callback,
        json!({
            "clients": [
                // flowcal as registered: a confidential client sending its secret in the
                // form (client_secret_post, flowcal's default for Microsoft).
                {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback],
                 "token_endpoint_auth_method": "client_secret_post"},
                // The Graph double's own client, for introspecting the tokens it is shown.
                {"client_id": "flowcal", "client_secret": CLIENT_SECRET, "redirect_uris": [callback]},
            ],
            "resource_scopes": GRAPH_SCOPE,
            "tenant": TENANT,
            "issuer": issuer,
        }),
    ) else {
        return;
    };
    let peer = Arc::new(peer);
    // The peer's address (its issuer is Microsoft's, above).
    let at = peer.issuer.clone();
    let graph = GraphDouble::start(peer.clone()).await;
    let files = tempfile::tempdir().unwrap();
    let secret_file = files.path().join("m365-client-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let config = format!(
        "[providers.m365]\nkind = \"microsoft\"\ndisplay_name = \"Microsoft 365\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = \"{}\"\ntenant = \"{TENANT}\"\n\
         authorization_endpoint = \"{at}/auth\"\ntoken_endpoint = \"{at}/token\"\njwks_uri = \"{at}/jwks\"\n\
         api_base_url = \"{}\"\n",
        secret_file.display(),
        graph.base
    );
    let t = TestApp::spawn_on(db, &config, port).await;
    // ID tokens carry real times.
    t.clock.set(jiff::Timestamp::now());
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    let (s, list) = t.get("/api/v1/providers", &alice).await;
    assert_eq!(s, 200);
    assert_eq!(
        list["providers"],
        json!([{"name": "m365", "kind": "microsoft", "display_name": "Microsoft 365", "sign_in": false}])
    );

    // ---- connecting, as a browser does it ----
    let browser = Browser::new();
    browser.login(&t, "alice").await;
    let (s, me) = browser
        .api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true, "reminder_minutes": 45}))
        .await;
    assert_eq!(s, 200, "{me}");
    let (s, b) = browser
        .api(&t, Method::POST, "/api/v1/calendar-accounts/oauth/m365", json!({"login_hint": "alice@contoso.example"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let auth = Url::parse(b["authorization_url"].as_str().unwrap()).unwrap();
    assert!(auth.as_str().starts_with(&format!("{at}/auth?")), "{auth}");
    assert_eq!(query(&auth, "client_id").as_deref(), Some(CLIENT_ID));
    // Microsoft's least privilege: the calendars, a refresh token, who the account is.
    assert_eq!(query(&auth, "scope"), Some(format!("openid email offline_access {GRAPH_SCOPE}")));
    let back = browser.authorize(auth.as_str(), &callback).await;
    assert_eq!(query(&back, "iss"), Some(issuer.clone()), "the answer names the tenant's issuer");
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Calendar connected"), "{page}");
    let (_, accounts) = t.get("/api/v1/calendar-accounts", &alice).await;
    let acc = &accounts["accounts"][0];
    assert_eq!(
        (acc["kind"].as_str(), acc["provider"].as_str(), acc["status"].as_str(), acc["display"].as_str()),
        (Some("microsoft"), Some("m365"), Some("active"), Some("alice@contoso.example")),
        "{accounts}"
    );
    let account = acc["id"].as_i64().unwrap();
    let (_, creds) = stored_credentials(&t, account).await;
    let first_token = creds["access_token"].as_str().unwrap().to_owned();

    // ---- choosing the calendar: the mailbox's own "Calendar" ----
    let (s, cals) = t.get(&format!("/api/v1/calendar-accounts/{account}/calendars"), &alice).await;
    assert_eq!(s, 200, "{cals}");
    let names: Vec<&str> = cals["calendars"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["Calendar", "Birthdays", "United States holidays"], "every page of the list: {cals}");
    let calendar = cals["calendars"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/calendar-accounts/{account}/calendar");
    let (s, acc) = t.call(Method::PUT, &path, &alice, Some(json!({"calendar": calendar}))).await;
    assert_eq!((s, acc["calendar"].as_str()), (200, Some(calendar.as_str())), "{acc}");

    // ---- the export button: a step's deadline ----
    assert_eq!(t.upload(&admin, leave_model()).await.0, 201);
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "Easter",
                   "data": {"first_day": "2026-05-04", "days": 3, "handover": "2026-04-30T14:00:00+02:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let instance = inst["id"].as_i64().unwrap();
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = tasks["tasks"].as_array().unwrap().iter().find(|k| k["name"] == "Prepare hand-over").unwrap()["id"]
        .as_i64()
        .unwrap();
    let export = |source: &str| json!({"task": task, "source": source, "account": account});
    let show = |id: i64| {
        let (t, alice) = (&t, alice.clone());
        async move { t.get(&format!("/api/v1/exports/{id}"), &alice).await.1 }
    };
    let (s, e) = t.post("/api/v1/exports", &alice, export("deadline")).await;
    assert_eq!((s, e["state"].as_str()), (202, Some("pending")), "{e}");
    let day_export = e["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let e = show(day_export).await;
    assert_eq!((e["state"].as_str(), e["calendar"].as_str()), (Some("synced"), Some(calendar.as_str())), "{e}");
    let day_event = e["remote_id"].as_str().unwrap().to_owned();
    // What the input says: first day 2026-05-04, the step due the day before, all day;
    // alice's reminder of 45 minutes; free; the process and the link back to the task.
    let link = format!("{base}/tasks/{task}");
    let day = EventSpec {
        key: event_key(alice_id, &format!("task:{task}:deadline")),
        title: "Prepare hand-over — Easter".into(),
        description: format!("Process: Leave request\nOpen in flowcal: {link}"),
        url: Some(link),
        when: When::Date("2026-05-03".parse().unwrap()),
        duration_minutes: 30,
        transparent: true,
        reminder_minutes: Some(45),
        sequence: 0,
        stamp: t.app.now(),
    };
    assert_reads_back(&graph.read_back(&first_token, &calendar, &day_event).await, &day);
    assert_eq!(graph.events_with_key(&day.key), [day_event.as_str()]);

    // ---- Graph finds the access token expired just as the next entry is created ----
    graph.expire_token_on("POST");
    let before = graph.seen().len();
    let (s, e) = t.post("/api/v1/exports", &alice, export("item:handover")).await;
    assert_eq!(s, 202, "{e}");
    let timed_export = e["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let e = show(timed_export).await;
    assert_eq!(e["state"], "synced", "delivered after the refresh: {e}");
    // The refresh happened at the peer's token endpoint, and its token is the one in use.
    assert_eq!(peer_stats(&at).await["refresh_grants"], 1);
    let (_, creds) = stored_credentials(&t, account).await;
    let second_token = creds["access_token"].as_str().unwrap().to_owned();
    let refresh_token = creds["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, first_token);
    let seen: Vec<Seen> = graph.seen().into_iter().skip(before).collect();
    let refused = seen.iter().position(|s| s.status == 401).expect("Graph refused the expired token");
    assert_eq!((seen[refused].method.as_str(), seen[refused].token.as_str()), ("POST", first_token.as_str()));
    assert!(seen[refused + 1..].iter().all(|s| s.token == second_token), "{seen:#?}");
    // The create went through once, with the new token: one event for the export.
    let timed_key = event_key(alice_id, &format!("instance:{instance}:item:handover"));
    let creates: Vec<(&str, u16)> = seen
        .iter()
        .filter(|s| s.method == "POST" && s.body["transactionId"] == json!(timed_key))
        .map(|s| (s.token.as_str(), s.status))
        .collect();
    assert_eq!(creates, [(first_token.as_str(), 401), (second_token.as_str(), 201)]);
    let timed_event = e["remote_id"].as_str().unwrap().to_owned();
    assert_eq!(graph.events_with_key(&timed_key), [timed_event.as_str()]);
    // The hand-over meeting at 14:00 in Berlin, as long as the configured default.
    let link = format!("{base}/instances/{instance}");
    let timed = EventSpec {
        key: timed_key.clone(),
        title: "Hand-over meeting — Easter".into(),
        description: format!("Process: Leave request\nOpen in flowcal: {link}"),
        url: Some(link),
        when: When::At { at: "2026-04-30T12:00:00Z".parse().unwrap(), zone: "Europe/Berlin".into() },
        ..day.clone()
    };
    let got = graph.read_back(&second_token, &calendar, &timed_event).await;
    assert_reads_back(&got, &timed);
    assert_eq!(got["originalStartTimeZone"], "Europe/Berlin", "{got}");
    // Pressed again: the same export, and still one event.
    let (s, again) = t.post("/api/v1/exports", &alice, export("item:handover")).await;
    assert_eq!((s, again["id"].as_i64()), (202, Some(timed_export)), "{again}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(graph.events_with_key(&timed_key), [timed_event.as_str()]);
    assert_eq!(graph.count(&calendar), 2);

    // ---- disconnecting: Microsoft has no revocation endpoint ----
    let before = graph.seen().len();
    let (s, b) = t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{account}"), &alice, None).await;
    assert_eq!((s, &b["revoked"]), (200, &json!(false)), "{b}");
    let message = b["message"].as_str().unwrap();
    assert!(message.contains("Microsoft 365 offers no revocation endpoint"), "{message}");
    assert!(message.contains("remove flowcal from the apps of your account"), "{message}");
    // Nothing was called: the grant is still live at the authorization server (it
    // stays until the user or an administrator removes it there), and Graph heard nothing.
    assert!(peer.active(&refresh_token).await, "flowcal revoked nothing");
    assert_eq!(graph.seen().len(), before);
    // The stored credential is gone.
    assert!(t.app.store.account(account).await.unwrap().is_none());
    let (_, accounts) = t.get("/api/v1/calendar-accounts", &alice).await;
    assert_eq!(accounts["accounts"], json!([]));
    // The entries: their exports went with the account; the events stay in the
    // calendar (flowcal holds no credential to reach it any more).
    let (_, exports) = t.get("/api/v1/exports", &alice).await;
    assert_eq!(exports["exports"], json!([]), "{exports}");
    assert_eq!(graph.count(&calendar), 2);
    let (_, audit) = t.get("/api/v1/audit", &alice).await;
    let last = &audit["entries"][0];
    assert_eq!((last["action"].as_str(), &last["detail"]["revoked"]), (Some("account_disconnected"), &json!(false)));
    assert!(graph.violations().is_empty(), "{:?}", graph.violations());
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// The peer's counters (`/_test/stats`, at its address).
async fn peer_stats(at: &str) -> Json {
    reqwest::get(format!("{at}/_test/stats")).await.unwrap().json().await.unwrap()
}
