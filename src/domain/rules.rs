//! The rules an agreement must satisfy before it is stored; every broken rule is reported, none silently fixed.
//!
//! Facts about other records (organisations, contacts, frameworks, thresholds) come in as plain data
//! in [`Facts`], so the rules stay pure and the same code serves the API, the import and the web forms.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::agreement::{Agreement, Reference, effective_end};
use super::codes::*;
use super::dates::term_end;
use super::money::Sek;
use super::org_number::OrgNumber;
use super::party::{EmailAddress, Organisation, Violation};

/// What the rules need to know about an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    /// Its kind.
    pub kind: OrganisationKind,
    /// Its legal form.
    pub legal_form: LegalForm,
    /// Date of entry in Kammarkollegiet's register.
    pub registered_idea_based_on: Option<NaiveDate>,
    /// Whether it is an ASF (by its kind or its own mark).
    pub work_integration: bool,
    /// Whether it is idea-based (by its kind, its own mark or its registration).
    pub idea_based: bool,
    /// A samordningsförbund's member authorities.
    pub members: Vec<OrgNumber>,
}

impl OrgFacts {
    /// The facts of an organisation record.
    pub fn of(o: &Organisation) -> Self {
        Self {
            kind: o.kind,
            legal_form: o.legal_form,
            registered_idea_based_on: o.registered_idea_based_on,
            work_integration: o.is_work_integration(),
            idea_based: o.is_idea_based(),
            members: o.members.clone(),
        }
    }
}

/// What the rules need to know about a framework agreement, for its call-offs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkFacts {
    /// Its kind (must be a framework agreement).
    pub kind: AgreementKind,
    /// Its status.
    pub status: AgreementStatus,
    /// First day.
    pub start: NaiveDate,
    /// Current last day.
    pub current_end: NaiveDate,
}

/// A direct-award threshold and the date it applies from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// First day the threshold applies.
    pub from: NaiveDate,
    /// The threshold.
    pub amount: Sek,
}

/// Facts about the rest of the registry that the rules consult.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Organisations by number.
    pub organisations: HashMap<OrgNumber, OrgFacts>,
    /// Known contacts.
    pub contacts: HashSet<EmailAddress>,
    /// Frameworks by reference.
    pub frameworks: HashMap<Reference, FrameworkFacts>,
    /// Direct-award thresholds, any order.
    pub thresholds: Vec<Threshold>,
}

impl Facts {
    /// The direct-award threshold in force on `date`.
    pub fn threshold_on(&self, date: NaiveDate) -> Option<Sek> {
        self.thresholds
            .iter()
            .filter(|t| t.from <= date)
            .max_by_key(|t| t.from)
            .map(|t| t.amount)
    }
}

/// Framework agreements run at most this many months including options (LOU 7 kap. 2 §).
pub const FRAMEWORK_MAX_MONTHS: u32 = 48;
/// Minimum share of employees from the target group under LOU 4 kap. 18 § 1 p.
pub const RESERVED_SHARE_MIN_PERCENT: u8 = 30;

/// Fills what the terms imply but the input left out: the outer limit.
pub fn normalise(a: &mut Agreement) {
    if a.period.outer_limit.is_none() {
        a.period.outer_limit = a.implied_outer_limit();
    }
    a.options.sort_by_key(|o| o.seq);
    a.amendments.sort_by_key(|m| m.date);
}

/// Checks every rule and returns every violation (empty when the agreement may be stored).
pub fn validate(a: &Agreement, facts: &Facts) -> Vec<Violation> {
    let mut v = Vec::new();
    text_rules(a, &mut v);
    period_rules(a, &mut v);
    party_rules(a, facts, &mut v);
    eligibility_rules(a, facts, &mut v);
    funder_rules(a, facts, &mut v);
    social_rules(a, facts, &mut v);
    kind_rules(a, facts, &mut v);
    option_rules(a, &mut v);
    renewal_and_notice_rules(a, &mut v);
    reporting_rules(a, &mut v);
    reminder_rules(a, &mut v);
    v.extend(super::outcomes::rules(a));
    v.extend(super::terms::violations(&a.terms, a.kind));
    super::limits::add_text_violations(a, &mut v);
    v
}

fn text_rules(a: &Agreement, v: &mut Vec<Violation>) {
    if a.title.trim().is_empty() {
        v.push(Violation::new(
            "title",
            &a.title,
            "required",
            "an agreement needs a title",
        ));
    }
    if a.title.chars().count() > 500 {
        v.push(Violation::new(
            "title",
            "…",
            "max_length",
            "a title has at most 500 characters",
        ));
    }
    if let Some(value) = &a.value
        && value.amount_sek.ore() < 0
    {
        v.push(Violation::new(
            "value.amount_sek",
            value.amount_sek,
            "non_negative",
            "a value cannot be negative",
        ));
    }
}

fn period_rules(a: &Agreement, v: &mut Vec<Violation>) {
    let p = &a.period;
    if p.start > p.original_end {
        v.push(Violation::new(
            "period.original_end",
            p.original_end,
            "period_order",
            format!(
                "the original end {} is before the start {}",
                p.original_end, p.start
            ),
        ));
    }
    let shortened_by_notice = a.termination.as_ref().is_some_and(|t| t.notice.is_some());
    if p.current_end < p.original_end && !shortened_by_notice {
        v.push(Violation::new(
            "period.current_end",
            p.current_end,
            "period_order",
            format!(
                "the current end {} is before the original end {}; only a recorded notice can shorten the term",
                p.current_end, p.original_end
            ),
        ));
    }
    if p.current_end < p.start {
        v.push(Violation::new(
            "period.current_end",
            p.current_end,
            "period_order",
            format!(
                "the current end {} is before the start {}",
                p.current_end, p.start
            ),
        ));
    }
    if let Some(limit) = p.outer_limit {
        if p.current_end > limit {
            v.push(Violation::new(
                "period.current_end",
                p.current_end,
                "outer_limit",
                format!(
                    "the current end {} is after the outer limit {limit}",
                    p.current_end
                ),
            ));
        }
        if limit < p.original_end {
            v.push(Violation::new(
                "period.outer_limit",
                limit,
                "period_order",
                format!(
                    "the outer limit {limit} is before the original end {}",
                    p.original_end
                ),
            ));
        }
    }
    if a.kind == AgreementKind::FrameworkAgreement {
        let cap = term_end(p.start, FRAMEWORK_MAX_MONTHS);
        let limit = p.outer_limit.unwrap_or(p.current_end);
        let has_reasons = a
            .framework_special_reasons
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        if limit > cap && !has_reasons {
            v.push(Violation::new(
                "period.outer_limit",
                limit,
                "framework_max_4_years",
                format!(
                    "a framework agreement may run at most 4 years including options (LOU 7 kap. 2 §), here until {cap}; record framework_special_reasons to go beyond"
                ),
            ));
        }
    }
}

fn party_rules(a: &Agreement, facts: &Facts, v: &mut Vec<Violation>) {
    let mut seen = HashSet::new();
    for (i, p) in a.parties.iter().enumerate() {
        let field = format!("parties[{i}].org");
        if let Some(unit) = &p.unit
            && (unit.trim().is_empty() || unit.chars().count() > 200)
        {
            v.push(Violation::new(
                format!("parties[{i}].unit"),
                unit,
                "unit_text",
                "a contracting unit is named in 1 to 200 characters",
            ));
        }
        if !seen.insert((&p.org, p.role)) {
            v.push(Violation::new(
                &field,
                &p.org,
                "duplicate_party",
                "the same organisation is listed twice in this role",
            ));
        }
        match facts.organisations.get(&p.org) {
            None => v.push(Violation::new(
                &field,
                &p.org,
                "unknown_organisation",
                "no organisation with this number is registered",
            )),
            Some(org) => {
                if org.kind == OrganisationKind::Funder && p.role != PartyRole::Funder {
                    v.push(Violation::new(
                        &field,
                        &p.org,
                        "funder_never_signs",
                        format!(
                            "a funder (such as a samordningsförbund) can only take the role funder, not {}; the contracting party is one of its member authorities",
                            p.role
                        ),
                    ));
                }
                if p.role == PartyRole::Buyer && org.kind != OrganisationKind::PublicBuyer {
                    v.push(Violation::new(
                        &field,
                        &p.org,
                        "buyer_is_public",
                        "the buyer must be a public buyer organisation",
                    ));
                }
            }
        }
    }
    if a.parties_in(PartyRole::Buyer).next().is_none() {
        v.push(Violation::new(
            "parties",
            "",
            "buyer_required",
            "an agreement needs a party with the role buyer",
        ));
    }
    let counterpart = if a.kind == AgreementKind::Iop {
        PartyRole::IopPartner
    } else {
        PartyRole::Supplier
    };
    if a.parties_in(counterpart).next().is_none() {
        v.push(Violation::new(
            "parties",
            a.kind,
            "counterpart_required",
            format!(
                "an agreement of kind {} needs a party with the role {counterpart}",
                a.kind
            ),
        ));
    }
    for (field, email) in a.contacts.all() {
        if !facts.contacts.contains(email) {
            v.push(Violation::new(
                field,
                email,
                "unknown_contact",
                "no contact with this e-mail address is registered",
            ));
        }
    }
}

/// Most characters of a recorded eligibility exception.
pub const ELIGIBILITY_EXCEPTION_MAX_CHARS: usize = 2000;

/// Who may be the counterpart: an IOP partner is idea-based, and the supplier of a contract
/// reserved under LOU 4 kap. 18 § 1 p. has social and professional integration as its main aim
/// (an ASF). A party that is neither is accepted only with a recorded `eligibility_exception`.
fn eligibility_rules(a: &Agreement, facts: &Facts, v: &mut Vec<Violation>) {
    let excepted = a
        .eligibility_exception
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if let Some(r) = &a.eligibility_exception
        && (r.trim().is_empty() || r.chars().count() > ELIGIBILITY_EXCEPTION_MAX_CHARS)
    {
        v.push(Violation::new(
            "eligibility_exception",
            if r.trim().is_empty() { "" } else { "…" },
            "eligibility_exception_text",
            format!(
                "a recorded eligibility exception has 1 to {ELIGIBILITY_EXCEPTION_MAX_CHARS} characters"
            ),
        ));
    }
    if excepted {
        return;
    }
    for (i, p) in a.parties.iter().enumerate() {
        let Some(org) = facts.organisations.get(&p.org) else {
            continue;
        };
        if a.kind == AgreementKind::Iop && p.role == PartyRole::IopPartner && !org.idea_based {
            v.push(Violation::new(
                format!("parties[{i}].org"),
                &p.org,
                "iop_partner_idea_based",
                "an IOP partner must be an idea-based organisation (mark the organisation idea_based, or record why this partner is accepted in eligibility_exception)",
            ));
        }
        if a.legal_basis == LegalBasis::Lou4_18_1
            && p.role == PartyRole::Supplier
            && !org.work_integration
        {
            v.push(Violation::new(
                format!("parties[{i}].org"),
                &p.org,
                "reserved_supplier_integration_aim",
                "a contract reserved under LOU 4 kap. 18 § 1 p. goes to a supplier whose main aim is the social and professional integration of disadvantaged persons (mark the organisation work_integration, or record why this supplier is accepted in eligibility_exception)",
            ));
        }
    }
}

/// A samordningsförbund funds but never signs: an agreement it funds has one of its member
/// authorities as the contracting party (the buyer).
fn funder_rules(a: &Agreement, facts: &Facts, v: &mut Vec<Violation>) {
    for (i, p) in a.parties.iter().enumerate() {
        let Some(org) = facts.organisations.get(&p.org) else {
            continue;
        };
        if p.role != PartyRole::Funder || org.legal_form != LegalForm::Samordningsforbund {
            continue;
        }
        if a.parties_in(PartyRole::Buyer)
            .any(|b| org.members.contains(b))
        {
            continue;
        }
        let members = if org.members.is_empty() {
            "it records no member authorities".to_owned()
        } else {
            format!(
                "its members are {}",
                org.members
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        v.push(Violation::new(
            format!("parties[{i}].org"),
            &p.org,
            "funded_by_member_authority",
            format!(
                "an agreement a samordningsförbund funds has one of its member authorities as the contracting party (buyer); {members}"
            ),
        ));
    }
}

fn social_rules(a: &Agreement, facts: &Facts, v: &mut Vec<Violation>) {
    let objectives = a.social_objectives();
    if !objectives.is_empty()
        && a.kind.is_procurement()
        && !a.eforms.bt_06.contains(&StrategicProcurement::Social)
    {
        v.push(Violation::new(
            "eforms.bt_06",
            a.eforms
                .bt_06
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(","),
            "social_objective_implies_soc_obj",
            "a social objective (BT-775) requires strategic procurement BT-06 soc-obj",
        ));
    }
    match a.legal_basis {
        LegalBasis::Lou4_18_1 => {
            if a.eforms.bt_71 != Some(ReservedParticipation::ShelteredWorkshop) {
                v.push(Violation::new(
                    "eforms.bt_71",
                    a.eforms.bt_71.map(|c| c.code()).unwrap_or("(none)"),
                    "reserved_participation_code",
                    "LOU 4 kap. 18 § 1 p. requires BT-71 res-ws",
                ));
            }
            match a.share_requirement_percent {
                Some(p) if p >= RESERVED_SHARE_MIN_PERCENT => {}
                other => v.push(Violation::new(
                    "share_requirement_percent",
                    other.map(|p| p.to_string()).unwrap_or_else(|| "(none)".into()),
                    "reserved_share_min_30",
                    "LOU 4 kap. 18 § 1 p. requires that at least 30 % of those employed are from the target group",
                )),
            }
        }
        LegalBasis::Lou4_18_2 if a.eforms.bt_736 != Some(ReservedExecution::Yes) => {
            v.push(Violation::new(
                "eforms.bt_736",
                a.eforms.bt_736.map(|c| c.code()).unwrap_or("(none)"),
                "reserved_execution_code",
                "LOU 4 kap. 18 § 2 p. requires BT-736 yes",
            ));
        }
        LegalBasis::Lou19_6a => {
            for (i, p) in a
                .parties
                .iter()
                .enumerate()
                .filter(|(_, p)| p.role == PartyRole::Supplier)
            {
                let registered = facts
                    .organisations
                    .get(&p.org)
                    .and_then(|o| o.registered_idea_based_on);
                if registered.is_none_or(|d| d > a.period.start) {
                    v.push(Violation::new(
                        format!("parties[{i}].org"),
                        &p.org,
                        "idea_based_registered",
                        "LOU 19 kap. 6 a § reserves the contract for organisations in Kammarkollegiet's register (lag 2022:900) on the start date",
                    ));
                }
            }
        }
        _ => {}
    }
    if let Some(p) = a.share_requirement_percent
        && p > 100
    {
        v.push(Violation::new(
            "share_requirement_percent",
            p,
            "percent",
            "a share is at most 100 %",
        ));
    }
    for (i, c) in a.social_clauses.iter().enumerate() {
        if c.target.trim().is_empty() {
            v.push(Violation::new(
                format!("social_clauses[{i}].target"),
                "",
                "required",
                "a social clause needs a target in words",
            ));
        }
        if c.target_value.is_some_and(|x| !x.is_finite() || x < 0.0) {
            v.push(Violation::new(
                format!("social_clauses[{i}].target_value"),
                c.target_value.unwrap_or_default(),
                "non_negative",
                "a target is a non-negative number",
            ));
        }
    }
}

fn kind_rules(a: &Agreement, facts: &Facts, v: &mut Vec<Violation>) {
    let is_iop = a.kind == AgreementKind::Iop;
    if is_iop != (a.legal_basis == LegalBasis::Iop) {
        v.push(Violation::new(
            "legal_basis",
            a.legal_basis,
            "iop_basis",
            "an IOP has legal basis iop, and only an IOP has it",
        ));
    }
    if (a.kind == AgreementKind::DirectAward) != (a.legal_basis == LegalBasis::DirectAward) {
        v.push(Violation::new(
            "legal_basis",
            a.legal_basis,
            "direct_award_basis",
            "a direct award has legal basis direct_award, and only a direct award has it",
        ));
    }
    if is_iop {
        match &a.iop {
            None => v.push(Violation::new(
                "iop",
                "",
                "iop_details_required",
                "an IOP needs its IOP details (purpose, activities, contributions ...)",
            )),
            Some(d) if a.status.came_into_force() => {
                if d.legal_assessment.is_none() {
                    v.push(Violation::new(
                        "iop.legal_assessment",
                        a.status,
                        "iop_legal_assessment",
                        "an IOP needs a recorded legal assessment before it can become active",
                    ));
                }
                if a.decision.is_none() {
                    v.push(Violation::new(
                        "decision",
                        a.status,
                        "iop_decision",
                        "an IOP needs a decision reference before it can become active",
                    ));
                }
            }
            Some(_) => {}
        }
    }
    match (a.kind, &a.framework) {
        (AgreementKind::CallOff, None) => v.push(Violation::new(
            "framework",
            "",
            "call_off_framework",
            "a call-off must name the framework agreement it is made under",
        )),
        (AgreementKind::CallOff, Some(fw)) => match facts.frameworks.get(fw) {
            None => v.push(Violation::new(
                "framework",
                fw,
                "call_off_framework",
                "no agreement with this reference is registered",
            )),
            Some(f) if f.kind != AgreementKind::FrameworkAgreement => v.push(Violation::new(
                "framework",
                fw,
                "call_off_framework",
                format!("{fw} is a {}, not a framework agreement", f.kind),
            )),
            Some(f) => {
                if !matches!(
                    f.status,
                    AgreementStatus::Active | AgreementStatus::NoticeGiven
                ) {
                    v.push(Violation::new(
                        "framework",
                        fw,
                        "call_off_active_framework",
                        format!(
                            "a call-off must lie under an active framework; {fw} is {}",
                            f.status
                        ),
                    ));
                }
                if a.period.start < f.start || a.period.start > f.current_end {
                    v.push(Violation::new(
                        "period.start",
                        a.period.start,
                        "call_off_within_framework",
                        format!(
                            "a call-off must start within its framework's term {} – {}",
                            f.start, f.current_end
                        ),
                    ));
                }
            }
        },
        (_, Some(fw)) => v.push(Violation::new(
            "framework",
            fw,
            "framework_only_for_call_off",
            "only a call-off names a framework",
        )),
        _ => {}
    }
    if a.kind == AgreementKind::DirectAward {
        match (&a.value, facts.threshold_on(a.period.start)) {
            (None, _) => v.push(Violation::new(
                "value",
                "",
                "direct_award_value",
                "a direct award needs its value, to check it against the threshold",
            )),
            (Some(value), Some(limit)) => {
                let amount = value.estimated_total_sek.unwrap_or(value.amount_sek);
                if amount > limit {
                    v.push(Violation::new(
                        "value.amount_sek",
                        amount,
                        "direct_award_threshold",
                        format!(
                            "a direct award may not exceed the threshold of {} in force on {}",
                            limit.format_swedish(),
                            a.period.start
                        ),
                    ));
                }
            }
            (Some(_), None) => {}
        }
    }
}

fn option_rules(a: &Agreement, v: &mut Vec<Violation>) {
    let mut previous_exercised = true;
    for (i, o) in a.options_in_order().into_iter().enumerate() {
        let field = format!("options[{i}]");
        if o.seq != i as u32 + 1 {
            v.push(Violation::new(
                format!("{field}.seq"),
                o.seq,
                "option_sequence",
                format!(
                    "options are numbered 1, 2, 3 … without gaps; expected {}",
                    i + 1
                ),
            ));
        }
        if o.months == 0 {
            v.push(Violation::new(
                format!("{field}.months"),
                o.months,
                "positive",
                "an option extends the term by at least one month",
            ));
        }
        if o.decide_by.is_none() && o.notice_months.is_none() {
            v.push(Violation::new(
                format!("{field}.decide_by"),
                "",
                "option_decide_by",
                "an option needs a decide-by date or notice_months",
            ));
        }
        match o.state {
            OptionState::Exercised | OptionState::Declined if o.decided_on.is_none() => {
                v.push(Violation::new(
                    format!("{field}.decided_on"),
                    o.state,
                    "option_decided_on",
                    "a decided option needs its decision date",
                ));
            }
            _ => {}
        }
        if o.state == OptionState::Exercised && !previous_exercised {
            v.push(Violation::new(
                format!("{field}.state"),
                o.state,
                "options_sequential",
                "options are sequential: an option can only be exercised after every earlier one was",
            ));
        }
        previous_exercised = o.state == OptionState::Exercised;
    }
}

fn renewal_and_notice_rules(a: &Agreement, v: &mut Vec<Violation>) {
    if let Some(r) = &a.tacit_renewal {
        if r.months == 0 {
            v.push(Violation::new(
                "tacit_renewal.months",
                0,
                "positive",
                "a renewal runs at least one month",
            ));
        }
        if r.max_renewals.is_some_and(|m| r.renewals_done > m) {
            v.push(Violation::new(
                "tacit_renewal.renewals_done",
                r.renewals_done,
                "max_renewals",
                "more renewals done than the maximum",
            ));
        }
        if a.kind.is_procurement() && r.max_renewals.is_none() {
            v.push(Violation::new(
                "tacit_renewal.max_renewals",
                "(none)",
                "lou_renewal_limited",
                "an LOU contract must not renew beyond its advertised options: set max_renewals",
            ));
        }
    }
    if let Some(t) = &a.termination
        && let Some(n) = &t.notice
    {
        let expected = effective_end(n.received_on, t.notice_months, t.effective);
        if n.effective_end != expected {
            v.push(Violation::new(
                "termination.notice.effective_end",
                n.effective_end,
                "notice_effective_end",
                format!(
                    "notice received on {} with {} months' notice ends the agreement on {expected}",
                    n.received_on, t.notice_months
                ),
            ));
        }
        if a.period.current_end > n.effective_end {
            v.push(Violation::new(
                "period.current_end",
                a.period.current_end,
                "notice_ends_term",
                format!(
                    "after notice the agreement ends at the latest on {}",
                    n.effective_end
                ),
            ));
        }
        if !a.parties.iter().any(|p| p.org == n.by) {
            v.push(Violation::new(
                "termination.notice.by",
                &n.by,
                "notice_by_party",
                "notice is given by a party of the agreement",
            ));
        }
    }
    if let Some(n) = a.tacit_renewal.as_ref().and_then(|r| r.notice.as_ref()) {
        if a.period.current_end > n.effective_end {
            v.push(Violation::new(
                "period.current_end",
                a.period.current_end,
                "notice_ends_term",
                format!(
                    "after notice of non-renewal the agreement ends at the latest on {}",
                    n.effective_end
                ),
            ));
        }
        if n.effective_end < n.received_on {
            v.push(Violation::new(
                "tacit_renewal.notice.effective_end",
                n.effective_end,
                "period_order",
                format!(
                    "a notice received on {} cannot end the agreement before it",
                    n.received_on
                ),
            ));
        }
        if !a.parties.iter().any(|p| p.org == n.by) {
            v.push(Violation::new(
                "tacit_renewal.notice.by",
                &n.by,
                "notice_by_party",
                "notice is given by a party of the agreement",
            ));
        }
    }
    let notice_recorded = a.termination.as_ref().is_some_and(|t| t.notice.is_some())
        || a.tacit_renewal.as_ref().is_some_and(|r| r.notice.is_some());
    if matches!(a.status, AgreementStatus::NoticeGiven) && !notice_recorded {
        v.push(Violation::new(
            "status",
            a.status,
            "notice_recorded",
            "status notice_given needs a recorded notice (termination.notice or tacit_renewal.notice)",
        ));
    }
}

fn reporting_rules(a: &Agreement, v: &mut Vec<Violation>) {
    for (i, r) in a.reporting.iter().enumerate() {
        let field = format!("reporting[{i}]");
        if r.kind.trim().is_empty() {
            v.push(Violation::new(
                format!("{field}.kind"),
                "",
                "required",
                "a report needs a kind",
            ));
        }
        match r.recurrence {
            Recurrence::Once if r.due.is_none() => v.push(Violation::new(
                format!("{field}.due"),
                "",
                "report_due",
                "a one-off report needs its due date",
            )),
            Recurrence::Once => {}
            _ if r.first_period_end.is_none() => v.push(Violation::new(
                format!("{field}.first_period_end"),
                "",
                "report_first_period",
                "a recurring report needs the end of its first period",
            )),
            _ => {}
        }
        if !a.parties.iter().any(|p| p.org == r.responsible) {
            v.push(Violation::new(
                format!("{field}.responsible"),
                &r.responsible,
                "report_responsible_party",
                "the reporting organisation must be a party",
            ));
        }
    }
}

/// Longest reminder lead an agreement may set, in days (ten years).
pub const MAX_REMINDER_DAYS: u32 = 3_660;

fn reminder_rules(a: &Agreement, v: &mut Vec<Violation>) {
    for (i, days) in a.reminder_days.iter().enumerate() {
        if *days > MAX_REMINDER_DAYS {
            v.push(Violation::new(
                format!("reminder_days[{i}]"),
                days,
                "reminder_days_range",
                format!("a reminder goes out at most {MAX_REMINDER_DAYS} days before its deadline"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_beyond_ten_years_are_refused() {
        let mut agreements = crate::domain::samples::agreements().into_iter();
        let Some(mut a) = agreements.next() else {
            unreachable!("the samples hold agreements")
        };
        a.reminder_days = vec![90, 3_661, 0];
        let mut v = Vec::new();
        reminder_rules(&a, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "reminder_days[1]");
        assert_eq!(v[0].rule, "reminder_days_range");
    }

    fn d(s: &str) -> NaiveDate {
        super::super::dates::parse_iso_date(s).unwrap_or_default()
    }

    fn sample(reference: &str) -> Agreement {
        crate::domain::samples::agreements()
            .into_iter()
            .find(|a| a.reference.as_str() == reference)
            .unwrap_or_else(|| panic!("no sample {reference}"))
    }

    /// The (field, rule) of every violation of the period rules.
    fn period_violations(a: &Agreement) -> Vec<(String, &'static str)> {
        let mut v = Vec::new();
        period_rules(a, &mut v);
        v.into_iter().map(|x| (x.field, x.rule)).collect()
    }

    #[test]
    fn a_current_end_after_the_outer_limit_is_refused_and_one_on_it_is_not() {
        // AGR-2025-0013: original and current end 2027-04-30, outer limit 2028-04-30.
        let mut a = sample("AGR-2025-0013");
        a.period.current_end = d("2028-04-30");
        assert_eq!(period_violations(&a), vec![]);
        a.period.current_end = d("2028-05-01");
        let mut v = Vec::new();
        period_rules(&a, &mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            (v[0].field.as_str(), v[0].value.as_str(), v[0].rule),
            ("period.current_end", "2028-05-01", "outer_limit")
        );
        assert!(v[0].message.contains("2028-04-30"), "{}", v[0].message);
        assert_eq!(
            validate(&a, &Facts::default())
                .iter()
                .filter(|x| x.rule == "outer_limit")
                .count(),
            1
        );
    }

    #[test]
    fn an_outer_limit_before_the_original_end_is_refused() {
        let mut a = sample("AGR-2025-0013");
        a.period.outer_limit = Some(d("2027-04-30"));
        assert_eq!(period_violations(&a), vec![]);
        a.period.outer_limit = Some(d("2027-04-29"));
        // The current end (2027-04-30) is then past it as well.
        assert_eq!(
            period_violations(&a),
            vec![
                ("period.current_end".to_owned(), "outer_limit"),
                ("period.outer_limit".to_owned(), "period_order")
            ]
        );
    }

    #[test]
    fn without_an_outer_limit_normalise_implies_one_from_the_options() {
        // AGR-2025-0004: original end 2027-03-31 plus two 12-month options.
        let mut a = sample("AGR-2025-0004");
        a.period.outer_limit = None;
        normalise(&mut a);
        assert_eq!(a.period.outer_limit, Some(d("2029-03-31")));
        // A stated limit is kept, not recomputed.
        a.period.outer_limit = Some(d("2028-03-31"));
        normalise(&mut a);
        assert_eq!(a.period.outer_limit, Some(d("2028-03-31")));
    }

    #[test]
    fn an_exercised_option_after_one_that_was_not_is_refused() {
        let mut a = sample("AGR-2025-0004");
        let mut v = Vec::new();
        option_rules(&a, &mut v);
        assert_eq!(v, vec![]);
        a.options[1].state = OptionState::Exercised;
        a.options[1].decided_on = Some(d("2026-12-01"));
        option_rules(&a, &mut v);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            (v[0].field.as_str(), v[0].value.as_str(), v[0].rule),
            ("options[1].state", "exercised", "options_sequential")
        );
        // Once option 1 is exercised too, the sequence holds.
        a.options[0].state = OptionState::Exercised;
        a.options[0].decided_on = Some(d("2026-11-30"));
        v.clear();
        option_rules(&a, &mut v);
        assert_eq!(v, vec![]);
    }

    #[test]
    fn threshold_picks_the_latest_in_force() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let facts = Facts {
            thresholds: vec![
                Threshold {
                    from: d("2022-01-01"),
                    amount: Sek::from_ore(70_000_000),
                },
                Threshold {
                    from: d("2020-01-01"),
                    amount: Sek::from_ore(61_500_000),
                },
            ],
            ..Facts::default()
        };
        assert_eq!(
            facts.threshold_on(d("2021-06-01")),
            Some(Sek::from_ore(61_500_000))
        );
        assert_eq!(
            facts.threshold_on(d("2026-09-01")),
            Some(Sek::from_ore(70_000_000))
        );
        assert_eq!(facts.threshold_on(d("2019-01-01")), None);
    }

    /// Facts of every sample organisation.
    fn sample_facts() -> Facts {
        Facts {
            organisations: crate::domain::samples::organisations()
                .iter()
                .map(|o| (o.org_number.clone(), OrgFacts::of(o)))
                .collect(),
            ..Facts::default()
        }
    }

    /// The (field, rule) of every violation of the party eligibility and funder rules.
    fn party_violations(a: &Agreement, facts: &Facts) -> Vec<(String, &'static str)> {
        let mut v = Vec::new();
        eligibility_rules(a, facts, &mut v);
        funder_rules(a, facts, &mut v);
        v.into_iter().map(|x| (x.field, x.rule)).collect()
    }

    #[test]
    fn every_sample_party_may_take_its_role() {
        let facts = sample_facts();
        for a in crate::domain::samples::agreements() {
            assert_eq!(party_violations(&a, &facts), vec![], "{}", a.reference);
        }
    }

    #[test]
    fn an_iop_partner_that_is_not_idea_based_needs_a_recorded_reason() {
        // AGR-2026-0009: Solrosen (769990-0077) is an ASF and idea-based.
        let a = sample("AGR-2026-0009");
        let mut facts = sample_facts();
        let partner = OrgNumber::parse("769990-0077").unwrap_or_else(|e| panic!("{e}"));
        if let Some(f) = facts.organisations.get_mut(&partner) {
            f.idea_based = false;
        }
        assert_eq!(
            party_violations(&a, &facts),
            vec![("parties[1].org".to_owned(), "iop_partner_idea_based")]
        );
        let mut excepted = a.clone();
        excepted.eligibility_exception = Some("Kooperativet drivs utan vinstsyfte".into());
        assert_eq!(party_violations(&excepted, &facts), vec![]);
        excepted.eligibility_exception = Some("  ".into());
        assert_eq!(
            party_violations(&excepted, &facts)
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>(),
            vec!["eligibility_exception_text", "iop_partner_idea_based"]
        );
    }

    #[test]
    fn a_reserved_contract_goes_to_an_asf_unless_a_reason_is_recorded() {
        // AGR-2025-0004 (LOU 4 kap. 18 § 1 p.): supplier Ljusglimt, an ASF.
        let mut a = sample("AGR-2025-0004");
        let facts = sample_facts();
        assert_eq!(party_violations(&a, &facts), vec![]);
        let other = OrgNumber::parse("559990-0023").unwrap_or_else(|e| panic!("{e}"));
        let i = a
            .parties
            .iter()
            .position(|p| p.role == PartyRole::Supplier)
            .unwrap_or_else(|| panic!("a supplier"));
        a.parties[i].org = other;
        assert_eq!(
            party_violations(&a, &facts),
            vec![(
                format!("parties[{i}].org"),
                "reserved_supplier_integration_aim"
            )]
        );
        a.eligibility_exception = Some("Beslut i nämnden § 12".into());
        assert_eq!(party_violations(&a, &facts), vec![]);
    }

    #[test]
    fn a_samordningsforbund_funds_only_an_agreement_one_of_its_members_signs() {
        let mut a = sample("AGR-2026-0009");
        let mut facts = sample_facts();
        assert_eq!(party_violations(&a, &facts), vec![]);
        // Botkyrka is not a member of Samordningsförbundet Östra Södertörn.
        a.parties[0].org = OrgNumber::parse("212900-0051").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            party_violations(&a, &facts),
            vec![("parties[2].org".to_owned(), "funded_by_member_authority")]
        );
        let funder = OrgNumber::parse("202900-0011").unwrap_or_else(|e| panic!("{e}"));
        if let Some(f) = facts.organisations.get_mut(&funder) {
            f.members.clear();
        }
        let v = {
            let mut v = Vec::new();
            funder_rules(&a, &facts, &mut v);
            v
        };
        assert!(v[0].message.contains("no member authorities"), "{v:?}");
        // No exception lets a non-member sign.
        a.eligibility_exception = Some("skäl".into());
        assert_eq!(party_violations(&a, &facts).len(), 1);
    }
}
