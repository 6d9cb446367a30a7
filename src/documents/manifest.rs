//! Template manifests: which templates exist, what they apply to, which fields they need, and
//! how their files are named. The manifests and typst sources live in `contracts/<name>/` and are
//! compiled into the binary, so a deployed service carries exactly the templates it was tested with.

use serde::{Deserialize, Serialize};

use crate::domain::codes::AgreementKind;

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
}

impl Catalog {
    /// Parses the built-in manifests and checks each against its folder and its source.
    pub fn builtin() -> Result<Self, ManifestError> {
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
            templates.push(Template { manifest, source });
        }
        Ok(Self { templates })
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
                Self { templates }
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
        let c = c.unwrap_or_else(|_| Catalog { templates: vec![] });
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
        let c = Catalog::builtin().unwrap_or_else(|_| Catalog { templates: vec![] });
        let m = c.get("extension_notice").map(|t| t.manifest.clone());
        let name = m.map(|m| m.file_name("AGR-2025-0001", 3, Some("option:1")));
        assert_eq!(
            name.as_deref(),
            Some("AGR-2025-0001-forlangningsbesked-option-1-v3.pdf")
        );
    }
}
