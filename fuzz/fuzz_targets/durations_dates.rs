//! Durations, dates and deadlines. The input is up to three `|`-separated
//! parts; each is tried as an ISO 8601 duration, a date, an RFC 3339
//! date-time, a number and an IANA zone name.
//!
//! - Parsing never panics, and whatever parses formats back to text that
//!   parses to the same value (also through the JSON form of data values).
//! - Deadline arithmetic (every parsed duration as a rule, from fixed and
//!   parsed start instants, in fixed and parsed zones, and as an offset from
//!   date and date-time items) never panics; clock-only durations are elapsed time.
#![no_main]
#![forbid(unsafe_code)]

use flowcal_domain::value::{format_datetime, parse_date, parse_datetime};
use flowcal_domain::{Data, DataItemDef, DataType, Deadline, DeadlineRule, IsoDuration, Value};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;

/// Zones with odd rules: half-hour and 45-minute offsets and DST, DST at
/// midnight, negative DST, the ends of the offset range.
const ZONES: [&str; 7] = [
    "UTC",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Europe/Dublin",
];

fn item(data_type: DataType) -> DataItemDef {
    DataItemDef { key: "x".into(), label: "x".into(), data_type, required: false, options: vec![], implicit: false }
}

/// A value survives its JSON form.
fn json_round_trip(data_type: DataType, v: &Value) {
    let back = Value::from_json(&item(data_type), &v.to_json());
    assert_eq!(back, Ok(Some(v.clone())), "{v:?} through {}", v.to_json());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parts: Vec<&str> = text.splitn(3, '|').collect();

    let mut durations = Vec::new();
    let mut starts = vec![Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH];
    let mut items = Vec::new();
    let mut zones: Vec<(String, TimeZone)> = Vec::new();
    for part in &parts {
        if let Ok(d) = IsoDuration::parse(part) {
            let again = IsoDuration::parse(&d.to_string());
            assert_eq!(again, Ok(d), "{part:?} formats as {d}");
            let _ = d.to_span();
            durations.push(d);
        }
        if let Some(date) = parse_date(part) {
            assert_eq!(parse_date(&date.to_string()), Some(date), "{part:?} formats as {date}");
            let v = Value::Date(date);
            json_round_trip(DataType::Date, &v);
            items.push(v);
        }
        if let Some((ts, off)) = parse_datetime(part) {
            let written = format_datetime(ts, off);
            assert_eq!(parse_datetime(&written), Some((ts, off)), "{part:?} formats as {written}");
            let v = Value::DateTime(ts, off);
            json_round_trip(DataType::DateTime, &v);
            starts.push(ts);
            items.push(v);
        }
        if let Ok(n) = part.trim().parse::<f64>() {
            if n.is_finite() {
                json_round_trip(DataType::Number, &Value::Number(n));
            }
        }
        if let Ok(tz) = TimeZone::get(part) {
            zones.push(((*part).to_owned(), tz));
        }
    }
    if durations.is_empty() && items.is_empty() {
        return;
    }
    for name in ZONES {
        if let Ok(tz) = TimeZone::get(name) {
            zones.push((name.to_owned(), tz));
        }
    }

    let mut rules: Vec<DeadlineRule> = durations.iter().map(|d| DeadlineRule::After(*d)).collect();
    rules.push(DeadlineRule::From { item: "x".into(), offset: None });
    rules.extend(durations.iter().map(|d| DeadlineRule::From { item: "x".into(), offset: Some(*d) }));
    let mut data_sets = vec![Data::new()];
    for v in &items {
        data_sets.push(Data::from([("x".to_owned(), v.clone())]));
    }
    for (zone_name, tz) in &zones {
        for start in &starts {
            for rule in &rules {
                for d in &data_sets {
                    let Ok(Some(deadline)) = rule.compute(*start, tz, zone_name, d) else { continue };
                    let _ = deadline.to_json();
                    // Hours, minutes and seconds are elapsed time, in any zone.
                    if let (DeadlineRule::After(dur), Deadline::At { at, .. }) = (rule, &deadline) {
                        if dur.years == 0 && dur.months == 0 && dur.weeks == 0 && dur.days == 0 {
                            let secs = dur.hours * 3600 + dur.minutes * 60 + dur.seconds;
                            let secs = if dur.negative { -secs } else { secs };
                            assert_eq!(
                                at.duration_since(*start),
                                SignedDuration::from_secs(secs),
                                "{dur} from {start}"
                            );
                        }
                    }
                }
            }
        }
    }
});
