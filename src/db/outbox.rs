//! The outbox table (the queries; `notify` decides what to send and how): queueing messages under their dedupe key, claiming due ones for a sender,
//! and recording the outcome. Works on SQLite and PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TryInsertResult,
};
use serde::{Deserialize, Serialize};

use super::begin_write;
use super::entities::{outbox, outbox_reminder};
use crate::domain::party::EmailAddress;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a sender until `claimed_until`.
    Sending,
    /// Handed to the mail server (or written to a file).
    Sent,
    /// Gave up after the last attempt; an officer must look at it.
    Failed,
}

impl OutboxState {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored or requested code.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|st| st.code() == s)
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The reminder's key, or `digest/<email>/<date>`.
    pub dedupe_key: String,
    /// The agreement (`digest` for a digest).
    pub reference: String,
    /// The deadline kind, or `digest`.
    pub kind: String,
    /// Must act.
    pub to: Vec<EmailAddress>,
    /// Informed.
    pub cc: Vec<EmailAddress>,
    /// One-line subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// The iCalendar attachment.
    pub ics: String,
    /// The Message-ID header, fixed now so a re-send carries the same one.
    pub message_id: String,
}

/// Seconds are enough, and whole seconds keep SQLite's text timestamps comparable.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// The row of a new message: pending, due at `now`, unclaimed.
fn pending_row(m: NewMessage, now: DateTime<Utc>) -> outbox::ActiveModel {
    outbox::ActiveModel {
        dedupe_key: Set(m.dedupe_key),
        reference: Set(m.reference),
        kind: Set(m.kind),
        to_addrs: Set(serde_json::to_string(&m.to).unwrap_or_default()),
        cc_addrs: Set(serde_json::to_string(&m.cc).unwrap_or_default()),
        subject: Set(m.subject),
        body_text: Set(m.text),
        body_html: Set(m.html),
        ics: Set(m.ics),
        message_id: Set(m.message_id),
        state: Set(OutboxState::Pending.code().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        claimed_until: Set(None),
        claim_token: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
}

/// Queues a message unless one with its dedupe key exists; returns its id when it was created.
pub async fn insert(
    db: &impl ConnectionTrait,
    m: NewMessage,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let now = whole_seconds(now);
    let row = pending_row(m, now);
    let res = outbox::Entity::insert(row)
        .on_conflict_do_nothing_on([outbox::Column::DedupeKey])
        .exec(db)
        .await?;
    Ok(match res {
        TryInsertResult::Inserted(r) => Some(r.last_insert_id),
        TryInsertResult::Empty | TryInsertResult::Conflicted => None,
    })
}

/// Queues messages in one multi-row insert, skipping those whose dedupe key exists; returns how
/// many were created.
pub async fn insert_many(
    db: &impl ConnectionTrait,
    messages: Vec<NewMessage>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if messages.is_empty() {
        return Ok(0);
    }
    let now = whole_seconds(now);
    let rows = messages.into_iter().map(|m| pending_row(m, now));
    let res = outbox::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(res)
}

/// Records that a digest carried these reminders to this recipient.
pub async fn record_digest_items(
    db: &impl ConnectionTrait,
    outbox_id: i64,
    recipient: &str,
    keys: &[String],
) -> Result<(), DbErr> {
    if keys.is_empty() {
        return Ok(());
    }
    let rows = keys.iter().map(|k| outbox_reminder::ActiveModel {
        reminder_key: Set(k.clone()),
        recipient: Set(recipient.to_owned()),
        outbox_id: Set(outbox_id),
    });
    outbox_reminder::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                outbox_reminder::Column::ReminderKey,
                outbox_reminder::Column::Recipient,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// On PostgreSQL, `keys` as one text parameter for `= ANY(string_to_array($1, chr(31)))`: one
/// statement with one parameter instead of one `IN` of 500 parameters per 500 keys, which
/// PostgreSQL plans anew each time (unless a key holds the separator).
fn pg_key_list(db: &impl ConnectionTrait, keys: &[String]) -> Option<String> {
    (db.get_database_backend() == DbBackend::Postgres && !keys.iter().any(|k| k.contains('\u{1f}')))
        .then(|| keys.join("\u{1f}"))
}

/// Of `keys`, those already queued as messages of their own.
pub async fn queued_keys(
    db: &impl ConnectionTrait,
    keys: &[String],
) -> Result<std::collections::HashSet<String>, DbErr> {
    if let Some(joined) = pg_key_list(db, keys) {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT dedupe_key FROM outbox WHERE dedupe_key = ANY(string_to_array($1, chr(31)))",
                [joined.into()],
            ))
            .await?;
        return rows.iter().map(|r| r.try_get("", "dedupe_key")).collect();
    }
    let mut found = std::collections::HashSet::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<String> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::DedupeKey)
            .filter(outbox::Column::DedupeKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Of `keys`, the (reminder key, recipient) pairs already sent in a digest.
pub async fn digested(
    db: &impl ConnectionTrait,
    keys: &[String],
) -> Result<std::collections::HashSet<(String, String)>, DbErr> {
    if let Some(joined) = pg_key_list(db, keys) {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT reminder_key, recipient FROM outbox_reminder WHERE reminder_key = ANY(string_to_array($1, chr(31)))",
                [joined.into()],
            ))
            .await?;
        return rows
            .iter()
            .map(|r| Ok((r.try_get("", "reminder_key")?, r.try_get("", "recipient")?)))
            .collect();
    }
    let mut found = std::collections::HashSet::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<(String, String)> = outbox_reminder::Entity::find()
            .select_only()
            .column(outbox_reminder::Column::ReminderKey)
            .column(outbox_reminder::Column::Recipient)
            .filter(outbox_reminder::Column::ReminderKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Claims up to `limit` messages due at `now` (pending with `next_attempt_at <= now`, or sending
/// with an expired claim) for the holder of `token`: sets them to sending until `now + claim`,
/// counts the attempt, and commits before returning, so no transaction stays open while the
/// caller talks SMTP. PostgreSQL skips rows another sender has locked; SQLite serialises
/// claimers with `BEGIN IMMEDIATE`. `now` must be the current time: a claim stamped earlier
/// expires early and lets another sender take the row.
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
    claim: Duration,
    token: &str,
) -> Result<Vec<outbox::Model>, DbErr> {
    let now = whole_seconds(now);
    let tx = begin_write(db).await?;
    let due = Condition::any()
        .add(
            outbox::Column::State
                .eq(OutboxState::Pending.code())
                .and(outbox::Column::NextAttemptAt.lte(now)),
        )
        .add(
            outbox::Column::State
                .eq(OutboxState::Sending.code())
                .and(outbox::Column::ClaimedUntil.lt(now)),
        );
    let mut q = outbox::Entity::find()
        .filter(due)
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let mut rows = q.all(&tx).await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(rows);
    }
    let until = now + claim;
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::State,
            Expr::value(OutboxState::Sending.code()),
        )
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(until))
        .col_expr(outbox::Column::ClaimToken, Expr::value(token.to_owned()))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    for r in &mut rows {
        r.state = OutboxState::Sending.code().to_owned();
        r.claimed_until = Some(until);
        r.claim_token = Some(token.to_owned());
        r.attempts += 1;
    }
    Ok(rows)
}

/// The rows still claimed by `token`.
fn held_by(token: &str) -> Condition {
    Condition::all()
        .add(outbox::Column::ClaimToken.eq(token))
        .add(outbox::Column::State.eq(OutboxState::Sending.code()))
}

/// Extends every claim `token` still holds to `until`; returns how many rows it holds.
pub async fn renew(
    db: &impl ConnectionTrait,
    token: &str,
    until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(whole_seconds(until)),
        )
        .filter(held_by(token))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Marks a message sent, if `token` still holds its claim; returns whether it did.
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    id: i64,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(OutboxState::Sent.code()))
        .col_expr(outbox::Column::SentAt, Expr::value(whole_seconds(now)))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::ClaimToken,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .filter(held_by(token))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records a refused attempt, if `token` still holds the claim: pending again at `retry_at`, or
/// failed when `retry_at` is `None`. Returns whether it did.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    id: i64,
    token: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let (state, next) = match retry_at {
        Some(t) => (OutboxState::Pending, Some(whole_seconds(t))),
        None => (OutboxState::Failed, None),
    };
    let mut q = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(state.code()))
        .col_expr(outbox::Column::LastError, Expr::value(error.to_owned()))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::ClaimToken,
            Expr::value(Option::<String>::None),
        );
    if let Some(t) = next {
        q = q.col_expr(outbox::Column::NextAttemptAt, Expr::value(t));
    }
    let res = q
        .filter(outbox::Column::Id.eq(id))
        .filter(held_by(token))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives claimed messages back untried or unsent through no fault of their own (the server
/// could not be reached): pending again, due at once, their attempt not counted. With `error`,
/// it is kept as the last error. Returns how many `token` still held.
pub async fn release(
    db: &impl ConnectionTrait,
    ids: &[i64],
    token: &str,
    error: Option<&str>,
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut q = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::State,
            Expr::value(OutboxState::Pending.code()),
        )
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).sub(1),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::ClaimToken,
            Expr::value(Option::<String>::None),
        );
    if let Some(e) = error {
        q = q.col_expr(outbox::Column::LastError, Expr::value(e.to_owned()));
    }
    let mut released = 0;
    for chunk in ids.chunks(500) {
        released += q
            .clone()
            .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
            .filter(held_by(token))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(released)
}

/// Queues failed messages again (`ids`, or every failed one when `None`): pending, due at
/// `now`, with a fresh count of attempts; the last error is kept until the next attempt.
/// Returns the rows as they were before, for the audit log.
pub async fn requeue_failed(
    db: &impl ConnectionTrait,
    ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<Vec<outbox::Model>, DbErr> {
    let mut find =
        outbox::Entity::find().filter(outbox::Column::State.eq(OutboxState::Failed.code()));
    if let Some(ids) = ids {
        find = find.filter(outbox::Column::Id.is_in(ids.iter().copied()));
    }
    let before = find.order_by_asc(outbox::Column::Id).all(db).await?;
    for chunk in before.chunks(500) {
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::State,
                Expr::value(OutboxState::Pending.code()),
            )
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(
                outbox::Column::NextAttemptAt,
                Expr::value(whole_seconds(now)),
            )
            .filter(outbox::Column::Id.is_in(chunk.iter().map(|r| r.id)))
            .filter(outbox::Column::State.eq(OutboxState::Failed.code()))
            .exec(db)
            .await?;
    }
    Ok(before)
}

/// One message by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Option<outbox::Model>, DbErr> {
    outbox::Entity::find_by_id(id).one(db).await
}

/// Messages in a state (all when `None`), newest first, at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    state: Option<OutboxState>,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    let mut q = outbox::Entity::find();
    if let Some(st) = state {
        q = q.filter(outbox::Column::State.eq(st.code()));
    }
    q.order_by_desc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The messages about agreement `reference`, newest first, at most `limit`.
pub async fn list_for_reference(
    db: &impl ConnectionTrait,
    reference: &str,
    limit: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::Reference.eq(reference))
        .order_by_desc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
