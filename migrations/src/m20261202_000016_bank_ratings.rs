//! Quarterly bank ratings: each bank's grade with its inputs per quarter (re-rated on
//! demand within the quarter), and the last grade on the bank's row, which the policy may
//! tie watch and suspension to.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("bank_ratings")
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("quarter").string().not_null())
                    .col(ColumnDef::new("grade").string().not_null())
                    .col(ColumnDef::new("npl_ratio").string().null())
                    .col(ColumnDef::new("payout_ratio").string().null())
                    .col(ColumnDef::new("early_defaults").integer().not_null())
                    .col(ColumnDef::new("mismatch_rate").string().null())
                    .col(ColumnDef::new("reason").text().not_null())
                    .col(ColumnDef::new("policy_version").string().not_null())
                    .col(ColumnDef::new("rated_on").date().not_null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col("bank_id").col("quarter"))
                    .take(),
            )
            .await?;
        let mut grade = ColumnDef::new("rated_grade").string().null().take();
        manager.alter_table(Table::alter().table("banks").add_column(&mut grade).take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("banks").drop_column("rated_grade").take()).await?;
        manager.drop_table(Table::drop().table("bank_ratings").take()).await
    }
}
