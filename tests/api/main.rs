//! One integration-test binary: every feature's tests, on SQLite and on PostgreSQL.

#![expect(clippy::panic, reason = "a test reports a failure by panicking")]

mod actions;
mod audit;
mod deadlines;
mod documents;
mod helpers;
mod links;
mod mail;
mod rules;
mod samples;
mod transfer;
