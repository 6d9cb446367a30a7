//! Report files for officers: list what was handed in for an agreement, download one occurrence's file.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::AppError;
use super::links::media_type_of;
use crate::db::links::ReportFileMeta;
use crate::domain::agreement::Reference;
use crate::domain::dates::parse_iso_date;

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

/// The files of one agreement.
#[derive(Debug, Serialize)]
pub struct ReportFileList {
    items: Vec<ReportFileItem>,
}

/// `GET /api/v1/agreements/{reference}/report-files`: every file handed in, newest first.
pub async fn list_report_files(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ReportFileList>, AppError> {
    let key = reference(&raw)?;
    let items = state
        .registry
        .report_files(&key)
        .await?
        .into_iter()
        .map(|meta| ReportFileItem {
            download: format!(
                "/api/v1/agreements/{}/reports/{}/{}/file",
                meta.agreement_reference,
                form_urlencoded::byte_serialize(meta.report.as_bytes()).collect::<String>(),
                meta.period_end
            ),
            meta,
        })
        .collect();
    Ok(Json(ReportFileList { items }))
}

/// `GET /api/v1/agreements/{reference}/reports/{report}/{period_end}/file`: the latest file handed
/// in for that occurrence.
pub async fn show_report_file(
    State(state): State<AppState>,
    Path((raw, report, period_end)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let key = reference(&raw)?;
    let period_end = parse_iso_date(&period_end).map_err(|e| AppError::BadRequest {
        field: Some("period_end".into()),
        message: e.to_string(),
    })?;
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
