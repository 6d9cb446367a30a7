//! Tacit renewals taking effect in storage: the daily sweep over the renewal index, and the
//! renewals applied when an agreement is created, saved, acted on or imported.
//!
//! The rule is [`crate::domain::clock`]'s; this module stores its result: the moved current end
//! and `renewals_done` in one conditional update (on the version read, so two instances on one
//! database never renew twice), with one audit entry per renewal (actor `system`,
//! action `agreement.renew`) in the same transaction.

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::db::audit::{self, NewEntry};
use crate::db::store::{self, StoreError, Stored};
use crate::domain::agreement::Agreement;
use crate::domain::audit::Action;
use crate::domain::clock;

/// The actor of renewal entries in the audit log.
pub const RENEWAL_ACTOR: &str = "system";
/// The audit action of one renewal, after `agreement.`.
pub const RENEWAL_ACTION: Action = Action::AgreementRenew;

/// Applies to `a` every tacit renewal that has taken effect by `today`, and returns one audit
/// entry per renewal, oldest first, each with the agreement before and after it.
pub fn renew(a: &mut Agreement, today: NaiveDate) -> Result<Vec<NewEntry>, StoreError> {
    let mut entries = Vec::new();
    loop {
        let before = a.clone();
        if clock::apply_next_renewal(a, today).is_none() {
            break;
        }
        entries.push(NewEntry::agreement(
            RENEWAL_ACTOR,
            RENEWAL_ACTION,
            Some(&before),
            a,
        )?);
        if entries.len() >= clock::MAX_RENEWALS_AT_ONCE as usize {
            break;
        }
    }
    Ok(entries)
}

/// What a renewal sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RenewalSummary {
    /// Agreements read from the renewal index.
    pub read: u64,
    /// Renewals stored (one audit entry each).
    pub renewed: u64,
    /// Agreements changed by someone else meanwhile (another instance renewed them first).
    pub skipped: u64,
}

/// Stores every tacit renewal that has taken effect by `today`: reads the agreements whose
/// renewal day has come, and for each one, in its own transaction, moves the end on the
/// version read and appends one audit entry per renewal. A row changed meanwhile is skipped
/// (its renewals are someone else's), so running it twice, or on two instances at once, renews
/// each agreement once.
pub async fn apply_due(
    db: &DatabaseConnection,
    today: NaiveDate,
) -> Result<RenewalSummary, StoreError> {
    let mut summary = RenewalSummary::default();
    for (id, reference) in store::renewals_due(db, today).await? {
        summary.read += 1;
        let tx = crate::db::begin_write(db).await?;
        let current = match store::get_agreement(&tx, &reference).await {
            Ok(c) if c.id == id => c,
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                summary.skipped += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut a = current.data.clone();
        let entries = renew(&mut a, today)?;
        if entries.is_empty() {
            // Nothing due after all (the index was only a hint): store the right day.
            store::set_renews_on(&tx, id, current.version, store::renews_on(&a)).await?;
            tx.commit().await?;
            continue;
        }
        let n = entries.len() as u64;
        match store::update_agreement(&tx, &reference, current.version, &a, today).await {
            Ok(_) => {}
            Err(StoreError::Stale { .. }) => {
                summary.skipped += 1;
                continue;
            }
            Err(e) => return Err(e),
        }
        audit::record_all(&tx, entries).await?;
        tx.commit().await?;
        tracing::info!(reference = %reference, renewals = n, end = %a.period.current_end, "tacit renewal took effect");
        summary.renewed += n;
    }
    Ok(summary)
}

/// Stored agreement `s` with its due renewals applied inside `tx` (for use cases that then change
/// it further): the agreement to continue from and the audit entries to append first.
pub fn renewed(
    s: &Stored<Agreement>,
    today: NaiveDate,
) -> Result<(Agreement, Vec<NewEntry>), StoreError> {
    let mut a = s.data.clone();
    let entries = renew(&mut a, today)?;
    Ok((a, entries))
}
