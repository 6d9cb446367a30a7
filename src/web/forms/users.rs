//! The user administration page (admins only): every user, and deactivating one.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::body;
use crate::domain::access::Principal;
use crate::registry::RegistryError;
use crate::registry::accounts;
use crate::web::auth::Acting;
use crate::web::pages::FlashQuery;
use crate::web::state::AppState;
use crate::web::ui::Csrf;
use crate::web::ui::{PageError, PageParams, base, render, rule_sv};

/// `GET /admin/users`: every user, with a form to deactivate each active one (admins only).
pub async fn admin_users(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    PageParams(flash): PageParams<FlashQuery>,
) -> Result<Response, PageError> {
    users_page(
        &state,
        &user,
        csrf.as_ref().map(|e| &e.0),
        flash.ok.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The users page, with a message after a deactivation or an error.
async fn users_page(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let list = accounts::list_users(&state.registry).await?;
    let done = done
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| list.iter().find(|u| u.id == id))
        .map(|u| u.email.clone());
    let mut ctx = base(Some(user), csrf);
    ctx.insert("users", &list);
    ctx.insert("me", &user.user_id);
    ctx.insert("done", &done);
    ctx.insert("error", &error);
    Ok(render("users.html", &ctx, status))
}

/// The deactivation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisableForm {
    /// The user's address.
    email: String,
}

/// `POST /admin/users/disable`: deactivates a user, ending its sessions and API tokens.
pub async fn disable_user(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: DisableForm = body::parse(&body)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    match accounts::disable_user(&state.registry, &form.email, Some(&user)).await {
        // The id, not the address, goes in the URL: addresses stay out of request logs.
        Ok(u) => Ok(Redirect::to(&format!("/admin/users?ok={}", u.id)).into_response()),
        Err(RegistryError::Invalid(v)) => {
            let text = v.iter().map(rule_sv).collect::<Vec<_>>().join(" ");
            users_page(
                &state,
                &user,
                csrf,
                None,
                Some(text),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
