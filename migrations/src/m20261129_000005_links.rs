//! Report files handed in through signed links (the bytes with their SHA-256, per occurrence) and
//! the calendar feed tokens of contacts (only a token's SHA-256 is stored; revoked ones stay).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReportFile {
    Table,
    Id,
    AgreementId,
    AgreementReference,
    Report,
    PeriodEnd,
    FileName,
    OriginalName,
    MediaType,
    Sha256,
    SizeBytes,
    Content,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden)]
enum CalendarFeed {
    Table,
    Id,
    ContactEmail,
    TokenSha256,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Agreement {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportFile::Table)
                    .col(
                        ColumnDef::new(ReportFile::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReportFile::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReportFile::AgreementReference)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ReportFile::Report).text().not_null())
                    .col(ColumnDef::new(ReportFile::PeriodEnd).date().not_null())
                    .col(ColumnDef::new(ReportFile::FileName).text().not_null())
                    .col(ColumnDef::new(ReportFile::OriginalName).text().null())
                    .col(
                        ColumnDef::new(ReportFile::MediaType)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ReportFile::Sha256).string_len(64).not_null())
                    .col(
                        ColumnDef::new(ReportFile::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ReportFile::Content).blob().not_null())
                    .col(ColumnDef::new(ReportFile::UploadedBy).text().not_null())
                    .col(
                        ColumnDef::new(ReportFile::UploadedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportFile::Table, ReportFile::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_report_file_occurrence")
                    .table(ReportFile::Table)
                    .col(ReportFile::AgreementId)
                    .col(ReportFile::PeriodEnd)
                    .col(ReportFile::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarFeed::Table)
                    .col(
                        ColumnDef::new(CalendarFeed::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CalendarFeed::ContactEmail).text().not_null())
                    .col(
                        ColumnDef::new(CalendarFeed::TokenSha256)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(CalendarFeed::CreatedBy).text().not_null())
                    .col(
                        ColumnDef::new(CalendarFeed::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CalendarFeed::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_calendar_feed_contact")
                    .table(CalendarFeed::Table)
                    .col(CalendarFeed::ContactEmail)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CalendarFeed::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ReportFile::Table).to_owned())
            .await
    }
}
