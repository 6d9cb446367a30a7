//! The signed copy on record: per generated document at most one signed PDF (scanned or
//! e-signed) with its SHA-256, signing date and signatories; and the clause versions each
//! generated document was made with (`document.clauses`, filled for older documents from their
//! `document.create` audit entries).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignedCopy {
    Table,
    Id,
    DocumentId,
    AgreementId,
    AgreementReference,
    FileName,
    OriginalName,
    Sha256,
    SizeBytes,
    Content,
    SignedOn,
    Signatories,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden)]
enum Document {
    Table,
    Id,
    Clauses,
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
            .alter_table(
                Table::alter()
                    .table(Document::Table)
                    .add_column(ColumnDef::new(Document::Clauses).text().null())
                    .to_owned(),
            )
            .await?;
        backfill_clauses(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(SignedCopy::Table)
                    .col(
                        ColumnDef::new(SignedCopy::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SignedCopy::DocumentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SignedCopy::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SignedCopy::AgreementReference)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SignedCopy::FileName).text().not_null())
                    .col(ColumnDef::new(SignedCopy::OriginalName).text().null())
                    .col(ColumnDef::new(SignedCopy::Sha256).string_len(64).not_null())
                    .col(
                        ColumnDef::new(SignedCopy::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(SignedCopy::Content).blob().not_null())
                    .col(ColumnDef::new(SignedCopy::SignedOn).date().not_null())
                    .col(ColumnDef::new(SignedCopy::Signatories).text().not_null())
                    .col(ColumnDef::new(SignedCopy::UploadedBy).text().not_null())
                    .col(
                        ColumnDef::new(SignedCopy::UploadedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignedCopy::Table, SignedCopy::DocumentId)
                            .to(Document::Table, Document::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignedCopy::Table, SignedCopy::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One signed copy per generated document: a second upload is refused, never stored.
        manager
            .create_index(
                Index::create()
                    .name("ux_signed_copy_document")
                    .table(SignedCopy::Table)
                    .col(SignedCopy::DocumentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_signed_copy_agreement")
                    .table(SignedCopy::Table)
                    .col(SignedCopy::AgreementId)
                    .col(SignedCopy::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignedCopy::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Document::Table)
                    .drop_column(Document::Clauses)
                    .to_owned(),
            )
            .await
    }
}

/// Copies the clause list (`["id@version", ...]`) of each `document.create` audit entry into its
/// document, so every stored document shows what it was made with.
async fn backfill_clauses(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT entity_key, after FROM audit_log \
             WHERE action = 'document.create' AND entity_kind = 'document'",
        ))
        .await?;
    for row in rows {
        let key: String = row.try_get("", "entity_key")?;
        let after: Option<String> = row.try_get("", "after")?;
        let (Ok(id), Some(after)) = (key.parse::<i64>(), after) else {
            continue;
        };
        let Ok(after) = serde_json::from_str::<serde_json::Value>(&after) else {
            continue;
        };
        let Some(clauses) = after.get("clauses").filter(|c| c.is_array()) else {
            continue;
        };
        manager
            .exec_stmt(
                Query::update()
                    .table(Document::Table)
                    .value(Document::Clauses, clauses.to_string())
                    .and_where(Expr::col(Document::Id).eq(id))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
