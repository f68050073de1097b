//! Encoding of domain values in columns.

use crate::StoreError;
use flowcal_domain::Deadline;
use jiff::Timestamp;

/// A deadline as three columns: date, instant (ms), zone.
pub(crate) type DeadlineCols = (Option<String>, Option<i64>, Option<String>);

pub(crate) fn deadline_cols(d: Option<&Deadline>) -> DeadlineCols {
    match d {
        None => (None, None, None),
        Some(Deadline::Date(date)) => (Some(date.to_string()), None, None),
        Some(Deadline::At { at, zone }) => (None, Some(at.as_millisecond()), Some(zone.clone())),
    }
}

pub(crate) fn deadline_from_cols(c: DeadlineCols) -> Result<Option<Deadline>, StoreError> {
    match c {
        (Some(date), _, _) => date
            .parse()
            .map(|d| Some(Deadline::Date(d)))
            .map_err(|_| StoreError::Corrupt(format!("deadline date '{date}'"))),
        (None, Some(ms), zone) => Ok(Some(Deadline::At { at: ts(ms)?, zone: zone.unwrap_or_else(|| "UTC".into()) })),
        _ => Ok(None),
    }
}

pub(crate) fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt(format!("timestamp {ms}")))
}
