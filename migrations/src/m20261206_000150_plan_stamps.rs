//! Each stored plan gets a stamp, a random number written anew with every plan (`db::plans`):
//! a page kept in memory is still right while the stamps of its agreements' plans are the ones
//! it was read with, whatever else was written since. 0 for the plans stored before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AgreementPlan {
    Table,
    Stamp,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementPlan::Table)
                    .add_column(
                        ColumnDef::new(AgreementPlan::Stamp)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AgreementPlan::Table)
                    .drop_column(AgreementPlan::Stamp)
                    .to_owned(),
            )
            .await
    }
}
