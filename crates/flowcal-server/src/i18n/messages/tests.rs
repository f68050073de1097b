use super::*;
use crate::i18n::{Lang, FILES, KNOWN};
use std::collections::BTreeSet;

/// The sources whose messages reach pages, from `crates/`.
const SOURCES: &[&str] = &[
    "flowcal-server/src/access/mod.rs",
    "flowcal-server/src/access/people.rs",
    "flowcal-server/src/access/calendars.rs",
    "flowcal-server/src/exports.rs",
    "flowcal-server/src/workflow.rs",
    "flowcal-server/src/workcal.rs",
    "flowcal-server/src/workcal_data.rs",
    "flowcal-server/src/calendar_sync.rs",
    "flowcal-server/src/verify.rs",
    "flowcal-server/src/principal.rs",
    "flowcal-server/src/http.rs",
    "flowcal-server/src/web.rs",
    "flowcal-server/src/paging.rs",
    "flowcal-server/src/lib.rs",
    "flowcal-server/src/error.rs",
    "flowcal-server/src/models.rs",
    "flowcal-server/src/delivery.rs",
    "flowcal-server/src/entries.rs",
    "flowcal-domain/src/value.rs",
    "flowcal-domain/src/instance.rs",
    "flowcal-domain/src/deadline.rs",
    "flowcal-domain/src/workcal.rs",
    "flowcal-domain/src/duration.rs",
    "flowcal-domain/src/condition.rs",
    "flowcal-domain/src/user.rs",
    "flowcal-domain/src/calendar_edits.rs",
    "flowcal-domain/src/timer.rs",
    "flowcal-domain/src/model.rs",
    "flowcal-domain/src/export.rs",
    "flowcal-engine/src/lib.rs",
    "flowcal-bpmn/src/lib.rs",
    "flowcal-bpmn/src/read.rs",
    "flowcal-bpmn/src/validate.rs",
    "flowcal-bpmn/src/scan.rs",
    "flowcal-bpmn/src/timers.rs",
    "flowcal-bpmn/src/assignee.rs",
    "flowcal-bpmn/src/workcal.rs",
    "flowcal-bpmn/src/diagram.rs",
    "flowcal-xml/src/lib.rs",
    "flowcal-calendar/src/caldav.rs",
    "flowcal-calendar/src/connector.rs",
    "flowcal-calendar/src/google.rs",
    "flowcal-calendar/src/graph.rs",
    "flowcal-calendar/src/holidays.rs",
    "flowcal-calendar/src/ical.rs",
    "flowcal-calendar/src/http_auth.rs",
    "flowcal-calendar/src/provider.rs",
    "flowcal-calendar/src/lib.rs",
    "flowcal-connect/src/oauth.rs",
    "flowcal-connect/src/outbound.rs",
    "flowcal-connect/src/jwt.rs",
    "flowcal-connect/src/lib.rs",
    "flowcal-connect/src/text.rs",
];

/// Texts the code builds that are no message: headers, joins of other
/// messages, names put together for a message's value.
const NOT_MESSAGES: &[&str] = &[
    "{} @ {host}",
    "command line",
    "{} {}",
    "{k}: {m}",
    "multipart/mixed; boundary={boundary}",
    "{remote_id} {calendar}",
    "calendar {id}",
    "calendar {calendar}",
    "{what} {}",
    "{what} {e}",
    "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
    "{SIGN_IN_COOKIE}={browser}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=600{secure}",
    "private, no-cache",
    "{} version {}",
    "{}: {}",
    "{url}: {e}",
    "{what}: {}",
    "{host}: {kind}",
    "{this}: {m}",
    "{} (line {}, column {})",
    "{} (through the calendar)",
    " and {n} more",
    " (in {} s)",
    " at {p}",
    "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq '{}')",
    "{} KiB",
    "{} MiB",
    "{name}: {e}",
    "{method} {url}: {}",
    "{d} {}",
    "event boundary",
    "event end",
    "event intermediate",
    "event start",
    "task subprocess",
    "task user",
];

/// A string literal of the code, where it stands and what comes before it.
struct Literal {
    text: String,
    /// Whether it is a format string, where `{name}` is a value and `{{` a brace.
    format: bool,
    before: String,
    after: String,
}

/// The string literals of `source` outside comments, tests and raw strings.
fn literals(source: &str) -> Vec<Literal> {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    let b = source.as_bytes();
    let mut code = String::new();
    let mut found: Vec<(usize, String, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if source[i..].starts_with("//") {
            i = source[i..].find('\n').map_or(b.len(), |n| i + n);
        } else if source[i..].starts_with("/*") {
            i = source[i..].find("*/").map_or(b.len(), |n| i + n + 2);
        } else if source[i..].starts_with("r#\"") {
            i = source[i + 3..].find("\"#").map_or(b.len(), |n| i + 3 + n + 2);
            code.push_str("r\"\"");
        } else if b[i] == b'\'' && (b.get(i + 1) == Some(&b'\\') || b.get(i + 2) == Some(&b'\'')) {
            let from = if b[i + 1] == b'\\' { i + 3 } else { i + 2 };
            i = source[from..].find('\'').map_or(b.len(), |n| from + n + 1);
            code.push_str("' '");
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let at = code.len();
            code.push_str("\"\"");
            found.push((at, source[i + 1..j.min(b.len())].to_owned(), code.len()));
            i = j + 1;
        } else {
            let c = source[i..].chars().next().unwrap_or(' ');
            code.push(c);
            i += c.len_utf8();
        }
    }
    found
        .into_iter()
        .map(|(at, raw, end)| {
            let start = code[..at].char_indices().rev().nth(199).map_or(0, |(n, _)| n);
            let stop = code[end..].char_indices().nth(16).map_or(code.len(), |(n, _)| end + n);
            let before = code[start..at].to_owned();
            let format = ["format!(", "#[error(", "write!(f,"].iter().any(|m| before.trim_end().ends_with(m));
            Literal { text: unescape(&raw), format, before, after: code[end..stop].to_owned() }
        })
        .collect()
}

fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Whether the literal is a message: prose written where an error, a refusal
/// or a note is made, not a log line.
fn is_message(l: &Literal) -> bool {
    let before = l.before.trim_end();
    let statement = before.rsplit(';').next().unwrap_or_default();
    if statement.contains("tracing::") {
        return false;
    }
    let made =
        ["format!(", "#[error(", ".error(", "fail(", "refuse(", "message:", "=>"].iter().any(|m| before.ends_with(m))
            || before.strip_suffix('(').is_some_and(|b| {
                let ident: String =
                    b.chars().rev().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
                ident.chars().last().is_some_and(|c| c.is_ascii_uppercase())
            })
            || [".into()", ".to_owned()", ".to_string()"].iter().any(|m| l.after.trim_start().starts_with(m));
    let text = l.text.trim();
    made && text.contains(' ')
        && !l.text.contains('\n')
        && text.starts_with(|c: char| c.is_ascii_lowercase() || "{'\"(".contains(c))
}

/// A format string's parts: `{name}` and `{}` are values (`arg1`, `arg2` … in order).
fn template_parts(template: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut words = String::new();
    let mut positional = 0;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            words.push(c);
            rest = &rest[2..];
        } else if c == '{' {
            let end = rest.find('}').unwrap_or(rest.len() - 1);
            let inner = rest[1..end].split(':').next().unwrap_or_default();
            let name = if inner.is_empty() {
                positional += 1;
                format!("arg{positional}")
            } else if inner.bytes().all(|b| b.is_ascii_digit()) {
                format!("arg{inner}")
            } else {
                inner.to_owned()
            };
            if !words.is_empty() {
                parts.push(Part::Words(std::mem::take(&mut words)));
            }
            parts.push(Part::Value(name));
            rest = &rest[end + 1..];
        } else {
            words.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !words.is_empty() {
        parts.push(Part::Words(words));
    }
    parts
}

/// The parts as a Fluent pattern, to paste into `locales/en/messages-*.ftl`.
fn as_ftl(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Words(w) => out.push_str(&w.replace('{', "{\"{\"}").replace('}', "{\"}\"}")),
            Part::Value(v) => out.push_str(&format!("{{ ${v} }}")),
        }
    }
    out
}

/// Every message the code writes, by its parts, with where it is written.
fn written() -> Vec<(Vec<Part>, String)> {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for file in SOURCES {
        let source = std::fs::read_to_string(crates.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for l in literals(&source) {
            if is_message(&l) && !NOT_MESSAGES.contains(&l.text.as_str()) {
                let parts = if l.format { template_parts(&l.text) } else { vec![Part::Words(l.text.clone())] };
                out.push((parts, (*file).to_owned()));
            }
        }
    }
    out
}

/// The parts with the values unnamed: two patterns of one shape are one message.
fn shape(parts: &[Part]) -> Vec<Part> {
    parts
        .iter()
        .map(|p| match p {
            Part::Words(w) => Part::Words(w.clone()),
            Part::Value(_) => Part::Value(String::new()),
        })
        .collect()
}

#[test]
fn every_message_the_code_writes_is_in_the_files_and_no_other() {
    let written = written();
    assert!(written.len() > 400, "the reading of the code found only {} messages", written.len());
    let known: Vec<Vec<Part>> = KNOWN.iter().map(|k| shape(&k.parts)).collect();
    let missing: BTreeSet<String> = written
        .iter()
        .filter(|(parts, _)| !known.contains(&shape(parts)))
        .map(|(parts, file)| format!("{file}: … = {}", as_ftl(parts)))
        .collect();
    let unused: Vec<&str> = KNOWN
        .iter()
        .filter(|k| !written.iter().any(|(parts, _)| shape(parts) == shape(&k.parts)))
        .map(|k| k.id.as_str())
        .collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "messages missing from locales/en/messages-*.ftl:\n{}\nmessages the code no longer writes: {unused:?}",
        Vec::from_iter(missing).join("\n")
    );
    let shapes: BTreeSet<&Vec<Part>> = known.iter().collect();
    assert_eq!(shapes.len(), known.len(), "one message per shape of words");
}

#[test]
fn each_message_is_found_by_its_own_words() {
    let count: usize = FILES
        .iter()
        .filter(|f| f[0].0.starts_with("messages-"))
        .map(|f| {
            let r = FluentResource::try_new(f[0].1.to_owned()).unwrap_or_else(|(r, _)| r);
            r.entries().filter(|e| matches!(e, ast::Entry::Message(_))).count()
        })
        .sum();
    assert_eq!(KNOWN.len(), count, "every English message is words and {{ $values }} only");
    for k in KNOWN.iter() {
        assert!(
            !k.parts.windows(2).any(|w| matches!(w, [Part::Value(_), Part::Value(_)])),
            "{}: two values side by side cannot be told apart",
            k.id
        );
        let sample: String = k
            .parts
            .iter()
            .map(|p| match p {
                Part::Words(w) => w.clone(),
                Part::Value(v) => format!("‹{v}›"),
            })
            .collect();
        let (found, values) =
            find(&KNOWN, &sample, &mut { MAX_STEPS }).unwrap_or_else(|| panic!("{} does not find itself", k.id));
        assert_eq!(found.id, k.id, "{sample:?} fits {} first", found.id);
        for (name, value) in values {
            assert_eq!(value, format!("‹{name}›"), "{}", k.id);
        }
    }
    let ids: BTreeSet<&str> = KNOWN.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids.len(), KNOWN.len(), "one id per message");
}

/// The variables a message uses.
fn variables(pattern: &ast::Pattern<&str>, into: &mut BTreeSet<String>) {
    for e in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = e {
            expression_variables(expression, into);
        }
    }
}

fn expression_variables(e: &ast::Expression<&str>, into: &mut BTreeSet<String>) {
    let inline = |i: &ast::InlineExpression<&str>, into: &mut BTreeSet<String>| match i {
        ast::InlineExpression::VariableReference { id } => {
            into.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, into),
        _ => {}
    };
    match e {
        ast::Expression::Inline(i) => inline(i, into),
        ast::Expression::Select { selector, variants } => {
            inline(selector, into);
            for v in variants {
                variables(&v.value, into);
            }
        }
    }
}

#[test]
fn translations_keep_every_value() {
    for file in FILES.iter().filter(|f| f[0].0.starts_with("messages-")) {
        let read = |source: &str| {
            let r = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
            let mut by_id = std::collections::BTreeMap::new();
            for e in r.entries() {
                if let ast::Entry::Message(m) = e {
                    let mut vars = BTreeSet::new();
                    if let Some(p) = &m.value {
                        variables(p, &mut vars);
                    }
                    by_id.insert(m.id.name.to_owned(), vars);
                }
            }
            by_id
        };
        let english = read(file[0].1);
        for (lang, (name, source)) in Lang::ALL.into_iter().zip(file).skip(1) {
            for (id, vars) in read(source) {
                assert_eq!(Some(&vars), english.get(&id), "{}/{name}.ftl: {id} names other values", lang.code());
            }
        }
    }
}

#[test]
fn a_service_message_is_said_in_the_readers_language() {
    let wrong = "the current password is wrong: nothing was changed";
    assert_eq!(Lang::En.translate(wrong), wrong);
    for lang in [Lang::De, Lang::Ja] {
        let said = lang.translate(wrong);
        assert_ne!(said, wrong, "{}", lang.code());
        assert_eq!(said, lang.t("server-the-current-password-is-wrong-nothing"));
        // Values are taken over; a count stays the number it was.
        let roles = lang.translate("a user can have at most 20 roles");
        assert!(roles.contains("20") && roles != "a user can have at most 20 roles", "{roles}");
        // A reason inside a refusal is said too, and names stay as written.
        let refusal =
            "line 7, column 3: user task 'Approve_1' (Approve) has no outgoing flow; every path must lead to an end event";
        let said = lang.translate(refusal);
        let inner = lang
            .translate("user task 'Approve_1' (Approve) has no outgoing flow; every path must lead to an end event");
        assert!(
            said.contains(&inner) && said.contains('7') && said.contains("Approve_1") && said.contains("(Approve)"),
            "{said}"
        );
        assert_ne!(inner, "user task 'Approve_1' (Approve) has no outgoing flow; every path must lead to an end event");
        // A list of problems is said problem by problem; keys stay as written.
        let data = lang.translate("invalid data: due: a value is required; amount: expected a number");
        for (key, problem) in [("due", "a value is required"), ("amount", "expected a number")] {
            assert!(data.contains(&format!("{key}: {}", lang.translate(problem))), "{data}");
        }
        // The step is named in the reader's words too.
        let refusal = lang.translate("user task 'a' (A) has no incoming flow, so it cannot be reached");
        assert!(refusal.contains(&lang.translate("user task")) && !refusal.contains("user task"), "{refusal}");
        assert_ne!(lang.translate("a value is required"), "a value is required");
        // What fits no message is shown as written.
        assert_eq!(lang.translate("Kein Zugriff"), "Kein Zugriff");
        assert_eq!(lang.translate(""), "");
    }
}

#[test]
fn keys_ids_and_logins_are_one_word() {
    let id = |text: &str| find(&KNOWN, text, &mut { MAX_STEPS }).map(|(k, _)| k.id.as_str());
    assert_eq!(id("user alice"), Some("server-user"));
    // "user { $login }" does not take "user task 'a' (A)": a login has no spaces.
    assert_eq!(id("user task 'a' (A)"), Some("bpmn-named-step"));
    assert_eq!(id("due: a value is required"), Some("data-value"));
    assert_eq!(id("a due date: a value is required"), None, "a key has no spaces");
}

#[test]
fn hostile_texts_are_shown_as_written_within_bounds() {
    // Longer than any message: not read at all.
    let long = "the current password is wrong: nothing was changed".repeat(1000);
    assert_eq!(Lang::De.translate(&long), long);
    // Texts built to make patterns with several values try every split: each
    // pattern gives up after its steps, so this ends, whatever it returns.
    for piece in ["': '", " in ", "; ", " (", "'"] {
        let text = piece.repeat(MAX_TEXT / piece.len() - 1);
        let said = Lang::Ja.translate(&text);
        assert!(!said.is_empty());
    }
    // Values said again go only so deep: a refusal inside itself, many times.
    let mut nested = "a value is required".to_owned();
    for _ in 0..10 {
        nested = format!("line 1, column 1: {nested}");
    }
    let said = Lang::De.translate(&nested);
    assert!(said.contains("line 1, column 1: a value is required"), "the deepest stay as written: {said}");
}
