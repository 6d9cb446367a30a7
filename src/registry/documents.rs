//! Document use cases: make a contract document of a stored agreement and store it with its
//! SHA-256 and audit entry, many at once, and list an agreement's stored documents. The renderer
//! itself (templates, view model, typst) is [`crate::documents`].

use std::collections::HashMap;

use super::{Registry, RegistryError};
use crate::db::documents::{self as doc_store, DocumentMeta, NewDocument};
use crate::db::store::{self, AgreementFilter, StoreError, Stored};
use crate::documents::view::Directory;
use crate::documents::{DocumentRequest, RenderError, Rendered};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::audit::Action;
use crate::domain::codes::AgreementKind;

/// The organisations and contacts `a` names, for its pages and documents.
pub async fn directory(registry: &Registry, a: &Agreement) -> Result<Directory, RegistryError> {
    Ok(directory_for(&registry.db, a).await?)
}

/// Loads the organisations and contacts `a` names.
pub async fn directory_for(
    db: &impl sea_orm::ConnectionTrait,
    a: &Agreement,
) -> Result<Directory, StoreError> {
    let mut dir = Directory::default();
    let mut orgs: Vec<_> = a.parties.iter().map(|p| p.org.clone()).collect();
    let mut emails: Vec<_> = a
        .contacts
        .all()
        .into_iter()
        .map(|(_, e)| e.clone())
        .collect();
    emails.extend(
        a.reporting
            .iter()
            .flat_map(|r| r.recipient.iter().chain(r.escalation.iter()))
            .cloned(),
    );
    emails.sort();
    emails.dedup();
    let mut contacts = HashMap::new();
    for e in emails {
        match store::get_contact(db, &e).await {
            Ok(c) => {
                orgs.push(c.data.organisation.clone());
                contacts.insert(e, c.data);
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    orgs.extend(a.reporting.iter().map(|r| r.responsible.clone()));
    orgs.sort();
    orgs.dedup();
    for o in orgs {
        match store::get_organisation(db, &o).await {
            Ok(s) => {
                dir.organisations.insert(o, s.data);
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    dir.contacts = contacts;
    Ok(dir)
}

/// Makes a document of agreement `reference`, stores it and returns its metadata.
pub async fn generate(
    registry: &Registry,
    reference: &Reference,
    req: &DocumentRequest,
    created_by: &str,
) -> Result<(DocumentMeta, Rendered), RenderError> {
    let stored = store::get_agreement(&registry.db, reference).await?;
    registry.ensure_may_read(&stored.data)?;
    registry
        .ensure_may_edit(&stored.data)
        .map_err(|e| RenderError::Forbidden(e.to_string()))?;
    let dir = directory_for(&registry.db, &stored.data).await?;
    let rendered = registry
        .renderer
        .render(req, &stored, &dir, registry.settings.today())
        .await?;
    // The document and its audit entry are written in one transaction.
    let tx = crate::db::begin_write(&registry.db)
        .await
        .map_err(StoreError::from)?;
    let meta = doc_store::insert_document(
        &tx,
        &NewDocument {
            agreement_id: stored.id,
            agreement_reference: stored.data.reference.as_str(),
            agreement_version: stored.version,
            template: &rendered.template,
            template_version: &rendered.template_version,
            event: rendered.event.as_deref(),
            file_name: &rendered.file_name,
            sha256: &rendered.sha256,
            content: &rendered.pdf,
            created_by,
            clauses: &rendered.clauses,
        },
    )
    .await?;
    let after = serde_json::json!({
        "sha256": meta.sha256,
        "agreement": meta.agreement_reference,
        "agreement_version": meta.agreement_version,
        "template": meta.template,
        "template_version": meta.template_version,
        "event": meta.event,
        "file_name": meta.file_name,
        "size_bytes": meta.size_bytes,
        "clauses": rendered.clauses,
    });
    let mut entry = crate::db::audit::NewEntry::change(
        created_by,
        Action::DocumentCreate,
        &meta.id.to_string(),
        None,
        Some(&after),
    )?;
    entry.agreement = Some(meta.agreement_reference.clone());
    crate::db::audit::record(&tx, entry).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((meta, rendered))
}

/// Makes and stores a document of each agreement in `references`: as many are in flight as twice
/// the compile limit (`render_concurrency`), so loading and storing one overlaps compiling another
/// and the limit is never left idle. `each` gets every result as it finishes, in completion order;
/// an error it returns stops the batch (the renders still in flight are dropped).
pub async fn generate_many<E>(
    registry: &Registry,
    references: Vec<Reference>,
    req: &DocumentRequest,
    created_by: &str,
    mut each: impl FnMut(Reference, Result<(DocumentMeta, Rendered), RenderError>) -> Result<(), E>,
) -> Result<(), E> {
    let in_flight = registry.settings.render_concurrency.max(1) * 2;
    let mut pending = references.into_iter();
    let mut set = tokio::task::JoinSet::new();
    loop {
        while set.len() < in_flight {
            let Some(key) = pending.next() else { break };
            let (registry, req, by) = (registry.clone(), req.clone(), created_by.to_owned());
            set.spawn(async move {
                let result = generate(&registry, &key, &req, &by).await;
                (key, result)
            });
        }
        match set.join_next().await {
            None => return Ok(()),
            Some(Ok((key, result))) => each(key, result)?,
            Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only aborting cancels a task, and nothing here aborts one.
            Some(Err(_)) => {}
        }
    }
}

/// Whether a template can be made from an agreement now, and if not, what it lacks.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    /// Template name.
    pub name: String,
    /// Its Swedish title.
    pub title: String,
    /// Every required field the agreement lacks for it (empty: it can be made), with the
    /// field's Swedish and English names; for a per-event template also the missing event
    /// (no exercised option, no recorded notice, ...).
    pub missing: Vec<crate::documents::MissingField>,
}

/// For each template that applies to `stored`'s kind, what the agreement still lacks for it:
/// the same check the render makes before compiling (so a page can show it before the button
/// is pressed), without running typst.
pub fn readiness(
    registry: &Registry,
    stored: &Stored<Agreement>,
    dir: &Directory,
) -> Vec<Readiness> {
    let renderer = &registry.renderer;
    let today = registry.settings.today();
    renderer
        .catalog()
        .all()
        .iter()
        .filter(|t| t.manifest.kinds.contains(&stored.data.kind))
        .map(|t| {
            let req = DocumentRequest {
                template: t.manifest.name.clone(),
                ..DocumentRequest::default()
            };
            let missing = match renderer.view(&req, &stored.data, stored.version, dir, today) {
                Err(RenderError::MissingFields(m)) => m,
                _ => Vec::new(),
            };
            Readiness {
                name: t.manifest.name.clone(),
                title: t.manifest.title.clone(),
                missing,
            }
        })
        .collect()
}

/// Lists the stored documents of agreement `reference`, newest first.
pub async fn list(
    registry: &Registry,
    reference: &Reference,
) -> Result<Vec<DocumentMeta>, RenderError> {
    let stored = store::get_agreement(&registry.db, reference).await?;
    registry.ensure_may_read(&stored.data)?;
    Ok(doc_store::list_documents(&registry.db, stored.id).await?)
}

/// The references of every agreement of one of `kinds`, read in one snapshot (the agreements a
/// template applies to).
pub async fn references_of_kinds(
    registry: &Registry,
    kinds: &[AgreementKind],
) -> Result<Vec<Reference>, RegistryError> {
    let mut references = Vec::new();
    let tx = registry.read_tx().await?;
    store::for_each_agreement(&tx, &AgreementFilter::default(), 200, |s| {
        if kinds.contains(&s.data.kind) {
            references.push(s.data.reference);
        }
        Ok(())
    })
    .await?;
    Ok(references)
}

/// One stored document with its bytes ("not found" when the acting user may not read its
/// agreement).
pub async fn get(registry: &Registry, id: i64) -> Result<(DocumentMeta, Vec<u8>), RegistryError> {
    let (meta, pdf) = doc_store::get_document(&registry.db, id).await?;
    if registry.principal.is_some() {
        let key =
            Reference::parse(&meta.agreement_reference).map_err(|_| StoreError::NotFound {
                what: "document",
                key: id.to_string(),
            })?;
        if !registry.may_see_agreement(&key).await? {
            return Err(StoreError::NotFound {
                what: "document",
                key: id.to_string(),
            }
            .into());
        }
    }
    Ok((meta, pdf))
}

/// The reference of the agreement a stored document belongs to.
pub async fn reference_of(registry: &Registry, id: i64) -> Result<Option<String>, RegistryError> {
    Ok(doc_store::document_reference(&registry.db, id).await?)
}
