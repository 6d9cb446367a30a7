//! The follow-up query over the outcome index (`outcome_value`): accepted figures of the
//! agreements matching the list filters, summed per group (buyer, supplier, IOP partner, social
//! objective, or none), indicator, year and part.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QuerySelect, QueryTrait, StatementBuilder};

use super::entities::{agreement, agreement_party, organisation, outcome_value};
use super::store::{AgreementFilter, StoreError, filtered};
use crate::domain::codes::{PartyRole, SocialObjective};

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
    extra: &FollowUpFilter,
    objective: Option<SocialObjective>,
) -> SelectStatement {
    use outcome_value::Column as V;
    let mut ids = filtered(backend, party_org, f, true)
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
    match group {
        GroupBy::None => {
            let q = base(backend, party_org, f, extra, None);
            run(db, &q, |_| Ok((String::new(), None))).await
        }
        GroupBy::Objective => {
            let mut out = Vec::new();
            for o in SocialObjective::ALL {
                let q = base(backend, party_org, f, extra, Some(*o));
                out.extend(run(db, &q, |_| Ok((o.code().to_owned(), None))).await?);
            }
            Ok(out)
        }
        GroupBy::Party(role) => {
            let mut q = base(backend, party_org, f, extra, None);
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
