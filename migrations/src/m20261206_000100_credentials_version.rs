//! The credentials version: one row whose number goes up in the transaction of every change that
//! ends a credential (a token revoked, a user disabled, a password changed, a session ended), so
//! every instance on the database can keep signed-in users in memory and drop them as soon as
//! the number it reads differs from the one they were cached under.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CredentialsVersion {
    Table,
    Id,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CredentialsVersion::Table)
                    .col(
                        ColumnDef::new(CredentialsVersion::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CredentialsVersion::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let insert = Query::insert()
            .into_table(CredentialsVersion::Table)
            .columns([CredentialsVersion::Id, CredentialsVersion::Version])
            .values_panic([1.into(), 0.into()])
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CredentialsVersion::Table).to_owned())
            .await
    }
}
