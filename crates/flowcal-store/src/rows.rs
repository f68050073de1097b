//! Encoding of domain values in columns.

use crate::StoreError;
use flowcal_domain::Deadline;
use jiff::civil::Date;
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

/// Holidays as a column, with their number: `[{"date":"YYYY-MM-DD","name":"..."}]`,
/// sorted by date and name and each listed once, so that equal lists are equal text.
pub(crate) fn holidays_json(holidays: &[(Date, String)]) -> (String, i64) {
    let mut sorted: Vec<&(Date, String)> = holidays.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let list: Vec<serde_json::Value> =
        sorted.iter().map(|(date, name)| serde_json::json!({"date": date.to_string(), "name": name})).collect();
    let count = i64::try_from(list.len()).unwrap_or(i64::MAX);
    (serde_json::Value::Array(list).to_string(), count)
}

pub(crate) fn holidays_from_json(text: &str) -> Result<Vec<(Date, String)>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Day {
        date: Date,
        #[serde(default)]
        name: String,
    }
    let days: Vec<Day> = serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("holiday list: {e}")))?;
    Ok(days.into_iter().map(|d| (d.date, d.name)).collect())
}

/// A list of strings as a JSON column.
pub(crate) fn strings_json(list: &[String]) -> String {
    serde_json::Value::from(list).to_string()
}

pub(crate) fn strings_from_json(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("list of patterns: {e}")))
}
