//! Benchmark (not a test): flowcal with INSTANCES process instances (a million
//! by default, about 1.2 tasks each) on SQLite and, when
//! `FLOWCAL_TEST_DATABASE_URL` names a PostgreSQL server, on a fresh database
//! there.
//!
//! Seeding: a few hundred instances are started, worked and cancelled
//! through `app.workflow`, so that every row shape is one flowcal wrote; one
//! instance of each shape is then copied in SQL inside the database
//! (`generate_series` on PostgreSQL, a recursive CTE on SQLite), with
//! explicit ids, new titles, due dates spread over a year and creation times
//! over the past one, in transactions of `BATCH` copies. `mia`, of role
//! `clerks`, sees 50,000 open unclaimed tasks (half the instances when there
//! are fewer than 100,000); most other tasks are done, cancelled, or of
//! another role or user. The counts are checked with SQL and printed, and so
//! is the database's size per instance.
//!
//! Load: `wrk` with 64 connections and 2 threads for SECONDS each (the
//! script is `benches/scale/load.lua`) against *My tasks* through the API
//! (`GET /api/v1/tasks?state=open&limit=50`, mia's token) and as a page
//! (`GET /tasks`, her session), the task page of varying open tasks, and
//! completing a task (each request a task of its own); then a mixed load
//! paced at about 200 requests/s for MIX_MINUTES while the one delivery
//! worker delivers mia's auto-synced deadlines to a CalDAV double. Everything
//! not 2xx is an error. The task page is measured again once mia has a
//! calendar entry for every case she completed. One table at the end.
//!
//! Run: `scripts/bench-scale [INSTANCES] [SECONDS] [MIX_MINUTES]` (needs `wrk`;
//! MIX_MINUTES 0 leaves the mixed load out);
//! `FLOWCAL_SCALE_ONLY=sqlite` or `=postgres` runs one backend;
//! `FLOWCAL_SCALE_KEEP=1` keeps the databases (for EXPLAIN) and prints where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::app::App;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use rand::seq::SliceRandom;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

/// Clerks review a case (due on `due`) and its owner files it a week later;
/// `route = managers` sends it to the managers instead.
const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="case_defs" targetNamespace="https://flowcal.dev/bench">
  <bpmn:process id="case" name="Case" isExecutable="true" flowcal:timeZone="Europe/Berlin">
    <bpmn:extensionElements>
      <flowcal:dataItem key="due" label="Due" type="date" required="true"/>
      <flowcal:dataItem key="route" label="Route" type="select" options="clerks,managers" required="true"/>
      <flowcal:dataItem key="owner" label="Owner" type="user" required="true"/>
    </bpmn:extensionElements>
    <bpmn:laneSet>
      <bpmn:lane id="lane_clerks" name="clerks"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_managers" name="managers"><bpmn:flowNodeRef>approve</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:exclusiveGateway id="who" default="to_clerks"/>
    <bpmn:userTask id="review" name="Review the case" flowcal:deadlineFrom="due"/>
    <bpmn:userTask id="file" name="File the case" flowcal:assignee="item:owner"
                   flowcal:deadlineFrom="due" flowcal:deadlineOffset="P7D"/>
    <bpmn:userTask id="approve" name="Approve the case" flowcal:deadlineFrom="due"/>
    <bpmn:endEvent id="filed"/>
    <bpmn:endEvent id="approved"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="who"/>
    <bpmn:sequenceFlow id="to_clerks" sourceRef="who" targetRef="review"/>
    <bpmn:sequenceFlow id="to_managers" sourceRef="who" targetRef="approve">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">route == "managers"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="file"/>
    <bpmn:sequenceFlow id="f3" sourceRef="file" targetRef="filed"/>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="approved"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// The due date of the instance each shape is copied from, and its file
/// deadline (a week later): strings found nowhere else, replaced in the copies.
const TEMPLATE_DUE: &str = "2030-06-15";
const TEMPLATE_FILE: &str = "2030-06-22";
/// Instances of each shape started through flowcal (at most).
const REAL_PER_SHAPE: usize = 50;
/// Copies per transaction.
const BATCH: usize = 100_000;
const MIA_PASSWORD: &str = "mia-bench-password";
const CONNECTIONS: u32 = 64;
/// Mixed load: each connection waits this long after every answer, so 64
/// connections send about 200 requests/s.
const MIX_DELAY_MS: u32 = 320;

/// The row shapes, as flowcal writes them.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// review open for the role clerks (what mia sees); mia owns the case.
    OpenReview,
    /// review done by carl, file open for bob.
    FileOpen,
    /// review and file done: the instance completed.
    Filed,
    /// approve open for the role managers.
    ApproveOpen,
    /// approve done by carol: completed.
    Approved,
    /// review cancelled with the instance.
    Cancelled,
}

const SHAPES: [Shape; 6] =
    [Shape::OpenReview, Shape::FileOpen, Shape::Filed, Shape::ApproveOpen, Shape::Approved, Shape::Cancelled];

/// How many instances of each shape, for `n` instances in all: about 1.2
/// tasks per instance (the two-task shapes are a fifth of them).
fn shape_counts(n: usize) -> Vec<(Shape, usize)> {
    let mia = 50_000.min(n / 2);
    let file_open = n / 20;
    let filed = n * 3 / 20;
    let approve_open = n / 10;
    let cancelled = n / 20;
    let approved = n - mia - file_open - filed - approve_open - cancelled;
    SHAPES.into_iter().zip([mia, file_open, filed, approve_open, approved, cancelled]).collect()
}

struct People {
    alice: Principal,
    mia: Principal,
    carl: Principal,
    bob: Principal,
    carol: Principal,
}

async fn people(app: &App) -> People {
    let add = |login: &'static str, admin: bool, roles: &'static [&'static str]| async move {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let password = (login == "mia").then_some(MIA_PASSWORD);
        let user = app.access.add_user(login, admin, &roles, password).await.unwrap();
        Principal { user, roles }
    };
    let p = People {
        alice: add("alice", true, &[]).await,
        mia: add("mia", false, &["clerks"]).await,
        carl: add("carl", false, &["clerks"]).await,
        bob: add("bob", false, &[]).await,
        carol: add("carol", false, &["managers"]).await,
    };
    for (login, roles) in [("dave", &["clerks"][..]), ("erin", &["managers"][..]), ("frank", &[][..])] {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        app.access.add_user(login, false, &roles, None).await.unwrap();
    }
    p
}

/// Starts one instance of `shape` through flowcal and works it; returns its id.
async fn real_instance(app: &App, who: &People, shape: Shape, title: &str, due: &str) -> i64 {
    let (route, owner) = match shape {
        Shape::OpenReview => ("clerks", "mia"),
        Shape::ApproveOpen | Shape::Approved => ("managers", "bob"),
        _ => ("clerks", "bob"),
    };
    let data: Map<String, Value> = [("due", json!(due)), ("route", json!(route)), ("owner", json!(owner))]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect();
    let w = &app.workflow;
    let v = w.start_instance(&who.alice, "case", title, &data).await.unwrap();
    let first = v.tasks[0].id;
    let none = Map::new();
    match shape {
        Shape::OpenReview | Shape::ApproveOpen => {}
        Shape::FileOpen => {
            w.complete(&who.carl, first, &none).await.unwrap();
        }
        Shape::Filed => {
            let v = w.complete(&who.carl, first, &none).await.unwrap();
            let file = v.tasks.iter().find(|t| t.step == "file").unwrap().id;
            w.complete(&who.bob, file, &none).await.unwrap();
        }
        Shape::Approved => {
            w.complete(&who.carol, first, &none).await.unwrap();
        }
        Shape::Cancelled => {
            w.cancel(&who.alice, v.instance.id).await.unwrap();
        }
    }
    v.instance.id.0
}

// ---- SQL on either backend, outside flowcal's store -------------------------------------------

enum Db {
    Lite(rusqlite::Connection),
    Pg(postgres::Client),
}

impl Db {
    fn open(url: &str) -> Db {
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.busy_timeout(Duration::from_secs(60)).unwrap();
                // As the store sets them.
                c.pragma_update(None, "journal_mode", "WAL").unwrap();
                c.pragma_update(None, "synchronous", "NORMAL").unwrap();
                c.pragma_update(None, "temp_store", "MEMORY").unwrap();
                c.pragma_update(None, "cache_size", -262_144).unwrap();
                Db::Lite(c)
            }
            None => Db::Pg(postgres::Client::connect(url, postgres::NoTls).unwrap()),
        }
    }

    fn is_pg(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    fn exec(&mut self, sql: &str) {
        match self {
            Db::Lite(c) => c.execute_batch(sql).unwrap_or_else(|e| panic!("{e}: {sql}")),
            Db::Pg(c) => c.batch_execute(sql).unwrap_or_else(|e| panic!("{e}: {sql}")),
        }
    }

    /// The first column of every row, as integers.
    fn ints(&mut self, sql: &str) -> Vec<i64> {
        match self {
            Db::Lite(c) => {
                let mut s = c.prepare(sql).unwrap();
                s.query_map([], |r| r.get::<_, Option<i64>>(0)).unwrap().map(|v| v.unwrap().unwrap_or(0)).collect()
            }
            Db::Pg(c) => c.query(sql, &[]).unwrap().iter().map(|r| r.get::<_, Option<i64>>(0).unwrap_or(0)).collect(),
        }
    }

    fn int(&mut self, sql: &str) -> i64 {
        self.ints(sql).first().copied().unwrap_or(0)
    }

    fn text(&mut self, sql: &str) -> String {
        match self {
            Db::Lite(c) => c.query_row(sql, [], |r| r.get::<_, Option<String>>(0)).unwrap().unwrap_or_default(),
            Db::Pg(c) => c.query_one(sql, &[]).unwrap().get::<_, Option<String>>(0).unwrap_or_default(),
        }
    }

    /// Rows of the CTE `k(n)`: the integers `from..=to`.
    fn series(&self, from: usize, to: usize) -> String {
        if self.is_pg() {
            format!("WITH k(n) AS (SELECT generate_series(CAST({from} AS BIGINT), CAST({to} AS BIGINT)))")
        } else {
            format!("WITH RECURSIVE k(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM k WHERE n < {to})")
        }
    }

    /// The start of the day `date` (an SQL YYYY-MM-DD expression) in UTC, in
    /// milliseconds: the sort key of a date deadline (`tasks.deadline_sort`).
    fn day_ms(&self, date: &str) -> String {
        if self.is_pg() {
            format!("((CAST({date} AS DATE) - DATE '1970-01-01') * CAST(86400000 AS BIGINT))")
        } else {
            format!("(CAST(strftime('%s', {date}) AS INTEGER) * 1000)")
        }
    }

    /// `days` (an SQL integer expression) days after `start`, as YYYY-MM-DD.
    fn date_plus(&self, start: &str, days: &str) -> String {
        if self.is_pg() {
            format!("to_char(DATE '{start}' + CAST({days} AS INTEGER), 'YYYY-MM-DD')")
        } else {
            format!("date('{start}', '+' || ({days}) || ' days')")
        }
    }
}

async fn with_db<T: Send + 'static>(url: &str, f: impl FnOnce(&mut Db) -> T + Send + 'static) -> T {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || f(&mut Db::open(&url))).await.unwrap()
}

/// Copies instance `template` (with its tasks and events) `copies` times:
/// instance ids from `ib`, task ids from `tb`, event ids from `eb`.
/// Returns the next free ids.
fn copy_instance(
    db: &mut Db,
    template: i64,
    copies: usize,
    (ib, tb, eb): (i64, i64, i64),
    start: &str,
    now_ms: i64,
) -> (i64, i64, i64) {
    let nt = db.int(&format!("SELECT COUNT(*) FROM tasks WHERE instance_id = {template}"));
    let ne = db.int(&format!("SELECT COUNT(*) FROM events WHERE instance_id = {template}"));
    // Per copy n: its id, a due date within the year from `start` and a
    // creation time within the past year, both scattered over the ids.
    let id = format!("({ib} + k.n)");
    let day = format!("(({ib} + k.n) * 7919 % 365)");
    let due = db.date_plus(start, &day);
    let file = db.date_plus(start, &format!("{day} + 7"));
    let created = format!("({now_ms} - (({ib} + k.n) * 104729 % 31536000) * 1000)");
    let mut from = 0;
    while from < copies {
        let to = (from + BATCH).min(copies) - 1;
        let k = db.series(from, to);
        let instances = format!(
            "{k}
             INSERT INTO instances (id, model_id, title, starter, status, data, joins, stuck, created_at, ended_at)
             SELECT {id}, i.model_id, 'Case ' || {id}, i.starter, i.status,
                    replace(replace(i.data, '{TEMPLATE_FILE}', {file}), '{TEMPLATE_DUE}', {due}),
                    i.joins, i.stuck, {created}, i.ended_at - i.created_at + {created}
             FROM k CROSS JOIN instances i WHERE i.id = {template};"
        );
        let deadline_date = format!(
            "CASE tt.deadline_date WHEN '{TEMPLATE_DUE}' THEN {due} WHEN '{TEMPLATE_FILE}' THEN {file} ELSE tt.deadline_date END"
        );
        let deadline_sort = db.day_ms(&deadline_date);
        let tasks = format!(
            "{k}, tt AS (
                SELECT t.*, i.created_at AS base,
                       (SELECT COUNT(*) FROM tasks x WHERE x.instance_id = t.instance_id AND x.id < t.id) AS j
                FROM tasks t JOIN instances i ON i.id = t.instance_id WHERE t.instance_id = {template})
             INSERT INTO tasks (id, instance_id, step, name, assignee, role, state, started_at, deadline_date,
                                deadline_at, deadline_zone, deadline_calendar, ended_at, ended_by, deadline_sort)
             SELECT {tb} + k.n * {nt} + tt.j, {id}, tt.step, tt.name, tt.assignee, tt.role, tt.state,
                    tt.started_at - tt.base + {created},
                    {deadline_date},
                    tt.deadline_at, tt.deadline_zone, tt.deadline_calendar, tt.ended_at - tt.base + {created}, tt.ended_by,
                    CASE WHEN tt.deadline_date IS NULL THEN tt.deadline_sort ELSE {deadline_sort} END
             FROM k CROSS JOIN tt;"
        );
        let events = format!(
            "{k}, ee AS (
                SELECT e.*, i.created_at AS base, i.title AS title0,
                       (SELECT COUNT(*) FROM events x WHERE x.instance_id = e.instance_id AND x.id < e.id) AS j,
                       (SELECT COUNT(*) FROM tasks x WHERE x.instance_id = e.instance_id AND x.id < e.task_id) AS tj
                FROM events e JOIN instances i ON i.id = e.instance_id WHERE e.instance_id = {template})
             INSERT INTO events (id, instance_id, task_id, kind, payload, created_at)
             SELECT {eb} + k.n * {ne} + ee.j, {id},
                    CASE WHEN ee.task_id IS NULL THEN NULL ELSE {tb} + k.n * {nt} + ee.tj END, ee.kind,
                    replace(replace(replace(ee.payload, '{TEMPLATE_FILE}', {file}), '{TEMPLATE_DUE}', {due}),
                            '\"' || ee.title0 || '\"', '\"Case ' || {id} || '\"'),
                    ee.created_at - ee.base + {created}
             FROM k CROSS JOIN ee;"
        );
        db.exec(&format!("BEGIN; {instances} {tasks} {events} COMMIT;"));
        from = to + 1;
    }
    let copies = copies as i64;
    (ib + copies, tb + copies * nt, eb + copies * ne)
}

/// What the seeding made, counted with SQL.
fn counts(db: &mut Db) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let instances = db.int("SELECT COUNT(*) FROM instances");
    let tasks = db.int("SELECT COUNT(*) FROM tasks");
    out.push(("instances", instances.to_string()));
    for status in ["running", "completed", "cancelled"] {
        let c = db.int(&format!("SELECT COUNT(*) FROM instances WHERE status = '{status}'"));
        out.push(("  by status", format!("{status}: {c}")));
    }
    out.push(("tasks", tasks.to_string()));
    out.push(("tasks per instance", format!("{:.2}", tasks as f64 / instances.max(1) as f64)));
    for state in ["open", "done", "cancelled"] {
        let c = db.int(&format!("SELECT COUNT(*) FROM tasks WHERE state = '{state}'"));
        out.push(("  by state", format!("{state}: {c}")));
    }
    // Every copied deadline has its sort key, as flowcal writes it.
    let unsorted = db.int(
        "SELECT COUNT(*) FROM tasks WHERE (deadline_date IS NOT NULL OR deadline_at IS NOT NULL)
                                   AND deadline_sort = 9223372036854775807",
    );
    assert_eq!(unsorted, 0, "tasks with a deadline but no sort key");
    let mia = db.int("SELECT COUNT(*) FROM tasks WHERE state = 'open' AND assignee IS NULL AND role = 'clerks'");
    out.push(("open, unclaimed, role clerks (mia sees)", mia.to_string()));
    out.push((
        "tasks with role clerks (any state)",
        db.int("SELECT COUNT(*) FROM tasks WHERE role = 'clerks'").to_string(),
    ));
    out.push(("events", db.int("SELECT COUNT(*) FROM events").to_string()));
    out.push((
        "open deadlines from",
        format!(
            "{} to {}",
            db.text("SELECT MIN(deadline_date) FROM tasks WHERE state = 'open'"),
            db.text("SELECT MAX(deadline_date) FROM tasks WHERE state = 'open' AND deadline_date < '2030-01-01'")
        ),
    ));
    let orphans = db.int(
        "SELECT (SELECT COUNT(*) FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = t.instance_id))
              + (SELECT COUNT(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = e.instance_id))
              + (SELECT COUNT(*) FROM events e WHERE e.task_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = e.task_id AND t.instance_id = e.instance_id))",
    );
    assert_eq!(orphans, 0, "every copied task and event belongs to its copied instance");
    out
}

/// The database's size in bytes (SQLite: the file and its WAL after a checkpoint).
fn db_size(db: &mut Db, sqlite_file: Option<&Path>) -> u64 {
    match sqlite_file {
        Some(file) => {
            db.exec("PRAGMA wal_checkpoint(TRUNCATE);");
            let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            len(file.to_owned()) + len(PathBuf::from(format!("{}-wal", file.display())))
        }
        None => db.int("SELECT CAST(pg_database_size(current_database()) AS BIGINT)") as u64,
    }
}

// ---- load ------------------------------------------------------------------------------------

/// What one `wrk` run measured.
#[derive(Clone, Debug, Default)]
struct Load {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    non_2xx: u64,
    statuses: String,
    socket_errors: u64,
}

impl Load {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }
    fn errors(&self) -> u64 {
        self.non_2xx + self.socket_errors
    }
}

/// What every run of `load.lua` is given besides its mode (the arguments after `--`).
struct Session<'a> {
    token: &'a str,
    cookie: &'a str,
    admin: &'a str,
    tasks: &'a Path,
    instances: &'a Path,
}

/// `wrk` with `load.lua` in `mode`: completes take the ids of `pool`; each
/// connection waits `delay_ms` after each answer.
async fn wrk(base: &str, seconds: u64, s: &Session<'_>, mode: &str, pool: &Path, delay_ms: u32) -> Load {
    let lua = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scale/load.lua");
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
        "--timeout",
        "60s",
        "-s",
        lua,
    ])
    .arg(base)
    .args(["--", mode, "2", s.token, s.cookie, s.admin])
    .args([s.tasks, pool, s.instances])
    .arg(delay_ms.to_string());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("wrk must be installed (apt-get install wrk)"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("SCALE_RESULT "))
        .unwrap_or_else(|| panic!("wrk printed no result: {text}"));
    let v: Value = serde_json::from_str(line).unwrap();
    let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Load {
        requests: n("requests") as u64,
        seconds: n("duration_us") / 1e6,
        p50_ms: n("p50_us") / 1e3,
        p99_ms: n("p99_us") / 1e3,
        max_ms: n("max_us") / 1e3,
        non_2xx: n("non2xx") as u64,
        statuses: v["statuses"].as_str().unwrap_or("").trim().to_owned(),
        socket_errors: (n("connect") + n("read") + n("write") + n("timeout")) as u64,
    }
}

fn report_load(label: &str, l: &Load) {
    println!(
        "{label}: {} requests in {:.1} s, p50 {:.1} ms, p99 {:.1} ms, {:.1}/s, errors {} {}",
        l.requests,
        l.seconds,
        l.p50_ms,
        l.p99_ms,
        l.rate(),
        l.errors(),
        l.statuses
    );
}

fn write_ids(path: &Path, ids: &[i64]) {
    let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Signs mia in through `POST /login`; returns the `Cookie` header's value.
async fn session_cookie(base: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r =
        http.post(format!("{base}/login")).form(&[("login", "mia"), ("password", MIA_PASSWORD)]).send().await.unwrap();
    assert_eq!(r.status(), 303, "sign-in");
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// One backend's figures.
struct Report {
    backend: &'static str,
    goal_ms: f64,
    instances: i64,
    seed_seconds: f64,
    size: u64,
    loads: Vec<(String, Load)>,
    mixed: Load,
    mix_delivered: usize,
    backlog: i64,
    drain_seconds: f64,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    backend: &'static str,
    goal_ms: f64,
    database_url: &str,
    dir: &Path,
    n: usize,
    seconds: u64,
    mix_minutes: u64,
    caldav_port: u16,
    puts: &std::sync::atomic::AtomicUsize,
) -> Report {
    println!("\n=== {backend}: {n} instances ===");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
         database_url = \"{database_url}\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{caldav_port}\"]\n\
         [delivery]\nworkers = 1\n",
        dir.display()
    );
    let app =
        flowcal_server::build(Config::from_parts(&toml, "bench", &[]).unwrap(), Arc::new(SystemClock)).await.unwrap();
    let who = people(&app).await;
    app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();

    // Real instances of every shape; the first of each (due TEMPLATE_DUE) is copied.
    let seeding = Instant::now();
    let plan = shape_counts(n);
    let today = jiff::Zoned::now().date();
    let start = today.checked_sub(jiff::Span::new().days(182)).unwrap().to_string();
    let mut templates = Vec::new();
    let mut real = 0;
    for (s, count) in &plan {
        let reals = REAL_PER_SHAPE.min(*count);
        let mut template = None;
        for i in 0..reals {
            let (title, due) = if i == 0 {
                (format!("Case template {s:?}"), TEMPLATE_DUE.to_owned())
            } else {
                let due = today.checked_add(jiff::Span::new().days((i as i64 * 53) % 365 - 182)).unwrap();
                (format!("Case {s:?} {i}"), due.to_string())
            };
            let id = real_instance(&app, &who, *s, &title, &due).await;
            template.get_or_insert(id);
        }
        real += reals;
        if let Some(t) = template {
            templates.push((t, count - reals));
        }
    }
    println!("{real} instances started and worked through flowcal in {:.1} s", seeding.elapsed().as_secs_f64());
    let copying = Instant::now();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    with_db(database_url, move |db| {
        let max = |db: &mut Db, t: &str| db.int(&format!("SELECT MAX(id) FROM {t}")) + 1;
        let mut next = (max(db, "instances"), max(db, "tasks"), max(db, "events"));
        for (template, copies) in templates {
            next = copy_instance(db, template, copies, next, &start, now_ms);
        }
        if db.is_pg() {
            // Identity columns go on after the explicit ids; statistics as autovacuum would make them.
            for t in ["instances", "tasks", "events"] {
                db.exec(&format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}));"));
            }
        }
    })
    .await;
    println!("copied in SQL in {:.1} s", copying.elapsed().as_secs_f64());
    if database_url.starts_with("postgres") {
        let t = Instant::now();
        with_db(database_url, |db| db.exec("VACUUM ANALYZE")).await;
        println!("VACUUM ANALYZE (what autovacuum would do) took {:.1} s", t.elapsed().as_secs_f64());
    }
    let seed_seconds = seeding.elapsed().as_secs_f64();
    println!("seeded in {seed_seconds:.1} s");

    let sqlite_file = database_url.strip_prefix("sqlite://").map(PathBuf::from);
    let (counted, size, instances) = with_db(database_url, move |db| {
        let c = counts(db);
        let size = db_size(db, sqlite_file.as_deref());
        (c, size, db.int("SELECT COUNT(*) FROM instances"))
    })
    .await;
    for (what, value) in &counted {
        println!("  {what:<42} {value}");
    }
    println!(
        "database size {:.1} MB, {:.0} bytes per instance",
        size as f64 / 1e6,
        size as f64 / instances.max(1) as f64
    );

    // Mia: auto-sync to the CalDAV double; tokens; her session.
    let mia = app.access.update_settings(&who.mia, None, Some(true), None).await.unwrap();
    let mia = Principal { user: mia, roles: who.mia.roles.clone() };
    let (acc, _) =
        app.access.connect_caldav(&mia, &format!("http://127.0.0.1:{caldav_port}/"), "mia", "secret").await.unwrap();
    app.access.choose_calendar(&mia, acc.id, "own").await.unwrap();
    app.exports.set_auto_sync(&mia, Some((acc.id, None, false))).await.unwrap();
    let token = app.access.create_token("mia", "bench").await.unwrap();
    let admin = app.access.create_token("alice", "bench").await.unwrap();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    let server = tokio::spawn(async move {
        flowcal_server::serve(served, listener, async move {
            let _ = stopped.await;
        })
        .await
    });
    let base = format!("http://127.0.0.1:{port}");
    let cookie = session_cookie(&base).await;

    // What one request of each list answers (before paging: every open task).
    let http = reqwest::Client::new();
    let t = Instant::now();
    let r = http.get(format!("{base}/api/v1/tasks?state=open&limit=50")).bearer_auth(&token).send().await.unwrap();
    assert!(r.status().is_success(), "GET /api/v1/tasks: {}", r.status());
    let body: Value = r.json().await.unwrap();
    let listed = body["tasks"].as_array().map_or(0, Vec::len);
    println!(
        "GET /api/v1/tasks?state=open&limit=50 alone: {listed} tasks, next_cursor {}, {:.0} ms",
        if body.get("next_cursor").is_some() { "present" } else { "absent" },
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let r = http.get(format!("{base}/tasks")).header("cookie", &cookie).send().await.unwrap();
    assert!(r.status().is_success(), "GET /tasks: {}", r.status());
    let page = r.text().await.unwrap();
    println!(
        "GET /tasks alone: {} rows, {:.1} kB, {:.0} ms",
        page.matches("<tr").count().saturating_sub(1),
        page.len() as f64 / 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );

    // Open tasks mia may complete: the task pages read all of them; 60 % go
    // to the complete load, the rest to the mixed load.
    let mut open = with_db(database_url, |db| {
        db.ints("SELECT id FROM tasks WHERE state = 'open' AND assignee IS NULL AND role = 'clerks'")
    })
    .await;
    open.shuffle(&mut rand::thread_rng());
    let split = open.len() * 3 / 5;
    let files = tempfile::tempdir().unwrap();
    let (tasks_file, complete_pool, mixed_pool, instances_file) = (
        files.path().join("tasks"),
        files.path().join("complete"),
        files.path().join("mixed"),
        files.path().join("instances"),
    );
    write_ids(&tasks_file, &open);
    write_ids(&complete_pool, &open[..split]);
    write_ids(&mixed_pool, &open[split..]);
    let session =
        Session { token: &token, cookie: &cookie, admin: &admin, tasks: &tasks_file, instances: &instances_file };
    write_ids(&instances_file, &[]);
    let mut loads: Vec<(String, Load)> = Vec::new();
    for (label, mode) in [
        ("My tasks, API (GET /api/v1/tasks?state=open&limit=50)", "api_list"),
        ("My tasks, page (GET /tasks)", "page_list"),
        ("task page (GET /tasks/{id})", "task_page"),
        ("complete (POST /api/v1/tasks/{id}/complete)", "complete"),
    ] {
        let l = wrk(&base, seconds, &session, mode, &complete_pool, 0).await;
        report_load(label, &l);
        loads.push((label.to_owned(), l));
    }

    // The completes made deliveries (mia owns the next step, auto-synced):
    // let the worker catch up, so the mixed load starts from an empty outbox.
    let pending = |url: String| async move {
        with_db(&url, |db| db.int("SELECT COUNT(*) FROM exports WHERE state = 'pending'")).await
    };
    let t = Instant::now();
    let mut left = pending(database_url.to_owned()).await;
    println!("outbox after the complete load: {left} pending");
    while left > 0 && t.elapsed() < Duration::from_secs(900) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        left = pending(database_url.to_owned()).await;
    }
    let drain_seconds = t.elapsed().as_secs_f64();
    println!("outbox drained to {left} pending in {drain_seconds:.0} s");
    if database_url.starts_with("postgres") {
        // The completes grew the exports from none to thousands: autovacuum would
        // analyze it now (it is off on some servers, this machine's among them).
        let t = Instant::now();
        with_db(database_url, |db| db.exec("ANALYZE")).await;
        println!("ANALYZE (what autovacuum would do) took {:.1} s", t.elapsed().as_secs_f64());
    }

    // The task page again, now that mia keeps an entry in her calendar for
    // every case she completed (the page reads her calendar entries).
    let entries = with_db(database_url, |db| {
        db.int("SELECT COUNT(*) FROM exports e JOIN users u ON u.id = e.user_id WHERE u.login = 'mia'")
    })
    .await;
    let label = format!("task page, mia with {entries} calendar entries");
    let l = wrk(&base, seconds, &session, "task_page", &complete_pool, 0).await;
    report_load(&label, &l);
    loads.push((label, l));

    // Data changes go to cases whose filing mia owns: each moves a deadline in her calendar.
    let mut owned = with_db(database_url, |db| {
        db.ints("SELECT instance_id FROM tasks WHERE state = 'open' AND assignee = 'mia' AND step = 'file'")
    })
    .await;
    if owned.is_empty() {
        // No complete went through: the cases mia may still review.
        owned = with_db(database_url, |db| {
            db.ints("SELECT instance_id FROM tasks WHERE state = 'open' AND assignee IS NULL AND role = 'clerks' LIMIT 1000")
        })
        .await;
    }
    owned.shuffle(&mut rand::thread_rng());
    write_ids(&instances_file, &owned);
    let before = puts.load(Ordering::Relaxed);
    let mixed = if mix_minutes == 0 {
        Load::default()
    } else {
        wrk(&base, mix_minutes * 60, &session, "mixed", &mixed_pool, MIX_DELAY_MS).await
    };
    let mix_delivered = puts.load(Ordering::Relaxed) - before;
    let backlog = pending(database_url.to_owned()).await;
    println!(
        "mixed load: {} requests in {:.0} s ({:.1}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms, errors {} {}; \
         {mix_delivered} entries delivered meanwhile, {backlog} pending at the end",
        mixed.requests,
        mixed.seconds,
        mixed.rate(),
        mixed.p50_ms,
        mixed.p99_ms,
        mixed.max_ms,
        mixed.errors(),
        mixed.statuses
    );

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    app.store.close();
    Report { backend, goal_ms, instances, seed_seconds, size, loads, mixed, mix_delivered, backlog, drain_seconds }
}

/// A fresh PostgreSQL database on the server of `base`; dropped with `drop_db`.
fn create_db(base: &str) -> (String, String) {
    let (server, _) = base.rsplit_once('/').unwrap();
    let name = format!("flowcal_scale_{:08x}", rand::random::<u32>());
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    (format!("{server}/{name}"), name)
}

fn drop_db(base: &str, name: &str) {
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter_map(|a| a.parse::<u64>().ok());
    let n = args.next().unwrap_or(1_000_000) as usize;
    let seconds = args.next().unwrap_or(30);
    let mix_minutes = args.next().unwrap_or(10);
    let only = std::env::var("FLOWCAL_SCALE_ONLY").unwrap_or_default();
    let (caldav_port, puts) = common::caldav_double().await;
    let mut reports = Vec::new();

    let keep = std::env::var("FLOWCAL_SCALE_KEEP").is_ok_and(|v| v == "1");
    if only.is_empty() || only == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("flowcal.db").display());
        reports.push(run("SQLite", 50.0, &url, dir.path(), n, seconds, mix_minutes, caldav_port, &puts).await);
        if keep {
            println!("kept: {url}");
            let _ = dir.keep();
        }
    }
    match std::env::var("FLOWCAL_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) if only.is_empty() || only == "postgres" => {
            let (url, name) = tokio::task::spawn_blocking({
                let base = base.clone();
                move || create_db(&base)
            })
            .await
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let report = run("PostgreSQL", 100.0, &url, dir.path(), n, seconds, mix_minutes, caldav_port, &puts).await;
            if keep {
                println!("kept: {url}");
            } else {
                tokio::task::spawn_blocking(move || drop_db(&base, &name)).await.unwrap();
            }
            reports.push(report);
        }
        Some(_) => {}
        None => println!("\nPostgreSQL: not measured (FLOWCAL_TEST_DATABASE_URL is not set)"),
    }

    println!();
    println!("{CONNECTIONS} connections, 2 wrk threads; each load {seconds} s, the mixed load {mix_minutes} min");
    println!("| backend | load | p50 ms | p99 ms | requests/s | errors | p99 goal |");
    println!("|---|---|---|---|---|---|---|");
    for r in &reports {
        let verdict = |l: &Load| {
            let ok = l.requests > 0 && l.p99_ms < r.goal_ms && l.errors() == 0;
            let why = if l.requests == 0 { " (no answer within the run)" } else { "" };
            format!("{} {:.0} ms{why}", if ok { "met," } else { "missed," }, r.goal_ms)
        };
        for (label, l) in &r.loads {
            println!(
                "| {} | {label} | {:.1} | {:.1} | {:.1} | {} | {} |",
                r.backend,
                l.p50_ms,
                l.p99_ms,
                l.rate(),
                l.errors(),
                verdict(l)
            );
        }
        let m = &r.mixed;
        if mix_minutes == 0 {
            continue;
        }
        println!(
            "| {} | mixed, paced to ~200/s, {mix_minutes} min; the worker delivered {} entries, {} pending at the end | {:.1} | {:.1} | {:.1} | {} | {} |",
            r.backend,
            r.mix_delivered,
            r.backlog,
            m.p50_ms,
            m.p99_ms,
            m.rate(),
            m.errors(),
            verdict(m)
        );
    }
    println!();
    println!("| backend | instances | seeding | database | per instance | outbox drain after the complete load |");
    println!("|---|---|---|---|---|---|");
    for r in &reports {
        println!(
            "| {} | {} | {:.0} s | {:.1} MB | {:.0} bytes | {:.0} s |",
            r.backend,
            r.instances,
            r.seed_seconds,
            r.size as f64 / 1e6,
            r.size as f64 / r.instances.max(1) as f64,
            r.drain_seconds
        );
    }
}
