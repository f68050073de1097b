//! `flowcal:workCalendar` and `flowcal:deadlineRoll`: which work calendar a
//! step's deadline counts in.
//!
//! Precedence, most specific first: the attribute on the task, then on the
//! lane the task is in (the role's calendar; a nested lane overrides its
//! parent, a sub-process's lane the process's), then on the process. A step
//! with none counts its deadline in calendar days. Whether a named calendar
//! exists is not this crate's business: every name is kept with its position
//! ([`flowcal_domain::CalendarRef`]) for the caller to check.

use crate::read::{attr, bpmn_children, flowcal_attr, is_bpmn, Lines};
use crate::{BpmnError, Pos};
use flowcal_domain::workcal::valid_calendar_name;
use flowcal_domain::{CalendarRef, DeadlineRule, Roll};
use flowcal_xml::roxmltree::Node as XNode;
use std::cell::RefCell;
use std::collections::HashMap;

/// The calendars of the process and its lanes, and every name read so far.
pub(crate) struct Calendars {
    process: Option<String>,
    /// Flow node id → the calendar of its innermost lane that names one.
    lanes: HashMap<String, String>,
    refs: RefCell<Vec<CalendarRef>>,
}

fn checked_name(name: &str, at: Pos, on: &str) -> Result<String, BpmnError> {
    if valid_calendar_name(name) {
        return Ok(name.to_owned());
    }
    Err(at.error(format!(
        "{on}: flowcal:workCalendar '{name}' is not a work calendar name: use 1 to 64 characters a-z, 0-9 or '-', \
         starting and ending with a letter or digit (for example de-berlin)"
    )))
}

impl Calendars {
    /// Reads `flowcal:workCalendar` on the process and on its lanes (and
    /// those of its sub-processes).
    pub(crate) fn read(process: XNode<'_, '_>, lines: &Lines<'_>) -> Result<Self, BpmnError> {
        let mut refs = Vec::new();
        let at = lines.pos(process);
        let process_cal = match flowcal_attr(process, "workCalendar") {
            Some(name) => {
                let name = checked_name(name, at, "the process")?;
                refs.push(CalendarRef { name: name.clone(), line: at.line, column: at.column });
                Some(name)
            }
            None => None,
        };
        let mut lanes = HashMap::new();
        // As lanes give roles: the process first, then sub-processes level by
        // level; within a lane set, document order (a nested lane after its parent).
        let mut containers = std::collections::VecDeque::from([process]);
        while let Some(container) = containers.pop_front() {
            containers.extend(bpmn_children(container, "subProcess"));
            for set in bpmn_children(container, "laneSet") {
                for lane in set.descendants().filter(|d| is_bpmn(*d, "lane")) {
                    let Some(name) = flowcal_attr(lane, "workCalendar") else { continue };
                    let at = lines.pos(lane);
                    let lane_id = attr(lane, "id").unwrap_or_default();
                    let name = checked_name(name, at, &format!("lane '{lane_id}'"))?;
                    refs.push(CalendarRef { name: name.clone(), line: at.line, column: at.column });
                    for r in bpmn_children(lane, "flowNodeRef").filter_map(|r| r.text().map(str::trim)) {
                        if !r.is_empty() {
                            lanes.insert(r.to_owned(), name.clone());
                        }
                    }
                }
            }
        }
        Ok(Calendars { process: process_cal, lanes, refs: RefCell::new(refs) })
    }

    /// The calendar and roll of the user task `el`, remembering a name the
    /// task gives itself. A roll needs a calendar; months and years cannot
    /// be counted in working time.
    pub(crate) fn for_task(
        &self,
        el: XNode<'_, '_>,
        id: &str,
        at: Pos,
        deadline: &DeadlineRule,
    ) -> Result<(Option<String>, Roll), BpmnError> {
        let fail = |m: String| at.error(format!("task '{id}': {m}"));
        let calendar = match flowcal_attr(el, "workCalendar") {
            Some(name) => {
                let name = checked_name(name, at, &format!("task '{id}'"))?;
                self.refs.borrow_mut().push(CalendarRef { name: name.clone(), line: at.line, column: at.column });
                Some(name)
            }
            None => self.lanes.get(id).or(self.process.as_ref()).cloned(),
        };
        let roll = match flowcal_attr(el, "deadlineRoll") {
            None => Roll::Forward,
            Some(text) => Roll::parse(text).map_err(|e| fail(format!("flowcal:deadlineRoll: {e}")))?,
        };
        if calendar.is_none() && flowcal_attr(el, "deadlineRoll").is_some() {
            return Err(fail(
                "flowcal:deadlineRoll says where a deadline on a day off goes, but the task has no work calendar: \
                 give the task, its lane or the process flowcal:workCalendar"
                    .into(),
            ));
        }
        if calendar.is_some() {
            let duration = match deadline {
                DeadlineRule::After(d) => Some(("flowcal:deadline", d)),
                DeadlineRule::From { offset: Some(d), .. } => Some(("flowcal:deadlineOffset", d)),
                _ => None,
            };
            if let Some((what, d)) = duration.filter(|(_, d)| d.years != 0 || d.months != 0) {
                return Err(fail(format!(
                    "{what} '{d}' counts months or years, which a work calendar cannot count in working days: \
                     write days (P20D) or weeks (P4W)"
                )));
            }
        }
        Ok((calendar, roll))
    }

    /// Every calendar name the model gives, with where.
    pub(crate) fn into_refs(self) -> Vec<CalendarRef> {
        self.refs.into_inner()
    }
}
