//! Reminder use cases: the daily run (tacit renewals, the pages' plans whose window has passed,
//! then the deadline sweep that queues reminders and the send), and the dry-run plan. The engine is [`crate::notify`]; these are
//! the entry points the CLI and the server's background tasks call.

use chrono::NaiveDate;

use super::{Registry, RegistryError};

/// A queued e-mail as stored.
pub use crate::db::entities::outbox::Model as OutboxRow;
use crate::db::outbox;
pub use crate::db::outbox::OutboxState;
use crate::domain::agreement::Reference;
use crate::notify::Composer;
use crate::notify::mailer::{Clock, Mailer};
use crate::notify::{self, NotifyError, Plan, RunSummary};

impl Registry {
    /// Stores the tacit renewals that took effect by `today` (see [`super::renewals`]), then
    /// sweeps the deadlines of `today` into the outbox, so reminders count from the stored term,
    /// and sends what is due, reading the time from `clock` (claims are stamped as the pass goes).
    pub async fn run_reminders(
        &self,
        composer: &Composer,
        mailer: &Mailer,
        today: NaiveDate,
        clock: impl Clock,
    ) -> Result<RunSummary, NotifyError> {
        super::renewals::apply_due(&self.db, today).await?;
        crate::db::plans::refresh(&self.db, today).await?;
        notify::run_once(&self.db, &self.settings, composer, mailer, today, clock).await
    }

    /// Stores the tacit renewals that took effect by `today`, then queues the reminders due on
    /// `today` in the outbox, as of `now` (no sending).
    pub async fn sweep_reminders(
        &self,
        composer: &Composer,
        today: NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<notify::SweepSummary, NotifyError> {
        super::renewals::apply_due(&self.db, today).await?;
        crate::db::plans::refresh(&self.db, today).await?;
        notify::sweep(&self.db, &self.settings, composer, today, now).await
    }

    /// One send pass over the outbox, reading the time from `clock` as it goes.
    pub async fn send_reminders(
        &self,
        mailer: &Mailer,
        clock: impl Clock,
    ) -> Result<notify::mailer::SendSummary, NotifyError> {
        notify::mailer::send_due(&self.db, mailer, &self.settings.notify, clock).await
    }

    /// The reminders a sweep on `today` would queue, read in one snapshot; nothing is written.
    pub async fn reminder_plan(&self, today: NaiveDate) -> Result<Plan, RegistryError> {
        let tx = self.read_tx().await?;
        Ok(notify::plan(&tx, today, &self.settings.reminders).await?)
    }

    /// The e-mail queued about agreement `reference`, newest first, at most `limit`.
    pub async fn outbox_of(
        &self,
        reference: &Reference,
        limit: u64,
    ) -> Result<Vec<OutboxRow>, RegistryError> {
        Ok(outbox::list_for_reference(&self.db, reference.as_str(), limit).await?)
    }
}
