//! Audit log reads: the auditor's filtered list, the history of one record, the state of a
//! record at an instant, and the verification of the hash chain. Writing an entry is part of
//! every other use case's transaction, never a use case of its own.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseTransaction;
use serde_json::Value;

use super::{Registry, RegistryError};
use crate::db::{audit, users};
use crate::domain::agreement::Reference;
use crate::domain::audit::{Entry, VerifyOutcome, history_cutoff};

pub use crate::db::audit::{AuditFilter, AuditItem, AuditPage};

impl Registry {
    /// Checks the whole hash chain of the audit log.
    pub async fn verify_audit(&self) -> Result<VerifyOutcome, RegistryError> {
        Ok(audit::verify(&self.db).await?)
    }

    /// A page of the entries matching `filter`, newest first.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        page: u64,
        limit: u64,
    ) -> Result<AuditPage, RegistryError> {
        Ok(audit::list(&self.db, filter, page, limit).await?)
    }

    /// Every entry about record `kind`/`key`, oldest first.
    pub async fn audit_history(&self, kind: &str, key: &str) -> Result<Vec<Entry>, RegistryError> {
        Ok(audit::history(&self.db, kind, key).await?)
    }

    /// The entries matching `filter`, newest first, read `page_size` at a time from one snapshot,
    /// with the e-mail address of every `user:<id>` actor.
    pub async fn audit_pages(
        &self,
        filter: AuditFilter,
        page_size: u64,
    ) -> Result<AuditPages, RegistryError> {
        let tx = super::export::snapshot(&self.db).await?;
        let who = users::list_users(&tx)
            .await?
            .into_iter()
            .map(|u| (format!("user:{}", u.id), u.email))
            .collect();
        Ok(AuditPages {
            tx,
            filter,
            page_size: page_size.max(1),
            next_page: Some(1),
            who,
        })
    }

    /// Agreement `key` as the log holds it at the end of `day` on the registry's clock (see
    /// [`crate::domain::audit::history_cutoff`]), with the entry it comes from.
    pub async fn agreement_as_of(
        &self,
        key: &Reference,
        day: NaiveDate,
    ) -> Result<Option<(Entry, Value)>, RegistryError> {
        let cutoff = history_cutoff(day, self.settings.today());
        Ok(audit::document_as_of(&self.db, "agreement", key.as_str(), cutoff).await?)
    }

    /// When agreement `key` was first registered (real time), if the log knows it.
    pub async fn agreement_registered_at(
        &self,
        key: &Reference,
    ) -> Result<Option<DateTime<Utc>>, RegistryError> {
        Ok(audit::first(&self.db, "agreement", key.as_str())
            .await?
            .map(|e| e.at))
    }

    /// The stored document of record `kind`/`key` just before `before`, with its entry.
    pub async fn audit_document_as_of(
        &self,
        kind: &str,
        key: &str,
        before: DateTime<Utc>,
    ) -> Result<Option<(Entry, Value)>, RegistryError> {
        Ok(audit::document_as_of(&self.db, kind, key, before).await?)
    }
}

/// The pages of an audit log export, read from one snapshot (see [`Registry::audit_pages`]).
#[derive(Debug)]
pub struct AuditPages {
    tx: DatabaseTransaction,
    filter: AuditFilter,
    page_size: u64,
    next_page: Option<u64>,
    /// The e-mail address of each `user:<id>` actor.
    pub who: HashMap<String, String>,
}

impl AuditPages {
    /// The next page, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<AuditItem>>, RegistryError> {
        let Some(page) = self.next_page else {
            return Ok(None);
        };
        let got = audit::list(&self.tx, &self.filter, page, self.page_size).await?;
        self.next_page = (got.items.len() as u64 == self.page_size).then_some(page + 1);
        Ok(Some(got.items))
    }
}
