//! The deadlines of the per-user pages (the start page, the calendar feeds), read from the
//! stored plans (`db::plans`) with their state derived for the day, and computed from the
//! document only for agreements whose plan does not hold on the day.

use std::sync::Arc;

use chrono::NaiveDate;

use super::page_cache::{Found, StartScope};
use super::{Registry, RegistryError};
use crate::db::plans::{self, Scope, Stamps, Wanted};
use crate::db::store::{self, AgreementFilter, Stored};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::deadlines::{Deadline, PlannedDeadline, plan};
use crate::domain::org_number::OrgNumber;
use crate::domain::party::EmailAddress;

/// A deadline as a page shows it.
#[derive(Debug, Clone)]
pub struct PageDeadline {
    /// The agreement's id (the pages' order: by id, then by `seq`).
    pub agreement_id: i64,
    /// Its place among the agreement's deadlines, as the engine orders them.
    pub seq: usize,
    /// The agreement's title.
    pub title: String,
    /// The deadline as on the day asked for (without reminders).
    pub deadline: Deadline,
    /// For a report: the organisation that hands it in.
    pub responsible: Option<OrgNumber>,
}

/// A deadline as a page keeps it: as planned, so that the page can be derived again on a later
/// day from what it kept ([`KeptDeadline::on`]).
#[derive(Debug, Clone)]
pub struct KeptDeadline {
    /// The agreement's id.
    pub agreement_id: i64,
    /// Its place among the agreement's deadlines.
    pub seq: usize,
    /// The agreement's title.
    pub title: String,
    /// The deadline as planned.
    pub planned: PlannedDeadline,
}

impl KeptDeadline {
    /// The deadline as a page shows it on `today`.
    pub fn on(&self, today: NaiveDate) -> PageDeadline {
        self.clone().into_on(today)
    }

    /// [`Self::on`], taking the kept deadline.
    fn into_on(self, today: NaiveDate) -> PageDeadline {
        PageDeadline {
            agreement_id: self.agreement_id,
            seq: self.seq,
            title: self.title,
            responsible: self.planned.responsible.clone(),
            deadline: self.planned.on(today),
        }
    }
}

/// What the start page shows of an organisation's (or every) agreement.
#[derive(Debug, Clone, Default)]
pub struct StartDeadlines {
    /// Deadlines that can be open and are dated up to the horizon (reports also earlier), by
    /// agreement id and then as the engine orders them.
    pub deadlines: Vec<PageDeadline>,
    /// The agreements in force with an outcome target behind, by id.
    pub behind: Vec<Behind>,
}

/// An agreement in force with an outcome target behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    /// Its id.
    pub agreement_id: i64,
    /// Its reference.
    pub reference: Reference,
    /// Its title.
    pub title: String,
}

/// The agreements a page kept under an earlier fingerprint `then` (`db::plans::survey`)
/// must read again to be as it would be read now, under `now`: those whose plans were written
/// since or that are new to its scope. `None`: more than one statement takes (read it whole).
pub(crate) fn to_read_again(then: &Stamps, now: &Stamps) -> Option<Vec<i64>> {
    Some(now.changed_since(then)).filter(|ids| ids.len() <= 500)
}

/// A kept page's `kept` items (of agreement `place(item).0`) without the agreements that left
/// the scope (not in `now`) or were read again (`again`, sorted, as [`to_read_again`] gives
/// them), with `fresh` (what those read again gave), in the pages' order.
pub(crate) fn remade<T: Clone>(
    kept: &[T],
    fresh: Vec<T>,
    now: &Stamps,
    again: &[i64],
    place: impl Fn(&T) -> (i64, usize),
) -> Vec<T> {
    let mut out: Vec<T> = kept
        .iter()
        .filter(|t| {
            let id = place(t).0;
            now.contains(id) && again.binary_search(&id).is_err()
        })
        .cloned()
        .chain(fresh)
        .collect();
    out.sort_by_key(|t| place(t));
    out
}

/// Where a kept deadline stands in the pages' order.
pub(crate) fn kept_place(d: &KeptDeadline) -> (i64, usize) {
    (d.agreement_id, d.seq)
}

/// The deadlines of the plans of `unplanned` (computed now) and of `stored`, as planned, in the
/// pages' order: by agreement id, then as the engine orders them.
fn merge_kept(
    stored: Vec<plans::PlannedRow>,
    unplanned: &[Stored<Agreement>],
    today: NaiveDate,
    wanted: Wanted<'_>,
) -> Vec<KeptDeadline> {
    let mut all: Vec<KeptDeadline> = stored
        .into_iter()
        .map(|r| KeptDeadline {
            agreement_id: r.agreement_id,
            seq: r.seq,
            title: r.title,
            planned: r.planned,
        })
        .collect();
    for s in unplanned {
        for (seq, p) in plan(&s.data, today).deadlines.into_iter().enumerate() {
            // The same as `plans::rows` selects of the stored deadlines.
            if !wanted.keeps(&p) {
                continue;
            }
            all.push(KeptDeadline {
                agreement_id: s.id,
                seq,
                title: s.data.title.clone(),
                planned: p,
            });
        }
    }
    all.sort_by_key(kept_place);
    all
}

/// Those of `ids` (by id) that are in `only` (sorted; all of them without it).
fn among(ids: &[i64], only: Option<&[i64]>) -> Vec<i64> {
    ids.iter()
        .copied()
        .filter(|id| only.is_none_or(|o| o.binary_search(id).is_ok()))
        .collect()
}

/// How many days past its horizon a start page reads, so that on each of the next days (a day
/// later, with a horizon a day later) it can be made from what it kept.
const START_REACH_DAYS: i64 = 7;

/// A start page as kept: as shown, and its deadlines as planned up to `reach` (those that can be
/// open and are dated up to it, from the day read on unless they are reports), from which the
/// page of a later day with a horizon up to `reach` is made.
#[derive(Debug, Clone)]
pub struct KeptStart {
    /// The page as shown on its day.
    pub shown: Arc<StartDeadlines>,
    /// In the pages' order.
    pub deadlines: Arc<Vec<KeptDeadline>>,
    /// The last day the deadlines were read up to.
    pub reach: NaiveDate,
}

impl KeptStart {
    /// The page on `today` up to `horizon` (at most `reach`) made from `deadlines`, with the
    /// agreements `behind` (judged on `today`).
    fn new(
        deadlines: Vec<KeptDeadline>,
        behind: Vec<Behind>,
        reach: NaiveDate,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Self {
        let wanted = Wanted::Window(today, horizon);
        let shown = StartDeadlines {
            deadlines: deadlines
                .iter()
                .filter(|k| wanted.keeps(&k.planned))
                .map(|k| k.on(today))
                .collect(),
            behind,
        };
        Self {
            shown: Arc::new(shown),
            deadlines: Arc::new(deadlines),
            reach,
        }
    }
}

/// The start page's deadlines of `scope` on `today` up to `reach` as planned, or (with `only`)
/// of those of its agreements; and which of the agreements whose documents are `judged` (and of
/// the unplanned among `only`) are behind a target on `today`. Read in the caller's snapshot,
/// in which `survey` was read.
async fn read_start(
    tx: &impl sea_orm::ConnectionTrait,
    scope: Scope<'_>,
    survey: &plans::Survey,
    only: Option<&[i64]>,
    judged: &[i64],
    today: NaiveDate,
    reach: NaiveDate,
) -> Result<(Vec<KeptDeadline>, Vec<Behind>), RegistryError> {
    let wanted = Wanted::Window(today, reach);
    let stored = plans::rows(tx, only.map_or(scope, Scope::Agreements), today, wanted).await?;
    // The documents read: the unplanned agreements' (for their deadlines) and those of the
    // agreements with targets (whether one is behind is judged on the day, from the document).
    let unplanned_ids = among(&survey.unplanned, only);
    let mut ids = judged.to_vec();
    ids.extend(&unplanned_ids);
    ids.sort_unstable();
    ids.dedup();
    let documents = plans::agreements(tx, &ids).await?;
    let mut behind: Vec<Behind> = documents
        .iter()
        .filter(|s| {
            s.data.status.came_into_force() && crate::domain::outcomes::behind(&s.data, today)
        })
        .map(|s| Behind {
            agreement_id: s.id,
            reference: s.data.reference.clone(),
            title: s.data.title.clone(),
        })
        .collect();
    behind.sort_by_key(|b| b.agreement_id);
    let unplanned: Vec<Stored<Agreement>> = documents
        .into_iter()
        .filter(|s| unplanned_ids.binary_search(&s.id).is_ok())
        .collect();
    Ok((merge_kept(stored, &unplanned, today, wanted), behind))
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
        if let Found::Current(found) = kept {
            return Ok(found.shown);
        }
        // A page kept on an earlier day still holds the deadlines of the agreements whose plans
        // are unchanged, up to its reach.
        let other_day = matches!(kept, Found::EarlierDay(..));
        // After a write: what was kept is still right if none of the scope's plans changed, and
        // otherwise needs only the agreements whose plans did read again. The same read says
        // which documents a page made from scratch reads.
        let survey = plans::survey(&tx, scope, today).await?;
        let fingerprint = version.and(survey.stamps.clone());
        let found = match (kept, &fingerprint) {
            (Found::Earlier(then, kept), Some(now)) if *then == *now => {
                self.pages.confirm_start(version, key, today, horizon);
                return Ok(kept.shown);
            }
            (Found::Earlier(then, kept) | Found::EarlierDay(then, kept), Some(now)) => {
                match to_read_again(&then, now) {
                    Some(again) => {
                        // On another day every agreement with targets is judged again.
                        let judged = if other_day {
                            survey.targets.clone()
                        } else {
                            among(&survey.targets, Some(&again))
                        };
                        let (fresh, fresh_behind) = read_start(
                            &tx,
                            scope,
                            &survey,
                            Some(&again),
                            &judged,
                            today,
                            kept.reach,
                        )
                        .await?;
                        let behind = if other_day {
                            fresh_behind
                        } else {
                            remade(&kept.shown.behind, fresh_behind, now, &again, |b| {
                                (b.agreement_id, 0)
                            })
                        };
                        let deadlines = remade(&kept.deadlines, fresh, now, &again, kept_place);
                        KeptStart::new(deadlines, behind, kept.reach, today, horizon)
                    }
                    None => {
                        self.start_from_scratch(&tx, scope, &survey, today, horizon)
                            .await?
                    }
                }
            }
            _ => {
                self.start_from_scratch(&tx, scope, &survey, today, horizon)
                    .await?
            }
        };
        let shown = found.shown.clone();
        self.pages.put_start(
            version,
            fingerprint.map(Arc::new),
            key,
            today,
            horizon,
            found,
        );
        Ok(shown)
    }

    /// The start page of `scope` read whole, with its deadlines up to a week past `horizon`.
    async fn start_from_scratch(
        &self,
        tx: &impl sea_orm::ConnectionTrait,
        scope: Scope<'_>,
        survey: &plans::Survey,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Result<KeptStart, RegistryError> {
        let reach = horizon + chrono::Duration::days(START_REACH_DAYS);
        let (deadlines, behind) =
            read_start(tx, scope, survey, None, &survey.targets, today, reach).await?;
        Ok(KeptStart::new(deadlines, behind, reach, today, horizon))
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
        let tx = self.read_tx().await?;
        let survey = plans::survey(&tx, Scope::Contact(email.as_str()), today).await?;
        Ok(read_contact(&tx, email, &survey, None, today)
            .await?
            .into_iter()
            .map(|k| k.into_on(today))
            .collect())
    }
}

/// [`Registry::contact_deadlines`] as planned, or (with `only`) those of these agreements (at
/// most 500), read in the caller's snapshot, in which `survey` (of the contact's scope) was read.
pub(crate) async fn read_contact(
    tx: &impl sea_orm::ConnectionTrait,
    email: &EmailAddress,
    survey: &plans::Survey,
    only: Option<&[i64]>,
    today: NaiveDate,
) -> Result<Vec<KeptDeadline>, RegistryError> {
    let scope = only.map_or(Scope::Contact(email.as_str()), Scope::Agreements);
    let wanted = Wanted::Naming(email);
    let stored = plans::rows(tx, scope, today, wanted).await?;
    let unplanned = plans::agreements(tx, &among(&survey.unplanned, only)).await?;
    Ok(merge_kept(stored, &unplanned, today, wanted))
}
