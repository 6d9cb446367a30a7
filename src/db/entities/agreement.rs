//! `SeaORM` Entity for table `agreement`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agreement")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub reference: String,
    pub kind: String,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub title_lower: String,
    pub legal_basis: String,
    pub value_ore: Option<i64>,
    pub start_date: Date,
    pub original_end: Date,
    pub current_end: Date,
    pub outer_limit: Option<Date>,
    pub reservation: Option<String>,
    pub objectives: i64,
    pub framework_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub document: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub renews_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
