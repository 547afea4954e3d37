//! The portfolio cap rate: compensation per bank and enrolment year (cohort), the lock row
//! of the cap as `bank_annual_compensation` is the annual cap's; and on each claim the
//! cohort and what its cap left when the claim was decided.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("bank_cohort_compensation")
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("cohort_year").integer().not_null())
                    .col(ColumnDef::new("compensation_fen").big_integer().not_null().default(0))
                    .primary_key(Index::create().col("bank_id").col("cohort_year"))
                    .take(),
            )
            .await?;
        for mut column in [
            ColumnDef::new("cohort_year").integer().null().take(),
            ColumnDef::new("cohort_remaining_fen").big_integer().null().take(),
        ] {
            manager.alter_table(Table::alter().table("claims").add_column(&mut column).take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["cohort_remaining_fen", "cohort_year"] {
            manager.alter_table(Table::alter().table("claims").drop_column(column).take()).await?;
        }
        manager.drop_table(Table::drop().table("bank_cohort_compensation").take()).await
    }
}
