//! What API handlers take from a request: the authenticated caller and a
//! JSON body whose problems are reported in flowcal's error format.

use crate::app::App;
use crate::error::AppError;
use crate::http::session_cookie;
use crate::principal::Principal;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<Arc<App>> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            // The scheme name is case-insensitive (RFC 9110).
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .ok_or_else(|| AppError::Unauthorized("the Authorization header must be 'Bearer TOKEN'".into()))?;
            return match app.access.principal_by_token(token).await? {
                Some(p) => Ok(Auth(p)),
                None => Err(AppError::Unauthorized("this API token is not valid (revoked or mistyped)".into())),
            };
        }
        if let Some(session) = session_cookie(&parts.headers) {
            if let Some(p) = app.access.principal_by_session(&session).await? {
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                if !safe && !is_json(&parts.headers) {
                    return Err(AppError::Forbidden(
                        "requests signed in by cookie must send Content-Type: application/json".into(),
                    ));
                }
                return Ok(Auth(p));
            }
        }
        Err(AppError::Unauthorized(
            "sign in, or send 'Authorization: Bearer TOKEN' (flowcal token create LOGIN)".into(),
        ))
    }
}

fn is_json(h: &axum::http::HeaderMap) -> bool {
    crate::http::media_type(h).is_some_and(|m| m == "application/json")
}

/// A JSON body whose problems are reported in flowcal's error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into()))
            }
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Unprocessable(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::BadRequest(e.body_text())),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge { message: "the request body is too large".into() })
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}
