//! Data values of process instances, parsed and checked per item type.

use crate::model::{DataItemDef, DataType};
use jiff::civil::Date;
use jiff::tz::Offset;
use jiff::Timestamp;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The data of an instance: item key → value. Absent keys have no value.
pub type Data = BTreeMap<String, Value>;

/// One typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `string`, `text` and `select` items.
    Text(String),
    Number(f64),
    Bool(bool),
    Date(Date),
    /// An instant, with the UTC offset it was given in (kept for display).
    DateTime(Timestamp, Offset),
    /// A user's login.
    User(String),
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct ValueError {
    pub key: String,
    pub message: String,
}

const MAX_TEXT: usize = 100_000;

/// At most this many problems are listed for one piece of data; the rest are
/// counted. A request is bounded in size, but 150,000 unknown keys in it must
/// not become an answer eight times its size.
pub const MAX_LISTED_ERRORS: usize = 20;

/// The problems found in a piece of data: the first [`MAX_LISTED_ERRORS`],
/// and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataErrors {
    pub listed: Vec<ValueError>,
    pub unlisted: usize,
}

impl DataErrors {
    /// Adds a problem: listed while there is room, counted after.
    pub fn push(&mut self, e: ValueError) {
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(e);
        } else {
            self.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }
}

impl std::ops::Deref for DataErrors {
    type Target = [ValueError];
    fn deref(&self) -> &[ValueError] {
        &self.listed
    }
}

impl From<Vec<ValueError>> for DataErrors {
    fn from(all: Vec<ValueError>) -> Self {
        let mut out = DataErrors::default();
        all.into_iter().for_each(|e| out.push(e));
        out
    }
}

impl std::fmt::Display for DataErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let listed: Vec<String> = self.listed.iter().map(ToString::to_string).collect();
        write!(f, "{}", listed.join("; "))?;
        if self.unlisted > 0 {
            write!(f, "; and {} more problems, not listed", self.unlisted)?;
        }
        Ok(())
    }
}

/// The earliest and latest dates flowcal accepts as data. Deadlines are
/// computed from them and go to calendars and feeds, whose formats cannot
/// express years before 1 or after 9999 (RFC 5545); a date outside these
/// bounds is almost certainly a typo.
pub const EARLIEST_DATE: Date = jiff::civil::date(1900, 1, 1);
pub const LATEST_DATE: Date = jiff::civil::date(2999, 12, 31);

fn in_range(d: Date) -> bool {
    (EARLIEST_DATE..=LATEST_DATE).contains(&d)
}

fn out_of_range(s: &str) -> String {
    format!("'{s}' is outside the dates flowcal accepts ({EARLIEST_DATE} to {LATEST_DATE})")
}

impl Value {
    /// Parses a JSON value for an item. `null` clears the item (returns `None`),
    /// unless the item is required.
    pub fn from_json(item: &DataItemDef, json: &Json) -> Result<Option<Value>, ValueError> {
        let fail = |message: String| ValueError { key: item.key.clone(), message };
        if json.is_null() {
            if item.required {
                return Err(fail("a value is required".into()));
            }
            return Ok(None);
        }
        let v = match item.data_type {
            DataType::String | DataType::Text => {
                let s = json.as_str().ok_or_else(|| fail("expected a string".into()))?;
                if s.len() > MAX_TEXT {
                    return Err(fail(format!("longer than {MAX_TEXT} bytes")));
                }
                if item.data_type == DataType::String && s.contains(['\n', '\r']) {
                    return Err(fail("a single line is expected (use a text item for several lines)".into()));
                }
                Value::Text(s.to_owned())
            }
            DataType::Select => {
                let s = json.as_str().ok_or_else(|| fail("expected a string".into()))?;
                if !item.options.iter().any(|o| o == s) {
                    return Err(fail(format!("'{s}' is not one of: {}", item.options.join(", "))));
                }
                Value::Text(s.to_owned())
            }
            DataType::Number => {
                let n = json.as_f64().ok_or_else(|| fail("expected a number".into()))?;
                if !n.is_finite() {
                    return Err(fail("expected a finite number".into()));
                }
                Value::Number(n)
            }
            DataType::Boolean => Value::Bool(json.as_bool().ok_or_else(|| fail("expected true or false".into()))?),
            DataType::Date => {
                let s = json.as_str().ok_or_else(|| fail("expected a date \"YYYY-MM-DD\"".into()))?;
                let d = parse_date_syntax(s).ok_or_else(|| fail(format!("'{s}' is not a date; write YYYY-MM-DD")))?;
                if !in_range(d) {
                    return Err(fail(out_of_range(s)));
                }
                Value::Date(d)
            }
            DataType::DateTime => {
                let s = json.as_str().ok_or_else(|| fail("expected an RFC 3339 date-time".into()))?;
                let (ts, off) = parse_datetime_syntax(s).ok_or_else(|| {
                    fail(format!(
                        "'{s}' is not a date-time with a UTC offset (-23:59 to +23:59); write for example \
                         2026-03-28T09:30:00+01:00"
                    ))
                })?;
                if !in_range(ts.to_zoned(jiff::tz::TimeZone::UTC).date()) {
                    return Err(fail(out_of_range(s)));
                }
                Value::DateTime(ts, off)
            }
            DataType::User => {
                let s = json.as_str().ok_or_else(|| fail("expected a user's login".into()))?;
                crate::Login::parse(s).map_err(|e| fail(e.to_string()))?;
                Value::User(s.to_owned())
            }
        };
        Ok(Some(v))
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::Text(s) | Value::User(s) => Json::String(s.clone()),
            // Whole numbers print without a fraction ("10", not "10.0").
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => Json::from(*n as i64),
            Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Value::Bool(b) => Json::Bool(*b),
            Value::Date(d) => Json::String(d.to_string()),
            Value::DateTime(ts, off) => Json::String(format_datetime(*ts, *off)),
        }
    }
}

/// Parses a civil date `YYYY-MM-DD` (exactly that form) between
/// [`EARLIEST_DATE`] and [`LATEST_DATE`].
pub fn parse_date(s: &str) -> Option<Date> {
    parse_date_syntax(s).filter(|d| in_range(*d))
}

fn parse_date_syntax(s: &str) -> Option<Date> {
    // Exactly four year digits: jiff also reads signed six-digit years.
    if s.len() != 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    s.parse::<Date>().ok()
}

/// Parses an RFC 3339 date-time that carries a UTC offset (or `Z`), on a
/// day between [`EARLIEST_DATE`] and [`LATEST_DATE`].
pub fn parse_datetime(s: &str) -> Option<(Timestamp, Offset)> {
    parse_datetime_syntax(s).filter(|(ts, _)| in_range(ts.to_zoned(jiff::tz::TimeZone::UTC).date()))
}

fn parse_datetime_syntax(s: &str) -> Option<(Timestamp, Offset)> {
    if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let ts: Timestamp = s.parse().ok()?;
    // Timestamp parsing requires an offset; recover it for display.
    let off = if s.ends_with(['Z', 'z']) {
        Offset::UTC
    } else {
        let tail = s.get(s.len().checked_sub(6)?..)?.as_bytes();
        let sign = match tail[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits = |a: u8, b: u8| -> Option<i32> {
            (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i32::from(a - b'0') * 10 + i32::from(b - b'0'))
        };
        let (h, m) = (digits(tail[1], tail[2])?, digits(tail[4], tail[5])?);
        // RFC 3339 §5.6: time-hour is 00-23, time-minute 00-59.
        if h > 23 || m > 59 || tail[3] != b':' {
            return None;
        }
        Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?
    };
    Some((ts, off))
}

/// Formats an instant as RFC 3339 in the given offset.
pub fn format_datetime(ts: Timestamp, off: Offset) -> String {
    ts.display_with_offset(off).to_string()
}

/// Parses a whole data object against item definitions. Unknown keys are refused.
pub fn parse_data(
    items: &[DataItemDef],
    json: &serde_json::Map<String, Json>,
) -> Result<BTreeMap<String, Option<Value>>, DataErrors> {
    let mut out = BTreeMap::new();
    let mut errors = DataErrors::default();
    for (key, v) in json {
        match items.iter().find(|i| &i.key == key) {
            None => errors.push(ValueError { key: key.clone(), message: "this process has no such data item".into() }),
            Some(item) => match Value::from_json(item, v) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(e) => errors.push(e),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Data as a JSON object.
pub fn data_to_json(data: &Data) -> serde_json::Map<String, Json> {
    data.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()
}

/// Reads stored data back. Stored data was validated when written, so a value
/// that no longer fits its item (the item's type changed) is dropped.
pub fn data_from_json(items: &[DataItemDef], json: &serde_json::Map<String, Json>) -> Data {
    let mut out = Data::new();
    for item in items {
        if let Some(v) = json.get(&item.key) {
            let lenient = DataItemDef { required: false, ..item.clone() };
            if let Ok(Some(v)) = Value::from_json(&lenient, v) {
                out.insert(item.key.clone(), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(t: DataType) -> DataItemDef {
        DataItemDef {
            key: "k".into(),
            label: "K".into(),
            data_type: t,
            required: false,
            options: vec!["a".into(), "b".into()],
            implicit: false,
        }
    }

    #[test]
    fn parses_per_type() {
        assert_eq!(Value::from_json(&item(DataType::Number), &json!(5)).unwrap(), Some(Value::Number(5.0)));
        assert!(Value::from_json(&item(DataType::Number), &json!("5")).is_err());
        assert!(Value::from_json(&item(DataType::Boolean), &json!(1)).is_err());
        assert!(Value::from_json(&item(DataType::Date), &json!("2026-02-30")).is_err());
        assert!(Value::from_json(&item(DataType::Date), &json!("2026-3-1")).is_err());
        assert!(Value::from_json(&item(DataType::Select), &json!("c")).is_err());
        assert!(Value::from_json(&item(DataType::String), &json!("a\nb")).is_err());
        assert!(Value::from_json(&item(DataType::Text), &json!("a\nb")).is_ok());
        assert!(Value::from_json(&item(DataType::User), &json!("Bob Smith")).is_err());
        assert!(Value::from_json(&item(DataType::DateTime), &json!("2026-03-28T09:00:00")).is_err());
        let v = Value::from_json(&item(DataType::DateTime), &json!("2026-03-28T09:00:00+01:00")).unwrap().unwrap();
        assert_eq!(v.to_json(), json!("2026-03-28T09:00:00+01:00"));
        let mut req = item(DataType::String);
        req.required = true;
        assert!(Value::from_json(&req, &Json::Null).is_err());
    }

    #[test]
    fn dates_and_offsets_outside_what_calendars_express_are_refused() {
        let date = item(DataType::Date);
        let at = item(DataType::DateTime);
        for bad in ["0000-01-01", "1899-12-31", "3000-01-01", "+02026-01-01", "-0001-01-01"] {
            let e = Value::from_json(&date, &json!(bad)).unwrap_err();
            assert!(e.message.contains(bad), "{bad}: {e}");
        }
        let e = Value::from_json(&date, &json!("0000-01-01")).unwrap_err();
        assert!(e.message.contains("1900-01-01 to 2999-12-31"), "{e}");
        for ok in ["1900-01-01", "2999-12-31"] {
            assert!(Value::from_json(&date, &json!(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "0000-01-01T00:00:00Z",
            "2026-03-28T09:00:00+25:00",
            "2026-03-28T09:00:00+24:00",
            "2026-03-28T09:00:00-23:60",
            "2999-12-31T23:30:00-01:00",
            "1900-01-01T00:30:00+01:00",
        ] {
            assert!(Value::from_json(&at, &json!(bad)).is_err(), "{bad}");
        }
        for ok in ["2026-03-28T09:00:00+23:59", "2026-03-28T09:00:00-23:00", "1900-01-01T00:00:00Z"] {
            assert!(Value::from_json(&at, &json!(ok)).is_ok(), "{ok}");
        }
        assert!(parse_date("0000-01-01").is_none() && parse_datetime("2026-01-01T00:00:00+25:00").is_none());
    }

    #[test]
    fn problems_beyond_twenty_are_counted_not_listed() {
        let json: serde_json::Map<String, Json> = (0..150_000).map(|i| (format!("unknown_{i}"), json!(1))).collect();
        let e = parse_data(&[item(DataType::Number)], &json).unwrap_err();
        assert_eq!((e.listed.len(), e.unlisted), (MAX_LISTED_ERRORS, 150_000 - MAX_LISTED_ERRORS));
        let shown = e.to_string();
        assert!(shown.len() < 2_000 && shown.ends_with("and 149980 more problems, not listed"), "{shown}");
    }
}
