//! Queries on generated documents: insert one, list an agreement's documents, fetch one with its bytes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::entities::document;
use super::store::StoreError;

/// The metadata of a stored document (everything but its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
pub struct DocumentMeta {
    /// Database id; the download URL is `/api/v1/documents/{id}`.
    pub id: i64,
    /// Reference of the agreement it was made from.
    #[serde(rename = "agreement")]
    pub agreement_reference: String,
    /// Version of the agreement it was made from.
    pub agreement_version: i32,
    /// Template name.
    pub template: String,
    /// Template version.
    pub template_version: String,
    /// The event the document is about, e.g. `option:1`, `amendment:0`, `report:annual_report:2026-12-31`.
    pub event: Option<String>,
    /// File name for downloads.
    pub file_name: String,
    /// SHA-256 of the PDF, lower-case hex.
    pub sha256: String,
    /// Size of the PDF in bytes.
    pub size_bytes: i64,
    /// Who made it, e.g. `api` or `cli`.
    pub created_by: String,
    /// When it was made (UTC).
    pub created_at: chrono::DateTime<Utc>,
}

/// A new document to store.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    /// Database id of the agreement.
    pub agreement_id: i64,
    /// Its reference.
    pub agreement_reference: &'a str,
    /// Its version.
    pub agreement_version: i32,
    /// Template name.
    pub template: &'a str,
    /// Template version.
    pub template_version: &'a str,
    /// The event, if the template is about one.
    pub event: Option<&'a str>,
    /// File name for downloads.
    pub file_name: &'a str,
    /// SHA-256 of `content`, lower-case hex.
    pub sha256: &'a str,
    /// The PDF.
    pub content: &'a [u8],
    /// Who made it.
    pub created_by: &'a str,
}

fn meta_of(m: document::Model) -> DocumentMeta {
    DocumentMeta {
        id: m.id,
        agreement_reference: m.agreement_reference,
        agreement_version: m.agreement_version,
        template: m.template,
        template_version: m.template_version,
        event: m.event,
        file_name: m.file_name,
        sha256: m.sha256,
        size_bytes: m.size_bytes,
        created_by: m.created_by,
        created_at: m.created_at,
    }
}

/// Stores a document and returns its metadata.
pub async fn insert_document(
    db: &impl ConnectionTrait,
    d: &NewDocument<'_>,
) -> Result<DocumentMeta, StoreError> {
    let model = document::ActiveModel {
        agreement_id: Set(d.agreement_id),
        agreement_reference: Set(d.agreement_reference.to_owned()),
        agreement_version: Set(d.agreement_version),
        template: Set(d.template.to_owned()),
        template_version: Set(d.template_version.to_owned()),
        event: Set(d.event.map(str::to_owned)),
        file_name: Set(d.file_name.to_owned()),
        sha256: Set(d.sha256.to_owned()),
        size_bytes: Set(i64::try_from(d.content.len()).unwrap_or(i64::MAX)),
        content: Set(d.content.to_vec()),
        created_by: Set(d.created_by.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    Ok(meta_of(model.insert(db).await?))
}

/// Lists the documents of one agreement, newest first, without their bytes.
pub async fn list_documents(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<DocumentMeta>, StoreError> {
    use document::Column as C;
    Ok(document::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::AgreementReference,
            C::AgreementVersion,
            C::Template,
            C::TemplateVersion,
            C::Event,
            C::FileName,
            C::Sha256,
            C::SizeBytes,
            C::CreatedBy,
            C::CreatedAt,
        ])
        .filter(C::AgreementId.eq(agreement_id))
        .order_by_desc(C::Id)
        .into_model::<DocumentMeta>()
        .all(db)
        .await?)
}

/// Reads one document with its bytes.
pub async fn get_document(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<(DocumentMeta, Vec<u8>), StoreError> {
    let mut m = document::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "document",
            key: id.to_string(),
        })?;
    let content = std::mem::take(&mut m.content);
    Ok((meta_of(m), content))
}

/// The reference of the agreement document `id` belongs to, without loading the PDF.
pub async fn document_reference(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<String>, StoreError> {
    Ok(document::Entity::find_by_id(id)
        .select_only()
        .column(document::Column::AgreementReference)
        .into_tuple::<String>()
        .one(db)
        .await?)
}

/// The two kinds of stored file whose bytes carry their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Generated documents (`document`).
    Document,
    /// Handed-in report files (`report_file`).
    ReportFile,
}

/// Reads every stored file of `kind`, a few at a time, and returns how many there are and the
/// ids of those whose bytes do not match their stored SHA-256 or size.
pub async fn damaged_contents(
    db: &impl ConnectionTrait,
    kind: Stored,
) -> Result<(u64, Vec<i64>), StoreError> {
    use super::entities::report_file;
    use sha2::{Digest, Sha256};
    type Row = (i64, String, i64, Vec<u8>);
    let mut last = i64::MIN;
    let (mut read, mut damaged) = (0u64, Vec::new());
    loop {
        // Files may be megabytes each: a small batch keeps memory small.
        let rows: Vec<Row> = match kind {
            Stored::Document => {
                document::Entity::find()
                    .select_only()
                    .columns([
                        document::Column::Id,
                        document::Column::Sha256,
                        document::Column::SizeBytes,
                        document::Column::Content,
                    ])
                    .filter(document::Column::Id.gt(last))
                    .order_by_asc(document::Column::Id)
                    .limit(8)
                    .into_tuple()
                    .all(db)
                    .await?
            }
            Stored::ReportFile => {
                report_file::Entity::find()
                    .select_only()
                    .columns([
                        report_file::Column::Id,
                        report_file::Column::Sha256,
                        report_file::Column::SizeBytes,
                        report_file::Column::Content,
                    ])
                    .filter(report_file::Column::Id.gt(last))
                    .order_by_asc(report_file::Column::Id)
                    .limit(8)
                    .into_tuple()
                    .all(db)
                    .await?
            }
        };
        let Some((id, ..)) = rows.last() else {
            return Ok((read, damaged));
        };
        last = *id;
        for (id, sha256, size, content) in rows {
            read += 1;
            let actual = hex::encode(Sha256::digest(&content));
            if actual != sha256 || usize::try_from(size).ok() != Some(content.len()) {
                damaged.push(id);
            }
        }
    }
}
