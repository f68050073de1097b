//! The condition language of gateway flows: parsing arbitrary text never
//! panics, and a parsed condition can be inspected, checked against items and
//! evaluated against data without panicking. `not (c)` is the opposite of `c`.
#![no_main]
#![forbid(unsafe_code)]

use flowcal_domain::condition::Condition;
use flowcal_domain::value::parse_datetime;
use flowcal_domain::{Data, DataItemDef, DataType, Value};
use jiff::civil::date;
use libfuzzer_sys::fuzz_target;

fn item(key: &str, data_type: DataType, implicit: bool) -> DataItemDef {
    DataItemDef {
        key: key.into(),
        label: key.into(),
        data_type,
        required: false,
        options: if data_type == DataType::Select { vec!["red".into(), "green".into()] } else { vec![] },
        implicit,
    }
}

fn items() -> Vec<DataItemDef> {
    vec![
        item("amount", DataType::Number, false),
        item("ok", DataType::Boolean, false),
        item("status", DataType::String, false),
        item("notes", DataType::Text, false),
        item("color", DataType::Select, false),
        item("owner", DataType::User, false),
        item("first_day", DataType::Date, false),
        item("handover", DataType::DateTime, false),
        item("guess", DataType::String, true),
    ]
}

/// Data sets that give every item a value of its type, of another type, or none.
fn data_sets() -> Vec<Data> {
    let mut full = Data::new();
    full.insert("amount".into(), Value::Number(1000.5));
    full.insert("ok".into(), Value::Bool(true));
    full.insert("status".into(), Value::Text("done".into()));
    full.insert("notes".into(), Value::Text("line one\nline \"two\"".into()));
    full.insert("color".into(), Value::Text("red".into()));
    full.insert("owner".into(), Value::User("alice".into()));
    full.insert("first_day".into(), Value::Date(date(2026, 3, 29)));
    if let Some((ts, off)) = parse_datetime("2026-03-28T09:30:00+01:00") {
        full.insert("handover".into(), Value::DateTime(ts, off));
    }
    full.insert("guess".into(), Value::Number(-0.0));
    // Every key with a value of the wrong kind.
    let wrong: Data = full
        .iter()
        .map(|(k, v)| {
            let other = match v {
                Value::Number(_) => Value::Text("5".into()),
                Value::Bool(_) => Value::Number(1.0),
                _ => Value::Bool(false),
            };
            (k.clone(), other)
        })
        .collect();
    vec![Data::new(), full, wrong]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(c) = Condition::parse(text) else { return };
    assert_eq!(c.text, text);
    let vars = c.variables();
    let uses = c.variable_uses();
    assert!(vars.iter().all(|(v, _)| uses.iter().any(|(u, _)| u == v)));
    let _ = c.check(&items());
    let sets = data_sets();
    let results: Vec<bool> = sets.iter().map(|d| c.eval(d)).collect();

    // Wrapped in `not ( … )` it means the opposite (unless the text carries a
    // JUEL or FEEL wrapper, or the extra level goes past the depth limit).
    let bare = !text.trim_start().starts_with(['$', '#', '=']);
    if bare {
        match Condition::parse(&format!("not ({text})")) {
            Ok(negated) => {
                for (d, r) in sets.iter().zip(&results) {
                    assert_eq!(negated.eval(d), !r, "not ({text}) on {d:?}");
                }
            }
            Err(e) => assert!(e.message.contains("nested more than"), "not ({text}) refused: {e}"),
        }
    }
});
