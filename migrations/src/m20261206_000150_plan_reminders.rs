//! What a sweep needs from the stored plans besides their deadlines, so it can read those rows
//! instead of every agreement's document: the agreement's own ladder for its action dates
//! (`agreement_plan.reminder_days`, the days as comma-separated numbers, empty for none) and who
//! gets a report's late and escalation notices (`agreement_deadline.notice_recipients`, JSON,
//! NULL for other deadlines). Plans stored before lack both, so every one is made stale (planned
//! for no day); `db::plans::refresh` writes them again at the next start or reminder run, and
//! until then the pages and the sweep read those agreements' documents.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AgreementPlan {
    Table,
    ReminderDays,
}

#[derive(DeriveIden)]
enum AgreementDeadline {
    Table,
    NoticeRecipients,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementPlan::Table)
                    .add_column(
                        ColumnDef::new(AgreementPlan::ReminderDays)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementDeadline::Table)
                    .add_column(
                        ColumnDef::new(AgreementDeadline::NoticeRecipients)
                            .text()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE agreement_plan SET valid_from = '9999-12-31'")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementDeadline::Table)
                    .drop_column(AgreementDeadline::NoticeRecipients)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementPlan::Table)
                    .drop_column(AgreementPlan::ReminderDays)
                    .to_owned(),
            )
            .await
    }
}
