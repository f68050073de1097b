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
                Value::Date(parse_date(s).ok_or_else(|| fail(format!("'{s}' is not a date; write YYYY-MM-DD")))?)
            }
            DataType::DateTime => {
                let s = json.as_str().ok_or_else(|| fail("expected an RFC 3339 date-time".into()))?;
                let (ts, off) = parse_datetime(s).ok_or_else(|| {
                    fail(format!(
                        "'{s}' is not a date-time with a UTC offset; write for example 2026-03-28T09:30:00+01:00"
                    ))
                })?;
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

/// Parses a civil date `YYYY-MM-DD` (exactly that form).
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    s.parse::<Date>().ok()
}

/// Parses an RFC 3339 date-time that carries a UTC offset (or `Z`).
pub fn parse_datetime(s: &str) -> Option<(Timestamp, Offset)> {
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
) -> Result<BTreeMap<String, Option<Value>>, Vec<ValueError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
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
}
