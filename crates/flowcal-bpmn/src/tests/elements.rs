//! The elements beyond user tasks and gateways: tasks and manual tasks,
//! flows without id, data declarations and artifacts, resource roles,
//! collaborations, embedded sub-processes, milestones and terminate ends,
//! loops that never wait, and the list of unsupported elements.

use super::{assert_refused, assignee, deadline, doc, listed, ok, refused, unsupported_tail, END, F1, F2, START};
use flowcal_domain::{AssigneeRule, DeadlineRule, IsoDuration, NodeKind, ProcessModel};

fn kind(m: &ProcessModel, id: &str) -> NodeKind {
    match m.node(id) {
        Some(n) => n.kind.clone(),
        None => panic!("no node {id}"),
    }
}

fn scope<'m>(m: &'m ProcessModel, id: &str) -> Option<&'m str> {
    m.node(id).and_then(|n| n.scope.as_deref())
}

/// start → (the body, lines 5..) → end: `t` must be the only step.
fn around(step: &str) -> String {
    doc(&[START, step, END, F1, F2])
}

// ---------------------------------------------------------------------------
// bpmn:task and bpmn:manualTask

#[test]
fn tasks_and_manual_tasks_without_a_performer_pass_through() {
    for step in [r#"<bpmn:task id="t" name="T"/>"#, r#"<bpmn:manualTask id="t"/>"#] {
        let m = ok(&around(step));
        assert_eq!(kind(&m, "t"), NodeKind::Pass, "{step}");
    }
}

#[test]
fn tasks_with_an_assignee_a_deadline_a_lane_or_a_performer_are_user_tasks() {
    let m = ok(&around(r#"<bpmn:task id="t" flowcal:assignee="user:bob"/>"#));
    assert_eq!(assignee(&m, "t"), AssigneeRule::User("bob".into()));
    assert_eq!(deadline(&m, "t"), DeadlineRule::None);

    let m = ok(&around(r#"<bpmn:manualTask id="t" flowcal:deadline="P2D"/>"#));
    assert_eq!(assignee(&m, "t"), AssigneeRule::Starter);
    assert_eq!(deadline(&m, "t"), DeadlineRule::After(IsoDuration { days: 2, ..IsoDuration::default() }));

    let lane = r#"<bpmn:laneSet><bpmn:lane id="l" name="clerks"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"#;
    let m = ok(&doc(&[lane, START, r#"<bpmn:task id="t"/>"#, END, F1, F2]));
    assert_eq!(assignee(&m, "t"), AssigneeRule::Role("clerks".into()));

    let owner = r#"<bpmn:manualTask id="t"><bpmn:potentialOwner><bpmn:resourceAssignmentExpression><bpmn:formalExpression>group(clerks)</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner></bpmn:manualTask>"#;
    assert_eq!(assignee(&ok(&around(owner)), "t"), AssigneeRule::Role("clerks".into()));
}

// ---------------------------------------------------------------------------
// Sequence flows without id

#[test]
fn a_flow_without_id_gets_one_no_real_id_can_have() {
    let m = ok(&doc(&[
        START,
        r#"<bpmn:task id="t"/>"#,
        END,
        r#"<bpmn:sequenceFlow sourceRef="start" targetRef="t"/>"#,
        r#"  <bpmn:sequenceFlow sourceRef="t" targetRef="end"/>"#,
    ]));
    let flows: Vec<_> = m.flows.iter().map(|f| (f.id.as_str(), f.source.as_str(), f.target.as_str())).collect();
    assert_eq!(flows, [("(flow at 7:1)", "start", "t"), ("(flow at 8:3)", "t", "end")]);
    // Its position names it in refusals.
    assert_refused(
        &doc(&[START, END, r#"<bpmn:sequenceFlow sourceRef="start" targetRef="nowhere"/>"#]),
        6,
        1,
        "sequence flow '(flow at 6:1)' points to 'nowhere', which is not a node of this process",
    );
    // Real ids have no spaces, so they never meet a generated one.
    assert_refused(
        &doc(&[START, END, r#"<bpmn:sequenceFlow id="(flow at 6:1)" sourceRef="start" targetRef="end"/>"#]),
        6,
        1,
        "the id '(flow at 6:1)' contains a space; BPMN ids are XML names without spaces: rename it",
    );
}

// ---------------------------------------------------------------------------
// Data declarations and artifacts

#[test]
fn data_declarations_and_artifacts_without_behaviour_are_ignored() {
    let m = ok(&doc(&[
        // As every Bonita export has it.
        r#"<bpmn:ioSpecification id="io"><bpmn:inputSet id="is"/><bpmn:outputSet id="os"/></bpmn:ioSpecification>"#,
        r#"<bpmn:property id="prop" name="amount"/>"#,
        r#"<bpmn:dataObject id="invoice" name="Invoice"/>"#,
        r#"<bpmn:dataObjectReference id="invoice_ref" dataObjectRef="invoice"><bpmn:dataState name="paid"/></bpmn:dataObjectReference>"#,
        r#"<bpmn:dataStoreReference id="db"/>"#,
        r#"<bpmn:textAnnotation id="note"><bpmn:text>why</bpmn:text></bpmn:textAnnotation>"#,
        r#"<bpmn:association id="assoc" sourceRef="t" targetRef="note"/>"#,
        r#"<bpmn:group id="g" categoryValueRef="cv"/>"#,
        START,
        r#"<bpmn:userTask id="t">"#,
        r#"  <bpmn:ioSpecification><bpmn:dataInput id="in"/><bpmn:dataOutput id="out"/><bpmn:inputSet><bpmn:dataInputRefs>in</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet/></bpmn:ioSpecification>"#,
        r#"  <bpmn:property id="task_prop"/>"#,
        r#"  <bpmn:dataInputAssociation><bpmn:sourceRef>invoice_ref</bpmn:sourceRef><bpmn:targetRef>in</bpmn:targetRef></bpmn:dataInputAssociation>"#,
        r#"  <bpmn:dataOutputAssociation><bpmn:targetRef>db</bpmn:targetRef></bpmn:dataOutputAssociation>"#,
        "</bpmn:userTask>",
        END,
        F1,
        F2,
    ]));
    // They are not data items: flowcal:dataItem declares data.
    assert!(m.data_items.is_empty());
    assert_eq!(super::ids(&m), ["start", "t", "end"]);
}

#[test]
fn refuses_data_associations_that_copy_or_compute_data() {
    let e = refused(&doc(&[
        START,
        r#"<bpmn:userTask id="t">"#,
        r#"<bpmn:dataInputAssociation><bpmn:sourceRef>a</bpmn:sourceRef><bpmn:targetRef>b</bpmn:targetRef><bpmn:assignment/></bpmn:dataInputAssociation>"#,
        r#"<bpmn:dataOutputAssociation><bpmn:targetRef>b</bpmn:targetRef><bpmn:transformation>x + 1</bpmn:transformation></bpmn:dataOutputAssociation>"#,
        "</bpmn:userTask>",
        END,
        F1,
        F2,
    ]));
    assert_eq!(listed(&e), [("bpmn:assignment", 6, 96), ("bpmn:transformation", 7, 63)]);
}

#[test]
fn refuses_an_initial_value_given_to_a_data_object() {
    let xml = doc(&[
        r#"<bpmn:dataObject id="d" itemSubjectRef="xsd:string"><bpmn:extensionElements>"#,
        r#"  <activiti:value xmlns:activiti="http://activiti.org/bpmn">Testing123</activiti:value>"#,
        "</bpmn:extensionElements></bpmn:dataObject>",
        START,
        END,
        r#"<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>"#,
    ]);
    let e = refused(&xml);
    assert_eq!(listed(&e), [("activiti:value", 5, 3)]);
    assert_eq!(e.message, format!("activiti:value {}", unsupported_tail()));
}

// ---------------------------------------------------------------------------
// Resource roles

/// A user task `t` with `inside` as its content.
fn task_with(inside: &str) -> String {
    around(&format!(r#"<bpmn:userTask id="t">{inside}</bpmn:userTask>"#))
}

fn role(element: &str, expression: &str) -> String {
    format!(
        "<bpmn:{element}><bpmn:resourceAssignmentExpression><bpmn:formalExpression>{expression}</bpmn:formalExpression>\
         </bpmn:resourceAssignmentExpression></bpmn:{element}>"
    )
}

#[test]
fn resource_roles_name_a_user_or_a_role() {
    let cases = [
        ("potentialOwner", "user(alice)", AssigneeRule::User("alice".into())),
        ("potentialOwner", " group( Accounting ) ", AssigneeRule::Role("Accounting".into())),
        // Camunda and Activiti: a plain name is a group in potentialOwner…
        ("potentialOwner", "managers", AssigneeRule::Role("managers".into())),
        // … and the user in humanPerformer.
        ("humanPerformer", "bob", AssigneeRule::User("bob".into())),
        ("humanPerformer", "group(ops)", AssigneeRule::Role("ops".into())),
        ("performer", "carol", AssigneeRule::User("carol".into())),
    ];
    for (element, expression, rule) in cases {
        let m = ok(&task_with(&role(element, expression)));
        assert_eq!(assignee(&m, "t"), rule, "{element} {expression}");
    }
    // An empty role names no one.
    let m = ok(&task_with("<bpmn:potentialOwner/>"));
    assert_eq!(assignee(&m, "t"), AssigneeRule::Starter);
}

#[test]
fn a_resource_ref_names_the_resource_as_a_role() {
    let xml = task_with(r#"<bpmn:potentialOwner><bpmn:resourceRef>res_1</bpmn:resourceRef></bpmn:potentialOwner>"#)
        .replace("</bpmn:process>", r#"</bpmn:process><bpmn:resource id="res_1" name="Team&#10;Assistant"/>"#);
    assert_eq!(assignee(&ok(&xml), "t"), AssigneeRule::Role("Team Assistant".into()));
    // The expression, when there is one, says more than the resource.
    let both = task_with(
        "<bpmn:potentialOwner><bpmn:resourceRef>res_1</bpmn:resourceRef><bpmn:resourceAssignmentExpression>\
         <bpmn:formalExpression>user(dora)</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner>",
    );
    assert_eq!(assignee(&ok(&both), "t"), AssigneeRule::User("dora".into()));
    assert_refused(
        &task_with(r#"<bpmn:potentialOwner><bpmn:resourceRef>nobody</bpmn:resourceRef></bpmn:potentialOwner>"#),
        5,
        44,
        "task 't': bpmn:potentialOwner names the resource 'nobody', which the file does not declare (bpmn:resource)",
    );
}

#[test]
fn flowcal_assignee_wins_over_resource_roles_which_win_over_lanes() {
    let lane = r#"<bpmn:laneSet><bpmn:lane id="l" name="clerks"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"#;
    let owner = role("potentialOwner", "group(managers)");
    let with = |attrs: &str| {
        doc(&[lane, START, &format!(r#"<bpmn:userTask id="t"{attrs}>{owner}</bpmn:userTask>"#), END, F1, F2])
    };
    assert_eq!(assignee(&ok(&with(r#" flowcal:assignee="user:erin""#)), "t"), AssigneeRule::User("erin".into()));
    assert_eq!(assignee(&ok(&with("")), "t"), AssigneeRule::Role("managers".into()));
    let m = ok(&doc(&[lane, START, r#"<bpmn:userTask id="t"/>"#, END, F1, F2]));
    assert_eq!(assignee(&m, "t"), AssigneeRule::Role("clerks".into()));
}

#[test]
fn refuses_several_candidates() {
    let message = "task 't' has several candidates (potentialOwner 'user(a)', potentialOwner 'group(b)'); flowcal \
                   gives a task to one user or one role: keep one (a role's members may each claim the task), or put \
                   the task in a lane";
    assert_refused(&task_with(&role("potentialOwner", "user(a), group(b)")), 5, 23, message);
    let two = format!("{}{}", role("potentialOwner", "ann"), role("humanPerformer", "ben"));
    assert_refused(
        &task_with(&two),
        5,
        23,
        "task 't' has several candidates (potentialOwner 'ann', humanPerformer 'ben'); flowcal gives a task to one \
         user or one role: keep one (a role's members may each claim the task), or put the task in a lane",
    );
}

#[test]
fn refuses_resource_roles_flowcal_cannot_follow() {
    // The formalExpression starts at column 23 + 21 + 35.
    assert_refused(
        &task_with(&role("humanPerformer", "Bob Smith")),
        5,
        79,
        "task 't': bpmn:humanPerformer names the user 'Bob Smith': 'Bob Smith' is not a valid login: use 1 to 64 \
         characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit; write group(ROLE) for a role",
    );
    assert_refused(
        &task_with(&role("potentialOwner", "${owner}")),
        5,
        79,
        "task 't': bpmn:potentialOwner '${owner}' is an expression, which flowcal does not evaluate; write \
         user(LOGIN), group(ROLE) or a name, or flowcal:assignee=\"item:KEY\" for a user given as data",
    );
    let long = "x".repeat(65);
    assert_refused(
        &task_with(&role("potentialOwner", &format!("group({long})"))),
        5,
        79,
        &format!(
            "task 't': bpmn:potentialOwner names the role '{long}', which cannot be a role: use 1 to 64 characters"
        ),
    );
    let e = refused(&task_with(
        "<bpmn:potentialOwner><bpmn:resourceParameterBinding parameterRef=\"p\"/></bpmn:potentialOwner>",
    ));
    assert_eq!(listed(&e), [("bpmn:resourceParameterBinding", 5, 44)]);
}

// ---------------------------------------------------------------------------
// Collaborations

const DEFS: &str = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">"#;

fn pool(id: &str, executable: Option<bool>) -> String {
    let flag = executable.map(|e| format!(r#" isExecutable="{e}""#)).unwrap_or_default();
    format!(
        r#"<bpmn:process id="{id}"{flag}><bpmn:startEvent id="{id}_s"/><bpmn:endEvent id="{id}_e"/><bpmn:sequenceFlow id="{id}_f" sourceRef="{id}_s" targetRef="{id}_e"/></bpmn:process>"#
    )
}

#[test]
fn runs_the_executable_pool_of_a_collaboration() {
    let xml = format!(
        "{DEFS}\n<bpmn:collaboration id=\"c\"><bpmn:participant id=\"a\" name=\"Customer\" processRef=\"customer\"/>\
         <bpmn:participant id=\"b\" processRef=\"shop\"/></bpmn:collaboration>\n{}\n{}\n</bpmn:definitions>",
        pool("customer", Some(false)).replace("<bpmn:startEvent", "<bpmn:serviceTask id=\"x\"/><bpmn:startEvent"),
        pool("shop", Some(true))
    );
    // The drawn pool's service task does not matter: it does not run.
    assert_eq!(ok(&xml).key, "shop");
}

#[test]
fn refuses_several_executable_pools_naming_each() {
    let xml = format!(
        "{DEFS}\n<bpmn:collaboration id=\"c\"><bpmn:participant id=\"a\" name=\"Customer\" processRef=\"customer\"/>\
         </bpmn:collaboration>\n{}\n  {}\n{}\n</bpmn:definitions>",
        pool("customer", Some(true)),
        pool("shop", Some(true)),
        pool("drawn", Some(false))
    );
    assert_refused(
        &xml,
        4,
        3,
        "the file has 2 executable processes: 'customer' (pool 'Customer', line 3, column 1) and 'shop' (line 4, \
         column 3); flowcal runs one process per file: set isExecutable=\"false\" on the pools that are only drawn",
    );
}

#[test]
fn refuses_several_pools_with_flow_nodes_when_none_is_executable() {
    let xml = format!(
        "{DEFS}\n{}\n{}\n<bpmn:process id=\"empty\"/>\n{}\n</bpmn:definitions>",
        pool("a", None),
        pool("b", Some(false)),
        pool("c", None)
    );
    assert_refused(
        &xml,
        3,
        1,
        "the file has 3 processes with flow nodes and none is marked isExecutable=\"true\": 'a' (line 2, column 1), \
         'b' (line 3, column 1) and 'c' (line 5, column 1); flowcal runs one process per file: mark the one to run \
         with isExecutable=\"true\"",
    );
    // One with flow nodes among empty ones is the one.
    let xml = format!("{DEFS}\n<bpmn:process id=\"empty\"/>\n{}\n</bpmn:definitions>", pool("only", None));
    assert_eq!(ok(&xml).key, "only");
}

// ---------------------------------------------------------------------------
// Embedded sub-processes

/// start → sub (start → t → inner (s2 → u → e2) → e) → end, with a lane
/// naming the inner task `u`.
const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
<bpmn:process id="p" isExecutable="true">
  <bpmn:laneSet><bpmn:lane id="l" name="reviewers"><bpmn:flowNodeRef>u</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub" name="Review">
    <bpmn:startEvent id="s1"/>
    <bpmn:userTask id="t" flowcal:deadline="P1D"/>
    <bpmn:subProcess id="inner">
      <bpmn:startEvent id="s2"/>
      <bpmn:userTask id="u"/>
      <bpmn:endEvent id="e2"><bpmn:terminateEventDefinition/></bpmn:endEvent>
      <bpmn:sequenceFlow id="i1" sourceRef="s2" targetRef="u"/>
      <bpmn:sequenceFlow id="i2" sourceRef="u" targetRef="e2"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="e1"/>
    <bpmn:sequenceFlow id="s1t" sourceRef="s1" targetRef="t"/>
    <bpmn:sequenceFlow id="tinner" sourceRef="t" targetRef="inner"/>
    <bpmn:sequenceFlow id="innere1" sourceRef="inner" targetRef="e1"/>
  </bpmn:subProcess>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
"#;

#[test]
fn embedded_sub_processes_put_their_nodes_in_their_scope() {
    let m = ok(NESTED);
    // Document order, each sub-process's nodes right after it.
    let nodes: Vec<_> = m.nodes.iter().map(|n| (n.id.as_str(), n.scope.as_deref())).collect();
    assert_eq!(
        nodes,
        [
            ("start", None),
            ("sub", None),
            ("s1", Some("sub")),
            ("t", Some("sub")),
            ("inner", Some("sub")),
            ("s2", Some("inner")),
            ("u", Some("inner")),
            ("e2", Some("inner")),
            ("e1", Some("sub")),
            ("end", None),
        ]
    );
    assert_eq!(kind(&m, "sub"), NodeKind::SubProcess);
    assert_eq!(kind(&m, "inner"), NodeKind::SubProcess);
    assert_eq!(kind(&m, "e2"), NodeKind::Terminate);
    assert_eq!(m.node("sub").map(|n| (n.name.as_str(), n.line, n.column)), Some(("Review", 6, 3)));
    assert_eq!(m.start().map(|n| n.id.as_str()), Some("start"));
    assert_eq!(m.scope_start("sub").map(|n| n.id.as_str()), Some("s1"));
    assert_eq!(m.scope_start("inner").map(|n| n.id.as_str()), Some("s2"));
    assert!(m.is_within("u", "sub") && m.is_within("u", "inner") && !m.is_within("t", "inner"));
    // A lane may name an inner node.
    assert_eq!(assignee(&m, "u"), AssigneeRule::Role("reviewers".into()));
    assert_eq!(m.flows.len(), 7);
    assert_eq!(m.outgoing("inner").map(|f| f.target.as_str()).collect::<Vec<_>>(), ["e1"]);
    assert_eq!(scope(&m, "t"), Some("sub"));
}

#[test]
fn refuses_a_sub_process_without_start_or_end_inside() {
    // A collapsed sub-process drawn without its content.
    let collapsed = doc(&[START, r#"<bpmn:subProcess id="t" name="Repair"/>"#, END, F1, F2]);
    assert_refused(
        &collapsed,
        5,
        1,
        "sub-process 't' (Repair) has no start event inside (bpmn:startEvent) (a sub-process drawn collapsed, \
         without its content, cannot run)",
    );
    let no_end = NESTED.replace(r#"<bpmn:endEvent id="e1"/>"#, r#"<bpmn:task id="e1"/>"#).replace(
        r#"<bpmn:sequenceFlow id="innere1" sourceRef="inner" targetRef="e1"/>"#,
        r#"<bpmn:sequenceFlow id="innere1" sourceRef="inner" targetRef="e1"/><bpmn:sequenceFlow id="loop" sourceRef="e1" targetRef="t"/>"#,
    );
    assert_refused(&no_end, 6, 3, "sub-process 'sub' (Review) has no end event inside (bpmn:endEvent)");
}

#[test]
fn refuses_a_second_start_in_a_sub_process() {
    let xml =
        NESTED.replace(r#"<bpmn:startEvent id="s2"/>"#, r#"<bpmn:startEvent id="s2"/><bpmn:startEvent id="s3"/>"#);
    assert_refused(
        &xml,
        10,
        33,
        "sub-process 'inner' has a second start event 's3' (the first is 's2'); flowcal starts every run of a \
         sub-process at one start event",
    );
}

#[test]
fn refuses_flows_that_cross_a_sub_process_border() {
    let xml = NESTED.replace(
        r#"<bpmn:sequenceFlow id="i2" sourceRef="u" targetRef="e2"/>"#,
        r#"<bpmn:sequenceFlow id="i2" sourceRef="u" targetRef="e1"/>"#,
    );
    assert_refused(
        &xml,
        14,
        7,
        "sequence flow 'i2' is in sub-process 'inner' but points to end event 'e1' in sub-process 'sub'; a sequence \
         flow cannot cross the border of a sub-process: connect to the sub-process itself, and begin and end the path \
         inside it with its own start and end events",
    );
    let xml = NESTED.replace(
        r#"<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>"#,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>"#,
    );
    assert_refused(
        &xml,
        23,
        3,
        "sequence flow 'f2' is in the process's top level but starts at user task 't' in sub-process 'sub'; a \
         sequence flow cannot cross the border of a sub-process: connect to the sub-process itself, and begin and end \
         the path inside it with its own start and end events",
    );
}

#[test]
fn refuses_an_inner_node_the_inner_start_does_not_reach() {
    // Two tasks that lead to each other and that nothing inside enters.
    let xml = NESTED.replace(
        r#"<bpmn:endEvent id="e1"/>"#,
        r#"<bpmn:endEvent id="e1"/><bpmn:userTask id="lost"/><bpmn:userTask id="lost2"/><bpmn:sequenceFlow id="l1" sourceRef="lost" targetRef="lost2"/><bpmn:sequenceFlow id="l2" sourceRef="lost2" targetRef="lost"/>"#,
    );
    assert_refused(&xml, 16, 29, "user task 'lost' cannot be reached from the start event of sub-process 'sub'");
}

#[test]
fn ids_are_unique_across_scopes() {
    let xml = NESTED.replace(r#"<bpmn:userTask id="u"/>"#, r#"<bpmn:userTask id="t"/>"#);
    assert_refused(&xml, 11, 7, "the id 't' is used twice (first at line 8, column 5); ids must be unique");
}

#[test]
fn refuses_event_sub_processes_transactions_and_ad_hoc_sub_processes() {
    let e = refused(&doc(&[
        START,
        r#"<bpmn:subProcess id="ev" triggeredByEvent="true"><bpmn:startEvent id="x"><bpmn:messageEventDefinition/></bpmn:startEvent></bpmn:subProcess>"#,
        r#"<bpmn:transaction id="tx"/>"#,
        r#"<bpmn:adHocSubProcess id="adhoc"><bpmn:task id="y"/></bpmn:adHocSubProcess>"#,
        r#"<bpmn:subProcess id="many"><bpmn:multiInstanceLoopCharacteristics/></bpmn:subProcess>"#,
    ]));
    // Listed once each, without what is inside them.
    assert_eq!(
        listed(&e),
        [
            ("bpmn:subProcess triggeredByEvent=\"true\"", 5, 1),
            ("bpmn:transaction", 6, 1),
            ("bpmn:adHocSubProcess", 7, 1),
            ("bpmn:multiInstanceLoopCharacteristics", 8, 28),
        ]
    );
}

// ---------------------------------------------------------------------------
// Milestones and terminate end events

#[test]
fn throw_events_without_definition_are_milestones_and_terminate_ends_are_ends() {
    let m = ok(&doc(&[
        START,
        r#"<bpmn:intermediateThrowEvent id="t" name="Order placed"/>"#,
        r#"<bpmn:endEvent id="end"><bpmn:terminateEventDefinition/></bpmn:endEvent>"#,
        F1,
        F2,
    ]));
    assert_eq!(kind(&m, "t"), NodeKind::Milestone);
    assert_eq!(kind(&m, "end"), NodeKind::Terminate);
    let xml = doc(&[
        START,
        r#"<bpmn:intermediateThrowEvent id="t"/>"#,
        r#"<bpmn:endEvent id="end"><bpmn:terminateEventDefinition/></bpmn:endEvent>"#,
        r#"<bpmn:endEvent id="e2"/>"#,
        F1,
        F2,
        r#"<bpmn:sequenceFlow id="f3" sourceRef="end" targetRef="e2"/>"#,
    ]);
    assert_refused(&xml, 6, 1, "terminate end event 'end' has an outgoing flow ('f3'); an end event ends its path");
    let xml = doc(&[START, r#"<bpmn:intermediateThrowEvent id="t"/>"#, r#"<bpmn:endEvent id="end"/>"#, F1, F2])
        .replace(r#"<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="end"/>"#, "");
    assert_refused(&xml, 5, 1, "intermediate event 't' has no outgoing flow; every path must lead to an end event");
}

// ---------------------------------------------------------------------------
// Loops that never wait

/// start → g → step → g (default), g → end on a condition.
fn loop_through(step: &str) -> String {
    doc(&[
        START,
        r#"<bpmn:exclusiveGateway id="g" default="again"/>"#,
        step,
        END,
        r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="g"/>"#,
        r#"<bpmn:sequenceFlow id="again" sourceRef="g" targetRef="t"/>"#,
        r#"<bpmn:sequenceFlow id="back" sourceRef="t" targetRef="g"/>"#,
        r#"<bpmn:sequenceFlow id="out" sourceRef="g" targetRef="end"><bpmn:conditionExpression>done</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
    ])
}

#[test]
fn refuses_loops_through_pass_steps_milestones_and_idle_sub_processes() {
    let message = "exclusive gateway 'g' is on a loop that passes no user task or timer event: a token would circle \
                   there forever";
    for step in [
        r#"<bpmn:task id="t"/>"#,
        r#"<bpmn:manualTask id="t"/>"#,
        r#"<bpmn:intermediateThrowEvent id="t"/>"#,
        r#"<bpmn:subProcess id="t"><bpmn:startEvent id="s"/><bpmn:task id="x"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="a" sourceRef="s" targetRef="x"/><bpmn:sequenceFlow id="b" sourceRef="x" targetRef="e"/></bpmn:subProcess>"#,
    ] {
        assert_refused(&loop_through(step), 5, 1, message);
    }
    // A user task, a timer, or a sub-process with a user task inside waits.
    for step in [
        r#"<bpmn:userTask id="t"/>"#,
        r#"<bpmn:task id="t" flowcal:assignee="starter"/>"#,
        r#"<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#,
        r#"<bpmn:subProcess id="t"><bpmn:startEvent id="s"/><bpmn:userTask id="x"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="a" sourceRef="s" targetRef="x"/><bpmn:sequenceFlow id="b" sourceRef="x" targetRef="e"/></bpmn:subProcess>"#,
    ] {
        ok(&loop_through(step));
    }
}

#[test]
fn a_long_loop_of_pass_steps_is_found_in_linear_time() {
    // 20,000 tasks in a ring behind a gateway: a quadratic search would take
    // minutes here.
    let n = 20_000;
    let mut body = vec![START.to_owned(), END.to_owned(), r#"<bpmn:exclusiveGateway id="g" default="in"/>"#.to_owned()];
    body.push(r#"<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/>"#.to_owned());
    body.push(r#"<bpmn:sequenceFlow id="in" sourceRef="g" targetRef="t0"/>"#.to_owned());
    body.push(
        r#"<bpmn:sequenceFlow id="out" sourceRef="g" targetRef="end"><bpmn:conditionExpression>done</bpmn:conditionExpression></bpmn:sequenceFlow>"#
            .to_owned(),
    );
    for i in 0..n {
        body.push(format!(r#"<bpmn:task id="t{i}"/>"#));
        let to = if i + 1 == n { "g".to_owned() } else { format!("t{}", i + 1) };
        body.push(format!(r#"<bpmn:sequenceFlow id="r{i}" sourceRef="t{i}" targetRef="{to}"/>"#));
    }
    let body: Vec<&str> = body.iter().map(String::as_str).collect();
    let e = refused(&doc(&body));
    assert!(e.message.contains("is on a loop that passes no user task or timer event"), "{e}");
}

// ---------------------------------------------------------------------------
// Every unsupported element in one refusal

#[test]
fn a_refusal_lists_every_unsupported_element_and_names_the_first_ten() {
    let mut body = vec![START.to_owned()];
    for i in 0..12 {
        body.push(format!(r#"<bpmn:serviceTask id="s{i}"/>"#));
    }
    body.push(r#"<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>"#.to_owned());
    let body: Vec<&str> = body.iter().map(String::as_str).collect();
    let e = refused(&doc(&body));
    assert_eq!(e.unsupported.len(), 13);
    assert_eq!((e.line, e.column), (5, 1));
    assert_eq!(e.unsupported[12].element, "bpmn:multiInstanceLoopCharacteristics");
    assert_eq!((e.unsupported[12].line, e.unsupported[12].column), (17, 23));
    let named: Vec<String> = (0..10).map(|i| format!("bpmn:serviceTask (line {}, column 1)", 5 + i)).collect();
    assert_eq!(
        e.message,
        format!("13 elements are not supported: {} and 3 more ({})", named.join(", "), crate::scan::SUPPORTED)
    );
}

#[test]
fn unsupported_elements_come_before_other_refusals() {
    // A misspelt flowcal attribute first, then an unsupported element: the
    // list is what the modeler has to change first.
    let e = refused(&doc(&[r#"<bpmn:userTask id="t" flowcal:dedline="P1D"/>"#, r#"<bpmn:sendTask id="x"/>"#]));
    assert_eq!(listed(&e), [("bpmn:sendTask", 5, 1)]);
}

#[test]
fn a_doctype_is_refused_where_it_is() {
    assert_refused(
        "<?xml version=\"1.0\"?><!-- a\ncomment -->  <!DOCTYPE definitions>\n<definitions/>",
        2,
        14,
        "the file has a document type declaration (<!DOCTYPE …>), which flowcal does not accept: remove it",
    );
}
