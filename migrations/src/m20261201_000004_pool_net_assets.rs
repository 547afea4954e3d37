//! Net pool assets and committed capital as running totals on the pool's totals row, kept by
//! every posting, so an enrolment checks leverage with one statement on that row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["net_pool_assets_fen", "committed_capital_fen"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("pool_totals")
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .take(),
                )
                .await?;
        }
        // Existing books: derive both from the accounts' running totals.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE pool_totals SET
                   net_pool_assets_fen = COALESCE((SELECT SUM(CASE
                       WHEN code = 'escrow_cash' OR code LIKE 'contributions_receivable:%' OR code LIKE 'recoveries_receivable:%'
                         THEN debit_total_fen - credit_total_fen
                       WHEN code LIKE 'compensation_payable:%' THEN debit_total_fen - credit_total_fen
                       ELSE 0 END) FROM accounts), 0),
                   committed_capital_fen = COALESCE((SELECT SUM(credit_total_fen - debit_total_fen)
                       FROM accounts WHERE code LIKE 'fund_capital:%'), 0)
                 WHERE id = 1",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["net_pool_assets_fen", "committed_capital_fen"] {
            manager.alter_table(Table::alter().table("pool_totals").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
