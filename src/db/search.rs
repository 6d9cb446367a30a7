//! The free-text search index (`agreement_search`, see migration `m20261206_000070_search`):
//! its rows written with each agreement and rewritten when a party or contact is renamed, the
//! fill-in of older agreements, and the search conditions of the agreement list on SQLite
//! (FTS5 words and trigrams) and PostgreSQL (`swedish` text search and `pg_trgm`).
//!
//! Matching: every word of the search must match, either as the start of a word (several parts
//! typed with hyphens, as consecutive words; on PostgreSQL also as an inflected form of the
//! same stem) or, from three characters on, anywhere inside the text (trigrams). Ranking: the
//! agreements where every word matches a word come first, by relevance (SQLite `bm25`,
//! PostgreSQL `ts_rank`, the reference, title and diarienummer weighted over the parties and
//! those over the contacts), then those matched only inside words; the reference breaks ties.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Value,
};

use super::entities::{agreement, agreement_party, contact, organisation};
use super::store::{StoreError, agreement_from};
use crate::domain::agreement::Agreement;
use crate::domain::party::EmailAddress;
use crate::domain::search::{SearchDoc, SearchText};

/// Rows written per statement when many agreements are indexed at once.
const BATCH: usize = 500;

/// Added to the score of an agreement matched only inside words, so it ranks after every
/// agreement whose words all match (scores of either kind stay far below this).
const PARTIAL_TIER: f64 = 1_000_000.0;

/// The search text of each agreement in `agreements`, with its parties' and contacts' names
/// read in one query each.
async fn docs_for(
    db: &impl ConnectionTrait,
    agreements: &[&Agreement],
) -> Result<Vec<SearchDoc>, StoreError> {
    let mut orgs: Vec<String> = agreements
        .iter()
        .flat_map(|a| a.parties.iter().map(|p| p.org.as_str().to_owned()))
        .collect();
    orgs.sort();
    orgs.dedup();
    let mut emails: Vec<String> = agreements
        .iter()
        .flat_map(|a| {
            a.contacts
                .all()
                .into_iter()
                .map(|(_, e)| e.as_str().to_owned())
        })
        .collect();
    emails.sort();
    emails.dedup();
    let mut org_names: HashMap<String, String> = HashMap::new();
    for chunk in orgs.chunks(BATCH) {
        let rows: Vec<(String, String)> = organisation::Entity::find()
            .select_only()
            .column(organisation::Column::OrgNumber)
            .column(organisation::Column::Name)
            .filter(organisation::Column::OrgNumber.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        org_names.extend(rows);
    }
    let mut contact_names: HashMap<String, String> = HashMap::new();
    for chunk in emails.chunks(BATCH) {
        let rows: Vec<(String, String)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Email)
            .column(contact::Column::Name)
            .filter(contact::Column::Email.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        contact_names.extend(rows);
    }
    Ok(agreements
        .iter()
        .map(|a| {
            SearchDoc::of(
                a,
                |o| org_names.get(o.as_str()).cloned(),
                |e| contact_names.get(e.as_str()).cloned(),
            )
        })
        .collect())
}

/// Writes (inserts or replaces) the search rows of `rows`, `(agreement id, text)`.
async fn write_rows(
    db: &impl ConnectionTrait,
    rows: &[(i64, SearchDoc)],
) -> Result<(), StoreError> {
    let cols = ["agreement_id", "head", "parties", "contacts"].map(Alias::new);
    for chunk in rows.chunks(BATCH) {
        let mut ins = Query::insert();
        ins.into_table(Alias::new("agreement_search"))
            .columns(cols.clone())
            .on_conflict(
                OnConflict::column(Alias::new("agreement_id"))
                    .update_columns(cols[1..].iter().cloned())
                    .to_owned(),
            );
        for (id, doc) in chunk {
            ins.values([
                (*id).into(),
                doc.head.clone().into(),
                doc.parties.clone().into(),
                doc.contacts.clone().into(),
            ])
            .map_err(|e| crate::error::Unexpected::new("cannot build the search row", e))?;
        }
        db.execute(&ins).await?;
    }
    Ok(())
}

/// Indexes agreement `id` (just inserted or updated) in the caller's transaction.
pub async fn index_agreement(
    db: &impl ConnectionTrait,
    id: i64,
    a: &Agreement,
) -> Result<(), StoreError> {
    let docs = docs_for(db, &[a]).await?;
    let rows: Vec<(i64, SearchDoc)> = docs.into_iter().map(|d| (id, d)).collect();
    write_rows(db, &rows).await
}

/// Indexes again the agreements with these ids (after a party or contact was renamed).
async fn reindex_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<u64, StoreError> {
    let mut done = 0;
    for chunk in ids.chunks(BATCH) {
        let stored = agreement::Entity::find()
            .filter(agreement::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
            .into_iter()
            .map(agreement_from)
            .collect::<Result<Vec<_>, _>>()?;
        let docs = docs_for(db, &stored.iter().map(|s| &s.data).collect::<Vec<_>>()).await?;
        let rows: Vec<(i64, SearchDoc)> = stored.iter().map(|s| s.id).zip(docs).collect();
        write_rows(db, &rows).await?;
        done += rows.len() as u64;
    }
    Ok(done)
}

/// Indexes again every agreement organisation `org_id` is a party to (its name changed).
pub async fn reindex_party(db: &impl ConnectionTrait, org_id: i64) -> Result<u64, StoreError> {
    let ids: Vec<i64> = agreement_party::Entity::find()
        .select_only()
        .column(agreement_party::Column::AgreementId)
        .distinct()
        .filter(agreement_party::Column::OrganisationId.eq(org_id))
        .into_tuple()
        .all(db)
        .await?;
    reindex_ids(db, &ids).await
}

/// Indexes again every agreement that names contact `email` (its name changed). There is no
/// index of contacts by agreement, so this reads the stored documents that mention the address.
pub async fn reindex_contact(
    db: &impl ConnectionTrait,
    email: &EmailAddress,
) -> Result<u64, StoreError> {
    let mut pattern = String::from("%\"");
    for ch in email.as_str().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push_str("\"%");
    let candidates = agreement::Entity::find()
        .filter(
            Expr::col(agreement::Column::Document)
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        )
        .all(db)
        .await?;
    let mut ids = Vec::new();
    for m in candidates {
        let s = agreement_from(m)?;
        if s.data.contacts.all().iter().any(|(_, e)| *e == email) {
            ids.push(s.id);
        }
    }
    reindex_ids(db, &ids).await
}

/// Indexes the agreements that have no search row yet (stored before the search index
/// existed, or bulk-loaded around the use cases), in batches; returns how many.
pub async fn backfill(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    let mut done = 0;
    // Walks the ids upwards, so each batch starts where the last one ended.
    let mut after = 0i64;
    loop {
        let ids: Vec<i64> = agreement::Entity::find()
            .select_only()
            .column(agreement::Column::Id)
            .filter(agreement::Column::Id.gt(after))
            .filter(Expr::cust(
                "NOT EXISTS (SELECT 1 FROM agreement_search \
                 WHERE agreement_search.agreement_id = agreement.id)",
            ))
            .order_by_asc(agreement::Column::Id)
            .limit(BATCH as u64 * 4)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = ids.last() else {
            return Ok(done);
        };
        after = *last;
        done += reindex_ids(db, &ids).await?;
    }
}

fn text(s: String) -> Value {
    Value::String(Some(s))
}

// Placeholders: `?` in order on SQLite, `$n` on PostgreSQL (sea-query's custom expressions).

/// SQLite FTS5: every word as a phrase that ends in a prefix (`"agr 2025 00"*`). The words
/// hold only letters, digits and single spaces, so a double quote cannot occur in them.
fn fts_prefix_query<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// SQLite FTS5 with the trigram tokenizer: every word anywhere in the text.
fn fts_substring_query<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// PostgreSQL `to_tsquery` text: every word's parts consecutive, the last one a prefix.
fn ts_prefix_query<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words
        .map(|w| {
            let parts: Vec<&str> = w.split(' ').collect();
            format!("{}:*", parts.join(" <-> "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The agreements `s` matches with their score (lower ranks first), as a query of `(sid, k)`
/// to join on the agreement id.
pub fn scores(backend: DbBackend, s: &SearchText) -> SelectStatement {
    let long: Vec<&str> = s.partial_words().collect();
    let short: Vec<&str> = s.short_words().collect();
    let all = s.words().iter().map(String::as_str);
    let mut q = Query::select();
    if backend == DbBackend::Postgres {
        let words = ts_prefix_query(all);
        q.expr_as(
            Expr::cust_with_values(
                format!(
                    "CASE WHEN words @@ to_tsquery('avtal_swedish', $1) \
                     THEN -ts_rank(words, to_tsquery('avtal_swedish', $2)) ELSE {PARTIAL_TIER:.1} END"
                ),
                [text(words.clone()), text(words)],
            ),
            Alias::new("k"),
        );
        q.expr_as(Expr::cust("agreement_id"), Alias::new("sid"))
            .from(Alias::new("agreement_search"))
            .and_where(postgres_match(s));
    } else if long.is_empty() {
        q.expr_as(Expr::cust("rowid"), Alias::new("sid"))
            .expr_as(
                Expr::cust("bm25(agreement_words, 10.0, 4.0, 2.0)"),
                Alias::new("k"),
            )
            .from(Alias::new("agreement_words"))
            .and_where(Expr::cust_with_values(
                "agreement_words MATCH ?",
                [text(fts_prefix_query(all))],
            ));
    } else {
        q.expr_as(Expr::cust("rowid"), Alias::new("sid"))
            .expr_as(
                Expr::cust_with_values(
                    format!(
                        "CASE WHEN rowid IN (SELECT rowid FROM agreement_words WHERE agreement_words MATCH ?) \
                         THEN 0.0 ELSE {PARTIAL_TIER:.1} END + bm25(agreement_trigrams, 10.0, 4.0, 2.0)"
                    ),
                    [text(fts_prefix_query(all))],
                ),
                Alias::new("k"),
            )
            .from(Alias::new("agreement_trigrams"))
            .and_where(sqlite_trigram_match(&long, &short));
    }
    q
}

/// On SQLite, with at least one long word: the long words anywhere, the short ones as the
/// start of a word. (An agreement whose words all match as words also matches this way.)
fn sqlite_trigram_match(long: &[&str], short: &[&str]) -> Expr {
    let substrings = text(fts_substring_query(long.iter().copied()));
    if short.is_empty() {
        Expr::cust_with_values("agreement_trigrams MATCH ?", [substrings])
    } else {
        Expr::cust_with_values(
            "agreement_trigrams MATCH ? AND rowid IN \
             (SELECT rowid FROM agreement_words WHERE agreement_words MATCH ?)",
            [substrings, text(fts_prefix_query(short.iter().copied()))],
        )
    }
}

/// On PostgreSQL: every word as a word (stemmed, prefix), or the long words anywhere and the
/// short ones as words.
fn postgres_match(s: &SearchText) -> Expr {
    let words = text(ts_prefix_query(s.words().iter().map(String::as_str)));
    let long: Vec<&str> = s.partial_words().collect();
    if long.is_empty() {
        return Expr::cust_with_values("words @@ to_tsquery('avtal_swedish', $1)", [words]);
    }
    let mut sql = String::from("(words @@ to_tsquery('avtal_swedish', $1) OR (");
    let mut values = vec![words];
    for (i, w) in long.iter().enumerate() {
        if i > 0 {
            sql.push_str(" AND ");
        }
        values.push(text(format!("%{w}%")));
        sql.push_str(&format!("body LIKE ${}", values.len()));
    }
    let short: Vec<&str> = s.short_words().collect();
    if !short.is_empty() {
        values.push(text(ts_prefix_query(short.into_iter())));
        sql.push_str(&format!(
            " AND words @@ to_tsquery('avtal_swedish', ${})",
            values.len()
        ));
    }
    sql.push_str("))");
    Expr::cust_with_values(sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn queries_quote_each_word_and_number_their_values() {
        let s = SearchText::parse("Lokalvård AGR-2025 ab").unwrap();
        assert_eq!(
            fts_prefix_query(s.words().iter().map(String::as_str)),
            "\"lokalvård\"* AND \"agr 2025\"* AND \"ab\"*"
        );
        assert_eq!(
            ts_prefix_query(s.words().iter().map(String::as_str)),
            "lokalvård:* & agr <-> 2025:* & ab:*"
        );
        let (sql, values) = scores(DbBackend::Postgres, &s).build(PostgresQueryBuilder);
        assert!(sql.contains("$5"), "{sql}");
        assert_eq!(values.0.len(), 6, "{sql}");
        let (sql, values) = scores(DbBackend::Sqlite, &s).build(SqliteQueryBuilder);
        assert_eq!(sql.matches('?').count(), values.0.len(), "{sql}");
        assert_eq!(values.0.len(), 3, "{sql}");
    }
}
