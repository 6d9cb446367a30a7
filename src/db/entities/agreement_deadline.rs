//! `SeaORM` Entity for table `agreement_deadline`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agreement_deadline")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agreement_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub kind: String,
    pub date: Date,
    #[sea_orm(column_type = "Text")]
    pub occurrence: String,
    #[sea_orm(column_type = "Text")]
    pub what: String,
    pub actor: String,
    pub met: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub report_kind: Option<String>,
    pub period_end: Option<Date>,
    pub final_report: bool,
    pub late_on: Option<Date>,
    pub escalate_on: Option<Date>,
    pub opens: Option<Date>,
    pub recorded: Option<String>,
    pub escalated: bool,
    pub responsible: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub recipients: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
