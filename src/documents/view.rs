//! The JSON view model a template reads as `data.json`: every value already formatted for a
//! Swedish reader (dates as `22 november 2026`, amounts as `1 234 567 kr`), codes left as codes for
//! the template's own Swedish labels. Pure: no I/O, so a view is the same for the same input.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::domain::agreement::{Agreement, ReportingObligation};
use crate::domain::codes::{OccurrenceState, PartyRole};
use crate::domain::dates::add_months;
use crate::domain::deadlines::{DeadlineKind, ReminderLadders, deadlines};
use crate::domain::indicators::unit_sv;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{Contact, EmailAddress, Organisation};
use crate::domain::terms::Terms;

use crate::text::swedish_date;

/// A month `YYYY-MM` the Swedish way: `januari 2025` (the text itself when it is no month).
pub fn swedish_month(ym: &str) -> String {
    let parsed = ym
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<usize>().ok()?)));
    match parsed {
        Some((y, m)) if (1..=12).contains(&m) => {
            // The month's name as the date format writes it, without the day.
            NaiveDate::from_ymd_opt(y, m as u32, 1)
                .map(|d| swedish_date(d).trim_start_matches("1 ").to_owned())
                .unwrap_or_else(|| ym.to_owned())
        }
        _ => ym.to_owned(),
    }
}

fn date(d: Option<NaiveDate>) -> Option<String> {
    d.map(swedish_date)
}

fn amount(v: Option<Sek>) -> Option<String> {
    v.map(Sek::format_swedish)
}

/// Organisations and contacts an agreement names, as loaded from the registry.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// Organisations by number.
    pub organisations: HashMap<OrgNumber, Organisation>,
    /// Contacts by e-mail address.
    pub contacts: HashMap<EmailAddress, Contact>,
}

impl Directory {
    fn org_name(&self, org: &OrgNumber) -> String {
        self.organisations
            .get(org)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| org.to_string())
    }

    /// The view of organisation `org` in `role`, with the agreement's contracting unit.
    pub fn party(&self, org: &OrgNumber, role: &str, unit: Option<&str>) -> PartyView {
        let o = self.organisations.get(org);
        PartyView {
            name: self.org_name(org),
            org_number: org.to_string(),
            role: role.to_owned(),
            unit: unit.map(str::to_owned),
            parent: o.and_then(|o| o.parent.clone()),
            legal_form: o.map(|o| o.legal_form.code().to_owned()),
            address: o.and_then(|o| o.address.as_ref()).map(|a| AddressView {
                street: a.street.clone(),
                postal_code: a.postal_code.clone(),
                city: a.city.clone(),
            }),
        }
    }

    /// Whether organisation `org` has an address on record.
    pub fn has_address(&self, org: &OrgNumber) -> bool {
        self.organisations
            .get(org)
            .is_some_and(|o| o.address.is_some())
    }

    fn person(&self, email: &EmailAddress) -> PersonView {
        let c = self.contacts.get(email);
        PersonView {
            name: c.map(|c| c.name.clone()),
            email: email.to_string(),
            organisation: c.map(|c| self.org_name(&c.organisation)),
            org_number: c.map(|c| c.organisation.to_string()),
        }
    }
}

/// Everything a template can show.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The template's name, version and title.
    pub template: TemplateView,
    /// Agreement reference.
    pub reference: String,
    /// Agreement version the document is made from.
    pub agreement_version: i32,
    /// Diarienummer.
    pub diarienummer: Option<String>,
    /// Title.
    pub title: String,
    /// Kind code.
    pub kind: String,
    /// Status code.
    pub status: String,
    /// Legal basis code.
    pub legal_basis: String,
    /// Legal basis citation.
    pub legal_basis_citation: String,
    /// Procedure type code.
    pub procedure_type: Option<String>,
    /// Signature date.
    pub signed_on: Option<String>,
    /// Decision.
    pub decision: Option<DecisionView>,
    /// Value.
    pub value: Option<ValueView>,
    /// Every party.
    pub parties: Vec<PartyView>,
    /// Named contacts by role.
    pub contacts: Vec<ContactView>,
    /// Term.
    pub period: PeriodView,
    /// Reference of the framework of a call-off.
    pub framework: Option<String>,
    /// Share of employees from the target group (LOU 4:18 p.1), e.g. `30 %`.
    pub share_requirement: Option<String>,
    /// Reservation code: `participation`, `execution` or `idea_based`.
    pub reservation: Option<String>,
    /// CPV code.
    pub cpv: Option<String>,
    /// Social clauses.
    pub social_clauses: Vec<ClauseView>,
    /// IOP content.
    pub iop: Option<IopView>,
    /// Extension options.
    pub options: Vec<OptionView>,
    /// Tacit renewal.
    pub tacit_renewal: Option<RenewalView>,
    /// Renewal dialogue.
    pub renewal_dialogue: Option<DialogueView>,
    /// Termination terms and notice.
    pub termination: Option<TerminationView>,
    /// Amendments, oldest first.
    pub amendments: Vec<AmendmentView>,
    /// Reporting obligations with every occurrence.
    pub reports: Vec<ReportView>,
    /// One signature block per signing party.
    pub signatures: Vec<SignatureView>,
    /// Free notes.
    pub notes: Option<String>,
    /// The event of a per-event template.
    pub event: Option<EventView>,
    /// Price, invoicing and the other terms, formatted.
    pub terms: TermsView,
    /// The clauses of the document, in order.
    pub clauses: Vec<ClauseEntryView>,
    /// The date the document is made, e.g. `22 november 2026`.
    pub issued_on: String,
    /// Sender, addressees and signatory of a letter.
    pub letter: Option<LetterView>,
    /// The number of the IOP's own change clause, which an IOP amendment cites.
    pub iop_change_clause: Option<u32>,
}

/// One clause as the document shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClauseEntryView {
    /// Id (the typst function).
    pub id: String,
    /// Title in Swedish.
    pub title: String,
    /// Version.
    pub version: String,
    /// Layout code: `section`, `annex` or `plain`.
    pub layout: String,
    /// Section number, for numbered sections.
    pub number: Option<u32>,
    /// Annex number, for annexes.
    pub annex: Option<u32>,
}

/// A postal address.
#[derive(Debug, Clone, Serialize)]
pub struct AddressView {
    /// Street.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// Post town.
    pub city: String,
}

/// Who a letter is from and to.
#[derive(Debug, Clone, Serialize)]
pub struct LetterView {
    /// The sender, who alone signs.
    pub sender: PartyView,
    /// The addressees.
    pub addressees: Vec<PartyView>,
    /// The sender's named signatory, when known.
    pub signatory: Option<String>,
    /// The sender's contact person.
    pub contact: Option<PersonView>,
}

/// The terms, formatted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TermsView {
    /// Price model.
    pub price_model: Option<String>,
    /// Index of the price adjustment.
    pub price_index: Option<String>,
    /// Base month, e.g. `januari 2025`.
    pub price_base_month: Option<String>,
    /// Months between adjustments.
    pub price_interval_months: Option<u32>,
    /// Days to pay.
    pub payment_days: Option<u32>,
    /// Invoice reference.
    pub invoice_reference: Option<String>,
    /// Peppol id of the buyer.
    pub peppol_id: Option<String>,
    /// Sum of the liability insurance.
    pub insurance_sum: Option<String>,
    /// Further insurance.
    pub insurance_text: Option<String>,
    /// Liability cap.
    pub liability_cap: Option<String>,
    /// Whether LOU 17 kap. 2–4 §§ apply.
    pub labour_law_conditions: bool,
    /// The collective agreement.
    pub collective_agreement: Option<String>,
    /// Subcontractors.
    pub subcontractors: Vec<SubcontractorView>,
    /// Personal-data code: `none`, `processor`, `separate_controllers`.
    pub personal_data: String,
    /// Penalty per period.
    pub penalty: Option<String>,
    /// What the penalty is counted per.
    pub penalty_per: Option<String>,
    /// State-aid basis code.
    pub state_aid_basis: Option<String>,
    /// State-aid reasoning.
    pub state_aid_reasoning: Option<String>,
    /// State-aid decision reference.
    pub state_aid_decision: Option<String>,
    /// Special terms.
    pub special_terms: Option<String>,
}

/// A subcontractor.
#[derive(Debug, Clone, Serialize)]
pub struct SubcontractorView {
    /// Name.
    pub name: String,
    /// Organisation number.
    pub org_number: String,
    /// Its part.
    pub part: String,
}

/// The terms as the templates read them.
pub fn terms_view(t: &Terms) -> TermsView {
    let adj = t.price.as_ref().and_then(|p| p.adjustment.as_ref());
    TermsView {
        price_model: t.price.as_ref().map(|p| p.model.clone()),
        price_index: adj.map(|a| a.index.clone()),
        price_base_month: adj.map(|a| swedish_month(&a.base_month)),
        price_interval_months: adj.map(|a| a.interval_months),
        payment_days: t.invoicing.as_ref().map(|i| i.payment_days),
        invoice_reference: t.invoicing.as_ref().and_then(|i| i.reference.clone()),
        peppol_id: t.invoicing.as_ref().and_then(|i| i.peppol_id.clone()),
        insurance_sum: t
            .insurance
            .as_ref()
            .map(|i| i.liability_sek.format_swedish()),
        insurance_text: t.insurance.as_ref().and_then(|i| i.text.clone()),
        liability_cap: amount(t.liability_cap_sek),
        labour_law_conditions: t.labour_law_conditions,
        collective_agreement: t.collective_agreement.clone(),
        subcontractors: t
            .subcontractors
            .iter()
            .map(|s| SubcontractorView {
                name: s.name.clone(),
                org_number: s.org.to_string(),
                part: s.part.clone(),
            })
            .collect(),
        personal_data: t.personal_data.code().to_owned(),
        penalty: t.penalty.as_ref().map(|p| p.amount_sek.format_swedish()),
        penalty_per: t.penalty.as_ref().map(|p| p.per.clone()),
        state_aid_basis: t.state_aid.as_ref().map(|s| s.basis.code().to_owned()),
        state_aid_reasoning: t.state_aid.as_ref().map(|s| s.reasoning.clone()),
        state_aid_decision: t.state_aid.as_ref().and_then(|s| s.decision.clone()),
        special_terms: t.special_terms.clone(),
    }
}

/// Template identification.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Title in Swedish.
    pub title: String,
}

/// A decision.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    /// Deciding body.
    pub body: String,
    /// Date.
    pub date: String,
    /// Paragraph.
    pub paragraph: Option<String>,
}

/// The value.
#[derive(Debug, Clone, Serialize)]
pub struct ValueView {
    /// Amount.
    pub amount: String,
    /// Basis code.
    pub basis: String,
    /// Estimated total including options.
    pub estimated_total: Option<String>,
}

/// A party.
#[derive(Debug, Clone, Serialize)]
pub struct PartyView {
    /// Name.
    pub name: String,
    /// Organisation number.
    pub org_number: String,
    /// Role code.
    pub role: String,
    /// The contracting unit (department or committee) of the legal person.
    pub unit: Option<String>,
    /// Parent organisation.
    pub parent: Option<String>,
    /// Legal form code.
    pub legal_form: Option<String>,
    /// Postal address.
    pub address: Option<AddressView>,
}

/// A person.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// Name, when registered.
    pub name: Option<String>,
    /// E-mail address.
    pub email: String,
    /// Organisation name.
    pub organisation: Option<String>,
    /// Organisation number.
    pub org_number: Option<String>,
}

/// A contact in a role.
#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    /// Role: `owner`, `escalation`, `partner`, `reporting`, `funder`.
    pub role: String,
    /// The person.
    pub person: PersonView,
}

/// The term.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    /// Start.
    pub start: String,
    /// Original end.
    pub original_end: String,
    /// Current end.
    pub current_end: String,
    /// Outer limit.
    pub outer_limit: Option<String>,
}

/// A social clause.
#[derive(Debug, Clone, Serialize)]
pub struct ClauseView {
    /// LOU basis code.
    pub basis: String,
    /// Its citation.
    pub citation: String,
    /// BT-775 objective code.
    pub objective: String,
    /// OCDS strategy code.
    pub strategy: String,
    /// The requirement.
    pub target: String,
    /// The requirement as a number with its unit.
    pub target_value: Option<String>,
    /// Follow-up method.
    pub follow_up: Option<String>,
    /// Targets on indicators, in Swedish ("Personer anställda genom ...: minst 2 personer per år").
    pub targets: Vec<String>,
}

/// IOP content.
#[derive(Debug, Clone, Serialize)]
pub struct IopView {
    /// Background.
    pub background: Option<String>,
    /// Shared value base.
    pub value_base: Option<String>,
    /// Partner's own value base.
    pub partner_value_base: Option<String>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Goals.
    pub goals: Vec<GoalView>,
    /// Target group.
    pub target_group: Option<String>,
    /// Activities.
    pub activities: Vec<ActivityView>,
    /// Contributions.
    pub contributions: Vec<ContributionView>,
    /// Governance.
    pub governance: Option<String>,
    /// Changes.
    pub changes: Option<String>,
    /// Disputes.
    pub disputes: Option<String>,
    /// Legal assessment.
    pub legal_assessment: Option<AssessmentView>,
}

/// A goal.
#[derive(Debug, Clone, Serialize)]
pub struct GoalView {
    /// Goal.
    pub text: String,
    /// Indicator.
    pub indicator: Option<String>,
    /// Targets on indicators, in Swedish.
    pub targets: Vec<String>,
}

/// An activity.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityView {
    /// Responsible party's name.
    pub party: String,
    /// What.
    pub text: String,
    /// Minimum volume.
    pub min_volume: Option<String>,
}

/// A contribution.
#[derive(Debug, Clone, Serialize)]
pub struct ContributionView {
    /// Contributing party's name.
    pub party: String,
    /// Kind code.
    pub kind: String,
    /// Amount.
    pub amount: Option<String>,
    /// Counted over.
    pub per: Option<String>,
    /// Description.
    pub text: Option<String>,
}

/// A legal assessment.
#[derive(Debug, Clone, Serialize)]
pub struct AssessmentView {
    /// Date.
    pub date: String,
    /// By.
    pub by: String,
    /// Conclusion.
    pub conclusion: String,
}

/// An extension option.
#[derive(Debug, Clone, Serialize)]
pub struct OptionView {
    /// Sequence number.
    pub seq: u32,
    /// Months.
    pub months: u32,
    /// Decider code.
    pub decided_by: String,
    /// Decide-by date.
    pub decide_by: Option<String>,
    /// State code.
    pub state: String,
    /// Decision date.
    pub decided_on: Option<String>,
    /// End of the term before the option.
    pub term_end_before: String,
    /// End of the term after the option.
    pub term_end_after: String,
}

/// Tacit renewal terms.
#[derive(Debug, Clone, Serialize)]
pub struct RenewalView {
    /// Months per renewal.
    pub months: u32,
    /// Notice months.
    pub notice_months: u32,
    /// Most renewals.
    pub max_renewals: Option<u32>,
    /// Renewals done.
    pub renewals_done: u32,
}

/// Renewal dialogue.
#[derive(Debug, Clone, Serialize)]
pub struct DialogueView {
    /// The agreement's words.
    pub text: Option<String>,
    /// Due date.
    pub due: Option<String>,
}

/// Termination terms.
#[derive(Debug, Clone, Serialize)]
pub struct TerminationView {
    /// Notice months.
    pub notice_months: u32,
    /// Form.
    pub form: Option<String>,
    /// Effect code.
    pub effective: String,
    /// The notice given.
    pub notice: Option<NoticeView>,
}

/// A notice of termination.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    /// Party name.
    pub by: String,
    /// Party's organisation number.
    pub by_org_number: String,
    /// Received.
    pub received_on: String,
    /// Effective end.
    pub effective_end: String,
    /// Reason.
    pub reason: Option<String>,
}

/// An amendment.
#[derive(Debug, Clone, Serialize)]
pub struct AmendmentView {
    /// Number, from 1.
    pub number: usize,
    /// Date.
    pub date: String,
    /// Ground code, e.g. `17:10`.
    pub ground: String,
    /// eForms BT-200 code.
    pub bt200: String,
    /// Rationale.
    pub rationale: String,
    /// Change of value.
    pub value_change: Option<String>,
    /// New end.
    pub new_end: Option<String>,
    /// Option exercised.
    pub option_seq: Option<u32>,
}

/// A reporting obligation.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// Kind code.
    pub kind: String,
    /// What to report.
    pub description: Option<String>,
    /// Recurrence code.
    pub recurrence: String,
    /// Responsible party.
    pub responsible: String,
    /// Recipient.
    pub recipient: Option<PersonView>,
    /// Days after the period end it is due.
    pub due_offset_days: u32,
    /// The indicators whose figures each report carries, in Swedish ("Nya deltagare ... (personer, per kön)").
    pub indicators: Vec<String>,
    /// Every occurrence.
    pub occurrences: Vec<OccurrenceView>,
}

/// One report occurrence.
#[derive(Debug, Clone, Serialize)]
pub struct OccurrenceView {
    /// First day of the reported period.
    pub period_start: Option<String>,
    /// Last day of the reported period.
    pub period_end: String,
    /// Due date.
    pub due: String,
    /// State on the day the document is made: `upcoming`, `due`, `submitted`, `accepted`,
    /// `rejected`, `late` or `escalated`.
    pub state: Option<String>,
}

/// A signature block.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    /// Party name.
    pub party: String,
    /// Organisation number.
    pub org_number: String,
    /// Role code.
    pub role: String,
    /// The contracting unit.
    pub unit: Option<String>,
    /// Named signatories of that party.
    pub signatories: Vec<String>,
}

/// The event of a per-event document.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventView {
    /// An exercised option.
    Option(OptionView),
    /// A notice.
    Notice(NoticeView),
    /// An amendment.
    Amendment(AmendmentView),
    /// A report occurrence.
    Report {
        /// The obligation.
        report: ReportView,
        /// The occurrence asked for.
        occurrence: OccurrenceView,
    },
}

/// One occurrence of a report as dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// First day of the period, for recurring reports.
    pub period_start: Option<NaiveDate>,
    /// Last day of the period (the due date of a one-off report).
    pub period_end: NaiveDate,
    /// Due date.
    pub due: NaiveDate,
}

/// Every occurrence of a report up to the agreement's current end (a one-off report: its due date).
pub fn occurrences(a: &Agreement, r: &ReportingObligation) -> Vec<Occurrence> {
    let offset = Duration::days(i64::from(r.due_offset_days));
    match (r.recurrence.interval_months(), r.first_period_end) {
        (Some(step), Some(first)) => {
            let mut out = Vec::new();
            let mut k: i32 = 0;
            loop {
                let end = add_months(first, k * step as i32);
                if end > a.period.current_end || out.len() >= 600 {
                    break;
                }
                let start = add_months(end, -(step as i32)) + Duration::days(1);
                out.push(Occurrence {
                    period_start: Some(start.max(a.period.start)),
                    period_end: end,
                    due: end + offset,
                });
                k += 1;
            }
            if out
                .last()
                .is_some_and(|o| o.period_end < a.period.current_end)
                || (out.is_empty() && first > a.period.current_end)
            {
                // The last period is cut short by the end of the agreement: a final report.
                let end = a.period.current_end;
                let start = out
                    .last()
                    .map(|o| o.period_end + Duration::days(1))
                    .unwrap_or(a.period.start);
                out.push(Occurrence {
                    period_start: Some(start),
                    period_end: end,
                    due: end + offset,
                });
            }
            out
        }
        _ => {
            let due = r.due.or(r.first_period_end).unwrap_or(a.period.current_end);
            vec![Occurrence {
                period_start: None,
                period_end: due,
                due: due + offset,
            }]
        }
    }
}

/// The state of every report occurrence on `today`, by report kind and period end.
pub fn occurrence_states(
    a: &Agreement,
    today: NaiveDate,
) -> HashMap<(String, NaiveDate), OccurrenceState> {
    deadlines(a, today, &ReminderLadders::default())
        .into_iter()
        .filter(|d| d.kind == DeadlineKind::Report)
        .filter_map(|d| d.report)
        .map(|r| ((r.kind, r.period_end), r.state))
        .collect()
}

/// The view of one occurrence of report `kind`, with its state when known.
pub fn occurrence_view(
    o: &Occurrence,
    kind: &str,
    states: &HashMap<(String, NaiveDate), OccurrenceState>,
) -> OccurrenceView {
    OccurrenceView {
        period_start: date(o.period_start),
        period_end: swedish_date(o.period_end),
        due: swedish_date(o.due),
        state: states
            .get(&(kind.to_owned(), o.period_end))
            .map(|s| s.code().to_owned()),
    }
}

/// The view of report `r` with every occurrence and its state on the day of `states`.
pub fn report_view(
    a: &Agreement,
    r: &ReportingObligation,
    dir: &Directory,
    states: &HashMap<(String, NaiveDate), OccurrenceState>,
) -> ReportView {
    ReportView {
        kind: r.kind.clone(),
        description: r.description.clone(),
        recurrence: r.recurrence.code().to_owned(),
        responsible: dir.org_name(&r.responsible),
        recipient: r.recipient.as_ref().map(|e| dir.person(e)),
        due_offset_days: r.due_offset_days,
        indicators: r
            .indicators
            .iter()
            .map(|id| match crate::domain::outcomes::indicator(a, id) {
                Some(i) => format!(
                    "{} ({}{})",
                    i.name_sv,
                    unit_sv(i.unit),
                    if i.gender { ", per kön" } else { "" }
                ),
                None => id.to_string(),
            })
            .collect(),
        occurrences: occurrences(a, r)
            .iter()
            .map(|o| occurrence_view(o, &r.kind, states))
            .collect(),
    }
}

/// The view of option `seq`.
pub fn option_view(a: &Agreement, seq: u32) -> Option<OptionView> {
    let o = a.options.iter().find(|o| o.seq == seq)?;
    let before = a.term_end_before_option(o.seq);
    Some(OptionView {
        seq: o.seq,
        months: o.months,
        decided_by: o.decided_by.code().to_owned(),
        decide_by: date(a.option_decide_by(o)),
        state: o.state.code().to_owned(),
        decided_on: date(o.decided_on),
        term_end_before: swedish_date(before),
        term_end_after: swedish_date(add_months(before, o.months as i32)),
    })
}

/// The view of amendment `index` (from 0).
pub fn amendment_view(a: &Agreement, index: usize) -> Option<AmendmentView> {
    let m = a.amendments.get(index)?;
    Some(AmendmentView {
        number: index + 1,
        date: swedish_date(m.date),
        ground: m.ground.code().to_owned(),
        bt200: m.ground.bt200().to_owned(),
        rationale: m.rationale.clone(),
        value_change: amount(m.value_change_sek),
        new_end: date(m.new_end),
        option_seq: m.option_seq,
    })
}

/// The view of the recorded notice.
pub fn notice_view(a: &Agreement, dir: &Directory) -> Option<NoticeView> {
    let n = a
        .termination
        .as_ref()
        .and_then(|t| t.notice.as_ref())
        .or_else(|| a.tacit_renewal.as_ref().and_then(|r| r.notice.as_ref()))?;
    Some(NoticeView {
        by: dir.org_name(&n.by),
        by_org_number: n.by.to_string(),
        received_on: swedish_date(n.received_on),
        effective_end: swedish_date(n.effective_end),
        reason: n.reason.clone(),
    })
}

/// Targets in Swedish words: "Nya deltagare ...: minst 12 personer per år".
fn targets_sv(a: &Agreement, targets: &[crate::domain::outcomes::Target]) -> Vec<String> {
    use crate::domain::codes::{Direction, TargetPer};
    targets
        .iter()
        .map(|t| {
            let ind = crate::domain::outcomes::indicator(a, &t.indicator);
            let name = ind.map_or_else(|| t.indicator.to_string(), |i| i.name_sv.clone());
            let unit = ind.map_or("", |i| unit_sv(i.unit));
            let dir = match t.direction {
                Direction::AtLeast => "minst",
                Direction::AtMost => "högst",
            };
            let per = match t.per {
                TargetPer::Year => "per år",
                TargetPer::Term => "under avtalstiden",
                TargetPer::Period => "per rapportperiod",
            };
            format!("{name}: {dir} {} {unit} {per}", t.value.format_swedish())
        })
        .collect()
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}").replace('.', ",")
    }
}

/// Builds the view of `a` at `version` for `template` on `today`, with an optional event; the
/// caller adds the clauses and the letter.
pub fn build(
    a: &Agreement,
    version: i32,
    template: TemplateView,
    dir: &Directory,
    event: Option<EventView>,
    today: NaiveDate,
) -> View {
    let states = occurrence_states(a, today);
    let c = &a.contacts;
    let contacts = [
        ("owner", &c.owner),
        ("escalation", &c.escalation),
        ("partner", &c.partner),
        ("reporting", &c.reporting),
        ("funder", &c.funder),
    ]
    .into_iter()
    .filter_map(|(role, e)| {
        e.as_ref().map(|e| ContactView {
            role: role.to_owned(),
            person: dir.person(e),
        })
    })
    .collect();
    // Every party that signs (a funder never does) gets a block, with its named signatories.
    let signatures = a
        .parties
        .iter()
        .filter(|p| p.role != PartyRole::Funder)
        .map(|p| SignatureView {
            party: dir.org_name(&p.org),
            org_number: p.org.to_string(),
            role: p.role.code().to_owned(),
            unit: p.unit.clone(),
            signatories: c
                .signatories
                .iter()
                .filter_map(|e| dir.contacts.get(e))
                .filter(|s| s.organisation == p.org)
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect();
    View {
        template,
        reference: a.reference.to_string(),
        agreement_version: version,
        diarienummer: a.diarienummer.clone(),
        title: a.title.clone(),
        kind: a.kind.code().to_owned(),
        status: a.status.code().to_owned(),
        legal_basis: a.legal_basis.code().to_owned(),
        legal_basis_citation: a.legal_basis.citation().to_owned(),
        procedure_type: a.procedure_type.map(|p| p.code().to_owned()),
        signed_on: date(a.signed_on),
        decision: a.decision.as_ref().map(|d| DecisionView {
            body: d.body.clone(),
            date: swedish_date(d.date),
            paragraph: d.paragraph.clone(),
        }),
        value: a.value.as_ref().map(|v| ValueView {
            amount: v.amount_sek.format_swedish(),
            basis: v.basis.code().to_owned(),
            estimated_total: amount(v.estimated_total_sek),
        }),
        parties: a
            .parties
            .iter()
            .map(|p| dir.party(&p.org, p.role.code(), p.unit.as_deref()))
            .collect(),
        contacts,
        period: PeriodView {
            start: swedish_date(a.period.start),
            original_end: swedish_date(a.period.original_end),
            current_end: swedish_date(a.period.current_end),
            outer_limit: date(a.period.outer_limit),
        },
        framework: a.framework.as_ref().map(ToString::to_string),
        share_requirement: a.share_requirement_percent.map(|p| format!("{p}\u{a0}%")),
        reservation: a.reservation().map(str::to_owned),
        cpv: a.eforms.cpv.clone(),
        social_clauses: a
            .social_clauses
            .iter()
            .map(|s| ClauseView {
                basis: s.lou_basis.code().to_owned(),
                citation: s.lou_basis.citation().to_owned(),
                objective: s.objective.code().to_owned(),
                strategy: s.strategy.code().to_owned(),
                target: s.target.clone(),
                target_value: s.target_value.map(|v| {
                    let n = format_number(v);
                    match &s.target_unit {
                        Some(u) => format!("{n} {u}"),
                        None => n,
                    }
                }),
                follow_up: s.follow_up.clone(),
                targets: targets_sv(a, &s.targets),
            })
            .collect(),
        iop: a.iop.as_ref().map(|i| IopView {
            background: i.background.clone(),
            value_base: i.value_base.clone(),
            partner_value_base: i.partner_value_base.clone(),
            purpose: i.purpose.clone(),
            goals: i
                .goals
                .iter()
                .map(|g| GoalView {
                    text: g.text.clone(),
                    indicator: g.indicator.clone(),
                    targets: targets_sv(a, &g.targets),
                })
                .collect(),
            target_group: i.target_group.clone(),
            activities: i
                .activities
                .iter()
                .map(|x| ActivityView {
                    party: dir.org_name(&x.party),
                    text: x.text.clone(),
                    min_volume: x.min_volume.clone(),
                })
                .collect(),
            contributions: i
                .contributions
                .iter()
                .map(|x| ContributionView {
                    party: dir.org_name(&x.party),
                    kind: x.kind.code().to_owned(),
                    amount: amount(x.amount_sek),
                    per: x.per.clone(),
                    text: x.text.clone(),
                })
                .collect(),
            governance: i.governance.clone(),
            changes: i.changes.clone(),
            disputes: i.disputes.clone(),
            legal_assessment: i.legal_assessment.as_ref().map(|l| AssessmentView {
                date: swedish_date(l.date),
                by: l.by.clone(),
                conclusion: l.conclusion.clone(),
            }),
        }),
        options: a
            .options_in_order()
            .into_iter()
            .filter_map(|o| option_view(a, o.seq))
            .collect(),
        tacit_renewal: a.tacit_renewal.as_ref().map(|r| RenewalView {
            months: r.months,
            notice_months: r.notice_months,
            max_renewals: r.max_renewals,
            renewals_done: r.renewals_done,
        }),
        renewal_dialogue: a.renewal_dialogue.as_ref().map(|d| DialogueView {
            text: d.text.clone(),
            due: date(a.renewal_dialogue_due()),
        }),
        termination: a.termination.as_ref().map(|t| TerminationView {
            notice_months: t.notice_months,
            form: t.form.clone(),
            effective: t.effective.code().to_owned(),
            notice: notice_view(a, dir),
        }),
        amendments: (0..a.amendments.len())
            .filter_map(|i| amendment_view(a, i))
            .collect(),
        reports: a
            .reporting
            .iter()
            .map(|r| report_view(a, r, dir, &states))
            .collect(),
        signatures,
        notes: a.notes.clone(),
        event,
        terms: terms_view(&a.terms),
        clauses: Vec::new(),
        issued_on: swedish_date(today),
        letter: None,
        iop_change_clause: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn months_are_written_the_swedish_way() {
        assert_eq!(swedish_month("2025-01"), "januari 2025");
        assert_eq!(swedish_month("2025-12"), "december 2025");
        assert_eq!(swedish_month("x"), "x");
    }

    #[test]
    fn numbers_use_a_decimal_comma() {
        assert_eq!(format_number(30.0), "30");
        assert_eq!(format_number(2.5), "2,5");
    }

    #[test]
    fn recurring_reports_follow_month_ends_until_the_current_end() {
        let yaml = include_str!("../../contracts/examples/AGR-2025-0001.yaml");
        let file: crate::format::RegistryFile =
            serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        let a = file
            .agreements
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no agreement"));
        let half = a.reporting.first().unwrap_or_else(|| panic!("no report"));
        let occ = occurrences(&a, half);
        let ends: Vec<NaiveDate> = occ.iter().map(|o| o.period_end).collect();
        assert_eq!(
            ends,
            vec![
                d(2025, 6, 30),
                d(2025, 12, 31),
                d(2026, 6, 30),
                d(2026, 12, 31),
                d(2027, 6, 30),
                d(2027, 12, 31)
            ]
        );
        assert_eq!(occ.first().map(|o| o.due), Some(d(2025, 8, 29)));
    }
}
