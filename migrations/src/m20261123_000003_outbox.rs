//! The e-mail outbox: one row per message with a unique dedupe key, and the reminders each digest
//! carried (so a reminder already sent in a digest is not sent again).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    DedupeKey,
    Reference,
    Kind,
    ToAddrs,
    CcAddrs,
    Subject,
    BodyText,
    BodyHtml,
    Ics,
    MessageId,
    State,
    Attempts,
    NextAttemptAt,
    LastError,
    ClaimedUntil,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum OutboxReminder {
    Table,
    ReminderKey,
    Recipient,
    OutboxId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let text = |c: Outbox| ColumnDef::new(c).text().not_null().to_owned();
        let when = |c: Outbox| ColumnDef::new(c).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(
                        ColumnDef::new(Outbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Outbox::DedupeKey)
                            .string_len(500)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Outbox::Reference).string().not_null())
                    .col(ColumnDef::new(Outbox::Kind).string().not_null())
                    .col(text(Outbox::ToAddrs))
                    .col(text(Outbox::CcAddrs))
                    .col(text(Outbox::Subject))
                    .col(text(Outbox::BodyText))
                    .col(text(Outbox::BodyHtml))
                    .col(text(Outbox::Ics))
                    .col(ColumnDef::new(Outbox::MessageId).string().not_null())
                    .col(
                        ColumnDef::new(Outbox::State)
                            .string_len(16)
                            .not_null()
                            .default("pending"),
                    )
                    .col(
                        ColumnDef::new(Outbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(when(Outbox::NextAttemptAt).not_null().to_owned())
                    .col(ColumnDef::new(Outbox::LastError).text())
                    .col(when(Outbox::ClaimedUntil))
                    .col(when(Outbox::CreatedAt).not_null().to_owned())
                    .col(when(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_state_next")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OutboxReminder::Table)
                    .col(
                        ColumnDef::new(OutboxReminder::ReminderKey)
                            .string_len(500)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxReminder::Recipient)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxReminder::OutboxId)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(OutboxReminder::ReminderKey)
                            .col(OutboxReminder::Recipient),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OutboxReminder::Table, OutboxReminder::OutboxId)
                            .to(Outbox::Table, Outbox::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [OutboxReminder::Table.into_iden(), Outbox::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
