//! The caller's own account and settings.

use super::{ApiJson, Auth, ErrorBody, MeJson, SettingsPatch};
use crate::app::{App, Principal};
use crate::error::AppResult;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// Who the caller is, with their settings.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = MeJson)))]
pub async fn show(Auth(p): Auth) -> Json<MeJson> {
    Json(MeJson::from(&p))
}

/// Change the caller's settings.
#[utoipa::path(patch, path = "/api/v1/me/settings", tag = "me", request_body = SettingsPatch,
    responses((status = 200, body = MeJson), (status = 422, body = ErrorBody)))]
pub async fn settings(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<SettingsPatch>,
) -> AppResult<Json<MeJson>> {
    let mut user =
        app.update_settings(&p, body.time_zone.as_deref(), body.calendar_export, body.reminder_minutes).await?;
    if let Some(auto) = body.auto_sync {
        let p = Principal { user, roles: p.roles.clone() };
        user = app.set_auto_sync(&p, auto.map(|a| (a.account, a.calendar, a.keep_done))).await?;
    }
    Ok(Json(MeJson::from(&Principal { user, roles: p.roles })))
}
