//! The free-text search index of agreements: one row per agreement in `agreement_search` with
//! its searchable text (reference, title, diarienummer; the parties' names and organisation
//! numbers; the contacts' names), written by the application in the same transaction as the
//! agreement. SQLite indexes it with two external-content FTS5 tables kept in step by triggers:
//! `agreement_words` (words, `unicode61 remove_diacritics 0`, so å, ä and ö stay letters of their
//! own) and `agreement_trigrams` (the `trigram` tokenizer, for parts of words and numbers).
//! PostgreSQL keeps a generated `tsvector` (`avtal_swedish`: the `swedish` configuration
//! without stop words, with weights) under a GIN index and the whole text under a `pg_trgm` GIN index.
//!
//! Rows of agreements stored before this migration are filled in by the application after the
//! migrations have run (`db::search::backfill`): the text is built from the agreement document
//! and the party directory in Rust, the same way every write builds it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE agreement_search (
        agreement_id INTEGER PRIMARY KEY REFERENCES agreement (id) ON DELETE CASCADE,
        head TEXT NOT NULL,
        parties TEXT NOT NULL,
        contacts TEXT NOT NULL
    )",
    "CREATE VIRTUAL TABLE agreement_words USING fts5(
        head, parties, contacts,
        content = 'agreement_search', content_rowid = 'agreement_id',
        tokenize = 'unicode61 remove_diacritics 0'
    )",
    "CREATE VIRTUAL TABLE agreement_trigrams USING fts5(
        head, parties, contacts,
        content = 'agreement_search', content_rowid = 'agreement_id',
        tokenize = 'trigram'
    )",
    "CREATE TRIGGER agreement_search_insert AFTER INSERT ON agreement_search BEGIN
        INSERT INTO agreement_words (rowid, head, parties, contacts)
            VALUES (new.agreement_id, new.head, new.parties, new.contacts);
        INSERT INTO agreement_trigrams (rowid, head, parties, contacts)
            VALUES (new.agreement_id, new.head, new.parties, new.contacts);
    END",
    "CREATE TRIGGER agreement_search_delete AFTER DELETE ON agreement_search BEGIN
        INSERT INTO agreement_words (agreement_words, rowid, head, parties, contacts)
            VALUES ('delete', old.agreement_id, old.head, old.parties, old.contacts);
        INSERT INTO agreement_trigrams (agreement_trigrams, rowid, head, parties, contacts)
            VALUES ('delete', old.agreement_id, old.head, old.parties, old.contacts);
    END",
    "CREATE TRIGGER agreement_search_update AFTER UPDATE ON agreement_search BEGIN
        INSERT INTO agreement_words (agreement_words, rowid, head, parties, contacts)
            VALUES ('delete', old.agreement_id, old.head, old.parties, old.contacts);
        INSERT INTO agreement_trigrams (agreement_trigrams, rowid, head, parties, contacts)
            VALUES ('delete', old.agreement_id, old.head, old.parties, old.contacts);
        INSERT INTO agreement_words (rowid, head, parties, contacts)
            VALUES (new.agreement_id, new.head, new.parties, new.contacts);
        INSERT INTO agreement_trigrams (rowid, head, parties, contacts)
            VALUES (new.agreement_id, new.head, new.parties, new.contacts);
    END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS agreement_search_update",
    "DROP TRIGGER IF EXISTS agreement_search_delete",
    "DROP TRIGGER IF EXISTS agreement_search_insert",
    "DROP TABLE IF EXISTS agreement_trigrams",
    "DROP TABLE IF EXISTS agreement_words",
    "DROP TABLE IF EXISTS agreement_search",
];

const POSTGRES_UP: &[&str] = &[
    // pg_trgm is a trusted extension: the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    // The `swedish` configuration without its stop words: a search typed word by word must not
    // lose `han` (the start of Haninge) or `i` because they are also Swedish stop words.
    "CREATE TEXT SEARCH DICTIONARY avtal_swedish_stem (TEMPLATE = snowball, LANGUAGE = swedish)",
    "CREATE TEXT SEARCH CONFIGURATION avtal_swedish (COPY = swedish)",
    "ALTER TEXT SEARCH CONFIGURATION avtal_swedish
        ALTER MAPPING REPLACE swedish_stem WITH avtal_swedish_stem",
    "CREATE TABLE agreement_search (
        agreement_id BIGINT PRIMARY KEY REFERENCES agreement (id) ON DELETE CASCADE,
        head TEXT NOT NULL,
        parties TEXT NOT NULL,
        contacts TEXT NOT NULL,
        words TSVECTOR GENERATED ALWAYS AS (
            setweight(to_tsvector('avtal_swedish'::regconfig, head), 'A')
            || setweight(to_tsvector('avtal_swedish'::regconfig, parties), 'B')
            || setweight(to_tsvector('avtal_swedish'::regconfig, contacts), 'C')
        ) STORED,
        body TEXT GENERATED ALWAYS AS (head || ' ' || parties || ' ' || contacts) STORED
    )",
    "CREATE INDEX agreement_search_words ON agreement_search USING gin (words)",
    "CREATE INDEX agreement_search_body ON agreement_search USING gin (body gin_trgm_ops)",
];

// The extension stays: other databases' objects or a later migration may use it.
const POSTGRES_DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS agreement_search",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS avtal_swedish",
    "DROP TEXT SEARCH DICTIONARY IF EXISTS avtal_swedish_stem",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_UP,
            _ => POSTGRES_UP,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DOWN,
            _ => POSTGRES_DOWN,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
