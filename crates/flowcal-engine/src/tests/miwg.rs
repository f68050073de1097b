//! The BPMN MIWG files that flowcal imports also run: each starts, and a
//! runner that completes the first open task (by BPMN id) and fires the
//! earliest waiting timer whenever no task is open brings it to its end.
//! Which files import is recorded in `tests/fixtures/bpmn-miwg/EXPECTED.txt`
//! (kept in step with the reader by flowcal-bpmn's tests).

use super::*;
use std::path::Path;

/// The files EXPECTED.txt says import.
fn importing() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bpmn-miwg");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.txt")).unwrap();
    expected
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_suffix(": imports"))
        .map(|f| (f.to_owned(), std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))))
        .collect()
}

#[test]
fn every_miwg_file_that_imports_runs_to_its_end() {
    let files = importing();
    assert!(files.len() >= 8, "EXPECTED.txt lists {} importing files", files.len());
    for (file, xml) in &files {
        let m = flowcal_bpmn::parse(xml, Some("UTC")).unwrap();
        let mut run = Run::start(&m, json!({}));
        let mut done = Vec::new();
        for round in 0.. {
            assert!(round < 1_000, "{}: runs away after {done:?}", file);
            if let Some(step) = run.steps().first().map(|s| (*s).to_owned()) {
                run.complete(&step, json!({}));
                done.push(step);
            } else if let Some(node) = run.state.timers.iter().min_by_key(|t| t.due).map(|t| t.node.clone()) {
                run.fire(&node);
            } else {
                break;
            }
        }
        assert_eq!(run.state.status, InstanceStatus::Completed, "{}: stopped after {done:?}: {:?}", file, run.state);
        // A file whose tasks carry no assignee or lane passes straight through them.
        let tasks = m.user_tasks().count();
        assert_eq!(done.is_empty(), tasks == 0, "{}: {} steps done, {tasks} user tasks", file, done.len());
        let passed = m.nodes.iter().filter(|n| n.kind == NodeKind::Pass).count();
        eprintln!("{}: ran to its end: {} user tasks done, {passed} pass-through steps", file, done.len());
    }
}
