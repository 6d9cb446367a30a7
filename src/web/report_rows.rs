//! The report section of the agreement page: one row per report occurrence with its state,
//! handed-in file and the forms the user gets.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::access::{Principal, Role};
use crate::domain::agreement::Agreement;
use crate::domain::codes::OccurrenceState;
use crate::domain::deadlines::Deadline;
use crate::domain::reports;
use crate::registry::ReportFileMeta;

/// The path of one occurrence under `/agreements/{reference}/reports/`.
fn occurrence_path(reference: &str, label: &str, period_end: NaiveDate) -> String {
    format!(
        "/agreements/{reference}/reports/{}/{period_end}",
        form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>()
    )
}

/// Whether `user` is an enterprise user of the organisation that hands in report `label` of `a`.
pub fn reports_for(user: &Principal, a: &Agreement, label: &str) -> bool {
    if user.role != Role::Enterprise {
        return false;
    }
    let Some(org) = &user.org else {
        return false;
    };
    reports::labels(a)
        .iter()
        .position(|l| l == label)
        .and_then(|i| a.reporting.get(i))
        .is_some_and(|ob| &ob.responsible == org)
}

/// One row per report occurrence of the agreement's deadlines, oldest first: state, dates, the
/// latest handed-in file, and which forms the user gets (an enterprise user: every open
/// occurrence that is due or overdue, and the next upcoming one).
pub fn rows(
    user: &Principal,
    a: &Agreement,
    deadlines: &[Deadline],
    files: &[ReportFileMeta],
) -> Vec<Value> {
    let labels = reports::labels(a);
    let may_edit = user.may_edit(a);
    let mut out = Vec::new();
    // Of each report's occurrences still to come, only the next one takes a report early.
    let mut upcoming_offered = std::collections::HashSet::new();
    for d in deadlines {
        let Some(r) = &d.report else { continue };
        let label = d
            .occurrence
            .split_once(':')
            .map_or(r.kind.as_str(), |(l, _)| l);
        let obligation = labels
            .iter()
            .position(|l| l == label)
            .and_then(|i| a.reporting.get(i));
        let record =
            obligation.and_then(|ob| ob.occurrences.iter().find(|x| x.period_end == r.period_end));
        let carries = obligation.is_some_and(|ob| !ob.indicators.is_empty());
        // Files come newest first: the first match is the latest.
        let file = files
            .iter()
            .find(|f| f.report == label && f.period_end == r.period_end);
        let path = occurrence_path(a.reference.as_str(), label, r.period_end);
        let mut open = !reports::is_closed(r.state);
        if r.state == OccurrenceState::Upcoming {
            open &= upcoming_offered.insert(label.to_owned());
        }
        out.push(json!({
            "label": label,
            "kind": r.kind,
            "period_end": r.period_end,
            "due": r.due,
            "final_report": r.final_report,
            "state": r.state,
            "submitted_on": record.and_then(|x| x.submitted_on),
            "decided_on": record.and_then(|x| x.decided_on),
            "acknowledged_on": record.and_then(|x| x.acknowledged_on),
            "rejection_reason": record.and_then(|x| x.rejection_reason.clone()),
            "file": file.map(|f| json!({
                "name": f.file_name, "sha256": f.sha256, "size": f.size_bytes,
                "href": format!("{path}/file"),
            })),
            "path": path,
            "can_decide": may_edit && r.state == OccurrenceState::Submitted,
            "can_hand_in": open && reports_for(user, a, label),
            "carries_figures": carries,
            "figures": record.map_or(0, |x| x.figures.len()),
            // The figures page: the officer enters them (or corrects them once handed in).
            "can_enter_figures": carries && may_edit && (open || reports::is_closed(r.state)),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadlines::{ReminderLadders, deadlines};
    use crate::domain::org_number::OrgNumber;

    fn sample(reference: &str) -> Agreement {
        crate::samples::EXAMPLES
            .iter()
            .filter_map(|(name, text)| crate::format::parse_file(name, text).ok())
            .flat_map(|f| f.agreements)
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    fn user(role: Role, org: Option<&str>) -> Principal {
        Principal {
            user_id: 7,
            email: "x@example.se".into(),
            role,
            org: org.map(|o| OrgNumber::parse(o).unwrap_or_else(|e| panic!("{e}"))),
        }
    }

    fn count(rows: &[Value], key: &str) -> usize {
        rows.iter().filter(|r| r[key] == true).count()
    }

    #[test]
    fn the_reporting_enterprise_gets_forms_for_overdue_occurrences_and_the_next_one_only() {
        let a = sample("AGR-2025-0005");
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let ds = deadlines(&a, today, &ReminderLadders::default());
        let reporter = rows(&user(Role::Enterprise, Some("559990-0023")), &a, &ds, &[]);
        let overdue = reporter
            .iter()
            .filter(|r| r["state"] == "late" || r["state"] == "escalated")
            .count();
        assert!(overdue > 0);
        assert_eq!(count(&reporter, "can_hand_in"), overdue + 1);
        assert_eq!(count(&reporter, "can_decide"), 0);
        // The buyer's officer and another enterprise get no upload forms.
        let officer = rows(&user(Role::Officer, Some("212900-0044")), &a, &ds, &[]);
        assert_eq!(count(&officer, "can_hand_in"), 0);
        let other = rows(&user(Role::Enterprise, Some("769990-0051")), &a, &ds, &[]);
        assert_eq!(count(&other, "can_hand_in"), 0);
    }
}
