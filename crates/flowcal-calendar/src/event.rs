//! What a calendar entry says, and its stable identity.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// When an entry happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// An all-day entry on this civil date (its end is the next day, exclusive).
    Date(Date),
    /// A timed entry starting at this instant, shown in this IANA zone.
    At { at: Timestamp, zone: String },
}

/// One calendar entry as flowcal wants it to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// The stable identity ([`event_key`]): lowercase base32hex, 32 characters.
    pub key: String,
    pub title: String,
    pub description: String,
    /// A link back to the task.
    pub url: Option<String>,
    pub when: When,
    /// Length of a timed entry, in minutes (all-day entries last the day).
    pub duration_minutes: u32,
    /// Shown as free (transparent), not busy.
    pub transparent: bool,
    /// A reminder this many minutes before the start, or none.
    pub reminder_minutes: Option<u32>,
    /// Grows with every change (iCalendar SEQUENCE).
    pub sequence: u32,
    /// When this content was made (iCalendar DTSTAMP / LAST-MODIFIED).
    pub stamp: Timestamp,
}

/// The default length of a timed entry.
pub const DEFAULT_DURATION_MINUTES: u32 = 30;

impl EventSpec {
    /// The end of a timed entry (`None` for all-day entries).
    pub fn end(&self) -> Option<Timestamp> {
        match &self.when {
            When::Date(_) => None,
            When::At { at, .. } => at.checked_add(SignedDuration::from_mins(i64::from(self.duration_minutes))).ok(),
        }
    }

    /// Whether iCalendar (and so every calendar) can express this entry: its
    /// start and end must fall in the years 1 to 9999 (RFC 5545 §3.3.4 and
    /// §3.3.5 give the year four digits), also in the zone it is shown in.
    pub fn check(&self) -> Result<(), String> {
        let expressible = |d: Date| (1..=9999).contains(&d.year());
        let ok = match &self.when {
            When::Date(d) => expressible(*d) && self.end_date().is_some_and(expressible),
            When::At { at, zone } => {
                let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
                let in_zone = |t: Timestamp| {
                    expressible(t.to_zoned(tz.clone()).date())
                        && expressible(t.to_zoned(jiff::tz::TimeZone::UTC).date())
                };
                in_zone(*at) && self.end().is_some_and(in_zone)
            }
        };
        if ok {
            Ok(())
        } else {
            let when = match &self.when {
                When::Date(d) => d.to_string(),
                When::At { at, .. } => at.to_string(),
            };
            Err(format!(
                "'{}' falls on {when}, outside the years 1 to 9999 that calendars can show; change the date it is \
                 computed from",
                self.title
            ))
        }
    }

    /// The exclusive end date of an all-day entry (`None` for timed ones).
    pub fn end_date(&self) -> Option<Date> {
        match &self.when {
            When::Date(d) => d.tomorrow().ok(),
            When::At { .. } => None,
        }
    }
}

/// What an entry is about: a step's deadline, or a date item of an instance.
#[derive(Debug, Clone)]
pub struct EntrySource<'a> {
    /// The user whose calendar it goes to.
    pub user: i64,
    /// The stable name of the source: `task:{id}:deadline` or `instance:{id}:item:{key}`.
    pub source: &'a str,
    /// The step's name, or the item's label.
    pub what: &'a str,
    pub instance_title: &'a str,
    pub process_name: &'a str,
    /// The link back to the task (or instance) in flowcal.
    pub link: &'a str,
    pub when: When,
    pub duration_minutes: u32,
    pub reminder_minutes: Option<u32>,
    pub sequence: u32,
    pub stamp: Timestamp,
}

/// The entry for a source: title `what — instance title`, a description
/// naming the process with the link back, the link as URL, shown as free.
pub fn entry(s: &EntrySource<'_>) -> EventSpec {
    let title = if s.instance_title.trim().is_empty() {
        s.what.to_owned()
    } else {
        format!("{} — {}", s.what, s.instance_title)
    };
    EventSpec {
        key: event_key(s.user, s.source),
        title,
        description: format!("Process: {}\nOpen in flowcal: {}", s.process_name, s.link),
        url: Some(s.link.to_owned()),
        when: s.when.clone(),
        duration_minutes: if s.duration_minutes == 0 { DEFAULT_DURATION_MINUTES } else { s.duration_minutes },
        transparent: true,
        reminder_minutes: s.reminder_minutes,
        sequence: s.sequence,
        stamp: s.stamp,
    }
}

pub use flowcal_domain::export::{event_key, is_google_event_id};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_distinct_and_google_valid() {
        let a = event_key(1, "task:42:deadline");
        assert_eq!(a, event_key(1, "task:42:deadline"));
        assert_ne!(a, event_key(2, "task:42:deadline"));
        assert_ne!(a, event_key(1, "task:43:deadline"));
        assert_eq!(a.len(), 32);
        assert!(is_google_event_id(&a), "{a}");
        assert!(!is_google_event_id("abcd"));
        assert!(!is_google_event_id("abcdw"));
        assert!(!is_google_event_id("ABCDE"));
    }

    #[test]
    fn entries_name_the_step_instance_process_and_link() {
        let e = entry(&EntrySource {
            user: 3,
            source: "task:42:deadline",
            what: "Approve",
            instance_title: "Easter",
            process_name: "Leave request",
            link: "https://flowcal.example/tasks/42",
            when: When::Date("2026-03-29".parse().unwrap()),
            duration_minutes: 0,
            reminder_minutes: Some(15),
            sequence: 2,
            stamp: Timestamp::UNIX_EPOCH,
        });
        assert_eq!(e.title, "Approve — Easter");
        assert_eq!(e.description, "Process: Leave request\nOpen in flowcal: https://flowcal.example/tasks/42");
        assert_eq!(e.url.as_deref(), Some("https://flowcal.example/tasks/42"));
        assert_eq!(e.key, event_key(3, "task:42:deadline"));
        assert_eq!((e.duration_minutes, e.transparent, e.reminder_minutes, e.sequence), (30, true, Some(15), 2));
    }

    #[test]
    fn ends() {
        let d = EventSpec {
            key: event_key(1, "x"),
            title: "t".into(),
            description: String::new(),
            url: None,
            when: When::Date("2026-12-31".parse().unwrap()),
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 0,
            stamp: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(d.end_date(), Some("2027-01-01".parse().unwrap()));
        assert_eq!(d.end(), None);
        let t = EventSpec {
            when: When::At { at: "2026-03-29T00:45:00Z".parse().unwrap(), zone: "Europe/Berlin".into() },
            ..d
        };
        assert_eq!(t.end(), Some("2026-03-29T01:15:00Z".parse().unwrap()));
        assert!(t.check().is_ok());
    }

    #[test]
    fn entries_outside_years_1_to_9999_cannot_be_expressed() {
        let base = EventSpec {
            key: event_key(1, "x"),
            title: "Approve".into(),
            description: String::new(),
            url: None,
            when: When::Date(jiff::civil::date(1, 1, 1)),
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 0,
            stamp: Timestamp::UNIX_EPOCH,
        };
        assert!(base.check().is_ok());
        let day = |d: Date| EventSpec { when: When::Date(d), ..base.clone() };
        assert!(day(jiff::civil::date(0, 12, 31)).check().is_err());
        assert!(day(jiff::civil::date(-1, 12, 31)).check().unwrap_err().contains("Approve"));
        // The end (the next day, exclusive) would be in year 10000.
        assert!(day(jiff::civil::date(9999, 12, 31)).check().is_err());
        assert!(day(jiff::civil::date(9999, 12, 30)).check().is_ok());
        let at = |ts: &str, zone: &str| EventSpec {
            when: When::At { at: ts.parse().unwrap(), zone: zone.into() },
            ..base.clone()
        };
        // Midnight UTC on 1 January of year 1 is still year 0 in New York.
        assert!(at("0001-01-01T00:00:00Z", "UTC").check().is_ok());
        assert!(at("0001-01-01T00:00:00Z", "America/New_York").check().is_err());
        assert!(at("-000001-12-31T22:00:00Z", "Europe/Berlin").check().is_err());
        // Its end lies past the last instant there is (9999-12-30T22:00Z).
        assert!(at("9999-12-30T21:45:00Z", "UTC").check().is_err());
        assert!(at("9999-12-30T21:00:00Z", "Pacific/Kiritimati").check().is_ok());
    }
}
