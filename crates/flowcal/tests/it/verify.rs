//! `flowcal export verify` against a real CalDAV server (Radicale, started
//! here): entries deleted on the server are missing, a copy of one saved
//! under another name is an extra duplicate, an entry whose title was
//! changed there is different; `--repair` repairs each (the copy deleted by
//! its own URL, never the original) and a second check finds nothing. An
//! entry whose deletion flowcal respects is counted, never made again. The
//! command's exit status says whether findings remain, and administrators
//! (only they) do the same on the admin page.

use crate::access::{events_in, Radicale};
use crate::support::{Peer, TestApp, TestDb};
use flowcal_server::verify::{verify, Kind, Verification};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;

const USER: &str = "alice";
const PASSWORD: &str = "app-password-1";

/// One user task, the starter's, due two days after it starts (process `due`).
const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

/// Copies the entry at `url` (in alice's calendar `name`) into the same
/// calendar as the resource `copy`, UID and all. Radicale refuses to store
/// a second resource with the UID of another in the same calendar (409,
/// `no-uid-conflict`), so the copy, as a client or a person leaves it, is
/// put in its storage directly.
async fn copy_entry(radicale: &Radicale, url: &str, name: &str, copy: &str) {
    let r = dav("GET", url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let ics = r.text().await.unwrap();
    let dir = radicale.storage(USER, name);
    assert!(dir.is_dir(), "{} is where Radicale keeps {name}", dir.display());
    std::fs::write(dir.join(copy), ics).unwrap();
}

fn root(radicale: &Radicale) -> String {
    format!("http://127.0.0.1:{}", radicale.port)
}

/// A request to the CalDAV server as another client of alice's would send it.
fn dav(method: &str, url: &str) -> reqwest::RequestBuilder {
    Client::new().request(Method::from_bytes(method.as_bytes()).unwrap(), url).basic_auth(USER, Some(PASSWORD))
}

/// The UIDs of the entries in the calendar `url`, as the server lists them (each once per resource).
async fn uids_in(url: &str) -> Vec<String> {
    let body = r#"<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
        <d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>"#;
    let r = dav("REPORT", url).header("Depth", "1").header("Content-Type", "application/xml").body(body);
    let text = r.send().await.unwrap().text().await.unwrap();
    let mut uids: Vec<String> =
        text.lines().filter_map(|l| l.trim().strip_prefix("UID:").map(|u| u.trim().to_owned())).collect();
    uids.sort();
    uids
}

/// Starts an instance of `due` titled `title` and presses *Add to calendar*
/// on its task's deadline for `account`: the export.
async fn new_export(t: &TestApp, alice: &str, account: i64, title: &str) -> Json {
    let (s, inst) = t.post("/api/v1/instances", alice, json!({"model": "due", "title": title})).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, e) =
        t.post("/api/v1/exports", alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    e
}

async fn deliver(t: &TestApp) {
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
}

async fn export(t: &TestApp, alice: &str, id: i64) -> Json {
    let (s, e) = t.get(&format!("/api/v1/exports/{id}"), alice).await;
    assert_eq!(s, 200, "{e}");
    e
}

/// The findings of `kind`, by the source of the export they are about.
fn sources(v: &Verification, kind: Kind) -> BTreeSet<String> {
    v.findings.iter().filter(|f| f.kind == kind).map(|f| f.source.clone().unwrap_or_default()).collect()
}

/// `flowcal_server::verify` without a progress bar.
async fn check(t: &TestApp, repair: bool) -> Verification {
    verify(&t.app, USER, repair, |_, _| {}).await.unwrap()
}

/// A page as `cookie`'s user sees it: the status and the HTML.
async fn page(t: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form as `cookie`'s user, with the CSRF token of `csrf`: the status and the page.
async fn submit(t: &TestApp, cookie: &str, csrf: &str, path: &str) -> (u16, String) {
    let r = t
        .client
        .post(format!("{}{path}", t.base))
        .header("cookie", cookie)
        .form(&[("_csrf", csrf)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

crate::on_both_backends!(peers: verify_finds_and_repairs_what_differs_from_the_exports);

/// Five entries delivered to Radicale; three deleted on the server and the
/// fourth copied under another name: 3 missing and 1 extra duplicate,
/// exactly those; the repair makes the three again and deletes the copy (the
/// fourth's own resource stays), and a second check finds nothing, the
/// server holding each entry once. A title changed on the server is
/// different: the administrator's page shows it (to administrators only)
/// and repairs it. An entry deleted in the calendar and respected is counted
/// and left alone.
async fn verify_finds_and_repairs_what_differs_from_the_exports(db: TestDb) {
    let Some(mut radicale) = Radicale::start().await else { return };
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user(USER, false, &[]).await;
    assert_eq!(t.upload(&admin, DUE_MODEL).await.0, 201);
    let allow = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{}", radicale.port)]}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(allow)).await.0, 200);
    let on = json!({"calendar_export": true});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(on)).await.0, 200);
    let connect = json!({"url": format!("{}/", root(&radicale)), "username": USER, "password": PASSWORD});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let acc = acc["id"].as_i64().unwrap();

    let mut exports = Vec::new();
    for i in 1..=5 {
        exports.push(new_export(&t, &alice, acc, &format!("Case {i}")).await["id"].as_i64().unwrap());
    }
    deliver(&t).await;
    let mut delivered = Vec::new();
    for id in &exports {
        let e = export(&t, &alice, *id).await;
        assert_eq!(e["state"], "synced", "{e}");
        delivered.push(e);
    }
    let mut keys = Vec::new();
    for id in &exports {
        keys.push(format!("{}@flowcal", t.app.store.export(*id).await.unwrap().unwrap().event_key));
    }
    let url = |i: usize| delivered[i]["remote_id"].as_str().unwrap().to_owned();
    let source = |i: usize| delivered[i]["source"].as_str().unwrap().to_owned();
    let calendar = url(0).rsplit_once('/').unwrap().0.to_owned() + "/";
    assert_eq!(calendar, format!("{}/alice/flowcal/", root(&radicale)));

    // As delivered: nothing to find.
    let v = check(&t, false).await;
    assert_eq!(
        v.line(),
        "5 entries checked: missing 0, extra 0 (of which duplicates 0), different 0, deleted in the calendar \
         (respected) 0"
    );
    assert!(v.clean() && v.findings.is_empty() && v.notes.is_empty(), "{v:?}");

    // Three deleted on the server, the fourth copied under another name.
    for i in 0..3 {
        assert!(dav("DELETE", &url(i)).send().await.unwrap().status().is_success());
    }
    copy_entry(&radicale, &url(3), "flowcal", "copy-of-case-4.ics").await;
    let copy = format!("{calendar}copy-of-case-4.ics");
    assert_eq!(dav("GET", &copy).send().await.unwrap().status(), StatusCode::OK, "the server serves the copy");
    assert_eq!(uids_in(&calendar).await.iter().filter(|u| **u == keys[3]).count(), 2, "the fourth twice");

    let v = check(&t, false).await;
    assert_eq!(
        v.line(),
        "6 entries checked: missing 3, extra 1 (of which duplicates 1), different 0, deleted in the calendar \
         (respected) 0"
    );
    assert_eq!(sources(&v, Kind::Missing), (0..3).map(source).collect::<BTreeSet<_>>());
    assert_eq!(sources(&v, Kind::Duplicate), BTreeSet::from([source(3)]));
    let dup = v.findings.iter().find(|f| f.kind == Kind::Duplicate).unwrap();
    assert_eq!((dup.title.as_str(), dup.detail.as_str()), ("Check — Case 4", format!("a copy at {copy}").as_str()));
    let missing = v.findings.iter().find(|f| f.source.as_deref() == Some(source(0).as_str())).unwrap();
    assert!(missing.line().starts_with(&format!("missing\t{}\t", source(0))), "{}", missing.line());
    assert_eq!(missing.title, "Check — Case 1", "{missing:?}");
    assert!(!v.clean() && v.remaining() == 4 && v.repair_line().is_none());
    // Only looked at: the server is as it was.
    assert_eq!(events_in(&calendar).await, 3);

    // Repaired: the three made again, the copy deleted (not the fourth's own entry).
    let v = check(&t, true).await;
    assert_eq!(
        v.repair_line().as_deref(),
        Some("repaired: made again 3, deleted 1 (of which duplicates 1), written again 0; not repaired 0")
    );
    assert!(v.clean(), "{v:?}");
    assert_eq!(dav("GET", &copy).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    keys.sort();
    assert_eq!(uids_in(&calendar).await, keys, "each entry once");
    for (i, id) in exports.iter().enumerate() {
        let e = export(&t, &alice, *id).await;
        assert_eq!(e["state"], "synced", "{e}");
        let r = dav("GET", e["remote_id"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{e}");
        assert!(r.text().await.unwrap().contains(&format!("Case {}", i + 1)));
    }
    let again = check(&t, false).await;
    assert_eq!((again.found(), again.clean()), (0, true), "{again:?}");

    // A title changed on the server: different, on the administrator's page.
    let fifth = export(&t, &alice, exports[4]).await;
    let at = fifth["remote_id"].as_str().unwrap().to_owned();
    let ics = dav("GET", &at).send().await.unwrap().text().await.unwrap();
    let summary = ics.lines().find(|l| l.starts_with("SUMMARY:")).unwrap().trim_end().to_owned();
    let changed = ics.replace(&summary, "SUMMARY:Renamed by hand");
    let r = dav("PUT", &at).header("Content-Type", "text/calendar").body(changed).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // Administrators only.
    let alice_cookie = crate::matrix::session(&t, USER).await;
    let alice_csrf = crate::signin::page_csrf(&page(&t, &alice_cookie, "/tasks").await.1);
    let (s, refused) = submit(&t, &alice_cookie, &alice_csrf, "/admin/users/alice/verify").await;
    assert_eq!(s, 403, "{refused}");
    let (s, _) = submit(&t, &alice_cookie, &alice_csrf, "/admin/users/alice/verify/repair").await;
    assert_eq!(s, 403);
    let root = crate::matrix::session(&t, "root").await;
    let (s, admin_page) = page(&t, &root, "/admin").await;
    assert_eq!(s, 200);
    assert!(admin_page.contains("action=\"/admin/users/alice/verify\""), "a form per user");
    let csrf = crate::signin::page_csrf(&admin_page);
    // A form without the CSRF token is refused.
    let (s, _) = submit(&t, &root, "0123456789abcdef0123456789abcdef", "/admin/users/alice/verify").await;
    assert_eq!(s, 403);
    let (s, found) = submit(&t, &root, &csrf, "/admin/users/alice/verify").await;
    assert_eq!(s, 200, "{found}");
    assert!(
        found.contains(
            "5 entries checked: missing 0, extra 0 (of which duplicates 0), different 1, deleted in the calendar \
             (respected) 0"
        ),
        "{found}"
    );
    assert!(found.contains("title &quot;Renamed by hand&quot; where flowcal writes"), "{found}");
    assert!(found.contains("action=\"/admin/users/alice/verify/repair\""), "a Repair button: {found}");
    assert!(dav("GET", &at).send().await.unwrap().text().await.unwrap().contains("Renamed by hand"), "not repaired");
    let (s, repaired) = submit(&t, &root, &csrf, "/admin/users/alice/verify/repair").await;
    assert_eq!(s, 200, "{repaired}");
    assert!(
        repaired.contains("repaired: made again 0, deleted 0 (of which duplicates 0), written again 1; not repaired 0"),
        "{repaired}"
    );
    let ics = dav("GET", &at).send().await.unwrap().text().await.unwrap();
    assert!(ics.contains(&summary) && !ics.contains("Renamed by hand"), "{ics}");
    assert!(check(&t, false).await.clean());

    // Deleted on the server and respected by the calendar's read: counted, never made again.
    assert!(dav("DELETE", &at).send().await.unwrap().status().is_success());
    {
        use flowcal_server::clock::Clock as _;
        t.clock.set(t.clock.now() + jiff::SignedDuration::from_secs(60));
        t.app.calendar_sync.wake_account(acc).await.unwrap();
        let read = t.app.calendar_sync.read_due().await.unwrap();
        assert_eq!((read.failed, read.deleted), (0, 1), "{read:?}");
    }
    assert_eq!(export(&t, &alice, exports[4]).await["state"], "removed_in_calendar");
    let v = check(&t, true).await;
    assert_eq!(
        v.line(),
        "4 entries checked: missing 0, extra 0 (of which duplicates 0), different 0, deleted in the calendar \
         (respected) 1"
    );
    assert!(v.clean(), "{v:?}");
    assert_eq!(dav("GET", &at).send().await.unwrap().status(), StatusCode::NOT_FOUND, "not made again");

    // A calendar that cannot be read: nothing found there means nothing.
    radicale.stop();
    let v = check(&t, false).await;
    assert_eq!((v.found(), v.incomplete, v.clean()), (0, true, false), "{v:?}");
    let notes = v.notes.join("\n");
    assert!(notes.contains("its calendar could not be listed"), "{notes}");
    assert!(notes.contains("reading its calendar failed"), "{notes}");
}

/// `flowcal export verify --user alice`, run as the built binary against a
/// database prepared the same way: exit status 1 with the findings listed
/// and counted and a progress bar; with `--repair` 0; then 0 with nothing found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn export_verify_exits_1_with_findings_and_0_once_repaired() {
    use flowcal_server::clock::SystemClock;
    let Some(radicale) = Radicale::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config_text = format!(
        "data_dir = \"{}\"\ntime_zone = \"Europe/Berlin\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = \
         [\"127.0.0.1:{}\"]\n[delivery]\nworkers = 0\nlease_seconds = 30\n",
        dir.path().join("data").display(),
        radicale.port
    );
    let config_file = dir.path().join("flowcal.toml");
    std::fs::write(&config_file, &config_text).unwrap();
    let config = flowcal_server::config::Config::from_parts(&config_text, "test", &[]).unwrap();
    let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
    let user = app.access.add_user(USER, false, &[], Some("password-123")).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let (acc, _) = app.access.connect_caldav(&p, &format!("{}/", root(&radicale)), USER, PASSWORD).await.unwrap();
    let acc = app.access.choose_calendar(&p, acc.id, "own").await.unwrap();
    let calendar = acc.calendar.clone().unwrap();
    app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
    for i in 1..=5 {
        app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
    }
    // Auto-sync on: five entries, delivered.
    app.exports.set_auto_sync(&p, Some((acc.id, None, false))).await.unwrap();
    while app.exports.deliver_due().await.unwrap() > 0 {}
    let mut urls: Vec<String> = app
        .store
        .exports_of(p.user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.state, flowcal_domain::export::ExportState::Synced, "{e:?}");
            e.remote_id.unwrap()
        })
        .collect();
    assert_eq!(urls.len(), 5);
    urls.sort();
    for url in &urls[..3] {
        assert!(dav("DELETE", url).send().await.unwrap().status().is_success());
    }
    copy_entry(&radicale, &urls[3], "flowcal", "copied.ics").await;

    let (code, said, err) = run_verify(&config_file, &[]).await;
    assert_eq!(code, Some(1), "{said} {err}");
    assert!(
        said.contains(
            "6 entries checked: missing 3, extra 1 (of which duplicates 1), different 0, deleted in the calendar \
             (respected) 0"
        ),
        "{said}"
    );
    let kinds: Vec<&str> = said.lines().filter_map(|l| l.split('\t').next().filter(|_| l.contains('\t'))).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "missing").count(), 3, "{said}");
    assert_eq!(kinds.iter().filter(|k| **k == "duplicate").count(), 1, "{said}");
    assert!(said.contains(&format!("{calendar}copied.ics")), "the duplicate's place: {said}");
    assert!(
        said.lines().any(|l| l.starts_with("missing\ttask:") && l.contains("\t\"Check — Case ")),
        "kind, source, title: {said}"
    );
    assert!(err.contains("] 5/5"), "a progress bar: {err}");
    assert!(err.contains("4 findings in the calendars of alice; --repair repairs them"), "{err}");

    let (code, said, err) = run_verify(&config_file, &["--repair"]).await;
    assert_eq!(code, Some(0), "{said} {err}");
    assert!(
        said.contains("repaired: made again 3, deleted 1 (of which duplicates 1), written again 0; not repaired 0"),
        "{said}"
    );
    let (code, said, err) = run_verify(&config_file, &[]).await;
    assert_eq!(code, Some(0), "{said} {err}");
    assert!(said.contains("5 entries checked: missing 0, extra 0 (of which duplicates 0), different 0"), "{said}");
    assert_eq!(events_in(&calendar).await, 5, "each entry once");
}

/// `flowcal export verify --user alice ARGS` with the configuration file
/// `config`: its exit status, standard output and standard error.
async fn run_verify(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcal"));
    cmd.args(["export", "verify", "--user", USER])
        .args(args)
        .env("FLOWCAL_CONFIG", config)
        .env_remove("FLOWCAL_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = Peer::spawn(&mut cmd).unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}
