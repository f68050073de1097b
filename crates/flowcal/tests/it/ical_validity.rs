//! flowcal's iCalendar output against its own reader and two independent
//! parsers (Python `icalendar` and the strict `ical`, run by
//! `tests/peers/ical_check.py`), over a few hundred generated entries: text
//! full of characters that need escaping or span several octets, long enough
//! to be folded many times; all-day and timed entries in zones east and west
//! of UTC, at and around daylight-saving transitions.
//!
//! The generator is seeded (printed at the start; `FLOWCAL_ICAL_SEED` picks
//! another), so a failure can be reproduced.

use flowcal_calendar::ical::{calendar_object, read_event, uid};
use flowcal_calendar::{event_key, EventSpec, When};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value as Json;

/// Pieces titles and descriptions are made of: iCalendar's special characters,
/// every kind of line break, tabs, emoji (with ZWJ sequences and modifiers),
/// combining marks, CJK, right-to-left text, text that looks like content
/// lines, Unicode separators and control characters.
const PIECES: &[&str] = &[
    ",",
    ";",
    "\\",
    ":",
    "\"",
    "\r",
    "\n",
    "\r\n",
    "\n\r",
    "\t",
    " ",
    "  ",
    "a",
    "Z",
    "0",
    "deadline ",
    "é",
    "ß",
    "—",
    "€",
    "😀",
    "👩\u{200d}👩\u{200d}👧\u{200d}👦",
    "🏳\u{fe0f}\u{200d}🌈",
    "👍🏽",
    "e\u{301}",
    "a\u{308}\u{323}",
    "\u{301}",
    "Z\u{35f}\u{36e}\u{34d}",
    "中文",
    "日本語の締め切り",
    "한국어",
    "עברית",
    "مرحبا",
    "\u{200f}",
    "\u{202e}",
    "\\n",
    "\\,",
    "\\;",
    "END:VEVENT",
    "\nBEGIN:VALARM",
    "DTSTART:20260101T000000Z",
    "https://flowcal.example/t?a=1,2;b",
    // Line and paragraph separators, NEL, a BOM: text, not line ends, in iCalendar.
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{feff}",
    // Control characters TEXT cannot hold: flowcal leaves them out.
    "\u{0}",
    "\u{7}",
    "\u{b}",
    "\u{1b}",
    "\u{7f}",
];

/// Zones east and west of UTC: half- and quarter-hour offsets, 30-minute
/// DST (Lord Howe), negative DST (Dublin), DST abolished (São Paulo, Apia),
/// fixed offsets, the extremes (+14, −11).
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Pacific/Apia",
    "Etc/GMT+5",
];

fn seed(default: u64) -> u64 {
    let seed = std::env::var("FLOWCAL_ICAL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    eprintln!("ical_validity seed: {seed} (set FLOWCAL_ICAL_SEED to change it)");
    seed
}

fn text(rng: &mut StdRng) -> String {
    let target = match rng.gen_range(0..5) {
        0 => rng.gen_range(0..4),
        1 => rng.gen_range(4..40),
        2 => rng.gen_range(40..200),
        3 => rng.gen_range(200..800),
        _ => rng.gen_range(800..=2000),
    };
    let mut s = String::new();
    while s.chars().count() < target {
        s.push_str(PIECES[rng.gen_range(0..PIECES.len())]);
    }
    s
}

/// A minute in 1975–2075.
fn instant(rng: &mut StdRng) -> Timestamp {
    Timestamp::from_second(rng.gen_range(157_766_400i64..3_345_062_400) / 60 * 60).unwrap()
}

/// An instant up to two hours before or after a transition of `zone`.
fn near_transition(rng: &mut StdRng, zone: &str) -> Timestamp {
    let tz = TimeZone::get(zone).unwrap();
    let around = instant(rng);
    let t = tz.following(around).next().map_or(around, |t| t.timestamp());
    t.checked_add(SignedDuration::from_mins(rng.gen_range(-120..=120))).unwrap()
}

fn event(rng: &mut StdRng, i: usize) -> EventSpec {
    let when = if rng.gen_bool(0.35) {
        let day = rng.gen_range(0..365 * 200);
        When::Date(Date::constant(1950, 1, 1).checked_add(SignedDuration::from_hours(24 * day)).unwrap())
    } else {
        let zone = ZONES[rng.gen_range(0..ZONES.len())];
        let at = if rng.gen_bool(0.5) { near_transition(rng, zone) } else { instant(rng) };
        When::At { at, zone: zone.to_owned() }
    };
    EventSpec {
        key: event_key(rng.gen_range(1..1000), &format!("task:{i}:deadline")),
        title: text(rng),
        description: if rng.gen_bool(0.2) { String::new() } else { text(rng) },
        url: rng.gen_bool(0.5).then(|| format!("https://flowcal.example/tasks/{i}?a=1,2;b=%22x%22")),
        when,
        duration_minutes: match rng.gen_range(0..10) {
            0 => 0,
            1 => rng.gen_range(1440..10_000),
            _ => rng.gen_range(1..600),
        },
        transparent: rng.gen_bool(0.5),
        reminder_minutes: rng.gen_bool(0.5).then(|| rng.gen_range(0..10_080)),
        sequence: if rng.gen_bool(0.8) { rng.gen_range(0..20) } else { rng.gen_range(0..=i32::MAX as u32) },
        stamp: instant(rng),
    }
}

/// Hand-picked entries first (DST edges), then `n` generated ones.
fn events(seed: u64, n: usize) -> Vec<EventSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let edges = [
        ("Europe/Berlin", "2026-03-29T00:30:00Z"),
        ("Europe/Berlin", "2026-03-29T01:30:00Z"),
        ("Europe/Berlin", "2026-10-25T00:30:00Z"),
        ("Europe/Berlin", "2026-10-25T01:30:00Z"),
        ("America/New_York", "2026-03-08T06:30:00Z"),
        ("America/New_York", "2026-11-01T05:30:00Z"),
        ("America/New_York", "2026-11-01T06:30:00Z"),
        ("Pacific/Chatham", "2026-04-04T14:00:00Z"),
        ("Pacific/Chatham", "2026-04-04T14:30:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T14:45:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T15:15:00Z"),
        ("Pacific/Kiritimati", "2026-03-29T10:30:00Z"),
        ("Pacific/Pago_Pago", "2026-03-29T10:30:00Z"),
    ];
    for (i, (zone, at)) in edges.iter().enumerate() {
        let mut ev = event(&mut rng, 10_000 + i);
        ev.when = When::At { at: at.parse().unwrap(), zone: (*zone).to_owned() };
        ev.duration_minutes = 30;
        out.push(ev);
    }
    out.extend((0..n).map(|i| event(&mut rng, i)));
    out
}

/// What a reader gets back of a TEXT value: every line break (CRLF, LF, bare
/// CR) is written as `\n`, so reads back as LF; the control characters TEXT
/// cannot hold (all but HTAB) are left out.
fn lf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n").replace(|c: char| c.is_ascii_control() && c != '\t' && c != '\n', "")
}

/// The end as `read_event` and ical_check.py write it; `None` when flowcal
/// writes no DTEND (an entry of no length ends at its start).
fn expected_end(ev: &EventSpec) -> Option<String> {
    match &ev.when {
        When::Date(_) => ev.end_date().map(|d| d.to_string()),
        When::At { at, .. } => ev.end().filter(|e| e > at).map(|e| e.to_string()),
    }
}

/// The alarms ical_check.py reads for a reminder of `minutes`: one, shown
/// that many minutes before the start (its trigger in seconds).
pub(crate) fn expected_alarms(minutes: Option<u32>) -> Json {
    match minutes {
        Some(m) => serde_json::json!([{"action": "DISPLAY", "trigger": -60 * i64::from(m)}]),
        None => serde_json::json!([]),
    }
}

fn expected_start(ev: &EventSpec) -> String {
    match &ev.when {
        When::Date(d) => d.to_string(),
        When::At { at, .. } => at.to_string(),
    }
}

/// Line ends are CRLF only; no physical line is longer than 75 octets.
fn check_lines(text: &str, what: &str) {
    assert!(text.ends_with("\r\n"), "{what}: no final CRLF");
    for line in text.split_terminator("\r\n") {
        assert!(!line.contains(['\r', '\n']), "{what}: bare CR or LF in {line:?}");
        assert!(line.len() <= 75, "{what}: {} octets: {line:?}", line.len());
    }
}

#[tokio::test]
async fn generated_entries_read_back_exactly() {
    let seed = seed(20_260_329);
    for (i, ev) in events(seed, 400).iter().enumerate() {
        let what = format!("seed {seed}, entry {i}");
        let text = calendar_object(ev).unwrap();
        check_lines(&text, &what);
        let got = read_event(&text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
        assert_eq!(got.uid, uid(&ev.key), "{what}");
        assert_eq!(got.summary, lf(&ev.title), "{what}");
        assert_eq!(got.description, lf(&ev.description), "{what}");
        assert_eq!(got.when, ev.when, "{what}\n{text}");
        assert_eq!(got.end, expected_end(ev).unwrap_or_else(|| expected_start(ev)), "{what}\n{text}");
        assert_eq!(got.sequence, ev.sequence, "{what}");
        assert_eq!(got.status.as_deref(), Some("CONFIRMED"), "{what}");
    }
}

/// What ical_check.py's two parsers read of each iCalendar text, in order
/// (`{"icalendar": {...}, "ical": {...}}` each), and whether all passed both.
pub(crate) async fn read_by_peers(python: &str, texts: &[String]) -> (Vec<Json>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let path = dir.path().join(format!("{i:04}.ics"));
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let script = crate::support::repo_root().join("tests/peers/ical_check.py");
    let out = tokio::process::Command::new(python).arg(&script).args(&paths).output().await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Json> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), texts.len(), "ical_check.py: {}", String::from_utf8_lossy(&out.stderr));
    (lines, out.status.success())
}

/// What both parsers must read of the entry `ev` describes, from `ev` alone.
/// Both read a `\n` in TEXT as LF, as flowcal's reader does; so CR and CRLF
/// in the input compare as LF. icalendar resolves a TZID through the object's
/// own VTIMEZONE, so the instants check that too.
pub(crate) fn read_as(ev: &EventSpec) -> Json {
    serde_json::json!({
        "summary": lf(&ev.title),
        "description": lf(&ev.description),
        "dtstart": expected_start(ev),
        "dtend": expected_end(ev),
        "url": ev.url.clone().unwrap_or_default(),
        "transp": if ev.transparent { "TRANSPARENT" } else { "OPAQUE" },
        "alarms": expected_alarms(ev.reminder_minutes),
    })
}

/// The fields where `got` differs from `want`, as `field: got … want …`.
pub(crate) fn differences(got: &Json, want: &Json) -> Vec<String> {
    ["error", "summary", "description", "dtstart", "dtend", "url", "transp", "alarms"]
        .into_iter()
        .filter(|k| got.get(k) != want.get(k))
        .map(|k| format!("{k}: got {} want {}", got.get(k).unwrap_or(&Json::Null), want.get(k).unwrap_or(&Json::Null)))
        .collect()
}

#[tokio::test]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn independent_parsers_read_what_flowcal_wrote() {
    let Some(python) = crate::access::peer_env("FLOWCAL_PEER_PYTHON", "icalendar/ical") else { return };
    let seed = seed(5545);
    let events = events(seed, 300);
    let texts: Vec<String> = events.iter().map(|ev| calendar_object(ev).unwrap()).collect();
    let started = std::time::Instant::now();
    let (lines, passed) = read_by_peers(&python, &texts).await;
    eprintln!("ical_check.py: {} files in {:?}", texts.len(), started.elapsed());

    let mut failures = Vec::new();
    for (i, (ev, line)) in events.iter().zip(&lines).enumerate() {
        let want = read_as(ev);
        for parser in ["icalendar", "ical"] {
            if line[parser] != want {
                failures.push(format!(
                    "seed {seed}, entry {i} ({:?}), {parser}: {}\n{}",
                    ev.when,
                    differences(&line[parser], &want).join("; "),
                    texts[i]
                ));
            }
        }
    }
    assert!(passed || !failures.is_empty(), "ical_check.py failed without a failing file");
    assert!(failures.is_empty(), "{} of {} checks failed:\n{}", failures.len(), 2 * events.len(), failures.join("\n"));
}
