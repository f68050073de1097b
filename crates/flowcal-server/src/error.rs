//! One error type for the application services and its JSON rendering:
//! `{"error": {"code", "message", …}}` with the fitting status. A 500 says
//! nothing about its cause; the log gets the whole chain.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flowcal_engine::EngineError;
use flowcal_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A rejected process model, with the position of the problem; when the
    /// model uses elements flowcal does not run, every one of them.
    #[error("line {line}, column {column}: {message}")]
    InvalidModel { line: u32, column: u32, message: String, unsupported: Vec<flowcal_bpmn::Unsupported> },
    /// Data that does not fit its items: the first problems by field, and
    /// how many more were found but not listed.
    #[error("{message}")]
    InvalidData { message: String, fields: Vec<(String, String)>, unlisted: usize },
    #[error("{0}")]
    Unprocessable(String),
    /// A service flowcal depends on cannot be reached now; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The request took longer than the server's limit to arrive and be answered.
    #[error("{0}")]
    RequestTimeout(String),
    /// Too many attempts (sign-ins): try again after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::InvalidModel { .. } | AppError::InvalidData { .. } | AppError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge { .. } => "too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::InvalidModel { .. } => "invalid_model",
            AppError::InvalidData { .. } => "invalid_data",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::Unavailable(_) => "unavailable",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::RequestTimeout(_) => "request_timeout",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message in `lang`, for a page (the API's stays English).
    pub fn in_lang(&self, lang: crate::i18n::Lang) -> String {
        lang.translate(&self.to_string())
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut e = json!({"code": self.code(), "message": self.to_string()});
        match self {
            AppError::InvalidModel { line, column, message, unsupported } => {
                e["line"] = json!(line);
                e["column"] = json!(column);
                e["message"] = json!(format!("line {line}, column {column}: {message}"));
                e["unsupported"] = unsupported
                    .iter()
                    .map(|u| json!({"element": u.element, "line": u.line, "column": u.column}))
                    .collect();
            }
            AppError::InvalidData { fields, unlisted, .. } => {
                e["fields"] = fields.iter().map(|(k, m)| json!({"key": k, "message": m})).collect();
                if *unlisted > 0 {
                    e["unlisted"] = json!(unlisted);
                }
            }
            AppError::Internal(_) => e["message"] = json!("internal error; the server log has the details"),
            _ => {}
        }
        json!({ "error": e })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let mut resp = (self.status(), Json(self.body())).into_response();
        if let AppError::TooManyRequests { retry_after, .. } = &self {
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::InvalidData(errors) => AppError::InvalidData {
                message: format!("invalid data: {errors}"),
                unlisted: errors.unlisted,
                fields: errors.listed.into_iter().map(|e| (e.key, e.message)).collect(),
            },
            EngineError::NotRunning(_)
            | EngineError::TaskNotOpen(_)
            | EngineError::NoIncident
            | EngineError::TimerNotWaiting(_) => AppError::Conflict(e.to_string()),
            EngineError::Zone(_) | EngineError::NoStart => AppError::Unprocessable(e.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Engine(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<crate::models::ModelError> for AppError {
    fn from(e: crate::models::ModelError) -> Self {
        use crate::models::ModelError;
        match e {
            ModelError::NotFound(what) => AppError::NotFound(what),
            e @ ModelError::Busy(_) => AppError::Unprocessable(e.to_string()),
            e @ ModelError::Unreadable(..) => AppError::Internal(anyhow::Error::new(e)),
            ModelError::Store(e) => e.into(),
        }
    }
}

impl From<crate::entries::EntryError> for AppError {
    fn from(e: crate::entries::EntryError) -> Self {
        use crate::entries::EntryError;
        match e {
            EntryError::Missing(m) => AppError::NotFound(m),
            EntryError::Unfit(m) => AppError::Unprocessable(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_model_lists_its_unsupported_elements() {
        let unsupported = vec![
            flowcal_bpmn::Unsupported { element: "bpmn:serviceTask".into(), line: 12, column: 5 },
            flowcal_bpmn::Unsupported { element: "bpmn:messageEventDefinition".into(), line: 20, column: 7 },
        ];
        let e =
            AppError::InvalidModel { line: 12, column: 5, message: "2 elements are not supported".into(), unsupported };
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.body(),
            json!({"error": {
                "code": "invalid_model",
                "message": "line 12, column 5: 2 elements are not supported",
                "line": 12,
                "column": 5,
                "unsupported": [
                    {"element": "bpmn:serviceTask", "line": 12, "column": 5},
                    {"element": "bpmn:messageEventDefinition", "line": 20, "column": 7}
                ]
            }})
        );
        // Any other refusal has the list too, empty.
        let e = AppError::InvalidModel { line: 1, column: 1, message: "no".into(), unsupported: Vec::new() };
        assert_eq!(e.body()["error"]["unsupported"], json!([]));
    }
}
