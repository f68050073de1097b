//! Proxy access against real peers: the OpenID Connect / OAuth 2.0 server
//! oidc-provider (npm) and the CalDAV server Radicale (PyPI), both installed
//! by `scripts/test` and started here, one per test, on 127.0.0.1.
//!
//! The browser is a plain HTTP client with a cookie jar: it follows the
//! authorization server's redirects (its interaction route signs in the user
//! named by `login_hint` and grants the requested scopes) until the answer
//! points back at flowcal's `/oauth/callback`.

use crate::support::{Peer, TestApp, TestDb};
use flowcal_connect::seal::Keyring;
use reqwest::{Client, Method, StatusCode, Url};
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub(crate) const CLIENT_SECRET: &str = "peer-client-secret-7f3a9c";
const SCOPES: &[&str] = &["openid", "offline_access", "email", "calendar"];

// ---- captured logs --------------------------------------------------------------------------

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, at debug level for all targets.
pub(crate) fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || w.clone())
            .try_init();
        buf
    })
}

// ---- peers ----------------------------------------------------------------------------------

pub(crate) fn peer_env(var: &str, what: &str) -> Option<String> {
    match std::env::var(var).ok().filter(|s| !s.is_empty()) {
        Some(v) => Some(v),
        None => {
            assert!(
                !cfg!(flowcal_peers) && std::env::var("FLOWCAL_REQUIRE_PEERS").is_err(),
                "FLOWCAL_REQUIRE_PEERS is set but {var} is not: the {what} peer is missing"
            );
            eprintln!("NOT RUN: needs {var} ({what}; scripts/test installs it)");
            None
        }
    }
}

/// A running oidc-provider; stopped when dropped (and when this process dies,
/// as its stdin closes).
pub(crate) struct Oidc {
    _child: Peer,
    pub(crate) issuer: String,
}

impl Oidc {
    pub(crate) fn start(redirect_uri: &str, extra: Json) -> Option<Oidc> {
        let script = peer_env("FLOWCAL_OIDC_PEER", "oidc-provider")?;
        let mut arg = json!({
            "clients": [{"client_id": "flowcal", "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri]}],
            "resource_scopes": "calendar",
            "access_token_ttl": 3600,
        });
        if let (Some(a), Some(e)) = (arg.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        // A start that hangs (seen once, in the peer's key generation) is
        // stopped and tried again rather than blocking the run.
        for attempt in 1..=3 {
            let mut child = Peer::spawn(
                Command::new("node")
                    .arg(&script)
                    .arg(arg.to_string())
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null()),
            )
            .expect("node must run the oidc-provider peer");
            let out = child.child().stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(out).read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(line) => {
                    let issuer =
                        line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("peer said: {line}")).to_owned();
                    return Some(Oidc { _child: child, issuer });
                }
                Err(_) => {
                    eprintln!(
                        "the oidc-provider peer did not start within 30 s (attempt {attempt}); starting it again"
                    );
                    child.stop();
                }
            }
        }
        panic!("the oidc-provider peer did not start in three attempts");
    }

    async fn stats(&self) -> Json {
        reqwest::get(format!("{}/_test/stats", self.issuer)).await.unwrap().json().await.unwrap()
    }

    /// RFC 7009 revocation, as the user revoking flowcal's access at the provider.
    pub(crate) async fn revoke(&self, token: &str) {
        let r = Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth("flowcal", Some(CLIENT_SECRET))
            .form(&[("token", token), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// RFC 7662 introspection: is the token active?
    pub(crate) async fn active(&self, token: &str) -> bool {
        let r: Json = Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("flowcal", Some(CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["active"].as_bool().unwrap()
    }
}

impl Oidc {
    /// An access token for `login` with `scope`, obtained through the whole
    /// authorization code flow (PKCE) by a client of its own: for resource
    /// servers (the API doubles) that check tokens by introspection.
    pub(crate) async fn access_token(&self, redirect_uri: &str, login: &str, scope: &str) -> String {
        use flowcal_connect::oauth;
        let verifier = oauth::random_token();
        let scopes: Vec<String> = scope.split(' ').map(str::to_owned).collect();
        let url = oauth::authorization_url(
            &Url::parse(&format!("{}/auth", self.issuer)).unwrap(),
            &oauth::AuthRequest {
                client_id: "flowcal",
                redirect_uri,
                scopes: &scopes,
                state: "s",
                nonce: Some("n"),
                code_challenge: &oauth::pkce_challenge(&verifier),
                login_hint: Some(login),
                extra: &[],
            },
        );
        let back = Browser::new().authorize(url.as_str(), redirect_uri).await;
        let code = query(&back, "code").unwrap();
        let client = oauth::Client {
            id: "flowcal".into(),
            secret: CLIENT_SECRET.into(),
            auth: oauth::ClientAuth::ClientSecretBasic,
        };
        let http = oauth::http_client().unwrap();
        oauth::exchange_code(&http, &format!("{}/token", self.issuer), &client, &code, redirect_uri, &verifier)
            .await
            .unwrap()
            .access_token
    }

    /// RFC 7662 introspection: the token's `active`, `sub` and `scope`.
    pub(crate) async fn introspect(&self, token: &str) -> Json {
        Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .basic_auth("flowcal", Some(CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A browser: a cookie jar, redirects followed by hand.
pub(crate) struct Browser {
    pub(crate) http: Client,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            http: Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        }
    }

    pub(crate) async fn login(&self, t: &TestApp, login: &str) {
        let r = self
            .http
            .post(format!("{}/login", t.base))
            .form(&[("login", login), ("password", "password-123")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{login} signs in");
    }

    pub(crate) async fn api(&self, t: &TestApp, method: Method, path: &str, body: Json) -> (u16, Json) {
        let r = self.http.request(method, format!("{}{path}", t.base)).json(&body).send().await.unwrap();
        crate::support::read(r).await
    }

    /// Follows the authorization server's redirects until one points at
    /// flowcal's callback; returns that URL (not yet visited).
    pub(crate) async fn authorize(&self, url: &str, callback_prefix: &str) -> Url {
        let mut url = Url::parse(url).unwrap();
        for _ in 0..20 {
            if url.as_str().starts_with(callback_prefix) {
                return url;
            }
            let r = self.http.get(url.clone()).send().await.unwrap();
            assert!(r.status().is_redirection(), "{url} answered {}: {}", r.status(), r.text().await.unwrap());
            let loc = r.headers()["location"].to_str().unwrap().to_owned();
            url = url.join(&loc).unwrap();
        }
        panic!("too many redirects");
    }

    /// Visits a callback URL; returns the status and the page text.
    pub(crate) async fn visit(&self, url: &Url) -> (u16, String) {
        let r = self.http.get(url.clone()).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Starts connecting at `provider` and brings back the callback URL.
    pub(crate) async fn start_connect(&self, t: &TestApp, provider: &str, hint: &str) -> Url {
        let (s, b) = self
            .api(t, Method::POST, &format!("/api/v1/calendar-accounts/oauth/{provider}"), json!({"login_hint": hint}))
            .await;
        assert_eq!(s, 200, "{b}");
        self.authorize(b["authorization_url"].as_str().unwrap(), &format!("{}/oauth/callback", t.base)).await
    }
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn with_query(url: &Url, key: &str, value: Option<&str>) -> Url {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != key).collect();
    let mut u = url.clone();
    u.set_query(None);
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(key, v);
        }
    }
    u
}

/// The credentials stored for an account, opened with the key file (as an
/// operator holding the key could).
pub(crate) async fn stored_credentials(t: &TestApp, id: i64) -> (String, Json) {
    let acc = t.app.store.account(id).await.unwrap().unwrap();
    let ring = Keyring::load(&t.app.config.secret_key_file).unwrap();
    let plain = ring.open_string("account-credentials", &acc.credentials_sealed).unwrap();
    (acc.credentials_sealed, serde_json::from_str(&plain).unwrap())
}

async fn accounts(t: &TestApp, token: &str) -> Vec<Json> {
    let (s, b) = t.get("/api/v1/calendar-accounts", token).await;
    assert_eq!(s, 200);
    b["accounts"].as_array().unwrap().clone()
}

pub(crate) async fn put_provider(t: &TestApp, admin: &str, name: &str, body: Json) {
    let (s, b) = t.call(Method::PUT, &format!("/api/v1/admin/providers/{name}"), admin, Some(body)).await;
    assert_eq!(s, 200, "{b}");
}

/// Alice's Google account, connected through the browser flow: the
/// authorization server, the Google Calendar double behind provider `g`,
/// root's and alice's API tokens, alice's browser and the account's id.
struct GoogleAlice {
    peer: Arc<Oidc>,
    google: Arc<crate::google_double::Double>,
    admin: String,
    alice: String,
    browser: Browser,
    account: i64,
}

/// Sets up [`GoogleAlice`]; `None` when the authorization server peer is missing.
async fn google_alice(t: &TestApp) -> Option<GoogleAlice> {
    let callback = format!("{}/oauth/callback", t.base);
    let peer = Arc::new(Oidc::start(&callback, json!({}))?);
    let google = crate::google_double::Double::start(peer.clone()).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    put_provider(t, &admin, "g", google_at_peer(&peer, Some(&google.base))).await;
    let browser = Browser::new();
    browser.login(t, "alice").await;
    browser.api(t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    let back = browser.start_connect(t, "g", "alice@example.com").await;
    assert_eq!(browser.visit(&back).await.0, 200);
    let account = accounts(t, &alice).await[0]["id"].as_i64().unwrap();
    Some(GoogleAlice { peer, google, admin, alice, browser, account })
}

/// A provider of kind google whose endpoints are the peer's (and whose
/// calendar API is `api`, a Google double, when given).
pub(crate) fn google_at_peer(peer: &Oidc, api: Option<&str>) -> Json {
    let i = &peer.issuer;
    let mut g = json!({"kind": "google", "client_id": "flowcal", "client_secret": CLIENT_SECRET,
           "issuer": i, "authorization_endpoint": format!("{i}/auth"), "token_endpoint": format!("{i}/token"),
           "jwks_uri": format!("{i}/jwks"), "revocation_endpoint": format!("{i}/token/revocation"),
           "token_auth": "client_secret_basic", "scopes": ["openid", "email", "calendar"]});
    if let Some(api) = api {
        g["api_base_url"] = json!(api);
    }
    g
}

pub(crate) fn generic_provider(issuer: &str) -> Json {
    json!({"kind": "oauth", "display_name": "Peer", "client_id": "flowcal", "client_secret": CLIENT_SECRET,
           "issuer": issuer, "scopes": SCOPES})
}

/// An app whose clock is the real time (ID tokens carry real times).
pub(crate) async fn app_now(db: TestDb) -> TestApp {
    let t = TestApp::spawn(db).await;
    t.clock.set(jiff::Timestamp::now());
    t
}

// ---- the whole OAuth life cycle -------------------------------------------------------------

async fn oauth_life_cycle(db: TestDb) {
    logs();
    let t = app_now(db).await;
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    put_provider(&t, &admin, "peer", generic_provider(&peer.issuer)).await;
    // Only administrators manage connectivity; the secret is never shown.
    let (s, _) = t.call(Method::PUT, "/api/v1/admin/providers/x", &alice, Some(generic_provider(&peer.issuer))).await;
    assert_eq!(s, 403);
    // A provider without any client secret is refused; replacing one keeps its stored secret.
    let mut no_secret = generic_provider(&peer.issuer);
    no_secret.as_object_mut().unwrap().remove("client_secret");
    let (s, b) = t.call(Method::PUT, "/api/v1/admin/providers/x", &admin, Some(no_secret.clone())).await;
    assert_eq!(s, 422, "{b}");
    put_provider(&t, &admin, "peer", no_secret).await;
    let (s, view) = t.get("/api/v1/admin/connectivity", &admin).await;
    assert_eq!(s, 200);
    assert_eq!(view["providers"]["peer"]["client_secret_set"], true);
    assert_eq!(view["providers"]["peer"]["redirect_uri"], callback.as_str());
    assert!(!view.to_string().contains(CLIENT_SECRET));

    let browser = Browser::new();
    browser.login(&t, "alice").await;
    let connect = "/api/v1/calendar-accounts/oauth/peer";

    // Enablement: the user's own switch, then the administrator's policy.
    let (s, b) = browser.api(&t, Method::POST, connect, json!({})).await;
    assert_eq!(s, 403);
    assert!(b["error"]["message"].as_str().unwrap().contains("your account settings"), "{b}");
    let (s, _) = browser.api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    assert_eq!(s, 200);
    let (s, _) = t
        .call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(json!({"calendar_export": {"allow": "no one"}})))
        .await;
    assert_eq!(s, 200);
    let (s, b) = browser.api(&t, Method::POST, connect, json!({})).await;
    assert_eq!(s, 403);
    assert!(b["error"]["message"].as_str().unwrap().contains("administrator"), "{b}");
    let (s, _) = t
        .call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(json!({"calendar_export": {"allow": ["alice"]}})))
        .await;
    assert_eq!(s, 200);

    // The authorization request: code flow, PKCE S256, state, nonce, exact redirect URI.
    let (s, b) = browser.api(&t, Method::POST, connect, json!({"login_hint": "alice@example.com"})).await;
    assert_eq!(s, 200, "{b}");
    let auth = Url::parse(b["authorization_url"].as_str().unwrap()).unwrap();
    assert!(auth.as_str().starts_with(&format!("{}/auth?", peer.issuer)), "{auth}");
    assert_eq!(query(&auth, "response_type").as_deref(), Some("code"));
    assert_eq!(query(&auth, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query(&auth, "code_challenge").map(|c| c.len()), Some(43));
    assert_eq!(query(&auth, "redirect_uri").as_deref(), Some(callback.as_str()));
    assert!(query(&auth, "state").is_some_and(|s| s.len() >= 43));
    assert!(query(&auth, "nonce").is_some_and(|s| s.len() >= 43));
    let back = browser.authorize(auth.as_str(), &callback).await;
    let code = query(&back, "code").unwrap();
    assert_eq!(query(&back, "iss").as_deref(), Some(peer.issuer.as_str()));
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Calendar connected"), "{page}");
    // A replayed answer is refused: the state was used up.
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 400);
    assert!(page.contains("already used"), "{page}");

    let list = accounts(&t, &alice).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0]["kind"].as_str(), list[0]["status"].as_str()), (Some("oauth"), Some("active")));
    let id = list[0]["id"].as_i64().unwrap();
    let (sealed, creds) = stored_credentials(&t, id).await;
    let first_access = creds["access_token"].as_str().unwrap().to_owned();
    let first_refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    assert!(!sealed.contains(&first_access) && !sealed.contains(&first_refresh));
    assert!(peer.active(&first_refresh).await);
    let mut secrets = vec![CLIENT_SECRET.to_owned(), code, first_access.clone(), first_refresh.clone()];

    // A fresh token is used as it is; one that expires within minutes is refreshed.
    assert_eq!(t.app.access.access_token(id).await.unwrap(), first_access);
    assert_eq!(peer.stats().await["refresh_grants"], 0);
    t.clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600 - 120));
    let second = t.app.access.access_token(id).await.unwrap();
    assert_ne!(second, first_access);
    assert_eq!(peer.stats().await["refresh_grants"], 1);
    let (_, creds) = stored_credentials(&t, id).await;
    let second_refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh, "the server rotates refresh tokens; the new one is stored");
    secrets.extend([second.clone(), second_refresh.clone()]);

    // Single flight across processes: a second application over the same
    // database, and eight refreshes at once. With rotating refresh tokens, a
    // second refresh with the same token would make the server revoke the grant.
    let other = flowcal_server::build((*t.app.config).clone(), t.clock.clone()).await.unwrap();
    t.clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2 * 3600));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 { t.app.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move { app.access.access_token(id).await }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.unwrap().expect("every concurrent caller gets a token"));
    }
    assert!(got.iter().all(|g| *g == got[0]), "one refresh served everyone");
    assert_eq!(peer.stats().await["refresh_grants"], 2);
    let (_, creds) = stored_credentials(&t, id).await;
    let third_refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    assert!(peer.active(&third_refresh).await, "the grant survived the concurrent refreshes");
    secrets.extend([got[0].clone(), third_refresh.clone()]);

    // The user revokes flowcal's access at the provider: the next refresh gets
    // invalid_grant, and the account waits for the user to reconnect.
    peer.revoke(&third_refresh).await;
    t.clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3 * 3600));
    let e = t.app.access.access_token(id).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 409, "{e}");
    let list = accounts(&t, &alice).await;
    assert_eq!(list[0]["status"], "reconnect_required");
    assert!(list[0]["message"].as_str().unwrap().contains("connect this calendar again"), "{list:?}");
    let e = t.app.access.access_token(id).await.unwrap_err();
    assert!(e.to_string().contains("connected again"), "{e}");

    // Reconnecting makes the same account active again.
    t.clock.set(jiff::Timestamp::now());
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    secrets.push(query(&back, "code").unwrap());
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Calendar reconnected"), "{page}");
    let list = accounts(&t, &alice).await;
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["id"].as_i64(), list[0]["status"].as_str()), (Some(id), Some("active")));
    let (_, creds) = stored_credentials(&t, id).await;
    let last_refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([creds["access_token"].as_str().unwrap().to_owned(), last_refresh.clone()]);
    assert!(peer.active(&last_refresh).await);

    // Another user cannot see or disconnect it.
    let bob = t.user("bob", false, &[]).await;
    let (s, _) = t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{id}"), &bob, None).await;
    assert_eq!(s, 404);

    // Disconnecting revokes at the provider, then deletes the credentials.
    let (s, b) = t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{id}"), &alice, None).await;
    assert_eq!(s, 204, "{b}");
    assert!(!peer.active(&last_refresh).await, "introspection says the grant is gone");
    assert!(accounts(&t, &alice).await.is_empty());
    assert!(t.app.store.account(id).await.unwrap().is_none());

    // The audit log tells the story, without secrets.
    let (s, b) = t.get("/api/v1/audit", &alice).await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = b["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["account_disconnected", "account_reconnected", "refresh_failed", "account_connected"]);
    let (s, all) = t.get("/api/v1/audit?all=true", &alice).await;
    assert_eq!(s, 403, "{all}");
    let (s, all) = t.get("/api/v1/audit?all=true", &admin).await;
    assert_eq!(s, 200);
    let everything = format!("{b} {all} {view}");
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "an API answer shows a secret");
    }
    // ... and no log line holds any of them.
    let log = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(log.contains("reconnect required"), "the logs were captured");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a log line shows a secret");
    }
}

crate::on_both_backends!(peers: oauth_life_cycle);

// ---- refusals ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn oauth_callbacks_that_are_refused() {
    let t = app_now(TestDb::sqlite()).await;
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let Some(evil) = Oidc::start(&callback, json!({})) else { return };
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    t.user("bob", false, &[]).await;
    put_provider(&t, &admin, "peer", generic_provider(&peer.issuer)).await;
    put_provider(&t, &admin, "evil", generic_provider(&evil.issuer)).await;
    // A Google-kind provider (its endpoints pointed at the peer) restricted to one domain.
    put_provider(&t, &admin, "gw", {
        let mut g = google_at_peer(&peer, None);
        g["allowed_domains"] = json!(["example.com"]);
        g
    })
    .await;
    let browser = Browser::new();
    browser.login(&t, "alice").await;
    let (s, _) = browser.api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    assert_eq!(s, 200);
    let none = |t: &TestApp| {
        let t = t.app.clone();
        async move { t.store.accounts_of(t.store.user_by_login("alice").await.unwrap().unwrap().id).await.unwrap() }
    };

    // No state at all.
    let (s, page) = browser.visit(&Url::parse(&format!("{callback}?code=x&iss=y")).unwrap()).await;
    assert_eq!(s, 400);
    assert!(page.contains("no state"), "{page}");

    // Another user's answer: refused, and the state is gone for its owner too.
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    let mallory = Browser::new();
    mallory.login(&t, "bob").await;
    let (s, page) = mallory.visit(&back).await;
    assert_eq!(s, 403, "{page}");
    let (s, _) = browser.visit(&back).await;
    assert_eq!(s, 400);
    // Without any session.
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    let (s, _) = Browser::new().visit(&back).await;
    assert_eq!(s, 403);

    // A wrong or missing iss (the server announces that it always sends it).
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    let (s, page) = browser.visit(&with_query(&back, "iss", Some("http://127.0.0.1:1"))).await;
    assert_eq!(s, 400);
    assert!(page.contains("names the authorization server"), "{page}");
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    let (s, page) = browser.visit(&with_query(&back, "iss", None)).await;
    assert_eq!(s, 400);
    assert!(page.contains("lacks the iss"), "{page}");

    // Mix-up: the request went to "peer"; a second server answers with its own code.
    let back_peer = browser.start_connect(&t, "peer", "alice@example.com").await;
    let back_evil = browser.start_connect(&t, "evil", "alice@example.com").await;
    let mixed =
        with_query(&with_query(&back_peer, "code", query(&back_evil, "code").as_deref()), "iss", Some(&evil.issuer));
    let (s, page) = browser.visit(&mixed).await;
    assert_eq!(s, 400, "{page}");
    assert!(page.contains("names the authorization server"), "{page}");

    // Expired: more than ten minutes between the start and the answer.
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    t.clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_mins(11));
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 400);
    assert!(page.contains("expired"), "{page}");
    t.clock.set(jiff::Timestamp::now());

    // The user declines at the provider.
    let back = browser.start_connect(&t, "peer", "alice+deny@example.com").await;
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200);
    assert!(page.contains("You declined access at Peer"), "{page}");

    // The user grants less than flowcal needs. (A new browser each time from
    // here: the provider's own session would otherwise sign in the last user.)
    let fresh = || async {
        let b = Browser::new();
        b.login(&t, "alice").await;
        b
    };
    let browser = fresh().await;
    let back = browser.start_connect(&t, "peer", "alice+partial@example.com").await;
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 403, "{page}");
    assert!(page.contains("missing: calendar"), "{page}");

    // Google: domain hint and offline access requested; the hd claim decides.
    let (s, b) = browser.api(&t, Method::POST, "/api/v1/calendar-accounts/oauth/gw", json!({})).await;
    assert_eq!(s, 200);
    let auth = Url::parse(b["authorization_url"].as_str().unwrap()).unwrap();
    assert_eq!(query(&auth, "hd").as_deref(), Some("example.com"));
    assert_eq!(query(&auth, "access_type").as_deref(), Some("offline"));
    assert_eq!(query(&auth, "prompt").as_deref(), Some("consent"));
    for (hint, why) in [("eve@evil.example", "domain evil.example"), ("carol", "belongs to no such domain")] {
        let browser = fresh().await;
        let back = browser.start_connect(&t, "gw", hint).await;
        let (s, page) = browser.visit(&back).await;
        assert_eq!(s, 403, "{hint}: {page}");
        assert!(page.contains(why), "{page}");
    }
    assert!(none(&t).await.is_empty(), "no refused answer created an account");
    let browser = fresh().await;
    let back = browser.start_connect(&t, "gw", "alice@example.com").await;
    let r = browser.http.get(back).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The page the code arrived on leaks nothing through Referer, and is not cached.
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let accounts_now = none(&t).await;
    assert_eq!(accounts_now.len(), 1);

    // Disconnecting while the provider is down: the credentials go all the same, and the answer says so.
    drop(peer);
    let id = accounts_now[0].id;
    let (s, b) = t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{id}"), &alice, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["revoked"], false);
    assert!(b["message"].as_str().unwrap().contains("could not be reached"), "{b}");
    assert!(none(&t).await.is_empty());
}

// ---- signing in with the same connectivity -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn sign_in_with_an_openid_provider() {
    let t = app_now(TestDb::sqlite()).await;
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let admin = t.user("root", true, &[]).await;
    t.user("alice", false, &[]).await;
    let mut cfg = generic_provider(&peer.issuer);
    cfg["sign_in"] = json!(true);
    put_provider(&t, &admin, "peer", cfg.clone()).await;

    let sign_in = |b: &Browser, hint: &'static str| {
        let (http, base, callback) = (b.http.clone(), t.base.clone(), callback.clone());
        async move {
            let r = http.get(format!("{base}/login/oauth/peer")).send().await.unwrap();
            assert_eq!(r.status(), 303);
            let url = r.headers()["location"].to_str().unwrap().to_owned();
            let url = format!("{url}&login_hint={hint}");
            let b = Browser { http };
            (b.authorize(&url, &callback).await, b)
        }
    };

    // Not linked yet: refused, no account created.
    let b = Browser::new();
    let (back, b) = sign_in(&b, "alice@example.com").await;
    let (s, page) = b.visit(&back).await;
    assert_eq!(s, 403, "{page}");
    assert!(page.contains("no flowcal account is linked"), "{page}");

    // Alice links it by connecting a calendar while signed in with her password.
    let alice = Browser::new();
    alice.login(&t, "alice").await;
    alice.api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    let back = alice.start_connect(&t, "peer", "alice@example.com").await;
    assert_eq!(alice.visit(&back).await.0, 200);

    // Now she signs in with the provider, in a new browser.
    let b = Browser::new();
    let (back, b) = sign_in(&b, "alice@example.com").await;
    let (s, _) = b.visit(&back).await;
    assert_eq!(s, 303);
    let (s, me) = b.api(&t, Method::GET, "/api/v1/me", json!({})).await;
    assert_eq!((s, me["login"].as_str()), (200, Some("alice")), "{me}");

    // An answer brought to another browser is refused.
    let b1 = Browser::new();
    let (back, _) = sign_in(&b1, "alice@example.com").await;
    let (s, _) = Browser::new().visit(&back).await;
    assert_eq!(s, 403);

    // With create_users, a first sign-in creates the account.
    cfg["create_users"] = json!(true);
    put_provider(&t, &admin, "peer", cfg).await;
    let b = Browser::new();
    let (back, b) = sign_in(&b, "dora@example.com").await;
    assert_eq!(b.visit(&back).await.0, 303);
    let (_, me) = b.api(&t, Method::GET, "/api/v1/me", json!({})).await;
    assert_eq!(me["login"], "dora");

    // Password sign-in can be turned off.
    let (s, _) =
        t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(json!({"sign_in": {"password": false}}))).await;
    assert_eq!(s, 200);
    let r = Browser::new()
        .http
        .post(format!("{}/login", t.base))
        .form(&[("login", "alice"), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("sign in with Peer"));
}

// ---- CalDAV with an app password (Radicale) ------------------------------------------------

pub(crate) struct Radicale {
    child: Peer,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Radicale {
    /// Radicale with two users: alice, password `app-password-1`, and bob,
    /// `app-password-2`; its data in memory (/dev/shm) where there is one:
    /// Radicale syncs every write to disk, which made it three times slower
    /// than flowcal's workers in a 2,000-entry backfill.
    pub(crate) async fn start() -> Option<Radicale> {
        let python = peer_env("FLOWCAL_PEER_PYTHON", "Radicale")?;
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(dir.path().join("users"), "alice:app-password-1\nbob:app-password-2\n").unwrap();
        let config = format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = htpasswd\nhtpasswd_filename = {d}/users\n\
             htpasswd_encryption = plain\n[rights]\ntype = owner_only\n[storage]\nfilesystem_folder = {d}/data\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        let child = Peer::spawn(
            Command::new(python)
                .args(["-m", "radicale", "--config"])
                .arg(dir.path().join("config"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap();
        // Stopped by Drop from here on, also when it never comes up.
        let radicale = Radicale { child, port, dir };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(radicale);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("Radicale did not start on port {port}");
    }
}

impl Radicale {
    /// Where Radicale keeps `user`'s collection `name` on disk (for what no
    /// client can do over HTTP, e.g. two resources with one UID).
    pub(crate) fn storage(&self, user: &str, name: &str) -> std::path::PathBuf {
        self.dir.path().join("data/collection-root").join(user).join(name)
    }

    /// Stops the server (an outage); `restart` brings it back with its data.
    pub(crate) fn stop(&mut self) {
        self.child.stop();
    }

    pub(crate) async fn restart(&mut self) {
        let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
        self.child = Peer::spawn(
            Command::new(python)
                .args(["-m", "radicale", "--config"])
                .arg(self.dir.path().join("config"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap();
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("Radicale did not come back on port {}", self.port);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn caldav_with_an_app_password_and_key_rotation() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let Some(radicale) = Radicale::start().await else { return };
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let port = radicale.port;
    let connect = |url: String, password: &'static str| {
        let t = &t;
        let alice = alice.clone();
        async move {
            t.post(
                "/api/v1/calendar-accounts/caldav",
                &alice,
                json!({"url": url, "username": "alice", "password": password}),
            )
            .await
        }
    };
    let allow = |hosts: Json, networks: Json| {
        let t = &t;
        let admin = admin.clone();
        async move {
            let body = json!({"caldav": {"allowed_hosts": hosts, "allowed_networks": networks}});
            let (s, b) = t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await;
            assert_eq!(s, 200, "{b}");
        }
    };
    let url = format!("http://127.0.0.1:{port}/");

    // Not on the allow-list: refused before anything is fetched.
    let (s, b) = connect(url.clone(), "app-password-1").await;
    assert_eq!(s, 403, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("the administrator must allow it"), "{b}");
    let (s, b) = connect(format!("http://localhost:{port}/"), "app-password-1").await;
    assert_eq!(s, 403, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("has not allowed"), "{b}");
    // Listing a name that resolves to loopback does not open loopback.
    allow(json!([format!("localhost:{port}")]), json!([])).await;
    let (s, b) = connect(format!("http://localhost:{port}/"), "app-password-1").await;
    assert_eq!(s, 403, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("127.0.0.1"), "{b}");
    // A bad allow-list is refused.
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/admin/settings",
            &admin,
            Some(json!({"caldav": {"allowed_hosts": [], "allowed_networks": ["10.0.0.0/33"]}})),
        )
        .await;
    assert_eq!(s, 422);

    // The administrator allows the loopback address itself.
    allow(json!([format!("127.0.0.1:{port}")]), json!([])).await;
    let (s, b) = connect(url.clone(), "wrong-password").await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("refused the username or app password"), "{b}");
    assert!(accounts(&t, &alice).await.is_empty(), "nothing stored after a wrong password");
    let (s, b) = connect(url.clone(), "app-password-1").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!((b["kind"].as_str(), b["status"].as_str()), (Some("caldav"), Some("active")));
    assert!(!b.to_string().contains("app-password-1"));
    let id = b["id"].as_i64().unwrap();
    let (sealed, creds) = stored_credentials(&t, id).await;
    assert_eq!(creds["password"], "app-password-1");
    assert!(!sealed.contains("app-password-1"));
    // Connecting again updates the same account.
    let (s, b) = connect(url.clone(), "app-password-1").await;
    assert_eq!((s, b["id"].as_i64()), (200, Some(id)));

    // Its calendars: flowcal's own is created on request and chosen.
    let (s, b) = t
        .call(
            Method::PUT,
            &format!("/api/v1/calendar-accounts/{id}/calendar"),
            &alice,
            Some(json!({"calendar": "own"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let own = b["calendar"].as_str().unwrap().to_owned();
    assert!(own.starts_with(&format!("http://127.0.0.1:{port}/alice/")), "{own}");
    let (s, b) = t.get(&format!("/api/v1/calendar-accounts/{id}/calendars"), &alice).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["calendars"].as_array().unwrap().iter().any(|c| c["id"] == own.as_str() && c["own"] == true), "{b}");
    // Choosing it again finds the same one; another user's token cannot list them.
    let (s, b) = t
        .call(
            Method::PUT,
            &format!("/api/v1/calendar-accounts/{id}/calendar"),
            &alice,
            Some(json!({"calendar": "own"})),
        )
        .await;
    assert_eq!((s, b["calendar"].as_str()), (200, Some(own.as_str())));
    let (s, _) = t.get(&format!("/api/v1/calendar-accounts/{id}/calendars"), &admin).await;
    assert_eq!(s, 403);

    // One step's deadline and one date item of an instance, put on that calendar and read back.
    let (s, _) = t.upload(&admin, crate::support::leave_model()).await;
    assert_eq!(s, 201);
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "Easter",
                   "data": {"first_day": "2026-03-30", "days": 8, "handover": "2026-03-29T01:30:00+01:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let instance = flowcal_domain::InstanceId(inst["id"].as_i64().unwrap());
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = flowcal_domain::TaskId(tasks["tasks"][0]["id"].as_i64().unwrap());
    // The user's reminder preference goes into every entry.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"reminder_minutes": 20}))).await;
    assert_eq!((s, me["reminder_minutes"].as_i64()), (200, Some(20)), "{me}");
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"reminder_minutes": 50000}))).await;
    assert_eq!(s, 422);
    let p = t.app.access.principal_by_token(&alice).await.unwrap().unwrap();
    let acc = t.app.store.account(id).await.unwrap().unwrap();
    for ev in [
        t.app.exports.deadline_entry(&p, task, 0).await.unwrap(),
        t.app.exports.item_entry(&p, instance, "first_day", 0).await.unwrap(),
        t.app.exports.item_entry(&p, instance, "handover", 0).await.unwrap(),
    ] {
        let (cal, e) = (own.clone(), ev.clone());
        let remote = t
            .app
            .access
            .with_connector(&acc, move |c| {
                let (cal, e) = (cal.clone(), e.clone());
                Box::pin(async move { flowcal_calendar::Connector::upsert_event(c, &cal, &e, None).await })
            })
            .await
            .unwrap();
        let (cal, key) = (own.clone(), ev.key.clone());
        let back = t
            .app
            .access
            .with_connector(&acc, move |c| {
                let (cal, key, r) = (cal.clone(), key.clone(), remote.clone());
                Box::pin(async move { flowcal_calendar::Connector::get_event(c, &cal, &key, Some(&r)).await })
            })
            .await
            .unwrap()
            .expect("the entry is on the calendar");
        assert_eq!((back.title.as_str(), &back.when), (ev.title.as_str(), &ev.when));
        assert_eq!(ev.reminder_minutes, Some(20));
    }
    let e = t.app.exports.item_entry(&p, instance, "days", 0).await.unwrap_err();
    assert_eq!(e.status().as_u16(), 422);

    // Key rotation: every sealed value moves to the new key; the old key goes.
    put_provider(&t, &admin, "peer", generic_provider("http://127.0.0.1:9")).await;
    let old_key = Keyring::load(&t.app.config.secret_key_file).unwrap().current_id().to_owned();
    // Rotated by another process: this one notices at its next use of a secret.
    let other = flowcal_server::build((*t.app.config).clone(), t.clock.clone()).await.unwrap();
    let r = other.access.rotate_secrets().await.unwrap();
    assert_ne!(r.new_key, old_key);
    assert_eq!((r.resealed, r.unreadable), (2, 0), "the account's credentials and the provider's client secret");
    // The old key stays until it is retired: a running process may still have sealed with it.
    assert_eq!(
        Keyring::load(&t.app.config.secret_key_file).unwrap().key_ids(),
        vec![old_key.clone(), r.new_key.clone()]
    );
    let (s, _) = connect(url.clone(), "app-password-1").await;
    assert_eq!(s, 200);
    let (sealed, _) = stored_credentials(&t, id).await;
    assert!(sealed.starts_with(&format!("fc1:{}:", r.new_key)), "sealed with the new key by the other process");
    let (removed, kept) = t.app.access.retire_keys().await.unwrap();
    assert_eq!((removed, kept), (vec![old_key.clone()], vec![r.new_key.clone()]));
    let file = Keyring::load(&t.app.config.secret_key_file).unwrap();
    assert_eq!(file.key_ids(), vec![r.new_key.clone()]);
    let (sealed, creds) = stored_credentials(&t, id).await;
    assert!(sealed.starts_with(&format!("fc1:{}:", r.new_key)));
    assert_eq!(creds["password"], "app-password-1");
    let c = t.app.access.connectivity().await.unwrap();
    assert_eq!(c.providers["peer"].client_secret.as_deref(), Some(CLIENT_SECRET));

    let (s, _) = t.call(Method::DELETE, &format!("/api/v1/calendar-accounts/{id}"), &alice, None).await;
    assert_eq!(s, 204);
    assert!(accounts(&t, &alice).await.is_empty());
}

// ---- provider defaults ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_kinds_have_their_endpoints_and_least_scopes() {
    let extra = r#"
[providers.g]
kind = "google"
client_id = "g-id"
client_secret = "g-secret"
allowed_domains = ["Example.com"]

[providers.m]
kind = "microsoft"
client_id = "m-id"
client_secret = "m-secret"
tenant = "0f5c6a3e-1b2c-4d5e-8f90-123456789abc"

[providers.m2]
kind = "microsoft"
client_id = "m-id"
client_secret = "m-secret"
tenant = "organizations"
api_base_url = "https://graph.microsoft.us"
token_endpoint = "https://login.microsoftonline.us/organizations/oauth2/v2.0/token"
"#;
    let t = TestApp::spawn_with(TestDb::sqlite(), extra).await;
    let c = t.app.access.connectivity().await.unwrap();
    let g = t.app.access.resolve_provider(&c, "g").await.unwrap();
    assert_eq!(g.issuer.as_deref(), Some("https://accounts.google.com"));
    assert_eq!(g.authorization_endpoint.as_str(), "https://accounts.google.com/o/oauth2/v2/auth");
    assert_eq!(g.token_endpoint, "https://oauth2.googleapis.com/token");
    assert_eq!(g.revocation_endpoint.as_deref(), Some("https://oauth2.googleapis.com/revoke"));
    assert_eq!(g.scopes, ["openid", "email", "https://www.googleapis.com/auth/calendar.app.created"]);
    assert_eq!(g.allowed_domains, ["example.com"]);
    let m = t.app.access.resolve_provider(&c, "m").await.unwrap();
    assert_eq!(
        m.issuer.as_deref(),
        Some("https://login.microsoftonline.com/0f5c6a3e-1b2c-4d5e-8f90-123456789abc/v2.0")
    );
    assert!(m.authorization_endpoint.as_str().contains("/0f5c6a3e-1b2c-4d5e-8f90-123456789abc/oauth2/v2.0/authorize"));
    assert_eq!(m.revocation_endpoint, None, "Microsoft has no RFC 7009 endpoint");
    assert!(m.scopes.contains(&"https://graph.microsoft.com/Calendars.ReadWrite".to_owned()));
    assert!(m.scopes.contains(&"offline_access".to_owned()));
    let m2 = t.app.access.resolve_provider(&c, "m2").await.unwrap();
    assert_eq!(m2.issuer.as_deref(), Some("https://login.microsoftonline.com/{tenantid}/v2.0"));
    assert_eq!(m2.token_endpoint, "https://login.microsoftonline.us/organizations/oauth2/v2.0/token");
    // An unknown provider is a 404 for the user.
    let e = t.app.access.resolve_provider(&c, "nope").await.unwrap_err();
    assert_eq!(e.status().as_u16(), 404);
    assert!(!format!("{:?}", g.client).contains("g-secret"));
}

// ---- an OAuth account reaches its calendar API ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_google_account_reaches_its_calendars_and_refreshes_a_refused_token() {
    let t = app_now(TestDb::sqlite()).await;
    let Some(GoogleAlice { peer: _peer, google, admin: _admin, alice, browser: _browser, account: id }) =
        google_alice(&t).await
    else {
        return;
    };

    // flowcal's own calendar, created at the calendar service and chosen.
    let (s, b) = t
        .call(
            Method::PUT,
            &format!("/api/v1/calendar-accounts/{id}/calendar"),
            &alice,
            Some(json!({"calendar": "own"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let own = b["calendar"].as_str().unwrap().to_owned();
    let (s, b) = t.get(&format!("/api/v1/calendar-accounts/{id}/calendars"), &alice).await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b["calendars"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"flowcal") && names.contains(&"Family"), "{names:?}");

    // The service refuses the access token once: flowcal refreshes it and tries again.
    let (_, creds) = stored_credentials(&t, id).await;
    let old = creds["access_token"].as_str().unwrap().to_owned();
    google.fail_next(1, crate::google_double::Fault::Unauthorized);
    let (s, b) = t.get(&format!("/api/v1/calendar-accounts/{id}/calendars"), &alice).await;
    assert_eq!(s, 200, "{b}");
    let (_, creds) = stored_credentials(&t, id).await;
    assert_ne!(creds["access_token"].as_str().unwrap(), old, "a new access token was fetched");
    // Choosing "own" again uses the stored calendar id (Google's least scope cannot search the list).
    let (s, b) = t
        .call(
            Method::PUT,
            &format!("/api/v1/calendar-accounts/{id}/calendar"),
            &alice,
            Some(json!({"calendar": "own"})),
        )
        .await;
    assert_eq!((s, b["calendar"].as_str()), (200, Some(own.as_str())), "{b}");
    // Refused again after the refresh: the account waits for the user to reconnect.
    google.fail_next(2, crate::google_double::Fault::Unauthorized);
    let (s, b) = t.get(&format!("/api/v1/calendar-accounts/{id}/calendars"), &alice).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(accounts(&t, &alice).await[0]["status"], "reconnect_required");
    assert!(google.take_violations().is_empty(), "every request kept to the contract");
}

// ---- the export button and delivery ---------------------------------------------------------

crate::on_both_backends!(peers: exports_reach_radicale_and_survive_an_outage);

async fn exports_reach_radicale_and_survive_an_outage(db: TestDb) {
    let t = TestApp::spawn_with(db, "[delivery]\nworkers = 0\nattempts = 3\nbackoff_seconds = 10\n").await;
    let Some(mut radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let bob = t.user("bob", false, &[]).await;
    for who in [&alice, &bob] {
        let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", who, Some(json!({"calendar_export": true}))).await;
        assert_eq!(s, 200);
    }
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
    let url = format!("http://127.0.0.1:{port}/");
    let connect = json!({"url": url, "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect.clone()).await;
    assert_eq!(s, 201, "{acc}");
    let account = acc["id"].as_i64().unwrap();
    assert_eq!(t.upload(&admin, crate::support::leave_model()).await.0, 201);
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "Easter",
                   "data": {"first_day": "2026-03-30", "days": 8, "handover": "2026-03-29T01:30:00+01:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = tasks["tasks"][0]["id"].as_i64().unwrap();
    let export = |source: &str| json!({"task": task, "source": source, "account": account});
    let show = |id: i64| {
        let (t, alice) = (&t, alice.clone());
        async move { t.get(&format!("/api/v1/exports/{id}"), &alice).await.1 }
    };
    let on_calendar = |key: String, calendar: String| read_back(&t, account, calendar, key);

    // Only the task's assignee (or role) may export it, and only to their own account.
    let (s, _) = t.post("/api/v1/exports", &bob, export("deadline")).await;
    assert_eq!(s, 404);
    let (s, _) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "item:days", "account": account})).await;
    assert_eq!(s, 422, "a number item is no date");

    // The button: pending, then in the calendar (flowcal's own, created on the way).
    let (s, e) = t.post("/api/v1/exports", &alice, export("deadline")).await;
    assert_eq!((s, e["state"].as_str()), (202, Some("pending")), "{e}");
    let id = e["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let e = show(id).await;
    assert_eq!(e["state"], "synced", "{e}");
    let calendar = e["calendar"].as_str().unwrap().to_owned();
    assert!(calendar.starts_with(&format!("http://127.0.0.1:{port}/alice/")), "{calendar}");
    let key = flowcal_calendar::event_key(
        t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0,
        &format!("task:{task}:deadline"),
    );
    let got = on_calendar(key.clone(), calendar.clone()).await.expect("the deadline is on the calendar");
    assert_eq!(got.title, "Approve — Easter");

    // Pressed again: the same export; unchanged content makes no call.
    let (s, again) = t.post("/api/v1/exports", &alice, export("deadline")).await;
    assert_eq!((s, again["id"].as_i64()), (202, Some(id)));
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let e2 = show(id).await;
    assert_eq!((e2["state"].as_str(), &e2["remote_id"]), (Some("synced"), &e["remote_id"]));
    let stored = t.app.store.export(id).await.unwrap().unwrap();
    assert_eq!(stored.sequence, 0, "no change, no new SEQUENCE");

    // An outage: retried with backoff, failed after three attempts, retried by hand once it is back.
    radicale.stop();
    let (_, item) = t.post("/api/v1/exports", &alice, export("item:first_day")).await;
    let item_id = item["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let e = show(item_id).await;
    assert_eq!((e["state"].as_str(), e["attempts"].as_i64()), (Some("pending"), Some(1)), "{e}");
    assert!(e["last_error"].as_str().unwrap().contains("connect"), "{e}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 0, "not due before its backoff");
    for attempt in 2..=3 {
        t.clock.set(t.app.now() + jiff::SignedDuration::from_secs(3600));
        assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
        assert_eq!(show(item_id).await["attempts"].as_i64(), Some(attempt));
    }
    let e = show(item_id).await;
    assert_eq!(e["state"], "failed", "{e}");
    radicale.restart().await;
    let (s, e) = t.post(&format!("/api/v1/exports/{item_id}/retry"), &alice, json!({})).await;
    assert_eq!((s, e["state"].as_str()), (202, Some("pending")), "{e}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(show(item_id).await["state"], "synced");

    // An account that needs reconnecting: its exports wait, then go out.
    t.app
        .store
        .mark_reconnect_required(
            account,
            "test",
            t.app.now(),
            flowcal_store::Audit { action: "refresh_failed", detail: "{}".into() },
        )
        .await
        .unwrap();
    let (_, timed) = t.post("/api/v1/exports", &alice, export("item:handover")).await;
    let timed_id = timed["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 0, "nothing goes to an account that needs reconnecting");
    assert_eq!(show(timed_id).await["state"], "pending");
    let (s, _) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 200, "reconnected");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(show(timed_id).await["state"], "synced");

    // Remove: the entry leaves the calendar.
    let (s, e) = t.call(Method::DELETE, &format!("/api/v1/exports/{id}"), &alice, None).await;
    assert_eq!((s, e["wanted"].as_str()), (202, Some("absent")), "{e}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(show(id).await["state"], "removed");
    assert!(on_calendar(key, calendar).await.is_none());
    let (s, list) = t.get("/api/v1/exports", &alice).await;
    assert_eq!((s, list["exports"].as_array().map(Vec::len)), (200, Some(3)));
    let (_, list) = t.get("/api/v1/exports", &bob).await;
    assert_eq!(list["exports"].as_array().map(Vec::len), Some(0));
}

/// The entry `key` as the account's calendar holds it now, read through
/// the account's own connector.
async fn read_back(t: &TestApp, account: i64, calendar: String, key: String) -> Option<flowcal_calendar::RemoteEvent> {
    let acc = t.app.store.account(account).await.unwrap().unwrap();
    t.app
        .access
        .with_connector(&acc, move |c| {
            let (cal, key) = (calendar.clone(), key.clone());
            Box::pin(async move { flowcal_calendar::Connector::get_event(c, &cal, &key, None).await })
        })
        .await
        .unwrap()
}

// ---- auto-sync: the calendar follows the workflow --------------------------------------------

crate::on_both_backends!(peers: auto_sync_follows_the_workflow);

async fn auto_sync_follows_the_workflow(db: TestDb) {
    let t = TestApp::spawn_with(db, "[metrics]\npublic = true").await;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
    let connect =
        json!({"url": format!("http://127.0.0.1:{port}/"), "username": "alice", "password": "app-password-1"});
    let (_, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    let account = acc["id"].as_i64().unwrap();
    let (s, me) = t
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            &alice,
            Some(json!({"auto_sync": {"account": account, "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["auto_sync"]["account"].as_i64(), Some(account));
    let calendar = t.app.store.account(account).await.unwrap().unwrap().calendar.unwrap();
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    let entry = |task: i64| {
        let key = flowcal_calendar::event_key(alice_id, &format!("task:{task}:deadline"));
        read_back(&t, account, calendar.clone(), key)
    };
    let open_tasks = || {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (_, b) = t.get("/api/v1/tasks?state=open", &alice).await;
            b["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["step"].as_str().unwrap().to_owned(), t["id"].as_i64().unwrap()))
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(t.upload(&admin, crate::support::leave_model()).await.0, 201);
    let (_, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "leave", "title": "Easter", "data": {"first_day": "2026-03-30", "days": 8}}),
        )
        .await;
    let instance = inst["id"].as_i64().unwrap();
    let tasks = open_tasks().await;
    let approve = tasks.iter().find(|(s, _)| s == "approve").unwrap().1;
    // A role's task is nobody's until claimed: nothing to deliver yet.
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 0);
    let (s, _) = t.post(&format!("/api/v1/tasks/{approve}/claim"), &alice, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(entry(approve).await.unwrap().title, "Approve — Easter");

    // Completing it removes it; the next steps (hers) appear.
    let (s, _) =
        t.post(&format!("/api/v1/tasks/{approve}/complete"), &alice, json!({"data": {"approved": true}})).await;
    assert_eq!(s, 200);
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    assert!(entry(approve).await.is_none(), "a completed task leaves the calendar");
    let tasks = open_tasks().await;
    let prep = tasks.iter().find(|(s, _)| s == "handover_prep").unwrap().1;
    assert!(tasks.iter().all(|(s, _)| s != "book"), "booking is the hr role's, not hers");
    assert_eq!(entry(prep).await.unwrap().when, flowcal_calendar::When::Date("2026-03-29".parse().unwrap()));

    // The deadline follows the item it comes from; five changes before delivery make one update with the last value.
    for day in ["2026-04-06", "2026-04-07", "2026-04-08", "2026-04-09", "2026-04-13"] {
        let (s, b) = t
            .call(
                Method::PATCH,
                &format!("/api/v1/instances/{instance}/data"),
                &admin,
                Some(json!({"data": {"first_day": day}})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let report = t.app.delivery.deliver_due_report("test-worker").await.unwrap();
    assert_eq!(report.len(), 1, "one delivery per entry, not one per change");
    assert_eq!(entry(prep).await.unwrap().when, flowcal_calendar::When::Date("2026-04-12".parse().unwrap()));
    let prep_export = t.app.store.exports_of(flowcal_domain::UserId(alice_id)).await.unwrap();
    let prep_export = prep_export.iter().find(|e| e.task_id == Some(prep)).unwrap();
    assert_eq!((prep_export.state.as_str(), prep_export.sequence), ("synced", 1));

    // Keeping done tasks: the completed step stays, marked done.
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            &alice,
            Some(json!({"auto_sync": {"account": account, "keep_done": true}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = t.post(&format!("/api/v1/tasks/{prep}/complete"), &alice, json!({"data": {}})).await;
    assert_eq!(s, 200);
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    assert_eq!(entry(prep).await.unwrap().title, "✓ done: Prepare hand-over — Easter");
    // Turning it on keeps the earlier completed step too.
    assert_eq!(entry(approve).await.unwrap().title, "✓ done: Approve — Easter");

    // The backfill command's work: nothing changed, so nothing is sent; safe to run twice.
    for _ in 0..2 {
        let summary = t.app.exports.export_sync("alice", None, |_, _| {}).await.unwrap();
        assert_eq!(summary.get("created"), None, "{summary:?}");
        assert_eq!(summary.get("updated"), None, "{summary:?}");
    }

    // /metrics tells what is where.
    let text = t.client.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("flowcal_exports{state=\"synced\",kind=\"caldav\"} 2"), "{text}");
    assert!(text.contains("flowcal_deliveries_total{outcome=\"created\",kind=\"caldav\"}"), "{text}");
    assert!(text.contains("flowcal_exports_oldest_pending_seconds 0"), "{text}");

    // Auto-sync off: its entries leave the calendar.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"auto_sync": null}))).await;
    assert_eq!((s, me["auto_sync"].is_null()), (200, true));
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    assert!(entry(prep).await.is_none() && entry(approve).await.is_none());
}

// ---- a backfill killed with SIGKILL, three times ---------------------------------------------

/// One user task, the starter's, due two days after it starts.
const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

/// How many events the calendar collection at `url` holds.
pub(crate) async fn events_in(url: &str) -> usize {
    let r = Client::new()
        .request(Method::from_bytes(b"PROPFIND").unwrap(), url)
        .basic_auth("alice", Some("app-password-1"))
        .header("Depth", "1")
        .header("Content-Type", "application/xml")
        .body(r#"<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>"#)
        .send()
        .await
        .unwrap();
    r.text().await.unwrap().matches(".ics</").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_backfill_killed_three_times_leaves_every_event_once() {
    use flowcal_server::clock::SystemClock;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let dir = tempfile::tempdir().unwrap();
    let config_text = format!(
        "data_dir = \"{}\"\ntime_zone = \"Europe/Berlin\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n\
         [delivery]\nworkers = 0\nlease_seconds = 2\n",
        dir.path().join("data").display()
    );
    let config_file = dir.path().join("flowcal.toml");
    std::fs::write(&config_file, &config_text).unwrap();
    let config = flowcal_server::config::Config::from_parts(&config_text, "test", &[]).unwrap();

    // 500 open tasks with deadlines, each on its own instance.
    let (account, calendar) = {
        let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
        let user = app.access.add_user("alice", false, &[], Some("password-123")).await.unwrap();
        let p = flowcal_server::principal::Principal { user, roles: vec![] };
        let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
        let p = flowcal_server::principal::Principal { user, roles: vec![] };
        let url = format!("http://127.0.0.1:{port}/");
        let (acc, _) = app.access.connect_caldav(&p, &url, "alice", "app-password-1").await.unwrap();
        let acc = app.access.choose_calendar(&p, acc.id, "own").await.unwrap();
        app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
        for i in 0..500 {
            app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
        }
        app.store.close();
        (acc.id, acc.calendar.unwrap())
    };
    assert_eq!(events_in(&calendar).await, 0);

    let run = || {
        Peer::spawn(
            Command::new(env!("CARGO_BIN_EXE_flowcal"))
                .args(["export", "sync", "--user", "alice", "--account", &account.to_string()])
                .env("FLOWCAL_CONFIG", &config_file)
                .env_remove("FLOWCAL_DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .unwrap()
    };
    // Killed (SIGKILL) three times while it delivers; started again each time.
    // Each round delivers a hundred more, and is killed while still running.
    let mut counts = vec![0];
    for round in 1..=3 {
        let before = counts[counts.len() - 1];
        let mut child = run();
        let started = Instant::now();
        loop {
            let n = events_in(&calendar).await;
            if n >= before + 100 {
                break;
            }
            if let Some(status) = child.child().try_wait().unwrap() {
                panic!("round {round}: the sync ended by itself ({status}) at {n} events, before it was killed");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: {n} events after a minute ({before} before)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.child().kill().unwrap();
        let status = child.child().wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "round {round}: SIGKILL ended the sync, which was still running ({status})"
        );
        let n = events_in(&calendar).await;
        assert!(n > before, "round {round} delivered nothing: {n} events, {before} before it");
        assert!(n < 500, "round {round}: the kill came after everything was delivered ({n})");
        counts.push(n);
    }
    println!("events after each killed round: {counts:?}");
    // The last run finishes; a repeat finds nothing to do.
    let out = run().wait_with_output().unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("failed 0"), "{said}");
    let out = run().wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    // Each entry looked at again (auto-sync turned on again), none sent.
    assert!(said.starts_with("500 entries: created 0, updated 0, unchanged 500,"), "{said}");

    // Exactly 500 events, each once, with the right content.
    assert_eq!(events_in(&calendar).await, 500);
    let all = Client::new()
        .get(&calendar)
        .basic_auth("alice", Some("app-password-1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("\r\n ", "");
    let uids: std::collections::HashSet<&str> = all.lines().filter(|l| l.starts_with("UID:")).collect();
    assert_eq!(uids.len(), 500);
    for i in [0, 137, 499] {
        assert!(all.contains(&format!("SUMMARY:Check — Case {i}\r")), "Case {i}");
    }
}

// ---- a grant revoked while entries are on their way ------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn exports_wait_through_a_revoked_grant_and_go_out_after_reconnecting() {
    let t = app_now(TestDb::sqlite()).await;
    let Some(GoogleAlice { peer, google, admin, alice, browser, account }) = google_alice(&t).await else { return };
    let (s, b) = t
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            &alice,
            Some(json!({"auto_sync": {"account": account, "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let calendar = t.app.store.account(account).await.unwrap().unwrap().calendar.unwrap();
    assert_eq!(t.upload(&admin, DUE_MODEL).await.0, 201);
    let start = |n: usize| {
        let (t, alice) = (&t, alice.clone());
        async move {
            for i in 0..n {
                let (s, b) =
                    t.post("/api/v1/instances", &alice, json!({"model": "due", "title": format!("Case {i}")})).await;
                assert_eq!(s, 201, "{b}");
            }
        }
    };
    start(5).await;
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 5);
    assert_eq!(google.events(&calendar).len(), 5);

    // The user revokes flowcal's access at the provider; the access token then expires.
    let (_, creds) = stored_credentials(&t, account).await;
    peer.revoke(creds["refresh_token"].as_str().unwrap()).await;
    t.clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2 * 3600));
    start(3).await;
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 3);
    assert_eq!(accounts(&t, &alice).await[0]["status"], "reconnect_required");
    let (_, list) = t.get("/api/v1/exports", &alice).await;
    let waiting = list["exports"].as_array().unwrap().iter().filter(|e| e["state"] == "waiting").count();
    assert_eq!(waiting, 3, "{list}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 0, "nothing goes out while the account needs reconnecting");

    // Reconnected: every waiting export is delivered, none twice.
    t.clock.set(jiff::Timestamp::now());
    let back = browser.start_connect(&t, "g", "alice@example.com").await;
    assert_eq!(browser.visit(&back).await.0, 200);
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 3);
    assert_eq!(google.events(&calendar).len(), 8);
    let (_, list) = t.get("/api/v1/exports", &alice).await;
    assert!(list["exports"].as_array().unwrap().iter().all(|e| e["state"] == "synced"), "{list}");
    assert!(google.take_violations().is_empty());
}

// ---- two worker processes share the outbox ---------------------------------------------------

crate::on_both_backends!(peers: two_worker_processes_deliver_each_export_once);

async fn two_worker_processes_deliver_each_export_once(db: TestDb) {
    let t = app_now(db).await;
    let Some(GoogleAlice { peer: _peer, google, admin: _admin, alice, browser: _browser, account }) =
        google_alice(&t).await
    else {
        return;
    };
    t.app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
    let p = t.app.access.principal_by_token(&alice).await.unwrap().unwrap();
    for i in 0..1000 {
        t.app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
    }

    // Two `flowcal worker` processes on the same database; the 1,000 exports
    // appear at once when both are running (auto-sync is switched on then).
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("flowcal.toml");
    let c = &t.app.config;
    std::fs::write(
        &config_file,
        format!(
            "data_dir = \"{}\"\ndatabase_url = \"{}\"\nsecret_key_file = \"{}\"\npublic_url = \"{}\"\nlog = \"info\"\n",
            dir.path().display(),
            c.database_url,
            c.secret_key_file.display(),
            c.public_url
        ),
    )
    .unwrap();
    let requests_before = google.log().iter().filter(|l| !l.starts_with("batch: ")).count();
    // Each worker logs its start and every pass that handled exports, with its
    // own id: its standard error is read line by line on a thread of its own.
    let mut workers = Vec::new();
    let mut logs = Vec::new();
    let mut seen: Vec<Arc<Mutex<String>>> = Vec::new();
    for _ in 0..2 {
        let mut w = Peer::spawn(
            Command::new(env!("CARGO_BIN_EXE_flowcal"))
                .arg("worker")
                .env("FLOWCAL_CONFIG", &config_file)
                .env("NO_COLOR", "1")
                .env_remove("RUST_LOG")
                .env_remove("FLOWCAL_DATABASE_URL")
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        )
        .unwrap();
        let err = std::io::BufReader::new(w.child().stderr.take().unwrap());
        let so_far = Arc::new(Mutex::new(String::new()));
        seen.push(so_far.clone());
        logs.push(std::thread::spawn(move || {
            for line in std::io::BufRead::lines(err).map_while(Result::ok) {
                let mut text = so_far.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
            so_far.lock().unwrap().clone()
        }));
        workers.push(w);
    }
    wait_until(Duration::from_secs(60), "both workers running", || {
        let up = seen.iter().all(|s| s.lock().unwrap().contains("flowcal worker is delivering calendar entries"));
        async move { up.then_some(()) }
    })
    .await;
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/me/settings",
            &alice,
            Some(json!({"auto_sync": {"account": account, "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200);
    let calendar = t.app.store.account(account).await.unwrap().unwrap().calendar.unwrap();
    let user = flowcal_domain::UserId(p.user.id.0);
    let synced = wait_until(Duration::from_secs(120), "1,000 synced exports", || {
        let store = t.app.store.clone();
        async move {
            let n = store.exports_of(user).await.unwrap().iter().filter(|e| e.state.as_str() == "synced").count();
            (n == 1000).then_some(n)
        }
    })
    .await;
    for w in &mut workers {
        w.stop();
    }
    assert_eq!(synced, 1000);
    // Together the workers did all of the work, once.
    let mut ids = Vec::new();
    let mut shares = Vec::new();
    for log in logs {
        let text = log.join().unwrap();
        let passes: Vec<(String, usize)> = text.lines().filter_map(delivery_pass).collect();
        let mine: std::collections::BTreeSet<&str> = passes.iter().map(|(w, _)| w.as_str()).collect();
        assert!(mine.len() <= 1, "one worker per process: {mine:?}");
        ids.extend(mine.into_iter().map(str::to_owned));
        shares.push(passes.iter().map(|(_, n)| n).sum::<usize>());
    }
    // How the work is shared is up to the scheduler (a fast worker may take
    // it all), so only the sum is asserted: each export once, whoever sent it.
    println!("exports delivered by each worker process: {shares:?}");
    assert_eq!(ids.len(), 2, "two workers, each with its own id: {ids:?}");
    assert_eq!(shares.iter().sum::<usize>(), 1000, "{shares:?}");
    assert_eq!(synced, 1000);
    // Each export went out once: 1,000 inserts, no second attempt at any,
    // in batch requests of at most 50.
    let log = google.log();
    let inserts = log
        .iter()
        .filter(|l| {
            l.trim_start_matches("batch: ").starts_with("POST /calendar/v3/calendars/") && l.contains("/events ")
        })
        .count();
    assert_eq!(inserts, 1000, "one insert per export");
    let batches = google.batches();
    assert_eq!(batches.iter().sum::<usize>(), 1000, "every insert in a batch request: {batches:?}");
    // After the calendar was made (switching auto-sync on), nothing but the batch requests.
    let outer: Vec<&String> = log.iter().filter(|l| !l.starts_with("batch: ")).skip(requests_before).collect();
    let requests = outer.iter().filter(|l| l.starts_with("POST /batch/")).count();
    assert_eq!(requests, batches.len(), "{outer:?}");
    assert!(outer.iter().all(|l| l.starts_with("POST /batch/") || !l.contains("/events")), "{outer:?}");
    assert!(requests <= 25, "{requests} requests for 1,000 new events: {batches:?}");
    assert_eq!(google.events(&calendar).len(), 1000);
    assert!(google.take_violations().is_empty());
}

/// A worker's log line for a pass that handled exports: its id and how many.
fn delivery_pass(line: &str) -> Option<(String, usize)> {
    if !line.contains("delivery pass") {
        return None;
    }
    let field = |name: &str| {
        let at = line.find(&format!(" {name}="))? + name.len() + 2;
        line[at..].split_whitespace().next().map(str::to_owned)
    };
    Some((field("worker")?, field("exports")?.parse().ok()?))
}

/// Polls `check` until it gives a value; fails the test, naming `what`, when
/// `limit` passes first.
pub(crate) async fn wait_until<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- a Google backfill goes out in batch requests --------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_google_backfill_of_1000_deadlines_sends_20_batch_requests() {
    let t = app_now(TestDb::sqlite()).await;
    let Some(GoogleAlice { peer: _peer, google, admin: _admin, alice, browser: _browser, account }) =
        google_alice(&t).await
    else {
        return;
    };
    t.app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
    let p = t.app.access.principal_by_token(&alice).await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let v = t.app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
        tasks.push(v.tasks[0].id);
    }
    let outer = |log: &[String]| log.iter().filter(|l| !l.starts_with("batch: ")).count();
    let before = outer(&google.log());

    // `flowcal export sync --user alice --account ID`.
    let summary = t.app.exports.export_sync("alice", Some(account), |_, _| {}).await.unwrap();
    assert_eq!(summary.get("created"), Some(&1000), "{summary:?}");
    let log = google.log();
    let requests = outer(&log) - before;
    println!("a 1,000-event Google backfill: {requests} HTTP requests, batches {:?}", google.batches());
    // flowcal's own calendar is looked for (the double's list has two pages)
    // and made, once; then 20 batch requests of 50 events.
    assert_eq!(google.batches(), vec![50; 20]);
    let lines: Vec<&String> = log.iter().filter(|l| !l.starts_with("batch: ")).skip(before).collect();
    assert_eq!(requests, 23, "{lines:?}");
    let calendar = t.app.store.account(account).await.unwrap().unwrap().calendar.unwrap();
    let events = google.events(&calendar);
    assert_eq!(events.len(), 1000);

    // Run again: nothing to send. One deadline changed: one update, alone.
    let summary = t.app.exports.export_sync("alice", None, |_, _| {}).await.unwrap();
    assert_eq!((summary.get("created"), summary.get("updated")), (None, None), "{summary:?}");
    assert_eq!(outer(&google.log()), outer(&log));
    // A completed task: one DELETE, nothing else.
    let (s, b) = t.post(&format!("/api/v1/tasks/{}/complete", tasks[7].0), &alice, json!({"data": {}})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let log = google.log();
    assert_eq!(outer(&log) - before, 24);
    assert!(log.last().unwrap().starts_with("DELETE /calendar/v3/calendars/"), "{:?}", log.last());
    let live = google.events(&calendar).iter().filter(|e| e["status"] != "cancelled").count();
    assert_eq!(live, 999);
    assert!(google.take_violations().is_empty());
}

// ---- Radicale down for a minute under a running worker ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_worker_rides_out_a_minute_long_calendar_outage() {
    use flowcal_server::clock::SystemClock;
    let Some(mut radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let dir = tempfile::tempdir().unwrap();
    let config_text = format!(
        "data_dir = \"{}\"\ntime_zone = \"Europe/Berlin\"\nlog = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n\
         [delivery]\nworkers = 0\nattempts = 8\nbackoff_seconds = 2\nmax_backoff_seconds = 20\nlease_seconds = 5\n",
        dir.path().join("data").display()
    );
    let config_file = dir.path().join("flowcal.toml");
    std::fs::write(&config_file, &config_text).unwrap();
    let config = flowcal_server::config::Config::from_parts(&config_text, "test", &[]).unwrap();
    let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
    let user = app.access.add_user("alice", false, &[], Some("password-123")).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = flowcal_server::principal::Principal { user, roles: vec![] };
    let (acc, _) =
        app.access.connect_caldav(&p, &format!("http://127.0.0.1:{port}/"), "alice", "app-password-1").await.unwrap();
    let calendar = app.access.choose_calendar(&p, acc.id, "own").await.unwrap().calendar.unwrap();
    app.workflow.import_model(None, DUE_MODEL.as_bytes()).await.unwrap();
    for i in 0..300 {
        app.workflow.start_instance(&p, "due", &format!("Case {i}"), &serde_json::Map::new()).await.unwrap();
    }

    let mut worker = Peer::spawn(
        Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .arg("worker")
            .env("FLOWCAL_CONFIG", &config_file)
            .env_remove("FLOWCAL_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    app.exports.set_auto_sync(&p, Some((acc.id, None, false))).await.unwrap();
    let cal = calendar.clone();
    wait_until(Duration::from_secs(60), "100 events before the outage", || {
        let cal = cal.clone();
        async move { (events_in(&cal).await >= 100).then_some(()) }
    })
    .await;

    // Radicale is down for a minute, measured. Throughout, the worker keeps
    // running and retrying, and no export gives up.
    radicale.stop();
    let outage = Instant::now();
    let mut retried = 0;
    while outage.elapsed() < Duration::from_secs(60) {
        let during = app.store.exports_of(p.user.id).await.unwrap();
        let at = outage.elapsed().as_secs();
        assert!(
            during.iter().all(|e| e.state.as_str() != "failed"),
            "an export failed {at} s into the outage: eight attempts outlast a minute with these delays"
        );
        retried = retried.max(during.iter().filter(|e| e.state.as_str() == "pending" && e.attempts > 0).count());
        assert!(worker.child().try_wait().unwrap().is_none(), "the worker stopped {at} s into the outage");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(retried > 0, "the outage made deliveries retry");
    radicale.restart().await;
    let store = app.store.clone();
    let synced = wait_until(Duration::from_secs(120), "300 synced exports after the outage", || {
        let store = store.clone();
        async move {
            let n = store.exports_of(p.user.id).await.unwrap().iter().filter(|e| e.state.as_str() == "synced").count();
            (n == 300).then_some(n)
        }
    })
    .await;
    worker.stop();
    assert_eq!(synced, 300, "everything arrived after the outage");
    assert_eq!(events_in(&calendar).await, 300, "each once");
}

// ---- `flowcal serve` delivers by itself ---------------------------------------------------------

crate::on_both_backends!(peers: flowcal_serve_delivers_with_its_own_workers);

/// `flowcal serve` as a process, with `[delivery] workers = 2` and no other
/// process delivering: work created over HTTP reaches Radicale.
async fn flowcal_serve_delivers_with_its_own_workers(db: TestDb) {
    use flowcal_server::clock::SystemClock;
    let Some(radicale) = Radicale::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config_text = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\ndatabase_url = \"{}\"\ntime_zone = \"Europe/Berlin\"\n\
         log = \"warn\"\n[caldav]\nallowed_hosts = [\"127.0.0.1:{}\"]\n[delivery]\nworkers = 2\n",
        dir.path().join("data").display(),
        db.url,
        radicale.port
    );
    let config_file = dir.path().join("flowcal.toml");
    std::fs::write(&config_file, &config_text).unwrap();
    // The users and their tokens, written before the server starts.
    let (admin, alice) = {
        let config = flowcal_server::config::Config::from_parts(&config_text, "test", &[]).unwrap();
        let app = flowcal_server::build(config, Arc::new(SystemClock)).await.unwrap();
        app.access.add_user("root", true, &[], None).await.unwrap();
        app.access.add_user("alice", false, &[], None).await.unwrap();
        let tokens = (
            app.access.create_token("root", "test").await.unwrap(),
            app.access.create_token("alice", "test").await.unwrap(),
        );
        app.store.close();
        tokens
    };
    let _serve = Peer::spawn(
        Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .arg("serve")
            .env("FLOWCAL_CONFIG", &config_file)
            .env_remove("FLOWCAL_DATABASE_URL")
            .env_remove("FLOWCAL_DELIVERY__WORKERS")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = Client::new();
    wait_until(Duration::from_secs(30), "flowcal serve to answer /healthz", || {
        let (http, url) = (http.clone(), format!("{base}/healthz"));
        async move { http.get(url).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
    let call = |method: Method, path: &str, token: &str, body: Option<Json>| {
        let mut req = http.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { crate::support::read(req.send().await.unwrap()).await }
    };

    let (s, b) = call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200, "{b}");
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "alice", "password": "app-password-1"});
    let (s, acc) = call(Method::POST, "/api/v1/calendar-accounts/caldav", &alice, Some(connect)).await;
    assert_eq!(s, 201, "{acc}");
    let account = acc["id"].as_i64().unwrap();
    let r = http
        .post(format!("{base}/api/v1/models"))
        .bearer_auth(&admin)
        .header("content-type", "application/xml")
        .body(DUE_MODEL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let start = |title: &'static str| {
        let call = &call;
        let alice = alice.clone();
        async move {
            let (s, inst) =
                call(Method::POST, "/api/v1/instances", &alice, Some(json!({"model": "due", "title": title}))).await;
            assert_eq!(s, 201, "{inst}");
            inst["tasks"][0]["id"].as_i64().unwrap()
        }
    };

    // The button: the export is pending, and serve's workers deliver it.
    let task = start("Pressed").await;
    let (s, e) = call(
        Method::POST,
        "/api/v1/exports",
        &alice,
        Some(json!({"task": task, "source": "deadline", "account": account})),
    )
    .await;
    assert_eq!(s, 202, "{e}");
    let id = e["id"].as_i64().unwrap();
    let calendar = wait_until(Duration::from_secs(60), "the pressed export to be synced", || {
        let req = call(Method::GET, &format!("/api/v1/exports/{id}"), &alice, None);
        async move {
            let (_, e) = req.await;
            (e["state"] == "synced").then(|| e["calendar"].as_str().unwrap().to_owned())
        }
    })
    .await;
    let text = calendar_text(&calendar, "alice", "app-password-1").await;
    assert!(text.contains("SUMMARY:Check — Pressed\r"), "{text}");

    // Auto-sync: a new task's deadline follows without any button.
    let (s, b) =
        call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"auto_sync": {"account": account}}))).await;
    assert_eq!(s, 200, "{b}");
    start("Followed").await;
    let cal = calendar.clone();
    wait_until(Duration::from_secs(60), "the auto-synced entry in Radicale", || {
        let cal = cal.clone();
        async move {
            calendar_text(&cal, "alice", "app-password-1").await.contains("SUMMARY:Check — Followed\r").then_some(())
        }
    })
    .await;
    assert_eq!(events_in(&calendar).await, 2);
}

/// A calendar collection's entries as iCalendar text, read straight from the
/// CalDAV server (folded lines joined).
pub(crate) async fn calendar_text(url: &str, user: &str, password: &str) -> String {
    let r = Client::new().get(url).basic_auth(user, Some(password)).send().await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.text().await.unwrap().replace("\r\n ", "")
}

// ---- entries leave the calendar when their task does --------------------------------------------

/// One step assigned through a `user` item, due on a date item.
const OWNED_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="d" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="owned" name="Owned" isExecutable="true">
    <bpmn:extensionElements>
      <flowcal:dataItem key="owner" label="Owner" type="user" required="true"/>
      <flowcal:dataItem key="due" label="Due" type="date" required="true"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="work" name="Hand over" flowcal:assignee="item:owner" flowcal:deadlineFrom="due"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

crate::on_both_backends!(peers: entries_leave_the_calendar_when_an_instance_is_cancelled_or_its_task_reassigned);

/// The button's entries and auto-sync's leave Radicale when the instance is
/// cancelled and when the task goes to someone else through its `user` item;
/// the new assignee, who uses auto-sync, gets it. Read from Radicale itself.
async fn entries_leave_the_calendar_when_an_instance_is_cancelled_or_its_task_reassigned(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let bob = t.user("bob", false, &[]).await;
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(body)).await.0, 200);
    let mut calendars = Vec::new();
    for (who, login, password) in [(&alice, "alice", "app-password-1"), (&bob, "bob", "app-password-2")] {
        let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", who, Some(json!({"calendar_export": true}))).await;
        assert_eq!(s, 200);
        let connect = json!({"url": format!("http://127.0.0.1:{port}/"), "username": login, "password": password});
        let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", who, connect).await;
        assert_eq!(s, 201, "{acc}");
        let id = acc["id"].as_i64().unwrap();
        let (s, acc) = t
            .call(
                Method::PUT,
                &format!("/api/v1/calendar-accounts/{id}/calendar"),
                who,
                Some(json!({"calendar": "own"})),
            )
            .await;
        assert_eq!(s, 200, "{acc}");
        calendars.push((id, acc["calendar"].as_str().unwrap().to_owned(), login, password));
    }
    let (alice_account, alice_calendar) = (calendars[0].0, calendars[0].1.clone());
    let (bob_account, bob_calendar) = (calendars[1].0, calendars[1].1.clone());
    // What each calendar shows: the SUMMARY lines, read from Radicale.
    let shown = |who: usize| {
        let (_, url, login, password) = calendars[who].clone();
        async move {
            let text = calendar_text(&url, login, password).await;
            let mut titles: Vec<String> =
                text.lines().filter_map(|l| l.strip_prefix("SUMMARY:")).map(str::to_owned).collect();
            titles.sort();
            titles
        }
    };
    let deliver = || {
        let t = &t;
        async move { while t.app.exports.deliver_due().await.unwrap() > 0 {} }
    };
    assert_eq!(t.upload(&admin, OWNED_MODEL).await.0, 201);
    let start = |title: &'static str| {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (s, inst) = t
                .post(
                    "/api/v1/instances",
                    &alice,
                    json!({"model": "owned", "title": title, "data": {"owner": "alice", "due": "2026-04-20"}}),
                )
                .await;
            assert_eq!(s, 201, "{inst}");
            (inst["id"].as_i64().unwrap(), inst["tasks"][0]["id"].as_i64().unwrap())
        }
    };
    let press = |task: i64, source: &'static str| {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (s, e) = t
                .post("/api/v1/exports", &alice, json!({"task": task, "source": source, "account": alice_account}))
                .await;
            assert_eq!(s, 202, "{e}");
            e["id"].as_i64().unwrap()
        }
    };
    let reassign = |instance: i64, to: &'static str| {
        let (t, admin) = (&t, admin.clone());
        async move {
            let path = format!("/api/v1/instances/{instance}/data");
            let (s, b) = t.call(Method::PATCH, &path, &admin, Some(json!({"data": {"owner": to}}))).await;
            assert_eq!(s, 200, "{b}");
        }
    };
    let cancel = |instance: i64| {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (s, b) = t.post(&format!("/api/v1/instances/{instance}/cancel"), &alice, json!({})).await;
            assert_eq!(s, 200, "{b}");
        }
    };
    let state_of = |id: i64| {
        let (t, alice) = (&t, alice.clone());
        async move { t.get(&format!("/api/v1/exports/{id}"), &alice).await.1["state"].as_str().unwrap().to_owned() }
    };
    // Bob keeps his tasks in his calendar; alice presses the button, for now.
    let (s, b) =
        t.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(json!({"auto_sync": {"account": bob_account}}))).await;
    assert_eq!(s, 200, "{b}");

    // The button, then the instance is cancelled: its deadline and its date leave.
    let (first, task) = start("First").await;
    let pressed = [press(task, "deadline").await, press(task, "item:due").await];
    deliver().await;
    assert_eq!(shown(0).await, ["Due — First", "Hand over — First"]);
    cancel(first).await;
    deliver().await;
    assert_eq!(shown(0).await, Vec::<String>::new(), "a cancelled instance's entries leave the calendar");
    for id in pressed {
        assert_eq!(state_of(id).await, "removed");
    }

    // The button, then the task goes to bob through its user item: it leaves
    // alice's calendar and, bob using auto-sync, arrives in his.
    let (second, task) = start("Second").await;
    let pressed = press(task, "deadline").await;
    deliver().await;
    assert_eq!(shown(0).await, ["Hand over — Second"]);
    assert_eq!(shown(1).await, Vec::<String>::new());
    reassign(second, "bob").await;
    let (_, open) = t.get("/api/v1/tasks?state=open", &bob).await;
    assert_eq!(open["tasks"][0]["id"].as_i64(), Some(task), "the task is bob's now: {open}");
    deliver().await;
    assert_eq!(shown(0).await, Vec::<String>::new(), "a task given to someone else leaves the calendar");
    assert_eq!(state_of(pressed).await, "removed");
    assert_eq!(shown(1).await, ["Hand over — Second"], "the new assignee gets it");

    // Auto-sync: cancelled, the entry leaves.
    let (s, b) = t
        .call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"auto_sync": {"account": alice_account}})))
        .await;
    assert_eq!(s, 200, "{b}");
    let (third, _) = start("Third").await;
    deliver().await;
    assert_eq!(shown(0).await, ["Hand over — Third"]);
    cancel(third).await;
    deliver().await;
    assert_eq!(shown(0).await, Vec::<String>::new(), "a cancelled task leaves the auto-synced calendar");

    // Auto-sync: reassigned, it moves from alice's calendar to bob's.
    let (fourth, _) = start("Fourth").await;
    deliver().await;
    assert_eq!(shown(0).await, ["Hand over — Fourth"]);
    reassign(fourth, "bob").await;
    deliver().await;
    assert_eq!(shown(0).await, Vec::<String>::new(), "a reassigned task leaves the auto-synced calendar");
    assert_eq!(shown(1).await, ["Hand over — Fourth", "Hand over — Second"]);
    assert_ne!(alice_calendar, bob_calendar);
}
