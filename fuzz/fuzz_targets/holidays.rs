//! Holiday calendars: any text read as a holiday feed, with any patterns.
//! The input is `PATTERNS NUL ICS`: each line before the first NUL byte is a
//! pattern (`-` first: exclude, else include), the rest is the calendar (all
//! of the input when it has no NUL).
//!
//! - Reading never panics.
//! - What it returns is sorted, one holiday per date, inside the range, at
//!   most `MAX_DATES` of them.
//! - Patterns only take events away: when the file reads without a filter,
//!   it reads with the patterns too, and gives a subset of those dates.
//! - A narrower range gives the same holidays, cut to it.
#![no_main]
#![forbid(unsafe_code)]

use flowcal_calendar::holidays::{read_holidays, FoundHoliday, HolidayError, HolidayFilter, MAX_DATES};
use jiff::civil::{date, Date};
use libfuzzer_sys::fuzz_target;

fn check(found: &Result<Vec<FoundHoliday>, HolidayError>, from: Date, to: Date) {
    let Ok(found) = found else { return };
    assert!(found.len() <= MAX_DATES, "{} holidays", found.len());
    for w in found.windows(2) {
        assert!(w[0].date < w[1].date, "not sorted or a date twice: {w:?}");
    }
    for h in found {
        assert!(from <= h.date && h.date <= to, "{h:?} outside {from}..{to}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (patterns, ics) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let (Ok(patterns), Ok(ics)) = (std::str::from_utf8(patterns), std::str::from_utf8(ics)) else { return };
    let mut filter = HolidayFilter::default();
    for p in patterns.lines() {
        match p.strip_prefix('-') {
            Some(x) => filter.exclude.push(x.to_owned()),
            None => filter.include.push(p.to_owned()),
        }
    }

    let (from, to) = (date(1990, 1, 1), date(2060, 12, 31));
    let everything = read_holidays(ics, &HolidayFilter::default(), from, to);
    check(&everything, from, to);
    let picked = read_holidays(ics, &filter, from, to);
    check(&picked, from, to);
    if let (Ok(all), Some(picked)) = (&everything, picked.as_ref().ok()) {
        for h in picked {
            assert!(all.iter().any(|a| a.date == h.date), "{h:?} only with patterns {filter:?}");
        }
    }
    if let (Ok(_), Err(HolidayError::Invalid { .. } | HolidayError::TooManyDates { .. })) = (&everything, &picked) {
        panic!("reads without patterns but not with {filter:?}: {picked:?}");
    }

    let (a, b) = (date(2025, 1, 1), date(2027, 12, 31));
    let narrow = read_holidays(ics, &HolidayFilter::default(), a, b);
    check(&narrow, a, b);
    if let Ok(all) = &everything {
        let cut: Vec<&FoundHoliday> = all.iter().filter(|h| a <= h.date && h.date <= b).collect();
        let narrow = narrow.unwrap_or_else(|e| panic!("reads over {from}..{to} but not over {a}..{b}: {e}"));
        assert_eq!(narrow.iter().collect::<Vec<_>>(), cut, "{a}..{b}");
    }
});
