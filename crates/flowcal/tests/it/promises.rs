//! Promises of the README that no other test ran: the session lifetime
//! (`session_hours`) and the doubling sign-in lock over HTTP, `flowcal secrets
//! retire` keeping a key a stored secret still uses, `client_secret_file`,
//! `flowcal user list`, and another user's attempts on single objects.

use crate::access::{put_provider, Browser, Oidc, Radicale, CLIENT_SECRET};
use crate::support::{TestApp, TestDb};
use flowcal_connect::seal::Keyring;
use reqwest::Method;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

/// A password sign-in from the test's address: the answer.
async fn sign_in(t: &TestApp, login: &str, password: &str) -> reqwest::Response {
    t.client.post(format!("{}/login", t.base)).form(&[("login", login), ("password", password)]).send().await.unwrap()
}

fn retry_after(r: &reqwest::Response) -> Option<u64> {
    r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

fn later(t: &TestApp, seconds: i64) {
    t.clock.set(t.app.now() + jiff::SignedDuration::from_secs(seconds));
}

// ---- the session lifetime ---------------------------------------------------------------------

crate::on_both_backends!(a_session_ends_after_session_hours);

async fn a_session_ends_after_session_hours(db: TestDb) {
    let t = TestApp::spawn_with(db, "session_hours = 2").await;
    t.user("alice", false, &[]).await;
    let r = sign_in(&t, "alice", "password-123").await;
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("; Max-Age=7200"), "the cookie lasts as long as the session: {set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let me = |cookie: String| {
        let t = &t;
        async move { t.client.get(format!("{}/api/v1/me", t.base)).header("cookie", cookie).send().await.unwrap().status() }
    };
    assert_eq!(me(cookie.clone()).await, 200);
    // A browser that ignored Max-Age: the server's own expiry still counts.
    later(&t, 2 * 3600 - 60);
    assert_eq!(me(cookie.clone()).await, 200, "a minute before the end");
    later(&t, 61);
    assert_eq!(me(cookie.clone()).await, 401, "a second after the end");
    let page = t.client.get(format!("{}/tasks", t.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert!(page.headers()["location"].to_str().unwrap().starts_with("/login"));
}

// ---- the sign-in lock doubles -----------------------------------------------------------------

crate::on_both_backends!(the_sign_in_lock_doubles_with_each_further_failure);

async fn the_sign_in_lock_doubles_with_each_further_failure(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("alice", false, &[]).await;
    for i in 1..=4 {
        let r = sign_in(&t, "alice", "wrong-password").await;
        assert_eq!(r.status(), 401, "failure {i} is only a failure");
    }
    // The fifth failure locks the login for a minute; each further failure
    // once the lock is over locks it twice as long.
    let mut lock = 60;
    for round in 0..3 {
        let r = sign_in(&t, "alice", "wrong-password").await;
        assert_eq!((r.status().as_u16(), retry_after(&r)), (429, Some(lock)), "round {round}");
        later(&t, lock as i64 - 1);
        let r = sign_in(&t, "alice", "password-123").await;
        assert_eq!(
            (r.status().as_u16(), retry_after(&r)),
            (429, Some(1)),
            "round {round}: the right password waits too"
        );
        later(&t, 1);
        lock *= 2;
    }
    // Over at last: the right password signs in (and forgets the failures).
    assert_eq!(sign_in(&t, "alice", "password-123").await.status(), 303);
    assert_eq!(sign_in(&t, "alice", "wrong-password").await.status(), 401);
}

// ---- secrets retire ----------------------------------------------------------------------------

/// `flowcal` with a configuration file on the same database and key file as `t`.
fn flowcal_beside(t: &TestApp, dir: &Path, args: &[&str]) -> Output {
    let c = &t.app.config;
    let config = dir.join("flowcal.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\ndatabase_url = \"{}\"\nsecret_key_file = \"{}\"\nlog = \"warn\"\n",
            dir.join("data").display(),
            c.database_url,
            c.secret_key_file.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_flowcal"))
        .args(args)
        .env("FLOWCAL_CONFIG", &config)
        .env_remove("FLOWCAL_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "flowcal {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

crate::on_both_backends!(secrets_retire_keeps_a_key_a_stored_secret_still_uses);

async fn secrets_retire_keeps_a_key_a_stored_secret_still_uses(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let provider = json!({"kind": "oauth", "client_id": "flowcal", "client_secret": CLIENT_SECRET,
                          "issuer": "https://id.example.com", "authorization_endpoint": "https://id.example.com/auth",
                          "token_endpoint": "https://id.example.com/token", "scopes": ["openid"]});
    put_provider(&t, &admin, "peer", provider).await;
    let key_file = t.app.config.secret_key_file.clone();
    let first = Keyring::load(&key_file).unwrap().current_id().to_owned();
    // A new key arrives (as from a rotation whose re-encryption has not yet
    // reached this value): the client secret is still sealed with the first key.
    let second = Keyring::rotate_file(&key_file).unwrap().current_id().to_owned();
    assert_ne!(first, second);

    let dir = tempfile::tempdir().unwrap();
    let out = flowcal_beside(&t, dir.path(), &["secrets", "retire"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(said.trim(), format!("keys removed: none; keys kept: {first}, {second}"));
    assert_eq!(Keyring::load(&key_file).unwrap().key_ids(), vec![first.clone(), second.clone()]);
    let secret = |t: &TestApp| {
        let app = t.app.clone();
        async move { app.access.connectivity().await.unwrap().providers["peer"].client_secret.clone() }
    };
    assert_eq!(secret(&t).await.as_deref(), Some(CLIENT_SECRET), "the secret still opens");

    // Rotated for real, the first key is no longer used and goes.
    let out = flowcal_beside(&t, dir.path(), &["secrets", "rotate"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 1 stored secrets re-encrypted"));
    let third = Keyring::load(&key_file).unwrap().current_id().to_owned();
    let out = flowcal_beside(&t, dir.path(), &["secrets", "retire"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(said.trim(), format!("keys removed: {first}, {second}; keys kept: {third}"));
    assert_eq!(Keyring::load(&key_file).unwrap().key_ids(), vec![third]);
    assert_eq!(secret(&t).await.as_deref(), Some(CLIENT_SECRET));
}

// ---- client_secret_file -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_client_secret_file_is_the_secret_flowcal_presents() {
    // The port is known before the peer starts: its redirect URI names it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let callback = format!("http://127.0.0.1:{port}/oauth/callback");
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let files = tempfile::tempdir().unwrap();
    let (right, wrong) = (files.path().join("right"), files.path().join("wrong"));
    // The file as an operator writes it: a trailing newline.
    std::fs::write(&right, format!("{CLIENT_SECRET}\n")).unwrap();
    std::fs::write(&wrong, "not-the-secret\n").unwrap();
    let provider = |name: &str, file: &Path| {
        let i = &peer.issuer;
        format!(
            "[providers.{name}]\nkind = \"oauth\"\nclient_id = \"flowcal\"\nclient_secret_file = \"{}\"\n\
             issuer = \"{i}\"\nscopes = [\"openid\", \"offline_access\", \"email\", \"calendar\"]\n",
            file.display()
        )
    };
    let extra = format!("{}{}", provider("peer", &right), provider("wrong", &wrong));
    let t = TestApp::spawn_on(TestDb::sqlite(), &extra, port).await;
    t.clock.set(jiff::Timestamp::now());
    let alice = t.user("alice", false, &[]).await;
    let browser = Browser::new();
    browser.login(&t, "alice").await;
    browser.api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;

    // The secret read from the file is the one the token endpoint accepts.
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200, "{page}");
    let (_, list) = t.get("/api/v1/calendar-accounts", &alice).await;
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1, "{list}");
    // With another file's content the token endpoint refuses flowcal, and nothing is connected.
    let back = browser.start_connect(&t, "wrong", "alice@example.com").await;
    let (s, page) = browser.visit(&back).await;
    assert!(s >= 400, "{s}: {page}");
    let (_, list) = t.get("/api/v1/calendar-accounts", &alice).await;
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1, "{list}");
    assert!(!page.contains("not-the-secret") && !page.contains(CLIENT_SECRET), "{page}");
}

// ---- flowcal user list ------------------------------------------------------------------------

#[test]
fn user_list_names_each_user_with_rights_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .args(args)
            .current_dir(dir.path())
            .env("FLOWCAL_DATA_DIR", dir.path().join("data"))
            .env_remove("FLOWCAL_DATABASE_URL")
            .env_remove("FLOWCAL_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&["user", "list"]), "", "no users yet");
    run(&["user", "add", "zed", "--role", "managers", "--role", "hr"]);
    run(&["user", "add", "root", "--admin"]);
    run(&["user", "add", "amy"]);
    run(&["user", "disable", "amy"]);
    // One line a user, by login: login, admin or user, roles, state (tab-separated).
    let list = run(&["user", "list"]);
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["amy", "user", "", "disabled"],
            vec!["root", "admin", "", "active"],
            vec!["zed", "user", "hr,managers", "active"],
        ],
        "{list}"
    );
}

// ---- another user's single objects ----------------------------------------------------------

const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

crate::on_both_backends!(peers: another_user_cannot_touch_single_objects);

/// Another user (not an administrator) names the owner's instance and export
/// by id: every attempt is refused as if they did not exist, and afterwards
/// the owner's objects are exactly as they were.
async fn another_user_cannot_touch_single_objects(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let Some(radicale) = Radicale::start().await else { return };
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let mallory = t.user("mallory", false, &[]).await;
    let hosts = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{}", radicale.port)], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &root, Some(hosts)).await.0, 200);
    assert_eq!(t.upload(&root, DUE_MODEL).await.0, 201);
    for who in [&alice, &mallory] {
        let on = Some(json!({"calendar_export": true}));
        assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", who, on).await.0, 200);
    }
    let (_, inst) = t.post("/api/v1/instances", &alice, json!({"model": "due", "title": "Mine"})).await;
    let instance = inst["id"].as_i64().unwrap();
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "alice",
                         "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let account = acc["id"].as_i64().unwrap();
    let (s, export) =
        t.post("/api/v1/exports", &alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{export}");
    let export = export["id"].as_i64().unwrap();
    t.app.exports.deliver_due().await.unwrap();
    let (_, before) = t.get(&format!("/api/v1/exports/{export}"), &alice).await;
    let (_, inst_before) = t.get(&format!("/api/v1/instances/{instance}"), &alice).await;

    for (method, path) in [
        (Method::POST, format!("/api/v1/instances/{instance}/cancel")),
        (Method::GET, format!("/api/v1/instances/{instance}")),
        (Method::GET, format!("/api/v1/exports/{export}")),
        (Method::POST, format!("/api/v1/exports/{export}/retry")),
        (Method::DELETE, format!("/api/v1/exports/{export}")),
    ] {
        let (s, b) = t.call(method.clone(), &path, &mallory, None).await;
        assert_eq!(s, 404, "{method} {path} as another user: {b}");
        // The refusal says no more than an id that does not exist.
        let (s2, b2) = t
            .call(
                method.clone(),
                &path.replace(&format!("/{instance}"), "/999999").replace(&format!("/{export}"), "/999999"),
                &mallory,
                None,
            )
            .await;
        assert_eq!((s, b["error"]["code"].clone()), (s2, b2["error"]["code"].clone()), "{method} {path}");
    }
    // Nothing changed for the owner.
    let (_, after) = t.get(&format!("/api/v1/exports/{export}"), &alice).await;
    let (_, inst_after) = t.get(&format!("/api/v1/instances/{instance}"), &alice).await;
    assert_eq!(after, before);
    assert_eq!(inst_after, inst_before);
    assert_eq!(inst_after["status"], "running", "{inst_after}");
    // The owner may do what the other user could not.
    let (s, b) = t.post(&format!("/api/v1/instances/{instance}/cancel"), &alice, json!({})).await;
    assert_eq!(s, 200, "{b}");
}
