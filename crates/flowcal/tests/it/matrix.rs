//! The authorization matrix: every API route and every form post, called as
//! nobody, as a disabled user, as another ordinary user and as an
//! administrator, against objects that belong to someone else. Each answer
//! is compared with a reviewed table; a route that the table does not name
//! (a new one in the OpenAPI document or in the pages' router) fails the
//! test, so none is added without deciding who may call it.

use crate::access::Radicale;
use crate::support::{repo_root, TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The callers, in table order.
const WHO: [&str; 4] = ["anonymous", "disabled", "other", "admin"];

/// A model any user may start; its task goes to the starter.
const MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

enum Body {
    None,
    Json(Json),
    Xml(&'static str),
}

/// One API call and the status each caller gets, in [`WHO`] order.
struct Call {
    method: &'static str,
    /// The path with `{task}`, `{instance}`, `{account}`, `{export}`, `{token}` for the owner's objects.
    path: &'static str,
    body: Body,
    expect: [u16; 4],
}

fn call(method: &'static str, path: &'static str, body: Body, expect: [u16; 4]) -> Call {
    Call { method, path, body, expect }
}

/// One form post and the status each caller gets ([`WHO`] order; 303 for a
/// refusal that sends to the sign-in page, or for a success that sends on).
struct Post {
    path: &'static str,
    fields: &'static [(&'static str, &'static str)],
    expect: [u16; 4],
}

fn post(path: &'static str, fields: &'static [(&'static str, &'static str)], expect: [u16; 4]) -> Post {
    Post { path, fields, expect }
}

/// The owner's objects that the paths name.
struct Objects {
    task: i64,
    instance: i64,
    account: i64,
    export: i64,
    token: i64,
}

impl Objects {
    fn path(&self, p: &str) -> String {
        p.replace("{task}", &self.task.to_string())
            .replace("{instance}", &self.instance.to_string())
            .replace("{account}", &self.account.to_string())
            .replace("{export}", &self.export.to_string())
            .replace("{token}", &self.token.to_string())
    }
}

/// Signs `login` in (password `password-123`, as `TestApp::user` sets) and returns the session cookie.
pub(crate) async fn session(t: &TestApp, login: &str) -> String {
    let r = t
        .client
        .post(format!("{}/login", t.base))
        .form(&[("login", login), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{login} signs in");
    r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn csrf(t: &TestApp, cookie: &str) -> String {
    let html = t.client.get(format!("{}/settings", t.base)).header("cookie", cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
    html[at..at + 32].to_owned()
}

/// The API routes the OpenAPI document lists, as `METHOD path`.
fn documented(doc: &Json) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item[method].is_object() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

/// The form posts the pages' router has, read from its source.
fn form_routes() -> BTreeSet<String> {
    let src = std::fs::read_to_string(repo_root().join("crates/flowcal-server/src/pages/mod.rs")).unwrap();
    src.lines()
        .filter(|l| l.contains(".route(\"") && l.contains("post("))
        .map(|l| l.split('"').nth(1).unwrap().to_owned())
        .collect()
}

async fn the_matrix(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let Some(radicale) = Radicale::start().await else { return };
    let root = t.user("root", true, &[]).await;
    let owner = t.user("alice", false, &[]).await;
    let other = t.user("mallory", false, &[]).await;
    let disabled = t.user("dina", false, &[]).await;
    t.user("victim", false, &["hr"]).await;
    assert_eq!(t.upload(&root, MODEL).await.0, 201);

    // The owner's objects: an instance with its task, a calendar account, an export, a token.
    let port = radicale.port;
    let hosts = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}")], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &root, Some(hosts)).await.0, 200);
    for who in [&owner, &other] {
        let on = Some(json!({"calendar_export": true}));
        assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", who, on).await.0, 200);
    }
    let (s, inst) = t.post("/api/v1/instances", &owner, json!({"model": "due", "title": "Mine"})).await;
    assert_eq!(s, 201, "{inst}");
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &owner).await;
    let connect =
        json!({"url": format!("http://127.0.0.1:{port}/"), "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &owner, connect).await;
    assert_eq!(s, 201, "{acc}");
    let (task, account) = (tasks["tasks"][0]["id"].as_i64().unwrap(), acc["id"].as_i64().unwrap());
    let (s, export) =
        t.post("/api/v1/exports", &owner, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{export}");
    let (_, tokens) = t.get("/api/v1/me/tokens", &owner).await;
    let o = Objects {
        task,
        instance: inst["id"].as_i64().unwrap(),
        account,
        export: export["id"].as_i64().unwrap(),
        token: tokens["tokens"][0]["id"].as_i64().unwrap(),
    };
    let sessions = [String::new(), session(&t, "dina").await, session(&t, "mallory").await, session(&t, "root").await];
    let (s, _) = t.call(Method::PATCH, "/api/v1/admin/users/dina", &root, Some(json!({"disabled": true}))).await;
    assert_eq!(s, 200);

    use Body::{Json as J, None as N, Xml};
    let bad_caldav = json!({"url": format!("http://127.0.0.1:{port}/"), "username": "x", "password": "y"});
    #[rustfmt::skip]
    let calls = [
        //                                                                        anonymous disabled other admin
        call("GET", "/api/v1/openapi.json", N,                                   [200, 200, 200, 200]),
        call("GET", "/api/v1/me", N,                                             [401, 403, 200, 200]),
        call("PATCH", "/api/v1/me/settings", J(json!({"time_zone": "UTC"})),     [401, 403, 200, 200]),
        call("GET", "/api/v1/me/feed", N,                                        [401, 403, 200, 200]),
        call("POST", "/api/v1/me/feed", J(json!({})),                            [401, 403, 201, 403]),
        call("DELETE", "/api/v1/me/feed", N,                                     [401, 403, 200, 200]),
        call("GET", "/api/v1/me/tokens", N,                                      [401, 403, 200, 200]),
        call("POST", "/api/v1/me/tokens", J(json!({"name": "x"})),               [401, 403, 201, 201]),
        call("DELETE", "/api/v1/me/tokens/{token}", N,                           [401, 403, 404, 404]),
        call("GET", "/api/v1/models", N,                                         [401, 403, 200, 200]),
        call("GET", "/api/v1/models/due", N,                                     [401, 403, 200, 200]),
        call("POST", "/api/v1/models", Xml(MODEL),                               [401, 403, 403, 201]),
        call("POST", "/api/v1/instances", J(json!({"model": "due", "title": "t"})), [401, 403, 201, 201]),
        call("GET", "/api/v1/instances", N,                                      [401, 403, 200, 200]),
        call("GET", "/api/v1/instances/{instance}", N,                           [401, 403, 404, 200]),
        call("GET", "/api/v1/instances/{instance}/events", N,                    [401, 403, 404, 200]),
        call("PATCH", "/api/v1/instances/{instance}/data", J(json!({"data": {}})), [401, 403, 403, 200]),
        call("POST", "/api/v1/instances/{instance}/retry", N,                    [401, 403, 403, 409]),
        call("GET", "/api/v1/incidents", N,                                      [401, 403, 403, 200]),
        call("GET", "/api/v1/tasks", N,                                          [401, 403, 200, 200]),
        call("GET", "/api/v1/tasks/{task}", N,                                   [401, 403, 404, 200]),
        call("POST", "/api/v1/tasks/{task}/claim", N,                            [401, 403, 404, 403]),
        call("GET", "/api/v1/calendar-accounts", N,                              [401, 403, 200, 200]),
        call("POST", "/api/v1/calendar-accounts/caldav", J(bad_caldav),          [401, 403, 422, 403]),
        call("POST", "/api/v1/calendar-accounts/oauth/nope", J(json!({})),       [401, 403, 404, 403]),
        call("GET", "/api/v1/calendar-accounts/{account}", N,                    [401, 403, 404, 200]),
        call("GET", "/api/v1/calendar-accounts/{account}/calendars", N,          [401, 403, 404, 403]),
        call("PUT", "/api/v1/calendar-accounts/{account}/calendar", J(json!({"calendar": "own"})), [401, 403, 404, 403]),
        call("GET", "/api/v1/exports", N,                                        [401, 403, 200, 200]),
        call("POST", "/api/v1/exports", J(json!({"task": 0, "source": "deadline", "account": 0})), [401, 403, 404, 404]),
        call("GET", "/api/v1/exports/{export}", N,                               [401, 403, 404, 200]),
        call("POST", "/api/v1/exports/{export}/retry", N,                        [401, 403, 404, 403]),
        call("POST", "/api/v1/exports/{export}/accept-remote", N,                [401, 403, 404, 403]),
        call("POST", "/api/v1/exports/{export}/keep-local", N,                   [401, 403, 404, 403]),
        call("DELETE", "/api/v1/exports/{export}", N,                            [401, 403, 404, 403]),
        call("GET", "/api/v1/providers", N,                                      [401, 403, 200, 200]),
        call("GET", "/api/v1/audit", N,                                          [401, 403, 200, 200]),
        call("GET", "/api/v1/admin/connectivity", N,                             [401, 403, 403, 200]),
        call("PUT", "/api/v1/admin/providers/{name}", J(json!({"kind": "google", "client_id": "c", "client_secret": "s"})), [401, 403, 403, 200]),
        call("DELETE", "/api/v1/admin/providers/{name}", N,                      [401, 403, 403, 204]),
        call("PATCH", "/api/v1/admin/settings", J(json!({})),                    [401, 403, 403, 200]),
        call("GET", "/api/v1/admin/users", N,                                    [401, 403, 403, 200]),
        call("PATCH", "/api/v1/admin/users/{login}", J(json!({"roles": []})),    [401, 403, 403, 200]),
        call("DELETE", "/api/v1/admin/users/{login}", N,                         [401, 403, 403, 202]),
        call("PUT", "/api/v1/admin/work-calendars/{name}", J(json!({"time_zone": "UTC", "week": ["mon"]})), [401, 403, 403, 201]),
        call("GET", "/api/v1/work-calendars", N,                                 [401, 403, 200, 200]),
        call("GET", "/api/v1/work-calendars/{name}", N,                          [401, 403, 200, 200]),
        call("GET", "/api/v1/work-calendars/{name}/days?from=2026-01-01&to=2026-01-07", N, [401, 403, 200, 200]),
        call("POST", "/api/v1/admin/work-calendars/{name}/refresh", N,           [401, 403, 403, 200]),
        call("DELETE", "/api/v1/admin/work-calendars/{name}", N,                 [401, 403, 403, 204]),
        call("DELETE", "/api/v1/calendar-accounts/{account}", N,                 [401, 403, 404, 403]),
        call("POST", "/api/v1/tasks/{task}/complete", J(json!({"data": {}})),    [401, 403, 404, 403]),
        call("POST", "/api/v1/instances/{instance}/cancel", N,                   [401, 403, 404, 200]),
    ];
    // `{name}` and `{login}` in the administrator's routes name objects made for them.
    let fill = |p: &str| o.path(p).replace("{name}", "matrix").replace("{login}", "victim");
    let tokens = [None, Some(&disabled), Some(&other), Some(&root)];
    let mut got = String::new();
    let mut mismatches = Vec::new();
    for c in &calls {
        let mut statuses = [0u16; 4];
        for (i, token) in tokens.iter().enumerate() {
            let mut req = t
                .client
                .request(Method::from_bytes(c.method.as_bytes()).unwrap(), format!("{}{}", t.base, fill(c.path)));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            req = match &c.body {
                Body::None => req,
                Body::Json(j) => req.json(j),
                Body::Xml(x) => req.header("content-type", "application/xml").body(*x),
            };
            statuses[i] = req.send().await.unwrap().status().as_u16();
        }
        writeln!(got, "{} {} {statuses:?}", c.method, c.path).unwrap();
        if statuses != c.expect {
            mismatches.push(format!("{} {}: expected {:?}, got {statuses:?}", c.method, c.path, c.expect));
        }
    }

    // Every documented route is in the table.
    let (_, doc) = t.get("/api/v1/openapi.json", &root).await;
    let named: BTreeSet<String> = calls.iter().map(|c| format!("{} {}", c.method, c.path)).collect();
    let normal = |s: &str| {
        s.replace("{task}", "{id}")
            .replace("{instance}", "{id}")
            .replace("{account}", "{id}")
            .replace("{export}", "{id}")
            .replace("{token}", "{id}")
            .replace("/models/due", "/models/{key}")
            .replace("/oauth/nope", "/oauth/{provider}")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let named: BTreeSet<String> = named.iter().map(|s| normal(s)).collect();
    let missing: Vec<_> = documented(&doc).into_iter().filter(|r| !named.contains(r)).collect();
    assert!(missing.is_empty(), "API routes missing from the authorization matrix: {missing:?}");

    #[rustfmt::skip]
    let posts = [
        //                                                                     anonymous disabled other admin
        post("/settings/profile", &[("time_zone", "UTC")],                    [303, 303, 303, 303]),
        post("/settings/connect/{provider}", &[],                             [303, 303, 403, 403]),
        post("/settings/caldav", &[("url", "http://127.0.0.1:9/"), ("username", "x"), ("password", "y")], [303, 303, 403, 403]),
        post("/settings/accounts/{account}/disconnect", &[],                  [303, 303, 404, 403]),
        post("/settings/accounts/{account}/calendar", &[("calendar", "own")], [303, 303, 404, 403]),
        post("/settings/auto-sync", &[("account", "{account}")],              [303, 303, 404, 403]),
        post("/settings/feed", &[],                                           [303, 303, 403, 403]),
        post("/settings/feed/off", &[],                                       [303, 303, 303, 303]),
        post("/settings/password", &[("current", "wrong"), ("password", "new-password-1"), ("confirm", "new-password-1")], [303, 303, 422, 422]),
        post("/settings/tokens", &[("name", "x")],                            [303, 303, 200, 200]),
        post("/settings/tokens/{token}/revoke", &[],                          [303, 303, 404, 404]),
        post("/tasks/{task}/claim", &[],                                      [303, 303, 404, 409]),
        post("/tasks/{task}/calendar", &[("op", "add"), ("source", "deadline"), ("account", "{account}")], [303, 303, 404, 403]),
        post("/start/{key}", &[("title", "t")],                               [303, 303, 303, 303]),
        // An upload is multipart: any other body is refused before anything is read.
        post("/models", &[],                                                  [303, 303, 400, 400]),
        post("/admin/providers", &[("name", "matrix2"), ("kind", "google"), ("client_id", "c"), ("client_secret", "s")], [303, 303, 403, 303]),
        post("/admin/providers/{name}/delete", &[],                           [303, 303, 403, 303]),
        post("/admin/caldav", &[("allowed_hosts", "")],                       [303, 303, 403, 303]),
        post("/admin/export", &[("allow", "everyone")],                       [303, 303, 403, 303]),
        post("/admin/users", &[("login", "newbie"), ("password", "password-123")], [303, 303, 403, 303]),
        post("/admin/users/{login}/password", &[("password", "password-456")], [303, 303, 403, 303]),
        post("/admin/users/{login}/role", &[("role", "x")],                   [303, 303, 403, 303]),
        post("/admin/users/{login}/roles/{role}/remove", &[],                 [303, 303, 403, 303]),
        post("/admin/users/{login}/admin", &[("admin", "false")],             [303, 303, 403, 303]),
        post("/admin/users/{login}/disable", &[],                             [303, 303, 403, 303]),
        post("/admin/users/{login}/enable", &[],                              [303, 303, 403, 303]),
        post("/admin/users/{login}/delete", &[],                              [303, 303, 403, 303]),
        post("/admin/exports/{id}/retry", &[],                                [303, 303, 403, 303]),
        post("/admin/users/{login}/verify", &[],                              [303, 303, 403, 200]),
        post("/admin/users/{login}/verify/repair", &[],                       [303, 303, 403, 200]),
        post("/admin/work-calendars", &[("create", "on"), ("name", "{name}"), ("time_zone", "UTC"), ("week", "mon")], [303, 303, 403, 303]),
        post("/admin/work-calendars/{name}/refresh", &[],                     [303, 303, 403, 303]),
        post("/admin/work-calendars/{name}/delete", &[],                      [303, 303, 403, 303]),
        post("/tasks/{task}/complete", &[],                                   [303, 303, 404, 409]),
    ];
    let csrf_of = [String::new(), String::new(), csrf(&t, &sessions[2]).await, csrf(&t, &sessions[3]).await];
    let fill_form = |p: &str| {
        o.path(p)
            .replace("{provider}", "nope")
            .replace("{key}", "due")
            .replace("{name}", "matrix2")
            .replace("{login}", "newbie")
            .replace("{role}", "x")
            .replace("{id}", &o.export.to_string())
    };
    for p in &posts {
        let mut statuses = [0u16; 4];
        for i in 0..4 {
            let mut form: Vec<(String, String)> =
                p.fields.iter().map(|(k, v)| ((*k).to_owned(), fill_form(v))).collect();
            form.push(("_csrf".into(), csrf_of[i].clone()));
            let mut req = t.client.post(format!("{}{}", t.base, fill_form(p.path))).form(&form);
            if !sessions[i].is_empty() {
                req = req.header("cookie", &sessions[i]);
            }
            let resp = req.send().await.unwrap();
            statuses[i] = resp.status().as_u16();
            if statuses[i] == 303 && i < 2 {
                // Nobody (and the disabled user, whose sessions ended) is sent to sign in.
                let to = resp.headers()["location"].to_str().unwrap().to_owned();
                assert!(to.starts_with("/login"), "{} as {}: sent to {to}", p.path, WHO[i]);
            }
        }
        writeln!(got, "POST {} {statuses:?}", p.path).unwrap();
        if statuses != p.expect {
            mismatches.push(format!("POST {}: expected {:?}, got {statuses:?}", p.path, p.expect));
        }
    }
    let named: BTreeSet<String> = posts
        .iter()
        .map(|p| p.path.replace("{task}", "{id}").replace("{account}", "{id}").replace("{token}", "{id}"))
        .collect();
    let missing: Vec<_> = form_routes()
        .into_iter()
        .filter(|r| {
            !named.contains(&r.replace("{task}", "{id}").replace("{account}", "{id}").replace("{token}", "{id}"))
        })
        .collect();
    assert!(missing.is_empty(), "form posts missing from the authorization matrix: {missing:?}");

    // Pages (GET): nobody and the disabled user are sent to sign in; the
    // team's week is for members of a role (the other user has none) and administrators.
    #[rustfmt::skip]
    let pages = [
        //                                                                     anonymous disabled other admin
        ("/calendar", [303, 303, 200, 200]),
        ("/calendar?view=agenda", [303, 303, 200, 200]),
        ("/team", [303, 303, 403, 200]),
        ("/team?role=hr", [303, 303, 403, 200]),
    ];
    for (path, expect) in pages {
        let mut statuses = [0u16; 4];
        for i in 0..4 {
            let mut req = t.client.get(format!("{}{path}", t.base));
            if !sessions[i].is_empty() {
                req = req.header("cookie", &sessions[i]);
            }
            statuses[i] = req.send().await.unwrap().status().as_u16();
        }
        writeln!(got, "GET {path} {statuses:?}").unwrap();
        if statuses != expect {
            mismatches.push(format!("GET {path}: expected {expect:?}, got {statuses:?}"));
        }
    }
    assert!(mismatches.is_empty(), "the authorization matrix differs:\n{}\nall answers:\n{got}", mismatches.join("\n"));

    // The other user changed nothing of the owner's: the account, the token and the export are there.
    assert_eq!(t.get(&o.path("/api/v1/calendar-accounts/{account}"), &owner).await.0, 200);
    assert_eq!(t.get(&o.path("/api/v1/exports/{export}"), &owner).await.0, 200);
    assert_eq!(t.get("/api/v1/me", &owner).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_authorization_matrix_sqlite() {
    the_matrix(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(all(flowcal_postgres, not(flowcal_peers)), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
#[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
async fn the_authorization_matrix_postgres() {
    the_matrix(TestDb::postgres().await).await;
}
