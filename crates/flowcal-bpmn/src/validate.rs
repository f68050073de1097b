//! Checks that need the whole model: flow references and scopes, the shape of
//! the graph (one start and an end in the process and in every embedded
//! sub-process, every node reachable, every path ending, no loop that never
//! waits), boundary timers and their tasks, gateway conditions and defaults,
//! and the data items conditions use (implicit items are added here).

use crate::read::{Draft, DraftFlow, DraftNode};
use crate::BpmnError;
use flowcal_domain::condition::VarUse;
use flowcal_domain::{DataItemDef, DeadlineRule, Flow, NodeKind, ProcessModel};
use std::collections::{HashMap, HashSet, VecDeque};

fn kind_word(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "start event",
        NodeKind::End => "end event",
        NodeKind::UserTask { .. } => "user task",
        NodeKind::Exclusive { .. } => "exclusive gateway",
        NodeKind::Parallel => "parallel gateway",
        NodeKind::Terminate => "terminate end event",
        NodeKind::Pass => "task",
        NodeKind::Milestone => "intermediate event",
        NodeKind::TimerCatch { .. } => "timer event",
        NodeKind::BoundaryTimer { .. } => "boundary timer",
        NodeKind::SubProcess => "sub-process",
    }
}

/// "user task 'approve' (Approve)", or without the name when it has none.
fn describe(n: &DraftNode) -> String {
    let word = kind_word(&n.node.kind);
    if n.named {
        format!("{word} '{id}' ({name})", id = n.node.id, name = n.node.name)
    } else {
        format!("{word} '{id}'", id = n.node.id)
    }
}

/// Where a scope is, for messages.
fn scope_words(scope: Option<&str>) -> String {
    match scope {
        None => "the process's top level".to_owned(),
        Some(s) => format!("sub-process '{s}'"),
    }
}

fn list(flows: &[&DraftFlow]) -> String {
    flows.iter().map(|f| format!("'{}'", f.id)).collect::<Vec<_>>().join(", ")
}

fn is_end(kind: &NodeKind) -> bool {
    matches!(kind, NodeKind::End | NodeKind::Terminate)
}

pub(crate) fn validate(draft: Draft) -> Result<ProcessModel, BpmnError> {
    let by_id: HashMap<&str, &DraftNode> = draft.nodes.iter().map(|n| (n.node.id.as_str(), n)).collect();

    for f in &draft.flows {
        for (end, verb) in [(&f.source, "starts at"), (&f.target, "points to")] {
            let Some(node) = by_id.get(end.as_str()) else {
                return Err(f
                    .pos
                    .error(format!("sequence flow '{}' {verb} '{end}', which is not a node of this process", f.id)));
            };
            if node.node.scope != f.scope {
                return Err(f.pos.error(format!(
                    "sequence flow '{}' is in {} but {verb} {} in {}; a sequence flow cannot cross the border of a \
                     sub-process: connect to the sub-process itself, and begin and end the path inside it with its \
                     own start and end events",
                    f.id,
                    scope_words(f.scope.as_deref()),
                    describe(node),
                    scope_words(node.node.scope.as_deref())
                )));
            }
        }
    }

    check_scopes(&draft)?;

    // Flows by node, in document order (built once: models can be large).
    let mut incoming: HashMap<&str, Vec<&DraftFlow>> = HashMap::new();
    let mut outgoing: HashMap<&str, Vec<&DraftFlow>> = HashMap::new();
    for f in &draft.flows {
        incoming.entry(f.target.as_str()).or_default().push(f);
        outgoing.entry(f.source.as_str()).or_default().push(f);
    }
    let none = Vec::new();
    let mut boundaries: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in &draft.nodes {
        if let NodeKind::BoundaryTimer { attached_to, timer, .. } = &n.node.kind {
            check_boundary(n, attached_to, timer.from_deadline, &by_id)?;
            boundaries.entry(attached_to.as_str()).or_default().push(n.node.id.as_str());
        }
    }
    for n in &draft.nodes {
        let id = n.node.id.as_str();
        check_node(n, incoming.get(id).unwrap_or(&none), outgoing.get(id).unwrap_or(&none))?;
    }

    // Every node must be reachable from the start: a sub-process leads to
    // its inner start, a user task to the timers on its boundary.
    let inner_start: HashMap<&str, &str> = draft
        .nodes
        .iter()
        .filter(|n| n.node.kind == NodeKind::Start)
        .filter_map(|n| Some((n.node.scope.as_deref()?, n.node.id.as_str())))
        .collect();
    let top_start = draft.nodes.iter().find(|n| n.node.kind == NodeKind::Start && n.node.scope.is_none());
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = top_start.map(|s| s.node.id.as_str()).into_iter().collect();
    seen.extend(queue.iter().copied());
    while let Some(id) = queue.pop_front() {
        let next = outgoing
            .get(id)
            .unwrap_or(&none)
            .iter()
            .map(|f| f.target.as_str())
            .chain(inner_start.get(id).copied())
            .chain(boundaries.get(id).into_iter().flatten().copied());
        for t in next {
            if seen.insert(t) {
                queue.push_back(t);
            }
        }
    }
    if let Some(n) = draft.nodes.iter().find(|n| !seen.contains(n.node.id.as_str())) {
        let from = match &n.node.scope {
            None => "the start event".to_owned(),
            Some(s) => format!("the start event of sub-process '{s}'"),
        };
        return Err(n.pos.error(format!("{} cannot be reached from {from}", describe(n))));
    }

    if let Some(n) = busy_loop(&draft, &outgoing) {
        return Err(n.pos.error(format!(
            "{} is on a loop that passes no user task or timer event: a token would circle there forever",
            describe(n)
        )));
    }

    let items = data_items(&draft)?;
    for f in &draft.flows {
        if let Some(c) = &f.condition {
            c.condition.check(&items).map_err(|e| {
                c.pos.error(format!("flow '{}': condition '{}': {}", f.id, c.condition.text, e.message))
            })?;
        }
    }

    Ok(ProcessModel {
        key: draft.key,
        name: draft.name,
        time_zone: draft.time_zone,
        data_items: items,
        start_timer: draft.start_timer,
        nodes: draft.nodes.into_iter().map(|n| n.node).collect(),
        flows: draft
            .flows
            .into_iter()
            .map(|f| Flow { id: f.id, source: f.source, target: f.target, condition: f.condition.map(|c| c.condition) })
            .collect(),
        calendar_refs: draft.calendar_refs,
        calendar_edits: draft.calendar_edits,
    })
}

/// One start event and at least one end in the process and in every
/// embedded sub-process (the process first, then sub-processes in document
/// order).
fn check_scopes(draft: &Draft) -> Result<(), BpmnError> {
    let mut starts: HashMap<Option<&str>, Vec<&DraftNode>> = HashMap::new();
    let mut ends: HashSet<Option<&str>> = HashSet::new();
    for n in &draft.nodes {
        let scope = n.node.scope.as_deref();
        if n.node.kind == NodeKind::Start {
            starts.entry(scope).or_default().push(n);
        }
        if is_end(&n.node.kind) {
            ends.insert(scope);
        }
    }
    let subs = draft.nodes.iter().filter(|n| n.node.kind == NodeKind::SubProcess);
    for (scope, sub) in std::iter::once((None, None)).chain(subs.map(|s| (Some(s.node.id.as_str()), Some(s)))) {
        let (at, whose, inside) = match sub {
            None => (draft.process_pos, "the process".to_owned(), String::new()),
            Some(s) => (s.pos, describe(s), " inside".to_owned()),
        };
        let collapsed =
            if sub.is_some() { " (a sub-process drawn collapsed, without its content, cannot run)" } else { "" };
        match starts.get(&scope).map(Vec::as_slice).unwrap_or_default() {
            [] => {
                return Err(at.error(format!("{whose} has no start event{inside} (bpmn:startEvent){collapsed}")));
            }
            [_] => {}
            [first, second, ..] => {
                return Err(second.pos.error(format!(
                    "{whose} has a second start event '{}' (the first is '{}'); flowcal starts every {} at one \
                     start event",
                    second.node.id,
                    first.node.id,
                    if sub.is_some() { "run of a sub-process" } else { "instance" }
                )))
            }
        }
        if !ends.contains(&scope) {
            return Err(at.error(format!("{whose} has no end event{inside} (bpmn:endEvent)")));
        }
    }
    Ok(())
}

/// A boundary timer is on a user task of its own scope; counting from the
/// deadline needs a task with a deadline rule.
fn check_boundary(
    n: &DraftNode,
    attached_to: &str,
    from_deadline: bool,
    by_id: &HashMap<&str, &DraftNode>,
) -> Result<(), BpmnError> {
    let this = describe(n);
    let Some(task) = by_id.get(attached_to) else {
        return Err(n.pos.error(format!("{this} is attached to '{attached_to}', which is not a node of this process")));
    };
    let NodeKind::UserTask { deadline, .. } = &task.node.kind else {
        let hint = if task.node.kind == NodeKind::Pass {
            " (a bpmn:task without assignee, lane or performer is a step the token passes straight through: make it \
             a bpmn:userTask or give it flowcal:assignee)"
        } else {
            ""
        };
        return Err(n.pos.error(format!(
            "{this} is attached to {}; flowcal runs boundary timers on user tasks only{hint}",
            describe(task)
        )));
    };
    if task.node.scope != n.node.scope {
        return Err(n.pos.error(format!(
            "{this} is in {} but its task {} is in {}; write the boundary event beside its task",
            scope_words(n.node.scope.as_deref()),
            describe(task),
            scope_words(task.node.scope.as_deref())
        )));
    }
    if from_deadline && *deadline == DeadlineRule::None {
        return Err(n.pos.error(format!(
            "{this} has flowcal:deadlineTimer=\"true\", but its task {} has no deadline: give the task \
             flowcal:deadline or flowcal:deadlineFrom, or remove flowcal:deadlineTimer",
            describe(task)
        )));
    }
    Ok(())
}

fn check_node(n: &DraftNode, incoming: &[&DraftFlow], outgoing: &[&DraftFlow]) -> Result<(), BpmnError> {
    let this = describe(n);
    let at = n.pos;

    // Conditions only make sense where a gateway chooses.
    if !matches!(n.node.kind, NodeKind::Exclusive { .. }) {
        if let Some((f, c)) = outgoing.iter().find_map(|f| f.condition.as_ref().map(|c| (f, c))) {
            return Err(c.pos.error(format!(
                "flow '{}' has a condition, but it leaves {this}: flowcal only supports conditions on the flows out \
                 of an exclusive gateway",
                f.id
            )));
        }
    }
    if !is_end(&n.node.kind) && outgoing.is_empty() {
        return Err(at.error(format!("{this} has no outgoing flow; every path must lead to an end event")));
    }
    match &n.node.kind {
        NodeKind::Start => {
            if !incoming.is_empty() {
                return Err(at.error(format!(
                    "{this} has an incoming flow ({}); nothing can lead back to the start",
                    list(incoming)
                )));
            }
            if outgoing.len() > 1 {
                return Err(at.error(format!(
                    "{this} has {} outgoing flows ({}); it needs exactly one (start several branches with a parallel \
                     gateway)",
                    outgoing.len(),
                    list(outgoing)
                )));
            }
        }
        NodeKind::End | NodeKind::Terminate => {
            if !outgoing.is_empty() {
                return Err(
                    at.error(format!("{this} has an outgoing flow ({}); an end event ends its path", list(outgoing)))
                );
            }
        }
        NodeKind::BoundaryTimer { .. } => {
            if !incoming.is_empty() {
                return Err(at.error(format!(
                    "{this} has an incoming flow ({}); a boundary event starts its path when its timer fires, so \
                     nothing can lead to it",
                    list(incoming)
                )));
            }
            if outgoing.len() > 1 {
                return Err(at.error(format!(
                    "{this} has {} outgoing flows ({}); a boundary timer has exactly one: split with a parallel \
                     gateway (all paths) or an exclusive gateway (one path)",
                    outgoing.len(),
                    list(outgoing)
                )));
            }
        }
        NodeKind::UserTask { .. }
        | NodeKind::Pass
        | NodeKind::Milestone
        | NodeKind::TimerCatch { .. }
        | NodeKind::SubProcess => {
            if incoming.is_empty() {
                return Err(at.error(format!("{this} has no incoming flow, so it cannot be reached")));
            }
            if outgoing.len() > 1 {
                let step = if matches!(n.node.kind, NodeKind::Milestone | NodeKind::TimerCatch { .. }) {
                    "an intermediate event"
                } else {
                    "a task"
                };
                return Err(at.error(format!(
                    "{this} has {} outgoing flows ({}); {step} has exactly one: split with a parallel gateway (all \
                     paths) or an exclusive gateway (one path)",
                    outgoing.len(),
                    list(outgoing)
                )));
            }
        }
        NodeKind::Exclusive { default } => check_exclusive(n, default.as_deref(), outgoing)?,
        NodeKind::Parallel => {}
    }
    Ok(())
}

/// A node on a loop through steps that never wait (gateways, pass-through
/// tasks, milestones and sub-processes without a user task or timer inside):
/// a token would move there forever. Linear: one depth-first search, without
/// recursion; the node reported is where the search found the loop closing.
fn busy_loop<'d>(draft: &'d Draft, outgoing: &HashMap<&str, Vec<&DraftFlow>>) -> Option<&'d DraftNode> {
    // Sub-processes with a user task or a timer inside, at any depth.
    let parent: HashMap<&str, Option<&str>> =
        draft.nodes.iter().map(|n| (n.node.id.as_str(), n.node.scope.as_deref())).collect();
    let mut waiting_inside: HashSet<&str> = HashSet::new();
    for n in &draft.nodes {
        if matches!(n.node.kind, NodeKind::UserTask { .. } | NodeKind::TimerCatch { .. }) {
            let mut scope = n.node.scope.as_deref();
            while let Some(s) = scope {
                if !waiting_inside.insert(s) {
                    break;
                }
                scope = parent.get(s).copied().flatten();
            }
        }
    }
    let passes = |n: &DraftNode| match &n.node.kind {
        NodeKind::Exclusive { .. } | NodeKind::Parallel | NodeKind::Pass | NodeKind::Milestone => true,
        NodeKind::SubProcess => !waiting_inside.contains(n.node.id.as_str()),
        _ => false,
    };
    let by_id: HashMap<&str, &DraftNode> = draft.nodes.iter().map(|n| (n.node.id.as_str(), n)).collect();
    // 0: not visited, 1: on the current path, 2: done.
    let mut state: HashMap<&str, u8> = HashMap::new();
    let none = Vec::new();
    for root in draft.nodes.iter().filter(|n| passes(n)) {
        if state.contains_key(root.node.id.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(root.node.id.as_str(), 0)];
        state.insert(root.node.id.as_str(), 1);
        while let Some((id, next)) = stack.last_mut() {
            let outs = outgoing.get(*id).unwrap_or(&none);
            let Some(f) = outs.get(*next) else {
                state.insert(id, 2);
                stack.pop();
                continue;
            };
            *next += 1;
            let Some(target) = by_id.get(f.target.as_str()).copied().filter(|t| passes(t)) else {
                continue;
            };
            match state.get(target.node.id.as_str()) {
                Some(1) => return Some(target),
                Some(_) => {}
                None => {
                    state.insert(target.node.id.as_str(), 1);
                    stack.push((target.node.id.as_str(), 0));
                }
            }
        }
    }
    None
}

fn check_exclusive(n: &DraftNode, default: Option<&str>, outgoing: &[&DraftFlow]) -> Result<(), BpmnError> {
    let this = describe(n);
    if let Some(default) = default {
        let Some(flow) = outgoing.iter().find(|f| f.id == default) else {
            return Err(n.pos.error(format!(
                "{this}: its default flow '{default}' is not one of its outgoing flows ({})",
                list(outgoing)
            )));
        };
        if let Some(c) = &flow.condition {
            return Err(c.pos.error(format!(
                "flow '{}' is the default flow of {this}, so it cannot have a condition: it is taken when no other \
                 condition holds",
                flow.id
            )));
        }
    }
    if outgoing.len() < 2 {
        return Ok(());
    }
    let unconditional: Vec<&&DraftFlow> =
        outgoing.iter().filter(|f| f.condition.is_none() && Some(f.id.as_str()) != default).collect();
    let Some(first) = unconditional.first() else {
        return Ok(());
    };
    if default.is_none() && unconditional.len() == outgoing.len() {
        return Err(n.pos.error(format!(
            "{this} has outgoing flows without conditions and no default flow; give each outgoing flow a \
             conditionExpression over data items, or mark one as the gateway's default"
        )));
    }
    Err(first.pos.error(format!(
        "flow '{}' leaves {this} without a condition and is not the gateway's default flow; give it a \
         conditionExpression, or make it the default",
        first.id
    )))
}

/// The declared items plus an implicit item for every variable conditions use
/// that is not declared, typed by how it is used.
fn data_items(draft: &Draft) -> Result<Vec<DataItemDef>, BpmnError> {
    let mut implicit: Vec<(String, VarUse, &str)> = Vec::new();
    for f in &draft.flows {
        let Some(c) = &f.condition else { continue };
        for (var, used) in c.condition.variable_uses() {
            if draft.items.iter().any(|i| i.key == var) {
                continue;
            }
            match implicit.iter_mut().find(|(v, _, _)| *v == var) {
                None => implicit.push((var, used, f.id.as_str())),
                Some((_, seen, seen_in)) => {
                    if *seen == VarUse::Unknown {
                        (*seen, *seen_in) = (used, f.id.as_str());
                    } else if used != VarUse::Unknown && used != *seen {
                        return Err(conflict(f, &var, (*seen, seen_in), used));
                    }
                }
            }
        }
    }
    let mut items = draft.items.clone();
    items.extend(implicit.into_iter().map(|(key, used, _)| DataItemDef {
        label: key.clone(),
        key,
        data_type: used.data_type(),
        required: false,
        options: Vec::new(),
        implicit: true,
    }));
    Ok(items)
}

fn conflict(f: &DraftFlow, var: &str, (seen, seen_in): (VarUse, &str), used: VarUse) -> BpmnError {
    let Some(c) = &f.condition else {
        return f.pos.error(format!("flow '{}' uses '{var}' in conflicting ways", f.id));
    };
    let how = if seen_in == f.id {
        format!("uses '{var}' both as a {} and as a {}", seen.as_str(), used.as_str())
    } else {
        format!("uses '{var}' as a {}, but flow '{seen_in}' uses it as a {}", used.as_str(), seen.as_str())
    };
    c.pos.error(format!(
        "flow '{}': condition '{}' {how}; declare it with <flowcal:dataItem key=\"{var}\" type=\"…\"/> and compare \
         it with values of that type",
        f.id, c.condition.text
    ))
}
