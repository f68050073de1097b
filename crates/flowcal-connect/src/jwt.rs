//! OpenID Connect ID token validation (OIDC Core §3.1.3.7) against a JSON Web
//! Key Set.
//!
//! Only compact JWS tokens signed with an asymmetric algorithm are accepted:
//! RS256/384/512, PS256/384/512, ES256 and ES384. `none`, the HMAC family and
//! encrypted tokens (JWE) are refused, and so is any token whose header lists
//! critical extensions (`crit`). Keys come only from the provider's key set;
//! keys or key URLs embedded in the token header (`jwk`, `jku`, `x5u`, `x5c`)
//! are never used.
//!
//! The signature is checked before the payload is even parsed. Error messages
//! are meant for an administrator and never contain the token.

use crate::text::constant_time_eq;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

/// Tokens longer than this are refused before any decoding.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Claim values quoted in error messages are cut to this many characters.
const MAX_QUOTED_LEN: usize = 200;

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
    /// Microsoft multi-tenant: "https://login.microsoftonline.com/{tenantid}/v2.0"
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
/// of at least 2048 bits and EC keys on P-256 or P-384. Other keys (`oct`,
/// `OKP`, other curves, `use: enc`, malformed entries) are skipped.
#[derive(Debug, Clone)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    /// The `alg` the key is restricted to, when the set says so.
    alg: Option<String>,
    material: KeyMaterial,
}

#[derive(Debug, Clone)]
enum KeyMaterial {
    /// Big-endian modulus and exponent without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed point 0x04 || x || y.
    Ec { curve: Curve, point: Vec<u8> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            _ => None,
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

impl Jwks {
    /// Parses a key set. Fails only when the document is not a key set at all;
    /// individual keys that cannot be used are skipped (and logged).
    pub fn parse(json: &[u8]) -> Result<Jwks, JwtError> {
        let doc: Value = serde_json::from_slice(json)
            .map_err(|e| JwtError::Malformed(format!("the provider's key set (JWKS) is not valid JSON: {e}")))?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Malformed("the provider's key set (JWKS) has no `keys` array".to_owned()))?;
        let mut keys = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            match Jwk::parse(entry) {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(reason) => {
                    let kid = entry.get("kid").and_then(Value::as_str).map(quote).unwrap_or_default();
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

impl Jwk {
    /// `Ok(None)`: a key of a kind this module does not use (not an error).
    /// `Err`: a key that claims to be usable but is broken.
    fn parse(entry: &Value) -> Result<Option<Jwk>, String> {
        let Some(obj) = entry.as_object() else {
            return Err("the entry is not a JSON object".to_owned());
        };
        let kid = optional_str(obj, "kid")?;
        let alg = optional_str(obj, "alg")?;
        if let Some(key_use) = optional_str(obj, "use")? {
            if key_use != "sig" {
                return Ok(None);
            }
        }
        let material = match obj.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = strip_leading_zeros(key_bytes(obj, "n")?);
                let e = strip_leading_zeros(key_bytes(obj, "e")?);
                if e.is_empty() || e.len() > 4 {
                    return Err("the RSA exponent `e` is out of range".to_owned());
                }
                // ring accepts 2048..=8192-bit moduli; n has no leading zero byte here.
                if n.len() < 256 || n.len() > 1024 {
                    return Err(format!("the RSA modulus has {} bits; 2048 to 8192 are accepted", n.len() * 8));
                }
                KeyMaterial::Rsa { n, e }
            }
            Some("EC") => {
                let Some(curve) = obj.get("crv").and_then(Value::as_str).and_then(Curve::from_name) else {
                    return Ok(None);
                };
                let x = key_bytes(obj, "x")?;
                let y = key_bytes(obj, "y")?;
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(format!("the EC coordinates must be {len} bytes each"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                KeyMaterial::Ec { curve, point }
            }
            _ => return Ok(None),
        };
        Ok(Some(Jwk { kid, alg, material }))
    }

    /// Whether this key can verify a signature made with `alg`.
    fn fits(&self, alg: Alg) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg.name()) {
            return false;
        }
        match (&self.material, alg.key_kind()) {
            (KeyMaterial::Rsa { .. }, KeyKind::Rsa(_)) => true,
            (KeyMaterial::Ec { curve, .. }, KeyKind::Ec(wanted)) => *curve == wanted,
            _ => false,
        }
    }

    fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match (&self.material, alg.key_kind()) {
            (KeyMaterial::Rsa { n, e }, KeyKind::Rsa(params)) => {
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(params, message, sig).is_ok()
            }
            (KeyMaterial::Ec { curve, point }, KeyKind::Ec(wanted)) if *curve == wanted => {
                let verification: &'static signature::EcdsaVerificationAlgorithm = match curve {
                    Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                };
                UnparsedPublicKey::new(verification, point.as_slice()).verify(message, sig).is_ok()
            }
            _ => false,
        }
    }
}

fn optional_str(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

fn key_bytes(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = obj.get(name).and_then(Value::as_str).ok_or_else(|| format!("`{name}` is missing"))?;
    URL_SAFE_LENIENT.decode(text).map_err(|_| format!("`{name}` is not base64url"))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
}

enum KeyKind {
    Rsa(&'static RsaParameters),
    Ec(Curve),
}

impl Alg {
    fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
        }
    }

    fn key_kind(self) -> KeyKind {
        match self {
            Alg::Rs256 => KeyKind::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
            Alg::Rs384 => KeyKind::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
            Alg::Rs512 => KeyKind::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
            Alg::Ps256 => KeyKind::Rsa(&signature::RSA_PSS_2048_8192_SHA256),
            Alg::Ps384 => KeyKind::Rsa(&signature::RSA_PSS_2048_8192_SHA384),
            Alg::Ps512 => KeyKind::Rsa(&signature::RSA_PSS_2048_8192_SHA512),
            Alg::Es256 => KeyKind::Ec(Curve::P256),
            Alg::Es384 => KeyKind::Ec(Curve::P384),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token split into its parts, the header decoded.
struct Compact<'t> {
    /// `header.payload`, the signed bytes.
    signing_input: &'t str,
    header: Map<String, Value>,
    payload_b64: &'t str,
    signature_b64: &'t str,
}

impl<'t> Compact<'t> {
    fn split(token: &'t str) -> Result<Compact<'t>, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed(format!("it is longer than {MAX_TOKEN_LEN} bytes")));
        }
        let parts: Vec<&str> = token.split('.').collect();
        match parts.len() {
            3 => {}
            5 => return Err(JwtError::Malformed("it is encrypted (JWE), which is not supported".to_owned())),
            n => return Err(JwtError::Malformed(format!("it has {n} dot-separated parts instead of 3"))),
        }
        let (header_b64, payload_b64, signature_b64) = (parts[0], parts[1], parts[2]);
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        let header_bytes = decode_part(header_b64, "header")?;
        let header = match serde_json::from_slice::<Value>(&header_bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(JwtError::Malformed("the header is not a JSON object".to_owned())),
            Err(e) => return Err(JwtError::Malformed(format!("the header is not valid JSON ({e})"))),
        };
        Ok(Compact { signing_input, header, payload_b64, signature_b64 })
    }

    fn kid(&self) -> Result<Option<String>, JwtError> {
        optional_str(&self.header, "kid").map_err(|m| JwtError::Malformed(format!("in the header, {m}")))
    }

    fn alg(&self) -> Result<Alg, JwtError> {
        let name = match self.header.get("alg") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(JwtError::Malformed("the header's `alg` is not a string".to_owned())),
            None => return Err(JwtError::Malformed("the header has no `alg`".to_owned())),
        };
        Alg::from_name(name).ok_or_else(|| JwtError::UnsupportedAlgorithm(quote(name)))
    }
}

/// Decodes one part of a compact JWS: unpadded base64url, nothing else.
fn decode_part(part: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    if part.is_empty() {
        return Err(JwtError::Malformed(format!("the {what} is empty")));
    }
    if part.contains('=') {
        return Err(JwtError::Malformed(format!("the {what} is base64 with padding, which JWS forbids")));
    }
    if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(JwtError::Malformed(format!("the {what} contains characters outside the base64url alphabet")));
    }
    URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed(format!("the {what} is not valid base64url")))
}

/// The `kid` in a token's header, if any (the caller refetches the JWKS once
/// when it is unknown).
pub fn header_kid(token: &str) -> Result<Option<String>, JwtError> {
    Compact::split(token)?.kid()
}

/// Validates an ID token per OIDC Core §3.1.3.7 and returns its claims.
pub fn validate_id_token(token: &str, jwks: &Jwks, expect: &Expect<'_>) -> Result<IdClaims, JwtError> {
    let compact = Compact::split(token)?;
    let alg = compact.alg()?;
    if compact.header.contains_key("crit") {
        return Err(JwtError::Malformed(
            "the header lists critical extensions (`crit`), which are not supported".to_owned(),
        ));
    }
    let kid = compact.kid()?;
    let signature = decode_part(compact.signature_b64, "signature")?;
    verify_signature(jwks, alg, kid.as_deref(), compact.signing_input.as_bytes(), &signature)?;

    let payload = decode_part(compact.payload_b64, "payload")?;
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(JwtError::Malformed("the payload is not a JSON object".to_owned())),
        Err(e) => return Err(JwtError::Malformed(format!("the payload is not valid JSON ({e})"))),
    };
    check_claims(claims, expect)
}

fn verify_signature(jwks: &Jwks, alg: Alg, kid: Option<&str>, message: &[u8], sig: &[u8]) -> Result<(), JwtError> {
    let candidates = jwks.keys.iter().filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)));
    let mut tried = false;
    for key in candidates.filter(|k| k.fits(alg)) {
        tried = true;
        if key.verify(alg, message, sig) {
            return Ok(());
        }
    }
    if tried {
        Err(JwtError::BadSignature)
    } else {
        Err(JwtError::UnknownKey)
    }
}

fn check_claims(mut claims: Map<String, Value>, expect: &Expect<'_>) -> Result<IdClaims, JwtError> {
    let leeway = expect.leeway.max(0);

    // iss
    let iss = required_str(&claims, "iss")?;
    let expected_iss = match expect.issuer {
        Issuer::Exact(iss) => iss.clone(),
        Issuer::TenantTemplate(template) => {
            let tid = required_str(&claims, "tid")?;
            if tid.is_empty() || !tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
                return Err(JwtError::Malformed(format!("the tenant id (tid) {} is not plausible", quote(tid))));
            }
            template.replace("{tenantid}", tid)
        }
    };
    if iss != expected_iss {
        return Err(JwtError::Issuer { expected: expected_iss, found: quote(iss) });
    }

    // aud, azp
    let audiences: Vec<&str> = match claims.get("aud") {
        None | Some(Value::Null) => return Err(JwtError::MissingClaim("aud")),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds
            .iter()
            .map(|a| a.as_str().ok_or_else(|| JwtError::Malformed("the `aud` claim has a non-string value".to_owned())))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(JwtError::Malformed("the `aud` claim is neither a string nor an array".to_owned())),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(JwtError::Audience);
    }
    let azp = match claims.get("azp") {
        None | Some(Value::Null) => None,
        Some(Value::String(azp)) => Some(azp.as_str()),
        Some(_) => return Err(JwtError::Malformed("the `azp` claim is not a string".to_owned())),
    };
    if audiences.len() > 1 && azp.is_none() {
        return Err(JwtError::AuthorizedParty);
    }
    if azp.is_some_and(|azp| azp != expect.client_id) {
        return Err(JwtError::AuthorizedParty);
    }

    // exp, iat
    let exp = numeric_date(&mut claims, "exp")?.ok_or(JwtError::MissingClaim("exp"))?;
    if expect.now > exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(iat) = numeric_date(&mut claims, "iat")? {
        if iat > expect.now.saturating_add(leeway) {
            return Err(JwtError::IssuedInFuture);
        }
    }

    // nonce
    let nonce = match claims.get("nonce") {
        None | Some(Value::Null) => return Err(JwtError::MissingClaim("nonce")),
        Some(Value::String(nonce)) => nonce,
        Some(_) => return Err(JwtError::Nonce),
    };
    if expect.nonce.is_empty() || !constant_time_eq(nonce.as_bytes(), expect.nonce.as_bytes()) {
        return Err(JwtError::Nonce);
    }

    // sub
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        Some(Value::String(_)) | None | Some(Value::Null) => return Err(JwtError::MissingClaim("sub")),
        Some(_) => return Err(JwtError::Malformed("the `sub` claim is not a string".to_owned())),
    }

    // Some providers send email_verified as "true" / "false".
    if let Some(Value::String(s)) = claims.get("email_verified") {
        let verified = match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        if let Some(verified) = verified {
            claims.insert("email_verified".to_owned(), Value::Bool(verified));
        }
    }

    serde_json::from_value(Value::Object(claims))
        .map_err(|e| JwtError::Malformed(format!("a claim has an unexpected type ({e})")))
}

fn required_str<'c>(claims: &'c Map<String, Value>, name: &'static str) -> Result<&'c str, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(JwtError::MissingClaim(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JwtError::Malformed(format!("the `{name}` claim is not a string"))),
    }
}

/// Reads a NumericDate claim, normalizing a fractional value to whole seconds
/// (rounded down) in the map so that it deserializes into `i64`.
fn numeric_date(claims: &mut Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtError> {
    let seconds = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            // `as` saturates for out-of-range floats.
            (None, Some(f)) if f.is_finite() => f.floor() as i64,
            _ => return Err(JwtError::Malformed(format!("the `{name}` claim is not a usable number"))),
        },
        Some(_) => return Err(JwtError::Malformed(format!("the `{name}` claim is not a number"))),
    };
    claims.insert(name.to_owned(), Value::from(seconds));
    Ok(Some(seconds))
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
    use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
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
