//! Calendar feeds: a random token per contact (only its SHA-256 is stored), and the contact's
//! deadlines as iCalendar events with Swedish texts from `templates/calendar/`.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Context, Tera};

use crate::domain::deadlines::{Deadline, DeadlineState};
use crate::domain::party::EmailAddress;
use crate::error::Unexpected;
use crate::ics::{self, Event};
use crate::text::{one_line, swedish_date};

static TEMPLATES: LazyLock<Result<Tera, Unexpected>> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.add_raw_templates([
        (
            "summary.txt",
            include_str!("../../templates/calendar/summary.txt"),
        ),
        (
            "description.txt",
            include_str!("../../templates/calendar/description.txt"),
        ),
    ])
    .map_err(|e| Unexpected::new("calendar templates", e))?;
    Ok(tera)
});

/// A new feed token (43 URL-safe characters) and the SHA-256 that is stored for it.
pub fn new_token() -> Result<(String, String), Unexpected> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Unexpected::new("no random bytes for a feed token", e))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a token: lower-case hex SHA-256.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a text could be a token this module made (so junk never reaches the database).
pub fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Serialize)]
struct EventView<'a> {
    kind: &'static str,
    reference: &'a str,
    title: &'a str,
    deadline: String,
    state: DeadlineState,
    report_kind: Option<String>,
    report_state: Option<crate::domain::codes::OccurrenceState>,
    period_end: Option<String>,
    final_report: bool,
}

/// Whether the contact gets reminders of this deadline (as the one to act, or informed).
pub fn concerns(d: &Deadline, email: &EmailAddress) -> bool {
    d.recipients.to.contains(email) || d.recipients.cc.contains(email)
}

/// One all-day event per deadline, stable UIDs (`reference/kind/occurrence@avtal`), Swedish texts.
pub fn events(
    deadlines: &[&Deadline],
    titles: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Unexpected> {
    let tera = TEMPLATES.as_ref().map_err(Clone::clone)?;
    let mut out = Vec::with_capacity(deadlines.len());
    for d in deadlines {
        let view = EventView {
            kind: d.kind.code(),
            reference: d.reference.as_str(),
            title: titles
                .get(d.reference.as_str())
                .map(String::as_str)
                .unwrap_or_default(),
            deadline: swedish_date(d.date),
            state: d.state,
            report_kind: d.report.as_ref().map(|o| o.kind.replace('_', " ")),
            report_state: d.report.as_ref().map(|o| o.state),
            period_end: d.report.as_ref().map(|o| swedish_date(o.period_end)),
            final_report: d.report.as_ref().is_some_and(|o| o.final_report),
        };
        let ctx =
            Context::from_serialize(&view).map_err(|e| Unexpected::new("calendar event", e))?;
        let render = |name: &str| {
            tera.render(name, &ctx)
                .map_err(|e| Unexpected::new(name, e))
        };
        out.push(Event {
            uid: format!("{}/{}/{}@avtal", d.reference, d.kind.code(), d.occurrence),
            stamp: now,
            date: d.date,
            summary: one_line(&render("summary.txt")?),
            description: render("description.txt")?.trim().to_owned(),
        });
    }
    Ok(out)
}

/// The contact's calendar: a VCALENDAR with one event per deadline.
pub fn calendar(
    deadlines: &[&Deadline],
    titles: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<String, Unexpected> {
    Ok(ics::calendar(&events(deadlines, titles, now)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_stored_only_as_a_hash() -> Result<(), Unexpected> {
        let (a, ha) = new_token()?;
        let (b, _) = new_token()?;
        assert_ne!(a, b);
        assert!(plausible_token(&a), "{a}");
        assert_eq!(ha.len(), 64);
        assert_eq!(token_hash(&a), ha);
        assert!(!ha.contains(&a));
        assert!(!plausible_token("../../etc/passwd"));
        Ok(())
    }

    #[test]
    fn every_deadline_kind_gets_a_swedish_summary_naming_the_agreement() -> anyhow::Result<()> {
        let a = crate::samples::EXAMPLES
            .iter()
            .filter_map(|(name, text)| crate::format::parse_file(name, text).ok())
            .flat_map(|f| f.agreements)
            .find(|a| a.reference.as_str() == "AGR-2025-0005")
            .ok_or_else(|| anyhow::anyhow!("no sample"))?;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let ds = crate::domain::deadlines::deadlines(
            &a,
            today,
            &crate::domain::deadlines::ReminderLadders::default(),
        );
        let refs: Vec<&Deadline> = ds.iter().collect();
        let titles = HashMap::from([(a.reference.to_string(), "Städ, fritid; <ö>".to_owned())]);
        let cal = calendar(&refs, &titles, Utc::now())?;
        assert_eq!(cal.matches("BEGIN:VEVENT").count(), ds.len());
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains("Städ\\, fritid\\; <ö>"), "{cal}");
        assert!(
            unfolded.contains("SUMMARY:Rapport (social clause report) senast: AGR-2025-0005"),
            "{cal}"
        );
        for line in cal.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        Ok(())
    }
}
