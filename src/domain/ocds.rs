//! The pure mapping of an agreement to an OCDS 1.1 release, and the package around releases.
//!
//! No I/O: the caller passes the agreement, the organisations it names and the day the
//! derived states (option and report states) are computed for. The extensions that carry the
//! registry's data are named by their public URLs ([`EXTENSIONS`]); README "Exports" documents
//! the mapping field by field.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::agreement::{Agreement, ExtensionOption};
use super::codes::*;
use super::deadlines::{DeadlineKind, ReminderLadders, deadlines};
use super::indicators::{IndicatorId, Quantity};
use super::money::Sek;
use super::org_number::OrgNumber;
use super::outcomes;
use super::party::Organisation;

/// The OCDS version of every package.
pub const OCDS_VERSION: &str = "1.1";

/// The extensions a package declares, by their public URLs.
pub const EXTENSIONS: &[&str] = &[
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_sustainability_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_otherRequirements_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_contractTerms_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_options_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_renewal_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_contract_signatories_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/master/extension.json",
];

/// The scheme of Swedish organisation numbers on org-id.guide (Bolagsverket).
pub const ORG_SCHEME: &str = "SE-BLV";

/// The local party role of the idea-based partner of an IOP: an IOP is not a procurement, so the
/// partner is neither a `supplier` nor in the award's suppliers.
pub const IOP_PARTNER_ROLE: &str = "iopPartner";

/// What a release needs besides the agreement.
#[derive(Debug, Clone)]
pub struct ReleaseContext<'a> {
    /// Prefix of every ocid, e.g. `ocds-avtal-`.
    pub ocid_prefix: &'a str,
    /// The day option and report states are derived for.
    pub today: NaiveDate,
    /// Reminder ladders (the deadline engine needs them; they do not change the mapping).
    pub ladders: &'a ReminderLadders,
    /// The organisations the agreement names, by number; a missing one is exported by number only.
    pub organisations: &'a HashMap<OrgNumber, Organisation>,
}

/// The stored version of an agreement a release describes.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseMeta {
    /// The stored version (release ids are `<ocid>-<version>`).
    pub version: i32,
    /// When that version was stored.
    pub updated_at: DateTime<Utc>,
}

/// The package fields before `releases` / `records`.
#[derive(Debug, Clone)]
pub struct PackageMeta<'a> {
    /// The package's own URI.
    pub uri: &'a str,
    /// Publisher name.
    pub publisher: &'a str,
    /// Publication time.
    pub published: DateTime<Utc>,
}

/// The ocid of an agreement.
pub fn ocid(prefix: &str, a: &Agreement) -> String {
    format!("{prefix}{}", a.reference)
}

/// The package head (everything but the releases or records), as an object.
pub fn package_head(meta: &PackageMeta<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uri".into(), json!(meta.uri));
    m.insert("version".into(), json!(OCDS_VERSION));
    m.insert("extensions".into(), json!(EXTENSIONS));
    m.insert("publishedDate".into(), json!(utc_time(meta.published)));
    m.insert("publisher".into(), json!({ "name": meta.publisher }));
    m
}

/// A record for one agreement: its release(s) and the compiled release (the latest state).
pub fn record(ocid: &str, releases: Vec<Value>) -> Value {
    let mut compiled = releases.last().cloned().unwrap_or(Value::Null);
    if let Some(obj) = compiled.as_object_mut() {
        obj.insert("id".into(), json!(format!("{ocid}-compiled")));
        obj.insert("tag".into(), json!(["compiled"]));
    }
    json!({ "ocid": ocid, "releases": releases, "compiledRelease": compiled })
}

fn utc_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A day as an OCDS date-time in Swedish time: its first second, or its last with `end_of_day`.
pub fn day_time(d: NaiveDate, end_of_day: bool) -> String {
    let (h, m, s) = if end_of_day { (23, 59, 59) } else { (0, 0, 0) };
    let local = d.and_hms_opt(h, m, s).unwrap_or_default();
    match chrono_tz::Europe::Stockholm
        .from_local_datetime(&local)
        .earliest()
    {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        None => format!("{}Z", local.format("%Y-%m-%dT%H:%M:%S")),
    }
}

/// An amount as an OCDS value: a JSON number of kronor (whole kronor as an integer) and SEK.
pub fn value(amount: Sek) -> Value {
    let ore = amount.ore();
    let number = if ore % 100 == 0 {
        json!(ore / 100)
    } else {
        json!(ore as f64 / 100.0)
    };
    json!({ "amount": number, "currency": "SEK" })
}

/// The party id of an organisation: `SE-BLV-NNNNNNNNNN`.
pub fn party_id(org: &OrgNumber) -> String {
    format!("{ORG_SCHEME}-{}", org.as_str().replace('-', ""))
}

fn org_ref(org: &OrgNumber, orgs: &HashMap<OrgNumber, Organisation>) -> Value {
    let name = orgs
        .get(org)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| org.to_string());
    json!({ "id": party_id(org), "name": name })
}

/// The OCDS contract status of an agreement status.
pub fn contract_status(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Draft | AgreementStatus::PendingDecision => "pending",
        AgreementStatus::Active | AgreementStatus::NoticeGiven => "active",
        // Came into force and has come to a close, at its end or early.
        AgreementStatus::Expired | AgreementStatus::Terminated => "terminated",
        AgreementStatus::Cancelled => "cancelled",
    }
}

fn award_status(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Draft | AgreementStatus::PendingDecision => "pending",
        AgreementStatus::Cancelled => "cancelled",
        _ => "active",
    }
}

fn tender_status(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Draft | AgreementStatus::PendingDecision => "planning",
        AgreementStatus::Cancelled => "cancelled",
        _ => "complete",
    }
}

/// The OCDS procurement method of a procedure type (closed code list), where one fits.
pub fn procurement_method(p: ProcedureType) -> Option<&'static str> {
    match p {
        ProcedureType::Open | ProcedureType::Simplified => Some("open"),
        ProcedureType::Restricted
        | ProcedureType::NegWithCall
        | ProcedureType::CompetitiveDialogue
        | ProcedureType::Innovation => Some("selective"),
        ProcedureType::NegWithoutCall => Some("limited"),
        ProcedureType::DirectAward => Some("direct"),
        ProcedureType::OtherSingle | ProcedureType::OtherMultiple => None,
    }
}

/// The OCDS milestone status of a report occurrence state.
pub fn milestone_status(s: OccurrenceState) -> &'static str {
    match s {
        OccurrenceState::Upcoming | OccurrenceState::Due | OccurrenceState::Rejected => "scheduled",
        OccurrenceState::Submitted | OccurrenceState::Accepted => "met",
        OccurrenceState::Late | OccurrenceState::Escalated => "notMet",
    }
}

fn roles(a: &Agreement, role: PartyRole) -> Vec<&'static str> {
    match role {
        PartyRole::Buyer if a.kind.is_procurement() => vec!["buyer", "procuringEntity"],
        PartyRole::Buyer => vec!["buyer"],
        PartyRole::Supplier => vec!["supplier"],
        PartyRole::Funder => vec!["funder"],
        PartyRole::IopPartner => vec![IOP_PARTNER_ROLE],
    }
}

fn parties(a: &Agreement, orgs: &HashMap<OrgNumber, Organisation>) -> Vec<Value> {
    let mut order: Vec<&OrgNumber> = Vec::new();
    let mut by_org: HashMap<&OrgNumber, Vec<&'static str>> = HashMap::new();
    for p in &a.parties {
        let entry = by_org.entry(&p.org).or_insert_with(|| {
            order.push(&p.org);
            Vec::new()
        });
        for r in roles(a, p.role) {
            if !entry.contains(&r) {
                entry.push(r);
            }
        }
    }
    order
        .into_iter()
        .map(|org| {
            let mut v = org_ref(org, orgs);
            if let Some(obj) = v.as_object_mut() {
                let legal_name = orgs.get(org).map(|o| o.name.clone());
                let mut identifier = json!({
                    "scheme": ORG_SCHEME,
                    "id": org.as_str().replace('-', ""),
                });
                if let (Some(n), Some(i)) = (legal_name, identifier.as_object_mut()) {
                    i.insert("legalName".into(), json!(n));
                }
                obj.insert("identifier".into(), identifier);
                obj.insert("roles".into(), json!(by_org.get(org).cloned()));
            }
            v
        })
        .collect()
}

/// The sustainability entries: one per BT-775 objective, with the strategies of its clauses
/// (and `reservedParticipation` when participation is reserved).
fn sustainability(a: &Agreement) -> Vec<Value> {
    let reserved = a.reservation() == Some("participation");
    a.social_objectives()
        .into_iter()
        .map(|o| {
            let mut strategies: Vec<&str> = a
                .social_clauses
                .iter()
                .filter(|c| c.objective == o)
                .map(|c| c.strategy.code())
                .collect();
            if reserved && o == SocialObjective::Employment {
                strategies.push("reservedParticipation");
            }
            strategies.sort_unstable();
            strategies.dedup();
            let mut m = Map::new();
            m.insert("goal".into(), json!(o.ocds_goal().unwrap_or("social")));
            if !strategies.is_empty() {
                m.insert("strategies".into(), json!(strategies));
            }
            let targets: Vec<&str> = a
                .social_clauses
                .iter()
                .filter(|c| c.objective == o)
                .map(|c| c.target.as_str())
                .filter(|t| !t.trim().is_empty())
                .collect();
            let description = if targets.is_empty() {
                format!("BT-775 {}", o.code())
            } else {
                format!("BT-775 {}: {}", o.code(), targets.join(" / "))
            };
            m.insert("description".into(), json!(description));
            Value::Object(m)
        })
        .collect()
}

fn option_label(s: OptionState) -> &'static str {
    match s {
        OptionState::Available => "tillgänglig",
        OptionState::Exercised => "utnyttjad",
        OptionState::Declined => "avböjd",
        OptionState::Lapsed => "förfallen",
    }
}

fn options(a: &Agreement, today: NaiveDate) -> Option<Value> {
    if a.options.is_empty() {
        return None;
    }
    let parts: Vec<String> = a
        .options_in_order()
        .into_iter()
        .map(|o: &ExtensionOption| {
            let decide_by = a.option_decide_by(o);
            let mut s = format!(
                "Option {}: {} månader, {}",
                o.seq,
                o.months,
                option_label(o.state_on(decide_by, today))
            );
            if let Some(d) = decide_by {
                s.push_str(&format!(", beslut senast {d}"));
            }
            s
        })
        .collect();
    let mut m = Map::new();
    m.insert("description".into(), json!(parts.join("; ")));
    if let Some(limit) = a.period.outer_limit.filter(|l| *l > a.period.current_end) {
        let from = a.period.current_end.succ_opt().unwrap_or(limit);
        m.insert(
            "period".into(),
            json!({ "startDate": day_time(from, false), "endDate": day_time(limit, true) }),
        );
    }
    Some(Value::Object(m))
}

fn renewal(a: &Agreement) -> Option<Value> {
    let r = a.tacit_renewal.as_ref()?;
    let mut description = format!(
        "Förlängs automatiskt med {} månader i taget om ingen säger upp senast {} månader före slutdatum; {} förlängning(ar) gjorda",
        r.months, r.notice_months, r.renewals_done
    );
    let mut m = Map::new();
    match r.max_renewals {
        Some(max) => {
            m.insert("maximumRenewals".into(), json!(max));
        }
        None => description.push_str("; utan övre gräns"),
    }
    m.insert("description".into(), json!(description));
    if let Some(limit) = a.period.outer_limit {
        m.insert(
            "period".into(),
            json!({ "maxExtentDate": day_time(limit, true) }),
        );
    }
    Some(Value::Object(m))
}

/// `17:10` as `LOU 17 kap. 10 §`.
fn ground_citation(g: AmendmentGround) -> String {
    match g.code().split_once(':') {
        Some((chapter, section)) => format!("LOU {chapter} kap. {section} §"),
        None => format!("LOU {}", g.code()),
    }
}

fn amendments(a: &Agreement, ocid: &str) -> Vec<Value> {
    let mut out: Vec<Value> = a
        .amendments
        .iter()
        .enumerate()
        .map(|(i, am)| {
            let mut parts = Vec::new();
            if let Some(seq) = am.option_seq {
                parts.push(format!("option {seq} utnyttjad"));
            }
            if let Some(end) = am.new_end {
                parts.push(format!("nytt slutdatum {end}"));
            }
            if let Some(v) = am.value_change_sek {
                parts.push(format!("värdeförändring {v} kr"));
            }
            let mut m = Map::new();
            m.insert("id".into(), json!(format!("{ocid}-amendment-{}", i + 1)));
            m.insert("date".into(), json!(day_time(am.date, false)));
            m.insert(
                "rationale".into(),
                json!(format!(
                    "{} ({}): {}",
                    ground_citation(am.ground),
                    am.ground.bt200(),
                    am.rationale
                )),
            );
            if !parts.is_empty() {
                m.insert("description".into(), json!(parts.join("; ")));
            }
            Value::Object(m)
        })
        .collect();
    // An exercised option with no amendment of its own still changed the contract.
    for o in a.options_in_order() {
        let recorded = a.amendments.iter().any(|am| am.option_seq == Some(o.seq));
        if o.state == OptionState::Exercised && !recorded {
            let mut m = Map::new();
            m.insert("id".into(), json!(format!("{ocid}-option-{}", o.seq)));
            if let Some(d) = o.decided_on {
                m.insert("date".into(), json!(day_time(d, false)));
            }
            m.insert(
                "rationale".into(),
                json!(format!(
                    "{} ({}): option {} utnyttjad",
                    ground_citation(AmendmentGround::ReviewClause),
                    AmendmentGround::ReviewClause.bt200(),
                    o.seq
                )),
            );
            m.insert(
                "description".into(),
                json!(format!("förlängning med {} månader", o.months)),
            );
            out.push(Value::Object(m));
        }
    }
    out
}

fn milestones(a: &Agreement, ctx: &ReleaseContext<'_>) -> Vec<Value> {
    deadlines(a, ctx.today, ctx.ladders)
        .into_iter()
        .filter(|d| d.kind == DeadlineKind::Report)
        .filter_map(|d| {
            let r = d.report?;
            let mut m = Map::new();
            m.insert("id".into(), json!(d.occurrence));
            let title = if r.final_report {
                format!("Slutrapport {} för perioden till {}", r.kind, r.period_end)
            } else {
                format!("Rapport {} för perioden till {}", r.kind, r.period_end)
            };
            m.insert("title".into(), json!(title));
            m.insert("type".into(), json!("reporting"));
            m.insert(
                "description".into(),
                json!(format!("Status i registret: {}", r.state.code())),
            );
            m.insert("dueDate".into(), json!(day_time(r.due, true)));
            m.insert("status".into(), json!(milestone_status(r.state)));
            if matches!(
                r.state,
                OccurrenceState::Submitted | OccurrenceState::Accepted
            ) {
                let submitted = a
                    .reporting
                    .iter()
                    .filter(|o| o.kind == r.kind)
                    .flat_map(|o| o.occurrences.iter())
                    .find(|rec| rec.period_end == r.period_end)
                    .and_then(|rec| rec.submitted_on);
                if let Some(s) = submitted {
                    m.insert("dateMet".into(), json!(day_time(s, false)));
                }
            }
            Some(Value::Object(m))
        })
        .collect()
}

/// The release of one agreement as it stands (`meta`), with states derived on `ctx.today`.
pub fn release(a: &Agreement, meta: ReleaseMeta, ctx: &ReleaseContext<'_>) -> Value {
    // The contract period and renewal fields as they stand on `ctx.today` (the one date source).
    let (now, _) = super::clock::as_on(a, ctx.today);
    let a = now.as_ref();
    let ocid = ocid(ctx.ocid_prefix, a);
    let orgs = ctx.organisations;
    let buyers: Vec<&OrgNumber> = a.parties_in(PartyRole::Buyer).collect();
    let suppliers: Vec<Value> = a
        .parties_in(PartyRole::Supplier)
        .map(|o| org_ref(o, orgs))
        .collect();
    let contracting: Vec<Value> = a
        .parties
        .iter()
        .filter(|p| p.role != PartyRole::Funder)
        .map(|p| &p.org)
        .fold(Vec::<&OrgNumber>::new(), |mut v, o| {
            if !v.contains(&o) {
                v.push(o);
            }
            v
        })
        .into_iter()
        .map(|o| org_ref(o, orgs))
        .collect();

    let mut tags = vec!["award", "contract"];
    if !a.amendments.is_empty() || a.options.iter().any(|o| o.state == OptionState::Exercised) {
        tags.push("contractAmendment");
    }
    if a.status == AgreementStatus::Terminated {
        tags.push("contractTermination");
    }

    // Tender: how the agreement came about, with the social clauses and reservations.
    let mut tender = Map::new();
    tender.insert("id".into(), json!(format!("{ocid}-tender")));
    tender.insert("title".into(), json!(a.title));
    tender.insert("status".into(), json!(tender_status(a.status)));
    if let Some(m) = a.procedure_type.and_then(procurement_method) {
        tender.insert("procurementMethod".into(), json!(m));
    }
    let details = match (a.kind, a.procedure_type) {
        (AgreementKind::Iop, _) => "IOP (idéburet offentligt partnerskap)".to_owned(),
        (_, Some(p)) => p.code().to_owned(),
        (k, None) => k.code().to_owned(),
    };
    tender.insert("procurementMethodDetails".into(), json!(details));
    tender.insert(
        "procurementMethodRationale".into(),
        json!(a.legal_basis.citation()),
    );
    if let Some(n) = a.eforms.bt_23 {
        let cat = match n {
            ContractNature::Works => "works",
            ContractNature::Services => "services",
            ContractNature::Supplies => "goods",
        };
        tender.insert("mainProcurementCategory".into(), json!(cat));
    }
    if let Some(b) = buyers.first().filter(|_| a.kind.is_procurement()) {
        tender.insert("procuringEntity".into(), org_ref(b, orgs));
    }
    if let Some(v) = a.value.as_ref().and_then(|v| v.estimated_total_sek) {
        tender.insert("value".into(), value(v));
    }
    let reserved_participation = match a.eforms.bt_71 {
        Some(ReservedParticipation::ShelteredWorkshop) => Some("shelteredWorkshop"),
        Some(ReservedParticipation::PublicServiceMission) => {
            Some("publicServiceMissionOrganization")
        }
        _ => None,
    };
    if let Some(r) = reserved_participation {
        tender.insert(
            "otherRequirements".into(),
            json!({ "reservedParticipation": [r] }),
        );
    }
    match a.eforms.bt_736 {
        Some(ReservedExecution::Yes) => {
            tender.insert("contractTerms".into(), json!({ "reservedExecution": true }));
        }
        Some(ReservedExecution::No) => {
            tender.insert(
                "contractTerms".into(),
                json!({ "reservedExecution": false }),
            );
        }
        _ => {}
    }
    let sus = sustainability(a);
    tender.insert("hasSustainability".into(), json!(!sus.is_empty()));
    if !sus.is_empty() {
        tender.insert("sustainability".into(), json!(sus));
    }
    tender.insert("hasOptions".into(), json!(!a.options.is_empty()));
    tender.insert("hasRenewal".into(), json!(a.tacit_renewal.is_some()));

    // Award.
    let award_id = format!("{ocid}-award");
    let mut award = Map::new();
    award.insert("id".into(), json!(award_id));
    award.insert("title".into(), json!(a.title));
    award.insert("status".into(), json!(award_status(a.status)));
    if let Some(d) = a.signed_on.or(a.decision.as_ref().map(|d| d.date)) {
        award.insert("date".into(), json!(day_time(d, false)));
    }
    if let Some(v) = &a.value {
        award.insert("value".into(), value(v.amount_sek));
    }
    if !suppliers.is_empty() {
        award.insert("suppliers".into(), json!(suppliers));
    }

    // Contract.
    let mut period = Map::new();
    period.insert("startDate".into(), json!(day_time(a.period.start, false)));
    period.insert(
        "endDate".into(),
        json!(day_time(a.period.current_end, true)),
    );
    if let Some(l) = a.period.outer_limit {
        period.insert("maxExtentDate".into(), json!(day_time(l, true)));
    }
    let mut contract = Map::new();
    contract.insert("id".into(), json!(a.reference.as_str()));
    contract.insert("awardID".into(), json!(award_id));
    contract.insert("title".into(), json!(a.title));
    let mut description = format!("{} ({})", a.legal_basis.citation(), a.kind.code());
    if let Some(d) = &a.diarienummer {
        description.push_str(&format!("; diarienummer {d}"));
    }
    if let Some(p) = a.share_requirement_percent {
        description.push_str(&format!(
            "; minst {p} % av de anställda ur målgruppen (LOU 4 kap. 18 §)"
        ));
    }
    contract.insert("description".into(), json!(description));
    contract.insert("status".into(), json!(contract_status(a.status)));
    contract.insert("period".into(), Value::Object(period));
    if let Some(v) = &a.value {
        contract.insert("value".into(), value(v.amount_sek));
    }
    if let Some(d) = a.signed_on {
        contract.insert("dateSigned".into(), json!(day_time(d, false)));
    }
    if !contracting.is_empty() {
        contract.insert("signatories".into(), json!(contracting));
    }
    contract.insert("hasOptions".into(), json!(!a.options.is_empty()));
    if let Some(o) = options(a, ctx.today) {
        contract.insert("options".into(), o);
    }
    contract.insert("hasRenewal".into(), json!(a.tacit_renewal.is_some()));
    if let Some(r) = renewal(a) {
        contract.insert("renewal".into(), r);
    }
    let agreed = agreed_metrics(a);
    if !agreed.is_empty() {
        contract.insert("agreedMetrics".into(), json!(agreed));
    }
    let ms = milestones(a, ctx);
    let results = result_metrics(a);
    if !ms.is_empty() || !results.is_empty() {
        let mut implementation = Map::new();
        if !ms.is_empty() {
            implementation.insert("milestones".into(), json!(ms));
        }
        if !results.is_empty() {
            implementation.insert("metrics".into(), json!(results));
        }
        contract.insert("implementation".into(), Value::Object(implementation));
    }
    let am = amendments(a, &ocid);
    if !am.is_empty() {
        contract.insert("amendments".into(), json!(am));
    }

    let mut release = Map::new();
    release.insert("ocid".into(), json!(ocid));
    release.insert("id".into(), json!(format!("{ocid}-{}", meta.version)));
    release.insert("date".into(), json!(utc_time(meta.updated_at)));
    release.insert("tag".into(), json!(tags));
    release.insert("initiationType".into(), json!("tender"));
    release.insert("language".into(), json!("sv"));
    release.insert("parties".into(), json!(parties(a, orgs)));
    if let Some(b) = buyers.first() {
        release.insert("buyer".into(), org_ref(b, orgs));
    }
    release.insert("tender".into(), Value::Object(tender));
    release.insert("awards".into(), json!([Value::Object(award)]));
    release.insert("contracts".into(), json!([Value::Object(contract)]));
    Value::Object(release)
}

/// The unit of an indicator as an observation's `unit`.
fn metric_unit(u: Unit) -> Value {
    json!({ "name": super::indicators::unit_sv(u) })
}

/// A quantity as an observation's `measure`, or `value` for kronor.
fn measure(obs: &mut Map<String, Value>, unit: Unit, q: Quantity) {
    if unit == Unit::Kronor {
        obs.insert(
            "value".into(),
            json!({ "amount": q.as_f64(), "currency": "SEK" }),
        );
    } else {
        obs.insert("measure".into(), json!(q.as_f64()));
        obs.insert("unit".into(), metric_unit(unit));
    }
}

/// The targets of the agreement's goals and social clauses as `contract.agreedMetrics`: one
/// metric per target, its observation the target value with the indicator code, the direction
/// and the period it counts over as dimensions.
fn agreed_metrics(a: &Agreement) -> Vec<Value> {
    outcomes::targets(a)
        .into_iter()
        .enumerate()
        .map(|(i, (_, t))| {
            let ind = outcomes::indicator(a, &t.indicator);
            let unit = ind.map_or(Unit::People, |x| x.unit);
            let id = format!("target-{}-{}", i + 1, t.indicator);
            let mut obs = Map::new();
            obs.insert("id".into(), json!(format!("{id}-value")));
            measure(&mut obs, unit, t.value);
            obs.insert(
                "period".into(),
                json!({
                    "startDate": day_time(a.period.start, false),
                    "endDate": day_time(a.period.current_end, true),
                }),
            );
            obs.insert(
                "dimensions".into(),
                json!({
                    "indicatorCode": t.indicator.as_str(),
                    "direction": match t.direction { Direction::AtLeast => "atLeast", Direction::AtMost => "atMost" },
                    "per": t.per.code(),
                }),
            );
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            if let Some(ind) = ind {
                m.insert("title".into(), json!(ind.name_sv));
                m.insert("description".into(), json!(ind.name_en));
            }
            m.insert("observations".into(), json!([Value::Object(obs)]));
            Value::Object(m)
        })
        .collect()
}

/// The figures of accepted reports as `contract.implementation.metrics`: one metric per
/// indicator, one observation per period and part (total, women, men, other), with the indicator
/// code and the gender as dimensions. Figures not accepted are left out.
fn result_metrics(a: &Agreement) -> Vec<Value> {
    let mut ids: Vec<&IndicatorId> = a
        .reporting
        .iter()
        .flat_map(|ob| ob.occurrences.iter())
        .filter(|r| r.state == OccurrenceState::Accepted)
        .flat_map(|r| r.figures.iter().map(|f| &f.indicator))
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let ind = outcomes::indicator(a, id);
            let unit = ind.map_or(Unit::People, |x| x.unit);
            let mut observations = Vec::new();
            for x in outcomes::accepted(a, id) {
                for g in Gender::ALL {
                    let Some(q) = x.figure.part(*g) else {
                        continue;
                    };
                    let mut obs = Map::new();
                    obs.insert("id".into(), json!(format!("{id}-{}-{g}", x.period_end)));
                    obs.insert(
                        "period".into(),
                        json!({ "endDate": day_time(x.period_end, true) }),
                    );
                    measure(&mut obs, unit, q);
                    obs.insert(
                        "dimensions".into(),
                        json!({ "indicatorCode": id.as_str(), "gender": g.code() }),
                    );
                    observations.push(Value::Object(obs));
                }
            }
            let mut m = Map::new();
            m.insert("id".into(), json!(id.as_str()));
            if let Some(ind) = ind {
                m.insert("title".into(), json!(ind.name_sv));
                m.insert("description".into(), json!(ind.name_en));
            }
            m.insert("observations".into(), json!(observations));
            Value::Object(m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_agreement_is_a_terminated_contract_and_a_draft_a_pending_one() {
        assert_eq!(contract_status(AgreementStatus::Expired), "terminated");
        assert_eq!(contract_status(AgreementStatus::Terminated), "terminated");
        assert_eq!(contract_status(AgreementStatus::NoticeGiven), "active");
        assert_eq!(contract_status(AgreementStatus::PendingDecision), "pending");
        assert_eq!(contract_status(AgreementStatus::Cancelled), "cancelled");
    }

    #[test]
    fn a_late_report_is_a_milestone_not_met_and_a_rejected_one_is_scheduled_again() {
        assert_eq!(milestone_status(OccurrenceState::Late), "notMet");
        assert_eq!(milestone_status(OccurrenceState::Escalated), "notMet");
        assert_eq!(milestone_status(OccurrenceState::Accepted), "met");
        assert_eq!(milestone_status(OccurrenceState::Rejected), "scheduled");
    }

    #[test]
    fn amounts_are_numbers_of_kronor_and_organisations_get_se_blv_ids() {
        assert_eq!(
            value(Sek::from_ore(145_000_000))["amount"],
            json!(1_450_000)
        );
        assert_eq!(value(Sek::from_ore(12_350))["amount"], json!(123.5));
        let org = OrgNumber::parse("212900-0028").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(party_id(&org), "SE-BLV-2129000028");
    }

    #[test]
    fn days_are_swedish_times_with_their_offset() {
        let winter = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap_or_default();
        let summer = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap_or_default();
        assert_eq!(day_time(winter, true), "2027-01-31T23:59:59+01:00");
        assert_eq!(day_time(summer, false), "2027-06-30T00:00:00+02:00");
    }
}
