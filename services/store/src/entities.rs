//! SeaORM entities, one module per table of `migrations/`. Money columns end in `_fen`.
//! Kept in step with the migration by hand; the store's tests round-trip them on both databases.

/// Table `banks`.
pub mod bank {
    use sea_orm::entity::prelude::*;

    /// One row of `banks`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "banks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub display_name: String,
        #[allow(missing_docs)]
        pub quota_fen: i64,
        #[allow(missing_docs)]
        pub covered_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub pool_exposure_fen: i64,
        #[allow(missing_docs)]
        pub npl_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub status_reason: String,
        #[allow(missing_docs)]
        pub status_manual: bool,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub updated_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub rated_grade: Option<String>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `api_keys`.
pub mod api_key {
    use sea_orm::entity::prelude::*;

    /// One row of `api_keys`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub key_id: String,
        #[allow(missing_docs)]
        pub secret_sha256: String,
        #[allow(missing_docs)]
        pub role: String,
        #[allow(missing_docs)]
        pub bank_id: Option<String>,
        #[allow(missing_docs)]
        pub description: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub revoked_at: Option<DateTimeUtc>,
        /// The last business date the key works; none: until revoked.
        pub expires_on: Option<Date>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `idempotency_records`.
pub mod idempotency_record {
    use sea_orm::entity::prelude::*;

    /// One row of `idempotency_records`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub principal: String,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub method: String,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub request_id: String,
        #[allow(missing_docs)]
        pub request_sha256: String,
        #[sea_orm(column_type = "Blob")]
        #[allow(missing_docs)]
        pub response: Vec<u8>,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `pool_totals`.
pub mod pool_totals {
    use sea_orm::entity::prelude::*;

    /// One row of `pool_totals`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pool_totals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub id: i32,
        #[allow(missing_docs)]
        pub covered_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub pool_exposure_fen: i64,
        #[allow(missing_docs)]
        pub npl_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub covered_loans: i64,
        #[allow(missing_docs)]
        pub claims_filed: i64,
        #[allow(missing_docs)]
        pub compensation_approved_fen: i64,
        #[allow(missing_docs)]
        pub compensation_paid_fen: i64,
        #[allow(missing_docs)]
        pub shortfall_fen: i64,
        #[allow(missing_docs)]
        pub recoveries_fen: i64,
        #[allow(missing_docs)]
        pub suspended: bool,
        #[allow(missing_docs)]
        pub suspension_reason: String,
        #[allow(missing_docs)]
        pub net_pool_assets_fen: i64,
        #[allow(missing_docs)]
        pub committed_capital_fen: i64,
        #[allow(missing_docs)]
        pub updated_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `enterprise_exposures`.
pub mod enterprise_exposure {
    use sea_orm::entity::prelude::*;

    /// One row of `enterprise_exposures`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enterprise_exposures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub uscc: String,
        #[allow(missing_docs)]
        pub covered_outstanding_fen: i64,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `applications`.
pub mod application {
    use sea_orm::entity::prelude::*;

    /// One row of `applications`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "applications")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub application_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub uscc: String,
        #[allow(missing_docs)]
        pub enterprise_name: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub term_months: i32,
        #[allow(missing_docs)]
        pub annual_rate: String,
        #[allow(missing_docs)]
        pub submission: String,
        #[allow(missing_docs)]
        pub decision: String,
        #[allow(missing_docs)]
        pub outcome: String,
        #[allow(missing_docs)]
        pub grade: String,
        #[allow(missing_docs)]
        pub score: i32,
        #[allow(missing_docs)]
        pub pool_share: String,
        #[allow(missing_docs)]
        pub enterprise_cap_fen: i64,
        #[allow(missing_docs)]
        pub approval_expire_date: Option<Date>,
        #[allow(missing_docs)]
        pub policy_version: String,
        #[allow(missing_docs)]
        pub review_verdict: Option<String>,
        #[allow(missing_docs)]
        pub review_reason: Option<String>,
        #[allow(missing_docs)]
        pub reviewer: Option<String>,
        #[allow(missing_docs)]
        pub reviewed_at: Option<DateTimeUtc>,
        #[allow(missing_docs)]
        pub withdraw_reason: Option<String>,
        #[allow(missing_docs)]
        pub loan_id: Option<i64>,
        #[allow(missing_docs)]
        pub submitted_on: Date,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub updated_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `loans`.
pub mod loan {
    use sea_orm::entity::prelude::*;

    /// One row of `loans`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loans")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub application_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub bank_loan_number: String,
        #[allow(missing_docs)]
        pub uscc: String,
        #[allow(missing_docs)]
        pub enterprise_name: String,
        #[allow(missing_docs)]
        pub grade: String,
        #[allow(missing_docs)]
        pub pool_share: String,
        #[allow(missing_docs)]
        pub disbursed_fen: i64,
        #[allow(missing_docs)]
        pub disbursement_date: Date,
        #[allow(missing_docs)]
        pub maturity_date: Date,
        #[allow(missing_docs)]
        pub annual_rate: String,
        #[allow(missing_docs)]
        pub outstanding_fen: i64,
        #[allow(missing_docs)]
        pub pool_exposure_fen: i64,
        #[allow(missing_docs)]
        pub days_past_due: i32,
        #[allow(missing_docs)]
        pub classification: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub last_report_date: Date,
        #[allow(missing_docs)]
        pub default_date: Option<Date>,
        #[allow(missing_docs)]
        pub principal_at_default_fen: Option<i64>,
        #[allow(missing_docs)]
        pub closed_on: Option<Date>,
        #[allow(missing_docs)]
        pub policy_version: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub updated_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub renewals: i32,
        #[allow(missing_docs)]
        pub original_maturity_date: Option<Date>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `loan_status_reports`.
pub mod loan_status_report {
    use sea_orm::entity::prelude::*;

    /// One row of `loan_status_reports`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loan_status_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub report_id: i64,
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub report_date: Date,
        #[allow(missing_docs)]
        pub outstanding_fen: i64,
        #[allow(missing_docs)]
        pub days_past_due: i32,
        #[allow(missing_docs)]
        pub classification: String,
        #[allow(missing_docs)]
        pub repaid: bool,
        #[allow(missing_docs)]
        pub status_before: String,
        #[allow(missing_docs)]
        pub status_after: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `accounts`.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// One row of `accounts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub code: String,
        #[allow(missing_docs)]
        pub kind: String,
        #[allow(missing_docs)]
        pub debit_total_fen: i64,
        #[allow(missing_docs)]
        pub credit_total_fen: i64,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `journal_entries`.
pub mod journal_entry {
    use sea_orm::entity::prelude::*;

    /// One row of `journal_entries`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "journal_entries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub entry_id: i64,
        #[allow(missing_docs)]
        pub kind: String,
        #[allow(missing_docs)]
        pub effective_date: Date,
        #[allow(missing_docs)]
        pub memo: String,
        #[allow(missing_docs)]
        pub reverses_entry_id: Option<i64>,
        #[allow(missing_docs)]
        pub source: String,
        #[allow(missing_docs)]
        pub recorded_by: String,
        #[allow(missing_docs)]
        pub recorded_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `postings`.
pub mod posting {
    use sea_orm::entity::prelude::*;

    /// One row of `postings`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "postings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub posting_id: i64,
        #[allow(missing_docs)]
        pub entry_id: i64,
        #[allow(missing_docs)]
        pub account_code: String,
        #[allow(missing_docs)]
        pub debit_fen: i64,
        #[allow(missing_docs)]
        pub credit_fen: i64,
        #[allow(missing_docs)]
        pub effective_date: Date,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `claims`.
pub mod claim {
    use sea_orm::entity::prelude::*;

    /// One row of `claims`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claims")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub claim_id: i64,
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub principal_loss_fen: i64,
        #[allow(missing_docs)]
        pub pool_share: String,
        #[allow(missing_docs)]
        pub requested_fen: i64,
        #[allow(missing_docs)]
        pub compensation_fen: Option<i64>,
        #[allow(missing_docs)]
        pub paid_fen: i64,
        #[allow(missing_docs)]
        pub shortfall_fen: i64,
        #[allow(missing_docs)]
        pub recoveries_fen: i64,
        #[allow(missing_docs)]
        pub pool_recoveries_fen: i64,
        #[allow(missing_docs)]
        pub approvals_required: i32,
        #[allow(missing_docs)]
        pub cap_year: Option<i32>,
        #[allow(missing_docs)]
        pub rejection_reason: Option<String>,
        #[allow(missing_docs)]
        pub claim_date: Date,
        #[allow(missing_docs)]
        pub memo: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub decided_at: Option<DateTimeUtc>,
        #[allow(missing_docs)]
        pub cap_remaining_fen: Option<i64>,
        #[allow(missing_docs)]
        pub early_default: bool,
        #[allow(missing_docs)]
        pub granted_fen: Option<i64>,
        #[allow(missing_docs)]
        pub reduction_reason: Option<String>,
        #[allow(missing_docs)]
        pub reduction_note: Option<String>,
        #[allow(missing_docs)]
        pub rejection_code: Option<String>,
        #[allow(missing_docs)]
        pub cohort_year: Option<i32>,
        #[allow(missing_docs)]
        pub cohort_remaining_fen: Option<i64>,
        #[allow(missing_docs)]
        pub pool_share_rows: String,
        #[allow(missing_docs)]
        pub share_policy_version: String,
        #[allow(missing_docs)]
        pub pool_share_cut_from: Option<String>,
        #[allow(missing_docs)]
        pub bank_retained_fen: Option<i64>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `claim_approvals`.
pub mod claim_approval {
    use sea_orm::entity::prelude::*;

    /// One row of `claim_approvals`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claim_approvals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub claim_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub approver: String,
        #[allow(missing_docs)]
        pub comment: String,
        #[allow(missing_docs)]
        pub approval_date: Date,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub granted_fen: Option<i64>,
        #[allow(missing_docs)]
        pub reduction_reason: Option<String>,
        #[allow(missing_docs)]
        pub reduction_note: Option<String>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `bank_annual_compensation`.
pub mod bank_annual_compensation {
    use sea_orm::entity::prelude::*;

    /// One row of `bank_annual_compensation`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_annual_compensation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub bank_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub year: i32,
        #[allow(missing_docs)]
        pub compensation_fen: i64,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `bank_cohort_compensation`: compensation per bank and enrolment year, the
/// portfolio cap's lock row.
pub mod bank_cohort_compensation {
    use sea_orm::entity::prelude::*;

    /// One row of `bank_cohort_compensation`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_cohort_compensation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub bank_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub cohort_year: i32,
        #[allow(missing_docs)]
        pub compensation_fen: i64,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `co_sharing_parties`: the insurers and guarantee companies an administrator registered.
pub mod co_sharing_party {
    use sea_orm::entity::prelude::*;

    /// One row of `co_sharing_parties`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "co_sharing_parties")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub party_id: String,
        #[allow(missing_docs)]
        pub display_name: String,
        #[allow(missing_docs)]
        pub kind: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `claim_parts`: each co-sharer's part of a claim's principal loss.
pub mod claim_part {
    use sea_orm::entity::prelude::*;

    /// One row of `claim_parts`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claim_parts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub claim_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub party_id: String,
        #[allow(missing_docs)]
        pub position: i32,
        #[allow(missing_docs)]
        pub share: String,
        #[allow(missing_docs)]
        pub amount_fen: i64,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `recoveries`.
pub mod recovery {
    use sea_orm::entity::prelude::*;

    /// One row of `recoveries`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recoveries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub recovery_id: i64,
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub claim_id: i64,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub pool_share_fen: i64,
        #[allow(missing_docs)]
        pub recovery_date: Date,
        #[allow(missing_docs)]
        pub is_final: bool,
        #[allow(missing_docs)]
        pub settled_statement_id: Option<i64>,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `statements`.
pub mod statement {
    use sea_orm::entity::prelude::*;

    /// One row of `statements`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "statements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub statement_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub period: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub compensation_total_fen: i64,
        #[allow(missing_docs)]
        pub recoveries_total_fen: i64,
        #[allow(missing_docs)]
        pub contributions_due_total_fen: i64,
        #[allow(missing_docs)]
        pub shortfall_total_fen: i64,
        #[allow(missing_docs)]
        pub clawbacks_total_fen: i64,
        #[allow(missing_docs)]
        pub net_fen: i64,
        #[allow(missing_docs)]
        pub direction: String,
        #[allow(missing_docs)]
        pub content_sha256: String,
        #[allow(missing_docs)]
        pub built_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub confirmed_at: Option<DateTimeUtc>,
        #[allow(missing_docs)]
        pub amount_due_fen: i64,
        #[allow(missing_docs)]
        pub amount_paid_fen: i64,
        #[allow(missing_docs)]
        pub carried_to_statement_id: Option<i64>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `statement_lines`.
pub mod statement_line {
    use sea_orm::entity::prelude::*;

    /// One row of `statement_lines`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "statement_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub statement_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub line_number: i32,
        #[allow(missing_docs)]
        pub kind: String,
        #[allow(missing_docs)]
        pub source: String,
        #[allow(missing_docs)]
        pub description: String,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub party_id: Option<String>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `reconciliation_reports`.
pub mod reconciliation_report {
    use sea_orm::entity::prelude::*;

    /// One row of `reconciliation_reports`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reconciliation_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub report_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub as_of: Date,
        #[allow(missing_docs)]
        pub tape_sha256: String,
        #[allow(missing_docs)]
        pub rows_read: i64,
        #[allow(missing_docs)]
        pub rows_matched: i64,
        #[allow(missing_docs)]
        pub missing_in_pool: i64,
        #[allow(missing_docs)]
        pub missing_at_bank: i64,
        #[allow(missing_docs)]
        pub balance_mismatch: i64,
        #[allow(missing_docs)]
        pub status_mismatch: i64,
        #[allow(missing_docs)]
        pub duplicate_in_tape: i64,
        #[allow(missing_docs)]
        pub invalid_record: i64,
        #[allow(missing_docs)]
        pub tape_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub pool_outstanding_fen: i64,
        #[allow(missing_docs)]
        pub supersedes_report_id: Option<i64>,
        #[allow(missing_docs)]
        pub file_name: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `discrepancies`.
pub mod discrepancy {
    use sea_orm::entity::prelude::*;

    /// One row of `discrepancies`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "discrepancies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub report_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub sequence: i64,
        #[allow(missing_docs)]
        pub kind: String,
        #[allow(missing_docs)]
        pub line_number: i64,
        #[allow(missing_docs)]
        pub bank_loan_number: String,
        #[allow(missing_docs)]
        pub loan_id: Option<i64>,
        #[allow(missing_docs)]
        pub bank_value: String,
        #[allow(missing_docs)]
        pub pool_value: String,
        #[allow(missing_docs)]
        pub difference_fen: Option<i64>,
        #[allow(missing_docs)]
        pub detail: String,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `business_clock`: the simulated business date (one row).
pub mod business_clock {
    use sea_orm::entity::prelude::*;

    /// The one row of `business_clock`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "business_clock")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub id: i32,
        #[allow(missing_docs)]
        pub business_date: Date,
        #[allow(missing_docs)]
        pub updated_at: DateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `statement_payments`.
pub mod statement_payment {
    use sea_orm::entity::prelude::*;

    /// One row of `statement_payments`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "statement_payments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub payment_id: i64,
        #[allow(missing_docs)]
        pub statement_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub direction: String,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub value_date: Date,
        #[allow(missing_docs)]
        pub reference: String,
        #[allow(missing_docs)]
        pub recorded_by: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `settlement_allocations`.
pub mod settlement_allocation {
    use sea_orm::entity::prelude::*;

    /// One row of `settlement_allocations`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settlement_allocations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub allocation_id: i64,
        #[allow(missing_docs)]
        pub statement_id: i64,
        #[allow(missing_docs)]
        pub payment_id: Option<i64>,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub source: String,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub effective_date: Date,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `position_snapshots`: a closed month's position, computed once.
pub mod position_snapshot {
    use sea_orm::entity::prelude::*;

    /// One month-end snapshot.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "position_snapshots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub period: String,
        #[allow(missing_docs)]
        pub as_of: Date,
        /// The figures, JSON (`store::history::MonthEnd`).
        pub figures: String,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `audit_records`: one audited call; `sequence`, `previous_hash` and `hash` are set
/// when it is sealed into the chain.
pub mod audit_record {
    use sea_orm::entity::prelude::*;

    /// One audit record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_records")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub record_id: i64,
        #[allow(missing_docs)]
        pub recorded_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub key_id: String,
        #[allow(missing_docs)]
        pub role: String,
        #[allow(missing_docs)]
        pub bank_id: Option<String>,
        #[allow(missing_docs)]
        pub method: String,
        #[allow(missing_docs)]
        pub request_id: String,
        #[allow(missing_docs)]
        pub outcome: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub reason: String,
        /// Newline-separated resource names.
        pub resources: String,
        #[allow(missing_docs)]
        pub sequence: Option<i64>,
        #[allow(missing_docs)]
        pub previous_hash: Option<String>,
        #[allow(missing_docs)]
        pub hash: Option<String>,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `audit_chain`: the chain's head, one row.
pub mod audit_chain {
    use sea_orm::entity::prelude::*;

    /// The head.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_chain")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub id: i32,
        /// The last sealed sequence (0: none yet).
        pub sequence: i64,
        /// Its link.
        pub hash: String,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `loan_exclusions`: one per loan taken (or being taken) out of cover.
pub mod loan_exclusion {
    use sea_orm::entity::prelude::*;

    /// One row of `loan_exclusions`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loan_exclusions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub exclusion_id: i64,
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub status: String,
        #[allow(missing_docs)]
        pub reason: String,
        #[allow(missing_docs)]
        pub reason_text: String,
        #[allow(missing_docs)]
        pub exclusion_date: Date,
        #[allow(missing_docs)]
        pub first_officer: String,
        #[allow(missing_docs)]
        pub second_officer: Option<String>,
        #[allow(missing_docs)]
        pub officers_required: i32,
        #[allow(missing_docs)]
        pub exposure_released_fen: i64,
        #[allow(missing_docs)]
        pub compensation_cancelled_fen: i64,
        #[allow(missing_docs)]
        pub clawback_fen: i64,
        #[allow(missing_docs)]
        pub clawback_id: Option<i64>,
        #[allow(missing_docs)]
        pub claim_id: Option<i64>,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
        #[allow(missing_docs)]
        pub excluded_at: Option<DateTimeUtc>,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `clawbacks`: compensation a bank owes back for a loan excluded from cover.
pub mod clawback {
    use sea_orm::entity::prelude::*;

    /// One row of `clawbacks`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clawbacks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[allow(missing_docs)]
        pub clawback_id: i64,
        #[allow(missing_docs)]
        pub bank_id: String,
        #[allow(missing_docs)]
        pub loan_id: i64,
        #[allow(missing_docs)]
        pub claim_id: i64,
        #[allow(missing_docs)]
        pub amount_fen: i64,
        #[allow(missing_docs)]
        pub clawback_date: Date,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `bank_ratings`: each bank's grade per quarter, with its inputs.
pub mod bank_rating {
    use sea_orm::entity::prelude::*;

    /// One row of `bank_ratings`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bank_ratings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub bank_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        #[allow(missing_docs)]
        pub quarter: String,
        #[allow(missing_docs)]
        pub grade: String,
        #[allow(missing_docs)]
        pub npl_ratio: Option<String>,
        #[allow(missing_docs)]
        pub payout_ratio: Option<String>,
        #[allow(missing_docs)]
        pub early_defaults: i32,
        #[allow(missing_docs)]
        pub mismatch_rate: Option<String>,
        #[allow(missing_docs)]
        pub reason: String,
        #[allow(missing_docs)]
        pub policy_version: String,
        #[allow(missing_docs)]
        pub rated_on: Date,
        #[allow(missing_docs)]
        pub created_at: DateTimeUtc,
    }

    /// No declared relations: queries join by explicit filters.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
