//! Reading the XML: picks the process, refuses elements outside flowcal's
//! subset, and turns elements and `flowcal:` attributes into a draft model.
//! Checks that need the whole model (references, structure, condition types)
//! are in `validate`.

use crate::{BpmnError, Pos, BPMN_NS, FLOWCAL_NS};
use flowcal_domain::condition::is_valid_key;
use flowcal_domain::user::{parse_time_zone, valid_role};
use flowcal_domain::{
    AssigneeRule, Condition, DataItemDef, DataType, DeadlineRule, IsoDuration, Login, Node, NodeKind,
};
use flowcal_xml::roxmltree::{Document, Node as XNode};
use std::collections::HashMap;

/// The flow nodes flowcal runs.
const NODE_KINDS: [&str; 5] = ["startEvent", "endEvent", "userTask", "exclusiveGateway", "parallelGateway"];

/// BPMN elements of a process that only document or draw it (or, for
/// `laneSet`, are read separately): skipped with everything inside them.
const IGNORED: [&str; 6] = ["documentation", "textAnnotation", "association", "group", "category", "laneSet"];

const SUPPORTED: &str =
    "flowcal runs startEvent, endEvent, userTask, exclusiveGateway, parallelGateway and sequenceFlow";

const DATA_TYPES: &str = "string, text, number, boolean, date, datetime, user, select";

/// A model as read, before the checks that need all of it.
pub(crate) struct Draft {
    pub key: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub items: Vec<DataItemDef>,
    pub nodes: Vec<DraftNode>,
    pub flows: Vec<DraftFlow>,
    pub process_pos: Pos,
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
    pub pos: Pos,
}

pub(crate) struct DraftCondition {
    pub condition: Condition,
    /// Where the `conditionExpression` element is.
    pub pos: Pos,
}

/// Where an element starts. For error paths: each call scans the text up to
/// the element (use [`Lines`] for every node of a model).
fn pos(n: XNode<'_, '_>) -> Pos {
    let p = n.document().text_pos_at(n.range().start);
    Pos { line: p.row, column: p.col }
}

/// Line starts of the document, so that the position of every node and flow
/// costs a binary search rather than a scan from the start of the text.
struct Lines<'input> {
    text: &'input str,
    starts: Vec<usize>,
}

impl<'input> Lines<'input> {
    fn new(text: &'input str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { text, starts }
    }

    /// Same as roxmltree's `text_pos_at`: 1-based line, column in characters.
    fn pos(&self, n: XNode<'_, '_>) -> Pos {
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

fn is_bpmn(n: XNode<'_, '_>, local: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(BPMN_NS) && n.tag_name().name() == local
}

fn elements<'a, 'input>(n: XNode<'a, 'input>) -> impl Iterator<Item = XNode<'a, 'input>> {
    n.children().filter(XNode::is_element)
}

/// Collapses runs of whitespace (names may hold `&#10;` line breaks).
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An attribute's trimmed value; empty counts as absent.
fn attr<'a>(n: XNode<'a, '_>, name: &str) -> Option<&'a str> {
    n.attribute(name).map(str::trim).filter(|s| !s.is_empty())
}

fn flowcal_attr<'a>(n: XNode<'a, '_>, name: &str) -> Option<&'a str> {
    n.attribute((FLOWCAL_NS, name)).map(str::trim).filter(|s| !s.is_empty())
}

fn unsupported(n: XNode<'_, '_>) -> BpmnError {
    pos(n).error(format!("bpmn:{} is not supported ({SUPPORTED})", n.tag_name().name()))
}

fn misplaced_flowcal(n: XNode<'_, '_>) -> BpmnError {
    let local = n.tag_name().name();
    let message = if local == "dataItem" {
        "flowcal:dataItem belongs directly in the process's bpmn:extensionElements".to_owned()
    } else {
        format!(
            "flowcal:{local} is not a flowcal element (flowcal reads flowcal:dataItem in the process's \
             bpmn:extensionElements)"
        )
    };
    pos(n).error(message)
}

/// Refuses `flowcal:` attributes that flowcal does not read on this element,
/// so that a misspelt deadline is not silently ignored.
fn check_flowcal_attributes(n: XNode<'_, '_>) -> Result<(), BpmnError> {
    let local = n.tag_name().name();
    let allowed: &[&str] = match local {
        "process" => &["timeZone"],
        "userTask" => &["deadline", "deadlineFrom", "deadlineOffset", "assignee"],
        _ => &[],
    };
    for a in n.attributes() {
        if a.namespace() != Some(FLOWCAL_NS) || allowed.contains(&a.name()) {
            continue;
        }
        let name = a.name();
        let message = if allowed.is_empty() {
            format!(
                "flowcal:{name} has no meaning on bpmn:{local}; flowcal reads flowcal:timeZone on bpmn:process and \
                 flowcal:deadline, flowcal:deadlineFrom, flowcal:deadlineOffset and flowcal:assignee on bpmn:userTask"
            )
        } else {
            let list = allowed.iter().map(|a| format!("flowcal:{a}")).collect::<Vec<_>>().join(", ");
            format!("bpmn:{local} has an unknown attribute flowcal:{name}; it takes {list}")
        };
        return Err(pos(n).error(message));
    }
    Ok(())
}

/// Walks the process in document order and refuses the first element (or
/// `flowcal:` attribute) that flowcal does not run.
fn scan_process(process: XNode<'_, '_>) -> Result<(), BpmnError> {
    check_flowcal_attributes(process)?;
    for child in elements(process) {
        match child.tag_name().namespace() {
            Some(BPMN_NS) => {
                let local = child.tag_name().name();
                if local == "extensionElements" {
                    scan_extensions(child, true)?;
                } else if IGNORED.contains(&local) {
                } else if NODE_KINDS.contains(&local) || local == "sequenceFlow" {
                    scan_element(child)?;
                } else {
                    return Err(unsupported(child));
                }
            }
            Some(FLOWCAL_NS) => return Err(misplaced_flowcal(child)),
            // Other vendors' elements.
            _ => {}
        }
    }
    Ok(())
}

/// A node or flow: only its flow references, documentation, extensions and
/// (for a flow) its condition may be inside. Event definitions, loops,
/// resource assignments and the like are refused.
fn scan_element(el: XNode<'_, '_>) -> Result<(), BpmnError> {
    check_flowcal_attributes(el)?;
    let allowed: &[&str] = if el.tag_name().name() == "sequenceFlow" {
        &["conditionExpression", "documentation"]
    } else {
        &["incoming", "outgoing", "documentation"]
    };
    for child in elements(el) {
        match child.tag_name().namespace() {
            Some(BPMN_NS) => {
                let local = child.tag_name().name();
                if local == "extensionElements" {
                    scan_extensions(child, false)?;
                } else if !allowed.contains(&local) {
                    return Err(unsupported(child));
                }
            }
            Some(FLOWCAL_NS) => return Err(misplaced_flowcal(child)),
            _ => {}
        }
    }
    Ok(())
}

/// Vendors' extensions are ignored; flowcal's own must be where flowcal reads them.
fn scan_extensions(ext: XNode<'_, '_>, in_process: bool) -> Result<(), BpmnError> {
    for d in ext.descendants().filter(|d| d.is_element() && d.tag_name().namespace() == Some(FLOWCAL_NS)) {
        let ok = in_process && d.tag_name().name() == "dataItem" && d.parent() == Some(ext);
        if !ok {
            return Err(misplaced_flowcal(d));
        }
    }
    Ok(())
}

fn has_flow_nodes(process: XNode<'_, '_>) -> bool {
    elements(process).any(|c| {
        c.tag_name().namespace() == Some(BPMN_NS)
            && !IGNORED.contains(&c.tag_name().name())
            && !matches!(c.tag_name().name(), "extensionElements" | "sequenceFlow")
    })
}

/// The process to run: the executable one, else the first that has flow
/// nodes (pools of a collaboration that are only drawn have none).
fn select_process<'a, 'input>(root: XNode<'a, 'input>) -> Result<XNode<'a, 'input>, BpmnError> {
    let processes: Vec<_> = elements(root).filter(|c| is_bpmn(*c, "process")).collect();
    let chosen = processes
        .iter()
        .find(|p| p.attribute("isExecutable").map(str::trim) == Some("true"))
        .or_else(|| processes.iter().find(|p| has_flow_nodes(**p)))
        .or_else(|| processes.first());
    chosen.copied().ok_or_else(|| pos(root).error("the file has no bpmn:process: there is nothing to run"))
}

pub(crate) fn read(doc: &Document<'_>, default_zone: Option<&str>) -> Result<Draft, BpmnError> {
    let root = doc.root_element();
    if !is_bpmn(root, "definitions") {
        let tag = root.tag_name();
        let ns = tag.namespace().map(|ns| format!(" in namespace {ns}")).unwrap_or_default();
        return Err(pos(root).error(format!(
            "the root element is <{}>{ns}, not bpmn:definitions: this is not a BPMN 2.0 model (namespace {BPMN_NS})",
            tag.name()
        )));
    }
    let process = select_process(root)?;
    scan_process(process)?;
    let lines = Lines::new(doc.input_text());
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
    let items = read_items(process, &lines)?;
    let roles = read_lanes(process)?;

    let mut ids: HashMap<&str, Pos> = HashMap::new();
    let mut nodes = Vec::new();
    let mut flows = Vec::new();
    for child in elements(process).filter(|c| c.tag_name().namespace() == Some(BPMN_NS)) {
        let local = child.tag_name().name();
        if !NODE_KINDS.contains(&local) && local != "sequenceFlow" {
            continue;
        }
        let at = lines.pos(child);
        let id = attr(child, "id").ok_or_else(|| at.error(format!("this bpmn:{local} has no id")))?;
        if let Some(first) = ids.insert(id, at) {
            return Err(at.error(format!(
                "the id '{id}' is used twice (first at line {}, column {}); ids must be unique",
                first.line, first.column
            )));
        }
        if local == "sequenceFlow" {
            flows.push(read_flow(child, id, at, &lines)?);
        } else {
            nodes.push(read_node(child, id, at, &items, &roles)?);
        }
    }
    Ok(Draft { key, name, time_zone, items, nodes, flows, process_pos })
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

/// Node id → role (the name of the innermost lane that lists it).
fn read_lanes(process: XNode<'_, '_>) -> Result<HashMap<String, String>, BpmnError> {
    let mut roles = HashMap::new();
    for set in elements(process).filter(|c| is_bpmn(*c, "laneSet")) {
        // Document order: a nested lane comes after its parent and overrides it.
        for lane in set.descendants().filter(|d| is_bpmn(*d, "lane")) {
            let name = lane.attribute("name").map(collapse).unwrap_or_default();
            let role = if name.is_empty() { attr(lane, "id").unwrap_or_default().to_owned() } else { name };
            let refs: Vec<&str> = elements(lane)
                .filter(|c| is_bpmn(*c, "flowNodeRef"))
                .filter_map(|r| r.text().map(str::trim))
                .filter(|t| !t.is_empty())
                .collect();
            if refs.is_empty() {
                continue;
            }
            if !valid_role(&role) {
                return Err(pos(lane).error(format!(
                    "lane name '{role}' cannot be a role: give the lane a name of 1 to 64 characters"
                )));
            }
            for r in refs {
                roles.insert(r.to_owned(), role.clone());
            }
        }
    }
    Ok(roles)
}

fn read_node(
    el: XNode<'_, '_>,
    id: &str,
    at: Pos,
    items: &[DataItemDef],
    roles: &HashMap<String, String>,
) -> Result<DraftNode, BpmnError> {
    let name = el.attribute("name").map(collapse).filter(|n| !n.is_empty());
    let kind = match el.tag_name().name() {
        "startEvent" => NodeKind::Start,
        "endEvent" => NodeKind::End,
        "userTask" => {
            let deadline = read_deadline(el, id, at, items)?;
            let assignee = read_assignee(el, id, at, items, roles)?;
            NodeKind::UserTask { deadline, assignee }
        }
        "exclusiveGateway" => NodeKind::Exclusive { default: attr(el, "default").map(str::to_owned) },
        _ => NodeKind::Parallel,
    };
    let node = Node {
        id: id.to_owned(),
        name: name.clone().unwrap_or_else(|| id.to_owned()),
        kind,
        scope: None,
        line: at.line,
        column: at.column,
    };
    Ok(DraftNode { node, named: name.is_some(), pos: at })
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

fn read_assignee(
    el: XNode<'_, '_>,
    id: &str,
    at: Pos,
    items: &[DataItemDef],
    roles: &HashMap<String, String>,
) -> Result<AssigneeRule, BpmnError> {
    let fail = |m: String| at.error(format!("task '{id}': {m}"));
    let Some(text) = flowcal_attr(el, "assignee") else {
        return Ok(roles.get(id).map_or(AssigneeRule::Starter, |role| AssigneeRule::Role(role.clone())));
    };
    if text == "starter" {
        return Ok(AssigneeRule::Starter);
    }
    if let Some(login) = text.strip_prefix("user:") {
        let login = Login::parse(login).map_err(|e| fail(format!("flowcal:assignee: {e}")))?;
        return Ok(AssigneeRule::User(login.as_str().to_owned()));
    }
    if let Some(key) = text.strip_prefix("item:") {
        return match items.iter().find(|i| i.key == key) {
            None => Err(fail(format!(
                "flowcal:assignee names item '{key}', but there is no such item: declare it with \
                 <flowcal:dataItem key=\"{key}\" type=\"user\"/>"
            ))),
            Some(item) if item.data_type != DataType::User => Err(fail(format!(
                "flowcal:assignee names item '{key}', which is a {} item, not a user item",
                item.data_type.as_str()
            ))),
            Some(_) => Ok(AssigneeRule::Item(key.to_owned())),
        };
    }
    Err(fail(format!("flowcal:assignee '{text}' is not understood; write starter, user:LOGIN or item:KEY")))
}

fn read_flow(el: XNode<'_, '_>, id: &str, at: Pos, lines: &Lines<'_>) -> Result<DraftFlow, BpmnError> {
    let source = attr(el, "sourceRef").ok_or_else(|| at.error(format!("sequence flow '{id}' has no sourceRef")))?;
    let target = attr(el, "targetRef").ok_or_else(|| at.error(format!("sequence flow '{id}' has no targetRef")))?;
    let condition = match elements(el).find(|c| is_bpmn(*c, "conditionExpression")) {
        None => None,
        Some(expr) => {
            // All text, CDATA included, whatever the xsi:type.
            let text: String = expr.descendants().filter(XNode::is_text).filter_map(|t| t.text()).collect();
            let text = text.trim();
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
    Ok(DraftFlow { id: id.to_owned(), source: source.to_owned(), target: target.to_owned(), condition, pos: at })
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
