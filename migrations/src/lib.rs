//! Database migrations, the same on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_registry;
mod m20261123_000002_documents;
mod m20261123_000003_outbox;
mod m20261123_000004_audit;
mod m20261129_000005_links;
mod m20261129_000006_users;
mod m20261129_000008_sweep;
mod m20261205_000010_outbox_claims;
mod m20261205_000030_renewals;
mod m20261205_000040_login_failures;
mod m20261205_000060_signed_copies;
mod m20261206_000070_signature_requests;
mod m20261206_000080_outcomes;
mod m20261206_000090_search;
mod m20261206_000100_credentials_version;
mod m20261206_000120_upcoming_deadlines;
mod m20261206_000130_outcome_totals;
mod m20261206_000140_sweep_days;
mod m20261206_000150_plan_stamps;
mod m20261206_000160_outbox_storage;
mod m20261207_000170_party_deadlines;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_registry::Migration),
            Box::new(m20261123_000002_documents::Migration),
            Box::new(m20261123_000003_outbox::Migration),
            Box::new(m20261123_000004_audit::Migration),
            Box::new(m20261129_000005_links::Migration),
            Box::new(m20261129_000006_users::Migration),
            Box::new(m20261129_000008_sweep::Migration),
            Box::new(m20261205_000010_outbox_claims::Migration),
            Box::new(m20261205_000030_renewals::Migration),
            Box::new(m20261205_000040_login_failures::Migration),
            Box::new(m20261205_000060_signed_copies::Migration),
            Box::new(m20261206_000070_signature_requests::Migration),
            Box::new(m20261206_000080_outcomes::Migration),
            Box::new(m20261206_000090_search::Migration),
            Box::new(m20261206_000100_credentials_version::Migration),
            Box::new(m20261206_000120_upcoming_deadlines::Migration),
            Box::new(m20261206_000130_outcome_totals::Migration),
            Box::new(m20261206_000140_sweep_days::Migration),
            Box::new(m20261206_000150_plan_stamps::Migration),
            Box::new(m20261206_000160_outbox_storage::Migration),
            Box::new(m20261207_000170_party_deadlines::Migration),
        ]
    }
}
