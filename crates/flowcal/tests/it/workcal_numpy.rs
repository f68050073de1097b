//! Work-calendar day arithmetic against numpy: `CompiledCalendar::busday_offset`
//! must give what `numpy.busday_offset(date, n, roll, weekmask, holidays)`
//! gives (run by `tests/peers/busday_check.py` in the peers venv), over
//! 12,000 seeded random cases: random weeks and holiday sets, starts on
//! working and non-working days, small and large offsets both ways, both rolls.
//!
//! numpy has no extra working days, so the calendars here have none. They do
//! have half days (holidays with hours), which flowcal counts as working days:
//! those are left out of numpy's holidays, so numpy counts them as working too.
//!
//! The generator is seeded (printed at the start; `FLOWCAL_BUSDAY_SEED` picks
//! another), so a failure can be reproduced.

use flowcal_domain::workcal::{parse_hours, CompiledCalendar, Holiday, Roll, Weekmask, WorkCalendar};
use jiff::civil::{date, Date};
use jiff::Span;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

const CALENDARS: usize = 250;
const QUERIES: usize = 48;

fn seed() -> u64 {
    let seed = std::env::var("FLOWCAL_BUSDAY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    eprintln!("workcal_numpy seed: {seed} (set FLOWCAL_BUSDAY_SEED to change it)");
    seed
}

fn day(base: Date, n: i64) -> Date {
    base.checked_add(Span::new().days(n)).unwrap()
}

struct Case {
    calendar: WorkCalendar,
    compiled: CompiledCalendar,
    queries: Vec<(Date, i64, Roll)>,
}

fn cases(seed: u64) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = date(2018, 1, 1);
    (0..CALENDARS)
        .map(|_| {
            // Any week with at least one working day (numpy refuses an empty one).
            let flags = loop {
                let f: [bool; 7] = std::array::from_fn(|_| rng.gen_bool(0.6));
                if f.contains(&true) {
                    break f;
                }
            };
            let mut calendar = WorkCalendar::new("random", "UTC", Weekmask::from_flags(flags));
            for _ in 0..rng.gen_range(0..=150) {
                let hours = rng.gen_bool(0.1).then(|| parse_hours(&["09:00-12:00"]).unwrap());
                calendar.holidays.insert(day(base, rng.gen_range(0..15 * 366)), Holiday { name: "h".into(), hours });
            }
            let compiled = calendar.compile().unwrap();
            let holidays: Vec<Date> = calendar.holidays.keys().copied().collect();
            let queries = (0..QUERIES)
                .map(|_| {
                    // Starts on holidays (most of them days off) and on any day.
                    let start = if !holidays.is_empty() && rng.gen_bool(0.3) {
                        holidays[rng.gen_range(0..holidays.len())]
                    } else {
                        day(base, rng.gen_range(-366..16 * 366))
                    };
                    let n = match rng.gen_range(0..10) {
                        0..=6 => rng.gen_range(-30..=30),
                        7 | 8 => rng.gen_range(-500..=500),
                        _ => rng.gen_range(-5000..=5000),
                    };
                    let roll = if rng.gen_bool(0.5) { Roll::Forward } else { Roll::Backward };
                    (start, n, roll)
                })
                .collect();
            Case { calendar, compiled, queries }
        })
        .collect()
}

/// What busday_check.py reads: numpy's holidays are the days off (half days work).
fn to_json(cases: &[Case]) -> Json {
    let calendars: Vec<Json> = cases
        .iter()
        .map(|c| {
            let holidays: Vec<String> =
                c.calendar.holidays.iter().filter(|(_, h)| h.hours.is_none()).map(|(d, _)| d.to_string()).collect();
            let queries: Vec<Json> =
                c.queries.iter().map(|(d, n, r)| json!([d.to_string(), n, r.to_string()])).collect();
            json!({"weekmask": c.calendar.week.to_bits(), "holidays": holidays, "queries": queries})
        })
        .collect();
    json!({ "calendars": calendars })
}

#[test]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
fn busday_offset_matches_numpy() {
    let Some(python) = crate::access::peer_env("FLOWCAL_PEER_PYTHON", "numpy") else { return };
    let seed = seed();
    let cases = cases(seed);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, to_json(&cases).to_string()).unwrap();
    let script = crate::support::repo_root().join("tests/peers/busday_check.py");
    let out = std::process::Command::new(&python).arg(&script).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "busday_check.py failed (is numpy in the peers venv? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Json = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("numpy {}", answer["numpy"]);
    let answers = answer["answers"].as_array().unwrap();
    assert_eq!(answers.len(), cases.len());

    let mut compared = 0;
    let mut wrong = Vec::new();
    for (i, (case, numpy)) in cases.iter().zip(answers).enumerate() {
        let numpy = numpy.as_array().unwrap();
        assert_eq!(numpy.len(), case.queries.len());
        for ((start, n, roll), want) in case.queries.iter().zip(numpy) {
            let got = case.compiled.busday_offset(*start, *n, *roll).map(|d| d.to_string());
            if got.as_deref() != want.as_str() {
                wrong.push(format!(
                    "calendar {i} (week {}, {} holidays): busday_offset({start}, {n}, {roll}) = {got:?}, numpy {want}",
                    case.calendar.week.to_bits(),
                    case.calendar.holidays.len()
                ));
            }
            compared += 1;
        }
    }
    assert!(wrong.is_empty(), "seed {seed}: {} of {compared} differ from numpy:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(compared, CALENDARS * QUERIES);
    assert!(compared >= 10_000);
}
