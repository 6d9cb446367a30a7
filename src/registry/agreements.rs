//! Agreement use cases: register, replace and act on an agreement. Each loads the stored
//! agreement once, checks the acting user's access once, applies the rules of
//! [`crate::domain`], and writes the result with its audit entry in one transaction.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;
use serde::Deserialize;

use super::{Registry, RegistryError, invalid_if_any, list_cache, renewals};
use crate::db::audit::{self, NewEntry};
use crate::db::store::{AgreementFilter, AgreementPage, SortKey};
use crate::db::{self, store, store::StoreError, store::Stored};
use crate::domain::access::Role;
use crate::domain::agreement::{Agreement, Amendment, Reference};
use crate::domain::audit::Action;
use crate::domain::codes::AgreementStatus;
use crate::domain::org_number::OrgNumber;
use crate::domain::rules::{self, Facts};
use crate::domain::{actions, reports};

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
        /// The figures of the indicators the report carries.
        figures: Vec<crate::domain::outcomes::Figure>,
        /// Whether figures far off the earlier periods were checked and confirmed.
        confirmed: bool,
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
    /// The action's entry in the audit log.
    pub fn audit_action(&self) -> Action {
        match self {
            Self::Activate => Action::AgreementActivate,
            Self::Transition { .. } => Action::AgreementTransition,
            Self::ExerciseOption { .. } => Action::AgreementExerciseOption,
            Self::DeclineOption { .. } => Action::AgreementDeclineOption,
            Self::RecordNotice { .. } => Action::AgreementRecordNotice,
            Self::RecordAmendment { .. } => Action::AgreementRecordAmendment,
            Self::Cancel => Action::AgreementCancel,
            Self::SubmitReport { .. } => Action::AgreementSubmitReport,
            Self::AcceptReport { .. } => Action::AgreementAcceptReport,
            Self::RejectReport { .. } => Action::AgreementRejectReport,
            Self::AcknowledgeReport { .. } => Action::AgreementAcknowledgeReport,
        }
    }
}

impl Registry {
    /// One agreement. A signed-in user who may not read it gets "not found", so that guessing a
    /// reference reveals nothing.
    pub async fn agreement(&self, key: &Reference) -> Result<Stored<Agreement>, RegistryError> {
        let stored = store::get_agreement(&self.db, key).await?;
        self.ensure_may_read(&stored.data)?;
        Ok(stored)
    }

    /// Refuses, as "not found", an agreement the acting user may not read (an enterprise user
    /// outside its organisation's agreements), so that guessing a reference reveals nothing.
    pub fn ensure_may_read(&self, a: &Agreement) -> Result<(), StoreError> {
        match &self.principal {
            Some(p) if !p.may_read(a) => Err(StoreError::NotFound {
                what: "agreement",
                key: a.reference.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether the acting user may read agreement `key`: `false` also when there is none, so an
    /// answer tells nothing of agreements outside the user's scope.
    pub async fn may_see_agreement(&self, key: &Reference) -> Result<bool, RegistryError> {
        match self.agreement(key).await {
            Ok(_) => Ok(true),
            Err(RegistryError::Store(StoreError::NotFound { .. })) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `filter` narrowed to what the acting user may list: an enterprise user lists only its
    /// organisation's agreements, and asking for another organisation's is refused.
    pub(crate) fn scoped_filter<'f>(
        &self,
        filter: &'f AgreementFilter,
    ) -> Result<std::borrow::Cow<'f, AgreementFilter>, RegistryError> {
        let Some(p) = self
            .principal
            .as_deref()
            .filter(|p| p.role == Role::Enterprise)
        else {
            return Ok(std::borrow::Cow::Borrowed(filter));
        };
        let Some(own) = &p.org else {
            return Err(RegistryError::Forbidden(
                "an enterprise account without an organisation sees no agreements".into(),
            ));
        };
        if filter.party.as_ref().is_some_and(|party| party != own) {
            return Err(RegistryError::Forbidden(
                "you see only your own organisation's agreements".into(),
            ));
        }
        Ok(std::borrow::Cow::Owned(AgreementFilter {
            party: Some(own.clone()),
            ..filter.clone()
        }))
    }

    /// A page of the agreements matching `filter`, sorted, with the total.
    pub async fn agreements(
        &self,
        filter: &AgreementFilter,
        sort: SortKey,
        descending: bool,
        page: u64,
        limit: u64,
    ) -> Result<AgreementPage, RegistryError> {
        let filter = self.scoped_filter(filter)?;
        // The version before the count: a count taken after it holds at least what it holds.
        let version = self.lists.version(&self.db).await?;
        let key = list_cache::PageKey {
            sort,
            descending,
            page,
            limit,
        };
        if let Some(kept) = self.lists.page(&filter, version, key) {
            return Ok(kept);
        }
        let known = self.lists.get(&filter, version);
        let resolved = match &known {
            Some(k) => k.resolved.clone(),
            None => Arc::new(store::resolve_filter(&self.db, &filter).await?),
        };
        let counted = known.as_ref().map(|k| k.counted);
        let out = store::list_resolved(
            &self.db, &filter, &resolved, counted, sort, descending, page, limit,
        )
        .await?;
        if known.is_none() {
            self.lists.put(
                &filter,
                version,
                list_cache::Known {
                    resolved,
                    counted: out.counted(),
                },
            );
        }
        self.lists.put_page(&filter, version, key, &out);
        Ok(out)
    }

    /// Calls `each` with every agreement matching `filter`, read a batch at a time in one
    /// snapshot; returns how many there were.
    pub async fn each_agreement(
        &self,
        filter: &AgreementFilter,
        each: impl FnMut(Stored<Agreement>) -> Result<(), StoreError>,
    ) -> Result<u64, RegistryError> {
        let filter = self.scoped_filter(filter)?;
        let tx = self.read_tx().await?;
        Ok(store::for_each_agreement(&tx, &filter, 200, each).await?)
    }

    /// How many agreements the registry holds.
    pub async fn count_agreements(&self) -> Result<u64, RegistryError> {
        use sea_orm::{EntityTrait, PaginatorTrait};
        Ok(db::entities::agreement::Entity::find()
            .count(&self.db)
            .await?)
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

    fn base_facts(&self) -> Facts {
        Facts {
            thresholds: self.settings.thresholds(),
            ..Facts::default()
        }
    }

    /// Registers an agreement after checking every rule.
    pub async fn create_agreement(&self, a: Agreement) -> Result<Stored<Agreement>, RegistryError> {
        self.ensure_may_edit(&a)?;
        let tx = db::begin_write(&self.db).await?;
        let (stored, log) = self
            .save_agreement_in(&tx, None, a, Action::AgreementCreate)
            .await?;
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Replaces an agreement at `version` after checking every rule.
    pub async fn update_agreement(
        &self,
        key: &Reference,
        version: i32,
        a: Agreement,
    ) -> Result<Stored<Agreement>, RegistryError> {
        self.ensure_may_edit(&a)?;
        let tx = db::begin_write(&self.db).await?;
        let current = store::get_agreement(&tx, key).await?;
        self.ensure_may_edit(&current.data)?;
        ensure_version(&current, version)?;
        let (stored, log) = self
            .save_agreement_in(&tx, Some(&current), a, Action::AgreementUpdate)
            .await?;
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Checks `a` against the stored facts and writes it in `tx` (see [`Self::vet_agreement`]
    /// and [`Self::write_agreement_in`]); the caller records the returned audit entry.
    pub(crate) async fn save_agreement_in(
        &self,
        tx: &DatabaseTransaction,
        current: Option<&Stored<Agreement>>,
        mut a: Agreement,
        action: Action,
    ) -> Result<(Stored<Agreement>, Vec<NewEntry>), RegistryError> {
        rules::normalise(&mut a);
        let mut facts = self.base_facts();
        store::facts_for(tx, &[&a], &mut facts).await?;
        let a = self.vet_agreement(current.map(|c| &c.data), a, &facts)?;
        self.write_agreement_in(tx, current, &a, action).await
    }

    /// The one home of the rules of an agreement, for every use case that writes one (the API,
    /// the pages, the actions, the report links and the import): the acting user may edit the
    /// agreement as it is and as it becomes, its status moves from `current`'s only as the state
    /// machine allows, and, with the implied fields filled, it passes every rule against
    /// `facts`. Returns the agreement to store.
    pub(crate) fn vet_agreement(
        &self,
        current: Option<&Agreement>,
        mut a: Agreement,
        facts: &Facts,
    ) -> Result<Agreement, RegistryError> {
        self.ensure_may_edit(&a)?;
        if let Some(cur) = current {
            self.ensure_may_edit(cur)?;
            if cur.status != a.status {
                actions::check_transition(cur.status, a.status)?;
            }
        }
        rules::normalise(&mut a);
        invalid_if_any(rules::validate(&a, facts))?;
        Ok(a)
    }

    /// Writes a vetted agreement in `tx`: inserted when `current` is `None`, else replaced at
    /// `current`'s version. Returns it as stored with its audit entry `agreement.<action>`.
    pub(crate) async fn write_agreement_in(
        &self,
        tx: &DatabaseTransaction,
        current: Option<&Stored<Agreement>>,
        a: &Agreement,
        action: Action,
    ) -> Result<(Stored<Agreement>, Vec<NewEntry>), RegistryError> {
        let mut log = vec![NewEntry::agreement(
            &self.actor,
            action,
            current.map(|c| &c.data),
            a,
        )?];
        // The renewals that took effect by today are stored with it, one audit entry each.
        let mut a = a.clone();
        let today = self.settings.today();
        log.extend(renewals::renew(&mut a, today)?);
        let stored = match current {
            Some(cur) => {
                store::update_agreement(tx, &cur.data.reference, cur.version, &a, today).await?
            }
            None => store::insert_agreement(tx, &a, today).await?,
        };
        Ok((stored, log))
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
        if let Some(v) = version {
            ensure_version(&current, v)?;
        }
        // The action applies to the agreement as it stands today: renewals first.
        let (mut a, mut log) = renewals::renewed(&current, today)?;
        let before = a.clone();
        let name = action.audit_action();
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
                figures,
                confirmed,
            } => {
                let on = submitted_on.unwrap_or(today);
                let carries = reports::find(&a, &report, period_end, today)
                    .ok()
                    .and_then(|f| a.reporting.get(f.obligation))
                    .is_some_and(|ob| !ob.indicators.is_empty());
                if carries || !figures.is_empty() {
                    reports::submit_with_figures(
                        &mut a, &report, period_end, on, today, None, figures, confirmed,
                    )
                    .map_err(RegistryError::Invalid)?;
                } else {
                    reports::submit(&mut a, &report, period_end, on, today, None)?;
                }
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
        let (stored, entries) = self.save_agreement_in(&tx, Some(&current), a, name).await?;
        // The renewals have their own entries; the action's entry starts from the renewed term.
        log.push(NewEntry::agreement(
            &self.actor,
            name,
            Some(&before),
            &stored.data,
        )?);
        log.extend(entries.into_iter().skip(1));
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// Refuses a change made from `expected` when the agreement is at another version now: the one
/// place the stale-version error is built.
pub(crate) fn ensure_version(
    current: &Stored<Agreement>,
    expected: i32,
) -> Result<(), RegistryError> {
    if current.version == expected {
        Ok(())
    } else {
        Err(StoreError::Stale {
            what: "agreement",
            key: current.data.reference.to_string(),
            expected,
            current: current.version,
        }
        .into())
    }
}
