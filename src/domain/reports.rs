//! Report occurrences moved by people: find one occurrence of an agreement's reporting duty and
//! hand it in, accept it, reject it (it is due again under the same dates), or record that a
//! reminder about it was acknowledged.
//!
//! Like [`super::actions`], each command changes the aggregate in memory and says what it did;
//! the caller validates and stores the result in one transaction, or stores nothing.

use chrono::NaiveDate;
use serde::Serialize;

use super::agreement::{Agreement, OccurrenceRecord};
use super::codes::OccurrenceState;
use super::deadlines::{DeadlineKind, ReminderLadders, ReportOccurrence, deadlines};
use super::outcomes::{self, Figure};
use super::party::Violation;

/// What a person can do with one report occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Hand the report in (with or without a file).
    Submit,
    /// Accept a handed-in report: the occurrence is closed.
    Accept,
    /// Reject a handed-in report: it is due again under the same dates.
    Reject,
    /// Confirm that a reminder about it arrived.
    Acknowledge,
}

impl ReportAction {
    /// The action's name in the API (`submit-report`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Self::Submit => "submit-report",
            Self::Accept => "accept-report",
            Self::Reject => "reject-report",
            Self::Acknowledge => "acknowledge-report",
        }
    }
}

/// The actions allowed on an occurrence in `state`.
pub fn allowed_actions(state: OccurrenceState) -> &'static [ReportAction] {
    use OccurrenceState::*;
    match state {
        Upcoming | Due | Rejected | Late | Escalated => {
            &[ReportAction::Submit, ReportAction::Acknowledge]
        }
        Submitted => &[ReportAction::Accept, ReportAction::Reject],
        Accepted => &[],
    }
}

/// Whether an occurrence in `state` is closed: handed in or accepted, so no reminders go out.
pub fn is_closed(state: OccurrenceState) -> bool {
    matches!(
        state,
        OccurrenceState::Submitted | OccurrenceState::Accepted
    )
}

/// One occurrence of a reporting duty, as the deadline engine sees it on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundOccurrence {
    /// Index of the obligation in `agreement.reporting`.
    pub obligation: usize,
    /// The report's label: its kind, or `kind#N` when two duties share a kind.
    pub label: String,
    /// Dates and state on the day.
    pub occurrence: ReportOccurrence,
}

/// The label of each reporting duty, as dedupe keys and links name it: the kind, or `kind#N`
/// (N from 1) when the agreement has two duties of the same kind.
pub fn labels(a: &Agreement) -> Vec<String> {
    a.reporting
        .iter()
        .enumerate()
        .map(|(i, ob)| {
            let shared = a
                .reporting
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.kind == ob.kind);
            if shared {
                format!("{}#{}", ob.kind, i + 1)
            } else {
                ob.kind.clone()
            }
        })
        .collect()
}

/// Finds the occurrence of report `label` whose period ends on `period_end`, with its state on
/// `today`; a violation names what exists instead.
pub fn find(
    a: &Agreement,
    label: &str,
    period_end: NaiveDate,
    today: NaiveDate,
) -> Result<FoundOccurrence, Violation> {
    let all = labels(a);
    let Some(obligation) = all.iter().position(|l| l == label) else {
        let list = if all.is_empty() {
            "none".to_owned()
        } else {
            all.join(", ")
        };
        return Err(Violation::new(
            "report",
            label,
            "report_exists",
            format!("the agreement has no report {label}; its reports: {list}"),
        ));
    };
    let prefix = format!("{label}:{period_end}@");
    let mut periods = Vec::new();
    for d in deadlines(a, today, &ReminderLadders::default()) {
        if d.kind != DeadlineKind::Report || !d.occurrence.starts_with(&format!("{label}:")) {
            continue;
        }
        let Some(occurrence) = d.report else {
            continue;
        };
        if d.occurrence.starts_with(&prefix) {
            return Ok(FoundOccurrence {
                obligation,
                label: label.to_owned(),
                occurrence,
            });
        }
        periods.push(occurrence.period_end.to_string());
    }
    let hint = match periods.len() {
        0 => "it has none (the agreement is not in force, or the report has no dates)".to_owned(),
        n if n > 12 => format!("the latest: {}", periods[n - 12..].join(", ")),
        _ => periods.join(", "),
    };
    Err(Violation::new(
        "period_end",
        period_end,
        "report_occurrence",
        format!("report {label} has no period ending {period_end}; periods: {hint}"),
    ))
}

/// Refuses a date after `today`: a report cannot be handed in or decided on in the future.
fn not_in_future(field: &str, on: NaiveDate, today: NaiveDate) -> Result<(), Violation> {
    if on > today {
        return Err(Violation::new(
            field,
            on,
            "not_in_future",
            format!("{field} cannot be later than today ({today})"),
        ));
    }
    Ok(())
}

/// Refuses a decision dated before the report was handed in.
fn decided_after_submission(
    a: &Agreement,
    found: &FoundOccurrence,
    on: NaiveDate,
) -> Result<(), Violation> {
    let submitted = a
        .reporting
        .get(found.obligation)
        .and_then(|ob| {
            ob.occurrences
                .iter()
                .find(|r| r.period_end == found.occurrence.period_end)
        })
        .and_then(|r| r.submitted_on);
    match submitted {
        Some(s) if on < s => Err(Violation::new(
            "decided_on",
            on,
            "decided_after_submission",
            format!("the report was handed in on {s}; it cannot be decided on before that"),
        )),
        _ => Ok(()),
    }
}

/// Applies `action` to the occurrence if its state allows it, through `change` on its record
/// (created when none is stored yet). Returns the occurrence as found before the change.
fn apply(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    today: NaiveDate,
    action: ReportAction,
    change: impl FnOnce(&mut OccurrenceRecord),
) -> Result<FoundOccurrence, Violation> {
    let found = find(a, label, period_end, today)?;
    let state = found.occurrence.state;
    let allowed = allowed_actions(state);
    if !allowed.contains(&action) {
        let list = if allowed.is_empty() {
            "none (the report is accepted)".to_owned()
        } else {
            allowed
                .iter()
                .map(|x| x.code())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Violation::new(
            "state",
            state,
            "report_state_transition",
            format!(
                "{} is not possible on report {label} for the period ending {period_end}: it is {state}; allowed: {list}",
                action.code()
            ),
        ));
    }
    let ob = &mut a.reporting[found.obligation];
    let pe = found.occurrence.period_end;
    let index = match ob.occurrences.iter().position(|r| r.period_end == pe) {
        Some(i) => i,
        None => {
            ob.occurrences.push(OccurrenceRecord::open(pe));
            ob.occurrences.sort_by_key(|r| r.period_end);
            ob.occurrences
                .iter()
                .position(|r| r.period_end == pe)
                .unwrap_or_default()
        }
    };
    change(&mut ob.occurrences[index]);
    Ok(found)
}

/// Hands in the report for one occurrence on `on`, with the SHA-256 of its file if one was
/// uploaded: the occurrence is `submitted` and gets no more reminders.
pub fn submit(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    on: NaiveDate,
    today: NaiveDate,
    file_sha256: Option<String>,
) -> Result<FoundOccurrence, Violation> {
    not_in_future("submitted_on", on, today)?;
    apply(a, label, period_end, today, ReportAction::Submit, |r| {
        outcomes::record_figures(r, Vec::new());
        r.state = OccurrenceState::Submitted;
        r.submitted_on = Some(on);
        r.decided_on = None;
        r.rejection_reason = None;
        r.file_sha256 = file_sha256;
    })
}

/// Hands in the report of one occurrence on `on` with its figures (and the SHA-256 of a file,
/// if one came with them): the figures must pass [`outcomes::submission_rules`], every problem
/// reported at once; figures rejected before are kept in the record's history.
#[expect(
    clippy::too_many_arguments,
    reason = "one command with the occurrence's coordinates"
)]
pub fn submit_with_figures(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    on: NaiveDate,
    today: NaiveDate,
    file_sha256: Option<String>,
    figures: Vec<Figure>,
    confirmed: bool,
) -> Result<FoundOccurrence, Vec<Violation>> {
    not_in_future("submitted_on", on, today).map_err(|v| vec![v])?;
    let found = find(a, label, period_end, today).map_err(|v| vec![v])?;
    let problems = outcomes::submission_rules(
        a,
        found.obligation,
        found.occurrence.period_end,
        &figures,
        confirmed,
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    apply(a, label, period_end, today, ReportAction::Submit, |r| {
        outcomes::record_figures(r, figures);
        r.state = OccurrenceState::Submitted;
        r.submitted_on = Some(on);
        r.decided_on = None;
        r.rejection_reason = None;
        r.file_sha256 = file_sha256;
    })
    .map_err(|v| vec![v])
}

/// Corrects the figures of a report already handed in (submitted or accepted): the figures
/// must pass [`outcomes::submission_rules`] as on hand-in; the state and its dates stay. An
/// open occurrence is handed in instead ([`submit_with_figures`]).
pub fn correct_figures(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    today: NaiveDate,
    figures: Vec<Figure>,
    confirmed: bool,
) -> Result<FoundOccurrence, Vec<Violation>> {
    let found = find(a, label, period_end, today).map_err(|v| vec![v])?;
    let state = found.occurrence.state;
    if !is_closed(state) {
        return Err(vec![Violation::new(
            "state",
            state,
            "report_state_transition",
            format!(
                "the figures of report {label} for the period ending {period_end} can be corrected once it is handed in; it is {state}: hand it in (submit-report)"
            ),
        )]);
    }
    let problems = outcomes::submission_rules(
        a,
        found.obligation,
        found.occurrence.period_end,
        &figures,
        confirmed,
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    let pe = found.occurrence.period_end;
    if let Some(r) = a.reporting[found.obligation]
        .occurrences
        .iter_mut()
        .find(|r| r.period_end == pe)
    {
        r.figures = figures;
    }
    Ok(found)
}

/// Accepts the handed-in report of one occurrence on `on`: it is closed.
pub fn accept(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<FoundOccurrence, Violation> {
    not_in_future("decided_on", on, today)?;
    let found = find(a, label, period_end, today)?;
    decided_after_submission(a, &found, on)?;
    apply(a, label, period_end, today, ReportAction::Accept, |r| {
        r.state = OccurrenceState::Accepted;
        r.decided_on = Some(on);
    })
}

/// Rejects the handed-in report of one occurrence on `on` for `reason`: it is due again under
/// the same dates (late or escalated if those have passed), and its reminders start again.
pub fn reject(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    on: NaiveDate,
    reason: &str,
    today: NaiveDate,
) -> Result<FoundOccurrence, Violation> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Violation::new(
            "reason",
            "",
            "required",
            "a rejected report needs a reason the reporter can act on",
        ));
    }
    not_in_future("decided_on", on, today)?;
    let found = find(a, label, period_end, today)?;
    decided_after_submission(a, &found, on)?;
    apply(a, label, period_end, today, ReportAction::Reject, |r| {
        r.state = OccurrenceState::Rejected;
        r.decided_on = Some(on);
        r.rejection_reason = Some(reason.to_owned());
    })
}

/// Records that a reminder about an open occurrence was acknowledged on `on`. The state does not
/// change: the reminders go on until the report is handed in.
pub fn acknowledge(
    a: &mut Agreement,
    label: &str,
    period_end: NaiveDate,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<FoundOccurrence, Violation> {
    apply(
        a,
        label,
        period_end,
        today,
        ReportAction::Acknowledge,
        |r| {
            r.acknowledged_on = Some(on);
        },
    )
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

    const Q3: &str = "2026-09-30";
    const KIND: &str = "social_clause_report";

    fn state(a: &Agreement, pe: &str) -> OccurrenceState {
        find(a, KIND, d(pe), d("2026-11-22"))
            .map(|f| f.occurrence.state)
            .unwrap_or_else(|v| panic!("{v}"))
    }

    #[test]
    fn a_report_goes_from_escalated_to_submitted_to_rejected_and_is_escalated_again() {
        let today = d("2026-11-22");
        let mut a = sample("AGR-2025-0005");
        assert_eq!(state(&a, Q3), OccurrenceState::Escalated);
        submit(&mut a, KIND, d(Q3), today, today, Some("ab".repeat(32)))
            .unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(state(&a, Q3), OccurrenceState::Submitted);
        reject(&mut a, KIND, d(Q3), today, "Siffrorna saknas", today)
            .unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(
            state(&a, Q3),
            OccurrenceState::Escalated,
            "due again under the same dates, which have passed"
        );
        let q3 = |a: &Agreement| {
            a.reporting[0]
                .occurrences
                .iter()
                .filter(|r| r.period_end == d(Q3))
                .cloned()
                .collect::<Vec<_>>()
        };
        let rec = &q3(&a)[0];
        assert_eq!(rec.state, OccurrenceState::Rejected);
        assert_eq!(rec.rejection_reason.as_deref(), Some("Siffrorna saknas"));
        submit(&mut a, KIND, d(Q3), today, today, None).unwrap_or_else(|v| panic!("{v}"));
        accept(&mut a, KIND, d(Q3), today, today).unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(state(&a, Q3), OccurrenceState::Accepted);
        assert_eq!(q3(&a).len(), 1, "one record per period");
    }

    #[test]
    fn figures_are_corrected_only_once_handed_in_and_keep_the_state() {
        let today = d("2026-11-22");
        let mut a = sample("AGR-2025-0001");
        let label = "participant_statistics";
        let figure = |w: i64, m: i64| Figure {
            indicator: crate::domain::indicators::IndicatorId::parse("participants")
                .unwrap_or_else(|e| panic!("{e}")),
            total: crate::domain::indicators::Quantity::whole(w + m),
            women: Some(crate::domain::indicators::Quantity::whole(w)),
            men: Some(crate::domain::indicators::Quantity::whole(m)),
            other: Some(crate::domain::indicators::Quantity::ZERO),
        };
        a.reporting[0].indicators = vec![figure(0, 0).indicator];
        let open = correct_figures(
            &mut a,
            label,
            d("2026-12-31"),
            today,
            vec![figure(3, 3)],
            false,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            open.first().map(|v| v.rule),
            Some("report_state_transition")
        );
        let before = a.reporting[0].occurrences.clone();
        let bad = correct_figures(&mut a, label, d("2026-06-30"), today, vec![], false)
            .err()
            .unwrap_or_default();
        assert_eq!(bad.first().map(|v| v.rule), Some("figure_required"));
        assert_eq!(
            a.reporting[0].occurrences, before,
            "a refusal changes nothing"
        );
        correct_figures(
            &mut a,
            label,
            d("2026-06-30"),
            today,
            vec![figure(2, 4)],
            false,
        )
        .unwrap_or_else(|v| panic!("{v:?}"));
        let rec = a.reporting[0]
            .occurrences
            .iter()
            .find(|r| r.period_end == d("2026-06-30"))
            .cloned()
            .unwrap_or_else(|| panic!("no record"));
        assert_eq!(rec.state, OccurrenceState::Accepted);
        assert_eq!(rec.figures, vec![figure(2, 4)]);
    }

    #[test]
    fn illegal_moves_are_refused_listing_the_allowed_ones_and_change_nothing() {
        let today = d("2026-11-22");
        let mut a = sample("AGR-2025-0005");
        let before = a.clone();
        let v = accept(&mut a, KIND, d(Q3), today, today).err();
        let v = v.unwrap_or_else(|| panic!("accepting a missing report passed"));
        assert_eq!(v.rule, "report_state_transition");
        assert!(
            v.message.contains("submit-report, acknowledge-report"),
            "{}",
            v.message
        );
        assert_eq!(a, before);
        submit(&mut a, KIND, d(Q3), today, today, None).unwrap_or_else(|v| panic!("{v}"));
        let again = submit(&mut a, KIND, d(Q3), today, today, None).err();
        assert_eq!(again.map(|v| v.rule), Some("report_state_transition"));
        let no_reason = reject(&mut a, KIND, d(Q3), today, "  ", today).err();
        assert_eq!(no_reason.map(|v| v.rule), Some("required"));
    }

    #[test]
    fn dates_in_the_future_or_before_the_hand_in_are_refused() {
        let today = d("2026-11-22");
        let mut a = sample("AGR-2025-0005");
        let v = submit(&mut a, KIND, d(Q3), d("2026-11-23"), today, None).err();
        assert_eq!(v.map(|v| v.rule), Some("not_in_future"));
        submit(&mut a, KIND, d(Q3), d("2026-11-20"), today, None).unwrap_or_else(|v| panic!("{v}"));
        let v = accept(&mut a, KIND, d(Q3), d("2026-11-19"), today).err();
        assert_eq!(v.map(|v| v.rule), Some("decided_after_submission"));
        let v = reject(&mut a, KIND, d(Q3), d("2026-11-30"), "x", today).err();
        assert_eq!(v.map(|v| v.rule), Some("not_in_future"));
    }

    #[test]
    fn an_unknown_report_or_period_names_what_exists() {
        let today = d("2026-11-22");
        let a = sample("AGR-2025-0005");
        let v = find(&a, "annual_report", d(Q3), today).err();
        let v = v.unwrap_or_else(|| panic!("found an unknown report"));
        assert_eq!(v.rule, "report_exists");
        assert!(v.message.contains(KIND), "{}", v.message);
        let v = find(&a, KIND, d("2026-09-29"), today).err();
        let v = v.unwrap_or_else(|| panic!("found an unknown period"));
        assert_eq!(v.rule, "report_occurrence");
        assert!(v.message.contains(Q3), "{}", v.message);
    }

    #[test]
    fn acknowledging_records_the_day_and_keeps_the_state() {
        let today = d("2026-11-22");
        let mut a = sample("AGR-2025-0005");
        acknowledge(&mut a, KIND, d("2026-12-31"), today, today).unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(state(&a, "2026-12-31"), OccurrenceState::Upcoming);
        let rec = a.reporting[0]
            .occurrences
            .iter()
            .find(|r| r.period_end == d("2026-12-31"));
        assert_eq!(rec.and_then(|r| r.acknowledged_on), Some(today));
    }

    #[test]
    fn two_duties_of_one_kind_are_told_apart_by_their_number() {
        let mut a = sample("AGR-2025-0005");
        let copy = a.reporting[0].clone();
        a.reporting.push(copy);
        assert_eq!(labels(&a), vec![format!("{KIND}#1"), format!("{KIND}#2")]);
        let f = find(&a, &format!("{KIND}#2"), d(Q3), d("2026-11-22"));
        assert_eq!(f.map(|f| f.obligation), Ok(1));
    }
}
