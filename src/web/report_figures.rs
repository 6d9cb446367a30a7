//! The figures of one report occurrence for signed-in users: the page where the agreement's
//! officer enters or corrects them and the reporting enterprise hands them in (the signed link's
//! table, CSV file and confirmation, from `figures_form`), and the API that takes them as the
//! documented CSV (or JSON) and serves the pre-filled CSV template. Access and the rules are
//! the registry's (`Registry::figures_occurrence`, `Registry::hand_in_figures`).

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::auth::Acting;
use super::error::{AppError, parse_param};
use super::figures_form::{self, CsvFigures};
use super::links::{FormFileError, read_report_form};
use super::ui::{Csrf, PageError, base, render};
use crate::domain::access::Principal;
use crate::domain::agreement::Reference;
use crate::domain::codes::OccurrenceState;
use crate::domain::dates::parse_iso_date;
use crate::domain::outcomes::Figure;
use crate::domain::party::Violation;
use crate::links::files;
use crate::registry::RegistryError;
use crate::registry::links::Upload;
use crate::registry::outcomes::{FiguresDone, FiguresOccurrence, FiguresRight};
use crate::text::swedish_date;

/// The path of an occurrence's figures page.
fn page_path(reference: &str, label: &str, period_end: NaiveDate) -> String {
    format!(
        "/agreements/{reference}/reports/{}/{period_end}/figures",
        form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>()
    )
}

/// The file name of an occurrence's CSV template.
fn csv_name(reference: &str, label: &str, period_end: NaiveDate) -> String {
    let label: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{reference}-{label}-{period_end}-siffror.csv")
}

/// A page's path parameters, or "not found" (a bad reference or date names no occurrence).
fn page_key(raw: &str, period_end: &str) -> Result<(Reference, NaiveDate), PageError> {
    let not_found = || PageError(AppError::NotFound("no such report".into()));
    let key = Reference::parse(raw).map_err(|_| not_found())?;
    let period_end = parse_iso_date(period_end).map_err(|_| not_found())?;
    Ok((key, period_end))
}

/// The figures page of `o`: the form filled from `fields` (as typed) or the stored figures, each
/// error beside its input.
fn figures_page(
    user: &Principal,
    csrf: Option<&Csrf>,
    o: &FiguresOccurrence,
    fields: Option<&std::collections::HashMap<String, String>>,
    problems: &[Violation],
    status: StatusCode,
) -> Response {
    let a = &o.stored.data;
    let reference = a.reference.as_str();
    let occ = &o.found.occurrence;
    let mut rows = o
        .obligation()
        .map(|ob| figures_form::rows(a, ob, fields, o.figures()))
        .unwrap_or_default();
    let errors = figures_form::attach(&mut rows, problems);
    let has_field_errors = rows.iter().any(|r| !r.errors.is_empty());
    let mut ctx = base(Some(user), csrf);
    ctx.insert("reference", reference);
    ctx.insert("title", &a.title);
    ctx.insert(
        "report_kind",
        &super::ui::label_sv(None, &o.found.occurrence.kind),
    );
    ctx.insert("final_report", &occ.final_report);
    ctx.insert("period_end", &swedish_date(occ.period_end));
    ctx.insert("due", &swedish_date(occ.due));
    ctx.insert("state", &occ.state);
    ctx.insert(
        "correcting",
        &(o.right == FiguresRight::Officer && crate::domain::reports::is_closed(occ.state)),
    );
    ctx.insert("may_change", &o.may_change());
    ctx.insert("figures", &rows);
    ctx.insert("errors", &errors);
    ctx.insert("has_field_errors", &has_field_errors);
    ctx.insert(
        "confirm",
        &problems.iter().any(|v| v.rule == "unusual_value"),
    );
    let path = page_path(reference, &o.found.label, occ.period_end);
    ctx.insert("action", &path);
    ctx.insert("csv_href", &format!("{path}.csv"));
    ctx.insert(
        "csv_name",
        &csv_name(reference, &o.found.label, occ.period_end),
    );
    render("figures.html", &ctx, status)
}

/// `GET /agreements/{reference}/reports/{report}/{period_end}/figures`: the form for the
/// occurrence's figures, for its officer (enter, or correct once handed in) and the reporting
/// enterprise user (hand in while it is open).
pub async fn show(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, label, period_end)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let (key, period_end) = page_key(&raw, &period_end)?;
    let o = state
        .registry
        .figures_occurrence(&key, &label, period_end)
        .await?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    Ok(figures_page(&user, csrf, &o, None, &[], StatusCode::OK))
}

/// `POST /agreements/{reference}/reports/{report}/{period_end}/figures` (multipart: the inputs
/// `fig.<indicator>.<part>`, a CSV file `figures_csv`, `confirmed`, and with an open occurrence
/// a report `file`): hands in or corrects the figures; shown again with each Swedish error
/// beside its input, or back to the agreement page.
pub async fn submit(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((raw, label, period_end)): Path<(String, String, String)>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let csrf = csrf.as_ref().map(|e| &e.0);
    let (key, period_end) = page_key(&raw, &period_end)?;
    let registry = &state.registry;
    let o = registry
        .figures_occurrence(&key, &label, period_end)
        .await?;
    let Some(ob) = o.obligation() else {
        return Err(PageError(AppError::NotFound("no such report".into())));
    };
    let read = match form {
        Ok(form) => read_report_form(form, registry.settings.upload_max_bytes).await,
        Err(_) => Err(FormFileError::Missing),
    };
    let (file, mut fields) = match read {
        Ok(f) => f,
        Err(FormFileError::TooLarge) => {
            let v = Violation::new("file", "", "too_large", "the file is too large");
            return Ok(figures_page(
                &user,
                csrf,
                &o,
                None,
                &[v],
                StatusCode::PAYLOAD_TOO_LARGE,
            ));
        }
        Err(FormFileError::Missing) => (None, Default::default()),
    };
    let mut problems = Vec::new();
    // A figures CSV fills the inputs it names (typed inputs win).
    if let Some(text) = fields
        .get("figures_csv")
        .filter(|t| !t.trim().is_empty())
        .cloned()
    {
        match figures_form::csv_table(&text) {
            Ok(table) => {
                problems.extend(figures_form::csv_foreign_rows(&table, ob));
                for (k, v) in table.fields {
                    if fields.get(&k).is_none_or(|t| t.trim().is_empty()) {
                        fields.insert(k, v);
                    }
                }
            }
            Err(v) => problems.push(v),
        }
    }
    let (figures, bad) = figures_form::parse(&o.stored.data, ob, &fields);
    problems.extend(bad);
    let upload = match file {
        Some((bytes, original_name))
            if !crate::domain::reports::is_closed(o.found.occurrence.state) =>
        {
            match files::sniff(&bytes) {
                Some(file_type) => Some(Upload {
                    bytes,
                    file_type,
                    original_name,
                }),
                None => {
                    problems.push(Violation::new(
                        "file",
                        original_name.unwrap_or_default(),
                        "file_type",
                        "not a PDF, ODT or DOCX file",
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    let confirmed = fields.get("confirmed").is_some_and(|v| !v.is_empty());
    if problems.is_empty() {
        let done = registry
            .hand_in_figures(
                &key,
                &label,
                period_end,
                figures,
                confirmed,
                upload.as_ref(),
            )
            .await;
        match done {
            Ok((stored, done)) => {
                let ok = match done {
                    FiguresDone::Submitted => "report",
                    FiguresDone::Corrected => "figures",
                };
                return Ok(Redirect::to(&format!(
                    "/agreements/{}?ok={ok}#h-reports",
                    stored.data.reference
                ))
                .into_response());
            }
            Err(RegistryError::Invalid(v)) => problems = v,
            Err(e) => return Err(e.into()),
        }
    }
    if upload.is_some() {
        problems.push(Violation::new(
            "file",
            "",
            "choose_file_again",
            "choose the file again when you send the form again",
        ));
    }
    Ok(figures_page(
        &user,
        csrf,
        &o,
        Some(&fields),
        &problems,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

fn api_key(raw: &str, period_end: &str) -> Result<(Reference, NaiveDate), AppError> {
    Ok((
        parse_param("reference", raw, Reference::parse)?,
        parse_param("period_end", period_end, parse_iso_date)?,
    ))
}

/// `GET .../reports/{report}/{period_end}/figures` (API, and `figures.csv` on the pages): the
/// CSV template of the occurrence, one row per indicator its report carries, filled with the
/// figures handed in before; UTF-8 with a byte-order mark so Excel reads it.
pub async fn csv_template(
    Acting(state): Acting,
    Path((raw, label, period_end)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let (key, period_end) = api_key(&raw, &period_end)?;
    let o = state
        .registry
        .figures_occurrence(&key, &label, period_end)
        .await?;
    let text = o
        .obligation()
        .map(|ob| figures_form::csv_template(&o.stored.data, ob, o.figures()))
        .unwrap_or_default();
    let name = csv_name(key.as_str(), &o.found.label, o.found.occurrence.period_end);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        format!("\u{feff}{text}"),
    )
        .into_response())
}

/// The JSON body of `POST .../figures`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresBody {
    /// The figures of the indicators the report carries.
    pub figures: Vec<Figure>,
    /// Whether figures far off the earlier periods were checked and confirmed.
    #[serde(default)]
    pub confirmed: bool,
}

/// What `POST .../figures` answers.
#[derive(Debug, Serialize)]
pub struct FiguresAnswer {
    reference: String,
    report: String,
    period_end: NaiveDate,
    /// `submitted` (handed in with them) or `corrected` (a handed-in report's figures replaced).
    done: FiguresDone,
    state: OccurrenceState,
    figures: Vec<Figure>,
}

/// Whether the query says `confirmed=true` (or `1`).
fn confirmed_in(query: Option<&str>) -> Result<bool, AppError> {
    let mut confirmed = false;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k != "confirmed" {
            return Err(AppError::BadRequest {
                field: Some(k.into_owned()),
                message: "the only query parameter is confirmed=true".into(),
            });
        }
        confirmed = match v.as_ref() {
            "true" | "1" => true,
            "false" | "0" | "" => false,
            other => {
                return Err(AppError::BadRequest {
                    field: Some("confirmed".into()),
                    message: format!("\"{other}\" is not true or false"),
                });
            }
        };
    }
    Ok(confirmed)
}

/// `POST /api/v1/agreements/{reference}/reports/{report}/{period_end}/figures`: the figures of
/// one occurrence as the documented CSV (`Content-Type: text/csv`, `?confirmed=true` to let
/// figures far off the earlier periods through) or JSON (`{"figures": [...], "confirmed"}`).
/// Hands an open occurrence in, or corrects a handed-in one's figures (its officer). A refusal
/// is 422 naming the CSV row and column (`csv.row[3].kvinnor`), the value and the rule.
pub async fn submit_api(
    Acting(state): Acting,
    Path((raw, label, period_end)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<FiguresAnswer>, AppError> {
    let (key, period_end) = api_key(&raw, &period_end)?;
    let mut confirmed = confirmed_in(query.as_deref())?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let registry = &state.registry;
    let (figures, table) = match media.as_str() {
        "text/csv" | "text/plain" => {
            let text = std::str::from_utf8(&body).map_err(|_| {
                Violation::new(
                    "csv",
                    "",
                    "utf8",
                    "the CSV is not UTF-8 text: save it as CSV UTF-8",
                )
            })?;
            let table = figures_form::csv_table(text)?;
            let o = registry
                .figures_occurrence(&key, &label, period_end)
                .await?;
            let Some(ob) = o.obligation() else {
                return Err(AppError::NotFound("no such report".into()));
            };
            let mut problems = figures_form::csv_foreign_rows(&table, ob);
            let (figures, bad) = figures_form::parse(&o.stored.data, ob, &table.fields);
            problems.extend(bad.into_iter().map(|v| table.locate(v)));
            if !problems.is_empty() {
                return Err(AppError::Invalid(problems));
            }
            (figures, Some(table))
        }
        "application/json" => {
            let b: FiguresBody =
                serde_json::from_slice(&body).map_err(|e| AppError::BadRequest {
                    field: None,
                    message: format!("the body is not figures JSON: {e}"),
                })?;
            confirmed |= b.confirmed;
            (b.figures, None)
        }
        _ => {
            return Err(AppError::BadRequest {
                field: Some("content-type".into()),
                message: "send the figures as text/csv (the template of GET .../figures) or application/json".into(),
            });
        }
    };
    let located = |e: RegistryError| -> AppError {
        match (e, &table) {
            (RegistryError::Invalid(v), Some(t)) => {
                AppError::Invalid(v.into_iter().map(|v| CsvFigures::locate(t, v)).collect())
            }
            (e, _) => e.into(),
        }
    };
    let (stored, done) = registry
        .hand_in_figures(&key, &label, period_end, figures, confirmed, None)
        .await
        .map_err(located)?;
    let o = stored
        .data
        .reporting
        .iter()
        .zip(crate::domain::reports::labels(&stored.data))
        .find(|(_, l)| *l == label)
        .and_then(|(ob, _)| ob.occurrences.iter().find(|r| r.period_end == period_end));
    Ok(Json(FiguresAnswer {
        reference: stored.data.reference.to_string(),
        report: label,
        period_end,
        done,
        state: o.map_or(OccurrenceState::Submitted, |r| r.state),
        figures: o.map(|r| r.figures.clone()).unwrap_or_default(),
    }))
}
