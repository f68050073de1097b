//! Benchmark (not a test): how long a change takes to reach the calendar.
//! From the API call that changes a task's data (`PATCH
//! /api/v1/instances/{id}/data`) to the changed entry readable at Radicale,
//! over CHANGES changes, with the delivery worker in the same process and
//! in a `flowcal worker` process of its own; on SQLite and, when
//! `FLOWCAL_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh
//! database there. Nothing else runs: each change waits for the one before.
//!
//! Run: `scripts/bench-freshness [CHANGES]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use serde_json::{json, Map};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::radicale;

/// A `flowcal worker` process; stopped when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh PostgreSQL database on the server of `base`; dropped with `drop_db`.
fn create_db(base: &str) -> (String, String) {
    let (server, _) = base.rsplit_once('/').unwrap();
    let name = format!("flowcal_fresh_{:08x}", rand::random::<u32>());
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    (format!("{server}/{name}"), name)
}

fn drop_db(base: &str, name: &str) {
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
}

/// Milliseconds from each API call to its entry at Radicale.
async fn run(python: &str, database_url: Option<&str>, other_process: bool, changes: usize) -> Vec<f64> {
    let r = radicale(python);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let database = database_url.map(|u| format!("database_url = \"{u}\"\n")).unwrap_or_default();
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n{database}log = \"warn\"\n[caldav]\n\
         allowed_hosts = [\"127.0.0.1:{}\"]\n[delivery]\nworkers = {}\n",
        dir.path().display(),
        r.port,
        if other_process { 0 } else { 1 }
    );
    let config = Config::from_parts(&toml, "bench", &[]).unwrap();
    let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let served = app.clone();
    tokio::spawn(async move { flowcal_server::serve(served, listener, std::future::pending()).await });
    let _worker = other_process.then(|| {
        let file = dir.path().join("flowcal.toml");
        std::fs::write(&file, toml.replace("workers = 0", "workers = 1")).unwrap();
        Worker(
            Command::new(env!("CARGO_BIN_EXE_flowcal"))
                .arg("worker")
                .env("FLOWCAL_CONFIG", &file)
                .env_remove("FLOWCAL_DATABASE_URL")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    });

    let user = app.access.add_user("alice", true, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let (acc, _) =
        app.access.connect_caldav(&p, &format!("http://127.0.0.1:{}/", r.port), "alice", "pw").await.unwrap();
    app.workflow.import_model(None, flowcal_server::demo::MODELS[0].1.as_bytes()).await.unwrap();
    let mut data = Map::new();
    data.insert("first_day".into(), json!("2027-01-04"));
    data.insert("days".into(), json!(5));
    let view = app.workflow.start_instance(&p, "leave", "Bench", &data).await.unwrap();
    let instance = view.instance.id.0;
    let task = app.workflow.tasks(&p, None).await.unwrap()[0].id;
    let export = app.exports.export(&p, task, "item:first_day", acc.id).await.unwrap();
    let token = app.access.create_token("alice", "bench").await.unwrap();
    let http = reqwest::Client::new();
    let entry_url = loop {
        let e = app.store.export(export.id).await.unwrap().unwrap();
        if let (flowcal_domain::export::ExportState::Synced, Some(url)) = (e.state, e.remote_id) {
            break url;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let mut took = Vec::with_capacity(changes);
    let start_day: jiff::civil::Date = "2027-02-01".parse().unwrap();
    for i in 0..changes {
        let day = start_day.checked_add(jiff::Span::new().days(i64::try_from(i).unwrap())).unwrap();
        let wanted = format!("DTSTART;VALUE=DATE:{}", day.strftime("%Y%m%d"));
        let started = Instant::now();
        let answer = http
            .patch(format!("http://127.0.0.1:{port}/api/v1/instances/{instance}/data"))
            .bearer_auth(&token)
            .json(&json!({"data": {"first_day": day.to_string()}}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        loop {
            let body = http.get(&entry_url).basic_auth("alice", Some("pw")).send().await.unwrap().text().await.unwrap();
            if body.contains(&wanted) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "change {i} never reached Radicale");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        took.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    app.store.close();
    took
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{label:<44} {:>4} changes  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        ms.len(),
        percentile(&ms, 50.0),
        percentile(&ms, 99.0),
        ms[ms.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let changes: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50);
    let python = std::env::var("FLOWCAL_PEER_PYTHON").expect("FLOWCAL_PEER_PYTHON: the peers venv's python");
    report("SQLite, worker in the same process", run(&python, None, false, changes).await);
    report("SQLite, `flowcal worker` (poll: no NOTIFY)", run(&python, None, true, changes).await);
    match std::env::var("FLOWCAL_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            for (label, other) in
                [("PostgreSQL, worker in the same process", false), ("PostgreSQL, `flowcal worker` (NOTIFY)", true)]
            {
                let (url, name) = tokio::task::spawn_blocking({
                    let base = base.clone();
                    move || create_db(&base)
                })
                .await
                .unwrap();
                let ms = run(&python, Some(&url), other, changes).await;
                tokio::task::spawn_blocking({
                    let base = base.clone();
                    move || drop_db(&base, &name)
                })
                .await
                .unwrap();
                report(label, ms);
            }
        }
        None => println!("PostgreSQL: not measured (FLOWCAL_TEST_DATABASE_URL is not set)"),
    }
}
