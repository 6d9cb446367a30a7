//! The agreement the form describes: each input parsed into its domain type, on top of the
//! stored agreement when editing, so what the form does not show is kept. Every input that does
//! not parse becomes a violation named by that input; the registry's rules come after.

use chrono::NaiveDate;

use super::agreement_form::{
    AgreementForm, ClauseRow, ContributionRow, OptionRow, ReportRow, cell,
};
use crate::domain::agreement::{
    Activity, Agreement, AgreementContacts, Contribution, Decision, Eforms, ExtensionOption, Goal,
    IopDetails, LegalAssessment, Party, Period, Reference, RenewalDialogue, ReportingObligation,
    SocialClause, TacitRenewal, Termination, Value,
};
use crate::domain::codes::{
    AgreementKind, AgreementStatus, ContractNature, ContributionKind, FrameworkType, LegalBasis,
    NoticeEffect, OptionDecider, OptionState, PartyRole, ProcedureType, Recurrence,
    ReservedExecution, ReservedParticipation, SocialObjective, StrategicProcurement,
    SustainabilityStrategy, ValueBasis,
};
use crate::domain::dates::parse_iso_date;
use crate::domain::indicators::IndicatorId;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::outcomes::Target;
use crate::domain::party::{EmailAddress, Violation};

/// Reads typed values from the form's texts, collecting one violation per input that does not
/// parse.
#[derive(Debug, Default)]
struct Check {
    errors: Vec<Violation>,
}

/// A text that was given.
fn given(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

impl Check {
    fn date(&mut self, name: &str, v: &str) -> Option<NaiveDate> {
        let v = given(v)?;
        parse_iso_date(&v)
            .map_err(|_| {
                self.errors
                    .push(Violation::new(name, &v, "date", "not a date"))
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

    fn amount(&mut self, name: &str, v: &str) -> Option<Sek> {
        let v = given(v)?;
        Sek::parse(&v)
            .map_err(|_| {
                self.errors
                    .push(Violation::new(name, &v, "number", "not an amount"))
            })
            .ok()
    }

    fn email(&mut self, name: &str, v: &str) -> Option<EmailAddress> {
        let v = given(v)?;
        EmailAddress::parse(&v)
            .map_err(|e| {
                self.errors
                    .push(Violation::new(name, &v, "email", e.to_string()))
            })
            .ok()
    }

    fn choice<T>(
        &mut self,
        name: &str,
        v: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = given(v)?;
        parse(&v)
            .map_err(|e| self.errors.push(Violation::new(name, &v, "choice", e)))
            .ok()
    }

    fn org(&mut self, name: &str, v: &str) -> Option<OrgNumber> {
        OrgNumber::parse(v)
            .map_err(|e| {
                self.errors
                    .push(Violation::new(name, v, "org_number", e.to_string()))
            })
            .ok()
    }

    fn required(&mut self, name: &str, v: &str) {
        if v.is_empty() {
            self.errors
                .push(Violation::new(name, "", "required", "required"));
        }
    }

    /// A row's party: `buyer` and `partner` name the form's buyer and counterpart.
    fn party(&mut self, name: &str, v: &str, form: &AgreementForm) -> Option<OrgNumber> {
        let raw = match v {
            "" => {
                self.required(name, v);
                return None;
            }
            "buyer" | "partner" => {
                let org = if v == "buyer" {
                    &form.buyer
                } else {
                    &form.partner
                };
                if org.is_empty() {
                    self.errors
                        .push(Violation::new(name, "", "party_missing", "no such party"));
                    return None;
                }
                org.as_str()
            }
            other => other,
        };
        self.org(name, raw)
    }
}

/// Builds the agreement the form describes, on top of `base` (edit: the stored agreement, so
/// what the form does not show is kept). Typing errors are violations of their input.
pub fn agreement_from(
    form: &AgreementForm,
    base: Option<&Agreement>,
) -> Result<Agreement, Vec<Violation>> {
    let mut c = Check::default();
    let kind = c.choice("kind", &form.kind, AgreementKind::parse);
    c.required("kind", &form.kind);
    let reference = match Reference::parse(&form.reference) {
        Ok(r) => Some(base.map_or(r, |a| a.reference.clone())),
        Err(e) => {
            c.errors.push(Violation::new(
                "reference",
                &form.reference,
                "reference",
                e.to_string(),
            ));
            None
        }
    };
    let decision = decision(&mut c, form);
    let legal_basis = c.choice("legal_basis", &form.legal_basis, LegalBasis::parse);
    c.required("legal_basis", &form.legal_basis);
    let procedure_type = c.choice("procedure_type", &form.procedure_type, ProcedureType::parse);
    let signed_on = c.date("signed_on", &form.signed_on);
    let p = &form.period;
    let start = c.date("period.start", &p.start);
    let original_end = c.date("period.original_end", &p.original_end);
    let current_end = c
        .date("period.current_end", &p.current_end)
        .or(original_end);
    c.required("period.start", &p.start);
    c.required("period.original_end", &p.original_end);
    let outer_limit = c.date("period.outer_limit", &p.outer_limit);
    let value = c
        .amount("value.amount_sek", &form.value.amount_sek)
        .map(|amount_sek| Value {
            amount_sek,
            basis: ValueBasis::parse(&form.value.basis).unwrap_or(ValueBasis::FixedTotal),
            estimated_total_sek: c
                .amount("value.estimated_total_sek", &form.value.estimated_total_sek),
        });
    let parties = parties(&mut c, form, kind, base);
    let contacts = contacts(&mut c, form);
    // Each kind shows its own part of the form; the other part is kept as stored.
    let is_iop = kind == Some(AgreementKind::Iop);
    let procurement = if is_iop {
        base.map(Procurement::of).unwrap_or_default()
    } else {
        procurement(&mut c, form, base)
    };
    let iop = if is_iop {
        iop(&mut c, form, base.and_then(|a| a.iop.as_ref()))
    } else {
        base.and_then(|a| a.iop.clone())
    };
    let options = options(&mut c, form, base);
    let tacit_renewal = tacit_renewal(&mut c, form, base.and_then(|a| a.tacit_renewal.as_ref()));
    let termination = termination(&mut c, form, base.and_then(|a| a.termination.as_ref()));
    let renewal_dialogue = renewal_dialogue(&mut c, form);
    let reporting = reporting(&mut c, form, base);
    let terms = super::terms_form::terms_from(&form.terms).unwrap_or_else(|v| {
        c.errors.extend(v);
        crate::domain::terms::Terms::default()
    });
    let (Some(kind), Some(reference), Some(legal_basis), Some(start), Some(original_end)) =
        (kind, reference, legal_basis, start, original_end)
    else {
        return Err(c.errors);
    };
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(Agreement {
        reference,
        kind,
        status: base.map_or(AgreementStatus::Draft, |a| a.status),
        title: form.title.clone(),
        diarienummer: given(&form.diarienummer),
        decision,
        legal_basis,
        procedure_type,
        signed_on,
        value,
        parties,
        contacts,
        period: Period {
            start,
            original_end,
            current_end: current_end.unwrap_or(original_end),
            outer_limit,
        },
        framework: procurement.framework,
        framework_special_reasons: procurement.framework_special_reasons,
        eligibility_exception: given(&form.eligibility_exception),
        eforms: procurement.eforms,
        share_requirement_percent: procurement.share_requirement_percent,
        social_clauses: procurement.social_clauses,
        // The agreement's own indicators are kept: the form does not show them (the API and
        // the import set them).
        indicators: base.map(|a| a.indicators.clone()).unwrap_or_default(),
        iop,
        options,
        tacit_renewal,
        renewal_dialogue,
        termination,
        amendments: base.map(|a| a.amendments.clone()).unwrap_or_default(),
        reporting,
        reminder_days: base.map(|a| a.reminder_days.clone()).unwrap_or_default(),
        terms,
        notes: given(&form.notes),
    })
}

/// The decision: all of it or none of it.
fn decision(c: &mut Check, form: &AgreementForm) -> Option<Decision> {
    let d = &form.decision;
    if [&d.body, &d.date, &d.paragraph]
        .iter()
        .all(|v| v.is_empty())
    {
        return None;
    }
    c.required("decision.body", &d.body);
    c.required("decision.date", &d.date);
    let date = c.date("decision.date", &d.date)?;
    Some(Decision {
        body: given(&d.body)?,
        date,
        paragraph: given(&d.paragraph),
    })
}

/// The form holds the first buyer and the first supplier or IOP partner; they are replaced in
/// place (or added, or removed when emptied) and every other party is kept.
fn parties(
    c: &mut Check,
    form: &AgreementForm,
    kind: Option<AgreementKind>,
    base: Option<&Agreement>,
) -> Vec<Party> {
    let counterpart = if kind == Some(AgreementKind::Iop) {
        PartyRole::IopPartner
    } else {
        PartyRole::Supplier
    };
    let mut parties = base.map(|a| a.parties.clone()).unwrap_or_default();
    for (name, raw, role, roles) in [
        (
            "buyer",
            &form.buyer,
            PartyRole::Buyer,
            &[PartyRole::Buyer][..],
        ),
        (
            "partner",
            &form.partner,
            counterpart,
            &[PartyRole::Supplier, PartyRole::IopPartner][..],
        ),
    ] {
        let at = parties.iter().position(|p| roles.contains(&p.role));
        if raw.is_empty() {
            if let Some(i) = at {
                parties.remove(i);
            }
            continue;
        }
        let Some(org) = c.org(name, raw) else {
            continue;
        };
        let unit = given(if name == "buyer" {
            form.buyer_unit.trim()
        } else {
            form.partner_unit.trim()
        });
        let party = Party { org, role, unit };
        match at {
            Some(i) => parties[i] = party,
            None if role == PartyRole::Buyer => parties.insert(0, party),
            None => parties.insert(parties.len().min(1), party),
        }
    }
    parties
}

fn contacts(c: &mut Check, form: &AgreementForm) -> AgreementContacts {
    let f = &form.contacts;
    AgreementContacts {
        owner: c.email("contacts.owner", &f.owner),
        escalation: c.email("contacts.escalation", &f.escalation),
        partner: c.email("contacts.partner", &f.partner),
        reporting: c.email("contacts.reporting", &f.reporting),
        funder: c.email("contacts.funder", &f.funder),
        signatories: f
            .signatories
            .iter()
            .enumerate()
            .filter_map(|(i, s)| c.email(&cell("contacts.signatories", i, ""), s))
            .collect(),
    }
}

/// The procurement's part of the form.
#[derive(Debug, Default)]
struct Procurement {
    framework: Option<Reference>,
    framework_special_reasons: Option<String>,
    eforms: Eforms,
    share_requirement_percent: Option<u8>,
    social_clauses: Vec<SocialClause>,
}

impl Procurement {
    /// The part as stored.
    fn of(a: &Agreement) -> Self {
        Self {
            framework: a.framework.clone(),
            framework_special_reasons: a.framework_special_reasons.clone(),
            eforms: a.eforms.clone(),
            share_requirement_percent: a.share_requirement_percent,
            social_clauses: a.social_clauses.clone(),
        }
    }
}

/// eForms codes, the framework, the reserved share and the social clauses of a procurement;
/// the eForms codes the form does not show (BT-775, from the clauses) are kept.
fn procurement(c: &mut Check, form: &AgreementForm, base: Option<&Agreement>) -> Procurement {
    let f = &form.eforms;
    let eforms = Eforms {
        bt_71: c.choice("eforms.bt_71", &f.bt_71, ReservedParticipation::parse),
        bt_736: c.choice("eforms.bt_736", &f.bt_736, ReservedExecution::parse),
        bt_06: f
            .bt_06
            .iter()
            .filter_map(|code| c.choice("eforms.bt_06", code, StrategicProcurement::parse))
            .collect(),
        bt_765: c.choice("eforms.bt_765", &f.bt_765, FrameworkType::parse),
        bt_23: c.choice("eforms.bt_23", &f.bt_23, ContractNature::parse),
        cpv: given(&f.cpv),
        ..base.map(|a| a.eforms.clone()).unwrap_or_default()
    };
    let framework = given(&form.framework).and_then(|raw| {
        Reference::parse(&raw)
            .map_err(|e| {
                c.errors.push(Violation::new(
                    "framework",
                    &raw,
                    "reference",
                    e.to_string(),
                ))
            })
            .ok()
    });
    let share = c
        .whole("share_requirement_percent", &form.share_requirement_percent)
        .and_then(|p| match u8::try_from(p) {
            Ok(p) if p <= 100 => Some(p),
            _ => {
                c.errors.push(Violation::new(
                    "share_requirement_percent",
                    p,
                    "percent",
                    "at most 100",
                ));
                None
            }
        });
    let social_clauses = form
        .social_clauses
        .iter()
        .enumerate()
        .map(|(i, row)| social_clause(c, i, row))
        .collect();
    Procurement {
        framework,
        framework_special_reasons: given(&form.framework_special_reasons),
        eforms,
        share_requirement_percent: share,
        social_clauses,
    }
}

/// Targets written one per line (`participants minst 12 per år`).
fn targets(c: &mut Check, name: &str, text: &str) -> Vec<Target> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match l.parse::<Target>() {
            Ok(t) => Some(t),
            Err(e) => {
                c.errors
                    .push(Violation::new(name, l.trim(), "target_syntax", e));
                None
            }
        })
        .collect()
}

/// Indicator ids separated by commas or spaces.
fn indicator_ids(c: &mut Check, name: &str, text: &str) -> Vec<IndicatorId> {
    text.split([',', ' ', '\n', ';'])
        .filter(|w| !w.trim().is_empty())
        .filter_map(|w| match IndicatorId::parse(w) {
            Ok(id) => Some(id),
            Err(e) => {
                c.errors.push(Violation::new(
                    name,
                    w.trim(),
                    "indicator_id",
                    e.to_string(),
                ));
                None
            }
        })
        .collect()
}

fn social_clause(c: &mut Check, i: usize, row: &ClauseRow) -> SocialClause {
    let n = |k: &str| cell("social_clauses", i, k);
    c.required(&n("target"), &row.target);
    let target_value = given(&row.target_value).and_then(|v| {
        match v.replace(',', ".").replace(' ', "").parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                c.errors.push(Violation::new(
                    n("target_value"),
                    &v,
                    "decimal",
                    "not a number",
                ));
                None
            }
        }
    });
    SocialClause {
        lou_basis: c
            .choice(&n("lou_basis"), &row.lou_basis, LegalBasis::parse)
            .unwrap_or(LegalBasis::Lou17_1),
        objective: c
            .choice(&n("objective"), &row.objective, SocialObjective::parse)
            .unwrap_or(SocialObjective::Employment),
        strategy: c
            .choice(&n("strategy"), &row.strategy, SustainabilityStrategy::parse)
            .unwrap_or(SustainabilityStrategy::ContractPerformanceConditions),
        target: row.target.clone(),
        target_value,
        target_unit: given(&row.target_unit),
        follow_up: given(&row.follow_up),
        targets: targets(c, &n("targets"), &row.targets),
    }
}

/// The IOP's content: texts, goals, activities, contributions and the legal assessment. An IOP
/// with nothing filled in has none, unless it had one.
fn iop(c: &mut Check, form: &AgreementForm, base: Option<&IopDetails>) -> Option<IopDetails> {
    let f = &form.iop;
    let la = &f.legal_assessment;
    let legal_assessment = if [&la.date, &la.by, &la.conclusion]
        .iter()
        .all(|v| v.is_empty())
    {
        None
    } else {
        c.required("iop.legal_assessment.date", &la.date);
        c.required("iop.legal_assessment.by", &la.by);
        c.required("iop.legal_assessment.conclusion", &la.conclusion);
        match (
            c.date("iop.legal_assessment.date", &la.date),
            given(&la.by),
            given(&la.conclusion),
        ) {
            (Some(date), Some(by), Some(conclusion)) => Some(LegalAssessment {
                date,
                by,
                conclusion,
            }),
            _ => None,
        }
    };
    let goals = f
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            c.required(&cell("iop.goals", i, "text"), &g.text);
            Goal {
                text: g.text.clone(),
                indicator: given(&g.indicator),
                targets: targets(c, &cell("iop.goals", i, "targets"), &g.targets),
            }
        })
        .collect();
    let activities = f
        .activities
        .iter()
        .enumerate()
        .filter_map(|(i, x)| {
            c.required(&cell("iop.activities", i, "text"), &x.text);
            Some(Activity {
                party: c.party(&cell("iop.activities", i, "party"), &x.party, form)?,
                text: x.text.clone(),
                min_volume: given(&x.min_volume),
            })
        })
        .collect();
    let contributions = f
        .contributions
        .iter()
        .enumerate()
        .filter_map(|(i, x)| contribution(c, form, i, x))
        .collect();
    let iop = IopDetails {
        background: given(&f.background),
        value_base: given(&f.value_base),
        partner_value_base: given(&f.partner_value_base),
        purpose: given(&f.purpose),
        goals,
        target_group: given(&f.target_group),
        activities,
        contributions,
        governance: given(&f.governance),
        changes: given(&f.changes),
        disputes: given(&f.disputes),
        legal_assessment,
    };
    (base.is_some() || iop != IopDetails::default()).then_some(iop)
}

fn contribution(
    c: &mut Check,
    form: &AgreementForm,
    i: usize,
    x: &ContributionRow,
) -> Option<Contribution> {
    let n = |k: &str| cell("iop.contributions", i, k);
    let party = c.party(&n("party"), &x.party, form);
    let kind = c
        .choice(&n("kind"), &x.kind, ContributionKind::parse)
        .unwrap_or(ContributionKind::Other);
    let amount_sek = c.amount(&n("amount_sek"), &x.amount_sek);
    Some(Contribution {
        party: party?,
        kind,
        amount_sek,
        per: given(&x.per),
        text: given(&x.text),
    })
}

/// The options in order; what the form does not show of a stored option (its decision) is kept
/// from the stored option at the same place.
fn options(c: &mut Check, form: &AgreementForm, base: Option<&Agreement>) -> Vec<ExtensionOption> {
    let old = base.map(Agreement::options_in_order).unwrap_or_default();
    form.options
        .iter()
        .enumerate()
        .map(|(i, row)| option(c, i, row, old.get(i).copied()))
        .collect()
}

fn option(
    c: &mut Check,
    i: usize,
    row: &OptionRow,
    old: Option<&ExtensionOption>,
) -> ExtensionOption {
    let n = |k: &str| cell("options", i, k);
    let months = c.whole(&n("months"), &row.months);
    c.required(&n("months"), &row.months);
    let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
    ExtensionOption {
        seq,
        months: months.unwrap_or(0),
        decided_by: c
            .choice(&n("decided_by"), &row.decided_by, OptionDecider::parse)
            .unwrap_or(OptionDecider::Buyer),
        decide_by: c.date(&n("decide_by"), &row.decide_by),
        notice_months: c.whole(&n("notice_months"), &row.notice_months),
        state: old.map_or(OptionState::Available, |o| o.state),
        decided_on: old.and_then(|o| o.decided_on),
    }
}

/// Tacit renewal: months and notice together; the renewals done so far, their records and a
/// recorded notice of non-renewal are kept.
fn tacit_renewal(
    c: &mut Check,
    form: &AgreementForm,
    base: Option<&TacitRenewal>,
) -> Option<TacitRenewal> {
    let f = &form.tacit_renewal;
    let months = c.whole("tacit_renewal.months", &f.months);
    let notice = c.whole("tacit_renewal.notice_months", &f.notice_months);
    let max = c.whole("tacit_renewal.max_renewals", &f.max_renewals);
    if months.is_none() && notice.is_none() && max.is_none() {
        return None;
    }
    c.required("tacit_renewal.months", &f.months);
    c.required("tacit_renewal.notice_months", &f.notice_months);
    Some(TacitRenewal {
        months: months.unwrap_or(0),
        notice_months: notice.unwrap_or(0),
        max_renewals: max,
        renewals_done: base.map_or(0, |t| t.renewals_done),
        renewals: base.map(|t| t.renewals.clone()).unwrap_or_default(),
        notice: base.and_then(|t| t.notice.clone()),
    })
}

/// The termination notice; a recorded notice is kept, and so is the whole termination while a
/// notice is recorded and the form leaves its months empty.
fn termination(
    c: &mut Check,
    form: &AgreementForm,
    base: Option<&Termination>,
) -> Option<Termination> {
    let f = &form.termination;
    let how = given(&f.form);
    match c.whole("termination.notice_months", &f.notice_months) {
        Some(notice_months) => Some(Termination {
            notice_months,
            form: how,
            effective: c
                .choice("termination.effective", &f.effective, NoticeEffect::parse)
                .or(base.map(|t| t.effective))
                .unwrap_or(NoticeEffect::Exact),
            notice: base.and_then(|t| t.notice.clone()),
        }),
        None if f.notice_months.is_empty() && base.is_none_or(|t| t.notice.is_none()) => {
            if how.is_some() {
                c.required("termination.notice_months", "");
            }
            None
        }
        None => base.cloned(),
    }
}

fn renewal_dialogue(c: &mut Check, form: &AgreementForm) -> Option<RenewalDialogue> {
    let f = &form.renewal_dialogue;
    let dialogue = RenewalDialogue {
        text: given(&f.text),
        months_before_end: c.whole("renewal_dialogue.months_before_end", &f.months_before_end),
        due: c.date("renewal_dialogue.due", &f.due),
    };
    (dialogue.text.is_some() || dialogue.months_before_end.is_some() || dialogue.due.is_some())
        .then_some(dialogue)
}

/// The reporting obligations; what the form does not show of a stored one (its escalation
/// address, its occurrences) is kept from the stored one at the same place.
fn reporting(
    c: &mut Check,
    form: &AgreementForm,
    base: Option<&Agreement>,
) -> Vec<ReportingObligation> {
    let old = base.map(|a| a.reporting.as_slice()).unwrap_or_default();
    form.reporting
        .iter()
        .enumerate()
        .filter_map(|(i, row)| report(c, form, i, row, old.get(i)))
        .collect()
}

fn report(
    c: &mut Check,
    form: &AgreementForm,
    i: usize,
    row: &ReportRow,
    old: Option<&ReportingObligation>,
) -> Option<ReportingObligation> {
    let n = |k: &str| cell("reporting", i, k);
    c.required(&n("kind"), &row.kind);
    let recurrence = c
        .choice(&n("recurrence"), &row.recurrence, Recurrence::parse)
        .unwrap_or(Recurrence::Yearly);
    let first_period_end = c.date(&n("first_period_end"), &row.first_period_end);
    let due = c.date(&n("due"), &row.due);
    let due_offset_days = c.whole(&n("due_offset_days"), &row.due_offset_days);
    let grace_days = c.whole(&n("grace_days"), &row.grace_days);
    let escalation_days = c.whole(&n("escalation_days"), &row.escalation_days);
    let responsible = c.party(&n("responsible"), &row.responsible, form);
    let recipient = c.email(&n("recipient"), &row.recipient);
    Some(ReportingObligation {
        kind: row.kind.clone(),
        description: given(&row.description),
        recurrence,
        first_period_end,
        due,
        due_offset_days: due_offset_days.unwrap_or(0),
        grace_days: grace_days.unwrap_or(0),
        escalation_days: escalation_days.unwrap_or(14),
        responsible: responsible?,
        recipient,
        escalation: old.and_then(|o| o.escalation.clone()),
        indicators: indicator_ids(c, &n("indicators"), &row.indicators),
        occurrences: old.map(|o| o.occurrences.clone()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::forms::body;

    /// The body a browser sends for `form`: every input the form shows, by name.
    fn sent(form: &AgreementForm) -> AgreementForm {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form.inputs() {
            s.append_pair(&name, &value);
        }
        body::parse::<AgreementForm>(s.finish().as_bytes())
            .unwrap_or_default()
            .without_blank_rows()
    }

    fn examples() -> Vec<Agreement> {
        crate::demo::example_files()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(_, f)| f.agreements)
            .collect()
    }

    #[test]
    fn every_example_sent_back_unchanged_from_its_edit_form_is_the_same_agreement() {
        let all = examples();
        assert!(all.len() > 5, "the examples are read");
        for a in all {
            let form = sent(&AgreementForm::from(&a));
            assert_eq!(
                agreement_from(&form, Some(&a)),
                Ok(a.clone()),
                "{}",
                a.reference
            );
        }
    }

    #[test]
    fn a_new_agreement_from_an_examples_form_has_its_parts_and_no_history() {
        for a in examples() {
            let made = agreement_from(&sent(&AgreementForm::from(&a)), None);
            let Ok(made) = made else {
                panic!("{}: {made:?}", a.reference);
            };
            assert_eq!(made.status, AgreementStatus::Draft);
            assert!(made.amendments.is_empty());
            assert_eq!(
                made.parties.len(),
                a.parties.len().min(2),
                "{}",
                a.reference
            );
            assert_eq!(made.reporting.len(), a.reporting.len(), "{}", a.reference);
        }
    }

    /// A change to one input of a form.
    type Edit = fn(&mut AgreementForm, &str);

    /// Each input that does not parse is refused under its own name, and nothing else is.
    #[test]
    fn every_input_that_does_not_parse_is_named_in_its_violation() {
        let Some(iop) = examples().into_iter().find(|a| {
            a.kind == AgreementKind::Iop
                && a.iop.as_ref().is_some_and(|i| !i.contributions.is_empty())
                && !a.reporting.is_empty()
        }) else {
            panic!("an IOP example with contributions and reports");
        };
        let cases: &[(&str, &str, Edit)] = &[
            ("kind", "lease", |f, v| f.kind = v.into()),
            ("reference", "x", |f, v| f.reference = v.into()),
            ("signed_on", "igår", |f, v| f.signed_on = v.into()),
            ("period.start", "", |f, v| f.period.start = v.into()),
            ("period.outer_limit", "2027-02-30", |f, v| {
                f.period.outer_limit = v.into()
            }),
            ("value.amount_sek", "mycket", |f, v| {
                f.value.amount_sek = v.into()
            }),
            ("contacts.owner", "sara", |f, v| f.contacts.owner = v.into()),
            ("decision.date", "", |f, v| {
                f.decision.body = "Nämnden".into();
                f.decision.date = v.into();
            }),
            ("iop.contributions[0].amount_sek", "x", |f, v| {
                f.iop.contributions[0].amount_sek = v.into()
            }),
            ("iop.contributions[0].party", "", |f, v| {
                f.iop.contributions[0].party = v.into()
            }),
            ("reporting[0].grace_days", "-1", |f, v| {
                f.reporting[0].grace_days = v.into()
            }),
            ("tacit_renewal.notice_months", "", |f, v| {
                f.tacit_renewal = Default::default();
                f.tacit_renewal.months = "12".into();
                f.tacit_renewal.notice_months = v.into();
            }),
        ];
        for (name, value, set) in cases {
            let mut form = AgreementForm::from(&iop);
            set(&mut form, value);
            let fields: Vec<String> = match agreement_from(&form, Some(&iop)) {
                Err(v) => v.into_iter().map(|v| v.field).collect(),
                Ok(_) => Vec::new(),
            };
            assert_eq!(fields, [*name], "{name} = {value:?}");
        }
    }
}
