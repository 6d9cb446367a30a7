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
    use std::fmt::Write as _;
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
    // A feed's events share their stamp: formatted once. Each line is made in one buffer.
    let mut stamp: Option<(DateTime<Utc>, String)> = None;
    let mut line = String::with_capacity(512);
    let mut text_line = |out: &mut String, name: &str, value: &str| {
        line.clear();
        line.push_str(name);
        escape_into(&mut line, value);
        push_line(out, &line);
    };
    let mut date = String::with_capacity(32);
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        text_line(&mut out, "UID:", &e.uid);
        let line = match &stamp {
            Some((at, line)) if *at == e.stamp => line,
            _ => {
                let line = format!("DTSTAMP:{}", e.stamp.format("%Y%m%dT%H%M%SZ"));
                &stamp.insert((e.stamp, line)).1
            }
        };
        push_line(&mut out, line);
        date.clear();
        let _ = write!(date, "DTSTART;VALUE=DATE:{}", Ymd(e.date));
        push_line(&mut out, &date);
        if let Some(next) = e.date.succ_opt() {
            date.clear();
            let _ = write!(date, "DTEND;VALUE=DATE:{}", Ymd(next));
            push_line(&mut out, &date);
        }
        text_line(&mut out, "SUMMARY:", &e.summary);
        text_line(&mut out, "DESCRIPTION:", &e.description);
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// A date as iCalendar's DATE value, `YYYYMMDD`.
struct Ymd(NaiveDate);

impl std::fmt::Display for Ymd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::Datelike as _;
        write!(
            f,
            "{:04}{:02}{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines (RFC 5545 3.3.11).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// [`escape`], appended to `out`: the runs between special characters are copied whole, found
/// byte by byte (every character escaped or dropped starts with an ASCII byte or with `0xC2`, the
/// first byte of U+0080..U+00BF, where the C1 control characters are).
fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b < 0x20 || b == 0x7F || b == 0xC2 || matches!(b, b'\\' | b';' | b',')) {
            i += 1;
            continue;
        }
        let c = s[i..].chars().next().unwrap_or_default();
        let replacement = match c {
            '\\' => "\\\\",
            ';' => "\\;",
            ',' => "\\,",
            '\r' | '\n' => "\\n",
            // Other control characters are dropped.
            c if c.is_control() => "",
            // U+00A0..U+00BF: kept.
            _ => {
                i += c.len_utf8();
                continue;
            }
        };
        out.push_str(&s[start..i]);
        out.push_str(replacement);
        i += c.len_utf8();
        if c == '\r' && bytes.get(i) == Some(&b'\n') {
            i += 1;
        }
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Appends one content line, folded so no line exceeds 75 octets (continuations start with a
/// space), never splitting a UTF-8 character.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    // The first line holds 75 octets; each continuation a space and 74.
    let mut room = 75;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = 74;
    }
    out.push_str(rest);
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

    /// The writer before it copied runs whole: one character at a time.
    fn escape_by_chars(s: &str) -> String {
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

    fn fold_by_chars(line: &str) -> String {
        let mut out = String::new();
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
        out
    }

    #[test]
    fn escaping_and_folding_by_runs_equal_doing_it_by_characters() {
        let pieces = [
            "a", "Ä", "€", "𝄞", ",", ";", "\\", "\r\n", "\n", "\r", "\t", "\u{7}", " ", "xyz",
            // DEL and a C1 control (dropped), and two characters that share the C1 controls'
            // first byte (kept).
            "\u{7f}", "\u{85}", "\u{a0}", "§",
        ];
        // Every length around the fold points, from pieces in a fixed shuffled order.
        let mut seed = 7u64;
        for len in 0..400 {
            let mut s = String::new();
            for _ in 0..len {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            assert_eq!(escape(&s), escape_by_chars(&s), "{s:?}");
            let line = escape(&s);
            let mut folded = String::new();
            push_line(&mut folded, &line);
            assert_eq!(folded, fold_by_chars(&line), "{line:?}");
        }
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
