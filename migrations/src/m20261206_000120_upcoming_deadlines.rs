//! The stored deadlines of the per-user pages: each agreement's plan (`agreement_plan`: the window
//! of days it holds for, whether the agreement has outcome targets, and its reference and title
//! for the pages), its deadlines without
//! reminders (`agreement_deadline`, dates and recorded facts only: whether a deadline is open,
//! passed or late on a day is derived when a page is read), and the addresses its deadlines can
//! name (`agreement_contact`, the index of calendar feeds). Derived from the agreement document
//! and rewritten with it; agreements stored before are planned after the migrations have run
//! (`db::plans::refresh`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AgreementPlan {
    Table,
    AgreementId,
    Reference,
    Title,
    ValidFrom,
    ValidUntil,
    Targets,
}

#[derive(DeriveIden)]
enum AgreementDeadline {
    Table,
    AgreementId,
    Seq,
    Kind,
    Date,
    Occurrence,
    What,
    Actor,
    Met,
    ReportKind,
    PeriodEnd,
    FinalReport,
    LateOn,
    EscalateOn,
    Opens,
    Recorded,
    Escalated,
    Responsible,
    Recipients,
}

#[derive(DeriveIden)]
enum AgreementContact {
    Table,
    Email,
    AgreementId,
}

fn cascade(from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(Agreement::Table, Agreement::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AgreementPlan::Table)
                    .col(
                        ColumnDef::new(AgreementPlan::AgreementId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AgreementPlan::Reference)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementPlan::Title).text().not_null())
                    .col(ColumnDef::new(AgreementPlan::ValidFrom).date())
                    .col(ColumnDef::new(AgreementPlan::ValidUntil).date())
                    .col(ColumnDef::new(AgreementPlan::Targets).boolean().not_null())
                    .foreign_key(&mut cascade((
                        AgreementPlan::Table,
                        AgreementPlan::AgreementId,
                    )))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgreementDeadline::Table)
                    .col(
                        ColumnDef::new(AgreementDeadline::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::Seq).integer().not_null())
                    .col(
                        ColumnDef::new(AgreementDeadline::Kind)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::Date).date().not_null())
                    .col(
                        ColumnDef::new(AgreementDeadline::Occurrence)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::What).text().not_null())
                    .col(
                        ColumnDef::new(AgreementDeadline::Actor)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::Met).boolean().not_null())
                    .col(ColumnDef::new(AgreementDeadline::ReportKind).text())
                    .col(ColumnDef::new(AgreementDeadline::PeriodEnd).date())
                    .col(
                        ColumnDef::new(AgreementDeadline::FinalReport)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::LateOn).date())
                    .col(ColumnDef::new(AgreementDeadline::EscalateOn).date())
                    .col(ColumnDef::new(AgreementDeadline::Opens).date())
                    .col(ColumnDef::new(AgreementDeadline::Recorded).string_len(20))
                    .col(
                        ColumnDef::new(AgreementDeadline::Escalated)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgreementDeadline::Responsible).string_len(20))
                    .col(
                        ColumnDef::new(AgreementDeadline::Recipients)
                            .text()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AgreementDeadline::AgreementId)
                            .col(AgreementDeadline::Seq),
                    )
                    .foreign_key(&mut cascade((
                        AgreementDeadline::Table,
                        AgreementDeadline::AgreementId,
                    )))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgreementContact::Table)
                    .col(
                        ColumnDef::new(AgreementContact::Email)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgreementContact::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AgreementContact::Email)
                            .col(AgreementContact::AgreementId),
                    )
                    .foreign_key(&mut cascade((
                        AgreementContact::Table,
                        AgreementContact::AgreementId,
                    )))
                    .to_owned(),
            )
            .await?;
        // The start page's deadlines of an agreement: those not met up to the horizon.
        manager
            .create_index(
                Index::create()
                    .name("ix_agreement_deadline_open")
                    .table(AgreementDeadline::Table)
                    .col(AgreementDeadline::AgreementId)
                    .col(AgreementDeadline::Met)
                    .col(AgreementDeadline::Date)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agreement_contact_agreement")
                    .table(AgreementContact::Table)
                    .col(AgreementContact::AgreementId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AgreementContact::Table.into_iden(),
            AgreementDeadline::Table.into_iden(),
            AgreementPlan::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
