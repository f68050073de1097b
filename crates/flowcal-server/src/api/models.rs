//! Model upload and listing.

use super::extract::Auth;
use super::types::{ErrorBody, ModelCreated, ModelInfo, ModelList};
use crate::app::App;
use crate::error::{AppError, AppResult};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// Upload a BPMN 2.0 model; it becomes the next version of its process id.
#[utoipa::path(post, path = "/api/v1/models", tag = "models",
    request_body(content = String, content_type = "application/xml", description = "BPMN 2.0 XML"),
    responses(
        (status = 201, body = ModelCreated),
        (status = 413, body = ErrorBody, description = "larger than max_model_bytes"),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid model; error has line and column"),
    ))]
pub async fn upload(
    State(app): State<Arc<App>>,
    Auth(p): Auth,
    req: Request,
) -> AppResult<(StatusCode, Json<ModelCreated>)> {
    let mime = crate::http::media_type(req.headers()).unwrap_or_default();
    if !matches!(mime.as_str(), "application/xml" | "text/xml" | "application/bpmn+xml" | "application/octet-stream") {
        return Err(AppError::UnsupportedMediaType("send the BPMN file with Content-Type: application/xml".into()));
    }
    let limit = app.config.max_model_bytes;
    let bytes = axum::body::to_bytes(req.into_body(), limit + 1).await.map_err(|_| AppError::TooLarge {
        message: format!("the model is larger than the limit of {limit} bytes (max_model_bytes)"),
    })?;
    let stored = app.workflow.import_model(Some(&p), &bytes).await?;
    Ok((StatusCode::CREATED, Json(ModelCreated::from(&stored))))
}

/// The newest version of every model.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", responses((status = 200, body = ModelList)))]
pub async fn list(State(app): State<Arc<App>>, _auth: Auth) -> AppResult<Json<ModelList>> {
    let models = app.store.list_models().await.map_err(AppError::from)?;
    Ok(Json(ModelList {
        models: models.into_iter().map(|m| ModelCreated { key: m.key, version: m.version, name: m.name }).collect(),
    }))
}

/// A model's newest version: its data items and steps.
#[utoipa::path(get, path = "/api/v1/models/{key}", tag = "models",
    params(("key" = String, Path, description = "the process id")),
    responses((status = 200, body = ModelInfo), (status = 404, body = ErrorBody)))]
pub async fn show(State(app): State<Arc<App>>, _auth: Auth, Path(key): Path<String>) -> AppResult<Json<ModelInfo>> {
    let (stored, model) = app.workflow.latest_model(&key).await?;
    Ok(Json(ModelInfo::new(&stored, &model)))
}
