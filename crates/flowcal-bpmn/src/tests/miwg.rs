//! The BPMN MIWG test suite's reference models and the exports of a few
//! modelers (tests/fixtures/bpmn-miwg, see SOURCES.md there).
//!
//! What flowcal makes of each file is kept in EXPECTED.txt, so that a change
//! in what flowcal reads shows here as a failure; and every refusal for
//! unsupported elements must list exactly the elements that an independent
//! scan of the process finds outside the subset.

use crate::parse;
use flowcal_xml::roxmltree::{Document, Node as XNode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bpmn-miwg")
}

/// Every .bpmn file under the fixtures, by path relative to them.
fn files() -> BTreeMap<String, String> {
    let root = fixtures();
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "bpmn") {
                let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                found.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

/// `imports`, `refused: ` and the kinds of unsupported elements (sorted), or
/// `invalid: ` and the refusal with its position.
fn outcome(xml: &str) -> String {
    match parse(xml, None) {
        Ok(_) => "imports".to_owned(),
        Err(e) if !e.unsupported.is_empty() => {
            let mut kinds: Vec<&str> = e.unsupported.iter().map(|u| u.element.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            format!("refused: {}", kinds.join(", "))
        }
        Err(e) => format!("invalid: {e}"),
    }
}

fn expected() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixtures().join("EXPECTED.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, what) = l.split_once(": ").unwrap_or_else(|| panic!("EXPECTED.txt: bad line {l}"));
            (file.to_owned(), what.to_owned())
        })
        .collect()
}

#[test]
fn miwg_files_read_as_expected() {
    let files = files();
    assert!(files.len() >= 60, "the MIWG fixtures were found ({})", files.len());
    let actual: BTreeMap<String, String> = files.iter().map(|(f, xml)| (f.clone(), outcome(xml))).collect();
    let expected = expected();
    let differences: Vec<String> = actual
        .keys()
        .chain(expected.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|f| actual.get(*f) != expected.get(*f))
        .map(|f| format!("{f}\n  expected: {:?}\n  actual:   {:?}", expected.get(f), actual.get(f)))
        .collect();
    if !differences.is_empty() {
        let table: Vec<String> = actual.iter().map(|(f, o)| format!("{f}: {o}")).collect();
        eprintln!("what flowcal makes of the files now:\n{}", table.join("\n"));
    }
    assert!(
        differences.is_empty(),
        "{} files differ from EXPECTED.txt:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Line starts, for the positions of many elements.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect())
    }

    fn pos(&self, text: &str, n: XNode<'_, '_>) -> (u32, u32) {
        let at = n.range().start;
        let line = self.0.partition_point(|&s| s <= at);
        let column = text[self.0[line - 1]..at].chars().count() + 1;
        (line as u32, column as u32)
    }
}

const BPMN: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

/// The BPMN elements a process may hold, wherever they are; a few more
/// depend on where they are (see `outside_the_subset`).
const VOCABULARY: &[&str] = &[
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
    "sequenceFlow",
    "conditionExpression",
    "incoming",
    "outgoing",
    "documentation",
    "laneSet",
    "lane",
    "childLaneSet",
    "flowNodeRef",
    "textAnnotation",
    "text",
    "association",
    "group",
    "category",
    "categoryValue",
    "ioSpecification",
    "dataInput",
    "dataOutput",
    "inputSet",
    "outputSet",
    "dataInputRefs",
    "dataOutputRefs",
    "optionalInputRefs",
    "optionalOutputRefs",
    "whileExecutingInputRefs",
    "whileExecutingOutputRefs",
    "inputSetRefs",
    "outputSetRefs",
    "property",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataState",
    "dataInputAssociation",
    "dataOutputAssociation",
    "sourceRef",
    "targetRef",
    "potentialOwner",
    "humanPerformer",
    "performer",
    "resourceRef",
    "resourceAssignmentExpression",
    "formalExpression",
    "expression",
    "timeDuration",
    "timeDate",
    "timeCycle",
];

/// The elements of `process` outside flowcal's subset, found without the
/// reader: by name, where they are, and not inside one already found.
fn outside_the_subset(text: &str, lines: &Lines, process: XNode<'_, '_>) -> Vec<(String, u32, u32)> {
    let mut found = Vec::new();
    let mut stack: Vec<XNode<'_, '_>> = process.children().filter(XNode::is_element).collect();
    stack.reverse();
    while let Some(el) = stack.pop() {
        let tag = el.tag_name();
        if tag.namespace() != Some(BPMN) || tag.name() == "extensionElements" {
            continue;
        }
        let parent = el.parent().map(|p| p.tag_name().name()).unwrap_or_default();
        let name = tag.name();
        let event_subprocess = name == "subProcess" && el.attribute("triggeredByEvent") == Some("true");
        let fits = match name {
            "timerEventDefinition" => matches!(parent, "startEvent" | "intermediateCatchEvent" | "boundaryEvent"),
            "terminateEventDefinition" => parent == "endEvent",
            _ => VOCABULARY.contains(&name) && !event_subprocess,
        };
        if !fits {
            let (line, column) = lines.pos(text, el);
            let element = if event_subprocess {
                "bpmn:subProcess triggeredByEvent=\"true\"".to_owned()
            } else {
                format!("bpmn:{name}")
            };
            found.push((element, line, column));
            continue;
        }
        let at = stack.len();
        stack.extend(el.children().filter(XNode::is_element));
        stack[at..].reverse();
    }
    found
}

#[test]
fn miwg_refusals_list_every_unsupported_element() {
    let mut refusals = 0;
    for (file, xml) in files() {
        let doc = Document::parse(&xml).unwrap();
        let lines = Lines::new(&xml);
        let processes: Vec<XNode<'_, '_>> =
            doc.root_element().children().filter(|c| c.tag_name() == (BPMN, "process").into()).collect();
        match parse(&xml, None) {
            Ok(model) => {
                // An imported model has nothing outside the subset.
                let process = processes.iter().find(|p| p.attribute("id") == Some(model.key.as_str())).unwrap();
                assert_eq!(outside_the_subset(&xml, &lines, *process), [], "{file}");
            }
            Err(e) if !e.unsupported.is_empty() => {
                refusals += 1;
                let listed: Vec<(String, u32, u32)> =
                    e.unsupported.iter().map(|u| (u.element.clone(), u.line, u.column)).collect();
                // The process the first listed element is in.
                let first = (listed[0].1, listed[0].2);
                let process = processes
                    .iter()
                    .find(|p| p.descendants().any(|d| d.is_element() && lines.pos(&xml, d) == first))
                    .unwrap_or_else(|| panic!("{file}: {first:?} is in no process"));
                assert_eq!(listed, outside_the_subset(&xml, &lines, *process), "{file}");
                assert_eq!((e.line, e.column), first, "{file}");
                if listed.len() > 1 {
                    assert!(e.message.starts_with(&format!("{} elements are not supported: ", listed.len())), "{e}");
                }
            }
            Err(_) => {}
        }
    }
    assert!(refusals >= 20, "files refused for unsupported elements: {refusals}");
}
