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
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where an instance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Running,
    /// A token is stuck at a gateway; an administrator must fix the data and retry.
    Incident,
    Completed,
    Cancelled,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Incident => "incident",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Self::Running,
            "incident" => Self::Incident,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// A token that could not go on: no condition of an exclusive gateway held
/// and it has no default flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stuck {
    pub node: String,
    pub message: String,
}

/// The engine's view of an instance, apart from its tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceState {
    pub status: InstanceStatus,
    pub data: Data,
    /// Tokens that arrived at a parallel join and wait for the others.
    pub joins: BTreeMap<String, u32>,
    pub stuck: Vec<Stuck>,
}

/// An open task of the instance.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTask {
    pub id: TaskId,
    pub step: String,
    pub started_at: Timestamp,
    pub deadline: Option<Deadline>,
}

/// Who a new task goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    User(String),
    Role(String),
}

/// A consequence of a transition, applied (and recorded as a domain event) by the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    TaskCreated { step: String, name: String, assignee: Assignee, deadline: Option<Deadline> },
    TaskCompleted { task: TaskId },
    TaskCancelled { task: TaskId },
    DeadlineChanged { task: TaskId, deadline: Option<Deadline> },
    DataChanged { key: String, old: Option<Value>, new: Option<Value> },
    IncidentRaised { node: String, message: String },
    IncidentResolved { node: String },
    InstanceCompleted,
    InstanceCancelled,
}

/// The result of an operation: the new state and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: InstanceState,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("invalid data: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidData(Vec<ValueError>),
    #[error("the instance is {}, not running", .0.as_str())]
    NotRunning(InstanceStatus),
    #[error("task {0} is not open")]
    TaskNotOpen(TaskId),
    #[error("the model's time zone is unusable: {0}")]
    Zone(String),
    #[error("the model has no start event")]
    NoStart,
}

/// Runs one model. Cheap to build.
#[derive(Debug)]
pub struct Engine<'m> {
    model: &'m ProcessModel,
    zone: TimeZone,
    zone_name: String,
}

/// Tokens moved through gateways without reaching a task in this many steps
/// mean a loop with no task on it.
const MAX_STEPS: usize = 10_000;

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
            return Err(EngineError::InvalidData(missing));
        }
        let mut state =
            InstanceState { status: InstanceStatus::Running, data: Data::new(), joins: BTreeMap::new(), stuck: vec![] };
        let mut effects = Vec::new();
        apply_data(&mut state, parsed, &mut effects);
        let start = self.model.start().ok_or(EngineError::NoStart)?;
        let mut created = 0;
        self.advance(&mut state, &mut effects, vec![start.id.as_str()], starter, now, &mut created);
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
        self.recompute_deadlines(&state, &others, &changed, &mut effects);
        let next: Vec<&str> = self.model.outgoing(&done.step).map(|f| f.target.as_str()).collect();
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
        self.recompute_deadlines(&state, &open, &changed, &mut effects);
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
        if state.status != InstanceStatus::Incident {
            return Err(EngineError::NotRunning(state.status));
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
        self.advance(
            &mut state,
            &mut effects,
            stuck.iter().map(|s| s.node.as_str()).collect(),
            starter,
            now,
            &mut created,
        );
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

    fn recompute_deadlines(
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
            let depends = match self.model.node(&t.step).map(|n| &n.kind) {
                Some(NodeKind::UserTask { deadline, .. }) => deadline.item().is_some_and(|i| changed.contains(i)),
                _ => false,
            };
            if depends {
                let new = self.deadline_for(&t.step, t.started_at, &state.data);
                if new != t.deadline {
                    effects.push(Effect::DeadlineChanged { task: t.id, deadline: new });
                }
            }
        }
    }

    /// Moves tokens from the given nodes until each waits at a task, a join or
    /// a stuck gateway, or is consumed by an end event. `open` counts open tasks.
    fn advance(
        &self,
        state: &mut InstanceState,
        effects: &mut Vec<Effect>,
        start: Vec<&str>,
        starter: &str,
        now: Timestamp,
        open: &mut usize,
    ) {
        let mut queue: VecDeque<&str> = start.into_iter().collect();
        let mut steps = 0;
        while let Some(id) = queue.pop_front() {
            steps += 1;
            let Some(node) = self.model.node(id) else { continue };
            if steps > MAX_STEPS {
                self.raise(state, effects, id, "the process loops without reaching a task".into());
                break;
            }
            match &node.kind {
                NodeKind::Start => queue.extend(self.model.outgoing(id).map(|f| f.target.as_str())),
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
                    let outs: Vec<_> = self.model.outgoing(id).collect();
                    if outs.len() <= 1 {
                        queue.extend(outs.iter().map(|f| f.target.as_str()));
                        continue;
                    }
                    let chosen = outs
                        .iter()
                        .filter(|f| Some(&f.id) != default.as_ref())
                        .find(|f| f.condition.as_ref().is_some_and(|c| c.eval(&state.data)))
                        .or_else(|| outs.iter().find(|f| Some(&f.id) == default.as_ref()));
                    match chosen {
                        Some(f) => queue.push_back(&f.target),
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
                    let incoming = self.model.incoming(id).count() as u32;
                    if incoming > 1 {
                        let arrived = state.joins.get(id).copied().unwrap_or(0) + 1;
                        if arrived < incoming {
                            state.joins.insert(id.to_owned(), arrived);
                            continue;
                        }
                        state.joins.remove(id);
                    }
                    queue.extend(self.model.outgoing(id).map(|f| f.target.as_str()));
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
            let waiting: Vec<(String, u32)> = state.joins.iter().map(|(k, v)| (k.clone(), *v)).collect();
            for (node, arrived) in waiting {
                let incoming = self.model.incoming(&node).count();
                let message = format!(
                    "parallel join '{node}' waits for {} more of its {incoming} incoming flows, but no other branch is active",
                    incoming.saturating_sub(arrived as usize)
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
