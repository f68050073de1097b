//! The condition language of gateway flows (see DESIGN.md): item keys,
//! numbers, strings, dates, comparisons, `and or not`, parentheses, plus the
//! wrappers modeling tools write (`${…}`, `#{…}`, a leading `=`).
//!
//! Anything outside that language (function calls, member access, arithmetic)
//! is refused when the model is read, never guessed at. Evaluation never
//! panics: a missing value or a type mismatch makes a comparison false (and
//! `!=` true).

use crate::model::{DataItemDef, DataType};
use crate::value::{parse_date, parse_datetime, Data, Value};
use jiff::civil::Date;
use jiff::Timestamp;
use std::cmp::Ordering;

/// How a condition uses a variable, for inferring implicit data items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarUse {
    Boolean,
    Number,
    String,
    /// Compared only with other variables: no type can be inferred.
    Unknown,
}

impl VarUse {
    pub fn data_type(self) -> DataType {
        match self {
            VarUse::Boolean => DataType::Boolean,
            VarUse::Number => DataType::Number,
            VarUse::String | VarUse::Unknown => DataType::String,
        }
    }

    /// A word for messages: "boolean", "number", "string", "untyped".
    pub fn as_str(self) -> &'static str {
        match self {
            VarUse::Boolean => "boolean",
            VarUse::Number => "number",
            VarUse::String => "string",
            VarUse::Unknown => "untyped",
        }
    }
}

/// A parsed condition. `text` is what the model wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub text: String,
    expr: Expr,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
}

impl ConditionError {
    fn new(message: impl Into<String>) -> Self {
        ConditionError { message: message.into() }
    }
}

/// The words a condition reserves; none of them can be a data item key.
pub const KEYWORDS: [&str; 6] = ["and", "or", "not", "true", "false", "null"];

/// Whether `s` can name a data item in a condition: `[A-Za-z_][A-Za-z0-9_]*`
/// and not a keyword (in any case).
pub fn is_valid_key(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

const HINT: &str = "flowcal conditions compare data items with == != < <= > >=, joined by and/or/not";

/// Deep enough for any hand-written condition, shallow enough that the
/// recursive parser cannot overflow the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    /// A single operand used as a condition: true iff it is boolean true.
    Atom(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Var(String),
    Num(f64),
    Str(String),
    Bool(bool),
    /// A parenthesised boolean expression used as an operand, e.g. `(a or b) == true`.
    Group(Box<Expr>),
}

impl Operand {
    /// How it reads in messages.
    fn describe(&self) -> String {
        match self {
            Operand::Var(v) => format!("item '{v}'"),
            Operand::Num(n) => format!("the number {n}"),
            Operand::Str(s) => format!("the string \"{s}\""),
            Operand::Bool(b) => format!("{b}"),
            Operand::Group(_) => "a condition in parentheses".to_owned(),
        }
    }

    /// How a variable compared with this operand is used.
    fn use_for_other_side(&self) -> VarUse {
        match self {
            Operand::Num(_) => VarUse::Number,
            Operand::Str(_) => VarUse::String,
            Operand::Bool(_) | Operand::Group(_) => VarUse::Boolean,
            Operand::Var(_) => VarUse::Unknown,
        }
    }
}

// ---------------------------------------------------------------------------
// Lexing

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Bool(bool),
    And,
    Or,
    Not,
    Cmp(CmpOp),
    LParen,
    RParen,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset in the original text.
    at: usize,
}

struct Lexer<'a> {
    /// The original text, for messages.
    text: &'a str,
    /// The condition proper (wrappers removed) starts here in `text`.
    base: usize,
    src: &'a str,
    feel: bool,
}

impl<'a> Lexer<'a> {
    /// "unsupported syntax at 'var:gt(' (character 1): …"
    fn unsupported(&self, at: usize) -> ConditionError {
        let rest = self.text.get(at..).unwrap_or("");
        let mut snippet = String::new();
        for c in rest.chars().take(20) {
            if c.is_whitespace() {
                break;
            }
            snippet.push(c);
            if c == '(' {
                break;
            }
        }
        ConditionError::new(format!(
            "unsupported syntax at '{snippet}' (character {}): {HINT}",
            char_pos(self.text, at)
        ))
    }

    fn tokens(&self) -> Result<Vec<Token>, ConditionError> {
        let bytes = self.src.as_bytes();
        let mut out: Vec<Token> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            // Any other whitespace (a vertical tab, a no-break space pasted from a
            // modeler) separates tokens too, as it is trimmed around the condition.
            if let Some(ws) = self.src[i..].chars().next().filter(|ch| ch.is_whitespace()) {
                i += ws.len_utf8();
                continue;
            }
            // A minus is a sign where a value is expected, and arithmetic elsewhere.
            let after_operand = matches!(
                out.last().map(|t| &t.tok),
                Some(Tok::Num(_) | Tok::Str(_) | Tok::Ident(_) | Tok::Bool(_) | Tok::RParen)
            );
            let signed = c == b'-' && !after_operand && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            let (tok, len) = if c.is_ascii_digit() || signed {
                self.number(i)?
            } else if c == b'"' || c == b'\'' {
                let (s, len) = self.string(i)?;
                (Tok::Str(s), len)
            } else if c.is_ascii_alphabetic() || c == b'_' {
                self.word(i)?
            } else {
                self.symbol(i)?
            };
            out.push(Token { tok, at: self.base + i });
            i += len;
        }
        Ok(out)
    }

    /// A number (`5`, `2.5`, `-3`) at byte `i` of `src`.
    fn number(&self, i: usize) -> Result<(Tok, usize), ConditionError> {
        let bytes = self.src.as_bytes();
        let digits = |mut j: usize| {
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            j
        };
        let mut j = digits(i + 1);
        if j + 1 < bytes.len() && bytes[j] == b'.' && bytes[j + 1].is_ascii_digit() {
            j = digits(j + 1);
        }
        let glued = bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
        match self.src[i..j].parse::<f64>() {
            Ok(n) if n.is_finite() && !glued => Ok((Tok::Num(n), j - i)),
            _ => Err(self.unsupported(self.base + i)),
        }
    }

    /// A keyword, `true`/`false` or an identifier at byte `i` of `src`.
    fn word(&self, i: usize) -> Result<(Tok, usize), ConditionError> {
        let bytes = self.src.as_bytes();
        let mut j = i + 1;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        let word = &self.src[i..j];
        let tok = match word.to_ascii_lowercase().as_str() {
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            "null" => return Err(self.unsupported(self.base + i)),
            _ => {
                // `var:gt(`, `foo(`, `a.b`: calls and member access.
                if matches!(bytes.get(j), Some(b':' | b'.')) || self.src[j..].trim_start().starts_with('(') {
                    return Err(self.unsupported(self.base + i));
                }
                Tok::Ident(word.to_owned())
            }
        };
        Ok((tok, j - i))
    }

    /// An operator or parenthesis at byte `i` of `src`.
    fn symbol(&self, i: usize) -> Result<(Tok, usize), ConditionError> {
        let bytes = self.src.as_bytes();
        Ok(match (bytes[i], bytes.get(i + 1).copied()) {
            (b'&', Some(b'&')) => (Tok::And, 2),
            (b'|', Some(b'|')) => (Tok::Or, 2),
            (b'!', Some(b'=')) => (Tok::Cmp(CmpOp::Ne), 2),
            (b'!', _) => (Tok::Not, 1),
            (b'=', Some(b'=')) => (Tok::Cmp(CmpOp::Eq), 2),
            (b'=', _) if self.feel => (Tok::Cmp(CmpOp::Eq), 1),
            (b'<', Some(b'=')) => (Tok::Cmp(CmpOp::Le), 2),
            (b'<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            (b'>', Some(b'=')) => (Tok::Cmp(CmpOp::Ge), 2),
            (b'>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            _ => return Err(self.unsupported(self.base + i)),
        })
    }

    /// A quoted string starting at byte `i` of `src`: its value and length.
    fn string(&self, i: usize) -> Result<(String, usize), ConditionError> {
        let src = &self.src[i..];
        let mut chars = src.char_indices();
        let quote = match chars.next() {
            Some((_, q)) => q,
            None => return Err(self.unsupported(self.base + i)),
        };
        let mut value = String::new();
        while let Some((j, c)) = chars.next() {
            if c == quote {
                return Ok((value, j + c.len_utf8()));
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, e)) if e == quote || e == '\\' => value.push(e),
                    Some((_, e)) => {
                        value.push('\\');
                        value.push(e);
                    }
                    None => break,
                }
            } else {
                value.push(c);
            }
        }
        Err(ConditionError::new(format!(
            "the string starting at character {} is not closed: end it with {quote}",
            char_pos(self.text, self.base + i)
        )))
    }
}

/// 1-based character position of byte offset `at` in `text`.
fn char_pos(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |s| s.chars().count()) + 1
}

// ---------------------------------------------------------------------------
// Parsing

struct Parser<'a> {
    lexer: &'a Lexer<'a>,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn here(&self) -> ConditionError {
        match self.toks.get(self.pos) {
            Some(t) => self.lexer.unsupported(t.at),
            None => ConditionError::new(format!(
                "the condition '{}' ends too early: a value is missing at the end",
                self.lexer.text.trim()
            )),
        }
    }

    fn deeper(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::new(format!("the condition is nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        self.deeper()?;
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn not(&mut self) -> Result<Expr, ConditionError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ConditionError> {
        let start = self.toks.get(self.pos).map(|t| t.at);
        let left = self.operand()?;
        if let Some(Tok::Cmp(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let right = self.operand()?;
            return Ok(Expr::Cmp(left, op, right));
        }
        match left {
            Operand::Group(e) => Ok(*e),
            Operand::Num(_) | Operand::Str(_) => {
                let what = left.describe();
                let at = start.map_or(0, |at| char_pos(self.lexer.text, at));
                Err(ConditionError::new(format!(
                    "{what} (character {at}) is not a condition on its own: compare a data item with it, \
                     e.g. amount > 5 or status == \"done\""
                )))
            }
            other => Ok(Expr::Atom(other)),
        }
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.here());
        };
        let operand = match tok {
            Tok::Num(n) => Operand::Num(n),
            Tok::Str(s) => Operand::Str(s),
            Tok::Bool(b) => Operand::Bool(b),
            Tok::Ident(v) => Operand::Var(v),
            Tok::LParen => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(match self.toks.get(self.pos) {
                        Some(_) => self.here(),
                        None => ConditionError::new(format!(
                            "the condition '{}' has a '(' that is not closed",
                            self.lexer.text.trim()
                        )),
                    });
                }
                // `(x)` is just `x`; only a real boolean expression becomes a group.
                match inner {
                    Expr::Atom(op) => op,
                    e => Operand::Group(Box::new(e)),
                }
            }
            _ => return Err(self.here()),
        };
        self.pos += 1;
        Ok(operand)
    }
}

/// Removes the wrappers modeling tools write: `${…}` / `#{…}` (JUEL) and a
/// leading `=` (FEEL). Returns the byte offset of the rest in `text`, the
/// rest, and whether it is FEEL (where a single `=` means equality).
fn unwrap(text: &str) -> (usize, &str, bool) {
    let trimmed = text.trim();
    let base = text.len() - text.trim_start().len();
    if (trimmed.starts_with("${") || trimmed.starts_with("#{")) && trimmed.ends_with('}') && trimmed.len() >= 3 {
        return (base + 2, &trimmed[2..trimmed.len() - 1], false);
    }
    if let Some(rest) = trimmed.strip_prefix('=') {
        return (base + 1, rest, true);
    }
    (base, trimmed, false)
}

// ---------------------------------------------------------------------------
// Evaluation

/// A resolved operand.
#[derive(Debug, Clone, Copy)]
enum V<'a> {
    Num(f64),
    /// A string literal written in the condition: it may stand for a date.
    Lit(&'a str),
    /// A text, select or user value.
    Text(&'a str),
    Bool(bool),
    Date(Date),
    At(Timestamp),
}

/// How two values relate.
enum Rel {
    Incomparable,
    /// Only equality is defined (booleans).
    Equal(bool),
    Ordered(Ordering),
}

fn relate(l: V<'_>, r: V<'_>) -> Rel {
    use V::*;
    let ord = |o: Option<Ordering>| o.map_or(Rel::Incomparable, Rel::Ordered);
    match (l, r) {
        (Num(a), Num(b)) => ord(a.partial_cmp(&b)),
        (Lit(a) | Text(a), Lit(b) | Text(b)) => Rel::Ordered(a.cmp(b)),
        (Bool(a), Bool(b)) => Rel::Equal(a == b),
        (Date(a), Date(b)) => Rel::Ordered(a.cmp(&b)),
        (Date(a), Lit(s)) => ord(parse_date(s).map(|b| a.cmp(&b))),
        (Lit(s), Date(b)) => ord(parse_date(s).map(|a| a.cmp(&b))),
        (At(a), At(b)) => Rel::Ordered(a.cmp(&b)),
        (At(a), Lit(s)) => ord(parse_datetime(s).map(|(b, _)| a.cmp(&b))),
        (Lit(s), At(b)) => ord(parse_datetime(s).map(|(a, _)| a.cmp(&b))),
        _ => Rel::Incomparable,
    }
}

fn resolve<'a>(op: &'a Operand, data: &'a Data) -> Option<V<'a>> {
    Some(match op {
        Operand::Num(n) => V::Num(*n),
        Operand::Str(s) => V::Lit(s),
        Operand::Bool(b) => V::Bool(*b),
        Operand::Group(e) => V::Bool(eval(e, data)),
        Operand::Var(k) => match data.get(k)? {
            Value::Text(s) | Value::User(s) => V::Text(s),
            Value::Number(n) => V::Num(*n),
            Value::Bool(b) => V::Bool(*b),
            Value::Date(d) => V::Date(*d),
            Value::DateTime(ts, _) => V::At(*ts),
        },
    })
}

fn eval(e: &Expr, data: &Data) -> bool {
    match e {
        Expr::Or(parts) => parts.iter().any(|p| eval(p, data)),
        Expr::And(parts) => parts.iter().all(|p| eval(p, data)),
        Expr::Not(inner) => !eval(inner, data),
        Expr::Atom(op) => matches!(resolve(op, data), Some(V::Bool(true))),
        Expr::Cmp(l, op, r) => {
            let rel = match (resolve(l, data), resolve(r, data)) {
                (Some(l), Some(r)) => relate(l, r),
                _ => Rel::Incomparable,
            };
            match rel {
                Rel::Incomparable => *op == CmpOp::Ne,
                Rel::Equal(eq) => match op {
                    CmpOp::Eq => eq,
                    CmpOp::Ne => !eq,
                    _ => false,
                },
                Rel::Ordered(o) => op.holds(o),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Variables and checks

fn collect_uses(e: &Expr, out: &mut Vec<(String, VarUse)>) {
    match e {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().for_each(|p| collect_uses(p, out)),
        Expr::Not(inner) => collect_uses(inner, out),
        Expr::Atom(op) => match op {
            Operand::Var(v) => out.push((v.clone(), VarUse::Boolean)),
            Operand::Group(g) => collect_uses(g, out),
            _ => {}
        },
        Expr::Cmp(l, _, r) => {
            for (side, other) in [(l, r), (r, l)] {
                match side {
                    Operand::Var(v) => out.push((v.clone(), other.use_for_other_side())),
                    Operand::Group(g) => collect_uses(g, out),
                    _ => {}
                }
            }
        }
    }
}

/// The kinds of item that compare with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Textual,
    Boolean,
    Date,
    DateTime,
}

fn kind(t: DataType) -> Kind {
    match t {
        DataType::Number => Kind::Number,
        DataType::String | DataType::Text | DataType::Select | DataType::User => Kind::Textual,
        DataType::Boolean => Kind::Boolean,
        DataType::Date => Kind::Date,
        DataType::DateTime => Kind::DateTime,
    }
}

fn item_is(item: &DataItemDef) -> String {
    format!("'{}' is a {} item", item.key, item.data_type.as_str())
}

/// Checks one comparison of a declared item with a literal (or a group).
fn check_against(item: &DataItemDef, op: CmpOp, other: &Operand) -> Result<(), ConditionError> {
    let refuse = |hint: &str| {
        Err(ConditionError::new(format!("{}; it cannot be compared with {}: {hint}", item_is(item), other.describe())))
    };
    match (kind(item.data_type), other) {
        (_, Operand::Var(_)) => Ok(()),
        (Kind::Number, Operand::Num(_)) => Ok(()),
        (Kind::Number, _) => refuse("compare it with a number, e.g. > 5"),
        (Kind::Boolean, Operand::Bool(_) | Operand::Group(_)) if op.is_equality() => Ok(()),
        (Kind::Boolean, Operand::Bool(_) | Operand::Group(_)) => Err(ConditionError::new(format!(
            "{}; it can only be compared with == or !=, not {}",
            item_is(item),
            op.as_str()
        ))),
        (Kind::Boolean, _) => refuse("compare it with true or false"),
        (Kind::Textual, Operand::Str(s)) => {
            if op.is_equality() && item.data_type == DataType::Select && !item.options.iter().any(|o| o == s) {
                return Err(ConditionError::new(format!(
                    "{} and \"{s}\" is not one of its options ({})",
                    item_is(item),
                    item.options.join(", ")
                )));
            }
            if op.is_equality() && item.data_type == DataType::User {
                crate::Login::parse(s).map_err(|e| ConditionError::new(format!("{}: {e}", item_is(item))))?;
            }
            Ok(())
        }
        (Kind::Textual, _) => refuse("compare it with a string in quotes, e.g. == \"done\""),
        (Kind::Date, Operand::Str(s)) if parse_date(s).is_some() => Ok(()),
        (Kind::Date, _) => refuse("compare it with a date written \"YYYY-MM-DD\", e.g. >= \"2026-03-28\""),
        (Kind::DateTime, Operand::Str(s)) if parse_datetime(s).is_some() => Ok(()),
        (Kind::DateTime, _) => {
            refuse("compare it with an RFC 3339 date-time with a UTC offset, e.g. < \"2026-03-28T09:30:00+01:00\"")
        }
    }
}

fn check_expr(e: &Expr, items: &[DataItemDef]) -> Result<(), ConditionError> {
    let declared = |op: &Operand| match op {
        Operand::Var(v) => items.iter().find(|i| &i.key == v),
        _ => None,
    };
    match e {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().try_for_each(|p| check_expr(p, items)),
        Expr::Not(inner) => check_expr(inner, items),
        Expr::Atom(op) => {
            if let Operand::Group(g) = op {
                return check_expr(g, items);
            }
            match declared(op) {
                Some(item) if item.data_type != DataType::Boolean => Err(ConditionError::new(format!(
                    "{}, so it cannot be a condition on its own: compare it with == != < <= > or >=",
                    item_is(item)
                ))),
                _ => Ok(()),
            }
        }
        Expr::Cmp(l, op, r) => {
            for side in [l, r] {
                if let Operand::Group(g) = side {
                    check_expr(g, items)?;
                }
            }
            match (declared(l), declared(r)) {
                (Some(a), Some(b)) => {
                    // An implicit item's type is only a guess: don't refuse on it.
                    if a.implicit || b.implicit {
                        return Ok(());
                    }
                    if kind(a.data_type) != kind(b.data_type) {
                        return Err(ConditionError::new(format!(
                            "{} and '{}' is a {} item: they cannot be compared",
                            item_is(a),
                            b.key,
                            b.data_type.as_str()
                        )));
                    }
                    if kind(a.data_type) == Kind::Boolean && !op.is_equality() {
                        return Err(ConditionError::new(format!(
                            "'{}' and '{}' are boolean items; they can only be compared with == or !=, not {}",
                            a.key,
                            b.key,
                            op.as_str()
                        )));
                    }
                    Ok(())
                }
                (Some(a), None) => check_against(a, *op, r),
                (None, Some(b)) => check_against(b, *op, l),
                (None, None) => Ok(()),
            }
        }
    }
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let (base, src, feel) = unwrap(text);
        if src.trim().is_empty() {
            return Err(ConditionError::new("the condition is empty"));
        }
        let lexer = Lexer { text, base, src, feel };
        let toks = lexer.tokens()?;
        let mut parser = Parser { lexer: &lexer, toks, pos: 0, depth: 0 };
        let expr = parser.or()?;
        if parser.pos < parser.toks.len() {
            return Err(parser.here());
        }
        Ok(Condition { text: text.to_owned(), expr })
    }

    /// The variables it uses, each once, in order of first use, with how it is used.
    /// A variable used in several ways is reported with its first typed use
    /// (see [`Condition::variable_uses`] to find conflicts).
    pub fn variables(&self) -> Vec<(String, VarUse)> {
        let mut out: Vec<(String, VarUse)> = Vec::new();
        for (name, used) in self.variable_uses() {
            match out.iter_mut().find(|(n, _)| *n == name) {
                None => out.push((name, used)),
                Some((_, seen)) => {
                    if *seen == VarUse::Unknown {
                        *seen = used;
                    }
                }
            }
        }
        out
    }

    /// Every use of a variable, in order, repeats included.
    pub fn variable_uses(&self) -> Vec<(String, VarUse)> {
        let mut out = Vec::new();
        collect_uses(&self.expr, &mut out);
        out
    }

    /// Checks the condition against the model's items (types of comparisons).
    /// Variables that are not items are not errors here.
    pub fn check(&self, items: &[DataItemDef]) -> Result<(), ConditionError> {
        check_expr(&self.expr, items)
    }

    /// Evaluates against instance data. A missing value makes a comparison false.
    pub fn eval(&self, data: &Data) -> bool {
        eval(&self.expr, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn cond(text: &str) -> Condition {
        match Condition::parse(text) {
            Ok(c) => c,
            Err(e) => panic!("{text:?} should parse: {e}"),
        }
    }

    fn err(text: &str) -> String {
        match Condition::parse(text) {
            Ok(c) => panic!("{text:?} should be refused, got {c:?}"),
            Err(e) => e.message,
        }
    }

    fn data(pairs: &[(&str, Value)]) -> Data {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn item(key: &str, t: DataType) -> DataItemDef {
        DataItemDef {
            key: key.into(),
            label: key.into(),
            data_type: t,
            required: false,
            options: if t == DataType::Select { vec!["red".into(), "green".into()] } else { vec![] },
            implicit: false,
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn juel_string_equality() {
        let c = cond("${variable == 'gotoA'}");
        assert_eq!(c.text, "${variable == 'gotoA'}");
        assert_eq!(c.variables(), vec![("variable".to_owned(), VarUse::String)]);
        assert!(c.eval(&data(&[("variable", text("gotoA"))])));
        assert!(!c.eval(&data(&[("variable", text("gotoB"))])));
        assert!(!c.eval(&Data::new()));
    }

    #[test]
    fn capitalised_booleans() {
        let c = cond("skipParallel == False");
        assert_eq!(c.variables(), vec![("skipParallel".to_owned(), VarUse::Boolean)]);
        assert!(c.eval(&data(&[("skipParallel", Value::Bool(false))])));
        assert!(!c.eval(&data(&[("skipParallel", Value::Bool(true))])));
        assert!(!c.eval(&Data::new()));
        assert!(cond("skipParallel == True").eval(&data(&[("skipParallel", Value::Bool(true))])));
        assert!(cond("x == TRUE").eval(&data(&[("x", Value::Bool(true))])));
    }

    #[test]
    fn feel_with_leading_equals() {
        let c = cond("= amount > 1000");
        assert_eq!(c.variables(), vec![("amount".to_owned(), VarUse::Number)]);
        assert!(c.eval(&data(&[("amount", Value::Number(1000.5))])));
        assert!(!c.eval(&data(&[("amount", Value::Number(1000.0))])));
        // A single `=` is equality in FEEL only.
        assert!(cond("=status = \"done\"").eval(&data(&[("status", text("done"))])));
        assert!(err("status = \"done\"").starts_with("unsupported syntax at '=' (character 8)"));
    }

    #[test]
    fn juel_hash_with_symbols_and_precedence() {
        let c = cond("#{a && !b || c}");
        assert_eq!(
            c.variables(),
            vec![
                ("a".to_owned(), VarUse::Boolean),
                ("b".to_owned(), VarUse::Boolean),
                ("c".to_owned(), VarUse::Boolean)
            ]
        );
        let t = Value::Bool(true);
        let f = Value::Bool(false);
        // (a && !b) || c
        assert!(c.eval(&data(&[("a", t.clone()), ("b", f.clone()), ("c", f.clone())])));
        assert!(!c.eval(&data(&[("a", t.clone()), ("b", t.clone()), ("c", f.clone())])));
        assert!(c.eval(&data(&[("a", f.clone()), ("b", t.clone()), ("c", t.clone())])));
        // A missing b counts as not true.
        assert!(c.eval(&data(&[("a", t.clone())])));
        assert!(!c.eval(&Data::new()));
        // Keywords in any case, and parentheses change grouping.
        let c = cond("a AND (b Or c)");
        assert!(!c.eval(&data(&[("a", t.clone()), ("b", f.clone()), ("c", f.clone())])));
        assert!(c.eval(&data(&[("a", t.clone()), ("b", f), ("c", t.clone())])));
        assert!(cond("NOT not a").eval(&data(&[("a", t)])));
    }

    #[test]
    fn numbers() {
        let c = cond("days > 5");
        assert_eq!(c.variables(), vec![("days".to_owned(), VarUse::Number)]);
        assert!(c.eval(&data(&[("days", Value::Number(6.0))])));
        assert!(!c.eval(&data(&[("days", Value::Number(5.0))])));
        assert!(!c.eval(&data(&[("days", text("6"))])));
        let d = data(&[("x", Value::Number(2.5))]);
        for (t, want) in [
            ("x == 2.5", true),
            ("x != 2.5", false),
            ("x < 3", true),
            ("x <= 2.5", true),
            ("x >= 2.6", false),
            ("x > -3", true),
            ("x>-3", true),
            ("-3 < x", true),
            ("x == -2.5", false),
        ] {
            assert_eq!(cond(t).eval(&d), want, "{t}");
        }
    }

    #[test]
    fn strings_and_users() {
        let d = data(&[("s", text("it's")), ("q", text("say \"hi\"")), ("u", Value::User("alice".into()))]);
        assert!(cond(r"s == 'it\'s'").eval(&d));
        assert!(cond(r#"q == "say \"hi\"""#).eval(&d));
        assert!(cond("u == 'alice'").eval(&d));
        assert!(cond("u != 'bob'").eval(&d));
        assert!(cond("s < 'j'").eval(&d));
        // Two variables of the same kind compare directly.
        let d = data(&[("a", text("x")), ("b", text("x")), ("n", Value::Number(1.0)), ("m", Value::Number(2.0))]);
        assert!(cond("a == b").eval(&d));
        assert!(cond("n < m").eval(&d));
        assert!(!cond("a == n").eval(&d));
        assert!(cond("a != n").eval(&d));
        assert_eq!(
            cond("a == b").variables(),
            vec![("a".to_owned(), VarUse::Unknown), ("b".to_owned(), VarUse::Unknown)]
        );
    }

    #[test]
    fn dates_and_datetimes() {
        let Some((ts, off)) = parse_datetime("2026-03-28T09:30:00+01:00") else { panic!("a valid date-time") };
        let d = data(&[
            ("first_day", Value::Date(date(2026, 3, 29))),
            ("other_day", Value::Date(date(2026, 4, 1))),
            ("handover", Value::DateTime(ts, off)),
        ]);
        assert!(cond("first_day == \"2026-03-29\"").eval(&d));
        assert!(cond("first_day >= '2026-03-29'").eval(&d));
        assert!(cond("first_day < \"2026-04-01\"").eval(&d));
        assert!(cond("\"2026-01-01\" < first_day").eval(&d));
        assert!(!cond("first_day > \"2026-03-29\"").eval(&d));
        assert!(cond("first_day < other_day").eval(&d));
        // Not a date: incomparable.
        assert!(!cond("first_day == \"tomorrow\"").eval(&d));
        assert!(cond("first_day != \"tomorrow\"").eval(&d));
        // Instants compare across offsets.
        assert!(cond("handover == \"2026-03-28T08:30:00Z\"").eval(&d));
        assert!(cond("handover < \"2026-03-28T09:31:00+01:00\"").eval(&d));
        assert!(!cond("handover > \"2026-03-28T10:00:00+01:00\"").eval(&d));
        // A datetime is not a date.
        assert!(!cond("handover == \"2026-03-28\"").eval(&d));
    }

    #[test]
    fn missing_values_and_mismatches() {
        let d = data(&[("b", Value::Bool(true)), ("n", Value::Number(1.0))]);
        for op in ["==", "<", "<=", ">", ">="] {
            assert!(!cond(&format!("missing {op} 1")).eval(&d), "{op}");
            assert!(!cond(&format!("n {op} 'one'")).eval(&d), "{op}");
        }
        assert!(cond("missing != 1").eval(&d));
        assert!(cond("n != 'one'").eval(&d));
        assert!(!cond("missing").eval(&d));
        assert!(cond("not missing").eval(&d));
        // A bare non-boolean is not true.
        assert!(!cond("n").eval(&d));
        assert!(cond("b").eval(&d));
        // Booleans: only == and !=.
        assert!(!cond("b < true").eval(&d));
        assert!(!cond("b >= true").eval(&d));
        assert!(cond("b != false").eval(&d));
        assert!(cond("true").eval(&d));
        assert!(!cond("false").eval(&d));
        // A parenthesised condition compared with a boolean.
        assert!(cond("(n > 0 and b) == true").eval(&d));
        assert!(cond("(n) == 1").eval(&d));
    }

    #[test]
    fn wrappers_and_whitespace() {
        let c = cond("\n   ${ amount >= 10\n and ok }  \n");
        assert!(c.eval(&data(&[("amount", Value::Number(10.0)), ("ok", Value::Bool(true))])));
        assert!(cond("  =\n amount > 1").eval(&data(&[("amount", Value::Number(2.0))])));
    }

    #[test]
    fn any_whitespace_separates_tokens() {
        // Found by fuzzing: "a\u{b}" was accepted (trimmed) while "not (a\u{b})"
        // was refused as "unsupported syntax at ''".
        let d = data(&[("a", Value::Number(2.0))]);
        for ws in ['\u{b}', '\u{a0}', '\u{2003}', '\u{3000}'] {
            let text = format!("not ({ws}a{ws}=={ws}1{ws}){ws}and{ws}a{ws}>{ws}0");
            assert!(cond(&text).eval(&d), "{text:?}");
            assert!(!cond(&format!("not (a{ws})")).eval(&data(&[("a", Value::Bool(true))])), "{ws:?}");
        }
    }

    #[test]
    fn variables_in_first_use_order() {
        let c = cond("a == b or (c > 3 and not d) or a == 'x' or c < 9");
        assert_eq!(
            c.variables(),
            vec![
                ("a".to_owned(), VarUse::String),
                ("b".to_owned(), VarUse::Unknown),
                ("c".to_owned(), VarUse::Number),
                ("d".to_owned(), VarUse::Boolean),
            ]
        );
        let c = cond("x > 1 and x");
        assert_eq!(c.variables(), vec![("x".to_owned(), VarUse::Number)]);
        assert_eq!(c.variable_uses(), vec![("x".to_owned(), VarUse::Number), ("x".to_owned(), VarUse::Boolean)]);
        assert_eq!(cond("5 < y").variables(), vec![("y".to_owned(), VarUse::Number)]);
        assert_eq!(cond("(p or q) == r").variables().last(), Some(&("r".to_owned(), VarUse::Boolean)));
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        assert_eq!(
            err("${var:gt(x, 5)}"),
            "unsupported syntax at 'var:gt(' (character 3): flowcal conditions compare data items with \
             == != < <= > >=, joined by and/or/not"
        );
        assert!(err("foo(1)").starts_with("unsupported syntax at 'foo(' (character 1)"));
        assert!(err("foo (1) == 2").starts_with("unsupported syntax at 'foo' (character 1)"));
        assert!(err("order.total > 5").starts_with("unsupported syntax at 'order.total' (character 1)"));
        assert!(err("a + b > 5").starts_with("unsupported syntax at '+' (character 3)"));
        assert!(err("a - 1 > 5").starts_with("unsupported syntax at '-' (character 3)"));
        assert!(err("a * 2 > 5").starts_with("unsupported syntax at '*'"));
        assert!(err("a & b").starts_with("unsupported syntax at '&'"));
        assert!(err("a eq 5").starts_with("unsupported syntax at 'eq' (character 3)"));
        assert!(err("a == b == c").starts_with("unsupported syntax at '==' (character 8)"));
        assert!(err("x == null").starts_with("unsupported syntax at 'null'"));
        assert!(err("a ? b : c").starts_with("unsupported syntax at '?'"));
        assert!(err("5abc == 1").starts_with("unsupported syntax at '5abc'"));
        assert!(err("a == ä").starts_with("unsupported syntax at 'ä' (character 6)"));
        assert!(err("(a == 1").contains("'(' that is not closed"));
        assert!(err("a ==").contains("ends too early"));
        assert!(err("a == 'open").contains("string starting at character 6 is not closed"));
        assert!(err("5").contains("the number 5 (character 1) is not a condition on its own"));
        assert_eq!(err("   "), "the condition is empty");
        assert_eq!(err("${}"), "the condition is empty");
        assert!(err(&format!("{}a{}", "(".repeat(100), ")".repeat(100))).contains("nested more than 64"));
        assert!(err(&"not ".repeat(100)).contains("nested more than 64"));
    }

    #[test]
    fn check_against_items() {
        let items = [
            item("amount", DataType::Number),
            item("ok", DataType::Boolean),
            item("first_day", DataType::Date),
            item("handover", DataType::DateTime),
            item("status", DataType::String),
            item("color", DataType::Select),
            item("owner", DataType::User),
            item("other_day", DataType::Date),
        ];
        for good in [
            "amount > 5",
            "5 <= amount",
            "ok == false",
            "ok",
            "not ok",
            "first_day >= \"2026-03-28\"",
            "handover < \"2026-03-28T09:30:00+01:00\"",
            "status == 'done'",
            "color == 'red'",
            "owner == 'alice'",
            "first_day < other_day",
            "undeclared == 5 and undeclared2",
            "ok == (amount > 5)",
        ] {
            assert_eq!(cond(good).check(&items), Ok(()), "{good}");
        }
        let refused = |t: &str| match cond(t).check(&items) {
            Ok(()) => panic!("{t} should be refused"),
            Err(e) => e.message,
        };
        assert_eq!(
            refused("amount == 'ten'"),
            "'amount' is a number item; it cannot be compared with the string \"ten\": compare it with a number, e.g. > 5"
        );
        assert_eq!(refused("ok < true"), "'ok' is a boolean item; it can only be compared with == or !=, not <");
        assert!(refused("ok == 1").starts_with("'ok' is a boolean item; it cannot be compared with the number 1"));
        assert!(refused("first_day > 'next week'").starts_with(
            "'first_day' is a date item; it cannot be compared with the string \"next week\": compare it with a date \
             written \"YYYY-MM-DD\""
        ));
        assert!(refused("first_day > '2026-03-28T10:00:00Z'").starts_with("'first_day' is a date item"));
        assert!(refused("handover > '2026-03-28'").starts_with("'handover' is a datetime item"));
        assert!(
            refused("status == 3").starts_with("'status' is a string item; it cannot be compared with the number 3")
        );
        assert_eq!(
            refused("color == 'blue'"),
            "'color' is a select item and \"blue\" is not one of its options (red, green)"
        );
        assert!(refused("owner == 'Bob Smith'").starts_with("'owner' is a user item: 'Bob Smith' is not a valid login"));
        assert!(refused("amount").starts_with("'amount' is a number item, so it cannot be a condition on its own"));
        assert!(refused("amount == first_day").contains("they cannot be compared"));
        assert!(refused("(ok or ok) and 3 < status").starts_with("'status' is a string item"));
        // An implicit item's guessed type does not refuse variable comparisons.
        let mut implicit = item("guess", DataType::String);
        implicit.implicit = true;
        assert_eq!(cond("amount == guess").check(&[items[0].clone(), implicit]), Ok(()));
    }

    #[test]
    fn keys() {
        assert!(is_valid_key("first_day"));
        assert!(is_valid_key("_x1"));
        assert!(!is_valid_key("1x"));
        assert!(!is_valid_key("a-b"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("And"));
        assert!(!is_valid_key("null"));
    }
}
