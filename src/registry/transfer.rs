//! The YAML (and JSON) registry file: all-or-nothing import and streamed export.
//!
//! One file holds `organisations`, `contacts` and `agreements` in the shapes of `crate::domain`;
//! `docs/format.md` documents it. Import checks every record of every file before it writes one.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::db::audit::{self, NewEntry};
use crate::db::store::{self, AgreementFilter, StoreError};
use crate::domain::agreement::Agreement;
use crate::domain::codes::AgreementKind;
use crate::domain::party::{
    Contact, Organisation, Violation, validate_contact, validate_organisation,
};
use crate::domain::rules::{self, FrameworkFacts, OrgFacts};
pub use crate::format::{ImportProblem, RegistryFile, parse_file};
use crate::registry::{Registry, RegistryError};

/// The actor of the audit entries an import writes.
pub const IMPORT_ACTOR: &str = "import";

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Records break rules; every problem is listed.
    #[error("import refused, nothing was written: {} problem(s)", .0.len())]
    Invalid(Vec<ImportProblem>),
    /// Storage failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] RegistryError),
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// New organisations.
    pub organisations_created: usize,
    /// Replaced organisations.
    pub organisations_updated: usize,
    /// New contacts.
    pub contacts_created: usize,
    /// Replaced contacts.
    pub contacts_updated: usize,
    /// New agreements.
    pub agreements_created: usize,
    /// Replaced agreements.
    pub agreements_updated: usize,
}

struct Origin {
    file: usize,
    index: usize,
}

fn problem(
    files: &[(String, RegistryFile)],
    kind: &str,
    o: &Origin,
    key: &str,
    v: Violation,
) -> ImportProblem {
    ImportProblem {
        file: files[o.file].0.clone(),
        record: format!("{kind}[{}] ({key})", o.index),
        field: v.field,
        value: v.value,
        rule: v.rule.to_owned(),
        message: v.message,
    }
}

/// Imports parsed files in one transaction: every record is checked first, and one problem anywhere
/// means nothing is written. Existing keys are replaced. `progress(done, total)` is called as it writes.
pub async fn import(
    registry: &Registry,
    files: Vec<(String, RegistryFile)>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportSummary, ImportError> {
    let mut problems = Vec::new();
    let mut orgs: Vec<(Origin, Organisation)> = Vec::new();
    let mut contacts: Vec<(Origin, Contact)> = Vec::new();
    let mut agreements: Vec<(Origin, Agreement)> = Vec::new();
    for (fi, (_, f)) in files.iter().enumerate() {
        orgs.extend(
            f.organisations
                .iter()
                .cloned()
                .enumerate()
                .map(|(index, o)| (Origin { file: fi, index }, o)),
        );
        contacts.extend(
            f.contacts
                .iter()
                .cloned()
                .enumerate()
                .map(|(index, c)| (Origin { file: fi, index }, c)),
        );
        agreements.extend(
            f.agreements
                .iter()
                .cloned()
                .enumerate()
                .map(|(index, a)| (Origin { file: fi, index }, a)),
        );
    }

    let mut seen = HashSet::new();
    for (o, org) in &orgs {
        let key = org.org_number.to_string();
        if !seen.insert(key.clone()) {
            problems.push(problem(
                &files,
                "organisations",
                o,
                &key,
                Violation::new("org_number", &key, "unique", "listed twice in this import"),
            ));
        }
        for v in validate_organisation(org) {
            problems.push(problem(&files, "organisations", o, &key, v));
        }
    }
    let batch_orgs: HashMap<_, _> = orgs
        .iter()
        .map(|(_, o)| (o.org_number.clone(), o))
        .collect();
    let mut seen = HashSet::new();
    for (o, c) in &contacts {
        let key = c.email.to_string();
        if !seen.insert(key.clone()) {
            problems.push(problem(
                &files,
                "contacts",
                o,
                &key,
                Violation::new("email", &key, "unique", "listed twice in this import"),
            ));
        }
        for v in validate_contact(c) {
            problems.push(problem(&files, "contacts", o, &key, v));
        }
        if !batch_orgs.contains_key(&c.organisation)
            && store::get_organisation(&registry.db, &c.organisation)
                .await
                .is_err()
        {
            problems.push(problem(
                &files,
                "contacts",
                o,
                &key,
                Violation::new(
                    "organisation",
                    &c.organisation,
                    "unknown_organisation",
                    "no organisation with this number is registered or imported",
                ),
            ));
        }
    }

    // Facts: the stored registry, overlaid with what this import brings.
    let mut facts = rules::Facts {
        thresholds: registry.settings.thresholds(),
        ..rules::Facts::default()
    };
    for (_, a) in agreements.iter_mut() {
        rules::normalise(a);
    }
    let refs: Vec<&Agreement> = agreements.iter().map(|(_, a)| a).collect();
    store::facts_for(&registry.db, &refs, &mut facts)
        .await
        .map_err(RegistryError::from)?;
    for o in batch_orgs.values() {
        facts.organisations.insert(
            o.org_number.clone(),
            OrgFacts {
                kind: o.kind,
                registered_idea_based_on: o.registered_idea_based_on,
            },
        );
    }
    facts
        .contacts
        .extend(contacts.iter().map(|(_, c)| c.email.clone()));
    for (_, a) in &agreements {
        facts.frameworks.insert(
            a.reference.clone(),
            FrameworkFacts {
                kind: a.kind,
                status: a.status,
                start: a.period.start,
                current_end: a.period.current_end,
            },
        );
    }
    let mut seen = HashSet::new();
    for (o, a) in &agreements {
        let key = a.reference.to_string();
        if !seen.insert(key.clone()) {
            problems.push(problem(
                &files,
                "agreements",
                o,
                &key,
                Violation::new("reference", &key, "unique", "listed twice in this import"),
            ));
        }
        for v in rules::validate(a, &facts) {
            problems.push(problem(&files, "agreements", o, &key, v));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }

    // Frameworks before their call-offs, so the call-off can point at the stored row.
    agreements.sort_by_key(|(_, a)| a.kind == AgreementKind::CallOff);
    let total = orgs.len() + contacts.len() + agreements.len();
    let summary = registry
        .in_write_tx(async |tx| {
            let mut s = ImportSummary::default();
            // One audit entry per record written, appended in batches at the end of the same
            // transaction (the chain lock is taken last, see `db::audit`).
            let mut log: Vec<NewEntry> = Vec::new();
            let mut done = 0usize;
            let mut tick = |done: &mut usize| {
                *done += 1;
                if (*done).is_multiple_of(1000) || *done == total {
                    progress(*done, total);
                }
            };
            for (_, org) in &orgs {
                match store::get_organisation(tx, &org.org_number).await {
                    Ok(cur) => {
                        if cur.data != *org {
                            let new =
                                store::update_organisation(tx, &org.org_number, cur.version, org)
                                    .await?;
                            let e = NewEntry::change(
                                IMPORT_ACTOR,
                                "organisation.update",
                                "organisation",
                                org.org_number.as_str(),
                                Some(&cur.data),
                                Some(&new.data),
                            )?;
                            log.push(e);
                            s.organisations_updated += 1;
                        }
                    }
                    Err(StoreError::NotFound { .. }) => {
                        let new = store::insert_organisation(tx, org).await?;
                        let e = NewEntry::change(
                            IMPORT_ACTOR,
                            "organisation.create",
                            "organisation",
                            org.org_number.as_str(),
                            None,
                            Some(&new.data),
                        )?;
                        log.push(e);
                        s.organisations_created += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
                tick(&mut done);
            }
            for (_, c) in &contacts {
                match store::get_contact(tx, &c.email).await {
                    Ok(cur) => {
                        if cur.data != *c {
                            let new = store::update_contact(tx, &c.email, cur.version, c).await?;
                            let e = NewEntry::change(
                                IMPORT_ACTOR,
                                "contact.update",
                                "contact",
                                c.email.as_str(),
                                Some(&cur.data),
                                Some(&new.data),
                            )?;
                            log.push(e);
                            s.contacts_updated += 1;
                        }
                    }
                    Err(StoreError::NotFound { .. }) => {
                        let new = store::insert_contact(tx, c).await?;
                        let e = NewEntry::change(
                            IMPORT_ACTOR,
                            "contact.create",
                            "contact",
                            c.email.as_str(),
                            None,
                            Some(&new.data),
                        )?;
                        log.push(e);
                        s.contacts_created += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
                tick(&mut done);
            }
            for (_, a) in &agreements {
                match store::get_agreement(tx, &a.reference).await {
                    Ok(cur) => {
                        if cur.data != *a {
                            let new =
                                store::update_agreement(tx, &a.reference, cur.version, a).await?;
                            let e = NewEntry::agreement(
                                IMPORT_ACTOR,
                                "update",
                                Some(&cur.data),
                                &new.data,
                            )?;
                            log.push(e);
                            s.agreements_updated += 1;
                        }
                    }
                    Err(StoreError::NotFound { .. }) => {
                        let new = store::insert_agreement(tx, a).await?;
                        log.push(NewEntry::agreement(
                            IMPORT_ACTOR,
                            "create",
                            None,
                            &new.data,
                        )?);
                        s.agreements_created += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
                tick(&mut done);
            }
            audit::record_all(tx, log).await?;
            Ok(s)
        })
        .await?;
    Ok(summary)
}

/// Export formats of the registry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The YAML import format.
    Yaml,
    /// The same structure as JSON.
    Json,
}

/// Writes the registry (agreements matching `filter`, with every organisation and contact) to `out`,
/// a page at a time so memory stays flat (see [`super::export`]). Returns the number of agreements written.
pub async fn export(
    db: &impl ConnectionTrait,
    format: ExportFormat,
    filter: &AgreementFilter,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let format = match format {
        ExportFormat::Yaml => super::export::Format::Yaml,
        ExportFormat::Json => super::export::Format::Json,
    };
    // The registry file needs no derived dates or OCDS settings.
    let opts = super::export::ExportOptions::from_settings(&crate::config::Settings::default(), "");
    super::export::export(
        db,
        format,
        filter,
        &opts,
        &mut super::export::Sink::Writer(out),
        &mut |_| {},
    )
    .await
}

pub use super::export::ExportError;
