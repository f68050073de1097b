//! Process models: what a BPMN file becomes once flowcal has read it.

use crate::condition::Condition;
use crate::deadline::DeadlineRule;
use crate::timer::TimerSpec;
use crate::workcal::Roll;
use serde::{Deserialize, Serialize};

/// The type of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    String,
    Text,
    Number,
    Boolean,
    Date,
    #[serde(rename = "datetime")]
    DateTime,
    User,
    Select,
}

impl DataType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "text" => Self::Text,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            "user" => Self::User,
            "select" => Self::Select,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Text => "text",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::User => "user",
            Self::Select => "select",
        }
    }
}

/// A data item declared by a process (`flowcal:dataItem`), or implied by a
/// gateway condition that uses an undeclared variable (`implicit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataItemDef {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// A value must be given when the instance starts.
    pub required: bool,
    /// The choices of a `select` item.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub implicit: bool,
}

/// Who a user task goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeRule {
    /// The user who started the instance.
    Starter,
    /// A named user.
    User(String),
    /// The user named by a `user` data item.
    Item(String),
    /// Any member of a role (a lane's name) may claim it.
    Role(String),
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// The start event of the process, or of an embedded sub-process (its
    /// `scope`). The process's own start may have a timer (`ProcessModel::start_timer`).
    Start,
    /// An end event: ends its token. When it is the last token of an
    /// embedded sub-process, the sub-process goes on along its outgoing flow.
    End,
    /// An end event with `terminateEventDefinition`: ends every token of its
    /// scope (the process, or the embedded sub-process it is in) at once.
    Terminate,
    UserTask {
        deadline: DeadlineRule,
        assignee: AssigneeRule,
        /// The work calendar the deadline counts in (`flowcal:workCalendar`
        /// on the task, else on its lane, else on the process); `None`:
        /// calendar days in the model's zone.
        calendar: Option<String>,
        /// Where a date deadline that falls on a day off goes
        /// (`flowcal:deadlineRoll`; only with a calendar).
        roll: Roll,
    },
    /// A step that runs nothing: `bpmn:task` and `bpmn:manualTask` without an
    /// assignee or lane. The token passes straight through.
    Pass,
    /// `bpmn:intermediateThrowEvent` without a definition: the token passes,
    /// and the instance's history records that the milestone was reached.
    Milestone,
    /// `bpmn:intermediateCatchEvent` with a timer: the token waits until it fires.
    TimerCatch {
        timer: TimerSpec,
    },
    /// `bpmn:boundaryEvent` with a timer, on the user task `attached_to`.
    /// Interrupting (`cancel`), it cancels the task and the process goes on
    /// from here; non-interrupting, a token leaves from here and the task stays.
    BoundaryTimer {
        attached_to: String,
        cancel: bool,
        timer: TimerSpec,
    },
    /// An embedded `bpmn:subProcess`: a token entering it starts at its inner
    /// start event (the node whose `scope` is this one and whose kind is
    /// `Start`); it leaves along the sub-process's outgoing flow once every
    /// token inside has ended.
    SubProcess,
    /// `default` is the id of the flow taken when no condition holds.
    Exclusive {
        default: Option<String>,
    },
    Parallel,
}

/// A flow node, with where it was written (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// The embedded sub-process this node is directly inside; `None` at the
    /// process's top level.
    pub scope: Option<String>,
    pub line: u32,
    pub column: u32,
}

/// A sequence flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub source: String,
    pub target: String,
    pub condition: Option<Condition>,
}

/// A parsed, checked process model. Nodes and flows keep document order, which
/// is the order in which a gateway's conditions are tried.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessModel {
    /// The BPMN process id: models are versioned by it.
    pub key: String,
    pub name: String,
    /// IANA zone name; `None` means the server's configured zone.
    pub time_zone: Option<String>,
    pub data_items: Vec<DataItemDef>,
    /// A timer on the process's start event: instances are started when it
    /// fires (they may still be started by hand).
    pub start_timer: Option<TimerSpec>,
    pub nodes: Vec<Node>,
    pub flows: Vec<Flow>,
    /// Every `flowcal:workCalendar` the file names, with where: a model may
    /// only be stored when each names a known calendar.
    pub calendar_refs: Vec<CalendarRef>,
    /// What the process does when people delete or move its entries in
    /// their calendars (`flowcal:calendarEdits`); unnamed: the configuration.
    pub calendar_edits: crate::calendar_edits::ProcessEdits,
}

/// A work calendar named in a model, and where (1-based line and column of
/// the element that names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRef {
    pub name: String,
    pub line: u32,
    pub column: u32,
}

impl ProcessModel {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn item(&self, key: &str) -> Option<&DataItemDef> {
        self.data_items.iter().find(|i| i.key == key)
    }

    pub fn outgoing<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows.iter().filter(move |f| f.source == node)
    }

    pub fn incoming<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows.iter().filter(move |f| f.target == node)
    }

    /// The process's own start event (not a sub-process's).
    pub fn start(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| matches!(n.kind, NodeKind::Start) && n.scope.is_none())
    }

    /// The start event inside the embedded sub-process `scope`.
    pub fn scope_start(&self, scope: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| matches!(n.kind, NodeKind::Start) && n.scope.as_deref() == Some(scope))
    }

    /// Whether `node` lies inside the sub-process `scope`, at any depth.
    pub fn is_within(&self, node: &str, scope: &str) -> bool {
        let mut at = self.node(node).and_then(|n| n.scope.as_deref());
        // Depth is bounded by the XML reader's nesting limit; guard anyway.
        for _ in 0..self.nodes.len() {
            match at {
                None => return false,
                Some(s) if s == scope => return true,
                Some(s) => at = self.node(s).and_then(|n| n.scope.as_deref()),
            }
        }
        false
    }

    /// The timers on the boundary of the step `task`.
    pub fn boundary_timers<'a>(&'a self, task: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(move |n| matches!(&n.kind, NodeKind::BoundaryTimer { attached_to, .. } if attached_to == task))
    }

    /// The work calendars the model's deadlines count in, each once.
    pub fn work_calendars(&self) -> std::collections::BTreeSet<&str> {
        self.calendar_refs.iter().map(|r| r.name.as_str()).collect()
    }

    /// The user tasks, in document order.
    pub fn user_tasks(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| matches!(n.kind, NodeKind::UserTask { .. }))
    }
}
