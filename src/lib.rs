//! avtal: a registry of Swedish procurement contracts with social clauses and IOP agreements.
//!
//! Data flows one way: the edges (`web` for HTTP, `transfer` for YAML files, `main.rs` for the CLI)
//! parse input into `domain` types; `registry` applies the pure rules of `domain` and stores the
//! result through `db` in one transaction. `domain` does no I/O. `accounts` holds users, sessions
//! and API tokens. `notify` runs the pure deadline engine over the agreements whose next reminder
//! day has come, queues the reminders in an outbox and sends them as e-mail; `links` signs the
//! links in those e-mails that let an enterprise without an account acknowledge or hand in one
//! report, and serves calendar feeds. `documents` turns an agreement into a JSON view model and a
//! PDF/A through the typst CLI, and stores the PDF with its hash. `export` streams the filtered
//! agreements as YAML, JSON, CSV or OCDS (the pure OCDS mapping is `domain::ocds`). `text` and
//! `ics` are pure text helpers (Swedish dates, one-line text, iCalendar files); `error` holds the
//! one error for unexpected failures that are neither the user's nor the database's.

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
