//! OpenID Connect ID token validation (OIDC Core §3.1.3.7) against the
//! provider's JSON Web Key Set.
//!
//! Only compact JWS tokens signed with an asymmetric algorithm are accepted:
//! RS256/384/512, PS256/384/512, ES256 and ES384. `none`, the HMAC family,
//! EdDSA and encrypted tokens (JWE) are refused. Keys come only from the
//! provider's key set; keys or key URLs in the token header (`jwk`, `jku`,
//! `x5u`, `x5c`) are never used. Error messages are meant for an
//! administrator and never contain the token.
//!
//! Who checks what:
//!
//! - [`jsonwebtoken`] (RustCrypto backend) does the JWS: strict unpadded
//!   base64url parts, the header (a `crit` extension it does not implement
//!   refuses the token), the header's `alg` must be the one asked for and fit
//!   the key's family, the signature, and only then the payload. It also
//!   checks `aud`: present, a string or an array of strings, and naming the
//!   client. Its `jwk` module reads the key set's entries.
//! - This module keeps, by hand, what the crate cannot do:
//!   - the time claims `exp`, `iat` and `nbf`, with leeway, against the `now`
//!     the caller passes: the crate reads the system clock and takes no time,
//!     while flowcal passes time in (its integration tests move the app's
//!     clock, and an ID token must be judged by that clock);
//!   - `iss`: Microsoft's multi-tenant issuer is a template completed with
//!     the token's own `tid`, and the crate compares only with fixed strings
//!     (it also takes an array `iss` when one member matches; OIDC wants one
//!     string, which the claim type here enforces);
//!   - the OpenID claims the crate does not know: `azp` (§3.1.3.7 items 4
//!     and 5), `nonce` (compared in constant time) and a non-empty `sub`;
//!   - choosing the key: by `kid`, by the key's own `alg` and `use`, trying
//!     every fitting key when the token names none (the crate verifies with
//!     one given key);
//!   - the allow-list of algorithms (so a refusal names the algorithm), the
//!     sizes and curves of keys (RSA 2048 to 8192 bits, P-256 or P-384),
//!     a length cap on the token, and base64url in key sets with padding
//!     tolerated, as some providers write it.

use crate::text::constant_time_eq;
use std::collections::HashSet;
use std::str::FromStr;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Tokens longer than this are refused before any decoding.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Claim values quoted in error messages are cut to this many characters.
const MAX_QUOTED_LEN: usize = 200;

/// The signature algorithms accepted (all asymmetric).
const ACCEPTED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Base64url as used in key sets: padding tolerated (some providers emit it),
/// the alphabet still strict.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an ID token (or a key set) was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    #[error(
        "the ID token uses the signature algorithm {0}, which is not accepted \
         (accepted: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384)"
    )]
    UnsupportedAlgorithm(String),
    #[error(
        "no key in the provider's key set (JWKS) matches the ID token's key id and algorithm \
         (the provider may have rotated its keys)"
    )]
    UnknownKey,
    #[error("the ID token's signature does not verify against the provider's keys")]
    BadSignature,
    #[error("the ID token was issued by {found} but {expected} was expected")]
    Issuer { expected: String, found: String },
    #[error("the ID token is not meant for this client: its audience (aud) does not include the client id")]
    Audience,
    #[error("the ID token's authorized party (azp) is missing or is not this client's id")]
    AuthorizedParty,
    #[error("the ID token has expired (if this happens for every sign-in, check the server's clock)")]
    Expired,
    /// Its `iat` or its `nbf` lies in the future, beyond the leeway.
    #[error("the ID token claims to be issued in the future (check the server's clock)")]
    IssuedInFuture,
    #[error("the ID token's nonce does not match the one sent with the sign-in request")]
    Nonce,
    #[error("the ID token lacks the required `{0}` claim")]
    MissingClaim(&'static str),
}

/// Which issuer is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// The `iss` claim must equal this string exactly.
    Exact(String),
    /// Microsoft multi-tenant: `https://login.microsoftonline.com/{tenantid}/v2.0`
    /// where {tenantid} must equal the token's `tid` claim.
    TenantTemplate(String),
}

/// What the token must say for it to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub issuer: &'a Issuer,
    pub client_id: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// Unix seconds.
    pub now: i64,
    /// Allowed clock skew in seconds (e.g. 120).
    pub leeway: i64,
}

/// The claims of a validated ID token (`aud` and `azp` are checked, not returned).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub iat: Option<i64>,
    pub nonce: Option<String>,
    /// Google Workspace hosted domain.
    pub hd: Option<String>,
    /// Microsoft tenant id.
    pub tid: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
}

/// A JSON Web Key Set (RFC 7517) as served at a provider's jwks_uri.
///
/// Only signature keys usable with the accepted algorithms are kept: RSA keys
/// of 2048 to 8192 bits and EC keys on P-256 or P-384. Other keys (`oct`,
/// `OKP`, other curves, `use: enc`, malformed entries) are skipped.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<Key>,
}

#[derive(Debug, Clone)]
struct Key {
    kid: Option<String>,
    /// The algorithm the set restricts the key to, when it does.
    alg: Option<KeyAlgorithm>,
    kind: KeyKind,
    decoding: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl KeyKind {
    fn of(alg: Algorithm) -> KeyKind {
        match alg {
            Algorithm::ES256 => KeyKind::P256,
            Algorithm::ES384 => KeyKind::P384,
            // Only accepted algorithms get here: the rest are RS* and PS*.
            _ => KeyKind::Rsa,
        }
    }
}

impl Jwks {
    /// Parses a key set. Fails only when the document is not a key set at all;
    /// individual keys that cannot be used are skipped (and logged).
    pub fn parse(json: &[u8]) -> Result<Jwks, JwtError> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set = serde_json::from_slice(json).map_err(|e| {
            JwtError::Malformed(format!("the provider's key set (JWKS) is not a JSON object with a `keys` array: {e}"))
        })?;
        let mut keys = Vec::with_capacity(set.keys.len());
        for (index, entry) in set.keys.into_iter().enumerate() {
            let kid = entry.get("kid").and_then(Value::as_str).map(quote).unwrap_or_default();
            let usable = serde_json::from_value::<Jwk>(entry).map_err(|e| e.to_string()).and_then(|jwk| Key::of(&jwk));
            match usable {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(reason) => {
                    tracing::warn!(index, kid = %kid, "skipping unusable key in the provider's JWKS: {reason}");
                }
            }
        }
        Ok(Jwks { keys })
    }

    /// Whether a usable key with this `kid` is in the set.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

impl Key {
    /// `Ok(None)`: a key of a kind this module does not use (not an error).
    /// `Err`: a key that claims to be usable but is broken.
    fn of(jwk: &Jwk) -> Result<Option<Key>, String> {
        if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
            return Ok(None);
        }
        let (kind, decoding) = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = strip_leading_zeros(key_bytes(&rsa.n, "n")?);
                let e = strip_leading_zeros(key_bytes(&rsa.e, "e")?);
                if e.is_empty() || e.len() > 4 {
                    return Err("the RSA exponent `e` is out of range".to_owned());
                }
                if n.len() < 256 || n.len() > 1024 {
                    return Err(format!("the RSA modulus has {} bits; 2048 to 8192 are accepted", n.len() * 8));
                }
                (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                let (kind, len) = match ec.curve {
                    EllipticCurve::P256 => (KeyKind::P256, 32),
                    EllipticCurve::P384 => (KeyKind::P384, 48),
                    _ => return Ok(None),
                };
                if key_bytes(&ec.x, "x")?.len() != len || key_bytes(&ec.y, "y")?.len() != len {
                    return Err(format!("the EC coordinates must be {len} bytes each"));
                }
                // Padding is all the crate's strict decoder would refuse.
                let decoding = DecodingKey::from_ec_components(ec.x.trim_end_matches('='), ec.y.trim_end_matches('='))
                    .map_err(|e| format!("the EC coordinates: {e}"))?;
                (kind, decoding)
            }
            _ => return Ok(None),
        };
        Ok(Some(Key { kid: jwk.common.key_id.clone(), alg: jwk.common.key_algorithm, kind, decoding }))
    }

    /// Whether this key may verify a token with this `kid` and `alg`.
    fn fits(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        kid.is_none_or(|kid| self.kid.as_deref() == Some(kid))
            && self.alg.is_none_or(|a| a == KeyAlgorithm::from(alg))
            && self.kind == KeyKind::of(alg)
    }
}

fn key_bytes(text: &str, name: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_LENIENT.decode(text).map_err(|_| format!("`{name}` is not base64url"))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// What this module reads from the header before the crate sees the token.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

impl Header {
    fn of(token: &str) -> Result<Header, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed(format!("it is longer than {MAX_TOKEN_LEN} bytes")));
        }
        match token.split('.').count() {
            3 => {}
            5 => return Err(JwtError::Malformed("it is encrypted (JWE), which is not supported".to_owned())),
            n => return Err(JwtError::Malformed(format!("it has {n} dot-separated parts instead of 3"))),
        }
        let encoded = token.split('.').next().unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| {
            JwtError::Malformed(if encoded.contains('=') {
                "the header is base64 with padding, which JWS forbids".to_owned()
            } else {
                "the header is not unpadded base64url".to_owned()
            })
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| JwtError::Malformed(format!("the header is not a JSON object with a string `alg` ({e})")))
    }

    fn alg(&self) -> Result<Algorithm, JwtError> {
        Algorithm::from_str(&self.alg)
            .ok()
            .filter(|alg| ACCEPTED.contains(alg))
            .ok_or_else(|| JwtError::UnsupportedAlgorithm(quote(&self.alg)))
    }
}

/// The `kid` in a token's header, if any (the caller refetches the JWKS once
/// when it is unknown).
pub fn header_kid(token: &str) -> Result<Option<String>, JwtError> {
    Ok(Header::of(token)?.kid)
}

/// Validates an ID token per OIDC Core §3.1.3.7 and returns its claims.
pub fn validate_id_token(token: &str, jwks: &Jwks, expect: &Expect<'_>) -> Result<IdClaims, JwtError> {
    let header = Header::of(token)?;
    let alg = header.alg()?;
    // Named, not left to the crate's features: should another crate in the
    // build enable its aws-lc backend too, the crate would have no default
    // and panic. Installing twice is refused harmlessly.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let mut validation = Validation::new(alg);
    // The time claims are checked below, against the caller's clock.
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::from(["aud".to_owned()]);
    validation.set_audience(&[expect.client_id]);

    let mut tried = false;
    for key in jwks.keys.iter().filter(|k| k.fits(header.kid.as_deref(), alg)) {
        tried = true;
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation) {
            Ok(data) => return check_claims(data.claims, expect),
            // Without a kid, the next fitting key may be the one.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
            Err(e) => return Err(refusal(&e)),
        }
    }
    Err(if tried { JwtError::BadSignature } else { JwtError::UnknownKey })
}

/// The crate's refusal of a token in this module's terms.
fn refusal(e: &jsonwebtoken::errors::Error) -> JwtError {
    match e.kind() {
        ErrorKind::InvalidAudience => JwtError::Audience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => JwtError::MissingClaim("aud"),
        ErrorKind::InvalidClaimFormat(claim) => {
            JwtError::Malformed(format!("the `{}` claim has the wrong type", quote(claim)))
        }
        ErrorKind::InvalidToken => JwtError::Malformed(
            "the header lists critical extensions (`crit`) or asks for an unencoded payload, which are not supported"
                .to_owned(),
        ),
        ErrorKind::Base64(_) => JwtError::Malformed("a part is not unpadded base64url".to_owned()),
        ErrorKind::Json(e) => JwtError::Malformed(format!("the header or payload is not the expected JSON ({e})")),
        _ => JwtError::Malformed(format!("it was refused: {e}")),
    }
}

/// The claims this module reads. Their types are checked while the crate
/// decodes, so a claim of the wrong type refuses the token.
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    /// Its type, and that it names the client, the crate checks; only how
    /// many audiences it lists matters here.
    aud: Option<Value>,
    azp: Option<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    nonce: Option<String>,
    hd: Option<String>,
    tid: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: Option<bool>,
    name: Option<String>,
    preferred_username: Option<String>,
}

/// A NumericDate in whole seconds; a fractional value is rounded down.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    // `as` saturates for out-of-range floats.
    let seconds = n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64));
    seconds.map(Some).ok_or_else(|| serde::de::Error::custom("a time claim is not a usable number of seconds"))
}

/// Some providers send `email_verified` as "true" / "false".
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrText {
        Bool(bool),
        Text(String),
    }
    match Option::<BoolOrText>::deserialize(d)? {
        None => Ok(None),
        Some(BoolOrText::Bool(b)) => Ok(Some(b)),
        Some(BoolOrText::Text(t)) if t == "true" => Ok(Some(true)),
        Some(BoolOrText::Text(t)) if t == "false" => Ok(Some(false)),
        Some(BoolOrText::Text(_)) => Err(serde::de::Error::custom("`email_verified` is neither true nor false")),
    }
}

/// The checks the crate cannot make (see the module doc); `aud` and the
/// signature are already checked.
fn check_claims(c: Claims, expect: &Expect<'_>) -> Result<IdClaims, JwtError> {
    let leeway = expect.leeway.max(0);

    let iss = c.iss.ok_or(JwtError::MissingClaim("iss"))?;
    let expected_iss = match expect.issuer {
        Issuer::Exact(iss) => iss.clone(),
        Issuer::TenantTemplate(template) => {
            let tid = c.tid.as_deref().ok_or(JwtError::MissingClaim("tid"))?;
            if tid.is_empty() || !tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
                return Err(JwtError::Malformed(format!("the tenant id (tid) {} is not plausible", quote(tid))));
            }
            template.replace("{tenantid}", tid)
        }
    };
    if iss != expected_iss {
        return Err(JwtError::Issuer { expected: expected_iss, found: quote(&iss) });
    }

    // Several audiences need an azp; an azp must be this client.
    let audiences = match &c.aud {
        Some(Value::Array(auds)) => auds.len(),
        Some(_) => 1,
        None => 0,
    };
    if (audiences > 1 && c.azp.is_none()) || c.azp.as_deref().is_some_and(|azp| azp != expect.client_id) {
        return Err(JwtError::AuthorizedParty);
    }

    let exp = c.exp.ok_or(JwtError::MissingClaim("exp"))?;
    if expect.now > exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    let not_before = [c.iat, c.nbf].into_iter().flatten().max();
    if not_before.is_some_and(|t| t > expect.now.saturating_add(leeway)) {
        return Err(JwtError::IssuedInFuture);
    }

    let nonce = c.nonce.ok_or(JwtError::MissingClaim("nonce"))?;
    if expect.nonce.is_empty() || !constant_time_eq(nonce.as_bytes(), expect.nonce.as_bytes()) {
        return Err(JwtError::Nonce);
    }

    let sub = c.sub.filter(|s| !s.is_empty()).ok_or(JwtError::MissingClaim("sub"))?;

    Ok(IdClaims {
        iss,
        sub,
        exp,
        iat: c.iat,
        nonce: Some(nonce),
        hd: c.hd,
        tid: c.tid,
        email: c.email,
        email_verified: c.email_verified,
        name: c.name,
        preferred_username: c.preferred_username,
    })
}

/// A token-supplied string made safe to show: control characters escaped and
/// the length bounded.
fn quote(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_QUOTED_LEN).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX_QUOTED_LEN).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{
        self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const CLIENT: &str = "client-1";
    const NONCE: &str = "n-0S6_WzA2Mj";
    const ISS: &str = "https://issuer.example";
    const RSA_KEY: &[u8] = include_bytes!("testdata/rsa2048_test_key.pk8.der");

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    enum Signer<'k> {
        Rsa(&'k RsaKeyPair, &'static dyn signature::RsaEncoding),
        Ec(&'k EcdsaKeyPair),
    }

    fn sign(signer: &Signer<'_>, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let sig = match signer {
            Signer::Rsa(kp, encoding) => {
                let mut sig = vec![0; kp.public().modulus_len()];
                kp.sign(*encoding, &rng, input.as_bytes(), &mut sig).unwrap();
                sig
            }
            Signer::Ec(kp) => kp.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{input}.{}", b64(&sig))
    }

    fn rsa_key() -> RsaKeyPair {
        RsaKeyPair::from_pkcs8(RSA_KEY).unwrap()
    }

    fn rsa_jwk(kp: &RsaKeyPair, kid: &str) -> Value {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
        json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&public.n), "e": b64(&public.e)})
    }

    fn ec_key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn ec_jwk(kp: &EcdsaKeyPair, kid: Option<&str>) -> Value {
        let point = kp.public_key().as_ref();
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 0x04);
        let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    }

    fn jwks(keys: &[Value]) -> Jwks {
        Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": ISS,
            "aud": CLIENT,
            "sub": "alice",
            "exp": NOW + 600,
            "iat": NOW - 5,
            "nonce": NONCE,
            "email": "alice@example.com",
            "email_verified": true,
            "name": "Alice",
        })
    }

    fn validate(token: &str, set: &Jwks, issuer: &Issuer) -> Result<IdClaims, JwtError> {
        validate_id_token(token, set, &Expect { issuer, client_id: CLIENT, nonce: NONCE, now: NOW, leeway: 120 })
    }

    fn exact() -> Issuer {
        Issuer::Exact(ISS.to_owned())
    }

    /// An RS256 setup: the key set and a function signing claims with kid "r1".
    struct Rsa {
        kp: RsaKeyPair,
        set: Jwks,
    }

    impl Rsa {
        fn new() -> Rsa {
            let kp = rsa_key();
            let set = jwks(&[rsa_jwk(&kp, "r1")]);
            Rsa { kp, set }
        }

        fn token(&self, claims: &Value) -> String {
            sign(&Signer::Rsa(&self.kp, &signature::RSA_PKCS1_SHA256), &json!({"alg": "RS256", "kid": "r1"}), claims)
        }

        fn check(&self, claims: &Value) -> Result<IdClaims, JwtError> {
            validate(&self.token(claims), &self.set, &exact())
        }
    }

    /// An ES256 setup with kid "e1" (faster than RSA for the claim checks).
    struct Ec {
        kp: EcdsaKeyPair,
        set: Jwks,
    }

    impl Ec {
        fn new() -> Ec {
            let kp = ec_key();
            let set = jwks(&[ec_jwk(&kp, Some("e1"))]);
            Ec { kp, set }
        }

        fn token_with(&self, header: &Value, claims: &Value) -> String {
            sign(&Signer::Ec(&self.kp), header, claims)
        }

        fn token(&self, claims: &Value) -> String {
            self.token_with(&json!({"alg": "ES256", "kid": "e1", "typ": "JWT"}), claims)
        }

        fn check_with(&self, issuer: &Issuer, claims: &Value) -> Result<IdClaims, JwtError> {
            validate(&self.token(claims), &self.set, issuer)
        }

        fn check(&self, claims: &Value) -> Result<IdClaims, JwtError> {
            self.check_with(&exact(), claims)
        }
    }

    /// Re-encodes the payload with one claim changed, keeping the signature.
    fn tamper(token: &str) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let changed = payload.replace("\"alice\"", "\"alicf\"");
        assert_ne!(payload, changed);
        format!("{}.{}.{}", parts[0], b64(changed.as_bytes()), parts[2])
    }

    #[test]
    fn valid_rs256() {
        let rsa = Rsa::new();
        let got = rsa.check(&claims()).unwrap();
        assert_eq!(got.iss, ISS);
        assert_eq!(got.sub, "alice");
        assert_eq!(got.exp, NOW + 600);
        assert_eq!(got.iat, Some(NOW - 5));
        assert_eq!(got.nonce.as_deref(), Some(NONCE));
        assert_eq!(got.email.as_deref(), Some("alice@example.com"));
        assert_eq!(got.email_verified, Some(true));
        assert_eq!(got.name.as_deref(), Some("Alice"));
        assert_eq!(got.hd, None);
    }

    #[test]
    fn valid_ps256() {
        let rsa = Rsa::new();
        let token =
            sign(&Signer::Rsa(&rsa.kp, &signature::RSA_PSS_SHA256), &json!({"alg": "PS256", "kid": "r1"}), &claims());
        assert_eq!(validate(&token, &rsa.set, &exact()).unwrap().sub, "alice");
        // The same PSS signature presented as RS256 must not verify.
        let parts: Vec<&str> = token.split('.').collect();
        let as_rs256 = format!("{}.{}.{}", b64(br#"{"alg":"RS256","kid":"r1"}"#), parts[1], parts[2]);
        assert!(matches!(validate(&as_rs256, &rsa.set, &exact()), Err(JwtError::BadSignature)));
    }

    #[test]
    fn valid_es256() {
        let ec = Ec::new();
        let got = ec.check(&claims()).unwrap();
        assert_eq!(got.sub, "alice");
        assert_eq!(got.email_verified, Some(true));
    }

    #[test]
    fn wrong_signature_rs256() {
        let rsa = Rsa::new();
        let token = tamper(&rsa.token(&claims()));
        assert!(matches!(validate(&token, &rsa.set, &exact()), Err(JwtError::BadSignature)));
    }

    #[test]
    fn wrong_signature_es256() {
        let ec = Ec::new();
        let token = tamper(&ec.token(&claims()));
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::BadSignature)));
    }

    #[test]
    fn alg_none_is_refused() {
        let ec = Ec::new();
        let token = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().to_string().as_bytes()));
        let err = validate(&token, &ec.set, &exact()).unwrap_err();
        assert!(matches!(&err, JwtError::UnsupportedAlgorithm(a) if a == "none"), "{err:?}");
        // Even with some bytes in the signature part.
        let token = format!("{}.{}.AAAA", b64(br#"{"alg":"none","kid":"e1"}"#), b64(claims().to_string().as_bytes()));
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::UnsupportedAlgorithm(_))));
    }

    #[test]
    fn hs256_is_refused() {
        // The classic confusion attack: HMAC keyed with the provider's public key.
        let rsa = Rsa::new();
        let secret = rsa.kp.public().as_ref().to_vec();
        let input = format!("{}.{}", b64(br#"{"alg":"HS256","kid":"r1"}"#), b64(claims().to_string().as_bytes()));
        let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret), input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        let err = validate(&token, &rsa.set, &exact()).unwrap_err();
        assert!(matches!(&err, JwtError::UnsupportedAlgorithm(a) if a == "HS256"), "{err:?}");
    }

    #[test]
    fn crit_header_is_refused() {
        let ec = Ec::new();
        let token = ec.token_with(&json!({"alg": "ES256", "kid": "e1", "crit": ["exp"], "exp": 1}), &claims());
        let err = validate(&token, &ec.set, &exact()).unwrap_err();
        assert!(matches!(&err, JwtError::Malformed(m) if m.contains("crit")), "{err:?}");
    }

    #[test]
    fn unknown_kid() {
        let ec = Ec::new();
        let token = ec.token_with(&json!({"alg": "ES256", "kid": "e2"}), &claims());
        assert_eq!(header_kid(&token).unwrap().as_deref(), Some("e2"));
        assert!(!ec.set.has_kid("e2"));
        assert!(ec.set.has_kid("e1"));
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::UnknownKey)));
    }

    #[test]
    fn kid_only_selects_that_key() {
        // Two keys; the token names the first but was signed by the second.
        let (a, b) = (ec_key(), ec_key());
        let set = jwks(&[ec_jwk(&a, Some("a")), ec_jwk(&b, Some("b"))]);
        let token = sign(&Signer::Ec(&b), &json!({"alg": "ES256", "kid": "a"}), &claims());
        assert!(matches!(validate(&token, &set, &exact()), Err(JwtError::BadSignature)));
        let token = sign(&Signer::Ec(&b), &json!({"alg": "ES256", "kid": "b"}), &claims());
        assert!(validate(&token, &set, &exact()).is_ok());
    }

    #[test]
    fn kid_absent_tries_fitting_keys() {
        let rsa = rsa_key();
        let (a, b, other) = (ec_key(), ec_key(), ec_key());
        let set = jwks(&[rsa_jwk(&rsa, "r1"), ec_jwk(&a, None), ec_jwk(&b, None)]);
        let header = json!({"alg": "ES256"});
        assert_eq!(header_kid(&sign(&Signer::Ec(&b), &header, &claims())).unwrap(), None);
        assert!(validate(&sign(&Signer::Ec(&a), &header, &claims()), &set, &exact()).is_ok());
        assert!(validate(&sign(&Signer::Ec(&b), &header, &claims()), &set, &exact()).is_ok());
        assert!(matches!(
            validate(&sign(&Signer::Ec(&other), &header, &claims()), &set, &exact()),
            Err(JwtError::BadSignature)
        ));
        // An RSA token without kid finds the RSA key among the EC ones.
        let token = sign(&Signer::Rsa(&rsa, &signature::RSA_PKCS1_SHA256), &json!({"alg": "RS256"}), &claims());
        assert!(validate(&token, &set, &exact()).is_ok());
        // No key fits ES384 at all.
        let token = sign(&Signer::Ec(&a), &json!({"alg": "ES384"}), &claims());
        assert!(matches!(validate(&token, &set, &exact()), Err(JwtError::UnknownKey)));
    }

    #[test]
    fn key_alg_and_use_restrict_keys() {
        let kp = ec_key();
        let mut restricted = ec_jwk(&kp, Some("e1"));
        restricted["alg"] = json!("ES384");
        let set = jwks(&[restricted]);
        let token = sign(&Signer::Ec(&kp), &json!({"alg": "ES256", "kid": "e1"}), &claims());
        assert!(matches!(validate(&token, &set, &exact()), Err(JwtError::UnknownKey)));

        let mut enc = ec_jwk(&kp, Some("e1"));
        enc["use"] = json!("enc");
        let set = jwks(&[enc]);
        assert!(!set.has_kid("e1"));
        assert!(matches!(validate(&token, &set, &exact()), Err(JwtError::UnknownKey)));

        let mut sig = ec_jwk(&kp, Some("e1"));
        sig["use"] = json!("sig");
        sig["alg"] = json!("ES256");
        assert!(validate(&token, &jwks(&[sig]), &exact()).is_ok());
    }

    #[test]
    fn jwks_skips_foreign_and_broken_keys() {
        let kp = ec_key();
        let mut short = ec_jwk(&kp, Some("short"));
        short["x"] = json!(b64(&[1; 31]));
        let doc = json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "small", "n": b64(&[0xC1; 128]), "e": "AQAB"},
            short,
            "not an object",
            ec_jwk(&kp, Some("good")),
        ]});
        let set = Jwks::parse(doc.to_string().as_bytes()).unwrap();
        for kid in ["h", "ed", "k1", "small", "short"] {
            assert!(!set.has_kid(kid), "{kid}");
        }
        assert!(set.has_kid("good"));
        assert_eq!(set.keys.len(), 1);

        assert!(matches!(Jwks::parse(b"{}"), Err(JwtError::Malformed(_))));
        assert!(matches!(Jwks::parse(b"not json"), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn rsa_modulus_with_leading_zero_is_accepted() {
        let kp = rsa_key();
        let mut jwk = rsa_jwk(&kp, "r1");
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(kp.public());
        let mut n = vec![0];
        n.extend_from_slice(&public.n);
        jwk["n"] = json!(b64(&n));
        let token = sign(&Signer::Rsa(&kp, &signature::RSA_PKCS1_SHA256), &json!({"alg": "RS256"}), &claims());
        assert!(validate(&token, &jwks(&[jwk]), &exact()).is_ok());
    }

    #[test]
    fn wrong_issuer() {
        let ec = Ec::new();
        let mut c = claims();
        c["iss"] = json!("https://evil.example");
        let err = ec.check(&c).unwrap_err();
        assert!(
            matches!(&err, JwtError::Issuer { expected, found } if expected == ISS && found == "https://evil.example")
        );
        assert_eq!(
            err.to_string(),
            "the ID token was issued by https://evil.example but https://issuer.example was expected"
        );
        c.as_object_mut().unwrap().remove("iss");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("iss"))));
    }

    #[test]
    fn tenant_template() {
        let ec = Ec::new();
        let issuer = Issuer::TenantTemplate("https://login.microsoftonline.com/{tenantid}/v2.0".to_owned());
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        let mut c = claims();
        c["iss"] = json!(format!("https://login.microsoftonline.com/{tid}/v2.0"));
        c["tid"] = json!(tid);
        assert_eq!(ec.check_with(&issuer, &c).unwrap().tid.as_deref(), Some(tid));

        c["tid"] = json!("72f988bf-86f1-41af-91ab-2d7cd011db47");
        let err = ec.check_with(&issuer, &c).unwrap_err();
        assert!(
            matches!(&err, JwtError::Issuer { expected, .. } if expected.contains("72f988bf-86f1-41af-91ab-2d7cd011db47")),
            "{err:?}"
        );

        c.as_object_mut().unwrap().remove("tid");
        assert!(matches!(ec.check_with(&issuer, &c), Err(JwtError::MissingClaim("tid"))));
    }

    #[test]
    fn audience() {
        let ec = Ec::new();
        let mut c = claims();
        c["aud"] = json!("someone-else");
        assert!(matches!(ec.check(&c), Err(JwtError::Audience)));
        c["aud"] = json!(["someone-else", "another"]);
        c["azp"] = json!(CLIENT);
        assert!(matches!(ec.check(&c), Err(JwtError::Audience)));
        c["aud"] = json!([CLIENT]);
        c.as_object_mut().unwrap().remove("azp");
        assert!(ec.check(&c).is_ok(), "a single-element array needs no azp");
        c.as_object_mut().unwrap().remove("aud");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("aud"))));
    }

    #[test]
    fn authorized_party() {
        let ec = Ec::new();
        let mut c = claims();
        c["aud"] = json!([CLIENT, "another"]);
        assert!(matches!(ec.check(&c), Err(JwtError::AuthorizedParty)), "azp missing");
        c["azp"] = json!("another");
        assert!(matches!(ec.check(&c), Err(JwtError::AuthorizedParty)), "azp wrong");
        c["azp"] = json!(CLIENT);
        assert!(ec.check(&c).is_ok());
        // A single audience with a foreign azp is refused too.
        c["aud"] = json!(CLIENT);
        c["azp"] = json!("another");
        assert!(matches!(ec.check(&c), Err(JwtError::AuthorizedParty)));
    }

    #[test]
    fn expiry_and_leeway() {
        let ec = Ec::new();
        let mut c = claims();
        c["exp"] = json!(NOW - 121);
        assert!(matches!(ec.check(&c), Err(JwtError::Expired)));
        c["exp"] = json!(NOW - 100);
        assert!(ec.check(&c).is_ok(), "within leeway");
        c["exp"] = json!(NOW - 120);
        assert!(ec.check(&c).is_ok(), "at the edge of the leeway");
        c["exp"] = json!((NOW + 10) as f64 + 0.5);
        assert_eq!(ec.check(&c).unwrap().exp, NOW + 10);
        c.as_object_mut().unwrap().remove("exp");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("exp"))));
    }

    #[test]
    fn issued_in_future() {
        let ec = Ec::new();
        let mut c = claims();
        c["iat"] = json!(NOW + 121);
        assert!(matches!(ec.check(&c), Err(JwtError::IssuedInFuture)));
        c["iat"] = json!(NOW + 100);
        assert!(ec.check(&c).is_ok(), "within leeway");
        c.as_object_mut().unwrap().remove("iat");
        assert_eq!(ec.check(&c).unwrap().iat, None);
    }

    #[test]
    fn not_before_in_the_future() {
        let ec = Ec::new();
        let mut c = claims();
        c["nbf"] = json!(NOW + 121);
        assert!(matches!(ec.check(&c), Err(JwtError::IssuedInFuture)));
        c["nbf"] = json!(NOW + 100);
        assert!(ec.check(&c).is_ok(), "within leeway");
    }

    #[test]
    fn time_claims_of_another_type_are_refused() {
        // A string must not count as an absent claim (the claim-type confusion
        // of CVE-2026-25537 in older jsonwebtoken releases).
        let ec = Ec::new();
        for claim in ["exp", "iat", "nbf"] {
            let mut c = claims();
            c[claim] = json!((NOW + 999_999).to_string());
            let err = ec.check(&c).unwrap_err();
            assert!(matches!(err, JwtError::Malformed(_)), "{claim}: {err:?}");
        }
        let mut c = claims();
        c["exp"] = json!(null);
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("exp"))));
    }

    #[test]
    fn issuer_must_be_one_string() {
        let ec = Ec::new();
        let mut c = claims();
        c["iss"] = json!([ISS]);
        assert!(matches!(ec.check(&c), Err(JwtError::Malformed(_))));
        c["iss"] = json!([ISS, "https://evil.example"]);
        assert!(matches!(ec.check(&c), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn audience_of_another_type_is_refused() {
        let ec = Ec::new();
        let mut c = claims();
        c["aud"] = json!({ "client": CLIENT });
        assert!(ec.check(&c).is_err());
        c["aud"] = json!([CLIENT, 5]);
        assert!(ec.check(&c).is_err());
        c["aud"] = json!([]);
        assert!(matches!(ec.check(&c), Err(JwtError::Audience)));
    }

    #[test]
    fn keys_named_in_the_header_are_ignored() {
        // The attacker signs with a key of their own and offers it in the header.
        let ec = Ec::new();
        let attacker = ec_key();
        let header = json!({
            "alg": "ES256", "kid": "e1",
            "jwk": ec_jwk(&attacker, Some("e1")),
            "jku": "https://evil.example/jwks", "x5u": "https://evil.example/cert",
        });
        let token = sign(&Signer::Ec(&attacker), &header, &claims());
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::BadSignature)));
        let header = json!({"alg": "ES256", "kid": "attacker", "jwk": ec_jwk(&attacker, Some("attacker"))});
        let token = sign(&Signer::Ec(&attacker), &header, &claims());
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::UnknownKey)));
    }

    #[test]
    fn an_algorithm_of_another_key_family_finds_no_key() {
        // An EC signature presented as RS256 or PS256, or as ES384, under the EC key's kid.
        let ec = Ec::new();
        for alg in ["RS256", "PS256", "ES384"] {
            let token = ec.token_with(&json!({"alg": alg, "kid": "e1"}), &claims());
            assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::UnknownKey)), "{alg}");
        }
        // And the other way round: an RSA signature presented as ES256.
        let rsa = Rsa::new();
        let token = sign(&Signer::Rsa(&rsa.kp, &signature::RSA_PKCS1_SHA256), &json!({"alg": "ES256"}), &claims());
        assert!(matches!(validate(&token, &rsa.set, &exact()), Err(JwtError::UnknownKey)));
    }

    #[test]
    fn overlong_token_is_refused() {
        let ec = Ec::new();
        let mut c = claims();
        c["name"] = json!("a".repeat(MAX_TOKEN_LEN));
        let err = ec.check(&c).unwrap_err();
        assert!(matches!(&err, JwtError::Malformed(m) if m.contains("longer than")), "{err:?}");
    }

    #[test]
    fn nonce() {
        let ec = Ec::new();
        let mut c = claims();
        c["nonce"] = json!("n-0S6_WzA2Mk");
        assert!(matches!(ec.check(&c), Err(JwtError::Nonce)));
        c["nonce"] = json!("");
        assert!(matches!(ec.check(&c), Err(JwtError::Nonce)));
        c.as_object_mut().unwrap().remove("nonce");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("nonce"))));
        // An empty expected nonce never matches.
        let token = ec.token(&claims());
        let issuer = exact();
        let expect = Expect { issuer: &issuer, client_id: CLIENT, nonce: "", now: NOW, leeway: 120 };
        assert!(matches!(validate_id_token(&token, &ec.set, &expect), Err(JwtError::Nonce)));
    }

    #[test]
    fn subject_required() {
        let ec = Ec::new();
        let mut c = claims();
        c["sub"] = json!("");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("sub"))));
        c.as_object_mut().unwrap().remove("sub");
        assert!(matches!(ec.check(&c), Err(JwtError::MissingClaim("sub"))));
    }

    #[test]
    fn email_verified_as_string() {
        let ec = Ec::new();
        let mut c = claims();
        c["email_verified"] = json!("false");
        assert_eq!(ec.check(&c).unwrap().email_verified, Some(false));
    }

    #[test]
    fn padding_is_refused() {
        let ec = Ec::new();
        // Pick a header whose encoding needs padding, so the padded form is
        // what a standard encoder would produce.
        let header = json!({"alg": "ES256", "kid": "e1"});
        let header_bytes = header.to_string();
        assert_ne!(header_bytes.len() % 3, 0);
        let token = ec.token_with(&header, &claims());
        let parts: Vec<&str> = token.split('.').collect();
        let padded_header = base64::engine::general_purpose::URL_SAFE.encode(header_bytes.as_bytes());
        assert!(padded_header.ends_with('='));
        let padded = format!("{padded_header}.{}.{}", parts[1], parts[2]);
        let err = validate(&padded, &ec.set, &exact()).unwrap_err();
        assert!(matches!(&err, JwtError::Malformed(m) if m.contains("padding")), "{err:?}");
        assert!(header_kid(&padded).is_err());
        // Padding on the signature part too.
        let padded = format!("{}.{}.{}==", parts[0], parts[1], parts[2]);
        assert!(matches!(validate(&padded, &ec.set, &exact()), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn standard_alphabet_is_refused() {
        let ec = Ec::new();
        let token = ec.token(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let std_sig = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&sig);
        if std_sig != parts[2] {
            let token = format!("{}.{}.{std_sig}", parts[0], parts[1]);
            assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::Malformed(_))));
        }
        let token = format!("{}.{}.{}+", parts[0], parts[1], parts[2]);
        assert!(matches!(validate(&token, &ec.set, &exact()), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn five_parts_is_refused() {
        let ec = Ec::new();
        let token = ec.token(&claims());
        let jwe = format!("{}.AAAA.AAAA.AAAA.AAAA", b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#));
        let err = validate(&jwe, &ec.set, &exact()).unwrap_err();
        assert!(matches!(&err, JwtError::Malformed(m) if m.contains("JWE")), "{err:?}");
        assert!(header_kid(&jwe).is_err());
        let two = token.rsplit_once('.').unwrap().0;
        assert!(matches!(validate(two, &ec.set, &exact()), Err(JwtError::Malformed(_))));
        assert!(matches!(validate("", &ec.set, &exact()), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn errors_do_not_contain_the_token() {
        let ec = Ec::new();
        let token = ec.token(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let not_json = format!("{}.{}.{}", parts[0], b64(b"{\"sub\": oops"), parts[2]);
        let cases = [
            tamper(&token),
            not_json,
            format!("{token}.x.y"),
            format!("{}.{}.", b64(br#"{"alg":"none"}"#), parts[1]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        ];
        for case in &cases {
            let message = validate(case, &ec.set, &exact()).unwrap_err().to_string();
            for part in case.split('.').filter(|p| p.len() > 8) {
                assert!(!message.contains(part), "{message}");
            }
        }
    }
}
