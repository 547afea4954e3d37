//! Renewal without principal repayment (无还本续贷): how many times a loan was renewed, and
//! the maturity it was enrolled with (NULL until the first renewal).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            ColumnDef::new("renewals").integer().not_null().default(0).take(),
            ColumnDef::new("original_maturity_date").date().null().take(),
        ] {
            manager.alter_table(Table::alter().table("loans").add_column(&mut column).take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["original_maturity_date", "renewals"] {
            manager.alter_table(Table::alter().table("loans").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
