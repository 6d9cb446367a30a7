//! Failed logins per account and per client address, in the database so that every instance on
//! one database counts the same failures: a bucket (the SHA-256 of what is counted), the failures
//! in its window, and when the window started (Unix seconds).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailure {
    Table,
    Bucket,
    Failures,
    WindowStart,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailure::Table)
                    .col(
                        ColumnDef::new(LoginFailure::Bucket)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoginFailure::Failures).integer().not_null())
                    .col(
                        ColumnDef::new(LoginFailure::WindowStart)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_failure_window_start")
                    .table(LoginFailure::Table)
                    .col(LoginFailure::WindowStart)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailure::Table).to_owned())
            .await
    }
}
