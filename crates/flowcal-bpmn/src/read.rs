//! Reading the XML: picks the process, has `scan` refuse elements outside
//! flowcal's subset, and turns elements and `flowcal:` attributes into a
//! draft model, with the nodes of embedded sub-processes in their scopes.
//! Checks that need the whole model (references, structure, condition types)
//! are in `validate`.

use crate::assignee::{read_assignee, read_lanes, read_resources, Assignment};
use crate::timers::{read_timer, TimerOn};
use crate::workcal::Calendars;
use crate::{BpmnError, Pos, BPMN_NS, FLOWCAL_NS};
use flowcal_domain::condition::is_valid_key;
use flowcal_domain::user::parse_time_zone;
use flowcal_domain::{
    CalendarRef, Condition, DataItemDef, DataType, DeadlineRule, IsoDuration, Node, NodeKind, TimerSpec,
};
use flowcal_xml::roxmltree::{Document, Node as XNode};
use std::collections::HashMap;

/// The flow nodes flowcal reads (scan has refused the others).
const NODE_KINDS: [&str; 11] = [
    "startEvent",
    "endEvent",
    "intermediateThrowEvent",
    "intermediateCatchEvent",
    "boundaryEvent",
    "userTask",
    "task",
    "manualTask",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
];

/// Children of a process that are not flow elements: they do not make a
/// pool one that runs.
const NOT_FLOW: [&str; 15] = [
    "documentation",
    "extensionElements",
    "laneSet",
    "sequenceFlow",
    "textAnnotation",
    "association",
    "group",
    "category",
    "ioSpecification",
    "property",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "auditing",
    "monitoring",
];

const DATA_TYPES: &str = "string, text, number, boolean, date, datetime, user, select";

/// A model as read, before the checks that need all of it.
pub(crate) struct Draft {
    pub key: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub items: Vec<DataItemDef>,
    /// In document order, a sub-process's nodes right after it.
    pub nodes: Vec<DraftNode>,
    pub flows: Vec<DraftFlow>,
    pub start_timer: Option<TimerSpec>,
    pub process_pos: Pos,
    pub calendar_refs: Vec<CalendarRef>,
    pub calendar_edits: flowcal_domain::calendar_edits::ProcessEdits,
}

pub(crate) struct DraftNode {
    pub node: Node,
    /// Whether the model gave it a name (else `node.name` is its id).
    pub named: bool,
    pub pos: Pos,
}

pub(crate) struct DraftFlow {
    pub id: String,
    pub source: String,
    pub target: String,
    pub condition: Option<DraftCondition>,
    /// The embedded sub-process the flow is written in (`None`: the process).
    pub scope: Option<String>,
    pub pos: Pos,
}

pub(crate) struct DraftCondition {
    pub condition: Condition,
    /// Where the `conditionExpression` element is.
    pub pos: Pos,
}

/// Where an element starts, as roxmltree counts: each call scans the text up
/// to the element. The reader uses [`Lines`]; this checks it.
#[cfg(test)]
fn pos(n: XNode<'_, '_>) -> Pos {
    let p = n.document().text_pos_at(n.range().start);
    Pos { line: p.row, column: p.col }
}

/// Line starts of the document, so that the position of every node and flow
/// costs a binary search rather than a scan from the start of the text.
pub(crate) struct Lines<'input> {
    text: &'input str,
    starts: Vec<usize>,
}

impl<'input> Lines<'input> {
    pub(crate) fn new(text: &'input str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { text, starts }
    }

    /// Same as roxmltree's `text_pos_at`: 1-based line, column in characters.
    pub(crate) fn pos(&self, n: XNode<'_, '_>) -> Pos {
        let at = n.range().start.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= at).max(1);
        let start = self.starts[line - 1];
        let column = self.text.get(start..at).map_or(1, |s| s.chars().count() + 1);
        Pos { line: u32::try_from(line).unwrap_or(u32::MAX), column: u32::try_from(column).unwrap_or(u32::MAX) }
    }
}

pub(crate) fn xml_error(e: flowcal_xml::XmlError) -> BpmnError {
    use flowcal_xml::XmlError;
    let at = e.position().map_or(Pos { line: 1, column: 1 }, |p| Pos { line: p.line, column: p.column });
    let message = match e {
        XmlError::Dtd { .. } => {
            "the file has a document type declaration (<!DOCTYPE …>), which flowcal does not accept: remove it"
                .to_owned()
        }
        XmlError::Malformed { message, .. } => format!("the file is not well-formed XML: {message}"),
        XmlError::TooDeep { limit, .. } => format!(
            "elements are nested more than {limit} levels deep here; flowcal reads models nested at most {limit} \
             levels (modelers write fewer than 20): check that the file is a BPMN model as a modeler saved it"
        ),
        XmlError::TooManyAttributes { limit, .. } => format!(
            "this element has more than {limit} attributes; flowcal reads at most {limit} per element (modelers \
             write fewer than 30): check that the file is a BPMN model as a modeler saved it"
        ),
        other => format!("the file is more XML than flowcal reads as a model: {other}; check that it is a BPMN model"),
    };
    at.error(message)
}

pub(crate) fn is_bpmn(n: XNode<'_, '_>, local: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(BPMN_NS) && n.tag_name().name() == local
}

pub(crate) fn elements<'a, 'input>(n: XNode<'a, 'input>) -> impl Iterator<Item = XNode<'a, 'input>> {
    n.children().filter(XNode::is_element)
}

/// The BPMN children of `n` named `local`.
pub(crate) fn bpmn_children<'a, 'input: 'a>(
    n: XNode<'a, 'input>,
    local: &'a str,
) -> impl Iterator<Item = XNode<'a, 'input>> + 'a {
    elements(n).filter(move |c| is_bpmn(*c, local))
}

/// Collapses runs of whitespace (names may hold `&#10;` line breaks).
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// All text inside an element, CDATA included, trimmed.
pub(crate) fn text_of(n: XNode<'_, '_>) -> String {
    let text: String = n.descendants().filter(XNode::is_text).filter_map(|t| t.text()).collect();
    text.trim().to_owned()
}

/// An attribute's trimmed value; empty counts as absent.
pub(crate) fn attr<'a>(n: XNode<'a, '_>, name: &str) -> Option<&'a str> {
    n.attribute(name).map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) fn flowcal_attr<'a>(n: XNode<'a, '_>, name: &str) -> Option<&'a str> {
    n.attribute((FLOWCAL_NS, name)).map(str::trim).filter(|s| !s.is_empty())
}

fn has_flow_nodes(process: XNode<'_, '_>) -> bool {
    elements(process).any(|c| c.tag_name().namespace() == Some(BPMN_NS) && !NOT_FLOW.contains(&c.tag_name().name()))
}

/// The process to run: the one marked `isExecutable="true"`, else the only
/// one with flow nodes (pools of a collaboration that are only drawn have
/// none), else the first. Several executable processes, or several with flow
/// nodes and none executable, are refused: flowcal would run one and drop the
/// others.
fn select_process<'a, 'input>(root: XNode<'a, 'input>, lines: &Lines<'_>) -> Result<XNode<'a, 'input>, BpmnError> {
    let processes: Vec<_> = bpmn_children(root, "process").collect();
    let Some(first) = processes.first() else {
        return Err(lines.pos(root).error("the file has no bpmn:process: there is nothing to run"));
    };
    let executable: Vec<_> =
        processes.iter().copied().filter(|p| p.attribute("isExecutable").map(str::trim) == Some("true")).collect();
    match executable.as_slice() {
        [one] => return Ok(*one),
        [_, second, ..] => {
            return Err(lines.pos(*second).error(format!(
                "the file has {} executable processes: {}; flowcal runs one process per file: set \
                 isExecutable=\"false\" on the pools that are only drawn",
                executable.len(),
                describe_processes(root, &executable, lines)
            )))
        }
        [] => {}
    }
    let with_nodes: Vec<_> = processes.iter().copied().filter(|p| has_flow_nodes(*p)).collect();
    match with_nodes.as_slice() {
        [] => Ok(*first),
        [one] => Ok(*one),
        [_, second, ..] => Err(lines.pos(*second).error(format!(
            "the file has {} processes with flow nodes and none is marked isExecutable=\"true\": {}; flowcal runs one \
             process per file: mark the one to run with isExecutable=\"true\"",
            with_nodes.len(),
            describe_processes(root, &with_nodes, lines)
        ))),
    }
}

/// "'p1' (pool 'Customer', line 3, column 3) and 'p2' (line 9, column 3)".
fn describe_processes(root: XNode<'_, '_>, processes: &[XNode<'_, '_>], lines: &Lines<'_>) -> String {
    let pools: HashMap<&str, String> = root
        .descendants()
        .filter(|d| is_bpmn(*d, "participant"))
        .filter_map(|p| Some((attr(p, "processRef")?, p.attribute("name").map(collapse).unwrap_or_default())))
        .collect();
    let named: Vec<String> = processes
        .iter()
        .map(|p| {
            let at = lines.pos(*p);
            let id = attr(*p, "id").unwrap_or("(no id)");
            match pools.get(id).filter(|n| !n.is_empty()) {
                Some(pool) => format!("'{id}' (pool '{pool}', line {}, column {})", at.line, at.column),
                None => format!("'{id}' (line {}, column {})", at.line, at.column),
            }
        })
        .collect();
    match named.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => named.join(""),
    }
}

/// What reading a node needs besides the element.
struct Context<'a> {
    items: &'a [DataItemDef],
    assignment: Assignment<'a>,
    lines: &'a Lines<'a>,
    calendars: Calendars,
}

pub(crate) fn read(doc: &Document<'_>, default_zone: Option<&str>) -> Result<Draft, BpmnError> {
    let lines = Lines::new(doc.input_text());
    let root = doc.root_element();
    if !is_bpmn(root, "definitions") {
        let tag = root.tag_name();
        let ns = tag.namespace().map(|ns| format!(" in namespace {ns}")).unwrap_or_default();
        return Err(lines.pos(root).error(format!(
            "the root element is <{}>{ns}, not bpmn:definitions: this is not a BPMN 2.0 model (namespace {BPMN_NS})",
            tag.name()
        )));
    }
    let process = select_process(root, &lines)?;
    crate::scan::scan(process, &lines)?;
    let process_pos = lines.pos(process);
    let key = attr(process, "id")
        .ok_or_else(|| process_pos.error("the bpmn:process has no id; flowcal uses it as the model's key"))?
        .to_owned();
    let name = process.attribute("name").map(collapse).filter(|n| !n.is_empty()).unwrap_or_else(|| key.clone());
    let time_zone = match flowcal_attr(process, "timeZone") {
        Some(zone) => {
            parse_time_zone(zone).map_err(|m| process_pos.error(format!("flowcal:timeZone: {m}")))?;
            Some(zone.to_owned())
        }
        None => default_zone.map(str::to_owned),
    };
    let calendar_edits = match flowcal_attr(process, "calendarEdits") {
        Some(text) => flowcal_domain::calendar_edits::ProcessEdits::parse(text)
            .map_err(|m| process_pos.error(format!("flowcal:calendarEdits: {m}")))?,
        None => Default::default(),
    };
    let items = read_items(process, &lines)?;
    let roles = read_lanes(process, &lines)?;
    let resources = read_resources(root);
    let calendars = Calendars::read(process, &lines)?;
    let cx = Context {
        items: &items,
        assignment: Assignment { roles: &roles, resources: &resources },
        lines: &lines,
        calendars,
    };

    let mut ids: HashMap<&str, Pos> = HashMap::new();
    let mut nodes = Vec::new();
    let mut flows = Vec::new();
    let mut start_timer = None;
    // The containers being read, innermost last: their remaining children and
    // the scope they are (`None`: the process). No recursion.
    let mut open = vec![(elements(process), None::<String>)];
    while let Some((children, scope)) = open.last_mut() {
        let Some(el) = children.next() else {
            open.pop();
            continue;
        };
        let local = el.tag_name().name();
        if el.tag_name().namespace() != Some(BPMN_NS) || !(NODE_KINDS.contains(&local) || local == "sequenceFlow") {
            continue;
        }
        let scope = scope.clone();
        let at = lines.pos(el);
        let id = match attr(el, "id") {
            Some(id) => id,
            // The id of a sequence flow is optional.
            None if local == "sequenceFlow" => {
                flows.push(read_flow(el, &generated_flow_id(at), scope, at, &lines)?);
                continue;
            }
            None => return Err(at.error(format!("this bpmn:{local} has no id"))),
        };
        if id.contains(char::is_whitespace) {
            return Err(
                at.error(format!("the id '{id}' contains a space; BPMN ids are XML names without spaces: rename it"))
            );
        }
        if let Some(first) = ids.insert(id, at) {
            return Err(at.error(format!(
                "the id '{id}' is used twice (first at line {}, column {}); ids must be unique",
                first.line, first.column
            )));
        }
        if local == "sequenceFlow" {
            flows.push(read_flow(el, id, scope, at, &lines)?);
            continue;
        }
        let (node, timer) = read_node(el, id, at, scope.clone(), &cx)?;
        if let Some(timer) = timer {
            start_timer = Some(timer);
        }
        nodes.push(node);
        if local == "subProcess" {
            open.push((elements(el), Some(id.to_owned())));
        }
    }
    let calendar_refs = cx.calendars.into_refs();
    Ok(Draft { key, name, time_zone, items, nodes, flows, start_timer, process_pos, calendar_refs, calendar_edits })
}

/// The id of a sequence flow written without one: from its position, with
/// spaces, which real ids cannot have (they are refused), so the two never
/// meet. It stays the same as long as the file does.
fn generated_flow_id(at: Pos) -> String {
    format!("(flow at {}:{})", at.line, at.column)
}

/// A node, and the timer of the process's start event when this is it.
fn read_node(
    el: XNode<'_, '_>,
    id: &str,
    at: Pos,
    scope: Option<String>,
    cx: &Context<'_>,
) -> Result<(DraftNode, Option<TimerSpec>), BpmnError> {
    let name = el.attribute("name").map(collapse).filter(|n| !n.is_empty());
    let local = el.tag_name().name();
    let timer = |on: TimerOn| -> Result<Option<TimerSpec>, BpmnError> {
        let defs: Vec<_> = bpmn_children(el, "timerEventDefinition").collect();
        match defs.as_slice() {
            [] => Ok(None),
            [def] => read_timer(el, *def, id, on, cx.items, cx.lines).map(Some),
            [_, second, ..] => Err(cx.lines.pos(*second).error(format!(
                "event '{id}' has {} timerEventDefinition elements; a timer event has one",
                defs.len()
            ))),
        }
    };
    let mut start_timer = None;
    let kind = match local {
        "startEvent" => {
            if let Some(spec) = timer(TimerOn::Start)? {
                if let Some(sub) = &scope {
                    return Err(at.error(format!(
                        "the start event '{id}' of sub-process '{sub}' has a timer; a sub-process starts when a \
                         token reaches it: put the timer on an intermediate timer event before the sub-process"
                    )));
                }
                start_timer = Some(spec);
            }
            NodeKind::Start
        }
        "endEvent" if bpmn_children(el, "terminateEventDefinition").next().is_some() => NodeKind::Terminate,
        "endEvent" => NodeKind::End,
        "intermediateThrowEvent" => NodeKind::Milestone,
        "intermediateCatchEvent" => match timer(TimerOn::Catch)? {
            Some(timer) => NodeKind::TimerCatch { timer },
            None => {
                return Err(at.error(format!(
                    "intermediate catch event '{id}' has no event definition, so it would wait for nothing; \
                     flowcal's catch events wait for a timer: give it a timerEventDefinition"
                )))
            }
        },
        "boundaryEvent" => {
            let Some(timer) = timer(TimerOn::Boundary)? else {
                return Err(at.error(format!(
                    "boundary event '{id}' has no event definition; flowcal's boundary events are timers: give it \
                     a timerEventDefinition"
                )));
            };
            let attached_to = attr(el, "attachedToRef")
                .ok_or_else(|| at.error(format!("boundary event '{id}' has no attachedToRef (the task it is on)")))?;
            let cancel = match attr(el, "cancelActivity") {
                None | Some("true") => true,
                Some("false") => false,
                Some(other) => {
                    return Err(at.error(format!(
                        "boundary event '{id}': cancelActivity=\"{other}\" is neither \"true\" nor \"false\""
                    )))
                }
            };
            NodeKind::BoundaryTimer { attached_to: attached_to.to_owned(), cancel, timer }
        }
        "userTask" => user_task(el, id, at, cx)?,
        "task" | "manualTask" if is_user_task(el, id, cx) => user_task(el, id, at, cx)?,
        "task" | "manualTask" => NodeKind::Pass,
        "subProcess" => NodeKind::SubProcess,
        "exclusiveGateway" => NodeKind::Exclusive { default: attr(el, "default").map(str::to_owned) },
        _ => NodeKind::Parallel,
    };
    let node = Node {
        id: id.to_owned(),
        name: name.clone().unwrap_or_else(|| id.to_owned()),
        kind,
        scope,
        line: at.line,
        column: at.column,
    };
    Ok((DraftNode { node, named: name.is_some(), pos: at }, start_timer))
}

fn user_task(el: XNode<'_, '_>, id: &str, at: Pos, cx: &Context<'_>) -> Result<NodeKind, BpmnError> {
    let deadline = read_deadline(el, id, at, cx.items)?;
    let assignee = read_assignee(el, id, at, cx.items, &cx.assignment, cx.lines)?;
    let (calendar, roll) = cx.calendars.for_task(el, id, at, &deadline)?;
    Ok(NodeKind::UserTask { deadline, assignee, calendar, roll })
}

/// Whether a `bpmn:task` or `bpmn:manualTask` is someone's work (a user
/// task): it has a `flowcal:` assignee or deadline, is in a lane, or names a
/// performer. Otherwise it is a step the token passes straight through.
fn is_user_task(el: XNode<'_, '_>, id: &str, cx: &Context<'_>) -> bool {
    ["assignee", "deadline", "deadlineFrom", "deadlineOffset"].iter().any(|a| flowcal_attr(el, a).is_some())
        || cx.assignment.roles.contains_key(id)
        || ["potentialOwner", "humanPerformer", "performer"].iter().any(|r| bpmn_children(el, r).next().is_some())
}

/// `flowcal:dataItem` elements in the process's extensionElements.
fn read_items(process: XNode<'_, '_>, lines: &Lines<'_>) -> Result<Vec<DataItemDef>, BpmnError> {
    let mut items: Vec<DataItemDef> = Vec::new();
    let mut seen: HashMap<String, Pos> = HashMap::new();
    let decls = elements(process)
        .filter(|c| is_bpmn(*c, "extensionElements"))
        .flat_map(elements)
        .filter(|e| e.tag_name().namespace() == Some(FLOWCAL_NS) && e.tag_name().name() == "dataItem");
    for el in decls {
        let at = lines.pos(el);
        for a in el.attributes() {
            let known = ["key", "label", "type", "required", "options"].contains(&a.name());
            if (a.namespace().is_none() || a.namespace() == Some(FLOWCAL_NS)) && !known {
                return Err(at.error(format!(
                    "flowcal:dataItem has an unknown attribute '{}'; it takes key, label, type, required and options",
                    a.name()
                )));
            }
        }
        // Unprefixed is the documented form; a flowcal: prefix is accepted too.
        let get = |name: &str| attr(el, name).or_else(|| flowcal_attr(el, name));
        let key = get("key").ok_or_else(|| at.error("flowcal:dataItem has no key"))?;
        if !is_valid_key(key) {
            return Err(at.error(format!(
                "data item key '{key}' cannot be used in conditions: use letters, digits and _, starting with a \
                 letter or _ (and not one of and, or, not, true, false, null)"
            )));
        }
        if let Some(first) = seen.insert(key.to_owned(), at) {
            return Err(at.error(format!(
                "data item '{key}' is declared twice (first at line {}, column {})",
                first.line, first.column
            )));
        }
        let label = get("label").map(collapse).unwrap_or_else(|| key.to_owned());
        let data_type = match get("type") {
            None => return Err(at.error(format!("data item '{key}' has no type; use one of: {DATA_TYPES}"))),
            Some(t) => DataType::parse(t).ok_or_else(|| {
                at.error(format!("data item '{key}' has the unknown type '{t}'; use one of: {DATA_TYPES}"))
            })?,
        };
        let required = match get("required") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(
                    at.error(format!("data item '{key}': required=\"{other}\" is neither \"true\" nor \"false\""))
                )
            }
        };
        let options = match get("options") {
            None => Vec::new(),
            Some(_) if data_type != DataType::Select => {
                return Err(at.error(format!(
                    "data item '{key}' is a {} item; options are only for select items",
                    data_type.as_str()
                )))
            }
            Some(list) => {
                let options: Vec<String> = list.split(',').map(|o| o.trim().to_owned()).collect();
                if options.iter().any(String::is_empty) {
                    return Err(at.error(format!(
                        "data item '{key}' has an empty option in \"{list}\"; separate options with single commas"
                    )));
                }
                if let Some(dup) = options.iter().enumerate().find(|(i, o)| options[..*i].contains(o)) {
                    return Err(at.error(format!("data item '{key}' lists the option '{}' twice", dup.1)));
                }
                options
            }
        };
        if data_type == DataType::Select && options.is_empty() {
            return Err(at.error(format!(
                "data item '{key}' is a select item without options; list them, e.g. options=\"low,medium,high\""
            )));
        }
        items.push(DataItemDef { key: key.to_owned(), label, data_type, required, options, implicit: false });
    }
    Ok(items)
}

fn read_deadline(el: XNode<'_, '_>, id: &str, at: Pos, items: &[DataItemDef]) -> Result<DeadlineRule, BpmnError> {
    let fail = |m: String| at.error(format!("task '{id}': {m}"));
    let after = flowcal_attr(el, "deadline");
    let from = flowcal_attr(el, "deadlineFrom");
    let offset = flowcal_attr(el, "deadlineOffset");
    match (after, from) {
        (Some(_), Some(_)) => {
            Err(fail("it has both flowcal:deadline and flowcal:deadlineFrom; use one of them".to_owned()))
        }
        (Some(text), None) => {
            if offset.is_some() {
                return Err(fail("flowcal:deadlineOffset goes with flowcal:deadlineFrom, not flowcal:deadline".into()));
            }
            let d = IsoDuration::parse(text).map_err(|e| fail(format!("flowcal:deadline {e}")))?;
            if d.negative {
                return Err(fail(format!(
                    "flowcal:deadline '{text}' is negative, but it counts from when the step starts; for a deadline \
                     before a date, use flowcal:deadlineFrom with a negative flowcal:deadlineOffset"
                )));
            }
            Ok(DeadlineRule::After(d))
        }
        (None, Some(key)) => {
            let item = items.iter().find(|i| i.key == key).ok_or_else(|| {
                fail(format!(
                    "deadline from item '{key}', but there is no such item: declare it with \
                     <flowcal:dataItem key=\"{key}\" type=\"date\"/> (or type=\"datetime\") in the process's \
                     extensionElements"
                ))
            })?;
            if !matches!(item.data_type, DataType::Date | DataType::DateTime) {
                return Err(fail(format!(
                    "deadline from item '{key}' which is not a date or datetime item (it is a {} item)",
                    item.data_type.as_str()
                )));
            }
            let offset = match offset {
                None => None,
                Some(text) => {
                    let d = IsoDuration::parse(text).map_err(|e| fail(format!("flowcal:deadlineOffset {e}")))?;
                    if item.data_type == DataType::Date && d.has_clock_part() {
                        return Err(fail(format!(
                            "flowcal:deadlineOffset '{text}' has hours, minutes or seconds, but '{key}' is a date \
                             item (all day): use days, weeks, months or years, e.g. -P1D"
                        )));
                    }
                    Some(d)
                }
            };
            Ok(DeadlineRule::From { item: key.to_owned(), offset })
        }
        (None, None) => match offset {
            Some(_) => {
                Err(fail("flowcal:deadlineOffset needs flowcal:deadlineFrom (the item it is counted from)".into()))
            }
            None => Ok(DeadlineRule::None),
        },
    }
}

fn read_flow(
    el: XNode<'_, '_>,
    id: &str,
    scope: Option<String>,
    at: Pos,
    lines: &Lines<'_>,
) -> Result<DraftFlow, BpmnError> {
    let source = attr(el, "sourceRef").ok_or_else(|| at.error(format!("sequence flow '{id}' has no sourceRef")))?;
    let target = attr(el, "targetRef").ok_or_else(|| at.error(format!("sequence flow '{id}' has no targetRef")))?;
    let condition = match elements(el).find(|c| is_bpmn(*c, "conditionExpression")) {
        None => None,
        Some(expr) => {
            // All text, CDATA included, whatever the xsi:type.
            let text = text_of(expr);
            let text = text.as_str();
            if text.is_empty() {
                None
            } else {
                let at = lines.pos(expr);
                let condition = Condition::parse(text)
                    .map_err(|e| at.error(format!("flow '{id}': condition '{text}' is not supported: {e}")))?;
                Some(DraftCondition { condition, pos: at })
            }
        }
    };
    Ok(DraftFlow { id: id.to_owned(), source: source.to_owned(), target: target.to_owned(), condition, scope, pos: at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_roxmltree() {
        let texts = [
            include_str!(
                "../../../tests/fixtures/bpmn-samples/supported/signavio-exclusive-gateway-no-conditions.bpmn"
            ),
            include_str!(
                "../../../tests/fixtures/bpmn-samples/supported/camunda-modeler-parallel-exclusive-default.bpmn"
            ),
            "<?xml version=\"1.0\"?>\r\n<a>\r\n  <b name=\"Größe → ü\"/><c/>\r\n\t<d>é</d><e\n/></a>\n",
        ];
        for text in texts {
            let doc = match Document::parse(text) {
                Ok(d) => d,
                Err(e) => panic!("{e}"),
            };
            let lines = Lines::new(text);
            let mut checked = 0;
            for n in doc.descendants().filter(XNode::is_element) {
                assert_eq!(lines.pos(n), pos(n), "{:?}", n.tag_name());
                checked += 1;
            }
            assert!(checked >= 5);
        }
    }
}
