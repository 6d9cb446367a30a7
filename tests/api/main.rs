//! One integration-test binary: every feature's tests, on SQLite and on PostgreSQL.

#![expect(clippy::panic, reason = "a test reports a failure by panicking")]

mod access;
mod actions;
mod audit;
mod backup;
mod browser;
mod deadlines;
mod documents;
mod export;
mod figures;
mod forms;
mod helpers;
mod history;
mod inputs;
mod instances;
mod limits;
mod links;
mod mail;
mod ocds;
mod openapi;
mod outbox;
mod outcomes;
mod pages;
mod parties;
mod renewals;
mod rules;
mod samples;
mod search;
mod tls;
mod transfer;
