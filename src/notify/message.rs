//! E-mail content: Swedish subject, plain text and HTML from the tera templates in
//! `templates/emails/<kind>/`, plus the `.ics` calendar file. Pure apart from rendering.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tera::{Context, Tera};

use crate::domain::deadlines::{DeadlineKind, DueReminder, Step};
use crate::ics::{self, Event};
use crate::text::{one_line, swedish_date};

macro_rules! email_templates {
    ($($kind:literal),* $(,)?) => {
        &[
            ("layout.txt", include_str!("../../templates/emails/layout.txt")),
            ("layout.html", include_str!("../../templates/emails/layout.html")),
            $(
                (concat!($kind, "/subject.txt"), include_str!(concat!("../../templates/emails/", $kind, "/subject.txt"))),
                (concat!($kind, "/body.txt"), include_str!(concat!("../../templates/emails/", $kind, "/body.txt"))),
                (concat!($kind, "/body.html"), include_str!(concat!("../../templates/emails/", $kind, "/body.html"))),
            )*
        ]
    };
}

/// The templates, compiled into the binary so `avtal` runs from any directory.
const TEMPLATES: &[(&str, &str)] = email_templates!(
    "option_decision",
    "renewal_notice",
    "termination_notice",
    "renewal_dialogue",
    "end",
    "documentation",
    "report",
    "digest",
);

/// A rendered message, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// One line, no control characters.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (user text escaped).
    pub html: String,
    /// The iCalendar attachment.
    pub ics: String,
}

/// What the templates see of one reminder.
#[derive(Debug, Clone, Serialize)]
pub struct ReminderView {
    /// Dedupe key of the reminder.
    pub key: String,
    /// Agreement reference.
    pub reference: String,
    /// Agreement title (user text).
    pub title: String,
    /// Deadline kind code.
    pub kind: &'static str,
    /// The deadline in Swedish, e.g. "31 december 2026".
    pub deadline: String,
    /// The deadline as a date.
    #[serde(skip)]
    pub deadline_date: NaiveDate,
    /// "om 60 dagar", "i morgon", "i dag", or empty for late notices.
    pub when: String,
    /// `late` or `escalated` for a late report's notices.
    pub state: Option<&'static str>,
    /// The report's kind, for reports.
    pub report_kind: Option<String>,
    /// The reported period's end in Swedish, for reports.
    pub period_end: Option<String>,
    /// Whether this is the final report.
    pub final_report: bool,
    /// In a digest: the recipient is only informed (cc).
    pub copy: bool,
    /// The reminder's own subject line (filled in for digests).
    pub subject: String,
    /// Signed link that acknowledges the reminder (reports only).
    pub ack_url: Option<String>,
    /// Signed link to the page that takes the report file (reports only).
    pub upload_url: Option<String>,
}

impl ReminderView {
    /// The view of a due reminder; the report details come from its deadline when known.
    pub fn new(
        r: &DueReminder,
        title: &str,
        report: Option<&crate::domain::deadlines::ReportOccurrence>,
        today: NaiveDate,
    ) -> Self {
        let state = match r.step {
            Step::Late => Some("late"),
            Step::Escalation => Some("escalated"),
            Step::Before(_) => None,
        };
        let when = match (r.step, (r.deadline - today).num_days()) {
            (Step::Before(_), 0) => "i dag".to_owned(),
            (Step::Before(_), 1) => "i morgon".to_owned(),
            (Step::Before(_), n) if n > 1 => format!("om {n} dagar"),
            _ => String::new(),
        };
        Self {
            key: r.key.to_string(),
            reference: r.reference.as_str().to_owned(),
            title: title.to_owned(),
            kind: r.kind.code(),
            deadline: swedish_date(r.deadline),
            deadline_date: r.deadline,
            when,
            state,
            report_kind: report.map(|o| crate::text::label_sv(None, &o.kind)),
            period_end: report.map(|o| swedish_date(o.period_end)),
            final_report: report.is_some_and(|o| o.final_report),
            copy: false,
            subject: String::new(),
            ack_url: None,
            upload_url: None,
        }
    }
}

/// Errors of rendering.
#[derive(Debug, thiserror::Error)]
#[error("e-mail template {template}: {message}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What went wrong, with tera's cause chain.
    pub message: String,
}

fn template_error(template: &str, e: &tera::Error) -> TemplateError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TemplateError {
        template: template.to_owned(),
        message,
    }
}

/// The compiled e-mail templates.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// Compiles the built-in templates; HTML templates autoescape.
    pub fn new() -> Result<Self, TemplateError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| template_error("(all)", &e))?;
        Ok(Self { tera })
    }

    fn render(&self, name: &str, ctx: &Context) -> Result<String, TemplateError> {
        self.tera
            .render(name, ctx)
            .map_err(|e| template_error(name, &e))
    }

    fn subject(&self, kind: &str, ctx: &Context) -> Result<String, TemplateError> {
        Ok(one_line(&self.render(&format!("{kind}/subject.txt"), ctx)?))
    }

    /// One reminder's message.
    pub fn reminder(&self, r: &ReminderView, now: DateTime<Utc>) -> Result<Content, TemplateError> {
        let ctx = Context::from_serialize(r).map_err(|e| template_error(r.kind, &e))?;
        let subject = self.subject(r.kind, &ctx)?;
        let text = self.render(&format!("{}/body.txt", r.kind), &ctx)?;
        let html = self.render(&format!("{}/body.html", r.kind), &ctx)?;
        let ics = ics::calendar(&[event(r, &subject, &text, now)]);
        Ok(Content {
            subject,
            text,
            html,
            ics,
        })
    }

    /// One recipient's digest of the day: every reminder in one message, one calendar event each.
    pub fn digest(
        &self,
        today: NaiveDate,
        items: &[ReminderView],
        now: DateTime<Utc>,
    ) -> Result<Content, TemplateError> {
        let mut items = items.to_vec();
        let mut events = Vec::with_capacity(items.len());
        for r in &mut items {
            let ctx = Context::from_serialize(&*r).map_err(|e| template_error(r.kind, &e))?;
            r.subject = self.subject(r.kind, &ctx)?;
            let text = self.render(&format!("{}/body.txt", r.kind), &ctx)?;
            events.push(event(r, &r.subject, &text, now));
        }
        let mut ctx = Context::new();
        ctx.insert("today", &swedish_date(today));
        ctx.insert("count", &items.len());
        ctx.insert("items", &items);
        Ok(Content {
            subject: self.subject("digest", &ctx)?,
            text: self.render("digest/body.txt", &ctx)?,
            html: self.render("digest/body.html", &ctx)?,
            ics: ics::calendar(&events),
        })
    }
}

fn event(r: &ReminderView, subject: &str, text: &str, now: DateTime<Utc>) -> Event {
    Event {
        uid: format!("{}@avtal", r.key),
        stamp: now,
        date: r.deadline_date,
        summary: subject.to_owned(),
        description: text.trim().to_owned(),
    }
}

/// The kinds that have templates, for tests and checks.
pub fn template_kinds() -> impl Iterator<Item = &'static str> {
    [
        DeadlineKind::OptionDecision,
        DeadlineKind::RenewalNotice,
        DeadlineKind::TerminationNotice,
        DeadlineKind::RenewalDialogue,
        DeadlineKind::End,
        DeadlineKind::Documentation,
        DeadlineKind::Report,
    ]
    .into_iter()
    .map(DeadlineKind::code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(kind: &'static str, title: &str) -> ReminderView {
        ReminderView {
            key: format!("AGR-2025-0004/{kind}/2026-12-31/d60"),
            reference: "AGR-2025-0004".into(),
            title: title.into(),
            kind,
            deadline: swedish_date(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default()),
            deadline_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
            when: "om 39 dagar".into(),
            state: None,
            report_kind: Some("social clause report".into()),
            period_end: Some("30 september 2026".into()),
            final_report: false,
            copy: false,
            subject: String::new(),
            ack_url: None,
            upload_url: None,
        }
    }

    #[test]
    fn every_kind_renders_a_subject_text_and_html_naming_the_agreement_and_date()
    -> anyhow::Result<()> {
        let t = Templates::new()?;
        let now = Utc::now();
        for kind in template_kinds() {
            let c = t.reminder(&view(kind, "Städ & <fritid>"), now)?;
            assert!(c.subject.contains("AGR-2025-0004"), "{kind}: {}", c.subject);
            assert!(c.text.contains("31 december 2026"), "{kind}: {}", c.text);
            assert!(c.text.contains("Städ & <fritid>"), "{kind}: {}", c.text);
            assert!(
                c.html.contains("Städ &amp; &lt;fritid&gt;"),
                "{kind}: HTML is escaped:\n{}",
                c.html
            );
            assert!(!c.html.contains("<fritid>"), "{kind}");
            assert!(c.ics.contains("BEGIN:VEVENT"), "{kind}");
        }
        Ok(())
    }

    #[test]
    fn a_title_with_newlines_cannot_break_out_of_the_subject() -> anyhow::Result<()> {
        let t = Templates::new()?;
        let c = t.reminder(
            &view("option_decision", "Städ\r\nBcc: attacker@evil.example"),
            Utc::now(),
        )?;
        assert!(
            !c.subject.contains('\n') && !c.subject.contains('\r'),
            "{:?}",
            c.subject
        );
        Ok(())
    }

    #[test]
    fn a_report_reminder_shows_its_links_in_text_and_escaped_in_html() -> anyhow::Result<()> {
        let t = Templates::new()?;
        let mut v = view("report", "Städ");
        v.ack_url = Some("https://avtal.example/l/v1.ack?x=1&y=<2>".into());
        v.upload_url = Some("https://avtal.example/l/v1.up".into());
        let c = t.reminder(&v, Utc::now())?;
        assert!(
            c.text
                .contains("https://avtal.example/l/v1.ack?x=1&y=<2>\n"),
            "{}",
            c.text
        );
        assert!(
            c.text.contains("https://avtal.example/l/v1.up"),
            "{}",
            c.text
        );
        assert!(c.html.contains("x=1&amp;y=&lt;2&gt;"), "{}", c.html);
        assert!(!c.html.contains("<2>"), "{}", c.html);
        let d = t.digest(
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
            &[v],
            Utc::now(),
        )?;
        assert!(
            d.text
                .contains("Lämna in rapporten: https://avtal.example/l/v1.up"),
            "{}",
            d.text
        );
        let other = t.reminder(&view("option_decision", "Städ"), Utc::now())?;
        assert!(!other.text.contains("/l/"), "only reports carry links");
        Ok(())
    }

    #[test]
    fn a_digest_lists_every_reminder_with_one_event_each() -> anyhow::Result<()> {
        let t = Templates::new()?;
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let mut second = view("report", "Fritid");
        second.reference = "AGR-2025-0005".into();
        second.key = "AGR-2025-0005/report/x/late".into();
        second.state = Some("late");
        second.copy = true;
        let c = t.digest(
            today,
            &[view("option_decision", "Städ"), second],
            Utc::now(),
        )?;
        assert!(c.subject.contains("2 påminnelser"), "{}", c.subject);
        assert!(c.text.contains("AGR-2025-0004") && c.text.contains("AGR-2025-0005"));
        assert_eq!(c.ics.matches("BEGIN:VEVENT").count(), 2);
        Ok(())
    }
}
