//! Hand-written queries: organisations, contacts and agreements as stored documents with
//! indexed projection columns, optimistic versions, and the filtered agreement list.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde::Serialize;

use super::entities::{agreement, agreement_party, contact, organisation, outcome_value};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::codes::*;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{Contact, EmailAddress, Organisation};
use crate::domain::rules::{Facts, FrameworkFacts, OrgFacts};
use crate::domain::search::SearchText;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record.
    #[error("no {what} {key}")]
    NotFound {
        /// Kind of record.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// The record changed since the caller read it.
    #[error(
        "{what} {key} is at version {current}, not {expected}; reload and apply the change again"
    )]
    Stale {
        /// Kind of record.
        what: &'static str,
        /// Its key.
        key: String,
        /// Version the caller had.
        expected: i32,
        /// Version stored now.
        current: i32,
    },
    /// A unique key is taken.
    #[error("{what} {key} already exists")]
    Duplicate {
        /// Kind of record.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// A record is still referenced and cannot change that way.
    #[error("{0}")]
    InUse(String),
    /// A stored document does not parse (a bug or a manual edit).
    #[error("stored {what} {key} is unreadable: {source}")]
    Corrupt {
        /// Kind of record.
        what: &'static str,
        /// Its key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
    /// Something else failed that the caller cannot fix (see [`crate::error::Unexpected`]).
    #[error(transparent)]
    Unexpected(#[from] crate::error::Unexpected),
}

/// A record as stored: its id, version and timestamps around the domain value.
#[derive(Debug, Clone, Serialize)]
pub struct Stored<T> {
    /// Database id.
    pub id: i64,
    /// Optimistic-concurrency version, starting at 1.
    pub version: i32,
    /// Creation time (UTC).
    pub created_at: chrono::DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: chrono::DateTime<Utc>,
    /// The value.
    #[serde(flatten)]
    pub data: T,
}

fn unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| crate::error::Unexpected::new("cannot serialise", e).into())
}

pub(crate) fn parse_doc<T: serde::de::DeserializeOwned>(
    what: &'static str,
    key: &str,
    doc: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|source| StoreError::Corrupt {
        what,
        key: key.to_owned(),
        source,
    })
}

// ---------- organisations ----------

fn org_from(m: organisation::Model) -> Result<Stored<Organisation>, StoreError> {
    Ok(Stored {
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        data: parse_doc("organisation", &m.org_number, &m.document)?,
    })
}

/// Inserts a new organisation.
pub async fn insert_organisation(
    db: &impl ConnectionTrait,
    o: &Organisation,
) -> Result<Stored<Organisation>, StoreError> {
    let now = Utc::now();
    let model = organisation::ActiveModel {
        org_number: Set(o.org_number.to_string()),
        name: Set(o.name.clone()),
        kind: Set(o.kind.code().to_owned()),
        document: Set(to_json(o)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(m) => org_from(m),
        Err(e) if unique_violation(&e) => Err(StoreError::Duplicate {
            what: "organisation",
            key: o.org_number.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Replaces an organisation if it is still at `expected_version`.
pub async fn update_organisation(
    db: &impl ConnectionTrait,
    key: &OrgNumber,
    expected_version: i32,
    o: &Organisation,
) -> Result<Stored<Organisation>, StoreError> {
    let current = get_organisation(db, key).await?;
    if current.data.org_number != o.org_number {
        return Err(StoreError::InUse(
            "the organisation number is the key and cannot change; register a new organisation"
                .into(),
        ));
    }
    let res = organisation::Entity::update_many()
        .col_expr(organisation::Column::Name, Expr::value(o.name.clone()))
        .col_expr(organisation::Column::Kind, Expr::value(o.kind.code()))
        .col_expr(organisation::Column::Document, Expr::value(to_json(o)?))
        .col_expr(
            organisation::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(organisation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(organisation::Column::Id.eq(current.id))
        .filter(organisation::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Stale {
            what: "organisation",
            key: key.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    if current.data.name != o.name {
        super::search::reindex_party(db, current.id).await?;
    }
    get_organisation(db, key).await
}

/// Reads one organisation.
pub async fn get_organisation(
    db: &impl ConnectionTrait,
    key: &OrgNumber,
) -> Result<Stored<Organisation>, StoreError> {
    let m = organisation::Entity::find()
        .filter(organisation::Column::OrgNumber.eq(key.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "organisation",
            key: key.to_string(),
        })?;
    org_from(m)
}

/// Lists organisations by organisation number.
pub async fn list_organisations(
    db: &impl ConnectionTrait,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Stored<Organisation>>, u64), StoreError> {
    let total = organisation::Entity::find().count(db).await?;
    let rows = organisation::Entity::find()
        .order_by_asc(organisation::Column::OrgNumber)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((
        rows.into_iter().map(org_from).collect::<Result<_, _>>()?,
        total,
    ))
}

async fn organisation_id(db: &impl ConnectionTrait, key: &OrgNumber) -> Result<i64, StoreError> {
    organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::OrgNumber.eq(key.as_str()))
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "organisation",
            key: key.to_string(),
        })
}

// ---------- contacts ----------

fn contact_from(m: contact::Model) -> Result<Stored<Contact>, StoreError> {
    Ok(Stored {
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        data: parse_doc("contact", &m.email, &m.document)?,
    })
}

/// Inserts a new contact.
pub async fn insert_contact(
    db: &impl ConnectionTrait,
    c: &Contact,
) -> Result<Stored<Contact>, StoreError> {
    let org_id = organisation_id(db, &c.organisation).await?;
    let now = Utc::now();
    let model = contact::ActiveModel {
        email: Set(c.email.to_string()),
        name: Set(c.name.clone()),
        organisation_id: Set(org_id),
        role: Set(c.role.code().to_owned()),
        active: Set(c.active),
        document: Set(to_json(c)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(m) => contact_from(m),
        Err(e) if unique_violation(&e) => Err(StoreError::Duplicate {
            what: "contact",
            key: c.email.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a contact if it is still at `expected_version`.
pub async fn update_contact(
    db: &impl ConnectionTrait,
    key: &EmailAddress,
    expected_version: i32,
    c: &Contact,
) -> Result<Stored<Contact>, StoreError> {
    let current = get_contact(db, key).await?;
    if current.data.email != c.email {
        return Err(StoreError::InUse(
            "the e-mail address is the contact's key and cannot change; register a new contact"
                .into(),
        ));
    }
    let org_id = organisation_id(db, &c.organisation).await?;
    let res = contact::Entity::update_many()
        .col_expr(contact::Column::Name, Expr::value(c.name.clone()))
        .col_expr(contact::Column::OrganisationId, Expr::value(org_id))
        .col_expr(contact::Column::Role, Expr::value(c.role.code()))
        .col_expr(contact::Column::Active, Expr::value(c.active))
        .col_expr(contact::Column::Document, Expr::value(to_json(c)?))
        .col_expr(contact::Column::Version, Expr::value(expected_version + 1))
        .col_expr(contact::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(contact::Column::Id.eq(current.id))
        .filter(contact::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Stale {
            what: "contact",
            key: key.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    if current.data.name != c.name {
        super::search::reindex_contact(db, key).await?;
    }
    get_contact(db, key).await
}

/// Reads one contact.
pub async fn get_contact(
    db: &impl ConnectionTrait,
    key: &EmailAddress,
) -> Result<Stored<Contact>, StoreError> {
    let m = contact::Entity::find()
        .filter(contact::Column::Email.eq(key.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "contact",
            key: key.to_string(),
        })?;
    contact_from(m)
}

/// Lists contacts by e-mail address, optionally of one organisation.
pub async fn list_contacts(
    db: &impl ConnectionTrait,
    org: Option<&OrgNumber>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Stored<Contact>>, u64), StoreError> {
    let mut q = contact::Entity::find();
    if let Some(org) = org {
        q = q.filter(contact::Column::OrganisationId.eq(organisation_id(db, org).await?));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_asc(contact::Column::Email)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((
        rows.into_iter()
            .map(contact_from)
            .collect::<Result<_, _>>()?,
        total,
    ))
}

// ---------- agreements ----------

pub(crate) fn agreement_from(m: agreement::Model) -> Result<Stored<Agreement>, StoreError> {
    Ok(Stored {
        id: m.id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        data: parse_doc("agreement", &m.reference, &m.document)?,
    })
}

async fn framework_id(db: &impl ConnectionTrait, a: &Agreement) -> Result<Option<i64>, StoreError> {
    match &a.framework {
        None => Ok(None),
        Some(r) => Ok(Some(
            agreement::Entity::find()
                .select_only()
                .column(agreement::Column::Id)
                .filter(agreement::Column::Reference.eq(r.as_str()))
                .into_tuple::<i64>()
                .one(db)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "framework agreement",
                    key: r.to_string(),
                })?,
        )),
    }
}

/// The projection columns of an agreement, shared by insert and update.
struct Projection {
    title_lower: String,
    value_ore: Option<i64>,
    reservation: Option<String>,
    objectives: i64,
    renews_on: Option<NaiveDate>,
}

fn project(a: &Agreement) -> Projection {
    Projection {
        renews_on: renews_on(a),
        title_lower: a.title.to_lowercase(),
        value_ore: a.value.as_ref().map(|v| v.amount_sek.ore()),
        reservation: a.reservation().map(str::to_owned),
        objectives: a.social_objective_bits(),
    }
}

/// Rewrites the party index rows and the follow-up index rows of an agreement, and moves the
/// follow-up's running totals from `old` (the agreement as it was stored, if it was) to `a`.
async fn write_index_rows(
    db: &impl ConnectionTrait,
    id: i64,
    old: Option<&Agreement>,
    a: &Agreement,
) -> Result<(), StoreError> {
    agreement_party::Entity::delete_many()
        .filter(agreement_party::Column::AgreementId.eq(id))
        .exec(db)
        .await?;
    let mut seen = HashSet::new();
    let mut parties = Vec::new();
    for p in &a.parties {
        if seen.insert((p.org.clone(), p.role)) {
            parties.push(agreement_party::ActiveModel {
                agreement_id: Set(id),
                organisation_id: Set(organisation_id(db, &p.org).await?),
                role: Set(p.role.code().to_owned()),
            });
        }
    }
    if !parties.is_empty() {
        agreement_party::Entity::insert_many(parties)
            .exec(db)
            .await?;
    }
    outcome_value::Entity::delete_many()
        .filter(outcome_value::Column::AgreementId.eq(id))
        .exec(db)
        .await?;
    let rows: Vec<outcome_value::ActiveModel> = crate::domain::outcomes::index_rows(a)
        .into_iter()
        .map(|r| outcome_value::ActiveModel {
            agreement_id: Set(id),
            indicator: Set(r.indicator.to_string()),
            year: Set(r.year),
            gender: Set(r.gender.code().to_owned()),
            value_centi: Set(r.value.centi()),
            periods: Set(i32::try_from(r.periods).unwrap_or(i32::MAX)),
        })
        .collect();
    // Chunks keep each statement under the backends' bind-parameter limits.
    for chunk in rows.chunks(500) {
        outcome_value::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    super::outcomes::apply_totals(db, &crate::domain::outcomes::total_changes(old, a)).await
}

/// The day the next tacit renewal of `a` takes effect, if one can come (the renewal index).
pub fn renews_on(a: &Agreement) -> Option<NaiveDate> {
    crate::domain::clock::next_renewal(a)
        .map(|(deadline, _)| deadline.succ_opt().unwrap_or(deadline))
}

/// The agreements whose next tacit renewal takes effect on or before `today` (the renewal
/// index), in id order: `(id, reference)`.
pub async fn renewals_due(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Vec<(i64, Reference)>, StoreError> {
    let rows: Vec<(i64, String)> = agreement::Entity::find()
        .select_only()
        .column(agreement::Column::Id)
        .column(agreement::Column::Reference)
        .filter(agreement::Column::RenewsOn.lte(today))
        .order_by_asc(agreement::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(id, r)| {
            Reference::parse(&r)
                .map(|r| (id, r))
                .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))
        })
        .collect()
}

/// Stores the renewal day of agreement `id` if it is still at `version` (the document is
/// unchanged, so no new version).
pub async fn set_renews_on(
    db: &impl ConnectionTrait,
    id: i64,
    version: i32,
    day: Option<NaiveDate>,
) -> Result<(), StoreError> {
    agreement::Entity::update_many()
        .col_expr(agreement::Column::RenewsOn, Expr::value(day))
        .filter(agreement::Column::Id.eq(id))
        .filter(agreement::Column::Version.eq(version))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts a new agreement with its index rows and its plan of deadlines as of `today`. The
/// caller has validated it.
pub async fn insert_agreement(
    db: &impl ConnectionTrait,
    a: &Agreement,
    today: NaiveDate,
) -> Result<Stored<Agreement>, StoreError> {
    let now = Utc::now();
    let p = project(a);
    let model = agreement::ActiveModel {
        reference: Set(a.reference.to_string()),
        kind: Set(a.kind.code().to_owned()),
        status: Set(a.status.code().to_owned()),
        title: Set(a.title.clone()),
        title_lower: Set(p.title_lower),
        legal_basis: Set(a.legal_basis.code().to_owned()),
        value_ore: Set(p.value_ore),
        start_date: Set(a.period.start),
        original_end: Set(a.period.original_end),
        current_end: Set(a.period.current_end),
        outer_limit: Set(a.period.outer_limit),
        reservation: Set(p.reservation),
        objectives: Set(p.objectives),
        renews_on: Set(p.renews_on),
        framework_id: Set(framework_id(db, a).await?),
        document: Set(to_json(a)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let m = match model.insert(db).await {
        Ok(m) => m,
        Err(e) if unique_violation(&e) => {
            return Err(StoreError::Duplicate {
                what: "agreement",
                key: a.reference.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    super::sweep::reset(db, m.id, m.version).await?;
    write_index_rows(db, m.id, None, a).await?;
    super::search::index_agreement(db, m.id, a).await?;
    super::plans::write(db, m.id, a, today).await?;
    agreement_from(m)
}

/// Replaces an agreement if it is still at `expected_version`, with its index rows and its plan
/// of deadlines as of `today`. The caller has validated it.
pub async fn update_agreement(
    db: &impl ConnectionTrait,
    key: &Reference,
    expected_version: i32,
    a: &Agreement,
    today: NaiveDate,
) -> Result<Stored<Agreement>, StoreError> {
    let current = get_agreement(db, key).await?;
    if current.data.reference != a.reference {
        return Err(StoreError::InUse(
            "the reference is the agreement's key and cannot change".into(),
        ));
    }
    let p = project(a);
    let c = agreement::Column::Kind;
    let res = agreement::Entity::update_many()
        .col_expr(c, Expr::value(a.kind.code()))
        .col_expr(agreement::Column::Status, Expr::value(a.status.code()))
        .col_expr(agreement::Column::Title, Expr::value(a.title.clone()))
        .col_expr(agreement::Column::TitleLower, Expr::value(p.title_lower))
        .col_expr(
            agreement::Column::LegalBasis,
            Expr::value(a.legal_basis.code()),
        )
        .col_expr(agreement::Column::ValueOre, Expr::value(p.value_ore))
        .col_expr(agreement::Column::StartDate, Expr::value(a.period.start))
        .col_expr(
            agreement::Column::OriginalEnd,
            Expr::value(a.period.original_end),
        )
        .col_expr(
            agreement::Column::CurrentEnd,
            Expr::value(a.period.current_end),
        )
        .col_expr(
            agreement::Column::OuterLimit,
            Expr::value(a.period.outer_limit),
        )
        .col_expr(agreement::Column::Reservation, Expr::value(p.reservation))
        .col_expr(agreement::Column::Objectives, Expr::value(p.objectives))
        .col_expr(agreement::Column::RenewsOn, Expr::value(p.renews_on))
        .col_expr(
            agreement::Column::FrameworkId,
            Expr::value(framework_id(db, a).await?),
        )
        .col_expr(agreement::Column::Document, Expr::value(to_json(a)?))
        .col_expr(
            agreement::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(agreement::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(agreement::Column::Id.eq(current.id))
        .filter(agreement::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Stale {
            what: "agreement",
            key: key.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    // The next sweep reads it again and sets the day (see `db::sweep`).
    super::sweep::reset(db, current.id, expected_version + 1).await?;
    write_index_rows(db, current.id, Some(&current.data), a).await?;
    super::search::index_agreement(db, current.id, a).await?;
    super::plans::write(db, current.id, a, today).await?;
    get_agreement(db, key).await
}

/// Reads one agreement.
pub async fn get_agreement(
    db: &impl ConnectionTrait,
    key: &Reference,
) -> Result<Stored<Agreement>, StoreError> {
    let m = agreement::Entity::find()
        .filter(agreement::Column::Reference.eq(key.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "agreement",
            key: key.to_string(),
        })?;
    agreement_from(m)
}

/// Filters of the agreement list; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AgreementFilter {
    /// In force on this date.
    pub active_on: Option<NaiveDate>,
    /// Of this kind.
    pub kind: Option<AgreementKind>,
    /// With this status.
    pub status: Option<AgreementStatus>,
    /// On this legal basis.
    pub legal_basis: Option<LegalBasis>,
    /// With this social objective.
    pub social_objective: Option<SocialObjective>,
    /// Reserved (`Some(None)`: any reservation) or with this reservation kind; `Some(Some(""))` is never built.
    pub reserved: Option<ReservedFilter>,
    /// With this organisation as a party.
    pub party: Option<OrgNumber>,
    /// Ending before this date.
    pub ends_before: Option<NaiveDate>,
    /// Free text: words of the reference, title, diarienummer, parties' names and organisation
    /// numbers or contacts' names (see [`crate::domain::search`]).
    pub q: Option<String>,
}

impl AgreementFilter {
    /// True when no filter is set: every agreement matches.
    pub fn is_empty(&self) -> bool {
        let Self {
            active_on,
            kind,
            status,
            legal_basis,
            social_objective,
            reserved,
            party,
            ends_before,
            q: _,
        } = self;
        active_on.is_none()
            && kind.is_none()
            && status.is_none()
            && legal_basis.is_none()
            && social_objective.is_none()
            && reserved.is_none()
            && party.is_none()
            && ends_before.is_none()
            && self.search().is_none()
    }

    /// The free-text search, if `q` has a letter or a digit.
    pub fn search(&self) -> Option<SearchText> {
        self.q.as_deref().and_then(SearchText::parse)
    }
}

/// The `reserved` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservedFilter {
    /// Any reservation.
    Any,
    /// No reservation.
    None,
    /// Reserved participation (BT-71).
    Participation,
    /// Reserved execution (BT-736).
    Execution,
    /// Reserved for idea-based organisations (19 kap. 6 a §).
    IdeaBased,
}

/// Sort keys of the agreement list; the id breaks ties so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// By reference (default).
    #[default]
    Reference,
    /// By title.
    Title,
    /// By start date.
    Start,
    /// By current end.
    End,
    /// By value.
    Value,
    /// By relevance to the free-text search, then by reference (by reference without a search).
    Relevance,
}

/// One row of the agreement list, read from the projection columns only.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementSummary {
    /// Reference.
    pub reference: String,
    /// Kind.
    pub kind: String,
    /// Status.
    pub status: String,
    /// Title.
    pub title: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Value in SEK.
    pub value_sek: Option<String>,
    /// Start.
    pub start: NaiveDate,
    /// Original end.
    pub original_end: NaiveDate,
    /// Current end.
    pub current_end: NaiveDate,
    /// Outer limit.
    pub outer_limit: Option<NaiveDate>,
    /// Reservation kind.
    pub reservation: Option<String>,
    /// Version.
    pub version: i32,
}

/// A page of the agreement list.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementPage {
    /// The rows.
    pub items: Vec<AgreementSummary>,
    /// Rows matching the filters in all, counted up to [`EXACT_TOTAL_UP_TO`].
    pub total: u64,
    /// False when more than [`EXACT_TOTAL_UP_TO`] rows match and `total` is that bound.
    pub total_exact: bool,
    /// Page number, from 1.
    pub page: u64,
    /// Rows per page.
    pub limit: u64,
}

impl AgreementPage {
    /// The matches counted up to the cap: `total`, or one more than the cap when there are more.
    pub fn counted(&self) -> u64 {
        if self.total_exact {
            self.total
        } else {
            EXACT_TOTAL_UP_TO + 1
        }
    }
}

/// The filters of `f` as a query. With `use_filter_indexes` false (SQLite only) the filter columns
/// are written `+col`, which keeps SQLite from driving the query by a filter index, so that it walks
/// the sort column's index instead: right when the filters match many rows and a page needs only a
/// few of them.
pub(crate) fn filtered(
    backend: sea_orm::DbBackend,
    db_party_org: Option<i64>,
    f: &AgreementFilter,
    search: Option<&super::search::PreparedSearch>,
    use_filter_indexes: bool,
) -> sea_orm::Select<agreement::Entity> {
    use agreement::Column as C;
    let col = |c: C| -> Expr {
        let e = Expr::col((agreement::Entity, c));
        if use_filter_indexes {
            e
        } else {
            Expr::cust_with_expr("+$1", e)
        }
    };
    let mut q = agreement::Entity::find();
    if let Some(d) = f.active_on {
        let in_force: Vec<&str> = AgreementStatus::ALL
            .iter()
            .filter(|s| s.came_into_force())
            .map(|s| s.code())
            .collect();
        q = q
            .filter(col(C::CurrentEnd).gte(d))
            .filter(col(C::StartDate).lte(d))
            .filter(col(C::Status).is_in(in_force));
    }
    if let Some(k) = f.kind {
        q = q.filter(col(C::Kind).eq(k.code()));
    }
    if let Some(s) = f.status {
        q = q.filter(col(C::Status).eq(s.code()));
    }
    if let Some(b) = f.legal_basis {
        q = q.filter(col(C::LegalBasis).eq(b.code()));
    }
    if let Some(o) = f.social_objective {
        q = q.filter(Expr::col(C::Objectives).bit_and(o.bit()).ne(0));
    }
    match f.reserved {
        None => {}
        Some(ReservedFilter::Any) => q = q.filter(col(C::Reservation).is_not_null()),
        Some(ReservedFilter::None) => q = q.filter(col(C::Reservation).is_null()),
        Some(ReservedFilter::Participation) => {
            q = q.filter(col(C::Reservation).eq("participation"))
        }
        Some(ReservedFilter::Execution) => q = q.filter(col(C::Reservation).eq("execution")),
        Some(ReservedFilter::IdeaBased) => q = q.filter(col(C::Reservation).eq("idea_based")),
    }
    if let Some(org_id) = db_party_org {
        q = q.filter(
            C::Id.in_subquery(
                Query::select()
                    .column(agreement_party::Column::AgreementId)
                    .from(agreement_party::Entity)
                    .and_where(agreement_party::Column::OrganisationId.eq(org_id))
                    .to_owned(),
            ),
        );
    }
    if let Some(d) = f.ends_before {
        q = q.filter(col(C::CurrentEnd).lt(d));
    }
    if let Some(s) = search {
        // A join rather than `id IN (...)`: the matches stream in and a capped count or a
        // page stops early, where an IN list would first collect every match.
        let alias = Alias::new(SEARCH);
        sea_orm::QueryTrait::query(&mut q).join_subquery(
            sea_orm::JoinType::InnerJoin,
            super::search::scores(backend, s),
            alias.clone(),
            Expr::col((alias, Alias::new("j"))).equals((agreement::Entity, C::Id)),
        );
    }
    q
}

/// The alias of the search's scores in [`filtered`]: `sid` the agreement id, `k` its score, `j`
/// the agreement id to join on (see `search::scores`).
const SEARCH: &str = "s";

/// The list counts matching rows exactly up to this many; past it, it says "more than" instead.
/// Counting every one of a million rows costs a scan per request, and nobody pages that far.
pub const EXACT_TOTAL_UP_TO: u64 = 10_000;

/// Counts the rows of `q`, stopping at `cap`.
async fn count_up_to(
    db: &impl ConnectionTrait,
    q: &sea_orm::Select<agreement::Entity>,
    cap: u64,
) -> Result<u64, StoreError> {
    let inner = q
        .clone()
        .select_only()
        .column(agreement::Column::Id)
        .limit(cap);
    let inner = sea_orm::QueryTrait::into_query(inner);
    let stmt = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(inner, "capped")
        .to_owned();
    let row = db.query_one(&stmt).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Lists agreements matching `f`, sorted by `sort` then id, one page at a time.
pub async fn list_agreements(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
    sort: SortKey,
    descending: bool,
    page: u64,
    limit: u64,
) -> Result<AgreementPage, StoreError> {
    let resolved = resolve_filter(db, f).await?;
    list_resolved(db, f, &resolved, None, sort, descending, page, limit).await
}

/// [`list_agreements`] with `f` resolved beforehand ([`resolve_filter`]) and, when known, its
/// count of matches up to the cap ([`AgreementPage::counted`] of an earlier page of the same
/// filter on the same data), which saves counting again.
#[expect(
    clippy::too_many_arguments,
    reason = "the list's own arguments and what was resolved and counted before"
)]
pub async fn list_resolved(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
    resolved: &ResolvedFilter,
    counted: Option<u64>,
    sort: SortKey,
    descending: bool,
    page: u64,
    limit: u64,
) -> Result<AgreementPage, StoreError> {
    use agreement::Column as C;
    let party_org = resolved.party_org;
    let search = resolved.search.as_ref();
    let backend = db.get_database_backend();
    let total = match counted {
        Some(n) => Ord::min(n, EXACT_TOTAL_UP_TO + 1),
        None => {
            count_up_to(
                db,
                &filtered(backend, party_org, f, search, true),
                EXACT_TOTAL_UP_TO + 1,
            )
            .await?
        }
    };
    // Past the exact-count bound the filters are unselective: on SQLite, walk the sort index.
    let walk_sort_index = total > EXACT_TOTAL_UP_TO && backend == sea_orm::DbBackend::Sqlite;
    let col = match sort {
        SortKey::Reference | SortKey::Relevance => C::Reference,
        SortKey::Title => C::TitleLower,
        SortKey::Start => C::StartDate,
        SortKey::End => C::CurrentEnd,
        SortKey::Value => C::ValueOre,
    };
    let order = if descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    // First the page's ids, which the covering filter indexes answer without touching the rows,
    // then those rows: sorting thousands of full rows for a page of 50 is what costs.
    let ranked = sort == SortKey::Relevance && search.is_some();
    // Past the exact-count bound the search matches nearly everything (a word in most titles):
    // ranking would score every match for little, so the newest come first, in the order the
    // search index yields them.
    let newest_first = ranked && total > EXACT_TOTAL_UP_TO;
    let ids_query = match ranked {
        true if newest_first => {
            let mut q = sea_orm::QueryTrait::into_query(
                filtered(backend, party_org, f, search, true)
                    .select_only()
                    .column(C::Id),
            );
            q.order_by(
                (Alias::new(SEARCH), Alias::new("sid")),
                sea_orm::Order::Desc,
            );
            q
        }
        true => {
            let mut q = sea_orm::QueryTrait::into_query(
                filtered(backend, party_org, f, search, true)
                    .select_only()
                    .column(C::Id),
            );
            q.order_by((Alias::new(SEARCH), Alias::new("k")), order.clone())
                .order_by((agreement::Entity, C::Reference), order.clone());
            q
        }
        false => sea_orm::QueryTrait::into_query(
            filtered(backend, party_org, f, search, !walk_sort_index)
                .select_only()
                .column(C::Id)
                .order_by(col, order.clone())
                .order_by(C::Id, order.clone()),
        ),
    };
    let mut stmt = backend.build(&ids_query);
    // LIMIT and OFFSET as literal integers: SQLite plans a bound LIMIT as unbounded, and then
    // sorts every matching row instead of walking the sort column's index (0.4 s at 1M rows).
    let offset = page.saturating_sub(1).saturating_mul(limit);
    stmt.sql
        .push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    let ids: Vec<i64> = db
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<_, _>>()?;
    let select = agreement::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::Reference,
            C::Kind,
            C::Status,
            C::Title,
            C::LegalBasis,
            C::ValueOre,
            C::StartDate,
            C::OriginalEnd,
            C::CurrentEnd,
            C::OuterLimit,
            C::Reservation,
            C::Version,
        ])
        .filter(C::Id.is_in(ids.iter().copied()));
    let stmt = backend.build(&sea_orm::QueryTrait::into_query(select));
    let rows = db.query_all_raw(stmt).await?;
    let mut items = rows
        .iter()
        .map(|r| -> Result<(i64, AgreementSummary), DbErr> {
            Ok((
                r.try_get("", "id")?,
                AgreementSummary {
                    reference: r.try_get("", "reference")?,
                    kind: r.try_get("", "kind")?,
                    status: r.try_get("", "status")?,
                    title: r.try_get("", "title")?,
                    legal_basis: r.try_get("", "legal_basis")?,
                    value_sek: r
                        .try_get::<Option<i64>>("", "value_ore")?
                        .map(|o| crate::domain::money::Sek::from_ore(o).to_string()),
                    start: r.try_get("", "start_date")?,
                    original_end: r.try_get("", "original_end")?,
                    current_end: r.try_get("", "current_end")?,
                    outer_limit: r.try_get("", "outer_limit")?,
                    reservation: r.try_get("", "reservation")?,
                    version: r.try_get("", "version")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // In the order of the page's ids.
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    items.sort_by_key(|(id, _)| position.get(id).copied().unwrap_or(usize::MAX));
    let items = items.into_iter().map(|(_, s)| s).collect();
    Ok(AgreementPage {
        items,
        total: Ord::min(total, EXACT_TOTAL_UP_TO),
        total_exact: total <= EXACT_TOTAL_UP_TO,
        page: Ord::max(page, 1),
        limit,
    })
}

/// The `party` filter of `f` as an organisation id; an unknown party becomes `-1`, which matches
/// nothing rather than failing the whole list.
pub async fn party_filter_id(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
) -> Result<Option<i64>, StoreError> {
    match &f.party {
        None => Ok(None),
        Some(org) => match organisation_id(db, org).await {
            Ok(id) => Ok(Some(id)),
            Err(StoreError::NotFound { .. }) => Ok(Some(-1)),
            Err(e) => Err(e),
        },
    }
}

/// What a list filter looks up once before its matches are read page after page: the `party`
/// filter's organisation id and the prepared search (none of either by default).
#[derive(Debug, Clone, Default)]
pub struct ResolvedFilter {
    party_org: Option<i64>,
    search: Option<super::search::PreparedSearch>,
}

/// Resolves `f` for [`agreements_after`] and [`list_resolved`].
pub async fn resolve_filter(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
) -> Result<ResolvedFilter, StoreError> {
    Ok(ResolvedFilter {
        party_org: party_filter_id(db, f).await?,
        search: super::search::prepare_filter(db, f).await?,
    })
}

/// At most `batch` agreements matching `f` with ids above `after_id`, in id order: the cursor of
/// the streamed exports. `resolved` is [`resolve_filter`] of `f`.
pub async fn agreements_after(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
    resolved: &ResolvedFilter,
    after_id: i64,
    batch: u64,
) -> Result<Vec<Stored<Agreement>>, StoreError> {
    filtered(
        db.get_database_backend(),
        resolved.party_org,
        f,
        resolved.search.as_ref(),
        true,
    )
    .filter(agreement::Column::Id.gt(after_id))
    .order_by_asc(agreement::Column::Id)
    .limit(batch)
    .all(db)
    .await?
    .into_iter()
    .map(agreement_from)
    .collect()
}

/// The organisations with these numbers (for exports that name the parties of a batch).
pub async fn organisations_by_number(
    db: &impl ConnectionTrait,
    numbers: &[OrgNumber],
) -> Result<HashMap<OrgNumber, Organisation>, StoreError> {
    let keys = dedup(numbers.iter().map(|o| o.to_string()).collect());
    let mut out = HashMap::new();
    for chunk in keys.chunks(500) {
        for m in organisation::Entity::find()
            .filter(organisation::Column::OrgNumber.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let o: Organisation = parse_doc("organisation", &m.org_number, &m.document)?;
            out.insert(o.org_number.clone(), o);
        }
    }
    Ok(out)
}

/// Streams every agreement in id order, `batch` at a time, to `sink` (for exports).
pub async fn for_each_agreement<F>(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
    batch: u64,
    mut sink: F,
) -> Result<u64, StoreError>
where
    F: FnMut(Stored<Agreement>) -> Result<(), StoreError>,
{
    let resolved = resolve_filter(db, f).await?;
    let mut last_id = 0i64;
    let mut count = 0u64;
    loop {
        let rows = agreements_after(db, f, &resolved, last_id, batch).await?;
        if rows.is_empty() {
            return Ok(count);
        }
        for a in rows {
            last_id = a.id;
            count += 1;
            sink(a)?;
        }
    }
}

/// Streams every organisation and contact (for exports).
pub async fn all_parties(
    db: &impl ConnectionTrait,
) -> Result<(Vec<Organisation>, Vec<Contact>), StoreError> {
    let orgs = organisation::Entity::find()
        .order_by_asc(organisation::Column::OrgNumber)
        .all(db)
        .await?;
    let contacts = contact::Entity::find()
        .order_by_asc(contact::Column::Email)
        .all(db)
        .await?;
    Ok((
        orgs.into_iter()
            .map(|m| org_from(m).map(|s| s.data))
            .collect::<Result<_, _>>()?,
        contacts
            .into_iter()
            .map(|m| contact_from(m).map(|s| s.data))
            .collect::<Result<_, _>>()?,
    ))
}

/// Loads the facts the rules need about what `agreements` refer to.
pub async fn facts_for(
    db: &impl ConnectionTrait,
    agreements: &[&Agreement],
    facts: &mut Facts,
) -> Result<(), StoreError> {
    let mut orgs: Vec<String> = Vec::new();
    let mut emails: Vec<String> = Vec::new();
    let mut frameworks: Vec<String> = Vec::new();
    for a in agreements {
        orgs.extend(a.parties.iter().map(|p| p.org.to_string()));
        emails.extend(a.contacts.all().into_iter().map(|(_, e)| e.to_string()));
        emails.extend(
            a.reporting
                .iter()
                .flat_map(|r| r.recipient.iter().chain(r.escalation.iter()))
                .map(|e| e.to_string()),
        );
        frameworks.extend(a.framework.iter().map(|r| r.to_string()));
    }
    for chunk in dedup(orgs).chunks(500) {
        for m in organisation::Entity::find()
            .filter(organisation::Column::OrgNumber.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let o: Organisation = parse_doc("organisation", &m.org_number, &m.document)?;
            facts
                .organisations
                .insert(o.org_number.clone(), OrgFacts::of(&o));
        }
    }
    for chunk in dedup(emails).chunks(500) {
        let found: Vec<String> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Email)
            .filter(contact::Column::Email.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        facts.contacts.extend(
            found
                .into_iter()
                .filter_map(|e| EmailAddress::parse(&e).ok()),
        );
    }
    for chunk in dedup(frameworks).chunks(500) {
        for m in agreement::Entity::find()
            .filter(agreement::Column::Reference.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let (Ok(reference), Ok(kind), Ok(status)) = (
                Reference::parse(&m.reference),
                AgreementKind::parse(&m.kind),
                AgreementStatus::parse(&m.status),
            ) else {
                continue;
            };
            facts.frameworks.insert(
                reference,
                FrameworkFacts {
                    kind,
                    status,
                    start: m.start_date,
                    current_end: m.current_end,
                },
            );
        }
    }
    Ok(())
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, QuerySelect, QueryTrait, Statement};

    use super::*;
    use crate::config::Settings;
    use crate::domain::codes::{AgreementKind, AgreementStatus};

    /// The plan of a search with two filters on SQLite starts with the search index even without
    /// statistics (as a connection sees them that loaded the schema before the last ANALYZE):
    /// walking a filter's index and asking FTS5 about every row took a minute at a million.
    #[tokio::test]
    async fn a_search_with_filters_is_driven_by_the_search_index_without_statistics()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        {
            let db = crate::db::connect(&settings).await?;
            crate::db::migrate(&db).await?;
            // `migrate` may have written statistics of the empty tables.
            let _ = db.execute_unprepared("DELETE FROM sqlite_stat1").await;
            db.close().await?;
        }
        // A new pool loads the schema without statistics.
        let db = crate::db::connect(&settings).await?;
        let f = AgreementFilter {
            kind: Some(AgreementKind::ProcurementContract),
            status: Some(AgreementStatus::Active),
            q: Some("avtal 12345".to_owned()),
            ..AgreementFilter::default()
        };
        let search = crate::db::search::prepare_filter(&db, &f).await?;
        let query = filtered(DbBackend::Sqlite, None, &f, search.as_ref(), true)
            .select_only()
            .column(agreement::Column::Id)
            .into_query();
        let stmt = DbBackend::Sqlite.build(&query);
        let plan = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {}", stmt.sql),
                stmt.values.map(|v| v.0).unwrap_or_default(),
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<String>("", "detail"))
            .collect::<Result<Vec<_>, _>>()?;
        assert!(
            plan.first()
                .is_some_and(|step| step.starts_with("SCAN agreement_trigrams")),
            "{plan:?}"
        );
        Ok(())
    }
}
