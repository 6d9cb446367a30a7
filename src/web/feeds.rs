//! Calendar feeds: officers make and revoke a contact's feed through the API; calendar programs
//! fetch `/calendar/{token}.ics` with the token as the only credential.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::state::AppState;
use crate::domain::party::EmailAddress;
use crate::registry::links::NewFeed;

fn email(raw: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(raw).map_err(|e| AppError::BadRequest {
        field: Some("email".into()),
        message: e.to_string(),
    })
}

/// `POST /api/v1/contacts/{email}/calendar-feed`: a new feed URL (shown only now), revoking the old one.
pub async fn create_feed(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<NewFeed>), AppError> {
    let feed = state.registry.create_calendar_feed(&email(&raw)?).await?;
    Ok((StatusCode::CREATED, Json(feed)))
}

/// `DELETE /api/v1/contacts/{email}/calendar-feed`: revokes the contact's feed.
pub async fn revoke_feed(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<StatusCode, AppError> {
    state.registry.revoke_calendar_feed(&email(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /calendar/{token}.ics`: the contact's deadlines as iCalendar; 404 for an unknown or revoked token.
pub async fn show_calendar(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("no such calendar".into());
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let ics = state
        .registry
        .feed_calendar(token)
        .await?
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Body::from(Bytes::from_owner(SharedText(ics))),
    )
        .into_response())
}

/// A calendar's text, shared with the page cache, as a response body without a copy (about
/// 2 MB for a contact with 500 agreements).
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}
