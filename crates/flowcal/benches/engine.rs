//! Benchmark (not a test): start → complete a three-user-task sequential
//! process, in-process through flowcal's application services, persisting every
//! step, on SQLite and (when a URL is given) PostgreSQL; beside SpiffWorkflow
//! running the same BPMN file in memory, in the same run. Both warm up with
//! the same 20 instances; one flowcal client is compared with one
//! SpiffWorkflow process, and CLIENTS concurrent flowcal clients with as many
//! SpiffWorkflow processes as the machine has cores, started together.
//!
//! Run: `scripts/bench` (installs the SpiffWorkflow peer and a PostgreSQL
//! database), or `cargo bench -p flowcal --bench engine -- [INSTANCES] [CLIENTS]`
//! with `FLOWCAL_PEER_PYTHON` and `FLOWCAL_BENCH_DATABASE_URL` set by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::app::App;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use serde_json::Map;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const MODEL: &str = include_str!("../../../tests/peers/three-step.bpmn");
/// Instances run untimed first, by flowcal and by SpiffWorkflow alike.
const WARM_UP: usize = 20;

async fn app(url: &str, data: &Path) -> Arc<App> {
    let toml = format!("data_dir = \"{}\"\ndatabase_url = \"{url}\"\nlog = \"warn\"", data.display());
    let config = Config::from_parts(&toml, "bench", &[]).unwrap();
    flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap()
}

/// One instance, start to finish: start, then complete each open task.
async fn run_one(app: &App, p: &Principal) {
    let empty = Map::new();
    let mut view = app.workflow.start_instance(p, "three_step", "bench", &empty).await.unwrap();
    for _ in 0..3 {
        let task = view.tasks.iter().find(|t| t.state == flowcal_store::TaskState::Open).unwrap().id;
        view = app.workflow.complete(p, task, &empty).await.unwrap();
    }
    assert_eq!(view.instance.status, flowcal_engine::InstanceStatus::Completed);
}

async fn measure(label: &str, app: Arc<App>, instances: usize, clients: usize) -> f64 {
    app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();
    let login = format!("bench{}", label.len() * 100 + clients);
    let user = app.access.add_user(&login, false, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    // Warm up caches and connections.
    for _ in 0..WARM_UP {
        run_one(&app, &p).await;
    }
    let started = Instant::now();
    let per_client = instances / clients;
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (app, p) = (app.clone(), p.clone());
            tokio::spawn(async move {
                for _ in 0..per_client {
                    run_one(&app, &p).await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = (per_client * clients) as f64 / secs;
    println!("{label:<34} {:>6} instances  {secs:>7.2} s  {rate:>8.0} instances/s", per_client * clients);
    rate
}

/// SpiffWorkflow in `processes` processes running `instances` between them,
/// each warmed up, then started together; the rate over the wall time from the
/// start to the last one's end.
fn spiff(python: &str, instances: usize, processes: usize) -> Option<f64> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let per_process = instances / processes;
    let mut children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(python)
                .arg(root.join("tests/peers/spiff_bench.py"))
                .arg(root.join("tests/peers/three-step.bpmn"))
                .arg(per_process.to_string())
                .arg(WARM_UP.to_string())
                .arg("--wait")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .ok()
        })
        .collect::<Option<_>>()?;
    let mut outputs: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().unwrap())).collect();
    for out in &mut outputs {
        let mut line = String::new();
        out.read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            return None;
        }
    }
    let started = Instant::now();
    for c in &mut children {
        c.stdin.as_mut().unwrap().write_all(b"go\n").ok()?;
    }
    let mut engine = String::from("SpiffWorkflow");
    for (c, mut out) in children.iter_mut().zip(outputs) {
        let mut line = String::new();
        out.read_line(&mut line).ok()?;
        c.wait().ok()?;
        let v: serde_json::Value = serde_json::from_str(&line).ok()?;
        engine = v["engine"].as_str().unwrap_or("SpiffWorkflow").to_owned();
    }
    let secs = started.elapsed().as_secs_f64();
    let done = per_process * processes;
    let rate = done as f64 / secs;
    let label = format!("{engine}, {processes} process{}", if processes == 1 { "" } else { "es" });
    println!("{label:<34} {done:>6} instances  {secs:>7.2} s  {rate:>8.0} instances/s  (in memory)");
    Some(rate)
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let instances = args.first().copied().unwrap_or(2000);
    let clients = args.get(1).copied().unwrap_or(4);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "three user tasks in sequence, start → complete, every step persisted; {WARM_UP} instances of warm-up each"
    );
    let (spiff_1, spiff_n) = match std::env::var("FLOWCAL_PEER_PYTHON") {
        Ok(py) => (spiff(&py, instances, 1), spiff(&py, instances, cores)),
        Err(_) => {
            println!("SpiffWorkflow: not run (FLOWCAL_PEER_PYTHON is not set)");
            (None, None)
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let app1 = app(&url, dir.path()).await;
    let sqlite_1 = measure("flowcal, SQLite, 1 client", app1.clone(), instances, 1).await;
    let sqlite_n = measure(&format!("flowcal, SQLite, {clients} clients"), app1, instances, clients).await;
    if let Ok(pg) = std::env::var("FLOWCAL_BENCH_DATABASE_URL") {
        let app2 = app(&pg, dir.path()).await;
        measure("flowcal, PostgreSQL, 1 client", app2.clone(), instances, 1).await;
        measure(&format!("flowcal, PostgreSQL, {clients} clients"), app2, instances, clients).await;
    } else {
        println!("PostgreSQL: not run (FLOWCAL_BENCH_DATABASE_URL is not set)");
    }
    if let (Some(s1), Some(sn)) = (spiff_1, spiff_n) {
        println!(
            "flowcal on SQLite vs SpiffWorkflow in memory: {:.1}x (1 client / 1 process), \
             {:.1}x ({clients} clients / {cores} processes, {cores} cores)",
            sqlite_1 / s1,
            sqlite_n / sn
        );
    }
}
