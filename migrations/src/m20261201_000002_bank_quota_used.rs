//! A bank's used quota is its covered outstanding: drop the duplicate column.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("banks").drop_column("quota_used_fen").take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("banks")
                    .add_column(ColumnDef::new("quota_used_fen").big_integer().not_null().default(0))
                    .take(),
            )
            .await
    }
}
