//! Work calendars end to end: the three published holiday files served by a
//! local HTTP server the test starts, subscribed by URL; a deadline counted
//! in working days that skips their holidays; a refresh answered 304; a
//! changed file whose added holiday moves the open deadline, its history and
//! its event in Radicale; a failed fetch that keeps the last good copy.

use crate::access::Radicale;
use crate::on_both_backends;
use crate::support::{fixture, TestApp, TestDb};
use jiff::Timestamp;
use reqwest::Method;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the holiday server serves at a path: status, entity tag, body.
#[derive(Clone)]
struct Served {
    status: u16,
    etag: String,
    body: String,
}

/// One request the holiday server answered: path, its If-None-Match, the status sent.
type Hit = (String, Option<String>, u16);

/// A small HTTP/1.1 server for iCalendar files that answers a matching
/// `If-None-Match` with 304, as a real web server would.
struct HolidayServer {
    port: u16,
    files: Arc<Mutex<HashMap<String, Served>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HolidayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HolidayServer {
    async fn start() -> HolidayServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Mutex<HashMap<String, Served>>> = Arc::default();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let (f, h) = (files.clone(), hits.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (files, hits) = (f.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let if_none_match = head
                        .lines()
                        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("if-none-match")))
                        .map(|(_, v)| v.trim().to_owned());
                    let file = files.lock().unwrap().get(&path).cloned();
                    let (status, etag, body) = match file {
                        None => (404, String::new(), String::new()),
                        Some(s) if s.status == 200 && if_none_match.as_deref() == Some(s.etag.as_str()) => {
                            (304, s.etag, String::new())
                        }
                        Some(s) => (s.status, s.etag, s.body),
                    };
                    hits.lock().unwrap().push((path, if_none_match, status));
                    let reason = match status {
                        200 => "OK",
                        304 => "Not Modified",
                        404 => "Not Found",
                        _ => "Error",
                    };
                    let etag_header = if etag.is_empty() { String::new() } else { format!("ETag: {etag}\r\n") };
                    let head = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/calendar; charset=utf-8\r\n{etag_header}\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        HolidayServer { port, files, hits, task }
    }

    fn serve(&self, path: &str, status: u16, etag: &str, body: &str) {
        let s = Served { status, etag: etag.to_owned(), body: body.to_owned() };
        self.files.lock().unwrap().insert(path.to_owned(), s);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn last_hit(&self, path: &str) -> Hit {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|h| h.0 == path)
            .cloned()
            .unwrap_or_else(|| panic!("no request for {path}"))
    }
}

/// The German file with one more all-day holiday (before its END:VCALENDAR).
fn with_extra_holiday(ics: &str, date: &str, name: &str) -> String {
    let event = format!(
        "BEGIN:VEVENT\r\nUID:extra-{date}@flowcal.test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{name}\r\n\
         DTSTART;VALUE=DATE:{date}\r\nDTEND;VALUE=DATE:{date}\r\nEND:VEVENT\r\n"
    );
    let end = ics.rfind("END:VCALENDAR").unwrap();
    format!("{}{event}{}", &ics[..end], &ics[end..])
}

/// `(date, working, name)` of the days from `from` to `to`.
async fn days(t: &TestApp, token: &str, cal: &str, from: &str, to: &str) -> Vec<(String, bool, String)> {
    let (s, b) = t.get(&format!("/api/v1/work-calendars/{cal}/days?from={from}&to={to}"), token).await;
    assert_eq!(s, 200, "{b}");
    b["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let name = d["name"].as_str().unwrap_or_default().trim().to_owned();
            (d["date"].as_str().unwrap().to_owned(), d["working"].as_bool().unwrap(), name)
        })
        .collect()
}

fn day(date: &str, working: bool, name: &str) -> (String, bool, String) {
    (date.to_owned(), working, name.to_owned())
}

const NS: &str =
    r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1""#;

/// Approve, bob's, due three working days after it starts in `calendar`.
pub(crate) fn approval(calendar: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="d" targetNamespace="https://example.com">
  <bpmn:process id="approval" name="Approval" isExecutable="true" flowcal:workCalendar="{calendar}">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" flowcal:assignee="user:bob" flowcal:deadline="P3D"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// The event in Radicale of bob's export of `source`, after delivering.
async fn radicale_event(t: &TestApp, bob: &str, radicale: &Radicale, source: &str) -> String {
    t.app.exports.deliver_due().await.unwrap();
    let (_, list) = t.get("/api/v1/exports", bob).await;
    let e = list["exports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == source)
        .unwrap_or_else(|| panic!("no export of {source}: {list}"))
        .clone();
    assert_eq!(e["state"], "synced", "{e}");
    let href = e["remote_id"].as_str().unwrap();
    let url =
        if href.starts_with("http") { href.to_owned() } else { format!("http://127.0.0.1:{}{href}", radicale.port) };
    let resp = reqwest::Client::new().get(url).basic_auth("bob", Some("app-password-2")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// The event's DTSTART line (not its time zone's).
fn dtstart(ics: &str) -> String {
    let event = &ics[ics.find("BEGIN:VEVENT").unwrap_or_else(|| panic!("no VEVENT: {ics}"))..];
    event.lines().find(|l| l.starts_with("DTSTART")).unwrap_or_else(|| panic!("no DTSTART: {ics}")).trim().to_owned()
}

on_both_backends!(peers: subscribed_holidays_move_deadlines_and_their_calendar_entries);

async fn subscribed_holidays_move_deadlines_and_their_calendar_entries(db: TestDb) {
    let Some(radicale) = Radicale::start().await else { return };
    let feeds = HolidayServer::start().await;
    let german = fixture("holiday-calendars/GermanHolidays.ics");
    feeds.serve("/de.ics", 200, "\"de-1\"", &german);
    feeds.serve("/us.ics", 200, "\"us-1\"", &fixture("holiday-calendars/USHolidays.ics"));
    feeds.serve("/jp.ics", 200, "\"jp-1\"", &fixture("holiday-calendars/JapanHolidays.ics"));
    let hosts = format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n", radicale.port, feeds.port);
    let t = TestApp::spawn_with(db, &hosts).await;
    let admin = t.user("root", true, &[]).await;
    let bob = t.user("bob", false, &[]).await;
    let put = |name: &str, body: Json| {
        let (t, admin, path) = (&t, admin.clone(), format!("/api/v1/admin/work-calendars/{name}"));
        async move { t.call(Method::PUT, &path, &admin, Some(body)).await }
    };
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);

    // Germany without the regional holidays (their SUMMARY names the states in brackets).
    let (s, de) = put(
        "de-berlin",
        json!({"time_zone": "Europe/Berlin", "week": weekdays,
               "sources": [{"url": feeds.url("/de.ics"), "exclude": ["summary:*(*"]}]}),
    )
    .await;
    assert_eq!(s, 201, "{de}");
    let source = &de["sources"][0];
    assert_eq!((source["status"].as_str(), source["uploaded"].as_bool()), (Some("ok"), Some(false)), "{de}");
    assert_eq!(feeds.last_hit("/de.ics"), ("/de.ics".into(), None, 200));
    // Easter 2026 is off; Corpus Christi (regional) is a working day.
    assert_eq!(
        days(&t, &bob, "de-berlin", "2026-04-02", "2026-04-07").await,
        [
            day("2026-04-02", true, ""),
            day("2026-04-03", false, "Karfreitag"),
            day("2026-04-04", false, ""),
            day("2026-04-05", false, ""),
            day("2026-04-06", false, "Ostermontag"),
            day("2026-04-07", true, ""),
        ]
    );
    assert_eq!(days(&t, &bob, "de-berlin", "2026-06-04", "2026-06-04").await, [day("2026-06-04", true, "")]);
    // Nine national holidays a year in the file's three years (Boxing Day is among them).
    assert_eq!(source["count"], 27, "{de}");

    // The US file: federal holidays only, picked by the start of DESCRIPTION.
    let (s, us) = put(
        "us-federal",
        json!({"time_zone": "America/New_York", "week": weekdays,
               "sources": [{"url": feeds.url("/us.ics"), "include": ["description:Federal Holiday*"]}]}),
    )
    .await;
    assert_eq!(s, 201, "{us}");
    assert_eq!(
        days(&t, &bob, "us-federal", "2026-07-03", "2026-07-06").await,
        [
            day("2026-07-03", false, "Independence Day (substitute)"),
            // A Saturday; the file's 4 July is California's state holiday, left out.
            day("2026-07-04", false, ""),
            day("2026-07-05", false, ""),
            day("2026-07-06", true, ""),
        ]
    );
    // A state holiday (Patriots' Day, Massachusetts and Maine) is a working day.
    assert_eq!(days(&t, &bob, "us-federal", "2026-04-20", "2026-04-20").await, [day("2026-04-20", true, "")]);
    // Japan with its bank holidays and the bridge holiday of 2026.
    let (s, jp) = put(
        "jp-tokyo",
        json!({"time_zone": "Asia/Tokyo", "week": weekdays, "sources": [{"url": feeds.url("/jp.ics")}]}),
    )
    .await;
    assert_eq!(s, 201, "{jp}");
    assert_eq!(
        days(&t, &bob, "jp-tokyo", "2026-09-21", "2026-09-24").await,
        [
            day("2026-09-21", false, "敬老の日"),
            day("2026-09-22", false, "ブリッジ祝日"),
            day("2026-09-23", false, "秋分"),
            day("2026-09-24", true, ""),
        ]
    );

    // A model naming a calendar that does not exist is refused where it names it.
    let (s, b) = t.upload(&admin, &approval("nowhere")).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!((b["error"]["line"].as_u64(), b["error"]["column"].as_u64()), (Some(3), Some(3)), "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("'nowhere'"), "{b}");
    let (s, b) = t.upload(&admin, &approval("de-berlin")).await;
    assert_eq!(s, 201, "{b}");

    // bob keeps his deadlines in his CalDAV calendar.
    let on = json!({"calendar_export": true});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(on)).await.0, 200);
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "bob",
                         "password": "app-password-2"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &bob, connect).await;
    assert_eq!(s, 201, "{acc}");
    let sync = json!({"auto_sync": {"account": acc["id"], "calendar": "own"}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &bob, Some(sync)).await.0, 200);

    // Started on Wednesday 1 April 2026 at 10:00 in Berlin: three working
    // days are Thursday 2, Tuesday 7 and Wednesday 8 April.
    t.clock.set("2026-04-01T08:00:00Z".parse::<Timestamp>().unwrap());
    let (s, inst) =
        t.post("/api/v1/instances", &admin, json!({"model": "approval", "title": "Budget", "data": {}})).await;
    assert_eq!(s, 201, "{inst}");
    let instance = inst["id"].as_i64().unwrap();
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let deadline = |v: &Json| v["deadline"].clone();
    let (_, first) = t.get(&format!("/api/v1/tasks/{task}"), &bob).await;
    assert_eq!(
        deadline(&first),
        json!({"at": "2026-04-08T10:00:00+02:00", "zone": "Europe/Berlin", "calendar": "de-berlin"})
    );
    let entry = format!("task:{task}:deadline");
    let ics = radicale_event(&t, &bob, &radicale, &entry).await;
    assert!(dtstart(&ics).contains("20260408T"), "{ics}");

    // A refresh of an unchanged file: 304, nothing recomputed.
    let refresh = "/api/v1/admin/work-calendars/de-berlin/refresh";
    let (s, r) = t.post(refresh, &admin, json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["fetched"].as_u64(), r["not_modified"].as_u64(), r["instances_recomputed"].as_u64()),
        (Some(0), Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(feeds.last_hit("/de.ics"), ("/de.ics".into(), Some("\"de-1\"".into()), 304));

    // The file gains a holiday on Tuesday 7 April: the deadline moves to Thursday 9.
    feeds.serve("/de.ics", 200, "\"de-2\"", &with_extra_holiday(&german, "20260407", "Brückentag"));
    let (s, r) = t.post(refresh, &admin, json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((r["fetched"].as_u64(), r["instances_recomputed"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(feeds.last_hit("/de.ics"), ("/de.ics".into(), Some("\"de-1\"".into()), 200));
    let (_, moved) = t.get(&format!("/api/v1/tasks/{task}"), &bob).await;
    assert_eq!(
        deadline(&moved),
        json!({"at": "2026-04-09T10:00:00+02:00", "zone": "Europe/Berlin", "calendar": "de-berlin"})
    );
    // The history says why.
    let (_, events) = t.get(&format!("/api/v1/instances/{instance}/events"), &admin).await;
    let changed: Vec<&Json> =
        events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "task_deadline_changed").collect();
    assert_eq!(changed.len(), 1, "{events}");
    let reason = changed[0]["payload"]["reason"].as_str().unwrap();
    assert!(reason.contains("de-berlin") && reason.contains("holiday 2026-04-07 Brückentag added"), "{reason}");
    assert_eq!(changed[0]["payload"]["calendar"], "de-berlin");
    // And the entry in bob's calendar moves with it.
    let ics = radicale_event(&t, &bob, &radicale, &entry).await;
    assert!(dtstart(&ics).contains("20260409T"), "{ics}");

    // The server fails: the last good copy stays in use, and the calendar says so.
    feeds.serve("/de.ics", 500, "", "");
    let (s, r) = t.post(refresh, &admin, json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((r["failed"].as_u64(), r["instances_recomputed"].as_u64()), (Some(1), Some(0)), "{r}");
    let (_, de) = t.get("/api/v1/work-calendars/de-berlin", &bob).await;
    let source = &de["sources"][0];
    assert_eq!(source["status"], "failed", "{de}");
    assert!(source["error"].as_str().unwrap().contains("500"), "{de}");
    assert!(source["last_fetch"].is_string(), "{de}");
    // A feed's address may hold a secret: people see its host, administrators all of it.
    assert_eq!(source["url"], "http://127.0.0.1/…", "{de}");
    let (_, de) = t.get("/api/v1/work-calendars/de-berlin", &admin).await;
    assert_eq!(de["sources"][0]["url"], feeds.url("/de.ics"), "{de}");
    assert_eq!(days(&t, &bob, "de-berlin", "2026-04-07", "2026-04-07").await, [day("2026-04-07", false, "Brückentag")]);

    // The daily refresh: the US and Japanese files were fetched when their
    // calendars were made, five days ago, so they are due; the German one was
    // tried just now, so it is not. A day later it is, and the file is back
    // as it was last fetched (304).
    feeds.serve("/de.ics", 200, "\"de-2\"", &with_extra_holiday(&german, "20260407", "Brückentag"));
    let de_hits = || feeds.hits.lock().unwrap().iter().filter(|h| h.0 == "/de.ics").count();
    let before = de_hits();
    assert_eq!(t.app.work_calendars.refresh_due().await.unwrap(), 2);
    assert_eq!(de_hits(), before, "the German file is not fetched before a day has passed");
    assert_eq!(feeds.last_hit("/us.ics"), ("/us.ics".into(), Some("\"us-1\"".into()), 304));
    t.clock.set("2026-04-02T08:30:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(t.app.work_calendars.refresh_due().await.unwrap(), 3);
    assert_eq!(feeds.last_hit("/de.ics"), ("/de.ics".into(), Some("\"de-2\"".into()), 304));
    let (_, de) = t.get("/api/v1/work-calendars/de-berlin", &bob).await;
    assert_eq!((de["sources"][0]["status"].as_str(), de["sources"][0]["error"].as_str()), (Some("ok"), None), "{de}");

    // A calendar a model names cannot be deleted; people may read calendars but not change them.
    let (s, b) = t.call(Method::DELETE, "/api/v1/admin/work-calendars/de-berlin", &admin, None).await;
    assert_eq!(s, 409, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("approval version 1"), "{b}");
    let (s, _) = t
        .call(Method::PUT, "/api/v1/admin/work-calendars/x", &bob, Some(json!({"time_zone": "UTC", "week": []})))
        .await;
    assert_eq!(s, 403);
    let (s, list) = t.get("/api/v1/work-calendars?limit=2", &bob).await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> =
        list["work_calendars"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!((names, list["next"].as_str()), (vec!["de-berlin", "jp-tokyo"], Some("jp-tokyo")));
    let (_, rest) = t.get("/api/v1/work-calendars?limit=2&after=jp-tokyo", &bob).await;
    assert_eq!(rest["work_calendars"][0]["name"], "us-federal");
    assert!(rest["next"].is_null(), "{rest}");
}

on_both_backends!(a_model_may_come_before_its_calendar_and_uploaded_sources_count);

/// An uploaded source: a yearly holiday on 2 April (not in 2027), and a
/// company outing that the include pattern leaves out.
const UPLOADED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//holidays//EN\r\n\
BEGIN:VEVENT\r\nUID:founding@example.com\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Gründungstag\r\n\
DTSTART;VALUE=DATE:20240402\r\nRRULE:FREQ=YEARLY\r\nEXDATE;VALUE=DATE:20270402\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:outing@example.com\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Betriebsausflug\r\n\
DTSTART;VALUE=DATE:20260408\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn a_model_may_come_before_its_calendar_and_uploaded_sources_count(db: TestDb) {
    let config =
        "[work_calendars]\nallow_unknown_in_models = true\n[[work_calendars.calendars]]\nname = \"from-file\"\n\
                  time_zone = \"UTC\"\nweek = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
                  holidays = [{ date = \"2026-12-24\", name = \"Heiligabend\", hours = [\"09:00-12:00\"] }]\n";
    let t = TestApp::spawn_with(db, config).await;
    let admin = t.user("root", true, &[]).await;
    t.user("bob", false, &[]).await;
    // The configuration file's calendars are there once flowcal starts.
    t.app.apply_configured_calendars().await.unwrap();
    let (s, c) = t.get("/api/v1/work-calendars/from-file", &admin).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        (c["updated_by"].as_str(), c["holidays"][0]["hours"].clone()),
        (Some("configuration"), json!(["09:00-12:00"]))
    );

    // Allowed by the configuration, a model names a calendar that does not exist yet:
    // its step counts calendar days meanwhile.
    let (s, b) = t.upload(&admin, &approval("later")).await;
    assert_eq!(s, 201, "{b}");
    t.clock.set("2026-04-01T08:00:00Z".parse::<Timestamp>().unwrap());
    let (s, inst) =
        t.post("/api/v1/instances", &admin, json!({"model": "approval", "title": "Early", "data": {}})).await;
    assert_eq!(s, 201, "{inst}");
    let (instance, task) = (inst["id"].as_i64().unwrap(), inst["tasks"][0]["id"].as_i64().unwrap());
    assert_eq!(inst["tasks"][0]["deadline"], json!({"at": "2026-04-04T10:00:00+02:00", "zone": "Europe/Berlin"}));

    // The calendar is created with an uploaded source: the open deadline is
    // recomputed in it. Thursday 2 April is the founding day: Friday 3,
    // Monday 6 and Tuesday 7 are the three working days.
    let put = json!({"time_zone": "Europe/Berlin", "week": ["mon", "tue", "wed", "thu", "fri"],
                     "sources": [{"ics": UPLOADED, "include": ["Gründ*"]}]});
    let (s, c) = t.call(Method::PUT, "/api/v1/admin/work-calendars/later", &admin, Some(put)).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!((c["sources"][0]["uploaded"].as_bool(), c["sources"][0]["status"].as_str()), (Some(true), Some("ok")));
    let (_, moved) = t.get(&format!("/api/v1/tasks/{task}"), &admin).await;
    assert_eq!(
        moved["deadline"],
        json!({"at": "2026-04-07T10:00:00+02:00", "zone": "Europe/Berlin", "calendar": "later"})
    );
    let (_, events) = t.get(&format!("/api/v1/instances/{instance}/events"), &admin).await;
    let reasons: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "task_deadline_changed")
        .filter_map(|e| e["payload"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["work calendar later was changed by root: the calendar was created"]);
    // A change stored whose recompute never ran (the process died right
    // after the change): the worker's next pass finishes it.
    let stored = t.app.store.work_calendar("later").await.unwrap().unwrap();
    assert!(stored.recomputed_version >= stored.version, "the change above was recomputed in full");
    let mut cal = stored.calendar.clone();
    cal.holidays
        .insert(jiff::civil::date(2026, 4, 3), flowcal_domain::Holiday { name: "Brückentag".into(), hours: None });
    let src = &stored.sources[0];
    let keep = flowcal_store::SourceSpec {
        url: None,
        body: src.body.clone(),
        include: src.include.clone(),
        exclude: src.exclude.clone(),
        holidays: src.holidays.clone(),
    };
    t.app.store.put_work_calendar(&cal, vec![keep], "root", t.app.now()).await.unwrap();
    let deadline = || async { t.get(&format!("/api/v1/tasks/{task}"), &admin).await.1["deadline"]["at"].clone() };
    assert_eq!(deadline().await, "2026-04-07T10:00:00+02:00", "not recomputed yet");
    t.app.work_calendars.refresh_due().await.unwrap();
    assert_eq!(deadline().await, "2026-04-08T10:00:00+02:00");
    let behind = t.app.store.work_calendar("later").await.unwrap().unwrap();
    assert_eq!(behind.recomputed_version, behind.version);
    let (_, events) = t.get(&format!("/api/v1/instances/{instance}/events"), &admin).await;
    let last =
        events["events"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "task_deadline_changed").unwrap();
    assert_eq!(last["payload"]["reason"], "work calendar later changed: deadlines brought up to date");

    // The yearly holiday is expanded without its EXDATE; the outing is left out.
    assert_eq!(days(&t, &admin, "later", "2026-04-08", "2026-04-08").await, [day("2026-04-08", true, "")],);
    assert_eq!(days(&t, &admin, "later", "2028-04-03", "2028-04-03").await, [day("2028-04-03", true, "")]);
    assert_eq!(days(&t, &admin, "later", "2027-04-02", "2027-04-02").await, [day("2027-04-02", true, "")]);
    assert_eq!(days(&t, &admin, "later", "2029-04-02", "2029-04-02").await, [day("2029-04-02", false, "Gründungstag")]);

    // Bad input is refused with what to do; a calendar no model names can go.
    let bad = json!({"time_zone": "Mars/Olympus", "week": ["mon"]});
    let (s, b) = t.call(Method::PUT, "/api/v1/admin/work-calendars/x", &admin, Some(bad)).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("not a known IANA time zone"), "{b}");
    let both =
        json!({"time_zone": "UTC", "week": ["mon"], "sources": [{"url": "http://127.0.0.1:9/x.ics", "ics": UPLOADED}]});
    let (s, b) = t.call(Method::PUT, "/api/v1/admin/work-calendars/x", &admin, Some(both)).await;
    assert_eq!((s, b["error"]["message"].as_str()), (422, Some("holiday source 1: give either url or ics")), "{b}");
    let many: Vec<Json> = (0..21).map(|_| json!({"ics": UPLOADED})).collect();
    let (s, b) = t
        .call(
            Method::PUT,
            "/api/v1/admin/work-calendars/x",
            &admin,
            Some(json!({"time_zone": "UTC", "week": ["mon"], "sources": many})),
        )
        .await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (422, Some("21 holiday sources; a calendar may have at most 20")),
        "{b}"
    );
    let (s, b) = t.get("/api/v1/work-calendars/later/days?from=2026-01-01&to=2030-01-01", &admin).await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(t.call(Method::DELETE, "/api/v1/admin/work-calendars/later", &admin, None).await.0, 409);
    assert_eq!(t.call(Method::DELETE, "/api/v1/admin/work-calendars/from-file", &admin, None).await.0, 204);
    assert_eq!(t.get("/api/v1/work-calendars/from-file", &admin).await.0, 404);
}
