//! Drawing a model: reads the diagram interchange (BPMNDI) of a BPMN file
//! and draws it as a self-contained SVG, with the steps an instance has done
//! and the step it is at marked. A file without diagram interchange is laid
//! out here: columns by the longest path from the start events.
//!
//! Drawing is separate from [`crate::parse`]: it reads every element a
//! modeler may put in a diagram (pools, lanes, data objects, annotations,
//! service tasks, …), never runs anything, and is bounded on its own: at most
//! [`MAX_SHAPES`] shapes, [`MAX_EDGES`] edges, [`MAX_WAYPOINTS`] bends in all,
//! coordinates within ±[`MAX_COORD`], and at most [`MAX_SVG_BYTES`] of output.
//! Every text from the file is escaped. No recursion.

use crate::read::{attr, collapse, elements, is_bpmn};
use crate::{BPMN_NS, XML_LIMITS};
use flowcal_xml::roxmltree::{Document, Node as XNode};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// Most shapes (pools, lanes, nodes, data, annotations) a diagram may have.
pub const MAX_SHAPES: usize = 2_000;
/// Most edges (flows and associations) a diagram may have.
pub const MAX_EDGES: usize = 4_000;
/// Most waypoints of all edges together.
pub const MAX_WAYPOINTS: usize = 40_000;
/// Largest coordinate or size, in diagram units (pixels at 100 %).
pub const MAX_COORD: f64 = 1_000_000.0;
/// Largest SVG text drawn.
pub const MAX_SVG_BYTES: usize = 4 * 1024 * 1024;
/// Longest name drawn (characters); the rest is cut with `…`.
const MAX_NAME: usize = 300;

/// Why a file's diagram cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DiagramError(pub String);

/// What a shape stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StartEvent,
    EndEvent,
    /// Intermediate throw or catch event.
    Intermediate,
    /// Boundary event (drawn on its task's border).
    Boundary,
    /// A user task (someone's work).
    UserTask,
    /// Any other task or call activity.
    Task,
    SubProcess {
        expanded: bool,
    },
    Exclusive,
    Parallel,
    Inclusive,
    EventBased,
    /// Complex gateway and gateways of unknown kinds.
    Gateway,
    Pool,
    Lane,
    DataObject,
    DataStore,
    TextAnnotation,
    Group,
    /// An element flowcal does not know how to draw: a dashed box.
    Other,
}

impl Kind {
    /// Flow nodes are the steps a token passes: they get `step` and marks.
    pub fn is_flow_node(self) -> bool {
        !matches!(
            self,
            Kind::Pool
                | Kind::Lane
                | Kind::DataObject
                | Kind::DataStore
                | Kind::TextAnnotation
                | Kind::Group
                | Kind::Other
        )
    }

    fn class(self) -> &'static str {
        match self {
            Kind::StartEvent => "event start",
            Kind::EndEvent => "event end",
            Kind::Intermediate => "event intermediate",
            Kind::Boundary => "event boundary",
            Kind::UserTask => "task user",
            Kind::Task => "task",
            Kind::SubProcess { .. } => "task subprocess",
            Kind::Exclusive | Kind::Parallel | Kind::Inclusive | Kind::EventBased | Kind::Gateway => "gateway",
            Kind::Pool => "pool",
            Kind::Lane => "lane",
            Kind::DataObject | Kind::DataStore => "data",
            Kind::TextAnnotation => "annotation",
            Kind::Group => "group",
            Kind::Other => "other",
        }
    }
}

/// A rectangle in diagram units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

/// A drawn element with its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The BPMN element's id.
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub bounds: Rect,
    /// Where the modeler put the name, when it said.
    pub label: Option<Rect>,
    /// Pools and lanes: label at the left (true) or at the top.
    pub horizontal: bool,
    /// A timer event (drawn with a clock).
    pub timer: bool,
}

/// What an edge stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Sequence,
    Message,
    /// Associations and data associations (dotted).
    Association,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub id: String,
    pub kind: EdgeKind,
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub label: Option<Rect>,
}

/// A model's drawing, read once per model version.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    /// The process's name (or id): the drawing's title.
    pub name: String,
    pub shapes: Vec<Shape>,
    pub edges: Vec<Edge>,
    /// The file had no diagram interchange: flowcal laid the steps out.
    pub laid_out: bool,
}

/// What a page adds to the drawing.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// The step the page is about (the task's): class `current`.
    pub current: BTreeSet<String>,
    /// Other steps that are open now: class `open`.
    pub open: BTreeSet<String>,
    /// Steps done: class `done`, and a tick.
    pub done: BTreeSet<String>,
    /// A line to add to a step's hover text (its deadline rule); the step
    /// also gets a clock mark.
    pub notes: BTreeMap<String, String>,
    /// Prefix of the ids of the SVG's markers, unique on the page.
    pub id_prefix: String,
    /// The words the drawing adds, in the page's language.
    pub words: Words,
}

/// The words a drawing adds to the file's names: its title (`{name}` is
/// the process's name) and the hover text's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub title: String,
    pub title_laid_out: String,
    pub deadline: String,
    pub current: String,
    pub open: String,
    pub done: String,
}

impl Default for Words {
    fn default() -> Self {
        Words {
            title: "Diagram of {name}".into(),
            title_laid_out: "Diagram of {name} (laid out by flowcal: the file has no diagram)".into(),
            deadline: "deadline".into(),
            current: "current step".into(),
            open: "open".into(),
            done: "done".into(),
        }
    }
}

fn err(message: impl Into<String>) -> DiagramError {
    DiagramError(message.into())
}

/// Reads the drawing of a BPMN file: its diagram interchange, or a layout of
/// its process when it has none. Linear in the text; run it off async workers.
pub fn read(xml: &str) -> Result<Diagram, DiagramError> {
    let doc = flowcal_xml::parse(xml, &XML_LIMITS).map_err(|e| err(format!("the file is not readable XML: {e}")))?;
    read_doc(&doc)
}

fn read_doc(doc: &Document<'_>) -> Result<Diagram, DiagramError> {
    let root = doc.root_element();
    if !is_bpmn(root, "definitions") {
        return Err(err("the file is not a BPMN 2.0 model"));
    }
    let process = pick_process(root);
    let name = process
        .and_then(|p| p.attribute("name").map(collapse).filter(|n| !n.is_empty()))
        .or_else(|| process.and_then(|p| attr(p, "id")).map(str::to_owned))
        .unwrap_or_else(|| "process".to_owned());
    // Every element with an id, for the DI's references.
    let mut by_id: HashMap<&str, XNode<'_, '_>> = HashMap::new();
    for n in root.descendants().filter(|n| n.is_element() && n.tag_name().namespace() == Some(BPMN_NS)) {
        if let Some(id) = attr(n, "id") {
            by_id.entry(id).or_insert(n);
        }
    }
    match pick_plane(root, process, &by_id) {
        Some(plane) => from_di(plane, &by_id, name),
        None => match process {
            Some(p) => layout(p, name),
            None => Err(err("the file has no process to draw")),
        },
    }
}

/// The process flowcal runs: the executable one, else the first with flow
/// nodes, else the first (as the reader picks it, without its refusals).
fn pick_process<'a, 'i>(root: XNode<'a, 'i>) -> Option<XNode<'a, 'i>> {
    let processes: Vec<_> = elements(root).filter(|c| is_bpmn(*c, "process")).collect();
    processes
        .iter()
        .find(|p| p.attribute("isExecutable").map(str::trim) == Some("true"))
        .or_else(|| processes.iter().find(|p| elements(**p).any(|c| flow_node_kind(c).is_some())))
        .or(processes.first())
        .copied()
}

/// The first plane that draws the process or a collaboration with it, else
/// the first plane with shapes.
fn pick_plane<'a, 'i>(
    root: XNode<'a, 'i>,
    process: Option<XNode<'a, 'i>>,
    by_id: &HashMap<&str, XNode<'a, 'i>>,
) -> Option<XNode<'a, 'i>> {
    let planes: Vec<_> = elements(root)
        .filter(|d| d.tag_name().name() == "BPMNDiagram")
        .flat_map(elements)
        .filter(|p| p.tag_name().name() == "BPMNPlane")
        .filter(|p| elements(*p).any(|s| matches!(s.tag_name().name(), "BPMNShape" | "BPMNEdge")))
        .collect();
    let pid = process.and_then(|p| attr(p, "id"));
    let draws_process = |plane: &XNode<'_, '_>| {
        let Some(target) = attr(*plane, "bpmnElement") else { return false };
        if Some(target) == pid {
            return true;
        }
        by_id.get(target).is_some_and(|c| {
            is_bpmn(*c, "collaboration")
                && elements(*c).any(|p| is_bpmn(p, "participant") && attr(p, "processRef") == pid && pid.is_some())
        })
    };
    planes.iter().find(|p| draws_process(p)).or(planes.first()).copied()
}

/// The kind of a flow node element, `None` for anything else.
fn flow_node_kind(n: XNode<'_, '_>) -> Option<Kind> {
    if !n.is_element() || n.tag_name().namespace() != Some(BPMN_NS) {
        return None;
    }
    Some(match n.tag_name().name() {
        "startEvent" => Kind::StartEvent,
        "endEvent" => Kind::EndEvent,
        "intermediateThrowEvent" | "intermediateCatchEvent" | "implicitThrowEvent" => Kind::Intermediate,
        "boundaryEvent" => Kind::Boundary,
        "userTask" => Kind::UserTask,
        "task" | "manualTask" | "serviceTask" | "scriptTask" | "sendTask" | "receiveTask" | "businessRuleTask"
        | "callActivity" => Kind::Task,
        "subProcess" | "transaction" | "adHocSubProcess" => Kind::SubProcess { expanded: false },
        "exclusiveGateway" => Kind::Exclusive,
        "parallelGateway" => Kind::Parallel,
        "inclusiveGateway" => Kind::Inclusive,
        "eventBasedGateway" => Kind::EventBased,
        "complexGateway" => Kind::Gateway,
        _ => return None,
    })
}

fn element_kind(n: XNode<'_, '_>) -> Kind {
    if let Some(k) = flow_node_kind(n) {
        return k;
    }
    match n.tag_name().name() {
        "participant" => Kind::Pool,
        "lane" => Kind::Lane,
        "dataObjectReference" | "dataObject" | "dataInput" | "dataOutput" => Kind::DataObject,
        "dataStoreReference" | "dataStore" => Kind::DataStore,
        "textAnnotation" => Kind::TextAnnotation,
        "group" => Kind::Group,
        _ => Kind::Other,
    }
}

fn is_timer(n: XNode<'_, '_>) -> bool {
    elements(n).any(|c| is_bpmn(c, "timerEventDefinition"))
}

/// The name drawn for an element: its `name`, an annotation's text, or for
/// a group its category value's.
fn name_of(n: XNode<'_, '_>) -> String {
    let name = match n.tag_name().name() {
        "textAnnotation" => elements(n).find(|c| is_bpmn(*c, "text")).map(crate::read::text_of).unwrap_or_default(),
        _ => n.attribute("name").unwrap_or_default().to_owned(),
    };
    cut(&collapse(&name))
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_NAME {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_NAME - 1).collect();
    out.push('…');
    out
}

fn number(n: XNode<'_, '_>, name: &str, what: &str) -> Result<f64, DiagramError> {
    let text = n.attribute(name).ok_or_else(|| err(format!("{what} has no {name}")))?;
    let v: f64 = text.trim().parse().map_err(|_| err(format!("{what} has {name}=\"{}\", not a number", cut(text))))?;
    if !v.is_finite() || v.abs() > MAX_COORD {
        return Err(err(format!("{what} has {name}=\"{}\", outside the ±{MAX_COORD} flowcal draws", cut(text))));
    }
    Ok(v)
}

fn bounds(n: XNode<'_, '_>, what: &str) -> Result<Option<Rect>, DiagramError> {
    let Some(b) = elements(n).find(|c| c.tag_name().name() == "Bounds") else { return Ok(None) };
    let r = Rect {
        x: number(b, "x", what)?,
        y: number(b, "y", what)?,
        w: number(b, "width", what)?,
        h: number(b, "height", what)?,
    };
    if r.w < 0.0 || r.h < 0.0 {
        return Err(err(format!("{what} has a negative width or height")));
    }
    Ok(Some(r))
}

fn label_bounds(n: XNode<'_, '_>, what: &str) -> Result<Option<Rect>, DiagramError> {
    match elements(n).find(|c| c.tag_name().name() == "BPMNLabel") {
        Some(l) => bounds(l, what),
        None => Ok(None),
    }
}

fn from_di(plane: XNode<'_, '_>, by_id: &HashMap<&str, XNode<'_, '_>>, name: String) -> Result<Diagram, DiagramError> {
    let mut shapes = Vec::new();
    let mut edges = Vec::new();
    let mut waypoints = 0usize;
    for el in elements(plane) {
        let local = el.tag_name().name();
        let Some(target) = attr(el, "bpmnElement") else { continue };
        let what = format!("the drawing of '{}'", cut(target));
        match local {
            "BPMNShape" => {
                if shapes.len() == MAX_SHAPES {
                    return Err(err(format!("the diagram has more than {MAX_SHAPES} shapes, more than flowcal draws")));
                }
                let Some(r) = bounds(el, &what)? else { continue };
                let semantic = by_id.get(target).copied();
                let mut kind = semantic.map_or(Kind::Other, element_kind);
                if let Kind::SubProcess { .. } = kind {
                    let expanded = match el.attribute("isExpanded").map(str::trim) {
                        Some("true") => true,
                        Some(_) => false,
                        None => r.w >= 200.0 && r.h >= 150.0,
                    };
                    kind = Kind::SubProcess { expanded };
                }
                shapes.push(Shape {
                    id: target.to_owned(),
                    kind,
                    name: semantic.map(name_of).unwrap_or_default(),
                    bounds: r,
                    label: label_bounds(el, &what)?,
                    horizontal: el.attribute("isHorizontal").map(str::trim) != Some("false"),
                    timer: semantic.is_some_and(is_timer),
                });
            }
            "BPMNEdge" => {
                if edges.len() == MAX_EDGES {
                    return Err(err(format!("the diagram has more than {MAX_EDGES} edges, more than flowcal draws")));
                }
                let mut points = Vec::new();
                for w in elements(el).filter(|c| c.tag_name().name() == "waypoint") {
                    waypoints += 1;
                    if waypoints > MAX_WAYPOINTS {
                        return Err(err(format!(
                            "the diagram's edges have more than {MAX_WAYPOINTS} waypoints, more than flowcal draws"
                        )));
                    }
                    points.push((number(w, "x", &what)?, number(w, "y", &what)?));
                }
                if points.len() < 2 {
                    continue;
                }
                let semantic = by_id.get(target).copied();
                let kind = match semantic.map(|s| s.tag_name().name()) {
                    Some("messageFlow") => EdgeKind::Message,
                    Some("association" | "dataInputAssociation" | "dataOutputAssociation") => EdgeKind::Association,
                    _ => EdgeKind::Sequence,
                };
                edges.push(Edge {
                    id: target.to_owned(),
                    kind,
                    name: semantic.map(name_of).unwrap_or_default(),
                    points,
                    label: label_bounds(el, &what)?,
                });
            }
            _ => {}
        }
    }
    // Containers first, so that what is in them is drawn on top.
    shapes.sort_by_key(|s| match s.kind {
        Kind::Pool => 0,
        Kind::Lane => 1,
        Kind::SubProcess { expanded: true } | Kind::Group => 2,
        _ => 3,
    });
    Ok(Diagram { name, shapes, edges, laid_out: false })
}

/// Lays out a process without diagram interchange: columns by the longest
/// path from the start events (flows that close a loop do not count), rows
/// in document order; boundary events on their task's lower border;
/// sub-processes collapsed.
fn layout(process: XNode<'_, '_>, name: String) -> Result<Diagram, DiagramError> {
    const COL: f64 = 170.0;
    const ROW: f64 = 120.0;
    const CELL_W: f64 = 110.0;
    const CELL_H: f64 = 80.0;
    let mut nodes: Vec<(String, Kind, String, bool, Option<String>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for el in elements(process) {
        let Some(kind) = flow_node_kind(el) else { continue };
        let Some(id) = attr(el, "id") else { continue };
        if index.contains_key(id) {
            continue;
        }
        if nodes.len() == MAX_SHAPES {
            return Err(err(format!("the process has more than {MAX_SHAPES} steps, more than flowcal draws")));
        }
        index.insert(id.to_owned(), nodes.len());
        let host = if kind == Kind::Boundary { attr(el, "attachedToRef").map(str::to_owned) } else { None };
        nodes.push((id.to_owned(), kind, name_of(el), is_timer(el), host));
    }
    let mut flows: Vec<(String, usize, usize, String)> = Vec::new();
    for el in elements(process).filter(|c| is_bpmn(*c, "sequenceFlow")) {
        let (Some(s), Some(t)) = (attr(el, "sourceRef"), attr(el, "targetRef")) else { continue };
        let (Some(&s), Some(&t)) = (index.get(s), index.get(t)) else { continue };
        if flows.len() == MAX_EDGES {
            return Err(err(format!("the process has more than {MAX_EDGES} flows, more than flowcal draws")));
        }
        flows.push((attr(el, "id").unwrap_or_default().to_owned(), s, t, name_of(el)));
    }
    // Layering edges: the flows, and host → boundary event.
    let n = nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    let mut add = |s: usize, t: usize, out: &mut Vec<Vec<usize>>| {
        out[s].push(t);
        indeg[t] += 1;
    };
    for (_, s, t, _) in &flows {
        add(*s, *t, &mut out);
    }
    for (i, node) in nodes.iter().enumerate() {
        if let Some(h) = node.4.as_ref().and_then(|h| index.get(h)) {
            add(*h, i, &mut out);
        }
    }
    // Kahn's order; when only cycles are left, the first remaining node (in
    // document order, start events first) goes next and the flows into it
    // are the loop's way back.
    let mut layer = vec![0usize; n];
    let mut placed = vec![false; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).rev().collect();
    let mut remaining = n;
    while remaining > 0 {
        let next = match ready.pop() {
            Some(i) => i,
            None => match (0..n).find(|&i| !placed[i]) {
                Some(i) => i,
                None => break,
            },
        };
        if placed[next] {
            continue;
        }
        placed[next] = true;
        remaining -= 1;
        for &t in &out[next] {
            if placed[t] {
                continue;
            }
            layer[t] = layer[t].max(layer[next] + 1);
            indeg[t] = indeg[t].saturating_sub(1);
            if indeg[t] == 0 {
                ready.push(t);
            }
        }
    }
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let mut cells: Vec<Rect> = Vec::with_capacity(n);
    for (i, node) in nodes.iter().enumerate() {
        let col = layer[i];
        let row = if node.1 == Kind::Boundary {
            0
        } else {
            let r = rows.entry(col).or_insert(0);
            *r += 1;
            *r - 1
        };
        cells.push(Rect { x: 40.0 + col as f64 * COL, y: 40.0 + row as f64 * ROW, w: CELL_W, h: CELL_H });
    }
    let mut shapes = Vec::with_capacity(n);
    let mut on_host: HashMap<usize, usize> = HashMap::new();
    for (i, (id, kind, name, timer, host)) in nodes.iter().enumerate() {
        let c = cells[i];
        let (w, h) = match kind {
            Kind::StartEvent | Kind::EndEvent | Kind::Intermediate | Kind::Boundary => (36.0, 36.0),
            Kind::Exclusive | Kind::Parallel | Kind::Inclusive | Kind::EventBased | Kind::Gateway => (50.0, 50.0),
            _ => (CELL_W, CELL_H),
        };
        let mut bounds = Rect { x: c.cx() - w / 2.0, y: c.cy() - h / 2.0, w, h };
        if let Some(&hi) = host.as_ref().and_then(|h| index.get(h)) {
            let k = on_host.entry(hi).or_insert(0);
            let hc = cells[hi];
            bounds.x = hc.x + hc.w - 44.0 - *k as f64 * 40.0;
            bounds.y = hc.y + hc.h - 18.0;
            *k += 1;
        }
        shapes.push(Shape {
            id: id.clone(),
            kind: *kind,
            name: name.clone(),
            bounds,
            label: None,
            horizontal: true,
            timer: *timer,
        });
    }
    let bottom = shapes.iter().map(|s| s.bounds.y + s.bounds.h).fold(0.0, f64::max);
    let mut edges = Vec::with_capacity(flows.len());
    for (k, (id, s, t, name)) in flows.iter().enumerate() {
        let (a, b) = (shapes[*s].bounds, shapes[*t].bounds);
        let next = layer[*t] == layer[*s] + 1 && nodes[*s].1 != Kind::Boundary;
        let points = if next || (layer[*t] >= layer[*s] && nodes[*s].1 == Kind::Boundary) {
            let (sx, sy) = if nodes[*s].1 == Kind::Boundary { (a.cx(), a.y + a.h) } else { (a.x + a.w, a.cy()) };
            let (tx, ty) = (b.x, b.cy());
            if (sy - ty).abs() < 0.5 {
                vec![(sx, sy), (tx, ty)]
            } else if nodes[*s].1 == Kind::Boundary {
                vec![(sx, sy), (sx, ty), (tx, ty)]
            } else {
                let mx = tx - 20.0;
                vec![(sx, sy), (mx, sy), (mx, ty), (tx, ty)]
            }
        } else if layer[*t] > layer[*s] + 1 {
            // Over columns between: above the drawing.
            let high = 24.0 - (k % 8) as f64 * 6.0;
            vec![(a.cx(), a.y), (a.cx(), high), (b.cx(), high), (b.cx(), b.y)]
        } else {
            // Back to an earlier column: under the drawing.
            let low = bottom + 20.0 + (k % 8) as f64 * 8.0;
            vec![(a.cx(), a.y + a.h), (a.cx(), low), (b.cx(), low), (b.cx(), b.y + b.h)]
        };
        edges.push(Edge { id: id.clone(), kind: EdgeKind::Sequence, name: name.clone(), points, label: None });
    }
    Ok(Diagram { name, shapes, edges, laid_out: true })
}

/// A number for SVG: at most one decimal.
fn f(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Splits `text` into at most `max_lines` lines of about `per_line`
/// characters, the last one cut with `…` when the text is longer.
fn wrap(text: &str, per_line: usize, max_lines: usize) -> Vec<String> {
    let per_line = per_line.max(3);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let len = line.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= per_line {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line.
            let rest = word.split_off(per_line);
            lines.push(word.into_iter().collect());
            word = rest;
        }
        if lines.len() > max_lines {
            break;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(per_line.saturating_sub(1)).collect();
            *last = format!("{keep}…");
        }
    }
    lines
}

/// Text lines centred on `cx`, the block centred on `cy`.
fn text_block(out: &mut String, lines: &[String], cx: f64, cy: f64, class: &str) {
    if lines.is_empty() {
        return;
    }
    const LINE: f64 = 14.0;
    let top = cy - (lines.len() as f64 - 1.0) * LINE / 2.0 + 4.0;
    let _ = write!(out, r#"<text class="{class}" x="{}" y="{}" text-anchor="middle" font-size="12">"#, f(cx), f(top));
    for (i, l) in lines.iter().enumerate() {
        let dy = if i == 0 { "0".to_owned() } else { f(LINE) };
        let _ = write!(out, r#"<tspan x="{}" dy="{dy}">{}</tspan>"#, f(cx), flowcal_xml::escape(l));
    }
    out.push_str("</text>");
}

/// A small clock at (cx, cy): timers and steps with a deadline rule.
fn clock(out: &mut String, cx: f64, cy: f64, r: f64) {
    let _ = write!(
        out,
        r##"<circle cx="{x}" cy="{y}" r="{r}" fill="#fff" stroke="currentColor" stroke-width="1.5"/><path d="M{x} {y1}V{y}L{x2} {y}" fill="none" stroke="currentColor" stroke-width="1.5"/>"##,
        x = f(cx),
        y = f(cy),
        r = f(r),
        y1 = f(cy - r * 0.7),
        x2 = f(cx + r * 0.55),
    );
}

impl Diagram {
    /// The drawing's extent: every shape, label and waypoint, with a margin.
    fn view_box(&self) -> Rect {
        let mut lo = (f64::MAX, f64::MAX);
        let mut hi = (f64::MIN, f64::MIN);
        let mut grow = |x: f64, y: f64| {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        };
        for s in &self.shapes {
            grow(s.bounds.x, s.bounds.y);
            grow(s.bounds.x + s.bounds.w, s.bounds.y + s.bounds.h);
            if let Some(l) = s.label {
                grow(l.x, l.y);
                grow(l.x + l.w, l.y + l.h);
            } else if !matches!(s.kind, Kind::Pool | Kind::Lane) {
                // Names drawn under events and gateways.
                grow(s.bounds.cx() - 50.0, s.bounds.y + s.bounds.h + 34.0);
            }
        }
        for e in &self.edges {
            for &(x, y) in &e.points {
                grow(x, y);
            }
            match e.label {
                Some(l) => {
                    grow(l.x, l.y);
                    grow(l.x + l.w, l.y + l.h);
                }
                // Names drawn over the middle segment.
                None if !e.name.is_empty() => {
                    for &(x, y) in &e.points {
                        grow(x, y - 24.0);
                    }
                }
                None => {}
            }
        }
        if lo.0 > hi.0 {
            return Rect { x: 0.0, y: 0.0, w: 100.0, h: 50.0 };
        }
        let m = 12.0;
        Rect { x: lo.0 - m, y: lo.1 - m, w: hi.0 - lo.0 + 2.0 * m, h: hi.1 - lo.1 + 2.0 * m }
    }

    /// The ids of the shapes that are flow nodes, in drawing order.
    pub fn steps(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.iter().filter(|s| s.kind.is_flow_node())
    }

    /// Draws the diagram as an `<svg>` element: `role="img"`, a `<title>`,
    /// each flow node a `<g class="step …" data-id="…">` with a `<title>` of
    /// its name (and its note), `current`, `open` and `done` as `marks` say.
    /// Refused when the text would be larger than [`MAX_SVG_BYTES`].
    pub fn render(&self, marks: &Marks) -> Result<String, DiagramError> {
        let vb = self.view_box();
        let p = flowcal_xml::escape(&marks.id_prefix);
        let mut out = String::new();
        let words = &marks.words;
        let title = if self.laid_out { &words.title_laid_out } else { &words.title }.replace("{name}", &self.name);
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" role="img" aria-labelledby="{p}title" viewBox="{} {} {} {}" width="{}" height="{}" font-family="system-ui, sans-serif" color="#1b1f24"><title id="{p}title">{}</title>"##,
            f(vb.x),
            f(vb.y),
            f(vb.w),
            f(vb.h),
            f(vb.w),
            f(vb.h),
            flowcal_xml::escape(&title)
        );
        let _ = write!(
            out,
            r##"<defs><marker id="{p}arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="currentColor"/></marker><marker id="{p}open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10" fill="#fff" stroke="currentColor"/></marker><marker id="{p}dot" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="7" markerHeight="7"><circle cx="5" cy="5" r="4" fill="#fff" stroke="currentColor"/></marker></defs>"##
        );
        for s in self.shapes.iter().filter(|s| matches!(s.kind, Kind::Pool | Kind::Lane | Kind::Group)) {
            self.shape(&mut out, s, marks);
        }
        for s in self.shapes.iter().filter(|s| matches!(s.kind, Kind::SubProcess { expanded: true })) {
            self.shape(&mut out, s, marks);
        }
        for e in &self.edges {
            edge(&mut out, e, &p);
            if out.len() > MAX_SVG_BYTES {
                return Err(too_large());
            }
        }
        for s in self
            .shapes
            .iter()
            .filter(|s| !matches!(s.kind, Kind::Pool | Kind::Lane | Kind::Group | Kind::SubProcess { expanded: true }))
        {
            self.shape(&mut out, s, marks);
            if out.len() > MAX_SVG_BYTES {
                return Err(too_large());
            }
        }
        out.push_str("</svg>");
        if out.len() > MAX_SVG_BYTES {
            return Err(too_large());
        }
        Ok(out)
    }

    fn shape(&self, out: &mut String, s: &Shape, marks: &Marks) {
        let b = s.bounds;
        let (x, y, w, h) = (f(b.x), f(b.y), f(b.w), f(b.h));
        let flow = s.kind.is_flow_node();
        let current = flow && marks.current.contains(&s.id);
        let open = flow && !current && marks.open.contains(&s.id);
        let done = flow && !current && marks.done.contains(&s.id);
        let note = marks.notes.get(&s.id).filter(|_| flow);
        let mut class = String::new();
        if flow {
            class.push_str("step ");
        }
        class.push_str(s.kind.class());
        for (on, c) in [(current, " current"), (open, " open"), (done, " done")] {
            if on {
                class.push_str(c);
            }
        }
        let _ = write!(out, r#"<g class="{class}" data-id="{}">"#, flowcal_xml::escape(&s.id));
        if flow || !s.name.is_empty() {
            let mut hover = if s.name.is_empty() { s.id.clone() } else { s.name.clone() };
            if let Some(n) = note {
                let _ = write!(hover, " — {}: {n}", marks.words.deadline);
            }
            let state = [(current, &marks.words.current), (open, &marks.words.open), (done, &marks.words.done)];
            if let Some((_, word)) = state.into_iter().find(|(on, _)| *on) {
                let _ = write!(hover, " ({word})");
            }
            let _ = write!(out, "<title>{}</title>", flowcal_xml::escape(&hover));
        }
        if current {
            let _ = write!(
                out,
                r##"<rect class="halo" x="{}" y="{}" width="{}" height="{}" rx="12" fill="none" stroke="#0b5cad" stroke-width="3" stroke-dasharray="6 3"/>"##,
                f(b.x - 6.0),
                f(b.y - 6.0),
                f(b.w + 12.0),
                f(b.h + 12.0)
            );
        }
        let stroke = r##"stroke="currentColor""##;
        let label_under = |out: &mut String| {
            if s.name.is_empty() {
                return;
            }
            match s.label {
                Some(l) => {
                    let lines = wrap(&s.name, ((l.w.max(30.0) + 6.0) / 6.5) as usize, 4);
                    text_block(out, &lines, l.cx(), l.cy(), "name");
                }
                None => {
                    let lines = wrap(&s.name, 16, 2);
                    let top = b.y + b.h + 12.0 + (lines.len() as f64 - 1.0) * 7.0;
                    text_block(out, &lines, b.cx(), top, "name");
                }
            }
        };
        match s.kind {
            Kind::StartEvent | Kind::EndEvent | Kind::Intermediate | Kind::Boundary => {
                let r = b.w.min(b.h) / 2.0;
                let (cx, cy) = (f(b.cx()), f(b.cy()));
                let width = match s.kind {
                    Kind::EndEvent => "4",
                    _ => "1.5",
                };
                let _ = write!(
                    out,
                    r##"<circle class="shape" cx="{cx}" cy="{cy}" r="{}" fill="#fff" {stroke} stroke-width="{width}"/>"##,
                    f(r)
                );
                if matches!(s.kind, Kind::Intermediate | Kind::Boundary) {
                    let _ = write!(
                        out,
                        r#"<circle cx="{cx}" cy="{cy}" r="{}" fill="none" {stroke} stroke-width="1.5"/>"#,
                        f((r - 3.0).max(1.0))
                    );
                }
                if s.timer {
                    clock(out, b.cx(), b.cy(), (r - 6.0).max(2.0));
                }
                label_under(out);
            }
            Kind::Exclusive | Kind::Parallel | Kind::Inclusive | Kind::EventBased | Kind::Gateway => {
                let (cx, cy) = (b.cx(), b.cy());
                let _ = write!(
                    out,
                    r##"<path class="shape" d="M{} {}L{} {}L{} {}L{} {}z" fill="#fff" {stroke} stroke-width="1.5"/>"##,
                    f(cx),
                    f(b.y),
                    f(b.x + b.w),
                    f(cy),
                    f(cx),
                    f(b.y + b.h),
                    f(b.x),
                    f(cy)
                );
                let k = b.w.min(b.h) / 5.0;
                let mark = match s.kind {
                    Kind::Exclusive => format!(
                        "M{} {}L{} {}M{} {}L{} {}",
                        f(cx - k),
                        f(cy - k),
                        f(cx + k),
                        f(cy + k),
                        f(cx + k),
                        f(cy - k),
                        f(cx - k),
                        f(cy + k)
                    ),
                    Kind::Parallel => format!(
                        "M{} {}L{} {}M{} {}L{} {}",
                        f(cx),
                        f(cy - k * 1.3),
                        f(cx),
                        f(cy + k * 1.3),
                        f(cx - k * 1.3),
                        f(cy),
                        f(cx + k * 1.3),
                        f(cy)
                    ),
                    Kind::Gateway => format!(
                        "M{} {}L{} {}M{} {}L{} {}M{} {}L{} {}",
                        f(cx),
                        f(cy - k),
                        f(cx),
                        f(cy + k),
                        f(cx - k),
                        f(cy),
                        f(cx + k),
                        f(cy),
                        f(cx - k * 0.7),
                        f(cy - k * 0.7),
                        f(cx + k * 0.7),
                        f(cy + k * 0.7)
                    ),
                    _ => String::new(),
                };
                if !mark.is_empty() {
                    let _ = write!(out, r#"<path d="{mark}" fill="none" {stroke} stroke-width="3"/>"#);
                }
                if matches!(s.kind, Kind::Inclusive | Kind::EventBased) {
                    let width = if s.kind == Kind::Inclusive { "2.5" } else { "1" };
                    let _ = write!(
                        out,
                        r#"<circle cx="{}" cy="{}" r="{}" fill="none" {stroke} stroke-width="{width}"/>"#,
                        f(cx),
                        f(cy),
                        f(k * 1.2)
                    );
                }
                label_under(out);
            }
            Kind::UserTask | Kind::Task | Kind::SubProcess { .. } => {
                let width = if current { "3" } else { "1.5" };
                let _ = write!(
                    out,
                    r##"<rect class="shape" x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="#fff" {stroke} stroke-width="{width}"/>"##
                );
                if s.kind == Kind::UserTask {
                    // A person: head and shoulders.
                    let (px, py) = (b.x + 12.0, b.y + 10.0);
                    let _ = write!(
                        out,
                        r#"<path d="M{} {}a4 4 0 1 0 0.1 0M{} {}q0-7 7-7q7 0 7 7z" fill="none" {stroke} stroke-width="1.2"/>"#,
                        f(px),
                        f(py - 1.0),
                        f(px - 7.0),
                        f(py + 13.0)
                    );
                }
                if note.is_some() {
                    clock(out, b.x + b.w - 12.0, b.y + 12.0, 6.0);
                }
                if let Kind::SubProcess { expanded: false } = s.kind {
                    let (mx, my) = (b.cx(), b.y + b.h - 9.0);
                    let _ = write!(
                        out,
                        r##"<path d="M{} {}h14v14h-14zM{} {}h8M{} {}v8" fill="#fff" {stroke} stroke-width="1"/>"##,
                        f(mx - 7.0),
                        f(my - 7.0),
                        f(mx - 4.0),
                        f(my),
                        f(mx),
                        f(my - 4.0)
                    );
                }
                if let Kind::SubProcess { expanded: true } = s.kind {
                    let lines = wrap(&s.name, ((b.w - 16.0) / 6.5) as usize, 2);
                    text_block(out, &lines, b.cx(), b.y + 14.0, "name");
                } else {
                    let per = ((b.w - 10.0) / 6.5).max(4.0) as usize;
                    let max = ((b.h - 14.0) / 14.0).max(1.0) as usize;
                    let lines = wrap(&s.name, per, max);
                    text_block(out, &lines, b.cx(), b.cy(), "name");
                }
            }
            Kind::Pool | Kind::Lane => {
                let _ = write!(
                    out,
                    r#"<rect class="shape" x="{x}" y="{y}" width="{w}" height="{h}" fill="none" {stroke} stroke-width="1.2"/>"#
                );
                if s.horizontal {
                    let band = 30.0_f64.min(b.w);
                    if s.kind == Kind::Pool {
                        let _ =
                            write!(out, r#"<path d="M{} {}v{}" {stroke} stroke-width="1.2"/>"#, f(b.x + band), y, h);
                    }
                    let lines = wrap(&s.name, (b.h / 7.0).max(4.0) as usize, 1);
                    if let Some(l) = lines.first() {
                        let (cx, cy) = (b.x + band / 2.0 + 4.0, b.cy());
                        let _ = write!(
                            out,
                            r#"<text class="name" x="{cx}" y="{cy}" text-anchor="middle" font-size="12" transform="rotate(-90 {cx} {cy})">{}</text>"#,
                            flowcal_xml::escape(l),
                            cx = f(cx),
                            cy = f(cy)
                        );
                    }
                } else {
                    let lines = wrap(&s.name, (b.w / 7.0).max(4.0) as usize, 1);
                    text_block(out, &lines, b.cx(), b.y + 15.0, "name");
                }
            }
            Kind::DataObject => {
                let fold = (b.w.min(b.h) / 3.0).min(12.0);
                let _ = write!(
                    out,
                    r##"<path class="shape" d="M{x} {y}h{}l{fold} {fold}V{}H{x}z" fill="#fff" {stroke} stroke-width="1.2"/>"##,
                    f(b.w - fold),
                    f(b.y + b.h),
                    fold = f(fold)
                );
                label_under(out);
            }
            Kind::DataStore => {
                let ry = (b.h / 6.0).min(8.0);
                let _ = write!(
                    out,
                    r##"<path class="shape" d="M{x} {}a{} {} 0 0 0 {w} 0a{} {} 0 0 0 -{w} 0v{}a{} {} 0 0 0 {w} 0v-{}" fill="#fff" {stroke} stroke-width="1.2"/>"##,
                    f(b.y + ry),
                    f(b.w / 2.0),
                    f(ry),
                    f(b.w / 2.0),
                    f(ry),
                    f(b.h - 2.0 * ry),
                    f(b.w / 2.0),
                    f(ry),
                    f(b.h - 2.0 * ry)
                );
                label_under(out);
            }
            Kind::TextAnnotation => {
                let _ = write!(
                    out,
                    r#"<path d="M{} {y}H{x}V{}h10" fill="none" {stroke} stroke-width="1.2"/>"#,
                    f(b.x + 10.0),
                    f(b.y + b.h)
                );
                let lines = wrap(&s.name, ((b.w - 8.0) / 6.5).max(4.0) as usize, ((b.h / 14.0) as usize).max(1));
                text_block(out, &lines, b.cx(), b.cy(), "name");
            }
            Kind::Group | Kind::Other => {
                let _ = write!(
                    out,
                    r#"<rect class="shape" x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="none" {stroke} stroke-width="1.2" stroke-dasharray="8 4"/>"#
                );
                if !s.name.is_empty() {
                    let lines = wrap(&s.name, (b.w / 7.0).max(4.0) as usize, 2);
                    text_block(out, &lines, b.cx(), b.y + 14.0, "name");
                }
            }
        }
        if done {
            // A tick in a circle at the top right: done, not colour alone.
            let (cx, cy) = (b.x + b.w - 2.0, b.y + 2.0);
            let _ = write!(
                out,
                r##"<g class="tick"><circle cx="{}" cy="{}" r="8" fill="#1a7f37"/><path d="M{} {}l3 3l5-6" fill="none" stroke="#fff" stroke-width="2"/></g>"##,
                f(cx),
                f(cy),
                f(cx - 4.0),
                f(cy)
            );
        }
        out.push_str("</g>");
    }
}

fn too_large() -> DiagramError {
    err(format!("the diagram would be more than {} MB of drawing, more than flowcal shows", MAX_SVG_BYTES >> 20))
}

fn edge(out: &mut String, e: &Edge, p: &str) {
    let mut d = String::new();
    for (i, (x, y)) in e.points.iter().enumerate() {
        let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { "L" }, f(*x), f(*y));
    }
    let (class, extra) = match e.kind {
        EdgeKind::Sequence => ("flow", format!(r#"marker-end="url(#{p}arrow)""#)),
        EdgeKind::Message => {
            ("message", format!(r#"stroke-dasharray="8 5" marker-start="url(#{p}dot)" marker-end="url(#{p}open)""#))
        }
        EdgeKind::Association => ("association", r#"stroke-dasharray="2 4""#.to_owned()),
    };
    let _ = write!(
        out,
        r#"<g class="{class}" data-id="{}"><path d="{d}" fill="none" stroke="currentColor" stroke-width="1.5" {extra}/>"#,
        flowcal_xml::escape(&e.id)
    );
    if !e.name.is_empty() {
        let (cx, cy, per) = match e.label {
            Some(l) => (l.cx(), l.cy(), ((l.w.max(30.0) + 6.0) / 6.5) as usize),
            None => {
                // Over the middle of the middle segment.
                let i = (e.points.len() - 1) / 2;
                let ((x1, y1), (x2, y2)) = (e.points[i], e.points[i + 1]);
                ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 9.0, 18)
            }
        };
        let lines = wrap(&e.name, per, 3);
        text_block(out, &lines, cx, cy, "name");
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests;
