//! JSON API handlers under `/api/v1`: thin adapters from HTTP to the registry's use cases.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::auth::Acting;
use super::error::{AppError, parse_param};
use super::extract::{ApiJson, ApiQuery};
use super::state::AppState;
use crate::config::Settings;
use crate::domain::agreement::{Agreement, Amendment, Reference};
use crate::domain::clock::{Warning, state_on};
use crate::domain::codes::*;
use crate::domain::dates::parse_iso_date;
use crate::domain::deadlines::{Deadline, ReminderLadders, deadlines};
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{Contact, EmailAddress, Organisation};
use crate::registry::AgreementAction;
use crate::registry::reminders::OutboxRow;
use crate::registry::reminders::OutboxState;
use crate::registry::{AgreementFilter, AgreementPage, ReservedFilter, SortKey, Stored};

/// Largest page size of a list.
pub const MAX_LIMIT: u64 = 500;

/// Highest page number of a list (far beyond any registry; keeps the offset in range).
pub const MAX_PAGE: u64 = 1_000_000;

fn bad(field: &str, message: impl ToString) -> AppError {
    AppError::BadRequest {
        field: Some(field.to_owned()),
        message: message.to_string(),
    }
}

/// `GET /health`: the database state.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.registry.health().await {
        Ok(backend) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": backend})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}

/// Paging parameters of the simple lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    page: Option<u64>,
    limit: Option<u64>,
    organisation: Option<String>,
}

/// A page of a simple list.
#[derive(Debug, Serialize)]
pub struct ListResponse<T> {
    items: Vec<T>,
    total: u64,
    page: u64,
    limit: u64,
}

fn paging(page: Option<u64>, limit: Option<u64>) -> Result<(u64, u64), AppError> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad("limit", format!("limit is between 1 and {MAX_LIMIT}")));
    }
    let page = page.unwrap_or(1);
    if page == 0 || page > MAX_PAGE {
        return Err(bad(
            "page",
            format!("pages are numbered from 1 to {MAX_PAGE}"),
        ));
    }
    Ok((page, limit))
}

/// A versioned update body: `{"version": N, "<record>": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versioned<T> {
    version: i32,
    #[serde(alias = "organisation", alias = "contact", alias = "agreement")]
    data: T,
}

// ---------- organisations ----------

/// `GET /api/v1/organisations`
pub async fn list_organisations(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ListResponse<Stored<Organisation>>>, AppError> {
    if q.organisation.is_some() {
        return Err(bad(
            "organisation",
            "organisation filters the contacts; the organisations are listed by number",
        ));
    }
    let (page, limit) = paging(q.page, q.limit)?;
    let (items, total) = state
        .registry
        .organisations(limit, (page - 1) * limit)
        .await?;
    Ok(Json(ListResponse {
        items,
        total,
        page,
        limit,
    }))
}

/// `POST /api/v1/organisations`
pub async fn create_organisation(
    Acting(state): Acting,
    ApiJson(o): ApiJson<Organisation>,
) -> Result<(StatusCode, Json<Stored<Organisation>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(state.registry.create_organisation(o).await?),
    ))
}

/// `GET /api/v1/organisations/{org_number}`
pub async fn show_organisation(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Stored<Organisation>>, AppError> {
    let key = parse_param("org_number", &key, OrgNumber::for_lookup)?;
    Ok(Json(state.registry.organisation(&key).await?))
}

/// `PUT /api/v1/organisations/{org_number}`
pub async fn update_organisation(
    Acting(state): Acting,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<Versioned<Organisation>>,
) -> Result<Json<Stored<Organisation>>, AppError> {
    let key = parse_param("org_number", &key, OrgNumber::for_lookup)?;
    Ok(Json(
        state
            .registry
            .update_organisation(&key, body.version, body.data)
            .await?,
    ))
}

// ---------- contacts ----------

/// `GET /api/v1/contacts`
pub async fn list_contacts(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ListResponse<Stored<Contact>>>, AppError> {
    let (page, limit) = paging(q.page, q.limit)?;
    let org = q
        .organisation
        .as_deref()
        .map(|s| parse_param("organisation", s, OrgNumber::for_lookup))
        .transpose()?;
    let (items, total) = state
        .registry
        .contacts(org.as_ref(), limit, (page - 1) * limit)
        .await?;
    Ok(Json(ListResponse {
        items,
        total,
        page,
        limit,
    }))
}

/// `POST /api/v1/contacts`
pub async fn create_contact(
    Acting(state): Acting,
    ApiJson(c): ApiJson<Contact>,
) -> Result<(StatusCode, Json<Stored<Contact>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(state.registry.create_contact(c).await?),
    ))
}

/// `GET /api/v1/contacts/{email}`
pub async fn show_contact(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Stored<Contact>>, AppError> {
    let key = parse_param("email", &key, EmailAddress::parse)?;
    Ok(Json(state.registry.contact(&key).await?))
}

/// `PUT /api/v1/contacts/{email}`
pub async fn update_contact(
    Acting(state): Acting,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<Versioned<Contact>>,
) -> Result<Json<Stored<Contact>>, AppError> {
    let key = parse_param("email", &key, EmailAddress::parse)?;
    Ok(Json(
        state
            .registry
            .update_contact(&key, body.version, body.data)
            .await?,
    ))
}

// ---------- agreements ----------

/// Query parameters of the agreement list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementListQuery {
    active_on: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    legal_basis: Option<String>,
    social_objective: Option<String>,
    reserved: Option<String>,
    party: Option<String>,
    ends_before: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
    limit: Option<u64>,
}

impl AgreementListQuery {
    /// Parses the raw parameters into a filter, naming the first bad one.
    pub fn to_filter(&self) -> Result<AgreementFilter, AppError> {
        fn opt<T, E: ToString>(
            field: &str,
            v: &Option<String>,
            p: impl Fn(&str) -> Result<T, E>,
        ) -> Result<Option<T>, AppError> {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| parse_param(field, s, &p))
                .transpose()
        }
        let reserved = opt("reserved", &self.reserved, |s| match s {
            "true" | "yes" | "any" => Ok(ReservedFilter::Any),
            "false" | "no" | "none" => Ok(ReservedFilter::None),
            "participation" => Ok(ReservedFilter::Participation),
            "execution" => Ok(ReservedFilter::Execution),
            "idea_based" => Ok(ReservedFilter::IdeaBased),
            other => Err(format!(
                "\"{other}\" is not one of: true, false, participation, execution, idea_based"
            )),
        })?;
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            return Err(bad("q", "a search text has at most 200 characters"));
        }
        Ok(AgreementFilter {
            active_on: opt("active_on", &self.active_on, parse_iso_date)?,
            kind: opt("kind", &self.kind, AgreementKind::parse)?,
            status: opt("status", &self.status, AgreementStatus::parse)?,
            legal_basis: opt("legal_basis", &self.legal_basis, LegalBasis::parse)?,
            social_objective: opt(
                "social_objective",
                &self.social_objective,
                SocialObjective::parse,
            )?,
            reserved,
            party: opt("party", &self.party, OrgNumber::for_lookup)?,
            ends_before: opt("ends_before", &self.ends_before, parse_iso_date)?,
            q: self.q.clone().filter(|s| !s.trim().is_empty()),
        })
    }

    /// The page number and size, checked.
    pub fn paging(&self) -> Result<(u64, u64), AppError> {
        paging(self.page, self.limit)
    }

    /// Whether sort or paging parameters were given (an export takes only the filters).
    pub fn has_paging(&self) -> bool {
        self.sort.is_some() || self.page.is_some() || self.limit.is_some()
    }

    /// Parses `sort`: a key, `-` in front for descending. Without one, a search is sorted by
    /// relevance and a list by reference.
    pub fn to_sort(&self) -> Result<(SortKey, bool), AppError> {
        let searching = self.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        let raw = self
            .sort
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(if searching { "relevance" } else { "reference" });
        let (desc, key) = match raw.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, raw),
        };
        let key = match key {
            "reference" => SortKey::Reference,
            "title" => SortKey::Title,
            "start" => SortKey::Start,
            "end" => SortKey::End,
            "value" => SortKey::Value,
            "relevance" => SortKey::Relevance,
            other => {
                return Err(bad(
                    "sort",
                    format!(
                        "\"{other}\" is not one of: reference, title, start, end, value, relevance (prefix - to reverse)"
                    ),
                ));
            }
        };
        Ok((key, desc))
    }
}

/// `GET /api/v1/agreements`
pub async fn list_agreements(
    Acting(state): Acting,
    ApiQuery(q): ApiQuery<AgreementListQuery>,
) -> Result<Json<AgreementPage>, AppError> {
    let filter = q.to_filter()?;
    let (sort, desc) = q.to_sort()?;
    let (page, limit) = paging(q.page, q.limit)?;
    Ok(Json(
        state
            .registry
            .agreements(&filter, sort, desc, page, limit)
            .await?,
    ))
}

/// `POST /api/v1/agreements`
pub async fn create_agreement(
    Acting(state): Acting,
    ApiJson(a): ApiJson<Agreement>,
) -> Result<(StatusCode, Json<AgreementResponse>), AppError> {
    let stored = state.registry.create_agreement(a).await?;
    Ok((
        StatusCode::CREATED,
        Json(AgreementResponse::new(stored, &state.registry.settings)),
    ))
}

/// `GET /api/v1/agreements/{reference}`
pub async fn show_agreement(
    Acting(state): Acting,
    Path(key): Path<String>,
) -> Result<Json<AgreementResponse>, AppError> {
    let key = parse_param("reference", &key, Reference::parse)?;
    let (stored, signed, sent) = state.registry.agreement_with_signing(&key).await?;
    let mut out = AgreementResponse::new(stored, &state.registry.settings);
    out.signed = Some(signed.into_iter().map(super::signed_copies::item).collect());
    out.sent_for_signature = Some(sent);
    Ok(Json(out))
}

/// `PUT /api/v1/agreements/{reference}`
pub async fn update_agreement(
    Acting(state): Acting,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<Versioned<Agreement>>,
) -> Result<Json<AgreementResponse>, AppError> {
    let key = parse_param("reference", &key, Reference::parse)?;
    let stored = state
        .registry
        .update_agreement(&key, body.version, body.data)
        .await?;
    Ok(Json(AgreementResponse::new(
        stored,
        &state.registry.settings,
    )))
}

/// Body of an action: the version the caller saw (optional) and the action's own fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    version: Option<i32>,
    seq: Option<u32>,
    decided_on: Option<NaiveDate>,
    rationale: Option<String>,
    by: Option<OrgNumber>,
    received_on: Option<NaiveDate>,
    reason: Option<String>,
    under: Option<crate::domain::actions::NoticeUnder>,
    to: Option<AgreementStatus>,
    amendment: Option<Amendment>,
    report: Option<String>,
    period_end: Option<NaiveDate>,
    submitted_on: Option<NaiveDate>,
    figures: Option<Vec<crate::domain::outcomes::Figure>>,
    confirmed: Option<bool>,
}

fn need<T>(field: &str, v: Option<T>) -> Result<T, AppError> {
    v.ok_or_else(|| bad(field, format!("{field} is required for this action")))
}

/// The actions of `POST /api/v1/agreements/{reference}/{action}`, each with the body fields it
/// cannot do without (the handler below refuses a body without one, naming it); the OpenAPI
/// document lists each action as an operation of its own with these as `required`.
pub const ACTION_FIELDS: &[(&str, &[&str])] = &[
    ("activate", &[]),
    ("transition", &["to"]),
    ("exercise-option", &["seq"]),
    ("decline-option", &["seq"]),
    ("notice", &["by", "received_on"]),
    ("amendments", &["amendment"]),
    ("cancel", &[]),
    ("submit-report", &["report", "period_end"]),
    ("accept-report", &["report", "period_end"]),
    ("reject-report", &["report", "period_end", "reason"]),
    ("acknowledge-report", &["report", "period_end"]),
];

/// `POST /api/v1/agreements/{reference}/{action}`: activate, transition, exercise-option,
/// decline-option, notice, amendments, cancel, and the report actions submit-report,
/// accept-report, reject-report and acknowledge-report.
pub async fn agreement_action(
    Acting(state): Acting,
    Path((key, action)): Path<(String, String)>,
    body: Option<ApiJson<ActionBody>>,
) -> Result<Json<AgreementResponse>, AppError> {
    let key = parse_param("reference", &key, Reference::parse)?;
    let b = body.map(|ApiJson(b)| b).unwrap_or_default();
    let action = match action.as_str() {
        "activate" => AgreementAction::Activate,
        "cancel" => AgreementAction::Cancel,
        "transition" => AgreementAction::Transition {
            to: need("to", b.to)?,
        },
        "exercise-option" => AgreementAction::ExerciseOption {
            seq: need("seq", b.seq)?,
            decided_on: b.decided_on,
            rationale: b.rationale,
        },
        "decline-option" => AgreementAction::DeclineOption {
            seq: need("seq", b.seq)?,
            decided_on: b.decided_on,
        },
        "notice" => AgreementAction::RecordNotice {
            by: need("by", b.by)?,
            received_on: need("received_on", b.received_on)?,
            reason: b.reason,
            under: b.under,
        },
        "amendments" => AgreementAction::RecordAmendment {
            amendment: need("amendment", b.amendment)?,
        },
        "submit-report" => AgreementAction::SubmitReport {
            report: need("report", b.report)?,
            period_end: need("period_end", b.period_end)?,
            submitted_on: b.submitted_on,
            figures: b.figures.unwrap_or_default(),
            confirmed: b.confirmed.unwrap_or(false),
        },
        "accept-report" => AgreementAction::AcceptReport {
            report: need("report", b.report)?,
            period_end: need("period_end", b.period_end)?,
            decided_on: b.decided_on,
        },
        "reject-report" => AgreementAction::RejectReport {
            report: need("report", b.report)?,
            period_end: need("period_end", b.period_end)?,
            reason: need("reason", b.reason)?,
            decided_on: b.decided_on,
        },
        "acknowledge-report" => AgreementAction::AcknowledgeReport {
            report: need("report", b.report)?,
            period_end: need("period_end", b.period_end)?,
        },
        other => {
            return Err(AppError::NotFound(format!(
                "no action {other}; actions: activate, transition, exercise-option, decline-option, notice, amendments, cancel, submit-report, accept-report, reject-report, acknowledge-report"
            )));
        }
    };
    let stored = state.registry.act(&key, b.version, action).await?;
    Ok(Json(AgreementResponse::new(
        stored,
        &state.registry.settings,
    )))
}

/// An agreement as the API returns it: the stored document, its version, and the derived dates.
#[derive(Debug, Serialize)]
pub struct AgreementResponse {
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    agreement: Agreement,
    derived: Derived,
    /// The signed copies on record (which document version was signed, by whom, when), newest
    /// first; only in `GET /agreements/{reference}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<Vec<super::signed_copies::SignedCopyItem>>,
    /// Each time a generated document was sent for signature (which document, the day, how, to
    /// whom, who recorded it), newest first; only in `GET /agreements/{reference}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_for_signature: Option<Vec<crate::registry::SignatureRequestMeta>>,
}

/// Dates and states derived from an agreement on a given day: the agreement's clock
/// ([`crate::domain::clock::state_on`], the one date source) plus the codes and deadlines.
#[derive(Debug, Serialize)]
pub struct Derived {
    /// The day they were derived for.
    pub as_of: NaiveDate,
    /// Whether the agreement is in force that day.
    pub active: bool,
    /// First day of the term that ends on `current_end`.
    pub term_start: NaiveDate,
    /// The current end that day, after every tacit renewal that took effect.
    pub current_end: NaiveDate,
    /// Tacit renewals done by that day.
    pub renewals_done: u32,
    /// Whether a further tacit renewal can still extend the term.
    pub renewable: bool,
    /// Each option with its decide-by date and state that day.
    pub options: Vec<DerivedOption>,
    /// The next option that can be decided.
    pub next_option: Option<u32>,
    /// Last day to stop the next tacit renewal.
    pub renewal_notice_deadline: Option<NaiveDate>,
    /// Last day to give notice for the current end.
    pub termination_notice_deadline: Option<NaiveDate>,
    /// The end a notice of non-renewal received that day would give.
    pub end_after_non_renewal_notice: Option<NaiveDate>,
    /// The end a notice of termination received that day would give.
    pub end_after_termination_notice: Option<NaiveDate>,
    /// Renewal dialogue date.
    pub renewal_dialogue_due: Option<NaiveDate>,
    /// Things to look at, e.g. an option longer than the room left to the outer limit.
    pub warnings: Vec<Warning>,
    /// Reservation kind.
    pub reservation: Option<&'static str>,
    /// Social objectives.
    pub social_objectives: Vec<SocialObjective>,
    /// Every dated deadline that day, with who acts and the reminder ladder (`domain::deadlines`).
    pub deadlines: Vec<Deadline>,
}

/// One option as derived.
#[derive(Debug, Serialize)]
pub struct DerivedOption {
    /// Sequence number.
    pub seq: u32,
    /// Decide-by date.
    pub decide_by: Option<NaiveDate>,
    /// State that day.
    pub state: OptionState,
}

impl Derived {
    /// Derives the dates of `a` as of `today`, with reminders from `ladders`.
    pub fn of(a: &Agreement, today: NaiveDate, ladders: &ReminderLadders) -> Self {
        let s = state_on(a, today);
        Self {
            as_of: today,
            active: s.active,
            term_start: s.term_start,
            current_end: s.term_end,
            renewals_done: s.renewals_done,
            renewable: s.renewable,
            options: s
                .options
                .iter()
                .map(|o| DerivedOption {
                    seq: o.seq,
                    decide_by: o.decide_by,
                    state: o.state,
                })
                .collect(),
            next_option: s.next_option,
            renewal_notice_deadline: s.renewal_notice_deadline,
            termination_notice_deadline: s.termination_notice_deadline,
            end_after_non_renewal_notice: s.end_after_non_renewal_notice,
            end_after_termination_notice: s.end_after_termination_notice,
            renewal_dialogue_due: s.renewal_dialogue_due,
            warnings: s.warnings,
            reservation: a.reservation(),
            social_objectives: a.social_objectives(),
            deadlines: deadlines(a, today, ladders),
        }
    }
}

impl AgreementResponse {
    fn new(s: Stored<Agreement>, settings: &Settings) -> Self {
        let derived = Derived::of(&s.data, settings.today(), &settings.reminders);
        Self {
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            agreement: s.data,
            derived,
            signed: None,
            sent_for_signature: None,
        }
    }
}

// ---------- outbox ----------

/// Query of `GET /api/v1/outbox`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `sending`, `sent` or `failed`; all when absent.
    pub state: Option<String>,
    /// At most this many (1 to 500), newest first (default 100).
    pub limit: Option<u64>,
}

/// `GET /api/v1/outbox?state=failed`: queued e-mail, e.g. the messages that could not be sent
/// (an officer sees its organisation's agreements' messages).
pub async fn list_outbox(
    Acting(state): Acting,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxRow>>, AppError> {
    let filter = q
        .state
        .as_deref()
        .map(|s| {
            OutboxState::parse(s).ok_or_else(|| {
                bad(
                    "state",
                    format!("\"{s}\" is not pending, sending, sent or failed"),
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad("limit", format!("limit is between 1 and {MAX_LIMIT}")));
    }
    Ok(Json(state.registry.outbox(filter, limit).await?))
}
