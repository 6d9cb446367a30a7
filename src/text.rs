//! Text shared by e-mails, calendars, pages, exports and documents: dates the Swedish way, the
//! Swedish names of codes, and user text collapsed to one line. Pure.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};

/// The Swedish names of codes (`templates/web/labels.json`), shared by every Swedish surface.
static LABELS: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../templates/web/labels.json")).unwrap_or_default()
});

/// The Swedish name of `code` from `templates/web/labels.json`: `list:code` first (a code whose
/// name depends on its list, e.g. `bt_775:opp`), then `code`, else the code itself.
pub fn label_sv(list: Option<&str>, code: &str) -> String {
    list.and_then(|l| LABELS.get(&format!("{l}:{code}")))
        .or_else(|| LABELS.get(code))
        .cloned()
        .unwrap_or_else(|| code.to_owned())
}

/// Whether `key` (`code` or `list:code`) has a Swedish name.
pub fn has_label_sv(key: &str) -> bool {
    LABELS.contains_key(key)
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date the Swedish way: "31 december 2026".
pub fn swedish_date(d: NaiveDate) -> String {
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or_default();
    format!("{} {month} {}", d.day(), d.year())
}

/// Collapses text to one line: control characters (CR, LF, tab) become spaces, so user text can
/// never add a header or a calendar property.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_swedish_way() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(swedish_date(d(2026, 12, 31)), "31 december 2026");
        assert_eq!(swedish_date(d(2026, 11, 22)), "22 november 2026");
        assert_eq!(swedish_date(d(2027, 1, 1)), "1 januari 2027");
        assert_eq!(swedish_date(d(2027, 5, 9)), "9 maj 2027");
    }

    #[test]
    fn one_line_removes_line_breaks_and_runs_of_space() {
        assert_eq!(one_line("Städ\r\nBcc: x\t y "), "Städ Bcc: x y");
    }
}
