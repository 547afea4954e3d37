//! The initial schema: every record DOMAIN.md names.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn create(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).take()
}

fn money(name: &'static str) -> ColumnDef {
    big_integer(name).default(0).take()
}

fn created_at() -> ColumnDef {
    timestamp_with_time_zone("created_at")
}

fn index(name: &'static str, table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(table).take();
    for column in columns {
        statement.col(*column);
    }
    if unique {
        statement.unique();
    }
    statement
}

fn foreign_key(
    from_table: &'static str,
    from_column: &'static str,
    to_table: &'static str,
    to_column: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_column)
        .to(to_table, to_column)
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            // Partner banks, with the running totals that bank-level limits lock on.
            create("banks")
                .col(string("bank_id").primary_key())
                .col(text("display_name"))
                .col(money("quota_fen"))
                .col(money("quota_used_fen"))
                .col(money("covered_outstanding_fen"))
                .col(money("pool_exposure_fen"))
                .col(money("npl_outstanding_fen"))
                .col(string("status"))
                .col(text("status_reason").default(""))
                .col(boolean("status_manual").default(false))
                .col(created_at())
                .col(timestamp_with_time_zone("updated_at"))
                .take(),
            // API keys: only the SHA-256 of the secret is stored.
            create("api_keys")
                .col(string("key_id").primary_key())
                .col(string_uniq("secret_sha256"))
                .col(string("role"))
                .col(string_null("bank_id"))
                .col(text("description"))
                .col(created_at())
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut foreign_key("api_keys", "bank_id", "banks", "bank_id"))
                .take(),
            // Remembered responses of successful mutating calls (AIP-155).
            create("idempotency_records")
                .col(string("principal"))
                .col(string("method"))
                .col(string("request_id"))
                .col(string("request_sha256"))
                .col(blob("response"))
                .col(created_at())
                .primary_key(Index::create().col("principal").col("method").col("request_id"))
                .take(),
            // The pool's running totals: one row, locked by every change to exposure.
            create("pool_totals")
                .col(integer("id").primary_key())
                .col(money("covered_outstanding_fen"))
                .col(money("pool_exposure_fen"))
                .col(money("npl_outstanding_fen"))
                .col(big_integer("covered_loans").default(0))
                .col(big_integer("claims_filed").default(0))
                .col(money("compensation_approved_fen"))
                .col(money("compensation_paid_fen"))
                .col(money("shortfall_fen"))
                .col(money("recoveries_fen"))
                .col(boolean("suspended").default(false))
                .col(text("suspension_reason").default(""))
                .col(timestamp_with_time_zone("updated_at"))
                .take(),
            // Covered outstanding per enterprise across all banks: the per-enterprise cap's lock row.
            create("enterprise_exposures")
                .col(string("uscc").primary_key())
                .col(money("covered_outstanding_fen"))
                .take(),
            create("applications")
                .col(big_pk_auto("application_id"))
                .col(string("bank_id"))
                .col(string("uscc"))
                .col(text("enterprise_name"))
                .col(string("status"))
                .col(money("amount_fen"))
                .col(integer("term_months"))
                .col(string("annual_rate"))
                // The whole submission and decision, as the domain serialises them.
                .col(text("submission"))
                .col(text("decision"))
                .col(string("outcome"))
                .col(string("grade"))
                .col(integer("score"))
                .col(string("pool_share"))
                .col(money("enterprise_cap_fen"))
                .col(date_null("approval_expire_date"))
                .col(string("policy_version"))
                .col(string_null("review_verdict"))
                .col(text_null("review_reason"))
                .col(string_null("reviewer"))
                .col(timestamp_with_time_zone_null("reviewed_at"))
                .col(text_null("withdraw_reason"))
                .col(big_integer_null("loan_id"))
                .col(date("submitted_on"))
                .col(created_at())
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut foreign_key("applications", "bank_id", "banks", "bank_id"))
                .take(),
            create("loans")
                .col(big_pk_auto("loan_id"))
                .col(big_integer_uniq("application_id"))
                .col(string("bank_id"))
                .col(string("bank_loan_number"))
                .col(string("uscc"))
                .col(text("enterprise_name"))
                .col(string("grade"))
                .col(string("pool_share"))
                .col(money("disbursed_fen"))
                .col(date("disbursement_date"))
                .col(date("maturity_date"))
                .col(string("annual_rate"))
                .col(money("outstanding_fen"))
                .col(money("pool_exposure_fen"))
                .col(integer("days_past_due").default(0))
                .col(string("classification"))
                .col(string("status"))
                .col(date("last_report_date"))
                .col(date_null("default_date"))
                .col(big_integer_null("principal_at_default_fen"))
                .col(date_null("closed_on"))
                .col(string("policy_version"))
                .col(created_at())
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut foreign_key("loans", "bank_id", "banks", "bank_id"))
                .foreign_key(&mut foreign_key("loans", "application_id", "applications", "application_id"))
                .take(),
            create("loan_status_reports")
                .col(big_pk_auto("report_id"))
                .col(big_integer("loan_id"))
                .col(date("report_date"))
                .col(money("outstanding_fen"))
                .col(integer("days_past_due"))
                .col(string("classification"))
                .col(boolean("repaid"))
                .col(string("status_before"))
                .col(string("status_after"))
                .col(created_at())
                .foreign_key(&mut foreign_key("loan_status_reports", "loan_id", "loans", "loan_id"))
                .take(),
            // The chart of accounts with running debit and credit totals.
            create("accounts")
                .col(string("code").primary_key())
                .col(string("kind"))
                .col(money("debit_total_fen"))
                .col(money("credit_total_fen"))
                .take(),
            // Immutable journal entries; corrections are reversing entries.
            create("journal_entries")
                .col(big_pk_auto("entry_id"))
                .col(string("kind"))
                .col(date("effective_date"))
                .col(text("memo"))
                .col(big_integer_null("reverses_entry_id").unique_key())
                .col(string("source").default(""))
                .col(string("recorded_by"))
                .col(timestamp_with_time_zone("recorded_at"))
                .take(),
            create("postings")
                .col(big_pk_auto("posting_id"))
                .col(big_integer("entry_id"))
                .col(string("account_code"))
                .col(money("debit_fen"))
                .col(money("credit_fen"))
                .col(date("effective_date"))
                .foreign_key(&mut foreign_key("postings", "entry_id", "journal_entries", "entry_id"))
                .foreign_key(&mut foreign_key("postings", "account_code", "accounts", "code"))
                .take(),
            create("claims")
                .col(big_pk_auto("claim_id"))
                .col(big_integer("loan_id"))
                .col(string("bank_id"))
                .col(string("status"))
                .col(money("principal_loss_fen"))
                .col(string("pool_share"))
                .col(money("requested_fen"))
                .col(big_integer_null("compensation_fen"))
                .col(money("paid_fen"))
                .col(money("shortfall_fen"))
                .col(money("recoveries_fen"))
                .col(money("pool_recoveries_fen"))
                .col(integer("approvals_required"))
                .col(integer_null("cap_year"))
                .col(text_null("rejection_reason"))
                .col(date("claim_date"))
                .col(text("memo").default(""))
                .col(created_at())
                .col(timestamp_with_time_zone_null("decided_at"))
                .foreign_key(&mut foreign_key("claims", "loan_id", "loans", "loan_id"))
                .take(),
            create("claim_approvals")
                .col(big_integer("claim_id"))
                .col(string("approver"))
                .col(text("comment"))
                .col(date("approval_date"))
                .col(created_at())
                .primary_key(Index::create().col("claim_id").col("approver"))
                .foreign_key(&mut foreign_key("claim_approvals", "claim_id", "claims", "claim_id"))
                .take(),
            // Compensation approved per bank and calendar year: the annual cap's lock row.
            create("bank_annual_compensation")
                .col(string("bank_id"))
                .col(integer("year"))
                .col(money("compensation_fen"))
                .primary_key(Index::create().col("bank_id").col("year"))
                .take(),
            create("recoveries")
                .col(big_pk_auto("recovery_id"))
                .col(big_integer("loan_id"))
                .col(big_integer("claim_id"))
                .col(money("amount_fen"))
                .col(money("pool_share_fen"))
                .col(date("recovery_date"))
                .col(boolean("is_final"))
                .col(created_at())
                .foreign_key(&mut foreign_key("recoveries", "claim_id", "claims", "claim_id"))
                .take(),
            create("statements")
                .col(big_pk_auto("statement_id"))
                .col(string("bank_id"))
                .col(string("period"))
                .col(string("status"))
                .col(money("compensation_total_fen"))
                .col(money("recoveries_total_fen"))
                .col(money("contributions_due_total_fen"))
                .col(money("shortfall_total_fen"))
                .col(money("net_fen"))
                .col(string("direction"))
                .col(string("content_sha256"))
                .col(timestamp_with_time_zone("built_at"))
                .col(timestamp_with_time_zone_null("confirmed_at"))
                .foreign_key(&mut foreign_key("statements", "bank_id", "banks", "bank_id"))
                .take(),
            create("statement_lines")
                .col(big_integer("statement_id"))
                .col(integer("line_number"))
                .col(string("kind"))
                .col(string("source"))
                .col(text("description"))
                .col(money("amount_fen"))
                .primary_key(Index::create().col("statement_id").col("line_number"))
                .foreign_key(&mut foreign_key("statement_lines", "statement_id", "statements", "statement_id"))
                .take(),
            create("reconciliation_reports")
                .col(big_pk_auto("report_id"))
                .col(string("bank_id"))
                .col(date("as_of"))
                .col(string("tape_sha256"))
                .col(big_integer("rows_read"))
                .col(big_integer("rows_matched"))
                .col(big_integer("missing_in_pool"))
                .col(big_integer("missing_at_bank"))
                .col(big_integer("balance_mismatch"))
                .col(big_integer("status_mismatch"))
                .col(big_integer("duplicate_in_tape"))
                .col(big_integer("invalid_record"))
                .col(money("tape_outstanding_fen"))
                .col(money("pool_outstanding_fen"))
                .col(big_integer_null("supersedes_report_id"))
                .col(text("file_name").default(""))
                .col(created_at())
                .foreign_key(&mut foreign_key("reconciliation_reports", "bank_id", "banks", "bank_id"))
                .take(),
            create("discrepancies")
                .col(big_integer("report_id"))
                .col(big_integer("sequence"))
                .col(string("kind"))
                .col(big_integer("line_number"))
                .col(text("bank_loan_number"))
                .col(big_integer_null("loan_id"))
                .col(text("bank_value"))
                .col(text("pool_value"))
                .col(big_integer_null("difference_fen"))
                .col(text("detail"))
                .primary_key(Index::create().col("report_id").col("sequence"))
                .foreign_key(&mut foreign_key("discrepancies", "report_id", "reconciliation_reports", "report_id"))
                .take(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }

        let indexes = [
            index("idx_api_keys_bank", "api_keys", &["bank_id"], false),
            index("idx_applications_bank_created", "applications", &["bank_id", "application_id"], false),
            index("idx_applications_uscc", "applications", &["uscc"], false),
            index("idx_applications_status", "applications", &["status"], false),
            index("uq_loans_bank_number", "loans", &["bank_id", "bank_loan_number"], true),
            index("idx_loans_uscc", "loans", &["uscc"], false),
            index("idx_loans_status", "loans", &["status"], false),
            index("idx_loan_reports_loan", "loan_status_reports", &["loan_id", "report_date"], false),
            index("idx_postings_account_date", "postings", &["account_code", "effective_date"], false),
            index("idx_postings_entry", "postings", &["entry_id"], false),
            index("idx_journal_effective", "journal_entries", &["effective_date"], false),
            index("idx_claims_loan", "claims", &["loan_id"], false),
            index("idx_claims_bank", "claims", &["bank_id", "claim_id"], false),
            index("idx_recoveries_claim", "recoveries", &["claim_id"], false),
            index("uq_statements_bank_period", "statements", &["bank_id", "period"], true),
            index("uq_reconciliation_tape", "reconciliation_reports", &["bank_id", "as_of", "tape_sha256"], true),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }

        // The single row of running totals exists from the start, so every enrolment can lock it.
        let seed = Query::insert()
            .into_table("pool_totals")
            .columns(["id", "updated_at"])
            .values([1.into(), Expr::current_timestamp()])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .take();
        manager.exec_stmt(seed).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "discrepancies",
            "reconciliation_reports",
            "statement_lines",
            "statements",
            "recoveries",
            "bank_annual_compensation",
            "claim_approvals",
            "claims",
            "postings",
            "journal_entries",
            "accounts",
            "loan_status_reports",
            "loans",
            "applications",
            "enterprise_exposures",
            "pool_totals",
            "idempotency_records",
            "api_keys",
            "banks",
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
