//! The free-text search index (`agreement_search`, see migration `m20261206_000070_search`):
//! its rows written with each agreement and rewritten when a party or contact is renamed, the
//! fill-in of older agreements, and the search conditions of the agreement list on SQLite
//! (FTS5 words and trigrams) and PostgreSQL (`swedish` text search and `pg_trgm`).
//!
//! Matching: every word of the search must match, either as the start of a word (several parts
//! typed with hyphens, as consecutive words; on PostgreSQL also as an inflected form of the
//! same stem) or, from three characters on, anywhere inside the text (trigrams). Ranking: the
//! agreements where every word matches a word come first, then those matched only inside words;
//! within each, by relevance, the same on both backends (each word's best column, the reference,
//! title and diarienummer over the parties and those over the contacts, whole words over word
//! starts over parts of words), then by reference. Relevance is scored on each match's own
//! text: FTS5's `bm25` counts, for every query, all rows that hold each word, which costs as
//! much as the word is common.
//!
//! Finding the matches: a word in more than a thousand agreements is not looked up in an index
//! when a rarer word can find the candidates; the candidates' text is checked for it instead
//! ([`prepare`] counts, up to that bound, the rows of each word).

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Value,
};

use super::entities::{agreement, agreement_party, contact, organisation};
use super::store::{AgreementFilter, StoreError, agreement_from};
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

/// Agreements indexed per transaction by [`backfill`].
const BACKFILL_BATCH: u64 = 5_000;

/// Indexes the agreements that have no search row yet (stored before the search index
/// existed, or bulk-loaded around the use cases), 5,000 per transaction; returns
/// how many. One transaction per batch rather than per statement, so that SQLite writes the
/// FTS5 indexes' pending terms as fewer, larger segments (measured at a million agreements, it
/// did not shorten the fill: see BENCHMARKS.md). On SQLite, when most agreements are missing,
/// the FTS5 indexes are rebuilt in one pass instead (see `backfill_by_rebuild`).
pub async fn backfill(db: &sea_orm::DatabaseConnection) -> Result<u64, StoreError> {
    // Every start asks: equal counts answer it without looking for the missing rows.
    let (agreements, indexed) = counts(db).await?;
    if agreements == indexed {
        return Ok(0);
    }
    if db.get_database_backend() == DbBackend::Sqlite
        && let Some(done) = backfill_by_rebuild(db).await?
    {
        return Ok(done);
    }
    let mut done = 0;
    // Walks the ids upwards, so each batch starts where the last one ended.
    let mut after = 0i64;
    loop {
        let tx = super::begin_write(db).await?;
        let ids = unindexed_ids(&tx, after, BACKFILL_BATCH).await?;
        let Some(last) = ids.last() else {
            tx.commit().await?;
            return Ok(done);
        };
        after = *last;
        done += reindex_ids(&tx, &ids).await?;
        tx.commit().await?;
    }
}

/// How many agreements there are and how many have a search row, read in one statement (so in
/// one snapshot). Every search row belongs to an agreement (a foreign key), so equal counts mean
/// that none is missing. At a million agreements this is a few milliseconds where looking for
/// the missing rows walks every agreement (about 0.4 s on SQLite, BENCHMARKS.md).
async fn counts(db: &impl ConnectionTrait) -> Result<(i64, i64), StoreError> {
    let sql = "SELECT (SELECT COUNT(*) FROM agreement) AS agreements, \
               (SELECT COUNT(*) FROM agreement_search) AS indexed";
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    Ok(match db.query_one_raw(stmt).await? {
        Some(r) => (r.try_get("", "agreements")?, r.try_get("", "indexed")?),
        None => (0, 0),
    })
}

/// The ids of up to `limit` agreements above id `after` that have no search row, in order.
async fn unindexed_ids(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, StoreError> {
    Ok(agreement::Entity::find()
        .select_only()
        .column(agreement::Column::Id)
        .filter(agreement::Column::Id.gt(after))
        .filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM agreement_search \
             WHERE agreement_search.agreement_id = agreement.id)",
        ))
        .order_by_asc(agreement::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// SQLite's page cache, in KiB, on the connection of a fill by rebuild.
const REBUILD_CACHE_KIB: u32 = 512 * 1024;

/// SQLite's fill when no more agreements are indexed than are missing (after the migration
/// that made the index, or a bulk load around the use cases); `None`, having written nothing,
/// otherwise. The search rows are written with the trigger that indexes each inserted row set
/// aside, then each FTS5 index is rebuilt from the table in one pass (`'rebuild'`), with a page
/// cache large enough that the rebuild's merges do not read back from the write-ahead log.
/// Row by row, FTS5 writes a segment per statement and merges ever larger ones as the index
/// grows. The whole fill of a million agreements took 344 s row by row and 56 s so; without
/// the larger cache the rebuild took 407 s (BENCHMARKS.md). One transaction, so the trigger is
/// never missing outside it, even if the process dies half way.
async fn backfill_by_rebuild(db: &sea_orm::DatabaseConnection) -> Result<Option<u64>, StoreError> {
    const TRIGGER: &str = "agreement_search_insert";
    let tx = super::begin_write(db).await?;
    let (agreements, indexed) = counts(&tx).await?;
    if agreements <= indexed || agreements - indexed < indexed {
        return Ok(None);
    }
    // The trigger as the migration made it, to be made again after the fill.
    let trigger: Option<String> = tx
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            [TRIGGER.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<String>(0))
        .transpose()?;
    let Some(trigger) = trigger else {
        let e = crate::error::Unexpected(format!("the search index has no trigger {TRIGGER}"));
        return Err(e.into());
    };
    // The rebuild's merges read back what the transaction wrote: from the page cache rather
    // than the write-ahead log, while it fits. The connection's usual cache is set again
    // whether or not the fill succeeds.
    tx.execute_unprepared(&format!("PRAGMA cache_size = -{REBUILD_CACHE_KIB}"))
        .await?;
    let filled = fill_without_trigger(&tx, TRIGGER, &trigger).await;
    let usual = super::SQLITE_CACHE_KIB;
    let restored = tx
        .execute_unprepared(&format!("PRAGMA cache_size = -{usual}"))
        .await;
    let done = filled?;
    restored?;
    tx.commit().await?;
    Ok(Some(done))
}

/// The body of [`backfill_by_rebuild`] in its transaction: drops `trigger`, writes the missing
/// rows, rebuilds both FTS5 indexes and makes the trigger again with `sql`.
async fn fill_without_trigger(
    tx: &sea_orm::DatabaseTransaction,
    trigger: &str,
    sql: &str,
) -> Result<u64, StoreError> {
    tx.execute_unprepared(&format!("DROP TRIGGER {trigger}"))
        .await?;
    let mut done = 0;
    let mut after = 0i64;
    loop {
        let ids = unindexed_ids(tx, after, BACKFILL_BATCH).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        done += reindex_ids(tx, &ids).await?;
    }
    for index in ["agreement_words", "agreement_trigrams"] {
        tx.execute_unprepared(&format!("INSERT INTO {index} ({index}) VALUES ('rebuild')"))
            .await?;
    }
    tx.execute_unprepared(sql).await?;
    Ok(done)
}

/// A term matched by more rows than this (looked up with `LIMIT`) is common: the index does
/// not look it up when a rarer term can find the candidates, and each candidate's text is
/// checked for it instead. Walking a common term's list of rows costs as much as it is common
/// (a million entries for a word in every title); checking up to a thousand candidates is cheap.
const COMMON_FROM: i64 = 1_000;

/// A search ready for the list's query: the terms the trigram index looks up to find the
/// candidates, the rarest ones; every other condition is checked on each candidate's text.
#[derive(Debug, Clone)]
pub struct PreparedSearch {
    text: SearchText,
    /// SQLite: the long words looked up in the trigram index (the other long words are found in
    /// each candidate's text). PostgreSQL: the stems of word parts whose rows the trigram index
    /// finds; every match of the word, as text or as an inflected form, holds its stem. Empty on
    /// PostgreSQL when no stem is rare enough: the word index and the trigram index are asked as
    /// the conditions are written.
    lookup: Vec<String>,
}

/// The prepared search of list filter `f`, if it has one.
pub async fn prepare_filter(
    db: &impl ConnectionTrait,
    f: &AgreementFilter,
) -> Result<Option<PreparedSearch>, StoreError> {
    match f.search() {
        Some(s) => Ok(Some(prepare(db, s).await?)),
        None => Ok(None),
    }
}

/// Prepares `s` on this database: counts (up to a thousand) the rows holding each term it
/// could look up, and keeps the rare ones.
pub async fn prepare(
    db: &impl ConnectionTrait,
    s: SearchText,
) -> Result<PreparedSearch, StoreError> {
    let backend = db.get_database_backend();
    let candidates: Vec<String> = if backend == DbBackend::Postgres {
        stems(db, &s).await?
    } else {
        s.partial_words().map(str::to_owned).collect()
    };
    let mut rare = Vec::new();
    for term in &candidates {
        let (sql, pattern) = if backend == DbBackend::Postgres {
            (
                "SELECT COUNT(*) AS n FROM \
                 (SELECT 1 FROM agreement_search WHERE body LIKE $1 LIMIT $2) x",
                format!("%{term}%"),
            )
        } else {
            (
                "SELECT COUNT(*) AS n FROM (SELECT rowid FROM agreement_trigrams \
                 WHERE agreement_trigrams MATCH ? LIMIT ?) x",
                fts_substring_query(std::iter::once(term.as_str())),
            )
        };
        let row = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql,
                [pattern.into(), COMMON_FROM.into()],
            ))
            .await?;
        let n: i64 = match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        if n < COMMON_FROM {
            rare.push(term.clone());
        }
    }
    // On SQLite, when every long word is common, the index intersects them all.
    let lookup = if rare.is_empty() && backend != DbBackend::Postgres {
        candidates
    } else {
        rare
    };
    Ok(PreparedSearch { text: s, lookup })
}

/// PostgreSQL: the stems of the words' parts (by the `avtal_swedish` configuration) that the
/// trigram index can look up: at least three characters, and the start of the part itself
/// (the Swedish stemmer takes endings off). Every row that matches a word, as its text or as
/// an inflected form, holds each of its parts' stems in its text: the text of a word that
/// starts with the part, or of a word whose stem starts with the part's stem. A stop word has
/// no stem and so no term; nor do the parts of a word the configuration splits.
async fn stems(db: &impl ConnectionTrait, s: &SearchText) -> Result<Vec<String>, StoreError> {
    let parts: Vec<String> = s
        .words()
        .iter()
        .flat_map(|w| w.split(' '))
        .map(str::to_owned)
        .collect();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT p, tsvector_to_array(to_tsvector('avtal_swedish', p)) AS lexemes \
             FROM unnest($1::text[]) AS p",
            [Value::Array(
                sea_orm::sea_query::ArrayType::String,
                Some(Box::new(parts.into_iter().map(text).collect())),
            )],
        ))
        .await?;
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let part: String = r.try_get("", "p")?;
        let lexemes: Vec<String> = r.try_get("", "lexemes")?;
        if let [stem] = lexemes.as_slice()
            && part.starts_with(stem.as_str())
            && stem.chars().count() >= crate::domain::search::PARTIAL_FROM
            && !out.contains(stem)
        {
            out.push(stem.clone());
        }
    }
    Ok(out)
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

/// The agreements `p` matches with their score (lower ranks first), as a query of `(sid, k, j)`:
/// the agreement id, its score, and the id again to join on (see the SQLite branch).
pub fn scores(backend: DbBackend, p: &PreparedSearch) -> SelectStatement {
    let s = &p.text;
    let long: Vec<&str> = s.partial_words().collect();
    let short: Vec<&str> = s.short_words().collect();
    let all = s.words().iter().map(String::as_str);
    let lookup: Vec<&str> = p.lookup.iter().map(String::as_str).collect();
    let mut q = Query::select();
    if backend == DbBackend::Postgres {
        let mut values = vec![text(ts_prefix_query(all))];
        // The tier's query is $1, the score's values follow it.
        let (score, score_values) =
            text_score(backend, s.words().iter().map(String::as_str), values.len());
        values.extend(score_values);
        q.expr_as(
            Expr::cust_with_values(
                format!(
                    "CASE WHEN words @@ to_tsquery('avtal_swedish', $1) THEN 0.0 \
                     ELSE {PARTIAL_TIER:.1} END - ({score})"
                ),
                values,
            ),
            Alias::new("k"),
        );
        q.expr_as(Expr::cust("agreement_id"), Alias::new("sid"))
            .expr_as(Expr::cust("agreement_id"), Alias::new("j"))
            .from(Alias::new("agreement_search"))
            .and_where(postgres_match(s, &lookup));
        return q;
    }
    // Relevance is scored on each candidate's own folded text, not with FTS5's `bm25`, which
    // counts every row that holds each word (a million for a word in every title) to weigh the
    // words against each other.
    let (score, score_values) = text_score(backend, s.words().iter().map(String::as_str), 0);
    let (table, sql, where_values, tier, tier_values) = if long.is_empty() {
        // Only short words: every one starts a word, which the word index answers.
        (
            "agreement_words",
            String::from("agreement_words MATCH ?"),
            vec![text(fts_prefix_query(all))],
            String::from("1"),
            Vec::new(),
        )
    } else {
        // The trigram index finds the candidates by the rarer long words; the common ones are
        // found in each candidate's text, and so is whether each word also starts a word.
        // Asking the word index (`"avtal"*`) would first merge the whole list of rows of every
        // word with that prefix.
        let (tier, tier_values) = sqlite_words_start_words(s.words().iter().map(String::as_str));
        let mut sql = String::from("agreement_trigrams MATCH ?");
        let mut where_values = vec![text(fts_substring_query(lookup.iter().copied()))];
        let checked: Vec<&str> = long
            .iter()
            .copied()
            .filter(|w| !lookup.contains(w))
            .collect();
        if !checked.is_empty() {
            let (cond, values) = sqlite_in_any_column(checked.into_iter(), "");
            sql.push_str(" AND ");
            sql.push_str(&cond);
            where_values.extend(values);
        }
        if !short.is_empty() {
            let (cond, values) = sqlite_words_start_words(short.iter().copied());
            sql.push_str(" AND ");
            sql.push_str(&cond);
            where_values.extend(values);
        }
        ("agreement_trigrams", sql, where_values, tier, tier_values)
    };
    let mut k_values = tier_values;
    k_values.extend(score_values);
    // The list joins on `j`, `+rowid`: an expression, so the join can never hand FTS5 a rowid
    // to look up and the index always drives, finding its matches once. Without statistics
    // (a connection that loaded the schema before the last ANALYZE, or a registry grown by
    // imports since), SQLite otherwise chose to walk a filter's index and ask FTS5 about each
    // row: a minute for a search with two filters at a million agreements. `sid` stays the
    // plain rowid, which FTS5 yields in order for the newest-first order.
    q.expr_as(Expr::cust("rowid"), Alias::new("sid"))
        .expr_as(Expr::cust("+rowid"), Alias::new("j"))
        .expr_as(
            Expr::cust_with_values(
                format!("CASE WHEN {tier} THEN 0.0 ELSE {PARTIAL_TIER:.1} END - ({score})"),
                k_values,
            ),
            Alias::new("k"),
        )
        .from(Alias::new(table))
        .and_where(Expr::cust_with_values(sql, where_values));
    q
}

/// The weights of the three columns in a score: reference, title and diarienummer over the
/// parties, the parties over the contacts.
const COLUMN_WEIGHTS: [(&str, u32); 3] = [("head", 10), ("parties", 4), ("contacts", 2)];

/// The relevance of a search row (SQLite: of `agreement_words` or `agreement_trigrams`, whose
/// columns read `agreement_search`) for `words`, higher is more relevant, the same on both
/// backends: for each word its best column, weighted, three times over when it is a whole word
/// there, twice when it starts a word, once when it is only inside one (or, on PostgreSQL, not
/// in the text but matched as an inflected form: nothing). Returns the SQL and its values,
/// nine per word, numbered on PostgreSQL from `$(after + 1)` (the expression's values before
/// them).
fn text_score<'a>(
    backend: DbBackend,
    words: impl Iterator<Item = &'a str>,
    after: usize,
) -> (String, Vec<Value>) {
    let pg = backend == DbBackend::Postgres;
    let mut terms = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let find = |haystack: String, needle: String, values: &mut Vec<Value>| -> String {
        values.push(text(needle));
        if pg {
            format!("strpos({haystack}, ${}) > 0", after + values.len())
        } else {
            format!("instr({haystack}, ?) > 0")
        }
    };
    for w in words {
        let mut columns = Vec::new();
        for (column, weight) in COLUMN_WEIGHTS {
            let whole = find(
                format!("' ' || {column} || ' '"),
                format!(" {w} "),
                &mut values,
            );
            let start = find(format!("' ' || {column}"), format!(" {w}"), &mut values);
            let inside = find(column.to_owned(), w.to_owned(), &mut values);
            columns.push(format!(
                "CASE WHEN {whole} THEN {} WHEN {start} THEN {} WHEN {inside} THEN {weight} \
                 ELSE 0 END",
                3 * weight,
                2 * weight
            ));
        }
        let best = if pg { "greatest" } else { "max" };
        terms.push(format!("{best}({})", columns.join(", ")));
    }
    (terms.join(" + "), values)
}

/// On SQLite, a condition on a row of `agreement_trigrams` (whose columns read the folded
/// text of `agreement_search`) that every one of `words` starts a word of one column, its
/// parts consecutive: the folded text holds only letters, digits and single spaces, so `" w"`
/// inside `" " || column` is exactly a word that starts with `w`, as FTS5's `"w"*` would
/// match it. Returns the SQL and its values, three per word.
fn sqlite_words_start_words<'a>(words: impl Iterator<Item = &'a str>) -> (String, Vec<Value>) {
    sqlite_in_any_column(words, " ")
}

/// On SQLite, a condition that every one of `words`, after `before`, is in one of the three
/// columns (each also read after `before`). Returns the SQL and its values, three per word.
fn sqlite_in_any_column<'a>(
    words: impl Iterator<Item = &'a str>,
    before: &str,
) -> (String, Vec<Value>) {
    let mut sql = Vec::new();
    let mut values = Vec::new();
    let column = |c: &str| {
        if before.is_empty() {
            c.to_owned()
        } else {
            format!("'{before}' || {c}")
        }
    };
    let cond = format!(
        "(instr({}, ?) > 0 OR instr({}, ?) > 0 OR instr({}, ?) > 0)",
        column("head"),
        column("parties"),
        column("contacts")
    );
    for w in words {
        sql.push(cond.clone());
        for _ in 0..3 {
            values.push(text(format!("{before}{w}")));
        }
    }
    (sql.join(" AND "), values)
}

/// On PostgreSQL: every word as a word (stemmed, prefix), or the long words anywhere and the
/// short ones as words. With `lookup` stems, the trigram index finds the rows that hold them and
/// the condition is checked on each of those rows (`strpos` and `ts_match_vq`, which no index
/// answers); without, both indexes are asked, which for a common word walks all its rows.
fn postgres_match(s: &SearchText, lookup: &[&str]) -> Expr {
    let all = text(ts_prefix_query(s.words().iter().map(String::as_str)));
    let long: Vec<&str> = s.partial_words().collect();
    let short: Vec<&str> = s.short_words().collect();
    let indexed = !lookup.is_empty();
    let (matches, contains) = if indexed {
        (
            "ts_match_vq(words, to_tsquery('avtal_swedish', $))",
            "strpos(body, $) > 0",
        )
    } else {
        ("words @@ to_tsquery('avtal_swedish', $)", "body LIKE $")
    };
    let mut values = Vec::new();
    let mut push = |sql: &str, v: Value| -> String {
        values.push(v);
        sql.replace('$', &format!("${}", values.len()))
    };
    let mut conds = Vec::new();
    for stem in lookup {
        conds.push(push("body LIKE $", text(format!("%{stem}%"))));
    }
    let as_words = push(matches, all);
    let exact = if long.is_empty() {
        as_words
    } else {
        let mut inside = Vec::new();
        for w in &long {
            let v = if indexed {
                (*w).to_owned()
            } else {
                format!("%{w}%")
            };
            inside.push(push(contains, text(v)));
        }
        if !short.is_empty() {
            inside.push(push(matches, text(ts_prefix_query(short.iter().copied()))));
        }
        format!("({as_words} OR ({}))", inside.join(" AND "))
    };
    conds.push(exact);
    Expr::cust_with_values(conds.join(" AND "), values)
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
        let p = PreparedSearch {
            text: s.clone(),
            lookup: vec!["agr 2025".into()],
        };
        let (sql, values) = scores(DbBackend::Postgres, &p).build(PostgresQueryBuilder);
        // The rank's tier and three words scored in three columns three ways, then `agr 2025`
        // in the index, every word as a word, or `lokalvård` and `agr 2025` in the text and `ab`
        // as a word, all checked on the row.
        assert_eq!(values.0.len(), 28 + 5, "{sql}");
        assert!(sql.contains("body LIKE $29"), "{sql}");
        assert!(sql.contains("strpos(body, $31) > 0"), "{sql}");
        assert!(
            !sql.contains("@@ to_tsquery('avtal_swedish', $30)"),
            "{sql}"
        );
        let unindexed = PreparedSearch {
            lookup: Vec::new(),
            ..p.clone()
        };
        let (sql, values) = scores(DbBackend::Postgres, &unindexed).build(PostgresQueryBuilder);
        assert_eq!(values.0.len(), 28 + 4, "{sql}");
        assert!(
            sql.contains("words @@ to_tsquery('avtal_swedish', $29)"),
            "{sql}"
        );
        assert!(sql.contains("body LIKE $31"), "{sql}");
        let (sql, values) = scores(DbBackend::Sqlite, &p).build(SqliteQueryBuilder);
        assert_eq!(sql.matches('?').count(), values.0.len(), "{sql}");
        // Three words checked as word starts in three columns, scored in three columns three
        // ways, then the trigram match of `agr 2025`, `lokalvård` in three columns and the
        // short word `ab` as a word start again.
        assert_eq!(values.0.len(), 9 + 27 + 1 + 3 + 3, "{sql}");
        assert!(!sql.contains("agreement_words"), "{sql}");
    }
}
