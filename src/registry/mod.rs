//! The use cases of the registry, the only door to storage: every edge (the web, the CLI, the
//! YAML import, the demo) calls these. A use case takes the acting user (the handle made by
//! [`Registry::as_user`], or the system/CLI handle) and plain domain input, loads what it needs
//! once, checks access once, applies the rules of [`crate::domain`], and writes the change with
//! its audit entry in one transaction.
//!
//! One module per concern: [`agreements`], [`parties`] (organisations and contacts),
//! [`accounts`] (users, sessions, API tokens; [`credentials`] keeps them in memory), [`links`] (report files and calendar feeds),
//! [`list_cache`] (the list's counts and pages per filter in memory, [`shared_read`] the version they hold under),
//! [`page_cache`] (the start pages' deadlines and the calendars in memory, under the same kind of version),
//! [`documents`] (stored contract documents), [`signed`] (their signed copies), [`transfer`]
//! and [`export`] (import and export),
//! [`reminders`] (the deadline sweep and the e-mail run), [`renewals`] (tacit renewals taking
//! effect in storage), [`backup`] (backup, restore and check).

pub mod accounts;
pub mod agreements;
pub mod audit;
pub mod backup;
pub mod credentials;
pub mod deadlines;
pub mod documents;
pub mod export;
pub mod links;
pub mod list_cache;
pub mod outbox;
pub mod outcomes;
pub mod page_cache;
pub mod parties;
pub mod reminders;
pub mod renewals;
pub mod shared_read;
pub mod signed;
pub mod transfer;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::config::Settings;
use crate::db;
use crate::documents::Renderer;
use crate::domain::access::Principal;
use crate::domain::party::Violation;

pub use crate::db::documents::{DocumentMeta, SignatureRequestMeta, SignedCopyMeta};
pub use crate::db::links::ReportFileMeta;
pub use crate::db::store::{
    AgreementFilter, AgreementPage, AgreementSummary, ReservedFilter, SortKey, StoreError, Stored,
};
pub use crate::db::users::{TokenInfo, UserInfo};
pub use agreements::AgreementAction;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The input breaks one or more rules; nothing was written.
    #[error("{} rule(s) broken, first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<Violation>),
    /// Storage said no or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The acting user may not change this record; nothing was written.
    #[error("{0}")]
    Forbidden(String),
}

impl From<sea_orm::DbErr> for RegistryError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

impl From<Violation> for RegistryError {
    fn from(v: Violation) -> Self {
        Self::Invalid(vec![v])
    }
}

/// The registry's use cases over one database.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Renders contract documents (templates, typst runner and its concurrency limit).
    pub renderer: Arc<Renderer>,
    /// Who acts through this handle, as the audit log names it (`api`, `cli`, `user:7`, ...).
    pub actor: Arc<str>,
    /// The signed-in user this handle acts for; `None` for the CLI, imports and the system,
    /// which may change everything.
    pub principal: Option<Arc<Principal>>,
    /// The link-signing key, loaded on first use (see [`crate::links::key`]).
    pub link_key: Arc<std::sync::OnceLock<Result<crate::links::token::LinkKey, String>>>,
    /// API tokens and sessions read recently, shared by the clones of this handle.
    pub credentials: Arc<credentials::CredentialCache>,
    /// The list's resolved filters, counts and pages, shared by the clones of this handle.
    pub lists: Arc<list_cache::ListCache>,
    /// The start pages' deadlines and the calendars, shared by the clones of this handle.
    pub pages: Arc<page_cache::PageCache>,
}

impl Registry {
    /// Wraps a pool and settings.
    pub fn new(db: DatabaseConnection, settings: Arc<Settings>) -> Self {
        let renderer = Arc::new(Renderer::from_settings(&settings));
        Self {
            db,
            settings,
            renderer,
            actor: Arc::from("system"),
            principal: None,
            link_key: Arc::default(),
            credentials: Arc::default(),
            lists: Arc::default(),
            pages: Arc::default(),
        }
    }

    /// Opens the database `settings` name, brings its schema up to date, and wraps it.
    pub async fn open(settings: Settings) -> Result<Self, sea_orm::DbErr> {
        let conn = db::connect(&settings).await?;
        db::migrate(&conn).await?;
        // Agreements stored before the plans existed, or whose plan's window has passed: planned
        // in the background, a batch per transaction, since the first start after an upgrade
        // plans every agreement (minutes for 100,000 on PostgreSQL). The pages are exact
        // meanwhile: they compute an agreement without a holding plan from its document.
        let (background, today) = (conn.clone(), settings.today());
        tokio::spawn(async move {
            match db::plans::refresh(&background, today).await {
                Ok(0) => {}
                Ok(planned) => {
                    tracing::info!(planned, "planned the deadlines of stored agreements");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "planning the deadlines of stored agreements stopped; the next start or sweep goes on");
                }
            }
        });
        Ok(Self::new(conn, Arc::new(settings)))
    }

    /// The same registry acting for a signed-in user: the audit log names `user:<id>` and every
    /// agreement change is checked against what the user may edit.
    pub fn as_user(&self, user: &Principal) -> Self {
        Self {
            actor: Arc::from(user.actor()),
            principal: Some(Arc::new(user.clone())),
            ..self.clone()
        }
    }

    /// The same registry acting as `actor` in the audit log.
    pub fn with_actor(&self, actor: &str) -> Self {
        Self {
            actor: Arc::from(actor),
            ..self.clone()
        }
    }

    /// Reads the registry's health: the database backend, or the error.
    pub async fn health(&self) -> Result<&'static str, sea_orm::DbErr> {
        db::health(&self.db).await
    }

    /// Runs `f` in one write transaction that commits only if it returns `Ok`.
    pub async fn in_write_tx<T>(
        &self,
        f: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let tx = db::begin_write(&self.db).await?;
        let out = f(&tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Starts a read-only snapshot transaction (for consistent exports).
    pub async fn read_tx(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        self.db.begin().await
    }
}

pub(crate) fn invalid_if_any(v: Vec<Violation>) -> Result<(), RegistryError> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Invalid(v))
    }
}
