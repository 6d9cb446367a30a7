//! The follow-up query over the outcome index (`outcome_value`): accepted figures of the
//! agreements matching the list filters, summed per group (buyer, supplier, IOP partner, social
//! objective, or none), indicator, year and part; and the running totals (`outcome_total`) that
//! answer the follow-up without list filters, kept by the store beside the index.

use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, JoinType, OnConflict, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, QuerySelect, QueryTrait, StatementBuilder};

use super::entities::{agreement, agreement_party, organisation, outcome_value};
use super::search::PreparedSearch;
use super::store::{AgreementFilter, StoreError, filtered};
use crate::domain::codes::{PartyRole, SocialObjective};
use crate::domain::outcomes::{TotalKey, role_grouping};

/// How the follow-up groups agreements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One group: everything.
    None,
    /// By an organisation in a role.
    Party(PartyRole),
    /// By BT-775 social objective (an agreement with two objectives counts in both).
    Objective,
}

/// One summed cell of the follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpRow {
    /// The group: an organisation number, an objective code, or `""`.
    pub key: String,
    /// The group's name (the organisation's), if any.
    pub name: Option<String>,
    /// Indicator id.
    pub indicator: String,
    /// Year.
    pub year: i32,
    /// `total`, `women`, `men` or `other`.
    pub gender: String,
    /// The sum over the group's agreements, in hundredths.
    pub sum_centi: i64,
    /// How many agreements it sums.
    pub agreements: i64,
}

/// Extra filters of the follow-up, beside the list's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpFilter {
    /// Only this year.
    pub year: Option<i32>,
    /// Only this indicator.
    pub indicator: Option<String>,
    /// Only this part (`total`, `women`, ...).
    pub gender: Option<String>,
}

fn base(
    backend: sea_orm::DbBackend,
    party_org: Option<i64>,
    f: &AgreementFilter,
    search: Option<&PreparedSearch>,
    extra: &FollowUpFilter,
    objective: Option<SocialObjective>,
) -> SelectStatement {
    use outcome_value::Column as V;
    let mut ids = filtered(backend, party_org, f, search, true)
        .select_only()
        .column(agreement::Column::Id);
    if let Some(o) = objective {
        ids = sea_orm::QueryFilter::filter(
            ids,
            Expr::col((agreement::Entity, agreement::Column::Objectives))
                .bit_and(o.bit())
                .ne(0),
        );
    }
    let mut q = Query::select();
    q.from(outcome_value::Entity)
        .column((outcome_value::Entity, V::Indicator))
        .column((outcome_value::Entity, V::Year))
        .column((outcome_value::Entity, V::Gender))
        .expr_as(
            Func::sum(Expr::col((outcome_value::Entity, V::ValueCenti))),
            Alias::new("sum_centi"),
        )
        .expr_as(
            Func::count(Expr::col((outcome_value::Entity, V::AgreementId))),
            Alias::new("agreements"),
        )
        .and_where(Expr::col((outcome_value::Entity, V::AgreementId)).in_subquery(ids.into_query()))
        .group_by_col((outcome_value::Entity, V::Indicator))
        .group_by_col((outcome_value::Entity, V::Year))
        .group_by_col((outcome_value::Entity, V::Gender));
    if let Some(y) = extra.year {
        q.and_where(Expr::col((outcome_value::Entity, V::Year)).eq(y));
    }
    if let Some(i) = &extra.indicator {
        q.and_where(Expr::col((outcome_value::Entity, V::Indicator)).eq(i.as_str()));
    }
    if let Some(g) = &extra.gender {
        q.and_where(Expr::col((outcome_value::Entity, V::Gender)).eq(g.as_str()));
    }
    q
}

async fn run(
    db: &impl ConnectionTrait,
    q: &SelectStatement,
    key: impl Fn(&sea_orm::QueryResult) -> Result<(String, Option<String>), sea_orm::DbErr>,
) -> Result<Vec<FollowUpRow>, StoreError> {
    let stmt = StatementBuilder::build(q, &db.get_database_backend());
    let rows = db.query_all_raw(stmt).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (k, name) = key(&r)?;
        // SUM is NUMERIC on PostgreSQL and INTEGER on SQLite.
        let sum_centi: i64 = match r.try_get::<i64>("", "sum_centi") {
            Ok(v) => v,
            Err(_) => {
                let d: sea_orm::prelude::Decimal = r.try_get("", "sum_centi")?;
                i64::try_from(d.trunc().mantissa()).unwrap_or(i64::MAX)
            }
        };
        out.push(FollowUpRow {
            key: k,
            name,
            indicator: r.try_get("", "indicator")?,
            year: r.try_get("", "year")?,
            gender: r.try_get("", "gender")?,
            sum_centi,
            agreements: r.try_get("", "agreements")?,
        });
    }
    Ok(out)
}

/// The follow-up of the agreements matching `f` (their `party` filter already resolved to
/// `party_org`), grouped by `group`.
pub async fn follow_up(
    db: &impl ConnectionTrait,
    party_org: Option<i64>,
    f: &AgreementFilter,
    extra: &FollowUpFilter,
    group: GroupBy,
) -> Result<Vec<FollowUpRow>, StoreError> {
    let backend = db.get_database_backend();
    if party_org.is_none() && f.is_empty() {
        return from_totals(db, extra, group).await;
    }
    let search = super::search::prepare_filter(db, f).await?;
    match group {
        GroupBy::None => {
            let q = base(backend, party_org, f, search.as_ref(), extra, None);
            run(db, &q, |_| Ok((String::new(), None))).await
        }
        GroupBy::Objective => {
            let mut out = Vec::new();
            for o in SocialObjective::ALL {
                let q = base(backend, party_org, f, search.as_ref(), extra, Some(*o));
                out.extend(run(db, &q, |_| Ok((o.code().to_owned(), None))).await?);
            }
            Ok(out)
        }
        GroupBy::Party(role) => {
            let mut q = base(backend, party_org, f, search.as_ref(), extra, None);
            q.join(
                JoinType::InnerJoin,
                agreement_party::Entity,
                Expr::col((
                    agreement_party::Entity,
                    agreement_party::Column::AgreementId,
                ))
                .equals((outcome_value::Entity, outcome_value::Column::AgreementId))
                .and(
                    Expr::col((agreement_party::Entity, agreement_party::Column::Role))
                        .eq(role.code()),
                ),
            )
            .join(
                JoinType::InnerJoin,
                organisation::Entity,
                Expr::col((organisation::Entity, organisation::Column::Id)).equals((
                    agreement_party::Entity,
                    agreement_party::Column::OrganisationId,
                )),
            )
            .column((organisation::Entity, organisation::Column::OrgNumber))
            .column((organisation::Entity, organisation::Column::Name))
            .group_by_col((organisation::Entity, organisation::Column::OrgNumber))
            .group_by_col((organisation::Entity, organisation::Column::Name));
            run(db, &q, |r| {
                Ok((r.try_get("", "org_number")?, Some(r.try_get("", "name")?)))
            })
            .await
        }
    }
}

const TOTAL: &str = "outcome_total";

fn t(c: &str) -> Alias {
    Alias::new(c)
}

/// The follow-up of every agreement, read from the running totals: the same rows as
/// [`follow_up`] with no list filter, without summing the index.
async fn from_totals(
    db: &impl ConnectionTrait,
    extra: &FollowUpFilter,
    group: GroupBy,
) -> Result<Vec<FollowUpRow>, StoreError> {
    let grouping = match group {
        GroupBy::None => "all".to_owned(),
        GroupBy::Objective => "objective".to_owned(),
        GroupBy::Party(role) => role_grouping(role),
    };
    let mut q = Query::select();
    q.from(t(TOTAL))
        .column((t(TOTAL), t("group_key")))
        .column((t(TOTAL), t("indicator")))
        .column((t(TOTAL), t("year")))
        .column((t(TOTAL), t("gender")))
        .column((t(TOTAL), t("sum_centi")))
        .column((t(TOTAL), t("agreements")))
        .and_where(Expr::col((t(TOTAL), t("grouping"))).eq(grouping.as_str()))
        .and_where(Expr::col((t(TOTAL), t("agreements"))).gt(0));
    if let Some(y) = extra.year {
        q.and_where(Expr::col((t(TOTAL), t("year"))).eq(y));
    }
    if let Some(i) = &extra.indicator {
        q.and_where(Expr::col((t(TOTAL), t("indicator"))).eq(i.as_str()));
    }
    if let Some(g) = &extra.gender {
        q.and_where(Expr::col((t(TOTAL), t("gender"))).eq(g.as_str()));
    }
    let party = matches!(group, GroupBy::Party(_));
    if party {
        q.join(
            JoinType::LeftJoin,
            organisation::Entity,
            Expr::col((organisation::Entity, organisation::Column::OrgNumber))
                .equals((t(TOTAL), t("group_key"))),
        )
        .column((organisation::Entity, organisation::Column::Name));
    }
    let stmt = StatementBuilder::build(&q, &db.get_database_backend());
    let rows = db.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| {
            Ok(FollowUpRow {
                key: r.try_get("", "group_key")?,
                name: if party { r.try_get("", "name")? } else { None },
                indicator: r.try_get("", "indicator")?,
                year: r.try_get("", "year")?,
                gender: r.try_get("", "gender")?,
                sum_centi: r.try_get("", "sum_centi")?,
                agreements: r.try_get("", "agreements")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

/// Adds `changes` (per cell: the change of the sum and of the count, from
/// `domain::outcomes::total_changes`) to the running totals. Call it in the transaction that
/// rewrites the agreement's index rows.
pub async fn apply_totals(
    db: &impl ConnectionTrait,
    changes: &[(TotalKey, i64, i64)],
) -> Result<(), StoreError> {
    let cols = [
        "grouping",
        "group_key",
        "year",
        "indicator",
        "gender",
        "sum_centi",
        "agreements",
    ];
    // 7 values a row: well under both backends' bind-parameter limits.
    for chunk in changes.chunks(500) {
        let mut q = Query::insert();
        q.into_table(t(TOTAL)).columns(cols.map(t));
        for (k, sum, n) in chunk {
            q.values([
                Expr::value(k.grouping.as_str()),
                Expr::value(k.key.as_str()),
                Expr::value(k.year),
                Expr::value(k.indicator.as_str()),
                Expr::value(k.gender),
                Expr::value(*sum),
                Expr::value(*n),
            ])
            .map_err(|e| crate::error::Unexpected(format!("outcome totals: {e}")))?;
        }
        q.on_conflict(
            OnConflict::columns(["grouping", "year", "group_key", "indicator", "gender"].map(t))
                .value(
                    t("sum_centi"),
                    Expr::col((t(TOTAL), t("sum_centi")))
                        .add(Expr::col((t("excluded"), t("sum_centi")))),
                )
                .value(
                    t("agreements"),
                    Expr::col((t(TOTAL), t("agreements")))
                        .add(Expr::col((t("excluded"), t("agreements")))),
                )
                .to_owned(),
        );
        db.execute(&q).await?;
    }
    Ok(())
}

/// Fills the running totals from the index when they are empty and the index is not (a
/// database from before the totals, or rows loaded around the store); returns whether it did.
pub async fn fill_totals_if_missing(db: &impl ConnectionTrait) -> Result<bool, StoreError> {
    let one = |table: &str| {
        let mut q = Query::select();
        q.expr(Expr::val(1)).from(t(table)).limit(1);
        StatementBuilder::build(&q, &db.get_database_backend())
    };
    if db.query_one_raw(one(TOTAL)).await?.is_some()
        || db.query_one_raw(one("outcome_value")).await?.is_none()
    {
        return Ok(false);
    }
    rebuild_totals(db).await?;
    Ok(true)
}

/// Recomputes the running totals from the index, in the caller's transaction.
pub async fn rebuild_totals(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    let into = "INSERT INTO outcome_total (grouping, group_key, year, indicator, gender, sum_centi, agreements)";
    let sums = "ov.year, ov.indicator, ov.gender, SUM(ov.value_centi), COUNT(*)";
    let by = "ov.year, ov.indicator, ov.gender";
    // Only constants and codes of this program are spliced in, never user text.
    let mut statements = vec![
        "DELETE FROM outcome_total".to_owned(),
        format!("{into} SELECT 'all', '', {sums} FROM outcome_value ov GROUP BY {by}"),
        format!(
            "{into} SELECT 'role:' || ap.role, o.org_number, {sums} FROM outcome_value ov \
             JOIN agreement_party ap ON ap.agreement_id = ov.agreement_id \
             JOIN organisation o ON o.id = ap.organisation_id \
             GROUP BY ap.role, o.org_number, {by}"
        ),
    ];
    for o in SocialObjective::ALL {
        statements.push(format!(
            "{into} SELECT 'objective', '{}', {sums} FROM outcome_value ov \
             JOIN agreement a ON a.id = ov.agreement_id WHERE (a.objectives & {}) <> 0 GROUP BY {by}",
            o.code(),
            o.bit()
        ));
    }
    for s in statements {
        db.execute_unprepared(&s).await?;
    }
    Ok(())
}
