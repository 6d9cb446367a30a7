//! Running totals of the follow-up index: per grouping (everything, a party role's organisation,
//! a social objective), year, indicator and part, the sum of the agreements' values and how many
//! agreements it covers. Kept by the store in the same transaction as `outcome_value`, so the
//! unfiltered follow-up reads a few thousand rows instead of summing a million.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutcomeTotal {
    Table,
    Grouping,
    GroupKey,
    Year,
    Indicator,
    Gender,
    SumCenti,
    Agreements,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutcomeTotal::Table)
                    .col(
                        ColumnDef::new(OutcomeTotal::Grouping)
                            .string_len(24)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeTotal::GroupKey)
                            .string_len(24)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutcomeTotal::Year).integer().not_null())
                    .col(
                        ColumnDef::new(OutcomeTotal::Indicator)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeTotal::Gender)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeTotal::SumCenti)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeTotal::Agreements)
                            .big_integer()
                            .not_null(),
                    )
                    // Read by grouping and year (the follow-up's usual question), then the rest.
                    .primary_key(
                        Index::create()
                            .col(OutcomeTotal::Grouping)
                            .col(OutcomeTotal::Year)
                            .col(OutcomeTotal::GroupKey)
                            .col(OutcomeTotal::Indicator)
                            .col(OutcomeTotal::Gender),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutcomeTotal::Table).to_owned())
            .await
    }
}
