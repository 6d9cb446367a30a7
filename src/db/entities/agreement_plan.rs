//! `SeaORM` Entity for table `agreement_plan`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agreement_plan")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agreement_id: i64,
    pub reference: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub targets: bool,
    /// Random, new with every plan written: see `db::plans::Survey::stamps`.
    pub stamp: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
