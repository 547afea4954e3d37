//! Statement payments as transfers of their own, what each settled, the claim's cap
//! breakdown, and the business clock shared by every server process on the database.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The simulated business date (one row, id 1); absent while the clock is the system's.
        manager
            .create_table(
                Table::create()
                    .table("business_clock")
                    .col(ColumnDef::new("id").integer().not_null().primary_key())
                    .col(ColumnDef::new("business_date").date().not_null())
                    .col(ColumnDef::new("updated_at").timestamp_with_time_zone().not_null())
                    .take(),
            )
            .await?;
        // What a confirmed statement agreed, and how much of it has been paid.
        for column in ["amount_due_fen", "amount_paid_fen"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("statements")
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("statements")
                    .add_column(ColumnDef::new("carried_to_statement_id").big_integer().null())
                    .take(),
            )
            .await?;
        // A transfer recorded against a statement, as on the custodian bank's statement.
        manager
            .create_table(
                Table::create()
                    .table("statement_payments")
                    .col(ColumnDef::new("payment_id").big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new("statement_id").big_integer().not_null())
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("direction").string().not_null())
                    .col(ColumnDef::new("amount_fen").big_integer().not_null())
                    .col(ColumnDef::new("value_date").date().not_null())
                    .col(ColumnDef::new("reference").string().not_null())
                    .col(ColumnDef::new("recorded_by").string().not_null())
                    .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_statement_payments_statement")
                    .table("statement_payments")
                    .col("statement_id")
                    .take(),
            )
            .await?;
        // Which item (claims/N, recoveries/N, accounts/…) a netting or a payment settled, by
        // how much and on which date: an item's amount open on a date is its amount less these.
        manager
            .create_table(
                Table::create()
                    .table("settlement_allocations")
                    .col(ColumnDef::new("allocation_id").big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new("statement_id").big_integer().not_null())
                    .col(ColumnDef::new("payment_id").big_integer().null())
                    .col(ColumnDef::new("bank_id").string().not_null())
                    .col(ColumnDef::new("source").string().not_null())
                    .col(ColumnDef::new("amount_fen").big_integer().not_null())
                    .col(ColumnDef::new("effective_date").date().not_null())
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_settlement_allocations_bank")
                    .table("settlement_allocations")
                    .col("bank_id")
                    .col("source")
                    .take(),
            )
            .await?;
        // The cap remaining when a claim was approved (its breakdown shows what the cap cut).
        manager
            .alter_table(
                Table::alter()
                    .table("claims")
                    .add_column(ColumnDef::new("cap_remaining_fen").big_integer().null())
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("claims").drop_column("cap_remaining_fen").take()).await?;
        manager.drop_table(Table::drop().table("settlement_allocations").take()).await?;
        manager.drop_table(Table::drop().table("statement_payments").take()).await?;
        for column in ["carried_to_statement_id", "amount_paid_fen", "amount_due_fen"] {
            manager.alter_table(Table::alter().table("statements").drop_column(column).take()).await?;
        }
        manager.drop_table(Table::drop().table("business_clock").take()).await
    }
}
