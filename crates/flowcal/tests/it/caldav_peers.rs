//! The CalDAV connector against four real servers, started here on
//! 127.0.0.1 with their state in a temporary directory: Radicale and Xandikos
//! (from PyPI, in the venv `scripts/test` makes), Cyrus IMAP's CalDAV module
//! and SabreDAV 1.8 under PHP's built-in server, with Basic and with Digest
//! authentication (from Debian, installed by `scripts/lib/caldav-peers.sh`).
//! On each: the shared connector suite, then what only CalDAV shows (resource
//! names, UIDs, status codes, the outbound policy) and a wrong password, then
//! reminders, description, link and transparency as each server stores them
//! (read back with plain HTTP and two parsers), against the input: through
//! the connector, and through the application's export button.

use crate::access::{peer_env, Radicale};
use crate::connectors::{sample, suite};
use crate::ical_validity::{differences, expected_alarms, read_as, read_by_peers};
use crate::support::Peer;
use flowcal_calendar::caldav::{CaldavCalendar, CaldavHttp};
use flowcal_calendar::{CalendarChoice, Connector, ConnectorError, Credential, EventSpec, Remote, When};
use flowcal_connect::outbound::HostPolicy;
use reqwest::{Client, Method, StatusCode, Url};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const USER: &str = "alice";
const PASSWORD: &str = "app-password-1";

/// A running Xandikos, stopped when dropped.
pub(crate) struct Xandikos {
    _child: Peer,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Xandikos {
    /// `xandikos serve --defaults`: a principal at `/user/` with the calendar
    /// home `/user/calendars/` (holding a calendar named `calendar`).
    pub(crate) async fn start() -> Option<Xandikos> {
        let python = peer_env("FLOWCAL_PEER_PYTHON", "Xandikos")?;
        let program = Path::new(&python).with_file_name("xandikos");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Peer::spawn(
            Command::new(&program)
                .arg("serve")
                .arg("--defaults")
                .arg("-d")
                .arg(dir.path().join("data"))
                .arg("--state-dir")
                .arg(dir.path().join("state"))
                .args(["-l", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("{} must run: {e}", program.display()));
        // Stopped by Drop from here on, also when it never comes up.
        let xandikos = Xandikos { _child: child, port, _dir: dir };
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(xandikos);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("Xandikos did not start on port {port}");
    }
}

/// Waits until something listens on `port` of 127.0.0.1.
async fn answers(port: u16) -> bool {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

fn free_port() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

/// A running Cyrus IMAP with its CalDAV module (Debian's cyrus-caldav),
/// stopped with what it started when dropped.
pub(crate) struct Cyrus {
    _child: Peer,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Cyrus {
    /// Cyrus's `master` with its own imapd.conf and cyrus.conf: httpd (the
    /// CalDAV module) and imapd on free ports of 127.0.0.1, every database,
    /// socket, the spool and the pid file in a temporary directory (every
    /// service is given that imapd.conf with `-C`: they would read
    /// /etc/imapd.conf otherwise). Passwords are checked by SASL's auxprop
    /// against an sasldb made here with `saslpasswd2 -f`: alice, password
    /// `app-password-1`. Cyrus runs as the `cyrus` user (started as root,
    /// `master` becomes it), so the directory is given to that user. alice's
    /// INBOX is made by her first IMAP login (`autocreate_quota`), and her
    /// calendar home `/dav/calendars/user/alice/` (with a calendar `Default`)
    /// by Cyrus on her first CalDAV request.
    pub(crate) async fn start() -> Option<Cyrus> {
        let master = peer_env("FLOWCAL_CYRUS_MASTER", "Cyrus IMAP")?;
        let saslpasswd2 = peer_env("FLOWCAL_SASLPASSWD2", "Cyrus IMAP (saslpasswd2)")?;
        let bin = Path::new(&master).parent().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (http, imap) = (free_port(), free_port());
        let (port, imap_port) = (http.local_addr().unwrap().port(), imap.local_addr().unwrap().port());
        drop((http, imap));
        for sub in ["config/db", "config/socket", "config/proc", "config/log", "config/msg", "config/lock", "spool"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let conf = d.join("imapd.conf");
        let p = d.display();
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {p}/config\ndefaultpartition: default\npartition-default: {p}/spool\n\
                 servername: 127.0.0.1\nsasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\n\
                 sasl_sasldb_path: {p}/sasldb2\nsasl_mech_list: PLAIN\nallowplaintext: 1\n\
                 httpmodules: caldav\nautocreate_quota: 0\nlmtpsocket: {p}/config/socket/lmtp\n\
                 idlesocket: {p}/config/socket/idle\nnotifysocket: {p}/config/socket/notify\n"
            ),
        )
        .unwrap();
        let (c, b) = (conf.display(), bin.display());
        std::fs::write(
            d.join("cyrus.conf"),
            format!(
                "START {{\n  recover cmd=\"{b}/ctl_cyrusdb -C {c} -r\"\n}}\n\
                 SERVICES {{\n  http cmd=\"{b}/httpd -C {c}\" listen=\"127.0.0.1:{port}\" prefork=0\n  \
                 imap cmd=\"{b}/imapd -C {c}\" listen=\"127.0.0.1:{imap_port}\" prefork=0\n}}\n\
                 EVENTS {{\n}}\nDAEMON {{\n}}\n"
            ),
        )
        .unwrap();
        // SASL's realm is Cyrus's servername.
        let mut sasl = Command::new(&saslpasswd2)
            .args(["-p", "-c", "-f"])
            .arg(d.join("sasldb2"))
            .args(["-u", "127.0.0.1", USER])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{saslpasswd2} must run: {e}"));
        writeln!(sasl.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(sasl.wait().unwrap().success(), "saslpasswd2 failed");
        let owned = Command::new("chown").arg("-R").arg("cyrus:").arg(d).status().unwrap();
        assert!(owned.success(), "Cyrus runs as the cyrus user: its directory must be given to it (as root)");
        let child = Peer::spawn_group(
            Command::new(&master)
                .arg("-C")
                .arg(&conf)
                .arg("-M")
                .arg(d.join("cyrus.conf"))
                .arg("-p")
                .arg(d.join("master.pid"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("{master} must run: {e}"));
        // Stopped by Drop from here on, also when it never comes up.
        let cyrus = Cyrus { _child: child, port, _dir: dir };
        assert!(answers(port).await && answers(imap_port).await, "Cyrus did not start on ports {port} and {imap_port}");
        imap_login(imap_port).await;
        Some(cyrus)
    }
}

/// alice logs in over IMAP once, and out.
async fn imap_login(port: u16) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let greeting = lines.next_line().await.unwrap().unwrap_or_default();
    assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
    write.write_all(format!("a1 LOGIN {USER} {PASSWORD}\r\n").as_bytes()).await.unwrap();
    loop {
        let line = lines.next_line().await.unwrap().expect("IMAP: the server closed the connection");
        if let Some(status) = line.strip_prefix("a1 ") {
            assert!(status.starts_with("OK"), "IMAP LOGIN: {line}");
            break;
        }
    }
    write.write_all(b"a2 LOGOUT\r\n").await.unwrap();
}

/// How a SabreDAV server authenticates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SabreAuth {
    /// A Basic backend on the users table.
    Basic,
    /// SabreDAV's stock PDO backend: Digest only.
    Digest,
}

/// A running SabreDAV 1.8 (Debian's php-sabre-dav) under PHP's built-in
/// server, stopped when dropped.
pub(crate) struct Sabre {
    _child: Peer,
    pub(crate) port: u16,
    dir: Arc<tempfile::TempDir>,
}

impl Sabre {
    /// tests/fixtures/sabredav/server.php: SQLite in a temporary directory,
    /// the principal `/principals/alice/` with the calendar home
    /// `/calendars/alice/` (no calendar in it), alice's password
    /// `app-password-1`.
    pub(crate) async fn start(auth: SabreAuth) -> Option<Sabre> {
        Sabre::serve(Arc::new(tempfile::tempdir().unwrap()), auth).await
    }

    /// Another server on the same data, with Basic authentication: the way in
    /// of another client where this one asks for Digest.
    async fn basic_door(&self) -> Sabre {
        Sabre::serve(self.dir.clone(), SabreAuth::Basic).await.unwrap()
    }

    async fn serve(dir: Arc<tempfile::TempDir>, auth: SabreAuth) -> Option<Sabre> {
        let php = peer_env("FLOWCAL_PHP", "SabreDAV (PHP)")?;
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sabredav");
        let port = free_port().local_addr().unwrap().port();
        let mode = if auth == SabreAuth::Digest { "digest" } else { "basic" };
        let child = Peer::spawn(
            Command::new(&php)
                .arg("-S")
                .arg(format!("127.0.0.1:{port}"))
                .arg(fixture.join("server.php"))
                .current_dir(&fixture)
                .env("FLOWCAL_SABRE_DIR", dir.path())
                .env("FLOWCAL_SABRE_AUTH", mode)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("{php} must run: {e}"));
        // Stopped by Drop from here on, also when it never comes up.
        let sabre = Sabre { _child: child, port, dir };
        assert!(answers(port).await, "SabreDAV did not start on port {port}");
        // The first request makes the database: before anything else uses it.
        let r = Client::new().get(format!("http://127.0.0.1:{port}/")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "SabreDAV's first answer");
        Some(sabre)
    }
}

fn http(port: u16) -> CaldavHttp {
    CaldavHttp::new(HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap()).unwrap()
}

fn basic(password: &str) -> Credential {
    Credential::Basic { username: USER.into(), password: password.into() }
}

/// The connector for the server on `port`, starting from its root.
fn connector(port: u16, password: &str) -> CaldavCalendar {
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    CaldavCalendar::new(&http(port), base, basic(password)).unwrap()
}

/// Another client changing flowcal's entries behind its back, with the same
/// credentials and plain reqwest.
#[derive(Clone)]
struct Elsewhere {
    http: Client,
    /// Where the server asks for Digest: the port of another server on the
    /// same data that takes Basic, in place of `.0`.
    door: Option<(u16, u16)>,
}

impl Elsewhere {
    fn new() -> Elsewhere {
        Elsewhere { http: Client::new(), door: None }
    }

    /// Through `door` (on the same data) where flowcal talks to `port`.
    fn through(port: u16, door: u16) -> Elsewhere {
        Elsewhere { http: Client::new(), door: Some((port, door)) }
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let url = match self.door {
            Some((port, door)) => url.replacen(&format!("//127.0.0.1:{port}/"), &format!("//127.0.0.1:{door}/"), 1),
            None => url.to_owned(),
        };
        self.http.request(method, url).basic_auth(USER, Some(PASSWORD))
    }

    /// The resource's text and ETag.
    async fn get(&self, url: &str) -> (StatusCode, String, Option<String>) {
        let r = self.request(Method::GET, url).send().await.unwrap();
        let status = r.status();
        let etag = r.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
        (status, r.text().await.unwrap(), etag)
    }

    /// Changes the entry's title at the server; returns the new ETag.
    async fn change_title(&self, url: &str) -> Option<String> {
        let (status, text, _) = self.get(url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(text.contains("\r\nSUMMARY:"), "{text}");
        let changed = text.replacen("\r\nSUMMARY:", "\r\nSUMMARY:Changed elsewhere — ", 1);
        let r = self
            .request(Method::PUT, url)
            .header("content-type", "text/calendar; charset=utf-8")
            .body(changed)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT {url}: {}", r.status());
        let (_, now, etag) = self.get(url).await;
        assert!(now.contains("Changed elsewhere"), "{now}");
        etag
    }

    /// The `.ics` resources in a collection (PROPFIND Depth: 1).
    async fn resources(&self, collection: &str) -> Vec<String> {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#;
        let r = self
            .request(Method::from_bytes(b"PROPFIND").unwrap(), collection)
            .header("Depth", "1")
            .header("content-type", "application/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS, "PROPFIND {collection}");
        let text = r.text().await.unwrap();
        hrefs(&text).into_iter().filter(|href| href.ends_with(".ics")).collect()
    }
}

/// The `DAV:href`s of a multistatus (whatever the prefix).
fn hrefs(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("href>") {
        let after = &rest[start + 5..];
        let end = after.find('<').unwrap();
        let href = after[..end].trim();
        // Absolute or not, the path.
        let href = Url::parse(href).map(|u| u.path().to_owned()).unwrap_or_else(|_| href.to_owned());
        if !href.is_empty() {
            out.push(href);
        }
        rest = &after[end..];
    }
    out
}

/// What the suite's `stale` does: the entry is changed by another client, and
/// flowcal is left with the ETag it had before.
fn stale(elsewhere: &Elsewhere, known: &Remote) -> Remote {
    let elsewhere = elsewhere.clone();
    let url = known.id.clone();
    let new_etag = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async move { elsewhere.change_title(&url).await })
    });
    assert!(known.etag.is_some(), "the connector keeps an ETag: {known:?}");
    assert_ne!(new_etag, known.etag, "the change elsewhere made a new ETag");
    known.clone()
}

fn day_entry() -> EventSpec {
    sample("task:7:deadline", "Submit the report", When::Date("2026-05-04".parse().unwrap()))
}

/// What only a CalDAV server shows, on a server on `port` where the user's
/// calendar home is `home`; `elsewhere` is another client on its data.
async fn caldav_checks(c: &CaldavCalendar, port: u16, home: &str, elsewhere: &Elsewhere) {
    assert_eq!(c.calendar_home().await.unwrap().as_str(), format!("http://127.0.0.1:{port}{home}"));
    let cal = c.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    assert_eq!(cal.id, format!("http://127.0.0.1:{port}{home}flowcal/"));
    assert!(cal.own);
    let listed = c.list_calendars().await.unwrap();
    assert!(listed.iter().any(|k| k.id == cal.id && k.own && k.name == "flowcal"), "{listed:?}");

    // One resource per entry, named by its key, with flowcal's UID.
    let ev = day_entry();
    let r1 = c.upsert_event(&cal.id, &ev, None).await.unwrap();
    assert_eq!(r1.id, format!("{}{}.ics", cal.id, ev.key));
    assert!(r1.etag.as_deref().is_some_and(|e| e.starts_with('"')), "a strong ETag: {r1:?}");
    let (status, text, etag) = elsewhere.get(&r1.id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etag, r1.etag, "the ETag of the PUT is the stored one");
    assert!(text.contains(&format!("\r\nUID:{}@flowcal\r\n", ev.key)), "{text}");

    // A repeated create (its answer lost) does not make a second resource.
    let r2 = c.upsert_event(&cal.id, &ev, None).await.unwrap();
    assert_eq!(r2.id, r1.id);
    assert_eq!(elsewhere.resources(&cal.id).await, vec![format!("{home}flowcal/{}.ics", ev.key)]);

    // An update with an ETag that is out of date: re-read, written again.
    let old = stale(elsewhere, &r2);
    let mut moved = ev.clone();
    moved.title = "Submit the report (moved)".into();
    moved.sequence = 1;
    let r3 = c.upsert_event(&cal.id, &moved, Some(&old)).await.unwrap();
    let (_, text, etag) = elsewhere.get(&r3.id).await;
    assert_eq!(etag, r3.etag);
    assert!(text.contains("SUMMARY:Submit the report (moved)") && !text.contains("Changed elsewhere"), "{text}");

    // An update with the ETag of an entry deleted elsewhere: created again.
    let d = elsewhere.request(Method::DELETE, &r3.id).send().await.unwrap();
    assert!(d.status().is_success(), "{}", d.status());
    let r4 = c.upsert_event(&cal.id, &moved, Some(&r3)).await.unwrap();
    assert_eq!(elsewhere.get(&r4.id).await.0, StatusCode::OK);

    // Deleting twice is fine; then it is gone.
    c.delete_event(&cal.id, &ev.key, Some(&r4)).await.unwrap();
    c.delete_event(&cal.id, &ev.key, Some(&r4)).await.unwrap();
    assert_eq!(elsewhere.get(&r4.id).await.0, StatusCode::NOT_FOUND);
    assert!(elsewhere.resources(&cal.id).await.is_empty());

    // A calendar that does not exist.
    let missing = format!("http://127.0.0.1:{port}{home}no-such-calendar/");
    let e = c.upsert_event(&missing, &ev, None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Gone(_) | ConnectorError::Permanent(_)), "{e:?}");
    let e = c.ensure_calendar(&CalendarChoice::Existing { id: missing.clone() }).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Gone(_)), "{e:?}");
    assert!(c.get_event(&missing, &ev.key, None).await.unwrap().is_none());

    // The policy: a host not allowed is refused before anything is sent.
    let other = format!("http://localhost:{port}{home}flowcal/");
    let e = c.ensure_calendar(&CalendarChoice::Existing { id: other.clone() }).await.unwrap_err();
    match &e {
        ConnectorError::Permanent(m) => assert!(m.contains("has not allowed"), "{m}"),
        other => panic!("expected the policy's refusal, got {other:?}"),
    }
    let e = c.upsert_event(&other, &ev, None).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("has not allowed")), "{e:?}");
    let e = CaldavCalendar::new(&http(port), Url::parse(&other).unwrap(), basic(PASSWORD)).unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("has not allowed")), "{e:?}");
    // Allowed by name, but the name resolves to loopback: the resolver refuses it.
    let by_name_http = CaldavHttp::new(HostPolicy::new(&[format!("localhost:{port}")], &[]).unwrap()).unwrap();
    let by_name = CaldavCalendar::new(&by_name_http, Url::parse(&other).unwrap(), basic(PASSWORD)).unwrap();
    let e = by_name.list_calendars().await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("resolves to")), "{e:?}");
}

/// Entries as a user's settings and tasks make them: reminders of none, zero,
/// minutes and a week; shown as free and as busy; a description over several
/// lines with characters TEXT escapes; a link with a query, or none.
fn entries_with_every_field() -> Vec<EventSpec> {
    let description =
        "Process: Leave request; \"Q3\", final\nOpen in flowcal: https://flowcal.example/tasks/42\n\\ — ünïcödé";
    let link = "https://flowcal.example/tasks/42?from=calendar&a=1,2;b";
    let base = |source: &str, when: When| EventSpec {
        description: description.to_owned(),
        url: Some(link.to_owned()),
        ..sample(source, "Read back — every field", when)
    };
    let berlin = |at: &str| When::At { at: at.parse().unwrap(), zone: "Europe/Berlin".into() };
    vec![
        EventSpec {
            reminder_minutes: Some(15),
            transparent: true,
            ..base("task:101:deadline", berlin("2026-10-25T00:30:00Z"))
        },
        EventSpec {
            reminder_minutes: Some(0),
            transparent: false,
            ..base("task:102:deadline", When::Date("2026-03-29".parse().unwrap()))
        },
        EventSpec {
            reminder_minutes: None,
            transparent: true,
            url: None,
            description: String::new(),
            ..base(
                "task:103:deadline",
                When::At { at: "2026-03-08T07:30:00Z".parse().unwrap(), zone: "America/New_York".into() },
            )
        },
        EventSpec {
            reminder_minutes: Some(7 * 24 * 60),
            transparent: false,
            ..base("task:104:deadline", berlin("2026-03-29T01:00:00Z"))
        },
    ]
}

/// Reminders (VALARM), description, link (URL) and transparency (TRANSP) as
/// the server stores them, fetched with plain HTTP and read by two parsers,
/// against the input: after a create, and after an update that changes each.
async fn fields_read_back(c: &CaldavCalendar, python: &str, elsewhere: &Elsewhere) {
    let cal = c.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    let created = entries_with_every_field();
    let mut remotes = Vec::new();
    for ev in &created {
        remotes.push(c.upsert_event(&cal.id, ev, None).await.unwrap());
    }
    check_stored(elsewhere, python, &remotes, &created, "created").await;
    // Each field changed: the reminder set, moved or dropped, transparency flipped.
    let updated: Vec<EventSpec> = created
        .iter()
        .map(|ev| EventSpec {
            reminder_minutes: match ev.reminder_minutes {
                None => Some(45),
                Some(0) => None,
                Some(m) => Some(m * 2),
            },
            transparent: !ev.transparent,
            description: format!("{}\nmoved", ev.description),
            url: ev.url.as_ref().map(|u| format!("{u}&moved")).or(Some("https://flowcal.example/tasks/103".into())),
            sequence: 1,
            ..ev.clone()
        })
        .collect();
    let mut again = Vec::new();
    for (ev, known) in updated.iter().zip(&remotes) {
        again.push(c.upsert_event(&cal.id, ev, Some(known)).await.unwrap());
    }
    check_stored(elsewhere, python, &again, &updated, "updated").await;
    for (ev, r) in updated.iter().zip(&again) {
        c.delete_event(&cal.id, &ev.key, Some(r)).await.unwrap();
    }
}

/// The stored objects at `remotes`, read by ical_check.py, against `inputs`.
async fn check_stored(elsewhere: &Elsewhere, python: &str, remotes: &[Remote], inputs: &[EventSpec], what: &str) {
    let mut texts = Vec::new();
    for r in remotes {
        let (status, text, _) = elsewhere.get(&r.id).await;
        assert_eq!(status, StatusCode::OK, "{}", r.id);
        texts.push(text);
    }
    let (read, passed) = read_by_peers(python, &texts).await;
    let mut wrong = Vec::new();
    for ((ev, got), text) in inputs.iter().zip(&read).zip(&texts) {
        let want = read_as(ev);
        for parser in ["icalendar", "ical"] {
            if got[parser] != want {
                wrong.push(format!("{} ({parser}): {}\n{text}", ev.key, differences(&got[parser], &want).join("; ")));
            }
        }
    }
    assert!(wrong.is_empty(), "{what}, as stored:\n{}", wrong.join("\n"));
    assert!(passed, "{what}: ical_check.py failed");
}

/// A wrong password, on the server on `port`: refused, by the account check
/// when connecting and by the connector, whatever is asked.
async fn refuses_a_wrong_password(port: u16, home: &str) {
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let e = flowcal_calendar::caldav::probe(&http(port), &base, USER, "wrong-password").await.unwrap_err();
    assert!(matches!(e, flowcal_calendar::caldav::ProbeError::Unauthorized), "{e:?}");
    let wrong = connector(port, "wrong-password");
    let e = wrong.list_calendars().await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    let cal = format!("http://127.0.0.1:{port}{home}flowcal/");
    let e = wrong.upsert_event(&cal, &day_entry(), None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    let e = wrong.delete_event(&cal, &day_entry().key, None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn radicale() {
    let Some(server) = Radicale::start().await else { return };
    let port = server.port;
    let c = connector(port, PASSWORD);
    let elsewhere = Elsewhere::new();
    suite(&c, Some(&|r: &Remote| stale(&elsewhere, r))).await;
    caldav_checks(&c, port, "/alice/", &elsewhere).await;
    let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
    fields_read_back(&c, &python, &elsewhere).await;
    refuses_a_wrong_password(port, "/alice/").await;

    // Started from the home the account check found when connecting: the same calendars.
    let (http, base) = (http(port), Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap());
    let account = flowcal_calendar::caldav::probe(&http, &base, USER, PASSWORD).await.unwrap();
    let known =
        CaldavCalendar::new(&http, base, basic(PASSWORD)).unwrap().with_calendar_home(account.calendar_home).unwrap();
    assert_eq!(known.list_calendars().await.unwrap(), c.list_calendars().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn xandikos() {
    let Some(server) = Xandikos::start().await else { return };
    let port = server.port;
    // Xandikos has no authentication of its own (only behind --autocert, with
    // a self-signed certificate): the Basic credentials are sent and ignored.
    let c = connector(port, PASSWORD);
    let elsewhere = Elsewhere::new();
    suite(&c, Some(&|r: &Remote| stale(&elsewhere, r))).await;
    caldav_checks(&c, port, "/user/calendars/", &elsewhere).await;
    let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
    fields_read_back(&c, &python, &elsewhere).await;

    // The calendar --defaults made is listed, not as flowcal's.
    let listed = c.list_calendars().await.unwrap();
    let theirs = format!("http://127.0.0.1:{port}/user/calendars/calendar/");
    assert!(listed.iter().any(|k| k.id == theirs && !k.own), "{listed:?}");
    assert!(!listed.iter().any(|k| k.id.ends_with("/inbox/") || k.id.ends_with("/addressbook/")), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn cyrus() {
    let Some(server) = Cyrus::start().await else { return };
    let port = server.port;
    let home = "/dav/calendars/user/alice/";
    let c = connector(port, PASSWORD);
    let elsewhere = Elsewhere::new();
    suite(&c, Some(&|r: &Remote| stale(&elsewhere, r))).await;
    caldav_checks(&c, port, home, &elsewhere).await;
    let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
    fields_read_back(&c, &python, &elsewhere).await;
    refuses_a_wrong_password(port, home).await;

    // The calendar Cyrus made is listed, not as flowcal's; its scheduling
    // inbox and outbox are not calendars to write to.
    let listed = c.list_calendars().await.unwrap();
    let theirs = format!("http://127.0.0.1:{port}{home}Default/");
    assert!(listed.iter().any(|k| k.id == theirs && !k.own), "{listed:?}");
    assert!(!listed.iter().any(|k| k.id.ends_with("/Inbox/") || k.id.ends_with("/Outbox/")), "{listed:?}");
}

/// SabreDAV, its home `/calendars/alice/`: the suite, the checks, a wrong
/// password, from `c` (Basic or Digest) with `elsewhere` beside it.
async fn on_sabre(c: &CaldavCalendar, port: u16, elsewhere: &Elsewhere) {
    let home = "/calendars/alice/";
    suite(c, Some(&|r: &Remote| stale(elsewhere, r))).await;
    caldav_checks(c, port, home, elsewhere).await;
    let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
    fields_read_back(c, &python, elsewhere).await;
    refuses_a_wrong_password(port, home).await;
    // Its scheduling outbox is not a calendar to write to.
    let listed = c.list_calendars().await.unwrap();
    assert!(!listed.iter().any(|k| k.id.ends_with("/outbox/")), "{listed:?}");
}

/// The schemes a server's 401 offers for a request with alice's right
/// password sent as Basic (the status, and each WWW-Authenticate).
async fn offered_for_basic(port: u16) -> (StatusCode, Vec<String>) {
    let r = Client::new()
        .request(Method::from_bytes(b"PROPFIND").unwrap(), format!("http://127.0.0.1:{port}/"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Depth", "0")
        .send()
        .await
        .unwrap();
    let offered = r.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    (r.status(), offered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn sabredav_basic() {
    let Some(server) = Sabre::start(SabreAuth::Basic).await else { return };
    let (status, offered) = offered_for_basic(server.port).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{offered:?}");
    on_sabre(&connector(server.port, PASSWORD), server.port, &Elsewhere::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn sabredav_digest() {
    let Some(server) = Sabre::start(SabreAuth::Digest).await else { return };
    // Digest only: the right password sent as Basic is refused, and the
    // answer offers Digest alone.
    let (status, offered) = offered_for_basic(server.port).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{offered:?}");
    assert!(!offered.is_empty() && offered.iter().all(|v| v.starts_with("Digest ")), "{offered:?}");
    // Another client changes entries through a Basic server on the same data.
    let door = server.basic_door().await;
    let elsewhere = Elsewhere::through(server.port, door.port);
    on_sabre(&connector(server.port, PASSWORD), server.port, &elsewhere).await;
}

// ---- through the application ------------------------------------------------------------------

crate::on_both_backends!(peers: exports_read_back_as_the_settings_and_the_task_say);

/// The export button through the application, to Radicale, Xandikos, Cyrus
/// and SabreDAV (Basic): what each server stores, read back by two parsers,
/// says what the user's reminder setting, the task, its process and its link
/// say (not what flowcal rendered), and follows a changed reminder setting.
async fn exports_read_back_as_the_settings_and_the_task_say(db: crate::support::TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let Some(xandikos) = Xandikos::start().await else { return };
    let Some(cyrus) = Cyrus::start().await else { return };
    let Some(sabre) = Sabre::start(SabreAuth::Basic).await else { return };
    let ports = [radicale.port, xandikos.port, cyrus.port, sabre.port];
    let python = std::env::var("FLOWCAL_PEER_PYTHON").unwrap();
    let t = crate::support::TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let (s, model) = t.upload(&admin, &crate::feed::mix("review", "Europe/Berlin")).await;
    assert_eq!((s, model["name"].as_str()), (201, Some("Feed mix")), "{model}");
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let allow = json!({"caldav": {"allowed_hosts": hosts}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(allow)).await.0, 200);
    let settings = json!({"calendar_export": true, "reminder_minutes": 45});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(settings)).await.0, 200);
    let mut accounts = Vec::new();
    for port in ports {
        let connect = json!({"url": format!("http://127.0.0.1:{port}/"), "username": USER, "password": PASSWORD});
        let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
        assert_eq!(s, 201, "{acc}");
        accounts.push(acc["id"].as_i64().unwrap());
    }
    // A meeting in the hour Berlin repeats when clocks go back (its first occurrence).
    let title = "Q3 review; \"final\", with a comma";
    let (due, meeting) = ("2026-04-10", "2026-10-25T02:30:00+02:00");
    let data = json!({"due": due, "meeting": meeting});
    let (s, inst) = t.post("/api/v1/instances", &alice, json!({"model": "review", "title": title, "data": data})).await;
    assert_eq!(s, 201, "{inst}");
    let instance = inst["id"].as_i64().unwrap();
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = |step: &str| {
        tasks["tasks"].as_array().unwrap().iter().find(|x| x["step"] == step).unwrap()["id"].as_i64().unwrap()
    };
    let (report, prepare) = (task("report"), task("prepare"));

    // What each entry must say, from the inputs: (task, source, title, link, start, end).
    let meeting_at: jiff::Timestamp = meeting.parse().unwrap();
    let meeting_end = meeting_at.checked_add(jiff::SignedDuration::from_mins(30)).unwrap();
    let (at, end) =
        (meeting_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), meeting_end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let entries = [
        (
            report,
            "deadline",
            format!("Write the report — {title}"),
            format!("{}/tasks/{report}", t.base),
            due.to_owned(),
            "2026-04-11".to_owned(),
        ),
        (
            prepare,
            "deadline",
            format!("Prepare the meeting — {title}"),
            format!("{}/tasks/{prepare}", t.base),
            at.clone(),
            end.clone(),
        ),
        (report, "item:meeting", format!("Meeting — {title}"), format!("{}/instances/{instance}", t.base), at, end),
    ];
    let http = Client::new();
    for reminder in [Some(45), None, Some(24 * 60)] {
        let settings = json!({"reminder_minutes": reminder});
        assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(settings)).await.0, 200);
        // The button, pressed (again) for each entry on each calendar.
        let mut exports = Vec::new();
        for account in &accounts {
            for (task, source, ..) in &entries {
                let (s, e) = t
                    .post("/api/v1/exports", &alice, json!({"task": task, "source": source, "account": account}))
                    .await;
                assert_eq!(s, 202, "{e}");
                exports.push(e["id"].as_i64().unwrap());
            }
        }
        while t.app.exports.deliver_due().await.unwrap() > 0 {}
        let mut texts = Vec::new();
        for id in &exports {
            let (_, e) = t.get(&format!("/api/v1/exports/{id}"), &alice).await;
            assert_eq!(e["state"], "synced", "{e}");
            let resource = e["remote_id"].as_str().unwrap();
            let r = http.get(resource).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{resource}");
            texts.push(r.text().await.unwrap());
        }
        let (read, passed) = read_by_peers(&python, &texts).await;
        assert!(passed, "ical_check.py: {read:?}");
        let mut wrong = Vec::new();
        for (i, got) in read.iter().enumerate() {
            let (_, source, summary, link, start, end) = &entries[i % entries.len()];
            let want = json!({
                "summary": summary,
                "description": format!("Process: Feed mix\nOpen in flowcal: {link}"),
                "dtstart": start,
                "dtend": end,
                "url": link,
                // Shown as free, as flowcal documents its entries.
                "transp": "TRANSPARENT",
                "alarms": expected_alarms(reminder),
            });
            for parser in ["icalendar", "ical"] {
                if got[parser] != want {
                    wrong.push(format!(
                        "{source} ({parser}): {}\n{}",
                        differences(&got[parser], &want).join("; "),
                        texts[i]
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "reminder {reminder:?}, as stored:\n{}", wrong.join("\n"));
    }
}
