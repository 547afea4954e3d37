//! Taking a loan out of cover after enrolment (`ExcludeLoan`). The domain decides what is
//! undone (`domain::exclusion`); this handler locks, writes and answers.
//!
//! Lock order: the claim, the loan (as `ApproveClaim`), then the enterprise, the bank and
//! the pool (as every exposure change), then the annual and cohort rows (as approval).
//! Exposure is released before the compensation is undone, so the pool's row is never
//! taken before the enterprise's and the bank's.

use chrono::Datelike;
use domain::claims::ClaimStatus;
use domain::exclusion::{self, DecidedClaim, ExclusionError, Undo};
use domain::ledger::EntryDraft;
use domain::loan::{LoanState, LoanStatus};
use domain::terms::ExclusionReason;
use domain::{Money, Role};
use proto::v1 as pb;
use rpc::auth::{principal, require_role};
use rpc::convert::{Violations, format_date, timestamp};
use rpc::{ApiError, WireEnum, idempotent};
use store::Db;
use store::claims::{ClaimChange, ClaimRecord};
use store::exclusions::{Completed, ExclusionRecord, NewExclusion};
use store::loans::LoanRecord;
use tonic::Request;

use crate::Loans;
use crate::wire::loan_to_wire;

pub(crate) const EXCLUDE: &str = "/techcredit.v1.LoanApplicationService/ExcludeLoan";

/// An exclusion on the wire.
pub(crate) fn exclusion_to_wire(e: &ExclusionRecord) -> pb::Exclusion {
    pb::Exclusion {
        name: format!("exclusions/{}", e.exclusion_id),
        loan: format!("loans/{}", e.loan_id),
        status: if e.excluded { pb::ExclusionStatus::Excluded } else { pb::ExclusionStatus::AwaitingSecond }.into(),
        reason: e.reason.to_wire_i32(),
        reason_text: e.reason_text.clone(),
        exclusion_date: format_date(e.exclusion_date),
        officers: e.officers.clone(),
        officers_required: i32::try_from(e.officers_required).unwrap_or(2),
        exposure_released: e.exposure_released.to_string(),
        compensation_cancelled: e.compensation_cancelled.to_string(),
        clawback_amount: e.clawback.to_string(),
        clawback: e.clawback_id.map(|id| format!("clawbacks/{id}")).unwrap_or_default(),
        claim: e.claim_id.map(|id| format!("claims/{id}")).unwrap_or_default(),
        create_time: Some(timestamp(e.created_at)),
        exclude_time: e.excluded_at.map(timestamp),
    }
}

fn refused(rule: &ExclusionError) -> ApiError {
    ApiError::refused(rule)
}

/// Takes the loan out of the running totals; returns the outstanding freed.
async fn release_exposure(txn: &impl Db, policy: &domain::Policy, loan: &LoanRecord) -> Result<Money, ApiError> {
    let (released, changed) = store::exposure::release_loan(txn, loan, policy).await?;
    if let Some((from, to)) = changed {
        tracing::warn!(bank_id = %loan.bank_id, %from, %to, "bank status changed");
    }
    Ok(released)
}

/// What excluding the loan would undo of its decided claim, or why it cannot be excluded
/// now: a confirmed statement still owing the bank for the claim, or recoveries above what
/// was paid. Checked at every officer's request, so the first one hears it too.
async fn check_undo(txn: &impl Db, claim: &ClaimRecord) -> Result<Undo, ApiError> {
    let compensation = claim.compensation.unwrap_or_default();
    let source = format!("claims/{}", claim.claim_id);
    if let Some((statement_id, open)) = store::statements::open_payable(txn, &claim.bank_id, &source).await? {
        return Err(refused(&ExclusionError::StatementOpen {
            statement: format!("statements/{statement_id}"),
            claim: source,
            open,
        }));
    }
    exclusion::undo(DecidedClaim { compensation, paid: claim.paid, pool_recoveries: claim.pool_recoveries })
        .map_err(|r| refused(&r))
}

/// Undoes a decided claim's compensation (`undo`): the ledger entry, the clawback, the caps
/// and the pool's counters. Returns the clawback's id.
async fn undo_compensation(
    txn: &impl Db,
    claim: &ClaimRecord,
    loan: &LoanRecord,
    undo: &Undo,
    date: chrono::NaiveDate,
    by: &str,
) -> Result<Option<i64>, ApiError> {
    let compensation = claim.compensation.unwrap_or_default();
    let source = format!("claims/{}", claim.claim_id);
    let memo = format!("loans/{} excluded from cover", loan.loan_id);
    if let Some(draft) = EntryDraft::exclusion(&claim.bank_id, undo, date, &memo) {
        store::ledger::post(txn, &draft.with_source(source), by, None).await.map_err(ApiError::from)?;
    }
    let clawback_id = if undo.clawback.fen() > 0 {
        Some(
            store::exclusions::insert_clawback(txn, &claim.bank_id, loan.loan_id, claim.claim_id, undo.clawback, date)
                .await?,
        )
    } else {
        None
    };
    // The compensation no longer counts against the bank's caps.
    if let Some(year) = claim.cap_year {
        let used = store::claims::lock_annual(txn, &claim.bank_id, year).await?;
        store::claims::set_annual(txn, &claim.bank_id, year, used.saturating_sub(compensation)).await?;
    }
    let cohort_year = store::clock::business_date(loan.created_at).year();
    let cohort = store::claims::lock_cohort(txn, &claim.bank_id, cohort_year).await?;
    store::claims::set_cohort(txn, &claim.bank_id, cohort_year, cohort.compensation.saturating_sub(compensation))
        .await?;
    store::exposure::add_pool_counters(
        txn,
        0,
        -compensation.fen(),
        0,
        -claim.shortfall.fen(),
        -claim.pool_recoveries.fen(),
    )
    .await?;
    Ok(clawback_id)
}

impl Loans {
    pub(crate) async fn exclude(
        &self,
        request: Request<pb::ExcludeLoanRequest>,
    ) -> Result<pb::ExcludeLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let loan_id = v.numeric_name("loan", &body.loan, "loans");
        let reason = v.domain_enum::<ExclusionReason>("reason", body.reason);
        let text = v.text("reason_text", &body.reason_text, 2000);
        let date = v.past_date("exclusion_date", &body.exclusion_date);
        let (Some(request_id), Some(loan_id), Some(reason), Some(text), Some(date)) =
            (request_id, loan_id, reason, text, date)
        else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, EXCLUDE, request_id, &body, |txn| {
            let live = store::claims::live_for_loan(txn, loan_id).await?;
            let claim = match &live {
                Some(c) => store::claims::get_for_update(txn, c.claim_id).await?,
                None => None,
            };
            let loan =
                store::loans::get_for_update(txn, loan_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            exclusion::check_excludable(&body.loan, loan.state.status).map_err(|r| refused(&r))?;
            let decided = claim.as_ref().filter(|c| matches!(c.status, ClaimStatus::Approved | ClaimStatus::Paid));
            let compensation = decided.and_then(|c| c.compensation).unwrap_or_default();
            let undo = match decided {
                Some(c) => Some(check_undo(txn, c).await?),
                None => None,
            };
            let pending = store::exclusions::for_loan(txn, loan_id).await?;
            let (exclusion, second) = match pending {
                None => {
                    let new = NewExclusion {
                        loan_id,
                        bank_id: &loan.bank_id,
                        reason,
                        reason_text: &text,
                        exclusion_date: date,
                        officer: &caller.key_id,
                        officers_required: exclusion::approvals_required(compensation),
                    };
                    (store::exclusions::insert(txn, &new).await?, None)
                }
                Some(first) => {
                    let first_officer = first.officers.first().cloned().unwrap_or_default();
                    exclusion::check_second(&first_officer, first.reason, &caller.key_id, reason)
                        .map_err(|r| refused(&r))?;
                    (first, Some(caller.key_id.as_str()))
                }
            };
            let given = if second.is_some() { 2 } else { 1 };
            if given < exclusion.officers_required {
                tracing::info!(loan_id, reason = %reason, "exclusion awaits a second officer");
                return Ok(pb::ExcludeLoanResponse {
                    exclusion: Some(exclusion_to_wire(&exclusion)),
                    loan: Some(loan_to_wire(&loan, Some(&exclusion))),
                });
            }
            let effective = exclusion.exclusion_date;
            // The exposure first: enterprise, bank, then the pool's row (the ledger's post takes
            // it again), then the annual and cohort rows, as everywhere.
            let released = release_exposure(txn, &self.state.policy, &loan).await?;
            let clawback_id = match (decided, &undo) {
                (Some(c), Some(undo)) => undo_compensation(txn, c, &loan, undo, effective, &caller.key_id).await?,
                _ => None,
            };
            let undo = undo.unwrap_or_default();
            if let Some(c) = &claim {
                let status = exclusion::claim_status_after(c.status);
                store::claims::update(txn, c.claim_id, ClaimChange { status: Some(status), ..Default::default() })
                    .await?;
            }
            let excluded = LoanState { status: LoanStatus::Excluded, ..loan.state.clone() };
            let after = store::loans::set_state(txn, &loan, &excluded, Money::ZERO).await?;
            let done = Completed {
                second_officer: second,
                exposure_released: released,
                compensation_cancelled: undo.cancelled,
                clawback: clawback_id.map(|id| (undo.clawback, id)),
                claim_id: claim.as_ref().map(|c| c.claim_id),
            };
            let exclusion = store::exclusions::complete(txn, exclusion.exclusion_id, &done).await?;
            tracing::warn!(
                loan_id,
                reason = %reason,
                released = %released,
                cancelled = %undo.cancelled,
                clawback = %undo.clawback,
                "loan excluded from cover"
            );
            pb::ExcludeLoanResponse {
                exclusion: Some(exclusion_to_wire(&exclusion)),
                loan: Some(loan_to_wire(&after, Some(&exclusion))),
            }
        })
    }
}
