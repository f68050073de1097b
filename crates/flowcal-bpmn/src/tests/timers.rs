//! Timer events: start timers, intermediate timer events, boundary timers on
//! user tasks, the three kinds of definition and what each accepts.

use super::{assert_refused, doc, listed, ok, refused, END, F1, F2, START, TASK};
use flowcal_domain::{IsoDuration, NodeKind, ProcessModel, TimerDate, TimerSpec, TimerWhen};
use jiff::civil::date;

fn timer(part: &str) -> String {
    format!("<bpmn:timerEventDefinition>{part}</bpmn:timerEventDefinition>")
}

/// start → t (a timer event, line 5) → end. Its definition starts at column
/// 37 and what is inside the definition at column 64.
fn catch(definition: &str) -> String {
    doc(&[
        START,
        &format!(r#"<bpmn:intermediateCatchEvent id="t">{definition}</bpmn:intermediateCatchEvent>"#),
        END,
        F1,
        F2,
    ])
}

const ITEMS: [&str; 5] = [
    "<bpmn:extensionElements>",
    r#"<flowcal:dataItem key="due" type="date"/>"#,
    r#"<flowcal:dataItem key="meeting" type="datetime"/>"#,
    r#"<flowcal:dataItem key="note" type="string"/>"#,
    "</bpmn:extensionElements>",
];

/// Data items (lines 4–8), then start → t (a timer event with `attrs`, line
/// 10) → end.
fn catch_with_items(part: &str, attrs: &str) -> String {
    let event = format!(r#"<bpmn:intermediateCatchEvent id="t"{attrs}>{}</bpmn:intermediateCatchEvent>"#, timer(part));
    let mut body = ITEMS.to_vec();
    body.extend([START, &event, END, F1, F2]);
    doc(&body)
}

fn caught(m: &ProcessModel) -> TimerSpec {
    match m.node("t").map(|n| &n.kind) {
        Some(NodeKind::TimerCatch { timer }) => timer.clone(),
        other => panic!("t is not a timer event: {other:?}"),
    }
}

fn when(xml: &str) -> TimerWhen {
    caught(&ok(xml)).when
}

fn days(n: i64) -> IsoDuration {
    IsoDuration { days: n, ..IsoDuration::default() }
}

fn hours(n: i64) -> IsoDuration {
    IsoDuration { hours: n, ..IsoDuration::default() }
}

// ---------------------------------------------------------------------------
// Where timers are

#[test]
fn a_start_timer_starts_instances() {
    let xml = doc(&[
        &format!(
            r#"<bpmn:startEvent id="start">{}</bpmn:startEvent>"#,
            timer("<bpmn:timeCycle>R/P1W</bpmn:timeCycle>")
        ),
        TASK,
        END,
        F1,
        F2,
    ]);
    let m = ok(&xml);
    assert_eq!(m.node("start").map(|n| n.kind.clone()), Some(NodeKind::Start));
    let every_week = IsoDuration { weeks: 1, ..IsoDuration::default() };
    assert_eq!(
        m.start_timer,
        Some(TimerSpec {
            when: TimerWhen::Cycle { repeat: None, start: None, every: every_week },
            from_deadline: false
        })
    );
    // Without a timer there is none.
    assert_eq!(ok(&doc(&[START, TASK, END, F1, F2])).start_timer, None);
}

#[test]
fn an_intermediate_timer_event_waits() {
    let m = ok(&catch(&timer("<bpmn:timeDuration>PT2H</bpmn:timeDuration>")));
    assert_eq!(caught(&m), TimerSpec { when: TimerWhen::After(hours(2)), from_deadline: false });
    assert_eq!(m.start_timer, None);
}

/// start → t (user task with a deadline, line 5) → end, and `boundary` on
/// line 6, whose path leads to `after` (line 8) and on to the end.
fn with_boundary(boundary: &str) -> String {
    doc(&[
        START,
        r#"<bpmn:userTask id="t" flowcal:deadline="P1D"/>"#,
        boundary,
        r#"<bpmn:endEvent id="end"/>"#,
        r#"<bpmn:userTask id="after"/>"#,
        F1,
        F2,
        r#"<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="after"/>"#,
        r#"<bpmn:sequenceFlow id="fa" sourceRef="after" targetRef="end"/>"#,
    ])
}

fn boundary(m: &ProcessModel) -> (String, bool, TimerSpec) {
    match m.node("b").map(|n| &n.kind) {
        Some(NodeKind::BoundaryTimer { attached_to, cancel, timer }) => (attached_to.clone(), *cancel, timer.clone()),
        other => panic!("b is not a boundary timer: {other:?}"),
    }
}

#[test]
fn boundary_timers_on_user_tasks_interrupt_by_default() {
    let xml = with_boundary(&format!(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t">{}</bpmn:boundaryEvent>"#,
        timer("<bpmn:timeDuration>P2D</bpmn:timeDuration>")
    ));
    let m = ok(&xml);
    assert_eq!(boundary(&m), ("t".into(), true, TimerSpec { when: TimerWhen::After(days(2)), from_deadline: false }));
    // Reached through its task: `after` is reached only through it.
    assert_eq!(m.boundary_timers("t").map(|n| n.id.as_str()).collect::<Vec<_>>(), ["b"]);

    let xml = with_boundary(&format!(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false">{}</bpmn:boundaryEvent>"#,
        timer("<bpmn:timeCycle>R3/PT4H</bpmn:timeCycle>")
    ));
    let (_, cancel, spec) = boundary(&ok(&xml));
    assert!(!cancel);
    assert_eq!(spec.when, TimerWhen::Cycle { repeat: Some(3), start: None, every: hours(4) });
}

#[test]
fn a_deadline_timer_counts_from_the_tasks_deadline() {
    let at_deadline = with_boundary(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false" flowcal:deadlineTimer="true"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>"#,
    );
    assert_eq!(boundary(&ok(&at_deadline)).2, TimerSpec { when: TimerWhen::AtAnchor, from_deadline: true });
    let a_day_after = with_boundary(&format!(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t" flowcal:deadlineTimer="true">{}</bpmn:boundaryEvent>"#,
        timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")
    ));
    assert_eq!(boundary(&ok(&a_day_after)).2, TimerSpec { when: TimerWhen::After(days(1)), from_deadline: true });
}

// ---------------------------------------------------------------------------
// What the definitions say

#[test]
fn time_dates_are_instants_civil_times_or_items() {
    let at = |text: &str| when(&catch(&timer(&format!("<bpmn:timeDate>{text}</bpmn:timeDate>"))));
    let instant = |s: &str| TimerWhen::At(TimerDate::Instant(s.parse().unwrap()));
    assert_eq!(at("2026-04-01T09:00:00Z"), instant("2026-04-01T09:00:00Z"));
    assert_eq!(at(" 2026-04-01T09:00:00+02:00 "), instant("2026-04-01T07:00:00Z"));
    assert_eq!(at("2026-04-01T09:00:00"), TimerWhen::At(TimerDate::Civil(date(2026, 4, 1).at(9, 0, 0, 0))));
    assert_eq!(at("2026-04-01"), TimerWhen::At(TimerDate::Civil(date(2026, 4, 1).at(0, 0, 0, 0))));
    // CDATA, as some modelers write it.
    assert_eq!(at("<![CDATA[2026-04-01]]>"), TimerWhen::At(TimerDate::Civil(date(2026, 4, 1).at(0, 0, 0, 0))));

    for written in ["due", "${due}", "#{due}", "=due", "${ due }"] {
        let xml = catch_with_items(&format!("<bpmn:timeDate>{written}</bpmn:timeDate>"), "");
        assert_eq!(when(&xml), TimerWhen::At(TimerDate::Item { key: "due".into(), offset: None }), "{written}");
    }
    let xml = catch_with_items("<bpmn:timeDate>${meeting}</bpmn:timeDate>", r#" flowcal:timerOffset="-PT30M""#);
    let half_an_hour_before = IsoDuration { negative: true, minutes: 30, ..IsoDuration::default() };
    assert_eq!(when(&xml), TimerWhen::At(TimerDate::Item { key: "meeting".into(), offset: Some(half_an_hour_before) }));
    let spec = caught(&ok(&xml));
    assert_eq!(spec.item(), Some("meeting"));
}

#[test]
fn time_cycles_are_iso_8601_repeating_intervals() {
    let cycle = |text: &str| when(&catch_with_items(&format!("<bpmn:timeCycle>{text}</bpmn:timeCycle>"), ""));
    assert_eq!(cycle("R/PT1H"), TimerWhen::Cycle { repeat: None, start: None, every: hours(1) });
    assert_eq!(cycle("R6/P1D"), TimerWhen::Cycle { repeat: Some(6), start: None, every: days(1) });
    assert_eq!(
        cycle("R/2026-04-01T09:00:00Z/P1W"),
        TimerWhen::Cycle {
            repeat: None,
            start: Some(TimerDate::Instant("2026-04-01T09:00:00Z".parse().unwrap())),
            every: IsoDuration { weeks: 1, ..IsoDuration::default() }
        }
    );
    assert_eq!(
        cycle("R2/${due}/P1D"),
        TimerWhen::Cycle {
            repeat: Some(2),
            start: Some(TimerDate::Item { key: "due".into(), offset: None }),
            every: days(1)
        }
    );
}

// ---------------------------------------------------------------------------
// Refused definitions (positions are the element at fault's)

#[test]
fn refuses_a_timer_without_or_with_several_definitions() {
    assert_refused(
        &catch("<bpmn:timerEventDefinition/>"),
        5,
        37,
        "timer event 't' has a timer without timeDuration, timeDate or timeCycle: give it one, for example \
         <bpmn:timeDuration>PT2H</bpmn:timeDuration>",
    );
    assert_refused(
        &with_boundary(
            r#"<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>"#,
        ),
        6,
        46,
        "boundary timer 'b' has a timer without timeDuration, timeDate or timeCycle: give it one, for example \
         <bpmn:timeDuration>PT2H</bpmn:timeDuration>, or flowcal:deadlineTimer=\"true\" on the event to fire at the \
         task's deadline",
    );
    assert_refused(
        &catch(&timer("<bpmn:timeDuration>PT1H</bpmn:timeDuration><bpmn:timeDate>2026-04-01</bpmn:timeDate>")),
        5,
        107,
        "timer event 't' has both timeDuration and timeDate; a timer has exactly one of timeDuration, timeDate and \
         timeCycle",
    );
    assert_refused(
        &catch(&format!("{}{}", timer("<bpmn:timeDuration>PT1H</bpmn:timeDuration>"), "<bpmn:timerEventDefinition/>")),
        5,
        135,
        "event 't' has 2 timerEventDefinition elements; a timer event has one",
    );
    assert_refused(
        &catch(&timer("<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\"> </bpmn:timeDuration>")),
        5,
        64,
        "timer event 't': its timeDuration is empty; write an ISO 8601 duration such as PT2H or P3D",
    );
}

#[test]
fn refuses_bad_durations() {
    let refuse = |text: &str, message: &str| {
        assert_refused(&catch(&timer(&format!("<bpmn:timeDuration>{text}</bpmn:timeDuration>"))), 5, 64, message)
    };
    refuse("-PT1H", "timer event 't': timeDuration '-PT1H' is negative; a timer counts forward from when it starts");
    refuse(
        "2 hours",
        "timer event 't': timeDuration '2 hours' is not an ISO 8601 duration (it must start with P); write for \
         example P3D, PT4H, P1DT12H or -P1D",
    );
}

#[test]
fn refuses_bad_dates() {
    let refuse = |text: &str, message: &str| {
        assert_refused(&catch_with_items(&format!("<bpmn:timeDate>{text}</bpmn:timeDate>"), ""), 10, 64, message)
    };
    refuse(
        "tomorrow at nine",
        "timer event 't': timeDate 'tomorrow at nine' is neither a date nor a data item; write an ISO 8601 date-time \
         with Z or an offset (2026-04-01T09:00:00+02:00), one without offset or a date (in the model's time zone: \
         2026-04-01T09:00:00, 2026-04-01), or the key of a date or datetime item (due, ${due}, #{due} or =due)",
    );
    refuse(
        "${deadline}",
        "timer event 't': timeDate names item 'deadline', but there is no such item: declare it with \
         <flowcal:dataItem key=\"deadline\" type=\"datetime\"/> (or type=\"date\") in the process's extensionElements",
    );
    refuse(
        "=note",
        "timer event 't': timeDate names item 'note', which is a string item; a timer's date comes from a date or \
         datetime item",
    );
    refuse(
        "P1D",
        "timer event 't': timeDate 'P1D' is a duration, not a date: use timeDuration for a timer that fires after a \
         while",
    );
    refuse(
        "2026-04-01T09:00[Europe/Berlin]",
        "timer event 't': timeDate '2026-04-01T09:00[Europe/Berlin]' has a time zone annotation, which flowcal does \
         not read: give an offset, or no offset for the model's time zone",
    );
}

#[test]
fn refuses_cycles_flowcal_does_not_read() {
    let tail = "flowcal reads ISO 8601 repeating intervals R/PERIOD, Rn/PERIOD and R[n]/START/PERIOD, for example \
                R3/PT10M or R/2026-04-01T09:00:00Z/P1W (START as in a timeDate)";
    let refuse = |text: &str, why: &str| {
        assert_refused(
            &catch_with_items(&format!("<bpmn:timeCycle>{text}</bpmn:timeCycle>"), ""),
            10,
            64,
            &format!("timer event 't': timeCycle '{text}' is not supported: {why}; {tail}"),
        )
    };
    refuse("0 0 9 * * ?", "it looks like a cron expression, which flowcal does not read");
    refuse("R/P1D/2026-12-31T00:00:00Z", "a cycle with an end (R/PERIOD/END) is not supported");
    refuse("R/2026-04-01/2026-12-31", "R/START/END is not supported");
    refuse("R0/P1D", "R0 never fires");
    refuse("P1D", "it does not start with R or Rn");
    refuse("Rx/P1D", "'Rx' is not R or Rn with a number n");
    refuse("R/a/b/c", "it has too many or too few parts");
    assert_refused(
        &catch_with_items("<bpmn:timeCycle>R/PT0S</bpmn:timeCycle>", ""),
        10,
        64,
        "timer event 't': timeCycle 'R/PT0S' repeats every PT0S, which would fire without end at once",
    );
    assert_refused(
        &catch_with_items("<bpmn:timeCycle>R3/-P1D</bpmn:timeCycle>", ""),
        10,
        64,
        "timer event 't': timeCycle PERIOD '-P1D' is negative; a timer counts forward from when it starts",
    );
    assert_refused(
        &catch_with_items("<bpmn:timeCycle>R/someday/P1D</bpmn:timeCycle>", ""),
        10,
        64,
        "timer event 't': timeCycle START names item 'someday', but there is no such item: declare it with \
         <flowcal:dataItem key=\"someday\" type=\"datetime\"/> (or type=\"date\") in the process's extensionElements",
    );
}

// ---------------------------------------------------------------------------
// Refused uses of timers and flowcal's timer attributes

#[test]
fn refuses_a_timer_offset_without_a_date_item() {
    assert_refused(
        &catch_with_items("<bpmn:timeDuration>P1D</bpmn:timeDuration>", r#" flowcal:timerOffset="-P1D""#),
        10,
        1,
        "timer event 't': flowcal:timerOffset moves a date read from a data item, but this timer's date is not one: \
         remove it, or name a date or datetime item in the timeDate",
    );
    assert_refused(
        &catch_with_items("<bpmn:timeDate>due</bpmn:timeDate>", r#" flowcal:timerOffset="one day""#),
        10,
        1,
        "timer event 't': flowcal:timerOffset 'one day' is not an ISO 8601 duration (it must start with P); write \
         for example P3D, PT4H, P1DT12H or -P1D",
    );
}

#[test]
fn refuses_timers_where_flowcal_cannot_run_them() {
    // A start timer reads no data: there is none before it fires.
    let mut body = ITEMS.to_vec();
    let start =
        format!(r#"<bpmn:startEvent id="start">{}</bpmn:startEvent>"#, timer("<bpmn:timeDate>due</bpmn:timeDate>"));
    body.extend([start.as_str(), TASK, END, F1, F2]);
    assert_refused(
        &doc(&body),
        9,
        56,
        "start event 'start': a start timer cannot read a data item: before it fires there is no instance and no \
         data; give a date or a duration",
    );
    // Nor does a sub-process start on a timer.
    let xml = doc(&[
        START,
        r#"<bpmn:subProcess id="t">"#,
        &format!(
            r#"<bpmn:startEvent id="s">{}</bpmn:startEvent>"#,
            timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")
        ),
        r#"<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="a" sourceRef="s" targetRef="e"/></bpmn:subProcess>"#,
        END,
        F1,
        F2,
    ]);
    assert_refused(
        &xml,
        6,
        1,
        "the start event 's' of sub-process 't' has a timer; a sub-process starts when a token reaches it: put the \
         timer on an intermediate timer event before the sub-process",
    );
}

#[test]
fn refuses_deadline_timers_that_cannot_count_from_a_deadline() {
    let without_deadline = with_boundary(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t" flowcal:deadlineTimer="true"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>"#,
    )
    .replace(r#" flowcal:deadline="P1D""#, "");
    assert_refused(
        &without_deadline,
        6,
        1,
        "boundary timer 'b' has flowcal:deadlineTimer=\"true\", but its task user task 't' has no deadline: give the \
         task flowcal:deadline or flowcal:deadlineFrom, or remove flowcal:deadlineTimer",
    );
    assert_refused(
        &with_boundary(&format!(
            r#"<bpmn:boundaryEvent id="b" attachedToRef="t" flowcal:deadlineTimer="true">{}</bpmn:boundaryEvent>"#,
            timer("<bpmn:timeDate>2026-04-01</bpmn:timeDate>")
        )),
        6,
        102,
        "boundary timer 'b' has flowcal:deadlineTimer=\"true\", which counts from the task's deadline, but a timeDate \
         is a date of its own: use a timeDuration, a timeCycle without START, or no definition (at the deadline)",
    );
    assert_refused(
        &with_boundary(
            r#"<bpmn:boundaryEvent id="b" attachedToRef="t" flowcal:deadlineTimer="yes"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>"#,
        ),
        6,
        1,
        "boundary timer 'b': flowcal:deadlineTimer=\"yes\" is neither \"true\" nor \"false\"",
    );
    assert_refused(
        &catch(&timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")).replace(
            r#"<bpmn:intermediateCatchEvent id="t">"#,
            r#"<bpmn:intermediateCatchEvent id="t" flowcal:deadlineTimer="true">"#,
        ),
        5,
        1,
        "flowcal:deadlineTimer has no meaning on bpmn:intermediateCatchEvent: only a boundary timer on a user task \
         counts from the task's deadline",
    );
}

#[test]
fn refuses_boundary_timers_on_anything_but_a_user_task() {
    let on = |target: &str| {
        doc(&[
            START,
            target,
            &format!(
                r#"<bpmn:boundaryEvent id="b" attachedToRef="t">{}</bpmn:boundaryEvent>"#,
                timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")
            ),
            END,
            F1,
            F2,
            r#"<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="end"/>"#,
        ])
    };
    assert_refused(
        &on(r#"<bpmn:task id="t" name="Call"/>"#),
        6,
        1,
        "boundary timer 'b' is attached to task 't' (Call); flowcal runs boundary timers on user tasks only (a \
         bpmn:task without assignee, lane or performer is a step the token passes straight through: make it a \
         bpmn:userTask or give it flowcal:assignee)",
    );
    assert_refused(
        &on(r#"<bpmn:parallelGateway id="t"/>"#),
        6,
        1,
        "boundary timer 'b' is attached to parallel gateway 't'; flowcal runs boundary timers on user tasks only",
    );
    assert_refused(
        &on(TASK).replace(r#"attachedToRef="t""#, r#"attachedToRef="ghost""#),
        6,
        1,
        "boundary timer 'b' is attached to 'ghost', which is not a node of this process",
    );
    assert_refused(
        &on(TASK).replace(r#" attachedToRef="t""#, ""),
        6,
        1,
        "boundary event 'b' has no attachedToRef (the task it is on)",
    );
    assert_refused(
        &on(TASK).replace(r#"attachedToRef="t""#, r#"attachedToRef="t" cancelActivity="no""#),
        6,
        1,
        "boundary event 'b': cancelActivity=\"no\" is neither \"true\" nor \"false\"",
    );
}

#[test]
fn refuses_a_boundary_timer_written_outside_its_tasks_sub_process() {
    let xml = doc(&[
        START,
        r#"<bpmn:subProcess id="sub"><bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>"#,
        r#"<bpmn:sequenceFlow id="a" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="b" sourceRef="t" targetRef="e"/></bpmn:subProcess>"#,
        &format!(
            r#"<bpmn:boundaryEvent id="late" attachedToRef="t">{}</bpmn:boundaryEvent>"#,
            timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")
        ),
        END,
        r#"<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>"#,
        r#"<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>"#,
        r#"<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="end"/>"#,
    ]);
    assert_refused(
        &xml,
        7,
        1,
        "boundary timer 'late' is in the process's top level but its task user task 't' is in sub-process 'sub'; \
         write the boundary event beside its task",
    );
}

#[test]
fn a_boundary_timer_has_no_incoming_and_one_outgoing_flow() {
    let base = with_boundary(&format!(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t">{}</bpmn:boundaryEvent>"#,
        timer("<bpmn:timeDuration>P1D</bpmn:timeDuration>")
    ));
    let into = base.replace(
        r#"<bpmn:sequenceFlow id="fa" sourceRef="after" targetRef="end"/>"#,
        r#"<bpmn:sequenceFlow id="fa" sourceRef="after" targetRef="b"/>"#,
    );
    assert_refused(
        &into,
        6,
        1,
        "boundary timer 'b' has an incoming flow ('fa'); a boundary event starts its path when its timer fires, so \
         nothing can lead to it",
    );
    let two = base.replace(
        r#"<bpmn:sequenceFlow id="fa" sourceRef="after" targetRef="end"/>"#,
        r#"<bpmn:sequenceFlow id="fa" sourceRef="after" targetRef="end"/><bpmn:sequenceFlow id="fc" sourceRef="b" targetRef="end"/>"#,
    );
    assert_refused(
        &two,
        6,
        1,
        "boundary timer 'b' has 2 outgoing flows ('fb', 'fc'); a boundary timer has exactly one: split with a \
         parallel gateway (all paths) or an exclusive gateway (one path)",
    );
    let none = base.replace(r#"<bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="after"/>"#, "");
    let e = refused(&none);
    assert_eq!(
        (e.line, e.message.as_str()),
        (6, "boundary timer 'b' has no outgoing flow; every path must lead to an end event")
    );
}

#[test]
fn refuses_events_without_a_definition_where_one_is_needed() {
    assert_refused(
        &catch(""),
        5,
        1,
        "intermediate catch event 't' has no event definition, so it would wait for nothing; flowcal's catch events \
         wait for a timer: give it a timerEventDefinition",
    );
    assert_refused(
        &with_boundary(r#"<bpmn:boundaryEvent id="b" attachedToRef="t"/>"#),
        6,
        1,
        "boundary event 'b' has no event definition; flowcal's boundary events are timers: give it a \
         timerEventDefinition",
    );
    // Other definitions are not in the subset at all.
    let e = refused(&with_boundary(
        r#"<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:messageEventDefinition/></bpmn:boundaryEvent>"#,
    ));
    assert_eq!(listed(&e), [("bpmn:messageEventDefinition", 6, 46)]);
}
