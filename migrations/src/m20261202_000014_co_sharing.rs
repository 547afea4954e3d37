//! Co-sharing parties (政银保, 政银担): the parties an administrator registers, each claim's
//! parts for them, what the bank's retention floor cut of the pool's share, and the memo
//! lines of a statement naming the party they are for; and a statement's total of clawbacks
//! (compensation paid on loans excluded from cover since).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("co_sharing_parties")
                    .col(ColumnDef::new("party_id").string().not_null().primary_key())
                    .col(ColumnDef::new("display_name").string().not_null())
                    .col(ColumnDef::new("kind").string().not_null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("claim_parts")
                    .col(ColumnDef::new("claim_id").big_integer().not_null())
                    .col(ColumnDef::new("party_id").string().not_null())
                    .col(ColumnDef::new("position").integer().not_null())
                    .col(ColumnDef::new("share").string().not_null())
                    .col(ColumnDef::new("amount_fen").big_integer().not_null())
                    .primary_key(Index::create().col("claim_id").col("party_id"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("claim_parts_by_party")
                    .table("claim_parts")
                    .col("party_id")
                    .col("claim_id")
                    .take(),
            )
            .await?;
        for mut column in [
            ColumnDef::new("pool_share_cut_from").string().null().take(),
            ColumnDef::new("bank_retained_fen").big_integer().null().take(),
        ] {
            manager.alter_table(Table::alter().table("claims").add_column(&mut column).take()).await?;
        }
        let mut party = ColumnDef::new("party_id").string().null().take();
        manager.alter_table(Table::alter().table("statement_lines").add_column(&mut party).take()).await?;
        let mut clawbacks = ColumnDef::new("clawbacks_total_fen").big_integer().not_null().default(0).take();
        manager.alter_table(Table::alter().table("statements").add_column(&mut clawbacks).take()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("statements").drop_column("clawbacks_total_fen").take()).await?;
        manager.alter_table(Table::alter().table("statement_lines").drop_column("party_id").take()).await?;
        for column in ["bank_retained_fen", "pool_share_cut_from"] {
            manager.alter_table(Table::alter().table("claims").drop_column(column).take()).await?;
        }
        manager.drop_table(Table::drop().table("claim_parts").take()).await?;
        manager.drop_table(Table::drop().table("co_sharing_parties").take()).await
    }
}
