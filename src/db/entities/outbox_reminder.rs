//! `SeaORM` Entity for table `outbox_reminder`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_reminder")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reminder_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub recipient: String,
    pub outbox_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
