//! Hostile clients and hostile data: slow and silent connections, the
//! connection cap, floods of data keys, file modes, dates that calendars
//! cannot show, and what the OpenAPI document says the server answers.

use crate::access::Radicale;
use crate::support::{Peer, TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value as Json};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something that must happen; a bound against
/// hanging, never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut got)).await.expect("the server never closed the connection").ok();
    got
}

fn addr(t: &TestApp) -> String {
    t.base.trim_start_matches("http://").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_disconnected() {
    let t =
        TestApp::spawn_with(TestDb::sqlite(), "[http]\nheader_read_timeout_seconds = 1\nrequest_timeout_seconds = 2\n")
            .await;
    let token = t.user("alice", true, &[]).await;

    // A client that connects and sends nothing is let go.
    let mut silent = TcpStream::connect(addr(&t)).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());

    // A client that trickles its headers (slowloris) is let go too.
    let mut trickle = TcpStream::connect(addr(&t)).await.unwrap();
    trickle.write_all(b"GET /healthz HTTP/1.1\r\nHost: flowcal\r\n").await.unwrap();
    let mut closed = false;
    for i in 0..150 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if trickle.write_all(format!("X-Slow-{i}: a\r\n").as_bytes()).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), trickle.read(&mut buf)).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client sending a header line every 200 ms for 30 s was never disconnected");

    // A kept-alive connection that goes quiet after an answer is closed.
    let mut idle = TcpStream::connect(addr(&t)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: flowcal\r\n\r\n").await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut idle).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A body that trickles in is answered 408 once the request's time is up.
    let mut slow_body = TcpStream::connect(addr(&t)).await.unwrap();
    slow_body
        .write_all(
            format!(
                "POST /api/v1/instances HTTP/1.1\r\nHost: flowcal\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\": "
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow_body.write_all(b" ").await.is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            match tokio::time::timeout(Duration::from_millis(1), slow_body.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => return String::from_utf8_lossy(&buf[..n]).into_owned(),
                Ok(_) => return String::new(),
                Err(_) => {}
            }
        }
        String::new()
    });
    let answer = tokio::time::timeout(PATIENCE + PATIENCE, writer).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // Through all of it the server answered others.
    let (s, _) = t.get("/api/v1/me", &token).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let t =
        TestApp::spawn_with(TestDb::sqlite(), "[http]\nmax_connections = 2\nheader_read_timeout_seconds = 60\n").await;
    // Two clients hold both slots with unfinished requests.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr(&t)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: flowcal\r\n").await.unwrap();
        held.push(s);
    }
    // The third is accepted by the kernel but not served while they hold them.
    let third = tokio::spawn({
        let a = addr(&t);
        async move {
            let mut s = TcpStream::connect(a).await.unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: flowcal\r\nConnection: close\r\n\r\n").await.unwrap();
            read_to_close(&mut s).await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "a third connection was served while the cap of two was taken");
    // One held request ends: its slot goes to the third.
    let mut first = held.remove(0);
    first.write_all(b"Connection: close\r\n\r\n").await.unwrap();
    assert!(String::from_utf8_lossy(&read_to_close(&mut first).await).starts_with("HTTP/1.1 200"));
    let answer = tokio::time::timeout(PATIENCE, third).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

/// `flowcal serve` as its own process (so its memory is its own).
struct Served {
    child: Peer,
    base: String,
    _dir: tempfile::TempDir,
}

fn flowcal(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcal"));
    cmd.args(args).current_dir(dir).env("FLOWCAL_DATA_DIR", dir.join("data")).env("FLOWCAL_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FLOWCAL_")) {
        if k != "FLOWCAL_DATA_DIR" && k != "FLOWCAL_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

async fn serve_process(dir: tempfile::TempDir) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcal"));
    cmd.arg("serve")
        .current_dir(dir.path())
        .env("FLOWCAL_DATA_DIR", dir.path().join("data"))
        .env("FLOWCAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("FLOWCAL_LOG", "warn")
        .env_remove("FLOWCAL_DATABASE_URL")
        .env_remove("FLOWCAL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let served = Served { child: Peer::spawn(&mut cmd).unwrap(), base: format!("http://127.0.0.1:{port}"), _dir: dir };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{}/healthz", served.base)).send().await.is_ok_and(|r| r.status() == 200) {
            return served;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("flowcal serve did not come up");
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_data_keys_gets_a_short_answer_and_memory_returns() {
    let dir = tempfile::tempdir().unwrap();
    assert!(flowcal(dir.path(), &["demo"]).status.success());
    let out = flowcal(dir.path(), &["token", "create", "alice"]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let served = serve_process(dir).await;
    let client = reqwest::Client::new();
    let data: serde_json::Map<String, Json> = (0..150_000).map(|i| (format!("k{i:06}"), json!(1))).collect();
    let body = serde_json::to_vec(&json!({"model": "leave", "title": "flood", "data": data})).unwrap();
    assert!(body.len() < 2 * 1024 * 1024, "{}", body.len());

    let send = || {
        client
            .post(format!("{}/api/v1/instances", served.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    // Once to warm up allocations that stay (the model cache, pools), then measured.
    let first = send().await.unwrap();
    assert_eq!(first.status(), 422);
    let before = rss_kib(served.child.id());
    for _ in 0..5 {
        let resp = send().await.unwrap();
        assert_eq!(resp.status(), 422);
        let text = resp.text().await.unwrap();
        assert!(text.len() < 8 * 1024, "the answer is {} bytes", text.len());
        let e: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(e["error"]["fields"].as_array().unwrap().len(), 20, "{e}");
        assert_eq!(e["error"]["unlisted"], 149_980, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().ends_with("and 149980 more problems, not listed"), "{e}");
    }
    let after = rss_kib(served.child.id());
    assert!(after < before + 150 * 1024, "resident memory grew from {before} KiB to {after} KiB");
    // And the server still works.
    let r = client.get(format!("{}/api/v1/me", served.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[cfg(unix)]
#[test]
fn the_data_folder_database_and_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    assert!(flowcal(dir.path(), &["demo"]).status.success());
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("secret.key")), 0o600);
    let mut seen = 0;
    for name in ["flowcal.db", "flowcal.db-wal", "flowcal.db-shm"] {
        if data.join(name).exists() {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
            seen += 1;
        }
    }
    assert!(seen >= 1);
    // A database left readable by others (by an older version, or a copy) is made private.
    std::fs::set_permissions(data.join("flowcal.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(flowcal(dir.path(), &["user", "list"]).status.success());
    assert_eq!(mode(&data.join("flowcal.db")), 0o600);
}

/// A model whose deadline is 1,900 years before a date item.
const ANCIENT_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="d" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="ancient" name="Ancient" isExecutable="true">
    <bpmn:extensionElements>
      <flowcal:dataItem key="day" label="Day" type="date"/>
      <flowcal:dataItem key="at" label="At" type="datetime"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Look back" flowcal:assignee="starter" flowcal:deadlineFrom="day" flowcal:deadlineOffset="-P1900Y"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn dates_calendars_cannot_show_are_refused(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let Some(radicale) = Radicale::start().await else { return };
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    assert_eq!(t.upload(&admin, ANCIENT_MODEL).await.0, 201);

    // At the door: a year 0000, a date past 2999, an offset of +25:00.
    for (key, bad) in [("at", "0000-01-01T01:00:00Z"), ("day", "3000-01-01"), ("at", "2026-03-28T09:00:00+25:00")] {
        let (s, e) =
            t.post("/api/v1/instances", &alice, json!({"model": "ancient", "title": "x", "data": {key: bad}})).await;
        assert_eq!(s, 422, "{bad}: {e}");
        assert_eq!(e["error"]["fields"][0]["key"], key, "{e}");
        assert!(e["error"]["fields"][0]["message"].as_str().unwrap().contains(bad), "{e}");
    }

    // A deadline computed into year 0 (1900-01-01 minus 1,900 years) is never written.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let port = radicale.port;
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
    let connect =
        json!({"url": format!("http://127.0.0.1:{port}/"), "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let (s, inst) = t
        .post("/api/v1/instances", &alice, json!({"model": "ancient", "title": "Roots", "data": {"day": "1900-01-01"}}))
        .await;
    assert_eq!(s, 201, "{inst}");
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = &tasks["tasks"][0];
    assert_eq!(task["deadline"], json!({"date": "0000-01-01"}));
    let (s, e) = t
        .post("/api/v1/exports", &alice, json!({"task": task["id"], "source": "deadline", "account": acc["id"]}))
        .await;
    assert_eq!(s, 422, "the button refuses it at once: {e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("years 1 to 9999"), "{e}");
    // Auto-sync takes the same path through delivery: the entry fails with the reason.
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            &alice,
            Some(json!({"auto_sync": {"account": acc["id"], "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200);
    t.app.exports.deliver_due().await.unwrap();
    let (_, list) = t.get("/api/v1/exports", &alice).await;
    let exports = list["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 1, "{list}");
    assert_eq!(exports[0]["state"], "failed", "{list}");
    assert!(exports[0]["last_error"].as_str().unwrap().contains("years 1 to 9999"), "{list}");
    // Nothing reached the calendar server.
    let acc = t.app.store.account(acc["id"].as_i64().unwrap()).await.unwrap().unwrap();
    if let Some(calendar) = acc.calendar {
        assert_eq!(crate::access::events_in(&calendar).await, 0);
    }
    // The feed leaves it out, and stays valid.
    let (s, feed) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201, "{feed}");
    let text = reqwest::get(feed["url"].as_str().unwrap()).await.unwrap().text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR") && !text.contains("BEGIN:VEVENT"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn dates_calendars_cannot_show_are_refused_sqlite() {
    dates_calendars_cannot_show_are_refused(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(all(flowcal_postgres, not(flowcal_peers)), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
#[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
async fn dates_calendars_cannot_show_are_refused_postgres() {
    dates_calendars_cannot_show_are_refused(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_answers_the_server_gives() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let token = t.user("alice", true, &[]).await;
    let (s, doc) = t.get("/api/v1/openapi.json", &token).await;
    assert_eq!(s, 200);
    let start = &doc["paths"]["/api/v1/instances"]["post"];
    for status in ["400", "401", "413", "415", "422"] {
        assert!(start["responses"][status].is_object(), "POST /api/v1/instances lacks {status}");
    }
    let show = &doc["paths"]["/api/v1/tasks/{id}"]["get"];
    assert!(show["responses"]["400"].is_object() && show["responses"]["415"].is_null());
    // The server gives those answers.
    let url = format!("{}/api/v1/instances", t.base);
    let c = reqwest::Client::new();
    let r = c.post(&url).bearer_auth(&token).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c.post(&url).bearer_auth(&token).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415);
    let r = c.get(format!("{}/api/v1/tasks/x", t.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Completing a task without a body is documented as allowed.
    let complete = &doc["paths"]["/api/v1/tasks/{id}/complete"]["post"];
    assert_ne!(complete["requestBody"]["required"], true, "{complete}");
    // A disabled account's token is refused with 403 by every operation,
    // reads too, and the document says so for each.
    let bob = t.user("bob", false, &[]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/admin/users/bob", &token, Some(json!({"disabled": true}))).await;
    assert_eq!(s, 200);
    for path in ["/api/v1/instances", "/api/v1/tasks", "/api/v1/me"] {
        let (s, e) = t.get(path, &bob).await;
        assert_eq!(s, 403, "{path}: {e}");
        assert!(doc["paths"][path]["get"]["responses"]["403"].is_object(), "GET {path} lacks 403");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if path != "/api/v1/openapi.json" && ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                assert!(op["responses"]["403"].is_object(), "{method} {path} lacks 403");
            }
        }
    }
}
