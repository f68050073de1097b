#![forbid(unsafe_code)]
//! Reads BPMN 2.0 XML into flowcal's [`ProcessModel`]: the subset flowcal runs
//! (startEvent, endEvent, userTask, exclusiveGateway, parallelGateway,
//! sequenceFlow, lanes as roles) plus the `flowcal:` extension (time zone,
//! data items, deadline rules, assignees).
//!
//! A model is either read whole and checked, or refused with the line and
//! column of the element at fault. This crate must never run part of a model
//! it does not understand: every BPMN element outside the subset is refused,
//! while drawing (DI), documentation and other vendors' extensions are ignored.
//! It does no I/O; the caller reads the file and enforces its size limit.

mod read;
mod validate;

#[cfg(test)]
mod tests;

use flowcal_domain::ProcessModel;

/// The BPMN 2.0 model namespace, whatever prefix a file gives it.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// flowcal's own extension namespace (prefix `flowcal` by convention).
pub const FLOWCAL_NS: &str = "https://flowcal.dev/schema/1";

/// Why a BPMN file was refused, and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct BpmnError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A position in the XML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub(crate) fn error(self, message: impl Into<String>) -> BpmnError {
        BpmnError { line: self.line, column: self.column, message: message.into() }
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
