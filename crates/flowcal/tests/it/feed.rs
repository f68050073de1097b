//! The iCal subscription feed (`GET /feeds/{token}.ics`): what it shows and
//! how it follows the workflow, its validators (ETag, Last-Modified, 304),
//! gzip, and its tokens; then a feed of a few hundred entries through three
//! independent parsers (Python `icalendar`, the strict `ical`, libical) and
//! into two CalDAV servers (Radicale, Xandikos), read back event by event.

use crate::access::{peer_env, Radicale};
use crate::support::{TestApp, TestDb};
use flowcal_calendar::ical::{unescape_text, unfold};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::io::Read as _;

const MIX: &str = include_str!("../../../../tests/peers/feed-mix.bpmn");

/// The feed-mix model under `key`, in `zone`.
pub(crate) fn mix(key: &str, zone: &str) -> String {
    MIX.replace("\"KEY\"", &format!("\"{key}\"")).replace("\"ZONE\"", &format!("\"{zone}\""))
}

/// A served response: status, headers, body (gunzipped when it was gzipped).
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    raw: Vec<u8>,
    text: String,
}

async fn fetch(t: &TestApp, url: &str, headers: &[(&'static str, &str)]) -> Got {
    let mut req = t.client.get(url);
    for (k, v) in headers {
        req = req.header(*k, HeaderValue::from_str(v).unwrap());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.bytes().await.unwrap().to_vec();
    let text = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut s).unwrap();
        s
    } else {
        String::from_utf8(raw.clone()).unwrap()
    };
    Got { status, headers, raw, text }
}

fn header<'a>(g: &'a Got, name: &str) -> &'a str {
    g.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

/// The VEVENTs of a feed by UID: property name (with parameters) → value, unfolded.
fn events(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    let mut cur: Option<Vec<(String, String)>> = None;
    let mut depth = 0;
    for line in unfold(text).lines() {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match (name, value) {
            ("BEGIN", "VEVENT") => cur = Some(Vec::new()),
            ("BEGIN", _) if cur.is_some() => depth += 1,
            ("END", "VEVENT") => {
                let props = cur.take().unwrap();
                let uid = props.iter().find(|(n, _)| n == "UID").unwrap().1.clone();
                assert!(out.insert(uid, props).is_none(), "a UID twice in one feed");
            }
            ("END", _) if depth > 0 => depth -= 1,
            _ => {
                if let (Some(props), 0) = (cur.as_mut(), depth) {
                    props.push((name.to_owned(), value.to_owned()));
                }
            }
        }
    }
    out
}

fn prop<'a>(ev: &'a [(String, String)], name: &str) -> Option<&'a str> {
    ev.iter().find(|(n, _)| n == name || n.starts_with(&format!("{name};"))).map(|(_, v)| v.as_str())
}

fn prop_line(ev: &[(String, String)], name: &str) -> String {
    ev.iter()
        .find(|(n, _)| n == name || n.starts_with(&format!("{name};")))
        .map(|(n, v)| format!("{n}:{v}"))
        .unwrap_or_default()
}

fn uid_of(user: i64, source: &str) -> String {
    flowcal_calendar::ical::uid(&flowcal_calendar::event_key(user, source))
}

/// RFC 5545 §3.1: CRLF line ends, no line longer than 75 octets.
fn assert_lines(text: &str) {
    assert!(text.ends_with("\r\n"));
    for line in text.split("\r\n") {
        assert!(!line.contains('\n') && !line.contains('\r'), "a bare line break in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
}

crate::on_both_backends!(a_feed_follows_the_workflow);

async fn a_feed_follows_the_workflow(db: TestDb) {
    // Every log line of the binary is captured: the feed's token must be in none.
    let logs = crate::access::logs();
    let t = TestApp::spawn(db).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let _bob = t.user("bob", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    assert_eq!(t.upload(&admin, &mix("mix", "Europe/Berlin")).await.0, 201);

    // No feed yet; one needs the calendar export switch (the seed's per-user enablement).
    let (s, f) = t.get("/api/v1/me/feed", &alice).await;
    assert_eq!((s, &f["enabled"]), (200, &json!(false)));
    let (s, e) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 403, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("calendar export is off"), "{e}");
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let (s, f) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201, "{f}");
    let url = f["url"].as_str().unwrap().to_owned();
    let token = url.strip_prefix(&format!("{}/feeds/", t.base)).unwrap().strip_suffix(".ics").unwrap().to_owned();
    assert_eq!(token.len(), 43, "256 bits, URL-safe base64");
    assert_eq!(f["webcal_url"].as_str().unwrap(), url.replacen("http://", "webcal://", 1));
    let (s, shown) = t.get("/api/v1/me/feed", &alice).await;
    assert_eq!((s, &shown["enabled"], shown.get("url")), (200, &json!(true), None), "the URL is not kept");

    // An empty feed is a valid calendar.
    let g = fetch(&t, &url, &[]).await;
    assert_eq!(g.status, 200);
    assert_eq!(header(&g, "content-type"), "text/calendar; charset=utf-8");
    assert!(g.text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flowcal//flowcal "), "{}", g.text);
    for line in [
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:flowcal — alice",
        "REFRESH-INTERVAL;VALUE=DURATION:PT60M",
        "X-PUBLISHED-TTL:PT60M",
    ] {
        assert!(g.text.contains(&format!("\r\n{line}\r\n")), "{line} in {}", g.text);
    }
    assert!(events(&g.text).is_empty());
    let empty_etag = header(&g, "etag").to_owned();

    // Three open steps of one instance (the clock: 2026-03-27 08:00 UTC).
    let title = "Q1 review; \"final\", with a title long enough to be folded over more than one line of the feed";
    let (s, inst) = t
        .post(
            "/api/v1/instances",
            &alice,
            json!({"model": "mix", "title": title, "data": {"due": "2026-04-10", "meeting": "2026-03-29T01:30:00+01:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{inst}");
    let instance = inst["id"].as_i64().unwrap();
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task = |step: &str| {
        tasks["tasks"].as_array().unwrap().iter().find(|x| x["step"] == step).unwrap()["id"].as_i64().unwrap()
    };
    let (report, prepare, call) = (task("report"), task("prepare"), task("call"));
    let g = fetch(&t, &url, &[]).await;
    assert_lines(&g.text);
    let etag = header(&g, "etag").to_owned();
    assert_ne!(etag, empty_etag, "a new task changes the feed");
    let evs = events(&g.text);
    assert_eq!(evs.len(), 3, "{}", g.text);
    // UIDs are the ones the connectors use for the same user and source.
    let uid = |task: i64| uid_of(alice_id, &format!("task:{task}:deadline"));
    let r = &evs[&uid(report)];
    assert_eq!(prop_line(r, "DTSTART"), "DTSTART;VALUE=DATE:20260410");
    assert_eq!(prop_line(r, "DTEND"), "DTEND;VALUE=DATE:20260411", "all-day: the end is exclusive");
    assert_eq!(unescape_text(prop(r, "SUMMARY").unwrap()), format!("Write the report — {title}"));
    assert_eq!(prop(r, "URL"), Some(format!("{}/tasks/{report}", t.base).as_str()));
    assert_eq!(prop(r, "TRANSP"), Some("TRANSPARENT"));
    assert_eq!(prop(r, "SEQUENCE"), Some("0"));
    assert!(prop(r, "DTSTAMP").is_some() && prop(r, "LAST-MODIFIED").is_some());
    // Timed: local time with its zone, and that zone's VTIMEZONE once.
    let p = &evs[&uid(prepare)];
    assert_eq!(prop_line(p, "DTSTART"), "DTSTART;TZID=Europe/Berlin:20260329T013000");
    assert_eq!(prop_line(&evs[&uid(call)], "DTSTART"), "DTSTART;TZID=Europe/Berlin:20260327T140000");
    assert_eq!(g.text.matches("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n").count(), 1);

    // Validators: 304 without a body, for If-None-Match and for If-Modified-Since.
    let last_modified = header(&g, "last-modified").to_owned();
    let n = fetch(&t, &url, &[("if-none-match", &etag)]).await;
    assert_eq!((n.status, n.raw.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!(header(&n, "etag"), etag);
    let n = fetch(&t, &url, &[("if-none-match", &format!("\"other\", W/{etag}"))]).await;
    assert_eq!(n.status, StatusCode::NOT_MODIFIED, "a list, and a weak tag, match too");
    let n = fetch(&t, &url, &[("if-modified-since", &last_modified)]).await;
    assert_eq!(n.status, StatusCode::NOT_MODIFIED);
    let n = fetch(&t, &url, &[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")]).await;
    assert_eq!(n.status, 200);
    let n = fetch(&t, &url, &[("if-none-match", "\"other\""), ("if-modified-since", &last_modified)]).await;
    assert_eq!(n.status, 200, "If-None-Match wins over If-Modified-Since");

    // gzip when asked: the same feed, its own tag, which revalidates too.
    let z = fetch(&t, &url, &[("accept-encoding", "gzip, deflate")]).await;
    assert_eq!((z.status, header(&z, "content-encoding")), (StatusCode::OK, "gzip"));
    assert_eq!(z.text, g.text);
    assert!(z.raw.len() * 2 < g.raw.len(), "{} of {} bytes", z.raw.len(), g.raw.len());
    assert_eq!(header(&z, "vary"), "Accept-Encoding");
    assert_ne!(header(&z, "etag"), etag);
    let n = fetch(&t, &url, &[("accept-encoding", "gzip"), ("if-none-match", header(&z, "etag"))]).await;
    assert_eq!(n.status, StatusCode::NOT_MODIFIED);
    let z = fetch(&t, &url, &[("accept-encoding", "gzip;q=0, identity")]).await;
    assert!(z.headers.get("content-encoding").is_none());

    // A changed date item moves its deadline: that event's SEQUENCE grows, the others' do not.
    t.clock.set("2026-03-27T09:00:00Z".parse().unwrap());
    let (s, b) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/instances/{instance}/data"),
            &admin,
            Some(json!({"data": {"due": "2026-04-14"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let n = fetch(&t, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(n.status, 200, "the feed changed");
    let evs = events(&n.text);
    let r = &evs[&uid(report)];
    assert_eq!(prop_line(r, "DTSTART"), "DTSTART;VALUE=DATE:20260414");
    assert_eq!((prop(r, "SEQUENCE"), prop(r, "LAST-MODIFIED")), (Some("1"), Some("20260327T090000Z")));
    assert_eq!(prop(&evs[&uid(call)], "SEQUENCE"), Some("0"));
    assert_eq!(prop(&evs[&uid(call)], "LAST-MODIFIED"), Some("20260327T080000Z"));
    let etag = header(&n, "etag").to_owned();
    // Served again unchanged: the same SEQUENCE (nothing grows by being read).
    let again = fetch(&t, &url, &[]).await;
    assert_eq!(prop(&events(&again.text)[&uid(report)], "SEQUENCE"), Some("1"));

    // The reminder setting is part of every entry.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"reminder_minutes": 15}))).await;
    assert_eq!(s, 200);
    let n = fetch(&t, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(n.status, 200);
    assert_eq!(n.text.matches("TRIGGER:-PT15M").count(), 3);
    let etag = header(&n, "etag").to_owned();

    // A completed task leaves the feed; so does one given to someone else.
    let (s, _) = t.post(&format!("/api/v1/tasks/{report}/complete"), &alice, json!({"data": {}})).await;
    assert_eq!(s, 200);
    let n = fetch(&t, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(n.status, 200);
    assert!(!events(&n.text).contains_key(&uid(report)));
    let etag = header(&n, "etag").to_owned();
    t.app.store.assign_task(flowcal_domain::TaskId(prepare), "bob", "root", t.app.now(), |_| Ok(())).await.unwrap();
    let n = fetch(&t, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(n.status, 200, "the old assignee's feed changed");
    assert_eq!(events(&n.text).keys().collect::<Vec<_>>(), vec![&uid(call)]);

    // The window: 30 days back, 365 ahead. The remaining deadline is 40 days old.
    t.clock.set("2026-05-06T12:00:00Z".parse().unwrap());
    let n = fetch(&t, &url, &[]).await;
    assert!(events(&n.text).is_empty(), "{}", n.text);
    t.clock.set("2026-03-27T09:00:00Z".parse().unwrap());

    // Tokens: a wrong one, a replaced one and a turned-off one look alike.
    let not_found = |g: &Got| (g.status, header(g, "content-type").to_owned(), g.text.clone());
    let wrong = fetch(&t, &format!("{}/feeds/{}.ics", t.base, "A".repeat(43)), &[]).await;
    assert_eq!(wrong.status, 404);
    let short = fetch(&t, &format!("{}/feeds/abc.ics", t.base), &[]).await;
    assert_eq!(not_found(&short), not_found(&wrong));
    let no_suffix = fetch(&t, &format!("{}/feeds/{token}", t.base), &[]).await;
    assert_eq!(not_found(&no_suffix), not_found(&wrong));
    let (s, f2) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201);
    let url2 = f2["url"].as_str().unwrap().to_owned();
    assert_ne!(url2, url);
    let old = fetch(&t, &url, &[]).await;
    assert_eq!(not_found(&old), not_found(&wrong), "the replaced URL stops at once");
    assert_eq!(fetch(&t, &url2, &[]).await.status, 200);
    // Calendar export turned off (by the user, or for them by the administrator): no feed.
    let (s, _) = t
        .call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(json!({"calendar_export": {"allow": "no one"}})))
        .await;
    assert_eq!(s, 200);
    assert_eq!(not_found(&fetch(&t, &url2, &[]).await), not_found(&wrong));
    let (s, _) = t
        .call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(json!({"calendar_export": {"allow": "everyone"}})))
        .await;
    assert_eq!(s, 200);
    assert_eq!(fetch(&t, &url2, &[]).await.status, 200);
    let (s, off) = t.call(Method::DELETE, "/api/v1/me/feed", &alice, None).await;
    assert_eq!((s, &off["enabled"]), (200, &json!(false)));
    assert_eq!(not_found(&fetch(&t, &url2, &[]).await), not_found(&wrong));

    // The request log names feeds without their tokens.
    let log = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(log.contains("/feeds/…"), "feed requests are logged");
    let token2 = url2.rsplit('/').next().unwrap().trim_end_matches(".ics");
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains(&token) || l.contains(token2)).collect();
    assert!(leaks.is_empty(), "a log line shows a feed token: {leaks:?}");
    // What is stored is the token's SHA-256, not the token (this lookup, made
    // after the log check, sends the token itself to the database).
    let (s, f3) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    assert_eq!(s, 201);
    let token3 = f3["url"].as_str().unwrap().rsplit('/').next().unwrap().trim_end_matches(".ics").to_owned();
    assert!(t.app.store.feed_owner(&token3).await.unwrap().is_none());
    let hash = flowcal_server::secrets::token_hash(&token3);
    assert_eq!(t.app.store.feed_owner(&hash).await.unwrap().unwrap().user.login, "alice");
}

// ---- the window ----------------------------------------------------------------------------

crate::on_both_backends!(peers: the_feed_window_has_its_defaults, the_feed_window_follows_its_settings);

async fn the_feed_window_has_its_defaults(db: TestDb) {
    window_ends(db, "", 30, 365).await;
}

async fn the_feed_window_follows_its_settings(db: TestDb) {
    window_ends(db, "[feed]\ndays_back = 3\ndays_ahead = 12\n", 3, 12).await;
}

/// A feed under `extra` shows what falls from `back` days before its owner's
/// today to `ahead` days after it: at each end, a date and an instant just
/// inside are in it, a date a day and an instant a minute outside are not,
/// for steps' deadlines and for exported dates alike.
async fn window_ends(db: TestDb, extra: &str, back: i64, ahead: i64) {
    let t = TestApp::spawn_with(db, extra).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    assert_eq!(t.upload(&admin, &mix("mix", "America/New_York")).await.0, 201);
    // 23:30 UTC is 08:30 the next day in Tokyo (+09:00 all year): alice's today is 28 March.
    t.clock.set("2026-03-27T23:30:00Z".parse().unwrap());
    let settings = json!({"calendar_export": true, "time_zone": "Asia/Tokyo"});
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(settings)).await.0, 200);
    let today = jiff::civil::date(2026, 3, 28);
    let (first, last) = (today - jiff::Span::new().days(back), today + jiff::Span::new().days(ahead));
    // The window's instants: from the start of its first day in Tokyo to the end of its last.
    let tokyo_midnight =
        |d: jiff::civil::Date| d.at(0, 0, 0, 0).to_zoned(TimeZone::fixed(jiff::tz::offset(9))).unwrap().timestamp();
    let (from, until) = (tokyo_midnight(first), tokyo_midnight(last.tomorrow().unwrap()));
    let minute = SignedDuration::from_mins(1);
    let cases = [
        ("before the first day", first.yesterday().unwrap(), from.checked_sub(minute).unwrap(), false),
        ("on the first day", first, from, true),
        ("on the last day", last, until.checked_sub(minute).unwrap(), true),
        ("after the last day", last.tomorrow().unwrap(), until, false),
    ];
    let mut instances = Vec::new();
    for (what, due, meeting, _) in &cases {
        let data = json!({"due": due.to_string(), "meeting": utc(*meeting)});
        let (s, b) = t.post("/api/v1/instances", &alice, json!({"model": "mix", "title": what, "data": data})).await;
        assert_eq!(s, 201, "{b}");
        instances.push(b["id"].as_i64().unwrap());
    }
    let (_, tasks) = t.get("/api/v1/tasks?state=open", &alice).await;
    let task_of = |instance: i64, step: &str| {
        tasks["tasks"].as_array().unwrap().iter().find(|x| x["instance"] == instance && x["step"] == step).unwrap()
            ["id"]
            .as_i64()
            .unwrap()
    };
    let (_, f) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    let url = f["url"].as_str().unwrap().to_owned();
    let shown = |text: &str, sources: &[String]| -> Vec<bool> {
        let evs = events(text);
        sources.iter().map(|s| evs.contains_key(&uid_of(alice_id, s))).collect()
    };
    let g = fetch(&t, &url, &[]).await;
    assert_eq!(g.status, 200);
    for ((what, due, meeting, inside), instance) in cases.iter().zip(&instances) {
        let steps = [
            format!("task:{}:deadline", task_of(*instance, "report")),
            format!("task:{}:deadline", task_of(*instance, "prepare")),
        ];
        assert_eq!(shown(&g.text, &steps), vec![*inside; 2], "{what}: the step due {due} and the one at {meeting}");
    }

    // Exported dates (here to Radicale) keep to the same window.
    let Some(radicale) = Radicale::start().await else { return };
    let caldav = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{}", radicale.port)]}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(caldav)).await.0, 200);
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "alice", "password": "app-password-1"});
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    for instance in &instances {
        for item in ["due", "meeting"] {
            let export =
                json!({"task": task_of(*instance, "call"), "source": format!("item:{item}"), "account": acc["id"]});
            let (s, e) = t.post("/api/v1/exports", &alice, export).await;
            assert_eq!(s, 202, "{e}");
        }
    }
    let g = fetch(&t, &url, &[]).await;
    assert_eq!(g.status, 200);
    for ((what, due, meeting, inside), instance) in cases.iter().zip(&instances) {
        let items = [format!("instance:{instance}:item:due"), format!("instance:{instance}:item:meeting")];
        assert_eq!(shown(&g.text, &items), vec![*inside; 2], "{what}: the exported {due} and {meeting}");
    }
}

// ---- three parsers and two CalDAV servers ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_feed_passes_three_parsers_and_two_caldav_servers() {
    let Some(python) = peer_env("FLOWCAL_PEER_PYTHON", "icalendar, ical, Radicale, Xandikos") else { return };
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let Some(radicale) = Radicale::start().await else { return };
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"calendar_export": true}))).await;
    assert_eq!(s, 200);
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;

    // Zones east and west of UTC, one with a half-hour DST shift, and UTC;
    // titles that need escaping and folding.
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"];
    for (i, zone) in zones.iter().enumerate() {
        assert_eq!(t.upload(&admin, &mix(&format!("mix{i}"), zone)).await.0, 201);
    }
    let pieces = [
        "Bericht",
        "a,b;c\\d",
        "日本語の締め切り",
        "👩‍👩‍👧‍👦 family",
        "Ünïcödé",
        "colon: and back\\slash",
        "x".repeat(90).leak(),
    ];
    // The instances start seven hours apart (so the steps due five hours
    // after the start fall on both sides of the March clock changes too), with
    // due dates three days apart and meetings around their zone's clock changes.
    let mut instances = Vec::new();
    for n in 0..100 {
        let title = format!("{} #{n}", pieces[n % pieces.len()]);
        let zone = zones[n % zones.len()];
        let due = jiff::civil::date(2026, 3, 8).checked_add(jiff::Span::new().days(3 * n as i64)).unwrap();
        let meeting = meeting_at(zone, n / zones.len());
        let started = FIRST_START.checked_add(SignedDuration::from_hours(7 * n as i64)).unwrap();
        t.clock.set(started);
        let data = json!({"due": due.to_string(), "meeting": with_offset(meeting, n)});
        let (s, b) = t
            .post(
                "/api/v1/instances",
                &alice,
                json!({"model": format!("mix{}", n % zones.len()), "title": title, "data": data}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        instances.push(Instance { id: b["id"].as_i64().unwrap(), title, due, meeting, started });
    }
    // Some meetings fall on both sides of each clock change (the inputs' own check).
    for (zone, changes) in DST_CHANGES {
        let tz = TimeZone::get(zone).unwrap();
        for change in changes {
            let change: Timestamp = change.parse().unwrap();
            let next = tz.following(change.checked_sub(SignedDuration::from_secs(1)).unwrap()).next().unwrap();
            assert_eq!(next.timestamp(), change, "{zone} changes its clocks then");
            let near = |m: &Timestamp| m.duration_since(change).as_hours().abs() < 3;
            let sides: Vec<bool> = instances.iter().filter(|i| near(&i.meeting)).map(|i| i.meeting >= change).collect();
            assert!(sides.contains(&true) && sides.contains(&false), "{zone} {change}: {sides:?}");
        }
    }
    let first = instances[0].id;
    t.clock.set("2026-04-05T06:00:00Z".parse().unwrap());
    // A date exported with the button (to a CalDAV account) is in the feed too.
    let connect = json!({"url": format!("http://127.0.0.1:{}/", radicale.port), "username": "alice", "password": "app-password-1"});
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/admin/settings",
            &admin,
            Some(json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{}", radicale.port)]}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, acc) = t.post("/api/v1/calendar-accounts/caldav", &alice, connect).await;
    assert_eq!(s, 201, "{acc}");
    // Every open task, a page at a time.
    let mut all = Vec::new();
    let mut next = Some("/api/v1/tasks?state=open&limit=200".to_owned());
    while let Some(url) = next.take() {
        let (_, page) = t.get(&url, &alice).await;
        all.extend(page["tasks"].as_array().unwrap().iter().cloned());
        next = page["next_cursor"].as_str().map(|c| format!("/api/v1/tasks?state=open&limit=200&cursor={c}"));
    }
    let tasks = json!({ "tasks": all });
    let task_of_first =
        tasks["tasks"].as_array().unwrap().iter().find(|x| x["instance"] == first).unwrap()["id"].clone();
    let (s, b) = t
        .post("/api/v1/exports", &alice, json!({"task": task_of_first, "source": "item:meeting", "account": acc["id"]}))
        .await;
    assert_eq!(s, 202, "{b}");

    let (_, f) = t.post("/api/v1/me/feed", &alice, json!({})).await;
    let feed = fetch(&t, f["url"].as_str().unwrap(), &[]).await;
    assert_eq!(feed.status, 200);
    assert_lines(&feed.text);
    let mine = events(&feed.text);
    assert_eq!(mine.len(), 301, "three steps per instance and the exported date");
    assert!(mine.contains_key(&uid_of(alice_id, &format!("instance:{first}:item:meeting"))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, &feed.text).unwrap();

    // What each entry must say, from the instances' data alone: its title,
    // its link, and its start and end (dates `YYYY-MM-DD`, instants in UTC).
    let mut want: BTreeMap<String, Want> = BTreeMap::new();
    let task_of = |instance: i64, step: &str| {
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["instance"] == instance && x["step"] == step)
            .unwrap_or_else(|| panic!("instance {instance} has no open {step}"))["id"]
            .as_i64()
            .unwrap()
    };
    let half_hour = SignedDuration::from_mins(30);
    let timed = |at: Timestamp| (utc(at), utc(at.checked_add(half_hour).unwrap()));
    for i in &instances {
        for (step, name, span) in [
            ("report", "Write the report", (i.due.to_string(), i.due.tomorrow().unwrap().to_string())),
            ("prepare", "Prepare the meeting", timed(i.meeting)),
            ("call", "Call back", timed(i.started.checked_add(SignedDuration::from_hours(5)).unwrap())),
        ] {
            let task = task_of(i.id, step);
            want.insert(
                uid_of(alice_id, &format!("task:{task}:deadline")),
                Want { summary: format!("{name} — {}", i.title), url: format!("{}/tasks/{task}", t.base), span },
            );
        }
    }
    want.insert(
        uid_of(alice_id, &format!("instance:{first}:item:meeting")),
        Want {
            summary: format!("Meeting — {}", instances[0].title),
            url: format!("{}/instances/{first}", t.base),
            span: timed(instances[0].meeting),
        },
    );
    assert_eq!(mine.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());

    // Python icalendar (which resolves TZIDs through the feed's own
    // VTIMEZONEs) and the strict ical (through its zone database).
    let out = std::process::Command::new(&python)
        .arg(crate::support::repo_root().join("tests/peers/feed_check.py"))
        .arg(&path)
        .output()
        .unwrap();
    let report: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success(), "{report}");
    for parser in ["icalendar", "ical"] {
        let r = &report[parser];
        assert_eq!(r["calendar"]["method"], "PUBLISH", "{parser}");
        assert_eq!(r["calendar"]["name"], "flowcal — alice", "{parser}");
        let read: BTreeMap<String, Json> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let fields = ["summary", "url", "transp", "dtstart", "dtend"].map(|k| (k, e[k].clone()));
                (
                    e["uid"].as_str().unwrap().to_owned(),
                    Json::Object(fields.map(|(k, v)| (k.to_owned(), v)).into_iter().collect()),
                )
            })
            .collect();
        let expected: BTreeMap<String, Json> = want
            .iter()
            .map(|(uid, w)| {
                let v = json!({"summary": w.summary, "url": w.url, "transp": "TRANSPARENT",
                               "dtstart": w.span.0, "dtend": w.span.1});
                (uid.clone(), v)
            })
            .collect();
        assert_eq!(read.len(), r["events"].as_array().unwrap().len(), "{parser}: a UID twice");
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(uid, v)| read.get(*uid) != Some(v))
            .map(|(uid, v)| format!("{uid}: read {}, want {v}", read.get(uid).unwrap_or(&Json::Null)))
            .collect();
        assert!(wrong.is_empty(), "{parser}: {} of {} entries differ:\n{}", wrong.len(), want.len(), wrong.join("\n"));
        assert_eq!(read.len(), expected.len(), "{parser} read other events");
    }

    // libical (Debian's gir1.2-ical-3.0).
    if let Some(system_python) = peer_env("FLOWCAL_LIBICAL_PYTHON", "libical") {
        check_with_libical(&system_python, &path, &mine, &want);
    }

    // Radicale: the whole feed PUT as one calendar, then read back event by event.
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", radicale.port);
    let r = http
        .put(format!("{base}/alice/feed-copy/"))
        .basic_auth("alice", Some("app-password-1"))
        .header("content-type", "text/calendar")
        .body(feed.text.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "Radicale: {} {}", r.status(), r.text().await.unwrap());
    let listing = http
        .request(Method::from_bytes(b"PROPFIND").unwrap(), format!("{base}/alice/feed-copy/"))
        .basic_auth("alice", Some("app-password-1"))
        .header("depth", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hrefs: Vec<String> = listing
        .split("href>")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .filter(|h| h.ends_with(".ics"))
        .map(str::to_owned)
        .collect();
    assert_eq!(hrefs.len(), mine.len(), "one item per event: {listing}");
    let mut seen = BTreeMap::new();
    for href in &hrefs {
        let item = http.get(format!("{base}{href}")).basic_auth("alice", Some("app-password-1")).send().await.unwrap();
        let item = item.text().await.unwrap();
        let evs = events(&item);
        assert_eq!(evs.len(), 1, "{item}");
        let (uid, ev) = evs.into_iter().next().unwrap();
        let ours = &mine[&uid];
        for name in ["SUMMARY", "DTSTART", "DTEND", "SEQUENCE", "URL", "TRANSP"] {
            assert_eq!(prop_line(&ev, name), prop_line(ours, name), "Radicale's {uid} {name}");
        }
        seen.insert(uid, ());
    }
    assert_eq!(seen.len(), mine.len());

    // Xandikos: the whole feed PUT as one calendar object of a new calendar,
    // then each event found through the server's index (calendar-query by UID).
    let Some(xandikos) = crate::caldav_peers::Xandikos::start().await else { return };
    let xbase = format!("http://127.0.0.1:{}", xandikos.port);
    let r = http
        .request(Method::from_bytes(b"MKCALENDAR").unwrap(), format!("{xbase}/user/calendars/feed/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .put(format!("{xbase}/user/calendars/feed/feed.ics"))
        .header("content-type", "text/calendar")
        .body(feed.text.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "Xandikos: {} {}", r.status(), r.text().await.unwrap());
    for (uid, ours) in &mine {
        let query = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match collation="i;octet">{uid}</c:text-match></c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
        );
        let answer = http
            .request(Method::from_bytes(b"REPORT").unwrap(), format!("{xbase}/user/calendars/feed/"))
            .header("depth", "1")
            .header("content-type", "application/xml")
            .body(query)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let data = answer.split("calendar-data>").nth(1).unwrap_or_else(|| panic!("Xandikos found no {uid}: {answer}"));
        // XML-escaped iCalendar text: back to CRLF lines.
        let data = data
            .trim_end_matches("</ns1:")
            .replace("&#13;", "\r")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        let theirs = events(&data);
        let ev = theirs.get(uid).unwrap_or_else(|| panic!("{uid} not in Xandikos' answer"));
        for name in ["SUMMARY", "DTSTART", "DTEND", "SEQUENCE", "URL"] {
            assert_eq!(prop_line(ev, name), prop_line(ours, name), "Xandikos' {uid} {name}");
        }
    }
}

/// libical reads the feed without an error, the events with their titles,
/// starts and ends (local times through the feed's own VTIMEZONEs), and the zones.
fn check_with_libical(
    system_python: &str,
    path: &std::path::Path,
    mine: &BTreeMap<String, Vec<(String, String)>>,
    want: &BTreeMap<String, Want>,
) {
    let out = std::process::Command::new(system_python)
        .arg(crate::support::repo_root().join("tests/peers/libical_check.py"))
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("{system_python} must run (scripts/test installs python3-gi, gir1.2-ical-3.0): {e}")
        });
    let lib: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("libical: {e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && lib["errors"].as_array().unwrap().is_empty(), "libical: {}", lib["errors"]);
    let read: BTreeMap<String, (String, Json, Json)> = lib["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let summary = e["summary"].as_str().unwrap().to_owned();
            (e["uid"].as_str().unwrap().to_owned(), (summary, e["start"].clone(), e["end"].clone()))
        })
        .collect();
    let expected: BTreeMap<String, (String, Json, Json)> =
        want.iter().map(|(uid, w)| (uid.clone(), (w.summary.clone(), json!(w.span.0), json!(w.span.1)))).collect();
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(uid, v)| read.get(*uid) != Some(v))
        .map(|(uid, v)| format!("{uid}: read {:?}, want {v:?}", read.get(uid)))
        .collect();
    assert!(wrong.is_empty(), "libical: {} of {} entries differ:\n{}", wrong.len(), want.len(), wrong.join("\n"));
    assert_eq!(read.len(), expected.len(), "libical read other events");
    // One VTIMEZONE per zone used in TZID form (UTC needs none).
    let mut zones_read: Vec<String> =
        lib["timezones"].as_array().unwrap().iter().map(|z| z.as_str().unwrap().to_owned()).collect();
    zones_read.sort();
    assert_eq!(zones_read, vec!["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Berlin"]);
    for e in lib["events"].as_array().unwrap() {
        let ours = &mine[e["uid"].as_str().unwrap()];
        let line = prop_line(ours, "DTSTART");
        let value = line.rsplit(':').next().unwrap();
        assert!(e["dtstart"].as_str().unwrap().ends_with(value), "libical {} vs ours {line}", e["dtstart"]);
    }
}

/// An instance of the 301-entry feed, as the test made it.
struct Instance {
    id: i64,
    title: String,
    due: jiff::civil::Date,
    meeting: Timestamp,
    /// The clock when it started.
    started: Timestamp,
}

/// What one entry of the feed must say.
struct Want {
    summary: String,
    url: String,
    /// Start and end: `YYYY-MM-DD` (the end exclusive) or UTC `YYYY-MM-DDTHH:MM:SSZ`.
    span: (String, String),
}

/// When the first instance of the 301-entry feed starts.
const FIRST_START: Timestamp = Timestamp::constant(1_772_841_600, 0); // 2026-03-07T00:00:00Z

/// The 2026 clock changes of the feed's zones with DST, in UTC, as their
/// rules say: Berlin on the last Sundays of March and October at 01:00 UTC;
/// New York on 8 March at 02:00 EST and 1 November at 02:00 EDT; Lord Howe
/// (half an hour) on 5 April at 02:00 +11 and 4 October at 02:00 +10:30.
const DST_CHANGES: [(&str, [&str; 2]); 3] = [
    ("Europe/Berlin", ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"]),
    ("America/New_York", ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"]),
    ("Australia/Lord_Howe", ["2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z"]),
];

/// The `k`-th meeting (0 to 19) of an instance in `zone`: around one of its
/// clock changes (both sides, inside the skipped or repeated hour too), or
/// spread over the year in a zone without DST.
fn meeting_at(zone: &str, k: usize) -> Timestamp {
    const MINUTES: [i64; 20] =
        [-180, -120, -61, -60, -31, -30, -1, 0, 1, 29, 30, 31, 59, 60, 61, 90, 120, 180, -1440, 1440];
    match DST_CHANGES.iter().find(|(z, _)| *z == zone) {
        Some((_, changes)) => {
            let change: Timestamp = changes[k % 2].parse().unwrap();
            change.checked_add(SignedDuration::from_mins(MINUTES[k])).unwrap()
        }
        None => {
            let start: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
            start.checked_add(SignedDuration::from_mins(k as i64 * (17 * 24 * 60 + 37))).unwrap()
        }
    }
}

/// `at` in RFC 3339 with one of a few UTC offsets (the API takes any).
fn with_offset(at: Timestamp, n: usize) -> String {
    let seconds = [0, 3600, -5 * 3600, 5 * 3600 + 1800][n % 4];
    if seconds == 0 {
        return utc(at);
    }
    let zone = TimeZone::fixed(jiff::tz::Offset::from_seconds(seconds).unwrap());
    at.to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// An instant as the parser checks write it.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
