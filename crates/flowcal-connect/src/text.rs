//! Small text routines that several crates need, each written once:
//! percent-encoding and -decoding, form encoding, and comparing secrets in
//! constant time. They sit here because flowcal-connect is the lowest crate
//! that every user (the connectors, the OAuth client, the web layer) depends
//! on. Thin wrappers over `percent-encoding`, `form_urlencoded` and `subtle`;
//! nothing here may log or keep what it is given.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// As [`NOT_UNRESERVED`], but `/` stays.
const NOT_UNRESERVED_OR_SLASH: &AsciiSet = &NOT_UNRESERVED.remove(b'/');

/// Percent-encodes everything but RFC 3986's unreserved characters (so a
/// space is `%20`, never `+`): safe as a path segment or a query value.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// As [`percent_encode`], but `/` stays: a local path carried in a query
/// value (`?next=/tasks/5`) stays readable.
pub fn percent_encode_path(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED_OR_SLASH).to_string()
}

/// `application/x-www-form-urlencoded` encoding of one value (a space is
/// `+`; `*` stays): what RFC 6749 §2.3.1 asks for client credentials.
pub fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Undoes percent-encoding. A `%` not followed by two hex digits stays as it
/// is; bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only
/// (for tokens and other secrets compared with what a caller sent).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encode_keeps_only_unreserved() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a b+c/d'e%f"), "a%20b%2Bc%2Fd%27e%25f");
        assert_eq!(percent_encode("Café ✓"), "Caf%C3%A9%20%E2%9C%93");
        assert_eq!(percent_encode("\u{0}\n*"), "%00%0A%2A");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn percent_encode_path_keeps_slashes() {
        assert_eq!(percent_encode_path("/tasks/5?show=soon"), "/tasks/5%3Fshow%3Dsoon");
        assert_eq!(percent_encode_path("//evil example"), "//evil%20example");
        assert_eq!(percent_encode_path("a~b\\c"), "a~b%5Cc");
    }

    #[test]
    fn form_encode_is_x_www_form_urlencoded() {
        assert_eq!(form_encode("a b+c:d"), "a+b%2Bc%3Ad");
        assert_eq!(form_encode("AZaz09-._*"), "AZaz09-._*");
        assert_eq!(form_encode("~/é%"), "%7E%2F%C3%A9%25");
    }

    #[test]
    fn percent_decode_undoes_the_encoders() {
        for s in ["", "plain", "a b+c/d'e%f", "Completed: <b>Q1</b>; \"x\", 50% — ✓", "\u{0}\r\n", "100%"] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
            assert_eq!(percent_decode(&percent_encode_path(s)), s);
        }
        assert_eq!(percent_decode("Caf%c3%A9"), "Café", "either case of hex digits");
        assert_eq!(percent_decode("a+b"), "a+b", "a plus is not a space outside form bodies");
    }

    #[test]
    fn percent_decode_leaves_broken_escapes() {
        for s in ["100%", "a%2", "%zz", "%+5", "%-1", "% 1", "%4"] {
            assert_eq!(percent_decode(s), s, "{s:?}");
        }
        assert_eq!(percent_decode("%%41"), "%A", "a stray % before an escape");
        assert_eq!(percent_decode("%FF%C3"), "\u{FFFD}\u{FFFD}", "bytes that are not UTF-8");
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"s3cret-token", b"s3cret-token"));
        assert!(!constant_time_eq(b"s3cret-token", b"s3cret-tokeN"), "last byte");
        assert!(!constant_time_eq(b"s3cret-token", b"S3cret-token"), "first byte");
        assert!(!constant_time_eq(b"s3cret", b"s3cret-token"), "a prefix");
        assert!(!constant_time_eq(b"s3cret-token", b""), "empty");
    }
}
