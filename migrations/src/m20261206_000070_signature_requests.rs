//! Sent for signature: the middle state between a generated document and its signed copy. Each
//! row records that a generated document went to its signatories (the day, how, and to whom),
//! and who recorded it; a document may be sent more than once (a reminder, another route) until
//! its signed copy is on record.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignatureRequest {
    Table,
    Id,
    DocumentId,
    AgreementId,
    AgreementReference,
    SentOn,
    Method,
    SentTo,
    SentBy,
    SentAt,
}

#[derive(DeriveIden)]
enum Document {
    Table,
    Id,
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
                    .table(SignatureRequest::Table)
                    .col(
                        ColumnDef::new(SignatureRequest::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SignatureRequest::DocumentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SignatureRequest::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SignatureRequest::AgreementReference)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SignatureRequest::SentOn).date().not_null())
                    .col(
                        ColumnDef::new(SignatureRequest::Method)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SignatureRequest::SentTo).text().not_null())
                    .col(ColumnDef::new(SignatureRequest::SentBy).text().not_null())
                    .col(
                        ColumnDef::new(SignatureRequest::SentAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignatureRequest::Table, SignatureRequest::DocumentId)
                            .to(Document::Table, Document::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignatureRequest::Table, SignatureRequest::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signature_request_agreement")
                    .table(SignatureRequest::Table)
                    .col(SignatureRequest::AgreementId)
                    .col(SignatureRequest::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signature_request_document")
                    .table(SignatureRequest::Table)
                    .col(SignatureRequest::DocumentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignatureRequest::Table).to_owned())
            .await
    }
}
