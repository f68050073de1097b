//! Password sign-in under attack: bounded logins that are stored and logged
//! only as hashes, limits per address and per login (so nobody can lock the
//! real user out), clients behind trusted proxies, and the doors around
//! sign-in: the page's error text, sign-out, `/metrics`.

use crate::access::{generic_provider, logs, put_provider, Browser, Oidc};
use crate::support::{TestApp, TestDb};
use reqwest::Method;
use serde_json::json;

/// 127.0.0.1 (the tests' client) is a proxy whose X-Forwarded-For names the client.
const PROXIED: &str = "[http]\ntrusted_proxies = [\"127.0.0.1\"]";

async fn sign_in(t: &TestApp, from: Option<&str>, login: &str, password: &str) -> reqwest::Response {
    let mut r = t.client.post(format!("{}/login", t.base)).form(&[("login", login), ("password", password)]);
    if let Some(a) = from {
        r = r.header("x-forwarded-for", a);
    }
    r.send().await.unwrap()
}

/// The CSRF token of a page (the hidden field of its forms).
pub(crate) fn page_csrf(html: &str) -> String {
    let field = "name=\"_csrf\" value=\"";
    let at = html.find(field).expect("a form with a CSRF token") + field.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Another fresh database on the same backend as `db`.
async fn another(db: &TestDb) -> TestDb {
    if db.url.starts_with("postgres") {
        TestDb::postgres().await
    } else {
        TestDb::sqlite()
    }
}

crate::on_both_backends!(
    long_logins_are_refused_before_any_work,
    failures_keep_no_login_and_are_purged,
    parallel_guesses_from_one_address_keep_nobody_else_out,
    forwarded_for_from_an_untrusted_peer_is_ignored,
    the_sign_in_page_takes_no_words_from_the_link,
    signing_out_takes_the_csrf_token_whatever_the_body,
    metrics_are_closed_unless_opened,
);
crate::on_both_backends!(peers: a_locked_administrator_still_signs_in);

async fn long_logins_are_refused_before_any_work(db: TestDb) {
    let log = logs();
    let t = TestApp::spawn(db).await;
    let marker = format!("typed{:016x}", rand::random::<u64>());
    let huge = format!("{marker}{}", "a".repeat(1 << 20));
    let r = sign_in(&t, None, &huge, "password-123").await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("longer than 256 bytes") && !body.contains(&marker), "{}", &body[..body.len().min(300)]);
    // A browser gets the sign-in page with the reason.
    let r = t
        .client
        .post(format!("{}/login", t.base))
        .header("accept", "text/html")
        .form(&[("login", huge.as_str()), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("longer than 256 bytes") && !page.contains(&marker));
    // 257 bytes are refused; 256 are an ordinary wrong login, counted by its hash.
    let at_limit = format!("{marker}{}", "b".repeat(256 - marker.len()));
    assert_eq!(sign_in(&t, None, &format!("{at_limit}c"), "x").await.status(), 400);
    assert!(t.app.store.sign_in_counters().await.unwrap().is_empty(), "nothing is stored for a refused login");
    assert_eq!(sign_in(&t, None, &at_limit, "x").await.status(), 401);
    assert_eq!(t.app.store.sign_in_counters().await.unwrap().len(), 3, "the login's, the address's, the pair's");

    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(text.contains("sign-in refused"), "the logs were captured");
    assert!(!text.contains(&marker), "a typed login is never logged");
}

async fn failures_keep_no_login_and_are_purged(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("root", true, &[]).await;
    let typed = "My-Secret-passw0rd-typed-as-login";
    for _ in 0..3 {
        assert_eq!(sign_in(&t, None, typed, "x").await.status(), 401);
    }
    for _ in 0..5 {
        sign_in(&t, None, "root", "wrong-password").await;
    }
    let counters = t.app.store.sign_in_counters().await.unwrap();
    assert_eq!(counters.len(), 5, "two logins, two pairs, one address: {counters:?}");
    for c in &counters {
        let hex = c.login_hash.len() == 64 && c.login_hash.chars().all(|ch| ch.is_ascii_hexdigit());
        assert!(c.login_hash.is_empty() || hex, "{c:?}");
        assert!(c.address.is_empty() || c.address == "127.0.0.1", "{c:?}");
    }
    let address = counters.iter().find(|c| c.login_hash.is_empty()).unwrap();
    assert_eq!(address.failures, 8, "the address counts across logins");
    // On SQLite, the typed login is nowhere in the database's files.
    if let Some(path) = t.app.config.database_url.strip_prefix("sqlite://") {
        for f in [path.to_owned(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&f) {
                assert!(!bytes.windows(typed.len()).any(|w| w == typed.as_bytes()), "{f} holds the login");
            }
        }
    }

    // Within the window the counters stay, whatever purges run...
    t.clock.set(t.app.now() + jiff::SignedDuration::from_mins(10));
    t.user("alice", false, &[]).await;
    assert_eq!(sign_in(&t, None, "alice", "password-123").await.status(), 303);
    assert_eq!(t.app.store.sign_in_counters().await.unwrap().len(), 5);
    // ...and once the window and the locks are over, the next failure (or
    // sign-in) removes them: the table holds only what still counts.
    t.clock.set(t.app.now() + jiff::SignedDuration::from_mins(6));
    assert_eq!(sign_in(&t, None, "carol", "x").await.status(), 401);
    let counters = t.app.store.sign_in_counters().await.unwrap();
    assert_eq!(counters.len(), 3, "only carol's failure is left: {counters:?}");
    assert!(counters.iter().all(|c| c.failures == 1 && c.first_at == t.app.now().as_millisecond()));
}

async fn a_locked_administrator_still_signs_in(db: TestDb) {
    let t = TestApp::spawn_with(db, PROXIED).await;
    // ID tokens of the provider carry real times.
    t.clock.set(jiff::Timestamp::now());
    let admin = t.user("root", true, &[]).await;
    // Attackers at three addresses guess until they are refused. The first
    // claims the administrator's address too, left of its own: not believed.
    for a in ["198.51.100.7, 203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let mut last = 0;
        for _ in 0..6 {
            last = sign_in(&t, Some(a), "root", "guess-password").await.status().as_u16();
        }
        assert_eq!(last, 429, "{a}");
    }
    // From an attacker's address even the right password is refused; a new
    // attacker address gets one guess, then it is refused too.
    let r = sign_in(&t, Some("203.0.113.1"), "root", "password-123").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(sign_in(&t, Some("203.0.113.4"), "root", "guess-password").await.status(), 429);
    assert_eq!(sign_in(&t, Some("203.0.113.4"), "root", "password-123").await.status(), 429);

    // Locked as it is, the administrator signs in with the provider...
    let callback = format!("{}/oauth/callback", t.base);
    if let Some(peer) = Oidc::start(&callback, json!({})) {
        let mut cfg = generic_provider(&peer.issuer);
        cfg["sign_in"] = json!(true);
        put_provider(&t, &admin, "peer", cfg).await;
        let root = t.app.store.user_by_login("root").await.unwrap().unwrap().id;
        t.app.store.link_identity("peer", "root@example.com", root, t.app.now()).await.unwrap();
        let b = Browser::new();
        let r = b.http.get(format!("{}/login/oauth/peer", t.base)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let url = format!("{}&login_hint=root@example.com", r.headers()["location"].to_str().unwrap());
        let back = b.authorize(&url, &callback).await;
        assert_eq!(b.visit(&back).await.0, 303);
        let (s, me) = b.api(&t, Method::GET, "/api/v1/me", json!({})).await;
        assert_eq!((s, me["login"].as_str()), (200, Some("root")), "{me}");
    }
    // ...and with the password from an address with no failures of its own.
    assert_eq!(sign_in(&t, Some("198.51.100.7"), "root", "password-123").await.status(), 303);
    // The attackers' addresses stay refused.
    assert_eq!(sign_in(&t, Some("203.0.113.2"), "root", "password-123").await.status(), 429);
}

async fn parallel_guesses_from_one_address_keep_nobody_else_out(db: TestDb) {
    let t = TestApp::spawn_with(db, PROXIED).await;
    t.user("root", true, &[]).await;
    let attacks: Vec<_> = (0..200)
        .map(|_| {
            let req = t
                .client
                .post(format!("{}/login", t.base))
                .header("x-forwarded-for", "203.0.113.66")
                .form(&[("login", "root"), ("password", "guess-password")]);
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    // The real administrator, from elsewhere, while the guesses arrive...
    let during = sign_in(&t, Some("198.51.100.7"), "root", "password-123").await.status();
    let mut answers = Vec::new();
    for a in attacks {
        answers.push(a.await.unwrap());
    }
    assert_eq!(during, 303);
    // ...and after them.
    assert_eq!(sign_in(&t, Some("198.51.100.8"), "root", "password-123").await.status(), 303);
    assert!(answers.iter().all(|s| *s == 401 || *s == 429), "{answers:?}");
    // At most four guesses are answered; the cap on attempts in flight per
    // address and then the lock refuse the rest.
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert!(refused >= 196, "{refused} of 200 refused: {answers:?}");
}

async fn forwarded_for_from_an_untrusted_peer_is_ignored(db: TestDb) {
    // No trusted proxies: the header is the client's own word.
    let t = TestApp::spawn(db).await;
    t.user("bob", false, &[]).await;
    for i in 1..=5 {
        sign_in(&t, Some(&format!("192.0.2.{i}")), "bob", "wrong-password").await;
    }
    assert_eq!(sign_in(&t, Some("198.51.100.7"), "bob", "password-123").await.status(), 429);
    let counters = t.app.store.sign_in_counters().await.unwrap();
    assert!(counters.iter().all(|c| c.address.is_empty() || c.address == "127.0.0.1"), "{counters:?}");
}

async fn the_sign_in_page_takes_no_words_from_the_link(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("bob", false, &[]).await;
    let phrase = "Your account is blocked: call IT at 555-0100 and give them your password";
    let r = t.client.get(format!("{}/login", t.base)).query(&[("error", phrase)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("action=\"/login\""), "{page}");
    for words in ["555-0100", "give them your password", "blocked"] {
        assert!(!page.contains(words), "{words}: {page}");
    }
    // A failed sign-in still tells why, on the page it answers with.
    let r = t
        .client
        .post(format!("{}/login", t.base))
        .header("accept", "text/html")
        .form(&[("login", "bob"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("wrong login or password"));
}

async fn signing_out_takes_the_csrf_token_whatever_the_body(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("alice", false, &[]).await;
    let r = sign_in(&t, None, "alice", "password-123").await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let with_cookie =
        |m: Method, path: &str| t.client.request(m, format!("{}{path}", t.base)).header("cookie", &cookie);
    let me = || async { with_cookie(Method::GET, "/api/v1/me").send().await.unwrap().status() };
    // JSON, nothing, a wrong token in the header or in the form: refused, and the session stays.
    let attempts = [
        with_cookie(Method::POST, "/logout").header("content-type", "application/json").body("{}"),
        with_cookie(Method::POST, "/logout"),
        with_cookie(Method::POST, "/logout").header("x-csrf-token", "0".repeat(32)),
        with_cookie(Method::POST, "/logout").form(&[("_csrf", "0".repeat(32))]),
    ];
    for a in attempts {
        assert_eq!(a.send().await.unwrap().status(), 403);
        assert_eq!(me().await, 200);
    }
    // With the page's token, in the header of a JSON post or in the form, the session ends.
    let page = with_cookie(Method::GET, "/tasks").send().await.unwrap().text().await.unwrap();
    let csrf = page_csrf(&page);
    let r = with_cookie(Method::POST, "/logout")
        .header("content-type", "application/json")
        .header("x-csrf-token", &csrf)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(me().await, 401);
}

async fn metrics_are_closed_unless_opened(db: TestDb) {
    let get = |t: &TestApp, token: Option<&str>| {
        let mut r = t.client.get(format!("{}/metrics", t.base));
        if let Some(tok) = token {
            r = r.bearer_auth(tok);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let second = another(&db).await;
    let third = another(&db).await;
    // Closed by default, whatever is sent.
    let t = TestApp::spawn(db).await;
    assert_eq!(get(&t, None).await.0, 404);
    assert_eq!(get(&t, Some("anything-at-all-123")).await.0, 404);

    // A token from a file: only that bearer gets in.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.token");
    let token = "metrics-token-5d1c2e9a7b";
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let t = TestApp::spawn_with(second, &format!("[metrics]\ntoken_file = \"{}\"", file.display())).await;
    assert_eq!(get(&t, None).await.0, 401);
    assert_eq!(get(&t, Some("metrics-token-5d1c2e9a7c")).await.0, 401);
    assert_eq!(get(&t, Some(&token[..token.len() - 1])).await.0, 401);
    let (s, text) = get(&t, Some(token)).await;
    assert_eq!(s, 200);
    assert!(text.contains("flowcal_exports_oldest_pending_seconds"), "{text}");

    // Public: anyone.
    let t = TestApp::spawn_with(third, "[metrics]\npublic = true").await;
    assert_eq!(get(&t, None).await.0, 200);
}
