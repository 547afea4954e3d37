//! `techcredit.v1.LoanApplicationService`: applications, underwriting decisions, review,
//! enrolment into coverage and loan status reports.

mod applications;
mod enrolment;
mod exclusions;
mod reports;
pub mod wire;

use domain::{Money, Role};
use proto::v1::{self as pb, loan_application_service_server::LoanApplicationService};
use rpc::{ApiError, AppState};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use crate::enrolment::Enroller;

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Loans {
    pub(crate) state: AppState,
    pub(crate) enroller: Enroller,
}

impl Loans {
    /// A service over `state`; starts the process's enrolment worker (see `enrolment`), so
    /// call it once per process, inside the tokio runtime.
    pub fn new(state: AppState) -> Loans {
        Loans { enroller: Enroller::start(state.clone()), state }
    }
}

pub(crate) const SUBMIT: &str = "/techcredit.v1.LoanApplicationService/SubmitApplication";
pub(crate) const WITHDRAW: &str = "/techcredit.v1.LoanApplicationService/WithdrawApplication";
pub(crate) const REVIEW: &str = "/techcredit.v1.LoanApplicationService/ReviewApplication";
pub(crate) const ENROLL: &str = "/techcredit.v1.LoanApplicationService/EnrollLoan";
pub(crate) const REPORT: &str = "/techcredit.v1.LoanApplicationService/ReportLoanStatus";

/// Everyone may read, bank callers only their own bank's records.
pub(crate) const READERS: &[Role] =
    &[Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

/// Outstanding × pool share, rounded half-up to the fen.
pub(crate) fn exposure_of(outstanding: Money, share: Decimal) -> Result<Money, ApiError> {
    outstanding.mul_half_up(share).ok_or_else(|| ApiError::Internal("exposure overflows".to_owned()))
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

    async fn exclude_loan(
        &self,
        request: Request<pb::ExcludeLoanRequest>,
    ) -> Result<Response<pb::ExcludeLoanResponse>, Status> {
        Ok(Response::new(self.exclude(request).await?))
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
