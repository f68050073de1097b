#![forbid(unsafe_code)]
//! Reads BPMN 2.0 XML into flowcal's [`ProcessModel`]: the subset flowcal runs
//! (start, end and terminate end events, user tasks, tasks and manual tasks as
//! pass-through steps or user tasks, intermediate throw events as milestones,
//! timer start, catch and boundary events, embedded sub-processes, exclusive
//! and parallel gateways, sequence flows, lanes and resource roles as
//! assignees) plus the `flowcal:` extension (time zone, data items, deadline
//! rules, assignees, deadline timers).
//!
//! A model is either read whole and checked, or refused with the line and
//! column of the element at fault; when elements outside the subset are the
//! reason, the refusal lists every one of them. This crate must never run part
//! of a model it does not understand: every BPMN element outside the subset is
//! refused, while drawing (DI), documentation, artifacts, data declarations
//! without behaviour and other vendors' extensions are ignored.
//! It does no I/O; the caller reads the file and enforces its size limit.

mod assignee;
pub mod diagram;
mod read;
mod scan;
mod timers;
mod validate;
mod workcal;

#[cfg(test)]
mod tests;

use flowcal_domain::ProcessModel;

/// The BPMN 2.0 model namespace, whatever prefix a file gives it.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// flowcal's own extension namespace (prefix `flowcal` by convention).
pub const FLOWCAL_NS: &str = "https://flowcal.dev/schema/1";

/// Why a BPMN file was refused, and where (1-based line and column).
///
/// When the process uses elements flowcal does not run, `unsupported` lists
/// every one of them in document order, and `line`/`column` are the first
/// one's; for any other reason it is empty and the position is the problem's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct BpmnError {
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub unsupported: Vec<Unsupported>,
}

/// An element of the process that flowcal does not run, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The element as `bpmn:` and its local name, whatever prefix the file
    /// uses (`bpmn:serviceTask`); an event sub-process is
    /// `bpmn:subProcess triggeredByEvent="true"`, and another vendor's element
    /// that carries behaviour keeps its own prefix (`activiti:value`).
    pub element: String,
    pub line: u32,
    pub column: u32,
}

/// A position in the XML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub(crate) fn error(self, message: impl Into<String>) -> BpmnError {
        BpmnError { line: self.line, column: self.column, message: message.into(), unsupported: Vec::new() }
    }
}

/// How much XML a model may be: flowcal-xml's defaults (nesting depth 256,
/// 256 attributes per element, no DTD), far above what modelers write.
pub const XML_LIMITS: flowcal_xml::Limits = flowcal_xml::Limits::DEFAULT;

/// Reads and checks a BPMN 2.0 document. `default_zone` is the server's
/// configured IANA zone, used when the process has no `flowcal:timeZone`.
///
/// Runs in time linear in the text (bounded by [`XML_LIMITS`]) without deep
/// recursion; async callers should still run it on a blocking thread.
pub fn parse(xml: &str, default_zone: Option<&str>) -> Result<ProcessModel, BpmnError> {
    // The XML door refuses deep nesting, attribute bombs and DTDs (so no
    // entity expansion) before the parser sees the text.
    let doc = flowcal_xml::parse(xml, &XML_LIMITS).map_err(read::xml_error)?;
    let draft = read::read(&doc, default_zone)?;
    validate::validate(draft)
}
