//! The OAuth 2.0 client (RFC 6749) as flowcal uses it: authorization code
//! grant with PKCE S256 (RFC 7636), refresh, revocation (RFC 7009), and
//! authorization server metadata (OpenID Connect Discovery / RFC 8414).
//!
//! No implicit or password grant exists here. Codes, verifiers, tokens and
//! the client secret travel only in POST bodies or the Authorization header,
//! never in a URL, and never appear in `Debug` output or error messages. Every
//! request goes through the client the caller passes ([`http_client`]: time
//! limits, no redirects) and every answer is read up to [`MAX_ANSWER`] bytes.
//! ID tokens are checked by [`crate::jwt`], on `jsonwebtoken`.
//!
//! This client is written by hand. The maintained crates were weighed and do
//! not fit:
//!
//! - `oauth2` 5 (3 more crates in Cargo.lock) could send the token requests
//!   through the caller's client with an `AsyncHttpClient` adapter, but
//!   - it refuses a revocation endpoint that is not https
//!     (`ConfigurationError::InsecureUrl`) while it accepts an http token
//!     endpoint; flowcal revokes wherever the administrator's provider says,
//!     and its tests revoke at a real provider on `http://127.0.0.1`. Revocation
//!     would stay here with its own client authentication and error
//!     classification, beside the crate's for the token endpoint: two of each;
//!   - its authorization request takes PKCE only as a challenge it computes
//!     from the verifier (and it panics on a verifier outside 43 to 128
//!     characters), while [`AuthRequest`] carries the challenge;
//!   - its errors drop the HTTP status, which [`OAuthError::Rejected`]
//!     reports and which tells a server failure (5xx, 429: try again later)
//!     from a refusal;
//!   - it has no discovery and no key set fetch.
//!
//!   The adapter and the translation of its errors would have made this
//!   module longer, not shorter.
//! - `openidconnect` 4 would add discovery and ID token checks, at 68 more
//!   crates in Cargo.lock (RustCrypto RSA and curves, serde_with, darling),
//!   and refuses what flowcal accepts: an ID token without `iat`, and one
//!   without `kid` when several keys of the set fit it.

use crate::jwt::Jwks;
use crate::text::form_encode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The grant (code or refresh token) is no longer valid: revoked,
    /// expired or already used. The user must authorize again.
    #[error("the authorization server refused the grant (invalid_grant){}", desc(.0))]
    InvalidGrant(String),
    /// Any other OAuth error answer.
    #[error("the authorization server answered {status} {}", with_desc(.error, .description))]
    Rejected { status: u16, error: String, description: String },
    /// The server could not be reached or answered with a server error;
    /// worth trying again later.
    #[error("the authorization server is unreachable: {0}")]
    Unavailable(String),
    /// The answer was not what the protocol prescribes.
    #[error("the authorization server's answer is malformed: {0}")]
    Malformed(String),
}

/// An error code with its description, if any: "invalid_request: …".
fn with_desc(code: &str, d: &str) -> String {
    format!("{code}{}", desc(d))
}

fn desc(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(": {d}")
    }
}

/// 256 random bits, base64url: states, nonces, PKCE verifiers.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The S256 code challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What an authorization request carries.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub state: &'a str,
    /// For OpenID Connect providers.
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub login_hint: Option<&'a str>,
    /// Provider-specific parameters (Google: access_type, prompt, hd).
    pub extra: &'a [(String, String)],
}

/// The URL the user's browser is sent to.
pub fn authorization_url(endpoint: &Url, r: &AuthRequest<'_>) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", r.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("scope", &r.scopes.join(" "))
            .append_pair("state", r.state)
            .append_pair("code_challenge", r.code_challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(n) = r.nonce {
            q.append_pair("nonce", n);
        }
        if let Some(h) = r.login_hint {
            q.append_pair("login_hint", h);
        }
        for (k, v) in r.extra {
            q.append_pair(k, v);
        }
    }
    url
}

/// How the client authenticates at the token and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// The client's credentials.
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub auth: ClientAuth,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("id", &self.id).field("secret", &"***").field("auth", &self.auth).finish()
    }
}

/// A token endpoint's successful answer.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    /// Seconds.
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    /// Seconds the refresh token stays valid, where the server says (Google,
    /// for apps in testing: seven days).
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
    /// The granted scopes, when the server says (absent: as requested).
    pub scope: Option<String>,
    pub id_token: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// The requested scopes (other than OpenID's own) that were not granted.
    pub fn missing_scopes(&self, requested: &[String]) -> Vec<String> {
        let Some(granted) = &self.scope else { return Vec::new() };
        let granted: Vec<&str> = granted.split_whitespace().collect();
        requested
            .iter()
            .filter(|s| !matches!(s.as_str(), "openid" | "offline_access" | "email" | "profile"))
            .filter(|s| !granted.contains(&s.as_str()))
            .cloned()
            .collect()
    }
}

/// Largest answer read from an authorization server (metadata, key sets,
/// tokens are a few kilobytes).
pub const MAX_ANSWER: usize = 1024 * 1024;

/// Reads an authorization server's answer, at most [`MAX_ANSWER`] bytes.
async fn read_answer(mut resp: reqwest::Response, what: &str) -> Result<Vec<u8>, OAuthError> {
    crate::outbound::read_capped(&mut resp, MAX_ANSWER).await.map_err(|e| match e {
        crate::outbound::BodyError::TooLarge { limit } => {
            OAuthError::Malformed(format!("{what} is larger than {} KiB; check the provider's settings", limit / 1024))
        }
        crate::outbound::BodyError::Transport(e) => OAuthError::Unavailable(plain(&e)),
    })
}

/// Server metadata, from discovery.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// An HTTP client for authorization servers (configured by the
/// administrator, so not behind the user-URL policy): timeouts, no
/// redirects for POSTs that carry secrets.
pub fn http_client() -> Result<reqwest::Client, OAuthError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("flowcal/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OAuthError::Unavailable(e.to_string()))
}

/// Fetches `{issuer}/.well-known/openid-configuration` (falling back to RFC
/// 8414's `/.well-known/oauth-authorization-server`) and checks that the
/// document names the same issuer.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, OAuthError> {
    let base = issuer.trim_end_matches('/');
    let mut last = None;
    for doc in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let url = format!("{base}{doc}");
        let resp = http.get(&url).send().await.map_err(|e| OAuthError::Unavailable(plain(&e)))?;
        if resp.status() == StatusCode::NOT_FOUND {
            last = Some(OAuthError::Malformed(format!("{url} answered 404")));
            continue;
        }
        if !resp.status().is_success() {
            return Err(OAuthError::Unavailable(format!("{url} answered {}", resp.status())));
        }
        let body = read_answer(resp, &format!("the metadata at {url}")).await?;
        let m: Metadata = serde_json::from_slice(&body)
            .map_err(|e| OAuthError::Malformed(format!("the metadata at {url} is not the expected JSON: {e}")))?;
        if m.issuer != issuer {
            return Err(OAuthError::Malformed(format!(
                "the metadata at {url} names the issuer {}, not {issuer}",
                m.issuer
            )));
        }
        return Ok(m);
    }
    Err(last.unwrap_or_else(|| OAuthError::Malformed("no metadata".into())))
}

/// Fetches a JWKS.
pub async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<Jwks, OAuthError> {
    let resp = http.get(uri).send().await.map_err(|e| OAuthError::Unavailable(plain(&e)))?;
    if !resp.status().is_success() {
        return Err(OAuthError::Unavailable(format!("{uri} answered {}", resp.status())));
    }
    let body = read_answer(resp, &format!("the key set at {uri}")).await?;
    Jwks::parse(&body).map_err(|e| OAuthError::Malformed(format!("the key set at {uri}: {e}")))
}

/// Exchanges an authorization code (with its PKCE verifier).
pub async fn exchange_code(
    http: &reqwest::Client,
    token_endpoint: &str,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<TokenResponse, OAuthError> {
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("code_verifier", code_verifier.to_owned()),
    ];
    token_call(http, token_endpoint, client, form).await
}

/// Uses a refresh token.
pub async fn refresh(
    http: &reqwest::Client,
    token_endpoint: &str,
    client: &Client,
    refresh_token: &str,
) -> Result<TokenResponse, OAuthError> {
    let form = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", refresh_token.to_owned())];
    token_call(http, token_endpoint, client, form).await
}

async fn token_call(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    form: Vec<(&'static str, String)>,
) -> Result<TokenResponse, OAuthError> {
    let resp = authenticated_post(http, endpoint, client, form).await?;
    let status = resp.status();
    let body = read_answer(resp, "the token answer").await?;
    if status.is_success() {
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| OAuthError::Malformed(format!("the token answer is not the expected JSON: {e}")))?;
        if !t.token_type.is_empty() && !t.token_type.eq_ignore_ascii_case("bearer") {
            return Err(OAuthError::Malformed(format!("token type {} is not Bearer", t.token_type)));
        }
        return Ok(t);
    }
    Err(error_answer(status, &body))
}

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The server said the token was already invalid (Google answers 400).
    AlreadyInvalid,
}

/// Revokes a token (RFC 7009).
pub async fn revoke(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    token: &str,
    hint: &str,
) -> Result<Revocation, OAuthError> {
    let form = vec![("token", token.to_owned()), ("token_type_hint", hint.to_owned())];
    let resp = authenticated_post(http, endpoint, client, form).await?;
    let status = resp.status();
    if status.is_success() {
        return Ok(Revocation::Revoked);
    }
    let body = read_answer(resp, "the revocation answer").await.unwrap_or_default();
    match error_answer(status, &body) {
        OAuthError::InvalidGrant(_) => Ok(Revocation::AlreadyInvalid),
        // Only the server's own word that the token is invalid counts (not
        // an empty or non-JSON 400 from a proxy or a wrong endpoint).
        OAuthError::Rejected { status: 400, error, .. } if error == "invalid_token" => Ok(Revocation::AlreadyInvalid),
        e => Err(e),
    }
}

async fn authenticated_post(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    mut form: Vec<(&'static str, String)>,
) -> Result<reqwest::Response, OAuthError> {
    let mut req = http.post(endpoint).header(reqwest::header::ACCEPT, "application/json");
    match client.auth {
        ClientAuth::ClientSecretBasic => {
            let pair = format!("{}:{}", form_encode(&client.id), form_encode(&client.secret));
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair)));
        }
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", client.id.clone()));
            form.push(("client_secret", client.secret.clone()));
        }
    }
    req.form(&form).send().await.map_err(|e| OAuthError::Unavailable(plain(&e)))
}

/// Classifies an error answer of a token or revocation endpoint.
fn error_answer(status: StatusCode, body: &[u8]) -> OAuthError {
    #[derive(Deserialize)]
    struct E {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return OAuthError::Unavailable(format!("answered {status}"));
    }
    match serde_json::from_slice::<E>(body) {
        Ok(e) if e.error == "invalid_grant" => OAuthError::InvalidGrant(e.error_description),
        Ok(e) => OAuthError::Rejected { status: status.as_u16(), error: e.error, description: e.error_description },
        Err(_) => OAuthError::Rejected { status: status.as_u16(), error: String::new(), description: String::new() },
    }
}

/// A reqwest error without the URL's query (which may hold a secret).
fn plain(e: &reqwest::Error) -> String {
    let mut msg = e.without_url_ref().to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let host = self.url().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let kind = if self.is_timeout() {
            "timed out"
        } else if self.is_connect() {
            "cannot connect"
        } else if self.is_decode() {
            "cannot decode the answer"
        } else {
            "request failed"
        };
        if host.is_empty() {
            kind.to_owned()
        } else {
            format!("{host}: {kind}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_base64url_sha256() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip("=") in Python.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn authorization_url_carries_pkce_state_nonce() {
        let scopes = vec!["openid".to_owned(), "https://x/cal a".to_owned()];
        let extra = vec![("access_type".to_owned(), "offline".to_owned())];
        let u = authorization_url(
            &Url::parse("https://as.example/auth?x=1").unwrap(),
            &AuthRequest {
                client_id: "c",
                redirect_uri: "https://fc.example/oauth/callback",
                scopes: &scopes,
                state: "st",
                nonce: Some("n"),
                code_challenge: "ch",
                login_hint: None,
                extra: &extra,
            },
        );
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["scope"], "openid https://x/cal a");
        assert_eq!(q["redirect_uri"], "https://fc.example/oauth/callback");
        assert_eq!((q["state"].as_str(), q["nonce"].as_str()), ("st", "n"));
        assert_eq!(q["access_type"], "offline");
    }

    #[test]
    fn token_debug_hides_secrets_and_scopes_are_checked() {
        let t: TokenResponse = serde_json::from_str(
            r#"{"access_token":"AT-secret","token_type":"Bearer","refresh_token":"RT-secret","id_token":"ID-secret","scope":"openid calendar"}"#,
        )
        .unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let c = Client { id: "id".into(), secret: "cs-secret".into(), auth: ClientAuth::ClientSecretBasic };
        assert!(!format!("{c:?}").contains("cs-secret"));
        let want = vec!["openid".to_owned(), "calendar".to_owned(), "offline_access".to_owned()];
        assert!(t.missing_scopes(&want).is_empty());
        let want = vec!["openid".to_owned(), "Calendars.ReadWrite".to_owned()];
        assert_eq!(t.missing_scopes(&want), vec!["Calendars.ReadWrite".to_owned()]);
    }

    #[test]
    fn error_answers_are_classified() {
        assert!(matches!(
            error_answer(StatusCode::BAD_REQUEST, br#"{"error":"invalid_grant","error_description":"grant revoked"}"#),
            OAuthError::InvalidGrant(d) if d == "grant revoked"
        ));
        assert!(matches!(
            error_answer(StatusCode::UNAUTHORIZED, br#"{"error":"invalid_client"}"#),
            OAuthError::Rejected { status: 401, .. }
        ));
        assert!(matches!(error_answer(StatusCode::BAD_GATEWAY, b"x"), OAuthError::Unavailable(_)));
        assert_eq!(form_encode("a b+c:d"), "a+b%2Bc%3Ad");
    }

    use crate::outbound::test_server::{response, serve};
    use std::sync::{Arc, Mutex};

    fn client(auth: ClientAuth) -> Client {
        Client { id: "app id".into(), secret: "s3cret:+".into(), auth }
    }

    #[tokio::test]
    async fn revocation_outcomes() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let server = serve(move |r| {
            log.lock().unwrap().push(r.clone());
            match r.body.as_str() {
                b if b.contains("token=gone") => {
                    response("400 Bad Request", &[("Content-Type", "application/json")], r#"{"error":"invalid_token"}"#)
                }
                b if b.contains("token=down") => response("503 Service Unavailable", &[], ""),
                _ => response("200 OK", &[], ""),
            }
        })
        .await;
        let http = http_client().unwrap();
        let url = format!("http://{}/revoke", server.addr);
        let c = client(ClientAuth::ClientSecretBasic);
        assert_eq!(revoke(&http, &url, &c, "live", "refresh_token").await.unwrap(), Revocation::Revoked);
        // Google answers 400 for a token that is already invalid: that is revoked too.
        assert_eq!(revoke(&http, &url, &c, "gone", "refresh_token").await.unwrap(), Revocation::AlreadyInvalid);
        assert!(matches!(revoke(&http, &url, &c, "down", "refresh_token").await, Err(OAuthError::Unavailable(_))));
        let first = seen.lock().unwrap()[0].clone();
        assert_eq!(first.method, "POST");
        assert!(first.body.contains("token_type_hint=refresh_token"), "{}", first.body);
        // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
        let want = format!("Basic {}", STANDARD.encode("app+id:s3cret%3A%2B"));
        assert_eq!(first.header("authorization"), Some(want.as_str()));
    }

    #[tokio::test]
    async fn token_calls_send_pkce_and_classify_invalid_grant() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let server = serve(move |r| {
            log.lock().unwrap().push(r.clone());
            if r.body.contains("grant_type=refresh_token") {
                response(
                    "400 Bad Request",
                    &[("Content-Type", "application/json")],
                    r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
                )
            } else {
                response(
                    "200 OK",
                    &[("Content-Type", "application/json")],
                    // Google adds refresh_token_expires_in for apps in testing.
                    r#"{"access_token":"at","token_type":"bearer","expires_in":3600,"refresh_token":"rt","refresh_token_expires_in":604799}"#,
                )
            }
        })
        .await;
        let http = http_client().unwrap();
        let url = format!("http://{}/token", server.addr);
        let c = client(ClientAuth::ClientSecretPost);
        let t = exchange_code(&http, &url, &c, "the-code", "https://fc.example/oauth/callback", "the-verifier")
            .await
            .unwrap();
        assert_eq!((t.access_token.as_str(), t.expires_in), ("at", Some(3600)));
        assert_eq!(t.refresh_token_expires_in, Some(604_799));
        let body = seen.lock().unwrap()[0].body.clone();
        for part in [
            "grant_type=authorization_code",
            "code=the-code",
            "code_verifier=the-verifier",
            "redirect_uri=https%3A%2F%2Ffc.example%2Foauth%2Fcallback",
            "client_id=app+id",
            "client_secret=s3cret%3A%2B",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
        assert!(seen.lock().unwrap()[0].header("authorization").is_none());
        let e = refresh(&http, &url, &c, "old").await.unwrap_err();
        assert!(matches!(&e, OAuthError::InvalidGrant(d) if d == "grant request is invalid"), "{e}");
    }

    #[tokio::test]
    async fn discovery_refuses_another_issuer() {
        let server = serve(|_| {
            response(
                "200 OK",
                &[("Content-Type", "application/json")],
                r#"{"issuer":"https://other.example","authorization_endpoint":"https://a","token_endpoint":"https://t"}"#,
            )
        })
        .await;
        let http = http_client().unwrap();
        let issuer = format!("http://{}", server.addr);
        let e = discover(&http, &issuer).await.unwrap_err();
        assert!(e.to_string().contains("names the issuer https://other.example"), "{e}");
    }

    #[tokio::test]
    async fn metadata_and_key_sets_are_read_up_to_a_limit() {
        // Valid JSON, padded past the limit with whitespace.
        let server = serve(|req| {
            let doc = match req.path.as_str() {
                "/jwks" => r#"{"keys":[]}"#.to_owned(),
                _ => format!(
                    r#"{{"issuer":"http://{}","authorization_endpoint":"https://a","token_endpoint":"https://t"}}"#,
                    req.header("host").unwrap_or_default()
                ),
            };
            response("200 OK", &[("Content-Type", "application/json")], &format!("{doc}{}", " ".repeat(MAX_ANSWER)))
        })
        .await;
        let http = http_client().unwrap();
        let issuer = format!("http://{}", server.addr);
        let e = discover(&http, &issuer).await.unwrap_err();
        assert!(matches!(e, OAuthError::Malformed(_)), "{e:?}");
        assert!(e.to_string().contains("/.well-known/openid-configuration is larger than 1024 KiB"), "{e}");
        let e = fetch_jwks(&http, &format!("{issuer}/jwks")).await.unwrap_err();
        assert!(e.to_string().contains("the key set at") && e.to_string().contains("larger than 1024 KiB"), "{e}");
    }
}
