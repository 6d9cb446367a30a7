//! Commands that change an agreement: status transitions, option decisions, notices and amendments.
//!
//! Each command changes the aggregate in memory and says what it did; the caller validates the
//! result with [`super::rules::validate`] and stores it in one transaction, or stores nothing.

use chrono::NaiveDate;

use super::agreement::{Agreement, Amendment, Notice, effective_end};
use super::clock;
use super::codes::{AgreementStatus, AmendmentGround, OptionState};
use super::dates::add_months;
use super::org_number::OrgNumber;
use super::party::Violation;

/// Moves the agreement to a new status if the state machine allows it.
pub fn transition(a: &mut Agreement, to: AgreementStatus) -> Result<(), Violation> {
    check_transition(a.status, to)?;
    a.status = to;
    Ok(())
}

/// Refuses a move from status `from` to `to` that the state machine does not allow, listing the
/// allowed ones.
pub fn check_transition(from: AgreementStatus, to: AgreementStatus) -> Result<(), Violation> {
    let allowed = from.allowed_next();
    if !allowed.contains(&to) {
        let list = if allowed.is_empty() {
            "none (final status)".to_owned()
        } else {
            allowed
                .iter()
                .map(|s| s.code())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Violation::new(
            "status",
            to,
            "status_transition",
            format!("an agreement cannot go from {from} to {to}; allowed: {list}"),
        ));
    }
    Ok(())
}

/// Exercises option `seq` on `decided_on`: moves the current end by its length, never past the
/// outer limit, marks it exercised and records an amendment on the review-clause ground (`mod-rev`).
pub fn exercise_option(
    a: &mut Agreement,
    seq: u32,
    decided_on: NaiveDate,
    rationale: Option<String>,
) -> Result<Amendment, Violation> {
    require_running(a)?;
    let (index, months) = decidable_option(a, seq, decided_on)?;
    let new_end = add_months(a.period.current_end, months as i32);
    if let Some(limit) = a.period.outer_limit
        && new_end > limit
    {
        return Err(Violation::new(
            "seq",
            seq,
            "outer_limit",
            format!(
                "exercising option {seq} would move the end to {new_end}, past the outer limit {limit}"
            ),
        ));
    }
    let option = &mut a.options[index];
    option.state = OptionState::Exercised;
    option.decided_on = Some(decided_on);
    a.period.current_end = new_end;
    let amendment = Amendment {
        date: decided_on,
        ground: AmendmentGround::ReviewClause,
        rationale: rationale.unwrap_or_else(|| {
            format!(
                "Option {seq} utnyttjad, avtalstiden förlängd till {}",
                crate::text::swedish_date(new_end)
            )
        }),
        value_change_sek: None,
        new_end: Some(new_end),
        option_seq: Some(seq),
    };
    a.amendments.push(amendment.clone());
    Ok(amendment)
}

/// Declines option `seq`; the later options can then no longer be exercised.
pub fn decline_option(a: &mut Agreement, seq: u32, decided_on: NaiveDate) -> Result<(), Violation> {
    require_running(a)?;
    let (index, _) = decidable_option(a, seq, decided_on)?;
    let option = &mut a.options[index];
    option.state = OptionState::Declined;
    option.decided_on = Some(decided_on);
    Ok(())
}

/// Finds option `seq` and checks it is the next one in the sequence and still open on `decided_on`.
fn decidable_option(
    a: &Agreement,
    seq: u32,
    decided_on: NaiveDate,
) -> Result<(usize, u32), Violation> {
    let index = a.options.iter().position(|o| o.seq == seq).ok_or_else(|| {
        Violation::new(
            "seq",
            seq,
            "option_exists",
            format!("the agreement has no option {seq}"),
        )
    })?;
    let option = &a.options[index];
    if let Some(next) = a.next_actionable_option(decided_on) {
        if next.seq != seq {
            return Err(Violation::new(
                "seq",
                seq,
                "options_sequential",
                format!(
                    "options are decided in order; option {} comes first",
                    next.seq
                ),
            ));
        }
    } else {
        let state = option.state_on(a.option_decide_by(option), decided_on);
        return Err(Violation::new(
            "seq",
            seq,
            "option_open",
            format!(
                "option {seq} can no longer be decided: it is {state}, or an earlier option was declined or lapsed"
            ),
        ));
    }
    Ok((index, option.months))
}

fn require_running(a: &Agreement) -> Result<(), Violation> {
    if a.status == AgreementStatus::Active {
        Ok(())
    } else {
        Err(Violation::new(
            "status",
            a.status,
            "agreement_active",
            format!("this needs an active agreement; it is {}", a.status),
        ))
    }
}

/// Which clause a notice is given under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeUnder {
    /// The tacit renewal clause: a notice of non-renewal (uppsägning mot förlängning).
    Renewal,
    /// The termination clause: notice with its notice period.
    Termination,
}

/// Records a notice received on `received_on` from party `by` (either party may give it).
///
/// Under the renewal clause (the default when the agreement renews tacitly) it is a notice of
/// non-renewal and needs no termination terms: the agreement ends at the end of the term running
/// on `received_on` (the current term when received by the notice deadline, the renewed one when
/// later; see [`clock::non_renewal_end`]). Under the termination clause the effective end is
/// `received_on` plus the notice period, and the term ends then at the latest.
pub fn record_notice(
    a: &mut Agreement,
    by: OrgNumber,
    received_on: NaiveDate,
    reason: Option<String>,
    under: Option<NoticeUnder>,
) -> Result<NaiveDate, Violation> {
    require_running(a)?;
    if !a.parties.iter().any(|p| p.org == by) {
        return Err(Violation::new(
            "by",
            &by,
            "notice_by_party",
            "notice is given by a party of the agreement",
        ));
    }
    if received_on < a.period.start {
        return Err(Violation::new(
            "received_on",
            received_on,
            "notice_after_start",
            "notice cannot be received before the agreement starts",
        ));
    }
    let under = under.unwrap_or(if a.tacit_renewal.is_some() {
        NoticeUnder::Renewal
    } else {
        NoticeUnder::Termination
    });
    if under == NoticeUnder::Renewal {
        let (end, renewals_done) = clock::non_renewal_end(a, received_on).ok_or_else(|| {
            Violation::new(
                "under",
                "renewal",
                "renewal_terms",
                "the agreement does not renew tacitly, so there is no renewal to give notice against; give notice under the termination terms",
            )
        })?;
        if received_on > end {
            return Err(Violation::new(
                "received_on",
                received_on,
                "notice_before_end",
                format!("the agreement already ended on {end}"),
            ));
        }
        if let Some(r) = a.tacit_renewal.as_mut() {
            r.renewals_done = renewals_done;
            r.renewals.retain(|x| x.number <= renewals_done);
            r.notice = Some(Notice {
                by,
                received_on,
                effective_end: end,
                reason,
            });
        }
        a.period.current_end = end;
        transition(a, AgreementStatus::NoticeGiven)?;
        return Ok(end);
    }
    let terms = a.termination.as_mut().ok_or_else(|| {
        Violation::new(
            "termination",
            "",
            "termination_terms",
            "the agreement has no termination terms (notice period) to give notice under",
        )
    })?;
    let end = effective_end(received_on, terms.notice_months, terms.effective);
    terms.notice = Some(Notice {
        by,
        received_on,
        effective_end: end,
        reason,
    });
    a.period.current_end = a.period.current_end.min(end);
    transition(a, AgreementStatus::NoticeGiven)?;
    Ok(a.period.current_end)
}

/// Records an amendment other than an option (use [`exercise_option`] for those).
pub fn record_amendment(a: &mut Agreement, amendment: Amendment) -> Result<(), Violation> {
    if !matches!(
        a.status,
        AgreementStatus::Active | AgreementStatus::NoticeGiven
    ) {
        return Err(Violation::new(
            "status",
            a.status,
            "agreement_active",
            format!(
                "amendments are made to an agreement in force; it is {}",
                a.status
            ),
        ));
    }
    if amendment.option_seq.is_some() {
        return Err(Violation::new(
            "option_seq",
            "",
            "use_exercise_option",
            "exercise an option with the exercise action, which records its amendment",
        ));
    }
    if amendment.rationale.trim().is_empty() {
        return Err(Violation::new(
            "rationale",
            "",
            "required",
            "an amendment needs a rationale",
        ));
    }
    if amendment.date < a.period.start {
        return Err(Violation::new(
            "date",
            amendment.date,
            "amendment_date",
            "an amendment cannot predate the agreement",
        ));
    }
    if let Some(end) = amendment.new_end {
        a.period.current_end = end;
    }
    a.amendments.push(amendment);
    a.amendments.sort_by_key(|m| m.date);
    Ok(())
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

    #[test]
    fn an_option_that_would_pass_the_outer_limit_is_refused_and_nothing_changes() {
        // AGR-2025-0013: active, current end 2027-04-30, one 12-month option (to 2028-04-30).
        let mut a = sample("AGR-2025-0013");
        a.period.outer_limit = Some(d("2027-12-31"));
        let before = a.clone();
        let err = exercise_option(&mut a, 1, d("2026-12-01"), None)
            .err()
            .unwrap_or_else(|| panic!("exercised past the outer limit: {:?}", a.period));
        assert_eq!(
            (err.field.as_str(), err.value.as_str(), err.rule),
            ("seq", "1", "outer_limit")
        );
        assert!(
            err.message.contains("2028-04-30") && err.message.contains("2027-12-31"),
            "the message names the new end and the limit: {}",
            err.message
        );
        assert_eq!(a, before, "a refused action changes nothing");
    }

    #[test]
    fn an_option_that_ends_exactly_on_the_outer_limit_is_exercised() {
        let mut a = sample("AGR-2025-0013");
        assert_eq!(a.period.outer_limit, Some(d("2028-04-30")));
        let amendment =
            exercise_option(&mut a, 1, d("2026-12-01"), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a.period.current_end, d("2028-04-30"));
        assert_eq!(a.period.original_end, d("2027-04-30"));
        assert_eq!(a.options[0].state, OptionState::Exercised);
        assert_eq!(a.options[0].decided_on, Some(d("2026-12-01")));
        assert_eq!(amendment.ground, AmendmentGround::ReviewClause);
        assert_eq!(amendment.option_seq, Some(1));
        assert_eq!(amendment.new_end, Some(d("2028-04-30")));
        assert_eq!(
            amendment.rationale, "Option 1 utnyttjad, avtalstiden förlängd till 30 april 2028",
            "the stored rationale reads as prose in the amendment document: a Swedish long date"
        );
        assert_eq!(a.amendments.last(), Some(&amendment));
    }

    #[test]
    fn options_are_exercised_in_sequence() {
        // AGR-2025-0004: two 12-month options, both available on 2026-12-01.
        let mut a = sample("AGR-2025-0004");
        let before = a.clone();
        let err = exercise_option(&mut a, 2, d("2026-12-01"), None)
            .err()
            .unwrap_or_else(|| panic!("option 2 exercised before option 1"));
        assert_eq!(
            (err.field.as_str(), err.value.as_str(), err.rule),
            ("seq", "2", "options_sequential")
        );
        assert_eq!(
            err.message,
            "options are decided in order; option 1 comes first"
        );
        assert_eq!(a, before);
        let err = decline_option(&mut a, 2, d("2026-12-01"))
            .err()
            .unwrap_or_else(|| panic!("option 2 declined before option 1"));
        assert_eq!(
            (err.field.as_str(), err.rule),
            ("seq", "options_sequential")
        );
        // In order, both go through: 2027-03-31 -> 2028-03-31 -> 2029-03-31.
        exercise_option(&mut a, 1, d("2026-12-01"), None).unwrap_or_else(|e| panic!("{e:?}"));
        exercise_option(&mut a, 2, d("2027-12-01"), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a.period.current_end, d("2029-03-31"));
    }

    #[test]
    fn after_a_declined_option_no_later_one_can_be_decided() {
        let mut a = sample("AGR-2025-0004");
        decline_option(&mut a, 1, d("2026-12-01")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a.options[0].state, OptionState::Declined);
        assert_eq!(a.period.current_end, d("2027-03-31"));
        let err = exercise_option(&mut a, 2, d("2026-12-02"), None)
            .err()
            .unwrap_or_else(|| panic!("option 2 exercised after option 1 was declined"));
        assert_eq!((err.field.as_str(), err.rule), ("seq", "option_open"));
    }

    #[test]
    fn an_option_is_decided_only_on_an_active_agreement_and_only_if_it_exists() {
        let mut a = sample("AGR-2025-0004");
        let err = exercise_option(&mut a, 3, d("2026-12-01"), None)
            .err()
            .unwrap_or_else(|| panic!("option 3 does not exist"));
        assert_eq!((err.field.as_str(), err.rule), ("seq", "option_exists"));
        a.status = AgreementStatus::Draft;
        let err = exercise_option(&mut a, 1, d("2026-12-01"), None)
            .err()
            .unwrap_or_else(|| panic!("exercised on a draft"));
        assert_eq!(
            (err.field.as_str(), err.rule),
            ("status", "agreement_active")
        );
    }
}
