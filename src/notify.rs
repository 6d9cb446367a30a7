//! The deadline sweep: loads every agreement, runs the pure deadline engine
//! (`domain::deadlines`) for one day and lists the reminders due that day, most urgent first.
//! Sending is not implemented yet: `avtal notify --dry-run` prints the plan and sends nothing.

use std::fmt::Write as _;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::db::store::{self, AgreementFilter, StoreError};
use crate::domain::deadlines::{
    Deadline, DeadlineState, DueReminder, ReminderLadders, deadlines, due_reminders,
};

/// What a sweep on one day would send.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The day swept.
    pub today: NaiveDate,
    /// Agreements read.
    pub agreements: u64,
    /// Deadlines still open that day, over every agreement.
    pub open_deadlines: usize,
    /// Reminders due that day, most urgent deadline first.
    pub reminders: Vec<DueReminder>,
    /// Every deadline of every agreement (not serialised; for callers that want more than the reminders).
    #[serde(skip)]
    pub deadlines: Vec<Deadline>,
}

/// Output formats of `avtal notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyFormat {
    /// One block per reminder, for people.
    Text,
    /// The plan as JSON.
    Json,
}

/// Reads every agreement and works out the reminders due on `today`.
pub async fn plan(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Result<Plan, StoreError> {
    let mut all = Vec::new();
    let agreements = store::for_each_agreement(db, &AgreementFilter::default(), 500, |a| {
        all.extend(deadlines(&a.data, today, ladders));
        Ok(())
    })
    .await?;
    let reminders = due_reminders(&all, today, ladders);
    Ok(Plan {
        today,
        agreements,
        open_deadlines: all
            .iter()
            .filter(|d| d.state == DeadlineState::Open)
            .count(),
        reminders,
        deadlines: all,
    })
}

/// The plan as text: a summary line, then one block per reminder saying what, when, why and to whom.
pub fn render_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} reminder(s) due on {} ({} agreements, {} open deadlines); dry run, nothing was sent",
        plan.reminders.len(),
        plan.today,
        plan.agreements,
        plan.open_deadlines
    );
    for r in &plan.reminders {
        let state = r
            .report_state
            .map(|st| format!(" [{st}]"))
            .unwrap_or_default();
        let join = |v: &[crate::domain::party::EmailAddress]| {
            v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(
            s,
            "\n{} {} {}: {}{}",
            r.reference, r.kind, r.deadline, r.what, state
        );
        let _ = writeln!(
            s,
            "  step {} planned for {}; {} acts",
            r.step,
            r.date,
            serde_json::to_value(r.actor)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
        if r.recipients.to.is_empty() {
            let _ = writeln!(
                s,
                "  to: nobody: register a contract owner for {}",
                r.reference
            );
        } else {
            let _ = writeln!(s, "  to: {}", join(&r.recipients.to));
        }
        if !r.recipients.cc.is_empty() {
            let _ = writeln!(s, "  cc: {}", join(&r.recipients.cc));
        }
        let _ = writeln!(s, "  key: {}", r.key);
    }
    s
}
