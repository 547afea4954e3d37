//! Claims: filing, four-eyes approval against the annual cap, rejection, recoveries and
//! write-off. The domain decides (`domain::claims`, the loan's events in `domain::loan`);
//! these handlers load, write and answer.

use chrono::Datelike;
use domain::claims::{self, ApprovalStep, ClaimError, ClaimStatus, Decision, Grant, GrantProblem};
use domain::ledger::EntryDraft;
use domain::loan::{LoanEvent, LoanState};
use domain::terms::{ReductionReason, RejectionReason};
use domain::{Money, Principal, Role};
use proto::v1 as pb;
use rpc::auth::{bank_scope, principal, require_bank_visible, require_role, visible};
use rpc::convert::{Page, Violations, format_date, timestamp};
use rpc::{ApiError, idempotent};
use store::Db;
use store::claims::{ClaimChange, ClaimRecord, NewClaim};
use tonic::Request;

use crate::wire::claim_to_wire;
use crate::{APPROVE, CLOSE, FILE, READERS, RECOVER, REJECT, Settlement};

fn refused(rule: &impl domain::Rule) -> ApiError {
    ApiError::refused(rule)
}

fn grant_refused(problem: GrantProblem) -> ApiError {
    match problem {
        GrantProblem::Invalid { field, problem } => ApiError::invalid(field, problem),
        GrantProblem::Refused(rule) => refused(&rule),
    }
}

/// A visible claim, or NOT_FOUND.
fn visible_claim(caller: &Principal, claim: Option<ClaimRecord>, name: &str) -> Result<ClaimRecord, ApiError> {
    visible(caller, claim, |c| &c.bank_id, name)
}

/// Takes a loan out of the running totals (`store::exposure::release_loan`) and stores its
/// `closed` state.
async fn close_loan(
    connection: &impl Db,
    policy: &domain::Policy,
    loan: &store::loans::LoanRecord,
    closed: &LoanState,
) -> Result<(), ApiError> {
    let (_, changed) = store::exposure::release_loan(connection, loan, policy).await?;
    if let Some((from, to)) = changed {
        tracing::warn!(bank_id = %loan.bank_id, %from, %to, "bank status changed");
    }
    store::loans::set_state(connection, loan, closed, Money::ZERO).await?;
    Ok(())
}

impl Settlement {
    pub(crate) async fn file_claim(
        &self,
        request: Request<pb::FileClaimRequest>,
    ) -> Result<pb::FileClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let loan_id = v.numeric_name("loan", &body.loan, "loans");
        let claim_date = v.past_date("claim_date", &body.claim_date);
        let memo = v.optional_text("memo", &body.memo, 2000);
        let (Some(request_id), Some(loan_id), Some(claim_date), Some(memo)) = (request_id, loan_id, claim_date, memo)
        else {
            return Err(v.into_error());
        };
        v.finish()?;
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, FILE, request_id, &body, |txn| {
            let loan =
                store::loans::get_for_update(txn, loan_id).await?.ok_or_else(|| ApiError::not_found(&body.loan))?;
            require_bank_visible(&caller, &loan.bank_id, &body.loan)?;
            if store::claims::live_for_loan(txn, loan_id).await?.is_some() {
                return Err(refused(&ClaimError::AlreadyClaimed { loan: body.loan.clone() }));
            }
            let claimed = loan.state.on(LoanEvent::ClaimFiled).map_err(|r| refused(&r))?;
            let (Some(default_date), Some(loss)) = (loan.state.default_date, loan.state.principal_at_default) else {
                return Err(ApiError::Internal(format!("defaulted loan {loan_id} has no default figures")));
            };
            claims::check_filing(&policy, default_date, claim_date).map_err(|r| refused(&r))?;
            let sharing = &policy.loss_sharing;
            let named: Vec<&str> = sharing.parties.iter().map(|p| p.party.as_str()).collect();
            let registered = store::claims::registered_parties(txn, &named).await?;
            if let Some(missing) = named.iter().find(|p| !registered.iter().any(|r| r == *p)) {
                return Err(refused(&ClaimError::PartyNotRegistered {
                    party: (*missing).to_owned(),
                    version: policy.version.clone(),
                }));
            }
            let split = domain::sharing::split(loss, loan.pool_share, sharing);
            let requested = split.pool_amount;
            let enrolled_on = store::clock::business_date(loan.created_at);
            let early_default = claims::is_early_default(&policy, enrolled_on, default_date);
            let decision = store::applications::get(txn, loan.application_id).await?.map(|a| a.decision);
            let pool_share_rows = decision.map(|d| (d.pool_share_rows, d.policy_version)).unwrap_or_default();
            let claim = store::claims::insert(
                txn,
                &NewClaim {
                    loan_id,
                    bank_id: loan.bank_id.clone(),
                    principal_loss: loss,
                    pool_share: split.pool_share,
                    requested,
                    approvals_required: claims::approvals_required(&policy, requested, early_default),
                    early_default,
                    pool_share_rows,
                    claim_date,
                    memo: memo.clone(),
                    split: (split.parts.clone(), split.pool_share_cut_from, split.bank_amount),
                },
            )
            .await?;
            store::loans::set_state(txn, &loan, &claimed, loan.pool_exposure).await?;
            store::pool::lock(txn).await?;
            store::exposure::add_pool_counters(txn, 1, 0, 0, 0, 0).await?;
            tracing::info!(claim_id = claim.claim_id, loan_id, requested = %requested, early_default, "claim filed");
            pb::FileClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    pub(crate) async fn approve(
        &self,
        request: Request<pb::ApproveClaimRequest>,
    ) -> Result<pb::ApproveClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let claim_id = v.numeric_name("name", &body.name, "claims");
        let date = v.past_date("approval_date", &body.approval_date);
        let amount = v.optional_money_non_negative("approved_amount", &body.approved_amount);
        let reason = v.optional_domain_enum::<ReductionReason>("reduction_reason", body.reduction_reason);
        let note = v.optional_text("reduction_note", &body.reduction_note, 2000);
        let comment = v.optional_text("comment", &body.comment, 2000);
        let (Some(request_id), Some(claim_id), Some(date), Some(amount), Some(reason), Some(note), Some(comment)) =
            (request_id, claim_id, date, amount, reason, note, comment)
        else {
            return Err(v.into_error());
        };
        v.finish()?;
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, APPROVE, request_id, &body, |txn| {
            let claim =
                store::claims::get_for_update(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            claims::check_pending(claim.status, Decision::Approve).map_err(|r| refused(&r))?;
            if date < claim.claim_date {
                return Err(ApiError::invalid(
                    "approval_date",
                    format!("is before the claim date {}", claim.claim_date),
                ));
            }
            let approvers: Vec<&str> = claim.approvals.iter().map(|a| a.approver.as_str()).collect();
            let step = claims::approve(claim.status, &approvers, claim.approvals_required, &caller.key_id)
                .map_err(|r| refused(&r))?;
            let grant = claims::grant(claim.requested, amount, reason, &note).map_err(grant_refused)?;
            let earlier: Vec<Grant> = claim.approvals.iter().map(|a| a.grant.clone()).collect();
            claims::check_agrees(&earlier, &grant).map_err(|r| refused(&r))?;
            store::claims::add_approval(txn, claim_id, &caller.key_id, &comment, date, &grant).await?;
            if step == ApprovalStep::AwaitsSecond {
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
                store::pool::lock(txn).await?;
                // Lock order: the annual row, then the cohort row (the loan's enrolment year).
                let used = store::claims::lock_annual(txn, &claim.bank_id, year).await?;
                let cohort_year = store::clock::business_date(loan.created_at).year();
                let cohort = store::claims::lock_cohort(txn, &claim.bank_id, cohort_year).await?;
                // A used-up cap still decides the claim, for 0.00; its breakdown shows the cut.
                let decided =
                    claims::decide(&policy, claim.principal_loss, claim.pool_share, &grant, used, Some(cohort));
                let compensation = decided.compensation;
                let compensated = loan.state.on(LoanEvent::ClaimApproved).map_err(|r| refused(&r))?;
                if compensation.fen() > 0 {
                    let draft =
                        EntryDraft::claim_approved(&claim.bank_id, compensation, date, &format!("claim {claim_id}"))
                            .with_source(format!("claims/{claim_id}"));
                    store::ledger::post(txn, &draft, &caller.key_id, None).await.map_err(ApiError::from)?;
                }
                store::claims::set_annual(txn, &claim.bank_id, year, Money::from_fen(used.fen() + compensation.fen()))
                    .await?;
                let cohort_total = Money::from_fen(cohort.compensation.fen() + compensation.fen());
                store::claims::set_cohort(txn, &claim.bank_id, cohort_year, cohort_total).await?;
                store::claims::update(
                    txn,
                    claim_id,
                    ClaimChange {
                        status: Some(decided.status),
                        compensation: Some(compensation),
                        cap_year: Some(year),
                        cap_remaining: Some(decided.cap_remaining),
                        cohort: decided.cohort_remaining.map(|left| (cohort_year, left)),
                        grant: Some(grant.clone()),
                        decided: true,
                        ..Default::default()
                    },
                )
                .await?;
                store::loans::set_state(txn, &loan, &compensated, loan.pool_exposure).await?;
                store::exposure::add_pool_counters(txn, 0, compensation.fen(), 0, 0, 0).await?;
                tracing::info!(claim_id, compensation = %compensation, granted = %grant.amount, year, "claim approved");
            }
            let claim = store::claims::get(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            pb::ApproveClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    pub(crate) async fn reject(
        &self,
        request: Request<pb::RejectClaimRequest>,
    ) -> Result<pb::RejectClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let claim_id = v.numeric_name("name", &body.name, "claims");
        let reason = v.text("reason", &body.reason, 2000);
        let code = v.optional_domain_enum::<RejectionReason>("code", body.code);
        let (Some(request_id), Some(claim_id), Some(reason), Some(code)) = (request_id, claim_id, reason, code) else {
            return Err(v.into_error());
        };
        idempotent!(self.state, &caller, REJECT, request_id, &body, |txn| {
            let claim =
                store::claims::get_for_update(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            claims::check_pending(claim.status, Decision::Reject).map_err(|r| refused(&r))?;
            store::claims::update(
                txn,
                claim_id,
                ClaimChange {
                    status: Some(ClaimStatus::Rejected),
                    rejection_reason: Some(reason.clone()),
                    rejection_code: Some(code.unwrap_or(RejectionReason::Other)),
                    decided: true,
                    ..Default::default()
                },
            )
            .await?;
            // The loan is defaulted again; the bank may file a corrected claim within the deadline.
            if let Some(loan) = store::loans::get_for_update(txn, claim.loan_id).await? {
                let defaulted = loan.state.on(LoanEvent::ClaimRejected).map_err(|r| refused(&r))?;
                store::loans::set_state(txn, &loan, &defaulted, loan.pool_exposure).await?;
            }
            let claim = store::claims::get(txn, claim_id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            pb::RejectClaimResponse { claim: Some(claim_to_wire(&claim)) }
        })
    }

    pub(crate) async fn report_recovery(
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
            let after = loan.state.on(LoanEvent::Recovered { last: body.r#final, date }).map_err(|r| refused(&r))?;
            let claim = store::claims::live_for_loan(txn, loan_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("compensated loan {loan_id} has no claim")))?;
            let compensation = claim.compensation.unwrap_or_default();
            claims::check_recovery(claim.recoveries, amount, claim.principal_loss).map_err(|r| refused(&r))?;
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
                store::pool::lock(txn).await?;
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
            if after.status.is_closed() {
                close_loan(txn, &self.state.policy, &loan, &after).await?;
            } else {
                store::loans::set_state(txn, &loan, &after, loan.pool_exposure).await?;
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

    pub(crate) async fn close(
        &self,
        request: Request<pb::CloseLoanRequest>,
    ) -> Result<pb::CloseLoanResponse, ApiError> {
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
            let closed = loan.state.on(LoanEvent::WrittenOff { date }).map_err(|r| refused(&r))?;
            close_loan(txn, &self.state.policy, &loan, &closed).await?;
            let claim = store::claims::live_for_loan(txn, loan_id).await?;
            pb::CloseLoanResponse { loan: body.loan.clone(), claim: claim.as_ref().map(claim_to_wire) }
        })
    }

    pub(crate) async fn get_claim(
        &self,
        request: Request<pb::GetClaimRequest>,
    ) -> Result<pb::GetClaimResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(claim_id) = v.numeric_name("name", &body.name, "claims") else {
            return Err(v.into_error());
        };
        let claim = self.state.store.reading(async |db| store::claims::get(db, claim_id).await).await?;
        let claim = visible_claim(&caller, claim, &body.name)?;
        Ok(pb::GetClaimResponse { claim: Some(claim_to_wire(&claim)) })
    }

    pub(crate) async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<pb::ListClaimsResponse, ApiError> {
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
        let before = page.after.as_deref().and_then(|a| a.parse().ok());
        let limit = page.fetch_limit();
        let mut claims = self
            .state
            .store
            .reading_replica(async |db| store::claims::list(db, bank.as_ref(), status, before, limit).await)
            .await?;
        let next_page_token = page.finish(&mut claims, |c| c.claim_id.to_string());
        Ok(pb::ListClaimsResponse { claims: claims.iter().map(claim_to_wire).collect(), next_page_token })
    }
}
