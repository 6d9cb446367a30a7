//! The commercial and legal terms a contract's clauses need beyond the dates: price and its
//! adjustment, invoicing and payment, insurance, liability, labour-law conditions, subcontractors,
//! personal data, the sanction of the social clause, an IOP's state-aid reasoning, the optional
//! clauses an agreement switches off and its special terms; with their field-level rules.

use serde::{Deserialize, Serialize};

use super::codes::AgreementKind;
use super::money::Sek;
use super::org_number::OrgNumber;
use super::party::Violation;

/// Clauses an agreement may switch off; every other clause of a template is always included.
/// The clause manifest (`contracts/clauses/manifest.yaml`) marks exactly these as optional.
pub const OPTIONAL_CLAUSES: &[&str] = &[
    "receipt",
    "force_majeure",
    "assignment",
    "iop_communication",
];

/// Longest special terms, in characters.
pub const SPECIAL_TERMS_MAX_CHARS: usize = 4000;
/// Longest short text (an index name, a reference, a description), in characters.
pub const SHORT_TEXT_MAX_CHARS: usize = 500;
/// Longest payment term a public authority may agree with a business (räntelagen 2 § third paragraph: 30 days, or at most 60 when expressly agreed and objectively justified).
pub const PAYMENT_DAYS_MAX: u32 = 60;

/// The terms of one agreement; every field is optional so drafts can be stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// The price model and its adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Invoicing and payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoicing: Option<Invoicing>,
    /// The supplier's or partner's insurance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance: Option<Insurance>,
    /// Each party's liability is limited to this amount (except for intent or gross negligence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liability_cap_sek: Option<Sek>,
    /// Whether the labour-law conditions of LOU 17 kap. 2–4 §§ apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub labour_law_conditions: bool,
    /// The central collective agreement whose wage, holiday and working-hour levels apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective_agreement: Option<String>,
    /// Subcontractors named in the tender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcontractors: Vec<Subcontractor>,
    /// Who handles personal data, and how.
    #[serde(default, skip_serializing_if = "PersonalData::is_none")]
    pub personal_data: PersonalData,
    /// The contractual penalty (vite) for each period the social clause is not met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<Penalty>,
    /// An IOP's reasoning on state aid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_aid: Option<StateAid>,
    /// Optional clauses switched off for this agreement (ids from [`OPTIONAL_CLAUSES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_clauses: Vec<String>,
    /// Special terms in free text, printed as their own clause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_terms: Option<String>,
}

impl Terms {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How the price is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// The price model in words, e.g. "Fast pris per städtimme enligt prisbilaga".
    pub model: String,
    /// Yearly adjustment by an index, if agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<PriceAdjustment>,
}

/// Price adjustment by an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceAdjustment {
    /// The index, e.g. "Arbetskostnadsindex för arbetare (AKI), privat sektor, SNI N".
    pub index: String,
    /// The base month, `YYYY-MM`.
    pub base_month: String,
    /// Months between adjustments.
    #[serde(default = "twelve")]
    pub interval_months: u32,
}

fn twelve() -> u32 {
    12
}

/// Invoicing and payment terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invoicing {
    /// Days from a correct invoice to payment.
    pub payment_days: u32,
    /// The reference every invoice must carry (beställarens referens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The buyer's Peppol participant id, e.g. `0007:2120000000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peppol_id: Option<String>,
}

/// Insurance the supplier or partner keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    /// The least sum insured of the liability insurance per claim.
    pub liability_sek: Sek,
    /// Further insurance required, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A subcontractor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subcontractor {
    /// Organisation number.
    pub org: OrgNumber,
    /// Name.
    pub name: String,
    /// The part of the contract it performs.
    pub part: String,
}

/// Personal data under the agreement (GDPR art. 28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalData {
    /// No personal data is processed for the other party.
    #[default]
    None,
    /// The supplier or partner processes personal data for the buyer: a processing agreement annex.
    Processor,
    /// Each party is controller for its own processing.
    SeparateControllers,
}

impl PersonalData {
    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Processor => "processor",
            Self::SeparateControllers => "separate_controllers",
        }
    }

    /// True for `None` (serde's skip test).
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }
}

/// A contractual penalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Penalty {
    /// Amount per period.
    pub amount_sek: Sek,
    /// The period it is counted per, e.g. "påbörjad rapportperiod".
    pub per: String,
}

/// How an IOP handles state aid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateAidBasis {
    /// The partner's activity is not economic: no state aid.
    NoAid,
    /// De minimis aid (Regulation (EU) 2023/2831).
    DeMinimis,
    /// Compensation for a service of general economic interest under an entrustment decision (Decision 2012/21/EU).
    Sgei,
}

impl StateAidBasis {
    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoAid => "no_aid",
            Self::DeMinimis => "de_minimis",
            Self::Sgei => "sgei",
        }
    }
}

/// The recorded state-aid reasoning of an IOP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateAid {
    /// The basis.
    pub basis: StateAidBasis,
    /// The reasoning in words.
    pub reasoning: String,
    /// The entrustment decision (for `sgei`) or the de minimis declaration, by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

fn text_rule(v: &mut Vec<Violation>, field: &str, text: &str, max: usize) {
    if text.trim().is_empty() {
        v.push(Violation::new(field, text, "required", "the text is empty"));
    } else if text.chars().count() > max {
        v.push(Violation::new(
            field,
            "…",
            "max_length",
            format!("the text has at most {max} characters"),
        ));
    }
}

fn amount_rule(v: &mut Vec<Violation>, field: &str, amount: Sek) {
    if amount.ore() <= 0 {
        v.push(Violation::new(
            field,
            amount,
            "positive",
            "the amount must be greater than zero",
        ));
    }
}

/// Whether `s` is a month `YYYY-MM` between 1990 and 2100.
pub fn is_month(s: &str) -> bool {
    let Some((y, m)) = s.split_once('-') else {
        return false;
    };
    y.len() == 4
        && m.len() == 2
        && y.parse::<u32>().is_ok_and(|y| (1990..=2100).contains(&y))
        && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

/// Every broken rule of the terms of an agreement of `kind`, with paths under `terms.`.
pub fn violations(t: &Terms, kind: AgreementKind) -> Vec<Violation> {
    let mut v = Vec::new();
    if let Some(p) = &t.price {
        text_rule(&mut v, "terms.price.model", &p.model, SHORT_TEXT_MAX_CHARS);
        if let Some(a) = &p.adjustment {
            text_rule(
                &mut v,
                "terms.price.adjustment.index",
                &a.index,
                SHORT_TEXT_MAX_CHARS,
            );
            if !is_month(&a.base_month) {
                v.push(Violation::new(
                    "terms.price.adjustment.base_month",
                    &a.base_month,
                    "month",
                    "the base month is written YYYY-MM, e.g. 2025-01",
                ));
            }
            if !(1..=60).contains(&a.interval_months) {
                v.push(Violation::new(
                    "terms.price.adjustment.interval_months",
                    a.interval_months,
                    "range",
                    "prices are adjusted every 1 to 60 months",
                ));
            }
        }
    }
    if let Some(i) = &t.invoicing {
        if !(1..=PAYMENT_DAYS_MAX).contains(&i.payment_days) {
            v.push(Violation::new(
                "terms.invoicing.payment_days",
                i.payment_days,
                "payment_days",
                format!(
                    "a public authority pays within 1 to {PAYMENT_DAYS_MAX} days (räntelagen 2 §: 30 days, at most 60 when expressly agreed and objectively justified)"
                ),
            ));
        }
        for (field, text) in [
            ("terms.invoicing.reference", &i.reference),
            ("terms.invoicing.peppol_id", &i.peppol_id),
        ] {
            if let Some(text) = text {
                text_rule(&mut v, field, text, 100);
            }
        }
    }
    if let Some(i) = &t.insurance {
        amount_rule(&mut v, "terms.insurance.liability_sek", i.liability_sek);
        if let Some(text) = &i.text {
            text_rule(&mut v, "terms.insurance.text", text, SHORT_TEXT_MAX_CHARS);
        }
    }
    if let Some(cap) = t.liability_cap_sek {
        amount_rule(&mut v, "terms.liability_cap_sek", cap);
    }
    match (&t.collective_agreement, t.labour_law_conditions) {
        (None, true) => v.push(Violation::new(
            "terms.collective_agreement",
            "",
            "required",
            "labour-law conditions (LOU 17 kap. 2–4 §§) name the central collective agreement whose levels apply",
        )),
        (Some(c), _) => text_rule(
            &mut v,
            "terms.collective_agreement",
            c,
            SHORT_TEXT_MAX_CHARS,
        ),
        (None, false) => {}
    }
    for (i, s) in t.subcontractors.iter().enumerate() {
        text_rule(
            &mut v,
            &format!("terms.subcontractors[{i}].name"),
            &s.name,
            300,
        );
        text_rule(
            &mut v,
            &format!("terms.subcontractors[{i}].part"),
            &s.part,
            SHORT_TEXT_MAX_CHARS,
        );
    }
    if let Some(p) = &t.penalty {
        amount_rule(&mut v, "terms.penalty.amount_sek", p.amount_sek);
        text_rule(&mut v, "terms.penalty.per", &p.per, 100);
    }
    if let Some(s) = &t.state_aid {
        if kind != AgreementKind::Iop {
            v.push(Violation::new(
                "terms.state_aid",
                s.basis.code(),
                "iop_only",
                "a state-aid reasoning belongs to an IOP; a procurement pays a market price",
            ));
        }
        text_rule(
            &mut v,
            "terms.state_aid.reasoning",
            &s.reasoning,
            SPECIAL_TERMS_MAX_CHARS,
        );
        match &s.decision {
            Some(d) => text_rule(&mut v, "terms.state_aid.decision", d, SHORT_TEXT_MAX_CHARS),
            None if s.basis == StateAidBasis::Sgei => v.push(Violation::new(
                "terms.state_aid.decision",
                "",
                "required",
                "compensation for a service of general economic interest needs the entrustment decision (Decision 2012/21/EU art. 4)",
            )),
            None => {}
        }
    }
    if kind == AgreementKind::Iop && (t.penalty.is_some() || t.labour_law_conditions) {
        v.push(Violation::new(
            if t.penalty.is_some() {
                "terms.penalty"
            } else {
                "terms.labour_law_conditions"
            },
            "",
            "procurement_only",
            "penalties and LOU labour-law conditions belong to a procurement, not an IOP",
        ));
    }
    for (i, id) in t.excluded_clauses.iter().enumerate() {
        let field = format!("terms.excluded_clauses[{i}]");
        if !OPTIONAL_CLAUSES.contains(&id.as_str()) {
            v.push(Violation::new(
                &field,
                id,
                "optional_clause",
                format!(
                    "only these clauses can be switched off: {}",
                    OPTIONAL_CLAUSES.join(", ")
                ),
            ));
        } else if t.excluded_clauses[..i].contains(id) {
            v.push(Violation::new(
                &field,
                id,
                "duplicate",
                "the clause is listed twice",
            ));
        }
    }
    if let Some(s) = &t.special_terms {
        text_rule(&mut v, "terms.special_terms", s, SPECIAL_TERMS_MAX_CHARS);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(t: &Terms, kind: AgreementKind) -> Vec<&'static str> {
        violations(t, kind).iter().map(|v| v.rule).collect()
    }

    #[test]
    fn months_are_year_dash_month() {
        assert!(is_month("2025-01"));
        for bad in ["2025-13", "2025-1", "25-01", "2025/01", "", "2025-00"] {
            assert!(!is_month(bad), "{bad}");
        }
    }

    #[test]
    fn each_broken_term_names_its_field_and_rule() {
        let sek = |kr| Sek::from_kronor(kr).unwrap_or_default();
        let cases: Vec<(&str, Terms, AgreementKind, &str, &str)> = vec![
            (
                "90 payment days",
                Terms {
                    invoicing: Some(Invoicing {
                        payment_days: 90,
                        reference: None,
                        peppol_id: None,
                    }),
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.invoicing.payment_days",
                "payment_days",
            ),
            (
                "bad base month",
                Terms {
                    price: Some(Price {
                        model: "Fast pris".into(),
                        adjustment: Some(PriceAdjustment {
                            index: "KPI".into(),
                            base_month: "januari".into(),
                            interval_months: 12,
                        }),
                    }),
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.price.adjustment.base_month",
                "month",
            ),
            (
                "labour law without agreement",
                Terms {
                    labour_law_conditions: true,
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.collective_agreement",
                "required",
            ),
            (
                "too long special terms",
                Terms {
                    special_terms: Some("x".repeat(SPECIAL_TERMS_MAX_CHARS + 1)),
                    ..Terms::default()
                },
                AgreementKind::Iop,
                "terms.special_terms",
                "max_length",
            ),
            (
                "switching off a mandatory clause",
                Terms {
                    excluded_clauses: vec!["liability".into()],
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.excluded_clauses[0]",
                "optional_clause",
            ),
            (
                "state aid on a procurement",
                Terms {
                    state_aid: Some(StateAid {
                        basis: StateAidBasis::NoAid,
                        reasoning: "Ingen ekonomisk verksamhet".into(),
                        decision: None,
                    }),
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.state_aid",
                "iop_only",
            ),
            (
                "sgei without decision",
                Terms {
                    state_aid: Some(StateAid {
                        basis: StateAidBasis::Sgei,
                        reasoning: "Tjänst av allmänt ekonomiskt intresse".into(),
                        decision: None,
                    }),
                    ..Terms::default()
                },
                AgreementKind::Iop,
                "terms.state_aid.decision",
                "required",
            ),
            (
                "zero penalty",
                Terms {
                    penalty: Some(Penalty {
                        amount_sek: sek(0),
                        per: "period".into(),
                    }),
                    ..Terms::default()
                },
                AgreementKind::ProcurementContract,
                "terms.penalty.amount_sek",
                "positive",
            ),
        ];
        for (case, terms, kind, field, rule) in cases {
            let v = violations(&terms, kind);
            assert!(
                v.iter().any(|x| x.field == field && x.rule == rule),
                "{case}: expected {field} / {rule}, got {v:?}"
            );
        }
    }

    #[test]
    fn complete_terms_pass() {
        let t = Terms {
            invoicing: Some(Invoicing {
                payment_days: 30,
                reference: Some("4711".into()),
                peppol_id: None,
            }),
            labour_law_conditions: true,
            collective_agreement: Some("Serviceentreprenadavtalet".into()),
            excluded_clauses: vec!["force_majeure".into()],
            ..Terms::default()
        };
        assert_eq!(
            rules(&t, AgreementKind::ProcurementContract),
            Vec::<&str>::new()
        );
    }
}
