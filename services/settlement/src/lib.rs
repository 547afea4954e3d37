//! `techcredit.v1.SettlementService`: claims, compensation, recoveries and monthly
//! settlement statements, and loan-tape reconciliation. Money moves only through the ledger.

mod export;
mod reconcile;

use chrono::{Datelike, NaiveDate};
use domain::claims::ClaimStatus;
use domain::claims::{self, ClaimError};
use domain::ledger::{Account, Contributor, EntryDraft};
use domain::loan::LoanStatus;
use domain::statement::{self as st, Direction, Line, LineKind, Period, Status as StatementStatus};
use domain::{BankId, Money, Principal, Role};
use proto::v1::{self as pb, settlement_service_server::SettlementService};
use rpc::auth::{bank_scope, principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today, format_date, timestamp};
use rpc::{ApiError, AppState, WireEnum, idempotent};
use sha2::{Digest, Sha256};
use store::claims::{ClaimChange, ClaimRecord, NewClaim};
use store::exposure::ExposureDelta;
use store::sea_orm::ConnectionTrait;
use store::statements::{PaymentRecord, StatementRecord};
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
const PAY: &str = "/techcredit.v1.SettlementService/RecordStatementPayment";

const READERS: &[Role] = &[Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

fn refuse(error: ClaimError) -> ApiError {
    ApiError::precondition(error.reason(), error.to_string())
}

fn claim_to_wire(claim: &ClaimRecord) -> pb::Claim {
    pb::Claim {
        name: format!("claims/{}", claim.claim_id),
        claim_id: claim.claim_id.to_string(),
        loan: format!("loans/{}", claim.loan_id),
        bank: format!("banks/{}", claim.bank_id),
        status: claim.status.to_wire_i32(),
        principal_loss: claim.principal_loss.to_string(),
        pool_share: rpc::convert::share_to_wire(claim.pool_share),
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
        breakdown: match (claim.compensation, claim.cap_remaining, claim.cap_year) {
            (Some(compensation), Some(cap_remaining), Some(cap_year)) => Some(pb::ClaimBreakdown {
                entitled: claim.requested.to_string(),
                cap_remaining: cap_remaining.to_string(),
                compensation: compensation.to_string(),
                cap_cut: claim.requested.saturating_sub(compensation).to_string(),
                cap_year,
            }),
            _ => None,
        },
    }
}

/// What a statement shows besides its own row: the entries it posted and its payments.
struct StatementExtras {
    entries: Vec<String>,
    payments: Vec<pb::StatementPayment>,
}

fn payment_to_wire(payment: &PaymentRecord, entries: Vec<String>) -> pb::StatementPayment {
    pb::StatementPayment {
        name: format!("statementPayments/{}", payment.payment_id),
        statement: format!("statements/{}", payment.statement_id),
        direction: payment.direction.to_wire_i32(),
        amount: payment.amount.to_string(),
        value_date: format_date(payment.value_date),
        reference: payment.reference.clone(),
        recorded_by: payment.recorded_by.clone(),
        record_time: Some(timestamp(payment.created_at)),
        journal_entries: entries,
    }
}

fn statement_to_wire(record: &StatementRecord, extras: StatementExtras) -> pb::Statement {
    let s = &record.statement;
    let outstanding = if record.status == StatementStatus::CarriedForward {
        Money::ZERO
    } else {
        record.amount_due.saturating_sub(record.amount_paid)
    };
    pb::Statement {
        name: format!("statements/{}", record.statement_id),
        bank: format!("banks/{}", s.bank),
        period: s.period.to_string(),
        status: record.status.to_wire_i32(),
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| pb::StatementLine {
                line_number: i32::try_from(index + 1).unwrap_or(i32::MAX),
                kind: line.kind.to_wire_i32(),
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
        direction: s.direction.to_wire_i32(),
        content_sha256: record.content_sha256.clone(),
        build_time: Some(timestamp(record.built_at)),
        confirm_time: record.confirmed_at.map(timestamp),
        journal_entries: extras.entries,
        preview: !record.status.is_confirmed() && st::check_period_ended(s.period, business_today()).is_err(),
        amount_due: if record.status.is_confirmed() { record.amount_due.to_string() } else { String::new() },
        amount_paid: record.amount_paid.to_string(),
        amount_outstanding: if record.status.is_confirmed() { outstanding.to_string() } else { String::new() },
        payments: extras.payments,
        carried_to: record.carried_to.map(|id| format!("statements/{id}")).unwrap_or_default(),
    }
}

async fn entries_of(connection: &impl ConnectionTrait, source: &str) -> Result<Vec<String>, ApiError> {
    let ids = store::ledger::entry_ids_by_source(connection, source).await?;
    Ok(ids.into_iter().map(|id| format!("journalEntries/{id}")).collect())
}

async fn statement_extras(connection: &impl ConnectionTrait, statement_id: i64) -> Result<StatementExtras, ApiError> {
    let entries = entries_of(connection, &format!("statements/{statement_id}")).await?;
    let mut payments = Vec::new();
    for payment in store::statements::payments(connection, statement_id).await? {
        let entries = entries_of(connection, &format!("statementPayments/{}", payment.payment_id)).await?;
        payments.push(payment_to_wire(&payment, entries));
    }
    Ok(StatementExtras { entries, payments })
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
    let npl = if domain::loan::is_non_performing(loan.state.status, loan.state.classification) {
        loan.state.outstanding.fen()
    } else {
        0
    };
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
                // A used-up cap still decides the claim: it is approved for what the cap
                // leaves, 0.00 included, and its breakdown shows what the cap cut.
                let compensation = claims::compensation(claim.principal_loss, claim.pool_share, remaining);
                if compensation.fen() > 0 {
                    let draft =
                        EntryDraft::claim_approved(&claim.bank_id, compensation, date, &format!("claim {claim_id}"))
                            .with_source(format!("claims/{claim_id}"));
                    store::ledger::post(txn, &draft, &caller.key_id, None).await.map_err(ApiError::from)?;
                }
                store::claims::set_annual(txn, &claim.bank_id, year, Money::from_fen(used.fen() + compensation.fen()))
                    .await?;
                store::claims::update(
                    txn,
                    claim_id,
                    ClaimChange {
                        // Nothing to pay: the claim is settled as it is decided.
                        status: Some(if compensation.is_zero() { ClaimStatus::Paid } else { ClaimStatus::Approved }),
                        compensation: Some(compensation),
                        cap_year: Some(year),
                        cap_remaining: Some(remaining),
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
        let status = v.optional_domain_enum::<ClaimStatus>("status", body.status);
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
            // The current month gives a month-to-date preview; confirm it once the month ends.
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
            // The bank's row serialises runs and confirmations of its statements, so runs at
            // once (from any process) build one statement and each answer with it.
            if store::banks::get_for_update(txn, &bank).await?.is_none() {
                return Err(ApiError::not_found(&body.bank));
            }
            let existing = store::statements::find_for_update(txn, &bank, period).await?;
            let record = match existing {
                Some(record) if record.status.is_confirmed() => record,
                existing => {
                    let items = BankItems::load(txn, &bank).await?;
                    let content = build_statement(txn, &items, period).await?;
                    let sha = hex::encode(Sha256::digest(content.to_csv().as_bytes()));
                    match existing {
                        // Unchanged: the draft stands as it was built (its hash is of its content).
                        Some(record) if record.statement == content => record,
                        existing => {
                            store::statements::save_draft(txn, existing.map(|r| r.statement_id), &content, &sha).await?
                        }
                    }
                }
            };
            let extras = statement_extras(txn, record.statement_id).await?;
            pb::RunSettlementResponse { statement: Some(statement_to_wire(&record, extras)) }
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
            let record = lock_statement(txn, statement_id, &body.name).await?;
            if record.status.is_confirmed() {
                return Err(ApiError::precondition(
                    "STATEMENT_ALREADY_CONFIRMED",
                    format!("{} is already confirmed", body.name),
                ));
            }
            let today = business_today();
            st::check_period_ended(record.statement.period, today).map_err(settlement_refusal)?;
            if record.content_sha256 != sha {
                return Err(ApiError::precondition(
                    "STATEMENT_CHANGED",
                    format!(
                        "{} has content {} now, not the {} that was reviewed; review it again",
                        body.name, record.content_sha256, sha
                    ),
                ));
            }
            let bank = record.statement.bank.clone();
            if let Some((later, period)) =
                store::statements::later_confirmed(txn, &bank, record.statement.period).await?
            {
                return Err(ApiError::precondition(
                    "LATER_STATEMENT_CONFIRMED",
                    format!(
                        "statements/{later} of {bank} for {period} is confirmed already; it carries what this month left open"
                    ),
                ));
            }
            let items = BankItems::load(txn, &bank).await?;
            let current = build_statement(txn, &items, record.statement.period).await?;
            if current != record.statement {
                return Err(ApiError::precondition(
                    "STATEMENT_STALE",
                    format!("the items of {} changed since it was built; run the settlement again", body.name),
                ));
            }
            let open = open_items(txn, &items).await?;
            st::check_items_open(&record.statement, |line| open.of(line)).map_err(settlement_refusal)?;
            let netting = st::net(&record.statement);
            post_netting(txn, &record, &netting, today, &caller.key_id).await?;
            let record = store::statements::confirm(txn, statement_id, netting.amount_due).await?;
            let carried = store::statements::carry_forward(txn, &bank, record.statement.period, statement_id).await?;
            let extras = statement_extras(txn, statement_id).await?;
            tracing::info!(
                statement_id,
                netted = %netting.netted,
                amount_due = %netting.amount_due,
                direction = record.statement.direction.as_str(),
                carried_forward = ?carried,
                "statement confirmed"
            );
            pb::ConfirmStatementResponse { statement: Some(statement_to_wire(&record, extras)) }
        })
    }

    async fn record_payment(
        &self,
        request: Request<pb::RecordStatementPaymentRequest>,
    ) -> Result<pb::RecordStatementPaymentResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let statement_id = v.numeric_name("statement", &body.statement, "statements");
        let amount = v.money_positive("amount", &body.amount);
        let value_date = v.past_date("value_date", &body.value_date);
        let reference = v.text("reference", &body.reference, 200);
        let (Some(request_id), Some(statement_id), Some(amount), Some(value_date), Some(reference)) =
            (request_id, statement_id, amount, value_date, reference)
        else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, PAY, request_id, &body, |txn| {
            let record = lock_statement(txn, statement_id, &body.statement).await?;
            if !record.status.takes_payments() {
                let why = match (record.status, record.carried_to) {
                    (StatementStatus::CarriedForward, Some(later)) => {
                        format!("what it left unpaid is carried by statements/{later}: record the payment there")
                    }
                    (StatementStatus::Draft, _) => "confirm it first".to_owned(),
                    _ => "nothing is outstanding on it".to_owned(),
                };
                return Err(ApiError::precondition(
                    "STATEMENT_NOT_PAYABLE",
                    format!("{} is {}; {why}", body.statement, record.status.as_str()),
                ));
            }
            let last_day = record.statement.period.last_day();
            if value_date <= last_day {
                return Err(ApiError::invalid(
                    "value_date",
                    format!("{value_date} is not after the statement's month ended on {last_day}"),
                ));
            }
            let outstanding = record.amount_due.saturating_sub(record.amount_paid);
            if amount > outstanding {
                return Err(settlement_refusal(st::SettlementError::AboveOutstanding { amount, outstanding }));
            }
            let payment =
                store::statements::insert_payment(txn, &record, amount, value_date, &reference, &caller.key_id).await?;
            post_payment(txn, &record, &payment, &caller.key_id).await?;
            let record = store::statements::add_paid(txn, &record, amount).await?;
            let entries = entries_of(txn, &format!("statementPayments/{}", payment.payment_id)).await?;
            let extras = statement_extras(txn, statement_id).await?;
            tracing::info!(statement_id, payment_id = payment.payment_id, amount = %amount, direction = payment.direction.as_str(), "statement payment recorded");
            pb::RecordStatementPaymentResponse {
                payment: Some(payment_to_wire(&payment, entries)),
                statement: Some(statement_to_wire(&record, extras)),
            }
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
            statements.push(statement_to_wire(record, statement_extras(connection, record.statement_id).await?));
        }
        Ok(pb::ListStatementsResponse { statements, next_page_token })
    }
}

/// Locks a statement for a change, after its bank's row (lock order: bank, statement, then
/// the pool when posting), so that runs, confirmations and payments of one bank's
/// statements take turns.
async fn lock_statement(
    connection: &impl ConnectionTrait,
    statement_id: i64,
    name: &str,
) -> Result<StatementRecord, ApiError> {
    let Some(found) = store::statements::get(connection, statement_id).await? else {
        return Err(ApiError::not_found(name));
    };
    store::banks::get_for_update(connection, &found.statement.bank).await?;
    store::statements::get_for_update(connection, statement_id).await?.ok_or_else(|| ApiError::not_found(name))
}

fn settlement_refusal(error: st::SettlementError) -> ApiError {
    ApiError::precondition(error.reason(), error.to_string())
}

/// The items a bank's statements are made of: its approved claims and its recoveries.
struct BankItems {
    bank: BankId,
    claims: Vec<store::claims::ClaimRecord>,
    recoveries: Vec<store::claims::RecoveryRecord>,
}

impl BankItems {
    async fn load(connection: &impl ConnectionTrait, bank: &BankId) -> Result<BankItems, ApiError> {
        let every_date = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        Ok(BankItems {
            bank: bank.clone(),
            claims: store::claims::approved_for_bank(connection, bank).await?,
            recoveries: store::claims::recoveries_until(connection, bank, every_date).await?,
        })
    }
}

/// What is open now of each item of a bank: its amount less what has been settled of it.
struct OpenItems {
    /// Compensation of each approved claim, by source.
    claims: std::collections::HashMap<String, Money>,
    /// The pool's share of each recovery, by source.
    recoveries: std::collections::HashMap<String, Money>,
    /// Settled so far, by source.
    settled: std::collections::HashMap<String, Money>,
    /// The bank's contributions receivable now.
    contributions: Money,
}

impl OpenItems {
    /// What is open now of the item a line points to.
    fn of(&self, line: &Line) -> Money {
        let settled = self.settled.get(&line.source).copied().unwrap_or_default();
        match line.kind {
            LineKind::Compensation | LineKind::ShortfallCarried => {
                self.claims.get(&line.source).copied().unwrap_or_default().saturating_sub(settled)
            }
            LineKind::Recovery => {
                self.recoveries.get(&line.source).copied().unwrap_or_default().saturating_sub(settled)
            }
            LineKind::ContributionDue => self.contributions,
        }
    }
}

fn contributions_receivable(bank: &BankId) -> Account {
    Account::contributions_receivable(&Contributor::Bank(bank.clone()))
}

async fn open_items(connection: &impl ConnectionTrait, items: &BankItems) -> Result<OpenItems, ApiError> {
    let claims =
        items.claims.iter().map(|c| (format!("claims/{}", c.claim_id), c.compensation.unwrap_or_default())).collect();
    let recoveries =
        items.recoveries.iter().map(|r| (format!("recoveries/{}", r.recovery_id), r.pool_share_amount)).collect();
    let receivable = contributions_receivable(&items.bank);
    let contributions = store::ledger::balances(connection).await?.0.get(&receivable).copied().unwrap_or_default();
    let settled = store::statements::settled(connection, &items.bank, None, None).await?;
    Ok(OpenItems { claims, recoveries, settled, contributions })
}

/// Builds the statement of a bank for `period`: every line is as of the period's last day
/// (compensation approved by then, recoveries dated by then, the contributions receivable
/// then, each less what netting and payments had settled by then), so a month run again gives
/// the same statement whenever it is run.
async fn build_statement(
    connection: &impl ConnectionTrait,
    items: &BankItems,
    period: Period,
) -> Result<st::Statement, ApiError> {
    let bank = &items.bank;
    let end = period.last_day();
    let settled = store::statements::settled(connection, bank, Some(end), None).await?;
    let settled_of = |source: &str| settled.get(source).copied().unwrap_or_default();
    let carried = store::statements::confirmed_sources_before(connection, bank, period).await?;
    let mut lines = Vec::new();
    for claim in &items.claims {
        let approved_on = claim.approvals.iter().map(|a| a.approval_date).max();
        if approved_on.is_none_or(|d| d > end) {
            continue;
        }
        let source = format!("claims/{}", claim.claim_id);
        let open = claim.compensation.unwrap_or_default().saturating_sub(settled_of(&source));
        let (kind, description) = if carried.contains(&source) {
            (
                LineKind::ShortfallCarried,
                format!("compensation for loans/{} agreed on an earlier statement and not yet paid", claim.loan_id),
            )
        } else {
            (
                LineKind::Compensation,
                format!(
                    "compensation for loans/{} ({} of a {} loss)",
                    claim.loan_id,
                    rpc::convert::share_to_wire(claim.pool_share),
                    claim.principal_loss
                ),
            )
        };
        lines.push(Line { kind, source, description, amount: open });
    }
    for recovery in items.recoveries.iter().filter(|r| r.recovery_date <= end) {
        let source = format!("recoveries/{}", recovery.recovery_id);
        lines.push(Line {
            kind: LineKind::Recovery,
            amount: recovery.pool_share_amount.saturating_sub(settled_of(&source)),
            source,
            description: format!("pool share of a {} recovery on loans/{}", recovery.amount, recovery.loan_id),
        });
    }
    let receivable = contributions_receivable(bank);
    let due = store::ledger::balances_as_of(connection, end).await?.0.get(&receivable).copied().unwrap_or_default();
    lines.push(Line {
        kind: LineKind::ContributionDue,
        source: format!("accounts/{receivable}"),
        description: format!("committed contribution not yet paid on {end}"),
        amount: due,
    });
    // Lines of 0.00 are dropped by `build`.
    Ok(st::build(bank.clone(), period, lines))
}

/// Posts a confirmation's netting (payable against the bank's recoveries, then contributions
/// receivable) and records what it settled of each item and claim.
async fn post_netting(
    connection: &impl ConnectionTrait,
    record: &StatementRecord,
    netting: &st::Netting,
    today: NaiveDate,
    by: &str,
) -> Result<(), ApiError> {
    let s = &record.statement;
    let source = format!("statements/{}", record.statement_id);
    let memo = format!("settlement {} {}", s.bank, s.period);
    let sum =
        |kind: LineKind| -> Money { netting.allocations.iter().filter(|a| a.kind == kind).map(|a| a.amount).sum() };
    let (recoveries, contributions) = (sum(LineKind::Recovery), sum(LineKind::ContributionDue));
    for draft in [
        (recoveries.fen() > 0).then(|| EntryDraft::settlement_netting(&s.bank, recoveries, today, &memo)),
        (contributions.fen() > 0).then(|| EntryDraft::contribution_netting(&s.bank, contributions, today, &memo)),
    ]
    .into_iter()
    .flatten()
    {
        store::ledger::post(connection, &draft.with_source(source.clone()), by, None).await.map_err(ApiError::from)?;
    }
    for allocation in &netting.allocations {
        store::statements::allocate(
            connection,
            record.statement_id,
            None,
            &s.bank,
            &allocation.source,
            allocation.amount,
            today,
        )
        .await?;
    }
    // Every claim on the statement is now agreed: what netting left of it is owed and unpaid.
    let netted: std::collections::HashMap<&str, Money> =
        netting.allocations.iter().map(|a| (a.source.as_str(), a.amount)).collect();
    let mut paid_change = 0i64;
    let mut shortfall_change = 0i64;
    for line in s.lines.iter().filter(|l| l.kind.owed_to_bank()) {
        let share = netted.get(line.source.as_str()).copied().unwrap_or_default();
        let (paid, shortfall) = settle_claim(connection, &line.source, share).await?;
        paid_change += paid;
        shortfall_change += shortfall;
    }
    store::exposure::add_pool_counters(connection, 0, 0, paid_change, shortfall_change, 0).await?;
    Ok(())
}

/// Adds `share` to a claim's settled amount; its shortfall becomes what stays unpaid. Returns
/// the changes of the pool's paid and shortfall counters, in fen.
async fn settle_claim(connection: &impl ConnectionTrait, source: &str, share: Money) -> Result<(i64, i64), ApiError> {
    let Some(claim_id) = source.strip_prefix("claims/").and_then(|id| id.parse::<i64>().ok()) else {
        return Ok((0, 0));
    };
    let Some(claim) = store::claims::get_for_update(connection, claim_id).await? else {
        return Err(ApiError::Internal(format!("{source} of a statement is missing")));
    };
    let paid = claim.paid.checked_add(share).ok_or_else(|| ApiError::Internal("claim paid overflows".into()))?;
    let shortfall = claim.compensation.unwrap_or_default().saturating_sub(paid);
    store::claims::update(
        connection,
        claim_id,
        ClaimChange {
            paid: Some(paid),
            shortfall: Some(shortfall),
            status: shortfall.is_zero().then_some(ClaimStatus::Paid),
            ..Default::default()
        },
    )
    .await?;
    Ok((share.fen(), shortfall.fen() - claim.shortfall.fen()))
}

/// Posts a payment: the pool's (compensation payable → escrow cash, refused beyond the cash
/// there is) or the bank's (escrow cash ← its recoveries, then contributions receivable), and
/// records what it settled, in line order.
async fn post_payment(
    connection: &impl ConnectionTrait,
    record: &StatementRecord,
    payment: &PaymentRecord,
    by: &str,
) -> Result<(), ApiError> {
    let s = &record.statement;
    let settled = store::statements::settled(connection, &s.bank, None, Some(record.statement_id)).await?;
    let allocations =
        st::allocate(st::payable_lines(s, |source| settled.get(source).copied().unwrap_or_default()), payment.amount);
    let source = format!("statementPayments/{}", payment.payment_id);
    let memo = format!("payment {} for the {} statement of {}", payment.reference, s.period, s.bank);
    let date = payment.value_date;
    let sum = |kind: LineKind| -> Money { allocations.iter().filter(|a| a.kind == kind).map(|a| a.amount).sum() };
    let drafts = match s.direction {
        Direction::PoolPaysBank => vec![EntryDraft::compensation_paid(&s.bank, payment.amount, date, &memo)],
        Direction::BankPaysPool => {
            let (recoveries, contributions) = (sum(LineKind::Recovery), sum(LineKind::ContributionDue));
            let contributor = Contributor::Bank(s.bank.clone());
            [
                (recoveries.fen() > 0).then(|| EntryDraft::recovery_received(&s.bank, recoveries, date, &memo)),
                (contributions.fen() > 0)
                    .then(|| EntryDraft::contribution_received(&contributor, contributions, date, &memo)),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
        Direction::None => Vec::new(),
    };
    for draft in drafts {
        store::ledger::post(connection, &draft.with_source(source.clone()), by, None).await.map_err(ApiError::from)?;
    }
    let mut paid_change = 0i64;
    let mut shortfall_change = 0i64;
    for allocation in &allocations {
        store::statements::allocate(
            connection,
            record.statement_id,
            Some(payment.payment_id),
            &s.bank,
            &allocation.source,
            allocation.amount,
            date,
        )
        .await?;
        if allocation.kind.owed_to_bank() {
            let (paid, shortfall) = settle_claim(connection, &allocation.source, allocation.amount).await?;
            paid_change += paid;
            shortfall_change += shortfall;
        }
    }
    if paid_change != 0 || shortfall_change != 0 {
        store::exposure::add_pool_counters(connection, 0, 0, paid_change, shortfall_change, 0).await?;
    }
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

    async fn record_statement_payment(
        &self,
        request: Request<pb::RecordStatementPaymentRequest>,
    ) -> Result<Response<pb::RecordStatementPaymentResponse>, Status> {
        Ok(Response::new(self.record_payment(request).await?))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        let caller = principal(&request)?;
        let record = Settlement::get_statement(self, &caller, &request.get_ref().name).await?;
        let entries = statement_extras(self.state.store.connection(), record.statement_id).await?;
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
