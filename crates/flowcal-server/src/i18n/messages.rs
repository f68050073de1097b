//! What flowcal's services say in English (refusals, errors, warnings, the
//! lines of a check), said again in the reader's language.
//!
//! The services write one English text for the API, the command line and the
//! log. Each such text is a message of the `messages-*.ftl` files, whose
//! English pattern is the text as the code writes it, with `{ $name }` where
//! the code puts a value. A page finds the pattern that the text fits, takes
//! the values from it, says each value again where it is itself such a
//! message (a reason inside a refusal), and fills the reader's language's
//! pattern with them. A text that fits no pattern is shown as written.
//! The tests read the code and check that every message it writes is in the
//! files, and that the files hold no message the code no longer writes.

use fluent_bundle::FluentResource;
use fluent_syntax::ast;

/// Texts longer than this are shown as written (a server's whole answer, say).
pub(super) const MAX_TEXT: usize = 2048;
/// How deep values are said again (a reason inside a reason inside a refusal).
pub(super) const MAX_DEPTH: usize = 3;
/// Steps one text may take, its values included: each pattern looked at is
/// one, each way of splitting a text between values another. Each step reads
/// the text at most once, so no text costs more than this many readings.
pub(super) const MAX_STEPS: u32 = 20_000;
/// Steps one pattern may take to fit one text.
const MAX_PATTERN_STEPS: u32 = 256;

/// Words as written, or the place of a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Part {
    Words(String),
    Value(String),
}

/// One English pattern and its message id.
#[derive(Debug)]
pub(super) struct Known {
    pub id: String,
    pub parts: Vec<Part>,
    /// How many bytes of it are words: more words, a closer fit.
    words: usize,
}

/// The parts of a pattern; None when it holds more than words and variables.
pub(super) fn parts(pattern: &ast::Pattern<&str>) -> Option<Vec<Part>> {
    let mut parts: Vec<Part> = Vec::new();
    for element in &pattern.elements {
        let words = match element {
            ast::PatternElement::TextElement { value } => (*value).to_owned(),
            ast::PatternElement::Placeable {
                expression: ast::Expression::Inline(ast::InlineExpression::StringLiteral { value }),
            } => (*value).to_owned(),
            ast::PatternElement::Placeable {
                expression: ast::Expression::Inline(ast::InlineExpression::VariableReference { id }),
            } => {
                parts.push(Part::Value(id.name.to_owned()));
                continue;
            }
            _ => return None,
        };
        match parts.last_mut() {
            Some(Part::Words(w)) => w.push_str(&words),
            _ => parts.push(Part::Words(words)),
        }
    }
    Some(parts)
}

/// The English messages of the `messages-*` files, the closest fits first.
pub(super) fn known(files: &[(&str, &str)]) -> Vec<Known> {
    let mut known = Vec::new();
    for (name, source) in files {
        if !name.starts_with("messages-") {
            continue;
        }
        let resource = FluentResource::try_new((*source).to_owned()).unwrap_or_else(|(partial, _)| partial);
        for entry in resource.entries() {
            let ast::Entry::Message(m) = entry else { continue };
            let Some(parts) = m.value.as_ref().and_then(parts) else { continue };
            let words = parts
                .iter()
                .map(|p| match p {
                    Part::Words(w) => w.len(),
                    Part::Value(_) => 0,
                })
                .sum();
            known.push(Known { id: m.id.name.to_owned(), parts, words });
        }
    }
    known.sort_by(|a, b| b.words.cmp(&a.words).then_with(|| a.id.cmp(&b.id)));
    known
}

/// The message `text` is, with its values; None when it fits none, or when
/// `steps` run out first.
pub(super) fn find<'k, 't>(
    known: &'k [Known],
    text: &'t str,
    steps: &mut u32,
) -> Option<(&'k Known, Vec<(&'k str, &'t str)>)> {
    if text.len() > MAX_TEXT {
        return None;
    }
    for k in known {
        if *steps == 0 {
            return None;
        }
        *steps -= 1;
        if !plausible(&k.parts, text) {
            continue;
        }
        let mut values = Vec::new();
        let mut own = (*steps).min(MAX_PATTERN_STEPS);
        let before = own;
        let fits = fit(&k.parts, text, &mut values, &mut own);
        *steps -= before - own;
        if fits {
            return Some((k, values));
        }
    }
    None
}

/// Whether `text` holds the pattern's words in their order, begins with its
/// first and ends with its last: one reading, before any splitting is tried.
fn plausible(parts: &[Part], text: &str) -> bool {
    if let Some(Part::Words(w)) = parts.first() {
        if !text.starts_with(w.as_str()) {
            return false;
        }
    }
    if let Some(Part::Words(w)) = parts.last() {
        if !text.ends_with(w.as_str()) {
            return false;
        }
    }
    let mut rest = text;
    for p in parts {
        if let Part::Words(w) = p {
            match rest.find(w.as_str()) {
                Some(at) => rest = &rest[at + w.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether `text` fits `parts`, collecting the values; each try costs a step.
fn fit<'k, 't>(parts: &'k [Part], text: &'t str, values: &mut Vec<(&'k str, &'t str)>, steps: &mut u32) -> bool {
    if *steps == 0 {
        return false;
    }
    *steps -= 1;
    match parts {
        [] => text.is_empty(),
        [Part::Words(w), rest @ ..] => text.strip_prefix(w.as_str()).is_some_and(|t| fit(rest, t, values, steps)),
        [Part::Value(name)] => {
            let fits = takes(name, text);
            if fits {
                values.push((name, text));
            }
            fits
        }
        [Part::Value(name), Part::Words(next), ..] => {
            let rest = &parts[1..];
            let mut from = 0;
            while let Some(at) = text[from..].find(next.as_str()).map(|i| from + i) {
                if !takes(name, &text[..at]) {
                    // A longer value would hold the same space.
                    return false;
                }
                values.push((name, &text[..at]));
                if fit(rest, &text[at..], values, steps) {
                    return true;
                }
                values.pop();
                if *steps == 0 {
                    return false;
                }
                from = at + text[at..].chars().next().map_or(1, char::len_utf8);
            }
            false
        }
        // Two values side by side cannot be told apart; the tests keep them out.
        [Part::Value(_), Part::Value(_), ..] => false,
    }
}

/// Whether the value `name` may be `text`: keys, ids and logins are one word
/// ("user { $login }" is not "user task 'approve'").
fn takes(name: &str, text: &str) -> bool {
    !matches!(name, "key" | "id" | "login") || !text.contains(char::is_whitespace)
}

/// Where several messages are listed in one text ("due: a value is
/// required; amount: expected a number"), and the whole fits no message.
pub(super) const LIST_SEPARATOR: &str = "; ";

#[cfg(test)]
mod tests;
