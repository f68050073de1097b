use super::*;
use crate::{DeadlineRule, IsoDuration};
use jiff::civil::date;

// ---- helpers ----------------------------------------------------------------

/// An instant given as a wall-clock time in a zone.
fn at(s: &str, zone: &str) -> Timestamp {
    let dt: DateTime = s.parse().unwrap();
    dt.to_zoned(TimeZone::get(zone).unwrap()).unwrap().timestamp()
}

/// An instant written as its wall-clock time and offset in a zone.
fn local(t: Timestamp, zone: &str) -> String {
    t.to_zoned(TimeZone::get(zone).unwrap()).strftime("%Y-%m-%dT%H:%M%:z").to_string()
}

fn week(days: &[&str]) -> Weekmask {
    Weekmask::parse(days).unwrap()
}

fn hours(periods: &[&str]) -> Vec<Period> {
    parse_hours(periods).unwrap()
}

fn off(name: &str) -> Holiday {
    Holiday { name: name.into(), hours: None }
}

/// Berlin office: Monday to Friday, 09:00-12:00 and 13:00-17:00 (7 hours),
/// Easter 2026 (Good Friday 3 April, Easter Monday 6 April), 1 May (a Friday),
/// Christmas Eve a half day (09:00-12:00), Christmas and Boxing Day (26 Dec is
/// a Saturday: off anyway).
fn berlin_office() -> WorkCalendar {
    let mut c = WorkCalendar::new("de-berlin", "Europe/Berlin", Weekmask::MON_FRI);
    c.hours = hours(&["09:00-12:00", "13:00-17:00"]);
    c.holidays.insert(date(2026, 4, 3), off("Karfreitag"));
    c.holidays.insert(date(2026, 4, 6), off("Ostermontag"));
    c.holidays.insert(date(2026, 5, 1), off("Tag der Arbeit"));
    c.holidays.insert(date(2026, 12, 24), Holiday { name: "Heiligabend".into(), hours: Some(hours(&["09:00-12:00"])) });
    c.holidays.insert(date(2026, 12, 25), off("1. Weihnachtstag"));
    c.holidays.insert(date(2026, 12, 26), off("2. Weihnachtstag"));
    c
}

/// Every day of the week, 00:00-06:00: the DST changes of all three zones
/// happen inside these hours, on Sundays.
fn night_shift(zone: &str) -> CompiledCalendar {
    let mut c = WorkCalendar::new("night", zone, week(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"]));
    c.hours = hours(&["00:00-06:00"]);
    c.compile().unwrap()
}

/// Every hour of every day, no holidays: business time is plain time.
fn always(zone: &str) -> CompiledCalendar {
    WorkCalendar::new("always", zone, week(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"])).compile().unwrap()
}

/// A small deterministic generator (xorshift64*), so random cases repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn day_at(n: i64) -> Date {
    date(1970, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap()
}

/// A random calendar: any week (also none), holidays (some half days, also on
/// days off), extra working days, around 2020–2031.
fn random_calendar(rng: &mut Rng) -> WorkCalendar {
    let mut flags = [false; 7];
    for f in &mut flags {
        *f = rng.chance(60);
    }
    let mut c = WorkCalendar::new("random", "UTC", Weekmask::from_flags(flags));
    let base = day_number(date(2020, 1, 1));
    for _ in 0..rng.range(0, 150) {
        let d = day_at(base + rng.range(0, 4000));
        let hours = if rng.chance(15) { Some(hours(&["08:00-12:00"])) } else { None };
        c.holidays.insert(d, Holiday { name: String::new(), hours });
    }
    for _ in 0..rng.range(0, 20) {
        let d = day_at(base + rng.range(0, 4000));
        if !c.holidays.contains_key(&d) {
            c.working_days.insert(d, "make-up day".into());
        }
    }
    c
}

/// The rules of a working day read straight from the calendar's data.
fn naive_working(c: &WorkCalendar, d: Date) -> bool {
    if c.working_days.contains_key(&d) {
        return true;
    }
    let weekday = c.week.contains(d.weekday());
    match c.holidays.get(&d) {
        Some(h) => weekday && h.hours.is_some(),
        None => weekday,
    }
}

/// busday_offset one day at a time (gives up after 50,000 days).
fn naive_offset(c: &WorkCalendar, d: Date, n: i64, roll: Roll) -> Option<Date> {
    let step = |d: Date, by: i64| if by > 0 { d.tomorrow().ok() } else { d.yesterday().ok() };
    let mut d = d;
    let mut guard = 0;
    let by = if roll == Roll::Forward { 1 } else { -1 };
    while !naive_working(c, d) {
        d = step(d, by)?;
        guard += 1;
        if guard > 50_000 {
            return None;
        }
    }
    let by = n.signum();
    let mut left = n.abs();
    while left > 0 {
        d = step(d, by)?;
        if naive_working(c, d) {
            left -= 1;
        }
        guard += 1;
        if guard > 50_000 {
            return None;
        }
    }
    Some(d)
}

// ---- parsing and validation -------------------------------------------------

#[test]
fn weekdays_parse_and_print() {
    let w = week(&["mon", "Tue", " wed ", "thu", "fri"]);
    assert_eq!(w, Weekmask::MON_FRI);
    assert_eq!(w.to_string(), "mon,tue,wed,thu,fri");
    assert_eq!(w.to_bits(), "1111100");
    assert_eq!(w.count(), 5);
    assert!(w.contains(Weekday::Friday) && !w.contains(Weekday::Saturday));
    assert_eq!(week(&["sun"]).to_bits(), "0000001");
    assert_eq!(Weekmask::parse::<&str>(&[]).unwrap().count(), 0);
    let e = Weekmask::parse(&["mon", "monday"]).unwrap_err();
    assert_eq!(e, WorkCalendarError::BadWeekday("monday".into()));
    assert!(e.to_string().contains("write mon, tue, wed, thu, fri, sat or sun"), "{e}");
    assert_eq!(Weekmask::parse(&["mon", "MON"]).unwrap_err(), WorkCalendarError::WeekdayTwice("mon".into()));
}

#[test]
fn periods_parse_and_print() {
    let p = Period::parse("09:00-12:30").unwrap();
    assert_eq!((p.start, p.end), (Time::constant(9, 0, 0, 0), Time::constant(12, 30, 0, 0)));
    assert_eq!(p.to_string(), "09:00-12:30");
    // Midnight at the end of the day is 24:00.
    let p = Period::parse("22:00-24:00").unwrap();
    assert_eq!(p.end, Time::MAX);
    assert_eq!(p.to_string(), "22:00-24:00");
    assert_eq!("00:00-24:00".parse::<Period>().unwrap().to_string(), "00:00-24:00");
    for (bad, reason) in [
        ("09:00", "no '-'"),
        ("9:00-12:00", "the start"),
        ("09:00-12", "the end"),
        ("09:60-12:00", "the start"),
        ("24:00-24:00", "the start"),
        ("09:00-24:01", "the end"),
        ("12:00-09:00", "end after it starts"),
        ("09:00-09:00", "end after it starts"),
        ("22:00-06:00", "end after it starts"),
        ("0a:00-12:00", "the start"),
    ] {
        let e = Period::parse(bad).unwrap_err();
        assert!(e.to_string().contains(reason) && e.to_string().contains("for example 09:00-12:00"), "{bad}: {e}");
    }
    // A period built by hand is checked too.
    assert!(Period::new(Time::constant(9, 0, 30, 0), Time::constant(10, 0, 0, 0)).is_err());
    assert!(Period::new(Time::constant(9, 0, 0, 0), Time::MAX).is_ok());
}

#[test]
fn hours_must_be_in_order_and_apart() {
    assert_eq!(hours(&["09:00-12:00", "12:00-13:00"]).len(), 2, "touching periods are fine");
    let e = parse_hours(&["13:00-17:00", "09:00-12:00"]).unwrap_err();
    assert!(matches!(e, WorkCalendarError::PeriodsOverlap { .. }), "{e}");
    let e = parse_hours(&["09:00-12:00", "11:00-17:00"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the working hours 09:00-12:00 and 11:00-17:00 overlap or are out of order: \
         list the periods from the earliest, for example 09:00-12:00, 13:00-17:00"
    );
    let many: Vec<String> =
        (0..49).map(|i| format!("{:02}:{:02}-{:02}:{:02}", i / 3, (i % 3) * 20, i / 3, (i % 3) * 20 + 10)).collect();
    assert!(matches!(parse_hours(&many), Err(WorkCalendarError::TooManyPeriods { count: 49, .. })));
    assert_eq!(parse_hours(&many[..48]).unwrap().len(), 48);
}

#[test]
fn rolls_parse() {
    assert_eq!(Roll::parse("forward").unwrap(), Roll::Forward);
    assert_eq!(Roll::parse("backward").unwrap(), Roll::Backward);
    assert_eq!(Roll::default(), Roll::Forward);
    assert_eq!(Roll::Backward.to_string(), "backward");
    assert!(Roll::parse("following").unwrap_err().to_string().contains("write forward or backward"));
}

#[test]
fn validate_refuses_what_cannot_be() {
    assert_eq!(berlin_office().validate(), Ok(()));
    let with = |f: &dyn Fn(&mut WorkCalendar)| {
        let mut c = berlin_office();
        f(&mut c);
        c.validate()
    };
    for bad in ["", "De-Berlin", "-berlin", "berlin-", "de berlin", "de_berlin", &"a".repeat(65)] {
        assert_eq!(with(&|c| c.name = bad.into()), Err(WorkCalendarError::BadName(bad.into())), "{bad:?}");
    }
    assert_eq!(with(&|c| c.name = "a".repeat(64)), Ok(()));
    assert_eq!(
        with(&|c| c.time_zone = "Europe/Atlantis".into()),
        Err(WorkCalendarError::UnknownZone("Europe/Atlantis".into()))
    );
    assert!(matches!(
        with(&|c| c.hours.reverse()),
        Err(WorkCalendarError::PeriodsOverlap { place, .. }) if place.is_empty()
    ));
    let e = with(&|c| {
        c.holidays.get_mut(&date(2026, 12, 24)).unwrap().hours =
            Some(vec![Period::parse("09:00-12:00").unwrap(), Period::parse("10:00-11:00").unwrap()])
    })
    .unwrap_err();
    assert!(e.to_string().contains("of the holiday on 2026-12-24 overlap"), "{e}");
    let e = with(&|c| {
        c.holidays.get_mut(&date(2026, 12, 24)).unwrap().hours =
            Some((0..49).map(|i| Period::parse(&format!("{:02}:00-{:02}:10", i / 3 + 1, i / 3 + 1)).unwrap()).collect())
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("the holiday on 2026-12-24 has 49 periods"), "{e}");
    assert_eq!(
        with(&|c| c.holidays.get_mut(&date(2026, 12, 24)).unwrap().hours = Some(vec![])),
        Err(WorkCalendarError::NoHours(date(2026, 12, 24)))
    );
    assert_eq!(
        with(&|c| {
            c.working_days.insert(date(2026, 5, 1), "make-up".into());
        }),
        Err(WorkCalendarError::HolidayAndWorkingDay(date(2026, 5, 1)))
    );
    assert_eq!(
        with(&|c| c.holidays.get_mut(&date(2026, 5, 1)).unwrap().name = "x".repeat(201)),
        Err(WorkCalendarError::BadDayName { date: date(2026, 5, 1) })
    );
    assert_eq!(
        with(&|c| {
            c.working_days.insert(date(2026, 5, 2), "a\nb".into());
        }),
        Err(WorkCalendarError::BadDayName { date: date(2026, 5, 2) })
    );
    // Bounded: 10,000 holidays are fine, one more is not.
    let many = |n: i64| {
        move |c: &mut WorkCalendar| {
            c.holidays = (0..n).map(|i| (day_at(i), off("x"))).collect();
        }
    };
    assert_eq!(with(&many(10_000)), Ok(()));
    assert_eq!(with(&many(10_001)), Err(WorkCalendarError::TooManyDates { what: "holidays", count: 10_001 }));
    // A week without working days is a valid calendar: its deadlines are None.
    assert_eq!(with(&|c| c.week = Weekmask::default()), Ok(()));
    // compile() checks too.
    let mut c = berlin_office();
    c.name = "Berlin".into();
    assert!(c.compile().is_err());
}

#[test]
fn json_form_is_the_apis() {
    let c = berlin_office();
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["week"], serde_json::json!(["mon", "tue", "wed", "thu", "fri"]));
    assert_eq!(json["hours"], serde_json::json!(["09:00-12:00", "13:00-17:00"]));
    assert_eq!(json["holidays"][0], serde_json::json!({"date": "2026-04-03", "name": "Karfreitag"}));
    assert_eq!(
        json["holidays"][3],
        serde_json::json!({"date": "2026-12-24", "name": "Heiligabend", "hours": ["09:00-12:00"]})
    );
    assert!(json.get("working_days").is_none(), "empty lists are left out: {json}");
    let back: WorkCalendar = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);

    let read = |j: serde_json::Value| serde_json::from_value::<WorkCalendar>(j).map_err(|e| e.to_string());
    let min = read(serde_json::json!({"name": "x", "time_zone": "UTC", "week": ["sat"],
        "working_days": [{"date": "2026-01-05"}]}))
    .unwrap();
    assert_eq!(min.working_days.get(&date(2026, 1, 5)).map(String::as_str), Some(""));
    assert!(min.hours.is_empty() && min.holidays.is_empty());
    let e = read(serde_json::json!({"name": "x", "time_zone": "UTC", "week": ["mon"],
        "holidays": [{"date": "2026-01-01"}, {"date": "2026-01-01", "name": "again"}]}))
    .unwrap_err();
    assert!(e.contains("2026-01-01 is listed twice as a holiday"), "{e}");
    let e = read(serde_json::json!({"name": "x", "time_zone": "UTC", "week": ["mon"], "holiday": []})).unwrap_err();
    assert!(e.contains("unknown field"), "{e}");
    let e = read(serde_json::json!({"name": "x", "time_zone": "UTC", "week": ["mo"]})).unwrap_err();
    assert!(e.contains("'mo' is not a weekday"), "{e}");
    let e = read(serde_json::json!({"name": "x", "time_zone": "UTC", "week": [], "hours": ["9-12"]})).unwrap_err();
    assert!(e.contains("'9-12' is not a period"), "{e}");
    assert_eq!(serde_json::to_value(Roll::Backward).unwrap(), serde_json::json!("backward"));
}

// ---- days -------------------------------------------------------------------

#[test]
fn day_numbers_agree_with_jiff() {
    let epoch = date(1970, 1, 1);
    let mut rng = Rng(7);
    let mut days: Vec<i64> = (0..20_000).map(|_| rng.range(FIRST_DAY, LAST_DAY)).collect();
    days.extend([FIRST_DAY, LAST_DAY, 0, -1, 1, 59, 60, 11_016, -719_468]);
    for n in days {
        let d = date_of(n).unwrap();
        assert_eq!(d.since((jiff::Unit::Day, epoch)).unwrap().get_days() as i64, n, "{d}");
        assert_eq!(day_number(d), n, "{d}");
        assert_eq!(weekday_index(n), d.weekday().to_monday_zero_offset() as usize, "{d}");
    }
    assert_eq!(date_of(FIRST_DAY), Some(Date::MIN));
    assert_eq!(date_of(LAST_DAY), Some(Date::MAX));
    assert_eq!((date_of(FIRST_DAY - 1), date_of(LAST_DAY + 1)), (None, None));
}

#[test]
fn working_days_and_their_hours() {
    let mut c = berlin_office();
    // A make-up Saturday, and a half day on a Sunday (a Sunday stays off).
    c.working_days.insert(date(2026, 10, 10), "make-up Saturday".into());
    c.holidays.insert(date(2026, 10, 11), Holiday { name: "odd".into(), hours: Some(hours(&["10:00-11:00"])) });
    let k = c.compile().unwrap();
    let office = hours(&["09:00-12:00", "13:00-17:00"]);
    assert!(k.is_working(date(2026, 4, 2)));
    assert_eq!(k.hours_on(date(2026, 4, 2)), Some(&office[..]));
    for day_off in [date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6), date(2026, 10, 11)] {
        assert!(!k.is_working(day_off), "{day_off}");
        assert_eq!(k.hours_on(day_off), None, "{day_off}");
    }
    // The half day works, with its own hours.
    assert!(k.is_working(date(2026, 12, 24)));
    assert_eq!(k.hours_on(date(2026, 12, 24)), Some(&hours(&["09:00-12:00"])[..]));
    // The make-up Saturday works the normal hours.
    assert_eq!(k.hours_on(date(2026, 10, 10)), Some(&office[..]));
    assert_eq!(k.working_days_per_week(), 5);
    // Without hours: the whole day (an empty list).
    let whole = WorkCalendar::new("x", "UTC", Weekmask::MON_FRI).compile().unwrap();
    assert_eq!(whole.hours_on(date(2026, 4, 2)), Some(&[][..]));
}

#[test]
fn busday_offset_matches_numpy_examples() {
    // From numpy's documentation of busday_offset (default week Monday–Friday).
    let k = WorkCalendar::new("x", "UTC", Weekmask::MON_FRI).compile().unwrap();
    // np.busday_offset('2011-10', 0, roll='forward') -> 2011-10-03 (1 Oct is a Saturday).
    assert_eq!(k.busday_offset(date(2011, 10, 1), 0, Roll::Forward), Some(date(2011, 10, 3)));
    // np.busday_offset('2012-03', -1, roll='forward') -> 2012-02-29.
    assert_eq!(k.busday_offset(date(2012, 3, 1), -1, Roll::Forward), Some(date(2012, 2, 29)));
    // np.busday_offset('2011-03-20', 10, roll='forward') -> 2011-04-04; 'backward' -> 2011-04-01.
    assert_eq!(k.busday_offset(date(2011, 3, 20), 10, Roll::Forward), Some(date(2011, 4, 4)));
    assert_eq!(k.busday_offset(date(2011, 3, 20), 10, Roll::Backward), Some(date(2011, 4, 1)));
    // np.busday_offset('2011-03-20', -1, roll='forward') -> 2011-03-18: roll first, then move.
    assert_eq!(k.busday_offset(date(2011, 3, 20), -1, Roll::Forward), Some(date(2011, 3, 18)));
    // np.busday_offset('2011-03-22', -10, roll='forward', weekmask='Sun') -> 2011-01-16.
    let sundays = WorkCalendar::new("x", "UTC", week(&["sun"])).compile().unwrap();
    assert_eq!(sundays.busday_offset(date(2011, 3, 22), -10, Roll::Forward), Some(date(2011, 1, 16)));
    // np.busday_offset('2011-12-23', 1, holidays=['2011-12-26','2011-12-27']) -> 2011-12-28.
    let mut c = WorkCalendar::new("x", "UTC", Weekmask::MON_FRI);
    c.holidays.insert(date(2011, 12, 26), off("a"));
    c.holidays.insert(date(2011, 12, 27), off("b"));
    assert_eq!(c.compile().unwrap().busday_offset(date(2011, 12, 23), 1, Roll::Forward), Some(date(2011, 12, 28)));
}

#[test]
fn busday_offset_counts_extra_days_and_half_days_as_working() {
    let mut c = berlin_office();
    c.working_days.insert(date(2026, 4, 4), "make-up Saturday".into());
    let k = c.compile().unwrap();
    // Thursday 2 April + 1: Good Friday is off, the make-up Saturday works.
    assert_eq!(k.busday_offset(date(2026, 4, 2), 1, Roll::Forward), Some(date(2026, 4, 4)));
    // + 2: Sunday and Easter Monday off: Tuesday.
    assert_eq!(k.busday_offset(date(2026, 4, 2), 2, Roll::Forward), Some(date(2026, 4, 7)));
    // Good Friday rolls backward to Thursday, forward to the Saturday.
    assert_eq!(k.busday_offset(date(2026, 4, 3), 0, Roll::Backward), Some(date(2026, 4, 2)));
    assert_eq!(k.busday_offset(date(2026, 4, 3), 0, Roll::Forward), Some(date(2026, 4, 4)));
    assert_eq!(k.busday_offset(date(2026, 4, 7), -2, Roll::Forward), Some(date(2026, 4, 2)));
    // Christmas Eve (a half day) counts as a working day: Wed 23 + 1 = Thu 24,
    // + 2 = Mon 28 (25 off, weekend).
    assert_eq!(k.busday_offset(date(2026, 12, 23), 1, Roll::Forward), Some(date(2026, 12, 24)));
    assert_eq!(k.busday_offset(date(2026, 12, 23), 2, Roll::Forward), Some(date(2026, 12, 28)));
    assert_eq!(k.offset_date(date(2026, 12, 28), -2, Roll::Forward), Some(date(2026, 12, 23)));
    // deadlineFrom a date on a day off, no offset: the item's date, rolled.
    assert_eq!(k.offset_date(date(2026, 12, 26), 0, Roll::Forward), Some(date(2026, 12, 28)));
    assert_eq!(k.offset_date(date(2026, 12, 26), 0, Roll::Backward), Some(date(2026, 12, 24)));
    // "-P2D" from a Sunday item, rolled backward first: Fri 11 Dec - 2 = Wed 9 Dec.
    assert_eq!(k.offset_date(date(2026, 12, 13), -2, Roll::Backward), Some(date(2026, 12, 9)));
}

#[test]
fn busday_offset_agrees_with_a_day_by_day_count() {
    // Random weeks (also empty ones), holidays, half days (also on days off)
    // and extra working days; starts on working and non-working days; small
    // and large offsets both ways; both rolls.
    let mut rng = Rng(0x5eed_2026);
    let mut compared = 0;
    for _ in 0..300 {
        let c = random_calendar(&mut rng);
        let k = c.compile().unwrap();
        let base = day_number(date(2019, 6, 1));
        for _ in 0..60 {
            let d = day_at(base + rng.range(0, 4500));
            let n = if rng.chance(80) { rng.range(-40, 40) } else { rng.range(-600, 600) };
            let roll = if rng.chance(50) { Roll::Forward } else { Roll::Backward };
            assert_eq!(k.is_working(d), naive_working(&c, d), "{d} in {c:?}");
            assert_eq!(k.busday_offset(d, n, roll), naive_offset(&c, d, n, roll), "{d} {n} {roll} in week {}", c.week);
            compared += 1;
        }
    }
    assert_eq!(compared, 18_000);
}

#[test]
fn no_working_day_gives_none_at_once() {
    let k = WorkCalendar::new("x", "UTC", Weekmask::default()).compile().unwrap();
    assert_eq!(k.busday_offset(date(2026, 1, 1), 0, Roll::Forward), None);
    assert_eq!(k.busday_offset(date(2026, 1, 1), 5, Roll::Backward), None);
    assert_eq!(k.add_days(at("2026-01-01T09:00", "UTC"), 3), None);
    assert_eq!(k.add_working_time(at("2026-01-01T09:00", "UTC"), 60), None);
    assert_eq!(k.add_working_time(at("2026-01-01T09:00", "UTC"), -60), None);
    // Only extra working days: those are counted, and past the last one there is none.
    let mut c = WorkCalendar::new("x", "UTC", Weekmask::default());
    c.working_days.insert(date(2026, 3, 7), "a".into());
    c.working_days.insert(date(2026, 6, 6), "b".into());
    let k = c.compile().unwrap();
    assert_eq!(k.busday_offset(date(2026, 1, 1), 0, Roll::Forward), Some(date(2026, 3, 7)));
    assert_eq!(k.busday_offset(date(2026, 1, 1), 1, Roll::Forward), Some(date(2026, 6, 6)));
    assert_eq!(k.busday_offset(date(2026, 1, 1), 2, Roll::Forward), None);
    assert_eq!(k.busday_offset(date(2026, 1, 1), 0, Roll::Backward), None);
    // 48 working hours exist (two whole days); a third day's worth does not.
    let start = at("2026-01-01T09:00", "UTC");
    assert_eq!(local(k.add_working_time(start, 48 * 60).unwrap(), "UTC"), "2026-06-07T00:00+00:00");
    assert_eq!(k.add_working_time(start, 48 * 60 + 1), None);
}

#[test]
fn large_offsets_count_whole_weeks_and_stop_at_the_ends_of_time() {
    let c = berlin_office();
    let k = c.compile().unwrap();
    for n in [5_000, -5_000, 7_001, -7_001] {
        for d in [date(2026, 4, 3), date(2026, 4, 2)] {
            assert_eq!(k.busday_offset(d, n, Roll::Forward), naive_offset(&c, d, n, Roll::Forward), "{d} {n}");
        }
    }
    // 100,000 working days of Monday–Friday from Monday 6 January 2031 (no
    // holidays that far): exactly 20,000 weeks later, a Monday.
    let plain = WorkCalendar::new("x", "UTC", Weekmask::MON_FRI).compile().unwrap();
    assert_eq!(
        plain.busday_offset(date(2031, 1, 6), 100_000, Roll::Forward),
        date(2031, 1, 6).checked_add(jiff::Span::new().weeks(20_000)).ok()
    );
    // Past the last date jiff represents: None, not a panic.
    assert_eq!(k.busday_offset(date(2026, 1, 1), 3_000_000, Roll::Forward), None);
    assert_eq!(k.busday_offset(date(2026, 1, 1), i64::MIN, Roll::Forward), None);
    assert_eq!(k.busday_offset(date(2026, 1, 1), i64::MAX, Roll::Backward), None);
    assert_eq!(plain.busday_offset(Date::MAX, 1, Roll::Forward), None);
    assert_eq!(plain.busday_offset(Date::MIN, -1, Roll::Forward), None);
    assert_eq!(plain.busday_offset(date(9999, 12, 30), 0, Roll::Forward), Some(date(9999, 12, 30)));
}

// ---- PnD --------------------------------------------------------------------

#[test]
fn add_days_keeps_the_wall_clock_without_hours() {
    let mut c = berlin_office();
    c.hours.clear();
    let k = c.compile().unwrap();
    let z = "Europe/Berlin";
    // Friday before spring-forward + 1 working day: Monday, same wall-clock
    // time, now in summer time.
    assert_eq!(local(k.add_days(at("2026-03-27T09:00", z), 1).unwrap(), z), "2026-03-30T09:00+02:00");
    // Friday before fall-back + 1: Monday in winter time.
    assert_eq!(local(k.add_days(at("2026-10-23T16:45", z), 1).unwrap(), z), "2026-10-26T16:45+01:00");
    // A start on Saturday rolls to Monday (day 0): P0D is Monday, P1D Tuesday.
    assert_eq!(local(k.add_days(at("2026-03-28T10:00", z), 0).unwrap(), z), "2026-03-30T10:00+02:00");
    assert_eq!(local(k.add_days(at("2026-03-28T10:00", z), 1).unwrap(), z), "2026-03-31T10:00+02:00");
    // Thursday before Easter + 1: Good Friday, the weekend and Easter Monday are skipped.
    assert_eq!(local(k.add_days(at("2026-04-02T08:00", z), 1).unwrap(), z), "2026-04-07T08:00+02:00");

    let ny = WorkCalendar::new("us-ny", "America/New_York", Weekmask::MON_FRI).compile().unwrap();
    let z = "America/New_York";
    assert_eq!(local(ny.add_days(at("2026-03-06T17:30", z), 1).unwrap(), z), "2026-03-09T17:30-04:00");
    assert_eq!(local(ny.add_days(at("2026-10-30T17:30", z), 1).unwrap(), z), "2026-11-02T17:30-05:00");
    assert_eq!(local(ny.add_days(at("2026-10-30T17:30", z), 5).unwrap(), z), "2026-11-06T17:30-05:00");

    // Lord Howe moves by half an hour: +10:30 in winter, +11:00 in summer.
    let lh = WorkCalendar::new("au-lh", "Australia/Lord_Howe", Weekmask::MON_FRI).compile().unwrap();
    let z = "Australia/Lord_Howe";
    assert_eq!(local(lh.add_days(at("2026-10-02T12:00", z), 1).unwrap(), z), "2026-10-05T12:00+11:00");
    assert_eq!(local(lh.add_days(at("2026-04-03T12:00", z), 1).unwrap(), z), "2026-04-06T12:00+10:30");
}

#[test]
fn add_days_on_a_calendar_working_every_day_is_plain_days() {
    // The same instant as DeadlineRule's P{n}D in each zone, across both DST
    // changes, also for starts whose wall-clock time the deadline day skips
    // or repeats.
    let cases = [
        ("Europe/Berlin", ["2026-03-28T02:30", "2026-03-28T09:00", "2026-10-24T02:30", "2026-10-25T02:30"]),
        ("America/New_York", ["2026-03-07T02:30", "2026-03-07T17:30", "2026-10-31T01:30", "2026-11-01T01:30"]),
        ("Australia/Lord_Howe", ["2026-10-03T02:15", "2026-10-03T12:00", "2026-04-04T01:45", "2026-04-05T01:45"]),
    ];
    for (zone, starts) in cases {
        let k = always(zone);
        let tz = TimeZone::get(zone).unwrap();
        for start in starts {
            for n in [0, 1, 2, 7, 30] {
                let rule = DeadlineRule::After(IsoDuration::parse(&format!("P{n}D")).unwrap());
                let want = match rule.compute(at(start, zone), &tz, zone, &crate::Data::new()).unwrap() {
                    Some(crate::Deadline::At { at, .. }) => at,
                    other => panic!("{other:?}"),
                };
                assert_eq!(
                    k.add_days(at(start, zone), n).map(|t| local(t, zone)),
                    Some(local(want, zone)),
                    "{zone} {start} P{n}D"
                );
            }
        }
    }
}

#[test]
fn add_days_with_hours_ends_at_the_close() {
    let k = berlin_office().compile().unwrap();
    let z = "Europe/Berlin";
    // "Within 1 working day" from Thursday before Easter: Tuesday, at 17:00.
    assert_eq!(local(k.add_days(at("2026-04-02T10:00", z), 1).unwrap(), z), "2026-04-07T17:00+02:00");
    // Started after hours, or on a Sunday: the day counts as day 0 all the same.
    assert_eq!(local(k.add_days(at("2026-04-02T22:00", z), 1).unwrap(), z), "2026-04-07T17:00+02:00");
    assert_eq!(local(k.add_days(at("2026-03-29T10:00", z), 0).unwrap(), z), "2026-03-30T17:00+02:00");
    // Wednesday 23 December + 1: Christmas Eve, a half day, closes at 12:00.
    assert_eq!(local(k.add_days(at("2026-12-23T09:30", z), 1).unwrap(), z), "2026-12-24T12:00+01:00");
    // A day that ends at 24:00 closes at the next midnight.
    let mut c = berlin_office();
    c.hours = hours(&["18:00-24:00"]);
    let k = c.compile().unwrap();
    assert_eq!(local(k.add_days(at("2026-03-27T20:00", z), 1).unwrap(), z), "2026-03-31T00:00+02:00");
}

// ---- PTnH / PTnM --------------------------------------------------------------

#[test]
fn working_time_hand_worked_office_cases() {
    // Berlin office, Monday to Friday, 09:00-12:00 and 13:00-17:00.
    let k = berlin_office().compile().unwrap();
    let z = "Europe/Berlin";
    let add = |start: &str, minutes: i64| local(k.add_working_time(at(start, z), minutes).unwrap(), z);

    // Lunch split: Monday 2 March 10:30 + 3 h: 10:30-12:00 is 1.5 h, 1.5 h
    // left from 13:00 → 14:30.
    assert_eq!(add("2026-03-02T10:30", 180), "2026-03-02T14:30+01:00");
    // Ending exactly at a period's end stays there: 10:00 + 2 h = 12:00, not 13:00.
    assert_eq!(add("2026-03-02T10:00", 120), "2026-03-02T12:00+01:00");
    // …and at the day's close: 09:00 + 7 h = 17:00 the same day.
    assert_eq!(add("2026-03-02T09:00", 420), "2026-03-02T17:00+01:00");
    // Starts outside working hours begin at the next working minute:
    // before opening (07:15 + 1 h: from 09:00 → 10:00), during lunch
    // (12:30 + 30 min: from 13:00 → 13:30), after closing (18:00 + 1 h: from
    // Tuesday 09:00 → 10:00), on a Saturday (+ 1 h: Monday 10:00).
    assert_eq!(add("2026-03-02T07:15", 60), "2026-03-02T10:00+01:00");
    assert_eq!(add("2026-03-02T12:30", 30), "2026-03-02T13:30+01:00");
    assert_eq!(add("2026-03-02T18:00", 60), "2026-03-03T10:00+01:00");
    assert_eq!(add("2026-03-07T11:00", 60), "2026-03-09T10:00+01:00");
    // Zero moves to the next working minute and no further.
    assert_eq!(add("2026-03-02T12:00", 0), "2026-03-02T13:00+01:00");
    assert_eq!(add("2026-03-02T10:07", 0), "2026-03-02T10:07+01:00");
    // Across a weekend and holidays: Thursday 2 April 15:00 + 8 h: Thursday
    // 15:00-17:00 is 2 h (6 left); Good Friday, Saturday, Sunday and Easter
    // Monday are off; Tuesday 09:00-12:00 is 3 h (3 left); 13:00 + 3 h → 16:00.
    assert_eq!(add("2026-04-02T15:00", 480), "2026-04-07T16:00+02:00");
    // Across the spring-forward weekend: Friday 27 March 16:00 + 3 h: 1 h on
    // Friday, then Monday 09:00 + 2 h → 11:00, now at +02:00.
    assert_eq!(add("2026-03-27T16:00", 180), "2026-03-30T11:00+02:00");
    // Half day: Wednesday 23 December 16:00 + 5 h: 1 h on Wednesday (4 left);
    // Christmas Eve works 09:00-12:00 only, 3 h (1 left); the 25th is off, then
    // the weekend; Monday 28 09:00 + 1 h → 10:00.
    assert_eq!(add("2026-12-23T16:00", 300), "2026-12-28T10:00+01:00");
    // A start within the half day's afternoon (after its close) goes on to the next working day.
    assert_eq!(add("2026-12-24T14:00", 60), "2026-12-28T10:00+01:00");
    // A working week: 35 h from Monday 09:00 ends Friday 17:00.
    assert_eq!(add("2026-03-02T09:00", 35 * 60), "2026-03-06T17:00+01:00");
    // 40 h from Monday 09:00: the week's 35 h, then 5 h of the next Monday
    // (09:00-12:00, 13:00-15:00) → 15:00.
    assert_eq!(add("2026-03-02T09:00", 40 * 60), "2026-03-09T15:00+01:00");
}

#[test]
fn working_time_backwards() {
    let k = berlin_office().compile().unwrap();
    let z = "Europe/Berlin";
    let add = |start: &str, minutes: i64| local(k.add_working_time(at(start, z), minutes).unwrap(), z);
    // Tuesday 7 April 10:00 - 3 h: Tuesday 09:00-10:00 is 1 h (2 left); Easter
    // Monday, the weekend and Good Friday are off; Thursday 17:00 - 2 h → 15:00.
    assert_eq!(add("2026-04-07T10:00", -180), "2026-04-02T15:00+02:00");
    // Ending exactly at a period's start stays there: 14:00 - 1 h = 13:00, not 12:00.
    assert_eq!(add("2026-03-02T14:00", -60), "2026-03-02T13:00+01:00");
    // A start outside working hours begins at the end of the previous period:
    // Monday 07:00 - 1 h: from Friday 17:00 → 16:00; lunch 12:30 - 30 min → 11:30.
    assert_eq!(add("2026-03-09T07:00", -60), "2026-03-06T16:00+01:00");
    assert_eq!(add("2026-03-02T12:30", -30), "2026-03-02T11:30+01:00");
    // Monday 30 March (summer time) 10:00 - 2 h: 1 h Monday, Friday 17:00 - 1 h → 16:00 at +01:00.
    assert_eq!(add("2026-03-30T10:00", -120), "2026-03-27T16:00+01:00");
}

#[test]
fn working_time_back_undoes_forth() {
    // From any instant inside working hours, going m minutes forward and then
    // m minutes back returns to it (the end of the way forward is never the
    // start of a period, since the start is strictly inside one).
    let mut rng = Rng(42);
    for zone in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
        let mut c = berlin_office();
        c.time_zone = zone.into();
        c.working_days.insert(date(2026, 3, 28), "make-up Saturday".into());
        c.holidays.insert(date(2026, 3, 31), Holiday { name: "half day".into(), hours: Some(hours(&["09:00-10:30"])) });
        let k = c.compile().unwrap();
        let mut checked = 0;
        while checked < 300 {
            let start = at("2026-01-01T00:00", zone)
                .checked_add(SignedDuration::from_mins(rng.range(0, 365 * 24 * 60)))
                .unwrap();
            // Strictly inside working hours: the next working instant is the start itself, a minute on too.
            let inside = k.add_working_time(start, 0) == Some(start)
                && k.add_working_time(start, 1) == start.checked_add(SignedDuration::from_mins(1)).ok()
                && k.add_working_time(start, -1) == start.checked_sub(SignedDuration::from_mins(1)).ok();
            if !inside {
                continue;
            }
            let m = rng.range(1, 200 * 60);
            let there = k.add_working_time(start, m).unwrap();
            assert!(there > start);
            assert_eq!(k.add_working_time(there, -m), Some(start), "{zone} {start} + {m} min = {there}");
            checked += 1;
        }
    }
}

#[test]
fn working_time_across_dst_changes() {
    // Night shift, 00:00-06:00 every day. Each case starts on the Saturday at
    // 05:00 with 4 h: 1 h on Saturday (05:00-06:00), 3 h left from Sunday
    // 00:00, the night the clocks change. Working time is elapsed time.
    let cases = [
        // Berlin, 29 March: 02:00 jumps to 03:00; 00:00-02:00 is 2 h, 1 h
        // more from 03:00 → 04:00 (+02:00). That night has only 5 h.
        ("Europe/Berlin", "2026-03-28T05:00", "2026-03-29T04:00+02:00"),
        // Berlin, 25 October: 03:00 goes back to 02:00; 00:00-03:00 (+02:00) is
        // 3 h → the second 02:00, at +01:00. That night has 7 h.
        ("Europe/Berlin", "2026-10-24T05:00", "2026-10-25T02:00+01:00"),
        // New York, 8 March: 02:00 jumps to 03:00 → 04:00 (-04:00).
        ("America/New_York", "2026-03-07T05:00", "2026-03-08T04:00-04:00"),
        // New York, 1 November: 02:00 goes back to 01:00 → 02:00 (-05:00), after
        // 01:00-02:00 twice.
        ("America/New_York", "2026-10-31T05:00", "2026-11-01T02:00-05:00"),
        // Lord Howe, 4 October: 02:00 jumps to 02:30; 2 h to 02:00, 1 h more
        // from 02:30 → 03:30 (+11:00).
        ("Australia/Lord_Howe", "2026-10-03T05:00", "2026-10-04T03:30+11:00"),
        // Lord Howe, 5 April: 02:00 goes back to 01:30; 2 h to 02:00, 1 h more
        // from 01:30 → 02:30 (+10:30).
        ("Australia/Lord_Howe", "2026-04-04T05:00", "2026-04-05T02:30+10:30"),
    ];
    for (zone, start, want) in cases {
        let k = night_shift(zone);
        assert_eq!(local(k.add_working_time(at(start, zone), 240).unwrap(), zone), want, "{zone} {start}");
    }
    // The short night holds 5 h: 6 h from its start end at the next night's 01:00.
    let k = night_shift("Europe/Berlin");
    assert_eq!(
        local(k.add_working_time(at("2026-03-29T00:00", "Europe/Berlin"), 360).unwrap(), "Europe/Berlin"),
        "2026-03-30T01:00+02:00"
    );
    // The long night holds 7 h: 7 h from its start end at its close, 06:00.
    assert_eq!(
        local(k.add_working_time(at("2026-10-25T00:00", "Europe/Berlin"), 420).unwrap(), "Europe/Berlin"),
        "2026-10-25T06:00+01:00"
    );
    // Lord Howe's short night holds 5.5 h.
    let k = night_shift("Australia/Lord_Howe");
    let z = "Australia/Lord_Howe";
    assert_eq!(local(k.add_working_time(at("2026-10-04T00:00", z), 330).unwrap(), z), "2026-10-04T06:00+11:00");
    assert_eq!(local(k.add_working_time(at("2026-10-04T00:00", z), 331).unwrap(), z), "2026-10-05T00:01+11:00");
}

#[test]
fn working_time_on_a_calendar_working_every_hour_is_plain_time() {
    // The same instant as DeadlineRule's PT{m}M, across both DST changes.
    let cases = [
        ("Europe/Berlin", ["2026-03-28T09:00", "2026-03-29T01:30", "2026-10-24T23:00", "2026-10-25T01:59"]),
        ("America/New_York", ["2026-03-07T12:00", "2026-03-08T01:00", "2026-10-31T12:00", "2026-11-01T00:30"]),
        ("Australia/Lord_Howe", ["2026-10-03T12:00", "2026-10-04T01:50", "2026-04-04T12:00", "2026-04-05T01:10"]),
    ];
    for (zone, starts) in cases {
        let k = always(zone);
        let tz = TimeZone::get(zone).unwrap();
        for start in starts {
            for m in [0, 1, 59, 60, 90, 24 * 60, 25 * 60, 3 * 24 * 60 + 7] {
                let rule = DeadlineRule::After(IsoDuration::parse(&format!("PT{m}M")).unwrap());
                let want = match rule.compute(at(start, zone), &tz, zone, &crate::Data::new()).unwrap() {
                    Some(crate::Deadline::At { at, .. }) => at,
                    other => panic!("{other:?}"),
                };
                assert_eq!(k.add_working_time(at(start, zone), m), Some(want), "{zone} {start} PT{m}M");
                assert_eq!(k.add_working_time(want, -m), Some(at(start, zone)), "{zone} {start} -PT{m}M");
            }
        }
    }
}

#[test]
fn working_time_is_bounded() {
    let k = berlin_office().compile().unwrap();
    let start = at("2026-01-05T09:00", "Europe/Berlin");
    // A year of working time, 250 days of 7 h, ends at the close of the
    // 250th working day from Monday 5 January: numpy.busday_offset('2026-01-05',
    // 249, holidays=['2026-04-03','2026-04-06','2026-05-01','2026-12-25'])
    // is 2026-12-23. It and the largest amount allowed both finish (day by
    // day, never minute by minute).
    let year = k.add_working_time(start, 250 * 7 * 60).unwrap();
    assert_eq!(local(year, "Europe/Berlin"), "2026-12-23T17:00+01:00");
    assert!(k.add_working_time(start, MAX_WORKING_MINUTES).is_some());
    assert!(k.add_working_time(start, -MAX_WORKING_MINUTES).is_some());
    assert_eq!(k.add_working_time(start, MAX_WORKING_MINUTES + 1), None);
    assert_eq!(k.add_working_time(start, i64::MIN), None);
    // Near the end of time: None, not a panic.
    let end = at("9999-12-30T10:00", "UTC");
    assert_eq!(k.add_working_time(end, 7 * 60 * 5), None);
    assert_eq!(k.add_days(end, 10), None);
}

// ---- deadline rules counted in a work calendar --------------------------------

fn rule_in(k: &CompiledCalendar, rule: &DeadlineRule, start: &str, data: &crate::Data, roll: Roll) -> String {
    let work = crate::WorkTime { calendar: k, roll };
    let utc = TimeZone::UTC;
    match rule.compute_in(at(start, "Europe/Berlin"), &utc, "UTC", data, Some(work)).unwrap().unwrap() {
        crate::Deadline::At { at, zone } => {
            assert_eq!(zone, "Europe/Berlin", "a deadline in working time is in the calendar's zone");
            local(at, "Europe/Berlin")
        }
        crate::Deadline::Date(d) => d.to_string(),
    }
}

fn after(s: &str) -> DeadlineRule {
    DeadlineRule::After(IsoDuration::parse(s).unwrap())
}

#[test]
fn deadline_rules_count_working_days_and_hours() {
    let k = berlin_office().compile().unwrap();
    let none = crate::Data::new();
    let fwd = Roll::Forward;
    // Wednesday 1 April 2026, 10:30. P3D: Thu 2 (1), Good Friday and the
    // weekend and Easter Monday off, Tue 7 (2), Wed 8 (3); the calendar has
    // hours, so at the close of that day.
    assert_eq!(rule_in(&k, &after("P3D"), "2026-04-01T10:30", &none, fwd), "2026-04-08T17:00+02:00");
    // P1W: five working days (the calendar's week): Thu 2, Tue 7, Wed 8, Thu 9, Fri 10.
    assert_eq!(rule_in(&k, &after("P1W"), "2026-04-01T10:30", &none, fwd), "2026-04-10T17:00+02:00");
    // PT8H: 10:30-12:00 (1.5 h) and 13:00-17:00 (4 h) on Wednesday, then
    // 2.5 h on Thursday: 09:00-11:30.
    assert_eq!(rule_in(&k, &after("PT8H"), "2026-04-01T10:30", &none, fwd), "2026-04-02T11:30+02:00");
    // P1DT2H: to Thursday's close, then two working hours on Tuesday 7 April.
    assert_eq!(rule_in(&k, &after("P1DT2H"), "2026-04-01T10:30", &none, fwd), "2026-04-07T11:00+02:00");
    // Seconds round up to a whole minute of working time.
    assert_eq!(rule_in(&k, &after("PT1S"), "2026-04-01T10:30", &none, fwd), "2026-04-01T10:31+02:00");
}

#[test]
fn deadline_from_an_item_counts_back_in_working_days_and_rolls() {
    let k = berlin_office().compile().unwrap();
    let mut data = crate::Data::new();
    let from = |offset: Option<&str>| DeadlineRule::From {
        item: "due".into(),
        offset: offset.map(|o| IsoDuration::parse(o).unwrap()),
    };
    // Two working days before Tuesday 7 April: Thursday 2 April (1; Good
    // Friday and Easter Monday are off), Wednesday 1 April (2).
    data.insert("due".into(), crate::Value::Date(date(2026, 4, 7)));
    assert_eq!(rule_in(&k, &from(Some("-P2D")), "2026-03-01T00:00", &data, Roll::Forward), "2026-04-01");
    // A date on a day off is rolled first: Easter Monday forward to Tuesday,
    // backward to Thursday 2 April; without an offset that is the deadline.
    data.insert("due".into(), crate::Value::Date(date(2026, 4, 6)));
    assert_eq!(rule_in(&k, &from(None), "2026-03-01T00:00", &data, Roll::Forward), "2026-04-07");
    assert_eq!(rule_in(&k, &from(None), "2026-03-01T00:00", &data, Roll::Backward), "2026-04-02");
    // -P1D from the rolled date: forward to Tue 7 then back one: Thu 2;
    // backward to Thu 2 then back one: Wed 1.
    assert_eq!(rule_in(&k, &from(Some("-P1D")), "2026-03-01T00:00", &data, Roll::Forward), "2026-04-02");
    assert_eq!(rule_in(&k, &from(Some("-P1D")), "2026-03-01T00:00", &data, Roll::Backward), "2026-04-01");
    // A date-time keeps its wall-clock time in the calendar's zone; a clock
    // offset counts working time back: 4 h before Tuesday 7 April 10:00 is
    // 1 h on Tuesday and 3 h back from Thursday's close: 14:00.
    let (ts, off) = crate::value::parse_datetime("2026-04-07T10:00:00+02:00").unwrap();
    data.insert("due".into(), crate::Value::DateTime(ts, off));
    assert_eq!(rule_in(&k, &from(Some("-P1D")), "2026-03-01T00:00", &data, Roll::Forward), "2026-04-02T10:00+02:00");
    assert_eq!(rule_in(&k, &from(Some("-PT4H")), "2026-03-01T00:00", &data, Roll::Forward), "2026-04-02T14:00+02:00");
}

#[test]
fn months_and_a_calendar_without_working_days_give_no_deadline() {
    let k = berlin_office().compile().unwrap();
    let work = crate::WorkTime { calendar: &k, roll: Roll::Forward };
    let start = at("2026-04-01T10:30", "Europe/Berlin");
    let utc = TimeZone::UTC;
    let got = after("P1M").compute_in(start, &utc, "UTC", &crate::Data::new(), Some(work));
    assert_eq!(got, Err(crate::DeadlineError::NotInWorkingTime));
    let idle = WorkCalendar::new("idle", "Europe/Berlin", Weekmask::default()).compile().unwrap();
    let work = crate::WorkTime { calendar: &idle, roll: Roll::Forward };
    let got = after("P3D").compute_in(start, &utc, "UTC", &crate::Data::new(), Some(work));
    assert_eq!(got, Err(crate::DeadlineError::NoWorkingTime));
    // Without a calendar: calendar days in the model's zone, as always.
    let got = after("P3D").compute_in(start, &utc, "UTC", &crate::Data::new(), None).unwrap();
    assert_eq!(
        got,
        Some(crate::Deadline::At {
            at: start.checked_add(jiff::SignedDuration::from_hours(72)).unwrap(),
            zone: "UTC".into()
        })
    );
}
