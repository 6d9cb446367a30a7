//! Report and link use cases: a report file handed in through a signed link, the stored report
//! files, and the calendar feeds of contacts (made, revoked, served).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::deadlines::{kept_place, read_contact, remade, to_read_again};
use super::page_cache::{Found, KeptCalendar};
use super::{Registry, RegistryError};
use crate::db::audit::{self, NewEntry};
use crate::db::links::{self as link_store, NewReportFile, ReportFileMeta};
use crate::db::plans::{self, Scope};
use crate::db::store::{self, StoreError, Stored};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::audit::Action;
use crate::domain::party::EmailAddress;
use crate::domain::reports;
use crate::links::files::{self, FileType};
use crate::links::token::LinkKey;
use crate::links::{absolute_url, feed, key, sha256_hex};

/// A report file as it arrived, already recognised by its bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The type its bytes show.
    pub file_type: FileType,
    /// The uploader's name for it (information only).
    pub original_name: Option<String>,
}

/// A calendar feed just made: the only time its token is shown.
#[derive(Debug, Clone, Serialize)]
pub struct NewFeed {
    /// The contact.
    pub contact: String,
    /// The feed's full URL, token included.
    pub url: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Earlier feeds of the contact revoked by this one.
    pub replaced: u64,
}

fn internal(e: crate::error::Unexpected) -> RegistryError {
    RegistryError::Store(e.into())
}

impl Registry {
    /// The link-signing key: loaded, or generated into the data directory, on first use.
    pub fn link_key(&self) -> Result<&LinkKey, key::KeyError> {
        match self
            .link_key
            .get_or_init(|| key::load_or_create(&self.settings).map_err(|e| e.to_string()))
        {
            Ok(k) => Ok(k),
            Err(message) => Err(key::KeyError::File {
                path: key::key_file(&self.settings.data_dir),
                source: std::io::Error::other(message.clone()),
            }),
        }
    }

    /// Hands in the report of one occurrence with its file: the occurrence becomes `submitted`
    /// with the file's SHA-256, the file is stored, and both are logged, in one transaction.
    pub async fn submit_report_file(
        &self,
        reference: &Reference,
        report: &str,
        period_end: NaiveDate,
        upload: &Upload,
    ) -> Result<(Stored<Agreement>, ReportFileMeta), RegistryError> {
        let (stored, meta) = self
            .submit_report(reference, report, period_end, Some(upload), None, false)
            .await?;
        match meta {
            Some(meta) => Ok((stored, meta)),
            None => Err(RegistryError::Store(StoreError::NotFound {
                what: "report file",
                key: format!("{reference}/{report}@{period_end}"),
            })),
        }
    }

    /// Hands in the report of one occurrence with its file, its figures, or both: the occurrence
    /// becomes `submitted` with the file's SHA-256 and the figures (which must pass the outcome
    /// rules; `confirmed` lets figures far off the earlier periods through), the file is stored,
    /// and everything is logged, in one transaction. A report whose obligation names indicators
    /// needs its figures (`figures` `None` counts as none given).
    pub async fn submit_report(
        &self,
        reference: &Reference,
        report: &str,
        period_end: NaiveDate,
        upload: Option<&Upload>,
        figures: Option<Vec<crate::domain::outcomes::Figure>>,
        confirmed: bool,
    ) -> Result<(Stored<Agreement>, Option<ReportFileMeta>), RegistryError> {
        let tx = crate::db::begin_write(&self.db).await?;
        let current = store::get_agreement(&tx, reference).await?;
        let out = self
            .submit_report_in(
                &tx, &current, report, period_end, upload, figures, confirmed,
            )
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Self::submit_report`] in `tx` on the agreement `current` as read there; the caller
    /// commits.
    #[expect(
        clippy::too_many_arguments,
        reason = "one hand-in with the occurrence's coordinates"
    )]
    pub(crate) async fn submit_report_in(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        current: &Stored<Agreement>,
        report: &str,
        period_end: NaiveDate,
        upload: Option<&Upload>,
        figures: Option<Vec<crate::domain::outcomes::Figure>>,
        confirmed: bool,
    ) -> Result<(Stored<Agreement>, Option<ReportFileMeta>), RegistryError> {
        let reference = &current.data.reference;
        let today = self.settings.today();
        let sha256 = upload.map(|u| sha256_hex(&u.bytes));
        let mut a = current.data.clone();
        let carries = reports::find(&a, report, period_end, today)
            .ok()
            .and_then(|f| a.reporting.get(f.obligation))
            .is_some_and(|ob| !ob.indicators.is_empty());
        let found = if carries || figures.is_some() {
            reports::submit_with_figures(
                &mut a,
                report,
                period_end,
                today,
                today,
                sha256.clone(),
                figures.unwrap_or_default(),
                confirmed,
            )
            .map_err(RegistryError::Invalid)?
        } else {
            reports::submit(&mut a, report, period_end, today, today, sha256.clone())?
        };
        let (stored, mut log) = self
            .save_agreement_in(tx, Some(current), a, Action::AgreementSubmitReport)
            .await?;
        let (Some(upload), Some(sha256)) = (upload, sha256) else {
            audit::record_all(tx, log).await?;
            return Ok((stored, None));
        };
        let pe = found.occurrence.period_end;
        let file_name = files::download_name(
            reference.as_str(),
            report,
            &pe.to_string(),
            upload.file_type,
        );
        let meta = link_store::insert_report_file(
            tx,
            &NewReportFile {
                agreement_id: stored.id,
                agreement_reference: reference.as_str(),
                report,
                period_end: pe,
                file_name: &file_name,
                original_name: upload.original_name.as_deref(),
                media_type: upload.file_type.media_type(),
                sha256: &sha256,
                content: &upload.bytes,
                uploaded_by: &self.actor,
            },
        )
        .await?;
        let mut file_entry = NewEntry::change(
            &self.actor,
            Action::ReportFileCreate,
            &format!("{reference}/{report}@{pe}"),
            None,
            Some(&meta),
        )?;
        file_entry.agreement = Some(reference.to_string());
        log.push(file_entry);
        audit::record_all(tx, log).await?;
        Ok((stored, Some(meta)))
    }

    /// The report files handed in for an agreement, newest first.
    pub async fn report_files(
        &self,
        reference: &Reference,
    ) -> Result<Vec<ReportFileMeta>, RegistryError> {
        let a = store::get_agreement(&self.db, reference).await?;
        self.ensure_may_read(&a.data)?;
        Ok(link_store::list_report_files(&self.db, a.id).await?)
    }

    /// The latest file handed in for one occurrence, with its bytes.
    pub async fn report_file(
        &self,
        reference: &Reference,
        report: &str,
        period_end: NaiveDate,
    ) -> Result<crate::db::entities::report_file::Model, RegistryError> {
        let a = store::get_agreement(&self.db, reference).await?;
        self.ensure_may_read(&a.data)?;
        Ok(link_store::latest_report_file(&self.db, a.id, report, period_end).await?)
    }

    /// Makes a calendar feed for a registered contact, revoking any earlier one; the token is
    /// returned once, inside the URL, and only its hash is stored.
    pub async fn create_calendar_feed(
        &self,
        email: &EmailAddress,
    ) -> Result<NewFeed, RegistryError> {
        let (token, hash) = feed::new_token().map_err(internal)?;
        let now = Utc::now();
        let tx = crate::db::begin_write(&self.db).await?;
        store::get_contact(&tx, email).await?;
        let replaced = link_store::revoke_feeds(&tx, email.as_str(), now).await?;
        let row = link_store::insert_feed(&tx, email.as_str(), &hash, &self.actor, now).await?;
        let after = serde_json::json!({
            "feed_id": row.id,
            "contact": email.as_str(),
            "created_at": now,
            "replaced": replaced,
        });
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                Action::CalendarFeedCreate,
                email.as_str(),
                None,
                Some(&after),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(NewFeed {
            contact: email.to_string(),
            url: absolute_url(&self.settings, &format!("/calendar/{token}.ics")),
            created_at: now,
            replaced,
        })
    }

    /// Revokes the contact's calendar feed; its URL answers 404 from now on.
    pub async fn revoke_calendar_feed(&self, email: &EmailAddress) -> Result<(), RegistryError> {
        let now = Utc::now();
        let tx = crate::db::begin_write(&self.db).await?;
        let revoked = link_store::revoke_feeds(&tx, email.as_str(), now).await?;
        if revoked == 0 {
            return Err(StoreError::NotFound {
                what: "calendar feed of contact",
                key: email.to_string(),
            }
            .into());
        }
        let after = serde_json::json!({"contact": email.as_str(), "revoked_at": now});
        audit::record(
            &tx,
            NewEntry::change(
                &self.actor,
                Action::CalendarFeedRevoke,
                email.as_str(),
                None,
                Some(&after),
            )?,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calendar of the feed with this token: every deadline of every agreement on which the
    /// contact gets reminders, as seen today (from the stored plans of the agreements that name
    /// the contact); `None` for an unknown or revoked token.
    pub async fn feed_calendar(&self, token: &str) -> Result<Option<Arc<str>>, RegistryError> {
        if !feed::plausible_token(token) {
            return Ok(None);
        }
        let Some(contact) = link_store::feed_contact(&self.db, &feed::token_hash(token)).await?
        else {
            return Ok(None);
        };
        let Ok(email) = EmailAddress::parse(&contact) else {
            return Ok(None);
        };
        let today = self.settings.today();
        // Kept in memory per contact and day until a write changes one of the contact's
        // agreements' plans (`page_cache`); after such a write only those agreements are read.
        let version = self.pages.version(&self.db).await?;
        let kept = self.pages.calendar(version, email.as_str(), today);
        if let Found::Current(calendar) = kept {
            return Ok(Some(calendar.body));
        }
        // The fingerprint, and which documents a calendar made from scratch reads, in the
        // snapshot its deadlines are read in.
        let tx = self.read_tx().await?;
        let survey = plans::survey(&tx, Scope::Contact(email.as_str()), today).await?;
        let fingerprint = version.and(survey.stamps.clone());
        let deadlines = match (kept, &fingerprint) {
            (Found::Earlier(then, calendar), Some(now)) if *then == *now => {
                self.pages.confirm_calendar(version, email.as_str(), today);
                return Ok(Some(calendar.body));
            }
            // After a write, or on a new day (a calendar kept on an earlier day, whose deadlines
            // are derived again for today): only the agreements whose plans changed are read.
            (Found::Earlier(then, calendar) | Found::EarlierDay(then, calendar), Some(now)) => {
                match to_read_again(&then, now) {
                    Some(again) => {
                        let fresh = read_contact(&tx, &email, &survey, Some(&again), today).await?;
                        remade(&calendar.deadlines, fresh, now, &again, kept_place)
                    }
                    None => read_contact(&tx, &email, &survey, None, today).await?,
                }
            }
            _ => read_contact(&tx, &email, &survey, None, today).await?,
        };
        drop(tx);
        // Each kept deadline in its states on the day, read in place rather than copied.
        let shown: Vec<_> = deadlines
            .iter()
            .map(|k| {
                let (state, report_state) = k.planned.states_on(today);
                feed::Shown {
                    deadline: &k.planned.deadline,
                    title: &k.title,
                    state,
                    report_state,
                }
            })
            .collect();
        let body: Arc<str> = feed::calendar(&shown, Utc::now()).map_err(internal)?.into();
        drop(shown);
        self.pages.put_calendar(
            version,
            fingerprint.map(Arc::new),
            email.as_str(),
            today,
            KeptCalendar {
                body: body.clone(),
                deadlines: Arc::new(deadlines),
            },
        );
        Ok(Some(body))
    }
}
