//! Form handlers: create and edit an agreement, the actions on an agreement, generating a
//! document, and API tokens. Each parses the form into the registry's own input and calls the
//! same use case as the JSON API; a refusal re-shows the form with each broken rule in Swedish
//! next to its field, keeping what the user typed.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Acting, Csrf};
use super::error::AppError;
use super::pages::{self, PageError, base, render, rule_sv};
use crate::accounts;
use crate::db::store::{self, Stored};
use crate::documents::{self, DocumentRequest};
use crate::domain::access::Principal;
use crate::domain::agreement::{Agreement, Amendment, Reference};
use crate::domain::codes::{AgreementKind, LegalBasis, PartyRole, ValueBasis};
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{EmailAddress, Violation};
use crate::registry::{AgreementAction, RegistryError};

type Fields = HashMap<String, String>;

fn parse_form(body: &Bytes) -> Fields {
    form_urlencoded::parse(body).into_owned().collect()
}

fn get<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or_default()
}

fn not_found() -> PageError {
    PageError(AppError::NotFound("no such agreement".into()))
}

/// The text fields of the agreement form, by name (a JSON path of the agreement where there is one).
const TEXT_FIELDS: &[&str] = &[
    "reference",
    "kind",
    "title",
    "diarienummer",
    "legal_basis",
    "signed_on",
    "period.start",
    "period.original_end",
    "period.current_end",
    "period.outer_limit",
    "value.amount_sek",
    "value.basis",
    "buyer",
    "partner",
    "contacts.owner",
    "contacts.partner",
    "iop.purpose",
    "iop.background",
    "iop.value_base",
    "iop.target_group",
    "iop.goals",
    "notes",
];

/// The form's fields filled from a stored agreement.
fn fields_of(a: &Agreement) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: &str, v: Option<String>| {
        f.insert(k.to_owned(), v.unwrap_or_default());
    };
    put("reference", Some(a.reference.to_string()));
    put("kind", Some(a.kind.code().into()));
    put("title", Some(a.title.clone()));
    put("diarienummer", a.diarienummer.clone());
    put("legal_basis", Some(a.legal_basis.code().into()));
    put("signed_on", a.signed_on.map(|d| d.to_string()));
    put("period.start", Some(a.period.start.to_string()));
    put(
        "period.original_end",
        Some(a.period.original_end.to_string()),
    );
    put("period.current_end", Some(a.period.current_end.to_string()));
    put(
        "period.outer_limit",
        a.period.outer_limit.map(|d| d.to_string()),
    );
    put(
        "value.amount_sek",
        a.value.as_ref().map(|v| v.amount_sek.to_string()),
    );
    put(
        "value.basis",
        a.value.as_ref().map(|v| v.basis.code().into()),
    );
    put(
        "buyer",
        a.parties_in(PartyRole::Buyer)
            .next()
            .map(ToString::to_string),
    );
    put(
        "partner",
        a.parties
            .iter()
            .find(|p| matches!(p.role, PartyRole::Supplier | PartyRole::IopPartner))
            .map(|p| p.org.to_string()),
    );
    put(
        "contacts.owner",
        a.contacts.owner.as_ref().map(ToString::to_string),
    );
    put(
        "contacts.partner",
        a.contacts.partner.as_ref().map(ToString::to_string),
    );
    let iop = a.iop.clone().unwrap_or_default();
    put("iop.purpose", iop.purpose);
    put("iop.background", iop.background);
    put("iop.value_base", iop.value_base);
    put("iop.target_group", iop.target_group);
    put(
        "iop.goals",
        Some(
            iop.goals
                .iter()
                .map(|g| g.text.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
    put("notes", a.notes.clone());
    f
}

/// Builds the agreement the form describes, on top of `base` (edit: the stored agreement, so
/// what the form does not show is kept). Typing errors are violations of their field.
fn agreement_from(f: &Fields, base: Option<&Agreement>) -> Result<Agreement, Vec<Violation>> {
    let mut errors = Vec::new();
    let mut doc = match base {
        Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        None => json!({"status": "draft", "parties": [], "contacts": {}}),
    };
    let text = |name: &str| -> Option<String> {
        let v = get(f, name);
        (!v.is_empty()).then(|| v.to_owned())
    };
    let date = |name: &str, errors: &mut Vec<Violation>| -> Option<String> {
        let v = text(name)?;
        match parse_iso_date(&v) {
            Ok(d) => Some(d.to_string()),
            Err(_) => {
                errors.push(Violation::new(name, &v, "date", "not a date"));
                None
            }
        }
    };
    let kind = match AgreementKind::parse(get(f, "kind")) {
        Ok(k) => Some(k),
        Err(e) => {
            errors.push(Violation::new("kind", get(f, "kind"), "choice", e));
            None
        }
    };
    match Reference::parse(get(f, "reference")) {
        Ok(r) if base.is_none() => doc["reference"] = json!(r),
        Ok(_) => {}
        Err(e) => errors.push(Violation::new(
            "reference",
            get(f, "reference"),
            "reference",
            e.to_string(),
        )),
    }
    if let Some(k) = kind {
        doc["kind"] = json!(k);
    }
    doc["title"] = json!(get(f, "title"));
    doc["diarienummer"] = json!(text("diarienummer"));
    match LegalBasis::parse(get(f, "legal_basis")) {
        Ok(b) => doc["legal_basis"] = json!(b),
        Err(e) => errors.push(Violation::new(
            "legal_basis",
            get(f, "legal_basis"),
            "choice",
            e,
        )),
    }
    doc["signed_on"] = json!(date("signed_on", &mut errors));
    let start = date("period.start", &mut errors);
    let original_end = date("period.original_end", &mut errors);
    let current_end = date("period.current_end", &mut errors).or(original_end.clone());
    for (name, v) in [
        ("period.start", &start),
        ("period.original_end", &original_end),
    ] {
        if v.is_none() && text(name).is_none() {
            errors.push(Violation::new(name, "", "required", "required"));
        }
    }
    doc["period"] = json!({
        "start": start, "original_end": original_end, "current_end": current_end,
        "outer_limit": date("period.outer_limit", &mut errors),
    });
    match text("value.amount_sek") {
        None => doc["value"] = Value::Null,
        Some(raw) => match Sek::parse(&raw) {
            Ok(amount) => {
                let basis =
                    ValueBasis::parse(get(f, "value.basis")).unwrap_or(ValueBasis::FixedTotal);
                let mut v = doc["value"].clone();
                if !v.is_object() {
                    v = json!({});
                }
                v["amount_sek"] = json!(amount);
                v["basis"] = json!(basis);
                doc["value"] = v;
            }
            Err(_) => errors.push(Violation::new(
                "value.amount_sek",
                &raw,
                "number",
                "not an amount",
            )),
        },
    }
    // Parties: the form holds the first buyer and the first supplier or IOP partner; they are
    // replaced in place (or added, or removed when emptied) and every other party is kept.
    let counterpart = if kind == Some(AgreementKind::Iop) {
        PartyRole::IopPartner
    } else {
        PartyRole::Supplier
    };
    let mut parties: Vec<Value> = doc["parties"].as_array().cloned().unwrap_or_default();
    for (name, role, roles) in [
        ("buyer", PartyRole::Buyer, &["buyer"][..]),
        ("partner", counterpart, &["supplier", "iop_partner"][..]),
    ] {
        let at = parties
            .iter()
            .position(|p| p["role"].as_str().is_some_and(|r| roles.contains(&r)));
        match (text(name).map(|raw| (OrgNumber::parse(&raw), raw)), at) {
            (Some((Ok(o), _)), Some(i)) => parties[i] = json!({"org": o, "role": role}),
            (Some((Ok(o), _)), None) => {
                let i = if role == PartyRole::Buyer {
                    0
                } else {
                    parties.len().min(1)
                };
                parties.insert(i, json!({"org": o, "role": role}));
            }
            (Some((Err(e), raw)), _) => {
                errors.push(Violation::new(name, &raw, "org_number", e.to_string()))
            }
            (None, Some(i)) => {
                parties.remove(i);
            }
            (None, None) => {}
        }
    }
    doc["parties"] = json!(parties);
    if !doc["contacts"].is_object() {
        doc["contacts"] = json!({});
    }
    for (name, key) in [("contacts.owner", "owner"), ("contacts.partner", "partner")] {
        match text(name) {
            None => doc["contacts"][key] = Value::Null,
            Some(raw) => match EmailAddress::parse(&raw) {
                Ok(e) => doc["contacts"][key] = json!(e),
                Err(e) => errors.push(Violation::new(name, &raw, "email", e.to_string())),
            },
        }
    }
    // The IOP section, for IOPs.
    let iop_fields = ["purpose", "background", "value_base", "target_group"];
    let goals: Vec<Value> = get(f, "iop.goals")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| json!({"text": l}))
        .collect();
    let any_iop = iop_fields
        .iter()
        .any(|k| text(&format!("iop.{k}")).is_some())
        || !goals.is_empty();
    if kind == Some(AgreementKind::Iop) && (any_iop || doc["iop"].is_object()) {
        let mut iop = if doc["iop"].is_object() {
            doc["iop"].clone()
        } else {
            json!({})
        };
        for k in iop_fields {
            iop[k] = json!(text(&format!("iop.{k}")));
        }
        iop["goals"] = json!(goals);
        doc["iop"] = iop;
    }
    doc["notes"] = json!(text("notes"));
    strip_nulls(&mut doc);
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value(doc)
        .map_err(|e| vec![Violation::new("agreement", "", "format", e.to_string())])
}

/// Optional fields are absent rather than null in the agreement's serde shape.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The form field a violation belongs to (None: shown above the form).
fn field_of(v: &Violation, a: Option<&Agreement>) -> Option<String> {
    let f = v.field.as_str();
    if TEXT_FIELDS.contains(&f) {
        return Some(f.to_owned());
    }
    if f == "value" {
        return Some("value.amount_sek".into());
    }
    if f == "iop" || f.starts_with("iop.goals") {
        return Some(
            if f == "iop" {
                "iop.purpose"
            } else {
                "iop.goals"
            }
            .into(),
        );
    }
    if f == "parties" {
        return Some(
            if v.rule == "buyer_required" {
                "buyer"
            } else {
                "partner"
            }
            .into(),
        );
    }
    if let Some(rest) = f.strip_prefix("parties[") {
        let i: usize = rest.split(']').next()?.parse().ok()?;
        let role = a?.parties.get(i)?.role;
        return Some(
            if role == PartyRole::Buyer {
                "buyer"
            } else {
                "partner"
            }
            .into(),
        );
    }
    None
}

fn show_form(
    user: &Principal,
    csrf: Option<&Csrf>,
    fields: &Fields,
    violations: &[Violation],
    attempted: Option<&Agreement>,
    editing: Option<(&str, i32)>,
    status: StatusCode,
) -> Response {
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
        let field = field_of(v, attempted).map(|name| {
            // A new agreement's current end is its original end, which is the field shown.
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
                    summary
                        .push(json!({"id": format!("f-{}", name.replace('.', "-")), "text": text}));
                }
            }
            None => general.push(format!("{}: {text}", v.field)),
        }
    }
    let mut shown = fields.clone();
    for name in TEXT_FIELDS {
        shown.entry((*name).to_owned()).or_default();
    }
    let mut ctx = base(Some(user), csrf);
    ctx.insert("f", &shown);
    ctx.insert("errors", &by_field);
    ctx.insert("general", &general);
    ctx.insert("summary", &summary);
    ctx.insert("error_count", &(summary.len() + general.len()));
    ctx.insert(
        "editing",
        &editing.map(|(r, v)| json!({"reference": r, "version": v})),
    );
    ctx.insert("kinds", &AgreementKind::ALL);
    ctx.insert("bases", &LegalBasis::ALL);
    ctx.insert("value_bases", &ValueBasis::ALL);
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
    axum::extract::Query(q): axum::extract::Query<NewQuery>,
) -> Response {
    let mut f = Fields::new();
    let kind = q.kind.unwrap_or_else(|| "iop".into());
    f.insert(
        "legal_basis".into(),
        if kind == "iop" {
            "iop".into()
        } else {
            "lou".into()
        },
    );
    f.insert("kind".into(), kind);
    if let Some(o) = &user.org {
        f.insert("buyer".into(), o.to_string());
    }
    show_form(
        &user,
        csrf.as_ref().map(|e| &e.0),
        &f,
        &[],
        None,
        None,
        StatusCode::OK,
    )
}

/// `POST /agreements/new`
pub async fn create(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = parse_form(&body);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let a = match agreement_from(&f, None) {
        Ok(a) => a,
        Err(v) => {
            return Ok(show_form(
                &user,
                csrf,
                &f,
                &v,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match state.registry.create_agreement(a.clone()).await {
        Ok(s) => {
            Ok(Redirect::to(&format!("/agreements/{}?ok=saved", s.data.reference)).into_response())
        }
        Err(e) => refused(e, &user, csrf, &f, &a, None),
    }
}

fn refused(
    e: RegistryError,
    user: &Principal,
    csrf: Option<&Csrf>,
    f: &Fields,
    a: &Agreement,
    editing: Option<(&str, i32)>,
) -> Result<Response, PageError> {
    let v = match e {
        RegistryError::Invalid(v) => v,
        RegistryError::Store(store::StoreError::Duplicate { .. }) => {
            vec![Violation::new("reference", &a.reference, "taken", "taken")]
        }
        RegistryError::Store(store::StoreError::Stale { .. }) => {
            vec![Violation::new("agreement", "", "stale", "stale")]
        }
        other => return Err(other.into()),
    };
    Ok(show_form(
        user,
        csrf,
        f,
        &v,
        Some(a),
        editing,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

async fn load(state: &AppState, key: &str) -> Result<Stored<Agreement>, PageError> {
    let key = Reference::parse(key).map_err(|_| not_found())?;
    Ok(store::get_agreement(&state.registry.db, &key).await?)
}

/// `GET /agreements/{reference}/edit`
pub async fn edit_form(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let stored = load(&state, &key).await?;
    if !user.may_edit(&stored.data) {
        return Err(PageError(AppError::Forbidden("not yours".into())));
    }
    let f = fields_of(&stored.data);
    let r = stored.data.reference.to_string();
    Ok(show_form(
        &user,
        csrf.as_ref().map(|e| &e.0),
        &f,
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
    let mut f = parse_form(&body);
    let version: i32 = get(&f, "version").parse().unwrap_or(stored.version);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let r = stored.data.reference.to_string();
    f.insert("reference".into(), r.clone());
    f.insert("kind".into(), stored.data.kind.code().to_owned());
    let a = match agreement_from(&f, Some(&stored.data)) {
        Ok(a) => a,
        Err(v) => {
            return Ok(show_form(
                &user,
                csrf,
                &f,
                &v,
                None,
                Some((&r, version)),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match state
        .registry
        .update_agreement(&stored.data.reference, version, a.clone())
        .await
    {
        Ok(s) => {
            Ok(Redirect::to(&format!("/agreements/{}?ok=saved", s.data.reference)).into_response())
        }
        Err(e) => refused(e, &user, csrf, &f, &a, Some((&r, version))),
    }
}

fn date_field(f: &Fields, name: &str) -> Result<Option<chrono::NaiveDate>, Violation> {
    let v = get(f, name);
    if v.is_empty() {
        return Ok(None);
    }
    parse_iso_date(v)
        .map(Some)
        .map_err(|_| Violation::new(name, v, "date", "not a date"))
}

fn action_from(action: &str, f: &Fields) -> Result<AgreementAction, Vec<Violation>> {
    let seq = || -> Result<u32, Vec<Violation>> {
        get(f, "seq")
            .parse()
            .map_err(|_| vec![Violation::new("seq", get(f, "seq"), "choice", "no option")])
    };
    let text = |n: &str| Some(get(f, n).to_owned()).filter(|s| !s.is_empty());
    let one = |v: Violation| vec![v];
    Ok(match action {
        "activate" => AgreementAction::Activate,
        "cancel" => AgreementAction::Cancel,
        "exercise-option" => AgreementAction::ExerciseOption {
            seq: seq()?,
            decided_on: date_field(f, "decided_on").map_err(one)?,
            rationale: text("rationale"),
        },
        "decline-option" => AgreementAction::DeclineOption {
            seq: seq()?,
            decided_on: date_field(f, "decided_on").map_err(one)?,
        },
        "notice" => AgreementAction::RecordNotice {
            by: OrgNumber::parse(get(f, "by")).map_err(|e| {
                one(Violation::new(
                    "by",
                    get(f, "by"),
                    "org_number",
                    e.to_string(),
                ))
            })?,
            received_on: date_field(f, "received_on")
                .map_err(one)?
                .ok_or_else(|| one(Violation::new("received_on", "", "required", "required")))?,
            reason: text("reason"),
        },
        "amendments" => {
            let mut doc = json!({
                "date": get(f, "date"), "ground": get(f, "ground"), "rationale": get(f, "rationale"),
            });
            if let Some(v) = text("value_change_sek") {
                doc["value_change_sek"] = json!(v);
            }
            if let Some(v) = text("new_end") {
                doc["new_end"] = json!(v);
            }
            let mut errors = Vec::new();
            if date_field(f, "date").ok().flatten().is_none() {
                errors.push(Violation::new("date", get(f, "date"), "date", "not a date"));
            }
            if get(f, "rationale").is_empty() {
                errors.push(Violation::new("rationale", "", "required", "required"));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            let amendment: Amendment = serde_json::from_value(doc)
                .map_err(|e| one(Violation::new("amendment", "", "choice", e.to_string())))?;
            AgreementAction::RecordAmendment { amendment }
        }
        _ => {
            return Err(one(Violation::new(
                "action",
                action,
                "choice",
                "no such action",
            )));
        }
    })
}

async fn reshow_agreement(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    key: &Reference,
    violations: &[Violation],
) -> Result<Response, PageError> {
    let stored = store::get_agreement(&state.registry.db, key).await?;
    let mut ctx = pages::agreement_context(state, user, csrf, &stored).await?;
    let errors: Vec<String> = violations
        .iter()
        .map(|v| format!("{} ({})", rule_sv(v), v.field))
        .collect();
    ctx.insert("action_errors", &errors);
    Ok(render(
        "agreement.html",
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

/// `POST /agreements/{reference}/do/{action}`: exercise or decline an option, record a notice
/// or an amendment, activate or cancel, at the version the page was read at.
pub async fn act(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((key, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = Reference::parse(&key).map_err(|_| not_found())?;
    let f = parse_form(&body);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let version = get(&f, "version").parse().ok();
    let cmd = match action_from(&action, &f) {
        Ok(c) => c,
        Err(v) => return reshow_agreement(&state, &user, csrf, &key, &v).await,
    };
    match state.registry.act(&key, version, cmd).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=action")).into_response()),
        Err(RegistryError::Invalid(v)) => reshow_agreement(&state, &user, csrf, &key, &v).await,
        Err(RegistryError::Store(store::StoreError::Stale { .. })) => {
            let v = [Violation::new("version", "", "stale", "stale")];
            reshow_agreement(&state, &user, csrf, &key, &v).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /agreements/{reference}/documents`: renders a template's PDF and stores it.
pub async fn generate_document(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = Reference::parse(&key).map_err(|_| not_found())?;
    let f = parse_form(&body);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let req = DocumentRequest {
        template: get(&f, "template").to_owned(),
        ..DocumentRequest::default()
    };
    match documents::generate(&state.registry, &key, &req, &state.registry.actor).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=document")).into_response()),
        Err(e) => match AppError::from(e) {
            AppError::Invalid(v) => reshow_agreement(&state, &user, csrf, &key, &v).await,
            other => Err(PageError(other)),
        },
    }
}

/// `POST /tokens`: creates a token and shows its secret once.
pub async fn create_token(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = parse_form(&body);
    let csrf = csrf.as_ref().map(|e| &e.0);
    match accounts::create_token(&state.registry, &user, get(&f, "name")).await {
        Ok((info, secret)) => {
            pages::tokens_page(
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
            pages::tokens_page(
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
