//! The calendar view (`/calendar`) and the team's week (`/team`), read as
//! the pages a signed-in user gets.

use crate::matrix::session;
use crate::on_both_backends;
use crate::support::{TestApp, TestDb};
use flowcal_domain::export::{event_key, ExportSource};
use flowcal_domain::{InstanceId, TaskId, UserId};
use flowcal_store::{AccountKind, Audit, NewAccount, NewExport};
use reqwest::Method;
use serde_json::{json, Value as Json};

/// Two parallel steps: one for the role `team_a` due 15.5 hours after it
/// starts, one for the starter due in ten days; a date item and a datetime item.
pub(crate) const CAL_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="c" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="cal" name="Calendar test" isExecutable="true">
    <bpmn:extensionElements>
      <flowcal:dataItem key="review_on" label="Review day" type="date"/>
      <flowcal:dataItem key="call_at" label="Call" type="datetime"/>
    </bpmn:extensionElements>
    <bpmn:laneSet>
      <bpmn:lane id="la" name="team_a"><bpmn:flowNodeRef>late</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="late" name="Late review" flowcal:deadline="PT15H30M"/>
    <bpmn:userTask id="report" name="Write report" flowcal:assignee="starter" flowcal:deadline="P10D"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="late"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="report"/>
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="report" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// One step for the starter, due in two days.
const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

/// Steps for two roles: `team_a` due in two days and in twenty, `team_b` in two.
pub(crate) fn team_model(key: &str, name: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="t" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:laneSet>
      <bpmn:lane id="la" name="team_a"><bpmn:flowNodeRef>a_job</bpmn:flowNodeRef><bpmn:flowNodeRef>a_later</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lb" name="team_b"><bpmn:flowNodeRef>b_job</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="a_job" name="{name} A job" flowcal:deadline="P2D"/>
    <bpmn:userTask id="a_later" name="{name} A later" flowcal:deadline="P20D"/>
    <bpmn:userTask id="b_job" name="{name} B job" flowcal:deadline="P2D"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="a_job"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="a_later"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="b_job"/>
    <bpmn:sequenceFlow id="f5" sourceRef="a_job" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="a_later" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="b_job" targetRef="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// A page as `cookie`'s user sees it: the status and the HTML.
async fn page(t: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The part of `html` from `start` up to the next `end` after it ("" when `start` is missing).
fn part<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let Some(at) = html.find(start) else { return "" };
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The list item of the entry whose link or title holds `name`.
fn entry_of<'a>(html: &'a str, name: &str) -> &'a str {
    let Some(at) = html.find(name) else { return "" };
    let from = html[..at].rfind("<li").unwrap_or(0);
    let rest = &html[from..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

/// Starts an instance of `model` as `token`'s user; its id and open tasks (id by name) as that user sees them.
async fn start(t: &TestApp, token: &str, model: &str, data: Json) -> (i64, Vec<(String, i64)>) {
    let (s, inst) = t
        .post("/api/v1/instances", token, json!({"model": model, "title": format!("{model} case"), "data": data}))
        .await;
    assert_eq!(s, 201, "{inst}");
    let tasks = inst["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["id"].as_i64().unwrap()))
        .collect();
    (inst["id"].as_i64().unwrap(), tasks)
}

/// A CalDAV account of `user` that no server stands behind: for pages
/// that show exports' states, set by hand.
pub(crate) async fn placeholder_account(t: &TestApp, user: UserId) -> i64 {
    let account = NewAccount {
        user_id: user,
        kind: AccountKind::Caldav,
        provider: "caldav".into(),
        external_id: format!("{}@cal", user.0),
        display: "a calendar".into(),
        url: Some("http://127.0.0.1:9/".into()),
        credentials_sealed: "unused".into(),
        access_expires_at: None,
    };
    let audit = || Audit { action: "account.connected", detail: "{}".into() };
    t.app.store.upsert_account(account, t.app.now(), audit(), audit()).await.unwrap().0.id
}

/// An export of `source` for `user` on `account`, left in `state`.
pub(crate) async fn export(
    t: &TestApp,
    user: UserId,
    account: i64,
    source: ExportSource,
    task: Option<i64>,
    instance: i64,
    state: &str,
) {
    let n = NewExport {
        user_id: user,
        account_id: account,
        event_key: event_key(user.0, &source.to_string()),
        source,
        task_id: task,
        instance_id: instance,
    };
    let e = t.app.store.request_export(n, t.app.now()).await.unwrap();
    t.sql(&format!("UPDATE exports SET state = '{state}' WHERE id = {}", e.id)).await;
}

async fn calendar_view(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    let ann = t.user("ann", false, &["team_a"]).await;
    let bob = t.user("bob", false, &["team_a"]).await;
    t.user("eve", false, &[]).await;
    assert_eq!(t.upload(&root, CAL_MODEL).await.0, 201);
    assert_eq!(t.upload(&root, DUE_MODEL).await.0, 201);
    // bob reads in UTC; ann in Europe/Berlin (the server's zone).
    let utc = Some(json!({"time_zone": "UTC"}));
    assert_eq!(t.call(Method::PATCH, "/api/v1/me/settings", &bob, utc).await.0, 200);

    // 2026-03-27T08:00Z: "Late review" is due at 23:30 UTC, already the 28th in Berlin.
    let data = json!({"review_on": "2026-03-31", "call_at": "2026-03-31T23:30:00+00:00"});
    let (inst, tasks) = start(&t, &ann, "cal", data).await;
    let id_of = |name: &str| tasks.iter().find(|(n, _)| n == name).unwrap().1;
    let (late, report) = (id_of("Late review"), id_of("Write report"));
    let (gone, _) = start(&t, &ann, "cal", json!({"review_on": "2026-03-30"})).await;
    for _ in 0..6 {
        start(&t, &ann, "due", json!({})).await;
    }
    // ann's exports in each state.
    let ann_id = t.app.store.user_by_login("ann").await.unwrap().unwrap().id;
    let acc = placeholder_account(&t, ann_id).await;
    let item = |instance: i64| ExportSource::InstanceItem { instance: InstanceId(instance), key: "review_on".into() };
    export(&t, ann_id, acc, ExportSource::TaskDeadline(TaskId(late)), Some(late), inst, "failed").await;
    export(&t, ann_id, acc, ExportSource::TaskDeadline(TaskId(report)), Some(report), inst, "pending").await;
    export(&t, ann_id, acc, item(inst), None, inst, "synced").await;
    export(&t, ann_id, acc, item(gone), None, gone, "removed_in_calendar").await;
    let call = ExportSource::InstanceItem { instance: InstanceId(inst), key: "call_at".into() };
    export(&t, ann_id, acc, call, None, inst, "synced").await;

    let (a, b, e, r) =
        (session(&t, "ann").await, session(&t, "bob").await, session(&t, "eve").await, session(&t, "root").await);

    // The week, in ann's zone: the 23:30 UTC deadline is on Saturday the 28th, due soon, its export failed.
    let (s, week) = page(&t, &a, "/calendar?view=week&date=2026-03-27").await;
    assert_eq!(s, 200, "{week}");
    let sat = part(&week, "id=\"d-2026-03-28\"", "</section>");
    let fri = part(&week, "id=\"d-2026-03-27\"", "</section>");
    assert!(sat.contains("Late review"), "{week}");
    assert!(!fri.contains("Late review"), "{fri}");
    let li = entry_of(sat, "Late review");
    assert!(li.contains(&format!("href=\"/tasks/{late}\"")), "{li}");
    assert!(li.contains("Due soon") && li.contains("failed") && li.contains("00:30"), "{li}");
    assert!(!li.contains("Overdue"), "{li}");
    // The six deadlines of the 29th, each with a link to its task.
    let sun = part(&week, "id=\"d-2026-03-29\"", "</section>");
    assert_eq!(sun.matches("Check — deadline").count(), 6, "{sun}");
    // The exported dates: in calendar, removed in calendar, each linked to a task of its instance open for ann.
    let tue = part(&week, "id=\"d-2026-03-31\"", "</section>");
    assert_eq!(tue, "", "the week ends on Sunday");
    let mon = part(&week, "id=\"d-2026-03-30\"", "</section>");
    assert_eq!(mon, "", "the week ends on Sunday");

    // bob, in UTC, sees the same deadline on Friday the 27th at 23:30; none of ann's exports.
    let (_, bweek) = page(&t, &b, "/calendar?view=week&date=2026-03-27").await;
    let bfri = part(&bweek, "id=\"d-2026-03-27\"", "</section>");
    assert!(entry_of(bfri, "Late review").contains("23:30"), "{bweek}");
    assert!(!bweek.contains("Review day") && !bweek.contains("failed"), "{bweek}");

    // The month: March's grid ends on Sunday 5 April, so the report (due 6 April) is not in it.
    let (s, month) = page(&t, &a, "/calendar").await;
    assert_eq!(s, 200);
    assert!(month.contains("March 2026") && month.contains("<th scope=\"col\">"), "{month}");
    assert!(month.contains("aria-current=\"page\">Month"), "{month}");
    let cell = |html: &str, day: &str| part(html, &format!("datetime=\"{day}\""), "</td>").to_owned();
    assert!(cell(&month, "2026-03-28").contains("Late review"));
    let c31 = cell(&month, "2026-03-31");
    let li = entry_of(&c31, "Review day");
    assert!(li.contains("in calendar") && li.contains("cal case"), "{li}");
    assert!(
        li.contains(&format!("href=\"/tasks/{late}\"")) || li.contains(&format!("href=\"/tasks/{report}\"")),
        "{li}"
    );
    assert!(entry_of(&cell(&month, "2026-03-30"), "Review day").contains("removed in calendar"), "{month}");
    // A date-time item at 23:30 UTC on the 31st is at 01:30 on 1 April in Berlin.
    assert!(!c31.contains("Call"), "{c31}");
    let apr1 = cell(&month, "2026-04-01");
    let li = entry_of(&apr1, ">Call<");
    assert!(li.contains("01:30") && li.contains("in calendar"), "{apr1}");
    // A day's cell shows four entries and says how many more, linking to that week.
    let c29 = cell(&month, "2026-03-29");
    assert_eq!(c29.matches("Check — deadline").count(), 4, "{c29}");
    assert!(c29.contains("2 more") && c29.contains("/calendar?view=week&amp;date=2026-03-29"), "{c29}");
    assert!(!month.contains("Write report"), "6 April is past March's grid");
    let (_, april) = page(&t, &a, "/calendar?view=month&date=2026-04-15").await;
    let c6 = cell(&april, "2026-04-06");
    let li = entry_of(&c6, "Write report");
    assert!(li.contains("pending") && li.contains(&format!("href=\"/tasks/{report}\"")), "{april}");
    assert!(april.contains("href=\"/calendar?view=month&amp;date=2026-03-01\""), "previous month");

    // Someone without the role sees none of it.
    let (s, other) = page(&t, &e, "/calendar?view=month&date=2026-03-01").await;
    assert_eq!(s, 200);
    assert!(!other.contains("Late review") && !other.contains("Review day") && !other.contains("Check"), "{other}");
    assert!(other.contains("Nothing due in these weeks."), "{other}");
    assert!(!month.contains("Nothing due"), "{month}");
    let (s, admin) = page(&t, &r, "/calendar").await;
    assert_eq!(s, 200);
    assert!(!admin.contains("Late review"), "an administrator's calendar is their own");

    // Two days later "Late review" and the checks are overdue: marked so; the agenda
    // lists what was due before today first, and today's own entries under today.
    t.clock.set("2026-03-29T10:00:00Z".parse().unwrap());
    // (Sessions last 12 hours: sign in again.)
    let a = session(&t, "ann").await;
    let (_, month) = page(&t, &a, "/calendar?view=month").await;
    let li = entry_of(&cell(&month, "2026-03-28"), "Late review").to_owned();
    assert!(li.contains("Overdue") && li.contains("class=\"entry overdue\""), "{li}");
    let (s, agenda) = page(&t, &a, "/calendar?view=agenda").await;
    assert_eq!(s, 200);
    assert!(agenda.contains("aria-current=\"page\">Agenda"), "{agenda}");
    let late_part = part(&agenda, "id=\"overdue-h\"", "</section>");
    assert!(entry_of(late_part, "Late review").contains("Overdue"), "{agenda}");
    assert!(!late_part.contains("Check"), "today's are under today: {late_part}");
    let today = part(&agenda, "id=\"d-2026-03-29\"", "</section>");
    assert_eq!(today.matches("Overdue").count(), 6, "{today}");
    // The agenda runs from today for two weeks, the days in order, and pages on.
    assert!(agenda.find("id=\"d-2026-03-28\"").is_none(), "{agenda}");
    let sun = agenda.find("id=\"d-2026-03-29\"").unwrap();
    let tue = agenda.find("id=\"d-2026-03-31\"").unwrap();
    let apr6 = agenda.find("id=\"d-2026-04-06\"").unwrap();
    assert!(!late_part.is_empty() && agenda.find("id=\"overdue-h\"").unwrap() < sun, "{agenda}");
    assert!(sun < tue && tue < apr6, "{agenda}");
    assert!(agenda.contains("href=\"/calendar?view=agenda&amp;date=2026-04-12\""), "{agenda}");

    // Out-of-range requests are refused.
    assert_eq!(page(&t, &a, "/calendar?view=year").await.0, 400);
    assert_eq!(page(&t, &a, "/calendar?date=2026-13-01").await.0, 400);
    assert_eq!(page(&t, &a, "/calendar?date=0001-01-01").await.0, 400);
}

async fn team_week(db: TestDb) {
    let t = TestApp::spawn(db).await;
    let root = t.user("root", true, &[]).await;
    t.user("ann", false, &["team_a"]).await;
    let carl = t.user("carl", false, &["team_a"]).await;
    t.user("bea", false, &["team_b"]).await;
    t.user("eve", false, &[]).await;
    assert_eq!(t.upload(&root, &team_model("work", "Work")).await.0, 201);
    assert_eq!(t.upload(&root, &team_model("other", "Other")).await.0, 201);
    let (_, tasks) = start(&t, &root, "work", json!({})).await;
    start(&t, &root, "other", json!({})).await;
    let a_job = tasks.iter().find(|(n, _)| n == "Work A job").unwrap().1;
    assert_eq!(t.post(&format!("/api/v1/tasks/{a_job}/claim"), &carl, json!({})).await.0, 200);
    let (a, bea, e, r) =
        (session(&t, "ann").await, session(&t, "bea").await, session(&t, "eve").await, session(&t, "root").await);

    // ann sees team_a's week: carl holds "Work A job" (no link: it is his), "Other A job" is unclaimed.
    let (s, html) = page(&t, &a, "/team").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("href=\"/team\""), "the nav offers it");
    let row = |html: &str, name: &str| {
        let at = html.find(name).unwrap_or_else(|| panic!("{name} in {html}"));
        let from = html[..at].rfind("<tr").unwrap();
        let rest = &html[from..];
        rest[..rest.find("</tr>").unwrap()].to_owned()
    };
    let w = row(&html, "Work A job");
    assert!(w.contains("carl") && !w.contains("href=\"/tasks/"), "{w}");
    let o = row(&html, "Other A job");
    assert!(o.contains("unclaimed") && o.contains("href=\"/tasks/"), "{o}");
    assert!(!html.contains("B job"), "role B's tasks are not ann's");
    assert!(!html.contains("A later"), "due past the week");
    assert!(!html.contains("Overdue"));
    // Filtered by process.
    let (_, other) = page(&t, &a, "/team?role=team_a&process=other").await;
    assert!(other.contains("Other A job") && !other.contains("Work A job"), "{other}");
    assert!(other.contains("<option value=\"other\" selected>"), "{other}");
    // Another role's week is not ann's to see; nor anyone's without a role.
    assert_eq!(page(&t, &a, "/team?role=team_b").await.0, 403);
    let (s, none) = page(&t, &e, "/team").await;
    assert_eq!(s, 403);
    assert!(!none.contains("A job") && !none.contains("href=\"/team\""), "{none}");
    let (_, b) = page(&t, &bea, "/team").await;
    assert!(b.contains("Work B job") && !b.contains("A job"), "{b}");
    // An administrator picks any role.
    let (s, admin) = page(&t, &r, "/team?role=team_b").await;
    assert_eq!(s, 200);
    assert!(admin.contains("Work B job") && admin.contains("<option value=\"team_a\">"), "{admin}");

    // Three days on, the week's tasks are overdue (and still listed, first).
    t.clock.set("2026-03-30T10:00:00Z".parse().unwrap());
    let a = session(&t, "ann").await;
    let (_, later) = page(&t, &a, "/team").await;
    assert!(row(&later, "Work A job").contains("Overdue"), "{later}");
    assert!(!later.contains("A later"), "{later}");
}

on_both_backends!(calendar_view, team_week);
