//! Follow-up of social outcomes: accepted figures summed over the agreements a user may see,
//! grouped by buyer, supplier, IOP partner or social objective, per indicator, year and gender;
//! and the agreements behind target, for the start page; and the figures of one report
//! occurrence entered or corrected on the pages or through the API.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Registry, RegistryError};
use crate::db::audit;
use crate::db::outcomes::{self as outcome_store, FollowUpRow};
use crate::db::store::{self, AgreementFilter, StoreError, Stored};
use crate::domain::access::Role;
use crate::domain::agreement::{Agreement, Reference, ReportingObligation};
use crate::domain::audit::Action;
use crate::domain::codes::Unit;
use crate::domain::indicators::{IndicatorId, Quantity, catalogue};
use crate::domain::outcomes::Figure;
use crate::domain::party::Violation;
use crate::domain::reports::{self, FoundOccurrence};
use crate::registry::links::Upload;

pub use crate::db::outcomes::{FollowUpFilter, GroupBy};

/// One cell of the follow-up, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUpCell {
    /// The group: an organisation number, an objective code, or `""`.
    pub key: String,
    /// The group's name, if any.
    pub name: Option<String>,
    /// Indicator id.
    pub indicator: String,
    /// Year.
    pub year: i32,
    /// `total`, `women`, `men` or `other`.
    pub gender: String,
    /// The value: the sum over the agreements, or for a share their average.
    pub value: Quantity,
    /// How many agreements it covers.
    pub agreements: i64,
}

/// A share averages over agreements; everything else adds up.
fn cell(r: FollowUpRow) -> FollowUpCell {
    let percent = IndicatorId::parse(&r.indicator)
        .ok()
        .and_then(|id| catalogue().get(&id).map(|i| i.unit == Unit::Percent))
        .unwrap_or(false);
    let value = if percent && r.agreements > 0 {
        Quantity::from_centi((r.sum_centi as f64 / r.agreements as f64).round() as i64)
    } else {
        Quantity::from_centi(r.sum_centi)
    };
    FollowUpCell {
        key: r.key,
        name: r.name,
        indicator: r.indicator,
        year: r.year,
        gender: r.gender,
        value,
        agreements: r.agreements,
    }
}

impl Registry {
    /// The follow-up of the accepted figures of the agreements matching `filter` that the acting
    /// user may see (an enterprise user: its own organisation's), sorted by group, indicator,
    /// year and part.
    pub async fn follow_up(
        &self,
        filter: &AgreementFilter,
        extra: &FollowUpFilter,
        group: GroupBy,
    ) -> Result<Vec<FollowUpCell>, RegistryError> {
        let filter = self.scoped_filter(filter)?;
        let tx = self.read_tx().await?;
        let party = store::party_filter_id(&tx, &filter).await?;
        let rows = outcome_store::follow_up(&tx, party, &filter, extra, group).await?;
        let mut cells: Vec<FollowUpCell> = rows.into_iter().map(cell).collect();
        cells.sort_by(|a, b| {
            (&a.key, &a.indicator, a.year, &a.gender).cmp(&(
                &b.key,
                &b.indicator,
                b.year,
                &b.gender,
            ))
        });
        Ok(cells)
    }
}

/// Who may hand in or correct the figures of one report occurrence, as the use case found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FiguresRight {
    /// The agreement's officer (or an admin, or the system): enters the figures of an open
    /// occurrence (handing it in) and corrects those of one handed in or accepted.
    Officer,
    /// The enterprise user of the reporting organisation: hands in an open occurrence's figures.
    Reporter,
}

/// One report occurrence opened for its figures: the agreement, the occurrence as seen today,
/// and what the acting user may do with it.
#[derive(Debug, Clone)]
pub struct FiguresOccurrence {
    /// The agreement as stored.
    pub stored: Stored<Agreement>,
    /// The occurrence and its obligation.
    pub found: FoundOccurrence,
    /// Who the acting user is to it.
    pub right: FiguresRight,
}

impl FiguresOccurrence {
    /// The obligation the occurrence belongs to.
    pub fn obligation(&self) -> Option<&ReportingObligation> {
        self.stored.data.reporting.get(self.found.obligation)
    }

    /// The figures stored on the occurrence (handed in before, or none).
    pub fn figures(&self) -> &[Figure] {
        self.obligation()
            .and_then(|ob| {
                ob.occurrences
                    .iter()
                    .find(|r| r.period_end == self.found.occurrence.period_end)
            })
            .map(|r| r.figures.as_slice())
            .unwrap_or_default()
    }

    /// Whether the acting user may change the figures now: an officer always, the reporter
    /// while the occurrence is open.
    pub fn may_change(&self) -> bool {
        self.right == FiguresRight::Officer || !reports::is_closed(self.found.occurrence.state)
    }
}

/// What a hand-in of figures did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FiguresDone {
    /// The open occurrence was handed in with them.
    Submitted,
    /// The figures of a report handed in before were replaced (state kept).
    Corrected,
}

fn no_such_report(reference: &Reference, report: &str, period_end: NaiveDate) -> RegistryError {
    RegistryError::Store(StoreError::NotFound {
        what: "report",
        key: format!("{reference}/{report}@{period_end}"),
    })
}

impl Registry {
    /// Who the acting user is to report `report` of `a`: the officer who may edit it, the
    /// enterprise user of the organisation that hands the report in, or nobody (an enterprise
    /// user outside the agreement or the report: "not found"; anyone else: forbidden). The
    /// caller has checked that the user may read `a` (before looking for the report, so that a
    /// missing report says nothing of an agreement the user may not see).
    fn figures_right(&self, a: &Agreement, ob: usize) -> Result<FiguresRight, RegistryError> {
        let Some(p) = self.principal.as_deref() else {
            return Ok(FiguresRight::Officer);
        };
        if p.may_edit(a) {
            return Ok(FiguresRight::Officer);
        }
        let reports = a.reporting.get(ob).map(|o| &o.responsible);
        if p.role == Role::Enterprise {
            if p.org.is_some() && reports == p.org.as_ref() {
                return Ok(FiguresRight::Reporter);
            }
            return Err(RegistryError::Store(StoreError::NotFound {
                what: "report",
                key: a.reference.to_string(),
            }));
        }
        Err(RegistryError::Forbidden(format!(
            "you may not enter figures on agreement {}: its officers and the reporting organisation can",
            a.reference
        )))
    }

    /// Opens one report occurrence for its figures (the form, the CSV template), checking that
    /// the acting user may see and hand in or correct them.
    pub async fn figures_occurrence(
        &self,
        reference: &Reference,
        report: &str,
        period_end: NaiveDate,
    ) -> Result<FiguresOccurrence, RegistryError> {
        let stored = store::get_agreement(&self.db, reference).await?;
        self.ensure_may_read(&stored.data)?;
        let today = self.settings.today();
        let found = reports::find(&stored.data, report, period_end, today)
            .map_err(|_| no_such_report(reference, report, period_end))?;
        let right = self.figures_right(&stored.data, found.obligation)?;
        Ok(FiguresOccurrence {
            stored,
            found,
            right,
        })
    }

    /// Hands in or corrects the figures of one report occurrence, in one transaction with its
    /// audit entry. An open occurrence is handed in with them (`agreement.submit_report`), by
    /// its officer or the reporting organisation's enterprise user; the figures of one handed in
    /// or accepted are replaced by its officer (`agreement.correct_figures`), the state kept.
    /// The figures pass the outcome rules, exactly the indicators the report carries, and,
    /// unless `confirmed`, none far off the earlier accepted periods.
    /// A report file may come with an open occurrence's figures; it is stored as a signed link's.
    pub async fn hand_in_figures(
        &self,
        reference: &Reference,
        report: &str,
        period_end: NaiveDate,
        figures: Vec<Figure>,
        confirmed: bool,
        upload: Option<&Upload>,
    ) -> Result<(Stored<Agreement>, FiguresDone), RegistryError> {
        let today = self.settings.today();
        let tx = crate::db::begin_write(&self.db).await?;
        let current = store::get_agreement(&tx, reference).await?;
        self.ensure_may_read(&current.data)?;
        let found = reports::find(&current.data, report, period_end, today)
            .map_err(|_| no_such_report(reference, report, period_end))?;
        let right = self.figures_right(&current.data, found.obligation)?;
        // The reporting organisation may hand in its report but edits nothing else: its change
        // is vetted as the signed link's is, without the officer's edit right.
        let writer = match right {
            FiguresRight::Officer => self.clone(),
            FiguresRight::Reporter => Self {
                principal: None,
                ..self.clone()
            },
        };
        if !reports::is_closed(found.occurrence.state) {
            let (stored, _) = writer
                .submit_report_in(
                    &tx,
                    &current,
                    report,
                    period_end,
                    upload,
                    Some(figures),
                    confirmed,
                )
                .await?;
            tx.commit().await?;
            return Ok((stored, FiguresDone::Submitted));
        }
        if right != FiguresRight::Officer || upload.is_some() {
            return Err(RegistryError::Invalid(vec![Violation::new(
                "state",
                found.occurrence.state,
                "report_state_transition",
                format!(
                    "report {report} for the period ending {period_end} is {}: {}",
                    found.occurrence.state,
                    if upload.is_some() {
                        "a file is handed in with the report, not after; allowed: none"
                    } else {
                        "ask the agreement's officer to correct its figures"
                    }
                ),
            )]));
        }
        let mut a = current.data.clone();
        reports::correct_figures(&mut a, report, period_end, today, figures, confirmed)
            .map_err(RegistryError::Invalid)?;
        let (stored, log) = writer
            .save_agreement_in(&tx, Some(&current), a, Action::AgreementCorrectFigures)
            .await?;
        audit::record_all(&tx, log).await?;
        tx.commit().await?;
        Ok((stored, FiguresDone::Corrected))
    }
}
