//! The registry file: one YAML (or JSON) file of `organisations`, `contacts` and `agreements` in
//! the shapes of [`crate::domain`], as `docs/format.md` documents it, and the problem report that
//! names a file, a record and a field. Parsing only; importing is [`crate::registry::transfer`].

use serde::{Deserialize, Serialize};

use crate::domain::agreement::Agreement;
use crate::domain::party::{Contact, Organisation};

/// The registry file format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// Organisations.
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    /// Contacts.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Agreements.
    #[serde(default)]
    pub agreements: Vec<Agreement>,
}

/// One problem found in an import: which file, which record, which field, value and rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// File name as given.
    pub file: String,
    /// The record: its list, its number counted from 1 and its key, e.g.
    /// `agreements no. 4 (AGR-2025-0005)`; `(file)` for a problem of the whole file.
    pub record: String,
    /// Field path inside the record.
    pub field: String,
    /// The offending value.
    pub value: String,
    /// Rule identifier.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}: {} (rule {}",
            self.file, self.record, self.field, self.message, self.rule
        )?;
        if !self.value.is_empty() {
            write!(f, ", value \"{}\"", self.value)?;
        }
        f.write_str(")")
    }
}

/// The YAML budget for a text of `len` bytes. The library's defaults stay for what only a hostile
/// file needs (aliases, anchors, nesting depth); the node, event and text limits grow with the
/// file, because a registry of 100 000 agreements is a legitimately large file.
fn budget_for(len: usize) -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_nodes = b.max_nodes.max(len);
    b.max_events = b.max_events.max(len.saturating_mul(2));
    b.max_total_scalar_bytes = b.max_total_scalar_bytes.max(len);
    b
}

/// The YAML reader's options for a text of `len` bytes: the budget, and messages without a
/// copy of the source lines (the problem names the line and the field itself).
fn options_for(len: usize) -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget_for(len));
    options.with_snippet = false;
    options
}

/// Parses one registry file's text; an error names the file, the record (numbered from 1, with
/// its key when the file says it), the field path, the value and the rule, as a refused record
/// does, and the YAML line.
pub fn parse_file(name: &str, text: &str) -> Result<RegistryFile, Box<ImportProblem>> {
    let mut path = None;
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(
        text,
        options_for(text.len()),
        |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = Some(e.path().to_string());
                e.into_inner()
            })
        },
    );
    parsed.map_err(|e| Box::new(parse_problem(name, text, path.as_deref(), &e)))
}

/// What parsing found wrong, as an [`ImportProblem`].
fn parse_problem(
    name: &str,
    text: &str,
    path: Option<&str>,
    e: &serde_saphyr::Error,
) -> ImportProblem {
    let at = e
        .location()
        .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
        .unwrap_or_default();
    let raw = e.without_snippet().to_string();
    if raw.contains("budget breached") {
        return ImportProblem {
            file: name.to_owned(),
            record: "(file)".into(),
            field: String::new(),
            value: String::new(),
            rule: "yaml_budget".into(),
            message: format!("{}{at}", budget_sentence(&raw)),
        };
    }
    let path = path.filter(|p| !p.is_empty() && *p != ".");
    let Some(path) = path else {
        return ImportProblem {
            file: name.to_owned(),
            record: "(file)".into(),
            field: String::new(),
            value: String::new(),
            rule: "yaml".into(),
            message: strip_location(&raw),
        }
        .with_location(&at);
    };
    // The same text read loosely: the records' keys, and the value at the path.
    let keys: Option<Keys> =
        serde_saphyr::from_str_with_options(text, options_for(text.len())).ok();
    let tree: Option<serde_json::Value> =
        serde_saphyr::from_str_with_options(text, options_for(text.len())).ok();
    let (record, field) = split_record(path, keys.as_ref());
    let value = tree
        .as_ref()
        .and_then(|t| value_at(t, path))
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let (rule, message) = describe_parse_error(&strip_location(&raw));
    let field = field_of(field, &message);
    ImportProblem {
        file: name.to_owned(),
        record,
        field,
        value,
        rule: rule.into(),
        message,
    }
    .with_location(&at)
}

impl ImportProblem {
    fn with_location(mut self, at: &str) -> Self {
        self.message.push_str(at);
        self
    }
}

/// A budget breach of the YAML reader in words (its own text names a Rust type).
fn budget_sentence(raw: &str) -> String {
    let what = if raw.contains("Alias") || raw.contains("Anchor") || raw.contains("Replay") {
        "too many YAML anchors or aliases (`&name`, `*name`)"
    } else if raw.contains("Depth") {
        "lists and groups nested too deeply"
    } else {
        "more YAML nodes or text than one file may hold"
    };
    format!(
        "the file cannot be read: it has {what}. A registry file needs no anchors or aliases; \
         write each record out, or split the file into several files and import them together \
         (Filen kan inte läsas: den är för stor eller för djupt nästlad. Dela upp den i flera filer.)"
    )
}

/// The reader's message without the location it appends (the problem adds its own).
fn strip_location(raw: &str) -> String {
    match raw.rfind(" at line ") {
        Some(i) => raw[..i].to_owned(),
        None => raw.to_owned(),
    }
}

/// Only the natural keys of a file's records; every other field is skipped unread.
#[derive(Deserialize)]
struct Keys {
    #[serde(default)]
    organisations: Vec<Key>,
    #[serde(default)]
    contacts: Vec<Key>,
    #[serde(default)]
    agreements: Vec<Key>,
}

/// One record's natural key, when it is a text.
#[derive(Deserialize)]
struct Key {
    #[serde(default, alias = "org_number", alias = "email", alias = "reference")]
    key: Option<LooseText>,
}

/// A scalar read as text whatever it looks like; anything else is no key.
struct LooseText(Option<String>);

impl<'de> Deserialize<'de> for LooseText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LooseText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<LooseText, E> {
                Ok(LooseText(Some(s.to_owned())))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<LooseText, E> {
                Ok(LooseText(Some(n.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<LooseText, E> {
                Ok(LooseText(Some(n.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// `agreements[3].period.start` -> (`agreements no. 4 (AGR-2025-0005)`, `period.start`).
fn split_record(path: &str, keys: Option<&Keys>) -> (String, String) {
    let Some((list, rest)) = path.split_once('[') else {
        return ("(file)".into(), path.to_owned());
    };
    let Some((index, field)) = rest.split_once(']') else {
        return ("(file)".into(), path.to_owned());
    };
    let Ok(index) = index.parse::<usize>() else {
        return ("(file)".into(), path.to_owned());
    };
    let key = keys
        .and_then(|k| match list {
            "organisations" => k.organisations.get(index),
            "contacts" => k.contacts.get(index),
            "agreements" => k.agreements.get(index),
            _ => None,
        })
        .and_then(|k| k.key.as_ref())
        .and_then(|k| k.0.clone());
    (
        record_label(list, index, key.as_deref()),
        field.trim_start_matches('.').to_owned(),
    )
}

/// How a record is named in a problem: its list, its number counted from 1, and its key.
pub fn record_label(list: &str, index: usize, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{list} no. {} ({k})", index + 1),
        None => format!("{list} no. {}", index + 1),
    }
}

/// The value at a field path (`parties[0].org`) of a parsed tree.
pub fn value_at<'a>(tree: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut here = tree;
    for part in path.split('.') {
        let (key, mut rows) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            here = here.get(key)?;
        }
        while let Some((n, after)) = rows.split_once(']') {
            here = here.get(n.parse::<usize>().ok()?)?;
            rows = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(here)
}

/// A missing field is reported at its record or group; name the field itself.
fn field_of(at: String, message: &str) -> String {
    let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    else {
        return at;
    };
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

/// The range of a whole-number type as the YAML reader names it (`u8`).
fn whole_number_range(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "u8" => "0 to 255",
        "u16" => "0 to 65535",
        "u32" => "0 to 4294967295",
        "u64" | "usize" => "0 to 18446744073709551615",
        "i32" => "-2147483648 to 2147483647",
        "i64" => "-9223372036854775808 to 9223372036854775807",
        _ => return None,
    })
}

/// The rule a reader's error breaks, and its message in words a user can act on: shared by the
/// YAML import and the JSON API.
pub fn describe_parse_error(message: &str) -> (&'static str, String) {
    let rule = if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown variant") {
        "unknown_code"
    } else if message.contains("is too large") {
        "too_large"
    } else if message.contains("has decimals") {
        "amount_as_text"
    } else if message.contains("is not an amount") {
        "amount"
    } else if message.starts_with("invalid type") {
        "type"
    } else if let Some(ty) = message.strip_prefix("invalid ")
        && let Some(range) = whole_number_range(ty)
    {
        return (
            "type",
            format!("{message}: expected a whole number from {range}"),
        );
    } else if matches!(
        message,
        "input is out of range"
            | "input contains invalid characters"
            | "premature end of input"
            | "trailing input"
            | "input is not enough for unique date and time"
            | "no possible date and time matching input"
            | "bad or unsupported format string"
    ) {
        return (
            "date",
            format!(
                "not a date ({message}): write YYYY-MM-DD with a day that exists, e.g. 2027-02-28"
            ),
        );
    } else {
        "format"
    };
    (rule, message.to_owned())
}

/// Parses every sample file of [`crate::samples`]; a file that does not parse is a problem named by file.
pub fn example_files() -> Result<Vec<(String, RegistryFile)>, Vec<ImportProblem>> {
    let mut out = Vec::new();
    let mut problems: Vec<ImportProblem> = Vec::new();
    for (name, text) in crate::samples::EXAMPLES {
        match parse_file(name, text) {
            Ok(f) => out.push(((*name).to_owned(), f)),
            Err(p) => problems.push(*p),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_is_not_refused_by_the_yaml_budget() {
        // 60 000 contacts are 300 000 YAML nodes, past the library's default of 250 000.
        let mut text = String::from("contacts:\n");
        for i in 0..60_000 {
            text.push_str(&format!(
                "  - email: k{i}@org.example\n    name: Kontakt {i}\n    organisation: 212900-0010\n    role: other\n"
            ));
        }
        let file = parse_file("big.yaml", &text).unwrap_or_else(|p| panic!("{p}"));
        assert_eq!(file.contacts.len(), 60_000);
    }

    #[test]
    fn an_alias_flood_is_still_refused() {
        // The alias limits stay at the library's defaults whatever the file's size.
        let mut text = String::from(
            "contacts:\n  - &c {email: x@y.example, name: x, organisation: 212900-0010, role: other}\n",
        );
        for _ in 0..60_000 {
            text.push_str("  - *c\n");
        }
        let p = parse_file("bomb.yaml", &text)
            .err()
            .unwrap_or_else(|| panic!("an alias bomb must be refused"));
        assert_eq!(p.rule, "yaml_budget", "{}", p.message);
        assert!(!p.message.contains("budget breached"), "{}", p.message);
    }
}
