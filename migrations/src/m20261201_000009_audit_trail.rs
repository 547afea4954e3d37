//! The audit trail: one record per mutating call, accepted or refused. A record is written
//! without its link (so writers never wait on each other), then sealed into the hash chain in
//! order by one sealer at a time, which alone updates the chain's head row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_records")
                    .col(big_pk_auto("record_id"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .col(string("key_id"))
                    .col(string("role"))
                    .col(string_null("bank_id"))
                    .col(string("method"))
                    .col(string("request_id"))
                    .col(string("outcome"))
                    .col(string("status"))
                    .col(text("reason"))
                    // Newline-separated resource names.
                    .col(text("resources"))
                    .col(big_integer_null("sequence"))
                    .col(string_null("previous_hash"))
                    .col(string_null("hash"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("audit_records_sequence").table("audit_records").col("sequence").unique().take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_records_bank")
                    .table("audit_records")
                    .col("bank_id")
                    .col("record_id")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_chain")
                    .col(integer("id").primary_key())
                    .col(big_integer("sequence"))
                    .col(string("hash"))
                    .take(),
            )
            .await?;
        let head = Query::insert()
            .into_table("audit_chain")
            .columns(["id", "sequence", "hash"])
            .values_panic([1.into(), 0i64.into(), domain_genesis().into()])
            .to_owned();
        manager.exec_stmt(head).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("audit_chain").take()).await?;
        manager.drop_table(Table::drop().table("audit_records").take()).await
    }
}

/// The previous link of the first record (`domain::trail::GENESIS`).
fn domain_genesis() -> String {
    "0".repeat(64)
}
