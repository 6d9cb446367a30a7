//! `SeaORM` entities, in the shape sea-orm-codegen 2.0 writes for the schema in `migrations/`.
//! Regenerate with `sea-orm-cli generate entity` after a migration; do not edit by hand.

pub mod agreement;
pub mod agreement_contact;
pub mod agreement_deadline;
pub mod agreement_party;
pub mod agreement_plan;
pub mod api_token;
pub mod app_user;
pub mod audit_log;
pub mod calendar_feed;
pub mod contact;
pub mod document;
pub mod organisation;
pub mod outbox;
pub mod outbox_reminder;
pub mod outcome_value;
pub mod report_file;
pub mod signature_request;
pub mod signed_copy;
pub mod user_session;
