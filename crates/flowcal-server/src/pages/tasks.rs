//! Participants' pages: My tasks, the task screen (data form, claim,
//! complete, calendar buttons beside every date), starting a process.

use super::frame::{
    column_heads, csrf_field, error_page, layout, layout_status, see_other_notice, show_deadline, urgency,
    urgency_badge, Fields, Posted, Urgency, Viewer, THEN_COOKIE,
};
use crate::app::App;
use crate::entries::describe_rule_in;
use crate::error::AppError;
use crate::i18n::Lang;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flowcal_domain::export::{ExportSource, ExportState, Wanted};
use flowcal_domain::{DataItemDef, DataType, NodeKind, TaskId};
use flowcal_store::{ExportRecord, TaskRecord, TaskState};
use maud::{html, Markup};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    /// all, overdue, week, mine or claimable (`soon`: week, as before).
    show: Option<String>,
    /// A model's key.
    process: Option<String>,
    /// deadline (the default) or created.
    sort: Option<String>,
    cursor: Option<String>,
}

/// Rows on a page of My tasks.
const PAGE_ROWS: usize = crate::paging::DEFAULT_LIMIT;

/// `GET /tasks`: the viewer's open tasks, 50 at a time, with filters and
/// sorting; the links to other pages carry the cursor (no JavaScript needed).
pub(crate) async fn list(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let show = match q.show.as_deref() {
        None | Some("") => "all",
        Some("soon") => "week",
        Some(s) => s,
    };
    let (due, assigned) = match show {
        "overdue" => (Some("overdue"), None),
        "week" => (Some("week"), None),
        "mine" => (None, Some(true)),
        "claimable" => (None, Some(false)),
        _ => (None, None),
    };
    let process = q.process.clone().filter(|p| !p.is_empty());
    let sort = if q.sort.as_deref() == Some("created") { "created" } else { "deadline" };
    let mut query = match crate::api::tasks_query(Some("open"), Some(sort), due, process.as_deref()) {
        Ok(query) => query,
        Err(e) => return error_page(Some(&v), &e),
    };
    query.assigned = assigned;
    let list = format!("page:{}", crate::api::task_cursor_list(query.sort));
    // The page's cursor also holds how many rows came before it, for "51–100 of …".
    let (after, skipped) = match crate::paging::decode::<(i64, i64, usize)>(&list, q.cursor.as_deref()) {
        Ok(Some((key, id, skipped))) => (Some((key, id)), skipped),
        Ok(None) => (None, 0),
        Err(e) => return error_page(Some(&v), &e),
    };
    let order = query.sort;
    let page = match app.workflow.tasks_page(&v.p, query, after, PAGE_ROWS).await {
        Ok(page) => page,
        Err(e) => return error_page(Some(&v), &e),
    };
    let models = app.store.list_models().await.unwrap_or_default();
    let seen = skipped + page.items.len();
    let next = crate::paging::next_cursor(&list, &page, |t| (order.key(t), t.id.0, seen));
    let total = page.total.unwrap_or_default();
    let now = app.now();
    let rows: Vec<(&TaskRecord, Option<Urgency>)> =
        page.items.iter().map(|t| (t, t.deadline.as_ref().map(|d| urgency(d, now, &v.zone)))).collect();
    // The filters and order as a query, for the links to other pages.
    let mut here = format!("/tasks?show={show}&sort={sort}");
    if let Some(p) = &process {
        here.push_str(&format!("&process={}", flowcal_connect::text::form_encode(p)));
    }
    let filters = [
        ("all", "tasks-show-all"),
        ("overdue", "tasks-show-overdue"),
        ("week", "tasks-show-week"),
        ("mine", "tasks-show-mine"),
        ("claimable", "tasks-show-claimable"),
    ];
    let say = |id: &str| v.lang.t(id);
    let body = html! {
        h1 { (say("tasks-title")) }
        form.filters method="get" action="/tasks" {
            label for="show" { (say("tasks-filter-show")) }
            select id="show" name="show" {
                @for (value, label) in filters {
                    option value=(value) selected[value == show] { (say(label)) }
                }
            }
            label for="process" { (say("tasks-filter-process")) }
            select id="process" name="process" {
                option value="" selected[process.is_none()] { (say("tasks-filter-all-processes")) }
                @for m in &models {
                    option value=(m.key) selected[process.as_deref() == Some(m.key.as_str())] { (m.name) }
                }
            }
            label for="sort" { (say("tasks-filter-sort")) }
            select id="sort" name="sort" {
                option value="deadline" selected[sort == "deadline"] { (say("tasks-sort-deadline")) }
                option value="created" selected[sort == "created"] { (say("tasks-sort-created")) }
            }
            button type="submit" { (say("tasks-filter-submit")) }
        }
        @if rows.is_empty() {
            p.empty { (say("tasks-empty")) }
        } @else {
            p.count role="status" { (count_line(v.lang, skipped + 1, seen, total, page.total_exact)) }
            table.tasks {
                caption.visually-hidden { (say("tasks-table-caption")) }
                (column_heads(v.lang, &["tasks-col-task", "tasks-col-process", "tasks-col-deadline", "tasks-col-assigned"]))
                tbody {
                    @for (t, u) in &rows {
                        tr {
                            td { a href={ "/tasks/" (t.id.0) } { (t.name) } }
                            td { (t.instance_title) }
                            td {
                                @match &t.deadline {
                                    Some(d) => {
                                        time { (show_deadline(d, &v.zone, v.lang)) } " " (urgency_badge(u.unwrap_or(Urgency::Later), v.lang))
                                        @if let Some(cal) = &t.deadline_calendar { " " span.hint { (v.lang.t_with("tasks-counted-in", &[("calendar", cal.as_str().into())])) } }
                                    }
                                    None => { span.muted { (v.lang.t("tasks-no-deadline")) } }
                                }
                            }
                            td {
                                @match &t.assignee {
                                    Some(a) if a == v.p.login() => { (v.lang.t("tasks-assigned-you")) }
                                    Some(a) => { (a) }
                                    None => { (v.lang.t_with("tasks-assigned-role", &[("role", t.role.clone().unwrap_or_default().into())])) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if q.cursor.is_some() || next.is_some() {
            nav.pager aria-label=(say("tasks-pages")) {
                @if q.cursor.is_some() { a rel="first" href=(here) { (say("tasks-first-page")) } " " }
                @if let Some(c) = &next { a rel="next" href={ (here) "&cursor=" (c) } { (say("tasks-next-page")) } }
            }
        }
    };
    layout(Some(&v), &say("tasks-title"), None, body)
}

/// "51–100 of 15,000+ open tasks", in `lang`.
fn count_line(lang: Lang, first: usize, last: usize, total: i64, exact: bool) -> String {
    let mut shown = thousands(total, &lang.t("tasks-thousands-separator"));
    if !exact {
        shown.push('+');
    }
    lang.t_with(
        "tasks-count",
        &[
            ("first", first.to_string().into()),
            ("last", last.to_string().into()),
            ("total", shown.into()),
            ("count", total.into()),
        ],
    )
}

/// A count with thousands separated by `sep`: 15,000.
pub(crate) fn thousands(n: i64, sep: &str) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// `GET /tasks/{id}`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer, Path(id): Path<i64>) -> Response {
    task_page(&app, &v, TaskId(id), None, &BTreeMap::new(), None, StatusCode::OK).await
}

/// The task screen; `errors` by item key, `entered` the form as sent.
async fn task_page(
    app: &App,
    v: &Viewer,
    id: TaskId,
    notice: Option<&str>,
    errors: &BTreeMap<String, String>,
    entered: Option<&Fields>,
    status: StatusCode,
) -> Response {
    let t = match app.workflow.task(&v.p, id).await {
        Ok(t) => t,
        Err(e) => return error_page(Some(v), &e),
    };
    let view = match app.workflow.instance(&v.p, t.instance_id).await {
        Ok(view) => view,
        Err(e) => return error_page(Some(v), &e),
    };
    let model = match app.workflow.model(view.instance.model_id).await {
        Ok((_, m)) => m,
        Err(e) => return error_page(Some(v), &e),
    };
    let exports = app.exports.list_for_instance(&v.p, t.instance_id).await.unwrap_or_default();
    let accounts = super::frame::own_accounts(app, v).await;
    let c = app.access.connectivity().await.ok();
    let export_ok = c.as_ref().is_some_and(|c| app.access.export_allowed(c, &v.p).is_ok());
    // Why *Add to calendar* is not offered, in the page's words.
    let export_why = match &c {
        _ if export_ok => None,
        Some(c) if !c.calendar_export.allow.allows(v.p.login()) => Some(NoExport::Administrator),
        Some(_) => Some(NoExport::Setting),
        None => Some(NoExport::Unavailable),
    };
    let providers = super::frame::calendar_providers(c.as_ref());
    let cal =
        CalendarCtx { v, t: &t, exports: &exports, accounts: &accounts, export_ok, export_why, providers: &providers };
    let open = t.state == TaskState::Open;
    let mine = t.assignee.as_deref() == Some(v.p.login());
    let data = &view.instance.data;
    let value_of = |item: &DataItemDef| -> String {
        if let Some(f) = entered {
            return f.text(&format!("item.{}", item.key));
        }
        match data.get(&item.key) {
            Some(Json::String(s)) => match item.data_type {
                DataType::DateTime => local_input(s, model.time_zone.as_deref().unwrap_or(&app.config.time_zone)),
                _ => s.clone(),
            },
            Some(Json::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    let items: Vec<&DataItemDef> = model.data_items.iter().filter(|i| !i.implicit).collect();
    // The step's rule in words, with the work calendar its deadline was counted in.
    let rule = t.deadline_calendar.as_deref().and_then(|cal| match model.node(&t.step).map(|n| &n.kind) {
        Some(NodeKind::UserTask { deadline, .. }) => {
            describe_rule_in(deadline, Some(cal), v.lang).map(|text| (cal.to_owned(), text))
        }
        _ => None,
    });
    // The calendar controls of the deadline and of each date item that holds a value.
    let deadline_cal = t.deadline.as_ref().map(|_| {
        calendar_controls(&cal, "deadline", &ExportSource::TaskDeadline(t.id), &v.lang.t("tasks-cal-the-deadline"))
    });
    let item_cal: BTreeMap<String, (Markup, Markup)> = items
        .iter()
        .filter(|i| {
            matches!(i.data_type, DataType::Date | DataType::DateTime)
                && data.get(&i.key).is_some_and(|v| v.is_string())
        })
        .map(|i| {
            let stored = ExportSource::InstanceItem { instance: t.instance_id, key: i.key.clone() };
            (i.key.clone(), calendar_controls(&cal, &format!("item:{}", i.key), &stored, &i.label))
        })
        .collect();
    let diagram = super::diagram::for_task(app, v.lang, &view, &t, &model).await;
    let say = |id: &str| v.lang.t(id);
    let state = match t.state {
        TaskState::Open => "tasks-state-open",
        TaskState::Done => "tasks-state-done",
        TaskState::Cancelled => "tasks-state-cancelled",
    };
    let body = html! {
        p.crumbs { a href="/tasks" { (say("tasks-title")) } " › " (view.model.name) }
        h1 { (t.name) }
        p.sub { (view.instance.title) }
        dl.facts {
            dt { (say("tasks-fact-state")) } dd { (say(state)) }
            dt { (say("tasks-fact-assigned")) } dd {
                @match &t.assignee {
                    Some(a) => { (a) }
                    None => { (v.lang.t_with("tasks-not-assigned", &[("role", t.role.clone().unwrap_or_default().into())])) }
                }
            }
            dt { (say("tasks-fact-deadline")) } dd.deadline {
                @match &t.deadline {
                    Some(d) => {
                        time { (show_deadline(d, &v.zone, v.lang)) } " " (urgency_badge(urgency(d, app.now(), &v.zone), v.lang))
                        @if let Some((cal, text)) = &rule {
                            div.rule { a href={ "/work-calendars/" (cal) } { (text) } }
                        }
                        @if let Some((controls, _)) = &deadline_cal { (controls) }
                    }
                    None => { span.muted { (say("tasks-no-deadline")) } }
                }
            }
        }
        @if open && t.assignee.is_none() {
            form method="post" action={ "/tasks/" (t.id.0) "/claim" } {
                (csrf_field(v))
                button type="submit" { (say("tasks-claim")) }
            }
        }
        section aria-labelledby="data-h" {
            h2 id="data-h" { (say("tasks-data")) }
            form.data method="post" action={ "/tasks/" (t.id.0) "/complete" } novalidate {
                (csrf_field(v))
                @for item in &items {
                    @let name = format!("item.{}", item.key);
                    @let err = errors.get(&item.key);
                    @let err_id = format!("err-{}", item.key);
                    div.field.invalid[err.is_some()] {
                        @if item.data_type == DataType::Boolean {
                            label {
                                input type="checkbox" name=(name) value="true" checked[value_of(item) == "true"]
                                    disabled[!(open && mine)] aria-describedby=[err.map(|_| err_id.clone())];
                                " " (item.label)
                            }
                        } @else {
                            label for=(name) { (item.label) @if item.required { span.req aria-hidden="true" { " *" } } }
                            (input_for(item, &name, &value_of(item), open && mine, err.map(|_| err_id.as_str())))
                        }
                        @if let Some(e) = err { p.field-error id=(err_id) { (e) } }
                        @if let Some((controls, _)) = item_cal.get(&item.key) { (controls) }
                    }
                }
                @if open && mine {
                    button.complete type="submit" { (say("tasks-complete")) }
                } @else if open {
                    p.muted { (say("tasks-claim-first")) }
                }
            }
        }
        section aria-labelledby="diagram-h" {
            h2 id="diagram-h" { (say("tasks-diagram-heading")) }
            (diagram)
        }
        @if let Some((_, forms)) = &deadline_cal { (forms) }
        @for (_, forms) in item_cal.values() { (forms) }
    };
    layout_status(status, Some(v), &t.name, notice, body)
}

/// What the calendar buttons need.
struct CalendarCtx<'a> {
    v: &'a Viewer,
    t: &'a TaskRecord,
    exports: &'a [ExportRecord],
    accounts: &'a [flowcal_store::CalendarAccount],
    export_ok: bool,
    /// Why calendar export is not offered, when it is not.
    export_why: Option<NoExport>,
    providers: &'a [(String, String)],
}

/// Why *Add to calendar* is missing from a task's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoExport {
    /// The user's own switch is off: the settings page turns it on.
    Setting,
    /// The administrator did not allow it for this user.
    Administrator,
    /// The settings could not be read just now.
    Unavailable,
}

/// "Add to calendar" and the export's state, beside one date. The controls
/// sit beside the date (also inside the data form) and belong, by their
/// `form` attribute, to small forms rendered outside it: forms do not nest.
/// Returns the controls and those forms.
fn calendar_controls(c: &CalendarCtx<'_>, source: &str, stored_source: &ExportSource, what: &str) -> (Markup, Markup) {
    let existing: Vec<&ExportRecord> = c.exports.iter().filter(|e| e.source == *stored_source).collect();
    let shown = existing.iter().find(|e| e.wanted == Wanted::Present).or(existing.first()).copied();
    let action = format!("/tasks/{}/calendar", c.t.id.0);
    let active: Vec<_> = c.accounts.iter().filter(|a| a.status == flowcal_store::AccountStatus::Active).collect();
    let id = |op: &str| format!("cal-{op}-{}", source.replace(':', "-"));
    let (retry, remove, add) = (id("retry"), id("remove"), id("add"));
    let (accept, keep) = (id("accept"), id("keep"));
    let moved_to = shown.and_then(|e| e.held_start.as_deref()).and_then(flowcal_calendar::When::from_stored);
    let lang = c.v.lang;
    let say = |id: &str| lang.t(id);
    // A button's accessible name: the message `id` with `what` (it begins with the button's text).
    let label = |id: &str| lang.t_with(id, &[("what", what.into())]);
    let controls = html! {
        div.calendar data-source=(source) {
            @let state = shown.map(|e| (e.wanted, e.state));
            span.cal-state role="status" {
                @match state {
                    Some((Wanted::Present, ExportState::Synced)) if moved_to.is_some() => {
                        span.badge.soon { (say("tasks-cal-moved")) } " "
                        span.reason {
                            @let date = moved_to.as_ref().map(|w| shown_start(w, &c.v.p.user.time_zone, lang)).unwrap_or_default();
                            (lang.t_with("tasks-cal-moved-to", &[("date", date.into())]))
                        }
                    }
                    Some((Wanted::Present, ExportState::Synced)) => {
                        span.badge.ok { (say("tasks-cal-synced")) }
                        @if let Some(link) = shown.and_then(|e| event_link(e, c.accounts)) {
                            " " a href=(link) rel="noopener noreferrer" target="_blank" { (say("tasks-cal-open-event")) }
                        }
                    }
                    Some((Wanted::Present, ExportState::Pending)) => { span.badge.pending { (say("tasks-cal-pending")) } }
                    Some((Wanted::Absent, ExportState::Pending)) => { span.badge.pending { (say("tasks-cal-removing")) } }
                    Some((_, ExportState::Failed)) => {
                        span.badge.overdue { (say("tasks-cal-failed")) } " "
                        span.reason { (lang.translate(shown.and_then(|e| e.last_error.as_deref()).unwrap_or_default())) }
                    }
                    Some((_, ExportState::Waiting)) => {
                        span.badge.soon { (say("tasks-cal-reconnect-needed")) } " "
                        a href="/settings#calendars" { (say("tasks-cal-reconnect")) }
                    }
                    Some((Wanted::Present, ExportState::RemovedInCalendar)) => {
                        span.badge.pending { (say("tasks-cal-removed-there")) }
                    }
                    _ => { span.muted { (say("tasks-cal-not-in")) } }
                }
            }
            @if shown.is_some_and(|e| e.state == ExportState::Failed) {
                button type="submit" form=(retry) { (say("tasks-cal-retry")) }
            }
            @if shown.is_some_and(|e| e.state == ExportState::RemovedInCalendar) {
                button type="submit" form=(retry) aria-label=(label("tasks-cal-add-again-label")) { (say("tasks-cal-add-again")) }
            }
            @if moved_to.is_some() {
                button type="submit" form=(accept) aria-label=(label("tasks-cal-use-date-label")) { (say("tasks-cal-use-date")) }
                button.secondary type="submit" form=(keep) aria-label=(label("tasks-cal-keep-label")) { (say("tasks-cal-keep")) }
            }
            @if shown.is_some_and(|e| e.wanted == Wanted::Present && !matches!(e.state, ExportState::Removed | ExportState::RemovedInCalendar)) {
                button.secondary type="submit" form=(remove) aria-label=(label("tasks-cal-remove-label")) { (say("tasks-cal-remove")) }
            } @else if shown.is_some_and(|e| e.state == ExportState::RemovedInCalendar) {
                // *Add again* (above) is the way back.
            } @else if c.export_ok {
                @if active.is_empty() {
                    // No calendar yet: the first press connects one, then adds the entry.
                    @for (name, display) in c.providers {
                        @let caption = if c.providers.len() > 1 {
                            lang.t_with("tasks-cal-add-at", &[("provider", display.as_str().into())])
                        } else {
                            say("tasks-cal-add")
                        };
                        @let connect = lang.t_with(
                            "tasks-cal-add-connect-label",
                            &[("caption", caption.as_str().into()), ("what", what.into()), ("provider", display.as_str().into())],
                        );
                        button type="submit" form=(add) name="provider" value=(name) aria-label=(connect) {
                            (caption)
                        }
                    }
                    @if c.providers.is_empty() {
                        (say("tasks-cal-connect-before"))
                        a href="/settings#caldav" { (say("tasks-cal-connect")) }
                        (say("tasks-cal-connect-after"))
                    }
                } @else {
                    @if active.len() > 1 {
                        label.visually-hidden for={ "acc-" (source) } { (label("tasks-cal-account-label")) }
                        select id={ "acc-" (source) } name="account" form=(add) {
                            @for a in &active { option value=(a.id) selected[Some(a.id) == c.v.p.user.auto_sync_account] { (a.display) } }
                        }
                    } @else {
                        input type="hidden" form=(add) name="account" value=(active[0].id);
                    }
                    button type="submit" form=(add) aria-label=(label("tasks-cal-add-label")) { (say("tasks-cal-add")) }
                }
            } @else {
                @match c.export_why {
                    Some(NoExport::Setting) => {
                        span.muted.why-no-export {
                            (say("tasks-cal-off-before"))
                            a href="/settings#profile" { (say("tasks-cal-off-settings")) }
                            (say("tasks-cal-off-after"))
                        }
                    }
                    Some(NoExport::Administrator) => {
                        span.muted.why-no-export { (say("tasks-cal-off-admin")) }
                    }
                    _ => { span.muted.why-no-export { (say("tasks-cal-off-unavailable")) } }
                }
            }
        }
    };
    // The hidden form of an operation on the shown export, which its button names.
    let export_id = shown.map(|e| e.id).unwrap_or_default();
    let on_export = |id: &str, op: &str| {
        html! {
            form id=(id) method="post" action=(action) hidden {
                (csrf_field(c.v))
                input type="hidden" name="op" value=(op);
                input type="hidden" name="export" value=(export_id);
            }
        }
    };
    let forms = html! {
        (on_export(&retry, "retry"))
        @if moved_to.is_some() {
            (on_export(&accept, "accept-remote"))
            (on_export(&keep, "keep-local"))
        }
        (on_export(&remove, "remove"))
        form id=(add) method="post" action=(action) hidden {
            (csrf_field(c.v))
            input type="hidden" name="op" value="add";
            input type="hidden" name="source" value=(source);
        }
    };
    (controls, forms)
}

/// A start moved to in the calendar, as the user reads it: the day, or the
/// date and time in their zone, in their language.
fn shown_start(w: &flowcal_calendar::When, zone: &str, lang: Lang) -> String {
    match w {
        flowcal_calendar::When::Date(d) => lang.date(*d),
        flowcal_calendar::When::At { at, .. } => {
            let z = at.in_tz(zone).unwrap_or_else(|_| at.to_zoned(jiff::tz::TimeZone::UTC));
            lang.date_time(&z)
        }
    }
}

/// A link to the event at the provider, where it gives one.
fn event_link(e: &ExportRecord, accounts: &[flowcal_store::CalendarAccount]) -> Option<String> {
    let acc = accounts.iter().find(|a| a.id == e.account_id)?;
    // An OAuth account's kind is its provider's kind; a CalDAV account's is no provider kind.
    let kind = flowcal_calendar::provider::ProviderKind::named(acc.kind.as_str())?;
    kind.event_link(e.remote_id.as_deref()?, e.calendar.as_deref()?)
}

/// The input for one data item.
fn input_for(item: &DataItemDef, name: &str, value: &str, enabled: bool, described: Option<&str>) -> Markup {
    let disabled = !enabled;
    html! {
        @match item.data_type {
            DataType::Text => { textarea id=(name) name=(name) disabled[disabled] aria-describedby=[described] { (value) } }
            DataType::Number => { input id=(name) name=(name) type="number" step="any" value=(value) disabled[disabled] aria-describedby=[described]; }
            DataType::Date => { input id=(name) name=(name) type="date" value=(value) disabled[disabled] aria-describedby=[described]; }
            DataType::DateTime => { input id=(name) name=(name) type="datetime-local" value=(value) disabled[disabled] aria-describedby=[described]; }
            DataType::Select => {
                select id=(name) name=(name) disabled[disabled] aria-describedby=[described] {
                    option value="" { "—" }
                    @for o in &item.options { option value=(o) selected[o == value] { (o) } }
                }
            }
            _ => { input id=(name) name=(name) type="text" value=(value) disabled[disabled] aria-describedby=[described]; }
        }
    }
}

/// A stored RFC 3339 value as a `datetime-local` value in `zone`.
fn local_input(rfc3339: &str, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// The form's values as instance data: empty fields are left out; a
/// `datetime-local` value is read in the model's zone. The errors are in `lang`.
fn data_from_form(
    items: &[DataItemDef],
    f: &Fields,
    zone: &str,
    lang: Lang,
) -> (Map<String, Json>, BTreeMap<String, String>) {
    let mut data = Map::new();
    let mut errors = BTreeMap::new();
    for item in items.iter().filter(|i| !i.implicit) {
        let name = format!("item.{}", item.key);
        let raw = f.text(&name);
        let value = match item.data_type {
            DataType::Boolean => Json::Bool(f.checked(&name)),
            _ if raw.is_empty() => continue,
            DataType::Number => match raw.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) => Json::Number(n),
                None => {
                    errors.insert(item.key.clone(), lang.t("tasks-error-number"));
                    continue;
                }
            },
            DataType::DateTime => {
                let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
                match raw.parse::<jiff::civil::DateTime>().ok().and_then(|dt| dt.to_zoned(tz).ok()) {
                    Some(z) => Json::String(
                        z.timestamp().to_zoned(z.time_zone().clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                    ),
                    None => {
                        errors.insert(item.key.clone(), lang.t("tasks-error-date-time"));
                        continue;
                    }
                }
            }
            _ => Json::String(raw),
        };
        data.insert(item.key.clone(), value);
    }
    (data, errors)
}

/// `POST /tasks/{id}/claim`.
pub(crate) async fn claim(State(app): State<Arc<App>>, Path(id): Path<i64>, Posted { v, .. }: Posted) -> Response {
    match app.workflow.claim(&v.p, TaskId(id)).await {
        Ok(_) => see_other_notice(&format!("/tasks/{id}"), &v.lang.t("tasks-notice-claimed")),
        Err(e) => error_page(Some(&v), &e),
    }
}

/// `POST /tasks/{id}/complete`: errors are shown next to their fields.
pub(crate) async fn complete(State(app): State<Arc<App>>, Path(id): Path<i64>, Posted { v, f }: Posted) -> Response {
    let task = TaskId(id);
    let t = match app.workflow.task(&v.p, task).await {
        Ok(t) => t,
        Err(e) => return error_page(Some(&v), &e),
    };
    let model = match app.workflow.model(t.model_id).await {
        Ok((_, m)) => m,
        Err(e) => return error_page(Some(&v), &e),
    };
    let zone = model.time_zone.clone().unwrap_or_else(|| app.config.time_zone.clone());
    let (data, errors) = data_from_form(&model.data_items, &f, &zone, v.lang);
    if !errors.is_empty() {
        return task_page(&app, &v, task, None, &errors, Some(&f), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // An unticked box of an item that holds no value yet sets nothing: the
    // form shows every item, and completing a step must not invent answers.
    let stored = match app.workflow.instance(&v.p, t.instance_id).await {
        Ok(view) => view.instance.data,
        Err(e) => return error_page(Some(&v), &e),
    };
    let data: Map<String, Json> =
        data.into_iter().filter(|(k, val)| !matches!(val, Json::Bool(false)) || stored.contains_key(k)).collect();
    match app.workflow.complete(&v.p, task, &data).await {
        Ok(_) => {
            see_other_notice("/tasks", &v.lang.t_with("tasks-notice-completed", &[("task", t.name.as_str().into())]))
        }
        Err(AppError::InvalidData { fields, .. }) => {
            let errors: BTreeMap<String, String> = fields.into_iter().map(|(k, m)| (k, v.lang.translate(&m))).collect();
            task_page(&app, &v, task, None, &errors, Some(&f), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(Some(&v), &e),
    }
}

/// `POST /tasks/{id}/calendar`: add (`source`, `account`, or `provider` to
/// connect one first), remove or retry (`export`).
pub(crate) async fn calendar(State(app): State<Arc<App>>, Path(id): Path<i64>, Posted { v, f }: Posted) -> Response {
    let back = |notice: &str| see_other_notice(&format!("/tasks/{id}"), &v.lang.t(notice));
    let refused = |id: &str| AppError::BadRequest(v.lang.t(id));
    let export_id = || f.text("export").parse::<i64>().ok();
    let r = match f.get("op") {
        Some("remove") => match export_id() {
            Some(e) => app.exports.remove_export(&v.p, e).await.map(|_| "tasks-cal-notice-removing"),
            None => Err(refused("tasks-cal-which-export")),
        },
        Some("retry") => match export_id() {
            Some(e) => app.exports.retry_export(&v.p, e).await.map(|_| "tasks-cal-notice-retrying"),
            None => Err(refused("tasks-cal-which-export")),
        },
        Some("accept-remote") => match export_id() {
            Some(e) => app.calendar_sync.accept_remote(&v.p, e).await.map(|_| "tasks-cal-notice-accepted"),
            None => Err(refused("tasks-cal-which-export")),
        },
        Some("keep-local") => match export_id() {
            Some(e) => app.calendar_sync.keep_local(&v.p, e).await.map(|_| "tasks-cal-notice-kept"),
            None => Err(refused("tasks-cal-which-export")),
        },
        Some("add") => {
            let source = f.text("source");
            match (f.text("account").parse::<i64>().ok(), f.get("provider")) {
                (Some(account), _) => {
                    app.exports.export(&v.p, TaskId(id), &source, account).await.map(|_| "tasks-cal-notice-adding")
                }
                (None, Some(_)) if !valid_source(&source) => Err(refused("tasks-cal-bad-source")),
                (None, Some(provider)) => {
                    // No calendar yet: connect one; the callback finishes this export.
                    let started = crate::access::StartedBy::Session(v.session.clone());
                    return match app.access.connect_oauth(&v.p, started, provider, None).await {
                        Ok(url) => {
                            let mut r = StatusCode::SEE_OTHER.into_response();
                            let secure = if app.config.public_url.starts_with("https://") { "; Secure" } else { "" };
                            let then = format!(
                                "{THEN_COOKIE}={id}:{source}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600{secure}"
                            );
                            match (HeaderValue::from_str(&url), HeaderValue::from_str(&then)) {
                                (Ok(loc), Ok(cookie)) => {
                                    r.headers_mut().insert(header::LOCATION, loc);
                                    r.headers_mut().insert(header::SET_COOKIE, cookie);
                                    r
                                }
                                _ => error_page(Some(&v), &refused("tasks-cal-cannot-export")),
                            }
                        }
                        Err(e) => error_page(Some(&v), &e),
                    };
                }
                (None, None) => Err(refused("tasks-cal-choose-account")),
            }
        }
        _ => Err(refused("tasks-cal-unknown-action")),
    };
    match r {
        Ok(notice) => back(notice),
        Err(e) => error_page(Some(&v), &e),
    }
}

/// A source the "then" cookie may carry: `deadline` or `item:KEY` (no
/// characters that could end the cookie value).
fn valid_source(source: &str) -> bool {
    source == "deadline"
        || source.strip_prefix("item:").is_some_and(|k| {
            !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        })
}

/// `GET /start`: the processes one can start.
pub(crate) async fn start_list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let models = match app.store.list_models().await {
        Ok(m) => m,
        Err(e) => return error_page(Some(&v), &e.into()),
    };
    let title = v.lang.t("tasks-start-title");
    let body = html! {
        h1 { (title) }
        @if models.is_empty() { p.empty { (v.lang.t("tasks-start-empty")) } }
        ul.cards {
            @for m in &models {
                li {
                    a href={ "/start/" (m.key) } { (m.name) } " "
                    span.muted { (v.lang.t_with("tasks-start-version", &[("version", m.version.to_string().into())])) }
                }
            }
        }
    };
    layout(Some(&v), &title, None, body)
}

/// `GET /start/{key}`: the start form (title and the model's data items).
pub(crate) async fn start_form(State(app): State<Arc<App>>, v: Viewer, Path(key): Path<String>) -> Response {
    start_page(&app, &v, &key, None, &BTreeMap::new(), None, StatusCode::OK).await
}

async fn start_page(
    app: &App,
    v: &Viewer,
    key: &str,
    error: Option<&str>,
    errors: &BTreeMap<String, String>,
    entered: Option<&Fields>,
    status: StatusCode,
) -> Response {
    let (stored, model) = match app.workflow.latest_model(key).await {
        Ok(m) => m,
        Err(e) => return error_page(Some(v), &e),
    };
    let value = |name: &str| entered.map(|f| f.text(name)).unwrap_or_default();
    let body = html! {
        p.crumbs { a href="/start" { (v.lang.t("tasks-start-title")) } }
        h1 { (stored.name) }
        @if let Some(e) = error { p.error role="alert" { (v.lang.translate(e)) } }
        form.data method="post" action={ "/start/" (stored.key) } novalidate {
            (csrf_field(v))
            div.field {
                label for="title" { (v.lang.t("tasks-start-field-title")) span.req aria-hidden="true" { " *" } }
                input id="title" name="title" required value=(value("title"));
            }
            @for item in model.data_items.iter().filter(|i| !i.implicit) {
                @let name = format!("item.{}", item.key);
                @let err = errors.get(&item.key);
                @let err_id = format!("err-{}", item.key);
                div.field.invalid[err.is_some()] {
                    @if item.data_type == DataType::Boolean {
                        label { input type="checkbox" name=(name) value="true" checked[value(&name) == "true"]; " " (item.label) }
                    } @else {
                        label for=(name) { (item.label) @if item.required { span.req aria-hidden="true" { " *" } } }
                        (input_for(item, &name, &value(&name), true, err.map(|_| err_id.as_str())))
                    }
                    @if let Some(e) = err { p.field-error id=(err_id) { (e) } }
                }
            }
            button type="submit" { (v.lang.t("tasks-start-submit")) }
        }
    };
    layout_status(status, Some(v), &stored.name, None, body)
}

/// `POST /start/{key}`: starts an instance; goes to the viewer's first task of it.
pub(crate) async fn start(State(app): State<Arc<App>>, Path(key): Path<String>, Posted { v, f }: Posted) -> Response {
    let model = match app.workflow.latest_model(&key).await {
        Ok((_, m)) => m,
        Err(e) => return error_page(Some(&v), &e),
    };
    let zone = model.time_zone.clone().unwrap_or_else(|| app.config.time_zone.clone());
    let (data, errors) = data_from_form(&model.data_items, &f, &zone, v.lang);
    // Unchecked boxes are not sent: at the start they mean "not given".
    let data: Map<String, Json> = data
        .into_iter()
        .filter(|(k, val)| {
            !(matches!(val, Json::Bool(false)) && model.item(k).is_some_and(|i| i.data_type == DataType::Boolean))
        })
        .collect();
    if !errors.is_empty() {
        return start_page(&app, &v, &key, None, &errors, Some(&f), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match app.workflow.start_instance(&v.p, &key, &f.text("title"), &data).await {
        Ok(view) => {
            let mine = view.tasks.iter().find(|t| t.state == TaskState::Open && v.p.can_see(t));
            match mine {
                Some(t) => see_other_notice(&format!("/tasks/{}", t.id.0), &v.lang.t("tasks-notice-started")),
                None => see_other_notice(
                    "/tasks",
                    &v.lang.t_with("tasks-notice-started-title", &[("title", view.instance.title.as_str().into())]),
                ),
            }
        }
        Err(AppError::InvalidData { fields, .. }) => {
            let errors: BTreeMap<String, String> = fields.into_iter().map(|(k, m)| (k, v.lang.translate(&m))).collect();
            start_page(&app, &v, &key, None, &errors, Some(&f), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e @ (AppError::Unprocessable(_) | AppError::BadRequest(_))) => {
            start_page(
                &app,
                &v,
                &key,
                Some(&e.to_string()),
                &BTreeMap::new(),
                Some(&f),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(Some(&v), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separated() {
        let got: Vec<String> = [0, 999, 1000, 15000, 1_234_567].into_iter().map(|n| super::thousands(n, ",")).collect();
        assert_eq!(got, ["0", "999", "1,000", "15,000", "1,234,567"]);
    }

    /// axe-core's label-content-name-mismatch: a calendar button's accessible
    /// name begins with the text it shows, in every language.
    #[test]
    fn calendar_buttons_are_named_by_their_text_first() {
        let what = "Erster Tag";
        for lang in Lang::ALL {
            let with = |id: &str| lang.t_with(id, &[("what", what.into())]);
            for (shown, name) in [
                ("tasks-cal-add-again", "tasks-cal-add-again-label"),
                ("tasks-cal-use-date", "tasks-cal-use-date-label"),
                ("tasks-cal-keep", "tasks-cal-keep-label"),
                ("tasks-cal-remove", "tasks-cal-remove-label"),
                ("tasks-cal-add", "tasks-cal-add-label"),
            ] {
                let (shown, name) = (lang.t(shown), with(name));
                assert!(name.starts_with(&shown) && name.contains(what), "{lang:?}: {name:?} for {shown:?}");
            }
            for caption in [lang.t("tasks-cal-add"), lang.t_with("tasks-cal-add-at", &[("provider", "Google".into())])]
            {
                let name = lang.t_with(
                    "tasks-cal-add-connect-label",
                    &[("caption", caption.as_str().into()), ("what", what.into()), ("provider", "Google".into())],
                );
                assert!(name.starts_with(&caption) && name.contains(what), "{lang:?}: {name:?} for {caption:?}");
            }
        }
    }

    #[test]
    fn only_plain_sources_go_into_the_then_cookie() {
        assert!(valid_source("deadline") && valid_source("item:first_day"));
        for bad in ["item:", "item:a; Path=/", "item:a\r\nSet-Cookie: x=1", "task:1:deadline", "item:ä"] {
            assert!(!valid_source(bad), "{bad:?}");
        }
    }
}
