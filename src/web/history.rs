//! The auditor's pages: the change log, an agreement as it stood on a date, the fields changed
//! between two dates, the verification of the audit chain, and the filtered change log as CSV
//! for Excel.
//! Thin handlers over `crate::registry::audit` and `crate::domain::audit`, shown in Swedish.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::MAX_LIMIT;
use super::audit::AuditQuery;
use super::auth::Acting;
use super::error::AppError;
use super::state::AppState;
use super::ui::Csrf;
use super::ui::{PageError, PageParams, base, render};
use crate::domain::access::Principal;
use crate::domain::agreement::Reference;
use crate::domain::audit::{ProblemKind, diff};
use crate::domain::dates::parse_iso_date;
use crate::registry::accounts;
use crate::registry::audit::{AuditFilter, AuditItem};
use crate::registry::export::{csv_for_excel, excel_safe, write_csv_record};

/// Swedish names of the agreement's sections and of a few fields, by JSON path.
static FIELDS_SV: std::sync::LazyLock<HashMap<String, String>> = std::sync::LazyLock::new(|| {
    serde_json::from_str(include_str!("../../templates/web/history_fields.json"))
        .unwrap_or_default()
});

/// The Swedish name of the field at `path`: its own name if it has one, else its section's.
pub fn field_sv(path: &str) -> String {
    if let Some(name) = FIELDS_SV.get(path) {
        return name.clone();
    }
    let section = path.split(['.', '[']).next().unwrap_or_default();
    FIELDS_SV.get(section).cloned().unwrap_or_default()
}

/// Query of the as-of page.
#[derive(Debug, Deserialize)]
pub struct AsOfQuery {
    date: Option<String>,
}

/// Query of the diff page.
#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A day typed into a form: the Swedish error names the field and the value.
fn day(label: &str, raw: Option<&str>) -> Result<NaiveDate, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(format!("Ange {label} (ÅÅÅÅ-MM-DD).")),
        Some(s) => parse_iso_date(s).map_err(|_| {
            format!("{label} ”{s}” är inget giltigt datum; skriv det som ÅÅÅÅ-MM-DD.")
        }),
    }
}

/// A JSON leaf as a cell.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every leaf of `v` as a row `{path, value}`, paths written as the diff writes them
/// (`period.current_end`, `options[0].state`).
fn flatten(path: &str, v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), x, out);
            }
        }
        leaf => out.push(json!({"path": path, "label": field_sv(path), "value": cell(leaf)})),
    }
}

/// A change as table rows `{path, old, new}`: an added or removed object or list is split into
/// its leaves, so every row holds one value.
fn leaf_changes(c: &crate::domain::audit::Change) -> Vec<Value> {
    let mut old = Vec::new();
    let mut new = Vec::new();
    flatten(&c.path, &c.old, &mut old);
    flatten(&c.path, &c.new, &mut new);
    if old.len() == 1 && new.len() == 1 {
        return vec![
            json!({"path": c.path, "label": field_sv(&c.path), "old": cell(&c.old), "new": cell(&c.new)}),
        ];
    }
    let value_at = |rows: &[Value], path: &Value| {
        rows.iter()
            .find(|r| &r["path"] == path)
            .map_or(Value::from("–"), |r| r["value"].clone())
    };
    let mut out: Vec<Value> = new
        .iter()
        .map(|r| json!({"path": r["path"], "label": r["label"], "old": value_at(&old, &r["path"]), "new": r["value"]}))
        .collect();
    out.extend(
        old.iter()
            .filter(|r| !new.iter().any(|n| n["path"] == r["path"]))
            .map(
                |r| json!({"path": r["path"], "label": r["label"], "old": r["value"], "new": "–"}),
            ),
    );
    out.retain(|r| r["old"] != r["new"]);
    out
}

/// The agreement's reference, or a 404 when it was never logged.
async fn known(state: &AppState, raw: &str) -> Result<Reference, PageError> {
    let missing = || PageError(AppError::NotFound("no such agreement".into()));
    let key = Reference::parse(raw).map_err(|_| missing())?;
    state
        .registry
        .agreement_registered_at(&key)
        .await?
        .ok_or_else(missing)?;
    Ok(key)
}

/// The stored agreement at the end of `day` in Sweden, with the entry it comes from.
async fn rebuilt(
    state: &AppState,
    key: &Reference,
    day: NaiveDate,
) -> Result<Option<(crate::domain::audit::Entry, Value)>, PageError> {
    Ok(state.registry.agreement_as_of(key, day).await?)
}

fn entry_json(e: &crate::domain::audit::Entry) -> Value {
    json!({"id": e.id, "at": e.at.format("%Y-%m-%d %H:%M:%S").to_string(), "actor": e.actor,
           "action": e.action})
}

/// What the history pages say about the clock: the pinned today of a demo (the log keeps real
/// time, and a day from the pinned today on reads the present), and, for an agreement missing on
/// the asked day, the day it was registered (real time, in Sweden).
async fn clock_context(
    state: &AppState,
    key: &Reference,
    missing: bool,
    ctx: &mut tera::Context,
) -> Result<(), PageError> {
    ctx.insert("pinned_today", &state.registry.settings.today);
    let registered = if missing {
        state
            .registry
            .agreement_registered_at(key)
            .await?
            .map(|at| at.with_timezone(&chrono_tz::Europe::Stockholm).date_naive())
    } else {
        None
    };
    ctx.insert("registered", &registered);
    Ok(())
}

/// `GET /agreements/{reference}/as-of?date=YYYY-MM-DD`: the agreement rebuilt from the log as
/// it stood at the end of that day, every field with its value.
pub async fn as_of_page(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(raw): Path<String>,
    PageParams(q): PageParams<AsOfQuery>,
) -> Result<Response, PageError> {
    let key = known(&state, &raw).await?;
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("reference", key.as_str());
    ctx.insert("date", &q.date.clone().unwrap_or_default());
    let (error, missing, entry, rows, status) = match day("datum", q.date.as_deref()) {
        Err(e) => (Some(e), false, None, Vec::new(), StatusCode::BAD_REQUEST),
        Ok(d) => match rebuilt(&state, &key, d).await? {
            None => (None, true, None, Vec::new(), StatusCode::OK),
            Some((e, doc)) => {
                let mut rows = Vec::new();
                flatten("", &doc, &mut rows);
                let title = doc.get("title").map(cell);
                ctx.insert("title", &title);
                (None, false, Some(entry_json(&e)), rows, StatusCode::OK)
            }
        },
    };
    clock_context(&state, &key, missing, &mut ctx).await?;
    ctx.insert("error", &error);
    ctx.insert("missing", &missing);
    ctx.insert("entry", &entry);
    ctx.insert("rows", &rows);
    Ok(render("history_as_of.html", &ctx, status))
}

/// `GET /agreements/{reference}/diff?from=&to=`: every field that differs between the
/// agreement at the end of `from` and at the end of `to`, with the old and the new value.
pub async fn diff_page(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(raw): Path<String>,
    PageParams(q): PageParams<DiffQuery>,
) -> Result<Response, PageError> {
    let key = known(&state, &raw).await?;
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("reference", key.as_str());
    ctx.insert("from", &q.from.clone().unwrap_or_default());
    ctx.insert("to", &q.to.clone().unwrap_or_default());
    let dates = day("från-datum", q.from.as_deref()).and_then(|f| {
        let t = day("till-datum", q.to.as_deref())?;
        if f > t {
            Err(format!("Till-datum {t} ligger före från-datum {f}."))
        } else {
            Ok((f, t))
        }
    });
    let mut error = None;
    let mut missing_to = false;
    let mut missing_from = false;
    let mut rows = Vec::new();
    let mut entries = (None, None);
    let mut status = StatusCode::OK;
    match dates {
        Err(e) => {
            error = Some(e);
            status = StatusCode::BAD_REQUEST;
        }
        Ok((f, t)) => match rebuilt(&state, &key, t).await? {
            None => missing_to = true,
            Some((new_entry, new)) => {
                let old = rebuilt(&state, &key, f).await?;
                missing_from = old.is_none();
                let empty = json!({});
                rows = diff(old.as_ref().map_or(&empty, |(_, d)| d), &new)
                    .iter()
                    .flat_map(leaf_changes)
                    .collect();
                entries = (
                    old.map(|(e, _)| entry_json(&e)),
                    Some(entry_json(&new_entry)),
                );
            }
        },
    }
    clock_context(&state, &key, missing_to, &mut ctx).await?;
    ctx.insert("error", &error);
    ctx.insert("missing_to", &missing_to);
    ctx.insert("missing_from", &missing_from);
    ctx.insert("rows", &rows);
    ctx.insert("from_entry", &entries.0);
    ctx.insert("to_entry", &entries.1);
    Ok(render("history_diff.html", &ctx, status))
}

/// `GET /audit/verify`: the verification of the whole chain (as `GET /api/v1/audit/verify` and
/// `avtal audit verify`), in Swedish, naming the first bad entry.
pub async fn verify_page(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
) -> Result<Response, PageError> {
    let outcome = state.registry.verify_audit().await?;
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("outcome", &outcome);
    let problem = outcome.problem.as_ref().map(|p| {
        let kind = match p.kind {
            ProblemKind::Edited => "har ändrats i efterhand",
            ProblemKind::Deleted => "saknas (en post har tagits bort)",
            ProblemKind::Reordered => "ligger i fel ordning",
        };
        json!({"id": p.id, "kind": kind, "message": p.message})
    });
    ctx.insert("problem", &problem);
    Ok(render("history_verify.html", &ctx, StatusCode::OK))
}

/// Replaces an e-mail address in the actor filter by the user's actor name `user:<id>`, so the
/// log can be filtered by user; an unknown address is a 400 naming it.
pub async fn resolve_actor(state: &AppState, mut f: AuditFilter) -> Result<AuditFilter, AppError> {
    if let Some(a) = f.actor.as_deref().filter(|a| a.contains('@')) {
        let found = accounts::list_users(&state.registry)
            .await?
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(a.trim()));
        match found {
            Some(u) => f.actor = Some(format!("user:{}", u.id)),
            None => {
                return Err(AppError::BadRequest {
                    field: Some("actor".into()),
                    message: format!("no user has the address {a}"),
                });
            }
        }
    }
    Ok(f)
}

/// The header of the audit CSV.
const CSV_HEADER: &[&str] = &[
    "Nr",
    "Tid (UTC)",
    "Utförd av",
    "Användare",
    "Händelse",
    "Posttyp",
    "Post",
    "Avtal",
    "Före",
    "Efter",
    "Föregående hash",
    "Hash",
];

fn csv_record(e: &AuditItem, who: &HashMap<String, String>) -> Vec<String> {
    let json_text = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    vec![
        e.id.to_string(),
        e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        excel_safe(&e.actor),
        who.get(&e.actor).map(|s| excel_safe(s)).unwrap_or_default(),
        excel_safe(&e.action),
        excel_safe(&e.entity_kind),
        excel_safe(&e.entity_key),
        excel_safe(e.agreement.as_deref().unwrap_or_default()),
        excel_safe(&json_text(&e.before)),
        excel_safe(&json_text(&e.after)),
        e.prev_hash.clone(),
        e.hash.clone(),
    ]
}

/// `GET /audit/export.csv?agreement=&actor=&action=&from=&to=`: the entries the log page's
/// filters select, newest first, as CSV for Excel (BOM, `;`, CRLF, formula guard), read in one
/// snapshot and streamed a page at a time.
pub async fn export_csv(
    State(state): State<AppState>,
    PageParams(q): PageParams<AuditQuery>,
) -> Result<Response, PageError> {
    let (filter, _, _) = q.to_filter()?;
    let filter = resolve_actor(&state, filter).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let registry = state.registry.clone();
    tokio::spawn(async move {
        let result: Result<u64, anyhow::Error> = async {
            let mut pages = registry.audit_pages(filter, MAX_LIMIT).await?;
            let csv = csv_for_excel();
            let mut buf = "\u{feff}".as_bytes().to_vec();
            write_csv_record(&csv, CSV_HEADER, &mut buf)?;
            let mut n = 0;
            while let Some(items) = pages.next_page().await? {
                for e in &items {
                    write_csv_record(&csv, &csv_record(e, &pages.who), &mut buf)?;
                }
                n += items.len() as u64;
                tx.send(Ok(std::mem::take(&mut buf)))
                    .await
                    .map_err(|_| anyhow::anyhow!("the client went away"))?;
            }
            Ok(n)
        }
        .await;
        match result {
            Ok(n) => tracing::info!(entries = n, "audit log exported"),
            Err(e) => {
                tracing::warn!(error = %e, "audit export stopped");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"andringslogg.csv\""),
    );
    Ok(resp)
}

/// The day in Sweden of an instant (the day a log entry belongs to on the pages).
pub fn swedish_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::Stockholm).date_naive()
}

/// `GET /audit`: the change log for admins, officers and auditors, newest first, with the
/// acting user's address beside `user:<id>`.
pub async fn audit_log(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    PageParams(q): PageParams<AuditQuery>,
    raw: axum::extract::RawQuery,
) -> Result<Response, PageError> {
    let (filter, page, limit) = q.to_filter()?;
    let filter = resolve_actor(&state, filter).await?;
    let result = state.registry.audit_page(&filter, page, limit).await?;
    let users: HashMap<String, String> = accounts::list_users(&state.registry)
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(raw.0.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(k, v)| !v.is_empty() && k != "page")
            .collect();
    let link = |p: u64| {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .append_pair("page", &p.to_string())
            .finish();
        format!("/audit?{q}")
    };
    let pages = result.total.div_ceil(limit).max(1);
    let rows: Vec<Value> = result
        .items
        .iter()
        .map(|e| {
            json!({"id": e.id, "at": e.at.format("%Y-%m-%d %H:%M:%S").to_string(), "actor": e.actor,
                   "who": users.get(&e.actor), "action": e.action, "entity_kind": e.entity_kind,
                   "entity_key": e.entity_key, "agreement": e.agreement,
                   "hash": e.hash.get(..12).unwrap_or_default(),
                   "day": swedish_day(e.at).to_string(),
                   "day_before": swedish_day(e.at).pred_opt().map(|d| d.to_string())})
        })
        .collect();
    let current: HashMap<String, String> = params.iter().cloned().collect();
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("rows", &rows);
    ctx.insert("total", &result.total);
    ctx.insert("page", &result.page);
    ctx.insert("pages", &pages);
    ctx.insert("q", &current);
    ctx.insert("prev_link", &(page > 1).then(|| link(page - 1)));
    ctx.insert("next_link", &(page < pages).then(|| link(page + 1)));
    Ok(render("audit.html", &ctx, StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_by_their_own_swedish_name_or_their_sections() {
        assert_eq!(field_sv("period.current_end"), "Gällande slutdatum");
        assert_eq!(field_sv("options[0].state"), "Förlängningsoptioner");
        assert_eq!(field_sv("nothing.known"), "");
    }

    #[test]
    fn an_added_object_becomes_one_row_per_value() {
        let c = crate::domain::audit::Change {
            path: "period".into(),
            old: Value::Null,
            new: json!({"start": "2026-01-01", "outer_limit": null}),
        };
        let rows = leaf_changes(&c);
        assert_eq!(
            rows,
            vec![
                json!({"path": "period.start", "label": "Startdatum", "old": "–", "new": "2026-01-01"})
            ],
            "a null next to nothing is no change"
        );
    }
}
