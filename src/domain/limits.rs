//! How long each free text may be, and the character no text may hold, in one place: every record
//! (agreement, organisation, contact) is checked here before it is stored, whatever door it came in by.

use serde::Serialize;
use serde_json::Value;

use super::party::Violation;

/// Longest text of a field not named below (a name, a reference, a code, a short description).
pub const TEXT_MAX_CHARS: usize = 500;
/// Longest paragraph (a social clause's target, an IOP goal, an amendment's rationale, ...).
pub const PARAGRAPH_MAX_CHARS: usize = 4_000;
/// Longest long text (`notes` and an IOP's background, value base, purpose and the like).
pub const LONG_TEXT_MAX_CHARS: usize = 20_000;

/// Fields of an agreement that take a long text, by path (`[]` stands for any row).
pub const LONG_TEXT_FIELDS: &[&str] = &[
    "notes",
    "iop.background",
    "iop.value_base",
    "iop.partner_value_base",
    "iop.purpose",
    "iop.target_group",
    "iop.governance",
    "iop.changes",
    "iop.disputes",
    "iop.legal_assessment.conclusion",
];

/// Fields of an agreement that take a paragraph, by path (`[]` stands for any row).
pub const PARAGRAPH_FIELDS: &[&str] = &[
    "framework_special_reasons",
    "social_clauses[].target",
    "social_clauses[].follow_up",
    "iop.goals[].text",
    "iop.activities[].text",
    "iop.contributions[].text",
    "renewal_dialogue.text",
    "tacit_renewal.notice.reason",
    "termination.notice.reason",
    "amendments[].rationale",
    "reporting[].description",
    "reporting[].occurrences[].rejection_reason",
    "terms.special_terms",
    "terms.state_aid.reasoning",
    "terms.insurance.text",
];

/// The most characters the field at `path` (rows as `[3]` or `[]`) may hold.
pub fn max_chars(path: &str) -> usize {
    let general = row_free(path);
    if LONG_TEXT_FIELDS.contains(&general.as_str()) {
        LONG_TEXT_MAX_CHARS
    } else if PARAGRAPH_FIELDS.contains(&general.as_str()) {
        PARAGRAPH_MAX_CHARS
    } else {
        TEXT_MAX_CHARS
    }
}

/// `parties[0].unit` -> `parties[].unit`.
fn row_free(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_row = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_row = true;
                out.push_str("[]");
            }
            ']' => in_row = false,
            _ if in_row => {}
            _ => out.push(c),
        }
    }
    out
}

/// The start of a long value, for a message (a 1 MB text is not echoed back).
pub fn excerpt(text: &str) -> String {
    const SHOWN: usize = 60;
    let shown: String = text
        .chars()
        .take(SHOWN)
        .map(|c| if c == '\0' { '\u{2400}' } else { c })
        .collect();
    if text.chars().nth(SHOWN).is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Every text of `record` that is too long for its field or holds a NUL character (which
/// PostgreSQL cannot store and SQLite would cut short in some readers), named by its path.
pub fn text_violations(record: &impl Serialize) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Ok(value) = serde_json::to_value(record) {
        walk(&value, String::new(), &mut out);
    }
    out
}

fn walk(value: &Value, at: String, out: &mut Vec<Violation>) {
    match value {
        Value::String(s) => check(s, &at, out),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let here = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                if k.contains('\0') {
                    out.push(nul(&here.replace('\0', "\u{2400}"), k));
                }
                walk(v, here, out);
            }
        }
        _ => {}
    }
}

fn nul(field: &str, text: &str) -> Violation {
    Violation::new(
        field,
        excerpt(text),
        "no_nul",
        "a text may not contain the NUL character (U+0000)",
    )
}

fn check(text: &str, field: &str, out: &mut Vec<Violation>) {
    if text.contains('\0') {
        out.push(nul(field, text));
    }
    let max = max_chars(field);
    let count = text.chars().count();
    if count > max {
        out.push(Violation::new(
            field,
            excerpt(text),
            "max_length",
            format!("{field} has at most {max} characters; this text has {count}"),
        ));
    }
}

/// Adds the violations of [`text_violations`] to `v`, except on a field whose own rule already
/// refused its length.
pub fn add_text_violations(record: &impl Serialize, v: &mut Vec<Violation>) {
    for t in text_violations(record) {
        if !v.iter().any(|x| x.field == t.field && x.rule == t.rule) {
            v.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_depends_on_the_field_and_not_on_the_row() {
        assert_eq!(max_chars("notes"), LONG_TEXT_MAX_CHARS);
        assert_eq!(max_chars("amendments[3].rationale"), PARAGRAPH_MAX_CHARS);
        assert_eq!(max_chars("title"), TEXT_MAX_CHARS);
        assert_eq!(max_chars("parties[0].unit"), TEXT_MAX_CHARS);
    }

    #[test]
    fn a_long_text_and_a_nul_are_named_by_their_path() {
        let record = serde_json::json!({
            "notes": "x".repeat(LONG_TEXT_MAX_CHARS + 1),
            "iop": {"goals": [{"text": "ok"}, {"text": "a\u{0}b"}]},
            "title": "y".repeat(TEXT_MAX_CHARS),
        });
        let v = text_violations(&record);
        let named: Vec<(&str, &str)> = v.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(
            named,
            vec![("iop.goals[1].text", "no_nul"), ("notes", "max_length")]
        );
        assert!(v[1].value.chars().count() <= 61, "{}", v[1].value);
    }
}
