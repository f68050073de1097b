//! The caller's own account and settings.

use super::extract::{ApiJson, Auth};
use super::types::{ErrorBody, MeJson, SettingsPatch};
use crate::app::App;
use crate::error::AppResult;
use crate::feed::FeedStatus;
use crate::principal::Principal;
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
    if let Some(language) = &body.language {
        // Checked before anything changes.
        app.access.set_language(&p, language.as_deref()).await?;
    }
    let mut user =
        app.access.update_settings(&p, body.time_zone.as_deref(), body.calendar_export, body.reminder_minutes).await?;
    if let Some(auto) = body.auto_sync {
        let p = Principal { user, roles: p.roles.clone() };
        user = app.exports.set_auto_sync(&p, auto.map(|a| (a.account, a.calendar, a.keep_done))).await?;
    }
    Ok(Json(MeJson::from(&Principal { user, roles: p.roles })))
}

/// The caller's iCal feed: on or off (the URL is shown only when made).
#[utoipa::path(get, path = "/api/v1/me/feed", tag = "me", responses((status = 200, body = FeedStatus)))]
pub async fn feed(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<FeedStatus>> {
    Ok(Json(app.feeds.feed_status(&p).await?))
}

/// A new feed URL (`url`, and `webcal_url` for calendar apps); the previous URL stops working at once.
#[utoipa::path(post, path = "/api/v1/me/feed", tag = "me",
    responses((status = 201, body = FeedStatus), (status = 403, body = ErrorBody)))]
pub async fn new_feed(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
) -> AppResult<(axum::http::StatusCode, Json<FeedStatus>)> {
    Ok((axum::http::StatusCode::CREATED, Json(app.feeds.new_feed(&p).await?)))
}

/// Turn the feed off: its URL stops working.
#[utoipa::path(delete, path = "/api/v1/me/feed", tag = "me", responses((status = 200, body = FeedStatus)))]
pub async fn disable_feed(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<FeedStatus>> {
    Ok(Json(app.feeds.disable_feed(&p).await?))
}

/// A personal API token as its owner sees it (the token itself is shown only when made).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub created_at: jiff::Timestamp,
    /// When the token was last used (recorded at most once a minute); null: never.
    #[schema(value_type = Option<String>)]
    pub last_used_at: Option<jiff::Timestamp>,
    /// When the token stops working; null: never.
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<jiff::Timestamp>,
}

impl From<&flowcal_store::ApiToken> for TokenJson {
    fn from(t: &flowcal_store::ApiToken) -> Self {
        TokenJson {
            id: t.id,
            name: t.name.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenJson>,
}

/// A new token: a name to recognise it by, and optionally the days it lives (1 to 3650).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub expires_days: Option<u32>,
}

/// A token just made: `token` is shown only now.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub id: i64,
    pub token: String,
}

/// The caller's personal API tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn tokens(State(app): State<Arc<App>>, Auth(p): Auth) -> AppResult<Json<TokenList>> {
    let tokens = app.access.tokens_of(p.login()).await?;
    Ok(Json(TokenList { tokens: tokens.iter().map(TokenJson::from).collect() }))
}

/// Make a personal API token for the caller (shown once in the answer).
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me", request_body = NewToken,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn new_token(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<NewToken>,
) -> AppResult<(axum::http::StatusCode, Json<TokenCreated>)> {
    let (id, token) = app.access.issue_token(p.login(), &body.name, body.expires_days).await?;
    Ok((axum::http::StatusCode::CREATED, Json(TokenCreated { id, token })))
}

/// Revoke one of the caller's tokens: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "me", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> AppResult<axum::http::StatusCode> {
    app.access.revoke_token(p.login(), id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
