//! Month-end position snapshots: the history page reads each closed month once computed,
//! instead of scanning the journal and the loan book for every month it shows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("position_snapshots")
                    .col(ColumnDef::new("period").string().not_null().primary_key())
                    .col(ColumnDef::new("as_of").date().not_null())
                    .col(ColumnDef::new("figures").text().not_null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("position_snapshots_as_of").table("position_snapshots").col("as_of").take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("position_snapshots").take()).await
    }
}
