//! `techcredit.v1.LoanApplicationService`: applications, underwriting decisions, review,
//! enrolment into coverage and loan status reports.

mod enrolment;
mod wire;

use domain::bank::automatic_status;
use domain::loan::{
    ApplicationEvent, ApplicationStatus, LoanState, ReportError, StatusReport, apply_report, check_reportable,
    is_non_performing,
};
use domain::underwriting::{Context, Outcome, underwrite};
use domain::{BankId, BankStatus, Money, Principal, Role, Rule};
use proto::v1::{self as pb, loan_application_service_server::LoanApplicationService};
use rpc::auth::{bank_scope, principal, require_bank_visible, require_role};
use rpc::convert::{Page, Violations, business_today, parse_fraction};
use rpc::{ApiError, AppState, WireEnum, idempotent};
use rust_decimal::Decimal;
use store::applications::{ApplicationChange, ApplicationFilter, ApplicationRecord, ReviewRecord};
use store::exposure::ExposureDelta;
use store::loans::{LoanFilter, LoanRecord};
use tonic::{Request, Response, Status};

use crate::enrolment::{Enroller, Enrolment};
use crate::wire::{application_to_wire, loan_to_wire};

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Loans {
    state: AppState,
    enroller: Enroller,
}

impl Loans {
    /// A service over `state`; starts the process's enrolment worker (see `enrolment`), so
    /// call it once per process, inside the tokio runtime.
    pub fn new(state: AppState) -> Loans {
        Loans { enroller: Enroller::start(state.clone()), state }
    }
}

const SUBMIT: &str = "/techcredit.v1.LoanApplicationService/SubmitApplication";
const WITHDRAW: &str = "/techcredit.v1.LoanApplicationService/WithdrawApplication";
const REVIEW: &str = "/techcredit.v1.LoanApplicationService/ReviewApplication";
const ENROLL: &str = "/techcredit.v1.LoanApplicationService/EnrollLoan";
const REPORT: &str = "/techcredit.v1.LoanApplicationService/ReportLoanStatus";

/// Everyone may read, bank callers only their own bank's records.
const READERS: &[Role] = &[Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

fn own_bank(caller: &Principal) -> Result<BankId, ApiError> {
    caller.bank.clone().ok_or_else(|| ApiError::permission_denied("this key is not bound to a bank"))
}

/// A FAILED_PRECONDITION with the figures involved.
fn refuse(reason: &str, message: String, figures: &[(&str, String)]) -> ApiError {
    ApiError::FailedPrecondition {
        reason: reason.to_owned(),
        message,
        metadata: figures.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
    }
}

/// A visible application, or NOT_FOUND.
fn visible_application(
    caller: &Principal,
    record: Option<ApplicationRecord>,
    name: &str,
) -> Result<ApplicationRecord, ApiError> {
    let record = record.ok_or_else(|| ApiError::not_found(name))?;
    require_bank_visible(caller, &record.bank_id, name)?;
    Ok(record)
}

/// A visible loan, or NOT_FOUND.
fn visible_loan(caller: &Principal, record: Option<LoanRecord>, name: &str) -> Result<LoanRecord, ApiError> {
    let record = record.ok_or_else(|| ApiError::not_found(name))?;
    require_bank_visible(caller, &record.bank_id, name)?;
    Ok(record)
}

/// Outstanding × pool share, rounded half-up to the fen.
fn exposure_of(outstanding: Money, share: Decimal) -> Result<Money, ApiError> {
    outstanding.mul_half_up(share).ok_or_else(|| ApiError::Internal("exposure overflows".to_owned()))
}

/// Non-performing outstanding of a loan state (0 once closed).
fn npl_of(state: &LoanState) -> i64 {
    if is_non_performing(state.status, state.classification) { state.outstanding.fen() } else { 0 }
}

impl Loans {
    async fn submit(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<pb::SubmitApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let own = own_bank(&caller)?;
        let body = request.into_inner();
        let today = business_today();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let bank = v.bank_name("bank", &body.bank);
        let submission = wire::submission(&mut v, body.enterprise.as_ref(), body.terms.as_ref(), today);
        let (Some(request_id), Some(bank), Some(submission)) = (request_id, bank, submission) else {
            return Err(v.into_error());
        };
        if bank != own {
            return Err(ApiError::permission_denied(format!("a key of bank {own} may not submit for bank {bank}")));
        }
        // What the decision reads (the bank's status, the enterprise's covered outstanding)
        // is read at once, on two connections, before the write transaction: the decision
        // is as of the moment of submission, and enrolment checks the limits again anyway.
        let connection = self.state.store.connection();
        let (bank_record, enterprise_covered_outstanding) = tokio::try_join!(
            store::banks::get(connection, &bank),
            store::exposure::enterprise_outstanding(connection, submission.enterprise.uscc.as_str()),
        )?;
        let bank_record = bank_record.ok_or_else(|| ApiError::not_found(format!("banks/{bank}")))?;
        let context = Context { decision_date: today, bank_status: bank_record.status, enterprise_covered_outstanding };
        let decision = underwrite(&self.state.policy, &submission, &context);
        idempotent!(self.state, &caller, SUBMIT, request_id, &body, |txn| {
            let status = match decision.outcome {
                Outcome::Approved => ApplicationStatus::Approved,
                Outcome::Referred => ApplicationStatus::Referred,
                Outcome::Rejected => ApplicationStatus::Rejected,
            };
            let record = store::applications::insert(txn, &bank, &submission, &decision, status).await?;
            tracing::info!(
                application_id = record.application_id,
                bank_id = %bank,
                outcome = decision.outcome.as_str(),
                score = decision.score,
                "application decided"
            );
            pb::SubmitApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }

    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<pb::GetApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(id) = v.numeric_name("name", &body.name, "applications") else {
            return Err(v.into_error());
        };
        let record = store::applications::get(self.state.store.connection(), id).await?;
        let record = visible_application(&caller, record, &body.name)?;
        Ok(pb::GetApplicationResponse { application: Some(application_to_wire(&record, business_today())) })
    }

    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<pb::ListApplicationsResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let status = v.optional_domain_enum::<ApplicationStatus>("status", body.status);
        let uscc = if body.uscc.is_empty() {
            Some(None)
        } else {
            v.check("uscc", domain::Uscc::parse(&body.uscc)).map(|u| Some(u.to_string()))
        };
        let from = v.optional_date("submitted_from", &body.submitted_from);
        let to = v.optional_date("submitted_to", &body.submitted_to);
        let (Some(page), Some(bank), Some(status), Some(uscc), Some(from), Some(to)) =
            (page, bank, status, uscc, from, to)
        else {
            return Err(v.into_error());
        };
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::invalid("submitted_to", "is before submitted_from"));
        }
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let today = business_today();
        // EXPIRED is an APPROVED application past its expiry; APPROVED excludes those.
        let stored_status = match status {
            Some(ApplicationStatus::Expired) => Some(ApplicationStatus::Approved),
            other => other,
        };
        let filter = ApplicationFilter {
            bank,
            status: stored_status,
            uscc,
            from,
            to,
            before_id: page.after.as_deref().and_then(|a| a.parse().ok()),
        };
        let mut records = Vec::new();
        let mut filter = filter;
        // Expiry is derived, so filter it here, reading further pages until this one is full.
        loop {
            let batch = store::applications::list(self.state.store.connection(), &filter, page.fetch_limit()).await?;
            let exhausted = (batch.len() as u64) < page.fetch_limit();
            filter.before_id = batch.last().map(|r| r.application_id);
            records.extend(batch.into_iter().filter(|r| match status {
                Some(wanted) => r.status.as_of(r.approval_expire_date, today) == wanted,
                None => true,
            }));
            if exhausted || records.len() as u64 > page.size {
                break;
            }
        }
        let next_page_token = page.finish(&mut records, |r| r.application_id.to_string());
        Ok(pb::ListApplicationsResponse {
            applications: records.iter().map(|r| application_to_wire(r, today)).collect(),
            next_page_token,
        })
    }

    async fn withdraw(
        &self,
        request: Request<pb::WithdrawApplicationRequest>,
    ) -> Result<pb::WithdrawApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("name", &body.name, "applications");
        let (Some(request_id), Some(id)) = (request_id, id) else {
            return Err(v.into_error());
        };
        let today = business_today();
        idempotent!(self.state, &caller, WITHDRAW, request_id, &body, |txn| {
            let record = store::applications::get_for_update(txn, id).await?;
            let record = visible_application(&caller, record, &body.name)?;
            let status = record.status.as_of(record.approval_expire_date, today);
            let withdrawn = status.on(ApplicationEvent::Withdrawn).map_err(|r| ApiError::refused(&r))?;
            let change = ApplicationChange {
                status: Some(withdrawn),
                withdraw_reason: Some(body.reason.trim().to_owned()),
                ..Default::default()
            };
            let record = store::applications::update(txn, id, change).await?;
            pb::WithdrawApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }

    async fn review(
        &self,
        request: Request<pb::ReviewApplicationRequest>,
    ) -> Result<pb::ReviewApplicationResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::RiskOfficer])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("name", &body.name, "applications");
        let verdict: Option<pb::ReviewVerdict> = v.enumeration("verdict", body.verdict);
        let reason = v.text("reason", &body.reason, 2000);
        let (Some(request_id), Some(id), Some(verdict), Some(reason)) = (request_id, id, verdict, reason) else {
            return Err(v.into_error());
        };
        let today = business_today();
        let policy = self.state.policy.clone();
        idempotent!(self.state, &caller, REVIEW, request_id, &body, |txn| {
            let record =
                store::applications::get_for_update(txn, id).await?.ok_or_else(|| ApiError::not_found(&body.name))?;
            let approve = verdict == pb::ReviewVerdict::Approve;
            let status = record.status.on(ApplicationEvent::Reviewed { approve }).map_err(|r| ApiError::refused(&r))?;
            let change = ApplicationChange {
                status: Some(status),
                review: Some(ReviewRecord {
                    verdict: if approve { "APPROVE" } else { "REJECT" }.to_owned(),
                    reason: reason.clone(),
                    reviewer: caller.key_id.clone(),
                    reviewed_at: store::clock::instant(),
                }),
                approval_expire_date: approve.then(|| domain::underwriting::approval_expiry(&policy, today)),
                ..Default::default()
            };
            let record = store::applications::update(txn, id, change).await?;
            tracing::info!(application_id = id, reviewer = %caller.key_id, approve, "application reviewed");
            pb::ReviewApplicationResponse { application: Some(application_to_wire(&record, today)) }
        })
    }

    async fn enroll(&self, request: Request<pb::EnrollLoanRequest>) -> Result<pb::EnrollLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Bank])?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = v.request_id(&body.request_id);
        let id = v.numeric_name("application", &body.application, "applications");
        let number = v.text("bank_loan_number", &body.bank_loan_number, 64);
        let disbursed = v.money_positive("disbursed_amount", &body.disbursed_amount);
        let disbursement_date = v.past_date("disbursement_date", &body.disbursement_date);
        let rate = v.check("annual_rate", parse_fraction(&body.annual_rate));
        let maturity = v.date("maturity_date", &body.maturity_date);
        if let (Some(start), Some(end)) = (disbursement_date, maturity)
            && end <= start
        {
            v.add("maturity_date", "must be after disbursement_date");
        }
        let (
            Some(request_id),
            Some(id),
            Some(number),
            Some(disbursed),
            Some(disbursement_date),
            Some(rate),
            Some(maturity),
        ) = (request_id, id, number, disbursed, disbursement_date, rate, maturity)
        else {
            return Err(v.into_error());
        };
        if !v.is_empty() {
            return Err(v.into_error());
        }
        let enrolment = Enrolment {
            request_sha256: rpc::idempotency::request_sha256(&body),
            caller,
            request_id,
            application_name: body.application,
            application_id: id,
            bank_loan_number: number,
            disbursed,
            disbursement_date,
            annual_rate: rate,
            maturity_date: maturity,
            now: store::clock::now(),
        };
        self.enroller.enroll(enrolment).await
    }

    async fn report(
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
        let (Some(request_id), Some(id), Some(report_date), Some(outstanding), Some(days), Some(classification)) =
            (request_id, id, report_date, outstanding, days, classification)
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
                .map_err(|error| match error {
                    ReportError::Claimed { .. } => ApiError::refused(&error),
                    // Every other refusal names the loan's status too.
                    error => refuse(error.reason(), error.to_string(), &[("status", loan.state.status.to_string())]),
                })?;
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
            let updated = store::loans::record_report(txn, &loan, &next, new_exposure, body.repaid).await?;
            if !bank.status_manual {
                let covered = Money::from_fen(bank.quota_used.fen() + delta.outstanding);
                let npl = Money::from_fen(bank.npl_outstanding.fen() + delta.npl_outstanding);
                let status = automatic_status(&policy, covered, npl);
                if status != bank.status {
                    let reason = match status {
                        BankStatus::Active => String::new(),
                        _ => format!(
                            "NPL ratio {} of covered outstanding {covered}",
                            domain::bank::npl_ratio(covered, npl).unwrap_or_default().round_dp(4)
                        ),
                    };
                    store::banks::set_status(txn, &bank.bank_id, status, &reason, false).await?;
                    tracing::warn!(bank_id = %bank.bank_id, from = %bank.status, to = %status, "bank status changed");
                }
            }
            tracing::info!(loan_id = id, from = %loan.state.status, to = %next.status, "loan status reported");
            pb::ReportLoanStatusResponse {
                loan: Some(loan_to_wire(&updated)),
                previous_status: loan.state.status.to_wire_i32(),
            }
        })
    }

    async fn get_loan(&self, request: Request<pb::GetLoanRequest>) -> Result<pb::GetLoanResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(id) = v.numeric_name("name", &body.name, "loans") else {
            return Err(v.into_error());
        };
        let loan = store::loans::get(self.state.store.connection(), id).await?;
        let loan = visible_loan(&caller, loan, &body.name)?;
        Ok(pb::GetLoanResponse { loan: Some(loan_to_wire(&loan)) })
    }

    async fn list_loans(&self, request: Request<pb::ListLoansRequest>) -> Result<pb::ListLoansResponse, ApiError> {
        let caller = principal(&request)?;
        require_role(&caller, READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let page = Page::parse(&mut v, body.page_size, &body.page_token);
        let bank = v.optional_bank_name("bank", &body.bank);
        let status = v.optional_domain_enum::<domain::loan::LoanStatus>("status", body.status);
        let (Some(page), Some(bank), Some(status)) = (page, bank, status) else {
            return Err(v.into_error());
        };
        let bank = bank_scope(&caller, bank, &body.bank)?;
        let filter = LoanFilter {
            bank,
            status,
            uscc: (!body.uscc.is_empty()).then(|| body.uscc.clone()),
            bank_loan_number: (!body.bank_loan_number.is_empty()).then(|| body.bank_loan_number.clone()),
            before_id: page.after.as_deref().and_then(|a| a.parse().ok()),
        };
        let mut loans = store::loans::list(self.state.store.connection(), &filter, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut loans, |l| l.loan_id.to_string());
        Ok(pb::ListLoansResponse { loans: loans.iter().map(loan_to_wire).collect(), next_page_token })
    }
}

#[tonic::async_trait]
impl LoanApplicationService for Loans {
    async fn submit_application(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<Response<pb::SubmitApplicationResponse>, Status> {
        Ok(Response::new(self.submit(request).await?))
    }

    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::GetApplicationResponse>, Status> {
        Ok(Response::new(Loans::get_application(self, request).await?))
    }

    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        Ok(Response::new(Loans::list_applications(self, request).await?))
    }

    async fn withdraw_application(
        &self,
        request: Request<pb::WithdrawApplicationRequest>,
    ) -> Result<Response<pb::WithdrawApplicationResponse>, Status> {
        Ok(Response::new(self.withdraw(request).await?))
    }

    async fn review_application(
        &self,
        request: Request<pb::ReviewApplicationRequest>,
    ) -> Result<Response<pb::ReviewApplicationResponse>, Status> {
        Ok(Response::new(self.review(request).await?))
    }

    async fn enroll_loan(
        &self,
        request: Request<pb::EnrollLoanRequest>,
    ) -> Result<Response<pb::EnrollLoanResponse>, Status> {
        Ok(Response::new(self.enroll(request).await?))
    }

    async fn report_loan_status(
        &self,
        request: Request<pb::ReportLoanStatusRequest>,
    ) -> Result<Response<pb::ReportLoanStatusResponse>, Status> {
        Ok(Response::new(self.report(request).await?))
    }

    async fn get_loan(&self, request: Request<pb::GetLoanRequest>) -> Result<Response<pb::GetLoanResponse>, Status> {
        Ok(Response::new(Loans::get_loan(self, request).await?))
    }

    async fn list_loans(
        &self,
        request: Request<pb::ListLoansRequest>,
    ) -> Result<Response<pb::ListLoansResponse>, Status> {
        Ok(Response::new(Loans::list_loans(self, request).await?))
    }
}
