//! Timers of process models, in the application with a clock the test sets
//! (boundary timers, reminders, timer catch events, start timers; leases and
//! firing once among several workers), and in a real `flowcal serve` that
//! is killed with SIGKILL right before a timer is due.

use crate::access::Radicale;
use crate::api::steps;
use crate::on_both_backends;
use crate::support::{Peer, TestApp, TestDb};
use flowcal_server::timers::TimerPass;
use jiff::Timestamp;
use reqwest::Method;
use serde_json::{json, Value as Json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const NS: &str =
    r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1""#;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A process in Europe/Berlin: `body` plus `flowcal:dataItem`s `items`.
fn process(key: &str, items: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="d" targetNamespace="https://example.com">
  <bpmn:process id="{key}" name="{key}" isExecutable="true" flowcal:timeZone="Europe/Berlin">
    <bpmn:extensionElements>{items}</bpmn:extensionElements>
    {body}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// Approve (alice's, due two days after it starts); an interrupting timer at
/// its deadline moves the process on to Escalate (boss's, due a day later).
fn escalation(timer: &str) -> String {
    process(
        "esc",
        "",
        &format!(
            r#"<bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" flowcal:assignee="user:alice" flowcal:deadline="P2D"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    {timer}
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
    <bpmn:userTask id="escalate" name="Escalate" flowcal:assignee="user:boss" flowcal:deadline="P1D"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="escalated"/>
    <bpmn:endEvent id="escalated"/>"#
        ),
    )
}

const AT_DEADLINE: &str = r#"<bpmn:boundaryEvent id="late" attachedToRef="approve" flowcal:deadlineTimer="true">
      <bpmn:timerEventDefinition/>
    </bpmn:boundaryEvent>"#;

struct Case {
    t: TestApp,
    admin: String,
    alice: String,
}

async fn case(db: TestDb) -> Case {
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    t.user("boss", false, &[]).await;
    Case { t, admin, alice }
}

impl Case {
    async fn upload(&self, xml: &str) {
        let (s, b) = self.t.upload(&self.admin, xml).await;
        assert_eq!(s, 201, "{b}");
    }

    async fn start(&self, model: &str, data: Json) -> i64 {
        let (s, b) =
            self.t.post("/api/v1/instances", &self.alice, json!({"model": model, "title": "T", "data": data})).await;
        assert_eq!(s, 201, "{b}");
        b["id"].as_i64().unwrap()
    }

    async fn instance(&self, id: i64) -> Json {
        let (s, b) = self.t.get(&format!("/api/v1/instances/{id}"), &self.admin).await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// `(step, state)` of each task, in order.
    async fn tasks(&self, id: i64) -> Vec<(String, String)> {
        steps(&self.instance(id).await)
    }

    async fn dues(&self, id: i64) -> Vec<(String, String)> {
        let i = self.instance(id).await;
        i["timers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["node"].as_str().unwrap().to_owned(), t["due"].as_str().unwrap().to_owned()))
            .collect()
    }

    async fn event_kinds(&self, id: i64) -> Vec<String> {
        let (s, b) = self.t.get(&format!("/api/v1/instances/{id}/events"), &self.admin).await;
        assert_eq!(s, 200, "{b}");
        b["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
    }

    async fn fire_at(&self, at: &str) -> TimerPass {
        self.t.clock.set(t(at));
        self.t.app.timers.fire_due("test-worker").await.unwrap()
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

on_both_backends!(
    a_deadline_timer_escalates_once,
    a_reminder_repeats_until_the_task_is_done,
    a_timer_event_waits_for_a_date_item_and_follows_it,
    workers_fire_each_timer_once_and_a_dead_workers_lease_runs_out,
    a_start_timer_starts_an_instance_every_monday_at_nine,
);

async fn a_deadline_timer_escalates_once(db: TestDb) {
    let c = case(db).await;
    c.upload(&escalation(AT_DEADLINE)).await;
    // Friday 09:00 in Berlin; two days later is Sunday 09:00, after the
    // change to summer time that night: 07:00 UTC, not 08:00.
    let id = c.start("esc", json!({})).await;
    assert_eq!(c.dues(id).await, pairs(&[("late", "2026-03-29T07:00:00Z")]));

    let idle = c.fire_at("2026-03-29T06:59:59Z").await;
    assert_eq!(idle, TimerPass::default());
    assert_eq!(c.tasks(id).await, pairs(&[("approve", "open")]));

    // An operator sees a timer overdue by half a minute when no worker runs.
    c.t.clock.set(t("2026-03-29T07:00:30Z"));
    let metrics = c.t.app.metrics().await.unwrap();
    assert!(metrics.contains("flowcal_timers 1\n"), "{metrics}");
    assert!(metrics.contains("flowcal_timers_overdue_seconds 30\n"), "{metrics}");

    let pass = c.fire_at("2026-03-29T07:00:30Z").await;
    assert_eq!(pass.fired, 1, "{pass:?}");
    assert_eq!(c.tasks(id).await, pairs(&[("approve", "cancelled"), ("escalate", "open")]));
    let metrics = c.t.app.metrics().await.unwrap();
    assert!(metrics.contains("flowcal_timers 0\n") && metrics.contains("flowcal_timers_overdue_seconds 0\n"));
    assert!(c.dues(id).await.is_empty());
    let i = c.instance(id).await;
    let escalate = &i["tasks"][1];
    assert_eq!(escalate["assignee"], "boss");
    // The new step's deadline counts from when the timer fired.
    assert_eq!(escalate["deadline"]["at"], "2026-03-30T09:00:30+02:00");
    let kinds = c.event_kinds(id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "timer_fired").count(), 1, "{kinds:?}");
    assert!(kinds.contains(&"timer_started".to_owned()), "{kinds:?}");

    // Nothing is left to fire.
    assert_eq!(c.fire_at("2026-04-10T00:00:00Z").await, TimerPass::default());
    assert_eq!(c.tasks(id).await.len(), 2);

    // Done in time, the task takes its timer with it.
    let second = c.start("esc", json!({})).await;
    let (_, tasks) = c.t.get("/api/v1/tasks?state=open", &c.alice).await;
    let approve = tasks["tasks"].as_array().unwrap().iter().find(|t| t["instance"] == second).unwrap()["id"].clone();
    let (s, b) = c.t.post(&format!("/api/v1/tasks/{approve}/complete"), &c.alice, json!({"data": {}})).await;
    assert_eq!(s, 200, "{b}");
    assert!(c.dues(second).await.is_empty());
    assert!(c.event_kinds(second).await.contains(&"timer_cancelled".to_owned()));
    assert_eq!(c.fire_at("2026-05-01T00:00:00Z").await, TimerPass::default());
    assert_eq!(c.instance(second).await["status"], "completed");

    // Cancelling an instance cancels its timers.
    c.t.clock.set(t("2026-05-02T08:00:00Z"));
    let third = c.start("esc", json!({})).await;
    assert_eq!(c.dues(third).await.len(), 1);
    let (s, b) = c.t.post(&format!("/api/v1/instances/{third}/cancel"), &c.admin, json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert!(c.dues(third).await.is_empty());
    assert_eq!(c.fire_at("2026-06-01T00:00:00Z").await, TimerPass::default());
}

async fn a_reminder_repeats_until_the_task_is_done(db: TestDb) {
    let c = case(db).await;
    let remind = r#"<bpmn:boundaryEvent id="late" name="Daily reminder" attachedToRef="approve" cancelActivity="false" flowcal:deadlineTimer="true">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/P1D</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>"#;
    c.upload(&escalation(remind)).await;
    // The model says what its timer does.
    let (s, m) = c.t.get("/api/v1/models/esc", &c.alice).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m["timers"],
        json!([{"id": "late", "name": "Daily reminder", "kind": "boundary", "on": "approve", "interrupting": false,
                "when": "every P1D after the deadline"}])
    );
    // And its page shows it to designers.
    let cookie = crate::matrix::session(&c.t, "root").await;
    let page = c.t.client.get(format!("{}/models/esc", c.t.base)).header("cookie", cookie).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Daily reminder")
            && page.contains("which stays open")
            && page.contains("every P1D after the deadline"),
        "{page}"
    );
    let id = c.start("esc", json!({})).await;
    // The deadline is Sunday 09:00 (07:00 UTC); the reminders come every day after it at 09:00.
    assert_eq!(c.dues(id).await, pairs(&[("late", "2026-03-30T07:00:00Z")]));
    assert_eq!(c.fire_at("2026-03-30T06:00:00Z").await.fired, 0);
    assert_eq!(c.fire_at("2026-03-30T07:00:00Z").await.fired, 1);
    assert_eq!(c.tasks(id).await, pairs(&[("approve", "open"), ("escalate", "open")]));
    assert_eq!(c.dues(id).await, pairs(&[("late", "2026-03-31T07:00:00Z")]));
    // Days missed (flowcal was down) give one reminder, not one per day.
    assert_eq!(c.fire_at("2026-04-03T08:00:00Z").await.fired, 1);
    assert_eq!(c.dues(id).await, pairs(&[("late", "2026-04-04T07:00:00Z")]));
    assert_eq!(c.tasks(id).await.iter().filter(|(s, _)| s == "escalate").count(), 2);

    // Once Approve is done, the reminders stop.
    let i = c.instance(id).await;
    let approve = i["tasks"][0]["id"].as_i64().unwrap();
    let (s, b) = c.t.post(&format!("/api/v1/tasks/{approve}/complete"), &c.alice, json!({"data": {}})).await;
    assert_eq!(s, 200, "{b}");
    assert!(c.dues(id).await.is_empty());
    assert_eq!(c.fire_at("2026-04-20T08:00:00Z").await.fired, 0);
}

async fn a_timer_event_waits_for_a_date_item_and_follows_it(db: TestDb) {
    let c = case(db).await;
    let xml = process(
        "wait",
        r#"<flowcal:dataItem key="go_live" type="datetime" required="true"/>"#,
        r#"<bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="until"/>
    <bpmn:intermediateCatchEvent id="until" name="Go-live">
      <bpmn:timerEventDefinition><bpmn:timeDate>${go_live}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="until" targetRef="check"/>
    <bpmn:userTask id="check" name="Check" flowcal:assignee="starter"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="done"/>
    <bpmn:endEvent id="done"/>"#,
    );
    c.upload(&xml).await;
    let id = c.start("wait", json!({"go_live": "2026-04-01T10:00:00+02:00"})).await;
    assert!(c.tasks(id).await.is_empty());
    assert_eq!(c.dues(id).await, pairs(&[("until", "2026-04-01T08:00:00Z")]));
    // The date moves: the waiting timer follows.
    let (s, b) =
        c.t.call(
            Method::PATCH,
            &format!("/api/v1/instances/{id}/data"),
            &c.admin,
            Some(json!({"data": {"go_live": "2026-04-02T10:00:00+02:00"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(c.dues(id).await, pairs(&[("until", "2026-04-02T08:00:00Z")]));
    assert!(c.event_kinds(id).await.contains(&"timer_moved".to_owned()));
    assert_eq!(c.fire_at("2026-04-01T08:00:00Z").await.fired, 0);
    assert_eq!(c.fire_at("2026-04-02T08:00:00Z").await.fired, 1);
    assert_eq!(c.tasks(id).await, pairs(&[("check", "open")]));
}

async fn workers_fire_each_timer_once_and_a_dead_workers_lease_runs_out(db: TestDb) {
    let c = case(db).await;
    c.upload(&escalation(AT_DEADLINE)).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(c.start("esc", json!({})).await);
    }
    // A worker claimed two of them and died: they wait for its lease to end.
    c.t.clock.set(t("2026-03-29T07:00:00Z"));
    let until = t("2026-03-29T07:01:00Z");
    let dead = c.t.app.store.claim_timers("dead-worker", t("2026-03-29T07:00:00Z"), until, 2).await.unwrap();
    assert_eq!(dead.len(), 2);
    // Four workers at once fire the other four, each once.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let timers = c.t.app.timers.clone();
            tokio::spawn(async move { timers.fire_due(&format!("worker-{w}")).await.unwrap() })
        })
        .collect();
    let mut passes = Vec::new();
    for w in workers {
        passes.push(w.await.unwrap());
    }
    assert_eq!(passes.iter().map(|p| p.fired).sum::<usize>(), 4, "{passes:?}");
    assert_eq!(passes.iter().map(|p| p.failed).sum::<usize>(), 0, "{passes:?}");
    // After the lease, the dead worker's timers fire too.
    assert_eq!(c.fire_at("2026-03-29T07:00:59Z").await.fired, 0);
    assert_eq!(c.fire_at("2026-03-29T07:01:01Z").await.fired, 2);
    // The worker was only slow: firing what it claimed now does nothing.
    for claimed in &dead {
        assert!(!c.t.app.workflow.fire_timer(claimed).await.unwrap());
    }
    for id in ids {
        let tasks = c.tasks(id).await;
        assert_eq!(tasks, pairs(&[("approve", "cancelled"), ("escalate", "open")]), "instance {id}");
        assert_eq!(c.event_kinds(id).await.iter().filter(|k| *k == "timer_fired").count(), 1);
    }
}

async fn a_start_timer_starts_an_instance_every_monday_at_nine(db: TestDb) {
    let c = case(db).await;
    let weekly_with = |timer: &str, required: bool| {
        process(
            "weekly",
            &format!(r#"<flowcal:dataItem key="notes" type="text" required="{required}"/>"#),
            &format!(
                r#"<bpmn:startEvent id="monday">{timer}</bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="monday" targetRef="report"/>
    <bpmn:userTask id="report" name="Weekly report" flowcal:assignee="starter" flowcal:deadline="PT8H"/>
    <bpmn:sequenceFlow id="f2" sourceRef="report" targetRef="done"/>
    <bpmn:endEvent id="done"/>"#
            ),
        )
    };
    let weekly = |timer: &str| weekly_with(timer, false);
    let every_monday = r#"<bpmn:timerEventDefinition>
      <bpmn:timeCycle>R/2026-01-05T09:00:00/P7D</bpmn:timeCycle></bpmn:timerEventDefinition>"#;
    // Imported from the command line, nobody could be its starter.
    let e = c.t.app.workflow.import_model(None, weekly(every_monday).as_bytes()).await.unwrap_err();
    assert!(e.to_string().contains("timer start event"), "{e}");
    assert_eq!(c.t.app.store.start_timer("weekly").await.unwrap(), None);

    // It starts instances without data: an item it requires is refused.
    let (s, b) = c.t.upload(&c.admin, &weekly_with(every_monday, true)).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("requires the items notes"), "{b}");

    // Uploaded on Friday 2026-03-27 by a designer: the next Monday
    // 09:00 in Berlin is 07:00 UTC (summer time began on Sunday).
    let dora = c.t.user("dora", false, &["designers"]).await;
    let (s, b) = c.t.upload(&dora, &weekly(every_monday)).await;
    assert_eq!(s, 201, "{b}");
    let due = |c: &Case| {
        let store = c.t.app.store.clone();
        async move { store.start_timer("weekly").await.unwrap().map(|(_, due, fired)| (due.to_string(), fired)) }
    };
    assert_eq!(due(&c).await, Some(("2026-03-30T07:00:00Z".into(), 0)));
    assert_eq!(c.fire_at("2026-03-30T06:59:00Z").await.fired, 0);
    // A slow worker claims it; after its lease another fires it; the slow
    // one's late firing then starts nothing.
    let now = t("2026-03-30T07:00:00Z");
    let slow = c.t.app.store.claim_timers("slow", now, t("2026-03-30T07:01:00Z"), 10).await.unwrap();
    assert_eq!(slow.len(), 1);
    assert_eq!(c.fire_at("2026-03-30T07:00:00Z").await.fired, 0);
    assert_eq!(c.fire_at("2026-03-30T07:01:01Z").await.fired, 1);
    assert!(!c.t.app.workflow.fire_timer(&slow[0]).await.unwrap());
    assert_eq!(c.fire_at("2026-03-30T07:02:00Z").await.fired, 0);
    assert_eq!(due(&c).await, Some(("2026-04-06T07:00:00Z".into(), 1)));
    // The instance is dora's: she is its starter and has its task.
    let (_, tasks) = c.t.get("/api/v1/tasks?state=open", &dora).await;
    let tasks = tasks["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!((tasks[0]["step"].as_str(), tasks[0]["assignee"].as_str()), (Some("report"), Some("dora")));
    let instance = c.instance(tasks[0]["instance"].as_i64().unwrap()).await;
    assert_eq!(instance["starter"], "dora");
    assert_eq!(instance["title"], "weekly 2026-03-30 09:01");

    // A new version without the timer stops it.
    let (s, b) = c.t.upload(&dora, &weekly("")).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(due(&c).await, None);
    assert_eq!(c.fire_at("2026-04-06T07:00:00Z").await.fired, 0);
}

// ---- a real `flowcal serve`, killed before a timer is due -----------------------------------

/// `flowcal ARGS` in `dir` (which holds flowcal.toml), without this process's `FLOWCAL_*` variables.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcal"));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWCAL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("FLOWCAL_LOG", "warn");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = command(dir, args).output().unwrap();
    assert!(out.status.success(), "flowcal {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Served {
    base: String,
    client: reqwest::Client,
}

impl Served {
    async fn start(dir: &Path, port: u16) -> (Peer, Served) {
        let server = Peer::spawn(command(dir, &["serve"]).stdout(Stdio::null()).stderr(Stdio::null())).unwrap();
        let s = Served { base: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() };
        for _ in 0..400 {
            if s.client.get(format!("{}/healthz", s.base)).send().await.is_ok_and(|r| r.status() == 200) {
                return (server, s);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("flowcal serve did not answer /healthz");
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Json>) -> (u16, Json) {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        crate::support::read(req.send().await.unwrap()).await
    }

    /// Polls until `f` holds of the instance, for at most a minute.
    async fn until(&self, token: &str, id: i64, what: &str, f: impl Fn(&Json) -> bool) -> Json {
        let mut last = Json::Null;
        for _ in 0..600 {
            let (s, b) = self.call(Method::GET, &format!("/api/v1/instances/{id}"), token, None).await;
            if s == 200 && f(&b) {
                return b;
            }
            last = b;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance {id}: {what} did not happen within a minute: {last}");
    }
}

on_both_backends!(peers: a_served_timer_escalates_to_the_calendar_and_survives_a_kill);

async fn a_served_timer_escalates_to_the_calendar_and_survives_a_kill(db: TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        d.join("flowcal.toml"),
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\ndatabase_url = \"{}\"\ntime_zone = \"Europe/Berlin\"\n\
             [caldav]\nallowed_hosts = [\"127.0.0.1:{}\"]\n",
            d.join("data").display(),
            db.url,
            radicale.port
        ),
    )
    .unwrap();
    run(d, &["migrate"]);
    run(d, &["user", "add", "root", "--admin"]);
    run(d, &["user", "add", "alice"]);
    run(d, &["user", "add", "bob"]);
    let [root, alice, bob] = ["root", "alice", "bob"].map(|u| run(d, &["token", "create", u]));

    let (mut server, s) = Served::start(d, port).await;
    // bob keeps his deadlines on his CalDAV calendar.
    let on = json!({"calendar_export": true});
    assert_eq!(s.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(on)).await.0, 200);
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "bob",
                         "password": "app-password-2"});
    let (st, acc) = s.call(Method::POST, "/api/v1/calendar-accounts/caldav", &bob, Some(connect)).await;
    assert_eq!(st, 201, "{acc}");
    let sync = json!({"auto_sync": {"account": acc["id"], "calendar": "own"}});
    let (st, b) = s.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(sync)).await;
    assert_eq!(st, 200, "{b}");

    // Approve is alice's; if she has not done it eight seconds after it
    // starts, it goes to bob.
    let xml = process(
        "esc",
        "",
        r#"<bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" flowcal:assignee="user:alice"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="late" attachedToRef="approve">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT8S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>
    <bpmn:userTask id="escalate" name="Escalate" flowcal:assignee="user:bob" flowcal:deadline="P1D"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="escalated"/>
    <bpmn:endEvent id="escalated"/>"#,
    );
    let upload = s
        .client
        .post(format!("{}/api/v1/models", s.base))
        .bearer_auth(&root)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201, "{}", upload.text().await.unwrap());
    let start = |title: &str| json!({"model": "esc", "title": title, "data": {}});

    // 1. The served timer fires during the test; bob's new step reaches his calendar.
    let (st, first) = s.call(Method::POST, "/api/v1/instances", &alice, Some(start("first"))).await;
    assert_eq!(st, 201, "{first}");
    let first = first["id"].as_i64().unwrap();
    let done = s.until(&root, first, "the escalation", |i| steps(i).len() == 2).await;
    assert_eq!(steps(&done), [("approve".into(), "cancelled".into()), ("escalate".into(), "open".into())]);
    let escalate = done["tasks"][1]["id"].as_i64().unwrap();
    let source = format!("task:{escalate}:deadline");
    let mut synced = Json::Null;
    for _ in 0..600 {
        let (_, list) = s.call(Method::GET, "/api/v1/exports", &bob, None).await;
        if let Some(e) = list["exports"].as_array().unwrap().iter().find(|e| e["source"] == source) {
            if e["state"] == "synced" {
                synced = e.clone();
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let href = synced["remote_id"].as_str().unwrap_or_else(|| panic!("bob's entry was not delivered: {synced}"));
    let url =
        if href.starts_with("http") { href.to_owned() } else { format!("http://127.0.0.1:{}{href}", radicale.port) };
    let ics = reqwest::Client::new().get(url).basic_auth("bob", Some("app-password-2")).send().await.unwrap();
    assert_eq!(ics.status(), 200);
    let ics = ics.text().await.unwrap();
    assert!(ics.contains("SUMMARY:Escalate — first"), "{ics}");

    // 2. Killed with SIGKILL while the timer waits, flowcal fires it once after it comes back.
    let (st, second) = s.call(Method::POST, "/api/v1/instances", &alice, Some(start("second"))).await;
    assert_eq!(st, 201, "{second}");
    let second = second["id"].as_i64().unwrap();
    let (_, before) = s.call(Method::GET, &format!("/api/v1/instances/{second}"), &root, None).await;
    server.child().kill().unwrap();
    server.child().wait().unwrap();
    assert_eq!(steps(&before), [("approve".into(), "open".into())], "the timer fired before the kill");
    let due: Timestamp = before["timers"][0]["due"].as_str().unwrap().parse().unwrap();
    // Down until the timer is past due.
    while Timestamp::now() <= due {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut server, s) = Served::start(d, port).await;
    let done = s.until(&root, second, "the escalation after the restart", |i| steps(i).len() == 2).await;
    assert_eq!(steps(&done), [("approve".into(), "cancelled".into()), ("escalate".into(), "open".into())]);
    assert!(done["timers"].as_array().unwrap().is_empty());
    let (_, events) = s.call(Method::GET, &format!("/api/v1/instances/{second}/events"), &root, None).await;
    let fired = events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "timer_fired").count();
    assert_eq!(fired, 1, "{events}");
    server.stop();
}
