//! Partial approvals, rejection codes and early defaults: what each approval granted and
//! why, the claim's granted amount and reduction, its rejection code, and the early-default
//! flag. Claims decided before this migration read as granted whole (NULL).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, column) pairs, one `ALTER TABLE` each (SQLite adds one column per statement).
fn columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("claims", ColumnDef::new("early_default").boolean().not_null().default(false).take()),
        ("claims", ColumnDef::new("granted_fen").big_integer().null().take()),
        ("claims", ColumnDef::new("reduction_reason").string().null().take()),
        ("claims", ColumnDef::new("reduction_note").text().null().take()),
        ("claims", ColumnDef::new("rejection_code").string().null().take()),
        ("claim_approvals", ColumnDef::new("granted_fen").big_integer().null().take()),
        ("claim_approvals", ColumnDef::new("reduction_reason").string().null().take()),
        ("claim_approvals", ColumnDef::new("reduction_note").text().null().take()),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in columns() {
            manager.alter_table(Table::alter().table(table).add_column(&mut column).take()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns().into_iter().rev() {
            let name = column.get_column_name();
            manager.alter_table(Table::alter().table(table).drop_column(name).take()).await?;
        }
        Ok(())
    }
}
