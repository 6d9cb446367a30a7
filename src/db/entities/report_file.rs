//! `SeaORM` Entity for table `report_file`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_file")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agreement_id: i64,
    pub agreement_reference: String,
    #[sea_orm(column_type = "Text")]
    pub report: String,
    pub period_end: Date,
    #[sea_orm(column_type = "Text")]
    pub file_name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub original_name: Option<String>,
    pub media_type: String,
    pub sha256: String,
    pub size_bytes: i64,
    #[sea_orm(column_type = "Blob")]
    pub content: Vec<u8>,
    #[sea_orm(column_type = "Text")]
    pub uploaded_by: String,
    pub uploaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
