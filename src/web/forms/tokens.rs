//! The API token page: list the user's tokens, create one (its secret shown once), revoke one.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::body;
use crate::domain::access::Principal;
use crate::registry::RegistryError;
use crate::registry::accounts;
use crate::web::AppState;
use crate::web::auth::{Acting, Csrf};
use crate::web::error::AppError;
use crate::web::pages::{PageError, base, render, rule_sv};

/// `GET /tokens`: the user's API tokens.
pub async fn tokens(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
) -> Result<Response, PageError> {
    tokens_page(
        &state,
        &user,
        csrf.as_ref().map(|e| &e.0),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// The token page, with a just-created secret or an error.
async fn tokens_page(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    created: Option<(&str, &str)>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let list = accounts::list_tokens(&state.registry, user).await?;
    let mut ctx = base(Some(user), csrf);
    ctx.insert("tokens", &list);
    ctx.insert(
        "created",
        &created.map(|(n, s)| json!({"name": n, "secret": s})),
    );
    ctx.insert("error", &error);
    Ok(render("tokens.html", &ctx, status))
}

/// The new-token form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    /// What the user calls the token.
    name: String,
}

/// `POST /tokens`: creates a token and shows its secret once.
pub async fn create_token(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: TokenForm = body::parse(&body)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    match accounts::create_token(&state.registry, &user, &form.name).await {
        Ok((info, secret)) => {
            tokens_page(
                &state,
                &user,
                csrf,
                Some((&info.name, &secret)),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(RegistryError::Invalid(v)) => {
            let text = v.iter().map(rule_sv).collect::<Vec<_>>().join(" ");
            tokens_page(
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

/// `POST /tokens/{id}/revoke`
pub async fn revoke_token(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: i64 = id
        .parse()
        .map_err(|_| PageError(AppError::NotFound("no such token".into())))?;
    accounts::revoke_token(&state.registry, &user, id).await?;
    Ok(Redirect::to("/tokens").into_response())
}
