//! Access without an account: signed links that let an enterprise acknowledge a reminder or hand
//! in the report for one occurrence, and revocable calendar feeds per contact.
//!
//! `token` signs and checks link tokens (pure), `key` finds the signing key, `files` tells the
//! accepted report file types apart by their bytes, `feed` makes feed tokens and the calendar.
//! The use cases that store what a link or a feed brings are in [`crate::registry::links`].

pub mod feed;
pub mod files;
pub mod key;
pub mod token;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::domain::agreement::Reference;
use token::{LinkClaims, LinkKey, Purpose};

/// The absolute URL of a path under `public_url`.
pub fn absolute_url(settings: &Settings, path: &str) -> String {
    format!("{}{path}", settings.public_url.trim_end_matches('/'))
}

/// The two links a report reminder carries: acknowledge, and hand in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLinks {
    /// Opens the page that acknowledges the reminder.
    pub acknowledge: String,
    /// Opens the page that takes the report file.
    pub upload: String,
}

/// Signs the links of one report occurrence, valid from `today` for `link_valid_days`.
pub fn report_links(
    key: &LinkKey,
    settings: &Settings,
    reference: &Reference,
    report: &str,
    period_end: NaiveDate,
    today: NaiveDate,
) -> ReportLinks {
    let expires = today
        .checked_add_days(chrono::Days::new(u64::from(settings.link_valid_days)))
        .unwrap_or(NaiveDate::MAX);
    let claims = |purpose| LinkClaims {
        reference: reference.clone(),
        report: report.to_owned(),
        period_end,
        purpose,
        expires,
    };
    let url = |purpose| absolute_url(settings, &format!("/l/{}", key.sign(&claims(purpose))));
    ReportLinks {
        acknowledge: url(Purpose::Acknowledge),
        upload: url(Purpose::Report),
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
