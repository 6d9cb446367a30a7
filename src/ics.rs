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
    // Events made together share their stamp: format it once.
    let mut stamp: Option<(DateTime<Utc>, String)> = None;
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_text(&mut out, "UID:", &e.uid);
        if stamp.as_ref().is_none_or(|(at, _)| *at != e.stamp) {
            stamp = Some((e.stamp, e.stamp.format("%Y%m%dT%H%M%SZ").to_string()));
        }
        if let Some((_, text)) = &stamp {
            push_parts(&mut out, "DTSTAMP:", text);
        }
        push_parts(&mut out, "DTSTART;VALUE=DATE:", &ymd(e.date));
        if let Some(next) = e.date.succ_opt() {
            push_parts(&mut out, "DTEND;VALUE=DATE:", &ymd(next));
        }
        push_text(&mut out, "SUMMARY:", &e.summary);
        push_text(&mut out, "DESCRIPTION:", &e.description);
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// A date as `YYYYMMDD` (as chrono's `%Y%m%d` writes it).
fn ymd(d: NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y%m%d").to_string()
    }
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
    push_parts(out, line, "");
}

/// Appends the content line `name` + `value`, folded as [`push_line`] folds.
fn push_parts(out: &mut String, name: &str, value: &str) {
    let mut width = 0;
    for part in [name, value] {
        fold(out, &mut width, part);
    }
    out.push_str("\r\n");
}

/// Appends the content line `name` + the TEXT `value` escaped (as [`escape`]), folded as
/// [`push_line`] folds.
fn push_text(out: &mut String, name: &str, value: &str) {
    let mut width = 0;
    fold(out, &mut width, name);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped = match c {
            '\\' => "\\\\",
            ';' => "\\;",
            ',' => "\\,",
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                "\\n"
            }
            '\n' => "\\n",
            c if c.is_control() => "",
            c => {
                let mut buf = [0u8; 4];
                fold(out, &mut width, c.encode_utf8(&mut buf));
                continue;
            }
        };
        fold(out, &mut width, escaped);
    }
    out.push_str("\r\n");
}

/// Appends `text` to a content line that is `width` octets long so far, starting a continuation
/// line (CRLF and a space) before any character that would pass 75 octets.
fn fold(out: &mut String, width: &mut usize, text: &str) {
    if *width + text.len() <= 75 {
        out.push_str(text);
        *width += text.len();
        return;
    }
    for c in text.chars() {
        let n = c.len_utf8();
        if *width + n > 75 {
            out.push_str("\r\n ");
            *width = 1;
        }
        out.push(c);
        *width += n;
    }
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

    /// The calendar as written before it was written in place: each line made whole, escaped,
    /// then folded character by character.
    fn plain(events: &[Event]) -> String {
        fn line(out: &mut String, line: &str) {
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
        let mut out = String::new();
        for l in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//avtal//avtal//SV",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
        ] {
            line(&mut out, l);
        }
        for e in events {
            line(&mut out, "BEGIN:VEVENT");
            line(&mut out, &format!("UID:{}", escape(&e.uid)));
            line(
                &mut out,
                &format!("DTSTAMP:{}", e.stamp.format("%Y%m%dT%H%M%SZ")),
            );
            line(
                &mut out,
                &format!("DTSTART;VALUE=DATE:{}", e.date.format("%Y%m%d")),
            );
            if let Some(next) = e.date.succ_opt() {
                line(
                    &mut out,
                    &format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")),
                );
            }
            line(&mut out, &format!("SUMMARY:{}", escape(&e.summary)));
            line(&mut out, &format!("DESCRIPTION:{}", escape(&e.description)));
            line(&mut out, "TRANSP:TRANSPARENT");
            line(&mut out, "END:VEVENT");
        }
        line(&mut out, "END:VCALENDAR");
        out
    }

    #[test]
    fn the_calendar_is_written_as_escaping_then_folding_each_line_writes_it() {
        let texts = [
            String::new(),
            "Städ, fritid; <ö> a\\b\r\nc\rd\ne\u{7}f".to_owned(),
            "x".repeat(74),
            "ö".repeat(40),
            ",".repeat(80),
            format!("{}é;", "y".repeat(62)),
            "Ärende åäö, ".repeat(30),
        ];
        let mut events = Vec::new();
        for (i, s) in texts.iter().enumerate() {
            for (j, d) in texts.iter().enumerate() {
                let mut e = event(s, d);
                e.uid = format!("{}{i}{j}", texts[(i + j) % texts.len()]);
                if i == 2 {
                    e.stamp = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
                    e.date = NaiveDate::from_ymd_opt(12_026, 1, 31).unwrap_or_default();
                }
                events.push(e);
            }
        }
        assert_eq!(calendar(&events), plain(&events));
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
