//! `flowcal:workCalendar` on the process, a lane and a task, its precedence,
//! `flowcal:deadlineRoll`, and what a work calendar cannot count.

use super::{assert_refused, doc, ok, with_task, END, F1, F2, START};
use flowcal_domain::{CalendarRef, NodeKind, ProcessModel, Roll};

/// The calendar and roll of the user task `id`.
fn calendar(m: &ProcessModel, id: &str) -> (Option<String>, Roll) {
    match m.node(id).map(|n| &n.kind) {
        Some(NodeKind::UserTask { calendar, roll, .. }) => (calendar.clone(), *roll),
        other => panic!("{id} is not a user task: {other:?}"),
    }
}

fn on_process(xml: &str, calendar: &str) -> String {
    xml.replace(r#"isExecutable="true">"#, &format!(r#"isExecutable="true" flowcal:workCalendar="{calendar}">"#))
}

fn cal(name: &str, line: u32, column: u32) -> CalendarRef {
    CalendarRef { name: name.into(), line, column }
}

#[test]
fn the_task_wins_over_its_lane_and_the_lane_over_the_process() {
    let lanes = r#"<bpmn:laneSet id="ls">
<bpmn:lane id="l1" name="clerks" flowcal:workCalendar="de-berlin"><bpmn:flowNodeRef>a</bpmn:flowNodeRef></bpmn:lane>
<bpmn:lane id="l2" name="night"><bpmn:flowNodeRef>b</bpmn:flowNodeRef><bpmn:flowNodeRef>c</bpmn:flowNodeRef></bpmn:lane>
</bpmn:laneSet>"#;
    let xml = on_process(
        &doc(&[
            lanes,
            START,
            r#"<bpmn:userTask id="a" flowcal:deadline="P3D"/>"#,
            r#"<bpmn:userTask id="b" flowcal:deadline="P3D"/>"#,
            r#"<bpmn:userTask id="c" flowcal:deadline="PT8H" flowcal:workCalendar="us-ny" flowcal:deadlineRoll="backward"/>"#,
            END,
            r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>"#,
            r#"<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>"#,
            r#"<bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c"/>"#,
            r#"<bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="end"/>"#,
        ]),
        "uk-london",
    );
    let m = ok(&xml);
    assert_eq!(calendar(&m, "a"), (Some("de-berlin".into()), Roll::Forward));
    assert_eq!(calendar(&m, "b"), (Some("uk-london".into()), Roll::Forward));
    assert_eq!(calendar(&m, "c"), (Some("us-ny".into()), Roll::Backward));
    // Every name with the element that gives it: the process (line 3), the
    // lane (line 5), the task (line 11).
    assert_eq!(m.calendar_refs, [cal("uk-london", 3, 1), cal("de-berlin", 5, 1), cal("us-ny", 11, 1)]);
    assert_eq!(m.work_calendars().into_iter().collect::<Vec<_>>(), ["de-berlin", "uk-london", "us-ny"]);
}

#[test]
fn without_a_calendar_a_step_counts_calendar_days() {
    let m = ok(&with_task(r#"<bpmn:userTask id="t" flowcal:deadline="P3D"/>"#));
    assert_eq!(calendar(&m, "t"), (None, Roll::Forward));
    assert!(m.calendar_refs.is_empty());
}

#[test]
fn what_a_calendar_cannot_count_is_refused_where_it_is_written() {
    let task = |attrs: &str| with_task(&format!(r#"<bpmn:userTask id="t" {attrs}/>"#));
    assert_refused(
        &task(r#"flowcal:deadline="P1M" flowcal:workCalendar="de-berlin""#),
        5,
        1,
        "task 't': flowcal:deadline 'P1M' counts months or years, which a work calendar cannot count in working \
         days: write days (P20D) or weeks (P4W)",
    );
    assert_refused(
        &task(r#"flowcal:deadline="P3D" flowcal:deadlineRoll="forward""#),
        5,
        1,
        "task 't': flowcal:deadlineRoll says where a deadline on a day off goes, but the task has no work \
         calendar: give the task, its lane or the process flowcal:workCalendar",
    );
    assert_refused(
        &task(r#"flowcal:deadline="P3D" flowcal:workCalendar="de-berlin" flowcal:deadlineRoll="sideways""#),
        5,
        1,
        "task 't': flowcal:deadlineRoll: 'sideways' is not a roll: write forward or backward",
    );
    assert_refused(
        &task(r#"flowcal:workCalendar="De Berlin""#),
        5,
        1,
        "task 't': flowcal:workCalendar 'De Berlin' is not a work calendar name: use 1 to 64 characters a-z, 0-9 \
         or '-', starting and ending with a letter or digit (for example de-berlin)",
    );
    assert_refused(
        &on_process(&doc(&[START, r#"<bpmn:userTask id="t"/>"#, END, F1, F2]), "x_y"),
        3,
        1,
        "the process: flowcal:workCalendar 'x_y' is not a work calendar name: use 1 to 64 characters a-z, 0-9 \
         or '-', starting and ending with a letter or digit (for example de-berlin)",
    );
    // A misspelt attribute is not ignored.
    let e = super::refused(&task(r#"flowcal:workCalender="de-berlin""#));
    assert!(e.message.contains("unknown attribute flowcal:workCalender"), "{e}");
}
