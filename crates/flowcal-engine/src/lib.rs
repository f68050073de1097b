//! The process engine: moves tokens through a process model.
//!
//! Every operation is a pure function from the current instance state (and the
//! open tasks) to a new state plus a list of [`Effect`]s — tasks to create,
//! deadlines that changed, data that changed, incidents. The store applies a
//! transition and records one domain event per effect in the same database
//! transaction. This crate must never do I/O or read the clock.
#![forbid(unsafe_code)]

use flowcal_domain::model::{AssigneeRule, NodeKind};
use flowcal_domain::user::parse_time_zone;
use flowcal_domain::value::parse_data;
use flowcal_domain::{Data, Deadline, ProcessModel, TaskId, Value, ValueError};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

// The data the engine works on lives in the domain, so that the store can
// apply a transition without depending on the engine.
pub use flowcal_domain::instance::{
    Assignee, Effect, EngineError, InstanceState, InstanceStatus, Joins, OpenTask, Stuck, Transition,
};

/// Runs one model. Cheap to build.
#[derive(Debug)]
pub struct Engine<'m> {
    model: &'m ProcessModel,
    zone: TimeZone,
    zone_name: String,
}

/// A token that passes one node this often within one step is in a loop
/// that reaches no task (the BPMN reader refuses such loops; this is a guard).
const MAX_VISITS: usize = 1_000;

impl<'m> Engine<'m> {
    /// `default_zone` is used when the model names no zone.
    pub fn new(model: &'m ProcessModel, default_zone: &str) -> Result<Self, EngineError> {
        let zone_name = model.time_zone.clone().unwrap_or_else(|| default_zone.to_owned());
        let zone = parse_time_zone(&zone_name).map_err(EngineError::Zone)?;
        Ok(Self { model, zone, zone_name })
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
        let mut state = InstanceState {
            status: InstanceStatus::Running,
            data: Data::new(),
            joins: BTreeMap::new(),
            stuck: vec![],
            timers: vec![],
        };
        let mut effects = Vec::new();
        apply_data(&mut state, parsed, &mut effects);
        let start = self.model.start().ok_or(EngineError::NoStart)?;
        let mut created = 0;
        self.advance(&mut state, &mut effects, vec![(start.id.as_str(), None)], starter, now, &mut created);
        self.settle(&mut state, &mut effects, created);
        Ok(Transition { state, effects })
    }

    /// Completes an open task with data, and moves on.
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
        let mut state = state.clone();
        let mut effects = Vec::new();
        let changed = apply_data(&mut state, parsed, &mut effects);
        effects.push(Effect::TaskCompleted { task });
        let others: Vec<&OpenTask> = open.iter().filter(|t| t.id != task).collect();
        self.follow_changed_items(&state, &others, &changed, &mut effects);
        let next: Vec<(&str, Option<&str>)> =
            self.model.outgoing(&done.step).map(|f| (f.target.as_str(), Some(f.id.as_str()))).collect();
        let mut created = others.len();
        self.advance(&mut state, &mut effects, next, starter, now, &mut created);
        self.settle(&mut state, &mut effects, created);
        Ok(Transition { state, effects })
    }

    /// Changes data outside a task (an administrator's correction); open
    /// tasks whose deadline depends on a changed item get a new deadline.
    pub fn set_data(
        &self,
        state: &InstanceState,
        open: &[OpenTask],
        input: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let parsed = parse_data(&self.model.data_items, input).map_err(EngineError::InvalidData)?;
        let mut state = state.clone();
        let mut effects = Vec::new();
        let changed = apply_data(&mut state, parsed, &mut effects);
        let open: Vec<&OpenTask> = open.iter().collect();
        self.follow_changed_items(&state, &open, &changed, &mut effects);
        Ok(Transition { state, effects })
    }

    /// Tries stuck gateways again with the current data.
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
        let mut state = state.clone();
        let mut effects = Vec::new();
        // Only gateways can be retried; a join that waits for branches that
        // ended elsewhere stays stuck (the instance can be cancelled).
        let (stuck, waiting): (Vec<Stuck>, Vec<Stuck>) = std::mem::take(&mut state.stuck)
            .into_iter()
            .partition(|s| matches!(self.model.node(&s.node).map(|n| &n.kind), Some(NodeKind::Exclusive { .. })));
        state.stuck = waiting;
        for s in &stuck {
            effects.push(Effect::IncidentResolved { node: s.node.clone() });
        }
        let mut created = open.len();
        let again: Vec<(&str, Option<&str>)> = stuck.iter().map(|s| (s.node.as_str(), None)).collect();
        self.advance(&mut state, &mut effects, again, starter, now, &mut created);
        // A gateway that is still stuck raised a fresh incident: drop the resolve
        // and re-raise pair so the history says what happened.
        effects.retain(|e| match e {
            Effect::IncidentResolved { node } => !state.stuck.iter().any(|s| &s.node == node),
            _ => true,
        });
        effects.retain(|e| match e {
            Effect::IncidentRaised { node, .. } => !stuck.iter().any(|s| &s.node == node),
            _ => true,
        });
        self.settle(&mut state, &mut effects, created);
        Ok(Transition { state, effects })
    }

    /// Cancels the instance and its open tasks.
    pub fn cancel(&self, state: &InstanceState, open: &[OpenTask]) -> Result<Transition, EngineError> {
        self.ensure_active(state)?;
        let mut state = state.clone();
        let mut effects: Vec<Effect> = open.iter().map(|t| Effect::TaskCancelled { task: t.id }).collect();
        state.status = InstanceStatus::Cancelled;
        state.stuck.clear();
        state.joins.clear();
        effects.push(Effect::InstanceCancelled);
        Ok(Transition { state, effects })
    }

    /// Placeholder until timers run.
    pub fn fire_timer(
        &self,
        _state: &InstanceState,
        _open: &[OpenTask],
        timer: flowcal_domain::TimerId,
        _starter: &str,
        _now: Timestamp,
    ) -> Result<Transition, EngineError> {
        Err(EngineError::TimerNotWaiting(timer))
    }

    /// Placeholder until timers run.
    pub fn start_timer_due(&self, _armed_at: Timestamp, _after: Option<Timestamp>) -> Option<Timestamp> {
        None
    }

    /// The deadline of a step started at `started`.
    pub fn deadline_for(&self, step: &str, started: Timestamp, data: &Data) -> Option<Deadline> {
        match &self.model.node(step)?.kind {
            NodeKind::UserTask { deadline, .. } => {
                // Out-of-range arithmetic leaves the task without a deadline
                // rather than failing the whole step.
                deadline.compute(started, &self.zone, &self.zone_name, data).ok().flatten()
            }
            _ => None,
        }
    }

    fn ensure_active(&self, state: &InstanceState) -> Result<(), EngineError> {
        match state.status {
            InstanceStatus::Running | InstanceStatus::Incident => Ok(()),
            s => Err(EngineError::NotRunning(s)),
        }
    }

    /// Open tasks follow changed data items: a deadline computed from an item
    /// moves with it, and a task assigned through a `user` item (`item:KEY`)
    /// goes to the user it names now. A cleared item leaves the task where it
    /// is: someone must have it.
    fn follow_changed_items(
        &self,
        state: &InstanceState,
        open: &[&OpenTask],
        changed: &BTreeSet<String>,
        effects: &mut Vec<Effect>,
    ) {
        if changed.is_empty() {
            return;
        }
        for t in open {
            let Some(NodeKind::UserTask { deadline, assignee, .. }) = self.model.node(&t.step).map(|n| &n.kind) else {
                continue;
            };
            if deadline.item().is_some_and(|i| changed.contains(i)) {
                let new = self.deadline_for(&t.step, t.started_at, &state.data);
                if new != t.deadline {
                    effects.push(Effect::DeadlineChanged { task: t.id, deadline: new });
                }
            }
            if let AssigneeRule::Item(key) = assignee {
                if let (true, Some(Value::User(login))) = (changed.contains(key), state.data.get(key)) {
                    effects.push(Effect::TaskReassigned { task: t.id, assignee: login.clone() });
                }
            }
        }
    }

    /// Moves tokens until each waits at a task, a join or a stuck gateway, or
    /// is consumed by an end event. A token is a node and the flow it came by
    /// (none for the start event and for a retried gateway). `open` counts
    /// open tasks.
    fn advance(
        &self,
        state: &mut InstanceState,
        effects: &mut Vec<Effect>,
        start: Vec<(&str, Option<&str>)>,
        starter: &str,
        now: Timestamp,
        open: &mut usize,
    ) {
        let mut queue: VecDeque<(&str, Option<&str>)> = start.into_iter().collect();
        let mut visits: BTreeMap<&str, usize> = BTreeMap::new();
        let next = |id: &'m str| self.model.outgoing(id).map(|f| (f.target.as_str(), Some(f.id.as_str())));
        while let Some((id, via)) = queue.pop_front() {
            let Some(node) = self.model.node(id) else { continue };
            let seen = visits.entry(id).or_default();
            *seen += 1;
            if *seen > MAX_VISITS {
                // A loop that reaches no task: stop this token only.
                if !state.stuck.iter().any(|s| s.node == id) {
                    self.raise(state, effects, id, "the process loops here without reaching a task".into());
                }
                continue;
            }
            match &node.kind {
                NodeKind::Start | NodeKind::Pass | NodeKind::Milestone => queue.extend(next(&node.id)),
                NodeKind::Terminate
                | NodeKind::TimerCatch { .. }
                | NodeKind::BoundaryTimer { .. }
                | NodeKind::SubProcess => {}
                NodeKind::End => {}
                NodeKind::UserTask { assignee, .. } => {
                    let assignee = match assignee {
                        AssigneeRule::Starter => Assignee::User(starter.to_owned()),
                        AssigneeRule::User(login) => Assignee::User(login.clone()),
                        AssigneeRule::Role(role) => Assignee::Role(role.clone()),
                        // An empty user item leaves the task with the starter, who can fill it in.
                        AssigneeRule::Item(key) => match state.data.get(key) {
                            Some(Value::User(login)) => Assignee::User(login.clone()),
                            _ => Assignee::User(starter.to_owned()),
                        },
                    };
                    let deadline = self.deadline_for(id, now, &state.data);
                    effects.push(Effect::TaskCreated {
                        step: id.to_owned(),
                        name: node.name.clone(),
                        assignee,
                        deadline,
                    });
                    *open += 1;
                }
                NodeKind::Exclusive { default } => {
                    let outs: Vec<_> = self.model.outgoing(&node.id).collect();
                    // Conditions in document order; a flow without one always holds;
                    // the default flow only when nothing else does.
                    let chosen = outs
                        .iter()
                        .filter(|f| Some(&f.id) != default.as_ref())
                        .find(|f| f.condition.as_ref().is_none_or(|c| c.eval(&state.data)))
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
                            self.raise(state, effects, id, message);
                        }
                    }
                }
                NodeKind::Parallel => {
                    let incoming: Vec<&str> = self.model.incoming(&node.id).map(|f| f.id.as_str()).collect();
                    if incoming.len() > 1 {
                        let waiting = state.joins.entry(id.to_owned()).or_default();
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
                            state.joins.remove(id);
                        }
                    }
                    queue.extend(next(&node.id));
                }
            }
        }
    }

    fn raise(&self, state: &mut InstanceState, effects: &mut Vec<Effect>, node: &str, message: String) {
        state.stuck.push(Stuck { node: node.to_owned(), message: message.clone() });
        effects.push(Effect::IncidentRaised { node: node.to_owned(), message });
    }

    /// Sets the status after tokens moved: stuck → incident; no open task and
    /// nothing stuck → completed.
    fn settle(&self, state: &mut InstanceState, effects: &mut Vec<Effect>, open: usize) {
        if open == 0 && state.stuck.is_empty() && !state.joins.is_empty() {
            // Nothing can move any more, yet tokens wait at a join: the model
            // joins branches that were never all taken. Say so; don't pretend
            // the instance finished.
            let waiting: Vec<(String, Vec<String>)> = state
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
                self.raise(state, effects, &node, message);
            }
        }
        if !state.stuck.is_empty() {
            state.status = InstanceStatus::Incident;
        } else if open == 0 {
            state.status = InstanceStatus::Completed;
            effects.push(Effect::InstanceCompleted);
        } else {
            state.status = InstanceStatus::Running;
        }
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
