//! Deadlines and reminders: every dated duty of an agreement as seen on a given day, who must act
//! on it, and the reminder ladder before it. Pure: no I/O, `today` is a parameter.
//!
//! Contractual dates never move. Reminders before a deadline move *earlier* to the previous
//! Swedish business day; notices that a report is late or escalated move *later* to the next
//! business day (they must not go out before the report is actually late).

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::agreement::{Agreement, Reference, ReportingObligation};
use super::codes::{AgreementStatus, OccurrenceState, PartyRole};
use super::dates::{add_months, next_business_day, previous_business_day};
use super::org_number::OrgNumber;
use super::party::EmailAddress;

/// Procurements above this value (in öre) must be documented within 30 days of signing.
const DOCUMENTATION_THRESHOLD_ORE: i64 = 100_000 * 100;
/// Days after signing the documentation is due.
const DOCUMENTATION_DAYS: i64 = 30;
/// A one-off report counts as due (not upcoming) this many days before its due date.
const ONCE_DUE_WINDOW_DAYS: i64 = 30;
/// Most occurrences generated for one reporting obligation (a guard against absurd data).
const MAX_OCCURRENCES: i32 = 2_400;

/// `date` plus `n` days, saturating at the end of the calendar (day counts come from user data).
fn days_after(date: NaiveDate, n: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(n))
        .unwrap_or(NaiveDate::MAX)
}

/// `date` minus `n` days, saturating at the start of the calendar.
fn days_before(date: NaiveDate, n: i64) -> NaiveDate {
    date.checked_sub_signed(Duration::days(n))
        .unwrap_or(NaiveDate::MIN)
}

/// What kind of deadline this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Decide on the next extension option by this date.
    OptionDecision,
    /// Give notice by this date to stop the next tacit renewal.
    RenewalNotice,
    /// Give notice of termination by this date for the current end.
    TerminationNotice,
    /// Start the renewal dialogue by this date.
    RenewalDialogue,
    /// The agreement ends on this date.
    End,
    /// Document the procurement by this date (30 days after signing).
    Documentation,
    /// A report occurrence is due on this date.
    Report,
}

impl DeadlineKind {
    /// The code used in dedupe keys and output.
    pub fn code(self) -> &'static str {
        match self {
            Self::OptionDecision => "option_decision",
            Self::RenewalNotice => "renewal_notice",
            Self::TerminationNotice => "termination_notice",
            Self::RenewalDialogue => "renewal_dialogue",
            Self::End => "end",
            Self::Documentation => "documentation",
            Self::Report => "report",
        }
    }
}

impl std::str::FromStr for DeadlineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::OptionDecision,
            Self::RenewalNotice,
            Self::TerminationNotice,
            Self::RenewalDialogue,
            Self::End,
            Self::Documentation,
            Self::Report,
        ]
        .into_iter()
        .find(|k| k.code() == s)
        .ok_or_else(|| format!("\"{s}\" is not a deadline kind"))
    }
}

impl std::fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a deadline stands on the day it is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// Still to be acted on (a late report stays open until it is handed in).
    Open,
    /// Acted on: a report submitted or accepted.
    Met,
    /// The date has passed; nothing can be done about it any more.
    Passed,
}

/// Who must act on a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The buyer's contract owner (avtalsansvarig).
    ContractOwner,
    /// The partner's or supplier's reporting contact (or partner contact).
    ReportingContact,
    /// The escalation contact of the report or of the agreement.
    EscalationContact,
}

impl Actor {
    /// The stored code (as serde writes it).
    pub fn code(self) -> &'static str {
        match self {
            Self::ContractOwner => "contract_owner",
            Self::ReportingContact => "reporting_contact",
            Self::EscalationContact => "escalation_contact",
        }
    }

    /// The actor of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::ContractOwner,
            Self::ReportingContact,
            Self::EscalationContact,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

/// Who gets a reminder: the people who must act, and those kept informed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recipients {
    /// Must act.
    pub to: Vec<EmailAddress>,
    /// Informed.
    pub cc: Vec<EmailAddress>,
}

impl Recipients {
    fn new(to: &[Option<&EmailAddress>], cc: &[Option<&EmailAddress>]) -> Self {
        let mut r = Self::default();
        for e in to.iter().flatten() {
            if !r.to.contains(e) {
                r.to.push((*e).clone());
            }
        }
        for e in cc.iter().flatten() {
            if !r.to.contains(e) && !r.cc.contains(e) {
                r.cc.push((*e).clone());
            }
        }
        r
    }
}

/// A step of a reminder ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Step {
    /// N days before the deadline (0: on the deadline day).
    Before(u32),
    /// The report became late: the escalation contact is told.
    Late,
    /// The report is still missing `escalation_days` after it became late.
    Escalation,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Before(d) => write!(f, "d{d}"),
            Self::Late => f.write_str("late"),
            Self::Escalation => f.write_str("escalation"),
        }
    }
}

impl From<Step> for String {
    fn from(s: Step) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Step {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "late" => Ok(Self::Late),
            "escalation" => Ok(Self::Escalation),
            other => other
                .strip_prefix('d')
                .and_then(|n| n.parse().ok())
                .map(Self::Before)
                .ok_or_else(|| {
                    format!("\"{other}\" is not a reminder step (d90, late, escalation)")
                }),
        }
    }
}

impl Step {
    /// An order for sorting: ladder steps (farthest first), then late, then escalation.
    fn rank(self) -> (u8, std::cmp::Reverse<u32>) {
        match self {
            Self::Before(d) => (0, std::cmp::Reverse(d)),
            Self::Late => (1, std::cmp::Reverse(0)),
            Self::Escalation => (2, std::cmp::Reverse(0)),
        }
    }
}

/// The dedupe key of one reminder, `reference/kind/occurrence/step` as text: the same reminder
/// always has the same key, and a changed date gives a new key (the reminder is re-armed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ReminderKey {
    /// The agreement (never holds a `/`).
    pub reference: Reference,
    /// The kind of deadline.
    pub kind: DeadlineKind,
    /// The occurrence of the deadline (option number, period, date; may hold a `/`).
    pub occurrence: String,
    /// The ladder step.
    pub step: Step,
}

impl ReminderKey {
    /// Whether this is a reminder of deadline `d`.
    pub fn is_of(&self, d: &Deadline) -> bool {
        self.kind == d.kind && self.occurrence == d.occurrence && self.reference == d.reference
    }
}

impl std::fmt::Display for ReminderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.reference, self.kind, self.occurrence, self.step
        )
    }
}

impl std::str::FromStr for ReminderKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a reminder key (reference/kind/occurrence/step)");
        let (reference, rest) = s.split_once('/').ok_or_else(bad)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(bad)?;
        let (occurrence, step) = rest.rsplit_once('/').ok_or_else(bad)?;
        Ok(Self {
            reference: Reference::parse(reference).map_err(|e| e.to_string())?,
            kind: kind.parse()?,
            occurrence: occurrence.to_owned(),
            step: Step::try_from(step.to_owned())?,
        })
    }
}

impl From<ReminderKey> for String {
    fn from(k: ReminderKey) -> String {
        k.to_string()
    }
}

impl TryFrom<String> for ReminderKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl PartialOrd for ReminderKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ReminderKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (
            &self.reference,
            self.kind.code(),
            &self.occurrence,
            self.step.rank(),
        )
            .cmp(&(
                &other.reference,
                other.kind.code(),
                &other.occurrence,
                other.step.rank(),
            ))
    }
}

/// One reminder: when it goes out, to whom, and its dedupe key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// The ladder step.
    pub step: Step,
    /// The date the step counts to, before moving to a business day.
    pub nominal: NaiveDate,
    /// The business day it goes out.
    pub date: NaiveDate,
    /// Who gets it.
    pub recipients: Recipients,
    /// The dedupe key.
    pub key: ReminderKey,
}

/// One occurrence of a reporting obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportOccurrence {
    /// The report's kind, e.g. `annual_report`.
    pub kind: String,
    /// End of the reported period (the agreement's end for a final, shortened period; the due
    /// date for a one-off report).
    pub period_end: NaiveDate,
    /// Whether this is the last report, for the period containing the end.
    pub final_report: bool,
    /// Due date: period end plus `due_offset_days`.
    pub due: NaiveDate,
    /// Counts as late from this day: due plus `grace_days` (at the earliest the day after due).
    pub late_on: NaiveDate,
    /// Escalated again from this day: late plus `escalation_days`.
    pub escalate_on: NaiveDate,
    /// State on the day computed: the recorded one, with the rest derived from the dates.
    pub state: OccurrenceState,
}

/// One dated deadline of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The agreement.
    pub reference: Reference,
    /// What kind of deadline.
    pub kind: DeadlineKind,
    /// The contractual date; never moved.
    pub date: NaiveDate,
    /// What it is about, in words.
    pub what: String,
    /// The occurrence part of the dedupe keys (option number, period, date).
    pub occurrence: String,
    /// Open, met or passed.
    pub state: DeadlineState,
    /// Who must act.
    pub actor: Actor,
    /// Who is told.
    pub recipients: Recipients,
    /// The report occurrence, for report deadlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportOccurrence>,
    /// Reminders, earliest first; none for a met deadline.
    pub reminders: Vec<Reminder>,
}

impl Deadline {
    /// What the deadline is about in Swedish, as the pages say it: the kind's name and, for a
    /// report, its name and period (`Rapport: årsrapport för perioden till 2026-12-31`).
    pub fn what_sv(&self) -> String {
        let kind = crate::text::label_sv(None, self.kind.code());
        match &self.report {
            Some(r) => format!(
                "{kind}: {}{} för perioden till {}",
                crate::text::label_sv(None, &r.kind),
                if r.final_report { " (slutrapport)" } else { "" },
                r.period_end
            ),
            None => kind,
        }
    }
}

/// Reminder ladders per deadline kind: days before the deadline, in any order (0 = on the day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReminderLadders {
    /// Option decide-by dates.
    pub option_decision: Vec<u32>,
    /// Last day to stop a tacit renewal.
    pub renewal_notice: Vec<u32>,
    /// Last day to give notice of termination for the current end.
    pub termination_notice: Vec<u32>,
    /// Renewal dialogue date.
    pub renewal_dialogue: Vec<u32>,
    /// End of the agreement.
    pub end: Vec<u32>,
    /// Documentation of a procurement.
    pub documentation: Vec<u32>,
    /// Report due dates.
    pub report: Vec<u32>,
    /// Late and escalation notices older than this many days are not sent again by a sweep.
    pub catch_up_days: u32,
}

impl Default for ReminderLadders {
    fn default() -> Self {
        let action = vec![90, 60, 30, 14, 7, 0];
        Self {
            option_decision: action.clone(),
            renewal_notice: action.clone(),
            termination_notice: action,
            renewal_dialogue: vec![30, 14, 7, 0],
            end: vec![90, 30, 7, 0],
            documentation: vec![14, 7, 0],
            report: vec![14, 7, 0],
            catch_up_days: 30,
        }
    }
}

impl ReminderLadders {
    /// The ladder of a kind, with an agreement's own ladder for its action dates (option
    /// decisions and notices) taking precedence.
    pub fn ladder(&self, kind: DeadlineKind, agreement_override: &[u32]) -> Vec<u32> {
        let base = match kind {
            DeadlineKind::OptionDecision => &self.option_decision,
            DeadlineKind::RenewalNotice => &self.renewal_notice,
            DeadlineKind::TerminationNotice => &self.termination_notice,
            DeadlineKind::RenewalDialogue => &self.renewal_dialogue,
            DeadlineKind::End => &self.end,
            DeadlineKind::Documentation => &self.documentation,
            DeadlineKind::Report => &self.report,
        };
        let is_action = matches!(
            kind,
            DeadlineKind::OptionDecision
                | DeadlineKind::RenewalNotice
                | DeadlineKind::TerminationNotice
        );
        let mut v = if is_action && !agreement_override.is_empty() {
            agreement_override.to_vec()
        } else {
            base.clone()
        };
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        v
    }
}

/// Reminder dates for a deadline on `date`: each step moved earlier to a business day; a step
/// that lands on the same day as the step before it is dropped.
pub fn ladder_dates(date: NaiveDate, ladder: &[u32]) -> Vec<(u32, NaiveDate, NaiveDate)> {
    let mut out: Vec<(u32, NaiveDate, NaiveDate)> = Vec::new();
    let mut steps = ladder.to_vec();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps.dedup();
    for days in steps {
        let nominal = days_before(date, i64::from(days));
        let sent = previous_business_day(nominal);
        if out.last().is_some_and(|(_, _, d)| *d == sent) {
            out.pop();
        }
        out.push((days, nominal, sent));
    }
    out
}

/// The end of the term as it stands on `today`, and whether a tacit renewal can still extend it
/// (from [`super::clock::state_on`], the one date source).
///
/// A tacit renewal whose notice deadline has passed without notice has taken effect, even if the
/// stored current end was not moved yet: notice deadlines always count from the current term.
pub fn current_term(a: &Agreement, today: NaiveDate) -> (NaiveDate, bool) {
    let s = super::clock::state_on(a, today);
    (s.term_end, s.renewable)
}

/// Every deadline of `a` as seen on `today`, sorted by date, with reminders from `ladders`.
pub fn deadlines(a: &Agreement, today: NaiveDate, ladders: &ReminderLadders) -> Vec<Deadline> {
    build(a, today, ladders, Mode::Full)
}

/// The deadlines as [`deadlines`] gives them, but with reminders only on those where
/// [`due_reminders`] on `today` can pick one: a calendar of many agreements skips building the
/// ladders of deadlines long past.
pub fn deadlines_for_calendar(
    a: &Agreement,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Vec<Deadline> {
    build(a, today, ladders, Mode::Lean)
}

/// What a sweep on `today` has to look at: the deadlines of [`deadlines_for_calendar`] without
/// the report occurrences that no sweep on `today` or later can pick a reminder of (met, or
/// past their due day and with their late and escalation notices older than the catch-up
/// window), and without the occurrences of an obligation after the first one whose reminders
/// all lie after `today` (theirs are later still), so a sweep over years of reports builds only
/// the few that matter. [`due_reminders`] and [`next_sweep_day`] give the same answer on it as
/// on [`deadlines`].
pub fn deadlines_for_sweep(
    a: &Agreement,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Vec<Deadline> {
    build(a, today, ladders, Mode::Sweep)
}

/// A deadline as the pages store it (see [`plan`]): the engine's deadline without reminders, with
/// what its state on another day of the plan's window is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDeadline {
    /// The deadline as on the planning day, without reminders.
    pub deadline: Deadline,
    /// For a report: the day it stops being upcoming.
    pub opens: Option<NaiveDate>,
    /// For a report: its recorded state, and whether an escalation was recorded.
    pub recorded: Option<(OccurrenceState, bool)>,
    /// For a report: the organisation that hands it in.
    pub responsible: Option<OrgNumber>,
}

impl PlannedDeadline {
    /// Whether the deadline is met whatever the day (a report handed in or accepted).
    pub fn met(&self) -> bool {
        matches!(
            self.recorded,
            Some((OccurrenceState::Submitted | OccurrenceState::Accepted, _))
        )
    }

    /// The deadline as [`deadlines`] gives it on `today` (a day of its plan's window), without
    /// reminders: its state derived from the stored dates, never stored.
    pub fn on(mut self, today: NaiveDate) -> Deadline {
        let (state, report_state) = self.states_on(today);
        let d = &mut self.deadline;
        d.state = state;
        if let (Some(r), Some(s)) = (&mut d.report, report_state) {
            r.state = s;
        }
        self.deadline
    }

    /// The states [`Self::on`] gives the deadline and, for a report, its occurrence on `today`,
    /// without a copy of the deadline.
    pub fn states_on(&self, today: NaiveDate) -> (DeadlineState, Option<OccurrenceState>) {
        let d = &self.deadline;
        match &d.report {
            None if d.date >= today => (DeadlineState::Open, None),
            None => (DeadlineState::Passed, None),
            Some(r) => {
                let opens = self.opens.unwrap_or(r.due);
                let s = occurrence_state(self.recorded, today, opens, r.late_on, r.escalate_on);
                let state = match s {
                    OccurrenceState::Submitted | OccurrenceState::Accepted => DeadlineState::Met,
                    _ => DeadlineState::Open,
                };
                (state, Some(s))
            }
        }
    }
}

/// The deadlines of an agreement for every day of a window: on each day `d` with
/// [`Plan::valid_on`], `PlannedDeadline::on(d)` of each gives [`deadlines`] on `d` (less the
/// reminders), in the same order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The deadlines, in the engine's order.
    pub deadlines: Vec<PlannedDeadline>,
    /// First day of the window (`None`: no limit).
    pub valid_from: Option<NaiveDate>,
    /// First day after the window (`None`: no limit).
    pub valid_until: Option<NaiveDate>,
}

impl Plan {
    /// Whether the plan holds on `day`.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_until.is_none_or(|u| day < u)
    }
}

/// The plan of `a` around `day`. Which deadlines exist depends on the day only through the tacit
/// renewals that have taken effect (the term) and the options still open (an undecided option
/// lapses after its decide-by date); the window is bounded by the nearest such change on either
/// side. Everything else that changes with the day (open or passed, a report's state) is derived
/// by [`PlannedDeadline::on`].
pub fn plan(a: &Agreement, day: NaiveDate) -> Plan {
    let ladders = ReminderLadders::default();
    let deadlines = build_with_facts(a, day, &ladders, Mode::Plan)
        .into_iter()
        .map(|(deadline, facts)| PlannedDeadline {
            deadline,
            opens: facts.as_ref().map(|f| f.opens),
            recorded: facts.as_ref().and_then(|f| f.recorded),
            responsible: facts.map(|f| f.responsible),
        })
        .collect();
    let (now, applied) = super::clock::as_on(a, day);
    let now = now.as_ref();
    let after = |d: NaiveDate| d.succ_opt().unwrap_or(d);
    let mut valid_from = applied.last().map(|r| r.took_effect_on);
    let mut valid_until = super::clock::next_renewal(now).map(|(d, _)| after(d));
    for o in &now.options {
        let Some(d) = now.option_decide_by(o) else {
            continue;
        };
        if o.state != super::codes::OptionState::Available {
            continue;
        }
        // The option lapses (stops being actionable) from the day after its decide-by date.
        let flip = after(d);
        if flip <= day {
            valid_from = Some(valid_from.map_or(flip, |f| f.max(flip)));
        } else {
            valid_until = Some(valid_until.map_or(flip, |u| u.min(flip)));
        }
    }
    Plan {
        deadlines,
        valid_from,
        valid_until,
    }
}

/// Every address a deadline of `a` can name as a recipient on any day (its contacts and its
/// reports' recipients and escalation contacts): the index of calendar feeds.
pub fn deadline_contacts(a: &Agreement) -> Vec<EmailAddress> {
    let mut out: Vec<EmailAddress> = a
        .contacts
        .all()
        .into_iter()
        .map(|(_, e)| e.clone())
        .collect();
    for ob in &a.reporting {
        out.extend(ob.recipient.iter().cloned());
        out.extend(ob.escalation.iter().cloned());
    }
    out.sort();
    out.dedup();
    out
}

/// How much of the deadlines [`build`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every deadline with every reminder.
    Full,
    /// Every deadline, reminders only where a sweep on the day can pick one.
    Lean,
    /// As `Lean`, without report occurrences that have no reminder left to pick.
    Sweep,
    /// Every deadline, no reminders (the stored plan of the pages).
    Plan,
}

fn build(a: &Agreement, today: NaiveDate, ladders: &ReminderLadders, mode: Mode) -> Vec<Deadline> {
    build_with_facts(a, today, ladders, mode)
        .into_iter()
        .map(|(d, _)| d)
        .collect()
}

/// What a report deadline's state on another day is derived from (see [`PlannedDeadline`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReportFacts {
    opens: NaiveDate,
    recorded: Option<(OccurrenceState, bool)>,
    responsible: OrgNumber,
}

fn build_with_facts(
    a: &Agreement,
    today: NaiveDate,
    ladders: &ReminderLadders,
    mode: Mode,
) -> Vec<(Deadline, Option<ReportFacts>)> {
    let lean = mode != Mode::Full;
    // Every date counts from the term as it stands on `today` (the one date source).
    let (now, _) = super::clock::as_on(a, today);
    let a = now.as_ref();
    let mut b = Builder {
        a,
        today,
        ladders,
        lean,
        skip_spent: mode == Mode::Sweep,
        reminders: mode != Mode::Plan,
        out: Vec::new(),
    };
    let running = matches!(
        a.status,
        AgreementStatus::Active | AgreementStatus::NoticeGiven
    );
    let ended = matches!(
        a.status,
        AgreementStatus::Expired | AgreementStatus::Terminated
    );
    if !running && !ended {
        return Vec::new();
    }
    let (end, renewable) = (
        a.period.current_end,
        super::clock::next_renewal(a).is_some(),
    );
    if running {
        b.options();
        b.notices(end, renewable);
        b.dialogue();
        if !renewable {
            b.simple(
                DeadlineKind::End,
                end,
                "the agreement ends".to_owned(),
                end.to_string(),
            );
        }
        b.documentation();
    }
    b.reports(end, renewable);
    let mut out = b.out;
    out.sort_by(|(x, _), (y, _)| {
        (x.date, x.kind, &x.occurrence).cmp(&(y.date, y.kind, &y.occurrence))
    });
    out
}

struct Builder<'a> {
    a: &'a Agreement,
    today: NaiveDate,
    ladders: &'a ReminderLadders,
    /// Build only the reminders a sweep on `today` can pick.
    lean: bool,
    /// Leave out report occurrences with no reminder left to pick.
    skip_spent: bool,
    /// Build reminders at all.
    reminders: bool,
    out: Vec<(Deadline, Option<ReportFacts>)>,
}

impl Builder<'_> {
    fn owner_recipients(&self) -> Recipients {
        let c = &self.a.contacts;
        let to = c.owner.as_ref().or(c.escalation.as_ref());
        Recipients::new(&[to], &[c.partner.as_ref()])
    }

    fn key(&self, kind: DeadlineKind, occurrence: &str, step: Step) -> ReminderKey {
        ReminderKey {
            reference: self.a.reference.clone(),
            kind,
            occurrence: occurrence.to_owned(),
            step,
        }
    }

    fn ladder_reminders(
        &self,
        kind: DeadlineKind,
        date: NaiveDate,
        occurrence: &str,
        recipients: &Recipients,
    ) -> Vec<Reminder> {
        let ladder = self.ladders.ladder(kind, &self.a.reminder_days);
        ladder_dates(date, &ladder)
            .into_iter()
            .map(|(days, nominal, sent)| Reminder {
                step: Step::Before(days),
                nominal,
                date: sent,
                recipients: recipients.clone(),
                key: self.key(kind, occurrence, Step::Before(days)),
            })
            .collect()
    }

    /// A deadline of the contract owner (partner informed) that is open until its date passes.
    fn simple(&mut self, kind: DeadlineKind, date: NaiveDate, what: String, occurrence: String) {
        let recipients = if kind == DeadlineKind::Documentation {
            let c = &self.a.contacts;
            Recipients::new(&[c.owner.as_ref().or(c.escalation.as_ref())], &[])
        } else {
            self.owner_recipients()
        };
        let state = if date >= self.today {
            DeadlineState::Open
        } else {
            DeadlineState::Passed
        };
        // A sweep picks a ladder step only while the deadline is today or later.
        let reminders = if !self.reminders || (self.lean && date < self.today) {
            Vec::new()
        } else {
            self.ladder_reminders(kind, date, &occurrence, &recipients)
        };
        self.out.push((
            Deadline {
                reference: self.a.reference.clone(),
                kind,
                date,
                what,
                occurrence,
                state,
                actor: Actor::ContractOwner,
                recipients,
                report: None,
                reminders,
            },
            None,
        ));
    }

    fn options(&mut self) {
        let Some(o) = self.a.next_actionable_option(self.today) else {
            return;
        };
        let Some(by) = self.a.option_decide_by(o) else {
            return;
        };
        let what = format!(
            "decide on option {} ({} months, decided by {})",
            o.seq, o.months, o.decided_by
        );
        self.simple(
            DeadlineKind::OptionDecision,
            by,
            what,
            format!("{}@{by}", o.seq),
        );
    }

    fn notices(&mut self, end: NaiveDate, renewable: bool) {
        let mut renewal_deadline = None;
        if renewable && let Some(r) = &self.a.tacit_renewal {
            let by = add_months(end, -(r.notice_months as i32));
            renewal_deadline = Some(by);
            let what = format!(
                "give notice to stop the tacit renewal of the term ending {end} ({} months more)",
                r.months
            );
            self.simple(DeadlineKind::RenewalNotice, by, what, by.to_string());
        }
        if let Some(t) = &self.a.termination
            && t.notice.is_none()
        {
            let by = add_months(end, -(t.notice_months as i32));
            if renewal_deadline != Some(by) {
                let what = format!(
                    "last day to give notice of termination ({} months) for the end {end}",
                    t.notice_months
                );
                self.simple(DeadlineKind::TerminationNotice, by, what, by.to_string());
            }
        }
    }

    fn dialogue(&mut self) {
        if let Some(by) = self.a.renewal_dialogue_due() {
            self.simple(
                DeadlineKind::RenewalDialogue,
                by,
                "start the dialogue about a continuation".to_owned(),
                by.to_string(),
            );
        }
    }

    fn documentation(&mut self) {
        let a = self.a;
        let Some(signed) = a.signed_on else {
            return;
        };
        let over = a.value.as_ref().is_some_and(|v| {
            v.amount_sek.ore() > DOCUMENTATION_THRESHOLD_ORE
                || v.estimated_total_sek
                    .is_some_and(|t| t.ore() > DOCUMENTATION_THRESHOLD_ORE)
        });
        if a.kind.is_procurement() && over {
            let by = days_after(signed, DOCUMENTATION_DAYS);
            self.simple(
                DeadlineKind::Documentation,
                by,
                format!("document the procurement (signed {signed})"),
                by.to_string(),
            );
        }
    }

    fn reports(&mut self, end: NaiveDate, renewable: bool) {
        let a = self.a;
        for (i, ob) in a.reporting.iter().enumerate() {
            let duplicate = a
                .reporting
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.kind == ob.kind);
            let label = if duplicate {
                format!("{}#{}", ob.kind, i + 1)
            } else {
                ob.kind.clone()
            };
            for occ in occurrences(ob, end, renewable) {
                // In a sweep, the occurrences after one whose reminders all lie after `today`
                // change nothing: theirs are later still, so neither what is due today nor the
                // next sweep day (the earliest reminder after today) depends on them.
                if self.report(ob, &label, occ) && self.skip_spent {
                    break;
                }
            }
        }
    }

    /// Adds the occurrence `occ` of `ob`; returns whether it is open with every reminder dated
    /// after `today`.
    fn report(&mut self, ob: &ReportingObligation, label: &str, occ: Occurrence) -> bool {
        let a = self.a;
        let c = &a.contacts;
        let record = ob
            .occurrences
            .iter()
            .find(|r| r.period_end == occ.period_end || r.period_end == occ.nominal_period_end);
        let due = occ.due;
        let late_on = Ord::max(
            days_after(due, i64::from(ob.grace_days)),
            days_after(due, 1),
        );
        let escalate_on = days_after(late_on, i64::from(ob.escalation_days));
        let opens = if ob.recurrence.interval_months().is_some() {
            days_after(occ.period_end, 1)
        } else {
            days_before(due, ONCE_DUE_WINDOW_DAYS)
        };
        let recorded = record.map(|r| (r.state, r.escalated_on.is_some()));
        let state = occurrence_state(recorded, self.today, opens, late_on, escalate_on);
        if self.skip_spent {
            let met = matches!(
                state,
                OccurrenceState::Submitted | OccurrenceState::Accepted
            );
            let oldest = days_before(self.today, i64::from(self.ladders.catch_up_days));
            if met || (due < self.today && next_business_day(escalate_on) < oldest) {
                return false;
            }
        }

        let by_buyer = a.parties_in(PartyRole::Buyer).any(|o| *o == ob.responsible);
        let reporter = if by_buyer {
            c.owner.as_ref()
        } else {
            c.reporting.as_ref().or(c.partner.as_ref())
        };
        let funder = if a.parties_in(PartyRole::Funder).next().is_some() {
            c.funder.as_ref()
        } else {
            None
        };
        let recipients = Recipients::new(
            &[reporter.or(c.owner.as_ref())],
            &[c.owner.as_ref(), ob.recipient.as_ref(), funder],
        );
        let escalation = ob
            .escalation
            .as_ref()
            .or(c.escalation.as_ref())
            .or(c.owner.as_ref());
        let escalated = Recipients::new(&[escalation], &[reporter, c.owner.as_ref(), funder]);

        let occurrence = format!("{label}:{}@{due}", occ.period_end);
        let deadline_state = match state {
            OccurrenceState::Submitted | OccurrenceState::Accepted => DeadlineState::Met,
            _ => DeadlineState::Open,
        };
        let mut reminders = Vec::new();
        // In a sweep: ladder steps count only while the report is not yet due, late and
        // escalation notices only until they are `catch_up_days` old.
        let oldest = days_before(self.today, i64::from(self.ladders.catch_up_days));
        let ladder_pickable = !self.lean || due >= self.today;
        let notices_pickable = !self.lean || next_business_day(escalate_on) >= oldest;
        if deadline_state == DeadlineState::Open && self.reminders {
            if ladder_pickable {
                reminders =
                    self.ladder_reminders(DeadlineKind::Report, due, &occurrence, &recipients);
            }
            let notices = [(Step::Late, late_on), (Step::Escalation, escalate_on)];
            for (step, day) in notices.into_iter().filter(|_| notices_pickable) {
                reminders.push(Reminder {
                    step,
                    nominal: day,
                    date: next_business_day(day),
                    recipients: escalated.clone(),
                    key: self.key(DeadlineKind::Report, &occurrence, step),
                });
            }
        }
        let what = if occ.final_report {
            format!("final {} for the period ending {}", ob.kind, occ.period_end)
        } else {
            format!("{} for the period ending {}", ob.kind, occ.period_end)
        };
        let deadline = Deadline {
            reference: a.reference.clone(),
            kind: DeadlineKind::Report,
            date: due,
            what,
            occurrence,
            state: deadline_state,
            actor: if by_buyer {
                Actor::ContractOwner
            } else {
                Actor::ReportingContact
            },
            recipients,
            report: Some(ReportOccurrence {
                kind: ob.kind.clone(),
                period_end: occ.period_end,
                final_report: occ.final_report,
                due,
                late_on,
                escalate_on,
                state,
            }),
            reminders,
        };
        // Only the plan keeps them; the other modes drop them unread.
        let facts = (!self.reminders).then(|| ReportFacts {
            opens,
            recorded,
            responsible: ob.responsible.clone(),
        });
        // Not yet due, so its ladder steps were built and its earliest reminder is no later
        // than the next occurrence's.
        let ahead = deadline.state == DeadlineState::Open
            && due >= self.today
            && !deadline.reminders.is_empty()
            && deadline.reminders.iter().all(|r| r.date > self.today);
        self.out.push((deadline, facts));
        ahead
    }
}

/// One generated occurrence before its state is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Occurrence {
    period_end: NaiveDate,
    nominal_period_end: NaiveDate,
    final_report: bool,
    due: NaiveDate,
}

/// The occurrences of an obligation for a term ending on `end`: every period ending on or before
/// the end, and the period containing the end as a final, shortened one. A one-off report has
/// one occurrence on its due date.
fn occurrences(ob: &ReportingObligation, end: NaiveDate, renewable: bool) -> Vec<Occurrence> {
    let offset = i64::from(ob.due_offset_days);
    let Some(step) = ob.recurrence.interval_months() else {
        return ob
            .due
            .map(|d| Occurrence {
                period_end: d,
                nominal_period_end: d,
                final_report: false,
                due: d,
            })
            .into_iter()
            .collect();
    };
    let Some(first) = ob.first_period_end else {
        return Vec::new();
    };
    let step = step as i32;
    let mut out = Vec::new();
    for k in 0..MAX_OCCURRENCES {
        let pe = add_months(first, k * step);
        if pe <= end {
            out.push(Occurrence {
                period_end: pe,
                nominal_period_end: pe,
                final_report: pe == end && !renewable,
                due: days_after(pe, offset),
            });
            if pe == end {
                break;
            }
        } else {
            if !renewable {
                out.push(Occurrence {
                    period_end: end,
                    nominal_period_end: pe,
                    final_report: true,
                    due: days_after(end, offset),
                });
            }
            break;
        }
    }
    out
}

/// The state of an occurrence on `today`: a recorded hand-in or acceptance stands; otherwise the
/// dates decide (upcoming before the period is over, then due, late, escalated), and a rejected
/// report is due again under the same dates.
fn occurrence_state(
    record: Option<(OccurrenceState, bool)>,
    today: NaiveDate,
    opens: NaiveDate,
    late_on: NaiveDate,
    escalate_on: NaiveDate,
) -> OccurrenceState {
    use OccurrenceState::*;
    let from_dates = |open_state: OccurrenceState| {
        if today >= escalate_on {
            Escalated
        } else if today >= late_on {
            Late
        } else if today >= opens {
            open_state
        } else {
            Upcoming
        }
    };
    match record {
        Some((recorded, escalated)) => match recorded {
            Submitted => Submitted,
            Accepted => Accepted,
            Escalated => Escalated,
            Late if escalated || today >= escalate_on => Escalated,
            Late => Late,
            Rejected => match from_dates(Rejected) {
                Upcoming => Rejected,
                s => s,
            },
            Upcoming | Due => from_dates(Due),
        },
        None => from_dates(Due),
    }
}

/// A reminder that a sweep on a given day should send, with the deadline it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReminder {
    /// The agreement.
    pub reference: Reference,
    /// The kind of deadline.
    pub kind: DeadlineKind,
    /// The contractual date.
    pub deadline: NaiveDate,
    /// What the deadline is about.
    pub what: String,
    /// The report's state, for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_state: Option<OccurrenceState>,
    /// The ladder step.
    pub step: Step,
    /// The day the reminder was planned for (a business day, on or before the sweep's day).
    pub date: NaiveDate,
    /// Who must act.
    pub actor: Actor,
    /// Who gets it.
    pub recipients: Recipients,
    /// Dedupe key.
    pub key: ReminderKey,
}

/// The reminders a sweep on `today` sends, most urgent deadline first.
///
/// For each open deadline dated today or later: the latest ladder step dated today or earlier
/// (a sweep that missed a day catches up with one reminder, not the whole ladder; the dedupe key
/// stops a repeat). For each open report that is late: the latest of its late and escalation
/// notices dated today or earlier, if it is at most `catch_up_days` old.
pub fn due_reminders(
    deadlines: &[Deadline],
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Vec<DueReminder> {
    let oldest = days_before(today, i64::from(ladders.catch_up_days));
    let mut out = Vec::new();
    for d in deadlines.iter().filter(|d| d.state == DeadlineState::Open) {
        let pick = d
            .reminders
            .iter()
            .filter(|r| r.date <= today)
            .filter(|r| match r.step {
                Step::Before(_) => d.date >= today,
                Step::Late | Step::Escalation => r.date >= oldest && d.date < today,
            })
            .max_by_key(|r| (r.date, r.nominal));
        if let Some(r) = pick {
            out.push(DueReminder {
                reference: d.reference.clone(),
                kind: d.kind,
                deadline: d.date,
                what: d.what.clone(),
                report_state: d.report.as_ref().map(|o| o.state),
                step: r.step,
                date: r.date,
                actor: match r.step {
                    Step::Before(_) => d.actor,
                    Step::Late | Step::Escalation => Actor::EscalationContact,
                },
                recipients: r.recipients.clone(),
                key: r.key.clone(),
            });
        }
    }
    most_urgent_first(&mut out);
    out
}

/// The first day after `today` on which a sweep of this agreement can pick a reminder that a sweep
/// on `today` (or earlier) did not, from `found` = [`deadlines_for_sweep`] on `today`; `None` when
/// no later day can (until the agreement is edited).
///
/// A reminder a sweep picks is its deadline's latest step dated on or before the sweep's day, so
/// a new pick needs a step dated after `today`. What else changes with the day is the set of
/// deadlines itself (the next option once a decide-by date passed, the term rolled forward once a
/// renewal notice date passed), which happens only the day after a non-report deadline: those
/// days count too. Steps of deadlines built on `today` are a superset of those a later day's
/// build has (the lean build drops only steps no later sweep picks either).
pub fn next_sweep_day(found: &[Deadline], today: NaiveDate) -> Option<NaiveDate> {
    let mut next: Option<NaiveDate> = None;
    let mut consider = |day: NaiveDate| {
        if day > today && next.is_none_or(|n| day < n) {
            next = Some(day);
        }
    };
    for d in found {
        if d.state == DeadlineState::Open {
            for r in &d.reminders {
                consider(r.date);
            }
        }
        if d.kind != DeadlineKind::Report {
            if d.date >= today {
                consider(days_after(d.date, 1));
            } else if d.kind == DeadlineKind::RenewalNotice {
                // A term that still rolls (absurd renewal data): look again tomorrow.
                consider(days_after(today, 1));
            }
        }
    }
    next
}

/// Sorts due reminders the way [`due_reminders`] returns them: by deadline, agreement and key.
pub fn most_urgent_first(v: &mut [DueReminder]) {
    v.sort_by(|x, y| (x.deadline, &x.reference, &x.key).cmp(&(y.deadline, &y.reference, &y.key)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agreement::OccurrenceRecord;

    fn d(s: &str) -> NaiveDate {
        super::super::dates::parse_iso_date(s).unwrap_or_default()
    }

    fn samples() -> Vec<Agreement> {
        crate::domain::samples::agreements()
    }

    fn sample(reference: &str) -> Agreement {
        samples()
            .into_iter()
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    fn on_sample_today(reference: &str) -> Vec<Deadline> {
        deadlines(
            &sample(reference),
            d("2026-11-22"),
            &ReminderLadders::default(),
        )
    }

    fn find(ds: &[Deadline], kind: DeadlineKind, date: &str) -> Deadline {
        ds.iter()
            .find(|x| x.kind == kind && x.date == d(date))
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} on {date} in {ds:#?}"))
    }

    fn last_before(x: &Deadline) -> Reminder {
        x.reminders
            .iter()
            .filter(|r| matches!(r.step, Step::Before(_)))
            .max_by_key(|r| r.date)
            .cloned()
            .unwrap_or_else(|| panic!("no reminders for {x:?}"))
    }

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The samples and variants of them with open options, tacit renewals and handed-in,
    /// rejected and escalated reports, so every part of a plan's window is exercised.
    fn plan_cases() -> Vec<Agreement> {
        let mut out = samples();
        for a in samples() {
            let mut b = a.clone();
            b.reference = Reference::parse(&format!("{}-V", a.reference)).unwrap_or(b.reference);
            if let Some(r) = b.tacit_renewal.as_mut() {
                r.max_renewals = None;
            }
            b.period.outer_limit = None;
            for (i, ob) in b.reporting.iter_mut().enumerate() {
                for (k, rec) in ob.occurrences.iter_mut().enumerate() {
                    rec.state = [
                        OccurrenceState::Submitted,
                        OccurrenceState::Rejected,
                        OccurrenceState::Late,
                        OccurrenceState::Accepted,
                    ][(i + k) % 4];
                }
            }
            out.push(b);
        }
        out
    }

    #[test]
    fn a_plan_gives_the_engines_deadlines_on_every_day_of_its_window() {
        let ladders = ReminderLadders::default();
        let mut checked = 0;
        for a in plan_cases() {
            let mut day = d("2019-01-05");
            while day <= d("2032-12-31") {
                let p = plan(&a, day);
                assert!(p.valid_on(day), "{} planned on {day}: {p:?}", a.reference);
                let mut probes: Vec<NaiveDate> =
                    (-40..40).map(|k| day + Duration::days(k * 13)).collect();
                probes.extend(p.valid_from);
                probes.extend(p.valid_until.and_then(|u| u.pred_opt()));
                for t in probes.into_iter().filter(|t| p.valid_on(*t)) {
                    let mut want = deadlines_for_calendar(&a, t, &ladders);
                    for w in &mut want {
                        w.reminders.clear();
                    }
                    let got: Vec<Deadline> = p.deadlines.iter().cloned().map(|x| x.on(t)).collect();
                    assert_eq!(got, want, "{} planned on {day}, seen on {t}", a.reference);
                    checked += 1;
                }
                day += Duration::days(97);
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn every_recipient_of_every_day_is_in_the_calendar_index() {
        let ladders = ReminderLadders::default();
        for a in plan_cases() {
            let index = deadline_contacts(&a);
            let mut day = d("2019-01-05");
            while day <= d("2032-12-31") {
                for x in deadlines(&a, day, &ladders) {
                    let all = x.recipients.to.iter().chain(&x.recipients.cc);
                    let reminded = x
                        .reminders
                        .iter()
                        .flat_map(|r| r.recipients.to.iter().chain(&r.recipients.cc));
                    for e in all.chain(reminded) {
                        assert!(index.contains(e), "{} on {day}: {e}", a.reference);
                    }
                }
                day += Duration::days(61);
            }
        }
    }

    #[test]
    fn the_sweep_variant_gives_the_same_due_reminders_on_every_day() {
        let ladders = ReminderLadders::default();
        let all = samples();
        let mut day = d("2026-01-01");
        while day <= d("2027-12-31") {
            for a in &all {
                let full = due_reminders(&deadlines(a, day, &ladders), day, &ladders);
                let lean = deadlines_for_sweep(a, day, &ladders);
                assert_eq!(
                    due_reminders(&lean, day, &ladders),
                    full,
                    "{} on {day}",
                    a.reference
                );
                // Leaving out the spent report occurrences moves no next sweep day.
                let calendar = deadlines_for_calendar(a, day, &ladders);
                assert_eq!(
                    next_sweep_day(&lean, day),
                    next_sweep_day(&calendar, day),
                    "next sweep day of {} on {day}",
                    a.reference
                );
                assert_eq!(
                    due_reminders(&calendar, day, &ladders),
                    full,
                    "{} on {day} (calendar)",
                    a.reference
                );
            }
            day = days_after(day, 1);
        }
    }

    /// Sweeps every sample on `days` twice, once reading every agreement and once only those whose
    /// [`next_sweep_day`] has come (an edit clears it); `edit` may change an agreement before a
    /// day's sweep. Returns, per day, the keys the full sweep queued for the first time.
    fn indexed_sweep_matches_full_sweep(
        agreements: Vec<Agreement>,
        days: &[NaiveDate],
        edit: impl Fn(&mut Agreement, NaiveDate) -> bool,
    ) -> usize {
        use std::collections::HashSet;
        let ladders = ReminderLadders::default();
        let mut full_agreements = agreements.clone();
        let mut idx_agreements = agreements;
        let mut next: Vec<Option<Option<NaiveDate>>> = vec![None; idx_agreements.len()];
        let (mut full, mut indexed) = (HashSet::new(), HashSet::new());
        let mut new_keys = 0;
        for &day in days {
            for (i, a) in full_agreements.iter_mut().enumerate() {
                if edit(a, day) {
                    edit(&mut idx_agreements[i], day);
                    next[i] = None;
                }
                for r in due_reminders(&deadlines_for_sweep(a, day, &ladders), day, &ladders) {
                    if full.insert(r.key) {
                        new_keys += 1;
                    }
                }
            }
            for (i, a) in idx_agreements.iter().enumerate() {
                let read = match next[i] {
                    None => true,
                    Some(n) => n.is_some_and(|n| n <= day),
                };
                if read {
                    let found = deadlines_for_sweep(a, day, &ladders);
                    indexed.extend(
                        due_reminders(&found, day, &ladders)
                            .into_iter()
                            .map(|r| r.key),
                    );
                    next[i] = Some(next_sweep_day(&found, day));
                }
            }
            let mut missing: Vec<_> = full.symmetric_difference(&indexed).collect();
            missing.sort();
            assert!(missing.is_empty(), "on {day}: {missing:?}");
        }
        new_keys
    }

    fn every_day(from: &str, to: &str, step: i64) -> Vec<NaiveDate> {
        let mut v = Vec::new();
        let mut day = d(from);
        while day <= d(to) {
            v.push(day);
            day = days_after(day, step);
        }
        v
    }

    #[test]
    fn a_sweep_reading_only_agreements_whose_day_has_come_queues_what_a_full_sweep_does() {
        let n = indexed_sweep_matches_full_sweep(
            samples(),
            &every_day("2026-01-01", "2027-12-31", 1),
            |_, _| false,
        );
        assert!(n > 50, "only {n} reminders: the samples should give many");
        // A sweep that misses days catches up the same way.
        indexed_sweep_matches_full_sweep(
            samples(),
            &every_day("2026-01-01", "2027-12-31", 5),
            |_, _| false,
        );
        indexed_sweep_matches_full_sweep(
            samples(),
            &every_day("2026-01-01", "2027-12-31", 45),
            |_, _| false,
        );
    }

    #[test]
    fn the_indexed_sweep_reads_a_tacitly_renewed_agreement_again_when_its_term_rolls() {
        let mut a = sample("AGR-2026-0009");
        assert!(a.tacit_renewal.is_some());
        a.reporting.clear();
        a.options.clear();
        a.renewal_dialogue = None;
        a.termination = None;
        indexed_sweep_matches_full_sweep(
            vec![a],
            &every_day("2026-01-01", "2029-12-31", 1),
            |_, _| false,
        );
    }

    #[test]
    fn the_indexed_sweep_follows_edits_that_move_dates_submit_reports_and_give_notice() {
        let edit = |a: &mut Agreement, day: NaiveDate| -> bool {
            let mut changed = false;
            if day == d("2026-03-10") {
                // Move every option's decide-by date later: re-armed under new keys.
                for o in &mut a.options {
                    o.decide_by = Some(d("2027-02-15"));
                    changed = true;
                }
                if let Some(r) = &mut a.tacit_renewal {
                    r.notice_months += 1;
                    changed = true;
                }
            }
            if day == d("2026-07-01") {
                // Submit every report that is late or escalated: its notices stop.
                let ladders = ReminderLadders::default();
                let late: Vec<(String, NaiveDate)> = deadlines(a, day, &ladders)
                    .into_iter()
                    .filter_map(|x| x.report)
                    .filter(|o| {
                        matches!(o.state, OccurrenceState::Late | OccurrenceState::Escalated)
                    })
                    .map(|o| (o.kind, o.period_end))
                    .collect();
                for (kind, period_end) in late {
                    if let Some(ob) = a.reporting.iter_mut().find(|ob| ob.kind == kind) {
                        ob.occurrences.retain(|r| r.period_end != period_end);
                        ob.occurrences.push(OccurrenceRecord {
                            period_end,
                            state: OccurrenceState::Submitted,
                            submitted_on: Some(day),
                            escalated_on: None,
                            ..OccurrenceRecord::open(period_end)
                        });
                        changed = true;
                    }
                }
            }
            if day == d("2026-10-01") {
                // Shorten every running agreement: the end and the final reports move earlier.
                if a.period.current_end > d("2027-03-31") {
                    a.period.current_end = d("2027-03-31");
                    changed = true;
                }
            }
            changed
        };
        indexed_sweep_matches_full_sweep(
            samples(),
            &every_day("2026-01-01", "2027-12-31", 1),
            edit,
        );
        indexed_sweep_matches_full_sweep(
            samples(),
            &every_day("2026-01-01", "2027-12-31", 3),
            edit,
        );
    }

    #[test]
    fn all_fifteen_samples_parse() {
        assert_eq!(samples().len(), 15);
    }

    #[test]
    fn renewal_dialogue_of_agr_2024_0003_is_due_2026_11_30() {
        let ds = on_sample_today("AGR-2024-0003");
        let x = find(&ds, DeadlineKind::RenewalDialogue, "2026-11-30");
        assert_eq!(x.state, DeadlineState::Open);
        assert_eq!(x.actor, Actor::ContractOwner);
        assert_eq!(x.recipients.to, vec![email("olof.lund@vasteras.example")]);
        assert_eq!(x.recipients.cc, vec![email("tove@cykelverkstan.example")]);
    }

    #[test]
    fn q3_report_of_agr_2025_0005_is_late_and_escalated_to_its_escalation_contact() {
        let ds = on_sample_today("AGR-2025-0005");
        let x = find(&ds, DeadlineKind::Report, "2026-10-20");
        let occ = x.report.clone().unwrap_or_else(|| panic!("not a report"));
        assert_eq!(occ.period_end, d("2026-09-30"));
        assert_eq!(occ.late_on, d("2026-10-30"));
        assert_eq!(occ.escalate_on, d("2026-11-13"));
        assert_eq!(occ.state, OccurrenceState::Escalated);
        assert_eq!(x.state, DeadlineState::Open);
        let due = due_reminders(&ds, d("2026-11-22"), &ReminderLadders::default());
        let r = due
            .iter()
            .find(|r| r.deadline == d("2026-10-20"))
            .unwrap_or_else(|| panic!("the Q3 report is not in {due:#?}"));
        assert_eq!(r.step, Step::Escalation);
        assert_eq!(r.actor, Actor::EscalationContact);
        assert_eq!(
            r.recipients.to,
            vec![email("sysselsattningskrav@malmo.example")]
        );
        assert!(
            r.recipients
                .cc
                .contains(&email("ahmed.yusuf@malmo.example"))
        );
    }

    #[test]
    fn option_of_agr_2025_0004_is_decided_by_2026_12_31() {
        let ds = on_sample_today("AGR-2025-0004");
        let options: Vec<&Deadline> = ds
            .iter()
            .filter(|x| x.kind == DeadlineKind::OptionDecision)
            .collect();
        assert_eq!(options.len(), 1, "only the next option is actionable");
        assert_eq!(options[0].date, d("2026-12-31"));
        assert_eq!(options[0].occurrence, "1@2026-12-31");
    }

    #[test]
    fn option_of_agr_2025_0013_due_on_a_sunday_gets_its_last_reminder_on_friday() {
        let ds = on_sample_today("AGR-2025-0013");
        let x = find(&ds, DeadlineKind::OptionDecision, "2027-01-31");
        let last = last_before(&x);
        assert_eq!(last.step, Step::Before(0));
        assert_eq!(last.date, d("2027-01-29"));
        let seven = x.reminders.iter().find(|r| r.step == Step::Before(7));
        assert_eq!(seven.map(|r| r.date), Some(d("2027-01-22")));
        assert_eq!(x.date, d("2027-01-31"), "the deadline itself never moves");
    }

    #[test]
    fn next_annual_report_of_agr_2025_0001_is_due_2027_03_31() {
        let ds = on_sample_today("AGR-2025-0001");
        let x = find(&ds, DeadlineKind::Report, "2027-03-31");
        let occ = x.report.unwrap_or_else(|| panic!("not a report"));
        assert_eq!(occ.kind, "annual_report");
        assert_eq!(occ.period_end, d("2026-12-31"));
        assert_eq!(occ.state, OccurrenceState::Upcoming);
        assert_eq!(x.actor, Actor::ReportingContact);
        assert_eq!(x.recipients.to, vec![email("leila@textilmakarna.example")]);
        assert!(
            x.recipients
                .cc
                .contains(&email("maria.lindqvist@farsta.stockholm.example"))
        );
    }

    #[test]
    fn tacit_renewal_of_agr_2026_0009_has_its_next_notice_deadline_2027_09_30() {
        let ds = on_sample_today("AGR-2026-0009");
        let x = find(&ds, DeadlineKind::RenewalNotice, "2027-09-30");
        assert_eq!(x.state, DeadlineState::Open);
        assert!(
            !ds.iter().any(|x| x.kind == DeadlineKind::End),
            "a renewing agreement does not end on its current end"
        );
        let report = find(&ds, DeadlineKind::Report, "2027-01-15");
        assert!(
            report
                .recipients
                .cc
                .contains(&email("forbundschef@samordning-ostra.example")),
            "the funder gets the reports it funds"
        );
    }

    #[test]
    fn notice_deadlines_count_from_the_current_term_after_a_renewal_passed_unrecorded() {
        let mut a = sample("AGR-2026-0009");
        // The stored end still says 2027-12-31, but on 2027-10-01 its notice deadline has passed.
        let ds = deadlines(&a, d("2027-10-01"), &ReminderLadders::default());
        find(&ds, DeadlineKind::RenewalNotice, "2028-09-30");
        if let Some(r) = a.tacit_renewal.as_mut() {
            r.max_renewals = Some(2);
            r.renewals_done = 1;
        }
        let ds = deadlines(&a, d("2027-10-01"), &ReminderLadders::default());
        assert!(!ds.iter().any(|x| x.kind == DeadlineKind::RenewalNotice));
        find(&ds, DeadlineKind::End, "2028-12-31");
    }

    #[test]
    fn final_report_of_the_terminated_agr_2024_0010_is_due_2026_12_15() {
        let ds = on_sample_today("AGR-2024-0010");
        let x = find(&ds, DeadlineKind::Report, "2026-12-15");
        assert_eq!(x.state, DeadlineState::Open);
        assert_eq!(
            x.report.map(|o| o.state),
            Some(OccurrenceState::Due),
            "a report stays due after the end"
        );
        assert!(
            ds.iter().all(|x| x.kind == DeadlineKind::Report),
            "a terminated agreement has only reports left"
        );
    }

    #[test]
    fn decide_by_on_new_years_eve_moves_the_last_reminder_to_2026_12_30() {
        let ds = on_sample_today("AGR-2025-0007");
        let x = find(&ds, DeadlineKind::OptionDecision, "2026-12-31");
        assert_eq!(last_before(&x).date, d("2026-12-30"));
    }

    #[test]
    fn drafts_and_cancelled_agreements_have_no_deadlines() {
        assert!(on_sample_today("AGR-2027-0012").is_empty());
        let mut a = sample("AGR-2025-0004");
        a.status = AgreementStatus::Cancelled;
        assert!(deadlines(&a, d("2026-11-22"), &ReminderLadders::default()).is_empty());
    }

    #[test]
    fn an_agreement_ladder_replaces_the_configured_one_for_options() {
        let mut a = sample("AGR-2025-0004");
        a.reminder_days = vec![10, 45];
        let ds = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        let x = find(&ds, DeadlineKind::OptionDecision, "2026-12-31");
        let steps: Vec<Step> = x.reminders.iter().map(|r| r.step).collect();
        assert_eq!(steps, vec![Step::Before(45), Step::Before(10)]);
    }

    #[test]
    fn documentation_is_due_30_days_after_signing_for_procurements_over_100_000_kr() {
        let mut a = sample("AGR-2026-0006");
        assert!(
            !on_sample_today("AGR-2026-0006")
                .iter()
                .any(|x| x.kind == DeadlineKind::Documentation),
            "no signing date, no documentation deadline"
        );
        a.signed_on = Some(d("2026-11-10"));
        let ds = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        let x = find(&ds, DeadlineKind::Documentation, "2026-12-10");
        assert_eq!(x.recipients.cc, Vec::<EmailAddress>::new());
        if let Some(v) = a.value.as_mut() {
            v.amount_sek = crate::domain::money::Sek::from_ore(100_000 * 100);
        }
        let ds = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        assert!(!ds.iter().any(|x| x.kind == DeadlineKind::Documentation));
    }

    #[test]
    fn recorded_report_states_are_kept_and_the_rest_derived_from_today() {
        let mut a = sample("AGR-2025-0005");
        let records = &mut a.reporting[0].occurrences;
        records.clear();
        records.push(OccurrenceRecord {
            period_end: d("2026-09-30"),
            state: OccurrenceState::Submitted,
            submitted_on: Some(d("2026-10-19")),
            escalated_on: None,
            ..OccurrenceRecord::open(d("2026-01-01"))
        });
        records.push(OccurrenceRecord {
            period_end: d("2026-06-30"),
            state: OccurrenceState::Rejected,
            submitted_on: Some(d("2026-07-19")),
            escalated_on: None,
            ..OccurrenceRecord::open(d("2026-01-01"))
        });
        let ds = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        let q3 = find(&ds, DeadlineKind::Report, "2026-10-20");
        assert_eq!(q3.state, DeadlineState::Met);
        assert!(q3.reminders.is_empty());
        let q2 = find(&ds, DeadlineKind::Report, "2026-07-20");
        assert_eq!(
            q2.state,
            DeadlineState::Open,
            "a rejected report is due again"
        );
        assert_eq!(q2.report.map(|o| o.state), Some(OccurrenceState::Escalated));
        let q4 = find(&ds, DeadlineKind::Report, "2027-01-20");
        assert_eq!(q4.report.map(|o| o.state), Some(OccurrenceState::Upcoming));
        let on_due = deadlines(&a, d("2027-01-05"), &ReminderLadders::default());
        let q4 = find(&on_due, DeadlineKind::Report, "2027-01-20");
        assert_eq!(q4.report.map(|o| o.state), Some(OccurrenceState::Due));
    }

    #[test]
    fn tertial_reports_fall_at_the_end_of_april_august_and_december() {
        let ends: Vec<NaiveDate> = on_sample_today("AGR-2026-0009")
            .iter()
            .filter_map(|x| x.report.as_ref().map(|o| o.period_end))
            .collect();
        let expected: Vec<NaiveDate> = [
            "2026-04-30",
            "2026-08-31",
            "2026-12-31",
            "2027-04-30",
            "2027-08-31",
            "2027-12-31",
        ]
        .into_iter()
        .map(d)
        .collect();
        assert_eq!(ends, expected);
    }

    #[test]
    fn editing_a_deadline_date_re_arms_its_reminders_under_new_keys() {
        let mut a = sample("AGR-2025-0004");
        let before = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        a.options[0].decide_by = Some(d("2027-01-15"));
        let after = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        let keys = |ds: &[Deadline]| -> Vec<String> {
            ds.iter()
                .filter(|x| x.kind == DeadlineKind::OptionDecision)
                .flat_map(|x| x.reminders.iter().map(|r| r.key.to_string()))
                .collect()
        };
        let (old, new) = (keys(&before), keys(&after));
        assert!(!old.is_empty() && !new.is_empty());
        assert!(old.iter().all(|k| !new.contains(k)), "{old:?} vs {new:?}");
        assert!(new.iter().all(|k| k.contains("@2027-01-15/")));
    }

    #[test]
    fn absurd_day_counts_in_the_data_do_not_panic() {
        let mut a = sample("AGR-2025-0005");
        a.reminder_days = vec![u32::MAX];
        for r in &mut a.reporting {
            r.due_offset_days = u32::MAX;
            r.grace_days = u32::MAX;
            r.escalation_days = u32::MAX;
        }
        let ladders = ReminderLadders {
            catch_up_days: u32::MAX,
            ..ReminderLadders::default()
        };
        let ds = deadlines(&a, d("2026-11-22"), &ladders);
        assert!(!ds.is_empty());
        let _ = due_reminders(&ds, d("2026-11-22"), &ladders);
    }

    #[test]
    fn a_report_period_containing_the_end_gives_a_shortened_final_report() {
        let mut a = sample("AGR-2025-0005");
        a.period.current_end = d("2027-02-15");
        let ds = deadlines(&a, d("2026-11-22"), &ReminderLadders::default());
        let last = ds
            .iter()
            .filter(|x| x.kind == DeadlineKind::Report)
            .max_by_key(|x| x.date)
            .and_then(|x| x.report.clone())
            .unwrap_or_else(|| panic!("no reports"));
        assert!(last.final_report);
        assert_eq!(last.period_end, d("2027-02-15"));
        assert_eq!(last.due, d("2027-03-07"));
    }

    #[test]
    fn steps_parse_back_from_their_codes() {
        for s in [
            Step::Before(0),
            Step::Before(90),
            Step::Late,
            Step::Escalation,
        ] {
            assert_eq!(Step::try_from(s.to_string()), Ok(s));
        }
        assert!(Step::try_from("x9".to_owned()).is_err());
    }

    #[test]
    fn a_sweep_sends_one_catch_up_reminder_per_deadline_not_the_whole_ladder() {
        let ds = on_sample_today("AGR-2025-0004");
        let due = due_reminders(&ds, d("2026-11-22"), &ReminderLadders::default());
        let options: Vec<&DueReminder> = due
            .iter()
            .filter(|r| r.kind == DeadlineKind::OptionDecision)
            .collect();
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].step, Step::Before(60));
        assert_eq!(
            options[0].date,
            d("2026-10-30"),
            "All Saints' Saturday and the Sunday before are skipped"
        );
        assert_eq!(
            options[0].key.to_string(),
            "AGR-2025-0004/option_decision/1@2026-12-31/d60"
        );
    }

    mod properties {
        use super::*;
        use crate::domain::dates::is_business_day;
        use proptest::prelude::*;

        fn date() -> impl Strategy<Value = NaiveDate> {
            (0i64..365 * 60).prop_map(|n| d("2000-01-01") + Duration::days(n))
        }

        /// A sample agreement with its dates and records shifted around.
        fn agreement() -> impl Strategy<Value = (Agreement, NaiveDate)> {
            let n = samples().len();
            (
                0..n,
                -400i64..400,
                0i64..1500,
                any::<u8>(),
                prop::collection::vec(0u32..120, 0..6),
            )
                .prop_map(|(i, shift, today_off, flags, ladder)| {
                    let mut a = samples().swap_remove(i);
                    let s = Duration::days(shift);
                    a.period.current_end += s;
                    a.period.original_end += s;
                    if flags & 1 == 1 {
                        a.status = AgreementStatus::Active;
                    }
                    if flags & 2 == 2 {
                        a.reminder_days = ladder;
                    }
                    if flags & 4 == 4 {
                        a.signed_on = Some(a.period.start);
                    }
                    for (k, o) in a.options.iter_mut().enumerate() {
                        if flags & 8 == 8 && k == 0 {
                            o.state = crate::domain::codes::OptionState::Exercised;
                        }
                    }
                    for r in &mut a.reporting {
                        if let Some(f) = r.first_period_end.as_mut() {
                            *f += s;
                        }
                    }
                    let today = a.period.start + Duration::days(today_off - 300);
                    (a, today)
                })
        }

        proptest! {
            #[test]
            fn reminders_land_on_business_days_and_never_after_their_deadline((a, today) in agreement()) {
                for x in deadlines(&a, today, &ReminderLadders::default()) {
                    for r in &x.reminders {
                        prop_assert!(is_business_day(r.date), "{} on {}", r.key, r.date);
                        if let Step::Before(days) = r.step {
                            prop_assert!(r.date <= x.date, "{} after {}", r.key, x.date);
                            prop_assert!(r.date <= r.nominal);
                            prop_assert_eq!(r.nominal, x.date - Duration::days(i64::from(days)));
                        } else {
                            prop_assert!(r.date >= r.nominal);
                        }
                    }
                }
            }

            #[test]
            fn the_sweep_variant_picks_and_schedules_as_the_full_engine((a, today) in agreement(), catch_up in 0u32..60, report in prop::collection::vec(0u32..120, 0..5)) {
                let mut ladders = ReminderLadders { catch_up_days: catch_up, ..ReminderLadders::default() };
                if !report.is_empty() {
                    ladders.report = report;
                }
                let sweep = deadlines_for_sweep(&a, today, &ladders);
                let full = deadlines(&a, today, &ladders);
                prop_assert!(sweep.len() <= full.len());
                prop_assert_eq!(due_reminders(&sweep, today, &ladders), due_reminders(&full, today, &ladders));
                prop_assert_eq!(next_sweep_day(&sweep, today), next_sweep_day(&deadlines_for_calendar(&a, today, &ladders), today));
            }

            #[test]
            fn dedupe_keys_are_unique_per_agreement((a, today) in agreement()) {
                let ds = deadlines(&a, today, &ReminderLadders::default());
                let mut keys: Vec<String> = ds.iter().flat_map(|x| x.reminders.iter().map(|r| r.key.to_string())).collect();
                let n = keys.len();
                keys.sort_unstable();
                keys.dedup();
                prop_assert_eq!(keys.len(), n);
                for k in keys {
                    prop_assert!(k.starts_with(a.reference.as_str()));
                }
            }

            #[test]
            fn reminder_keys_read_back_as_written((a, today) in agreement()) {
                for r in deadlines(&a, today, &ReminderLadders::default()).iter().flat_map(|x| &x.reminders) {
                    let text = r.key.to_string();
                    prop_assert_eq!(text.parse::<ReminderKey>(), Ok(r.key.clone()), "{}", text);
                    let json = serde_json::to_string(&r.key).unwrap_or_default();
                    prop_assert_eq!(json, serde_json::to_string(&text).unwrap_or_default());
                }
            }

            #[test]
            fn any_reminder_key_round_trips(
                reference in "[A-Z][A-Z0-9-]{2,20}",
                kind in 0usize..7,
                occurrence in "[a-z0-9_:@/ -]{0,30}",
                step in prop_oneof![(0u32..400).prop_map(Step::Before), Just(Step::Late), Just(Step::Escalation)],
            ) {
                let kinds = [
                    DeadlineKind::OptionDecision, DeadlineKind::RenewalNotice,
                    DeadlineKind::TerminationNotice, DeadlineKind::RenewalDialogue,
                    DeadlineKind::End, DeadlineKind::Documentation, DeadlineKind::Report,
                ];
                let key = ReminderKey {
                    reference: Reference::parse(&reference).map_err(|e| TestCaseError::fail(e.to_string()))?,
                    kind: kinds[kind],
                    occurrence,
                    step,
                };
                prop_assert_eq!(key.to_string().parse::<ReminderKey>(), Ok(key));
            }

            #[test]
            fn report_due_dates_are_period_end_plus_offset((a, today) in agreement()) {
                for x in deadlines(&a, today, &ReminderLadders::default()) {
                    if let Some(o) = &x.report {
                        let ob = a.reporting.iter().find(|r| r.kind == o.kind);
                        prop_assert!(ob.is_some());
                        if let Some(ob) = ob && ob.recurrence.interval_months().is_some() {
                            prop_assert_eq!(o.due, o.period_end + Duration::days(i64::from(ob.due_offset_days)));
                            prop_assert!(o.period_end <= a.period.current_end || !o.final_report);
                        }
                        prop_assert_eq!(x.date, o.due);
                        prop_assert!(o.late_on > o.due);
                        prop_assert!(o.escalate_on >= o.late_on);
                    }
                }
            }

            #[test]
            fn met_deadlines_have_no_reminders((mut a, today) in agreement(), submitted in any::<bool>()) {
                let before = deadlines(&a, today, &ReminderLadders::default());
                for r in &mut a.reporting {
                    let ends: Vec<NaiveDate> = before
                        .iter()
                        .filter_map(|x| x.report.as_ref())
                        .filter(|o| o.kind == r.kind)
                        .map(|o| o.period_end)
                        .collect();
                    r.occurrences = ends.into_iter().map(|period_end| OccurrenceRecord {
                        period_end,
                        state: if submitted { OccurrenceState::Submitted } else { OccurrenceState::Accepted },
                        submitted_on: None,
                        escalated_on: None,
                        ..OccurrenceRecord::open(period_end)
                    }).collect();
                }
                for o in &mut a.options {
                    o.state = crate::domain::codes::OptionState::Declined;
                }
                let ds = deadlines(&a, today, &ReminderLadders::default());
                prop_assert!(!ds.iter().any(|x| x.kind == DeadlineKind::OptionDecision));
                for x in &ds {
                    if x.kind == DeadlineKind::Report {
                        prop_assert_eq!(x.state, DeadlineState::Met);
                        prop_assert!(x.reminders.is_empty());
                    }
                }
                prop_assert!(due_reminders(&ds, today, &ReminderLadders::default()).iter().all(|r| r.kind != DeadlineKind::Report));
            }

            #[test]
            fn ladder_dates_are_business_days_in_step_order(day in date(), ladder in prop::collection::vec(0u32..200, 0..8)) {
                let v = ladder_dates(day, &ladder);
                for w in v.windows(2) {
                    prop_assert!(w[0].2 < w[1].2);
                    prop_assert!(w[0].0 > w[1].0);
                }
                for (_, nominal, sent) in v {
                    prop_assert!(is_business_day(sent));
                    prop_assert!(sent <= nominal && nominal <= day);
                }
            }
        }
    }
}
