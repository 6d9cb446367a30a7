//! The registry: organisations, contacts, agreements and their index tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    OrgNumber,
    Name,
    Kind,
    Document,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Contact {
    Table,
    Id,
    Email,
    Name,
    OrganisationId,
    Role,
    Active,
    Document,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy, PartialEq, Eq)]
enum Agreement {
    Table,
    Id,
    Reference,
    Kind,
    Status,
    Title,
    TitleLower,
    LegalBasis,
    ValueOre,
    StartDate,
    OriginalEnd,
    CurrentEnd,
    OuterLimit,
    Reservation,
    Objectives,
    FrameworkId,
    Document,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AgreementParty {
    Table,
    AgreementId,
    OrganisationId,
    Role,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .col(
                        ColumnDef::new(Organisation::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Organisation::OrgNumber)
                            .string_len(11)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Organisation::Name).string().not_null())
                    .col(ColumnDef::new(Organisation::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(Organisation::Document).text().not_null())
                    .col(
                        ColumnDef::new(Organisation::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(Organisation::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organisation::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Contact::Table)
                    .col(
                        ColumnDef::new(Contact::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Contact::Email)
                            .string_len(254)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Contact::Name).string().not_null())
                    .col(
                        ColumnDef::new(Contact::OrganisationId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Contact::Role).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Contact::Active)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ColumnDef::new(Contact::Document).text().not_null())
                    .col(
                        ColumnDef::new(Contact::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(Contact::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Contact::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::OrganisationId)
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_contact_org")
                    .table(Contact::Table)
                    .col(Contact::OrganisationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agreement::Table)
                    .col(
                        ColumnDef::new(Agreement::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Agreement::Reference)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Agreement::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Agreement::Status).string_len(32).not_null())
                    .col(ColumnDef::new(Agreement::Title).text().not_null())
                    .col(ColumnDef::new(Agreement::TitleLower).text().not_null())
                    .col(
                        ColumnDef::new(Agreement::LegalBasis)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Agreement::ValueOre).big_integer().null())
                    .col(ColumnDef::new(Agreement::StartDate).date().not_null())
                    .col(ColumnDef::new(Agreement::OriginalEnd).date().not_null())
                    .col(ColumnDef::new(Agreement::CurrentEnd).date().not_null())
                    .col(ColumnDef::new(Agreement::OuterLimit).date().null())
                    .col(ColumnDef::new(Agreement::Reservation).string_len(16).null())
                    .col(
                        ColumnDef::new(Agreement::Objectives)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Agreement::FrameworkId).big_integer().null())
                    .col(ColumnDef::new(Agreement::Document).text().not_null())
                    .col(
                        ColumnDef::new(Agreement::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(Agreement::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Agreement::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Agreement::Table, Agreement::FrameworkId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The list filters: every index starts with one filter column and carries the others, so
        // that counting and filtering are index-only scans (see BENCHMARKS.md).
        let filter_cols = [
            Agreement::CurrentEnd,
            Agreement::StartDate,
            Agreement::Status,
            Agreement::Objectives,
            Agreement::Kind,
            Agreement::Reservation,
            Agreement::LegalBasis,
        ];
        for (name, lead) in [
            ("ix_agreement_end", Agreement::CurrentEnd),
            ("ix_agreement_status", Agreement::Status),
            ("ix_agreement_kind", Agreement::Kind),
            ("ix_agreement_basis", Agreement::LegalBasis),
            ("ix_agreement_reservation", Agreement::Reservation),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Agreement::Table).col(lead);
            for c in filter_cols.into_iter().filter(|c| *c != lead) {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        // The sort columns alone (with the implicit row id), so that a page of an unselective
        // filter walks them in order instead of sorting every match.
        for (name, c) in [
            ("ix_agreement_sort_end", Agreement::CurrentEnd),
            ("ix_agreement_sort_start", Agreement::StartDate),
            ("ix_agreement_sort_value", Agreement::ValueOre),
            ("ix_agreement_sort_title", Agreement::TitleLower),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Agreement::Table)
                        .col(c)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_agreement_framework")
                    .table(Agreement::Table)
                    .col(Agreement::FrameworkId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgreementParty::Table)
                    .col(
                        ColumnDef::new(AgreementParty::AgreementId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgreementParty::OrganisationId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgreementParty::Role)
                            .string_len(32)
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AgreementParty::AgreementId)
                            .col(AgreementParty::OrganisationId)
                            .col(AgreementParty::Role),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgreementParty::Table, AgreementParty::AgreementId)
                            .to(Agreement::Table, Agreement::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgreementParty::Table, AgreementParty::OrganisationId)
                            .to(Organisation::Table, Organisation::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_party_org")
                    .table(AgreementParty::Table)
                    .col(AgreementParty::OrganisationId)
                    .col(AgreementParty::AgreementId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AgreementParty::Table.into_iden(),
            Agreement::Table.into_iden(),
            Contact::Table.into_iden(),
            Organisation::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
