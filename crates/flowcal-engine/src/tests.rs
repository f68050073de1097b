//! Engine behaviour on small BPMN models read by the real BPMN reader.

use super::*;
use flowcal_domain::{TaskId, TimerId};
use serde_json::{json, Map, Value as Json};

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

fn model(body: &str, items: &str) -> ProcessModel {
    let xml = format!(
        r#"<bpmn:definitions {NS}><bpmn:process id="p" isExecutable="true" flowcal:timeZone="Europe/Berlin">
        <bpmn:extensionElements>{items}</bpmn:extensionElements>{body}</bpmn:process></bpmn:definitions>"#
    );
    flowcal_bpmn::parse(&xml, None).unwrap()
}

fn obj(v: Json) -> Map<String, Json> {
    v.as_object().unwrap().clone()
}

fn now() -> Timestamp {
    "2026-03-27T08:00:00Z".parse().unwrap()
}

/// A tiny in-memory runner: applies transitions the way the store does,
/// with a clock the test moves (`at`).
struct Run<'m> {
    engine: Engine<'m>,
    state: InstanceState,
    open: Vec<OpenTask>,
    next_id: i64,
    next_timer: i64,
    log: Vec<Effect>,
    assignees: BTreeMap<i64, Assignee>,
    at: Timestamp,
}

impl<'m> Run<'m> {
    fn start(m: &'m ProcessModel, data: Json) -> Self {
        Self::start_at(m, data, now())
    }

    fn start_at(m: &'m ProcessModel, data: Json, at: Timestamp) -> Self {
        Self::start_with(Engine::new(m, "UTC").unwrap(), data, at)
    }

    fn start_with(engine: Engine<'m>, data: Json, at: Timestamp) -> Self {
        let t = engine.start("starter", &obj(data), at).unwrap();
        let mut r = Run {
            engine,
            state: t.state.clone(),
            open: vec![],
            next_id: 1,
            next_timer: 1,
            log: vec![],
            assignees: BTreeMap::new(),
            at,
        };
        r.apply(t);
        r
    }

    /// Applies a transition: tasks and timers get ids in the order they are made.
    fn apply(&mut self, t: Transition) {
        let mut timers = std::mem::take(&mut self.state.timers);
        let mut created = None;
        for e in &t.effects {
            match e {
                Effect::TaskCreated { step, deadline, assignee, .. } => {
                    self.assignees.insert(self.next_id, assignee.clone());
                    self.open.push(OpenTask {
                        id: TaskId(self.next_id),
                        step: step.clone(),
                        started_at: self.at,
                        deadline: deadline.clone(),
                    });
                    created = Some(TaskId(self.next_id));
                    self.next_id += 1;
                }
                Effect::TaskCompleted { task } | Effect::TaskCancelled { task } => {
                    assert!(self.open.iter().any(|o| o.id == *task), "task {task} ended twice");
                    self.open.retain(|o| o.id != *task);
                }
                Effect::DeadlineChanged { task, deadline, .. } => {
                    if let Some(o) = self.open.iter_mut().find(|o| o.id == *task) {
                        o.deadline = deadline.clone();
                    }
                }
                Effect::TimerStarted { node, boundary, task, due } => {
                    let task = match (boundary, task) {
                        (false, _) => None,
                        (true, Some(task)) => {
                            assert!(self.open.iter().any(|o| o.id == *task), "timer {node} on a closed task");
                            Some(*task)
                        }
                        (true, None) => Some(created.expect("a boundary timer follows its task")),
                    };
                    timers.push(OpenTimer {
                        id: TimerId(self.next_timer),
                        node: node.clone(),
                        task,
                        armed_at: self.at,
                        due: *due,
                        fired: 0,
                    });
                    self.next_timer += 1;
                }
                Effect::TimerFired { timer, next, .. } => {
                    let i = timers.iter().position(|o| o.id == *timer).expect("fired timer is waiting");
                    match next {
                        Some(due) => {
                            timers[i].due = *due;
                            timers[i].fired += 1;
                        }
                        None => {
                            timers.remove(i);
                        }
                    }
                }
                Effect::TimerMoved { timer, due } => {
                    timers.iter_mut().find(|o| o.id == *timer).expect("moved timer is waiting").due = *due;
                }
                Effect::TimerCancelled { timer } => {
                    assert!(timers.iter().any(|o| o.id == *timer), "timer {timer} cancelled twice");
                    timers.retain(|o| o.id != *timer);
                }
                _ => {}
            }
        }
        self.log.extend(t.effects);
        self.state = t.state;
        self.state.timers = timers;
    }

    fn steps(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.open.iter().map(|o| o.step.as_str()).collect();
        s.sort_unstable();
        s
    }

    fn task(&self, step: &str) -> TaskId {
        self.open.iter().find(|o| o.step == step).unwrap().id
    }

    fn complete(&mut self, step: &str, data: Json) {
        let id = self.task(step);
        let t = self.engine.complete(&self.state, &self.open, id, "starter", &obj(data), self.at).unwrap();
        self.apply(t);
    }

    fn set_data(&mut self, data: Json) -> Transition {
        let t = self.engine.set_data(&self.state, &self.open, &obj(data)).unwrap();
        self.apply(t.clone());
        t
    }

    fn retry(&mut self) -> Transition {
        let t = self.engine.retry(&self.state, &self.open, "starter", self.at).unwrap();
        self.apply(t.clone());
        t
    }

    /// The waiting timer at `node`.
    fn timer(&self, node: &str) -> &OpenTimer {
        self.state.timers.iter().find(|t| t.node == node).unwrap_or_else(|| panic!("no timer waits at {node}"))
    }

    fn try_fire(&self, timer: TimerId) -> Result<Transition, EngineError> {
        self.engine.fire_timer(&self.state, &self.open, timer, "starter", self.at)
    }

    /// Moves the clock to the timer at `node`'s due time and fires it.
    fn fire(&mut self, node: &str) -> Transition {
        let timer = self.timer(node);
        let id = timer.id;
        self.at = self.at.max(timer.due);
        let t = self.try_fire(id).unwrap();
        self.apply(t.clone());
        t
    }
}

const SEQ: &str = r#"
  <bpmn:startEvent id="s"/><bpmn:userTask id="a" name="A" flowcal:deadline="P1D"/><bpmn:userTask id="b"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
  <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>"#;

#[test]
fn sequence_runs_to_the_end() {
    let m = model(SEQ, "");
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["a"]);
    assert_eq!(r.state.status, InstanceStatus::Running);
    // P1D in Berlin from 09:00 local on the 27th (before spring-forward on the 29th).
    assert_eq!(
        r.open[0].deadline.as_ref().unwrap().to_json(),
        json!({"at": "2026-03-28T09:00:00+01:00", "zone": "Europe/Berlin"})
    );
    r.complete("a", json!({}));
    assert_eq!(r.steps(), ["b"]);
    r.complete("b", json!({}));
    assert!(r.open.is_empty());
    assert_eq!(r.state.status, InstanceStatus::Completed);
    assert!(r.log.contains(&Effect::InstanceCompleted));
    // A finished instance refuses further work.
    let err = r.engine.complete(&r.state, &[], TaskId(1), "starter", &Map::new(), now()).unwrap_err();
    assert_eq!(err, EngineError::NotRunning(InstanceStatus::Completed));
}

const XOR: &str = r#"
  <bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="small"/>
  <bpmn:userTask id="big_review"/><bpmn:userTask id="medium_review"/><bpmn:userTask id="small_review"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
  <bpmn:sequenceFlow id="big" sourceRef="g" targetRef="big_review">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt; 1000}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="medium" sourceRef="g" targetRef="medium_review">
    <bpmn:conditionExpression>amount &gt; 100 and urgent</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="small" sourceRef="g" targetRef="small_review"/>
  <bpmn:sequenceFlow id="x1" sourceRef="big_review" targetRef="e"/>
  <bpmn:sequenceFlow id="x2" sourceRef="medium_review" targetRef="e"/>
  <bpmn:sequenceFlow id="x3" sourceRef="small_review" targetRef="e"/>"#;

#[test]
fn exclusive_gateway_takes_first_true_condition_else_default() {
    let m = model(XOR, r#"<flowcal:dataItem key="amount" type="number"/>"#);
    // `urgent` is undeclared: it became an implicit boolean item.
    assert_eq!(m.item("urgent").unwrap().data_type, flowcal_domain::DataType::Boolean);
    assert_eq!(Run::start(&m, json!({"amount": 5000, "urgent": true})).steps(), ["big_review"]);
    assert_eq!(Run::start(&m, json!({"amount": 500, "urgent": true})).steps(), ["medium_review"]);
    assert_eq!(Run::start(&m, json!({"amount": 500, "urgent": false})).steps(), ["small_review"]);
    assert_eq!(Run::start(&m, json!({})).steps(), ["small_review"]);
}

const PAR: &str = r#"
  <bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>
  <bpmn:userTask id="a" flowcal:deadlineFrom="due"/><bpmn:userTask id="b"/><bpmn:userTask id="c"/>
  <bpmn:parallelGateway id="join"/><bpmn:userTask id="after"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
  <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="a"/><bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="b"/>
  <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="c"/>
  <bpmn:sequenceFlow id="f5" sourceRef="a" targetRef="join"/><bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join"/>
  <bpmn:sequenceFlow id="f7" sourceRef="c" targetRef="join"/>
  <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="after"/><bpmn:sequenceFlow id="f9" sourceRef="after" targetRef="e"/>"#;

#[test]
fn parallel_split_and_join() {
    let m = model(PAR, r#"<flowcal:dataItem key="due" type="date"/>"#);
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["a", "b", "c"]);
    // No value for `due` yet: no deadline.
    assert_eq!(r.open[0].deadline, None);
    r.complete("b", json!({"due": "2026-04-10"}));
    // Completing b set `due`: a's deadline follows, as an all-day date.
    assert!(r.log.iter().any(|e| matches!(e, Effect::DeadlineChanged { task, deadline: Some(Deadline::Date(d)), .. }
        if *task == TaskId(1) && d.to_string() == "2026-04-10")));
    assert_eq!(r.steps(), ["a", "c"]);
    assert_eq!(r.state.joins["join"], BTreeMap::from([("f6".to_owned(), 1)]));
    r.complete("a", json!({}));
    assert_eq!(r.steps(), ["c"]);
    r.complete("c", json!({}));
    assert_eq!(r.steps(), ["after"]);
    assert!(r.state.joins.is_empty());
    r.complete("after", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

const STUCK: &str = r#"
  <bpmn:startEvent id="s"/><bpmn:userTask id="fill"/><bpmn:exclusiveGateway id="g"/>
  <bpmn:userTask id="yes_task"/><bpmn:userTask id="no_task"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fill"/><bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="g"/>
  <bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="yes_task"><bpmn:conditionExpression>answer == "yes"</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="no" sourceRef="g" targetRef="no_task"><bpmn:conditionExpression>answer == "no"</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="x1" sourceRef="yes_task" targetRef="e"/><bpmn:sequenceFlow id="x2" sourceRef="no_task" targetRef="e"/>"#;

#[test]
fn gateway_without_a_true_condition_raises_an_incident_that_retry_resolves() {
    let m = model(STUCK, r#"<flowcal:dataItem key="answer" type="string"/>"#);
    let mut r = Run::start(&m, json!({}));
    r.complete("fill", json!({"answer": "maybe"}));
    assert_eq!(r.state.status, InstanceStatus::Incident);
    assert_eq!(r.state.stuck.len(), 1);
    assert_eq!(r.state.stuck[0].node, "g");
    assert!(r.state.stuck[0].message.contains("answer == \"yes\""), "{}", r.state.stuck[0].message);
    assert!(r.open.is_empty());
    // Retrying without fixing the data changes nothing and records nothing new.
    let again = r.engine.retry(&r.state, &r.open, "starter", now()).unwrap();
    assert_eq!(again.state.status, InstanceStatus::Incident);
    assert!(again.effects.is_empty(), "{:?}", again.effects);
    // The administrator fixes the data, then retries.
    let fixed = r.engine.set_data(&r.state, &r.open, &obj(json!({"answer": "no"}))).unwrap();
    r.apply(fixed);
    let t = r.engine.retry(&r.state, &r.open, "starter", now()).unwrap();
    assert!(t.effects.contains(&Effect::IncidentResolved { node: "g".into() }));
    r.apply(t);
    assert_eq!(r.state.status, InstanceStatus::Running);
    assert_eq!(r.steps(), ["no_task"]);
}

#[test]
fn data_is_validated_and_required_items_enforced() {
    let m = model(
        SEQ,
        r#"<flowcal:dataItem key="first_day" type="date" required="true"/><flowcal:dataItem key="n" type="number"/>"#,
    );
    let e = Engine::new(&m, "UTC").unwrap();
    let err = e.start("s", &obj(json!({"n": 1})), now()).unwrap_err();
    assert!(matches!(&err, EngineError::InvalidData(v) if v[0].key == "first_day"), "{err:?}");
    let err = e.start("s", &obj(json!({"first_day": "2026-13-01", "n": "x", "nope": 1})), now()).unwrap_err();
    let EngineError::InvalidData(v) = err else { panic!() };
    let keys: Vec<&str> = v.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["first_day", "n", "nope"]);
    let mut r = Run::start(&m, json!({"first_day": "2026-04-01"}));
    let id = r.task("a");
    let err = r.engine.complete(&r.state, &r.open, id, "s", &obj(json!({"first_day": null})), now()).unwrap_err();
    assert!(matches!(err, EngineError::InvalidData(_)));
    let err = r.engine.complete(&r.state, &r.open, TaskId(99), "s", &Map::new(), now()).unwrap_err();
    assert_eq!(err, EngineError::TaskNotOpen(TaskId(99)));
    r.complete("a", json!({"n": 2.5}));
    assert_eq!(r.state.data.get("n"), Some(&Value::Number(2.5)));
}

#[test]
fn assignees_follow_the_rules() {
    let m = model(
        r#"<bpmn:laneSet><bpmn:lane id="l" name="clerks"><bpmn:flowNodeRef>by_role</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
        <bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>
        <bpmn:userTask id="by_role"/><bpmn:userTask id="by_starter" flowcal:assignee="starter"/>
        <bpmn:userTask id="by_user" flowcal:assignee="user:dora"/><bpmn:userTask id="by_item" flowcal:assignee="item:who"/>
        <bpmn:userTask id="nobody"/>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
        <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="by_role"/><bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="by_starter"/>
        <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="by_user"/><bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="by_item"/>
        <bpmn:sequenceFlow id="f5" sourceRef="split" targetRef="nobody"/>
        <bpmn:sequenceFlow id="x1" sourceRef="by_role" targetRef="e"/><bpmn:sequenceFlow id="x2" sourceRef="by_starter" targetRef="e"/>
        <bpmn:sequenceFlow id="x3" sourceRef="by_user" targetRef="e"/><bpmn:sequenceFlow id="x4" sourceRef="by_item" targetRef="e"/>
        <bpmn:sequenceFlow id="x5" sourceRef="nobody" targetRef="e"/>"#,
        r#"<flowcal:dataItem key="who" type="user"/>"#,
    );
    let r = Run::start(&m, json!({"who": "erin"}));
    let of = |step: &str| r.assignees[&r.task(step).0].clone();
    assert_eq!(of("by_role"), Assignee::Role("clerks".into()));
    assert_eq!(of("by_starter"), Assignee::User("starter".into()));
    assert_eq!(of("by_user"), Assignee::User("dora".into()));
    assert_eq!(of("by_item"), Assignee::User("erin".into()));
    assert_eq!(of("nobody"), Assignee::User("starter".into()));
}

#[test]
fn a_task_assigned_through_an_item_follows_the_item() {
    let m = model(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>
        <bpmn:userTask id="by_item" flowcal:assignee="item:who"/><bpmn:userTask id="other"/>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
        <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="by_item"/><bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="other"/>
        <bpmn:sequenceFlow id="x1" sourceRef="by_item" targetRef="e"/><bpmn:sequenceFlow id="x2" sourceRef="other" targetRef="e"/>"#,
        r#"<flowcal:dataItem key="who" type="user"/><flowcal:dataItem key="note" type="string"/>"#,
    );
    let mut r = Run::start(&m, json!({"who": "erin"}));
    let task = r.task("by_item");
    let reassigned = |t: &Transition| -> Vec<Effect> {
        t.effects.iter().filter(|e| matches!(e, Effect::TaskReassigned { .. })).cloned().collect()
    };
    // The item names someone else: the open task goes to them.
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"who": "fritz"}))).unwrap();
    assert_eq!(reassigned(&t), vec![Effect::TaskReassigned { task, assignee: "fritz".into() }]);
    r.apply(t);
    // Other data, or the item cleared: the task stays where it is.
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"note": "x"}))).unwrap();
    assert!(reassigned(&t).is_empty(), "{:?}", t.effects);
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"who": null}))).unwrap();
    assert!(reassigned(&t).is_empty(), "{:?}", t.effects);
    // Completing another task with new data moves it too.
    let other = r.task("other");
    let t = r.engine.complete(&r.state, &r.open, other, "s", &obj(json!({"who": "gina"})), now()).unwrap();
    assert_eq!(reassigned(&t), vec![Effect::TaskReassigned { task, assignee: "gina".into() }]);
}

#[test]
fn cancel_cancels_open_tasks() {
    let m = model(PAR, r#"<flowcal:dataItem key="due" type="date"/>"#);
    let mut r = Run::start(&m, json!({}));
    let t = r.engine.cancel(&r.state, &r.open).unwrap();
    let cancelled = t.effects.iter().filter(|e| matches!(e, Effect::TaskCancelled { .. })).count();
    assert_eq!(cancelled, 3);
    r.apply(t);
    assert_eq!(r.state.status, InstanceStatus::Cancelled);
    assert!(r.engine.cancel(&r.state, &r.open).is_err());
}

#[test]
fn changed_item_recomputes_deadline_with_offset_across_dst() {
    let m = model(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="prep" flowcal:deadlineFrom="meeting" flowcal:deadlineOffset="-P1D"/>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prep"/><bpmn:sequenceFlow id="f2" sourceRef="prep" targetRef="e"/>"#,
        r#"<flowcal:dataItem key="meeting" type="datetime"/>"#,
    );
    let mut r = Run::start(&m, json!({"meeting": "2026-03-30T10:00:00+02:00"}));
    assert_eq!(
        r.open[0].deadline.as_ref().unwrap().to_json(),
        json!({"at": "2026-03-29T10:00:00+02:00", "zone": "Europe/Berlin"})
    );
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"meeting": "2026-03-29T10:00:00+02:00"}))).unwrap();
    r.apply(t);
    assert_eq!(
        r.open[0].deadline.as_ref().unwrap().to_json(),
        json!({"at": "2026-03-28T10:00:00+01:00", "zone": "Europe/Berlin"})
    );
    // The same instant written in another offset: the data changed, the deadline did not.
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"meeting": "2026-03-29T08:00:00Z"}))).unwrap();
    assert_eq!(t.effects.len(), 1, "{:?}", t.effects);
    assert!(matches!(t.effects[0], Effect::DataChanged { .. }));
    // The very same value again records nothing.
    r.apply(t);
    let t = r.engine.set_data(&r.state, &r.open, &obj(json!({"meeting": "2026-03-29T08:00:00Z"}))).unwrap();
    assert!(t.effects.is_empty(), "{:?}", t.effects);
}

#[test]
fn a_join_that_can_never_fire_is_an_incident_not_a_completion() {
    // An exclusive choice feeds a parallel join: only one branch ever arrives.
    let m = model(
        r#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="fa"/>
        <bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:parallelGateway id="j"/><bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>
        <bpmn:sequenceFlow id="fa" sourceRef="g" targetRef="a"/>
        <bpmn:sequenceFlow id="fb" sourceRef="g" targetRef="b"><bpmn:conditionExpression>go_b</bpmn:conditionExpression></bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="j"/><bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="j"/>
        <bpmn:sequenceFlow id="f3" sourceRef="j" targetRef="e"/>"#,
        "",
    );
    let mut r = Run::start(&m, json!({}));
    r.complete("a", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Incident);
    assert_eq!(r.state.stuck[0].node, "j");
    assert!(r.state.stuck[0].message.contains("waits for flow 'f2'"), "{}", r.state.stuck[0].message);
    assert!(!r.log.contains(&Effect::InstanceCompleted));
    // Retrying cannot help a join; it stays an incident, and cancelling ends it.
    let t = r.engine.retry(&r.state, &r.open, "starter", now()).unwrap();
    assert_eq!(t.state.status, InstanceStatus::Incident);
    assert!(t.effects.is_empty());
    assert_eq!(r.engine.cancel(&r.state, &r.open).unwrap().state.status, InstanceStatus::Cancelled);
}

#[test]
fn a_join_waits_for_each_incoming_flow_not_for_a_count_of_tokens() {
    // Split into three; two branches merge (XOR) before the join, so the join
    // has two incoming flows and receives two tokens by the first of them.
    let m = model(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>
        <bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:userTask id="c"/>
        <bpmn:exclusiveGateway id="merge"/><bpmn:parallelGateway id="join"/><bpmn:userTask id="after"/><bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
        <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="a"/><bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="b"/>
        <bpmn:sequenceFlow id="fc" sourceRef="split" targetRef="c"/>
        <bpmn:sequenceFlow id="ma" sourceRef="a" targetRef="merge"/><bpmn:sequenceFlow id="mb" sourceRef="b" targetRef="merge"/>
        <bpmn:sequenceFlow id="j1" sourceRef="merge" targetRef="join"/><bpmn:sequenceFlow id="j2" sourceRef="c" targetRef="join"/>
        <bpmn:sequenceFlow id="fx" sourceRef="join" targetRef="after"/><bpmn:sequenceFlow id="fe" sourceRef="after" targetRef="e"/>"#,
        "",
    );
    let mut r = Run::start(&m, json!({}));
    r.complete("a", json!({}));
    r.complete("b", json!({}));
    // Two tokens came by j1; none by j2 yet: the join must not fire.
    assert_eq!(r.steps(), ["c"]);
    r.complete("c", json!({}));
    assert_eq!(r.steps(), ["after"]);
    // The second j1 token still waits for a partner.
    assert_eq!(r.state.joins["join"], BTreeMap::from([("j1".to_owned(), 1)]));
}

#[test]
fn retry_without_an_incident_is_refused() {
    let m = model(SEQ, "");
    let r = Run::start(&m, json!({}));
    assert_eq!(r.engine.retry(&r.state, &r.open, "starter", now()).unwrap_err(), EngineError::NoIncident);
}

#[test]
fn a_deadline_timer_starts_when_its_task_gets_a_deadline() {
    let m = model(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="a" flowcal:deadlineFrom="due"/><bpmn:endEvent id="e"/>
        <bpmn:boundaryEvent id="late" attachedToRef="a" flowcal:deadlineTimer="true">
          <bpmn:timerEventDefinition/></bpmn:boundaryEvent>
        <bpmn:userTask id="esc"/><bpmn:endEvent id="e2"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
        <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="esc"/>
        <bpmn:sequenceFlow id="f4" sourceRef="esc" targetRef="e2"/>"#,
        r#"<flowcal:dataItem key="due" type="datetime"/>"#,
    );
    let mut r = Run::start(&m, json!({}));
    // No deadline yet, so no timer.
    assert!(r.state.timers.is_empty());
    r.set_data(json!({"due": "2026-04-01T10:00:00+02:00"}));
    assert_eq!(r.timer("late").due, "2026-04-01T08:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(r.timer("late").task, Some(r.task("a")));
    // Moving the deadline again moves that timer; it starts no second one.
    r.set_data(json!({"due": "2026-04-02T10:00:00+02:00"}));
    assert_eq!(r.state.timers.len(), 1);
    assert_eq!(r.timer("late").due, "2026-04-02T08:00:00Z".parse::<Timestamp>().unwrap());
    r.fire("late");
    assert_eq!(r.steps(), ["esc"]);
}

mod elements;
mod miwg;

#[test]
fn deadlines_count_in_the_work_calendar_and_follow_its_changes() {
    use flowcal_domain::{Holiday, WorkCalendar};
    let xml = format!(
        r#"<bpmn:definitions {NS}><bpmn:process id="p" isExecutable="true" flowcal:workCalendar="de">
        <bpmn:startEvent id="s"/><bpmn:userTask id="a" name="A" flowcal:deadline="P3D"/>
        <bpmn:boundaryEvent id="late" attachedToRef="a" cancelActivity="false" flowcal:deadlineTimer="true">
          <bpmn:timerEventDefinition/></bpmn:boundaryEvent>
        <bpmn:userTask id="chase"/><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>
        <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="chase"/>
        <bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="e2"/></bpmn:process></bpmn:definitions>"#
    );
    let m = flowcal_bpmn::parse(&xml, None).unwrap();
    let mut cal = WorkCalendar::new("de", "Europe/Berlin", flowcal_domain::Weekmask::MON_FRI);
    let with = |c: &WorkCalendar| BTreeMap::from([("de".to_owned(), Arc::new(c.compile().unwrap()))]);
    let berlin = |s: &str| -> Timestamp {
        s.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(TimeZone::get("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
    };
    // Wednesday 1 April 2026, 10:00 in Berlin: three working days on is Monday 6 April.
    let start = berlin("2026-04-01T10:00");
    let mut r = Run::start_with(Engine::new(&m, "UTC").unwrap().with_calendars(with(&cal)), json!({}), start);
    let monday = Deadline::At { at: berlin("2026-04-06T10:00"), zone: "Europe/Berlin".into() };
    assert!(r.log.contains(&Effect::TaskCreated {
        step: "a".into(),
        name: "A".into(),
        assignee: Assignee::User("starter".into()),
        deadline: Some(monday.clone()),
        calendar: Some("de".into()),
    }));
    assert_eq!(r.timer("late").due, berlin("2026-04-06T10:00"));

    // Good Friday becomes a holiday: the deadline and the timer counting from it move a day.
    cal.holidays.insert(jiff::civil::date(2026, 4, 3), Holiday { name: "Karfreitag".into(), hours: None });
    let engine = Engine::new(&m, "UTC").unwrap().with_calendars(with(&cal));
    let t = engine.recompute_deadlines(&r.state, &r.open, "de", "holiday added").unwrap();
    let tuesday = Deadline::At { at: berlin("2026-04-07T10:00"), zone: "Europe/Berlin".into() };
    let a = r.task("a");
    let late = r.timer("late").id;
    assert_eq!(
        t.effects,
        [
            Effect::DeadlineChanged {
                task: a,
                deadline: Some(tuesday),
                calendar: Some("de".into()),
                reason: Some("holiday added".into())
            },
            Effect::TimerMoved { timer: late, due: berlin("2026-04-07T10:00") },
        ]
    );
    r.apply(t);
    // Nothing more to move; another calendar's change moves nothing either.
    assert!(engine.recompute_deadlines(&r.state, &r.open, "de", "again").unwrap().effects.is_empty());
    assert!(engine.recompute_deadlines(&r.state, &r.open, "us", "other").unwrap().effects.is_empty());
    // A model's calendar that the engine was not given: calendar days, no calendar named.
    let plain = Run::start_at(&m, json!({}), start);
    let three_days = Deadline::At { at: berlin("2026-04-04T10:00"), zone: "UTC".into() };
    assert!(plain
        .log
        .iter()
        .any(|e| matches!(e, Effect::TaskCreated { deadline: Some(d), calendar: None, .. } if *d == three_days)));
}
