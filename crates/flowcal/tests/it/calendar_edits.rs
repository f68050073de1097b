//! What people and servers do to the calendars flowcal writes to, against
//! real CalDAV servers (Radicale, Xandikos and SabreDAV, started here):
//! flowcal's own
//! calendar deleted on the server is made again; a calendar the user chose
//! that is gone is reported plainly, and choosing flowcal's own calendar
//! again works; `flowcal export sync` counts every entry once and fails
//! when entries fail. Entries deleted and moved on the server by another
//! client follow the policies (respect or restore; propose, accept or
//! revert), also on a server without sync-collection.

use crate::access::{events_in, Radicale};
use crate::caldav_peers::{Sabre, SabreAuth, Xandikos};
use crate::support::{Peer, TestApp, TestDb};
use flowcal_server::clock::Clock as _;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value as Json};
use std::process::{Command, Stdio};
use std::sync::Arc;

const USER: &str = "alice";
const PASSWORD: &str = "app-password-1";

/// One user task, the starter's, due two days after it starts (process `due`).
const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

/// A request to the CalDAV server as another client of alice's would send it.
fn dav(method: &str, url: &str) -> reqwest::RequestBuilder {
    Client::new().request(Method::from_bytes(method.as_bytes()).unwrap(), url).basic_auth(USER, Some(PASSWORD))
}

/// Makes the calendar collection `url` on the server, as a calendar app would.
async fn make_calendar(url: &str) {
    let r = dav("MKCALENDAR", url).send().await.unwrap();
    assert!(r.status().is_success(), "MKCALENDAR {url}: {}", r.status());
}

/// Deletes the collection `url` on the server, entries and all.
async fn delete_collection(url: &str) {
    let r = dav("DELETE", url).send().await.unwrap();
    assert!(r.status().is_success(), "DELETE {url}: {}", r.status());
    assert!(!exists(url).await, "{url} is gone");
}

/// Whether the server has something at `url` (Xandikos answers PROPFIND on
/// nothing with a 207 whose one response says 404).
async fn exists(url: &str) -> bool {
    let r = dav("PROPFIND", url).header("Depth", "0").send().await.unwrap();
    match r.status() {
        StatusCode::NOT_FOUND => false,
        StatusCode::MULTI_STATUS => r.text().await.unwrap().contains(" 200 OK"),
        other => panic!("PROPFIND {url}: {other}"),
    }
}

/// Starts an instance of `due` and presses *Add to calendar* on its task's
/// deadline for `account`; the export's id.
async fn new_export(t: &TestApp, alice: &str, account: i64, title: &str) -> i64 {
    let (s, inst) = t.post("/api/v1/instances", alice, json!({"model": "due", "title": title})).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    press(t, alice, account, task).await
}

/// Presses *Add to calendar* (again) on a task's deadline.
async fn press(t: &TestApp, alice: &str, account: i64, task: i64) -> i64 {
    let (s, e) =
        t.post("/api/v1/exports", alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    e["id"].as_i64().unwrap()
}

async fn deliver(t: &TestApp) {
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
}

async fn export(t: &TestApp, alice: &str, id: i64) -> Json {
    let (s, e) = t.get(&format!("/api/v1/exports/{id}"), alice).await;
    assert_eq!(s, 200, "{e}");
    e
}

async fn account(t: &TestApp, alice: &str, id: i64) -> Json {
    let (s, a) = t.get(&format!("/api/v1/calendar-accounts/{id}"), alice).await;
    assert_eq!(s, 200, "{a}");
    a
}

/// The entry an export put on the server, as the server holds it.
async fn stored(e: &Json) -> StatusCode {
    dav("GET", e["remote_id"].as_str().unwrap()).send().await.unwrap().status()
}

crate::on_both_backends!(peers: a_deleted_calendar_is_made_again_or_reported);

/// On Radicale, Xandikos and SabreDAV: flowcal's own calendar, deleted on the server,
/// is made again when an entry is updated and when one is created, and the
/// account stays connected. A calendar the user chose, deleted on the
/// server, fails the export with a plain reason the account and the
/// settings page show; choosing flowcal's own calendar again (which used to
/// keep the chosen one) clears it, and the failed export then goes there.
async fn a_deleted_calendar_is_made_again_or_reported(db: TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let Some(xandikos) = Xandikos::start().await else { return };
    let Some(sabre) = Sabre::start(SabreAuth::Basic).await else { return };
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    assert_eq!(t.upload(&admin, DUE_MODEL).await.0, 201);
    let servers = [(radicale.port, "/alice/"), (xandikos.port, "/user/calendars/"), (sabre.port, "/calendars/alice/")];
    let hosts: Vec<String> = servers.iter().map(|(p, _)| format!("127.0.0.1:{p}")).collect();
    let allow = json!({"caldav": {"allowed_hosts": hosts}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(allow)).await.0, 200);
    let on = json!({"calendar_export": true});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(on)).await.0, 200);
    let cookie = crate::matrix::session(&t, "alice").await;

    for (port, home) in servers {
        let root = format!("http://127.0.0.1:{port}");
        let own = format!("{root}{home}flowcal/");
        let connect = json!({"url": format!("{root}/"), "username": USER, "password": PASSWORD});
        let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
        assert_eq!(s, 201, "{acc}");
        let acc = acc["id"].as_i64().unwrap();

        // An entry in flowcal's own calendar.
        let first = new_export(&t, &alice, acc, &format!("First on {port}")).await;
        deliver(&t).await;
        let e = export(&t, &alice, first).await;
        assert_eq!(e["state"], "synced", "{e}");
        assert!(e["remote_id"].as_str().unwrap().starts_with(&own), "{e}");

        // The calendar is deleted on the server; the entry changes (a new
        // reminder, the button pressed again): the calendar is made again.
        delete_collection(&own).await;
        let reminder = json!({"reminder_minutes": 30});
        assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(reminder)).await.0, 200);
        let task = e["task"].as_i64().unwrap();
        assert_eq!(press(&t, &alice, acc, task).await, first);
        deliver(&t).await;
        let e = export(&t, &alice, first).await;
        assert_eq!(e["state"], "synced", "{port}: {e}");
        assert_eq!(stored(&e).await, StatusCode::OK, "{e}");
        let a = account(&t, &alice, acc).await;
        assert_eq!((a["status"].as_str(), a["calendar"].as_str()), (Some("active"), Some(own.as_str())), "{a}");
        assert_eq!(a["message"], Json::Null, "{a}");

        // Deleted again; a new entry is made: the calendar too.
        delete_collection(&own).await;
        let second = new_export(&t, &alice, acc, &format!("Second on {port}")).await;
        deliver(&t).await;
        let e = export(&t, &alice, second).await;
        assert_eq!(e["state"], "synced", "{port}: {e}");
        assert_eq!(stored(&e).await, StatusCode::OK, "{e}");
        assert_eq!(events_in(&own).await, 1, "only the new entry: the first went with its calendar");

        // A calendar the user chose.
        let picked = format!("{root}{home}picked/");
        make_calendar(&picked).await;
        let choose = json!({"calendar": picked});
        let (s, a) =
            t.call(Method::PUT, &format!("/api/v1/calendar-accounts/{acc}/calendar"), &alice, Some(choose)).await;
        assert_eq!((s, a["calendar"].as_str()), (200, Some(picked.as_str())), "{a}");
        let third = new_export(&t, &alice, acc, &format!("Third on {port}")).await;
        deliver(&t).await;
        let e = export(&t, &alice, third).await;
        assert!(e["remote_id"].as_str().unwrap().starts_with(&picked), "{e}");

        // flowcal's own calendar chosen again while the chosen one exists: it
        // is used (it used to keep the chosen one); then the other again.
        let path = format!("/api/v1/calendar-accounts/{acc}/calendar");
        let (s, a) = t.call(Method::PUT, &path, &alice, Some(json!({"calendar": "own"}))).await;
        assert_eq!((s, a["calendar"].as_str()), (200, Some(own.as_str())), "{a}");
        let (s, a) = t.call(Method::PUT, &path, &alice, Some(json!({"calendar": picked}))).await;
        assert_eq!((s, a["calendar"].as_str()), (200, Some(picked.as_str())), "{a}");

        // Deleted on the server: not made again, said plainly.
        delete_collection(&picked).await;
        let fourth = new_export(&t, &alice, acc, &format!("Fourth on {port}")).await;
        deliver(&t).await;
        let e = export(&t, &alice, fourth).await;
        assert_eq!(e["state"], "failed", "{e}");
        let why = e["last_error"].as_str().unwrap();
        assert!(why.contains("the calendar you chose") && why.contains("choose another in Settings"), "{why}");
        assert!(!exists(&picked).await, "a calendar the user chose is not made by flowcal");
        let a = account(&t, &alice, acc).await;
        assert_eq!(a["status"], "active", "{a}");
        assert!(a["message"].as_str().is_some_and(|m| m.contains("choose another")), "{a}");
        let page = t
            .client
            .get(format!("{}/settings", t.base))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("the calendar you chose for alice"), "the settings page says it");

        // flowcal's own calendar chosen: the account is clear, the failed entry goes there.
        let choose = json!({"calendar": "own"});
        let (s, a) =
            t.call(Method::PUT, &format!("/api/v1/calendar-accounts/{acc}/calendar"), &alice, Some(choose)).await;
        assert_eq!((s, a["calendar"].as_str()), (200, Some(own.as_str())), "{a}");
        assert_eq!(a["message"], Json::Null, "{a}");
        let (s, r) = t.post(&format!("/api/v1/exports/{fourth}/retry"), &alice, json!({})).await;
        assert!((200..300).contains(&s), "{s} {r}");
        deliver(&t).await;
        let e = export(&t, &alice, fourth).await;
        assert_eq!(e["state"], "synced", "{e}");
        assert!(e["remote_id"].as_str().unwrap().starts_with(&own), "{e}");
        assert_eq!(stored(&e).await, StatusCode::OK);
    }
}

/// `flowcal export sync` while another process delivers the same entries:
/// every entry counted once, the counts add up, exit status 0. Run where
/// the entries cannot be delivered: they count as failed, and it exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn export_sync_counts_each_entry_once_and_fails_when_entries_fail() {
    use flowcal_server::clock::SystemClock;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let dir = tempfile::tempdir().unwrap();
    let config_at = |allowed: &str, name: &str| {
        let text = format!(
            "data_dir = \"{}\"\ntime_zone = \"Europe/Berlin\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"{allowed}\"]\n\
             [delivery]\nworkers = 0\nlease_seconds = 30\n",
            dir.path().join("data").display()
        );
        let file = dir.path().join(name);
        std::fs::write(&file, &text).unwrap();
        (file, text)
    };
    let (config_file, config_text) = config_at(&format!("127.0.0.1:{port}"), "flowcal.toml");
    // The same database, with a CalDAV allow-list that leaves the server out.
    let (refusing, _) = config_at("calendar.example:443", "refusing.toml");
    let config = flowcal_server::config::Config::from_parts(&config_text, "test", &[]).unwrap();
    let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
    let user = app.access.add_user("alice", false, &[], Some("password-123")).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let url = format!("http://127.0.0.1:{port}/");
    let (acc, _) = app.access.connect_caldav(&p, &url, USER, PASSWORD).await.unwrap();
    let acc = app.access.choose_calendar(&p, acc.id, "own").await.unwrap();
    let calendar = acc.calendar.clone().unwrap();
    app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
    for i in 0..300 {
        app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
    }
    // Auto-sync on: 300 entries due.
    app.exports.set_auto_sync(&p, Some((acc.id, None, false))).await.unwrap();

    let run = |config: &std::path::Path| {
        Peer::spawn(
            Command::new(env!("CARGO_BIN_EXE_flowcal"))
                .args(["export", "sync", "--user", "alice"])
                .env("FLOWCAL_CONFIG", config)
                .env_remove("FLOWCAL_DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .unwrap()
    };
    // This process delivers the same entries while the command runs.
    let other = {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut delivered = 0;
            loop {
                match app.exports.deliver_due().await.unwrap() {
                    0 if delivered > 0 => return delivered,
                    0 => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                    n => delivered += n,
                }
            }
        })
    };
    let out = tokio::task::spawn_blocking(move || run(&config_file).wait_with_output().unwrap()).await.unwrap();
    let delivered_here = other.await.unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let counts = parse_summary(&said);
    println!("flowcal export sync: {said}; this process delivered {delivered_here}");
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    let total = counts["entries"];
    let parts: usize = counts.iter().filter(|(k, _)| *k != "entries").map(|(_, v)| v).sum();
    assert_eq!(parts, total, "the counts add up: {said}");
    assert_eq!(counts["created"] + counts["done by another flowcal process"], total, "{said}");
    assert!(counts["done by another flowcal process"] > 0, "both processes delivered: {said}");
    assert_eq!(events_in(&calendar).await, 300, "each entry once");

    // Three more entries, and the command where the server is not allowed: failed, exit 1.
    for i in 0..3 {
        app.workflow.start_instance(&p, "due", &format!("Late {i}"), &serde_json::Map::new()).await.unwrap();
    }
    let out = run(&refusing).wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said} {err}");
    let counts = parse_summary(&said);
    let parts: usize = counts.iter().filter(|(k, _)| *k != "entries").map(|(_, v)| v).sum();
    assert_eq!(parts, counts["entries"], "{said}");
    assert!(counts["failed"] > 0, "{said}");
    assert!(err.contains("are not in the calendar as asked"), "{err}");
}

/// "N entries: created a, updated b, …" as (word, count) pairs, `entries` first.
fn parse_summary(line: &str) -> std::collections::BTreeMap<String, usize> {
    let line = line.trim();
    let (total, rest) = line.split_once(" entries: ").unwrap_or_else(|| panic!("no summary: {line:?}"));
    let mut out = std::collections::BTreeMap::new();
    out.insert("entries".to_owned(), total.parse().unwrap());
    for part in rest.split(", ") {
        let (word, n) = part.rsplit_once(' ').unwrap_or_else(|| panic!("{part:?} in {line:?}"));
        out.insert(word.to_owned(), n.parse().unwrap_or_else(|_| panic!("{part:?}")));
    }
    out
}

// ---- reading what changed in a calendar ------------------------------------------------------

/// An entry as the connector suite makes them, with its own key.
fn entry(key: &str, title: &str) -> flowcal_calendar::EventSpec {
    crate::connectors::sample(key, title, flowcal_calendar::When::Date("2026-05-04".parse().unwrap()))
}

/// Reading changes on a real server: the first read lists flowcal's
/// entries (not another client's) with their ETags and a token; an idle
/// read lists nothing; an entry deleted and one changed by another client
/// are read as such; a token the server does not know starts over with a
/// complete listing. A server without sync-collection (SabreDAV 1.8) is
/// listed whole each time.
async fn reads_changes(c: &flowcal_calendar::caldav::CaldavCalendar, home_url: &str) {
    use flowcal_calendar::{CalendarChoice, Connector};
    let cal = c.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    assert!(cal.id.starts_with(home_url), "{cal:?}");
    let (a, b) = (entry("task:1:deadline", "A"), entry("task:2:deadline", "B"));
    let ra = c.upsert_event(&cal.id, &a, None).await.unwrap();
    let rb = c.upsert_event(&cal.id, &b, None).await.unwrap();
    // Another client's entry, named otherwise: not flowcal's, never listed.
    let theirs = format!("{}their-event.ics", cal.id);
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:theirs\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260505\r\nSUMMARY:Theirs\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = dav("PUT", &theirs).header("Content-Type", "text/calendar").body(ics).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let first = c.changes(&cal.id, None).await.unwrap();
    assert!(first.complete && first.deleted.is_empty(), "{first:?}");
    let incremental = first.token.is_some();
    let mut listed: Vec<(String, Option<String>)> =
        first.changed.iter().map(|c| (c.id.clone(), c.etag.clone())).collect();
    listed.sort();
    let mut want = vec![(a.key.clone(), ra.etag.clone()), (b.key.clone(), rb.etag.clone())];
    want.sort();
    assert_eq!(listed, want, "flowcal's entries with the ETags it wrote");
    let token = first.token.clone().unwrap_or_default();

    // Idle: nothing (without sync-collection: the same complete listing).
    let idle = c.changes(&cal.id, first.token.as_deref()).await.unwrap();
    if incremental {
        assert!(idle.changed.is_empty() && idle.deleted.is_empty() && !idle.complete, "{idle:?}");
    } else {
        assert!(idle.complete && idle.token.is_none(), "{idle:?}");
        assert_eq!(idle.changed.len(), 2, "{idle:?}");
    }
    let token = idle.token.unwrap_or(token);

    // Deleted and changed by another client.
    let r = dav("DELETE", &ra.id).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let moved = dav("GET", &rb.id).send().await.unwrap().text().await.unwrap().replace("20260504", "20260511");
    let r = dav("PUT", &rb.id).header("Content-Type", "text/calendar").body(moved).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let after = c.changes(&cal.id, incremental.then_some(token.as_str())).await.unwrap();
    if incremental {
        assert_eq!(after.deleted, vec![a.key.clone()], "{after:?}");
        assert!(!after.complete);
    } else {
        // A complete listing: the deleted entry is not in it.
        assert!(after.complete && after.deleted.is_empty(), "{after:?}");
    }
    assert_eq!(after.changed.len(), 1, "{after:?}");
    assert_eq!(after.changed[0].id, b.key);
    assert_ne!(after.changed[0].etag, rb.etag, "a new version");
    if !incremental {
        return;
    }

    // A token the server does not know: everything, complete.
    let bogus = format!("{token}-unknown");
    let again = c.changes(&cal.id, Some(&bogus)).await.unwrap();
    assert!(again.complete, "{again:?}");
    assert_eq!(again.changed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![b.key.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn changes_are_read_on_three_servers() {
    use flowcal_calendar::caldav::{CaldavCalendar, CaldavHttp};
    use flowcal_connect::outbound::HostPolicy;
    let Some(radicale) = Radicale::start().await else { return };
    let Some(xandikos) = Xandikos::start().await else { return };
    let Some(sabre) = Sabre::start(SabreAuth::Basic).await else { return };
    for (port, home) in
        [(radicale.port, "/alice/"), (xandikos.port, "/user/calendars/"), (sabre.port, "/calendars/alice/")]
    {
        let http = CaldavHttp::new(HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap()).unwrap();
        let base = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let credential = flowcal_calendar::Credential::Basic { username: USER.into(), password: PASSWORD.into() };
        let c = CaldavCalendar::new(&http, base, credential).unwrap();
        reads_changes(&c, &format!("http://127.0.0.1:{port}{home}")).await;
    }
}

// ---- deletions and moves made in the calendar ------------------------------------------------

/// A process with a date item `day`; its one step is the starter's, due on that day.
/// `edits`: its `flowcal:calendarEdits`, if any.
pub(crate) fn dated_model(key: &str, edits: Option<&str>) -> String {
    let edits = edits.map(|e| format!(" flowcal:calendarEdits=\"{e}\"")).unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="d" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="{key}" name="Dated {key}" isExecutable="true"{edits}>
    <bpmn:extensionElements><flowcal:dataItem key="day" label="Day" type="date" required="true"/></bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Prepare" flowcal:assignee="starter" flowcal:deadlineFrom="day"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// A proxy in front of a CalDAV server that refuses every REPORT (`405`),
/// as a server without RFC 6578 (or a proxy that filters methods) does:
/// flowcal must fall back to listing the calendar.
struct NoReport {
    port: u16,
    reports: Arc<std::sync::atomic::AtomicUsize>,
}

impl NoReport {
    async fn start(upstream: u16) -> NoReport {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::{HeaderMap, Method as M, StatusCode as S, Uri};
        use axum::response::{IntoResponse, Response};
        let reports = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = reports.clone();
        let client = Client::new();
        let handler = move |State(()): State<()>, method: M, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (client, counted) = (client.clone(), counted.clone());
            async move {
                if method.as_str() == "REPORT" {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return (S::METHOD_NOT_ALLOWED, [("allow", "OPTIONS, GET, PUT, DELETE, PROPFIND, MKCALENDAR")])
                        .into_response();
                }
                let url = format!("http://127.0.0.1:{upstream}{}", uri.path_and_query().map_or("/", |p| p.as_str()));
                let mut req = client.request(method, url).body(body);
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        req = req.header(name, value);
                    }
                }
                let r = req.send().await.unwrap();
                let mut out = Response::builder().status(r.status().as_u16());
                for (name, value) in r.headers() {
                    if name != "content-length" && name != "transfer-encoding" {
                        out = out.header(name, value);
                    }
                }
                out.body(axum::body::Body::from(r.bytes().await.unwrap())).unwrap()
            }
        };
        let app = axum::Router::new().fallback(handler).with_state(());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        NoReport { port, reports }
    }
}

/// One read of every calendar whose read is due (each account made due first).
async fn read_calendars(t: &TestApp, accounts: &[i64]) -> flowcal_server::calendar_sync::ReadSummary {
    // Time passes between a delivery and the next read.
    let later = t.clock.now() + jiff::SignedDuration::from_secs(60);
    t.clock.set(later);
    for a in accounts {
        t.app.calendar_sync.wake_account(*a).await.unwrap();
    }
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!(s.failed, 0, "{s:?}");
    s
}

/// Starts an instance of `model` on `day` and puts its task's deadline on
/// alice's calendar `account`: (the export's id, the task's id, the instance's id).
async fn dated_export(t: &TestApp, alice: &str, account: i64, model: &str, day: &str) -> (i64, i64, i64) {
    dated_export_of(t, alice, account, model, day, "deadline").await
}

/// The same for `source`: `deadline` or `item:day`.
async fn dated_export_of(
    t: &TestApp,
    alice: &str,
    account: i64,
    model: &str,
    day: &str,
    source: &str,
) -> (i64, i64, i64) {
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            alice,
            json!({"model": model, "title": format!("{model} {day}"), "data": {"day": day}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, e) = t.post("/api/v1/exports", alice, json!({"task": task, "source": source, "account": account})).await;
    assert_eq!(s, 202, "{e}");
    (e["id"].as_i64().unwrap(), task, inst["id"].as_i64().unwrap())
}

/// Moves the entry at `url` to another day, as a calendar app would (a new DTSTART and DTEND).
async fn move_entry(url: &str, from: &str, to: &str, next: &str) {
    let r = dav("GET", url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let ics = r.text().await.unwrap();
    assert!(ics.contains(&format!("DTSTART;VALUE=DATE:{from}")), "{ics}");
    let moved = ics
        .replace(&format!("DTSTART;VALUE=DATE:{from}"), &format!("DTSTART;VALUE=DATE:{to}"))
        .lines()
        .map(|l| if l.starts_with("DTEND;VALUE=DATE:") { format!("DTEND;VALUE=DATE:{next}") } else { l.to_owned() })
        .collect::<Vec<_>>()
        .join("\r\n");
    let r = dav("PUT", url).header("Content-Type", "text/calendar").body(moved).send().await.unwrap();
    assert!(r.status().is_success(), "PUT {url}: {}", r.status());
}

/// The DTSTART of the entry at `url` (as `VALUE=DATE:…`), or none when it is gone.
async fn start_on_server(url: &str) -> Option<String> {
    let r = dav("GET", url).send().await.unwrap();
    if r.status() == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let ics = r.text().await.unwrap();
    ics.lines().find_map(|l| l.strip_prefix("DTSTART;VALUE=DATE:")).map(str::to_owned)
}

/// A page as the signed-in user sees it.
async fn page(t: &TestApp, cookie: &str, path: &str) -> String {
    let r = t.client.get(format!("{}{path}", t.base)).header("Cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

/// Posts a task page's calendar form (`op`, `export`) with the page's CSRF token.
async fn calendar_form(t: &TestApp, cookie: &str, task: i64, op: &str, export: i64) -> StatusCode {
    let html = page(t, cookie, &format!("/tasks/{task}")).await;
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
    let csrf = &html[at..at + 32];
    let form = [("_csrf", csrf), ("op", op), ("export", &export.to_string())];
    let r = t
        .client
        .post(format!("{}/tasks/{task}/calendar", t.base))
        .header("Cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    r.status()
}

async fn task(t: &TestApp, alice: &str, id: i64) -> Json {
    let (s, task) = t.get(&format!("/api/v1/tasks/{id}"), alice).await;
    assert_eq!(s, 200, "{task}");
    task
}

crate::on_both_backends!(peers: deletions_and_moves_in_the_calendar_follow_the_policies);

/// On Radicale, Xandikos, SabreDAV (all with sync-collection) and Radicale
/// behind a proxy that refuses REPORT (a complete listing each time): an entry
/// deleted on the server is not made again when its task changes, shows as
/// removed in calendar, and *Add again* makes it again; an entry moved on
/// the server is proposed and kept there, *use this date* changes the date
/// item and the deadline (recorded as changed through the calendar), *keep*
/// moves it back; a process that restores and reverts, and one that
/// accepts, do so at the next read. An idle read finds nothing.
async fn deletions_and_moves_in_the_calendar_follow_the_policies(db: TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let Some(xandikos) = Xandikos::start().await else { return };
    let Some(sabre) = Sabre::start(SabreAuth::Basic).await else { return };
    let proxy = NoReport::start(radicale.port).await;
    let t = TestApp::spawn_with(db, "[metrics]\npublic = true\n").await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    for (key, edits) in
        [("dated", None), ("restoring", Some("deleted=restore moved=revert")), ("accepting", Some("moved=accept"))]
    {
        let (s, m) = t.upload(&admin, &dated_model(key, edits)).await;
        assert_eq!(s, 201, "{m}");
    }
    let servers = [
        (radicale.port, "/alice/"),
        (xandikos.port, "/user/calendars/"),
        (sabre.port, "/calendars/alice/"),
        (proxy.port, "/alice/"),
    ];
    let hosts: Vec<String> = servers.iter().map(|(p, _)| format!("127.0.0.1:{p}")).collect();
    let allow = json!({"caldav": {"allowed_hosts": hosts}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(allow)).await.0, 200);
    let on = json!({"calendar_export": true});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(on)).await.0, 200);
    let cookie = crate::matrix::session(&t, "alice").await;
    let bob = t.user("bob", false, &[]).await;

    for (n, (port, _)) in servers.into_iter().enumerate() {
        let root = format!("http://127.0.0.1:{port}");
        let connect = json!({"url": format!("{root}/"), "username": USER, "password": PASSWORD});
        let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
        assert_eq!(s, 201, "{acc}");
        let acc = acc["id"].as_i64().unwrap();
        // Each server its own month, as the three share alice's calendar on Radicale.
        let day = |d: u32| format!("2026-0{}-{d:02}", 5 + n);
        let ics_day = |d: u32| day(d).replace('-', "");

        let (deleted, deleted_task, deleted_instance) = dated_export(&t, &alice, acc, "dated", &day(4)).await;
        // The date item's own entry: using its new date changes the item, and the deadline follows.
        let (proposed, proposed_task, proposed_instance) =
            dated_export_of(&t, &alice, acc, "dated", &day(5), "item:day").await;
        let (kept, kept_task, _) = dated_export(&t, &alice, acc, "dated", &day(6)).await;
        let (restored, _, _) = dated_export(&t, &alice, acc, "restoring", &day(7)).await;
        let (reverted, _, _) = dated_export(&t, &alice, acc, "restoring", &day(8)).await;
        let (accepted, accepted_task, _) = dated_export(&t, &alice, acc, "accepting", &day(9)).await;
        deliver(&t).await;
        let url = |e: &Json| e["remote_id"].as_str().unwrap().to_owned();
        let mut urls = std::collections::BTreeMap::new();
        for id in [deleted, proposed, kept, restored, reverted, accepted] {
            let e = export(&t, &alice, id).await;
            assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
            urls.insert(id, url(&e));
        }

        // The first read lists the calendar; a second finds nothing.
        let first = read_calendars(&t, &[acc]).await;
        assert_eq!((first.deleted, first.moved), (0, 0), "{port}: {first:?}");
        let idle = read_calendars(&t, &[acc]).await;
        assert_eq!((idle.read, idle.deleted, idle.moved, idle.edited), (1, 0, 0, 0), "{port}: {idle:?}");

        // Deleted and moved by another client.
        for id in [deleted, restored] {
            let r = dav("DELETE", &urls[&id]).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
        move_entry(&urls[&proposed], &ics_day(5), &ics_day(15), &ics_day(16)).await;
        move_entry(&urls[&kept], &ics_day(6), &ics_day(16), &ics_day(17)).await;
        move_entry(&urls[&reverted], &ics_day(8), &ics_day(18), &ics_day(19)).await;
        move_entry(&urls[&accepted], &ics_day(9), &ics_day(19), &ics_day(20)).await;
        let read = read_calendars(&t, &[acc]).await;
        assert_eq!((read.deleted, read.moved), (2, 4), "{port}: {read:?}");

        // Respected: removed in calendar, and not made again when the task changes.
        let e = export(&t, &alice, deleted).await;
        assert_eq!(
            (e["state"].as_str(), e["remote"]["state"].as_str()),
            (Some("removed_in_calendar"), Some("deleted"))
        );
        let html = page(&t, &cookie, &format!("/tasks/{deleted_task}")).await;
        assert!(html.contains("Removed in your calendar") && html.contains("Add again"), "{html}");
        assert!(!html.contains("aria-label=\"Add to calendar: the deadline\""), "one way back, not two: {html}");
        let change = json!({"data": {"day": day(3)}});
        let path = format!("/api/v1/instances/{deleted_instance}/data");
        assert_eq!(t.call(Method::PATCH, &path, &admin, Some(change)).await.0, 200);
        deliver(&t).await;
        assert_eq!(export(&t, &alice, deleted).await["state"], "removed_in_calendar");
        assert_eq!(start_on_server(&urls[&deleted]).await, None, "{port}: not made again");
        // Add again.
        let (s, e) = t.post(&format!("/api/v1/exports/{deleted}/retry"), &alice, json!({})).await;
        assert_eq!(s, 202, "{e}");
        deliver(&t).await;
        let e = export(&t, &alice, deleted).await;
        assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
        assert_eq!(start_on_server(&url(&e)).await, Some(ics_day(3)), "{port}: added again with the new day");

        // Proposed: the entry stays where it was moved, even when the task changes.
        let e = export(&t, &alice, proposed).await;
        assert_eq!(e["remote"], json!({"state": "moved", "start": day(15)}), "{port}");
        let html = page(&t, &cookie, &format!("/tasks/{proposed_task}")).await;
        assert!(html.contains("Moved in your calendar") && html.contains("Use this date") && html.contains(">Keep<"));
        let path = format!("/api/v1/instances/{proposed_instance}/data");
        assert_eq!(t.call(Method::PATCH, &path, &admin, Some(json!({"data": {"day": day(4)}}))).await.0, 200);
        deliver(&t).await;
        assert_eq!(task(&t, &alice, proposed_task).await["deadline"]["date"], day(4));
        assert_eq!(start_on_server(&urls[&proposed]).await, Some(ics_day(15)), "{port}: kept where it was moved");
        assert_eq!(export(&t, &alice, proposed).await["remote"]["state"], "moved");
        // Only the owner decides: another user does not see the export, an administrator may not.
        for (who, status) in [(&bob, 404), (&admin, 403)] {
            for op in ["accept-remote", "keep-local"] {
                let (s, e) = t.post(&format!("/api/v1/exports/{proposed}/{op}"), who, json!({})).await;
                assert_eq!(s, status, "{op}: {e}");
            }
        }
        // Use this date: the item and the deadline follow, as changed through the calendar.
        let (s, e) = t.post(&format!("/api/v1/exports/{proposed}/accept-remote"), &alice, json!({})).await;
        assert_eq!(s, 202, "{e}");
        assert_eq!(task(&t, &alice, proposed_task).await["deadline"]["date"], day(15));
        let (s, inst) = t.get(&format!("/api/v1/instances/{proposed_instance}"), &alice).await;
        assert_eq!(s, 200, "{inst}");
        assert_eq!(inst["data"]["day"], day(15), "{inst}");
        assert_eq!(inst["tasks"][0]["deadline"]["date"], day(15), "{inst}");
        let (s, events) = t.get(&format!("/api/v1/instances/{proposed_instance}/events"), &alice).await;
        assert_eq!(s, 200, "{events}");
        assert!(events.to_string().contains("alice (through the calendar)"), "{events}");
        deliver(&t).await;
        let e = export(&t, &alice, proposed).await;
        assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
        assert_eq!(start_on_server(&urls[&proposed]).await, Some(ics_day(15)));

        // Keep, on the task page: the entry goes back; the deadline stays.
        assert_eq!(calendar_form(&t, &cookie, kept_task, "keep-local", kept).await, StatusCode::SEE_OTHER);
        deliver(&t).await;
        assert_eq!(start_on_server(&urls[&kept]).await, Some(ics_day(6)), "{port}: moved back");
        assert_eq!(task(&t, &alice, kept_task).await["deadline"]["date"], day(6));
        assert_eq!(export(&t, &alice, kept).await["remote"]["state"], "in_sync");
        let (s, e) = t.post(&format!("/api/v1/exports/{kept}/keep-local"), &alice, json!({})).await;
        assert_eq!(s, 409, "nothing to keep from any more: {e}");

        // restore and revert: at the read, without asking.
        deliver(&t).await;
        let e = export(&t, &alice, restored).await;
        assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
        assert_eq!(start_on_server(&url(&e)).await, Some(ics_day(7)), "{port}: restored");
        assert_eq!(start_on_server(&urls[&reverted]).await, Some(ics_day(8)), "{port}: reverted");
        // accept: applied at once (alice started the instance), to the step's deadline alone.
        assert_eq!(task(&t, &alice, accepted_task).await["deadline"]["date"], day(19));
        let (s, inst) = t.get(&format!("/api/v1/tasks/{accepted_task}"), &alice).await;
        assert_eq!(s, 200, "{inst}");
        let (s, inst) = t.get(&format!("/api/v1/instances/{}", inst["instance"]), &alice).await;
        assert_eq!((s, &inst["data"]["day"]), (200, &json!(day(9))), "{inst}");
        deliver(&t).await;
        assert_eq!(export(&t, &alice, accepted).await["remote"]["state"], "in_sync");
        assert_eq!(start_on_server(&urls[&accepted]).await, Some(ics_day(19)));

        // flowcal's own writes are no edits: the next read finds nothing to do.
        let after = read_calendars(&t, &[acc]).await;
        assert_eq!((after.deleted, after.moved), (0, 0), "{port}: {after:?}");
        if port == proxy.port {
            assert!(proxy.reports.load(std::sync::atomic::Ordering::SeqCst) > 0, "the proxy was asked for REPORT");
        }
        // Sync health: read and delivered; /metrics has the read lag, growing until the next read.
        let a = account(&t, &alice, acc).await;
        assert!(a["last_synced_at"].is_string() && a["last_delivered_at"].is_string(), "{a}");
        assert!(a["last_error"].is_null(), "{a}");
        let metrics =
            || async { t.client.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap() };
        let text = metrics().await;
        assert!(text.contains("flowcal_calendar_read_lag_seconds{kind=\"caldav\"} 0\n"), "{text}");
        assert!(text.contains("flowcal_calendar_reads_total{kind=\"caldav\",outcome=\"read\"}"), "{text}");
        t.clock.set(t.clock.now() + jiff::SignedDuration::from_secs(120));
        assert!(metrics().await.contains("flowcal_calendar_read_lag_seconds{kind=\"caldav\"} 120\n"));
        // The next server gets the entries from now on.
        assert_eq!(t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{acc}"), &alice, None).await.0, 204);
    }
}

crate::on_both_backends!(peers: a_wake_up_during_a_read_is_not_lost);

/// A notification that arrives while the account's calendar is being read
/// makes it due again at once: the change it announced may have come after
/// the read's listing. Without one, the account waits for its interval.
async fn a_wake_up_during_a_read_is_not_lost(db: TestDb) {
    use flowcal_store::ReadOutcome;
    let Some(radicale) = Radicale::start().await else { return };
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    assert_eq!(t.upload(&admin, DUE_MODEL).await.0, 201);
    let allow = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{}", radicale.port)]}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(allow)).await.0, 200);
    assert_eq!(
        t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await.0,
        200
    );
    let connect =
        json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": USER, "password": PASSWORD});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let acc = acc["id"].as_i64().unwrap();
    new_export(&t, &alice, acc, "Watched").await;
    deliver(&t).await;

    let store = &t.app.store;
    let now = t.clock.now();
    let lease = now + jiff::SignedDuration::from_secs(300);
    let next = now + jiff::SignedDuration::from_secs(3600);
    let read = || ReadOutcome::Read { calendar: "c".into(), token: Some("t".into()) };
    for woken in [false, true] {
        let claimed = store.claim_reads("reader", now, lease, 10).await.unwrap();
        assert_eq!(claimed.iter().map(|c| c.account_id).collect::<Vec<_>>(), vec![acc]);
        assert!(store.claim_reads("another", now, lease, 10).await.unwrap().is_empty(), "leased");
        if woken {
            t.app.calendar_sync.wake_account(acc).await.unwrap();
        }
        assert!(store.finish_read(acc, "reader", read(), next, now).await.unwrap());
        let again = store.claim_reads("another", now, lease, 10).await.unwrap();
        assert_eq!(again.len(), usize::from(woken), "woken during the read: {woken}");
        if woken {
            assert_eq!(again[0].token.as_deref(), Some("t"), "the next read goes on from the token");
            assert!(store.finish_read(acc, "another", read(), next, now).await.unwrap());
        }
        // Due again for the next round.
        t.app.calendar_sync.wake_account(acc).await.unwrap();
    }
}
