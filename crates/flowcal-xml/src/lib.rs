#![forbid(unsafe_code)]
//! The one door for XML that comes from outside (BPMN uploads, CalDAV
//! answers and error bodies): [`parse`] first runs [`check`], a linear,
//! non-recursive scan that refuses documents that are too large, nest too
//! deep, carry too many attributes or namespace declarations, or have a DTD;
//! only then does roxmltree see the text, with a node limit.
//!
//! The scan must come first because roxmltree's reader recurses once per
//! nesting level (a few thousand levels overflow a thread's stack and abort
//! the process) and checks duplicate attributes and namespaces in quadratic
//! time. Nothing here may recurse or allocate in proportion to the input
//! beyond the parsed document itself.
//!
//! With the `blocking` feature, [`off_workers`] runs a parse on tokio's
//! blocking threads with a time budget, so async workers stay free.

use std::fmt;

pub use roxmltree;

/// How much of a document flowcal reads. The defaults are generous for real
/// files: BPMN exports from modelers nest fewer than 20 levels and carry
/// fewer than 30 attributes per element; WebDAV answers are flatter still.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting (the root element is level 1).
    pub max_depth: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
    /// Most namespace declarations in scope at one element (its own and its
    /// ancestors'): roxmltree's cost per declaring element grows with the square.
    pub max_namespaces_in_scope: usize,
    /// Most namespace declarations in the whole document.
    pub max_namespace_declarations: usize,
    /// Most nodes (elements, texts, comments, processing instructions).
    pub max_nodes: u32,
}

impl Limits {
    /// The limits every caller starts from.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 16 * 1024 * 1024,
        max_depth: 256,
        max_attributes: 256,
        max_namespaces_in_scope: 64,
        max_namespace_declarations: 10_000,
        max_nodes: 1_000_000,
    };

    /// The same limits with another size limit.
    pub const fn with_max_bytes(self, max_bytes: usize) -> Limits {
        Limits { max_bytes, ..self }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A 1-based line and column (in characters) in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a document was not read. The messages name the limit and carry no
/// position (see [`XmlError::position`]); callers add what the document was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document has {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("elements are nested deeper than the limit of {limit} levels")]
    TooDeep { at: Position, limit: usize },
    #[error("an element has more attributes than the limit of {limit}")]
    TooManyAttributes { at: Position, limit: usize },
    #[error("more XML namespace declarations are in scope at one element than the limit of {limit}")]
    TooManyNamespacesInScope { at: Position, limit: usize },
    #[error("the document declares more XML namespaces than the limit of {limit}")]
    TooManyNamespaceDeclarations { at: Position, limit: usize },
    #[error("the document has more XML nodes than the limit of {limit}")]
    TooManyNodes { limit: u32 },
    #[error("the document has a document type declaration (<!DOCTYPE …>), which flowcal does not accept")]
    Dtd { at: Position },
    #[error("not well-formed XML: {message}")]
    Malformed { at: Position, message: String },
}

impl XmlError {
    /// Where in the document the problem is, when it is at one place.
    pub fn position(&self) -> Option<Position> {
        match self {
            XmlError::TooLarge { .. } | XmlError::TooManyNodes { .. } => None,
            XmlError::TooDeep { at, .. }
            | XmlError::TooManyAttributes { at, .. }
            | XmlError::TooManyNamespacesInScope { at, .. }
            | XmlError::TooManyNamespaceDeclarations { at, .. }
            | XmlError::Dtd { at }
            | XmlError::Malformed { at, .. } => Some(*at),
        }
    }
}

/// Text made safe for XML (and for SVG or HTML): `&`, `<`, `>` and both
/// quotes escaped; characters XML 1.0 cannot carry (controls but tab, line
/// feed and carriage return) dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Checks `text` against `limits` and parses it (DTDs refused, at most
/// `limits.max_nodes` nodes).
pub fn parse<'input>(text: &'input str, limits: &Limits) -> Result<roxmltree::Document<'input>, XmlError> {
    check(text, limits)?;
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: limits.max_nodes };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| from_roxmltree(e, limits))
}

fn from_roxmltree(e: roxmltree::Error, limits: &Limits) -> XmlError {
    let p = e.pos();
    let at = Position { line: p.row, column: p.col };
    match e {
        roxmltree::Error::NodesLimitReached => XmlError::TooManyNodes { limit: limits.max_nodes },
        roxmltree::Error::DtdDetected => XmlError::Dtd { at },
        other => {
            let text = other.to_string();
            // The position is kept apart.
            let message = text.strip_suffix(&format!(" at {p}")).unwrap_or(&text).to_owned();
            XmlError::Malformed { at, message }
        }
    }
}

/// The linear pre-scan: refuses what [`Limits`] does not allow, without
/// recursion. It counts depth the way any XML reader must (comments, CDATA
/// sections, processing instructions and quoted attribute values hide `<`
/// and `>`); where the text is not well-formed it stops and leaves the
/// refusal to the parser, which stops at the same place.
pub fn check(text: &str, limits: &Limits) -> Result<(), XmlError> {
    if text.len() > limits.max_bytes {
        return Err(XmlError::TooLarge { size: text.len(), limit: limits.max_bytes });
    }
    let b = text.as_bytes();
    let at = |i: usize| position(text, i);
    let mut depth = 0usize;
    // Namespace declarations of each open element (at most `max_depth` entries).
    let mut declared: Vec<usize> = Vec::new();
    let mut in_scope = 0usize;
    let mut declarations = 0usize;
    let mut i = 0usize;
    while let Some(offset) = b[i..].iter().position(|&c| c == b'<') {
        let start = i + offset;
        let rest = &b[start..];
        let skip_to = |open: usize, close: &[u8]| find(b, start + open, close).map(|end| end + close.len());
        let next = if rest.starts_with(b"<!--") {
            skip_to(4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(9, b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_to(2, b"?>")
        } else if rest.starts_with(b"<!DOCTYPE") {
            return Err(XmlError::Dtd { at: at(start) });
        } else if rest.starts_with(b"<!") {
            // Nothing else starts with "<!": the parser refuses it here.
            None
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            in_scope -= declared.pop().unwrap_or(0);
            find(b, start + 2, b">").map(|end| end + 1)
        } else {
            let Some(tag) = scan_start_tag(b, start) else { break };
            if tag.attributes > limits.max_attributes {
                return Err(XmlError::TooManyAttributes { at: at(start), limit: limits.max_attributes });
            }
            if depth + 1 > limits.max_depth {
                return Err(XmlError::TooDeep { at: at(start), limit: limits.max_depth });
            }
            declarations += tag.declarations;
            if declarations > limits.max_namespace_declarations {
                return Err(XmlError::TooManyNamespaceDeclarations {
                    at: at(start),
                    limit: limits.max_namespace_declarations,
                });
            }
            if in_scope + tag.declarations > limits.max_namespaces_in_scope {
                return Err(XmlError::TooManyNamespacesInScope {
                    at: at(start),
                    limit: limits.max_namespaces_in_scope,
                });
            }
            if !tag.empty {
                depth += 1;
                in_scope += tag.declarations;
                declared.push(tag.declarations);
            }
            Some(tag.end)
        };
        // Unterminated: the parser refuses it where it starts.
        let Some(next) = next else { break };
        i = next;
    }
    Ok(())
}

/// What the scan saw of a start tag.
struct StartTag {
    /// Just after its `>`.
    end: usize,
    /// `<a/>`: no content, no deeper level.
    empty: bool,
    attributes: usize,
    /// Attributes named `xmlns` or `xmlns:…`.
    declarations: usize,
}

/// Scans the start tag at `start` (`<name …>`) to its closing `>`, skipping
/// quoted attribute values. Every quoted value is one attribute (quotes
/// cannot occur in names, so any other quote makes the tag malformed).
/// `None` when the tag does not end.
fn scan_start_tag(b: &[u8], start: usize) -> Option<StartTag> {
    let mut tag = StartTag { end: 0, empty: false, attributes: 0, declarations: 0 };
    let mut k = start + 1;
    while k < b.len() {
        match b[k] {
            quote @ (b'"' | b'\'') => {
                tag.attributes += 1;
                if attribute_name(b, start, k).is_some_and(|n| n == b"xmlns" || n.starts_with(b"xmlns:")) {
                    tag.declarations += 1;
                }
                let close = b[k + 1..].iter().position(|&c| c == quote)?;
                k += close + 2;
            }
            b'>' => {
                tag.end = k + 1;
                tag.empty = k > start + 1 && b[k - 1] == b'/';
                return Some(tag);
            }
            _ => k += 1,
        }
    }
    None
}

/// The name before `= "` at `quote` (whitespace allowed around `=`).
fn attribute_name(b: &[u8], tag_start: usize, quote: usize) -> Option<&[u8]> {
    let mut k = quote;
    while k > tag_start && b[k - 1].is_ascii_whitespace() {
        k -= 1;
    }
    if k <= tag_start || b[k - 1] != b'=' {
        return None;
    }
    k -= 1;
    while k > tag_start && b[k - 1].is_ascii_whitespace() {
        k -= 1;
    }
    let end = k;
    while k > tag_start && !b[k - 1].is_ascii_whitespace() && !matches!(b[k - 1], b'"' | b'\'' | b'<') {
        k -= 1;
    }
    Some(&b[k..end])
}

/// The first `needle` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// The line and column (in characters) of a byte offset; only on refusal.
fn position(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    Position { line: u32::try_from(line).unwrap_or(u32::MAX), column: u32::try_from(column).unwrap_or(u32::MAX) }
}

/// How long a parse may keep a caller waiting.
pub const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Why [`off_workers`] has no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("reading the XML took longer than {} seconds", .0.as_secs())]
    TimedOut(std::time::Duration),
    #[error("reading the XML failed unexpectedly")]
    Failed,
}

/// Runs `work` (a parse) on tokio's blocking threads and waits at most
/// `budget` for it. The limits of [`check`] bound the work; the budget keeps
/// a caller from waiting on a slow machine (a blocking thread cannot be
/// stopped, so it finishes in the background).
#[cfg(feature = "blocking")]
pub async fn off_workers<T, F>(budget: std::time::Duration, work: F) -> Result<T, BudgetError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::time::timeout(budget, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(_)) => Err(BudgetError::Failed),
        Err(_) => Err(BudgetError::TimedOut(budget)),
    }
}

#[cfg(test)]
mod tests;
