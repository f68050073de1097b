//! RFC 5545 output, and a small reader for what the connectors fetch back.
//! (Placeholder signatures; the full implementation replaces this file.)

use crate::event::{EventSpec, When};

/// An event read from iCalendar text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub when: When,
    /// Exclusive end date (all-day) or end instant (RFC 3339, timed).
    pub end: String,
    pub sequence: u32,
    /// STATUS, e.g. CANCELLED.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid iCalendar: {0}")]
pub struct IcalError(pub String);

/// The UID flowcal gives an entry: `{key}@flowcal`.
pub fn uid(key: &str) -> String {
    format!("{key}@flowcal")
}

/// A VCALENDAR holding one VEVENT for `ev` (with the VTIMEZONE a timed
/// entry's TZID needs), CRLF line ends, folded at 75 octets.
pub fn calendar_object(ev: &EventSpec) -> String {
    let _ = ev;
    String::new()
}

/// Reads the first VEVENT of a VCALENDAR.
pub fn read_event(text: &str) -> Result<ParsedEvent, IcalError> {
    let _ = text;
    Err(IcalError("not written yet".into()))
}
