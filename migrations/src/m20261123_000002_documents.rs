//! Generated contract documents: the PDF bytes with their SHA-256, template and agreement version.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Document {
    Table,
    Id,
    AgreementId,
    AgreementReference,
    AgreementVersion,
    Template,
    TemplateVersion,
    Event,
    FileName,
    Sha256,
    SizeBytes,
    Content,
    CreatedBy,
    CreatedAt,
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
                    .table(Document::Table)
                    .col(
                        ColumnDef::new(Document::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Document::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Document::AgreementReference)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Document::AgreementVersion)
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Document::Template).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Document::TemplateVersion)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Document::Event).string_len(64).null())
                    .col(ColumnDef::new(Document::FileName).string().not_null())
                    .col(ColumnDef::new(Document::Sha256).string_len(64).not_null())
                    .col(ColumnDef::new(Document::SizeBytes).big_integer().not_null())
                    .col(ColumnDef::new(Document::Content).blob().not_null())
                    .col(
                        ColumnDef::new(Document::CreatedBy)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Document::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Document::Table, Document::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_document_agreement")
                    .table(Document::Table)
                    .col(Document::AgreementId)
                    .col(Document::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Document::Table).to_owned())
            .await
    }
}
