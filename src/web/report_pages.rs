//! Report occurrences on the agreement page: each occurrence with its state and handed-in file,
//! and the enterprise user's own actions on it (hand in the report file, acknowledge the
//! reminder). Uploads take the same checks and storage as a signed link (`links::read_form_file`,
//! `links::files::sniff`, `Registry::submit_report_file`); officers accept and reject through
//! `forms::actions::act`, the same use case as the API.

use axum::Extension;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;

use super::error::AppError;
use super::links::{FormFileError, read_form_file};
use super::pages;
use super::report_rows::reports_for;
use super::state::AppState;
use super::ui::Csrf;
use super::ui::{PageError, render, rule_sv};
use crate::domain::access::Principal;
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::dates::parse_iso_date;
use crate::domain::party::Violation;
use crate::links::files;
use crate::registry::links::Upload;
use crate::registry::{AgreementAction, RegistryError};
use crate::registry::{StoreError, Stored};

/// The occurrence of a request, checked: the agreement exists, the user reads it and its
/// organisation hands in this report; anything else is "not found", revealing nothing.
async fn own_occurrence(
    state: &AppState,
    user: &Principal,
    raw: &str,
    label: &str,
    period_end: &str,
) -> Result<(Stored<Agreement>, NaiveDate), PageError> {
    let not_found = || PageError(AppError::NotFound("no such report".into()));
    let key = Reference::parse(raw).map_err(|_| not_found())?;
    let period_end = parse_iso_date(period_end).map_err(|_| not_found())?;
    let stored = match state.registry.agreement(&key).await {
        Ok(s) => s,
        Err(RegistryError::Store(StoreError::NotFound { .. })) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if !user.may_read(&stored.data) || !reports_for(user, &stored.data, label) {
        return Err(not_found());
    }
    Ok((stored, period_end))
}

/// The agreement page again with `errors` (Swedish) and `status`.
async fn reshow(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    stored: &Stored<Agreement>,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut ctx = pages::agreement_context(state, user, csrf, stored).await?;
    ctx.insert("action_errors", &errors);
    Ok(render("agreement.html", &ctx, status))
}

/// A registry refusal as the page's Swedish errors, or the error itself.
fn refusal(e: RegistryError) -> Result<Vec<String>, PageError> {
    match e {
        RegistryError::Invalid(v) => Ok(v.iter().map(rule_sv).collect()),
        RegistryError::Store(StoreError::Stale { .. }) => Ok(vec![rule_sv(&Violation::new(
            "version", "", "stale", "stale",
        ))]),
        other => Err(other.into()),
    }
}

/// `POST /agreements/{reference}/reports/{report}/{period_end}/file` (multipart: `file`, `csrf`):
/// the enterprise user of the reporting organisation hands in the report; the file is stored
/// with its SHA-256 and the occurrence is `submitted`, logged as `user:<id>`.
pub async fn upload(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, label, period_end)): Path<(String, String, String)>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let csrf = csrf.as_ref().map(|e| &e.0);
    let (stored, period_end) = own_occurrence(&state, &user, &raw, &label, &period_end).await?;
    let max = state.registry.settings.upload_max_bytes;
    let no_file = "Ingen fil kom med. Välj rapportfilen och försök igen.".to_owned();
    let Ok(form) = form else {
        return reshow(
            &state,
            &user,
            csrf,
            &stored,
            vec![no_file],
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let (bytes, original_name) = match read_form_file(form, max).await {
        Ok(f) => f,
        Err(FormFileError::Missing) => {
            return reshow(
                &state,
                &user,
                csrf,
                &stored,
                vec![no_file],
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Err(FormFileError::TooLarge) => {
            let limit = if max >= 1024 * 1024 {
                format!("{} MB", max / (1024 * 1024))
            } else {
                format!("{} kB", max / 1024)
            };
            let text = format!("Filen är större än {limit}. Minska filen och försök igen.");
            return reshow(
                &state,
                &user,
                csrf,
                &stored,
                vec![text],
                StatusCode::PAYLOAD_TOO_LARGE,
            )
            .await;
        }
    };
    let Some(file_type) = files::sniff(&bytes) else {
        let v = Violation::new("file", "", "file_type", "not a PDF, ODT or DOCX file");
        return reshow(
            &state,
            &user,
            csrf,
            &stored,
            vec![rule_sv(&v)],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    };
    let upload = Upload {
        bytes,
        file_type,
        original_name,
    };
    let acting = state.registry.with_actor(&user.actor());
    match acting
        .submit_report_file(&stored.data.reference, &label, period_end, &upload)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/agreements/{}?ok=report#h-reports",
            stored.data.reference
        ))
        .into_response()),
        Err(e) => {
            let errors = refusal(e)?;
            reshow(
                &state,
                &user,
                csrf,
                &stored,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `POST /agreements/{reference}/reports/{report}/{period_end}/acknowledge`: the enterprise user
/// of the reporting organisation confirms the reminder (`acknowledged_on`), logged as `user:<id>`.
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, label, period_end)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let csrf = csrf.as_ref().map(|e| &e.0);
    let (stored, period_end) = own_occurrence(&state, &user, &raw, &label, &period_end).await?;
    let acting = state.registry.with_actor(&user.actor());
    let cmd = AgreementAction::AcknowledgeReport {
        report: label,
        period_end,
    };
    match acting.act(&stored.data.reference, None, cmd).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/agreements/{}?ok=acknowledged#h-reports",
            stored.data.reference
        ))
        .into_response()),
        Err(e) => {
            let errors = refusal(e)?;
            reshow(
                &state,
                &user,
                csrf,
                &stored,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
