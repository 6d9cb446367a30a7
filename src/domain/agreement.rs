//! The agreement aggregate: every field of an IOP or procurement agreement, and the dates derived from it.
//!
//! This one serde shape is the YAML import/export format, the JSON API body and the stored document,
//! so the three can never drift apart. `docs/format.md` documents it field by field.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::*;
use super::dates::{add_months, last_day_of_month};
use super::indicators::{Indicator, IndicatorId};
use super::money::Sek;
use super::org_number::OrgNumber;
use super::outcomes::{Figure, RejectedFigures, Target};
use super::party::EmailAddress;
use super::terms::Terms;

/// A human reference such as `AGR-2025-0005`: letters, digits and `-`, 3 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

/// Why a text is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a reference (3-40 letters A-Z, digits and '-', e.g. AGR-2025-0005)")]
pub struct ReferenceError(pub String);

impl Reference {
    /// Parses and upper-cases a reference.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let t = s.trim();
        let ok = (3..=40).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !t.starts_with('-');
        if ok {
            Ok(Self(t.to_ascii_uppercase()))
        } else {
            Err(ReferenceError(s.to_owned()))
        }
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Reference {
    type Error = ReferenceError;
    fn try_from(s: String) -> Result<Self, ReferenceError> {
        Self::parse(&s)
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.0
    }
}

/// One agreement with everything the registry knows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Unique human reference.
    pub reference: Reference,
    /// IOP, procurement contract, framework, call-off or direct award.
    pub kind: AgreementKind,
    /// Life-cycle status.
    pub status: AgreementStatus,
    /// Title in Swedish.
    pub title: String,
    /// Diarienummer of the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diarienummer: Option<String>,
    /// The decision that approved the agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Legal basis.
    pub legal_basis: LegalBasis,
    /// Procedure type (procurements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure_type: Option<ProcedureType>,
    /// Date of signature; the documentation duty for direct awards runs from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_on: Option<NaiveDate>,
    /// Contract value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Organisations and their roles.
    pub parties: Vec<Party>,
    /// Contact persons by role.
    #[serde(default)]
    pub contacts: AgreementContacts,
    /// Start, original end, current end and outer limit.
    pub period: Period,
    /// Reference of the framework a call-off hangs under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Reference>,
    /// Recorded special reasons that allow a framework longer than four years (LOU 7 kap. 2 §).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_special_reasons: Option<String>,
    /// Why a party that does not meet the eligibility rule of its role is accepted: an IOP
    /// partner that is not idea-based, or the supplier of a contract reserved under LOU 4 kap.
    /// 18 § 1 p. that is not an ASF. Recorded with the agreement, so it is in the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility_exception: Option<String>,
    /// eForms codes for reservations and strategic procurement.
    #[serde(default, skip_serializing_if = "Eforms::is_empty")]
    pub eforms: Eforms,
    /// Minimum share (percent) of employees from the target group, for LOU 4:18 p.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_requirement_percent: Option<u8>,
    /// Social clauses with targets and follow-up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub social_clauses: Vec<SocialClause>,
    /// The agreement's own indicators, beside the catalogue's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<Indicator>,
    /// The IOP content (required for IOPs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iop: Option<IopDetails>,
    /// Extension options, in sequence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ExtensionOption>,
    /// Tacit renewal terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tacit_renewal: Option<TacitRenewal>,
    /// When the parties must start talking about a continuation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_dialogue: Option<RenewalDialogue>,
    /// Termination terms and a recorded notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination: Option<Termination>,
    /// Amendments (ändringar och tillägg), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<Amendment>,
    /// Reporting obligations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reporting: Vec<ReportingObligation>,
    /// This agreement's own reminder ladder (days before) for option decisions and notice
    /// deadlines, replacing the configured one; empty for the configured ladder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reminder_days: Vec<u32>,
    /// Price, invoicing, insurance, liability and the other terms the clauses need.
    #[serde(default, skip_serializing_if = "Terms::is_empty")]
    pub terms: Terms,
    /// Free notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A decision by a committee or board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The deciding body, e.g. "Farsta stadsdelsnämnd".
    pub body: String,
    /// Date of the decision.
    pub date: NaiveDate,
    /// Paragraph in the minutes, e.g. "§ 14".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paragraph: Option<String>,
}

/// The value of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Value {
    /// The amount.
    pub amount_sek: Sek,
    /// What the amount counts.
    pub basis: ValueBasis,
    /// Estimated total including every option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_total_sek: Option<Sek>,
}

/// An organisation's role in the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// The organisation.
    pub org: OrgNumber,
    /// Its role.
    pub role: PartyRole,
    /// The contracting unit of the legal person (e.g. the department of a municipality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Contact persons of one agreement by role, named by e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementContacts {
    /// The buyer's contract owner (avtalsansvarig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<EmailAddress>,
    /// Who gets escalations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EmailAddress>,
    /// The supplier's or partner's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<EmailAddress>,
    /// Who hands in reports, when not the partner contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting: Option<EmailAddress>,
    /// The funder's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder: Option<EmailAddress>,
    /// Who signs, for every party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatories: Vec<EmailAddress>,
}

impl AgreementContacts {
    /// Every named contact with the field it is named in.
    pub fn all(&self) -> Vec<(String, &EmailAddress)> {
        let mut out = Vec::new();
        for (name, v) in [
            ("owner", &self.owner),
            ("escalation", &self.escalation),
            ("partner", &self.partner),
            ("reporting", &self.reporting),
            ("funder", &self.funder),
        ] {
            if let Some(e) = v {
                out.push((format!("contacts.{name}"), e));
            }
        }
        for (i, e) in self.signatories.iter().enumerate() {
            out.push((format!("contacts.signatories[{i}]"), e));
        }
        out
    }
}

/// The dates of the agreement's term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Last day as first agreed, before any option or renewal.
    pub original_end: NaiveDate,
    /// Last day as it stands now (after options, renewals, amendments or a notice).
    pub current_end: NaiveDate,
    /// The latest the agreement can run to (OCDS `maxExtentDate`); `None` when open-ended (unlimited tacit renewal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_limit: Option<NaiveDate>,
}

/// eForms codes on an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eforms {
    /// BT-71 reserved participation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bt_71: Option<ReservedParticipation>,
    /// BT-736 reserved execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bt_736: Option<ReservedExecution>,
    /// BT-06 strategic procurement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bt_06: Vec<StrategicProcurement>,
    /// BT-775 social objectives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bt_775: Vec<SocialObjective>,
    /// BT-765 framework agreement type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bt_765: Option<FrameworkType>,
    /// BT-23 main nature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bt_23: Option<ContractNature>,
    /// BT-262 main CPV code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpv: Option<String>,
}

impl Eforms {
    /// True when no code is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A social clause: what is required, how much, and how it is followed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialClause {
    /// The LOU basis of the clause.
    pub lou_basis: LegalBasis,
    /// eForms BT-775 objective.
    pub objective: SocialObjective,
    /// OCDS sustainability strategy.
    pub strategy: SustainabilityStrategy,
    /// The requirement in words.
    pub target: String,
    /// The requirement as a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_value: Option<f64>,
    /// Unit of `target_value`, e.g. "anställningar per år".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_unit: Option<String>,
    /// How it is followed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<String>,
    /// Targets on indicators that follow the clause up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// The contents of an IOP as municipal guidelines prescribe.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IopDetails {
    /// Background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// The shared value base (värdegrund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_base: Option<String>,
    /// The partner's own value base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_value_base: Option<String>,
    /// Purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Goals with indicators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Goal>,
    /// Target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// Activities and commitments per party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<Activity>,
    /// Contributions per party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<Contribution>,
    /// Governance: steering group, meeting frequency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<String>,
    /// How changes are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<String>,
    /// Renegotiation, termination for cause and disputes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disputes: Option<String>,
    /// The recorded legal assessment that the IOP is lawful outside procurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_assessment: Option<LegalAssessment>,
}

/// A goal of an IOP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// The goal.
    pub text: String,
    /// How it is measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    /// Targets on indicators that measure the goal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// What one party does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// The responsible party.
    pub party: OrgNumber,
    /// The activity or commitment.
    pub text: String,
    /// A minimum volume, e.g. "minst 10 aktiviteter i veckan".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_volume: Option<String>,
}

/// What one party contributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    /// The contributing party.
    pub party: OrgNumber,
    /// Money, premises, staff, volunteer hours or other.
    pub kind: ContributionKind,
    /// Amount, for money or valued contributions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_sek: Option<Sek>,
    /// What the amount is counted over, e.g. "år", "termin".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The recorded legal assessment of an IOP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalAssessment {
    /// When it was made.
    pub date: NaiveDate,
    /// Who made it.
    pub by: String,
    /// Its conclusion.
    pub conclusion: String,
}

/// An extension option (förlängningsoption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionOption {
    /// Position in the sequence, from 1.
    pub seq: u32,
    /// Length in months.
    pub months: u32,
    /// Who decides.
    pub decided_by: OptionDecider,
    /// Months before the end of the term the decision is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_months: Option<u32>,
    /// A fixed decide-by date, overriding `notice_months`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide_by: Option<NaiveDate>,
    /// Recorded decision state.
    #[serde(default = "available")]
    pub state: OptionState,
    /// When the decision was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
}

fn available() -> OptionState {
    OptionState::Available
}

/// Tacit renewal (automatisk förlängning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TacitRenewal {
    /// Length of each renewal in months.
    pub months: u32,
    /// Notice to stop a renewal, in months before the end of the current term.
    pub notice_months: u32,
    /// Most renewals allowed; `None` for no limit (IOPs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_renewals: Option<u32>,
    /// Renewals that have taken effect (the registry counts them; see `domain::clock`).
    #[serde(default)]
    pub renewals_done: u32,
    /// The renewals the registry applied, oldest first (see `domain::clock::apply_renewals`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renewals: Vec<Renewal>,
    /// A notice of non-renewal (uppsägning mot förlängning): no further renewal, and the
    /// agreement ends at `effective_end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// One tacit renewal that took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    /// Which renewal of the agreement this is, from 1 (`renewals_done` after it).
    pub number: u32,
    /// The last day to have stopped it.
    pub notice_deadline: NaiveDate,
    /// The end before the renewal.
    pub old_end: NaiveDate,
    /// The end after it.
    pub new_end: NaiveDate,
    /// The day it took effect: the day after the notice deadline.
    pub took_effect_on: NaiveDate,
}

/// The date by which the parties start talking about a continuation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalDialogue {
    /// What the agreement says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Months before the current end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months_before_end: Option<u32>,
    /// A fixed date instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
}

/// Termination terms, and the notice if one was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    /// Notice period in months.
    pub notice_months: u32,
    /// Form of notice, e.g. "skriftligen".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// Whether the notice takes effect on the exact date or at the end of that month.
    #[serde(default = "exact")]
    pub effective: NoticeEffect,
    /// The notice given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

fn exact() -> NoticeEffect {
    NoticeEffect::Exact
}

/// A notice of termination (uppsägning) or of non-renewal (uppsägning mot förlängning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The party that gave notice.
    pub by: OrgNumber,
    /// When the notice was received.
    pub received_on: NaiveDate,
    /// When the agreement ends as a result.
    pub effective_end: NaiveDate,
    /// Reason, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An amendment (ändring eller tillägg).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amendment {
    /// Date of the amendment.
    pub date: NaiveDate,
    /// LOU 17 kap. ground.
    pub ground: AmendmentGround,
    /// Why.
    pub rationale: String,
    /// Change of value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_change_sek: Option<Sek>,
    /// New end date, if the term changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_end: Option<NaiveDate>,
    /// The option this amendment exercised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_seq: Option<u32>,
}

/// A recurring or one-off duty to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingObligation {
    /// Short code of the report, e.g. `annual_report`, `social_clause_report`.
    pub kind: String,
    /// What to report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How often.
    pub recurrence: Recurrence,
    /// End of the first reporting period (recurring reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_period_end: Option<NaiveDate>,
    /// Due date of a one-off report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// Days after the period end the report is due.
    #[serde(default)]
    pub due_offset_days: u32,
    /// Days after the due date before the report counts as late.
    #[serde(default)]
    pub grace_days: u32,
    /// Days after it became late before a further escalation.
    #[serde(default = "fourteen")]
    pub escalation_days: u32,
    /// The organisation that reports.
    pub responsible: OrgNumber,
    /// Who receives the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<EmailAddress>,
    /// Who is told when it is late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EmailAddress>,
    /// The indicators whose figures each report carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<IndicatorId>,
    /// Recorded states of individual occurrences, by period end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<OccurrenceRecord>,
}

fn fourteen() -> u32 {
    14
}

/// The recorded state of one report occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceRecord {
    /// End of the reported period (the due date, for a one-off report).
    pub period_end: NaiveDate,
    /// Its state.
    pub state: OccurrenceState,
    /// When something was handed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_on: Option<NaiveDate>,
    /// When it was escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_on: Option<NaiveDate>,
    /// When a reminder about it was acknowledged (the reporter confirmed receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_on: Option<NaiveDate>,
    /// When the handed-in report was accepted or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<NaiveDate>,
    /// Why the handed-in report was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// SHA-256 (lower-case hex) of the file handed in, when one was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// The figures handed in; they count once the report is accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Figure>,
    /// Figures handed in earlier and rejected, kept but never counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_figures: Vec<RejectedFigures>,
}

impl OccurrenceRecord {
    /// A record of an occurrence that is still open (`due`; the dates decide whether it is late).
    pub fn open(period_end: NaiveDate) -> Self {
        Self {
            period_end,
            state: OccurrenceState::Due,
            submitted_on: None,
            escalated_on: None,
            acknowledged_on: None,
            decided_on: None,
            rejection_reason: None,
            file_sha256: None,
            figures: Vec::new(),
            rejected_figures: Vec::new(),
        }
    }
}

impl ExtensionOption {
    /// The recorded state as seen on `today`: an undecided option past its decide-by date is lapsed.
    pub fn state_on(&self, decide_by: Option<NaiveDate>, today: NaiveDate) -> OptionState {
        match (self.state, decide_by) {
            (OptionState::Available, Some(d)) if d < today => OptionState::Lapsed,
            (s, _) => s,
        }
    }
}

impl Agreement {
    /// The options sorted by sequence number.
    pub fn options_in_order(&self) -> Vec<&ExtensionOption> {
        let mut v: Vec<&ExtensionOption> = self.options.iter().collect();
        v.sort_by_key(|o| o.seq);
        v
    }

    /// End of the term that option `seq` would extend: the original end plus every earlier option.
    pub fn term_end_before_option(&self, seq: u32) -> NaiveDate {
        let months: u32 = self
            .options
            .iter()
            .filter(|o| o.seq < seq)
            .map(|o| o.months)
            .sum();
        add_months(self.period.original_end, months as i32)
    }

    /// The decide-by date of an option: a fixed date, or the end of the term before it minus the notice.
    pub fn option_decide_by(&self, option: &ExtensionOption) -> Option<NaiveDate> {
        option.decide_by.or_else(|| {
            option
                .notice_months
                .map(|n| add_months(self.term_end_before_option(option.seq), -(n as i32)))
        })
    }

    /// The outer limit implied by the terms: original end plus every option (and every allowed renewal).
    pub fn implied_outer_limit(&self) -> Option<NaiveDate> {
        let option_months: u32 = self.options.iter().map(|o| o.months).sum();
        let renewal_months = match &self.tacit_renewal {
            Some(r) => r.max_renewals? * r.months,
            None => 0,
        };
        Some(add_months(
            self.period.original_end,
            (option_months + renewal_months) as i32,
        ))
    }

    /// The next option that can still be decided, if the earlier ones were all exercised.
    pub fn next_actionable_option(&self, today: NaiveDate) -> Option<&ExtensionOption> {
        for o in self.options_in_order() {
            match o.state_on(self.option_decide_by(o), today) {
                OptionState::Exercised => continue,
                OptionState::Available => return Some(o),
                OptionState::Declined | OptionState::Lapsed => return None,
            }
        }
        None
    }

    /// The renewal dialogue date.
    pub fn renewal_dialogue_due(&self) -> Option<NaiveDate> {
        let d = self.renewal_dialogue.as_ref()?;
        d.due.or_else(|| {
            d.months_before_end
                .map(|m| add_months(self.period.current_end, -(m as i32)))
        })
    }

    /// Whether the agreement is in force on `date`, after the renewals that took effect by then
    /// (see [`super::clock::state_on`]).
    pub fn active_on(&self, date: NaiveDate) -> bool {
        super::clock::state_on(self, date).active
    }

    /// The reservation carried by the agreement, if any, as a filter code.
    pub fn reservation(&self) -> Option<&'static str> {
        if self.eforms.bt_71 == Some(ReservedParticipation::ShelteredWorkshop)
            || self.eforms.bt_71 == Some(ReservedParticipation::PublicServiceMission)
        {
            Some("participation")
        } else if self.eforms.bt_736 == Some(ReservedExecution::Yes) {
            Some("execution")
        } else if self.legal_basis == LegalBasis::Lou19_6a {
            Some("idea_based")
        } else {
            None
        }
    }

    /// The social objectives, from the eForms codes and the clauses, without repeats.
    pub fn social_objectives(&self) -> Vec<SocialObjective> {
        let mut v: Vec<SocialObjective> = self.eforms.bt_775.clone();
        v.extend(self.social_clauses.iter().map(|c| c.objective));
        v.sort();
        v.dedup();
        v
    }

    /// The social objectives as a bit set (see [`SocialObjective::bit`]), stored for the list filter.
    pub fn social_objective_bits(&self) -> i64 {
        self.social_objectives()
            .into_iter()
            .fold(0, |bits, o| bits | o.bit())
    }

    /// Organisations in a role.
    pub fn parties_in(&self, role: PartyRole) -> impl Iterator<Item = &OrgNumber> {
        self.parties
            .iter()
            .filter(move |p| p.role == role)
            .map(|p| &p.org)
    }
}

/// Effective end of a notice received on `received_on` with `months` notice (DOMAIN.md, month arithmetic).
pub fn effective_end(received_on: NaiveDate, months: u32, effect: NoticeEffect) -> NaiveDate {
    let end = add_months(received_on, months as i32);
    match effect {
        NoticeEffect::Exact => end,
        NoticeEffect::MonthEnd => last_day_of_month(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        super::super::dates::parse_iso_date(s).unwrap_or_default()
    }

    fn sample(reference: &str) -> Agreement {
        crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    /// The notice deadline of the next tacit renewal, from the stored current term.
    fn renewal_notice_deadline(a: &Agreement) -> Option<NaiveDate> {
        crate::domain::clock::next_renewal(a).map(|(deadline, _)| deadline)
    }

    /// AGR-2026-0009 (an IOP renewing by 12 months, 3 months' notice) ending on `current_end`.
    fn renewing(current_end: &str, notice_months: u32) -> Agreement {
        let mut a = sample("AGR-2026-0009");
        a.period.current_end = d(current_end);
        a.tacit_renewal = Some(TacitRenewal {
            months: 12,
            notice_months,
            max_renewals: None,
            renewals_done: 0,
            renewals: Vec::new(),
            notice: None,
        });
        a
    }

    #[test]
    fn the_renewal_notice_deadline_counts_back_from_the_current_term_with_month_end_anchoring() {
        // (current end, notice months, deadline), from DOMAIN.md's month arithmetic.
        let cases = [
            // "6 months before 2027-06-30 is 2026-12-31", not 2026-12-30.
            ("2027-06-30", 6, "2026-12-31"),
            ("2027-02-28", 3, "2026-11-30"),
            ("2027-12-31", 3, "2027-09-30"),
            ("2028-02-29", 12, "2027-02-28"),
            // Not a month end: the same day number, or the month's last day if there is none.
            ("2027-03-15", 1, "2027-02-15"),
            ("2027-03-30", 1, "2027-02-28"),
            ("2027-05-30", 3, "2027-02-28"),
            ("2027-08-31", 0, "2027-08-31"),
        ];
        for (end, months, expected) in cases {
            assert_eq!(
                renewal_notice_deadline(&renewing(end, months)),
                Some(d(expected)),
                "{months} months before {end}"
            );
        }
    }

    #[test]
    fn after_a_renewal_the_notice_deadline_follows_the_renewed_term() {
        // AGR-2026-0009 as sampled: original end 2026-12-31, renewed once to 2027-12-31.
        let a = sample("AGR-2026-0009");
        assert_eq!(a.period.original_end, d("2026-12-31"));
        assert_eq!(a.period.current_end, d("2027-12-31"));
        assert_eq!(renewal_notice_deadline(&a), Some(d("2027-09-30")));
    }

    #[test]
    fn no_renewal_notice_deadline_once_the_renewals_are_used_up_or_without_tacit_renewal() {
        let mut a = renewing("2027-12-31", 3);
        for (max, done, open) in [
            (Some(2), 0, true),
            (Some(2), 1, true),
            (Some(2), 2, false),
            (Some(0), 0, false),
            (None, 7, true),
        ] {
            if let Some(r) = a.tacit_renewal.as_mut() {
                r.max_renewals = max;
                r.renewals_done = done;
            }
            assert_eq!(
                renewal_notice_deadline(&a).is_some(),
                open,
                "max {max:?}, done {done}"
            );
        }
        a.tacit_renewal = None;
        assert_eq!(renewal_notice_deadline(&a), None);
    }

    #[test]
    fn the_implied_outer_limit_adds_every_option_and_every_allowed_renewal_to_the_original_end() {
        // AGR-2025-0004: original end 2027-03-31, two 12-month options.
        let mut a = sample("AGR-2025-0004");
        assert_eq!(a.implied_outer_limit(), Some(d("2029-03-31")));
        // The current end does not count: options extend from the original term.
        a.period.current_end = d("2028-03-31");
        assert_eq!(a.implied_outer_limit(), Some(d("2029-03-31")));
        a.options.truncate(1);
        assert_eq!(a.implied_outer_limit(), Some(d("2028-03-31")));
        a.options.clear();
        assert_eq!(a.implied_outer_limit(), Some(d("2027-03-31")));
        // Month-end anchored: 2027-02-28 plus 6 + 6 months.
        a.period.original_end = d("2027-02-28");
        a.tacit_renewal = Some(TacitRenewal {
            months: 6,
            notice_months: 3,
            max_renewals: Some(2),
            renewals_done: 1,
            renewals: Vec::new(),
            notice: None,
        });
        assert_eq!(a.implied_outer_limit(), Some(d("2028-02-29")));
        // Unlimited renewal: no outer limit.
        if let Some(r) = a.tacit_renewal.as_mut() {
            r.max_renewals = None;
        }
        assert_eq!(a.implied_outer_limit(), None);
    }
}
