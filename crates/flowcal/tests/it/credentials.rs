//! Credentials and people over time, black-box: personal API tokens with
//! names and expiry, password changes that end other sessions, disabling
//! users and taking rights away, and deleting a user (their entries leave
//! their calendars, their grants are revoked at the provider).

use crate::access::{app_now, events_in, generic_provider, put_provider, stored_credentials, Browser, Oidc, Radicale};
use crate::support::{read, TestApp, TestDb};
use reqwest::{Client, Method};
use serde_json::{json, Value as Json};

/// A browser session of `login` (password `pw`): its cookie header.
pub(crate) async fn sign_in(t: &TestApp, login: &str, pw: &str) -> Result<String, u16> {
    let r =
        t.client.post(format!("{}/login", t.base)).form(&[("login", login), ("password", pw)]).send().await.unwrap();
    if r.status() != 303 {
        return Err(r.status().as_u16());
    }
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    Ok(set.split(';').next().unwrap().to_owned())
}

/// `GET path` with a session cookie: the status.
async fn with_cookie(t: &TestApp, cookie: &str, path: &str) -> u16 {
    t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

/// The CSRF token on a page (forms carry it in a hidden field).
async fn csrf(t: &TestApp, cookie: &str, path: &str) -> String {
    let page = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
    html[at..at + 32].to_owned()
}

/// A form post from a page, with its CSRF token: the status and the notice cookie or page.
pub(crate) async fn post_form(
    t: &TestApp,
    cookie: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let token = csrf(t, cookie, page).await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", &token));
    let r = t.client.post(format!("{}{action}", t.base)).header("cookie", cookie).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    let notice = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("flowcal_notice="))
        .map(str::to_owned);
    let body = r.text().await.unwrap();
    (status, notice.unwrap_or(body))
}

async fn tokens(t: &TestApp, token: &str) -> Vec<Json> {
    let (s, b) = t.get("/api/v1/me/tokens", token).await;
    assert_eq!(s, 200, "{b}");
    b["tokens"].as_array().unwrap().clone()
}

// ---- personal API tokens ----------------------------------------------------------------------

async fn token_life_cycle(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let alice = t.user("alice", false, &[]).await;
    let bob = t.user("bob", false, &[]).await;
    let start = t.app.now();

    // A named token that lives two days; shown once.
    let (s, made) = t.post("/api/v1/me/tokens", &alice, json!({"name": "laptop script", "expires_days": 2})).await;
    assert_eq!(s, 201, "{made}");
    let (id, ci) = (made["id"].as_i64().unwrap(), made["token"].as_str().unwrap().to_owned());
    let (s, me) = t.get("/api/v1/me", &ci).await;
    assert_eq!((s, me["login"].as_str()), (200, Some("alice")));
    let list = tokens(&t, &alice).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(!Json::Array(list.clone()).to_string().contains(&ci), "the list never shows a token");
    let mine = list.iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(mine["name"], "laptop script");
    assert_eq!(mine["created_at"], start.to_string());
    assert_eq!(mine["last_used_at"], start.to_string(), "its use was recorded");
    assert_eq!(mine["expires_at"], (start + jiff::SignedDuration::from_hours(48)).to_string());
    let other = list.iter().find(|x| x["id"] != id).unwrap();
    assert_eq!((other["name"].as_str(), other["expires_at"].clone()), (Some("test"), Json::Null));

    // Refused shapes: no name, a life of 0 days or of more than ten years.
    for body in
        [json!({"name": " "}), json!({"name": "x", "expires_days": 0}), json!({"name": "x", "expires_days": 3651})]
    {
        let (s, e) = t.post("/api/v1/me/tokens", &alice, body).await;
        assert_eq!(s, 422, "{e}");
    }

    // Expiry: it works to the last millisecond, then 401 saying why; the other token goes on.
    t.clock.set(start + jiff::SignedDuration::from_hours(48) - jiff::SignedDuration::from_millis(1));
    assert_eq!(t.get("/api/v1/me", &ci).await.0, 200);
    t.clock.set(start + jiff::SignedDuration::from_hours(48));
    let (s, e) = t.get("/api/v1/me", &ci).await;
    assert_eq!(s, 401, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("expired"), "{e}");
    assert_eq!(t.get("/api/v1/me", &alice).await.0, 200);

    // Only the owner sees and revokes a token: another user's id is "not found".
    let (s, _) = t.call(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), &bob, None).await;
    assert_eq!(s, 404);
    assert_eq!(tokens(&t, &bob).await.len(), 1);
    let second = t.post("/api/v1/me/tokens", &alice, json!({"name": "second"})).await.1;
    let (id2, second) = (second["id"].as_i64().unwrap(), second["token"].as_str().unwrap().to_owned());
    assert_eq!(t.get("/api/v1/me", &second).await.0, 200);
    let (s, _) = t.call(Method::DELETE, &format!("/api/v1/me/tokens/{id2}"), &alice, None).await;
    assert_eq!(s, 204);
    let (s, e) = t.get("/api/v1/me", &second).await;
    assert_eq!(s, 401, "revoked at once: {e}");
    let (s, _) = t.call(Method::DELETE, &format!("/api/v1/me/tokens/{id2}"), &alice, None).await;
    assert_eq!(s, 404, "already gone");
    assert_eq!(tokens(&t, &alice).await.len(), 2);

    // The settings page: create with a name (shown once), listed, revoked.
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    let (s, page) =
        post_form(&t, &cookie, "/settings", "/settings/tokens", &[("name", "from the browser"), ("expires_days", "")])
            .await;
    assert_eq!(s, 200, "{page}");
    let shown = "id=\"new_token\" readonly value=\"";
    let at = page.find(shown).expect("the new token, shown once") + shown.len();
    let made = page[at..].split('"').next().unwrap().to_owned();
    assert!(made.starts_with("fc_"), "{made}");
    assert_eq!(t.get("/api/v1/me", &made).await.0, 200);
    let listed = tokens(&t, &alice).await;
    let row = listed.iter().find(|x| x["name"] == "from the browser").unwrap();
    assert_eq!(row["expires_at"], Json::Null);
    let settings = t.client.get(format!("{}/settings", t.base)).header("cookie", &cookie).send().await.unwrap();
    let html = settings.text().await.unwrap();
    assert!(html.contains("from the browser") && !html.contains(&made), "listed, never shown again");
    let revoke = format!("/settings/tokens/{}/revoke", row["id"]);
    assert_eq!(post_form(&t, &cookie, "/settings", &revoke, &[]).await.0, 303);
    assert_eq!(t.get("/api/v1/me", &made).await.0, 401);
    // Another user's token id cannot be revoked from the page either.
    let other = tokens(&t, &bob).await[0]["id"].as_i64().unwrap();
    assert_eq!(post_form(&t, &cookie, "/settings", &format!("/settings/tokens/{other}/revoke"), &[]).await.0, 404);
    assert_eq!(t.get("/api/v1/me", &bob).await.0, 200);

    // Every status the handlers answer is in the OpenAPI document.
    let (_, doc) = t.get("/api/v1/openapi.json", &alice).await;
    let codes = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
    };
    let documents = |path: &str, method: &str, statuses: &[&str]| {
        let listed = codes(path, method);
        for s in statuses {
            assert!(listed.contains(&(*s).to_owned()), "{method} {path} lacks {s}: {listed:?}");
        }
    };
    documents("/api/v1/me/tokens", "post", &["201", "400", "401", "403", "415", "422"]);
    documents("/api/v1/me/tokens/{id}", "delete", &["204", "401", "403", "404"]);
    documents("/api/v1/admin/users/{login}", "delete", &["202", "401", "403", "404", "409"]);
    documents("/api/v1/admin/users/{login}", "patch", &["200", "403", "404", "409", "422"]);
}

crate::on_both_backends!(token_life_cycle);

// ---- passwords ----------------------------------------------------------------------------------

async fn password_changes_end_other_sessions(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("root", true, &[]).await;
    t.user("alice", false, &[]).await;
    let here = sign_in(&t, "alice", "password-123").await.unwrap();
    let phone = sign_in(&t, "alice", "password-123").await.unwrap();
    assert_eq!(with_cookie(&t, &phone, "/api/v1/me").await, 200);

    // A wrong current password changes nothing.
    let fields = [("current_password", "not-the-password"), ("new_password", "a-new-password-1")];
    let (s, _) = post_form(&t, &here, "/settings", "/settings/password", &fields).await;
    assert_eq!(s, 403);
    assert_eq!(with_cookie(&t, &phone, "/api/v1/me").await, 200);

    // The change ends the other session, keeps this one, and says so.
    let fields = [("current_password", "password-123"), ("new_password", "a-new-password-1")];
    let (s, notice) = post_form(&t, &here, "/settings", "/settings/password", &fields).await;
    assert_eq!(s, 303);
    assert!(notice.contains("signed%20out%20everywhere%20else") && notice.contains("1%20other"), "{notice}");
    assert_eq!(with_cookie(&t, &here, "/api/v1/me").await, 200);
    assert_eq!(with_cookie(&t, &phone, "/api/v1/me").await, 401);
    assert_eq!(sign_in(&t, "alice", "password-123").await, Err(401));
    let again = sign_in(&t, "alice", "a-new-password-1").await.unwrap();

    // A reset by an administrator ends every session, this one too.
    let root = sign_in(&t, "root", "password-123").await.unwrap();
    let (s, notice) =
        post_form(&t, &root, "/admin", "/admin/users/alice/password", &[("password", "reset-by-root-1")]).await;
    assert_eq!(s, 303, "{notice}");
    assert!(notice.contains("sessions%20ended"), "{notice}");
    assert_eq!(with_cookie(&t, &here, "/api/v1/me").await, 401);
    assert_eq!(with_cookie(&t, &again, "/api/v1/me").await, 401);
    assert_eq!(with_cookie(&t, &root, "/api/v1/me").await, 200, "the administrator's own session stays");
    sign_in(&t, "alice", "reset-by-root-1").await.unwrap();
}

crate::on_both_backends!(password_changes_end_other_sessions);

// ---- administrators and users -----------------------------------------------------------------

async fn disabling_and_taking_rights_away(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    assert_eq!(t.upload(&root, crate::support::leave_model()).await.0, 201);
    let data = json!({"first_day": "2026-04-06", "days": 8, "handover": "2026-04-03T10:00:00+02:00"});
    let (s, inst) =
        t.post("/api/v1/instances", &alice, json!({"model": "leave", "title": "Easter", "data": data})).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, _) = t.post(&format!("/api/v1/tasks/{task}/claim"), &alice, json!({})).await;
    assert_eq!(s, 200, "alice takes the managers' task");
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let (s, feed) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201, "{feed}");
    let feed = feed["url"].as_str().unwrap().to_owned();
    let feed_status = || async { Client::new().get(&feed).send().await.unwrap().status().as_u16() };
    assert_eq!(feed_status().await, 200);
    let patch = |who: &str, login: &str, body: Json| {
        let (t, who, path) = (&t, who.to_owned(), format!("/api/v1/admin/users/{login}"));
        async move { t.call(Method::PATCH, &path, &who, Some(body)).await }
    };

    // Only administrators change users.
    let (s, _) = patch(&alice, "root", json!({"admin": false})).await;
    assert_eq!(s, 403);
    let (s, _) = t.call(Method::DELETE, "/api/v1/admin/users/root", &alice, None).await;
    assert_eq!(s, 403);
    assert_eq!(patch(&root, "nobody", json!({"disabled": true})).await.0, 404);
    assert_eq!(patch(&root, "alice", json!({"roles": [" padded"]})).await.0, 422);
    assert_eq!(patch(&root, "alice", json!({"colour": "red"})).await.0, 422);
    let many: Vec<String> = (0..101).map(|i| format!("r{i}")).collect();
    assert_eq!(patch(&root, "alice", json!({"roles": many})).await.0, 422);

    // Disabled: her token, session and feed stop at once; she cannot sign in.
    let (s, u) = patch(&root, "alice", json!({"disabled": true})).await;
    assert_eq!((s, u["state"].as_str(), u["login"].as_str()), (200, Some("disabled"), Some("alice")), "{u}");
    let (s, e) = t.get("/api/v1/me", &alice).await;
    assert_eq!(s, 403, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("disabled"), "{e}");
    assert_eq!(with_cookie(&t, &cookie, "/api/v1/me").await, 401);
    assert_eq!(sign_in(&t, "alice", "password-123").await, Err(403));
    assert_eq!(feed_status().await, 404);
    // Her tasks stay visible to administrators.
    let (s, seen) = t.get(&format!("/api/v1/tasks/{task}"), &root).await;
    assert_eq!((s, seen["assignee"].as_str()), (200, Some("alice")), "{seen}");
    let (s, _) = t.get(&format!("/api/v1/instances/{}", inst["id"]), &root).await;
    assert_eq!(s, 200);

    // Enabled again: the token and the feed work again, she signs in again.
    let (s, u) = patch(&root, "alice", json!({"disabled": false})).await;
    assert_eq!((s, u["state"].as_str()), (200, Some("active")));
    assert_eq!(t.get("/api/v1/me", &alice).await.0, 200);
    assert_eq!(feed_status().await, 200);
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    assert_eq!(with_cookie(&t, &cookie, "/api/v1/me").await, 200);

    // Roles taken away count at once.
    let (s, u) = patch(&root, "alice", json!({"roles": ["designers"]})).await;
    assert_eq!((s, u["roles"].clone()), (200, json!(["designers"])));
    assert_eq!(t.get("/api/v1/me", &alice).await.1["roles"], json!(["designers"]));
    assert_eq!(t.upload(&alice, crate::support::leave_model()).await.0, 201);
    assert_eq!(patch(&root, "alice", json!({"roles": []})).await.0, 200);
    assert_eq!(t.upload(&alice, crate::support::leave_model()).await.0, 403);

    // Admin rights given and taken away at once.
    assert_eq!(t.get("/api/v1/admin/connectivity", &alice).await.0, 403);
    assert_eq!(patch(&root, "alice", json!({"admin": true})).await.1["admin"], true);
    assert_eq!(t.get("/api/v1/admin/connectivity", &alice).await.0, 200);
    assert_eq!(with_cookie(&t, &cookie, "/admin").await, 200);
    assert_eq!(patch(&root, "alice", json!({"admin": false})).await.0, 200);
    assert_eq!(t.get("/api/v1/admin/connectivity", &alice).await.0, 403);
    assert_eq!(with_cookie(&t, &cookie, "/admin").await, 403);

    // The last active administrator stays one: not demoted; and no
    // administrator disables or deletes their own account (the last one
    // through the command line neither: see cli.rs).
    let (s, e) = patch(&root, "root", json!({"admin": false})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("last active administrator"), "{e}");
    let (s, e) = patch(&root, "root", json!({"disabled": true})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot disable your own account"), "{e}");
    let (s, e) = t.call(Method::DELETE, "/api/v1/admin/users/root", &root, None).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot delete your own account"), "{e}");
    assert_eq!(t.get("/api/v1/admin/connectivity", &root).await.0, 200);
    // With a second administrator, the first may step down; then the second is the last.
    assert_eq!(patch(&root, "alice", json!({"admin": true})).await.0, 200);
    // Even then nobody locks themselves out by a slip.
    let (s, e) = patch(&alice, "alice", json!({"disabled": true})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot disable your own account"), "{e}");
    assert_eq!(t.call(Method::DELETE, "/api/v1/admin/users/alice", &alice, None).await.0, 409);
    assert_eq!(t.get("/api/v1/admin/connectivity", &alice).await.0, 200);
    assert_eq!(patch(&alice, "root", json!({"admin": false})).await.0, 200);
    let (s, e) = patch(&alice, "alice", json!({"admin": false})).await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("last active administrator"), "{e}");

    // The admin page does the same through its forms.
    let root_cookie = {
        assert_eq!(patch(&alice, "root", json!({"admin": true})).await.0, 200);
        sign_in(&t, "root", "password-123").await.unwrap()
    };
    let (s, notice) = post_form(&t, &root_cookie, "/admin", "/admin/users/alice/disable", &[]).await;
    assert_eq!(s, 303, "{notice}");
    assert_eq!(t.get("/api/v1/me", &alice).await.0, 403);
    let (s, _) = post_form(&t, &root_cookie, "/admin", "/admin/users/alice/enable", &[]).await;
    assert_eq!(s, 303);
    assert_eq!(patch(&root, "alice", json!({"roles": ["hr", "managers"]})).await.0, 200);
    let (s, _) = post_form(&t, &root_cookie, "/admin", "/admin/users/alice/roles/hr/remove", &[]).await;
    assert_eq!(s, 303);
    assert_eq!(t.get("/api/v1/me", &alice).await.1["roles"], json!(["managers"]));
    let (s, _) = post_form(&t, &root_cookie, "/admin", "/admin/users/alice/admin", &[("admin", "off")]).await;
    assert_eq!(s, 303);
    assert_eq!(t.get("/api/v1/me", &alice).await.1["admin"], false);
    // A form post without the page's token is refused.
    let r = t
        .client
        .post(format!("{}/admin/users/alice/disable", t.base))
        .header("cookie", &root_cookie)
        .form(&[("_csrf", "0123456789abcdef0123456789abcdef")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(t.get("/api/v1/me", &alice).await.0, 200);
}

crate::on_both_backends!(disabling_and_taking_rights_away);

// ---- deleting a user --------------------------------------------------------------------------

/// The audit log as an administrator reads it.
async fn audit(t: &TestApp, admin: &str) -> Vec<Json> {
    let (s, b) = t.get("/api/v1/audit?all=true", admin).await;
    assert_eq!(s, 200, "{b}");
    b["entries"].as_array().unwrap().clone()
}

async fn deleting_a_user_removes_their_calendar_entries(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let Some(radicale) = Radicale::start().await else { return };
    let port = radicale.port;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["managers"]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let body = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &root, Some(body)).await.0, 200);
    let connect =
        json!({"url": format!("http://127.0.0.1:{port}/"), "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    let account = acc["id"].as_i64().unwrap();
    assert_eq!(t.upload(&root, crate::support::leave_model()).await.0, 201);
    let data = json!({"first_day": "2026-03-30", "days": 8, "handover": "2026-03-29T01:30:00+01:00"});
    let (s, inst) =
        t.post("/api/v1/instances", &alice, json!({"model": "leave", "title": "Easter", "data": data})).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, _) = t.post(&format!("/api/v1/tasks/{task}/claim"), &alice, json!({})).await;
    assert_eq!(s, 200, "alice takes the managers' task");
    for source in ["deadline", "item:first_day"] {
        let (s, e) =
            t.post("/api/v1/exports", &alice, json!({"task": task, "source": source, "account": account})).await;
        assert_eq!(s, 202, "{e}");
    }
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    let exports = t.get("/api/v1/exports", &alice).await.1;
    let calendar = exports["exports"][0]["calendar"].as_str().unwrap().to_owned();
    assert_eq!(events_in(&calendar).await, 2, "{exports}");
    let feed = t.post("/api/v1/me/feed", &alice, json!({})).await.1["url"].as_str().unwrap().to_owned();
    assert_eq!(Client::new().get(&feed).send().await.unwrap().status(), 200);
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id;

    // Deleting answers at once: she is disabled, her feed is off; her entries wait for delivery.
    let (s, u) = t.call(Method::DELETE, "/api/v1/admin/users/alice", &root, None).await;
    assert_eq!((s, u["state"].as_str()), (202, Some("deleting")), "{u}");
    assert_eq!(t.get("/api/v1/me", &alice).await.0, 403);
    assert_eq!(Client::new().get(&feed).send().await.unwrap().status(), 404);
    assert_eq!(sign_in(&t, "alice", "password-123").await, Err(403));
    assert_eq!(t.app.access.advance_deletions().await.unwrap(), 0, "not before her entries are removed");
    assert_eq!(events_in(&calendar).await, 2);
    assert!(t.app.store.account(account).await.unwrap().is_some());
    // Asking again changes nothing; she cannot be changed meanwhile.
    let (s, u) = t.call(Method::DELETE, "/api/v1/admin/users/alice", &root, None).await;
    assert_eq!((s, u["state"].as_str()), (202, Some("deleting")));
    let (s, _) = t.call(Method::PATCH, "/api/v1/admin/users/alice", &root, Some(json!({"disabled": false}))).await;
    assert_eq!(s, 409);

    // Delivery removes the entries; then the account and its credentials go.
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
    assert_eq!(events_in(&calendar).await, 0);
    assert_eq!(t.app.access.advance_deletions().await.unwrap(), 1);
    assert_eq!(t.app.access.advance_deletions().await.unwrap(), 0, "done once");
    assert!(t.app.store.account(account).await.unwrap().is_none());
    assert!(t.app.store.accounts_of(alice_id).await.unwrap().is_empty());
    assert!(t.app.store.api_tokens_of(alice_id).await.unwrap().is_empty());
    let gone = t.app.store.user_by_login("alice").await.unwrap().unwrap();
    assert_eq!(gone.state(), "deleted");
    assert!(t.app.store.password_hash("alice").await.unwrap().unwrap().1.is_none());
    let (s, u) = t.call(Method::DELETE, "/api/v1/admin/users/alice", &root, None).await;
    assert_eq!((s, u["state"].as_str()), (202, Some("deleted")));

    // History still names her: her task, and the audit log.
    let (s, seen) = t.get(&format!("/api/v1/tasks/{task}"), &root).await;
    assert_eq!((s, seen["assignee"].as_str()), (200, Some("alice")));
    let log = audit(&t, &root).await;
    let of_alice: Vec<&Json> = log.iter().filter(|e| e["user"] == alice_id.0).collect();
    let actions: Vec<&str> = of_alice.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions[..3], ["user_deleted", "account_disconnected", "user_deletion_requested"], "{actions:?}");
    assert_eq!(of_alice[0]["detail"]["login"], "alice");
    assert_eq!(of_alice[0]["detail"]["entries_left_in_calendars"], 0);
    assert_eq!(of_alice[2]["detail"]["by"], "root");
    assert_eq!(of_alice[1]["detail"]["reason"], "user deleted");
}

crate::on_both_backends!(peers: deleting_a_user_removes_their_calendar_entries);

/// Deleting a user revokes their OAuth grant at the provider (RFC 7009):
/// the refresh token stops working there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn deleting_a_user_revokes_their_grant_at_the_provider() {
    let t = app_now(TestDb::sqlite()).await;
    let callback = format!("{}/oauth/callback", t.base);
    let Some(peer) = Oidc::start(&callback, json!({})) else { return };
    let root = t.user("root", true, &[]).await;
    t.user("alice", false, &[]).await;
    put_provider(&t, &root, "peer", generic_provider(&peer.issuer)).await;
    let browser = Browser::new();
    browser.login(&t, "alice").await;
    browser.api(&t, Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    let back = browser.start_connect(&t, "peer", "alice@example.com").await;
    assert_eq!(browser.visit(&back).await.0, 200);
    let (s, list) = browser.api(&t, Method::GET, "/api/v1/calendar-accounts", json!({})).await;
    assert_eq!(s, 200);
    let account = list["accounts"][0]["id"].as_i64().unwrap();
    let (_, creds) = stored_credentials(&t, account).await;
    let refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    assert!(peer.active(&refresh).await);

    let (s, u) = t.call(Method::DELETE, "/api/v1/admin/users/alice", &root, None).await;
    assert_eq!((s, u["state"].as_str()), (202, Some("deleting")), "{u}");
    assert_eq!(browser.api(&t, Method::GET, "/api/v1/me", json!({})).await.0, 401, "her session ended");
    // Nothing to remove from her calendar: the grant goes at once. Two
    // processes moving deletions on at the same time finish it once.
    let other = flowcal_server::build((*t.app.config).clone(), t.clock.clone()).await.unwrap();
    let (a, b) = tokio::join!(t.app.access.advance_deletions(), other.access.advance_deletions());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert!(!peer.active(&refresh).await, "introspection says the grant is gone");
    let r = Client::new()
        .post(format!("{}/token", peer.issuer))
        .basic_auth("flowcal", Some(crate::access::CLIENT_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    let (s, b) = read(r).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
    assert!(t.app.store.account(account).await.unwrap().is_none());
    let log = audit(&t, &root).await;
    let count = |action: &str| log.iter().filter(|e| e["action"] == action).count();
    assert_eq!((count("account_disconnected"), count("user_deleted")), (1, 1), "{log:?}");
    let disconnected = log.iter().find(|e| e["action"] == "account_disconnected").unwrap();
    assert_eq!(disconnected["detail"]["revoked"], true, "{disconnected}");
    assert!(log.iter().any(|e| e["action"] == "user_deleted" && e["detail"]["login"] == "alice"));
}

/// Eight administrators each give up their rights at the same moment: one of
/// them is refused, so one active administrator is always left.
async fn the_last_administrator_survives_a_race(db: TestDb) {
    let s = flowcal_store::Store::connect(&db.url).await.unwrap();
    s.migrate().await.unwrap();
    let now: jiff::Timestamp = "2026-03-27T08:00:00Z".parse().unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        let new = flowcal_store::NewUser {
            login: format!("admin{i}"),
            display_name: format!("Admin {i}"),
            email: String::new(),
            time_zone: "UTC".into(),
            is_admin: true,
            password_hash: None,
        };
        ids.push(s.create_user(&new, &[], now).await.unwrap());
    }
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (s, id) = (s.clone(), *id);
        let change = flowcal_store::AccessChange {
            admin: (i % 2 == 0).then_some(false),
            disabled: (i % 2 == 1).then_some(true),
            roles: None,
        };
        let audit = flowcal_store::Audit { action: "user_changed", detail: "{}".into() };
        tasks.push(tokio::spawn(async move { s.change_access(id, change, now, audit).await }));
    }
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => {}
            Err(flowcal_store::StoreError::Conflict(m)) => {
                assert!(m.contains("last active administrator"), "{m}");
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let active = s.list_users().await.unwrap().into_iter().filter(|u| u.is_admin && !u.is_disabled()).count();
    assert_eq!((active, refused), (1, 1));
}

crate::on_both_backends!(the_last_administrator_survives_a_race);
