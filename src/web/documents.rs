//! Document handlers: make a contract document from an agreement, list an agreement's documents
//! (with their clause versions, where each stands on its way to signature, their sendings for
//! signature and signed copies, and what each template still lacks), download one, and list the
//! templates.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::Acting;
use super::error::AppError;
use super::extract::ApiJson;
use super::signed_copies::{self, SignedCopyItem};
use super::state::AppState;
use crate::documents::DocumentRequest;
use crate::documents::manifest::{EventKind, RequiredField};
use crate::domain::agreement::Reference;
use crate::domain::codes::AgreementKind;
use crate::registry::documents::Readiness;
use crate::registry::{DocumentMeta, SignatureRequestMeta};

fn reference(raw: &str) -> Result<Reference, AppError> {
    Reference::parse(raw).map_err(|e| AppError::BadRequest {
        field: Some("reference".into()),
        message: e.to_string(),
    })
}

/// `POST /api/v1/agreements/{reference}/documents`: renders, stores and describes a document.
pub async fn create_document(
    Acting(state): Acting,
    Path(key): Path<String>,
    ApiJson(req): ApiJson<DocumentRequest>,
) -> Result<(StatusCode, Json<DocumentMeta>), AppError> {
    let key = reference(&key)?;
    let (meta, _) =
        crate::registry::documents::generate(&state.registry, &key, &req, &state.registry.actor)
            .await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

/// One stored document with where to download it and its signed copy, if one is on record.
#[derive(Debug, Serialize)]
pub struct DocumentItem {
    #[serde(flatten)]
    meta: DocumentMeta,
    download: String,
    /// Where it stands: `generated`, `sent` (for signature) or `signed`.
    state: &'static str,
    /// Each time it was sent for signature (the day, how, to whom, who recorded it), newest
    /// first.
    sent: Vec<SignatureRequestMeta>,
    /// The signed copy: signing date, signatories, SHA-256 and download path; `null` until an
    /// officer uploads it.
    signed: Option<SignedCopyItem>,
}

/// Where a generated document stands on its way to signature.
pub fn signature_state(sent: bool, signed: bool) -> &'static str {
    if signed {
        "signed"
    } else if sent {
        "sent"
    } else {
        "generated"
    }
}

/// The documents of one agreement, and what each template still lacks.
#[derive(Debug, Serialize)]
pub struct DocumentList {
    items: Vec<DocumentItem>,
    /// Each template that applies to the agreement, with the required fields it lacks (in
    /// Swedish and English): a template with an empty `missing` can be made now.
    templates: Vec<Readiness>,
}

/// `GET /api/v1/agreements/{reference}/documents`
pub async fn list_documents(
    Acting(state): Acting,
    Path(key): Path<String>,
) -> Result<Json<DocumentList>, AppError> {
    let key = reference(&key)?;
    let reg = &state.registry;
    let stored = reg.agreement(&key).await?;
    let dir = crate::registry::documents::directory(reg, &stored.data).await?;
    let mut signed = reg.signed_copies(&key).await?;
    let requests = reg.signature_requests(&key).await?;
    let items = crate::registry::documents::list(reg, &key)
        .await?
        .into_iter()
        .map(|meta| {
            let copy = signed
                .iter()
                .position(|c| c.document_id == meta.id)
                .map(|i| signed_copies::item(signed.swap_remove(i)));
            let sent: Vec<SignatureRequestMeta> = requests
                .iter()
                .filter(|r| r.document_id == meta.id)
                .cloned()
                .collect();
            DocumentItem {
                download: format!("/api/v1/documents/{}", meta.id),
                state: signature_state(!sent.is_empty(), copy.is_some()),
                sent,
                signed: copy,
                meta,
            }
        })
        .collect();
    Ok(Json(DocumentList {
        items,
        templates: crate::registry::documents::readiness(reg, &stored, &dir),
    }))
}

/// `GET /api/v1/documents/{id}`: the PDF.
pub async fn show_document(
    Acting(state): Acting,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::BadRequest {
        field: Some("id".into()),
        message: format!("\"{id}\" is not a document id"),
    })?;
    let (meta, pdf) = crate::registry::documents::get(&state.registry, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", meta.file_name),
            ),
            (header::ETAG, format!("\"{}\"", meta.sha256)),
        ],
        pdf,
    )
        .into_response())
}

/// One template as the API lists it.
#[derive(Debug, Serialize)]
pub struct TemplateInfo {
    name: String,
    version: String,
    title: String,
    kinds: Vec<AgreementKind>,
    event: EventKind,
    required: Vec<RequiredField>,
    output: String,
}

/// The templates.
#[derive(Debug, Serialize)]
pub struct TemplateList {
    items: Vec<TemplateInfo>,
}

/// `GET /api/v1/templates`
pub async fn list_templates(State(state): State<AppState>) -> Json<TemplateList> {
    Json(TemplateList {
        items: state
            .registry
            .renderer
            .catalog()
            .all()
            .iter()
            .map(|t| TemplateInfo {
                name: t.manifest.name.clone(),
                version: t.manifest.version.clone(),
                title: t.manifest.title.clone(),
                kinds: t.manifest.kinds.clone(),
                event: t.manifest.event,
                required: t.manifest.required.clone(),
                output: t.manifest.output.clone(),
            })
            .collect(),
    })
}
