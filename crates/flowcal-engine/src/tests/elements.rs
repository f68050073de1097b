//! Pass-through steps, milestones, terminate ends, embedded sub-processes
//! and timers, on models built by hand, driven with a clock the test moves.

use super::*;
use flowcal_domain::model::{DataItemDef, DataType, Flow, Node};
use flowcal_domain::{DeadlineRule, IsoDuration, Roll, TimerDate, TimerSpec, TimerWhen};

/// Builds a model: nodes go into the current scope, `sub` opens one.
struct Build {
    m: ProcessModel,
    scope: Option<String>,
}

fn build() -> Build {
    Build {
        m: ProcessModel {
            key: "p".into(),
            name: "P".into(),
            time_zone: Some("Europe/Berlin".into()),
            data_items: vec![],
            start_timer: None,
            nodes: vec![],
            flows: vec![],
            calendar_refs: vec![],
            calendar_edits: Default::default(),
        },
        scope: None,
    }
}

impl Build {
    fn item(mut self, key: &str, data_type: DataType) -> Self {
        self.m.data_items.push(DataItemDef {
            key: key.into(),
            label: key.into(),
            data_type,
            required: false,
            options: vec![],
            implicit: false,
        });
        self
    }

    fn node(mut self, id: &str, kind: NodeKind) -> Self {
        let name = id.to_uppercase();
        self.m.nodes.push(Node { id: id.into(), name, kind, scope: self.scope.clone(), line: 1, column: 1 });
        self
    }

    /// The sub-process `id`, with the nodes `inner` adds inside it.
    fn sub(self, id: &str, inner: impl FnOnce(Self) -> Self) -> Self {
        let mut b = self.node(id, NodeKind::SubProcess);
        let outer = b.scope.replace(id.into());
        let mut b = inner(b);
        b.scope = outer;
        b
    }

    /// Flows along a path: `"s > a > e"` is s→a and a→e, named `s-a`, `a-e`.
    fn flows(mut self, path: &str) -> Self {
        let ids: Vec<&str> = path.split('>').map(str::trim).collect();
        for pair in ids.windows(2) {
            self.m.flows.push(Flow {
                id: format!("{}-{}", pair[0], pair[1]),
                source: pair[0].into(),
                target: pair[1].into(),
                condition: None,
            });
        }
        self
    }

    fn done(self) -> ProcessModel {
        self.m
    }
}

fn task() -> NodeKind {
    NodeKind::UserTask {
        deadline: DeadlineRule::None,
        assignee: AssigneeRule::Starter,
        calendar: None,
        roll: Roll::Forward,
    }
}

fn dur(s: &str) -> IsoDuration {
    IsoDuration::parse(s).unwrap()
}

fn after(d: &str) -> TimerSpec {
    TimerSpec { when: TimerWhen::After(dur(d)), from_deadline: false }
}

fn catch(timer: TimerSpec) -> NodeKind {
    NodeKind::TimerCatch { timer }
}

fn interrupting(task: &str, timer: TimerSpec) -> NodeKind {
    NodeKind::BoundaryTimer { attached_to: task.into(), cancel: true, timer }
}

fn non_interrupting(task: &str, timer: TimerSpec) -> NodeKind {
    NodeKind::BoundaryTimer { attached_to: task.into(), cancel: false, timer }
}

fn at_item(key: &str) -> TimerSpec {
    TimerSpec { when: TimerWhen::At(TimerDate::Item { key: key.into(), offset: None }), from_deadline: false }
}

/// A wall-clock time in Berlin.
fn berlin(s: &str) -> Timestamp {
    s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(TimeZone::get("Europe/Berlin").unwrap()).unwrap().timestamp()
}

/// An instant as Berlin's clock shows it.
fn show(t: Timestamp) -> String {
    t.to_zoned(TimeZone::get("Europe/Berlin").unwrap()).strftime("%Y-%m-%dT%H:%M%:z").to_string()
}

fn count(effects: &[Effect], f: impl Fn(&Effect) -> bool) -> usize {
    effects.iter().filter(|e| f(e)).count()
}

fn created(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::TaskCreated { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn pass_through_steps_and_milestones_let_the_token_on() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("p", NodeKind::Pass)
        .node("ms", NodeKind::Milestone)
        .node("a", task())
        .node("e", NodeKind::End)
        .flows("s > p > ms > a > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["a"]);
    assert_eq!(created(&r.log), ["a"]);
    assert!(r.log.contains(&Effect::MilestoneReached { node: "ms".into(), name: "MS".into() }), "{:?}", r.log);
    r.complete("a", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);

    // Nothing that waits: the instance completes as it starts.
    let m = build()
        .node("s", NodeKind::Start)
        .node("p", NodeKind::Pass)
        .node("ms", NodeKind::Milestone)
        .node("e", NodeKind::End)
        .flows("s > p > ms > e")
        .done();
    let r = Run::start(&m, json!({}));
    assert_eq!(r.log, [Effect::MilestoneReached { node: "ms".into(), name: "MS".into() }, Effect::InstanceCompleted]);
}

#[test]
fn terminate_at_the_top_level_ends_everything() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .node("a", task())
        .node("b", task())
        .node("nag", non_interrupting("b", after("P1D")))
        .node("remind", task())
        .node("w", catch(after("PT1H")))
        .node("w2", catch(after("P1D")))
        .node("j", NodeKind::Parallel)
        .node("t", NodeKind::Terminate)
        .node("e", NodeKind::End)
        .flows("s > split > a > t")
        .flows("split > b > j > e")
        .flows("split > w > j")
        .flows("split > w2 > e")
        .flows("nag > remind > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["a", "b"]);
    let (nag, w2) = (r.timer("nag").id, r.timer("w2").id);
    // w fires: its token waits at the join for b.
    r.fire("w");
    assert_eq!(r.state.joins["j"], BTreeMap::from([("w-j".to_owned(), 1)]));
    let (a, b) = (r.task("a"), r.task("b"));
    let t = r.engine.complete(&r.state, &r.open, a, "starter", &Map::new(), r.at).unwrap();
    assert_eq!(
        t.effects,
        [
            Effect::TaskCompleted { task: a },
            Effect::TaskCancelled { task: b },
            Effect::TimerCancelled { timer: nag },
            Effect::TimerCancelled { timer: w2 },
            Effect::InstanceCompleted,
        ]
    );
    r.apply(t);
    assert_eq!(r.state.status, InstanceStatus::Completed);
    assert!(r.state.joins.is_empty());
    assert!(r.open.is_empty() && r.state.timers.is_empty());
}

#[test]
fn terminate_resolves_the_incidents_it_ends() {
    let m = build()
        .item("go", DataType::Boolean)
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .node("g", NodeKind::Exclusive { default: None })
        .node("a", task())
        .node("t", NodeKind::Terminate)
        .node("e", NodeKind::End)
        .flows("s > split > g > e")
        .flows("split > a > t")
        .done();
    let mut m = m;
    m.flows.iter_mut().find(|f| f.id == "g-e").unwrap().condition =
        Some(flowcal_domain::Condition::parse("go").unwrap());
    let mut r = Run::start(&m, json!({"go": false}));
    assert_eq!(r.state.status, InstanceStatus::Incident);
    let a = r.task("a");
    let t = r.engine.complete(&r.state, &r.open, a, "starter", &Map::new(), r.at).unwrap();
    assert_eq!(
        t.effects,
        [Effect::TaskCompleted { task: a }, Effect::IncidentResolved { node: "g".into() }, Effect::InstanceCompleted]
    );
    r.apply(t);
    assert_eq!(r.state.status, InstanceStatus::Completed);
    assert!(r.state.stuck.is_empty());
}

#[test]
fn a_non_interrupting_timer_whose_way_terminates_ends_its_own_next_firing() {
    let every_hour =
        TimerSpec { when: TimerWhen::Cycle { repeat: None, start: None, every: dur("PT1H") }, from_deadline: false };
    for (timer, cycles) in [(every_hour, true), (after("PT1H"), false)] {
        let m = build()
            .node("s", NodeKind::Start)
            .node("a", task())
            .node("nag", non_interrupting("a", timer))
            .node("t", NodeKind::Terminate)
            .node("e", NodeKind::End)
            .flows("s > a > e")
            .flows("nag > t")
            .done();
        let mut r = Run::start(&m, json!({}));
        let (a, nag) = (r.task("a"), r.timer("nag").id);
        let t = r.fire("nag");
        let next = cycles.then(|| berlin("2026-03-27T11:00"));
        let mut want =
            vec![Effect::TimerFired { timer: nag, node: "nag".into(), next }, Effect::TaskCancelled { task: a }];
        // A cycle waits again, so the terminate end cancels it; a one-shot timer is done.
        if cycles {
            want.push(Effect::TimerCancelled { timer: nag });
        }
        want.push(Effect::InstanceCompleted);
        assert_eq!(t.effects, want);
        assert!(r.state.timers.is_empty());
    }
}

#[test]
fn a_task_made_and_terminated_in_one_operation_is_never_created() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .node("x", task())
        .node("xb", interrupting("x", after("PT1H")))
        .node("t", NodeKind::Terminate)
        .node("e", NodeKind::End)
        .flows("s > split > x > e")
        .flows("split > t")
        .flows("xb > e")
        .done();
    let r = Run::start(&m, json!({}));
    assert_eq!(r.log, [Effect::InstanceCompleted]);
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn a_terminate_end_drops_the_tokens_still_on_their_way() {
    // The split sends a token to the terminate end first; the other one has
    // not reached its task yet.
    let m = build()
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .node("t", NodeKind::Terminate)
        .node("p", NodeKind::Pass)
        .node("y", task())
        .node("e", NodeKind::End)
        .flows("s > split > t")
        .flows("split > p > y > e")
        .done();
    let r = Run::start(&m, json!({}));
    assert_eq!(r.log, [Effect::InstanceCompleted]);
    // The same inside a sub-process: the token leaves it, nothing else runs inside.
    let m = build()
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("t", NodeKind::Terminate)
                .node("p", NodeKind::Pass)
                .node("y", task())
                .node("e1", NodeKind::End)
                .flows("ss > split > t")
                .flows("split > p > y > e1")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let r = Run::start(&m, json!({}));
    assert_eq!(created(&r.log), ["after"]);
}

#[test]
fn a_token_still_on_its_way_inside_keeps_the_sub_process() {
    // One token ends at once; the other is still passing a step when it does.
    let m = build()
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("p", NodeKind::Pass)
                .node("y", task())
                .node("e1", NodeKind::End)
                .node("e2", NodeKind::End)
                .flows("ss > split > e1")
                .flows("split > p > y > e2")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["y"]);
    r.complete("y", json!({}));
    assert_eq!(r.steps(), ["after"]);
}

#[test]
fn a_second_token_reaching_a_running_sub_process_waits_at_an_incident() {
    // Two parallel paths both lead into one sub-process. BPMN would run two
    // instances of it; flowcal runs one at a time and says so.
    let m = build()
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .sub("sub", |b| b.node("ss", NodeKind::Start).node("x", task()).node("se", NodeKind::End).flows("ss > x > se"))
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > split > sub > after > e")
        .flows("split > sub")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["x"]);
    assert_eq!(r.state.status, InstanceStatus::Incident);
    assert_eq!(r.state.stuck[0].node, "sub");
    assert!(r.state.stuck[0].message.contains("one instance of a sub-process at a time"), "{:?}", r.state.stuck);
    // Retried while the first still runs, it stays stuck.
    let t = r.retry();
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    r.complete("x", json!({}));
    assert_eq!(r.steps(), ["after"]);
    // Once it has ended, the retry runs the sub-process for the second path.
    r.retry();
    assert_eq!(r.state.status, InstanceStatus::Running);
    assert_eq!(r.steps(), ["after", "x"]);
    r.complete("x", json!({}));
    assert_eq!(r.steps(), ["after", "after"]);
}

#[test]
fn terminate_in_a_sub_process_ends_only_what_is_inside_and_leaves_it() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("split0", NodeKind::Parallel)
        .node("outside", task())
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("x", task())
                .node("xb", interrupting("x", after("PT2H")))
                .node("y", task())
                .node("w", catch(after("P1D")))
                .node("t", NodeKind::Terminate)
                .node("e1", NodeKind::End)
                .flows("ss > split > x > e1")
                .flows("split > y > t")
                .flows("split > w > e1")
                .flows("xb > e1")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > split0 > sub > after > e")
        .flows("split0 > outside > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["outside", "x", "y"]);
    let (x, xb, w) = (r.task("x"), r.timer("xb").id, r.timer("w").id);
    let y = r.task("y");
    let t = r.engine.complete(&r.state, &r.open, y, "starter", &Map::new(), r.at).unwrap();
    assert_eq!(
        t.effects[..4],
        [
            Effect::TaskCompleted { task: y },
            Effect::TaskCancelled { task: x },
            Effect::TimerCancelled { timer: xb },
            Effect::TimerCancelled { timer: w },
        ]
    );
    assert_eq!(created(&t.effects), ["after"]);
    assert!(!t.effects.contains(&Effect::InstanceCompleted));
    r.apply(t);
    assert_eq!(r.state.status, InstanceStatus::Running);
    assert_eq!(r.steps(), ["after", "outside"]);
    r.complete("after", json!({}));
    r.complete("outside", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn a_sub_process_is_left_only_when_every_token_inside_has_ended() {
    let m = build()
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("a", task())
                .node("b", task())
                .node("w", catch(after("PT1H")))
                .node("e1", NodeKind::End)
                .node("e2", NodeKind::End)
                .flows("ss > split > a > e1")
                .flows("split > b > e2")
                .flows("split > w > e2")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["a", "b"]);
    r.complete("a", json!({}));
    assert_eq!(r.steps(), ["b"]);
    // The timer's token ends; b is still inside.
    r.fire("w");
    assert_eq!(r.steps(), ["b"]);
    r.complete("b", json!({}));
    assert_eq!(r.steps(), ["after"]);
    // The sub-process is left once.
    assert_eq!(created(&r.log), ["a", "b", "after"]);
    r.complete("after", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);

    // Same order, but the timer last: a waiting timer keeps the sub-process too.
    let mut r = Run::start(&m, json!({}));
    r.complete("a", json!({}));
    r.complete("b", json!({}));
    assert!(r.open.is_empty());
    assert_eq!(r.state.status, InstanceStatus::Running);
    r.fire("w");
    assert_eq!(r.steps(), ["after"]);
}

#[test]
fn a_token_waiting_at_a_join_inside_keeps_the_sub_process() {
    // The join's second flow comes from a step no token reaches.
    let m = build()
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("a", task())
                .node("c", task())
                .node("orphan", NodeKind::Pass)
                .node("j", NodeKind::Parallel)
                .node("e1", NodeKind::End)
                .node("e2", NodeKind::End)
                .flows("ss > split > a > j > e1")
                .flows("orphan > j")
                .flows("split > c > e2")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    r.complete("a", json!({}));
    r.complete("c", json!({}));
    assert!(r.open.is_empty(), "{:?}", r.steps());
    assert_eq!(r.state.status, InstanceStatus::Incident);
    assert_eq!(r.state.stuck[0].node, "j");
}

#[test]
fn nested_sub_processes_are_left_from_the_inside_out() {
    let m = build()
        .node("s", NodeKind::Start)
        .sub("outer", |b| {
            b.node("os", NodeKind::Start)
                .sub("inner", |b| {
                    b.node("is", NodeKind::Start)
                        .node("split", NodeKind::Parallel)
                        .node("t1", task())
                        .node("t2", task())
                        .node("ie", NodeKind::End)
                        .node("term", NodeKind::Terminate)
                        .flows("is > split > t1 > ie")
                        .flows("split > t2 > term")
                })
                .node("mid", task())
                .node("oe", NodeKind::End)
                .flows("os > inner > mid > oe")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > outer > after > e")
        .done();
    assert!(m.is_within("t1", "outer") && m.is_within("t1", "inner") && !m.is_within("mid", "inner"));
    // Both branches end: the inner one is left, then the outer one.
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.steps(), ["t1", "t2"]);
    r.complete("t1", json!({}));
    assert_eq!(r.steps(), ["t2"]);
    r.complete("t2", json!({}));
    assert_eq!(r.steps(), ["mid"]);
    r.complete("mid", json!({}));
    assert_eq!(r.steps(), ["after"]);
    r.complete("after", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);
    // A terminate end in the inner one ends t1 and goes on in the outer one.
    let mut r = Run::start(&m, json!({}));
    let t1 = r.task("t1");
    r.complete("t2", json!({}));
    assert!(r.log.contains(&Effect::TaskCancelled { task: t1 }));
    assert_eq!(r.steps(), ["mid"]);
    assert_eq!(r.state.status, InstanceStatus::Running);
}

#[test]
fn an_incident_inside_keeps_the_sub_process() {
    let m = build()
        .item("go", DataType::Boolean)
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            let mut b = b
                .node("ss", NodeKind::Start)
                .node("split", NodeKind::Parallel)
                .node("g", NodeKind::Exclusive { default: None })
                .node("c", task())
                .node("e1", NodeKind::End)
                .flows("ss > split > g > e1")
                .flows("split > c > e1");
            b.m.flows.iter_mut().find(|f| f.id == "g-e1").unwrap().condition =
                Some(flowcal_domain::Condition::parse("go").unwrap());
            b
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let mut r = Run::start(&m, json!({"go": false}));
    assert_eq!(r.state.stuck[0].node, "g");
    r.complete("c", json!({}));
    // The token stuck at g is still inside: the sub-process is not left yet.
    assert!(r.open.is_empty());
    assert_eq!(r.state.status, InstanceStatus::Incident);
    r.set_data(json!({"go": true}));
    r.retry();
    assert_eq!(r.steps(), ["after"]);
    assert_eq!(created(&r.log), ["c", "after"]);
}

/// A task `a` with an interrupting escalation after two hours and a
/// non-interrupting reminder after a day.
fn escalated() -> ProcessModel {
    build()
        .node("s", NodeKind::Start)
        .node("a", task())
        .node("esc", interrupting("a", after("PT2H")))
        .node("rem", non_interrupting("a", after("P1D")))
        .node("escalate", task())
        .node("remind", task())
        .node("e", NodeKind::End)
        .flows("s > a > e")
        .flows("esc > escalate > e")
        .flows("rem > remind > e")
        .done()
}

#[test]
fn an_interrupting_boundary_timer_cancels_its_task_and_takes_its_own_way() {
    let m = escalated();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.log.len(), 3, "{:?}", r.log);
    assert!(
        matches!(&r.log[1], Effect::TimerStarted { node, boundary: true, task: None, due } if node == "esc" && show(*due) == "2026-03-27T11:00+01:00")
    );
    assert!(
        matches!(&r.log[2], Effect::TimerStarted { node, boundary: true, task: None, due } if node == "rem" && show(*due) == "2026-03-28T09:00+01:00")
    );
    let (a, esc, rem) = (r.task("a"), r.timer("esc").id, r.timer("rem").id);
    assert_eq!(r.timer("esc").task, Some(a));
    let t = r.fire("esc");
    assert_eq!(
        t.effects[..3],
        [
            Effect::TimerFired { timer: esc, node: "esc".into(), next: None },
            Effect::TaskCancelled { task: a },
            Effect::TimerCancelled { timer: rem },
        ]
    );
    assert_eq!(created(&t.effects), ["escalate"]);
    assert_eq!(r.steps(), ["escalate"]);
    assert!(r.state.timers.is_empty());
    r.complete("escalate", json!({}));
    assert_eq!(r.state.status, InstanceStatus::Completed);
}

#[test]
fn a_non_interrupting_cycle_fires_again_and_the_task_stays() {
    let nag =
        TimerSpec { when: TimerWhen::Cycle { repeat: None, start: None, every: dur("P1D") }, from_deadline: false };
    let m = build()
        .node("s", NodeKind::Start)
        .node("a", task())
        .node("nag", non_interrupting("a", nag))
        .node("remind", task())
        .node("e", NodeKind::End)
        .flows("s > a > e")
        .flows("nag > remind > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    let id = r.timer("nag").id;
    assert_eq!(show(r.timer("nag").due), "2026-03-28T09:00+01:00");
    let t = r.fire("nag");
    // The next one keeps 09:00 across the change to summer time.
    assert_eq!(
        t.effects[0],
        Effect::TimerFired { timer: id, node: "nag".into(), next: Some(berlin("2026-03-29T09:00")) }
    );
    assert_eq!(r.steps(), ["a", "remind"]);
    r.fire("nag");
    assert_eq!(r.steps(), ["a", "remind", "remind"]);
    assert_eq!(show(r.timer("nag").due), "2026-03-30T09:00+02:00");
    assert_eq!(r.timer("nag").fired, 2);
    // flowcal was down for days: the timer fires once, then waits for the next occurrence.
    r.at = berlin("2026-04-02T12:00");
    let t = r.try_fire(id).unwrap();
    assert_eq!(
        t.effects[0],
        Effect::TimerFired { timer: id, node: "nag".into(), next: Some(berlin("2026-04-03T09:00")) }
    );
    assert_eq!(created(&t.effects), ["remind"]);
    r.apply(t);
    // Completing the task ends its timer; the reminders stay.
    let a = r.task("a");
    let t = r.engine.complete(&r.state, &r.open, a, "starter", &Map::new(), r.at).unwrap();
    assert_eq!(t.effects, [Effect::TaskCompleted { task: a }, Effect::TimerCancelled { timer: id }]);
    r.apply(t);
    assert_eq!(r.steps(), ["remind", "remind", "remind"]);
    assert_eq!(r.state.status, InstanceStatus::Running);
}

#[test]
fn a_cycle_that_has_fired_moves_with_its_item_without_firing_again_at_once() {
    let nag = TimerSpec {
        when: TimerWhen::Cycle {
            repeat: None,
            start: Some(TimerDate::Item { key: "from".into(), offset: None }),
            every: dur("P1D"),
        },
        from_deadline: false,
    };
    let m = build()
        .item("from", DataType::DateTime)
        .node("s", NodeKind::Start)
        .node("a", task())
        .node("nag", non_interrupting("a", nag))
        .node("remind", task())
        .node("e", NodeKind::End)
        .flows("s > a > e")
        .flows("nag > remind > e")
        .done();
    let mut r = Run::start(&m, json!({"from": "2026-03-27T10:00:00+01:00"}));
    for _ in 0..3 {
        r.fire("nag");
    }
    assert_eq!(show(r.timer("nag").due), "2026-03-30T10:00+02:00");
    // From now on at 08:00: the next one is the next 08:00, not one long past.
    let t = r.set_data(json!({"from": "2026-03-27T08:00:00+01:00"}));
    assert_eq!(t.effects[1..], [Effect::TimerMoved { timer: r.timer("nag").id, due: berlin("2026-03-30T08:00") }]);
}

#[test]
fn completing_a_task_cancels_its_boundary_timers() {
    let m = escalated();
    let mut r = Run::start(&m, json!({}));
    let (a, esc, rem) = (r.task("a"), r.timer("esc").id, r.timer("rem").id);
    let t = r.engine.complete(&r.state, &r.open, a, "starter", &Map::new(), r.at).unwrap();
    assert_eq!(
        t.effects,
        [
            Effect::TaskCompleted { task: a },
            Effect::TimerCancelled { timer: esc },
            Effect::TimerCancelled { timer: rem },
            Effect::InstanceCompleted,
        ]
    );
    r.apply(t);
    // Its timers can no longer fire.
    assert_eq!(r.try_fire(esc).unwrap_err(), EngineError::NotRunning(InstanceStatus::Completed));
}

#[test]
fn a_deadline_timer_follows_a_deadline_taken_from_a_date_item() {
    let late = TimerSpec { when: TimerWhen::AtAnchor, from_deadline: true };
    let m = build()
        .item("due", DataType::Date)
        .item("note", DataType::String)
        .node("s", NodeKind::Start)
        .node(
            "a",
            NodeKind::UserTask {
                deadline: DeadlineRule::From { item: "due".into(), offset: None },
                assignee: AssigneeRule::Starter,
                calendar: None,
                roll: Roll::Forward,
            },
        )
        .node("late", interrupting("a", late))
        .node("chase", task())
        .node("e", NodeKind::End)
        .flows("s > a > e")
        .flows("late > chase > e")
        .done();
    // Without a deadline the timer does not start.
    let r = Run::start(&m, json!({}));
    assert!(r.state.timers.is_empty(), "{:?}", r.log);

    let mut r = Run::start(&m, json!({"due": "2026-04-10"}));
    // An all-day deadline has passed at the end of its day.
    assert_eq!(show(r.timer("late").due), "2026-04-11T00:00+02:00");
    let (a, late) = (r.task("a"), r.timer("late").id);
    let t = r.set_data(json!({"due": "2026-04-20"}));
    assert_eq!(
        t.effects[1..],
        [
            Effect::DeadlineChanged {
                task: a,
                deadline: Some(Deadline::Date(jiff::civil::date(2026, 4, 20))),
                calendar: None,
                reason: None
            },
            Effect::TimerMoved { timer: late, due: berlin("2026-04-21T00:00") },
        ]
    );
    assert_eq!(show(r.timer("late").due), "2026-04-21T00:00+02:00");
    // Other data: nothing moves. A cleared item leaves the timer where it is.
    let t = r.set_data(json!({"note": "x"}));
    assert_eq!(count(&t.effects, |e| matches!(e, Effect::TimerMoved { .. })), 0);
    let t = r.set_data(json!({"due": null}));
    assert!(t.effects.contains(&Effect::DeadlineChanged { task: a, deadline: None, calendar: None, reason: None }));
    assert_eq!(count(&t.effects, |e| matches!(e, Effect::TimerMoved { .. })), 0);
    assert_eq!(show(r.timer("late").due), "2026-04-21T00:00+02:00");
    // Set again, it moves again, and fires at the new date.
    let t = r.set_data(json!({"due": "2026-04-12"}));
    assert!(t.effects.contains(&Effect::TimerMoved { timer: late, due: berlin("2026-04-13T00:00") }));
    r.fire("late");
    assert_eq!(r.steps(), ["chase"]);
}

#[test]
fn a_catch_timer_on_an_item_moves_with_the_item() {
    let m = build()
        .item("when", DataType::DateTime)
        .node("s", NodeKind::Start)
        .node("w", catch(at_item("when")))
        .node("a", task())
        .node("e", NodeKind::End)
        .flows("s > w > a > e")
        .done();
    let mut r = Run::start(&m, json!({"when": "2026-04-01T10:00:00+02:00"}));
    assert_eq!(r.state.status, InstanceStatus::Running);
    let w = r.timer("w").id;
    assert_eq!(
        r.log.last(),
        Some(&Effect::TimerStarted { node: "w".into(), boundary: false, task: None, due: berlin("2026-04-01T10:00") })
    );
    let t = r.set_data(json!({"when": "2026-04-02T10:00:00+02:00"}));
    assert_eq!(t.effects[1..], [Effect::TimerMoved { timer: w, due: berlin("2026-04-02T10:00") }]);
    // The same instant written in another offset: the data changed, the timer did not.
    let t = r.set_data(json!({"when": "2026-04-02T08:00:00Z"}));
    assert_eq!(t.effects.len(), 1, "{:?}", t.effects);
    assert!(matches!(t.effects[0], Effect::DataChanged { .. }));
    // Not due yet.
    r.at = berlin("2026-04-02T09:59");
    assert_eq!(r.try_fire(w).unwrap_err(), EngineError::TimerNotWaiting(w));
    let t = r.fire("w");
    assert_eq!(t.effects[0], Effect::TimerFired { timer: w, node: "w".into(), next: None });
    assert_eq!(r.steps(), ["a"]);
    assert!(r.state.timers.is_empty());
    // Moved into the past, it is due at once.
    let mut r = Run::start(&m, json!({"when": "2026-04-01T10:00:00+02:00"}));
    r.set_data(json!({"when": "2026-03-01T10:00:00+01:00"}));
    let w = r.timer("w").id;
    r.apply(r.try_fire(w).unwrap());
    assert_eq!(r.steps(), ["a"]);
}

#[test]
fn a_catch_timer_on_an_empty_item_is_an_incident_until_the_item_is_set() {
    let m = build()
        .item("when", DataType::Date)
        .node("s", NodeKind::Start)
        .node("w", catch(at_item("when")))
        .node("a", task())
        .node("e", NodeKind::End)
        .flows("s > w > a > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    assert_eq!(r.state.status, InstanceStatus::Incident);
    assert!(r.state.timers.is_empty());
    assert_eq!(r.state.stuck[0].node, "w");
    let message = &r.state.stuck[0].message;
    assert!(message.contains("'when'") && message.contains("empty") && message.contains("retry"), "{message}");
    // Retrying without the data changes nothing.
    let t = r.retry();
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    assert_eq!(r.state.status, InstanceStatus::Incident);
    r.set_data(json!({"when": "2026-04-01"}));
    let t = r.retry();
    assert_eq!(
        t.effects,
        [
            Effect::IncidentResolved { node: "w".into() },
            Effect::TimerStarted { node: "w".into(), boundary: false, task: None, due: berlin("2026-04-01T00:00") },
        ]
    );
    assert_eq!(r.state.status, InstanceStatus::Running);
    assert!(r.state.stuck.is_empty());
    r.fire("w");
    assert_eq!(r.steps(), ["a"]);
}

#[test]
fn cancel_cancels_every_timer() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("split", NodeKind::Parallel)
        .node("a", task())
        .node("esc", interrupting("a", after("PT2H")))
        .node("w", catch(after("P1D")))
        .node("e", NodeKind::End)
        .flows("s > split > a > e")
        .flows("split > w > e")
        .flows("esc > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    let (a, esc, w) = (r.task("a"), r.timer("esc").id, r.timer("w").id);
    let t = r.engine.cancel(&r.state, &r.open).unwrap();
    assert_eq!(
        t.effects,
        [
            Effect::TaskCancelled { task: a },
            Effect::TimerCancelled { timer: esc },
            Effect::TimerCancelled { timer: w },
            Effect::InstanceCancelled,
        ]
    );
    r.apply(t);
    assert!(r.state.timers.is_empty());
}

#[test]
fn fire_timer_refuses_what_is_not_waiting() {
    let m = escalated();
    let mut r = Run::start(&m, json!({}));
    let esc = r.timer("esc").id;
    let due = r.timer("esc").due;
    // Before it is due; an unknown timer.
    r.at = due.checked_sub(jiff::Span::new().seconds(1)).unwrap();
    assert_eq!(r.try_fire(esc).unwrap_err(), EngineError::TimerNotWaiting(esc));
    assert_eq!(r.try_fire(TimerId(99)).unwrap_err(), EngineError::TimerNotWaiting(TimerId(99)));
    // A boundary timer whose task is no longer open (the store has not caught up).
    let others = [OpenTask { id: TaskId(42), step: "remind".into(), started_at: r.at, deadline: None }];
    for open in [&others[..], &[]] {
        let err = r.engine.fire_timer(&r.state, open, esc, "starter", due).unwrap_err();
        assert_eq!(err, EngineError::TimerNotWaiting(esc));
    }
    // Fired once, it is gone: firing it again is refused.
    r.fire("esc");
    assert_eq!(r.try_fire(esc).unwrap_err(), EngineError::TimerNotWaiting(esc));
    // After cancel nothing fires, even a timer the caller still thinks is waiting.
    let mut r = Run::start(&m, json!({}));
    let timer = r.timer("rem").clone();
    let t = r.engine.cancel(&r.state, &r.open).unwrap();
    r.apply(t);
    let mut stale = r.state.clone();
    stale.timers.push(timer.clone());
    let err = r.engine.fire_timer(&stale, &r.open, timer.id, "starter", timer.due).unwrap_err();
    assert_eq!(err, EngineError::NotRunning(InstanceStatus::Cancelled));
}

#[test]
fn a_day_long_boundary_timer_keeps_the_wall_clock_across_spring_forward() {
    let m = build()
        .node("s", NodeKind::Start)
        .node("a", task())
        .node("rem", non_interrupting("a", after("P1D")))
        .node("e", NodeKind::End)
        .flows("s > a > e")
        .flows("rem > e")
        .done();
    let r = Run::start_at(&m, json!({}), berlin("2026-03-28T09:00"));
    let due = r.timer("rem").due;
    assert_eq!(show(due), "2026-03-29T09:00+02:00");
    assert_eq!(due, "2026-03-29T07:00:00Z".parse::<Timestamp>().unwrap());
}

#[test]
fn a_boundary_timer_inside_a_sub_process_follows_the_scope_rules() {
    let m = build()
        .node("s", NodeKind::Start)
        .sub("sub", |b| {
            b.node("ss", NodeKind::Start)
                .node("a", task())
                .node("esc", interrupting("a", after("PT1H")))
                .node("rem", non_interrupting("a", after("PT30M")))
                .node("remind", task())
                .node("e1", NodeKind::End)
                .node("e2", NodeKind::End)
                .flows("ss > a > e1")
                .flows("esc > e2")
                .flows("rem > remind > e1")
        })
        .node("after", task())
        .node("e", NodeKind::End)
        .flows("s > sub > after > e")
        .done();
    let mut r = Run::start(&m, json!({}));
    // The reminder's token is inside: the sub-process stays when the escalation ends a.
    r.fire("rem");
    assert_eq!(r.steps(), ["a", "remind"]);
    r.fire("esc");
    assert_eq!(r.steps(), ["remind"]);
    r.complete("remind", json!({}));
    assert_eq!(r.steps(), ["after"]);
    // Alone inside, the escalation's token ends the sub-process at once.
    let mut r = Run::start(&m, json!({}));
    let t = r.engine.fire_timer(&r.state, &r.open, r.timer("esc").id, "starter", berlin("2026-03-27T10:00")).unwrap();
    assert_eq!(created(&t.effects), ["after"]);
    r.apply(t);
    assert_eq!(r.steps(), ["after"]);
}

#[test]
fn the_start_timer_of_a_model() {
    let mut m = build().node("s", NodeKind::Start).node("e", NodeKind::End).flows("s > e").done();
    let deployed = berlin("2026-03-27T12:00");
    assert_eq!(Engine::new(&m, "UTC").unwrap().start_timer_due(deployed, None), None);
    m.start_timer = Some(TimerSpec {
        when: TimerWhen::Cycle {
            repeat: Some(2),
            start: Some(TimerDate::Civil("2026-03-28T08:00".parse().unwrap())),
            every: dur("P1D"),
        },
        from_deadline: false,
    });
    let e = Engine::new(&m, "UTC").unwrap();
    let first = e.start_timer_due(deployed, None).unwrap();
    assert_eq!(show(first), "2026-03-28T08:00+01:00");
    let second = e.start_timer_due(deployed, Some(first)).unwrap();
    assert_eq!(show(second), "2026-03-29T08:00+02:00");
    assert_eq!(e.start_timer_due(deployed, Some(second)), None);
    // One-shot: fires once.
    m.start_timer = Some(after("PT1H"));
    let e = Engine::new(&m, "UTC").unwrap();
    assert_eq!(e.start_timer_due(deployed, None), Some(berlin("2026-03-27T13:00")));
    assert_eq!(e.start_timer_due(deployed, Some(berlin("2026-03-27T13:00"))), None);
    // Items and deadlines have no value without an instance.
    m.start_timer = Some(at_item("when"));
    assert_eq!(Engine::new(&m, "UTC").unwrap().start_timer_due(deployed, None), None);
    m.start_timer = Some(TimerSpec { when: TimerWhen::AtAnchor, from_deadline: true });
    assert_eq!(Engine::new(&m, "UTC").unwrap().start_timer_due(deployed, None), None);
}
