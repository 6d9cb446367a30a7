//! The sweep index: which agreements a reminder sweep on a day has to read (`next_reminder_on`
//! NULL or on/before the day), storing the next day after a sweep, and starting over
//! (every day NULL) when the ladders change or a sweep runs for an earlier day than the last one.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::agreement;
use super::store::{StoreError, Stored, agreement_from};
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
        agreement::Entity::update_many()
            .col_expr(
                agreement::Column::NextReminderOn,
                Expr::value(Option::<NaiveDate>::None),
            )
            .filter(agreement::Column::NextReminderOn.is_not_null())
            .exec(&tx)
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
    agreement::Entity::find()
        .select_only()
        .column(agreement::Column::Id)
        .filter(
            Condition::any()
                .add(agreement::Column::NextReminderOn.is_null())
                .add(agreement::Column::NextReminderOn.lte(today)),
        )
        .order_by_asc(agreement::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// The stored rows of agreements `ids`, in id order (decode them with [`decode`]).
pub async fn load(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<agreement::Model>, DbErr> {
    agreement::Entity::find()
        .filter(agreement::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(agreement::Column::Id)
        .all(db)
        .await
}

/// The agreements of rows read by [`load`] (CPU work, no I/O: a sweep does it off the runtime).
pub fn decode(rows: Vec<agreement::Model>) -> Result<Vec<Stored<Agreement>>, StoreError> {
    rows.into_iter().map(agreement_from).collect()
}

/// Stores the next day of each swept agreement `(id, version read, next day or None for
/// never)`; a row edited since it was read (another version) keeps its NULL.
pub async fn set_next(
    db: &DatabaseConnection,
    rows: &[(i64, i32, Option<NaiveDate>)],
) -> Result<(), DbErr> {
    let mut by_day: BTreeMap<NaiveDate, Vec<(i64, i32)>> = BTreeMap::new();
    for (id, version, next) in rows {
        by_day
            .entry(next.unwrap_or_else(never))
            .or_default()
            .push((*id, *version));
    }
    let tx = super::begin_write(db).await?;
    for (day, ids) in by_day {
        for chunk in ids.chunks(400) {
            // Integers and a date only: nothing from users is spliced in.
            // `id IN` lets both planners go by the primary key; the pairs check the version.
            let ids: Vec<String> = chunk.iter().map(|(i, _)| i.to_string()).collect();
            let pairs: Vec<String> = chunk.iter().map(|(i, v)| format!("({i},{v})")).collect();
            tx.execute_unprepared(&format!(
                "UPDATE agreement SET next_reminder_on = '{day}' WHERE id IN ({}) AND (id, version) IN (VALUES {})",
                ids.join(","),
                pairs.join(",")
            ))
            .await?;
        }
    }
    tx.commit().await?;
    // After many days changed at once (the first sweep, new ladders) PostgreSQL's statistics
    // still say "all NULL" until autovacuum comes by, and the next sweep would scan the table.
    if rows.len() >= ANALYZE_AFTER && db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE agreement").await?;
    }
    Ok(())
}

/// Days stored at once from which the statistics are refreshed.
const ANALYZE_AFTER: usize = 10_000;
