//! The agreement's clock: the one pure function every view reads an agreement's dates from.
//!
//! [`state_on`] computes, for a stored agreement and a day, the current term after every tacit
//! renewal that has taken effect by then, whether the agreement is in force, the next notice
//! deadlines, the options' decide-by dates and states, the end a notice would give, and warnings.
//! [`apply_renewals`] is the same rule as a transformation: it moves the stored current end and
//! `renewals_done` for each renewal that has taken effect, and says what it did, so storage can
//! record one audit entry per renewal.
//!
//! The renewal rule (DOMAIN.md, tacit renewal): a renewal whose notice deadline (the current end
//! minus the notice months) has passed with no notice recorded, the maximum not reached and the
//! outer limit not passed, is certain; from the day after the deadline the current end is the
//! renewed term's end. The notice rule: a notice of non-renewal received on or before the
//! deadline ends the agreement at the current term's end; received later, at the end of the term
//! the renewal already started (see [`non_renewal_end`]).

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::Serialize;

use super::agreement::{Agreement, Renewal, effective_end};
use super::codes::{AgreementStatus, OptionState};
use super::dates::add_months;

/// Most renewals applied in one go (a guard against absurd data such as a one-month renewal
/// of an agreement from the year 1).
pub const MAX_RENEWALS_AT_ONCE: u32 = 1_000;

/// An extension option as it stands on the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionOnDay {
    /// Sequence number.
    pub seq: u32,
    /// Length in months.
    pub months: u32,
    /// Decide-by date.
    pub decide_by: Option<NaiveDate>,
    /// State that day (an undecided option past its date is lapsed).
    pub state: OptionState,
}

/// Something about the dates a user should know before it becomes a surprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The field it is about, e.g. `options[1].months`.
    pub field: String,
    /// A short code of the rule, e.g. `option_past_outer_limit`.
    pub code: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

/// Everything an agreement's dates say on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreementState {
    /// The day this state is for.
    pub day: NaiveDate,
    /// First day of the agreement.
    pub start: NaiveDate,
    /// First day of the term that ends on `term_end` (the day after the previous term's end,
    /// after a renewal or an exercised option; the start otherwise). After a renewal became
    /// certain it can lie after `day`: the renewed term is fixed but has not begun.
    pub term_start: NaiveDate,
    /// Last day of the current term: the current end, after every renewal that took effect.
    pub term_end: NaiveDate,
    /// Tacit renewals done by this day (recorded ones and those that took effect since).
    pub renewals_done: u32,
    /// Renewals that took effect by this day but are not stored yet (0 after the sweep).
    pub renewals_pending: u32,
    /// Whether the agreement is in force that day.
    pub active: bool,
    /// Whether a further tacit renewal can still extend the term.
    pub renewable: bool,
    /// Last day to stop the next tacit renewal, while one can come.
    pub renewal_notice_deadline: Option<NaiveDate>,
    /// The date by which the parties start talking about a continuation.
    pub renewal_dialogue_due: Option<NaiveDate>,
    /// Last day to give notice of termination for the current end, when the terms allow notice.
    pub termination_notice_deadline: Option<NaiveDate>,
    /// The end a notice of non-renewal received that day would give.
    pub end_after_non_renewal_notice: Option<NaiveDate>,
    /// The end a notice of termination received that day would give.
    pub end_after_termination_notice: Option<NaiveDate>,
    /// The latest the agreement can run to, if limited.
    pub outer_limit: Option<NaiveDate>,
    /// The options in sequence with their decide-by dates and states.
    pub options: Vec<OptionOnDay>,
    /// The next option that can still be decided.
    pub next_option: Option<u32>,
    /// Things to look at.
    pub warnings: Vec<Warning>,
}

/// Whether the terms stop any further renewal of `a` as it stands (no renewal terms, a notice
/// recorded, not in force, the maximum reached).
fn renewal_stopped(a: &Agreement) -> bool {
    let Some(r) = &a.tacit_renewal else {
        return true;
    };
    r.months == 0
        || r.notice.is_some()
        || a.termination.as_ref().is_some_and(|t| t.notice.is_some())
        || a.status != AgreementStatus::Active
        || r.max_renewals.is_some_and(|m| r.renewals_done >= m)
}

/// The next renewal of `a` as it stands: its notice deadline and the end it gives, or `None`
/// when no renewal can come (stopped, or it would pass the outer limit).
pub fn next_renewal(a: &Agreement) -> Option<(NaiveDate, NaiveDate)> {
    if renewal_stopped(a) {
        return None;
    }
    let r = a.tacit_renewal.as_ref()?;
    let end = a.period.current_end;
    let new_end = add_months(end, r.months as i32);
    if a.period.outer_limit.is_some_and(|l| new_end > l) || new_end <= end {
        return None;
    }
    Some((add_months(end, -(r.notice_months as i32)), new_end))
}

/// Applies the next tacit renewal of `a` if it has taken effect by `day` (its notice deadline
/// is before `day`): moves the current end, counts it in `renewals_done` and records it in
/// `tacit_renewal.renewals`. `None` when no renewal was due.
pub fn apply_next_renewal(a: &mut Agreement, day: NaiveDate) -> Option<Renewal> {
    let (deadline, new_end) = next_renewal(a)?;
    if deadline >= day {
        return None;
    }
    let r = a.tacit_renewal.as_mut()?;
    r.renewals_done += 1;
    let event = Renewal {
        number: r.renewals_done,
        notice_deadline: deadline,
        old_end: a.period.current_end,
        new_end,
        took_effect_on: deadline.succ_opt().unwrap_or(deadline),
    };
    r.renewals.push(event.clone());
    a.period.current_end = new_end;
    Some(event)
}

/// Applies every tacit renewal that has taken effect by `day`, oldest first, and returns them;
/// none when nothing was due, so a second call changes nothing.
pub fn apply_renewals(a: &mut Agreement, day: NaiveDate) -> Vec<Renewal> {
    let mut out = Vec::new();
    while out.len() < MAX_RENEWALS_AT_ONCE as usize {
        match apply_next_renewal(a, day) {
            Some(e) => out.push(e),
            None => break,
        }
    }
    out
}

/// The end a notice of non-renewal received on `received_on` gives: the end of the term running
/// that day. Received on or before the notice deadline, that is the current term's end; received
/// later, the renewed term's end (the renewal had already taken effect). Renewals stored after
/// `received_on` (a notice recorded late) are not counted. `None` without renewal terms.
pub fn non_renewal_end(a: &Agreement, received_on: NaiveDate) -> Option<(NaiveDate, u32)> {
    let r = a.tacit_renewal.as_ref()?;
    let mut end = a.period.current_end;
    let mut done = r.renewals_done;
    // Undo renewals that took effect after the notice was received: from their records, or
    // by counting back when the renewal predates the registry.
    while done > 0 {
        let (previous, deadline) = match r.renewals.iter().find(|x| x.number == done) {
            Some(x) => (x.old_end, x.notice_deadline),
            None => {
                let previous = add_months(end, -(r.months as i32));
                (previous, add_months(previous, -(r.notice_months as i32)))
            }
        };
        if deadline < received_on {
            break;
        }
        end = previous;
        done -= 1;
    }
    // Roll forward the renewals that took effect by then but are not stored yet.
    let mut probe = a.clone();
    probe.period.current_end = end;
    if let Some(pr) = probe.tacit_renewal.as_mut() {
        pr.renewals_done = done;
        pr.renewals.retain(|x| x.number <= done);
        pr.notice = None;
    }
    apply_renewals(&mut probe, received_on);
    let done = probe
        .tacit_renewal
        .as_ref()
        .map_or(done, |p| p.renewals_done);
    Some((probe.period.current_end, done))
}

/// The state of `a` on `day`; every view of the agreement's dates reads this.
pub fn state_on(a: &Agreement, day: NaiveDate) -> AgreementState {
    let (now, pending) = as_on(a, day);
    let now = now.as_ref();
    let renewals_done = now.tacit_renewal.as_ref().map_or(0, |r| r.renewals_done);
    let term_end = now.period.current_end;
    let next = next_renewal(now);
    let termination_notice_deadline = now.termination.as_ref().and_then(|t| {
        t.notice
            .is_none()
            .then(|| add_months(term_end, -(t.notice_months as i32)))
    });
    let options: Vec<OptionOnDay> = now
        .options_in_order()
        .into_iter()
        .map(|o| {
            let decide_by = now.option_decide_by(o);
            OptionOnDay {
                seq: o.seq,
                months: o.months,
                decide_by,
                state: o.state_on(decide_by, day),
            }
        })
        .collect();
    let running = now.status == AgreementStatus::Active;
    let end_after_non_renewal_notice = (running && now.tacit_renewal.is_some())
        .then(|| non_renewal_end(now, day).map(|(e, _)| e))
        .flatten();
    let end_after_termination_notice = now.termination.as_ref().and_then(|t| {
        (running && t.notice.is_none())
            .then(|| effective_end(day, t.notice_months, t.effective).min(term_end))
    });
    AgreementState {
        day,
        start: now.period.start,
        term_start: term_start(now, &pending),
        term_end,
        renewals_done,
        renewals_pending: pending.len() as u32,
        active: now.status.came_into_force() && now.period.start <= day && day <= term_end,
        renewable: next.is_some(),
        renewal_notice_deadline: next.map(|(d, _)| d),
        termination_notice_deadline,
        renewal_dialogue_due: now.renewal_dialogue_due(),
        end_after_non_renewal_notice,
        end_after_termination_notice,
        outer_limit: now.period.outer_limit,
        next_option: now.next_actionable_option(day).map(|o| o.seq),
        warnings: warnings(now, &options),
        options,
    }
}

/// `a` with the renewals that took effect by `day` applied (borrowed when there are none), and
/// those renewals.
pub fn as_on(a: &Agreement, day: NaiveDate) -> (Cow<'_, Agreement>, Vec<Renewal>) {
    if next_renewal(a).is_none_or(|(deadline, _)| deadline >= day) {
        return (Cow::Borrowed(a), Vec::new());
    }
    let mut now = a.clone();
    let events = apply_renewals(&mut now, day);
    (Cow::Owned(now), events)
}

/// First day of the current term: the day after the end the last renewal or option moved.
fn term_start(a: &Agreement, pending: &[Renewal]) -> NaiveDate {
    let start = a.period.start;
    let after = |d: NaiveDate| d.succ_opt().unwrap_or(d).max(start);
    if let Some(e) = pending.last() {
        return after(e.old_end);
    }
    if let Some(r) = &a.tacit_renewal
        && r.renewals_done > 0
    {
        let previous = r
            .renewals
            .iter()
            .find(|x| x.number == r.renewals_done)
            .map_or_else(
                || add_months(a.period.current_end, -(r.months as i32)),
                |x| x.old_end,
            );
        return after(previous);
    }
    let last_exercised = a
        .options_in_order()
        .into_iter()
        .rfind(|o| o.state == OptionState::Exercised)
        .map(|o| a.term_end_before_option(o.seq));
    match last_exercised {
        Some(end) if end < a.period.current_end => after(end),
        _ => start,
    }
}

/// Options that cannot run their full length before the outer limit, counted from the current
/// end through every option still open in sequence.
fn warnings(a: &Agreement, options: &[OptionOnDay]) -> Vec<Warning> {
    let mut out = Vec::new();
    let Some(limit) = a.period.outer_limit else {
        return out;
    };
    let mut end = a.period.current_end;
    for (i, o) in options.iter().enumerate() {
        match o.state {
            OptionState::Exercised => continue,
            OptionState::Declined | OptionState::Lapsed => break,
            OptionState::Available => {}
        }
        let after = add_months(end, o.months as i32);
        if after > limit {
            let index = a.options.iter().position(|x| x.seq == o.seq).unwrap_or(i);
            out.push(Warning {
                field: format!("options[{index}].months"),
                code: "option_past_outer_limit",
                message: format!(
                    "option {} runs {} months, to {after}, past the outer limit {limit}; exercising it will be refused",
                    o.seq, o.months
                ),
            });
            break;
        }
        end = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agreement::{Notice, TacitRenewal};
    use crate::domain::dates::parse_iso_date;
    use crate::domain::org_number::OrgNumber;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn iop(start: &str, end: &str, renewal: Option<TacitRenewal>) -> Agreement {
        let json = serde_json::json!({
            "reference": "AGR-T-1", "kind": "iop", "status": "active", "title": "T",
            "legal_basis": "iop", "parties": [],
            "period": {"start": start, "original_end": end, "current_end": end}
        });
        let mut a: Agreement = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        a.tacit_renewal = renewal;
        a
    }

    fn renewal(months: u32, notice: u32, max: Option<u32>) -> TacitRenewal {
        TacitRenewal {
            months,
            notice_months: notice,
            max_renewals: max,
            renewals_done: 0,
            renewals: Vec::new(),
            notice: None,
        }
    }

    #[test]
    fn the_issue_iop_has_renewed_twice_by_2026_11_22() {
        let a = iop("2025-01-01", "2025-12-31", Some(renewal(12, 3, None)));
        let s = state_on(&a, d("2026-11-22"));
        // Both deadlines (2025-09-30, 2026-09-30) have passed with no notice.
        assert_eq!(s.term_end, d("2027-12-31"));
        assert_eq!(s.term_start, d("2027-01-01"));
        assert_eq!(s.renewals_done, 2);
        assert_eq!(s.renewals_pending, 2);
        assert!(s.active);
        assert_eq!(s.renewal_notice_deadline, Some(d("2027-09-30")));
    }

    #[test]
    fn a_renewal_takes_effect_the_day_after_its_notice_deadline() {
        let a = iop("2026-01-01", "2026-12-31", Some(renewal(12, 3, None)));
        let on_deadline = state_on(&a, d("2026-09-30"));
        assert_eq!(on_deadline.term_end, d("2026-12-31"));
        assert_eq!(on_deadline.renewal_notice_deadline, Some(d("2026-09-30")));
        let day_after = state_on(&a, d("2026-10-01"));
        assert_eq!(day_after.term_end, d("2027-12-31"));
        assert_eq!(day_after.term_start, d("2027-01-01"));
        assert_eq!(day_after.renewal_notice_deadline, Some(d("2027-09-30")));
        assert_eq!(day_after.renewals_done, 1);
    }

    #[test]
    fn a_late_import_renews_once_per_missed_deadline_in_order() {
        let mut a = iop("2020-01-01", "2020-12-31", Some(renewal(12, 3, None)));
        let events = apply_renewals(&mut a, d("2026-11-22"));
        let ends: Vec<String> = events.iter().map(|e| e.new_end.to_string()).collect();
        assert_eq!(
            ends,
            [
                "2021-12-31",
                "2022-12-31",
                "2023-12-31",
                "2024-12-31",
                "2025-12-31",
                "2026-12-31",
                "2027-12-31"
            ]
        );
        assert_eq!(events[0].took_effect_on, d("2020-10-01"));
        assert_eq!(events[6].number, 7);
        assert!(apply_renewals(&mut a, d("2026-11-22")).is_empty());
    }

    #[test]
    fn renewals_stop_at_the_maximum_and_at_the_outer_limit() {
        let mut a = iop("2024-01-01", "2024-12-31", Some(renewal(12, 3, Some(2))));
        assert_eq!(apply_renewals(&mut a, d("2030-01-01")).len(), 2);
        assert_eq!(a.period.current_end, d("2026-12-31"));
        let s = state_on(&a, d("2030-01-01"));
        assert!(!s.renewable && !s.active);
        assert_eq!(s.renewal_notice_deadline, None);

        let mut b = iop("2024-01-01", "2024-12-31", Some(renewal(12, 3, None)));
        b.period.outer_limit = Some(d("2025-12-31"));
        assert_eq!(apply_renewals(&mut b, d("2030-01-01")).len(), 1);
        assert_eq!(b.period.current_end, d("2025-12-31"));
    }

    #[test]
    fn a_notice_of_non_renewal_stops_renewals() {
        let mut a = iop("2026-01-01", "2026-12-31", Some(renewal(12, 3, None)));
        if let Some(r) = a.tacit_renewal.as_mut() {
            r.notice = Some(Notice {
                by: OrgNumber::parse("769990-0010").unwrap_or_else(|e| panic!("{e}")),
                received_on: d("2026-09-01"),
                effective_end: d("2026-12-31"),
                reason: None,
            });
        }
        a.status = AgreementStatus::NoticeGiven;
        let s = state_on(&a, d("2027-06-01"));
        assert_eq!(s.term_end, d("2026-12-31"));
        assert!(!s.active && !s.renewable);
    }

    #[test]
    fn a_notice_ends_the_current_term_on_time_and_the_renewed_term_when_late() {
        let a = iop("2026-01-01", "2026-12-31", Some(renewal(12, 3, None)));
        assert_eq!(
            non_renewal_end(&a, d("2026-09-30")),
            Some((d("2026-12-31"), 0))
        );
        assert_eq!(
            non_renewal_end(&a, d("2026-10-01")),
            Some((d("2027-12-31"), 1))
        );
        // Recorded late, after the sweep stored two renewals: the second one never happened.
        let mut stored = a.clone();
        apply_renewals(&mut stored, d("2027-10-05"));
        assert_eq!(stored.period.current_end, d("2028-12-31"));
        assert_eq!(
            non_renewal_end(&stored, d("2026-11-15")),
            Some((d("2027-12-31"), 1))
        );
    }

    #[test]
    fn an_option_longer_than_the_room_left_warns() {
        let json = serde_json::json!({
            "reference": "AGR-T-2", "kind": "procurement_contract", "status": "active",
            "title": "T", "legal_basis": "lou_17_1", "parties": [],
            "period": {"start": "2025-01-01", "original_end": "2026-12-31",
                       "current_end": "2026-12-31", "outer_limit": "2027-06-30"},
            "options": [{"seq": 1, "months": 12, "decided_by": "buyer", "notice_months": 3}]
        });
        let a: Agreement = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        let s = state_on(&a, d("2026-01-10"));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert_eq!(s.warnings[0].field, "options[0].months");
        assert_eq!(s.options[0].decide_by, Some(d("2026-09-30")));
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (2000i32..2040, 1u32..=12, 1u32..=31).prop_map(|(y, m, day)| {
            let first = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
            let last = crate::domain::dates::last_day_of_month(first);
            NaiveDate::from_ymd_opt(y, m, day.min(last.day())).unwrap_or(last)
        })
    }

    use chrono::Datelike;

    proptest! {
        #[test]
        fn renewals_are_idempotent_and_in_order(
            start in date(), term in 1u32..36, months in 1u32..24, notice in 0u32..12,
            max in proptest::option::of(0u32..6), day_offset in 0i64..4000,
        ) {
            let end = crate::domain::dates::term_end(start, term);
            let mut a = iop(&start.to_string(), &end.to_string(), Some(renewal(months, notice, max)));
            let day = start + chrono::Duration::days(day_offset);
            let before = state_on(&a, day);
            let events = apply_renewals(&mut a, day);
            // Applying again changes nothing; the state is the same before and after storing.
            prop_assert!(apply_renewals(&mut a, day).is_empty());
            let after = state_on(&a, day);
            prop_assert_eq!(after.renewals_pending, 0);
            prop_assert_eq!(before.term_end, after.term_end);
            prop_assert_eq!(before.renewals_done, after.renewals_done);
            prop_assert_eq!(before.active, after.active);
            prop_assert_eq!(before.renewal_notice_deadline, after.renewal_notice_deadline);
            // Each renewal chains on the last, took effect after its deadline and by `day`.
            let mut prev = end;
            for (i, e) in events.iter().enumerate() {
                prop_assert_eq!(e.old_end, prev);
                prop_assert!(e.new_end > e.old_end);
                prop_assert!(e.notice_deadline < e.took_effect_on && e.took_effect_on <= day);
                prop_assert_eq!(e.number as usize, i + 1);
                prev = e.new_end;
            }
            if let Some(m) = max {
                prop_assert!(after.renewals_done <= m);
            }
            // An open renewal's deadline is never in the past.
            if let Some(dl) = after.renewal_notice_deadline {
                prop_assert!(dl >= day);
            }
            prop_assert!(after.term_start <= after.term_end || after.term_start == start);
            prop_assert_eq!(after.active, start <= day && day <= after.term_end);
        }

        #[test]
        fn a_notice_on_time_never_renews_and_a_late_one_ends_a_started_term(
            start in date(), term in 3u32..36, months in 1u32..24, notice in 0u32..3,
            offset in 0i64..2000,
        ) {
            let end = crate::domain::dates::term_end(start, term);
            let a = iop(&start.to_string(), &end.to_string(), Some(renewal(months, notice, None)));
            let received = start + chrono::Duration::days(offset);
            let Some((ends, _)) = non_renewal_end(&a, received) else {
                return Err(TestCaseError::fail("no end"));
            };
            let running = state_on(&a, received);
            prop_assert_eq!(ends, running.term_end);
            prop_assert!(ends >= received || ends == end);
            let deadline = add_months(end, -(notice as i32));
            if received <= deadline {
                prop_assert_eq!(ends, end);
            }
            prop_assert_eq!(ends.day() > 0, true);
        }
    }
}
