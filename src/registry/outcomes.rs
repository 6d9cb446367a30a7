//! Follow-up of social outcomes: accepted figures summed over the agreements a user may see,
//! grouped by buyer, supplier, IOP partner or social objective, per indicator, year and gender;
//! and the agreements behind target, for the start page.

use serde::Serialize;

use super::{Registry, RegistryError};
use crate::db::outcomes::{self as outcome_store, FollowUpRow};
use crate::db::store::{self, AgreementFilter};
use crate::domain::codes::Unit;
use crate::domain::indicators::{IndicatorId, Quantity, catalogue};

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
