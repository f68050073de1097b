//! A process instance as the engine moves it and the store keeps it: its
//! state, its open tasks, and a transition with its effects.
//!
//! Plain data: the engine makes transitions, the store applies them. Both
//! name these types; neither needs the other to do so.

use crate::{Data, DataErrors, Deadline, TaskId, TimerId, Value};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Open,
    Done,
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "done" => Self::Done,
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
    /// Tokens waiting at parallel joins: join → incoming flow → tokens
    /// arrived by it. A join fires when every incoming flow has one.
    pub joins: Joins,
    pub stuck: Vec<Stuck>,
    /// The instance's waiting timers: tokens at timer catch events and the
    /// boundary timers of open tasks. The store keeps them in a table of
    /// their own (they are leased and fired from there) and fills this in
    /// when it loads the instance; the engine only reads it and changes
    /// timers through effects.
    pub timers: Vec<OpenTimer>,
}

/// A waiting timer of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTimer {
    pub id: TimerId,
    /// The timer event: a `TimerCatch` or `BoundaryTimer` node.
    pub node: String,
    /// The task a boundary timer is attached to.
    pub task: Option<TaskId>,
    /// When it started counting (the task or the wait began).
    pub armed_at: Timestamp,
    /// When it fires next.
    pub due: Timestamp,
    /// How often it has fired (cycles fire more than once).
    pub fired: u32,
}

/// Tokens waiting at parallel joins, by join and incoming flow.
pub type Joins = BTreeMap<String, BTreeMap<String, u32>>;

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
/// `TaskReassigned`: the `user` item an open task's assignee comes from names
/// this user now (the store skips it when they have the task already).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    TaskCreated {
        step: String,
        name: String,
        assignee: Assignee,
        deadline: Option<Deadline>,
        /// The work calendar the deadline was computed in.
        calendar: Option<String>,
    },
    TaskCompleted {
        task: TaskId,
    },
    TaskCancelled {
        task: TaskId,
    },
    /// An open task's deadline moved: the item it comes from changed, or
    /// (with `reason`) the work calendar it counts in did.
    DeadlineChanged {
        task: TaskId,
        deadline: Option<Deadline>,
        calendar: Option<String>,
        reason: Option<String>,
    },
    TaskReassigned {
        task: TaskId,
        assignee: String,
    },
    DataChanged {
        key: String,
        old: Option<Value>,
        new: Option<Value>,
    },
    /// A timer starts waiting at `node`. With `boundary`, it is attached to
    /// `task`, or without one to the task created by the nearest
    /// `TaskCreated` before it in the same transition (boundary timers start
    /// with their task; a deadline timer starts later on an open task whose
    /// deadline appears only then).
    TimerStarted {
        node: String,
        boundary: bool,
        task: Option<TaskId>,
        due: Timestamp,
    },
    /// A waiting timer fired: with `next`, a cycle waits again until then;
    /// without, the timer is done.
    TimerFired {
        timer: TimerId,
        node: String,
        next: Option<Timestamp>,
    },
    /// A waiting timer's date changed (the item or deadline it counts from moved).
    TimerMoved {
        timer: TimerId,
        due: Timestamp,
    },
    /// A waiting timer stops without firing: its task ended, its scope was
    /// terminated, or the instance was cancelled.
    TimerCancelled {
        timer: TimerId,
    },
    /// A token passed a milestone (`intermediateThrowEvent` without definition).
    MilestoneReached {
        node: String,
        name: String,
    },
    IncidentRaised {
        node: String,
        message: String,
    },
    IncidentResolved {
        node: String,
    },
    InstanceCompleted,
    InstanceCancelled,
}

/// The result of an operation: the new state and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: InstanceState,
    pub effects: Vec<Effect>,
}

/// Why the engine refused an operation on an instance.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("invalid data: {0}")]
    InvalidData(DataErrors),
    #[error("the instance is {}, not running", .0.as_str())]
    NotRunning(InstanceStatus),
    #[error("task {0} is not open")]
    TaskNotOpen(TaskId),
    #[error("the model's time zone is unusable: {0}")]
    Zone(String),
    #[error("the model has no start event")]
    NoStart,
    #[error("the instance has no incident to retry")]
    NoIncident,
    #[error("timer {0} is not waiting")]
    TimerNotWaiting(TimerId),
}
