//! Storage of the audit log: appending inside the caller's write transaction, streaming
//! verification, the auditor's list and the point-in-time lookups. The pure part (canonical form,
//! hash, chain checks, diff) is `crate::domain::audit`.
//!
//! Appending is safe with concurrent writers because the chain head is read and extended while
//! the writer holds the chain: on SQLite the write transaction is `BEGIN IMMEDIATE` (one writer at
//! a time); on PostgreSQL [`Appender::start`] takes a transaction-scoped advisory lock first.
//! Append as the transaction's last write: a writer that holds the chain lock then never waits for
//! a row lock, so two writers cannot deadlock on PostgreSQL.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::Value;

use super::entities::audit_log;
use super::store::StoreError;
use crate::domain::agreement::Agreement;
use crate::domain::audit::{
    self as chain, Action, Entry, GENESIS_HASH, Step, Verifier, VerifyOutcome,
};

/// The key of the PostgreSQL advisory lock that serialises appends ("avtal_au").
pub const CHAIN_LOCK: i64 = 0x6176_7461_6c5f_6175;

/// Rows per insert statement when appending many entries (imports).
const BATCH: usize = 400;

/// A change to log; [`Appender::push`] adds the id, time and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// Who.
    pub actor: String,
    /// What, e.g. `agreement.update`.
    pub action: String,
    /// Kind of record.
    pub entity_kind: String,
    /// Its key.
    pub entity_key: String,
    /// The agreement concerned, if any.
    pub agreement: Option<String>,
    /// JSON text of the stored document before (`None` for a create).
    pub before: Option<String>,
    /// JSON text of the stored document after.
    pub after: Option<String>,
}

fn json_text<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| crate::error::Unexpected::new("cannot serialise an audit entry", e).into())
}

impl NewEntry {
    /// A change of any record, with its documents before and after.
    pub fn change<T: Serialize>(
        actor: &str,
        action: Action,
        entity_key: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            actor: actor.to_owned(),
            action: action.as_str().to_owned(),
            entity_kind: action.entity_kind().to_owned(),
            entity_key: entity_key.to_owned(),
            agreement: None,
            before: before.map(json_text).transpose()?,
            after: after.map(json_text).transpose()?,
        })
    }

    /// A change of an agreement (`action` is one of the `Agreement…` actions).
    pub fn agreement(
        actor: &str,
        action: Action,
        before: Option<&Agreement>,
        after: &Agreement,
    ) -> Result<Self, StoreError> {
        let key = after.reference.to_string();
        let mut e = Self::change(actor, action, &key, before, Some(after))?;
        e.agreement = Some(key);
        Ok(e)
    }
}

/// Where an entry landed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Its id.
    pub id: i64,
    /// Its time.
    pub at: DateTime<Utc>,
    /// Its hash (the chain's new head).
    pub hash: String,
}

/// Extends the chain inside one write transaction, buffering rows into batched inserts.
#[derive(Debug)]
pub struct Appender {
    next_id: i64,
    prev_hash: String,
    last_at: Option<DateTime<Utc>>,
    fixed_at: Option<DateTime<Utc>>,
    buf: Vec<audit_log::ActiveModel>,
}

impl Appender {
    /// Takes the chain (PostgreSQL: advisory lock until the transaction ends) and reads its head.
    pub async fn start(tx: &DatabaseTransaction) -> Result<Self, StoreError> {
        if tx.get_database_backend() == DbBackend::Postgres {
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))
                .await?;
        }
        let head: Option<(i64, String, DateTime<Utc>)> = audit_log::Entity::find()
            .select_only()
            .columns([
                audit_log::Column::Id,
                audit_log::Column::Hash,
                audit_log::Column::At,
            ])
            .order_by_desc(audit_log::Column::Id)
            .limit(1)
            .into_tuple()
            .one(tx)
            .await?;
        Ok(match head {
            Some((id, hash, at)) => Self {
                next_id: id + 1,
                prev_hash: hash,
                last_at: Some(at),
                fixed_at: None,
                buf: Vec::new(),
            },
            None => Self {
                next_id: 1,
                prev_hash: GENESIS_HASH.to_owned(),
                last_at: None,
                fixed_at: None,
                buf: Vec::new(),
            },
        })
    }

    /// Dates every following entry `at` instead of now (tests and back-dated loads; the chain
    /// still requires time not to go backwards).
    pub fn with_time(mut self, at: DateTime<Utc>) -> Self {
        self.fixed_at = Some(at);
        self
    }

    /// Appends one entry (written at the latest by [`Appender::finish`]).
    pub async fn push(
        &mut self,
        tx: &DatabaseTransaction,
        e: NewEntry,
    ) -> Result<Appended, StoreError> {
        let now = chain::truncate_at(self.fixed_at.unwrap_or_else(Utc::now));
        // Time never goes backwards in the chain, even if the clock does.
        let at = match self.last_at {
            Some(last) if self.fixed_at.is_none() && last > now => last,
            _ => now,
        };
        let entry = chain::seal(
            Entry {
                id: self.next_id,
                at,
                actor: e.actor,
                action: e.action,
                entity_kind: e.entity_kind,
                entity_key: e.entity_key,
                agreement: e.agreement,
                before: e.before,
                after: e.after,
                prev_hash: String::new(),
                hash: String::new(),
            },
            &self.prev_hash,
        );
        self.next_id += 1;
        self.prev_hash.clone_from(&entry.hash);
        self.last_at = Some(entry.at);
        let appended = Appended {
            id: entry.id,
            at: entry.at,
            hash: entry.hash.clone(),
        };
        self.buf.push(audit_log::ActiveModel {
            id: Set(entry.id),
            at: Set(entry.at),
            actor: Set(entry.actor),
            action: Set(entry.action),
            entity_kind: Set(entry.entity_kind),
            entity_key: Set(entry.entity_key),
            agreement: Set(entry.agreement),
            before: Set(entry.before),
            after: Set(entry.after),
            prev_hash: Set(entry.prev_hash),
            hash: Set(entry.hash),
        });
        if self.buf.len() >= BATCH {
            self.flush(tx).await?;
        }
        Ok(appended)
    }

    async fn flush(&mut self, tx: &DatabaseTransaction) -> Result<(), StoreError> {
        if !self.buf.is_empty() {
            let rows = std::mem::take(&mut self.buf);
            audit_log::Entity::insert_many(rows)
                .exec_without_returning(tx)
                .await?;
        }
        Ok(())
    }

    /// Writes what is buffered. Call it before the transaction commits.
    pub async fn finish(mut self, tx: &DatabaseTransaction) -> Result<(), StoreError> {
        self.flush(tx).await
    }
}

/// Appends one entry to the chain inside the caller's write transaction.
pub async fn record(tx: &DatabaseTransaction, entry: NewEntry) -> Result<Appended, StoreError> {
    let mut a = Appender::start(tx).await?;
    let out = a.push(tx, entry).await?;
    a.finish(tx).await?;
    Ok(out)
}

/// Appends `entries` in order inside the caller's write transaction, in batched inserts.
pub async fn record_all(
    tx: &DatabaseTransaction,
    entries: Vec<NewEntry>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut a = Appender::start(tx).await?;
    for e in entries {
        a.push(tx, e).await?;
    }
    a.finish(tx).await
}

fn entry_of(m: audit_log::Model) -> Entry {
    Entry {
        id: m.id,
        at: m.at,
        actor: m.actor,
        action: m.action,
        entity_kind: m.entity_kind,
        entity_key: m.entity_key,
        agreement: m.agreement,
        before: m.before,
        after: m.after,
        prev_hash: m.prev_hash,
        hash: m.hash,
    }
}

/// The id of the chain's last entry, 0 when it is empty: the registry's data version. Every
/// write appends to the chain as its last write while it holds the chain until it commits, so
/// the ids become visible in order, and a reader that sees an id sees every write before it.
pub async fn head_id(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let head: Option<i64> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Id)
        .order_by_desc(audit_log::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(head.unwrap_or(0))
}

/// Streams the whole chain in id order, `batch` entries at a time, and checks it; stops at the
/// first problem. This is what `avtal audit verify` and `GET /api/v1/audit/verify` run.
pub async fn verify(db: &impl ConnectionTrait) -> Result<VerifyOutcome, StoreError> {
    let mut v = Verifier::new();
    let mut last_id = i64::MIN;
    loop {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(last_id))
            .order_by_asc(audit_log::Column::Id)
            .limit(1000)
            .all(db)
            .await?;
        if rows.is_empty() {
            return Ok(v.finish(None));
        }
        for m in rows {
            last_id = m.id;
            let e = entry_of(m);
            match v.push(&e) {
                Step::Ok => {}
                Step::Problem(p) => return Ok(v.finish(Some(p))),
                Step::Unlinked { id, prev_hash } => {
                    let found: Option<i64> = audit_log::Entity::find()
                        .select_only()
                        .column(audit_log::Column::Id)
                        .filter(audit_log::Column::Hash.eq(prev_hash))
                        .order_by_asc(audit_log::Column::Id)
                        .into_tuple()
                        .one(db)
                        .await?;
                    let p = v.classify_unlinked(id, found);
                    return Ok(v.finish(Some(p)));
                }
            }
        }
    }
}

/// Filters of the auditor's list; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries about this agreement (its changes and its documents).
    pub agreement: Option<String>,
    /// Entries by this actor.
    pub actor: Option<String>,
    /// Entries of this action.
    pub action: Option<Action>,
    /// Written at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Written before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// An entry as the API shows it: `before` and `after` as JSON values.
#[derive(Debug, Clone, Serialize)]
pub struct AuditItem {
    /// Position in the chain.
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Kind of record.
    pub entity_kind: String,
    /// Its key.
    pub entity_key: String,
    /// The agreement concerned.
    pub agreement: Option<String>,
    /// The document before.
    pub before: Option<Value>,
    /// The document after.
    pub after: Option<Value>,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

fn as_value(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

impl From<Entry> for AuditItem {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            entity_kind: e.entity_kind,
            entity_key: e.entity_key,
            agreement: e.agreement,
            before: as_value(e.before),
            after: as_value(e.after),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// A page of the auditor's list, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditItem>,
    /// Entries matching the filters.
    pub total: u64,
    /// Page number, from 1.
    pub page: u64,
    /// Entries per page.
    pub limit: u64,
}

/// Lists entries matching `f`, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    page: u64,
    limit: u64,
) -> Result<AuditPage, StoreError> {
    use audit_log::Column as C;
    let mut q = audit_log::Entity::find();
    if let Some(a) = &f.agreement {
        q = q.filter(C::Agreement.eq(a.as_str()));
    }
    if let Some(a) = &f.actor {
        q = q.filter(C::Actor.eq(a.as_str()));
    }
    if let Some(a) = &f.action {
        q = q.filter(C::Action.eq(a.as_str()));
    }
    if let Some(t) = f.from {
        q = q.filter(C::At.gte(t));
    }
    if let Some(t) = f.to {
        q = q.filter(C::At.lt(t));
    }
    let total = q.clone().count(db).await?;
    let page = page.max(1);
    let rows = q
        .order_by_desc(C::Id)
        .limit(limit)
        .offset((page - 1).saturating_mul(limit))
        .all(db)
        .await?;
    Ok(AuditPage {
        items: rows
            .into_iter()
            .map(|m| AuditItem::from(entry_of(m)))
            .collect(),
        total,
        page,
        limit,
    })
}

/// The first entry about record `kind`/`key` (when it was registered), or `None` if never logged.
pub async fn first(
    db: &impl ConnectionTrait,
    entity_kind: &str,
    entity_key: &str,
) -> Result<Option<Entry>, StoreError> {
    use audit_log::Column as C;
    Ok(audit_log::Entity::find()
        .filter(C::EntityKind.eq(entity_kind))
        .filter(C::EntityKey.eq(entity_key))
        .order_by_asc(C::Id)
        .limit(1)
        .one(db)
        .await?
        .map(entry_of))
}

/// The last entry about record `kind`/`key` written before `before` (the state at that instant).
pub async fn last_before(
    db: &impl ConnectionTrait,
    entity_kind: &str,
    entity_key: &str,
    before: DateTime<Utc>,
) -> Result<Option<Entry>, StoreError> {
    use audit_log::Column as C;
    Ok(audit_log::Entity::find()
        .filter(C::EntityKind.eq(entity_kind))
        .filter(C::EntityKey.eq(entity_key))
        .filter(C::At.lt(before))
        .order_by_desc(C::Id)
        .limit(1)
        .one(db)
        .await?
        .map(entry_of))
}

/// The stored document of record `kind`/`key` as it stood just before `before`, or `None` if it
/// did not exist yet.
pub async fn document_as_of(
    db: &impl ConnectionTrait,
    entity_kind: &str,
    entity_key: &str,
    before: DateTime<Utc>,
) -> Result<Option<(Entry, Value)>, StoreError> {
    let Some(e) = last_before(db, entity_kind, entity_key, before).await? else {
        return Ok(None);
    };
    let Some(text) = e.after.as_deref() else {
        return Ok(None);
    };
    let doc = serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        what: "audit entry",
        key: e.id.to_string(),
        source,
    })?;
    Ok(Some((e, doc)))
}

/// Every entry about record `kind`/`key`, oldest first (the versions of an agreement, for OCDS records).
pub async fn history(
    db: &impl ConnectionTrait,
    entity_kind: &str,
    entity_key: &str,
) -> Result<Vec<Entry>, StoreError> {
    use audit_log::Column as C;
    Ok(audit_log::Entity::find()
        .filter(C::EntityKind.eq(entity_kind))
        .filter(C::EntityKey.eq(entity_key))
        .order_by_asc(C::Id)
        .all(db)
        .await?
        .into_iter()
        .map(entry_of)
        .collect())
}
