//! Benchmark (not a test): the outbox's own cost. N auto-synced deadlines are
//! delivered through flowcal's whole delivery path (claim with a lease, build
//! the entry from the task, render iCalendar, PUT through the guarded CalDAV
//! client, record the result) to a CalDAV double that answers at once, so only
//! flowcal is measured. SQLite, and PostgreSQL when a URL is given; one worker,
//! then two (two application instances over the same database, as two
//! processes would be).
//!
//! Run: `scripts/bench-outbox [JOBS]`, or
//! `cargo bench -p flowcal --bench outbox -- [JOBS]` with `FLOWCAL_BENCH_DATABASE_URL` set by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use flowcal_server::app::App;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use serde_json::Map;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const MODEL: &str = include_str!("../../../tests/peers/one-deadline.bpmn");

async fn app(url: &str, data: &Path, port: u16) -> Arc<App> {
    let toml = format!(
        "data_dir = \"{}\"\ndatabase_url = \"{url}\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n\
         [delivery]\nworkers = 0\n",
        data.display()
    );
    let config = Config::from_parts(&toml, "bench", &[]).unwrap();
    flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap()
}

/// Creates `jobs` open tasks with deadlines for a new user, turns auto-sync
/// on (which writes the jobs), then delivers them with `workers` applications.
async fn measure(label: &str, apps: &[Arc<App>], port: u16, puts: &AtomicUsize, jobs: usize) -> f64 {
    let app = &apps[0];
    let login = format!("bench{}", rand_suffix());
    let user = app.access.add_user(&login, false, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let (acc, _) =
        app.access.connect_caldav(&p, &format!("http://127.0.0.1:{port}/"), "bench", "secret").await.unwrap();
    app.access.choose_calendar(&p, acc.id, "own").await.unwrap();
    if app.workflow.latest_model("due").await.is_err() {
        app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();
    }
    let empty = Map::new();
    for i in 0..jobs {
        app.workflow.start_instance(&p, "due", &format!("Case {i}"), &empty).await.unwrap();
    }
    let queued = Instant::now();
    app.exports.set_auto_sync(&p, Some((acc.id, None, false))).await.unwrap();
    let enqueue = queued.elapsed().as_secs_f64();
    let before = puts.load(Ordering::Relaxed);
    let started = Instant::now();
    let handles: Vec<_> = apps
        .iter()
        .map(|a| {
            let a = a.clone();
            tokio::spawn(async move { while a.exports.deliver_due().await.unwrap() > 0 {} })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let delivered = puts.load(Ordering::Relaxed) - before;
    assert_eq!(delivered, jobs, "every job delivered once");
    let rate = jobs as f64 / secs;
    println!("{label:<36} {jobs:>6} jobs  {secs:>7.2} s  {rate:>8.0} jobs/s  (writing the jobs: {:.2} s)", enqueue);
    rate
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}

#[tokio::main]
async fn main() {
    let jobs = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2000);
    println!("auto-synced deadlines delivered to a CalDAV double that answers at once");
    let (port, puts) = common::caldav_double().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let a = app(&url, dir.path(), port).await;
    let b = app(&url, dir.path(), port).await;
    measure("flowcal, SQLite, 1 worker", std::slice::from_ref(&a), port, &puts, jobs).await;
    measure("flowcal, SQLite, 2 workers", &[a, b], port, &puts, jobs).await;
    if let Ok(pg) = std::env::var("FLOWCAL_BENCH_DATABASE_URL") {
        let a = app(&pg, dir.path(), port).await;
        let b = app(&pg, dir.path(), port).await;
        measure("flowcal, PostgreSQL, 1 worker", std::slice::from_ref(&a), port, &puts, jobs).await;
        measure("flowcal, PostgreSQL, 2 workers", &[a, b], port, &puts, jobs).await;
    } else {
        println!("PostgreSQL: not run (FLOWCAL_BENCH_DATABASE_URL is not set)");
    }
}
