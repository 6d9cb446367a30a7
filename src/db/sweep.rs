//! The sweep index: which agreements a reminder sweep on a day has to read (`sweep_day.next_on`
//! NULL or on/before the day), storing the next day after a sweep, and starting over
//! (every day NULL) when the ladders change or a sweep runs for an earlier day than the last one.
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

/// Makes the stored days valid for a sweep of `today` with ladders `fingerprint`: if either
/// differs from what they were computed with (a different fingerprint, or an earlier day), every
/// day is cleared, so the sweep reads every agreement once more.
pub async fn prepare(
    db: &DatabaseConnection,
    today: NaiveDate,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let tx = super::begin_write(db).await?;
    let table = Alias::new("sweep_state");
    let (id, ladders, swept_on) = (
        Alias::new("id"),
        Alias::new("ladders"),
        Alias::new("swept_on"),
    );
    let select = Query::select()
        .columns([ladders.clone(), swept_on.clone()])
        .from(table.clone())
        .and_where(Expr::col(id.clone()).eq(1))
        .to_owned();
    let row = tx.query_one(&select).await?;
    let stored: Option<(String, NaiveDate)> = match row {
        Some(r) => Some((r.try_get("", "ladders")?, r.try_get("", "swept_on")?)),
        None => None,
    };
    let valid = stored
        .as_ref()
        .is_some_and(|(l, on)| l == fingerprint && *on <= today);
    if !valid {
        tx.execute_unprepared("UPDATE sweep_day SET next_on = NULL WHERE next_on IS NOT NULL")
            .await?;
    }
    if !valid || stored.is_some_and(|(_, on)| on < today) {
        let upsert = Query::insert()
            .into_table(table)
            .columns([id.clone(), ladders.clone(), swept_on.clone()])
            .values_panic([1.into(), fingerprint.into(), today.into()])
            .on_conflict(
                OnConflict::column(id)
                    .update_columns([ladders, swept_on])
                    .to_owned(),
            )
            .to_owned();
        tx.execute(&upsert).await?;
    }
    tx.commit().await
}

/// The ids of the agreements a sweep of `today` must read (day NULL or on/before `today`), in
/// id order: one index scan.
pub async fn due_ids(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Vec<i64>, DbErr> {
    let (table, id, next_on) = (
        Alias::new("sweep_day"),
        Alias::new("agreement_id"),
        Alias::new("next_on"),
    );
    let q = Query::select()
        .column(id.clone())
        .from(table)
        .cond_where(
            Condition::any()
                .add(Expr::col(next_on.clone()).is_null())
                .add(Expr::col(next_on).lte(today)),
        )
        .order_by(id, sea_orm::Order::Asc)
        .to_owned();
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| r.try_get("", "agreement_id"))
        .collect()
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
    // Integers and dates only: nothing from users is spliced in.
    if db.get_database_backend() == DbBackend::Postgres {
        // A thousand rows per statement, each row's day beside its id and version.
        for chunk in rows.chunks(1000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|(id, version, next)| {
                    format!("({id},{version},'{}'::date)", next.unwrap_or_else(never))
                })
                .collect();
            tx.execute_unprepared(&format!(
                "UPDATE sweep_day SET next_on = v.column3 FROM (VALUES {}) AS v \
                 WHERE sweep_day.agreement_id = v.column1 AND sweep_day.version = v.column2",
                values.join(",")
            ))
            .await?;
        }
    } else {
        let mut by_day: BTreeMap<NaiveDate, Vec<(i64, i32)>> = BTreeMap::new();
        for (id, version, next) in rows {
            by_day
                .entry(next.unwrap_or_else(never))
                .or_default()
                .push((*id, *version));
        }
        for (day, ids) in by_day {
            for chunk in ids.chunks(400) {
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
    }
    tx.commit().await?;
    // After many days changed at once (the first sweep, new ladders) PostgreSQL's statistics
    // still say "all NULL" until autovacuum comes by, and the next sweep would scan the table.
    if rows.len() >= ANALYZE_AFTER && db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE sweep_day").await?;
    }
    Ok(())
}

/// Days stored at once from which the statistics are refreshed.
const ANALYZE_AFTER: usize = 10_000;
