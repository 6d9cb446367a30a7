//! The audit log: an append-only, hash-chained record of every change (issue 6, "Auditor trust").
//!
//! Ids are assigned by the writer under the chain lock (last id + 1), not by a database sequence,
//! so they have no gaps and a gap means a deleted entry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    EntityKind,
    EntityKey,
    Agreement,
    Before,
    After,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Actor).string_len(200).not_null())
                    .col(ColumnDef::new(AuditLog::Action).string_len(64).not_null())
                    .col(
                        ColumnDef::new(AuditLog::EntityKind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::EntityKey)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Agreement).string_len(40).null())
                    .col(ColumnDef::new(AuditLog::Before).text().null())
                    .col(ColumnDef::new(AuditLog::After).text().null())
                    .col(ColumnDef::new(AuditLog::PrevHash).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Hash).string_len(64).not_null())
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_audit_log_entity",
                vec![AuditLog::EntityKind, AuditLog::EntityKey, AuditLog::Id],
            ),
            (
                "ix_audit_log_agreement",
                vec![AuditLog::Agreement, AuditLog::Id],
            ),
            ("ix_audit_log_actor", vec![AuditLog::Actor, AuditLog::Id]),
            ("ix_audit_log_at", vec![AuditLog::At]),
        ] {
            let mut ix = Index::create();
            ix.name(name).table(AuditLog::Table);
            for c in cols {
                ix.col(c);
            }
            manager.create_index(ix.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }
}
