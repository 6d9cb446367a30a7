//! The YAML (and JSON) registry file: all-or-nothing import and streamed export.
//!
//! One file holds `organisations`, `contacts` and `agreements` in the shapes of `crate::domain`;
//! `docs/format.md` documents it. Import checks every record of every file before it writes one.

use std::collections::HashSet;
use std::io::Write;

use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::db;
use crate::db::audit::{self, NewEntry};
use crate::db::store::{self, AgreementFilter, StoreError};
use crate::domain::agreement::Agreement;
use crate::domain::audit::Action;
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
        record: crate::format::record_label(kind, o.index, Some(key)),
        field: v.field,
        value: v.value,
        rule: v.rule.to_owned(),
        message: v.message,
    }
}

/// Imports parsed files in one transaction, as a loop over the same checks and writes as the
/// API's (see `Registry::vet_agreement`, `Registry::save_organisation_in` and
/// `Registry::save_contact_in`), so every rule has one home. Every record is checked, one
/// problem anywhere means nothing is written, and every problem is reported with its file,
/// record and field. Existing keys are replaced; unchanged records are left as they are.
/// `progress(done, total)` is called as it goes.
pub async fn import(
    registry: &Registry,
    files: Vec<(String, RegistryFile)>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportSummary, ImportError> {
    let importer = registry.with_actor(IMPORT_ACTOR);
    let mut orgs: Vec<(Origin, Organisation)> = Vec::new();
    let mut contacts: Vec<(Origin, Contact)> = Vec::new();
    let mut agreements: Vec<(Origin, Agreement)> = Vec::new();
    for (fi, (_, f)) in files.iter().enumerate() {
        let origin = |index| Origin { file: fi, index };
        orgs.extend(
            f.organisations
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, o)| (origin(i), o)),
        );
        contacts.extend(
            f.contacts
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, c)| (origin(i), c)),
        );
        agreements.extend(
            f.agreements
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, a)| (origin(i), a)),
        );
    }

    // Facts: the stored registry, overlaid with what this import brings, read once for all
    // agreements instead of once per agreement.
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
    let batch_orgs: HashSet<_> = orgs.iter().map(|(_, o)| o.org_number.clone()).collect();
    for (_, o) in &orgs {
        facts
            .organisations
            .insert(o.org_number.clone(), OrgFacts::of(o));
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
    // Frameworks before their call-offs, so the call-off can point at the stored row.
    agreements.sort_by_key(|(_, a)| a.kind == AgreementKind::CallOff);

    let total = orgs.len() + contacts.len() + agreements.len();
    let mut done = 0usize;
    let mut tick = |done: &mut usize| {
        *done += 1;
        if (*done).is_multiple_of(1000) || *done == total {
            progress(*done, total);
        }
    };
    let mut problems = Vec::new();
    let mut s = ImportSummary::default();
    // One audit entry per record written, appended in batches at the end of the same
    // transaction (the chain lock is taken last, see `db::audit`).
    let mut log: Vec<NewEntry> = Vec::new();
    let tx = db::begin_write(&registry.db)
        .await
        .map_err(RegistryError::from)?;
    let refuse = |problems: &mut Vec<ImportProblem>, kind, o: &Origin, key: &str, vs| {
        for v in vs {
            problems.push(problem(&files, kind, o, key, v));
        }
    };

    // Once a problem is found nothing will be committed: the rest is checked, not written.
    let mut seen = HashSet::new();
    for (o, org) in &orgs {
        let key = org.org_number.to_string();
        if !seen.insert(key.clone()) {
            let v = Violation::new("org_number", &key, "unique", "listed twice in this import");
            refuse(&mut problems, "organisations", o, &key, vec![v]);
            continue;
        }
        let current = found(store::get_organisation(&tx, &org.org_number).await)?;
        if !problems.is_empty() || current.as_ref().is_some_and(|c| c.data == *org) {
            refuse(
                &mut problems,
                "organisations",
                o,
                &key,
                validate_organisation(org),
            );
        } else {
            let version = current.as_ref().map_or(0, |c| c.version);
            match importer
                .save_organisation_in(&tx, current.as_ref(), version, org)
                .await
            {
                Ok((_, entry)) => {
                    log.push(entry);
                    match current {
                        Some(_) => s.organisations_updated += 1,
                        None => s.organisations_created += 1,
                    }
                }
                Err(RegistryError::Invalid(vs)) => {
                    refuse(&mut problems, "organisations", o, &key, vs)
                }
                Err(e) => return Err(e.into()),
            }
        }
        tick(&mut done);
    }

    let mut seen = HashSet::new();
    for (o, c) in &contacts {
        let key = c.email.to_string();
        if !seen.insert(key.clone()) {
            let v = Violation::new("email", &key, "unique", "listed twice in this import");
            refuse(&mut problems, "contacts", o, &key, vec![v]);
            continue;
        }
        if !batch_orgs.contains(&c.organisation)
            && found(store::get_organisation(&tx, &c.organisation).await)?.is_none()
        {
            let v = Violation::new(
                "organisation",
                &c.organisation,
                "unknown_organisation",
                "no organisation with this number is registered or imported",
            );
            let mut vs = validate_contact(c);
            vs.push(v);
            refuse(&mut problems, "contacts", o, &key, vs);
            tick(&mut done);
            continue;
        }
        let current = found(store::get_contact(&tx, &c.email).await)?;
        if !problems.is_empty() || current.as_ref().is_some_and(|cur| cur.data == *c) {
            refuse(&mut problems, "contacts", o, &key, validate_contact(c));
        } else {
            let version = current.as_ref().map_or(0, |c| c.version);
            match importer
                .save_contact_in(&tx, current.as_ref(), version, c)
                .await
            {
                Ok((_, entry)) => {
                    log.push(entry);
                    match current {
                        Some(_) => s.contacts_updated += 1,
                        None => s.contacts_created += 1,
                    }
                }
                Err(RegistryError::Invalid(vs)) => refuse(&mut problems, "contacts", o, &key, vs),
                Err(e) => return Err(e.into()),
            }
        }
        tick(&mut done);
    }

    let mut seen = HashSet::new();
    for (o, a) in &agreements {
        let key = a.reference.to_string();
        if !seen.insert(key.clone()) {
            let v = Violation::new("reference", &key, "unique", "listed twice in this import");
            refuse(&mut problems, "agreements", o, &key, vec![v]);
            continue;
        }
        let current = found(store::get_agreement(&tx, &a.reference).await)?;
        match importer.vet_agreement(current.as_ref().map(|c| &c.data), a.clone(), &facts) {
            Ok(a) => {
                // A file that says what is stored, renewals that took effect included, changes
                // nothing.
                let mut renewed = a.clone();
                crate::domain::clock::apply_renewals(&mut renewed, importer.settings.today());
                let unchanged = current.as_ref().is_some_and(|c| c.data == renewed);
                if problems.is_empty() && !unchanged {
                    let action = if current.is_some() {
                        Action::AgreementUpdate
                    } else {
                        Action::AgreementCreate
                    };
                    let (_, entries) = importer
                        .write_agreement_in(&tx, current.as_ref(), &a, action)
                        .await?;
                    log.extend(entries);
                    match current {
                        Some(_) => s.agreements_updated += 1,
                        None => s.agreements_created += 1,
                    }
                }
            }
            Err(RegistryError::Invalid(vs)) => refuse(&mut problems, "agreements", o, &key, vs),
            Err(e) => return Err(e.into()),
        }
        tick(&mut done);
    }

    if !problems.is_empty() {
        // Dropping the transaction rolls back what was written before the first problem.
        return Err(ImportError::Invalid(problems));
    }
    audit::record_all(&tx, log)
        .await
        .map_err(RegistryError::from)?;
    tx.commit().await.map_err(RegistryError::from)?;
    Ok(s)
}

/// A stored record, `None` when there is none, or the storage failure.
fn found<T>(r: Result<T, StoreError>) -> Result<Option<T>, RegistryError> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
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
