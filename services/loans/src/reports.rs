//! Covered loans: the bank's status reports (default, repayment) and reads.

use domain::bank::automatic_status_with_reason;
use domain::loan::{
    LoanState, Maturity, StatusReport, apply_report, check_renewal, check_reportable, is_non_performing,
};
use domain::{Money, Principal, Role};
use proto::v1 as pb;
use rpc::auth::{bank_scope, principal, require_role, visible};
use rpc::convert::{Page, Violations};
use rpc::{ApiError, WireEnum, idempotent};
use store::exposure::ExposureDelta;
use store::loans::{LoanFilter, LoanRecord};
use tonic::Request;

use crate::wire::loan_to_wire;
use crate::{Loans, READERS, REPORT, exposure_of};

/// A visible loan, or NOT_FOUND.
fn visible_loan(caller: &Principal, record: Option<LoanRecord>, name: &str) -> Result<LoanRecord, ApiError> {
    visible(caller, record, |l| &l.bank_id, name)
}

/// Non-performing outstanding of a loan state (0 once closed).
fn npl_of(state: &LoanState) -> i64 {
    if is_non_performing(state.status, state.classification) { state.outstanding.fen() } else { 0 }
}

impl Loans {
    pub(crate) async fn report(
        &self,
        request: Request<pb::ReportLoanStatusRequest>,
    ) -> Result<pb::ReportLoanStatusResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("loan", &body.loan, "loans");
        let report_date = v.past_date("report_date", &body.report_date);
        let outstanding = v.money_non_negative("outstanding_principal", &body.outstanding_principal);
        let days = v.check("days_past_due", rpc::convert::parse_count(body.days_past_due));
        let classification = v.domain_enum("classification", body.classification);
        let renewal = v.optional_date("renewed_maturity_date", &body.renewed_maturity_date);
        let (
            Some(request_id),
            Some(id),
            Some(report_date),
            Some(outstanding),
            Some(days),
            Some(classification),
            Some(renewal),
        ) = (request_id, id, report_date, outstanding, days, classification, renewal)
        else {
            return Err(v.into_error());
        };
        let policy = self.state.policy.clone();
        let report =
            StatusReport { report_date, outstanding, days_past_due: days, classification, repaid: body.repaid };
        idempotent!(self.state, &caller, REPORT, request_id, &body, |txn| {
            let loan = store::loans::get_for_update(txn, id).await?;
            let loan = visible_loan(&caller, loan, &body.loan)?;
            // Once a claim is filed, what the borrower pays is a recovery, not a repayment.
            let live_claim = store::claims::live_for_loan(txn, id).await?.map(|c| (c.claim_id, c.status));
            let next = check_reportable(&body.loan, live_claim, loan.state.status)
                .and_then(|()| apply_report(&policy, &loan.state, &report))
                // Every refusal of a report names the loan's status.
                .map_err(|error| ApiError::refused_with(&error, ("status", loan.state.status.to_string())))?;
            let renewed = match renewal {
                None => None,
                Some(asked) => {
                    let maturity = Maturity {
                        date: loan.maturity_date,
                        original: loan.original_maturity_date.unwrap_or(loan.maturity_date),
                        renewals: loan.renewals,
                    };
                    let renewed = check_renewal(&policy, &loan.state, &report, maturity, asked)
                        .map_err(|error| ApiError::refused_with(&error, ("status", loan.state.status.to_string())))?;
                    Some(renewed)
                }
            };
            store::exposure::lock_enterprise(txn, &loan.uscc).await?;
            let bank = store::banks::get_for_update(txn, &loan.bank_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("bank {} of loan {id} is missing", loan.bank_id)))?;
            store::pool::lock(txn).await?;
            let closed = next.status.is_closed();
            let new_outstanding = if closed { Money::ZERO } else { next.outstanding };
            let new_exposure = exposure_of(new_outstanding, loan.pool_share)?;
            let delta = ExposureDelta {
                outstanding: new_outstanding.fen() - loan.state.outstanding.fen(),
                pool_exposure: new_exposure.fen() - loan.pool_exposure.fen(),
                npl_outstanding: npl_of(&next) - npl_of(&loan.state),
                loans: if closed { -1 } else { 0 },
            };
            store::exposure::apply(txn, &loan.bank_id, &loan.uscc, delta).await?;
            if let Some(renewed) = renewed {
                store::loans::renew(txn, &loan, renewed.date).await?;
                tracing::info!(loan_id = id, maturity = %renewed.date, renewals = renewed.renewals, "loan renewed");
            }
            let updated = store::loans::record_report(txn, &loan, &next, new_exposure, body.repaid).await?;
            if !bank.status_manual {
                let covered = Money::from_fen(bank.quota_used.fen() + delta.outstanding);
                let npl = Money::from_fen(bank.npl_outstanding.fen() + delta.npl_outstanding);
                let (status, reason) = automatic_status_with_reason(&policy, covered, npl, bank.rated_grade);
                if status != bank.status {
                    store::banks::set_status(txn, &bank.bank_id, status, &reason, false).await?;
                    tracing::warn!(bank_id = %bank.bank_id, from = %bank.status, to = %status, "bank status changed");
                }
            }
            tracing::info!(loan_id = id, from = %loan.state.status, to = %next.status, "loan status reported");
            pb::ReportLoanStatusResponse {
                loan: Some(loan_to_wire(&updated, None)),
                previous_status: loan.state.status.to_wire_i32(),
            }
        })
    }

    pub(crate) async fn get_loan(&self, request: Request<pb::GetLoanRequest>) -> Result<pb::GetLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(id) = v.numeric_name("name", &body.name, "loans") else {
            return Err(v.into_error());
        };
        let connection = self.state.store.read().await?;
        let loan = store::loans::get(&connection, id).await?;
        let loan = visible_loan(&caller, loan, &body.name)?;
        let exclusion = store::exclusions::for_loan(&connection, id).await?;
        connection.finish().await?;
        Ok(pb::GetLoanResponse { loan: Some(loan_to_wire(&loan, exclusion.as_ref())) })
    }

    pub(crate) async fn list_loans(
        &self,
        request: Request<pb::ListLoansRequest>,
    ) -> Result<pb::ListLoansResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let status = v.optional_domain_enum::<domain::loan::LoanStatus>("status", body.status);
        let uscc = v.optional_filter("uscc", &body.uscc, 18);
        let number = v.optional_filter("bank_loan_number", &body.bank_loan_number, 64);
        let (Some(page), Some(bank), Some(status), Some(uscc), Some(bank_loan_number)) =
            (page, bank, status, uscc, number)
        else {
            return Err(v.into_error());
        };
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let filter = LoanFilter {
            bank,
            status,
            uscc,
            bank_loan_number,
            before_id: page.after.as_deref().and_then(|a| a.parse().ok()),
        };
        let connection = self.state.store.read_replica().await?;
        let mut loans = store::loans::list(&connection, &filter, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut loans, |l| l.loan_id.to_string());
        let ids: Vec<i64> = loans.iter().map(|l| l.loan_id).collect();
        let exclusions = store::exclusions::for_loans(&connection, &ids).await?;
        connection.finish().await?;
        Ok(pb::ListLoansResponse {
            loans: loans.iter().map(|l| loan_to_wire(l, exclusions.get(&l.loan_id))).collect(),
            next_page_token,
        })
    }
}
