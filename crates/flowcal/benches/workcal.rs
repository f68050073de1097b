//! Benchmark (not a test): deadline arithmetic under a work calendar, per task.
//!
//! - `P10D` (`add_days`, 10 working days, at the close of the working day)
//!   over a Monday–Friday calendar in Europe/Berlin with 100 holidays and
//!   lunch-split hours (09:00-12:00, 13:00-17:00); the goal is under 5 µs;
//! - the same day count alone (`busday_offset`, n = 10), and n = 5,000
//!   (whole weeks are counted at once, so this stays short);
//! - `PT40H` (`add_working_time`, 2,400 minutes) over the same calendar;
//! - compiling the calendar (once per calendar change, not per task).
//!
//! Each figure is the median of ROUNDS rounds over the same 1,000 start
//! instants, spread over four years (so holidays are passed at different
//! points), after a warm-up round.
//!
//! With `recompute N`: a holiday added to a calendar that N open tasks
//! count their deadlines in (SQLite in a temporary folder; each task's
//! owner auto-syncs to a CalDAV double, so each task has an export, delivered
//! before the change): the time from the change until every deadline is
//! recomputed and the outbox holds an update for each (the change returns
//! then; it is checked afterwards). Setting up N instances takes a while.
//!
//! Run: `cargo bench -p flowcal --bench workcal -- [ROUNDS]`, or
//! `cargo bench -p flowcal --bench workcal -- recompute 100000`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use flowcal_domain::workcal::{parse_hours, CompiledCalendar, Holiday, Roll, Weekmask, WorkCalendar};
use flowcal_domain::IsoDuration;
use jiff::civil::{date, Date};
use jiff::{Span, Timestamp};
use std::hint::black_box;
use std::time::Instant;

const STARTS: usize = 1_000;
const REPEAT: usize = 200;

/// Monday–Friday, lunch-split hours, 100 holidays on weekdays of 2026–2029
/// (25 a year, placed by a fixed sequence).
fn calendar() -> WorkCalendar {
    let mut c = WorkCalendar::new("bench", "Europe/Berlin", Weekmask::MON_FRI);
    c.hours = parse_hours(&["09:00-12:00", "13:00-17:00"]).unwrap();
    let mut x: u64 = 0x2026;
    while c.holidays.len() < 100 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let d = date(2026, 1, 1).checked_add(Span::new().days(((x >> 33) % (4 * 365)) as i64)).unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            c.holidays.insert(d, Holiday { name: "holiday".into(), hours: None });
        }
    }
    c
}

/// STARTS instants, every 35 h 17 min from Monday 5 January 2026 08:13 (any
/// hour and weekday, working or not), and their local dates.
fn starts(cal: &CompiledCalendar) -> Vec<(Timestamp, Date)> {
    let first = date(2026, 1, 5).at(8, 13, 0, 0).to_zoned(cal.zone().clone()).unwrap().timestamp();
    (0..STARTS)
        .map(|i| {
            let t = first.checked_add(Span::new().minutes(i as i64 * (35 * 60 + 17))).unwrap();
            (t, t.to_zoned(cal.zone().clone()).date())
        })
        .collect()
}

/// Nanoseconds per call of `f` over all starts: the median of `rounds` rounds.
fn measure(rounds: usize, starts: &[(Timestamp, Date)], f: impl Fn(Timestamp, Date) -> Option<i64>) -> (f64, f64) {
    let round = || {
        let t = Instant::now();
        for _ in 0..REPEAT {
            for &(ts, d) in starts {
                black_box(f(black_box(ts), black_box(d)));
            }
        }
        t.elapsed().as_nanos() as f64 / (REPEAT * starts.len()) as f64
    };
    round(); // warm-up
    let mut all: Vec<f64> = (0..rounds).map(|_| round()).collect();
    all.sort_by(f64::total_cmp);
    (all[all.len() / 2], all[0])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("recompute") {
        let n = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000usize);
        tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(recompute(n));
        return;
    }
    let rounds = args.iter().find_map(|a| a.parse().ok()).unwrap_or(7usize);
    let source = calendar();
    let cal = source.compile().unwrap();
    let starts = starts(&cal);
    println!(
        "work calendar: Mon-Fri, 09:00-12:00 + 13:00-17:00, Europe/Berlin, {} holidays; \
         {STARTS} start instants x {REPEAT}, median (best) of {rounds} rounds",
        source.holidays.len()
    );

    // P10D as the engine will read it: days (and weeks times the working week).
    let p10d = IsoDuration::parse("P10D").unwrap();
    let days = p10d.days + p10d.weeks * cal.working_days_per_week();
    let pt40h = IsoDuration::parse("PT40H").unwrap();
    let minutes = pt40h.hours * 60 + pt40h.minutes;

    let report = |label: &str, (median, best): (f64, f64)| {
        println!("{label:<52} {:>8.3} µs per deadline  (best {:.3} µs)", median / 1000.0, best / 1000.0);
    };
    report(
        "P10D, add_days (10 working days, at the close)",
        measure(rounds, &starts, |t, _| cal.add_days(t, days).map(|t| t.as_second())),
    );
    report(
        "busday_offset(date, 10, forward)",
        measure(rounds, &starts, |_, d| cal.busday_offset(d, 10, Roll::Forward).map(|d| i64::from(d.day()))),
    );
    report(
        "busday_offset(date, 5000, forward)",
        measure(rounds, &starts, |_, d| cal.busday_offset(d, 5000, Roll::Forward).map(|d| i64::from(d.day()))),
    );
    report(
        "PT40H, add_working_time (2,400 working minutes)",
        measure(rounds, &starts, |t, _| cal.add_working_time(t, minutes).map(|t| t.as_second())),
    );
    let rule = flowcal_domain::DeadlineRule::After(p10d);
    let work = flowcal_domain::WorkTime { calendar: &cal, roll: Roll::Forward };
    let (utc, data) = (jiff::tz::TimeZone::UTC, flowcal_domain::Data::new());
    report(
        "P10D, DeadlineRule::compute_in (what a step does)",
        measure(rounds, &starts, |t, _| match rule.compute_in(t, &utc, "UTC", &data, Some(work)) {
            Ok(Some(flowcal_domain::Deadline::At { at, .. })) => Some(at.as_second()),
            _ => None,
        }),
    );
    let t = Instant::now();
    let n = 2_000;
    for _ in 0..n {
        black_box(black_box(&source).compile().unwrap());
    }
    println!(
        "{:<52} {:>8.3} µs per compile",
        "compile() of the 100-holiday calendar",
        t.elapsed().as_nanos() as f64 / n as f64 / 1000.0
    );
}

/// A holiday added to a calendar that `n` open tasks count in (see the module doc).
async fn recompute(n: usize) {
    use flowcal_server::clock::SystemClock;
    use flowcal_server::config::Config;
    use flowcal_server::principal::Principal;
    use std::sync::Arc;

    let (port, _puts) = common::caldav_double().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "data_dir = \"{}\"\ndatabase_url = \"sqlite://{}\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n\
         [delivery]\nworkers = 0\n",
        dir.path().display(),
        dir.path().join("bench.db").display()
    );
    let app =
        flowcal_server::build(Config::from_parts(&toml, "bench", &[]).unwrap(), Arc::new(SystemClock)).await.unwrap();
    let mut cal = calendar();
    cal.name = "bench".into();
    let put = |c: &WorkCalendar| serde_json::from_value(serde_json::to_value(c).unwrap()).unwrap();
    app.work_calendars.put_as("bench", "bench", put(&cal)).await.unwrap();
    let model = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1" id="d">
  <bpmn:process id="p10d" isExecutable="true" flowcal:workCalendar="bench">
    <bpmn:startEvent id="s"/><bpmn:userTask id="t" name="Review" flowcal:assignee="user:worker" flowcal:deadline="P10D"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;
    app.workflow.import_model(None, model.as_bytes()).await.unwrap();
    let user = app.access.add_user("worker", false, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let (acc, _) = app.access.connect_caldav(&p, &format!("http://127.0.0.1:{port}/"), "w", "secret").await.unwrap();
    app.access.choose_calendar(&p, acc.id, "own").await.unwrap();

    let setup = Instant::now();
    let empty = serde_json::Map::new();
    for i in 0..n {
        app.workflow.start_instance(&p, "p10d", &format!("Case {i}"), &empty).await.unwrap();
    }
    app.exports.set_auto_sync(&p, Some((acc.id, None, false))).await.unwrap();
    while app.exports.deliver_due().await.unwrap() > 0 {}
    let pending =
        |states: Vec<(String, String, i64)>| states.iter().filter(|s| s.0 == "pending").map(|s| s.2).sum::<i64>();
    let (states, _) = app.store.export_stats(app.now()).await.unwrap();
    assert_eq!(pending(states), 0, "every entry delivered before the change");
    println!("setup: {n} open tasks started and their entries delivered in {:.1} s", setup.elapsed().as_secs_f64());

    // The next working day after today becomes a holiday: every P10D deadline moves a day.
    let compiled = cal.compile().unwrap();
    let today = app.now().to_zoned(compiled.zone().clone()).date();
    let day = compiled.busday_offset(today, 1, Roll::Forward).unwrap();
    cal.holidays.insert(day, Holiday { name: "added".into(), hours: None });
    let started = Instant::now();
    app.work_calendars.put_as("bench", "bench", put(&cal)).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let (states, _) = app.store.export_stats(app.now()).await.unwrap();
    let updates = pending(states);
    assert_eq!(updates, n as i64, "the outbox holds an update for every task");
    println!(
        "a holiday added to a calendar used by {n} open tasks: {secs:.2} s until every deadline is recomputed \
         and the outbox holds {updates} updates ({:.1} µs per task), SQLite",
        secs * 1e6 / n as f64
    );
}
