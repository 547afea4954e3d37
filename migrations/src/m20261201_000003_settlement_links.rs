//! Links recoveries to the statement that settled them, and claims to their last settlement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("recoveries")
                    .add_column(ColumnDef::new("settled_statement_id").big_integer().null())
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("recoveries")
                    .add_column(ColumnDef::new("bank_id").string().not_null().default(""))
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_recoveries_bank").table("recoveries").col("bank_id").take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_recoveries_bank").table("recoveries").to_owned()).await?;
        manager.alter_table(Table::alter().table("recoveries").drop_column("bank_id").take()).await?;
        manager.alter_table(Table::alter().table("recoveries").drop_column("settled_statement_id").take()).await
    }
}
