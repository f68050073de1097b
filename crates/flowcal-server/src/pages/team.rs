//! The team's week: for a role, its open tasks due within a week and those
//! overdue, earliest first, with who holds each. Members of a role see only
//! their roles; administrators any role. Bounded: one page, and it says so
//! when cut.

use super::frame::{column_heads, error_page, layout, show_deadline, urgency, urgency_badge, Urgency, Viewer};
use crate::app::App;
use crate::error::AppError;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use std::sync::Arc;

/// Tasks the page lists at most.
const ROWS: usize = 100;

/// Roles offered to an administrator at most.
const ROLES: usize = 200;

/// How far ahead the week looks, in days.
const WEEK_DAYS: i64 = 7;

#[derive(serde::Deserialize, Default)]
pub(crate) struct TeamQuery {
    role: Option<String>,
    /// A model's key.
    process: Option<String>,
}

/// `GET /team?role=R&process=KEY`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<TeamQuery>) -> Response {
    if v.p.roles.is_empty() && !v.p.is_admin() {
        return error_page(Some(&v), &AppError::Forbidden(v.lang.t("team-for-members")));
    }
    let mut roles = v.p.roles.clone();
    if v.p.is_admin() {
        match app.store.role_names(ROLES).await {
            Ok(all) => roles.extend(all),
            Err(e) => return error_page(Some(&v), &e.into()),
        }
        roles.sort();
        roles.dedup();
    }
    let asked = q.role.clone().filter(|r| !r.is_empty());
    let role = match asked {
        // A member sees only their own roles' tasks; an administrator any role's.
        Some(r) if v.p.is_admin() || v.p.roles.contains(&r) => Some(r),
        Some(_) => {
            return error_page(Some(&v), &AppError::Forbidden(v.lang.t("team-not-a-member")));
        }
        None => roles.first().cloned(),
    };
    if let Some(r) = &role {
        if !roles.contains(r) {
            roles.push(r.clone());
        }
    }
    let process = q.process.clone().filter(|p| !p.is_empty());
    let models = app.store.list_models().await.unwrap_or_default();
    let now = app.now();
    let before = now.as_millisecond().saturating_add(WEEK_DAYS * 86_400_000);
    let page = match &role {
        Some(r) => match app.store.role_tasks(r, process.as_deref(), before, ROWS).await {
            Ok(p) => Some(p),
            Err(e) => return error_page(Some(&v), &e.into()),
        },
        None => None,
    };
    let names: std::collections::HashMap<_, _> = models.iter().map(|m| (m.id, m.name.as_str())).collect();
    let lang = v.lang;
    let title = lang.t("team-title");
    let body = html! {
        h1 { (title) }
        p.sub { (lang.t_with("team-intro", &[("days", WEEK_DAYS.into())])) }
        form.filters method="get" action="/team" {
            div {
                label for="role" { (lang.t("team-role")) }
                select id="role" name="role" {
                    @for r in &roles { option value=(r) selected[role.as_deref() == Some(r.as_str())] { (r) } }
                }
            }
            div {
                label for="process" { (lang.t("team-process")) }
                select id="process" name="process" {
                    option value="" selected[process.is_none()] { (lang.t("team-all-processes")) }
                    @for m in &models {
                        option value=(m.key) selected[process.as_deref() == Some(m.key.as_str())] { (m.name) }
                    }
                }
            }
            button type="submit" { (lang.t("team-show")) }
        }
        @match (&role, &page) {
            (Some(r), Some(page)) => {
                h2 id="team-h" { (lang.t_with("team-role-heading", &[("role", r.as_str().into())])) }
                @if page.items.is_empty() {
                    p.empty { (lang.t("team-empty")) }
                } @else {
                    table.tasks aria-labelledby="team-h" {
                        (column_heads(lang, &["team-task", "team-process", "team-deadline", "team-held-by"]))
                        tbody {
                            @for t in &page.items {
                                @let u = t.deadline.as_ref().map(|d| urgency(d, now, &v.zone));
                                tr class=[(u == Some(Urgency::Overdue)).then_some("overdue")] {
                                    td {
                                        @if v.p.can_see(t) { a href={ "/tasks/" (t.id.0) } { (t.name) } } @else { (t.name) }
                                        " " span.ctx { (t.instance_title) }
                                    }
                                    td { (names.get(&t.model_id).copied().unwrap_or("")) }
                                    td {
                                        @if let Some(d) = &t.deadline {
                                            time { (show_deadline(d, &v.zone, v.lang)) } " " (urgency_badge(u.unwrap_or(Urgency::Later), v.lang))
                                        }
                                    }
                                    td {
                                        @match &t.assignee {
                                            Some(a) if a == v.p.login() => { (lang.t("team-you")) }
                                            Some(a) => { (a) }
                                            None => { span.muted { (lang.t("team-unclaimed")) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if page.more {
                        p.hint role="status" { (lang.t_with("team-cut", &[("count", ROWS.to_string().into())])) }
                    }
                }
            }
            _ => { p.empty { (lang.t("team-no-roles")) } }
        }
    };
    layout(Some(&v), &title, None, body)
}
