//! `AppError`: the one error type at the HTTP edge, mapping every failure to a status and a JSON
//! body that says which field, which value and which rule. Causes of a 500 are logged once, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::documents::RenderError;
use crate::domain::party::Violation;
use crate::registry::RegistryError;
use crate::registry::StoreError;

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed (syntax, type, unknown field or parameter).
    #[error("{message}")]
    BadRequest {
        /// Field path, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The request body is larger than the limit.
    #[error("request body too large")]
    TooLarge,
    /// Rules are broken.
    #[error("validation failed")]
    Invalid(Vec<Violation>),
    /// No credentials, or they are no longer valid.
    #[error("sign in or send an API token")]
    Unauthorized,
    /// The user's role or organisation does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// No such record.
    #[error("{0}")]
    NotFound(String),
    /// Stale version or taken key.
    #[error("{0}")]
    Conflict(String),
    /// A dependency the request needs is not available (e.g. the typst CLI); the rest works.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else; details only in the log.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [Violation]>,
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Parses a path or query parameter, or answers 400 naming `field` and why `raw` is refused.
pub fn parse_param<T, E: ToString>(
    field: &str,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, AppError> {
    parse(raw).map_err(|e| AppError::BadRequest {
        field: Some(field.to_owned()),
        message: e.to_string(),
    })
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let plain = |error, message: String| ErrorBody {
            error,
            field: None,
            value: None,
            rule: None,
            message,
            errors: None,
        };
        let (status, body) = match &self {
            AppError::BadRequest { field, message } => (
                StatusCode::BAD_REQUEST,
                ErrorBody {
                    field: field.as_deref(),
                    ..plain("bad_request", message.clone())
                },
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                plain(
                    "too_large",
                    "the request body is larger than the limit".into(),
                ),
            ),
            AppError::Invalid(list) => {
                let first = list.first();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorBody {
                        error: "validation_failed",
                        field: first.map(|v| v.field.as_str()),
                        value: first.map(|v| v.value.as_str()),
                        rule: first.map(|v| v.rule),
                        message: first.map(|v| v.message.clone()).unwrap_or_default(),
                        errors: Some(list),
                    },
                )
            }
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                plain(
                    "unauthorized",
                    "sign in, or send an API token as Authorization: Bearer".into(),
                ),
            ),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, plain("forbidden", m.clone())),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, plain("not_found", m.clone())),
            AppError::Conflict(m) => (StatusCode::CONFLICT, plain("conflict", m.clone())),
            AppError::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                plain("unavailable", m.clone()),
            ),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    plain(
                        "internal",
                        "internal error; the cause is in the server log".into(),
                    ),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::NotFound(e.to_string()),
            StoreError::Stale { .. } | StoreError::Duplicate { .. } | StoreError::InUse(_) => {
                AppError::Conflict(e.to_string())
            }
            StoreError::Corrupt { .. } | StoreError::Db(_) | StoreError::Unexpected(_) => {
                AppError::Internal(e.into())
            }
        }
    }
}

impl From<RegistryError> for AppError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(v) => AppError::Invalid(v),
            RegistryError::Store(s) => s.into(),
            RegistryError::Forbidden(m) => AppError::Forbidden(m),
        }
    }
}

impl From<Violation> for AppError {
    fn from(v: Violation) -> Self {
        AppError::Invalid(vec![v])
    }
}

impl From<RenderError> for AppError {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::UnknownTemplate(name) => AppError::BadRequest {
                field: Some("template".into()),
                message: format!("no template {name}; GET /api/v1/templates lists them"),
            },
            RenderError::NotApplicable { .. } => AppError::Invalid(vec![Violation::new(
                "template",
                "",
                "template_not_applicable",
                e.to_string(),
            )]),
            RenderError::MissingFields(missing) => {
                AppError::Invalid(missing.iter().map(|m| m.to_violation()).collect())
            }
            RenderError::UnsupportedText(_) => AppError::Invalid(vec![Violation::new(
                "agreement",
                "",
                "unsupported_characters",
                format!("Texten innehåller tecken som dokumentets typsnitt inte kan visa. {e}"),
            )]),
            RenderError::TypstMissing { .. } | RenderError::Timeout(_) => {
                tracing::error!(error = %e, "document rendering unavailable");
                AppError::Unavailable(e.to_string())
            }
            RenderError::Forbidden(m) => AppError::Forbidden(m),
            RenderError::Store(s) => s.into(),
            other => AppError::Internal(other.into()),
        }
    }
}
