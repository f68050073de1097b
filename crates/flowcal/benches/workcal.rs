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
//! Run: `cargo bench -p flowcal --bench workcal -- [ROUNDS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let rounds = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(7usize);
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
