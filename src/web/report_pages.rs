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
use serde_json::{Value, json};

use super::AppState;
use super::auth::Csrf;
use super::error::AppError;
use super::links::{FormFileError, read_form_file};
use super::pages::{self, PageError, render, rule_sv};
use crate::domain::access::{Principal, Role};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::codes::OccurrenceState;
use crate::domain::dates::parse_iso_date;
use crate::domain::deadlines::Deadline;
use crate::domain::party::Violation;
use crate::domain::reports;
use crate::links::files;
use crate::registry::links::Upload;
use crate::registry::{AgreementAction, RegistryError};
use crate::registry::{ReportFileMeta, StoreError, Stored};

/// The path of one occurrence under `/agreements/{reference}/reports/`.
fn occurrence_path(reference: &str, label: &str, period_end: NaiveDate) -> String {
    format!(
        "/agreements/{reference}/reports/{}/{period_end}",
        form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>()
    )
}

/// Whether `user` is an enterprise user of the organisation that hands in report `label` of `a`.
pub fn reports_for(user: &Principal, a: &Agreement, label: &str) -> bool {
    if user.role != Role::Enterprise {
        return false;
    }
    let Some(org) = &user.org else {
        return false;
    };
    reports::labels(a)
        .iter()
        .position(|l| l == label)
        .and_then(|i| a.reporting.get(i))
        .is_some_and(|ob| &ob.responsible == org)
}

/// One row per report occurrence of the agreement's deadlines, oldest first: state, dates, the
/// latest handed-in file, and which forms the user gets (an enterprise user: every open
/// occurrence that is due or overdue, and the next upcoming one).
pub fn rows(
    user: &Principal,
    a: &Agreement,
    deadlines: &[Deadline],
    files: &[ReportFileMeta],
) -> Vec<Value> {
    let labels = reports::labels(a);
    let may_edit = user.may_edit(a);
    let mut out = Vec::new();
    // Of each report's occurrences still to come, only the next one takes a report early.
    let mut upcoming_offered = std::collections::HashSet::new();
    for d in deadlines {
        let Some(r) = &d.report else { continue };
        let label = d
            .occurrence
            .split_once(':')
            .map_or(r.kind.as_str(), |(l, _)| l);
        let record = labels
            .iter()
            .position(|l| l == label)
            .and_then(|i| a.reporting.get(i))
            .and_then(|ob| ob.occurrences.iter().find(|x| x.period_end == r.period_end));
        // Files come newest first: the first match is the latest.
        let file = files
            .iter()
            .find(|f| f.report == label && f.period_end == r.period_end);
        let path = occurrence_path(a.reference.as_str(), label, r.period_end);
        let mut open = !reports::is_closed(r.state);
        if r.state == OccurrenceState::Upcoming {
            open &= upcoming_offered.insert(label.to_owned());
        }
        out.push(json!({
            "label": label,
            "kind": r.kind,
            "period_end": r.period_end,
            "due": r.due,
            "final_report": r.final_report,
            "state": r.state,
            "submitted_on": record.and_then(|x| x.submitted_on),
            "decided_on": record.and_then(|x| x.decided_on),
            "acknowledged_on": record.and_then(|x| x.acknowledged_on),
            "rejection_reason": record.and_then(|x| x.rejection_reason.clone()),
            "file": file.map(|f| json!({
                "name": f.file_name, "sha256": f.sha256, "size": f.size_bytes,
                "href": format!("{path}/file"),
            })),
            "path": path,
            "can_decide": may_edit && r.state == OccurrenceState::Submitted,
            "can_hand_in": open && reports_for(user, a, label),
        }));
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadlines::{ReminderLadders, deadlines};
    use crate::domain::org_number::OrgNumber;

    fn sample(reference: &str) -> Agreement {
        crate::samples::EXAMPLES
            .iter()
            .filter_map(|(name, text)| crate::format::parse_file(name, text).ok())
            .flat_map(|f| f.agreements)
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    fn user(role: Role, org: Option<&str>) -> Principal {
        Principal {
            user_id: 7,
            email: "x@example.se".into(),
            role,
            org: org.map(|o| OrgNumber::parse(o).unwrap_or_else(|e| panic!("{e}"))),
        }
    }

    fn count(rows: &[Value], key: &str) -> usize {
        rows.iter().filter(|r| r[key] == true).count()
    }

    #[test]
    fn the_reporting_enterprise_gets_forms_for_overdue_occurrences_and_the_next_one_only() {
        let a = sample("AGR-2025-0005");
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let ds = deadlines(&a, today, &ReminderLadders::default());
        let reporter = rows(&user(Role::Enterprise, Some("559990-0023")), &a, &ds, &[]);
        let overdue = reporter
            .iter()
            .filter(|r| r["state"] == "late" || r["state"] == "escalated")
            .count();
        assert!(overdue > 0);
        assert_eq!(count(&reporter, "can_hand_in"), overdue + 1);
        assert_eq!(count(&reporter, "can_decide"), 0);
        // The buyer's officer and another enterprise get no upload forms.
        let officer = rows(&user(Role::Officer, Some("212900-0044")), &a, &ds, &[]);
        assert_eq!(count(&officer, "can_hand_in"), 0);
        let other = rows(&user(Role::Enterprise, Some("769990-0051")), &a, &ds, &[]);
        assert_eq!(count(&other, "can_hand_in"), 0);
    }
}
