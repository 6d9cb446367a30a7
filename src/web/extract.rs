//! Request extractors that turn malformed input into `AppError` with the failing field's path.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::domain::party::Violation;

/// A JSON body; a syntax, type or unknown-field error names the field path.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(AppError::BadRequest {
                field: None,
                message: "send the body as JSON with Content-Type: application/json".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest {
                    field: None,
                    message: rej.body_text(),
                }
            }
        })?;
        // JSON writes a NUL only as an escape; no stored text may hold one.
        if bytes.windows(6).any(|w| w == b"\\u0000")
            && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(path) = nul_path(&value, String::new())
        {
            return Err(nul_error(if path.is_empty() { ".".into() } else { path }));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| body_error(&bytes, e))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, AppError> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none()
            && req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| v == "0");
        if empty {
            Ok(None)
        } else {
            <Self as FromRequest<S>>::from_request(req, state)
                .await
                .map(Some)
        }
    }
}

/// Query parameters; an unknown or malformed parameter is named.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        refuse_nul(query.as_bytes())?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                // A parameter given twice, unknown or missing is named in the message only.
                let field = if path == "." {
                    named_in(&message)
                } else {
                    Some(path)
                };
                AppError::BadRequest { field, message }
            })
    }
}

/// The parameter a serde message names: "duplicate field `x`", "unknown field `x`, expected ...",
/// "missing field `x`".
fn named_in(message: &str) -> Option<String> {
    ["duplicate field `", "unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// A body that is not JSON is a 400; JSON whose data do not fit (a wrong type, an unknown code,
/// a date that does not exist, a missing or unknown field) is a 422 naming the field path, the
/// value and the rule, in the shape of every other refused record.
fn body_error(bytes: &[u8], e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        return AppError::BadRequest {
            field: (path != ".").then_some(path),
            message: inner.to_string(),
        };
    }
    // serde_json appends " at line L column C"; the path says where.
    let text = inner.to_string();
    let text = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i])
        .to_owned();
    let (rule, message) = crate::format::describe_parse_error(&text);
    let mut field = if path == "." { String::new() } else { path };
    let value = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|tree| crate::format::value_at(&tree, &field).cloned())
        .map(|v| match v {
            serde_json::Value::String(s) => crate::domain::limits::excerpt(&s),
            other => crate::domain::limits::excerpt(&other.to_string()),
        })
        .unwrap_or_default();
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        field = if field.is_empty() {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
    }
    if field.is_empty() {
        field = ".".into();
    }
    AppError::Invalid(vec![Violation::new(field, value, rule, message)])
}

/// Refuses a query string or urlencoded form holding a NUL character, naming the parameter.
pub fn refuse_nul(urlencoded: &[u8]) -> Result<(), AppError> {
    match form_urlencoded::parse(urlencoded).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        Some((name, _)) => Err(nul_error(name.replace('\0', "\\0"))),
        None => Ok(()),
    }
}

/// The refusal of a text holding a NUL character, which no backend stores alike.
fn nul_error(field: String) -> AppError {
    AppError::BadRequest {
        field: Some(field),
        message: "text may not contain the NUL character (U+0000)".into(),
    }
}

/// The path (`agreement.notes`, `parties[0].name`) of the first string or key holding a NUL.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here.replace('\0', "\\0"))
            } else {
                nul_path(v, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_given_twice_unknown_or_missing_is_named() {
        assert_eq!(named_in("duplicate field `ok`").as_deref(), Some("ok"));
        assert_eq!(
            named_in("unknown field `x`, expected one of `a`, `b`").as_deref(),
            Some("x")
        );
        assert_eq!(named_in("missing field `from`").as_deref(), Some("from"));
        assert_eq!(named_in("invalid digit found in string"), None);
    }

    #[test]
    fn the_path_of_a_nul_names_the_nested_field() {
        let v =
            serde_json::json!({"agreement": {"parties": [{"name": "ok"}, {"name": "a\u{0}b"}]}});
        assert_eq!(
            nul_path(&v, String::new()).as_deref(),
            Some("agreement.parties[1].name")
        );
        assert_eq!(
            nul_path(&serde_json::json!({"a": "b"}), String::new()),
            None
        );
    }
}
