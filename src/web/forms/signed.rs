//! The agreement page's upload of a signed copy: the same reading (`signed_copies::read_upload`)
//! and use case (`Registry::record_signed_copy`) as the API; a refusal re-shows the agreement
//! page with the reasons in Swedish and stores nothing.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::actions::reshow_agreement;
use crate::domain::access::Principal;
use crate::domain::party::Violation;
use crate::registry::RegistryError;
use crate::web::auth::Acting;
use crate::web::signed_copies::{ReadError, document_id, read_upload, reference};
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
