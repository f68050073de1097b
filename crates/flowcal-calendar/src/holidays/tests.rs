//! Tests of the holiday reader: the real calendars in
//! tests/fixtures/holiday-calendars (see SOURCES.md there), with the dates
//! checked by hand against the files, and small synthetic calendars for what
//! those files do not have (recurrence, durations, broken input, limits).

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/holiday-calendars/", $name))
    };
}

const GERMANY: &str = fixture!("GermanHolidays.ics");
const US: &str = fixture!("USHolidays.ics");
const JAPAN: &str = fixture!("JapanHolidays.ics");

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn filter(include: &[&str], exclude: &[&str]) -> HolidayFilter {
    HolidayFilter {
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

fn all() -> HolidayFilter {
    HolidayFilter::default()
}

fn read(ics: &str, f: &HolidayFilter, from: &str, to: &str) -> Vec<FoundHoliday> {
    read_holidays(ics, f, d(from), d(to)).unwrap_or_else(|e| panic!("{e}"))
}

/// The holidays as "date name" lines.
fn listed(found: &[FoundHoliday]) -> Vec<String> {
    found.iter().map(|h| format!("{} {}", h.date, h.name)).collect()
}

fn dates(found: &[FoundHoliday]) -> Vec<String> {
    found.iter().map(|h| h.date.to_string()).collect()
}

/// A VCALENDAR around `body` (lines separated by `\n`), with CRLF line ends.
fn cal(body: &str) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    for l in body.trim().lines() {
        out.push_str(l.trim_start());
        out.push_str("\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// A VEVENT with `summary` and the given properties.
fn event(summary: &str, props: &str) -> String {
    let props: Vec<&str> = props.trim().lines().map(str::trim).collect();
    format!("BEGIN:VEVENT\nUID:{summary}@test\nSUMMARY:{summary}\n{}\nEND:VEVENT\n", props.join("\n"))
}

fn one(summary: &str, props: &str) -> String {
    cal(&event(summary, props))
}

fn error(ics: &str, f: &HolidayFilter, from: &str, to: &str) -> HolidayError {
    match read_holidays(ics, f, d(from), d(to)) {
        Ok(found) => panic!("read {found:?}"),
        Err(e) => e,
    }
}

/// The line an error names, and its message.
fn invalid_at(e: &HolidayError) -> (usize, String) {
    match e {
        HolidayError::Invalid { line, message } => (*line, message.clone()),
        other => panic!("not an Invalid error: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The real calendars

/// No state list at the end of SUMMARY. With the prefix: unprefixed, it
/// would also match the CATEGORIES value `Holidays` every event has.
const NATIONAL_DE: &str = "summary:*[!)]";
const BERLIN: [&str; 2] = ["*[( ]B[,)]*", "*(Berlin)"];

#[test]
fn german_national_holidays_plus_berlins_2026() {
    let f = filter(&[NATIONAL_DE, BERLIN[0], BERLIN[1]], &[]);
    assert_eq!(
        listed(&read(GERMANY, &f, "2026-01-01", "2026-12-31")),
        [
            "2026-01-01 Neujahrstag",
            "2026-03-08 Weltfrauentag (MVP, B)",
            "2026-04-03 Karfreitag",
            "2026-04-06 Ostermontag",
            "2026-05-01 Maifeiertag",
            "2026-05-14 Christi Himmelfahrt",
            "2026-05-25 Pfingstmontag",
            "2026-10-03 Tag der Deutschen Einheit",
            "2026-12-25 Weihnachten",
            "2026-12-26 Boxing Day",
        ]
    );
    // 2025 also has Berlin's one-off 8 May; the file covers 2025–2027.
    let y2025 = read(GERMANY, &f, "2025-01-01", "2025-12-31");
    assert_eq!(y2025.len(), 11);
    assert!(listed(&y2025).contains(&"2025-05-08 Jahrestag des Endes des Zweiten Weltkriegs (Berlin)".to_string()));
    assert_eq!(read(GERMANY, &f, "2000-01-01", "2100-12-31").len(), 9 * 3 + 3 + 1);
}

#[test]
fn german_national_holidays_leave_every_regional_one_out() {
    let national = read(GERMANY, &filter(&[NATIONAL_DE], &[]), "2025-01-01", "2027-12-31");
    assert_eq!(national.len(), 27);
    assert!(national.iter().all(|h| !h.name.contains('(')), "{national:?}");
    // The file as it is: 20 + 19 + 19 events, each on its own date.
    assert_eq!(read(GERMANY, &all(), "2025-01-01", "2027-12-31").len(), 58);
    assert_eq!(read(GERMANY, &all(), "2026-01-01", "2026-12-31").len(), 19);
    // Excluding what names states gives the same as including what does not.
    assert_eq!(read(GERMANY, &filter(&[], &["*(*)"]), "2025-01-01", "2027-12-31"), national);
}

#[test]
fn a_state_code_does_not_match_longer_codes() {
    // Bavaria: "BY" in a list, also as "BY (community)"; not BB, BW, HB.
    let f = filter(&[NATIONAL_DE, "*[( ]BY[,) ]*"], &[]);
    let bavaria = read(GERMANY, &f, "2026-01-01", "2026-12-31");
    let regional: Vec<String> = bavaria.iter().filter(|h| h.name.contains('(')).map(|h| h.name.clone()).collect();
    assert_eq!(
        regional,
        [
            "Dreikönigstag (BW, BY, ST)",
            "Fronleichnam (BW, BY, HE, NRW, RLP, SL, SN (community), TH (community))",
            "Mariä Himmelfahrt (SL, BY (community))",
            "Allerheiligen (BW, BY, NRW, RLP, SL)",
        ]
    );
    assert_eq!(bavaria.len(), 13);
}

#[test]
fn us_federal_holidays_only() {
    let f = filter(&["description:Federal Holiday*"], &[]);
    assert_eq!(
        listed(&read(US, &f, "2026-01-01", "2026-12-31")),
        [
            "2026-01-01 New Year's Day",
            "2026-01-19 Martin Luther King Jr. Day",
            "2026-02-16 Presidents' Day",
            "2026-05-25 Memorial Day",
            "2026-06-19 Juneteenth",
            "2026-07-03 Independence Day (substitute)",
            "2026-09-07 Labor Day",
            "2026-10-12 Columbus Day",
            "2026-11-11 Veterans Day",
            "2026-11-26 Thanksgiving Day",
            "2026-12-25 Christmas Day",
        ]
    );
    // 35 federal events on 34 dates: the file also calls the 2025 inauguration
    // (DC, MD, VA only) federal, on Martin Luther King Day.
    let years = read(US, &f, "2025-01-01", "2027-12-31");
    assert_eq!(years.len(), 34);
    assert!(listed(&years).contains(
        &"2025-01-20 Martin Luther King Jr. Day; Inauguration Day (DC, MD (partly), VA (partly))".to_string()
    ));
    // The same dates by SUMMARY alone: no state list, or a federal substitute.
    let by_summary = read(US, &filter(&["summary:*[!)]", "*(substitute)"], &[]), "2025-01-01", "2027-12-31");
    assert_eq!(dates(&by_summary), dates(&years));
    // The whole file: 700 events on 287 dates, most shared by several states.
    assert_eq!(read(US, &all(), "2025-01-01", "2027-12-31").len(), 287);
}

#[test]
fn japanese_national_holidays_without_the_bank_holidays() {
    let f = filter(&[], &["*銀行休業日*", "*バンクホリデー*"]);
    assert_eq!(
        listed(&read(JAPAN, &f, "2026-01-01", "2026-12-31")),
        [
            "2026-01-01 元日",
            "2026-01-12 成人の日",
            "2026-02-11 建国記念日",
            "2026-02-23 天皇誕生日",
            "2026-03-20 春分の日",
            "2026-04-29 昭和の日",
            "2026-05-03 憲法記念日",
            "2026-05-04 みどりの日",
            "2026-05-05 こどもの日",
            "2026-07-20 海の日",
            "2026-08-11 山の日",
            "2026-09-21 敬老の日",
            "2026-09-22 ブリッジ祝日",
            "2026-09-23 秋分",
            "2026-10-12 運動会",
            "2026-11-03 文化の日",
            "2026-11-23 勤労感謝祭",
        ]
    );
    let national = read(JAPAN, &f, "2025-01-01", "2027-12-31");
    assert_eq!(national.len(), 58 - 9);
    // The DESCRIPTION says the same.
    assert_eq!(read(JAPAN, &filter(&[], &["description:Bank holiday*"]), "2025-01-01", "2027-12-31"), national);
    assert_eq!(read(JAPAN, &filter(&["description:national holiday -*"], &[]), "2025-01-01", "2027-12-31"), national);
    let with_bank = read(JAPAN, &all(), "2026-01-01", "2026-12-31");
    assert_eq!(with_bank.len(), 20);
    assert_eq!(with_bank[1].name, "1月2日の銀行休業日");
}

/// `text` with every content line folded after `width` characters and the
/// given line end.
fn refold(text: &str, width: usize, end: &str) -> String {
    let unfolded = text.replace("\r\n ", "").replace("\r\n", "\n");
    let mut out = String::new();
    for line in unfolded.lines() {
        let chars: Vec<char> = line.chars().collect();
        for (i, chunk) in chars.chunks(width).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(chunk);
            out.push_str(end);
        }
    }
    out
}

#[test]
fn line_ends_and_folding_do_not_change_what_is_read() {
    for (name, ics) in [("de", GERMANY), ("us", US), ("jp", JAPAN)] {
        let want = read(ics, &all(), "2025-01-01", "2027-12-31");
        for (end, width) in [("\n", 75), ("\r", 75), ("\r\n", 7), ("\n", 1)] {
            let other = refold(ics, width, end);
            assert_ne!(other, ics);
            assert_eq!(read(&other, &all(), "2025-01-01", "2027-12-31"), want, "{name} {end:?} {width}");
        }
    }
    // Folded in the middle of a state list and an escaped comma.
    let f = filter(&[NATIONAL_DE, BERLIN[0], BERLIN[1]], &[]);
    let folded = refold(GERMANY, 3, "\r\n");
    assert_eq!(read(&folded, &f, "2026-01-01", "2026-12-31").len(), 10);
}

// ---------------------------------------------------------------------------
// Days of all-day events

#[test]
fn a_multi_day_event_covers_each_day_up_to_its_end() {
    let ics = one("Winter break", "DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227");
    assert_eq!(dates(&read(&ics, &all(), "2026-01-01", "2026-12-31")), ["2026-12-24", "2026-12-25", "2026-12-26"]);
    // Only the days in the range.
    assert_eq!(dates(&read(&ics, &all(), "2026-12-25", "2027-01-31")), ["2026-12-25", "2026-12-26"]);
    assert_eq!(dates(&read(&ics, &all(), "2026-12-20", "2026-12-24")), ["2026-12-24"]);
    assert!(read(&ics, &all(), "2026-12-27", "2026-12-31").is_empty());
}

#[test]
fn duration_or_nothing_gives_the_length() {
    let cases = [
        ("DURATION:P2D", vec!["2026-05-01", "2026-05-02"]),
        (
            "DURATION:P1W",
            vec!["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05", "2026-05-06", "2026-05-07"],
        ),
        ("DURATION:PT48H", vec!["2026-05-01", "2026-05-02"]),
        ("UID:x", vec!["2026-05-01"]),
        // A DTEND not after DTSTART (common in feeds): the one day.
        ("DTEND;VALUE=DATE:20260501", vec!["2026-05-01"]),
        ("DTEND;VALUE=DATE:20260401", vec!["2026-05-01"]),
    ];
    for (prop, want) in cases {
        let ics = one("Day", &format!("DTSTART;VALUE=DATE:20260501\n{prop}"));
        assert_eq!(dates(&read(&ics, &all(), "2026-01-01", "2026-12-31")), want, "{prop}");
    }
    // Eight digits without VALUE=DATE are a date too.
    let ics = one("Day", "DTSTART:20260501");
    assert_eq!(dates(&read(&ics, &all(), "2026-01-01", "2026-12-31")), ["2026-05-01"]);
}

#[test]
fn a_duration_of_part_of_a_day_is_refused_at_its_line() {
    let ics = one("Half", "DTSTART;VALUE=DATE:20260501\nDURATION:PT12H");
    let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
    assert_eq!(line, 8, "{msg}");
    assert!(msg.contains("PT12H") && msg.contains("whole days"), "{msg}");
}

#[test]
fn a_timed_event_is_refused_unless_the_filter_leaves_it_out() {
    let ics = cal(&format!(
        "{}{}",
        event("Holiday", "DTSTART;VALUE=DATE:20260501"),
        event("Staff party", "DTSTART;TZID=Europe/Berlin:20260501T180000\nDTEND;TZID=Europe/Berlin:20260501T230000")
    ));
    let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
    assert_eq!(line, 12);
    assert!(msg.contains("Staff party") && msg.contains("a whole day") && msg.contains("exclude"), "{msg}");
    let kept = read(&ics, &filter(&[], &["staff*"]), "2026-01-01", "2026-12-31");
    assert_eq!(listed(&kept), ["2026-05-01 Holiday"]);
}

#[test]
fn names_on_one_date_are_joined_once_each_in_file_order() {
    let ics = cal(&format!(
        "{}{}{}{}",
        event("Labour Day", "DTSTART;VALUE=DATE:20260501"),
        event("May Day", "DTSTART;VALUE=DATE:20260501"),
        event("Labour Day", "DTSTART;VALUE=DATE:20260501"),
        event("Bridge", "DTSTART;VALUE=DATE:20260430\nDTEND;VALUE=DATE:20260502"),
    ));
    assert_eq!(
        listed(&read(&ics, &all(), "2026-01-01", "2026-12-31")),
        ["2026-04-30 Bridge", "2026-05-01 Labour Day; May Day; Bridge"]
    );
}

#[test]
fn a_cancelled_event_is_no_holiday() {
    let ics = cal(&format!(
        "{}{}",
        event("Holiday", "DTSTART;VALUE=DATE:20260501"),
        event("Called off", "DTSTART;VALUE=DATE:20260502\nSTATUS:CANCELLED"),
    ));
    assert_eq!(dates(&read(&ics, &all(), "2026-01-01", "2026-12-31")), ["2026-05-01"]);
}

#[test]
fn categories_are_matched_value_by_value() {
    let ics = cal(&format!(
        "{}{}{}",
        event("A", "DTSTART;VALUE=DATE:20260501\nCATEGORIES:Holidays,Public"),
        event("B", "DTSTART;VALUE=DATE:20260502\nCATEGORIES:Observance\nCATEGORIES:Bank\\, Regional"),
        event("Public", "DTSTART;VALUE=DATE:20260503"),
    ));
    let kept = |inc: &[&str]| dates(&read(&ics, &filter(inc, &[]), "2026-01-01", "2026-12-31"));
    assert_eq!(kept(&["public"]), ["2026-05-01", "2026-05-03"]);
    assert_eq!(kept(&["category:public"]), ["2026-05-01"]);
    assert_eq!(kept(&["summary:public"]), ["2026-05-03"]);
    // An escaped comma stays inside its value; a second CATEGORIES line adds values.
    assert_eq!(kept(&["category:bank, regional"]), ["2026-05-02"]);
    assert_eq!(kept(&["category:bank"]), Vec::<String>::new());
    assert_eq!(kept(&["categories:observance"]), ["2026-05-02"]);
}

#[test]
fn components_inside_an_event_do_not_lend_it_properties() {
    let ics = cal("BEGIN:VEVENT\nSUMMARY:Holiday\nDTSTART;VALUE=DATE:20260501\nBEGIN:VALARM\nACTION:DISPLAY\n\
         SUMMARY:Reminder\nDTSTART:20260101T000000\nEND:VALARM\nEND:VEVENT\n\
         BEGIN:VTODO\nSUMMARY:Task\nDTSTART;VALUE=DATE:20260502\nEND:VTODO");
    assert_eq!(listed(&read(&ics, &all(), "2026-01-01", "2026-12-31")), ["2026-05-01 Holiday"]);
}

// ---------------------------------------------------------------------------
// Recurrence

fn yearly(props: &str, from: &str, to: &str) -> Vec<String> {
    dates(&read(&one("Day", props), &all(), from, to))
}

#[test]
fn yearly_rules_with_a_month_and_a_numbered_weekday() {
    // Thanksgiving: the fourth Thursday in November.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20201126\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "2025-01-01", "2028-12-31"),
        ["2025-11-27", "2026-11-26", "2027-11-25", "2028-11-23"]
    );
    // Memorial Day: the last Monday in May.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20200525\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", "2025-01-01", "2027-12-31"),
        ["2025-05-26", "2026-05-25", "2027-05-31"]
    );
    // A numbered weekday without BYMONTH counts in the year: the 20th Monday.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260518\nRRULE:FREQ=YEARLY;BYDAY=20MO", "2026-01-01", "2027-12-31"),
        ["2026-05-18", "2027-05-17"]
    );
}

#[test]
fn yearly_rules_on_fixed_days() {
    // Nothing but FREQ: DTSTART's month and day.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:19900703\nRRULE:FREQ=YEARLY", "2025-01-01", "2027-12-31"),
        ["2025-07-03", "2026-07-03", "2027-07-03"]
    );
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:20001224\nRRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24,26",
            "2026-01-01",
            "2026-12-31"
        ),
        ["2026-12-24", "2026-12-26"]
    );
    // The last day of February, and 29 February only in leap years.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20000229\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", "2026-01-01", "2028-12-31"),
        ["2026-02-28", "2027-02-28", "2028-02-29"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20000229\nRRULE:FREQ=YEARLY", "2025-01-01", "2032-12-31"),
        ["2028-02-29", "2032-02-29"]
    );
    // A multi-day event repeats with its length.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20101224\nDTEND;VALUE=DATE:20101227\nRRULE:FREQ=YEARLY", "2026-12-25", "2027-12-24"),
        ["2026-12-25", "2026-12-26", "2027-12-24"]
    );
}

#[test]
fn count_until_and_interval_end_or_thin_a_series() {
    // DTSTART is the first of COUNT.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20240501\nRRULE:FREQ=YEARLY;COUNT=3", "2020-01-01", "2030-12-31"),
        ["2024-05-01", "2025-05-01", "2026-05-01"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20240501\nRRULE:FREQ=YEARLY;COUNT=3", "2026-01-01", "2030-12-31"),
        ["2026-05-01"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20200704\nRRULE:FREQ=YEARLY;UNTIL=20260704", "2025-01-01", "2030-12-31"),
        ["2025-07-04", "2026-07-04"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20200704\nRRULE:FREQ=YEARLY;UNTIL=20260703T235959Z", "2025-01-01", "2030-12-31"),
        ["2025-07-04"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20200601\nRRULE:FREQ=YEARLY;INTERVAL=2", "2025-01-01", "2030-12-31"),
        ["2026-06-01", "2028-06-01", "2030-06-01"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20210601\nRRULE:FREQ=YEARLY;INTERVAL=2", "2025-01-01", "2030-12-31"),
        ["2025-06-01", "2027-06-01", "2029-06-01"]
    );
}

#[test]
fn monthly_weekly_and_daily_rules() {
    // The first Monday of each month; the 2nd Monday from the end.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260105\nRRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=4", "2026-01-01", "2026-12-31"),
        ["2026-01-05", "2026-02-02", "2026-03-02", "2026-04-06"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260131\nRRULE:FREQ=MONTHLY", "2026-01-01", "2026-05-31"),
        ["2026-01-31", "2026-03-31", "2026-05-31"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1", "2026-01-01", "2026-12-31"),
        ["2026-01-01", "2026-01-31", "2026-04-30", "2026-07-31", "2026-10-31"]
    );
    // Every other week on Friday and Saturday, weeks from Sunday.
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:20260102\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,SA;WKST=SU",
            "2026-01-01",
            "2026-01-31"
        ),
        ["2026-01-02", "2026-01-03", "2026-01-16", "2026-01-17", "2026-01-30", "2026-01-31"]
    );
    // WKST decides which weeks are "every other" (RFC 5545 §3.3.10's example).
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:19970805\nRRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
            "1997-01-01",
            "1997-12-31"
        ),
        ["1997-08-05", "1997-08-10", "1997-08-19", "1997-08-24"]
    );
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:19970805\nRRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
            "1997-01-01",
            "1997-12-31"
        ),
        ["1997-08-05", "1997-08-17", "1997-08-19", "1997-08-31"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260105\nRRULE:FREQ=WEEKLY;UNTIL=20260126", "2026-01-01", "2026-12-31"),
        ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    );
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20261228\nRRULE:FREQ=DAILY;COUNT=5", "2026-01-01", "2027-12-31"),
        ["2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31", "2027-01-01"]
    );
    // Daily, limited to the weekdays of one month.
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260801\nRRULE:FREQ=DAILY;BYMONTH=8;BYDAY=MO", "2026-01-01", "2027-12-31"),
        ["2026-08-01", "2026-08-03", "2026-08-10", "2026-08-17", "2026-08-24", "2026-08-31"]
            .into_iter()
            .chain(["2027-08-02", "2027-08-09", "2027-08-16", "2027-08-23", "2027-08-30"])
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_rule_that_never_matches_only_has_its_start() {
    assert_eq!(
        yearly("DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2020-01-01", "2030-12-31"),
        ["2026-01-01"]
    );
}

#[test]
fn exdate_rdate_and_recurrence_id_change_a_series() {
    let base = "DTSTART;VALUE=DATE:20200704\nRRULE:FREQ=YEARLY";
    assert_eq!(
        yearly(&format!("{base}\nEXDATE;VALUE=DATE:20260704,20280704"), "2025-01-01", "2028-12-31"),
        ["2025-07-04", "2027-07-04"]
    );
    assert_eq!(
        yearly(&format!("{base}\nEXDATE;VALUE=DATE:20260704\nEXDATE;VALUE=DATE:20250704"), "2025-01-01", "2026-12-31"),
        Vec::<String>::new()
    );
    assert_eq!(
        yearly(&format!("{base}\nRDATE;VALUE=DATE:20260703,20261231"), "2026-01-01", "2026-12-31"),
        ["2026-07-03", "2026-07-04", "2026-12-31"]
    );
    // RDATE without a rule, and an EXDATE that removes DTSTART.
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:20260101\nRDATE;VALUE=DATE:20260601\nEXDATE;VALUE=DATE:20260101",
            "2026-01-01",
            "2026-12-31"
        ),
        ["2026-06-01"]
    );

    // 2026's occurrence moved to Friday 3 July, 2027's cancelled.
    let ics = cal(&format!(
        "{}{}{}",
        event("Independence Day", "UID:ind@test\nDTSTART;VALUE=DATE:20200704\nRRULE:FREQ=YEARLY"),
        event(
            "Independence Day (observed)",
            "UID:ind@test\nRECURRENCE-ID;VALUE=DATE:20260704\nDTSTART;VALUE=DATE:20260703"
        ),
        event(
            "Independence Day",
            "UID:ind@test\nRECURRENCE-ID;VALUE=DATE:20270704\nDTSTART;VALUE=DATE:20270704\nSTATUS:CANCELLED"
        ),
    ))
    .replace("UID:Independence Day@test\r\n", "")
    .replace("UID:Independence Day (observed)@test\r\n", "");
    assert_eq!(
        listed(&read(&ics, &all(), "2025-01-01", "2028-12-31")),
        ["2025-07-04 Independence Day", "2026-07-03 Independence Day (observed)", "2028-07-04 Independence Day"]
    );
    // A RECURRENCE-ID that is no date: refused when the filter keeps its event.
    let bad = ics.replace("RECURRENCE-ID;VALUE=DATE:20260704", "RECURRENCE-ID;VALUE=DATE:2026");
    let (line, msg) = invalid_at(&error(&bad, &all(), "2025-01-01", "2028-12-31"));
    assert_eq!(line, 13, "{msg}");
    assert!(msg.contains("RECURRENCE-ID") && msg.contains("observed"), "{msg}");
    assert_eq!(read(&bad, &filter(&[], &["*observed*"]), "2025-01-01", "2025-12-31").len(), 1);
    // An override the filter leaves out still replaces its occurrence.
    assert_eq!(dates(&read(&ics, &filter(&[], &["*observed*"]), "2026-01-01", "2026-12-31")), Vec::<String>::new());
}

/// A random rule of what the reader supports, as RRULE text.
fn random_rule(rng: &mut StdRng) -> String {
    let freq = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY"][rng.gen_range(0..4)];
    let mut parts = vec![format!("FREQ={freq}")];
    if rng.gen_bool(0.4) {
        parts.push(format!("INTERVAL={}", rng.gen_range(1..=3)));
    }
    let pick = |rng: &mut StdRng, n: usize, f: &dyn Fn(&mut StdRng) -> String| -> String {
        let mut v: Vec<String> = (0..n).map(|_| f(rng)).collect();
        v.dedup();
        v.join(",")
    };
    if rng.gen_bool(0.3) {
        let n = rng.gen_range(1..=3);
        parts.push(format!("BYMONTH={}", pick(rng, n, &|r| r.gen_range(1..=12).to_string())));
    }
    if freq != "WEEKLY" && rng.gen_bool(0.3) {
        let n = rng.gen_range(1..=3);
        let day = |r: &mut StdRng| {
            let d: i8 = r.gen_range(1..=31);
            (if r.gen_bool(0.3) { -d } else { d }).to_string()
        };
        parts.push(format!("BYMONTHDAY={}", pick(rng, n, &day)));
    }
    if rng.gen_bool(0.4) {
        let numbered = matches!(freq, "YEARLY" | "MONTHLY") && rng.gen_bool(0.6);
        let n = rng.gen_range(1..=3);
        let day = |r: &mut StdRng| {
            let wd = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][r.gen_range(0..7)];
            if !numbered {
                return wd.to_string();
            }
            let k: i8 = if freq == "YEARLY" && r.gen_bool(0.3) { r.gen_range(1..=53) } else { r.gen_range(1..=5) };
            // calcard refuses -5 in a month and -53 in a year, which the reader takes
            // as the fifth (53rd) from the end.
            let k = if r.gen_bool(0.3) { -k.min(if freq == "MONTHLY" { 4 } else { 52 }) } else { k };
            format!("{k}{wd}")
        };
        parts.push(format!("BYDAY={}", pick(rng, n, &day)));
    }
    if rng.gen_bool(0.3) {
        parts.push(format!("WKST={}", ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][rng.gen_range(0..7)]));
    }
    parts.push(if rng.gen_bool(0.5) {
        format!("COUNT={}", rng.gen_range(1..=12))
    } else {
        let days = match freq {
            "YEARLY" => 3650,
            "MONTHLY" => 1500,
            "WEEKLY" => 500,
            _ => 150,
        };
        format!("UNTIL=DAYS+{}", rng.gen_range(0..days))
    });
    parts.join(";")
}

/// RFC 5545 §3.8.5.3: DTSTART is the first occurrence even when the rule
/// would not give it; calcard, like dateutil, lists only what the rule gives.
/// So the reader's dates are calcard's, with DTSTART added, and with COUNT
/// one fewer of calcard's when it had to add it.
#[test]
fn recurrences_agree_with_calcards_expansion() {
    use calcard::common::timezone::Tz;
    use calcard::icalendar::ICalendar;

    let mut rng = StdRng::seed_from_u64(16);
    let mut compared = 0;
    for _ in 0..1500 {
        let start = d("2000-01-01").checked_add(Span::new().days(rng.gen_range(0..365 * 30))).unwrap();
        let mut rule = random_rule(&mut rng);
        if let Some(at) = rule.find("UNTIL=DAYS+") {
            let days: i64 = rule[at + 11..].parse().unwrap();
            let until = add_days(start, days).unwrap().strftime("%Y%m%d").to_string();
            rule = format!("{}UNTIL={until}", &rule[..at]);
        }
        let stamp = start.strftime("%Y%m%d");
        let ics = one("R", &format!("DTSTART;VALUE=DATE:{stamp}\nRRULE:{rule}"));
        let last = add_days(start, 366 * 200).unwrap();
        let mine = match read_holidays(&ics, &all(), start, last) {
            Ok(found) => dates(&found),
            Err(e) => panic!("{rule} from {start}: {e}"),
        };

        let cal = ICalendar::parse(&ics).unwrap_or_else(|e| panic!("calcard: {e:?}\n{ics}"));
        let expanded = cal.expand_dates(Tz::Floating, 100_000);
        assert!(expanded.errors.is_empty(), "{rule} from {start}: calcard {:?}", expanded.errors);
        let theirs: Vec<String> = expanded.events.iter().map(|e| e.start.date_naive().to_string()).collect();
        let mut want = theirs.clone();
        if theirs.first() != Some(&start.to_string()) {
            if rule.contains("COUNT=") {
                want.pop();
            }
            want.insert(0, start.to_string());
        }
        want.retain(|w| *w <= last.to_string());
        assert_eq!(mine, want, "{rule} from {start}");

        // A range starting later gives the same dates there (without COUNT,
        // expansion starts at the range).
        let from = add_days(start, rng.gen_range(0..2000)).unwrap();
        let later = dates(&read(&ics, &all(), &from.to_string(), &last.to_string()));
        let want_later: Vec<String> = want.iter().filter(|w| **w >= from.to_string()).cloned().collect();
        assert_eq!(later, want_later, "{rule} from {start}, range from {from}");
        compared += usize::from(theirs.len() > 1);
    }
    // Most rules gave calcard several dates to compare with.
    assert!(compared > 1000, "{compared}");
}

#[test]
fn unsupported_rules_are_refused_at_their_line() {
    let cases = [
        ("FREQ=YEARLY;BYMONTH=11;BYDAY=TH;BYSETPOS=4", "BYSETPOS"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=HOURLY", "within a day"),
        ("FREQ=DAILY;BYHOUR=9", "whole day"),
        ("FREQ=WEEKLY;BYDAY=2MO", "MONTHLY or FREQ=YEARLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY does not go with FREQ=WEEKLY"),
        ("BYMONTH=5", "no FREQ"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=YEARLY;BYDAY=0MO", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=XX", "BYDAY"),
        ("FREQ=YEARLY;INTERVAL=0", "INTERVAL"),
        ("FREQ=YEARLY;COUNT=0", "COUNT"),
        ("FREQ=YEARLY;FREQ=MONTHLY", "twice"),
        ("FREQ=YEARLY;RSCALE=HEBREW", "RSCALE"),
        ("FREQ=YEARLY;FOO=1", "FOO"),
    ];
    for (rule, what) in cases {
        let ics = one("Day", &format!("DTSTART;VALUE=DATE:20260501\nRRULE:{rule}"));
        let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
        assert_eq!(line, 8, "{rule}: {msg}");
        assert!(msg.contains(what) && msg.contains("\"Day\""), "{rule}: {msg}");
    }
    // Extensions and the defaults of RFC 7529 are fine.
    assert_eq!(
        yearly(
            "DTSTART;VALUE=DATE:20260501\nRRULE:FREQ=YEARLY;RSCALE=GREGORIAN;SKIP=OMIT;X-FOO=1",
            "2026-01-01",
            "2027-12-31"
        ),
        ["2026-05-01", "2027-05-01"]
    );
}

// ---------------------------------------------------------------------------
// Broken input

#[test]
fn broken_files_are_refused_with_the_line() {
    let cases: [(String, usize, &str); 9] = [
        ("hello\r\n".into(), 1, "not an iCalendar file"),
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n".into(), 1, "BEGIN:VCALENDAR"),
        ("".into(), 1, "empty"),
        // Cut off in the middle of an event.
        (one("Day", "DTSTART;VALUE=DATE:20260501").replace("END:VEVENT\r\nEND:VCALENDAR\r\n", ""), 4, "never ends"),
        (cal("BEGIN:VEVENT\nSUMMARY:X\nEND:VTODO"), 6, "not nested"),
        (cal("BEGIN:VEVENT\nBEGIN:VEVENT\nEND:VEVENT\nEND:VEVENT"), 5, "inside VEVENT"),
        (cal("BEGIN:VEVENT\nno colon here\nEND:VEVENT"), 5, "content line"),
        (format!("{}X:1\r\n", cal("")), 5, "after END:VCALENDAR"),
        (cal(&"BEGIN:X\n".repeat(9)), 11, "deeper"),
    ];
    for (ics, want, what) in cases {
        let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
        assert_eq!(line, want, "{ics:?}: {msg}");
        assert!(msg.contains(what), "{ics:?}: {msg}");
    }
}

#[test]
fn bad_dates_of_a_kept_event_are_refused_with_the_line() {
    let cases = [
        ("CLASS:PUBLIC", 4, "no DTSTART"),
        ("DTSTART;VALUE=DATE:20260230", 7, "not a date"),
        ("DTSTART;VALUE=DATE:2026-5-1", 7, "not a date"),
        ("DTSTART;VALUE=DATE:20260501\nDTSTART;VALUE=DATE:20260502", 8, "second DTSTART"),
        ("DTSTART;VALUE=DATE:20260501\nDTEND:20260502T000000Z", 8, "a time"),
        ("DTSTART;VALUE=DATE:20260501\nDTEND;VALUE=DATE:20260502\nDURATION:P1D", 9, "both DTEND and DURATION"),
        ("DTSTART;VALUE=DATE:20260501\nEXDATE:20260501T000000Z", 8, "a time"),
        ("DTSTART;VALUE=DATE:20260501\nRDATE;VALUE=PERIOD:20260501/P1D", 8, "PERIOD"),
    ];
    for (props, want, what) in cases {
        let ics = one("Day", props);
        let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
        assert_eq!(line, want, "{props}: {msg}");
        assert!(msg.contains(what), "{props}: {msg}");
        // Left out by the filter, the same event is no error.
        assert_eq!(read(&ics, &filter(&[], &["day"]), "2026-01-01", "2026-12-31"), []);
    }
}

#[test]
fn an_empty_range_is_refused() {
    assert_eq!(
        error(GERMANY, &all(), "2026-12-31", "2026-01-01"),
        HolidayError::Range { from: d("2026-12-31"), to: d("2026-01-01") }
    );
}

// ---------------------------------------------------------------------------
// Limits

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let huge = GERMANY.repeat(MAX_BYTES / GERMANY.len() + 1);
    assert_eq!(
        error(&huge, &all(), "2026-01-01", "2026-12-31"),
        HolidayError::TooLarge { size: huge.len(), max: MAX_BYTES }
    );
    // A million tiny events: over the size limit too.
    let million = cal(&"BEGIN:VEVENT\nEND:VEVENT\n".repeat(1_000_000));
    assert!(matches!(error(&million, &all(), "2026-01-01", "2026-12-31"), HolidayError::TooLarge { .. }));
    // Just under it, the file is read.
    let filler = format!("X-FILL:{}\r\n", "x".repeat(1000));
    let body: String = filler.repeat((MAX_BYTES - GERMANY.len()) / filler.len());
    let padded = GERMANY.replacen("VERSION:2.0\r\n", &format!("VERSION:2.0\r\n{body}"), 1);
    assert!(padded.len() <= MAX_BYTES && padded.len() > MAX_BYTES - 2000);
    assert_eq!(read(&padded, &all(), "2026-01-01", "2026-12-31").len(), 19);
}

#[test]
fn more_events_than_the_limit_are_refused_at_the_first_too_many() {
    let tiny = "BEGIN:VEVENT\nEND:VEVENT\n";
    let ics = cal(&tiny.repeat(MAX_EVENTS + 5));
    assert!(ics.len() < MAX_BYTES);
    let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
    assert_eq!(line, 4 + 2 * MAX_EVENTS, "{msg}");
    assert!(msg.contains(&format!("more than {MAX_EVENTS} events")), "{msg}");
    // As many as the limit: read (these have no dates, and the filter leaves them out).
    let ics = cal(&tiny.repeat(MAX_EVENTS));
    assert_eq!(read(&ics, &filter(&["x"], &[]), "2026-01-01", "2026-12-31"), []);
}

#[test]
fn a_line_over_the_limit_is_refused_folded_or_not() {
    let long = format!("DESCRIPTION:{}", "x".repeat(MAX_LINE));
    let ics = one("Day", &format!("DTSTART;VALUE=DATE:20260501\n{long}"));
    let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
    assert_eq!(line, 8);
    assert!(msg.contains("longer than"), "{msg}");
    let folded = refold(&ics, 70, "\r\n");
    assert_eq!(invalid_at(&error(&folded, &all(), "2026-01-01", "2026-12-31")).0, 8);
    // At the limit: read.
    let ok = one("Day", &format!("DTSTART;VALUE=DATE:20260501\n{}", &long[..MAX_LINE]));
    assert_eq!(read(&refold(&ok, 70, "\r\n"), &all(), "2026-01-01", "2026-12-31").len(), 1);
}

#[test]
fn a_daily_rule_over_a_thousand_years_is_bounded_by_the_dates_returned() {
    let ics = one("Every day", "DTSTART;VALUE=DATE:10260101\nRRULE:FREQ=DAILY");
    assert_eq!(
        error(&ics, &all(), "1026-01-01", "2026-12-31"),
        HolidayError::TooManyDates { max: MAX_DATES, from: d("1026-01-01"), to: d("2026-12-31") }
    );
    // Over a year it is 365 days, wherever the series started.
    assert_eq!(read(&ics, &all(), "2026-01-01", "2026-12-31").len(), 365);
    let ics = one("Every day", "DTSTART;VALUE=DATE:00010101\nRRULE:FREQ=DAILY");
    assert_eq!(read(&ics, &all(), "9000-01-01", "9000-01-31").len(), 31);
    // A very long event too.
    let ics = one("Forever", "DTSTART;VALUE=DATE:00010101\nDTEND;VALUE=DATE:99991231");
    assert_eq!(read(&ics, &all(), "2026-01-01", "2026-12-31").len(), 365);
    assert!(matches!(error(&ics, &all(), "2000-01-01", "2100-01-01"), HolidayError::TooManyDates { .. }));
}

#[test]
fn rules_that_must_count_from_long_ago_are_bounded_by_steps() {
    // COUNT forces counting from DTSTART; a rule that never matches finds nothing
    // to count, so each looks at every day from year 1.
    let never = "DTSTART;VALUE=DATE:00010101\nRRULE:FREQ=DAILY;COUNT=1000000;BYMONTHDAY=31;BYMONTH=2";
    let one_rule = one("Never", never);
    assert_eq!(dates(&read(&one_rule, &all(), "2026-01-01", "2026-12-31")), Vec::<String>::new());
    let events: String = (0..10).map(|i| event(&format!("Never {i}"), never)).collect();
    let ics = cal(&events);
    let (line, msg) = invalid_at(&error(&ics, &all(), "2026-01-01", "2026-12-31"));
    assert!(msg.contains(&format!("more than {MAX_STEPS} steps")), "{msg}");
    // The rule of the event where the budget ran out (each event takes 6 lines).
    assert_eq!((line - 8) % 6, 0, "{msg}");
    // The same rules without COUNT start at the range: no steps before it.
    let events: String = (0..10).map(|i| event(&format!("Never {i}"), &never.replace("COUNT=1000000;", ""))).collect();
    assert_eq!(read(&cal(&events), &all(), "2026-01-01", "2026-12-31"), []);
}

#[test]
fn many_patterns_or_long_ones_are_refused() {
    let many: Vec<String> = (0..=MAX_PATTERNS).map(|i| format!("p{i}")).collect();
    let f = HolidayFilter { include: many, exclude: vec![] };
    assert!(matches!(error(GERMANY, &f, "2026-01-01", "2026-12-31"), HolidayError::Pattern { .. }));
    let long = "*".repeat(MAX_PATTERN_CHARS + 1);
    assert!(matches!(error(GERMANY, &filter(&[&long], &[]), "2026-01-01", "2026-12-31"), HolidayError::Pattern { .. }));
}

// ---------------------------------------------------------------------------
// Patterns

fn glob(p: &str, v: &str) -> bool {
    Glob::parse(p).unwrap().matches(&v.to_lowercase())
}

#[test]
fn globs_match_whole_values_case_insensitively() {
    assert!(glob("Labor Day", "labor day"));
    assert!(!glob("Labor", "Labor Day"));
    assert!(glob("Labor*", "Labor Day"));
    assert!(glob("*day", "Labor Day"));
    assert!(glob("*or*da*", "Labor Day"));
    assert!(!glob("*da*or*", "Labor Day"));
    assert!(glob("*", ""));
    assert!(!glob("?", ""));
    assert!(glob("L?bor D?y", "Labor Day"));
    assert!(!glob("L?bor", "Lbor"));
    assert!(glob("a*a", "aa"));
    assert!(!glob("aa*aa", "aaa"));
    assert!(glob("aa*aa", "aaaa"));
    assert!(glob("**a**", "xax"));
    // Each run between stars takes its own characters.
    assert!(glob("*ab*ab*", "abab"));
    assert!(!glob("*ab*ab*", "xab"));
    assert!(!glob("*a?*a?", "xab"));
    assert!(glob("*a?*a?", "abab"));
    assert!(glob("MARIÄ*", "Mariä Himmelfahrt"));
    assert!(glob("*銀行休業日*", "1月2日の銀行休業日"));
    assert!(glob("??日", "元日日"));
    assert!(glob("[!x]日", "元日"));
    assert!(!glob("[!元]日", "元日"));
    assert!(glob("[一-龥]日", "元日"));
    // Around the surrogates, which are no characters.
    assert!(glob("[!\u{d7ff}]", "\u{e000}"));
    assert!(glob("[\u{d000}-\u{f000}]", "\u{e000}"));
    assert!(!glob("[\u{d000}-\u{d7ff}]", "\u{e000}"));
    assert!(glob("[\u{10000}-\u{10ffff}]", "\u{10ffff}"));
    assert!(!glob("?日", "元日日"));
}

#[test]
fn long_globs_carry_across_words() {
    // The automaton keeps 64 items to a word: stars and matches cross them.
    let a63 = "a".repeat(63);
    assert!(glob(&format!("{a63}*b"), &format!("{a63}xxb")));
    assert!(glob(&format!("{a63}*b"), &format!("{a63}b")));
    assert!(!glob(&format!("{a63}*b"), &format!("{a63}xx")));
    assert!(glob(&format!("*{a63}b*"), &format!("x{a63}by")));
    assert!(!glob(&format!("*{a63}b*"), &format!("x{}by", "a".repeat(62))));
    let q = "?".repeat(130);
    assert!(glob(&q, &"日".repeat(130)));
    assert!(!glob(&q, &"日".repeat(129)));
    assert!(!glob(&q, &"日".repeat(131)));
    assert!(glob(&format!("{q}*"), &"x".repeat(200)));
}

#[test]
fn glob_sets_and_escapes() {
    assert!(glob("*[!)]", "Karfreitag"));
    assert!(!glob("*[!)]", "Fronleichnam (BW)"));
    assert!(glob("*[( ]b[,)]*", "Weltfrauentag (MVP, B)"));
    assert!(glob("*[( ]b[,)]*", "X (B)"));
    assert!(!glob("*[( ]b[,)]*", "X (BB, HB)"));
    assert!(glob("[a-c]x", "Bx"));
    assert!(!glob("[^a-c]x", "bx"));
    assert!(glob("[]]", "]"));
    assert!(glob("[a-]", "-"));
    assert!(glob("\\*\\?\\[", "*?["));
    assert!(!glob("\\*", "x"));
    assert!(glob("*(substitute)", "Christmas Day (substitute)"));
    assert!(!glob("*(substitute)", "Independence Day (substitute) (AK, AL)"));
    for bad in ["[abc", "[z-a]", "x[", "[a-"] {
        assert!(Glob::parse(bad).is_err(), "{bad}");
    }
    for bad in ["", "  ", "summary:", "description: "] {
        assert!(matches!(compile_pattern(bad), Err(HolidayError::Pattern { .. })), "{bad:?}");
    }
}

#[test]
fn field_prefixes_pick_the_field() {
    assert_eq!(compile_pattern("Summary:x").unwrap().0, Field::Summary);
    assert_eq!(compile_pattern("category:x").unwrap().0, Field::Category);
    assert_eq!(compile_pattern("CATEGORIES:x").unwrap().0, Field::Category);
    assert_eq!(compile_pattern("description:x").unwrap().0, Field::Description);
    assert_eq!(compile_pattern("note:x").unwrap().0, Field::SummaryOrCategory);
}

#[test]
fn the_filter_reads_from_json() {
    let f: HolidayFilter = serde_json::from_str(r#"{"include": ["*[!)]"]}"#).unwrap();
    assert_eq!(f, filter(&["*[!)]"], &[]));
}
