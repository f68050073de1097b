//! Test support: fresh databases on both backends, and the real application
//! served on a random port.

use flowcal_server::app::App;
use flowcal_server::clock::FixedClock;
use flowcal_server::config::Config;
use reqwest::{Client, Method, Response};
use serde_json::Value as Json;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

/// Runs an async test body against SQLite and PostgreSQL. The PostgreSQL
/// variant is ignored (reported as skipped, by name) when the tests were built
/// without `FLOWCAL_TEST_DATABASE_URL`; after `peers:`, both variants are
/// ignored when built without `FLOWCAL_REQUIRE_PEERS` (see build.rs).
#[macro_export]
macro_rules! on_both_backends {
    (peers: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
            async fn sqlite() {
                super::$name($crate::support::TestDb::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
            #[cfg_attr(
                all(flowcal_postgres, not(flowcal_peers)),
                ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS"
            )]
            async fn postgres() {
                super::$name($crate::support::TestDb::postgres().await).await
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::TestDb::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
            async fn postgres() {
                super::$name($crate::support::TestDb::postgres().await).await
            }
        }
    )*};
}

/// A fresh, empty database; a PostgreSQL one is dropped again with this value
/// (also when the test fails), so no run leaves databases on the server.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the URL to drop it through, and its name.
    dropped_through: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.dropped_through.take() else { return };
        // The sync client runs a runtime of its own: not on a tokio worker.
        // WITH (FORCE) ends the connections the application under test still holds.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let mut c = postgres::Client::connect(&admin_url, postgres::NoTls).map_err(|e| e.to_string())?;
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).map_err(|e| format!("{name}: {e}"))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop the test database {e}"),
            Err(_) => eprintln!("warning: dropping a test database panicked"),
        }
    }
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("flowcal.db").display());
        TestDb { url, _dir: Some(dir), dropped_through: None }
    }

    /// A new database on the server of `FLOWCAL_TEST_DATABASE_URL`, named after it.
    /// Only PostgreSQL variants call it, and they are ignored unless the tests
    /// were built with that variable: missing at run time, it is an error.
    pub async fn postgres() -> TestDb {
        let base = std::env::var("FLOWCAL_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()).expect(
            "the tests were built with FLOWCAL_TEST_DATABASE_URL but it is not set now: set it again or rebuild without it",
        );
        let (server, base_name) = base.rsplit_once('/').expect("FLOWCAL_TEST_DATABASE_URL needs a database name");
        let base_name = base_name.split('?').next().unwrap_or(base_name);
        let name = format!("{base_name}_t{:08x}", rand::random::<u32>());
        let create = format!("CREATE DATABASE {name}");
        let admin_url = base.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = postgres::Client::connect(&admin_url, postgres::NoTls)
                .expect("cannot connect to FLOWCAL_TEST_DATABASE_URL");
            c.batch_execute(&create).expect("CREATE DATABASE");
        })
        .await
        .unwrap();
        TestDb { url: format!("{server}/{name}"), _dir: None, dropped_through: Some((base, name)) }
    }
}

/// A process a test started (a peer server, a `flowcal` child). Dropping it,
/// also while a failing test unwinds, kills it and reaps it; one started with
/// `spawn_group` is killed with its whole process group (what it started too).
pub struct Peer {
    child: Option<Child>,
    group: bool,
}

impl Peer {
    /// Spawns `cmd` in the test's own process group, so that Ctrl-C on the
    /// run reaches it too.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Peer> {
        cmd.spawn().map(|c| Peer { child: Some(c), group: false })
    }

    /// Spawns `cmd` as the leader of a new process group: for a peer that
    /// starts processes of its own (chromedriver starts Chromium).
    pub fn spawn_group(cmd: &mut Command) -> std::io::Result<Peer> {
        cmd.process_group(0).spawn().map(|c| Peer { child: Some(c), group: true })
    }

    /// The process id (0 once stopped).
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("a Peer holds its child until it is stopped")
    }

    /// Waits for the process to end by itself and returns its output; what
    /// it started and left running is killed with its group.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        let child = self.child.take().expect("a Peer holds its child until it is stopped");
        let pgid = child.id();
        let out = child.wait_with_output();
        if self.group {
            kill_group(pgid);
        }
        out
    }

    /// Kills the process (its group) now, as in an outage or a killed run, and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.group {
                kill_group(child.id());
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to process group `pgid` (std signals only the child itself).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The application served on 127.0.0.1 with a random port.
pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub clock: Arc<FixedClock>,
    pub client: Client,
    _db: TestDb,
    _data: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> TestApp {
        Self::spawn_with(db, "").await
    }

    /// `extra`: more TOML configuration.
    pub async fn spawn_with(db: TestDb, extra: &str) -> TestApp {
        Self::spawn_on(db, extra, 0).await
    }

    /// On a port chosen beforehand (0: any), for peers that must know the
    /// application's address before it runs.
    pub async fn spawn_on(db: TestDb, extra: &str, port: u16) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let toml = format!(
            "listen = \"{addr}\"\ndata_dir = \"{}\"\ndatabase_url = \"{}\"\ntime_zone = \"Europe/Berlin\"\n{extra}\n{}",
            data.path().display(),
            db.url,
            // Tests deliver exports themselves (Exports::deliver_due), step by step.
            if extra.contains("[delivery]") { "" } else { "[delivery]\nworkers = 0\n" }
        );
        let config = Config::from_parts(&toml, "test", &[]).unwrap();
        let clock = Arc::new(FixedClock::new("2026-03-27T08:00:00Z".parse().unwrap()));
        let app = flowcal_server::build(config, clock.clone()).await.unwrap();
        let served = app.clone();
        tokio::spawn(async move { flowcal_server::serve(served, listener, std::future::pending()).await });
        TestApp {
            base: format!("http://{addr}"),
            app,
            clock,
            client: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            _db: db,
            _data: data,
        }
    }

    /// Runs SQL on the application's database, as an older version of
    /// flowcal (or an operator) would have left it.
    pub async fn sql(&self, statement: &str) {
        let (url, statement) = (self._db.url.clone(), statement.to_owned());
        tokio::task::spawn_blocking(move || match url.strip_prefix("sqlite://") {
            Some(path) => {
                rusqlite::Connection::open(path).unwrap().execute_batch(&statement).unwrap();
            }
            None => {
                postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(&statement).unwrap();
            }
        })
        .await
        .unwrap();
    }

    /// Creates a user and returns an API token for them.
    pub async fn user(&self, login: &str, admin: bool, roles: &[&str]) -> String {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        self.app.access.add_user(login, admin, &roles, Some("password-123")).await.unwrap();
        self.app.access.create_token(login, "test").await.unwrap()
    }

    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Json>) -> (u16, Json) {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Json) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Json) -> (u16, Json) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn upload(&self, token: &str, xml: &str) -> (u16, Json) {
        let resp = self
            .client
            .post(format!("{}/api/v1/models", self.base))
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .body(xml.to_owned())
            .send()
            .await
            .unwrap();
        read(resp).await
    }
}

pub async fn read(resp: Response) -> (u16, Json) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = if text.is_empty() { Json::Null } else { serde_json::from_str(&text).unwrap_or(Json::String(text)) };
    (status, json)
}

/// The repository's root (tests read fixtures from there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn fixture(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures").join(rel)).unwrap()
}

/// The demo leave model (its text is part of the binary too).
pub fn leave_model() -> &'static str {
    flowcal_server::demo::MODELS[0].1
}

/// A leave request of alice's with a CalDAV account at `url` (password
/// `password`): root and alice (role `managers`, calendar export on), the
/// account, and the instance's first open task.
pub struct LeaveCase {
    pub admin: String,
    pub alice: String,
    pub account: i64,
    pub task: i64,
}

impl TestApp {
    pub async fn leave_case_on_caldav(&self, url: &str, password: &str) -> LeaveCase {
        let admin = self.user("root", true, &[]).await;
        let alice = self.user("alice", false, &["managers"]).await;
        let on = Some(serde_json::json!({"calendar_export": true}));
        assert_eq!(self.call(Method::PATCH, "/api/v1/me/settings", &alice, on).await.0, 200);
        let connect = serde_json::json!({"url": url, "username": "alice", "password": password});
        let (s, acc) = self.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
        assert_eq!(s, 201, "{acc}");
        let account = acc["id"].as_i64().unwrap();
        assert_eq!(self.upload(&admin, leave_model()).await.0, 201);
        let data = serde_json::json!({"first_day": "2026-03-30", "days": 8, "handover": "2026-03-29T01:30:00+01:00"});
        let start = serde_json::json!({"model": "leave", "title": "Easter", "data": data});
        let (s, inst) = self.post("/api/v1/instances", &alice, start).await;
        assert_eq!(s, 201, "{inst}");
        let (_, tasks) = self.get("/api/v1/tasks?state=open", &alice).await;
        let task = tasks["tasks"][0]["id"].as_i64().unwrap();
        LeaveCase { admin, alice, account, task }
    }
}
