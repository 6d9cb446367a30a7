//! `SeaORM` Entity for table `signature_request`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signature_request")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub document_id: i64,
    pub agreement_id: i64,
    pub agreement_reference: String,
    pub sent_on: Date,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub sent_to: String,
    #[sea_orm(column_type = "Text")]
    pub sent_by: String,
    pub sent_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
