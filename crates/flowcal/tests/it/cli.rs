//! The `flowcal` command line, run as a real process.

use flowcal_server::config::Config;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn flowcal(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    flowcal_with(dir, args, stdin, &[])
}

/// `flowcal ARGS` in `dir` with its data there, none of this process's
/// `FLOWCAL_*` variables, and the variables `env`.
fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcal"));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWCAL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("FLOWCAL_DATA_DIR", dir.join("data")).env("FLOWCAL_LOG", "warn").envs(env.iter().copied());
    cmd
}

fn flowcal_with(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = command(dir, args, env);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn default_config_is_a_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = flowcal(dir.path(), &["default-config"], None);
    assert!(out.status.success());
    let printed = text(&out.stdout);
    assert!(printed.contains("database_url"));
    Config::from_parts(&printed, "printed", &[]).unwrap();
}

#[test]
fn model_import_names_line_and_column_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bpmn");
    std::fs::write(
        &bad,
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n<process id=\"p\">\n<startEvent id=\"s\"/>\n  <serviceTask id=\"t\"/>\n</process>\n</definitions>\n",
    )
    .unwrap();
    let out = flowcal(dir.path(), &["model", "import", "bad.bpmn"], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.bpmn: line 4, column 3: bpmn:serviceTask is not supported"), "{err}");
    let good = dir.path().join("leave.bpmn");
    std::fs::write(&good, flowcal_server::demo::MODELS[0].1).unwrap();
    let out = flowcal(dir.path(), &["model", "import", "leave.bpmn"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The rejected file stored nothing: the good one is version 1.
    assert_eq!(text(&out.stdout).trim(), "imported model leave version 1 (Leave request)");
}

#[test]
fn a_model_with_a_timer_start_is_imported_in_a_users_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("weekly.bpmn"),
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="weekly" isExecutable="true">
  <startEvent id="s"><timerEventDefinition><timeCycle>R/2026-01-05T09:00:00/P7D</timeCycle></timerEventDefinition></startEvent>
  <userTask id="t"/><endEvent id="e"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
</process></definitions>"#,
    )
    .unwrap();
    let out = flowcal(d, &["model", "import", "weekly.bpmn"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--as LOGIN"), "{}", text(&out.stderr));
    assert!(flowcal(d, &["user", "add", "zed"], None).status.success());
    assert!(flowcal(d, &["user", "add", "dora", "--role", "designers"], None).status.success());
    // The user must be allowed to upload models.
    let out = flowcal(d, &["model", "import", "weekly.bpmn", "--as", "zed"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("designers"), "{}", text(&out.stderr));
    let out = flowcal(d, &["model", "import", "weekly.bpmn", "--as", "nobody"], None);
    assert!(text(&out.stderr).contains("no user 'nobody'"), "{}", text(&out.stderr));
    let out = flowcal(d, &["model", "import", "weekly.bpmn", "--as", "dora"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "imported model weekly version 1 (weekly)");
}

#[test]
fn secrets_rotate_replaces_the_key() {
    let dir = tempfile::tempdir().unwrap();
    // The first start creates the key file.
    let out = flowcal(dir.path(), &["secrets", "retire"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key_file = dir.path().join("data/secret.key");
    let before = std::fs::read_to_string(&key_file).unwrap();
    let out = flowcal(dir.path(), &["secrets", "rotate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("new key") && said.contains("secrets re-encrypted"), "{said}");
    let out = flowcal(dir.path(), &["secrets", "retire"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("keys removed: "), "{}", text(&out.stdout));
    let after = std::fs::read_to_string(&key_file).unwrap();
    let keys = |s: &str| s.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
    assert_eq!((keys(&before), keys(&after)), (1, 1));
    assert_ne!(before, after);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn a_bad_configuration_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flowcal.toml"), "listen = \"127.0.0.1:0\"\ntime_zon = \"UTC\"\n").unwrap();
    let out = flowcal(dir.path(), &["migrate"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("flowcal.toml") && err.contains("time_zon"), "{err}");
}

#[tokio::test]
async fn users_tokens_demo_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = flowcal(d, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("0001_core"));
    assert_eq!(text(&flowcal(d, &["migrate"], None).stdout).trim(), "the database is up to date");

    let out = flowcal(
        d,
        &["user", "add", "zed", "--role", "managers", "--role", "hr", "--password-stdin"],
        Some("long-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "created user zed in roles managers, hr");
    let out = flowcal(d, &["user", "add", "zed"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));
    let out = flowcal(d, &["user", "add", "Not Valid"], None);
    assert!(text(&out.stderr).contains("not a valid login"));
    let out = flowcal(d, &["token", "create", "zed"], None);
    assert!(out.status.success());
    let token = text(&out.stdout).trim().to_owned();
    assert!(token.starts_with("fc_"));
    assert!(!flowcal(d, &["token", "create", "nobody"], None).status.success());

    let first = text(&flowcal(d, &["demo"], None).stdout);
    assert!(
        first.contains("created users: alice, bob, carol")
            && first.contains("imported models: leave, contract")
            && first.contains("started instances: Summer in Lisbon, Long weekend, Family visit, Supplier contract"),
        "{first}"
    );
    let second = text(&flowcal(d, &["demo"], None).stdout);
    assert!(
        !second.contains("created users") && !second.contains("imported models") && !second.contains("started"),
        "{second}"
    );

    // The secret key was created on first start, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("data/secret.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Stopped when dropped, also when an assertion below fails.
    let mut server = crate::support::Peer::spawn(
        Command::new(env!("CARGO_BIN_EXE_flowcal"))
            .arg("serve")
            .current_dir(d)
            .env("FLOWCAL_DATA_DIR", d.join("data"))
            .env("FLOWCAL_LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("FLOWCAL_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut healthy = false;
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            healthy = r.status() == 200;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let me = client.get(format!("{base}/api/v1/me")).bearer_auth(&token).send().await;
    // A browser keeps the session cookie: the redirects after sign-in end at My tasks.
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = browser
        .post(format!("{base}/login"))
        .form(&[("login", "bob"), ("password", flowcal_server::demo::DEMO_PASSWORD)])
        .send()
        .await;
    // Bob's first page: the demo's tasks with their deadlines.
    let first_page = match &login {
        Ok(_) => browser.get(format!("{base}/tasks")).send().await.unwrap().text().await.unwrap(),
        Err(_) => String::new(),
    };
    // A task page says why there is no *Add to calendar*, and where to change it.
    let task_page = match first_page.find("href=\"/tasks/") {
        Some(at) => {
            let id: String = first_page[at + 13..].chars().take_while(char::is_ascii_digit).collect();
            browser.get(format!("{base}/tasks/{id}")).send().await.unwrap().text().await.unwrap()
        }
        None => String::new(),
    };
    server.stop();
    for task in ["Prepare hand-over", "Review the contract", "Approve"] {
        assert!(first_page.contains(task), "{task} is on bob's first page: {first_page}");
    }
    assert!(
        task_page.contains("turn calendar export on in") && task_page.contains("href=\"/settings#profile\""),
        "{task_page}"
    );
    assert!(healthy, "flowcal serve did not answer /healthz");
    let me: serde_json::Value = me.unwrap().json().await.unwrap();
    assert_eq!(me["login"], "zed");
    assert_eq!(me["roles"], serde_json::json!(["hr", "managers"]));
    // The demo user signs in (the redirects after sign-in are followed to /tasks).
    let login = login.unwrap();
    assert_eq!((login.status().as_u16(), login.url().path()), (200, "/tasks"));
}

#[test]
fn tokens_are_listed_and_revoked_and_users_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = flowcal(d, args, None);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&["user", "add", "root", "--admin"]);
    ok(&["user", "add", "zed"]);
    let first = ok(&["token", "create", "zed", "--name", "backup job", "--expires-days", "30"]);
    assert!(first.trim().starts_with("fc_"), "{first}");
    ok(&["token", "create", "zed"]);
    let out = flowcal(d, &["token", "create", "zed", "--expires-days", "0"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("expires_days must be between 1 and 3650"), "{}", text(&out.stderr));

    // The list names each token with its times; the token itself is never shown.
    let list = ok(&["token", "list", "zed"]);
    let rows: Vec<Vec<&str>> = list.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!((rows[0][1], rows[0][3]), ("backup job", "never"), "{list}");
    assert!(rows[0][4].parse::<jiff::Timestamp>().is_ok(), "an expiry: {list}");
    assert_eq!((rows[1][1], rows[1][4]), ("cli", "never"));
    assert!(!list.contains(first.trim()));

    // Revoke one by id (another user's id is not found), then all.
    let id = rows[0][0];
    let out = flowcal(d, &["token", "revoke", "root", id], None);
    assert!(!out.status.success() && text(&out.stderr).contains("root has no API token"), "{}", text(&out.stderr));
    assert_eq!(ok(&["token", "revoke", "zed", id]).trim(), format!("revoked token {id} of zed"));
    assert_eq!(ok(&["token", "list", "zed"]).lines().count(), 2);
    assert_eq!(ok(&["token", "revoke", "zed", "--all"]).trim(), "revoked 1 tokens of zed");
    assert_eq!(ok(&["token", "list", "zed"]).lines().count(), 1);
    assert!(!flowcal(d, &["token", "revoke", "zed"], None).status.success(), "an id or --all");

    // Disable and enable; the last administrator cannot be disabled.
    assert!(ok(&["user", "disable", "zed"]).contains("disabled zed"));
    assert!(ok(&["user", "list"]).lines().any(|l| l.starts_with("zed\t") && l.ends_with("\tdisabled")));
    let out = flowcal(d, &["token", "create", "zed"], None);
    assert!(!out.status.success() && text(&out.stderr).contains("enable the user first"));
    ok(&["user", "enable", "zed"]);
    assert!(ok(&["user", "list"]).lines().any(|l| l.starts_with("zed\t") && l.ends_with("\tactive")));
    let out = flowcal(d, &["user", "disable", "root"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("last active administrator"), "{}", text(&out.stderr));

    // More users than a page holds: each is listed once, in order.
    let db = rusqlite::Connection::open(d.join("data/flowcal.db")).unwrap();
    for i in 0..450 {
        db.execute(
            "INSERT INTO users (login, display_name, time_zone, created_at) VALUES (?1, ?1, 'UTC', 0)",
            [format!("u{i:03}")],
        )
        .unwrap();
    }
    let listed: Vec<String> = ok(&["user", "list"]).lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect();
    let mut expected: Vec<String> = (0..450).map(|i| format!("u{i:03}")).chain(["root".into(), "zed".into()]).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn nested_keys_and_secret_files_from_the_environment_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The database named in a file, as Docker secrets are.
    let db = d.join("elsewhere.db");
    let url_file = d.join("database-url");
    std::fs::write(&url_file, format!("sqlite://{}\n", db.display())).unwrap();
    let url_file = url_file.display().to_string();
    let env = [
        ("FLOWCAL_DATABASE_URL_FILE", url_file.as_str()),
        ("FLOWCAL_PUBLIC_URL", "https://flowcal.example.com/"),
        ("FLOWCAL_METRICS__PUBLIC", "true"),
        ("FLOWCAL_SIGN_IN__PASSWORD", "false"),
        ("FLOWCAL_CALENDAR_EXPORT__ALLOW", "zed, amy"),
        ("FLOWCAL_CALDAV__ALLOWED_HOSTS", "caldav.example.com,dav.example.org:8443"),
        ("FLOWCAL_PROVIDERS__WORK__KIND", "google"),
        ("FLOWCAL_PROVIDERS__WORK__CLIENT_ID", "id-1.apps.googleusercontent.com"),
        ("FLOWCAL_PROVIDERS__WORK__CLIENT_SECRET", "cs-from-the-environment"),
        ("FLOWCAL_PROVIDERS__WORK__DISPLAY_NAME", "Work Google"),
        ("FLOWCAL_PROVIDERS__WORK__SIGN_IN", "true"),
        ("FLOWCAL_PROVIDERS__WORK__ALLOWED_DOMAINS", "example.com,example.org"),
        ("FLOWCAL_DELIVERY__WORKERS", "2"),
        // Variables of the tests and their peers are not configuration.
        ("FLOWCAL_PEER_PYTHON", "/nonexistent/python"),
        ("FLOWCAL_OIDC_PEER", "/nonexistent/oidc"),
        ("FLOWCAL_REQUIRE_PEERS", "1"),
        ("FLOWCAL_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere"),
        ("FLOWCAL_CHROMIUM", "/nonexistent/chromium"),
    ];
    let ok = |args: &[&str]| {
        let out = flowcal_with(d, args, None, &env);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&["user", "add", "root", "--admin"]);
    let token = ok(&["token", "create", "root"]).trim().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut serve_env = env.to_vec();
    serve_env.push(("FLOWCAL_LISTEN", &listen));
    let mut server = crate::support::Peer::spawn(
        command(d, &["serve"], &serve_env).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()),
    )
    .unwrap();
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    crate::access::wait_until(std::time::Duration::from_secs(30), "flowcal serve to answer /healthz", || {
        let (client, url) = (client.clone(), format!("{base}/healthz"));
        async move { client.get(url).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
    })
    .await;
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    let metrics = (metrics.status().as_u16(), metrics.text().await.unwrap());
    let login = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let view: serde_json::Value = client
        .get(format!("{base}/api/v1/admin/connectivity"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.stop();

    // [metrics] public = true: open (closed, 404, by default).
    assert!(metrics.0 == 200 && metrics.1.contains("flowcal_exports"), "{metrics:?}");
    // [sign_in] password = false, and the provider's sign-in button.
    assert!(!login.contains("name=\"password\"") && login.contains("Sign in with Work Google"), "{login}");
    let work = &view["providers"]["work"];
    assert_eq!(work["kind"], "google");
    assert_eq!(work["client_id"], "id-1.apps.googleusercontent.com");
    assert_eq!(work["allowed_domains"], serde_json::json!(["example.com", "example.org"]));
    assert_eq!((&work["sign_in"], &work["client_secret_set"]), (&serde_json::json!(true), &serde_json::json!(true)));
    assert_eq!(work["redirect_uri"], "https://flowcal.example.com/oauth/callback");
    assert_eq!(view["calendar_export"]["allow"], serde_json::json!(["zed", "amy"]));
    assert_eq!(view["caldav"]["allowed_hosts"], serde_json::json!(["caldav.example.com", "dav.example.org:8443"]));
    assert_eq!(view["sign_in"]["password"], false);
    // Every command used the database the file names, none the default one.
    assert!(db.exists() && !d.join("data/flowcal.db").exists());

    // A bad value, an unknown key, a key set twice: refused, naming the variable.
    for (extra, named, says) in [
        (("FLOWCAL_DELIVERY__WORKERS", "four"), "FLOWCAL_DELIVERY__WORKERS", "expected a whole number"),
        (("FLOWCAL_DELIVRY__WORKERS", "1"), "FLOWCAL_DELIVRY__WORKERS", "no configuration key delivry.workers"),
        (
            ("FLOWCAL_DATABASE_URL", "sqlite://other.db"),
            "FLOWCAL_DATABASE_URL_FILE",
            "FLOWCAL_DATABASE_URL sets database_url too",
        ),
    ] {
        let mut bad = env.to_vec();
        bad.retain(|(k, _)| *k != extra.0);
        bad.push(extra);
        let out = flowcal_with(d, &["migrate"], None, &bad);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("environment variable {named} ")) && err.contains(says), "{err}");
    }
}

/// `flowcal backup` copies the SQLite database while flowcal runs and writes;
/// the copy with the key file is a working flowcal: its people, its instances,
/// and the credentials sealed with the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_flowcal_writes_restores_whole() {
    use crate::support::{leave_model, TestApp, TestDb};
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("secret.key");
    let db = TestDb::sqlite();
    let url = db.url.clone();
    let t = TestApp::spawn_with(db, &format!("secret_key_file = \"{}\"", key_file.display())).await;
    let root = t.user("root", true, &[]).await;
    assert_eq!(t.upload(&root, leave_model()).await.0, 201);
    let provider = serde_json::json!({"kind": "google", "client_id": "c", "client_secret": "sealed-secret-1"});
    let (s, b) = t.call(reqwest::Method::PUT, "/api/v1/admin/providers/work", &root, Some(provider)).await;
    assert_eq!(s, 200, "{b}");
    let start =
        serde_json::json!({"model": "leave", "title": "Before", "data": {"first_day": "2026-05-04", "days": 2}});
    let (s, before) = t.post("/api/v1/instances", &root, start).await;
    assert_eq!(s, 201, "{before}");

    // Instances keep being started while the copy is taken.
    let writer = {
        let (client, base, token) = (t.client.clone(), t.base.clone(), root.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                let body = serde_json::json!({"model": "leave", "title": format!("During {i}"),
                                              "data": {"first_day": "2026-05-04", "days": 2}});
                let r = client.post(format!("{base}/api/v1/instances")).bearer_auth(&token).json(&body).send().await;
                assert_eq!(r.unwrap().status(), 201);
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("flowcal-backup.db");
    let env = [("FLOWCAL_DATABASE_URL", url.as_str()), ("FLOWCAL_SECRET_KEY_FILE", key_file.to_str().unwrap())];
    let args = ["backup", copy.to_str().unwrap()];
    let out = tokio::task::block_in_place(|| flowcal_with(dir.path(), &args, None, &env));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("keep the secret key file"), "{}", text(&out.stdout));
    writer.await.unwrap();
    // Never over an existing file.
    let out = tokio::task::block_in_place(|| flowcal_with(dir.path(), &args, None, &env));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exists already"), "{}", text(&out.stderr));

    // Restore: the copy and the key file in a new place, and start from there.
    let restored = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(restored.path().join("data")).unwrap();
    std::fs::copy(&copy, restored.path().join("data/flowcal.db")).unwrap();
    std::fs::copy(&key_file, restored.path().join("data/secret.key")).unwrap();
    let out = tokio::task::block_in_place(|| flowcal(restored.path(), &["user", "list"], None));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("root"), "{}", text(&out.stdout));
    let store =
        flowcal_store::Store::connect(&format!("sqlite://{}", restored.path().join("data/flowcal.db").display()))
            .await
            .unwrap();
    let id = flowcal_domain::InstanceId(before["id"].as_i64().unwrap());
    assert_eq!(store.instance(id).await.unwrap().map(|i| i.title), Some("Before".to_owned()));
    store.close();
    // The sealed client secret opens with the key that came along.
    let out = tokio::task::block_in_place(|| flowcal(restored.path(), &["secrets", "rotate"], None));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(": 1 stored secrets re-encrypted") && !said.contains("no key opens"), "{said}");
}

/// `flowcal --version` names the crate's version and the commit it was built
/// from: in a git checkout (as CI's fresh clone is), the checkout's HEAD.
#[test]
fn version_names_the_version_and_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = flowcal(dir.path(), &["--version"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let rest = line
        .trim()
        .strip_prefix(&format!("flowcal {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("no version in {line:?}"));
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_owned());
    let Some(head) = head else {
        // A source tree without git: the build could not know its commit.
        assert!(rest.starts_with("commit ") || rest == "unknown commit)", "{line:?}");
        return;
    };
    let commit = rest.strip_prefix("commit ").unwrap_or_else(|| panic!("no commit in {line:?}"));
    let commit = commit.split([',', ')']).next().unwrap();
    assert!(commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()), "{line:?}");
    assert!(head.starts_with(commit), "{line:?} does not name HEAD {head}");
}
