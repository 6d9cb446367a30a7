//! The agreement form's handlers: show it blank or filled from a stored agreement, create and
//! update through the registry, and re-show it after a refusal with each broken rule in Swedish
//! next to its input, keeping what the user typed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::agreement_build::agreement_from;
use super::agreement_form::{AgreementForm, CHOICE_KEYS, GROUPS, cell};
use super::body::{self, MAX_ROWS};
use crate::domain::access::Principal;
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::codes::{
    AgreementKind, ContractNature, ContributionKind, FrameworkType, LegalBasis, NoticeEffect,
    OptionDecider, PartyRole, ProcedureType, Recurrence, ReservedExecution, ReservedParticipation,
    SocialObjective, StrategicProcurement, SustainabilityStrategy, ValueBasis,
};
use crate::domain::party::Violation;
use crate::registry::{RegistryError, StoreError, Stored};
use crate::web::auth::Acting;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::ui::Csrf;
use crate::web::ui::{PageError, PageParams, base, render, rule_sv};

/// The agreement being edited: its reference and the version the form was read at.
type Editing<'a> = Option<(&'a str, i32)>;

/// The key of an input in the template's maps: `options[1].months` -> `options-1-months`.
fn key_of(name: &str) -> String {
    name.replace(['.', '['], "-").replace(']', "")
}

/// The element id of an input: `options[1].months` -> `f-options-1-months`.
fn dom_id(name: &str) -> String {
    format!("f-{}", key_of(name))
}

/// How many rows each group shows: its filled rows plus one blank, at least what the form
/// showed before, and one more for the group whose "Lägg till rad" was pressed.
fn rows_of(form: &AgreementForm) -> HashMap<&'static str, usize> {
    GROUPS
        .iter()
        .map(|g| {
            let before: usize = form
                .rows
                .get(g.name)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut n = (form.filled_rows(g.name) + 1).max(before);
            if form.add == g.name {
                n += 1;
            }
            (g.name, n.clamp(1, MAX_ROWS))
        })
        .collect()
}

/// Every input name the form shows.
fn input_names(inputs: &BTreeMap<String, String>, rows: &HashMap<&str, usize>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = inputs.keys().cloned().collect();
    for g in GROUPS {
        for i in 0..rows.get(g.name).copied().unwrap_or(0) {
            names.extend(g.keys.iter().map(|k| cell(g.path, i, k)));
        }
    }
    names
}

/// The input a violation belongs to (None: shown above the form).
fn field_of(v: &Violation, a: Option<&Agreement>, names: &BTreeSet<String>) -> Option<String> {
    let f = v.field.as_str();
    if names.contains(f) {
        return Some(f.to_owned());
    }
    let mapped = match f {
        "value" => Some("value.amount_sek"),
        "iop" => Some("iop.purpose"),
        "decision" => Some("decision.body"),
        "iop.legal_assessment" => Some("iop.legal_assessment.date"),
        "contacts.signatories" => Some("contacts.signatories[0]"),
        "iop.goals" => Some("iop.goals[0].text"),
        "iop.activities" => Some("iop.activities[0].text"),
        "iop.contributions" => Some("iop.contributions[0].text"),
        "tacit_renewal" => Some("tacit_renewal.months"),
        "termination" => Some("termination.notice_months"),
        "eforms" => Some("eforms.bt_06"),
        "parties" => Some(if v.rule == "buyer_required" {
            "buyer"
        } else {
            "partner"
        }),
        _ => None,
    };
    if let Some(m) = mapped {
        return Some(m.to_owned());
    }
    if let Some(rest) = f.strip_prefix("parties[") {
        let (i, part) = rest.split_once(']')?;
        let i: usize = i.parse().ok()?;
        let role = a?.parties.get(i)?.role;
        let who = if role == PartyRole::Buyer {
            "buyer"
        } else {
            "partner"
        };
        return Some(if part == ".unit" {
            format!("{who}_unit")
        } else {
            who.into()
        });
    }
    // The terms' groups name the group; their first input shows it.
    match f {
        "terms.price" | "terms.price.adjustment" => return Some("terms.price.model".into()),
        "terms.state_aid" => return Some("terms.state_aid.basis".into()),
        "terms.penalty" => return Some("terms.penalty.amount_sek".into()),
        "terms.insurance" => return Some("terms.insurance.liability_sek".into()),
        "terms.invoicing" => return Some("terms.invoicing.payment_days".into()),
        "terms.labour_law_conditions" => {
            return Some("terms.labour_law_conditions".into());
        }
        _ if f.starts_with("terms.excluded_clauses") => {
            return Some("terms.excluded_clauses".into());
        }
        _ => {}
    }
    // A part of a row the form does not show (an option's decision): the row's first text input.
    for g in GROUPS {
        if let Some(rest) = f.strip_prefix(&format!("{}[", g.path)) {
            let i: usize = rest.split(']').next()?.parse().ok()?;
            let first = cell(g.path, i, g.keys.first().copied().unwrap_or_default());
            let text_key = g
                .keys
                .iter()
                .find(|k| !CHOICE_KEYS.contains(k))
                .copied()
                .unwrap_or_default();
            let text = cell(g.path, i, text_key);
            return Some(if names.contains(&text) { text } else { first });
        }
    }
    None
}

/// Renders the form with `form`'s inputs and each violation at its input.
fn show_form(
    user: &Principal,
    csrf: Option<&Csrf>,
    form: &AgreementForm,
    violations: &[Violation],
    attempted: Option<&Agreement>,
    editing: Editing<'_>,
    status: StatusCode,
) -> Response {
    let rows = rows_of(form);
    let inputs = form.inputs();
    let names = input_names(&inputs, &rows);
    let mut by_field: HashMap<String, Vec<String>> = HashMap::new();
    let mut general = Vec::new();
    let mut summary = Vec::new();
    for v in violations {
        // A new agreement's current end is its original end: one message at the shown field.
        if editing.is_none()
            && v.field == "period.current_end"
            && violations
                .iter()
                .any(|o| o.field == "period.original_end" && o.rule == v.rule)
        {
            continue;
        }
        let field = field_of(v, attempted, &names).map(|name| {
            if name == "period.current_end" && editing.is_none() {
                "period.original_end".to_owned()
            } else {
                name
            }
        });
        let text = rule_sv(v);
        match field {
            Some(name) => {
                let list = by_field.entry(name.clone()).or_default();
                if !list.contains(&text) {
                    list.push(text.clone());
                    summary.push(json!({"id": dom_id(&name), "text": text}));
                }
            }
            None => general.push(format!("{}: {text}", v.field)),
        }
    }
    // The template looks values and errors up by key: tera reads `[` in a key as an index.
    let shown: HashMap<String, String> = names
        .iter()
        .map(|n| (key_of(n), inputs.get(n).cloned().unwrap_or_default()))
        .collect();
    let by_field: HashMap<String, Vec<String>> =
        by_field.into_iter().map(|(k, v)| (key_of(&k), v)).collect();
    let row_lists: HashMap<&str, Vec<usize>> =
        rows.iter().map(|(k, n)| (*k, (0..*n).collect())).collect();
    let mut ctx = base(Some(user), csrf);
    ctx.insert("f", &shown);
    ctx.insert("errors", &by_field);
    ctx.insert("general", &general);
    ctx.insert("summary", &summary);
    ctx.insert("error_count", &(summary.len() + general.len()));
    ctx.insert("rows", &row_lists);
    ctx.insert(
        "editing",
        &editing.map(|(r, v)| json!({"reference": r, "version": v})),
    );
    ctx.insert("kinds", &AgreementKind::ALL);
    ctx.insert("bases", &LegalBasis::ALL);
    ctx.insert("value_bases", &ValueBasis::ALL);
    ctx.insert("procedures", &ProcedureType::ALL);
    ctx.insert("bt_71", &ReservedParticipation::ALL);
    ctx.insert("bt_736", &ReservedExecution::ALL);
    ctx.insert("bt_06", &StrategicProcurement::ALL);
    ctx.insert("bt_765", &FrameworkType::ALL);
    ctx.insert("bt_23", &ContractNature::ALL);
    let procurement_kinds: Vec<AgreementKind> = AgreementKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_procurement())
        .collect();
    ctx.insert("procurement_kinds", &procurement_kinds);
    ctx.insert("objectives", &SocialObjective::ALL);
    ctx.insert("strategies", &SustainabilityStrategy::ALL);
    ctx.insert("contribution_kinds", &ContributionKind::ALL);
    ctx.insert("deciders", &OptionDecider::ALL);
    ctx.insert("recurrences", &Recurrence::ALL);
    ctx.insert("effects", &NoticeEffect::ALL);
    ctx.insert("personal_data", super::terms_form::PERSONAL_DATA);
    ctx.insert("state_aid_bases", super::terms_form::STATE_AID_BASES);
    ctx.insert("optional_clauses", crate::domain::terms::OPTIONAL_CLAUSES);
    ctx.insert(
        "report_kinds",
        &[
            "annual_report",
            "participant_statistics",
            "social_clause_report",
            "follow_up_meeting",
            "final_report",
            "occupancy_report",
        ],
    );
    render("form.html", &ctx, status)
}

/// Query of the new-agreement form.
#[derive(Debug, serde::Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
}

/// `GET /agreements/new?kind=iop`
pub async fn new_form(
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    PageParams(q): PageParams<NewQuery>,
) -> Result<Response, PageError> {
    let kind = q.kind.unwrap_or_else(|| "iop".into());
    let form = AgreementForm {
        legal_basis: if kind == "iop" { "iop" } else { "lou" }.into(),
        kind,
        buyer: user
            .org
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        ..AgreementForm::default()
    };
    Ok(show_form(
        &user,
        csrf.as_ref().map(|e| &e.0),
        &form,
        &[],
        None,
        None,
        StatusCode::OK,
    ))
}

/// `POST /agreements/new`
pub async fn create(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (form, nul) = body::parse_naming_nul::<AgreementForm>(&body)?;
    let form = form.without_blank_rows();
    let csrf = csrf.as_ref().map(|e| &e.0);
    if !nul.is_empty() {
        return Ok(show_form(
            &user,
            csrf,
            &form,
            &nul_violations(&nul),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if !form.add.is_empty() {
        return Ok(show_form(
            &user,
            csrf,
            &form,
            &[],
            None,
            None,
            StatusCode::OK,
        ));
    }
    let a = match agreement_from(&form, None) {
        Ok(a) => a,
        Err(v) => {
            return Ok(show_form(
                &user,
                csrf,
                &form,
                &v,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match state.registry.create_agreement(a.clone()).await {
        Ok(s) => Ok(saved(&s.data.reference)),
        Err(e) => refused(e, &user, csrf, &form, &a, None),
    }
}

/// The inputs that held a NUL character, each as a broken rule at its input (no store keeps
/// one alike; the form comes back without it).
fn nul_violations(inputs: &[String]) -> Vec<Violation> {
    inputs
        .iter()
        .map(|name| {
            Violation::new(
                name.as_str(),
                "",
                "no_nul",
                "a text may not contain the NUL character (U+0000)",
            )
        })
        .collect()
}

fn saved(reference: &Reference) -> Response {
    Redirect::to(&format!("/agreements/{reference}?ok=saved")).into_response()
}

/// The form again after the registry refused the agreement built from it.
fn refused(
    e: RegistryError,
    user: &Principal,
    csrf: Option<&Csrf>,
    form: &AgreementForm,
    a: &Agreement,
    editing: Editing<'_>,
) -> Result<Response, PageError> {
    let v = match e {
        RegistryError::Invalid(v) => v,
        RegistryError::Store(StoreError::Duplicate { .. }) => {
            vec![Violation::new("reference", &a.reference, "taken", "taken")]
        }
        RegistryError::Store(StoreError::Stale { .. }) => {
            vec![Violation::new("agreement", "", "stale", "stale")]
        }
        other => return Err(other.into()),
    };
    Ok(show_form(
        user,
        csrf,
        form,
        &v,
        Some(a),
        editing,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

async fn load(state: &AppState, key: &str) -> Result<Stored<Agreement>, PageError> {
    let key = Reference::parse(key)
        .map_err(|_| PageError(AppError::NotFound("no such agreement".into())))?;
    Ok(state.registry.agreement(&key).await?)
}

/// `GET /agreements/{reference}/edit`
pub async fn edit_form(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let stored = load(&state, &key).await?;
    state.registry.ensure_may_edit(&stored.data)?;
    let r = stored.data.reference.to_string();
    Ok(show_form(
        &user,
        csrf.as_ref().map(|e| &e.0),
        &AgreementForm::from(&stored.data),
        &[],
        None,
        Some((&r, stored.version)),
        StatusCode::OK,
    ))
}

/// `POST /agreements/{reference}/edit`: saves at the version the form was read at.
pub async fn update(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let stored = load(&state, &key).await?;
    state.registry.ensure_may_edit(&stored.data)?;
    let (form, nul) = body::parse_naming_nul::<AgreementForm>(&body)?;
    let mut form = form.without_blank_rows();
    let version: i32 = form.version.parse().unwrap_or(stored.version);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let r = stored.data.reference.to_string();
    // The reference and the kind are not edited.
    form.reference = r.clone();
    form.kind = stored.data.kind.code().to_owned();
    let editing = Some((r.as_str(), version));
    if !nul.is_empty() {
        return Ok(show_form(
            &user,
            csrf,
            &form,
            &nul_violations(&nul),
            None,
            editing,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if !form.add.is_empty() {
        return Ok(show_form(
            &user,
            csrf,
            &form,
            &[],
            None,
            editing,
            StatusCode::OK,
        ));
    }
    let a = match agreement_from(&form, Some(&stored.data)) {
        Ok(a) => a,
        Err(v) => {
            return Ok(show_form(
                &user,
                csrf,
                &form,
                &v,
                None,
                editing,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match state
        .registry
        .update_agreement(&stored.data.reference, version, a.clone())
        .await
    {
        Ok(s) => Ok(saved(&s.data.reference)),
        Err(e) => refused(e, &user, csrf, &form, &a, editing),
    }
}
