//! Use cases of the outbox: the queued e-mail officers and admins look at, and queueing failed
//! messages again (one, some or all), each re-queueing audited in the same transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Registry, RegistryError};
use crate::db::audit::{self, NewEntry};
use crate::db::entities::outbox::Model as Message;
use crate::db::outbox::{self, OutboxState};
use crate::db::plans::{self, Scope};
use crate::db::store::{self, AgreementFilter, StoreError};
use crate::domain::access::Role;
use crate::domain::audit::Action;
use crate::domain::party::Violation;

/// What the audit log keeps of a message's state (never its addresses or text).
#[derive(Debug, Serialize)]
struct Delivery<'a> {
    state: &'a str,
    attempts: i32,
    last_error: Option<&'a str>,
}

impl Registry {
    /// The organisation of an acting officer, whose messages are those of its agreements.
    fn officer_org(&self) -> Option<crate::domain::org_number::OrgNumber> {
        self.principal
            .as_ref()
            .filter(|p| p.role == Role::Officer)
            .and_then(|p| p.org.clone())
    }

    /// Which of `references` (those of some messages) the acting user sees: `None` for all of
    /// them (admins, auditors, the CLI), else those that are references of an officer's
    /// organisation's agreements (only these references are looked up, never the organisation's
    /// every agreement).
    async fn outbox_scope<'r>(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        references: impl IntoIterator<Item = &'r str>,
    ) -> Result<Option<HashSet<String>>, RegistryError> {
        let Some(org) = self.officer_org() else {
            return Ok(None);
        };
        let mut wanted: Vec<String> = references.into_iter().map(str::to_owned).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let filter = AgreementFilter {
            party: Some(org),
            ..AgreementFilter::default()
        };
        // The filter names a party, so it resolves to an id (-1 for an unknown organisation).
        let org_id = store::party_filter_id(db, &filter).await?.unwrap_or(-1);
        Ok(Some(
            plans::in_scope(db, Scope::Party(org_id), &wanted)
                .await?
                .into_iter()
                .collect(),
        ))
    }

    /// Queued e-mail in a state (all when `None`), newest first, at most `limit`, as far as the
    /// acting user may see it (an officer: its organisation's agreements).
    pub async fn outbox(
        &self,
        state: Option<OutboxState>,
        limit: u64,
    ) -> Result<Vec<Message>, RegistryError> {
        let rows = outbox::list(&self.db, state, limit).await?;
        let scope = self
            .outbox_scope(&self.db, rows.iter().map(|m| m.reference.as_str()))
            .await?;
        Ok(match scope {
            None => rows,
            Some(refs) => rows
                .into_iter()
                .filter(|m| refs.contains(&m.reference))
                .collect(),
        })
    }

    /// Queues failed messages again: those with `ids`, or every failed one the acting user sees
    /// when `ids` is `None`. Each goes back to pending, due at `now` with its attempts counted
    /// afresh, and gets an `outbox.retry` audit entry, all in one transaction. An id that is not
    /// a failed message the user sees is refused and nothing changes. Returns the ids queued.
    pub async fn retry_outbox(
        &self,
        ids: Option<&[i64]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, RegistryError> {
        let tx = crate::db::begin_write(&self.db).await?;
        if let Some(ids) = ids {
            for &id in ids {
                let mut row = outbox::get(&tx, id).await?;
                if let Some(m) = &row {
                    let scope = self.outbox_scope(&tx, [m.reference.as_str()]).await?;
                    if scope.is_some_and(|refs| !refs.contains(&m.reference)) {
                        row = None;
                    }
                }
                let Some(row) = row else {
                    return Err(StoreError::NotFound {
                        what: "outbox message",
                        key: id.to_string(),
                    }
                    .into());
                };
                if row.state != OutboxState::Failed.code() {
                    return Err(Violation::new(
                        "id",
                        id,
                        "outbox_retry_failed_only",
                        format!(
                            "message {id} is {}, not failed: only a failed message can be queued again",
                            row.state
                        ),
                    )
                    .into());
                }
            }
        }
        let wanted: Option<Vec<i64>> = match ids {
            Some(ids) => Some(ids.to_vec()),
            None if self.officer_org().is_none() => None,
            // An officer's "all": the failed messages of its own agreements.
            None => {
                let failed = outbox::list(&tx, Some(OutboxState::Failed), u64::MAX >> 1).await?;
                let refs = self
                    .outbox_scope(&tx, failed.iter().map(|m| m.reference.as_str()))
                    .await?
                    .unwrap_or_default();
                Some(
                    failed
                        .into_iter()
                        .filter(|m| refs.contains(&m.reference))
                        .map(|m| m.id)
                        .collect(),
                )
            }
        };
        let before = outbox::requeue_failed(&tx, wanted.as_deref(), now).await?;
        let mut entries = Vec::with_capacity(before.len());
        for m in &before {
            let was = Delivery {
                state: &m.state,
                attempts: m.attempts,
                last_error: m.last_error.as_deref(),
            };
            let now_is = Delivery {
                state: OutboxState::Pending.code(),
                attempts: 0,
                last_error: m.last_error.as_deref(),
            };
            let mut entry = NewEntry::change(
                &self.actor,
                Action::OutboxRetry,
                &m.id.to_string(),
                Some(&was),
                Some(&now_is),
            )?;
            if m.reference != "digest" {
                entry.agreement = Some(m.reference.clone());
            }
            entries.push(entry);
        }
        if !entries.is_empty() {
            audit::record_all(&tx, entries).await?;
        }
        tx.commit().await?;
        Ok(before.iter().map(|m| m.id).collect())
    }
}
