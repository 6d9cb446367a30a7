//! One integration-test binary: every feature's tests, on SQLite and on PostgreSQL.

#![expect(clippy::panic, reason = "a test reports a failure by panicking")]

mod actions;
mod audit;
mod deadlines;
mod documents;
mod export;
mod helpers;
mod mail;
mod ocds;
mod openapi;
mod rules;
mod samples;
mod transfer;
