//! HTTP authentication with a username and password, as a WebDAV server
//! asks for it: Basic (RFC 7617) or Digest (RFC 7616; WebDAV clients must
//! support it, RFC 4918 §20.1).
//!
//! Nothing is sent before the server says what it takes: the first request
//! to a server goes without credentials, and its `401` challenges choose the
//! scheme, the strongest offered (Digest with SHA-256, then Digest with MD5,
//! then Basic). What a server took is kept per origin in [`AuthSchemes`],
//! so later requests carry the credentials at once; a server that asked for
//! Digest only is never sent Basic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use md5::Digest as _;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Url};
use sha2::Digest as _;

/// The most origins whose scheme is kept; past it the list starts again.
const MAX_ORIGINS: usize = 4096;
/// The longest challenge header read; a longer one is not understood.
const MAX_CHALLENGE: usize = 8 * 1024;

/// The scheme a server took, per origin, shared by every connector of one
/// [`crate::caldav::CaldavHttp`].
#[derive(Debug, Clone, Default)]
pub struct AuthSchemes {
    known: Arc<Mutex<HashMap<String, Scheme>>>,
}

/// What a server takes.
#[derive(Debug, Clone)]
pub enum Scheme {
    Basic,
    Digest(Arc<DigestState>),
}

/// A Digest challenge and the count of requests made with its nonce.
#[derive(Debug)]
pub struct DigestState {
    pub challenge: DigestChallenge,
    count: AtomicU32,
}

/// A `Digest` challenge flowcal can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offered `qop=auth`; without it the RFC 2069 form is used.
    pub qop_auth: bool,
    /// The nonce was stale (the credentials were right).
    pub stale: bool,
}

/// Digest's hash algorithms (RFC 7616 §3.2); SHA-512-256 is not offered by
/// the servers flowcal meets and is not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn parse(name: &str) -> Option<Algorithm> {
        [Algorithm::Md5, Algorithm::Md5Sess, Algorithm::Sha256, Algorithm::Sha256Sess]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(md5::Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(sha2::Sha256::digest(data.as_bytes())),
        }
    }

    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }
}

/// The origin a scheme is kept for: scheme, host and port.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl AuthSchemes {
    /// What `url`'s server took last, if it was asked.
    pub fn known(&self, url: &Url) -> Option<Scheme> {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).get(&origin(url)).cloned()
    }

    fn remember(&self, url: &Url, scheme: Scheme) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_ORIGINS {
            known.clear();
        }
        known.insert(origin(url), scheme);
    }

    /// The `Authorization` value for a request to `url`, from what its
    /// server took before; `None` when it was not asked yet.
    pub fn authorization(&self, url: &Url, method: &Method, username: &str, password: &str) -> Option<String> {
        Some(match self.known(url)? {
            Scheme::Basic => basic(username, password),
            Scheme::Digest(state) => state.answer(method, url, username, password),
        })
    }

    /// After a `401` to a request that carried `sent`: the `Authorization`
    /// to send again, when the challenge asks for something else than what
    /// was sent (nothing, another scheme, a new nonce); `None` when what was
    /// sent was refused as it is (the credentials are wrong) or the server
    /// offers nothing flowcal can answer.
    pub fn challenged(
        &self,
        url: &Url,
        headers: &HeaderMap,
        method: &Method,
        sent: Option<&str>,
        username: &str,
        password: &str,
    ) -> Option<String> {
        let offered = strongest(headers)?;
        let again = match (&offered, sent) {
            (_, None) => true,
            (Offer::Basic, Some(s)) => !s.starts_with("Basic "),
            (Offer::Digest(ch), Some(s)) => {
                ch.stale || !s.starts_with("Digest ") || !s.contains(&format!("nonce=\"{}\"", quote(&ch.nonce)))
            }
        };
        let scheme = match offered {
            Offer::Basic => Scheme::Basic,
            Offer::Digest(challenge) => Scheme::Digest(Arc::new(DigestState { challenge, count: AtomicU32::new(0) })),
        };
        self.remember(url, scheme);
        if !again {
            return None;
        }
        self.authorization(url, method, username, password)
    }
}

impl DigestState {
    /// The `Authorization` value for one request (the nonce count goes up).
    fn answer(&self, method: &Method, url: &Url, username: &str, password: &str) -> String {
        let count = self.count.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let cnonce = hex::encode(rand::random::<[u8; 16]>());
        digest_authorization(&self.challenge, method, url, username, password, count, &cnonce)
    }
}

/// `Basic` with `username:password` (UTF-8, RFC 7617 §2.1).
fn basic(username: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// The `Authorization: Digest …` value answering `ch` for one request
/// (RFC 7616 §3.4), with nonce count `count` and client nonce `cnonce`.
pub fn digest_authorization(
    ch: &DigestChallenge,
    method: &Method,
    url: &Url,
    username: &str,
    password: &str,
    count: u32,
    cnonce: &str,
) -> String {
    let uri = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let alg = ch.algorithm;
    let mut ha1 = alg.hash(&format!("{username}:{}:{password}", ch.realm));
    if matches!(alg, Algorithm::Md5Sess | Algorithm::Sha256Sess) {
        ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", ch.nonce));
    }
    let ha2 = alg.hash(&format!("{}:{uri}", method.as_str()));
    let nc = format!("{count:08x}");
    let response = if ch.qop_auth {
        alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", ch.nonce))
    } else {
        alg.hash(&format!("{ha1}:{}:{ha2}", ch.nonce))
    };
    let mut out = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}, response=\"{response}\"",
        quote(username),
        quote(&ch.realm),
        quote(&ch.nonce),
        quote(&uri),
        alg.name()
    );
    if ch.qop_auth {
        out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
    }
    if let Some(opaque) = &ch.opaque {
        out.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
    }
    out
}

/// A quoted-string's content (RFC 9110 §5.6.4).
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A challenge flowcal can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Offer {
    Basic,
    Digest(DigestChallenge),
}

/// The strongest challenge of the answer's `WWW-Authenticate` headers that
/// flowcal can answer: Digest (SHA-256 before MD5), then Basic. A `401`
/// without any challenge (which RFC 9110 §15.5.2 does not allow) is taken
/// as asking for Basic, as clients have always done.
fn strongest(headers: &HeaderMap) -> Option<Offer> {
    if !headers.contains_key(WWW_AUTHENTICATE) {
        return Some(Offer::Basic);
    }
    let mut best: Option<Offer> = None;
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(value) = value.to_str() else { continue };
        if value.len() > MAX_CHALLENGE {
            continue;
        }
        for (scheme, params) in parse_challenges(value) {
            let offer = if scheme.eq_ignore_ascii_case("basic") {
                Offer::Basic
            } else if scheme.eq_ignore_ascii_case("digest") {
                match digest_challenge(&params) {
                    Some(ch) => Offer::Digest(ch),
                    None => continue,
                }
            } else {
                continue;
            };
            let rank = |o: &Offer| match o {
                Offer::Basic => 0,
                Offer::Digest(ch) => ch.algorithm.strength(),
            };
            if best.as_ref().is_none_or(|b| rank(&offer) > rank(b)) {
                best = Some(offer);
            }
        }
    }
    best
}

/// A Digest challenge from its parameters, when flowcal can answer it: an
/// algorithm it knows (MD5 when none is named) and `qop` absent or offering `auth`.
fn digest_challenge(params: &[(String, String)]) -> Option<DigestChallenge> {
    let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let algorithm = match get("algorithm") {
        Some(name) => Algorithm::parse(name)?,
        None => Algorithm::Md5,
    };
    let qop_auth = match get("qop") {
        Some(qop) => {
            if !qop.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
                return None;
            }
            true
        }
        None => false,
    };
    // `userhash=true` asks for a hashed username; flowcal sends it plainly,
    // which RFC 7616 §3.4.4 allows only when it is false: not answered.
    if get("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    Some(DigestChallenge {
        realm: get("realm")?.to_owned(),
        nonce: get("nonce")?.to_owned(),
        opaque: get("opaque").map(str::to_owned),
        algorithm,
        qop_auth,
        stale: get("stale").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// The challenges of one `WWW-Authenticate` value (RFC 9110 §11.6.1):
/// each scheme with its parameters (a token68 is kept as one nameless
/// parameter). Anything malformed ends the list.
fn parse_challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return out;
        }
        let (word, after) = split_token(rest);
        if word.is_empty() {
            return out;
        }
        let after_ws = after.trim_start_matches([' ', '\t']);
        if after_ws.starts_with('=') && !out.is_empty() {
            // A parameter of the current challenge.
            let (value, next) = match parse_value(after_ws[1..].trim_start_matches([' ', '\t'])) {
                Some(v) => v,
                None => return out,
            };
            if let Some((_, params)) = out.last_mut() {
                params.push((word.to_ascii_lowercase(), value));
            }
            rest = next;
        } else {
            // A new challenge: its scheme, then parameters or a token68.
            out.push((word.to_owned(), Vec::new()));
            rest = after;
            let trimmed = rest.trim_start_matches([' ', '\t']);
            let (t68, next) = split_token68(trimmed);
            let next_ws = next.trim_start_matches([' ', '\t']);
            if !t68.is_empty() && (next_ws.is_empty() || next_ws.starts_with(',')) && t68.ends_with('=') {
                if let Some((_, params)) = out.last_mut() {
                    params.push((String::new(), t68.to_owned()));
                }
                rest = next;
            }
        }
        if out.len() > 32 {
            return out;
        }
    }
}

fn split_token(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))).unwrap_or(s.len());
    s.split_at(end)
}

fn split_token68(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c))).unwrap_or(s.len());
    s.split_at(end)
}

/// A parameter's value (a token or a quoted string) and what follows it.
fn parse_value(s: &str) -> Option<(String, &str)> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((out, &body[i + 1..])),
                '\\' => out.push(chars.next()?.1),
                c => out.push(c),
            }
        }
        None
    } else {
        let (token, rest) = split_token(s);
        Some((token.to_owned(), rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_rfc_7616_examples_are_answered_exactly() {
        // RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
        let url = Url::parse("http://www.example.org/dir/index.html").unwrap();
        let mut ch = DigestChallenge {
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm: Algorithm::Sha256,
            qop_auth: true,
            stale: false,
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let sha = digest_authorization(&ch, &Method::GET, &url, "Mufasa", "Circle of Life", 1, cnonce);
        assert!(sha.contains("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""), "{sha}");
        assert!(sha.contains("algorithm=SHA-256"), "{sha}");
        assert!(sha.contains("nc=00000001") && sha.contains("qop=auth"), "{sha}");
        assert!(sha.contains("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""), "{sha}");
        assert!(sha.contains("uri=\"/dir/index.html\""), "{sha}");
        ch.algorithm = Algorithm::Md5;
        let md5 = digest_authorization(&ch, &Method::GET, &url, "Mufasa", "Circle of Life", 1, cnonce);
        assert!(md5.contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""), "{md5}");
        assert!(md5.starts_with("Digest username=\"Mufasa\", realm=\"http-auth@example.org\""), "{md5}");
    }

    #[test]
    fn rfc_2069_digest_without_qop() {
        // RFC 2069 §2.4's example: no qop, no nc, no cnonce.
        let ch = DigestChallenge {
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            opaque: Some("5ccc069c403ebaf9f0171e9517f40e41".into()),
            algorithm: Algorithm::Md5,
            qop_auth: false,
            stale: false,
        };
        let url = Url::parse("http://www.nowhere.org/dir/index.html").unwrap();
        let a = digest_authorization(&ch, &Method::GET, &url, "Mufasa", "CircleOfLife", 1, "x");
        assert!(a.contains("response=\"1949323746fe6a43ef61f9606e7febea\""), "{a}");
        assert!(!a.contains("nc=") && !a.contains("cnonce") && !a.contains("qop"), "{a}");
    }

    #[test]
    fn the_strongest_offer_is_chosen() {
        let both = headers(&[
            "Basic realm=\"x\"",
            "Digest realm=\"x\", nonce=\"n1\", qop=\"auth,auth-int\", algorithm=MD5",
            "Digest realm=\"x\", nonce=\"n2\", qop=\"auth\", algorithm=SHA-256",
        ]);
        match strongest(&both) {
            Some(Offer::Digest(ch)) => assert_eq!((ch.algorithm, ch.nonce.as_str()), (Algorithm::Sha256, "n2")),
            other => panic!("{other:?}"),
        }
        // Several challenges in one header, a comma inside a quoted value.
        let one = headers(&["Basic realm=\"a, b\", Digest realm=\"a, b\", nonce=\"n\\\"3\", opaque=o, stale=TRUE"]);
        match strongest(&one) {
            Some(Offer::Digest(ch)) => {
                assert_eq!(ch.realm, "a, b");
                assert_eq!(ch.nonce, "n\"3");
                assert_eq!(ch.opaque.as_deref(), Some("o"));
                assert!(ch.stale && !ch.qop_auth && ch.algorithm == Algorithm::Md5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(strongest(&headers(&["Basic realm=\"x\""])), Some(Offer::Basic));
        assert_eq!(strongest(&headers(&["Bearer realm=\"x\"", "Negotiate abc=="])), None);
        // Only what cannot be answered: auth-int, an unknown algorithm, userhash, no nonce.
        for v in [
            "Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"",
            "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256",
            "Digest realm=\"x\", nonce=\"n\", userhash=true",
            "Digest realm=\"x\"",
        ] {
            assert_eq!(strongest(&headers(&[v])), None, "{v}");
        }
        // Malformed or hostile values end the list, never panic.
        for v in ["Digest realm=\"unterminated", "=,=,=", "Digest ,,,,", &"Digest a=b, ".repeat(5000)] {
            let _ = strongest(&headers(&[v]));
        }
    }

    #[test]
    fn credentials_are_sent_again_only_for_a_new_challenge() {
        let schemes = AuthSchemes::default();
        let url = Url::parse("http://dav.example:8080/cal/").unwrap();
        let other = Url::parse("http://dav.example:8081/cal/").unwrap();
        assert!(schemes.authorization(&url, &Method::GET, "u", "p").is_none(), "nothing before the server asks");
        let digest = headers(&["Digest realm=\"r\", nonce=\"n1\", qop=\"auth\""]);
        let first = schemes.challenged(&url, &digest, &Method::GET, None, "u", "p").unwrap();
        assert!(first.starts_with("Digest ") && first.contains("nc=00000001"), "{first}");
        // Known from now on, for this origin only; the count goes up.
        let next = schemes.authorization(&url, &Method::PUT, "u", "p").unwrap();
        assert!(next.contains("nc=00000002"), "{next}");
        assert!(schemes.authorization(&other, &Method::GET, "u", "p").is_none());
        // The same challenge again: what was sent is refused as it is.
        assert_eq!(schemes.challenged(&url, &digest, &Method::GET, Some(&next), "u", "p"), None);
        // A new nonce, or a stale one: sent again.
        let renewed = headers(&["Digest realm=\"r\", nonce=\"n2\", qop=\"auth\""]);
        let again = schemes.challenged(&url, &renewed, &Method::GET, Some(&next), "u", "p").unwrap();
        assert!(again.contains("nonce=\"n2\"") && again.contains("nc=00000001"), "{again}");
        let stale = headers(&["Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", stale=true"]);
        assert!(schemes.challenged(&url, &stale, &Method::GET, Some(&again), "u", "p").is_some());
        // Basic refused as sent: not again. Basic after Digest: sent.
        let basic_only = headers(&["Basic realm=\"r\""]);
        let b = schemes.challenged(&url, &basic_only, &Method::GET, Some(&again), "u", "p").unwrap();
        assert_eq!(b, "Basic dTpw");
        assert_eq!(schemes.challenged(&url, &basic_only, &Method::GET, Some(&b), "u", "p"), None);
        // Nothing flowcal can answer: nothing sent.
        assert_eq!(schemes.challenged(&other, &headers(&["Bearer"]), &Method::GET, None, "u", "p"), None);
        // No challenge at all: Basic, once.
        let b = schemes.challenged(&other, &HeaderMap::new(), &Method::GET, None, "u", "p").unwrap();
        assert_eq!(b, "Basic dTpw");
        assert_eq!(schemes.challenged(&other, &HeaderMap::new(), &Method::GET, Some(&b), "u", "p"), None);
    }
}
