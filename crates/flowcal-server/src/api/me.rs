//! The caller's own account and settings.

use super::{ApiJson, Auth, ErrorBody, MeJson, SettingsPatch};
use crate::app::{App, Principal};
use crate::error::AppResult;
use crate::feed::FeedStatus;
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
    responses((status = 200, body = MeJson), (status = 404, body = ErrorBody, description = "no such calendar account"),
              (status = 422, body = ErrorBody)))]
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

/// The caller's iCal feed: on or off (the URL is shown only when made).
#[utoipa::path(get, path = "/api/v1/me/feed", tag = "me", responses((status = 200, body = FeedStatus)))]
pub async fn feed(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<FeedStatus>> {
    Ok(Json(app.feed_status(&p).await?))
}

/// A new feed URL (`url`, and `webcal_url` for calendar apps); the previous URL stops working at once.
#[utoipa::path(post, path = "/api/v1/me/feed", tag = "me",
    responses((status = 201, body = FeedStatus), (status = 403, body = ErrorBody)))]
pub async fn new_feed(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
) -> AppResult<(axum::http::StatusCode, Json<FeedStatus>)> {
    Ok((axum::http::StatusCode::CREATED, Json(app.new_feed(&p).await?)))
}

/// Turn the feed off: its URL stops working.
#[utoipa::path(delete, path = "/api/v1/me/feed", tag = "me", responses((status = 200, body = FeedStatus)))]
pub async fn disable_feed(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<FeedStatus>> {
    Ok(Json(app.disable_feed(&p).await?))
}
