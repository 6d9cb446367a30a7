//! The sweep index: per agreement the first day a reminder sweep has something to look at
//! (`next_reminder_on`, NULL = sweep it next time), and the ladders and last day the stored days
//! were computed with (`sweep_state`), so changed ladders or a sweep of an earlier day start over.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    NextReminderOn,
}

#[derive(DeriveIden)]
enum SweepState {
    Table,
    Id,
    Ladders,
    SweptOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing rows get NULL: the next sweep reads them and sets the day.
        manager
            .alter_table(
                Table::alter()
                    .table(Agreement::Table)
                    .add_column(ColumnDef::new(Agreement::NextReminderOn).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agreement_next_reminder_on")
                    .table(Agreement::Table)
                    .col(Agreement::NextReminderOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SweepState::Table)
                    .col(
                        ColumnDef::new(SweepState::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SweepState::Ladders).text().not_null())
                    .col(ColumnDef::new(SweepState::SweptOn).date().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SweepState::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_agreement_next_reminder_on")
                    .table(Agreement::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Agreement::Table)
                    .drop_column(Agreement::NextReminderOn)
                    .to_owned(),
            )
            .await
    }
}
