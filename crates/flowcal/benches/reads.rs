//! Benchmark (not a test): reading calendars for what people changed there.
//!
//! ACCOUNTS CalDAV accounts (1,000 by default) with ENTRIES entries each
//! (100), on a CalDAV double in a process of its own that keeps what it is
//! sent and answers RFC 6578 `sync-collection` as Radicale does (a token per
//! collection, the changes since it). Measured, with flowcal on SQLite:
//!
//! - the first read of every account (no token yet: each calendar listed);
//! - one idle read cycle of every account: requests at the double and
//!   flowcal's CPU time (this process; the double runs in another);
//! - from an edit on the server (an entry moved) to the proposal visible
//!   (`remote.state = moved`), with a push notification (`POST /push/…`
//!   with the channel's secret, as Google sends one) and without (the next
//!   read on the interval, `[calendar_sync] interval_seconds`).
//!
//! Run: `scripts/bench-reads [ACCOUNTS] [ENTRIES] [EDITS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use flowcal_store::{Channel, NewExport};
use serde_json::Map;
use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One task due on the instance's day (an all-day entry).
const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="d" targetNamespace="https://flowcal.dev/bench">
  <bpmn:process id="due" name="Due" isExecutable="true">
    <bpmn:extensionElements><flowcal:dataItem key="day" label="Day" type="date" required="true"/></bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Prepare" flowcal:assignee="starter" flowcal:deadlineFrom="day"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

// ---- the CalDAV double (its own process) --------------------------------------------------------

/// A calendar collection: entries by name (ETag, body) and its change log.
#[derive(Default)]
struct Collection {
    entries: BTreeMap<String, (u64, String)>,
    /// (sequence, name) of each change, in order.
    log: Vec<(u64, String)>,
}

#[derive(Default)]
struct Dav {
    collections: HashMap<String, Collection>,
    seq: u64,
    /// Requests by method (not counting `/__stats`).
    requests: BTreeMap<String, u64>,
}

type Shared = Arc<Mutex<Dav>>;

fn user_of(req: &Request) -> String {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, _)| u.to_owned()))
        .unwrap_or_default()
}

fn multistatus(inner: &str) -> Response {
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header("content-type", "application/xml; charset=utf-8")
        .body(Body::from(format!(
            "<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">{inner}</d:multistatus>"
        )))
        .unwrap()
}

async fn dav(State(s): State<Shared>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    if path == "/__stats" {
        let d = s.lock().unwrap();
        return Response::new(Body::from(serde_json::to_string(&d.requests).unwrap()));
    }
    let user = user_of(&req);
    if user.is_empty() {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("www-authenticate", "Basic realm=\"double\"")
            .body(Body::empty())
            .unwrap();
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut d = s.lock().unwrap();
    *d.requests.entry(method.clone()).or_insert(0) += 1;
    let (coll, name) = match path.rsplit_once('/') {
        Some((c, n)) => (format!("{c}/"), n.to_owned()),
        None => (path.clone(), String::new()),
    };
    match method.as_str() {
        // Discovery and the calendar: the user's home is their one calendar.
        "PROPFIND" => multistatus(&format!(
            "<d:response><d:href>{path}</d:href><d:propstat><d:prop>\
             <d:current-user-principal><d:href>/u/{user}/</d:href></d:current-user-principal>\
             <c:calendar-home-set><d:href>/u/{user}/</d:href></c:calendar-home-set>\
             <d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>flowcal</d:displayname>\
             <c:supported-calendar-component-set><c:comp name=\"VEVENT\"/></c:supported-calendar-component-set>\
             </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
        )),
        "PUT" => {
            d.seq += 1;
            let seq = d.seq;
            let c = d.collections.entry(coll).or_default();
            let created = c.entries.insert(name.clone(), (seq, body)).is_none();
            c.log.push((seq, name));
            Response::builder()
                .status(if created { StatusCode::CREATED } else { StatusCode::NO_CONTENT })
                .header("etag", format!("\"{seq}\""))
                .body(Body::empty())
                .unwrap()
        }
        "GET" => match d.collections.get(&coll).and_then(|c| c.entries.get(&name)) {
            Some((etag, ics)) => Response::builder()
                .status(StatusCode::OK)
                .header("etag", format!("\"{etag}\""))
                .header("content-type", "text/calendar")
                .body(Body::from(ics.clone()))
                .unwrap(),
            None => Response::builder().status(StatusCode::NOT_FOUND).body(Body::empty()).unwrap(),
        },
        "DELETE" => {
            d.seq += 1;
            let seq = d.seq;
            let c = d.collections.entry(coll).or_default();
            c.entries.remove(&name);
            c.log.push((seq, name));
            Response::builder().status(StatusCode::NO_CONTENT).body(Body::empty()).unwrap()
        }
        // RFC 6578: the changes since the token (all, without one).
        "REPORT" => {
            let since = body
                .split_once("sync-token>")
                .and_then(|(_, rest)| rest.split_once('<'))
                .and_then(|(t, _)| t.rsplit('/').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            let now = d.seq;
            let Some(c) = d.collections.get(&path) else {
                return multistatus(&format!("<d:sync-token>http://double/s/{now}</d:sync-token>"));
            };
            let mut changed: Vec<&String> = c.log.iter().filter(|(s, _)| *s > since).map(|(_, n)| n).collect();
            changed.sort();
            changed.dedup();
            let mut out = String::new();
            for n in changed {
                match c.entries.get(n) {
                    Some((etag, _)) => out.push_str(&format!(
                        "<d:response><d:href>{path}{n}</d:href><d:propstat><d:prop><d:getetag>\"{etag}\"</d:getetag>\
                         </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
                    )),
                    None => out.push_str(&format!(
                        "<d:response><d:href>{path}{n}</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"
                    )),
                }
            }
            out.push_str(&format!("<d:sync-token>http://double/s/{now}</d:sync-token>"));
            multistatus(&out)
        }
        _ => Response::builder().status(StatusCode::CREATED).body(Body::empty()).unwrap(),
    }
}

/// Serves the double on a free port, printed on stdout, until killed.
fn run_double() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let app = axum::Router::new().fallback(dav).with_state(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

/// The double's process; killed when dropped.
struct Double {
    child: Child,
    port: u16,
}

impl Double {
    fn start() -> Double {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--double")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        Double { child, port: line.trim().parse().unwrap() }
    }

    async fn requests(&self) -> BTreeMap<String, u64> {
        reqwest::get(format!("http://127.0.0.1:{}/__stats", self.port)).await.unwrap().json().await.unwrap()
    }
}

impl Drop for Double {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- measuring --------------------------------------------------------------------------------

/// This process's CPU time (user + system), from /proc.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn total(m: &BTreeMap<String, u64>) -> u64 {
    m.values().sum()
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after.iter().map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect()
}

/// Moves the entry at `url` one day on, as another client would; the new day.
async fn move_on(http: &reqwest::Client, url: &str, user: &str) {
    let ics = http.get(url).basic_auth(user, Some("pw")).send().await.unwrap().text().await.unwrap();
    let day = ics.lines().find_map(|l| l.strip_prefix("DTSTART;VALUE=DATE:")).unwrap().trim().to_owned();
    let date = jiff::civil::Date::strptime("%Y%m%d", &day).unwrap();
    let next = date.tomorrow().unwrap().strftime("%Y%m%d").to_string();
    let after = date.tomorrow().unwrap().tomorrow().unwrap().strftime("%Y%m%d").to_string();
    let moved = ics.replace(&format!("DTSTART;VALUE=DATE:{day}"), &format!("DTSTART;VALUE=DATE:{next}")).replace(
        &format!("DTEND;VALUE=DATE:{}", date.tomorrow().unwrap().strftime("%Y%m%d")),
        &format!("DTEND;VALUE=DATE:{after}"),
    );
    let r = http.put(url).basic_auth(user, Some("pw")).body(moved).send().await.unwrap();
    assert!(r.status().is_success());
}

/// Waits until the export shows a move, or 60 s.
async fn until_moved(app: &flowcal_server::app::App, export: i64, was: Option<String>) -> Duration {
    let started = Instant::now();
    loop {
        let e = app.store.export(export).await.unwrap().unwrap();
        if e.held_start.is_some() && e.held_start != was {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the move was never proposed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    if std::env::args().any(|a| a == "--double") {
        return run_double();
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let accounts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let entries: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let edits: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(accounts, entries, edits));
}

/// flowcal on SQLite in `dir`, reading calendars at the double every `interval` seconds.
async fn app_for(dir: &std::path::Path, double: &Double, interval: u64) -> Arc<flowcal_server::app::App> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{}\"]\n\
         [delivery]\nworkers = 0\n[calendar_sync]\ninterval_seconds = {interval}\nconcurrency = 8\n",
        dir.display(),
        double.port
    );
    let config = Config::from_parts(&toml, "bench", &[]).unwrap();
    flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap()
}

/// `accounts` accounts (users `{prefix}0`, …) with `entries` entries each,
/// delivered: the accounts and the owner.
async fn populate(
    app: &flowcal_server::app::App,
    double: &Double,
    prefix: &str,
    accounts: usize,
    entries: usize,
) -> (Vec<i64>, Principal) {
    let user = app.access.add_user("alice", true, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();
    let mut tasks = Vec::with_capacity(entries);
    for i in 0..entries {
        let day = jiff::civil::date(2027, 1, 1).checked_add(jiff::Span::new().days(i64::try_from(i).unwrap())).unwrap();
        let data = Map::from_iter([("day".to_owned(), serde_json::Value::String(day.to_string()))]);
        let v = app.workflow.start_instance(&p, "due", &format!("Entry {i}"), &data).await.unwrap();
        tasks.push((v.tasks[0].id, v.instance.id));
    }
    let mut account_ids = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let url = format!("http://127.0.0.1:{}/", double.port);
        let (acc, _) = app.access.connect_caldav(&p, &url, &format!("{prefix}{a}"), "pw").await.unwrap();
        for (task, instance) in &tasks {
            let source = flowcal_domain::export::ExportSource::TaskDeadline(*task);
            let n = NewExport {
                user_id: p.user.id,
                account_id: acc.id,
                task_id: Some(task.0),
                instance_id: instance.0,
                event_key: flowcal_domain::export::event_key(p.user.id.0, &source.to_string()),
                source,
            };
            app.store.request_export(n, app.now()).await.unwrap();
        }
        account_ids.push(acc.id);
    }
    while app.exports.deliver_due().await.unwrap() > 0 {}
    (account_ids, p)
}

async fn bench(accounts: usize, entries: usize, edits: usize) {
    let double = Double::start();
    let dir = tempfile::tempdir().unwrap();
    // Longer than a cycle of every account takes, as in production (300 s).
    let interval = 300;
    let setup = Instant::now();
    let app = app_for(dir.path(), &double, interval).await;
    let (account_ids, p) = populate(&app, &double, "u", accounts, entries).await;
    println!(
        "setup: {accounts} accounts × {entries} entries delivered to the double in {:.0} s",
        setup.elapsed().as_secs_f64()
    );

    // The first read: no token yet, every calendar listed.
    let scans = || app.store.sqlite_full_scan_steps().unwrap_or(0);
    let (r0, c0, t0, f0) = (double.requests().await, cpu(), Instant::now(), scans());
    let s = app.calendar_sync.read_due().await.unwrap();
    let (r1, c1, wall, f1) = (double.requests().await, cpu(), t0.elapsed(), scans());
    assert_eq!((s.read, s.failed), (accounts as u64, 0), "{s:?}");
    println!(
        "first read of {} accounts: {:?} requests, {:.1} s, flowcal CPU {:.0} ms ({:.2} ms per account), \
         rows stepped in full table scans {}",
        s.read,
        delta(&r1, &r0),
        wall.as_secs_f64(),
        (c1 - c0).as_secs_f64() * 1000.0,
        (c1 - c0).as_secs_f64() * 1000.0 / accounts as f64,
        f1 - f0
    );

    // Idle cycles: every account due again, nothing changed.
    for cycle in 1..=3 {
        for a in &account_ids {
            app.calendar_sync.wake_account(*a).await.unwrap();
        }
        let (r0, c0, t0, f0) = (double.requests().await, cpu(), Instant::now(), scans());
        let s = app.calendar_sync.read_due().await.unwrap();
        let (r1, c1, wall, f1) = (double.requests().await, cpu(), t0.elapsed(), scans());
        assert_eq!((s.read, s.failed, s.moved, s.deleted), (accounts as u64, 0, 0, 0), "{s:?}");
        let d = delta(&r1, &r0);
        println!(
            "idle read cycle {cycle}: {} accounts, {:?} = {:.2} requests per account, {:.2} s, \
             flowcal CPU {:.0} ms ({:.3} ms per account), rows stepped in full table scans {}",
            s.read,
            d,
            total(&d) as f64 / accounts as f64,
            wall.as_secs_f64(),
            (c1 - c0).as_secs_f64() * 1000.0,
            (c1 - c0).as_secs_f64() * 1000.0 / accounts as f64,
            f1 - f0
        );
    }

    // From an edit to the proposal: the read loop runs as in `serve`.
    let sync = app.calendar_sync.clone();
    tokio::spawn(async move { sync.run(std::future::pending()).await });
    let http = reqwest::Client::new();
    let account = account_ids[accounts / 2];
    let user = format!("u{}", accounts / 2);
    let export = app.store.exports_of(p.user.id).await.unwrap().into_iter().find(|e| e.account_id == account).unwrap();
    let url = export.remote_id.clone().unwrap();
    // A push channel for it, as a service would have been given: its secret on every notification.
    let secret = "bench-channel-secret-0123456789abcdef";
    let channel = Channel {
        account_id: account,
        channel_id: "bench-channel".into(),
        resource_id: None,
        calendar: app.store.account(account).await.unwrap().unwrap().calendar.unwrap(),
        secret_hash: flowcal_server::secrets::token_hash(secret),
        expires_at: app.now() + jiff::SignedDuration::from_hours(72),
    };
    app.store.put_channel(channel, app.now()).await.unwrap();
    let base = format!("http://{}", app.config.listen);
    let listener = tokio::net::TcpListener::bind(&app.config.listen).await.unwrap();
    let served = app.clone();
    tokio::spawn(async move { flowcal_server::serve(served, listener, std::future::pending()).await });

    let mut pushed = Vec::with_capacity(edits);
    for _ in 0..edits {
        let was = app.store.export(export.id).await.unwrap().unwrap().held_start;
        let started = Instant::now();
        move_on(&http, &url, &user).await;
        let r = http
            .post(format!("{base}/push/caldav"))
            .header("X-Goog-Channel-ID", "bench-channel")
            .header("X-Goog-Channel-Token", secret)
            .header("X-Goog-Resource-State", "exists")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        until_moved(&app, export.id, was).await;
        pushed.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    pushed.sort_by(f64::total_cmp);
    println!(
        "edit → proposal with push: {} edits, p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        pushed.len(),
        percentile(&pushed, 50.0),
        percentile(&pushed, 95.0),
        pushed[pushed.len() - 1]
    );

    // Without push: the next read on the interval. A second flowcal with a
    // 10 s interval and 10 accounts of 10 entries at the same double.
    let quick = 10;
    let dir = tempfile::tempdir().unwrap();
    let app = app_for(dir.path(), &double, quick).await;
    let (account_ids, p) = populate(&app, &double, "q", 10, 10).await;
    let sync = app.calendar_sync.clone();
    tokio::spawn(async move { sync.run(std::future::pending()).await });
    let account = account_ids[0];
    let export = app.store.exports_of(p.user.id).await.unwrap().into_iter().find(|e| e.account_id == account).unwrap();
    let url = export.remote_id.clone().unwrap();
    // The first reads start the tokens.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut polled = Vec::new();
    for _ in 0..5 {
        let was = app.store.export(export.id).await.unwrap().unwrap().held_start;
        let started = Instant::now();
        move_on(&http, &url, "q0").await;
        until_moved(&app, export.id, was).await;
        polled.push(started.elapsed().as_secs_f64());
    }
    println!(
        "edit → proposal without push (interval {quick} s ± 20 %, the loop looks every 5 s): {}",
        polled.iter().map(|s| format!("{s:.1} s")).collect::<Vec<_>>().join(", ")
    );
    app.store.close();
}
