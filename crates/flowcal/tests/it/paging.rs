//! Lists a page at a time: `limit`, an opaque `cursor`, `next_cursor` and
//! `total`; every row once, in order, also while rows change between pages.

use crate::support::{TestApp, TestDb};
use serde_json::{json, Value as Json};
use std::collections::{BTreeSet, HashMap};

const NOW_MS: i64 = 1_774_598_400_000; // 2026-03-27T08:00:00Z, the test clock

fn model(key: &str, items: &str, task: &str) -> String {
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
      <process id="{key}" isExecutable="true">
        <extensionElements>{items}</extensionElements>
        <startEvent id="s"/>{task}<endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
      </process></definitions>"#
    )
}

/// Four models: a deadline on a date, at an instant, none, and a date
/// deadline offered to the role `clerks`.
fn models() -> Vec<String> {
    vec![
        model(
            "dated",
            r#"<flowcal:dataItem key="due" type="date" required="true"/>"#,
            r#"<userTask id="t" name="Dated" flowcal:assignee="starter" flowcal:deadlineFrom="due"/>"#,
        ),
        model(
            "timed",
            r#"<flowcal:dataItem key="at" type="datetime" required="true"/>"#,
            r#"<userTask id="t" name="Timed" flowcal:assignee="starter" flowcal:deadlineFrom="at"/>"#,
        ),
        model("loose", "", r#"<userTask id="t" name="Loose" flowcal:assignee="starter"/>"#),
        model(
            "shared",
            r#"<flowcal:dataItem key="due" type="date" required="true"/>"#,
            r#"<userTask id="t" name="Shared" flowcal:deadlineFrom="due"><potentialOwner><resourceAssignmentExpression>
                 <formalExpression>group(clerks)</formalExpression></resourceAssignmentExpression></potentialOwner></userTask>"#,
        ),
    ]
}

/// The sort key the API documents: an instant's milliseconds, a date's start
/// of day in UTC, no deadline last.
fn deadline_key(d: &Json) -> i64 {
    if let Some(at) = d["at"].as_str() {
        return at.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    }
    if let Some(date) = d["date"].as_str() {
        let date: jiff::civil::Date = date.parse().unwrap();
        return date.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp().as_millisecond();
    }
    assert!(d.is_null(), "{d}");
    i64::MAX
}

struct Seeded {
    t: TestApp,
    alice: String,
    bob: String,
    root: String,
    /// alice's tasks: id → (model key, deadline).
    mine: HashMap<i64, (String, Json)>,
    /// bob's own tasks.
    bobs: BTreeSet<i64>,
}

/// alice (role clerks) gets `n` tasks: her own of three models and the
/// role's of instances bob starts; bob has tasks of his own.
async fn seed(db: TestDb, n: usize) -> Seeded {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["clerks"]).await;
    let bob = t.user("bob", false, &[]).await;
    for m in models() {
        let (s, e) = t.upload(&root, &m).await;
        assert_eq!(s, 201, "{e}");
    }
    let mut mine = HashMap::new();
    let mut bobs = BTreeSet::new();
    let day = jiff::civil::date(2026, 3, 20);
    for i in 0..n {
        let (who, key, data) = match i % 5 {
            0 | 4 => {
                let due = day.checked_add(jiff::Span::new().days(((i * 7) % 30) as i64)).unwrap();
                (&alice, "dated", json!({"due": due.to_string()}))
            }
            1 => {
                // From two days before the clock to ten days after; some exactly at midnight UTC,
                // the key of a date deadline of that day.
                let hours = ((i * 13) % 288) as i64 - 48;
                let at = if i % 3 == 0 {
                    jiff::Timestamp::from_millisecond(NOW_MS - 8 * 3_600_000 + (hours / 24) * 86_400_000).unwrap()
                } else {
                    jiff::Timestamp::from_millisecond(NOW_MS + hours * 3_600_000).unwrap()
                };
                (&alice, "timed", json!({"at": at.to_string()}))
            }
            2 => (&alice, "loose", json!({})),
            _ => {
                let due = day.checked_add(jiff::Span::new().days(((i * 11) % 20) as i64)).unwrap();
                (&bob, "shared", json!({"due": due.to_string()}))
            }
        };
        let (s, inst) =
            t.post("/api/v1/instances", who, json!({"model": key, "title": format!("#{i}"), "data": data})).await;
        assert_eq!(s, 201, "{inst}");
        let task = &inst["tasks"][0];
        mine.insert(task["id"].as_i64().unwrap(), (key.to_owned(), task["deadline"].clone()));
    }
    // bob's own tasks, which alice never sees.
    for i in 0..5 {
        let (_, inst) = t.post("/api/v1/instances", &bob, json!({"model": "loose", "title": format!("bob {i}")})).await;
        bobs.insert(inst["tasks"][0]["id"].as_i64().unwrap());
    }
    Seeded { t, alice, bob, root, mine, bobs }
}

/// Walks a list to its end by `next_cursor`: every page's items, and the
/// answers of the pages.
async fn walk(t: &TestApp, path: &str, field: &str, token: &str) -> (Vec<Json>, Vec<Json>) {
    let mut items = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_owned(),
        };
        let (s, page) = t.get(&url, token).await;
        assert_eq!(s, 200, "{url}: {page}");
        items.extend(page[field].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        let last = cursor.is_none();
        pages.push(page);
        if last {
            return (items, pages);
        }
    }
    panic!("{path}: no last page after 100 pages");
}

fn ids(items: &[Json]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().unwrap_or_else(|| panic!("no id: {i}"))).collect()
}

/// The order the API promises, computed here from the tasks as started.
fn expected_order(s: &Seeded, keep: impl Fn(&str, &Json) -> bool) -> Vec<i64> {
    let mut v: Vec<(i64, i64)> =
        s.mine.iter().filter(|(_, (k, d))| keep(k, d)).map(|(id, (_, d))| (deadline_key(d), *id)).collect();
    v.sort_unstable();
    v.into_iter().map(|(_, id)| id).collect()
}

async fn tasks_are_walked_page_by_page_in_deadline_order(db: TestDb) {
    let s = seed(db, 230).await;
    let t = &s.t;
    assert_eq!(s.mine.len(), 230);
    let (items, pages) = walk(t, "/api/v1/tasks?limit=50", "tasks", &s.alice).await;
    assert_eq!(pages.len(), 5, "230 tasks in pages of 50");
    for p in &pages[..4] {
        assert_eq!(p["tasks"].as_array().unwrap().len(), 50);
    }
    assert!(pages[4]["next_cursor"].is_null());
    assert!(pages.iter().all(|p| p["total"] == 230), "total on every page");
    let got = ids(&items);
    assert_eq!(got, expected_order(&s, |_, _| true), "every task once, earliest deadline first, none last");
    assert!(got.iter().all(|id| !s.bobs.contains(id)), "none of bob's tasks");
    // The default limit is 50, and the page is the first.
    let (_, first) = t.get("/api/v1/tasks", &s.alice).await;
    assert_eq!(ids(first["tasks"].as_array().unwrap()), got[..50].to_vec());

    // bob sees only his own: not the role's (he is not a clerk), not alice's.
    let (bob_items, _) = walk(t, "/api/v1/tasks?limit=3", "tasks", &s.bob).await;
    assert_eq!(ids(&bob_items).into_iter().collect::<BTreeSet<_>>(), s.bobs);

    // Newest first, and by id.
    let (created, _) = walk(t, "/api/v1/tasks?limit=40&sort=created", "tasks", &s.alice).await;
    let mut by_id: Vec<i64> = s.mine.keys().copied().collect();
    by_id.sort_unstable();
    let mut newest = by_id.clone();
    newest.reverse();
    assert_eq!(ids(&created), newest, "same start time (the fixed clock): highest id first");
    let (in_id_order, _) = walk(t, "/api/v1/tasks?limit=60&sort=id", "tasks", &s.alice).await;
    assert_eq!(ids(&in_id_order), by_id);

    // Refused: a limit of 0 or above 200, a cursor that is not one, a cursor of another order.
    for bad in ["limit=0", "limit=201", "cursor=garbage", "cursor=", "sort=due", "due=soon", "state=new"] {
        let (st, e) = t.get(&format!("/api/v1/tasks?{bad}"), &s.alice).await;
        assert_eq!(st, 400, "{bad}: {e}");
    }
    let c = pages[0]["next_cursor"].as_str().unwrap();
    let (st, _) = t.get(&format!("/api/v1/tasks?sort=created&cursor={c}"), &s.alice).await;
    assert_eq!(st, 400, "a deadline cursor in the created order");
    let (st, _) = t.get("/api/v1/tasks?limit=200", &s.alice).await;
    assert_eq!(st, 200);

    // Filters: overdue, due this week (alice's zone is the server's, Europe/Berlin:
    // today is 2026-03-27), a process.
    let today = "2026-03-27";
    let week_end = "2026-04-03";
    let overdue = |_: &str, d: &Json| match (d["date"].as_str(), d["at"].as_str()) {
        (Some(date), _) => date < today,
        (_, Some(_)) => deadline_key(d) < NOW_MS,
        _ => false,
    };
    let week = |_: &str, d: &Json| match (d["date"].as_str(), d["at"].as_str()) {
        (Some(date), _) => date >= today && date < week_end,
        (_, Some(_)) => (NOW_MS..NOW_MS + 7 * 86_400_000).contains(&deadline_key(d)),
        _ => false,
    };
    for (query, keep) in [
        ("due=overdue", &overdue as &dyn Fn(&str, &Json) -> bool),
        ("due=week", &week),
        ("process=timed", &|k: &str, _: &Json| k == "timed"),
        ("process=shared&due=week", &|k: &str, d: &Json| k == "shared" && week(k, d)),
    ] {
        let (items, pages) = walk(t, &format!("/api/v1/tasks?limit=20&{query}"), "tasks", &s.alice).await;
        let expected = expected_order(&s, keep);
        assert!(!expected.is_empty(), "{query} keeps some");
        assert!(expected.len() < 230, "{query} leaves some out");
        assert_eq!(ids(&items), expected, "{query}");
        assert_eq!(pages[0]["total"], expected.len(), "{query}");
    }
    let (_, none) = t.get("/api/v1/tasks?process=nope", &s.alice).await;
    assert_eq!((none["tasks"].as_array().unwrap().len(), none["total"].as_i64()), (0, Some(0)));
    let _ = &s.root;
}

async fn tasks_completed_between_pages_are_neither_repeated_nor_skip_others(db: TestDb) {
    let s = seed(db, 120).await;
    let t = &s.t;
    let all = expected_order(&s, |_, _| true);
    let mut seen: Vec<i64> = Vec::new();
    let mut completed = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/tasks?state=open&limit=25&cursor={c}"),
            None => "/api/v1/tasks?state=open&limit=25".to_owned(),
        };
        let (st, page) = t.get(&url, &s.alice).await;
        assert_eq!(st, 200, "{page}");
        seen.extend(ids(page["tasks"].as_array().unwrap()));
        // Between pages: complete one task already seen and two not seen yet.
        let unseen: Vec<i64> =
            all.iter().filter(|id| !seen.contains(id) && !completed.contains(*id)).copied().collect();
        let targets = [seen.get(round).copied(), unseen.get(3).copied(), unseen.last().copied()];
        for id in targets.into_iter().flatten() {
            if completed.insert(id) {
                let (st, e) = t.post(&format!("/api/v1/tasks/{id}/complete"), &s.alice, json!({})).await;
                assert_eq!(st, 200, "{e}");
            }
        }
        round += 1;
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no task twice");
    let order: Vec<i64> = all.iter().filter(|id| unique.contains(id)).copied().collect();
    assert_eq!(seen, order, "in deadline order");
    for id in &all {
        assert!(unique.contains(id) || completed.contains(id), "task {id} stayed open and was skipped");
    }
}

crate::on_both_backends!(
    tasks_are_walked_page_by_page_in_deadline_order,
    tasks_completed_between_pages_are_neither_repeated_nor_skip_others,
);

/// Instances: each caller gets exactly those `GET /api/v1/instances/{id}`
/// shows them, newest first, a page at a time.
async fn instances_are_listed_as_each_caller_may_see_them(db: TestDb) {
    let s = seed(db, 40).await;
    let t = &s.t;
    // One of the role's tasks claimed by alice, and one of bob's loose ones completed by him.
    let shared = s.mine.iter().find(|(_, (k, _))| k == "shared").map(|(id, _)| *id).unwrap();
    assert_eq!(t.post(&format!("/api/v1/tasks/{shared}/claim"), &s.alice, json!({})).await.0, 200);
    let bobs = *s.bobs.iter().next().unwrap();
    assert_eq!(t.post(&format!("/api/v1/tasks/{bobs}/complete"), &s.bob, json!({})).await.0, 200);
    let carol = t.user("carol", false, &["clerks"]).await;
    let (all, _) = walk(t, "/api/v1/instances?limit=7", "instances", &s.root).await;
    let all = ids(&all);
    assert_eq!(all.len(), 45);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first");
    for (who, token) in [("alice", &s.alice), ("bob", &s.bob), ("carol", &carol)] {
        let (items, pages) = walk(t, "/api/v1/instances?limit=4", "instances", token).await;
        let listed = ids(&items);
        let mut shown = Vec::new();
        for id in &all {
            if t.get(&format!("/api/v1/instances/{id}"), token).await.0 == 200 {
                shown.push(*id);
            }
        }
        assert_eq!(listed, shown, "{who} lists what they may open");
        assert!(pages.len() >= 2, "{who}: several pages");
        assert_eq!(pages[0]["total"], shown.len(), "{who}");
    }
    let (st, _) = t.get("/api/v1/instances?cursor=bm9wZQ", &s.alice).await;
    assert_eq!(st, 400);
}

async fn incidents_exports_audit_and_users_are_paged(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    // Incidents: a gateway whose conditions none holds.
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1">
      <process id="route" isExecutable="true">
        <extensionElements><flowcal:dataItem key="size" type="select" options="S,M,L"/></extensionElements>
        <startEvent id="s"/><exclusiveGateway id="g"/><userTask id="small"/><userTask id="large"/><endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
        <sequenceFlow id="to_small" sourceRef="g" targetRef="small"><conditionExpression>size == "S"</conditionExpression></sequenceFlow>
        <sequenceFlow id="to_large" sourceRef="g" targetRef="large"><conditionExpression>size == "L"</conditionExpression></sequenceFlow>
        <sequenceFlow id="x1" sourceRef="small" targetRef="e"/><sequenceFlow id="x2" sourceRef="large" targetRef="e"/>
      </process></definitions>"#;
    assert_eq!(t.upload(&root, xml).await.0, 201);
    let mut stuck = Vec::new();
    for i in 0..7 {
        let size = if i % 3 == 0 { "S" } else { "M" };
        let body = json!({"model": "route", "title": format!("parcel {i}"), "data": {"size": size}});
        let (s, inst) = t.post("/api/v1/instances", &alice, body).await;
        assert_eq!(s, 201, "{inst}");
        if inst["status"] == "incident" {
            stuck.push(inst["id"].as_i64().unwrap());
        }
    }
    assert_eq!(stuck.len(), 4);
    let (items, pages) = walk(&t, "/api/v1/incidents?limit=3", "instances", &root).await;
    assert_eq!((ids(&items), pages.len(), pages[0]["total"].as_i64()), (stuck.clone(), 2, Some(4)));
    assert_eq!(t.get("/api/v1/incidents?limit=3", &alice).await.0, 403);

    // Users, by login.
    for login in ["zoe", "mia", "ben", "eve", "kim"] {
        t.user(login, false, &["r"]).await;
    }
    let (items, pages) = walk(&t, "/api/v1/admin/users?limit=3", "users", &root).await;
    let logins: Vec<&str> = items.iter().map(|u| u["login"].as_str().unwrap()).collect();
    assert_eq!(logins, ["alice", "ben", "eve", "kim", "mia", "root", "zoe"]);
    assert_eq!((pages.len(), pages[0]["total"].as_i64()), (3, Some(7)));
    assert_eq!(items[1]["roles"], json!(["r"]));
    assert_eq!(t.get("/api/v1/admin/users", &alice).await.0, 403);
    assert_eq!(t.get("/api/v1/admin/users?limit=201", &root).await.0, 400);

    // Exports and the audit log, as an older flowcal or a busy one left them.
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    let root_id = t.app.store.user_by_login("root").await.unwrap().unwrap().id.0;
    let mut sql = format!(
        "INSERT INTO calendar_accounts (id, user_id, kind, provider, external_id, display, status, credentials_sealed,
                                        created_at, updated_at)
         VALUES (900, {alice_id}, 'caldav', 'caldav', 'x', 'x', 'active', 'fc1:x', 0, 0);"
    );
    for i in 0..9 {
        sql.push_str(&format!(
            "INSERT INTO exports (user_id, account_id, source, instance_id, event_key, wanted, state, not_before,
                                  created_at, updated_at)
             VALUES ({alice_id}, 900, 'instance:{i}:item:x', {i}, 'k{i}', 'present', 'synced', 0, 0, 0);"
        ));
    }
    for i in 0..11 {
        let user = if i % 2 == 0 { alice_id } else { root_id };
        sql.push_str(&format!(
            "INSERT INTO audit_log (at, user_id, action, detail) VALUES ({}, {user}, 'connect', '{{\"n\": {i}}}');",
            NOW_MS - i
        ));
    }
    t.sql(&sql).await;
    let (items, pages) = walk(&t, "/api/v1/exports?limit=4", "exports", &alice).await;
    let got = ids(&items);
    assert_eq!((got.len(), pages.len(), pages[0]["total"].as_i64()), (9, 3, Some(9)));
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    let (none, _) = walk(&t, "/api/v1/exports?limit=4", "exports", &root).await;
    assert!(none.is_empty(), "root has no exports of alice's");

    let (mine, pages) = walk(&t, "/api/v1/audit?limit=2", "entries", &alice).await;
    let details: Vec<i64> = mine.iter().map(|e| e["detail"]["n"].as_i64().unwrap()).collect();
    assert_eq!(details, [10, 8, 6, 4, 2, 0], "her own, newest first");
    assert_eq!(pages.len(), 3);
    let (everyone, _) = walk(&t, "/api/v1/audit?all=true&limit=5", "entries", &root).await;
    assert_eq!(everyone.len(), 11);
    assert_eq!(t.get("/api/v1/audit?all=true", &alice).await.0, 403);
    // A cursor of one's own log is not one of everyone's.
    let c = pages[0]["next_cursor"].as_str().unwrap();
    assert_eq!(t.get(&format!("/api/v1/audit?all=true&cursor={c}"), &root).await.0, 400);

    // Work calendars take a cursor too (and `after`, as before).
    for name in ["a-cal", "b-cal", "c-cal"] {
        let body = Some(json!({"time_zone": "UTC", "week": ["mon"]}));
        let (s, e) = t.call(reqwest::Method::PUT, &format!("/api/v1/admin/work-calendars/{name}"), &root, body).await;
        assert_eq!(s, 201, "{e}");
    }
    let (items, pages) = walk(&t, "/api/v1/work-calendars?limit=2", "work_calendars", &alice).await;
    let names: Vec<&str> = items.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!((names, pages.len()), (vec!["a-cal", "b-cal", "c-cal"], 2));
}

crate::on_both_backends!(instances_are_listed_as_each_caller_may_see_them, incidents_exports_audit_and_users_are_paged);

/// The rows of a page's task table, by task id.
fn task_rows(html: &str) -> Vec<i64> {
    let table = &html[html.find("<table class=\"tasks\"").expect("a task table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table.split("<a href=\"/tasks/").skip(1).map(|s| s[..s.find('"').unwrap()].parse().unwrap()).collect()
}

fn link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\" href=\""))? + rel.len() + 13;
    Some(html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&"))
}

async fn my_tasks_page_shows_fifty_rows_a_count_and_a_next_link(db: TestDb) {
    let s = seed(db, 120).await;
    let t = &s.t;
    let cookie = crate::matrix::session(t, "alice").await;
    let page = |path: String| {
        let cookie = cookie.clone();
        async move {
            let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let all = expected_order(&s, |_, _| true);
    let first = page("/tasks".into()).await;
    assert_eq!(task_rows(&first), all[..50].to_vec(), "the first 50, earliest deadline first");
    assert!(first.contains("1–50 of 120 open tasks"), "the count");
    assert!(link(&first, "first").is_none(), "no first-page link on the first page");
    let next = link(&first, "next").expect("a next link");
    let second = page(next).await;
    assert_eq!(task_rows(&second), all[50..100].to_vec());
    assert!(second.contains("51–100 of 120 open tasks"));
    assert_eq!(task_rows(&page(link(&second, "first").unwrap()).await), all[..50].to_vec());
    let third = page(link(&second, "next").unwrap()).await;
    assert_eq!(task_rows(&third), all[100..].to_vec());
    assert!(third.contains("101–120 of 120 open tasks") && link(&third, "next").is_none());

    // Filters and order carry over to the next page.
    let overdue = expected_order(&s, |_, d| match (d["date"].as_str(), d["at"].as_str()) {
        (Some(date), _) => date < "2026-03-27",
        (_, Some(_)) => deadline_key(d) < NOW_MS,
        _ => false,
    });
    let html = page("/tasks?show=overdue".into()).await;
    assert!(html.contains(&format!("of {} open tasks", overdue.len())), "overdue count");
    assert_eq!(task_rows(&html), overdue[..overdue.len().min(50)].to_vec());
    let html = page("/tasks?process=timed&sort=created".into()).await;
    let mut timed: Vec<i64> = s.mine.iter().filter(|(_, (k, _))| k == "timed").map(|(id, _)| *id).collect();
    timed.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(task_rows(&html), timed);
    assert!(html.contains("<option value=\"timed\" selected"), "the process is chosen in the form");
    let html = page("/tasks?show=claimable".into()).await;
    let shared: BTreeSet<i64> = s.mine.iter().filter(|(_, (k, _))| k == "shared").map(|(id, _)| *id).collect();
    assert!(task_rows(&html).iter().all(|id| shared.contains(id)));
    // A page's cursor is not the API's, and a made-up one is refused.
    let r = t.client.get(format!("{}/tasks?cursor=x", t.base)).header("cookie", cookie.clone()).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

crate::on_both_backends!(my_tasks_page_shows_fifty_rows_a_count_and_a_next_link);

/// A list longer than the count's cap: the count stops there for the way in
/// that holds more (the API says so, the page writes "+"), and every task is
/// still listed once.
async fn a_long_task_list_counts_up_to_a_cap(db: TestDb) {
    let s = seed(db, 0).await;
    let t = &s.t;
    let cap = flowcal_store::COUNT_CAP as usize;
    let mut expected = BTreeSet::new();
    for i in 0..cap + 3 {
        let (st, inst) = t
            .post(
                "/api/v1/instances",
                &s.bob,
                json!({"model": "shared", "title": format!("#{i}"), "data": {"due": "2026-04-01"}}),
            )
            .await;
        assert_eq!(st, 201, "{inst}");
        expected.insert(inst["tasks"][0]["id"].as_i64().unwrap());
    }
    for i in 0..2 {
        let (_, inst) =
            t.post("/api/v1/instances", &s.alice, json!({"model": "loose", "title": format!("own {i}")})).await;
        expected.insert(inst["tasks"][0]["id"].as_i64().unwrap());
    }
    let (items, pages) = walk(t, "/api/v1/tasks?limit=200", "tasks", &s.alice).await;
    assert_eq!(ids(&items).len(), cap + 5);
    assert_eq!(ids(&items).into_iter().collect::<BTreeSet<_>>(), expected, "every task once");
    // The role's branch stopped at the cap, alice's own counted both.
    assert_eq!((&pages[0]["total"], &pages[0]["total_exact"]), (&json!(cap + 2), &json!(false)));
    // Short lists are counted exactly.
    let (_, own) = t.get("/api/v1/tasks?process=loose", &s.alice).await;
    assert_eq!((&own["total"], &own["total_exact"]), (&json!(2), &json!(true)), "{own}");
    let cookie = crate::matrix::session(t, "alice").await;
    let r = t.client.get(format!("{}/tasks", t.base)).header("cookie", cookie).send().await.unwrap();
    let html = r.text().await.unwrap();
    let shown = format!("1–50 of {},{:03}+ open tasks", (cap + 2) / 1000, (cap + 2) % 1000);
    assert!(html.contains(&shown), "{shown}: {}", &html[html.find("<h1").unwrap_or(0)..][..400]);
}

crate::on_both_backends!(a_long_task_list_counts_up_to_a_cap);

async fn the_admin_page_pages_users_and_failed_entries(db: TestDb) {
    let t = TestApp::spawn(db).await;
    t.user("root", true, &[]).await;
    let mut logins = vec!["root".to_owned()];
    for i in 0..56 {
        let login = format!("user{i:02}");
        t.app.access.add_user(&login, false, &[], None).await.unwrap();
        logins.push(login);
    }
    logins.sort();
    let root_id = t.app.store.user_by_login("root").await.unwrap().unwrap().id.0;
    let mut sql = format!(
        "INSERT INTO calendar_accounts (id, user_id, kind, provider, external_id, display, status, credentials_sealed,
                                        created_at, updated_at)
         VALUES (900, {root_id}, 'caldav', 'caldav', 'x', 'x', 'active', 'fc1:x', 0, 0);"
    );
    for i in 0..53 {
        sql.push_str(&format!(
            "INSERT INTO exports (user_id, account_id, source, instance_id, event_key, wanted, state, not_before,
                                  created_at, updated_at, last_error)
             VALUES ({root_id}, 900, 'instance:{i}:item:x', {i}, 'k{i}', 'present', 'failed', 0, 0, {}, 'e{i}');",
            1000 + i % 7
        ));
    }
    // 55 accounts that need reconnecting: the 50 most recent are shown, with the count.
    for i in 0..55 {
        sql.push_str(&format!(
            "INSERT INTO calendar_accounts (id, user_id, kind, provider, external_id, display, status,
                                            credentials_sealed, created_at, updated_at)
             VALUES ({}, {root_id}, 'caldav', 'caldav', 'r{i}', 'lapsed-{i:02}', 'reconnect_required', 'fc1:x', 0, {i});",
            1000 + i
        ));
    }
    t.sql(&sql).await;
    let cookie = crate::matrix::session(&t, "root").await;
    let page = |path: String| {
        let cookie = cookie.clone();
        let t = &t;
        async move {
            let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let users_on = |html: &str| -> Vec<String> {
        html.split("id=\"role-").skip(1).map(|s| s[..s.find('"').unwrap()].to_owned()).collect()
    };
    let retries_on = |html: &str| -> Vec<i64> {
        html.split("action=\"/admin/exports/").skip(1).map(|s| s[..s.find('/').unwrap()].parse().unwrap()).collect()
    };
    let first = page("/admin".into()).await;
    assert_eq!(users_on(&first), logins[..50].to_vec());
    assert!(first.contains("57 users") && first.contains("53 failed"));
    let lapsed: Vec<&str> = first.split(" · lapsed-").skip(1).map(|s| &s[..2]).collect();
    let newest: Vec<String> = (5..55).rev().map(|i| format!("{i:02}")).collect();
    assert_eq!(lapsed, newest, "the 50 most recent, newest first");
    assert!(first.contains("The 50 most recent of 55"), "{first}");
    let failed_first = retries_on(&first);
    assert_eq!(failed_first.len(), 50);
    let next_users = first.split("rel=\"next\" href=\"").nth(1).unwrap();
    let next_users = next_users[..next_users.find('"').unwrap()].replace("&amp;", "&");
    assert!(next_users.starts_with("/admin?users="), "{next_users}");
    assert_eq!(users_on(&page(next_users).await), logins[50..].to_vec());
    let next_failed = first.split("rel=\"next\" href=\"").nth(2).unwrap();
    let next_failed = next_failed[..next_failed.find('"').unwrap()].to_owned();
    assert!(next_failed.starts_with("/admin?failed="), "{next_failed}");
    let failed_rest = retries_on(&page(next_failed).await);
    assert_eq!(failed_rest.len(), 3);
    let all: BTreeSet<i64> = failed_first.iter().chain(&failed_rest).copied().collect();
    assert_eq!(all.len(), 53, "every failed entry once");
}

crate::on_both_backends!(the_admin_page_pages_users_and_failed_entries);

const DAY_MS: i64 = 86_400_000;

async fn audit_count(t: &TestApp) -> usize {
    t.app.store.audit_log(None, 1_000_000).await.unwrap().len()
}

/// Retention: one sweep deletes exactly what is past its time, in batches,
/// and keeps the rest; 0 days keeps for ever.
async fn the_retention_sweep_deletes_only_what_is_past_its_time(db: TestDb) {
    let t = TestApp::spawn_with(db, "[metrics]\npublic = true\n").await;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    assert_eq!(t.upload(&root, &models()[2]).await.0, 201);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (_, inst) = t.post("/api/v1/instances", &alice, json!({"model": "loose", "title": format!("{i}")})).await;
        tasks.push((inst["tasks"][0]["id"].as_i64().unwrap(), inst["id"].as_i64().unwrap()));
    }
    // Two finished on the first day; the clock moves on 95 days; one finishes then; one stays open.
    for (task, _) in &tasks[..2] {
        assert_eq!(t.post(&format!("/api/v1/tasks/{task}/complete"), &alice, json!({})).await.0, 200);
    }
    let now = jiff::Timestamp::from_millisecond(NOW_MS + 95 * DAY_MS).unwrap();
    t.clock.set(now);
    let now_ms = now.as_millisecond();
    assert_eq!(t.post(&format!("/api/v1/tasks/{}/complete", tasks[2].0), &alice, json!({})).await.0, 200);

    let mut sql = String::new();
    // 2,503 audit entries older than a year, 2 younger.
    sql.push_str(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2503)
         INSERT INTO audit_log (at, user_id, action, detail) SELECT {} - i, {alice_id}, 'old', '{{}}' FROM n;",
        now_ms - 366 * DAY_MS
    ));
    for age in [364, 1] {
        sql.push_str(&format!(
            "INSERT INTO audit_log (at, user_id, action, detail) VALUES ({}, {alice_id}, 'kept', '{{}}');",
            now_ms - age * DAY_MS
        ));
    }
    // Feed entries of every task and instance, and one of neither.
    for (task, instance) in &tasks {
        for source in [format!("task:{task}:deadline"), format!("instance:{instance}:item:x")] {
            sql.push_str(&format!(
                "INSERT INTO feed_entries (user_id, source, content_hash, sequence, modified_at)
                 VALUES ({alice_id}, '{source}', 'h', 0, 0);"
            ));
        }
    }
    sql.push_str(&format!(
        "INSERT INTO feed_entries (user_id, source, content_hash, sequence, modified_at)
         VALUES ({alice_id}, 'other:1', 'h', 0, 0);"
    ));
    // Sign-in counters: an old one, an old one still locked, a fresh one.
    for (hash, first_at, locked_until) in
        [("old", now_ms - DAY_MS, 0), ("locked", now_ms - DAY_MS, now_ms + 60_000), ("fresh", now_ms - 60_000, 0)]
    {
        sql.push_str(&format!(
            "INSERT INTO sign_in_failures (login_hash, address, failures, first_at, locked_until)
             VALUES ('{hash}', '', 3, {first_at}, {locked_until});"
        ));
    }
    // OAuth requests: one expired, one in flight.
    for (hash, expires_at) in [("expired", now_ms - 1), ("live", now_ms + 600_000)] {
        sql.push_str(&format!(
            "INSERT INTO oauth_states (state_hash, purpose, provider, binding_hash, verifier_sealed, nonce,
                                       created_at, expires_at)
             VALUES ('{hash}', 'connect', 'p', 'b', 'v', 'n', {}, {expires_at});",
            expires_at - 600_000
        ));
    }
    // Browser sessions: one expired, one live.
    for (hash, expires_at) in [("expired", now_ms - 1), ("live", now_ms + 3_600_000)] {
        sql.push_str(&format!(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ('{hash}', {alice_id}, 0, {expires_at});"
        ));
    }
    t.sql(&sql).await;
    let feed_sources = || async {
        let marks = t.app.store.feed_marks(flowcal_domain::UserId(alice_id)).await.unwrap();
        marks.into_keys().collect::<BTreeSet<String>>()
    };
    assert_eq!(feed_sources().await.len(), 9);
    let before = audit_count(&t).await;

    // 0 days: the audit log and the feed keep everything.
    let forever = flowcal_server::retention::Retention::new(
        t.app.store.clone(),
        t.clock.clone(),
        flowcal_server::config::RetentionConfig { audit_days: 0, finished_days: 0 },
    );
    assert_eq!(forever.sweep().await.unwrap(), [0, 0, 1, 1, 1]);
    assert_eq!((audit_count(&t).await, feed_sources().await.len()), (before, 9));

    // The defaults: a year of audit, 90 days after finishing.
    let swept = t.app.retention.sweep().await.unwrap();
    assert_eq!(swept, [2503, 4, 0, 0, 0], "the counters, requests and sessions went in the sweep before");
    let left = t.app.store.audit_log(None, 1_000_000).await.unwrap();
    assert!(left.iter().all(|e| e.action != "old"), "every old entry went");
    assert_eq!(left.iter().filter(|e| e.action == "kept").count(), 2);
    assert_eq!(left.len(), before - 2503);
    let kept: BTreeSet<String> = [
        format!("task:{}:deadline", tasks[2].0),
        format!("instance:{}:item:x", tasks[2].1),
        format!("task:{}:deadline", tasks[3].0),
        format!("instance:{}:item:x", tasks[3].1),
        "other:1".to_owned(),
    ]
    .into();
    assert_eq!(feed_sources().await, kept, "only the entries of work finished over 90 days ago went");
    let counters: Vec<String> =
        t.app.store.sign_in_counters().await.unwrap().into_iter().map(|c| c.login_hash).collect();
    assert_eq!(counters, ["fresh", "locked"]);
    assert_eq!(t.app.store.oauth_state_hashes().await.unwrap(), ["live"]);

    // Nothing is left to delete; /metrics counts what went.
    assert_eq!(t.app.retention.sweep().await.unwrap(), [0, 0, 0, 0, 0]);
    let metrics = t.client.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("flowcal_retention_deleted_total{table=\"audit_log\"} 2503"), "{metrics}");
    assert!(metrics.contains("flowcal_retention_deleted_total{table=\"feed_entries\"} 4"), "{metrics}");
}

crate::on_both_backends!(the_retention_sweep_deletes_only_what_is_past_its_time);

/// A task page reads only the user's exports of its own instance (not all
/// of the user's, which grow without bound) and still shows each of them.
async fn a_task_page_shows_the_exports_of_its_instance(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    // Ids of users and instances that differ, so that neither stands for the other.
    for i in 0..5 {
        t.user(&format!("other{i}"), false, &[]).await;
    }
    let alice = t.user("alice", false, &[]).await;
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id.0;
    assert_eq!(t.upload(&root, &models()[0]).await.0, 201);
    let mut started = Vec::new();
    for due in ["2026-04-01", "2026-04-02"] {
        let (s, inst) =
            t.post("/api/v1/instances", &alice, json!({"model": "dated", "title": due, "data": {"due": due}})).await;
        assert_eq!(s, 201, "{inst}");
        started.push((inst["tasks"][0]["id"].as_i64().unwrap(), inst["id"].as_i64().unwrap()));
    }
    let ((task_a, _), (task_b, instance_b)) = (started[0], started[1]);
    let mut sql = format!(
        "INSERT INTO calendar_accounts (id, user_id, kind, provider, external_id, display, status, credentials_sealed,
                                        created_at, updated_at)
         VALUES (900, {alice_id}, 'caldav', 'caldav', 'x', 'x', 'active', 'fc1:x', 0, 0);
         INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, wanted, state, not_before,
                              created_at, updated_at)
         VALUES ({alice_id}, 900, 'task:{task_b}:deadline', {task_b}, {instance_b}, 'kb', 'present', 'synced', 0, 0, 0);"
    );
    // Many more of alice's entries, of other instances.
    for i in 0..300 {
        sql.push_str(&format!(
            "INSERT INTO exports (user_id, account_id, source, instance_id, event_key, wanted, state, not_before,
                                  created_at, updated_at)
             VALUES ({alice_id}, 900, 'instance:{}:item:due', {}, 'k{i}', 'present', 'synced', 0, 0, 0);",
            10_000 + i,
            10_000 + i
        ));
    }
    t.sql(&sql).await;
    let cookie = crate::matrix::session(&t, "alice").await;
    let page = |task: i64| {
        let (t, cookie) = (&t, cookie.clone());
        async move {
            let r = t.client.get(format!("{}/tasks/{task}", t.base)).header("cookie", cookie).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let a = page(task_a).await;
    assert!(!a.contains("In calendar") && a.contains("Not in calendar"), "{a}");
    let b = page(task_b).await;
    assert_eq!(b.matches("✓ In calendar").count(), 1, "the deadline, not the date item: {b}");
}

crate::on_both_backends!(a_task_page_shows_the_exports_of_its_instance);

/// Completing an offered task (which claims it first) reads the exports of
/// its own instance by index: with thousands of other calendar entries in the
/// database, its statements step through no more rows in full scans than a
/// database without them, and `/metrics` shows the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_a_task_scans_no_table_that_grows() {
    let t = &TestApp::spawn_with(TestDb::sqlite(), "[metrics]\npublic = true\n").await;
    let root = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &["clerks"]).await;
    let bob = t.user("bob", false, &[]).await;
    let (st, e) = t.upload(&root, &models()[3]).await;
    assert_eq!(st, 201, "{e}");
    // bob's 3,000 entries of other cases, as years of auto-sync leave them.
    t.sql(
        "INSERT INTO calendar_accounts (user_id, kind, provider, external_id, display, status, credentials_sealed,
                                        created_at, updated_at)
         SELECT id, 'caldav', 'caldav', 'bob@dav', 'bob', 'active', 'unused', 0, 0 FROM users WHERE login = 'bob';
         WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 3000)
         INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, auto, wanted, state,
                              not_before, created_at, updated_at)
         SELECT a.user_id, a.id, 'task:' || (100000 + k.n) || ':deadline', 100000 + k.n, 100000 + k.n,
                'k' || k.n, 1, 'present', 'synced', 0, 0, 0
         FROM k CROSS JOIN calendar_accounts a;",
    )
    .await;
    // alice keeps her deadlines, done ones too, in a calendar of her own.
    t.sql(
        "INSERT INTO calendar_accounts (user_id, kind, provider, external_id, display, status, credentials_sealed,
                                        created_at, updated_at)
         SELECT id, 'caldav', 'caldav', 'alice@dav', 'alice', 'active', 'unused', 0, 0 FROM users WHERE login = 'alice';
         UPDATE users SET calendar_export = 1, auto_sync_keep_done = 1,
                          auto_sync_account = (SELECT a.id FROM calendar_accounts a WHERE a.external_id = 'alice@dav')
         WHERE login = 'alice';",
    )
    .await;
    let scans = || t.app.store.sqlite_full_scan_steps().expect("SQLite counts its full scans");
    let mut offered = Vec::new();
    for i in 0..3 {
        let (st, inst) = t
            .post(
                "/api/v1/instances",
                &bob,
                json!({"model": "shared", "title": format!("#{i}"), "data": {"due": "2026-04-01"}}),
            )
            .await;
        assert_eq!(st, 201, "{inst}");
        offered.push(inst["tasks"][0]["id"].as_i64().unwrap());
    }
    for &id in &offered {
        let before = scans();
        let (st, done) = t.post(&format!("/api/v1/tasks/{id}/complete"), &alice, json!({})).await;
        assert_eq!(st, 200, "{done}");
        let stepped = scans() - before;
        assert!(stepped < 500, "completing task {id} stepped through {stepped} rows in full table scans");
    }
    // Completed in one step, each was hers first: its entry stays in her calendar, marked done.
    let alice_id = t.app.store.user_by_login("alice").await.unwrap().unwrap().id;
    let kept: Vec<i64> = t
        .app
        .store
        .exports_of(alice_id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.wanted == flowcal_domain::export::Wanted::Present)
        .filter_map(|e| e.task_id)
        .collect();
    assert_eq!(kept, offered, "a done entry for each task completed straight from the role");
    let before = scans();
    let metrics = t.client.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap();
    let reported: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("flowcal_sqlite_full_scan_steps_total "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!((before..=scans()).contains(&reported), "{reported}: not between {before} and {}", scans());
}
