//! The contract terms part of the agreement form (`terms.*`: price and its adjustment, invoicing
//! and payment, insurance, liability, labour-law conditions, subcontractors, personal data, the
//! penalty, an IOP's state-aid reasoning, the optional clauses switched off, special terms):
//! the inputs as texts, filled from stored terms, and parsed back into [`Terms`]. Each input
//! that does not parse is named; the terms' own rules are `domain::terms::violations`, applied
//! by the registry.

use serde::{Deserialize, Serialize};

use super::body::comma_list;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::Violation;
use crate::domain::terms::{
    Insurance, Invoicing, Penalty, PersonalData, Price, PriceAdjustment, StateAid, StateAidBasis,
    Subcontractor, Terms,
};

/// `terms.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TermsFields {
    pub price: PriceFields,
    pub invoicing: InvoicingFields,
    pub insurance: InsuranceFields,
    pub liability_cap_sek: String,
    /// `true` when the box is checked.
    pub labour_law_conditions: String,
    pub collective_agreement: String,
    pub subcontractors: Vec<SubcontractorRow>,
    pub personal_data: String,
    pub penalty: PenaltyFields,
    pub state_aid: StateAidFields,
    /// The checked boxes: the optional clauses left out.
    #[serde(with = "comma_list")]
    pub excluded_clauses: Vec<String>,
    pub special_terms: String,
}

/// `terms.price.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceFields {
    pub model: String,
    pub adjustment: AdjustmentFields,
}

/// `terms.price.adjustment.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdjustmentFields {
    pub index: String,
    pub base_month: String,
    pub interval_months: String,
}

/// `terms.invoicing.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicingFields {
    pub payment_days: String,
    pub reference: String,
    pub peppol_id: String,
}

/// `terms.insurance.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InsuranceFields {
    pub liability_sek: String,
    pub text: String,
}

/// One row of `terms.subcontractors`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SubcontractorRow {
    pub org: String,
    pub name: String,
    pub part: String,
}

/// `terms.penalty.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PenaltyFields {
    pub amount_sek: String,
    pub per: String,
}

/// `terms.state_aid.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StateAidFields {
    pub basis: String,
    pub reasoning: String,
    pub decision: String,
}

/// The personal-data choices, as the form lists them.
pub const PERSONAL_DATA: &[&str] = &["none", "processor", "separate_controllers"];
/// The state-aid bases, as the form lists them.
pub const STATE_AID_BASES: &[&str] = &["no_aid", "de_minimis", "sgei"];

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn given(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl From<&Terms> for TermsFields {
    /// The inputs filled from stored terms.
    fn from(t: &Terms) -> Self {
        let adj = t.price.as_ref().and_then(|p| p.adjustment.as_ref());
        Self {
            price: PriceFields {
                model: t
                    .price
                    .as_ref()
                    .map(|p| p.model.clone())
                    .unwrap_or_default(),
                adjustment: AdjustmentFields {
                    index: adj.map(|a| a.index.clone()).unwrap_or_default(),
                    base_month: adj.map(|a| a.base_month.clone()).unwrap_or_default(),
                    interval_months: adj
                        .map(|a| a.interval_months.to_string())
                        .unwrap_or_default(),
                },
            },
            invoicing: InvoicingFields {
                payment_days: t
                    .invoicing
                    .as_ref()
                    .map(|i| i.payment_days.to_string())
                    .unwrap_or_default(),
                reference: t
                    .invoicing
                    .as_ref()
                    .map(|i| text(&i.reference))
                    .unwrap_or_default(),
                peppol_id: t
                    .invoicing
                    .as_ref()
                    .map(|i| text(&i.peppol_id))
                    .unwrap_or_default(),
            },
            insurance: InsuranceFields {
                liability_sek: t
                    .insurance
                    .as_ref()
                    .map(|i| i.liability_sek.to_string())
                    .unwrap_or_default(),
                text: t
                    .insurance
                    .as_ref()
                    .map(|i| text(&i.text))
                    .unwrap_or_default(),
            },
            liability_cap_sek: t
                .liability_cap_sek
                .map(|s| s.to_string())
                .unwrap_or_default(),
            labour_law_conditions: if t.labour_law_conditions {
                "true".into()
            } else {
                String::new()
            },
            collective_agreement: text(&t.collective_agreement),
            subcontractors: t
                .subcontractors
                .iter()
                .map(|s| SubcontractorRow {
                    org: s.org.to_string(),
                    name: s.name.clone(),
                    part: s.part.clone(),
                })
                .collect(),
            personal_data: t.personal_data.code().into(),
            penalty: PenaltyFields {
                amount_sek: t
                    .penalty
                    .as_ref()
                    .map(|p| p.amount_sek.to_string())
                    .unwrap_or_default(),
                per: t
                    .penalty
                    .as_ref()
                    .map(|p| p.per.clone())
                    .unwrap_or_default(),
            },
            state_aid: StateAidFields {
                basis: t
                    .state_aid
                    .as_ref()
                    .map(|s| s.basis.code().to_owned())
                    .unwrap_or_default(),
                reasoning: t
                    .state_aid
                    .as_ref()
                    .map(|s| s.reasoning.clone())
                    .unwrap_or_default(),
                decision: t
                    .state_aid
                    .as_ref()
                    .map(|s| text(&s.decision))
                    .unwrap_or_default(),
            },
            excluded_clauses: t.excluded_clauses.clone(),
            special_terms: text(&t.special_terms),
        }
    }
}

/// Collects one violation per input that does not parse.
#[derive(Debug, Default)]
struct Parse {
    errors: Vec<Violation>,
}

impl Parse {
    fn amount(&mut self, name: &str, v: &str) -> Option<Sek> {
        let v = given(v)?;
        Sek::parse(&v)
            .map_err(|_| {
                self.errors
                    .push(Violation::new(name, &v, "number", "not an amount"))
            })
            .ok()
    }

    fn whole(&mut self, name: &str, v: &str) -> Option<u32> {
        let v = given(v)?;
        v.parse::<u32>()
            .map_err(|_| {
                self.errors.push(Violation::new(
                    name,
                    &v,
                    "whole_number",
                    "not a whole number",
                ))
            })
            .ok()
    }

    fn required(&mut self, name: &str, v: &str) {
        if v.trim().is_empty() {
            self.errors
                .push(Violation::new(name, "", "required", "required"));
        }
    }

    fn choice<T>(&mut self, name: &str, v: &str, codes: &[(&str, T)]) -> Option<T>
    where
        T: Copy,
    {
        let v = given(v)?;
        match codes.iter().find(|(c, _)| *c == v) {
            Some((_, t)) => Some(*t),
            None => {
                self.errors
                    .push(Violation::new(name, &v, "choice", "not one of the choices"));
                None
            }
        }
    }
}

/// The terms the inputs describe. A group (price, invoicing, insurance, penalty, state aid) is
/// set when any of its inputs is given, and then needs its main input.
pub fn terms_from(f: &TermsFields) -> Result<Terms, Vec<Violation>> {
    let mut p = Parse::default();
    let adj = &f.price.adjustment;
    let adjustment = if [&adj.index, &adj.base_month, &adj.interval_months]
        .iter()
        .any(|v| given(v).is_some())
    {
        p.required("terms.price.adjustment.index", &adj.index);
        p.required("terms.price.adjustment.base_month", &adj.base_month);
        let interval = p
            .whole(
                "terms.price.adjustment.interval_months",
                &adj.interval_months,
            )
            .unwrap_or(12);
        Some(PriceAdjustment {
            index: adj.index.trim().to_owned(),
            base_month: adj.base_month.trim().to_owned(),
            interval_months: interval,
        })
    } else {
        None
    };
    let price = if given(&f.price.model).is_some() || adjustment.is_some() {
        p.required("terms.price.model", &f.price.model);
        Some(Price {
            model: f.price.model.trim().to_owned(),
            adjustment,
        })
    } else {
        None
    };
    let inv = &f.invoicing;
    let invoicing = if [&inv.payment_days, &inv.reference, &inv.peppol_id]
        .iter()
        .any(|v| given(v).is_some())
    {
        p.required("terms.invoicing.payment_days", &inv.payment_days);
        p.whole("terms.invoicing.payment_days", &inv.payment_days)
            .map(|payment_days| Invoicing {
                payment_days,
                reference: given(&inv.reference),
                peppol_id: given(&inv.peppol_id),
            })
    } else {
        None
    };
    let insurance =
        if given(&f.insurance.liability_sek).is_some() || given(&f.insurance.text).is_some() {
            p.required("terms.insurance.liability_sek", &f.insurance.liability_sek);
            p.amount("terms.insurance.liability_sek", &f.insurance.liability_sek)
                .map(|liability_sek| Insurance {
                    liability_sek,
                    text: given(&f.insurance.text),
                })
        } else {
            None
        };
    let liability_cap_sek = p.amount("terms.liability_cap_sek", &f.liability_cap_sek);
    let mut subcontractors = Vec::new();
    for (i, row) in f.subcontractors.iter().enumerate() {
        let name = format!("terms.subcontractors[{i}].org");
        p.required(&name, &row.org);
        if given(&row.org).is_none() {
            continue;
        }
        match OrgNumber::parse(&row.org) {
            Ok(org) => subcontractors.push(Subcontractor {
                org,
                name: row.name.trim().to_owned(),
                part: row.part.trim().to_owned(),
            }),
            Err(e) => p
                .errors
                .push(Violation::new(name, &row.org, "org_number", e.to_string())),
        }
    }
    let personal_data = p
        .choice(
            "terms.personal_data",
            &f.personal_data,
            &[
                ("none", PersonalData::None),
                ("processor", PersonalData::Processor),
                ("separate_controllers", PersonalData::SeparateControllers),
            ],
        )
        .unwrap_or_default();
    let penalty = if given(&f.penalty.amount_sek).is_some() || given(&f.penalty.per).is_some() {
        p.required("terms.penalty.amount_sek", &f.penalty.amount_sek);
        p.amount("terms.penalty.amount_sek", &f.penalty.amount_sek)
            .map(|amount_sek| Penalty {
                amount_sek,
                per: f.penalty.per.trim().to_owned(),
            })
    } else {
        None
    };
    let sa = &f.state_aid;
    let state_aid = if [&sa.basis, &sa.reasoning, &sa.decision]
        .iter()
        .any(|v| given(v).is_some())
    {
        p.required("terms.state_aid.basis", &sa.basis);
        p.choice(
            "terms.state_aid.basis",
            &sa.basis,
            &[
                ("no_aid", StateAidBasis::NoAid),
                ("de_minimis", StateAidBasis::DeMinimis),
                ("sgei", StateAidBasis::Sgei),
            ],
        )
        .map(|basis| StateAid {
            basis,
            reasoning: sa.reasoning.trim().to_owned(),
            decision: given(&sa.decision),
        })
    } else {
        None
    };
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    Ok(Terms {
        price,
        invoicing,
        insurance,
        liability_cap_sek,
        labour_law_conditions: f.labour_law_conditions == "true",
        collective_agreement: given(&f.collective_agreement),
        subcontractors,
        personal_data,
        penalty,
        state_aid,
        excluded_clauses: f.excluded_clauses.clone(),
        special_terms: given(&f.special_terms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_terms_come_back_from_their_inputs() {
        let t = Terms {
            price: Some(Price {
                model: "Fast pris per timme".into(),
                adjustment: Some(PriceAdjustment {
                    index: "AKI".into(),
                    base_month: "2025-01".into(),
                    interval_months: 12,
                }),
            }),
            invoicing: Some(Invoicing {
                payment_days: 30,
                reference: Some("Ref 1".into()),
                peppol_id: None,
            }),
            insurance: Sek::parse("5000000").ok().map(|liability_sek| Insurance {
                liability_sek,
                text: None,
            }),
            labour_law_conditions: true,
            collective_agreement: Some("Kollektivavtal".into()),
            personal_data: PersonalData::Processor,
            excluded_clauses: vec!["force_majeure".into()],
            special_terms: Some("Särskilt".into()),
            ..Terms::default()
        };
        let back = terms_from(&TermsFields::from(&t));
        assert_eq!(back.as_ref().ok(), Some(&t), "{back:?}");
        assert_eq!(
            terms_from(&TermsFields::default()).ok(),
            Some(Terms::default())
        );
    }

    #[test]
    fn each_input_that_does_not_parse_is_named() {
        let f = TermsFields {
            invoicing: InvoicingFields {
                payment_days: "trettio".into(),
                ..InvoicingFields::default()
            },
            insurance: InsuranceFields {
                text: "Ansvarsförsäkring".into(),
                ..InsuranceFields::default()
            },
            personal_data: "kanske".into(),
            subcontractors: vec![SubcontractorRow {
                org: "123".into(),
                ..SubcontractorRow::default()
            }],
            ..TermsFields::default()
        };
        let fields: Vec<(String, &str)> = terms_from(&f)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.field, v.rule))
            .collect();
        assert_eq!(
            fields,
            [
                ("terms.invoicing.payment_days".to_owned(), "whole_number"),
                ("terms.insurance.liability_sek".to_owned(), "required"),
                ("terms.subcontractors[0].org".to_owned(), "org_number"),
                ("terms.personal_data".to_owned(), "choice"),
            ]
        );
    }
}
