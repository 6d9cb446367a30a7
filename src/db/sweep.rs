//! The sweep index: which agreements a reminder sweep on a day has to read (`sweep_day.next_on`
//! NULL or on/before the day), storing the next days a sweep changed, and a full sweep (every
//! agreement read until one finishes) when the ladders change or a sweep runs for an earlier day
//! than the last one.
//! Every agreement has its `sweep_day` row, written NULL by the store with each version.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::agreement;
use super::store::StoreError;
use crate::domain::agreement::Agreement;

/// The stored day of an agreement nothing will ever be due for (until it is edited).
fn never() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The `sweep_state` row of the ladders and day the stored days were computed with.
const DONE: i32 = 1;
/// The `sweep_state` row that, while it exists, makes every sweep read every agreement: the
/// ladders changed (or a sweep ran for an earlier day) and no full sweep has finished since.
const FULL: i32 = 2;

/// Checks the stored days for a sweep of `today` with ladders `fingerprint`: if either differs
/// from what they were computed with (a different fingerprint, or an earlier day), a full sweep
/// is marked due, so [`due_ids`] gives every agreement until [`finish`] records it done. The days
/// themselves are kept, so the full sweep stores only those that changed (see [`set_next`]).
pub async fn prepare(
    db: &DatabaseConnection,
    today: NaiveDate,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let tx = super::begin_write(db).await?;
    let stored = state(&tx, DONE).await?;
    let valid = stored
        .as_ref()
        .is_some_and(|(l, on)| l == fingerprint && *on <= today);
    if !valid {
        upsert_state(&tx, FULL, fingerprint, today).await?;
    } else if stored.is_some_and(|(_, on)| on < today) {
        upsert_state(&tx, DONE, fingerprint, today).await?;
    }
    tx.commit().await
}

/// Records a full sweep of `today` with ladders `fingerprint` as done, after its days are
/// stored: every day is now its ladders', so the full sweep marked due by [`prepare`] is no
/// longer due. Only for a sweep that read every agreement ([`Due::full`]): a sweep that read
/// fewer must leave the mark, or days stored by another configuration's full sweep would be
/// taken for this one's.
pub async fn finish(
    db: &DatabaseConnection,
    today: NaiveDate,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let tx = super::begin_write(db).await?;
    upsert_state(&tx, DONE, fingerprint, today).await?;
    tx.execute_unprepared(&format!("DELETE FROM sweep_state WHERE id = {FULL}"))
        .await?;
    tx.commit().await
}

/// The ladders' fingerprint and the day of `sweep_state` row `id`.
async fn state(db: &impl ConnectionTrait, id: i32) -> Result<Option<(String, NaiveDate)>, DbErr> {
    let select = Query::select()
        .columns([Alias::new("ladders"), Alias::new("swept_on")])
        .from(Alias::new("sweep_state"))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    match db.query_one(&select).await? {
        Some(r) => Ok(Some((
            r.try_get("", "ladders")?,
            r.try_get("", "swept_on")?,
        ))),
        None => Ok(None),
    }
}

async fn upsert_state(
    db: &impl ConnectionTrait,
    row: i32,
    fingerprint: &str,
    today: NaiveDate,
) -> Result<(), DbErr> {
    let (id, ladders, swept_on) = (
        Alias::new("id"),
        Alias::new("ladders"),
        Alias::new("swept_on"),
    );
    let upsert = Query::insert()
        .into_table(Alias::new("sweep_state"))
        .columns([id.clone(), ladders.clone(), swept_on.clone()])
        .values_panic([row.into(), fingerprint.into(), today.into()])
        .on_conflict(
            OnConflict::column(id)
                .update_columns([ladders, swept_on])
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await?;
    Ok(())
}

/// What a sweep must read (see [`due_ids`]).
#[derive(Debug, Clone, Default)]
pub struct Due {
    /// Whether a full sweep is due, so every agreement is read.
    pub full: bool,
    /// The agreements, in id order, each with its stored day.
    pub agreements: Vec<(i64, Option<NaiveDate>)>,
}

/// The agreements a sweep of `today` must read, in id order, each with its stored day: every
/// agreement while a full sweep is due (see [`prepare`]), otherwise those whose day is NULL or
/// on/before `today` (one index scan).
pub async fn due_ids(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Due, DbErr> {
    let (table, id, next_on) = (
        Alias::new("sweep_day"),
        Alias::new("agreement_id"),
        Alias::new("next_on"),
    );
    let mut q = Query::select()
        .columns([id.clone(), next_on.clone()])
        .from(table)
        .order_by(id, sea_orm::Order::Asc)
        .to_owned();
    let full = state(db, FULL).await?.is_some();
    if !full {
        q.cond_where(
            Condition::any()
                .add(Expr::col(next_on.clone()).is_null())
                .add(Expr::col(next_on).lte(today)),
        );
    }
    let agreements = db
        .query_all(&q)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "agreement_id")?, r.try_get("", "next_on")?)))
        .collect::<Result<_, DbErr>>()?;
    Ok(Due { full, agreements })
}

/// Whether `next` (a sweep's next day, `None` for never) is what `stored` already says.
pub fn unchanged(stored: Option<NaiveDate>, next: Option<NaiveDate>) -> bool {
    stored == Some(next.unwrap_or_else(never))
}

/// Gives every agreement without one its `sweep_day` row (NULL: read it at the next sweep):
/// agreements loaded around the store. Returns how many it added.
pub async fn backfill(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Ok(db
        .execute_unprepared(
            "INSERT INTO sweep_day (agreement_id, version, next_on) \
             SELECT id, version, NULL FROM agreement \
             WHERE NOT EXISTS (SELECT 1 FROM sweep_day WHERE sweep_day.agreement_id = agreement.id)",
        )
        .await?
        .rows_affected())
}

/// Marks agreement `id`, now at `version`, to be read at the next sweep (with every write).
pub async fn reset(db: &impl ConnectionTrait, id: i64, version: i32) -> Result<(), DbErr> {
    let (table, agreement_id, v, next_on) = (
        Alias::new("sweep_day"),
        Alias::new("agreement_id"),
        Alias::new("version"),
        Alias::new("next_on"),
    );
    let upsert = Query::insert()
        .into_table(table)
        .columns([agreement_id.clone(), v.clone(), next_on.clone()])
        .values_panic([id.into(), version.into(), Option::<NaiveDate>::None.into()])
        .on_conflict(
            OnConflict::column(agreement_id)
                .update_columns([v, next_on])
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await?;
    Ok(())
}

/// What a sweep reads of a stored agreement: its id, version, reference and JSON document (no
/// other column is read or converted).
#[derive(Debug, Clone)]
pub struct SweepRow {
    /// The agreement's id.
    pub id: i64,
    /// Its version.
    pub version: i32,
    /// Its reference (for a corrupt document's error).
    pub reference: String,
    /// Its document.
    pub document: String,
}

/// A swept agreement as [`decode`] gives it.
#[derive(Debug, Clone)]
pub struct Swept {
    /// The agreement's id.
    pub id: i64,
    /// The version read.
    pub version: i32,
    /// The agreement.
    pub data: Agreement,
}

/// The rows of agreements `ids`, in id order (decode them with [`decode`]).
pub async fn load(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<SweepRow>, DbErr> {
    let rows: Vec<(i64, i32, String, String)> = agreement::Entity::find()
        .select_only()
        .columns([
            agreement::Column::Id,
            agreement::Column::Version,
            agreement::Column::Reference,
            agreement::Column::Document,
        ])
        .filter(agreement::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(agreement::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, version, reference, document)| SweepRow {
            id,
            version,
            reference,
            document,
        })
        .collect())
}

/// The agreements of rows read by [`load`] (CPU work, no I/O: a sweep does it off the runtime).
pub fn decode(rows: Vec<SweepRow>) -> Result<Vec<Swept>, StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(Swept {
                id: r.id,
                version: r.version,
                data: super::store::parse_doc("agreement", &r.reference, &r.document)?,
            })
        })
        .collect()
}

/// Stores the next day of each swept agreement `(id, version read, next day or None for
/// never)`; a row edited since it was read (another version) keeps its NULL.
pub async fn set_next(
    db: &DatabaseConnection,
    rows: &[(i64, i32, Option<NaiveDate>)],
) -> Result<(), DbErr> {
    let tx = super::begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // One statement per 20,000 rows, the rows as three parallel arrays (ids, versions, days)
        // bound as text: one join per statement instead of one per 400 rows and day. (A
        // thousand rows per `UPDATE ... FROM (VALUES ...)` took twice as long as per 400 rows
        // and day: 1.95 s against 0.99 s for 100,000 rows, BENCHMARKS.md.)
        for chunk in rows.chunks(20_000) {
            let (mut ids, mut versions, mut days) = (Vec::new(), Vec::new(), Vec::new());
            for (id, version, day) in chunk {
                ids.push(id.to_string());
                versions.push(version.to_string());
                days.push(day.unwrap_or_else(never).to_string());
            }
            let (ids, versions, days) = (ids.join(","), versions.join(","), days.join(","));
            tx.execute_raw(sea_orm::Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE sweep_day SET next_on = v.day \
                 FROM unnest(string_to_array($1, ',')::bigint[], string_to_array($2, ',')::int[], \
                 string_to_array($3, ',')::date[]) AS v(id, version, day) \
                 WHERE sweep_day.agreement_id = v.id AND sweep_day.version = v.version",
                [ids.into(), versions.into(), days.into()],
            ))
            .await?;
        }
        tx.commit().await?;
        // After many days changed at once (the first sweep, new ladders) the statistics still
        // say "all NULL" until autovacuum comes by, and the next sweep would scan the table.
        if rows.len() >= ANALYZE_AFTER {
            db.execute_unprepared("ANALYZE sweep_day").await?;
        }
        return Ok(());
    }
    let mut by_day: BTreeMap<NaiveDate, Vec<(i64, i32)>> = BTreeMap::new();
    for (id, version, next) in rows {
        by_day
            .entry(next.unwrap_or_else(never))
            .or_default()
            .push((*id, *version));
    }
    for (day, ids) in by_day {
        for chunk in ids.chunks(400) {
            // Integers and a date only: nothing from users is spliced in.
            // `id IN` lets the planner go by the primary key; the pairs check the version.
            let ids: Vec<String> = chunk.iter().map(|(i, _)| i.to_string()).collect();
            let pairs: Vec<String> = chunk.iter().map(|(i, v)| format!("({i},{v})")).collect();
            tx.execute_unprepared(&format!(
                "UPDATE sweep_day SET next_on = '{day}' WHERE agreement_id IN ({}) AND (agreement_id, version) IN (VALUES {})",
                ids.join(","),
                pairs.join(",")
            ))
            .await?;
        }
    }
    tx.commit().await
}

/// Days stored at once from which the statistics are refreshed.
const ANALYZE_AFTER: usize = 10_000;
