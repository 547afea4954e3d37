//! `techcredit.v1.SettlementService`: claims, compensation, recoveries and monthly
//! settlement statements, and loan-tape reconciliation. Money moves only through the ledger.

mod export;
mod reconcile;

use chrono::Datelike;
use domain::claims::{self, ClaimError};
use domain::ledger::{Account, Contributor, EntryDraft};
use domain::loan::LoanStatus;
use domain::statement::{self as st, Line, LineKind, Period};
use domain::{BankId, Money, Principal, Role};
use proto::v1::{self as pb, settlement_service_server::SettlementService};
use rpc::auth::{bank_scope, principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today, format_date, timestamp};
use rpc::{ApiError, AppState, idempotent};
use sha2::{Digest, Sha256};
use store::claims::{ClaimChange, ClaimRecord, ClaimStatus, NewClaim};
use store::exposure::ExposureDelta;
use store::sea_orm::ConnectionTrait;
use store::statements::StatementRecord;
use tonic::{Request, Response, Status};

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Settlement {
    state: AppState,
}

impl Settlement {
    /// A service over `state`.
    pub fn new(state: AppState) -> Settlement {
        Settlement { state }
    }
}

const FILE: &str = "/techcredit.v1.SettlementService/FileClaim";
const APPROVE: &str = "/techcredit.v1.SettlementService/ApproveClaim";
const REJECT: &str = "/techcredit.v1.SettlementService/RejectClaim";
const RECOVER: &str = "/techcredit.v1.SettlementService/ReportRecovery";
const CLOSE: &str = "/techcredit.v1.SettlementService/CloseLoan";
const RUN: &str = "/techcredit.v1.SettlementService/RunSettlement";
const CONFIRM: &str = "/techcredit.v1.SettlementService/ConfirmStatement";

const READERS: &[Role] = &[Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

fn refuse(error: ClaimError) -> ApiError {
    ApiError::precondition(error.reason(), error.to_string())
}

fn claim_status_to_wire(status: ClaimStatus) -> i32 {
    (match status {
        ClaimStatus::Filed => pb::ClaimStatus::Filed,
        ClaimStatus::PartiallyApproved => pb::ClaimStatus::PartiallyApproved,
        ClaimStatus::Approved => pb::ClaimStatus::Approved,
        ClaimStatus::Rejected => pb::ClaimStatus::Rejected,
        ClaimStatus::Paid => pb::ClaimStatus::Paid,
    }) as i32
}

fn claim_to_wire(claim: &ClaimRecord) -> pb::Claim {
    pb::Claim {
        name: format!("claims/{}", claim.claim_id),
        claim_id: claim.claim_id.to_string(),
        loan: format!("loans/{}", claim.loan_id),
        bank: format!("banks/{}", claim.bank_id),
        status: claim_status_to_wire(claim.status),
        principal_loss: claim.principal_loss.to_string(),
        pool_share: claim.pool_share.normalize().to_string(),
        requested_compensation: claim.requested.to_string(),
        compensation: claim.compensation.map(|c| c.to_string()).unwrap_or_default(),
        compensation_paid: claim.paid.to_string(),
        shortfall: claim.shortfall.to_string(),
        approvals: claim
            .approvals
            .iter()
            .map(|a| pb::ClaimApproval {
                approver: a.approver.clone(),
                approve_time: Some(timestamp(a.created_at)),
                comment: a.comment.clone(),
            })
            .collect(),
        approvals_required: i32::try_from(claim.approvals_required).unwrap_or(2),
        rejection_reason: claim.rejection_reason.clone().unwrap_or_default(),
        cap_year: claim.cap_year.unwrap_or_default(),
        file_time: Some(timestamp(claim.created_at)),
        decide_time: claim.decided_at.map(timestamp),
        recoveries_total: claim.recoveries.to_string(),
        pool_recoveries: claim.pool_recoveries.to_string(),
    }
}

fn statement_to_wire(record: &StatementRecord, entries: Vec<String>) -> pb::Statement {
    let s = &record.statement;
    pb::Statement {
        name: format!("statements/{}", record.statement_id),
        bank: format!("banks/{}", s.bank),
        period: s.period.to_string(),
        status: if record.confirmed { pb::StatementStatus::Confirmed } else { pb::StatementStatus::Draft } as i32,
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| pb::StatementLine {
                line_number: i32::try_from(index + 1).unwrap_or(i32::MAX),
                kind: pb::StatementLineKind::from_str_name(&format!("STATEMENT_LINE_KIND_{}", line.kind.as_str()))
                    .unwrap_or_default() as i32,
                source: line.source.clone(),
                description: line.description.clone(),
                amount: line.amount.to_string(),
            })
            .collect(),
        compensation_total: s.compensation_total.to_string(),
        recoveries_total: s.recoveries_total.to_string(),
        contributions_due_total: s.contributions_due_total.to_string(),
        shortfall_total: s.shortfall_total.to_string(),
        net_amount: s.net.to_string(),
        direction: pb::SettlementDirection::from_str_name(&format!("SETTLEMENT_DIRECTION_{}", s.direction.as_str()))
            .unwrap_or_default() as i32,
        content_sha256: record.content_sha256.clone(),
        build_time: Some(timestamp(record.built_at)),
        confirm_time: record.confirmed_at.map(timestamp),
        journal_entries: entries,
    }
}

async fn statement_entries(connection: &impl ConnectionTrait, statement_id: i64) -> Result<Vec<String>, ApiError> {
    let ids = store::ledger::entry_ids_by_source(connection, &format!("statements/{statement_id}")).await?;
    Ok(ids.into_iter().map(|id| format!("journalEntries/{id}")).collect())
}

fn visible_claim(caller: &Principal, claim: Option<ClaimRecord>, name: &str) -> Result<ClaimRecord, ApiError> {
    let claim = claim.ok_or_else(|| ApiError::not_found(name))?;
    require_bank_visible(caller, &claim.bank_id, name)?;
    Ok(claim)
}

/// Removes a closed loan's exposure from the running totals and closes it.
async fn close_loan(
    connection: &impl ConnectionTrait,
    loan: &store::loans::LoanRecord,
    date: chrono::NaiveDate,
) -> Result<(), ApiError> {
    // Lock order everywhere: enterprise, bank, pool.
    store::exposure::lock_enterprise(connection, &loan.uscc).await?;
    store::banks::get_for_update(connection, &loan.bank_id).await?;
    store::ledger::lock_pool(connection).await?;
    let npl = if domain::loan::is_non_performing(loan.state.classification) { loan.state.outstanding.fen() } else { 0 };
    let delta = ExposureDelta {
        outstanding: -loan.state.outstanding.fen(),
        pool_exposure: -loan.pool_exposure.fen(),
        npl_outstanding: -npl,
        loans: -1,
    };
    store::exposure::apply(connection, &loan.bank_id, &loan.uscc, delta).await?;
    let mut closed = loan.state.clone();
    closed.status = LoanStatus::Closed;
    closed.last_report_date = closed.last_report_date.max(date);
    store::loans::set_state(connection, loan, &closed, Money::ZERO).await?;
    Ok(())
}

impl Settlement {
    async fn file_claim(&self, request: Request<pb::FileClaimRequest>) -> Result<pb::FileClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let loan_id = v.numeric_name("loan", &body.loan, "loans");
        let claim_date = v.past_date("claim_date", &body.claim_date);
        let (Some(request_id), Some(loan_id), Some(claim_date)) = (request_id, loan_id, claim_date) else {
            return Err(v.into_error());
        };
        v.finish()?;
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, FILE, request_id, &body, |txn| {
            let loan =
                store::loans::get_for_update(txn, loan_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            require_bank_visible(&caller, &loan.bank_id, &body.loan)?;
            if store::claims::live_for_loan(txn, loan_id).await?.is_some() {
                return Err(ApiError::precondition(
                    "LOAN_ALREADY_CLAIMED",
                    format!("{} already has a claim", body.loan),
                ));
            }
            if loan.state.status != LoanStatus::Defaulted {
                return Err(refuse(ClaimError::LoanNotDefaulted(loan.state.status.to_string())));
            }
            let (Some(default_date), Some(loss)) = (loan.state.default_date, loan.state.principal_at_default) else {
                return Err(ApiError::Internal(format!("defaulted loan {loan_id} has no default figures")));
            };
            claims::check_filing(&policy, default_date, claim_date).map_err(refuse)?;
            let requested = claims::requested_compensation(loss, loan.pool_share);
            let claim = store::claims::insert(
                txn,
                &NewClaim {
                    loan_id,
                    bank_id: loan.bank_id.clone(),
                    principal_loss: loss,
                    pool_share: loan.pool_share,
                    requested,
                    approvals_required: claims::approvals_required(&policy, requested),
                    claim_date,
                    memo: body.memo.trim().to_owned(),
                },
            )
            .await?;
            let mut claimed = loan.state.clone();
            claimed.status = LoanStatus::Claimed;
            store::loans::set_state(txn, &loan, &claimed, loan.pool_exposure).await?;
            store::ledger::lock_pool(txn).await?;
            store::exposure::add_pool_counters(txn, 1, 0, 0, 0, 0).await?;
            tracing::info!(claim_id = claim.claim_id, loan_id, requested = %requested, "claim filed");
            pb::FileClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    async fn approve(&self, request: Request<pb::ApproveClaimRequest>) -> Result<pb::ApproveClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let claim_id = v.numeric_name("name", &body.name, "claims");
        let date = v.past_date("approval_date", &body.approval_date);
        let (Some(request_id), Some(claim_id), Some(date)) = (request_id, claim_id, date) else {
            return Err(v.into_error());
        };
        v.finish()?;
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, APPROVE, request_id, &body, |txn| {
            let claim =
                store::claims::get_for_update(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            if !matches!(claim.status, ClaimStatus::Filed | ClaimStatus::PartiallyApproved) {
                return Err(ApiError::precondition(
                    "CLAIM_NOT_PENDING",
                    format!("claim is {}; only FILED or PARTIALLY_APPROVED claims are approved", claim.status.as_str()),
                ));
            }
            if date < claim.claim_date {
                return Err(ApiError::invalid(
                    "approval_date",
                    format!("is before the claim date {}", claim.claim_date),
                ));
            }
            if claim.approvals.iter().any(|a| a.approver == caller.key_id) {
                return Err(refuse(ClaimError::SameApprover));
            }
            store::claims::add_approval(txn, claim_id, &caller.key_id, body.comment.trim(), date).await?;
            let approvals = claim.approvals.len() as u32 + 1;
            if approvals < claim.approvals_required {
                store::claims::update(
                    txn,
                    claim_id,
                    ClaimChange { status: Some(ClaimStatus::PartiallyApproved), ..Default::default() },
                )
                .await?;
            } else {
                let year = date.year();
                let loan = store::loans::get_for_update(txn, claim.loan_id)
                    .await?
                    .ok_or_else(|| ApiError::Internal(format!("loan of claim {claim_id} missing")))?;
                store::ledger::lock_pool(txn).await?;
                let used = store::claims::lock_annual(txn, &claim.bank_id, year).await?;
                let remaining = policy.claims.annual_cap_per_bank.saturating_sub(used);
                let compensation = claims::compensation(claim.principal_loss, claim.pool_share, remaining);
                if compensation.is_zero() {
                    return Err(refuse(ClaimError::AnnualCapExhausted { year }));
                }
                let draft =
                    EntryDraft::claim_approved(&claim.bank_id, compensation, date, &format!("claim {claim_id}"))
                        .with_source(format!("claims/{claim_id}"));
                store::ledger::post(txn, &draft, &caller.key_id, None).await.map_err(ApiError::from)?;
                store::claims::set_annual(txn, &claim.bank_id, year, Money::from_fen(used.fen() + compensation.fen()))
                    .await?;
                store::claims::update(
                    txn,
                    claim_id,
                    ClaimChange {
                        status: Some(ClaimStatus::Approved),
                        compensation: Some(compensation),
                        cap_year: Some(year),
                        decided: true,
                        ..Default::default()
                    },
                )
                .await?;
                let mut compensated = loan.state.clone();
                compensated.status = LoanStatus::Compensated;
                store::loans::set_state(txn, &loan, &compensated, loan.pool_exposure).await?;
                store::exposure::add_pool_counters(txn, 0, compensation.fen(), 0, 0, 0).await?;
                tracing::info!(claim_id, compensation = %compensation, year, "claim approved");
            }
            let claim = store::claims::get(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            pb::ApproveClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    async fn reject(&self, request: Request<pb::RejectClaimRequest>) -> Result<pb::RejectClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let claim_id = v.numeric_name("name", &body.name, "claims");
        let reason = v.text("reason", &body.reason, 2000);
        let (Some(request_id), Some(claim_id), Some(reason)) = (request_id, claim_id, reason) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, REJECT, request_id, &body, |txn| {
            let claim =
                store::claims::get_for_update(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            if !matches!(claim.status, ClaimStatus::Filed | ClaimStatus::PartiallyApproved) {
                return Err(ApiError::precondition(
                    "CLAIM_NOT_PENDING",
                    format!("claim is {}; only FILED or PARTIALLY_APPROVED claims are rejected", claim.status.as_str()),
                ));
            }
            store::claims::update(
                txn,
                claim_id,
                ClaimChange {
                    status: Some(ClaimStatus::Rejected),
                    rejection_reason: Some(reason.clone()),
                    decided: true,
                    ..Default::default()
                },
            )
            .await?;
            // The loan is defaulted again; the bank may file a corrected claim within the deadline.
            if let Some(loan) = store::loans::get_for_update(txn, claim.loan_id).await? {
                let mut defaulted = loan.state.clone();
                defaulted.status = LoanStatus::Defaulted;
                store::loans::set_state(txn, &loan, &defaulted, loan.pool_exposure).await?;
            }
            let claim = store::claims::get(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            pb::RejectClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    async fn report_recovery(
        &self,
        request: Request<pb::ReportRecoveryRequest>,
    ) -> Result<pb::ReportRecoveryResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let loan_id = v.numeric_name("loan", &body.loan, "loans");
        let amount = v.money_positive("amount", &body.amount);
        let date = v.past_date("recovery_date", &body.recovery_date);
        let (Some(request_id), Some(loan_id), Some(amount), Some(date)) = (request_id, loan_id, amount, date) else {
            return Err(v.into_error());
        };
        v.finish()?;
        idempotent!(self.state, &caller, RECOVER, request_id, &body, |txn| {
            let loan =
                store::loans::get_for_update(txn, loan_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            require_bank_visible(&caller, &loan.bank_id, &body.loan)?;
            if !matches!(loan.state.status, LoanStatus::Compensated | LoanStatus::Recovering) {
                return Err(ApiError::precondition(
                    "LOAN_NOT_COMPENSATED",
                    format!("loan is {}; recoveries are reported on compensated loans", loan.state.status),
                ));
            }
            let claim = store::claims::live_for_loan(txn, loan_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("compensated loan {loan_id} has no claim")))?;
            let compensation = claim.compensation.unwrap_or_default();
            claims::check_recovery(claim.recoveries, amount, claim.principal_loss).map_err(refuse)?;
            let pool_part = claims::pool_share_of_recovery(amount, compensation, claim.principal_loss);
            if pool_part.fen() > 0 {
                let draft = EntryDraft::recovery_reported(
                    &claim.bank_id,
                    pool_part,
                    date,
                    &format!("recovery on loan {loan_id}"),
                )
                .with_source(format!("claims/{}", claim.claim_id));
                store::ledger::post(txn, &draft, &caller.key_id, None).await.map_err(ApiError::from)?;
            } else {
                store::ledger::lock_pool(txn).await?;
            }
            let recovery = store::claims::insert_recovery(txn, &claim, amount, pool_part, date, body.r#final).await?;
            store::claims::update(
                txn,
                claim.claim_id,
                ClaimChange {
                    recoveries: Some(Money::from_fen(claim.recoveries.fen() + amount.fen())),
                    pool_recoveries: Some(Money::from_fen(claim.pool_recoveries.fen() + pool_part.fen())),
                    ..Default::default()
                },
            )
            .await?;
            store::exposure::add_pool_counters(txn, 0, 0, 0, 0, pool_part.fen()).await?;
            if body.r#final {
                close_loan(txn, &loan, date).await?;
            } else {
                let mut recovering = loan.state.clone();
                recovering.status = LoanStatus::Recovering;
                store::loans::set_state(txn, &loan, &recovering, loan.pool_exposure).await?;
            }
            let claim =
                store::claims::get(txn, claim.claim_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            tracing::info!(loan_id, amount = %amount, pool_part = %pool_part, "recovery reported");
            pb::ReportRecoveryResponse {
                recovery: Some(pb::Recovery {
                    name: format!("recoveries/{}", recovery.recovery_id),
                    loan: body.loan.clone(),
                    claim: format!("claims/{}", claim.claim_id),
                    amount: amount.to_string(),
                    pool_share_amount: pool_part.to_string(),
                    recovery_date: format_date(date),
                    r#final: body.r#final,
                    report_time: Some(timestamp(recovery.created_at)),
                }),
                claim: Some(claim_to_wire(&claim)),
            }
        })
    }

    async fn close(&self, request: Request<pb::CloseLoanRequest>) -> Result<pb::CloseLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank, Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let loan_id = v.numeric_name("loan", &body.loan, "loans");
        let date = v.date("close_date", &body.close_date);
        let (Some(request_id), Some(loan_id), Some(date)) = (request_id, loan_id, date) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, CLOSE, request_id, &body, |txn| {
            let loan =
                store::loans::get_for_update(txn, loan_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            require_bank_visible(&caller, &loan.bank_id, &body.loan)?;
            if !matches!(loan.state.status, LoanStatus::Compensated | LoanStatus::Recovering) {
                return Err(ApiError::precondition(
                    "LOAN_NOT_COMPENSATED",
                    format!("loan is {}; only compensated loans are closed (written off)", loan.state.status),
                ));
            }
            close_loan(txn, &loan, date).await?;
            let claim = store::claims::live_for_loan(txn, loan_id).await?;
            pb::CloseLoanResponse { loan: body.loan.clone(), claim: claim.as_ref().map(claim_to_wire) }
        })
    }

    async fn get_claim(&self, request: Request<pb::GetClaimRequest>) -> Result<pb::GetClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(claim_id) = v.numeric_name("name", &body.name, "claims") else {
            return Err(v.into_error());
        };
        let claim = store::claims::get(self.state.store.connection(), claim_id).await?;
        let claim = visible_claim(&caller, claim, &body.name)?;
        Ok(pb::GetClaimResponse { claim: Some(claim_to_wire(&claim)) })
    }

    async fn list_claims(&self, request: Request<pb::ListClaimsRequest>) -> Result<pb::ListClaimsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let status = v.optional_enumeration::<pb::ClaimStatus>("status", body.status).map(|wire| {
            wire.and_then(|wire| ClaimStatus::parse(wire.as_str_name().trim_start_matches("CLAIM_STATUS_")))
        });
        let (Some(page), Some(bank), Some(status)) = (page, bank, status) else {
            return Err(v.into_error());
        };
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let mut claims = store::claims::list(
            self.state.store.connection(),
            bank.as_ref(),
            status,
            page.after.as_deref().and_then(|a| a.parse().ok()),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut claims, |c| c.claim_id.to_string());
        Ok(pb::ListClaimsResponse { claims: claims.iter().map(claim_to_wire).collect(), next_page_token })
    }

    async fn run_settlement(
        &self,
        request: Request<pb::RunSettlementRequest>,
    ) -> Result<pb::RunSettlementResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Batch, Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank = v.bank_name("bank", &body.bank);
        let period = match Period::parse(&body.period) {
            // The current month gives a month-to-date statement; confirm it once the month ends.
            Some(period) if period <= Period::of(business_today()) => Some(period),
            Some(_) => {
                v.add("period", "must not be a future month");
                None
            }
            None => {
                v.add("period", "must be a month like \"2025-06\"");
                None
            }
        };
        let (Some(request_id), Some(bank), Some(period)) = (request_id, bank, period) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, RUN, request_id, &body, |txn| {
            if store::banks::get(txn, &bank).await?.is_none() {
                return Err(ApiError::not_found(&body.bank));
            }
            let existing = store::statements::find_for_update(txn, &bank, period).await?;
            let record = match existing {
                Some(record) if record.confirmed => record,
                existing => {
                    let content = build_statement(txn, &bank, period).await?;
                    let sha = hex::encode(Sha256::digest(content.to_csv().as_bytes()));
                    store::statements::save_draft(txn, existing.map(|r| r.statement_id), &content, &sha).await?
                }
            };
            let entries = statement_entries(txn, record.statement_id).await?;
            pb::RunSettlementResponse { statement: Some(statement_to_wire(&record, entries)) }
        })
    }

    async fn confirm(
        &self,
        request: Request<pb::ConfirmStatementRequest>,
    ) -> Result<pb::ConfirmStatementResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let statement_id = v.numeric_name("name", &body.name, "statements");
        let sha = v.text("content_sha256", &body.content_sha256, 64);
        let (Some(request_id), Some(statement_id), Some(sha)) = (request_id, statement_id, sha) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, CONFIRM, request_id, &body, |txn| {
            let record = store::statements::get_for_update(txn, statement_id)
                .await?
                .ok_or_else(|| ApiError::not_found(&body.name))?;
            if record.confirmed {
                return Err(ApiError::precondition(
                    "STATEMENT_ALREADY_CONFIRMED",
                    format!("{} is already confirmed", body.name),
                ));
            }
            if record.content_sha256 != sha {
                return Err(ApiError::precondition(
                    "STATEMENT_CHANGED",
                    format!(
                        "{} has content {} now, not the {} that was reviewed; review it again",
                        body.name, record.content_sha256, sha
                    ),
                ));
            }
            let current = build_statement(txn, &record.statement.bank, record.statement.period).await?;
            if current != record.statement {
                return Err(ApiError::precondition(
                    "STATEMENT_STALE",
                    format!("the items of {} changed since it was built; run the settlement again", body.name),
                ));
            }
            post_statement(txn, &record, &caller.key_id).await?;
            let record = store::statements::confirm(txn, statement_id).await?;
            let entries = statement_entries(txn, statement_id).await?;
            tracing::info!(statement_id, net = %record.statement.net, direction = record.statement.direction.as_str(), "statement confirmed");
            pb::ConfirmStatementResponse { statement: Some(statement_to_wire(&record, entries)) }
        })
    }

    async fn get_statement(&self, caller: &Principal, name: &str) -> Result<StatementRecord, ApiError> {
        require_role(caller, READERS)?;
        let mut v = Violations::new();
        let Some(statement_id) = v.numeric_name("name", name, "statements") else {
            return Err(v.into_error());
        };
        let record = store::statements::get(self.state.store.connection(), statement_id)
            .await?
            .ok_or_else(|| ApiError::not_found(name))?;
        require_bank_visible(caller, &record.statement.bank, name)?;
        Ok(record)
    }

    async fn list_statements(
        &self,
        request: Request<pb::ListStatementsRequest>,
    ) -> Result<pb::ListStatementsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let period = if body.period.is_empty() {
            Some(None)
        } else {
            match Period::parse(&body.period) {
                Some(p) => Some(Some(p)),
                None => {
                    v.add("period", "must be a month like \"2025-06\"");
                    None
                }
            }
        };
        let (Some(page), Some(bank), Some(period)) = (page, bank, period) else {
            return Err(v.into_error());
        };
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let connection = self.state.store.connection();
        let mut records = store::statements::list(
            connection,
            bank.as_ref(),
            period,
            page.after.as_deref().and_then(|a| a.parse().ok()),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut records, |r| r.statement_id.to_string());
        let mut statements = Vec::with_capacity(records.len());
        for record in &records {
            statements.push(statement_to_wire(record, statement_entries(connection, record.statement_id).await?));
        }
        Ok(pb::ListStatementsResponse { statements, next_page_token })
    }
}

/// Builds the statement of `bank` for `period` from what is owed as of the period's end.
async fn build_statement(
    connection: &impl ConnectionTrait,
    bank: &BankId,
    period: Period,
) -> Result<st::Statement, ApiError> {
    let end = period.last_day();
    let mut lines = Vec::new();
    for claim in store::claims::unpaid_for_bank(connection, bank).await? {
        let approved_on = claim.approvals.iter().map(|a| a.approval_date).max();
        if approved_on.is_none_or(|d| d > end) {
            continue;
        }
        let compensation = claim.compensation.unwrap_or_default();
        let unpaid = compensation.saturating_sub(claim.paid);
        let (kind, description) = if claim.shortfall.fen() > 0 {
            (
                LineKind::ShortfallCarried,
                format!("compensation for loans/{} left unpaid for want of cash", claim.loan_id),
            )
        } else {
            (
                LineKind::Compensation,
                format!(
                    "compensation for loans/{} ({} of a {} loss)",
                    claim.loan_id,
                    claim.pool_share.normalize(),
                    claim.principal_loss
                ),
            )
        };
        lines.push(Line { kind, source: format!("claims/{}", claim.claim_id), description, amount: unpaid });
    }
    for recovery in store::claims::unsettled_recoveries(connection, bank, end).await? {
        lines.push(Line {
            kind: LineKind::Recovery,
            source: format!("recoveries/{}", recovery.recovery_id),
            description: format!("pool share of a {} recovery on loans/{}", recovery.amount, recovery.loan_id),
            amount: recovery.pool_share_amount,
        });
    }
    let receivable = Account::contributions_receivable(&Contributor::Bank(bank.clone()));
    let now = store::ledger::balances(connection).await?.0.get(&receivable).copied().unwrap_or_default();
    let then = store::ledger::balances_as_of(connection, end).await?.0.get(&receivable).copied().unwrap_or_default();
    let due = now.min(then);
    if due.fen() > 0 {
        lines.push(Line {
            kind: LineKind::ContributionDue,
            source: format!("accounts/{receivable}"),
            description: "committed contribution not yet paid".to_owned(),
            amount: due,
        });
    }
    Ok(st::build(bank.clone(), period, lines))
}

/// Posts a confirmed statement: the bank's payments, netting, then the pool's payment from
/// cash (never below zero, the rest a shortfall), and updates the claims.
async fn post_statement(connection: &impl ConnectionTrait, record: &StatementRecord, by: &str) -> Result<(), ApiError> {
    let s = &record.statement;
    let today = business_today();
    let source = format!("statements/{}", record.statement_id);
    let memo = format!("settlement {} {}", s.bank, s.period);
    let post = |draft: EntryDraft| {
        let draft = draft.with_source(source.clone());
        async move { store::ledger::post(connection, &draft, by, None).await.map_err(ApiError::from) }
    };
    let owed_to_bank = Money::from_fen(s.compensation_total.fen() + s.shortfall_total.fen());
    let cash = store::ledger::balances(connection).await?.escrow_cash();
    let settlement =
        claims::settle(owed_to_bank, s.recoveries_total, cash.checked_add(s.contributions_due_total).unwrap_or(cash));
    if settlement.netted.fen() > 0 {
        post(EntryDraft::settlement_netting(&s.bank, settlement.netted, today, &memo)).await?;
    }
    if settlement.bank_owes.fen() > 0 {
        post(EntryDraft::recovery_received(&s.bank, settlement.bank_owes, today, &memo)).await?;
    }
    if s.contributions_due_total.fen() > 0 {
        let contributor = Contributor::Bank(s.bank.clone());
        post(EntryDraft::contribution_received(&contributor, s.contributions_due_total, today, &memo)).await?;
    }
    // Cash after the bank's payments; pay what it allows.
    let cash = store::ledger::balances(connection).await?.escrow_cash();
    let after_netting = owed_to_bank.saturating_sub(settlement.netted);
    let paid = after_netting.min(cash);
    if paid.fen() > 0 {
        post(EntryDraft::compensation_paid(&s.bank, paid, today, &memo)).await?;
    }
    // Allocate netting and payment to the claims in line order.
    let mut available = Money::from_fen(settlement.netted.fen() + paid.fen());
    let mut shortfall_change = 0i64;
    for line in s.lines.iter().filter(|l| l.kind.owed_to_bank()) {
        let Some(claim_id) = line.source.strip_prefix("claims/").and_then(|id| id.parse::<i64>().ok()) else {
            continue;
        };
        let Some(claim) = store::claims::get_for_update(connection, claim_id).await? else { continue };
        let share = line.amount.min(available);
        available = available.saturating_sub(share);
        let paid_total = Money::from_fen(claim.paid.fen() + share.fen());
        let shortfall = claim.compensation.unwrap_or_default().saturating_sub(paid_total);
        shortfall_change += shortfall.fen() - claim.shortfall.fen();
        store::claims::update(
            connection,
            claim_id,
            ClaimChange {
                paid: Some(paid_total),
                shortfall: Some(shortfall),
                status: shortfall.is_zero().then_some(ClaimStatus::Paid),
                ..Default::default()
            },
        )
        .await?;
    }
    let recovery_ids: Vec<i64> = s
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Recovery)
        .filter_map(|l| l.source.strip_prefix("recoveries/").and_then(|id| id.parse().ok()))
        .collect();
    store::claims::settle_recoveries(connection, &recovery_ids, record.statement_id).await?;
    store::exposure::add_pool_counters(connection, 0, 0, settlement.netted.fen() + paid.fen(), shortfall_change, 0)
        .await?;
    Ok(())
}

#[tonic::async_trait]
impl SettlementService for Settlement {
    async fn file_claim(
        &self,
        request: Request<pb::FileClaimRequest>,
    ) -> Result<Response<pb::FileClaimResponse>, Status> {
        Ok(Response::new(Settlement::file_claim(self, request).await?))
    }

    async fn get_claim(&self, request: Request<pb::GetClaimRequest>) -> Result<Response<pb::GetClaimResponse>, Status> {
        Ok(Response::new(Settlement::get_claim(self, request).await?))
    }

    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        Ok(Response::new(Settlement::list_claims(self, request).await?))
    }

    async fn approve_claim(
        &self,
        request: Request<pb::ApproveClaimRequest>,
    ) -> Result<Response<pb::ApproveClaimResponse>, Status> {
        Ok(Response::new(self.approve(request).await?))
    }

    async fn reject_claim(
        &self,
        request: Request<pb::RejectClaimRequest>,
    ) -> Result<Response<pb::RejectClaimResponse>, Status> {
        Ok(Response::new(self.reject(request).await?))
    }

    async fn report_recovery(
        &self,
        request: Request<pb::ReportRecoveryRequest>,
    ) -> Result<Response<pb::ReportRecoveryResponse>, Status> {
        Ok(Response::new(Settlement::report_recovery(self, request).await?))
    }

    async fn close_loan(
        &self,
        request: Request<pb::CloseLoanRequest>,
    ) -> Result<Response<pb::CloseLoanResponse>, Status> {
        Ok(Response::new(self.close(request).await?))
    }

    async fn run_settlement(
        &self,
        request: Request<pb::RunSettlementRequest>,
    ) -> Result<Response<pb::RunSettlementResponse>, Status> {
        Ok(Response::new(Settlement::run_settlement(self, request).await?))
    }

    async fn confirm_statement(
        &self,
        request: Request<pb::ConfirmStatementRequest>,
    ) -> Result<Response<pb::ConfirmStatementResponse>, Status> {
        Ok(Response::new(self.confirm(request).await?))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        let caller = principal(&request)?;
        let record = Settlement::get_statement(self, &caller, &request.get_ref().name).await?;
        let entries = statement_entries(self.state.store.connection(), record.statement_id).await?;
        Ok(Response::new(pb::GetStatementResponse { statement: Some(statement_to_wire(&record, entries)) }))
    }

    async fn list_statements(
        &self,
        request: Request<pb::ListStatementsRequest>,
    ) -> Result<Response<pb::ListStatementsResponse>, Status> {
        Ok(Response::new(Settlement::list_statements(self, request).await?))
    }

    async fn export_statement(
        &self,
        request: Request<pb::ExportStatementRequest>,
    ) -> Result<Response<pb::ExportStatementResponse>, Status> {
        let caller = principal(&request)?;
        let mut v = Violations::new();
        let format: Option<pb::ExportFormat> = v.enumeration("format", request.get_ref().format);
        let Some(format) = format else {
            return Err(v.into_error().into());
        };
        let record = Settlement::get_statement(self, &caller, &request.get_ref().name).await?;
        Ok(Response::new(export::export(&record, format)))
    }

    async fn reconcile_loan_tape(
        &self,
        request: Request<tonic::Streaming<pb::ReconcileLoanTapeRequest>>,
    ) -> Result<Response<pb::ReconcileLoanTapeResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::reconcile(&self.state, &caller, request.into_inner()).await?))
    }

    async fn get_reconciliation_report(
        &self,
        request: Request<pb::GetReconciliationReportRequest>,
    ) -> Result<Response<pb::GetReconciliationReportResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::get(&self.state, &caller, &request.get_ref().name).await?))
    }

    async fn list_reconciliation_reports(
        &self,
        request: Request<pb::ListReconciliationReportsRequest>,
    ) -> Result<Response<pb::ListReconciliationReportsResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::list(&self.state, &caller, request.get_ref()).await?))
    }

    async fn list_discrepancies(
        &self,
        request: Request<pb::ListDiscrepanciesRequest>,
    ) -> Result<Response<pb::ListDiscrepanciesResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::discrepancies(&self.state, &caller, request.get_ref()).await?))
    }
}
