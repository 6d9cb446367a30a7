//! The outbox at the edge: the JSON API's re-queueing of failed e-mail, and the outbox page
//! where officers and admins see the messages that could not be sent and queue them again.

use axum::Extension;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::auth::Acting;
use super::ui::Csrf;
use super::ui::{PageError, PageParams, base, render};
use crate::domain::access::Principal;
use crate::registry::reminders::{OutboxRow, OutboxState};

/// What a re-queueing did.
#[derive(Debug, Serialize)]
pub struct Requeued {
    /// The ids of the messages queued again.
    pub queued: Vec<i64>,
}

/// The `{id}` of a message, named when it is not a number.
fn message_id(raw: &str) -> Result<i64, super::error::AppError> {
    raw.parse().map_err(|_| super::error::AppError::BadRequest {
        field: Some("id".into()),
        message: format!("\"{raw}\" is not a message id (a whole number)"),
    })
}

/// `POST /api/v1/outbox/{id}/retry`: queues one failed message again.
pub async fn retry_message(
    Acting(state): Acting,
    Path(id): Path<String>,
) -> Result<Json<Requeued>, super::error::AppError> {
    let id = message_id(&id)?;
    let queued = state
        .registry
        .retry_outbox(Some(&[id]), chrono::Utc::now())
        .await?;
    Ok(Json(Requeued { queued }))
}

/// `POST /api/v1/outbox/retry`: queues every failed message (that the user sees) again.
pub async fn retry_failed(Acting(state): Acting) -> Result<Json<Requeued>, super::error::AppError> {
    let queued = state
        .registry
        .retry_outbox(None, chrono::Utc::now())
        .await?;
    Ok(Json(Requeued { queued }))
}

/// Query of the outbox page: how many messages were just queued again.
#[derive(Debug, Deserialize)]
pub struct OutboxFlash {
    queued: Option<usize>,
}

/// `GET /outbox`: the e-mail that could not be sent, with a button per message and one for all.
pub async fn outbox_page(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    PageParams(flash): PageParams<OutboxFlash>,
) -> Result<Response, PageError> {
    let failed = state
        .registry
        .outbox(Some(OutboxState::Failed), 500)
        .await?;
    let pending = state
        .registry
        .outbox(Some(OutboxState::Pending), 500)
        .await?;
    let rows = |list: &[OutboxRow]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "reference": m.reference, "kind": m.kind,
                    "subject": m.subject, "attempts": m.attempts, "error": m.last_error,
                    "created_at": m.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    "next_attempt_at": m.next_attempt_at.format("%Y-%m-%d %H:%M").to_string(),
                })
            })
            .collect()
    };
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("failed", &rows(&failed));
    ctx.insert("pending", &rows(&pending));
    ctx.insert("queued", &flash.queued);
    Ok(render("outbox.html", &ctx, StatusCode::OK))
}

/// `POST /outbox/{id}/retry`: queues one failed message again from the page.
pub async fn retry_message_page(
    Acting(state): Acting,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = message_id(&id)?;
    let queued = state
        .registry
        .retry_outbox(Some(&[id]), chrono::Utc::now())
        .await?;
    Ok(Redirect::to(&format!("/outbox?queued={}", queued.len())).into_response())
}

/// `POST /outbox/retry`: queues every failed message the user sees again, from the page.
pub async fn retry_failed_page(Acting(state): Acting) -> Result<Response, PageError> {
    let queued = state
        .registry
        .retry_outbox(None, chrono::Utc::now())
        .await?;
    Ok(Redirect::to(&format!("/outbox?queued={}", queued.len())).into_response())
}
