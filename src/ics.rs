//! A minimal iCalendar (RFC 5545) writer: one all-day event per reminder, with text escaping and
//! 75-octet line folding. Pure; no I/O.

use chrono::{DateTime, NaiveDate, Utc};

/// One all-day calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Globally unique and stable: the same reminder always gives the same UID.
    pub uid: String,
    /// When the file was made.
    pub stamp: DateTime<Utc>,
    /// The day of the event.
    pub date: NaiveDate,
    /// One-line title.
    pub summary: String,
    /// Longer text; may hold newlines.
    pub description: String,
}

/// A VCALENDAR with the given events, lines ending in CRLF.
pub fn calendar(events: &[Event]) -> String {
    let mut out = String::with_capacity(256 + events.len() * 400);
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//avtal//avtal//SV",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    // A feed's events share their stamp: formatted once.
    let mut stamp: Option<(DateTime<Utc>, String)> = None;
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", escape(&e.uid)));
        let line = match &stamp {
            Some((at, line)) if *at == e.stamp => line,
            _ => {
                let line = format!("DTSTAMP:{}", e.stamp.format("%Y%m%dT%H%M%SZ"));
                &stamp.insert((e.stamp, line)).1
            }
        };
        push_line(&mut out, line);
        push_line(
            &mut out,
            &format!("DTSTART;VALUE=DATE:{}", e.date.format("%Y%m%d")),
        );
        if let Some(next) = e.date.succ_opt() {
            push_line(
                &mut out,
                &format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")),
            );
        }
        push_line(&mut out, &format!("SUMMARY:{}", escape(&e.summary)));
        push_line(&mut out, &format!("DESCRIPTION:{}", escape(&e.description)));
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines (RFC 5545 3.3.11).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so no line exceeds 75 octets (continuations start with a
/// space), never splitting a UTF-8 character.
fn push_line(out: &mut String, line: &str) {
    if line.len() <= 75 {
        out.push_str(line);
        out.push_str("\r\n");
        return;
    }
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str, description: &str) -> Event {
        Event {
            uid: "AGR-2025-0004/option_decision/1@2026-12-31/d60@avtal".into(),
            stamp: DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
            date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
            summary: summary.into(),
            description: description.into(),
        }
    }

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn text_values_escape_backslash_semicolon_comma_and_newlines() {
        assert_eq!(escape("a\\b;c,d\ne\r\nf"), "a\\\\b\\;c\\,d\\ne\\nf");
    }

    #[test]
    fn a_calendar_has_the_required_properties_and_crlf_lines() {
        let c = calendar(&[event("Beslut om option", "Beslut senast 31 december 2026.")]);
        assert!(c.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        assert!(c.ends_with("END:VCALENDAR\r\n"));
        for want in [
            "UID:AGR-2025-0004/option_decision/1@2026-12-31/d60@avtal\r\n",
            "DTSTAMP:20261118T",
            "DTSTART;VALUE=DATE:20261231\r\n",
            "DTEND;VALUE=DATE:20270101\r\n",
            "SUMMARY:Beslut om option\r\n",
        ] {
            assert!(c.contains(want), "missing {want:?} in\n{c}");
        }
        assert!(!c.replace("\r\n", "").contains('\n'), "bare LF in\n{c}");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let long = "Ärende åäö, ".repeat(30);
        let c = calendar(&[event("x", &long)]);
        for line in c.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        assert!(unfold(&c).contains(&format!("DESCRIPTION:{}\r\n", escape(&long))));
    }
}
