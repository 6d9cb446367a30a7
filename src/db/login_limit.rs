//! Storage of failed logins (`login_failure`): one counter per bucket with the start of its
//! window, shared by every instance on the database. Buckets arrive already hashed.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

fn table() -> Alias {
    Alias::new("login_failure")
}

fn bucket() -> Alias {
    Alias::new("bucket")
}

fn failures() -> Alias {
    Alias::new("failures")
}

fn window_start() -> Alias {
    Alias::new("window_start")
}

/// The failures counted in `bucket` since `since` (Unix seconds); 0 when its window is older.
pub async fn failures_since(
    db: &impl ConnectionTrait,
    key: &str,
    since: i64,
) -> Result<u32, DbErr> {
    let select = Query::select()
        .column(failures())
        .from(table())
        .and_where(Expr::col(bucket()).eq(key))
        .and_where(Expr::col(window_start()).gt(since))
        .to_owned();
    let n: Option<i32> = match db.query_one(&select).await? {
        Some(row) => Some(row.try_get("", "failures")?),
        None => None,
    };
    Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(0)))
}

/// Counts one failure in each bucket at `now`; a bucket whose window started at or before
/// `expired` starts a new window. One statement per bucket, atomic on both databases, so
/// failures counted at the same time by several instances are all kept.
pub async fn count_failure(
    db: &impl ConnectionTrait,
    keys: &[&str],
    now: i64,
    expired: i64,
) -> Result<(), DbErr> {
    let stale = || Expr::col((table(), window_start())).lte(expired);
    for key in keys {
        let upsert = Query::insert()
            .into_table(table())
            .columns([bucket(), failures(), window_start()])
            .values_panic([(*key).into(), 1.into(), now.into()])
            .on_conflict(
                OnConflict::column(bucket())
                    .value(
                        failures(),
                        Expr::case(stale(), 1).finally(Expr::col((table(), failures())).add(1)),
                    )
                    .value(
                        window_start(),
                        Expr::case(stale(), now).finally(Expr::col((table(), window_start()))),
                    )
                    .to_owned(),
            )
            .to_owned();
        db.execute(&upsert).await?;
    }
    // Forgotten windows go, so the table holds only the last quarter hour's attackers.
    let prune = Query::delete()
        .from_table(table())
        .and_where(Expr::col(window_start()).lte(expired))
        .to_owned();
    db.execute(&prune).await?;
    Ok(())
}

/// Forgets a bucket (an account after a successful login).
pub async fn forget(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table(table())
        .and_where(Expr::col(bucket()).eq(key))
        .to_owned();
    db.execute(&delete).await?;
    Ok(())
}
