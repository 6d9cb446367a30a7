//! Generated -> sent for signature -> signed. An officer records that a generated document was
//! sent for signature (the day, how, to whom; refused once it is signed), and uploads the signed
//! PDF (scanned or electronically signed); the copy is stored with its SHA-256 beside the
//! document, with the signing date and the signatories. Each is one transaction with its audit
//! entry; the signed copy of the contract itself (a document about no event) sets the
//! agreement's signing date.

use chrono::NaiveDate;

use super::{Registry, RegistryError, invalid_if_any};
use crate::db::audit::{self, NewEntry};
use crate::db::documents::{
    self as doc_store, DocumentMeta, NewSignatureRequest, NewSignedCopy, SignatureRequestMeta,
    SignedCopyMeta,
};
use crate::db::store::{self, StoreError, Stored};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::audit::Action;
use crate::domain::codes::SendMethod;
use crate::domain::party::Violation;
use crate::domain::signing::{self, Signatory};
use crate::links::sha256_hex;

/// An agreement, its signed copies and its sendings for signature.
pub type AgreementWithSigning = (
    Stored<Agreement>,
    Vec<SignedCopyMeta>,
    Vec<SignatureRequestMeta>,
);

/// A signed PDF as it arrived, with what the officer says about it.
#[derive(Debug, Clone, Default)]
pub struct SignedUpload {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The uploader's name for the file (information only).
    pub original_name: Option<String>,
    /// The day it was signed; today when absent.
    pub signed_on: Option<NaiveDate>,
    /// Who signed.
    pub signatories: Vec<Signatory>,
}

/// What an officer says about sending a generated document for signature.
#[derive(Debug, Clone)]
pub struct Sending {
    /// The day it was sent; today when absent.
    pub sent_on: Option<NaiveDate>,
    /// How it was sent.
    pub method: SendMethod,
    /// To whom: names, e-mail or postal addresses, one line.
    pub sent_to: String,
}

/// What recording a signed copy did.
#[derive(Debug, Clone)]
pub struct RecordedSignature {
    /// The stored signed copy.
    pub copy: SignedCopyMeta,
    /// The agreement after the change (its signing date set when the copy is of the contract).
    pub agreement: Stored<Agreement>,
}

/// The download name of the signed copy of `generated`: its name with `-undertecknad`.
fn signed_file_name(generated: &str) -> String {
    let stem = generated.strip_suffix(".pdf").unwrap_or(generated);
    format!("{stem}-undertecknad.pdf")
}

impl Registry {
    fn not_found_document(id: i64) -> RegistryError {
        StoreError::NotFound {
            what: "document",
            key: id.to_string(),
        }
        .into()
    }

    /// The agreement `reference` and its document `document_id`, for a change to the document:
    /// 404 when the agreement is outside the user's scope or the document is not one of its
    /// own, 403 when the user may read but not edit the agreement.
    async fn editable_document(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        reference: &Reference,
        document_id: i64,
    ) -> Result<(Stored<Agreement>, DocumentMeta), RegistryError> {
        let current = store::get_agreement(tx, reference).await?;
        if let Some(p) = &self.principal
            && !p.may_read(&current.data)
        {
            return Err(StoreError::NotFound {
                what: "agreement",
                key: reference.to_string(),
            }
            .into());
        }
        self.ensure_may_edit(&current.data)?;
        let doc = doc_store::document_meta(tx, document_id)
            .await?
            .filter(|d| d.agreement_reference == reference.as_str())
            .ok_or_else(|| Self::not_found_document(document_id))?;
        Ok((current, doc))
    }

    /// Records the signed copy of document `document_id` of agreement `reference`: checks the
    /// file (a PDF by its bytes, not empty), the signing date (not after today, not before the
    /// document was made) and the signatories; stores the copy with its SHA-256; sets the
    /// agreement's signing date when the document is the contract itself; and logs
    /// `signed_copy.create` (and `agreement.record_signature`), all in one transaction.
    pub async fn record_signed_copy(
        &self,
        reference: &Reference,
        document_id: i64,
        upload: &SignedUpload,
    ) -> Result<RecordedSignature, RegistryError> {
        let today = self.settings.today();
        let tx = crate::db::begin_write(&self.db).await?;
        let (current, doc) = self.editable_document(&tx, reference, document_id).await?;
        let signed_on = upload.signed_on.unwrap_or(today);
        let mut problems = Vec::new();
        let name = upload.original_name.as_deref().unwrap_or_default();
        if upload.bytes.is_empty() {
            problems.push(Violation::new(
                "file",
                name,
                "required",
                "send the signed PDF in the field file",
            ));
        } else if !signing::is_pdf(&upload.bytes) {
            problems.push(Violation::new(
                "file",
                name,
                "pdf",
                "the signed copy must be a PDF (its bytes start with %PDF-), and this file is not",
            ));
        }
        problems.extend(signing::check(
            &current.data,
            signed_on,
            made_on(&doc, today),
            today,
            &upload.signatories,
        ));
        if doc_store::has_signed_copy(&tx, document_id).await? {
            problems.push(Violation::new(
                "document",
                document_id,
                "one_signed_copy",
                "this document already has its signed copy on record; make a new document to sign again",
            ));
        }
        invalid_if_any(problems)?;
        let sha256 = sha256_hex(&upload.bytes);
        let copy = doc_store::insert_signed_copy(
            &tx,
            &NewSignedCopy {
                document_id,
                agreement_id: current.id,
                agreement_reference: reference.as_str(),
                file_name: &signed_file_name(&doc.file_name),
                original_name: upload.original_name.as_deref(),
                sha256: &sha256,
                content: &upload.bytes,
                signed_on,
                signatories: &upload.signatories,
                uploaded_by: &self.actor,
            },
        )
        .await?;
        let mut log = Vec::new();
        // Only the contract itself dates the agreement's signature; an amendment or a letter
        // has its own signed copy but leaves the agreement's date alone.
        let agreement = if doc.event.is_none() && current.data.signed_on != Some(signed_on) {
            let mut a = current.data.clone();
            a.signed_on = Some(signed_on);
            let (stored, entries) = self
                .save_agreement_in(&tx, Some(&current), a, Action::AgreementRecordSignature)
                .await?;
            log.extend(entries);
            stored
        } else {
            current
        };
        let after = serde_json::json!({
            "document": doc.id,
            "template": doc.template,
            "template_version": doc.template_version,
            "agreement_version": doc.agreement_version,
            "document_sha256": doc.sha256,
            "sha256": copy.sha256,
            "size_bytes": copy.size_bytes,
            "file_name": copy.file_name,
            "original_name": copy.original_name,
            "signed_on": copy.signed_on,
            "signatories": copy.signatories,
        });
        let mut entry = NewEntry::change(
            &self.actor,
            Action::SignedCopyCreate,
            &copy.id.to_string(),
            None,
            Some(&after),
        )?;
        entry.agreement = Some(reference.to_string());
        log.insert(0, entry);
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(RecordedSignature { copy, agreement })
    }

    /// Records that document `document_id` of agreement `reference` was sent for signature:
    /// checks the day (not after today, not before the document was made), whom it went to, and
    /// that the document has no signed copy yet (a signed document is not sent again; make a new
    /// one), stores it and logs `signature_request.create`, in one transaction. A document may be
    /// sent more than once before it is signed.
    pub async fn record_sent_for_signature(
        &self,
        reference: &Reference,
        document_id: i64,
        sending: &Sending,
    ) -> Result<SignatureRequestMeta, RegistryError> {
        let today = self.settings.today();
        let tx = crate::db::begin_write(&self.db).await?;
        let (current, doc) = self.editable_document(&tx, reference, document_id).await?;
        let sent_on = sending.sent_on.unwrap_or(today);
        let sent_to = sending.sent_to.trim();
        let mut problems = signing::check_sending(sent_on, made_on(&doc, today), today, sent_to);
        if doc_store::has_signed_copy(&tx, document_id).await? {
            problems.push(Violation::new(
                "document",
                document_id,
                "already_signed",
                "this document's signed copy is on record; it is not sent for signature again (make a new document to sign again)",
            ));
        }
        invalid_if_any(problems)?;
        let sent = doc_store::insert_signature_request(
            &tx,
            &NewSignatureRequest {
                document_id,
                agreement_id: current.id,
                agreement_reference: reference.as_str(),
                sent_on,
                method: sending.method,
                sent_to,
                sent_by: &self.actor,
            },
        )
        .await?;
        let after = serde_json::json!({
            "document": doc.id,
            "template": doc.template,
            "template_version": doc.template_version,
            "agreement_version": doc.agreement_version,
            "document_sha256": doc.sha256,
            "sent_on": sent.sent_on,
            "method": sent.method,
            "sent_to": sent.sent_to,
        });
        let mut entry = NewEntry::change(
            &self.actor,
            Action::SignatureRequestCreate,
            &sent.id.to_string(),
            None,
            Some(&after),
        )?;
        entry.agreement = Some(reference.to_string());
        audit::record_all(&tx, vec![entry]).await?;
        tx.commit().await?;
        Ok(sent)
    }

    /// The sendings for signature of an agreement's documents, newest first.
    pub async fn signature_requests(
        &self,
        reference: &Reference,
    ) -> Result<Vec<SignatureRequestMeta>, RegistryError> {
        let a = self.agreement(reference).await?;
        Ok(doc_store::list_signature_requests(&self.db, a.id).await?)
    }

    /// An agreement with the signed copies of its documents and its sendings for signature
    /// (newest first), the agreement read and decoded once: what `GET
    /// /api/v1/agreements/{reference}` answers.
    pub async fn agreement_with_signing(
        &self,
        reference: &Reference,
    ) -> Result<AgreementWithSigning, RegistryError> {
        let a = self.agreement(reference).await?;
        let signed = doc_store::list_signed_copies(&self.db, a.id).await?;
        let sent = doc_store::list_signature_requests(&self.db, a.id).await?;
        Ok((a, signed, sent))
    }

    /// The signed copies of an agreement's documents, newest first.
    pub async fn signed_copies(
        &self,
        reference: &Reference,
    ) -> Result<Vec<SignedCopyMeta>, RegistryError> {
        let a = self.agreement(reference).await?;
        Ok(doc_store::list_signed_copies(&self.db, a.id).await?)
    }

    /// The signed copy of document `document_id` of agreement `reference`, with its bytes.
    pub async fn signed_copy(
        &self,
        reference: &Reference,
        document_id: i64,
    ) -> Result<(SignedCopyMeta, Vec<u8>), RegistryError> {
        self.agreement(reference).await?;
        match doc_store::signed_copy_of(&self.db, document_id).await? {
            Some((meta, bytes)) if meta.agreement_reference == reference.as_str() => {
                Ok((meta, bytes))
            }
            _ => Err(StoreError::NotFound {
                what: "signed copy of document",
                key: document_id.to_string(),
            }
            .into()),
        }
    }
}

/// The day document `doc` was made, by the registry's clock: its creation day in Sweden, or
/// `today` when the clock is set earlier (a demo or test pinned to a past day).
fn made_on(doc: &DocumentMeta, today: NaiveDate) -> NaiveDate {
    doc.created_at
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive()
        .min(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_copy_is_named_after_its_document() {
        assert_eq!(
            signed_file_name("AGR-2025-0004-kontrakt-v3.pdf"),
            "AGR-2025-0004-kontrakt-v3-undertecknad.pdf"
        );
        assert_eq!(signed_file_name("x"), "x-undertecknad.pdf");
    }
}
