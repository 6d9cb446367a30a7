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

use crate::domain::codes::OccurrenceState;
use crate::domain::deadlines::{Deadline, DeadlineState};
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
    report_state: Option<OccurrenceState>,
    period_end: Option<String>,
    final_report: bool,
}

/// Stand-ins for an event's own texts (private-use characters) while a template is rendered
/// once per kind of event: the reference, the title, the deadline and the period's end.
const STAND_INS: [&str; 4] = ["\u{E000}", "\u{E001}", "\u{E002}", "\u{E003}"];

/// A rendered template cut at its stand-ins: text, and which of the event's texts goes between.
#[derive(Debug, Default)]
struct Pattern {
    pieces: Vec<(String, Option<usize>)>,
}

impl Pattern {
    /// Cuts `rendered` at each stand-in, in one pass: a text is never read again, so a title
    /// holding a stand-in (or template code) stays as it is.
    fn new(rendered: &str) -> Self {
        let mut pieces = Vec::new();
        let mut text = String::new();
        for c in rendered.chars() {
            match STAND_INS.iter().position(|s| s.starts_with(c)) {
                Some(i) => pieces.push((std::mem::take(&mut text), Some(i))),
                None => text.push(c),
            }
        }
        pieces.push((text, None));
        Self { pieces }
    }

    /// The pattern with each stand-in replaced by its text.
    fn fill(&self, texts: &[&str; 4]) -> String {
        let len = self
            .pieces
            .iter()
            .map(|(t, i)| t.len() + i.map_or(0, |i| texts[i].len()))
            .sum();
        let mut out = String::with_capacity(len);
        for (text, slot) in &self.pieces {
            out.push_str(text);
            if let Some(i) = slot {
                out.push_str(texts[*i]);
            }
        }
        out
    }
}

/// A deadline as its event shows it: the deadline, its agreement's title, and its states on the
/// feed's day, which a kept deadline has derived beside it rather than written into a copy.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    /// The deadline; its own states are read only for a report without `report_state`.
    pub deadline: &'a Deadline,
    /// Its agreement's title.
    pub title: &'a str,
    /// The deadline's state.
    pub state: DeadlineState,
    /// For a report: its occurrence's state.
    pub report_state: Option<OccurrenceState>,
}

impl<'a> Shown<'a> {
    /// `d` in the states it holds, with `title`.
    pub fn as_it_is(d: &'a Deadline, title: &'a str) -> Self {
        Shown {
            deadline: d,
            title,
            state: d.state,
            report_state: d.report.as_ref().map(|o| o.state),
        }
    }
}

/// The event's view; `texts` gives the reference, title, deadline and period end to put in it.
fn view<'a>(s: &Shown<'_>, texts: &[&'a str; 4]) -> EventView<'a> {
    let d = s.deadline;
    EventView {
        kind: d.kind.code(),
        reference: texts[0],
        title: texts[1],
        deadline: texts[2].to_owned(),
        state: s.state,
        report_kind: d.report.as_ref().map(|o| o.kind.replace('_', " ")),
        report_state: d.report.as_ref().map(|o| s.report_state.unwrap_or(o.state)),
        period_end: d.report.as_ref().map(|_| texts[3].to_owned()),
        final_report: d.report.as_ref().is_some_and(|o| o.final_report),
    }
}

/// The summary and description templates rendered for `view`.
fn render(tera: &Tera, view: &EventView<'_>) -> Result<(String, String), Unexpected> {
    let ctx = Context::from_serialize(view).map_err(|e| Unexpected::new("calendar event", e))?;
    let render = |name: &str| {
        tera.render(name, &ctx)
            .map_err(|e| Unexpected::new(name, e))
    };
    Ok((render("summary.txt")?, render("description.txt")?))
}

/// One all-day event per deadline, stable UIDs (`reference/kind/occurrence@avtal`), Swedish texts.
///
/// A feed holds thousands of events of a few kinds: the templates are rendered once per kind of
/// event (everything in the view but its reference, title, deadline and period end, which are
/// private-use stand-ins while it renders), and each event's texts
/// are put in their places; a test holds this equal to rendering every event.
pub fn events(shown: &[Shown<'_>], now: DateTime<Utc>) -> Result<Vec<Event>, Unexpected> {
    let tera = TEMPLATES.as_ref().map_err(Clone::clone)?;
    // What of an event the templates read beside its texts: its kind of event.
    type Shape<'a> = (
        &'static str,
        DeadlineState,
        Option<(&'a str, OccurrenceState, bool)>,
    );
    let mut patterns: HashMap<Shape<'_>, (Pattern, Pattern)> = HashMap::new();
    let mut out = Vec::with_capacity(shown.len());
    for s in shown {
        let (d, title) = (s.deadline, s.title);
        let deadline = swedish_date(d.date);
        let period_end = d
            .report
            .as_ref()
            .map(|o| swedish_date(o.period_end))
            .unwrap_or_default();
        let texts = [
            d.reference.as_str(),
            title,
            deadline.as_str(),
            period_end.as_str(),
        ];
        let shape: Shape<'_> = (
            d.kind.code(),
            s.state,
            d.report.as_ref().map(|o| {
                let state = s.report_state.unwrap_or(o.state);
                (o.kind.as_str(), state, o.final_report)
            }),
        );
        let (summary, description) = match patterns.get(&shape) {
            Some(p) => p,
            None => {
                let (summary, description) = render(tera, &view(s, &STAND_INS))?;
                patterns
                    .entry(shape)
                    .or_insert((Pattern::new(&summary), Pattern::new(&description)))
            }
        };
        out.push(Event {
            uid: format!("{}/{}/{}@avtal", d.reference, d.kind.code(), d.occurrence),
            stamp: now,
            date: d.date,
            summary: one_line(&summary.fill(&texts)),
            description: description.fill(&texts).trim().to_owned(),
        });
    }
    Ok(out)
}

/// The contact's calendar: a VCALENDAR with one event per deadline.
pub fn calendar(shown: &[Shown<'_>], now: DateTime<Utc>) -> Result<String, Unexpected> {
    Ok(ics::calendar(&events(shown, now)?))
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
    fn events_rendered_once_per_kind_equal_rendering_every_event() -> anyhow::Result<()> {
        let tera = TEMPLATES.as_ref().map_err(Clone::clone)?;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let ladders = crate::domain::deadlines::ReminderLadders::default();
        let agreements: Vec<_> = crate::samples::EXAMPLES
            .iter()
            .filter_map(|(name, text)| crate::format::parse_file(name, text).ok())
            .flat_map(|f| f.agreements)
            .collect();
        // Every sample's deadlines on days before, on and after the samples' day, in one feed, so
        // that one kind of deadline comes in several states (open, passed, met; a report's).
        let mut ds = Vec::new();
        for days in [-400, -120, 0, 45, 200, 700] {
            for a in &agreements {
                ds.extend(crate::domain::deadlines::deadlines(
                    a,
                    today + chrono::Duration::days(days),
                    &ladders,
                ));
            }
        }
        let refs: Vec<&Deadline> = ds.iter().collect();
        let states: std::collections::HashSet<_> = ds.iter().map(|d| (d.kind, d.state)).collect();
        assert!(states.len() >= 10, "only {states:?}");
        // Titles with stand-ins, template code and line breaks stay as they are.
        for awkward in [false, true] {
            let title = |a: &crate::domain::agreement::Agreement| {
                if awkward {
                    format!(
                        "Städ \u{E000}{{{{ reference }}}} \u{E003}\n{{% if true %}}x{{% endif %}} {}",
                        a.reference
                    )
                } else {
                    a.title.clone()
                }
            };
            let titles: HashMap<String, String> = agreements
                .iter()
                .map(|a| (a.reference.to_string(), title(a)))
                .collect();
            let shown: Vec<_> = refs
                .iter()
                .map(|d| Shown::as_it_is(d, titles[d.reference.as_str()].as_str()))
                .collect();
            let fast = events(&shown, Utc::now())?;
            assert_eq!(fast.len(), ds.len());
            for (d, e) in ds.iter().zip(&fast) {
                let deadline = swedish_date(d.date);
                let period_end = d.report.as_ref().map(|o| swedish_date(o.period_end));
                let texts = [
                    d.reference.as_str(),
                    titles[d.reference.as_str()].as_str(),
                    deadline.as_str(),
                    period_end.as_deref().unwrap_or_default(),
                ];
                let shown = Shown::as_it_is(d, texts[1]);
                let (summary, description) = render(tera, &view(&shown, &texts))?;
                assert_eq!(e.summary, one_line(&summary));
                assert_eq!(e.description, description.trim());
            }
        }
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
        let shown: Vec<_> = ds
            .iter()
            .map(|d| Shown::as_it_is(d, "Städ, fritid; <ö>"))
            .collect();
        let cal = calendar(&shown, Utc::now())?;
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
