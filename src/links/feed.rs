//! Calendar feeds: a random token per contact (only its SHA-256 is stored), and the contact's
//! deadlines as iCalendar events with Swedish texts.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::codes::OccurrenceState;
use crate::domain::deadlines::{Deadline, DeadlineKind, DeadlineState};
use crate::domain::party::EmailAddress;
use crate::error::Unexpected;
use crate::ics::{self, Event};
use crate::text::{one_line, swedish_date};

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

/// Whether the contact gets reminders of this deadline (as the one to act, or informed).
pub fn concerns(d: &Deadline, email: &EmailAddress) -> bool {
    d.recipients.to.contains(email) || d.recipients.cc.contains(email)
}

/// The one-line summary of a deadline's event: what is due, and the agreement.
fn summary(d: &Deadline, title: &str) -> String {
    let mut s = String::with_capacity(80 + title.len());
    match d.kind {
        DeadlineKind::OptionDecision => s.push_str("Beslut om förlängning senast"),
        DeadlineKind::RenewalNotice => {
            s.push_str("Sista dag att stoppa den automatiska förlängningen");
        }
        DeadlineKind::TerminationNotice => s.push_str("Sista dag för uppsägning"),
        DeadlineKind::RenewalDialogue => s.push_str("Dialog om fortsättning senast"),
        DeadlineKind::End => s.push_str("Avtalet löper ut"),
        DeadlineKind::Documentation => s.push_str("Dokumentera upphandlingen senast"),
        DeadlineKind::Report => {
            let r = d.report.as_ref();
            s.push_str(if r.is_some_and(|o| o.final_report) {
                "Slutrapport ("
            } else {
                "Rapport ("
            });
            if let Some(o) = r {
                s.extend(o.kind.chars().map(|c| if c == '_' { ' ' } else { c }));
            }
            s.push_str(") senast");
        }
    }
    s.push_str(": ");
    s.push_str(d.reference.as_str());
    s.push(' ');
    s.push_str(title);
    one_line(&s)
}

/// Where a deadline stands, in words: a report's recorded state, else the deadline's.
fn status(d: &Deadline) -> &'static str {
    match d.report.as_ref().map(|o| o.state) {
        Some(OccurrenceState::Submitted) => "inlämnad",
        Some(OccurrenceState::Accepted) => "godkänd",
        Some(OccurrenceState::Rejected) => "underkänd, ska lämnas in igen",
        Some(OccurrenceState::Late) => "försenad",
        Some(OccurrenceState::Escalated) => "försenad och eskalerad",
        _ => match d.state {
            DeadlineState::Met => "klar",
            DeadlineState::Passed => "passerad",
            DeadlineState::Open => "öppen",
        },
    }
}

/// The longer text of a deadline's event: the agreement, the date, the period and the status.
fn description(d: &Deadline, title: &str) -> String {
    let mut s = String::with_capacity(120 + title.len());
    s.push_str("Avtal: ");
    s.push_str(d.reference.as_str());
    s.push_str(" – ");
    s.push_str(title);
    s.push_str("\nDatum: ");
    s.push_str(&swedish_date(d.date));
    if let Some(o) = &d.report {
        s.push_str("\nPeriod som slutar: ");
        s.push_str(&swedish_date(o.period_end));
    }
    s.push_str("\nStatus: ");
    s.push_str(status(d));
    s.push_str("\nFrån avtalsregistret.");
    s
}

/// One all-day event per deadline, stable UIDs (`reference/kind/occurrence@avtal`), Swedish texts.
pub fn events(
    deadlines: &[&Deadline],
    titles: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Vec<Event> {
    deadlines
        .iter()
        .map(|d| {
            let title = titles
                .get(d.reference.as_str())
                .map(String::as_str)
                .unwrap_or_default();
            Event {
                uid: format!("{}/{}/{}@avtal", d.reference, d.kind.code(), d.occurrence),
                stamp: now,
                date: d.date,
                summary: summary(d, title),
                description: description(d, title),
            }
        })
        .collect()
}

/// The contact's calendar: a VCALENDAR with one event per deadline.
pub fn calendar(
    deadlines: &[&Deadline],
    titles: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> String {
    ics::calendar(&events(deadlines, titles, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadlines::{Actor, Recipients, ReportOccurrence};

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

    fn deadline(kind: DeadlineKind, report: Option<(bool, OccurrenceState)>) -> Deadline {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default();
        Deadline {
            reference: crate::domain::agreement::Reference::parse("AGR-2025-0004")
                .unwrap_or_else(|e| panic!("{e}")),
            kind,
            date,
            what: String::new(),
            occurrence: "1".into(),
            state: DeadlineState::Open,
            actor: Actor::ContractOwner,
            recipients: Recipients::default(),
            report: report.map(|(final_report, state)| ReportOccurrence {
                kind: "social_clause_report".into(),
                period_end: date - chrono::Duration::days(40),
                final_report,
                due: date,
                late_on: date,
                escalate_on: date,
                state,
            }),
            reminders: vec![],
        }
    }

    #[test]
    fn the_texts_name_the_deadline_the_agreement_the_period_and_the_status() {
        let title = " Städ, fritid;\r\n <ö> ";
        let d = deadline(DeadlineKind::OptionDecision, None);
        assert_eq!(
            summary(&d, title),
            "Beslut om förlängning senast: AGR-2025-0004 Städ, fritid; <ö>"
        );
        assert_eq!(
            description(&d, title),
            "Avtal: AGR-2025-0004 –  Städ, fritid;\r\n <ö> \nDatum: 31 december 2026\n\
             Status: öppen\nFrån avtalsregistret."
        );
        let mut d = deadline(DeadlineKind::Report, Some((true, OccurrenceState::Late)));
        assert_eq!(
            summary(&d, ""),
            "Slutrapport (social clause report) senast: AGR-2025-0004"
        );
        assert_eq!(
            description(&d, "x"),
            "Avtal: AGR-2025-0004 – x\nDatum: 31 december 2026\n\
             Period som slutar: 21 november 2026\nStatus: försenad\nFrån avtalsregistret."
        );
        d.report = d.report.map(|r| ReportOccurrence {
            final_report: false,
            state: OccurrenceState::Due,
            ..r
        });
        d.state = DeadlineState::Passed;
        assert!(summary(&d, "x").starts_with("Rapport (social clause report) senast: "));
        assert!(description(&d, "x").contains("\nStatus: passerad\n"));
        for (kind, words) in [
            (
                DeadlineKind::RenewalNotice,
                "Sista dag att stoppa den automatiska förlängningen",
            ),
            (DeadlineKind::TerminationNotice, "Sista dag för uppsägning"),
            (
                DeadlineKind::RenewalDialogue,
                "Dialog om fortsättning senast",
            ),
            (DeadlineKind::End, "Avtalet löper ut"),
            (
                DeadlineKind::Documentation,
                "Dokumentera upphandlingen senast",
            ),
        ] {
            assert_eq!(
                summary(&deadline(kind, None), "t"),
                format!("{words}: AGR-2025-0004 t")
            );
        }
        for (state, words) in [
            (OccurrenceState::Upcoming, "öppen"),
            (OccurrenceState::Submitted, "inlämnad"),
            (OccurrenceState::Accepted, "godkänd"),
            (OccurrenceState::Rejected, "underkänd, ska lämnas in igen"),
            (OccurrenceState::Escalated, "försenad och eskalerad"),
        ] {
            let d = deadline(DeadlineKind::Report, Some((false, state)));
            assert!(description(&d, "t").contains(&format!("\nStatus: {words}\n")));
        }
        let mut met = deadline(DeadlineKind::End, None);
        met.state = DeadlineState::Met;
        assert!(description(&met, "t").contains("\nStatus: klar\n"));
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
        let cal = calendar(&refs, &titles, Utc::now());
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
