//! Behaviour peer: the same BPMN files run through flowcal and SpiffWorkflow
//! (an independent BPMN engine, installed by `scripts/test`) must reach the
//! same user tasks in the same order.
//!
//! Both sides follow one protocol: at each round, list the open user tasks
//! sorted by BPMN id, complete the first with the scripted data, repeat.

use crate::support::{leave_model, repo_root, TestDb};
use flowcal_server::app::App;
use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::principal::Principal;
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

struct Case {
    name: &'static str,
    xml: String,
    start: Json,
    complete: Json,
}

fn sample(file: &str) -> String {
    std::fs::read_to_string(repo_root().join(file)).unwrap()
}

fn cases() -> Vec<Case> {
    let s = |f: &str| sample(&format!("tests/fixtures/bpmn-samples/supported/{f}"));
    let mut v = vec![
        Case {
            name: "three-step sequence",
            xml: sample("tests/peers/three-step.bpmn"),
            start: json!({}),
            complete: json!({}),
        },
        Case {
            name: "actiBPM sequence",
            xml: s("actibpm-sequence-user-tasks.bpmn"),
            start: json!({}),
            complete: json!({}),
        },
        Case {
            name: "Activiti pool with lanes",
            xml: s("activiti-designer-pool-two-lanes.bpmn"),
            start: json!({}),
            complete: json!({}),
        },
        Case {
            name: "Camunda 8 parallel",
            xml: s("camunda8-modeler-parallel-user-tasks.bpmn"),
            start: json!({}),
            complete: json!({}),
        },
    ];
    for skip in [false, true] {
        v.push(Case {
            name: if skip { "Camunda exclusive+parallel, skip" } else { "Camunda exclusive+parallel, no skip" },
            xml: s("camunda-modeler-parallel-exclusive-default.bpmn"),
            start: json!({"skipParallel": skip}),
            complete: json!({}),
        });
    }
    for (name, value) in
        [("Activiti XOR gotoA", "gotoA"), ("Activiti XOR gotoB", "gotoB"), ("Activiti XOR default", "elsewhere")]
    {
        v.push(Case {
            name,
            xml: s("activiti-modeler-exclusive-default.bpmn"),
            start: json!({"variable": value}),
            complete: json!({}),
        });
    }
    for (name, days, approved) in [("leave short", 3, true), ("leave approved", 10, true), ("leave refused", 10, false)]
    {
        v.push(Case {
            name,
            xml: leave_model().to_owned(),
            start: json!({"first_day": "2026-04-20", "days": days, "approved": false}),
            complete: json!({"approve": {"approved": approved}}),
        });
    }
    v
}

/// flowcal's rounds, through the real application and store.
async fn flowcal_rounds(app: &App, runner: &mut Principal, case: &Case) -> (Vec<Vec<String>>, bool) {
    let model = app.workflow.import_model(None, case.xml.as_bytes()).await.unwrap();
    // Data not declared by these tool-made models is implicit (from conditions) or unknown:
    // keep what the model knows.
    let (_, parsed) = app.workflow.model(model.id).await.unwrap();
    let known = |m: &Map<String, Json>| -> Map<String, Json> {
        m.iter().filter(|(k, _)| parsed.item(k).is_some()).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let v = app
        .workflow
        .start_instance(runner, &model.key, case.name, &known(case.start.as_object().unwrap()))
        .await
        .unwrap();
    let id = v.instance.id;
    let mut rounds = Vec::new();
    loop {
        let tasks = app.store.instance_tasks(id).await.unwrap();
        let mut open: Vec<_> = tasks.into_iter().filter(|t| t.state == flowcal_store::TaskState::Open).collect();
        if open.is_empty() {
            break;
        }
        open.sort_by(|a, b| a.step.cmp(&b.step));
        rounds.push(open.iter().map(|t| t.step.clone()).collect());
        let first = &open[0];
        if let Some(role) = &first.role {
            if !runner.roles.contains(role) {
                app.store.add_role(runner.user.id, role).await.unwrap();
                runner.roles.push(role.clone());
            }
        }
        let data = case.complete.get(&first.step).and_then(Json::as_object).map(known).unwrap_or_default();
        app.workflow.complete(runner, first.id, &data).await.unwrap();
        assert!(rounds.len() < 100, "{}: runs away", case.name);
    }
    let status = app.store.instance(id).await.unwrap().unwrap().status;
    (rounds, status == flowcal_engine::InstanceStatus::Completed)
}

fn spiff_rounds(python: &str, case: &Case, dir: &std::path::Path) -> (Vec<Vec<String>>, bool) {
    let model = dir.join("model.bpmn");
    let script = dir.join("script.json");
    std::fs::write(&model, &case.xml).unwrap();
    std::fs::write(&script, json!({"process": null, "start": case.start, "complete": case.complete}).to_string())
        .unwrap();
    let out = std::process::Command::new(python)
        .arg(repo_root().join("tests/peers/spiff_trace.py"))
        .arg(&model)
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: SpiffWorkflow failed: {}", case.name, String::from_utf8_lossy(&out.stderr));
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let rounds = v["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .collect();
    (rounds, v["completed"].as_bool().unwrap())
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
    let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
    let user = app.access.add_user("runner", false, &[], None).await.unwrap();
    let mut runner = Principal { user, roles: vec![] };
    let work = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for case in cases() {
        let ours = flowcal_rounds(&app, &mut runner, &case).await;
        let theirs = spiff_rounds(&python, &case, work.path());
        assert_eq!(ours, theirs, "{}: flowcal (left) and SpiffWorkflow (right) differ", case.name);
        assert!(ours.1, "{}: did not complete", case.name);
        assert!(!ours.0.is_empty());
        compared += 1;
    }
    eprintln!("flowcal and SpiffWorkflow agree on {compared} runs");
}
