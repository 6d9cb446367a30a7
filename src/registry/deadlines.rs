//! The deadlines of the per-user pages (the start page, the calendar feeds), read from the
//! stored plans (`db::plans`) with their state derived for the day, and computed from the
//! document only for agreements whose plan does not hold on the day.

use std::sync::Arc;

use chrono::NaiveDate;

use super::page_cache::{Found, KeptStart, StartScope};
use super::{Registry, RegistryError};
use crate::db::plans::{self, Scope, Wanted};
use crate::db::store::{self, AgreementFilter, Stored};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::deadlines::{Deadline, plan};
use crate::domain::org_number::OrgNumber;
use crate::domain::party::EmailAddress;

/// A deadline as a page shows it.
#[derive(Debug, Clone)]
pub struct PageDeadline {
    /// The agreement's title.
    pub title: String,
    /// The deadline as on the day asked for (without reminders).
    pub deadline: Deadline,
    /// For a report: the organisation that hands it in.
    pub responsible: Option<OrgNumber>,
}

/// What the start page shows of an organisation's (or every) agreement.
#[derive(Debug, Clone, Default)]
pub struct StartDeadlines {
    /// Deadlines that can be open and are dated up to the horizon (reports also earlier), by
    /// agreement id and then as the engine orders them.
    pub deadlines: Vec<PageDeadline>,
    /// The agreements in force with an outcome target behind, by id: reference and title.
    pub behind: Vec<(Reference, String)>,
}

/// A page's deadline with its agreement's id and its place among the agreement's deadlines.
pub type PlacedDeadline = (i64, usize, PageDeadline);

/// The deadlines of the plans of `unplanned` (computed now) and of `stored`, in the pages'
/// order: by agreement id, then as the engine orders them.
fn merge(
    stored: Vec<plans::PlannedRow>,
    unplanned: &[Stored<Agreement>],
    today: NaiveDate,
    wanted: Wanted<'_>,
) -> Vec<PlacedDeadline> {
    let mut all: Vec<(i64, usize, PageDeadline)> = stored
        .into_iter()
        .map(|r| {
            let responsible = r.planned.responsible.clone();
            (
                r.agreement_id,
                r.seq,
                PageDeadline {
                    title: r.title,
                    deadline: r.planned.on(today),
                    responsible,
                },
            )
        })
        .collect();
    for s in unplanned {
        for (seq, p) in plan(&s.data, today).deadlines.into_iter().enumerate() {
            // The same as `plans::rows` selects of the stored deadlines.
            if !wanted.keeps(&p) {
                continue;
            }
            let responsible = p.responsible.clone();
            all.push((
                s.id,
                seq,
                PageDeadline {
                    title: s.data.title.clone(),
                    deadline: p.on(today),
                    responsible,
                },
            ));
        }
    }
    all.sort_by_key(|(id, seq, _)| (*id, *seq));
    all
}

/// A start page's deadlines and agreements behind their targets, with their agreements' ids.
struct StartRead {
    rows: Vec<PlacedDeadline>,
    behind: Vec<(i64, Reference, String)>,
}

/// The start page of `scope` on `today` up to `horizon`, read in the caller's snapshot.
async fn read_start(
    tx: &impl sea_orm::ConnectionTrait,
    scope: Scope<'_>,
    today: NaiveDate,
    horizon: NaiveDate,
) -> Result<StartRead, RegistryError> {
    let wanted = Wanted::Window(today, horizon);
    let stored = plans::rows(tx, scope, today, wanted).await?;
    let unplanned = plans::unplanned(tx, scope, today).await?;
    let mut behind: Vec<(i64, Reference, String)> = plans::with_targets(tx, scope, today)
        .await?
        .into_iter()
        .chain(unplanned.iter().cloned())
        .filter(|s| {
            s.data.status.came_into_force() && crate::domain::outcomes::behind(&s.data, today)
        })
        .map(|s| (s.id, s.data.reference, s.data.title))
        .collect();
    behind.sort_by_key(|(id, _, _)| *id);
    Ok(StartRead {
        rows: merge(stored, &unplanned, today, wanted),
        behind,
    })
}

impl Registry {
    /// The scope of the agreements of `party` (every agreement for `None`), narrowed to an
    /// enterprise user's own organisation.
    async fn party_scope(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        party: Option<&OrgNumber>,
    ) -> Result<Scope<'static>, RegistryError> {
        let filter = AgreementFilter {
            party: party.cloned(),
            ..AgreementFilter::default()
        };
        let filter = self.scoped_filter(&filter)?;
        Ok(match store::party_filter_id(db, &filter).await? {
            Some(id) => Scope::Party(id),
            None => Scope::All,
        })
    }

    /// The start page's deadlines on `today` of the agreements of `party` (every agreement for
    /// `None`): those that can be open and are dated up to `horizon`, from `today` on unless
    /// they are reports (which can be overdue); and the agreements with a target behind. Read in
    /// one snapshot.
    ///
    /// Kept in memory per scope and day until a write changes one of the scope's plans
    /// ([`super::page_cache`]).
    pub async fn start_deadlines(
        &self,
        party: Option<&OrgNumber>,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Result<Arc<StartDeadlines>, RegistryError> {
        let version = self.pages.version(&self.db).await?;
        let tx = self.read_tx().await?;
        let scope = self.party_scope(&tx, party).await?;
        let key = match scope {
            Scope::Party(id) => StartScope::Party(id),
            Scope::All | Scope::Contact(_) | Scope::Agreements(_) => StartScope::All,
        };
        let kept = self.pages.start(version, key, today, horizon);
        if let Found::Current(kept) = kept {
            return Ok(kept.found);
        }
        // After a write: what was kept is still right if none of the scope's plans changed, and
        // otherwise needs only the agreements whose plans did read again.
        let fingerprint = match version {
            Some(_) => plans::fingerprint(&tx, scope, today).await?,
            None => None,
        };
        let read = match (kept, &fingerprint) {
            (Found::Earlier(then, kept), Some(now)) => {
                if *then == *now {
                    self.pages.confirm_start(version, key, today, horizon);
                    return Ok(kept.found);
                }
                let changed = now.changed_since(&then);
                if changed.len() <= 500 {
                    let fresh =
                        read_start(&tx, Scope::Agreements(&changed), today, horizon).await?;
                    let keep = |id: &i64| now.contains(*id) && !changed.contains(id);
                    let mut rows: Vec<_> = kept
                        .rows
                        .iter()
                        .filter(|(id, _, _)| keep(id))
                        .cloned()
                        .chain(fresh.rows)
                        .collect();
                    rows.sort_by_key(|(id, seq, _)| (*id, *seq));
                    let mut behind: Vec<_> = kept
                        .behind
                        .iter()
                        .filter(|(id, _, _)| keep(id))
                        .cloned()
                        .chain(fresh.behind)
                        .collect();
                    behind.sort_by_key(|(id, _, _)| *id);
                    StartRead { rows, behind }
                } else {
                    read_start(&tx, scope, today, horizon).await?
                }
            }
            _ => read_start(&tx, scope, today, horizon).await?,
        };
        let kept = KeptStart {
            found: Arc::new(StartDeadlines {
                deadlines: read.rows.iter().map(|(_, _, d)| d.clone()).collect(),
                behind: read
                    .behind
                    .iter()
                    .map(|(_, r, t)| (r.clone(), t.clone()))
                    .collect(),
            }),
            rows: Arc::new(read.rows),
            behind: Arc::new(read.behind),
        };
        let found = kept.found.clone();
        self.pages.put_start(
            version,
            fingerprint.map(Arc::new),
            key,
            today,
            horizon,
            kept,
        );
        Ok(found)
    }

    /// Which of `references` are agreements of `party` (all of them for `None`).
    pub async fn references_of_party(
        &self,
        party: Option<&OrgNumber>,
        references: &[String],
    ) -> Result<std::collections::HashSet<String>, RegistryError> {
        let scope = self.party_scope(&self.db, party).await?;
        Ok(plans::in_scope(&self.db, scope, references)
            .await?
            .into_iter()
            .collect())
    }

    /// The deadlines on `today` that concern `email` (as the one to act, or informed), by
    /// agreement id. Read in one snapshot.
    pub async fn contact_deadlines(
        &self,
        email: &EmailAddress,
        today: NaiveDate,
    ) -> Result<Vec<PageDeadline>, RegistryError> {
        Ok(self
            .placed_contact_deadlines(email, today, None)
            .await?
            .into_iter()
            .map(|(_, _, d)| d)
            .collect())
    }

    /// [`Self::contact_deadlines`] with their places, of every agreement whose deadlines can
    /// name `email` or (with `only`) of those of these agreements (at most 500).
    pub(crate) async fn placed_contact_deadlines(
        &self,
        email: &EmailAddress,
        today: NaiveDate,
        only: Option<&[i64]>,
    ) -> Result<Vec<PlacedDeadline>, RegistryError> {
        let tx = self.read_tx().await?;
        let scope = match only {
            Some(ids) => Scope::Agreements(ids),
            None => Scope::Contact(email.as_str()),
        };
        let wanted = Wanted::Naming(email);
        let stored = plans::rows(&tx, scope, today, wanted).await?;
        let unplanned = plans::unplanned(&tx, scope, today).await?;
        Ok(merge(stored, &unplanned, today, wanted))
    }
}
