//! The stored deadlines of the per-user pages (`agreement_plan`, `agreement_deadline`,
//! `agreement_contact`; see migration `m20261206_000120_upcoming_deadlines`; and the open
//! deadlines by party, `party_deadline`, migration `m20261207_000170_party_deadlines`): each
//! agreement's [`plan`] written with it by `store` in the writing transaction, planned again
//! once its window has passed ([`refresh`]), and read by the start page and the calendar feeds.
//! Only dates and recorded facts are stored; whether a deadline is open, passed, late or in the
//! window shown is derived on the day a page is read.

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, LikeExpr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::{
    agreement, agreement_contact, agreement_deadline, agreement_party, agreement_plan,
};
use super::store::{StoreError, Stored, agreement_from};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::codes::OccurrenceState;
use crate::domain::deadlines::{
    Actor, Deadline, DeadlineKind, DeadlineState, PlannedDeadline, Recipients, ReportOccurrence,
    deadline_contacts, plan,
};
use crate::domain::org_number::OrgNumber;
use crate::domain::party::EmailAddress;

/// Agreements read or planned per statement.
const BATCH: usize = 500;

/// About how many bytes of values one insert statement sends at most. sqlx 0.9 leaves Nagle's
/// algorithm on for PostgreSQL's socket, so a statement whose message is sent in more than one
/// piece (over TLS: more than one 16 KiB record) waits for the server's delayed ACK, about 40 ms,
/// before its last piece leaves: planning 100,000 agreements took 699 s instead of seconds.
/// `db::connect` leaves TLS off to this machine, but a server elsewhere is reached over TLS.
const STATEMENT_BYTES: usize = 12 * 1024;

/// `rows` cut into runs of at most `max_rows` whose `size`s add up to at most
/// [`STATEMENT_BYTES`] (a row larger than that alone is a run of its own).
fn runs<T>(rows: &[(T, usize)], max_rows: usize) -> Vec<&[(T, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, size)) in rows.iter().enumerate() {
        if i > start && (i - start == max_rows || bytes + size > STATEMENT_BYTES) {
            out.push(&rows[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// Whose agreements a page reads.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every agreement.
    All,
    /// The agreements an organisation (by id) is a party to.
    Party(i64),
    /// The agreements whose deadlines can name this address.
    Contact(&'a str),
    /// These agreements (by id; at most 500 of them, as one statement binds them).
    Agreements(&'a [i64]),
}

impl Scope<'_> {
    /// The scope as a condition on an agreement id column.
    fn condition(self, id: Expr) -> Condition {
        match self {
            Scope::All => Condition::all(),
            Scope::Party(org) => Condition::all().add(
                id.in_subquery(
                    Query::select()
                        .column(agreement_party::Column::AgreementId)
                        .from(agreement_party::Entity)
                        .and_where(agreement_party::Column::OrganisationId.eq(org))
                        .to_owned(),
                ),
            ),
            Scope::Contact(email) => Condition::all().add(
                id.in_subquery(
                    Query::select()
                        .column(agreement_contact::Column::AgreementId)
                        .from(agreement_contact::Entity)
                        .and_where(agreement_contact::Column::Email.eq(email))
                        .to_owned(),
                ),
            ),
            Scope::Agreements(ids) => Condition::all().add(id.is_in(ids.iter().copied())),
        }
    }
}

/// One stored deadline as a page reads it.
#[derive(Debug, Clone)]
pub struct PlannedRow {
    /// The agreement's id (the pages' order: by id, then by `seq`).
    pub agreement_id: i64,
    /// Its place among the agreement's deadlines.
    pub seq: usize,
    /// The agreement's title.
    pub title: String,
    /// The deadline (its state as on the planning day; see [`PlannedDeadline::on`]).
    pub planned: PlannedDeadline,
}

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Db(DbErr::Custom(format!(
        "stored deadline: bad {what} {value:?}"
    )))
}

/// Rewrites the plan of agreement `id` (just inserted or updated) in the caller's transaction.
pub async fn write(
    db: &impl ConnectionTrait,
    id: i64,
    a: &Agreement,
    today: NaiveDate,
) -> Result<(), StoreError> {
    write_many(db, &[(id, a)], today).await
}

/// Rewrites the plans of these agreements.
async fn write_many(
    db: &impl ConnectionTrait,
    agreements: &[(i64, &Agreement)],
    today: NaiveDate,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = agreements.iter().map(|(id, _)| *id).collect();
    for chunk in ids.chunks(BATCH) {
        db.execute(
            &Query::delete()
                .from_table(Alias::new(PARTY_DEADLINE))
                .and_where(Expr::col(Alias::new("agreement_id")).is_in(chunk.iter().copied()))
                .to_owned(),
        )
        .await?;
        agreement_deadline::Entity::delete_many()
            .filter(agreement_deadline::Column::AgreementId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        agreement_contact::Entity::delete_many()
            .filter(agreement_contact::Column::AgreementId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        agreement_plan::Entity::delete_many()
            .filter(agreement_plan::Column::AgreementId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    // Each plan's stamp differs from every stamp it had before (a random start, then counting).
    let mut stamp = {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
        i64::from_le_bytes(bytes)
    };
    // Each row with about the bytes its values take in a statement.
    let mut plans = Vec::new();
    let mut deadlines = Vec::new();
    let mut contacts = Vec::new();
    for (id, a) in agreements {
        let id = *id;
        let p = plan(a, today);
        let reference = a.reference.to_string();
        let size = 64 + reference.len() + a.title.len();
        plans.push((
            agreement_plan::ActiveModel {
                agreement_id: Set(id),
                reference: Set(reference),
                title: Set(a.title.clone()),
                valid_from: Set(p.valid_from),
                valid_until: Set(p.valid_until),
                targets: Set(
                    a.status.came_into_force() && !crate::domain::outcomes::targets(a).is_empty()
                ),
                stamp: Set(stamp),
            },
            size,
        ));
        stamp = stamp.wrapping_add(1);
        for (seq, d) in p.deadlines.iter().enumerate() {
            deadlines.push(deadline_row(id, seq, d)?);
        }
        contacts.extend(deadline_contacts(a).into_iter().map(|e| {
            let size = 24 + e.as_str().len();
            (
                agreement_contact::ActiveModel {
                    email: Set(e.to_string()),
                    agreement_id: Set(id),
                },
                size,
            )
        }));
    }
    // Runs keep each statement under the backends' bind-parameter limits and its message small.
    for run in runs(&plans, BATCH) {
        agreement_plan::Entity::insert_many(run.iter().map(|(m, _)| m.clone()))
            .exec(db)
            .await?;
    }
    for run in runs(&deadlines, BATCH / 5) {
        agreement_deadline::Entity::insert_many(run.iter().map(|(m, _)| m.clone()))
            .exec(db)
            .await?;
    }
    for run in runs(&contacts, BATCH) {
        agreement_contact::Entity::insert_many(run.iter().map(|(m, _)| m.clone()))
            .exec(db)
            .await?;
    }
    // The open deadlines by party, from the rows just written and the agreements' parties
    // (written before the plan by `store`).
    let (d, ap) = (Alias::new("d"), Alias::new("ap"));
    let col = |c: agreement_deadline::Column| (d.clone(), c);
    for chunk in ids.chunks(BATCH) {
        let mut select = Query::select();
        select
            .distinct()
            .column((ap.clone(), agreement_party::Column::OrganisationId))
            .expr(Expr::col(col(agreement_deadline::Column::Kind)).eq(DeadlineKind::Report.code()))
            .column(col(agreement_deadline::Column::Date))
            .column(col(agreement_deadline::Column::AgreementId))
            .column(col(agreement_deadline::Column::Seq))
            .from_as(agreement_deadline::Entity, d.clone())
            .join_as(
                sea_orm::sea_query::JoinType::InnerJoin,
                agreement_party::Entity,
                ap.clone(),
                Expr::col((ap.clone(), agreement_party::Column::AgreementId))
                    .equals(col(agreement_deadline::Column::AgreementId)),
            )
            .and_where(
                Expr::col(col(agreement_deadline::Column::AgreementId))
                    .is_in(chunk.iter().copied()),
            )
            .and_where(Expr::col(col(agreement_deadline::Column::Met)).eq(false));
        let insert = Query::insert()
            .into_table(Alias::new(PARTY_DEADLINE))
            .columns(["organisation_id", "report", "date", "agreement_id", "seq"].map(Alias::new))
            .select_from(select)
            .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The open deadlines by party (migration `m20261207_000170_party_deadlines`): a row per
/// deadline that is not met and organisation that is a party to its agreement, keyed by
/// organisation, whether it is a report, date, agreement and place. The start page of an
/// organisation reads its deadlines as two ranges of that key instead of looking up the
/// deadlines of each of its agreements.
const PARTY_DEADLINE: &str = "party_deadline";

/// A stored deadline's row, with about the bytes its values take in a statement.
fn deadline_row(
    id: i64,
    seq: usize,
    p: &PlannedDeadline,
) -> Result<(agreement_deadline::ActiveModel, usize), StoreError> {
    let d = &p.deadline;
    let r = d.report.as_ref();
    let recipients = serde_json::to_string(&d.recipients)
        .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
    let size =
        160 + d.occurrence.len() + d.what.len() + recipients.len() + r.map_or(0, |r| r.kind.len());
    let row = agreement_deadline::ActiveModel {
        agreement_id: Set(id),
        seq: Set(i32::try_from(seq).unwrap_or(i32::MAX)),
        kind: Set(d.kind.code().to_owned()),
        date: Set(d.date),
        occurrence: Set(d.occurrence.clone()),
        what: Set(d.what.clone()),
        actor: Set(d.actor.code().to_owned()),
        met: Set(p.met()),
        report_kind: Set(r.map(|r| r.kind.clone())),
        period_end: Set(r.map(|r| r.period_end)),
        final_report: Set(r.is_some_and(|r| r.final_report)),
        late_on: Set(r.map(|r| r.late_on)),
        escalate_on: Set(r.map(|r| r.escalate_on)),
        opens: Set(p.opens),
        recorded: Set(p.recorded.map(|(s, _)| s.code().to_owned())),
        escalated: Set(p.recorded.is_some_and(|(_, e)| e)),
        responsible: Set(p.responsible.as_ref().map(|o| o.to_string())),
        recipients: Set(recipients),
    };
    Ok((row, size))
}

/// The condition "the plan (aliased `p`) holds on `today`".
fn valid_on(p: &Alias, today: NaiveDate) -> Condition {
    let col = |c: agreement_plan::Column| Expr::col((p.clone(), c));
    Condition::all()
        .add(
            Condition::any()
                .add(col(agreement_plan::Column::ValidFrom).is_null())
                .add(col(agreement_plan::Column::ValidFrom).lte(today)),
        )
        .add(
            Condition::any()
                .add(col(agreement_plan::Column::ValidUntil).is_null())
                .add(col(agreement_plan::Column::ValidUntil).gt(today)),
        )
}

/// `EXISTS` a plan of the agreement whose id is `id` that holds on `today`.
fn planned(id: Expr, today: NaiveDate) -> SelectStatement {
    let p = Alias::new("p");
    Query::select()
        .expr(Expr::val(1))
        .from_as(agreement_plan::Entity, p.clone())
        .and_where(Expr::col((p.clone(), agreement_plan::Column::AgreementId)).eq(id))
        .cond_where(valid_on(&p, today))
        .to_owned()
}

fn agreement_id() -> Expr {
    Expr::col((agreement::Entity, agreement::Column::Id))
}

/// Plans the agreements that have no plan holding on `today` (stored before the plans existed,
/// bulk-loaded around the use cases, or whose window has passed), a batch per transaction in
/// which the documents are read locked against writers; returns how many.
pub async fn refresh(db: &DatabaseConnection, today: NaiveDate) -> Result<u64, StoreError> {
    // One at a time in this process: the start-up's refresh and the first reminder run's would
    // otherwise plan the same agreements side by side (the second finds nothing left to do).
    static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = RUNNING.lock().await;
    // The ids in one statement, not one per batch: on PostgreSQL a per-batch `NOT EXISTS`
    // statement is prepared once and planned for the plan table as it was then (empty).
    let ids: Vec<i64> = agreement::Entity::find()
        .select_only()
        .column(agreement::Column::Id)
        .filter(Expr::exists(planned(agreement_id(), today)).not())
        .order_by_asc(agreement::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut done = 0;
    for batch in ids.chunks(BATCH) {
        let tx = super::begin_write(db).await?;
        let mut read =
            agreement::Entity::find().filter(agreement::Column::Id.is_in(batch.to_vec()));
        if db.get_database_backend() == DbBackend::Postgres {
            // SQLite's write transaction already holds the database's one write lock.
            read = read.lock_exclusive();
        }
        let stored = read
            .all(&tx)
            .await?
            .into_iter()
            .map(agreement_from)
            .collect::<Result<Vec<_>, _>>()?;
        let pairs: Vec<(i64, &Agreement)> = stored.iter().map(|s| (s.id, &s.data)).collect();
        write_many(&tx, &pairs, today).await?;
        tx.commit().await?;
        done += pairs.len() as u64;
    }
    Ok(done)
}

/// `SELECT` the scope's agreement ids (a party's more than once when it has several roles) from
/// the scope's own index.
fn scope_select(scope: Scope<'_>) -> SelectStatement {
    match scope {
        Scope::All => Query::select()
            .column((agreement::Entity, agreement::Column::Id))
            .from(agreement::Entity)
            .to_owned(),
        Scope::Party(org) => Query::select()
            .column((
                agreement_party::Entity,
                agreement_party::Column::AgreementId,
            ))
            .from(agreement_party::Entity)
            .and_where(agreement_party::Column::OrganisationId.eq(org))
            .to_owned(),
        Scope::Contact(email) => Query::select()
            .column((
                agreement_contact::Entity,
                agreement_contact::Column::AgreementId,
            ))
            .from(agreement_contact::Entity)
            .and_where(agreement_contact::Column::Email.eq(email))
            .to_owned(),
        Scope::Agreements(ids) => Query::select()
            .column((agreement::Entity, agreement::Column::Id))
            .from(agreement::Entity)
            .and_where(agreement::Column::Id.is_in(ids.iter().copied()))
            .to_owned(),
    }
}

/// The scope's id column as `scope_select` selects it.
fn scope_id(scope: Scope<'_>) -> Expr {
    match scope {
        Scope::All | Scope::Agreements(_) => agreement_id(),
        Scope::Party(_) => Expr::col((
            agreement_party::Entity,
            agreement_party::Column::AgreementId,
        )),
        Scope::Contact(_) => Expr::col((
            agreement_contact::Entity,
            agreement_contact::Column::AgreementId,
        )),
    }
}

/// The agreements with these ids (sorted; those of a [`Survey`]), in id order.
pub async fn agreements(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<Stored<Agreement>>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(BATCH) {
        for m in agreement::Entity::find()
            .filter(agreement::Column::Id.is_in(chunk.to_vec()))
            .order_by_asc(agreement::Column::Id)
            .all(db)
            .await?
        {
            out.push(agreement_from(m)?);
        }
    }
    Ok(out)
}

/// What a page's scope holds on a day, read in one statement: the fingerprint of its plans,
/// and the agreements a page reads the documents of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// The scope's agreement ids with the stamps of their plans holding on the day, by id: the
    /// pages' fingerprint, which changes with every plan written (so with every write of an
    /// agreement, its parties or contacts, and with each new window). `None` when an agreement
    /// in the scope has no such plan (its deadlines are computed from its document, which the
    /// stamps do not follow).
    pub stamps: Option<Stamps>,
    /// The agreements in the scope with no plan holding on the day, by id: their deadlines are
    /// computed from their documents.
    pub unplanned: Vec<i64>,
    /// The agreements whose plan holding on the day says they have outcome targets (in force,
    /// with targets to judge), by id.
    pub targets: Vec<i64>,
}

/// The [`Survey`] of `scope` on `today`: one pass over the scope's ids, each joined to its plan
/// holding on the day.
pub async fn survey(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    today: NaiveDate,
) -> Result<Survey, StoreError> {
    let p = Alias::new("p");
    let id = scope_id(scope);
    let mut on = valid_on(&p, today);
    on = on.add(Expr::col((p.clone(), agreement_plan::Column::AgreementId)).eq(id.clone()));
    let mut q = scope_select(scope);
    q.expr(Expr::col((p.clone(), agreement_plan::Column::Stamp)))
        .expr(Expr::col((p.clone(), agreement_plan::Column::Targets)))
        .join_as(
            sea_orm::sea_query::JoinType::LeftJoin,
            agreement_plan::Entity,
            p,
            on,
        );
    let rows = db.query_all(&q).await?;
    let mut stamps = Vec::with_capacity(rows.len());
    let mut out = Survey::default();
    for r in &rows {
        let id: i64 = r.try_get_by_index(0)?;
        match r.try_get_by_index::<Option<i64>>(1)? {
            None => out.unplanned.push(id),
            Some(stamp) => {
                stamps.push((id, stamp));
                if r.try_get_by_index::<Option<bool>>(2)? == Some(true) {
                    out.targets.push(id);
                }
            }
        }
    }
    for ids in [&mut out.unplanned, &mut out.targets] {
        ids.sort_unstable();
        ids.dedup();
    }
    if out.unplanned.is_empty() {
        stamps.sort_unstable();
        stamps.dedup();
        out.stamps = Some(Stamps(stamps));
    }
    Ok(out)
}

/// The references of `references` that are in `scope`.
pub async fn in_scope(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    references: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for chunk in references.chunks(BATCH) {
        let found: Vec<String> = agreement::Entity::find()
            .select_only()
            .column(agreement::Column::Reference)
            .filter(agreement::Column::Reference.is_in(chunk.to_vec()))
            .filter(scope.condition(agreement_id()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// The scope's agreement ids with the stamps of their plans, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamps(pub(crate) Vec<(i64, i64)>);

impl Stamps {
    /// The agreements that are in `self` but not in `earlier` with the same stamp (new to the
    /// scope, or planned again since).
    pub fn changed_since(&self, earlier: &Stamps) -> Vec<i64> {
        self.0
            .iter()
            .filter(|(id, stamp)| {
                earlier
                    .0
                    .binary_search_by_key(id, |(i, _)| *i)
                    .map_or(true, |at| earlier.0[at].1 != *stamp)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether the agreement with this id is in the scope.
    pub fn contains(&self, id: i64) -> bool {
        self.0.binary_search_by_key(&id, |(i, _)| *i).is_ok()
    }
}

/// Which of the stored deadlines a page reads, and so which of their columns.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    /// The start page's: those that can be open and are dated up to `.1`, and from `.0` on
    /// unless they are reports (a report can be overdue).
    Window(NaiveDate, NaiveDate),
    /// A calendar's: those whose recipients name this address, as the one to act or informed
    /// (looked for in the stored recipients' JSON, where an address is a quoted string, and
    /// checked on the decoded recipients).
    Naming(&'a EmailAddress),
}

impl Wanted<'_> {
    /// Whether a deadline of a plan (computed from a document) is one of these; the same as the
    /// condition [`rows`] puts on the stored ones.
    pub fn keeps(&self, p: &PlannedDeadline) -> bool {
        let d = &p.deadline;
        match *self {
            Wanted::Window(from, to) => {
                !p.met() && d.date <= to && (d.date >= from || d.kind == DeadlineKind::Report)
            }
            Wanted::Naming(email) => {
                d.recipients.to.contains(email) || d.recipients.cc.contains(email)
            }
        }
    }
}

/// The stored deadlines of the agreements in `scope` whose plan holds on `today` that are
/// `wanted`, by agreement id and place.
///
/// An organisation's window (its start page) is found in `party_deadline` (`party_window`),
/// the other reads by the scope's agreements.
///
/// On SQLite read as one row per agreement, its deadlines packed into a JSON array by
/// `json_group_array`: a calendar's 5,700 deadlines as rows of 19 columns cost more to copy out
/// of the driver (a value allocated per column, and each row sent from the connection's thread)
/// than SQLite takes to find them. PostgreSQL sends rows cheaply and builds JSON slowly
/// (`json_agg` made the same read half again as slow), so there each deadline is a row.
pub async fn rows(
    db: &impl ConnectionTrait,
    scope: Scope<'_>,
    today: NaiveDate,
    wanted: Wanted<'_>,
) -> Result<Vec<PlannedRow>, StoreError> {
    use agreement_deadline::Column as D;
    if let Scope::Agreements([]) = scope {
        return Ok(Vec::new());
    }
    let d = Alias::new("d");
    let col = |c: D| Expr::col((d.clone(), c));
    let p = Alias::new("p");
    let packed = db.get_database_backend() == DbBackend::Sqlite;
    // PostgreSQL reads an organisation's window without the plans, and then the plans of the
    // agreements found by their keys: joined in one statement, it hashed all 100,000 plans
    // (30-45 ms) to probe them for about 1,000 agreements.
    let plans_after = !packed && matches!((scope, wanted), (Scope::Party(_), Wanted::Window(..)));
    let mut q = Query::select();
    if packed {
        q.column((d.clone(), D::AgreementId))
            .column((p.clone(), agreement_plan::Column::Reference))
            .column((p.clone(), agreement_plan::Column::Title))
            .expr(Expr::cust(format!(
                r#"json_group_array(json_array({PACKED_COLUMNS}, json("d"."recipients")))"#
            )));
    } else {
        // In the order of `Packed`, after the agreement's id.
        q.columns(
            [
                D::AgreementId,
                D::Seq,
                D::Kind,
                D::Date,
                D::Occurrence,
                D::What,
                D::Actor,
                D::ReportKind,
                D::PeriodEnd,
                D::FinalReport,
                D::LateOn,
                D::EscalateOn,
                D::Opens,
                D::Recorded,
                D::Escalated,
                D::Responsible,
                D::Recipients,
            ]
            .map(|c| (d.clone(), c)),
        );
        if !plans_after {
            q.column((p.clone(), agreement_plan::Column::Reference))
                .column((p.clone(), agreement_plan::Column::Title));
        }
    }
    match (scope, wanted) {
        // An organisation's window: its open deadlines found by party, each row then read by
        // its key.
        (Scope::Party(org), Wanted::Window(from, to)) => {
            let o = Alias::new("o");
            q.from_subquery(party_window(org, from, to), o.clone())
                .join_as(
                    sea_orm::sea_query::JoinType::InnerJoin,
                    agreement_deadline::Entity,
                    d.clone(),
                    Condition::all()
                        .add(col(D::AgreementId).equals((o.clone(), Alias::new("agreement_id"))))
                        .add(col(D::Seq).equals((o, Alias::new("seq")))),
                );
        }
        _ => {
            q.from_as(agreement_deadline::Entity, d.clone())
                .cond_where(scope.condition(col(D::AgreementId)));
        }
    }
    if !plans_after {
        // SQLite, reading by the scope's agreements: the deadlines as the outer loop, so their
        // rows come in the agreement's order and are packed without sorting (`CROSS JOIN` is
        // SQLite's way to fix the order of a join). Left to itself, SQLite 3.50 read the plans
        // first and sorted a calendar's 5,700 packed rows in a temporary B-tree: 23-36 ms
        // against 16-20 ms for the same statement.
        let same = col(D::AgreementId).equals((p.clone(), agreement_plan::Column::AgreementId));
        if packed && matches!(scope, Scope::Contact(_) | Scope::Agreements(_)) {
            // sea-query writes a cross join without its condition: it goes in the WHERE.
            q.join_as(
                sea_orm::sea_query::JoinType::CrossJoin,
                agreement_plan::Entity,
                p.clone(),
                Condition::all(),
            )
            .and_where(same);
        } else {
            q.join_as(
                sea_orm::sea_query::JoinType::InnerJoin,
                agreement_plan::Entity,
                p.clone(),
                same,
            );
        }
        q.cond_where(valid_on(&p, today));
    }
    match wanted {
        Wanted::Window(from, to) => {
            q.and_where(col(D::Met).eq(false))
                .and_where(col(D::Date).lte(to))
                .cond_where(
                    Condition::any()
                        .add(col(D::Date).gte(from))
                        .add(col(D::Kind).eq(DeadlineKind::Report.code())),
                );
        }
        Wanted::Naming(email) => {
            // An address holds no quote or backslash (`EmailAddress::parse`), so it is stored
            // as `"address"`; its `%` and `_` are escaped for LIKE.
            let mut pattern = String::from("%\"");
            for c in email.as_str().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push_str("\"%");
            q.and_where(col(D::Recipients).like(LikeExpr::new(pattern).escape('\\')));
        }
    }
    if packed {
        // By the agreement alone: its plan's reference and title are the same on each of its
        // rows (SQLite takes such bare columns from one of them), and rows that come in the
        // agreement's order need no sorting to be grouped.
        q.group_by_col((d.clone(), D::AgreementId));
    }
    q.order_by((d.clone(), D::AgreementId), sea_orm::Order::Asc);
    if !packed {
        q.order_by((d, D::Seq), sea_orm::Order::Asc);
    }
    let rows = db.query_all(&q).await?;
    let names = if plans_after {
        let mut ids = rows
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
        ids.dedup();
        Some(plan_names(db, &ids, today).await?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut agreement: Option<(i64, Reference)> = None;
    for r in &rows {
        if packed {
            decode_packed(r, today, &mut out)?;
            continue;
        }
        let id: i64 = r.try_get_by_index(0)?;
        // The plan's reference and title: read after the rows, or in the row itself.
        let named = match &names {
            None => None,
            Some(names) => match names.get(&id) {
                Some(named) => Some(named),
                // No plan holds on the day: the agreement's deadlines come from its document.
                None => continue,
            },
        };
        let title: String = match named {
            None => r.try_get_by_index(18)?,
            Some((_, title)) => title.clone(),
        };
        // Rows come by agreement: its reference parsed once.
        let reference = match agreement.take() {
            Some((at, reference)) if at == id => reference,
            _ => {
                let text: String = match named {
                    None => r.try_get_by_index(17)?,
                    Some((text, _)) => text.clone(),
                };
                Reference::parse(&text).map_err(|_| bad("reference", &text))?
            }
        };
        let recipients_text: String = r.try_get_by_index(16)?;
        let deadline = Packed {
            seq: r.try_get_by_index(1)?,
            kind: r.try_get_by_index(2)?,
            date: r.try_get_by_index(3)?,
            occurrence: r.try_get_by_index(4)?,
            what: r.try_get_by_index(5)?,
            actor: r.try_get_by_index(6)?,
            report_kind: r.try_get_by_index(7)?,
            period_end: r.try_get_by_index(8)?,
            final_report: r.try_get_by_index(9)?,
            late_on: r.try_get_by_index(10)?,
            escalate_on: r.try_get_by_index(11)?,
            opens: r.try_get_by_index(12)?,
            recorded: r.try_get_by_index(13)?,
            escalated: r.try_get_by_index(14)?,
            responsible: r.try_get_by_index(15)?,
            recipients: serde_json::from_str(&recipients_text)
                .map_err(|_| bad("recipients", &recipients_text))?,
        };
        out.push(planned_row(id, &reference, title, deadline, today)?);
        agreement = Some((id, reference));
    }
    Ok(match wanted {
        // The pattern only narrows what is read; the decoded recipients decide.
        Wanted::Naming(_) => out
            .into_iter()
            .filter(|r| wanted.keeps(&r.planned))
            .collect(),
        Wanted::Window(..) => out,
    })
}

/// The reference and title of each agreement of `ids` whose plan holds on `today`, by id.
async fn plan_names(
    db: &impl ConnectionTrait,
    ids: &[i64],
    today: NaiveDate,
) -> Result<std::collections::HashMap<i64, (String, String)>, StoreError> {
    let p = Alias::new("p");
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let q = Query::select()
            .columns(
                [
                    agreement_plan::Column::AgreementId,
                    agreement_plan::Column::Reference,
                    agreement_plan::Column::Title,
                ]
                .map(|c| (p.clone(), c)),
            )
            .from_as(agreement_plan::Entity, p.clone())
            .and_where(
                Expr::col((p.clone(), agreement_plan::Column::AgreementId))
                    .is_in(chunk.iter().copied()),
            )
            .cond_where(valid_on(&p, today))
            .to_owned();
        for r in db.query_all(&q).await? {
            out.insert(
                r.try_get_by_index(0)?,
                (r.try_get_by_index(1)?, r.try_get_by_index(2)?),
            );
        }
    }
    Ok(out)
}

/// The keys (`agreement_id`, `seq`) of the open deadlines of the agreements organisation `org`
/// is a party to that [`Wanted::Window`]`(from, to)` keeps: those dated from `from` to `to`, and
/// the reports dated up to `to`. Two ranges of `party_deadline`'s key, so each is read in order
/// without a row outside it.
fn party_window(org: i64, from: NaiveDate, to: NaiveDate) -> SelectStatement {
    let range = |report: bool| {
        let mut q = Query::select();
        q.columns(["agreement_id", "seq"].map(Alias::new))
            .from(Alias::new(PARTY_DEADLINE))
            .and_where(Expr::col(Alias::new("organisation_id")).eq(org))
            .and_where(Expr::col(Alias::new("report")).eq(report))
            .and_where(Expr::col(Alias::new("date")).lte(to));
        if !report {
            q.and_where(Expr::col(Alias::new("date")).gte(from));
        }
        q
    };
    range(false)
        .union(sea_orm::sea_query::UnionType::All, range(true))
        .to_owned()
}

/// The columns of a stored deadline in the order of [`Packed`], but its recipients.
const PACKED_COLUMNS: &str = r#""d"."seq", "d"."kind", "d"."date", "d"."occurrence", "d"."what", "d"."actor", "d"."report_kind", "d"."period_end", "d"."final_report", "d"."late_on", "d"."escalate_on", "d"."opens", "d"."recorded", "d"."escalated", "d"."responsible""#;

/// A stored deadline as [`rows`] reads it (on SQLite packed as a JSON array in this field
/// order; on PostgreSQL read column by column).
#[derive(Debug, serde::Deserialize)]
struct Packed {
    seq: i32,
    kind: String,
    date: NaiveDate,
    occurrence: String,
    what: String,
    actor: String,
    report_kind: Option<String>,
    period_end: Option<NaiveDate>,
    #[serde(deserialize_with = "flag")]
    final_report: bool,
    late_on: Option<NaiveDate>,
    escalate_on: Option<NaiveDate>,
    opens: Option<NaiveDate>,
    recorded: Option<String>,
    #[serde(deserialize_with = "flag")]
    escalated: bool,
    responsible: Option<String>,
    recipients: Recipients,
}

/// A boolean column in packed JSON: `1`/`0` as SQLite's `json_array` gives it, or a JSON
/// `true`/`false`.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    // A visitor of its own: an untagged enum buffered each value and made an error for every
    // `0`/`1` it tried as a boolean first.
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a boolean or 0/1")
        }
        fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<bool, E> {
            Ok(b)
        }
        fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<bool, E> {
            Ok(i != 0)
        }
        fn visit_u64<E: serde::de::Error>(self, i: u64) -> Result<bool, E> {
            Ok(i != 0)
        }
    }
    d.deserialize_any(Flag)
}

/// Appends the deadlines of one agreement's row (id, reference, title, packed deadlines), in
/// their places.
fn decode_packed(
    r: &sea_orm::QueryResult,
    today: NaiveDate,
    out: &mut Vec<PlannedRow>,
) -> Result<(), StoreError> {
    let agreement_id: i64 = r.try_get_by_index(0)?;
    let reference_text: String = r.try_get_by_index(1)?;
    let reference =
        Reference::parse(&reference_text).map_err(|_| bad("reference", &reference_text))?;
    let title: String = r.try_get_by_index(2)?;
    let text: String = r.try_get_by_index(3)?;
    let mut packed: Vec<Packed> =
        serde_json::from_str(&text).map_err(|e| bad("deadlines", &e.to_string()))?;
    packed.sort_by_key(|p| p.seq);
    out.reserve(packed.len());
    for p in packed {
        out.push(planned_row(
            agreement_id,
            &reference,
            title.clone(),
            p,
            today,
        )?);
    }
    Ok(())
}

/// A stored deadline of the agreement with this id, reference and title, as a page reads it.
fn planned_row(
    agreement_id: i64,
    reference: &Reference,
    title: String,
    p: Packed,
    today: NaiveDate,
) -> Result<PlannedRow, StoreError> {
    let kind: DeadlineKind = p.kind.parse().map_err(|_| bad("kind", &p.kind))?;
    let actor = Actor::parse(&p.actor).ok_or_else(|| bad("actor", &p.actor))?;
    let recorded = match p.recorded {
        None => None,
        Some(code) => Some((
            OccurrenceState::parse(&code).map_err(|_| bad("state", &code))?,
            p.escalated,
        )),
    };
    let report = match p.report_kind {
        None => None,
        Some(kind) => {
            let day = |d: Option<NaiveDate>, c: &str| d.ok_or_else(|| bad(c, "NULL"));
            Some(ReportOccurrence {
                kind,
                period_end: day(p.period_end, "period_end")?,
                final_report: p.final_report,
                due: p.date,
                late_on: day(p.late_on, "late_on")?,
                escalate_on: day(p.escalate_on, "escalate_on")?,
                // Derived for the day a page is read (`PlannedDeadline::on`).
                state: OccurrenceState::Upcoming,
            })
        }
    };
    let responsible = match p.responsible {
        None => None,
        Some(o) => Some(OrgNumber::parse(&o).map_err(|_| bad("organisation", &o))?),
    };
    Ok(PlannedRow {
        agreement_id,
        seq: usize::try_from(p.seq).unwrap_or_default(),
        title,
        planned: PlannedDeadline {
            deadline: Deadline {
                reference: reference.clone(),
                kind,
                date: p.date,
                what: p.what,
                occurrence: p.occurrence,
                state: if p.date >= today {
                    DeadlineState::Open
                } else {
                    DeadlineState::Passed
                },
                actor,
                recipients: p.recipients,
                report,
                reminders: Vec::new(),
            },
            opens: p.opens,
            recorded,
            responsible,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_stamps_are_the_new_and_the_planned_again() {
        let then = Stamps(vec![(1, 10), (2, 20), (3, 30)]);
        let now = Stamps(vec![(1, 10), (3, 31), (4, 40)]);
        assert_eq!(now.changed_since(&then), [3, 4]);
        assert!(then.changed_since(&then).is_empty());
        assert!(now.contains(4) && !now.contains(2));
    }

    #[test]
    fn packed_deadlines_read_the_same_from_either_backend() {
        // SQLite's json_array gives booleans as 0/1; JSON booleans (as PostgreSQL's
        // json_build_array would give them) read the same. The recipients come as the stored
        // JSON object.
        let recipients = r#"{"to":["a@b.example"],"cc":[]}"#;
        let row = |yes: &str, no: &str| {
            format!(
                r#"[[1,"report","2026-07-20","r:2026-06-30@2026-07-20","what","reporting_contact","r","2026-06-30",{yes},"2026-07-30","2026-08-13","2026-07-01","accepted",{no},"819001-1877",{recipients}]]"#
            )
        };
        let sqlite: Vec<Packed> =
            serde_json::from_str(&row("1", "0")).unwrap_or_else(|e| panic!("{e}"));
        let postgres: Vec<Packed> =
            serde_json::from_str(&row("true", "false")).unwrap_or_else(|e| panic!("{e}"));
        for p in [&sqlite[0], &postgres[0]] {
            assert!(p.final_report && !p.escalated, "{p:?}");
            assert_eq!(
                p.date,
                NaiveDate::from_ymd_opt(2026, 7, 20).unwrap_or_default()
            );
            assert_eq!(p.late_on, NaiveDate::from_ymd_opt(2026, 7, 30));
            assert_eq!(p.recipients.to.len(), 1);
            assert_eq!(p.recorded.as_deref(), Some("accepted"));
        }
        // A column too few is an error, not a default.
        let short = r#"[[1,"report","2026-07-20"]]"#;
        assert!(serde_json::from_str::<Vec<Packed>>(short).is_err());
        // A flag is a boolean or a number: a string or null is an error.
        for bad in [r#""1""#, "null"] {
            assert!(
                serde_json::from_str::<Vec<Packed>>(&row(bad, "0")).is_err(),
                "{bad}"
            );
        }
        let zero: Vec<Packed> =
            serde_json::from_str(&row("0", "1")).unwrap_or_else(|e| panic!("{e}"));
        assert!(!zero[0].final_report && zero[0].escalated);
    }

    #[test]
    fn runs_stop_at_the_row_count_or_the_bytes_and_keep_every_row_once() {
        let rows: Vec<(u32, usize)> = (0..10).map(|i| (i, 5_000)).collect();
        let cut = runs(&rows, 4);
        assert_eq!(
            cut.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [2, 2, 2, 2, 2]
        );
        let small: Vec<(u32, usize)> = (0..10).map(|i| (i, 10)).collect();
        let cut = runs(&small, 4);
        assert_eq!(cut.iter().map(|r| r.len()).collect::<Vec<_>>(), [4, 4, 2]);
        let big = [(0, 100_000), (1, 10), (2, 100_000)];
        assert_eq!(runs(&big, 4).len(), 3);
        assert!(runs::<u32>(&[], 4).is_empty());
    }
}
