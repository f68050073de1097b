//! Demo data: three users, two process models and a few instances (so each
//! demo user has tasks with deadlines on their first page), loaded by
//! `flowcal demo`. Loading twice changes nothing.

use crate::app::App;
use crate::error::AppError;

/// The demo users' password (printed by `flowcal demo`; never use it for real accounts).
pub const DEMO_PASSWORD: &str = "flowcal-demo";

pub const MODELS: &[(&str, &str)] =
    &[("leave", include_str!("../demo/leave.bpmn")), ("contract", include_str!("../demo/contract.bpmn"))];

/// (login, admin, roles)
const USERS: &[(&str, bool, &[&str])] =
    &[("alice", true, &["designers"]), ("bob", false, &["managers"]), ("carol", false, &["managers", "hr"])];

/// What `load` did.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub users_created: Vec<String>,
    pub models_imported: Vec<String>,
    /// Instances started, by title.
    pub instances_started: Vec<String>,
}

/// The demo's instances: (starter, model, title, data as JSON with `{day+N}`
/// for the date N days from today and `{at+N}` for 09:00 UTC that day).
/// alice: a long leave (its approval goes to the managers, bob and carol)
/// and a short one (her hand-over; booking goes to hr, carol); bob: a short
/// leave; carol: a contract bob reviews before the signing meeting.
const INSTANCES: &[(&str, &str, &str, &str)] = &[
    ("alice", "leave", "Summer in Lisbon", r#"{"first_day": "{day+21}", "days": 8}"#),
    ("alice", "leave", "Long weekend", r#"{"first_day": "{day+6}", "days": 2}"#),
    ("bob", "leave", "Family visit", r#"{"first_day": "{day+10}", "days": 3}"#),
    ("carol", "contract", "Supplier contract", r#"{"reviewer": "bob", "meeting": "{at+5}", "risk": "medium"}"#),
];

/// The demo's data with its dates filled in from `today`.
fn demo_data(template: &str, today: jiff::civil::Date) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    let mut text = template.to_owned();
    while let Some(at) = text.find("{day+").or_else(|| text.find("{at+")) {
        let end = text[at..].find('}').map(|e| at + e).ok_or_else(|| AppError::BadRequest("demo data".into()))?;
        let (kind, n) = text[at + 1..end].split_once('+').ok_or_else(|| AppError::BadRequest("demo data".into()))?;
        let n: i64 = n.parse().map_err(|_| AppError::BadRequest("demo data".into()))?;
        let day = today.checked_add(jiff::Span::new().days(n)).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let value = if kind == "day" { day.to_string() } else { format!("{day}T09:00:00+00:00") };
        text.replace_range(at..=end, &value);
    }
    serde_json::from_str(&text).map_err(|e| AppError::BadRequest(format!("demo data: {e}")))
}

pub async fn load(app: &App) -> Result<DemoReport, AppError> {
    let mut report = DemoReport::default();
    for (login, admin, roles) in USERS {
        if app.store.user_by_login(login).await?.is_none() {
            let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
            app.access.add_user(login, *admin, &roles, Some(DEMO_PASSWORD)).await?;
            report.users_created.push((*login).to_owned());
        }
    }
    for (key, xml) in MODELS {
        if app.store.latest_model_id(key).await?.is_none() {
            app.workflow.import_model(None, xml.as_bytes()).await?;
            report.models_imported.push((*key).to_owned());
        }
    }
    // The instances come with the models, once: a second run finds them there.
    if report.models_imported.len() == MODELS.len() {
        let today = app.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        for (login, model, title, data) in INSTANCES {
            let user = app
                .store
                .user_by_login(login)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("demo user {login}")))?;
            let roles = app.store.roles(user.id).await?;
            let p = crate::principal::Principal { user, roles };
            app.workflow.start_instance(&p, model, title, &demo_data(data, today)?).await?;
            report.instances_started.push((*title).to_owned());
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demos_dates_count_from_today() {
        let today = jiff::civil::date(2026, 12, 30);
        for (_, _, _, data) in INSTANCES {
            assert!(demo_data(data, today).is_ok(), "{data}");
        }
        let d = demo_data(r#"{"a": "{day+3}", "b": "{at+1}", "n": 2}"#, today).unwrap();
        assert_eq!(d["a"], "2027-01-02");
        assert_eq!(d["b"], "2026-12-31T09:00:00+00:00");
        assert_eq!(d["n"], 2);
    }
}
