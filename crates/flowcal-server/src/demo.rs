//! Demo data: three users and two process models, loaded by `flowcal demo`.
//! Loading twice changes nothing.

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
    Ok(report)
}
