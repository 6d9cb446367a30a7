//! Queries on generated documents, their sendings for signature and their signed copies:
//! insert one, list an agreement's, fetch one with its bytes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::entities::{document, signature_request, signed_copy};
use super::store::StoreError;
use crate::domain::codes::SendMethod;
use crate::domain::signing::Signatory;

/// The metadata of a stored document (everything but its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// The clauses it was made with, as `id@version` in order (empty for a document made before
    /// clauses were recorded and not in the audit log).
    pub clauses: Vec<String>,
}

/// A row of the document list: the metadata with the clauses as stored (JSON text).
#[derive(Debug, FromQueryResult)]
struct MetaRow {
    id: i64,
    agreement_reference: String,
    agreement_version: i32,
    template: String,
    template_version: String,
    event: Option<String>,
    file_name: String,
    sha256: String,
    size_bytes: i64,
    created_by: String,
    created_at: chrono::DateTime<Utc>,
    clauses: Option<String>,
}

fn clauses_of(json: Option<&str>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

impl From<MetaRow> for DocumentMeta {
    fn from(m: MetaRow) -> Self {
        Self {
            clauses: clauses_of(m.clauses.as_deref()),
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
    /// The clauses it was made with, as `id@version`.
    pub clauses: &'a [String],
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
        clauses: clauses_of(m.clauses.as_deref()),
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
        clauses: Set(Some(
            serde_json::to_string(d.clauses).unwrap_or_else(|_| "[]".to_owned()),
        )),
        ..Default::default()
    };
    Ok(meta_of(model.insert(db).await?))
}

/// The columns of [`MetaRow`]: a document's metadata, without its bytes.
const META_COLUMNS: [document::Column; 12] = {
    use document::Column as C;
    [
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
        C::Clauses,
    ]
};

/// Lists the documents of one agreement, newest first, without their bytes.
pub async fn list_documents(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<DocumentMeta>, StoreError> {
    use document::Column as C;
    Ok(document::Entity::find()
        .select_only()
        .columns(META_COLUMNS)
        .filter(C::AgreementId.eq(agreement_id))
        .order_by_desc(C::Id)
        .into_model::<MetaRow>()
        .all(db)
        .await?
        .into_iter()
        .map(DocumentMeta::from)
        .collect())
}

/// The metadata of document `id`, without its bytes.
pub async fn document_meta(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<DocumentMeta>, StoreError> {
    Ok(document::Entity::find_by_id(id)
        .select_only()
        .columns(META_COLUMNS)
        .into_model::<MetaRow>()
        .one(db)
        .await?
        .map(DocumentMeta::from))
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

/// The three kinds of stored file whose bytes carry their SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Generated documents (`document`).
    Document,
    /// Handed-in report files (`report_file`).
    ReportFile,
    /// Signed copies of generated documents (`signed_copy`).
    SignedCopy,
}

/// The next few stored files of entity `E` after id `last`, as (id, SHA-256, size, content);
/// `columns` names those four columns of `E`, the id first.
async fn content_batch<E>(
    db: &impl ConnectionTrait,
    last: i64,
    columns: [E::Column; 4],
) -> Result<Vec<(i64, String, i64, Vec<u8>)>, sea_orm::DbErr>
where
    E: EntityTrait,
{
    let id = columns[0];
    // Files may be megabytes each: a small batch keeps memory small.
    E::find()
        .select_only()
        .columns(columns)
        .filter(id.gt(last))
        .order_by_asc(id)
        .limit(8)
        .into_tuple()
        .all(db)
        .await
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
        let rows: Vec<Row> = match kind {
            Stored::Document => {
                content_batch::<document::Entity>(
                    db,
                    last,
                    [
                        document::Column::Id,
                        document::Column::Sha256,
                        document::Column::SizeBytes,
                        document::Column::Content,
                    ],
                )
                .await?
            }
            Stored::ReportFile => {
                content_batch::<report_file::Entity>(
                    db,
                    last,
                    [
                        report_file::Column::Id,
                        report_file::Column::Sha256,
                        report_file::Column::SizeBytes,
                        report_file::Column::Content,
                    ],
                )
                .await?
            }
            Stored::SignedCopy => {
                content_batch::<signed_copy::Entity>(
                    db,
                    last,
                    [
                        signed_copy::Column::Id,
                        signed_copy::Column::Sha256,
                        signed_copy::Column::SizeBytes,
                        signed_copy::Column::Content,
                    ],
                )
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

/// The record of a signed copy (everything but its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedCopyMeta {
    /// Database id of the signed copy.
    pub id: i64,
    /// The generated document it is the signed copy of.
    pub document_id: i64,
    /// Reference of the agreement.
    #[serde(rename = "agreement")]
    pub agreement_reference: String,
    /// File name for downloads.
    pub file_name: String,
    /// The uploader's name for the file (information only).
    pub original_name: Option<String>,
    /// SHA-256 of the signed PDF, lower-case hex.
    pub sha256: String,
    /// Size of the signed PDF in bytes.
    pub size_bytes: i64,
    /// The day it was signed (the last signature).
    pub signed_on: chrono::NaiveDate,
    /// Who signed, as the officer gave it.
    pub signatories: Vec<Signatory>,
    /// Who uploaded it, e.g. `user:7`.
    pub uploaded_by: String,
    /// When it was uploaded (UTC).
    pub uploaded_at: chrono::DateTime<Utc>,
}

/// A signed copy to store.
#[derive(Debug, Clone)]
pub struct NewSignedCopy<'a> {
    /// The generated document it is the signed copy of.
    pub document_id: i64,
    /// Database id of the agreement.
    pub agreement_id: i64,
    /// Its reference.
    pub agreement_reference: &'a str,
    /// File name for downloads.
    pub file_name: &'a str,
    /// The uploader's name for the file.
    pub original_name: Option<&'a str>,
    /// SHA-256 of `content`, lower-case hex.
    pub sha256: &'a str,
    /// The signed PDF.
    pub content: &'a [u8],
    /// The day it was signed.
    pub signed_on: chrono::NaiveDate,
    /// Who signed.
    pub signatories: &'a [Signatory],
    /// Who uploads it.
    pub uploaded_by: &'a str,
}

/// A row of `signed_copy` without its bytes.
#[derive(Debug, FromQueryResult)]
struct SignedRow {
    id: i64,
    document_id: i64,
    agreement_reference: String,
    file_name: String,
    original_name: Option<String>,
    sha256: String,
    size_bytes: i64,
    signed_on: chrono::NaiveDate,
    signatories: String,
    uploaded_by: String,
    uploaded_at: chrono::DateTime<Utc>,
}

impl From<signed_copy::Model> for SignedRow {
    fn from(m: signed_copy::Model) -> Self {
        Self {
            id: m.id,
            document_id: m.document_id,
            agreement_reference: m.agreement_reference,
            file_name: m.file_name,
            original_name: m.original_name,
            sha256: m.sha256,
            size_bytes: m.size_bytes,
            signed_on: m.signed_on,
            signatories: m.signatories,
            uploaded_by: m.uploaded_by,
            uploaded_at: m.uploaded_at,
        }
    }
}

fn signed_meta_of(m: SignedRow) -> Result<SignedCopyMeta, StoreError> {
    let signatories =
        serde_json::from_str(&m.signatories).map_err(|source| StoreError::Corrupt {
            what: "signed copy",
            key: m.id.to_string(),
            source,
        })?;
    Ok(SignedCopyMeta {
        id: m.id,
        document_id: m.document_id,
        agreement_reference: m.agreement_reference,
        file_name: m.file_name,
        original_name: m.original_name,
        sha256: m.sha256,
        size_bytes: m.size_bytes,
        signed_on: m.signed_on,
        signatories,
        uploaded_by: m.uploaded_by,
        uploaded_at: m.uploaded_at,
    })
}

/// Stores a signed copy; a second one of the same document breaks the unique index.
pub async fn insert_signed_copy(
    db: &impl ConnectionTrait,
    c: &NewSignedCopy<'_>,
) -> Result<SignedCopyMeta, StoreError> {
    let signatories = serde_json::to_string(c.signatories)
        .map_err(|e| crate::error::Unexpected::new("cannot serialise signatories", e))?;
    let model = signed_copy::ActiveModel {
        document_id: Set(c.document_id),
        agreement_id: Set(c.agreement_id),
        agreement_reference: Set(c.agreement_reference.to_owned()),
        file_name: Set(c.file_name.to_owned()),
        original_name: Set(c.original_name.map(str::to_owned)),
        sha256: Set(c.sha256.to_owned()),
        size_bytes: Set(i64::try_from(c.content.len()).unwrap_or(i64::MAX)),
        content: Set(c.content.to_vec()),
        signed_on: Set(c.signed_on),
        signatories: Set(signatories),
        uploaded_by: Set(c.uploaded_by.to_owned()),
        uploaded_at: Set(Utc::now()),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(m) => signed_meta_of(m.into()),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(StoreError::Duplicate {
                what: "signed copy of document",
                key: c.document_id.to_string(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The signed copies of one agreement's documents, newest first, without their bytes.
pub async fn list_signed_copies(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<SignedCopyMeta>, StoreError> {
    use signed_copy::Column as C;
    let rows = signed_copy::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::DocumentId,
            C::AgreementReference,
            C::FileName,
            C::OriginalName,
            C::Sha256,
            C::SizeBytes,
            C::SignedOn,
            C::Signatories,
            C::UploadedBy,
            C::UploadedAt,
        ])
        .filter(C::AgreementId.eq(agreement_id))
        .order_by_desc(C::Id)
        .into_model::<SignedRow>()
        .all(db)
        .await?;
    rows.into_iter().map(signed_meta_of).collect()
}

/// The signed copy of document `document_id`, with its bytes, if there is one.
pub async fn signed_copy_of(
    db: &impl ConnectionTrait,
    document_id: i64,
) -> Result<Option<(SignedCopyMeta, Vec<u8>)>, StoreError> {
    let Some(mut m) = signed_copy::Entity::find()
        .filter(signed_copy::Column::DocumentId.eq(document_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let content = std::mem::take(&mut m.content);
    Ok(Some((signed_meta_of(m.into())?, content)))
}

/// Whether document `document_id` has a signed copy, without loading it.
pub async fn has_signed_copy(
    db: &impl ConnectionTrait,
    document_id: i64,
) -> Result<bool, StoreError> {
    Ok(signed_copy::Entity::find()
        .select_only()
        .column(signed_copy::Column::Id)
        .filter(signed_copy::Column::DocumentId.eq(document_id))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// The record that a generated document was sent for signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureRequestMeta {
    /// Database id.
    pub id: i64,
    /// The generated document that was sent.
    pub document_id: i64,
    /// Reference of the agreement.
    #[serde(rename = "agreement")]
    pub agreement_reference: String,
    /// The day it was sent.
    pub sent_on: chrono::NaiveDate,
    /// How it was sent.
    pub method: SendMethod,
    /// To whom (names, e-mail or postal addresses), as the officer gave it.
    pub sent_to: String,
    /// Who recorded it, e.g. `user:7`.
    pub sent_by: String,
    /// When it was recorded (UTC).
    pub recorded_at: chrono::DateTime<Utc>,
}

/// A sending for signature to store.
#[derive(Debug, Clone)]
pub struct NewSignatureRequest<'a> {
    /// The generated document that was sent.
    pub document_id: i64,
    /// Database id of the agreement.
    pub agreement_id: i64,
    /// Its reference.
    pub agreement_reference: &'a str,
    /// The day it was sent.
    pub sent_on: chrono::NaiveDate,
    /// How.
    pub method: SendMethod,
    /// To whom.
    pub sent_to: &'a str,
    /// Who records it.
    pub sent_by: &'a str,
}

fn request_meta_of(m: signature_request::Model) -> Result<SignatureRequestMeta, StoreError> {
    let method = serde_json::from_value(serde_json::Value::String(m.method)).map_err(|source| {
        StoreError::Corrupt {
            what: "signature request",
            key: m.id.to_string(),
            source,
        }
    })?;
    Ok(SignatureRequestMeta {
        id: m.id,
        document_id: m.document_id,
        agreement_reference: m.agreement_reference,
        sent_on: m.sent_on,
        method,
        sent_to: m.sent_to,
        sent_by: m.sent_by,
        recorded_at: m.sent_at,
    })
}

/// Stores that a document was sent for signature.
pub async fn insert_signature_request(
    db: &impl ConnectionTrait,
    r: &NewSignatureRequest<'_>,
) -> Result<SignatureRequestMeta, StoreError> {
    let model = signature_request::ActiveModel {
        document_id: Set(r.document_id),
        agreement_id: Set(r.agreement_id),
        agreement_reference: Set(r.agreement_reference.to_owned()),
        sent_on: Set(r.sent_on),
        method: Set(r.method.code().to_owned()),
        sent_to: Set(r.sent_to.to_owned()),
        sent_by: Set(r.sent_by.to_owned()),
        sent_at: Set(Utc::now()),
        ..Default::default()
    };
    request_meta_of(model.insert(db).await?)
}

/// The sendings for signature of one agreement's documents, newest first.
pub async fn list_signature_requests(
    db: &impl ConnectionTrait,
    agreement_id: i64,
) -> Result<Vec<SignatureRequestMeta>, StoreError> {
    use signature_request::Column as C;
    signature_request::Entity::find()
        .filter(C::AgreementId.eq(agreement_id))
        .order_by_desc(C::Id)
        .all(db)
        .await?
        .into_iter()
        .map(request_meta_of)
        .collect()
}
