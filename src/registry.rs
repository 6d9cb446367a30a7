//! Use cases of the registry: parse -> normalise -> validate against the stored facts -> store, in
//! one transaction each. The JSON API, the YAML import and the web forms all come through here.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde::Deserialize;

use crate::config::Settings;
use crate::db::audit::{self, NewEntry};
use crate::db::{self, store, store::StoreError, store::Stored};
use crate::documents::Renderer;
use crate::domain::access::Principal;
use crate::domain::agreement::{Agreement, Amendment, Reference};
use crate::domain::codes::AgreementStatus;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{
    Contact, EmailAddress, Organisation, Violation, validate_contact, validate_organisation,
};
use crate::domain::rules::{self, Facts};
use crate::domain::{actions, reports};

pub mod renewals;

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

/// A command on one agreement.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgreementAction {
    /// Make the agreement active.
    Activate,
    /// Move to any status the state machine allows.
    Transition {
        /// Target status.
        to: AgreementStatus,
    },
    /// Exercise an extension option.
    ExerciseOption {
        /// Option number.
        seq: u32,
        /// Decision date (today when absent).
        decided_on: Option<chrono::NaiveDate>,
        /// Rationale of the resulting amendment.
        rationale: Option<String>,
    },
    /// Decline an extension option.
    DeclineOption {
        /// Option number.
        seq: u32,
        /// Decision date (today when absent).
        decided_on: Option<chrono::NaiveDate>,
    },
    /// Record a notice of termination.
    RecordNotice {
        /// The party that gave notice.
        by: OrgNumber,
        /// Date received.
        received_on: chrono::NaiveDate,
        /// Reason.
        reason: Option<String>,
        /// The clause it is given under (the renewal clause when the agreement renews tacitly).
        #[serde(default)]
        under: Option<actions::NoticeUnder>,
    },
    /// Record an amendment.
    RecordAmendment {
        /// The amendment.
        amendment: Amendment,
    },
    /// Cancel an agreement that never came into force.
    Cancel,
    /// Hand in the report of one occurrence.
    SubmitReport {
        /// The report's kind (`kind#N` when two duties share a kind).
        report: String,
        /// End of the reported period.
        period_end: chrono::NaiveDate,
        /// When it was handed in (today when absent).
        submitted_on: Option<chrono::NaiveDate>,
    },
    /// Accept the handed-in report of one occurrence.
    AcceptReport {
        /// The report's kind.
        report: String,
        /// End of the reported period.
        period_end: chrono::NaiveDate,
        /// Decision date (today when absent).
        decided_on: Option<chrono::NaiveDate>,
    },
    /// Reject the handed-in report of one occurrence: it is due again.
    RejectReport {
        /// The report's kind.
        report: String,
        /// End of the reported period.
        period_end: chrono::NaiveDate,
        /// Why, for the reporter.
        reason: String,
        /// Decision date (today when absent).
        decided_on: Option<chrono::NaiveDate>,
    },
    /// Record that a reminder about one occurrence was acknowledged.
    AcknowledgeReport {
        /// The report's kind.
        report: String,
        /// End of the reported period.
        period_end: chrono::NaiveDate,
    },
}

impl AgreementAction {
    /// The action's name in the audit log, after `agreement.`.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Transition { .. } => "transition",
            Self::ExerciseOption { .. } => "exercise_option",
            Self::DeclineOption { .. } => "decline_option",
            Self::RecordNotice { .. } => "record_notice",
            Self::RecordAmendment { .. } => "record_amendment",
            Self::Cancel => "cancel",
            Self::SubmitReport { .. } => "submit_report",
            Self::AcceptReport { .. } => "accept_report",
            Self::RejectReport { .. } => "reject_report",
            Self::AcknowledgeReport { .. } => "acknowledge_report",
        }
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
        }
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

    /// Refuses a change of `a` the acting user may not make (an officer outside its buyer or
    /// funder organisation, an auditor, an enterprise user).
    pub fn ensure_may_edit(&self, a: &Agreement) -> Result<(), RegistryError> {
        match &self.principal {
            Some(p) if !p.may_edit(a) => Err(RegistryError::Forbidden(format!(
                "you may not change agreement {}: only the buyer's or funder's officers can",
                a.reference
            ))),
            _ => Ok(()),
        }
    }

    /// The same registry acting as `actor` in the audit log.
    pub fn with_actor(&self, actor: &str) -> Self {
        Self {
            actor: Arc::from(actor),
            ..self.clone()
        }
    }

    fn base_facts(&self) -> Facts {
        Facts {
            thresholds: self.settings.thresholds(),
            ..Facts::default()
        }
    }

    /// Checks an agreement against every rule and the stored facts, after filling implied fields.
    pub async fn check_agreement(
        &self,
        db: &impl ConnectionTrait,
        a: &mut Agreement,
    ) -> Result<(), RegistryError> {
        rules::normalise(a);
        let mut facts = self.base_facts();
        store::facts_for(db, &[&*a], &mut facts).await?;
        let violations = rules::validate(a, &facts);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::Invalid(violations))
        }
    }

    /// Registers an organisation.
    pub async fn create_organisation(
        &self,
        o: Organisation,
    ) -> Result<Stored<Organisation>, RegistryError> {
        invalid_if_any(validate_organisation(&o))?;
        let tx = db::begin_write(&self.db).await?;
        let stored = store::insert_organisation(&tx, &o).await?;
        let key = stored.data.org_number.to_string();
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                "organisation.create",
                "organisation",
                &key,
                None,
                Some(&stored.data),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces an organisation at `version`.
    pub async fn update_organisation(
        &self,
        key: &OrgNumber,
        version: i32,
        o: Organisation,
    ) -> Result<Stored<Organisation>, RegistryError> {
        invalid_if_any(validate_organisation(&o))?;
        let tx = db::begin_write(&self.db).await?;
        let before = store::get_organisation(&tx, key).await?;
        let stored = store::update_organisation(&tx, key, version, &o).await?;
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                "organisation.update",
                "organisation",
                key.as_str(),
                Some(&before.data),
                Some(&stored.data),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Registers a contact.
    pub async fn create_contact(&self, c: Contact) -> Result<Stored<Contact>, RegistryError> {
        invalid_if_any(validate_contact(&c))?;
        let tx = db::begin_write(&self.db).await?;
        let stored = store::insert_contact(&tx, &c)
            .await
            .map_err(|e| unknown_org_as_violation(e, &c.organisation))?;
        let key = stored.data.email.to_string();
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                "contact.create",
                "contact",
                &key,
                None,
                Some(&stored.data),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces a contact at `version`.
    pub async fn update_contact(
        &self,
        key: &EmailAddress,
        version: i32,
        c: Contact,
    ) -> Result<Stored<Contact>, RegistryError> {
        invalid_if_any(validate_contact(&c))?;
        let tx = db::begin_write(&self.db).await?;
        let before = store::get_contact(&tx, key).await?;
        let stored = store::update_contact(&tx, key, version, &c)
            .await
            .map_err(|e| unknown_org_as_violation(e, &c.organisation))?;
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                "contact.update",
                "contact",
                key.as_str(),
                Some(&before.data),
                Some(&stored.data),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Registers an agreement after checking every rule.
    pub async fn create_agreement(
        &self,
        mut a: Agreement,
    ) -> Result<Stored<Agreement>, RegistryError> {
        self.ensure_may_edit(&a)?;
        let tx = db::begin_write(&self.db).await?;
        self.check_agreement(&tx, &mut a).await?;
        // The renewals that took effect by today are stored with it, one audit entry each.
        let mut log = vec![NewEntry::agreement(&self.actor, "create", None, &a)?];
        log.extend(renewals::renew(&mut a, self.settings.today())?);
        let stored = store::insert_agreement(&tx, &a).await?;
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces an agreement at `version` after checking every rule.
    pub async fn update_agreement(
        &self,
        key: &Reference,
        version: i32,
        mut a: Agreement,
    ) -> Result<Stored<Agreement>, RegistryError> {
        self.ensure_may_edit(&a)?;
        let tx = db::begin_write(&self.db).await?;
        let current = store::get_agreement(&tx, key).await?;
        self.ensure_may_edit(&current.data)?;
        if current.version != version {
            return Err(StoreError::Stale {
                what: "agreement",
                key: key.to_string(),
                expected: version,
                current: current.version,
            }
            .into());
        }
        if current.data.status != a.status
            && !current.data.status.allowed_next().contains(&a.status)
        {
            let mut probe = current.data.clone();
            actions::transition(&mut probe, a.status)?;
        }
        self.check_agreement(&tx, &mut a).await?;
        let mut log = vec![NewEntry::agreement(
            &self.actor,
            "update",
            Some(&current.data),
            &a,
        )?];
        log.extend(renewals::renew(&mut a, self.settings.today())?);
        let stored = store::update_agreement(&tx, key, version, &a).await?;
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Applies a command to an agreement, checks the result against every rule, and stores it.
    pub async fn act(
        &self,
        key: &Reference,
        version: Option<i32>,
        action: AgreementAction,
    ) -> Result<Stored<Agreement>, RegistryError> {
        let today = self.settings.today();
        let tx = db::begin_write(&self.db).await?;
        let current = store::get_agreement(&tx, key).await?;
        self.ensure_may_edit(&current.data)?;
        if let Some(v) = version
            && v != current.version
        {
            return Err(StoreError::Stale {
                what: "agreement",
                key: key.to_string(),
                expected: v,
                current: current.version,
            }
            .into());
        }
        // The action applies to the agreement as it stands today: renewals first.
        let (mut a, mut log) = renewals::renewed(&current, today)?;
        let before = a.clone();
        let name = action.audit_name();
        match action {
            AgreementAction::Activate => actions::transition(&mut a, AgreementStatus::Active)?,
            AgreementAction::Transition { to } => actions::transition(&mut a, to)?,
            AgreementAction::Cancel => actions::transition(&mut a, AgreementStatus::Cancelled)?,
            AgreementAction::ExerciseOption {
                seq,
                decided_on,
                rationale,
            } => {
                actions::exercise_option(&mut a, seq, decided_on.unwrap_or(today), rationale)?;
            }
            AgreementAction::DeclineOption { seq, decided_on } => {
                actions::decline_option(&mut a, seq, decided_on.unwrap_or(today))?
            }
            AgreementAction::RecordNotice {
                by,
                received_on,
                reason,
                under,
            } => {
                actions::record_notice(&mut a, by, received_on, reason, under)?;
            }
            AgreementAction::RecordAmendment { amendment } => {
                actions::record_amendment(&mut a, amendment)?
            }
            AgreementAction::SubmitReport {
                report,
                period_end,
                submitted_on,
            } => {
                let on = submitted_on.unwrap_or(today);
                reports::submit(&mut a, &report, period_end, on, today, None)?;
            }
            AgreementAction::AcceptReport {
                report,
                period_end,
                decided_on,
            } => {
                reports::accept(
                    &mut a,
                    &report,
                    period_end,
                    decided_on.unwrap_or(today),
                    today,
                )?;
            }
            AgreementAction::RejectReport {
                report,
                period_end,
                reason,
                decided_on,
            } => {
                let on = decided_on.unwrap_or(today);
                reports::reject(&mut a, &report, period_end, on, &reason, today)?;
            }
            AgreementAction::AcknowledgeReport { report, period_end } => {
                reports::acknowledge(&mut a, &report, period_end, today, today)?;
            }
        }
        self.check_agreement(&tx, &mut a).await?;
        let stored = store::update_agreement(&tx, key, current.version, &a).await?;
        log.push(NewEntry::agreement(
            &self.actor,
            name,
            Some(&before),
            &stored.data,
        )?);
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
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

fn invalid_if_any(v: Vec<Violation>) -> Result<(), RegistryError> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Invalid(v))
    }
}

fn unknown_org_as_violation(e: StoreError, org: &OrgNumber) -> RegistryError {
    match e {
        StoreError::NotFound {
            what: "organisation",
            ..
        } => Violation::new(
            "organisation",
            org,
            "unknown_organisation",
            "no organisation with this number is registered",
        )
        .into(),
        other => other.into(),
    }
}
