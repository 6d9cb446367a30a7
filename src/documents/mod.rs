//! Contract documents: the templates of `contracts/`, the JSON view model built from an agreement,
//! and the typst CLI that turns both into a PDF/A. Storing a document with its SHA-256 is the use
//! case [`crate::registry::documents`].
//!
//! User text never becomes typst code: the view model is written as `data.json` and the templates
//! place its strings as content, so no escaping exists that could be forgotten.

pub mod manifest;
pub mod typst;
pub mod view;

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::store::{StoreError, Stored};
use crate::domain::agreement::Agreement;
use crate::domain::codes::{OptionState, PartyRole};
use crate::domain::party::Violation;
use manifest::{Catalog, EventKind, Layout, ManifestError, RequiredField, Template};
use typst::{Job, Typst};
use view::{ClauseEntryView, Directory, EventView, LetterView, TemplateView, View};

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No template has this name.
    #[error("no template {0}")]
    UnknownTemplate(String),
    /// The template does not apply to this kind of agreement.
    #[error(
        "template {template} does not apply to {kind} agreements (it applies to: {applies_to})"
    )]
    NotApplicable {
        /// Template name.
        template: String,
        /// The agreement's kind.
        kind: String,
        /// The kinds it applies to.
        applies_to: String,
    },
    /// The agreement lacks fields the template needs.
    #[error("the agreement lacks field(s) the template needs: {}", list_missing(.0))]
    MissingFields(Vec<MissingField>),
    /// The typst CLI is not installed where configured.
    #[error(
        "the typst CLI is not installed (looked for \"{program}\"); install typst 0.15.1 with `bash scripts/setup.sh` or `cargo install typst-cli --locked --version 0.15.1`, then set AVTAL_TYPST (or `typst` in avtal.toml) to its path"
    )]
    TypstMissing {
        /// The configured program.
        program: String,
    },
    /// typst took longer than the limit.
    #[error("typst took longer than {0:?}")]
    Timeout(Duration),
    /// typst failed.
    #[error("typst failed with exit code {exit_code:?}: {stderr}")]
    Compile {
        /// typst's diagnostics.
        stderr: String,
        /// Its exit code.
        exit_code: Option<i32>,
    },
    /// A font is missing or was substituted.
    #[error("font problem (fonts come only from the configured font_dir): {0}")]
    Font(String),
    /// The text contains characters the document fonts cannot show (e.g. some emoji).
    #[error("the agreement contains characters the document fonts cannot show: {0}")]
    UnsupportedText(String),
    /// The manifests are broken.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Reading or writing the job files failed.
    #[error("render I/O: {0}")]
    Io(std::io::Error),
    /// The acting user may not make documents of this agreement; nothing was written.
    #[error("{0}")]
    Forbidden(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed unexpectedly.
    #[error(transparent)]
    Unexpected(#[from] crate::error::Unexpected),
}

impl From<sea_orm::DbErr> for RenderError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// A field the agreement lacks, named in Swedish and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingField {
    /// Path of the field.
    pub field: String,
    /// Name in Swedish.
    pub sv: String,
    /// Name in English.
    pub en: String,
}

fn list_missing(m: &[MissingField]) -> String {
    m.iter()
        .map(|f| format!("{} ({} / {})", f.field, f.sv, f.en))
        .collect::<Vec<_>>()
        .join(", ")
}

impl MissingField {
    fn of(r: &RequiredField) -> Self {
        Self {
            field: r.field.clone(),
            sv: r.sv.clone(),
            en: r.en.clone(),
        }
    }

    /// The missing field as a rule violation for the API's 422 body.
    pub fn to_violation(&self) -> Violation {
        Violation::new(
            &self.field,
            "",
            "required_for_document",
            format!(
                "Saknas för dokumentet: {}. Missing for the document: {}.",
                self.sv, self.en
            ),
        )
    }
}

/// Which document to make, and about which event.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// Template name.
    pub template: String,
    /// Option number, for `extension_notice` (default: the latest exercised option).
    #[serde(default)]
    pub option_seq: Option<u32>,
    /// Amendment index from 0, for `amendment` (default: the latest amendment).
    #[serde(default)]
    pub amendment_index: Option<usize>,
    /// Report, for `report_request`: its kind code, optionally `kind@YYYY-MM-DD` for the period
    /// ending that day (default: the first occurrence due on or after today, else the last one).
    #[serde(default)]
    pub report: Option<String>,
}

/// Renders templates with typst.
#[derive(Debug, Clone)]
pub struct Renderer {
    catalog: Catalog,
    typst: Typst,
}

/// A rendered PDF with what it was made from.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PDF bytes.
    pub pdf: Vec<u8>,
    /// SHA-256 of the PDF, lower-case hex.
    pub sha256: String,
    /// The event, e.g. `option:1`.
    pub event: Option<String>,
    /// File name per the manifest.
    pub file_name: String,
    /// Template name.
    pub template: String,
    /// Template version.
    pub template_version: String,
    /// The clauses it was made with, as `id@version`, in order.
    pub clauses: Vec<String>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where `scripts/setup.sh` installs the pinned typst CLI.
const SETUP_TYPST: &str = "/opt/avtal-tools/typst-0.15.1/bin/typst";

/// The typst CLI when none is configured: the one `scripts/setup.sh` installed, else `typst` on `PATH`.
fn default_typst() -> PathBuf {
    let installed = PathBuf::from(SETUP_TYPST);
    if installed.is_file() {
        installed
    } else {
        PathBuf::from("typst")
    }
}

impl Renderer {
    /// A renderer configured by `settings`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            catalog: Catalog::builtin_or_log(),
            typst: Typst::new(
                settings.typst.clone().unwrap_or_else(default_typst),
                settings.font_dir.clone(),
                Duration::from_secs(settings.render_timeout_secs.max(1)),
                settings.render_concurrency,
            ),
        }
    }

    /// The templates.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The typst runner.
    pub fn typst(&self) -> &Typst {
        &self.typst
    }

    /// Finds a template and checks it applies to `a`.
    pub fn template_for(&self, name: &str, a: &Agreement) -> Result<&Template, RenderError> {
        let t = self
            .catalog
            .get(name)
            .ok_or_else(|| RenderError::UnknownTemplate(name.to_owned()))?;
        if !t.manifest.kinds.contains(&a.kind) {
            return Err(RenderError::NotApplicable {
                template: name.to_owned(),
                kind: a.kind.code().to_owned(),
                applies_to: t
                    .manifest
                    .kinds
                    .iter()
                    .map(|k| k.code())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(t)
    }

    /// Builds the view model of a document: checks the required fields and picks the event.
    pub fn view(
        &self,
        req: &DocumentRequest,
        a: &Agreement,
        version: i32,
        dir: &Directory,
        today: NaiveDate,
    ) -> Result<(View, Option<String>), RenderError> {
        // A document shows the agreement as it stands on its day (the one date source).
        let (now, _) = crate::domain::clock::as_on(a, today);
        let a = now.as_ref();
        let t = self.template_for(&req.template, a)?;
        let missing = missing_fields_in(a, dir, &self.catalog.required_for(t, a));
        if !missing.is_empty() {
            return Err(RenderError::MissingFields(missing));
        }
        let (event, key) = select_event(t.manifest.event, req, a, dir, today)?;
        let info = TemplateView {
            name: t.manifest.name.clone(),
            version: t.manifest.version.clone(),
            title: t.manifest.title.clone(),
        };
        let mut view = view::build(a, version, info, dir, event, today);
        view.clauses = self.clause_entries(t, a);
        if t.manifest.letter {
            view.letter = letter(a, dir, view.event.as_ref());
        }
        if a.kind == crate::domain::codes::AgreementKind::Iop
            && let Some(iop) = self.catalog.get("iop")
        {
            view.iop_change_clause = self
                .clause_entries(iop, a)
                .iter()
                .find(|c| c.id == "changes")
                .and_then(|c| c.number);
        }
        Ok((view, key))
    }

    /// The clauses of `t` for `a`, numbered: sections from 1 (none in a letter), annexes from 1.
    fn clause_entries(&self, t: &Template, a: &Agreement) -> Vec<ClauseEntryView> {
        let (mut section, mut annex) = (0, 0);
        self.catalog
            .clauses_for(t, a)
            .into_iter()
            .map(|c| {
                let (number, annex_no, layout) = match c.layout {
                    Layout::Section if t.manifest.letter => (None, None, "section"),
                    Layout::Section => {
                        section += 1;
                        (Some(section), None, "section")
                    }
                    Layout::Annex => {
                        annex += 1;
                        (None, Some(annex), "annex")
                    }
                    Layout::Plain => (None, None, "plain"),
                };
                ClauseEntryView {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    version: c.version.clone(),
                    layout: layout.to_owned(),
                    number,
                    annex: annex_no,
                }
            })
            .collect()
    }

    /// Renders a view with its template to PDF bytes.
    pub async fn render_view(
        &self,
        view: &View,
        creation_timestamp: i64,
    ) -> Result<Vec<u8>, RenderError> {
        let t = self
            .catalog
            .get(&view.template.name)
            .ok_or_else(|| RenderError::UnknownTemplate(view.template.name.clone()))?;
        let data = serde_json::to_vec_pretty(view)
            .map_err(|e| crate::error::Unexpected::new("cannot serialise a document view", e))?;
        let mut files = vec![
            ("avtal.typ", manifest::LAYOUT.as_bytes()),
            ("template.typ", t.source.as_bytes()),
            ("data.json", data.as_slice()),
        ];
        files.extend(
            manifest::CLAUSE_FILES
                .iter()
                .map(|(name, source)| (*name, source.as_bytes())),
        );
        let job = Job {
            files,
            main: "template.typ",
            creation_timestamp,
        };
        self.typst.compile(&job).await
    }

    /// Renders one document of a stored agreement.
    pub async fn render(
        &self,
        req: &DocumentRequest,
        stored: &Stored<Agreement>,
        dir: &Directory,
        today: NaiveDate,
    ) -> Result<Rendered, RenderError> {
        let (view, event) = self.view(req, &stored.data, stored.version, dir, today)?;
        let pdf = self
            .render_view(&view, stored.updated_at.timestamp())
            .await?;
        let t = self.template_for(&req.template, &stored.data)?;
        Ok(Rendered {
            sha256: sha256_hex(&pdf),
            file_name: t.manifest.file_name(
                stored.data.reference.as_str(),
                stored.version,
                event.as_deref(),
            ),
            event,
            template: t.manifest.name.clone(),
            template_version: t.manifest.version.clone(),
            clauses: view
                .clauses
                .iter()
                .map(|c| format!("{}@{}", c.id, c.version))
                .collect(),
            pdf,
        })
    }
}

fn is_empty_json(v: Option<&serde_json::Value>) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.trim().is_empty(),
        Some(serde_json::Value::Array(a)) => a.is_empty(),
        Some(serde_json::Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// Every required field `a` lacks, of those on the agreement itself (`address:ROLE` needs the
/// directory: see [`missing_fields_in`]).
pub fn missing_fields(a: &Agreement, required: &[RequiredField]) -> Vec<MissingField> {
    missing(a, None, required)
}

/// Every required field `a` lacks, the addresses of its parties in `dir` included.
pub fn missing_fields_in(
    a: &Agreement,
    dir: &Directory,
    required: &[RequiredField],
) -> Vec<MissingField> {
    missing(a, Some(dir), required)
}

fn missing(
    a: &Agreement,
    dir: Option<&Directory>,
    required: &[RequiredField],
) -> Vec<MissingField> {
    let json = serde_json::to_value(a).unwrap_or_default();
    required
        .iter()
        .filter(|r| {
            if let Some(role) = r.field.strip_prefix("party:") {
                return PartyRole::parse(role)
                    .map(|role| a.parties_in(role).next().is_none())
                    .unwrap_or(true);
            }
            if let Some(role) = r.field.strip_prefix("address:") {
                return match (dir, PartyRole::parse(role)) {
                    (None, _) => false,
                    (Some(_), Err(_)) => true,
                    (Some(dir), Ok(role)) => a.parties_in(role).any(|o| !dir.has_address(o)),
                };
            }
            let pointer = format!("/{}", r.field.replace('.', "/"));
            is_empty_json(json.pointer(&pointer))
        })
        .map(MissingField::of)
        .collect()
}

/// Sender and addressees of a letter about `event`: the buyer writes about options and reports,
/// the party that gave notice writes the notice.
fn letter(a: &Agreement, dir: &Directory, event: Option<&EventView>) -> Option<LetterView> {
    let unit_of = |org: &crate::domain::org_number::OrgNumber| {
        a.parties
            .iter()
            .find(|p| p.org == *org)
            .and_then(|p| p.unit.as_deref())
    };
    let role_of = |org: &crate::domain::org_number::OrgNumber| {
        a.parties
            .iter()
            .find(|p| p.org == *org)
            .map(|p| p.role.code())
            .unwrap_or("supplier")
    };
    let buyer = a.parties_in(PartyRole::Buyer).next()?.clone();
    let counterparts = || -> Vec<crate::domain::org_number::OrgNumber> {
        a.parties
            .iter()
            .filter(|p| matches!(p.role, PartyRole::Supplier | PartyRole::IopPartner))
            .map(|p| p.org.clone())
            .collect()
    };
    let (sender, addressees) = match event? {
        EventView::Option(_) => (buyer, counterparts()),
        EventView::Report { .. } => {
            let to = a
                .reporting
                .iter()
                .map(|r| r.responsible.clone())
                .filter(|o| *o != buyer)
                .take(1)
                .collect::<Vec<_>>();
            (buyer, if to.is_empty() { counterparts() } else { to })
        }
        EventView::Notice(_) => {
            let by = a.termination.as_ref()?.notice.as_ref()?.by.clone();
            let to = a
                .parties
                .iter()
                .filter(|p| p.org != by && p.role != PartyRole::Funder)
                .map(|p| p.org.clone())
                .collect();
            (by, to)
        }
        EventView::Amendment(_) => return None,
    };
    let person = |e: &crate::domain::party::EmailAddress| {
        dir.contacts
            .get(e)
            .filter(|c| c.organisation == sender)
            .cloned()
    };
    let c = &a.contacts;
    let contact = [&c.owner, &c.partner, &c.reporting]
        .into_iter()
        .flatten()
        .find_map(|e| person(e).map(|p| (e.clone(), p)));
    let signatory = c
        .signatories
        .iter()
        .find_map(person)
        .map(|p| p.name)
        .or_else(|| contact.as_ref().map(|(_, p)| p.name.clone()));
    Some(LetterView {
        sender: dir.party(&sender, role_of(&sender), unit_of(&sender)),
        addressees: addressees
            .iter()
            .map(|o| dir.party(o, role_of(o), unit_of(o)))
            .collect(),
        signatory,
        contact: contact.map(|(e, p)| view::PersonView {
            name: Some(p.name),
            email: e.to_string(),
            organisation: Some(dir.party(&sender, "", None).name),
            org_number: Some(sender.to_string()),
        }),
    })
}

fn none_found(field: &str, sv: &str, en: &str) -> RenderError {
    RenderError::MissingFields(vec![MissingField {
        field: field.to_owned(),
        sv: sv.to_owned(),
        en: en.to_owned(),
    }])
}

/// Picks the event a per-event template is about, and its key for the file name and the record.
fn select_event(
    kind: EventKind,
    req: &DocumentRequest,
    a: &Agreement,
    dir: &Directory,
    today: NaiveDate,
) -> Result<(Option<EventView>, Option<String>), RenderError> {
    match kind {
        EventKind::None => Ok((None, None)),
        EventKind::Option => {
            let seq = match req.option_seq {
                Some(s) => s,
                None => a
                    .options_in_order()
                    .into_iter()
                    .rev()
                    .find(|o| o.state == OptionState::Exercised)
                    .map(|o| o.seq)
                    .ok_or_else(|| {
                        none_found(
                            "options",
                            "Utnyttjad förlängningsoption",
                            "an exercised extension option",
                        )
                    })?,
            };
            let o = a
                .options
                .iter()
                .find(|o| o.seq == seq && o.state == OptionState::Exercised)
                .and_then(|o| view::option_view(a, o.seq))
                .ok_or_else(|| {
                    none_found(
                        &format!("options[seq={seq}]"),
                        &format!("Utnyttjad förlängningsoption nr {seq}"),
                        &format!("exercised extension option {seq}"),
                    )
                })?;
            Ok((Some(EventView::Option(o)), Some(format!("option:{seq}"))))
        }
        EventKind::Notice => {
            let n = view::notice_view(a, dir).ok_or_else(|| {
                none_found(
                    "termination.notice",
                    "Registrerad uppsägning",
                    "a recorded notice",
                )
            })?;
            Ok((Some(EventView::Notice(n)), Some("notice".into())))
        }
        EventKind::Amendment => {
            let index = req
                .amendment_index
                .unwrap_or(a.amendments.len().saturating_sub(1));
            let m = view::amendment_view(a, index).ok_or_else(|| {
                none_found(
                    &format!("amendments[{index}]"),
                    &format!("Ändring nr {}", index + 1),
                    &format!("amendment number {}", index + 1),
                )
            })?;
            Ok((
                Some(EventView::Amendment(m)),
                Some(format!("amendment:{index}")),
            ))
        }
        EventKind::Report => {
            let (kind_sel, period_sel) = match req.report.as_deref() {
                None => (None, None),
                Some(s) => match s.split_once('@') {
                    Some((k, d)) => (
                        Some(k),
                        Some(crate::domain::dates::parse_iso_date(d).map_err(|_| {
                            none_found(
                                "report",
                                &format!("Rapportperiod {d}"),
                                &format!("report period {d} (YYYY-MM-DD)"),
                            )
                        })?),
                    ),
                    None => (Some(s), None),
                },
            };
            let mut candidates = Vec::new();
            for r in &a.reporting {
                if kind_sel.is_some_and(|k| k != r.kind) {
                    continue;
                }
                for o in view::occurrences(a, r) {
                    if period_sel.is_none_or(|p| p == o.period_end) {
                        candidates.push((r, o));
                    }
                }
            }
            candidates.sort_by_key(|(_, o)| o.due);
            let chosen = candidates
                .iter()
                .find(|(_, o)| o.due >= today)
                .or(candidates.last())
                .ok_or_else(|| {
                    let what = req.report.clone().unwrap_or_default();
                    none_found(
                        "reporting",
                        &format!("Rapporteringsskyldighet {what}"),
                        &format!("reporting obligation {what}"),
                    )
                })?;
            let (r, o) = chosen;
            let key = format!("report:{}:{}", r.kind, o.period_end);
            let states = view::occurrence_states(a, today);
            Ok((
                Some(EventView::Report {
                    report: view::report_view(a, r, dir, &states),
                    occurrence: view::occurrence_view(o, &r.kind, &states),
                }),
                Some(key),
            ))
        }
    }
}
