//! The agreement page's forms for a generated document's signature: that it was sent for
//! signature, and the upload of its signed copy. The same reading (`signed_copies`) and use cases
//! (`Registry::record_sent_for_signature`, `Registry::record_signed_copy`) as the API; a refusal
//! re-shows the agreement page with the reasons in Swedish and stores nothing.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::actions::reshow_agreement;
use crate::domain::access::Principal;
use crate::domain::party::Violation;
use crate::registry::RegistryError;
use crate::web::auth::Acting;
use crate::web::signed_copies::{ReadError, document_id, read_upload, reference, sending_of_form};
use crate::web::ui::{Csrf, PageError};

/// `POST /agreements/{reference}/documents/{id}/signed`: the page's upload form; a refusal
/// re-shows the agreement page with the reasons in Swedish and stores nothing.
pub async fn upload_signed_page(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, id)): Path<(String, String)>,
    req: Request<Body>,
) -> Result<Response, PageError> {
    let key = reference(&raw)?;
    let id = document_id(&id)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    let max = state.registry.settings.upload_max_bytes;
    let upload = match read_upload(req, max).await {
        Ok(u) => u,
        Err(ReadError::TooLarge) => {
            let v = [Violation::new("file", "", "too_large", "too large")];
            return reshow_agreement(&state, &user, csrf, &key, &v)
                .await
                .map(|mut r| {
                    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                    r
                });
        }
        Err(ReadError::Invalid(v)) => return reshow_agreement(&state, &user, csrf, &key, &v).await,
    };
    match state.registry.record_signed_copy(&key, id, &upload).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=signed#doc-{id}")).into_response()),
        Err(RegistryError::Invalid(v)) => reshow_agreement(&state, &user, csrf, &key, &v).await,
        Err(e) => Err(e.into()),
    }
}

/// The page's form: that a document was sent for signature.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SentForm {
    sent_on: String,
    method: String,
    sent_to: String,
}

/// `POST /agreements/{reference}/documents/{id}/sent`: the page's form recording that a
/// generated document was sent for signature; a refusal re-shows the agreement page with the
/// reasons in Swedish and stores nothing.
pub async fn record_sent_page(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = reference(&raw)?;
    let id = document_id(&id)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    let (form, nul) = super::body::parse_naming_nul::<SentForm>(&body)?;
    if !nul.is_empty() {
        let v: Vec<Violation> = nul
            .iter()
            .map(|n| Violation::new(n.as_str(), "", "no_nul", "no NUL"))
            .collect();
        return reshow_agreement(&state, &user, csrf, &key, &v).await;
    }
    let sending = match sending_of_form(&form.sent_on, &form.method, &form.sent_to) {
        Ok(s) => s,
        Err(v) => return reshow_agreement(&state, &user, csrf, &key, &v).await,
    };
    match state
        .registry
        .record_sent_for_signature(&key, id, &sending)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=sent#doc-{id}")).into_response()),
        Err(RegistryError::Invalid(v)) => reshow_agreement(&state, &user, csrf, &key, &v).await,
        Err(e) => Err(e.into()),
    }
}
