//! What a calendar entry says, and its stable identity.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

/// When an entry happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// An all-day entry on this civil date (its end is the next day, exclusive).
    Date(Date),
    /// A timed entry starting at this instant, shown in this IANA zone.
    At { at: Timestamp, zone: String },
}

impl When {
    /// The start as flowcal stores it: `2026-05-04` for a day,
    /// `2026-05-04T09:00:00+02:00[Europe/Berlin]` for an instant and its zone
    /// (an unknown zone: the instant in UTC).
    pub fn stored(&self) -> String {
        match self {
            When::Date(d) => d.to_string(),
            When::At { at, zone } => match at.in_tz(zone) {
                Ok(z) => z.to_string(),
                Err(_) => at.to_zoned(jiff::tz::TimeZone::UTC).to_string(),
            },
        }
    }

    /// Reads what [`When::stored`] wrote; `None` for other text.
    pub fn from_stored(s: &str) -> Option<When> {
        if let Ok(d) = s.parse::<Date>() {
            if !s.contains('T') {
                return Some(When::Date(d));
            }
        }
        let z: jiff::Zoned = s.parse().ok()?;
        let zone = z.time_zone().iana_name().unwrap_or("UTC").to_owned();
        Some(When::At { at: z.timestamp(), zone })
    }
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

/// The serialization [`EventSpec::content_hash`] hashes, named in front of
/// every hash it makes, so that a stored hash says how it was made.
pub const CONTENT_HASH_VERSION: &str = "v1";

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

    /// What decides whether an entry changed since it was delivered or served
    /// in a feed: `v1:` and the hex SHA-256 of every field that is content,
    /// that is all but `stamp` and `sequence` (they change with every write).
    ///
    /// The serialization is written out here, not derived from the type, so
    /// renaming or reordering fields changes no hash: fields in a fixed order,
    /// texts prefixed with their length, an `Option` or a [`When`] with a tag
    /// byte, numbers big-endian; no two entries serialize alike.
    ///
    /// A field added to [`EventSpec`] does not compile here until it is
    /// placed: written, or named as excluded. Any change to the bytes written
    /// (a field added or removed, an encoding changed) needs a new
    /// [`CONTENT_HASH_VERSION`]. Every stored hash then differs, so every
    /// entry is sent again and its feed SEQUENCE raised: what a field that
    /// calendars now receive needs. When calendars would receive the same as
    /// before (only the encoding changed), keep the old version's function and
    /// accept it in [`unchanged_since`](Self::unchanged_since), as is done for
    /// [`legacy_content_hash`](Self::legacy_content_hash).
    pub fn content_hash(&self) -> String {
        let EventSpec {
            key,
            title,
            description,
            url,
            when,
            duration_minutes,
            transparent,
            reminder_minutes,
            sequence: _,
            stamp: _,
        } = self;
        let mut h = Sha256::new();
        let text = |h: &mut Sha256, s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        text(&mut h, key);
        text(&mut h, title);
        text(&mut h, description);
        match url {
            None => h.update([0]),
            Some(u) => {
                h.update([1]);
                text(&mut h, u);
            }
        }
        match when {
            When::Date(d) => {
                h.update([0]);
                h.update(d.year().to_be_bytes());
                h.update(d.month().to_be_bytes());
                h.update(d.day().to_be_bytes());
            }
            When::At { at, zone } => {
                h.update([1]);
                h.update(at.as_second().to_be_bytes());
                h.update(at.subsec_nanosecond().to_be_bytes());
                text(&mut h, zone);
            }
        }
        h.update(duration_minutes.to_be_bytes());
        h.update([u8::from(*transparent)]);
        match reminder_minutes {
            None => h.update([0]),
            Some(m) => {
                h.update([1]);
                h.update(m.to_be_bytes());
            }
        }
        format!("{CONTENT_HASH_VERSION}:{}", hex::encode(h.finalize()))
    }

    /// The content hash stored before v1: the SHA-256 of the `Debug` output
    /// with stamp and sequence zeroed (so renaming a field changed every hash).
    /// Kept only to recognise hashes stored before v1: an entry whose stored
    /// hash equals its legacy hash is unchanged and gets its v1 hash stored
    /// without being sent again, so the upgrade re-sends nothing. Never store
    /// it. It recognises them only while the fields and their `Debug` output
    /// stay as they were at v1; once every entry was delivered or served
    /// since, it can go.
    pub fn legacy_content_hash(&self) -> String {
        let plain = EventSpec { stamp: Timestamp::UNIX_EPOCH, sequence: 0, ..self.clone() };
        hex::encode(Sha256::digest(format!("{plain:?}").as_bytes()))
    }

    /// Whether `stored`, the hash recorded when the entry was last delivered
    /// or served, says it is unchanged: its [`content_hash`](Self::content_hash),
    /// or for a hash from before v1 (no version prefix) its
    /// [`legacy_content_hash`](Self::legacy_content_hash). When it is, the
    /// caller records the current `content_hash` and sends nothing.
    pub fn unchanged_since(&self, stored: &str) -> bool {
        if stored.contains(':') {
            stored == self.content_hash()
        } else {
            stored == self.legacy_content_hash()
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
    /// The fixed words of the description, in the user's language.
    pub words: EntryWords<'a>,
}

/// The words flowcal adds to an entry's description, in the user's language
/// (the rest comes from the process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryWords<'a> {
    /// Before the process's name: "Process".
    pub process: &'a str,
    /// Before the link back: "Open in flowcal".
    pub open: &'a str,
}

impl EntryWords<'static> {
    pub const ENGLISH: EntryWords<'static> = EntryWords { process: "Process", open: "Open in flowcal" };
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
        description: format!("{}: {}\n{}: {}", s.words.process, s.process_name, s.words.open, s.link),
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

    #[test]
    fn starts_read_back_as_stored() {
        let day = When::Date(jiff::civil::date(2026, 5, 4));
        assert_eq!(day.stored(), "2026-05-04");
        let at: Timestamp = "2026-05-04T07:00:00Z".parse().unwrap();
        let berlin = When::At { at, zone: "Europe/Berlin".into() };
        assert_eq!(berlin.stored(), "2026-05-04T09:00:00+02:00[Europe/Berlin]");
        for w in [day.clone(), berlin.clone(), When::At { at, zone: "UTC".into() }] {
            assert_eq!(When::from_stored(&w.stored()), Some(w.clone()));
        }
        assert!(day.same_start(&When::Date(jiff::civil::date(2026, 5, 4))));
        assert!(berlin.same_start(&When::At { at, zone: "Asia/Tokyo".into() }), "the zone shown does not count");
        assert!(!berlin.same_start(&day));
        for bad in ["", "2026-13-01", "tomorrow", "2026-05-04T09:00:00"] {
            assert_eq!(When::from_stored(bad), None, "{bad}");
        }
    }

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
            words: EntryWords::ENGLISH,
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

    /// An entry with every field set, and its all-day twin.
    fn fixed() -> (EventSpec, EventSpec) {
        let timed = EventSpec {
            key: event_key(7, "task:42:deadline"),
            title: "Approve — Easter; \"quoted\", back\\slash".into(),
            description: "Process: Leave request\nOpen in flowcal: https://flowcal.example/tasks/42".into(),
            url: Some("https://flowcal.example/tasks/42".into()),
            when: When::At { at: "2026-10-25T00:30:00Z".parse().unwrap(), zone: "Europe/Berlin".into() },
            duration_minutes: 45,
            transparent: false,
            reminder_minutes: Some(15),
            sequence: 3,
            stamp: "2026-03-27T08:00:00Z".parse().unwrap(),
        };
        let day = EventSpec {
            when: When::Date("2026-03-29".parse().unwrap()),
            url: None,
            reminder_minutes: None,
            transparent: true,
            duration_minutes: DEFAULT_DURATION_MINUTES,
            ..timed.clone()
        };
        (timed, day)
    }

    #[test]
    fn every_content_field_changes_the_hash() {
        let (base, day) = fixed();
        let at = |ts: &str, zone: &str| When::At { at: ts.parse().unwrap(), zone: zone.into() };
        let variants = [
            EventSpec { key: event_key(8, "task:42:deadline"), ..base.clone() },
            EventSpec { title: "Approve".into(), ..base.clone() },
            EventSpec { description: String::new(), ..base.clone() },
            EventSpec { url: None, ..base.clone() },
            EventSpec { url: Some("https://flowcal.example/tasks/43".into()), ..base.clone() },
            EventSpec { url: Some(String::new()), ..base.clone() },
            EventSpec { when: at("2026-10-25T00:30:01Z", "Europe/Berlin"), ..base.clone() },
            EventSpec { when: at("2026-10-25T00:30:00.000000001Z", "Europe/Berlin"), ..base.clone() },
            EventSpec { when: at("2026-10-25T00:30:00Z", "UTC"), ..base.clone() },
            EventSpec { when: When::Date("2026-10-25".parse().unwrap()), ..base.clone() },
            EventSpec { duration_minutes: 46, ..base.clone() },
            EventSpec { transparent: true, ..base.clone() },
            EventSpec { reminder_minutes: None, ..base.clone() },
            EventSpec { reminder_minutes: Some(0), ..base.clone() },
            EventSpec { reminder_minutes: Some(16), ..base.clone() },
            EventSpec { when: When::Date("2026-03-30".parse().unwrap()), ..day.clone() },
            EventSpec { when: When::Date("2027-03-29".parse().unwrap()), ..day.clone() },
            day,
            // The same characters split differently between fields.
            EventSpec {
                title: format!("{}P", base.title),
                description: base.description[1..].to_owned(),
                ..base.clone()
            },
        ];
        let mut hashes = vec![base.content_hash()];
        for v in &variants {
            let h = v.content_hash();
            assert!(!hashes.contains(&h), "{v:?} hashes like an entry before it");
            hashes.push(h);
        }
    }

    #[test]
    fn stamp_and_sequence_are_no_content() {
        let (base, day) = fixed();
        for e in [base, day] {
            let rewritten = EventSpec { sequence: e.sequence + 1, stamp: Timestamp::UNIX_EPOCH, ..e.clone() };
            assert_eq!(rewritten.content_hash(), e.content_hash());
            assert_eq!(rewritten.legacy_content_hash(), e.legacy_content_hash());
        }
    }

    /// Stored hashes must stay valid: a change here re-sends every entry.
    #[test]
    fn content_hashes_are_fixed() {
        let (timed, day) = fixed();
        assert_eq!(timed.content_hash(), "v1:6e7490586a850264fec7a1819c98d62695c2970f391a816489224dde12a68fd4");
        assert_eq!(day.content_hash(), "v1:972740353d98ae7b36c676de2be2b85c7aca0de9fe35410ecc5390d0f2112aea");
        // As delivery and the feed computed them before v1.
        assert_eq!(timed.legacy_content_hash(), "4f0699afe6b96f20a722e189ec87a247001e670147aaa7b73843607e5dcade7c");
        assert_eq!(day.legacy_content_hash(), "829557e887fa935d5934d27345526615e17defcf408dcb3c253b8d8bf8bed3af");
    }

    #[test]
    fn hashes_stored_before_v1_count_as_unchanged() {
        let (timed, day) = fixed();
        assert!(timed.unchanged_since(&timed.content_hash()));
        assert!(timed.unchanged_since(&timed.legacy_content_hash()));
        assert!(!timed.unchanged_since(&day.legacy_content_hash()));
        assert!(!timed.unchanged_since(&day.content_hash()));
        assert!(!timed.unchanged_since(&timed.legacy_content_hash().replacen("", "v0:", 1)));
        assert!(!timed.unchanged_since(""));
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
