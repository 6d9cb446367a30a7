//! The start page's index of open deadlines by party (`party_deadline`): one row for each
//! stored deadline that is not met (`agreement_deadline`) and each organisation that is a party
//! to its agreement, keyed so that an organisation's deadlines in a window of days, and its
//! reports due up to a day, are each one range of the key. Without it, a start page of 5,000
//! agreements looked up each agreement's deadlines on its own. Rewritten with the plan
//! (`db::plans`); filled here from the plans stored before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agreement {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartyDeadline {
    Table,
    OrganisationId,
    Report,
    Date,
    AgreementId,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartyDeadline::Table)
                    .col(
                        ColumnDef::new(PartyDeadline::OrganisationId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PartyDeadline::Report).boolean().not_null())
                    .col(ColumnDef::new(PartyDeadline::Date).date().not_null())
                    .col(
                        ColumnDef::new(PartyDeadline::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PartyDeadline::Seq).integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(PartyDeadline::OrganisationId)
                            .col(PartyDeadline::Report)
                            .col(PartyDeadline::Date)
                            .col(PartyDeadline::AgreementId)
                            .col(PartyDeadline::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartyDeadline::Table, PartyDeadline::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The rows of an agreement, deleted when its plan is written again.
        manager
            .create_index(
                Index::create()
                    .name("ix_party_deadline_agreement")
                    .table(PartyDeadline::Table)
                    .col(PartyDeadline::AgreementId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO party_deadline (organisation_id, report, date, agreement_id, seq) \
                 SELECT DISTINCT ap.organisation_id, d.kind = 'report', d.date, d.agreement_id, \
                 d.seq FROM agreement_deadline d \
                 JOIN agreement_party ap ON ap.agreement_id = d.agreement_id WHERE NOT d.met",
            )
            .await?;
        // Statistics now, so the first pages are not planned for an empty table.
        manager
            .get_connection()
            .execute_unprepared("ANALYZE party_deadline")
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PartyDeadline::Table).to_owned())
            .await
    }
}
