//! Finds every element of the process that flowcal does not run, so that one
//! refusal names all of them, and the first misuse of flowcal's own extension.
//!
//! An unsupported element is listed once, with everything inside it (the
//! contents of a service task or an event sub-process are not listed again).
//! Elements that only draw, document or declare data are skipped whole; other
//! vendors' elements are skipped too, except an initial value given to a data
//! object, which an engine would act on.

use crate::read::{elements, Lines};
use crate::{BpmnError, Unsupported, BPMN_NS, FLOWCAL_NS};
use flowcal_xml::roxmltree::Node as XNode;

/// What flowcal runs, for the refusal's message.
pub(crate) const SUPPORTED: &str = "flowcal runs startEvent (also with a timer), endEvent (also with \
     terminateEventDefinition), userTask, task, manualTask, embedded subProcess, exclusiveGateway, \
     parallelGateway, intermediateThrowEvent without definition, intermediateCatchEvent with a timer, \
     boundaryEvent with a timer on a user task, and sequenceFlow";

/// How many unsupported elements a message names; the error lists them all.
const NAMED: usize = 10;

/// The events, for which event definitions they may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Event {
    Start,
    End,
    Throw,
    Catch,
    Boundary,
}

/// What an element is, which decides what may be inside it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Process,
    SubProcess,
    Event(Event),
    Task,
    Gateway,
    Flow,
    TimerDefinition,
    /// `terminateEventDefinition`: documentation and extensions only.
    Leaf,
    /// potentialOwner, humanPerformer, performer.
    ResourceRole,
    ResourceAssignment,
    DataAssociation,
    /// dataObject, property: data declarations.
    DataDeclaration,
}

/// What becomes of a BPMN element inside an element of a context.
enum Verdict {
    /// Read: look at what is inside.
    Enter(Context),
    /// Flow references, drawing, documentation and data without behaviour.
    Skip,
    Unsupported,
}

/// The elements that only draw, document or declare data, in a process or
/// an embedded sub-process.
const ARTIFACTS: [&str; 8] = [
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "category",
    "ioSpecification",
    "dataObjectReference",
    "dataStoreReference",
];

fn in_container(local: &str, child: XNode<'_, '_>, sub_process: bool) -> Verdict {
    match local {
        "startEvent" => Verdict::Enter(Context::Event(Event::Start)),
        "endEvent" => Verdict::Enter(Context::Event(Event::End)),
        "intermediateThrowEvent" => Verdict::Enter(Context::Event(Event::Throw)),
        "intermediateCatchEvent" => Verdict::Enter(Context::Event(Event::Catch)),
        "boundaryEvent" => Verdict::Enter(Context::Event(Event::Boundary)),
        "userTask" | "task" | "manualTask" => Verdict::Enter(Context::Task),
        "exclusiveGateway" | "parallelGateway" => Verdict::Enter(Context::Gateway),
        "sequenceFlow" => Verdict::Enter(Context::Flow),
        "subProcess" if child.attribute("triggeredByEvent").map(str::trim) == Some("true") => Verdict::Unsupported,
        "subProcess" => Verdict::Enter(Context::SubProcess),
        "dataObject" | "property" => Verdict::Enter(Context::DataDeclaration),
        _ if ARTIFACTS.contains(&local) => Verdict::Skip,
        "incoming" | "outgoing" if sub_process => Verdict::Skip,
        "dataInputAssociation" | "dataOutputAssociation" if sub_process => Verdict::Enter(Context::DataAssociation),
        _ => Verdict::Unsupported,
    }
}

fn verdict(context: Context, child: XNode<'_, '_>) -> Verdict {
    let local = child.tag_name().name();
    match (context, local) {
        (_, "documentation") => Verdict::Skip,
        (Context::Process, _) => in_container(local, child, false),
        (Context::SubProcess, _) => in_container(local, child, true),
        (Context::Event(_) | Context::Task | Context::Gateway, "incoming" | "outgoing") => Verdict::Skip,
        (Context::Event(event), "timerEventDefinition") => {
            if matches!(event, Event::Start | Event::Catch | Event::Boundary) {
                Verdict::Enter(Context::TimerDefinition)
            } else {
                Verdict::Unsupported
            }
        }
        (Context::Event(Event::End), "terminateEventDefinition") => Verdict::Enter(Context::Leaf),
        (Context::Event(_), "dataInput" | "dataOutput" | "inputSet" | "outputSet" | "property") => Verdict::Skip,
        (Context::Event(_) | Context::Task, "dataInputAssociation" | "dataOutputAssociation") => {
            Verdict::Enter(Context::DataAssociation)
        }
        (Context::Task, "ioSpecification") => Verdict::Skip,
        (Context::Task, "property") => Verdict::Enter(Context::DataDeclaration),
        (Context::Task, "potentialOwner" | "humanPerformer" | "performer") => Verdict::Enter(Context::ResourceRole),
        (Context::Flow, "conditionExpression") => Verdict::Skip,
        (Context::TimerDefinition, "timeDuration" | "timeDate" | "timeCycle") => Verdict::Skip,
        (Context::ResourceRole, "resourceRef") => Verdict::Skip,
        (Context::ResourceRole, "resourceAssignmentExpression") => Verdict::Enter(Context::ResourceAssignment),
        (Context::ResourceAssignment, "formalExpression" | "expression") => Verdict::Skip,
        (Context::DataAssociation, "sourceRef" | "targetRef") => Verdict::Skip,
        (Context::DataDeclaration, "dataState") => Verdict::Skip,
        _ => Verdict::Unsupported,
    }
}

/// How an unsupported element is named: `bpmn:` and its local name.
fn name(n: XNode<'_, '_>) -> String {
    let local = n.tag_name().name();
    if local == "subProcess" {
        // Only an event sub-process gets here.
        return "bpmn:subProcess triggeredByEvent=\"true\"".to_owned();
    }
    format!("bpmn:{local}")
}

/// Walks the process in document order (without recursion) and refuses it
/// when it has elements flowcal does not run, naming them all; else refuses
/// the first misuse of a `flowcal:` element or attribute, if any.
pub(crate) fn scan(process: XNode<'_, '_>, lines: &Lines<'_>) -> Result<(), BpmnError> {
    let mut unsupported: Vec<Unsupported> = Vec::new();
    let mut misuse: Result<(), BpmnError> = check_flowcal_attributes(process, lines);
    // Each element with the context of the element it is in; children are
    // pushed in reverse, so elements come off the stack in document order.
    let mut stack: Vec<(XNode<'_, '_>, Context)> =
        elements(process).map(|c| (c, Context::Process)).collect::<Vec<_>>().into_iter().rev().collect();
    while let Some((el, context)) = stack.pop() {
        let found = match el.tag_name().namespace() {
            Some(BPMN_NS) if el.tag_name().name() == "extensionElements" => {
                if context == Context::DataDeclaration {
                    unsupported.extend(initial_values(el, lines));
                }
                check_extensions(el, context == Context::Process, lines)
            }
            Some(BPMN_NS) => match verdict(context, el) {
                Verdict::Enter(inner) => {
                    let at = stack.len();
                    stack.extend(elements(el).map(|c| (c, inner)));
                    stack[at..].reverse();
                    check_flowcal_attributes(el, lines)
                }
                Verdict::Skip => check_flowcal_attributes(el, lines),
                Verdict::Unsupported => {
                    let at = lines.pos(el);
                    unsupported.push(Unsupported { element: name(el), line: at.line, column: at.column });
                    Ok(())
                }
            },
            Some(FLOWCAL_NS) => Err(misplaced_flowcal(el, lines)),
            // Other vendors' elements.
            _ => Ok(()),
        };
        if misuse.is_ok() {
            misuse = found;
        }
    }
    if unsupported.is_empty() {
        return misuse;
    }
    Err(unsupported_error(unsupported))
}

fn unsupported_error(list: Vec<Unsupported>) -> BpmnError {
    let first = &list[0];
    let message = if list.len() == 1 {
        format!("{} is not supported ({SUPPORTED})", first.element)
    } else {
        let mut named: String = list
            .iter()
            .take(NAMED)
            .map(|u| format!("{} (line {}, column {})", u.element, u.line, u.column))
            .collect::<Vec<_>>()
            .join(", ");
        if let n @ 1.. = list.len().saturating_sub(NAMED) {
            named.push_str(&format!(" and {n} more"));
        }
        format!("{} elements are not supported: {named} ({SUPPORTED})", list.len())
    };
    BpmnError { line: first.line, column: first.column, message, unsupported: list }
}

/// Another vendor's initial value for a data object or property (Activiti's
/// and Flowable's `value`): flowcal would start without it.
fn initial_values(ext: XNode<'_, '_>, lines: &Lines<'_>) -> Vec<Unsupported> {
    elements(ext)
        .filter(|v| v.tag_name().name() == "value" && v.tag_name().namespace() != Some(FLOWCAL_NS))
        .map(|v| {
            let at = lines.pos(v);
            let prefix = v.tag_name().namespace().and_then(|ns| v.lookup_prefix(ns)).filter(|p| !p.is_empty());
            let element = prefix.map_or_else(|| "value".to_owned(), |p| format!("{p}:value"));
            Unsupported { element, line: at.line, column: at.column }
        })
        .collect()
}

fn misplaced_flowcal(n: XNode<'_, '_>, lines: &Lines<'_>) -> BpmnError {
    let local = n.tag_name().name();
    let message = if local == "dataItem" {
        "flowcal:dataItem belongs directly in the process's bpmn:extensionElements".to_owned()
    } else {
        format!(
            "flowcal:{local} is not a flowcal element (flowcal reads flowcal:dataItem in the process's \
             bpmn:extensionElements)"
        )
    };
    lines.pos(n).error(message)
}

/// Vendors' extensions are ignored; flowcal's own must be where flowcal reads them.
fn check_extensions(ext: XNode<'_, '_>, in_process: bool, lines: &Lines<'_>) -> Result<(), BpmnError> {
    for d in ext.descendants().filter(|d| d.is_element() && d.tag_name().namespace() == Some(FLOWCAL_NS)) {
        let ok = in_process && d.tag_name().name() == "dataItem" && d.parent() == Some(ext);
        if !ok {
            return Err(misplaced_flowcal(d, lines));
        }
    }
    Ok(())
}

const WHERE_FLOWCAL_ATTRIBUTES_GO: &str = "flowcal reads flowcal:timeZone, flowcal:workCalendar and \
     flowcal:calendarEdits on bpmn:process; flowcal:workCalendar on bpmn:lane; flowcal:deadline, flowcal:deadlineFrom, \
     flowcal:deadlineOffset, flowcal:deadlineRoll, flowcal:workCalendar and flowcal:assignee on bpmn:userTask, \
     bpmn:task and bpmn:manualTask; flowcal:timerOffset on timer events; and flowcal:deadlineTimer on boundary timers";

/// Refuses `flowcal:` attributes that flowcal does not read on this element,
/// so that a misspelt deadline is not silently ignored.
fn check_flowcal_attributes(n: XNode<'_, '_>, lines: &Lines<'_>) -> Result<(), BpmnError> {
    let local = n.tag_name().name();
    let allowed: &[&str] = match local {
        "process" => &["timeZone", "workCalendar", "calendarEdits"],
        "lane" => &["workCalendar"],
        "userTask" | "task" | "manualTask" => {
            &["deadline", "deadlineFrom", "deadlineOffset", "deadlineRoll", "workCalendar", "assignee"]
        }
        "boundaryEvent" => &["deadlineTimer", "timerOffset"],
        "startEvent" | "intermediateCatchEvent" => &["timerOffset"],
        _ => &[],
    };
    for a in n.attributes() {
        if a.namespace() != Some(FLOWCAL_NS) || allowed.contains(&a.name()) {
            continue;
        }
        let name = a.name();
        let message = if name == "deadlineTimer" && local.ends_with("Event") {
            format!(
                "flowcal:deadlineTimer has no meaning on bpmn:{local}: only a boundary timer on a user task counts \
                 from the task's deadline"
            )
        } else if allowed.is_empty() {
            format!("flowcal:{name} has no meaning on bpmn:{local}; {WHERE_FLOWCAL_ATTRIBUTES_GO}")
        } else {
            let list = allowed.iter().map(|a| format!("flowcal:{a}")).collect::<Vec<_>>().join(", ");
            format!("bpmn:{local} has an unknown attribute flowcal:{name}; it takes {list}")
        };
        return Err(lines.pos(n).error(message));
    }
    Ok(())
}
