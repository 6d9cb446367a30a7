//! Queries on report files handed in through links and on contacts' calendar feed tokens.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::entities::{calendar_feed, report_file};
use super::store::StoreError;

/// A stored report file without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct ReportFileMeta {
    /// Database id.
    pub id: i64,
    /// The agreement.
    #[serde(rename = "agreement")]
    pub agreement_reference: String,
    /// The report's label.
    pub report: String,
    /// End of the reported period.
    pub period_end: NaiveDate,
    /// Download name (agreement, report, period and the type's extension).
    pub file_name: String,
    /// The name the uploader's browser gave, kept as information only.
    pub original_name: Option<String>,
    /// Media type, from the file's bytes.
    pub media_type: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Who handed it in (`link:<reference>/<report>@<period_end>`, `api`, ...).
    pub uploaded_by: String,
    /// When (UTC).
    pub uploaded_at: chrono::DateTime<Utc>,
}

/// A report file to store.
#[derive(Debug, Clone)]
pub struct NewReportFile<'a> {
    /// Database id of the agreement.
    pub agreement_id: i64,
    /// Its reference.
    pub agreement_reference: &'a str,
    /// The report's label.
    pub report: &'a str,
    /// End of the reported period.
    pub period_end: NaiveDate,
    /// Download name.
    pub file_name: &'a str,
    /// The uploader's name for it.
    pub original_name: Option<&'a str>,
    /// Media type.
    pub media_type: &'a str,
    /// SHA-256 of `content`, lower-case hex.
    pub sha256: &'a str,
    /// The bytes.
    pub content: &'a [u8],
    /// Who.
    pub uploaded_by: &'a str,
}

const META_COLUMNS: [report_file::Column; 11] = [
    report_file::Column::Id,
    report_file::Column::AgreementReference,
    report_file::Column::Report,
    report_file::Column::PeriodEnd,
    report_file::Column::FileName,
    report_file::Column::OriginalName,
    report_file::Column::MediaType,
    report_file::Column::Sha256,
    report_file::Column::SizeBytes,
    report_file::Column::UploadedBy,
    report_file::Column::UploadedAt,
];

/// Stores a report file and returns its metadata.
pub async fn insert_report_file(
    db: &impl ConnectionTrait,
    f: &NewReportFile<'_>,
) -> Result<ReportFileMeta, StoreError> {
    let m = report_file::ActiveModel {
        agreement_id: Set(f.agreement_id),
        agreement_reference: Set(f.agreement_reference.to_owned()),
        report: Set(f.report.to_owned()),
        period_end: Set(f.period_end),
        file_name: Set(f.file_name.to_owned()),
        original_name: Set(f.original_name.map(str::to_owned)),
        media_type: Set(f.media_type.to_owned()),
        sha256: Set(f.sha256.to_owned()),
        size_bytes: Set(i64::try_from(f.content.len()).unwrap_or(i64::MAX)),
        content: Set(f.content.to_vec()),
        uploaded_by: Set(f.uploaded_by.to_owned()),
        uploaded_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(ReportFileMeta {
        id: m.id,
        agreement_reference: m.agreement_reference,
        report: m.report,
        period_end: m.period_end,
        file_name: m.file_name,
        original_name: m.original_name,
        media_type: m.media_type,
        sha256: m.sha256,
        size_bytes: m.size_bytes,
        uploaded_by: m.uploaded_by,
        uploaded_at: m.uploaded_at,
    })
}

/// The report files of one agreement, newest first, without their bytes.
pub async fn list_report_files(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<ReportFileMeta>, StoreError> {
    Ok(report_file::Entity::find()
        .select_only()
        .columns(META_COLUMNS)
        .filter(report_file::Column::AgreementId.eq(agreement_id))
        .order_by_desc(report_file::Column::Id)
        .into_model::<ReportFileMeta>()
        .all(db)
        .await?)
}

/// The latest file handed in for one occurrence, with its bytes.
pub async fn latest_report_file(
    db: &impl ConnectionTrait,
    agreement_id: i64,
    report: &str,
    period_end: NaiveDate,
) -> Result<report_file::Model, StoreError> {
    report_file::Entity::find()
        .filter(report_file::Column::AgreementId.eq(agreement_id))
        .filter(report_file::Column::PeriodEnd.eq(period_end))
        .filter(report_file::Column::Report.eq(report))
        .order_by_desc(report_file::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "report file",
            key: format!("{report}@{period_end}"),
        })
}

/// Revokes the contact's active feeds at `now`; returns how many there were.
pub async fn revoke_feeds(
    db: &impl ConnectionTrait,
    email: &str,
    now: chrono::DateTime<Utc>,
) -> Result<u64, StoreError> {
    let res = calendar_feed::Entity::update_many()
        .col_expr(calendar_feed::Column::RevokedAt, Expr::value(now))
        .filter(calendar_feed::Column::ContactEmail.eq(email))
        .filter(calendar_feed::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Stores a new active feed for a contact.
pub async fn insert_feed(
    db: &impl ConnectionTrait,
    email: &str,
    token_sha256: &str,
    created_by: &str,
    now: chrono::DateTime<Utc>,
) -> Result<calendar_feed::Model, StoreError> {
    Ok(calendar_feed::ActiveModel {
        contact_email: Set(email.to_owned()),
        token_sha256: Set(token_sha256.to_owned()),
        created_by: Set(created_by.to_owned()),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The contact whose active feed has this token hash, if any.
pub async fn feed_contact(
    db: &impl ConnectionTrait,
    token_sha256: &str,
) -> Result<Option<String>, StoreError> {
    Ok(calendar_feed::Entity::find()
        .filter(calendar_feed::Column::TokenSha256.eq(token_sha256))
        .filter(calendar_feed::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .map(|m| m.contact_email))
}
