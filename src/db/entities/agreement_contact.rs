//! `SeaORM` Entity for table `agreement_contact`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agreement_contact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub email: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub agreement_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
