//! Form handlers: create and edit an agreement, the actions on an agreement, generating a
//! document, and API tokens. Each parses the form into the registry's own input and calls the
//! same use case as the JSON API; a refusal re-shows the form with each broken rule in Swedish
//! next to its field, keeping what the user typed.
//!
//! The agreement form names each input by the agreement's own field path (`decision.date`,
//! `options[1].months`), so a rule's violation lands next to the input it is about. Repeating
//! groups (goals, activities, contributions, signatories, social clauses, options, reports) show
//! their rows plus a blank one; the "Lägg till rad" button re-shows the form with one more blank
//! row, keeping everything typed. Blank rows are left out when the form is saved.

use std::collections::{BTreeSet, HashMap};

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
use crate::domain::codes::{
    AgreementKind, ContractNature, ContributionKind, FrameworkType, LegalBasis, NoticeEffect,
    OptionDecider, PartyRole, ProcedureType, Recurrence, ReservedExecution, ReservedParticipation,
    SocialObjective, StrategicProcurement, SustainabilityStrategy, ValueBasis,
};
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{EmailAddress, Violation};
use crate::registry::{AgreementAction, RegistryError};

type Fields = HashMap<String, String>;

/// The form's fields; a name sent more than once (check boxes) keeps every value, comma-joined.
fn parse_form(body: &Bytes) -> Fields {
    let mut f = Fields::new();
    for (k, v) in form_urlencoded::parse(body).into_owned() {
        f.entry(k)
            .and_modify(|old: &mut String| {
                old.push(',');
                old.push_str(&v);
            })
            .or_insert(v);
    }
    f
}

fn get<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or_default()
}

fn not_found() -> PageError {
    PageError(AppError::NotFound("no such agreement".into()))
}

/// The single fields of the agreement form, by name (the agreement's field path).
const TEXT_FIELDS: &[&str] = &[
    "reference",
    "kind",
    "title",
    "diarienummer",
    "decision.body",
    "decision.date",
    "decision.paragraph",
    "legal_basis",
    "procedure_type",
    "signed_on",
    "period.start",
    "period.original_end",
    "period.current_end",
    "period.outer_limit",
    "value.amount_sek",
    "value.basis",
    "value.estimated_total_sek",
    "buyer",
    "partner",
    "contacts.owner",
    "contacts.escalation",
    "contacts.partner",
    "contacts.reporting",
    "contacts.funder",
    "eforms.bt_71",
    "eforms.bt_736",
    "eforms.bt_06",
    "eforms.bt_765",
    "eforms.bt_23",
    "eforms.cpv",
    "framework",
    "framework_special_reasons",
    "share_requirement_percent",
    "iop.purpose",
    "iop.background",
    "iop.value_base",
    "iop.partner_value_base",
    "iop.target_group",
    "iop.governance",
    "iop.changes",
    "iop.disputes",
    "iop.legal_assessment.date",
    "iop.legal_assessment.by",
    "iop.legal_assessment.conclusion",
    "tacit_renewal.months",
    "tacit_renewal.notice_months",
    "tacit_renewal.max_renewals",
    "termination.notice_months",
    "termination.effective",
    "termination.form",
    "renewal_dialogue.text",
    "renewal_dialogue.months_before_end",
    "renewal_dialogue.due",
    "notes",
];

/// A repeating group of the form: its short name, the field path of its list and the keys of a row.
struct Group {
    name: &'static str,
    path: &'static str,
    keys: &'static [&'static str],
}

/// Row keys that are choices: a row with only choices filled in is blank.
const CHOICE_KEYS: &[&str] = &[
    "party",
    "kind",
    "lou_basis",
    "objective",
    "strategy",
    "decided_by",
    "recurrence",
    "responsible",
];

const GROUPS: &[Group] = &[
    Group {
        name: "goals",
        path: "iop.goals",
        keys: &["text", "indicator"],
    },
    Group {
        name: "activities",
        path: "iop.activities",
        keys: &["party", "text", "min_volume"],
    },
    Group {
        name: "contributions",
        path: "iop.contributions",
        keys: &["party", "kind", "amount_sek", "per", "text"],
    },
    Group {
        name: "signatories",
        path: "contacts.signatories",
        keys: &[""],
    },
    Group {
        name: "clauses",
        path: "social_clauses",
        keys: &[
            "lou_basis",
            "objective",
            "strategy",
            "target",
            "target_value",
            "target_unit",
            "follow_up",
        ],
    },
    Group {
        name: "options",
        path: "options",
        keys: &["months", "decided_by", "decide_by", "notice_months"],
    },
    Group {
        name: "reports",
        path: "reporting",
        keys: &[
            "kind",
            "description",
            "recurrence",
            "first_period_end",
            "due",
            "due_offset_days",
            "grace_days",
            "escalation_days",
            "responsible",
            "recipient",
        ],
    },
];

/// The most rows a group shows.
const MAX_ROWS: usize = 40;

/// The input name of `key` in row `i` of `g`.
fn cell(g: &Group, i: usize, key: &str) -> String {
    if key.is_empty() {
        format!("{}[{i}]", g.path)
    } else {
        format!("{}[{i}].{key}", g.path)
    }
}

/// The key of an input in the template's maps: `options[1].months` -> `options-1-months`.
fn key_of(name: &str) -> String {
    name.replace(['.', '['], "-").replace(']', "")
}

/// The element id of an input: `options[1].months` -> `f-options-1-months`.
fn dom_id(name: &str) -> String {
    format!("f-{}", key_of(name))
}

fn row_is_blank(f: &Fields, g: &Group, i: usize) -> bool {
    g.keys
        .iter()
        .filter(|k| !CHOICE_KEYS.contains(k))
        .all(|k| get(f, &cell(g, i, k)).is_empty())
}

/// Renumbers each group's rows so the filled ones come first, in order, without blanks: the
/// registry's row numbers in its violations are then the form's.
fn compact(f: &Fields) -> Fields {
    let mut out: Fields = f
        .iter()
        .filter(|(k, _)| {
            !GROUPS
                .iter()
                .any(|g| k.starts_with(&format!("{}[", g.path)))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for g in GROUPS {
        let mut n = 0;
        for i in 0..MAX_ROWS {
            if row_is_blank(f, g, i) {
                continue;
            }
            for k in g.keys {
                out.insert(cell(g, n, k), get(f, &cell(g, i, k)).to_owned());
            }
            n += 1;
        }
    }
    out
}

/// The number of filled rows of a group (after `compact`).
fn filled_rows(f: &Fields, g: &Group) -> usize {
    (0..MAX_ROWS)
        .take_while(|i| !row_is_blank(f, g, *i))
        .count()
}

/// A party of a row as the form shows it: `buyer` or `partner` when it is the form's buyer or
/// counterpart, else its organisation number.
fn party_choice(org: &OrgNumber, buyer: &str, partner: &str) -> String {
    let o = org.to_string();
    if o == buyer {
        "buyer".into()
    } else if o == partner {
        "partner".into()
    } else {
        o
    }
}

/// The form's fields filled from a stored agreement.
fn fields_of(a: &Agreement) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: String, v: Option<String>| {
        f.insert(k, v.unwrap_or_default());
    };
    let s = |v: &Option<String>| v.clone();
    let d = |v: Option<chrono::NaiveDate>| v.map(|d| d.to_string());
    let n = |v: Option<u32>| v.map(|d| d.to_string());
    put("reference".into(), Some(a.reference.to_string()));
    put("kind".into(), Some(a.kind.code().into()));
    put("title".into(), Some(a.title.clone()));
    put("diarienummer".into(), s(&a.diarienummer));
    if let Some(dec) = &a.decision {
        put("decision.body".into(), Some(dec.body.clone()));
        put("decision.date".into(), Some(dec.date.to_string()));
        put("decision.paragraph".into(), s(&dec.paragraph));
    }
    put("legal_basis".into(), Some(a.legal_basis.code().into()));
    put(
        "procedure_type".into(),
        a.procedure_type.map(|p| p.code().into()),
    );
    put("signed_on".into(), d(a.signed_on));
    put("period.start".into(), Some(a.period.start.to_string()));
    put(
        "period.original_end".into(),
        Some(a.period.original_end.to_string()),
    );
    put(
        "period.current_end".into(),
        Some(a.period.current_end.to_string()),
    );
    put("period.outer_limit".into(), d(a.period.outer_limit));
    put(
        "value.amount_sek".into(),
        a.value.as_ref().map(|v| v.amount_sek.to_string()),
    );
    put(
        "value.basis".into(),
        a.value.as_ref().map(|v| v.basis.code().into()),
    );
    put(
        "value.estimated_total_sek".into(),
        a.value
            .as_ref()
            .and_then(|v| v.estimated_total_sek.map(|x| x.to_string())),
    );
    let buyer = a
        .parties_in(PartyRole::Buyer)
        .next()
        .map(ToString::to_string)
        .unwrap_or_default();
    let partner = a
        .parties
        .iter()
        .find(|p| matches!(p.role, PartyRole::Supplier | PartyRole::IopPartner))
        .map(|p| p.org.to_string())
        .unwrap_or_default();
    put("buyer".into(), Some(buyer.clone()));
    put("partner".into(), Some(partner.clone()));
    let c = &a.contacts;
    for (k, v) in [
        ("owner", &c.owner),
        ("escalation", &c.escalation),
        ("partner", &c.partner),
        ("reporting", &c.reporting),
        ("funder", &c.funder),
    ] {
        put(format!("contacts.{k}"), v.as_ref().map(ToString::to_string));
    }
    for (i, e) in c.signatories.iter().enumerate() {
        put(format!("contacts.signatories[{i}]"), Some(e.to_string()));
    }
    put(
        "eforms.bt_71".into(),
        a.eforms.bt_71.map(|c| c.code().into()),
    );
    put(
        "eforms.bt_736".into(),
        a.eforms.bt_736.map(|c| c.code().into()),
    );
    put(
        "eforms.bt_06".into(),
        Some(
            a.eforms
                .bt_06
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(","),
        ),
    );
    put(
        "eforms.bt_765".into(),
        a.eforms.bt_765.map(|c| c.code().into()),
    );
    put(
        "eforms.bt_23".into(),
        a.eforms.bt_23.map(|c| c.code().into()),
    );
    put("eforms.cpv".into(), s(&a.eforms.cpv));
    put(
        "framework".into(),
        a.framework.as_ref().map(ToString::to_string),
    );
    put(
        "framework_special_reasons".into(),
        s(&a.framework_special_reasons),
    );
    put(
        "share_requirement_percent".into(),
        a.share_requirement_percent.map(|p| p.to_string()),
    );
    for (i, sc) in a.social_clauses.iter().enumerate() {
        let p = format!("social_clauses[{i}]");
        put(format!("{p}.lou_basis"), Some(sc.lou_basis.code().into()));
        put(format!("{p}.objective"), Some(sc.objective.code().into()));
        put(format!("{p}.strategy"), Some(sc.strategy.code().into()));
        put(format!("{p}.target"), Some(sc.target.clone()));
        put(
            format!("{p}.target_value"),
            sc.target_value.map(|v| v.to_string()),
        );
        put(format!("{p}.target_unit"), s(&sc.target_unit));
        put(format!("{p}.follow_up"), s(&sc.follow_up));
    }
    let iop = a.iop.clone().unwrap_or_default();
    put("iop.purpose".into(), iop.purpose);
    put("iop.background".into(), iop.background);
    put("iop.value_base".into(), iop.value_base);
    put("iop.partner_value_base".into(), iop.partner_value_base);
    put("iop.target_group".into(), iop.target_group);
    put("iop.governance".into(), iop.governance);
    put("iop.changes".into(), iop.changes);
    put("iop.disputes".into(), iop.disputes);
    if let Some(la) = &iop.legal_assessment {
        put(
            "iop.legal_assessment.date".into(),
            Some(la.date.to_string()),
        );
        put("iop.legal_assessment.by".into(), Some(la.by.clone()));
        put(
            "iop.legal_assessment.conclusion".into(),
            Some(la.conclusion.clone()),
        );
    }
    for (i, g) in iop.goals.iter().enumerate() {
        put(format!("iop.goals[{i}].text"), Some(g.text.clone()));
        put(format!("iop.goals[{i}].indicator"), s(&g.indicator));
    }
    for (i, x) in iop.activities.iter().enumerate() {
        let p = format!("iop.activities[{i}]");
        put(
            format!("{p}.party"),
            Some(party_choice(&x.party, &buyer, &partner)),
        );
        put(format!("{p}.text"), Some(x.text.clone()));
        put(format!("{p}.min_volume"), s(&x.min_volume));
    }
    for (i, x) in iop.contributions.iter().enumerate() {
        let p = format!("iop.contributions[{i}]");
        put(
            format!("{p}.party"),
            Some(party_choice(&x.party, &buyer, &partner)),
        );
        put(format!("{p}.kind"), Some(x.kind.code().into()));
        put(
            format!("{p}.amount_sek"),
            x.amount_sek.map(|v| v.to_string()),
        );
        put(format!("{p}.per"), s(&x.per));
        put(format!("{p}.text"), s(&x.text));
    }
    for (i, o) in a.options_in_order().into_iter().enumerate() {
        let p = format!("options[{i}]");
        put(format!("{p}.months"), Some(o.months.to_string()));
        put(format!("{p}.decided_by"), Some(o.decided_by.code().into()));
        put(format!("{p}.decide_by"), d(o.decide_by));
        put(format!("{p}.notice_months"), n(o.notice_months));
    }
    if let Some(t) = &a.tacit_renewal {
        put("tacit_renewal.months".into(), Some(t.months.to_string()));
        put(
            "tacit_renewal.notice_months".into(),
            Some(t.notice_months.to_string()),
        );
        put("tacit_renewal.max_renewals".into(), n(t.max_renewals));
    }
    if let Some(t) = &a.termination {
        put(
            "termination.notice_months".into(),
            Some(t.notice_months.to_string()),
        );
        put(
            "termination.effective".into(),
            Some(t.effective.code().into()),
        );
        put("termination.form".into(), s(&t.form));
    }
    if let Some(r) = &a.renewal_dialogue {
        put("renewal_dialogue.text".into(), s(&r.text));
        put(
            "renewal_dialogue.months_before_end".into(),
            n(r.months_before_end),
        );
        put("renewal_dialogue.due".into(), d(r.due));
    }
    for (i, r) in a.reporting.iter().enumerate() {
        let p = format!("reporting[{i}]");
        put(format!("{p}.kind"), Some(r.kind.clone()));
        put(format!("{p}.description"), s(&r.description));
        put(format!("{p}.recurrence"), Some(r.recurrence.code().into()));
        put(format!("{p}.first_period_end"), d(r.first_period_end));
        put(format!("{p}.due"), d(r.due));
        put(
            format!("{p}.due_offset_days"),
            Some(r.due_offset_days.to_string()),
        );
        put(format!("{p}.grace_days"), Some(r.grace_days.to_string()));
        put(
            format!("{p}.escalation_days"),
            Some(r.escalation_days.to_string()),
        );
        put(
            format!("{p}.responsible"),
            Some(party_choice(&r.responsible, &buyer, &partner)),
        );
        put(
            format!("{p}.recipient"),
            r.recipient.as_ref().map(ToString::to_string),
        );
    }
    put("notes".into(), s(&a.notes));
    f
}

/// Reads the form's typed values, collecting one violation per field that does not parse.
struct Reader<'a> {
    f: &'a Fields,
    errors: Vec<Violation>,
}

impl Reader<'_> {
    fn text(&self, name: &str) -> Option<String> {
        let v = get(self.f, name);
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn date(&mut self, name: &str) -> Option<String> {
        let v = self.text(name)?;
        match parse_iso_date(&v) {
            Ok(d) => Some(d.to_string()),
            Err(_) => {
                self.errors
                    .push(Violation::new(name, &v, "date", "not a date"));
                None
            }
        }
    }

    fn whole(&mut self, name: &str) -> Option<u32> {
        let v = self.text(name)?;
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.errors.push(Violation::new(
                    name,
                    &v,
                    "whole_number",
                    "not a whole number",
                ));
                None
            }
        }
    }

    fn amount(&mut self, name: &str) -> Option<Sek> {
        let v = self.text(name)?;
        match Sek::parse(&v) {
            Ok(a) => Some(a),
            Err(_) => {
                self.errors
                    .push(Violation::new(name, &v, "number", "not an amount"));
                None
            }
        }
    }

    fn email(&mut self, name: &str) -> Option<EmailAddress> {
        let v = self.text(name)?;
        match EmailAddress::parse(&v) {
            Ok(e) => Some(e),
            Err(e) => {
                self.errors
                    .push(Violation::new(name, &v, "email", e.to_string()));
                None
            }
        }
    }

    fn choice<T>(&mut self, name: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
        let v = self.text(name)?;
        match parse(&v) {
            Ok(c) => Some(c),
            Err(e) => {
                self.errors.push(Violation::new(name, &v, "choice", e));
                None
            }
        }
    }

    fn required(&mut self, name: &str) {
        if self.text(name).is_none() {
            self.errors
                .push(Violation::new(name, "", "required", "required"));
        }
    }

    /// A row's party: `buyer` and `partner` name the form's buyer and counterpart.
    fn party(&mut self, name: &str) -> Option<OrgNumber> {
        let v = self.text(name)?;
        let raw = match v.as_str() {
            "buyer" | "partner" => match self.text(&v) {
                Some(o) => o,
                None => {
                    self.errors
                        .push(Violation::new(name, "", "party_missing", "no such party"));
                    return None;
                }
            },
            _ => v,
        };
        match OrgNumber::parse(&raw) {
            Ok(o) => Some(o),
            Err(e) => {
                self.errors
                    .push(Violation::new(name, &raw, "org_number", e.to_string()));
                None
            }
        }
    }
}

/// Builds the agreement the form describes, on top of `base` (edit: the stored agreement, so
/// what the form does not show is kept). Typing errors are violations of their field.
fn agreement_from(f: &Fields, base: Option<&Agreement>) -> Result<Agreement, Vec<Violation>> {
    let mut r = Reader {
        f,
        errors: Vec::new(),
    };
    let mut doc = match base {
        Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        None => json!({"status": "draft", "parties": [], "contacts": {}}),
    };
    let kind = r.choice("kind", AgreementKind::parse);
    if kind.is_none() && r.text("kind").is_none() {
        r.required("kind");
    }
    match Reference::parse(get(f, "reference")) {
        Ok(x) if base.is_none() => doc["reference"] = json!(x),
        Ok(_) => {}
        Err(e) => r.errors.push(Violation::new(
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
    doc["diarienummer"] = json!(r.text("diarienummer"));
    // The decision: all of it or none of it.
    let dec = ["decision.body", "decision.date", "decision.paragraph"];
    if dec.iter().any(|n| r.text(n).is_some()) {
        r.required("decision.body");
        r.required("decision.date");
        doc["decision"] = json!({
            "body": r.text("decision.body"), "date": r.date("decision.date"),
            "paragraph": r.text("decision.paragraph"),
        });
    } else {
        doc["decision"] = Value::Null;
    }
    match r.choice("legal_basis", LegalBasis::parse) {
        Some(b) => doc["legal_basis"] = json!(b),
        None => r.required("legal_basis"),
    }
    doc["procedure_type"] = json!(r.choice("procedure_type", ProcedureType::parse));
    doc["signed_on"] = json!(r.date("signed_on"));
    let start = r.date("period.start");
    let original_end = r.date("period.original_end");
    let current_end = r.date("period.current_end").or(original_end.clone());
    for (name, v) in [
        ("period.start", &start),
        ("period.original_end", &original_end),
    ] {
        if v.is_none() && r.text(name).is_none() {
            r.required(name);
        }
    }
    doc["period"] = json!({
        "start": start, "original_end": original_end, "current_end": current_end,
        "outer_limit": r.date("period.outer_limit"),
    });
    match r.amount("value.amount_sek") {
        None => {
            if r.text("value.amount_sek").is_none() {
                doc["value"] = Value::Null;
            }
        }
        Some(amount) => {
            let basis = ValueBasis::parse(get(f, "value.basis")).unwrap_or(ValueBasis::FixedTotal);
            let mut v = doc["value"].clone();
            if !v.is_object() {
                v = json!({});
            }
            v["amount_sek"] = json!(amount);
            v["basis"] = json!(basis);
            v["estimated_total_sek"] = json!(r.amount("value.estimated_total_sek"));
            doc["value"] = v;
        }
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
            .position(|p| p["role"].as_str().is_some_and(|x| roles.contains(&x)));
        match (r.text(name).map(|raw| (OrgNumber::parse(&raw), raw)), at) {
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
                r.errors
                    .push(Violation::new(name, &raw, "org_number", e.to_string()))
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
    for key in ["owner", "escalation", "partner", "reporting", "funder"] {
        doc["contacts"][key] = json!(r.email(&format!("contacts.{key}")));
    }
    let sig = &GROUPS[3];
    let signatories: Vec<Value> = (0..filled_rows(f, sig))
        .filter_map(|i| r.email(&cell(sig, i, "")))
        .map(|e| json!(e))
        .collect();
    doc["contacts"]["signatories"] = json!(signatories);
    let is_iop = kind == Some(AgreementKind::Iop);
    if !is_iop {
        procurement_part(&mut r, &mut doc);
    }
    if is_iop {
        iop_part(&mut r, &mut doc);
    }
    terms_part(&mut r, &mut doc, base);
    doc["notes"] = json!(r.text("notes"));
    strip_nulls(&mut doc);
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    serde_json::from_value(doc)
        .map_err(|e| vec![Violation::new("agreement", "", "format", e.to_string())])
}

/// eForms codes, the reserved share and the social clauses of a procurement.
fn procurement_part(r: &mut Reader<'_>, doc: &mut Value) {
    if !doc["eforms"].is_object() {
        doc["eforms"] = json!({});
    }
    doc["eforms"]["bt_71"] = json!(r.choice("eforms.bt_71", ReservedParticipation::parse));
    doc["eforms"]["bt_736"] = json!(r.choice("eforms.bt_736", ReservedExecution::parse));
    doc["eforms"]["bt_765"] = json!(r.choice("eforms.bt_765", FrameworkType::parse));
    doc["eforms"]["bt_23"] = json!(r.choice("eforms.bt_23", ContractNature::parse));
    doc["eforms"]["cpv"] = json!(r.text("eforms.cpv"));
    doc["framework"] = match r.text("framework").map(|raw| (Reference::parse(&raw), raw)) {
        Some((Ok(x), _)) => json!(x),
        Some((Err(e), raw)) => {
            r.errors.push(Violation::new(
                "framework",
                &raw,
                "reference",
                e.to_string(),
            ));
            Value::Null
        }
        None => Value::Null,
    };
    doc["framework_special_reasons"] = json!(r.text("framework_special_reasons"));
    let bt06: Vec<StrategicProcurement> = get(r.f, "eforms.bt_06")
        .split(',')
        .filter(|c| !c.is_empty())
        .filter_map(|c| match StrategicProcurement::parse(c) {
            Ok(x) => Some(x),
            Err(e) => {
                r.errors
                    .push(Violation::new("eforms.bt_06", c, "choice", e));
                None
            }
        })
        .collect();
    doc["eforms"]["bt_06"] = json!(bt06);
    doc["share_requirement_percent"] = match r.whole("share_requirement_percent") {
        Some(p) if p <= 100 => json!(p),
        Some(p) => {
            r.errors.push(Violation::new(
                "share_requirement_percent",
                p,
                "percent",
                "at most 100",
            ));
            Value::Null
        }
        None => Value::Null,
    };
    let g = &GROUPS[4];
    let clauses: Vec<Value> = (0..filled_rows(r.f, g))
        .map(|i| {
            let c = |k: &str| cell(g, i, k);
            r.required(&c("target"));
            let value = r.text(&c("target_value")).and_then(|v| {
                match v.replace(',', ".").replace(' ', "").parse::<f64>() {
                    Ok(x) if x.is_finite() => Some(x),
                    _ => {
                        r.errors.push(Violation::new(
                            c("target_value"),
                            &v,
                            "decimal",
                            "not a number",
                        ));
                        None
                    }
                }
            });
            json!({
                "lou_basis": r.choice(&c("lou_basis"), LegalBasis::parse).unwrap_or(LegalBasis::Lou17_1),
                "objective": r.choice(&c("objective"), SocialObjective::parse).unwrap_or(SocialObjective::Employment),
                "strategy": r.choice(&c("strategy"), SustainabilityStrategy::parse)
                    .unwrap_or(SustainabilityStrategy::ContractPerformanceConditions),
                "target": r.text(&c("target")).unwrap_or_default(),
                "target_value": value,
                "target_unit": r.text(&c("target_unit")),
                "follow_up": r.text(&c("follow_up")),
            })
        })
        .collect();
    doc["social_clauses"] = json!(clauses);
}

/// The IOP's content: texts, goals, activities, contributions and the legal assessment.
fn iop_part(r: &mut Reader<'_>, doc: &mut Value) {
    let texts = [
        "purpose",
        "background",
        "value_base",
        "partner_value_base",
        "target_group",
        "governance",
        "changes",
        "disputes",
    ];
    let mut iop = if doc["iop"].is_object() {
        doc["iop"].clone()
    } else {
        json!({})
    };
    for k in texts {
        iop[k] = json!(r.text(&format!("iop.{k}")));
    }
    let g = &GROUPS[0];
    iop["goals"] = json!(
        (0..filled_rows(r.f, g))
            .map(|i| {
                r.required(&cell(g, i, "text"));
                json!({"text": r.text(&cell(g, i, "text")).unwrap_or_default(),
                   "indicator": r.text(&cell(g, i, "indicator"))})
            })
            .collect::<Vec<_>>()
    );
    let g = &GROUPS[1];
    iop["activities"] = json!(
        (0..filled_rows(r.f, g))
            .map(|i| {
                r.required(&cell(g, i, "text"));
                json!({"party": r.party(&cell(g, i, "party")),
                   "text": r.text(&cell(g, i, "text")).unwrap_or_default(),
                   "min_volume": r.text(&cell(g, i, "min_volume"))})
            })
            .collect::<Vec<_>>()
    );
    let g = &GROUPS[2];
    iop["contributions"] = json!(
        (0..filled_rows(r.f, g))
            .map(|i| {
                json!({"party": r.party(&cell(g, i, "party")),
                   "kind": r.choice(&cell(g, i, "kind"), ContributionKind::parse).unwrap_or(ContributionKind::Other),
                   "amount_sek": r.amount(&cell(g, i, "amount_sek")),
                   "per": r.text(&cell(g, i, "per")),
                   "text": r.text(&cell(g, i, "text"))})
            })
            .collect::<Vec<_>>()
    );
    let la = [
        "iop.legal_assessment.date",
        "iop.legal_assessment.by",
        "iop.legal_assessment.conclusion",
    ];
    if la.iter().any(|n| r.text(n).is_some()) {
        for n in la {
            r.required(n);
        }
        iop["legal_assessment"] = json!({
            "date": r.date(la[0]), "by": r.text(la[1]), "conclusion": r.text(la[2]),
        });
    } else {
        iop["legal_assessment"] = Value::Null;
    }
    let mut probe = iop.clone();
    strip_nulls(&mut probe);
    let empty = probe
        .as_object()
        .is_none_or(|m| m.values().all(|v| v.as_array().is_some_and(Vec::is_empty)));
    doc["iop"] = if empty && !doc["iop"].is_object() {
        Value::Null
    } else {
        iop
    };
}

/// Options, tacit renewal, termination notice and reporting; what the form does not show of a
/// stored row (an option's decision, a report's occurrences) is kept from `base`.
fn terms_part(r: &mut Reader<'_>, doc: &mut Value, base: Option<&Agreement>) {
    let g = &GROUPS[5];
    let old_options: Vec<Value> = base
        .map(|a| {
            a.options_in_order()
                .into_iter()
                .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                .collect()
        })
        .unwrap_or_default();
    let options: Vec<Value> = (0..filled_rows(r.f, g))
        .map(|i| {
            let mut o = old_options
                .get(i)
                .cloned()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            let months = r.whole(&cell(g, i, "months"));
            if months.is_none() {
                r.required(&cell(g, i, "months"));
            }
            o["seq"] = json!(i + 1);
            o["months"] = json!(months.unwrap_or(0));
            o["decided_by"] = json!(
                r.choice(&cell(g, i, "decided_by"), OptionDecider::parse)
                    .unwrap_or(OptionDecider::Buyer)
            );
            o["decide_by"] = json!(r.date(&cell(g, i, "decide_by")));
            o["notice_months"] = json!(r.whole(&cell(g, i, "notice_months")));
            o
        })
        .collect();
    doc["options"] = json!(options);
    let months = r.whole("tacit_renewal.months");
    let notice = r.whole("tacit_renewal.notice_months");
    let max = r.whole("tacit_renewal.max_renewals");
    if months.is_some() || notice.is_some() || max.is_some() {
        r.required("tacit_renewal.months");
        r.required("tacit_renewal.notice_months");
        let mut t = if doc["tacit_renewal"].is_object() {
            doc["tacit_renewal"].clone()
        } else {
            json!({})
        };
        t["months"] = json!(months.unwrap_or(0));
        t["notice_months"] = json!(notice.unwrap_or(0));
        t["max_renewals"] = json!(max);
        doc["tacit_renewal"] = t;
    } else if r.text("tacit_renewal.months").is_none() {
        doc["tacit_renewal"] = Value::Null;
    }
    let form = r.text("termination.form");
    match r.whole("termination.notice_months") {
        Some(m) => {
            if !doc["termination"].is_object() {
                doc["termination"] = json!({});
            }
            doc["termination"]["notice_months"] = json!(m);
            doc["termination"]["form"] = json!(form);
            if let Some(e) = r.choice("termination.effective", NoticeEffect::parse) {
                doc["termination"]["effective"] = json!(e);
            }
        }
        None if r.text("termination.notice_months").is_none()
            && doc["termination"]["notice"].is_null() =>
        {
            if form.is_some() {
                r.required("termination.notice_months");
            }
            doc["termination"] = Value::Null
        }
        None => {}
    }
    let dialogue = (
        r.text("renewal_dialogue.text"),
        r.whole("renewal_dialogue.months_before_end"),
        r.date("renewal_dialogue.due"),
    );
    doc["renewal_dialogue"] = match dialogue {
        (None, None, None) => Value::Null,
        (text, months, due) => json!({"text": text, "months_before_end": months, "due": due}),
    };
    let g = &GROUPS[6];
    let old_reports: Vec<Value> = doc["reporting"].as_array().cloned().unwrap_or_default();
    let reports: Vec<Value> = (0..filled_rows(r.f, g))
        .map(|i| {
            let c = |k: &str| cell(g, i, k);
            let mut x = old_reports
                .get(i)
                .cloned()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            let kind = r.text(&c("kind"));
            if kind.is_none() {
                r.required(&c("kind"));
            }
            x["kind"] = json!(kind.unwrap_or_default());
            x["description"] = json!(r.text(&c("description")));
            x["recurrence"] = json!(
                r.choice(&c("recurrence"), Recurrence::parse)
                    .unwrap_or(Recurrence::Yearly)
            );
            x["first_period_end"] = json!(r.date(&c("first_period_end")));
            x["due"] = json!(r.date(&c("due")));
            x["due_offset_days"] = json!(r.whole(&c("due_offset_days")).unwrap_or(0));
            x["grace_days"] = json!(r.whole(&c("grace_days")).unwrap_or(0));
            x["escalation_days"] = json!(r.whole(&c("escalation_days")).unwrap_or(14));
            let responsible = r.party(&c("responsible"));
            if responsible.is_none() {
                r.required(&c("responsible"));
            }
            x["responsible"] = json!(responsible);
            x["recipient"] = json!(r.email(&c("recipient")));
            x
        })
        .collect();
    doc["reporting"] = json!(reports);
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

/// Every input name the form shows for `fields`.
fn input_names(fields: &Fields, rows: &HashMap<&str, usize>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = TEXT_FIELDS.iter().map(|s| (*s).to_owned()).collect();
    for g in GROUPS {
        let n = rows.get(g.name).copied().unwrap_or(0);
        for i in 0..n {
            for k in g.keys {
                names.insert(cell(g, i, k));
            }
        }
    }
    names.extend(fields.keys().cloned());
    names
}

/// The form field a violation belongs to (None: shown above the form).
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
    // A part of a row the form does not show (an option's decision): the row's first input.
    for g in GROUPS {
        if let Some(rest) = f.strip_prefix(&format!("{}[", g.path)) {
            let i: usize = rest.split(']').next()?.parse().ok()?;
            let first = cell(g, i, g.keys.first().copied().unwrap_or_default());
            let text_key = g
                .keys
                .iter()
                .find(|k| !CHOICE_KEYS.contains(k))
                .copied()
                .unwrap_or_default();
            return Some(if names.contains(&cell(g, i, text_key)) {
                cell(g, i, text_key)
            } else {
                first
            });
        }
    }
    None
}

/// How many rows each group shows: its filled rows plus one blank, at least what the form
/// showed before, and one more for the group whose "Lägg till rad" was pressed.
fn rows_of(fields: &Fields) -> HashMap<&'static str, usize> {
    let add = get(fields, "add");
    GROUPS
        .iter()
        .map(|g| {
            let before: usize = get(fields, &format!("rows.{}", g.name))
                .parse()
                .unwrap_or(0);
            let mut n = (filled_rows(fields, g) + 1).max(before);
            if add == g.name {
                n += 1;
            }
            (g.name, n.clamp(1, MAX_ROWS))
        })
        .collect()
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
    let rows = rows_of(fields);
    let names = input_names(fields, &rows);
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
                    summary.push(json!({"id": dom_id(&name), "text": text}));
                }
            }
            None => general.push(format!("{}: {text}", v.field)),
        }
    }
    let mut shown = fields.clone();
    shown.remove("add");
    for name in &names {
        shown.entry(name.clone()).or_default();
    }
    let row_lists: HashMap<&str, Vec<usize>> =
        rows.iter().map(|(k, n)| (*k, (0..*n).collect())).collect();
    let mut ctx = base(Some(user), csrf);
    // The template looks values and errors up by key: tera reads `[` in a key as an index.
    let shown: HashMap<String, String> = shown.into_iter().map(|(k, v)| (key_of(&k), v)).collect();
    let by_field: HashMap<String, Vec<String>> =
        by_field.into_iter().map(|(k, v)| (key_of(&k), v)).collect();
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
    let f = compact(&parse_form(&body));
    let csrf = csrf.as_ref().map(|e| &e.0);
    if !get(&f, "add").is_empty() {
        return Ok(show_form(&user, csrf, &f, &[], None, None, StatusCode::OK));
    }
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
    let mut f = compact(&parse_form(&body));
    let version: i32 = get(&f, "version").parse().unwrap_or(stored.version);
    let csrf = csrf.as_ref().map(|e| &e.0);
    let r = stored.data.reference.to_string();
    f.insert("reference".into(), r.clone());
    f.insert("kind".into(), stored.data.kind.code().to_owned());
    if !get(&f, "add").is_empty() {
        return Ok(show_form(
            &user,
            csrf,
            &f,
            &[],
            None,
            Some((&r, version)),
            StatusCode::OK,
        ));
    }
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
            under: None,
        },
        "accept-report" | "reject-report" => {
            let report = get(f, "report").to_owned();
            let period_end = date_field(f, "period_end")
                .map_err(one)?
                .ok_or_else(|| one(Violation::new("period_end", "", "required", "required")))?;
            let decided_on = date_field(f, "decided_on").map_err(one)?;
            if action == "accept-report" {
                AgreementAction::AcceptReport {
                    report,
                    period_end,
                    decided_on,
                }
            } else {
                AgreementAction::RejectReport {
                    report,
                    period_end,
                    reason: get(f, "reason").to_owned(),
                    decided_on,
                }
            }
        }
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
/// or an amendment, activate or cancel, accept or reject a handed-in report, at the version the
/// page was read at.
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

/// `POST /admin/users/disable`: deactivates a user, ending its sessions and API tokens.
pub async fn disable_user(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = parse_form(&body);
    let csrf = csrf.as_ref().map(|e| &e.0);
    match accounts::disable_user(&state.registry, get(&f, "email"), Some(&user)).await {
        // The id, not the address, goes in the URL: addresses stay out of request logs.
        Ok(u) => Ok(Redirect::to(&format!("/admin/users?ok={}", u.id)).into_response()),
        Err(RegistryError::Invalid(v)) => {
            let text = v.iter().map(rule_sv).collect::<Vec<_>>().join(" ");
            pages::users_page(
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
