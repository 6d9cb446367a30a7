//! The organisation address form: the postal address contracts and letters print for a party,
//! kept on the organisation (the legal person), so an officer completes what the documents need
//! without the API. Saved at the version read, through the same use case as
//! `PUT /api/v1/organisations/{org_number}`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::body;
use crate::domain::access::Principal;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{PostalAddress, Violation};
use crate::registry::{RegistryError, StoreError};
use crate::web::auth::Acting;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::ui::{Csrf, PageError, PageParams, base, render, rule_sv};

/// The address form as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddressForm {
    street: String,
    postal_code: String,
    city: String,
    version: String,
    /// The agreement page to return to.
    next: String,
}

/// Query of the form: where to return.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

/// Only an agreement page of this service is a place to return to.
fn return_to(next: &str) -> String {
    let ok = next.starts_with("/agreements/")
        && next
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_".contains(c));
    if ok {
        next.to_owned()
    } else {
        "/agreements".to_owned()
    }
}

fn org_number(raw: &str) -> Result<OrgNumber, PageError> {
    OrgNumber::parse(raw).map_err(|_| PageError(AppError::NotFound("no such organisation".into())))
}

#[expect(clippy::too_many_arguments, reason = "the page's parts, each needed")]
fn page(
    user: &Principal,
    csrf: Option<&Csrf>,
    org: &crate::registry::Stored<crate::domain::party::Organisation>,
    form: &AddressForm,
    errors: &[Violation],
    next: &str,
    version: i32,
    status: StatusCode,
) -> Response {
    let mut ctx = base(Some(user), csrf);
    ctx.insert("org", &org.data);
    ctx.insert("version", &version);
    ctx.insert(
        "f",
        &serde_json::json!({"street": form.street, "postal_code": form.postal_code, "city": form.city}),
    );
    let errors: Vec<String> = errors
        .iter()
        .map(|v| format!("{} ({})", rule_sv(v), v.field))
        .collect();
    ctx.insert("errors", &errors);
    ctx.insert("next", &return_to(next));
    render("organisation.html", &ctx, status)
}

/// `GET /organisations/{org_number}/edit`: the organisation's address.
pub async fn edit_form(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(raw): Path<String>,
    PageParams(q): PageParams<NextQuery>,
) -> Result<Response, PageError> {
    let key = org_number(&raw)?;
    let org = state.registry.organisation(&key).await?;
    let a = org.data.address.as_ref();
    let form = AddressForm {
        street: a.map(|a| a.street.clone()).unwrap_or_default(),
        postal_code: a.map(|a| a.postal_code.clone()).unwrap_or_default(),
        city: a.map(|a| a.city.clone()).unwrap_or_default(),
        ..AddressForm::default()
    };
    Ok(page(
        &user,
        csrf.as_ref().map(|e| &e.0),
        &org,
        &form,
        &[],
        &q.next,
        org.version,
        StatusCode::OK,
    ))
}

/// `POST /organisations/{org_number}/edit`: saves the address (all three parts, or none to
/// remove it); a refusal re-shows the form with the reasons in Swedish.
pub async fn update(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = org_number(&raw)?;
    let form: AddressForm = body::parse(&body)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    let org = state.registry.organisation(&key).await?;
    let parts = [
        ("address.street", form.street.trim()),
        ("address.postal_code", form.postal_code.trim()),
        ("address.city", form.city.trim()),
    ];
    let missing: Vec<Violation> = if parts.iter().all(|(_, v)| v.is_empty()) {
        Vec::new()
    } else {
        parts
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(f, _)| Violation::new(*f, "", "required", "required"))
            .collect()
    };
    let version = form.version.parse().unwrap_or(org.version);
    if !missing.is_empty() {
        return Ok(page(
            &user,
            csrf,
            &org,
            &form,
            &missing,
            &form.next,
            version,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let mut changed = org.data.clone();
    changed.address = (!form.street.trim().is_empty()).then(|| PostalAddress {
        street: form.street.trim().to_owned(),
        postal_code: form.postal_code.trim().to_owned(),
        city: form.city.trim().to_owned(),
    });
    match state
        .registry
        .update_organisation(&key, version, changed)
        .await
    {
        Ok(_) => Ok(Redirect::to(&return_to(&form.next)).into_response()),
        Err(RegistryError::Invalid(v)) => Ok(page(
            &user,
            csrf,
            &org,
            &form,
            &v,
            &form.next,
            version,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(RegistryError::Store(StoreError::Stale { .. })) => {
            let v = [Violation::new("organisation", "", "stale", "stale")];
            Ok(page(
                &user,
                csrf,
                &org,
                &form,
                &v,
                &form.next,
                org.version,
                StatusCode::CONFLICT,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_agreement_page_is_returned_to() {
        assert_eq!(
            return_to("/agreements/AGR-2025-0004"),
            "/agreements/AGR-2025-0004"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/agreements/x?y=<",
            "",
        ] {
            assert_eq!(return_to(bad), "/agreements", "{bad}");
        }
    }
}
