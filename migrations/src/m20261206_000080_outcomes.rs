//! The follow-up index of social outcomes: each agreement's accepted figures per indicator, year
//! and part (total, women, men, other), aggregated over the year's periods as the indicator says.
//! Derived from the agreement document and rewritten with it, like the party index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OutcomeValue {
    Table,
    AgreementId,
    Indicator,
    Year,
    Gender,
    ValueCenti,
    Periods,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutcomeValue::Table)
                    .col(
                        ColumnDef::new(OutcomeValue::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeValue::Indicator)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutcomeValue::Year).integer().not_null())
                    .col(
                        ColumnDef::new(OutcomeValue::Gender)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutcomeValue::ValueCenti)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutcomeValue::Periods).integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(OutcomeValue::AgreementId)
                            .col(OutcomeValue::Indicator)
                            .col(OutcomeValue::Year)
                            .col(OutcomeValue::Gender),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OutcomeValue::Table, OutcomeValue::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outcome_year_indicator")
                    .table(OutcomeValue::Table)
                    .col(OutcomeValue::Year)
                    .col(OutcomeValue::Indicator)
                    .col(OutcomeValue::Gender)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutcomeValue::Table).to_owned())
            .await
    }
}
