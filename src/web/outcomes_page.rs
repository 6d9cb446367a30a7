//! `GET /outcomes`: the follow-up of social outcomes. Accepted figures summed by buyer,
//! supplier, IOP partner or social objective, per indicator, year and gender, with the list's
//! filters, a bar chart per indicator (SVG drawn by the template, no JavaScript) beside its table,
//! and `?format=csv` for Excel. An enterprise user sees only its own organisation's agreements.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::RawQuery;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::api::AgreementListQuery;
use super::auth::Acting;
use super::error::AppError;
use super::outcome_view::{Chart, chart};
use super::ui::{Csrf, PageError, base, render};
use crate::domain::access::Principal;
use crate::domain::codes::{Gender, PartyRole};
use crate::domain::indicators::{IndicatorId, Quantity, catalogue};
use crate::registry::export::{csv_for_excel, excel_safe, write_csv_record};
use crate::registry::outcomes::{FollowUpCell, FollowUpFilter, GroupBy};

/// The follow-up's own parameters, split off before the list filters are read.
#[derive(Debug, Default)]
struct Params {
    group: String,
    year: Option<i32>,
    indicator: Option<String>,
    gender: Option<String>,
    format: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        field: Some(field.into()),
        message: message.into(),
    }
}

fn split(query: &str) -> Result<(Params, String), AppError> {
    let mut p = Params {
        group: "buyer".into(),
        ..Params::default()
    };
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_owned();
        match k.as_ref() {
            "group" if !v.is_empty() => p.group = v,
            "year" if !v.is_empty() => {
                p.year = Some(
                    v.parse::<i32>()
                        .ok()
                        .filter(|y| (1900..=2200).contains(y))
                        .ok_or_else(|| bad("year", format!("\"{v}\" is not a year")))?,
                );
            }
            "indicator" if !v.is_empty() => {
                IndicatorId::parse(&v).map_err(|e| bad("indicator", e.to_string()))?;
                p.indicator = Some(v);
            }
            "gender" if !v.is_empty() => {
                Gender::parse(&v).map_err(|e| bad("gender", e))?;
                p.gender = Some(v);
            }
            "format" if !v.is_empty() => p.format = Some(v),
            "group" | "year" | "indicator" | "gender" | "format" => {}
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    Ok((p, rest.finish()))
}

fn group_of(code: &str) -> Result<GroupBy, AppError> {
    Ok(match code {
        "none" => GroupBy::None,
        "buyer" => GroupBy::Party(PartyRole::Buyer),
        "supplier" => GroupBy::Party(PartyRole::Supplier),
        "partner" => GroupBy::Party(PartyRole::IopPartner),
        "objective" => GroupBy::Objective,
        other => {
            return Err(bad(
                "group",
                format!("\"{other}\" is not one of: none, buyer, supplier, partner, objective"),
            ));
        }
    })
}

/// One row of the table: a group's indicator in a year, by part.
#[derive(Debug, Clone, Serialize)]
struct Row {
    key: String,
    name: String,
    indicator: String,
    year: i32,
    parts: BTreeMap<String, String>,
    agreements: i64,
}

/// One indicator's table and chart.
#[derive(Debug, Clone, Serialize)]
struct Block {
    id: String,
    name: String,
    unit: &'static str,
    rows: Vec<Row>,
    chart: Chart,
    chart_year: Option<i32>,
}

fn indicator_name(id: &str) -> (String, &'static str) {
    IndicatorId::parse(id)
        .ok()
        .and_then(|i| catalogue().get(&i).cloned())
        .map_or((id.to_owned(), ""), |i| {
            (i.name_sv, super::figures_form::unit_sv(i.unit))
        })
}

fn group_name(group: &str, c: &FollowUpCell) -> String {
    match group {
        "none" => "Alla avtal".into(),
        "objective" => super::ui::label_sv(Some("bt_775"), &c.key),
        _ => c.name.clone().unwrap_or_else(|| c.key.clone()),
    }
}

fn blocks(group: &str, cells: &[FollowUpCell]) -> Vec<Block> {
    let mut by_ind: BTreeMap<&str, BTreeMap<(String, i32), Row>> = BTreeMap::new();
    for c in cells {
        let rows = by_ind.entry(&c.indicator).or_default();
        let row = rows.entry((c.key.clone(), c.year)).or_insert_with(|| Row {
            key: c.key.clone(),
            name: group_name(group, c),
            indicator: c.indicator.clone(),
            year: c.year,
            parts: BTreeMap::new(),
            agreements: 0,
        });
        row.parts.insert(c.gender.clone(), c.value.format_swedish());
        if c.gender == "total" {
            row.agreements = c.agreements;
        }
    }
    by_ind
        .into_iter()
        .map(|(id, rows)| {
            let rows: Vec<Row> = rows.into_values().collect();
            let latest = rows.iter().map(|r| r.year).max();
            let points: Vec<(String, Quantity)> = cells
                .iter()
                .filter(|c| c.indicator == id && c.gender == "total" && Some(c.year) == latest)
                .map(|c| (group_name(group, c), c.value))
                .collect();
            let (name, unit) = indicator_name(id);
            Block {
                id: id.to_owned(),
                name,
                unit,
                rows,
                chart: chart(&points, None),
                chart_year: latest,
            }
        })
        .collect()
}

const CSV_HEADER: &[&str] = &[
    "grupp",
    "namn",
    "indikator",
    "indikatorns namn",
    "år",
    "kön",
    "värde",
    "antal avtal",
];

fn csv(group: &str, cells: &[FollowUpCell]) -> Result<Vec<u8>, AppError> {
    let w = csv_for_excel();
    let mut buf = "\u{feff}".as_bytes().to_vec();
    let internal = |e: crate::registry::export::ExportError| {
        AppError::Internal(anyhow::anyhow!(e.to_string()))
    };
    write_csv_record(&w, CSV_HEADER, &mut buf).map_err(internal)?;
    for c in cells {
        let gender = match c.gender.as_str() {
            "women" => "kvinnor",
            "men" => "män",
            "other" => "annat eller ej angivet",
            _ => "totalt",
        };
        let value = c.value.to_string().replace('.', ",");
        let record = [
            excel_safe(&c.key),
            excel_safe(&group_name(group, c)),
            excel_safe(&c.indicator),
            excel_safe(&indicator_name(&c.indicator).0),
            c.year.to_string(),
            gender.to_owned(),
            value,
            c.agreements.to_string(),
        ];
        write_csv_record(&w, &record, &mut buf).map_err(internal)?;
    }
    Ok(buf)
}

/// `GET /outcomes?group=&year=&indicator=&gender=&format=csv` plus the list's filters.
pub async fn follow_up(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let raw = raw.unwrap_or_default();
    super::extract::refuse_nul(raw.as_bytes())?;
    let (p, rest) = split(&raw)?;
    let group = group_of(&p.group)?;
    let q: AgreementListQuery =
        serde_urlencoded::from_str(&rest).map_err(|e| AppError::BadRequest {
            field: None,
            message: e.to_string(),
        })?;
    let filter = q.to_filter()?;
    let extra = FollowUpFilter {
        year: p.year,
        indicator: p.indicator.clone(),
        gender: p.gender.clone(),
    };
    let cells = state.registry.follow_up(&filter, &extra, group).await?;
    if p.format.as_deref() == Some("csv") {
        let mut resp = csv(&p.group, &cells)?.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"uppfoljning.csv\""),
        );
        return Ok(resp);
    }
    if let Some(f) = p.format.as_deref() {
        return Err(bad("format", format!("\"{f}\" is not one of: csv")).into());
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .filter(|(k, v)| !v.is_empty() && k != "format")
        .collect();
    let mut csv_params = params.clone();
    csv_params.push(("format".into(), "csv".into()));
    let csv_link = format!(
        "/outcomes?{}",
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(csv_params)
            .finish()
    );
    let current: BTreeMap<String, String> = params.into_iter().collect();
    let indicators: Vec<(String, String)> = catalogue()
        .indicators
        .iter()
        .map(|i| (i.id.to_string(), i.name_sv.clone()))
        .collect();
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("blocks", &blocks(&p.group, &cells));
    ctx.insert("group", &p.group);
    ctx.insert("current", &current);
    ctx.insert("indicators", &indicators);
    ctx.insert("csv_link", &csv_link);
    ctx.insert("objectives", &crate::domain::codes::SocialObjective::ALL);
    Ok(render("outcomes.html", &ctx, StatusCode::OK))
}
