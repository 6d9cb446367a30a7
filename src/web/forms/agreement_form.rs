//! The agreement form as a struct: one field per input, named by the agreement's own field
//! path, the repeating groups as lists of rows. Filled from the request body (`body::parse`) or
//! from a stored agreement (`From<&Agreement>`), and shown back to the template by input name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::body::{self, comma_list};
use super::terms_form::TermsFields;
use crate::domain::agreement::Agreement;
use crate::domain::codes::PartyRole;
use crate::domain::org_number::OrgNumber;

/// Everything the agreement form sends; every text is trimmed and empty when not given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AgreementForm {
    pub reference: String,
    pub kind: String,
    pub title: String,
    pub diarienummer: String,
    pub decision: DecisionFields,
    pub legal_basis: String,
    pub procedure_type: String,
    pub signed_on: String,
    pub period: PeriodFields,
    pub value: ValueFields,
    /// The buyer's organisation number.
    pub buyer: String,
    /// The supplier's or IOP partner's organisation number.
    pub partner: String,
    /// The buyer's contracting unit (e.g. the department of a municipality).
    pub buyer_unit: String,
    /// The supplier's or partner's contracting unit.
    pub partner_unit: String,
    /// Why a partner or supplier that does not meet its role's rule is accepted.
    pub eligibility_exception: String,
    pub contacts: ContactFields,
    pub eforms: EformsFields,
    pub framework: String,
    pub framework_special_reasons: String,
    pub share_requirement_percent: String,
    pub social_clauses: Vec<ClauseRow>,
    pub iop: IopFields,
    pub options: Vec<OptionRow>,
    pub tacit_renewal: TacitRenewalFields,
    pub termination: TerminationFields,
    pub renewal_dialogue: DialogueFields,
    pub reporting: Vec<ReportRow>,
    pub terms: TermsFields,
    pub notes: String,
    /// How many rows each group showed (`rows.goals`), so a re-shown form shows as many.
    pub rows: BTreeMap<String, String>,
    /// The group whose "Lägg till rad" was pressed: show one more row, save nothing.
    #[serde(skip_serializing)]
    pub add: String,
    /// The version the edit form was read at.
    #[serde(skip_serializing)]
    pub version: String,
}

/// `decision.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionFields {
    pub body: String,
    pub date: String,
    pub paragraph: String,
}

/// `period.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeriodFields {
    pub start: String,
    pub original_end: String,
    pub current_end: String,
    pub outer_limit: String,
}

/// `value.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueFields {
    pub amount_sek: String,
    pub basis: String,
    pub estimated_total_sek: String,
}

/// `contacts.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactFields {
    pub owner: String,
    pub escalation: String,
    pub partner: String,
    pub reporting: String,
    pub funder: String,
    pub signatories: Vec<String>,
}

/// `eforms.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EformsFields {
    pub bt_71: String,
    pub bt_736: String,
    /// The checked boxes of BT-06.
    #[serde(with = "comma_list")]
    pub bt_06: Vec<String>,
    pub bt_765: String,
    pub bt_23: String,
    pub cpv: String,
}

/// `iop.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IopFields {
    pub purpose: String,
    pub background: String,
    pub value_base: String,
    pub partner_value_base: String,
    pub target_group: String,
    pub governance: String,
    pub changes: String,
    pub disputes: String,
    pub legal_assessment: LegalAssessmentFields,
    pub goals: Vec<GoalRow>,
    pub activities: Vec<ActivityRow>,
    pub contributions: Vec<ContributionRow>,
}

/// `iop.legal_assessment.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LegalAssessmentFields {
    pub date: String,
    pub by: String,
    pub conclusion: String,
}

/// `tacit_renewal.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TacitRenewalFields {
    pub months: String,
    pub notice_months: String,
    pub max_renewals: String,
}

/// `termination.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TerminationFields {
    pub notice_months: String,
    pub effective: String,
    pub form: String,
}

/// `renewal_dialogue.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DialogueFields {
    pub text: String,
    pub months_before_end: String,
    pub due: String,
}

/// A row of `iop.goals`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalRow {
    pub text: String,
    pub indicator: String,
    /// Targets, one per line: `participants minst 12 per år`.
    pub targets: String,
}

/// A row of `iop.activities`; `party` is `buyer`, `partner` or an organisation number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityRow {
    pub party: String,
    pub text: String,
    pub min_volume: String,
}

/// A row of `iop.contributions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContributionRow {
    pub party: String,
    pub kind: String,
    pub amount_sek: String,
    pub per: String,
    pub text: String,
}

/// A row of `social_clauses`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClauseRow {
    pub lou_basis: String,
    pub objective: String,
    pub strategy: String,
    pub target: String,
    pub target_value: String,
    pub target_unit: String,
    pub follow_up: String,
    /// Targets, one per line: `req_employed minst 2 per år`.
    pub targets: String,
}

/// A row of `options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OptionRow {
    pub months: String,
    pub decided_by: String,
    pub decide_by: String,
    pub notice_months: String,
}

/// A row of `reporting`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportRow {
    pub kind: String,
    pub description: String,
    pub recurrence: String,
    pub first_period_end: String,
    pub due: String,
    pub due_offset_days: String,
    pub grace_days: String,
    pub escalation_days: String,
    pub responsible: String,
    pub recipient: String,
    /// The indicators each report carries, separated by commas or spaces.
    pub indicators: String,
}

/// A repeating group: its name in `rows.*` and `add`, the input path of its list, and the keys
/// of a row (`""` for a row that is one input).
pub struct Group {
    pub name: &'static str,
    pub path: &'static str,
    pub keys: &'static [&'static str],
}

/// The repeating groups, as the template names them.
pub const GROUPS: &[Group] = &[
    Group {
        name: "goals",
        path: "iop.goals",
        keys: &["text", "indicator", "targets"],
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
            "targets",
        ],
    },
    Group {
        name: "subcontractors",
        path: "terms.subcontractors",
        keys: &["org", "name", "part"],
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
            "indicators",
        ],
    },
];

/// Row keys that are choices: a row with only choices filled in is blank.
pub const CHOICE_KEYS: &[&str] = &[
    "party",
    "kind",
    "lou_basis",
    "objective",
    "strategy",
    "decided_by",
    "recurrence",
    "responsible",
];

/// Targets as the form shows them, one per line.
fn target_lines(targets: &[crate::domain::outcomes::Target]) -> String {
    targets
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The input name of `key` in row `i` of the group at `path`.
pub fn cell(path: &str, i: usize, key: &str) -> String {
    if key.is_empty() {
        format!("{path}[{i}]")
    } else {
        format!("{path}[{i}].{key}")
    }
}

fn all_blank(texts: &[&str]) -> bool {
    texts.iter().all(|t| t.is_empty())
}

impl AgreementForm {
    /// Leaves out the blank rows (only choices filled in), so the filled ones come first, in
    /// order: the registry's row numbers in its violations are then the form's.
    pub fn without_blank_rows(mut self) -> Self {
        self.contacts.signatories.retain(|s| !s.is_empty());
        self.iop
            .goals
            .retain(|r| !all_blank(&[&r.text, &r.indicator]));
        self.iop
            .activities
            .retain(|r| !all_blank(&[&r.text, &r.min_volume]));
        self.iop
            .contributions
            .retain(|r| !all_blank(&[&r.amount_sek, &r.per, &r.text]));
        self.social_clauses
            .retain(|r| !all_blank(&[&r.target, &r.target_value, &r.target_unit, &r.follow_up]));
        self.options
            .retain(|r| !all_blank(&[&r.months, &r.decide_by, &r.notice_months]));
        self.terms
            .subcontractors
            .retain(|r| !all_blank(&[&r.org, &r.name, &r.part]));
        self.reporting.retain(|r| {
            !all_blank(&[
                &r.description,
                &r.first_period_end,
                &r.due,
                &r.due_offset_days,
                &r.grace_days,
                &r.escalation_days,
                &r.recipient,
            ])
        });
        self
    }

    /// The number of filled rows of the group named `name`.
    pub fn filled_rows(&self, name: &str) -> usize {
        match name {
            "goals" => self.iop.goals.len(),
            "activities" => self.iop.activities.len(),
            "contributions" => self.iop.contributions.len(),
            "signatories" => self.contacts.signatories.len(),
            "clauses" => self.social_clauses.len(),
            "options" => self.options.len(),
            "subcontractors" => self.terms.subcontractors.len(),
            "reports" => self.reporting.len(),
            _ => 0,
        }
    }

    /// Every input's text by input name (`options[1].months`), as the template shows them.
    pub fn inputs(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Ok(v) = serde_json::to_value(self) {
            body::flatten(&v, "", &mut out);
        }
        out
    }
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

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn shown<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The contracting unit of the party with organisation number `org`.
fn unit_of(a: &Agreement, org: &str) -> String {
    a.parties
        .iter()
        .find(|p| p.org.to_string() == org)
        .and_then(|p| p.unit.clone())
        .unwrap_or_default()
}

impl From<&Agreement> for AgreementForm {
    /// The form filled from a stored agreement.
    fn from(a: &Agreement) -> Self {
        let buyer = shown(a.parties_in(PartyRole::Buyer).next());
        let partner = shown(
            a.parties
                .iter()
                .find(|p| matches!(p.role, PartyRole::Supplier | PartyRole::IopPartner))
                .map(|p| &p.org),
        );
        let party = |o: &OrgNumber| party_choice(o, &buyer, &partner);
        let c = &a.contacts;
        let iop = a.iop.clone().unwrap_or_default();
        let la = iop.legal_assessment.as_ref();
        Self {
            reference: a.reference.to_string(),
            kind: a.kind.code().into(),
            title: a.title.clone(),
            diarienummer: text(&a.diarienummer),
            decision: DecisionFields {
                body: shown(a.decision.as_ref().map(|d| &d.body)),
                date: shown(a.decision.as_ref().map(|d| d.date)),
                paragraph: shown(a.decision.as_ref().and_then(|d| d.paragraph.as_ref())),
            },
            legal_basis: a.legal_basis.code().into(),
            procedure_type: shown(a.procedure_type.map(|p| p.code())),
            signed_on: shown(a.signed_on),
            period: PeriodFields {
                start: a.period.start.to_string(),
                original_end: a.period.original_end.to_string(),
                current_end: a.period.current_end.to_string(),
                outer_limit: shown(a.period.outer_limit),
            },
            value: ValueFields {
                amount_sek: shown(a.value.as_ref().map(|v| v.amount_sek)),
                basis: shown(a.value.as_ref().map(|v| v.basis.code())),
                estimated_total_sek: shown(a.value.as_ref().and_then(|v| v.estimated_total_sek)),
            },
            buyer_unit: unit_of(a, &buyer),
            partner_unit: unit_of(a, &partner),
            buyer: buyer.clone(),
            partner: partner.clone(),
            terms: TermsFields::from(&a.terms),
            contacts: ContactFields {
                owner: shown(c.owner.as_ref()),
                escalation: shown(c.escalation.as_ref()),
                partner: shown(c.partner.as_ref()),
                reporting: shown(c.reporting.as_ref()),
                funder: shown(c.funder.as_ref()),
                signatories: c.signatories.iter().map(ToString::to_string).collect(),
            },
            eforms: EformsFields {
                bt_71: shown(a.eforms.bt_71.map(|c| c.code())),
                bt_736: shown(a.eforms.bt_736.map(|c| c.code())),
                bt_06: a.eforms.bt_06.iter().map(|c| c.code().to_owned()).collect(),
                bt_765: shown(a.eforms.bt_765.map(|c| c.code())),
                bt_23: shown(a.eforms.bt_23.map(|c| c.code())),
                cpv: text(&a.eforms.cpv),
            },
            framework: shown(a.framework.as_ref()),
            framework_special_reasons: text(&a.framework_special_reasons),
            eligibility_exception: text(&a.eligibility_exception),
            share_requirement_percent: shown(a.share_requirement_percent),
            social_clauses: a
                .social_clauses
                .iter()
                .map(|sc| ClauseRow {
                    lou_basis: sc.lou_basis.code().into(),
                    objective: sc.objective.code().into(),
                    strategy: sc.strategy.code().into(),
                    target: sc.target.clone(),
                    target_value: shown(sc.target_value),
                    target_unit: text(&sc.target_unit),
                    follow_up: text(&sc.follow_up),
                    targets: target_lines(&sc.targets),
                })
                .collect(),
            iop: IopFields {
                purpose: text(&iop.purpose),
                background: text(&iop.background),
                value_base: text(&iop.value_base),
                partner_value_base: text(&iop.partner_value_base),
                target_group: text(&iop.target_group),
                governance: text(&iop.governance),
                changes: text(&iop.changes),
                disputes: text(&iop.disputes),
                legal_assessment: LegalAssessmentFields {
                    date: shown(la.map(|l| l.date)),
                    by: shown(la.map(|l| &l.by)),
                    conclusion: shown(la.map(|l| &l.conclusion)),
                },
                goals: iop
                    .goals
                    .iter()
                    .map(|g| GoalRow {
                        text: g.text.clone(),
                        indicator: text(&g.indicator),
                        targets: target_lines(&g.targets),
                    })
                    .collect(),
                activities: iop
                    .activities
                    .iter()
                    .map(|x| ActivityRow {
                        party: party(&x.party),
                        text: x.text.clone(),
                        min_volume: text(&x.min_volume),
                    })
                    .collect(),
                contributions: iop
                    .contributions
                    .iter()
                    .map(|x| ContributionRow {
                        party: party(&x.party),
                        kind: x.kind.code().into(),
                        amount_sek: shown(x.amount_sek),
                        per: text(&x.per),
                        text: text(&x.text),
                    })
                    .collect(),
            },
            options: a
                .options_in_order()
                .into_iter()
                .map(|o| OptionRow {
                    months: o.months.to_string(),
                    decided_by: o.decided_by.code().into(),
                    decide_by: shown(o.decide_by),
                    notice_months: shown(o.notice_months),
                })
                .collect(),
            tacit_renewal: a
                .tacit_renewal
                .as_ref()
                .map(|t| TacitRenewalFields {
                    months: t.months.to_string(),
                    notice_months: t.notice_months.to_string(),
                    max_renewals: shown(t.max_renewals),
                })
                .unwrap_or_default(),
            termination: a
                .termination
                .as_ref()
                .map(|t| TerminationFields {
                    notice_months: t.notice_months.to_string(),
                    effective: t.effective.code().into(),
                    form: text(&t.form),
                })
                .unwrap_or_default(),
            renewal_dialogue: a
                .renewal_dialogue
                .as_ref()
                .map(|r| DialogueFields {
                    text: text(&r.text),
                    months_before_end: shown(r.months_before_end),
                    due: shown(r.due),
                })
                .unwrap_or_default(),
            reporting: a
                .reporting
                .iter()
                .map(|r| ReportRow {
                    kind: r.kind.clone(),
                    description: text(&r.description),
                    recurrence: r.recurrence.code().into(),
                    first_period_end: shown(r.first_period_end),
                    due: shown(r.due),
                    due_offset_days: r.due_offset_days.to_string(),
                    grace_days: r.grace_days.to_string(),
                    escalation_days: r.escalation_days.to_string(),
                    responsible: party(&r.responsible),
                    recipient: shown(r.recipient.as_ref()),
                    indicators: r
                        .indicators
                        .iter()
                        .map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
            notes: text(&a.notes),
            rows: BTreeMap::new(),
            add: String::new(),
            version: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::forms::terms_form::SubcontractorRow;

    /// The group table names exactly the inputs of the row structs.
    #[test]
    fn the_groups_name_the_inputs_of_the_rows() {
        let mut form = AgreementForm::default();
        form.iop.goals.push(GoalRow::default());
        form.iop.activities.push(ActivityRow::default());
        form.iop.contributions.push(ContributionRow::default());
        form.contacts.signatories.push(String::new());
        form.social_clauses.push(ClauseRow::default());
        form.options.push(OptionRow::default());
        form.reporting.push(ReportRow::default());
        form.terms.subcontractors.push(SubcontractorRow::default());
        let inputs = form.inputs();
        for g in GROUPS {
            let shown: Vec<&String> = inputs
                .keys()
                .filter(|k| k.starts_with(&format!("{}[", g.path)))
                .collect();
            let expected: Vec<String> = g.keys.iter().map(|k| cell(g.path, 0, k)).collect();
            let mut expected: Vec<&String> = expected.iter().collect();
            expected.sort();
            assert_eq!(shown, expected, "{}", g.name);
            assert_eq!(form.filled_rows(g.name), 1, "{}", g.name);
        }
    }

    #[test]
    fn a_row_with_only_choices_is_blank_and_left_out() {
        let form: AgreementForm = body::parse(
            b"options%5B0%5D.decided_by=buyer&options%5B1%5D.months=12\
&iop.goals%5B0%5D.text=+&iop.goals%5B1%5D.indicator=x&eforms.bt_06=a&eforms.bt_06=b",
        )
        .unwrap_or_default();
        let form = form.without_blank_rows();
        assert_eq!(form.options.len(), 1);
        assert_eq!(form.options[0].months, "12");
        assert_eq!(form.iop.goals.len(), 1);
        assert_eq!(form.eforms.bt_06, ["a", "b"]);
        assert_eq!(form.inputs()["eforms.bt_06"], "a,b");
    }
}
