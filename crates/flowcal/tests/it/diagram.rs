//! The process diagram on the model page and the task page: drawn on the
//! server from the file's diagram interchange (or laid out when it has
//! none), with the task's step current and the instance's finished steps done.

use crate::matrix::session;
use crate::support::{fixture, leave_model, TestApp, TestDb};
use serde_json::json;

async fn page(t: &TestApp, cookie: &str, path: &str) -> String {
    let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

/// The `<g …>` start tag of the step `id` in the page's diagram.
fn step_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!(r#" data-id="{id}">"#)).unwrap_or_else(|| panic!("no step {id} drawn"));
    let start = html[..at].rfind("<g ").unwrap();
    &html[start..at]
}

#[tokio::test]
async fn the_model_page_and_the_task_page_draw_the_process_with_the_current_step() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let xml = fixture("bpmn-samples/supported/camunda-modeler-parallel-exclusive-default.bpmn");
    let (s, m) = t.upload(&alice, &xml).await;
    assert_eq!(s, 201, "{m}");
    let cookie = session(&t, "alice").await;

    // The model page: the drawing from the file, above the steps it links to by id.
    let model = page(&t, &cookie, "/models/token_trial_parallel_simple").await;
    let svg = model.find("<svg ").expect("the diagram");
    assert!(svg < model.find("<h2>Steps</h2>").unwrap());
    assert!(model[svg..].starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" role="img""#));
    assert!(model.contains(r#"<title id="model-title">Diagram of token_trial_parallel_simple</title>"#));
    assert!(model.contains(r#"x="680" y="150" width="100" height="80""#), "Task P1 at its DI bounds");
    for (id, name) in
        [("Activity_1ghr6kd", "Set data"), ("UserTask_0fd3nql", "Task P1"), ("UserTask_1k9gxsc", "Task P2")]
    {
        assert_eq!(step_tag(&model, id), r#"<g class="step task user""#);
        assert!(model.contains(&format!(r#"<tr id="step-{id}">"#)), "{id} in the table");
        assert!(model.contains(&format!("<title>{name}</title>")));
    }
    assert!(!model.contains(" current\"") && !model.contains("laid the steps out"));

    // The task page: the step is current, its legend says so in words.
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "token_trial_parallel_simple", "title": "Trial", "data": {"skipParallel": false}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let first = inst["tasks"][0]["id"].as_i64().unwrap();
    let task = page(&t, &cookie, &format!("/tasks/{first}")).await;
    assert_eq!(step_tag(&task, "Activity_1ghr6kd"), r#"<g class="step task user current""#);
    assert!(task.contains("<title>Set data (current step)</title>"));
    assert!(task.contains("Framed: this task's step, <strong>Set data</strong>"), "{task}");
    assert!(task.contains("Tick: done (none yet)"));

    // Once it is done, the next task's page marks it done and the parallel one open.
    let (s, done) = t.post(&format!("/api/v1/tasks/{first}/complete"), &alice, json!({})).await;
    assert_eq!(s, 200, "{done}");
    let (_, inst) = t.get(&format!("/api/v1/instances/{}", inst["id"]), &alice).await;
    let p2 = inst["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == "UserTask_1k9gxsc" && t["state"] == "open")
        .unwrap_or_else(|| panic!("Task P2 open: {inst}"))["id"]
        .as_i64()
        .unwrap();
    let task = page(&t, &cookie, &format!("/tasks/{p2}")).await;
    assert_eq!(step_tag(&task, "UserTask_1k9gxsc"), r#"<g class="step task user current""#);
    assert_eq!(step_tag(&task, "UserTask_0fd3nql"), r#"<g class="step task user open""#);
    assert_eq!(step_tag(&task, "Activity_1ghr6kd"), r#"<g class="step task user done""#);
    assert_eq!(task.matches(" current\"").count(), 1);
    assert!(task.contains("Tick: done: Set data"), "{task}");
    assert!(task.contains("Dashed outline: open as well: Task P1"), "{task}");
}

#[tokio::test]
async fn a_model_without_a_diagram_is_laid_out_with_its_deadline_rules_on_hover() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let (s, m) = t.upload(&alice, leave_model()).await;
    assert_eq!(s, 201, "{m}");
    let cookie = session(&t, "alice").await;
    let model = page(&t, &cookie, "/models/leave").await;
    assert!(model.contains("This file has no diagram: flowcal laid the steps out"), "{model}");
    assert!(model.contains("(laid out by flowcal: the file has no diagram)</title>"));
    assert_eq!(step_tag(&model, "approve"), r#"<g class="step task user""#);
    assert!(model.contains("<title>Approve — deadline: P3D</title>"), "{model}");
}

#[tokio::test]
async fn a_model_version_is_read_for_drawing_once() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let (s, _) = t.upload(&alice, leave_model()).await;
    assert_eq!(s, 201);
    let id = t.app.store.latest_model_id("leave").await.unwrap().unwrap();
    let stored = t.app.store.model(id).await.unwrap().unwrap();
    let first = t.app.workflow.drawing(&stored).await;
    let again = t.app.workflow.drawing(&stored).await;
    assert!(first.is_ok() && std::sync::Arc::ptr_eq(&first, &again));
}
