//! Benchmark (not a test): 1,000 deadlines into an empty Radicale calendar.
//! flowcal's backfill (`export_sync`: claim, build, render, PUT, record, for
//! each entry), timed inside a running process and as a whole `flowcal export
//! sync` process (start, configuration, database, the backfill, exit), beside
//! vdirsyncer pushing the same 1,000 events from a folder (a whole `vdirsyncer
//! sync` process), and beside the floor: the simplest sequential keep-alive
//! PUT loop (Python `http.client`, timed inside). Each in its own fresh
//! Radicale, in the same run.
//!
//! Run: `scripts/bench-backfill [EVENTS]` (installs vdirsyncer into the peers venv).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use serde_json::Map;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const MODEL: &str = include_str!("../../../tests/peers/one-deadline.bpmn");

mod common;
use common::radicale;

/// MKCALENDAR an empty calendar; returns its URL.
async fn calendar(port: u16, name: &str) -> String {
    let url = format!("http://127.0.0.1:{port}/alice/{name}/");
    let r = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(), &url)
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "MKCALENDAR {}", r.status());
    url
}

async fn count(url: &str) -> usize {
    let r = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(b"PROPFIND").unwrap(), url)
        .basic_auth("alice", Some("pw"))
        .header("Depth", "1")
        .header("Content-Type", "application/xml")
        .body(r#"<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>"#)
        .send()
        .await
        .unwrap();
    r.text().await.unwrap().matches(".ics</").count()
}

/// flowcal's backfill of `n` deadlines; returns seconds. `whole_process`:
/// timed as a `flowcal export sync` process from its start to its exit;
/// otherwise `export_sync` inside this process.
async fn flowcal(python: &str, n: usize, whole_process: bool) -> f64 {
    let r = radicale(python);
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "data_dir = \"{}\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{}\"]\n[delivery]\nworkers = 0\n",
        dir.path().display(),
        r.port
    );
    let app =
        flowcal_server::build(Config::from_parts(&toml, "bench", &[]).unwrap(), Arc::new(SystemClock)).await.unwrap();
    let user = app.access.add_user("alice", false, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let (acc, _) =
        app.access.connect_caldav(&p, &format!("http://127.0.0.1:{}/", r.port), "alice", "pw").await.unwrap();
    let cal = app.access.choose_calendar(&p, acc.id, "own").await.unwrap().calendar.unwrap();
    app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();
    for i in 0..n {
        app.workflow.start_instance(&p, "due", &format!("Case {i}"), &Map::new()).await.unwrap();
    }
    let secs = if whole_process {
        app.store.close();
        let config = dir.path().join("flowcal.toml");
        std::fs::write(&config, &toml).unwrap();
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .args(["export", "sync", "--user", "alice", "--account", &acc.id.to_string()])
            .env("FLOWCAL_CONFIG", &config)
            .env_remove("FLOWCAL_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.starts_with(&format!("{n} entries: created {n},")), "{said}");
        secs
    } else {
        let started = Instant::now();
        let summary = app.exports.export_sync("alice", Some(acc.id), |_, _| {}).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(summary.get("created").copied(), Some(n), "{summary:?}");
        secs
    };
    assert_eq!(count(&cal).await, n);
    secs
}

/// The same number of events as files, rendered by flowcal's iCalendar writer.
fn event_files(n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..n {
        let ev = flowcal_calendar::entry(&flowcal_calendar::EntrySource {
            user: 1,
            source: &format!("task:{i}:deadline"),
            what: "Check",
            instance_title: &format!("Case {i}"),
            process_name: "Due",
            link: &format!("https://flowcal.example/tasks/{i}"),
            when: flowcal_calendar::When::At {
                at: "2026-12-01T09:00:00Z".parse().unwrap(),
                zone: "Europe/Berlin".into(),
            },
            duration_minutes: 30,
            reminder_minutes: None,
            sequence: 0,
            stamp: "2026-11-28T08:00:00Z".parse().unwrap(),
            words: flowcal_calendar::EntryWords::ENGLISH,
        });
        let path = dir.path().join(format!("{}.ics", ev.key));
        std::fs::write(&path, flowcal_calendar::ical::calendar_object(&ev).unwrap()).unwrap();
        files.push(path);
    }
    (dir, files)
}

/// vdirsyncer: a filesystem storage paired with the Radicale calendar; seconds of `sync`.
async fn vdirsyncer(python: &str, n: usize) -> f64 {
    let r = radicale(python);
    let url = calendar(r.port, "vdir").await;
    let (events, _) = event_files(n);
    let work = tempfile::tempdir().unwrap();
    let bin = Path::new(python).with_file_name("vdirsyncer");
    let config = format!(
        "[general]\nstatus_path = \"{w}/status/\"\n\n[pair bench]\na = \"local\"\nb = \"radicale\"\ncollections = null\n\
         conflict_resolution = \"a wins\"\n\n[storage local]\ntype = \"filesystem\"\npath = \"{e}/\"\nfileext = \".ics\"\n\n\
         [storage radicale]\ntype = \"caldav\"\nurl = \"{url}\"\nusername = \"alice\"\npassword = \"pw\"\n",
        w = work.path().display(),
        e = events.path().display()
    );
    let cfg = work.path().join("config");
    std::fs::write(&cfg, config).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&bin).arg("-c").arg(&cfg).args(args).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "vdirsyncer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["discover", "bench"]);
    let started = Instant::now();
    run(&["sync", "bench"]);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(count(&url).await, n);
    secs
}

/// The floor: one keep-alive connection, one PUT per event, in order.
async fn floor(python: &str, n: usize) -> f64 {
    let r = radicale(python);
    let url = calendar(r.port, "floor").await;
    let (events, _) = event_files(n);
    let script = r#"
import base64, http.client, os, sys, time
port, path, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
auth = "Basic " + base64.b64encode(b"alice:pw").decode()
files = sorted(os.listdir(folder))
c = http.client.HTTPConnection("127.0.0.1", port)
t = time.perf_counter()
for f in files:
    body = open(os.path.join(folder, f), "rb").read()
    c.request("PUT", path + f, body, {"Authorization": auth, "Content-Type": "text/calendar; charset=utf-8",
                                      "If-None-Match": "*"})
    r = c.getresponse(); r.read()
    assert r.status in (201, 204), r.status
print(time.perf_counter() - t)
"#;
    let path = url.trim_start_matches(&format!("http://127.0.0.1:{}", r.port)).to_owned();
    let out =
        Command::new(python).args(["-c", script, &r.port.to_string(), &path]).arg(events.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&url).await, n);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::main]
async fn main() {
    let n = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let python =
        std::env::var("FLOWCAL_PEER_PYTHON").expect("FLOWCAL_PEER_PYTHON: the venv with radicale and vdirsyncer");
    println!("{n} events into an empty Radicale calendar (a fresh Radicale each)");
    let fl = floor(&python, n).await;
    println!("{:<40} {fl:>7.2} s", "floor: sequential keep-alive PUT loop");
    let vd = vdirsyncer(&python, n).await;
    println!("{:<40} {vd:>7.2} s", "vdirsyncer sync");
    let fc = flowcal(&python, n, false).await;
    println!("{:<40} {fc:>7.2} s", "flowcal export_sync, in a running process");
    let fp = flowcal(&python, n, true).await;
    println!("{:<40} {fp:>7.2} s", "flowcal export sync, whole process");
    println!(
        "× floor: vdirsyncer (whole process) {:.2}, flowcal (whole process) {:.2}, flowcal (in a running process) {:.2}",
        vd / fl,
        fp / fl,
        fc / fl
    );
}
