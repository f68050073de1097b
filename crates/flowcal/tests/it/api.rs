//! The JSON API, black-box: the real application on a random port.

use crate::on_both_backends;
use crate::support::{fixture, leave_model, read, TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value as Json};

/// `(step, state)` of an instance's tasks, in order.
pub(crate) fn steps(instance: &Json) -> Vec<(String, String)> {
    instance["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["step"].as_str().unwrap().to_owned(), t["state"].as_str().unwrap().to_owned()))
        .collect()
}

fn open_task(instance: &Json, step: &str) -> i64 {
    instance["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["step"] == step && t["state"] == "open")
        .unwrap_or_else(|| panic!("no open {step} in {instance}"))["id"]
        .as_i64()
        .unwrap()
}

/// The whole life of a leave request, as its people see it.
async fn leave_request_story(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let alice = t.user("alice", true, &[]).await;
    let bob = t.user("bob", false, &["managers"]).await;
    let carol = t.user("carol", false, &["managers", "hr"]).await;
    let dave = t.user("dave", false, &[]).await;

    let (s, m) = t.upload(&alice, leave_model()).await;
    assert_eq!((s, &m), (201, &json!({"key": "leave", "version": 1, "name": "Leave request"})));

    // 09:00 in Berlin on Friday 27 March 2026; summer time starts on Sunday the 29th.
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &dave,
            json!({"model": "leave", "title": "Easter holiday", "data": {"first_day": "2026-04-20", "days": 8}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let id = inst["id"].as_i64().unwrap();
    assert_eq!(inst["status"], "running");
    assert_eq!(steps(&inst), [("approve".into(), "open".into())]);
    let approve = open_task(&inst, "approve");
    // P3D keeps the wall-clock time across the DST change.
    assert_eq!(inst["tasks"][0]["deadline"], json!({"at": "2026-03-30T09:00:00+02:00", "zone": "Europe/Berlin"}));

    // The managers see it; dave (starter, no role) does not have it in his list.
    let (_, list) = t.get("/api/v1/tasks?state=open", &bob).await;
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(list["tasks"][0]["assignee"], Json::Null);
    assert_eq!(list["tasks"][0]["role"], "managers");
    let (_, list) = t.get("/api/v1/tasks?state=open", &dave).await;
    assert!(list["tasks"].as_array().unwrap().is_empty());

    // Bob claims; carol no longer sees it, and completing it tells her it was claimed.
    let (s, task) = t.post(&format!("/api/v1/tasks/{approve}/claim"), &bob, json!({})).await;
    assert_eq!((s, task["assignee"].as_str()), (200, Some("bob")));
    let (s, _) = t.get(&format!("/api/v1/tasks/{approve}"), &carol).await;
    assert_eq!(s, 404);
    let (s, _) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &carol, json!({})).await;
    assert_eq!(s, 409);

    // Bad data is refused per field, and nothing moves.
    let (s, e) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &bob, json!({"data": {"approved": "yes"}})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "invalid_data");
    assert_eq!(e["error"]["fields"][0]["key"], "approved");

    t.clock.set("2026-03-28T10:00:00Z".parse().unwrap());
    let (s, inst) =
        t.post(&format!("/api/v1/tasks/{approve}/complete"), &bob, json!({"data": {"approved": true}})).await;
    assert_eq!(s, 200, "{inst}");
    let prep = open_task(&inst, "handover_prep");
    let book = open_task(&inst, "book");
    let deadline_of = |inst: &Json, id: i64| {
        inst["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["deadline"].clone()
    };
    assert_eq!(deadline_of(&inst, prep), json!({"date": "2026-04-19"}));
    assert_eq!(deadline_of(&inst, book), json!({"date": "2026-04-20"}));
    // Completing again: 409.
    let (s, e) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &bob, json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")));

    // The administrator moves the first day; both deadlines follow.
    let (s, inst) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/instances/{id}/data"),
            &alice,
            Some(json!({"data": {"first_day": "2026-04-27"}})),
        )
        .await;
    assert_eq!(s, 200, "{inst}");
    assert_eq!(deadline_of(&inst, prep), json!({"date": "2026-04-26"}));
    assert_eq!(deadline_of(&inst, book), json!({"date": "2026-04-27"}));
    let (s, _) =
        t.call(Method::PATCH, &format!("/api/v1/instances/{id}/data"), &dave, Some(json!({"data": {"days": 1}}))).await;
    assert_eq!(s, 403);

    // Carol (hr) completes the booking without claiming first; dave the hand-over.
    let (s, _) = t.post(&format!("/api/v1/tasks/{book}/complete"), &carol, json!({})).await;
    assert_eq!(s, 200);
    let (s, inst) = t
        .post(
            &format!("/api/v1/tasks/{prep}/complete"),
            &dave,
            json!({"data": {"handover": "2026-04-24T15:00:00+02:00"}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(inst["status"], "completed");
    assert_eq!(inst["data"]["handover"], "2026-04-24T15:00:00+02:00");

    // The history, in order, as later stages (calendar delivery) read it.
    let (s, ev) = t.get(&format!("/api/v1/instances/{id}/events"), &dave).await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = ev["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "instance_started",
            "data_changed",
            "data_changed",
            "task_created",
            "task_reassigned",
            "data_changed",
            "task_completed",
            "task_created",
            "task_created",
            "data_changed",
            "task_deadline_changed",
            "task_deadline_changed",
            "task_reassigned",
            "task_completed",
            "data_changed",
            "task_completed",
            "instance_completed"
        ]
    );
    let (s, _) = t.get(&format!("/api/v1/instances/{id}/events"), &bob).await;
    assert_eq!(s, 403);
    let (s, _) = t.get(&format!("/api/v1/instances/{id}"), &bob).await;
    assert_eq!(s, 200);
    let outsider = t.user("eve", false, &["managers"]).await;
    let (s, _) = t.get(&format!("/api/v1/instances/{id}"), &outsider).await;
    assert_eq!(s, 404);
}

/// Two completions of one task at the same moment: one wins, the other gets 409.
async fn simultaneous_completion(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let alice = t.user("alice", true, &[]).await;
    let bob = t.user("bob", false, &["managers"]).await;
    t.upload(&alice, leave_model()).await;
    for _ in 0..6 {
        let (_, inst) = t
            .post(
                "/api/v1/instances",
                &alice,
                json!({"model": "leave", "title": "x", "data": {"first_day": "2026-05-01", "days": 9}}),
            )
            .await;
        let task = open_task(&inst, "approve");
        t.post(&format!("/api/v1/tasks/{task}/claim"), &bob, json!({})).await;
        let url = format!("{}/api/v1/tasks/{task}/complete", t.base);
        let send = || t.client.post(&url).bearer_auth(&bob).json(&json!({"data": {"approved": false}})).send();
        let (a, b) = tokio::join!(send(), send());
        let mut codes = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409]);
        let (_, inst) = t.get(&format!("/api/v1/instances/{}", inst["id"]), &alice).await;
        assert_eq!(steps(&inst), [("approve".into(), "done".into()), ("read_refusal".into(), "open".into())]);
    }
}

on_both_backends!(leave_request_story, simultaneous_completion, work_calendars_on_the_pages);

fn sqlite() -> TestDb {
    TestDb::sqlite()
}

#[tokio::test]
async fn bad_models_are_refused_with_line_and_column_and_nothing_is_stored() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let head = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
<bpmn:process id="p" isExecutable="true">"#;
    let tail = "\n</bpmn:process>\n</bpmn:definitions>\n";
    let flows = r#"<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>"#;
    let cases: Vec<(String, u32, u32, &str)> = vec![
        (
            "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <process id=\"p\">\n</definitions>\n"
                .to_owned(),
            3,
            1,
            "not well-formed XML",
        ),
        (
            format!("{head}\n<bpmn:startEvent id=\"s\"/>\n  <bpmn:serviceTask id=\"a\"/>\n<bpmn:endEvent id=\"e\"/>{flows}{tail}"),
            5,
            3,
            "bpmn:serviceTask is not supported",
        ),
        (
            format!("{head}\n<bpmn:startEvent id=\"s\"/><bpmn:userTask id=\"a\"/><bpmn:endEvent id=\"e\"/>\n<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"nowhere\"/>{tail}"),
            5,
            1,
            "nowhere",
        ),
        (
            format!("{head}\n<bpmn:startEvent id=\"s\"/><bpmn:userTask id=\"a\"/><bpmn:endEvent id=\"e\"/>\n<bpmn:userTask id=\"lost\"/>\n{flows}<bpmn:sequenceFlow id=\"f3\" sourceRef=\"lost\" targetRef=\"e\"/>{tail}"),
            5,
            1,
            "user task 'lost' has no incoming flow, so it cannot be reached",
        ),
        (
            format!("{head}\n<bpmn:startEvent id=\"s\"/><bpmn:userTask id=\"a\" flowcal:deadline=\"3 days\"/><bpmn:endEvent id=\"e\"/>{flows}{tail}"),
            4,
            26,
            "3 days",
        ),
        (
            format!("{head}<bpmn:extensionElements><flowcal:dataItem key=\"n\" type=\"number\"/></bpmn:extensionElements>\n<bpmn:startEvent id=\"s\"/><bpmn:userTask id=\"a\" flowcal:deadlineFrom=\"n\"/><bpmn:endEvent id=\"e\"/>{flows}{tail}"),
            4,
            26,
            "not a date or datetime",
        ),
        (
            format!("{head}\n<bpmn:startEvent id=\"s\"/><bpmn:exclusiveGateway id=\"g\" name=\"Which?\"/><bpmn:userTask id=\"a\"/><bpmn:userTask id=\"b\"/><bpmn:endEvent id=\"e\"/>\n<bpmn:sequenceFlow id=\"f0\" sourceRef=\"s\" targetRef=\"g\"/><bpmn:sequenceFlow id=\"f1\" sourceRef=\"g\" targetRef=\"a\"/><bpmn:sequenceFlow id=\"f2\" sourceRef=\"g\" targetRef=\"b\"/><bpmn:sequenceFlow id=\"f3\" sourceRef=\"a\" targetRef=\"e\"/><bpmn:sequenceFlow id=\"f4\" sourceRef=\"b\" targetRef=\"e\"/>{tail}"),
            4,
            26,
            "exclusive gateway 'g'",
        ),
    ];
    for (xml, line, column, needle) in cases {
        let (s, e) = t.upload(&alice, &xml).await;
        assert_eq!(s, 422, "{e}\n{xml}");
        assert_eq!(e["error"]["code"], "invalid_model");
        assert_eq!(
            (e["error"]["line"].as_u64(), e["error"]["column"].as_u64()),
            (Some(line.into()), Some(column.into())),
            "{e}"
        );
        assert!(e["error"]["message"].as_str().unwrap().contains(needle), "{e} lacks {needle}");
    }
    let (_, list) = t.get("/api/v1/models", &alice).await;
    assert_eq!(list, json!({"models": []}));
}

#[tokio::test]
async fn model_upload_limits_and_rights() {
    let t = TestApp::spawn_with(sqlite(), "max_model_bytes = 4000").await;
    let alice = t.user("alice", true, &[]).await;
    let designer = t.user("dora", false, &["designers"]).await;
    let bob = t.user("bob", false, &[]).await;
    let big = format!("{}<!--{}-->", leave_model(), "x".repeat(4000));
    let (s, e) = t.upload(&alice, &big).await;
    assert_eq!((s, e["error"]["code"].as_str()), (413, Some("too_large")));
    let (s, _) = t.upload(&bob, leave_model()).await;
    assert_eq!(s, 403);
    let (s, m) = t.upload(&designer, leave_model()).await;
    assert_eq!((s, m["version"].as_i64()), (201, Some(1)));
    let resp = t
        .client
        .post(format!("{}/api/v1/models", t.base))
        .bearer_auth(&alice)
        .header("content-type", "text/plain")
        .body(leave_model())
        .send()
        .await
        .unwrap();
    assert_eq!(read(resp).await.0, 415);
}

#[tokio::test]
async fn versions_run_side_by_side() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    t.upload(&alice, leave_model()).await;
    let (_, old) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "old", "data": {"first_day": "2026-05-01", "days": 1}}),
        )
        .await;
    // Version 2 drops the approval and the parallel branches.
    let v2 = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
      <process id="leave" name="Leave request v2" isExecutable="true">
        <extensionElements><flowcal:dataItem key="first_day" type="date" required="true"/></extensionElements>
        <startEvent id="s"/><userTask id="note" flowcal:deadlineFrom="first_day"/><endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="note"/><sequenceFlow id="f2" sourceRef="note" targetRef="e"/>
      </process></definitions>"#;
    let (s, m) = t.upload(&alice, v2).await;
    assert_eq!((s, m["version"].as_i64()), (201, Some(2)));
    let (_, new) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "new", "data": {"first_day": "2026-05-01"}}),
        )
        .await;
    assert_eq!((new["version"].as_i64(), steps(&new)[0].0.as_str()), (Some(2), "note"));
    // The old instance still runs on version 1.
    let prep = open_task(&old, "handover_prep");
    let (s, old) = t.post(&format!("/api/v1/tasks/{prep}/complete"), &alice, json!({})).await;
    assert_eq!((s, old["version"].as_i64()), (200, Some(1)));
    let (_, model) = t.get("/api/v1/models/leave", &alice).await;
    let step = json!({"id": "note", "name": "note", "deadline": "from first_day", "calendar": null,
                      "deadline_text": "from first_day"});
    assert_eq!(model["steps"], json!([step]));
}

#[tokio::test]
async fn incident_when_no_condition_holds_then_admin_resolves_it() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let bob = t.user("bob", false, &[]).await;
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
      <process id="route" isExecutable="true">
        <extensionElements><flowcal:dataItem key="size" type="select" options="S,M,L"/></extensionElements>
        <startEvent id="s"/><userTask id="measure"/><exclusiveGateway id="g"/>
        <userTask id="small"/><userTask id="large"/><endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="measure"/><sequenceFlow id="f2" sourceRef="measure" targetRef="g"/>
        <sequenceFlow id="to_small" sourceRef="g" targetRef="small"><conditionExpression>size == "S"</conditionExpression></sequenceFlow>
        <sequenceFlow id="to_large" sourceRef="g" targetRef="large"><conditionExpression>size == 'L'</conditionExpression></sequenceFlow>
        <sequenceFlow id="x1" sourceRef="small" targetRef="e"/><sequenceFlow id="x2" sourceRef="large" targetRef="e"/>
      </process></definitions>"#;
    assert_eq!(t.upload(&alice, xml).await.0, 201);
    let (_, inst) = t.post("/api/v1/instances", &bob, json!({"model": "route", "title": "parcel"})).await;
    let id = inst["id"].as_i64().unwrap();
    let measure = open_task(&inst, "measure");
    let (s, e) = t.post(&format!("/api/v1/tasks/{measure}/complete"), &bob, json!({"data": {"size": "XL"}})).await;
    assert_eq!((s, e["error"]["fields"][0]["message"].as_str().unwrap().contains("S, M, L")), (422, true), "{e}");
    let (s, inst) = t.post(&format!("/api/v1/tasks/{measure}/complete"), &bob, json!({"data": {"size": "M"}})).await;
    assert_eq!(s, 200);
    assert_eq!(inst["status"], "incident");
    assert_eq!(inst["incidents"][0]["node"], "g");
    let (s, _) = t.get("/api/v1/incidents", &bob).await;
    assert_eq!(s, 403);
    let (_, list) = t.get("/api/v1/incidents", &alice).await;
    assert_eq!(list["instances"][0]["id"].as_i64(), Some(id));
    let (s, _) = t.post(&format!("/api/v1/instances/{id}/retry"), &bob, json!({})).await;
    assert_eq!(s, 403);
    let (_, inst) = t.post(&format!("/api/v1/instances/{id}/retry"), &alice, json!({})).await;
    assert_eq!(inst["status"], "incident");
    t.call(Method::PATCH, &format!("/api/v1/instances/{id}/data"), &alice, Some(json!({"data": {"size": "L"}}))).await;
    let (s, inst) = t.post(&format!("/api/v1/instances/{id}/retry"), &alice, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(inst["status"], "running");
    assert!(inst["incidents"].as_array().unwrap().is_empty());
    open_task(&inst, "large");
    let (_, list) = t.get("/api/v1/incidents", &alice).await;
    assert_eq!((&list["instances"], &list["next_cursor"], &list["total"]), (&json!([]), &Json::Null, &json!(0)));
}

#[tokio::test]
async fn authentication_sessions_and_csrf() {
    let t = TestApp::spawn(sqlite()).await;
    let token = t.user("alice", false, &[]).await;
    let (s, e) = t.get("/api/v1/me", "not-a-token").await;
    assert_eq!((s, e["error"]["code"].as_str()), (401, Some("unauthorized")));
    let resp = t.client.get(format!("{}/api/v1/me", t.base)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let (s, me) = t.get("/api/v1/me", &token).await;
    assert_eq!((s, me["login"].as_str(), me["calendar_export"].as_bool()), (200, Some("alice"), Some(false)));

    let login = |pw: &'static str, origin: Option<&'static str>| {
        let mut r = t.client.post(format!("{}/login", t.base)).form(&[("login", "alice"), ("password", pw)]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    assert_eq!(login("wrong-password", None).await.unwrap().status(), 401);
    assert_eq!(login("password-123", Some("https://evil.example")).await.unwrap().status(), 403);
    let resp = login("password-123", Some(&*Box::leak(t.base.clone().into_boxed_str()))).await.unwrap();
    assert_eq!(resp.status(), 303);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();

    let with_cookie =
        |m: Method, path: &str| t.client.request(m, format!("{}{path}", t.base)).header("cookie", &cookie);
    let (s, me) = read(with_cookie(Method::GET, "/api/v1/me").send().await.unwrap()).await;
    assert_eq!((s, me["login"].as_str()), (200, Some("alice")));
    // A state change by cookie must be JSON: a cross-site form cannot send that.
    let resp = with_cookie(Method::PATCH, "/api/v1/me/settings")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("calendar_export=true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = with_cookie(Method::PATCH, "/api/v1/me/settings")
        .json(&json!({"calendar_export": true, "time_zone": "Pacific/Chatham"}))
        .send()
        .await
        .unwrap();
    let (s, me) = read(resp).await;
    assert_eq!(
        (s, me["calendar_export"].as_bool(), me["time_zone"].as_str()),
        (200, Some(true), Some("Pacific/Chatham"))
    );
    let (s, e) = t.call(Method::PATCH, "/api/v1/me/settings", &token, Some(json!({"time_zone": "Mars/Base"}))).await;
    assert_eq!((s, e["error"]["message"].as_str().unwrap().contains("Mars/Base")), (422, true));
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &token, Some(json!({"colour": "red"}))).await;
    assert_eq!(s, 422);

    // Signing out takes the page's CSRF token.
    let page = with_cookie(Method::GET, "/tasks").send().await.unwrap().text().await.unwrap();
    let csrf = crate::signin::page_csrf(&page);
    let resp = with_cookie(Method::POST, "/logout").form(&[("_csrf", csrf)]).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let resp = with_cookie(Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn every_sample_from_modeling_tools_imports_or_is_refused_clearly() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    for (file, key) in [
        ("actibpm-sequence-user-tasks.bpmn", None),
        ("activiti-designer-pool-two-lanes.bpmn", None),
        ("activiti-modeler-exclusive-default.bpmn", None),
        ("camunda-modeler-parallel-exclusive-default.bpmn", Some("token_trial_parallel_simple")),
        ("camunda8-modeler-parallel-user-tasks.bpmn", None),
    ] {
        let (s, m) = t.upload(&alice, &fixture(&format!("bpmn-samples/supported/{file}"))).await;
        assert_eq!(s, 201, "{file}: {m}");
        if let Some(k) = key {
            assert_eq!(m["key"], k);
        }
    }
    let (s, e) =
        t.upload(&alice, &fixture("bpmn-samples/supported/signavio-exclusive-gateway-no-conditions.bpmn")).await;
    assert_eq!(s, 422);
    assert!(e["error"]["message"].as_str().unwrap().contains("exclusive gateway 'sid-"), "{e}");
    // A refusal names every element flowcal does not run, each where it is.
    for (file, listed, line) in [
        ("camunda-service-task-rest-connector.bpmn", &["bpmn:serviceTask"][..], 7),
        (
            "camunda-modeler-boundary-timer-subprocess.bpmn",
            &["bpmn:messageEventDefinition", "bpmn:messageEventDefinition"][..],
            73,
        ),
        (
            "camunda-modeler-inclusive-gateway-script-tasks.bpmn",
            &[
                "bpmn:inclusiveGateway",
                "bpmn:inclusiveGateway",
                "bpmn:scriptTask",
                "bpmn:scriptTask",
                "bpmn:scriptTask",
            ][..],
            9,
        ),
    ] {
        let xml = fixture(&format!("bpmn-samples/unsupported/{file}"));
        let (s, e) = t.upload(&alice, &xml).await;
        assert_eq!(s, 422, "{file}");
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(msg.contains(listed[0]) && msg.contains("not supported"), "{file}: {msg}");
        assert_eq!(e["error"]["line"].as_u64(), Some(line), "{file}");
        let unsupported = e["error"]["unsupported"].as_array().unwrap();
        let elements: Vec<&str> = unsupported.iter().map(|u| u["element"].as_str().unwrap()).collect();
        assert_eq!(elements, listed, "{file}");
        // Each reported line holds the element named.
        for u in unsupported {
            let (at, local) = (u["line"].as_u64().unwrap() as usize, u["element"].as_str().unwrap());
            let local = local.trim_start_matches("bpmn:");
            assert!(xml.lines().nth(at - 1).unwrap().contains(local), "{file}: line {at} lacks {local}");
        }
    }
}

#[tokio::test]
async fn openapi_health_and_errors() {
    let t = TestApp::spawn(sqlite()).await;
    let token = t.user("alice", false, &[]).await;
    let (s, doc) = t.get("/api/v1/openapi.json", &token).await;
    assert_eq!(s, 200);
    for path in
        ["/api/v1/models", "/api/v1/instances", "/api/v1/tasks", "/api/v1/tasks/{id}/complete", "/api/v1/me/settings"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("TaskJson").is_some());
    let resp = t.client.get(format!("{}/healthz", t.base)).send().await.unwrap();
    assert_eq!(read(resp).await, (200, json!({"status": "ok"})));
    let (s, e) = t.get("/api/v1/nothing-here", &token).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, e) = t.get("/api/v1/tasks?state=sleeping", &token).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("bad_request")));
    let (s, e) = t.post("/api/v1/instances", &token, json!({"model": "nope", "title": "x"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
    let resp = t
        .client
        .post(format!("{}/api/v1/instances", t.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(read(resp).await.0, 400);
}

#[tokio::test]
async fn user_items_route_tasks_and_must_name_real_users() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let bob = t.user("bob", false, &[]).await;
    let (s, _) = t.upload(&alice, flowcal_server::demo::MODELS[1].1).await;
    assert_eq!(s, 201);
    let (s, e) = t
        .post("/api/v1/instances", &alice, json!({"model": "contract", "title": "c", "data": {"reviewer": "nobody", "meeting": "2026-11-01T10:00:00-05:00"}}))
        .await;
    assert_eq!((s, e["error"]["fields"][0]["key"].as_str()), (422, Some("reviewer")));
    let (s, inst) = t
        .post("/api/v1/instances", &alice, json!({"model": "contract", "title": "c", "data": {"reviewer": "bob", "meeting": "2026-11-01T10:00:00-05:00"}}))
        .await;
    assert_eq!(s, 201, "{inst}");
    // Two hours before the meeting, in New York (DST ended that night at 02:00).
    assert_eq!(inst["tasks"][0]["assignee"], "bob");
    assert_eq!(inst["tasks"][0]["deadline"], json!({"at": "2026-11-01T08:00:00-05:00", "zone": "America/New_York"}));
    let (_, list) = t.get("/api/v1/tasks?state=open", &bob).await;
    assert_eq!(list["tasks"].as_array().unwrap().len(), 1);
    let id = inst["id"].as_i64().unwrap();
    let (s, inst) = t.post(&format!("/api/v1/instances/{id}/cancel"), &alice, json!({})).await;
    assert_eq!(
        (s, inst["status"].as_str(), inst["tasks"][0]["state"].as_str()),
        (200, Some("cancelled"), Some("cancelled"))
    );
    let (_, list) = t.get("/api/v1/tasks?state=open", &bob).await;
    assert!(list["tasks"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn role_members_learn_a_task_is_gone_and_framework_errors_are_json() {
    let t = TestApp::spawn(sqlite()).await;
    let alice = t.user("alice", true, &[]).await;
    let bob = t.user("bob", false, &["managers"]).await;
    let carol = t.user("carol", false, &["managers"]).await;
    let dave = t.user("dave", false, &[]).await;
    t.upload(&alice, leave_model()).await;
    let (_, inst) = t
        .post(
            "/api/v1/instances",
            &dave,
            json!({"model": "leave", "title": "x", "data": {"first_day": "2026-05-01", "days": 9}}),
        )
        .await;
    let approve = open_task(&inst, "approve");
    // An administrator outside the role may see the task but not take it.
    let (s, e) = t.post(&format!("/api/v1/tasks/{approve}/claim"), &alice, json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden")), "{e}");
    // Bob takes it: carol (same role) is told it was claimed, dave (no role) that it does not exist.
    t.post(&format!("/api/v1/tasks/{approve}/claim"), &bob, json!({})).await;
    let (s, e) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &carol, json!({})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("claimed by bob"));
    let (s, _) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &dave, json!({})).await;
    assert_eq!(s, 404);
    // Bob completes; carol, who could have had it, gets 409.
    let (s, _) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &bob, json!({"data": {"approved": false}})).await;
    assert_eq!(s, 200);
    let (s, _) = t.post(&format!("/api/v1/tasks/{approve}/complete"), &carol, json!({})).await;
    assert_eq!(s, 409);

    // The scheme name of the Authorization header is case-insensitive.
    let resp = t
        .client
        .get(format!("{}/api/v1/me", t.base))
        .header("authorization", format!("bearer {bob}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Errors the framework answers by itself have the same JSON shape.
    let (s, e) = t.get("/api/v1/tasks/not-a-number", &bob).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("bad_request")), "{e}");
    let (s, e) = t.call(Method::DELETE, "/api/v1/me", &bob, None).await;
    assert_eq!((s, e["error"]["code"].as_str()), (405, Some("method_not_allowed")), "{e}");
    let resp = t.client.post(format!("{}/login", t.base)).form(&[("login", "bob")]).send().await.unwrap();
    let (s, e) = read(resp).await;
    assert_eq!((s, e["error"]["code"].is_string()), (422, true), "{e}");
    // Control characters never reach the database.
    let (s, _) = t
        .post(
            "/api/v1/instances",
            &dave,
            json!({"model": "leave", "title": "a\u{0}b", "data": {"first_day": "2026-05-01", "days": 1}}),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = t.post("/api/v1/instances", &dave, json!({"model": "le\u{0}ave", "title": "x"})).await;
    assert_eq!(s, 404);
    let (s, _) = t.get("/api/v1/models/le%00ave", &dave).await;
    assert_eq!(s, 404);
    let resp = t
        .client
        .post(format!("{}/login", t.base))
        .form(&[("login", "b\u{0}ob"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// A page as `cookie`'s user sees it: the status and the HTML.
async fn page(t: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form as `cookie`'s user: the status, and where it sends to (or the page it answers with).
async fn submit(t: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = t.client.post(format!("{}{path}", t.base)).header("cookie", cookie).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    match r.headers().get("location") {
        Some(to) => (status, to.to_str().unwrap().to_owned()),
        None => (status, r.text().await.unwrap()),
    }
}

/// An uploaded holiday file: a national holiday and a regional one (its state in brackets).
const HOLIDAY_FILE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flowcal//test//EN\r\n\
BEGIN:VEVENT\r\nUID:may@flowcal.test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Tag der Arbeit\r\n\
DTSTART;VALUE=DATE:20260501\r\nDTEND;VALUE=DATE:20260502\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:epiphany@flowcal.test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Heilige Drei Könige (BW\\, BY)\r\n\
DTSTART;VALUE=DATE:20260106\r\nDTEND;VALUE=DATE:20260107\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// Work calendars on the pages: an administrator creates one with the form
/// (a refused line comes back with what was typed), everyone sees its year
/// with the holidays named, and a step counted in it says so under its
/// deadline and on its model's page.
async fn work_calendars_on_the_pages(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    t.user("bob", false, &[]).await;
    let (admin, bob) = (crate::matrix::session(&t, "root").await, crate::matrix::session(&t, "bob").await);

    let (s, list) = page(&t, &admin, "/work-calendars").await;
    assert_eq!(s, 200, "{list}");
    assert!(list.contains("No work calendars yet") && list.contains("New work calendar"), "{list}");
    let csrf = crate::signin::page_csrf(&list);
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("create", "on"),
        ("name", "acme"),
        ("time_zone", "Europe/Berlin"),
        ("hours", ""),
        ("holidays", "31.03.2026 Company day"),
        ("working_days", "2026-12-19 Inventory"),
        ("sources", ""),
        ("ics", HOLIDAY_FILE),
        ("ics_exclude", "summary:*(*"),
    ];
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        form.push(("week", day));
    }
    // A line the form cannot read comes back with the reason and everything typed.
    let (s, refused) = submit(&t, &admin, "/admin/work-calendars", &form).await;
    assert_eq!(s, 422, "{refused}");
    assert!(refused.contains("Holidays, line 1: '31.03.2026' is not a date"), "{refused}");
    assert!(refused.contains(">31.03.2026 Company day</textarea>") && refused.contains("value=\"acme\""), "{refused}");
    assert!(refused.contains("2026-12-19 Inventory") && refused.contains("Tag der Arbeit"), "{refused}");
    assert!(t.app.store.work_calendar("acme").await.unwrap().is_none());

    form[5] = ("holidays", "2026-03-31 Company day\n2026-12-24 Christmas Eve 09:00-12:00");
    let (s, to) = submit(&t, &admin, "/admin/work-calendars", &form).await;
    assert_eq!((s, to.as_str()), (303, "/work-calendars/acme"));
    // Creating it again is refused: a name is changed on its page.
    let (s, again) = submit(&t, &admin, "/admin/work-calendars", &form).await;
    assert_eq!(s, 409, "{again}");
    assert!(again.contains("a work calendar named 'acme' exists"), "{again}");

    // Everyone sees the year: holidays named in the day's title and listed, today outlined.
    let (s, list) = page(&t, &bob, "/work-calendars").await;
    assert_eq!(s, 200);
    assert!(list.contains("href=\"/work-calendars/acme\"") && list.contains("1: 1 ok"), "{list}");
    assert!(!list.contains("New work calendar"), "only administrators create calendars");
    let (s, year) = page(&t, &bob, "/work-calendars/acme").await;
    assert_eq!(s, 200, "{year}");
    for text in [
        "title=\"Tue 31 Mar 2026 — Company day (holiday)\"",
        "title=\"Fri 1 May 2026 — Tag der Arbeit (holiday)\"",
        "title=\"Thu 24 Dec 2026 — Christmas Eve (half day: 09:00-12:00)\"",
        "title=\"Sat 19 Dec 2026 — Inventory (extra working day)\"",
        "title=\"Fri 27 Mar 2026 — working day, today\" aria-current=\"date\"",
        "title=\"Sun 29 Mar 2026 — day off\"",
        "<caption>March</caption>",
        "uploaded file",
        "✓ ok",
    ] {
        assert!(year.contains(text), "{text} is missing: {year}");
    }
    assert!(!year.contains("Heilige Drei Könige"), "the excluded regional holiday: {year}");
    assert!(!year.contains("action=\"/admin/work-calendars"), "only administrators change calendars");
    let (s, next) = page(&t, &bob, "/work-calendars/acme?year=2027").await;
    assert_eq!(s, 200);
    assert!(next.contains("title=\"Fri 31 Dec 2027 — working day\"") && !next.contains("Company day"), "{next}");
    assert_eq!(page(&t, &bob, "/work-calendars/acme?year=soon").await.0, 400);
    assert_eq!(page(&t, &bob, "/work-calendars/nowhere").await.0, 404);

    // The administrator's edit keeps the uploaded file by its number.
    let (_, edit) = page(&t, &admin, "/work-calendars/acme").await;
    let at = edit.find("uploaded #").expect("the uploaded file in the sources field") + "uploaded #".len();
    let id: String = edit[at..].chars().take_while(char::is_ascii_digit).collect();
    let keep = format!("uploaded #{id} exclude=summary:*(*");
    form.retain(|(k, _)| !matches!(*k, "create" | "ics" | "ics_exclude" | "sources"));
    form.push(("sources", &keep));
    let (s, to) = submit(&t, &admin, "/admin/work-calendars", &form).await;
    assert_eq!((s, to.as_str()), (303, "/work-calendars/acme"));
    let stored = t.app.store.work_calendar("acme").await.unwrap().unwrap();
    assert_eq!((stored.sources.len(), stored.sources[0].count), (1, 1), "{stored:?}");

    // A step counted in it: its deadline skips the company day, and says how it was counted.
    let model = crate::workcal::approval("acme");
    let (s, b) = t.upload(&root, &model).await;
    assert_eq!(s, 201, "{b}");
    let (s, inst) = t.post("/api/v1/instances", &root, json!({"model": "approval", "title": "Budget"})).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, shown) = page(&t, &bob, &format!("/tasks/{task}")).await;
    assert_eq!(s, 200, "{shown}");
    assert!(shown.contains("Thu 2 Apr 2026"), "Friday, then Monday, Wednesday and Thursday: {shown}");
    assert!(shown.contains("<a href=\"/work-calendars/acme\">3 working days, calendar acme</a>"), "{shown}");
    let (_, tasks) = page(&t, &bob, "/tasks").await;
    assert!(tasks.contains("counted in acme"), "{tasks}");
    let (_, steps) = page(&t, &admin, "/models/approval").await;
    assert!(steps.contains("<a href=\"/work-calendars/acme\">3 working days, calendar acme</a>"), "{steps}");

    // Refresh and delete: administrators only; a calendar a model names stays.
    let refresh = [("_csrf", csrf.as_str())];
    let bob_csrf = crate::signin::page_csrf(&page(&t, &bob, "/tasks").await.1);
    let (s, _) = submit(&t, &bob, "/admin/work-calendars/acme/refresh", &[("_csrf", bob_csrf.as_str())]).await;
    assert_eq!(s, 403);
    let (s, to) = submit(&t, &admin, "/admin/work-calendars/acme/refresh", &refresh).await;
    assert_eq!((s, to.as_str()), (303, "/work-calendars/acme"));
    let (s, kept) = submit(&t, &admin, "/admin/work-calendars/acme/delete", &refresh).await;
    assert_eq!(s, 409, "{kept}");
    assert!(kept.contains("approval version 1") && kept.contains("Refresh sources now"), "{kept}");
}

crate::on_both_backends!(readiness_says_why_a_process_should_get_no_traffic);

/// `/readyz` is 200 only with the database answering, its schema current and
/// the process not shutting down; `/healthz` stays 200 meanwhile.
async fn readiness_says_why_a_process_should_get_no_traffic(db: crate::support::TestDb) {
    let t = TestApp::spawn(db).await;
    let get = |path: &'static str| {
        let (client, base) = (t.client.clone(), t.base.clone());
        async move { read(client.get(format!("{base}{path}")).send().await.unwrap()).await }
    };
    assert_eq!(get("/readyz").await, (200, json!({"status": "ready"})));
    // A database that lacks this flowcal's newest migration (an older schema).
    t.sql("DELETE FROM flowcal_migrations WHERE name = '0009_work_calendars'").await;
    assert_eq!(
        get("/readyz").await,
        (503, json!({"status": "schema not current", "pending_migrations": ["0009_work_calendars"]}))
    );
    assert_eq!(get("/healthz").await.0, 200);
    t.sql("INSERT INTO flowcal_migrations (version, name, applied_at) VALUES (9, '0009_work_calendars', 0)").await;
    assert_eq!(get("/readyz").await.0, 200);
    t.app.begin_shutdown();
    assert_eq!(get("/readyz").await, (503, json!({"status": "shutting down"})));
    assert_eq!(get("/healthz").await.0, 200);
}
