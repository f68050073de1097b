//! Behaviour peer: the same BPMN files run through flowcal and SpiffWorkflow
//! (an independent BPMN engine, installed by `scripts/test`) must reach the
//! same user tasks in the same order, wait for the same timers, pass the same
//! milestones and end the same way.
//!
//! Both sides follow one protocol (`tests/peers/spiff_trace.py` says it in
//! full): each round lists the open user tasks sorted by BPMN id and the
//! waiting timers with the time each fires next, then takes the case's next
//! action: complete a task (by default the round's first), fire a timer (the
//! clock moves to one second after the timer's time, and every timer due by
//! then fires) or wait (the clock moves on by a duration, and what is due
//! fires). Once the actions are used up, the first task of each round is
//! completed until none is open.
//!
//! Time: flowcal runs on a [`FixedClock`] that each case sets to [`T0`] and
//! that only the actions move; timers fire through the application's timer
//! worker pass (`app.timers.fire_due`). The script gives SpiffWorkflow's timer
//! module a `datetime` whose `now()` reads a clock it moves the same way.
//!
//! Differences by design, made explicit:
//! - flowcal passes a plain `task` or `manualTask` straight through when
//!   nothing makes it a person's task (assignee, deadline, lane, potential
//!   owner or performer); SpiffWorkflow waits at every such task as a manual
//!   task. Each case lists those ids (`pass_through`); the script completes
//!   them as soon as they are ready, and the test checks that it met every
//!   one, so the list cannot go stale.
//! - SpiffWorkflow fires a timer only once its time is strictly past; flowcal
//!   fires it at its time. `fire` moves the clock one second past the time.
//! - SpiffWorkflow evaluates timer texts as Python and cannot run sequence
//!   flows without id (it drops the path after them): the script quotes ISO
//!   texts and names the flows, in its copy of the model.
//! - SpiffWorkflow copies data objects in and out of tasks and refuses an
//!   output association whose value the task did not produce; flowcal ignores
//!   data objects. The data case gives the values in the task's data, which
//!   flowcal leaves out (they are not data items of the model).
//!
//! Where the two disagree, and so no case here runs it:
//! - Two tokens that reach one embedded sub-process by two incoming flows
//!   (uncontrolled flow) start two instances of it in SpiffWorkflow, each left
//!   on its own, as BPMN 2.0 says (an activity is instantiated for each token
//!   that arrives); flowcal runs one instance of a sub-process at a time and
//!   stops the second token there with an incident, retried once the first
//!   instance has ended (flowcal's engine tests show it).
//! - When a task completes, SpiffWorkflow also cancels the open tasks that its
//!   non-interrupting cycle timer started; BPMN 2.0 runs a non-interrupting
//!   handler concurrently to the activity, and flowcal keeps them. The cycle
//!   case completes the reminders first.

use crate::support::{leave_model, repo_root, TestDb};
use flowcal_server::app::App;
use flowcal_server::clock::{Clock, FixedClock};
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use flowcal_store::TaskState;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

/// Where every case's clock starts (a Monday; no zone changes near it).
const T0: &str = "2026-04-06T08:00:00Z";

struct Case {
    name: &'static str,
    xml: String,
    start: Json,
    complete: Json,
    /// Plain and manual tasks flowcal passes through (SpiffWorkflow waits at them).
    pass_through: &'static [&'static str],
    /// The actions of the first rounds (see `spiff_trace.py`).
    actions: Json,
}

/// What one engine did, as both sides report it.
#[derive(Debug, PartialEq)]
struct Trace {
    rounds: Vec<Round>,
    completed: bool,
    milestones: Vec<String>,
}

#[derive(Debug, PartialEq)]
struct Round {
    tasks: Vec<String>,
    /// (timer event id, when it fires next, UTC to the second).
    timers: Vec<(String, String)>,
}

enum Action {
    /// Complete the open task with this id, or the round's first.
    Complete(Option<String>),
    Fire(String),
    Wait(SignedDuration),
}

impl Action {
    fn parse(v: &Json) -> Action {
        match v {
            Json::String(s) if s == "complete" => Action::Complete(None),
            Json::Object(m) if m.contains_key("complete") => {
                Action::Complete(Some(m["complete"].as_str().unwrap().into()))
            }
            Json::Object(m) if m.contains_key("fire") => Action::Fire(m["fire"].as_str().unwrap().into()),
            Json::Object(m) if m.contains_key("wait") => Action::Wait(m["wait"].as_str().unwrap().parse().unwrap()),
            other => panic!("unknown action {other}"),
        }
    }
}

fn sample(file: &str) -> String {
    std::fs::read_to_string(repo_root().join(file)).unwrap()
}

/// A case that completes the first open task of each round.
fn case(name: &'static str, xml: String) -> Case {
    Case { name, xml, start: json!({}), complete: json!({}), pass_through: &[], actions: json!([]) }
}

fn cases() -> Vec<Case> {
    let s = |f: &str| sample(&format!("tests/fixtures/bpmn-samples/supported/{f}"));
    let peer = |f: &str| sample(&format!("tests/peers/{f}"));
    let mut v = vec![
        case("three-step sequence", peer("three-step.bpmn")),
        case("actiBPM sequence", s("actibpm-sequence-user-tasks.bpmn")),
        case("Activiti pool with lanes", s("activiti-designer-pool-two-lanes.bpmn")),
        case("Camunda 8 parallel", s("camunda8-modeler-parallel-user-tasks.bpmn")),
    ];
    for skip in [false, true] {
        v.push(Case {
            start: json!({"skipParallel": skip}),
            ..case(
                if skip { "Camunda exclusive+parallel, skip" } else { "Camunda exclusive+parallel, no skip" },
                s("camunda-modeler-parallel-exclusive-default.bpmn"),
            )
        });
    }
    for (name, value) in
        [("Activiti XOR gotoA", "gotoA"), ("Activiti XOR gotoB", "gotoB"), ("Activiti XOR default", "elsewhere")]
    {
        v.push(Case { start: json!({"variable": value}), ..case(name, s("activiti-modeler-exclusive-default.bpmn")) });
    }
    for (name, days, approved) in [("leave short", 3, true), ("leave approved", 10, true), ("leave refused", 10, false)]
    {
        v.push(Case {
            start: json!({"first_day": "2026-04-20", "days": days, "approved": false}),
            complete: json!({"approve": {"approved": approved}}),
            ..case(name, leave_model().to_owned())
        });
    }
    v.extend([
        // Sub-processes: leaving one waits for every branch inside; they nest.
        case("sub-process with a parallel split inside", peer("subprocess-parallel.bpmn")),
        case("nested sub-processes beside a task", peer("nested-subprocesses.bpmn")),
        case("milestones", peer("milestones.bpmn")),
        // A terminate end event ends the open shipping task with the instance.
        Case {
            actions: json!([{"complete": "pack"}, {"complete": "withdraw"}]),
            ..case("terminate end cuts off a parallel branch", peer("terminate-parallel.bpmn"))
        },
        case("terminate end reached last", peer("terminate-parallel.bpmn")),
        // Inside a sub-process it ends the sub-process only; the budget stays open.
        Case {
            actions: json!([{"complete": "offer_a"}]),
            ..case("terminate end inside a sub-process", peer("terminate-subprocess.bpmn"))
        },
        case("terminate end inside a sub-process, last", peer("terminate-subprocess.bpmn")),
        Case {
            pass_through: &["receive", "file_copy", "archive", "notify"],
            ..case("plain and manual tasks", peer("pass-through-tasks.bpmn"))
        },
        // Three plain tasks in a process not marked executable: nothing waits.
        Case {
            pass_through: &[
                "_ec59e164-68b4-4f94-98de-ffb1c58a84af",
                "_820c21c0-45f3-473b-813f-06381cc637cd",
                "_e70a6fcb-913c-4a7b-a65d-e83adc73d69c",
            ],
            ..case("MIWG A.1.0 reference: plain tasks", sample("tests/fixtures/bpmn-miwg/reference/A.1.0.bpmn"))
        },
        // Bonita's export: plain tasks in a lane (the lane makes them tasks for its
        // role) and an empty ioSpecification.
        case("MIWG A.1.0 Bonita: tasks in a lane", sample("tests/fixtures/bpmn-miwg/bonita/A.1.0-export.bpmn")),
        Case { start: json!({"amount": 5000}), ..case("flows without id, large", peer("flows-without-id.bpmn")) },
        Case { start: json!({"amount": 50}), ..case("flows without id, small", peer("flows-without-id.bpmn")) },
        Case {
            complete: json!({"describe": {"DataObject_description": "Senior baker"},
                             "advertise": {"DataObject_advert": "We are hiring"}}),
            ..case("ioSpecification and data objects", peer("data-elements.bpmn"))
        },
        // Timers.
        Case {
            actions: json!([{"fire": "late"}]),
            ..case("interrupting boundary timer fires", peer("approval-timer.bpmn"))
        },
        Case {
            actions: json!(["complete", {"wait": "PT3H"}]),
            ..case("boundary timer of a task done in time", peer("approval-timer.bpmn"))
        },
        // The reminder's path goes on after the review it was attached to is done.
        Case {
            actions: json!([{"fire": "one_day"}, {"complete": "review"}, {"wait": "PT25H"}]),
            ..case("non-interrupting boundary timer fires", peer("reminder-timer.bpmn"))
        },
        // Reminders are done before the ticket: SpiffWorkflow drops the open reminders
        // of a cycle when its task completes (see the module doc).
        Case {
            actions: json!([{"fire": "hourly"}, {"fire": "hourly"}, {"wait": "PT3H"}]),
            ..case("non-interrupting cycle timer fires twice", peer("reminder-cycle.bpmn"))
        },
        Case {
            start: json!({"go_live": "2026-04-08T10:30:00+02:00"}),
            actions: json!(["complete", {"wait": "PT24H"}, {"fire": "until_go_live"}, "complete", {"fire": "day_after"}]),
            ..case("intermediate timer catch events", peer("wait-for-date.bpmn"))
        },
        Case {
            actions: json!([{"wait": "PT1H"}, {"fire": "count_day"}]),
            ..case("timer start event", peer("start-timer.bpmn"))
        },
    ]);
    v
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The clock moves to `to` (never back), and every timer due by then fires.
async fn advance(app: &App, clock: &FixedClock, to: Timestamp) {
    if to > clock.now() {
        clock.set(to);
    }
    let pass = app.timers.fire_due("peer-test").await.unwrap();
    assert_eq!(pass.failed, 0, "a timer failed to fire: {pass:?}");
}

/// flowcal's run, through the real application and store.
async fn flowcal_trace(app: &App, clock: &FixedClock, runner: &mut Principal, case: &Case) -> Trace {
    clock.set(T0.parse().unwrap());
    let model = app.workflow.import_model(Some(runner), case.xml.as_bytes()).await.unwrap();
    // Data not declared by these tool-made models is implicit (from conditions) or unknown:
    // keep what the model knows.
    let (_, parsed) = app.workflow.model(model.id).await.unwrap();
    let known = |m: &Map<String, Json>| -> Map<String, Json> {
        m.iter().filter(|(k, _)| parsed.item(k).is_some()).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    // A model with a start timer starts its instance when the timer fires.
    let mut id = if parsed.start_timer.is_some() {
        None
    } else {
        let start = known(case.start.as_object().unwrap());
        Some(app.workflow.start_instance(runner, &model.key, case.name, &start).await.unwrap().instance.id)
    };
    let mut actions = case.actions.as_array().unwrap().iter().map(Action::parse);
    let mut rounds = Vec::new();
    loop {
        if id.is_none() {
            let mine = app.store.tasks_for_user(runner.login(), &runner.roles, None).await.unwrap();
            id = mine.iter().find(|t| t.model_id == model.id).map(|t| t.instance_id);
        }
        let (mut open, mut timers) = (Vec::new(), Vec::new());
        if let Some(id) = id {
            let tasks = app.store.instance_tasks(id).await.unwrap();
            open = tasks.into_iter().filter(|t| t.state == TaskState::Open).collect();
            open.sort_by(|a, b| a.step.cmp(&b.step));
            let instance = app.store.instance(id).await.unwrap().unwrap();
            timers = instance.timers.iter().map(|t| (t.node.clone(), t.due)).collect();
        }
        if let (Some((_, due, _)), Some(start)) = (app.store.start_timer(&model.key).await.unwrap(), parsed.start()) {
            timers.push((start.id.clone(), due));
        }
        timers.sort();
        let action = match actions.next() {
            Some(a) => a,
            None if !open.is_empty() => Action::Complete(None),
            None => break,
        };
        rounds.push(Round {
            tasks: open.iter().map(|t| t.step.clone()).collect(),
            timers: timers.iter().map(|(node, due)| (node.clone(), utc(*due))).collect(),
        });
        assert!(rounds.len() < 100, "{}: runs away", case.name);
        match action {
            Action::Complete(wanted) => {
                let task = open
                    .iter()
                    .find(|t| wanted.as_ref().is_none_or(|w| &t.step == w))
                    .unwrap_or_else(|| panic!("{}: round {}: no open task {wanted:?}", case.name, rounds.len()));
                if let Some(role) = &task.role {
                    if !runner.roles.contains(role) {
                        app.store.add_role(runner.user.id, role).await.unwrap();
                        runner.roles.push(role.clone());
                    }
                }
                let data = case.complete.get(&task.step).and_then(Json::as_object).map(known).unwrap_or_default();
                app.workflow.complete(runner, task.id, &data).await.unwrap();
            }
            Action::Fire(node) => {
                let due =
                    timers.iter().filter(|(n, _)| *n == node).map(|(_, due)| *due).min().unwrap_or_else(|| {
                        panic!("{}: round {}: timer {node} is not waiting", case.name, rounds.len())
                    });
                advance(app, clock, due.checked_add(SignedDuration::from_secs(1)).unwrap()).await;
            }
            Action::Wait(d) => advance(app, clock, clock.now().checked_add(d).unwrap()).await,
        }
    }
    let Some(id) = id else { panic!("{}: no instance started", case.name) };
    let status = app.store.instance(id).await.unwrap().unwrap().status;
    let milestones = app
        .store
        .events(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "milestone_reached")
        .map(|e| e.payload["node"].as_str().unwrap().to_owned())
        .collect();
    Trace { rounds, completed: status == flowcal_engine::InstanceStatus::Completed, milestones }
}

/// SpiffWorkflow's run, and the pass-through tasks it completed.
fn spiff_trace(python: &str, case: &Case, dir: &std::path::Path) -> (Trace, Vec<String>) {
    let model = dir.join("model.bpmn");
    let script = dir.join("script.json");
    std::fs::write(&model, &case.xml).unwrap();
    let script_json = json!({"process": null, "start": case.start, "complete": case.complete,
                             "pass_through": case.pass_through, "now": T0, "actions": case.actions});
    std::fs::write(&script, script_json.to_string()).unwrap();
    let out = std::process::Command::new(python)
        .arg(repo_root().join("tests/peers/spiff_trace.py"))
        .arg(&model)
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: SpiffWorkflow failed: {}", case.name, String::from_utf8_lossy(&out.stderr));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let strings =
        |v: &Json| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect() };
    let rounds = v["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Round {
            tasks: strings(&r["tasks"]),
            timers: r["timers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
                .collect(),
        })
        .collect();
    let trace = Trace { rounds, completed: v["completed"].as_bool().unwrap(), milestones: strings(&v["milestones"]) };
    (trace, strings(&v["passed"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn flowcal_reaches_the_same_tasks_as_spiffworkflow() {
    let Some(python) = std::env::var("FLOWCAL_PEER_PYTHON").ok().filter(|s| !s.is_empty()) else {
        assert!(
            !cfg!(flowcal_peers) && std::env::var("FLOWCAL_REQUIRE_PEERS").is_err(),
            "FLOWCAL_REQUIRE_PEERS is set but FLOWCAL_PEER_PYTHON is not: the SpiffWorkflow peer is missing"
        );
        eprintln!("NOT RUN: the SpiffWorkflow comparison needs FLOWCAL_PEER_PYTHON (scripts/test installs it)");
        return;
    };
    let db = TestDb::sqlite();
    let data = tempfile::tempdir().unwrap();
    let config = Config::from_parts(
        &format!("data_dir = \"{}\"\ndatabase_url = \"{}\"", data.path().display(), db.url),
        "test",
        &[],
    )
    .unwrap();
    let clock = Arc::new(FixedClock::new(T0.parse().unwrap()));
    let app = flowcal_server::build(config, clock.clone()).await.unwrap();
    // A designer: models with a timer start event start instances in the uploader's name.
    let roles = ["designers".to_owned()];
    let user = app.access.add_user("runner", false, &roles, None).await.unwrap();
    let mut runner = Principal { user, roles: roles.to_vec() };
    let work = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for case in cases() {
        let ours = flowcal_trace(&app, &clock, &mut runner, &case).await;
        let (theirs, passed) = spiff_trace(&python, &case, work.path());
        assert_eq!(ours, theirs, "{}: flowcal (left) and SpiffWorkflow (right) differ", case.name);
        assert!(ours.completed, "{}: did not complete", case.name);
        for id in case.pass_through {
            assert!(
                passed.iter().any(|p| p == id),
                "{}: SpiffWorkflow never reached pass-through task {id}",
                case.name
            );
        }
        assert!(!ours.rounds.is_empty() || !passed.is_empty(), "{}: nothing was compared", case.name);
        compared += 1;
    }
    eprintln!("flowcal and SpiffWorkflow agree on {compared} runs");
}
