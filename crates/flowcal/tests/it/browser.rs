//! The web app in a real browser: Debian's Chromium, headless, driven over
//! W3C WebDriver (chromedriver) by the small client below. Sign in, start a
//! process, open the task, press "Add to calendar" with no calendar connected
//! (which connects one at oidc-provider and then adds the entry), see it in
//! the calendar double, change the deadline's item and see the event follow,
//! disconnect; a title with markup shows as text; a form posted without its
//! CSRF token is refused; keyboard, labels and a phone-sized window. Every
//! page is checked with axe-core (the FLOWCAL_AXE peer) against WCAG 2.1 A and
//! AA, on a desktop and 375 px wide: `assert_accessible` for the page shown,
//! `assert_accessible_all` for a list of URLs. The README's screenshots are
//! made from the demo data by `the_readme_screenshots_from_the_demo_data`,
//! into target/screenshots; `scripts/screenshots` runs the browser tests and
//! copies them to docs/screenshots.

use crate::access::{google_at_peer, peer_env, put_provider, Oidc};
use crate::support::{repo_root, Peer, TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value as Json};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A running chromedriver and one browser session; both end when dropped,
/// also when the test fails.
struct Browser {
    http: reqwest::Client,
    base: String,
    port: u16,
    session: String,
    /// Dropped after `drop` below: kills chromedriver's process group.
    _driver: Peer,
    _profile: tempfile::TempDir,
    /// axe.min.js (axe-core), run on the pages by `assert_accessible`; set by `with_axe`.
    axe: String,
}

/// Where Chromium, ChromeDriver and axe-core are (from the peers' environment).
struct BrowserPeers {
    chromium: String,
    driver: String,
    axe: String,
}

impl BrowserPeers {
    /// None (said on stderr, or a panic where peers are required) when one is missing.
    fn from_env() -> Option<BrowserPeers> {
        Some(BrowserPeers {
            chromium: peer_env("FLOWCAL_CHROMIUM", "Chromium")?,
            driver: peer_env("FLOWCAL_CHROMEDRIVER", "ChromeDriver")?,
            axe: peer_env("FLOWCAL_AXE", "axe-core")?,
        })
    }

    /// A browser session, with axe-core ready for `assert_accessible`.
    async fn open(&self) -> Browser {
        Browser::start(&self.chromium, &self.driver).await.with_axe(&self.axe)
    }
}

/// axe-core's rules for WCAG 2.0 and 2.1, levels A and AA.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// The layouts every page is checked in: the browser's desktop window, and a phone's 375 px.
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (375, 800);

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends first: chromedriver then quits Chromium, whose
        // helpers (the crash handler) have left chromedriver's process group.
        if let Err(e) = end_session(self.port, &self.session) {
            eprintln!("warning: could not end the WebDriver session {}: {e}", self.session);
        }
    }
}

/// `DELETE /session/{id}` over a plain socket: a drop can't await, and may run
/// while a panic unwinds on a runtime's thread. chromedriver answers once
/// Chromium has quit, so the status line is enough.
fn end_session(port: u16, session: &str) -> std::io::Result<()> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.contains(&b'\n') {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    if answer.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("chromedriver answered: {}", String::from_utf8_lossy(&answer))))
    }
}

impl Browser {
    async fn start(chromium: &str, driver: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group: what it starts is stopped with it.
        let child = Peer::spawn_group(
            Command::new(driver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("{driver} must run: {e}"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags of this machine's notes: no background networking (the
        // closed network refuses it), a fresh profile.
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}}}});
        let r: Json = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}")).to_owned();
        Browser { http, base, port, session, _driver: child, _profile: profile, axe: String::new() }
    }

    /// Loads axe-core's `axe.min.js` (the FLOWCAL_AXE peer) for `assert_accessible`.
    fn with_axe(mut self, axe_min_js: &str) -> Browser {
        self.axe = std::fs::read_to_string(axe_min_js).unwrap_or_else(|e| panic!("FLOWCAL_AXE {axe_min_js}: {e}"));
        assert!(self.axe.contains("axe v"), "{axe_min_js} is not axe-core's axe.min.js");
        self
    }

    async fn call(&self, method: Method, path: &str, body: Option<Json>) -> Json {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
    }

    async fn try_call(&self, method: Method, path: &str, body: Option<Json>) -> Result<Json, Json> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Json = req.send().await.unwrap().json().await.unwrap();
        if r["value"].get("error").is_some() {
            return Err(r["value"].clone());
        }
        Ok(r["value"].clone())
    }

    async fn goto(&self, url: &str) {
        self.call(Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.call(Method::GET, "/url", None).await.as_str().unwrap().to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v = self.call(Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_owned()
    }

    /// Clicks `css`; an element replaced meanwhile (a page still loading) is looked up again.
    async fn click(&self, css: &str) {
        for _ in 0..20 {
            let el = self.find(css).await;
            match self.try_call(Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await {
                Ok(_) => return,
                Err(e) if e["error"] == "stale element reference" => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("WebDriver click {css}: {e}"),
            }
        }
        panic!("{css} kept being replaced");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(Method::POST, &format!("/element/{el}/clear"), Some(json!({}))).await;
        self.call(Method::POST, &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.call(Method::GET, &format!("/element/{el}/text"), None).await.as_str().unwrap().to_owned()
    }

    async fn run(&self, script: &str) -> Json {
        self.call(Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    async fn keys(&self, keys: &str) {
        let actions: Vec<Json> = keys
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        self.call(
            Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "kb", "actions": actions}]})),
        )
        .await;
    }

    async fn resize(&self, width: u32, height: u32) {
        self.call(Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// A PNG of the viewport, saved as target/screenshots/NAME.png (a test run
    /// leaves the repository as it was; `scripts/screenshots` copies them to docs/).
    async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let b64 = self.call(Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), Into::into);
        let dir = target.join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn cookie(&self, name: &str) -> String {
        self.call(Method::GET, &format!("/cookie/{name}"), None).await["value"].as_str().unwrap().to_owned()
    }

    /// Waits until `css` is on the page (pages load after a click).
    async fn wait_for(&self, css: &str) {
        let script = format!("return document.querySelector({}) !== null", json!(css));
        for _ in 0..100 {
            if self.run(&script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared on {}", self.url().await);
    }

    /// Waits until the page's notice says `text` (the page after a form post has loaded).
    async fn wait_notice(&self, text: &str) {
        let script = format!(
            "const n = document.querySelector('p.notice'); return n !== null && n.textContent.includes({})",
            json!(text)
        );
        for _ in 0..100 {
            if self.run(&script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no notice \"{text}\" on {}", self.url().await);
    }

    async fn sign_in(&self, t: &TestApp, login: &str) {
        self.sign_in_with(t, login, "password-123").await;
    }

    async fn sign_in_with(&self, t: &TestApp, login: &str, password: &str) {
        self.goto(&format!("{}/login", t.base)).await;
        self.type_into("#login", login).await;
        self.type_into("#password", password).await;
        self.click("form[action='/login'] button[type=submit]").await;
        self.wait_for("nav[aria-label=Main]").await;
    }

    /// Checks the page shown, as it is now (also a page that answered a form
    /// post), in both layouts: desktop, then 375 px wide (the window is
    /// resized, the page is not reloaded), and back. Fails naming every problem.
    async fn assert_accessible(&self) {
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Visits each URL and checks it like `assert_accessible`; fails once,
    /// naming every problem on every page.
    async fn assert_accessible_all(&self, urls: &[String]) {
        let mut problems = Vec::new();
        for url in urls {
            self.goto(url).await;
            problems.extend(self.accessibility_problems().await);
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The page's accessibility problems in both layouts, one paragraph each.
    async fn accessibility_problems(&self) -> Vec<String> {
        let url = self.url().await;
        let mut problems = Vec::new();
        for (width, height) in [DESKTOP, PHONE] {
            self.resize(width, height).await;
            let layout = format!("{url} at {width}x{height}");
            problems.extend(self.own_checks().await.into_iter().map(|p| format!("{layout}: {p}")));
            problems.extend(self.axe_violations().await.into_iter().map(|v| format!("{layout}: axe-core: {v}")));
        }
        self.resize(DESKTOP.0, DESKTOP.1).await;
        problems
    }

    /// Every visible form control on the page has a label (or an aria-label);
    /// every interactive element can take the keyboard focus.
    async fn own_checks(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let unlabelled = self
            .run(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                   .map(e => e.outerHTML)",
            )
            .await;
        if unlabelled != json!([]) {
            problems.push(format!("inputs without a label: {unlabelled}"));
        }
        let unfocusable = self
            .run("return [...document.querySelectorAll('a[href], button, input, select, textarea')].filter(e => e.tabIndex < 0 && !e.disabled && e.type !== 'hidden').map(e => e.outerHTML)")
            .await;
        if unfocusable != json!([]) {
            problems.push(format!("not reachable by keyboard: {unfocusable}"));
        }
        problems
    }

    /// axe-core's violations of WCAG 2.1 A and AA on the page shown: each rule
    /// with its impact, what it asks and every element that breaks it. axe.min.js
    /// is put into the page once (WebDriver's scripts are not bound by the page's
    /// Content-Security-Policy, which stays as flowcal sends it).
    async fn axe_violations(&self) -> Vec<String> {
        assert!(!self.axe.is_empty(), "axe-core is not loaded: Browser::with_axe");
        if self.run("return typeof window.axe").await != json!("object") {
            self.run(&self.axe).await;
            assert_eq!(self.run("return typeof window.axe").await, json!("object"), "axe.min.js did not load");
        }
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
              .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                      url: v.helpUrl, nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html,
                      why: n.failureSummary}))}))}),
                    e => done({error: String(e && e.stack || e)}));";
        let r = self.call(Method::POST, "/execute/async", Some(json!({"script": script, "args": [AXE_TAGS]}))).await;
        if let Some(e) = r.get("error") {
            panic!("axe-core failed on {}: {e}", self.url().await);
        }
        let violations = r["violations"].as_array().unwrap_or_else(|| panic!("axe-core answered {r}"));
        violations
            .iter()
            .map(|v| {
                let s = |j: &Json| j.as_str().unwrap_or_default().to_owned();
                let mut line = format!("{} ({}): {} ({})", s(&v["id"]), s(&v["impact"]), s(&v["help"]), s(&v["url"]));
                for n in v["nodes"].as_array().into_iter().flatten() {
                    let why = s(&n["why"]).replace('\n', "\n        ");
                    line += &format!("\n    at {}: {}\n        {why}", s(&n["target"]), s(&n["html"]));
                }
                line
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_web_app_in_a_real_browser() {
    let Some(peers) = BrowserPeers::from_env() else { return };
    // One attempt per delivery, so that a failure shows at once.
    let t = TestApp::spawn_with(TestDb::sqlite(), "[delivery]\nworkers = 0\nattempts = 1\n").await;
    t.clock.set(jiff::Timestamp::now());
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let peer = Arc::new(peer);
    let google = crate::google_double::Double::start(peer.clone()).await;
    let admin = t.user("root", true, &[]).await;
    let alice_token = t.user("alice", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id;
    put_provider(&t, &admin, "g", google_at_peer(&peer, Some(&google.base))).await;
    let (s, _) = t.upload(&admin, crate::support::leave_model()).await;
    assert_eq!(s, 201);
    let b = peers.open().await;
    let urls = |paths: &[&str]| paths.iter().map(|p| format!("{}{p}", t.base)).collect::<Vec<_>>();

    // Sign in; My tasks.
    b.goto(&format!("{}/tasks", t.base)).await;
    assert!(b.url().await.contains("/login?next=%2Ftasks") || b.url().await.contains("/login?next=/tasks"));
    b.assert_accessible().await;
    b.sign_in(&t, "alice").await;
    assert_eq!(b.text("h1").await, "My tasks");
    b.assert_accessible().await;

    // The calendar export switch, in the account settings.
    b.goto(&format!("{}/settings", t.base)).await;
    b.assert_accessible().await;
    b.click("input[name=calendar_export]").await;
    b.click("form[action='/settings/profile'] button[type=submit]").await;
    b.wait_notice("Saved").await;
    assert!(b.run("return document.querySelector('input[name=calendar_export]').checked").await == json!(true));
    // A confirmation shows once, and a link cannot put words on a page.
    b.goto(&format!("{}/settings?notice=Your+password+expired", t.base)).await;
    assert_eq!(b.run("return document.querySelector('p.notice')").await, Json::Null);

    // Start a process whose title is markup: it shows as text.
    let title = "<script>alert(1)</script> Easter";
    b.goto(&format!("{}/start/leave", t.base)).await;
    b.assert_accessible().await;
    b.type_into("#title", title).await;
    // Without the required first day: the error is next to its field, what was typed stays.
    b.click("form.data button[type=submit]").await;
    b.wait_for("p.field-error").await;
    assert!(b.text("#err-first_day").await.contains("required"), "{}", b.text("#err-first_day").await);
    b.assert_accessible().await;
    assert_eq!(
        b.run("return document.getElementById('item.first_day').getAttribute('aria-describedby')").await,
        json!("err-first_day")
    );
    assert_eq!(b.run("return document.getElementById('title').value").await, json!(title));
    b.run("document.getElementById('item.first_day').value = '2026-12-21'").await;
    b.type_into("#item\\.days", "3").await;
    b.click("form.data button[type=submit]").await;
    b.wait_for("section[aria-labelledby=data-h]").await;
    assert_eq!(b.text("h1").await, "Prepare hand-over");
    assert_eq!(b.text("p.sub").await, title);
    assert_eq!(b.run("return document.querySelectorAll('script').length").await, json!(1), "only app.js runs");
    let task_url = b.url().await;
    let task: i64 = task_url.rsplit('/').next().unwrap().split('?').next().unwrap().parse().unwrap();
    b.assert_accessible().await;

    // Keyboard: the first Tab reaches "Skip to content", with a visible focus.
    b.keys("\u{E004}").await;
    assert_eq!(b.run("return document.activeElement.textContent").await, json!("Skip to content"));
    let outline = b.run("return getComputedStyle(document.activeElement).outlineStyle").await;
    assert_ne!(outline, json!("none"), "the focus is visible");

    // Add to calendar with no calendar connected: connect at the provider, come back, the entry is added.
    assert_eq!(b.text("dd.deadline .cal-state").await, "Not in calendar");
    b.click("dd.deadline .calendar button[name=provider]").await;
    b.wait_notice("Calendar connected").await;
    assert!(b.url().await.starts_with(&format!("{}/tasks/{task}", t.base)), "back at the task: {}", b.url().await);
    assert!(b.text("p.notice").await.contains("adding it to your calendar"), "{}", b.text("p.notice").await);
    assert_eq!(b.text("dd.deadline .cal-state").await, "⏳ Pending");
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    b.goto(&format!("{}/tasks/{task}", t.base)).await;
    assert!(
        b.text("dd.deadline .cal-state").await.starts_with("✓ In calendar"),
        "{}",
        b.text("dd.deadline .cal-state").await
    );
    let account = t.app.store.accounts_of(alice_id).await.unwrap();
    let calendar = account[0].calendar.clone().unwrap();
    let events = google.events(&calendar);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["summary"], format!("Prepare hand-over — {title}"));
    assert_eq!(events[0]["start"]["date"], "2026-12-20", "the day before the first day");
    // The date item beside it has its own button.
    assert_eq!(b.text("[data-source='item:first_day'] .cal-state").await, "Not in calendar");

    // The deadline's item changes: the event follows.
    let instance = t
        .app
        .workflow
        .task(&t.app.access.principal_by_token(&admin).await.unwrap().unwrap(), flowcal_domain::TaskId(task))
        .await
        .unwrap()
        .instance_id
        .0;
    let (s, body) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/instances/{instance}/data"),
            &admin,
            Some(json!({"data": {"first_day": "2027-01-11"}})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    let events = google.events(&calendar);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["start"]["date"], "2027-01-10");
    b.goto(&format!("{}/tasks/{task}", t.base)).await;
    assert!(b.text("dd.deadline").await.contains("Sun 10 Jan 2027"), "{}", b.text("dd.deadline").await);

    // A date item's entry that fails: its reason and a retry, beside the date.
    google.fail_next(1, crate::google_double::Fault::Backend);
    b.click("[data-source='item:first_day'] button").await;
    b.wait_notice("Adding it to your calendar").await;
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    b.goto(&format!("{}/tasks/{task}", t.base)).await;
    let state = b.text("[data-source='item:first_day'] .cal-state").await;
    assert!(state.starts_with("✗ Failed") && state.contains("500"), "{state}");
    assert_eq!(b.text("[data-source='item:first_day'] button").await, "Retry");
    b.assert_accessible().await;

    // My tasks, on a desktop and on a phone.
    b.goto(&format!("{}/tasks", t.base)).await;
    assert!(b.text("table.tasks").await.contains(title));
    b.resize(375, 800).await;
    b.goto(&format!("{}/tasks", t.base)).await;
    let wide = b.run("return document.documentElement.scrollWidth").await.as_i64().unwrap();
    assert!(wide <= 375, "the page is {wide} px wide on a 375 px screen");
    b.resize(1280, 900).await;

    // A form posted without its CSRF token is refused.
    b.goto(&format!("{}/settings", t.base)).await;
    b.run(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/settings/feed';
         document.body.appendChild(f); f.submit();",
    )
    .await;
    b.wait_for("p.error").await;
    assert_eq!(b.text("h1").await, "Not allowed");
    assert!(b.text("p.error").await.contains("did not come from flowcal"));
    b.assert_accessible().await;
    // From another site (Origin), even with a token: refused.
    let session = b.cookie("flowcal_session").await;
    let forged = t
        .client
        .post(format!("{}/settings/feed", t.base))
        .header("cookie", format!("flowcal_session={session}"))
        .header("origin", "https://evil.example")
        .form(&[("_csrf", "0123456789abcdef0123456789abcdef")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let p = t.app.access.principal_by_session(&session).await.unwrap().unwrap();
    assert!(!t.app.feeds.feed_status(&p).await.unwrap().enabled, "the forged posts made no feed");

    // The administrator's connectivity page.
    b.click("form.signout button").await;
    b.wait_for("form[action='/login']").await;
    b.sign_in(&t, "root").await;
    // A process designer's upload: a refused model names line and column.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bpmn");
    std::fs::write(&bad, "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <bpmn:process id=\"p\">\n    <bpmn:userTask id=\"t\" flowcal:deadline=\"P1D\"/>\n").unwrap();
    b.goto(&format!("{}/models", t.base)).await;
    b.assert_accessible().await;
    let input = b.find("#bpmn").await;
    b.call(Method::POST, &format!("/element/{input}/value"), Some(json!({"text": bad.display().to_string()}))).await;
    b.click("form[action='/models'] button[type=submit]").await;
    b.wait_for("#upload-error").await;
    let refusal = b.text("#upload-error").await;
    assert!(refusal.contains("line 4") && refusal.contains("column"), "{refusal}");
    b.assert_accessible().await;
    b.goto(&format!("{}/models/leave", t.base)).await;
    assert!(b.text("main").await.contains("from first_day -P1D"), "steps with their deadline rules");

    b.goto(&format!("{}/admin", t.base)).await;
    b.assert_accessible().await;
    assert!(b.text("#connectivity").await.contains(&format!("{}/oauth/callback", t.base)));

    // The administrator's forms: a provider's display name (its secret is kept),
    // who may export, the CalDAV allow-list, a new user with a role and a new password.
    b.type_into("#g-display", "Work Google").await;
    b.click("form.provider button[type=submit]").await;
    b.wait_notice("Saved provider g").await;
    let c = t.app.access.connectivity().await.unwrap();
    assert_eq!(c.providers["g"].display_name.as_deref(), Some("Work Google"));
    assert!(c.providers["g"].client_secret.is_some(), "the secret was kept");
    b.click("input[name=allow][value=listed]").await;
    b.type_into("#allow_list", "alice, carol").await;
    b.click("#export-policy button[type=submit]").await;
    b.wait_notice("Saved who may export").await;
    let c = t.app.access.connectivity().await.unwrap();
    assert!(c.calendar_export.allow.allows("carol") && !c.calendar_export.allow.allows("root"));
    b.type_into("#hosts", "caldav.example.com\n*.fastmail.com").await;
    b.click("#caldav-policy button[type=submit]").await;
    b.wait_notice("Saved the CalDAV allow-list").await;
    assert_eq!(
        t.app.access.connectivity().await.unwrap().caldav.allowed_hosts,
        vec!["caldav.example.com", "*.fastmail.com"]
    );
    b.type_into("#new_login", "carol").await;
    b.type_into("#new_password", "carol-password-1").await;
    b.type_into("#new_roles", "hr").await;
    b.click("form[action='/admin/users'] button[type=submit]").await;
    b.wait_notice("Added carol").await;
    b.type_into("#role-carol", "designers").await;
    b.click("form[action='/admin/users/carol/role'] button").await;
    b.wait_notice("carol has the role designers").await;
    b.type_into("#pw-carol", "carol-password-2").await;
    b.click("form[action='/admin/users/carol/password'] button").await;
    b.wait_notice("New password set for carol").await;
    let carol = t.app.store.user_by_login("carol").await.unwrap().unwrap();
    assert_eq!(t.app.store.roles(carol.id).await.unwrap(), vec!["designers", "hr"]);
    let signed_in = t.app.access.login("carol", "carol-password-2", None).await;
    assert!(signed_in.is_ok(), "the new password works: {signed_in:?}");
    assert!(t.app.access.login("carol", "carol-password-1", None).await.is_err());
    // Delivery health: the failed entry with its reason; the administrator retries it.
    let health = b.text("#delivery").await;
    assert!(health.contains("alice") && health.contains(":item:first_day"), "{health}");
    b.click("#delivery form button").await;
    b.wait_notice("Sending it again").await;
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    let exports = t.app.store.exports_of(alice_id).await.unwrap();
    let first_day =
        exports.iter().find(|e| e.source.to_string().ends_with(":item:first_day")).expect("the date's entry");
    assert_eq!(first_day.state.as_str(), "synced", "the retried entry went out: {first_day:?}");
    let live = google.events(&calendar).into_iter().filter(|e| e["status"] != "cancelled").count();
    assert_eq!(live, 2, "the deadline and the date are on the calendar");
    // Every page an administrator sees, with a work calendar to show; error pages too.
    let week = json!({"time_zone": "Europe/Berlin", "week": ["mon", "tue", "wed", "thu", "fri"]});
    let (s, body) = t.call(Method::PUT, "/api/v1/admin/work-calendars/acme", &admin, Some(week)).await;
    assert_eq!(s, 201, "{body}");
    let admin_pages = urls(&[
        "/tasks",
        "/calendar",
        "/team",
        "/start",
        "/start/leave",
        "/settings",
        "/models",
        "/models/leave",
        "/work-calendars",
        "/work-calendars/acme",
        "/admin",
        "/tasks/999999",
        "/work-calendars/nowhere",
    ]);
    b.assert_accessible_all(&admin_pages).await;
    // The same in German and in Japanese, by the administrator's setting.
    for lang in ["de", "ja"] {
        let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &admin, Some(json!({"language": lang}))).await;
        assert_eq!(s, 200, "{me}");
        b.assert_accessible_all(&admin_pages).await;
        assert_eq!(b.run("return document.documentElement.lang").await, json!(lang));
    }
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &admin, Some(json!({"language": null}))).await;
    assert_eq!(s, 200);
    // Back as alice: disconnect (the confirmation is answered yes).
    b.click("form.signout button").await;
    b.wait_for("form[action='/login']").await;
    b.sign_in(&t, "alice").await;
    // Every page alice sees: her task with its entries sent, her settings with
    // the connected account, the pages she may not open.
    let alice_pages = urls(&[
        "/tasks",
        "/calendar",
        "/calendar?view=week",
        "/calendar?view=agenda",
        "/team",
        &format!("/tasks/{task}"),
        "/start",
        "/start/leave",
        "/work-calendars",
        "/work-calendars/acme",
        "/models",
        "/admin",
        "/settings",
    ]);
    b.assert_accessible_all(&alice_pages).await;
    // The same pages in German and in Japanese, chosen by her setting.
    for (lang, my_tasks) in [("de", "Meine Aufgaben"), ("ja", "自分のタスク")] {
        let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice_token, Some(json!({"language": lang}))).await;
        assert_eq!(s, 200, "{me}");
        b.goto(&format!("{}/tasks", t.base)).await;
        assert_eq!(b.run("return document.documentElement.lang").await, json!(lang));
        assert_eq!(b.text("nav a[href='/tasks']").await, my_tasks);
        b.assert_accessible_all(&alice_pages).await;
    }
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice_token, Some(json!({"language": null}))).await;
    assert_eq!(s, 200);
    b.goto(&format!("{}/settings", t.base)).await;
    // The account's calendars can be chosen from; flowcal's own is in use.
    assert!(b.text("form.choose").await.contains("flowcal's own calendar"));
    b.run("window.confirm = () => true").await;
    b.click("ul.accounts form[data-confirm] button").await;
    b.wait_notice("Disconnected").await;
    assert!(b.text("p.notice").await.starts_with("Disconnected"), "{}", b.text("p.notice").await);
    assert!(t.app.store.accounts_of(alice_id).await.unwrap().is_empty());

    assert!(google.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_and_the_cookie_is_strict() {
    let t = TestApp::spawn_with(TestDb::sqlite(), "public_url = \"https://flowcal.example\"").await;
    t.user("bob", false, &[]).await;
    let post = |password: &'static str| {
        t.client
            .post(format!("{}/login", t.base))
            .header("accept", "text/html")
            .form(&[("login", "bob"), ("password", password)])
            .send()
    };
    // The session cookie: HttpOnly, SameSite=Lax, Secure under an https public URL.
    let ok = post("password-123").await.unwrap();
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // Four wrong passwords are refused one by one; the fifth locks the login,
    // and then even the right password waits.
    for _ in 0..4 {
        let r = post("wrong-password").await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("wrong login or password"));
    }
    let r = post("wrong-password").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = post("password-123").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("too many failed sign-ins"));
    // Later, the right password works again (and clears the count).
    t.clock.set(t.app.now() + jiff::SignedDuration::from_mins(2));
    assert_eq!(post("password-123").await.unwrap().status(), 303);
}

/// The process diagram in a real browser: a model exported by Camunda
/// Modeler, uploaded with the form, is drawn from its diagram interchange;
/// the task page highlights the task's step and ticks the done one; the
/// model page shows each step's deadline rule on hover; on a phone the
/// drawing shrinks to the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_process_diagram_in_a_real_browser() {
    let Some(peers) = BrowserPeers::from_env() else { return };
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let root = t.user("root", true, &[]).await;
    let (s, _) = t.upload(&root, crate::support::leave_model()).await;
    assert_eq!(s, 201);
    let b = peers.open().await;
    b.sign_in(&t, "root").await;

    // Upload the modeler's file with the form.
    let file =
        repo_root().join("tests/fixtures/bpmn-samples/supported/camunda-modeler-parallel-exclusive-default.bpmn");
    b.goto(&format!("{}/models", t.base)).await;
    b.type_into("#bpmn", &file.display().to_string()).await;
    b.click("form[action='/models'] button[type=submit]").await;
    b.wait_notice("Uploaded token_trial_parallel_simple (version 1)").await;

    // Its page draws it, the steps at the modeler's places.
    b.goto(&format!("{}/models/token_trial_parallel_simple", t.base)).await;
    b.wait_for("figure.diagram svg[role=img]").await;
    let steps = b.run("return [...document.querySelectorAll('svg .step.user')].map(g => g.dataset.id)").await;
    assert_eq!(steps, json!(["UserTask_0fd3nql", "UserTask_1k9gxsc", "Activity_1ghr6kd"]));
    let rect = b
        .run("const r = document.querySelector('svg [data-id=UserTask_0fd3nql] rect.shape'); return [r.getAttribute('x'), r.getAttribute('y')]")
        .await;
    assert_eq!(rect, json!(["680", "150"]));
    b.assert_accessible().await;

    // An instance at its second round: Set data done, the parallel tasks open.
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &root,
            json!({"model": "token_trial_parallel_simple", "title": "Trial", "data": {"skipParallel": false}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let first = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, _) = t.post(&format!("/api/v1/tasks/{first}/complete"), &root, json!({})).await;
    assert_eq!(s, 200);
    let (_, inst) = t.get(&format!("/api/v1/instances/{}", inst["id"]), &root).await;
    let p2 = inst["tasks"].as_array().unwrap().iter().find(|t| t["step"] == "UserTask_1k9gxsc").unwrap()["id"]
        .as_i64()
        .unwrap();

    // The task page: the task's step is the highlighted one, the done one ticked, in words too.
    b.goto(&format!("{}/tasks/{p2}", t.base)).await;
    b.wait_for("figure.diagram svg").await;
    assert_eq!(b.text("h1").await, "Task P2");
    assert_eq!(b.run("return document.querySelectorAll('svg .current').length").await, json!(1));
    assert_eq!(b.run("return document.querySelector('svg .current').dataset.id").await, json!("UserTask_1k9gxsc"));
    assert!(b
        .run("return document.querySelector('svg .current').textContent")
        .await
        .as_str()
        .unwrap()
        .contains("Task P2"));
    assert_eq!(b.run("return document.querySelector('svg .done').dataset.id").await, json!("Activity_1ghr6kd"));
    // The highlight is drawn (a frame around the step), not only a class.
    let halo = b.run("const r = document.querySelector('svg .current .halo').getBoundingClientRect(); return r.width > 0 && r.height > 0").await;
    assert_eq!(halo, json!(true));
    let legend = b.text("figure.diagram figcaption").await;
    assert!(
        legend.contains("this task's step, Task P2")
            && legend.contains("done: Set data")
            && legend.contains("open as well: Task P1"),
        "{legend}"
    );
    assert_eq!(b.run("return document.querySelectorAll('script').length").await, json!(1), "only app.js runs");
    b.assert_accessible().await;
    b.run("document.querySelector('figure.diagram').scrollIntoView()").await;

    // On a phone the drawing fits the screen's width.
    b.resize(375, 800).await;
    let fits = b
        .run("const f = document.querySelector('figure.diagram svg').getBoundingClientRect(); return f.width > 100 && f.right <= document.documentElement.clientWidth")
        .await;
    assert_eq!(fits, json!(true));
    b.resize(1280, 900).await;

    // A model without a diagram is laid out; a step's deadline rule shows on hover.
    b.goto(&format!("{}/models/leave", t.base)).await;
    b.wait_for("figure.diagram svg").await;
    assert!(b.text("figure.diagram figcaption").await.contains("This file has no diagram"));
    let hover = b.run("return document.querySelector('svg [data-id=approve] > title').textContent").await;
    assert_eq!(hover, json!("Approve — deadline: P3D"));
    assert_eq!(b.run("return document.getElementById('step-approve').cells[2].textContent").await, json!("P3D"));
}

/// The calendar view in month, week and agenda with an overdue entry, reached
/// by keyboard; at 375 px nothing overflows; the team's week as a member of
/// a role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_calendar_and_the_teams_week_in_a_real_browser() {
    let Some(peers) = BrowserPeers::from_env() else { return };
    let t = TestApp::spawn(TestDb::sqlite()).await;
    // The instances start two days ago (the browser's cookies live in real time).
    let now = jiff::Timestamp::now();
    t.clock.set(now - jiff::SignedDuration::from_hours(48));
    let admin = t.user("root", true, &[]).await;
    let ann = t.user("ann", false, &["team_a"]).await;
    let carl = t.user("carl", false, &["team_a"]).await;
    assert_eq!(t.upload(&admin, crate::calendar_view::CAL_MODEL).await.0, 201);
    assert_eq!(t.upload(&admin, &crate::calendar_view::team_model("work", "Work")).await.0, 201);
    let (s, inst) = t.post("/api/v1/instances", &ann, json!({"model": "cal", "title": "Quarterly review"})).await;
    assert_eq!(s, 201, "{inst}");
    let late =
        inst["tasks"].as_array().unwrap().iter().find(|t| t["name"] == "Late review").unwrap()["id"].as_i64().unwrap();
    let (s, work) = t.post("/api/v1/instances", &admin, json!({"model": "work", "title": "Office move"})).await;
    assert_eq!(s, 201, "{work}");
    let a_job =
        work["tasks"].as_array().unwrap().iter().find(|t| t["name"] == "Work A job").unwrap()["id"].as_i64().unwrap();
    assert_eq!(t.post(&format!("/api/v1/tasks/{a_job}/claim"), &carl, json!({})).await.0, 200);
    t.clock.set(now);
    // "Late review" was due 15.5 hours after it started: its day in ann's zone.
    let due = (now - jiff::SignedDuration::from_hours(48) + jiff::SignedDuration::from_mins(15 * 60 + 30))
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date();
    let b = peers.open().await;
    b.resize(1280, 900).await;
    b.sign_in(&t, "ann").await;

    let overdue_entry = "return [...document.querySelectorAll('li.entry.overdue')]
        .filter(li => li.textContent.includes('Late review') && li.textContent.includes('Overdue')
                      && li.offsetParent !== null).length";
    // Month (of the day it was due), week, agenda: the overdue entry in each.
    for (view, h2) in [("month", due.strftime("%B %Y").to_string()), ("week", "Week of".to_owned())] {
        b.goto(&format!("{}/calendar?view={view}&date={due}", t.base)).await;
        assert_eq!(b.text("h1").await, "Calendar");
        assert!(b.text("h2#range").await.starts_with(&h2), "{}", b.text("h2#range").await);
        assert_eq!(b.run(overdue_entry).await, json!(1), "{view}");
        b.assert_accessible().await;
        if view == "month" {
            assert!(
                b.run("return document.querySelectorAll('table.cal-month th[scope=col]').length").await == json!(7)
            );
        }
    }
    b.goto(&format!("{}/calendar?view=agenda", t.base)).await;
    assert_eq!(b.text("a[aria-current=page]").await, "Agenda");
    assert!(b.text("section.cal-overdue").await.contains("Late review"));
    assert_eq!(b.run(overdue_entry).await, json!(1));
    b.assert_accessible().await;
    // From the keyboard: the entry's link takes the focus, Enter opens its task.
    b.run("document.querySelector('li.entry.overdue a').focus()").await;
    assert_eq!(b.run("return document.activeElement.textContent").await, json!("Late review — deadline"));
    b.keys("\u{E007}").await;
    b.wait_for("dd.deadline").await;
    assert!(b.url().await.ends_with(&format!("/tasks/{late}")), "{}", b.url().await);
    assert_eq!(b.text("h1").await, "Late review");

    // On a phone, the month is a list of the days with entries: no sideways scrolling.
    b.resize(375, 800).await;
    b.goto(&format!("{}/calendar?view=month&date={due}", t.base)).await;
    let width = b.run("return [document.documentElement.scrollWidth, window.innerWidth]").await;
    assert!(width[0].as_i64().unwrap() <= width[1].as_i64().unwrap(), "{width}");
    assert_eq!(b.run(overdue_entry).await, json!(1));

    // The team's week: the role's tasks, who holds them.
    b.resize(1280, 900).await;
    b.click("nav[aria-label=Main] a[href='/team']").await;
    b.wait_for("h2#team-h").await;
    assert_eq!(b.text("h1").await, "Team's week");
    let table = b.text("table.tasks").await;
    assert!(table.contains("Late review") && table.contains("Overdue"), "{table}");
    assert!(table.contains("Work A job") && table.contains("carl") && table.contains("unclaimed"), "{table}");
    assert!(!table.contains("B job"), "{table}");
    b.assert_accessible().await;
}

/// The README's screenshots, from the data `flowcal demo` loads: bob's
/// first page, his task with its deadline in his Google calendar and the
/// process diagram, his calendar and his team's week, a page in Japanese,
/// the phone layout, his settings, and alice's model page and admin page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_readme_screenshots_from_the_demo_data() {
    let Some(peers) = BrowserPeers::from_env() else { return };
    let t = TestApp::spawn_with(TestDb::sqlite(), "[delivery]\nworkers = 0\n").await;
    t.clock.set(jiff::Timestamp::now());
    let report = flowcal_server::demo::load(&t.app).await.unwrap();
    assert_eq!(report.instances_started.len(), 4, "{report:?}");
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let peer = Arc::new(peer);
    let google = crate::google_double::Double::start(peer.clone()).await;
    let alice = t.app.access.create_token("alice", "screenshots").await.unwrap();
    put_provider(&t, &alice, "google", google_at_peer(&peer, Some(&google.base))).await;
    let bob = t.app.access.create_token("bob", "screenshots").await.unwrap();
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let b = peers.open().await;
    b.resize(1280, 900).await;

    // Bob's first page: his tasks with their deadlines.
    b.sign_in_with(&t, "bob", flowcal_server::demo::DEMO_PASSWORD).await;
    let tasks = b.text("table.tasks").await;
    for title in ["Family visit", "Supplier contract", "Summer in Lisbon"] {
        assert!(tasks.contains(title), "{title} in {tasks}");
    }
    b.screenshot("my-tasks").await;
    b.resize(375, 800).await;
    b.screenshot("my-tasks-phone").await;
    b.resize(1280, 900).await;

    // The approval of alice's leave, its deadline put in his Google calendar.
    b.click("table.tasks a[href^='/tasks/']").await;
    b.wait_for("figure.diagram svg .current").await;
    b.click("dd.deadline .calendar button[name=provider]").await;
    b.wait_notice("Calendar connected").await;
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    b.goto(&b.url().await).await;
    let state = b.text("dd.deadline .cal-state").await;
    assert!(state.starts_with("✓ In calendar"), "{state}");
    b.screenshot("task").await;
    b.run("document.querySelector('figure.diagram').scrollIntoView()").await;
    b.screenshot("task-diagram").await;

    // His calendar, on a desktop and a phone, and his team's week.
    b.goto(&format!("{}/calendar", t.base)).await;
    b.wait_for("table.cal-month").await;
    b.screenshot("calendar").await;
    b.resize(375, 800).await;
    b.goto(&format!("{}/calendar?view=agenda", t.base)).await;
    b.screenshot("calendar-phone").await;
    b.resize(1280, 900).await;
    b.goto(&format!("{}/team", t.base)).await;
    assert!(b.text("table.tasks").await.contains("Summer in Lisbon"));
    b.screenshot("team-week").await;
    b.goto(&format!("{}/settings", t.base)).await;
    assert!(b.text("ul.accounts").await.contains("connected"));
    b.screenshot("settings").await;

    // In Japanese, by his setting.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(json!({"language": "ja"}))).await;
    assert_eq!(s, 200);
    b.goto(&format!("{}/tasks", t.base)).await;
    assert_eq!(b.run("return document.documentElement.lang").await, json!("ja"));
    b.screenshot("my-tasks-ja").await;

    // Alice: the model page with its diagram, and the admin page.
    b.click("form.signout button").await;
    b.wait_for("form[action='/login']").await;
    b.sign_in_with(&t, "alice", flowcal_server::demo::DEMO_PASSWORD).await;
    b.goto(&format!("{}/models/leave", t.base)).await;
    b.wait_for("figure.diagram svg").await;
    b.screenshot("diagram").await;
    b.goto(&format!("{}/admin", t.base)).await;
    b.screenshot("admin").await;
    assert!(google.take_violations().is_empty());
}
