//! The auditor's API: the log, its verification, an agreement as of a date, and what changed
//! between two dates. Thin handlers over `crate::registry::audit` and `crate::domain::audit`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::{MAX_LIMIT, MAX_PAGE};
use super::auth::Acting;
use super::error::AppError;
use super::extract::ApiQuery;
use super::state::AppState;
use crate::domain::agreement::Reference;
use crate::domain::audit::{Action, Change, VerifyOutcome, diff, end_of_day, start_of_day};
use crate::domain::dates::parse_iso_date;
use crate::registry::audit::{AuditFilter, AuditPage};

fn bad(field: &str, message: impl ToString) -> AppError {
    AppError::BadRequest {
        field: Some(field.to_owned()),
        message: message.to_string(),
    }
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, AppError> {
    parse_iso_date(raw).map_err(|e| bad(field, e))
}

fn reference(raw: &str) -> Result<Reference, AppError> {
    Reference::parse(raw).map_err(|e| bad("reference", e))
}

/// Query parameters of the log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    agreement: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
    limit: Option<u64>,
}

/// `GET /api/v1/audit?agreement=&actor=&action=&from=&to=&page=&limit=`: entries, newest first;
/// `from` and `to` are days in Sweden, both included.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    let (filter, page, limit) = q.to_filter()?;
    Ok(Json(state.registry.audit_page(&filter, page, limit).await?))
}

impl AuditQuery {
    /// The filter, page and page size, naming the first bad parameter.
    pub fn to_filter(self) -> Result<(AuditFilter, u64, u64), AppError> {
        let q = self;
        let limit = q.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(bad("limit", format!("limit is between 1 and {MAX_LIMIT}")));
        }
        let page = q.page.unwrap_or(1);
        if page == 0 || page > MAX_PAGE {
            return Err(bad(
                "page",
                format!("pages are numbered from 1 to {MAX_PAGE}"),
            ));
        }
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let agreement = nonempty(q.agreement)
            .map(|r| reference(&r).map(|r| r.to_string()))
            .transpose()?;
        let from = nonempty(q.from).map(|d| date("from", &d)).transpose()?;
        let to = nonempty(q.to).map(|d| date("to", &d)).transpose()?;
        // `to` before `from` is an empty range: no entries, as a query language would say.
        if q.actor.as_deref().is_some_and(|a| a.chars().count() > 200) {
            return Err(bad("actor", "an actor has at most 200 characters"));
        }
        let filter = AuditFilter {
            agreement,
            actor: nonempty(q.actor),
            action: nonempty(q.action)
                .map(|a| a.parse::<Action>().map_err(|rule| bad("action", rule)))
                .transpose()?,
            from: from.map(start_of_day),
            to: to.map(end_of_day),
        };
        Ok((filter, page, limit))
    }
}

/// `GET /api/v1/audit/verify`: checks the whole chain, like `avtal audit verify`.
pub async fn verify(State(state): State<AppState>) -> Result<Json<VerifyOutcome>, AppError> {
    Ok(Json(state.registry.verify_audit().await?))
}

/// An agreement rebuilt from the log.
#[derive(Debug, Serialize)]
pub struct AsOf {
    reference: String,
    as_of: NaiveDate,
    /// The audit entry the state comes from.
    entry: i64,
    /// When that entry was written.
    at: chrono::DateTime<chrono::Utc>,
    /// Its action.
    action: String,
    /// The stored agreement at the end of `as_of`.
    agreement: Value,
}

async fn agreement_as_of(
    state: &AppState,
    key: &Reference,
    day: NaiveDate,
) -> Result<Option<AsOf>, AppError> {
    Ok(state
        .registry
        .agreement_as_of(key, day)
        .await?
        .map(|(e, doc)| AsOf {
            reference: key.to_string(),
            as_of: day,
            entry: e.id,
            at: e.at,
            action: e.action,
            agreement: doc,
        }))
}

/// `GET /api/v1/agreements/{reference}/as-of/{date}`: the agreement as it stood at the end of
/// that day (in Sweden), rebuilt from the audit log; 404 if it did not exist yet.
pub async fn as_of(
    Acting(state): Acting,
    Path((key, day)): Path<(String, String)>,
) -> Result<Json<AsOf>, AppError> {
    let key = reference(&key)?;
    let day = date("date", &day)?;
    agreement_as_of(&state, &key, day)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("agreement {key} did not exist on {day}")))
}

/// Query parameters of the diff.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: String,
    to: String,
}

/// The changes of an agreement between two days.
#[derive(Debug, Serialize)]
pub struct DiffResponse {
    reference: String,
    from: NaiveDate,
    to: NaiveDate,
    /// The entry the old state comes from (`null`: the agreement did not exist yet).
    from_entry: Option<i64>,
    /// The entry the new state comes from.
    to_entry: i64,
    /// Changed fields, by JSON path.
    changes: Vec<Change>,
}

/// `GET /api/v1/agreements/{reference}/diff?from=DATE&to=DATE`: the fields that differ between
/// the agreement at the end of `from` and at the end of `to`.
pub async fn diff_between(
    Acting(state): Acting,
    Path(key): Path<String>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<DiffResponse>, AppError> {
    let key = reference(&key)?;
    let from = date("from", &q.from)?;
    let to = date("to", &q.to)?;
    // `to` before `from` is allowed: the changes that lead back from the later day's state.
    let new = agreement_as_of(&state, &key, to)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("agreement {key} did not exist on {to}")))?;
    let old = agreement_as_of(&state, &key, from).await?;
    let empty = Value::Object(serde_json::Map::new());
    let changes = diff(
        old.as_ref().map_or(&empty, |o| &o.agreement),
        &new.agreement,
    );
    Ok(Json(DiffResponse {
        reference: key.to_string(),
        from,
        to,
        from_entry: old.map(|o| o.entry),
        to_entry: new.entry,
        changes,
    }))
}
