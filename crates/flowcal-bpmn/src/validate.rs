//! Checks that need the whole model: flow references, the shape of the graph
//! (one start, every node reachable, every path ending), gateway conditions and
//! defaults, and the data items conditions use (implicit items are added here).

use crate::read::{Draft, DraftFlow, DraftNode};
use crate::BpmnError;
use flowcal_domain::condition::VarUse;
use flowcal_domain::{DataItemDef, Flow, NodeKind, ProcessModel};
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
        format!("{word} '{}' ({})", n.node.id, n.node.name)
    } else {
        format!("{word} '{}'", n.node.id)
    }
}

fn list(flows: &[&DraftFlow]) -> String {
    flows.iter().map(|f| format!("'{}'", f.id)).collect::<Vec<_>>().join(", ")
}

pub(crate) fn validate(draft: Draft) -> Result<ProcessModel, BpmnError> {
    let node_ids: HashSet<&str> = draft.nodes.iter().map(|n| n.node.id.as_str()).collect();

    for f in &draft.flows {
        for (end, verb) in [(&f.source, "starts at"), (&f.target, "points to")] {
            if !node_ids.contains(end.as_str()) {
                return Err(f
                    .pos
                    .error(format!("sequence flow '{}' {verb} '{end}', which is not a node of this process", f.id)));
            }
        }
    }

    let starts: Vec<&DraftNode> = draft.nodes.iter().filter(|n| n.node.kind == NodeKind::Start).collect();
    let start = match starts.as_slice() {
        [] => return Err(draft.process_pos.error("the process has no start event (bpmn:startEvent)")),
        [one] => *one,
        [first, second, ..] => {
            return Err(second.pos.error(format!(
                "the process has a second start event '{}' (the first is '{}'); flowcal starts every instance at \
                 one start event",
                second.node.id, first.node.id
            )))
        }
    };
    if !draft.nodes.iter().any(|n| n.node.kind == NodeKind::End) {
        return Err(draft.process_pos.error("the process has no end event (bpmn:endEvent)"));
    }

    // Flows by node, in document order (built once: models can be large).
    let mut incoming: HashMap<&str, Vec<&DraftFlow>> = HashMap::new();
    let mut outgoing: HashMap<&str, Vec<&DraftFlow>> = HashMap::new();
    for f in &draft.flows {
        incoming.entry(f.target.as_str()).or_default().push(f);
        outgoing.entry(f.source.as_str()).or_default().push(f);
    }
    let none = Vec::new();
    for n in &draft.nodes {
        let id = n.node.id.as_str();
        check_node(n, incoming.get(id).unwrap_or(&none), outgoing.get(id).unwrap_or(&none))?;
    }

    // Every node must be reachable from the start.
    let mut seen: HashSet<&str> = HashSet::from([start.node.id.as_str()]);
    let mut queue = VecDeque::from([start.node.id.as_str()]);
    while let Some(id) = queue.pop_front() {
        for f in outgoing.get(id).unwrap_or(&none) {
            if seen.insert(f.target.as_str()) {
                queue.push_back(f.target.as_str());
            }
        }
    }
    if let Some(n) = draft.nodes.iter().find(|n| !seen.contains(n.node.id.as_str())) {
        return Err(n.pos.error(format!("{} cannot be reached from the start event", describe(n))));
    }

    // A loop through gateways only would move a token forever without
    // waiting anywhere.
    let is_gateway = |id: &str| {
        draft
            .nodes
            .iter()
            .find(|n| n.node.id == id)
            .is_some_and(|n| matches!(n.node.kind, NodeKind::Exclusive { .. } | NodeKind::Parallel))
    };
    let gateways: HashSet<&str> = draft.nodes.iter().map(|n| n.node.id.as_str()).filter(|id| is_gateway(id)).collect();
    for n in draft.nodes.iter().filter(|n| gateways.contains(n.node.id.as_str())) {
        let me = n.node.id.as_str();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([me]);
        while let Some(id) = queue.pop_front() {
            for f in outgoing.get(id).unwrap_or(&none) {
                let t = f.target.as_str();
                if t == me {
                    return Err(n.pos.error(format!(
                        "{} is on a loop that passes no user task: a token would circle there forever",
                        describe(n)
                    )));
                }
                if gateways.contains(t) && seen.insert(t) {
                    queue.push_back(t);
                }
            }
        }
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
        start_timer: None,
        nodes: draft.nodes.into_iter().map(|n| n.node).collect(),
        flows: draft
            .flows
            .into_iter()
            .map(|f| Flow { id: f.id, source: f.source, target: f.target, condition: f.condition.map(|c| c.condition) })
            .collect(),
    })
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
    if n.node.kind != NodeKind::End && outgoing.is_empty() {
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
        NodeKind::End => {
            if !outgoing.is_empty() {
                return Err(
                    at.error(format!("{this} has an outgoing flow ({}); an end event ends its path", list(outgoing)))
                );
            }
        }
        NodeKind::UserTask { .. } => {
            if incoming.is_empty() {
                return Err(at.error(format!("{this} has no incoming flow, so it cannot be reached")));
            }
            if outgoing.len() > 1 {
                return Err(at.error(format!(
                    "{this} has {} outgoing flows ({}); a task has exactly one: split with a parallel gateway (all \
                     paths) or an exclusive gateway (one path)",
                    outgoing.len(),
                    list(outgoing)
                )));
            }
        }
        NodeKind::Exclusive { default } => check_exclusive(n, default.as_deref(), outgoing)?,
        _ => {}
    }
    Ok(())
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
