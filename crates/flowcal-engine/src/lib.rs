//! The process engine: moves tokens through a process model.
//!
//! Every operation is a pure function from the current instance state (and the
//! open tasks) to a new state plus a list of [`Effect`]s — tasks to create,
//! deadlines that changed, data that changed, timers to start, move, fire or
//! cancel, incidents. The store applies a transition and records one domain
//! event per effect in the same database transaction. This crate must never
//! do I/O or read the clock: the time is always passed in (`now`).
//!
//! How tokens move:
//!
//! - Start events, pass-through steps and milestones let a token go on; a
//!   milestone records [`Effect::MilestoneReached`].
//! - A user task waits; its boundary timers start with it.
//! - A timer catch event waits until [`Engine::fire_timer`]; when its date
//!   comes from an empty item it raises an incident, and a retry after the
//!   data is set starts it.
//! - An embedded sub-process starts a token at its inner start event. An end
//!   event inside it ends its token; once no token remains inside (queued,
//!   waiting at a task, a timer or a join, or stuck at an incident), a token
//!   leaves the sub-process along its outgoing flows. BPMN runs a separate
//!   instance of an activity for each token that reaches it; flowcal runs one
//!   instance of a sub-process at a time, so a token that reaches a
//!   sub-process while it runs stops there with an incident (retry once the
//!   running one has ended; or join the paths before the sub-process).
//! - A terminate end event ends every token of its scope: at the top level
//!   the instance completes; inside a sub-process, everything inside ends and
//!   a token leaves the sub-process.
//! - A task that ends, however, takes its boundary timers with it.
//!
//! A task or timer that an operation creates and ends again (a terminate end
//! reached in the same operation) is never created: its effects are left out.
//! [`InstanceState::timers`] is read, never written: the returned state keeps
//! the list it was given, and timers change only through effects.
#![forbid(unsafe_code)]

use flowcal_domain::model::{AssigneeRule, Node, NodeKind};
use flowcal_domain::timer::{TimerContext, TimerSpec};
use flowcal_domain::user::parse_time_zone;
use flowcal_domain::value::parse_data;
use flowcal_domain::{CompiledCalendar, Data, Deadline, ProcessModel, TaskId, TimerId, Value, ValueError, WorkTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

// The data the engine works on lives in the domain, so that the store can
// apply a transition without depending on the engine.
pub use flowcal_domain::instance::{
    Assignee, Effect, EngineError, InstanceState, InstanceStatus, Joins, OpenTask, OpenTimer, Stuck, Transition,
};

/// Runs one model. Cheap to build.
#[derive(Debug)]
pub struct Engine<'m> {
    model: &'m ProcessModel,
    zone: TimeZone,
    zone_name: String,
    /// The work calendars the model's deadlines count in, by name.
    calendars: BTreeMap<String, Arc<CompiledCalendar>>,
}

/// A deadline, and the work calendar it was computed in.
type Computed = (Option<Deadline>, Option<String>);

/// A token that passes one node this often within one step is in a loop
/// that reaches no task (the BPMN reader refuses such loops; this is a guard).
const MAX_VISITS: usize = 1_000;

/// A token: the node it is at, and the flow it came by (none for a start
/// event, a retried node and a sub-process's inner start).
type Token<'m> = (&'m str, Option<&'m str>);

impl<'m> Engine<'m> {
    /// `default_zone` is used when the model names no zone.
    pub fn new(model: &'m ProcessModel, default_zone: &str) -> Result<Self, EngineError> {
        let zone_name = model.time_zone.clone().unwrap_or_else(|| default_zone.to_owned());
        let zone = parse_time_zone(&zone_name).map_err(EngineError::Zone)?;
        Ok(Self { model, zone, zone_name, calendars: BTreeMap::new() })
    }

    /// Gives the engine the work calendars the model names
    /// ([`ProcessModel::work_calendars`]). A step whose calendar is not
    /// among them counts its deadline in calendar days, as without one.
    pub fn with_calendars(mut self, calendars: BTreeMap<String, Arc<CompiledCalendar>>) -> Self {
        self.calendars = calendars;
        self
    }

    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// Checks input data against the model's items without applying it.
    pub fn validate(&self, input: &serde_json::Map<String, serde_json::Value>) -> Result<(), EngineError> {
        parse_data(&self.model.data_items, input).map(|_| ()).map_err(EngineError::InvalidData)
    }

    /// Starts an instance: required items must be given.
    pub fn start(
        &self,
        starter: &str,
        input: &serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
    ) -> Result<Transition, EngineError> {
        let parsed = parse_data(&self.model.data_items, input).map_err(EngineError::InvalidData)?;
        let missing: Vec<ValueError> = self
            .model
            .data_items
            .iter()
            .filter(|i| i.required && !matches!(parsed.get(&i.key), Some(Some(_))))
            .map(|i| ValueError { key: i.key.clone(), message: "a value is required".into() })
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::InvalidData(missing.into()));
        }
        let state = InstanceState {
            status: InstanceStatus::Running,
            data: Data::new(),
            joins: BTreeMap::new(),
            stuck: vec![],
            timers: vec![],
        };
        let mut w = Work::new(&state, &[]);
        apply_data(&mut w.state, parsed, &mut w.effects);
        let start = self.model.start().ok_or(EngineError::NoStart)?;
        self.advance(&mut w, vec![(start.id.as_str(), None)], starter, now);
        self.settle(&mut w);
        Ok(w.finish())
    }

    /// Completes an open task with data, and moves on. The task's boundary
    /// timers are cancelled.
    pub fn complete(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        task: TaskId,
        starter: &str,
        input: &serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let done = open.iter().find(|t| t.id == task).ok_or(EngineError::TaskNotOpen(task))?;
        let parsed = parse_data(&self.model.data_items, input).map_err(EngineError::InvalidData)?;
        let mut w = Work::new(state, open);
        let changed = apply_data(&mut w.state, parsed, &mut w.effects);
        w.effects.push(Effect::TaskCompleted { task });
        w.end_task(Made::Before(task));
        self.follow_changed_items(&mut w, open, &changed);
        let next = self.next(&done.step).collect();
        self.advance(&mut w, next, starter, now);
        self.settle(&mut w);
        Ok(w.finish())
    }

    /// Changes data outside a task (an administrator's correction); open
    /// tasks and waiting timers that depend on a changed item follow it.
    pub fn set_data(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        input: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let parsed = parse_data(&self.model.data_items, input).map_err(EngineError::InvalidData)?;
        let mut w = Work::new(state, open);
        let changed = apply_data(&mut w.state, parsed, &mut w.effects);
        self.follow_changed_items(&mut w, open, &changed);
        Ok(w.finish())
    }

    /// Tries stuck gateways and timer catch events again with the current data.
    pub fn retry(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        starter: &str,
        now: Timestamp,
    ) -> Result<Transition, EngineError> {
        match state.status {
            InstanceStatus::Incident => {}
            InstanceStatus::Running => return Err(EngineError::NoIncident),
            s => return Err(EngineError::NotRunning(s)),
        }
        let mut w = Work::new(state, open);
        // Only gateways, timers waiting for a date and sub-processes reached
        // while they ran can be retried; a join
        // that waits for branches that ended elsewhere stays stuck (the
        // instance can be cancelled).
        let (stuck, waiting): (Vec<Stuck>, Vec<Stuck>) =
            std::mem::take(&mut w.state.stuck).into_iter().partition(|s| {
                matches!(
                    self.model.node(&s.node).map(|n| &n.kind),
                    Some(NodeKind::Exclusive { .. } | NodeKind::TimerCatch { .. } | NodeKind::SubProcess)
                )
            });
        w.state.stuck = waiting;
        for s in &stuck {
            w.effects.push(Effect::IncidentResolved { node: s.node.clone() });
        }
        let again: Vec<Token<'m>> =
            stuck.iter().filter_map(|s| self.model.node(&s.node)).map(|n| (n.id.as_str(), None)).collect();
        self.advance(&mut w, again, starter, now);
        // A node that is still stuck raised a fresh incident: drop the resolve
        // and re-raise pair so the history says what happened.
        let pairs: Vec<usize> = w
            .effects
            .iter()
            .enumerate()
            .filter(|(_, e)| match e {
                Effect::IncidentResolved { node } => w.state.stuck.iter().any(|s| &s.node == node),
                Effect::IncidentRaised { node, .. } => stuck.iter().any(|s| &s.node == node),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        w.undone.extend(pairs);
        self.settle(&mut w);
        Ok(w.finish())
    }

    /// Cancels the instance, its open tasks and its waiting timers.
    pub fn cancel(&self, state: &InstanceState, open: &[OpenTask]) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let mut state = state.clone();
        let mut effects: Vec<Effect> = open.iter().map(|t| Effect::TaskCancelled { task: t.id }).collect();
        effects.extend(state.timers.iter().map(|t| Effect::TimerCancelled { timer: t.id }));
        state.status = InstanceStatus::Cancelled;
        state.stuck.clear();
        state.joins.clear();
        effects.push(Effect::InstanceCancelled);
        Ok(Transition { state, effects })
    }

    /// Fires a waiting timer that is due (`due <= now`), and moves on:
    ///
    /// - a timer catch event: the token goes on along its outgoing flow;
    /// - an interrupting boundary timer: its task is cancelled (with its
    ///   other boundary timers), and a token leaves along the boundary's flow;
    /// - a non-interrupting one: a token leaves along its flow and the task
    ///   stays; a cycle waits again until its next occurrence after `now`
    ///   (occurrences missed meanwhile are skipped), [`Effect::TimerFired`]'s
    ///   `next`.
    ///
    /// Refused with [`EngineError::TimerNotWaiting`] when the timer is not
    /// among the instance's waiting timers, is not due yet, or is a boundary
    /// timer whose task is no longer open.
    pub fn fire_timer(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        timer: TimerId,
        starter: &str,
        now: Timestamp,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let not_waiting = EngineError::TimerNotWaiting(timer);
        let t = state.timers.iter().find(|t| t.id == timer).filter(|t| t.due <= now).ok_or(not_waiting.clone())?;
        let node = self.model.node(&t.node).ok_or(not_waiting.clone())?;
        let mut w = Work::new(state, open);
        let fired = |next| Effect::TimerFired { timer, node: node.id.clone(), next };
        match &node.kind {
            NodeKind::TimerCatch { .. } => {
                w.effects.push(fired(None));
                w.timers.retain(|l| l.made != Made::Before(timer));
            }
            NodeKind::BoundaryTimer { cancel, timer: spec, .. } => {
                let task = t.task.and_then(|id| open.iter().find(|o| o.id == id)).ok_or(not_waiting)?;
                if *cancel {
                    w.effects.push(fired(None));
                    w.timers.retain(|l| l.made != Made::Before(timer));
                    w.cancel_task(Made::Before(task.id));
                } else {
                    let cx = self.timer_context(t.armed_at, task.deadline.as_ref(), &w.state.data);
                    let next = spec.next_due(&cx, now);
                    w.effects.push(fired(next));
                    if next.is_none() {
                        w.timers.retain(|l| l.made != Made::Before(timer));
                    }
                }
            }
            _ => return Err(not_waiting),
        }
        let next = self.next(&node.id).collect();
        self.advance(&mut w, next, starter, now);
        self.settle(&mut w);
        Ok(w.finish())
    }

    /// When the model's start timer fires: with `after` `None` the first
    /// time for a timer armed at `armed_at` (when the model was deployed),
    /// else the next time strictly after `after`. `None` when the model has
    /// no start timer, or it is done. A start timer has no instance, so a
    /// date taken from an item or a deadline is no date (the reader refuses
    /// both).
    pub fn start_timer_due(&self, armed_at: Timestamp, after: Option<Timestamp>) -> Option<Timestamp> {
        let spec = self.model.start_timer.as_ref()?;
        let data = Data::new();
        let cx = self.timer_context(armed_at, None, &data);
        match after {
            None => spec.first_due(&cx),
            Some(after) => spec.next_due(&cx, after),
        }
    }

    /// The deadline of a step started at `started`, and the work calendar
    /// it was computed in (`None` without one, or without a deadline).
    pub fn deadline_for(&self, step: &str, started: Timestamp, data: &Data) -> Computed {
        let Some(NodeKind::UserTask { deadline, calendar, roll, .. }) = self.model.node(step).map(|n| &n.kind) else {
            return (None, None);
        };
        let cal = calendar.as_ref().and_then(|name| self.calendars.get(name).map(|c| (name, c)));
        let work = cal.map(|(_, c)| WorkTime { calendar: c, roll: *roll });
        // Out-of-range arithmetic (or a calendar without working time) leaves
        // the task without a deadline rather than failing the whole step.
        let computed = deadline.compute_in(started, &self.zone, &self.zone_name, data, work).ok().flatten();
        let used = computed.as_ref().and(cal).map(|(name, _)| name.clone());
        (computed, used)
    }

    /// The work calendar `calendar` changed: every open task whose step
    /// counts its deadline in it gets the deadline computed again (from when
    /// the task started, with the data as it is now), recorded with `reason`
    /// ([`Effect::DeadlineChanged`]); boundary timers that count from a
    /// deadline that moved move with it. Tasks whose deadline stays are left
    /// alone: the transition may have no effects.
    pub fn recompute_deadlines(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        calendar: &str,
        reason: &str,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let mut w = Work::new(state, open);
        let mut deadlines = BTreeMap::new();
        for t in open {
            let Some(NodeKind::UserTask { calendar: Some(c), .. }) = self.model.node(&t.step).map(|n| &n.kind) else {
                continue;
            };
            if c != calendar {
                continue;
            }
            let (new, used) = self.deadline_for(&t.step, t.started_at, &w.state.data);
            if new != t.deadline {
                w.effects.push(Effect::DeadlineChanged {
                    task: t.id,
                    deadline: new.clone(),
                    calendar: used,
                    reason: Some(reason.to_owned()),
                });
                deadlines.insert(t.id, new);
            }
        }
        self.move_timers(&mut w, open, &BTreeSet::new(), &deadlines);
        Ok(w.finish())
    }

    /// The open task `task` gets `deadline` by hand (a move in the calendar
    /// used), recorded with `reason` ([`Effect::DeadlineChanged`]); boundary
    /// timers that count from its deadline move with it. The same deadline
    /// again changes nothing.
    pub fn set_deadline(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        task: TaskId,
        deadline: Deadline,
        reason: &str,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let t = open.iter().find(|t| t.id == task).ok_or(EngineError::TaskNotOpen(task))?;
        let mut w = Work::new(state, open);
        if t.deadline.as_ref() != Some(&deadline) {
            w.effects.push(Effect::DeadlineChanged {
                task,
                deadline: Some(deadline.clone()),
                calendar: None,
                reason: Some(reason.to_owned()),
            });
            let deadlines = BTreeMap::from([(task, Some(deadline))]);
            self.move_timers(&mut w, open, &BTreeSet::new(), &deadlines);
        }
        Ok(w.finish())
    }

    fn ensure_active(&self, state: &InstanceState) -> Result<(), EngineError> {
        match state.status {
            InstanceStatus::Running | InstanceStatus::Incident => Ok(()),
            s => Err(EngineError::NotRunning(s)),
        }
    }

    fn timer_context<'a>(
        &'a self,
        armed_at: Timestamp,
        deadline: Option<&'a Deadline>,
        data: &'a Data,
    ) -> TimerContext<'a> {
        TimerContext { armed_at, deadline, zone: &self.zone, data }
    }

    /// Tokens leaving `node` along each of its outgoing flows.
    fn next<'n>(&self, node: &'n str) -> impl Iterator<Item = Token<'m>> + use<'m, 'n> {
        let model: &'m ProcessModel = self.model;
        model.flows.iter().filter(move |f| f.source == node).map(|f| (f.target.as_str(), Some(f.id.as_str())))
    }

    /// Open tasks and waiting timers follow changed data items:
    ///
    /// - a deadline computed from an item moves with it;
    /// - a task assigned through a `user` item (`item:KEY`) goes to the user
    ///   it names now; a cleared item leaves the task where it is: someone
    ///   must have it;
    /// - a timer whose date comes from an item, or a boundary timer counting
    ///   from its task's deadline when that deadline moved, gets its date
    ///   computed again from when it was armed ([`Effect::TimerMoved`]); a
    ///   cycle that has fired goes on with its new schedule from about its
    ///   last firing ([`TimerSpec::moved_due`]). A cleared item (or
    ///   deadline) leaves the timer where it is.
    fn follow_changed_items(&self, w: &mut Work, open: &[OpenTask], changed: &BTreeSet<String>) {
        if changed.is_empty() {
            return;
        }
        let mut deadlines: BTreeMap<TaskId, Option<Deadline>> = BTreeMap::new();
        let live: Vec<&OpenTask> = open.iter().filter(|t| w.has_task(t.id)).collect();
        for t in live {
            let Some(NodeKind::UserTask { deadline, assignee, .. }) = self.model.node(&t.step).map(|n| &n.kind) else {
                continue;
            };
            if deadline.item().is_some_and(|i| changed.contains(i)) {
                let (new, calendar) = self.deadline_for(&t.step, t.started_at, &w.state.data);
                if new != t.deadline {
                    w.effects.push(Effect::DeadlineChanged {
                        task: t.id,
                        deadline: new.clone(),
                        calendar,
                        reason: None,
                    });
                    deadlines.insert(t.id, new);
                }
            }
            if let AssigneeRule::Item(key) = assignee {
                if let (true, Some(Value::User(login))) = (changed.contains(key), w.state.data.get(key)) {
                    w.effects.push(Effect::TaskReassigned { task: t.id, assignee: login.clone() });
                }
            }
        }
        self.move_timers(w, open, changed, &deadlines);
    }

    /// Waiting timers follow changed data items and moved deadlines (see
    /// [`Engine::follow_changed_items`]); a deadline timer whose task had no
    /// deadline starts once it has one.
    fn move_timers(
        &self,
        w: &mut Work,
        open: &[OpenTask],
        changed: &BTreeSet<String>,
        deadlines: &BTreeMap<TaskId, Option<Deadline>>,
    ) {
        let mut moved = Vec::new();
        for t in w.state.timers.iter().filter(|t| w.has_timer(t.id)) {
            let spec = match self.model.node(&t.node).map(|n| &n.kind) {
                Some(NodeKind::TimerCatch { timer } | NodeKind::BoundaryTimer { timer, .. }) => timer,
                _ => continue,
            };
            let new_deadline = t.task.and_then(|id| deadlines.get(&id));
            let item_moved = spec.item().is_some_and(|i| changed.contains(i));
            let deadline_moved = spec.from_deadline && new_deadline.is_some();
            if !(item_moved || deadline_moved) {
                continue;
            }
            let deadline = match new_deadline {
                Some(d) => d.as_ref(),
                None => t.task.and_then(|id| open.iter().find(|o| o.id == id)).and_then(|o| o.deadline.as_ref()),
            };
            let cx = self.timer_context(t.armed_at, deadline, &w.state.data);
            if let Some(due) = spec.moved_due(&cx, t.due, t.fired > 0).filter(|due| *due != t.due) {
                moved.push(Effect::TimerMoved { timer: t.id, due });
            }
        }
        w.effects.extend(moved);
        // A deadline timer whose task had no deadline (its item was empty)
        // starts once the deadline appears.
        for (task, deadline) in deadlines {
            let (Some(deadline), Some(t)) = (deadline, open.iter().find(|o| o.id == *task)) else { continue };
            for b in self.model.boundary_timers(&t.step) {
                let NodeKind::BoundaryTimer { timer, .. } = &b.kind else { continue };
                let waiting = w.state.timers.iter().any(|o| o.task == Some(*task) && o.node == b.id);
                if !timer.from_deadline || waiting {
                    continue;
                }
                if let Some(due) = timer.first_due(&self.timer_context(t.started_at, Some(deadline), &w.state.data)) {
                    let made = Made::Now(w.effects.len());
                    w.effects.push(Effect::TimerStarted { node: b.id.clone(), boundary: true, task: Some(*task), due });
                    w.timers.push(LiveTimer { node: b.id.clone(), task: Some(Made::Before(*task)), made });
                }
            }
        }
    }

    /// Moves tokens until each waits at a task, a timer, a join or a stuck
    /// node, or is consumed by an end event.
    fn advance(&self, w: &mut Work, start: Vec<Token<'m>>, starter: &str, now: Timestamp) {
        let mut queue: VecDeque<Token<'m>> = start.into();
        let mut visits: BTreeMap<&str, usize> = BTreeMap::new();
        while let Some((id, via)) = queue.pop_front() {
            let Some(node) = self.model.node(id) else { continue };
            let seen = visits.entry(id).or_default();
            *seen += 1;
            if *seen > MAX_VISITS {
                // A loop that reaches no task: stop this token only.
                if !w.state.stuck.iter().any(|s| s.node == id) {
                    self.raise(w, id, "the process loops here without reaching a task".into());
                }
                continue;
            }
            match &node.kind {
                // A boundary timer has no incoming flow (the reader refuses
                // one); a token that reached it anyway passes.
                NodeKind::Start | NodeKind::Pass | NodeKind::BoundaryTimer { .. } => queue.extend(self.next(id)),
                NodeKind::Milestone => {
                    w.effects.push(Effect::MilestoneReached { node: node.id.clone(), name: node.name.clone() });
                    queue.extend(self.next(id));
                }
                NodeKind::UserTask { assignee, .. } => self.create_task(w, node, assignee, starter, now),
                NodeKind::TimerCatch { timer } => self.wait(w, node, timer, now),
                NodeKind::SubProcess => match self.model.scope_start(id) {
                    Some(_) if self.inside(w, &queue, id) => self.raise(
                        w,
                        id,
                        format!(
                            "a second path reached sub-process '{id}' while it runs, and flowcal runs one instance of \
                             a sub-process at a time: retry once the running one has ended, or join the paths before \
                             the sub-process in the model"
                        ),
                    ),
                    Some(inner) => queue.push_back((inner.id.as_str(), None)),
                    None => self.raise(w, id, format!("sub-process '{id}' has no start event; correct the model")),
                },
                NodeKind::End => {
                    if let Some(scope) = node.scope.as_deref() {
                        if !self.inside(w, &queue, scope) {
                            queue.extend(self.next(scope));
                        }
                    }
                }
                NodeKind::Terminate => match node.scope.as_deref() {
                    None => {
                        self.terminate(w, None);
                        queue.clear();
                    }
                    Some(scope) => {
                        self.terminate(w, Some(scope));
                        queue.retain(|(n, _)| !self.model.is_within(n, scope));
                        queue.extend(self.next(scope));
                    }
                },
                NodeKind::Exclusive { default } => {
                    let outs: Vec<_> = self.model.outgoing(&node.id).collect();
                    // Conditions in document order; a flow without one always holds;
                    // the default flow only when nothing else does.
                    let chosen = outs
                        .iter()
                        .filter(|f| Some(&f.id) != default.as_ref())
                        .find(|f| f.condition.as_ref().is_none_or(|c| c.eval(&w.state.data)))
                        .or_else(|| outs.iter().find(|f| Some(&f.id) == default.as_ref()));
                    match chosen {
                        Some(f) => queue.push_back((&f.target, Some(&f.id))),
                        None => {
                            let conds: Vec<String> = outs
                                .iter()
                                .filter_map(|f| f.condition.as_ref().map(|c| format!("'{}'", c.text.trim())))
                                .collect();
                            let message = format!(
                                "no condition of gateway '{}' holds ({}) and it has no default flow; correct the data and retry",
                                id,
                                conds.join(", ")
                            );
                            self.raise(w, id, message);
                        }
                    }
                }
                NodeKind::Parallel => {
                    let incoming: Vec<&str> = self.model.incoming(&node.id).map(|f| f.id.as_str()).collect();
                    if incoming.len() > 1 {
                        let waiting = w.state.joins.entry(id.to_owned()).or_default();
                        *waiting.entry(via.unwrap_or_default().to_owned()).or_default() += 1;
                        if !incoming.iter().all(|f| waiting.get(*f).is_some_and(|n| *n > 0)) {
                            continue;
                        }
                        // One token from each incoming flow goes on as one.
                        for f in &incoming {
                            if let Some(n) = waiting.get_mut(*f) {
                                *n -= 1;
                            }
                        }
                        waiting.retain(|_, n| *n > 0);
                        if waiting.is_empty() {
                            w.state.joins.remove(id);
                        }
                    }
                    queue.extend(self.next(id));
                }
            }
        }
    }

    /// A token reaches a user task: the task is created, and its boundary
    /// timers start with it (those without a date do not).
    fn create_task(&self, w: &mut Work, node: &Node, rule: &AssigneeRule, starter: &str, now: Timestamp) {
        let assignee = match rule {
            AssigneeRule::Starter => Assignee::User(starter.to_owned()),
            AssigneeRule::User(login) => Assignee::User(login.clone()),
            AssigneeRule::Role(role) => Assignee::Role(role.clone()),
            // An empty user item leaves the task with the starter, who can fill it in.
            AssigneeRule::Item(key) => match w.state.data.get(key) {
                Some(Value::User(login)) => Assignee::User(login.clone()),
                _ => Assignee::User(starter.to_owned()),
            },
        };
        let (deadline, calendar) = self.deadline_for(&node.id, now, &w.state.data);
        let task = Made::Now(w.effects.len());
        w.effects.push(Effect::TaskCreated {
            step: node.id.clone(),
            name: node.name.clone(),
            assignee,
            deadline: deadline.clone(),
            calendar,
        });
        w.tasks.push(LiveTask { step: node.id.clone(), made: task });
        for b in self.model.boundary_timers(&node.id) {
            let NodeKind::BoundaryTimer { timer, .. } = &b.kind else { continue };
            let cx = self.timer_context(now, deadline.as_ref(), &w.state.data);
            if let Some(due) = timer.first_due(&cx) {
                let made = Made::Now(w.effects.len());
                w.effects.push(Effect::TimerStarted { node: b.id.clone(), boundary: true, task: None, due });
                w.timers.push(LiveTimer { node: b.id.clone(), task: Some(task), made });
            }
        }
    }

    /// A token reaches a timer catch event: it waits for the timer, or, when
    /// the timer has no date, stops at an incident.
    fn wait(&self, w: &mut Work, node: &Node, timer: &TimerSpec, now: Timestamp) {
        let id = &node.id;
        match timer.first_due(&self.timer_context(now, None, &w.state.data)) {
            Some(due) => {
                let made = Made::Now(w.effects.len());
                w.effects.push(Effect::TimerStarted { node: id.clone(), boundary: false, task: None, due });
                w.timers.push(LiveTimer { node: id.clone(), task: None, made });
            }
            None => {
                let message = match timer.item() {
                    Some(key) if !w.state.data.contains_key(key) => {
                        format!("timer '{id}' waits until the date in data item '{key}', which is empty; set it and retry")
                    }
                    Some(key) => format!(
                        "timer '{id}' cannot count from data item '{key}': its value gives no date flowcal supports; correct it and retry"
                    ),
                    None => format!(
                        "timer '{id}' has no time left at which it would fire; correct the model, or cancel the instance"
                    ),
                };
                self.raise(w, id, message);
            }
        }
    }

    /// Whether a token remains inside the sub-process `scope`: queued at a
    /// node inside it, or waiting at a task, a timer catch event, a join or
    /// an incident inside it.
    fn inside(&self, w: &Work, queue: &VecDeque<Token<'m>>, scope: &str) -> bool {
        let within = |node: &str| self.model.is_within(node, scope);
        queue.iter().any(|(n, _)| within(n))
            || w.tasks.iter().any(|t| within(&t.step))
            || w.timers.iter().any(|t| t.task.is_none() && within(&t.node))
            || w.state.joins.iter().any(|(j, arrived)| within(j) && arrived.values().any(|n| *n > 0))
            || w.state.stuck.iter().any(|s| within(&s.node))
    }

    /// Ends everything inside `scope` (the whole instance for `None`): open
    /// tasks and waiting timers are cancelled, joins emptied, incidents
    /// resolved. The caller drops the queued tokens.
    fn terminate(&self, w: &mut Work, scope: Option<&str>) {
        let within = |node: &str| scope.is_none_or(|s| self.model.is_within(node, s));
        let tasks: Vec<Made<TaskId>> = w.tasks.iter().filter(|t| within(&t.step)).map(|t| t.made).collect();
        for t in tasks {
            w.cancel_task(t);
        }
        let timers: Vec<Made<TimerId>> = w.timers.iter().filter(|t| within(&t.node)).map(|t| t.made).collect();
        for t in timers {
            w.cancel_timer(t);
        }
        w.state.joins.retain(|join, _| !within(join));
        let (ended, kept): (Vec<Stuck>, Vec<Stuck>) =
            std::mem::take(&mut w.state.stuck).into_iter().partition(|s| within(&s.node));
        w.state.stuck = kept;
        w.effects.extend(ended.into_iter().map(|s| Effect::IncidentResolved { node: s.node }));
    }

    fn raise(&self, w: &mut Work, node: &str, message: String) {
        w.state.stuck.push(Stuck { node: node.to_owned(), message: message.clone() });
        w.effects.push(Effect::IncidentRaised { node: node.to_owned(), message });
    }

    /// Sets the status after tokens moved: stuck → incident; no open task,
    /// no waiting timer catch event and nothing stuck → completed.
    fn settle(&self, w: &mut Work) {
        let alive = w.tasks.len() + w.timers.iter().filter(|t| t.task.is_none()).count();
        if alive == 0 && w.state.stuck.is_empty() && !w.state.joins.is_empty() {
            // Nothing can move any more, yet tokens wait at a join: the model
            // joins branches that were never all taken. Say so; don't pretend
            // the instance finished.
            let waiting: Vec<(String, Vec<String>)> = w
                .state
                .joins
                .iter()
                .map(|(join, arrived)| {
                    let missing = self
                        .model
                        .incoming(join)
                        .filter(|f| !arrived.contains_key(&f.id))
                        .map(|f| format!("'{}'", f.id))
                        .collect();
                    (join.clone(), missing)
                })
                .collect();
            for (node, missing) in waiting {
                let message = format!(
                    "parallel join '{node}' waits for flow {}, but no branch that leads there is active",
                    missing.join(", ")
                );
                self.raise(w, &node, message);
            }
        }
        if !w.state.stuck.is_empty() {
            w.state.status = InstanceStatus::Incident;
        } else if alive == 0 {
            w.state.status = InstanceStatus::Completed;
            w.effects.push(Effect::InstanceCompleted);
        } else {
            w.state.status = InstanceStatus::Running;
        }
    }
}

/// A task or timer that existed before the operation (by its id), or that
/// the operation makes (by the index of the effect that makes it, so that
/// ending it again can leave that effect out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made<Id> {
    Before(Id),
    Now(usize),
}

/// An open task while an operation runs.
struct LiveTask {
    step: String,
    made: Made<TaskId>,
}

/// A waiting timer while an operation runs.
struct LiveTimer {
    node: String,
    /// The task a boundary timer is attached to.
    task: Option<Made<TaskId>>,
    made: Made<TimerId>,
}

/// One operation in progress: the state it moves, the effects so far, and
/// what is open or waiting now.
struct Work {
    state: InstanceState,
    effects: Vec<Effect>,
    /// Effects left out: tasks and timers made and ended within the operation.
    undone: BTreeSet<usize>,
    tasks: Vec<LiveTask>,
    timers: Vec<LiveTimer>,
}

impl Work {
    fn new(state: &InstanceState, open: &[OpenTask]) -> Self {
        Work {
            state: state.clone(),
            effects: Vec::new(),
            undone: BTreeSet::new(),
            tasks: open.iter().map(|t| LiveTask { step: t.step.clone(), made: Made::Before(t.id) }).collect(),
            timers: state
                .timers
                .iter()
                .map(|t| LiveTimer { node: t.node.clone(), task: t.task.map(Made::Before), made: Made::Before(t.id) })
                .collect(),
        }
    }

    fn has_task(&self, id: TaskId) -> bool {
        self.tasks.iter().any(|t| t.made == Made::Before(id))
    }

    fn has_timer(&self, id: TimerId) -> bool {
        self.timers.iter().any(|t| t.made == Made::Before(id))
    }

    /// A task ended (completed or cancelled): its boundary timers are cancelled.
    fn end_task(&mut self, task: Made<TaskId>) {
        self.tasks.retain(|t| t.made != task);
        let timers: Vec<Made<TimerId>> = self.timers.iter().filter(|t| t.task == Some(task)).map(|t| t.made).collect();
        for t in timers {
            self.cancel_timer(t);
        }
    }

    fn cancel_task(&mut self, task: Made<TaskId>) {
        match task {
            Made::Before(id) => self.effects.push(Effect::TaskCancelled { task: id }),
            Made::Now(i) => {
                self.undone.insert(i);
            }
        }
        self.end_task(task);
    }

    fn cancel_timer(&mut self, timer: Made<TimerId>) {
        self.timers.retain(|t| t.made != timer);
        match timer {
            Made::Before(id) => self.effects.push(Effect::TimerCancelled { timer: id }),
            Made::Now(i) => {
                self.undone.insert(i);
            }
        }
    }

    fn finish(self) -> Transition {
        let undone = self.undone;
        let effects =
            self.effects.into_iter().enumerate().filter(|(i, _)| !undone.contains(i)).map(|(_, e)| e).collect();
        Transition { state: self.state, effects }
    }
}

/// Applies parsed input, recording changes; returns the changed keys.
fn apply_data(
    state: &mut InstanceState,
    parsed: BTreeMap<String, Option<Value>>,
    effects: &mut Vec<Effect>,
) -> BTreeSet<String> {
    let mut changed = BTreeSet::new();
    for (key, new) in parsed {
        let old = state.data.get(&key).cloned();
        if old == new {
            continue;
        }
        match &new {
            Some(v) => state.data.insert(key.clone(), v.clone()),
            None => state.data.remove(&key),
        };
        changed.insert(key.clone());
        effects.push(Effect::DataChanged { key, old, new });
    }
    changed
}

#[cfg(test)]
mod tests;
