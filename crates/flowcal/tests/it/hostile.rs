//! Hostile input: a BPMN upload nested 5,000 levels deep, attribute bombs,
//! and a CalDAV server of the test's own that answers with deep nesting,
//! attribute bombs, huge, endless and slow bodies, redirects to private
//! addresses and hrefs to other hosts; and a Google or Microsoft API base URL
//! whose answers never end. flowcal stays up, answers /healthz within a
//! second throughout, and says plainly why each attempt failed. Reads of
//! changes answered so fail alone.

use crate::support::{leave_model, LeaveCase, TestApp, TestDb};
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PASSWORD: &str = "app-password-1";
const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

// ---- /healthz, polled throughout ------------------------------------------------------------

/// Polls `GET /healthz` with a 1-second client timeout until stopped.
struct Health {
    stop: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
    task: JoinHandle<Vec<String>>,
}

impl Health {
    fn start(t: &TestApp) -> Health {
        let stop = Arc::new(AtomicBool::new(false));
        let polls = Arc::new(AtomicUsize::new(0));
        let url = format!("{}/healthz", t.base);
        let (stopped, count) = (stop.clone(), polls.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
            let mut failures = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                let poll = count.fetch_add(1, Ordering::SeqCst) + 1;
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.push(format!("poll {poll}: {}", r.status())),
                    Err(e) => failures.push(format!("poll {poll}: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            failures
        });
        Health { stop, polls, task }
    }

    /// After two more polls, stops; every poll must have been answered 200 within a second.
    async fn check(self) {
        let target = self.polls.load(Ordering::SeqCst) + 2;
        for _ in 0..100 {
            if self.polls.load(Ordering::SeqCst) > target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.stop.store(true, Ordering::SeqCst);
        let failures = self.task.await.unwrap();
        let polls = self.polls.load(Ordering::SeqCst);
        assert!(polls > target, "/healthz was polled {polls} times");
        assert!(failures.is_empty(), "/healthz failed {} of {polls} times: {failures:?}", failures.len());
    }
}

// ---- the hostile CalDAV server ----------------------------------------------------------------

fn nested(levels: usize) -> String {
    format!("{}{}", "<x>".repeat(levels), "</x>".repeat(levels))
}

fn multistatus(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\" \
         xmlns:C=\"urn:ietf:params:xml:ns:caldav\">{inner}</D:multistatus>"
    )
}

fn props(href: &str, props: &str) -> String {
    multistatus(&format!(
        "<D:response><D:href>{href}</D:href><D:propstat><D:prop>{props}</D:prop>\
         <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    ))
}

/// What PUTs are answered with.
const PUT_DEEP_ERROR: usize = 0;
const PUT_ENDLESS_ERROR: usize = 1;
const PUT_ACCEPT: usize = 2;
/// PUTs are held without an answer; the first one turns the mode to `PUT_HELD`.
const PUT_HOLD: usize = 3;
const PUT_HELD: usize = 4;
/// PUTs are accepted, and the read of changes (sync-collection REPORT) is
/// answered nested 6,000 levels deep, with a body that never ends, or with
/// more than flowcal reads of one answer.
const REPORT_DEEP: usize = 10;
const REPORT_ENDLESS: usize = 11;
const REPORT_HUGE: usize = 12;

struct Hostile {
    port: u16,
    /// One of the `PUT_*` answers.
    put: Arc<AtomicUsize>,
    /// Requests received.
    requests: Arc<AtomicUsize>,
}

/// Where the hostile server sends flowcal on to.
#[derive(Clone, Copy, Default)]
struct Elsewhere {
    /// Another server's port on 127.0.0.1 (allowed by the administrator too).
    other_port: u16,
    /// A listener on 127.0.0.2, a loopback address nobody allowed.
    trap_port: u16,
}

impl Hostile {
    async fn start(elsewhere: Elsewhere) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let put = Arc::new(AtomicUsize::new(PUT_DEEP_ERROR));
        let requests = Arc::new(AtomicUsize::new(0));
        let (put_mode, counter) = (put.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (put_mode, counter) = (put_mode.clone(), counter.clone());
                tokio::spawn(async move {
                    let Some((method, path, body)) = read_request(&mut stream).await else { return };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let mut mode = put_mode.load(Ordering::SeqCst);
                    if method == "PUT" && mode == PUT_HOLD {
                        mode = PUT_HELD;
                        put_mode.store(PUT_HELD, Ordering::SeqCst);
                    }
                    let _ = answer(&mut stream, &method, &path, &body, elsewhere, mode).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Hostile { port, put, requests }
    }
}

/// A listener that only counts connections.
async fn trap() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, accepted)
}

async fn read_request(stream: &mut TcpStream) -> Option<(String, String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut start = head.split("\r\n").next()?.split(' ');
    let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
    let length: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length.min(1024 * 1024) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

async fn send(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes()).await
}

/// A chunked body that never ends (until flowcal hangs up, or 64 MiB).
async fn endless(stream: &mut TcpStream, status: &str, piece: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let piece = piece.repeat(64 * 1024 / piece.len());
    let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
    for _ in 0..(64 * 1024 * 1024 / chunk.len()) {
        stream.write_all(chunk.as_bytes()).await?;
    }
    Ok(())
}

/// A body that trickles in, a byte every quarter second (for at most two minutes).
async fn slow(stream: &mut TcpStream) -> std::io::Result<()> {
    let head = "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await?;
    for _ in 0..480 {
        stream.write_all(b" ").await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

async fn answer(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    body: &str,
    elsewhere: Elsewhere,
    put: usize,
) -> std::io::Result<()> {
    const XML: (&str, &str) = ("Content-Type", "application/xml; charset=utf-8");
    match (method, path) {
        ("PROPFIND", "/deep/") => send(stream, "207 Multi-Status", &[XML], &multistatus(&nested(6_000))).await,
        ("PROPFIND", "/attrs/") => {
            // About 800 KB, below the probe's 1 MiB limit: only the attribute count stops it.
            let bomb: String = (0..80_000).map(|i| format!(" a{i}=\"\"")).collect();
            send(stream, "207 Multi-Status", &[XML], &multistatus(&format!("<D:response{bomb}/>"))).await
        }
        ("PROPFIND", "/huge/") => {
            let huge = multistatus(&" ".repeat(5 * 1024 * 1024));
            send(stream, "207 Multi-Status", &[XML], &huge).await
        }
        ("PROPFIND", "/endless/") => endless(stream, "207 Multi-Status", "<D:response/>").await,
        ("PROPFIND", "/slow/") => slow(stream).await,
        ("PROPFIND", "/metadata/") => {
            let to = "http://169.254.169.254/latest/meta-data/";
            send(stream, "307 Temporary Redirect", &[("Location", to)], "").await
        }
        ("PROPFIND", "/private/") => {
            send(stream, "307 Temporary Redirect", &[("Location", "http://10.0.0.1/")], "").await
        }
        ("PROPFIND", "/loopback/") => {
            let to = format!("http://127.0.0.2:{}/", elsewhere.trap_port);
            send(stream, "307 Temporary Redirect", &[("Location", &to)], "").await
        }
        ("PROPFIND", "/elsewhere/") => {
            let href = format!("http://127.0.0.1:{}/alice/", elsewhere.other_port);
            let principal = format!("<D:current-user-principal><D:href>{href}</D:href></D:current-user-principal>");
            send(stream, "207 Multi-Status", &[XML], &props("/elsewhere/", &principal)).await
        }
        // A well-behaved account: principal and calendar home at /good/, flowcal's calendar below it.
        ("PROPFIND", "/good/") if body.contains("calendar-home-set") => {
            let home = "<C:calendar-home-set><D:href>/good/</D:href></C:calendar-home-set>";
            send(stream, "207 Multi-Status", &[XML], &props("/good/", home)).await
        }
        ("PROPFIND", "/good/") => {
            let principal = "<D:current-user-principal><D:href>/good/</D:href></D:current-user-principal>";
            send(stream, "207 Multi-Status", &[XML], &props("/good/", principal)).await
        }
        ("PROPFIND", "/good/flowcal/") => {
            let calendar = "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>\
                <D:displayname>flowcal</D:displayname>\
                <C:supported-calendar-component-set><C:comp name=\"VEVENT\"/></C:supported-calendar-component-set>";
            send(stream, "207 Multi-Status", &[XML], &props("/good/flowcal/", calendar)).await
        }
        ("PUT", p) if p.starts_with("/good/flowcal/") => match put {
            PUT_DEEP_ERROR => {
                let error = format!("<D:error xmlns:D=\"DAV:\">{}</D:error>", nested(6_000));
                send(stream, "500 Internal Server Error", &[XML], &error).await
            }
            PUT_ENDLESS_ERROR => endless(stream, "503 Service Unavailable", "overloaded ").await,
            PUT_HELD => {
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok(())
            }
            _ => send(stream, "201 Created", &[("ETag", "\"1\"")], "").await,
        },
        ("REPORT", "/good/flowcal/") => match put {
            REPORT_DEEP => send(stream, "207 Multi-Status", &[XML], &multistatus(&nested(6_000))).await,
            REPORT_ENDLESS => endless(stream, "207 Multi-Status", "<D:response><D:href>x</D:href></D:response>").await,
            REPORT_HUGE => send(stream, "207 Multi-Status", &[XML], &multistatus(&" ".repeat(40 * 1024 * 1024))).await,
            _ => send(stream, "207 Multi-Status", &[XML], &multistatus("<D:sync-token>t1</D:sync-token>")).await,
        },
        // A calendar API (Google's or Graph's base URL) whose answers never end.
        ("GET" | "POST", p) if p.starts_with("/api/") => endless(stream, "200 OK", "{\"items\": [").await,
        _ => send(stream, "404 Not Found", &[], "").await,
    }
}

// ---- the tests ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_level_model_and_attribute_bombs_are_refused_and_flowcal_stays_up() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let admin = t.user("root", true, &[]).await;
    let health = Health::start(&t);

    // 35 KB, 5,000 levels: it aborted the process.
    let deep = format!(
        "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"{BPMN_NS}\">\n{}</bpmn:definitions>",
        nested(5_000)
    );
    let (s, e) = t.upload(&admin, &deep).await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("invalid_model")), "{e}");
    // The definitions are level 1: the 256th <x> is the 257th level.
    assert_eq!((e["error"]["line"].as_u64(), e["error"]["column"].as_u64()), (Some(3), Some(1 + 3 * 255)), "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("elements are nested more than 256 levels deep here"), "{message}");

    // Two 1.5 MB models with 150,000 attributes on one element, at once: minutes of CPU before.
    let attrs: String = (0..150_000).map(|i| format!(" a{i}=\"\"")).collect();
    let bomb = format!("<bpmn:definitions xmlns:bpmn=\"{BPMN_NS}\">\n<bpmn:process{attrs}/></bpmn:definitions>");
    let (a, b) = tokio::join!(t.upload(&admin, &bomb), t.upload(&admin, &bomb));
    for (s, e) in [a, b] {
        assert_eq!((s, e["error"]["code"].as_str()), (422, Some("invalid_model")), "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("this element has more than 256 attributes;"), "{message}");
    }

    // Still running, and real models still go in.
    let (s, m) = t.upload(&admin, leave_model()).await;
    assert_eq!(s, 201, "{m}");
    health.check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_caldav_server_is_refused_at_connect_time_with_a_plain_reason() {
    let other = Hostile::start(Elsewhere::default()).await;
    let (trap_port, trapped) = trap().await;
    let server = Hostile::start(Elsewhere { other_port: other.port, trap_port }).await;
    let port = server.port;
    // The administrator allows both servers: only the rules about credentials keep the other one out.
    let config = format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\", \"127.0.0.1:{}\"]\n", other.port);
    let t = Arc::new(TestApp::spawn_with(TestDb::sqlite(), &config).await);
    let alice = t.user("alice", false, &[]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let health = Health::start(&t);

    let not_caldav =
        |path: &str, why: &str| format!("http://127.0.0.1:{port}{path} does not look like a CalDAV server: {why}");
    let cases: Vec<(&str, u16, String)> = vec![
        (
            "/deep/",
            422,
            not_caldav(
                "/deep/",
                "its answer is not XML that flowcal reads: elements are nested deeper than the limit of 256 levels",
            ),
        ),
        (
            "/attrs/",
            422,
            not_caldav(
                "/attrs/",
                "its answer is not XML that flowcal reads: an element has more attributes than the limit of 256",
            ),
        ),
        (
            "/attrs/",
            422,
            not_caldav(
                "/attrs/",
                "its answer is not XML that flowcal reads: an element has more attributes than the limit of 256",
            ),
        ),
        ("/huge/", 422, not_caldav("/huge/", "its answer to PROPFIND is larger than 1 MiB")),
        ("/endless/", 422, not_caldav("/endless/", "its answer to PROPFIND is larger than 1 MiB")),
        ("/slow/", 503, "127.0.0.1 did not answer in time".to_owned()),
        ("/metadata/", 403, "169.254.169.254 is a cloud metadata address; the administrator must allow it".to_owned()),
        ("/private/", 403, "10.0.0.1 is a private address; the administrator must allow it".to_owned()),
        ("/loopback/", 403, format!("127.0.0.2:{trap_port} is a loopback address; the administrator must allow it")),
        (
            "/elsewhere/",
            422,
            format!(
                "the CalDAV server sent flowcal on to http://127.0.0.1:{}/alice/; flowcal sends the app password only \
                 to the host you entered, so enter http://127.0.0.1:{}/alice/ as the CalDAV URL instead",
                other.port, other.port
            ),
        ),
    ];
    // All at once, as a crowd of users might.
    let attempts: Vec<_> = cases
        .into_iter()
        .map(|(path, status, reason)| {
            let (t, alice) = (t.clone(), alice.clone());
            tokio::spawn(async move {
                let connect =
                    json!({"url": format!("http://127.0.0.1:{port}{path}"), "username": "alice", "password": PASSWORD});
                let (s, e) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
                (path, status, reason, s, e)
            })
        })
        .collect();
    for attempt in attempts {
        let (path, status, reason, s, e) = attempt.await.unwrap();
        assert_eq!((s, e["error"]["message"].as_str()), (status, Some(reason.as_str())), "{path}: {e}");
        assert!(!e.to_string().contains(PASSWORD), "{e}");
    }
    assert_eq!(other.requests.load(Ordering::SeqCst), 0, "the password never went to the other server");
    assert_eq!(trapped.load(Ordering::SeqCst), 0, "no connection to an address nobody allowed");

    // The same server, well-behaved: the account connects.
    let connect = json!({"url": format!("http://127.0.0.1:{port}/good/"), "username": "alice", "password": PASSWORD});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    health.check().await;
}

crate::on_both_backends!(a_hostile_error_body_fails_a_delivery_and_the_worker_goes_on);

async fn a_hostile_error_body_fails_a_delivery_and_the_worker_goes_on(db: TestDb) {
    let server = Hostile::start(Elsewhere::default()).await;
    let port = server.port;
    let config = format!(
        "[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n[delivery]\nworkers = 1\nattempts = 5\nbackoff_seconds = 10\n\
         [calendar_sync]\ninterval_seconds = 0\n"
    );
    let t = TestApp::spawn_with(db, &config).await;
    let LeaveCase { alice, account, task, .. } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/good/"), PASSWORD).await;
    let health = Health::start(&t);

    let (s, e) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    let export_after = |attempts: i64| {
        let (t, alice) = (&t, alice.clone());
        async move {
            for _ in 0..600 {
                let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
                if e["attempts"].as_i64() >= Some(attempts) || e["state"] == "synced" {
                    return e;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("export {id} did not reach {attempts} attempts");
        }
    };

    // 6,000 levels in the error answer of a PUT: it aborted the process, and again after every restart.
    let e = export_after(1).await;
    assert_eq!(e["state"], "pending", "{e}");
    let event = format!("http://127.0.0.1:{port}/good/flowcal/");
    let last = e["last_error"].as_str().unwrap();
    assert!(last.starts_with(&format!("PUT http://127.0.0.1:{port}/good/flowcal/")), "{last}");
    assert!(last.contains(&event), "{last}");
    assert!(
        last.ends_with(
            "500 Internal Server Error: an explanation flowcal does not read (elements are nested deeper than the limit \
             of 256 levels)"
        ),
        "{last}"
    );

    // An error answer that never ends: its start is read, the rest dropped.
    server.put.store(PUT_ENDLESS_ERROR, Ordering::SeqCst);
    t.clock.set(t.app.now() + jiff::SignedDuration::from_secs(3600));
    let e = export_after(2).await;
    assert_eq!(e["state"], "pending", "{e}");
    let last = e["last_error"].as_str().unwrap();
    assert!(last.contains("503 Service Unavailable: overloaded overloaded"), "{last}");
    assert!(last.len() < 1000, "only the start is quoted: {last}");

    // The server behaves again: the same worker delivers.
    server.put.store(PUT_ACCEPT, Ordering::SeqCst);
    t.clock.set(t.app.now() + jiff::SignedDuration::from_secs(3600));
    let e = export_after(3).await;
    assert_eq!(e["state"], "synced", "{e}");
    health.check().await;
}

/// A `flowcal worker` process on the test application's database and key
/// file, allowed to reach the hostile server's port, with one more setting.
fn worker_process(
    t: &TestApp,
    port: u16,
    (key, value): (&str, &str),
    stderr: std::process::Stdio,
) -> crate::support::Peer {
    let config = &t.app.config;
    crate::support::Peer::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .arg("worker")
            .env("FLOWCAL_DATABASE_URL", &config.database_url)
            .env("FLOWCAL_SECRET_KEY_FILE", &config.secret_key_file)
            .env("FLOWCAL_DATA_DIR", &config.data_dir)
            .env("FLOWCAL_CALDAV__ALLOWED_HOSTS", format!("127.0.0.1:{port}"))
            // The hostile server keeps nothing: a read of changes would find every entry gone.
            .env("FLOWCAL_CALENDAR_SYNC__INTERVAL_SECONDS", "0")
            .env(key, value)
            .env_remove("FLOWCAL_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(stderr),
    )
    .unwrap()
}

crate::on_both_backends!(sigterm_hands_back_a_delivery_a_calendar_server_holds);

/// A `flowcal worker` whose calendar server holds a PUT without answering
/// still stops on SIGTERM within its grace period, and hands the export back
/// untouched: another process delivers it at once, not after the lease.
async fn sigterm_hands_back_a_delivery_a_calendar_server_holds(db: TestDb) {
    let server = Hostile::start(Elsewhere::default()).await;
    let port = server.port;
    let t = TestApp::spawn_with(db, &format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n")).await;
    let LeaveCase { alice, account, task, .. } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/good/"), PASSWORD).await;
    let (s, e) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    server.put.store(PUT_HOLD, Ordering::SeqCst);

    let mut worker = worker_process(&t, port, ("FLOWCAL_SHUTDOWN_GRACE_SECONDS", "2"), std::process::Stdio::piped());
    // The worker's PUT has reached the server, which holds it.
    for _ in 0..600 {
        if server.put.load(Ordering::SeqCst) == PUT_HELD {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.put.load(Ordering::SeqCst), PUT_HELD, "the worker never sent the entry");
    let (_, leased) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
    assert_eq!(leased["state"], "pending", "{leased}");

    let pid = worker.id().to_string();
    let term = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    // A bound for a worker that never stops, not a measure of how fast it does.
    let mut status = None;
    for _ in 0..1200 {
        if let Some(s) = worker.child().try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("flowcal worker did not stop after SIGTERM");
    let mut log = String::new();
    std::io::Read::read_to_string(worker.child().stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("handed back leased work"), "{log}");

    // Untouched: no attempt counted, no error, no lease left.
    let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
    assert_eq!(
        (e["state"].as_str(), e["attempts"].as_i64(), e["last_error"].is_null()),
        (Some("pending"), Some(0), true),
        "{e}"
    );
    // Another process takes it at once: its lease is not waited out.
    server.put.store(PUT_ACCEPT, Ordering::SeqCst);
    let report = t.app.delivery.deliver_due_report("another-process").await.unwrap();
    assert_eq!(report.len(), 1, "the export was still leased");
    let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
    assert_eq!(e["state"], "synced", "{e}");
}

crate::on_both_backends!(a_data_change_wakes_the_delivery_workers);

/// A change to a task's data reaches the calendar without waiting for the
/// workers' poll: the poll is set to an hour, and the changed entry must
/// arrive all the same, from a worker of the same process and (PostgreSQL,
/// through `LISTEN`/`NOTIFY`) from a `flowcal worker` of its own.
async fn a_data_change_wakes_the_delivery_workers(db: TestDb) {
    let postgres = db.url.starts_with("postgres");
    let server = Hostile::start(Elsewhere::default()).await;
    let port = server.port;
    server.put.store(PUT_ACCEPT, Ordering::SeqCst);
    let config = format!(
        "[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n[delivery]\nworkers = 1\npoll_seconds = 3600\n\
         [calendar_sync]\ninterval_seconds = 0\n"
    );
    let t = TestApp::spawn_with(db, &config).await;
    let LeaveCase { admin, alice, account, task } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/good/"), PASSWORD).await;
    let (_, shown) = t.get(&format!("/api/v1/tasks/{task}"), &alice).await;
    let instance = shown["instance"].as_i64().unwrap();
    let synced_version = |id: i64, after: i64| {
        let (t, alice) = (&t, alice.clone());
        async move {
            // A bound for an entry that never comes (the poll is an hour away).
            for _ in 0..1200 {
                let e = t.app.store.export(id).await.unwrap().unwrap();
                if e.state.as_str() == "synced" && e.version > after {
                    return e.version;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
            panic!("the changed entry did not reach the calendar: {e}");
        }
    };
    let change = |first_day: &'static str| {
        let (t, admin) = (&t, admin.clone());
        async move {
            let body = Some(json!({"data": {"first_day": first_day}}));
            let (s, i) = t.call(Method::PATCH, &format!("/api/v1/instances/{instance}/data"), &admin, body).await;
            assert_eq!(s, 200, "{i}");
        }
    };
    let (s, e) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "item:first_day", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    let v = synced_version(id, 0).await;

    // The same process's worker.
    change("2026-04-06").await;
    let v = synced_version(id, v).await;
    if !postgres {
        return;
    }

    // Another process's worker: this one's stop delivering.
    t.app.delivery.stop_taking_work();
    let _worker = worker_process(&t, port, ("FLOWCAL_DELIVERY__POLL_SECONDS", "3600"), std::process::Stdio::null());
    // Its first pass may find the first change; later ones only a
    // notification brings before the poll.
    let mut v = v;
    for day in ["2026-04-13", "2026-04-20", "2026-04-27"] {
        change(day).await;
        v = synced_version(id, v).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_answers_of_a_calendar_api_are_cut_off() {
    use flowcal_calendar::google::GoogleCalendar;
    use flowcal_calendar::graph::GraphCalendar;
    use flowcal_calendar::{api_client, CalendarChoice, Connector, ConnectorError, Credential, ANSWER_LIMIT};
    let hostile = Hostile::start(Elsewhere::default()).await;
    let base = format!("http://127.0.0.1:{}/api/", hostile.port);
    let token = || Credential::Bearer("token".into());
    let google = GoogleCalendar::new(api_client().unwrap(), &base, token()).unwrap();
    let graph = GraphCalendar::new(api_client().unwrap(), &base, token()).unwrap();
    let said = format!("its answer is larger than {} MiB", ANSWER_LIMIT >> 20);
    let own = CalendarChoice::Own { name: "flowcal".into() };
    for (who, answer) in [
        ("Google, the calendar list", google.list_calendars().await.map(|_| ())),
        ("Graph, the calendars", graph.list_calendars().await.map(|_| ())),
        ("Google, flowcal's calendar", google.ensure_calendar(&own).await.map(|_| ())),
    ] {
        match answer {
            Err(ConnectorError::RetryLater { message, .. }) => assert_eq!(message, said, "{who}"),
            other => panic!("{who}: {other:?}"),
        }
    }
}

crate::on_both_backends!(hostile_answers_to_a_read_of_changes_fail_that_read_alone);

/// A CalDAV server that answers the read of changes nested 6,000 levels
/// deep, with a body that never ends, or with 40 MiB: each read fails
/// bounded, the account says why (`last_error`), the entry flowcal knows
/// stays as it was (not taken for deleted), delivery goes on, and /healthz
/// answers throughout.
async fn hostile_answers_to_a_read_of_changes_fail_that_read_alone(db: TestDb) {
    let server = Hostile::start(Elsewhere::default()).await;
    let port = server.port;
    let t = TestApp::spawn_with(db, &format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n")).await;
    let LeaveCase { alice, account, task, .. } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/good/"), PASSWORD).await;
    server.put.store(PUT_ACCEPT, Ordering::SeqCst);
    let (s, e) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    let health = Health::start(&t);
    for (mode, says) in [(REPORT_DEEP, "nested"), (REPORT_ENDLESS, "larger than"), (REPORT_HUGE, "larger than")] {
        server.put.store(mode, Ordering::SeqCst);
        t.app.calendar_sync.wake_account(account).await.unwrap();
        let s = t.app.calendar_sync.read_due().await.unwrap();
        assert_eq!((s.read, s.failed, s.deleted), (1, 1, 0), "{s:?}");
        let (_, a) = t.get(&format!("/api/v1/calendar-accounts/{account}"), &alice).await;
        let why = a["last_error"].as_str().unwrap_or_default();
        assert!(why.contains(says), "{mode}: {a}");
        assert_eq!(a["status"], "active", "{a}");
        let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
        assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
        // Delivery goes on meanwhile.
        assert_eq!(t.call(Method::DELETE, &format!("/api/v1/exports/{id}"), &alice, None).await.0, 202);
        while t.app.exports.deliver_due().await.unwrap() > 0 {}
        let (s, e) =
            t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
        assert_eq!(s, 202, "{e}");
        while t.app.exports.deliver_due().await.unwrap() > 0 {}
        let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
        assert_eq!(e["state"], "synced", "{e}");
    }
    // A well-behaved answer again: the read succeeds and the error is gone.
    server.put.store(PUT_ACCEPT, Ordering::SeqCst);
    t.app.calendar_sync.wake_account(account).await.unwrap();
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!((s.read, s.failed), (1, 0), "{s:?}");
    let (_, a) = t.get(&format!("/api/v1/calendar-accounts/{account}"), &alice).await;
    assert!(a["last_error"].is_null() && a["last_synced_at"].is_string(), "{a}");
    health.check().await;
}
