//! The renewal index: per agreement the day its next tacit renewal takes effect (`renews_on`,
//! NULL when none can come), so the daily sweep reads only the agreements with a renewal due.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    RenewsOn,
    StartDate,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Agreement::Table)
                    .add_column(ColumnDef::new(Agreement::RenewsOn).date().null())
                    .to_owned(),
            )
            .await?;
        // Existing rows are checked once by the next sweep, which sets the real day (or NULL).
        manager
            .exec_stmt(
                Query::update()
                    .table(Agreement::Table)
                    .value(Agreement::RenewsOn, Expr::col(Agreement::StartDate))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agreement_renews_on")
                    .table(Agreement::Table)
                    .col(Agreement::RenewsOn)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_agreement_renews_on")
                    .table(Agreement::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Agreement::Table)
                    .drop_column(Agreement::RenewsOn)
                    .to_owned(),
            )
            .await
    }
}
