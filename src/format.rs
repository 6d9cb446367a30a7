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
    /// The record, e.g. `agreements[3] (AGR-2025-0005)`, or the YAML location of a parse error.
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

/// Parses one registry file's text; a syntax or type error names the file and the YAML location.
pub fn parse_file(name: &str, text: &str) -> Result<RegistryFile, Box<ImportProblem>> {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget_for(text.len()));
    serde_saphyr::from_str_with_options::<RegistryFile>(text, options).map_err(|e| {
        Box::new(ImportProblem {
            file: name.to_owned(),
            record: "(file)".into(),
            field: String::new(),
            value: String::new(),
            rule: "yaml".into(),
            message: e.to_string(),
        })
    })
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
        assert!(p.message.contains("budget"), "{}", p.message);
    }
}
