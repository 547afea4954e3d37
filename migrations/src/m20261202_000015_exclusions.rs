//! Exclusion from cover and clawback: one exclusion per loan (awaiting a second officer or
//! done, with what it undid), and the clawbacks a bank owes back, netted on its statements.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("loan_exclusions")
                    .col(ColumnDef::new("exclusion_id").big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new("loan_id").big_integer().not_null().unique_key())
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("reason").string().not_null())
                    .col(ColumnDef::new("reason_text").text().not_null())
                    .col(ColumnDef::new("exclusion_date").date().not_null())
                    .col(ColumnDef::new("first_officer").string().not_null())
                    .col(ColumnDef::new("second_officer").string().null())
                    .col(ColumnDef::new("officers_required").integer().not_null())
                    .col(ColumnDef::new("exposure_released_fen").big_integer().not_null().default(0))
                    .col(ColumnDef::new("compensation_cancelled_fen").big_integer().not_null().default(0))
                    .col(ColumnDef::new("clawback_fen").big_integer().not_null().default(0))
                    .col(ColumnDef::new("clawback_id").big_integer().null())
                    .col(ColumnDef::new("claim_id").big_integer().null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new("excluded_at").timestamp_with_time_zone().null())
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("clawbacks")
                    .col(ColumnDef::new("clawback_id").big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("loan_id").big_integer().not_null())
                    .col(ColumnDef::new("claim_id").big_integer().not_null())
                    .col(ColumnDef::new("amount_fen").big_integer().not_null())
                    .col(ColumnDef::new("clawback_date").date().not_null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .take(),
            )
            .await?;
        manager.create_index(Index::create().name("clawbacks_by_bank").table("clawbacks").col("bank_id").take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("clawbacks").take()).await?;
        manager.drop_table(Table::drop().table("loan_exclusions").take()).await
    }
}
