//! A claim records how its pool share was reached: the rows of the pool-share table that
//! applied at underwriting (JSON) and the policy version that had them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            ColumnDef::new("pool_share_rows").text().not_null().default("[]").take(),
            ColumnDef::new("share_policy_version").string().not_null().default("").take(),
        ] {
            manager.alter_table(Table::alter().table("claims").add_column(&mut column).take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["share_policy_version", "pool_share_rows"] {
            manager.alter_table(Table::alter().table("claims").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
