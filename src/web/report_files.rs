//! Report files for officers: list what was handed in for an agreement, download one occurrence's
//! file, or hand one in for the enterprise.

use axum::Json;
use axum::extract::Path;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::Acting;
use super::error::AppError;
use super::figures_form;
use super::links::{FormFileError, media_type_of, read_report_form};
use crate::domain::agreement::Reference;
use crate::domain::dates::parse_iso_date;
use crate::domain::party::Violation;
use crate::links::files;
use crate::registry::ReportFileMeta;
use crate::registry::links::Upload;

fn reference(raw: &str) -> Result<Reference, AppError> {
    Reference::parse(raw).map_err(|e| AppError::BadRequest {
        field: Some("reference".into()),
        message: e.to_string(),
    })
}

/// One handed-in file with where to download it.
#[derive(Debug, Serialize)]
pub struct ReportFileItem {
    #[serde(flatten)]
    meta: ReportFileMeta,
    download: String,
}

fn item(meta: ReportFileMeta) -> ReportFileItem {
    ReportFileItem {
        download: format!(
            "/api/v1/agreements/{}/reports/{}/{}/file",
            meta.agreement_reference,
            form_urlencoded::byte_serialize(meta.report.as_bytes()).collect::<String>(),
            meta.period_end
        ),
        meta,
    }
}

fn date(raw: &str) -> Result<chrono::NaiveDate, AppError> {
    parse_iso_date(raw).map_err(|e| AppError::BadRequest {
        field: Some("period_end".into()),
        message: e.to_string(),
    })
}

/// The files of one agreement.
#[derive(Debug, Serialize)]
pub struct ReportFileList {
    items: Vec<ReportFileItem>,
}

/// `GET /api/v1/agreements/{reference}/report-files`: every file handed in, newest first.
pub async fn list_report_files(
    Acting(state): Acting,
    Path(raw): Path<String>,
) -> Result<Json<ReportFileList>, AppError> {
    let key = reference(&raw)?;
    let items = state
        .registry
        .report_files(&key)
        .await?
        .into_iter()
        .map(item)
        .collect();
    Ok(Json(ReportFileList { items }))
}

/// `POST /api/v1/agreements/{reference}/reports/{report}/{period_end}/file` (multipart field
/// `file`, and `figures_csv`, the figures as the documented CSV, when the report carries
/// indicators): an officer hands in a report received another way; as through a link, the file
/// is stored with its SHA-256 and the occurrence is `submitted`.
pub async fn upload_report_file(
    Acting(state): Acting,
    Path((raw, report, period_end)): Path<(String, String, String)>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<ReportFileItem>), AppError> {
    let key = reference(&raw)?;
    let period_end = date(&period_end)?;
    let no_file = || AppError::BadRequest {
        field: Some("file".into()),
        message: "send the report as multipart/form-data with a non-empty field named file".into(),
    };
    let form = form.map_err(|_| no_file())?;
    let (file, fields) =
        match read_report_form(form, state.registry.settings.upload_max_bytes).await {
            Ok(f) => f,
            Err(FormFileError::TooLarge) => return Err(AppError::TooLarge),
            Err(FormFileError::Missing) => return Err(no_file()),
        };
    let (bytes, original_name) = file.ok_or_else(no_file)?;
    let file_type = files::sniff(&bytes).ok_or_else(|| {
        Violation::new(
            "file",
            original_name.as_deref().unwrap_or_default(),
            "file_type",
            "a report is a PDF, ODT or DOCX file, and this one is none of them by its content",
        )
    })?;
    let upload = Upload {
        bytes,
        file_type,
        original_name,
    };
    let registry = &state.registry;
    let Some(csv) = fields.get("figures_csv").filter(|t| !t.trim().is_empty()) else {
        let (_, meta) = registry
            .submit_report_file(&key, &report, period_end, &upload)
            .await?;
        return Ok((StatusCode::CREATED, Json(item(meta))));
    };
    // With the figures of a report that carries indicators, as the figures API takes them.
    let table = figures_form::csv_table(csv)?;
    let o = registry
        .figures_occurrence(&key, &report, period_end)
        .await?;
    let Some(ob) = o.obligation() else {
        return Err(AppError::NotFound("no such report".into()));
    };
    let mut problems = figures_form::csv_foreign_rows(&table, ob);
    let (figures, bad) = figures_form::parse(&o.stored.data, ob, &table.fields);
    problems.extend(bad.into_iter().map(|v| table.locate(v)));
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    let confirmed = fields
        .get("confirmed")
        .is_some_and(|v| v == "true" || v == "1");
    registry
        .hand_in_figures(&key, &report, period_end, figures, confirmed, Some(&upload))
        .await
        .map_err(|e| match e {
            crate::registry::RegistryError::Invalid(v) => {
                AppError::Invalid(v.into_iter().map(|v| table.locate(v)).collect())
            }
            e => e.into(),
        })?;
    let meta = registry
        .report_files(&key)
        .await?
        .into_iter()
        .find(|f| f.report == report && f.period_end == period_end)
        .ok_or_else(|| AppError::NotFound("no report file".into()))?;
    Ok((StatusCode::CREATED, Json(item(meta))))
}

/// `GET /api/v1/agreements/{reference}/reports/{report}/{period_end}/file`: the latest file handed
/// in for that occurrence.
pub async fn show_report_file(
    Acting(state): Acting,
    Path((raw, report, period_end)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let key = reference(&raw)?;
    let period_end = date(&period_end)?;
    let file = state
        .registry
        .report_file(&key, &report, period_end)
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                media_type_of(&file.media_type).to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.file_name),
            ),
            (header::ETAG, format!("\"{}\"", file.sha256)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        file.content,
    )
        .into_response())
}
