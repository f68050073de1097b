//! iCalendar generation: an event from arbitrary fields, written by flowcal's
//! writer, read back by an independent parser (calcard) and by flowcal's own
//! reader. Title, description, URL, start, end and all-day-ness must come
//! back as the writer documents them: TEXT keeps everything but control
//! characters (line breaks become LF), a URL loses its control characters,
//! times are whole seconds, an unknown zone is written in UTC.
#![no_main]
#![forbid(unsafe_code)]

use arbitrary::Arbitrary;
use calcard::icalendar::{
    ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarParameterName, ICalendarProperty, ICalendarValue, Uri,
};
use flowcal_calendar::ical::{calendar_object, read_event, uid, ZONE_PARAM};
use flowcal_calendar::{EventSpec, When};
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;

/// Zones with odd rules (quarter-hour offsets, half-hour DST, negative DST,
/// DST at midnight, +2 h DST), UTC, and names the tz database does not know.
const ZONES: [&str; 15] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Europe/Dublin",
    "Africa/Casablanca",
    "America/Sao_Paulo",
    "Antarctica/Troll",
    "Etc/GMT+12",
    "Nowhere/Land",
    "Odd;zone:\"name\"",
];

#[derive(Debug, Arbitrary)]
struct Input {
    all_day: bool,
    /// Anywhere in the range of instants, or within 50 years of 2026.
    far: bool,
    secs: i64,
    zone: u8,
    /// Moves the start this many minutes (mod 600) from the zone's next transition.
    near_transition: Option<i16>,
    duration_minutes: u32,
    transparent: bool,
    reminder_minutes: Option<u32>,
    sequence: u32,
    stamp: u32,
    url: Option<String>,
    description: String,
    title: String,
}

/// What a TEXT value reads back as.
fn as_read(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_ascii_control() || matches!(c, '\t' | '\n'))
        .collect()
}

/// The bytes a URI stands for: `%XX` decoded, anything else (a `%` without
/// two hex digits too) as it is.
fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) if b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn spec(input: &Input) -> EventSpec {
    let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    let secs = if input.far {
        min + input.secs.rem_euclid(max - min)
    } else {
        const YEAR: i64 = 365 * 86_400;
        1_767_225_600 - 50 * YEAR + input.secs.rem_euclid(100 * YEAR)
    };
    let mut at = Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH);
    let zone = ZONES[usize::from(input.zone) % ZONES.len()];
    if let (Some(m), Ok(tz)) = (input.near_transition, TimeZone::get(zone)) {
        if let Some(t) = tz.following(at).next() {
            let m = i64::from(m % 600);
            at = t.timestamp().checked_add(SignedDuration::from_mins(m)).unwrap_or(at);
        }
    }
    let when = if input.all_day {
        When::Date(Offset::UTC.to_datetime(at).date())
    } else {
        When::At { at, zone: zone.to_owned() }
    };
    EventSpec {
        key: flowcal_calendar::event_key(1, "fuzz"),
        title: input.title.clone(),
        description: input.description.clone(),
        url: input.url.clone(),
        when,
        // flowcal's entries last 30 minutes; up to a year covers any setting,
        // while centuries would only make the VTIMEZONE (and each run) huge.
        duration_minutes: input.duration_minutes % (366 * 24 * 60 + 1),
        transparent: input.transparent,
        reminder_minutes: input.reminder_minutes,
        sequence: input.sequence,
        stamp: Timestamp::from_second(i64::from(input.stamp)).unwrap_or(Timestamp::UNIX_EPOCH),
    }
}

/// A DTSTART or DTEND as calcard read it: the date of an all-day value, or
/// the instant of a timed one (a TZID resolved with the tz database, as
/// RFC 5545 §3.3.5 says: a repeated time is its first occurrence) with the
/// zone named in TZID or flowcal's parameter.
#[derive(Debug, PartialEq)]
enum Read {
    Date(Date),
    At(Timestamp, Option<String>),
}

fn read_calcard(e: &ICalendarEntry, text: &str) -> Read {
    assert_eq!(e.values.len(), 1, "one value in {e:?}\n{text}");
    let v = e.values[0].as_partial_date_time().unwrap_or_else(|| panic!("a date or date-time: {e:?}\n{text}"));
    let (Some(y), Some(mo), Some(d)) = (v.year, v.month, v.day) else { panic!("no date in {v:?}\n{text}") };
    let date = i16::try_from(y)
        .ok()
        .and_then(|y| Date::new(y, mo as i8, d as i8).ok())
        .unwrap_or_else(|| panic!("no such date {v:?}\n{text}"));
    let Some(h) = v.hour else {
        assert!(
            e.parameter(&ICalendarParameterName::Value).and_then(|v| v.as_text()).is_some_and(|t| t == "DATE"),
            "a date without VALUE=DATE\n{text}"
        );
        return Read::Date(date);
    };
    let local = DateTime::new(
        date.year(),
        date.month(),
        date.day(),
        h as i8,
        v.minute.unwrap_or(0) as i8,
        v.second.unwrap_or(0) as i8,
        0,
    )
    .unwrap_or_else(|e| panic!("no such time {v:?}: {e}\n{text}"));
    let tzid = e.parameter(&ICalendarParameterName::Tzid).and_then(|v| v.as_text()).map(str::to_owned);
    let shown =
        e.parameter(&ICalendarParameterName::Other(ZONE_PARAM.to_owned())).and_then(|v| v.as_text()).map(str::to_owned);
    if v.tz_hour.is_some() {
        assert_eq!((v.tz_hour, v.tz_minute.unwrap_or(0)), (Some(0), 0), "UTC only\n{text}");
        assert!(tzid.is_none(), "a UTC time with a TZID\n{text}");
        let ts = Offset::UTC.to_timestamp(local).unwrap_or_else(|e| panic!("{local}: {e}\n{text}"));
        return Read::At(ts, shown);
    }
    assert!(shown.is_none(), "{ZONE_PARAM} on a local time\n{text}");
    let Some(zone) = tzid else { panic!("a floating time\n{text}") };
    let tz = TimeZone::get(&zone).unwrap_or_else(|e| panic!("TZID {zone}: {e}\n{text}"));
    let ts = tz.to_ambiguous_timestamp(local).compatible().unwrap_or_else(|e| panic!("{local} in {zone}: {e}\n{text}"));
    Read::At(ts, Some(zone))
}

fuzz_target!(|input: Input| {
    let ev = spec(&input);
    let text = match calendar_object(&ev) {
        Ok(text) => text,
        // Refused: only for a year outside 1 to 9999 (in UTC or the entry's zone), which
        // iCalendar cannot write and calendars cannot show.
        Err(e) => {
            let tz = match &ev.when {
                When::At { zone, .. } => TimeZone::get(zone).unwrap_or(TimeZone::UTC),
                When::Date(_) => TimeZone::UTC,
            };
            let mut dates = vec![Offset::UTC.to_datetime(ev.stamp).date()];
            match &ev.when {
                // An all-day entry ends the next day (exclusive): past 9999-12-31 there is none.
                When::Date(d) => dates.extend([*d, d.tomorrow().unwrap_or(Date::constant(-9999, 1, 1))]),
                When::At { at, .. } => {
                    for ts in [Some(*at), ev.end()].into_iter().flatten() {
                        dates.extend([Offset::UTC.to_datetime(ts).date(), tz.to_datetime(ts).date()]);
                    }
                    // An end past the last instant there is lies past the year 9999.
                    if ev.end().is_none() {
                        dates.push(Date::constant(-9999, 1, 1));
                    }
                }
            }
            assert!(dates.iter().any(|d| !(1..=9999).contains(&d.year())), "refused {ev:?}: {e}");
            return;
        }
    };

    // The zone a timed entry is shown in, as written: unknown zones and UTC give UTC times.
    let shown = match &ev.when {
        When::At { zone, .. } if zone != "UTC" && TimeZone::get(zone).is_ok() => Some(zone.clone()),
        _ => None,
    };
    let (want_start, want_end) = match &ev.when {
        When::Date(d) => (Read::Date(*d), ev.end_date().map(Read::Date)),
        When::At { at, .. } => {
            (Read::At(*at, shown.clone()), ev.end().filter(|e| e > at).map(|e| Read::At(e, shown.clone())))
        }
    };

    // calcard
    let cal = ICalendar::parse(&text).unwrap_or_else(|e| panic!("calcard refused it: {e:?}\n{text}"));
    let vevent = cal
        .components
        .iter()
        .find(|c| c.component_type == ICalendarComponentType::VEvent)
        .unwrap_or_else(|| panic!("no VEVENT\n{text}"));
    let text_of = |p: ICalendarProperty| {
        let values = vevent.property(&p).map(|e| e.values.as_slice()).unwrap_or_default();
        assert!(values.len() <= 1, "calcard split {p:?} into {values:?}\n{text}");
        values.first().map(|v| v.as_text().unwrap_or_else(|| panic!("{v:?}\n{text}")).to_owned()).unwrap_or_default()
    };
    assert_eq!(text_of(ICalendarProperty::Summary), as_read(&ev.title), "SUMMARY\n{text}");
    assert_eq!(text_of(ICalendarProperty::Description), as_read(&ev.description), "DESCRIPTION\n{text}");
    let url = vevent.property(&ICalendarProperty::Url);
    match &ev.url {
        None => assert!(url.is_none(), "a URL from nowhere\n{text}"),
        Some(u) => {
            let got = match url.and_then(|e| e.values.first()) {
                // calcard reads `data:` URIs apart; flowcal's links are http(s).
                Some(ICalendarValue::Uri(Uri::Data(_))) => None,
                Some(ICalendarValue::Uri(Uri::Location(l))) => Some(l.clone()),
                Some(ICalendarValue::Text(t)) => Some(t.clone()),
                Some(other) => panic!("URL read as {other:?}\n{text}"),
                None => Some(String::new()),
            };
            // A URI (RFC 3986 characters only) that means the same as the URL
            // given, control characters left out.
            if let Some(got) = got {
                let uri_char = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c);
                assert!(got.chars().all(uri_char), "URL {got:?} is not a URI\n{text}");
                let given: String = u.chars().filter(|c| !c.is_control()).collect();
                assert_eq!(percent_decoded(&got), percent_decoded(&given), "URL\n{text}");
            }
        }
    }
    let dtstart = vevent.property(&ICalendarProperty::Dtstart).unwrap_or_else(|| panic!("no DTSTART\n{text}"));
    assert_eq!(read_calcard(dtstart, &text), want_start, "DTSTART\n{text}");
    let dtend = vevent.property(&ICalendarProperty::Dtend).map(|e| read_calcard(e, &text));
    assert_eq!(dtend, want_end, "DTEND\n{text}");
    assert!(vevent.property(&ICalendarProperty::Duration).is_none(), "DURATION\n{text}");

    // flowcal's own reader
    let got = read_event(&text).unwrap_or_else(|e| panic!("read_event: {e}\n{text}"));
    assert_eq!(got.uid, uid(&ev.key));
    assert_eq!(got.summary, as_read(&ev.title), "{text}");
    assert_eq!(got.description, as_read(&ev.description), "{text}");
    let zone_read = match &ev.when {
        When::Date(d) => When::Date(*d),
        When::At { at, .. } => When::At { at: *at, zone: shown.clone().unwrap_or_else(|| "UTC".to_owned()) },
    };
    assert_eq!(got.when, zone_read, "{text}");
    let end = match (&want_end, &ev.when) {
        (Some(Read::Date(e)), _) => e.to_string(),
        (Some(Read::At(e, _)), _) => e.to_string(),
        (None, When::Date(d)) => d.tomorrow().unwrap_or(*d).to_string(),
        (None, When::At { at, .. }) => at.to_string(),
    };
    assert_eq!(got.end, end, "{text}");
    assert_eq!(got.sequence, ev.sequence.min(i32::MAX.unsigned_abs()));
});
