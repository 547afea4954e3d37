//! API keys may expire: the last business date a key works (rotation leaves the old key
//! working until then).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("api_keys").add_column(ColumnDef::new("expires_on").date().null()).take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("api_keys").drop_column("expires_on").take()).await
    }
}
