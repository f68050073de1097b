//! Process models: what a BPMN file becomes once flowcal has read it.

use crate::condition::Condition;
use crate::deadline::DeadlineRule;
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
    Start,
    End,
    UserTask {
        deadline: DeadlineRule,
        assignee: AssigneeRule,
    },
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
    pub nodes: Vec<Node>,
    pub flows: Vec<Flow>,
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

    pub fn start(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| matches!(n.kind, NodeKind::Start))
    }

    /// The user tasks, in document order.
    pub fn user_tasks(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| matches!(n.kind, NodeKind::UserTask { .. }))
    }
}
