//! Tests of the reader: the real tool output in tests/fixtures/bpmn-samples,
//! a model using the flowcal extension, and one test per refusal. The
//! elements added to the subset (tasks, sub-processes, events, resource
//! roles, data declarations) are in `elements`, timers in `timers`, and the
//! BPMN MIWG files in `miwg`.

use crate::{parse, BpmnError};
use flowcal_domain::{AssigneeRule, DataItemDef, DataType, DeadlineRule, IsoDuration, NodeKind, ProcessModel, Value};

macro_rules! sample {
    ($path:literal) => {
        include_str!(concat!("../../../../tests/fixtures/bpmn-samples/", $path))
    };
}

fn ok(xml: &str) -> ProcessModel {
    match parse(xml, None) {
        Ok(m) => m,
        Err(e) => panic!("should parse: {e}"),
    }
}

fn refused(xml: &str) -> BpmnError {
    match parse(xml, None) {
        Ok(m) => panic!("should be refused: {m:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_refused(xml: &str, line: u32, column: u32, message: &str) {
    let e = refused(xml);
    assert_eq!((e.line, e.column, e.message.as_str()), (line, column, message), "{e}");
}

/// Count of nodes by kind: (start, end, task, exclusive, parallel).
fn counts(m: &ProcessModel) -> (usize, usize, usize, usize, usize) {
    let count = |f: fn(&NodeKind) -> bool| m.nodes.iter().filter(|n| f(&n.kind)).count();
    (
        count(|k| matches!(k, NodeKind::Start)),
        count(|k| matches!(k, NodeKind::End)),
        count(|k| matches!(k, NodeKind::UserTask { .. })),
        count(|k| matches!(k, NodeKind::Exclusive { .. })),
        count(|k| matches!(k, NodeKind::Parallel)),
    )
}

fn assignee(m: &ProcessModel, id: &str) -> AssigneeRule {
    match m.node(id).map(|n| &n.kind) {
        Some(NodeKind::UserTask { assignee, .. }) => assignee.clone(),
        other => panic!("{id} is not a user task: {other:?}"),
    }
}

fn deadline(m: &ProcessModel, id: &str) -> DeadlineRule {
    match m.node(id).map(|n| &n.kind) {
        Some(NodeKind::UserTask { deadline, .. }) => deadline.clone(),
        other => panic!("{id} is not a user task: {other:?}"),
    }
}

fn ids(m: &ProcessModel) -> Vec<&str> {
    m.nodes.iter().map(|n| n.id.as_str()).collect()
}

/// "is not supported (flowcal runs …)": the message of a single unsupported element.
fn unsupported_tail() -> String {
    format!("is not supported ({})", crate::scan::SUPPORTED)
}

/// The elements a refusal lists: (element, line, column).
fn listed(e: &BpmnError) -> Vec<(&str, u32, u32)> {
    e.unsupported.iter().map(|u| (u.element.as_str(), u.line, u.column)).collect()
}

// ---------------------------------------------------------------------------
// Real tool output

#[test]
fn actibpm_sequence() {
    let m = ok(sample!("supported/actibpm-sequence-user-tasks.bpmn"));
    assert_eq!((m.key.as_str(), m.name.as_str(), m.time_zone.as_deref()), ("myProcess_1", "myProcess_1", None));
    assert_eq!(counts(&m), (1, 1, 3, 0, 0));
    assert_eq!(ids(&m), ["_2", "_3", "_6", "_8", "_9"]);
    assert_eq!(m.node("_6").map(|n| (n.name.as_str(), n.line, n.column)), Some(("Task 2", 7, 5)));
    assert_eq!(m.flows.len(), 4);
    assert!(m.flows.iter().all(|f| f.condition.is_none()));
    assert!(m.data_items.is_empty());
    for t in ["_3", "_6", "_8"] {
        assert_eq!(assignee(&m, t), AssigneeRule::Starter);
        assert_eq!(deadline(&m, t), DeadlineRule::None);
    }
}

#[test]
fn activiti_pool_lanes_are_roles() {
    let m = ok(sample!("supported/activiti-designer-pool-two-lanes.bpmn"));
    // Not marked executable, but the only process with flow nodes.
    assert_eq!((m.key.as_str(), m.name.as_str()), ("process_pool1", "process_pool1"));
    assert_eq!(counts(&m), (1, 1, 2, 0, 0));
    assert_eq!(assignee(&m, "usertask1"), AssigneeRule::Role("Lane 1".into()));
    assert_eq!(assignee(&m, "usertask2"), AssigneeRule::Role("Lane 2".into()));
    let flows: Vec<_> = m.flows.iter().map(|f| (f.id.as_str(), f.source.as_str(), f.target.as_str())).collect();
    assert_eq!(
        flows,
        [
            ("flow1", "startevent1", "usertask1"),
            ("flow2", "usertask1", "usertask2"),
            ("flow3", "usertask2", "endevent1")
        ]
    );
}

#[test]
fn activiti_exclusive_default() {
    let m = ok(sample!("supported/activiti-modeler-exclusive-default.bpmn"));
    assert_eq!(m.key, "transientVarsTest");
    assert_eq!(counts(&m), (1, 3, 3, 1, 0));
    assert_eq!(m.flows.len(), 7);
    let gw = m.node("sid-372939DC-8012-41DA-88D5-C7791CBAE872").map(|n| n.kind.clone());
    assert_eq!(gw, Some(NodeKind::Exclusive { default: Some("sid-DEAF1635-AC1C-4876-B79D-D57E0B03E321".into()) }));
    // activiti:assignee="$INITIATOR" is another vendor's and ignored.
    assert_eq!(assignee(&m, "sid-47B5A6D9-F447-43EB-B95C-E06769DEEED9"), AssigneeRule::Starter);
    // The gateway's flows in document order: default, then the two conditions.
    let out: Vec<_> = m
        .outgoing("sid-372939DC-8012-41DA-88D5-C7791CBAE872")
        .map(|f| (f.target.as_str(), f.condition.is_some()))
        .collect();
    assert_eq!(
        out,
        [
            ("sid-D4A94019-AF3A-415B-9B3B-8E6050D41C11", false),
            ("sid-47B5A6D9-F447-43EB-B95C-E06769DEEED9", true),
            ("sid-0AEB208C-84E3-4809-8569-21AD9E1A42B1", true),
        ]
    );
    let to_a = m.flows.iter().find(|f| f.id == "sid-08213970-42BF-4759-A928-DD76542A1C34");
    let cond = to_a.and_then(|f| f.condition.clone());
    let Some(cond) = cond else { panic!("the flow to A has a condition") };
    assert_eq!(cond.text, "${variable == 'gotoA'}");
    let data = |v: &str| [("variable".to_owned(), Value::Text(v.into()))].into_iter().collect();
    assert!(cond.eval(&data("gotoA")));
    assert!(!cond.eval(&data("gotoB")));
    // `variable` is not declared: it becomes an implicit string item.
    assert_eq!(
        m.data_items,
        [DataItemDef {
            key: "variable".into(),
            label: "variable".into(),
            data_type: DataType::String,
            required: false,
            options: vec![],
            implicit: true
        }]
    );
}

#[test]
fn camunda_parallel_gateways_by_element_type() {
    let m = ok(sample!("supported/camunda-modeler-parallel-exclusive-default.bpmn"));
    assert_eq!((m.key.as_str(), m.name.as_str()), ("token_trial_parallel_simple", "token_trial_parallel_simple"));
    assert_eq!(counts(&m), (1, 1, 3, 2, 2));
    assert_eq!(m.flows.len(), 10);
    // Ids say "ExclusiveGateway", the elements are parallel gateways.
    for id in ["ExclusiveGateway_0unlseb", "ExclusiveGateway_1knbrs3"] {
        assert_eq!(m.node(id).map(|n| n.kind.clone()), Some(NodeKind::Parallel), "{id}");
    }
    assert_eq!(
        m.node("Gateway_191l7i1").map(|n| n.kind.clone()),
        Some(NodeKind::Exclusive { default: Some("Flow_1vtdwmy".into()) })
    );
    assert_eq!(
        m.node("Gateway_14vibx9").map(|n| (n.name.as_str(), n.kind.clone())),
        Some(("Skip parallel", NodeKind::Exclusive { default: None }))
    );
    let split: Vec<_> = m.outgoing("Gateway_14vibx9").map(|f| f.condition.as_ref().map(|c| c.text.as_str())).collect();
    assert_eq!(split, [Some("skipParallel == False"), Some("skipParallel == True")]);
    assert_eq!(m.data_items.len(), 1);
    assert_eq!((m.data_items[0].key.as_str(), m.data_items[0].data_type), ("skipParallel", DataType::Boolean));
    assert!(m.data_items[0].implicit);
    // camunda:formData and documentation are ignored.
    assert_eq!(m.node("UserTask_1k9gxsc").map(|n| n.name.as_str()), Some("Task P2"));
}

#[test]
fn camunda8_forward_references() {
    let m = ok(sample!("supported/camunda8-modeler-parallel-user-tasks.bpmn"));
    assert_eq!(m.key, "user-tasks-with-assignments");
    assert_eq!(counts(&m), (1, 1, 4, 0, 2));
    assert_eq!(m.flows.len(), 8);
    // Document order, gateways last although flows point to them earlier.
    assert_eq!(
        ids(&m),
        [
            "StartEvent_1",
            "assignee-task1",
            "Event_13981zj",
            "assignee-task4",
            "assignee-task2",
            "assignee-task3",
            "Gateway_0j4qy72",
            "Gateway_0vr3shh"
        ]
    );
    let first = &m.flows[0];
    assert_eq!((first.id.as_str(), first.target.as_str()), ("Flow_0xt1d7q", "Gateway_0vr3shh"));
    assert_eq!(m.node("Gateway_0vr3shh").map(|n| (n.line, n.column)), Some((54, 5)));
    assert_eq!(m.outgoing("Gateway_0vr3shh").count(), 2);
    assert_eq!(m.incoming("Gateway_0j4qy72").count(), 2);
    // zeebe:assignmentDefinition is ignored.
    assert_eq!(assignee(&m, "assignee-task1"), AssigneeRule::Starter);
}

#[test]
fn signavio_split_without_conditions_is_refused() {
    assert_refused(
        sample!("supported/signavio-exclusive-gateway-no-conditions.bpmn"),
        18,
        7,
        "exclusive gateway 'sid-8AD7D35F-84ED-4DA8-8EF5-C5A384E5DCEC' (Group of connected Clients existing?) has \
         outgoing flows without conditions and no default flow; give each outgoing flow a conditionExpression over \
         data items, or mark one as the gateway's default",
    );
}

#[test]
fn unsupported_samples_list_every_unsupported_element() {
    let e = refused(sample!("unsupported/camunda-service-task-rest-connector.bpmn"));
    assert_eq!(listed(&e), [("bpmn:serviceTask", 7, 5)]);
    assert_eq!((e.line, e.column, e.message.clone()), (7, 5, format!("bpmn:serviceTask {}", unsupported_tail())));

    let e = refused(sample!("unsupported/camunda-modeler-inclusive-gateway-script-tasks.bpmn"));
    assert_eq!(
        listed(&e),
        [
            ("bpmn:inclusiveGateway", 9, 5),
            ("bpmn:inclusiveGateway", 23, 5),
            ("bpmn:scriptTask", 41, 5),
            ("bpmn:scriptTask", 46, 5),
            ("bpmn:scriptTask", 51, 5)
        ]
    );
    assert_eq!((e.line, e.column), (9, 5));
    assert!(
        e.message.starts_with(
            "5 elements are not supported: bpmn:inclusiveGateway (line 9, column 5), bpmn:inclusiveGateway (line 23, \
             column 5), bpmn:scriptTask (line 41, column 5), bpmn:scriptTask (line 46, column 5), bpmn:scriptTask \
             (line 51, column 5) (flowcal runs "
        ),
        "{e}"
    );

    // The collapsed sub-process and the timer boundary event are in the
    // subset now; the message start event and message boundary event are not.
    let e = refused(sample!("unsupported/camunda-modeler-boundary-timer-subprocess.bpmn"));
    assert_eq!(listed(&e), [("bpmn:messageEventDefinition", 73, 7), ("bpmn:messageEventDefinition", 78, 7)]);
}

// ---------------------------------------------------------------------------
// The flowcal extension

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs">
<bpmn:process id="p" name="P" isExecutable="true">
"#;

/// A process whose body starts on line 4, at column 1.
fn doc(body: &[&str]) -> String {
    format!("{HEAD}{}\n</bpmn:process>\n</bpmn:definitions>\n", body.join("\n"))
}

const START: &str = r#"<bpmn:startEvent id="start"/>"#;
const TASK: &str = r#"<bpmn:userTask id="t" name="T"/>"#;
const END: &str = r#"<bpmn:endEvent id="end"/>"#;
const F1: &str = r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/>"#;
const F2: &str = r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>"#;

/// start → (line 5) → end, with `task` on line 5.
fn with_task(task: &str) -> String {
    doc(&[START, task, END, F1, F2])
}

/// Data items on lines 5.., then start, the task and end.
fn with_items_and_task(items: &[&str], task: &str) -> String {
    let mut body = vec!["<bpmn:extensionElements>"];
    body.extend_from_slice(items);
    body.extend_from_slice(&["</bpmn:extensionElements>", START, task, END, F1, F2]);
    doc(&body)
}

const LEAVE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:flowcal="https://flowcal.dev/schema/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs">
<bpmn:process id="leave" name="Leave request" isExecutable="true" flowcal:timeZone="Europe/Berlin">
  <bpmn:extensionElements>
    <flowcal:dataItem key="first_day" label="First day" type="date" required="true"/>
    <flowcal:dataItem key="handover" label="Hand-over meeting" type="datetime"/>
    <flowcal:dataItem key="days" label="Days" type="number"/>
    <flowcal:dataItem key="deputy" label="Deputy" type="user"/>
    <flowcal:dataItem key="kind" type="select" options="vacation, sick ,training"/>
  </bpmn:extensionElements>
  <bpmn:laneSet><bpmn:lane id="mgr" name="managers"><bpmn:flowNodeRef>approve</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="handover_prep" name="Prepare&#10;hand-over" flowcal:assignee="starter"
                 flowcal:deadlineFrom="first_day" flowcal:deadlineOffset="-P1D"/>
  <bpmn:exclusiveGateway id="gw" name="Long leave?" default="short"/>
  <bpmn:userTask id="approve" name="Approve" flowcal:deadline="P3D"/>
  <bpmn:userTask id="meet" name="Hand-over meeting" flowcal:assignee="item:deputy"
                 flowcal:deadlineFrom="handover" flowcal:deadlineOffset="-PT2H"/>
  <bpmn:userTask id="archive" flowcal:assignee="user:hr.office"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handover_prep"/>
  <bpmn:sequenceFlow id="f2" sourceRef="handover_prep" targetRef="gw"/>
  <bpmn:sequenceFlow id="long" sourceRef="gw" targetRef="approve">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">days &gt; 5 and kind == "vacation" or urgent</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="short" sourceRef="gw" targetRef="meet"/>
  <bpmn:sequenceFlow id="f5" sourceRef="approve" targetRef="meet"/>
  <bpmn:sequenceFlow id="f6" sourceRef="meet" targetRef="archive"/>
  <bpmn:sequenceFlow id="f7" sourceRef="archive" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
"#;

#[test]
fn flowcal_extension_model() {
    let m = ok(LEAVE);
    assert_eq!((m.key.as_str(), m.name.as_str()), ("leave", "Leave request"));
    assert_eq!(m.time_zone.as_deref(), Some("Europe/Berlin"));
    let items: Vec<_> =
        m.data_items.iter().map(|i| (i.key.as_str(), i.label.as_str(), i.data_type, i.required, i.implicit)).collect();
    assert_eq!(
        items,
        [
            ("first_day", "First day", DataType::Date, true, false),
            ("handover", "Hand-over meeting", DataType::DateTime, false, false),
            ("days", "Days", DataType::Number, false, false),
            ("deputy", "Deputy", DataType::User, false, false),
            ("kind", "kind", DataType::Select, false, false),
            ("urgent", "urgent", DataType::Boolean, false, true),
        ]
    );
    assert_eq!(
        m.item("kind").map(|i| i.options.clone()),
        Some(vec!["vacation".into(), "sick".into(), "training".into()])
    );
    assert_eq!(counts(&m), (1, 1, 4, 1, 0));
    let prep = m.node("handover_prep");
    assert_eq!(prep.map(|n| (n.name.as_str(), n.line, n.column)), Some(("Prepare hand-over", 14, 3)));
    assert_eq!(m.node("archive").map(|n| n.name.as_str()), Some("archive"));
    let minus_one_day = IsoDuration { negative: true, days: 1, ..IsoDuration::default() };
    assert_eq!(
        deadline(&m, "handover_prep"),
        DeadlineRule::From { item: "first_day".into(), offset: Some(minus_one_day) }
    );
    assert_eq!(deadline(&m, "approve"), DeadlineRule::After(IsoDuration { days: 3, ..IsoDuration::default() }));
    let minus_two_hours = IsoDuration { negative: true, hours: 2, ..IsoDuration::default() };
    assert_eq!(deadline(&m, "meet"), DeadlineRule::From { item: "handover".into(), offset: Some(minus_two_hours) });
    assert_eq!(deadline(&m, "archive"), DeadlineRule::None);
    assert_eq!(assignee(&m, "handover_prep"), AssigneeRule::Starter);
    assert_eq!(assignee(&m, "approve"), AssigneeRule::Role("managers".into()));
    assert_eq!(assignee(&m, "meet"), AssigneeRule::Item("deputy".into()));
    assert_eq!(assignee(&m, "archive"), AssigneeRule::User("hr.office".into()));
    assert_eq!(m.node("gw").map(|n| n.kind.clone()), Some(NodeKind::Exclusive { default: Some("short".into()) }));
    let flow_ids: Vec<_> = m.flows.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(flow_ids, ["f1", "f2", "long", "short", "f5", "f6", "f7"]);
    let Some(long) = m.flows[2].condition.as_ref() else { panic!("'long' has a condition") };
    assert_eq!(long.text, "days > 5 and kind == \"vacation\" or urgent");
    let data = |days: f64, kind: &str| {
        [("days".to_owned(), Value::Number(days)), ("kind".to_owned(), Value::Text(kind.into()))].into_iter().collect()
    };
    assert!(long.eval(&data(6.0, "vacation")));
    assert!(!long.eval(&data(6.0, "sick")));
    assert!(!long.eval(&data(5.0, "vacation")));
}

#[test]
fn time_zone_falls_back_to_the_default() {
    let xml = with_task(TASK);
    assert_eq!(parse(&xml, Some("America/New_York")).map(|m| m.time_zone), Ok(Some("America/New_York".into())));
    assert_eq!(parse(&xml, None).map(|m| m.time_zone), Ok(None));
    let own = xml.replace(r#"isExecutable="true""#, r#"isExecutable="true" flowcal:timeZone="Pacific/Chatham""#);
    assert_eq!(parse(&own, Some("UTC")).map(|m| m.time_zone), Ok(Some("Pacific/Chatham".into())));
}

#[test]
fn matches_by_namespace_not_prefix() {
    // BPMN as the default namespace, flowcal under another prefix, and a
    // vendor's element that happens to be called serviceTask.
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:fc="https://flowcal.dev/schema/1" xmlns:bpmn="urn:not-bpmn">
<process id="p">
<bpmn:serviceTask id="ignored"/>
<startEvent id="s"/><userTask id="t" fc:deadline="PT4H"/><endEvent id="e"/>
<sequenceFlow id="a" sourceRef="s" targetRef="t"/><sequenceFlow id="b" sourceRef="t" targetRef="e"/>
</process>
</definitions>"#;
    let m = ok(xml);
    assert_eq!(counts(&m), (1, 1, 1, 0, 0));
    assert_eq!(deadline(&m, "t"), DeadlineRule::After(IsoDuration { hours: 4, ..IsoDuration::default() }));
}

#[test]
fn picks_the_executable_process() {
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
<bpmn:collaboration id="c"><bpmn:participant id="x" processRef="drawn"/></bpmn:collaboration>
<bpmn:process id="drawn" isExecutable="false"><bpmn:startEvent id="s0"/></bpmn:process>
<bpmn:process id="run" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="a" sourceRef="s" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>"#;
    assert_eq!(ok(xml).key, "run");
}

#[test]
fn ignores_documentation_annotations_and_empty_conditions() {
    let m = ok(&doc(&[
        "<bpmn:documentation>what this is</bpmn:documentation>",
        r#"<bpmn:textAnnotation id="a"><bpmn:text>note</bpmn:text></bpmn:textAnnotation>"#,
        r#"<bpmn:association id="as" sourceRef="t" targetRef="a"/>"#,
        r#"<bpmn:startEvent id="start"><bpmn:documentation>d</bpmn:documentation></bpmn:startEvent>"#,
        TASK,
        END,
        r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">  </bpmn:conditionExpression></bpmn:sequenceFlow>"#,
        F2,
    ]));
    assert_eq!(m.flows.len(), 2);
    assert!(m.flows[0].condition.is_none());
}

#[test]
fn nested_lanes_give_the_innermost_role_and_unnamed_lanes_their_id() {
    let m = ok(&doc(&[
        r#"<bpmn:laneSet><bpmn:lane id="org" name="everyone"><bpmn:flowNodeRef>t</bpmn:flowNodeRef><bpmn:flowNodeRef>u</bpmn:flowNodeRef>"#,
        r#"<bpmn:childLaneSet><bpmn:lane id="hr" name=" HR&#10;team "><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet></bpmn:lane>"#,
        r#"<bpmn:lane id="ops" name=""><bpmn:flowNodeRef>v</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"#,
        START,
        TASK,
        r#"<bpmn:userTask id="u"/>"#,
        r#"<bpmn:userTask id="v"/>"#,
        END,
        F1,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="u"/>"#,
        r#"<bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="v"/>"#,
        r#"<bpmn:sequenceFlow id="f4" sourceRef="v" targetRef="end"/>"#,
    ]));
    assert_eq!(assignee(&m, "t"), AssigneeRule::Role("HR team".into()));
    assert_eq!(assignee(&m, "u"), AssigneeRule::Role("everyone".into()));
    assert_eq!(assignee(&m, "v"), AssigneeRule::Role("ops".into()));
}

// ---------------------------------------------------------------------------
// Refusals: XML and document level

#[test]
fn refuses_malformed_xml() {
    assert_refused(
        "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <bpmn:process>\n</bpmn:definitions>",
        3,
        1,
        "the file is not well-formed XML: expected 'bpmn:process' tag, not 'bpmn:definitions'",
    );
}

#[test]
fn refuses_a_dtd() {
    assert_refused(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY a \"b\">]>\n<d/>",
        2,
        1,
        "the file has a document type declaration (<!DOCTYPE …>), which flowcal does not accept: remove it",
    );
}

/// A model nested `levels` deep inside a documentation element.
fn deep_model(levels: usize) -> String {
    format!(
        "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n<bpmn:documentation>{}{}</bpmn:documentation>\n</bpmn:definitions>",
        "<x>".repeat(levels),
        "</x>".repeat(levels)
    )
}

#[test]
fn refuses_deep_nesting_without_overflowing_the_stack() {
    // A tokio worker's stack: before the XML door, 5,000 levels overflowed it and aborted the process.
    let e = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| refused(&deep_model(5_000)))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!((e.line, e.column), (2, 1 + "<bpmn:documentation>".len() as u32 + 3 * 254));
    assert!(e.message.starts_with("elements are nested more than 256 levels deep here;"), "{e}");
}

#[test]
fn refuses_an_attribute_bomb() {
    let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = format!("<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n<bpmn:process{attrs}/></bpmn:definitions>");
    let e = refused(&xml);
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.message.starts_with("this element has more than 256 attributes;"), "{e}");
}

#[test]
fn refuses_a_root_that_is_not_bpmn_definitions() {
    assert_refused(
        "<?xml version=\"1.0\"?>\n<definitions xmlns=\"http://www.omg.org/spec/DMN/20151101/dmn.xsd\"/>",
        2,
        1,
        "the root element is <definitions> in namespace http://www.omg.org/spec/DMN/20151101/dmn.xsd, not \
         bpmn:definitions: this is not a BPMN 2.0 model (namespace http://www.omg.org/spec/BPMN/20100524/MODEL)",
    );
}

#[test]
fn refuses_a_file_without_process() {
    assert_refused(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"><message id=\"m\"/></definitions>",
        1,
        1,
        "the file has no bpmn:process: there is nothing to run",
    );
}

#[test]
fn refuses_a_process_without_id() {
    let xml = with_task(TASK).replace(r#"<bpmn:process id="p""#, "<bpmn:process");
    assert_refused(&xml, 3, 1, "the bpmn:process has no id; flowcal uses it as the model's key");
}

#[test]
fn refuses_an_unknown_time_zone() {
    let xml = with_task(TASK).replace(r#"isExecutable="true""#, r#"flowcal:timeZone="Mars/Olympus""#);
    assert_refused(
        &xml,
        3,
        1,
        "flowcal:timeZone: 'Mars/Olympus' is not a known IANA time zone (for example Europe/Berlin or America/New_York)",
    );
}

#[test]
fn a_process_names_what_happens_to_edits_in_calendars() {
    use flowcal_domain::calendar_edits::{OnDeleted, OnMoved, ProcessEdits};
    assert_eq!(ok(&with_task(TASK)).calendar_edits, ProcessEdits::default());
    let xml = with_task(TASK).replace(
        r#"isExecutable="true""#,
        r#"isExecutable="true" flowcal:calendarEdits="deleted=restore moved=accept""#,
    );
    assert_eq!(
        ok(&xml).calendar_edits,
        ProcessEdits { deleted: Some(OnDeleted::Restore), moved: Some(OnMoved::Accept) }
    );
    let xml = with_task(TASK).replace(r#"isExecutable="true""#, r#"flowcal:calendarEdits="moved=ignore""#);
    assert_refused(
        &xml,
        3,
        1,
        "flowcal:calendarEdits: moved=ignore: a move in the calendar is 'propose'd, 'accept'ed or 'revert'ed",
    );
}

// ---------------------------------------------------------------------------
// Refusals: elements outside the subset

#[test]
fn refuses_unsupported_elements_with_the_bpmn_prefix_whatever_the_file_uses() {
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p">
    <startEvent id="s"/>
      <intermediateThrowEvent id="x"><signalEventDefinition/></intermediateThrowEvent>
    <callActivity id="y"/>
  </process>
</definitions>"#;
    let e = refused(xml);
    assert_eq!(listed(&e), [("bpmn:signalEventDefinition", 4, 38), ("bpmn:callActivity", 5, 5)]);
    assert_eq!((e.line, e.column), (4, 38));
}

#[test]
fn refuses_event_definitions_other_than_timer_and_terminate() {
    let xml = doc(&[
        r#"<bpmn:startEvent id="start">"#,
        "<bpmn:outgoing>f1</bpmn:outgoing>",
        r#"  <bpmn:messageEventDefinition id="md"/>"#,
        "</bpmn:startEvent>",
        r#"<bpmn:endEvent id="end"><bpmn:errorEventDefinition/></bpmn:endEvent>"#,
        r#"<bpmn:intermediateThrowEvent id="x"><bpmn:timerEventDefinition/></bpmn:intermediateThrowEvent>"#,
        r#"<bpmn:endEvent id="end2"><bpmn:terminateEventDefinition/><bpmn:escalationEventDefinition/></bpmn:endEvent>"#,
        r#"<bpmn:startEvent id="s2"><bpmn:terminateEventDefinition/></bpmn:startEvent>"#,
    ]);
    let e = refused(&xml);
    assert_eq!(
        listed(&e),
        [
            ("bpmn:messageEventDefinition", 6, 3),
            ("bpmn:errorEventDefinition", 8, 25),
            // A timer on a throw event is not one flowcal waits for.
            ("bpmn:timerEventDefinition", 9, 37),
            ("bpmn:escalationEventDefinition", 10, 58),
            ("bpmn:terminateEventDefinition", 11, 26),
        ]
    );
}

#[test]
fn refuses_unsupported_content_of_a_task() {
    let xml = with_task(r#"<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>"#);
    assert_refused(&xml, 5, 23, &format!("bpmn:multiInstanceLoopCharacteristics {}", unsupported_tail()));
    let xml = with_task(r#"<bpmn:task id="t"><bpmn:standardLoopCharacteristics/></bpmn:task>"#);
    assert_refused(&xml, 5, 19, &format!("bpmn:standardLoopCharacteristics {}", unsupported_tail()));
}

#[test]
fn refuses_unknown_and_misplaced_flowcal_attributes() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:dedline="P1D"/>"#),
        5,
        1,
        "bpmn:userTask has an unknown attribute flowcal:dedline; it takes flowcal:deadline, flowcal:deadlineFrom, \
         flowcal:deadlineOffset, flowcal:deadlineRoll, flowcal:workCalendar, flowcal:assignee",
    );
    assert_refused(
        &with_task(r#"<bpmn:task id="t" flowcal:asignee="starter"/>"#),
        5,
        1,
        "bpmn:task has an unknown attribute flowcal:asignee; it takes flowcal:deadline, flowcal:deadlineFrom, \
         flowcal:deadlineOffset, flowcal:deadlineRoll, flowcal:workCalendar, flowcal:assignee",
    );
    let nowhere = "flowcal reads flowcal:timeZone, flowcal:workCalendar and flowcal:calendarEdits on bpmn:process; \
                   flowcal:workCalendar on bpmn:lane; flowcal:deadline, flowcal:deadlineFrom, flowcal:deadlineOffset, \
                   flowcal:deadlineRoll, flowcal:workCalendar and flowcal:assignee on bpmn:userTask, bpmn:task and \
                   bpmn:manualTask; flowcal:timerOffset on timer events; and flowcal:deadlineTimer on boundary timers";
    assert_refused(
        &doc(&[START, r#"<bpmn:parallelGateway id="g" flowcal:deadline="P1D"/>"#]),
        5,
        1,
        &format!("flowcal:deadline has no meaning on bpmn:parallelGateway; {nowhere}"),
    );
    assert_refused(
        &doc(&[r#"<bpmn:startEvent id="start" flowcal:deadline="P1D"/>"#]),
        4,
        1,
        "bpmn:startEvent has an unknown attribute flowcal:deadline; it takes flowcal:timerOffset",
    );
    // Also on an element flowcal otherwise ignores.
    assert_refused(
        &doc(&[START, r#"<bpmn:textAnnotation id="a" flowcal:assignee="starter"/>"#]),
        5,
        1,
        &format!("flowcal:assignee has no meaning on bpmn:textAnnotation; {nowhere}"),
    );
}

#[test]
fn refuses_misplaced_flowcal_elements() {
    let xml = with_task(
        r#"<bpmn:userTask id="t"><bpmn:extensionElements><flowcal:dataItem key="a" type="date"/></bpmn:extensionElements></bpmn:userTask>"#,
    );
    assert_refused(&xml, 5, 47, "flowcal:dataItem belongs directly in the process's bpmn:extensionElements");
    let xml = doc(&["<bpmn:extensionElements>", r#"<flowcal:deadline value="P1D"/>"#, "</bpmn:extensionElements>"]);
    assert_refused(
        &xml,
        5,
        1,
        "flowcal:deadline is not a flowcal element (flowcal reads flowcal:dataItem in the process's \
         bpmn:extensionElements)",
    );
}

// ---------------------------------------------------------------------------
// Refusals: data items

#[track_caller]
fn assert_item_refused(item: &str, message: &str) {
    assert_refused(&with_items_and_task(&[item], TASK), 5, 1, message);
}

#[test]
fn refuses_a_data_item_key_that_conditions_cannot_use() {
    let tail = "cannot be used in conditions: use letters, digits and _, starting with a letter or _ (and not one of \
                and, or, not, true, false, null)";
    assert_item_refused(
        r#"<flowcal:dataItem key="first-day" type="date"/>"#,
        &format!("data item key 'first-day' {tail}"),
    );
    assert_item_refused(r#"<flowcal:dataItem key="Not" type="boolean"/>"#, &format!("data item key 'Not' {tail}"));
    assert_item_refused(r#"<flowcal:dataItem type="date"/>"#, "flowcal:dataItem has no key");
}

#[test]
fn refuses_an_unknown_or_missing_type() {
    assert_item_refused(
        r#"<flowcal:dataItem key="n" type="int"/>"#,
        "data item 'n' has the unknown type 'int'; use one of: string, text, number, boolean, date, datetime, user, \
         select",
    );
    assert_item_refused(
        r#"<flowcal:dataItem key="n"/>"#,
        "data item 'n' has no type; use one of: string, text, number, boolean, date, datetime, user, select",
    );
}

#[test]
fn refuses_a_bad_required_flag() {
    assert_item_refused(
        r#"<flowcal:dataItem key="n" type="number" required="yes"/>"#,
        "data item 'n': required=\"yes\" is neither \"true\" nor \"false\"",
    );
}

#[test]
fn refuses_bad_options() {
    assert_item_refused(
        r#"<flowcal:dataItem key="c" type="select"/>"#,
        "data item 'c' is a select item without options; list them, e.g. options=\"low,medium,high\"",
    );
    assert_item_refused(
        r#"<flowcal:dataItem key="c" type="string" options="a,b"/>"#,
        "data item 'c' is a string item; options are only for select items",
    );
    assert_item_refused(
        r#"<flowcal:dataItem key="c" type="select" options="a,,b"/>"#,
        "data item 'c' has an empty option in \"a,,b\"; separate options with single commas",
    );
    assert_item_refused(
        r#"<flowcal:dataItem key="c" type="select" options="a, b, a"/>"#,
        "data item 'c' lists the option 'a' twice",
    );
}

#[test]
fn refuses_unknown_data_item_attributes() {
    assert_item_refused(
        r#"<flowcal:dataItem key="c" type="string" lable="C"/>"#,
        "flowcal:dataItem has an unknown attribute 'lable'; it takes key, label, type, required and options",
    );
}

#[test]
fn refuses_duplicate_data_items() {
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="d" type="date"/>"#, r#"<flowcal:dataItem key="d" type="datetime"/>"#],
        TASK,
    );
    assert_refused(&xml, 6, 1, "data item 'd' is declared twice (first at line 5, column 1)");
}

// ---------------------------------------------------------------------------
// Refusals: nodes and user tasks

#[test]
fn refuses_duplicate_ids() {
    let xml = doc(&[START, TASK, r#"<bpmn:endEvent id="t"/>"#]);
    assert_refused(&xml, 6, 1, "the id 't' is used twice (first at line 5, column 1); ids must be unique");
}

#[test]
fn refuses_a_node_without_id() {
    assert_refused(&doc(&[START, "<bpmn:userTask name=\"x\"/>"]), 5, 1, "this bpmn:userTask has no id");
}

#[test]
fn refuses_a_bad_deadline() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:deadline="3 days"/>"#),
        5,
        1,
        "task 't': flowcal:deadline '3 days' is not an ISO 8601 duration (it must start with P); write for example \
         P3D, PT4H, P1DT12H or -P1D",
    );
}

#[test]
fn refuses_a_negative_deadline() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:deadline="-P1D"/>"#),
        5,
        1,
        "task 't': flowcal:deadline '-P1D' is negative, but it counts from when the step starts; for a deadline \
         before a date, use flowcal:deadlineFrom with a negative flowcal:deadlineOffset",
    );
}

#[test]
fn refuses_deadline_and_deadline_from_together() {
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="d" type="date"/>"#],
        r#"<bpmn:userTask id="t" flowcal:deadline="P1D" flowcal:deadlineFrom="d"/>"#,
    );
    assert_refused(&xml, 8, 1, "task 't': it has both flowcal:deadline and flowcal:deadlineFrom; use one of them");
}

#[test]
fn refuses_deadline_from_a_missing_item() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:deadlineFrom="due"/>"#),
        5,
        1,
        "task 't': deadline from item 'due', but there is no such item: declare it with \
         <flowcal:dataItem key=\"due\" type=\"date\"/> (or type=\"datetime\") in the process's extensionElements",
    );
}

#[test]
fn refuses_deadline_from_an_item_that_is_not_a_date() {
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="due" type="string"/>"#],
        r#"<bpmn:userTask id="t" flowcal:deadlineFrom="due"/>"#,
    );
    assert_refused(
        &xml,
        8,
        1,
        "task 't': deadline from item 'due' which is not a date or datetime item (it is a string item)",
    );
}

#[test]
fn refuses_clock_units_in_the_offset_of_a_date_item() {
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="due" type="date"/>"#],
        r#"<bpmn:userTask id="t" flowcal:deadlineFrom="due" flowcal:deadlineOffset="-PT12H"/>"#,
    );
    assert_refused(
        &xml,
        8,
        1,
        "task 't': flowcal:deadlineOffset '-PT12H' has hours, minutes or seconds, but 'due' is a date item (all \
         day): use days, weeks, months or years, e.g. -P1D",
    );
}

#[test]
fn refuses_an_offset_without_deadline_from() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:deadlineOffset="-P1D"/>"#),
        5,
        1,
        "task 't': flowcal:deadlineOffset needs flowcal:deadlineFrom (the item it is counted from)",
    );
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="due" type="datetime"/>"#],
        r#"<bpmn:userTask id="t" flowcal:deadlineFrom="due" flowcal:deadlineOffset="1 day"/>"#,
    );
    assert_refused(
        &xml,
        8,
        1,
        "task 't': flowcal:deadlineOffset '1 day' is not an ISO 8601 duration (it must start with P); write for \
         example P3D, PT4H, P1DT12H or -P1D",
    );
}

#[test]
fn refuses_bad_assignees() {
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:assignee="bob"/>"#),
        5,
        1,
        "task 't': flowcal:assignee 'bob' is not understood; write starter, user:LOGIN or item:KEY",
    );
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:assignee="user:Bob Smith"/>"#),
        5,
        1,
        "task 't': flowcal:assignee: 'Bob Smith' is not a valid login: use 1 to 64 characters a-z, 0-9, '.', '_' \
         or '-', starting with a letter or digit",
    );
    assert_refused(
        &with_task(r#"<bpmn:userTask id="t" flowcal:assignee="item:owner"/>"#),
        5,
        1,
        "task 't': flowcal:assignee names item 'owner', but there is no such item: declare it with \
         <flowcal:dataItem key=\"owner\" type=\"user\"/>",
    );
    let xml = with_items_and_task(
        &[r#"<flowcal:dataItem key="owner" type="string"/>"#],
        r#"<bpmn:userTask id="t" flowcal:assignee="item:owner"/>"#,
    );
    assert_refused(
        &xml,
        8,
        1,
        "task 't': flowcal:assignee names item 'owner', which is a string item, not a user item",
    );
}

#[test]
fn refuses_a_lane_name_that_cannot_be_a_role() {
    let long = "x".repeat(65);
    let lane = format!(
        r#"<bpmn:laneSet><bpmn:lane id="l" name="{long}"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"#
    );
    let xml = doc(&[&lane, START, TASK, END, F1, F2]);
    assert_refused(
        &xml,
        4,
        15,
        &format!("lane name '{long}' cannot be a role: give the lane a name of 1 to 64 characters"),
    );
}

// ---------------------------------------------------------------------------
// Refusals: flows and conditions

#[test]
fn refuses_flows_to_unknown_nodes() {
    let xml = doc(&[START, TASK, END, r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x"/>"#, F2]);
    assert_refused(&xml, 7, 1, "sequence flow 'f1' points to 'x', which is not a node of this process");
    let xml = doc(&[START, TASK, END, F1, r#"<bpmn:sequenceFlow id="f2" sourceRef="nowhere" targetRef="end"/>"#]);
    assert_refused(&xml, 8, 1, "sequence flow 'f2' starts at 'nowhere', which is not a node of this process");
    let xml = doc(&[START, TASK, END, r#"<bpmn:sequenceFlow id="f1" targetRef="t"/>"#]);
    assert_refused(&xml, 7, 1, "sequence flow 'f1' has no sourceRef");
}

/// start → t → gw, gw → a → end, gw → b → end; the gateway is on line 6, the
/// flows to a and b on lines 12 and 15, their conditions on lines 13 and 16.
fn gateway(default: Option<&str>, cond_a: Option<&str>, cond_b: Option<&str>) -> String {
    let gw = match default {
        Some(d) => format!(r#"<bpmn:exclusiveGateway id="gw" name="Which?" default="{d}"/>"#),
        None => r#"<bpmn:exclusiveGateway id="gw" name="Which?"/>"#.to_owned(),
    };
    let flow = |id: &str, cond: Option<&str>| {
        let c = cond.map(|c| format!("<bpmn:conditionExpression>{c}</bpmn:conditionExpression>")).unwrap_or_default();
        format!("<bpmn:sequenceFlow id=\"{id}\" sourceRef=\"gw\" targetRef=\"task_{id}\">\n{c}\n</bpmn:sequenceFlow>")
    };
    let (fa, fb) = (flow("a", cond_a), flow("b", cond_b));
    doc(&[
        START,
        TASK,
        &gw,
        r#"<bpmn:userTask id="task_a"/>"#,
        r#"<bpmn:userTask id="task_b"/>"#,
        END,
        F1,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="gw"/>"#,
        &fa,
        &fb,
        r#"<bpmn:sequenceFlow id="fa" sourceRef="task_a" targetRef="end"/>"#,
        r#"<bpmn:sequenceFlow id="fb" sourceRef="task_b" targetRef="end"/>"#,
    ])
}

#[test]
fn gateway_with_conditions_or_default_parses() {
    let m = ok(&gateway(None, Some("amount &gt; 10"), Some("amount &lt;= 10")));
    assert_eq!(m.item("amount").map(|i| (i.data_type, i.implicit)), Some((DataType::Number, true)));
    let m = ok(&gateway(Some("b"), Some("${approved}"), None));
    assert_eq!(m.node("gw").map(|n| n.kind.clone()), Some(NodeKind::Exclusive { default: Some("b".into()) }));
    assert_eq!(m.item("approved").map(|i| i.data_type), Some(DataType::Boolean));
}

#[test]
fn refuses_an_unsupported_condition() {
    assert_refused(
        &gateway(Some("b"), Some("${var:gt(amount, 5)}"), None),
        13,
        1,
        "flow 'a': condition '${var:gt(amount, 5)}' is not supported: unsupported syntax at 'var:gt(' (character \
         3): flowcal conditions compare data items with == != < <= > >=, joined by and/or/not",
    );
}

#[test]
fn refuses_a_condition_on_a_flow_out_of_a_task() {
    let xml = doc(&[
        START,
        TASK,
        END,
        F1,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end">"#,
        "  <bpmn:conditionExpression>ok == true</bpmn:conditionExpression>",
        "</bpmn:sequenceFlow>",
    ]);
    assert_refused(
        &xml,
        9,
        3,
        "flow 'f2' has a condition, but it leaves user task 't' (T): flowcal only supports conditions on the flows \
         out of an exclusive gateway",
    );
}

#[test]
fn refuses_a_condition_on_a_flow_out_of_a_parallel_gateway() {
    let xml = doc(&[
        START,
        r#"<bpmn:parallelGateway id="t"/>"#,
        END,
        F1,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end">"#,
        "<bpmn:conditionExpression>ok</bpmn:conditionExpression>",
        "</bpmn:sequenceFlow>",
    ]);
    assert_refused(
        &xml,
        9,
        1,
        "flow 'f2' has a condition, but it leaves parallel gateway 't': flowcal only supports conditions on the flows \
         out of an exclusive gateway",
    );
}

#[test]
fn refuses_a_default_flow_with_a_condition() {
    assert_refused(
        &gateway(Some("a"), Some("x == 1"), Some("x == 2")),
        13,
        1,
        "flow 'a' is the default flow of exclusive gateway 'gw' (Which?), so it cannot have a condition: it is taken \
         when no other condition holds",
    );
}

#[test]
fn refuses_a_default_that_is_not_an_outgoing_flow() {
    assert_refused(
        &gateway(Some("f2"), Some("x == 1"), Some("x == 2")),
        6,
        1,
        "exclusive gateway 'gw' (Which?): its default flow 'f2' is not one of its outgoing flows ('a', 'b')",
    );
}

#[test]
fn refuses_a_split_without_conditions_or_default() {
    assert_refused(
        &gateway(None, None, None),
        6,
        1,
        "exclusive gateway 'gw' (Which?) has outgoing flows without conditions and no default flow; give each \
         outgoing flow a conditionExpression over data items, or mark one as the gateway's default",
    );
}

#[test]
fn refuses_a_flow_without_condition_that_is_not_the_default() {
    let message = "flow 'b' leaves exclusive gateway 'gw' (Which?) without a condition and is not the gateway's \
                   default flow; give it a conditionExpression, or make it the default";
    assert_refused(&gateway(None, Some("x == 1"), None), 15, 1, message);
    let xml = gateway(Some("a"), None, None);
    assert_refused(&xml, 15, 1, message);
}

#[test]
fn refuses_conflicting_uses_of_an_undeclared_variable() {
    assert_refused(
        &gateway(None, Some("x &gt; 1"), Some("x == true")),
        16,
        1,
        "flow 'b': condition 'x == true' uses 'x' as a boolean, but flow 'a' uses it as a number; declare it with \
         <flowcal:dataItem key=\"x\" type=\"…\"/> and compare it with values of that type",
    );
    assert_refused(
        &gateway(Some("b"), Some("x &gt; 1 or x == 'big'"), None),
        13,
        1,
        "flow 'a': condition 'x > 1 or x == 'big'' uses 'x' both as a number and as a string; declare it with \
         <flowcal:dataItem key=\"x\" type=\"…\"/> and compare it with values of that type",
    );
}

#[test]
fn refuses_a_condition_that_does_not_fit_its_item() {
    let xml = gateway(Some("b"), Some("due &gt; 'soon'"), None).replace(
        r#"isExecutable="true">"#,
        r#"isExecutable="true"><bpmn:extensionElements><flowcal:dataItem key="due" type="date"/></bpmn:extensionElements>"#,
    );
    assert_refused(
        &xml,
        13,
        1,
        "flow 'a': condition 'due > 'soon'': 'due' is a date item; it cannot be compared with the string \"soon\": \
         compare it with a date written \"YYYY-MM-DD\", e.g. >= \"2026-03-28\"",
    );
}

// ---------------------------------------------------------------------------
// Refusals: structure

#[test]
fn refuses_a_process_without_start_or_end() {
    assert_refused(&doc(&[TASK, END]), 3, 1, "the process has no start event (bpmn:startEvent)");
    assert_refused(&doc(&[START]), 3, 1, "the process has no end event (bpmn:endEvent)");
}

#[test]
fn refuses_a_second_start_event() {
    let xml = doc(&[START, r#"<bpmn:startEvent id="start2"/>"#, TASK, END, F1, F2]);
    assert_refused(
        &xml,
        5,
        1,
        "the process has a second start event 'start2' (the first is 'start'); flowcal starts every instance at one \
         start event",
    );
}

#[test]
fn refuses_a_start_event_with_incoming_or_several_outgoing_flows() {
    let back = r#"<bpmn:sequenceFlow id="back" sourceRef="t" targetRef="start"/>"#;
    let xml = doc(&[START, r#"<bpmn:parallelGateway id="t"/>"#, END, F1, F2, back]);
    assert_refused(&xml, 4, 1, "start event 'start' has an incoming flow ('back'); nothing can lead back to the start");
    let also = r#"<bpmn:sequenceFlow id="f3" sourceRef="start" targetRef="end"/>"#;
    let xml = doc(&[START, TASK, END, F1, F2, also]);
    assert_refused(
        &xml,
        4,
        1,
        "start event 'start' has 2 outgoing flows ('f1', 'f3'); it needs exactly one (start several branches with a \
         parallel gateway)",
    );
}

#[test]
fn refuses_an_end_event_with_an_outgoing_flow() {
    let on = r#"<bpmn:sequenceFlow id="f3" sourceRef="end" targetRef="end2"/>"#;
    let xml = doc(&[START, TASK, END, r#"<bpmn:endEvent id="end2"/>"#, F1, F2, on]);
    assert_refused(&xml, 6, 1, "end event 'end' has an outgoing flow ('f3'); an end event ends its path");
}

#[test]
fn refuses_a_task_with_two_outgoing_flows() {
    let also = r#"<bpmn:sequenceFlow id="f3" sourceRef="t" targetRef="end"/>"#;
    assert_refused(
        &doc(&[START, TASK, END, F1, F2, also]),
        5,
        1,
        "user task 't' (T) has 2 outgoing flows ('f2', 'f3'); a task has exactly one: split with a parallel gateway \
         (all paths) or an exclusive gateway (one path)",
    );
}

#[test]
fn refuses_a_node_without_outgoing_flow() {
    assert_refused(
        &doc(&[START, TASK, END, F1]),
        5,
        1,
        "user task 't' (T) has no outgoing flow; every path must lead to an end event",
    );
    let xml = doc(&[START, r#"<bpmn:parallelGateway id="t"/>"#, END, F1]);
    assert_refused(&xml, 5, 1, "parallel gateway 't' has no outgoing flow; every path must lead to an end event");
}

#[test]
fn refuses_a_task_without_incoming_flow() {
    let xml = doc(&[
        START,
        TASK,
        r#"<bpmn:userTask id="lost" name="Lost"/>"#,
        END,
        F1,
        F2,
        r#"<bpmn:sequenceFlow id="f3" sourceRef="lost" targetRef="end"/>"#,
    ]);
    assert_refused(&xml, 6, 1, "user task 'lost' (Lost) has no incoming flow, so it cannot be reached");
}

#[test]
fn refuses_nodes_that_cannot_be_reached() {
    // A loop that nothing enters.
    let xml = doc(&[
        START,
        TASK,
        END,
        r#"<bpmn:userTask id="u"/>"#,
        r#"<bpmn:userTask id="v"/>"#,
        F1,
        F2,
        r#"<bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="v"/>"#,
        r#"<bpmn:sequenceFlow id="f4" sourceRef="v" targetRef="u"/>"#,
    ]);
    assert_refused(&xml, 7, 1, "user task 'u' cannot be reached from the start event");
}

#[test]
fn error_display_has_line_and_column() {
    let e = BpmnError { line: 3, column: 7, message: "bad".into(), unsupported: vec![] };
    assert_eq!(e.to_string(), "line 3, column 7: bad");
}

#[test]
fn a_long_chain_of_tasks_parses() {
    let n = 3000;
    let mut body = vec![START.to_owned(), END.to_owned()];
    for i in 0..n {
        body.push(format!(r#"<bpmn:userTask id="t{i}"/>"#));
        let from = if i == 0 { "start".to_owned() } else { format!("t{}", i - 1) };
        body.push(format!(r#"<bpmn:sequenceFlow id="f{i}" sourceRef="{from}" targetRef="t{i}"/>"#));
    }
    body.push(format!(r#"<bpmn:sequenceFlow id="last" sourceRef="t{}" targetRef="end"/>"#, n - 1));
    let body: Vec<&str> = body.iter().map(String::as_str).collect();
    let m = ok(&doc(&body));
    assert_eq!(counts(&m), (1, 1, n, 0, 0));
    assert_eq!(m.flows.len(), n + 1);
}

#[test]
fn refuses_a_loop_through_gateways_only() {
    // start → g1 → g2 → g1 …: a token would never wait anywhere.
    let xml = doc(&[
        START,
        r#"<bpmn:exclusiveGateway id="g1" default="back_out"/>"#,
        r#"<bpmn:exclusiveGateway id="g2" default="loop"/>"#,
        TASK,
        END,
        r#"<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g1"/>"#,
        r#"<bpmn:sequenceFlow id="back_out" sourceRef="g1" targetRef="g2"/>"#,
        r#"<bpmn:sequenceFlow id="loop" sourceRef="g2" targetRef="g1"/>"#,
        r#"<bpmn:sequenceFlow id="out" sourceRef="g2" targetRef="t"><bpmn:conditionExpression>go</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
        F2,
    ]);
    assert_refused(
        &xml,
        5,
        1,
        "exclusive gateway 'g1' is on a loop that passes no user task or timer event: a token would circle there \
         forever",
    );
    // A loop back through a user task is fine (rework).
    let ok_loop = doc(&[
        START,
        r#"<bpmn:exclusiveGateway id="g" default="again"/>"#,
        TASK,
        END,
        r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t"/>"#,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="g"/>"#,
        r#"<bpmn:sequenceFlow id="again" sourceRef="g" targetRef="t"/>"#,
        r#"<bpmn:sequenceFlow id="done" sourceRef="g" targetRef="end"><bpmn:conditionExpression>finished</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
    ]);
    ok(&ok_loop);
}

mod elements;
mod miwg;
mod timers;
mod workcal;
