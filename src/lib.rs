//! avtal: a registry of Swedish procurement contracts with social clauses and IOP agreements.
//!
//! Data flows one way, in layers that import only downwards (`scripts/module_graph.sh` checks it;
//! ARCHITECTURE.md is the map). At the bottom: `domain` (pure types and rules, no I/O), `config`,
//! `db` (sea-orm entities and queries), `format` (the YAML registry file), `samples` (the sample
//! files as text), `text`, `ics` and `error`. Above them the infrastructure: `documents` (the
//! contract templates, view model and typst runner), `notify` (the deadline sweep, outbox and
//! mailer) and `links` (signed link tokens, report file types, calendar feeds). Then `registry`,
//! the only door to storage: one module of use cases per concern, each checking access and rules
//! once and writing with its audit entry in one transaction; the YAML import and the export are
//! its `transfer` and `export`. On top the edges: `web` (HTTP), `demo` and the CLI in `main.rs`.

pub mod config;
pub mod db;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod error;
pub mod format;
pub mod ics;
pub mod links;
pub mod notify;
pub mod registry;
pub mod samples;
pub mod text;
pub mod web;
