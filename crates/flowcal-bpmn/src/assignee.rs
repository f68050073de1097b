//! Who a user task goes to. In this order, the first that the model gives
//! wins: `flowcal:assignee`, the task's resource role (`potentialOwner`,
//! `humanPerformer` or `performer`), the innermost lane that lists the task,
//! and else the user who started the instance.
//!
//! A resource role names its candidate with a `formalExpression`
//! (`user(LOGIN)`, `group(ROLE)`, or a plain name: a role in `potentialOwner`,
//! the user in `humanPerformer` and `performer`, as Camunda and Activiti read
//! them) or with a `resourceRef` to a `bpmn:resource`, whose name is a role.
//! A task goes to one user or one role: several candidates are refused.

use crate::read::{attr, bpmn_children, collapse, elements, flowcal_attr, is_bpmn, text_of, Lines};
use crate::{BpmnError, Pos};
use flowcal_domain::user::valid_role;
use flowcal_domain::{AssigneeRule, DataItemDef, DataType, Login};
use flowcal_xml::roxmltree::Node as XNode;
use std::collections::HashMap;

/// The resource roles flowcal reads on a task.
const RESOURCE_ROLES: [&str; 3] = ["potentialOwner", "humanPerformer", "performer"];

/// What decides an assignee besides the task itself.
pub(crate) struct Assignment<'a> {
    /// Node id → role (the name of the innermost lane that lists it).
    pub roles: &'a HashMap<String, String>,
    /// `bpmn:resource` id → its name.
    pub resources: &'a HashMap<String, String>,
}

/// Node id → role, from the lanes of the process and of its embedded
/// sub-processes (a lane's `flowNodeRef` may name a node inside one).
pub(crate) fn read_lanes(process: XNode<'_, '_>, lines: &Lines<'_>) -> Result<HashMap<String, String>, BpmnError> {
    let mut roles = HashMap::new();
    // The process, then its sub-processes level by level: a lane of a
    // sub-process overrides one of the process around it.
    let mut containers = std::collections::VecDeque::from([process]);
    while let Some(container) = containers.pop_front() {
        containers.extend(bpmn_children(container, "subProcess"));
        for set in bpmn_children(container, "laneSet") {
            // Document order: a nested lane comes after its parent and overrides it.
            for lane in set.descendants().filter(|d| is_bpmn(*d, "lane")) {
                let name = lane.attribute("name").map(collapse).unwrap_or_default();
                let role = if name.is_empty() { attr(lane, "id").unwrap_or_default().to_owned() } else { name };
                let refs: Vec<&str> = bpmn_children(lane, "flowNodeRef")
                    .filter_map(|r| r.text().map(str::trim))
                    .filter(|t| !t.is_empty())
                    .collect();
                if refs.is_empty() {
                    continue;
                }
                if !valid_role(&role) {
                    return Err(lines.pos(lane).error(format!(
                        "lane name '{role}' cannot be a role: give the lane a name of 1 to 64 characters"
                    )));
                }
                for r in refs {
                    roles.insert(r.to_owned(), role.clone());
                }
            }
        }
    }
    Ok(roles)
}

/// The file's `bpmn:resource` elements: id → name (the id when unnamed).
pub(crate) fn read_resources(root: XNode<'_, '_>) -> HashMap<String, String> {
    bpmn_children(root, "resource")
        .filter_map(|r| {
            let id = attr(r, "id")?;
            let name = r.attribute("name").map(collapse).filter(|n| !n.is_empty()).unwrap_or_else(|| id.to_owned());
            Some((id.to_owned(), name))
        })
        .collect()
}

pub(crate) fn read_assignee(
    el: XNode<'_, '_>,
    id: &str,
    at: Pos,
    items: &[DataItemDef],
    assignment: &Assignment<'_>,
    lines: &Lines<'_>,
) -> Result<AssigneeRule, BpmnError> {
    if let Some(text) = flowcal_attr(el, "assignee") {
        return flowcal_assignee(text, id, at, items);
    }
    if let Some(rule) = resource_role(el, id, assignment, lines)? {
        return Ok(rule);
    }
    Ok(assignment.roles.get(id).map_or(AssigneeRule::Starter, |role| AssigneeRule::Role(role.clone())))
}

fn flowcal_assignee(text: &str, id: &str, at: Pos, items: &[DataItemDef]) -> Result<AssigneeRule, BpmnError> {
    let fail = |m: String| at.error(format!("task '{id}': {m}"));
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

/// One candidate as written, where, and in which kind of resource role.
struct Candidate<'a> {
    text: String,
    role: &'a str,
    /// The expression or resourceRef was a `resourceRef`: the text is a resource's name.
    resource: bool,
    pos: Pos,
}

/// The assignee the task's resource roles name, if they name one.
fn resource_role(
    el: XNode<'_, '_>,
    id: &str,
    assignment: &Assignment<'_>,
    lines: &Lines<'_>,
) -> Result<Option<AssigneeRule>, BpmnError> {
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    let mut first_role: Option<Pos> = None;
    for role_el in elements(el).filter(|c| RESOURCE_ROLES.iter().any(|r| is_bpmn(*c, r))) {
        let role = role_el.tag_name().name();
        first_role.get_or_insert(lines.pos(role_el));
        // An expression, when there is one, says more than the resource.
        let expression = bpmn_children(role_el, "resourceAssignmentExpression")
            .flat_map(elements)
            .find(|e| is_bpmn(*e, "formalExpression") || is_bpmn(*e, "expression"));
        if let Some(expr) = expression {
            let text = text_of(expr);
            let at = lines.pos(expr);
            if text.starts_with("${") || text.starts_with("#{") {
                return Err(at.error(format!(
                    "task '{id}': bpmn:{role} '{text}' is an expression, which flowcal does not evaluate; write \
                     user(LOGIN), group(ROLE) or a name, or flowcal:assignee=\"item:KEY\" for a user given as data"
                )));
            }
            candidates.extend(text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| Candidate {
                text: t.to_owned(),
                role,
                resource: false,
                pos: at,
            }));
            continue;
        }
        if let Some(r) = bpmn_children(role_el, "resourceRef").next() {
            let reference = text_of(r);
            if reference.is_empty() {
                continue;
            }
            let at = lines.pos(r);
            let name = assignment.resources.get(&reference).ok_or_else(|| {
                at.error(format!(
                    "task '{id}': bpmn:{role} names the resource '{reference}', which the file does not declare \
                     (bpmn:resource)"
                ))
            })?;
            candidates.push(Candidate { text: name.clone(), role, resource: true, pos: at });
        }
    }
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => candidate_rule(one, id).map(Some),
        several => {
            let named: Vec<String> = several.iter().map(|c| format!("{} '{}'", c.role, c.text)).collect();
            let at = first_role.unwrap_or(several[0].pos);
            Err(at.error(format!(
                "task '{id}' has several candidates ({}); flowcal gives a task to one user or one role: keep one \
                 (a role's members may each claim the task), or put the task in a lane",
                named.join(", ")
            )))
        }
    }
}

fn candidate_rule(c: &Candidate<'_>, id: &str) -> Result<AssigneeRule, BpmnError> {
    let fail = |m: String| c.pos.error(format!("task '{id}': bpmn:{} {m}", c.role));
    let as_role = |name: &str| {
        if valid_role(name) {
            Ok(AssigneeRule::Role(name.to_owned()))
        } else {
            Err(fail(format!("names the role '{name}', which cannot be a role: use 1 to 64 characters")))
        }
    };
    let as_user = |login: &str| {
        Login::parse(login)
            .map(|l| AssigneeRule::User(l.as_str().to_owned()))
            .map_err(|e| fail(format!("names the user '{login}': {e}; write group(ROLE) for a role")))
    };
    let inner = |prefix: &str| c.text.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')).map(str::trim);
    if c.resource {
        return as_role(&c.text);
    }
    if let Some(login) = inner("user(") {
        return as_user(login);
    }
    if let Some(role) = inner("group(") {
        return as_role(role);
    }
    if c.role == "potentialOwner" {
        as_role(&c.text)
    } else {
        as_user(&c.text)
    }
}
