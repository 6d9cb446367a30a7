//! Template and clause manifests: which templates exist, what they apply to, the ordered clauses
//! each is made of, which fields they need, and how their files are named. The manifests and typst
//! sources live in `contracts/<name>/` and `contracts/clauses/` and are compiled into the binary,
//! so a deployed service carries exactly the templates it was tested with.

use serde::{Deserialize, Serialize};

use crate::domain::agreement::Agreement;
use crate::domain::codes::AgreementKind;
use crate::domain::terms::OPTIONAL_CLAUSES;

/// The event a per-event template is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The whole agreement, no event.
    None,
    /// An exercised extension option.
    Option,
    /// A recorded notice of termination.
    Notice,
    /// A recorded amendment.
    Amendment,
    /// One occurrence of a reporting obligation.
    Report,
}

/// A field a template needs, with its name in Swedish and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredField {
    /// Path in the agreement, e.g. `diarienummer`, `iop.purpose`, or `party:buyer` for a role.
    pub field: String,
    /// The field's name in Swedish.
    pub sv: String,
    /// The field's name in English.
    pub en: String,
}

/// One template's manifest (`contracts/<name>/manifest.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name used in the API and the CLI, e.g. `iop`.
    pub name: String,
    /// Version of the template; stored with every document made from it.
    pub version: String,
    /// The document's title in Swedish.
    pub title: String,
    /// The agreement kinds it applies to.
    pub kinds: Vec<AgreementKind>,
    /// The event it is about.
    pub event: EventKind,
    /// Fields the agreement must have.
    #[serde(default)]
    pub required: Vec<RequiredField>,
    /// File name pattern; `{reference}`, `{template}`, `{version}` (agreement version) and `{event}` are replaced.
    pub output: String,
    /// A letter from one party (unnumbered headings, one signature) rather than an agreement.
    #[serde(default)]
    pub letter: bool,
    /// The clauses of the document, in order (ids in the clause library).
    pub clauses: Vec<String>,
}

/// How a clause is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A numbered section with the clause title as its heading.
    Section,
    /// An annex on its own page, numbered "Bilaga N".
    Annex,
    /// No heading.
    Plain,
}

/// One clause of the library (`contracts/clauses/manifest.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClauseSpec {
    /// Id, also the name of its typst function in `index.typ`.
    pub id: String,
    /// Title in Swedish.
    pub title: String,
    /// The agreement kinds it applies to.
    pub kinds: Vec<AgreementKind>,
    /// Its legal reference, in Swedish.
    pub reference: String,
    /// Layout.
    pub layout: Layout,
    /// Version; bumped whenever its text changes.
    pub version: String,
    /// Whether an agreement may switch it off.
    #[serde(default)]
    pub optional: bool,
    /// Included only when this field of the agreement is set (`path`) or has a value (`path=value`).
    #[serde(default)]
    pub when: Option<String>,
    /// Fields the agreement must have when the clause is included.
    #[serde(default)]
    pub required: Vec<RequiredField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClauseFile {
    clauses: Vec<ClauseSpec>,
}

impl ClauseSpec {
    /// Whether the clause belongs in a document of `a` whose JSON form is `json`.
    pub fn applies(&self, a: &Agreement, json: &serde_json::Value) -> bool {
        if !self.kinds.contains(&a.kind) {
            return false;
        }
        if self.optional && a.terms.excluded_clauses.contains(&self.id) {
            return false;
        }
        match self.when.as_deref() {
            None => true,
            Some(cond) => {
                let (path, expected) = match cond.split_once('=') {
                    Some((p, v)) => (p, Some(v)),
                    None => (cond, None),
                };
                let found = json.pointer(&format!("/{}", path.replace('.', "/")));
                match (found, expected) {
                    (Some(serde_json::Value::String(s)), Some(v)) => s == v,
                    (_, Some(_)) => false,
                    (None | Some(serde_json::Value::Null), None) => false,
                    (Some(serde_json::Value::Bool(b)), None) => *b,
                    (Some(serde_json::Value::String(s)), None) => !s.trim().is_empty(),
                    (Some(serde_json::Value::Array(v)), None) => !v.is_empty(),
                    (Some(_), None) => true,
                }
            }
        }
    }
}

/// A template: its manifest and its typst source.
#[derive(Debug, Clone)]
pub struct Template {
    /// The manifest.
    pub manifest: Manifest,
    /// The typst source of the template (`template.typ`).
    pub source: &'static str,
}

/// The shared typst layout every template imports as `avtal.typ`.
pub const LAYOUT: &str = include_str!("../../contracts/common/avtal.typ");

/// The clause library's manifest.
const CLAUSES: &str = include_str!("../../contracts/clauses/manifest.yaml");

/// The typst files of the clause library, written beside the template in every job.
pub const CLAUSE_FILES: &[(&str, &str)] = &[
    (
        "index.typ",
        include_str!("../../contracts/clauses/index.typ"),
    ),
    (
        "general.typ",
        include_str!("../../contracts/clauses/general.typ"),
    ),
    (
        "commercial.typ",
        include_str!("../../contracts/clauses/commercial.typ"),
    ),
    (
        "privacy.typ",
        include_str!("../../contracts/clauses/privacy.typ"),
    ),
    ("iop.typ", include_str!("../../contracts/clauses/iop.typ")),
    (
        "letters.typ",
        include_str!("../../contracts/clauses/letters.typ"),
    ),
];

const SOURCES: &[(&str, &str, &str)] = &[
    (
        "iop",
        include_str!("../../contracts/iop/manifest.yaml"),
        include_str!("../../contracts/iop/template.typ"),
    ),
    (
        "procurement",
        include_str!("../../contracts/procurement/manifest.yaml"),
        include_str!("../../contracts/procurement/template.typ"),
    ),
    (
        "extension_notice",
        include_str!("../../contracts/extension_notice/manifest.yaml"),
        include_str!("../../contracts/extension_notice/template.typ"),
    ),
    (
        "termination_notice",
        include_str!("../../contracts/termination_notice/manifest.yaml"),
        include_str!("../../contracts/termination_notice/template.typ"),
    ),
    (
        "amendment",
        include_str!("../../contracts/amendment/manifest.yaml"),
        include_str!("../../contracts/amendment/template.typ"),
    ),
    (
        "report_request",
        include_str!("../../contracts/report_request/manifest.yaml"),
        include_str!("../../contracts/report_request/template.typ"),
    ),
];

/// Why the built-in templates could not be loaded (a bug caught by the unit tests).
#[derive(Debug, thiserror::Error)]
#[error("manifest of template {name} is invalid: {message}")]
pub struct ManifestError {
    /// The template folder.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// Every built-in template, in a fixed order.
#[derive(Debug, Clone)]
pub struct Catalog {
    templates: Vec<Template>,
    clauses: Vec<ClauseSpec>,
}

impl Catalog {
    /// Parses the built-in manifests and checks each against its folder and its source.
    pub fn builtin() -> Result<Self, ManifestError> {
        let clauses = load_clauses()?;
        let mut templates = Vec::new();
        for (folder, yaml, source) in SOURCES {
            let err = |message: String| ManifestError {
                name: (*folder).to_owned(),
                message,
            };
            let manifest: Manifest =
                serde_saphyr::from_str(yaml).map_err(|e| err(e.to_string()))?;
            if manifest.name != *folder {
                return Err(err(format!(
                    "name {} differs from its folder",
                    manifest.name
                )));
            }
            if source.contains("@preview") || source.contains("eval(") {
                return Err(err("templates use no packages and no eval".into()));
            }
            for id in &manifest.clauses {
                let c = clauses
                    .iter()
                    .find(|c| c.id == *id)
                    .ok_or_else(|| err(format!("clause {id} is not in the library")))?;
                if !c.kinds.iter().any(|k| manifest.kinds.contains(k)) {
                    return Err(err(format!(
                        "clause {id} applies to none of the template's kinds"
                    )));
                }
            }
            templates.push(Template { manifest, source });
        }
        Ok(Self { templates, clauses })
    }

    /// The clause library.
    pub fn clauses(&self) -> &[ClauseSpec] {
        &self.clauses
    }

    /// The clauses of `template` that belong in a document of `a`, in order.
    pub fn clauses_for(&self, template: &Template, a: &Agreement) -> Vec<&ClauseSpec> {
        let json = serde_json::to_value(a).unwrap_or_default();
        template
            .manifest
            .clauses
            .iter()
            .filter_map(|id| self.clauses.iter().find(|c| c.id == *id))
            .filter(|c| c.applies(a, &json))
            .collect()
    }

    /// Every field a document of `template` about `a` needs: the template's own and those of
    /// each clause it includes, without repeats.
    pub fn required_for(&self, template: &Template, a: &Agreement) -> Vec<RequiredField> {
        let mut out = template.manifest.required.clone();
        for c in self.clauses_for(template, a) {
            for r in &c.required {
                if !out.iter().any(|o| o.field == r.field) {
                    out.push(r.clone());
                }
            }
        }
        out
    }

    /// The built-in templates that parse; a broken one is logged and left out (the unit tests
    /// make sure none is).
    pub fn builtin_or_log() -> Self {
        match Self::builtin() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "a built-in document template is broken");
                let templates = SOURCES
                    .iter()
                    .filter_map(|(_, yaml, source)| {
                        serde_saphyr::from_str::<Manifest>(yaml)
                            .ok()
                            .map(|manifest| Template { manifest, source })
                    })
                    .collect();
                Self {
                    templates,
                    clauses: load_clauses().unwrap_or_default(),
                }
            }
        }
    }

    /// Finds a template by name.
    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.manifest.name == name)
    }

    /// Every template.
    pub fn all(&self) -> &[Template] {
        &self.templates
    }
}

/// Parses the clause library and checks it against the typst index and the optional clauses
/// the domain knows.
fn load_clauses() -> Result<Vec<ClauseSpec>, ManifestError> {
    let err = |message: String| ManifestError {
        name: "clauses".into(),
        message,
    };
    let file: ClauseFile = serde_saphyr::from_str(CLAUSES).map_err(|e| err(e.to_string()))?;
    let index = CLAUSE_FILES
        .iter()
        .find(|(name, _)| *name == "index.typ")
        .map(|(_, s)| *s)
        .unwrap_or_default();
    for (i, c) in file.clauses.iter().enumerate() {
        if file.clauses[..i].iter().any(|o| o.id == c.id) {
            return Err(err(format!("clause {} is listed twice", c.id)));
        }
        if !index.contains(&format!("  {}: ", c.id)) {
            return Err(err(format!("clause {} has no function in index.typ", c.id)));
        }
        if c.optional != OPTIONAL_CLAUSES.contains(&c.id.as_str()) {
            return Err(err(format!(
                "clause {}: optional in the manifest and in domain::terms::OPTIONAL_CLAUSES must agree",
                c.id
            )));
        }
    }
    for id in OPTIONAL_CLAUSES {
        if !file.clauses.iter().any(|c| c.id == *id) {
            return Err(err(format!("optional clause {id} is not in the library")));
        }
    }
    for (name, source) in CLAUSE_FILES {
        if source.contains("@preview") || source.contains("eval(") {
            return Err(err(format!("{name} uses a package or eval")));
        }
    }
    Ok(file.clauses)
}

impl Manifest {
    /// The file name for a document of `reference` at agreement `version` about `event`.
    pub fn file_name(&self, reference: &str, version: i32, event: Option<&str>) -> String {
        let event = event
            .map(|e| e.replace([':', '/'], "-"))
            .unwrap_or_default();
        let name = self
            .output
            .replace("{reference}", reference)
            .replace("{template}", &self.name)
            .replace("{version}", &version.to_string())
            .replace("{event}", &event);
        // Only safe characters reach a Content-Disposition header or a file system.
        let cleaned: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        cleaned.replace("--", "-").trim_matches('-').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_manifest_parses_and_names_its_folder() {
        let c = Catalog::builtin();
        assert!(c.is_ok(), "{c:?}");
        let c = c.unwrap_or_else(|_| Catalog {
            templates: vec![],
            clauses: vec![],
        });
        assert_eq!(c.all().len(), 6);
        for t in c.all() {
            assert!(
                t.source.contains("avtal.typ"),
                "{} imports the layout",
                t.manifest.name
            );
            assert!(!t.manifest.kinds.is_empty());
        }
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        let c = Catalog::builtin().unwrap_or_else(|_| Catalog {
            templates: vec![],
            clauses: vec![],
        });
        let m = c.get("extension_notice").map(|t| t.manifest.clone());
        let name = m.map(|m| m.file_name("AGR-2025-0001", 3, Some("option:1")));
        assert_eq!(
            name.as_deref(),
            Some("AGR-2025-0001-forlangningsbesked-option-1-v3.pdf")
        );
    }
}
